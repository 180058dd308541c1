/*
 * rna-admin's compiled cdb against the real rna-store: the store routes
 * (exact, prefix, longest prefix, case-insensitive domain), filters and
 * bounds notifications exactly as the text says, a change made while
 * the store runs applies to the very next submission (reload request),
 * and rna-clean expires old notifications and compacts the journal.
 * Shell-level transcripts are in tests/admin.sh; this test needs the
 * store protocol, which the shell cannot speak.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent.h"
#include "frame.h"
#include "storec.h"
#include "t.h"

#define ST "store.example.net"

static const char *dir;
static pid_t pid;
static char bindir[512];

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Run a shell command with $BUILD/bin first on PATH; its exit code. */
static int sh(const char *fmt, ...)
{
    char cmd[2048];
    int n, st;
    va_list ap;
    n = snprintf(cmd, sizeof cmd, "PATH='%s':\"$PATH\"; ", bindir);
    va_start(ap, fmt);
    vsnprintf(cmd + n, sizeof cmd - (size_t)n, fmt, ap);
    va_end(ap);
    st = system(cmd);
    return st >= 0 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int conn(struct storec *c)
{
    memset(c, 0, sizeof *c);
    c->fd = -1;
    return storec_open(c, dir, clock_ms() + 5000);
}

static int submit(const char *ip, const struct agent_notif *n, size_t k,
                  uint32_t *pos, size_t *np, uint32_t cnt[4])
{
    struct storec c;
    int st;
    if (conn(&c) < 0) return -1;
    st = agent_submit(&c, ip, n, k, pos, np, cnt);
    storec_close(&c);
    return st;
}

static size_t drain(const char *acct, uint32_t *ids, size_t max)
{
    struct storec c;
    size_t n = 0;
    if (conn(&c) < 0) return (size_t)-1;
    if (agent_rbegin(&c, acct, ids, max, &n) != STORE_OK ||
        agent_simple(&c, STORE_OP_RCOMMIT) != STORE_OK)
        n = (size_t)-1;
    storec_close(&c);
    return n;
}

static long long stat_of(const char *key)
{
    struct storec c;
    long long v;
    if (conn(&c) < 0) return -1;
    v = agent_stat(&c, key);
    storec_close(&c);
    return v;
}

static void setup(void)
{
    T_OK(sh("rna-admin -d '%s' init -f", dir) == 0, "admin_init");
    T_OK(sh("A='rna-admin -d %s'; $A domain add example.org && $A domain add Example.COM &&"
            " for a in alice bob sales saleseu boss; do echo pw-$a | $A account add $a || exit 1; done &&"
            " $A mailbox add alice@example.org alice && $A mailbox add bob@example.org bob &&"
            " $A mailbox add sales-@example.org sales && $A mailbox add sales-eu-@example.org saleseu &&"
            " $A mailbox add sales-boss@example.org boss && $A mailbox add alice@example.com alice",
            dir) == 0,
         "admin_configures_domains_accounts_mailboxes");
}

static void test_routing(void)
{
    struct agent_notif n[7];
    uint32_t cnt[4], ids[16], pos[8];
    size_t np = 0;

    agent_notif(&n[0], "alice", "EXAMPLE.org", ST, 1);
    agent_notif(&n[1], "sales-x", "example.org", ST, 2);
    agent_notif(&n[2], "sales-eu-y", "example.org", ST, 3);
    agent_notif(&n[3], "sales-boss", "example.org", ST, 4);
    agent_notif(&n[4], "sales-", "example.org", ST, 5);
    agent_notif(&n[5], "alice", "example.com", ST, 6);
    agent_notif(&n[6], "bob", "example.org", ST, 7);
    T_OK(submit("192.0.2.1", n, 7, NULL, NULL, cnt) == STORE_OK && cnt[0] == 7,
         "compiled_routes_accept_every_mapped_mailbox");
    T_OK(drain("alice", ids, 16) == 2 && ids[0] == 1 && ids[1] == 6,
         "compiled_exact_mailboxes_and_case_insensitive_domains");
    T_OK(drain("sales", ids, 16) == 2 && ids[0] == 2 && ids[1] == 5,
         "compiled_prefix_maps_itself_and_longer");
    T_OK(drain("saleseu", ids, 16) == 1 && ids[0] == 3, "compiled_longest_prefix_wins");
    T_OK(drain("boss", ids, 16) == 1 && ids[0] == 4, "compiled_exact_beats_prefix");
    drain("bob", ids, 16);
    agent_notif(&n[0], "Alice", "example.org", ST, 8);
    agent_notif(&n[1], "sales", "example.org", ST, 9);
    agent_notif(&n[2], "alice", "example.net", ST, 10);
    T_OK(submit("192.0.2.1", n, 3, pos, &np, NULL) == STORE_NOMAILBOX && np == 3,
         "compiled_unknown_mailboxes_rejected (localpart exact, prefix needs its dash,"
         " unserved domain)");
}

static void test_live_changes(void)
{
    struct agent_notif n[4];
    uint32_t cnt[4], ids[16];

    /* a mapping added while the store runs applies at once */
    agent_notif(&n[0], "carol", "example.org", ST, 20);
    T_OK(submit("192.0.2.1", n, 1, NULL, NULL, NULL) == STORE_NOMAILBOX,
         "live_unmapped_before");
    T_OK(sh("rna-admin -d '%s' mailbox add carol@example.org bob", dir) == 0,
         "live_mailbox_add");
    T_OK(submit("192.0.2.1", n, 1, NULL, NULL, cnt) == STORE_OK && cnt[0] == 1,
         "live_mapping_applies_to_the_next_submission");
    T_OK(drain("bob", ids, 16) == 1 && ids[0] == 20, "live_routes_to_the_new_account");

    /* filters: global submitter, per-account sender and size */
    T_OK(sh("A='rna-admin -d %s'; $A filter add submitter 198.51.100.0/24 &&"
            " $A filter add -a alice sender @spam.example && $A filter add -a bob size 1000",
            dir) == 0,
         "live_filters_added");
    agent_notif(&n[0], "alice", "example.org", ST, 30);
    agent_notif(&n[1], "alice", "example.org", ST, 31);
    strcpy(n[1].sender, "x@SPAM.example");
    agent_notif(&n[2], "bob", "example.org", ST, 32);
    n[2].has_size = 1;
    n[2].size = 5000;
    agent_notif(&n[3], "bob", "example.org", ST, 33);
    n[3].has_size = 1;
    n[3].size = 1000;
    T_OK(submit("192.0.2.9", n, 4, NULL, NULL, cnt) == STORE_OK && cnt[0] == 2 && cnt[2] == 2,
         "filters_discard_sender_domain_and_size (accepted=%u discarded=%u)", cnt[0], cnt[2]);
    T_OK(submit("198.51.100.7", n, 1, NULL, NULL, cnt) == STORE_OK && cnt[2] == 1,
         "filters_discard_global_submitter_prefix");
    T_OK(drain("alice", ids, 16) == 1 && ids[0] == 30 && drain("bob", ids, 16) == 1 &&
             ids[0] == 33,
         "filters_kept_only_the_unmatched");
    T_OK(sh("A='rna-admin -d %s'; $A filter del submitter 198.51.100.0/24", dir) == 0,
         "live_filter_del");
    T_OK(submit("198.51.100.7", n, 1, NULL, NULL, cnt) == STORE_OK && cnt[0] == 1,
         "filter_removal_applies_at_once");
    drain("alice", ids, 16);

    /* per-account quota and policy */
    T_OK(sh("rna-admin -d '%s' set -a alice quota 2", dir) == 0, "live_set_account_quota");
    agent_notif(&n[0], "alice", "example.org", ST, 40);
    agent_notif(&n[1], "alice", "example.org", ST, 41);
    agent_notif(&n[2], "alice", "example.org", ST, 42);
    T_OK(submit("192.0.2.1", n, 3, NULL, NULL, NULL) == STORE_QUOTA,
         "account_quota_from_text_refuses");
    T_OK(drain("alice", ids, 16) == 0, "account_quota_refused_batch_stored_nothing");
    T_OK(sh("rna-admin -d '%s' set -a alice policy oldest", dir) == 0, "live_set_account_policy");
    T_OK(submit("192.0.2.1", n, 2, NULL, NULL, cnt) == STORE_OK, "account_fill_to_quota");
    T_OK(submit("192.0.2.1", n + 2, 1, NULL, NULL, cnt) == STORE_OK && cnt[3] == 1,
         "account_policy_oldest_replaces (replaced=%u)", cnt[3]);
    T_OK(drain("alice", ids, 16) == 2 && ids[0] == 41 && ids[1] == 42,
         "account_policy_kept_the_newest");
    T_OK(sh("rna-admin -d '%s' set quota-total 1", dir) == 0, "live_set_quota_total");
    T_OK(submit("192.0.2.1", n, 2, NULL, NULL, NULL) == STORE_QUOTA, "quota_total_from_text_refuses");
    T_OK(sh("rna-admin -d '%s' set quota-total default", dir) == 0, "live_quota_total_default");
    T_OK(sh("rna-admin -d '%s' set -a alice quota default", dir) == 0, "live_account_quota_default");
}

static void test_clean(void)
{
    struct agent_notif n[3];
    long long g0, g1;
    size_t i;
    uint32_t ids[16];

    for (i = 0; i < 3; i++) agent_notif(&n[i], "bob", "example.org", ST, 50 + (uint32_t)i);
    T_OK(submit("192.0.2.1", n, 3, NULL, NULL, NULL) == STORE_OK, "clean_fill");
    g0 = stat_of("journal_generation");
    T_OK(sh("rna-clean -a 1h '%s' >'%s/clean.out'", dir, dir) == 0, "rna_clean_young_exits_0");
    T_OK(sh("printf 'expired\\t0\\ncompacted\\theld=3\\tgeneration=%lld\\n' | cmp -s - '%s/clean.out'",
            g0 + 1, dir) == 0,
         "rna_clean_keeps_young_notifications_and_compacts");
    sleep(2);
    T_OK(sh("rna-clean -a 1 '%s' >'%s/clean.out'", dir, dir) == 0, "rna_clean_old_exits_0");
    T_OK(sh("printf 'expired\\t3\\ncompacted\\theld=0\\tgeneration=%lld\\n' | cmp -s - '%s/clean.out'",
            g0 + 2, dir) == 0,
         "rna_clean_expires_older_than_age");
    g1 = stat_of("journal_generation");
    T_OK(g1 == g0 + 2, "rna_clean_journal_generation_goes_up (%lld -> %lld)", g0, g1);
    T_OK(stat_of("expired") == 3 && stat_of("held") == 0, "rna_clean_counted_in_stats");
    T_OK(drain("bob", ids, 16) == 0, "rna_clean_expired_are_gone");
    /* the configured age: 30 days by default, nothing that young goes */
    T_OK(submit("192.0.2.1", n, 1, NULL, NULL, NULL) == STORE_OK, "clean_refill");
    T_OK(sh("rna-clean '%s' | grep -q '^expired\t0$'", dir) == 0, "rna_clean_configured_age");
    T_OK(sh("rna-admin -d '%s' stats | grep -q '^held\t1$'", dir) == 0, "stats_show_held");
}

int main(void)
{
    const char *b = getenv("BUILD");
    char cwd[400];
    if (!getcwd(cwd, sizeof cwd)) return 111;
    snprintf(bindir, sizeof bindir, "%s/%s/bin", cwd, b && *b ? b : "build");
    dir = agent_mkdir();
    setup();
    pid = agent_store_start(dir, 0);
    T_OK(pid > 0, "store starts on the compiled configuration");
    if (pid > 0) {
        test_routing();
        test_live_changes();
        test_clean();
        T_OK(agent_store_stop(pid) == 0, "store exits 0 on SIGTERM");
    }
    agent_rmdir(dir);
    return t_done();
}
