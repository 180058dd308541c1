/*
 * rna-pdu encode: the text form of doc/pdu-text.md on stdin, frames on
 * fd 1.
 *
 * The parser is strict: an unknown key, a key twice, a bad number or
 * escape, a missing element, all stop the run with the line number and
 * exit 100, before anything of that PDU is written. Within a PDU (and
 * within a notification) elements may come in any order; they are
 * collected, and the PDU is built with lib/pdu's encoders at "end".
 * The built PDU is then decoded again with the servers' decoder and
 * refused unless it comes back as the same kind: the tool never emits a
 * PDU a server would call malformed, except through "raw" lines, which
 * exist for exactly that.
 *
 * Memory: one struct enc (on encode_run's stack) holds the line buffer,
 * the PDU's fields, and two growing DER buffers (the notifications, the
 * frame); all freed before any exit.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "esc.h"
#include "frame.h"
#include "rna-pdu.h"

/* Elements of a notification (bits of notif_in.have). */
#define N_CLEAR 0x001
#define N_SSL 0x002
#define N_LOCALPART 0x004
#define N_DOMAIN 0x008
#define N_ID 0x010
#define N_SENDER 0x020
#define N_SIZE 0x040
#define N_SUBMITTER 0x080
#define N_SUBDOMAIN 0x100
#define N_DATE 0x200

/* Elements of the PDU itself (bits of enc.have). */
#define H_FORCEABORT 0x01
#define H_STATUS 0x02
#define H_ACCOUNT 0x04
#define H_PASSWORD 0x08
#define H_REJECTED 0x10

/* How much of a word from the input an error message quotes. */
#define SHOW_MAX 40

struct notif_in {
    struct pdu_nald x; /* x.n is the notification; the rest for RNAQP */
    unsigned have;
    unsigned long line; /* of its "notification" line */
    unsigned char clear_dom[PDU_DOMAIN_DER_MAX];
    unsigned char ssl_dom[PDU_DOMAIN_DER_MAX];
    unsigned char rdom[PDU_DOMAIN_DER_MAX];
    unsigned char sdom[PDU_DOMAIN_DER_MAX];
    unsigned char localpart[PDU_MAX_LOCALPART];
    unsigned char sender[PDU_MAX_SENDER];
};

struct enc {
    enum pdu_proto want; /* 0: any */
    size_t max;          /* largest PDU written */
    char *line;
    size_t linecap;
    unsigned long lineno;

    int in_pdu;
    enum pdu_proto proto;
    enum pdu_kind kind;
    int response;
    unsigned have;
    int forceabort;
    uint32_t status;
    unsigned char account[PDU_MAX_ACCOUNT];
    size_t alen;
    unsigned char password[PDU_MAX_PASSWORD];
    size_t plen;
    uint32_t *rej;
    size_t nrej;
    size_t caprej;
    size_t count; /* notifications so far */
    int in_notif;
    struct notif_in n;
    struct der_w list; /* the notifications, DER, in order */
    struct der_w out;  /* the frame */
    char shown[ESC_MAX(SHOW_MAX) + 1];
};

static const struct kind_name {
    enum pdu_proto proto;
    int response;
    const char *name;
    enum pdu_kind kind;
} kinds[] = {
    {PDU_RNASP, 0, "notify", PDU_CMD_NOTIFY},
    {PDU_RNASP, 1, "null", PDU_RESP_NULL},
    {PDU_RNASP, 1, "notify", PDU_RESP_NOTIFY},
    {PDU_RNAQP, 0, "authenticate", PDU_CMD_AUTH},
    {PDU_RNAQP, 0, "retrieve", PDU_CMD_RETRIEVE},
    {PDU_RNAQP, 1, "null", PDU_RESP_NULL},
    {PDU_RNAQP, 1, "authenticate", PDU_RESP_AUTH},
    {PDU_RNAQP, 1, "retrieve", PDU_RESP_RETRIEVE},
};

