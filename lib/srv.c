/*
 * srv: see srv.h. No allocation: the records of one lookup live on the
 * stack of srv_locate(); a connection is the caller's to close.
 */
#include "srv.h"

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dnsq.h"
#include "esc.h"
#include "frame.h"

uint32_t srv_rand_system(void *ctx, uint32_t bound)
{
    (void)ctx;
    if (bound == UINT32_MAX) return arc4random();
    return arc4random_uniform(bound + 1);
}

/* Move rr[k] to rr[to] (to <= k), shifting rr[to..k) up by one, so the
 * records not yet placed keep their relative order. */
static void bring(struct srv_rr *rr, size_t to, size_t k)
{
    struct srv_rr t;
    if (k == to) return;
    t = rr[k];
    memmove(rr + to + 1, rr + to, (k - to) * sizeof *rr);
    rr[to] = t;
}

void srv_order(struct srv_rr *rr, size_t n, srv_rand_fn *rnd, void *ctx)
{
    size_t i, j, k, pos;

    /* stable insertion sort by priority: equal priorities keep the order
     * of the answer, which the weighted choice below starts from */
    for (i = 1; i < n; i++) {
        k = i;
        while (k > 0 && rr[k - 1].prio > rr[i].prio) k--;
        bring(rr, k, i);
    }
    for (i = 0; i < n; i = j) {
        for (j = i + 1; j < n && rr[j].prio == rr[i].prio; j++) {}
        /* RFC 2782: weight 0 records at the beginning (stably) */
        pos = i;
        for (k = i; k < j; k++)
            if (rr[k].weight == 0) bring(rr, pos++, k);
        for (pos = i; pos + 1 < j; pos++) {
            uint32_t sum = 0, run = 0, r;
            for (k = pos; k < j; k++) sum += rr[k].weight; /* <= 64 x 65535 */
            r = rnd(ctx, sum);
            if (r > sum) r = sum; /* a faulty source must not walk off */
            for (k = pos; k < j; k++) {
                run += rr[k].weight;
                if (run >= r) break;
            }
            if (k == j) k = j - 1; /* cannot happen: run ends at sum */
            bring(rr, pos, k);
        }
    }
}

int srv_is_refusal(const struct srv_rr *rr, size_t n)
{
    return n == 1 && strcmp(rr[0].target, ".") == 0;
}

/* Decimal 1..65535, no sign, no leading zero. */
static int port_parse(const char *s, uint16_t *out)
{
    unsigned long v = 0;
    if (*s < '1' || *s > '9') return -1;
    for (; *s; s++) {
        if (*s < '0' || *s > '9') return -1;
        v = v * 10 + (unsigned long)(*s - '0');
        if (v > 65535) return -1;
    }
    *out = (uint16_t)v;
    return 0;
}

int srv_hostport(const char *s, char *host, size_t cap, uint16_t *port)
{
    const char *h, *colon;
    size_t hl;
    uint16_t p;

    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (!close || close[1] != ':') goto inval;
        h = s + 1;
        hl = (size_t)(close - h);
        colon = close + 1;
    } else {
        colon = strchr(s, ':');
        /* a bare IPv6 address has several colons: brackets are required */
        if (!colon || strchr(colon + 1, ':')) goto inval;
        h = s;
        hl = (size_t)(colon - s);
    }
    if (hl == 0 || hl >= cap || memchr(h, '\0', hl)) goto inval;
    if (port_parse(colon + 1, &p) < 0) goto inval;
    memcpy(host, h, hl);
    host[hl] = 0;
    *port = p;
    return 0;
inval:
    errno = EINVAL;
    return -1;
}

void srv_ep_text(const struct srv_ep *ep, char *out)
{
    char a[INET6_ADDRSTRLEN];
    if (!inet_ntop(ep->v6 ? AF_INET6 : AF_INET, ep->ip, a, sizeof a))
        strcpy(a, "?");
    snprintf(out, SRV_EP_TEXT, ep->v6 ? "[%s]:%u" : "%s:%u", a,
             (unsigned)ep->port);
}

