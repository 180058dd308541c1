/*
 * Crash consistency through the protocol filters: submitters on RNASP
 * and readers on RNAQP under load while random rnasp-d and rnaqp-d
 * processes are killed with SIGKILL in the middle of their transactions
 * ($RNA_CRASH_CYCLES kills, default 20). Checked against the clients'
 * own records and the store's log:
 *  - every notification answered noerror is returned to a reader or
 *    still held at the end;
 *  - nothing is invented;
 *  - a notification is returned twice only after a retrieve the store
 *    aborted (the duplicates never outnumber what aborted retrieves held).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "frame.h"
#include "pdu.h"
#include "t.h"

#define WRITERS 3
#define READERS 2
#define SPAN 100000
#define MAXID (WRITERS * SPAN)

static volatile sig_atomic_t stop;
static int sp, qp;

static void on_term(int sig)
{
    (void)sig;
    stop = 1;
}

static void logid(int fd, uint32_t id)
{
    char line[16];
    int n = snprintf(line, sizeof line, "%u\n", id);
    if (write(fd, line, (size_t)n) != n) _exit(2);
}

/* One RNASP session with one notification. 1 acknowledged, 0 not. */
static int submit(uint32_t id)
{
    unsigned char buf[2048];
    struct frame_rd rd;
    const unsigned char *b;
    size_t l;
    struct pdu m;
    int fd = agent_connect(sp), ok = 0;
    if (fd < 0) return 0;
    if (frame_rd_init(&rd, fd, 1u << 20) == 0) {
        size_t n = agent_frame_notify(buf, sizeof buf, id % 2 ? "alice" : "bob",
                                      "example.org", id, 1);
        if (frame_write_all(fd, buf, n, clock_ms() + 5000) == 0 &&
            frame_get(&rd, clock_ms() + 5000, &b, &l) == FRAME_OK &&
            pdu_decode_response(PDU_RNASP, b, l, &m) == PDU_OK && m.status == 0)
            ok = 1;
        frame_rd_free(&rd);
    }
    close(fd);
    return ok;
}

/* One RNAQP session: authenticate, retrieve, log what came, close
 * cleanly. */
static void fetch(const char *acct, int logfd, int linger_ms)
{
    unsigned char buf[512];
    struct frame_rd rd;
    const unsigned char *b;
    size_t l;
    struct pdu m;
    int fd = agent_connect(qp);
    if (fd < 0) return;
    if (frame_rd_init(&rd, fd, 64u << 20) == 0) {
        size_t n = agent_frame_auth(buf, sizeof buf, acct, "pw");
        n += agent_frame_retrieve(buf + n, sizeof buf - n);
        if (frame_write_all(fd, buf, n, clock_ms() + 5000) == 0 &&
            frame_get(&rd, clock_ms() + 5000, &b, &l) == FRAME_OK &&
            frame_get(&rd, clock_ms() + 5000, &b, &l) == FRAME_OK &&
            pdu_decode_response(PDU_RNAQP, b, l, &m) == PDU_OK &&
            m.kind == PDU_RESP_RETRIEVE && m.status == 0) {
            struct pdu_iter it;
            struct pdu_nald x;
            pdu_iter_init(&it, &m.list);
            while (pdu_next_nald(&it, &x) == 1)
                logid(logfd, (uint32_t)x.n.id[12] << 24 | (uint32_t)x.n.id[13] << 16 |
                                 (uint32_t)x.n.id[14] << 8 | x.n.id[15]);
        }
        frame_rd_free(&rd);
    }
    /* hold the retrieve open a moment: kills then land while it is pending */
    if (linger_ms) usleep((useconds_t)linger_ms * 1000);
    shutdown(fd, SHUT_WR);
    {
        char c;
        struct timeval tv = {2, 0};
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        while (read(fd, &c, 1) > 0) {}
    }
    close(fd);
}

/* SIGKILL one random child of a tcpserver; 1 if one was killed. */
static int kill_child(pid_t server)
{
    char path[128], line[4096];
    long kids[256];
    int n = 0;
    FILE *f;
    char *p;
    snprintf(path, sizeof path, "/proc/%d/task/%d/children", (int)server, (int)server);
    f = fopen(path, "r");
    if (!f) return 0;
    if (fgets(line, sizeof line, f)) {
        p = line;
        while (*p && n < 256) {
            long c = strtol(p, &p, 10);
            if (c <= 0) break;
            kids[n++] = c;
            while (*p == ' ') p++;
        }
    }
    fclose(f);
    if (n == 0) return 0;
    return kill((pid_t)kids[rand() % n], SIGKILL) == 0;
}

static unsigned char acked[MAXID], seen[MAXID];

static void read_ids(const char *path, unsigned char *set, size_t *dups, size_t *bad)
{
    FILE *f = fopen(path, "r");
    unsigned id;
    if (!f) return;
    while (fscanf(f, "%u", &id) == 1) {
        if (id >= MAXID) {
            (*bad)++;
            continue;
        }
        if (set == seen && seen[id]) (*dups)++;
        set[id] = 1;
    }
    fclose(f);
}

