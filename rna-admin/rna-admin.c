/*
 * rna-admin [-d DIR] COMMAND ...: keep an agent's configuration.
 *
 * The configuration is text under DIR/config/ (doc/config.md). Every
 * change is made to a copy of the texts in memory, validated and compiled
 * as a whole (lib/conf), and only then are the changed text files and
 * the two cdb files put in place, each by an atomic rename: a refused
 * change leaves every file as it was. Changes are serialised by an
 * exclusive flock on DIR/config. After a compile the running store is
 * asked to reload; rnaqp-d opens auth.cdb afresh per session.
 *
 * Passwords come from stdin or --fd N, never from argv, and are kept only
 * as yescrypt hashes (PROTOCOL.md 5.2). Output is for scripts: one record
 * per line, tab-separated, sorted.
 *
 * Exit codes: 0 done; 100 usage or refused input (the message names the
 * file, line and reason); 111 temporary (I/O, memory, store unreachable).
 */
#include <crypt.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>
#include <dirent.h>

#include "atomic.h"
#include "cfg.h"
#include "conf.h"
#include "die.h"
#include "frame.h"
#include "pdu.h"
#include "storec.h"

#define PROG "rna-admin"
#define STORE_WAIT_MS 10000

struct admin {
    const char *dir;
    int lockfd;
    struct conf_text t[CONF_NFILES];  /* the texts as read */
    struct conf_text nt[CONF_NFILES]; /* edited copies, p NULL if unchanged */
    struct conf c;                    /* the texts as read, parsed */
    struct conf c2;                   /* the edited texts, parsed */
    char pw[PDU_MAX_PASSWORD + 2];
};

static _Noreturn void usage(void)
{
    die_exit(PROG, 100, "usage: " PROG " [-d DIR] init [-f] | compile"
             " | domain add|del DOMAIN | domain list"
             " | mailbox add LOCAL@DOMAIN ACCOUNT | mailbox del LOCAL@DOMAIN"
             " | mailbox list [ACCOUNT]"
             " | account add ACCOUNT [quota=N] [policy=P] [--fd N]"
             " | account passwd ACCOUNT [--fd N] | account del ACCOUNT | account list"
             " | filter add|del [-a ACCOUNT] KIND ARG | filter list [-a ACCOUNT]"
             " | set [-a ACCOUNT] NAME VALUE | get [-a ACCOUNT] [NAME]"
             " | stats [--json] [--accounts|ACCOUNT]");
}

static void cleanup(struct admin *a)
{
    conf_text_free(a->t);
    conf_text_free(a->nt);
    conf_free(&a->c);
    conf_free(&a->c2);
    if (a->lockfd >= 0) close(a->lockfd);
    a->lockfd = -1;
    explicit_bzero(a->pw, sizeof a->pw);
}

/* An argument that becomes one field of a text line: printable, no
 * blanks, so that it can neither split a line nor add one. */
static void need_field(const char *what, const char *s)
{
    size_t i, n = strlen(s);
    if (n == 0 || !pdu_utf8_ok((const unsigned char *)s, n))
        die_exit(PROG, 100, "invalid %s", what);
    for (i = 0; i < n; i++)
        if (s[i] == ' ') die_exit(PROG, 100, "invalid %s: contains a blank", what);
    if (s[0] == '#') die_exit(PROG, 100, "invalid %s: begins with '#'", what);
}

static void need_account(const char *s)
{
    if (!pdu_account_ok((const unsigned char *)s, strlen(s)))
        die_exit(PROG, 100, "invalid account name '%s'",
            pdu_utf8_ok((const unsigned char *)s, strlen(s)) ? s : "?");
}

/* ---- loading and locking ---- */

static void lock(struct admin *a, int how)
{
    char path[4096];
    if ((size_t)snprintf(path, sizeof path, "%s/config", a->dir) >= sizeof path)
        die_exit(PROG, 100, "directory name too long");
    a->lockfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (a->lockfd < 0) {
        if (errno == ENOENT)
            die_exit(PROG, 100, "%s: not an agent directory (no config/; see rna-admin init)",
                a->dir);
        die_exit(PROG, 111, "unable to open %s: %s", path, strerror(errno));
    }
    if (flock(a->lockfd, how) < 0) die_exit(PROG, 111, "unable to lock %s: %s", path, strerror(errno));
}

static void load(struct admin *a, int how)
{
    struct conf_err e;
    int which;
    lock(a, how);
    if (conf_read(a->dir, a->t, &which) < 0)
        die_exit(PROG, 111, "unable to read %s/config/%s: %s", a->dir,
            which >= 0 ? conf_file_name(which) : "", strerror(errno));
    if (conf_parse(&a->c, a->t, &e) < 0) {
        if (errno == EINVAL) die_exit(PROG, 100, "%s", e.msg);
        die_exit(PROG, 111, "unable to parse the configuration: %s", strerror(errno));
    }
}

/* ---- text edits, on copies ---- */

