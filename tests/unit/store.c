/*
 * rna-store against the real binary: routing, collapse, quotas with both
 * policies, every filter kind, ordering, begin/commit/abort and
 * disconnect-as-abort, restart with replay, a torn journal tail,
 * compaction equivalence, expiry, reload with a broken cdb, a full disk
 * (RLIMIT_FSIZE), and concurrent submitters with a concurrent reader.
 * The kill -9 cycles are in tests/unit/store_crash.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "frame.h"
#include "hash.h"
#include "pdu.h"
#include "storec.h"
#include "t.h"

#define ST "store.example.net"

static const char *dir;
static pid_t pid;

static void base_config(void)
{
    agent_cfg_reset();
    agent_cfg_domain("example.org");
    agent_cfg_domain("example.com");
    agent_cfg_mbox("alice", "example.org", "alice");
    agent_cfg_mbox("bob", "example.org", "bob");
    agent_cfg_mbox("sales-boss", "example.org", "boss");
    agent_cfg_prefix("sales-", "example.org", "sales");
    agent_cfg_prefix("sales-eu-", "example.org", "saleseu");
    agent_cfg_mbox("carol", "example.com", "carol");
    agent_cfg_mbox("alice", "example.com", "alice");
}

static void restart(void)
{
    T_OK(agent_store_stop(pid) == 0, "store exits 0 on SIGTERM");
    pid = agent_store_start(dir, 0);
    T_OK(pid > 0, "store restarts");
}

static int conn(struct storec *c)
{
    memset(c, 0, sizeof *c);
    c->fd = -1;
    return storec_open(c, dir, clock_ms() + 5000);
}

/* Retrieve and commit everything of acct; ids into out. */
static size_t drain(const char *acct, uint32_t *out, size_t max)
{
    struct storec c;
    size_t n = 0;
    if (conn(&c) < 0) return (size_t)-1;
    if (agent_rbegin(&c, acct, out, max, &n) != STORE_OK) n = (size_t)-1;
    else if (agent_simple(&c, STORE_OP_RCOMMIT) != STORE_OK) n = (size_t)-1;
    storec_close(&c);
    return n;
}

static int submit1(const char *lp, const char *dom, const char *store,
                   uint32_t id, uint32_t counts[4])
{
    struct storec c;
    struct agent_notif n;
    int st;
    if (conn(&c) < 0) return -1;
    agent_notif(&n, lp, dom, store, id);
    st = agent_submit(&c, "192.0.2.1", &n, 1, NULL, NULL, counts);
    storec_close(&c);
    return st;
}

static void test_routing(void)
{
    struct storec c;
    struct agent_notif n[6];
    uint32_t pos[8], ids[16], cnt[4];
    size_t np = 0;

    T_OK(conn(&c) == 0, "connect to store");
    agent_notif(&n[0], "alice", "example.org", ST, 1);
    agent_notif(&n[1], "nobody", "example.org", ST, 2);
    agent_notif(&n[2], "alice", "example.net", ST, 3); /* domain not served */
    agent_notif(&n[3], "bob", "EXAMPLE.ORG", ST, 4);
    T_OK(agent_submit(&c, "192.0.2.1", n, 4, pos, &np, NULL) == STORE_NOMAILBOX,
         "routing_unknown_mailbox_rejects_batch");
    T_OK(np == 2 && pos[0] == 1 && pos[1] == 2,
         "routing_rejected_lists_exactly_unknown_positions");
    T_OK(drain("alice", ids, 16) == 0 && drain("bob", ids, 16) == 0,
         "routing_rejected_batch_stores_nothing");

    agent_notif(&n[0], "bob", "Example.ORG", ST, 10);
    agent_notif(&n[1], "sales-x", "example.org", ST, 11);
    agent_notif(&n[2], "sales-eu-y", "example.org", ST, 12);
    agent_notif(&n[3], "sales-boss", "example.org", ST, 13);
    agent_notif(&n[4], "sales-", "example.org", ST, 14);
    agent_notif(&n[5], "alice", "example.com", ST, 15);
    T_OK(agent_submit(&c, "192.0.2.1", n, 6, pos, &np, cnt) == STORE_OK &&
             cnt[0] == 6,
         "routing_batch_of_known_mailboxes_accepted");
    storec_close(&c);
    T_OK(drain("bob", ids, 16) == 1 && ids[0] == 10,
         "routing_domain_case_insensitive");
    T_OK(drain("sales", ids, 16) == 2 && ids[0] == 11 && ids[1] == 14,
         "routing_prefix_maps_prefix_and_longer");
    T_OK(drain("saleseu", ids, 16) == 1 && ids[0] == 12,
         "routing_longest_prefix_wins");
    T_OK(drain("boss", ids, 16) == 1 && ids[0] == 13, "routing_exact_beats_prefix");
    T_OK(drain("alice", ids, 16) == 1 && ids[0] == 15,
         "routing_account_gathers_mailboxes_of_several_domains");
    T_OK(submit1("Alice", "example.org", ST, 16, NULL) == STORE_NOMAILBOX,
         "routing_localpart_compares_exactly");
}

