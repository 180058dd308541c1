/*
 * frame: 4-octet big-endian length-prefixed frames on file descriptors
 * (PROTOCOL.md section 1), with a size limit and a deadline.
 *
 * Reading buffers what the peer sent ahead (pipelining), so one read may
 * yield several frames. The body returned by frame_get() points into the
 * reader's buffer and stays valid until the next frame_get(). The buffer
 * is allocated once, at frame_rd_init(), to hold the largest frame when
 * the limit is at most 1 MiB; above that it starts at 1 MiB and doubles
 * as a frame's length demands, never past the limit.
 *
 * A frame too large to hold is taken in pieces instead: frame_get_head()
 * returns its length and the first octets buffered, frame_get_more() the
 * rest in pieces of at most the buffer (no growth), each valid until the
 * next call. Between the two, frame_get() refuses (FRAME_IOERR, EBUSY).
 *
 * Every wait is a poll() bounded by an absolute deadline on the monotonic
 * clock (milliseconds, clock_ms()); a deadline of -1 waits for ever.
 * With a stop flag and a wait mask, the wait is a ppoll() that lets the
 * stopping signal in only while waiting, so a SIGTERM is never missed
 * between checking the flag and sleeping.
 */
#ifndef RNA_FRAME_H
#define RNA_FRAME_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "der.h"

enum frame_status {
    FRAME_OK = 0,      /* a whole frame is in *body, *len */
    FRAME_EOF,         /* orderly end of file between frames */
    FRAME_TRUNC,       /* end of file in the middle of a frame */
    FRAME_BADLEN,      /* length 0 or over the limit (body not read) */
    FRAME_TIMEOUT,     /* deadline passed */
    FRAME_STOPPED,     /* the stop flag was raised */
    FRAME_IOERR        /* read failed; errno says why (ECONNRESET ...) */
};

#define FRAME_PREALLOC ((size_t)1 << 20 | 4) /* see frame_rd_init */
#define FRAME_HEAD_MAX 64 /* the most frame_get_head() waits for */

struct frame_rd {
    int fd;
    unsigned char *buf;
    size_t cap;   /* max + 4 */
    size_t max;   /* largest body accepted */
    size_t start; /* unconsumed octets are buf[start..end) */
    size_t end;
    uint32_t badlen; /* the length seen, after FRAME_BADLEN */
    size_t left;  /* octets of a frame taken in pieces not yet returned */
    const volatile sig_atomic_t *stop; /* optional */
    const sigset_t *waitmask;          /* optional, with stop */
};

int64_t clock_ms(void);

/* -1 (ENOMEM, or EINVAL for max 0 or over 2^32-1) on failure. */
int frame_rd_init(struct frame_rd *r, int fd, size_t max);
void frame_rd_free(struct frame_rd *r);
/* Make room now for a frame of len body octets (at most the limit), for a
 * caller that expects a large one and would rather allocate before it
 * arrives than while. 0, or -1 (ENOMEM; EINVAL over the limit). */
int frame_rd_reserve(struct frame_rd *r, size_t len);
enum frame_status frame_get(struct frame_rd *r, int64_t deadline,
                            const unsigned char **body, size_t *len);
/* Start taking a frame in pieces: wait until its length and the first
 * min(want, length) octets of its body are buffered (want at most 64, so
 * a header can be decoded from one piece). *len is the whole body's
 * length; *body, *have are the octets buffered so far (at most *len).
 * When *have < *len, frame_get_more() yields the rest. Statuses as for
 * frame_get(). */
enum frame_status frame_get_head(struct frame_rd *r, int64_t deadline, size_t want,
                                 const unsigned char **body, size_t *have,
                                 size_t *len);
/* The next piece of the frame begun by frame_get_head(): what is buffered,
 * or what one read() brings, never past the frame's end; *n >= 1. With
 * nothing left of the frame: FRAME_IOERR, errno EINVAL. A piece is valid
 * until the next call. */
enum frame_status frame_get_more(struct frame_rd *r, int64_t deadline,
                                 const unsigned char **p, size_t *n);
/* Octets of the frame begun by frame_get_head() not yet returned. */
size_t frame_left(const struct frame_rd *r);

/* Octets received but not yet returned as frames. */
size_t frame_pending(const struct frame_rd *r);

/* Wait until fd is readable (1), the deadline passes (0), or a failure
 * or stop (-1, errno EINTR for stop). Used by callers that watch a
 * descriptor without taking a frame. */
int frame_wait_fd(int fd, short events, int64_t deadline,
                  const volatile sig_atomic_t *stop, const sigset_t *waitmask);

/* Write all of p, waiting (bounded by deadline) when the descriptor is
 * full. 0, or -1 with errno (ETIMEDOUT, EPIPE, ...). */
int frame_write_all(int fd, const void *p, size_t n, int64_t deadline);

/* The same for a gather list (iov is consumed as it is written). */
struct iovec;
int frame_writev_all(int fd, struct iovec *iov, int n, int64_t deadline);

/* Build a frame in a der_w: begin reserves the 4 length octets, end fills
 * them. end returns -1 (errno from w->err, or E2BIG) if the PDU could not
 * be built. */
void frame_w_begin(struct der_w *w);
int frame_w_end(struct der_w *w);

#endif