static struct conf_text *edit(struct admin *a, int file)
{
    struct conf_text *n = &a->nt[file];
    if (!n->p) {
        n->p = malloc(a->t[file].n + 1);
        if (!n->p) die_exit(PROG, 111, "out of memory");
        if (a->t[file].n) memcpy(n->p, a->t[file].p, a->t[file].n);
        n->n = a->t[file].n;
        n->p[n->n] = 0;
    }
    return n;
}

static void text_put(struct conf_text *t, const char *s, size_t len)
{
    char *p;
    size_t need;
    if (__builtin_add_overflow(t->n, len, &need) ||
        __builtin_add_overflow(need, (size_t)1, &need))
        die_exit(PROG, 111, "out of memory");
    p = realloc(t->p, need);
    if (!p) die_exit(PROG, 111, "out of memory");
    memcpy(p + t->n, s, len);
    t->p = p;
    t->n += len;
    t->p[t->n] = 0;
}

/* Append one line (without its newline). */
static void edit_append(struct admin *a, int file, const char *line)
{
    struct conf_text *t = edit(a, file);
    if (t->n && t->p[t->n - 1] != '\n') text_put(t, "\n", 1);
    text_put(t, line, strlen(line));
    text_put(t, "\n", 1);
}

/* Replace line number ln (1-based, of the text as read) by line, or
 * delete it when line is NULL. One such edit per file and command. */
static void edit_line(struct admin *a, int file, unsigned long ln, const char *line)
{
    const struct conf_text *o = &a->t[file];
    struct conf_text n = {NULL, 0};
    size_t i = 0;
    unsigned long cur = 0;

    text_put(&n, "", 0);
    while (i < o->n) {
        const char *nl = memchr(o->p + i, '\n', o->n - i);
        size_t len = nl ? (size_t)(nl - (o->p + i)) + 1 : o->n - i;
        cur++;
        if (cur != ln) {
            text_put(&n, o->p + i, len);
        } else if (line) {
            text_put(&n, line, strlen(line));
            text_put(&n, "\n", 1);
        }
        i += len;
    }
    free(a->nt[file].p);
    a->nt[file] = n;
}

/* ---- compile and put in place ---- */

static mode_t file_mode(int file)
{
    return file == CONF_PASSWORDS ? 0600 : 0644;
}

static int text_path(const struct admin *a, int file, char *path, size_t cap)
{
    return (size_t)snprintf(path, cap, "%s/config/%s", a->dir,
                            conf_file_name(file)) >= cap ? -1 : 0;
}

/* Put back the texts as read for files [0, upto) that were rewritten. */
static void restore(struct admin *a, int upto)
{
    int i;
    for (i = 0; i < upto; i++) {
        char path[4096];
        if (!a->nt[i].p || text_path(a, i, path, sizeof path) < 0) continue;
        if (a->t[i].p ? atomic_write(path, a->t[i].p, a->t[i].n, file_mode(i))
                      : unlink(path))
            die_warn(PROG, "unable to restore %s: %s", path, strerror(errno));
    }
}

static void reload_store(const struct admin *a)
{
    struct storec s;
    const unsigned char *p;
    size_t n;
    int st;

    if (storec_open(&s, a->dir, clock_ms() + STORE_WAIT_MS) < 0) {
        /* no store running: it reads the new cdb when it starts */
        if (errno != ENOENT && errno != ECONNREFUSED)
            die_warn(PROG, "unable to reach the store to reload: %s", strerror(errno));
        return;
    }
    storec_begin(&s, STORE_OP_RELOAD);
    st = storec_call(&s, clock_ms() + STORE_WAIT_MS, &p, &n);
    if (st < 0)
        die_warn(PROG, "the store did not answer the reload request: %s", strerror(errno));
    else if (st != STORE_OK)
        die_warn(PROG, "the store refused the new configuration: %s", storec_status_name(st));
    storec_close(&s);
}

/* Validate the edited texts, compile them, put the changed texts and
 * then the cdb files in place, ask the store to reload. */
static void apply(struct admin *a)
{
    struct conf_text m[CONF_NFILES];
    struct conf_err e;
    struct conf_out o;
    int i;

    for (i = 0; i < CONF_NFILES; i++) m[i] = a->nt[i].p ? a->nt[i] : a->t[i];
    if (conf_parse(&a->c2, m, &e) < 0) {
        if (errno == EINVAL) die_exit(PROG, 100, "%s", e.msg);
        die_exit(PROG, 111, "unable to parse the configuration: %s", strerror(errno));
    }
    if (conf_build(&a->c2, a->dir, &o) < 0)
        die_exit(PROG, 111, "unable to write %s/config/*.cdb: %s", a->dir, strerror(errno));
    for (i = 0; i < CONF_NFILES; i++) {
        char path[4096];
        if (!a->nt[i].p) continue;
        if (text_path(a, i, path, sizeof path) < 0 ||
            atomic_write(path, a->nt[i].p, a->nt[i].n, file_mode(i)) < 0) {
            int e2 = errno;
            conf_abort(&o);
            restore(a, i);
            die_exit(PROG, 111, "unable to write %s: %s", path, strerror(e2));
        }
    }
    if (conf_commit(&o) < 0) {
        int e2 = errno;
        restore(a, CONF_NFILES);
        die_exit(PROG, 111, "unable to put %s/config/*.cdb in place: %s", a->dir, strerror(e2));
    }
    reload_store(a);
}

