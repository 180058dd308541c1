/*
 * mem: the in-memory model of rna-store (see store.h).
 *
 * Costs: the collapse index and the account table are chained hash
 * tables that double when their load passes 1, so lookups are O(1)
 * expected; a retrieve moves k nodes (O(k)); a commit frees them (O(k));
 * an abort merges them back into the account's list by sequence number
 * (O(k + held)).
 */
#include "store.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define MIN_BUCKETS 1024
#define MAX_HINT ((size_t)1 << 22)

static void slab_free(struct slab *sl);

int mem_init(struct mem *m, const struct hash_key *k)
{
    memset(m, 0, sizeof *m);
    m->key = *k;
    m->htab = calloc(MIN_BUCKETS, sizeof *m->htab);
    m->atab = calloc(MIN_BUCKETS, sizeof *m->atab);
    if (!m->htab || !m->atab) {
        free(m->htab);
        free(m->atab);
        return -1;
    }
    m->hmask = MIN_BUCKETS - 1;
    m->amask = MIN_BUCKETS - 1;
    m->next_seq = 1;
    return 0;
}

void mem_free(struct mem *m)
{
    struct node *x = m->ghead, *nx;
    size_t i;
    while (x) {
        nx = x->gnext;
        mem_node_free(m, x);
        x = nx;
    }
    for (i = 0; i <= m->amask; i++) {
        struct acct *a = m->atab[i], *na;
        while (a) {
            na = a->hnext;
            free(a);
            a = na;
        }
    }
    free(m->htab);
    free(m->atab);
    m->htab = NULL;
    m->atab = NULL;
    slab_free(&m->slab);
}

/* ---- accounts ---- */

static uint64_t name_hash(const struct mem *m, const char *name, size_t len)
{
    return hash_sip(&m->key, name, len);
}

static void acct_grow(struct mem *m)
{
    size_t n = (m->amask + 1) * 2, i;
    struct acct **t;
    if (n < m->amask + 1) return;
    t = calloc(n, sizeof *t);
    if (!t) return; /* keep the longer chains; still correct */
    for (i = 0; i <= m->amask; i++) {
        struct acct *a = m->atab[i], *na;
        while (a) {
            size_t b = name_hash(m, a->name, a->nlen) & (n - 1);
            na = a->hnext;
            a->hnext = t[b];
            t[b] = a;
            a = na;
        }
    }
    free(m->atab);
    m->atab = t;
    m->amask = n - 1;
}

struct acct *mem_acct(struct mem *m, const char *name, size_t len, int create)
{
    size_t b;
    struct acct *a;

    if (len == 0 || len > PDU_MAX_ACCOUNT) return NULL;
    b = name_hash(m, name, len) & m->amask;
    for (a = m->atab[b]; a; a = a->hnext)
        if (a->nlen == len && memcmp(a->name, name, len) == 0) return a;
    if (!create) return NULL;
    a = calloc(1, offsetof(struct acct, name) + len + 1);
    if (!a) return NULL;
    memcpy(a->name, name, len);
    a->nlen = (unsigned char)len;
    a->hnext = m->atab[b];
    m->atab[b] = a;
    if (++m->acount > m->amask + 1) acct_grow(m);
    return a;
}

/* ---- collapse index ---- */

static void add_lower(struct hash_st *s, const unsigned char *p, size_t n)
{
    unsigned char buf[64];
    while (n) {
        size_t k = n < sizeof buf ? n : sizeof buf, i;
        for (i = 0; i < k; i++)
            buf[i] = (p[i] >= 'A' && p[i] <= 'Z') ? (unsigned char)(p[i] + 32) : p[i];
        hash_add(s, buf, k);
        p += k;
        n -= k;
    }
}

static void add_len(struct hash_st *s, size_t n)
{
    uint32_t v = (uint32_t)n;
    hash_add(s, &v, sizeof v);
}

/* PROTOCOL.md 5.1: same recipient mailbox (local part exact, domain
 * case-insensitive), same storeclear (domains case-insensitive), same
 * identifier. */