int srv_dial(const struct srv_ep *ep, int64_t deadline)
{
    struct sockaddr_storage ss;
    socklen_t sl;
    int fd, err = 0;
    socklen_t el = sizeof err;

    memset(&ss, 0, sizeof ss);
    if (ep->v6) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons(ep->port);
        memcpy(&s6->sin6_addr, ep->ip, 16);
        sl = sizeof *s6;
    } else {
        struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
        s4->sin_family = AF_INET;
        s4->sin_port = htons(ep->port);
        memcpy(&s4->sin_addr, ep->ip, 4);
        sl = sizeof *s4;
    }
    fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    if (connect(fd, (struct sockaddr *)&ss, sl) == 0) return fd;
    if (errno != EINPROGRESS && errno != EINTR) goto fail;
    switch (frame_wait_fd(fd, POLLOUT, deadline, NULL, NULL)) {
    case 0:
        errno = ETIMEDOUT;
        goto fail;
    case 1:
        break;
    default:
        goto fail;
    }
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0) goto fail;
    if (err) {
        errno = err;
        goto fail;
    }
    return fd;
fail:
    err = errno;
    close(fd);
    errno = err;
    return -1;
}

/* snprintf for messages that may be cut short on purpose: the names in
 * them are escaped already, so a cut leaves printable text. */
__attribute__((format(printf, 3, 4)))
static void say(char *out, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out, cap, fmt, ap);
    va_end(ap);
}

/* A name for a message: escaped, spaces too, so it stays one word. */
static void name_text(char *out, size_t cap, const char *s)
{
    esc_str_also(out, cap, (const unsigned char *)s, strlen(s), " ");
}

static void note_line(srv_note_fn *note, void *nctx, const char *line)
{
    if (note) note(nctx, line);
}

/* Try addresses a[0..n) on port in turn; 0 when one answered. */
static int try_addrs(const struct dnsq_addr *a, size_t n, uint16_t port,
                     int64_t attempt_ms, srv_note_fn *note, void *nctx,
                     struct srv_conn *out)
{
    size_t i;
    for (i = 0; i < n; i++) {
        struct srv_ep ep;
        char et[SRV_EP_TEXT], line[SRV_EP_TEXT + 80];
        int fd;

        memset(&ep, 0, sizeof ep);
        ep.v6 = a[i].v6;
        memcpy(ep.ip, a[i].ip, 16);
        ep.port = port;
        srv_ep_text(&ep, et);
        fd = srv_dial(&ep, attempt_ms < 0 ? -1 : clock_ms() + attempt_ms);
        if (fd >= 0) {
            say(line, sizeof line, "connected to %s", et);
            note_line(note, nctx, line);
            out->fd = fd;
            out->ep = ep;
            out->fail = SRV_OK;
            out->why[0] = 0;
            return 0;
        }
        say(out->why, sizeof out->why, "%s: %s", et, strerror(errno));
        say(line, sizeof line, "unable to connect to %s: %s", et,
                 strerror(errno));
        note_line(note, nctx, line);
    }
    return -1;
}

static int give_up(struct srv_conn *out, int fail)
{
    out->fd = -1;
    out->fail = fail;
    return fail;
}

int srv_host(struct dnsq *q, const char *host, uint16_t port,
             int64_t attempt_ms, srv_note_fn *note, void *nctx,
             struct srv_conn *out)
{
    struct dnsq_addr a[SRV_MAX_ADDRS];
    char hn[ESC_MAX(256) + 1];
    size_t n = 0;
    int r;

