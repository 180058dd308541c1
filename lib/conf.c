/*
 * conf: text configuration to cdb. See conf.h, doc/config.md and
 * doc/config-cdb.md.
 *
 * The text is hostile like any other input: every line is checked for
 * NUL and control octets (pdu_utf8_ok) before a token of it reaches an
 * error message, numbers go through cfg_u64_parse, filters through
 * cfg_filter_parse, domains through pdu_domain_from_text: what compiles
 * is exactly what rna-store accepts. Duplicates and cross-references are
 * checked on sorted arrays, so a large configuration stays n log n.
 */
#include "conf.h"

#include <cdb.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atomic.h"
#include "cfg.h"
#include "pdu.h"

#define MAX_FIELDS 8
#define MAX_HASH 512

static const char *const file_names[CONF_NFILES] = {
    "domains", "accounts", "passwords", "mailboxes", "filters", "settings"};

static const char *const set_names[CONF_NSETTINGS] = {
    "quota-total", "quota-account", "policy-total",
    "policy-account", "expire", "sync"};

const char *conf_file_name(int file)
{
    return file >= 0 && file < CONF_NFILES ? file_names[file] : "?";
}

const char *conf_setting_name(int s)
{
    return s >= 0 && s < CONF_NSETTINGS ? set_names[s] : "?";
}

int conf_setting_find(const char *name)
{
    int i;
    for (i = 0; i < CONF_NSETTINGS; i++)
        if (strcmp(name, set_names[i]) == 0) return i;
    return -1;
}

uint64_t conf_setting_default(int s)
{
    switch (s) {
    case CONF_S_QUOTA_TOTAL: return CFG_DEF_QUOTA_TOTAL;
    case CONF_S_QUOTA_ACCOUNT: return CFG_DEF_QUOTA_ACCOUNT;
    case CONF_S_EXPIRE: return CFG_DEF_EXPIRE;
    case CONF_S_SYNC: return 1;
    default: return CFG_POLICY_NONE;
    }
}

static int is_policy(int s)
{
    return s == CONF_S_POLICY_TOTAL || s == CONF_S_POLICY_ACCOUNT;
}

int conf_setting_parse(int s, const char *val, size_t len, uint64_t *v)
{
    if (is_policy(s)) {
        int p;
        if (cfg_policy_parse(val, len, &p) < 0) return -1;
        *v = (uint64_t)p;
        return 0;
    }
    {
        uint64_t x;
        if (cfg_u64_parse(val, len, &x) < 0) return -1;
        if (s == CONF_S_SYNC && x > 1) return -1;
        *v = x;
    }
    return 0;
}

void conf_setting_text(int s, uint64_t v, char *out)
{
    if (is_policy(s))
        snprintf(out, 32, "%s", v == CFG_POLICY_OLDEST ? "oldest" : "none");
    else
        snprintf(out, 32, "%llu", (unsigned long long)v);
}

int conf_age_parse(const char *s, uint64_t *v)
{
    size_t n = strlen(s);
    uint64_t x, mul = 1;
    if (n > 1) {
        switch (s[n - 1]) {
        case 's': mul = 1; n--; break;
        case 'm': mul = 60; n--; break;
        case 'h': mul = 3600; n--; break;
        case 'd': mul = 86400; n--; break;
        default: break;
        }
    }
    if (cfg_u64_parse(s, n, &x) < 0) {
        errno = EINVAL;
        return -1;
    }
    if (__builtin_mul_overflow(x, mul, &x)) {
        errno = ERANGE;
        return -1;
    }
    *v = x;
    return 0;
}

/* ---- reading ---- */

