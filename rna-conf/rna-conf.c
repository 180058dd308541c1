/*
 * rna-conf [-b BINDIR] [-s N] [-q N] [-k SECONDS] DIR SERVICEDIR ACCOUNT
 *          LOGACCOUNT SPIP:PORT QPIP:PORT [--clean-every SECONDS]
 *
 * Creates daemontools service directories for the agent in DIR, in the
 * tradition of djbdns's tinydns-conf: SERVICEDIR/rna-store,
 * SERVICEDIR/rnasp, SERVICEDIR/rnaqp and, with -k or --clean-every,
 * SERVICEDIR/rna-clean. Each has a run script (stderr joined to stdout,
 * envdir ./env, then the service account, then exec), an env/ directory
 * and a log/ service running "multilog t ./main" as LOGACCOUNT. The two
 * listeners are tcpserver with the concurrency limit in env/MAXCONN
 * (default 40; PROTOCOL.md section 6 asks for at least 2 RNASP and 5
 * RNAQP sessions, which both the options here and the run scripts
 * enforce) and access rules in rules, compiled to rules.cdb by tcprules.
 * RNASP and RNAQP listen on separate addresses, as IM2000 recommends.
 *
 * The store and both filters run as ACCOUNT: DIR/store and DIR/config
 * (with its files) are handed to ACCOUNT here, and rna-admin is then run
 * as ACCOUNT so that what it writes stays readable by the filters.
 *
 * The run scripts name the programs by absolute path: BINDIR, or the
 * directory this program was run from. Every path and name written into
 * a script is checked against a conservative character set, so that no
 * argument can add shell syntax to a script that root runs.
 *
 * Exit codes: 0 done; 100 usage, a bad argument, or a service directory
 * that already exists (nothing is created then); 111 system trouble
 * (unknown account, I/O, tcprules failing).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "die.h"

#define PROG "rna-conf"
#define MAXCONN_DEFAULT 40
#define MAXCONN_MAX 100000
#define SP_MIN 2
#define QP_MIN 5
#define PATH_LEN 4096

struct account {
    const char *name;
    uid_t uid;
    gid_t gid;
};

struct conf {
    char bindir[PATH_LEN];
    char dir[PATH_LEN];
    const char *servicedir;
    struct account acct;
    struct account logacct;
    char spip[64], spport[8];
    char qpip[64], qpport[8];
    unsigned long sp_max, qp_max;
    unsigned long clean_every; /* 0: no cleaner */
};

static _Noreturn void usage(void)
{
    die_exit(PROG, 100, "usage: " PROG " [-b BINDIR] [-s MAXCONN] [-q MAXCONN] [-k SECONDS]"
             " DIR SERVICEDIR ACCOUNT LOGACCOUNT SPIP:PORT QPIP:PORT"
             " [--clean-every SECONDS]");
}

/* Characters allowed in anything written into a run script: no blank,
 * quote, backslash, dollar, backquote, glob or newline can reach sh. */
static int safe_text(const char *s)
{
    if (*s == 0 || *s == '-') return 0;
    for (; *s; s++) {
        char c = *s;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '/' || c == '.' || c == '_' || c == '-' || c == '+' || c == ',' ||
              c == '@' || c == ':' || c == '%' || c == '='))
            return 0;
    }
    return 1;
}

static void need_safe(const char *what, const char *s)
{
    if (!safe_text(s))
        die_exit(PROG, 100, "%s '%s' has characters a run script cannot carry"
                 " (allowed: letters, digits, / . _ - + , @ : %% =)", what, s);
}

/* A decimal number, complete, in [min, max]. */
static unsigned long number(const char *what, const char *s, unsigned long min,
                            unsigned long max)
{
    unsigned long v = 0;
    const char *p = s;
    if (*p == 0) die_exit(PROG, 100, "invalid %s '%s'", what, s);
    for (; *p; p++) {
        if (*p < '0' || *p > '9' || v > (max - (unsigned long)(*p - '0')) / 10)
            die_exit(PROG, 100, "invalid %s '%s' (a number from %lu to %lu)", what, s, min, max);
        v = v * 10 + (unsigned long)(*p - '0');
    }
    if (v < min) die_exit(PROG, 100, "invalid %s '%s' (a number from %lu to %lu)", what, s, min, max);
    return v;
}

/* IP:PORT, the IP as tcpserver takes it: IPv4 dotted quad, or IPv6 in
 * brackets ([::1]:9000) written to env/IP without them. */