static void test_collapse(void)
{
    struct storec c;
    struct agent_notif n[4];
    uint32_t cnt[4], ids[16];

    T_OK(conn(&c) == 0, "connect to store");
    agent_notif(&n[0], "alice", "example.org", ST, 100);
    agent_notif(&n[1], "alice", "example.org", ST, 100);            /* same PDU */
    agent_notif(&n[2], "alice", "EXAMPLE.org", "Store.Example.NET", 100); /* case */
    agent_notif(&n[3], "alice", "example.org", "other.example.net", 100);
    strcpy(n[1].sender, "different@example.net"); /* the first copy wins */
    T_OK(agent_submit(&c, "192.0.2.1", n, 4, NULL, NULL, cnt) == STORE_OK &&
             cnt[0] == 2 && cnt[1] == 2,
         "collapse_in_one_pdu_and_case_insensitive_domains (accepted=%u collapsed=%u)",
         cnt[0], cnt[1]);
    T_OK(agent_submit(&c, "192.0.2.1", n, 1, NULL, NULL, cnt) == STORE_OK &&
             cnt[0] == 0 && cnt[1] == 1,
         "collapse_repeat_in_later_transaction_changes_nothing");
    storec_close(&c);
    T_OK(drain("alice", ids, 16) == 2, "collapse_distinct_store_is_distinct");
    T_OK(submit1("alice", "example.org", ST, 100, cnt) == STORE_OK && cnt[0] == 1,
         "collapse_after_clear_creates_afresh");
    drain("alice", ids, 16);
}

static void test_quota(void)
{
    struct storec c;
    struct agent_notif n[5];
    uint32_t pos[8], cnt[4], ids[16];
    size_t np, i;

    base_config();
    agent_cfg_acct("alice", "quota=3 policy=none");
    agent_cfg_acct("bob", "quota=3 policy=oldest");
    T_OK(agent_cfg_write(dir) == 0, "write config");
    T_OK(conn(&c) == 0, "connect to store");
    T_OK(agent_simple(&c, STORE_OP_RELOAD) == STORE_OK, "reload request accepted");

    for (i = 0; i < 5; i++) agent_notif(&n[i], "alice", "example.org", ST, 200 + (uint32_t)i);
    T_OK(agent_submit(&c, "192.0.2.1", n, 2, NULL, NULL, cnt) == STORE_OK,
         "quota_fill_under_bound");
    T_OK(agent_submit(&c, "192.0.2.1", n + 2, 3, pos, &np, NULL) == STORE_QUOTA &&
             np == 2 && pos[0] == 1 && pos[1] == 2,
         "quota_none_rejects_positions_past_room");
    T_OK(agent_submit(&c, "192.0.2.1", n, 2, NULL, NULL, cnt) == STORE_OK &&
             cnt[1] == 2,
         "quota_repeats_accepted_when_full_path");
    T_OK(agent_submit(&c, "192.0.2.1", n + 2, 1, NULL, NULL, cnt) == STORE_OK,
         "quota_last_slot_fills");
    T_OK(agent_submit(&c, "192.0.2.1", n, 3, NULL, NULL, cnt) == STORE_OK &&
             cnt[1] == 3,
         "quota_repeat_accepted_even_when_full");
    T_OK(drain("alice", ids, 16) == 3 && ids[0] == 200 && ids[2] == 202,
         "quota_rejected_batch_stored_nothing");

    for (i = 0; i < 5; i++) agent_notif(&n[i], "bob", "example.org", ST, 300 + (uint32_t)i);
    T_OK(agent_submit(&c, "192.0.2.1", n, 3, NULL, NULL, cnt) == STORE_OK, "fill bob");
    T_OK(agent_submit(&c, "192.0.2.1", n + 3, 2, NULL, NULL, cnt) == STORE_OK &&
             cnt[0] == 2 && cnt[3] == 2,
         "quota_oldest_replaces_oldest (replaced=%u)", cnt[3]);
    T_OK(drain("bob", ids, 16) == 3 && ids[0] == 302 && ids[1] == 303 && ids[2] == 304,
         "quota_oldest_keeps_newest_in_order");

    /* global bound */
    base_config();
    agent_cfg_set("quota-total", "4");
    T_OK(agent_cfg_write(dir) == 0, "write config");
    T_OK(agent_simple(&c, STORE_OP_RELOAD) == STORE_OK, "reload");
    for (i = 0; i < 5; i++) agent_notif(&n[i], i % 2 ? "bob" : "alice", "example.org", ST, 400 + (uint32_t)i);
    T_OK(agent_submit(&c, "192.0.2.1", n, 5, pos, &np, NULL) == STORE_QUOTA &&
             np == 1 && pos[0] == 4,
         "quota_total_none_rejects_past_global_room");
    T_OK(agent_submit(&c, "192.0.2.1", n, 4, NULL, NULL, cnt) == STORE_OK, "fill global");
    agent_cfg_set("policy-total", "oldest");
    T_OK(agent_cfg_write(dir) == 0 && agent_simple(&c, STORE_OP_RELOAD) == STORE_OK,
         "reload with policy-total oldest");
    T_OK(agent_submit(&c, "192.0.2.1", n + 4, 1, NULL, NULL, cnt) == STORE_OK &&
             cnt[3] == 1,
         "quota_total_oldest_replaces_oldest_overall");
    T_OK(drain("alice", ids, 16) == 2 && ids[0] == 402 && ids[1] == 404,
         "quota_total_oldest_evicted_the_first_accepted");
    drain("bob", ids, 16);
    storec_close(&c);
    base_config();
    agent_cfg_write(dir);
}

