/*
 * cfg: lookups in the compiled configuration. See cfg.h and
 * doc/config-cdb.md. Every value read from the cdb is bounded and parsed
 * completely; nothing here trusts the file.
 */
#include "cfg.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define KEY_MAX (16 + PDU_MAX_DOMAIN_TEXT + 1 + PDU_MAX_LOCALPART)

int cfg_u64_parse(const char *s, size_t len, uint64_t *out)
{
    uint64_t v = 0;
    size_t i;
    if (len == 0 || len > 20) return -1;
    for (i = 0; i < len; i++) {
        unsigned d;
        if (s[i] < '0' || s[i] > '9') return -1;
        d = (unsigned)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10) return -1;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

int cfg_policy_parse(const char *s, size_t len, int *out)
{
    if (len == 4 && memcmp(s, "none", 4) == 0) *out = CFG_POLICY_NONE;
    else if (len == 6 && memcmp(s, "oldest", 6) == 0) *out = CFG_POLICY_OLDEST;
    else return -1;
    return 0;
}

/* Fetch the value of key into buf (at most cap octets). 1 found, 0 not
 * found, -1 error (corrupt cdb, value too long: EPROTO). */
static int get(struct cfg *c, const char *key, size_t klen, char *buf,
               size_t cap, size_t *vlen)
{
    int r = cdb_find(&c->cdb, key, (unsigned)klen);
    unsigned n;
    if (r < 0) {
        errno = EPROTO;
        return -1;
    }
    if (r == 0) return 0;
    n = cdb_datalen(&c->cdb);
    if (n > cap) {
        errno = EPROTO;
        return -1;
    }
    if (cdb_read(&c->cdb, buf, n, cdb_datapos(&c->cdb)) < 0) {
        errno = EPROTO;
        return -1;
    }
    *vlen = n;
    return 1;
}

/* The value of set:NAME into val (32 octets). 1 found, 0 not, -1 error. */
static int get_setting(struct cfg *c, const char *name, char *val, size_t *vl)
{
    char key[64];
    size_t kl = strlen(name);
    memcpy(key, "set:", 4);
    memcpy(key + 4, name, kl);
    return get(c, key, kl + 4, val, 32, vl);
}

static int get_setting_u64(struct cfg *c, const char *name, uint64_t *v)
{
    char val[32];
    size_t vl;
    int r = get_setting(c, name, val, &vl);
    if (r > 0 && cfg_u64_parse(val, vl, v) < 0) {
        errno = EPROTO;
        return -1;
    }
    return r;
}

static int get_setting_policy(struct cfg *c, const char *name, int *p)
{
    char val[32];
    size_t vl;
    int r = get_setting(c, name, val, &vl);
    if (r > 0 && cfg_policy_parse(val, vl, p) < 0) {
        errno = EPROTO;
        return -1;
    }
    return r;
}

/* Parse newline-separated filter lines into out[max]. */
static int parse_filters(const char *v, size_t vl, struct cfg_filter *out,
                         size_t max)
{
    size_t i = 0, n = 0;
    while (i < vl) {
        size_t j = i;
        while (j < vl && v[j] != '\n') j++;
        if (j > i) {
            if (n >= max || cfg_filter_parse(v + i, j - i, &out[n]) < 0) {
                errno = EPROTO;
                return -1;
            }
            n++;
        }
        i = j + 1;
    }
    return (int)n;
}

#define FILTERS_VAL_MAX (CFG_MAX_FILTERS * (PDU_MAX_SENDER + 16))

static int load_filters(struct cfg *c, const char *acct, size_t alen,
                        struct cfg_filter *out, size_t max)
{
    char key[8 + PDU_MAX_ACCOUNT];
    size_t vl;
    int r;

    if (alen > PDU_MAX_ACCOUNT) return 0;
    memcpy(key, "filter:", 7);
    memcpy(key + 7, acct, alen);
    r = get(c, key, 7 + alen, c->scratch, FILTERS_VAL_MAX, &vl);
    if (r > 0) r = parse_filters(c->scratch, vl, out, max);
    return r;
}

int cfg_open(struct cfg *c, const char *path)
{
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    int r, e;
    struct cfg n;

    if (fd < 0) return -1;
    memset(&n, 0, sizeof n);
    if (fstat(fd, &st) < 0 || cdb_init(&n.cdb, fd) < 0) {
        e = errno ? errno : EPROTO;
        close(fd);
        errno = e;
        return -1;
    }
    n.fd = fd;
    n.dev = st.st_dev;
    n.ino = st.st_ino;
    n.mtime = st.st_mtim;
    n.lim.quota_total = CFG_DEF_QUOTA_TOTAL;
    n.lim.quota_account = CFG_DEF_QUOTA_ACCOUNT;
    n.lim.policy_total = CFG_POLICY_NONE;
    n.lim.policy_account = CFG_POLICY_NONE;
    n.lim.expire = CFG_DEF_EXPIRE;
    n.lim.sync = 1;
    {
        uint64_t s = 1;
        if (get_setting_u64(&n, "quota-total", &n.lim.quota_total) < 0 ||
            get_setting_u64(&n, "quota-account", &n.lim.quota_account) < 0 ||
            get_setting_policy(&n, "policy-total", &n.lim.policy_total) < 0 ||
            get_setting_policy(&n, "policy-account", &n.lim.policy_account) < 0 ||
            get_setting_u64(&n, "expire", &n.lim.expire) < 0 ||
            get_setting_u64(&n, "sync", &s) < 0 || s > 1)
            goto broken;
        n.lim.sync = (int)s;
    }
    n.global = calloc(CFG_MAX_FILTERS, sizeof *n.global);
    n.scratch = malloc(FILTERS_VAL_MAX);
    if (!n.global || !n.scratch) goto fail;
    r = load_filters(&n, "", 0, n.global, CFG_MAX_FILTERS);
    if (r < 0) goto broken;
    n.nglobal = (size_t)r;
    *c = n;
    return 0;
broken:
    errno = EPROTO;
fail:
    e = errno;
    free(n.global);
    free(n.scratch);
    cdb_free(&n.cdb);
    close(fd);
    errno = e;
    return -1;
}

void cfg_close(struct cfg *c)
{
    free(c->global);
    free(c->scratch);
    c->global = NULL;
    c->scratch = NULL;
    cdb_free(&c->cdb);
    if (c->fd >= 0) close(c->fd);
    c->fd = -1;
}

int cfg_changed(const struct cfg *c, const char *path)
{
    struct stat st;
    if (stat(path, &st) < 0) return 1;
    return st.st_dev != c->dev || st.st_ino != c->ino ||
           st.st_mtim.tv_sec != c->mtime.tv_sec ||
           st.st_mtim.tv_nsec != c->mtime.tv_nsec;
}

static int valid_account(const char *p, size_t n)
{
    return pdu_account_ok((const unsigned char *)p, n);
}

int cfg_route(struct cfg *c, const struct pdu_str *lp,
              const struct pdu_domain *domain, char *acct, size_t *acctlen)
{
    char dom[PDU_MAX_DOMAIN_TEXT];
    char key[KEY_MAX];
    char val[128];
    size_t dl, kl, vl, pos;
    int r;

    dl = pdu_domain_text(domain, dom, 1);
    /* served domain? */
    memcpy(key, "domain:", 7);
    memcpy(key + 7, dom, dl);
    r = get(c, key, 7 + dl, val, sizeof val, &vl);
    if (r <= 0) return r;
    /* exact mailbox */
    memcpy(key, "mbox:", 5);
    memcpy(key + 5, dom, dl);
    key[5 + dl] = 0;
    memcpy(key + 6 + dl, lp->p, lp->len);
    kl = 6 + dl + lp->len;
    r = get(c, key, kl, val, PDU_MAX_ACCOUNT, &vl);
    if (r < 0) return -1;
    if (r == 0) {
        /* prefixes, longest first: plen holds their lengths, descending */
        char lens[1024];
        size_t ll;
        memcpy(key, "plen:", 5);
        memcpy(key + 5, dom, dl);
        r = get(c, key, 5 + dl, lens, sizeof lens, &ll);
        if (r <= 0) return r;
        memcpy(key, "prefix:", 7);
        memcpy(key + 7, dom, dl);
        key[7 + dl] = 0;
        pos = 0;
        r = 0;
        while (pos < ll && r == 0) {
            size_t e = pos;
            uint64_t L;
            while (e < ll && lens[e] != ' ') e++;
            if (cfg_u64_parse(lens + pos, e - pos, &L) < 0 || L == 0 ||
                L > PDU_MAX_LOCALPART) {
                errno = EPROTO;
                return -1;
            }
            pos = e + 1;
            if (L > lp->len) continue;
            memcpy(key + 8 + dl, lp->p, (size_t)L);
            r = get(c, key, 8 + dl + (size_t)L, val, PDU_MAX_ACCOUNT, &vl);
            if (r < 0) return -1;
        }
        if (r == 0) return 0;
    }
    if (!valid_account(val, vl)) {
        errno = EPROTO;
        return -1;
    }
    memcpy(acct, val, vl);
    acct[vl] = 0;
    *acctlen = vl;
    return 1;
}

int cfg_account(struct cfg *c, const char *acct, size_t len,
                struct cfg_acct *out)
{
    char key[8 + PDU_MAX_ACCOUNT];
    char val[256];
    size_t vl, i = 0;
    int r;
    struct cfg_acct a;

    a.quota = c->lim.quota_account;
    a.policy = c->lim.policy_account;
    if (len > PDU_MAX_ACCOUNT) {
        errno = EINVAL;
        return -1;
    }
    memcpy(key, "acct:", 5);
    memcpy(key + 5, acct, len);
    r = get(c, key, 5 + len, val, sizeof val, &vl);
    if (r < 0) return -1;
    while (r > 0 && i < vl) {
        size_t j = i, eq;
        while (j < vl && val[j] != ' ') j++;
        for (eq = i; eq < j && val[eq] != '='; eq++) {}
        if (eq == j) goto broken;
        if (eq - i == 5 && memcmp(val + i, "quota", 5) == 0) {
            if (cfg_u64_parse(val + eq + 1, j - eq - 1, &a.quota) < 0) goto broken;
        } else if (eq - i == 6 && memcmp(val + i, "policy", 6) == 0) {
            if (cfg_policy_parse(val + eq + 1, j - eq - 1, &a.policy) < 0)
                goto broken;
        } else {
            goto broken;
        }
        i = j + 1;
    }
    *out = a;
    return 0;
broken:
    errno = EPROTO;
    return -1;
}

int cfg_account_filters(struct cfg *c, const char *acct, size_t len,
                        struct cfg_filter *out, size_t max)
{
    if (len == 0) return 0;
    return load_filters(c, acct, len, out, max);
}

/* ---- filters ---- */

static int lcmp(const char *a, const unsigned char *b, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++) {
        unsigned char x = (unsigned char)a[i], y = b[i];
        if (x >= 'A' && x <= 'Z') x = (unsigned char)(x + 32);
        if (y >= 'A' && y <= 'Z') y = (unsigned char)(y + 32);
        if (x != y) return 1;
    }
    return 0;
}