uint32_t mem_collapse_key(const struct mem *m, const struct pdu_notif *n)
{
    struct hash_st s;
    unsigned i;

    hash_init(&s, &m->key);
    add_len(&s, n->localpart.len);
    hash_add(&s, n->localpart.p, n->localpart.len);
    add_len(&s, n->rdomain.len);
    add_lower(&s, n->rdomain.p, n->rdomain.len);
    hash_add(&s, &n->clear.kind, 1);
    if (n->clear.kind == PDU_LOC_DOMAIN) {
        add_len(&s, n->clear.domain.len);
        add_lower(&s, n->clear.domain.p, n->clear.domain.len);
    } else {
        add_len(&s, n->clear.nlit);
        for (i = 0; i < n->clear.nlit; i++) {
            const struct pdu_ipport *a = &n->clear.lit[i];
            hash_add(&s, &a->v6, 1);
            hash_add(&s, a->ip, a->v6 ? 16 : 4);
            hash_add(&s, &a->port, sizeof a->port);
        }
    }
    hash_add(&s, n->id, PDU_ID_LEN);
    return (uint32_t)hash_end(&s);
}

static int same_identity(const struct node *x, const struct pdu_notif *n)
{
    struct pdu_notif d;
    if (pdu_decode_notif(x->blob, x->len, &d) != PDU_OK) return 0;
    return d.localpart.len == n->localpart.len &&
           memcmp(d.localpart.p, n->localpart.p, n->localpart.len) == 0 &&
           pdu_domain_eq(&d.rdomain, &n->rdomain) &&
           pdu_loc_eq(&d.clear, &n->clear) &&
           memcmp(d.id, n->id, PDU_ID_LEN) == 0;
}

struct node *mem_find(struct mem *m, uint32_t key, const struct pdu_notif *n)
{
    struct node *x;
    for (x = m->htab[key & m->hmask]; x; x = x->hnext)
        if (x->key == key && same_identity(x, n)) return x;
    return NULL;
}

static void index_grow(struct mem *m)
{
    size_t n = (m->hmask + 1) * 2, i;
    struct node **t;
    if (n < m->hmask + 1) return;
    t = calloc(n, sizeof *t);
    if (!t) return;
    for (i = 0; i <= m->hmask; i++) {
        struct node *x = m->htab[i], *nx;
        while (x) {
            nx = x->hnext;
            x->hnext = t[x->key & (n - 1)];
            t[x->key & (n - 1)] = x;
            x = nx;
        }
    }
    free(m->htab);
    m->htab = t;
    m->hmask = n - 1;
}

void mem_index_hint(struct mem *m, size_t n)
{
    if (n > MAX_HINT) n = MAX_HINT;
    while (m->hmask + 1 < n) {
        size_t before = m->hmask;
        index_grow(m);
        if (m->hmask == before) return; /* no memory: grow later */
    }
}

void mem_index_add(struct mem *m, struct node *x)
{
    size_t b = x->key & m->hmask;
    x->hnext = m->htab[b];
    m->htab[b] = x;
    if (++m->hcount > m->hmask + 1) index_grow(m);
}

void mem_index_del(struct mem *m, struct node *x)
{
    struct node **pp = &m->htab[x->key & m->hmask];
    while (*pp && *pp != x) pp = &(*pp)->hnext;
    if (*pp) {
        *pp = x->hnext;
        m->hcount--;
    }
    x->hnext = NULL;
}

/* ---- node memory (see struct slab) ---- */

#if defined(__SANITIZE_ADDRESS__)
#define SLAB_OFF 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SLAB_OFF 1
#endif
#endif

static size_t node_size(size_t len)
{
    size_t n = offsetof(struct node, blob) + len;
    return (n + SLAB_GRAIN - 1) & ~(size_t)(SLAB_GRAIN - 1);
}