static int read_file(const char *path, struct conf_text *t)
{
    struct stat st;
    char *p;
    size_t n = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC), e;

    t->p = NULL;
    t->n = 0;
    if (fd < 0) return errno == ENOENT ? 0 : -1;
    if (fstat(fd, &st) < 0) goto fail;
    if (!S_ISREG(st.st_mode)) {
        errno = EINVAL;
        goto fail;
    }
    if ((uint64_t)st.st_size > CONF_MAX_FILE) {
        errno = EFBIG;
        goto fail;
    }
    /* one octet more than the size, to see a file that grew meanwhile */
    p = malloc((size_t)st.st_size + 2);
    if (!p) goto fail;
    for (;;) {
        ssize_t k = read(fd, p + n, (size_t)st.st_size + 1 - n);
        if (k < 0) {
            if (errno == EINTR) continue;
            e = errno;
            free(p);
            errno = e;
            goto fail;
        }
        if (k == 0) break;
        n += (size_t)k;
        if (n > (size_t)st.st_size) {
            free(p);
            errno = EAGAIN; /* changed while read */
            goto fail;
        }
    }
    close(fd);
    p[n] = 0;
    t->p = p;
    t->n = n;
    return 0;
fail:
    e = errno;
    close(fd);
    errno = e;
    return -1;
}

int conf_read(const char *dir, struct conf_text t[CONF_NFILES], int *which)
{
    char path[4096];
    struct stat st;
    int i;

    for (i = 0; i < CONF_NFILES; i++) {
        t[i].p = NULL;
        t[i].n = 0;
    }
    *which = -1;
    if ((size_t)snprintf(path, sizeof path, "%s/config", dir) >= sizeof path) {
        errno = ENAMETOOLONG;
        return -1;
    }
    if (stat(path, &st) < 0) return -1;
    if (!S_ISDIR(st.st_mode)) {
        errno = ENOTDIR;
        return -1;
    }
    for (i = 0; i < CONF_NFILES; i++) {
        *which = i;
        if ((size_t)snprintf(path, sizeof path, "%s/config/%s", dir,
                             file_names[i]) >= sizeof path) {
            errno = ENAMETOOLONG;
            goto fail;
        }
        if (read_file(path, &t[i]) < 0) goto fail;
    }
    return 0;
fail:
    {
        int e = errno;
        conf_text_free(t);
        errno = e;
    }
    return -1;
}

void conf_text_free(struct conf_text t[CONF_NFILES])
{
    int i;
    for (i = 0; i < CONF_NFILES; i++) {
        free(t[i].p);
        t[i].p = NULL;
        t[i].n = 0;
    }
}

/* ---- parsing ---- */

struct pstate {
    struct conf *c;
    struct conf_err *e;
    int file;
    unsigned long line;
    size_t cap_dom, cap_acct, cap_mbox, cap_filt;
};