/* ---- init ---- */

static const char *const headers[CONF_NFILES] = {
    /* domains */
    "# Served domains, one per line (compared case-insensitively).\n"
    "# Lines starting with # and blank lines are ignored.\n"
    "#   example.org\n",
    /* accounts */
    "# Accounts: ACCOUNT [quota=N] [policy=none|oldest]\n"
    "# ACCOUNT is 1..64 of A-Z a-z 0-9 . _ -; quota and policy override the\n"
    "# quota-account and policy-account settings. Passwords: config/passwords.\n"
    "#   alice\n"
    "#   sales quota=50000 policy=oldest\n",
    /* passwords */
    "# Password hashes: ACCOUNT HASH (crypt(3) form, yescrypt \"$y$...\").\n"
    "# Written by 'rna-admin account add|passwd'; this file stays mode 0600.\n",
    /* mailboxes */
    "# Mailboxes: LOCAL@DOMAIN ACCOUNT\n"
    "# A local part ending in - is a prefix: sales-@example.org maps every\n"
    "# sales-anything@example.org; the longest match wins. Local parts are\n"
    "# compared exactly, domains case-insensitively; DOMAIN must be listed\n"
    "# in config/domains and ACCOUNT in config/accounts.\n"
    "#   alice@example.org alice\n"
    "#   sales-@example.org sales\n",
    /* filters */
    "# Discard filters: OWNER KIND ARGUMENT; OWNER is * (global) or an account.\n"
    "#   * submitter 192.0.2.0/24      (submitter address prefix, IPv4 or IPv6)\n"
    "#   * store .bad.example          (store domain; leading dot: and below)\n"
    "#   alice sender @spam.example    (sender address, or @domain)\n"
    "#   alice size 1000000            (notifications larger than N octets)\n",
    /* settings */
    "# Settings: NAME VALUE (a missing name takes its default).\n"
    "# quota-total: notifications held in all; quota-account: per account;\n"
    "# policy-*: none (refuse when full) or oldest (replace the oldest);\n"
    "# expire: seconds after which rna-clean expires a notification (0 never);\n"
    "# sync: 1 makes every acknowledged notification durable (fdatasync).\n",
};

static void cmd_init(struct admin *a, int argc, char **argv)
{
    char path[4096];
    int force = 0, i, nonempty = 0;
    DIR *d;
    struct dirent *de;

    if (argc == 1 && strcmp(argv[0], "-f") == 0) force = 1;
    else if (argc != 0) usage();
    if (mkdir(a->dir, 0755) < 0 && errno != EEXIST)
        die_exit(PROG, 111, "unable to create %s: %s", a->dir, strerror(errno));
    if ((size_t)snprintf(path, sizeof path, "%s/config", a->dir) >= sizeof path)
        die_exit(PROG, 100, "directory name too long");
    if (mkdir(path, 0755) < 0 && errno != EEXIST)
        die_exit(PROG, 111, "unable to create %s: %s", path, strerror(errno));
    lock(a, LOCK_EX);
    d = opendir(path);
    if (!d) die_exit(PROG, 111, "unable to open %s: %s", path, strerror(errno));
    while ((de = readdir(d)))
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) nonempty = 1;
    closedir(d);
    if (nonempty && !force)
        die_exit(PROG, 100, "%s is not empty; init -f keeps its files and adds what is missing",
            path);
    for (i = 0; i < CONF_NFILES; i++) {
        struct stat st;
        char body[2048];
        int n;
        if (text_path(a, i, path, sizeof path) < 0) die_exit(PROG, 100, "directory name too long");
        if (stat(path, &st) == 0) continue;
        n = snprintf(body, sizeof body, "%s", headers[i]);
        if (i == CONF_SETTINGS) {
            int s;
            for (s = 0; s < CONF_NSETTINGS && n > 0 && (size_t)n < sizeof body; s++) {
                char v[32];
                conf_setting_text(s, conf_setting_default(s), v);
                n += snprintf(body + n, sizeof body - (size_t)n, "%s %s\n",
                              conf_setting_name(s), v);
            }
        }
        if (n < 0 || (size_t)n >= sizeof body) die_exit(PROG, 101, "default text too long");
        if (atomic_write(path, body, (size_t)n, file_mode(i)) < 0)
            die_exit(PROG, 111, "unable to write %s: %s", path, strerror(errno));
    }
    if ((size_t)snprintf(path, sizeof path, "%s/store", a->dir) >= sizeof path)
        die_exit(PROG, 100, "directory name too long");
    if (mkdir(path, 0750) < 0 && errno != EEXIST)
        die_exit(PROG, 111, "unable to create %s: %s", path, strerror(errno));
    close(a->lockfd);
    a->lockfd = -1;
    load(a, LOCK_EX);
    apply(a);
}

static void cmd_compile(struct admin *a, int argc)
{
    if (argc != 0) usage();
    load(a, LOCK_EX);
    apply(a);
}

/* ---- domains ---- */

