/*
 * lib/der: the strict reader (lengths, tags, INTEGER, BOOLEAN) and the
 * writer (length patching, nesting, fixed and growing buffers).
 * PROTOCOL.md section 2; X.690 8.1 and 10.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "der.h"
#include "t.h"

/* Parse hex, then take one TLV with der_get. Returns der_get's result;
 * *t and *rest (octets left after it) are filled on success. */
static int get_hex(const char *hex, unsigned char *buf, size_t cap,
                   struct der_tlv *t, size_t *rest)
{
    struct der_cur c;
    long n = t_unhex(hex, buf, cap);
    int r;
    if (n < 0) return -2;
    der_cur_init(&c, buf, (size_t)n);
    r = der_get(&c, t);
    if (r == 0 && rest) *rest = (size_t)(c.end - c.p);
    return r;
}

static int ok_hex(const char *hex)
{
    unsigned char buf[512];
    struct der_tlv t;
    return get_hex(hex, buf, sizeof buf, &t, NULL) == 0;
}

static void lengths(void)
{
    unsigned char buf[70000];
    struct der_tlv t;
    size_t rest = 99;
    struct der_cur c;
    int r;

    r = get_hex("04 03 61 62 63", buf, sizeof buf, &t, &rest);
    T_OK(r == 0 && t.len == 3 && t.val == buf + 2 && rest == 0 &&
             t.cls == DER_CLASS_UNIVERSAL && !t.cons && t.tag == 4,
         "der_get reads a short-form length");
    T_OK(ok_hex("04 00"), "der_get reads a zero length");
    T_OK(ok_hex("04 7f") == 0, "der_get rejects length 127 with no contents");

    /* 0x81 0x80: smallest value that needs the long form */
    memset(buf, 0, sizeof buf);
    buf[0] = 0x04;
    buf[1] = 0x81;
    buf[2] = 0x80;
    der_cur_init(&c, buf, 3 + 0x80);
    T_OK(der_get(&c, &t) == 0 && t.len == 0x80 && t.val == buf + 3 &&
             der_cur_empty(&c),
         "der_get reads a long-form length 81 80");
    buf[1] = 0x82;
    buf[2] = 0x01;
    buf[3] = 0x00;
    der_cur_init(&c, buf, 4 + 256);
    T_OK(der_get(&c, &t) == 0 && t.len == 256 && der_cur_empty(&c),
         "der_get reads a long-form length 82 01 00");
    buf[1] = 0x83;
    buf[2] = 0x01;
    buf[3] = 0x00;
    buf[4] = 0x00;
    der_cur_init(&c, buf, 5 + 65536);
    T_OK(der_get(&c, &t) == 0 && t.len == 65536 && der_cur_empty(&c),
         "der_get reads a long-form length 83 01 00 00");

    T_OK(!ok_hex("04 81 05 0102030405"),
         "der_get rejects 81 05 (long form for a short length)");
    T_OK(!ok_hex("04 81 7f"), "der_get rejects 81 7f (long form below 128)");
    buf[1] = 0x82;
    buf[2] = 0x00;
    buf[3] = 0x90;
    der_cur_init(&c, buf, 4 + 0x90);
    T_OK(der_get(&c, &t) < 0, "der_get rejects 82 00 90 (leading zero octet)");
    buf[1] = 0x82;
    buf[2] = 0x00;
    buf[3] = 0x05;
    der_cur_init(&c, buf, 4 + 5);
    T_OK(der_get(&c, &t) < 0, "der_get rejects 82 00 05");
    T_OK(!ok_hex("30 80 0400 0000"), "der_get rejects indefinite length 80");
    T_OK(!ok_hex("04 ff 00"), "der_get rejects reserved length octet ff");
    T_OK(!ok_hex("04 89 010000000000000000"),
         "der_get rejects a length of 9 octets");
    T_OK(!ok_hex("04 84 ffffffff 00"),
         "der_get rejects 84 ffffffff past its container");
    T_OK(!ok_hex("04 82 01"), "der_get rejects length octets cut short");

    T_OK(!ok_hex("04 03 6162"), "der_get rejects a length past the container");
    T_OK(!ok_hex("04"), "der_get rejects a lone identifier octet");
    T_OK(!ok_hex(""), "der_get rejects empty input");

    {
        struct der_cur c2;
        unsigned char b[8];
        long n = t_unhex("04 05 616263", b, sizeof b);
        const unsigned char *p0;
        der_cur_init(&c2, b, (size_t)n);
        p0 = c2.p;
        memset(&t, 0x5a, sizeof t);
        errno = 0;
        r = der_get(&c2, &t);
        T_OK(r == -1 && errno == EPROTO && c2.p == p0 && t.len ==
                 (size_t)0x5a5a5a5a5a5a5a5aULL,
             "der_get failure sets EPROTO and leaves cursor and tlv alone");
    }
    {
        /* a TLV inside a cursor that ends early: the container bound, not
         * the buffer, limits it */
        unsigned char b[8];
        long n = t_unhex("04 03 616263", b, sizeof b);
        struct der_cur c2;
        (void)n;
        der_cur_init(&c2, b, 4);
        T_OK(der_get(&c2, &t) < 0,
             "der_get respects the cursor's end, not the buffer's");
    }
}