int main(void)
{
    static const char *accts[] = {"alice", "bob"};
    static const char *pws[] = {"pw", "pw"};
    static const char *env[] = {"AUTH_DELAY_MS=0", NULL};
    const char *cy = getenv("RNA_CRASH_CYCLES");
    int cycles = cy ? atoi(cy) : 20, i, kills = 0;
    const char *dir;
    char wlog[WRITERS][700], rlog[READERS + 1][700], cmd[900];
    pid_t store, lsp, lqp, wp[WRITERS], rp[READERS];
    size_t dups = 0, bad = 0, lost = 0, invented = 0, nacked = 0;
    long long aborted = 0;
    uint32_t maxsent[WRITERS];

    signal(SIGPIPE, SIG_IGN);
    srand((unsigned)time(NULL) ^ (unsigned)getpid());
    dir = agent_mkdir();
    agent_cfg_reset();
    agent_cfg_domain("example.org");
    agent_cfg_mbox("alice", "example.org", "alice");
    agent_cfg_mbox("bob", "example.org", "bob");
    agent_cfg_set("quota-account", "1000000");
    T_OK(agent_cfg_write(dir) == 0 && agent_auth_write(dir, accts, pws, 2) == 0, "config");
    store = agent_store_start(dir, 0);
    lsp = agent_listen("rnasp-d", dir, env, &sp);
    lqp = agent_listen("rnaqp-d", dir, env, &qp);
    T_OK(store > 0 && lsp > 0 && lqp > 0, "store and listeners up");
    if (store <= 0 || lsp <= 0 || lqp <= 0) return t_done();

    for (i = 0; i < WRITERS; i++) {
        int fd;
        snprintf(wlog[i], sizeof wlog[i], "%s/w%d.log", dir, i);
        fd = open(wlog[i], O_WRONLY | O_CREAT | O_APPEND, 0644);
        wp[i] = fork();
        if (wp[i] == 0) {
            uint32_t id = (uint32_t)i * SPAN;
            signal(SIGTERM, on_term);
            while (!stop && id < (uint32_t)(i + 1) * SPAN) {
                if (submit(id)) logid(fd, id);
                id++;
            }
            _exit(0);
        }
        close(fd);
    }
    for (i = 0; i < READERS; i++) {
        int fd;
        snprintf(rlog[i], sizeof rlog[i], "%s/r%d.log", dir, i);
        fd = open(rlog[i], O_WRONLY | O_CREAT | O_APPEND, 0644);
        rp[i] = fork();
        if (rp[i] == 0) {
            signal(SIGTERM, on_term);
            while (!stop) {
                fetch(i ? "alice" : "bob", fd, 20);
                usleep(5000);
            }
            _exit(0);
        }
        close(fd);
    }
    for (i = 0; i < cycles; i++) {
        usleep((useconds_t)(10000 + rand() % 60000));
        kills += kill_child(rand() % 2 ? lsp : lqp);
    }
    for (i = 0; i < WRITERS; i++) kill(wp[i], SIGTERM);
    for (i = 0; i < READERS; i++) kill(rp[i], SIGTERM);
    for (i = 0; i < WRITERS; i++) waitpid(wp[i], NULL, 0);
    for (i = 0; i < READERS; i++) waitpid(rp[i], NULL, 0);
    T_OK(kills > 0, "filter_crash: %d filter processes killed", kills);

    /* what is still held */
    snprintf(rlog[READERS], sizeof rlog[READERS], "%s/final.log", dir);
    {
        int fd = open(rlog[READERS], O_WRONLY | O_CREAT | O_APPEND, 0644);
        fetch("alice", fd, 0);
        fetch("bob", fd, 0);
        close(fd);
    }
    for (i = 0; i < WRITERS; i++) read_ids(wlog[i], acked, &dups, &bad);
    dups = 0;
    for (i = 0; i <= READERS; i++) read_ids(rlog[i], seen, &dups, &bad);
    for (i = 0; i < WRITERS; i++) {
        uint32_t id;
        maxsent[i] = (uint32_t)i * SPAN;
        for (id = (uint32_t)i * SPAN; id < (uint32_t)(i + 1) * SPAN; id++)
            if (acked[id]) maxsent[i] = id;
    }
    {
        uint32_t id;
        for (id = 0; id < MAXID; id++) {
            if (acked[id]) nacked++;
            if (acked[id] && !seen[id]) lost++;
            /* a writer has at most one unacknowledged submission in flight */
            if (seen[id] && !acked[id] && id > maxsent[id / SPAN] + 1) invented++;
        }
    }
    /* how many notifications aborted retrieves held: each may come back.
     * Read once the store has stopped: it writes its log lines in batches,
     * a little after the events, and all of them before it exits. */
    agent_unlisten(lsp);
    agent_unlisten(lqp);
    T_OK(agent_store_stop(store) == 0, "filter_crash: store stops cleanly");
    {
        FILE *f;
        char line[512];
        snprintf(cmd, sizeof cmd, "%s/store.log", dir);
        f = fopen(cmd, "r");
        while (f && fgets(line, sizeof line, f)) {
            char *c = strstr(line, "retrieve abort ");
            if (c && (c = strstr(c, " count="))) aborted += atoll(c + 7);
        }
        if (f) fclose(f);
    }
    T_OK(nacked > 0, "filter_crash: submissions acknowledged (%zu)", nacked);
    T_OK(lost == 0, "filter_crash: no acknowledged notification lost (%zu)", lost);
    T_OK(invented == 0 && bad == 0, "filter_crash: nothing invented (%zu, %zu)", invented, bad);
    T_OK((long long)dups <= aborted,
         "filter_crash: duplicates only from aborted retrieves (%zu dup, %lld aborted)", dups,
         aborted);
    printf("# %d kills, %zu acknowledged, %zu duplicates, %lld in aborted retrieves\n", kills,
           nacked, dups, aborted);
    if (!getenv("KEEP")) agent_rmdir(dir);
    return t_done();
}
