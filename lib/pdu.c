/*
 * pdu: decoders and encoders for every PDU of PROTOCOL.md section 3.
 *
 * Shape of the decoders: each SEQUENCE level is read by seq_fields(),
 * which takes a table of the fields the module defines, in order, and
 * applies the extensibility rules of section 2: unknown tags are skipped
 * anywhere; a known tag must have its form, come in module order and not
 * twice; required fields must be there. CHOICEs tagged in the modules
 * are EXPLICIT: a constructed wrapper holding exactly one element.
 */
#include "pdu.h"

#include <errno.h>
#include <string.h>

#define CTX DER_CLASS_CONTEXT
#define UNI DER_CLASS_UNIVERSAL

struct field {
    unsigned char cls;
    unsigned char cons;
    unsigned char tag;
    unsigned char required;
};

#define MAX_FIELDS 6

static int bad(void)
{
    errno = EPROTO;
    return PDU_MALFORMED;
}

/* Read the elements of a SEQUENCE's contents into out[i] for field i;
 * have[i] says whether field i was present. */
static int seq_fields(const unsigned char *p, size_t len,
                      const struct field *f, unsigned nf,
                      struct der_tlv *out, unsigned char *have)
{
    struct der_cur c;
    unsigned next = 0; /* the first field index still allowed */
    unsigned i;

    memset(have, 0, nf);
    der_cur_init(&c, p, len);
    while (!der_cur_empty(&c)) {
        struct der_tlv t;
        if (der_get(&c, &t) < 0) return bad();
        for (i = 0; i < nf; i++)
            if (t.cls == f[i].cls && t.tag == f[i].tag) break;
        if (i == nf) continue; /* unknown: skipped */
        if (t.cons != f[i].cons) return bad();
        if (i < next) return bad(); /* duplicate, or out of order */
        out[i] = t;
        have[i] = 1;
        next = i + 1;
    }
    for (i = 0; i < nf; i++)
        if (f[i].required && !have[i]) return bad();
    return PDU_OK;
}

/* The one element inside an EXPLICIT wrapper. */
static int explicit_inner(const struct der_tlv *wrap, struct der_tlv *in)
{
    struct der_cur c;
    if (!wrap->cons) return bad();
    der_cur_init(&c, wrap->val, wrap->len);
    if (der_get(&c, in) < 0) return bad();
    if (!der_cur_empty(&c)) return bad();
    return PDU_OK;
}

/* ---- strings ---- */

int pdu_utf8_ok(const unsigned char *p, size_t len)
{
    size_t i = 0;
    while (i < len) {
        unsigned char b = p[i];
        uint32_t cp;
        size_t n, k;
        if (b < 0x80) {
            if (b < 0x20 || b == 0x7f) return 0;
            i++;
            continue;
        }
        if (b >= 0xc2 && b <= 0xdf) {
            n = 1;
            cp = b & 0x1f;
        } else if (b >= 0xe0 && b <= 0xef) {
            n = 2;
            cp = b & 0x0f;
        } else if (b >= 0xf0 && b <= 0xf4) {
            n = 3;
            cp = b & 0x07;
        } else {
            return 0;
        }
        if (n > len - i - 1) return 0;
        for (k = 1; k <= n; k++) {
            unsigned char cb = p[i + k];
            if ((cb & 0xc0) != 0x80) return 0;
            cp = (cp << 6) | (cb & 0x3f);
        }
        if (n == 2 && cp < 0x800) return 0;              /* overlong */
        if (n == 3 && (cp < 0x10000 || cp > 0x10ffff)) return 0;
        if (cp >= 0xd800 && cp <= 0xdfff) return 0;      /* surrogate */
        i += n + 1;
    }
    return 1;
}

