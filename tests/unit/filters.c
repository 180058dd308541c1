/*
 * rnasp-d and rnaqp-d end to end: a real rna-store, real tcpserver
 * listeners on 127.0.0.1, real cdb files. Every row of PROTOCOL.md
 * section 4, sections 5.1-5.3, pipelining, and 50 concurrent sessions of
 * each protocol.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent.h"
#include "frame.h"
#include "pdu.h"
#include "t.h"

#define ST "store.example.net"

static const char *dir;
static int sp, qp; /* ports */

/* ---- client side helpers (frames come from tests/lib/agent.c) ---- */

static int sendall(int fd, const void *p, size_t n)
{
    return frame_write_all(fd, p, n, clock_ms() + 5000);
}

struct resp {
    struct frame_rd rd;
    struct pdu m;
    int ok;
};

/* Read one response; 1 got, 0 EOF, -1 error or timeout, -2 undecodable. */
static int rresp(struct resp *r, enum pdu_proto proto, int64_t ms)
{
    const unsigned char *b;
    size_t l;
    enum frame_status fs = frame_get(&r->rd, clock_ms() + ms, &b, &l);
    if (fs == FRAME_EOF) return 0;
    if (fs != FRAME_OK) return -1;
    return pdu_decode_response(proto, b, l, &r->m) == PDU_OK ? 1 : -2;
}

static int ropen(struct resp *r, int fd)
{
    return frame_rd_init(&r->rd, fd, 64u << 20);
}

/* Connect and expect the next response to be (kind, abort, status). */
static int expect(struct resp *r, enum pdu_proto proto, enum pdu_kind kind,
                  int abort, uint32_t status)
{
    int k = rresp(r, proto, 10000);
    return k == 1 && r->m.kind == kind && r->m.forceabort == abort &&
           r->m.status == status;
}

static int closed_soon(int fd, int ms)
{
    char c;
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return read(fd, &c, 1) == 0;
}

/* Retrieve all for an account over RNAQP and close cleanly; ids out. */
static int fetch(const char *acct, const char *pw, uint32_t *ids, size_t max)
{
    unsigned char buf[512];
    struct resp r;
    int fd = agent_connect(qp), n = -1;
    if (fd < 0) return -1;
    ropen(&r, fd);
    sendall(fd, buf, agent_frame_auth(buf, sizeof buf, acct, pw));
    if (expect(&r, PDU_RNAQP, PDU_RESP_AUTH, 0, 0)) {
        sendall(fd, buf, agent_frame_retrieve(buf, sizeof buf));
        if (expect(&r, PDU_RNAQP, PDU_RESP_RETRIEVE, 0, 0)) {
            struct pdu_iter it;
            struct pdu_nald x;
            n = 0;
            pdu_iter_init(&it, &r.m.list);
            while (pdu_next_nald(&it, &x) == 1) {
                if ((size_t)n < max)
                    ids[n] = (uint32_t)x.n.id[12] << 24 | (uint32_t)x.n.id[13] << 16 |
                             (uint32_t)x.n.id[14] << 8 | x.n.id[15];
                n++;
            }
        }
    }
    shutdown(fd, SHUT_WR); /* an orderly close: proof of receipt */
    closed_soon(fd, 2000);
    close(fd);
    frame_rd_free(&r.rd);
    return n;
}

static int notify1(const char *lp, uint32_t id, struct resp *out)
{
    unsigned char buf[4096];
    struct resp r;
    int fd = agent_connect(sp), k;
    if (fd < 0) return -1;
    ropen(&r, fd);
    sendall(fd, buf, agent_frame_notify(buf, sizeof buf, lp, "example.org", id, 1));
    k = rresp(&r, PDU_RNASP, 10000);
    if (out) *out = r;
    close(fd);
    if (!out) frame_rd_free(&r.rd);
    return k == 1 ? (int)r.m.status : -1;
}

/* ---- RNASP ---- */

