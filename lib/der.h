/*
 * der: a strict reader and a small writer for the subset of X.690 DER the
 * IM2000 PDUs use (PROTOCOL.md section 2).
 *
 * Reading: a cursor over caller-owned bytes. der_get() takes exactly one
 * TLV from the cursor and points into the input; nothing is copied or
 * allocated. Every length is compared with what remains of its container
 * before it is used. Rejected: indefinite lengths, non-minimal length
 * octets, lengths past the container, non-minimal high tag numbers.
 *
 * Writing: struct der_w appends to a caller buffer (or, with a growth
 * limit, a malloc'd one that doubles). Constructed elements are opened and
 * closed; der_w_close() patches the length, moving the contents when the
 * length needs more than one octet. Any failure (out of room, nesting too
 * deep) sets w->err and makes every later call a no-op, so an encoder can
 * run to the end and check once.
 */
#ifndef RNA_DER_H
#define RNA_DER_H

#include <stddef.h>
#include <stdint.h>

#define DER_CLASS_UNIVERSAL 0x00
#define DER_CLASS_CONTEXT 0x80
#define DER_CONSTRUCTED 0x20

/* Universal tag numbers we meet. */
#define DER_T_BOOLEAN 1
#define DER_T_INTEGER 2
#define DER_T_OCTETSTRING 4
#define DER_T_ENUMERATED 10
#define DER_T_UTF8STRING_X680 12 /* the real UTF8String; wrong here */
#define DER_T_SEQUENCE 16
#define DER_T_IM2000_UTF8 22 /* the IM2000 modules' [UNIVERSAL 22] */

/* Nesting the writer supports; the PDUs need fewer than 12 levels. */
#define DER_W_DEPTH 16

struct der_cur {
    const unsigned char *p;
    const unsigned char *end;
};

struct der_tlv {
    unsigned char cls;   /* DER_CLASS_* (the two high bits of the tag) */
    unsigned char cons;  /* 1 if constructed */
    uint32_t tag;        /* tag number */
    const unsigned char *val; /* contents, inside the input */
    size_t len;          /* contents length */
};

void der_cur_init(struct der_cur *c, const unsigned char *p, size_t len);
int der_cur_empty(const struct der_cur *c);
/* Take one TLV. 0 on success; -1 (errno EPROTO) on malformed input, with
 * the cursor and *t untouched. */
int der_get(struct der_cur *c, struct der_tlv *t);
/* Peek at the next TLV without consuming it. Same results as der_get. */
int der_peek(const struct der_cur *c, struct der_tlv *t);
/* Does t carry exactly this class, form and number? */
int der_is(const struct der_tlv *t, unsigned char cls, int cons, uint32_t tag);

/* Contents of an INTEGER-like element, DER-minimal and non-negative,
 * within uint64_t. -1 (EPROTO) otherwise. */
int der_uint(const struct der_tlv *t, uint64_t *out);
/* BOOLEAN contents: exactly one octet, 0x00 or 0xFF. */
int der_bool(const struct der_tlv *t, int *out);

struct der_w {
    unsigned char *buf;
    size_t len;
    size_t cap;
    size_t max;          /* growth limit; 0 means the buffer is fixed */
    int err;             /* 0, or an errno value (ENOMEM, ENOSPC, E2BIG) */
    unsigned depth;
    size_t open[DER_W_DEPTH]; /* offset of each open element's length octet */
};

/* Fixed buffer: never grows. */
void der_w_fixed(struct der_w *w, unsigned char *buf, size_t cap);
/* Growing buffer: starts empty, doubles up to max octets. Free with
 * der_w_free(). */
void der_w_growing(struct der_w *w, size_t max);
void der_w_free(struct der_w *w);
void der_w_reset(struct der_w *w); /* len = 0, err = 0, depth = 0 */

void der_w_raw(struct der_w *w, const void *p, size_t n);
/* A primitive element with the given identifier octet and contents. */
void der_w_prim(struct der_w *w, unsigned char ident, const void *p, size_t n);
void der_w_uint(struct der_w *w, unsigned char ident, uint64_t v);
void der_w_bool(struct der_w *w, unsigned char ident, int v);
void der_w_open(struct der_w *w, unsigned char ident);
void der_w_close(struct der_w *w);
/* Octets needed to encode a length of n. */
size_t der_len_size(size_t n);
/* Write the length octets of n at p (der_len_size(n) of them); returns
 * how many. For callers that assemble headers around contents they send
 * without copying. */
size_t der_put_len(unsigned char *p, size_t n);
/* Make room for n more octets now (one allocation instead of several
 * doublings). 0, or -1 with w->err set. */
int der_w_reserve(struct der_w *w, size_t n);

#endif