static int perr(struct pstate *s, unsigned long line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int perr(struct pstate *s, unsigned long line, const char *fmt, ...)
{
    va_list ap;
    int n = snprintf(s->e->msg, sizeof s->e->msg, "config/%s:%lu: ",
                     file_names[s->file], line);
    if (n < 0 || (size_t)n >= sizeof s->e->msg) n = 0;
    va_start(ap, fmt);
    vsnprintf(s->e->msg + n, sizeof s->e->msg - (size_t)n, fmt, ap);
    va_end(ap);
    errno = EINVAL;
    return -1;
}

static int grow(void **arr, size_t *cap, size_t n, size_t size)
{
    size_t nc, bytes;
    void *p;
    if (n < *cap) return 0;
    nc = *cap ? *cap : 16;
    if (__builtin_mul_overflow(nc, (size_t)2, &nc) ||
        __builtin_mul_overflow(nc, size, &bytes)) {
        errno = ENOMEM;
        return -1;
    }
    p = realloc(*arr, bytes);
    if (!p) return -1;
    *arr = p;
    *cap = nc;
    return 0;
}

static void fold(char *p)
{
    for (; *p; p++)
        if (*p >= 'A' && *p <= 'Z') *p = (char)(*p + 32);
}

static int domain_ok(const char *text, size_t len)
{
    unsigned char buf[PDU_DOMAIN_DER_MAX];
    struct pdu_domain d;
    return pdu_domain_from_text(buf, sizeof buf, text, len, &d) == 0;
}

static int account_ok(const char *name)
{
    return pdu_account_ok((const unsigned char *)name, strlen(name));
}

static int line_domain(struct pstate *s, char **f, int nf)
{
    struct conf *c = s->c;
    if (nf != 1) return perr(s, s->line, "expected one domain per line");
    if (!domain_ok(f[0], strlen(f[0])))
        return perr(s, s->line, "invalid domain '%s'", f[0]);
    fold(f[0]);
    if (grow((void **)&c->dom, &s->cap_dom, c->ndom, sizeof *c->dom) < 0) return -1;
    c->dom[c->ndom].name = f[0];
    c->dom[c->ndom].line = s->line;
    c->ndom++;
    return 0;
}

static int line_account(struct pstate *s, char **f, int nf)
{
    struct conf *c = s->c;
    struct conf_acct a;
    int i;

    memset(&a, 0, sizeof a);
    if (!account_ok(f[0]))
        return perr(s, s->line, "invalid account name '%s'", f[0]);
    a.name = f[0];
    a.line = s->line;
    for (i = 1; i < nf; i++) {
        const char *v = strchr(f[i], '=');
        size_t kl = v ? (size_t)(v - f[i]) : 0;
        if (v && kl == 5 && memcmp(f[i], "quota", 5) == 0) {
            if (a.has_quota) return perr(s, s->line, "quota given twice");
            if (cfg_u64_parse(v + 1, strlen(v + 1), &a.quota) < 0)
                return perr(s, s->line, "invalid quota '%s'", v + 1);
            a.has_quota = 1;
        } else if (v && kl == 6 && memcmp(f[i], "policy", 6) == 0) {
            if (a.has_policy) return perr(s, s->line, "policy given twice");
            if (cfg_policy_parse(v + 1, strlen(v + 1), &a.policy) < 0)
                return perr(s, s->line, "invalid policy '%s' (none or oldest)", v + 1);
            a.has_policy = 1;
        } else {
            return perr(s, s->line, "unknown account setting '%s'", f[i]);
        }
    }
    if (grow((void **)&c->acct, &s->cap_acct, c->nacct, sizeof *c->acct) < 0)
        return -1;
    c->acct[c->nacct++] = a;
    return 0;
}

/* Passwords are attached to accounts after the accounts are sorted; keep
 * them in a side array meanwhile (reusing struct conf_acct). */
struct pwlist {
    struct conf_acct *v;
    size_t n, cap;
};

static int line_password(struct pstate *s, char **f, int nf, struct pwlist *pw)
{
    struct conf_acct a;
    size_t hl;
    if (nf != 2) return perr(s, s->line, "expected ACCOUNT HASH");
    if (!account_ok(f[0]))
        return perr(s, s->line, "invalid account name '%s'", f[0]);
    hl = strlen(f[1]);
    /* never quote a hash back: it is a secret of sorts */
    if (f[1][0] != '$' || hl > MAX_HASH)
        return perr(s, s->line, "the hash of '%s' is not in crypt(3) form", f[0]);
    memset(&a, 0, sizeof a);
    a.name = f[0];
    a.hash = f[1];
    a.hash_line = s->line;
    if (grow((void **)&pw->v, &pw->cap, pw->n, sizeof *pw->v) < 0) return -1;
    pw->v[pw->n++] = a;
    return 0;
}

static int line_mailbox(struct pstate *s, char **f, int nf)
{
    struct conf *c = s->c;
    struct conf_mbox m;
    char *at;
    size_t ll;

    if (nf != 2) return perr(s, s->line, "expected LOCAL@DOMAIN ACCOUNT");
    at = strrchr(f[0], '@');
    if (!at || at == f[0])
        return perr(s, s->line, "invalid mailbox '%s' (LOCAL@DOMAIN)", f[0]);
    ll = (size_t)(at - f[0]);
    if (ll > PDU_MAX_LOCALPART)
        return perr(s, s->line, "local part longer than %d octets", PDU_MAX_LOCALPART);
    if (!domain_ok(at + 1, strlen(at + 1)))
        return perr(s, s->line, "invalid domain '%s'", at + 1);
    if (!account_ok(f[1]))
        return perr(s, s->line, "invalid account name '%s'", f[1]);
    *at = 0;
    fold(at + 1);
    memset(&m, 0, sizeof m);
    m.local = f[0];
    m.llen = ll;
    m.prefix = f[0][ll - 1] == '-';
    m.domain = at + 1;
    m.acct = f[1];
    m.line = s->line;
    if (grow((void **)&c->mbox, &s->cap_mbox, c->nmbox, sizeof *c->mbox) < 0)
        return -1;
    c->mbox[c->nmbox++] = m;
    return 0;
}

static int line_filter(struct pstate *s, char **f, int nf)
{
    struct conf *c = s->c;
    struct conf_filter x;
    struct cfg_filter cf;
    char buf[16 + PDU_MAX_SENDER + 1];
    int n;

    if (nf != 3) return perr(s, s->line, "expected OWNER KIND ARGUMENT");
    if (strcmp(f[0], "*") != 0 && !account_ok(f[0]))
        return perr(s, s->line, "invalid account name '%s'", f[0]);
    n = snprintf(buf, sizeof buf, "%s %s", f[1], f[2]);
    if (n < 0 || (size_t)n >= sizeof buf ||
        cfg_filter_parse(buf, (size_t)n, &cf) < 0)
        return perr(s, s->line, "invalid filter '%s %s'", f[1], f[2]);
    if (cf.kind == CFG_F_STORE &&
        !domain_ok(cf.text + cf.suffix, cf.tlen - (size_t)cf.suffix))
        return perr(s, s->line, "invalid store domain '%s'", f[2]);
    if (cf.kind == CFG_F_SENDER && cf.suffix && !domain_ok(f[2] + 1, strlen(f[2] + 1)))
        return perr(s, s->line, "invalid sender domain '%s'", f[2]);
    x.owner = strcmp(f[0], "*") == 0 ? "" : f[0];
    x.kind = f[1];
    x.arg = f[2];
    x.line = s->line;
    if (grow((void **)&c->filt, &s->cap_filt, c->nfilt, sizeof *c->filt) < 0)
        return -1;
    c->filt[c->nfilt++] = x;
    return 0;
}

static int line_setting(struct pstate *s, char **f, int nf)
{
    struct conf *c = s->c;
    int k;
    uint64_t v;
    if (nf != 2) return perr(s, s->line, "expected NAME VALUE");
    k = conf_setting_find(f[0]);
    if (k < 0) return perr(s, s->line, "unknown setting '%s'", f[0]);
    if (c->has_set[k])
        return perr(s, s->line, "duplicate setting '%s' (also on line %lu)", f[0],
                    c->set_line[k]);
    if (conf_setting_parse(k, f[1], strlen(f[1]), &v) < 0)
        return perr(s, s->line, "invalid value '%s' for %s", f[1], f[0]);
    c->has_set[k] = 1;
    c->set[k] = v;
    c->set_line[k] = s->line;
    return 0;
}

/* Split one file's copy into lines and fields; call the line parser. */
static int parse_file(struct pstate *s, char *p, size_t n, struct pwlist *pw)
{
    size_t i = 0;
    s->line = 0;
    while (i < n) {
        char *line = p + i, *f[MAX_FIELDS + 1];
        char *nl = memchr(line, '\n', n - i);
        size_t len = nl ? (size_t)(nl - line) : n - i;
        size_t k;
        int nf = 0, r;

        s->line++;
        i += len + 1;
        line[len] = 0;
        if (memchr(line, 0, len))
            return perr(s, s->line, "NUL octet in line");
        /* blanks are field separators; everything else must be printable
         * UTF-8 (no CR, no controls) */
        for (k = 0; k < len; k++)
            if (line[k] == '\t') line[k] = ' ';
        if (!pdu_utf8_ok((const unsigned char *)line, len))
            return perr(s, s->line, "control octet or invalid UTF-8");
        for (k = 0; k < len;) {
            while (k < len && line[k] == ' ') line[k++] = 0;
            if (k == len) break;
            if (nf == 0 && line[k] == '#') break;
            if (nf == MAX_FIELDS) return perr(s, s->line, "too many fields");
            f[nf++] = line + k;
            while (k < len && line[k] != ' ') k++;
        }
        if (nf == 0) continue;
        switch (s->file) {
        case CONF_DOMAINS: r = line_domain(s, f, nf); break;
        case CONF_ACCOUNTS: r = line_account(s, f, nf); break;
        case CONF_PASSWORDS: r = line_password(s, f, nf, pw); break;
        case CONF_MAILBOXES: r = line_mailbox(s, f, nf); break;
        case CONF_FILTERS: r = line_filter(s, f, nf); break;
        default: r = line_setting(s, f, nf); break;
        }
        if (r < 0) return -1;
    }
    return 0;
}

static int cmp_dom(const void *a, const void *b)
{
    const struct conf_domain *x = a, *y = b;
    int r = strcmp(x->name, y->name);
    if (r) return r;
    return x->line < y->line ? -1 : x->line > y->line;
}

static int cmp_acct(const void *a, const void *b)
{
    const struct conf_acct *x = a, *y = b;
    int r = strcmp(x->name, y->name);
    if (r) return r;
    if (x->line != y->line) return x->line < y->line ? -1 : 1;
    return x->hash_line < y->hash_line ? -1 : x->hash_line > y->hash_line;
}

static int cmp_local(const struct conf_mbox *x, const struct conf_mbox *y)
{
    size_t n = x->llen < y->llen ? x->llen : y->llen;
    int r = memcmp(x->local, y->local, n);
    if (r) return r;
    return x->llen < y->llen ? -1 : x->llen > y->llen;
}

static int cmp_mbox(const void *a, const void *b)
{
    const struct conf_mbox *x = a, *y = b;
    int r = strcmp(x->domain, y->domain);
    if (r) return r;
    if (x->prefix != y->prefix) return x->prefix - y->prefix;
    r = cmp_local(x, y);
    if (r) return r;
    return x->line < y->line ? -1 : x->line > y->line;
}

static int cmp_filt_dup(const void *a, const void *b)
{
    const struct conf_filter *x = a, *y = b;
    int r = strcmp(x->owner, y->owner);
    if (r == 0) r = strcmp(x->kind, y->kind);
    if (r == 0) r = strcmp(x->arg, y->arg);
    if (r) return r;
    return x->line < y->line ? -1 : x->line > y->line;
}

static int cmp_filt(const void *a, const void *b)
{
    const struct conf_filter *x = a, *y = b;
    int r = strcmp(x->owner, y->owner);
    if (r) return r;
    return x->line < y->line ? -1 : x->line > y->line;
}

const struct conf_acct *conf_find_acct(const struct conf *c, const char *name)
{
    size_t lo = 0, hi = c->nacct;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int r = strcmp(name, c->acct[mid].name);
        if (r == 0) return &c->acct[mid];
        if (r < 0) hi = mid;
        else lo = mid + 1;
    }
    return NULL;
}