    name_text(hn, sizeof hn, host);
    memset(a, 0, sizeof a);
    if (inet_pton(AF_INET6, host, a[0].ip) == 1) {
        a[0].v6 = 1;
        n = 1;
    } else if (inet_pton(AF_INET, host, a[0].ip) == 1) {
        n = 1;
    } else {
        r = dnsq_addrs(q, host, a, SRV_MAX_ADDRS, &n);
        if (r == DNSQ_NXDOMAIN) {
            say(out->why, sizeof out->why, "no such host %s", hn);
            return give_up(out, SRV_PERM);
        }
        if (r != DNSQ_OK) {
            say(out->why, sizeof out->why, "%s %s",
                     r == DNSQ_NODATA ? "no address for" :
                                        "DNS lookup failed for", hn);
            return give_up(out, SRV_TEMP);
        }
    }
    if (try_addrs(a, n, port, attempt_ms, note, nctx, out) == 0) return SRV_OK;
    return give_up(out, SRV_TEMP);
}

int srv_locate(struct dnsq *q, const char *service, const char *domain,
               int64_t attempt_ms, srv_rand_fn *rnd, void *rctx,
               srv_note_fn *note, void *nctx, struct srv_conn *out)
{
    struct srv_rr rr[SRV_MAX];
    char name[SRV_NAME_MAX], nt[ESC_MAX(SRV_NAME_MAX) + 1];
    char line[ESC_MAX(SRV_NAME_MAX) + 96];
    char last[sizeof out->why];
    size_t n = 0, i;
    int r;

    if (strlen(service) + 1 + strlen(domain) >= sizeof name) {
        errno = ENAMETOOLONG;
        say(out->why, sizeof out->why, "domain name too long");
        return give_up(out, SRV_PERM);
    }
    say(name, sizeof name, "%s.%s", service, domain);
    name_text(nt, sizeof nt, name);
    r = dnsq_srv(q, name, rr, SRV_MAX, &n);
    if (r == DNSQ_NXDOMAIN) {
        say(out->why, sizeof out->why, "no such domain %s", nt);
        return give_up(out, SRV_PERM);
    }
    if (r == DNSQ_NODATA) {
        say(out->why, sizeof out->why, "no SRV records for %s", nt);
        return give_up(out, SRV_TEMP);
    }
    if (r != DNSQ_OK) {
        say(out->why, sizeof out->why,
                 "no answer from the DNS for %s", nt);
        return give_up(out, SRV_TEMP);
    }
    if (srv_is_refusal(rr, n)) {
        say(out->why, sizeof out->why,
                 "%s says the service is not available (target .)", nt);
        return give_up(out, SRV_PERM);
    }
    srv_order(rr, n, rnd, rctx);
    say(last, sizeof last, "no usable target");
    for (i = 0; i < n; i++) {
        struct dnsq_addr a[SRV_MAX_ADDRS];
        size_t na = 0;
        char tt[ESC_MAX(SRV_NAME_MAX) + 1];

        if (strcmp(rr[i].target, ".") == 0) continue;
        name_text(tt, sizeof tt, rr[i].target);
        say(line, sizeof line, "trying %s port %u (priority %u weight %u)",
                 tt, (unsigned)rr[i].port, (unsigned)rr[i].prio,
                 (unsigned)rr[i].weight);
        note_line(note, nctx, line);
        r = dnsq_addrs(q, rr[i].target, a, SRV_MAX_ADDRS, &na);
        if (r != DNSQ_OK) {
            say(last, sizeof last, "%s %s",
                     r == DNSQ_NXDOMAIN ? "no such host" :
                     r == DNSQ_NODATA ? "no address for" :
                                        "DNS lookup failed for", tt);
            note_line(note, nctx, last);
            continue;
        }
        if (try_addrs(a, na, rr[i].port, attempt_ms, note, nctx, out) == 0)
            return SRV_OK;
        say(last, sizeof last, "%s", out->why);
    }
    say(out->why, sizeof out->why, "no target of %s answered (last: %s)",
             nt, last);
    return give_up(out, SRV_TEMP);
}
