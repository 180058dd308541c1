/*
 * rna-notify input: one notification per line (or argument), fields
 * separated by blanks:
 *
 *   RECIPIENT STORE IDENTIFIER SENDER [SIZE] [ssl=STORE]
 *
 * RECIPIENT is LOCALPART@DOMAIN, split at the last '@'. STORE is a domain
 * name, or a comma-separated list of 1..16 address literals
 * (a.b.c.d:PORT or [v6]:PORT). IDENTIFIER is 32 hex digits. SENDER is
 * the sender's address; "<>" is the empty sender. SIZE is decimal.
 * Every field is taken through lib/esc's inverse, so a blank, a
 * backslash or any other octet can be written \xHH. The result is checked
 * as an agent checks it (pdu_decode_notif), so what we send is never
 * malformed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "esc.h"
#include "rna-notify.h"
#include "srv.h"

#define FIELDS_MAX 6
/* localpart, '@', domain text */
#define RCPT_MAX (PDU_MAX_LOCALPART + 1 + PDU_MAX_DOMAIN_TEXT)

struct field {
    const char *p;
    size_t len;
};

struct parsed {
    struct pdu_notif n;
    unsigned char rcpt[RCPT_MAX];
    unsigned char sender[PDU_MAX_SENDER];
    unsigned char rdom[PDU_DOMAIN_DER_MAX];
    unsigned char cdom[PDU_DOMAIN_DER_MAX];
    unsigned char sdom[PDU_DOMAIN_DER_MAX];
};

