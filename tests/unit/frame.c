/*
 * lib/frame over real pipes and sockets (PROTOCOL.md sections 1 and 4):
 * partial reads, pipelining, bad lengths, end of file, deadlines, the
 * stop flag with a real SIGTERM, connection resets, bounded writes.
 *
 * Timing: deadlines are short (100-200 ms) and only the returned status is
 * checked, never the elapsed time, so a loaded machine cannot fail a test.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "frame.h"
#include "pdu.h"
#include "t.h"

static void sleep_ms(long ms)
{
    struct timespec ts;
    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (ms % 1000) * 1000000L;
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {}
}

static void xpipe(int p[2])
{
    if (pipe(p) < 0) {
        perror("frame test: pipe");
        exit(111);
    }
}

static void xpair(int sv[2])
{
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0) {
        perror("frame test: socketpair");
        exit(111);
    }
}

static void put32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

static int write_full(int fd, const void *p, size_t n)
{
    const unsigned char *q = p;
    while (n) {
        ssize_t k = write(fd, q, n);
        if (k < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        q += k;
        n -= (size_t)k;
    }
    return 0;
}

/* A frame with body b[i] = seed + i. Returns its total length. */
static size_t make_frame(unsigned char *out, size_t body, unsigned seed)
{
    size_t i;
    put32(out, (uint32_t)body);
    for (i = 0; i < body; i++) out[4 + i] = (unsigned char)(seed + i);
    return 4 + body;
}

static int body_is(const unsigned char *b, size_t len, size_t want, unsigned seed)
{
    size_t i;
    if (len != want) return 0;
    for (i = 0; i < len; i++)
        if (b[i] != (unsigned char)(seed + i)) return 0;
    return 1;
}

/* Fork a child that writes p in chunks of chunk octets, pausing ms
 * between them, then closes fd and exits. Returns the child's pid. */
static pid_t writer(int fd, int other, const unsigned char *p, size_t n,
                    size_t chunk, long ms)
{
    pid_t pid = fork();
    if (pid == 0) {
        size_t off = 0;
        close(other);
        while (off < n) {
            size_t k = n - off < chunk ? n - off : chunk;
            if (write_full(fd, p + off, k) < 0) _exit(1);
            off += k;
            if (ms && off < n) sleep_ms(ms);
        }
        close(fd);
        _exit(0);
    }
    return pid;
}

