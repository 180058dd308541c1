/*
 * rna-notify: the message store's side of RNASP. Reads notifications
 * (arguments, or one per line on stdin, in the text form of input.c and
 * doc/rna-notify.1), finds each recipient's agent, submits them, and
 * reports what became of each one on stdout.
 *
 *   rna-notify [-v] [-a HOST:PORT | -u] [-c SECS] [-t SECS] [NOTIFICATION ...]
 *
 * Agents: -a names one explicitly; -u talks to the agent tcpclient
 * connected on descriptors 6 (read) and 7 (write); by default each
 * recipient domain's agent is located by SRV (_rnasp._tcp.DOMAIN, lib/srv)
 * through the DNS servers of $DNSCACHEIP or /etc/resolv.conf.
 *
 * One session per agent, one CommandNotify per at most PDU_MAX_NOTIFS
 * notifications, in input order. A CommandNotify is atomic
 * (PROTOCOL.md 5.1): on a rejection nothing of that PDU was stored, so
 * the notifications not named in `rejected` are reported as not
 * accepted, temporarily.
 *
 * Exit codes: 0 every notification accepted; 111 at least one failed
 * temporarily (or a system failure); 100 otherwise when at least one
 * failed permanently, or on a usage error.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "die.h"
#include "dnsq.h"
#include "esc.h"
#include "frame.h"
#include "rna-notify.h"
#include "sess.h"
#include "srv.h"

/* Responses are small: a ResponseNotify with 1000 positions is < 8 KiB. */
#define RESPONSE_MAX (64u << 10)

struct state {
    int verbose;
    int ucspi;                /* -u: descriptors 6 and 7 */
    const char *agent;        /* -a HOST:PORT */
    char ahost[256];
    uint16_t aport;
    int64_t connect_ms;       /* -c */
    int64_t response_ms;      /* -t */
    struct dnsq dns;
    int dns_up;
    struct item *items;
    size_t nitems, capitems;
};

_Noreturn static void usage(void)
{
    fputs("rna-notify: usage: rna-notify [-v] [-a HOST:PORT | -u] [-c SECS] "
          "[-t SECS] [NOTIFICATION ...]\n",
          stderr);
    exit(EXIT_PERM);
}

__attribute__((format(printf, 1, 2)))
static char *xprintf(const char *fmt, ...)
{
    va_list ap;
    char *s;
    int r;
    va_start(ap, fmt);
    r = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (r < 0) die_exit("rna-notify", EXIT_TEMP, "out of memory");
    return s;
}

static void set_outcome(struct item *it, enum outcome o, char *why)
{
    free(it->why);
    it->outcome = o;
    it->why = why;
}

static struct item *new_item(struct state *st, size_t num)
{
    struct item *it;
    if (st->nitems == st->capitems) {
        size_t nc = st->capitems ? 2 * st->capitems : 64;
        struct item *ni;
        if (nc > SIZE_MAX / sizeof *ni) die_exit("rna-notify", EXIT_TEMP, "out of memory");
        ni = realloc(st->items, nc * sizeof *ni);
        if (!ni) die_exit("rna-notify", EXIT_TEMP, "out of memory");
        st->items = ni;
        st->capitems = nc;
    }
    it = &st->items[st->nitems++];
    memset(it, 0, sizeof *it);
    it->num = num;
    return it;
}

static void add(struct state *st, size_t num, const char *text, size_t len)
{
    struct item *it = new_item(st, num);
    const char *err = "";
    if (input_parse(text, len, it, &err) < 0) {
        if (errno == ENOMEM) die_exit("rna-notify", EXIT_TEMP, "out of memory");
        set_outcome(it, OUT_PERM, xprintf("malformed (%s)", err));
    }
}