static void test_sp_basic(void)
{
    unsigned char buf[8192];
    struct resp r;
    int fd = agent_connect(sp);
    size_t n;
    uint32_t ids[64];

    T_OK(fd >= 0, "connect rnasp");
    ropen(&r, fd);
    sendall(fd, buf, agent_frame_notify(buf, sizeof buf, "alice", "example.org", 1, 2));
    T_OK(expect(&r, PDU_RNASP, PDU_RESP_NOTIFY, 0, 0) && !r.m.has_rejected,
         "sp_notify_accepted_noerror_without_rejected");
    sendall(fd, buf, agent_frame_notify(buf, sizeof buf, "alice", "example.org", 1, 1));
    T_OK(expect(&r, PDU_RNASP, PDU_RESP_NOTIFY, 0, 0), "sp_repeat_collapsed_accepted");
    sendall(fd, buf, agent_frame_notify(buf, sizeof buf, "alice", "example.org", 0, 0));
    T_OK(expect(&r, PDU_RNASP, PDU_RESP_NOTIFY, 0, 0), "sp_zero_notifications_succeed");
    {
        struct der_w w;
        der_w_fixed(&w, buf, sizeof buf);
        frame_w_begin(&w);
        pdu_enc_cmd_notify_begin(&w);
        agent_put_notif(&w, "alice", "example.org", 3, "s@x");
        agent_put_notif(&w, "nobody", "example.org", 4, "s@x");
        agent_put_notif(&w, "alice", "example.org", 5, "s@x");
        agent_put_notif(&w, "alice", "elsewhere.example", 6, "s@x");
        pdu_enc_cmd_notify_end(&w);
        frame_w_end(&w);
        sendall(fd, buf, w.len);
    }
    T_OK(expect(&r, PDU_RNASP, PDU_RESP_NOTIFY, 1, PDU_S_NOSUCHMAILBOX) &&
             r.m.has_rejected && r.m.list.count == 2,
         "sp_unknown_mailbox_abort_status_10_rejected_positions");
    {
        struct pdu_iter it;
        uint64_t a = 9, b = 9;
        pdu_iter_init(&it, &r.m.list);
        pdu_next_uint(&it, &a);
        pdu_next_uint(&it, &b);
        T_OK(a == 1 && b == 3, "sp_rejected_lists_1_and_3");
    }
    sendall(fd, buf, agent_frame_notify(buf, sizeof buf, "quota", "example.org", 10, 3));
    T_OK(expect(&r, PDU_RNASP, PDU_RESP_NOTIFY, 1, PDU_S_QUOTA) && r.m.list.count == 1,
         "sp_quota_abort_status_9_rejected_past_room");
    {
        struct der_w w;
        der_w_fixed(&w, buf, sizeof buf);
        frame_w_begin(&w);
        pdu_enc_cmd_notify_begin(&w);
        agent_put_notif(&w, "alice", "example.org", 20, "x@junk.example");
        pdu_enc_cmd_notify_end(&w);
        frame_w_end(&w);
        sendall(fd, buf, w.len);
    }
    T_OK(expect(&r, PDU_RNASP, PDU_RESP_NOTIFY, 0, 0), "sp_discarded_looks_accepted");
    close(fd);
    frame_rd_free(&r.rd);
    n = (size_t)fetch("alice", "alicepw", ids, 64);
    T_OK(n == 2 && ids[0] == 1 && ids[1] == 2,
         "sp_only_accepted_stored_oldest_first (got %d)", (int)n);
    fetch("quota", "quotapw", ids, 64);
}