static void fold(char *s)
{
    for (; *s; s++)
        if (*s >= 'A' && *s <= 'Z') *s = (char)(*s + 32);
}

static void cmd_domain(struct admin *a, int argc, char **argv)
{
    size_t i;
    if (argc == 1 && strcmp(argv[0], "list") == 0) {
        load(a, LOCK_SH);
        for (i = 0; i < a->c.ndom; i++) printf("%s\n", a->c.dom[i].name);
        return;
    }
    if (argc != 2) usage();
    need_field("domain", argv[1]);
    fold(argv[1]);
    load(a, LOCK_EX);
    if (strcmp(argv[0], "add") == 0) {
        if (conf_find_domain(&a->c, argv[1])) die_exit(PROG, 100, "domain '%s' exists", argv[1]);
        edit_append(a, CONF_DOMAINS, argv[1]);
    } else if (strcmp(argv[0], "del") == 0) {
        const struct conf_domain *d = conf_find_domain(&a->c, argv[1]);
        if (!d) die_exit(PROG, 100, "no such domain '%s'", argv[1]);
        edit_line(a, CONF_DOMAINS, d->line, NULL);
    } else {
        usage();
    }
    apply(a);
}

/* ---- mailboxes ---- */

static void print_mbox(const struct conf_mbox *m)
{
    fwrite(m->local, 1, m->llen, stdout);
    printf("@%s\t%s\n", m->domain, m->acct);
}

static const struct conf_mbox *find_mbox(const struct conf *c, const char *addr)
{
    const char *at = strrchr(addr, '@');
    size_t i, ll;
    if (!at) return NULL;
    ll = (size_t)(at - addr);
    for (i = 0; i < c->nmbox; i++) {
        const struct conf_mbox *m = &c->mbox[i];
        if (m->llen == ll && memcmp(m->local, addr, ll) == 0 &&
            strcmp(m->domain, at + 1) == 0)
            return m;
    }
    return NULL;
}

static void cmd_mailbox(struct admin *a, int argc, char **argv)
{
    char *at;
    char line[1024];
    if (argc >= 1 && strcmp(argv[0], "list") == 0) {
        size_t i;
        if (argc > 2) usage();
        if (argc == 2) need_account(argv[1]);
        load(a, LOCK_SH);
        for (i = 0; i < a->c.nmbox; i++)
            if (argc == 1 || strcmp(a->c.mbox[i].acct, argv[1]) == 0)
                print_mbox(&a->c.mbox[i]);
        return;
    }
    if (argc < 2) usage();
    need_field("mailbox", argv[1]);
    at = strrchr(argv[1], '@');
    if (!at || at == argv[1] || !at[1]) die_exit(PROG, 100, "invalid mailbox '%s' (LOCAL@DOMAIN)", argv[1]);
    fold(at + 1);
    if (strcmp(argv[0], "add") == 0 && argc == 3) {
        need_account(argv[2]);
        load(a, LOCK_EX);
        if (find_mbox(&a->c, argv[1])) die_exit(PROG, 100, "mailbox '%s' exists", argv[1]);
        if ((size_t)snprintf(line, sizeof line, "%s %s", argv[1], argv[2]) >= sizeof line)
            die_exit(PROG, 100, "mailbox too long");
        edit_append(a, CONF_MAILBOXES, line);
    } else if (strcmp(argv[0], "del") == 0 && argc == 2) {
        const struct conf_mbox *m;
        load(a, LOCK_EX);
        m = find_mbox(&a->c, argv[1]);
        if (!m) die_exit(PROG, 100, "no such mailbox '%s'", argv[1]);
        edit_line(a, CONF_MAILBOXES, m->line, NULL);
    } else {
        usage();
    }
    apply(a);
}

/* ---- accounts and passwords ---- */

/* First line of fd, newline stripped, into a->pw; echo off on a tty. */
static void read_password(struct admin *a, int fd)
{
    struct termios old, quiet;
    int tty = isatty(fd) && tcgetattr(fd, &old) == 0;
    size_t n = 0;

    if (tty) {
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        fputs("Password: ", stderr);
        fflush(stderr);
        tcsetattr(fd, TCSAFLUSH, &quiet);
    }
    for (;;) {
        char ch;
        ssize_t k = read(fd, &ch, 1);
        if (k < 0 && errno == EINTR) continue;
        if (k < 0) {
            int e = errno;
            if (tty) tcsetattr(fd, TCSAFLUSH, &old);
            die_exit(PROG, 111, "unable to read the password: %s", strerror(e));
        }
        if (k == 0 || ch == '\n') break;
        if (n > PDU_MAX_PASSWORD) continue; /* refused below; keep draining the line */
        a->pw[n++] = ch;
    }
    if (tty) {
        tcsetattr(fd, TCSAFLUSH, &old);
        fputc('\n', stderr);
    }
    if (n > PDU_MAX_PASSWORD) die_exit(PROG, 100, "password longer than %d octets", PDU_MAX_PASSWORD);
    if (n == 0) die_exit(PROG, 100, "empty password refused");
    a->pw[n] = 0;
    if (strlen(a->pw) != n) die_exit(PROG, 100, "password contains a NUL octet");
}