/* stdin, one notification a line; blank lines and # comments skipped. */
static void read_input(struct state *st)
{
    char *line = NULL;
    size_t cap = 0, num = 0;
    ssize_t n;

    while ((n = getline(&line, &cap, stdin)) >= 0) {
        size_t len = (size_t)n, i = 0;
        num++;
        if (len > 0 && line[len - 1] == '\n') len--;
        if (len > 0 && line[len - 1] == '\r') len--;
        while (i < len && (line[i] == ' ' || line[i] == '\t')) i++;
        if (i == len || line[i] == '#') continue;
        if (len > INPUT_LINE_MAX) {
            struct item *it = new_item(st, num);
            set_outcome(it, OUT_PERM, xprintf("malformed (line longer than %u)",
                                              INPUT_LINE_MAX));
            continue;
        }
        if (memchr(line, '\0', len)) {
            struct item *it = new_item(st, num);
            set_outcome(it, OUT_PERM, xprintf("malformed (NUL in the line)"));
            continue;
        }
        add(st, num, line, len);
    }
    if (ferror(stdin)) die_exit("rna-notify", EXIT_TEMP, "unable to read input: %s", strerror(errno));
    free(line);
}

static void note(void *ctx, const char *line)
{
    const char *dom = ctx;
    char d[ESC_MAX(PDU_MAX_DOMAIN_TEXT) + 1];
    esc_str(d, sizeof d, (const unsigned char *)dom, strlen(dom));
    fprintf(stderr, "rna-notify: info: %s: %s\n", d, line);
}

static void dns_up(struct state *st)
{
    const char *cip = getenv("DNSCACHEIP");
    if (st->dns_up) return;
    if (dnsq_init(&st->dns, cip) < 0) {
        if (errno == EINVAL) die_exit("rna-notify", EXIT_PERM, "$DNSCACHEIP is not a list of IPv4 addresses");
        die_exit("rna-notify", EXIT_TEMP, "unable to start the resolver: %s", strerror(errno));
    }
    st->dns_up = 1;
}

static int is_literal(const char *host)
{
    unsigned char ip[16];
    return inet_pton(AF_INET, host, ip) == 1 || inet_pton(AF_INET6, host, ip) == 1;
}

/* Every item of g still pending gets the outcome. */
static void fail_rest(struct item **g, size_t n, enum outcome o,
                      const char *why)
{
    size_t i;
    for (i = 0; i < n; i++)
        if (g[i]->outcome == OUT_PENDING) set_outcome(g[i], o, xprintf("%s", why));
}

/* Apply one response to the PDU's items c[0..n). 0: the session goes
 * on; -1: it cannot. */
static int apply(struct item **c, size_t n, const struct pdu *m)
{
    const char *sname = pdu_status_name(PDU_RNASP, m->status);
    char sbuf[32];
    size_t i;

    if (!sname) {
        snprintf(sbuf, sizeof sbuf, "status %lu", (unsigned long)m->status);
        sname = sbuf;
    }
    if (m->status == PDU_S_NOERROR && m->kind == PDU_RESP_NOTIFY) {
        for (i = 0; i < n; i++) set_outcome(c[i], OUT_ACCEPTED, NULL);
        return 0;
    }
    if ((m->status == PDU_S_NOSUCHMAILBOX || m->status == PDU_S_QUOTA) &&
        m->kind == PDU_RESP_NOTIFY && m->has_rejected) {
        struct pdu_iter it;
        uint64_t v;
        int perm = m->status == PDU_S_NOSUCHMAILBOX;
        pdu_iter_init(&it, &m->list);
        while (pdu_next_uint(&it, &v) == 1)
            if (v < n && c[v]->outcome == OUT_PENDING)
                set_outcome(c[v], perm ? OUT_PERM : OUT_TEMP,
                            xprintf("%s", perm ? "nosuchmailbox" : "quota"));
        fail_rest(c, n, OUT_TEMP, "notaccepted (transaction aborted)");
        return 0;
    }
    {
        /* malformed and unexpected-command will not change on a retry;
         * everything else may */
        int perm = m->status == PDU_S_MALFORMED || m->status == PDU_S_UNEXPECTED;
        char *why = xprintf("notaccepted (the agent answered %s)", sname);
        fail_rest(c, n, perm ? OUT_PERM : OUT_TEMP, why);
        free(why);
    }
    /* after a forced abort the session may be closing: stop here unless
     * the status says the session continues (PROTOCOL.md 4) */
    return m->status == PDU_S_SHUTDOWN || m->status == PDU_S_TIMEOUT ? -1 : 0;
}

