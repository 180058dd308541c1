/*
 * rna-query output. The agent is not trusted: a notification's strings
 * were written by whoever submitted it. lib/pdu has already refused C0
 * controls and invalid UTF-8, but C1 controls (U+009B is a CSI on many
 * terminals) and bidirectional or line-separator characters are valid
 * UTF-8, so every string is escaped here: lib/esc's \xHH form in text
 * lines, \uXXXX in JSON.
 *
 * Text line, tab-separated:
 *   DATE SUBMITTER SENDER RECIPIENT STORE IDENTIFIER SIZE STORESSL
 * DATE is ISO 8601 UTC; SUBMITTER is ADDRESS:PORT, then " (DOMAIN)" when
 * the agent knew one; SENDER "<>" when empty; SIZE and STORESSL "-" when
 * absent. Fields never hold a tab or a blank (both escaped), so they can
 * be fed back to rna-notify.
 */
#include <arpa/inet.h>
#include <inttypes.h>
#include <string.h>
#include <time.h>

#include "esc.h"
#include "rna-query.h"

/* Characters escaped inside domain labels: the separators of the text
 * form (a label may hold any of them, PROTOCOL.md section 2). */
#define LABEL_ALSO ". @:,"

static void put_esc(FILE *f, const unsigned char *p, size_t len,
                    const char *also)
{
    char buf[ESC_MAX(PDU_MAX_SENDER) + 1];
    esc_str_also(buf, sizeof buf, p, len, also);
    fputs(buf, f);
}

/* The labels, escaped, joined by dots, into out (cap octets). */
static void domain_text(const struct pdu_domain *d, char *out, size_t cap)
{
    struct der_cur c;
    struct der_tlv t;
    size_t n = 0;

    out[0] = 0;
    der_cur_init(&c, d->p, d->len);
    while (!der_cur_empty(&c) && der_get(&c, &t) == 0 && n + 1 < cap) {
        if (n) out[n++] = '.';
        n += esc_str_also(out + n, cap - n, t.val, t.len, LABEL_ALSO);
        if (n >= cap) n = cap - 1;
    }
    out[n] = 0;
}

#define DOMAIN_TEXT_MAX (ESC_MAX(PDU_MAX_DOMAIN_TEXT) + 1)

static void ipport_text(const struct pdu_ipport *a, char *out, size_t cap)
{
    char ip[INET6_ADDRSTRLEN];
    if (!inet_ntop(a->v6 ? AF_INET6 : AF_INET, a->ip, ip, sizeof ip))
        strcpy(ip, "?");
    snprintf(out, cap, a->v6 ? "[%s]:%u" : "%s:%u", ip, (unsigned)a->port);
}

static void put_loc(FILE *f, const struct pdu_loc *l)
{
    unsigned i;
    if (l->kind == PDU_LOC_DOMAIN) {
        char d[DOMAIN_TEXT_MAX];
        domain_text(&l->domain, d, sizeof d);
        fputs(d, f);
        return;
    }
    for (i = 0; i < l->nlit; i++) {
        char a[64];
        ipport_text(&l->lit[i], a, sizeof a);
        fprintf(f, "%s%s", i ? "," : "", a);
    }
}

static void put_id(FILE *f, const unsigned char *id)
{
    unsigned i;
    for (i = 0; i < PDU_ID_LEN; i++) fprintf(f, "%02x", id[i]);
}

static void put_date(FILE *f, uint64_t date)
{
    struct tm tm;
    time_t t = (time_t)date;
    char buf[64];
    if (date <= (uint64_t)253402300799 && /* 9999-12-31T23:59:59Z */
        gmtime_r(&t, &tm) &&
        strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm) > 0) {
        fputs(buf, f);
        return;
    }
    fprintf(f, "%" PRIu64, date);
}

static void put_recipient(FILE *f, const struct pdu_notif *n)
{
    char d[DOMAIN_TEXT_MAX];
    put_esc(f, n->localpart.p, n->localpart.len, " ");
    domain_text(&n->rdomain, d, sizeof d);
    fprintf(f, "@%s", d);
}

void out_text(FILE *f, const struct pdu_nald *x)
{
    const struct pdu_notif *n = &x->n;
    char a[64];

    put_date(f, x->date);
    ipport_text(&x->submitter.addr, a, sizeof a);
    fprintf(f, "\t%s", a);
    if (x->submitter.has_domain) {
        char d[DOMAIN_TEXT_MAX];
        domain_text(&x->submitter.domain, d, sizeof d);
        fprintf(f, " (%s)", d);
    }
    fputc('\t', f);
    if (n->sender.len == 0) fputs("<>", f);
    else if (n->sender.len == 2 && memcmp(n->sender.p, "<>", 2) == 0)
        fputs("\\x3c>", f); /* the literal sender "<>", not the empty one */
    else put_esc(f, n->sender.p, n->sender.len, " ");
    fputc('\t', f);
    put_recipient(f, n);
    fputc('\t', f);
    put_loc(f, &n->clear);
    fputc('\t', f);
    put_id(f, n->id);
    if (n->has_size) fprintf(f, "\t%" PRIu64, n->size);
    else fputs("\t-", f);
    fputc('\t', f);
    if (n->ssl.kind != PDU_LOC_NONE) put_loc(f, &n->ssl);
    else fputc('-', f);
    fputc('\n', f);
}