/* yescrypt with a fresh salt (libxcrypt draws it from the kernel). */
static void hash_password(struct admin *a, char *out, size_t cap)
{
    char salt[CRYPT_GENSALT_OUTPUT_SIZE];
    struct crypt_data *cd = calloc(1, sizeof *cd);
    const char *h;

    if (!cd) die_exit(PROG, 111, "out of memory");
    if (!crypt_gensalt_rn("$y$", 0, NULL, 0, salt, sizeof salt)) {
        free(cd);
        die_exit(PROG, 111, "unable to make a salt: %s", strerror(errno));
    }
    h = crypt_rn(a->pw, salt, cd, sizeof *cd);
    explicit_bzero(a->pw, sizeof a->pw);
    if (!h || h[0] != '$' || strlen(h) >= cap) {
        explicit_bzero(cd, sizeof *cd);
        free(cd);
        die_exit(PROG, 111, "unable to hash the password");
    }
    strcpy(out, h);
    explicit_bzero(cd, sizeof *cd);
    free(cd);
}

static void acct_line(char *line, size_t cap, const char *name, int hq,
                      uint64_t q, int hp, int p)
{
    int n = snprintf(line, cap, "%s", name);
    if (hq) n += snprintf(line + n, cap - (size_t)n, " quota=%llu", (unsigned long long)q);
    if (hp) snprintf(line + n, cap - (size_t)n, " policy=%s",
                     p == CFG_POLICY_OLDEST ? "oldest" : "none");
}

static int parse_fd(const char *s)
{
    uint64_t v;
    if (cfg_u64_parse(s, strlen(s), &v) < 0 || v > 1024) die_exit(PROG, 100, "invalid --fd '%s'", s);
    return (int)v;
}

static void set_password(struct admin *a, const char *name, int fd)
{
    char hash[CRYPT_OUTPUT_SIZE], line[CRYPT_OUTPUT_SIZE + PDU_MAX_ACCOUNT + 2];
    const struct conf_acct *ac = conf_find_acct(&a->c, name);
    read_password(a, fd);
    hash_password(a, hash, sizeof hash);
    snprintf(line, sizeof line, "%s %s", name, hash);
    if (ac && ac->hash) edit_line(a, CONF_PASSWORDS, ac->hash_line, line);
    else edit_append(a, CONF_PASSWORDS, line);
}

static void cmd_account(struct admin *a, int argc, char **argv)
{
    int fd = 0, i, hq = 0, hp = 0, p = CFG_POLICY_NONE;
    uint64_t q = 0;
    char line[256];
    const struct conf_acct *ac;

    if (argc == 1 && strcmp(argv[0], "list") == 0) {
        size_t k;
        load(a, LOCK_SH);
        for (k = 0; k < a->c.nacct; k++) {
            const struct conf_acct *x = &a->c.acct[k];
            printf("%s\t", x->name);
            if (x->has_quota) printf("%llu\t", (unsigned long long)x->quota);
            else printf("-\t");
            if (x->has_policy) printf("%s\t", x->policy == CFG_POLICY_OLDEST ? "oldest" : "none");
            else printf("-\t");
            printf("%s\n", x->hash ? "password" : "nopassword");
        }
        return;
    }
    if (argc < 2) usage();
    need_account(argv[1]);
    for (i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--fd") == 0 && i + 1 < argc) {
            fd = parse_fd(argv[++i]);
        } else if (strncmp(argv[i], "quota=", 6) == 0 && strcmp(argv[0], "add") == 0) {
            if (cfg_u64_parse(argv[i] + 6, strlen(argv[i] + 6), &q) < 0)
                die_exit(PROG, 100, "invalid quota '%s'", argv[i] + 6);
            hq = 1;
        } else if (strncmp(argv[i], "policy=", 7) == 0 && strcmp(argv[0], "add") == 0) {
            if (cfg_policy_parse(argv[i] + 7, strlen(argv[i] + 7), &p) < 0)
                die_exit(PROG, 100, "invalid policy '%s' (none or oldest)", argv[i] + 7);
            hp = 1;
        } else {
            usage();
        }
    }
    load(a, LOCK_EX);
    ac = conf_find_acct(&a->c, argv[1]);
    if (strcmp(argv[0], "add") == 0) {
        if (ac) die_exit(PROG, 100, "account '%s' exists", argv[1]);
        acct_line(line, sizeof line, argv[1], hq, q, hp, p);
        edit_append(a, CONF_ACCOUNTS, line);
        set_password(a, argv[1], fd);
    } else if (strcmp(argv[0], "passwd") == 0) {
        if (!ac) die_exit(PROG, 100, "unknown account '%s'", argv[1]);
        set_password(a, argv[1], fd);
    } else if (strcmp(argv[0], "del") == 0 && argc == 2) {
        if (!ac) die_exit(PROG, 100, "unknown account '%s'", argv[1]);
        edit_line(a, CONF_ACCOUNTS, ac->line, NULL);
        if (ac->hash) edit_line(a, CONF_PASSWORDS, ac->hash_line, NULL);
    } else {
        usage();
    }
    apply(a);
}

