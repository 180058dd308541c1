/*
 * Slow and idle clients: a normal RNASP session (connect, CommandNotify,
 * response, close) and a normal RNAQP session are timed alone, then
 * again while $RNA_IDLE (default 50; make torture: 1000) idle RNAQP
 * connections and 20 slowloris writers (one octet every 200 ms) hold
 * their own rnaqp-d / rnasp-d processes. The ratio is reported; it is
 * asserted (<= 2x) only with RNA_TORTURE=1, since make check runs on
 * shared, noisy machines. Pairs alternate A B A B to cancel drift.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent.h"
#include "frame.h"
#include "pdu.h"
#include "t.h"

static int sp, qp;

static int64_t sp_session(uint32_t id)
{
    unsigned char buf[2048];
    struct frame_rd rd;
    const unsigned char *b;
    size_t l;
    int64_t t = clock_ms();
    int fd = agent_connect(sp), ok = 0;
    if (fd < 0) return -1;
    if (frame_rd_init(&rd, fd, 1u << 20) == 0) {
        size_t n = agent_frame_notify(buf, sizeof buf, "alice", "example.org", id, 1);
        ok = frame_write_all(fd, buf, n, clock_ms() + 5000) == 0 &&
             frame_get(&rd, clock_ms() + 10000, &b, &l) == FRAME_OK;
        frame_rd_free(&rd);
    }
    close(fd);
    return ok ? clock_ms() - t : -1;
}

static int64_t qp_session(void)
{
    unsigned char buf[512];
    struct frame_rd rd;
    const unsigned char *b;
    size_t l, n;
    int64_t t = clock_ms();
    int fd = agent_connect(qp), ok = 0;
    if (fd < 0) return -1;
    if (frame_rd_init(&rd, fd, 64u << 20) == 0) {
        n = agent_frame_auth(buf, sizeof buf, "alice", "pw");
        n += agent_frame_retrieve(buf + n, sizeof buf - n);
        ok = frame_write_all(fd, buf, n, clock_ms() + 5000) == 0 &&
             frame_get(&rd, clock_ms() + 10000, &b, &l) == FRAME_OK &&
             frame_get(&rd, clock_ms() + 10000, &b, &l) == FRAME_OK;
        frame_rd_free(&rd);
    }
    shutdown(fd, SHUT_WR);
    close(fd);
    return ok ? clock_ms() - t : -1;
}

static int cmp64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static int64_t median(int64_t *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp64);
    return v[n / 2];
}

int main(void)
{
    static const char *accts[] = {"alice"};
    static const char *pws[] = {"pw"};
    static const char *env[] = {"AUTH_DELAY_MS=0", "IDLE_TIMEOUT=600", NULL};
    const char *ie = getenv("RNA_IDLE");
    int idle = ie ? atoi(ie) : 50, torture = getenv("RNA_TORTURE") != NULL;
    int R = torture ? 9 : 5;
    enum { RMAX = 9, SLOW = 20 };
    int64_t a_sp[RMAX], b_sp[RMAX], a_qp[RMAX], b_qp[RMAX];
    int *idlefd, slowfd[SLOW], i, r, opened = 0, bad = 0;
    const char *dir;
    pid_t store, lsp, lqp, loris;
    double rsp, rqp;

    signal(SIGPIPE, SIG_IGN);
    {
        struct rlimit rl;
        if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
            rl.rlim_cur = rl.rlim_max; /* a thousand idle connections need the room */
            setrlimit(RLIMIT_NOFILE, &rl);
        }
    }
    idlefd = calloc((size_t)idle, sizeof *idlefd);
    dir = agent_mkdir();
    agent_cfg_reset();
    agent_cfg_domain("example.org");
    agent_cfg_mbox("alice", "example.org", "alice");
    agent_cfg_set("quota-account", "1000000");
    T_OK(agent_cfg_write(dir) == 0 && agent_auth_write(dir, accts, pws, 1) == 0, "config");
    store = agent_store_start(dir, 0);
    lsp = agent_listen_c("rnasp-d", dir, env, &sp, SLOW + 40);
    lqp = agent_listen_c("rnaqp-d", dir, env, &qp, idle + 40);
    T_OK(store > 0 && lsp > 0 && lqp > 0 && idlefd, "store and listeners up");
    if (store <= 0 || lsp <= 0 || lqp <= 0 || !idlefd) return t_done();

    for (r = 0; r < R; r++) {
        /* A: quiet */
        a_sp[r] = sp_session((uint32_t)r);
        a_qp[r] = qp_session();
        /* B: with idle connections and slowloris writers */
        for (i = opened; i < idle; i++) idlefd[i] = agent_connect(qp);
        opened = idle;
        for (i = 0; i < SLOW; i++) slowfd[i] = agent_connect(sp);
        loris = fork();
        if (loris == 0) {
            for (;;) {
                for (i = 0; i < SLOW; i++)
                    if (slowfd[i] >= 0 && write(slowfd[i], "\0", 1) < 0) slowfd[i] = -1;
                usleep(200000);
            }
        }
        usleep((useconds_t)(300000 + 2000 * idle)); /* let the idle ones settle */
        b_sp[r] = sp_session(1000 + (uint32_t)r);
        b_qp[r] = qp_session();
        kill(loris, SIGKILL);
        waitpid(loris, NULL, 0);
        for (i = 0; i < SLOW; i++)
            if (slowfd[i] >= 0) close(slowfd[i]);
        if (a_sp[r] < 0 || b_sp[r] < 0 || a_qp[r] < 0 || b_qp[r] < 0) bad++;
        if (r + 1 < R) { /* idle ones go away for the next quiet run */
            for (i = 0; i < idle; i++)
                if (idlefd[i] >= 0) close(idlefd[i]);
            opened = 0;
            usleep(300000);
        }
    }
    for (i = 0; i < opened; i++)
        if (idlefd[i] >= 0) close(idlefd[i]);
    T_OK(bad == 0, "slowclients: every normal session completed under load");
    rsp = (double)median(b_sp, R) / (double)(median(a_sp, R) ? median(a_sp, R) : 1);
    rqp = (double)median(b_qp, R) / (double)(median(a_qp, R) ? median(a_qp, R) : 1);
    printf("# %d idle RNAQP connections, %d slowloris writers: RNASP session %lld ms -> %lld ms "
           "(x%.2f), RNAQP session %lld ms -> %lld ms (x%.2f)\n",
           idle, SLOW, (long long)median(a_sp, R), (long long)median(b_sp, R), rsp,
           (long long)median(a_qp, R), (long long)median(b_qp, R), rqp);
    if (torture) {
        /* a few ms of noise make a ratio of small numbers jump: allow 5 ms */
        T_OK(median(b_sp, R) <= 2 * median(a_sp, R) + 5, "slowclients: RNASP within 2x (x%.2f)", rsp);
        T_OK(median(b_qp, R) <= 2 * median(a_qp, R) + 5, "slowclients: RNAQP within 2x (x%.2f)", rqp);
    }
    agent_unlisten(lsp);
    agent_unlisten(lqp);
    T_OK(agent_store_stop(store) == 0, "slowclients: store stops cleanly");
    free(idlefd);
    if (!getenv("KEEP")) agent_rmdir(dir);
    return t_done();
}