/* ---- JSON ---- */

/* Length of the valid UTF-8 sequence at p (1..4) and its code point, or
 * 0 if none starts there. */
static size_t utf8_one(const unsigned char *p, size_t len, uint32_t *cp)
{
    unsigned char b = p[0];
    size_t n, i;
    uint32_t v, min;

    if (b < 0x80) {
        *cp = b;
        return 1;
    }
    if (b >= 0xc2 && b <= 0xdf) { n = 2; v = b & 0x1f; min = 0x80; }
    else if (b >= 0xe0 && b <= 0xef) { n = 3; v = b & 0x0f; min = 0x800; }
    else if (b >= 0xf0 && b <= 0xf4) { n = 4; v = b & 0x07; min = 0x10000; }
    else return 0;
    if (n > len) return 0;
    for (i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80) return 0;
        v = v << 6 | (p[i] & 0x3f);
    }
    if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff)) return 0;
    *cp = v;
    return n;
}

/* Characters that must not reach a terminal raw (the set of lib/esc). */
static int hidden(uint32_t c)
{
    return c < 0x20 || (c >= 0x7f && c <= 0x9f) || c == 0x061c ||
           c == 0x200e || c == 0x200f || (c >= 0x2028 && c <= 0x202e) ||
           (c >= 0x2066 && c <= 0x2069) || c == 0xfeff;
}

/* A JSON string (with its quotes) of arbitrary octets: valid UTF-8 passes
 * except the hidden characters, which become \uXXXX; an octet that is not
 * valid UTF-8 becomes U+FFFD. */
static void json_str(FILE *f, const unsigned char *p, size_t len)
{
    size_t i = 0;
    fputc('"', f);
    while (i < len) {
        uint32_t c;
        size_t n = utf8_one(p + i, len - i, &c);
        if (n == 0) {
            fputs("\\ufffd", f);
            i++;
            continue;
        }
        if (c == '"') fputs("\\\"", f);
        else if (c == '\\') fputs("\\\\", f);
        else if (hidden(c)) fprintf(f, "\\u%04x", (unsigned)c);
        else fwrite(p + i, 1, n, f);
        i += n;
    }
    fputc('"', f);
}

static void json_cstr(FILE *f, const char *s)
{
    json_str(f, (const unsigned char *)s, strlen(s));
}

static void json_domain(FILE *f, const struct pdu_domain *d)
{
    char t[DOMAIN_TEXT_MAX];
    domain_text(d, t, sizeof t);
    json_cstr(f, t);
}

static void json_loc(FILE *f, const struct pdu_loc *l)
{
    unsigned i;
    if (l->kind == PDU_LOC_DOMAIN) {
        fputs("{\"domain\":", f);
        json_domain(f, &l->domain);
        fputc('}', f);
        return;
    }
    fputs("{\"literals\":[", f);
    for (i = 0; i < l->nlit; i++) {
        char ip[INET6_ADDRSTRLEN];
        const struct pdu_ipport *a = &l->lit[i];
        if (!inet_ntop(a->v6 ? AF_INET6 : AF_INET, a->ip, ip, sizeof ip))
            strcpy(ip, "?");
        fprintf(f, "%s{\"address\":\"%s\",\"port\":%u}", i ? "," : "", ip,
                (unsigned)a->port);
    }
    fputs("]}", f);
}

void out_json(FILE *f, const struct pdu_nald *x)
{
    const struct pdu_notif *n = &x->n;
    char ip[INET6_ADDRSTRLEN];
    const struct pdu_ipport *a = &x->submitter.addr;

    fprintf(f, "{\"date\":%" PRIu64 ",\"submitter\":{", x->date);
    if (!inet_ntop(a->v6 ? AF_INET6 : AF_INET, a->ip, ip, sizeof ip))
        strcpy(ip, "?");
    fprintf(f, "\"address\":\"%s\",\"port\":%u", ip, (unsigned)a->port);
    if (x->submitter.has_domain) {
        fputs(",\"domain\":", f);
        json_domain(f, &x->submitter.domain);
    }
    fputs("},\"sender\":", f);
    json_str(f, n->sender.p, n->sender.len);
    fputs(",\"recipient\":{\"localpart\":", f);
    json_str(f, n->localpart.p, n->localpart.len);
    fputs(",\"domain\":", f);
    json_domain(f, &n->rdomain);
    fputs("},\"store\":", f);
    json_loc(f, &n->clear);
    if (n->ssl.kind != PDU_LOC_NONE) {
        fputs(",\"storessl\":", f);
        json_loc(f, &n->ssl);
    }
    fputs(",\"identifier\":\"", f);
    put_id(f, n->id);
    fputc('"', f);
    if (n->has_size) fprintf(f, ",\"size\":%" PRIu64, n->size);
    fputs("}\n", f);
}
