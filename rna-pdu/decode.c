/*
 * rna-pdu decode: frames on fd 0, the text form of doc/pdu-text.md on
 * stdout.
 *
 * Each frame is decoded with the codec every server uses (lib/pdu), so
 * this tool accepts exactly what a server accepts. Every string from the
 * frame goes through lib/esc before it is printed: a capture is hostile
 * input and must not be able to forge lines or drive the terminal.
 * A bad frame gives one "error ..." line and exit 100 at the end; we go
 * on with the next frame while the framing still holds.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "esc.h"
#include "frame.h"
#include "rna-pdu.h"

/* The longest string field escaped, with its NUL. */
#define STRBUF (ESC_MAX(PDU_MAX_PASSWORD) + 1)

static void put_str(const char *key, const struct pdu_str *s)
{
    char buf[STRBUF];
    esc_str(buf, sizeof buf, s->p, s->len);
    printf("%s \"%s\"\n", key, buf);
}

/* Labels joined by dots. A label may itself hold a dot or a space
 * (section 2 allows any UTF-8 without controls), so both are escaped
 * inside labels: the line stays unambiguous unquoted. */
static void put_domain(const struct pdu_domain *d)
{
    struct der_cur c;
    struct der_tlv t;
    char buf[ESC_MAX(PDU_MAX_LABEL) + 1];
    int first = 1;

    der_cur_init(&c, d->p, d->len);
    while (!der_cur_empty(&c) && der_get(&c, &t) == 0) {
        esc_str_also(buf, sizeof buf, t.val, t.len, ". ");
        printf("%s%s", first ? "" : ".", buf);
        first = 0;
    }
}

static void put_ipport(const struct pdu_ipport *a)
{
    char text[INET6_ADDRSTRLEN];
    if (!inet_ntop(a->v6 ? AF_INET6 : AF_INET, a->ip, text, sizeof text))
        die(EXIT_TEMP, "unable to format an address: %s", strerror(errno));
    printf("%s %u", text, (unsigned)a->port);
}

static void put_loc(const char *key, const struct pdu_loc *l)
{
    unsigned i;
    if (l->kind == PDU_LOC_DOMAIN) {
        printf("%s domain ", key);
        put_domain(&l->domain);
        putchar('\n');
        return;
    }
    for (i = 0; i < l->nlit; i++) {
        printf("%s literal ", key);
        put_ipport(&l->lit[i]);
        putchar('\n');
    }
}

static void put_notif(const struct pdu_notif *n)
{
    unsigned i;

    puts("notification");
    put_loc("storeclear", &n->clear);
    if (n->ssl.kind != PDU_LOC_NONE) put_loc("storessl", &n->ssl);
    put_str("localpart", &n->localpart);
    fputs("domain ", stdout);
    put_domain(&n->rdomain);
    fputs("\nidentifier ", stdout);
    for (i = 0; i < PDU_ID_LEN; i++) printf("%02x", n->id[i]);
    putchar('\n');
    put_str("sender", &n->sender);
    if (n->has_size) printf("size %llu\n", (unsigned long long)n->size);
}

static void put_nald(const struct pdu_nald *x)
{
    put_notif(&x->n);
    fputs("submitter ", stdout);
    put_ipport(&x->submitter.addr);
    putchar('\n');
    if (x->submitter.has_domain) {
        fputs("submitter-domain ", stdout);
        put_domain(&x->submitter.domain);
        putchar('\n');
    }
    printf("date %llu\n", (unsigned long long)x->date);
}

static const char *kind_text(const struct pdu *m)
{
    switch (m->kind) {
    case PDU_CMD_NOTIFY: return "command notify";
    case PDU_CMD_AUTH: return "command authenticate";
    case PDU_CMD_RETRIEVE: return "command retrieve";
    case PDU_RESP_NULL: return "response null";
    case PDU_RESP_NOTIFY: return "response notify";
    case PDU_RESP_AUTH: return "response authenticate";
    case PDU_RESP_RETRIEVE: return "response retrieve";
    }
    return "?";
}

