/*
 * rnaqp-d DIR: the RNAQP server, one session on stdin/stdout under
 * tcpserver (PROTOCOL.md sections 1, 4, 5.2 and 5.3).
 *
 * Authentication checks DIR/config/auth.cdb (account -> crypt(3) hash,
 * yescrypt), opened once per session so a new compile applies to the next
 * session. An unknown account costs the same hash computation as a wrong
 * password (a freshly salted yescrypt of the offered password), so the
 * two cannot be told apart by content or timing. The n-th failure of a
 * session is answered after AUTH_DELAY_MS x 2^(n-1); after AUTH_FAILURES
 * failures the session closes.
 *
 * Retrieve-and-clear is the store's begin / commit / abort. The store's
 * answer is relayed to the client piece by piece as it arrives, the
 * response headers computed from the length it announces: an account of
 * megabytes is never held here whole. The clear is
 * committed only when the client's next move proves it has the response
 * (5.3): its next frame, or an orderly close once our kernel has seen
 * every octet of the response acknowledged; the idle timeout with the
 * connection intact commits too. A reset, a failed write or SIGTERM
 * before that aborts: the notifications stay held, in place.
 *
 * Environment: IDLE_TIMEOUT (seconds, default 600), MAX_FRAME (default
 * 65536), STORE_TIMEOUT (default 30), AUTH_DELAY_MS (default 1000),
 * AUTH_FAILURES (default 3), TCPREMOTEIP, TCPREMOTEPORT. Exit: 0 when the
 * session ends; 100 usage; 111 broken environment or configuration.
 */
#include <cdb.h>
#include <crypt.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "pdu.h"
#include "sess.h"
#include "storec.h"

#define PROG "rnaqp-d"
#define HASH_MAX 512
#define DRAIN_WAIT_MS 2000

struct qp {
    struct sess s;
    int authfd;
    struct cdb auth;
    uint64_t delay_ms;
    uint64_t max_failures;
    unsigned failures;
    int authed;
    char account[PDU_MAX_ACCOUNT + 1];
    int pending;          /* a retrieve is written and not yet settled */
    uint64_t pending_n;
    int64_t pending_t0;
    struct crypt_data cd;
};

/* Constant-time comparison of two NUL-terminated strings of equal
 * length; different lengths compare unequal (the hash lengths are public). */
static int same(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b), i;
    unsigned char d = 0;
    if (la != lb) return 0;
    for (i = 0; i < la; i++) d |= (unsigned char)(a[i] ^ b[i]);
    return d == 0;
}

static int check_password(struct qp *q, const struct pdu *m)
{
    char pw[PDU_MAX_PASSWORD + 1];
    char hash[HASH_MAX + 1];
    char setting[CRYPT_GENSALT_OUTPUT_SIZE];
    int found = 0, ok = 0;
    const char *out;

    memcpy(pw, m->password.p, m->password.len);
    pw[m->password.len] = 0;
    if (cdb_find(&q->auth, m->account.p, (unsigned)m->account.len) > 0) {
        unsigned n = cdb_datalen(&q->auth);
        if (n > 0 && n <= HASH_MAX &&
            cdb_read(&q->auth, hash, n, cdb_datapos(&q->auth)) == 0) {
            hash[n] = 0;
            found = 1;
        }
    }
    if (!found) {
        /* the same work as a real check, against a hash nobody has */
        if (!crypt_gensalt_rn("$y$", 0, NULL, 0, setting, sizeof setting))
            strcpy(setting, "$y$j9T$");
        crypt_rn(pw, setting, &q->cd, sizeof q->cd);
    } else {
        out = crypt_rn(pw, hash, &q->cd, sizeof q->cd);
        ok = out && out[0] != '*' && same(out, hash);
    }
    memset(pw, 0, sizeof pw);
    memset(&q->cd, 0, sizeof q->cd);
    return ok;
}

