/*
 * der: strict DER reading, simple DER writing. See der.h for ownership.
 *
 * Invariant of the reader: c->p <= c->end always; every advance is by a
 * count already compared with (size_t)(c->end - c->p).
 */
#include "der.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void der_cur_init(struct der_cur *c, const unsigned char *p, size_t len)
{
    c->p = p;
    /* NULL + 0 is undefined in C: an empty list of a decoded PDU that has
     * none (ResponseNull's, say) reaches here as (NULL, 0). */
    c->end = len ? p + len : p;
}

int der_cur_empty(const struct der_cur *c)
{
    return c->p == c->end;
}

static int bad(void)
{
    errno = EPROTO;
    return -1;
}

int der_peek(const struct der_cur *c, struct der_tlv *t)
{
    const unsigned char *p = c->p;
    size_t left = (size_t)(c->end - c->p);
    unsigned char id;
    uint32_t tag;
    size_t len;

    if (left < 2) return bad();
    id = *p++;
    left--;
    tag = id & 0x1f;
    if (tag == 0x1f) {
        /* High tag number form: base-128, no leading 0x80 octet, and only
         * for numbers that do not fit the low form (X.690 8.1.2.4). We
         * keep numbers below 2^28 so the shift cannot overflow. */
        unsigned n = 0;
        tag = 0;
        for (;;) {
            unsigned char b;
            if (left == 0) return bad();
            b = *p++;
            left--;
            if (n == 0 && b == 0x80) return bad();
            if (++n > 4) return bad();
            tag = (tag << 7) | (b & 0x7f);
            if (!(b & 0x80)) break;
        }
        if (tag < 0x1f) return bad();
    }
    if (left == 0) return bad();
    {
        unsigned char l = *p++;
        left--;
        if (l < 0x80) {
            len = l;
        } else if (l == 0x80 || l == 0xff) {
            return bad(); /* indefinite, or reserved */
        } else {
            unsigned n = l & 0x7f;
            unsigned i;
            if (n > sizeof(size_t) || n > left) return bad();
            if (p[0] == 0) return bad(); /* leading zero: not minimal */
            len = 0;
            for (i = 0; i < n; i++) len = (len << 8) | p[i];
            p += n;
            left -= n;
            if (len < 0x80) return bad(); /* short form was due */
        }
    }
    if (len > left) return bad();
    t->cls = id & 0xc0;
    t->cons = (id & DER_CONSTRUCTED) ? 1 : 0;
    t->tag = tag;
    t->val = p;
    t->len = len;
    return 0;
}

int der_get(struct der_cur *c, struct der_tlv *t)
{
    struct der_tlv x;
    if (der_peek(c, &x) < 0) return -1;
    *t = x;
    c->p = x.val + x.len;
    return 0;
}

int der_is(const struct der_tlv *t, unsigned char cls, int cons, uint32_t tag)
{
    return t->cls == cls && t->cons == (cons ? 1 : 0) && t->tag == tag;
}

int der_uint(const struct der_tlv *t, uint64_t *out)
{
    const unsigned char *p = t->val;
    size_t n = t->len;
    uint64_t v = 0;
    size_t i;

    if (t->cons || n == 0) return bad();
    if (p[0] & 0x80) return bad(); /* negative */
    if (n > 1 && p[0] == 0 && !(p[1] & 0x80)) return bad(); /* not minimal */
    if (p[0] == 0 && n > 1) {
        p++;
        n--;
    }
    if (n > 8) return bad();
    for (i = 0; i < n; i++) v = (v << 8) | p[i];
    *out = v;
    return 0;
}

int der_bool(const struct der_tlv *t, int *out)
{
    if (t->cons || t->len != 1) return bad();
    if (t->val[0] == 0x00) *out = 0;
    else if (t->val[0] == 0xff) *out = 1;
    else return bad();
    return 0;
}

/* ---- writer ---- */

void der_w_fixed(struct der_w *w, unsigned char *buf, size_t cap)
{
    w->buf = buf;
    w->len = 0;
    w->cap = cap;
    w->max = 0;
    w->err = 0;
    w->depth = 0;
}