static int reaped_ok(pid_t pid)
{
    int status;
    if (pid < 0) return 0;
    if (waitpid(pid, &status, 0) != pid) return 0;
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static void init_fails(void)
{
    struct frame_rd r;
    errno = 0;
    T_OK(frame_rd_init(&r, 0, 0) < 0 && errno == EINVAL,
         "frame_rd_init rejects limit 0");
    errno = 0;
    T_OK(frame_rd_init(&r, 0, (size_t)UINT32_MAX) < 0 && errno == EINVAL,
         "frame_rd_init rejects a limit that cannot fit 4 + limit in 32 bits");
}

static void split_writes(void)
{
    int sv[2];
    unsigned char f[2000];
    size_t n = make_frame(f, 1500, 3);
    struct frame_rd r;
    const unsigned char *b;
    size_t len;
    pid_t pid;
    enum frame_status s;

    xpair(sv);
    frame_rd_init(&r, sv[0], 65536);
    pid = writer(sv[1], sv[0], f, n, 7, 1);
    close(sv[1]);
    s = frame_get(&r, clock_ms() + 20000, &b, &len);
    T_OK(s == FRAME_OK && body_is(b, len, 1500, 3),
         "a frame written 7 octets at a time arrives whole");
    s = frame_get(&r, clock_ms() + 20000, &b, &len);
    T_OK(s == FRAME_EOF, "end of file after it is FRAME_EOF (got %d)", s);
    T_OK(reaped_ok(pid), "split writer exited cleanly");
    frame_rd_free(&r);
    close(sv[0]);

    /* header split too: 1 octet at a time, over a pipe */
    {
        int p[2];
        unsigned char g[40];
        size_t m = make_frame(g, 30, 9);
        xpipe(p);
        frame_rd_init(&r, p[0], 64);
        pid = writer(p[1], p[0], g, m, 1, 2);
        close(p[1]);
        s = frame_get(&r, clock_ms() + 20000, &b, &len);
        T_OK(s == FRAME_OK && body_is(b, len, 30, 9),
             "a frame written one octet at a time arrives whole");
        T_OK(reaped_ok(pid), "one-octet writer exited cleanly");
        frame_rd_free(&r);
        close(p[0]);
    }
}

static void reserve(void)
{
    int sv[2];
    unsigned char *all = malloc(3u << 20);
    const unsigned char *b;
    struct frame_rd r;
    size_t len, off;
    unsigned char *before;
    pid_t pid;

    if (!all) exit(111);
    xpair(sv);
    frame_rd_init(&r, sv[0], 8u << 20);
    T_OK(frame_rd_reserve(&r, (8u << 20) + 1) < 0 && errno == EINVAL,
         "frame_rd_reserve refuses more than the limit");
    T_OK(frame_rd_reserve(&r, 3u << 20) == 0 && r.cap >= (3u << 20) + 4,
         "frame_rd_reserve makes room for a frame of that size");
    before = r.buf;
    off = make_frame(all, (3u << 20) - 4, 3);
    pid = writer(sv[1], sv[0], all, off, 100000, 0);
    close(sv[1]);
    T_OK(frame_get(&r, clock_ms() + 5000, &b, &len) == FRAME_OK &&
             body_is(b, len, (3u << 20) - 4, 3) && r.buf == before,
         "a frame that fits the reserved room arrives without growing it");
    T_OK(reaped_ok(pid), "writer done");
    frame_rd_free(&r);
    close(sv[0]);
    free(all);
}

static void pipelining(void)
{
    int p[2];
    unsigned char all[4096];
    size_t sizes[] = {1, 100, 7, 800, 3}; /* all fit the buffer at once */
    size_t off = 0, i, consumed = 0;
    struct frame_rd r;
    const unsigned char *b;
    size_t len;
    int ok = 1, pend_ok = 1;
    enum frame_status s;

    for (i = 0; i < 5; i++) off += make_frame(all + off, sizes[i], (unsigned)i * 40);
    xpipe(p);
    write_full(p[1], all, off);
    frame_rd_init(&r, p[0], 1000);
    for (i = 0; i < 5; i++) {
        s = frame_get(&r, clock_ms() + 5000, &b, &len);
        if (s != FRAME_OK || !body_is(b, len, sizes[i], (unsigned)i * 40)) ok = 0;
        consumed += 4 + sizes[i];
        if (frame_pending(&r) != off - consumed) pend_ok = 0;
    }
    T_OK(ok, "five frames in one write come back in order");
    T_OK(pend_ok, "frame_pending counts the octets not yet returned");
    T_OK(frame_pending(&r) == 0, "nothing pending after the last frame");
    s = frame_get(&r, clock_ms() + 100, &b, &len);
    T_OK(s == FRAME_TIMEOUT, "then, with the pipe open and empty, TIMEOUT (got %d)", s);
    close(p[1]);
    s = frame_get(&r, clock_ms() + 5000, &b, &len);
    T_OK(s == FRAME_EOF, "then, closed, EOF (got %d)", s);
    frame_rd_free(&r);
    close(p[0]);

    /* a whole frame plus part of the next: the rest arrives later and the
     * buffer compacts to make room for a frame of exactly the limit */
    xpipe(p);
    frame_rd_init(&r, p[0], 16);
    off = make_frame(all, 5, 1);
    off += make_frame(all + off, 16, 2);
    write_full(p[1], all, 9 + 4 + 3);
    s = frame_get(&r, clock_ms() + 5000, &b, &len);
    T_OK(s == FRAME_OK && body_is(b, len, 5, 1), "first frame of a partial pair");
    write_full(p[1], all + 16, off - 16);
    s = frame_get(&r, clock_ms() + 5000, &b, &len);
    T_OK(s == FRAME_OK && body_is(b, len, 16, 2),
         "a frame of exactly the limit after a consumed one (buffer compacts)");
    frame_rd_free(&r);
    close(p[0]);
    close(p[1]);
}

/* A frame taken in pieces: the head, then the rest through a buffer that
 * never grows, with the next frame pipelined behind it. */
static void pieces(void)
{
    int sv[2];
    size_t big = 3u << 20, off, got, have, len, n;
    unsigned char *all = malloc(big + 64);
    const unsigned char *b;
    struct frame_rd r;
    enum frame_status s;
    int ok = 1, grew = 0;
    pid_t pid;

    if (!all) exit(111);
    xpair(sv);
    off = make_frame(all, big, 7);
    off += make_frame(all + off, 5, 9);
    pid = writer(sv[1], sv[0], all, off, 100000, 0);
    close(sv[1]);
    frame_rd_init(&r, sv[0], 64u << 20);
    s = frame_get_head(&r, clock_ms() + 5000, 6, &b, &have, &len);
    T_OK(s == FRAME_OK && len == big && have >= 6 && have <= len,
         "frame_get_head: the length and at least the octets asked for (have %zu)", have);
    if (s == FRAME_OK && !body_is(b, have, have, 7)) ok = 0;
    T_OK(frame_left(&r) == len - have, "frame_left counts what is still due");
    s = frame_get(&r, clock_ms() + 5000, &b, &n);
    T_OK(s == FRAME_IOERR && errno == EBUSY, "frame_get refuses while a frame is in pieces");
    got = have;
    while (ok && got < len) {
        s = frame_get_more(&r, clock_ms() + 5000, &b, &n);
        if (s != FRAME_OK || n == 0 || n > len - got) {
            ok = 0;
            break;
        }
        /* piece i of the body holds (seed + offset) */
        if (!body_is(b, n, n, (unsigned)(7 + got))) ok = 0;
        got += n;
        if (r.cap > FRAME_PREALLOC) grew = 1;
    }
    T_OK(ok && got == len, "frame_get_more yields the rest exactly, in order");
    T_OK(!grew, "the buffer does not grow for a frame taken in pieces");
    s = frame_get_more(&r, clock_ms() + 5000, &b, &n);
    T_OK(s == FRAME_IOERR && errno == EINVAL, "frame_get_more with nothing left: EINVAL");
    s = frame_get(&r, clock_ms() + 5000, &b, &n);
    T_OK(s == FRAME_OK && body_is(b, n, 5, 9), "the next frame follows as usual");
    T_OK(reaped_ok(pid), "writer done");
    s = frame_get(&r, clock_ms() + 5000, &b, &n);
    T_OK(s == FRAME_EOF, "then EOF (got %d)", s);
    frame_rd_free(&r);
    close(sv[0]);

    /* a frame shorter than asked for comes whole; a cut one is TRUNC;
     * bad lengths as with frame_get */
    xpair(sv);
    frame_rd_init(&r, sv[0], 16);
    off = make_frame(all, 3, 1);
    write_full(sv[1], all, off);
    s = frame_get_head(&r, clock_ms() + 5000, 10, &b, &have, &len);
    T_OK(s == FRAME_OK && len == 3 && have == 3 && body_is(b, have, 3, 1) &&
         frame_left(&r) == 0, "a frame shorter than the head asked for comes whole");
    off = make_frame(all, 16, 2);
    write_full(sv[1], all, 4 + 8);
    s = frame_get_head(&r, clock_ms() + 5000, 2, &b, &have, &len);
    T_OK(s == FRAME_OK && len == 16 && have == 8, "head of a frame of the limit");
    s = frame_get_more(&r, clock_ms() + 100, &b, &n);
    T_OK(s == FRAME_TIMEOUT, "its rest not sent: TIMEOUT (got %d)", s);
    close(sv[1]);
    s = frame_get_more(&r, clock_ms() + 5000, &b, &n);
    T_OK(s == FRAME_TRUNC, "its rest cut by end of file: TRUNC (got %d)", s);
    frame_rd_free(&r);
    close(sv[0]);
    xpair(sv);
    frame_rd_init(&r, sv[0], 16);
    put32(all, 17);
    write_full(sv[1], all, 4);
    s = frame_get_head(&r, clock_ms() + 5000, 2, &b, &have, &len);
    T_OK(s == FRAME_BADLEN && r.badlen == 17, "frame_get_head: a length over the limit is BADLEN");
    frame_rd_free(&r);
    close(sv[0]);
    close(sv[1]);
    free(all);
}

static void bad_lengths(void)
{
    int p[2];
    unsigned char h[8], body[5000];
    struct frame_rd r;
    const unsigned char *b = NULL;
    size_t len = 77;
    int left = -1;
    enum frame_status s;

    xpipe(p);
    frame_rd_init(&r, p[0], 16);
    put32(h, 0);
    write_full(p[1], h, 4);
    s = frame_get(&r, clock_ms() + 5000, &b, &len);
    T_OK(s == FRAME_BADLEN && r.badlen == 0 && len == 77,
         "length 0 is FRAME_BADLEN (got %d)", s);
    frame_rd_free(&r);
    close(p[0]);
    close(p[1]);

    xpipe(p);
    frame_rd_init(&r, p[0], 16);
    put32(h, 17);
    memset(body, 'x', sizeof body);
    write_full(p[1], h, 4);
    write_full(p[1], body, sizeof body);
    s = frame_get(&r, clock_ms() + 5000, &b, &len);
    ioctl(p[0], FIONREAD, &left);
    T_OK(s == FRAME_BADLEN && r.badlen == 17,
         "length limit+1 is FRAME_BADLEN with the length kept (got %d)", s);
    T_OK(left >= (int)sizeof body - 16,
         "the over-limit body is not read (%d of %zu octets still queued)", left,
         sizeof body);
    frame_rd_free(&r);
    close(p[0]);
    close(p[1]);

    xpipe(p);
    frame_rd_init(&r, p[0], 16);
    put32(h, 0xffffffffu);
    write_full(p[1], h, 4);
    s = frame_get(&r, clock_ms() + 5000, &b, &len);
    T_OK(s == FRAME_BADLEN && r.badlen == 0xffffffffu,
         "length 2^32-1 is FRAME_BADLEN (got %d)", s);
    frame_rd_free(&r);
    close(p[0]);
    close(p[1]);

    xpipe(p);
    frame_rd_init(&r, p[0], 16);
    make_frame(body, 16, 4);
    write_full(p[1], body, 20);
    s = frame_get(&r, clock_ms() + 5000, &b, &len);
    T_OK(s == FRAME_OK && body_is(b, len, 16, 4), "length exactly the limit is OK");
    frame_rd_free(&r);
    close(p[0]);
    close(p[1]);
}

static void eofs(void)
{
    int p[2];
    unsigned char f[32];
    struct frame_rd r;
    const unsigned char *b;
    size_t len;
    enum frame_status s;

    xpipe(p);
    close(p[1]);
    frame_rd_init(&r, p[0], 64);
    s = frame_get(&r, clock_ms() + 5000, &b, &len);
    T_OK(s == FRAME_EOF, "end of file before any frame is FRAME_EOF (got %d)", s);
    frame_rd_free(&r);
    close(p[0]);

    xpipe(p);
    frame_rd_init(&r, p[0], 64);
    write_full(p[1], f, make_frame(f, 10, 0));
    close(p[1]);
    s = frame_get(&r, clock_ms() + 5000, &b, &len);
    T_OK(s == FRAME_OK, "a frame before end of file");
    s = frame_get(&r, clock_ms() + 5000, &b, &len);
    T_OK(s == FRAME_EOF, "end of file between frames is FRAME_EOF (got %d)", s);
    frame_rd_free(&r);
    close(p[0]);

    xpipe(p);
    frame_rd_init(&r, p[0], 64);
    make_frame(f, 10, 0);
    write_full(p[1], f, 2);
    close(p[1]);
    s = frame_get(&r, clock_ms() + 5000, &b, &len);
    T_OK(s == FRAME_TRUNC, "end of file mid-header is FRAME_TRUNC (got %d)", s);
    frame_rd_free(&r);
    close(p[0]);

    xpipe(p);
    frame_rd_init(&r, p[0], 64);
    write_full(p[1], f, 4 + 4);
    close(p[1]);
    s = frame_get(&r, clock_ms() + 5000, &b, &len);
    T_OK(s == FRAME_TRUNC, "end of file mid-body is FRAME_TRUNC (got %d)", s);
    frame_rd_free(&r);
    close(p[0]);

    xpipe(p);
    frame_rd_init(&r, p[0], 64);
    write_full(p[1], f, 14);
    write_full(p[1], f, 6);
    close(p[1]);
    s = frame_get(&r, clock_ms() + 5000, &b, &len);
    s = frame_get(&r, clock_ms() + 5000, &b, &len);
    T_OK(s == FRAME_TRUNC, "end of file in a second frame is FRAME_TRUNC (got %d)", s);
    frame_rd_free(&r);
    close(p[0]);
}

static void deadlines(void)
{
    int p[2];
    unsigned char f[64];
    struct frame_rd r;
    const unsigned char *b;
    size_t len, n;
    pid_t pid;
    enum frame_status s;

    xpipe(p);
    frame_rd_init(&r, p[0], 64);
    s = frame_get(&r, clock_ms() + 100, &b, &len);
    T_OK(s == FRAME_TIMEOUT, "nothing before the deadline is FRAME_TIMEOUT (got %d)", s);
    n = make_frame(f, 20, 0);
    write_full(p[1], f, 10);
    s = frame_get(&r, clock_ms() + 100, &b, &len);
    T_OK(s == FRAME_TIMEOUT, "half a frame by the deadline is FRAME_TIMEOUT (got %d)", s);
    write_full(p[1], f + 10, n - 10);
    s = frame_get(&r, clock_ms() + 5000, &b, &len);
    T_OK(s == FRAME_OK && body_is(b, len, 20, 0),
         "the rest, after a timeout, still completes the frame");
    frame_rd_free(&r);
    close(p[0]);
    close(p[1]);

    /* one octet per 30 ms: 24 octets take ~700 ms; a 200 ms deadline for
     * the whole frame must not be extended by each octet (section 4) */
    xpipe(p);
    frame_rd_init(&r, p[0], 64);
    n = make_frame(f, 20, 0);
    pid = writer(p[1], p[0], f, n, 1, 30);
    close(p[1]);
    s = frame_get(&r, clock_ms() + 200, &b, &len);
    T_OK(s == FRAME_TIMEOUT, "a trickle of one octet per 30 ms does not extend "
                             "the deadline (got %d)", s);
    if (pid > 0) kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    frame_rd_free(&r);
    close(p[0]);

    xpipe(p);
    frame_rd_init(&r, p[0], 64);
    s = frame_get(&r, clock_ms() - 1, &b, &len);
    T_OK(s == FRAME_TIMEOUT, "a deadline already past is FRAME_TIMEOUT (got %d)", s);
    frame_rd_free(&r);
    close(p[0]);
    close(p[1]);
}

static volatile sig_atomic_t got_term;

static void on_term(int sig)
{
    (void)sig;
    got_term = 1;
}

static void stop_flag(void)
{
    int p[2];
    struct frame_rd r;
    const unsigned char *b;
    size_t len;
    sigset_t block, old, waitmask;
    struct sigaction sa, oldsa;
    pid_t pid;
    enum frame_status s;

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_term;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, &oldsa);
    sigemptyset(&block);
    sigaddset(&block, SIGTERM);
    sigprocmask(SIG_BLOCK, &block, &old);
    waitmask = old;
    sigdelset(&waitmask, SIGTERM);

    xpipe(p);
    frame_rd_init(&r, p[0], 64);
    r.stop = &got_term;
    r.waitmask = &waitmask;

    /* SIGTERM from another process while frame_get waits in ppoll */
    got_term = 0;
    pid = fork();
    if (pid == 0) {
        sleep_ms(100);
        kill(getppid(), SIGTERM);
        _exit(0);
    }
    s = frame_get(&r, clock_ms() + 20000, &b, &len);
    T_OK(s == FRAME_STOPPED && got_term,
         "SIGTERM during the wait gives FRAME_STOPPED (got %d)", s);
    T_OK(reaped_ok(pid), "signalling child exited cleanly");

    /* SIGTERM that arrives while blocked, before the wait: the ppoll mask
     * lets it in, so it is not missed */
    got_term = 0;
    kill(getpid(), SIGTERM);
    T_OK(!got_term, "SIGTERM stays pending while blocked");
    s = frame_get(&r, clock_ms() + 20000, &b, &len);
    T_OK(s == FRAME_STOPPED && got_term,
         "a SIGTERM pending before the wait gives FRAME_STOPPED (got %d)", s);

    /* flag already up: no wait at all */
    got_term = 1;
    s = frame_get(&r, clock_ms() + 20000, &b, &len);
    T_OK(s == FRAME_STOPPED, "a raised stop flag gives FRAME_STOPPED (got %d)", s);

    /* a whole frame already buffered is still handed out */
    {
        unsigned char f[16];
        got_term = 0;
        write_full(p[1], f, make_frame(f, 3, 0));
        write_full(p[1], f, make_frame(f, 3, 0));
        s = frame_get(&r, clock_ms() + 5000, &b, &len);
        got_term = 1;
        s = frame_get(&r, clock_ms() + 5000, &b, &len);
        T_OK(s == FRAME_OK, "a buffered frame is returned even with the flag up");
    }

    frame_rd_free(&r);
    close(p[0]);
    close(p[1]);
    sigprocmask(SIG_SETMASK, &old, NULL);
    sigaction(SIGTERM, &oldsa, NULL);
    got_term = 0;
}

