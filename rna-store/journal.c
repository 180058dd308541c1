/*
 * journal: durability for rna-store. On-disk states are listed in
 * doc/store-internals.md; in short:
 *
 *   DIR/store/key          16 random octets, the collapse-index hash key
 *   DIR/store/snapshot     the live set at some point (gen G, next seq)
 *   DIR/store/journal.G    records accepted after that snapshot
 *
 * A record is: length (u32, of what follows the checksum), checksum (u64
 * hash_check of type+payload), type (u8), payload. (The earlier format
 * used SipHash under a fixed key; such records are recognised, never
 * cut, and refused.) Replay
 * stops at the first record that is short or fails its checksum and cuts
 * the file there: such a record was never acknowledged, because an
 * acknowledgement is sent only after its record's write and fdatasync.
 *
 * Space is reserved before a transaction is applied in memory, by
 * writing zeros ahead of the records (PREALLOC_CHUNK at a time), so a
 * full disk makes the store refuse the transaction instead of
 * acknowledging something it cannot write. Records then overwrite blocks
 * that are allocated and written already, so the fdatasync of a commit
 * writes data alone: no file size or extent change to commit with it
 * (about a quarter less time per sync on the disks measured). Zeros after
 * the last record are a torn tail like any other: replay stops at the
 * first record that is not whole, and cuts there. A clean stop cuts the
 * zeros too. A write or sync failing despite the reservation is fatal for
 * the process (the caller exits 111): memory would be ahead of the disk,
 * and a restart replays the truth.
 */
#include "store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atomic.h"
#include "storec.h"

#define REC_HDR 12 /* u32 length + u64 checksum */
#define PREALLOC_CHUNK (4u << 20)

/* the checksum key of the earlier format, to recognise its records */
static const struct hash_key check_key = {0x524e412d6a726e6cULL,
                                          0x636865636b73756dULL};

/* ---- seq -> node map, used only while replaying ---- */

struct seqmap {
    struct node **t;
    size_t mask;
    size_t used; /* live + tombstones */
};

static struct node tomb_node;
#define TOMB (&tomb_node)

/* Sequence numbers arrive nearly consecutive: slot by their low bits, so
 * that a replay fills the table in order (cache-friendly), not at random. */
static size_t seq_slot(uint64_t seq, size_t mask)
{
    return (size_t)seq & mask;
}

static int seqmap_put(struct seqmap *s, struct node *x);

static int seqmap_grow(struct seqmap *s)
{
    struct seqmap n;
    size_t i;
    n.mask = s->t ? s->mask * 2 + 1 : 4095;
    n.t = calloc(n.mask + 1, sizeof *n.t);
    n.used = 0;
    if (!n.t) return -1;
    for (i = 0; s->t && i <= s->mask; i++)
        if (s->t[i] && s->t[i] != TOMB) seqmap_put(&n, s->t[i]);
    free(s->t);
    *s = n;
    return 0;
}

static int seqmap_put(struct seqmap *s, struct node *x)
{
    size_t i;
    if ((!s->t || s->used + 1 > (s->mask + 1) / 2) && seqmap_grow(s) < 0)
        return -1;
    i = seq_slot(x->seq, s->mask);
    while (s->t[i] && s->t[i] != TOMB) i = (i + 1) & s->mask;
    if (!s->t[i]) s->used++;
    s->t[i] = x;
    return 0;
}

static struct node *seqmap_take(struct seqmap *s, uint64_t seq)
{
    size_t i;
    if (!s->t) return NULL;
    i = seq_slot(seq, s->mask);
    while (s->t[i]) {
        if (s->t[i] != TOMB && s->t[i]->seq == seq) {
            struct node *x = s->t[i];
            s->t[i] = TOMB;
            return x;
        }
        i = (i + 1) & s->mask;
    }
    return NULL;
}

/* ---- reading records ---- */

struct rd {
    const unsigned char *p, *end;
    int bad;
};

static uint64_t rd_u64(struct rd *r)
{
    uint64_t v;
    if (r->bad || (size_t)(r->end - r->p) < 8) {
        r->bad = 1;
        return 0;
    }
    v = storec_get_u64(r->p);
    r->p += 8;
    return v;
}