/* ---- filters ---- */

static const char *owner_arg(int *argc, char ***argv)
{
    if (*argc >= 2 && strcmp((*argv)[0], "-a") == 0) {
        const char *o = (*argv)[1];
        need_account(o);
        *argc -= 2;
        *argv += 2;
        return o;
    }
    return NULL;
}

static void cmd_filter(struct admin *a, int argc, char **argv)
{
    const char *sub, *owner;
    size_t i;
    char line[PDU_MAX_SENDER + 128];

    if (argc < 1) usage();
    sub = argv[0];
    argc--;
    argv++;
    owner = owner_arg(&argc, &argv);
    if (strcmp(sub, "list") == 0) {
        if (argc != 0) usage();
        load(a, LOCK_SH);
        for (i = 0; i < a->c.nfilt; i++) {
            const struct conf_filter *f = &a->c.filt[i];
            if (owner && strcmp(owner, f->owner) != 0) continue;
            printf("%s\t%s\t%s\n", f->owner[0] ? f->owner : "*", f->kind, f->arg);
        }
        return;
    }
    if (argc != 2) usage();
    need_field("filter kind", argv[0]);
    need_field("filter argument", argv[1]);
    load(a, LOCK_EX);
    for (i = 0; i < a->c.nfilt; i++) {
        const struct conf_filter *f = &a->c.filt[i];
        if (strcmp(f->owner, owner ? owner : "") == 0 && strcmp(f->kind, argv[0]) == 0 &&
            strcmp(f->arg, argv[1]) == 0)
            break;
    }
    if (strcmp(sub, "add") == 0) {
        if (i < a->c.nfilt) die_exit(PROG, 100, "filter '%s %s' exists", argv[0], argv[1]);
        if ((size_t)snprintf(line, sizeof line, "%s %s %s", owner ? owner : "*", argv[0],
                             argv[1]) >= sizeof line)
            die_exit(PROG, 100, "filter too long");
        edit_append(a, CONF_FILTERS, line);
    } else if (strcmp(sub, "del") == 0) {
        if (i == a->c.nfilt) die_exit(PROG, 100, "no such filter '%s %s'", argv[0], argv[1]);
        edit_line(a, CONF_FILTERS, a->c.filt[i].line, NULL);
    } else {
        usage();
    }
    apply(a);
}

/* ---- settings ---- */

static void cmd_set(struct admin *a, int argc, char **argv)
{
    const char *owner = owner_arg(&argc, &argv);
    char line[256];
    int dflt;

    if (argc != 2) usage();
    dflt = strcmp(argv[1], "default") == 0;
    load(a, LOCK_EX);
    if (owner) {
        const struct conf_acct *ac = conf_find_acct(&a->c, owner);
        int hq, hp, p;
        uint64_t q;
        if (!ac) die_exit(PROG, 100, "unknown account '%s'", owner);
        hq = ac->has_quota;
        hp = ac->has_policy;
        q = ac->quota;
        p = ac->policy;
        if (strcmp(argv[0], "quota") == 0) {
            hq = !dflt;
            if (!dflt && cfg_u64_parse(argv[1], strlen(argv[1]), &q) < 0)
                die_exit(PROG, 100, "invalid value for quota (a number, or default)");
        } else if (strcmp(argv[0], "policy") == 0) {
            hp = !dflt;
            if (!dflt && cfg_policy_parse(argv[1], strlen(argv[1]), &p) < 0)
                die_exit(PROG, 100, "invalid value for policy (none, oldest or default)");
        } else {
            die_exit(PROG, 100, "unknown account setting (quota or policy)");
        }
        acct_line(line, sizeof line, owner, hq, q, hp, p);
        edit_line(a, CONF_ACCOUNTS, ac->line, line);
    } else {
        int s = conf_setting_find(argv[0]);
        uint64_t v;
        char val[32];
        if (s < 0) die_exit(PROG, 100, "unknown setting (quota-total, quota-account, policy-total,"
                            " policy-account, expire, sync)");
        if (dflt) {
            if (a->c.has_set[s]) edit_line(a, CONF_SETTINGS, a->c.set_line[s], NULL);
        } else {
            int bad = s == CONF_S_EXPIRE ? conf_age_parse(argv[1], &v)
                                         : conf_setting_parse(s, argv[1], strlen(argv[1]), &v);
            if (bad < 0) die_exit(PROG, 100, "invalid value for %s", argv[0]);
            conf_setting_text(s, v, val);
            snprintf(line, sizeof line, "%s %s", argv[0], val);
            if (a->c.has_set[s]) edit_line(a, CONF_SETTINGS, a->c.set_line[s], line);
            else edit_append(a, CONF_SETTINGS, line);
        }
    }
    apply(a);
}