static void tags(void)
{
    unsigned char buf[64];
    struct der_tlv t;
    int r;

    r = get_hex("a5 00", buf, sizeof buf, &t, NULL);
    T_OK(r == 0 && t.cls == DER_CLASS_CONTEXT && t.cons && t.tag == 5,
         "der_get splits class, form and number (a5)");
    r = get_hex("9e 00", buf, sizeof buf, &t, NULL);
    T_OK(r == 0 && t.cls == DER_CLASS_CONTEXT && !t.cons && t.tag == 30,
         "der_get reads low tag number 30");
    r = get_hex("16 01 61", buf, sizeof buf, &t, NULL);
    T_OK(r == 0 && der_is(&t, DER_CLASS_UNIVERSAL, 0, DER_T_IM2000_UTF8),
         "der_is matches universal 22 primitive");
    T_OK(!der_is(&t, DER_CLASS_UNIVERSAL, 1, DER_T_IM2000_UTF8),
         "der_is tells primitive from constructed");
    T_OK(!der_is(&t, DER_CLASS_CONTEXT, 0, DER_T_IM2000_UTF8),
         "der_is tells universal from context");
    r = get_hex("c3 00", buf, sizeof buf, &t, NULL);
    T_OK(r == 0 && t.cls == 0xc0 && t.tag == 3, "der_get reads private class");

    r = get_hex("9f 1f 00", buf, sizeof buf, &t, NULL);
    T_OK(r == 0 && t.tag == 31 && !t.cons, "der_get reads high tag 31 (9f 1f)");
    r = get_hex("bf 81 00 00", buf, sizeof buf, &t, NULL);
    T_OK(r == 0 && t.tag == 128 && t.cons && t.cls == DER_CLASS_CONTEXT,
         "der_get reads high tag 128 (bf 81 00)");
    r = get_hex("9f ff ff ff 7f 00", buf, sizeof buf, &t, NULL);
    T_OK(r == 0 && t.tag == 0x0fffffff, "der_get reads 4-octet tag 2^28-1");
    T_OK(!ok_hex("9f 81 80 80 80 00 00"), "der_get rejects a 5-octet tag number");
    T_OK(!ok_hex("9f 80 81 00 00"), "der_get rejects high tag with leading 80");
    T_OK(!ok_hex("9f 1e 00"), "der_get rejects tag 30 in high form");
    T_OK(!ok_hex("9f 00 00"), "der_get rejects tag 0 in high form");
    T_OK(!ok_hex("9f 81"), "der_get rejects high tag cut short");
    T_OK(!ok_hex("9f 81 01"), "der_get rejects high tag with no length");
}

static int uint_hex(const char *hex, uint64_t *v)
{
    unsigned char buf[32];
    struct der_tlv t;
    if (get_hex(hex, buf, sizeof buf, &t, NULL) < 0) return -9;
    return der_uint(&t, v);
}

static void integers(void)
{
    uint64_t v = 7;

    T_OK(uint_hex("02 01 00", &v) == 0 && v == 0, "der_uint reads 0");
    T_OK(uint_hex("02 01 7f", &v) == 0 && v == 127, "der_uint reads 127");
    T_OK(uint_hex("02 02 0080", &v) == 0 && v == 128,
         "der_uint reads 128 with its needed leading zero");
    T_OK(uint_hex("02 02 0100", &v) == 0 && v == 256, "der_uint reads 256");
    T_OK(uint_hex("02 02 0005", &v) < 0, "der_uint rejects non-minimal 00 05");
    T_OK(uint_hex("02 03 000080", &v) < 0, "der_uint rejects non-minimal 00 00 80");
    T_OK(uint_hex("02 01 80", &v) < 0, "der_uint rejects negative 80");
    T_OK(uint_hex("02 01 ff", &v) < 0, "der_uint rejects negative ff");
    T_OK(uint_hex("02 02 ff7f", &v) < 0, "der_uint rejects negative ff 7f");
    T_OK(uint_hex("02 09 00ffffffffffffffff", &v) == 0 && v == UINT64_MAX,
         "der_uint reads 2^64-1 as 00 ff*8");
    T_OK(uint_hex("02 08 7fffffffffffffff", &v) == 0 && v == INT64_MAX,
         "der_uint reads 2^63-1");
    T_OK(uint_hex("02 09 010000000000000000", &v) < 0, "der_uint rejects 2^64");
    T_OK(uint_hex("02 0a 00ff0000000000000000", &v) < 0,
         "der_uint rejects 10 octets");
    T_OK(uint_hex("02 00", &v) < 0, "der_uint rejects empty contents");
    T_OK(uint_hex("22 01 05", &v) < 0, "der_uint rejects constructed form");
    v = 42;
    uint_hex("02 01 80", &v);
    T_OK(v == 42, "der_uint leaves its output alone on failure");
}

