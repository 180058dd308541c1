/*
 * rnasp-d DIR: the RNASP server, one session on stdin/stdout under
 * tcpserver (PROTOCOL.md sections 1, 4 and 5.1).
 *
 * Every CommandNotify goes to rna-store as one batch, with the submitter
 * tcpserver reported; the store's verdict becomes the ResponseNotify.
 * Everything else a client can send gets its section 4 answer.
 *
 * Environment: IDLE_TIMEOUT (seconds, default 60), MAX_FRAME (octets,
 * default 1048576), STORE_TIMEOUT (seconds, default 30), TCPREMOTEIP,
 * TCPREMOTEPORT, TCPREMOTEHOST. Exit: 0 when the session ends; 100 usage;
 * 111 broken environment.
 */
#include <stdio.h>
#include <string.h>

#include "pdu.h"
#include "sess.h"
#include "storec.h"

#define PROG "rnasp-d"

/* Forward one CommandNotify; answer it. Returns 0 to go on, -1 to close.
 * The log line is written after the response, so the client does not
 * wait for it (under multilog, a write that wakes another process). */
static int notify(struct sess *s, const struct pdu *m)
{
    unsigned char hdr[20];
    const unsigned char *p;
    size_t plen, hl;
    int st, r;
    static uint32_t rej[PDU_MAX_NOTIFS];
    size_t nrej = 0, i;

    if (sess_stop) goto shutdown;
    if (sess_store(s) < 0) goto shutdown;
    memset(hdr, 0, sizeof hdr);
    hdr[0] = s->peer.addr.v6;
    memcpy(hdr + 1, s->peer.addr.ip, 16);
    hdr[17] = (unsigned char)(s->peer.addr.port >> 8);
    hdr[18] = (unsigned char)s->peer.addr.port;
    hl = strlen(s->peerhost);
    hdr[19] = (unsigned char)hl;
    storec_begin(&s->store, STORE_OP_SUBMIT);
    der_w_raw(&s->store.w, hdr, sizeof hdr);
    der_w_raw(&s->store.w, s->peerhost, hl);
    /* the SEQUENCE OF's contents are the Notification TLVs, as they came */
    der_w_raw(&s->store.w, m->list.p, m->list.len);
    st = storec_call(&s->store, clock_ms() + s->store_ms, &p, &plen);
    if (st < 0 || st == STORE_SHUTDOWN) goto shutdown;
    if (st == STORE_NOMAILBOX || st == STORE_QUOTA) {
        uint32_t n = plen >= 4 ? storec_get_u32(p) : 0;
        if (plen < 4 || n > PDU_MAX_NOTIFS || plen - 4 < 4 * (size_t)n) goto internal;
        for (i = 0; i < n; i++) rej[nrej++] = storec_get_u32(p + 4 + 4 * i);
        sess_begin(s);
        pdu_enc_resp_notify(&s->w, 1, st == STORE_QUOTA ? PDU_S_QUOTA : PDU_S_NOSUCHMAILBOX,
                            rej, nrej);
        r = sess_send(s);
        sess_log(s, "command=notify received=%zu rejected=%zu status=%s", m->list.count,
                 nrej, st == STORE_QUOTA ? "errorwouldexceedquota" : "errornosuchmailbox");
        return r;
    }
    if (st != STORE_OK || plen < 16) goto internal;
    sess_begin(s);
    pdu_enc_resp_notify(&s->w, 0, PDU_S_NOERROR, NULL, 0);
    r = sess_send(s);
    sess_log(s, "command=notify received=%zu accepted=%u collapsed=%u discarded=%u replaced=%u status=noerror",
             m->list.count, storec_get_u32(p), storec_get_u32(p + 4),
             storec_get_u32(p + 8), storec_get_u32(p + 12));
    return r;
internal:
    sess_begin(s);
    pdu_enc_resp_notify(&s->w, 1, PDU_S_INTERNAL, NULL, 0);
    r = sess_send(s);
    sess_log(s, "command=notify received=%zu status=errorinternalproblem store=%s",
             m->list.count, st >= 0 ? storec_status_name(st) : "protocol");
    return r;
shutdown:
    sess_begin(s);
    pdu_enc_resp_notify(&s->w, 1, PDU_S_SHUTDOWN, NULL, 0);
    sess_send(s);
    sess_log(s, "command=notify received=%zu status=errorserviceshutdown", m->list.count);
    return -1;
}

int main(int argc, char **argv)
{
    static struct sess s;
    const char *err;
    int go = 1;

    if (argc != 2 || !argv[1][0]) {
        fprintf(stderr, "usage: " PROG " DIR\n");
        return 100;
    }
    err = sess_init(&s, PROG, PDU_RNASP, argv[1], 60, 1u << 20);
    if (err) {
        fprintf(stderr, PROG ": fatal: %s\n", err);
        return 111;
    }
    while (go) {
        const unsigned char *body;
        size_t len;
        struct pdu m;
        int r;
        enum frame_status fs = sess_next(&s, &body, &len);

        if (fs != FRAME_OK) {
            sess_frame_end(&s, fs);
            break;
        }
        r = pdu_decode_command(PDU_RNASP, body, len, &m);
        if (r != PDU_OK) {
            if (sess_bad_command(&s, r, &m) < 0) go = 0;
        } else if (notify(&s, &m) < 0) {
            go = 0;
        }
    }
    sess_free(&s);
    return 0;
}