static void enc_free(struct enc *e)
{
    free(e->line);
    e->line = NULL;
    free(e->rej);
    e->rej = NULL;
    der_w_free(&e->list);
    der_w_free(&e->out);
}

__attribute__((format(printf, 3, 0))) _Noreturn static void
vfail(struct enc *e, unsigned long line, const char *fmt, va_list ap)
{
    /* the arguments may point into e->line: print, then free */
    fprintf(stderr, "rna-pdu: fatal: line %lu: ", line);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    enc_free(e);
    exit(EXIT_PERM);
}

/* Refuse the input: "rna-pdu: fatal: line N: why", exit 100. */
__attribute__((format(printf, 3, 4))) _Noreturn static void
fail_at(struct enc *e, unsigned long line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfail(e, line, fmt, ap);
}

__attribute__((format(printf, 2, 3))) _Noreturn static void
fail(struct enc *e, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfail(e, e->lineno, fmt, ap);
}

_Noreturn static void fail_temp(struct enc *e, const char *what, int err)
{
    enc_free(e);
    die(EXIT_TEMP, "%s: %s", what, strerror(err));
}

/* A word of the input, escaped and cut short, for an error message: the
 * text is untrusted and stderr may be a terminal or a log. */
static const char *show(struct enc *e, const char *w)
{
    size_t n = strlen(w);
    esc_str(e->shown, sizeof e->shown, (const unsigned char *)w,
            n > SHOW_MAX ? SHOW_MAX : n);
    return e->shown;
}

/* ---- values ---- */

static int is_space(char ch)
{
    return ch == ' ' || ch == '\t';
}

/* The next blank-separated word of *s, NUL-terminated in place; NULL at
 * the end. */
static char *next_word(char **s)
{
    char *p = *s, *w;
    while (is_space(*p)) p++;
    if (!*p) {
        *s = p;
        return NULL;
    }
    w = p;
    while (*p && !is_space(*p)) p++;
    if (*p) *p++ = '\0';
    *s = p;
    return w;
}

