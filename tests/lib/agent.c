/*
 * agent: see agent.h. Test-only code; it may print and exit on setup
 * failures (a test that cannot set up is a failed test).
 */
#include "agent.h"

#include <cdb.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "atomic.h"
#include "frame.h"

#define MAX_PAIRS 4096

struct pair {
    char *k;
    size_t kl;
    char *v;
    size_t vl;
};

static struct pair pairs[MAX_PAIRS];
static size_t npairs;

static void fail(const char *what)
{
    fprintf(stderr, "agent: %s: %s\n", what, strerror(errno));
    exit(111);
}

const char *agent_mkdir(void)
{
    /* a few at once: a test may hold its main directory and another */
    static char paths[4][512];
    static unsigned next;
    char *path = paths[next++ % 4];
    const char *t = getenv("TMPDIR");
    char cfg[600];
    snprintf(path, sizeof paths[0], "%s/rna-test.XXXXXX", t && *t ? t : "/tmp");
    if (!mkdtemp(path)) fail("mkdtemp");
    snprintf(cfg, sizeof cfg, "%s/config", path);
    if (mkdir(cfg, 0755) < 0) fail("mkdir config");
    return path;
}

void agent_rmdir(const char *dir)
{
    char cmd[700];
    if (strncmp(dir, "/tmp/", 5) && !getenv("TMPDIR")) return;
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "agent: could not remove %s\n", dir);
}

void agent_cfg_reset(void)
{
    size_t i;
    for (i = 0; i < npairs; i++) {
        free(pairs[i].k);
        free(pairs[i].v);
    }
    npairs = 0;
}

static void add(const char *k, size_t kl, const char *v, size_t vl)
{
    struct pair *p;
    size_t i;
    /* a later value for the same key replaces the earlier one */
    for (i = 0; i < npairs; i++)
        if (pairs[i].kl == kl && memcmp(pairs[i].k, k, kl) == 0) break;
    if (i == npairs) {
        if (npairs >= MAX_PAIRS) {
            fprintf(stderr, "agent: too many config pairs\n");
            exit(111);
        }
        npairs++;
    } else {
        free(pairs[i].k);
        free(pairs[i].v);
    }
    p = &pairs[i];
    p->k = malloc(kl + 1);
    p->v = malloc(vl + 1);
    if (!p->k || !p->v) fail("malloc");
    memcpy(p->k, k, kl);
    memcpy(p->v, v, vl);
    p->kl = kl;
    p->vl = vl;
}

static void addkv(const char *prefix, const char *a, const char *b,
                  const char *v)
{
    char key[1024];
    size_t kl = (size_t)snprintf(key, sizeof key, "%s%s", prefix, a);
    if (b) {
        key[kl++] = 0;
        kl += (size_t)snprintf(key + kl, sizeof key - kl, "%s", b);
    }
    add(key, kl, v, strlen(v));
}

void agent_cfg_set(const char *name, const char *value)
{
    addkv("set:", name, NULL, value);
}

void agent_cfg_domain(const char *domain)
{
    addkv("domain:", domain, NULL, "");
}

void agent_cfg_mbox(const char *lp, const char *domain, const char *acct)
{
    addkv("mbox:", domain, lp, acct);
}

/* The plen: entry lists the distinct prefix lengths, longest first. */
void agent_cfg_prefix(const char *prefix, const char *domain, const char *acct)
{
    char key[600], lens[1024] = "";
    size_t i, kl;
    int seen[256] = {0};
    int L;

    addkv("prefix:", domain, prefix, acct);
    kl = (size_t)snprintf(key, sizeof key, "prefix:%s", domain) + 1;
    for (i = 0; i < npairs; i++)
        if (pairs[i].kl > kl && memcmp(pairs[i].k, key, kl) == 0)
            seen[pairs[i].kl - kl] = 1;
    for (L = 255; L > 0; L--) {
        if (!seen[L]) continue;
        if (lens[0]) strcat(lens, " ");
        snprintf(lens + strlen(lens), sizeof lens - strlen(lens), "%d", L);
    }
    addkv("plen:", domain, NULL, lens);
}

void agent_cfg_acct(const char *acct, const char *settings)
{
    addkv("acct:", acct, NULL, settings);
}

void agent_cfg_filter(const char *acct, const char *lines)
{
    addkv("filter:", acct, NULL, lines);
}

