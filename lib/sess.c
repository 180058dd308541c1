/*
 * sess: see sess.h. This module decides nothing about the protocol's
 * policy; it only carries the common mechanics. It exits (111) only from
 * sess_init, on a broken environment, as documented there.
 */
#include "sess.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <poll.h>

volatile sig_atomic_t sess_stop;

static void on_term(int sig)
{
    (void)sig;
    sess_stop = 1;
}

int sess_env_u64(const char *name, uint64_t def, uint64_t min, uint64_t max,
                 uint64_t *out)
{
    const char *v = getenv(name);
    if (!v) {
        *out = def;
        return 0;
    }
    return sess_u64(v, min, max, out);
}

int sess_u64(const char *v, uint64_t min, uint64_t max, uint64_t *out)
{
    uint64_t x = 0;
    size_t i;
    if (!*v || strlen(v) > 19) return -1;
    for (i = 0; v[i]; i++) {
        if (v[i] < '0' || v[i] > '9') return -1;
        x = x * 10 + (uint64_t)(v[i] - '0');
    }
    if (x < min || x > max) return -1;
    *out = x;
    return 0;
}

int sess_parse_ip(const char *text, struct pdu_ipport *a)
{
    unsigned char b[16];
    memset(a->ip, 0, sizeof a->ip);
    if (inet_pton(AF_INET, text, b) == 1) {
        a->v6 = 0;
        memcpy(a->ip, b, 4);
        return 0;
    }
    if (inet_pton(AF_INET6, text, b) == 1) {
        static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0,
                                                 0, 0, 0, 0, 0xff, 0xff};
        if (memcmp(b, mapped, 12) == 0) { /* PROTOCOL.md 5.1 */
            a->v6 = 0;
            memcpy(a->ip, b + 12, 4);
        } else {
            a->v6 = 1;
            memcpy(a->ip, b, 16);
        }
        return 0;
    }
    return -1;
}

static unsigned char peerdom[PDU_DOMAIN_DER_MAX];

const char *sess_init(struct sess *s, const char *prog, enum pdu_proto proto,
                      const char *dir, uint64_t def_idle, uint64_t def_frame)
{
    uint64_t v;
    const char *ip, *port, *host;
    struct sigaction sa;
    sigset_t block;
    int fl;

    memset(s, 0, sizeof *s);
    s->prog = prog;
    s->proto = proto;
    s->dir = dir;
    s->out = 1;
    s->store.fd = -1;
    if (sess_env_u64("IDLE_TIMEOUT", def_idle, 1, 86400, &v) < 0)
        return "IDLE_TIMEOUT must be seconds from 1 to 86400";
    s->idle_ms = (int64_t)v * 1000;
    if (sess_env_u64("STORE_TIMEOUT", 30, 1, 3600, &v) < 0)
        return "STORE_TIMEOUT must be seconds from 1 to 3600";
    s->store_ms = (int64_t)v * 1000;
    if (sess_env_u64("MAX_FRAME", def_frame, 64, 1u << 30, &v) < 0)
        return "MAX_FRAME must be octets from 64 to 1073741824";
    s->max_frame = (size_t)v;

    ip = getenv("TCPREMOTEIP");
    port = getenv("TCPREMOTEPORT");
    host = getenv("TCPREMOTEHOST");
    if (!ip || sess_parse_ip(ip, &s->peer.addr) < 0)
        return "TCPREMOTEIP missing or not an address (run me under tcpserver)";
    if (!port || sess_env_u64("TCPREMOTEPORT", 0, 0, 65535, &v) < 0)
        return "TCPREMOTEPORT missing or not a port";
    s->peer.addr.port = (uint16_t)v;
    snprintf(s->peerip, sizeof s->peerip, "%s", ip);
    if (host && *host &&
        pdu_domain_from_text(peerdom, sizeof peerdom, host, strlen(host),
                             &s->peer.domain) == 0) {
        s->peer.has_domain = 1;
        snprintf(s->peerhost, sizeof s->peerhost, "%s", host);
    }

    if (frame_rd_init(&s->rd, 0, s->max_frame) < 0)
        return "out of memory";
    der_w_growing(&s->w, (size_t)1 << 31);

    /* Non-blocking, so a client that stops reading cannot hold a write
     * past its deadline. fd 0 and 1 share the socket under tcpserver. */
    fl = fcntl(0, F_GETFL);
    if (fl >= 0) fcntl(0, F_SETFL, fl | O_NONBLOCK);
    fl = fcntl(1, F_GETFL);
    if (fl >= 0) fcntl(1, F_SETFL, fl | O_NONBLOCK);

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_term;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    sigemptyset(&block);
    sigaddset(&block, SIGTERM);
    sigprocmask(SIG_BLOCK, &block, &s->waitmask);
    sigdelset(&s->waitmask, SIGTERM);
    s->rd.stop = &sess_stop;
    s->rd.waitmask = &s->waitmask;
    return NULL;
}

