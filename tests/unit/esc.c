/*
 * lib/esc: what gets escaped, truncation never splitting a unit, and the
 * inverse giving back the same octets.
 */
#include <errno.h>
#include <string.h>

#include "esc.h"
#include "t.h"

/* esc_str on the octets of in (n of them) must give exactly want. */
static void same(const char *name, const char *in, size_t n, const char *want)
{
    char out[512];
    size_t r = esc_str(out, sizeof out, (const unsigned char *)in, n);
    T_OK(r == strlen(want) && strcmp(out, want) == 0, "%s: got [%s] want [%s]",
         name, out, want);
}

static void escapes(void)
{
    same("esc_plain_ascii_passes", "alice@example.org", 17,
         "alice@example.org");
    same("esc_space_passes", "a b", 3, "a b");
    same("esc_empty", "", 0, "");
    same("esc_backslash", "a\\b", 3, "a\\\\b");
    same("esc_quote", "say \"hi\"", 8, "say \\\"hi\\\"");
    same("esc_c0_controls", "\x01\n\r\t\x1b[31m", 9,
         "\\x01\\x0a\\x0d\\x09\\x1b[31m");
    same("esc_nul", "a\0b", 3, "a\\x00b");
    same("esc_del", "\x7f", 1, "\\x7f");
    same("esc_c1_controls", "\xc2\x80" "x\xc2\x85\xc2\x9f", 7,
         "\\xc2\\x80x\\xc2\\x85\\xc2\\x9f");
    same("esc_latin1_supplement_passes", "J\xc3\xbc" "rgen \xc2\xa0", 10,
         "J\xc3\xbc" "rgen \xc2\xa0");
    same("esc_three_and_four_octet_utf8_pass", "\xe2\x82\xac\xf0\x9f\x98\x80",
         7, "\xe2\x82\xac\xf0\x9f\x98\x80");
    same("esc_bidi_override", "a\xe2\x80\xae" "b", 5, "a\\xe2\\x80\\xaeb");
    same("esc_line_separator", "\xe2\x80\xa8", 3, "\\xe2\\x80\\xa8");
    same("esc_bom", "\xef\xbb\xbf", 3, "\\xef\\xbb\\xbf");
    same("esc_invalid_lone_continuation", "\x80", 1, "\\x80");
    same("esc_invalid_c0_c1_leads", "\xc0\xaf\xc1\xbf", 4,
         "\\xc0\\xaf\\xc1\\xbf");
    same("esc_invalid_truncated_sequence", "\xe2\x82", 2, "\\xe2\\x82");
    same("esc_invalid_resyncs", "\xe2" "(a", 3, "\\xe2(a");
    same("esc_overlong_three", "\xe0\x80\xaf", 3, "\\xe0\\x80\\xaf");
    same("esc_surrogate", "\xed\xa0\x80", 3, "\\xed\\xa0\\x80");
    same("esc_above_10ffff", "\xf4\x90\x80\x80", 4,
         "\\xf4\\x90\\x80\\x80");
    same("esc_f5_ff", "\xf5\xff", 2, "\\xf5\\xff");
}

static void also(void)
{
    char out[64];
    size_t r = esc_str_also(out, sizeof out, (const unsigned char *)"a.b c", 5,
                            ". ");
    T_OK(r == 11 && strcmp(out, "a\\x2eb\\x20c") == 0,
         "esc_also_escapes_extra_characters (%s)", out);
    r = esc_str_also(out, sizeof out, (const unsigned char *)"\xc2\xae.", 3,
                     ".");
    T_OK(strcmp(out, "\xc2\xae\\x2e") == 0,
         "esc_also_leaves_utf8_alone (%s)", out);
}

static void truncation(void)
{
    char out[8];
    size_t r;

    r = esc_str(out, sizeof out, (const unsigned char *)"abcdefghij", 10);
    T_OK(r == 10 && strcmp(out, "abcdefg") == 0,
         "esc_truncates_like_snprintf (%zu, %s)", r, out);
    /* "ab" then \x01 needs 4 more: 2 + 4 = 6 fits in 7; the next does not */
    r = esc_str(out, sizeof out, (const unsigned char *)"ab\x01\x02", 4);
    T_OK(r == 10 && strcmp(out, "ab\\x01") == 0,
         "esc_truncation_keeps_escapes_whole (%s)", out);
    r = esc_str(out, 6, (const unsigned char *)"abcd\xc3\xbc", 6);
    T_OK(r == 6 && strcmp(out, "abcd") == 0,
         "esc_truncation_keeps_utf8_whole (%s)", out);
    r = esc_str(NULL, 0, (const unsigned char *)"\x01\x02", 2);
    T_OK(r == 8, "esc_counts_without_buffer (%zu)", r);
    out[0] = 'X';
    r = esc_str(out, 1, (const unsigned char *)"a", 1);
    T_OK(r == 1 && out[0] == '\0', "esc_cap_one_gives_empty_string");
}