/* Canonical decimal: digits only, no sign, no leading zero, no overflow. */
static int parse_u64(const char *s, uint64_t max, uint64_t *out)
{
    uint64_t v = 0;
    if (!*s || (s[0] == '0' && s[1])) return -1;
    for (; *s; s++) {
        unsigned d;
        if (*s < '0' || *s > '9') return -1;
        d = (unsigned)(*s - '0');
        if (v > (max - d) / 10) return -1;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

static uint64_t num(struct enc *e, const char *key, const char *s,
                    uint64_t max)
{
    uint64_t v;
    if (!s || parse_u64(s, max, &v) < 0)
        fail(e, "%s: not a decimal number from 0 to %llu", key,
             (unsigned long long)max);
    return v;
}

static void no_more(struct enc *e, const char *key, char *rest)
{
    if (next_word(&rest)) fail(e, "%s: unexpected text after the value", key);
}

static int hexval(char ch)
{
    if (ch >= '0' && ch <= '9') return ch - '0';
    if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
    return -1;
}

/* A double-quoted string: the whole value, escapes as in lib/esc. */
static size_t quoted(struct enc *e, const char *key, const char *v,
                     unsigned char *out, size_t min, size_t max)
{
    size_t vl = strlen(v), n;
    if (vl < 2 || v[0] != '"' || v[vl - 1] != '"')
        fail(e, "%s: the value must be one double-quoted string", key);
    if (esc_unstr(out, max, v + 1, vl - 2, &n) < 0) {
        if (errno == ENOSPC)
            fail(e, "%s: longer than %zu octets", key, max);
        fail(e, "%s: bad escape or unescaped character in the string", key);
    }
    if (n < min) fail(e, "%s: must not be empty", key);
    if (!pdu_utf8_ok(out, n))
        fail(e, "%s: not UTF-8, or holds a control character", key);
    return n;
}

/* Dotted labels, each escaped as lib/esc does (a dot inside a label is
 * \x2e), into a DomainName's contents in buf (PDU_DOMAIN_DER_MAX octets).
 * Section 2's rules are checked here so the message can be precise. */
static void domain(struct enc *e, const char *key, char *v,
                   unsigned char *buf, struct pdu_domain *d)
{
    struct der_w w;
    unsigned n = 0;
    size_t text = 0;
    char *p = v;

    if (!v || !*v) fail(e, "%s: missing domain name", key);
    der_w_fixed(&w, buf, PDU_DOMAIN_DER_MAX);
    for (;;) {
        char *dot = strchr(p, '.');
        unsigned char label[PDU_MAX_LABEL];
        size_t ll;

        if (dot) *dot = '\0';
        if (!*p) fail(e, "%s: empty label in domain name", key);
        if (esc_unstr(label, sizeof label, p, strlen(p), &ll) < 0) {
            if (errno == ENOSPC)
                fail(e, "%s: label longer than %d octets", key,
                     PDU_MAX_LABEL);
            fail(e, "%s: bad escape or character in domain name", key);
        }
        if (!pdu_utf8_ok(label, ll))
            fail(e, "%s: label not UTF-8, or holds a control character", key);
        if (++n > PDU_MAX_LABELS)
            fail(e, "%s: more than %d labels", key, PDU_MAX_LABELS);
        text += ll + (n > 1);
        if (text > PDU_MAX_DOMAIN_TEXT)
            fail(e, "%s: domain name longer than %d octets", key,
                 PDU_MAX_DOMAIN_TEXT);
        der_w_prim(&w, DER_T_IM2000_UTF8, label, ll);
        if (!dot) break;
        p = dot + 1;
    }
    if (w.err) fail(e, "%s: domain name too long", key); /* cannot happen */
    d->p = buf;
    d->len = w.len;
    d->nlabels = n;
}

/* "ADDRESS PORT": IPv6 if the address holds a colon, else IPv4. */
static void ipport(struct enc *e, const char *key, char *rest,
                   struct pdu_ipport *a)
{
    char *addr = next_word(&rest);
    char *port = next_word(&rest);

    if (!addr || !port) fail(e, "%s: want an address and a port", key);
    memset(a, 0, sizeof *a);
    a->v6 = strchr(addr, ':') != NULL;
    if (inet_pton(a->v6 ? AF_INET6 : AF_INET, addr, a->ip) != 1)
        fail(e, "%s: bad IP%s address", key, a->v6 ? "v6" : "v4");
    a->port = (uint16_t)num(e, key, port, 65535);
    no_more(e, key, rest);
}

/* storeclear / storessl: "domain NAME" once, or "literal ADDR PORT" on
 * up to 16 lines. */
static void location(struct enc *e, const char *key, char *rest,
                     struct pdu_loc *l, unsigned bit, unsigned char *dombuf)
{
    char *how = next_word(&rest);

    if (how && strcmp(how, "domain") == 0) {
        char *name = next_word(&rest);
        if (e->n.have & bit) fail(e, "%s given twice", key);
        no_more(e, key, rest);
        domain(e, key, name, dombuf, &l->domain);
        l->kind = PDU_LOC_DOMAIN;
        l->nlit = 0;
    } else if (how && strcmp(how, "literal") == 0) {
        if ((e->n.have & bit) && l->kind != PDU_LOC_LITERALS)
            fail(e, "%s: literal after domain", key);
        if (!(e->n.have & bit)) {
            l->kind = PDU_LOC_LITERALS;
            l->nlit = 0;
        }
        if (l->nlit >= PDU_MAX_LITERALS)
            fail(e, "%s: more than %d literals", key, PDU_MAX_LITERALS);
        ipport(e, key, rest, &l->lit[l->nlit]);
        l->nlit++;
    } else {
        fail(e, "%s: want \"domain NAME\" or \"literal ADDRESS PORT\"", key);
    }
    e->n.have |= bit;
}

/* ---- notifications ---- */

static int has_notifs(const struct enc *e)
{
    return e->kind == PDU_CMD_NOTIFY || e->kind == PDU_RESP_RETRIEVE;
}

static void notif_begin(struct enc *e)
{
    memset(&e->n.x, 0, sizeof e->n.x);
    e->n.x.n.ssl.kind = PDU_LOC_NONE;
    e->n.have = 0;
    e->n.line = e->lineno;
    e->in_notif = 1;
}

static void check_wr(struct enc *e, const struct der_w *w)
{
    if (w->err == ENOMEM) fail_temp(e, "out of memory", ENOMEM);
    if (w->err) fail(e, "the PDU grows beyond %zu octets", e->max);
}

static void notif_end(struct enc *e)
{
    static const struct {
        unsigned bit;
        const char *key;
    } need[] = {
        {N_CLEAR, "storeclear"}, {N_LOCALPART, "localpart"},
        {N_DOMAIN, "domain"},    {N_ID, "identifier"},
        {N_SENDER, "sender"},    {N_SUBMITTER, "submitter"},
        {N_DATE, "date"},
    };
    size_t i;

    if (!e->in_notif) return;
    for (i = 0; i < sizeof need / sizeof need[0]; i++) {
        if (need[i].bit >= N_SUBMITTER && e->kind != PDU_RESP_RETRIEVE)
            continue;
        if (!(e->n.have & need[i].bit))
            fail_at(e, e->n.line, "notification without %s", need[i].key);
    }
    if (e->kind == PDU_RESP_RETRIEVE) pdu_put_nald(&e->list, &e->n.x);
    else pdu_put_notif(&e->list, &e->n.x.n);
    check_wr(e, &e->list);
    e->count++;
    e->in_notif = 0;
}

/* A key inside a notification. 1 if it was one, 0 if not. */
static int notif_key(struct enc *e, const char *key, char *rest)
{
    struct notif_in *n = &e->n;
    struct pdu_notif *x = &n->x.n;
    unsigned bit;

    if (strcmp(key, "storeclear") == 0) {
        location(e, key, rest, &x->clear, N_CLEAR, n->clear_dom);
        return 1;
    }
    if (strcmp(key, "storessl") == 0) {
        location(e, key, rest, &x->ssl, N_SSL, n->ssl_dom);
        return 1;
    }
    if (strcmp(key, "localpart") == 0) bit = N_LOCALPART;
    else if (strcmp(key, "domain") == 0) bit = N_DOMAIN;
    else if (strcmp(key, "identifier") == 0) bit = N_ID;
    else if (strcmp(key, "sender") == 0) bit = N_SENDER;
    else if (strcmp(key, "size") == 0) bit = N_SIZE;
    else if (e->kind != PDU_RESP_RETRIEVE) return 0;
    else if (strcmp(key, "submitter") == 0) bit = N_SUBMITTER;
    else if (strcmp(key, "submitter-domain") == 0) bit = N_SUBDOMAIN;
    else if (strcmp(key, "date") == 0) bit = N_DATE;
    else return 0;
    if (n->have & bit) fail(e, "%s given twice", key);
    n->have |= bit;

    switch (bit) {
    case N_LOCALPART:
        x->localpart.len = quoted(e, key, rest, n->localpart, 1,
                                  PDU_MAX_LOCALPART);
        x->localpart.p = n->localpart;
        break;
    case N_SENDER:
        x->sender.len = quoted(e, key, rest, n->sender, 0, PDU_MAX_SENDER);
        x->sender.p = n->sender;
        break;
    case N_DOMAIN: {
        char *name = next_word(&rest);
        no_more(e, key, rest);
        domain(e, key, name, n->rdom, &x->rdomain);
        break;
    }
    case N_SUBDOMAIN: {
        char *name = next_word(&rest);
        no_more(e, key, rest);
        domain(e, key, name, n->sdom, &n->x.submitter.domain);
        n->x.submitter.has_domain = 1;
        break;
    }
    case N_ID: {
        char *h = next_word(&rest);
        size_t i;
        no_more(e, key, rest);
        if (!h || strlen(h) != 2 * PDU_ID_LEN)
            fail(e, "identifier: want %d hex digits", 2 * PDU_ID_LEN);
        for (i = 0; i < PDU_ID_LEN; i++) {
            int a = hexval(h[2 * i]), b = hexval(h[2 * i + 1]);
            if (a < 0 || b < 0)
                fail(e, "identifier: want %d hex digits", 2 * PDU_ID_LEN);
            x->id[i] = (unsigned char)(a * 16 + b);
        }
        break;
    }
    case N_SIZE: {
        char *w = next_word(&rest);
        x->size = num(e, key, w, UINT64_MAX);
        x->has_size = 1;
        no_more(e, key, rest);
        break;
    }
    case N_SUBMITTER:
        ipport(e, key, rest, &n->x.submitter.addr);
        break;
    case N_DATE: {
        char *w = next_word(&rest);
        n->x.date = num(e, key, w, UINT64_MAX);
        no_more(e, key, rest);
        break;
    }
    }
    return 1;
}

/* ---- the PDU ---- */

static void pdu_begin(struct enc *e, char *rest)
{
    char *proto = next_word(&rest);
    char *dir = next_word(&rest);
    char *name = next_word(&rest);
    enum pdu_proto p;
    int response;
    size_t i;

    if (!proto || !dir || !name || next_word(&rest))
        fail(e, "pdu: want \"pdu PROTOCOL command|response NAME\"");
    if (strcmp(proto, "rnasp") == 0) p = PDU_RNASP;
    else if (strcmp(proto, "rnaqp") == 0) p = PDU_RNAQP;
    else fail(e, "pdu: unknown protocol %s", show(e, proto));
    if (e->want && p != e->want) fail(e, "pdu: %s, but -p says otherwise", proto);
    if (strcmp(dir, "command") == 0) response = 0;
    else if (strcmp(dir, "response") == 0) response = 1;
    else fail(e, "pdu: want command or response, not %s", show(e, dir));
    for (i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        if (kinds[i].proto == p && kinds[i].response == response &&
            strcmp(kinds[i].name, name) == 0)
            break;
    if (i == sizeof kinds / sizeof kinds[0])
        fail(e, "pdu: %s has no %s %s", proto, dir, show(e, name));
    e->in_pdu = 1;
    e->proto = p;
    e->kind = kinds[i].kind;
    e->response = response;
    e->have = 0;
    e->nrej = 0;
    e->count = 0;
    e->in_notif = 0;
    der_w_reset(&e->list);
    der_w_reset(&e->out);
}

static void status_value(struct enc *e, char *rest)
{
    char *n = next_word(&rest);
    char *name = next_word(&rest);
    const char *want;

    e->status = (uint32_t)num(e, "status", n, UINT32_MAX);
    want = pdu_status_name(e->proto, e->status);
    if (name && strcmp(name, want ? want : "unknown") != 0)
        fail(e, "status: %lu is %s, not %s", (unsigned long)e->status,
             want ? want : "unknown", show(e, name));
    no_more(e, "status", rest);
}

static void rejected_value(struct enc *e, char *rest)
{
    char *w;
    while ((w = next_word(&rest))) {
        uint32_t v = (uint32_t)num(e, "rejected", w, UINT32_MAX);
        if (e->nrej && v <= e->rej[e->nrej - 1])
            fail(e, "rejected: positions must ascend");
        if (e->nrej == e->caprej) {
            size_t cap = e->caprej ? 2 * e->caprej : 16;
            uint32_t *nr;
            if (cap > e->max / sizeof *nr) fail(e, "rejected: too many");
            nr = realloc(e->rej, cap * sizeof *nr);
            if (!nr) fail_temp(e, "out of memory", ENOMEM);
            e->rej = nr;
            e->caprej = cap;
        }
        e->rej[e->nrej++] = v;
    }
}

/* A key of the PDU itself. 1 if it was one, 0 if not. */
static int pdu_key(struct enc *e, const char *key, char *rest)
{
    unsigned bit;

    if (e->response && strcmp(key, "forceabort") == 0) bit = H_FORCEABORT;
    else if (e->response && strcmp(key, "status") == 0) bit = H_STATUS;
    else if (e->kind == PDU_CMD_AUTH && strcmp(key, "account") == 0)
        bit = H_ACCOUNT;
    else if (e->kind == PDU_CMD_AUTH && strcmp(key, "password") == 0)
        bit = H_PASSWORD;
    else if (e->kind == PDU_RESP_NOTIFY && strcmp(key, "rejected") == 0)
        bit = H_REJECTED;
    else return 0;
    if (e->have & bit) fail(e, "%s given twice", key);
    e->have |= bit;

    switch (bit) {
    case H_FORCEABORT: {
        char *w = next_word(&rest);
        if (w && strcmp(w, "true") == 0) e->forceabort = 1;
        else if (w && strcmp(w, "false") == 0) e->forceabort = 0;
        else fail(e, "forceabort: want true or false");
        no_more(e, key, rest);
        break;
    }
    case H_STATUS:
        status_value(e, rest);
        break;
    case H_ACCOUNT:
        e->alen = quoted(e, key, rest, e->account, 1, PDU_MAX_ACCOUNT);
        if (!pdu_account_ok(e->account, e->alen))
            fail(e, "account: only letters, digits, '.', '_' and '-'");
        break;
    case H_PASSWORD:
        e->plen = quoted(e, key, rest, e->password, 1, PDU_MAX_PASSWORD);
        break;
    case H_REJECTED:
        rejected_value(e, rest);
        break;
    }
    return 1;
}

/* "end": build the frame, check it with the servers' decoder, write it. */
static void pdu_end(struct enc *e)
{
    static const uint32_t none[1];
    struct pdu m;
    struct pdu_str a, pw;
    int r;

    notif_end(e);
    if (e->response && !(e->have & H_FORCEABORT))
        fail(e, "response without forceabort");
    if (e->response && !(e->have & H_STATUS))
        fail(e, "response without status");
    if (e->kind == PDU_CMD_AUTH && !(e->have & H_ACCOUNT))
        fail(e, "authenticate without account");
    if (e->kind == PDU_CMD_AUTH && !(e->have & H_PASSWORD))
        fail(e, "authenticate without password");

    frame_w_begin(&e->out);
    switch (e->kind) {
    case PDU_CMD_NOTIFY:
        pdu_enc_cmd_notify_begin(&e->out);
        der_w_raw(&e->out, e->list.buf, e->list.len);
        pdu_enc_cmd_notify_end(&e->out);
        break;
    case PDU_CMD_AUTH:
        a.p = e->account;
        a.len = e->alen;
        pw.p = e->password;
        pw.len = e->plen;
        pdu_enc_cmd_auth(&e->out, &a, &pw);
        break;
    case PDU_CMD_RETRIEVE:
        pdu_enc_cmd_retrieve(&e->out);
        break;
    case PDU_RESP_NULL:
        pdu_enc_resp_empty(&e->out, e->forceabort, e->status, 0);
        break;
    case PDU_RESP_AUTH:
        pdu_enc_resp_empty(&e->out, e->forceabort, e->status, 1);
        break;
    case PDU_RESP_NOTIFY:
        /* a present but empty list still needs a non-NULL pointer */
        pdu_enc_resp_notify(&e->out, e->forceabort, e->status,
                            !(e->have & H_REJECTED) ? NULL
                            : e->rej                ? e->rej
                                                    : none,
                            e->nrej);
        break;
    case PDU_RESP_RETRIEVE:
        pdu_enc_resp_retrieve_begin(&e->out, e->forceabort, e->status);
        der_w_raw(&e->out, e->list.buf, e->list.len);
        pdu_enc_resp_retrieve_end(&e->out);
        break;
    }
    check_wr(e, &e->out);
    if (frame_w_end(&e->out) < 0) fail(e, "the PDU could not be built");

    r = e->response
            ? pdu_decode_response(e->proto, e->out.buf + 4, e->out.len - 4, &m)
            : pdu_decode_command(e->proto, e->out.buf + 4, e->out.len - 4, &m);
    if (r != PDU_OK || m.kind != e->kind)
        fail(e, "the PDU breaks a rule of PROTOCOL.md section 2"
                " (e.g. more than %d notifications)", PDU_MAX_NOTIFS);
    if (frame_write_all(1, e->out.buf, e->out.len, -1) < 0)
        fail_temp(e, "unable to write output", errno);
    e->in_pdu = 0;
}

/* "raw HEX ...": octets written as they are, no frame header added. */
static void raw_line(struct enc *e, char *rest)
{
    char *w;
    der_w_reset(&e->out);
    while ((w = next_word(&rest))) {
        size_t i, l = strlen(w);
        if (l % 2) fail(e, "raw: odd number of hex digits");
        for (i = 0; i < l; i += 2) {
            int a = hexval(w[i]), b = hexval(w[i + 1]);
            unsigned char o;
            if (a < 0 || b < 0) fail(e, "raw: not hex: %s", show(e, w));
            o = (unsigned char)(a * 16 + b);
            der_w_raw(&e->out, &o, 1);
        }
    }
    check_wr(e, &e->out);
    if (e->out.len == 0) fail(e, "raw: no octets");
    if (frame_write_all(1, e->out.buf, e->out.len, -1) < 0)
        fail_temp(e, "unable to write output", errno);
}

static void one_line(struct enc *e, char *s, size_t len)
{
    char *key, *rest;

    /* trailing blanks and a CR never belong to a value: strings end in a
     * quote, and spaces in domain labels are escaped */
    while (len && (is_space(s[len - 1]) || s[len - 1] == '\r' ||
                   s[len - 1] == '\n'))
        s[--len] = '\0';
    while (is_space(*s)) s++;
    if (!*s || *s == '#') return;
    key = s;
    while (*s && !is_space(*s)) s++;
    if (*s) *s++ = '\0';
    while (is_space(*s)) s++;
    rest = s;

    if (!e->in_pdu) {
        if (strcmp(key, "pdu") == 0) pdu_begin(e, rest);
        else if (strcmp(key, "raw") == 0) raw_line(e, rest);
        else fail(e, "%s outside a PDU (want pdu or raw)", show(e, key));
        return;
    }
    if (strcmp(key, "pdu") == 0) fail(e, "pdu inside a PDU (no end line?)");
    if (strcmp(key, "end") == 0) {
        if (*rest) fail(e, "end: unexpected text after it");
        pdu_end(e);
        return;
    }
    if (strcmp(key, "notification") == 0 && has_notifs(e)) {
        if (*rest) fail(e, "notification: unexpected text after it");
        notif_end(e);
        notif_begin(e);
        return;
    }
    if (e->in_notif && notif_key(e, key, rest)) return;
    if (pdu_key(e, key, rest)) return;
    fail(e, "unknown key %s here", show(e, key));
}

int encode_run(enum pdu_proto want, size_t max)
{
    struct enc e;
    ssize_t n;

    memset(&e, 0, sizeof e);
    e.want = want;
    e.max = max;
    der_w_growing(&e.list, max);
    der_w_growing(&e.out, max + 4);
    while ((n = getline(&e.line, &e.linecap, stdin)) > 0) {
        e.lineno++;
        if (memchr(e.line, '\0', (size_t)n)) fail(&e, "NUL octet in line");
        one_line(&e, e.line, (size_t)n);
    }
    if (ferror(stdin)) fail_temp(&e, "unable to read input", errno);
    if (e.in_pdu) fail(&e, "end of input inside a PDU (no end line)");
    enc_free(&e);
    return 0;
}