static uint32_t rd_u32(struct rd *r)
{
    uint32_t v;
    if (r->bad || (size_t)(r->end - r->p) < 4) {
        r->bad = 1;
        return 0;
    }
    v = storec_get_u32(r->p);
    r->p += 4;
    return v;
}

static const unsigned char *rd_take(struct rd *r, size_t n)
{
    const unsigned char *q;
    if (r->bad || (size_t)(r->end - r->p) < n) {
        r->bad = 1;
        return NULL;
    }
    q = r->p;
    r->p += n;
    return q;
}

/* Replay state: the seq -> node map, and the submitter of the last
 * snapshot node (consecutive nodes of one batch share it again). */
struct replay {
    struct mem *m;
    struct seqmap sm;
    struct subm *last;
};

/* A submitter entry: [u16 len][ClientLocation TLV]. */
static struct subm *rd_subm(struct rd *r, struct replay *rp)
{
    uint32_t n;
    const unsigned char *p;
    if ((size_t)(r->end - r->p) < 2) {
        r->bad = 1;
        return NULL;
    }
    n = (uint32_t)r->p[0] << 8 | r->p[1];
    r->p += 2;
    p = rd_take(r, n);
    if (!p) return NULL;
    if (rp->last && rp->last->len == n && memcmp(rp->last->der, p, n) == 0) {
        mem_subm_ref(rp->last);
        return rp->last;
    }
    mem_subm_unref(rp->last);
    rp->last = mem_subm_new(p, n);
    if (!rp->last) return NULL;
    mem_subm_ref(rp->last); /* one for the caller, one kept here */
    return rp->last;
}

/* One node entry: [seq][date][key][alen][acct][sub][blen][notification]
 * in snapshots; [seq][key][alen][acct][blen][notification] in accept
 * records, whose date and submitter are the record's (see put_node).
 * Creates and links it, taking the reference to sub. */
static int replay_node(struct rd *r, struct replay *rp, uint64_t date,
                       struct subm *sub, int snapshot)
{
    uint64_t seq = rd_u64(r);
    uint32_t key;
    const unsigned char *al, *an, *blob;
    uint32_t blen;
    struct acct *a;
    struct node *x;

    if (snapshot) date = rd_u64(r);
    key = rd_u32(r);
    al = rd_take(r, 1);
    an = al ? rd_take(r, al[0]) : NULL;
    if (snapshot && an) sub = rd_subm(r, rp);
    blen = rd_u32(r);
    blob = rd_take(r, blen);
    if (!blob || !sub || date > UINT32_MAX) goto fail;
    a = mem_acct(rp->m, (const char *)an, al[0], 1);
    if (!a) goto fail;
    x = mem_node_new(rp->m, blob, blen);
    if (!x) goto fail;
    x->seq = seq;
    x->date = (uint32_t)date;
    x->key = key;
    x->acct = a;
    x->sub = sub;
    mem_link_new(rp->m, x);
    if (seqmap_put(&rp->sm, x) < 0) return -1;
    return 0;
fail:
    mem_subm_unref(sub);
    return -1;
}

static void replay_remove(struct replay *rp, uint64_t seq)
{
    struct node *x = seqmap_take(&rp->sm, seq);
    if (x) mem_remove(rp->m, x);
}

#define APPLY_BAD (-1)    /* does not parse, or no memory */
#define APPLY_OLD (-2)    /* a record type of the earlier format */

