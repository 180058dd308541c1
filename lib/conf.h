/*
 * conf: the human-readable configuration under DIR/config/ (format in
 * doc/config.md), parsed, cross-checked, and compiled into the cdb files
 * of doc/config-cdb.md (store.cdb for rna-store, auth.cdb for rnaqp-d).
 *
 * The caller owns the texts (struct conf_text). conf_parse() copies them
 * into the struct conf, which owns that copy and every record pointing
 * into it until conf_free(). Parsing is total: any text yields a model
 * or one error naming the file, the line and the reason; on error the
 * output struct is left empty (conf_free() on it is harmless).
 *
 * Compiling is in two steps so that a caller can put the text files in
 * place between them: conf_build() writes both cdb files to temporaries
 * beside their targets, conf_commit() renames both (store.cdb first);
 * conf_abort() removes them. Nothing here prints or exits.
 */
#ifndef RNA_CONF_H
#define RNA_CONF_H

#include <stddef.h>
#include <stdint.h>

/* The text files, in the order they are checked. */
#define CONF_DOMAINS 0
#define CONF_ACCOUNTS 1
#define CONF_PASSWORDS 2
#define CONF_MAILBOXES 3
#define CONF_FILTERS 4
#define CONF_SETTINGS 5
#define CONF_NFILES 6

#define CONF_MAX_FILE (64u << 20) /* a larger text file is refused */

/* Settings (doc/config-cdb.md, "set:" keys), in this order. */
#define CONF_S_QUOTA_TOTAL 0
#define CONF_S_QUOTA_ACCOUNT 1
#define CONF_S_POLICY_TOTAL 2
#define CONF_S_POLICY_ACCOUNT 3
#define CONF_S_EXPIRE 4
#define CONF_S_SYNC 5
#define CONF_NSETTINGS 6

struct conf_text {
    char *p; /* NULL when the file does not exist */
    size_t n;
};

struct conf_err {
    char msg[512]; /* "config/mailboxes:12: unknown account 'bob'" */
};

struct conf_domain {
    const char *name; /* folded to lower case */
    unsigned long line;
};

struct conf_mbox {
    const char *domain; /* folded */
    const char *local;  /* exact; for a prefix, the prefix ("sales-") */
    size_t llen;
    int prefix;
    const char *acct;
    unsigned long line;
};

struct conf_acct {
    const char *name;
    int has_quota, has_policy;
    uint64_t quota;
    int policy; /* CFG_POLICY_* */
    const char *hash; /* from config/passwords, or NULL */
    unsigned long line, hash_line;
};

struct conf_filter {
    const char *owner; /* "" for a global filter */
    const char *kind;
    const char *arg;
    unsigned long line;
};

struct conf {
    char *buf[CONF_NFILES]; /* NUL-separated copies of the texts */
    struct conf_domain *dom; /* sorted by name */
    size_t ndom;
    struct conf_acct *acct; /* sorted by name */
    size_t nacct;
    struct conf_mbox *mbox; /* sorted by domain, kind, local part */
    size_t nmbox;
    struct conf_filter *filt; /* by owner ("" first), then line */
    size_t nfilt;
    int has_set[CONF_NSETTINGS];
    uint64_t set[CONF_NSETTINGS]; /* policies as CFG_POLICY_* */
    unsigned long set_line[CONF_NSETTINGS];
};

/* Compile output: two temporaries awaiting conf_commit(). */
struct conf_out {
    int fd[2];
    char tmp[2][4096];
    char path[2][4096];
};

/* "domains", "accounts", ... */
const char *conf_file_name(int file);
/* Read DIR/config/NAME for every file; a missing file is empty (p NULL).
 * 0, or -1 with errno and *which set to the file that failed (-1: the
 * directory itself). */
int conf_read(const char *dir, struct conf_text t[CONF_NFILES], int *which);
void conf_text_free(struct conf_text t[CONF_NFILES]);

/* 0, or -1: errno EINVAL with e->msg set, or ENOMEM. */
int conf_parse(struct conf *c, const struct conf_text t[CONF_NFILES],
               struct conf_err *e);
void conf_free(struct conf *c);

/* Setting names and their defaults; -1 for an unknown name. */
const char *conf_setting_name(int s);
int conf_setting_find(const char *name);
uint64_t conf_setting_default(int s);
/* Validate a setting value; 0 and *v, or -1. */
int conf_setting_parse(int s, const char *val, size_t len, uint64_t *v);
/* Its text form ("oldest", "2592000") into out[32]. */
void conf_setting_text(int s, uint64_t v, char *out);

/* An age: decimal seconds, or with one suffix s, m, h or d ("30d").
 * 0 and *v, or -1 (EINVAL, or ERANGE on overflow). */
int conf_age_parse(const char *s, uint64_t *v);

/* Lookups in a parsed configuration (binary search); NULL if absent. */
const struct conf_acct *conf_find_acct(const struct conf *c, const char *name);
const struct conf_domain *conf_find_domain(const struct conf *c,
                                           const char *folded);

/* Write DIR/config/store.cdb and auth.cdb to temporaries. 0, or -1 with
 * errno (nothing left behind). */
int conf_build(const struct conf *c, const char *dir, struct conf_out *o);
/* Rename both into place. 0, or -1 with errno (the temporaries not yet
 * renamed are removed). */
int conf_commit(struct conf_out *o);
void conf_abort(struct conf_out *o);

#endif
