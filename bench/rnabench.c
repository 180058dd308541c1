/*
 * rnabench: the load generators behind `make bench` (bench/run.sh runs
 * them; bench/RESULTS.md holds what they measured). Each subcommand does
 * one measurement and prints one line of "key value" pairs on stdout.
 *
 *   sp PORT CONC SECS NPDU      RNASP sessions through tcpserver: CONC
 *                               client processes, each connecting, sending
 *                               NPDU one-notification CommandNotify frames
 *                               one at a time, closing; for SECS seconds.
 *   ingest TARGET CONC DEPTH SECS
 *                               one notification per request, CONC
 *                               connections with DEPTH requests in flight
 *                               each. TARGET: store:DIR, redis:PORT,
 *                               redis:/SOCKET or null:PATH (null-unix).
 *   fill TARGET N ACCTS [OFF]   N notifications over ACCTS accounts (aOFF..),
 *                               batched / pipelined, for the data figures.
 *   mem TARGET                  the store's rss_bytes or Redis's used_memory.
 *   retr-qp PORT DIR ACCT PW N  fill ACCT with N through the store, then
 *                               time RNAQP retrieve-and-clear (the retrieve
 *                               and the next frame that commits the clear).
 *   retr-redis PORT|SOCKET N           fill l:r with N, time MULTI LRANGE DEL EXEC.
 *   authcdb DIR ACCT PW         write DIR/config/auth.cdb.
 *   config DIR SYNC ACCTS       write DIR/config/store.cdb: bench.example,
 *                               mailboxes aI -> account aI for I < ACCTS.
 *   replay STORE-BIN DIR        time rna-store's start until its socket
 *                               accepts, then stop it (SIGTERM, by PID).
 *   readfiles FILE...           time reading the files sequentially.
 *
 * The notifications are those of bench/store-mem.c: 236 octets of DER to
 * aI@bench.example at store.example.net, every identifier distinct.
 * Every wait is bounded (10 s per reply); every loop by count or time.
 * Redis is spoken in RESP directly; no client library.
 */
#include <cdb.h>
#include <crypt.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "atomic.h"
#include "frame.h"
#include "pdu.h"
#include "storec.h"

#define WAIT_MS 10000
#define BATCH 1000
#define QUOTA 10000 /* the store's default per-account quota */

static const char lua[] =
    "if redis.call('SADD',KEYS[1],ARGV[1])==0 then return 0 end "
    "if redis.call('LLEN',KEYS[2])>=tonumber(ARGV[3]) then "
    "redis.call('SREM',KEYS[1],ARGV[1]) return -1 end "
    "redis.call('RPUSH',KEYS[2],ARGV[2]) return 1";

static _Noreturn void die(const char *what)
{
    fprintf(stderr, "rnabench: fatal: %s: %s\n", what, errno ? strerror(errno) : "failed");
    exit(111);
}

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ---- notifications ---- */

/* Identifiers: 8 octets of counter, 4 of pid, 4 of start time, so runs
 * and processes never collide (a collision would be collapsed, which is
 * cheaper and not what is measured). */
static uint32_t salt;

static void put_notif(struct der_w *w, unsigned long acct, uint64_t seq)
{
    static unsigned char b1[PDU_DOMAIN_DER_MAX], b2[PDU_DOMAIN_DER_MAX];
    static char sender[200];
    static int ready;
    struct pdu_notif x;
    char lp[32];
    uint32_t pid = (uint32_t)getpid();

    if (!ready) {
        memset(sender, 'x', sizeof sender - 1);
        memcpy(sender + 100, "@sender.example.net", 19);
        ready = 1;
    }
    memset(&x, 0, sizeof x);
    snprintf(lp, sizeof lp, "a%lu", acct);
    x.clear.kind = PDU_LOC_DOMAIN;
    pdu_domain_from_text(b1, sizeof b1, "store.example.net", 17, &x.clear.domain);
    pdu_domain_from_text(b2, sizeof b2, "bench.example", 13, &x.rdomain);
    x.localpart.p = (const unsigned char *)lp;
    x.localpart.len = strlen(lp);
    memcpy(x.id, &seq, 8);
    memcpy(x.id + 8, &pid, 4);
    memcpy(x.id + 12, &salt, 4);
    x.sender.p = (const unsigned char *)sender;
    x.sender.len = 160 - strlen(lp); /* 236 octets in all, as store-mem */
    x.has_size = 1;
    x.size = 123456;
    pdu_put_notif(w, &x);
}