static void test_sp_section4(void)
{
    unsigned char buf[8192];
    struct resp r;
    int fd;
    size_t n;

    fd = agent_connect(sp);
    ropen(&r, fd);
    sendall(fd, "\x00\x00\x00\x03\x01\x02\x03", 7);
    T_OK(expect(&r, PDU_RNASP, PDU_RESP_NULL, 1, PDU_S_MALFORMED),
         "sp_garbage_pdu_malformed");
    sendall(fd, "\x00\x00\x00\x0c\xa2\x0a\x80\x01\x00\x81\x01\x00\xa2\x02\xa1\x00", 16);
    T_OK(expect(&r, PDU_RNASP, PDU_RESP_NULL, 1, PDU_S_MALFORMED),
         "sp_response_from_client_malformed");
    sendall(fd, "\x00\x00\x00\x06\xa1\x04\xa0\x02\xa1\x00", 10);
    T_OK(expect(&r, PDU_RNASP, PDU_RESP_NULL, 1, PDU_S_UNEXPECTED),
         "sp_unknown_alternative_unexpected");
    sendall(fd, "\x00\x00\x00\x0a\xa1\x06\xa0\x04\xa0\x02\xa0\x00\x00\x00", 14);
    T_OK(expect(&r, PDU_RNASP, PDU_RESP_NULL, 1, PDU_S_MALFORMED),
         "sp_trailing_octets_malformed");
    n = agent_frame_notify(buf, sizeof buf, "alice", "example.org", 30, 1);
    sendall(fd, buf, n);
    T_OK(expect(&r, PDU_RNASP, PDU_RESP_NOTIFY, 0, 0), "sp_session_continues_after_errors");
    sendall(fd, "\x00\x00\x00\x00", 4);
    T_OK(expect(&r, PDU_RNASP, PDU_RESP_NULL, 1, PDU_S_MALFORMED) && closed_soon(fd, 2000),
         "sp_zero_length_frame_malformed_and_close");
    close(fd);
    frame_rd_free(&r.rd);

    fd = agent_connect(sp);
    ropen(&r, fd);
    sendall(fd, "\x00\x10\x00\x01", 4); /* 1 MiB + 1, no body sent */
    T_OK(expect(&r, PDU_RNASP, PDU_RESP_NULL, 1, PDU_S_MALFORMED) && closed_soon(fd, 2000),
         "sp_oversize_frame_malformed_and_close_without_body");
    close(fd);
    frame_rd_free(&r.rd);

    fd = agent_connect(sp);
    sendall(fd, "\x00\x00\x00\x20\xa1", 5);
    shutdown(fd, SHUT_WR);
    T_OK(closed_soon(fd, 3000), "sp_eof_mid_frame_closes_silently");
    close(fd);

    /* pipelining: 20 commands in one write, answered in order */
    fd = agent_connect(sp);
    ropen(&r, fd);
    {
        size_t off = 0;
        int i, good = 1;
        for (i = 0; i < 20; i++) {
            if (i % 4 == 3) {
                memcpy(buf + off, "\x00\x00\x00\x06\xa1\x04\xa0\x02\xa1\x00", 10);
                off += 10;
            } else {
                off += agent_frame_notify(buf + off, sizeof buf - off, "bob", "example.org",
                                    100 + (uint32_t)i, 1);
            }
        }
        sendall(fd, buf, off);
        for (i = 0; i < 20; i++) {
            if (i % 4 == 3) good &= expect(&r, PDU_RNASP, PDU_RESP_NULL, 1, PDU_S_UNEXPECTED);
            else good &= expect(&r, PDU_RNASP, PDU_RESP_NOTIFY, 0, 0);
        }
        T_OK(good, "sp_pipelined_20_commands_answered_in_order");
    }
    close(fd);
    frame_rd_free(&r.rd);
    {
        uint32_t ids[64];
        int k = fetch("bob", "bobpw", ids, 64);
        T_OK(k == 15 && ids[0] == 100 && ids[14] == 118, "sp_pipelined_notifications_stored_in_order");
    }
}

static void test_sp_timeout(int port)
{
    struct resp r;
    int fd = agent_connect(port);
    int i, written = 0;
    ropen(&r, fd);
    /* Trickle a frame one octet every 300 ms for up to 6 s: the 1 s
     * deadline covers the whole frame, so the answer comes after about
     * 3 octets; a deadline renewed by each octet would never come. */
    for (i = 0; i < 20; i++) {
        struct pollfd pf = {fd, POLLIN, 0};
        if (poll(&pf, 1, 300) > 0) break; /* the answer (or the close) is here */
        if (write(fd, "\x00", 1) != 1) break;
        written++;
    }
    T_OK(expect(&r, PDU_RNASP, PDU_RESP_NULL, 1, PDU_S_TIMEOUT),
         "sp_idle_timeout_answers_errorcommandtimeout");
    T_OK(written < 20, "sp_trickling_does_not_extend_deadline (%d octets trickled)", written);
    T_OK(closed_soon(fd, 2000), "sp_timeout_closes");
    close(fd);
    frame_rd_free(&r.rd);
}

static void test_sp_store_down(int port_nostore, int port_noconfig)
{
    unsigned char buf[4096];
    struct resp r;
    int fd = agent_connect(port_nostore);
    ropen(&r, fd);
    sendall(fd, buf, agent_frame_notify(buf, sizeof buf, "alice", "example.org", 1, 1));
    T_OK(expect(&r, PDU_RNASP, PDU_RESP_NOTIFY, 1, PDU_S_SHUTDOWN) && closed_soon(fd, 2000),
         "sp_store_unreachable_serviceshutdown_and_close");
    close(fd);
    frame_rd_free(&r.rd);

    fd = agent_connect(port_noconfig);
    ropen(&r, fd);
    sendall(fd, buf, agent_frame_notify(buf, sizeof buf, "alice", "example.org", 1, 1));
    T_OK(expect(&r, PDU_RNASP, PDU_RESP_NOTIFY, 1, PDU_S_INTERNAL),
         "sp_internal_failure_errorinternalproblem");
    sendall(fd, buf, agent_frame_notify(buf, sizeof buf, "alice", "example.org", 1, 1));
    T_OK(expect(&r, PDU_RNASP, PDU_RESP_NOTIFY, 1, PDU_S_INTERNAL),
         "sp_internal_failure_session_continues");
    close(fd);
    frame_rd_free(&r.rd);
}