void sess_free(struct sess *s)
{
    sess_store_drop(s);
    frame_rd_free(&s->rd);
    der_w_free(&s->w);
}

enum frame_status sess_next(struct sess *s, const unsigned char **body,
                            size_t *len)
{
    /* PROTOCOL.md 4: the deadline covers the whole next frame, counted
     * from the end of the previous response. */
    enum frame_status fs = frame_get(&s->rd, clock_ms() + s->idle_ms, body, len);
    s->t0 = clock_ms();
    return fs;
}

void sess_begin(struct sess *s)
{
    der_w_reset(&s->w);
    frame_w_begin(&s->w);
}

int sess_send(struct sess *s)
{
    if (frame_w_end(&s->w) < 0) return -1;
    return frame_write_all(s->out, s->w.buf, s->w.len, clock_ms() + s->idle_ms);
}

int sess_empty(struct sess *s, int abort, uint32_t status, unsigned alt)
{
    sess_begin(s);
    pdu_enc_resp_empty(&s->w, abort, status, alt);
    return sess_send(s);
}

void sess_frame_end(struct sess *s, enum frame_status fs)
{
    if (fs == FRAME_BADLEN) {
        sess_log(s, "command=none status=errormalformedpdu frame_length=%lu",
                 (unsigned long)s->rd.badlen);
        sess_empty(s, 1, PDU_S_MALFORMED, 0);
    } else if (fs == FRAME_TIMEOUT) {
        sess_log(s, "command=none status=errorcommandtimeout");
        sess_empty(s, 1, PDU_S_TIMEOUT, 0);
    }
}

int sess_bad_command(struct sess *s, int r, const struct pdu *m)
{
    if (r == PDU_UNKNOWNCMD) {
        sess_log(s, "command=unknown alternative=%u status=errorunexpectedcommand",
                 (unsigned)m->alt);
        return sess_empty(s, 1, PDU_S_UNEXPECTED, 0);
    }
    sess_log(s, "command=%s status=errormalformedpdu",
             r == PDU_NOTCOMMAND ? "response" : "malformed");
    return sess_empty(s, 1, PDU_S_MALFORMED, 0);
}

int sess_store(struct sess *s)
{
    if (s->store_open) return 0;
    if (storec_open(&s->store, s->dir, clock_ms() + s->store_ms) < 0) return -1;
    s->store_open = 1;
    return 0;
}

void sess_store_drop(struct sess *s)
{
    if (s->store_open) storec_close(&s->store);
    s->store_open = 0;
}

void sess_log(struct sess *s, const char *fmt, ...)
{
    char line[1024];
    size_t n;
    int k;
    va_list ap;
    k = snprintf(line, sizeof line, "%s: info: peer=%s:%u ", s->prog, s->peerip,
                 (unsigned)s->peer.addr.port);
    n = k > 0 ? (size_t)k : 0;
    va_start(ap, fmt);
    k = vsnprintf(line + n, sizeof line - n, fmt, ap);
    va_end(ap);
    if (k > 0) n += (size_t)k;
    if (n > sizeof line - 40) n = sizeof line - 40;
    k = snprintf(line + n, sizeof line - n, " ms=%lld\n",
                 (long long)(clock_ms() - s->t0));
    if (k > 0) n += (size_t)k;
    frame_write_all(2, line, n, clock_ms() + 1000);
}

void sess_sleep(struct sess *s, int64_t ms)
{
    int64_t end = clock_ms() + ms;
    struct timespec ts;
    while (!sess_stop) {
        int64_t left = end - clock_ms();
        if (left <= 0) return;
        ts.tv_sec = left / 1000;
        ts.tv_nsec = (left % 1000) * 1000000;
        ppoll(NULL, 0, &ts, &s->waitmask);
    }
}
