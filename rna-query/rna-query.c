/*
 * rna-query: the recipient's side of RNAQP. Authenticates, retrieves and
 * clears the account's notifications, prints one line per notification.
 *
 *   rna-query [-v] [-j] [-a HOST:PORT | -s DOMAIN | -u] [-P FD] [-c SECS]
 *             [-t SECS] ACCOUNT
 *
 * The password comes from $RNA_PASSWORD or, with -P, the first line read
 * from descriptor FD; never from the command line, where ps shows it.
 *
 * Retrieval clears (PROTOCOL.md 5.3), and the agent commits the clear
 * only when our next move proves we have the response. So: read the
 * whole ResponseRetrieveAndClear, write every line to stdout and flush
 * it, and only then close the connection in order (EOF to the agent). If
 * anything fails after the retrieve was sent (the response, the output),
 * reset the connection instead (SO_LINGER 0): the agent aborts and keeps
 * the notifications, to be delivered next time. A notification is thus
 * never lost; an abnormal end may deliver one twice.
 *
 * Exit codes: 0 done (also with nothing to report); 100 usage, or the
 * agent refused the account or password; 111 anything temporary.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "die.h"
#include "dnsq.h"
#include "esc.h"
#include "frame.h"
#include "rna-query.h"
#include "sess.h"
#include "srv.h"

/* A response may carry every notification of the account. */
#define RESPONSE_MAX (64u << 20)

struct state {
    int verbose;
    int json;
    int ucspi;
    const char *agent;      /* -a */
    char ahost[256];
    uint16_t aport;
    const char *srvdom;     /* -s */
    int pwfd;               /* -P, or -1 */
    int64_t connect_ms;
    int64_t response_ms;
    struct pdu_str account;
    unsigned char password[PDU_MAX_PASSWORD + 2];
    size_t pwlen;
    int rfd, wfd;
    struct frame_rd rd;
    struct dnsq dns;
    int dns_up;
};

static struct state *cleanup_st; /* for die(): reset the session, scrub */