/* One PDU of n items; 0 if the session can carry on. */
static int exchange(struct state *st, int wfd, struct frame_rd *rd,
                    struct item **c, size_t n)
{
    struct der_w w;
    const unsigned char *body;
    size_t blen, i;
    enum frame_status fs;
    struct pdu m;
    int r;

    der_w_growing(&w, (size_t)1 << 30);
    frame_w_begin(&w);
    pdu_enc_cmd_notify_begin(&w);
    for (i = 0; i < n; i++) der_w_raw(&w, c[i]->der, c[i]->derlen);
    pdu_enc_cmd_notify_end(&w);
    if (frame_w_end(&w) < 0) {
        der_w_free(&w);
        die_exit("rna-notify", EXIT_TEMP, "unable to build a CommandNotify: %s", strerror(errno));
    }
    r = frame_write_all(wfd, w.buf, w.len, clock_ms() + st->response_ms);
    der_w_free(&w);
    if (r < 0) {
        char *why = xprintf("connectionlost (unable to send: %s)", strerror(errno));
        fail_rest(c, n, OUT_TEMP, why);
        free(why);
        return -1;
    }
    fs = frame_get(rd, clock_ms() + st->response_ms, &body, &blen);
    if (fs != FRAME_OK) {
        /* the agent may or may not have stored them: a repeat is
         * harmless (notifications collapse, PROTOCOL.md 5.1) */
        char *why;
        if (fs == FRAME_TIMEOUT)
            why = xprintf("timeout (no response within %lld s)",
                          (long long)(st->response_ms / 1000));
        else if (fs == FRAME_IOERR)
            why = xprintf("connectionlost (%s)", strerror(errno));
        else if (fs == FRAME_BADLEN)
            why = xprintf("protocolerror (response frame of %lu octets)",
                          (unsigned long)rd->badlen);
        else
            why = xprintf("connectionlost (the agent closed the connection)");
        fail_rest(c, n, OUT_TEMP, why);
        free(why);
        return -1;
    }
    if (pdu_decode_response(PDU_RNASP, body, blen, &m) != PDU_OK) {
        fail_rest(c, n, OUT_TEMP, "protocolerror (malformed response)");
        return -1;
    }
    return apply(c, n, &m);
}

/* One agent: locate and connect, then the PDUs. dom is the recipient
 * domain (NULL with -a or -u). */
static void run_group(struct state *st, struct item **g, size_t n,
                      const char *dom)
{
    struct srv_conn conn;
    struct frame_rd rd;
    int rfd, wfd, r = SRV_OK;
    size_t i;

    conn.fd = -1;
    if (st->ucspi) {
        rfd = 6;
        wfd = 7;
    } else {
        void *nctx = (void *)(dom ? dom : st->ahost);
        srv_note_fn *nf = st->verbose ? note : NULL;
        if (dom) {
            dns_up(st);
            r = srv_locate(&st->dns, "_rnasp._tcp", dom, st->connect_ms,
                           srv_rand_system, NULL, nf, nctx, &conn);
        } else {
            /* literals need no resolver */
            if (!is_literal(st->ahost)) dns_up(st);
            r = srv_host(&st->dns, st->ahost, st->aport, st->connect_ms, nf,
                         nctx, &conn);
        }
        if (r != SRV_OK) {
            char *why = xprintf("unreachable (%s)", conn.why);
            fail_rest(g, n, r == SRV_PERM ? OUT_PERM : OUT_TEMP, why);
            free(why);
            return;
        }
        rfd = wfd = conn.fd;
    }
    if (frame_rd_init(&rd, rfd, RESPONSE_MAX) < 0) die_exit("rna-notify", EXIT_TEMP, "out of memory");
    for (i = 0; i < n; i += PDU_MAX_NOTIFS) {
        size_t k = n - i < PDU_MAX_NOTIFS ? n - i : PDU_MAX_NOTIFS;
        if (exchange(st, wfd, &rd, g + i, k) < 0) {
            fail_rest(g, n, OUT_TEMP,
                      "connectionlost (the session ended before this PDU)");
            break;
        }
    }
    frame_rd_free(&rd);
    if (conn.fd >= 0) close(conn.fd);
}