/* Apply one record: 0, APPLY_BAD or APPLY_OLD. */
static int apply(struct replay *rp, unsigned type, struct rd *r, int *snapend)
{
    struct mem *m = rp->m;
    uint32_t n, i;
    switch (type) {
    case JREC_ACCEPT: {
        uint64_t date = rd_u64(r);
        struct subm *sub = rd_subm(r, rp);
        if (!sub) return APPLY_BAD;
        n = rd_u32(r);
        for (i = 0; i < n && !r->bad; i++) {
            uint64_t s = rd_u64(r);
            struct node *x;
            if (r->bad) break;
            x = seqmap_take(&rp->sm, s);
            if (x) {
                m->st.replaced++;
                mem_remove(m, x);
            }
        }
        n = rd_u32(r);
        for (i = 0; i < n && !r->bad; i++) {
            mem_subm_ref(sub);
            if (replay_node(r, rp, date, sub, 0) < 0) {
                mem_subm_unref(sub);
                return APPLY_BAD;
            }
        }
        mem_subm_unref(sub);
        break;
    }
    case JREC_CLEAR:
    case JREC_EXPIRE:
        n = rd_u32(r);
        for (i = 0; i < n && !r->bad; i++) {
            uint64_t s = rd_u64(r);
            if (!r->bad) replay_remove(rp, s);
        }
        break;
    case JREC_SNAPNODE:
        if (replay_node(r, rp, 0, NULL, 1) < 0) return APPLY_BAD;
        break;
    case JREC_SNAPEND:
        if (rd_u64(r) != m->total) return APPLY_BAD; /* count of nodes written */
        *snapend = 1;
        break;
    case JREC_ACCEPT_V1:
    case JREC_SNAPNODE_V1:
        return APPLY_OLD;
    default:
        return APPLY_BAD;
    }
    return r->bad || r->p != r->end ? APPLY_BAD : 0;
}

static void replay_done(struct replay *rp)
{
    free(rp->sm.t);
    rp->sm.t = NULL;
    mem_subm_unref(rp->last);
    rp->last = NULL;
}

/* Walk the records of a mapped file. Returns the offset just past the
 * last good record. A stop at a record that is short or fails its
 * checksum is a torn tail; a stop at one that checks but cannot be
 * applied sets *failed (APPLY_BAD or APPLY_OLD): that record was written
 * whole, so it must never be cut. */
static size_t replay_buf(const unsigned char *p, size_t len, struct replay *rp,
                         int snapshot, uint64_t *gen, int *snapend,
                         uint64_t *count, int *failed)
{
    size_t off = 0;
    *failed = 0;
    while (len - off >= REC_HDR + 1) {
        uint32_t rl = storec_get_u32(p + off);
        uint64_t ck = storec_get_u64(p + off + 4);
        const unsigned char *body = p + off + REC_HDR;
        struct rd r;
        if (rl < 1 || rl > len - off - REC_HDR) break;
        if (hash_check(body, rl) != ck) {
            /* torn, unless the earlier format's checksum holds */
            if (hash_sip(&check_key, body, rl) == ck) *failed = APPLY_OLD;
            break;
        }
        r.p = body + 1;
        r.end = body + rl;
        r.bad = 0;
        if (snapshot && body[0] == JREC_SNAPHDR) {
            *gen = rd_u64(&r);
            rp->m->next_seq = rd_u64(&r);
            if (r.bad) {
                *failed = APPLY_BAD;
                break;
            }
        } else if ((*failed = apply(rp, body[0], &r, snapend)) < 0) {
            break;
        }
        (*count)++;
        off += REC_HDR + rl;
    }
    return off;
}