/* 0 to go on, -1 to close. */
static int authenticate(struct qp *q, const struct pdu *m)
{
    struct sess *s = &q->s;
    if (check_password(q, m)) {
        q->authed = 1;
        memcpy(q->account, m->account.p, m->account.len);
        q->account[m->account.len] = 0;
        q->failures = 0;
        sess_log(s, "command=authenticate account=%s status=noerror", q->account);
        return sess_empty(s, 0, PDU_S_NOERROR, 1);
    }
    q->authed = 0;
    q->failures++;
    /* delay the n-th failure by base x 2^(n-1) */
    sess_sleep(s, (int64_t)(q->delay_ms << (q->failures - 1 < 20 ? q->failures - 1 : 20)));
    sess_log(s, "command=authenticate account=%.*s status=errorauthenticationfailed failures=%u",
             (int)m->account.len, (const char *)m->account.p, q->failures);
    if (sess_empty(s, 1, PDU_S_AUTHFAILED, 1) < 0) return -1;
    return q->failures >= q->max_failures ? -1 : 0;
}

static void settle(struct qp *q, int commit, const char *why);

/* Cork (1) or uncork (0) the client's connection, so that a response
 * written in pieces leaves in full segments and its tail at once. Not a
 * TCP socket (tests over pipes): nothing to do. */
static void cork(int fd, int on)
{
    (void)setsockopt(fd, IPPROTO_TCP, TCP_CORK, &on, sizeof on);
}

/* ResponseRetrieveAndClear, noerror, around the NotificationAndLocalData
 * TLVs exactly as the store sends them (the same octets
 * pdu_enc_resp_retrieve_* would build). The headers are computed from the
 * length the store announces, and the store's octets are relayed piece by
 * piece as they arrive, through the store reader's buffer: the account is
 * never held here whole, and the client receives while the store is still
 * sending. first, have: what the store's first piece holds of the TLVs;
 * n: their whole length. 0; -1 when the client cannot be written (errno);
 * -2 when the store fails part way. */
static int relay_retrieve(struct sess *s, const unsigned char *first, size_t have,
                          size_t n)
{
    unsigned char h[64];
    size_t l4 = n;                              /* [0] notifications */
    size_t l3 = 1 + der_len_size(l4) + l4;      /* [2] ResponseRetrieveAndClear */
    size_t l2 = 1 + der_len_size(l3) + l3;      /* [2] responsedata */
    size_t l1 = 6 + 1 + der_len_size(l2) + l2;  /* [2] Response */
    size_t body = 1 + der_len_size(l1) + l1, k = 4;
    int64_t deadline = clock_ms() + s->idle_ms;
    struct iovec iov[2];
    int r = 0, corked = have < n;

    if (body > UINT32_MAX) {
        errno = E2BIG;
        return -1;
    }
    h[0] = (unsigned char)(body >> 24);
    h[1] = (unsigned char)(body >> 16);
    h[2] = (unsigned char)(body >> 8);
    h[3] = (unsigned char)body;
    h[k++] = 0xa2;
    k += der_put_len(h + k, l1);
    memcpy(h + k, "\x80\x01\x00\x81\x01\x00", 6); /* forceabort FALSE, noerror */
    k += 6;
    h[k++] = 0xa2;
    k += der_put_len(h + k, l2);
    h[k++] = 0xa2;
    k += der_put_len(h + k, l3);
    h[k++] = 0xa0;
    k += der_put_len(h + k, l4);
    iov[0].iov_base = h;
    iov[0].iov_len = k;
    iov[1].iov_base = (void *)first;
    iov[1].iov_len = have;
    if (corked) cork(s->out, 1);
    if (frame_writev_all(s->out, iov, 2, deadline) < 0) r = -1;
    n -= have;
    while (r == 0 && n > 0) {
        const unsigned char *p;
        size_t got;
        if (storec_more(&s->store, clock_ms() + s->store_ms, &p, &got) < 0) r = -2;
        else if (frame_write_all(s->out, p, got, deadline) < 0) r = -1;
        else n -= got;
    }
    if (corked) cork(s->out, 0);
    return r;
}