static void test_filters(void)
{
    struct storec c;
    struct agent_notif n[6];
    uint32_t cnt[4], ids[16];

    base_config();
    agent_cfg_filter("", "submitter 198.51.100.0/24\nstore .spam.example\nstore exact.example\n");
    agent_cfg_filter("alice", "sender @junk.example\nsize 1000\nsender exact@x.example\n");
    T_OK(agent_cfg_write(dir) == 0, "write config");
    T_OK(conn(&c) == 0, "connect");
    T_OK(agent_simple(&c, STORE_OP_RELOAD) == STORE_OK, "reload");
    agent_notif(&n[0], "alice", "example.org", "a.spam.example", 500);
    agent_notif(&n[1], "alice", "example.org", ST, 501);
    strcpy(n[1].sender, "x@JUNK.example");
    agent_notif(&n[2], "alice", "example.org", ST, 502);
    n[2].has_size = 1;
    n[2].size = 1001;
    agent_notif(&n[3], "alice", "example.org", ST, 503);
    n[3].has_size = 1;
    n[3].size = 1000;
    agent_notif(&n[4], "alice", "example.org", ST, 504);
    strcpy(n[4].sender, "exact@x.example");
    agent_notif(&n[5], "bob", "example.org", ST, 505);
    n[5].has_size = 1;
    n[5].size = 5000; /* alice's filter does not apply to bob */
    T_OK(agent_submit(&c, "192.0.2.1", n, 6, NULL, NULL, cnt) == STORE_OK &&
             cnt[0] == 2 && cnt[2] == 4,
         "filters_discard_silently (accepted=%u discarded=%u)", cnt[0], cnt[2]);
    agent_notif(&n[0], "bob", "example.org", ST, 506);
    T_OK(agent_submit(&c, "198.51.100.7", n, 1, NULL, NULL, cnt) == STORE_OK &&
             cnt[2] == 1,
         "filters_submitter_prefix_discards");
    agent_notif(&n[0], "bob", "example.org", "EXACT.example", 507);
    agent_notif(&n[1], "bob", "example.org", "sub.exact.example", 508);
    T_OK(agent_submit(&c, "192.0.2.1", n, 2, NULL, NULL, cnt) == STORE_OK &&
             cnt[0] == 1 && cnt[2] == 1,
         "filters_store_exact_matches_only_that_name");
    storec_close(&c);
    T_OK(drain("alice", ids, 16) == 1 && ids[0] == 503, "filters_size_bound_is_strict");
    T_OK(drain("bob", ids, 16) == 2 && ids[0] == 505 && ids[1] == 508,
         "filters_per_account_only_for_owner");
    base_config();
    agent_cfg_write(dir);
    T_OK(conn(&c) == 0 && agent_simple(&c, STORE_OP_RELOAD) == STORE_OK, "reload base");
    storec_close(&c);
}

static void test_retrieve(void)
{
    struct storec a, b;
    uint32_t ids[64];
    size_t n;
    int i;

    for (i = 0; i < 5; i++) submit1("carol", "example.com", ST, 600 + (uint32_t)i, NULL);
    T_OK(conn(&a) == 0 && conn(&b) == 0, "two store clients");
    T_OK(agent_rbegin(&a, "carol", ids, 64, &n) == STORE_OK && n == 5 &&
             ids[0] == 600 && ids[4] == 604,
         "retrieve_returns_all_oldest_first");
    submit1("carol", "example.com", ST, 605, NULL);
    T_OK(agent_rbegin(&b, "carol", ids, 64, &n) == STORE_OK && n == 1 && ids[0] == 605,
         "retrieve_pending_invisible_to_other_session");
    T_OK(agent_rbegin(&a, "carol", ids, 64, &n) == STORE_STATE,
         "retrieve_second_begin_on_same_connection_refused");
    T_OK(agent_simple(&a, STORE_OP_RABORT) == STORE_OK, "abort accepted");
    T_OK(agent_simple(&b, STORE_OP_RABORT) == STORE_OK, "abort accepted");
    T_OK(agent_rbegin(&a, "carol", ids, 64, &n) == STORE_OK && n == 6 &&
             ids[0] == 600 && ids[5] == 605,
         "retrieve_abort_restores_original_order");
    storec_close(&a); /* disconnect before commit */
    usleep(100000);
    T_OK(agent_rbegin(&b, "carol", ids, 64, &n) == STORE_OK && n == 6,
         "retrieve_disconnect_is_abort");
    T_OK(agent_simple(&b, STORE_OP_RCOMMIT) == STORE_OK, "commit accepted");
    T_OK(agent_simple(&b, STORE_OP_RCOMMIT) == STORE_STATE, "retrieve_commit_twice_refused");
    storec_close(&b);
    T_OK(drain("carol", ids, 64) == 0, "retrieve_commit_clears");
}

static void test_pending_counts_quota(void)
{
    struct storec a;
    uint32_t ids[8];
    size_t n;
    base_config();
    agent_cfg_acct("carol", "quota=2 policy=oldest");
    agent_cfg_write(dir);
    T_OK(conn(&a) == 0 && agent_simple(&a, STORE_OP_RELOAD) == STORE_OK, "reload");
    submit1("carol", "example.com", ST, 700, NULL);
    submit1("carol", "example.com", ST, 701, NULL);
    T_OK(agent_rbegin(&a, "carol", ids, 8, &n) == STORE_OK && n == 2, "begin");
    T_OK(submit1("carol", "example.com", ST, 702, NULL) == STORE_QUOTA,
         "quota_pending_count_and_cannot_be_replaced");
    T_OK(agent_simple(&a, STORE_OP_RABORT) == STORE_OK, "abort");
    T_OK(submit1("carol", "example.com", ST, 702, NULL) == STORE_OK,
         "quota_after_abort_oldest_replaced");
    storec_close(&a);
    T_OK(drain("carol", ids, 8) == 2 && ids[0] == 701 && ids[1] == 702, "order after replace");
    base_config();
    agent_cfg_write(dir);
    T_OK(conn(&a) == 0 && agent_simple(&a, STORE_OP_RELOAD) == STORE_OK, "reload base");
    storec_close(&a);
}