#ifndef SLAB_OFF
static int slab_chunk(struct slab *sl)
{
    /* map twice the size to cut out a 2 MiB-aligned chunk */
    unsigned char *p = mmap(NULL, 2 * SLAB_CHUNK, PROT_READ | PROT_WRITE,
                            MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    uintptr_t a;
    size_t head;
    if (p == MAP_FAILED) return -1;
    a = ((uintptr_t)p + SLAB_CHUNK - 1) & ~(uintptr_t)(SLAB_CHUNK - 1);
    head = (size_t)(a - (uintptr_t)p);
    if (head) munmap(p, head);
    munmap((unsigned char *)a + SLAB_CHUNK, SLAB_CHUNK - head);
    p = (unsigned char *)a;
#ifdef MADV_HUGEPAGE
    madvise(p, SLAB_CHUNK, MADV_HUGEPAGE); /* a hint; fine if refused */
#endif
    memcpy(p, &sl->chunks, sizeof sl->chunks);
    sl->chunks = p;
    sl->nchunks++;
    sl->cur = p + 16; /* the link, and 16-octet alignment kept */
    sl->end = p + SLAB_CHUNK;
    return 0;
}

#endif

static void *node_alloc(struct mem *m, size_t size)
{
#ifndef SLAB_OFF
    struct slab *sl = &m->slab;
    void **f;
    unsigned char *p;
    if (size <= SLAB_MAX) {
        f = &sl->free[size / SLAB_GRAIN];
        if (*f) {
            p = *f;
            memcpy(f, p, sizeof *f);
            return p;
        }
        if ((size_t)(sl->end - sl->cur) < size && slab_chunk(sl) < 0) return NULL;
        p = sl->cur;
        sl->cur += size;
        return p;
    }
#else
    (void)m;
#endif
    return malloc(size);
}

static void node_release(struct mem *m, void *p, size_t size)
{
#ifndef SLAB_OFF
    if (size <= SLAB_MAX) {
        void **f = &m->slab.free[size / SLAB_GRAIN];
        memcpy(p, f, sizeof *f);
        *f = p;
        return;
    }
#else
    (void)m;
    (void)size;
#endif
    free(p);
}

static void slab_free(struct slab *sl)
{
    while (sl->chunks) {
        void *p = sl->chunks;
        memcpy(&sl->chunks, p, sizeof sl->chunks);
        munmap(p, SLAB_CHUNK);
    }
    memset(sl, 0, sizeof *sl);
}

struct node *mem_node_new(struct mem *m, const unsigned char *notif, size_t len)
{
    struct node *x;
    if (len > NODE_MAX_LEN) return NULL;
    x = node_alloc(m, node_size(len));
    if (!x) return NULL;
    memset(x, 0, offsetof(struct node, blob));
    memcpy(x->blob, notif, len);
    x->len = (uint16_t)len;
    return x;
}

void mem_node_free(struct mem *m, struct node *x)
{
    if (!x) return;
    mem_subm_unref(x->sub);
    node_release(m, x, node_size(x->len));
}

struct subm *mem_subm_new(const unsigned char *der, size_t n)
{
    struct subm *s;
    if (n > UINT16_MAX) return NULL;
    s = malloc(offsetof(struct subm, der) + n);
    if (!s) return NULL;
    s->refs = 1;
    s->len = (uint16_t)n;
    memcpy(s->der, der, n);
    return s;
}

void mem_subm_ref(struct subm *s)
{
    if (s) s->refs++;
}

void mem_subm_unref(struct subm *s)
{
    if (s && --s->refs == 0) free(s);
}

/* NotificationAndLocalData ::= SEQUENCE { [0] IMPLICIT Notification,
 * [1] IMPLICIT ClientLocation, [2] IMPLICIT UnsignedLargeInteger }: the
 * stored Notification TLV with its tag turned into [0] constructed, the
 * submitter's TLV, and the date. */
static size_t date_contents(uint32_t date)
{
    size_t n = 1;
    uint64_t v = date;
    while (v > 0x7f) { /* a leading 0 keeps the top bit clear */
        v >>= 8;
        n++;
    }
    return n;
}

static size_t nald_inner(const struct node *x)
{
    return x->len + (x->sub ? x->sub->len : 0) + 2 + date_contents(x->date);
}

size_t mem_nald_size(const struct node *x)
{
    size_t n = nald_inner(x);
    return 1 + der_len_size(n) + n;
}

void mem_put_nald(struct der_w *w, const struct node *x)
{
    unsigned char h[1 + 9];
    size_t n = nald_inner(x), k;
    h[0] = 0x30;
    k = 1 + der_put_len(h + 1, n);
    der_w_raw(w, h, k);
    h[0] = 0xa0;
    der_w_raw(w, h, 1);
    der_w_raw(w, x->blob + 1, x->len - 1u);
    if (x->sub) der_w_raw(w, x->sub->der, x->sub->len);
    der_w_uint(w, 0x82, x->date);
}

/* ---- lists ---- */

static void alist_append(struct node **head, struct node **tail, struct node *x)
{
    x->anext = NULL;
    x->aprev = *tail;
    if (*tail) (*tail)->anext = x;
    else *head = x;
    *tail = x;
}

static void alist_unlink(struct node **head, struct node **tail, struct node *x)
{
    if (x->aprev) x->aprev->anext = x->anext;
    else *head = x->anext;
    if (x->anext) x->anext->aprev = x->aprev;
    else *tail = x->aprev;
    x->anext = x->aprev = NULL;
}

static void glist_unlink(struct mem *m, struct node *x)
{
    if (x->gprev) x->gprev->gnext = x->gnext;
    else m->ghead = x->gnext;
    if (x->gnext) x->gnext->gprev = x->gprev;
    else m->gtail = x->gprev;
    x->gnext = x->gprev = NULL;
}

void mem_link_new(struct mem *m, struct node *x)
{
    struct acct *a = x->acct;
    if (x->flags & NODE_TENTATIVE) x->flags &= ~NODE_TENTATIVE;
    else mem_index_add(m, x);
    alist_append(&a->head, &a->tail, x);
    x->gnext = NULL;
    x->gprev = m->gtail;
    if (m->gtail) m->gtail->gnext = x;
    else m->ghead = x;
    m->gtail = x;
    a->count++;
    m->total++;
    m->bytes += x->len;
    if (x->seq >= m->next_seq) m->next_seq = x->seq + 1;
}

/* Drop a node from the global list and the index, and free it. */
static void drop(struct mem *m, struct node *x)
{
    glist_unlink(m, x);
    mem_index_del(m, x);
    x->acct->count--;
    m->total--;
    m->bytes -= x->len;
    mem_node_free(m, x);
}

void mem_remove(struct mem *m, struct node *x)
{
    alist_unlink(&x->acct->head, &x->acct->tail, x);
    drop(m, x);
}

void mem_take(struct mem *m, struct acct *a, struct pend *p)
{
    struct node *x;
    p->acct = a;
    p->head = a->head;
    p->tail = a->tail;
    p->count = 0;
    p->open = 1;
    for (x = p->head; x; x = x->anext) {
        x->flags |= NODE_PENDING;
        p->count++;
    }
    a->head = a->tail = NULL;
    a->pending += p->count;
    m->pending += p->count;
}

void mem_clear(struct mem *m, struct pend *p)
{
    struct node *x = p->head, *nx;
    if (!p->open) return;
    p->acct->pending -= p->count;
    m->pending -= p->count;
    p->acct->cleared += p->count;
    m->st.cleared += p->count;
    while (x) {
        nx = x->anext;
        drop(m, x);
        x = nx;
    }
    p->head = p->tail = NULL;
    p->count = 0;
    p->open = 0;
}

/* Abort: the taken nodes go back to their original places, which by
 * construction are given by their sequence numbers. */
void mem_putback(struct mem *m, struct pend *p)
{
    struct acct *a = p->acct;
    struct node *x = p->head, *y = a->head, *nh = NULL, *nt = NULL;
    if (!p->open) return;
    while (x || y) {
        struct node *take;
        if (y == NULL || (x && x->seq < y->seq)) {
            take = x;
            x = x->anext;
            take->flags &= ~NODE_PENDING;
        } else {
            take = y;
            y = y->anext;
        }
        alist_append(&nh, &nt, take);
    }
    a->head = nh;
    a->tail = nt;
    a->pending -= p->count;
    m->pending -= p->count;
    p->head = p->tail = NULL;
    p->count = 0;
    p->open = 0;
}