/* The peer closes with octets we sent still unread: the kernel resets
 * the connection, and the next read fails with ECONNRESET. */
static void reset_case(int a, int bfd, const char *what)
{
    struct frame_rd r;
    const unsigned char *b;
    size_t len;
    enum frame_status s;
    unsigned char junk[100];

    memset(junk, 1, sizeof junk);
    write_full(a, junk, sizeof junk); /* never read by bfd */
    sleep_ms(20);
    close(bfd);
    frame_rd_init(&r, a, 64);
    errno = 0;
    s = frame_get(&r, clock_ms() + 5000, &b, &len);
    T_OK(s == FRAME_IOERR && errno == ECONNRESET,
         "%s: peer closed with unread data gives FRAME_IOERR, ECONNRESET "
         "(got %d, %s)", what, s, strerror(errno));
    frame_rd_free(&r);
    close(a);
}

static void resets(void)
{
    int sv[2];
    int ls, c, a;
    struct sockaddr_in sin;
    socklen_t sl = sizeof sin;

    xpair(sv);
    reset_case(sv[0], sv[1], "unix socketpair");

    ls = socket(AF_INET, SOCK_STREAM, 0);
    memset(&sin, 0, sizeof sin);
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sin.sin_port = 0;
    if (ls < 0 || bind(ls, (struct sockaddr *)&sin, sizeof sin) < 0 ||
        listen(ls, 1) < 0 || getsockname(ls, (struct sockaddr *)&sin, &sl) < 0) {
        T_OK(0, "TCP loopback listener (%s)", strerror(errno));
        return;
    }
    c = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(c, (struct sockaddr *)&sin, sizeof sin) < 0 ||
        (a = accept(ls, NULL, NULL)) < 0) {
        T_OK(0, "TCP loopback connect (%s)", strerror(errno));
        close(ls);
        return;
    }
    close(ls);
    reset_case(a, c, "TCP loopback");
}

