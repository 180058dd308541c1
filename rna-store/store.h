/*
 * rna-store internals: the in-memory model (mem.c), the journal and
 * snapshot (journal.c), and the server loop (rna-store.c).
 *
 * Model. Every held notification is a struct node holding its
 * Notification DER (its known elements re-encoded: unknown extension
 * elements are skipped, as PROTOCOL.md says), with its submitter (an
 * interned, counted ClientLocation shared by the notifications of one
 * batch) and its date: the NotificationAndLocalData a retrieve returns is
 * assembled from these three while the answer is written. A node is on
 * three lists:
 *  - its account's list, oldest first: either the account's held list
 *    (visible to a retrieve) or the pending list of the one store client
 *    whose retrieve took it (flag NODE_PENDING);
 *  - the global list in acceptance order (expiry, global replacement);
 *  - a chain of the collapse index, keyed by a SipHash of
 *    (mailbox, storeclear, identifier), of which the node keeps 32 bits.
 * Sequence numbers grow with acceptance and order every list; the journal
 * names notifications by them.
 */
#ifndef RNA_STORE_H
#define RNA_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "cfg.h"
#include "der.h"
#include "hash.h"
#include "pdu.h"

#define NODE_PENDING 1u
#define NODE_DOOMED 2u    /* chosen for replacement by the batch in plan */
#define NODE_TENTATIVE 4u /* created by the batch in plan, not yet linked */

struct acct;

/* A submitter: the [1] ClientLocation TLV of NotificationAndLocalData,
 * shared by every node of the batch that brought it. */
struct subm {
    uint32_t refs;
    uint16_t len;
    unsigned char der[];
};

#define NODE_MAX_LEN 65535 /* a Notification is far smaller (pdu.h limits) */

struct node {
    struct node *anext, *aprev; /* account held list, or a pending list */
    struct node *gnext, *gprev; /* global acceptance order */
    struct node *hnext;         /* collapse index chain */
    struct acct *acct;
    struct subm *sub;
    uint64_t seq;
    uint32_t date;              /* seconds since 1970 (until 2106) */
    uint32_t key;               /* collapse hash, low 32 bits */
    uint16_t len;
    uint8_t flags;
    unsigned char blob[];       /* Notification, DER */
};

struct acct {
    struct acct *hnext;
    struct node *head, *tail; /* held, not pending */
    uint64_t count;           /* held, pending included (quotas) */
    uint64_t pending;
    /* per-batch planning state, valid while plan_gen == mem.gen */
    uint64_t plan_gen;
    uint64_t plan_count;
    struct node *doom_cur;
    struct cfg_acct plan_cfg;
    /* statistics */
    uint64_t accepted, collapsed, discarded, rejected, replaced, cleared;
    unsigned char nlen;
    char name[];              /* nlen octets and a NUL */
};

/* A retrieve in progress, owned by one store client. */
struct pend {
    struct acct *acct;
    struct node *head, *tail;
    uint64_t count;
    int open;
};

struct mem_stats {
    uint64_t accepted, collapsed, discarded, replaced, cleared, expired;
    uint64_t rej_nomailbox, rej_quota, rej_internal;
    uint64_t batches, retrieves, commits, aborts;
};

/* Nodes come from 2 MiB chunks (transparent huge pages where the kernel
 * offers them), carved in 8-octet size classes with a free list each:
 * no per-node allocator header, few page faults. Memory of freed nodes
 * is kept for later nodes of the same class, never given back. Nodes
 * over SLAB_MAX, and every node in sanitizer builds (so that ASan sees
 * each one), come from malloc. */
#define SLAB_GRAIN 8
#define SLAB_MAX 4096
#define SLAB_CHUNK ((size_t)2 << 20)

struct slab {
    void *free[SLAB_MAX / SLAB_GRAIN + 1];
    unsigned char *cur, *end;
    void *chunks;     /* each chunk's first word links the previous one */
    size_t nchunks;
};

struct mem {
    struct slab slab;
    struct hash_key key;
    struct node **htab;
    size_t hmask; /* htab has hmask + 1 buckets */
    size_t hcount;
    struct acct **atab;
    size_t amask;
    size_t acount;
    struct node *ghead, *gtail;
    uint64_t total;   /* held, pending included */
    uint64_t pending;
    uint64_t next_seq;
    uint64_t gen;     /* batch generation for planning */
    size_t bytes;     /* octets of blobs held */
    struct mem_stats st;
};