static void test_restart_replay(void)
{
    uint32_t ids[64];
    struct storec c;
    size_t n;
    int i;
    for (i = 0; i < 10; i++) submit1("alice", "example.org", ST, 800 + (uint32_t)i, NULL);
    T_OK(conn(&c) == 0, "connect");
    T_OK(agent_rbegin(&c, "alice", ids, 64, &n) == STORE_OK && n == 10, "begin 10");
    T_OK(agent_simple(&c, STORE_OP_RCOMMIT) == STORE_OK, "commit");
    storec_close(&c);
    for (i = 10; i < 15; i++) submit1("alice", "example.org", ST, 800 + (uint32_t)i, NULL);
    T_OK(conn(&c) == 0, "connect");
    T_OK(agent_rbegin(&c, "alice", ids, 64, &n) == STORE_OK && n == 5, "begin 5, left pending");
    restart(); /* the pending retrieve was never committed */
    storec_close(&c);
    T_OK(drain("alice", ids, 64) == 5 && ids[0] == 810 && ids[4] == 814,
         "replay_keeps_uncommitted_and_drops_committed");
}

/* Where the store's next record goes: the end of its last record, before
 * the zeros written ahead of it. -1 when the store does not answer. */
static long long journal_end(void)
{
    struct storec c;
    long long n = -1;
    if (conn(&c) == 0) {
        n = agent_stat(&c, "journal_bytes");
        storec_close(&c);
    }
    return n;
}

static void test_torn_tail(void)
{
    char path[700];
    uint32_t ids[64];
    struct storec c;
    struct stat st;
    long long end;
    int fd;
    submit1("bob", "example.org", ST, 900, NULL);
    submit1("bob", "example.org", ST, 901, NULL);
    end = journal_end();
    agent_store_kill9(pid);
    snprintf(path, sizeof path, "%s/store/journal.1", dir);
    /* a killed store leaves the zeros it wrote ahead of its records */
    T_OK(end > 0 && stat(path, &st) == 0 && st.st_size > end,
         "journal_zeros_written_ahead (%lld of %lld)", end, (long long)st.st_size);
    fd = open(path, O_WRONLY);
    T_OK(fd >= 0, "open journal to tear it");
    /* half a record where the next would go: a plausible length and
     * checksum, then nothing (then the zeros) */
    T_OK(end > 0 &&
             pwrite(fd, "\x00\x00\x01\x00\x12\x34\x56\x78\x9a\xbc\xde\xf0\x01\x07", 14,
                    (off_t)end) == 14,
         "write torn record");
    close(fd);
    pid = agent_store_start(dir, 0);
    T_OK(pid > 0, "store starts over a torn journal");
    T_OK(conn(&c) == 0 && agent_stat(&c, "torn_bytes") == 14, "torn_tail_cut_and_counted");
    storec_close(&c);
    T_OK(drain("bob", ids, 64) == 2 && ids[0] == 900 && ids[1] == 901,
         "torn_tail_acknowledged_records_survive");
    T_OK(submit1("bob", "example.org", ST, 902, NULL) == STORE_OK, "append after cut");
    restart();
    T_OK(drain("bob", ids, 64) == 1 && ids[0] == 902, "torn_tail_appends_follow_the_cut");
    /* a clean stop leaves the journal ending at its last record */
    end = journal_end();
    T_OK(agent_store_stop(pid) == 0, "store stops");
    T_OK(end > 0 && stat(path, &st) == 0 && st.st_size == end,
         "journal_clean_stop_cuts_the_zeros (%lld of %lld)", end, (long long)st.st_size);
    pid = agent_store_start(dir, 0);
    T_OK(conn(&c) == 0 && agent_stat(&c, "torn_bytes") == 0, "clean_stop_nothing_torn");
    storec_close(&c);
}

/* Raw retrieve begin of acct: the answer's NALD octets into out. */
static size_t rbegin_raw(struct storec *c, const char *acct, unsigned char *out,
                         size_t max)
{
    const unsigned char *p;
    size_t plen;
    storec_begin(c, STORE_OP_RBEGIN);
    der_w_raw(&c->w, acct, strlen(acct));
    if (storec_call(c, clock_ms() + 20000, &p, &plen) != STORE_OK || plen < 4 ||
        plen - 4 > max)
        return (size_t)-1;
    memcpy(out, p + 4, plen - 4);
    return plen - 4;
}

/* The store keeps the Notification as submitted and assembles the
 * NotificationAndLocalData while answering: the octets must be the exact
 * DER of (notification, submitter, date), the same after a replay of the
 * journal and after a snapshot. */
/* Restart the store, connect c, and check carol's retrieve answer is
 * the n octets a again (the retrieve is left open on c). */
static void same_after_restart(struct storec *c, const unsigned char *a, size_t n,
                               const char *name)
{
    static unsigned char b[4096];
    size_t m;
    restart();
    T_OK(conn(c) == 0, "connect");
    m = rbegin_raw(c, "carol", b, sizeof b);
    T_OK(m == n && memcmp(a, b, n) == 0, "%s", name);
}

