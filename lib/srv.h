/*
 * srv: locating a service the IM2000 way (SRV records, RFC 2782) and
 * connecting to it, for the clients rna-notify and rna-query.
 *
 * srv_order() is the RFC 2782 target selection, pure, with an injectable
 * random source so tests can check it exhaustively. srv_hostport() parses
 * "HOST:PORT" and "[V6]:PORT". srv_dial() is one bounded non-blocking
 * connect. srv_locate() and srv_host() run the whole algorithm over DNS
 * (lib/dnsq): every address of every target in order, stopping at the
 * first connection.
 *
 * Nothing here prints: an attempt is reported through an optional note
 * callback, and a failure through struct srv_conn's fail and why. Every
 * name that came from the DNS is escaped (lib/esc) before it reaches why
 * or a note.
 */
#ifndef RNA_SRV_H
#define RNA_SRV_H

#include <stddef.h>
#include <stdint.h>

/* SRV records kept per answer; more are ignored. */
#define SRV_MAX 64
/* A name in presentation form as dn_expand() writes it (MAXDNAME). */
#define SRV_NAME_MAX 1025
/* Addresses tried per target (AAAA and A together); more are ignored. */
#define SRV_MAX_ADDRS 16

struct srv_rr {
    uint16_t prio;
    uint16_t weight;
    uint16_t port;
    char target[SRV_NAME_MAX]; /* no trailing dot; "." is the root */
};

/* A uniform random integer in 0..bound (inclusive). */
typedef uint32_t srv_rand_fn(void *ctx, uint32_t bound);

/* The system's random source (arc4random); ctx unused. */
uint32_t srv_rand_system(void *ctx, uint32_t bound);

/* Reorder rr[0..n) into the order targets are to be tried: ascending
 * priority; within one priority, RFC 2782's weighted choice: the records
 * not yet placed, those of weight 0 first, the rest in their given order,
 * a uniform number r in 0..sum of their weights, the first record whose
 * running sum is >= r goes next. */
void srv_order(struct srv_rr *rr, size_t n, srv_rand_fn *rnd, void *ctx);

/* The set is RFC 2782's "decidedly not available": one record, target ".". */
int srv_is_refusal(const struct srv_rr *rr, size_t n);

/* "HOST:PORT" or "[IPV6]:PORT": host (brackets removed) into host (cap
 * octets with NUL), the port 1..65535. 0, or -1 (EINVAL). */
int srv_hostport(const char *s, char *host, size_t cap, uint16_t *port);

struct srv_ep {
    unsigned char v6;
    unsigned char ip[16];
    uint16_t port;
};

/* "192.0.2.1:25" or "[2001:db8::1]:25" into out (at least SRV_EP_TEXT). */
#define SRV_EP_TEXT 56
void srv_ep_text(const struct srv_ep *ep, char *out);

/* A non-blocking TCP connection to ep, established before deadline
 * (clock_ms(); -1: no deadline). The descriptor stays non-blocking and
 * close-on-exec. -1 with errno (ETIMEDOUT, ECONNREFUSED, ...). */
int srv_dial(const struct srv_ep *ep, int64_t deadline);

/* The outcome of srv_locate or srv_host. */
#define SRV_OK 0
#define SRV_TEMP 1 /* try again later: no answer, no data, nothing answered */
#define SRV_PERM 2 /* no such domain, or the service refused by "." */

struct srv_conn {
    int fd;             /* connected socket, or -1 */
    struct srv_ep ep;   /* where fd is connected */
    int fail;           /* SRV_OK, SRV_TEMP or SRV_PERM */
    char why[512];      /* the reason for a failure, printable, one line */
};

struct dnsq;

/* Called for every attempt with one printable line (no newline). */
typedef void srv_note_fn(void *ctx, const char *line);

/* The IM2000 location algorithm: SRV records of SERVICE.DOMAIN (service
 * "_rnasp._tcp"), ordered by srv_order(), each target's addresses (AAAA,
 * then A) tried in turn, each connect bounded by attempt_ms. Returns
 * out->fail; on SRV_OK out->fd is connected. NXDOMAIN for the SRV name
 * and a lone "." target are SRV_PERM; a resolver failure, an empty
 * answer, or no target answering are SRV_TEMP. */
int srv_locate(struct dnsq *q, const char *service, const char *domain,
               int64_t attempt_ms, srv_rand_fn *rnd, void *rctx,
               srv_note_fn *note, void *nctx, struct srv_conn *out);

/* An explicit HOST and port: an address literal, or a name whose AAAA
 * and A records are tried in turn. An unknown name is SRV_PERM. */
int srv_host(struct dnsq *q, const char *host, uint16_t port,
             int64_t attempt_ms, srv_note_fn *note, void *nctx,
             struct srv_conn *out);

#endif