static void put_pdu(enum pdu_proto proto, const struct pdu *m, int response)
{
    struct pdu_iter it;

    printf("pdu %s %s\n", proto == PDU_RNASP ? "rnasp" : "rnaqp",
           kind_text(m));
    if (response) {
        const char *name = pdu_status_name(proto, m->status);
        printf("forceabort %s\n", m->forceabort ? "true" : "false");
        printf("status %lu %s\n", (unsigned long)m->status,
               name ? name : "unknown");
    }
    switch (m->kind) {
    case PDU_CMD_NOTIFY: {
        struct pdu_notif n;
        pdu_iter_init(&it, &m->list);
        while (pdu_next_notif(&it, &n) == 1) put_notif(&n);
        break;
    }
    case PDU_CMD_AUTH:
        put_str("account", &m->account);
        put_str("password", &m->password);
        break;
    case PDU_RESP_NOTIFY:
        if (m->has_rejected) {
            uint64_t v;
            pdu_iter_init(&it, &m->list);
            fputs("rejected", stdout);
            while (pdu_next_uint(&it, &v) == 1)
                printf(" %llu", (unsigned long long)v);
            putchar('\n');
        }
        break;
    case PDU_RESP_RETRIEVE: {
        struct pdu_nald x;
        pdu_iter_init(&it, &m->list);
        while (pdu_next_nald(&it, &x) == 1) put_nald(&x);
        break;
    }
    default:
        break;
    }
}

/* Re-encoding gives the input back unless the frame carried extension
 * elements the decoder skipped (section 2); say so, as a comment, since
 * the text cannot show them. */
static void note_skipped(const struct pdu *m, const unsigned char *p,
                         size_t len)
{
    struct der_w w;
    der_w_growing(&w, len + 1);
    pdu_encode(&w, m);
    if (w.err == ENOMEM) die(EXIT_TEMP, "out of memory");
    if (w.err || w.len != len || memcmp(w.buf, p, len) != 0)
        puts("# unknown elements skipped: the text does not show every octet");
    der_w_free(&w);
}

/* One frame's PDU. 0 if it printed, -1 if it was bad. */
static int decode_one(enum pdu_proto proto, const unsigned char *p,
                      size_t len)
{
    struct pdu m;
    int r;

    /* PROTOCOL.md section 3: A1 is a command, A2 a response; the
     * decoders tell the rest. */
    if (p[0] == 0xa1) {
        r = pdu_decode_command(proto, p, len, &m);
        if (r == PDU_UNKNOWNCMD) {
            printf("error unknown-command %lu\n", (unsigned long)m.alt);
            return -1;
        }
    } else if (p[0] == 0xa2) {
        r = pdu_decode_response(proto, p, len, &m);
    } else {
        r = PDU_MALFORMED;
    }
    if (r != PDU_OK) {
        puts("error malformed");
        return -1;
    }
    put_pdu(proto, &m, p[0] == 0xa2);
    note_skipped(&m, p, len);
    puts("end");
    return 0;
}

static void flush_out(void)
{
    if (fflush(stdout) == EOF || ferror(stdout))
        die(EXIT_TEMP, "unable to write output: %s", strerror(errno));
}

int decode_run(enum pdu_proto proto, size_t max)
{
    struct frame_rd r;
    int bad = 0;

    if (frame_rd_init(&r, 0, max) < 0)
        die(EXIT_TEMP, "unable to allocate the frame buffer: %s",
            strerror(errno));
    for (;;) {
        const unsigned char *body;
        size_t len;
        enum frame_status st = frame_get(&r, -1, &body, &len);

        if (st == FRAME_OK) {
            if (decode_one(proto, body, len) < 0) bad = 1;
            flush_out();
            continue;
        }
        if (st == FRAME_EOF) break;
        if (st == FRAME_TRUNC) {
            printf("error truncated %zu\n", frame_pending(&r));
        } else if (st == FRAME_BADLEN) {
            /* the frame's end is unknown: nothing after it can be read */
            printf("error bad-frame-length %lu\n", (unsigned long)r.badlen);
        } else {
            int e = errno;
            flush_out();
            frame_rd_free(&r);
            die(EXIT_TEMP, "unable to read input: %s",
                st == FRAME_IOERR ? strerror(e) : "interrupted");
        }
        bad = 1;
        break;
    }
    flush_out();
    frame_rd_free(&r);
    return bad ? EXIT_PERM : 0;
}
