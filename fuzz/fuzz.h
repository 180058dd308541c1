/*
 * Shared oracle of the libFuzzer targets (fuzz/NAME.c, built and run by
 * `make fuzz`).
 *
 * When a decoder accepts an input, the decoded value must:
 *  - walk: every list yields exactly list.count elements with pdu_next_*,
 *    then 0, never -1;
 *  - re-encode without error, to at most as many octets as the input
 *    (DER is minimal and the decoders enforce it, so only skipped unknown
 *    extension elements can make the input longer), and to exactly the
 *    input when it is as long;
 *  - decode again to equal fields, and encode again to identical octets.
 * Any failure abort()s, which libFuzzer reports as a crash.
 */
#ifndef RNA_FUZZ_H
#define RNA_FUZZ_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pdu.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_WMAX (4u << 20)

static inline int fz_str_eq(const struct pdu_str *a, const struct pdu_str *b)
{
    return a->len == b->len && (a->len == 0 || memcmp(a->p, b->p, a->len) == 0);
}

static inline int fz_dom_eq(const struct pdu_domain *a, const struct pdu_domain *b)
{
    return a->len == b->len && a->nlabels == b->nlabels &&
           memcmp(a->p, b->p, a->len) == 0;
}

static inline int fz_ip_eq(const struct pdu_ipport *a, const struct pdu_ipport *b)
{
    return a->v6 == b->v6 && a->port == b->port &&
           memcmp(a->ip, b->ip, a->v6 ? 16 : 4) == 0;
}

static inline int fz_loc_eq(const struct pdu_loc *a, const struct pdu_loc *b)
{
    unsigned i;
    if (a->kind != b->kind) return 0;
    if (a->kind == PDU_LOC_DOMAIN) return fz_dom_eq(&a->domain, &b->domain);
    if (a->kind != PDU_LOC_LITERALS) return 1;
    if (a->nlit != b->nlit || a->nlit == 0 || a->nlit > PDU_MAX_LITERALS) return 0;
    for (i = 0; i < a->nlit; i++)
        if (!fz_ip_eq(&a->lit[i], &b->lit[i])) return 0;
    /* the library's own comparison must agree */
    return pdu_loc_eq(a, b);
}

static inline int fz_notif_eq(const struct pdu_notif *a, const struct pdu_notif *b)
{
    return fz_loc_eq(&a->clear, &b->clear) && fz_loc_eq(&a->ssl, &b->ssl) &&
           a->clear.kind != PDU_LOC_NONE &&
           fz_str_eq(&a->localpart, &b->localpart) &&
           fz_dom_eq(&a->rdomain, &b->rdomain) &&
           memcmp(a->id, b->id, PDU_ID_LEN) == 0 &&
           fz_str_eq(&a->sender, &b->sender) && a->has_size == b->has_size &&
           (!a->has_size || a->size == b->size);
}

static inline int fz_nald_eq(const struct pdu_nald *a, const struct pdu_nald *b)
{
    return fz_notif_eq(&a->n, &b->n) &&
           fz_ip_eq(&a->submitter.addr, &b->submitter.addr) &&
           a->submitter.has_domain == b->submitter.has_domain &&
           (!a->submitter.has_domain ||
            fz_dom_eq(&a->submitter.domain, &b->submitter.domain)) &&
           a->date == b->date;
}

/* Checks every decoded domain with the text helpers: the dotted text is
 * within the limit and converts back to the same contents. */
static inline void fz_domain_check(const struct pdu_domain *d)
{
    char text[PDU_MAX_DOMAIN_TEXT];
    unsigned char back[PDU_DOMAIN_DER_MAX];
    struct pdu_domain e;
    size_t n = pdu_domain_text(d, text, 0), dots = 0, i;
    if (n > PDU_MAX_DOMAIN_TEXT || d->nlabels < 1 || d->nlabels > PDU_MAX_LABELS)
        abort();
    for (i = 0; i < n; i++) dots += text[i] == '.';
    if (dots != d->nlabels - 1) return; /* a label holds a dot: no way back */
    if (pdu_domain_from_text(back, sizeof back, text, n, &e) < 0) abort();
    if (!fz_dom_eq(&e, d) || !pdu_domain_eq(&e, d)) abort();
}

static inline void fz_notif_check(const struct pdu_notif *n)
{
    fz_domain_check(&n->rdomain);
    if (n->clear.kind == PDU_LOC_DOMAIN) fz_domain_check(&n->clear.domain);
    if (n->ssl.kind == PDU_LOC_DOMAIN) fz_domain_check(&n->ssl.domain);
    if (!pdu_utf8_ok(n->localpart.p, n->localpart.len) ||
        !pdu_utf8_ok(n->sender.p, n->sender.len))
        abort();
}