static void reset_session(struct state *st)
{
    struct linger l = {1, 0};
    if (st->rfd < 0) return;
    /* an RST, not a FIN: the agent must not take this for receipt */
    setsockopt(st->rfd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    if (st->wfd != st->rfd) close(st->wfd);
    close(st->rfd);
    st->rfd = st->wfd = -1;
}

_Noreturn static void die(int code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void die(int code, const char *fmt, ...)
{
    va_list ap;
    if (cleanup_st) {
        reset_session(cleanup_st);
        memset(cleanup_st->password, 0, sizeof cleanup_st->password);
    }
    va_start(ap, fmt);
    die_vline("rna-query", "fatal", fmt, ap);
    va_end(ap);
    exit(code);
}

_Noreturn static void usage(void)
{
    fputs("rna-query: usage: rna-query [-v] [-j] [-a HOST:PORT | -s DOMAIN | -u] "
          "[-P FD] [-c SECS] [-t SECS] ACCOUNT\n",
          stderr);
    exit(EXIT_PERM);
}

/* Whole seconds, 1 .. 86400, as milliseconds. */
static int64_t seconds(const char *s)
{
    uint64_t v;
    if (sess_u64(s, 1, 86400, &v) < 0) usage();
    return (int64_t)v * 1000;
}

static int fd_number(const char *s)
{
    long v = 0;
    if (!*s || (*s == '0' && s[1])) usage();
    for (; *s; s++) {
        if (*s < '0' || *s > '9') usage();
        v = v * 10 + (*s - '0');
        if (v > 65535) usage();
    }
    return (int)v;
}

/* The first line of fd: the password, without its newline (or CR LF). */
static void read_password(struct state *st)
{
    size_t n = 0;
    for (;;) {
        ssize_t k;
        if (n == sizeof st->password)
            die(EXIT_PERM, "the password is longer than %d octets",
                PDU_MAX_PASSWORD);
        k = read(st->pwfd, st->password + n, 1);
        if (k < 0) {
            if (errno == EINTR) continue;
            die(EXIT_TEMP, "unable to read the password from descriptor %d: %s",
                st->pwfd, strerror(errno));
        }
        if (k == 0 || st->password[n] == '\n') break;
        n++;
    }
    if (n > 0 && st->password[n - 1] == '\r') n--;
    st->pwlen = n;
}

static void get_password(struct state *st)
{
    if (st->pwfd >= 0) {
        read_password(st);
    } else {
        const char *p = getenv("RNA_PASSWORD");
        size_t n;
        if (!p) die(EXIT_PERM, "no password: set $RNA_PASSWORD or use -P FD");
        n = strlen(p);
        if (n > PDU_MAX_PASSWORD)
            die(EXIT_PERM, "the password is longer than %d octets",
                PDU_MAX_PASSWORD);
        memcpy(st->password, p, n);
        st->pwlen = n;
    }
    if (st->pwlen == 0) die(EXIT_PERM, "the password is empty");
    if (!pdu_utf8_ok(st->password, st->pwlen))
        die(EXIT_PERM, "the password is not UTF-8 without control characters");
}

static void note(void *ctx, const char *line)
{
    (void)ctx;
    fprintf(stderr, "rna-query: info: %s\n", line);
}

static int is_literal(const char *host)
{
    unsigned char ip[16];
    return inet_pton(AF_INET, host, ip) == 1 || inet_pton(AF_INET6, host, ip) == 1;
}

static void dns_up(struct state *st)
{
    if (st->dns_up) return;
    if (dnsq_init(&st->dns, getenv("DNSCACHEIP")) < 0) {
        if (errno == EINVAL)
            die(EXIT_PERM, "$DNSCACHEIP is not a list of IPv4 addresses");
        die(EXIT_TEMP, "unable to start the resolver: %s", strerror(errno));
    }
    st->dns_up = 1;
}

static void connect_agent(struct state *st)
{
    struct srv_conn c;
    srv_note_fn *nf = st->verbose ? note : NULL;
    int r;

    if (st->ucspi) {
        st->rfd = 6;
        st->wfd = 7;
        return;
    }
    if (st->srvdom) {
        dns_up(st);
        r = srv_locate(&st->dns, "_rnaqp._tcp", st->srvdom, st->connect_ms,
                       srv_rand_system, NULL, nf, NULL, &c);
    } else {
        if (!is_literal(st->ahost)) dns_up(st);
        r = srv_host(&st->dns, st->ahost, st->aport, st->connect_ms, nf, NULL,
                     &c);
    }
    if (r != SRV_OK)
        die(r == SRV_PERM ? EXIT_PERM : EXIT_TEMP, "unable to reach the agent: %s",
            c.why);
    st->rfd = st->wfd = c.fd;
}

/* Send one frame built by the caller in w. */
static void send_frame(struct state *st, struct der_w *w, const char *what)
{
    int r;
    if (frame_w_end(w) < 0) {
        der_w_free(w);
        die(EXIT_TEMP, "unable to build %s: %s", what, strerror(errno));
    }
    r = frame_write_all(st->wfd, w->buf, w->len, clock_ms() + st->response_ms);
    /* the password was in there */
    memset(w->buf, 0, w->len);
    der_w_free(w);
    if (r < 0) die(EXIT_TEMP, "unable to send %s: %s", what, strerror(errno));
}

static void get_response(struct state *st, struct pdu *m, const char *what)
{
    const unsigned char *body;
    size_t len;
    enum frame_status fs = frame_get(&st->rd, clock_ms() + st->response_ms,
                                     &body, &len);
    switch (fs) {
    case FRAME_OK:
        break;
    case FRAME_TIMEOUT:
        die(EXIT_TEMP, "no response to %s within %lld s", what,
            (long long)(st->response_ms / 1000));
    case FRAME_IOERR:
        die(EXIT_TEMP, "unable to read the response to %s: %s", what,
            strerror(errno));
    case FRAME_BADLEN:
        die(EXIT_TEMP, "response to %s: bad frame length %lu", what,
            (unsigned long)st->rd.badlen);
    default:
        die(EXIT_TEMP, "the agent closed the connection before answering %s",
            what);
    }
    if (pdu_decode_response(PDU_RNAQP, body, len, m) != PDU_OK)
        die(EXIT_TEMP, "malformed response to %s", what);
}

static const char *status_text(uint32_t s)
{
    const char *n = pdu_status_name(PDU_RNAQP, s);
    return n ? n : "an unknown status";
}

static void authenticate(struct state *st)
{
    struct der_w w;
    struct pdu m;
    struct pdu_str pw = {st->password, st->pwlen};

    der_w_growing(&w, 4096);
    frame_w_begin(&w);
    pdu_enc_cmd_auth(&w, &st->account, &pw);
    send_frame(st, &w, "CommandAuthenticate");
    memset(st->password, 0, sizeof st->password);
    get_response(st, &m, "CommandAuthenticate");
    if (m.status == PDU_S_AUTHFAILED)
        die(EXIT_PERM, "authentication failed (unknown account or wrong password)");
    if (m.status != PDU_S_NOERROR)
        die(EXIT_TEMP, "authentication: the agent answered %s", status_text(m.status));
    if (m.kind != PDU_RESP_AUTH)
        die(EXIT_TEMP, "authentication: unexpected response type");
}

/* The orderly end: FIN, then wait (bounded) for the agent to close. */
static void close_session(struct state *st)
{
    int64_t deadline = clock_ms() + st->response_ms;
    unsigned char junk[512];

    if (shutdown(st->wfd, SHUT_WR) < 0 && errno != ENOTSOCK)
        die(EXIT_TEMP, "unable to close the connection: %s", strerror(errno));
    if (st->wfd != st->rfd) {
        close(st->wfd);
        st->wfd = st->rfd;
    }
    for (;;) {
        ssize_t k;
        int w = frame_wait_fd(st->rfd, POLLIN, deadline, NULL, NULL);
        if (w <= 0) break; /* the agent is slow to close: done on our side */
        k = read(st->rfd, junk, sizeof junk);
        if (k < 0 && (errno == EINTR || errno == EAGAIN)) continue;
        if (k <= 0) break;
    }
    close(st->rfd);
    st->rfd = st->wfd = -1;
}

static size_t retrieve(struct state *st)
{
    struct der_w w;
    struct pdu m;
    struct pdu_iter it;
    struct pdu_nald x;
    size_t count = 0;

    der_w_growing(&w, 64);
    frame_w_begin(&w);
    pdu_enc_cmd_retrieve(&w);
    send_frame(st, &w, "CommandRetrieveAndClear");
    get_response(st, &m, "CommandRetrieveAndClear");
    if (m.status != PDU_S_NOERROR)
        die(EXIT_TEMP, "retrieve: the agent answered %s", status_text(m.status));
    if (m.kind != PDU_RESP_RETRIEVE)
        die(EXIT_TEMP, "retrieve: unexpected response type");
    /* everything received and valid: now the output, then the close */
    pdu_iter_init(&it, &m.list);
    while (pdu_next_nald(&it, &x) == 1) {
        if (st->json) out_json(stdout, &x);
        else out_text(stdout, &x);
        count++;
    }
    if (fflush(stdout) == EOF || ferror(stdout))
        die(EXIT_TEMP, "unable to write the notifications (the agent keeps them): %s",
            strerror(errno));
    return count;
}

int main(int argc, char **argv)
{
    static const struct option longs[] = {
        {"json", no_argument, NULL, 'j'},
        {"agent", required_argument, NULL, 'a'},
        {"srv", required_argument, NULL, 's'},
        {"ucspi", no_argument, NULL, 'u'},
        {"password-fd", required_argument, NULL, 'P'},
        {"verbose", no_argument, NULL, 'v'},
        {"keep", no_argument, NULL, 'K'},
        {NULL, 0, NULL, 0},
    };
    static struct state st;
    int opt, how = 0;
    size_t n;

    st.pwfd = -1;
    st.rfd = st.wfd = -1;
    st.connect_ms = 10000;
    st.response_ms = 60000;
    while ((opt = getopt_long(argc, argv, "+vja:s:uP:c:t:", longs, NULL)) != -1) {
        switch (opt) {
        case 'v': st.verbose = 1; break;
        case 'j': st.json = 1; break;
        case 'a':
            st.agent = optarg;
            how++;
            if (srv_hostport(optarg, st.ahost, sizeof st.ahost, &st.aport) < 0)
                usage();
            break;
        case 's': st.srvdom = optarg; how++; break;
        case 'u': st.ucspi = 1; how++; break;
        case 'P': st.pwfd = fd_number(optarg); break;
        case 'c': st.connect_ms = seconds(optarg); break;
        case 't': st.response_ms = seconds(optarg); break;
        case 'K':
            die(EXIT_PERM, "--keep is not possible: RNAQP has no way to read "
                           "without clearing (see rna-query(1))");
        default: usage();
        }
    }
    if (argc - optind != 1 || how != 1) usage();
    st.account.p = (const unsigned char *)argv[optind];
    st.account.len = strlen(argv[optind]);
    if (!pdu_account_ok(st.account.p, st.account.len))
        die(EXIT_PERM, "invalid account name (1 to 64 of A-Z a-z 0-9 . _ -)");
    if (st.ucspi && (fcntl(6, F_GETFD) < 0 || fcntl(7, F_GETFD) < 0))
        die(EXIT_PERM, "-u: descriptors 6 and 7 are not open (run me under tcpclient)");
    get_password(&st);
    signal(SIGPIPE, SIG_IGN);
    cleanup_st = &st;
    connect_agent(&st);
    if (frame_rd_init(&st.rd, st.rfd, RESPONSE_MAX) < 0)
        die(EXIT_TEMP, "out of memory");
    authenticate(&st);
    n = retrieve(&st);
    close_session(&st);
    cleanup_st = NULL;
    frame_rd_free(&st.rd);
    if (st.dns_up) dnsq_free(&st.dns);
    if (st.verbose) fprintf(stderr, "rna-query: info: %zu notifications\n", n);
    return 0;
}
