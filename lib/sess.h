/*
 * sess: what rnasp-d and rnaqp-d share: settings from the environment,
 * the client's address from tcpserver, reading commands with the idle
 * deadline, writing responses, the answers of PROTOCOL.md section 4, the
 * store connection, and the one log line per transaction.
 *
 * Memory: everything is allocated by sess_init (the frame reader at the
 * protocol's limit, a response buffer that grows only for large
 * retrieves); nothing per command otherwise.
 *
 * Signals: SIGTERM is blocked except while waiting for the client, so a
 * transaction in progress always finishes; the flag is then seen before
 * the next command is carried out.
 */
#ifndef RNA_SESS_H
#define RNA_SESS_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "der.h"
#include "frame.h"
#include "pdu.h"
#include "storec.h"

struct sess {
    const char *prog;
    enum pdu_proto proto;
    const char *dir;
    struct frame_rd rd;
    int out;                  /* descriptor responses go to */
    struct der_w w;           /* the response being built */
    int64_t idle_ms;          /* IDLE_TIMEOUT (seconds in the environment) */
    int64_t store_ms;         /* STORE_TIMEOUT */
    size_t max_frame;         /* MAX_FRAME */
    struct pdu_client peer;   /* TCPREMOTEIP, TCPREMOTEPORT, TCPREMOTEHOST */
    char peerip[64];
    char peerhost[PDU_MAX_DOMAIN_TEXT + 1];
    struct storec store;
    int store_open;
    sigset_t waitmask;
    int64_t t0;               /* start of the current transaction */
};

extern volatile sig_atomic_t sess_stop;

/* Read a decimal setting from the environment: *out = def when unset;
 * -1 when set but not a number within [min, max]. */
int sess_env_u64(const char *name, uint64_t def, uint64_t min, uint64_t max,
                 uint64_t *out);
/* A decimal number within [min, max] (a setting or an option): 0, or -1. */
int sess_u64(const char *text, uint64_t min, uint64_t max, uint64_t *out);

/* Set everything up. NULL, or what is wrong (missing or broken
 * environment): the caller then exits 111, never half-working. */
const char *sess_init(struct sess *s, const char *prog, enum pdu_proto proto,
                      const char *dir, uint64_t def_idle, uint64_t def_frame);
void sess_free(struct sess *s);

/* Parse an address as tcpserver writes it ("192.0.2.1", "2001:db8::1",
 * "::ffff:192.0.2.1" is version4). 0 or -1. */
int sess_parse_ip(const char *text, struct pdu_ipport *a);

/* The next command frame; its status per frame.h. */
enum frame_status sess_next(struct sess *s, const unsigned char **body,
                            size_t *len);

/* Frame and write s->w (which holds one PDU built with the pdu_enc_*
 * calls after sess_begin). 0, or -1 (client gone, or too slow). */
void sess_begin(struct sess *s);
int sess_send(struct sess *s);
/* A response with empty responsedata alternative alt (0 null, 1
 * authenticate/notify-without-rejected). */
int sess_empty(struct sess *s, int abort, uint32_t status, unsigned alt);

/* A frame that is no whole command ends the session (PROTOCOL.md 4):
 * length 0 or over the limit gets errormalformedpdu, the idle timeout
 * errorcommandtimeout (both in a ResponseNull), and end of file, a
 * failure or SIGTERM nothing. Logs the first two. */
void sess_frame_end(struct sess *s, enum frame_status fs);
/* Answer a command that did not decode (r from pdu_decode_command):
 * malformed or a response PDU get errormalformedpdu, an unknown
 * alternative errorunexpectedcommand; nothing else changes. 0 to go on,
 * -1 if the answer could not be written. */
int sess_bad_command(struct sess *s, int r, const struct pdu *m);

/* Connect to the store if not yet connected. 0 or -1. */
int sess_store(struct sess *s);
void sess_store_drop(struct sess *s);

/* One log line: "PROG: info: peer=IP:PORT FIELDS ms=N", FIELDS from fmt. */
void sess_log(struct sess *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Sleep ms milliseconds unless SIGTERM comes. */
void sess_sleep(struct sess *s, int64_t ms);

#endif
