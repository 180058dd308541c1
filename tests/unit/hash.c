/* SipHash-2-4 against the reference vectors of the SipHash paper
 * (key 00..0f, messages 00, 00 01, ...), and incremental == one-shot. */
#include <string.h>

#include "hash.h"
#include "t.h"

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
    return t_done();
}
