/*
 * hash: SipHash-2-4 (Aumasson and Bernstein), written from the paper's
 * description: 64-bit little-endian message words, two compression
 * rounds per word, four finalisation rounds.
 */
#include "hash.h"

static uint64_t rotl(uint64_t x, int b)
{
    return (x << b) | (x >> (64 - b));
}

static void round1(struct hash_st *s)
{
    s->v0 += s->v1;
    s->v1 = rotl(s->v1, 13);
    s->v1 ^= s->v0;
    s->v0 = rotl(s->v0, 32);
    s->v2 += s->v3;
    s->v3 = rotl(s->v3, 16);
    s->v3 ^= s->v2;
    s->v0 += s->v3;
    s->v3 = rotl(s->v3, 21);
    s->v3 ^= s->v0;
    s->v2 += s->v1;
    s->v1 = rotl(s->v1, 17);
    s->v1 ^= s->v2;
    s->v2 = rotl(s->v2, 32);
}

static void word(struct hash_st *s, uint64_t m)
{
    s->v3 ^= m;
    round1(s);
    round1(s);
    s->v0 ^= m;
}

void hash_init(struct hash_st *s, const struct hash_key *k)
{
    s->v0 = k->k0 ^ 0x736f6d6570736575ULL;
    s->v1 = k->k1 ^ 0x646f72616e646f6dULL;
    s->v2 = k->k0 ^ 0x6c7967656e657261ULL;
    s->v3 = k->k1 ^ 0x7465646279746573ULL;
    s->tail = 0;
    s->ntail = 0;
    s->total = 0;
}

void hash_add(struct hash_st *s, const void *p, size_t n)
{
    const unsigned char *q = p;
    s->total += n;
    while (n--) {
        s->tail |= (uint64_t)*q++ << (8 * s->ntail);
        if (++s->ntail == 8) {
            word(s, s->tail);
            s->tail = 0;
            s->ntail = 0;
        }
    }
}

uint64_t hash_end(struct hash_st *s)
{
    word(s, s->tail | ((uint64_t)(s->total & 0xff) << 56));
    s->v2 ^= 0xff;
    round1(s);
    round1(s);
    round1(s);
    round1(s);
    return s->v0 ^ s->v1 ^ s->v2 ^ s->v3;
}

uint64_t hash_sip(const struct hash_key *k, const void *p, size_t n)
{
    struct hash_st s;
    hash_init(&s, k);
    hash_add(&s, p, n);
    return hash_end(&s);
}