/* rnasp-d run directly on a socketpair: environment checks and SIGTERM */
static void test_sp_direct(void)
{
    int sv[2], st;
    pid_t pid;
    char bin[256];
    const char *b = getenv("BUILD");
    snprintf(bin, sizeof bin, "%s/bin/rnasp-d", b && *b ? b : "build");

    pid = fork();
    if (pid == 0) {
        int nul = open("/dev/null", O_WRONLY);
        dup2(nul, 2);
        unsetenv("TCPREMOTEIP");
        execl(bin, "rnasp-d", dir, (char *)NULL);
        _exit(127);
    }
    waitpid(pid, &st, 0);
    T_OK(WIFEXITED(st) && WEXITSTATUS(st) == 111, "sp_missing_environment_exits_111");

    pid = fork();
    if (pid == 0) {
        int nul = open("/dev/null", O_WRONLY);
        dup2(nul, 2);
        setenv("TCPREMOTEIP", "127.0.0.1", 1);
        setenv("TCPREMOTEPORT", "1", 1);
        setenv("IDLE_TIMEOUT", "soon", 1);
        execl(bin, "rnasp-d", dir, (char *)NULL);
        _exit(127);
    }
    waitpid(pid, &st, 0);
    T_OK(WIFEXITED(st) && WEXITSTATUS(st) == 111, "sp_broken_setting_exits_111");

    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    pid = fork();
    if (pid == 0) {
        int nul = open("/dev/null", O_WRONLY);
        dup2(sv[1], 0);
        dup2(sv[1], 1);
        dup2(nul, 2);
        close(sv[0]);
        setenv("TCPREMOTEIP", "::ffff:192.0.2.8", 1);
        setenv("TCPREMOTEPORT", "4000", 1);
        execl(bin, "rnasp-d", dir, (char *)NULL);
        _exit(127);
    }
    close(sv[1]);
    usleep(200000);
    kill(pid, SIGTERM);
    waitpid(pid, &st, 0);
    T_OK(WIFEXITED(st) && WEXITSTATUS(st) == 0 && closed_soon(sv[0], 1000),
         "sp_sigterm_while_idle_exits_0_writing_nothing");
    close(sv[0]);
}

static void test_sp_concurrent(void)
{
    enum { N = 50 };
    pid_t kids[N];
    int i, good = 1;
    uint32_t ids[N + 8];
    for (i = 0; i < N; i++) {
        kids[i] = fork();
        if (kids[i] == 0) _exit(notify1("carol", 5000 + (uint32_t)i, NULL) == 0 ? 0 : 1);
    }
    for (i = 0; i < N; i++) {
        int st;
        waitpid(kids[i], &st, 0);
        if (!WIFEXITED(st) || WEXITSTATUS(st)) good = 0;
    }
    T_OK(good, "sp_50_concurrent_sessions_all_accepted");
    T_OK(fetch("carol", "carolpw", ids, N + 8) == N, "sp_50_concurrent_all_stored");
}

/* ---- RNAQP ---- */