static int bool_hex(const char *hex, int *b)
{
    unsigned char buf[16];
    struct der_tlv t;
    if (get_hex(hex, buf, sizeof buf, &t, NULL) < 0) return -9;
    return der_bool(&t, b);
}

static void booleans(void)
{
    int b = 5;
    T_OK(bool_hex("01 01 00", &b) == 0 && b == 0, "der_bool reads 00 as false");
    T_OK(bool_hex("01 01 ff", &b) == 0 && b == 1, "der_bool reads ff as true");
    T_OK(bool_hex("01 01 01", &b) < 0, "der_bool rejects 01");
    T_OK(bool_hex("01 01 7f", &b) < 0, "der_bool rejects 7f");
    T_OK(bool_hex("01 00", &b) < 0, "der_bool rejects empty contents");
    T_OK(bool_hex("01 02 ffff", &b) < 0, "der_bool rejects two octets");
    T_OK(bool_hex("21 01 ff", &b) < 0, "der_bool rejects constructed form");
}

/* Open ident, write n content octets, close; check the result decodes back
 * to exactly one TLV of that length with the minimal length octets. */
static void patch_at(size_t n)
{
    struct der_w w;
    unsigned char *content = malloc(n ? n : 1);
    struct der_cur c;
    struct der_tlv t;
    size_t i;
    int ok;

    for (i = 0; i < n; i++) content[i] = (unsigned char)(i * 7 + 1);
    der_w_growing(&w, 1 << 20);
    der_w_raw(&w, "\x99", 1); /* something before, to move around */
    der_w_open(&w, 0x30);
    der_w_raw(&w, content, n);
    der_w_close(&w);
    ok = w.err == 0 && w.depth == 0 &&
         w.len == 1 + 1 + der_len_size(n) + n && w.buf[0] == 0x99;
    if (ok) {
        der_cur_init(&c, w.buf + 1, w.len - 1);
        ok = der_get(&c, &t) == 0 && der_cur_empty(&c) && t.len == n &&
             t.tag == 16 && t.cons && memcmp(t.val, content, n) == 0;
    }
    T_OK(ok, "der_w_close patches a %zu-octet contents length", n);
    der_w_free(&w);
    free(content);
}