static void submit_header(struct der_w *w)
{
    unsigned char hdr[20] = {0, 192, 0, 2, 1};
    hdr[17] = 0x30;
    der_w_raw(w, hdr, sizeof hdr);
}

/* ---- sockets ---- */

static int tcp_connect(int port)
{
    struct sockaddr_in sa;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
    if (fd < 0) return -1;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(0x7f000001);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        close(fd);
        return -1;
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

static int unix_connect(const char *path)
{
    struct sockaddr_un sa;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static int put_all(int fd, const void *p, size_t n)
{
    return frame_write_all(fd, p, n, clock_ms() + WAIT_MS);
}

/* ---- RESP ---- */

struct resp {
    int fd;
    size_t start, end;
    unsigned char buf[1 << 16];
};

struct reply {
    long long integer; /* the last integer seen */
    size_t bulks;      /* bulk strings seen */
    int error;
    char text[128];    /* the last simple string or error */
};

static int resp_fill(struct resp *r)
{
    ssize_t k;
    struct pollfd pf = {r->fd, POLLIN, 0};
    if (r->start > 0) {
        memmove(r->buf, r->buf + r->start, r->end - r->start);
        r->end -= r->start;
        r->start = 0;
    }
    if (r->end == sizeof r->buf) return -1; /* a line longer than the buffer */
    if (poll(&pf, 1, WAIT_MS) <= 0) return -1;
    k = read(r->fd, r->buf + r->end, sizeof r->buf - r->end);
    if (k <= 0) return -1;
    r->end += (size_t)k;
    return 0;
}

/* One line without its CRLF, NUL-terminated in place. */
static char *resp_line(struct resp *r)
{
    for (;;) {
        unsigned char *p = r->end > r->start
                               ? memchr(r->buf + r->start, '\n', r->end - r->start)
                               : NULL;
        if (p) {
            char *line = (char *)r->buf + r->start;
            if (p > r->buf + r->start && p[-1] == '\r') p[-1] = 0;
            *p = 0;
            r->start = (size_t)(p - r->buf) + 1;
            return line;
        }
        if (resp_fill(r) < 0) return NULL;
    }
}

static int resp_skip(struct resp *r, size_t n)
{
    while (n > 0) {
        size_t k;
        if (r->end == r->start && resp_fill(r) < 0) return -1;
        k = r->end - r->start < n ? r->end - r->start : n;
        r->start += k;
        n -= k;
    }
    return 0;
}

/* Read one complete reply, arrays nested to any depth, iteratively: the
 * number of elements still due is a counter, not a stack. */
static int resp_reply(struct resp *r, struct reply *out)
{
    long long due = 1;
    memset(out, 0, sizeof *out);
    while (due > 0) {
        char *l = resp_line(r);
        long long v;
        if (!l) return -1;
        due--;
        v = atoll(l + 1);
        switch (l[0]) {
        case '*':
            if (v > 0) due += v;
            break;
        case '$':
            if (v >= 0) {
                out->bulks++;
                if (resp_skip(r, (size_t)v + 2) < 0) return -1;
            }
            break;
        case ':':
            out->integer = v;
            break;
        case '-':
            out->error = 1;
            /* fall through */
        case '+':
            snprintf(out->text, sizeof out->text, "%s", l + 1);
            break;
        default:
            return -1;
        }
    }
    return 0;
}

/* Append a command of argc arguments to w. */
static void resp_cmd(struct der_w *w, int argc, const char *const *argv,
                     const size_t *lens)
{
    char h[32];
    int i;
    der_w_raw(w, h, (size_t)snprintf(h, sizeof h, "*%d\r\n", argc));
    for (i = 0; i < argc; i++) {
        der_w_raw(w, h, (size_t)snprintf(h, sizeof h, "$%zu\r\n", lens[i]));
        der_w_raw(w, argv[i], lens[i]);
        der_w_raw(w, "\r\n", 2);
    }
}

static void resp_cmd_str(struct der_w *w, int argc, const char *const *argv)
{
    size_t lens[16];
    int i;
    for (i = 0; i < argc && i < 16; i++) lens[i] = strlen(argv[i]);
    resp_cmd(w, argc, argv, lens);
}

static char sha[64];

static void redis_load(struct resp *r)
{
    static const char *const a[] = {"SCRIPT", "LOAD", lua};
    struct der_w w;
    char *l;
    der_w_growing(&w, 1 << 20);
    resp_cmd_str(&w, 3, a);
    if (put_all(r->fd, w.buf, w.len) < 0) die("redis script load");
    der_w_free(&w);
    l = resp_line(r); /* $40, then the sha on its own line */
    if (!l || l[0] != '$') die("redis script load reply");
    l = resp_line(r);
    if (!l || strlen(l) >= sizeof sha) die("redis script load reply");
    snprintf(sha, sizeof sha, "%s", l);
}

/* EVALSHA for one notification to account acct. */
static void redis_put_notif(struct der_w *w, unsigned long acct, uint64_t seq)
{
    static unsigned char nb[512];
    struct der_w n;
    char dkey[32], lkey[32], member[80], quota[16];
    const char *argv[8];
    size_t lens[8];
    int i;
    size_t k;

    der_w_fixed(&n, nb, sizeof nb);
    put_notif(&n, acct, seq);
    snprintf(dkey, sizeof dkey, "d:a%lu", acct);
    snprintf(lkey, sizeof lkey, "l:a%lu", acct);
    /* the collapse key: storeclear and identifier, per mailbox key */
    k = (size_t)snprintf(member, sizeof member, "store.example.net:%016llx%08x%08x",
                         (unsigned long long)seq, (unsigned)getpid(), (unsigned)salt);
    snprintf(quota, sizeof quota, "%d", QUOTA);
    argv[0] = "EVALSHA";
    argv[1] = sha;
    argv[2] = "2";
    argv[3] = dkey;
    argv[4] = lkey;
    argv[5] = member;
    argv[6] = (const char *)n.buf;
    argv[7] = quota;
    for (i = 0; i < 8; i++) lens[i] = strlen(argv[i]);
    lens[5] = k;
    lens[6] = n.len;
    resp_cmd(w, 8, argv, lens);
}

/* ---- targets for ingest and fill ---- */

enum kind { T_STORE, T_REDIS, T_NULL };

struct target {
    enum kind kind;
    const char *arg;
};

static struct target parse_target(const char *s)
{
    struct target t;
    if (strncmp(s, "store:", 6) == 0) t.kind = T_STORE, t.arg = s + 6;
    else if (strncmp(s, "redis:", 6) == 0) t.kind = T_REDIS, t.arg = s + 6;
    else if (strncmp(s, "null:", 5) == 0) t.kind = T_NULL, t.arg = s + 5;
    else {
        fprintf(stderr, "rnabench: fatal: target is store:DIR, redis:PORT or null:PATH\n");
        exit(100);
    }
    return t;
}

struct conn {
    struct target t;
    int fd;
    struct frame_rd rd;
    struct resp *r;
    struct der_w w;
};

static void conn_open(struct conn *c, struct target t)
{
    char path[600];
    c->t = t;
    if (t.kind == T_REDIS) {
        c->fd = strchr(t.arg, '/') ? unix_connect(t.arg) : tcp_connect(atoi(t.arg));
        c->r = malloc(sizeof *c->r);
        if (c->fd < 0 || !c->r) die("connect to redis");
        c->r->fd = c->fd;
        c->r->start = c->r->end = 0;
        redis_load(c->r);
    } else {
        if (t.kind == T_STORE) snprintf(path, sizeof path, "%s/%s", t.arg, STORE_SOCKET);
        else snprintf(path, sizeof path, "%s", t.arg);
        c->fd = unix_connect(path);
        if (c->fd < 0 || frame_rd_init(&c->rd, c->fd, STORE_RESP_MAX) < 0) die("connect to store");
    }
    der_w_growing(&c->w, STORE_REQ_MAX + 4);
}

/* Append one request carrying count notifications (the store: one
 * submit; Redis: count EVALSHA commands). */
static void conn_add(struct conn *c, unsigned long acct0, unsigned long accts,
                     uint64_t *seq, size_t count)
{
    size_t i;
    if (c->t.kind == T_REDIS) {
        for (i = 0; i < count; i++, (*seq)++) redis_put_notif(&c->w, acct0 + *seq % accts, *seq);
        return;
    }
    {
        size_t at = c->w.len;
        unsigned char h[2] = {STOREC_VERSION, STORE_OP_SUBMIT};
        der_w_raw(&c->w, "\0\0\0\0", 4);
        der_w_raw(&c->w, h, 2);
        submit_header(&c->w);
        for (i = 0; i < count; i++, (*seq)++) put_notif(&c->w, acct0 + *seq % accts, *seq);
        if (!c->w.err) {
            size_t n = c->w.len - at - 4;
            c->w.buf[at] = (unsigned char)(n >> 24);
            c->w.buf[at + 1] = (unsigned char)(n >> 16);
            c->w.buf[at + 2] = (unsigned char)(n >> 8);
            c->w.buf[at + 3] = (unsigned char)n;
        }
    }
}

static void conn_flush(struct conn *c)
{
    if (c->w.err || put_all(c->fd, c->w.buf, c->w.len) < 0) die("send");
    der_w_reset(&c->w);
}

/* Take one response (one request's worth); dies on anything but ok. */
static void conn_take(struct conn *c)
{
    if (c->t.kind == T_REDIS) {
        struct reply x;
        if (resp_reply(c->r, &x) < 0) die("redis reply");
        if (x.error || x.integer != 1) {
            fprintf(stderr, "rnabench: fatal: redis refused: %s %lld\n", x.text, x.integer);
            exit(111);
        }
    } else {
        const unsigned char *b;
        size_t l;
        if (frame_get(&c->rd, clock_ms() + WAIT_MS, &b, &l) != FRAME_OK) die("store reply");
        if (l < 2 || b[1] != STORE_OK) {
            fprintf(stderr, "rnabench: fatal: store refused: %s\n",
                    l < 2 ? "short" : storec_status_name(b[1]));
            exit(111);
        }
    }
}

static void conn_close(struct conn *c)
{
    close(c->fd);
    if (c->t.kind == T_REDIS) free(c->r);
    else frame_rd_free(&c->rd);
    der_w_free(&c->w);
}

/* ---- concurrency: one process per client, results through a pipe ---- */

struct res {
    uint64_t done;   /* sessions or notifications */
    uint64_t ns;     /* time in the measured part */
    uint64_t pdus;   /* PDUs timed (sp) */
    uint64_t pdu_ns;
};

typedef void worker_fn(int idx, int64_t until, struct res *out, void *arg);

static struct res run_clients(int conc, double secs, worker_fn *fn, void *arg, double *wall)
{
    struct res sum = {0, 0, 0, 0};
    int p[2], i, bad = 0;
    int64_t t0, until;
    if (pipe(p) < 0) die("pipe");
    t0 = now_ns();
    until = t0 + (int64_t)(secs * 1e9);
    for (i = 0; i < conc; i++) {
        pid_t pid = fork();
        if (pid < 0) die("fork");
        if (pid == 0) {
            struct res r = {0, 0, 0, 0};
            close(p[0]);
            salt ^= (uint32_t)i * 2654435761u;
            fn(i, until, &r, arg);
            if (write(p[1], &r, sizeof r) != (ssize_t)sizeof r) _exit(111);
            _exit(0);
        }
    }
    close(p[1]);
    for (i = 0; i < conc; i++) {
        struct res r;
        if (read(p[0], &r, sizeof r) != (ssize_t)sizeof r) {
            bad = 1;
            continue;
        }
        sum.done += r.done;
        sum.ns = r.ns > sum.ns ? r.ns : sum.ns;
        sum.pdus += r.pdus;
        sum.pdu_ns += r.pdu_ns;
    }
    close(p[0]);
    for (i = 0; i < conc; i++) {
        int st;
        if (wait(&st) < 0 || !WIFEXITED(st) || WEXITSTATUS(st)) bad = 1;
    }
    *wall = (double)(now_ns() - t0) / 1e9;
    if (bad) {
        fprintf(stderr, "rnabench: fatal: a client failed\n");
        exit(111);
    }
    return sum;
}

/* ---- sp: RNASP sessions ---- */

struct sp_arg {
    int port;
    int npdu;
};

static void sp_worker(int idx, int64_t until, struct res *out, void *varg)
{
    struct sp_arg *a = varg;
    static unsigned char buf[4096];
    uint64_t seq = 0;
    int64_t t0 = now_ns();
    while (now_ns() < until) {
        struct frame_rd rd;
        int fd = tcp_connect(a->port), k;
        int64_t p0 = 0;
        if (fd < 0 || frame_rd_init(&rd, fd, 1 << 16) < 0) die("connect to listener");
        for (k = 0; k < a->npdu; k++) {
            struct der_w w;
            const unsigned char *b;
            size_t l;
            struct pdu m;
            der_w_fixed(&w, buf, sizeof buf);
            frame_w_begin(&w);
            pdu_enc_cmd_notify_begin(&w);
            put_notif(&w, (unsigned long)idx * 1000 + seq % 1000, seq);
            seq++;
            pdu_enc_cmd_notify_end(&w);
            if (frame_w_end(&w) < 0) die("encode");
            if (k == 1) p0 = now_ns(); /* the first PDU pays the start-up */
            if (put_all(fd, w.buf, w.len) < 0) die("send to listener");
            if (frame_get(&rd, clock_ms() + WAIT_MS, &b, &l) != FRAME_OK) die("listener reply");
            if (pdu_decode_response(PDU_RNASP, b, l, &m) != PDU_OK || m.status != PDU_S_NOERROR) {
                fprintf(stderr, "rnabench: fatal: listener answered status %u\n", (unsigned)m.status);
                exit(111);
            }
        }
        if (a->npdu > 1) {
            out->pdus += (uint64_t)a->npdu - 1;
            out->pdu_ns += (uint64_t)(now_ns() - p0);
        }
        close(fd);
        frame_rd_free(&rd);
        out->done++;
    }
    out->ns = (uint64_t)(now_ns() - t0);
}

/* ---- ingest ---- */

struct ing_arg {
    struct target t;
    int depth;
};

static void ingest_worker(int idx, int64_t until, struct res *out, void *varg)
{
    struct ing_arg *a = varg;
    struct conn c;
    uint64_t seq = 0, sent = 0, got = 0;
    int64_t t0;
    int i;
    conn_open(&c, a->t);
    t0 = now_ns();
    for (i = 0; i < a->depth; i++, sent++) conn_add(&c, (unsigned long)idx * 1000, 1000, &seq, 1);
    conn_flush(&c);
    while (got < sent) {
        conn_take(&c);
        got++;
        if (now_ns() < until) {
            conn_add(&c, (unsigned long)idx * 1000, 1000, &seq, 1);
            sent++;
            conn_flush(&c);
        }
    }
    out->ns = (uint64_t)(now_ns() - t0);
    out->done = got;
    conn_close(&c);
}

/* ---- fill ---- */

static void fill(struct target t, unsigned long n, unsigned long accts, unsigned long off)
{
    struct conn c;
    uint64_t seq = 0;
    unsigned long inflight = 0;
    conn_open(&c, t);
    while (seq < n) {
        size_t k = n - seq < BATCH ? (size_t)(n - seq) : BATCH;
        uint64_t s0 = seq;
        conn_add(&c, off, accts, &seq, k);
        conn_flush(&c);
        if (t.kind == T_REDIS) {
            /* pipelined: keep about two batches in flight */
            inflight += k;
            while (inflight > BATCH) {
                conn_take(&c);
                inflight--;
            }
        } else {
            conn_take(&c);
        }
        (void)s0;
    }
    while (inflight > 0) {
        conn_take(&c);
        inflight--;
    }
    conn_close(&c);
}

static long long mem_of(struct target t)
{
    if (t.kind == T_REDIS) {
        static const char *const a[] = {"INFO", "memory"};
        struct resp *r = malloc(sizeof *r);
        struct der_w w;
        char *l;
        long long v = -1;
        size_t left;
        if (!r) die("malloc");
        r->fd = strchr(t.arg, '/') ? unix_connect(t.arg) : tcp_connect(atoi(t.arg));
        r->start = r->end = 0;
        if (r->fd < 0) die("connect to redis");
        der_w_growing(&w, 4096);
        resp_cmd_str(&w, 2, a);
        if (put_all(r->fd, w.buf, w.len) < 0) die("send");
        der_w_free(&w);
        l = resp_line(r);
        if (!l || l[0] != '$') die("redis info");
        left = (size_t)atoll(l + 1) + 2;
        while (left > 0 && (l = resp_line(r)) != NULL) {
            size_t ll = strlen(l) + 2;
            if (strncmp(l, "used_memory:", 12) == 0) v = atoll(l + 12);
            left = ll > left ? 0 : left - ll;
        }
        close(r->fd);
        free(r);
        return v;
    } else {
        struct storec s;
        const unsigned char *p;
        size_t plen, i = 0;
        long long v = -1;
        if (storec_open(&s, t.arg, clock_ms() + WAIT_MS) < 0) die("connect to store");
        storec_begin(&s, STORE_OP_STATS);
        if (storec_call(&s, clock_ms() + WAIT_MS, &p, &plen) != STORE_OK) die("stats");
        while (i < plen) {
            size_t j = i;
            while (j < plen && p[j] != '\n') j++;
            if (j - i > 10 && memcmp(p + i, "rss_bytes ", 10) == 0) v = atoll((const char *)p + i + 10);
            i = j + 1;
        }
        storec_close(&s);
        return v;
    }
}

/* ---- retrieve ---- */

static void fill_one(struct target t, const char *acct, unsigned long n)
{
    /* the account's notifications go to mailbox ACCT@bench.example: the
     * configuration maps aI to aI, and fill_one is called with "aI" */
    unsigned long a = strtoul(acct + 1, NULL, 10);
    fill(t, n, 1, a);
}

static size_t qp_frame(unsigned char *buf, size_t cap, const char *acct, const char *pw)
{
    struct der_w w;
    der_w_fixed(&w, buf, cap);
    frame_w_begin(&w);
    if (acct) {
        struct pdu_str as = {(const unsigned char *)acct, strlen(acct)};
        struct pdu_str ps = {(const unsigned char *)pw, strlen(pw)};
        pdu_enc_cmd_auth(&w, &as, &ps);
    } else {
        pdu_enc_cmd_retrieve(&w);
    }
    return frame_w_end(&w) == 0 ? w.len : 0;
}

static double retr_qp(int port, const char *dir, const char *acct, const char *pw,
                      unsigned long n)
{
    struct target t = {T_STORE, dir};
    unsigned char auth[2048], retr[64];
    size_t al = qp_frame(auth, sizeof auth, acct, pw), rl = qp_frame(retr, sizeof retr, NULL, NULL);
    const unsigned char *b;
    size_t l, got;
    struct frame_rd rd;
    struct pdu m;
    int64_t t0, t1;
    int fd;

    fill_one(t, acct, n);
    fd = tcp_connect(port);
    if (fd < 0 || frame_rd_init(&rd, fd, 1u << 30) < 0) die("connect to rnaqp-d");
    /* Only this client keeps the whole response (to check it after the
     * clock); the Redis client parses through a 64 KiB buffer it has
     * before the clock starts. So this one too reads into memory it has
     * before the clock: room for the response (about 262 octets a
     * notification), allocated and touched now. Untouched, the first
     * touches cost some 12 us a page on the bench machine, about 8 ms of
     * page faults that only this client would pay. */
    if (frame_rd_reserve(&rd, n * 300 + 4096) < 0) die("malloc");
    memset(rd.buf, 0, rd.cap);
    if (put_all(fd, auth, al) < 0 || frame_get(&rd, clock_ms() + WAIT_MS, &b, &l) != FRAME_OK ||
        pdu_decode_response(PDU_RNAQP, b, l, &m) != PDU_OK || m.status != PDU_S_NOERROR)
        die("authenticate");
    t0 = now_ns();
    if (put_all(fd, retr, rl) < 0 || frame_get(&rd, clock_ms() + WAIT_MS, &b, &l) != FRAME_OK)
        die("retrieve");
    t1 = now_ns();
    /* checked outside the timed part: decoding is the client's cost */
    if (pdu_decode_response(PDU_RNAQP, b, l, &m) != PDU_OK || m.status != PDU_S_NOERROR ||
        (got = m.list.count) != n) {
        fprintf(stderr, "rnabench: fatal: retrieve returned %zu of %lu\n",
                m.status == PDU_S_NOERROR ? m.list.count : 0, n);
        exit(111);
    }
    /* the next frame proves receipt and commits the clear; it is part of
     * retrieve-and-clear, so it is timed too (a second, empty retrieve) */
    t0 += now_ns();
    if (put_all(fd, retr, rl) < 0 || frame_get(&rd, clock_ms() + WAIT_MS, &b, &l) != FRAME_OK)
        die("second retrieve");
    t0 -= now_ns();
    if (pdu_decode_response(PDU_RNAQP, b, l, &m) != PDU_OK || m.list.count != 0) {
        fprintf(stderr, "rnabench: fatal: the clear did not commit\n");
        exit(111);
    }
    close(fd);
    frame_rd_free(&rd);
    (void)got;
    return (double)(t1 - t0) / 1e6;
}

static double retr_redis(const char *where, unsigned long n)
{
    static const char *const cmds[4][4] = {
        {"MULTI"}, {"LRANGE", "l:a0", "0", "-1"}, {"DEL", "l:a0", "d:a0"}, {"EXEC"}};
    static const int argcs[4] = {1, 4, 3, 1};
    struct target t = {T_REDIS, where};
    struct conn c;
    struct reply x[4];
    int64_t t0, t1;
    int i;

    fill(t, n, 1, 0);
    conn_open(&c, t);
    for (i = 0; i < 4; i++) resp_cmd_str(&c.w, argcs[i], cmds[i]);
    t0 = now_ns();
    conn_flush(&c);
    for (i = 0; i < 4; i++)
        if (resp_reply(c.r, &x[i]) < 0) die("redis reply");
    t1 = now_ns();
    if (x[3].bulks != n) {
        fprintf(stderr, "rnabench: fatal: redis returned %zu of %lu\n", x[3].bulks, n);
        exit(111);
    }
    conn_close(&c);
    return (double)(t1 - t0) / 1e6;
}

/* ---- auth.cdb ---- */

static void authcdb(const char *dir, const char *acct, const char *pw)
{
    char path[700], tmp[800], setting[CRYPT_GENSALT_OUTPUT_SIZE];
    static struct crypt_data cd;
    struct cdb_make cm;
    const char *h;
    int fd;
    snprintf(path, sizeof path, "%s/config/auth.cdb", dir);
    if (!crypt_gensalt_rn("$y$", 0, NULL, 0, setting, sizeof setting)) die("crypt_gensalt");
    h = crypt_rn(pw, setting, &cd, sizeof cd);
    if (!h || h[0] == '*') die("crypt");
    fd = atomic_begin(path, tmp, sizeof tmp);
    if (fd < 0) die("auth.cdb");
    if (cdb_make_start(&cm, fd) < 0 ||
        cdb_make_add(&cm, acct, (unsigned)strlen(acct), h, (unsigned)strlen(h)) < 0 ||
        cdb_make_finish(&cm) < 0 || fchmod(fd, 0640) < 0) {
        atomic_abort(fd, tmp);
        die("auth.cdb");
    }
    if (atomic_commit(fd, tmp, path) < 0) die("auth.cdb");
}

/* ---- store.cdb: bench.example, mailboxes aI -> account aI ---- */

static void config(const char *dir, const char *sync, unsigned long accts)
{
    char path[700], tmp[800], k[64], v[32];
    struct cdb_make cm;
    unsigned long i;
    int fd, bad = 0;
    snprintf(path, sizeof path, "%s/config/store.cdb", dir);
    fd = atomic_begin(path, tmp, sizeof tmp);
    if (fd < 0) die("store.cdb");
    bad |= cdb_make_start(&cm, fd) < 0;
    bad |= cdb_make_add(&cm, "domain:bench.example", 20, "", 0) < 0;
    bad |= cdb_make_add(&cm, "set:sync", 8, sync, (unsigned)strlen(sync)) < 0;
    bad |= cdb_make_add(&cm, "set:quota-total", 15, "100000000", 9) < 0;
    for (i = 0; i < accts && !bad; i++) {
        int kl = snprintf(k, sizeof k, "mbox:bench.example%ca%lu", 0, i);
        int vl = snprintf(v, sizeof v, "a%lu", i);
        bad |= cdb_make_add(&cm, k, (unsigned)kl, v, (unsigned)vl) < 0;
    }
    if (bad || cdb_make_finish(&cm) < 0 || fchmod(fd, 0644) < 0) {
        atomic_abort(fd, tmp);
        die("store.cdb");
    }
    if (atomic_commit(fd, tmp, path) < 0) die("store.cdb");
}

/* ---- replay ---- */

static double replay(const char *bin, const char *dir)
{
    char sock[700], log[700];
    int64_t t0, t1;
    pid_t pid;
    int st, i;

    snprintf(sock, sizeof sock, "%s/%s", dir, STORE_SOCKET);
    snprintf(log, sizeof log, "%s/store.log", dir);
    t0 = now_ns();
    pid = fork();
    if (pid < 0) die("fork");
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) dup2(fd, 2);
        execl(bin, "rna-store", dir, (char *)NULL);
        _exit(127);
    }
    /* every 0.2 ms for at most 120 s */
    for (i = 0; i < 600000; i++) {
        int fd = unix_connect(sock);
        if (fd >= 0) {
            close(fd);
            break;
        }
        if (waitpid(pid, &st, WNOHANG) == pid) die("rna-store exited during replay");
        usleep(200);
    }
    t1 = now_ns();
    kill(pid, SIGTERM);
    if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st)) die("rna-store stop");
    if (i == 600000) die("rna-store did not come up");
    return (double)(t1 - t0) / 1e6;
}

