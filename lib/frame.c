/*
 * frame: see frame.h. Invariant: start <= end <= cap; a frame header is
 * parsed only when 4 octets are buffered, and its body is handed out only
 * when all of it is buffered.
 */
#include "frame.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/uio.h>
#include <unistd.h>

int64_t clock_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int frame_rd_init(struct frame_rd *r, int fd, size_t max)
{
    if (max == 0 || max > UINT32_MAX - 4) {
        errno = EINVAL;
        return -1;
    }
    /* Limits up to FRAME_PREALLOC are allocated whole now, so a filter
     * allocates nothing per frame; larger ones (store responses) start
     * there and double as frames need. */
    r->cap = max + 4 <= FRAME_PREALLOC ? max + 4 : FRAME_PREALLOC;
    r->buf = malloc(r->cap);
    if (!r->buf) return -1;
    r->fd = fd;
    r->max = max;
    r->start = r->end = 0;
    r->badlen = 0;
    r->left = 0;
    r->stop = NULL;
    r->waitmask = NULL;
    return 0;
}

void frame_rd_free(struct frame_rd *r)
{
    free(r->buf);
    r->buf = NULL;
}

int frame_rd_reserve(struct frame_rd *r, size_t len)
{
    unsigned char *nb;
    if (len > r->max) {
        errno = EINVAL;
        return -1;
    }
    if (len + 4 <= r->cap) return 0;
    nb = realloc(r->buf, len + 4);
    if (!nb) {
        errno = ENOMEM;
        return -1;
    }
    r->buf = nb;
    r->cap = len + 4;
    return 0;
}

size_t frame_pending(const struct frame_rd *r)
{
    return r->end - r->start;
}

int frame_wait_fd(int fd, short events, int64_t deadline,
                  const volatile sig_atomic_t *stop, const sigset_t *waitmask)
{
    struct pollfd pfd;
    int rc;

    for (;;) {
        int64_t left = -1;
        if (stop && *stop) {
            errno = EINTR;
            return -1;
        }
        if (deadline >= 0) {
            left = deadline - clock_ms();
            if (left <= 0) return 0;
        }
        pfd.fd = fd;
        pfd.events = events;
        pfd.revents = 0;
        if (waitmask) {
            struct timespec ts, *tsp = NULL;
            if (left >= 0) {
                ts.tv_sec = left / 1000;
                ts.tv_nsec = (left % 1000) * 1000000;
                tsp = &ts;
            }
            rc = ppoll(&pfd, 1, tsp, waitmask);
        } else {
            rc = poll(&pfd, 1, left > INT32_MAX ? INT32_MAX : (int)left);
        }
        if (rc > 0) return 1;
        if (rc < 0 && errno != EINTR) return -1;
    }
}