static void cmd_get(struct admin *a, int argc, char **argv)
{
    const char *owner = owner_arg(&argc, &argv);
    int s;
    char val[32];

    if (argc > 1) usage();
    load(a, LOCK_SH);
    if (owner) {
        const struct conf_acct *ac = conf_find_acct(&a->c, owner);
        uint64_t q;
        int p;
        if (!ac) die_exit(PROG, 100, "unknown account '%s'", owner);
        q = ac->has_quota ? ac->quota
            : a->c.has_set[CONF_S_QUOTA_ACCOUNT] ? a->c.set[CONF_S_QUOTA_ACCOUNT]
                                                 : conf_setting_default(CONF_S_QUOTA_ACCOUNT);
        p = ac->has_policy ? ac->policy
            : (int)(a->c.has_set[CONF_S_POLICY_ACCOUNT]
                        ? a->c.set[CONF_S_POLICY_ACCOUNT]
                        : conf_setting_default(CONF_S_POLICY_ACCOUNT));
        conf_setting_text(CONF_S_POLICY_ACCOUNT, (uint64_t)p, val);
        if (argc == 0) printf("quota\t%llu\npolicy\t%s\n", (unsigned long long)q, val);
        else if (strcmp(argv[0], "quota") == 0) printf("%llu\n", (unsigned long long)q);
        else if (strcmp(argv[0], "policy") == 0) printf("%s\n", val);
        else die_exit(PROG, 100, "unknown account setting (quota or policy)");
        return;
    }
    if (argc == 1 && conf_setting_find(argv[0]) < 0) die_exit(PROG, 100, "unknown setting '%s'",
        pdu_utf8_ok((const unsigned char *)argv[0], strlen(argv[0])) ? argv[0] : "?");
    for (s = 0; s < CONF_NSETTINGS; s++) {
        conf_setting_text(s, a->c.has_set[s] ? a->c.set[s] : conf_setting_default(s), val);
        if (argc == 0) printf("%s\t%s\n", conf_setting_name(s), val);
        else if (strcmp(argv[0], conf_setting_name(s)) == 0) printf("%s\n", val);
    }
}

/* ---- statistics, from the running store ---- */

#define STAT_MAX_FIELDS 32

struct srec {
    char name[PDU_MAX_ACCOUNT + 1]; /* "" for the global record */
    size_t nf;
    char key[STAT_MAX_FIELDS][32];
    char val[STAT_MAX_FIELDS][24];
};

static const char *const acct_keys[] = {"held", "pending", "accepted", "collapsed", "discarded",
                                        "replaced", "cleared"};