int pdu_account_ok(const unsigned char *p, size_t len)
{
    size_t i;
    if (len < 1 || len > PDU_MAX_ACCOUNT) return 0;
    for (i = 0; i < len; i++) {
        unsigned char b = p[i];
        if (!((b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') ||
              (b >= '0' && b <= '9') || b == '.' || b == '_' || b == '-'))
            return 0;
    }
    return 1;
}

static int str_field(const struct der_tlv *t, size_t min, size_t max,
                     struct pdu_str *out)
{
    if (t->len < min || t->len > max) return bad();
    if (!pdu_utf8_ok(t->val, t->len)) return bad();
    out->p = t->val;
    out->len = t->len;
    return PDU_OK;
}

/* ---- domains ---- */

static int domain_contents(const unsigned char *p, size_t len,
                           struct pdu_domain *out)
{
    struct der_cur c;
    unsigned n = 0;
    size_t text = 0;

    der_cur_init(&c, p, len);
    while (!der_cur_empty(&c)) {
        struct der_tlv t;
        if (der_get(&c, &t) < 0) return bad();
        if (!der_is(&t, UNI, 0, DER_T_IM2000_UTF8)) return bad();
        if (t.len < 1 || t.len > PDU_MAX_LABEL) return bad();
        if (!pdu_utf8_ok(t.val, t.len)) return bad();
        if (++n > PDU_MAX_LABELS) return bad();
        text += t.len + (n > 1);
        if (text > PDU_MAX_DOMAIN_TEXT) return bad();
    }
    if (n == 0) return bad();
    out->p = p;
    out->len = len;
    out->nlabels = n;
    return PDU_OK;
}

static int domain_field(const struct der_tlv *t, struct pdu_domain *out)
{
    if (!t->cons) return bad();
    return domain_contents(t->val, t->len, out);
}

int pdu_domain_from_text(unsigned char *buf, size_t cap, const char *text,
                         size_t tlen, struct pdu_domain *out)
{
    struct der_w w;
    size_t i = 0;
    struct pdu_domain d;

    if (tlen == 0 || tlen > PDU_MAX_DOMAIN_TEXT) goto inval;
    der_w_fixed(&w, buf, cap);
    while (i <= tlen) {
        size_t j = i;
        while (j < tlen && text[j] != '.') j++;
        if (j == i) goto inval; /* empty label */
        der_w_prim(&w, DER_T_IM2000_UTF8, text + i, j - i);
        i = j + 1;
    }
    if (w.err) goto inval;
    if (domain_contents(buf, w.len, &d) != PDU_OK) goto inval;
    *out = d;
    return 0;
inval:
    errno = EINVAL;
    return -1;
}

struct pdu_str pdu_domain_label(const struct pdu_domain *d, unsigned i)
{
    struct der_cur c;
    struct der_tlv t;
    struct pdu_str s = {NULL, 0};
    unsigned k;

    der_cur_init(&c, d->p, d->len);
    for (k = 0; k <= i; k++) {
        if (der_get(&c, &t) < 0) return s;
    }
    s.p = t.val;
    s.len = t.len;
    return s;
}

static unsigned char lc(unsigned char b)
{
    return (b >= 'A' && b <= 'Z') ? (unsigned char)(b + 32) : b;
}

size_t pdu_domain_text(const struct pdu_domain *d, char *out, int lower)
{
    struct der_cur c;
    struct der_tlv t;
    size_t n = 0;
    size_t i;

    der_cur_init(&c, d->p, d->len);
    while (!der_cur_empty(&c) && der_get(&c, &t) == 0) {
        if (n) out[n++] = '.';
        for (i = 0; i < t.len; i++)
            out[n++] = (char)(lower ? lc(t.val[i]) : t.val[i]);
    }
    return n;
}

/* A validated DomainName's contents are label TLVs whose header octets
 * (0x16 and a length of at most 63) are unchanged by ASCII case folding,
 * so comparing the contents octet by octet, folded, compares the names. */
int pdu_domain_eq(const struct pdu_domain *a, const struct pdu_domain *b)
{
    size_t i;
    if (a->len != b->len) return 0;
    for (i = 0; i < a->len; i++)
        if (lc(a->p[i]) != lc(b->p[i])) return 0;
    return 1;
}

int pdu_loc_eq(const struct pdu_loc *a, const struct pdu_loc *b)
{
    unsigned i;
    if (a->kind != b->kind) return 0;
    if (a->kind == PDU_LOC_DOMAIN) return pdu_domain_eq(&a->domain, &b->domain);
    if (a->kind != PDU_LOC_LITERALS) return 1;
    if (a->nlit != b->nlit) return 0;
    for (i = 0; i < a->nlit; i++) {
        const struct pdu_ipport *x = &a->lit[i], *y = &b->lit[i];
        if (x->v6 != y->v6 || x->port != y->port) return 0;
        if (memcmp(x->ip, y->ip, x->v6 ? 16 : 4)) return 0;
    }
    return 1;
}

/* ---- addresses and locations ---- */

/* IPAddress inside its EXPLICIT wrapper. */
static int ipaddress(const struct der_tlv *wrap, struct pdu_ipport *a)
{
    struct der_tlv in;
    if (explicit_inner(wrap, &in) != PDU_OK) return bad();
    memset(a->ip, 0, sizeof a->ip);
    if (der_is(&in, CTX, 0, 0) && in.len == 4) {
        a->v6 = 0;
        memcpy(a->ip, in.val, 4);
    } else if (der_is(&in, CTX, 0, 1) && in.len == 16) {
        a->v6 = 1;
        memcpy(a->ip, in.val, 16);
    } else {
        return bad();
    }
    return PDU_OK;
}

static int port(const struct der_tlv *t, uint16_t *out)
{
    uint64_t v;
    if (der_uint(t, &v) < 0 || v > 65535) return bad();
    *out = (uint16_t)v;
    return PDU_OK;
}

static const struct field f_ipport[] = {
    {CTX, 1, 0, 1}, /* address [0] IPAddress (explicit) */
    {CTX, 0, 1, 1}, /* port [1] IMPLICIT PortNumber */
};

static int ipport(const struct der_tlv *t, struct pdu_ipport *a)
{
    struct der_tlv v[2];
    unsigned char have[2];
    if (!der_is(t, UNI, 1, DER_T_SEQUENCE)) return bad();
    if (seq_fields(t->val, t->len, f_ipport, 2, v, have) != PDU_OK) return bad();
    if (ipaddress(&v[0], a) != PDU_OK) return bad();
    return port(&v[1], &a->port);
}

/* ServiceLocation inside its EXPLICIT wrapper. */
static int location(const struct der_tlv *wrap, struct pdu_loc *l)
{
    struct der_tlv in;
    if (explicit_inner(wrap, &in) != PDU_OK) return bad();
    if (der_is(&in, CTX, 1, 0)) {
        struct der_cur c;
        l->kind = PDU_LOC_LITERALS;
        l->nlit = 0;
        der_cur_init(&c, in.val, in.len);
        while (!der_cur_empty(&c)) {
            struct der_tlv e;
            if (der_get(&c, &e) < 0) return bad();
            if (l->nlit >= PDU_MAX_LITERALS) return bad();
            if (ipport(&e, &l->lit[l->nlit]) != PDU_OK) return bad();
            l->nlit++;
        }
        if (l->nlit == 0) return bad();
        return PDU_OK;
    }
    if (der_is(&in, CTX, 1, 1)) {
        l->kind = PDU_LOC_DOMAIN;
        l->nlit = 0;
        return domain_contents(in.val, in.len, &l->domain);
    }
    return bad();
}

/* ---- Notification ---- */

static const struct field f_notif[] = {
    {CTX, 1, 0, 1}, /* storeclear */
    {CTX, 1, 1, 0}, /* storessl */
    {CTX, 1, 2, 1}, /* recipient */
    {CTX, 0, 3, 1}, /* identifier */
    {CTX, 0, 4, 1}, /* sender */
    {CTX, 0, 5, 0}, /* size */
};

static const struct field f_mailbox[] = {
    {CTX, 0, 0, 1}, /* localpart */
    {CTX, 1, 1, 1}, /* domain */
};

/* The elements of a Notification, given its contents. */
static int notif_contents(const unsigned char *p, size_t len,
                          struct pdu_notif *n)
{
    struct der_tlv v[6], m[2];
    unsigned char have[6], mhave[2];

    if (seq_fields(p, len, f_notif, 6, v, have) != PDU_OK) return bad();
    if (location(&v[0], &n->clear) != PDU_OK) return bad();
    n->ssl.kind = PDU_LOC_NONE;
    n->ssl.nlit = 0;
    if (have[1] && location(&v[1], &n->ssl) != PDU_OK) return bad();
    if (seq_fields(v[2].val, v[2].len, f_mailbox, 2, m, mhave) != PDU_OK)
        return bad();
    if (str_field(&m[0], 1, PDU_MAX_LOCALPART, &n->localpart) != PDU_OK)
        return bad();
    if (domain_field(&m[1], &n->rdomain) != PDU_OK) return bad();
    if (v[3].len != PDU_ID_LEN) return bad();
    memcpy(n->id, v[3].val, PDU_ID_LEN);
    if (str_field(&v[4], 0, PDU_MAX_SENDER, &n->sender) != PDU_OK)
        return bad();
    n->has_size = have[5];
    n->size = 0;
    if (have[5] && der_uint(&v[5], &n->size) < 0) return bad();
    return PDU_OK;
}

int pdu_decode_notif(const unsigned char *p, size_t len, struct pdu_notif *n)
{
    struct der_cur c;
    struct der_tlv t;
    struct pdu_notif tmp;
    der_cur_init(&c, p, len);
    if (der_get(&c, &t) < 0 || !der_cur_empty(&c)) return bad();
    if (!der_is(&t, UNI, 1, DER_T_SEQUENCE)) return bad();
    /* Decode into a local: a rejected input must leave *n untouched
     * (STYLE.md), and notif_contents() fills fields as it goes. */
    if (notif_contents(t.val, t.len, &tmp) != PDU_OK) return bad();
    *n = tmp;
    return PDU_OK;
}

/* ---- NotificationAndLocalData ---- */

static const struct field f_nald[] = {
    {CTX, 1, 0, 1}, /* notification [0] IMPLICIT Notification */
    {CTX, 1, 1, 1}, /* submitter [1] IMPLICIT ClientLocation */
    {CTX, 0, 2, 1}, /* date */
};

static const struct field f_client[] = {
    {CTX, 1, 0, 1}, /* address (explicit) */
    {CTX, 0, 1, 1}, /* port */
    {CTX, 1, 2, 0}, /* domain */
};

static int nald_tlv(const struct der_tlv *t, struct pdu_nald *x)
{
    struct der_tlv v[3], cl[3];
    unsigned char have[3], chave[3];

    if (!der_is(t, UNI, 1, DER_T_SEQUENCE)) return bad();
    if (seq_fields(t->val, t->len, f_nald, 3, v, have) != PDU_OK) return bad();
    if (notif_contents(v[0].val, v[0].len, &x->n) != PDU_OK) return bad();
    if (seq_fields(v[1].val, v[1].len, f_client, 3, cl, chave) != PDU_OK)
        return bad();
    if (ipaddress(&cl[0], &x->submitter.addr) != PDU_OK) return bad();
    if (port(&cl[1], &x->submitter.addr.port) != PDU_OK) return bad();
    x->submitter.has_domain = chave[2];
    if (chave[2] && domain_field(&cl[2], &x->submitter.domain) != PDU_OK)
        return bad();
    if (der_uint(&v[2], &x->date) < 0) return bad();
    return PDU_OK;
}

int pdu_decode_nald(const unsigned char *p, size_t len, struct pdu_nald *x)
{
    struct der_cur c;
    struct der_tlv t;
    struct pdu_nald tmp;
    der_cur_init(&c, p, len);
    if (der_get(&c, &t) < 0 || !der_cur_empty(&c)) return bad();
    /* As in pdu_decode_notif: nothing reaches *x unless all of it is good. */
    if (nald_tlv(&t, &tmp) != PDU_OK) return bad();
    *x = tmp;
    return PDU_OK;
}

/* ---- lists ---- */

void pdu_iter_init(struct pdu_iter *it, const struct pdu_list *l)
{
    der_cur_init(&it->c, l->p, l->len);
}

int pdu_next_notif(struct pdu_iter *it, struct pdu_notif *n)
{
    struct der_tlv t;
    if (der_cur_empty(&it->c)) return 0;
    if (der_get(&it->c, &t) < 0) return -1;
    if (!der_is(&t, UNI, 1, DER_T_SEQUENCE)) return -1;
    if (notif_contents(t.val, t.len, n) != PDU_OK) return -1;
    return 1;
}

int pdu_next_nald(struct pdu_iter *it, struct pdu_nald *x)
{
    struct der_tlv t;
    if (der_cur_empty(&it->c)) return 0;
    if (der_get(&it->c, &t) < 0) return -1;
    if (nald_tlv(&t, x) != PDU_OK) return -1;
    return 1;
}

int pdu_next_uint(struct pdu_iter *it, uint64_t *v)
{
    struct der_tlv t;
    if (der_cur_empty(&it->c)) return 0;
    if (der_get(&it->c, &t) < 0) return -1;
    if (!der_is(&t, UNI, 0, DER_T_INTEGER)) return -1;
    if (der_uint(&t, v) < 0) return -1;
    return 1;
}

/* Validate every element of a SEQUENCE OF with next(); count them. */
static int list_notifs(const struct der_tlv *t, size_t max, struct pdu_list *l)
{
    struct pdu_iter it;
    struct pdu_notif n;
    int r;

    l->p = t->val;
    l->len = t->len;
    l->count = 0;
    pdu_iter_init(&it, l);
    while ((r = pdu_next_notif(&it, &n)) == 1)
        if (++l->count > max) return bad();
    return r == 0 ? PDU_OK : bad();
}

static int list_nalds(const struct der_tlv *t, struct pdu_list *l)
{
    struct pdu_iter it;
    struct pdu_nald x;
    int r;

    l->p = t->val;
    l->len = t->len;
    l->count = 0;
    pdu_iter_init(&it, l);
    while ((r = pdu_next_nald(&it, &x)) == 1) l->count++;
    return r == 0 ? PDU_OK : bad();
}

/* rejected: strictly ascending positions, each within uint32_t. */
static int list_rejected(const struct der_tlv *t, struct pdu_list *l)
{
    struct pdu_iter it;
    uint64_t v, prev = 0;
    int r;

    l->p = t->val;
    l->len = t->len;
    l->count = 0;
    pdu_iter_init(&it, l);
    while ((r = pdu_next_uint(&it, &v)) == 1) {
        if (v > UINT32_MAX) return bad();
        if (l->count && v <= prev) return bad();
        prev = v;
        l->count++;
    }
    return r == 0 ? PDU_OK : bad();
}

/* ---- commands ---- */

static const struct field f_command[] = {
    {CTX, 1, 0, 1}, /* commanddata [0] CHOICE (explicit) */
};
static const struct field f_list0[] = {
    {CTX, 1, 0, 1}, /* [0] IMPLICIT SEQUENCE OF ... */
};
static const struct field f_auth[] = {
    {CTX, 0, 0, 1}, /* account */
    {CTX, 0, 1, 1}, /* password */
};

/* An empty SEQUENCE: only unknown elements may stand in it. */
static int empty_seq(const struct der_tlv *t)
{
    struct der_tlv v[1];
    unsigned char have[1];
    if (!t->cons) return bad();
    return seq_fields(t->val, t->len, NULL, 0, v, have);
}

int pdu_decode_command(enum pdu_proto proto, const unsigned char *p,
                       size_t len, struct pdu *out)
{
    struct der_cur c;
    struct der_tlv top, v[2], alt;
    unsigned char have[2];
    struct pdu m;

    memset(&m, 0, sizeof m);
    der_cur_init(&c, p, len);
    if (der_get(&c, &top) < 0 || !der_cur_empty(&c)) return bad();
    if (top.cls == CTX && top.tag == 2 && top.cons) return PDU_NOTCOMMAND;
    if (!der_is(&top, CTX, 1, 1)) return bad();
    if (seq_fields(top.val, top.len, f_command, 1, v, have) != PDU_OK)
        return bad();
    if (explicit_inner(&v[0], &alt) != PDU_OK) return bad();
    if (alt.cls != CTX) return bad();
    m.alt = alt.tag;
    if (proto == PDU_RNASP && alt.tag == 0) {
        if (!alt.cons) return bad();
        if (seq_fields(alt.val, alt.len, f_list0, 1, v, have) != PDU_OK)
            return bad();
        if (list_notifs(&v[0], PDU_MAX_NOTIFS, &m.list) != PDU_OK) return bad();
        m.kind = PDU_CMD_NOTIFY;
    } else if (proto == PDU_RNAQP && alt.tag == 0) {
        if (!alt.cons) return bad();
        if (seq_fields(alt.val, alt.len, f_auth, 2, v, have) != PDU_OK)
            return bad();
        if (!pdu_account_ok(v[0].val, v[0].len)) return bad();
        m.account.p = v[0].val;
        m.account.len = v[0].len;
        if (str_field(&v[1], 1, PDU_MAX_PASSWORD, &m.password) != PDU_OK)
            return bad();
        m.kind = PDU_CMD_AUTH;
    } else if (proto == PDU_RNAQP && alt.tag == 1) {
        if (empty_seq(&alt) != PDU_OK) return bad();
        m.kind = PDU_CMD_RETRIEVE;
    } else {
        out->alt = alt.tag;
        return PDU_UNKNOWNCMD;
    }
    *out = m;
    return PDU_OK;
}

/* ---- responses ---- */

static const struct field f_response[] = {
    {CTX, 0, 0, 1}, /* forceabort */
    {CTX, 0, 1, 1}, /* status */
    {CTX, 1, 2, 1}, /* responsedata (explicit) */
};
static const struct field f_respnotify[] = {
    {CTX, 1, 0, 0}, /* rejected OPTIONAL */
};

int pdu_decode_response(enum pdu_proto proto, const unsigned char *p,
                        size_t len, struct pdu *out)
{
    struct der_cur c;
    struct der_tlv top, v[3], alt, l[1];
    unsigned char have[3], lhave[1];
    uint64_t st;
    struct pdu m;

    memset(&m, 0, sizeof m);
    der_cur_init(&c, p, len);
    if (der_get(&c, &top) < 0 || !der_cur_empty(&c)) return bad();
    if (top.cls == CTX && top.tag == 1 && top.cons) return PDU_NOTRESPONSE;
    if (!der_is(&top, CTX, 1, 2)) return bad();
    if (seq_fields(top.val, top.len, f_response, 3, v, have) != PDU_OK)
        return bad();
    if (der_bool(&v[0], &m.forceabort) < 0) return bad();
    if (der_uint(&v[1], &st) < 0 || st > UINT32_MAX) return bad();
    m.status = (uint32_t)st;
    if (explicit_inner(&v[2], &alt) != PDU_OK) return bad();
    if (alt.cls != CTX || !alt.cons) return bad();
    m.alt = alt.tag;
    if (alt.tag == 0) {
        if (empty_seq(&alt) != PDU_OK) return bad();
        m.kind = PDU_RESP_NULL;
    } else if (alt.tag == 1 && proto == PDU_RNASP) {
        if (seq_fields(alt.val, alt.len, f_respnotify, 1, l, lhave) != PDU_OK)
            return bad();
        m.has_rejected = lhave[0];
        if (lhave[0] && list_rejected(&l[0], &m.list) != PDU_OK) return bad();
        m.kind = PDU_RESP_NOTIFY;
    } else if (alt.tag == 1 && proto == PDU_RNAQP) {
        if (empty_seq(&alt) != PDU_OK) return bad();
        m.kind = PDU_RESP_AUTH;
    } else if (alt.tag == 2 && proto == PDU_RNAQP) {
        if (seq_fields(alt.val, alt.len, f_list0, 1, l, lhave) != PDU_OK)
            return bad();
        if (list_nalds(&l[0], &m.list) != PDU_OK) return bad();
        m.kind = PDU_RESP_RETRIEVE;
    } else {
        return bad();
    }
    *out = m;
    return PDU_OK;
}

/* ---- encoding ---- */

static void put_ipaddress(struct der_w *w, unsigned char wraptag,
                          const struct pdu_ipport *a)
{
    der_w_open(w, (unsigned char)(CTX | DER_CONSTRUCTED | wraptag));
    if (a->v6) der_w_prim(w, CTX | 1, a->ip, 16);
    else der_w_prim(w, CTX | 0, a->ip, 4);
    der_w_close(w);
}

static void put_loc(struct der_w *w, unsigned char wraptag,
                    const struct pdu_loc *l)
{
    unsigned i;
    der_w_open(w, (unsigned char)(CTX | DER_CONSTRUCTED | wraptag));
    if (l->kind == PDU_LOC_LITERALS) {
        der_w_open(w, CTX | DER_CONSTRUCTED | 0);
        for (i = 0; i < l->nlit; i++) {
            der_w_open(w, UNI | DER_CONSTRUCTED | DER_T_SEQUENCE);
            put_ipaddress(w, 0, &l->lit[i]);
            der_w_uint(w, CTX | 1, l->lit[i].port);
            der_w_close(w);
        }
        der_w_close(w);
    } else {
        der_w_prim(w, CTX | DER_CONSTRUCTED | 1, l->domain.p, l->domain.len);
    }
    der_w_close(w);
}

static void notif_elements(struct der_w *w, const struct pdu_notif *n)
{
    put_loc(w, 0, &n->clear);
    if (n->ssl.kind != PDU_LOC_NONE) put_loc(w, 1, &n->ssl);
    der_w_open(w, CTX | DER_CONSTRUCTED | 2);
    der_w_prim(w, CTX | 0, n->localpart.p, n->localpart.len);
    der_w_prim(w, CTX | DER_CONSTRUCTED | 1, n->rdomain.p, n->rdomain.len);
    der_w_close(w);
    der_w_prim(w, CTX | 3, n->id, PDU_ID_LEN);
    der_w_prim(w, CTX | 4, n->sender.p, n->sender.len);
    if (n->has_size) der_w_uint(w, CTX | 5, n->size);
}

void pdu_put_notif(struct der_w *w, const struct pdu_notif *n)
{
    der_w_open(w, UNI | DER_CONSTRUCTED | DER_T_SEQUENCE);
    notif_elements(w, n);
    der_w_close(w);
}

void pdu_put_submitter(struct der_w *w, const struct pdu_client *c)
{
    der_w_open(w, CTX | DER_CONSTRUCTED | 1);
    put_ipaddress(w, 0, &c->addr);
    der_w_uint(w, CTX | 1, c->addr.port);
    if (c->has_domain)
        der_w_prim(w, CTX | DER_CONSTRUCTED | 2, c->domain.p, c->domain.len);
    der_w_close(w);
}

void pdu_put_nald(struct der_w *w, const struct pdu_nald *x)
{
    der_w_open(w, UNI | DER_CONSTRUCTED | DER_T_SEQUENCE);
    der_w_open(w, CTX | DER_CONSTRUCTED | 0);
    notif_elements(w, &x->n);
    der_w_close(w);
    pdu_put_submitter(w, &x->submitter);
    der_w_uint(w, CTX | 2, x->date);
    der_w_close(w);
}

/* Command { commanddata [0] { [alt] ... } } */
static void cmd_open(struct der_w *w, unsigned alt)
{
    der_w_open(w, CTX | DER_CONSTRUCTED | 1);
    der_w_open(w, CTX | DER_CONSTRUCTED | 0);
    der_w_open(w, (unsigned char)(CTX | DER_CONSTRUCTED | alt));
}

static void close_n(struct der_w *w, unsigned n)
{
    while (n--) der_w_close(w);
}

void pdu_enc_cmd_notify_begin(struct der_w *w)
{
    cmd_open(w, 0);
    der_w_open(w, CTX | DER_CONSTRUCTED | 0);
}

void pdu_enc_cmd_notify_end(struct der_w *w)
{
    close_n(w, 4);
}

void pdu_enc_cmd_auth(struct der_w *w, const struct pdu_str *account,
                      const struct pdu_str *password)
{
    cmd_open(w, 0);
    der_w_prim(w, CTX | 0, account->p, account->len);
    der_w_prim(w, CTX | 1, password->p, password->len);
    close_n(w, 3);
}

void pdu_enc_cmd_retrieve(struct der_w *w)
{
    cmd_open(w, 1);
    close_n(w, 3);
}

/* Response { forceabort, status, responsedata [2] { [alt] ... } } */
static void resp_open(struct der_w *w, int forceabort, uint32_t status,
                      unsigned alt)
{
    der_w_open(w, CTX | DER_CONSTRUCTED | 2);
    der_w_bool(w, CTX | 0, forceabort);
    der_w_uint(w, CTX | 1, status);
    der_w_open(w, CTX | DER_CONSTRUCTED | 2);
    der_w_open(w, (unsigned char)(CTX | DER_CONSTRUCTED | alt));
}

void pdu_enc_resp_empty(struct der_w *w, int forceabort, uint32_t status,
                        unsigned alt)
{
    resp_open(w, forceabort, status, alt);
    close_n(w, 3);
}

void pdu_enc_resp_notify(struct der_w *w, int forceabort, uint32_t status,
                         const uint32_t *rejected, size_t nrejected)
{
    size_t i;
    resp_open(w, forceabort, status, 1);
    if (rejected) {
        der_w_open(w, CTX | DER_CONSTRUCTED | 0);
        for (i = 0; i < nrejected; i++)
            der_w_uint(w, UNI | DER_T_INTEGER, rejected[i]);
        der_w_close(w);
    }
    close_n(w, 3);
}

void pdu_enc_resp_retrieve_begin(struct der_w *w, int forceabort,
                                 uint32_t status)
{
    resp_open(w, forceabort, status, 2);
    der_w_open(w, CTX | DER_CONSTRUCTED | 0);
}

void pdu_enc_resp_retrieve_end(struct der_w *w)
{
    close_n(w, 4);
}

void pdu_encode(struct der_w *w, const struct pdu *m)
{
    struct pdu_iter it;

    pdu_iter_init(&it, &m->list);
    switch (m->kind) {
    case PDU_CMD_NOTIFY: {
        struct pdu_notif n;
        pdu_enc_cmd_notify_begin(w);
        while (pdu_next_notif(&it, &n) == 1) pdu_put_notif(w, &n);
        pdu_enc_cmd_notify_end(w);
        break;
    }
    case PDU_CMD_AUTH:
        pdu_enc_cmd_auth(w, &m->account, &m->password);
        break;
    case PDU_CMD_RETRIEVE:
        pdu_enc_cmd_retrieve(w);
        break;
    case PDU_RESP_NULL:
        pdu_enc_resp_empty(w, m->forceabort, m->status, 0);
        break;
    case PDU_RESP_AUTH:
        pdu_enc_resp_empty(w, m->forceabort, m->status, 1);
        break;
    case PDU_RESP_NOTIFY: {
        uint64_t v;
        resp_open(w, m->forceabort, m->status, 1);
        if (m->has_rejected) {
            der_w_open(w, CTX | DER_CONSTRUCTED | 0);
            while (pdu_next_uint(&it, &v) == 1)
                der_w_uint(w, UNI | DER_T_INTEGER, v);
            der_w_close(w);
        }
        close_n(w, 3);
        break;
    }
    case PDU_RESP_RETRIEVE: {
        struct pdu_nald x;
        pdu_enc_resp_retrieve_begin(w, m->forceabort, m->status);
        while (pdu_next_nald(&it, &x) == 1) pdu_put_nald(w, &x);
        pdu_enc_resp_retrieve_end(w);
        break;
    }
    default:
        if (!w->err) w->err = EINVAL;
    }
}

const char *pdu_status_name(enum pdu_proto proto, uint32_t status)
{
    switch (status) {
    case 0: return "noerror";
    case 1: return "errormalformedpdu";
    case 2: return "errorcommandtimeout";
    case 3: return "errornotauthenticated";
    case 4: return "errorunexpectedcommand";
    case 5: return "errorserviceshutdown";
    case 6: return "errorinternalproblem";
    case 7: return proto == PDU_RNAQP ? "errorauthenticationfailed" : NULL;
    case 9: return proto == PDU_RNASP ? "errorwouldexceedquota" : NULL;
    case 10: return proto == PDU_RNASP ? "errornosuchmailbox" : NULL;
    default: return NULL;
    }
}