static void test_qp_auth(void)
{
    unsigned char buf[1024];
    struct resp r;
    int fd = agent_connect(qp);
    int64_t t;

    ropen(&r, fd);
    sendall(fd, buf, agent_frame_retrieve(buf, sizeof buf));
    T_OK(expect(&r, PDU_RNAQP, PDU_RESP_NULL, 1, PDU_S_NOTAUTH),
         "qp_retrieve_unauthenticated_notauthenticated");
    t = clock_ms();
    sendall(fd, buf, agent_frame_auth(buf, sizeof buf, "alice", "wrong"));
    T_OK(expect(&r, PDU_RNAQP, PDU_RESP_AUTH, 1, PDU_S_AUTHFAILED),
         "qp_wrong_password_authfailed");
    T_OK(clock_ms() - t >= 200, "qp_first_failure_delayed_base");
    sendall(fd, "\x00\x00\x00\x02\x30\x00", 6);
    T_OK(expect(&r, PDU_RNAQP, PDU_RESP_NULL, 1, PDU_S_MALFORMED),
         "qp_malformed_while_unauthenticated");
    t = clock_ms();
    sendall(fd, buf, agent_frame_auth(buf, sizeof buf, "ghost", "whatever"));
    T_OK(expect(&r, PDU_RNAQP, PDU_RESP_AUTH, 1, PDU_S_AUTHFAILED),
         "qp_unknown_account_same_answer");
    T_OK(clock_ms() - t >= 400, "qp_second_failure_delayed_double");
    sendall(fd, buf, agent_frame_auth(buf, sizeof buf, "alice", "alicepw"));
    T_OK(expect(&r, PDU_RNAQP, PDU_RESP_AUTH, 0, 0),
         "qp_malformed_did_not_count_as_failure_third_try_succeeds");
    sendall(fd, "\x00\x00\x00\x02\x30\x00", 6);
    T_OK(expect(&r, PDU_RNAQP, PDU_RESP_NULL, 1, PDU_S_MALFORMED), "qp_malformed_when_authed");
    sendall(fd, buf, agent_frame_retrieve(buf, sizeof buf));
    T_OK(expect(&r, PDU_RNAQP, PDU_RESP_RETRIEVE, 0, 0),
         "qp_malformed_does_not_deauthenticate");
    sendall(fd, "\x00\x00\x00\x06\xa1\x04\xa0\x02\xa2\x00", 10);
    T_OK(expect(&r, PDU_RNAQP, PDU_RESP_NULL, 1, PDU_S_UNEXPECTED),
         "qp_commandwait_unknown_here_unexpected");
    close(fd);
    frame_rd_free(&r.rd);

    fd = agent_connect(qp);
    ropen(&r, fd);
    t = clock_ms();
    sendall(fd, buf, agent_frame_auth(buf, sizeof buf, "alice", "x"));
    sendall(fd, buf, agent_frame_auth(buf, sizeof buf, "alice", "y"));
    sendall(fd, buf, agent_frame_auth(buf, sizeof buf, "alice", "z"));
    T_OK(expect(&r, PDU_RNAQP, PDU_RESP_AUTH, 1, 7) && expect(&r, PDU_RNAQP, PDU_RESP_AUTH, 1, 7) &&
             expect(&r, PDU_RNAQP, PDU_RESP_AUTH, 1, 7),
         "qp_three_failures_answered");
    T_OK(clock_ms() - t >= 1400, "qp_delays_200_400_800 (%lld ms)", (long long)(clock_ms() - t));
    T_OK(closed_soon(fd, 2000), "qp_closed_after_third_failure");
    close(fd);
    frame_rd_free(&r.rd);
}

/* Unknown account vs wrong password: same answer, similar time. Samples
 * interleave, and medians are compared, so a load spike on a shared
 * machine moves both sides or neither. */