static int map_file(int fd, const unsigned char **p, size_t *len)
{
    struct stat st;
    if (fstat(fd, &st) < 0) return -1;
    *len = (size_t)st.st_size;
    *p = NULL;
    if (*len == 0) return 0;
    /* populated at once: one call instead of a fault per page */
    *p = mmap(NULL, *len, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
    if (*p == MAP_FAILED) return -1;
    return 0;
}

static int load_key(struct journal *j, struct hash_key *k)
{
    unsigned char b[16];
    int fd = openat(j->dirfd, "key", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        ssize_t n = read(fd, b, sizeof b);
        close(fd);
        if (n != (ssize_t)sizeof b) {
            errno = EPROTO;
            return -1;
        }
    } else {
        if (errno != ENOENT) return -1;
        if (getrandom(b, sizeof b, 0) != (ssize_t)sizeof b) return -1;
        if (atomic_write_at(j->dirfd, "key", b, sizeof b, 0600) < 0) return -1;
    }
    k->k0 = storec_get_u64(b);
    k->k1 = storec_get_u64(b + 8);
    return 0;
}

static int open_journal(struct journal *j, uint64_t gen, int trunc)
{
    char name[64];
    snprintf(name, sizeof name, "journal.%llu", (unsigned long long)gen);
    return openat(j->dirfd, name,
                  O_RDWR | O_CREAT | O_CLOEXEC | (trunc ? O_TRUNC : 0), 0600);
}

/* Remove journal files of other generations: leftovers of a compaction
 * that stopped half way. */
static void remove_stale(struct journal *j)
{
    DIR *d = opendir(j->dir);
    struct dirent *e;
    char keep[64];
    if (!d) return;
    snprintf(keep, sizeof keep, "journal.%llu", (unsigned long long)j->gen);
    while ((e = readdir(d))) {
        if (strncmp(e->d_name, "journal.", 8) == 0 && strcmp(e->d_name, keep))
            unlinkat(j->dirfd, e->d_name, 0);
        if (strcmp(e->d_name, "snapshot.tmp") == 0)
            unlinkat(j->dirfd, e->d_name, 0);
    }
    closedir(d);
}

int journal_open(struct journal *j, const char *storedir, struct mem *m,
                 const char **why)
{
    struct hash_key k;
    struct replay rp;
    const unsigned char *p;
    size_t len, good, nz = 0;
    int fd, failed = 0;
    uint64_t count = 0;

    memset(j, 0, sizeof *j);
    j->fd = -1;
    journal_limits(j);
    der_w_growing(&j->buf, (size_t)1 << 31);
    j->dir = strdup(storedir);
    if (!j->dir) goto oom;
    if (mkdir(storedir, 0700) < 0 && errno != EEXIST) {
        *why = "unable to create store directory";
        return -1;
    }
    j->dirfd = open(storedir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (j->dirfd < 0) {
        *why = "unable to open store directory";
        return -1;
    }
    if (load_key(j, &k) < 0) {
        *why = "unable to read or create store/key";
        return -1;
    }
    if (mem_init(m, &k) < 0) goto oom;
    memset(&rp, 0, sizeof rp);
    rp.m = m;
    j->gen = 1;

    fd = openat(j->dirfd, "snapshot", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        int snapend = 0;
        if (map_file(fd, &p, &len) < 0) {
            close(fd);
            *why = "unable to read store/snapshot";
            return -1;
        }
        mem_index_hint(m, len / 256);
        good = replay_buf(p, len, &rp, 1, &j->gen, &snapend, &count, &failed);
        if (p) munmap((void *)p, len);
        close(fd);
        if (!snapend || good != len) {
            errno = EPROTO;
            *why = failed == APPLY_OLD
                       ? "store/snapshot was written by an earlier rna-store in an older format"
                   : failed ? "store/snapshot has a record that cannot be applied (damaged, or out of memory)"
                            : "store/snapshot is damaged (no end record)";
            replay_done(&rp);
            return -1;
        }
    } else if (errno != ENOENT) {
        *why = "unable to open store/snapshot";
        return -1;
    }

    j->fd = open_journal(j, j->gen, 0);
    if (j->fd < 0) {
        *why = "unable to open journal";
        replay_done(&rp);
        return -1;
    }
    if (map_file(j->fd, &p, &len) < 0) {
        *why = "unable to read journal";
        replay_done(&rp);
        return -1;
    }
    {
        int dummy = 0;
        uint64_t g = 0;
        count = 0;
        mem_index_hint(m, m->hcount + len / 256);
        good = replay_buf(p, len, &rp, 0, &g, &dummy, &count, &failed);
        /* zeros written ahead (journal_reserve) are not counted as torn */
        nz = len;
        while (nz > good && p[nz - 1] == 0) nz--;
    }
    if (p) munmap((void *)p, len);
    replay_done(&rp);
    if (failed) {
        /* written whole: cutting it would lose acknowledged notifications */
        errno = EPROTO;
        *why = failed == APPLY_OLD
                   ? "the journal was written by an earlier rna-store in an older format; not replaying or cutting it"
                   : "the journal has a record that checks but cannot be applied (damaged, or out of memory); not cutting it";
        return -1;
    }
    j->replayed = count;
    if (good != len) {
        /* A torn tail: never acknowledged. Cut it so appends follow the
         * last good record. */
        j->torn_bytes = nz - good;
        if (ftruncate(j->fd, (off_t)good) < 0 || fsync(j->fd) < 0) {
            *why = "unable to cut the torn tail of the journal";
            return -1;
        }
    }
    j->off = good;
    j->alloc_end = good;
    if (fsync(j->dirfd) < 0) {
        *why = "unable to sync store directory";
        return -1;
    }
    remove_stale(j);
    return 0;
oom:
    errno = ENOMEM;
    *why = "out of memory";
    return -1;
}

void journal_close(struct journal *j)
{
    /* a clean stop leaves no zeros after the last record */
    if (j->fd >= 0 && j->alloc_end > j->off && !j->buf.len &&
        ftruncate(j->fd, (off_t)j->off) < 0) {
        /* harmless: replay cuts them */
    }
    if (j->fd >= 0) close(j->fd);
    if (j->dirfd >= 0) close(j->dirfd);
    der_w_free(&j->buf);
    free(j->dir);
    j->dir = NULL;
    j->fd = -1;
}

void journal_limits(struct journal *j)
{
    struct rlimit rl;
    j->fsize_max = UINT64_MAX;
    if (getrlimit(RLIMIT_FSIZE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
        j->fsize_max = (uint64_t)rl.rlim_cur;
}

/* Write zeros from alloc_end to at least need, PREALLOC_CHUNK further
 * where the file size limit allows, and start writing them back, so that
 * the next commit's fdatasync finds most of them on disk. */
static int zero_fill(struct journal *j, uint64_t need)
{
    static const unsigned char zeros[256 << 10];
    uint64_t want = need + PREALLOC_CHUNK, at = j->alloc_end;
    int e = 0;

    if (want > j->fsize_max) want = j->fsize_max; /* need fits, checked */
    while (at < want) {
        size_t k = want - at < sizeof zeros ? (size_t)(want - at) : sizeof zeros;
        ssize_t w = pwrite(j->fd, zeros, k, (off_t)at);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            e = w < 0 ? errno : ENOSPC;
            break;
        }
        at += (uint64_t)w;
    }
    if (at > j->alloc_end)
        sync_file_range(j->fd, (off_t)j->alloc_end, (off_t)(at - j->alloc_end),
                        SYNC_FILE_RANGE_WRITE);
    j->alloc_end = at;
    if (at >= need) return 0;
    errno = e;
    return -1;
}

int journal_reserve(struct journal *j, size_t n)
{
    uint64_t need = j->off + j->buf.len + n;

    if (need > j->fsize_max) {
        journal_limits(j); /* it may have been raised since */
        if (need > j->fsize_max) {
            errno = EFBIG;
            return -1;
        }
    }
    if (need <= j->alloc_end) return 0;
    return zero_fill(j, need);
}

void journal_rec_begin(struct journal *j, unsigned type)
{
    static const unsigned char hdr[REC_HDR];
    unsigned char t = (unsigned char)type;
    j->rec_start = j->buf.len;
    der_w_raw(&j->buf, hdr, REC_HDR);
    der_w_raw(&j->buf, &t, 1);
}

void journal_rec_end(struct journal *j)
{
    unsigned char *h;
    size_t n;
    uint64_t ck;
    if (j->buf.err) return;
    h = j->buf.buf + j->rec_start;
    n = j->buf.len - j->rec_start - REC_HDR;
    ck = hash_check(h + REC_HDR, n);
    h[0] = (unsigned char)(n >> 24);
    h[1] = (unsigned char)(n >> 16);
    h[2] = (unsigned char)(n >> 8);
    h[3] = (unsigned char)n;
    for (n = 0; n < 8; n++) h[4 + n] = (unsigned char)(ck >> (56 - 8 * n));
    j->records++;
}

int journal_pending(const struct journal *j)
{
    return j->buf.len > 0;
}

int journal_flush(struct journal *j, int sync)
{
    size_t done = 0;
    if (j->buf.err) {
        errno = j->buf.err;
        return -1;
    }
    while (done < j->buf.len) {
        ssize_t k = pwrite(j->fd, j->buf.buf + done, j->buf.len - done,
                           (off_t)(j->off + done));
        if (k < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        done += (size_t)k;
    }
    if (sync && j->buf.len && fdatasync(j->fd) < 0) return -1;
    if (sync && j->buf.len) j->syncs++;
    j->off += j->buf.len;
    if (j->off > j->alloc_end) j->alloc_end = j->off;
    der_w_reset(&j->buf);
    return 0;
}

size_t journal_node_size(const struct node *x)
{
    return 8 + 4 + 1 + x->acct->nlen + 4 + x->len;
}

void journal_put_subm(struct journal *j, const struct subm *sub)
{
    unsigned char l[2] = {(unsigned char)(sub->len >> 8), (unsigned char)sub->len};
    der_w_raw(&j->buf, l, 2);
    der_w_raw(&j->buf, sub->der, sub->len);
}

/* [seq][key][alen][acct][blen][notification] for ACCEPT; snapshots add
 * the date after seq and the submitter after acct (see replay_node). */
static void put_node(struct journal *j, const struct node *x, int snapshot)
{
    struct der_w *w = &j->buf;
    storec_put_u64(w, x->seq);
    if (snapshot) storec_put_u64(w, x->date);
    storec_put_u32(w, x->key);
    der_w_raw(w, &x->acct->nlen, 1);
    der_w_raw(w, x->acct->name, x->acct->nlen);
    if (snapshot) journal_put_subm(j, x->sub);
    storec_put_u32(w, x->len);
    der_w_raw(w, x->blob, x->len);
}

void journal_put_node(struct journal *j, const struct node *x)
{
    put_node(j, x, 0);
}

/* ---- compaction ---- */

int journal_compact(struct journal *j, struct mem *m)
{
    struct journal tmp; /* borrow the record builder */
    int fd = -1, nfd = -1, e;
    struct node *x;
    uint64_t count = 0;
    char oldname[64];

    if (journal_flush(j, 1) < 0) return -1;
    memset(&tmp, 0, sizeof tmp);
    der_w_growing(&tmp.buf, (size_t)1 << 31);
    fd = openat(j->dirfd, "snapshot.tmp",
                O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) goto fail;
    journal_rec_begin(&tmp, JREC_SNAPHDR);
    storec_put_u64(&tmp.buf, j->gen + 1);
    storec_put_u64(&tmp.buf, m->next_seq);
    journal_rec_end(&tmp);
    for (x = m->ghead; x; x = x->gnext) {
        journal_rec_begin(&tmp, JREC_SNAPNODE);
        put_node(&tmp, x, 1);
        journal_rec_end(&tmp);
        count++;
        if (tmp.buf.len >= (1u << 20)) {
            if (tmp.buf.err || atomic_write_all(fd, tmp.buf.buf, tmp.buf.len) < 0)
                goto fail;
            der_w_reset(&tmp.buf);
        }
    }
    journal_rec_begin(&tmp, JREC_SNAPEND);
    storec_put_u64(&tmp.buf, count);
    journal_rec_end(&tmp);
    if (tmp.buf.err) {
        errno = tmp.buf.err;
        goto fail;
    }
    if (atomic_write_all(fd, tmp.buf.buf, tmp.buf.len) < 0 || fsync(fd) < 0) goto fail;
    if (close(fd) < 0) {
        fd = -1;
        goto fail;
    }
    fd = -1;
    nfd = open_journal(j, j->gen + 1, 1);
    if (nfd < 0 || fsync(nfd) < 0 || fsync(j->dirfd) < 0) goto fail;
    /* The commit point: the new snapshot names generation gen + 1. */
    if (renameat(j->dirfd, "snapshot.tmp", j->dirfd, "snapshot") < 0) goto fail;
    if (fsync(j->dirfd) < 0) goto fail_after;
    snprintf(oldname, sizeof oldname, "journal.%llu", (unsigned long long)j->gen);
    unlinkat(j->dirfd, oldname, 0);
    close(j->fd);
    j->fd = nfd;
    j->gen++;
    j->off = 0;
    j->alloc_end = 0;
    der_w_free(&tmp.buf);
    return 0;
fail:
    e = errno;
    if (fd >= 0) close(fd);
    if (nfd >= 0) {
        char nn[64];
        close(nfd);
        snprintf(nn, sizeof nn, "journal.%llu", (unsigned long long)j->gen + 1);
        unlinkat(j->dirfd, nn, 0);
    }
    unlinkat(j->dirfd, "snapshot.tmp", 0);
    der_w_free(&tmp.buf);
    errno = e;
    return -1;
fail_after:
    /* The rename happened but its durability is unknown: either snapshot
     * may be the one on disk, and each still has its own journal. Writing
     * on would be wrong for one of them, so the caller must stop (-2) and
     * let a restart pick up whichever is there. */
    e = errno;
    close(nfd);
    der_w_free(&tmp.buf);
    errno = e;
    return -2;
}
