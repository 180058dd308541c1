/*
 * cfg: the compiled configuration rna-store reads, DIR/config/store.cdb
 * (written by rna-admin; key schema in doc/config-cdb.md).
 *
 * The cdb is mapped read-only and treated as untrusted: every value is
 * length-checked and parsed completely before use. cfg_open() validates
 * the global settings and fails (errno EPROTO) on a value it cannot
 * parse, so a broken compile never replaces a good one in a running
 * program. cfg_changed() tells whether the file on disk is another file
 * now (rename-replaced), so readers can reload without a restart.
 */
#ifndef RNA_CFG_H
#define RNA_CFG_H

#include <cdb.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "pdu.h"

#define CFG_POLICY_NONE 0
#define CFG_POLICY_OLDEST 1

#define CFG_MAX_FILTERS 64 /* per list (global, or one account) */

/* Defaults (doc/config-cdb.md). */
#define CFG_DEF_QUOTA_TOTAL 10000000u
#define CFG_DEF_QUOTA_ACCOUNT 10000u
#define CFG_DEF_EXPIRE (30u * 86400u)

struct cfg_limits {
    uint64_t quota_total;   /* all notifications held */
    uint64_t quota_account; /* default per account */
    int policy_total;       /* CFG_POLICY_* for the global bound */
    int policy_account;     /* default for accounts */
    uint64_t expire;        /* seconds; 0 = never */
    int sync;               /* 1: fdatasync before acknowledging */
};

struct cfg_acct {
    uint64_t quota;
    int policy;
};

#define CFG_F_SUBMITTER 1 /* submitter address prefix */
#define CFG_F_STORE 2     /* store domain, exact or .suffix */
#define CFG_F_SENDER 3    /* sender address, or @domain */
#define CFG_F_SIZE 4      /* size above a bound */

struct cfg_filter {
    int kind;
    unsigned char v6;
    unsigned char ip[16];
    unsigned prefix;       /* bits */
    char text[PDU_MAX_SENDER + 1];
    size_t tlen;
    int suffix;            /* store ".example.org", sender "@example.org" */
    uint64_t size;
};

struct cfg {
    int fd;
    struct cdb cdb;
    dev_t dev;
    ino_t ino;
    struct timespec mtime;
    struct cfg_limits lim;
    struct cfg_filter *global; /* parsed global filters */
    size_t nglobal;
    char *scratch;             /* for filter lists read from the cdb */
};

/* 0, or -1 with errno (ENOENT, EPROTO for an unparsable value, ...). */
int cfg_open(struct cfg *c, const char *path);
void cfg_close(struct cfg *c);
/* 1 if path now names another file than the one open (or is gone). */
int cfg_changed(const struct cfg *c, const char *path);

/* Which account serves localpart@domain: 1 found (acct, *acctlen set;
 * acct holds PDU_MAX_ACCOUNT + 1 octets), 0 no such mailbox, -1 error. */
int cfg_route(struct cfg *c, const struct pdu_str *localpart,
              const struct pdu_domain *domain, char *acct, size_t *acctlen);
/* Settings of an account (defaults applied). -1 on a broken value. */
int cfg_account(struct cfg *c, const char *acct, size_t len,
                struct cfg_acct *out);
/* An account's own filters into out[max]; count, or -1. */
int cfg_account_filters(struct cfg *c, const char *acct, size_t len,
                        struct cfg_filter *out, size_t max);
/* Does filter f match notification n from submitter s? */
int cfg_filter_match(const struct cfg_filter *f, const struct pdu_notif *n,
                     const struct pdu_ipport *s);
/* Parse one filter line ("submitter 192.0.2.0/24", "store .example.org",
 * "sender @example.net", "size 1000000"). 0, or -1 (EINVAL). Shared with
 * rna-admin so that what compiles is what the store understands. */
int cfg_filter_parse(const char *line, size_t len, struct cfg_filter *f);
/* Parse a policy word. */
int cfg_policy_parse(const char *s, size_t len, int *out);
/* Parse a decimal uint64 completely. */
int cfg_u64_parse(const char *s, size_t len, uint64_t *out);

#endif
