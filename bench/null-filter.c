/*
 * null-filter: the baseline for rnasp-d under tcpserver. It does what a
 * protocol filter cannot avoid and nothing else: for every frame read on
 * standard input (4-octet big-endian length, then the body) it writes one
 * fixed frame, a ResponseNotify with noerror, to standard output, until
 * end of file. No store, no configuration, no decoding: whatever rnasp-d
 * does beyond this is what figure 1 of bench/RESULTS.md measures.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "der.h"
#include "frame.h"
#include "pdu.h"

/* Fill p with n octets from fd 0; 0 at end of file, -1 on error. */
static int get(unsigned char *p, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(0, p + got, n - got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return r == 0 && got == 0 ? 0 : -1;
        got += (size_t)r;
    }
    return 1;
}

int main(void)
{
    static unsigned char body[1 << 16];
    unsigned char resp[64], h[4];
    struct der_w w;

    der_w_fixed(&w, resp, sizeof resp);
    frame_w_begin(&w);
    pdu_enc_resp_notify(&w, 0, PDU_S_NOERROR, NULL, 0);
    if (frame_w_end(&w) < 0) return 111;
    for (;;) {
        uint32_t len;
        if (get(h, 4) <= 0) return 0;
        len = (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 | (uint32_t)h[2] << 8 | h[3];
        while (len > 0) {
            size_t k = len < sizeof body ? len : sizeof body;
            if (get(body, k) <= 0) return 0;
            len -= (uint32_t)k;
        }
        if (frame_write_all(1, w.buf, w.len, clock_ms() + 60000) < 0) return 0;
    }
}
