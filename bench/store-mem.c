/*
 * store-mem DIR N ACCOUNTS: fill a running rna-store (started on DIR
 * with sync off) with N notifications of 236 octets of DER spread over
 * ACCOUNTS accounts (a0 .. aK), through the store protocol, in batches
 * of 1000, and print the store's resident memory before and after and
 * the bytes per notification. The configuration must route
 * aI@bench.example to account aI (bench/store-mem.sh writes it).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"
#include "pdu.h"
#include "storec.h"

static long long stat_of(struct storec *c, const char *key)
{
    const unsigned char *p;
    size_t plen, i = 0, kl = strlen(key);
    storec_begin(c, STORE_OP_STATS);
    if (storec_call(c, -1, &p, &plen) != STORE_OK) return -1;
    while (i < plen) {
        size_t j = i;
        while (j < plen && p[j] != '\n') j++;
        if (j - i > kl && memcmp(p + i, key, kl) == 0 && p[i + kl] == ' ')
            return atoll((const char *)p + i + kl + 1);
        i = j + 1;
    }
    return -1;
}

int main(int argc, char **argv)
{
    struct storec c;
    unsigned long n, accts, i;
    long long r0, r1;
    unsigned char b1[PDU_DOMAIN_DER_MAX], b2[PDU_DOMAIN_DER_MAX];
    static char sender[200];
    size_t notif_len = 0;

    if (argc != 4) {
        fprintf(stderr, "usage: store-mem DIR N ACCOUNTS\n");
        return 100;
    }
    n = strtoul(argv[2], NULL, 10);
    accts = strtoul(argv[3], NULL, 10);
    if (storec_open(&c, argv[1], clock_ms() + 5000) < 0) {
        perror("store-mem: connect");
        return 111;
    }
    r0 = stat_of(&c, "rss_bytes");
    memset(sender, 'x', sizeof sender - 1);
    memcpy(sender + 100, "@sender.example.net", 19);
    for (i = 0; i < n;) {
        unsigned long k;
        const unsigned char *p;
        size_t plen;
        unsigned char hdr[20] = {0, 192, 0, 2, 1};
        storec_begin(&c, STORE_OP_SUBMIT);
        hdr[17] = 0x30;
        der_w_raw(&c.w, hdr, sizeof hdr);
        for (k = 0; k < 1000 && i < n; k++, i++) {
            struct pdu_notif x;
            char lp[32];
            size_t before = c.w.len;
            memset(&x, 0, sizeof x);
            snprintf(lp, sizeof lp, "a%lu", i % accts);
            x.clear.kind = PDU_LOC_DOMAIN;
            pdu_domain_from_text(b1, sizeof b1, "store.example.net", 17, &x.clear.domain);
            pdu_domain_from_text(b2, sizeof b2, "bench.example", 13, &x.rdomain);
            x.localpart.p = (const unsigned char *)lp;
            x.localpart.len = strlen(lp);
            memset(x.id, 0x11, 16);
            memcpy(x.id, &i, sizeof i);
            x.sender.p = (const unsigned char *)sender;
            /* pad the sender so the Notification is 236 octets */
            x.sender.len = 160 - strlen(lp);
            x.has_size = 1;
            x.size = 123456;
            pdu_put_notif(&c.w, &x);
            notif_len = c.w.len - before;
        }
        if (storec_call(&c, -1, &p, &plen) != STORE_OK) {
            fprintf(stderr, "store-mem: submit refused at %lu\n", i);
            return 111;
        }
    }
    r1 = stat_of(&c, "rss_bytes");
    printf("notifications\t%lu\naccounts\t%lu\nnotification_octets\t%zu\n"
           "rss_before\t%lld\nrss_after\t%lld\nbytes_per_notification\t%.1f\n",
           n, accts, notif_len, r0, r1, (double)(r1 - r0) / (double)n);
    storec_close(&c);
    return 0;
}