static void address(const char *what, const char *s, char *ip, size_t iplen, char *port,
                    size_t portlen)
{
    const char *colon = strrchr(s, ':');
    const char *h = s;
    size_t hl;
    unsigned char bin[16];
    char tmp[64];
    int v6 = 0;

    if (!colon || colon == s) die_exit(PROG, 100, "invalid %s address '%s' (IP:PORT)", what, s);
    hl = (size_t)(colon - s);
    if (s[0] == '[') {
        if (hl < 3 || s[hl - 1] != ']') die_exit(PROG, 100, "invalid %s address '%s' (IP:PORT)", what, s);
        h = s + 1;
        hl -= 2;
        v6 = 1;
    }
    if (hl >= sizeof tmp || hl >= iplen) die_exit(PROG, 100, "invalid %s address '%s'", what, s);
    memcpy(tmp, h, hl);
    tmp[hl] = 0;
    if (inet_pton(v6 ? AF_INET6 : AF_INET, tmp, bin) != 1)
        die_exit(PROG, 100, "invalid %s address '%s'%s", what, s,
            v6 ? "" : " (IPv4 a.b.c.d, or IPv6 in brackets)");
    memcpy(ip, tmp, hl + 1);
    snprintf(port, portlen, "%lu", number("port", colon + 1, 1, 65535));
}

static void lookup(struct account *a, const char *name)
{
    struct passwd *pw;
    need_safe("account", name);
    errno = 0;
    pw = getpwnam(name);
    if (!pw) {
        if (errno) die_exit(PROG, 111, "unable to look up account %s: %s", name, strerror(errno));
        die_exit(PROG, 111, "unknown account %s", name);
    }
    a->name = name;
    a->uid = pw->pw_uid;
    a->gid = pw->pw_gid;
}

/* The directory holding this program, for the run scripts: resolved, so
 * that it does not depend on the current directory. */
static void own_bindir(char *out, const char *argv0)
{
    char buf[PATH_LEN];
    const char *path, *p;
    struct stat st;

    if (strchr(argv0, '/')) {
        if (!realpath(argv0, buf)) die_exit(PROG, 111, "unable to resolve %s: %s", argv0, strerror(errno));
        *strrchr(buf, '/') = 0;
        if (buf[0] == 0) strcpy(buf, "/");
        memcpy(out, buf, strlen(buf) + 1);
        return;
    }
    path = getenv("PATH");
    for (p = path ? path : ""; *p;) {
        size_t n = strcspn(p, ":");
        char cand[PATH_LEN];
        if (n > 0 && n + sizeof "/" PROG < sizeof cand) {
            memcpy(cand, p, n);
            memcpy(cand + n, "/" PROG, sizeof "/" PROG);
            if (stat(cand, &st) == 0 && S_ISREG(st.st_mode) && access(cand, X_OK) == 0) {
                own_bindir(out, cand);
                return;
            }
        }
        p += n;
        if (*p == ':') p++;
    }
    die_exit(PROG, 100, "cannot tell where the programs are; give -b BINDIR");
}

static void join(char *out, const char *a, const char *b)
{
    if ((size_t)snprintf(out, PATH_LEN, "%s/%s", a, b) >= PATH_LEN)
        die_exit(PROG, 100, "path too long: %s/%s", a, b);
}

static void make_dir(const char *path, mode_t mode)
{
    if (mkdir(path, mode) < 0) die_exit(PROG, 111, "unable to create %s: %s", path, strerror(errno));
    if (chmod(path, mode) < 0) die_exit(PROG, 111, "unable to set mode of %s: %s", path, strerror(errno));
}

