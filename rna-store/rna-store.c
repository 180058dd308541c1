/*
 * rna-store DIR: the one process that owns every notification.
 *
 * One thread, one poll loop over non-blocking Unix-socket clients (the
 * filters and the admin tools), speaking the store protocol
 * (doc/store-protocol.md). Each loop turn: read what clients sent, carry
 * out every complete request in arrival order (so transactions are
 * serialised), append their journal records to one buffer, write and
 * fdatasync that buffer once (group commit), and only then release the
 * responses. Nothing is acknowledged before it is durable.
 *
 * With sync on, requests that arrive while a turn is being carried out
 * join it before its fdatasync (gather), so one sync covers more.
 *
 * Backpressure: a client's input is read only while its previous
 * responses have been written, or, while a turn gathers, while under
 * OUT_SOFT of them wait; so per-client memory is bounded by one request
 * buffer (STORE_REQ_MAX) and about OUT_SOFT of responses plus one. A
 * request frame over the limit drops the client; its open retrieve is
 * aborted.
 *
 * Exit codes: 0 after SIGTERM; 100 usage; 111 temporary trouble (cannot
 * open the store, journal write failure: a restart replays the disk).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "cfg.h"
#include "frame.h"
#include "pdu.h"
#include "store.h"
#include "storec.h"

#define PROG "rna-store"
#define MAX_CLIENTS 4096
#define OUT_MAX ((size_t)1 << 31)
#define OUT_SOFT ((size_t)1 << 20) /* stop carrying out requests past this */
#define STOP_GRACE_MS 500
#define CFG_CHECK_MS 1000
#define LOG_DELAY_MS 10             /* a log line waits about this long... */
#define LOG_SOFT ((size_t)64 << 10) /* ...or until this much is buffered */
#define GATHER_ROUNDS 128

struct client {
    int fd;
    unsigned char *in;
    size_t inlen;
    struct der_w out;
    size_t outoff;
    struct pend pend;
    int dead;
    size_t done;   /* requests carried out since its answers last went */
    size_t expect; /* answered that many last turn: as many may follow */
};

struct item {
    const unsigned char *tlv;
    size_t len;
    struct acct *acct;
    struct node *node; /* tentative node, for NEW */
    int state;
};

#define IT_NEW 0
#define IT_DISCARDED 1
#define IT_COLLAPSED 2
#define IT_REJECTED 3

struct store {
    const char *dir;
    char cfgpath[4096];
    char sockpath[4096];
    struct cfg cfg;
    int have_cfg;
    struct timespec cfg_fail_mtime;
    int64_t cfg_checked;
    struct mem m;
    struct journal j;
    int lfd;
    int sig[2];
    struct client **cl;
    size_t ncl;
    int stopping;
    int64_t stop_at;
    /* batch scratch, allocated once */
    struct item items[PDU_MAX_NOTIFS];
    struct node **doomed;
    size_t ndoomed;
    uint32_t pos[PDU_MAX_NOTIFS];
    struct cfg_filter afilt[CFG_MAX_FILTERS];
    struct der_w blob;  /* the batch's submitter TLV */
    struct der_w nbuf;  /* one notification, re-encoded */
    struct der_w log;
    int64_t log_due; /* when the oldest buffered log line must go out */
    int64_t sync_us; /* how long the last fdatasync took */
};

/* ---- logging: one line per event, written in batches ----
 *
 * Lines are buffered and written with one write at the end of the loop
 * turn in which the oldest becomes LOG_DELAY_MS old or LOG_SOFT octets are
 * waiting, and before the store exits; so a line may reach the log a few
 * milliseconds after the answer to its request. Under load this is one
 * log write per many transactions instead of one per loop turn. */

static void logflush(struct store *s)
{
    if (s->log.len) {
        frame_write_all(2, s->log.buf, s->log.len, -1);
        der_w_reset(&s->log);
    }
}

