/*
 * Randomized round trips over every PDU kind: generate a value, encode it
 * with the encoders, decode, check the decoded fields equal the generated
 * ones, and check that re-encoding the decoded PDU gives the same octets.
 *
 * The generator stays inside the limits of PROTOCOL.md section 2 and
 * leans on their edges (empty sender, 255-octet localparts, 63-octet
 * labels, 127-label names, 16 literals, 2^64-1 sizes and dates) and on
 * multi-octet UTF-8 and C1 controls.
 *
 * Deterministic: the seed is printed; RNA_SEED=n reruns another one.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pdu.h"
#include "t.h"

#define ITERATIONS 6000
#define MAX_BATCH 40

static uint64_t rng_state;

static uint64_t rnd(void)
{
    /* splitmix64 */
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Uniform in [lo, hi]. */
static size_t rnd_in(size_t lo, size_t hi)
{
    return lo + (size_t)(rnd() % (uint64_t)(hi - lo + 1));
}

static int chance(unsigned percent)
{
    return rnd() % 100 < percent;
}

/* A length in [lo, hi], often at an edge, usually short. */
static size_t rnd_len(size_t lo, size_t hi)
{
    unsigned c = (unsigned)(rnd() % 10);
    if (c == 0) return lo;
    if (c == 1) return hi;
    if (c == 2) return rnd_in(lo, hi);
    return rnd_in(lo, hi - lo > 24 ? lo + 24 : hi);
}

static uint64_t rnd_u64(void)
{
    switch (rnd() % 6) {
    case 0: return rnd() % 256;
    case 1: return UINT64_MAX - rnd() % 3;
    case 2: return (uint64_t)1 << (rnd() % 64);
    case 3: return rnd() >> (rnd() % 64);
    default: return rnd();
    }
}

/* ---- an arena for generated strings and domains, reset per PDU ---- */

static unsigned char arena[1 << 20];
static size_t arena_used;

static unsigned char *take(size_t n)
{
    unsigned char *p;
    if (n > sizeof arena - arena_used) {
        fprintf(stderr, "roundtrip: arena exhausted\n");
        exit(2);
    }
    p = arena + arena_used;
    arena_used += n;
    return p;
}

/* One UTF-8 character of at most room octets into p; returns its size.
 * Never C0 controls or DEL; C1 controls (U+0080..U+009F) included. */