static int key_ok(const char *s, size_t n)
{
    size_t i;
    if (n == 0 || n >= 32) return 0;
    for (i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
            return 0;
    return 1;
}

static void add_field(struct srec *r, const char *k, size_t kl, const char *v, size_t vl)
{
    uint64_t x;
    if (r->nf >= STAT_MAX_FIELDS || !key_ok(k, kl) || cfg_u64_parse(v, vl, &x) < 0)
        die_exit(PROG, 111, "the store sent statistics that do not parse");
    memcpy(r->key[r->nf], k, kl);
    r->key[r->nf][kl] = 0;
    snprintf(r->val[r->nf], sizeof r->val[r->nf], "%llu", (unsigned long long)x);
    r->nf++;
}

static void print_rec(const struct srec *r, int json, int oneline)
{
    size_t i;
    if (json) {
        printf("{");
        if (r->name[0]) printf("\"account\":\"%s\"%s", r->name, r->nf ? "," : "");
        for (i = 0; i < r->nf; i++)
            printf("\"%s\":%s%s", r->key[i], r->val[i], i + 1 < r->nf ? "," : "");
        printf("}\n");
    } else if (oneline) {
        printf("%s", r->name);
        for (i = 0; i < r->nf; i++) printf("\t%s=%s", r->key[i], r->val[i]);
        printf("\n");
    } else {
        for (i = 0; i < r->nf; i++) printf("%s\t%s\n", r->key[i], r->val[i]);
    }
}

static void zero_rec(struct srec *r, const char *name)
{
    size_t i;
    memset(r, 0, sizeof *r);
    snprintf(r->name, sizeof r->name, "%s", name);
    for (i = 0; i < sizeof acct_keys / sizeof *acct_keys; i++)
        add_field(r, acct_keys[i], strlen(acct_keys[i]), "0", 1);
}

static int cmp_rec(const void *x, const void *y)
{
    return strcmp(((const struct srec *)x)->name, ((const struct srec *)y)->name);
}

static void cmd_stats(struct admin *a, int argc, char **argv)
{
    int json = 0, all = 0, i, st;
    const char *acct = NULL;
    struct storec s;
    const unsigned char *p;
    size_t n, pos = 0, nrec = 0, cap = 0;
    struct srec *recs = NULL;

    for (i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0) json = 1;
        else if (strcmp(argv[i], "--accounts") == 0) all = 1;
        else if (!acct && argv[i][0] != '-') acct = argv[i];
        else usage();
    }
    if (all && acct) usage();
    if (acct) need_account(acct);
    if (storec_open(&s, a->dir, clock_ms() + STORE_WAIT_MS) < 0)
        die_exit(PROG, 111, "unable to reach the store at %s/" STORE_SOCKET ": %s", a->dir,
            strerror(errno));
    storec_begin(&s, STORE_OP_STATS);
    if (all) der_w_raw(&s.w, "*", 1);
    else if (acct) der_w_raw(&s.w, acct, strlen(acct));
    st = storec_call(&s, clock_ms() + STORE_WAIT_MS, &p, &n);
    if (st < 0) die_exit(PROG, 111, "no answer from the store: %s", strerror(errno));
    if (st != STORE_OK) die_exit(PROG, 111, "the store answered %s", storec_status_name(st));
    /* lines "KEY VALUE", or "account NAME KEY VALUE ..." */
    while (pos < n) {
        const char *line = (const char *)p + pos;
        const char *nl = memchr(line, '\n', n - pos);
        size_t len = nl ? (size_t)(nl - line) : n - pos, k = 0;
        const char *tok[2 * STAT_MAX_FIELDS + 2];
        size_t tl[2 * STAT_MAX_FIELDS + 2], nt = 0, j;
        pos += len + 1;
        while (k < len) {
            size_t b = k;
            while (k < len && line[k] != ' ') k++;
            if (nt == sizeof tl / sizeof *tl) die_exit(PROG, 111, "the store sent statistics that do not parse");
            tok[nt] = line + b;
            tl[nt++] = k - b;
            k++;
        }
        if (nt == 0) continue;
        if (nrec == cap) {
            struct srec *q;
            cap = cap ? cap * 2 : 8;
            q = realloc(recs, cap * sizeof *recs);
            if (!q) die_exit(PROG, 111, "out of memory");
            recs = q;
        }
        if (tl[0] == 7 && memcmp(tok[0], "account", 7) == 0) {
            struct srec *r = &recs[nrec++];
            memset(r, 0, sizeof *r);
            if (nt < 2 || nt % 2 || !pdu_account_ok((const unsigned char *)tok[1], tl[1]))
                die_exit(PROG, 111, "the store sent statistics that do not parse");
            memcpy(r->name, tok[1], tl[1]);
            for (j = 2; j < nt; j += 2) add_field(r, tok[j], tl[j], tok[j + 1], tl[j + 1]);
        } else {
            if (nt != 2) die_exit(PROG, 111, "the store sent statistics that do not parse");
            if (nrec == 0) memset(&recs[nrec++], 0, sizeof *recs);
            add_field(&recs[0], tok[0], tl[0], tok[1], tl[1]);
        }
    }
    storec_close(&s);
    if (acct && nrec == 0) {
        /* the store knows accounts once they hold or held something */
        recs = realloc(recs, sizeof *recs);
        if (!recs) die_exit(PROG, 111, "out of memory");
        zero_rec(&recs[0], acct);
        nrec = 1;
    }
    if (all) {
        /* configured accounts the store has not seen yet count as zero */
        struct conf_text t[CONF_NFILES];
        struct conf c;
        struct conf_err e;
        int which;
        if (conf_read(a->dir, t, &which) == 0) {
            if (conf_parse(&c, t, &e) == 0) {
                size_t k, have = nrec;
                for (k = 0; k < c.nacct; k++) {
                    size_t m;
                    for (m = 0; m < have && strcmp(recs[m].name, c.acct[k].name); m++) {}
                    if (m < have) continue;
                    if (nrec == cap) {
                        struct srec *q;
                        cap = cap ? cap * 2 : 8;
                        q = realloc(recs, cap * sizeof *recs);
                        if (!q) die_exit(PROG, 111, "out of memory");
                        recs = q;
                    }
                    zero_rec(&recs[nrec++], c.acct[k].name);
                }
                conf_free(&c);
            }
            conf_text_free(t);
        }
        if (nrec > 1) qsort(recs, nrec, sizeof *recs, cmp_rec);
    }
    for (n = 0; n < nrec; n++) print_rec(&recs[n], json, all);
    free(recs);
}

int main(int argc, char **argv)
{
    static struct admin adm;
    struct admin *a = &adm;
    int i = 1;
    const char *cmd;

    a->lockfd = -1;
    a->dir = getenv("RNA_DIR");
    if (argc > 2 && strcmp(argv[1], "-d") == 0) {
        a->dir = argv[2];
        i = 3;
    }
    if (!a->dir || !a->dir[0] || i >= argc) usage();
    cmd = argv[i++];
    argc -= i;
    argv += i;
    if (strcmp(cmd, "init") == 0) cmd_init(a, argc, argv);
    else if (strcmp(cmd, "compile") == 0) cmd_compile(a, argc);
    else if (strcmp(cmd, "domain") == 0) cmd_domain(a, argc, argv);
    else if (strcmp(cmd, "mailbox") == 0) cmd_mailbox(a, argc, argv);
    else if (strcmp(cmd, "account") == 0) cmd_account(a, argc, argv);
    else if (strcmp(cmd, "filter") == 0) cmd_filter(a, argc, argv);
    else if (strcmp(cmd, "set") == 0) cmd_set(a, argc, argv);
    else if (strcmp(cmd, "get") == 0) cmd_get(a, argc, argv);
    else if (strcmp(cmd, "stats") == 0) cmd_stats(a, argc, argv);
    else usage();
    if (fflush(stdout) != 0 || ferror(stdout))
        die_exit(PROG, 111, "unable to write output: %s", strerror(errno));
    cleanup(a);
    return 0;
}