int cfg_filter_parse(const char *line, size_t len, struct cfg_filter *f)
{
    size_t sp;
    const char *arg;
    size_t alen;

    memset(f, 0, sizeof *f);
    for (sp = 0; sp < len && line[sp] != ' '; sp++) {}
    if (sp + 1 >= len) goto inval;
    arg = line + sp + 1;
    alen = len - sp - 1;
    if (sp == 9 && memcmp(line, "submitter", 9) == 0) {
        char buf[64];
        size_t slash;
        uint64_t bits;
        for (slash = 0; slash < alen && arg[slash] != '/'; slash++) {}
        if (slash == alen || slash >= sizeof buf) goto inval;
        memcpy(buf, arg, slash);
        buf[slash] = 0;
        if (inet_pton(AF_INET, buf, f->ip) == 1) f->v6 = 0;
        else if (inet_pton(AF_INET6, buf, f->ip) == 1) f->v6 = 1;
        else goto inval;
        if (cfg_u64_parse(arg + slash + 1, alen - slash - 1, &bits) < 0 ||
            bits > (f->v6 ? 128u : 32u))
            goto inval;
        f->prefix = (unsigned)bits;
        f->kind = CFG_F_SUBMITTER;
    } else if (sp == 5 && memcmp(line, "store", 5) == 0) {
        f->suffix = arg[0] == '.';
        if (alen - (size_t)f->suffix < 1 || alen > PDU_MAX_DOMAIN_TEXT + 1) goto inval;
        memcpy(f->text, arg, alen);
        f->tlen = alen;
        f->kind = CFG_F_STORE;
    } else if (sp == 6 && memcmp(line, "sender", 6) == 0) {
        f->suffix = arg[0] == '@';
        if (alen - (size_t)f->suffix < 1 || alen > PDU_MAX_SENDER) goto inval;
        if (!pdu_utf8_ok((const unsigned char *)arg, alen)) goto inval;
        memcpy(f->text, arg, alen);
        f->tlen = alen;
        f->kind = CFG_F_SENDER;
    } else if (sp == 4 && memcmp(line, "size", 4) == 0) {
        if (cfg_u64_parse(arg, alen, &f->size) < 0) goto inval;
        f->kind = CFG_F_SIZE;
    } else {
        goto inval;
    }
    return 0;
inval:
    errno = EINVAL;
    return -1;
}

