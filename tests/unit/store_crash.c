/*
 * Crash consistency of rna-store: submitters and a reader under load
 * while the store is killed with SIGKILL at random moments and restarted
 * ($RNA_CRASH_CYCLES times, default 20). Checked against the clients'
 * own records:
 *  - every acknowledged notification is still held at the end, or was
 *    returned to the reader by a retrieve whose commit was sent;
 *  - none is returned twice, unless an earlier retrieve of it ended
 *    without a commit acknowledgement (an abort, which may repeat);
 *  - none is invented.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "frame.h"
#include "storec.h"
#include "t.h"

#define WRITERS 3
#define MAXID 200000
#define ST "store.example.net"

static const char *dir;
static volatile sig_atomic_t stop;

static void on_term(int sig)
{
    (void)sig;
    stop = 1;
}

static void logid(int fd, char tag, uint32_t id)
{
    char line[32];
    int n = snprintf(line, sizeof line, "%c %u\n", tag, id);
    if (write(fd, line, (size_t)n) != n) _exit(2);
}

static int conn(struct storec *c)
{
    memset(c, 0, sizeof *c);
    c->fd = -1;
    return storec_open(c, dir, clock_ms() + 1000);
}

static void writer(int w, int logfd)
{
    struct storec c;
    uint32_t seq = 0;
    int connected = 0;
    signal(SIGTERM, on_term);
    while (!stop && seq < 60000) {
        struct agent_notif n[3];
        uint32_t cnt[4];
        int k, st;
        if (!connected) {
            if (conn(&c) < 0) {
                usleep(10000);
                continue;
            }
            connected = 1;
        }
        for (k = 0; k < 3; k++)
            agent_notif(&n[k], (seq + (uint32_t)k) % 2 ? "alice" : "bob", "example.org",
                        ST, (uint32_t)w * 60000 + seq + (uint32_t)k);
        st = agent_submit(&c, "192.0.2.9", n, 3, NULL, NULL, cnt);
        if (st == STORE_OK)
            for (k = 0; k < 3; k++) logid(logfd, 'A', (uint32_t)w * 60000 + seq + (uint32_t)k);
        if (st < 0) {
            storec_close(&c);
            connected = 0;
        }
        seq += 3; /* a failed batch is never retried: it may or may not be held */
    }
    if (connected) storec_close(&c);
    _exit(0);
}

static void reader(int logfd)
{
    static uint32_t ids[70000];
    struct storec c;
    int connected = 0, turn = 0;
    signal(SIGTERM, on_term);
    while (!stop) {
        size_t n = 0, i;
        int st;
        if (!connected) {
            if (conn(&c) < 0) {
                usleep(10000);
                continue;
            }
            connected = 1;
        }
        st = agent_rbegin(&c, turn++ % 2 ? "alice" : "bob", ids, 70000, &n);
        if (st != STORE_OK) {
            storec_close(&c);
            connected = 0;
            continue;
        }
        for (i = 0; i < n; i++) logid(logfd, 'U', ids[i]); /* commit about to be sent */
        if (agent_simple(&c, STORE_OP_RCOMMIT) == STORE_OK) {
            for (i = 0; i < n; i++) logid(logfd, 'C', ids[i]);
        } else {
            storec_close(&c);
            connected = 0;
        }
        usleep(2000);
    }
    if (connected) storec_close(&c);
    _exit(0);
}

static unsigned char acked[MAXID], returned[MAXID], uncertain[MAXID], held[MAXID];

static void read_log(const char *path, int *bad)
{
    FILE *f = fopen(path, "r");
    char tag;
    unsigned id;
    /* per retrieve: ids written 'U' and not followed by 'C' are uncertain */
    static unsigned char u[MAXID];
    if (!f) {
        *bad = 1;
        return;
    }
    while (fscanf(f, " %c %u", &tag, &id) == 2) {
        if (id >= MAXID) {
            *bad = 1;
            continue;
        }
        if (tag == 'A') acked[id] = 1;
        else if (tag == 'U') {
            if (u[id]) uncertain[id] = 1; /* a previous one never got 'C' */
            u[id] = 1;
        } else if (tag == 'C') {
            u[id] = 0;
            if (returned[id] && !uncertain[id]) *bad = 2;
            returned[id]++;
        }
    }
    fclose(f);
    for (id = 0; id < MAXID; id++)
        if (u[id]) uncertain[id] = 1;
}

