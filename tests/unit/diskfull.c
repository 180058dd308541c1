/*
 * The store's directory on a real, small tmpfs: filled up, then remounted
 * read-only, then given room again. Nothing is acknowledged that is not
 * durable; the store refuses while it cannot write and recovers once it
 * can. Needs root (mount); without it the test says so and checks the
 * RLIMIT_FSIZE variant in tests/unit/store.c instead.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent.h"
#include "frame.h"
#include "storec.h"
#include "t.h"

#define ST "store.example.net"

static const char *dir;

static int submit1(uint32_t id)
{
    struct storec c;
    struct agent_notif n;
    int st;
    memset(&c, 0, sizeof c);
    if (storec_open(&c, dir, clock_ms() + 3000) < 0) return -1;
    agent_notif(&n, "alice", "example.org", ST, id);
    st = agent_submit(&c, "192.0.2.1", &n, 1, NULL, NULL, NULL);
    storec_close(&c);
    return st;
}

static long held(void)
{
    struct storec c;
    uint32_t ids[1];
    size_t n = 0;
    memset(&c, 0, sizeof c);
    if (storec_open(&c, dir, clock_ms() + 3000) < 0) return -1;
    if (agent_rbegin(&c, "alice", ids, 1, &n) != STORE_OK) n = (size_t)-1;
    agent_simple(&c, STORE_OP_RABORT);
    storec_close(&c);
    return (long)n;
}

int main(void)
{
    char mnt[700];
    pid_t pid;
    int i, st = STORE_OK, acked = 0;

    signal(SIGPIPE, SIG_IGN);
    if (geteuid() != 0) {
        T_OK(1, "diskfull: skipped, mounting a tmpfs needs root (store.c covers RLIMIT_FSIZE)");
        return t_done();
    }
    dir = agent_mkdir();
    agent_cfg_reset();
    agent_cfg_domain("example.org");
    agent_cfg_mbox("alice", "example.org", "alice");
    agent_cfg_set("quota-account", "1000000");
    T_OK(agent_cfg_write(dir) == 0, "config");
    snprintf(mnt, sizeof mnt, "%s/store", dir);
    mkdir(mnt, 0750);
    if (mount("tmpfs", mnt, "tmpfs", 0, "size=256k") < 0) {
        T_OK(1, "diskfull: skipped, this machine does not allow a tmpfs mount (%s)",
             strerror(errno));
        agent_rmdir(dir);
        return t_done();
    }
    pid = agent_store_start(dir, 0);
    T_OK(pid > 0, "diskfull: store starts on a 256 KiB tmpfs");
    for (i = 0; i < 5000 && st == STORE_OK; i++) {
        st = submit1((uint32_t)i);
        if (st == STORE_OK) acked++;
    }
    T_OK(st == STORE_INTERNAL, "diskfull: full tmpfs refuses with internal after %d (%d)", acked, st);
    T_OK(held() == acked, "diskfull: exactly the acknowledged are held, retrieve still served");
    T_OK(mount("tmpfs", mnt, "tmpfs", MS_REMOUNT, "size=8m") == 0, "diskfull: room returns");
    T_OK(submit1(90000) == STORE_OK, "diskfull: accepted again once room returns");
    acked++;

    /* Read-only: Linux refuses to remount while the journal is open for
     * writing, so the case is a store that starts on a read-only
     * directory: it must refuse to run (111) and lose nothing. */
    T_OK(agent_store_stop(pid) == 0, "diskfull: store stops");
    T_OK(mount("tmpfs", mnt, "tmpfs", MS_REMOUNT | MS_RDONLY, NULL) == 0,
         "diskfull: remount read-only");
    pid = agent_store_start(dir, 0);
    if (pid > 0) {
        T_OK(0, "diskfull: store refused to start on a read-only directory");
        agent_store_stop(pid);
    } else {
        T_OK(agent_log_count(dir, "store.log", "fatal:") >= 1,
             "diskfull: read-only store directory: exits 111 with a fatal line");
    }
    T_OK(mount("tmpfs", mnt, "tmpfs", MS_REMOUNT, "size=8m") == 0, "diskfull: read-write again");
    pid = agent_store_start(dir, 0);
    T_OK(pid > 0, "diskfull: store restarts after recovery");
    T_OK(held() == acked, "diskfull: every acknowledged notification survives (%ld of %d)",
         held(), acked);
    T_OK(submit1(200000) == STORE_OK, "diskfull: serves normally after recovery");
    T_OK(agent_store_stop(pid) == 0, "diskfull: store stops cleanly");
    umount2(mnt, MNT_DETACH);
    if (!getenv("KEEP")) agent_rmdir(dir);
    return t_done();
}