/* Walk a's list (and b's alongside, when given), comparing elements. */
static inline void fz_walk(const struct pdu *a, const struct pdu *b)
{
    struct pdu_iter ia, ib;
    size_t n = 0;
    int ra, rb;

    pdu_iter_init(&ia, &a->list);
    if (b) pdu_iter_init(&ib, &b->list);
    for (;;) {
        if (a->kind == PDU_CMD_NOTIFY) {
            struct pdu_notif x, y;
            ra = pdu_next_notif(&ia, &x);
            rb = b ? pdu_next_notif(&ib, &y) : ra;
            if (ra == 1) fz_notif_check(&x);
            if (ra == 1 && b && rb == 1 && !fz_notif_eq(&x, &y)) abort();
        } else if (a->kind == PDU_RESP_RETRIEVE) {
            struct pdu_nald x, y;
            ra = pdu_next_nald(&ia, &x);
            rb = b ? pdu_next_nald(&ib, &y) : ra;
            if (ra == 1) fz_notif_check(&x.n);
            if (ra == 1 && x.submitter.has_domain)
                fz_domain_check(&x.submitter.domain);
            if (ra == 1 && b && rb == 1 && !fz_nald_eq(&x, &y)) abort();
        } else if (a->kind == PDU_RESP_NOTIFY && a->has_rejected) {
            uint64_t x, y;
            ra = pdu_next_uint(&ia, &x);
            rb = b ? pdu_next_uint(&ib, &y) : ra;
            if (ra == 1 && b && rb == 1 && x != y) abort();
        } else {
            return;
        }
        if (ra != rb || ra < 0) abort();
        if (ra == 0) break;
        n++;
    }
    if (n != a->list.count) abort();
}

static inline int fz_pdu_eq(const struct pdu *a, const struct pdu *b)
{
    if (a->kind != b->kind || a->alt != b->alt) return 0;
    if (a->kind >= PDU_RESP_NULL &&
        (a->forceabort != b->forceabort || a->status != b->status))
        return 0;
    if (a->kind == PDU_RESP_NOTIFY && a->has_rejected != b->has_rejected) return 0;
    if (a->list.count != b->list.count) return 0;
    if (a->kind == PDU_CMD_AUTH &&
        (!fz_str_eq(&a->account, &b->account) ||
         !fz_str_eq(&a->password, &b->password) ||
         !pdu_account_ok(a->account.p, a->account.len)))
        return 0;
    return 1;
}

static inline int fz_decode(int command, enum pdu_proto proto,
                            const unsigned char *p, size_t n, struct pdu *m)
{
    return command ? pdu_decode_command(proto, p, n, m)
                   : pdu_decode_response(proto, p, n, m);
}

/* The whole oracle for one command or response decoder. */
static inline void fz_pdu(int command, enum pdu_proto proto,
                          const uint8_t *data, size_t size)
{
    struct pdu m, m2;
    struct der_w w1, w2;
    int r;

    memset(&m, 0, sizeof m);
    r = fz_decode(command, proto, data, size, &m);
    if (r == PDU_UNKNOWNCMD && !command) abort();
    if ((r == PDU_NOTCOMMAND && !command) || (r == PDU_NOTRESPONSE && command))
        abort();
    if (r != PDU_OK) return;
    if (command != (m.kind == PDU_CMD_NOTIFY || m.kind == PDU_CMD_AUTH ||
                    m.kind == PDU_CMD_RETRIEVE))
        abort();
    fz_walk(&m, NULL);

    der_w_growing(&w1, FUZZ_WMAX);
    der_w_growing(&w2, FUZZ_WMAX);
    pdu_encode(&w1, &m);
    if (w1.err || w1.depth) abort();
    if (w1.len > size) abort();
    if (w1.len == size && memcmp(w1.buf, data, size) != 0) abort();
    if (fz_decode(command, proto, w1.buf, w1.len, &m2) != PDU_OK) abort();
    if (!fz_pdu_eq(&m, &m2)) abort();
    fz_walk(&m, &m2);
    pdu_encode(&w2, &m2);
    if (w2.err || w2.len != w1.len || memcmp(w1.buf, w2.buf, w1.len) != 0)
        abort();
    der_w_free(&w1);
    der_w_free(&w2);
}

#endif
