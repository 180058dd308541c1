/*
 * Every encoding rule and limit of PROTOCOL.md section 2, each with an
 * input that keeps it (accepted) and one that breaks it (rejected), run
 * through the real decoders.
 *
 * Test PDUs are written in a small notation, built by build() below with
 * its own length code (independent of der_w):
 *   a1 b2 ...     literal octets (hex; spaces ignored)
 *   X{ ... }      X, then a minimal DER length of the contents, then them
 *   'text'        the ASCII octets of text
 *   <N:hex>       the octets of hex repeated N times
 * Hand-written lengths (for the non-DER cases) are just literal octets.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pdu.h"
#include "t.h"

#define BUILD_MAX 200000

static unsigned char out_buf[BUILD_MAX];
static char fmt_buf[65536];
static int untouched_failures; /* rejections that wrote to *out */
static int rejections_seen;

static int hexval(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Insert the minimal DER length of the octets out[at..*len) before them. */
static int patch_len(size_t at, size_t *len)
{
    size_t n = *len - at, ls = 1, v;
    unsigned char l[9];
    size_t i;

    if (n >= 0x80)
        for (v = n; v; v >>= 8) ls++;
    if (*len + ls > BUILD_MAX) return -1;
    if (ls == 1) {
        l[0] = (unsigned char)n;
    } else {
        l[0] = (unsigned char)(0x80 | (ls - 1));
        for (i = ls - 1, v = n; i >= 1; i--, v >>= 8) l[i] = (unsigned char)v;
    }
    memmove(out_buf + at + ls, out_buf + at, n);
    memcpy(out_buf + at, l, ls);
    *len += ls;
    return 0;
}

/* Build the notation in s into out_buf; returns the length, or -1 and
 * aborts the test binary on a bad template (a bug in this file). */
static size_t build_str(const char *s)
{
    size_t len = 0, stack[64];
    unsigned depth = 0;

    while (*s) {
        if (*s == ' ' || *s == '\n') {
            s++;
        } else if (*s == '{') {
            if (depth == 64) goto badtpl;
            stack[depth++] = len;
            s++;
        } else if (*s == '}') {
            if (depth == 0 || patch_len(stack[--depth], &len) < 0) goto badtpl;
            s++;
        } else if (*s == '\'') {
            s++;
            while (*s && *s != '\'') {
                if (len >= BUILD_MAX) goto badtpl;
                out_buf[len++] = (unsigned char)*s++;
            }
            if (!*s) goto badtpl;
            s++;
        } else if (*s == '<') {
            char *e;
            unsigned long n = strtoul(s + 1, &e, 10), k;
            const char *h = e + 1, *he;
            if (*e != ':') goto badtpl;
            he = strchr(h, '>');
            if (!he || (he - h) % 2) goto badtpl;
            for (k = 0; k < n; k++) {
                const char *q;
                for (q = h; q < he; q += 2) {
                    int a = hexval(q[0]), b = hexval(q[1]);
                    if (a < 0 || b < 0 || len >= BUILD_MAX) goto badtpl;
                    out_buf[len++] = (unsigned char)(a * 16 + b);
                }
            }
            s = he + 1;
        } else {
            int a = hexval(s[0]), b = s[0] ? hexval(s[1]) : -1;
            if (a < 0 || b < 0 || len >= BUILD_MAX) goto badtpl;
            out_buf[len++] = (unsigned char)(a * 16 + b);
            s += 2;
        }
    }
    if (depth) goto badtpl;
    return len;
badtpl:
    fprintf(stderr, "pdu_rules: bad template near: %.40s\n", s);
    exit(2);
}

static size_t vbuild(const char *fmt, va_list ap)
{
    int n = vsnprintf(fmt_buf, sizeof fmt_buf, fmt, ap);
    if (n < 0 || (size_t)n >= sizeof fmt_buf) {
        fprintf(stderr, "pdu_rules: template too long\n");
        exit(2);
    }
    return build_str(fmt_buf);
}

enum what { C_SP, C_QP, R_SP, R_QP, NOTIF, NALD };

/* Decode out_buf[0..len) as w; returns the decoder's result. On any
 * result but PDU_OK, checks that the output was left alone (only alt may
 * change, and only on PDU_UNKNOWNCMD). */
static int decode(enum what w, size_t len, struct pdu *m)
{
    union {
        struct pdu m;
        struct pdu_notif n;
        struct pdu_nald x;
    } o, before;
    int r;

    memset(&o, 0xa5, sizeof o);
    before = o;
    switch (w) {
    case C_SP: r = pdu_decode_command(PDU_RNASP, out_buf, len, &o.m); break;
    case C_QP: r = pdu_decode_command(PDU_RNAQP, out_buf, len, &o.m); break;
    case R_SP: r = pdu_decode_response(PDU_RNASP, out_buf, len, &o.m); break;
    case R_QP: r = pdu_decode_response(PDU_RNAQP, out_buf, len, &o.m); break;
    case NOTIF: r = pdu_decode_notif(out_buf, len, &o.n); break;
    default: r = pdu_decode_nald(out_buf, len, &o.x); break;
    }
    if (r != PDU_OK) {
        rejections_seen++;
        if (r == PDU_UNKNOWNCMD) before.m.alt = o.m.alt;
        if (memcmp(&o, &before, sizeof o)) untouched_failures++;
    }
    if (m) *m = o.m;
    return r;
}

static void ex(enum what w, int want, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Expect decoder result want for the PDU the template builds. */
static void ex(enum what w, int want, const char *name, const char *fmt, ...)
{
    va_list ap;
    size_t len;
    int r;

    va_start(ap, fmt);
    len = vbuild(fmt, ap);
    va_end(ap);
    r = decode(w, len, NULL);
    T_OK(r == want, "%s %s (got %d)", want == PDU_OK ? "accepts" : "rejects",
         name, r);
}

#define OK(w, name, ...) ex(w, PDU_OK, name, __VA_ARGS__)
#define BAD(w, name, ...) ex(w, PDU_MALFORMED, name, __VA_ARGS__)

/* ---- building blocks (valid unless said otherwise) ---- */

#define LABELS "16{'store'}16{'example'}16{'net'}"
#define CLEAR "A0{A1{" LABELS "}}"
#define LIT4 "30{A0{80 04 C0000201}81 01 19}"
#define LIT6 "30{A0{81 10 20010DB8000000000000000000000001}81 02 01BB}"
#define SSL "A1{A0{" LIT4 LIT6 "}}"
#define RDOM "A1{16{'example'}16{'org'}}"
#define LOCAL "80{'alice'}"
#define RCPT "A2{" LOCAL RDOM "}"
#define ID "83 10 000102030405060708090A0B0C0D0E0F"
#define SND "84{'bob@example.net'}"
#define SIZE "85 01 05"
#define N_ELEMS CLEAR RCPT ID SND
#define NOTIF_T "30{" N_ELEMS "}"
#define CMDN(x) "A1{A0{A0{A0{" x "}}}}"
#define SUBM "A1{A0{80 04 C6336401}81 02 1F90}"
#define DATE "82 04 6AFD8AC0"
#define NALD_T "30{A0{" N_ELEMS "}" SUBM DATE "}"
#define RET "A1{A0{A1{}}}"
#define AUTH(a, p) "A1{A0{A0{80{" a "}81{" p "}}}}"
#define RNULL(fa, st) "A2{80 01 " fa " 81 01 " st " A2{A0{}}}"
#define RRET(x) "A2{80 01 00 81 01 00 A2{A2{A0{" x "}}}}"
#define RNOT(x) "A2{80 01 FF 81 01 0A A2{A1{" x "}}}"

/* The same DomainName contents in each of the three places one stands:
 * the recipient's domain, a storeclear domain and a submitter domain. */
static void dom3(int want, const char *name, const char *contents)
{
    char n[200];
    snprintf(n, sizeof n, "%s (recipient domain)", name);
    ex(NOTIF, want, n, "30{" CLEAR "A2{" LOCAL "A1{%s}}" ID SND "}", contents);
    snprintf(n, sizeof n, "%s (storeclear domain)", name);
    ex(NOTIF, want, n, "30{A0{A1{%s}}" RCPT ID SND "}", contents);
    snprintf(n, sizeof n, "%s (submitter domain)", name);
    ex(NALD, want, n,
       "30{A0{" N_ELEMS "}A1{A0{80 04 C6336401}81 02 1F90 A2{%s}}" DATE "}",
       contents);
}

/* The same string contents (hex) as localpart, sender, domain label and
 * password: every UTF8String slot. */
static void str4(int want, const char *name, const char *hex)
{
    char n[200];
    snprintf(n, sizeof n, "%s in localpart", name);
    ex(NOTIF, want, n, "30{" CLEAR "A2{80{%s}" RDOM "}" ID SND "}", hex);
    snprintf(n, sizeof n, "%s in sender", name);
    ex(NOTIF, want, n, "30{" CLEAR RCPT ID "84{%s}}", hex);
    snprintf(n, sizeof n, "%s in a domain label", name);
    ex(NOTIF, want, n, "30{" CLEAR "A2{" LOCAL "A1{16{%s}16{'org'}}}" ID SND "}",
       hex);
    snprintf(n, sizeof n, "%s in password", name);
    ex(C_QP, want, n, AUTH("'alice'", "%s"), hex);
}

/* ---- the rules ---- */

static void baseline(void)
{
    OK(NOTIF, "the base Notification", NOTIF_T);
    OK(NOTIF, "a Notification with storessl and size",
       "30{" CLEAR SSL RCPT ID SND SIZE "}");
    OK(NALD, "the base NotificationAndLocalData", NALD_T);
    OK(C_SP, "CommandNotify with one Notification", CMDN(NOTIF_T));
    OK(C_SP, "CommandNotify with zero Notifications", CMDN(""));
    OK(C_QP, "CommandRetrieveAndClear", RET);
    OK(C_QP, "CommandAuthenticate", AUTH("'alice'", "'secret1'"));
    OK(R_SP, "ResponseNull", RNULL("FF", "01"));
    OK(R_QP, "ResponseNull (RNAQP)", RNULL("FF", "03"));
    OK(R_SP, "ResponseNotify with rejected", RNOT("A0{02 01 00 02 01 02}"));
    OK(R_SP, "ResponseNotify without rejected", RNOT(""));
    OK(R_QP, "ResponseAuthenticate", "A2{80 01 00 81 01 00 A2{A1{}}}");
    OK(R_QP, "ResponseRetrieveAndClear with one NALD", RRET(NALD_T));
    OK(R_QP, "ResponseRetrieveAndClear with none", RRET(""));
}

static void lengths(void)
{
    BAD(C_QP, "an indefinite outer length", "A1 80 A0 02 A1 00 00 00");
    BAD(C_QP, "an indefinite inner length", "A1{A0 80 A1 00 00 00}");
    BAD(NOTIF, "an indefinite length in a Notification",
        "30{" CLEAR RCPT ID "84 80 'bob' 00 00}");
    OK(NOTIF, "sender of 200 octets (81 C8)", "30{" CLEAR RCPT ID "84 81 C8 <200:61>}");
    BAD(NOTIF, "sender of 5 written 81 05 (non-minimal length)",
        "30{" CLEAR RCPT ID "84 81 05 'bobby'}");
    BAD(NOTIF, "sender of 200 written 82 00 C8 (non-minimal length)",
        "30{" CLEAR RCPT ID "84 82 00 C8 <200:61>}");
    BAD(C_QP, "a non-minimal outer length 81 04", "A1 81 04 A0 02 A1 00");
    BAD(R_SP, "a non-minimal length in a Response",
        "A2{80 81 01 FF 81 01 01 A2{A0{}}}");

    OK(C_QP, "a Command filling its frame exactly", "A1 04 A0 02 A1 00");
    BAD(C_QP, "an outer length past the frame", "A1 05 A0 02 A1 00");
    BAD(C_QP, "an inner length past its container", "A1 04 A0 03 A1 00");
    BAD(NOTIF, "a label length past its DomainName",
        "30{" CLEAR "A2{" LOCAL "A1{16 05 'org'}}" ID SND "}");
    BAD(NOTIF, "an identifier length past its Notification",
        "30{" CLEAR RCPT SND "83 10 000102}");
    BAD(R_SP, "a status length past the Response",
        "A2{80 01 FF 81 05 01 A2{A0{}}}");

    BAD(C_QP, "trailing octets after a Command", RET "00");
    BAD(C_QP, "a second PDU in the same frame", RET RET);
    BAD(R_SP, "trailing octets after a Response", RNULL("FF", "01") "00 00");
    BAD(NOTIF, "trailing octets after a Notification", NOTIF_T "00");
    BAD(NALD, "trailing octets after a NALD", NALD_T "05 00");
    BAD(C_QP, "an empty frame", "%s", "");
}

static void integers(void)
{
    OK(NOTIF, "size 5", "30{" N_ELEMS "85 01 05}");
    OK(NOTIF, "size 128 as 00 80", "30{" N_ELEMS "85 02 0080}");
    OK(NOTIF, "size 0", "30{" N_ELEMS "85 01 00}");
    OK(NOTIF, "size 2^64-1", "30{" N_ELEMS "85 09 00FFFFFFFFFFFFFFFF}");
    BAD(NOTIF, "size 2^64", "30{" N_ELEMS "85 09 010000000000000000}");
    BAD(NOTIF, "non-minimal size 00 05", "30{" N_ELEMS "85 02 0005}");
    BAD(NOTIF, "negative size", "30{" N_ELEMS "85 01 80}");
    BAD(NOTIF, "empty size", "30{" N_ELEMS "85 00}");

    OK(NOTIF, "literal port 25", "30{A0{A0{30{A0{80 04 C0000201}81 01 19}}}" RCPT ID SND "}");
    BAD(NOTIF, "non-minimal literal port 00 19",
        "30{A0{A0{30{A0{80 04 C0000201}81 02 0019}}}" RCPT ID SND "}");
    BAD(NOTIF, "negative literal port",
        "30{A0{A0{30{A0{80 04 C0000201}81 01 E7}}}" RCPT ID SND "}");
    BAD(NALD, "non-minimal submitter port",
        "30{A0{" N_ELEMS "}A1{A0{80 04 C6336401}81 03 001F90}" DATE "}");
    BAD(NALD, "negative submitter port",
        "30{A0{" N_ELEMS "}A1{A0{80 04 C6336401}81 02 9F90}" DATE "}");

    OK(NALD, "date 2^64-1", "30{A0{" N_ELEMS "}" SUBM "82 09 00FFFFFFFFFFFFFFFF}");
    OK(NALD, "date 0", "30{A0{" N_ELEMS "}" SUBM "82 01 00}");
    BAD(NALD, "non-minimal date", "30{A0{" N_ELEMS "}" SUBM "82 05 006AFD8AC0}");
    BAD(NALD, "negative date", "30{A0{" N_ELEMS "}" SUBM "82 04 EAFD8AC0}");

    OK(R_SP, "status 10", RNULL("FF", "0A"));
    OK(R_SP, "status 200 as 00 C8", "A2{80 01 FF 81 02 00C8 A2{A0{}}}");
    BAD(R_SP, "non-minimal status 00 01", "A2{80 01 FF 81 02 0001 A2{A0{}}}");
    BAD(R_SP, "negative status", "A2{80 01 FF 81 01 FF A2{A0{}}}");
    BAD(R_SP, "empty status", "A2{80 01 FF 81 00 A2{A0{}}}");
    BAD(R_SP, "non-minimal rejected position", RNOT("A0{02 02 0001}"));
    BAD(R_SP, "negative rejected position", RNOT("A0{02 01 FF}"));
    BAD(R_SP, "rejected position above 2^32-1", RNOT("A0{02 05 0100000000}"));
}

static void outer_tags(void)
{
    struct pdu m;
    size_t len;
    int r;

    BAD(C_QP, "outer tag 30", "30{A0{A1{}}}");
    BAD(C_QP, "outer tag A3", "A3{A0{A1{}}}");
    BAD(C_QP, "outer tag A0", "A0{A0{A1{}}}");
    BAD(C_QP, "outer tag 81 (A1 in primitive form)", "81 02 A100");
    BAD(R_SP, "outer tag 30 for a response", "30{80 01 FF 81 01 01 A2{A0{}}}");
    BAD(R_SP, "outer tag A3 for a response", "A3{80 01 FF 81 01 01 A2{A0{}}}");
    BAD(R_SP, "outer tag 82 (A2 in primitive form)", "82 02 A000");
    BAD(R_SP, "outer tag 42 (application class)", "62{80 01 FF 81 01 01 A2{A0{}}}");
    ex(C_SP, PDU_NOTCOMMAND, "a Response where a Command is due (RNASP)",
       RNULL("FF", "01"));
    ex(C_QP, PDU_NOTCOMMAND, "a Response where a Command is due (RNAQP)",
       "A2{80 01 00 81 01 00 A2{A1{}}}");
    ex(R_QP, PDU_NOTRESPONSE, "a Command where a Response is due (RNAQP)", RET);
    ex(R_SP, PDU_NOTRESPONSE, "a Command where a Response is due (RNASP)",
       CMDN(""));
    len = build_str(RET);
    r = decode(C_QP, len, &m);
    T_OK(r == PDU_OK && m.kind == PDU_CMD_RETRIEVE && m.alt == 1,
         "CommandRetrieveAndClear decodes to kind RETRIEVE, alt 1");
}

static void forms(void)
{
    BAD(NOTIF, "identifier in constructed form (A3)",
        "30{" CLEAR RCPT "A3 10 000102030405060708090A0B0C0D0E0F" SND "}");
    BAD(NOTIF, "sender in constructed form (A4)", "30{" CLEAR RCPT ID "A4{'bob'}}");
    BAD(NOTIF, "size in constructed form (A5)", "30{" N_ELEMS "A5{02 01 05}}");
    BAD(NOTIF, "storeclear in primitive form (80)", "30{80{A1{" LABELS "}}" RCPT ID SND "}");
    BAD(NOTIF, "storessl in primitive form (81)", "30{" CLEAR "81{A1{" LABELS "}}" RCPT ID SND "}");
    BAD(NOTIF, "recipient in primitive form (82)", "30{" CLEAR "82{" LOCAL RDOM "}" ID SND "}");
    BAD(NOTIF, "localpart in constructed form (A0)", "30{" CLEAR "A2{A0{'alice'}" RDOM "}" ID SND "}");
    BAD(NOTIF, "recipient domain in primitive form (81)",
        "30{" CLEAR "A2{" LOCAL "81{16{'org'}}}" ID SND "}");
    BAD(NOTIF, "a label in constructed form (36)",
        "30{" CLEAR "A2{" LOCAL "A1{36{'org'}}}" ID SND "}");
    BAD(NOTIF, "literals in primitive form (80)", "30{A0{80{" LIT4 "}}" RCPT ID SND "}");
    BAD(NOTIF, "location domain in primitive form (81)", "30{A0{81{" LABELS "}}" RCPT ID SND "}");
    BAD(NOTIF, "a literal as a constructed [16] not a SEQUENCE (B0)",
        "30{A0{A0{B0{A0{80 04 C0000201}81 01 19}}}" RCPT ID SND "}");
    BAD(NOTIF, "version4 in constructed form (A0)",
        "30{A0{A0{30{A0{A0 04 C0000201}81 01 19}}}" RCPT ID SND "}");
    BAD(NOTIF, "literal port in constructed form (A1)",
        "30{A0{A0{30{A0{80 04 C0000201}A1{02 01 19}}}}" RCPT ID SND "}");
    BAD(NOTIF, "the Notification as a primitive 10", "10{" N_ELEMS "}");
    BAD(NALD, "notification in primitive form (80)", "30{80{" N_ELEMS "}" SUBM DATE "}");
    BAD(NALD, "submitter in primitive form (81)",
        "30{A0{" N_ELEMS "}81{A0{80 04 C6336401}81 02 1F90}" DATE "}");
    BAD(NALD, "date in constructed form (A2)", "30{A0{" N_ELEMS "}" SUBM "A2{02 01 05}}");
    BAD(NALD, "submitter domain in primitive form (82)",
        "30{A0{" N_ELEMS "}A1{A0{80 04 C6336401}81 02 1F90 82{16{'x'}}}" DATE "}");
    BAD(C_QP, "commanddata in primitive form (80)", "A1{80{A1{}}}");
    BAD(C_QP, "account in constructed form (A0)", "A1{A0{A0{A0{'alice'}81{'pw'}}}}");
    BAD(C_QP, "password in constructed form (A1)", "A1{A0{A0{80{'alice'}A1{'pw'}}}}");
    BAD(C_QP, "CommandRetrieveAndClear in primitive form (81 00)", "A1{A0{81 00}}");
    BAD(C_QP, "CommandAuthenticate in primitive form (80)", "A1{A0{80{'alice'}}}");
    BAD(C_SP, "CommandNotify in primitive form (80)", "A1{A0{80 00}}");
    BAD(C_SP, "notifications list in primitive form (80)", "A1{A0{A0{80 00}}}");
    BAD(R_SP, "forceabort in constructed form (A0)", "A2{A0{01 01 FF}81 01 01 A2{A0{}}}");
    BAD(R_SP, "status in constructed form (A1)", "A2{80 01 FF A1{0A 01 01}A2{A0{}}}");
    BAD(R_SP, "responsedata in primitive form (82)", "A2{80 01 FF 81 01 01 82{A0{}}}");
    BAD(R_SP, "ResponseNull in primitive form (80 00)", "A2{80 01 FF 81 01 01 A2{80 00}}");
    BAD(R_SP, "rejected in primitive form (80)", RNOT("80{02 01 00}"));
    BAD(R_SP, "a rejected position as a context tag (80)", RNOT("A0{80 01 00}"));
    BAD(R_QP, "ResponseAuthenticate in primitive form (81 00)",
        "A2{80 01 00 81 01 00 A2{81 00}}");
    BAD(R_QP, "retrieve list in primitive form (80)", "A2{80 01 00 81 01 00 A2{A2{80 00}}}");
}

static void explicit_tags(void)
{
    /* IMPLICIT where EXPLICIT is due (section 2: tagged CHOICEs) */
    BAD(NOTIF, "storeclear literals without the wrapper (A0 30...)",
        "30{A0{" LIT4 "}" RCPT ID SND "}");
    BAD(NOTIF, "storeclear domain without the wrapper (A0 16...)",
        "30{A0{" LABELS "}" RCPT ID SND "}");
    BAD(NOTIF, "storessl without the wrapper (A1 30...)",
        "30{" CLEAR "A1{" LIT4 "}" RCPT ID SND "}");
    BAD(NOTIF, "IPAddress 80 04 directly in the address slot",
        "30{A0{A0{30{80 04 C0000201 81 01 19}}}" RCPT ID SND "}");
    BAD(NALD, "submitter IPAddress 80 04 directly in the address slot",
        "30{A0{" N_ELEMS "}A1{80 04 C6336401 81 02 1F90}" DATE "}");
    BAD(C_QP, "commanddata alternative without the wrapper", "A1{A1{}}");
    BAD(C_SP, "CommandNotify without the commanddata wrapper", "A1{A0{A0{" NOTIF_T "}}}");
    BAD(R_SP, "responsedata alternative without the wrapper",
        "A2{80 01 FF 81 01 01 A0{}}");
    BAD(R_QP, "ResponseAuthenticate without the wrapper",
        "A2{80 01 00 81 01 00 A1{}}");

    /* an EXPLICIT wrapper holds exactly one element */
    BAD(NOTIF, "storeclear wrapper holding two locations",
        "30{A0{A1{" LABELS "}A1{" LABELS "}}" RCPT ID SND "}");
    BAD(NOTIF, "storeclear wrapper holding a location and an extra element",
        "30{A0{A1{" LABELS "}87 00}" RCPT ID SND "}");
    BAD(NOTIF, "empty storeclear wrapper", "30{A0{}" RCPT ID SND "}");
    BAD(NOTIF, "address wrapper holding two addresses",
        "30{A0{A0{30{A0{80 04 C0000201 80 04 C0000202}81 01 19}}}" RCPT ID SND "}");
    BAD(NOTIF, "empty address wrapper", "30{A0{A0{30{A0{}81 01 19}}}" RCPT ID SND "}");
    BAD(NALD, "submitter address wrapper holding two addresses",
        "30{A0{" N_ELEMS "}A1{A0{80 04 C6336401 80 04 C6336401}81 02 1F90}" DATE "}");
    BAD(C_QP, "commanddata wrapper holding two alternatives", "A1{A0{A1{}A1{}}}");
    BAD(C_QP, "commanddata wrapper holding an unknown alternative and another",
        "A1{A0{A5{}A1{}}}");
    BAD(C_QP, "empty commanddata wrapper", "A1{A0{}}");
    BAD(R_SP, "responsedata wrapper holding two alternatives",
        "A2{80 01 FF 81 01 01 A2{A0{}A0{}}}");
    BAD(R_SP, "empty responsedata wrapper", "A2{80 01 FF 81 01 01 A2{}}");
    BAD(C_QP, "a universal-class commanddata alternative", "A1{A0{30{}}}");
    BAD(R_SP, "an unknown responsedata alternative (RNASP [2])",
        "A2{80 01 FF 81 01 01 A2{A2{A0{}}}}");
    BAD(R_QP, "an unknown responsedata alternative (RNAQP [3])",
        "A2{80 01 00 81 01 00 A2{A3{80 01 00}}}");
    BAD(R_SP, "a location that is neither literals nor domain (A2)",
        "30{A0{A2{" LABELS "}}" RCPT ID SND "}");
}

static void labels(void)
{
    dom3(PDU_OK, "labels tagged 16", "16{'example'}16{'org'}");
    dom3(PDU_MALFORMED, "a label tagged 0C (X.680 UTF8String)",
         "16{'example'}0C{'org'}");
    dom3(PDU_MALFORMED, "a label tagged 04 (OCTET STRING)", "04{'example'}");
    dom3(PDU_MALFORMED, "a label tagged 80", "16{'example'}80{'org'}");
    dom3(PDU_MALFORMED, "an unknown element among the labels",
         "16{'example'}87 00 16{'org'}");
    dom3(PDU_MALFORMED, "an empty DomainName", "");
}

static void utf8(void)
{
    str4(PDU_OK, "ASCII", "'abc'");
    str4(PDU_OK, "2-octet UTF-8 (U+00E9)", "C3A9");
    str4(PDU_OK, "3-octet UTF-8 (U+20AC)", "E282AC");
    str4(PDU_OK, "U+FFFF", "EFBFBF");
    str4(PDU_OK, "4-octet UTF-8 (U+1F600)", "F09F9880");
    str4(PDU_OK, "U+10FFFF", "F48FBFBF");
    str4(PDU_OK, "U+D7FF (just below the surrogates)", "ED9FBF");
    str4(PDU_OK, "U+E000 (just above the surrogates)", "EE8080");
    str4(PDU_OK, "C1 control U+0080", "C280");
    str4(PDU_OK, "C1 control U+009F", "C29F");
    str4(PDU_OK, "space and tilde", "207E");
    str4(PDU_MALFORMED, "overlong 2-octet C0 AF", "C0AF");
    str4(PDU_MALFORMED, "overlong 2-octet C1 BF", "C1BF");
    str4(PDU_MALFORMED, "overlong 3-octet E0 80 AF", "E080AF");
    str4(PDU_MALFORMED, "overlong 4-octet F0 80 80 AF", "F08080AF");
    str4(PDU_MALFORMED, "overlong 4-octet F0 8F BF BF", "F08FBFBF");
    str4(PDU_MALFORMED, "surrogate U+D800", "EDA080");
    str4(PDU_MALFORMED, "surrogate U+DFFF", "EDBFBF");
    str4(PDU_MALFORMED, "truncated 2-octet sequence", "'a'C3");
    str4(PDU_MALFORMED, "truncated 3-octet sequence", "'a'E282");
    str4(PDU_MALFORMED, "truncated 4-octet sequence", "F09F98");
    str4(PDU_MALFORMED, "a continuation octet missing mid-string", "C3'a'");
    str4(PDU_MALFORMED, "a lone continuation octet", "80");
    str4(PDU_MALFORMED, "U+110000 (F4 90 80 80)", "F4908080");
    str4(PDU_MALFORMED, "F5 lead octet", "F5808080");
    str4(PDU_MALFORMED, "FF octet", "FF");
    str4(PDU_MALFORMED, "NUL", "'a'00'b'");
    str4(PDU_MALFORMED, "C0 control 01", "01");
    str4(PDU_MALFORMED, "C0 control 0A (LF)", "'a'0A");
    str4(PDU_MALFORMED, "C0 control 1F", "1F");
    str4(PDU_MALFORMED, "DEL 7F", "7F");
}

static void limits(void)
{
    /* localpart 1..255 */
    OK(NOTIF, "localpart of 1 octet", "30{" CLEAR "A2{80{'a'}" RDOM "}" ID SND "}");
    OK(NOTIF, "localpart of 255 octets", "30{" CLEAR "A2{80{<255:61>}" RDOM "}" ID SND "}");
    BAD(NOTIF, "empty localpart", "30{" CLEAR "A2{80{}" RDOM "}" ID SND "}");
    BAD(NOTIF, "localpart of 256 octets", "30{" CLEAR "A2{80{<256:61>}" RDOM "}" ID SND "}");
    /* sender 0..1024 */
    OK(NOTIF, "empty sender", "30{" CLEAR RCPT ID "84 00}");
    OK(NOTIF, "sender of 1024 octets", "30{" CLEAR RCPT ID "84{<1024:62>}}");
    BAD(NOTIF, "sender of 1025 octets", "30{" CLEAR RCPT ID "84{<1025:62>}}");
    /* account 1..64 of [A-Za-z0-9._-] */
    OK(C_QP, "account of 1 octet", AUTH("'a'", "'pw'"));
    OK(C_QP, "account of 64 octets", AUTH("<64:7A>", "'pw'"));
    OK(C_QP, "account using every allowed class", AUTH("'Az09._-'", "'pw'"));
    BAD(C_QP, "empty account", AUTH("", "'pw'"));
    BAD(C_QP, "account of 65 octets", AUTH("<65:7A>", "'pw'"));
    BAD(C_QP, "account with @", AUTH("'alice@example.org'", "'pw'"));
    BAD(C_QP, "account with a space", AUTH("'al ice'", "'pw'"));
    BAD(C_QP, "account with +", AUTH("'al+ice'", "'pw'"));
    BAD(C_QP, "account with a slash", AUTH("'a/b'", "'pw'"));
    BAD(C_QP, "account with non-ASCII UTF-8", AUTH("'al'C3A9", "'pw'"));
    /* password 1..1024 */
    OK(C_QP, "password of 1 octet", AUTH("'alice'", "'x'"));
    OK(C_QP, "password of 1024 octets", AUTH("'alice'", "<1024:78>"));
    BAD(C_QP, "empty password", AUTH("'alice'", ""));
    BAD(C_QP, "password of 1025 octets", AUTH("'alice'", "<1025:78>"));
    /* labels 1..63, names of 1..127 labels, 253 octets written with dots */
    dom3(PDU_OK, "a label of 1 octet", "16{'x'}");
    dom3(PDU_OK, "a label of 63 octets", "16{<63:61>}16{'org'}");
    dom3(PDU_MALFORMED, "an empty label", "16{'example'}16 00");
    dom3(PDU_MALFORMED, "a label of 64 octets", "16{<64:61>}16{'org'}");
    dom3(PDU_OK, "127 labels (253 octets with dots)", "<127:160161>");
    dom3(PDU_MALFORMED, "128 labels", "<128:160161>");
    dom3(PDU_OK, "a name of 253 octets with dots (63.63.63.61)",
         "16 3F <63:61> 16 3F <63:62> 16 3F <63:63> 16 3D <61:64>");
    dom3(PDU_MALFORMED, "a name of 254 octets with dots (63.63.63.62)",
         "16 3F <63:61> 16 3F <63:62> 16 3F <63:63> 16 3E <62:64>");
    /* literals 1..16 */
    OK(NOTIF, "1 literal", "30{A0{A0{" LIT4 "}}" RCPT ID SND "}");
    OK(NOTIF, "16 literals", "30{A0{A0{<8:300BA0068004C0000201810119>"
                             "<8:3018A012811020010DB80000000000000000000000018102" "01BB>}}"
                             RCPT ID SND "}");
    BAD(NOTIF, "17 literals", "30{A0{A0{<17:300BA0068004C0000201810119>}}" RCPT ID SND "}");
    BAD(NOTIF, "0 literals", "30{A0{A0{}}" RCPT ID SND "}");
    OK(NOTIF, "16 literals in storessl",
       "30{" CLEAR "A1{A0{<16:300BA0068004C0000201810119>}}" RCPT ID SND "}");
    BAD(NOTIF, "17 literals in storessl",
        "30{" CLEAR "A1{A0{<17:300BA0068004C0000201810119>}}" RCPT ID SND "}");
    /* identifier exactly 16 */
    BAD(NOTIF, "identifier of 15 octets",
        "30{" CLEAR RCPT "83 0F 000102030405060708090A0B0C0D0E" SND "}");
    BAD(NOTIF, "identifier of 17 octets",
        "30{" CLEAR RCPT "83 11 000102030405060708090A0B0C0D0E0F10" SND "}");
    BAD(NOTIF, "empty identifier", "30{" CLEAR RCPT "83 00" SND "}");
    /* ports 0..65535 */
    OK(NOTIF, "literal port 0", "30{A0{A0{30{A0{80 04 C0000201}81 01 00}}}" RCPT ID SND "}");
    OK(NOTIF, "literal port 65535",
       "30{A0{A0{30{A0{80 04 C0000201}81 03 00FFFF}}}" RCPT ID SND "}");
    BAD(NOTIF, "literal port 65536",
        "30{A0{A0{30{A0{80 04 C0000201}81 03 010000}}}" RCPT ID SND "}");
    OK(NALD, "submitter port 0", "30{A0{" N_ELEMS "}A1{A0{80 04 C6336401}81 01 00}" DATE "}");
    OK(NALD, "submitter port 65535",
       "30{A0{" N_ELEMS "}A1{A0{80 04 C6336401}81 03 00FFFF}" DATE "}");
    BAD(NALD, "submitter port 65536",
        "30{A0{" N_ELEMS "}A1{A0{80 04 C6336401}81 03 010000}" DATE "}");
    /* addresses: IPv4 exactly 4 octets, IPv6 exactly 16 */
    {
        static const struct {
            int want;
            const char *name, *addr;
        } a[] = {
            {PDU_OK, "IPv4 of 4 octets", "80 04 C0000201"},
            {PDU_MALFORMED, "IPv4 of 3 octets", "80 03 C00002"},
            {PDU_MALFORMED, "IPv4 of 5 octets", "80 05 C000020101"},
            {PDU_MALFORMED, "IPv4 of 16 octets", "80 10 <16:01>"},
            {PDU_MALFORMED, "empty IPv4", "80 00"},
            {PDU_OK, "IPv6 of 16 octets", "81 10 <16:01>"},
            {PDU_MALFORMED, "IPv6 of 15 octets", "81 0F <15:01>"},
            {PDU_MALFORMED, "IPv6 of 17 octets", "81 11 <17:01>"},
            {PDU_MALFORMED, "IPv6 of 4 octets", "81 04 C0000201"},
            {PDU_MALFORMED, "an address tagged [2]", "82 04 C0000201"},
        };
        size_t i;
        char n[200];
        for (i = 0; i < sizeof a / sizeof a[0]; i++) {
            snprintf(n, sizeof n, "%s (literal)", a[i].name);
            ex(NOTIF, a[i].want, n, "30{A0{A0{30{A0{%s}81 01 19}}}" RCPT ID SND "}",
               a[i].addr);
            snprintf(n, sizeof n, "%s (submitter)", a[i].name);
            ex(NALD, a[i].want, n, "30{A0{" N_ELEMS "}A1{A0{%s}81 01 19}" DATE "}",
               a[i].addr);
        }
    }
}

/* 1000 Notifications per CommandNotify, built with the encoder. */
static void notify_count(void)
{
    struct pdu_notif n;
    struct pdu m;
    struct der_w w;
    size_t len = build_str(NOTIF_T), i;
    unsigned char *one = malloc(len);
    int r;

    memcpy(one, out_buf, len);
    r = pdu_decode_notif(one, len, &n);
    T_OK(r == PDU_OK, "the base Notification decodes for the count test");
    der_w_growing(&w, 1 << 20);
    pdu_enc_cmd_notify_begin(&w);
    for (i = 0; i < 1000; i++) pdu_put_notif(&w, &n);
    pdu_enc_cmd_notify_end(&w);
    r = w.err ? -99 : pdu_decode_command(PDU_RNASP, w.buf, w.len, &m);
    T_OK(r == PDU_OK && m.list.count == 1000,
         "accepts 1000 Notifications in one CommandNotify");
    der_w_reset(&w);
    pdu_enc_cmd_notify_begin(&w);
    for (i = 0; i < 1001; i++) pdu_put_notif(&w, &n);
    pdu_enc_cmd_notify_end(&w);
    r = w.err ? -99 : pdu_decode_command(PDU_RNASP, w.buf, w.len, &m);
    T_OK(r == PDU_MALFORMED, "rejects 1001 Notifications in one CommandNotify");
    der_w_free(&w);
    free(one);
}

/* Unknown elements (of several kinds) are skipped at the start, middle
 * and end of every SEQUENCE. */
static const char *const unknowns[] = {
    "87 00",                 /* context [7], primitive, empty */
    "BF 40 {02 01 05}",      /* context [64], constructed, high tag */
    "04 02 FFFF",            /* universal OCTET STRING */
    "C5 01 00",              /* private class */
    "AA{FF FF FF}",          /* contents that are not DER: never read */
};

/* seq_at: a template with three %s slots (start, middle, end). */
static void ext3(enum what w, const char *name, const char *seq_at)
{
    size_t u;
    char n[200];
    for (u = 0; u < sizeof unknowns / sizeof unknowns[0]; u++) {
        snprintf(n, sizeof n, "unknown %s at the start of %s", unknowns[u], name);
        ex(w, PDU_OK, n, seq_at, unknowns[u], "", "");
        snprintf(n, sizeof n, "unknown %s in the middle of %s", unknowns[u], name);
        ex(w, PDU_OK, n, seq_at, "", unknowns[u], "");
        snprintf(n, sizeof n, "unknown %s at the end of %s", unknowns[u], name);
        ex(w, PDU_OK, n, seq_at, "", "", unknowns[u]);
    }
}

static void extensions(void)
{
    ext3(NOTIF, "Notification", "30{%s" CLEAR RCPT "%s" ID SND "%s}");
    ext3(NOTIF, "MailBox", "30{" CLEAR "A2{%s" LOCAL "%s" RDOM "%s}" ID SND "}");
    ext3(NOTIF, "IPAddressAndPort",
         "30{A0{A0{30{%sA0{80 04 C0000201}%s81 01 19%s}}}" RCPT ID SND "}");
    ext3(NALD, "NotificationAndLocalData",
         "30{%sA0{" N_ELEMS "}%s" SUBM DATE "%s}");
    ext3(NALD, "ClientLocation",
         "30{A0{" N_ELEMS "}A1{%sA0{80 04 C6336401}%s81 02 1F90%s}" DATE "}");
    ext3(NALD, "ClientLocation with domain",
         "30{A0{" N_ELEMS "}A1{A0{80 04 C6336401}81 02 1F90%sA2{16{'mx'}}%s}%s" DATE "}");
    ext3(C_QP, "Command", "A1{%sA0{A1{}}%s%s}");
    ext3(C_QP, "CommandRetrieveAndClear", "A1{A0{A1{%s%s%s}}}");
    ext3(C_QP, "CommandAuthenticate", "A1{A0{A0{%s80{'alice'}%s81{'pw'}%s}}}");
    ext3(C_SP, "CommandNotify", "A1{A0{A0{%sA0{" NOTIF_T "}%s%s}}}");
    ext3(R_SP, "Response", "A2{%s80 01 FF%s81 01 01 A2{A0{}}%s}");
    ext3(R_SP, "ResponseNull", "A2{80 01 FF 81 01 01 A2{A0{%s%s%s}}}");
    ext3(R_QP, "ResponseAuthenticate", "A2{80 01 00 81 01 00 A2{A1{%s%s%s}}}");
    ext3(R_SP, "ResponseNotify", "A2{80 01 FF 81 01 0A A2{A1{%sA0{02 01 01}%s%s}}}");
    ext3(R_QP, "ResponseRetrieveAndClear", "A2{80 01 00 81 01 00 A2{A2{%sA0{}%s%s}}}");
    /* and they are dropped, not kept, by a re-encoding */
    {
        struct pdu m;
        struct der_w w;
        unsigned char again[64];
        size_t len = build_str("A1{87 00 A0{A1{C5 01 00}} AA{FF}}");
        int r = decode(C_QP, len, &m);
        size_t n = build_str(RET);
        der_w_fixed(&w, again, sizeof again);
        if (r == PDU_OK) pdu_encode(&w, &m);
        T_OK(r == PDU_OK && w.err == 0 && w.len == n &&
                 memcmp(again, out_buf, n) == 0,
             "re-encoding drops skipped unknown elements");
    }
}

static void sequence_of(void)
{
    BAD(C_SP, "an unknown element in the notifications list",
        CMDN(NOTIF_T "87 00"));
    BAD(C_SP, "an unknown element first in the notifications list",
        CMDN("87 00" NOTIF_T));
    BAD(C_SP, "an OCTET STRING in the notifications list", CMDN("04 00"));
    BAD(NOTIF, "an unknown element in the literals list",
        "30{A0{A0{" LIT4 "87 00}}" RCPT ID SND "}");
    BAD(R_SP, "an unknown element in the rejected list", RNOT("A0{02 01 00 87 00}"));
    BAD(R_SP, "an ENUMERATED in the rejected list", RNOT("A0{0A 01 00}"));
    BAD(R_QP, "an unknown element in the NALD list", RRET(NALD_T "87 00"));
    BAD(R_QP, "a Notification in place of a NALD", RRET(NOTIF_T));
    BAD(C_SP, "a NALD in place of a Notification", CMDN(NALD_T));
}

static void duplicates(void)
{
    BAD(NOTIF, "a duplicate sender", "30{" N_ELEMS SND "}");
    BAD(NOTIF, "a duplicate identifier", "30{" CLEAR RCPT ID ID SND "}");
    BAD(NOTIF, "a duplicate storeclear", "30{" CLEAR CLEAR RCPT ID SND "}");
    BAD(NOTIF, "a duplicate storessl", "30{" CLEAR SSL SSL RCPT ID SND "}");
    BAD(NOTIF, "a duplicate size", "30{" N_ELEMS SIZE SIZE "}");
    BAD(NOTIF, "a duplicate localpart", "30{" CLEAR "A2{" LOCAL LOCAL RDOM "}" ID SND "}");
    BAD(NOTIF, "a duplicate port", "30{A0{A0{30{A0{80 04 C0000201}81 01 19 81 01 19}}}" RCPT ID SND "}");
    BAD(NALD, "a duplicate date", "30{A0{" N_ELEMS "}" SUBM DATE DATE "}");
    BAD(NALD, "a duplicate submitter domain",
        "30{A0{" N_ELEMS "}A1{A0{80 04 C6336401}81 02 1F90 A2{16{'a'}}A2{16{'a'}}}" DATE "}");
    BAD(C_QP, "a duplicate commanddata", "A1{A0{A1{}}A0{A1{}}}");
    BAD(C_QP, "a duplicate password", "A1{A0{A0{80{'alice'}81{'pw'}81{'pw'}}}}");
    BAD(R_SP, "a duplicate status", "A2{80 01 FF 81 01 01 81 01 01 A2{A0{}}}");
    BAD(R_SP, "a duplicate forceabort", "A2{80 01 FF 80 01 FF 81 01 01 A2{A0{}}}");
    BAD(R_SP, "a duplicate rejected list", RNOT("A0{02 01 00}A0{02 01 01}"));
    BAD(C_SP, "a duplicate notifications list", "A1{A0{A0{A0{}A0{}}}}");
}

static void order(void)
{
    BAD(NOTIF, "sender before identifier", "30{" CLEAR RCPT SND ID "}");
    BAD(NOTIF, "recipient before storeclear", "30{" RCPT CLEAR ID SND "}");
    BAD(NOTIF, "storessl after recipient", "30{" CLEAR RCPT SSL ID SND "}");
    BAD(NOTIF, "storessl before storeclear", "30{" SSL CLEAR RCPT ID SND "}");
    BAD(NOTIF, "size before sender", "30{" CLEAR RCPT ID SIZE SND "}");
    BAD(NOTIF, "MailBox domain before localpart", "30{" CLEAR "A2{" RDOM LOCAL "}" ID SND "}");
    BAD(NOTIF, "literal port before address",
        "30{A0{A0{30{81 01 19 A0{80 04 C0000201}}}}" RCPT ID SND "}");
    BAD(NALD, "date before submitter", "30{A0{" N_ELEMS "}" DATE SUBM "}");
    BAD(NALD, "submitter before notification", "30{" SUBM "A0{" N_ELEMS "}" DATE "}");
    BAD(NALD, "submitter port before address",
        "30{A0{" N_ELEMS "}A1{81 02 1F90 A0{80 04 C6336401}}" DATE "}");
    BAD(NALD, "submitter domain before port",
        "30{A0{" N_ELEMS "}A1{A0{80 04 C6336401}A2{16{'a'}}81 02 1F90}" DATE "}");
    BAD(C_QP, "password before account", "A1{A0{A0{81{'pw'}80{'alice'}}}}");
    BAD(R_SP, "status before forceabort", "A2{81 01 01 80 01 FF A2{A0{}}}");
    BAD(R_SP, "responsedata before status", "A2{80 01 FF A2{A0{}}81 01 01}");
}

static void missing(void)
{
    OK(NOTIF, "a Notification without the optional storessl and size", NOTIF_T);
    BAD(NOTIF, "a Notification without storeclear", "30{" RCPT ID SND "}");
    BAD(NOTIF, "a Notification without recipient", "30{" CLEAR ID SND "}");
    BAD(NOTIF, "a Notification without identifier", "30{" CLEAR RCPT SND "}");
    BAD(NOTIF, "a Notification without sender", "30{" CLEAR RCPT ID "}");
    BAD(NOTIF, "an empty Notification", "30{}");
    BAD(NOTIF, "a MailBox without localpart", "30{" CLEAR "A2{" RDOM "}" ID SND "}");
    BAD(NOTIF, "a MailBox without domain", "30{" CLEAR "A2{" LOCAL "}" ID SND "}");
    BAD(NOTIF, "an IPAddressAndPort without port",
        "30{A0{A0{30{A0{80 04 C0000201}}}}" RCPT ID SND "}");
    BAD(NOTIF, "an IPAddressAndPort without address",
        "30{A0{A0{30{81 01 19}}}" RCPT ID SND "}");
    OK(NALD, "a ClientLocation without the optional domain", NALD_T);
    OK(NALD, "a ClientLocation with domain",
       "30{A0{" N_ELEMS "}A1{A0{80 04 C6336401}81 02 1F90 A2{16{'mx'}}}" DATE "}");
    BAD(NALD, "a ClientLocation without address", "30{A0{" N_ELEMS "}A1{81 02 1F90}" DATE "}");
    BAD(NALD, "a ClientLocation without port", "30{A0{" N_ELEMS "}A1{A0{80 04 C6336401}}" DATE "}");
    BAD(NALD, "a NALD without date", "30{A0{" N_ELEMS "}" SUBM "}");
    BAD(NALD, "a NALD without submitter", "30{A0{" N_ELEMS "}" DATE "}");
    BAD(NALD, "a NALD without notification", "30{" SUBM DATE "}");
    BAD(C_QP, "a Command without commanddata", "A1{}");
    BAD(C_QP, "a Command with only unknown elements", "A1{87 00}");
    BAD(C_QP, "a CommandAuthenticate without password", "A1{A0{A0{80{'alice'}}}}");
    BAD(C_QP, "a CommandAuthenticate without account", "A1{A0{A0{81{'pw'}}}}");
    BAD(C_SP, "a CommandNotify without its list", "A1{A0{A0{}}}");
    BAD(R_SP, "a Response without forceabort", "A2{81 01 01 A2{A0{}}}");
    BAD(R_SP, "a Response without status", "A2{80 01 FF A2{A0{}}}");
    BAD(R_SP, "a Response without responsedata", "A2{80 01 FF 81 01 01}");
    BAD(R_QP, "a ResponseRetrieveAndClear without its list",
        "A2{80 01 00 81 01 00 A2{A2{}}}");
}

/* Expect PDU_UNKNOWNCMD with out->alt == alt (and nothing else written,
 * which decode() counts). */
static void unk(enum what w, uint32_t alt, const char *name, const char *tpl)
{
    struct pdu m;
    size_t len = build_str(tpl);
    int r = decode(w, len, &m);
    T_OK(r == PDU_UNKNOWNCMD && m.alt == alt,
         "unknown command %s gives UNKNOWNCMD with alt %u (got %d, alt %u)",
         name, (unsigned)alt, r, (unsigned)m.alt);
}

static void unknown_commands(void)
{
    unk(C_SP, 1, "RNASP [1] (RNAQP's retrieve-and-clear)", "A1{A0{A1{}}}");
    unk(C_SP, 1, "RNASP [1] primitive", "A1{A0{81 00}}");
    unk(C_SP, 2, "RNASP [2]", "A1{A0{A2{}}}");
    unk(C_QP, 2, "RNAQP [2] (planned CommandWait)", "A1{A0{A2{80 01 1E}}}");
    unk(C_QP, 3, "RNAQP [3] (planned CommandCount)", "A1{A0{A3{}}}");
    unk(C_QP, 30, "RNAQP [30]", "A1{A0{BE 00}}");
    unk(C_QP, 128, "RNAQP [128] (high tag)", "A1{A0{BF 81 00 00}}");
    unk(C_SP, 100000, "RNASP [100000] (high tag)", "A1{A0{BF 86 8D 20 02 05 00}}");
    unk(C_QP, 3, "with an unknown Command extension", "A1{87 00 A0{A3{}}}");
    BAD(C_QP, "an unknown alternative in a Command with trailing octets",
        "A1{A0{A3{}}}00");
    BAD(C_QP, "an unknown alternative with a length past its wrapper",
        "A1{A0{A3 05 00}}");
    BAD(C_SP, "a CommandAuthenticate sent to RNASP (parsed as CommandNotify)",
        AUTH("'alice'", "'pw'"));
    BAD(C_QP, "a CommandNotify sent to RNAQP (parsed as CommandAuthenticate)",
        CMDN(NOTIF_T));
}

static void rejected_order(void)
{
    static const struct {
        int want;
        const char *name, *list;
    } c[] = {
        {PDU_OK, "rejected {0}", "02 01 00"},
        {PDU_OK, "rejected {0, 2}", "02 01 00 02 01 02"},
        {PDU_OK, "rejected {1, 500, 999}", "02 01 01 02 02 01F4 02 02 03E7"},
        {PDU_MALFORMED, "rejected {2, 2}", "02 01 02 02 01 02"},
        {PDU_MALFORMED, "rejected {2, 0}", "02 01 02 02 01 00"},
        {PDU_MALFORMED, "rejected {0, 5, 3}", "02 01 00 02 01 05 02 01 03"},
    };
    size_t i;
    for (i = 0; i < sizeof c / sizeof c[0]; i++)
        ex(R_SP, c[i].want, c[i].name, RNOT("A0{%s}"), c[i].list);
    {
        struct pdu m;
        struct pdu_iter it;
        uint64_t v[4];
        int n = 0, r;
        size_t len = build_str(RNOT("A0{02 01 01 02 02 01F4 02 02 03E7}"));
        r = decode(R_SP, len, &m);
        if (r == PDU_OK) {
            pdu_iter_init(&it, &m.list);
            while (n < 4 && pdu_next_uint(&it, &v[n]) == 1) n++;
        }
        T_OK(r == PDU_OK && m.kind == PDU_RESP_NOTIFY && m.has_rejected &&
                 m.list.count == 3 && n == 3 && v[0] == 1 && v[1] == 500 &&
                 v[2] == 999 && m.status == 10 && m.forceabort == 1,
             "ResponseNotify rejected positions walk back as 1, 500, 999");
    }
}

static void booleans(void)
{
    OK(R_SP, "forceabort 00", RNULL("00", "00"));
    OK(R_SP, "forceabort FF", RNULL("FF", "01"));
    BAD(R_SP, "forceabort 01", RNULL("01", "01"));
    BAD(R_SP, "forceabort 7F", RNULL("7F", "01"));
    BAD(R_SP, "forceabort FE", RNULL("FE", "01"));
    BAD(R_SP, "empty forceabort", "A2{80 00 81 01 01 A2{A0{}}}");
    BAD(R_SP, "two-octet forceabort", "A2{80 02 FFFF 81 01 01 A2{A0{}}}");
}

int main(void)
{
    baseline();
    lengths();
    integers();
    outer_tags();
    forms();
    explicit_tags();
    labels();
    utf8();
    limits();
    notify_count();
    extensions();
    sequence_of();
    duplicates();
    order();
    missing();
    unknown_commands();
    rejected_order();
    booleans();
    T_OK(rejections_seen > 100 && untouched_failures == 0,
         "decoders leave *out alone on all %d rejections (%d wrote to it)",
         rejections_seen, untouched_failures);
    return t_done();
}