static void test_nald_exact(void)
{
    static unsigned char a1[4096];
    unsigned char req[512], nb[512], xb[600];
    struct der_w w;
    struct storec c;
    struct pdu_notif pn;
    struct pdu_nald d;
    unsigned char b1[PDU_DOMAIN_DER_MAX], b2[PDU_DOMAIN_DER_MAX];
    const unsigned char *p;
    size_t plen, n1, nlen, xlen;
    time_t t0 = time(NULL), t1;
    int ok;

    memset(&pn, 0, sizeof pn);
    pn.clear.kind = PDU_LOC_DOMAIN;
    pdu_domain_from_text(b1, sizeof b1, ST, strlen(ST), &pn.clear.domain);
    pdu_domain_from_text(b2, sizeof b2, "example.com", 11, &pn.rdomain);
    pn.localpart.p = (const unsigned char *)"carol";
    pn.localpart.len = 5;
    memset(pn.id, 0x5a, sizeof pn.id);
    pn.sender.p = (const unsigned char *)"x@example.net";
    pn.sender.len = 13;
    pn.has_size = 1;
    pn.size = 200000; /* a length with its top bit set in one octet */
    der_w_fixed(&w, nb, sizeof nb);
    pdu_put_notif(&w, &pn);
    nlen = w.len;
    /* the same with an unknown extension element at the end, which the
     * store must skip (PROTOCOL.md 2), not keep */
    {
        size_t hl = nb[1] < 0x80 ? 2 : 2 + (size_t)(nb[1] & 0x7f);
        der_w_fixed(&w, xb, sizeof xb);
        der_w_open(&w, 0x30);
        der_w_raw(&w, nb + hl, nlen - hl);
        der_w_prim(&w, 0x9e, "ext", 3);
        der_w_close(&w);
        xlen = w.len;
    }
    /* header: IPv6 2001:db8::7, port 2525, domain mx.example.net */
    memset(req, 0, sizeof req);
    req[0] = 1;
    req[1] = 0x20, req[2] = 0x01, req[3] = 0x0d, req[4] = 0xb8, req[16] = 7;
    req[17] = 2525 >> 8, req[18] = 2525 & 255;
    req[19] = 14;
    memcpy(req + 20, "mx.example.net", 14);
    T_OK(conn(&c) == 0, "connect");
    storec_begin(&c, STORE_OP_SUBMIT);
    der_w_raw(&c.w, req, 34);
    der_w_raw(&c.w, xb, xlen);
    der_w_raw(&c.w, nb, nlen); /* collapses within the batch */
    T_OK(storec_call(&c, clock_ms() + 5000, &p, &plen) == STORE_OK, "nald_submit_ok");
    t1 = time(NULL);
    n1 = rbegin_raw(&c, "carol", a1, sizeof a1);
    ok = n1 != (size_t)-1 && pdu_decode_nald(a1, n1, &d) == PDU_OK;
    T_OK(ok, "nald_is_one_strict_notificationandlocaldata");
    if (ok) {
        unsigned char back[512];
        struct der_w bw;
        der_w_fixed(&bw, back, sizeof back);
        pdu_put_notif(&bw, &d.n);
        T_OK(bw.len == nlen && memcmp(back, nb, nlen) == 0, "nald_notification_as_submitted");
        T_OK(d.submitter.addr.v6 && d.submitter.addr.ip[0] == 0x20 &&
                 d.submitter.addr.ip[15] == 7 && d.submitter.addr.port == 2525 &&
                 d.submitter.has_domain && d.submitter.domain.len == 18 &&
                 memcmp(d.submitter.domain.p, "\x16\x02" "mx" "\x16\x07" "example" "\x16\x03" "net", 18) == 0,
             "nald_submitter_as_given");
        T_OK(d.date >= (uint64_t)t0 && d.date <= (uint64_t)t1, "nald_date_of_acceptance");
        /* and the whole: exactly the DER the codec makes of those parts */
        der_w_fixed(&bw, back, sizeof back);
        pdu_put_nald(&bw, &d);
        T_OK(bw.len == n1 && memcmp(back, a1, n1) == 0,
             "nald_exact_der_unknown_element_not_kept");
    }
    T_OK(agent_simple(&c, STORE_OP_RABORT) == STORE_OK, "abort");
    storec_close(&c);
    same_after_restart(&c, a1, n1, "nald_same_octets_after_replay"); /* journal */
    T_OK(agent_simple(&c, STORE_OP_RABORT) == STORE_OK, "abort");
    T_OK(agent_simple(&c, STORE_OP_COMPACT) == STORE_OK, "compact");
    storec_close(&c);
    same_after_restart(&c, a1, n1, "nald_same_octets_after_snapshot"); /* snapshot */
    T_OK(agent_simple(&c, STORE_OP_RCOMMIT) == STORE_OK, "commit");
    storec_close(&c);
}

/* Write a whole record of type t (its 9 octets checksummed as the
 * earlier format did, or as today's) where the journal at path, end
 * octets of records long, puts its next: the store must refuse to start,
 * leave the file as it is, and say why. Then take the record out again. */
static void whole_record_refused(const char *path, off_t end, unsigned char t,
                                 int old, const char *why, const char *name)
{
    unsigned char back[12 + 9];
    static const struct hash_key ck = {0x524e412d6a726e6cULL, 0x636865636b73756dULL};
    unsigned char rec[12 + 9];
    char cmd[800];
    struct stat st;
    uint64_t h;
    int fd, i;

    memset(rec, 0, sizeof rec);
    rec[3] = 9;
    rec[12] = t;
    h = old ? hash_sip(&ck, rec + 12, 9) : hash_check(rec + 12, 9);
    for (i = 0; i < 8; i++) rec[4 + i] = (unsigned char)(h >> (56 - 8 * i));
    fd = open(path, O_RDWR);
    T_OK(fd >= 0 && pwrite(fd, rec, sizeof rec, end) == (ssize_t)sizeof rec, "%s: write it", name);
    T_OK(agent_store_start(dir, 0) == -1, "%s_refused_store_does_not_start", name);
    T_OK(stat(path, &st) == 0 && st.st_size >= end + (off_t)sizeof rec && fd >= 0 &&
             pread(fd, back, sizeof back, end) == (ssize_t)sizeof back &&
             memcmp(back, rec, sizeof rec) == 0,
         "%s_not_cut", name);
    if (fd >= 0) close(fd);
    snprintf(cmd, sizeof cmd, "grep -q '%s' '%s/store.log'", why, dir);
    T_OK(system(cmd) == 0, "%s_reason_logged", name);
    T_OK(truncate(path, end) == 0, "%s: take it out by hand", name);
}

