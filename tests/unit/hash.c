/* SipHash-2-4 against the reference vectors of the SipHash paper
 * (key 00..0f, messages 00, 00 01, ...), and incremental == one-shot.
 * hash_check (the journal checksum): its value is part of the on-disk
 * format, so one is pinned; and every damage a torn or stale write makes
 * (a flipped bit, a zeroed or repeated span, a cut) changes it. */
#include <string.h>

#include "hash.h"
#include "t.h"

#define PINNED 0xc16275622854df3cULL

int main(void)
{
    struct hash_key k = {0x0706050403020100ULL, 0x0f0e0d0c0b0a0908ULL};
    unsigned char m[64];
    size_t i;
    struct hash_st s;

    for (i = 0; i < sizeof m; i++) m[i] = (unsigned char)i;
    /* Appendix A of the paper: the 15-octet message 00..0e. */
    T_OK(hash_sip(&k, m, 15) == 0xa129ca6149be45e5ULL,
         "siphash24 paper vector (15 octets)");
    /* Empty message, from the reference implementation's vector table. */
    T_OK(hash_sip(&k, m, 0) == 0x726fdb47dd0e0e31ULL, "siphash24 empty message");
    for (i = 0; i <= sizeof m; i++) {
        size_t cut = i / 3;
        hash_init(&s, &k);
        hash_add(&s, m, cut);
        hash_add(&s, m + cut, i - cut);
        if (hash_end(&s) != hash_sip(&k, m, i)) break;
    }
    T_OK(i == sizeof m + 1, "incremental hash equals one-shot for 0..64 octets");
    T_OK(hash_sip(&k, "a", 1) != hash_sip(&k, "b", 1), "different input, different hash");
    {
        unsigned char b[300], c[300];
        uint64_t h0, hl[301];
        size_t j, bad = 0;
        for (i = 0; i < sizeof b; i++) b[i] = (unsigned char)(i * 7 + 3);
        h0 = hash_check(b, sizeof b);
        T_OK(hash_check(m, 64) == PINNED, "hash_check pinned value (on-disk format)");
        for (i = 0; i < sizeof b * 8; i++) {
            memcpy(c, b, sizeof b);
            c[i / 8] ^= (unsigned char)(1u << (i % 8));
            if (hash_check(c, sizeof c) == h0) bad++;
        }
        T_OK(bad == 0, "hash_check: every single-bit flip of 300 octets changes it");
        for (i = 0; i + 16 <= sizeof b; i++) {
            memcpy(c, b, sizeof b);
            memset(c + i, 0, 16);
            if (hash_check(c, sizeof c) == h0) bad++;
            memcpy(c, b, sizeof b);
            memcpy(c + i, b + (i + 32) % (sizeof b - 16), 16);
            if (hash_check(c, sizeof c) == h0) bad++;
        }
        T_OK(bad == 0, "hash_check: every zeroed or stale 16-octet span changes it");
        memset(c, 0, sizeof c);
        for (j = 0; j <= sizeof c; j++) hl[j] = hash_check(c, j);
        for (j = 0; j <= sizeof c && !bad; j++)
            for (i = 0; i < j; i++)
                if (hl[i] == hl[j]) bad++;
        T_OK(bad == 0, "hash_check: zero runs of every length 0..300 differ");
    }
    return t_done();
}