static void writes(void)
{
    int sv[2], fl;
    unsigned char chunk[4096];
    int r;
    pid_t pid;

    memset(chunk, 'w', sizeof chunk);
    xpair(sv);
    fl = fcntl(sv[0], F_GETFL);
    fcntl(sv[0], F_SETFL, fl | O_NONBLOCK);
    while (write(sv[0], chunk, sizeof chunk) > 0) {}
    errno = 0;
    r = frame_write_all(sv[0], chunk, sizeof chunk, clock_ms() + 100);
    T_OK(r == -1 && errno == ETIMEDOUT,
         "frame_write_all on a full socket times out with ETIMEDOUT (%d, %s)", r,
         strerror(errno));
    close(sv[0]);
    close(sv[1]);

    /* 1 MiB through a socket a slow reader drains: completes */
    xpair(sv);
    fcntl(sv[0], F_SETFL, fcntl(sv[0], F_GETFL) | O_NONBLOCK);
    pid = fork();
    if (pid == 0) {
        size_t total = 0;
        ssize_t k;
        unsigned char in[8192];
        close(sv[0]);
        while ((k = read(sv[1], in, sizeof in)) > 0) {
            total += (size_t)k;
            if (total % (256 * 1024) < (size_t)k) sleep_ms(5);
        }
        _exit(total == 256 * sizeof chunk ? 0 : 1);
    }
    close(sv[1]);
    {
        unsigned char *big = malloc(256 * sizeof chunk);
        memset(big, 'b', 256 * sizeof chunk);
        r = frame_write_all(sv[0], big, 256 * sizeof chunk, clock_ms() + 20000);
        free(big);
    }
    close(sv[0]);
    T_OK(r == 0, "frame_write_all writes 1 MiB through a non-blocking socket");
    T_OK(reaped_ok(pid), "the reader got every octet");

    /* a closed peer: EPIPE, not a signal */
    {
        void (*old)(int) = signal(SIGPIPE, SIG_IGN);
        xpair(sv);
        close(sv[1]);
        errno = 0;
        r = frame_write_all(sv[0], chunk, 10, clock_ms() + 1000);
        T_OK(r == -1 && errno == EPIPE, "frame_write_all to a closed peer: EPIPE");
        close(sv[0]);
        signal(SIGPIPE, old);
    }
}