/* Read and drop what is left of a store response taken in pieces, so the
 * connection can carry the next request; if that fails, drop the
 * connection instead (the store then aborts an open retrieve itself). */
static void store_skip_rest(struct sess *s)
{
    while (s->store_open && frame_left(&s->store.rd) > 0) {
        const unsigned char *p;
        size_t n;
        if (storec_more(&s->store, clock_ms() + s->store_ms, &p, &n) < 0)
            sess_store_drop(s);
    }
}

static int retrieve(struct qp *q)
{
    struct sess *s = &q->s;
    const unsigned char *p;
    size_t have, plen;
    int st, r;

    if (!q->authed) {
        sess_log(s, "command=retrieve status=errornotauthenticated");
        return sess_empty(s, 1, PDU_S_NOTAUTH, 0);
    }
    if (sess_stop || sess_store(s) < 0) goto shutdown;
    storec_begin(&s->store, STORE_OP_RBEGIN);
    der_w_raw(&s->store.w, q->account, strlen(q->account));
    /* the payload: u32 count, then the TLVs; they may be megabytes */
    st = storec_call_head(&s->store, clock_ms() + s->store_ms, 4, &p, &have, &plen);
    if (st < 0 || st == STORE_SHUTDOWN) goto shutdown;
    if (st != STORE_OK || plen < 4) {
        store_skip_rest(s);
        sess_log(s, "command=retrieve account=%s status=errorinternalproblem store=%s",
                 q->account, storec_status_name(st));
        sess_begin(s);
        pdu_enc_resp_retrieve_begin(&s->w, 1, PDU_S_INTERNAL);
        pdu_enc_resp_retrieve_end(&s->w);
        return sess_send(s);
    }
    q->pending = 1;
    q->pending_n = storec_get_u32(p);
    q->pending_t0 = s->t0;
    r = relay_retrieve(s, p + 4, have - 4, plen - 4);
    if (r == -2) {
        /* the store failed part way: the client has a cut response */
        sess_store_drop(s);
        settle(q, 0, "store-failed");
    } else if (r < 0) {
        store_skip_rest(s); /* then main aborts it */
    }
    return r < 0 ? -1 : 0;
shutdown:
    sess_log(s, "command=retrieve account=%s status=errorserviceshutdown", q->account);
    sess_begin(s);
    pdu_enc_resp_retrieve_begin(&s->w, 1, PDU_S_SHUTDOWN);
    pdu_enc_resp_retrieve_end(&s->w);
    sess_send(s);
    return -1;
}

/* After an orderly close: has the peer's kernel acknowledged every octet
 * we sent? A peer that closed without reading answers our data with a
 * reset instead. Not a socket (tests over pipes): we cannot know; yes. */
static int peer_has_it(int fd)
{
    int64_t end = clock_ms() + DRAIN_WAIT_MS;
    for (;;) {
        int n = 0, err = 0;
        socklen_t l = sizeof err;
        struct pollfd pf = {fd, 0, 0};
        if (ioctl(fd, TIOCOUTQ, &n) < 0) return 1;
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &l) == 0 && err) return 0;
        if (n == 0) return 1;
        if (clock_ms() >= end) return 0;
        poll(&pf, 1, 10);
        if (pf.revents & POLLERR) return 0;
    }
}

static void settle(struct qp *q, int commit, const char *why)
{
    struct sess *s = &q->s;
    const unsigned char *p;
    size_t plen;
    int st = -1;
    if (!q->pending) return;
    q->pending = 0;
    if (s->store_open) {
        storec_begin(&s->store, commit ? STORE_OP_RCOMMIT : STORE_OP_RABORT);
        st = storec_call(&s->store, clock_ms() + s->store_ms, &p, &plen);
    }
    s->t0 = q->pending_t0;
    sess_log(s, "command=retrieve account=%s returned=%llu clear=%s reason=%s status=noerror%s",
             q->account, (unsigned long long)q->pending_n,
             commit ? (st == STORE_OK ? "committed" : "unknown") : "aborted", why,
             st == STORE_OK ? "" : " store=unreachable");
}

