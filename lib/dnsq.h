/*
 * dnsq: the few DNS questions the clients ask (SRV, AAAA, A), through the
 * system resolver library (libresolv), and strict parsers for the answers.
 *
 * A struct dnsq holds its own resolver state (res_ninit), so nothing
 * global is touched. dnsq_init() takes the djbdns convention: a non-NULL
 * cacheip (the value of $DNSCACHEIP) names the servers to ask, IPv4
 * addresses separated by spaces or commas, port 53, in place of /etc/resolv.conf's; the resolver's
 * other settings ($RES_OPTIONS: timeout, attempts) still apply.
 *
 * Answers are hostile input: the parsers check every length against the
 * message (ns_initparse/ns_parserr), expand names with dn_expand (which
 * refuses compression loops), require each RDATA to be consumed exactly,
 * and ignore records of other types or classes. On a failure the output
 * arrays may hold partial results; only *n, set on DNSQ_OK, says how many
 * are valid.
 */
#ifndef RNA_DNSQ_H
#define RNA_DNSQ_H

#include <netinet/in.h>
#include <resolv.h>
#include <stddef.h>

#include "srv.h"

#define DNSQ_OK 0
#define DNSQ_NXDOMAIN 1 /* the name does not exist */
#define DNSQ_NODATA 2   /* the name exists, with no record of the type */
#define DNSQ_TEMP 3     /* no answer, server failure, refused, malformed */

/* The servers $DNSCACHEIP may name (MAXNS). */
#define DNSQ_MAXNS 3

struct dnsq {
    struct __res_state rs;
};

struct dnsq_addr {
    unsigned char v6;
    unsigned char ip[16];
};

/* 0, or -1 with errno (EINVAL: cacheip is not a list of IPv4 addresses;
 * otherwise the resolver could not start). */
int dnsq_init(struct dnsq *q, const char *cacheip);
void dnsq_free(struct dnsq *q);

/* The SRV records of name: up to max into rr, *n set. */
int dnsq_srv(struct dnsq *q, const char *name, struct srv_rr *rr, size_t max,
             size_t *n);
/* The AAAA records of host, then its A records: up to max into a. DNSQ_OK
 * when there is at least one; NODATA when the name has neither. */
int dnsq_addrs(struct dnsq *q, const char *host, struct dnsq_addr *a,
               size_t max, size_t *n);

/* Parsers for one answer message (the octets res_nquery returns). They
 * return DNSQ_OK (even with no record: *n = 0) or DNSQ_TEMP if the
 * message is malformed. */
int dnsq_parse_srv(const unsigned char *msg, size_t len, struct srv_rr *rr,
                   size_t max, size_t *n);
/* type: ns_t_a or ns_t_aaaa. */
int dnsq_parse_addrs(const unsigned char *msg, size_t len, int type,
                     struct dnsq_addr *a, size_t max, size_t *n);

/* Parse a $DNSCACHEIP value into at most DNSQ_MAXNS IPv4 addresses (in
 * network order). The number found (>= 1), or -1 (EINVAL). */
int dnsq_cacheip(const char *s, struct in_addr *ip, size_t max);

#endif