const struct conf_domain *conf_find_domain(const struct conf *c,
                                           const char *folded)
{
    size_t lo = 0, hi = c->ndom;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int r = strcmp(folded, c->dom[mid].name);
        if (r == 0) return &c->dom[mid];
        if (r < 0) hi = mid;
        else lo = mid + 1;
    }
    return NULL;
}

/* qsort must not see a NULL array, even of no elements */
static void sort(void *v, size_t n, size_t size, int (*cmp)(const void *, const void *))
{
    if (n > 1) qsort(v, n, size, cmp);
}

/* Cross-checks, on sorted arrays; the first problem found is reported. */
static int check(struct pstate *s, struct pwlist *pw)
{
    struct conf *c = s->c;
    size_t i, j;

    s->file = CONF_DOMAINS;
    sort(c->dom, c->ndom, sizeof *c->dom, cmp_dom);
    for (i = 1; i < c->ndom; i++)
        if (strcmp(c->dom[i].name, c->dom[i - 1].name) == 0)
            return perr(s, c->dom[i].line, "duplicate domain '%s' (also on line %lu)",
                        c->dom[i].name, c->dom[i - 1].line);

    s->file = CONF_ACCOUNTS;
    sort(c->acct, c->nacct, sizeof *c->acct, cmp_acct);
    for (i = 1; i < c->nacct; i++)
        if (strcmp(c->acct[i].name, c->acct[i - 1].name) == 0)
            return perr(s, c->acct[i].line, "duplicate account '%s' (also on line %lu)",
                        c->acct[i].name, c->acct[i - 1].line);

    s->file = CONF_PASSWORDS;
    sort(pw->v, pw->n, sizeof *pw->v, cmp_acct);
    for (i = 0; i < pw->n; i++) {
        struct conf_acct *a;
        if (i > 0 && strcmp(pw->v[i].name, pw->v[i - 1].name) == 0)
            return perr(s, pw->v[i].hash_line,
                        "duplicate account '%s' (also on line %lu)", pw->v[i].name,
                        pw->v[i - 1].hash_line);
        a = (struct conf_acct *)conf_find_acct(c, pw->v[i].name);
        if (!a)
            return perr(s, pw->v[i].hash_line, "unknown account '%s'", pw->v[i].name);
        a->hash = pw->v[i].hash;
        a->hash_line = pw->v[i].hash_line;
    }

    s->file = CONF_MAILBOXES;
    sort(c->mbox, c->nmbox, sizeof *c->mbox, cmp_mbox);
    for (i = 0; i < c->nmbox; i++) {
        const struct conf_mbox *m = &c->mbox[i];
        if (i > 0 && strcmp(m->domain, m[-1].domain) == 0 &&
            m->prefix == m[-1].prefix && cmp_local(m, &m[-1]) == 0)
            return perr(s, m->line, "duplicate mailbox '%s@%s' (also on line %lu)",
                        m->local, m->domain, m[-1].line);
        if (!conf_find_domain(c, m->domain))
            return perr(s, m->line, "domain '%s' is not served (config/domains)",
                        m->domain);
        if (!conf_find_acct(c, m->acct))
            return perr(s, m->line, "unknown account '%s'", m->acct);
    }

    s->file = CONF_FILTERS;
    sort(c->filt, c->nfilt, sizeof *c->filt, cmp_filt_dup);
    for (i = 0; i < c->nfilt; i = j) {
        const struct conf_filter *f = &c->filt[i];
        if (f->owner[0] && !conf_find_acct(c, f->owner))
            return perr(s, f->line, "unknown account '%s'", f->owner);
        for (j = i + 1; j < c->nfilt && strcmp(c->filt[j].owner, f->owner) == 0; j++)
            if (strcmp(c->filt[j].kind, c->filt[j - 1].kind) == 0 &&
                strcmp(c->filt[j].arg, c->filt[j - 1].arg) == 0)
                return perr(s, c->filt[j].line,
                            "duplicate filter '%s %s' (also on line %lu)",
                            c->filt[j].kind, c->filt[j].arg, c->filt[j - 1].line);
        if (j - i > CFG_MAX_FILTERS)
            return perr(s, c->filt[i + CFG_MAX_FILTERS].line,
                        "more than %d filters for %s", CFG_MAX_FILTERS,
                        f->owner[0] ? f->owner : "*");
    }
    sort(c->filt, c->nfilt, sizeof *c->filt, cmp_filt);
    return 0;
}