static int is_blank(char c)
{
    return c == ' ' || c == '\t';
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* One address literal: a.b.c.d:PORT or [v6]:PORT. */
static int literal(const char *s, size_t len, struct pdu_ipport *a)
{
    char buf[64], host[48];
    uint16_t port;

    if (len >= sizeof buf) return -1;
    memcpy(buf, s, len);
    buf[len] = 0;
    if (srv_hostport(buf, host, sizeof host, &port) < 0) return -1;
    memset(a, 0, sizeof *a);
    a->port = port;
    if (buf[0] == '[') {
        a->v6 = 1;
        return inet_pton(AF_INET6, host, a->ip) == 1 ? 0 : -1;
    }
    return inet_pton(AF_INET, host, a->ip) == 1 ? 0 : -1;
}

/* A store location: literals if the field holds a ':', else a domain. */
static int location(const struct field *f, struct pdu_loc *l,
                    unsigned char *dbuf, const char **err)
{
    if (memchr(f->p, ':', f->len)) {
        size_t i = 0;
        l->kind = PDU_LOC_LITERALS;
        l->nlit = 0;
        while (i <= f->len) {
            size_t j = i;
            while (j < f->len && f->p[j] != ',') j++;
            if (l->nlit >= PDU_MAX_LITERALS) {
                *err = "store: more than 16 address literals";
                return -1;
            }
            if (literal(f->p + i, j - i, &l->lit[l->nlit]) < 0) {
                *err = "store: bad address literal (want a.b.c.d:PORT or "
                       "[v6]:PORT)";
                return -1;
            }
            l->nlit++;
            i = j + 1;
        }
        return 0;
    } else {
        char text[PDU_MAX_DOMAIN_TEXT + 1];
        size_t tl;
        if (esc_unstr((unsigned char *)text, PDU_MAX_DOMAIN_TEXT, f->p, f->len,
                      &tl) < 0 ||
            pdu_domain_from_text(dbuf, PDU_DOMAIN_DER_MAX, text, tl,
                                 &l->domain) < 0) {
            *err = "store: not a valid domain name";
            return -1;
        }
        l->kind = PDU_LOC_DOMAIN;
        return 0;
    }
}

/* Decimal 0 .. 2^64-1, canonical. */
static int number(const struct field *f, uint64_t *out)
{
    uint64_t v = 0;
    size_t i;
    if (f->len == 0 || (f->p[0] == '0' && f->len > 1)) return -1;
    for (i = 0; i < f->len; i++) {
        unsigned d;
        if (f->p[i] < '0' || f->p[i] > '9') return -1;
        d = (unsigned)(f->p[i] - '0');
        if (v > (UINT64_MAX - d) / 10) return -1;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

static int recipient(const struct field *f, struct parsed *x, const char **err)
{
    size_t len, at;

    if (esc_unstr(x->rcpt, sizeof x->rcpt, f->p, f->len, &len) < 0) {
        *err = "recipient: bad escape, or too long";
        return -1;
    }
    for (at = len; at > 0 && x->rcpt[at - 1] != '@'; at--) {}
    if (at == 0) {
        *err = "recipient: want LOCALPART@DOMAIN";
        return -1;
    }
    at--;
    if (at == 0 || at > PDU_MAX_LOCALPART || !pdu_utf8_ok(x->rcpt, at)) {
        *err = "recipient: local part empty, too long, or not UTF-8 "
               "without controls";
        return -1;
    }
    if (pdu_domain_from_text(x->rdom, sizeof x->rdom,
                             (const char *)x->rcpt + at + 1, len - at - 1,
                             &x->n.rdomain) < 0) {
        *err = "recipient: not a valid domain name";
        return -1;
    }
    x->n.localpart.p = x->rcpt;
    x->n.localpart.len = at;
    return 0;
}

static int identifier(const struct field *f, unsigned char *id)
{
    size_t i;
    if (f->len != 2 * PDU_ID_LEN) return -1;
    for (i = 0; i < PDU_ID_LEN; i++) {
        int a = hexval(f->p[2 * i]), b = hexval(f->p[2 * i + 1]);
        if (a < 0 || b < 0) return -1;
        id[i] = (unsigned char)(a << 4 | b);
    }
    return 0;
}

static int sender(const struct field *f, struct parsed *x, const char **err)
{
    size_t len;
    if (f->len == 2 && memcmp(f->p, "<>", 2) == 0) {
        x->n.sender.p = x->sender;
        x->n.sender.len = 0;
        return 0;
    }
    if (esc_unstr(x->sender, sizeof x->sender, f->p, f->len, &len) < 0 ||
        !pdu_utf8_ok(x->sender, len)) {
        *err = "sender: bad escape, too long, or not UTF-8 without controls";
        return -1;
    }
    x->n.sender.p = x->sender;
    x->n.sender.len = len;
    return 0;
}

/* The escaped text of octets, with blanks escaped too: one word. */
static size_t word(char *out, size_t cap, const unsigned char *p, size_t len)
{
    return esc_str_also(out, cap, p, len, " ");
}

static int finish(struct parsed *x, struct item *it, const char **err)
{
    struct der_w w;
    struct pdu_notif check;
    char dom[PDU_MAX_DOMAIN_TEXT];
    char lp[ESC_MAX(PDU_MAX_LOCALPART) + 1], de[ESC_MAX(PDU_MAX_DOMAIN_TEXT) + 1];
    size_t dl, i;

    der_w_growing(&w, 1 << 16);
    pdu_put_notif(&w, &x->n);
    if (w.err) {
        der_w_free(&w);
        *err = w.err == ENOMEM ? "out of memory" : "notification too large";
        errno = w.err == ENOMEM ? ENOMEM : EINVAL;
        return -1;
    }
    /* what we send must pass every check an agent makes */
    if (pdu_decode_notif(w.buf, w.len, &check) != PDU_OK) {
        der_w_free(&w);
        *err = "the notification breaks a protocol rule";
        errno = EINVAL;
        return -1;
    }
    word(lp, sizeof lp, x->n.localpart.p, x->n.localpart.len);
    dl = pdu_domain_text(&x->n.rdomain, dom, 0);
    word(de, sizeof de, (const unsigned char *)dom, dl);
    it->rcpt = malloc(strlen(lp) + 1 + strlen(de) + 1);
    dl = pdu_domain_text(&x->n.rdomain, dom, 1);
    it->dkey = malloc(dl + 1);
    if (!it->rcpt || !it->dkey) {
        free(it->rcpt);
        free(it->dkey);
        it->rcpt = it->dkey = NULL;
        der_w_free(&w);
        *err = "out of memory";
        errno = ENOMEM;
        return -1;
    }
    strcpy(it->rcpt, lp);
    strcat(it->rcpt, "@");
    strcat(it->rcpt, de);
    memcpy(it->dkey, dom, dl);
    it->dkey[dl] = 0;
    for (i = 0; i < PDU_ID_LEN; i++) {
        static const char hex[] = "0123456789abcdef";
        it->id[2 * i] = hex[x->n.id[i] >> 4];
        it->id[2 * i + 1] = hex[x->n.id[i] & 15];
    }
    it->id[2 * PDU_ID_LEN] = 0;
    /* the writer's buffer becomes the item's */
    it->der = w.buf;
    it->derlen = w.len;
    return 0;
}

int input_parse(const char *line, size_t len, struct item *it,
                const char **err)
{
    struct field f[FIELDS_MAX + 1];
    struct parsed *x;
    size_t nf = 0, i = 0, k;
    int have_size = 0, have_ssl = 0, r = -1;

    while (i < len) {
        size_t j;
        while (i < len && is_blank(line[i])) i++;
        if (i >= len) break;
        j = i;
        while (j < len && !is_blank(line[j])) j++;
        if (nf > FIELDS_MAX) break;
        f[nf].p = line + i;
        f[nf].len = j - i;
        nf++;
        i = j;
    }
    if (nf < 4 || nf > FIELDS_MAX) {
        *err = "want RECIPIENT STORE IDENTIFIER SENDER [SIZE] [ssl=STORE]";
        errno = EINVAL;
        return -1;
    }
    x = calloc(1, sizeof *x);
    if (!x) {
        *err = "out of memory";
        return -1;
    }
    errno = EINVAL;
    if (recipient(&f[0], x, err) < 0) goto done;
    if (location(&f[1], &x->n.clear, x->cdom, err) < 0) goto done;
    if (identifier(&f[2], x->n.id) < 0) {
        *err = "identifier: want 32 hex digits";
        goto done;
    }
    if (sender(&f[3], x, err) < 0) goto done;
    x->n.ssl.kind = PDU_LOC_NONE;
    for (k = 4; k < nf; k++) {
        if (f[k].len > 4 && memcmp(f[k].p, "ssl=", 4) == 0) {
            struct field s = {f[k].p + 4, f[k].len - 4};
            if (have_ssl++) {
                *err = "ssl= given twice";
                goto done;
            }
            if (location(&s, &x->n.ssl, x->sdom, err) < 0) {
                *err = "ssl: not a domain name or a list of address literals";
                goto done;
            }
        } else if (number(&f[k], &x->n.size) == 0 && !have_size) {
            have_size = 1;
            x->n.has_size = 1;
        } else {
            *err = have_size && f[k].p[0] >= '0' && f[k].p[0] <= '9'
                       ? "size given twice"
                       : "want SIZE (decimal, 0 to 2^64-1) or ssl=STORE "
                         "after the sender";
            goto done;
        }
    }
    r = finish(x, it, err);
done:
    free(x);
    return r;
}
