/*
 * null-unix PATH: the baseline request/response server on a Unix socket.
 * One poll loop like rna-store's, non-blocking clients; every frame a
 * client sends is answered with a fixed frame shaped like the store's
 * answer to a submit (version 1, status ok, four u32 counts). Runs until
 * SIGTERM. What rna-store does beyond this is the cost of the store
 * itself rather than of the socket round trip.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define MAXC 256
#define CBUF (1 << 16)

struct cl {
    int fd;
    size_t n;      /* octets buffered in in[] */
    unsigned char in[CBUF];
};

static volatile sig_atomic_t stop;

static void on_term(int sig)
{
    (void)sig;
    stop = 1;
}

static const unsigned char resp[] = {0, 0, 0, 18, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0,
                                     0, 0, 0, 0, 0, 0, 0, 0};

/* Write all of p, waiting for room; -1 if the client is gone. */
static int put(int fd, const unsigned char *p, size_t n)
{
    while (n > 0) {
        ssize_t r = write(fd, p, n);
        if (r < 0 && errno == EAGAIN) {
            struct pollfd pf = {fd, POLLOUT, 0};
            if (poll(&pf, 1, 10000) <= 0) return -1;
            continue;
        }
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return -1;
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

/* Answer every complete frame in c->in; -1 to drop the client. */
static int serve(struct cl *c)
{
    static unsigned char out[CBUF / 4 * sizeof resp];
    size_t i = 0, o = 0;
    for (;;) {
        uint32_t len;
        if (c->n - i < 4) break;
        len = (uint32_t)c->in[i] << 24 | (uint32_t)c->in[i + 1] << 16 |
              (uint32_t)c->in[i + 2] << 8 | c->in[i + 3];
        if (len == 0 || len > (uint32_t)CBUF - 4) return -1;
        if (c->n - i - 4 < len) break;
        i += 4 + len;
        memcpy(out + o, resp, sizeof resp);
        o += sizeof resp;
    }
    memmove(c->in, c->in + i, c->n - i);
    c->n -= i;
    return o ? put(c->fd, out, o) : 0;
}

int main(int argc, char **argv)
{
    static struct cl cls[MAXC];
    static struct pollfd pf[MAXC + 1];
    struct sockaddr_un sa;
    struct sigaction act;
    size_t nc = 0, i;
    int lfd;

    if (argc != 2) {
        fprintf(stderr, "usage: null-unix PATH\n");
        return 100;
    }
    memset(&act, 0, sizeof act);
    act.sa_handler = on_term;
    sigaction(SIGTERM, &act, NULL);
    signal(SIGPIPE, SIG_IGN);
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    if (strlen(argv[1]) >= sizeof sa.sun_path) return 100;
    strcpy(sa.sun_path, argv[1]);
    unlink(argv[1]);
    lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(lfd, 1024) < 0) {
        perror("null-unix: fatal: listen");
        return 111;
    }
    while (!stop) {
        pf[0].fd = lfd;
        pf[0].events = POLLIN;
        for (i = 0; i < nc; i++) {
            pf[i + 1].fd = cls[i].fd;
            pf[i + 1].events = POLLIN;
        }
        if (poll(pf, nc + 1, 1000) < 0) {
            if (errno == EINTR) continue;
            return 111;
        }
        for (i = nc; i-- > 0;) {
            struct cl *c = &cls[i];
            ssize_t r;
            if (!pf[i + 1].revents) continue;
            r = read(c->fd, c->in + c->n, CBUF - c->n);
            if ((r < 0 && errno != EAGAIN && errno != EINTR) || r == 0 ||
                (r > 0 && (c->n += (size_t)r, serve(c) < 0))) {
                close(c->fd);
                if (i != nc - 1) {
                    c->fd = cls[nc - 1].fd;
                    c->n = cls[nc - 1].n;
                    memcpy(c->in, cls[nc - 1].in, c->n);
                }
                nc--;
            }
        }
        if (pf[0].revents & POLLIN) {
            int fd;
            while (nc < MAXC && (fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
                cls[nc].fd = fd;
                cls[nc].n = 0;
                nc++;
            }
        }
    }
    unlink(argv[1]);
    return 0;
}