int conf_parse(struct conf *out, const struct conf_text t[CONF_NFILES],
               struct conf_err *e)
{
    struct conf c;
    struct pstate s;
    struct pwlist pw;
    int i, err;

    memset(&c, 0, sizeof c);
    memset(&s, 0, sizeof s);
    memset(&pw, 0, sizeof pw);
    memset(out, 0, sizeof *out);
    e->msg[0] = 0;
    s.c = &c;
    s.e = e;
    for (i = 0; i < CONF_NFILES; i++) {
        size_t n = t[i].p ? t[i].n : 0;
        c.buf[i] = malloc(n + 1);
        if (!c.buf[i]) goto fail;
        if (n) memcpy(c.buf[i], t[i].p, n);
        c.buf[i][n] = 0;
        s.file = i;
        if (parse_file(&s, c.buf[i], n, &pw) < 0) goto fail;
    }
    if (check(&s, &pw) < 0) goto fail;
    free(pw.v);
    *out = c;
    return 0;
fail:
    err = errno;
    free(pw.v);
    conf_free(&c);
    if (err == EINVAL && !e->msg[0])
        snprintf(e->msg, sizeof e->msg, "invalid configuration");
    errno = err;
    return -1;
}

void conf_free(struct conf *c)
{
    int i;
    for (i = 0; i < CONF_NFILES; i++) free(c->buf[i]);
    free(c->dom);
    free(c->acct);
    free(c->mbox);
    free(c->filt);
    memset(c, 0, sizeof *c);
}

