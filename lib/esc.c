/*
 * esc: see esc.h. The escaper walks the input one unit at a time (an
 * ASCII octet, a whole valid UTF-8 sequence, or one stray octet) and
 * appends that unit only if all of it fits, so a truncated result is
 * still a valid escaped text of a prefix of the input.
 */
#include "esc.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

static const char hexdig[] = "0123456789abcdef";

/* Length of the valid UTF-8 sequence (2..4 octets) starting at p[0] (a
 * non-ASCII octet), with its code point in *cp; 0 if it is not one. The
 * rules are those of pdu_utf8_ok: no overlong forms, no surrogates,
 * nothing above U+10FFFF. */
static size_t utf8_seq(const unsigned char *p, size_t left, uint32_t *cp)
{
    unsigned char b = p[0];
    uint32_t c;
    size_t n, k;

    if (b >= 0xc2 && b <= 0xdf) {
        n = 2;
        c = b & 0x1f;
    } else if (b >= 0xe0 && b <= 0xef) {
        n = 3;
        c = b & 0x0f;
    } else if (b >= 0xf0 && b <= 0xf4) {
        n = 4;
        c = b & 0x07;
    } else {
        return 0;
    }
    if (n > left) return 0;
    for (k = 1; k < n; k++) {
        if ((p[k] & 0xc0) != 0x80) return 0;
        c = (c << 6) | (p[k] & 0x3f);
    }
    if (n == 3 && c < 0x800) return 0;
    if (n == 4 && (c < 0x10000 || c > 0x10ffff)) return 0;
    if (c >= 0xd800 && c <= 0xdfff) return 0;
    *cp = c;
    return n;
}

/* Code points shown as escaped octets although they are valid UTF-8:
 * C1 controls, and the invisible characters that reorder or break a
 * displayed line (a log reader must see them, not obey them). */
static int cp_hidden(uint32_t c)
{
    return (c >= 0x80 && c <= 0x9f) || c == 0x061c || c == 0x200e ||
           c == 0x200f || (c >= 0x2028 && c <= 0x202e) ||
           (c >= 0x2066 && c <= 0x2069) || c == 0xfeff;
}

struct sink {
    char *out;
    size_t cap;   /* characters available, excluding the NUL */
    size_t used;  /* characters written */
    size_t total; /* characters of the whole escaped text */
    int full;     /* a unit did not fit: write nothing more */
};

static void put_unit(struct sink *s, const char *u, size_t n)
{
    s->total += n;
    if (s->full) return;
    if (n > s->cap - s->used) {
        s->full = 1;
        return;
    }
    memcpy(s->out + s->used, u, n);
    s->used += n;
}

/* Octets p[0..n) each as \xHH, as one unit (n <= 4). */
static void put_hex(struct sink *s, const unsigned char *p, size_t n)
{
    char u[16];
    size_t i;
    for (i = 0; i < n; i++) {
        u[4 * i] = '\\';
        u[4 * i + 1] = 'x';
        u[4 * i + 2] = hexdig[p[i] >> 4];
        u[4 * i + 3] = hexdig[p[i] & 15];
    }
    put_unit(s, u, 4 * n);
}

size_t esc_str_also(char *out, size_t cap, const unsigned char *p, size_t len,
                    const char *also)
{
    struct sink s;
    size_t i = 0;

    s.out = out;
    s.cap = cap ? cap - 1 : 0;
    s.used = 0;
    s.total = 0;
    s.full = cap == 0;
    while (i < len) {
        unsigned char b = p[i];
        uint32_t c;
        size_t n;

        if (b < 0x80) {
            if (b == '\\' || b == '"') {
                char u[2];
                u[0] = '\\';
                u[1] = (char)b;
                put_unit(&s, u, 2);
            } else if (b < 0x20 || b == 0x7f ||
                       (b != 0 && also && strchr(also, b))) {
                put_hex(&s, p + i, 1);
            } else {
                put_unit(&s, (const char *)p + i, 1);
            }
            i++;
            continue;
        }
        n = utf8_seq(p + i, len - i, &c);
        if (n == 0) {
            put_hex(&s, p + i, 1); /* a stray octet; resync on the next */
            i++;
        } else {
            if (cp_hidden(c)) put_hex(&s, p + i, n);
            else put_unit(&s, (const char *)p + i, n);
            i += n;
        }
    }
    if (cap) out[s.used] = '\0';
    return s.total;
}

size_t esc_str(char *out, size_t cap, const unsigned char *p, size_t len)
{
    return esc_str_also(out, cap, p, len, NULL);
}

static int hexval(char ch)
{
    if (ch >= '0' && ch <= '9') return ch - '0';
    if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
    return -1;
}

/* One pass over s: count the octets (out NULL) or store them. The text
 * was already checked when out is not NULL. */
static int unstr_pass(unsigned char *out, const char *s, size_t slen,
                      size_t *n)
{
    size_t i = 0, k = 0;
    while (i < slen) {
        unsigned char ch = (unsigned char)s[i];
        unsigned char b;
        if (ch < 0x20 || ch == 0x7f || ch == '"') return -1;
        if (ch != '\\') {
            b = ch;
            i++;
        } else {
            if (slen - i < 2) return -1;
            if (s[i + 1] == '\\' || s[i + 1] == '"') {
                b = (unsigned char)s[i + 1];
                i += 2;
            } else if (s[i + 1] == 'x') {
                int hi, lo;
                if (slen - i < 4) return -1;
                hi = hexval(s[i + 2]);
                lo = hexval(s[i + 3]);
                if (hi < 0 || lo < 0) return -1;
                b = (unsigned char)(hi * 16 + lo);
                i += 4;
            } else {
                return -1;
            }
        }
        if (out) out[k] = b;
        k++;
    }
    *n = k;
    return 0;
}

int esc_unstr(unsigned char *out, size_t cap, const char *s, size_t slen,
              size_t *outlen)
{
    size_t n;
    if (unstr_pass(NULL, s, slen, &n) < 0) {
        errno = EINVAL;
        return -1;
    }
    if (n > cap) {
        errno = ENOSPC;
        return -1;
    }
    unstr_pass(out, s, slen, &n);
    *outlen = n;
    return 0;
}