int agent_cfg_write(const char *dir)
{
    char path[700], tmp[800];
    struct cdb_make cm;
    size_t i;
    int fd;

    snprintf(path, sizeof path, "%s/config/store.cdb", dir);
    fd = atomic_begin(path, tmp, sizeof tmp);
    if (fd < 0) return -1;
    if (cdb_make_start(&cm, fd) < 0) goto bad;
    for (i = 0; i < npairs; i++)
        if (cdb_make_add(&cm, pairs[i].k, (unsigned)pairs[i].kl, pairs[i].v,
                         (unsigned)pairs[i].vl) < 0)
            goto bad;
    if (cdb_make_finish(&cm) < 0) goto bad;
    if (fchmod(fd, 0644) < 0) goto bad;
    return atomic_commit(fd, tmp, path);
bad:
    atomic_abort(fd, tmp);
    return -1;
}

pid_t agent_store_start(const char *dir, long fsize_limit)
{
    char bin[600], log[700];
    const char *b = getenv("BUILD");
    pid_t pid;
    int i;

    snprintf(bin, sizeof bin, "%s/bin/rna-store", b && *b ? b : "build");
    snprintf(log, sizeof log, "%s/store.log", dir);
    pid = fork();
    if (pid < 0) fail("fork");
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) dup2(fd, 2);
        if (fsize_limit > 0) {
            struct rlimit rl = {(rlim_t)fsize_limit, (rlim_t)fsize_limit};
            setrlimit(RLIMIT_FSIZE, &rl);
        }
        execl(bin, "rna-store", dir, (char *)NULL);
        _exit(127);
    }
    /* ready when the socket accepts a connection */
    for (i = 0; i < 500; i++) {
        struct storec c;
        int st;
        if (storec_open(&c, dir, clock_ms() + 1000) == 0) {
            storec_close(&c);
            return pid;
        }
        if (waitpid(pid, &st, WNOHANG) == pid) return -1;
        usleep(10000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    return -1;
}

int agent_store_stop(pid_t pid)
{
    int st;
    if (pid <= 0) return -1;
    kill(pid, SIGTERM);
    if (waitpid(pid, &st, 0) != pid) return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

void agent_store_kill9(pid_t pid)
{
    if (pid <= 0) return;
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

void agent_notif(struct agent_notif *a, const char *lp, const char *dom,
                 const char *store, uint32_t idnum)
{
    memset(a, 0, sizeof *a);
    snprintf(a->localpart, sizeof a->localpart, "%s", lp);
    snprintf(a->domain, sizeof a->domain, "%s", dom);
    snprintf(a->store, sizeof a->store, "%s", store);
    memset(a->id, 0xab, 16);
    a->id[12] = (unsigned char)(idnum >> 24);
    a->id[13] = (unsigned char)(idnum >> 16);
    a->id[14] = (unsigned char)(idnum >> 8);
    a->id[15] = (unsigned char)idnum;
    snprintf(a->sender, sizeof a->sender, "sender@example.net");
}

int agent_submit(struct storec *c, const char *subip, const struct agent_notif *n,
                 size_t count, uint32_t *pos, size_t *npos, uint32_t counts[4])
{
    unsigned char hdr[20];
    size_t i;
    const unsigned char *p;
    size_t plen;
    int st;

    memset(hdr, 0, sizeof hdr);
    {
        unsigned a, b, cc, d;
        if (sscanf(subip, "%u.%u.%u.%u", &a, &b, &cc, &d) == 4) {
            hdr[1] = (unsigned char)a;
            hdr[2] = (unsigned char)b;
            hdr[3] = (unsigned char)cc;
            hdr[4] = (unsigned char)d;
        }
    }
    hdr[17] = 0x30;
    hdr[18] = 0x39; /* port 12345 */
    hdr[19] = 0;
    storec_begin(c, STORE_OP_SUBMIT);
    der_w_raw(&c->w, hdr, sizeof hdr);
    for (i = 0; i < count; i++) {
        struct pdu_notif pn;
        unsigned char b1[PDU_DOMAIN_DER_MAX], b2[PDU_DOMAIN_DER_MAX];
        memset(&pn, 0, sizeof pn);
        pn.clear.kind = PDU_LOC_DOMAIN;
        if (pdu_domain_from_text(b1, sizeof b1, n[i].store, strlen(n[i].store),
                                 &pn.clear.domain) < 0 ||
            pdu_domain_from_text(b2, sizeof b2, n[i].domain, strlen(n[i].domain),
                                 &pn.rdomain) < 0) {
            fprintf(stderr, "agent: bad domain in test notification\n");
            exit(111);
        }
        pn.ssl.kind = PDU_LOC_NONE;
        pn.localpart.p = (const unsigned char *)n[i].localpart;
        pn.localpart.len = strlen(n[i].localpart);
        memcpy(pn.id, n[i].id, 16);
        pn.sender.p = (const unsigned char *)n[i].sender;
        pn.sender.len = strlen(n[i].sender);
        pn.has_size = (unsigned char)n[i].has_size;
        pn.size = n[i].size;
        pdu_put_notif(&c->w, &pn);
    }
    st = storec_call(c, clock_ms() + 20000, &p, &plen);
    if (st < 0) return -1;
    if (npos) *npos = 0;
    if ((st == STORE_NOMAILBOX || st == STORE_QUOTA) && plen >= 4) {
        uint32_t k = storec_get_u32(p);
        for (i = 0; i < k && 4 + 4 * i + 4 <= plen; i++)
            if (pos) pos[i] = storec_get_u32(p + 4 + 4 * i);
        if (npos) *npos = i;
    }
    if (st == STORE_OK && counts && plen >= 16)
        for (i = 0; i < 4; i++) counts[i] = storec_get_u32(p + 4 * i);
    return st;
}

int agent_rbegin(struct storec *c, const char *acct, uint32_t *ids, size_t max,
                 size_t *nids)
{
    const unsigned char *p;
    size_t plen;
    int st;
    struct der_cur cur;

    storec_begin(c, STORE_OP_RBEGIN);
    der_w_raw(&c->w, acct, strlen(acct));
    st = storec_call(c, clock_ms() + 20000, &p, &plen);
    *nids = 0;
    if (st != STORE_OK) return st;
    if (plen < 4) return -1;
    der_cur_init(&cur, p + 4, plen - 4);
    while (!der_cur_empty(&cur)) {
        const unsigned char *start = cur.p;
        struct der_tlv t;
        struct pdu_nald x;
        if (der_get(&cur, &t) < 0) return -1;
        if (pdu_decode_nald(start, (size_t)(cur.p - start), &x) != PDU_OK) return -1;
        if (*nids < max)
            ids[*nids] = (uint32_t)x.n.id[12] << 24 | (uint32_t)x.n.id[13] << 16 |
                         (uint32_t)x.n.id[14] << 8 | x.n.id[15];
        (*nids)++;
    }
    if (*nids != storec_get_u32(p)) return -1;
    return st;
}

int agent_simple(struct storec *c, unsigned op)
{
    const unsigned char *p;
    size_t plen;
    storec_begin(c, op);
    return storec_call(c, clock_ms() + 20000, &p, &plen);
}

long long agent_stat(struct storec *c, const char *key)
{
    const unsigned char *p;
    size_t plen, kl = strlen(key), i = 0;
    storec_begin(c, STORE_OP_STATS);
    if (storec_call(c, clock_ms() + 20000, &p, &plen) != STORE_OK) return -1;
    while (i < plen) {
        size_t j = i;
        while (j < plen && p[j] != '\n') j++;
        if (j - i > kl + 1 && memcmp(p + i, key, kl) == 0 && p[i + kl] == ' ') {
            char num[32];
            size_t nl = j - i - kl - 1;
            if (nl >= sizeof num) return -1;
            memcpy(num, p + i + kl + 1, nl);
            num[nl] = 0;
            return atoll(num);
        }
        i = j + 1;
    }
    return -1;
}

/* ---- listeners ---- */

#include <arpa/inet.h>
#include <crypt.h>
#include <netinet/in.h>
#include <sys/socket.h>

int agent_auth_write(const char *dir, const char *const *accts,
                     const char *const *pws, size_t n)
{
    char path[700], tmp[800];
    struct cdb_make cm;
    size_t i;
    int fd;

    snprintf(path, sizeof path, "%s/config/auth.cdb", dir);
    fd = atomic_begin(path, tmp, sizeof tmp);
    if (fd < 0) return -1;
    if (cdb_make_start(&cm, fd) < 0) goto bad;
    for (i = 0; i < n; i++) {
        char setting[CRYPT_GENSALT_OUTPUT_SIZE];
        struct crypt_data cd;
        const char *h;
        memset(&cd, 0, sizeof cd);
        if (!crypt_gensalt_rn("$y$", 0, NULL, 0, setting, sizeof setting)) goto bad;
        h = crypt_rn(pws[i], setting, &cd, sizeof cd);
        if (!h || h[0] == '*') goto bad;
        if (cdb_make_add(&cm, accts[i], (unsigned)strlen(accts[i]), h,
                         (unsigned)strlen(h)) < 0)
            goto bad;
    }
    if (cdb_make_finish(&cm) < 0 || fchmod(fd, 0640) < 0) goto bad;
    return atomic_commit(fd, tmp, path);
bad:
    atomic_abort(fd, tmp);
    return -1;
}

static int free_port(void)
{
    struct sockaddr_in sa;
    socklen_t l = sizeof sa;
    int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0 &&
        getsockname(fd, (struct sockaddr *)&sa, &l) == 0)
        port = ntohs(sa.sin_port);
    if (fd >= 0) close(fd);
    return port;
}

int agent_connect(int port)
{
    struct sockaddr_in sa;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

pid_t agent_listen(const char *prog, const char *dir, const char *const *env,
                   int *port)
{
    return agent_listen_c(prog, dir, env, port, 100);
}

pid_t agent_listen_c(const char *prog, const char *dir, const char *const *env,
                     int *port, int maxconn)
{
    char cs[32];
    char bin[600], log[700], ps[16];
    const char *b = getenv("BUILD");
    pid_t pid;
    int tries, i;

    snprintf(bin, sizeof bin, "%s/bin/%s", b && *b ? b : "build", prog);
    snprintf(log, sizeof log, "%s/%s.log", dir, prog);
    for (tries = 0; tries < 5; tries++) {
        *port = free_port();
        snprintf(ps, sizeof ps, "%d", *port);
        pid = fork();
        if (pid < 0) fail("fork");
        if (pid == 0) {
            int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
            if (fd >= 0) dup2(fd, 2);
            for (i = 0; env && env[i]; i++) putenv((char *)env[i]);
            snprintf(cs, sizeof cs, "-c%d", maxconn);
            execlp("tcpserver", "tcpserver", "-HRl0", cs, "127.0.0.1", ps, bin,
                   dir, (char *)NULL);
            _exit(127);
        }
        for (i = 0; i < 300; i++) {
            int st, fd = agent_connect(*port);
            if (fd >= 0) {
                close(fd);
                return pid;
            }
            if (waitpid(pid, &st, WNOHANG) == pid) break; /* port taken: again */
            usleep(10000);
        }
        kill(pid, SIGTERM);
        waitpid(pid, NULL, 0);
    }
    return -1;
}

void agent_unlisten(pid_t pid)
{
    if (pid <= 0) return;
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
}

int agent_log_count(const char *dir, const char *name, const char *needle)
{
    char path[700], line[2048];
    FILE *f;
    int n = 0;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    f = fopen(path, "r");
    if (!f) return 0;
    while (fgets(line, sizeof line, f))
        if (strstr(line, needle)) n++;
    fclose(f);
    return n;
}

/* ---- RNASP / RNAQP client frames ---- */

void agent_put_notif(struct der_w *w, const char *lp, const char *dom,
                      uint32_t id, const char *sender)
{
    static unsigned char b1[PDU_DOMAIN_DER_MAX], b2[PDU_DOMAIN_DER_MAX];
    struct pdu_notif n;
    memset(&n, 0, sizeof n);
    n.clear.kind = PDU_LOC_DOMAIN;
    pdu_domain_from_text(b1, sizeof b1, "store.example.net", 17, &n.clear.domain);
    pdu_domain_from_text(b2, sizeof b2, dom, strlen(dom), &n.rdomain);
    n.localpart.p = (const unsigned char *)lp;
    n.localpart.len = strlen(lp);
    memset(n.id, 0x5a, 16);
    n.id[12] = (unsigned char)(id >> 24);
    n.id[13] = (unsigned char)(id >> 16);
    n.id[14] = (unsigned char)(id >> 8);
    n.id[15] = (unsigned char)id;
    n.sender.p = (const unsigned char *)sender;
    n.sender.len = strlen(sender);
    pdu_put_notif(w, &n);
}

/* Frame for CommandNotify to lp@dom with ids id0..id0+count-1. */
size_t agent_frame_notify(unsigned char *buf, size_t cap, const char *lp,
                           const char *dom, uint32_t id0, int count)
{
    struct der_w w;
    int i;
    der_w_fixed(&w, buf, cap);
    frame_w_begin(&w);
    pdu_enc_cmd_notify_begin(&w);
    for (i = 0; i < count; i++) agent_put_notif(&w, lp, dom, id0 + (uint32_t)i, "s@example.net");
    pdu_enc_cmd_notify_end(&w);
    return frame_w_end(&w) == 0 ? w.len : 0;
}

size_t agent_frame_auth(unsigned char *buf, size_t cap, const char *a, const char *p)
{
    struct der_w w;
    struct pdu_str as = {(const unsigned char *)a, strlen(a)};
    struct pdu_str ps = {(const unsigned char *)p, strlen(p)};
    der_w_fixed(&w, buf, cap);
    frame_w_begin(&w);
    pdu_enc_cmd_auth(&w, &as, &ps);
    return frame_w_end(&w) == 0 ? w.len : 0;
}

size_t agent_frame_retrieve(unsigned char *buf, size_t cap)
{
    struct der_w w;
    der_w_fixed(&w, buf, cap);
    frame_w_begin(&w);
    pdu_enc_cmd_retrieve(&w);
    return frame_w_end(&w) == 0 ? w.len : 0;
}