/* Write a file whole, fsync it, set its mode. */
static void write_file(const char *path, mode_t mode, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void write_file(const char *path, mode_t mode, const char *fmt, ...)
{
    va_list ap;
    FILE *f = fopen(path, "wx");
    if (!f) die_exit(PROG, 111, "unable to create %s: %s", path, strerror(errno));
    va_start(ap, fmt);
    vfprintf(f, fmt, ap);
    va_end(ap);
    if (fflush(f) != 0 || fsync(fileno(f)) < 0 || ferror(f)) {
        int e = errno;
        fclose(f);
        die_exit(PROG, 111, "unable to write %s: %s", path, strerror(e));
    }
    if (fclose(f) != 0) die_exit(PROG, 111, "unable to write %s: %s", path, strerror(errno));
    if (chmod(path, mode) < 0) die_exit(PROG, 111, "unable to set mode of %s: %s", path, strerror(errno));
}

static void give(const char *path, const struct account *a)
{
    if (lchown(path, a->uid, a->gid) < 0)
        die_exit(PROG, 111, "unable to hand %s to %s: %s", path, a->name, strerror(errno));
}

/* SVC/log: multilog t as LOGACCOUNT into SVC/log/main. */
static void make_log(const struct conf *c, const char *svc)
{
    char p[PATH_LEN];
    join(p, svc, "log");
    make_dir(p, 0755);
    join(p, svc, "log/main");
    make_dir(p, 0755);
    give(p, &c->logacct);
    join(p, svc, "log/run");
    write_file(p, 0755, "#!/bin/sh\nexec setuidgid %s multilog t ./main\n", c->logacct.name);
}

/* SVC itself with env/ and log/; returns nothing, fills path buffers. */
static void make_service(const struct conf *c, const char *name, char *svc)
{
    char p[PATH_LEN];
    join(svc, c->servicedir, name);
    make_dir(svc, 0755);
    join(p, svc, "env");
    make_dir(p, 0755);
    make_log(c, svc);
}

static void env_file(const char *svc, const char *name, const char *value)
{
    char p[PATH_LEN], f[PATH_LEN];
    join(p, svc, "env");
    join(f, p, name);
    write_file(f, 0644, "%s\n", value);
}

static void run_tcprules(const char *svc)
{
    pid_t pid = fork();
    int st;
    if (pid < 0) die_exit(PROG, 111, "unable to fork: %s", strerror(errno));
    if (pid == 0) {
        int fd;
        if (chdir(svc) < 0) _exit(111);
        fd = open("rules", O_RDONLY);
        if (fd < 0 || dup2(fd, 0) < 0) _exit(111);
        execlp("tcprules", "tcprules", "rules.cdb", "rules.tmp", (char *)NULL);
        fprintf(stderr, PROG ": fatal: unable to run tcprules: %s\n", strerror(errno));
        _exit(111);
    }
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR) die_exit(PROG, 111, "unable to wait for tcprules: %s", strerror(errno));
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        die_exit(PROG, 111, "tcprules failed in %s (is ucspi-tcp installed?)", svc);
}

/* One listener: rnasp (rnasp-d) or rnaqp (rnaqp-d). */
static void make_listener(const struct conf *c, const char *name, const char *ip,
                          const char *port, unsigned long maxconn, unsigned long min,
                          const char *what)
{
    char svc[PATH_LEN], p[PATH_LEN], n[24];

    make_service(c, name, svc);
    env_file(svc, "IP", ip);
    env_file(svc, "PORT", port);
    snprintf(n, sizeof n, "%lu", maxconn);
    env_file(svc, "MAXCONN", n);
    join(p, svc, "rules");
    write_file(p, 0644,
               "# tcprules(1) access rules for %s, one per line, first match wins.\n"
               "# After editing, compile them (takes effect for the next connection):\n"
               "#   cd %s && tcprules rules.cdb rules.tmp < rules\n"
               "# Examples:\n"
               "#   192.0.2.:deny\n"
               "#   127.0.0.1:allow,IDLE_TIMEOUT=\"30\"\n"
               ":allow\n",
               what, svc);
    run_tcprules(svc);
    /* MAXCONN is checked here as well as by rna-conf: env/ is edited by
     * hand later, and a listener below the protocol's minimum must not
     * start. A refusal sleeps so supervise does not spin. */
    join(p, svc, "run");
    write_file(p, 0755,
               "#!/bin/sh\n"
               "# %s: tcpserver on env/IP env/PORT, at most env/MAXCONN sessions\n"
               "# (at least %lu), access rules in rules.cdb (see rules).\n"
               "exec 2>&1\n"
               "exec envdir ./env envuidgid %s sh -c '\n"
               "  case \"$MAXCONN\" in \"\"|*[!0-9]*) MAXCONN=0 ;; esac\n"
               "  if [ \"$MAXCONN\" -lt %lu ]; then\n"
               "    echo \"%s: fatal: env/MAXCONN must be a number of at least %lu\"\n"
               "    sleep 10\n"
               "    exit 100\n"
               "  fi\n"
               "  exec tcpserver -v -U -HRl0 -c \"$MAXCONN\" -x rules.cdb \"$IP\" \"$PORT\" \\\n"
               "    %s/%s-d %s\n"
               "'\n",
               what, min, c->acct.name, min, name, min, c->bindir, name, c->dir);
}