/* ---- compiling ---- */

/* A growing byte buffer for keys and values. */
struct bytes {
    char *p;
    size_t n, cap;
};

static int put(struct bytes *b, const void *p, size_t n)
{
    if (n > b->cap - b->n) {
        size_t nc = b->cap ? b->cap : 256;
        char *q;
        while (nc - b->n < n)
            if (__builtin_mul_overflow(nc, (size_t)2, &nc)) {
                errno = ENOMEM;
                return -1;
            }
        q = realloc(b->p, nc);
        if (!q) return -1;
        b->p = q;
        b->cap = nc;
    }
    if (n) memcpy(b->p + b->n, p, n);
    b->n += n;
    return 0;
}

static int puts_(struct bytes *b, const char *s)
{
    return put(b, s, strlen(s));
}

static int add(struct cdb_make *cm, const struct bytes *k, const struct bytes *v)
{
    if (k->n > 0xffffffu || v->n > 0xffffffu) {
        errno = E2BIG;
        return -1;
    }
    return cdb_make_add(cm, k->p, (unsigned)k->n, v->n ? v->p : "", (unsigned)v->n);
}

static int build_store(const struct conf *c, struct cdb_make *cm)
{
    struct bytes k = {NULL, 0, 0}, v = {NULL, 0, 0};
    size_t i, j;
    int L, e;

    for (i = 0; i < c->ndom; i++) {
        k.n = v.n = 0;
        if (puts_(&k, "domain:") < 0 || puts_(&k, c->dom[i].name) < 0 ||
            add(cm, &k, &v) < 0)
            goto fail;
    }
    /* mailboxes are sorted by domain, exact before prefix */
    for (i = 0; i < c->nmbox; i = j) {
        int seen[PDU_MAX_LOCALPART + 1];
        int any = 0;
        memset(seen, 0, sizeof seen);
        for (j = i; j < c->nmbox && strcmp(c->mbox[j].domain, c->mbox[i].domain) == 0;
             j++) {
            const struct conf_mbox *m = &c->mbox[j];
            k.n = v.n = 0;
            if (puts_(&k, m->prefix ? "prefix:" : "mbox:") < 0 ||
                put(&k, m->domain, strlen(m->domain) + 1) < 0 || /* with its NUL */
                put(&k, m->local, m->llen) < 0 || puts_(&v, m->acct) < 0 ||
                add(cm, &k, &v) < 0)
                goto fail;
            if (m->prefix) seen[m->llen] = any = 1;
        }
        if (!any) continue;
        k.n = v.n = 0;
        if (puts_(&k, "plen:") < 0 || puts_(&k, c->mbox[i].domain) < 0) goto fail;
        for (L = PDU_MAX_LOCALPART; L > 0; L--) {
            char num[16];
            if (!seen[L]) continue;
            snprintf(num, sizeof num, v.n ? " %d" : "%d", L);
            if (puts_(&v, num) < 0) goto fail;
        }
        if (add(cm, &k, &v) < 0) goto fail;
    }
    for (i = 0; i < c->nacct; i++) {
        const struct conf_acct *a = &c->acct[i];
        char num[64];
        k.n = v.n = 0;
        if (puts_(&k, "acct:") < 0 || puts_(&k, a->name) < 0) goto fail;
        if (a->has_quota) {
            snprintf(num, sizeof num, "quota=%llu", (unsigned long long)a->quota);
            if (puts_(&v, num) < 0) goto fail;
        }
        if (a->has_policy) {
            snprintf(num, sizeof num, "%spolicy=%s", v.n ? " " : "",
                     a->policy == CFG_POLICY_OLDEST ? "oldest" : "none");
            if (puts_(&v, num) < 0) goto fail;
        }
        if (add(cm, &k, &v) < 0) goto fail;
    }
    /* filters are sorted by owner, global ("") first */
    for (i = 0; i < c->nfilt; i = j) {
        k.n = v.n = 0;
        if (puts_(&k, "filter:") < 0 || puts_(&k, c->filt[i].owner) < 0) goto fail;
        for (j = i; j < c->nfilt && strcmp(c->filt[j].owner, c->filt[i].owner) == 0;
             j++) {
            if ((v.n && put(&v, "\n", 1) < 0) || puts_(&v, c->filt[j].kind) < 0 ||
                put(&v, " ", 1) < 0 || puts_(&v, c->filt[j].arg) < 0)
                goto fail;
        }
        if (add(cm, &k, &v) < 0) goto fail;
    }
    for (L = 0; L < CONF_NSETTINGS; L++) {
        char val[32];
        if (!c->has_set[L]) continue;
        k.n = v.n = 0;
        conf_setting_text(L, c->set[L], val);
        if (puts_(&k, "set:") < 0 || puts_(&k, set_names[L]) < 0 ||
            puts_(&v, val) < 0 || add(cm, &k, &v) < 0)
            goto fail;
    }
    free(k.p);
    free(v.p);
    return 0;
fail:
    e = errno;
    free(k.p);
    free(v.p);
    errno = e;
    return -1;
}

