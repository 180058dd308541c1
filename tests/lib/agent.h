/*
 * agent: helpers for tests that run the real rna-store: a scratch agent
 * directory, a configuration written as a real cdb with the schema of
 * doc/config-cdb.md, starting and stopping the store by PID, and a few
 * store-protocol calls built on lib/storec.
 */
#ifndef RNA_TEST_AGENT_H
#define RNA_TEST_AGENT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "pdu.h"
#include "storec.h"

/* Make a fresh agent directory under $TMPDIR; returns a static path. */
const char *agent_mkdir(void);
void agent_rmdir(const char *dir);

/* Configuration: collect pairs, then write DIR/config/store.cdb
 * atomically. Keys and values are text; "\0" in keys is written with
 * agent_cfg_add_mbox / _prefix which know the schema. */
void agent_cfg_reset(void);
void agent_cfg_set(const char *name, const char *value);  /* set:NAME */
void agent_cfg_domain(const char *domain);
void agent_cfg_mbox(const char *localpart, const char *domain, const char *acct);
void agent_cfg_prefix(const char *prefix, const char *domain, const char *acct);
void agent_cfg_acct(const char *acct, const char *settings);
void agent_cfg_filter(const char *acct, const char *lines); /* acct "" = global */
int agent_cfg_write(const char *dir);

/* Start build/bin/rna-store DIR with stderr to DIR/store.log; wait until
 * its socket answers. fsize_limit > 0 sets RLIMIT_FSIZE in the child. */
pid_t agent_store_start(const char *dir, long fsize_limit);
/* SIGTERM and wait; returns the exit status (or -1). */
int agent_store_stop(pid_t pid);
void agent_store_kill9(pid_t pid);

/* A notification for localpart@domain at store "storedom" with
 * identifier byte pattern idb (all 16 octets = idb, then id[15] = idx). */
struct agent_notif {
    char localpart[256];
    char domain[256];
    char store[256];
    unsigned char id[16];
    char sender[256];
    int has_size;
    uint64_t size;
};
void agent_notif(struct agent_notif *a, const char *lp, const char *dom,
                 const char *store, uint32_t idnum);

/* Submit a batch over an open storec. Returns the store status; on
 * NOMAILBOX/QUOTA fills pos[] (npos); on OK fills counts[4] (accepted,
 * collapsed, discarded, replaced). -1 on transport failure. */
int agent_submit(struct storec *c, const char *subip, const struct agent_notif *n,
                 size_t count, uint32_t *pos, size_t *npos, uint32_t counts[4]);

/* Retrieve begin: returns status; NALD identifiers' last 4 octets (the
 * idnum) into ids[] in order, *nids set (up to max). */
int agent_rbegin(struct storec *c, const char *acct, uint32_t *ids, size_t max,
                 size_t *nids);
int agent_simple(struct storec *c, unsigned op);
/* Stats value for key (global stats); -1 if absent. */
long long agent_stat(struct storec *c, const char *key);

#endif

/* ---- listeners (tests/lib/agent.c) ---- */

/* Write DIR/config/auth.cdb: n accounts with yescrypt hashes of pws. */
int agent_auth_write(const char *dir, const char *const *accts,
                     const char *const *pws, size_t n);
/* Start "tcpserver -HRl0 127.0.0.1 PORT BUILD/bin/PROG DIR" on a free
 * port with the extra environment "NAME=VALUE" strings in env (NULL
 * ended), stderr appended to DIR/PROG.log. Returns the tcpserver PID and
 * sets *port; -1 if it does not come up. */
pid_t agent_listen(const char *prog, const char *dir, const char *const *env,
                   int *port);
/* The same with tcpserver's concurrency limit -c. */
pid_t agent_listen_c(const char *prog, const char *dir, const char *const *env,
                     int *port, int maxconn);
/* Stop a listener by PID (SIGTERM, wait). */
void agent_unlisten(pid_t pid);
/* A TCP connection to 127.0.0.1:port, or -1. */
int agent_connect(int port);
/* Count lines of DIR/NAME matching a fixed string. */
int agent_log_count(const char *dir, const char *name, const char *needle);

/* ---- RNASP / RNAQP client frames (with the 4-octet length) ---- */

/* One Notification for lp@dom at store.example.net, identifier 5a..5a
 * ending in the 32-bit id. */
void agent_put_notif(struct der_w *w, const char *lp, const char *dom,
                     uint32_t id, const char *sender);
size_t agent_frame_notify(unsigned char *buf, size_t cap, const char *lp,
                          const char *dom, uint32_t id0, int count);
size_t agent_frame_auth(unsigned char *buf, size_t cap, const char *a,
                        const char *p);
size_t agent_frame_retrieve(unsigned char *buf, size_t cap);