static double readfiles(int argc, char **argv)
{
    static unsigned char buf[1 << 20];
    uint64_t total = 0;
    int64_t t0 = now_ns();
    int i;
    for (i = 0; i < argc; i++) {
        int fd = open(argv[i], O_RDONLY | O_CLOEXEC);
        ssize_t r;
        if (fd < 0) die(argv[i]);
        while ((r = read(fd, buf, sizeof buf)) > 0) total += (uint64_t)r;
        close(fd);
    }
    fprintf(stderr, "rnabench: read %llu octets\n", (unsigned long long)total);
    return (double)(now_ns() - t0) / 1e6;
}

/* ---- main ---- */

static _Noreturn void usage(void)
{
    fprintf(stderr, "usage: rnabench sp PORT CONC SECS NPDU | ingest TARGET CONC DEPTH SECS |"
                    " fill TARGET N ACCTS [OFF] | mem TARGET | retr-qp PORT DIR ACCT PW N |"
                    " retr-redis PORT|SOCKET N | authcdb DIR ACCT PW | config DIR SYNC ACCTS | replay STORE-BIN DIR |"
                    " readfiles FILE...\n");
    exit(100);
}

int main(int argc, char **argv)
{
    const char *cmd;
    double wall;

    if (argc < 2) usage();
    cmd = argv[1];
    signal(SIGPIPE, SIG_IGN);
    salt = (uint32_t)now_ns() ^ (uint32_t)getpid() << 16;
    if (strcmp(cmd, "sp") == 0 && argc == 6) {
        struct sp_arg a = {atoi(argv[2]), atoi(argv[5])};
        int conc = atoi(argv[3]);
        struct res r;
        if (conc < 1 || conc > 256 || a.npdu < 1 || a.npdu > 10000) usage();
        r = run_clients(conc, atof(argv[4]), sp_worker, &a, &wall);
        printf("sessions_per_s %.1f sessions %llu pdu_rtt_us %.2f\n", (double)r.done / wall,
               (unsigned long long)r.done, r.pdus ? (double)r.pdu_ns / (double)r.pdus / 1e3 : 0.0);
    } else if (strcmp(cmd, "ingest") == 0 && argc == 6) {
        struct ing_arg a;
        int conc = atoi(argv[3]);
        struct res r;
        a.t = parse_target(argv[2]);
        a.depth = atoi(argv[4]);
        if (conc < 1 || conc > 256 || a.depth < 1 || a.depth > 1024) usage();
        r = run_clients(conc, atof(argv[5]), ingest_worker, &a, &wall);
        printf("notifications_per_s %.1f notifications %llu\n",
               (double)r.done / ((double)r.ns / 1e9), (unsigned long long)r.done);
    } else if (strcmp(cmd, "fill") == 0 && (argc == 5 || argc == 6)) {
        int64_t t0 = now_ns();
        fill(parse_target(argv[2]), strtoul(argv[3], NULL, 10), strtoul(argv[4], NULL, 10),
             argc == 6 ? strtoul(argv[5], NULL, 10) : 0);
        printf("fill_s %.2f\n", (double)(now_ns() - t0) / 1e9);
    } else if (strcmp(cmd, "mem") == 0 && argc == 3) {
        printf("%lld\n", mem_of(parse_target(argv[2])));
    } else if (strcmp(cmd, "retr-qp") == 0 && argc == 7) {
        printf("ms %.3f\n", retr_qp(atoi(argv[2]), argv[3], argv[4], argv[5],
                                     strtoul(argv[6], NULL, 10)));
    } else if (strcmp(cmd, "retr-redis") == 0 && argc == 4) {
        printf("ms %.3f\n", retr_redis(argv[2], strtoul(argv[3], NULL, 10)));
    } else if (strcmp(cmd, "authcdb") == 0 && argc == 5) {
        authcdb(argv[2], argv[3], argv[4]);
    } else if (strcmp(cmd, "config") == 0 && argc == 5) {
        config(argv[2], argv[3], strtoul(argv[4], NULL, 10));
    } else if (strcmp(cmd, "replay") == 0 && argc == 4) {
        printf("ms %.3f\n", replay(argv[2], argv[3]));
    } else if (strcmp(cmd, "readfiles") == 0 && argc >= 3) {
        printf("ms %.3f\n", readfiles(argc - 2, argv + 2));
    } else {
        usage();
    }
    return 0;
}