static int by_domain(const void *a, const void *b)
{
    const struct item *x = *(struct item *const *)a, *y = *(struct item *const *)b;
    int c = strcmp(x->dkey, y->dkey);
    if (c) return c;
    return x->num < y->num ? -1 : x->num > y->num;
}

static void run(struct state *st)
{
    struct item **g;
    size_t n = 0, i, j;

    g = calloc(st->nitems ? st->nitems : 1, sizeof *g);
    if (!g) die_exit("rna-notify", EXIT_TEMP, "out of memory");
    for (i = 0; i < st->nitems; i++)
        if (st->items[i].outcome == OUT_PENDING) g[n++] = &st->items[i];
    if (st->ucspi || st->agent) {
        if (n) run_group(st, g, n, NULL);
    } else {
        /* one agent per recipient domain (compared case-insensitively) */
        qsort(g, n, sizeof *g, by_domain);
        for (i = 0; i < n; i = j) {
            for (j = i + 1; j < n && strcmp(g[j]->dkey, g[i]->dkey) == 0; j++) {}
            run_group(st, g + i, j - i, g[i]->dkey);
        }
    }
    free(g);
}

static int report(struct state *st)
{
    size_t i;
    int perm = 0, temp = 0;

    for (i = 0; i < st->nitems; i++) {
        struct item *it = &st->items[i];
        const char *o = "accepted";
        if (it->outcome == OUT_PERM) {
            o = "permanent";
            perm = 1;
        } else if (it->outcome != OUT_ACCEPTED) {
            o = "temporary";
            temp = 1;
        }
        printf("%zu %s %s %s%s%s\n", it->num, o, it->rcpt ? it->rcpt : "-",
               it->id[0] ? it->id : "-", it->why ? " " : "",
               it->why ? it->why : "");
    }
    if (fflush(stdout) == EOF || ferror(stdout))
        die_exit("rna-notify", EXIT_TEMP, "unable to write the report: %s", strerror(errno));
    return temp ? EXIT_TEMP : perm ? EXIT_PERM : 0;
}

/* Whole seconds, 1 .. 86400, as milliseconds. */
static int64_t seconds(const char *s)
{
    uint64_t v;
    if (sess_u64(s, 1, 86400, &v) < 0) usage();
    return (int64_t)v * 1000;
}

int main(int argc, char **argv)
{
    struct state st;
    int opt, code;
    size_t i;

    memset(&st, 0, sizeof st);
    st.connect_ms = 10000;
    st.response_ms = 60000;
    while ((opt = getopt(argc, argv, "+va:uc:t:")) != -1) {
        switch (opt) {
        case 'v': st.verbose = 1; break;
        case 'a':
            st.agent = optarg;
            if (srv_hostport(optarg, st.ahost, sizeof st.ahost, &st.aport) < 0)
                usage();
            break;
        case 'u': st.ucspi = 1; break;
        case 'c': st.connect_ms = seconds(optarg); break;
        case 't': st.response_ms = seconds(optarg); break;
        default: usage();
        }
    }
    if (st.agent && st.ucspi) usage();
    if (st.ucspi && (fcntl(6, F_GETFD) < 0 || fcntl(7, F_GETFD) < 0))
        die_exit("rna-notify", EXIT_PERM, "-u: descriptors 6 and 7 are not open (run me under tcpclient)");
    /* a closed agent must give EPIPE, not kill us */
    signal(SIGPIPE, SIG_IGN);
    if (optind < argc) {
        for (i = (size_t)optind; i < (size_t)argc; i++)
            add(&st, i - (size_t)optind + 1, argv[i], strlen(argv[i]));
    } else {
        read_input(&st);
    }
    run(&st);
    code = report(&st);
    for (i = 0; i < st.nitems; i++) {
        free(st.items[i].der);
        free(st.items[i].rcpt);
        free(st.items[i].dkey);
        free(st.items[i].why);
    }
    free(st.items);
    if (st.dns_up) dnsq_free(&st.dns);
    return code;
}