static int prefix_match(const unsigned char *a, const unsigned char *b,
                        unsigned bits)
{
    unsigned full = bits / 8, rest = bits % 8;
    if (memcmp(a, b, full)) return 0;
    if (rest) {
        unsigned char m = (unsigned char)(0xff << (8 - rest));
        if ((a[full] & m) != (b[full] & m)) return 0;
    }
    return 1;
}

static int store_match(const struct cfg_filter *f, const struct pdu_loc *l)
{
    char dom[PDU_MAX_DOMAIN_TEXT];
    size_t dl;
    if (l->kind != PDU_LOC_DOMAIN) return 0;
    dl = pdu_domain_text(&l->domain, dom, 1);
    if (!f->suffix)
        return dl == f->tlen && lcmp(f->text, (unsigned char *)dom, dl) == 0;
    /* ".example.org" matches example.org itself and every name below it */
    if (dl == f->tlen - 1 && lcmp(f->text + 1, (unsigned char *)dom, dl) == 0)
        return 1;
    return dl > f->tlen &&
           lcmp(f->text, (unsigned char *)dom + dl - f->tlen, f->tlen) == 0;
}

int cfg_filter_match(const struct cfg_filter *f, const struct pdu_notif *n,
                     const struct pdu_ipport *s)
{
    switch (f->kind) {
    case CFG_F_SUBMITTER:
        return s->v6 == f->v6 && prefix_match(s->ip, f->ip, f->prefix);
    case CFG_F_STORE:
        return store_match(f, &n->clear) ||
               (n->ssl.kind != PDU_LOC_NONE && store_match(f, &n->ssl));
    case CFG_F_SENDER:
        if (f->suffix) {
            /* "@example.net": the sender's domain, after its last '@' */
            size_t at = n->sender.len;
            while (at > 0 && n->sender.p[at - 1] != '@') at--;
            if (at == 0) return 0;
            return n->sender.len - at == f->tlen - 1 &&
                   lcmp(f->text + 1, n->sender.p + at, f->tlen - 1) == 0;
        }
        return n->sender.len == f->tlen &&
               lcmp(f->text, n->sender.p, f->tlen) == 0;
    case CFG_F_SIZE:
        return n->has_size && n->size > f->size;
    default:
        return 0;
    }
}