static uint32_t get32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
           (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/* Wait for the descriptor and read once into the room after end:
 * FRAME_OK when octets came, FRAME_EOF at end of file, or why not. */
static enum frame_status rd_fill(struct frame_rd *r, int64_t deadline)
{
    for (;;) {
        ssize_t n;
        int w = frame_wait_fd(r->fd, POLLIN, deadline, r->stop, r->waitmask);
        if (w == 0) return FRAME_TIMEOUT;
        if (w < 0) return errno == EINTR ? FRAME_STOPPED : FRAME_IOERR;
        n = read(r->fd, r->buf + r->end, r->cap - r->end);
        if (n < 0) {
            if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
                continue;
            return FRAME_IOERR;
        }
        if (n == 0) return FRAME_EOF;
        r->end += (size_t)n;
        return FRAME_OK;
    }
}

/* Make room at the end by moving the unconsumed octets down. */
static void rd_compact(struct frame_rd *r)
{
    size_t have = r->end - r->start;
    if (r->start > 0) {
        memmove(r->buf, r->buf + r->start, have);
        r->start = 0;
        r->end = have;
    }
}

enum frame_status frame_get(struct frame_rd *r, int64_t deadline,
                            const unsigned char **body, size_t *len)
{
    if (r->left) {
        errno = EBUSY;
        return FRAME_IOERR;
    }
    for (;;) {
        size_t have = r->end - r->start;
        enum frame_status st;

        if (have >= 4) {
            uint32_t l = get32(r->buf + r->start);
            if (l == 0 || l > r->max) {
                r->badlen = l;
                return FRAME_BADLEN;
            }
            if (have - 4 >= l) {
                *body = r->buf + r->start + 4;
                *len = l;
                r->start += 4 + (size_t)l;
                return FRAME_OK;
            }
            if ((size_t)l + 4 > r->cap) {
                /* l <= max, so this stays within max + 4 */
                size_t ncap = r->cap;
                unsigned char *nb;
                while (ncap < (size_t)l + 4) ncap *= 2;
                if (ncap > r->max + 4) ncap = r->max + 4;
                rd_compact(r);
                nb = realloc(r->buf, ncap);
                if (!nb) {
                    errno = ENOMEM;
                    return FRAME_IOERR;
                }
                r->buf = nb;
                r->cap = ncap;
            }
        }
        /* Need more: make room at the end by moving what is left down. */
        rd_compact(r);
        st = rd_fill(r, deadline);
        if (st == FRAME_EOF) return have ? FRAME_TRUNC : FRAME_EOF;
        if (st != FRAME_OK) return st;
    }
}

enum frame_status frame_get_head(struct frame_rd *r, int64_t deadline, size_t want,
                                 const unsigned char **body, size_t *have,
                                 size_t *len)
{
    if (r->left) {
        errno = EBUSY;
        return FRAME_IOERR;
    }
    if (want > FRAME_HEAD_MAX) want = FRAME_HEAD_MAX;
    for (;;) {
        size_t got = r->end - r->start;
        enum frame_status st;

        if (got >= 4) {
            uint32_t l = get32(r->buf + r->start);
            if (l == 0 || l > r->max) {
                r->badlen = l;
                return FRAME_BADLEN;
            }
            /* want <= 64 and l <= max, so 4 + need fits the buffer */
            if (got - 4 >= (want < l ? want : l)) {
                size_t n = got - 4 < l ? got - 4 : l;
                *body = r->buf + r->start + 4;
                *have = n;
                *len = l;
                r->start += 4 + n;
                r->left = l - n;
                return FRAME_OK;
            }
        }
        rd_compact(r);
        st = rd_fill(r, deadline);
        if (st == FRAME_EOF) return got ? FRAME_TRUNC : FRAME_EOF;
        if (st != FRAME_OK) return st;
    }
}

enum frame_status frame_get_more(struct frame_rd *r, int64_t deadline,
                                 const unsigned char **p, size_t *n)
{
    size_t got = r->end - r->start;
    if (r->left == 0) {
        errno = EINVAL;
        return FRAME_IOERR;
    }
    if (got == 0) {
        enum frame_status st;
        r->start = r->end = 0;
        st = rd_fill(r, deadline);
        if (st == FRAME_EOF) return FRAME_TRUNC;
        if (st != FRAME_OK) return st;
        got = r->end;
    }
    *n = got < r->left ? got : r->left;
    *p = r->buf + r->start;
    r->start += *n;
    r->left -= *n;
    return FRAME_OK;
}

size_t frame_left(const struct frame_rd *r)
{
    return r->left;
}

int frame_writev_all(int fd, struct iovec *iov, int n, int64_t deadline)
{
    while (n > 0) {
        ssize_t k;
        if (iov->iov_len == 0) {
            iov++;
            n--;
            continue;
        }
        k = writev(fd, iov, n);
        if (k < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                int w = frame_wait_fd(fd, POLLOUT, deadline, NULL, NULL);
                if (w == 0) {
                    errno = ETIMEDOUT;
                    return -1;
                }
                if (w < 0) return -1;
                continue;
            }
            return -1;
        }
        while (n > 0 && (size_t)k >= iov->iov_len) {
            k -= (ssize_t)iov->iov_len;
            iov++;
            n--;
        }
        if (n > 0) {
            iov->iov_base = (char *)iov->iov_base + k;
            iov->iov_len -= (size_t)k;
        }
    }
    return 0;
}

int frame_write_all(int fd, const void *p, size_t n, int64_t deadline)
{
    struct iovec iov = {(void *)p, n};
    return frame_writev_all(fd, &iov, 1, deadline);
}

void frame_w_begin(struct der_w *w)
{
    static const unsigned char zero[4];
    der_w_raw(w, zero, 4);
}

int frame_w_end(struct der_w *w)
{
    size_t n;
    if (w->err || w->depth != 0 || w->len < 4) {
        errno = w->err ? w->err : EINVAL;
        return -1;
    }
    n = w->len - 4;
    if (n == 0 || n > UINT32_MAX) {
        errno = E2BIG;
        return -1;
    }
    w->buf[0] = (unsigned char)(n >> 24);
    w->buf[1] = (unsigned char)(n >> 16);
    w->buf[2] = (unsigned char)(n >> 8);
    w->buf[3] = (unsigned char)n;
    return 0;
}