static int cmp_ms(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static void test_qp_timing(int port)
{
    enum { K = 8 };
    unsigned char buf[512];
    int64_t tu[K], tw[K], mu, mw;
    int i, same = 1;
    for (i = 0; i < 2 * K; i++) {
        struct resp r;
        int fd = agent_connect(port);
        int64_t t;
        ropen(&r, fd);
        t = clock_ms();
        sendall(fd, buf, agent_frame_auth(buf, sizeof buf, i % 2 ? "alice" : "nosuchuser", "bad"));
        same &= expect(&r, PDU_RNAQP, PDU_RESP_AUTH, 1, 7);
        if (i % 2) tw[i / 2] = clock_ms() - t;
        else tu[i / 2] = clock_ms() - t;
        close(fd);
        frame_rd_free(&r.rd);
    }
    qsort(tu, K, sizeof *tu, cmp_ms);
    qsort(tw, K, sizeof *tw, cmp_ms);
    mu = tu[K / 2];
    mw = tw[K / 2];
    T_OK(same, "qp_unknown_and_wrong_same_answer");
    T_OK(mu * 3 >= mw && mw * 3 >= mu,
         "qp_unknown_and_wrong_similar_time (medians: unknown %lld ms, wrong %lld ms)",
         (long long)mu, (long long)mw);
}

static void test_qp_retrieve(void)
{
    unsigned char buf[1024];
    struct resp r;
    uint32_t ids[64];
    int fd, k;

    notify1("alice", 200, NULL);
    notify1("alice", 201, NULL);
    notify1("bob", 202, NULL);
    /* switching accounts */
    fd = agent_connect(qp);
    ropen(&r, fd);
    sendall(fd, buf, agent_frame_auth(buf, sizeof buf, "alice", "alicepw"));
    sendall(fd, buf, agent_frame_auth(buf, sizeof buf, "bob", "bobpw"));
    sendall(fd, buf, agent_frame_retrieve(buf, sizeof buf));
    T_OK(expect(&r, PDU_RNAQP, PDU_RESP_AUTH, 0, 0) && expect(&r, PDU_RNAQP, PDU_RESP_AUTH, 0, 0) &&
             expect(&r, PDU_RNAQP, PDU_RESP_RETRIEVE, 0, 0) && r.m.list.count == 1,
         "qp_switching_accounts_retrieves_the_new_one");
    /* the next frame proves receipt: a second retrieve is empty */
    sendall(fd, buf, agent_frame_retrieve(buf, sizeof buf));
    T_OK(expect(&r, PDU_RNAQP, PDU_RESP_RETRIEVE, 0, 0) && r.m.list.count == 0,
         "qp_next_frame_commits_the_clear");
    close(fd);
    frame_rd_free(&r.rd);

    /* a client that closes without reading: reset, nothing cleared */
    fd = agent_connect(qp);
    sendall(fd, buf, agent_frame_auth(buf, sizeof buf, "alice", "alicepw"));
    usleep(300000); /* authenticated; its answer sits unread */
    sendall(fd, buf, agent_frame_retrieve(buf, sizeof buf));
    usleep(300000);
    close(fd); /* unread data: the kernel sends a reset */
    usleep(300000);
    k = fetch("alice", "alicepw", ids, 64);
    T_OK(k == 2 && ids[0] == 200 && ids[1] == 201,
         "qp_close_without_reading_keeps_notifications_oldest_first (got %d)", k);
    T_OK(fetch("alice", "alicepw", ids, 64) == 0, "qp_read_and_clean_close_clears");
    T_OK(agent_log_count(dir, "rnaqp-d.log", "clear=aborted reason=reset") +
                 agent_log_count(dir, "rnaqp-d.log", "clear=aborted reason=unacknowledged-close") >= 1,
         "qp_reset_logged_as_aborted");
}

/* An account of megabytes: many pieces of the store's answer, and more
 * than the sockets hold. A client that stops reading and closes part way
 * keeps everything (rnaqp-d's write fails; it drops the rest of the
 * store's answer and aborts); a whole read gets every one, oldest first. */
#define BIG_N 9000
#define BIG_PER 100 /* notifications per CommandNotify, under MAX_FRAME */
static void test_qp_large(void)
{
    size_t cap = 1u << 17;
    unsigned char *buf = malloc(cap);
    uint32_t *ids = malloc(BIG_N * sizeof *ids);
    char sender[520];
    struct resp r;
    int fd, i, j, k, ok = 1;

    if (!buf || !ids) exit(111);
    memset(sender, 's', 500);
    memcpy(sender + 500, "@example.net", 13); /* 512 octets and a NUL */
    for (i = 0; i < BIG_N / BIG_PER; i++) {
        struct der_w w;
        der_w_fixed(&w, buf, cap);
        frame_w_begin(&w);
        pdu_enc_cmd_notify_begin(&w);
        for (j = 0; j < BIG_PER; j++)
            agent_put_notif(&w, "big", "example.org", (uint32_t)(100000 + i * BIG_PER + j), sender);
        pdu_enc_cmd_notify_end(&w);
        fd = agent_connect(sp);
        ropen(&r, fd);
        if (frame_w_end(&w) < 0 || sendall(fd, w.buf, w.len) < 0 ||
            !expect(&r, PDU_RNASP, PDU_RESP_NOTIFY, 0, 0))
            ok = 0;
        close(fd);
        frame_rd_free(&r.rd);
    }
    T_OK(ok, "qp_large: %d notifications of 600 octets held for one account", BIG_N);

    fd = agent_connect(qp);
    ropen(&r, fd);
    sendall(fd, buf, agent_frame_auth(buf, cap, "big", "bigpw"));
    ok = expect(&r, PDU_RNAQP, PDU_RESP_AUTH, 0, 0);
    sendall(fd, buf, agent_frame_retrieve(buf, cap));
    usleep(300000); /* the response fills the sockets; nobody reads it */
    close(fd);      /* unread data: the kernel sends a reset */
    frame_rd_free(&r.rd);
    usleep(300000);
    k = fetch("big", "bigpw", ids, BIG_N);
    for (i = 0; ok && i < k && i < BIG_N; i++)
        if (ids[i] != (uint32_t)(100000 + i)) ok = 0;
    T_OK(ok && k == BIG_N,
         "qp_large_cut_short_keeps_all_then_relayed_whole_oldest_first (got %d)", k);
    T_OK(agent_log_count(dir, "rnaqp-d.log",
                         "account=big returned=9000 clear=aborted reason=write-failed") == 1 &&
             agent_log_count(dir, "rnaqp-d.log", "account=big returned=9000 clear=committed") == 1,
         "qp_large_logged_aborted_at_the_write_then_committed");
    T_OK(fetch("big", "bigpw", ids, BIG_N) == 0, "qp_large_cleared");
    free(buf);
    free(ids);
}

/* Kill rnaqp-d after it wrote the response, before the client's next move. */
static void test_qp_kill_filter(pid_t qpserver)
{
    unsigned char buf[1024];
    struct resp r;
    uint32_t ids[16];
    char path[128], line[256];
    FILE *f;
    int fd, k, killed = 0;

    notify1("bob", 300, NULL);
    fd = agent_connect(qp);
    ropen(&r, fd);
    sendall(fd, buf, agent_frame_auth(buf, sizeof buf, "bob", "bobpw"));
    sendall(fd, buf, agent_frame_retrieve(buf, sizeof buf));
    T_OK(expect(&r, PDU_RNAQP, PDU_RESP_AUTH, 0, 0) &&
             expect(&r, PDU_RNAQP, PDU_RESP_RETRIEVE, 0, 0) && r.m.list.count == 1,
         "qp_retrieve_before_kill");
    snprintf(path, sizeof path, "/proc/%d/task/%d/children", (int)qpserver, (int)qpserver);
    f = fopen(path, "r");
    if (f && fgets(line, sizeof line, f)) {
        char *p = line;
        while (*p) {
            long c = strtol(p, &p, 10);
            if (c > 0 && kill((pid_t)c, SIGKILL) == 0) killed++;
            while (*p == ' ') p++;
            if (!c) break;
        }
    }
    if (f) fclose(f);
    T_OK(killed >= 1, "qp_rnaqp_d_killed");
    usleep(200000);
    close(fd);
    frame_rd_free(&r.rd);
    k = fetch("bob", "bobpw", ids, 16);
    T_OK(k == 1 && ids[0] == 300, "qp_killed_filter_before_commit_keeps_notifications");
}

/* Submitters and readers at once: nothing lost, nothing twice. */
static void test_qp_concurrent(void)
{
    enum { W = 4, PER = 40, N = 50 };
    static unsigned char seen[W * PER];
    pid_t kids[W + N];
    int i, good = 1, pfd[2];
    size_t total = 0, dup = 0;
    uint32_t ids[W * PER];

    if (pipe(pfd) < 0) return;
    for (i = 0; i < W; i++) {
        kids[i] = fork();
        if (kids[i] == 0) {
            int j, bad = 0;
            for (j = 0; j < PER; j++)
                if (notify1("carol", 10000 + (uint32_t)(i * PER + j), NULL) != 0) bad = 1;
            _exit(bad);
        }
    }
    /* 50 concurrent RNAQP sessions, reporting what they got on a pipe */
    for (i = 0; i < N; i++) {
        kids[W + i] = fork();
        if (kids[W + i] == 0) {
            uint32_t got[W * PER];
            int k, j;
            close(pfd[0]);
            usleep((useconds_t)(i * 10000));
            k = fetch("carol", "carolpw", got, W * PER);
            for (j = 0; j < k; j++)
                if (write(pfd[1], &got[j], 4) != 4) _exit(2);
            _exit(k < 0 ? 1 : 0);
        }
    }
    close(pfd[1]);
    {
        uint32_t v;
        while (read(pfd[0], &v, 4) == 4) {
            total++;
            if (v < 10000 || v >= 10000 + W * PER || seen[v - 10000]) dup++;
            else seen[v - 10000] = 1;
        }
    }
    close(pfd[0]);
    for (i = 0; i < W + N; i++) {
        int st;
        waitpid(kids[i], &st, 0);
        if (!WIFEXITED(st) || WEXITSTATUS(st)) good = 0;
    }
    T_OK(good, "qp_50_concurrent_sessions_and_4_submitters_succeed");
    {
        int k = fetch("carol", "carolpw", ids, W * PER), j;
        for (j = 0; j < k; j++) {
            total++;
            if (ids[j] < 10000 || ids[j] >= 10000 + W * PER || seen[ids[j] - 10000]) dup++;
            else seen[ids[j] - 10000] = 1;
        }
    }
    T_OK(total == W * PER && dup == 0,
         "qp_concurrent_nothing_lost_nothing_twice (%zu of %d, %zu dup)", total, W * PER, dup);
}

int main(void)
{
    static const char *accts[] = {"alice", "bob", "carol", "quota", "big"};
    static const char *pws[] = {"alicepw", "bobpw", "carolpw", "quotapw", "bigpw"};
    static const char *fast[] = {"AUTH_DELAY_MS=200", NULL};
    static const char *nodelay[] = {"AUTH_DELAY_MS=0", NULL};
    static const char *idle1[] = {"IDLE_TIMEOUT=1", NULL};
    const char *d2, *d3;
    pid_t store, store3, lsp, lqp, lt, lqt, lnostore, lnoconf;
    int pt, pqt, pnostore, pnoconf;

    signal(SIGPIPE, SIG_IGN);
    dir = strdup(agent_mkdir());
    agent_cfg_reset();
    agent_cfg_domain("example.org");
    agent_cfg_mbox("alice", "example.org", "alice");
    agent_cfg_mbox("bob", "example.org", "bob");
    agent_cfg_mbox("carol", "example.org", "carol");
    agent_cfg_mbox("quota", "example.org", "quota");
    agent_cfg_mbox("big", "example.org", "big");
    agent_cfg_acct("quota", "quota=2");
    agent_cfg_filter("", "sender @junk.example");
    T_OK(agent_cfg_write(dir) == 0, "write store.cdb");
    T_OK(agent_auth_write(dir, accts, pws, 5) == 0, "write auth.cdb");
    store = agent_store_start(dir, 0);
    T_OK(store > 0, "store starts");
    lsp = agent_listen("rnasp-d", dir, NULL, &sp);
    lqp = agent_listen("rnaqp-d", dir, fast, &qp);
    lt = agent_listen("rnasp-d", dir, idle1, &pt);
    lqt = agent_listen("rnaqp-d", dir, nodelay, &pqt);
    T_OK(lsp > 0 && lqp > 0 && lt > 0 && lqt > 0, "tcpserver listeners up on 127.0.0.1");
    /* an agent directory with no store running, one with no config */
    d2 = strdup(agent_mkdir());
    lnostore = agent_listen("rnasp-d", d2, NULL, &pnostore);
    d3 = strdup(agent_mkdir());
    store3 = agent_store_start(d3, 0);
    lnoconf = agent_listen("rnasp-d", d3, NULL, &pnoconf);
    T_OK(lnostore > 0 && store3 > 0 && lnoconf > 0, "listeners for failure cases up");

    if (store > 0 && lsp > 0 && lqp > 0) {
        test_sp_basic();
        test_sp_section4();
        test_sp_timeout(pt);
        test_sp_store_down(pnostore, pnoconf);
        test_sp_direct();
        test_sp_concurrent();
        test_qp_auth();
        test_qp_timing(pqt);
        test_qp_retrieve();
        test_qp_large();
        test_qp_kill_filter(lqp);
        test_qp_concurrent();
        T_OK(agent_log_count(dir, "rnasp-d.log", "rnasp-d: info: peer=127.0.0.1:") > 0 &&
                 agent_log_count(dir, "rnasp-d.log", "command=notify received=1 accepted=1") > 0,
             "sp_logs_one_line_per_transaction");
        T_OK(agent_log_count(dir, "rnaqp-d.log", "alicepw") == 0 &&
                 agent_log_count(dir, "rnaqp-d.log", "wrong") == 0,
             "qp_logs_never_hold_passwords");
    }
    agent_unlisten(lsp);
    agent_unlisten(lqp);
    agent_unlisten(lt);
    agent_unlisten(lqt);
    agent_unlisten(lnostore);
    agent_unlisten(lnoconf);
    T_OK(agent_store_stop(store) == 0, "store stops cleanly");
    agent_store_stop(store3);
    if (!getenv("KEEP")) {
        agent_rmdir(dir);
        agent_rmdir(d2);
        agent_rmdir(d3);
    }
    free((void *)dir);
    free((void *)d2);
    free((void *)d3);
    return t_done();
}