static void builders(void)
{
    struct der_w w;
    unsigned char small[8];
    static const unsigned char want[] = {0, 0, 0, 6, 0xa1, 4, 0xa0, 2, 0xa1, 0};
    int p[2];
    struct frame_rd r;
    const unsigned char *b;
    size_t len;
    enum frame_status s;

    der_w_growing(&w, 1 << 20);
    frame_w_begin(&w);
    pdu_enc_cmd_retrieve(&w);
    T_OK(frame_w_end(&w) == 0 && w.len == sizeof want &&
             memcmp(w.buf, want, sizeof want) == 0,
         "frame_w_begin/end wrap a PDU in its length prefix");
    xpipe(p);
    write_full(p[1], w.buf, w.len);
    frame_rd_init(&r, p[0], 64);
    s = frame_get(&r, clock_ms() + 5000, &b, &len);
    T_OK(s == FRAME_OK && len == 6 && memcmp(b, want + 4, 6) == 0,
         "a built frame reads back with frame_get");
    frame_rd_free(&r);
    close(p[0]);
    close(p[1]);

    /* a long PDU: the prefix holds the full 32-bit length */
    der_w_reset(&w);
    frame_w_begin(&w);
    der_w_open(&w, 0x30);
    {
        unsigned char z[1000];
        int i;
        memset(z, 0, sizeof z);
        for (i = 0; i < 70; i++) der_w_raw(&w, z, sizeof z);
    }
    der_w_close(&w);
    T_OK(frame_w_end(&w) == 0 && w.len == 4 + 1 + 4 + 70000 &&
             w.buf[0] == 0 && w.buf[1] == 0x01 && w.buf[2] == 0x11 &&
             w.buf[3] == 0x75,
         "frame_w_end writes a length above 65535 big-endian");

    der_w_reset(&w);
    frame_w_begin(&w);
    errno = 0;
    T_OK(frame_w_end(&w) < 0 && errno == E2BIG, "frame_w_end refuses an empty PDU");
    der_w_reset(&w);
    frame_w_begin(&w);
    der_w_open(&w, 0x30);
    errno = 0;
    T_OK(frame_w_end(&w) < 0 && errno == EINVAL,
         "frame_w_end refuses a PDU with an element still open");
    der_w_reset(&w);
    errno = 0;
    T_OK(frame_w_end(&w) < 0 && errno == EINVAL,
         "frame_w_end without frame_w_begin fails");
    der_w_free(&w);

    der_w_fixed(&w, small, sizeof small);
    frame_w_begin(&w);
    pdu_enc_cmd_retrieve(&w);
    errno = 0;
    T_OK(frame_w_end(&w) < 0 && errno == ENOSPC,
         "frame_w_end reports the writer's error (ENOSPC)");
}

int main(void)
{
    init_fails();
    split_writes();
    pipelining();
    pieces();
    reserve();
    bad_lengths();
    eofs();
    deadlines();
    stop_flag();
    resets();
    writes();
    builders();
    return t_done();
}
