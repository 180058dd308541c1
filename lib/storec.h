/*
 * storec: the store protocol (doc/store-protocol.md), client side, and
 * the constants both sides share.
 *
 * Every message is a frame (4-octet big-endian length, then the body).
 * Request body:  version (1 octet, STOREC_VERSION), op, payload.
 * Response body: version, status, payload.
 * Integers in payloads are big-endian.
 *
 * A struct storec owns one connection, a request buffer and a response
 * reader, allocated at storec_open(); nothing is allocated per call.
 * The response returned by storec_call() points into the reader and is
 * valid until the next call.
 */
#ifndef RNA_STOREC_H
#define RNA_STOREC_H

#include <stddef.h>
#include <stdint.h>

#include "der.h"
#include "frame.h"

#define STOREC_VERSION 1

/* ops */
#define STORE_OP_SUBMIT 1
#define STORE_OP_RBEGIN 2
#define STORE_OP_RCOMMIT 3
#define STORE_OP_RABORT 4
#define STORE_OP_STATS 5
#define STORE_OP_EXPIRE 6
#define STORE_OP_COMPACT 7
#define STORE_OP_RELOAD 8

/* statuses */
#define STORE_OK 0
#define STORE_BADREQ 1    /* malformed request, unknown op or version */
#define STORE_SHUTDOWN 2  /* the store is stopping */
#define STORE_INTERNAL 3  /* could not make it durable, out of memory */
#define STORE_NOMAILBOX 4 /* payload: u32 n, n x u32 positions */
#define STORE_QUOTA 5     /* payload: u32 n, n x u32 positions */
#define STORE_STATE 6     /* e.g. commit with no retrieve open */
#define STORE_CONFIG 7    /* no usable configuration */

#define STORE_REQ_MAX (2u << 20)  /* largest request the store reads */
#define STORE_RESP_MAX (1u << 30) /* largest response a client accepts */
#define STORE_SOCKET "store/socket" /* under the agent directory */

struct storec {
    int fd;
    struct frame_rd rd;
    struct der_w w;
};

/* Connect to DIR/store/socket. 0, or -1 with errno. */
int storec_open(struct storec *s, const char *dir, int64_t deadline);
void storec_close(struct storec *s);
/* Start a request: the payload is then appended to s->w with der_w_raw
 * or the put helpers. */
void storec_begin(struct storec *s, unsigned op);
void storec_put_u32(struct der_w *w, uint32_t v);
void storec_put_u64(struct der_w *w, uint64_t v);
/* Send the request and wait for the response. Returns the status octet
 * (>= 0) with *payload, *plen set, or -1 with errno (ETIMEDOUT, EPIPE,
 * ECONNRESET, EPROTO for a response that is not one). */
int storec_call(struct storec *s, int64_t deadline,
                const unsigned char **payload, size_t *plen);

/* The same for a response that may be too large to hold (a retrieve):
 * returns once the status and the first min(want, *plen) payload octets
 * (want at most 60) are in; *payload, *have are what is buffered, *plen
 * the whole payload's length. While *have < *plen, storec_more() yields
 * the rest in pieces. A connection left with part of a response unread
 * is unusable: storec_close() it. */
int storec_call_head(struct storec *s, int64_t deadline, size_t want,
                     const unsigned char **payload, size_t *have, size_t *plen);
/* The next piece of that payload: 0, or -1 with errno as storec_call. */
int storec_more(struct storec *s, int64_t deadline, const unsigned char **p,
                size_t *n);

uint32_t storec_get_u32(const unsigned char *p);
uint64_t storec_get_u64(const unsigned char *p);
const char *storec_status_name(int status);

#endif
