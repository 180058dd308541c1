/*
 * hash: SipHash-2-4 (Aumasson and Bernstein), written from the paper's
 * description: 64-bit little-endian message words, two compression
 * rounds per word, four finalisation rounds.
 */
#include "hash.h"

#include <endian.h>
#include <string.h>

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

/* ---- hash_check: a fast unkeyed checksum ----
 *
 * Four independent lanes take 8-octet little-endian words in turn; each
 * step (lane ^ word) * odd constant, rotated, is a bijection of the lane
 * for a fixed word and of the word for a fixed lane, so a changed word
 * always changes its lane. The tail is zero-padded with its length mixed
 * in; the lanes are folded and finished with a multiply-xorshift
 * avalanche. It runs at several octets per cycle, against about one for
 * SipHash, and detects torn or stale writes; it makes no claim against an
 * adversary (nothing here needs one: the file is the store's own). */

#define CK1 0x9e3779b97f4a7c15ULL
#define CK2 0xc2b2ae3d27d4eb4fULL
#define CK3 0x165667b19e3779f9ULL
#define CK4 0xd6e8feb86659fd93ULL

static uint64_t le64(const unsigned char *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof v);
    return le64toh(v);
}

static uint64_t step(uint64_t lane, uint64_t w)
{
    return rotl((lane ^ w) * CK2, 31);
}

uint64_t hash_check(const void *p, size_t n)
{
    const unsigned char *s = p;
    uint64_t a = CK1, b = CK2, c = CK3, d = CK4 ^ (uint64_t)n, h;
    unsigned char last[8] = {0};
    size_t k;

    for (; n >= 32; s += 32, n -= 32) {
        a = step(a, le64(s));
        b = step(b, le64(s + 8));
        c = step(c, le64(s + 16));
        d = step(d, le64(s + 24));
    }
    for (; n >= 8; s += 8, n -= 8) a = step(a, le64(s));
    for (k = 0; k < n; k++) last[k] = s[k];
    b = step(b, le64(last) ^ (uint64_t)n << 56);
    h = a ^ rotl(b, 17) ^ rotl(c, 31) ^ rotl(d, 47);
    h ^= h >> 33;
    h *= CK4;
    h ^= h >> 29;
    h *= CK3;
    h ^= h >> 32;
    return h;
}