/* A record that is whole (its checksum holds) but cannot be applied, such
 * as one of the earlier format, is not a torn tail: the store refuses to
 * start and leaves the journal as it is, instead of cutting it. */
static void test_whole_record_not_cut(void)
{
    char path[700];
    struct stat st0;
    uint32_t ids[8];
    struct storec c;
    long long gen = -1, end;

    T_OK(submit1("bob", "example.org", ST, 960, NULL) == STORE_OK, "submit");
    if (conn(&c) == 0) {
        gen = agent_stat(&c, "journal_generation");
        storec_close(&c);
    }
    end = journal_end();
    agent_store_kill9(pid);
    snprintf(path, sizeof path, "%s/store/journal.%lld", dir, gen);
    T_OK(stat(path, &st0) == 0 && end > 0, "journal there");
    /* an accept record of the earlier format, with its checksum */
    whole_record_refused(path, (off_t)end, 1, 1, "earlier rna-store in an older format",
                         "whole_old_record");
    /* a record of today's checksum whose contents make no sense */
    whole_record_refused(path, (off_t)end, 99, 0, "checks but cannot be applied",
                         "unappliable_record");
    pid = agent_store_start(dir, 0);
    T_OK(pid > 0, "store starts again");
    T_OK(drain("bob", ids, 8) == 1 && ids[0] == 960, "whole_record_nothing_lost");
}

static void test_compaction(void)
{
    uint32_t before[64], after[64];
    struct storec c;
    size_t nb, na, i;
    int same = 1;
    long long gen;
    for (i = 0; i < 20; i++)
        submit1(i % 2 ? "alice" : "bob", "example.org", ST, 1000 + (uint32_t)i, NULL);
    T_OK(conn(&c) == 0, "connect");
    T_OK(agent_rbegin(&c, "bob", before, 64, &nb) == STORE_OK && nb == 10, "begin bob");
    T_OK(agent_simple(&c, STORE_OP_RCOMMIT) == STORE_OK, "commit bob");
    gen = agent_stat(&c, "journal_generation");
    T_OK(agent_simple(&c, STORE_OP_COMPACT) == STORE_OK, "compaction_succeeds");
    T_OK(agent_stat(&c, "journal_generation") == gen + 1 && agent_stat(&c, "held") == 10,
         "compaction_new_generation_same_held");
    storec_close(&c);
    submit1("alice", "example.org", ST, 1100, NULL);
    restart();
    na = drain("alice", after, 64);
    for (i = 0; i < 10 && i < na; i++)
        if (after[i] != 1001 + 2 * i) same = 0;
    T_OK(na == 11 && same && after[10] == 1100,
         "compaction_equivalence_after_restart (got %zu)", na);
    T_OK(drain("bob", before, 64) == 0, "compaction_cleared_stay_cleared");
}

static void test_expiry(void)
{
    struct storec c;
    const unsigned char *p;
    size_t plen;
    uint32_t ids[8];
    submit1("alice", "example.org", ST, 1200, NULL);
    sleep(3);
    submit1("alice", "example.org", ST, 1201, NULL);
    T_OK(conn(&c) == 0, "connect");
    storec_begin(&c, STORE_OP_EXPIRE);
    storec_put_u64(&c.w, 2); /* 1200 is 3 s old, 1201 (unless this machine stalls 2 s) 0 s */
    T_OK(storec_call(&c, clock_ms() + 5000, &p, &plen) == STORE_OK && plen == 4 &&
             storec_get_u32(p) == 1,
         "expiry_removes_older_than_age");
    storec_close(&c);
    restart();
    T_OK(drain("alice", ids, 8) == 1 && ids[0] == 1201, "expiry_survives_restart");
}

static void test_reload_broken(void)
{
    char path[700];
    int fd;
    struct storec c;
    uint32_t ids[8];
    snprintf(path, sizeof path, "%s/config/store.cdb.new", dir);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    T_OK(fd >= 0 && write(fd, "not a cdb", 9) == 9, "write a broken cdb");
    close(fd);
    {
        char dst[700];
        snprintf(dst, sizeof dst, "%s/config/store.cdb", dir);
        T_OK(rename(path, dst) == 0, "install the broken cdb");
    }
    kill(pid, SIGHUP);
    usleep(200000);
    T_OK(conn(&c) == 0, "connect");
    T_OK(agent_simple(&c, STORE_OP_RELOAD) == STORE_OK,
         "reload_broken_cdb_keeps_previous_config");
    storec_close(&c);
    T_OK(submit1("alice", "example.org", ST, 1300, NULL) == STORE_OK,
         "reload_broken_cdb_routing_still_works");
    drain("alice", ids, 8);
    {
        /* log lines reach the file in batches, a little after the answers */
        int i, seen = 0;
        for (i = 0; i < 200 && !seen; i++) {
            seen = agent_log_count(dir, "store.log", "keeping the previous one") > 0;
            if (!seen) usleep(50000);
        }
        T_OK(seen, "reload_broken_cdb_logged");
    }
    base_config();
    T_OK(agent_cfg_write(dir) == 0, "write good config again");
    {
        /* the store notices a replaced file within a second, unprompted */
        int i, seen = 0;
        for (i = 0; i < 100 && !seen; i++) {
            usleep(100000);
            seen = agent_log_count(dir, "store.log", "config loaded (changed)") > 0;
        }
        T_OK(seen, "reload_replaced_cdb_picked_up_without_signal");
    }
    T_OK(conn(&c) == 0 && agent_stat(&c, "config") == 1, "config in force");
    storec_close(&c);
}