static void writer(void)
{
    unsigned char buf[64], big[300], src[128];
    struct der_w w;
    long n;

    memset(src, 's', sizeof src);
    T_OK(der_len_size(0) == 1 && der_len_size(127) == 1 &&
             der_len_size(128) == 2 && der_len_size(255) == 2 &&
             der_len_size(256) == 3 && der_len_size(65535) == 3 &&
             der_len_size(65536) == 4,
         "der_len_size at the form boundaries");
    patch_at(0);
    patch_at(127);
    patch_at(128);
    patch_at(255);
    patch_at(256);
    patch_at(65535);
    patch_at(65536);

    /* nested opens, lengths patched from the inside out, one of them long */
    {
        struct der_w g;
        unsigned char want[400];
        size_t k = 0, i;
        der_w_growing(&g, 4096);
        der_w_open(&g, 0xa1);
        der_w_open(&g, 0xa0);
        der_w_prim(&g, 0x80, "x", 1);
        der_w_open(&g, 0x30);
        for (i = 0; i < 200; i++) der_w_raw(&g, "\x05", 1);
        der_w_close(&g);
        der_w_close(&g);
        der_w_bool(&g, 0x81, 1);
        der_w_close(&g);
        want[k++] = 0xa1;
        want[k++] = 0x81;
        want[k++] = 3 + 3 + 200 + 3 + 3;
        want[k++] = 0xa0;
        want[k++] = 0x81;
        want[k++] = 3 + 3 + 200;
        want[k++] = 0x80;
        want[k++] = 1;
        want[k++] = 'x';
        want[k++] = 0x30;
        want[k++] = 0x81;
        want[k++] = 200;
        for (i = 0; i < 200; i++) want[k++] = 5;
        want[k++] = 0x81;
        want[k++] = 1;
        want[k++] = 0xff;
        T_OK(g.err == 0 && g.depth == 0 && g.len == k &&
                 memcmp(g.buf, want, k) == 0,
             "der_w nested opens patch every level (inner long form)");
        der_w_free(&g);
    }

    der_w_fixed(&w, buf, sizeof buf);
    der_w_uint(&w, 0x02, 0);
    der_w_uint(&w, 0x02, 127);
    der_w_uint(&w, 0x02, 128);
    der_w_uint(&w, 0x02, 256);
    der_w_uint(&w, 0x85, UINT64_MAX);
    {
        unsigned char want[64];
        n = t_unhex("020100 02017f 02020080 02020100 850900ffffffffffffffff",
                    want, sizeof want);
        T_OK(w.err == 0 && (long)w.len == n && memcmp(buf, want, (size_t)n) == 0,
             "der_w_uint writes minimal non-negative INTEGERs");
    }
    {
        uint64_t vals[] = {0, 1, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0x8000,
                           0xffffffffULL, 0x8000000000000000ULL, UINT64_MAX};
        size_t i;
        int good = 1;
        for (i = 0; i < sizeof vals / sizeof vals[0]; i++) {
            struct der_cur c;
            struct der_tlv t;
            uint64_t v;
            der_w_fixed(&w, buf, sizeof buf);
            der_w_uint(&w, 0x02, vals[i]);
            der_cur_init(&c, buf, w.len);
            if (w.err || der_get(&c, &t) < 0 || der_uint(&t, &v) < 0 ||
                v != vals[i])
                good = 0;
        }
        T_OK(good, "der_w_uint output reads back with der_uint");
    }
    der_w_fixed(&w, buf, sizeof buf);
    der_w_bool(&w, 0x80, 0);
    der_w_bool(&w, 0x80, 7);
    T_OK(w.len == 6 && memcmp(buf, "\x80\x01\x00\x80\x01\xff", 6) == 0,
         "der_w_bool writes 00 and ff");

    /* fixed buffer overflow */
    der_w_fixed(&w, buf, 4);
    der_w_prim(&w, 0x04, "abcdef", 6);
    T_OK(w.err == ENOSPC, "fixed buffer overflow sets err ENOSPC");
    {
        size_t before = w.len;
        der_w_raw(&w, "z", 1);
        der_w_open(&w, 0x30);
        T_OK(w.len == before && w.err == ENOSPC,
             "calls after an error change nothing");
    }
    der_w_fixed(&w, big, 130);
    der_w_open(&w, 0x30);
    der_w_raw(&w, src, 128);
    der_w_close(&w);
    T_OK(w.err == ENOSPC, "fixed buffer: close without room for long length sets err");
    der_w_fixed(&w, big, 131);
    der_w_open(&w, 0x30);
    der_w_raw(&w, src, 128);
    der_w_close(&w);
    T_OK(w.err == 0 && w.len == 131 && big[1] == 0x81 && big[2] == 128,
         "fixed buffer: close with exactly enough room");

    der_w_fixed(&w, buf, sizeof buf);
    der_w_close(&w);
    T_OK(w.err == EINVAL, "close with nothing open sets err");
    der_w_reset(&w);
    T_OK(w.err == 0 && w.len == 0 && w.depth == 0, "der_w_reset clears err");
    {
        int i;
        for (i = 0; i < DER_W_DEPTH; i++) der_w_open(&w, 0x30);
        T_OK(w.err == 0 && w.depth == DER_W_DEPTH,
             "der_w opens DER_W_DEPTH levels");
        der_w_open(&w, 0x30);
        T_OK(w.err != 0, "der_w rejects nesting past DER_W_DEPTH");
    }

    /* growing buffer */
    {
        struct der_w g;
        unsigned char chunk[100];
        int i;
        memset(chunk, 'q', sizeof chunk);
        der_w_growing(&g, 1000);
        for (i = 0; i < 10; i++) der_w_raw(&g, chunk, 100);
        T_OK(g.err == 0 && g.len == 1000 && g.cap <= 1000 && g.buf[999] == 'q',
             "growing buffer grows up to exactly its limit");
        der_w_raw(&g, chunk, 1);
        T_OK(g.err == E2BIG && g.len == 1000,
             "growing buffer past its limit sets E2BIG");
        der_w_free(&g);
        T_OK(g.buf == NULL && g.len == 0, "der_w_free releases the buffer");
        der_w_growing(&g, 1 << 20);
        der_w_raw(&g, chunk, 0);
        T_OK(g.err == 0 && g.len == 0, "growing buffer accepts zero octets");
        for (i = 0; i < 3000; i++) der_w_raw(&g, chunk, 100);
        T_OK(g.err == 0 && g.len == 300000 && g.cap >= 300000,
             "growing buffer doubles past its first size");
        der_w_free(&g);
    }
}

int main(void)
{
    lengths();
    tags();
    integers();
    booleans();
    writer();
    return t_done();
}