void der_w_growing(struct der_w *w, size_t max)
{
    der_w_fixed(w, NULL, 0);
    w->max = max;
}

void der_w_free(struct der_w *w)
{
    if (w->max) free(w->buf);
    w->buf = NULL;
    w->cap = 0;
    w->len = 0;
}

void der_w_reset(struct der_w *w)
{
    w->len = 0;
    w->err = 0;
    w->depth = 0;
}

/* Make room for n more octets. */
static int room(struct der_w *w, size_t n)
{
    size_t need, cap;
    unsigned char *nb;

    if (w->err) return -1;
    if (n <= w->cap - w->len) return 0;
    if (!w->max || __builtin_add_overflow(w->len, n, &need) || need > w->max) {
        w->err = w->max ? E2BIG : ENOSPC;
        return -1;
    }
    cap = w->cap ? w->cap : 256;
    while (cap < need) {
        if (__builtin_mul_overflow(cap, 2, &cap)) {
            cap = need;
            break;
        }
    }
    if (cap > w->max) cap = w->max;
    nb = realloc(w->buf, cap);
    if (!nb) {
        w->err = ENOMEM;
        return -1;
    }
    w->buf = nb;
    w->cap = cap;
    return 0;
}

void der_w_raw(struct der_w *w, const void *p, size_t n)
{
    if (room(w, n) < 0) return;
    if (n) memcpy(w->buf + w->len, p, n);
    w->len += n;
}

size_t der_len_size(size_t n)
{
    size_t s = 1;
    if (n < 0x80) return 1;
    while (n) {
        s++;
        n >>= 8;
    }
    return s;
}

size_t der_put_len(unsigned char *p, size_t n)
{
    size_t s = der_len_size(n), k = s;
    if (s == 1) {
        p[0] = (unsigned char)n;
        return 1;
    }
    p[0] = (unsigned char)(0x80 | (s - 1));
    while (--k) {
        p[k] = (unsigned char)(n & 0xff);
        n >>= 8;
    }
    return s;
}

int der_w_reserve(struct der_w *w, size_t n)
{
    return room(w, n);
}

void der_w_prim(struct der_w *w, unsigned char ident, const void *p, size_t n)
{
    size_t ls = der_len_size(n);
    if (room(w, 1 + ls) < 0) return;
    w->buf[w->len] = ident;
    der_put_len(w->buf + w->len + 1, n);
    w->len += 1 + ls;
    der_w_raw(w, p, n);
}

void der_w_uint(struct der_w *w, unsigned char ident, uint64_t v)
{
    unsigned char b[9];
    size_t n = 0;
    int i;
    int started = 0;

    for (i = 7; i >= 0; i--) {
        unsigned char o = (unsigned char)(v >> (8 * i));
        if (!started && o == 0 && i > 0) continue;
        if (!started && (o & 0x80)) b[n++] = 0; /* keep it non-negative */
        started = 1;
        b[n++] = o;
    }
    der_w_prim(w, ident, b, n);
}

void der_w_bool(struct der_w *w, unsigned char ident, int v)
{
    unsigned char b = v ? 0xff : 0x00;
    der_w_prim(w, ident, &b, 1);
}

void der_w_open(struct der_w *w, unsigned char ident)
{
    if (w->err) return;
    if (w->depth >= DER_W_DEPTH) {
        w->err = EOVERFLOW;
        return;
    }
    if (room(w, 2) < 0) return;
    w->buf[w->len++] = ident;
    w->open[w->depth++] = w->len;
    w->buf[w->len++] = 0; /* one length octet reserved */
}

void der_w_close(struct der_w *w)
{
    size_t at, n, ls;

    if (w->err) return;
    if (w->depth == 0) {
        w->err = EINVAL;
        return;
    }
    at = w->open[--w->depth];
    n = w->len - at - 1;
    ls = der_len_size(n);
    if (ls > 1) {
        if (room(w, ls - 1) < 0) return;
        memmove(w->buf + at + ls, w->buf + at + 1, n);
        w->len += ls - 1;
    }
    der_put_len(w->buf + at, n);
}