int main(int argc, char **argv)
{
    static struct qp q;
    struct sess *s = &q.s;
    const char *err;
    char path[4096];
    uint64_t v;
    int go = 1;

    if (argc != 2 || !argv[1][0]) {
        fprintf(stderr, "usage: " PROG " DIR\n");
        return 100;
    }
    err = sess_init(s, PROG, PDU_RNAQP, argv[1], 600, 65536);
    if (err) {
        fprintf(stderr, PROG ": fatal: %s\n", err);
        return 111;
    }
    if (sess_env_u64("AUTH_DELAY_MS", 1000, 0, 60000, &q.delay_ms) < 0 ||
        sess_env_u64("AUTH_FAILURES", 3, 1, 100, &v) < 0) {
        fprintf(stderr, PROG ": fatal: AUTH_DELAY_MS (0..60000) or AUTH_FAILURES (1..100) is not a number in range\n");
        return 111;
    }
    q.max_failures = v;
    if ((size_t)snprintf(path, sizeof path, "%s/config/auth.cdb", argv[1]) >= sizeof path) {
        fprintf(stderr, PROG ": fatal: directory name too long\n");
        return 111;
    }
    q.authfd = open(path, O_RDONLY | O_CLOEXEC);
    if (q.authfd < 0 || cdb_init(&q.auth, q.authfd) < 0) {
        fprintf(stderr, PROG ": fatal: unable to open %s: %s\n", path,
                q.authfd < 0 ? strerror(errno) : "not a cdb file");
        return 111;
    }

    while (go) {
        const unsigned char *body;
        size_t len;
        struct pdu m;
        int r;
        enum frame_status fs = sess_next(s, &body, &len);

        if (q.pending) {
            /* PROTOCOL.md 5.3: the client's next move settles the clear */
            switch (fs) {
            case FRAME_OK:
            case FRAME_BADLEN: settle(&q, 1, "next-frame"); break;
            case FRAME_TIMEOUT: settle(&q, 1, "idle-timeout"); break;
            case FRAME_EOF:
            case FRAME_TRUNC:
                if (peer_has_it(s->out)) settle(&q, 1, "close");
                else settle(&q, 0, "unacknowledged-close");
                break;
            case FRAME_STOPPED: settle(&q, 0, "sigterm"); break;
            default: settle(&q, 0, "reset"); break;
            }
        }
        if (fs != FRAME_OK) {
            sess_frame_end(s, fs);
            break;
        }
        r = pdu_decode_command(PDU_RNAQP, body, len, &m);
        if (r != PDU_OK) {
            /* no state changes: neither (de)authenticates nor counts */
            if (sess_bad_command(s, r, &m) < 0) go = 0;
        } else if (sess_stop) {
            sess_log(s, "command=%s status=errorserviceshutdown",
                     m.kind == PDU_CMD_AUTH ? "authenticate" : "retrieve");
            sess_begin(s);
            if (m.kind == PDU_CMD_AUTH) pdu_enc_resp_empty(&s->w, 1, PDU_S_SHUTDOWN, 1);
            else {
                pdu_enc_resp_retrieve_begin(&s->w, 1, PDU_S_SHUTDOWN);
                pdu_enc_resp_retrieve_end(&s->w);
            }
            sess_send(s);
            go = 0;
        } else if (m.kind == PDU_CMD_AUTH) {
            if (authenticate(&q, &m) < 0) go = 0;
        } else if (retrieve(&q) < 0) {
            go = 0;
        }
    }
    settle(&q, 0, "write-failed"); /* a response we could not write whole */
    cdb_free(&q.auth);
    close(q.authfd);
    sess_free(s);
    return 0;
}
