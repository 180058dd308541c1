/*
 * hash: SipHash-2-4, a keyed 64-bit hash. The store keys its collapse
 * index with it so that a hostile message store cannot choose colliding
 * notifications; hash_check is the journal's record checksum.
 */
#ifndef RNA_HASH_H
#define RNA_HASH_H

#include <stddef.h>
#include <stdint.h>

struct hash_key {
    uint64_t k0, k1;
};

uint64_t hash_sip(const struct hash_key *k, const void *p, size_t n);

/* Incremental form, for keys gathered from several pieces. */
struct hash_st {
    uint64_t v0, v1, v2, v3;
    uint64_t tail;
    size_t ntail;
    size_t total;
};
void hash_init(struct hash_st *s, const struct hash_key *k);
void hash_add(struct hash_st *s, const void *p, size_t n);
uint64_t hash_end(struct hash_st *s);

/* A fast unkeyed 64-bit checksum for detecting torn and stale writes
 * (journal records); not for anything an adversary chooses. */
uint64_t hash_check(const void *p, size_t n);

#endif