/* RLIMIT_FSIZE stands for a full disk: the journal cannot grow. */
static void test_disk_full(void)
{
    const char *d2;
    pid_t p2;
    struct storec c;
    int i, st = STORE_OK, acked = 0;
    uint32_t ids[4096];
    size_t n;
    const char *keep = dir;

    d2 = strdup(agent_mkdir());
    dir = d2;
    base_config();
    T_OK(agent_cfg_write(dir) == 0, "write config");
    p2 = agent_store_start(dir, 64 * 1024);
    T_OK(p2 > 0, "store starts with a 64 KiB file size limit");
    for (i = 0; i < 2000 && st == STORE_OK; i++) {
        st = submit1("alice", "example.org", ST, 2000 + (uint32_t)i, NULL);
        if (st == STORE_OK) acked++;
    }
    T_OK(st == STORE_INTERNAL, "disk_full_refuses_with_internal (status %d after %d)",
         st, acked);
    T_OK(conn(&c) == 0 && agent_stat(&c, "held") == acked,
         "disk_full_nothing_unacknowledged_held");
    T_OK(agent_rbegin(&c, "alice", ids, 4096, &n) == STORE_OK && (int)n == acked,
         "disk_full_store_still_serves_retrieve");
    T_OK(agent_simple(&c, STORE_OP_RABORT) == STORE_OK, "abort");
    storec_close(&c);
    T_OK(agent_store_stop(p2) == 0, "store stops");
    p2 = agent_store_start(dir, 0);
    T_OK(p2 > 0, "store restarts with room");
    T_OK(submit1("alice", "example.org", ST, 9999, NULL) == STORE_OK,
         "disk_full_recovers_when_space_returns");
    n = drain("alice", ids, 4096);
    T_OK((int)n == acked + 1, "disk_full_every_acknowledged_survives (%zu vs %d)", n,
         acked + 1);
    agent_store_stop(p2);
    agent_rmdir(dir);
    free((void *)d2);
    dir = keep;
}

/* Several submitter processes and one reader at once: every accepted
 * notification is read exactly once. */
static void test_concurrency(void)
{
    enum { WRITERS = 4, PER = 150 };
    pid_t w[WRITERS];
    int i, ok = 1;
    static unsigned char seen[WRITERS * PER];
    uint32_t ids[4096];
    size_t n, k, total = 0, dup = 0;

    for (i = 0; i < WRITERS; i++) {
        w[i] = fork();
        if (w[i] == 0) {
            int j, bad = 0;
            for (j = 0; j < PER; j++)
                if (submit1("carol", "example.com", ST, (uint32_t)(i * PER + j), NULL) !=
                    STORE_OK)
                    bad = 1;
            _exit(bad);
        }
    }
    for (k = 0; k < 200 && total < WRITERS * PER; k++) {
        n = drain("carol", ids, 4096);
        if (n == (size_t)-1) {
            ok = 0;
            break;
        }
        for (i = 0; i < (int)n; i++) {
            if (ids[i] >= WRITERS * PER || seen[ids[i]]) dup++;
            else seen[ids[i]] = 1;
        }
        total += n;
        usleep(5000);
    }
    for (i = 0; i < WRITERS; i++) {
        int stt;
        waitpid(w[i], &stt, 0);
        if (!WIFEXITED(stt) || WEXITSTATUS(stt)) ok = 0;
    }
    n = drain("carol", ids, 4096);
    for (i = 0; n != (size_t)-1 && i < (int)n; i++) {
        if (ids[i] >= WRITERS * PER || seen[ids[i]]) dup++;
        else seen[ids[i]] = 1;
    }
    total += n == (size_t)-1 ? 0 : n;
    T_OK(ok, "concurrent_submitters_all_acknowledged");
    T_OK(total == WRITERS * PER && dup == 0,
         "concurrent_reader_nothing_lost_nothing_twice (read %zu, dup %zu)", total, dup);
}

static void test_bad_requests(void)
{
    struct storec c;
    const unsigned char *p;
    size_t plen;
    T_OK(conn(&c) == 0, "connect");
    storec_begin(&c, 99);
    T_OK(storec_call(&c, clock_ms() + 5000, &p, &plen) == STORE_BADREQ,
         "store_unknown_op_badrequest");
    storec_begin(&c, STORE_OP_SUBMIT);
    der_w_raw(&c.w, "\x00\x01", 2);
    T_OK(storec_call(&c, clock_ms() + 5000, &p, &plen) == STORE_BADREQ,
         "store_short_submit_badrequest");
    storec_begin(&c, STORE_OP_RBEGIN);
    der_w_raw(&c.w, "bad name!", 9);
    T_OK(storec_call(&c, clock_ms() + 5000, &p, &plen) == STORE_BADREQ,
         "store_bad_account_name_badrequest");
    storec_close(&c);
    /* an oversized frame drops the client, the store goes on */
    T_OK(conn(&c) == 0, "connect");
    T_OK(write(c.fd, "\x7f\xff\xff\xff", 4) == 4, "send oversized length");
    T_OK(storec_call(&c, clock_ms() + 2000, &p, &plen) < 0,
         "store_drops_client_over_request_limit");
    storec_close(&c);
    T_OK(submit1("alice", "example.org", ST, 3000, NULL) == STORE_OK,
         "store_serves_after_dropping_client");
    {
        uint32_t ids[4];
        drain("alice", ids, 4);
    }
}