static size_t rnd_char(unsigned char *p, size_t room, int ascii_only)
{
    unsigned kind = ascii_only ? 0 : (unsigned)(rnd() % 8);
    uint32_t cp;
    if (kind >= 4 || room < 2) kind = 0;
    else if (kind == 3 && room < 4) kind = room >= 3 ? 2 : 1;
    else if (kind == 2 && room < 3) kind = 1;
    switch (kind) {
    case 0:
        p[0] = (unsigned char)rnd_in(0x20, 0x7e);
        return 1;
    case 1:
        cp = chance(40) ? (uint32_t)rnd_in(0x80, 0x9f) : (uint32_t)rnd_in(0xa0, 0x7ff);
        p[0] = (unsigned char)(0xc0 | cp >> 6);
        p[1] = (unsigned char)(0x80 | (cp & 0x3f));
        return 2;
    case 2:
        do cp = (uint32_t)rnd_in(0x800, 0xffff);
        while (cp >= 0xd800 && cp <= 0xdfff);
        p[0] = (unsigned char)(0xe0 | cp >> 12);
        p[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
        p[2] = (unsigned char)(0x80 | (cp & 0x3f));
        return 3;
    default:
        cp = (uint32_t)rnd_in(0x10000, 0x10ffff);
        p[0] = (unsigned char)(0xf0 | cp >> 18);
        p[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
        p[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
        p[3] = (unsigned char)(0x80 | (cp & 0x3f));
        return 4;
    }
}

/* Valid UTF-8 of exactly n octets. */
static void fill_utf8(unsigned char *p, size_t n, int ascii_only)
{
    size_t i = 0;
    while (i < n) i += rnd_char(p + i, n - i, ascii_only);
}

static struct pdu_str rnd_str(size_t lo, size_t hi)
{
    struct pdu_str s;
    unsigned char *p;
    s.len = rnd_len(lo, hi);
    p = take(s.len ? s.len : 1);
    fill_utf8(p, s.len, chance(30));
    s.p = p;
    return s;
}

static struct pdu_str rnd_account(void)
{
    static const char set[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-";
    struct pdu_str s;
    unsigned char *p;
    size_t i;
    s.len = rnd_len(1, PDU_MAX_ACCOUNT);
    p = take(s.len);
    for (i = 0; i < s.len; i++) p[i] = (unsigned char)set[rnd() % (sizeof set - 1)];
    s.p = p;
    return s;
}

/* DomainName contents: label TLVs, within every limit of section 2. */
static void rnd_domain(struct pdu_domain *d)
{
    size_t text = 0, n = 0, want, len = 0;
    unsigned char *p;

    if (chance(3)) {
        want = PDU_MAX_LABELS; /* 127 one-octet labels: 253 with dots */
    } else {
        want = rnd_in(1, 6);
    }
    p = take(2 * PDU_MAX_LABELS + PDU_MAX_DOMAIN_TEXT);
    while (n < want) {
        size_t sep = n ? 1 : 0, room, l;
        if (text + sep >= PDU_MAX_DOMAIN_TEXT) break;
        room = PDU_MAX_DOMAIN_TEXT - text - sep;
        if (want == PDU_MAX_LABELS) l = 1;
        else l = rnd_len(1, PDU_MAX_LABEL);
        if (l > room) l = room;
        p[len++] = DER_T_IM2000_UTF8;
        p[len++] = (unsigned char)l;
        fill_utf8(p + len, l, chance(50));
        len += l;
        text += l + (n ? 1 : 0);
        n++;
    }
    d->p = p;
    d->len = len;
    d->nlabels = (unsigned)n;
}

static void rnd_ip(struct pdu_ipport *a)
{
    size_t i;
    memset(a->ip, 0, sizeof a->ip);
    a->v6 = chance(50);
    for (i = 0; i < (a->v6 ? 16u : 4u); i++) a->ip[i] = (unsigned char)rnd();
    a->port = (uint16_t)(chance(10) ? (chance(50) ? 0 : 65535) : rnd());
}

static void rnd_loc(struct pdu_loc *l)
{
    memset(l, 0, sizeof *l);
    if (chance(50)) {
        unsigned i;
        l->kind = PDU_LOC_LITERALS;
        l->nlit = (unsigned)rnd_len(1, PDU_MAX_LITERALS);
        for (i = 0; i < l->nlit; i++) rnd_ip(&l->lit[i]);
    } else {
        l->kind = PDU_LOC_DOMAIN;
        rnd_domain(&l->domain);
    }
}

static void rnd_notif(struct pdu_notif *n)
{
    size_t i;
    memset(n, 0, sizeof *n);
    rnd_loc(&n->clear);
    if (chance(50)) rnd_loc(&n->ssl);
    else n->ssl.kind = PDU_LOC_NONE;
    n->localpart = rnd_str(1, PDU_MAX_LOCALPART);
    rnd_domain(&n->rdomain);
    for (i = 0; i < PDU_ID_LEN; i++) n->id[i] = (unsigned char)rnd();
    n->sender = rnd_str(0, PDU_MAX_SENDER);
    n->has_size = chance(50);
    n->size = n->has_size ? rnd_u64() : 0;
}

static void rnd_nald(struct pdu_nald *x)
{
    memset(x, 0, sizeof *x);
    rnd_notif(&x->n);
    rnd_ip(&x->submitter.addr);
    x->submitter.has_domain = chance(50);
    if (x->submitter.has_domain) rnd_domain(&x->submitter.domain);
    x->date = rnd_u64();
}

/* ---- exact equality of decoded and generated values ---- */

static int str_eq(const struct pdu_str *a, const struct pdu_str *b)
{
    return a->len == b->len && (a->len == 0 || memcmp(a->p, b->p, a->len) == 0);
}

static int dom_eq(const struct pdu_domain *a, const struct pdu_domain *b)
{
    return a->len == b->len && a->nlabels == b->nlabels &&
           memcmp(a->p, b->p, a->len) == 0;
}

static int ip_eq(const struct pdu_ipport *a, const struct pdu_ipport *b)
{
    return a->v6 == b->v6 && a->port == b->port &&
           memcmp(a->ip, b->ip, a->v6 ? 16 : 4) == 0;
}

static int loc_eq(const struct pdu_loc *a, const struct pdu_loc *b)
{
    unsigned i;
    if (a->kind != b->kind) return 0;
    if (a->kind == PDU_LOC_DOMAIN) return dom_eq(&a->domain, &b->domain);
    if (a->kind == PDU_LOC_NONE) return 1;
    if (a->nlit != b->nlit) return 0;
    for (i = 0; i < a->nlit; i++)
        if (!ip_eq(&a->lit[i], &b->lit[i])) return 0;
    return 1;
}

static int notif_eq(const struct pdu_notif *a, const struct pdu_notif *b)
{
    return loc_eq(&a->clear, &b->clear) && loc_eq(&a->ssl, &b->ssl) &&
           str_eq(&a->localpart, &b->localpart) &&
           dom_eq(&a->rdomain, &b->rdomain) &&
           memcmp(a->id, b->id, PDU_ID_LEN) == 0 &&
           str_eq(&a->sender, &b->sender) && a->has_size == b->has_size &&
           (!a->has_size || a->size == b->size);
}

static int nald_eq(const struct pdu_nald *a, const struct pdu_nald *b)
{
    return notif_eq(&a->n, &b->n) && ip_eq(&a->submitter.addr, &b->submitter.addr) &&
           a->submitter.has_domain == b->submitter.has_domain &&
           (!a->submitter.has_domain ||
            dom_eq(&a->submitter.domain, &b->submitter.domain)) &&
           a->date == b->date;
}

/* ---- one generated PDU ---- */

enum kind {
    K_SP_NOTIFY, K_SP_NULL, K_SP_RNOTIFY, K_QP_AUTH, K_QP_RETRIEVE,
    K_QP_NULL, K_QP_RAUTH, K_QP_RRETRIEVE, K_COUNT
};
static const char *const kind_name[K_COUNT] = {
    "RNASP CommandNotify", "RNASP ResponseNull", "RNASP ResponseNotify",
    "RNAQP CommandAuthenticate", "RNAQP CommandRetrieveAndClear",
    "RNAQP ResponseNull", "RNAQP ResponseAuthenticate",
    "RNAQP ResponseRetrieveAndClear",
};

struct gen {
    enum kind k;
    int forceabort;
    uint32_t status;
    size_t count;
    struct pdu_notif notifs[MAX_BATCH];
    struct pdu_nald nalds[MAX_BATCH];
    int has_rejected;
    uint32_t rejected[MAX_BATCH];
    struct pdu_str account, password;
};

struct stats {
    unsigned made, decoded, fields, same, single;
};

static struct stats st[K_COUNT];
static unsigned long first_bad = ~0UL;

static void generate(struct gen *g)
{
    size_t i;
    g->k = (enum kind)(rnd() % K_COUNT);
    g->forceabort = chance(50);
    g->status = (uint32_t)(chance(70) ? rnd() % 11 : rnd_u64());
    g->count = chance(5) ? rnd_in(0, MAX_BATCH) : rnd_in(0, 4);
    switch (g->k) {
    case K_SP_NOTIFY:
        for (i = 0; i < g->count; i++) rnd_notif(&g->notifs[i]);
        break;
    case K_QP_RRETRIEVE:
        for (i = 0; i < g->count; i++) rnd_nald(&g->nalds[i]);
        break;
    case K_SP_RNOTIFY: {
        uint64_t v = rnd() % 3;
        g->has_rejected = chance(70);
        for (i = 0; i < g->count; i++) {
            g->rejected[i] = (uint32_t)v;
            v += 1 + (chance(80) ? rnd() % 10 : rnd() % 0x10000000);
            if (v > UINT32_MAX) {
                g->count = i + 1;
                break;
            }
        }
        if (!g->has_rejected) g->count = 0;
        break;
    }
    case K_QP_AUTH:
        g->account = rnd_account();
        g->password = rnd_str(1, PDU_MAX_PASSWORD);
        break;
    default:
        break;
    }
}

static void encode(struct der_w *w, const struct gen *g)
{
    size_t i;
    switch (g->k) {
    case K_SP_NOTIFY:
        pdu_enc_cmd_notify_begin(w);
        for (i = 0; i < g->count; i++) pdu_put_notif(w, &g->notifs[i]);
        pdu_enc_cmd_notify_end(w);
        break;
    case K_QP_RRETRIEVE:
        pdu_enc_resp_retrieve_begin(w, g->forceabort, g->status);
        for (i = 0; i < g->count; i++) pdu_put_nald(w, &g->nalds[i]);
        pdu_enc_resp_retrieve_end(w);
        break;
    case K_SP_RNOTIFY:
        pdu_enc_resp_notify(w, g->forceabort, g->status,
                            g->has_rejected ? g->rejected : NULL, g->count);
        break;
    case K_QP_AUTH:
        pdu_enc_cmd_auth(w, &g->account, &g->password);
        break;
    case K_QP_RETRIEVE:
        pdu_enc_cmd_retrieve(w);
        break;
    case K_SP_NULL:
    case K_QP_NULL:
        pdu_enc_resp_empty(w, g->forceabort, g->status, 0);
        break;
    case K_QP_RAUTH:
        pdu_enc_resp_empty(w, g->forceabort, g->status, 1);
        break;
    default:
        break;
    }
}

static int is_command(enum kind k)
{
    return k == K_SP_NOTIFY || k == K_QP_AUTH || k == K_QP_RETRIEVE;
}

static enum pdu_proto proto_of(enum kind k)
{
    return k <= K_SP_RNOTIFY ? PDU_RNASP : PDU_RNAQP;
}

static const enum pdu_kind want_kind[K_COUNT] = {
    PDU_CMD_NOTIFY, PDU_RESP_NULL, PDU_RESP_NOTIFY, PDU_CMD_AUTH,
    PDU_CMD_RETRIEVE, PDU_RESP_NULL, PDU_RESP_AUTH, PDU_RESP_RETRIEVE,
};

/* Do the decoded fields equal the generated ones? */
static int fields_equal(const struct gen *g, const struct pdu *m)
{
    struct pdu_iter it;
    size_t i;

    if (m->kind != want_kind[g->k]) return 0;
    if (!is_command(g->k) &&
        (m->forceabort != g->forceabort || m->status != g->status))
        return 0;
    pdu_iter_init(&it, &m->list);
    switch (g->k) {
    case K_SP_NOTIFY: {
        struct pdu_notif n;
        if (m->list.count != g->count) return 0;
        for (i = 0; i < g->count; i++)
            if (pdu_next_notif(&it, &n) != 1 || !notif_eq(&n, &g->notifs[i]))
                return 0;
        return pdu_next_notif(&it, &n) == 0;
    }
    case K_QP_RRETRIEVE: {
        struct pdu_nald x;
        if (m->list.count != g->count) return 0;
        for (i = 0; i < g->count; i++)
            if (pdu_next_nald(&it, &x) != 1 || !nald_eq(&x, &g->nalds[i]))
                return 0;
        return pdu_next_nald(&it, &x) == 0;
    }
    case K_SP_RNOTIFY: {
        uint64_t v;
        if (m->has_rejected != g->has_rejected) return 0;
        if (!g->has_rejected) return 1;
        if (m->list.count != g->count) return 0;
        for (i = 0; i < g->count; i++)
            if (pdu_next_uint(&it, &v) != 1 || v != g->rejected[i]) return 0;
        return pdu_next_uint(&it, &v) == 0;
    }
    case K_QP_AUTH:
        return str_eq(&m->account, &g->account) &&
               str_eq(&m->password, &g->password);
    case K_QP_RETRIEVE:
        return m->alt == 1;
    default:
        return 1;
    }
}

/* Each Notification / NALD on its own through pdu_decode_notif/_nald. */
static int singles_ok(const struct gen *g)
{
    struct der_w w;
    size_t i;
    int ok = 1;

    der_w_growing(&w, 1 << 20);
    for (i = 0; ok && i < g->count; i++) {
        der_w_reset(&w);
        if (g->k == K_SP_NOTIFY) {
            struct pdu_notif n;
            pdu_put_notif(&w, &g->notifs[i]);
            ok = !w.err && pdu_decode_notif(w.buf, w.len, &n) == PDU_OK &&
                 notif_eq(&n, &g->notifs[i]);
        } else if (g->k == K_QP_RRETRIEVE) {
            struct pdu_nald x;
            pdu_put_nald(&w, &g->nalds[i]);
            ok = !w.err && pdu_decode_nald(w.buf, w.len, &x) == PDU_OK &&
                 nald_eq(&x, &g->nalds[i]);
        }
    }
    der_w_free(&w);
    return ok;
}

static void note_bad(unsigned long iter, const char *what, const struct gen *g)
{
    if (first_bad == ~0UL) {
        first_bad = iter;
        fprintf(stderr, "roundtrip: iteration %lu (%s): %s\n", iter,
                kind_name[g->k], what);
    }
}

static struct gen g; /* large: keep it off the stack */

static void one(unsigned long iter)
{
    struct der_w w1, w2;
    struct pdu m;
    int r;
    struct stats *s;

    arena_used = 0;
    generate(&g);
    s = &st[g.k];
    s->made++;
    der_w_growing(&w1, 1 << 22);
    der_w_growing(&w2, 1 << 22);
    encode(&w1, &g);
    if (w1.err) {
        note_bad(iter, "encoder failed", &g);
        goto out;
    }
    r = is_command(g.k) ? pdu_decode_command(proto_of(g.k), w1.buf, w1.len, &m)
                        : pdu_decode_response(proto_of(g.k), w1.buf, w1.len, &m);
    if (r != PDU_OK) {
        note_bad(iter, "does not decode", &g);
        goto out;
    }
    s->decoded++;
    if (fields_equal(&g, &m)) s->fields++;
    else note_bad(iter, "decoded fields differ", &g);
    pdu_encode(&w2, &m);
    if (!w2.err && w2.len == w1.len && memcmp(w1.buf, w2.buf, w1.len) == 0)
        s->same++;
    else
        note_bad(iter, "re-encoding differs", &g);
    if (singles_ok(&g)) s->single++;
    else note_bad(iter, "a single Notification/NALD does not round-trip", &g);
out:
    der_w_free(&w1);
    der_w_free(&w2);
}

int main(void)
{
    const char *e = getenv("RNA_SEED");
    uint64_t seed = e && *e ? strtoull(e, NULL, 0) : 20260101;
    unsigned long i, total = 0;
    int k;

    rng_state = seed;
    printf("# roundtrip seed %llu (rerun with RNA_SEED=%llu)\n",
           (unsigned long long)seed, (unsigned long long)seed);
    for (i = 0; i < ITERATIONS; i++) one(i);
    for (k = 0; k < K_COUNT; k++) {
        const struct stats *s = &st[k];
        total += s->made;
        T_OK(s->made >= ITERATIONS / K_COUNT / 2,
             "%s: generated %u", kind_name[k], s->made);
        T_OK(s->decoded == s->made, "%s: all %u decode (%u did)", kind_name[k],
             s->made, s->decoded);
        T_OK(s->fields == s->made, "%s: decoded fields equal generated (%u/%u)",
             kind_name[k], s->fields, s->made);
        T_OK(s->same == s->made, "%s: re-encoding gives identical octets (%u/%u)",
             kind_name[k], s->same, s->made);
        if (k == K_SP_NOTIFY || k == K_QP_RRETRIEVE)
            T_OK(s->single == s->made,
                 "%s: each element round-trips alone (%u/%u)", kind_name[k],
                 s->single, s->made);
    }
    T_OK(total >= 5000, "%lu PDUs in all, seed %llu", total,
         (unsigned long long)seed);
    return t_done();
}
