/*
 * dnsq: see dnsq.h. The resolver state lives in the caller's struct and
 * is released by dnsq_free(); no other memory is held.
 */
#include "dnsq.h"

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <errno.h>
#include <netdb.h>
#include <string.h>

int dnsq_cacheip(const char *s, struct in_addr *ip, size_t max)
{
    size_t n = 0;

    for (;;) {
        char one[16];
        size_t k = 0;
        while (*s == ' ' || *s == ',' || *s == '\t') s++;
        if (!*s) break;
        while (s[k] && s[k] != ' ' && s[k] != ',' && s[k] != '\t') k++;
        if (k >= sizeof one || n >= max) goto inval;
        memcpy(one, s, k);
        one[k] = 0;
        /* inet_pton takes only the four-part dotted decimal form */
        if (inet_pton(AF_INET, one, &ip[n]) != 1) goto inval;
        n++;
        s += k;
    }
    if (n == 0) goto inval;
    return (int)n;
inval:
    errno = EINVAL;
    return -1;
}

int dnsq_init(struct dnsq *q, const char *cacheip)
{
    struct in_addr ip[DNSQ_MAXNS];
    int n = 0, i;

    if (cacheip) {
        n = dnsq_cacheip(cacheip, ip, DNSQ_MAXNS);
        if (n < 0) return -1;
    }
    memset(&q->rs, 0, sizeof q->rs);
    if (res_ninit(&q->rs) < 0) {
        if (!errno) errno = EIO;
        return -1;
    }
    /* Only the answer to the question asked: no search list here
     * (res_nquery never searches), no recursion into the local domain. */
    if (n > 0) {
        for (i = 0; i < n; i++) {
            struct sockaddr_in *sa = &q->rs.nsaddr_list[i];
            memset(sa, 0, sizeof *sa);
            sa->sin_family = AF_INET;
            sa->sin_port = htons(53);
            sa->sin_addr = ip[i];
        }
        q->rs.nscount = n;
    }
    return 0;
}

void dnsq_free(struct dnsq *q)
{
    res_nclose(&q->rs);
}

/* Map the resolver's outcome for a failed res_nquery. */
static int failure(const struct dnsq *q)
{
    switch (q->rs.res_h_errno) {
    case HOST_NOT_FOUND: return DNSQ_NXDOMAIN;
    case NO_DATA: return DNSQ_NODATA;
    default: return DNSQ_TEMP; /* TRY_AGAIN, NO_RECOVERY, NETDB_INTERNAL */
    }
}

/* Ask one question; *len is the answer's length. */
static int ask(struct dnsq *q, const char *name, int type, unsigned char *ans,
               size_t cap, size_t *len)
{
    int r = res_nquery(&q->rs, name, ns_c_in, type, ans, (int)cap);
    if (r < 0) return failure(q);
    /* res_nquery reports the full length even when it did not fit */
    if ((size_t)r > cap) return DNSQ_TEMP;
    *len = (size_t)r;
    return DNSQ_OK;
}

int dnsq_parse_srv(const unsigned char *msg, size_t len, struct srv_rr *rr,
                   size_t max, size_t *n)
{
    ns_msg h;
    int i, count;
    size_t k = 0;

    if (len > 65535 || ns_initparse(msg, (int)len, &h) < 0) return DNSQ_TEMP;
    count = ns_msg_count(h, ns_s_an);
    for (i = 0; i < count; i++) {
        ns_rr r;
        const unsigned char *d;
        int used;

        if (ns_parserr(&h, ns_s_an, i, &r) < 0) return DNSQ_TEMP;
        if (ns_rr_class(r) != ns_c_in || ns_rr_type(r) != ns_t_srv) continue;
        if (ns_rr_rdlen(r) < 7) return DNSQ_TEMP;
        if (k >= max) continue;
        d = ns_rr_rdata(r);
        rr[k].prio = (uint16_t)(d[0] << 8 | d[1]);
        rr[k].weight = (uint16_t)(d[2] << 8 | d[3]);
        rr[k].port = (uint16_t)(d[4] << 8 | d[5]);
        used = dn_expand(msg, msg + len, d + 6, rr[k].target,
                         (int)sizeof rr[k].target);
        /* the target must fill the rest of the RDATA exactly */
        if (used < 0 || (size_t)used != ns_rr_rdlen(r) - 6u) return DNSQ_TEMP;
        if (rr[k].target[0] == '\0') strcpy(rr[k].target, ".");
        k++;
    }
    *n = k;
    return DNSQ_OK;
}

int dnsq_parse_addrs(const unsigned char *msg, size_t len, int type,
                     struct dnsq_addr *a, size_t max, size_t *n)
{
    ns_msg h;
    int i, count;
    size_t k = 0, want = type == ns_t_aaaa ? 16 : 4;

    if (len > 65535 || ns_initparse(msg, (int)len, &h) < 0) return DNSQ_TEMP;
    count = ns_msg_count(h, ns_s_an);
    for (i = 0; i < count; i++) {
        ns_rr r;
        if (ns_parserr(&h, ns_s_an, i, &r) < 0) return DNSQ_TEMP;
        if (ns_rr_class(r) != ns_c_in || (int)ns_rr_type(r) != type) continue;
        if (ns_rr_rdlen(r) != want) return DNSQ_TEMP;
        if (k >= max) continue;
        memset(&a[k], 0, sizeof a[k]);
        a[k].v6 = type == ns_t_aaaa;
        memcpy(a[k].ip, ns_rr_rdata(r), want);
        k++;
    }
    *n = k;
    return DNSQ_OK;
}

/* Room for an answer: UDP answers are at most 512 octets unless EDNS is
 * on; a truncated one makes the resolver retry over TCP, up to this. */
#define ANSWER_MAX 65535

int dnsq_srv(struct dnsq *q, const char *name, struct srv_rr *rr, size_t max,
             size_t *n)
{
    unsigned char ans[ANSWER_MAX];
    size_t len, k;
    int r = ask(q, name, ns_t_srv, ans, sizeof ans, &len);

    if (r != DNSQ_OK) return r;
    r = dnsq_parse_srv(ans, len, rr, max, &k);
    if (r != DNSQ_OK) return r;
    if (k == 0) return DNSQ_NODATA; /* e.g. only a CNAME */
    *n = k;
    return DNSQ_OK;
}

int dnsq_addrs(struct dnsq *q, const char *host, struct dnsq_addr *a,
               size_t max, size_t *n)
{
    static const int types[2] = {ns_t_aaaa, ns_t_a};
    unsigned char ans[ANSWER_MAX];
    size_t k = 0;
    int i, nx = 0, temp = 0;

    for (i = 0; i < 2; i++) {
        size_t len, got = 0;
        int r = ask(q, host, types[i], ans, sizeof ans, &len);
        if (r == DNSQ_OK)
            r = dnsq_parse_addrs(ans, len, types[i], a + k, max - k, &got);
        if (r == DNSQ_NXDOMAIN) nx++;
        else if (r == DNSQ_TEMP) temp++;
        else k += got;
    }
    if (k > 0) {
        *n = k;
        return DNSQ_OK;
    }
    if (temp) return DNSQ_TEMP;
    return nx ? DNSQ_NXDOMAIN : DNSQ_NODATA;
}