/* A client that stalls mid-frame, and one that never reads its
 * responses, do not delay anybody else. */
static void test_stuck_clients(void)
{
    struct storec a, b;
    int i, st = -1;
    int64_t t;
    T_OK(conn(&a) == 0 && conn(&b) == 0, "two clients");
    T_OK(write(a.fd, "\x00\x00\x01", 3) == 3, "client a stalls inside a frame header");
    for (i = 0; i < 2000; i++) { /* b asks for stats and never reads (until its socket buffer fills) */
        static const unsigned char req[] = {0, 0, 0, 2, STOREC_VERSION, STORE_OP_STATS};
        if (write(b.fd, req, sizeof req) != (ssize_t)sizeof req) break;
    }
    t = clock_ms();
    st = submit1("alice", "example.org", ST, 3100, NULL);
    /* liveness, not speed: a store blocked by them would never answer
     * (submit1 gives up after its own deadline); the time is shown */
    T_OK(st == STORE_OK, "store_stuck_clients_do_not_block_others");
    printf("# a submit beside two stuck clients took %lld ms\n", (long long)(clock_ms() - t));
    storec_close(&a);
    storec_close(&b);
    {
        uint32_t ids[4];
        T_OK(drain("alice", ids, 4) == 1, "store_serves_after_stuck_clients_leave");
    }
}

/* A client that hangs up with answers still unwritten was polled for
 * POLLOUT; its poll slot said POLLHUP. The next client to take its place
 * in the store's table must not inherit that, though the store may see
 * it only in a later turn than the hangup (the sleeps make that turn
 * order likely; they bound nothing). */
static void test_writer_hangs_up(void)
{
    enum { N = 2000 };
    static unsigned char reqs[N * 6];
    struct storec w;
    uint32_t ids[4];
    int i;
    for (i = 0; i < N; i++) {
        static const unsigned char req[] = {0, 0, 0, 2, STOREC_VERSION, STORE_OP_STATS};
        memcpy(reqs + 6 * i, req, sizeof req);
    }
    usleep(100000); /* earlier clients are gone: w is alone in the table */
    T_OK(conn(&w) == 0, "connect");
    /* one write: about 1 MiB of answers, more than a socket buffer holds */
    T_OK(write(w.fd, reqs, sizeof reqs) == (ssize_t)sizeof reqs,
         "stats requests written at once, never read");
    /* answered only after a turn that read w's requests */
    T_OK(submit1("alice", "example.org", ST, 3150, NULL) == STORE_OK,
         "submit while the answers wait");
    storec_close(&w);
    usleep(100000); /* the store sees the hangup before the next client */
    T_OK(drain("alice", ids, 4) == 1 && ids[0] == 3150,
         "store_serves_next_client_after_writer_hangs_up");
    T_OK(drain("alice", ids, 4) == 0, "store_serves_the_one_after");
}

/* SIGTERM: work in flight finishes; new work is refused with shutdown. */
static void test_sigterm(void)
{
    struct storec c;
    struct agent_notif n;
    uint32_t ids[4];
    size_t k;
    int st;
    T_OK(conn(&c) == 0, "connect");
    T_OK(agent_rbegin(&c, "alice", ids, 4, &k) == STORE_OK, "retrieve open before SIGTERM");
    kill(pid, SIGTERM);
    usleep(100000);
    agent_notif(&n, "alice", "example.org", ST, 3200);
    st = agent_submit(&c, "192.0.2.1", &n, 1, NULL, NULL, NULL);
    T_OK(st == STORE_SHUTDOWN, "store_sigterm_refuses_submit_with_shutdown (%d)", st);
    T_OK(agent_simple(&c, STORE_OP_RABORT) == STORE_OK, "store_sigterm_still_settles_retrieves");
    storec_close(&c);
    {
        int stt;
        T_OK(waitpid(pid, &stt, 0) == pid && WIFEXITED(stt) && WEXITSTATUS(stt) == 0,
             "store_sigterm_exits_0");
    }
    pid = agent_store_start(dir, 0);
    T_OK(pid > 0, "store starts again");
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    dir = agent_mkdir();
    base_config();
    T_OK(agent_cfg_write(dir) == 0, "write config cdb");
    pid = agent_store_start(dir, 0);
    T_OK(pid > 0, "store starts");
    if (pid <= 0) return t_done();
    test_routing();
    test_collapse();
    test_quota();
    test_filters();
    test_retrieve();
    test_pending_counts_quota();
    test_restart_replay();
    test_torn_tail();
    test_nald_exact();
    test_whole_record_not_cut();
    test_compaction();
    test_expiry();
    test_reload_broken();
    test_bad_requests();
    test_concurrency();
    test_stuck_clients();
    test_writer_hangs_up();
    test_sigterm();
    T_OK(agent_store_stop(pid) == 0, "store stops cleanly");
    if (t_done()) {
        /* a failure: show what the store said, for the runner's report */
        char cmd[800];
        snprintf(cmd, sizeof cmd, "tail -n 25 '%s/store.log' >&2", dir);
        if (system(cmd) != 0) fprintf(stderr, "store.c: no store.log\n");
    }
    test_disk_full();
    if (!getenv("KEEP")) agent_rmdir(dir);
    return t_done();
}