int main(int argc, char **argv)
{
    static struct conf c;
    const char *names[4] = {"rna-store", "rnasp", "rnaqp", "rna-clean"};
    char svc[PATH_LEN], p[PATH_LEN];
    struct stat st;
    int opt, i, nsvc;
    const char *bindir = NULL;
    const char *argv0 = argc > 0 ? argv[0] : PROG;

    c.sp_max = MAXCONN_DEFAULT;
    c.qp_max = MAXCONN_DEFAULT;
    while ((opt = getopt(argc, argv, "+b:s:q:k:")) != -1) {
        switch (opt) {
        case 'b': bindir = optarg; break;
        case 's': c.sp_max = number("RNASP MAXCONN", optarg, SP_MIN, MAXCONN_MAX); break;
        case 'q': c.qp_max = number("RNAQP MAXCONN", optarg, QP_MIN, MAXCONN_MAX); break;
        case 'k': c.clean_every = number("clean interval", optarg, 1, 31536000); break;
        default: usage();
        }
    }
    argv += optind;
    argc -= optind;
    if (argc == 8 && strcmp(argv[6], "--clean-every") == 0)
        c.clean_every = number("clean interval", argv[7], 1, 31536000);
    else if (argc != 6)
        usage();

    /* everything is checked before anything is created */
    if (bindir) {
        if (!realpath(bindir, c.bindir)) die_exit(PROG, 100, "unable to resolve %s: %s", bindir, strerror(errno));
    } else {
        own_bindir(c.bindir, argv0);
    }
    need_safe("program directory", c.bindir);
    join(p, c.bindir, "rna-store");
    if (access(p, X_OK) < 0) die_exit(PROG, 100, "no program %s: %s", p, strerror(errno));

    if (!realpath(argv[0], c.dir)) die_exit(PROG, 100, "unable to resolve %s: %s", argv[0], strerror(errno));
    need_safe("agent directory", c.dir);
    join(p, c.dir, "config");
    if (stat(p, &st) < 0 || !S_ISDIR(st.st_mode))
        die_exit(PROG, 100, "%s: not an agent directory (no config/; see rna-admin init)", c.dir);

    c.servicedir = argv[1];
    need_safe("service directory", c.servicedir);
    lookup(&c.acct, argv[2]);
    lookup(&c.logacct, argv[3]);
    address("RNASP", argv[4], c.spip, sizeof c.spip, c.spport, sizeof c.spport);
    address("RNAQP", argv[5], c.qpip, sizeof c.qpip, c.qpport, sizeof c.qpport);
    if (strcmp(c.spip, c.qpip) == 0 && strcmp(c.spport, c.qpport) == 0)
        die_exit(PROG, 100, "RNASP and RNAQP need separate addresses");

    nsvc = c.clean_every ? 4 : 3;
    for (i = 0; i < nsvc; i++) {
        join(svc, c.servicedir, names[i]);
        if (lstat(svc, &st) == 0) die_exit(PROG, 100, "%s exists; remove it or choose another SERVICEDIR", svc);
        if (errno != ENOENT) die_exit(PROG, 111, "unable to stat %s: %s", svc, strerror(errno));
    }
    if (mkdir(c.servicedir, 0755) < 0 && errno != EEXIST)
        die_exit(PROG, 111, "unable to create %s: %s", c.servicedir, strerror(errno));

    /* the agent's files belong to the service account */
    join(p, c.dir, "store");
    if (mkdir(p, 0750) < 0 && errno != EEXIST) die_exit(PROG, 111, "unable to create %s: %s", p, strerror(errno));
    give(p, &c.acct);
    join(p, c.dir, "config");
    give(p, &c.acct);
    {
        static const char *const files[] = {"domains", "accounts", "passwords", "mailboxes",
                                            "filters", "settings", "store.cdb", "auth.cdb"};
        size_t k;
        char f[PATH_LEN];
        for (k = 0; k < sizeof files / sizeof files[0]; k++) {
            join(f, p, files[k]);
            if (lstat(f, &st) < 0) {
                if (errno == ENOENT) continue;
                die_exit(PROG, 111, "unable to stat %s: %s", f, strerror(errno));
            }
            give(f, &c.acct);
        }
    }

    make_service(&c, "rna-store", svc);
    join(p, svc, "run");
    write_file(p, 0755,
               "#!/bin/sh\n"
               "# the notification store; the listeners reach it at %s/store/socket\n"
               "exec 2>&1\n"
               "exec envdir ./env setuidgid %s %s/rna-store %s\n",
               c.dir, c.acct.name, c.bindir, c.dir);

    make_listener(&c, "rnasp", c.spip, c.spport, c.sp_max, SP_MIN, "RNASP");
    make_listener(&c, "rnaqp", c.qpip, c.qpport, c.qp_max, QP_MIN, "RNAQP");

    if (c.clean_every) {
        char n[24];
        make_service(&c, "rna-clean", svc);
        snprintf(n, sizeof n, "%lu", c.clean_every);
        env_file(svc, "INTERVAL", n);
        join(p, svc, "run");
        write_file(p, 0755,
                   "#!/bin/sh\n"
                   "# expire and compact the store, then wait env/INTERVAL seconds;\n"
                   "# supervise starts it again. A failure (the store not up yet)\n"
                   "# is retried after 5 seconds.\n"
                   "exec 2>&1\n"
                   "exec envdir ./env setuidgid %s sh -c '\n"
                   "  %s/rna-clean %s || { sleep 5; exit 111; }\n"
                   "  exec sleep \"${INTERVAL:-86400}\"\n"
                   "'\n",
                   c.acct.name, c.bindir, c.dir);
    }
    return 0;
}
