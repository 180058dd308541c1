/*
 * storec: store protocol client. See storec.h.
 */
#include "storec.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int storec_open(struct storec *s, const char *dir, int64_t deadline)
{
    struct sockaddr_un sa;
    int fd, e;

    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    if ((size_t)snprintf(sa.sun_path, sizeof sa.sun_path, "%s/%s", dir,
                         STORE_SOCKET) >= sizeof sa.sun_path) {
        errno = ENAMETOOLONG;
        return -1;
    }
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) return -1;
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        if (errno != EINPROGRESS && errno != EAGAIN) goto fail;
        /* a full backlog: wait for the store to accept, within deadline */
        if (frame_wait_fd(fd, POLLOUT, deadline, NULL, NULL) <= 0) {
            errno = ETIMEDOUT;
            goto fail;
        }
        {
            int err = 0;
            socklen_t l = sizeof err;
            if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &l) < 0) goto fail;
            if (err) {
                errno = err;
                goto fail;
            }
        }
    }
    if (frame_rd_init(&s->rd, fd, STORE_RESP_MAX) < 0) goto fail;
    der_w_growing(&s->w, STORE_REQ_MAX + 4);
    s->fd = fd;
    return 0;
fail:
    e = errno;
    close(fd);
    errno = e;
    return -1;
}

void storec_close(struct storec *s)
{
    if (s->fd >= 0) close(s->fd);
    s->fd = -1;
    frame_rd_free(&s->rd);
    der_w_free(&s->w);
}

void storec_begin(struct storec *s, unsigned op)
{
    unsigned char h[2];
    der_w_reset(&s->w);
    frame_w_begin(&s->w);
    h[0] = STOREC_VERSION;
    h[1] = (unsigned char)op;
    der_w_raw(&s->w, h, 2);
}

void storec_put_u32(struct der_w *w, uint32_t v)
{
    unsigned char b[4] = {(unsigned char)(v >> 24), (unsigned char)(v >> 16),
                          (unsigned char)(v >> 8), (unsigned char)v};
    der_w_raw(w, b, 4);
}

void storec_put_u64(struct der_w *w, uint64_t v)
{
    storec_put_u32(w, (uint32_t)(v >> 32));
    storec_put_u32(w, (uint32_t)v);
}

uint32_t storec_get_u32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
           (uint32_t)p[3];
}

uint64_t storec_get_u64(const unsigned char *p)
{
    return (uint64_t)storec_get_u32(p) << 32 | storec_get_u32(p + 4);
}

/* A frame status as 0, or -1 with errno. */
static int fs_errno(enum frame_status fs)
{
    switch (fs) {
    case FRAME_OK:
        return 0;
    case FRAME_TIMEOUT:
        errno = ETIMEDOUT;
        return -1;
    case FRAME_EOF:
    case FRAME_TRUNC:
        errno = EPIPE;
        return -1;
    case FRAME_IOERR:
        return -1;
    default:
        errno = EPROTO;
        return -1;
    }
}

static int send_req(struct storec *s, int64_t deadline)
{
    if (frame_w_end(&s->w) < 0) return -1;
    return frame_write_all(s->fd, s->w.buf, s->w.len, deadline);
}

int storec_call(struct storec *s, int64_t deadline,
                const unsigned char **payload, size_t *plen)
{
    const unsigned char *body;
    size_t len;

    if (send_req(s, deadline) < 0) return -1;
    if (fs_errno(frame_get(&s->rd, deadline, &body, &len)) < 0) return -1;
    if (len < 2 || body[0] != STOREC_VERSION) {
        errno = EPROTO;
        return -1;
    }
    *payload = body + 2;
    *plen = len - 2;
    return body[1];
}

int storec_call_head(struct storec *s, int64_t deadline, size_t want,
                     const unsigned char **payload, size_t *have, size_t *plen)
{
    const unsigned char *body;
    size_t n, len;

    if (send_req(s, deadline) < 0) return -1;
    if (want > FRAME_HEAD_MAX - 2) want = FRAME_HEAD_MAX - 2;
    if (fs_errno(frame_get_head(&s->rd, deadline, want + 2, &body, &n, &len)) < 0)
        return -1;
    if (len < 2 || n < 2 || body[0] != STOREC_VERSION) {
        errno = EPROTO;
        return -1;
    }
    *payload = body + 2;
    *have = n - 2;
    *plen = len - 2;
    return body[1];
}

int storec_more(struct storec *s, int64_t deadline, const unsigned char **p,
                size_t *n)
{
    return fs_errno(frame_get_more(&s->rd, deadline, p, n));
}

const char *storec_status_name(int status)
{
    switch (status) {
    case STORE_OK: return "ok";
    case STORE_BADREQ: return "badrequest";
    case STORE_SHUTDOWN: return "shutdown";
    case STORE_INTERNAL: return "internal";
    case STORE_NOMAILBOX: return "nosuchmailbox";
    case STORE_QUOTA: return "quota";
    case STORE_STATE: return "state";
    case STORE_CONFIG: return "config";
    default: return "unknown";
    }
}