int mem_init(struct mem *m, const struct hash_key *k);
void mem_free(struct mem *m);
struct acct *mem_acct(struct mem *m, const char *name, size_t len, int create);

/* Collapse key of a notification for mailbox (localpart, domain). */
uint32_t mem_collapse_key(const struct mem *m, const struct pdu_notif *n);
/* A node with that collapse identity, or NULL. */
struct node *mem_find(struct mem *m, uint32_t key, const struct pdu_notif *n);

/* A node holding a copy of the Notification DER (sub, seq, date, key,
 * acct to be set by the caller), or NULL (no memory, or too long). */
struct node *mem_node_new(struct mem *m, const unsigned char *notif, size_t len);
/* Free a node that was never linked (drops its submitter reference). */
void mem_node_free(struct mem *m, struct node *x);
/* A submitter of n octets of ClientLocation TLV, with one reference. */
struct subm *mem_subm_new(const unsigned char *der, size_t n);
void mem_subm_ref(struct subm *s);
void mem_subm_unref(struct subm *s);
/* The NotificationAndLocalData of a node: its size, and writing it. */
size_t mem_nald_size(const struct node *x);
void mem_put_nald(struct der_w *w, const struct node *x);
void mem_index_add(struct mem *m, struct node *x);
/* About n notifications are coming (a replay): size the index for them
 * now rather than doubling it on the way (capped at 4M buckets). */
void mem_index_hint(struct mem *m, size_t n);
void mem_index_del(struct mem *m, struct node *x);
/* Link a node (seq, date, acct set) at the tail of its account and of
 * the global list, and into the index unless already there. */
void mem_link_new(struct mem *m, struct node *x);
/* Unlink a held (not pending) node everywhere and free it. */
void mem_remove(struct mem *m, struct node *x);

/* Retrieve: move the account's held list to p (flag PENDING). */
void mem_take(struct mem *m, struct acct *a, struct pend *p);
/* Commit: free every node of p. Abort: merge p back by seq. */
void mem_clear(struct mem *m, struct pend *p);
void mem_putback(struct mem *m, struct pend *p);

/* ---- journal.c ---- */

#define JREC_ACCEPT_V1 1   /* nodes held whole NALDs: no longer read */
#define JREC_CLEAR 2
#define JREC_EXPIRE 3
#define JREC_ACCEPT 4
#define JREC_SNAPHDR 10
#define JREC_SNAPNODE_V1 11 /* likewise */
#define JREC_SNAPEND 12
#define JREC_SNAPNODE 13

struct journal {
    char *dir;           /* DIR/store */
    int dirfd;
    int fd;
    uint64_t gen;
    uint64_t off;        /* end of the written records */
    uint64_t alloc_end;  /* written (records, then zeros) up to here */
    uint64_t fsize_max;  /* RLIMIT_FSIZE as last read (journal_limits) */
    struct der_w buf;    /* records not yet written */
    size_t rec_start;    /* offset in buf of the record being built */
    uint64_t replayed, torn_bytes;
    uint64_t syncs, records;
};

/* Open DIR/store, load the snapshot and replay the journal into m. 0, or
 * -1 with a reason in *why. */
int journal_open(struct journal *j, const char *storedir, struct mem *m,
                 const char **why);
void journal_close(struct journal *j);
/* Make sure n more octets (plus what is buffered) can be written without
 * running out of space. 0, or -1 (ENOSPC, EFBIG, ...). */
int journal_reserve(struct journal *j, size_t n);
/* Read RLIMIT_FSIZE again (journal_open reads it once; the store calls this
 * every second rather than making a system call per transaction). */
void journal_limits(struct journal *j);
void journal_rec_begin(struct journal *j, unsigned type);
void journal_rec_end(struct journal *j);
/* Write what is buffered and, with sync, fdatasync it. 0 or -1. */
int journal_flush(struct journal *j, int sync);
int journal_pending(const struct journal *j);
/* Snapshot the live set and start a fresh journal. 0 or -1. */
int journal_compact(struct journal *j, struct mem *m);
/* Bytes a node's ACCEPT entry takes. */
size_t journal_node_size(const struct node *x);
void journal_put_node(struct journal *j, const struct node *x);
/* The submitter entry of an ACCEPT record: [u16 length][TLV]. */
void journal_put_subm(struct journal *j, const struct subm *sub);

#endif