static void unescape(void)
{
    unsigned char buf[64];
    size_t n = 99;
    int r;

    r = esc_unstr(buf, sizeof buf, "a\\\\b\\\"c\\x00\\xC2\\x85", 19, &n);
    T_OK(r == 0 && n == 8 && memcmp(buf, "a\\b\"c\0\xc2\x85", 8) == 0,
         "unesc_all_escapes");
    r = esc_unstr(buf, sizeof buf, "", 0, &n);
    T_OK(r == 0 && n == 0, "unesc_empty");
    n = 99;
    errno = 0;
    r = esc_unstr(buf, sizeof buf, "a\\n", 3, &n);
    T_OK(r == -1 && errno == EINVAL && n == 99, "unesc_rejects_unknown_escape");
    r = esc_unstr(buf, sizeof buf, "a\\", 2, &n);
    T_OK(r == -1 && errno == EINVAL, "unesc_rejects_trailing_backslash");
    r = esc_unstr(buf, sizeof buf, "\\x4", 3, &n);
    T_OK(r == -1 && errno == EINVAL, "unesc_rejects_short_hex");
    r = esc_unstr(buf, sizeof buf, "\\x4g", 4, &n);
    T_OK(r == -1 && errno == EINVAL, "unesc_rejects_bad_hex");
    r = esc_unstr(buf, sizeof buf, "a\"b", 3, &n);
    T_OK(r == -1 && errno == EINVAL, "unesc_rejects_bare_quote");
    r = esc_unstr(buf, sizeof buf, "a\tb", 3, &n);
    T_OK(r == -1 && errno == EINVAL, "unesc_rejects_raw_control");
    memset(buf, 'Z', sizeof buf);
    errno = 0;
    r = esc_unstr(buf, 3, "abcd", 4, &n);
    T_OK(r == -1 && errno == ENOSPC && buf[0] == 'Z',
         "unesc_rejects_overflow_untouched");
    r = esc_unstr(buf, 4, "abcd", 4, &n);
    T_OK(r == 0 && n == 4, "unesc_exact_fit");
}

/* Every pair of octets, and every triple starting with an octet from
 * 0xc0 up (the UTF-8 lead octets and their neighbours), escapes into text
 * that unescapes to the same octets and holds no raw control, C1 control
 * or unescaped quote. */
static void roundtrip(void)
{
    unsigned char in[3], back[8];
    char text[32];
    unsigned a, b, c;
    size_t n, tl, i;
    int ok = 1;

    for (a = 0; a < 256 && ok; a++) {
        for (b = 0; b < 256 && ok; b++) {
            for (c = 0; c < 256 && ok; c += (a < 0xc0 ? 255 : 1)) {
                size_t len = c == 0 ? 2 : 3;
                in[0] = (unsigned char)a;
                in[1] = (unsigned char)b;
                in[2] = (unsigned char)c;
                tl = esc_str(text, sizeof text, in, len);
                if (tl >= sizeof text) ok = 0;
                for (i = 0; ok && i < tl; i++) {
                    unsigned char ch = (unsigned char)text[i];
                    if (ch == '\\') {
                        i++; /* the escaped character: \\ or \" or x */
                        continue;
                    }
                    if (ch < 0x20 || ch == 0x7f || ch == '"') ok = 0;
                    if (ch == 0xc2 && i + 1 < tl &&
                        (unsigned char)text[i + 1] < 0xa0)
                        ok = 0; /* a raw C1 control */
                }
                if (ok && (esc_unstr(back, sizeof back, text, tl, &n) < 0 ||
                           n != len || memcmp(back, in, len) != 0))
                    ok = 0;
            }
        }
    }
    T_OK(ok, "esc_unesc_roundtrip_short_strings");
}

int main(void)
{
    escapes();
    also();
    truncation();
    unescape();
    roundtrip();
    return t_done();
}