static int build_auth(const struct conf *c, struct cdb_make *cm)
{
    size_t i;
    for (i = 0; i < c->nacct; i++) {
        const struct conf_acct *a = &c->acct[i];
        if (!a->hash) continue; /* an account without a password cannot log in */
        if (cdb_make_add(cm, a->name, (unsigned)strlen(a->name), a->hash,
                         (unsigned)strlen(a->hash)) < 0)
            return -1;
    }
    return 0;
}

int conf_build(const struct conf *c, const char *dir, struct conf_out *o)
{
    static const char *const names[2] = {"store.cdb", "auth.cdb"};
    static const mode_t modes[2] = {0644, 0640};
    int i, e;

    o->fd[0] = o->fd[1] = -1;
    for (i = 0; i < 2; i++) {
        struct cdb_make cm;
        int r;
        if ((size_t)snprintf(o->path[i], sizeof o->path[i], "%s/config/%s", dir,
                             names[i]) >= sizeof o->path[i]) {
            errno = ENAMETOOLONG;
            goto fail;
        }
        o->fd[i] = atomic_begin(o->path[i], o->tmp[i], sizeof o->tmp[i]);
        if (o->fd[i] < 0) goto fail;
        if (fchmod(o->fd[i], modes[i]) < 0 || cdb_make_start(&cm, o->fd[i]) < 0)
            goto fail;
        r = i == 0 ? build_store(c, &cm) : build_auth(c, &cm);
        e = errno;
        if (cdb_make_finish(&cm) < 0 || r < 0) {
            if (r < 0) errno = e;
            goto fail;
        }
    }
    return 0;
fail:
    conf_abort(o);
    return -1;
}

int conf_commit(struct conf_out *o)
{
    int i;
    for (i = 0; i < 2; i++) {
        int fd = o->fd[i];
        o->fd[i] = -1;
        if (atomic_commit(fd, o->tmp[i], o->path[i]) < 0) {
            conf_abort(o);
            return -1;
        }
    }
    return 0;
}

void conf_abort(struct conf_out *o)
{
    int i;
    for (i = 0; i < 2; i++) {
        if (o->fd[i] >= 0) atomic_abort(o->fd[i], o->tmp[i]);
        o->fd[i] = -1;
    }
}
