/*
 * libFuzzer target: lib/frame's reader. The first octet picks a small
 * frame limit (1..64); the rest goes through a pipe, closed after it, into
 * frame_get() until it stops. A plain model of section 1 framing predicts
 * every result: each frame's body and length, then EOF at a clean end,
 * TRUNC mid-frame, or BADLEN (with the length) on 0 or over the limit.
 * The small limit makes the reader refill and compact its buffer often.
 * When the first octet's top bit is set, frames starting at an odd offset are taken in
 * pieces (frame_get_head with a want of 1..8, then frame_get_more), and
 * the pieces must add up to the same body.
 */
#include <unistd.h>

#include "frame.h"
#include "fuzz.h"

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
           (uint32_t)p[3];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int p[2];
    struct frame_rd r;
    size_t max, off = 0, n;
    const uint8_t *in;

    if (size < 1 || size > 60000) return 0; /* must fit a pipe's buffer */
    max = 1 + data[0] % 64;
    in = data + 1;
    n = size - 1;
    if (pipe(p) < 0) abort();
    if (n && write(p[1], in, n) != (ssize_t)n) abort();
    close(p[1]);
    if (frame_rd_init(&r, p[0], max) < 0) abort();
    for (;;) {
        const unsigned char *body;
        size_t len, left = n - off;
        enum frame_status s;
        uint32_t l = left >= 4 ? get32(in + off) : 0;
        size_t want = 1 + off % 8, have = 0;

        if ((data[0] & 0x80) && (off & 1)) {
            /* in pieces */
            s = frame_get_head(&r, clock_ms() + 10000, want, &body, &have, &len);
            if (s == FRAME_OK) {
                size_t got = have;
                if (len != l || have > l || have < (want < l ? want : l) ||
                    memcmp(body, in + off + 4, have) != 0 || frame_left(&r) != l - have)
                    abort();
                while (got < l) {
                    const unsigned char *pc;
                    size_t k;
                    s = frame_get_more(&r, clock_ms() + 10000, &pc, &k);
                    if (s == FRAME_TRUNC && left - 4 < l) break;
                    if (s != FRAME_OK || k == 0 || k > l - got ||
                        memcmp(pc, in + off + 4 + got, k) != 0)
                        abort();
                    got += k;
                }
                if (s == FRAME_TRUNC) break;
                if (frame_left(&r) != 0) abort();
                off += 4 + l;
                continue;
            }
            /* a cut head: TRUNC only if too little of the frame came */
            if (s == FRAME_TRUNC && left >= 4 && l != 0 && l <= max &&
                left - 4 >= (want < l ? want : l))
                abort();
        } else {
            s = frame_get(&r, clock_ms() + 10000, &body, &len);
        }

        if (left == 0) {
            if (s != FRAME_EOF) abort();
            break;
        }
        if (left < 4) {
            if (s != FRAME_TRUNC) abort();
            break;
        }
        if (l == 0 || l > max) {
            if (s != FRAME_BADLEN || r.badlen != l) abort();
            break;
        }
        if (left - 4 < l) {
            if (s != FRAME_TRUNC) abort();
            break;
        }
        if (s != FRAME_OK || len != l || memcmp(body, in + off + 4, l) != 0)
            abort();
        off += 4 + l;
        if (frame_pending(&r) > n - off) abort();
    }
    frame_rd_free(&r);
    close(p[0]);
    return 0;
}