static void logline(struct store *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void logline(struct store *s, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = vsnprintf(line, sizeof line - 1, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if ((size_t)n > sizeof line - 2) n = sizeof line - 2;
    line[n++] = '\n';
    if (!s->log.len) s->log_due = clock_ms() + LOG_DELAY_MS;
    der_w_raw(&s->log, line, (size_t)n);
}

static _Noreturn void die(struct store *s, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static _Noreturn void die(struct store *s, int code, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    if (s) logflush(s);
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    fprintf(stderr, PROG ": fatal: %s\n", line);
    exit(code);
}

/* ---- configuration ---- */

static void cfg_load(struct store *s, int force, const char *why)
{
    struct cfg n;
    struct stat st;

    if (!force && s->have_cfg && !cfg_changed(&s->cfg, s->cfgpath)) return;
    if (stat(s->cfgpath, &st) == 0 && !force &&
        st.st_mtim.tv_sec == s->cfg_fail_mtime.tv_sec &&
        st.st_mtim.tv_nsec == s->cfg_fail_mtime.tv_nsec)
        return; /* this broken version was reported already */
    if (cfg_open(&n, s->cfgpath) < 0) {
        int e = errno;
        if (stat(s->cfgpath, &st) == 0) s->cfg_fail_mtime = st.st_mtim;
        logline(s, PROG ": warning: %s configuration %s: %s; %s", why,
                s->cfgpath, e == EPROTO ? "damaged or invalid" : strerror(e),
                s->have_cfg ? "keeping the previous one" : "none in force");
        return;
    }
    if (s->have_cfg) cfg_close(&s->cfg);
    s->cfg = n;
    s->have_cfg = 1;
    logline(s, PROG ": info: config loaded (%s) quota_total=%llu quota_account=%llu sync=%d",
            why, (unsigned long long)n.lim.quota_total,
            (unsigned long long)n.lim.quota_account, n.lim.sync);
}

static int sync_on(const struct store *s)
{
    return s->have_cfg ? s->cfg.lim.sync : 1;
}

/* ---- responses ---- */

static void resp_begin(struct client *c, int status)
{
    unsigned char h[2] = {STOREC_VERSION, (unsigned char)status};
    frame_w_begin(&c->out);
    /* frame_w_begin appends 4 octets at the end; remember where */
    der_w_raw(&c->out, h, 2);
}

/* frame_w_end patches the first 4 octets of the buffer; responses are
 * appended one after another, so patch the one that starts at off. */
static void resp_end(struct client *c, size_t off)
{
    size_t n = c->out.len - off - 4;
    if (c->out.err) return;
    c->out.buf[off] = (unsigned char)(n >> 24);
    c->out.buf[off + 1] = (unsigned char)(n >> 16);
    c->out.buf[off + 2] = (unsigned char)(n >> 8);
    c->out.buf[off + 3] = (unsigned char)n;
}

static void resp_simple(struct client *c, int status)
{
    size_t off = c->out.len;
    resp_begin(c, status);
    resp_end(c, off);
}

static void resp_positions(struct client *c, int status, const uint32_t *pos,
                           size_t n)
{
    size_t off = c->out.len, i;
    resp_begin(c, status);
    storec_put_u32(&c->out, (uint32_t)n);
    for (i = 0; i < n; i++) storec_put_u32(&c->out, pos[i]);
    resp_end(c, off);
}

/* ---- submission (PROTOCOL.md 5.1) ---- */

static void rollback(struct store *s, size_t nitems)
{
    size_t i;
    for (i = 0; i < s->ndoomed; i++) s->doomed[i]->flags &= ~NODE_DOOMED;
    s->ndoomed = 0;
    for (i = 0; i < nitems; i++) {
        if (s->items[i].node) {
            mem_index_del(&s->m, s->items[i].node);
            mem_node_free(&s->m, s->items[i].node);
            s->items[i].node = NULL;
        }
    }
}

/* The oldest held notification of a, not pending, not already chosen. */
static struct node *acct_victim(struct acct *a)
{
    struct node *x = a->doom_cur;
    while (x && (x->flags & NODE_DOOMED)) x = x->anext;
    a->doom_cur = x;
    return x;
}

static struct node *global_victim(struct node **cur)
{
    struct node *x = *cur;
    while (x && (x->flags & (NODE_DOOMED | NODE_PENDING))) x = x->gnext;
    *cur = x;
    return x;
}

static void plan_touch(struct store *s, struct acct *a)
{
    if (a->plan_gen == s->m.gen) return;
    a->plan_gen = s->m.gen;
    a->plan_count = a->count;
    a->doom_cur = a->head;
    if (cfg_account(&s->cfg, a->name, a->nlen, &a->plan_cfg) < 0) {
        /* an unreadable account entry: fall back to the defaults */
        a->plan_cfg.quota = s->cfg.lim.quota_account;
        a->plan_cfg.policy = s->cfg.lim.policy_account;
    }
}

static int filtered(struct store *s, struct item *it, const struct pdu_notif *n,
                    const struct pdu_ipport *sub, struct acct **fa, int *nf)
{
    size_t i;
    for (i = 0; i < s->cfg.nglobal; i++)
        if (cfg_filter_match(&s->cfg.global[i], n, sub)) return 1;
    if (*fa != it->acct) {
        *fa = it->acct;
        *nf = cfg_account_filters(&s->cfg, it->acct->name, it->acct->nlen,
                                  s->afilt, CFG_MAX_FILTERS);
    }
    for (i = 0; *nf > 0 && i < (size_t)*nf; i++)
        if (cfg_filter_match(&s->afilt[i], n, sub)) return 1;
    return 0;
}

static void submit(struct store *s, struct client *c, const unsigned char *p,
                   size_t len)
{
    struct pdu_nald x;
    struct der_cur cur;
    size_t n = 0, i, nrej = 0, nnew = 0, ndisc = 0, ncoll = 0;
    size_t jsize = 64;
    struct node *gcur;
    uint64_t plan_total;
    struct acct *fa = NULL;
    int nf = 0;
    size_t dlen;
    unsigned char dbuf[PDU_DOMAIN_DER_MAX];
    time_t now = time(NULL);
    uint32_t date = now < 0 ? 0 : (uint64_t)now > UINT32_MAX ? UINT32_MAX : (uint32_t)now;
    struct subm *sub = NULL; /* shared by the batch's new nodes */

    /* header: v6, ip[16], port, dlen, domain text */
    if (len < 1 + 16 + 2 + 1) goto badreq;
    memset(&x, 0, sizeof x);
    x.submitter.addr.v6 = p[0] ? 1 : 0;
    memcpy(x.submitter.addr.ip, p + 1, 16);
    x.submitter.addr.port = (uint16_t)(p[17] << 8 | p[18]);
    dlen = p[19];
    p += 20;
    len -= 20;
    if (dlen > len) goto badreq;
    if (dlen) {
        if (pdu_domain_from_text(dbuf, sizeof dbuf, (const char *)p, dlen,
                                 &x.submitter.domain) < 0)
            goto badreq;
        x.submitter.has_domain = 1;
    }
    p += dlen;
    len -= dlen;
    x.date = date;
    der_w_reset(&s->blob);
    pdu_put_submitter(&s->blob, &x.submitter);
    if (s->blob.err) goto badreq;
    jsize += 2 + s->blob.len;

    /* the notifications: complete Notification TLVs, checked again here */
    der_cur_init(&cur, p, len);
    while (!der_cur_empty(&cur)) {
        const unsigned char *start = cur.p;
        struct der_tlv t;
        if (n >= PDU_MAX_NOTIFS || der_get(&cur, &t) < 0) goto badreq;
        s->items[n].tlv = start;
        s->items[n].len = (size_t)(cur.p - start);
        if (pdu_decode_notif(start, s->items[n].len, &x.n) != PDU_OK) goto badreq;
        s->items[n].node = NULL;
        s->items[n].acct = NULL;
        s->items[n].state = IT_NEW;
        n++;
    }
    s->m.st.batches++;
    if (!s->have_cfg) {
        resp_simple(c, STORE_CONFIG);
        return;
    }

    /* 1. routing: every recipient must be a mailbox we serve */
    for (i = 0; i < n; i++) {
        char acct[PDU_MAX_ACCOUNT + 1];
        size_t al;
        int r;
        pdu_decode_notif(s->items[i].tlv, s->items[i].len, &x.n);
        r = cfg_route(&s->cfg, &x.n.localpart, &x.n.rdomain, acct, &al);
        if (r < 0) {
            logline(s, PROG ": warning: configuration lookup failed: damaged cdb");
            resp_simple(c, STORE_CONFIG);
            return;
        }
        if (r == 0) {
            s->pos[nrej++] = (uint32_t)i;
            continue;
        }
        s->items[i].acct = mem_acct(&s->m, acct, al, 1);
        if (!s->items[i].acct) goto internal;
    }
    if (nrej) {
        s->m.st.rej_nomailbox += nrej;
        logline(s, PROG ": info: submit rejected=nosuchmailbox received=%zu unknown=%zu",
                n, nrej);
        resp_positions(c, STORE_NOMAILBOX, s->pos, nrej);
        return;
    }

    /* 2. filters, then collapse (against held and earlier in the batch) */
    s->m.gen++;
    for (i = 0; i < n; i++) {
        struct item *it = &s->items[i];
        uint32_t key;
        struct node *nd;
        pdu_decode_notif(it->tlv, it->len, &x.n);
        if (filtered(s, it, &x.n, &x.submitter.addr, &fa, &nf)) {
            it->state = IT_DISCARDED;
            ndisc++;
            continue;
        }
        key = mem_collapse_key(&s->m, &x.n);
        if (mem_find(&s->m, key, &x.n)) {
            it->state = IT_COLLAPSED;
            ncoll++;
            continue;
        }
        /* stored as its known elements re-encode (DER): unknown
         * extension elements are skipped (PROTOCOL.md 2) and not kept,
         * so a node's size is bounded by the known fields' limits */
        der_w_reset(&s->nbuf);
        pdu_put_notif(&s->nbuf, &x.n);
        nd = s->nbuf.err ? NULL : mem_node_new(&s->m, s->nbuf.buf, s->nbuf.len);
        if (nd && sub) {
            mem_subm_ref(sub);
        } else if (nd) { /* the first new node takes the first reference */
            sub = mem_subm_new(s->blob.buf, s->blob.len);
            if (!sub) {
                mem_node_free(&s->m, nd);
                nd = NULL;
            }
        }
        if (!nd) {
            rollback(s, i);
            goto internal;
        }
        nd->sub = sub;
        nd->key = key;
        nd->acct = it->acct;
        nd->date = date;
        nd->flags = NODE_TENTATIVE;
        mem_index_add(&s->m, nd);
        it->node = nd;
        nnew++;
        jsize += journal_node_size(nd);
    }

    /* 3. quotas, in batch order (PROTOCOL.md 5.1 precedence) */
    gcur = s->m.ghead;
    plan_total = s->m.total;
    s->ndoomed = 0;
    for (i = 0; i < n; i++) {
        struct item *it = &s->items[i];
        struct acct *a = it->acct;
        struct node *va = NULL, *vg = NULL;
        int need_a;
        if (it->state != IT_NEW) continue;
        plan_touch(s, a);
        need_a = a->plan_count >= a->plan_cfg.quota;
        if (need_a) {
            if (a->plan_cfg.policy == CFG_POLICY_OLDEST) va = acct_victim(a);
            if (!va) goto reject;
        } else if (plan_total >= s->cfg.lim.quota_total) {
            if (s->cfg.lim.policy_total == CFG_POLICY_OLDEST)
                vg = global_victim(&gcur);
            if (!vg) goto reject;
        }
        if (va) {
            va->flags |= NODE_DOOMED;
            s->doomed[s->ndoomed++] = va;
        } else {
            a->plan_count++;
            if (vg) {
                vg->flags |= NODE_DOOMED;
                s->doomed[s->ndoomed++] = vg;
                plan_touch(s, vg->acct);
                vg->acct->plan_count--;
            } else {
                plan_total++;
            }
        }
        continue;
    reject:
        s->pos[nrej++] = (uint32_t)i;
    }
    if (nrej) {
        rollback(s, n);
        s->m.st.rej_quota += nrej;
        logline(s, PROG ": info: submit rejected=quota received=%zu over=%zu", n, nrej);
        resp_positions(c, STORE_QUOTA, s->pos, nrej);
        return;
    }

    /* 4. make room in the journal before changing anything */
    jsize += 8 * s->ndoomed;
    if (nnew && journal_reserve(&s->j, jsize) < 0) {
        int e = errno;
        rollback(s, n);
        s->m.st.rej_internal += n;
        logline(s, PROG ": warning: submit refused: no room in the journal: %s",
                strerror(e));
        resp_simple(c, STORE_INTERNAL);
        return;
    }

    /* 5. commit: journal record, replacements, new notifications */
    if (nnew) {
        journal_rec_begin(&s->j, JREC_ACCEPT);
        storec_put_u64(&s->j.buf, x.date);
        journal_put_subm(&s->j, sub);
        storec_put_u32(&s->j.buf, (uint32_t)s->ndoomed);
        for (i = 0; i < s->ndoomed; i++) storec_put_u64(&s->j.buf, s->doomed[i]->seq);
        storec_put_u32(&s->j.buf, (uint32_t)nnew);
        for (i = 0; i < n; i++) {
            struct node *nd = s->items[i].node;
            if (!nd) continue;
            nd->seq = s->m.next_seq++;
            journal_put_node(&s->j, nd);
        }
        journal_rec_end(&s->j);
    }
    for (i = 0; i < s->ndoomed; i++) {
        s->doomed[i]->acct->replaced++;
        s->m.st.replaced++;
        mem_remove(&s->m, s->doomed[i]);
    }
    for (i = 0; i < n; i++) {
        struct item *it = &s->items[i];
        if (it->state == IT_NEW) {
            mem_link_new(&s->m, it->node);
            it->acct->accepted++;
        } else if (it->state == IT_COLLAPSED) {
            it->acct->collapsed++;
        } else {
            it->acct->discarded++;
        }
        it->node = NULL;
    }
    s->m.st.accepted += nnew;
    s->m.st.collapsed += ncoll;
    s->m.st.discarded += ndisc;
    logline(s, PROG ": info: submit ok received=%zu accepted=%zu collapsed=%zu discarded=%zu replaced=%zu",
            n, nnew, ncoll, ndisc, s->ndoomed);
    {
        size_t off = c->out.len;
        resp_begin(c, STORE_OK);
        storec_put_u32(&c->out, (uint32_t)nnew);
        storec_put_u32(&c->out, (uint32_t)ncoll);
        storec_put_u32(&c->out, (uint32_t)ndisc);
        storec_put_u32(&c->out, (uint32_t)s->ndoomed);
        resp_end(c, off);
    }
    s->ndoomed = 0;
    return;
badreq:
    resp_simple(c, STORE_BADREQ);
    return;
internal:
    s->m.st.rej_internal += n;
    resp_simple(c, STORE_INTERNAL);
}

/* ---- retrieve-and-clear (PROTOCOL.md 5.3) ---- */

static void rbegin(struct store *s, struct client *c, const unsigned char *p,
                   size_t len)
{
    struct acct *a;
    struct node *x;
    size_t off;

    if (!pdu_account_ok(p, len)) {
        resp_simple(c, STORE_BADREQ);
        return;
    }
    if (c->pend.open) {
        resp_simple(c, STORE_STATE);
        return;
    }
    a = mem_acct(&s->m, (const char *)p, len, 1);
    if (!a) {
        resp_simple(c, STORE_INTERNAL);
        return;
    }
    mem_take(&s->m, a, &c->pend);
    s->m.st.retrieves++;
    off = c->out.len;
    {
        size_t total = 16; /* frame, version, status, count */
        for (x = c->pend.head; x; x = x->anext) total += mem_nald_size(x);
        der_w_reserve(&c->out, total); /* one allocation, no doublings */
    }
    resp_begin(c, STORE_OK);
    storec_put_u32(&c->out, (uint32_t)c->pend.count);
    for (x = c->pend.head; x; x = x->anext) mem_put_nald(&c->out, x);
    resp_end(c, off);
    if (c->out.err) {
        /* could not build the response: give everything back */
        mem_putback(&s->m, &c->pend);
        c->out.err = 0;
        c->out.len = off;
        resp_simple(c, STORE_INTERNAL);
        return;
    }
    logline(s, PROG ": info: retrieve begin account=%s count=%llu", a->name,
            (unsigned long long)c->pend.count);
}

static void rcommit(struct store *s, struct client *c)
{
    struct node *x;
    uint64_t n = c->pend.count;
    size_t off;

    if (!c->pend.open) {
        resp_simple(c, STORE_STATE);
        return;
    }
    if (n) {
        if (journal_reserve(&s->j, 32 + 8 * n) < 0) {
            logline(s, PROG ": warning: commit refused: no room in the journal: %s",
                    strerror(errno));
            resp_simple(c, STORE_INTERNAL);
            return;
        }
        journal_rec_begin(&s->j, JREC_CLEAR);
        storec_put_u32(&s->j.buf, (uint32_t)n);
        for (x = c->pend.head; x; x = x->anext) storec_put_u64(&s->j.buf, x->seq);
        journal_rec_end(&s->j);
    }
    logline(s, PROG ": info: retrieve commit account=%s count=%llu",
            c->pend.acct->name, (unsigned long long)n);
    mem_clear(&s->m, &c->pend);
    s->m.st.commits++;
    off = c->out.len;
    resp_begin(c, STORE_OK);
    storec_put_u32(&c->out, (uint32_t)n);
    resp_end(c, off);
}

static void rabort(struct store *s, struct client *c, int reply)
{
    if (c->pend.open) {
        logline(s, PROG ": info: retrieve abort account=%s count=%llu",
                c->pend.acct->name, (unsigned long long)c->pend.count);
        mem_putback(&s->m, &c->pend);
        s->m.st.aborts++;
    }
    if (reply) resp_simple(c, STORE_OK);
}

/* ---- operations ---- */

static void put_kv(struct der_w *w, const char *k, uint64_t v)
{
    char line[128];
    int n = snprintf(line, sizeof line, "%s %llu\n", k, (unsigned long long)v);
    if (n > 0) der_w_raw(w, line, (size_t)n);
}

static void put_acct(struct der_w *w, const struct acct *a)
{
    char line[512];
    int n = snprintf(line, sizeof line,
                     "account %s held %llu pending %llu accepted %llu collapsed %llu"
                     " discarded %llu replaced %llu cleared %llu\n",
                     a->name, (unsigned long long)a->count,
                     (unsigned long long)a->pending, (unsigned long long)a->accepted,
                     (unsigned long long)a->collapsed, (unsigned long long)a->discarded,
                     (unsigned long long)a->replaced, (unsigned long long)a->cleared);
    if (n > 0) der_w_raw(w, line, (size_t)n);
}

static uint64_t rss_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long size, rss;
    if (!f) return 0;
    if (fscanf(f, "%lu %lu", &size, &rss) != 2) rss = 0;
    fclose(f);
    return (uint64_t)rss * (uint64_t)sysconf(_SC_PAGESIZE);
}

static void stats(struct store *s, struct client *c, const unsigned char *p,
                  size_t len)
{
    struct mem *m = &s->m;
    size_t off = c->out.len, i;
    resp_begin(c, STORE_OK);
    if (len == 1 && p[0] == '*') {
        for (i = 0; i <= m->amask; i++) {
            struct acct *a;
            for (a = m->atab[i]; a; a = a->hnext) put_acct(&c->out, a);
        }
    } else if (len > 0) {
        struct acct *a = mem_acct(m, (const char *)p, len, 0);
        if (a) put_acct(&c->out, a);
    } else {
        put_kv(&c->out, "held", m->total);
        put_kv(&c->out, "pending", m->pending);
        put_kv(&c->out, "accounts", m->acount);
        put_kv(&c->out, "bytes", m->bytes);
        put_kv(&c->out, "accepted", m->st.accepted);
        put_kv(&c->out, "collapsed", m->st.collapsed);
        put_kv(&c->out, "discarded", m->st.discarded);
        put_kv(&c->out, "replaced", m->st.replaced);
        put_kv(&c->out, "cleared", m->st.cleared);
        put_kv(&c->out, "expired", m->st.expired);
        put_kv(&c->out, "rejected_nosuchmailbox", m->st.rej_nomailbox);
        put_kv(&c->out, "rejected_quota", m->st.rej_quota);
        put_kv(&c->out, "rejected_internal", m->st.rej_internal);
        put_kv(&c->out, "batches", m->st.batches);
        put_kv(&c->out, "retrieves", m->st.retrieves);
        put_kv(&c->out, "commits", m->st.commits);
        put_kv(&c->out, "aborts", m->st.aborts);
        put_kv(&c->out, "clients", s->ncl);
        put_kv(&c->out, "journal_generation", s->j.gen);
        put_kv(&c->out, "journal_bytes", s->j.off);
        put_kv(&c->out, "journal_syncs", s->j.syncs);
        put_kv(&c->out, "journal_records", s->j.records);
        put_kv(&c->out, "replayed_records", s->j.replayed);
        put_kv(&c->out, "torn_bytes", s->j.torn_bytes);
        put_kv(&c->out, "sync", (uint64_t)sync_on(s));
        put_kv(&c->out, "config", (uint64_t)s->have_cfg);
        put_kv(&c->out, "rss_bytes", rss_bytes());
    }
    resp_end(c, off);
}

static void expire(struct store *s, struct client *c, const unsigned char *p,
                   size_t len)
{
    uint64_t age, n = 0;
    int64_t cutoff;
    struct node *x, *nx;
    size_t off;

    if (len == 8) age = storec_get_u64(p);
    else if (len == 0) age = s->have_cfg ? s->cfg.lim.expire : CFG_DEF_EXPIRE;
    else {
        resp_simple(c, STORE_BADREQ);
        return;
    }
    if (age > 0 && age < (uint64_t)INT64_MAX) {
        cutoff = (int64_t)time(NULL) - (int64_t)age;
        for (x = s->m.ghead; x && x->date < cutoff; x = x->gnext)
            if (!(x->flags & NODE_PENDING)) n++;
        if (n && journal_reserve(&s->j, 32 + 8 * n) < 0) {
            resp_simple(c, STORE_INTERNAL);
            return;
        }
        if (n) {
            journal_rec_begin(&s->j, JREC_EXPIRE);
            storec_put_u32(&s->j.buf, (uint32_t)n);
            for (x = s->m.ghead; x && x->date < cutoff; x = x->gnext)
                if (!(x->flags & NODE_PENDING)) storec_put_u64(&s->j.buf, x->seq);
            journal_rec_end(&s->j);
            for (x = s->m.ghead; x && x->date < cutoff; x = nx) {
                nx = x->gnext;
                if (!(x->flags & NODE_PENDING)) mem_remove(&s->m, x);
            }
            s->m.st.expired += n;
        }
    }
    logline(s, PROG ": info: expire age=%llu expired=%llu", (unsigned long long)age,
            (unsigned long long)n);
    off = c->out.len;
    resp_begin(c, STORE_OK);
    storec_put_u32(&c->out, (uint32_t)n);
    resp_end(c, off);
}

static void compact(struct store *s, struct client *c)
{
    size_t off;
    int r = journal_compact(&s->j, &s->m);
    if (r == -2) die(s, 111, "compaction: unable to sync the store directory: %s",
                     strerror(errno));
    if (r < 0) {
        logline(s, PROG ": warning: compaction failed: %s", strerror(errno));
        resp_simple(c, STORE_INTERNAL);
        return;
    }
    logline(s, PROG ": info: compacted held=%llu generation=%llu",
            (unsigned long long)s->m.total, (unsigned long long)s->j.gen);
    off = c->out.len;
    resp_begin(c, STORE_OK);
    storec_put_u64(&c->out, s->m.total);
    storec_put_u64(&c->out, s->j.gen);
    resp_end(c, off);
}

static void request(struct store *s, struct client *c, const unsigned char *p,
                    size_t len)
{
    unsigned op;
    if (len < 2 || p[0] != STOREC_VERSION) {
        resp_simple(c, STORE_BADREQ);
        return;
    }
    op = p[1];
    p += 2;
    len -= 2;
    if (s->stopping && (op == STORE_OP_SUBMIT || op == STORE_OP_RBEGIN)) {
        resp_simple(c, STORE_SHUTDOWN);
        return;
    }
    switch (op) {
    case STORE_OP_SUBMIT: submit(s, c, p, len); break;
    case STORE_OP_RBEGIN: rbegin(s, c, p, len); break;
    case STORE_OP_RCOMMIT: rcommit(s, c); break;
    case STORE_OP_RABORT: rabort(s, c, 1); break;
    case STORE_OP_STATS: stats(s, c, p, len); break;
    case STORE_OP_EXPIRE: expire(s, c, p, len); break;
    case STORE_OP_COMPACT: compact(s, c); break;
    case STORE_OP_RELOAD:
        cfg_load(s, 1, "reload request");
        resp_simple(c, s->have_cfg ? STORE_OK : STORE_CONFIG);
        break;
    default: resp_simple(c, STORE_BADREQ); break;
    }
}

/* ---- clients ---- */

/* Is a whole request buffered, and may we carry it out now? */
static int client_ready(const struct client *c)
{
    return !c->dead && c->inlen >= 4 && c->out.len - c->outoff < OUT_SOFT &&
           c->inlen - 4 >= storec_get_u32(c->in);
}

/* Carry out buffered requests until the responses waiting for this
 * client pass OUT_SOFT; the rest waits until they are written. */
static void client_process(struct store *s, struct client *c)
{
    size_t off = 0;
    while (c->inlen - off >= 4 && c->out.len - c->outoff < OUT_SOFT) {
        uint32_t l = storec_get_u32(c->in + off);
        if (l == 0 || l > STORE_REQ_MAX) {
            logline(s, PROG ": warning: client dropped: request of %lu octets",
                    (unsigned long)l);
            c->dead = 1;
            return;
        }
        if (c->inlen - off - 4 < l) break;
        request(s, c, c->in + off + 4, l);
        off += 4 + l;
        c->done++;
        if (c->expect) c->expect--;
    }
    if (off) {
        memmove(c->in, c->in + off, c->inlen - off);
        c->inlen -= off;
    }
}

static void client_read(struct store *s, struct client *c)
{
    size_t cap = STORE_REQ_MAX + 4;
    ssize_t k;

    k = read(c->fd, c->in + c->inlen, cap - c->inlen);
    if (k < 0) {
        if (errno != EAGAIN && errno != EINTR) c->dead = 1;
        return;
    }
    if (k == 0) {
        c->dead = 1;
        return;
    }
    c->inlen += (size_t)k;
    client_process(s, c);
}

static void client_write(struct client *c)
{
    while (c->outoff < c->out.len) {
        ssize_t k = write(c->fd, c->out.buf + c->outoff, c->out.len - c->outoff);
        if (k < 0) {
            if (errno == EINTR) continue;
            if (errno != EAGAIN) c->dead = 1;
            return;
        }
        c->outoff += (size_t)k;
    }
    der_w_reset(&c->out);
    c->outoff = 0;
    /* a retrieve of a large account leaves a large buffer: give it back */
    if (c->out.cap > (1u << 20)) der_w_free(&c->out);
}

static void client_free(struct store *s, struct client *c)
{
    rabort(s, c, 0);
    close(c->fd);
    free(c->in);
    der_w_free(&c->out);
    free(c);
}

static void accept_clients(struct store *s)
{
    for (;;) {
        struct client *c;
        int fd = accept4(s->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) return;
        if (s->ncl >= MAX_CLIENTS) {
            close(fd);
            logline(s, PROG ": warning: too many clients; connection refused");
            continue;
        }
        c = calloc(1, sizeof *c);
        if (c) c->in = malloc(STORE_REQ_MAX + 4);
        if (!c || !c->in) {
            if (c) free(c);
            close(fd);
            continue;
        }
        c->fd = fd;
        der_w_growing(&c->out, OUT_MAX);
        s->cl[s->ncl++] = c;
    }
}

/* ---- setup ---- */

static struct store *the_store; /* for the signal handler only */

static void on_signal(int sig)
{
    int e = errno;
    unsigned char b = (unsigned char)sig;
    if (the_store && write(the_store->sig[1], &b, 1) < 0) {
        /* a full pipe already holds a wake-up */
    }
    errno = e;
}

static void setup_signals(struct store *s)
{
    struct sigaction sa;
    if (pipe2(s->sig, O_NONBLOCK | O_CLOEXEC) < 0)
        die(s, 111, "unable to create a pipe: %s", strerror(errno));
    the_store = s;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    signal(SIGXFSZ, SIG_IGN); /* a file size limit is an error, not death */
}

static void listen_socket(struct store *s)
{
    struct sockaddr_un sa;

    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    if (strlen(s->sockpath) >= sizeof sa.sun_path)
        die(s, 100, "socket path too long: %s", s->sockpath);
    strcpy(sa.sun_path, s->sockpath);
    unlink(s->sockpath);
    s->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s->lfd < 0) die(s, 111, "unable to create socket: %s", strerror(errno));
    {
        mode_t old = umask(0007);
        int r = bind(s->lfd, (struct sockaddr *)&sa, sizeof sa);
        umask(old);
        if (r < 0) die(s, 111, "unable to bind %s: %s", s->sockpath, strerror(errno));
    }
    if (listen(s->lfd, 1024) < 0)
        die(s, 111, "unable to listen on %s: %s", s->sockpath, strerror(errno));
}

/* One store per directory: two would both replay and append. The lock
 * descriptor stays open for the life of the process. */
static void lock_store(struct store *s, const char *storedir)
{
    char lockpath[4096];
    int lock;
    if (mkdir(storedir, 0750) < 0 && errno != EEXIST)
        die(s, 111, "unable to create %s: %s", storedir, strerror(errno));
    if ((size_t)snprintf(lockpath, sizeof lockpath, "%s/lock", storedir) >= sizeof lockpath)
        die(s, 100, "directory name too long");
    lock = open(lockpath, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (lock < 0) die(s, 111, "unable to open %s: %s", lockpath, strerror(errno));
    if (flock(lock, LOCK_EX | LOCK_NB) < 0)
        die(s, 111, "another rna-store is running on %s", s->dir);
}

static int64_t clock_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* With sync on, a turn's records wait for an fdatasync that takes far
 * longer than a read. Requests that arrive meanwhile are carried out
 * before it, so that the one sync covers them too: poll the clients again,
 * read and carry out what came, until half as long as the last sync took
 * has passed or after GATHER_ROUNDS rounds. While a client given N answers
 * in the previous turn has not sent N requests since (it is likely to: a
 * client keeping requests in flight sends the next on each answer), a
 * round waits for it within that time; otherwise a round does not wait,
 * and the first that finds nothing new ends the gathering. A client is
 * read here only while the answers waiting for it stay under OUT_SOFT,
 * the bound client_process keeps; nothing is acknowledged any earlier
 * than without gathering. */
static void gather(struct store *s, struct pollfd *pf)
{
    int64_t until = clock_us() + s->sync_us / 2;
    int round;

    for (round = 0; round < GATHER_ROUNDS; round++) {
        size_t i, np = 0, nexp = 0;
        int64_t left = until - clock_us();
        struct timespec ts = {0, 0};
        for (i = 0; i < s->ncl; i++) {
            const struct client *c = s->cl[i];
            int ok = !c->dead && c->out.len - c->outoff < OUT_SOFT &&
                     c->inlen < STORE_REQ_MAX + 4;
            pf[i].fd = ok ? c->fd : -1; /* poll skips negative descriptors */
            pf[i].events = POLLIN;
            pf[i].revents = 0;
            np += ok;
            nexp += ok && c->expect;
        }
        if (np == 0 || left <= 0) return;
        if (nexp) {
            ts.tv_sec = (time_t)(left / 1000000);
            ts.tv_nsec = (long)(left % 1000000) * 1000;
        }
        if (ppoll(pf, s->ncl, &ts, NULL) <= 0) return;
        for (i = 0; i < s->ncl; i++) {
            if (pf[i].revents & POLLIN) client_read(s, s->cl[i]);
            else if (pf[i].revents & (POLLERR | POLLHUP | POLLNVAL)) s->cl[i]->dead = 1;
        }
        if (clock_us() >= until) return;
    }
}

static void loop(struct store *s)
{
    struct pollfd *pf = calloc(MAX_CLIENTS + 2, sizeof *pf);
    if (!pf) die(s, 111, "out of memory");

    for (;;) {
        size_t i, np = 0, polled;
        int timeout = CFG_CHECK_MS;
        int64_t now = clock_ms();

        pf[np].fd = s->sig[0];
        pf[np++].events = POLLIN;
        pf[np].fd = s->stopping ? -1 : s->lfd;
        pf[np++].events = POLLIN;
        for (i = 0; i < s->ncl; i++) {
            struct client *c = s->cl[i];
            pf[np].fd = c->fd;
            pf[np].events = c->out.len > c->outoff ? POLLOUT : POLLIN;
            pf[np++].revents = 0;
            if (client_ready(c)) timeout = 0; /* requests left over */
        }
        if (s->log.len && s->log_due - now < timeout)
            timeout = s->log_due < now ? 0 : (int)(s->log_due - now);
        if (s->stopping && s->stop_at - now < timeout)
            timeout = s->stop_at < now ? 0 : (int)(s->stop_at - now);
        if (poll(pf, np, timeout) < 0 && errno != EINTR)
            die(s, 111, "poll: %s", strerror(errno));

        if (pf[0].revents & POLLIN) {
            unsigned char b[64];
            ssize_t k;
            while ((k = read(s->sig[0], b, sizeof b)) > 0) {
                ssize_t q;
                for (q = 0; q < k; q++) {
                    if (b[q] == SIGHUP) {
                        cfg_load(s, 1, "SIGHUP");
                    } else if (!s->stopping) {
                        s->stopping = 1;
                        s->stop_at = clock_ms() + STOP_GRACE_MS;
                        logline(s, PROG ": info: stopping on signal %d", b[q]);
                    }
                }
            }
        }
        /* clients accepted now were not in this poll: their pf entries
         * hold an earlier turn's revents (say, a hung-up client's) */
        polled = s->ncl;
        if (pf[1].revents & POLLIN) accept_clients(s);
        for (i = 0; i < s->ncl; i++) {
            struct client *c = s->cl[i];
            short re = i < polled ? pf[i + 2].revents : 0;
            if (c->dead) continue;
            if (re & POLLIN) client_read(s, c);
            else if (re & (POLLERR | POLLHUP | POLLNVAL)) c->dead = 1;
            else if (client_ready(c)) client_process(s, c);
        }
        /* group commit: one write and one sync for the whole turn */
        if (journal_pending(&s->j)) {
            int sync = sync_on(s);
            int64_t t0;
            if (sync) gather(s, pf + 2);
            t0 = sync ? clock_us() : 0;
            if (journal_flush(&s->j, sync) < 0)
                die(s, 111, "unable to write the journal: %s", strerror(errno));
            if (sync) s->sync_us = clock_us() - t0;
        }
        for (i = 0; i < s->ncl; i++) {
            struct client *c = s->cl[i];
            c->expect = 0; /* it had its turn */
            if (c->dead || c->out.len == c->outoff) continue;
            client_write(c);
            /* all its answers out: as many requests may come soon */
            if (c->out.len == 0) {
                c->expect = c->done;
                c->done = 0;
            }
        }
        for (i = 0; i < s->ncl;) {
            if (s->cl[i]->dead) {
                client_free(s, s->cl[i]);
                s->cl[i] = s->cl[--s->ncl];
            } else {
                i++;
            }
        }
        now = clock_ms();
        if (!s->stopping && now - s->cfg_checked >= CFG_CHECK_MS) {
            s->cfg_checked = now;
            cfg_load(s, 0, "changed");
            journal_limits(&s->j);
        }
        /* after the journal flush: a line written is of a durable event */
        if (s->log.len >= LOG_SOFT || (s->log.len && now >= s->log_due)) logflush(s);
        if (s->stopping && (now >= s->stop_at || s->ncl == 0)) break;
    }
    free(pf);
}

int main(int argc, char **argv)
{
    static struct store st; /* large: keep it off the stack */
    struct store *s = &st;
    const char *why = "";
    char storedir[4096];
    size_t i;

    if (argc != 2 || argv[1][0] == 0) {
        fprintf(stderr, "usage: " PROG " DIR\n");
        return 100;
    }
    s->dir = argv[1];
    if ((size_t)snprintf(s->cfgpath, sizeof s->cfgpath, "%s/config/store.cdb", s->dir) >= sizeof s->cfgpath ||
        (size_t)snprintf(s->sockpath, sizeof s->sockpath, "%s/" STORE_SOCKET, s->dir) >= sizeof s->sockpath ||
        (size_t)snprintf(storedir, sizeof storedir, "%s/store", s->dir) >= sizeof storedir)
        die(NULL, 100, "directory name too long");
    der_w_growing(&s->log, 1u << 20);
    der_w_growing(&s->blob, 1u << 20);
    der_w_growing(&s->nbuf, 1u << 20);
    s->doomed = calloc(PDU_MAX_NOTIFS, sizeof *s->doomed);
    s->cl = calloc(MAX_CLIENTS, sizeof *s->cl);
    if (!s->doomed || !s->cl) die(s, 111, "out of memory");
    setup_signals(s);
    lock_store(s, storedir);
    if (journal_open(&s->j, storedir, &s->m, &why) < 0)
        die(s, 111, "%s: %s: %s", storedir, why, strerror(errno));
    cfg_load(s, 1, "start");
    listen_socket(s);
    logline(s, PROG ": info: started held=%llu accounts=%zu replayed=%llu torn_bytes=%llu generation=%llu",
            (unsigned long long)s->m.total, s->m.acount,
            (unsigned long long)s->j.replayed, (unsigned long long)s->j.torn_bytes,
            (unsigned long long)s->j.gen);
    logflush(s);
    loop(s);
    if (journal_pending(&s->j) && journal_flush(&s->j, sync_on(s)) < 0)
        die(s, 111, "unable to write the journal: %s", strerror(errno));
    logline(s, PROG ": info: stopped held=%llu", (unsigned long long)s->m.total);
    logflush(s);
    for (i = 0; i < s->ncl; i++) client_free(s, s->cl[i]);
    unlink(s->sockpath);
    close(s->lfd);
    journal_close(&s->j);
    mem_free(&s->m);
    if (s->have_cfg) cfg_close(&s->cfg);
    free(s->doomed);
    free(s->cl);
    der_w_free(&s->log);
    der_w_free(&s->blob);
    der_w_free(&s->nbuf);
    return 0;
}