int main(void)
{
    const char *cy = getenv("RNA_CRASH_CYCLES");
    int cycles = cy ? atoi(cy) : 20;
    char wlog[WRITERS][700], rlog[700];
    pid_t wp[WRITERS], rp, sp;
    int i, fd, bad = 0, restarts_ok = 1;
    size_t lost = 0, twice = 0, invented = 0, total_acked = 0, remaining = 0;

    signal(SIGPIPE, SIG_IGN);
    srand((unsigned)time(NULL) ^ (unsigned)getpid());
    dir = agent_mkdir();
    agent_cfg_reset();
    agent_cfg_domain("example.org");
    agent_cfg_mbox("alice", "example.org", "alice");
    agent_cfg_mbox("bob", "example.org", "bob");
    agent_cfg_set("quota-account", "1000000");
    T_OK(agent_cfg_write(dir) == 0, "write config");
    sp = agent_store_start(dir, 0);
    T_OK(sp > 0, "store starts");
    if (sp <= 0) return t_done();

    for (i = 0; i < WRITERS; i++) {
        snprintf(wlog[i], sizeof wlog[i], "%s/writer%d.log", dir, i);
        fd = open(wlog[i], O_WRONLY | O_CREAT | O_APPEND, 0644);
        wp[i] = fork();
        if (wp[i] == 0) writer(i, fd);
        close(fd);
    }
    snprintf(rlog, sizeof rlog, "%s/reader.log", dir);
    fd = open(rlog, O_WRONLY | O_CREAT | O_APPEND, 0644);
    rp = fork();
    if (rp == 0) reader(fd);
    close(fd);

    for (i = 0; i < cycles; i++) {
        usleep((useconds_t)(20000 + rand() % 180000));
        agent_store_kill9(sp);
        sp = agent_store_start(dir, 0);
        if (sp <= 0) {
            restarts_ok = 0;
            break;
        }
    }
    T_OK(restarts_ok, "store restarts after every SIGKILL (%d cycles)", cycles);
    for (i = 0; i < WRITERS; i++) kill(wp[i], SIGTERM);
    kill(rp, SIGTERM);
    for (i = 0; i < WRITERS; i++) waitpid(wp[i], NULL, 0);
    waitpid(rp, NULL, 0);
    /* a last restart, then read what is held */
    if (sp > 0) agent_store_kill9(sp);
    sp = agent_store_start(dir, 0);
    T_OK(sp > 0, "store starts after the last kill");
    {
        static uint32_t ids[MAXID];
        struct storec c;
        const char *acc[2] = {"alice", "bob"};
        int a;
        for (a = 0; a < 2; a++) {
            size_t n = 0, k;
            if (conn(&c) < 0 || agent_rbegin(&c, acc[a], ids, MAXID, &n) != STORE_OK) {
                bad = 3;
                continue;
            }
            for (k = 0; k < n && k < MAXID; k++) {
                if (ids[k] >= MAXID) {
                    invented++;
                    continue;
                }
                if (held[ids[k]]) twice++;
                held[ids[k]] = 1;
            }
            agent_simple(&c, STORE_OP_RABORT);
            storec_close(&c);
        }
    }
    for (i = 0; i < WRITERS; i++) read_log(wlog[i], &bad);
    read_log(rlog, &bad);
    {
        uint32_t id, maxacked[WRITERS] = {0};
        for (id = 0; id < MAXID; id++)
            if (acked[id] && id / 60000 < WRITERS) maxacked[id / 60000] = id;
        for (id = 0; id < MAXID; id++) {
            /* a notification no writer sent: beyond the batch each writer
             * had in flight after its last acknowledgement */
            if ((held[id] || returned[id]) &&
                (id / 60000 >= WRITERS || id > maxacked[id / 60000] + 3))
                invented++;
            if (acked[id]) total_acked++;
            if (held[id]) remaining++;
            if (acked[id] && !held[id] && !returned[id] && !uncertain[id]) lost++;
            if (held[id] && returned[id] && !uncertain[id]) twice++;
        }
    }
    T_OK(total_acked > 0, "crash: submitters were acknowledged (%zu)", total_acked);
    T_OK(bad == 0, "crash: logs consistent, no committed notification returned twice (code %d)", bad);
    T_OK(lost == 0, "crash: no acknowledged notification lost (%zu lost)", lost);
    T_OK(twice == 0, "crash: no committed clear came back, no duplicate held (%zu)", twice);
    T_OK(invented == 0, "crash: nothing invented (%zu)", invented);
    printf("# %d kills, %zu acknowledged, %zu still held\n", cycles, total_acked, remaining);
    T_OK(agent_store_stop(sp) == 0, "store stops cleanly");
    if (!getenv("KEEP")) agent_rmdir(dir);
    return t_done();
}
