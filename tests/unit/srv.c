/*
 * lib/srv and lib/dnsq without a network: RFC 2782 ordering with an
 * injected random source (exhaustive, so the distribution is checked
 * exactly, and a seeded statistical run), HOST:PORT parsing, $DNSCACHEIP
 * parsing, the answer parsers against hand-built and hostile messages,
 * and srv_dial on loopback.
 */
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dnsq.h"
#include "frame.h"
#include "srv.h"
#include "t.h"

/* A source returning the values given, then bound every time. */
struct seq {
    const uint32_t *v;
    size_t n, i;
    uint32_t lastbound;
};

static uint32_t seq_rand(void *ctx, uint32_t bound)
{
    struct seq *s = ctx;
    s->lastbound = bound;
    if (s->i < s->n) return s->v[s->i++];
    return bound;
}

/* A source returning a fixed value, whatever the bound. */
static uint32_t fixed_rand(void *ctx, uint32_t bound)
{
    (void)bound;
    return *(const uint32_t *)ctx;
}

/* xorshift32, reduced by rejection to 0..bound uniformly */
static uint32_t xs_rand(void *ctx, uint32_t bound)
{
    uint32_t *x = ctx, lim;
    if (bound == UINT32_MAX) bound--;
    lim = UINT32_MAX - UINT32_MAX % (bound + 1);
    for (;;) {
        *x ^= *x << 13;
        *x ^= *x >> 17;
        *x ^= *x << 5;
        if (*x < lim) return *x % (bound + 1);
    }
}

static void set(struct srv_rr *r, uint16_t prio, uint16_t weight,
                const char *target)
{
    memset(r, 0, sizeof *r);
    r->prio = prio;
    r->weight = weight;
    r->port = 1000;
    snprintf(r->target, sizeof r->target, "%s", target);
}

/* The targets' first letters, in order. */
static void order_text(const struct srv_rr *rr, size_t n, char *out)
{
    size_t i;
    for (i = 0; i < n; i++) out[i] = rr[i].target[0];
    out[n] = 0;
}

static struct srv_rr rr[8];

static void priority(void)
{
    char got[16];
    uint32_t zero = 0;

    set(&rr[0], 20, 0, "c");
    set(&rr[1], 10, 0, "a");
    set(&rr[2], 30, 0, "d");
    set(&rr[3], 10, 0, "b");
    set(&rr[4], 0, 0, "z");
    srv_order(rr, 5, fixed_rand, &zero);
    order_text(rr, 5, got);
    T_OK(strcmp(got, "zabcd") == 0, "srv_priority_ascending (%s)", got);

    /* priority dominates weight: a heavy record of a worse priority is
     * never tried first, whatever the random source says */
    set(&rr[0], 5, 65535, "h");
    set(&rr[1], 1, 1, "l");
    {
        uint32_t big = 65535;
        srv_order(rr, 2, fixed_rand, &big);
    }
    order_text(rr, 2, got);
    T_OK(strcmp(got, "lh") == 0, "srv_priority_beats_weight (%s)", got);

    /* 65535 priorities apart, and equal-priority groups stay together */
    set(&rr[0], 65535, 1, "x");
    set(&rr[1], 0, 1, "y");
    set(&rr[2], 65535, 1, "w");
    srv_order(rr, 3, fixed_rand, &zero);
    order_text(rr, 3, got);
    T_OK(got[0] == 'y' && strchr("xw", got[1]) && strchr("xw", got[2]) &&
             got[1] != got[2],
         "srv_priority_extremes (%s)", got);

    srv_order(rr, 0, fixed_rand, &zero);
    T_OK(1, "srv_order_empty_set");
    set(&rr[0], 7, 9, "s");
    srv_order(rr, 1, fixed_rand, &zero);
    T_OK(rr[0].target[0] == 's', "srv_order_single_record");
}

/* Which record comes first for every r in 0..sum: exhaustively. */
static void first_choice(void)
{
    static const struct {
        const char *name;
        uint16_t w[4];
        size_t n;
        const char *want; /* the first target for r = 0, 1, ..., sum */
    } cases[] = {
        /* running sums 1, 4: r <= 1 picks a */
        {"srv_weight_1_3", {1, 3}, 2, "aabbb"},
        /* weight 0 goes first: it wins only at r = 0 */
        {"srv_weight_zero_first_only_at_r0", {5, 0}, 2, "baaaaa"},
        {"srv_weight_all_zero_takes_first", {0, 0, 0}, 3, "a"},
        {"srv_weight_2_0_1", {2, 0, 1}, 3, "baac"},
    };
    size_t c;

    for (c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        size_t sum = strlen(cases[c].want) - 1, r;
        int good = 1;
        for (r = 0; r <= sum; r++) {
            uint32_t v = (uint32_t)r;
            size_t i;
            for (i = 0; i < cases[c].n; i++) {
                char t[2] = {(char)('a' + i), 0};
                set(&rr[i], 1, cases[c].w[i], t);
            }
            srv_order(rr, cases[c].n, fixed_rand, &v);
            if (rr[0].target[0] != cases[c].want[r]) good = 0;
        }
        T_OK(good, "%s", cases[c].name);
    }
}

/* The whole order, second choice included. */
static void full_order(void)
{
    uint32_t vals[] = {0, 0};
    struct seq s = {vals, 2, 0, 0};
    char got[8];

    /* weights 1, 3, 6: sum 10; r = 0 picks a; then b, c remain (sum 9),
     * r = 0 picks b */
    set(&rr[0], 1, 1, "a");
    set(&rr[1], 1, 3, "b");
    set(&rr[2], 1, 6, "c");
    srv_order(rr, 3, seq_rand, &s);
    order_text(rr, 3, got);
    T_OK(strcmp(got, "abc") == 0 && s.i == 2, "srv_order_two_draws (%s)", got);

    /* r = 10 picks c first; then a, b (sum 4): r = 2 picks b */
    vals[0] = 10;
    vals[1] = 2;
    s.i = 0;
    set(&rr[0], 1, 1, "a");
    set(&rr[1], 1, 3, "b");
    set(&rr[2], 1, 6, "c");
    srv_order(rr, 3, seq_rand, &s);
    order_text(rr, 3, got);
    T_OK(strcmp(got, "cba") == 0, "srv_order_remaining_reweighted (%s)", got);
    T_OK(s.lastbound == 4, "srv_order_second_draw_bound_is_remaining_sum (%u)",
         (unsigned)s.lastbound);

    /* the last record of a priority takes no draw; each group draws on
     * its own */
    vals[0] = 0;
    vals[1] = 0;
    s.i = 0;
    set(&rr[0], 1, 1, "a");
    set(&rr[1], 2, 1, "b");
    srv_order(rr, 2, seq_rand, &s);
    T_OK(s.i == 0, "srv_order_no_draw_for_lone_records (%zu)", s.i);
}

/* Every value 0..sum once: the counts are RFC 2782's exact odds. */
static void distribution_exact(void)
{
    uint16_t w[3] = {10, 30, 60};
    unsigned count[3] = {0, 0, 0};
    uint32_t r;

    for (r = 0; r <= 100; r++) {
        uint32_t v = r;
        int i;
        for (i = 0; i < 3; i++) {
            char t[2] = {(char)('a' + i), 0};
            set(&rr[i], 0, w[i], t);
        }
        srv_order(rr, 3, fixed_rand, &v);
        count[rr[0].target[0] - 'a']++;
    }
    /* running sums 10, 40, 100: r 0..10, 11..40, 41..100 */
    T_OK(count[0] == 11 && count[1] == 30 && count[2] == 60,
         "srv_weight_distribution_exact (%u %u %u)", count[0], count[1],
         count[2]);
}

/* A seeded random run: the frequencies approach weight/(sum+1), with
 * the first record's extra share of r = 0. */
static void distribution_random(void)
{
    uint32_t x = 2463534242u;
    unsigned count[3] = {0, 0, 0}, second_after_a[3] = {0, 0, 0};
    const unsigned trials = 100000;
    unsigned i;
    double e0 = 2.0 / 11, e1 = 2.0 / 11, e2 = 7.0 / 11;

    for (i = 0; i < trials; i++) {
        set(&rr[0], 3, 1, "a");
        set(&rr[1], 3, 2, "b");
        set(&rr[2], 3, 7, "c");
        srv_order(rr, 3, xs_rand, &x);
        count[rr[0].target[0] - 'a']++;
        if (rr[0].target[0] == 'a') second_after_a[rr[1].target[0] - 'a']++;
    }
    T_OK(count[0] > trials * (e0 - 0.01) && count[0] < trials * (e0 + 0.01) &&
             count[1] > trials * (e1 - 0.01) && count[1] < trials * (e1 + 0.01) &&
             count[2] > trials * (e2 - 0.01) && count[2] < trials * (e2 + 0.01),
         "srv_weight_distribution_random (%u %u %u)", count[0], count[1],
         count[2]);
    /* after a: b (2) and c (7), sum 9: b wins r 0..2 of 0..9 */
    T_OK(second_after_a[0] == 0 &&
             second_after_a[1] > count[0] * (0.3 - 0.03) &&
             second_after_a[1] < count[0] * (0.3 + 0.03),
         "srv_weight_second_choice_random (%u of %u)", second_after_a[1],
         count[0]);
}

/* A random source returning out-of-range values cannot break the set. */
static void faulty_source(void)
{
    uint32_t big = UINT32_MAX;
    char got[8];
    set(&rr[0], 1, 1, "a");
    set(&rr[1], 1, 0, "b");
    set(&rr[2], 1, 2, "c");
    srv_order(rr, 3, fixed_rand, &big);
    order_text(rr, 3, got);
    T_OK(strlen(got) == 3 && strchr(got, 'a') && strchr(got, 'b') &&
             strchr(got, 'c'),
         "srv_order_faulty_random_source_still_permutes (%s)", got);
    {
        uint32_t v = srv_rand_system(NULL, 5), w = srv_rand_system(NULL, 0);
        T_OK(v <= 5 && w == 0, "srv_rand_system_in_range");
    }
}

static void refusal(void)
{
    set(&rr[0], 0, 0, ".");
    T_OK(srv_is_refusal(rr, 1), "srv_dot_alone_is_refusal");
    set(&rr[1], 0, 0, "a");
    T_OK(!srv_is_refusal(rr, 2), "srv_dot_among_others_is_not_refusal");
    T_OK(!srv_is_refusal(rr + 1, 1), "srv_name_is_not_refusal");
}

static void hostport(void)
{
    char h[64];
    uint16_t p = 0;

    T_OK(srv_hostport("127.0.0.1:8025", h, sizeof h, &p) == 0 &&
             strcmp(h, "127.0.0.1") == 0 && p == 8025,
         "hostport_ipv4");
    T_OK(srv_hostport("[::1]:65535", h, sizeof h, &p) == 0 &&
             strcmp(h, "::1") == 0 && p == 65535,
         "hostport_ipv6_brackets");
    T_OK(srv_hostport("agent.example.org:1", h, sizeof h, &p) == 0 &&
             strcmp(h, "agent.example.org") == 0 && p == 1,
         "hostport_name");
    T_OK(srv_hostport("::1:25", h, sizeof h, &p) < 0, "hostport_bare_ipv6_refused");
    T_OK(srv_hostport("a:0", h, sizeof h, &p) < 0, "hostport_port_zero_refused");
    T_OK(srv_hostport("a:65536", h, sizeof h, &p) < 0, "hostport_port_too_big");
    T_OK(srv_hostport("a:025", h, sizeof h, &p) < 0, "hostport_leading_zero");
    T_OK(srv_hostport("a:+25", h, sizeof h, &p) < 0, "hostport_sign_refused");
    T_OK(srv_hostport("a", h, sizeof h, &p) < 0, "hostport_no_port");
    T_OK(srv_hostport(":25", h, sizeof h, &p) < 0, "hostport_no_host");
    T_OK(srv_hostport("[::1]25", h, sizeof h, &p) < 0, "hostport_bracket_no_colon");
    T_OK(srv_hostport("a:", h, sizeof h, &p) < 0, "hostport_empty_port");
    T_OK(srv_hostport("abcdefgh:1", h, 8, &p) < 0 && errno == EINVAL,
         "hostport_host_too_long");
}

static void cacheip(void)
{
    struct in_addr ip[DNSQ_MAXNS];
    T_OK(dnsq_cacheip("127.0.0.53", ip, DNSQ_MAXNS) == 1 &&
             ip[0].s_addr == htonl(0x7f000035),
         "cacheip_one");
    T_OK(dnsq_cacheip(" 10.0.0.1, 10.0.0.2 10.0.0.3 ", ip, DNSQ_MAXNS) == 3 &&
             ip[2].s_addr == htonl(0x0a000003),
         "cacheip_list");
    T_OK(dnsq_cacheip("1.1.1.1 2.2.2.2 3.3.3.3 4.4.4.4", ip, DNSQ_MAXNS) < 0,
         "cacheip_too_many");
    T_OK(dnsq_cacheip("", ip, DNSQ_MAXNS) < 0, "cacheip_empty");
    T_OK(dnsq_cacheip("127.1", ip, DNSQ_MAXNS) < 0, "cacheip_short_form_refused");
    T_OK(dnsq_cacheip("::1", ip, DNSQ_MAXNS) < 0, "cacheip_ipv6_refused");
    T_OK(dnsq_cacheip("127.0.0.1:5353", ip, DNSQ_MAXNS) < 0,
         "cacheip_port_refused");
}

/* ---- hand-built DNS answers ---- */

struct msg {
    unsigned char b[1024];
    size_t n;
};

static void put(struct msg *m, const void *p, size_t n)
{
    memcpy(m->b + m->n, p, n);
    m->n += n;
}

static void put16(struct msg *m, unsigned v)
{
    unsigned char x[2] = {(unsigned char)(v >> 8), (unsigned char)v};
    put(m, x, 2);
}

/* Header with one question "_rnasp._tcp.ex.test" of the type, an
 * answers. */
static void begin(struct msg *m, unsigned type, unsigned an)
{
    static const unsigned char q[] = "\6_rnasp\4_tcp\2ex\4test";
    m->n = 0;
    put16(m, 0x1234);
    put16(m, 0x8180);
    put16(m, 1);
    put16(m, an);
    put16(m, 0);
    put16(m, 0);
    put(m, q, sizeof q); /* with the root's zero octet */
    put16(m, type);
    put16(m, ns_c_in);
}

/* An answer owned by the question's name (pointer to offset 12). */
static void rr_head(struct msg *m, unsigned type, unsigned cls, unsigned rdlen)
{
    put16(m, 0xc00c);
    put16(m, type);
    put16(m, cls);
    put16(m, 0);
    put16(m, 300);
    put16(m, rdlen);
}

static void parse_srv(void)
{
    struct msg m;
    struct srv_rr out[4];
    size_t n = 99;
    static const unsigned char t1[] = "\2t1\2ex\4test";
    int r;

    /* two records; the second's target is compressed: "t2" + pointer to
     * the question's "ex.test" at offset 12 + 7 + 5 = 24 */
    begin(&m, ns_t_srv, 3);
    rr_head(&m, ns_t_srv, ns_c_in, 6 + sizeof t1);
    put16(&m, 10);
    put16(&m, 5);
    put16(&m, 8025);
    put(&m, t1, sizeof t1);
    rr_head(&m, ns_t_srv, ns_c_in, 6 + 3 + 2);
    put16(&m, 20);
    put16(&m, 0);
    put16(&m, 9025);
    put(&m, "\2t2\xc0\x18", 5);
    /* a record of another class is skipped */
    rr_head(&m, ns_t_srv, 3, 6 + 1);
    put(&m, "\0\0\0\0\0\1\0", 7);
    r = dnsq_parse_srv(m.b, m.n, out, 4, &n);
    T_OK(r == DNSQ_OK && n == 2, "dns_parse_srv_two_records (r %d n %zu)", r, n);
    T_OK(n == 2 && out[0].prio == 10 && out[0].weight == 5 &&
             out[0].port == 8025 && strcmp(out[0].target, "t1.ex.test") == 0,
         "dns_parse_srv_fields");
    T_OK(n == 2 && strcmp(out[1].target, "t2.ex.test") == 0 && out[1].port == 9025,
         "dns_parse_srv_compressed_target (%s)", n == 2 ? out[1].target : "");

    r = dnsq_parse_srv(m.b, m.n, out, 1, &n);
    T_OK(r == DNSQ_OK && n == 1, "dns_parse_srv_keeps_at_most_max");

    /* a root target "." */
    begin(&m, ns_t_srv, 1);
    rr_head(&m, ns_t_srv, ns_c_in, 7);
    put(&m, "\0\0\0\0\0\0\0", 7);
    r = dnsq_parse_srv(m.b, m.n, out, 4, &n);
    T_OK(r == DNSQ_OK && n == 1 && strcmp(out[0].target, ".") == 0,
         "dns_parse_srv_root_target");

    /* RDATA longer than the name in it */
    begin(&m, ns_t_srv, 1);
    rr_head(&m, ns_t_srv, ns_c_in, 6 + sizeof t1 + 1);
    put(&m, "\0\1\0\1\0\1", 6);
    put(&m, t1, sizeof t1);
    put(&m, "x", 1);
    T_OK(dnsq_parse_srv(m.b, m.n, out, 4, &n) == DNSQ_TEMP,
         "dns_parse_srv_rdata_trailing_octets");

    /* RDATA too short for the fixed fields */
    begin(&m, ns_t_srv, 1);
    rr_head(&m, ns_t_srv, ns_c_in, 5);
    put(&m, "\0\1\0\1\0", 5);
    T_OK(dnsq_parse_srv(m.b, m.n, out, 4, &n) == DNSQ_TEMP,
         "dns_parse_srv_short_rdata");

    /* a name pointing at itself */
    begin(&m, ns_t_srv, 1);
    rr_head(&m, ns_t_srv, ns_c_in, 8);
    put(&m, "\0\1\0\1\0\1", 6);
    put16(&m, 0xc000 | (unsigned)(m.n));
    T_OK(dnsq_parse_srv(m.b, m.n, out, 4, &n) == DNSQ_TEMP,
         "dns_parse_srv_compression_loop");

    /* an RDLENGTH running past the message */
    begin(&m, ns_t_srv, 1);
    rr_head(&m, ns_t_srv, ns_c_in, 200);
    put(&m, "\0\1\0\1\0\1\0", 7);
    T_OK(dnsq_parse_srv(m.b, m.n, out, 4, &n) == DNSQ_TEMP,
         "dns_parse_srv_rdlength_past_end");

    /* more answers announced than present */
    begin(&m, ns_t_srv, 2);
    rr_head(&m, ns_t_srv, ns_c_in, 7);
    put(&m, "\0\0\0\0\0\0\0", 7);
    T_OK(dnsq_parse_srv(m.b, m.n, out, 4, &n) == DNSQ_TEMP,
         "dns_parse_srv_missing_answer");

    T_OK(dnsq_parse_srv(m.b, 5, out, 4, &n) == DNSQ_TEMP,
         "dns_parse_srv_truncated_header");

    /* no answers at all is a valid, empty result */
    begin(&m, ns_t_srv, 0);
    T_OK(dnsq_parse_srv(m.b, m.n, out, 4, &n) == DNSQ_OK && n == 0,
         "dns_parse_srv_empty_answer");
}

static void parse_addrs(void)
{
    struct msg m;
    struct dnsq_addr a[4];
    size_t n = 0;
    static const unsigned char six[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1};

    begin(&m, ns_t_a, 3);
    rr_head(&m, ns_t_a, ns_c_in, 4);
    put(&m, "\x7f\0\0\x01", 4);
    rr_head(&m, ns_t_cname, ns_c_in, 2);
    put16(&m, 0xc00c);
    rr_head(&m, ns_t_a, ns_c_in, 4);
    put(&m, "\x7f\0\0\x02", 4);
    T_OK(dnsq_parse_addrs(m.b, m.n, ns_t_a, a, 4, &n) == DNSQ_OK && n == 2 &&
             !a[0].v6 && a[1].ip[3] == 2,
         "dns_parse_a_records_skip_cname");

    begin(&m, ns_t_aaaa, 1);
    rr_head(&m, ns_t_aaaa, ns_c_in, 16);
    put(&m, six, 16);
    T_OK(dnsq_parse_addrs(m.b, m.n, ns_t_aaaa, a, 4, &n) == DNSQ_OK && n == 1 &&
             a[0].v6 && memcmp(a[0].ip, six, 16) == 0,
         "dns_parse_aaaa_record");

    begin(&m, ns_t_a, 1);
    rr_head(&m, ns_t_a, ns_c_in, 5);
    put(&m, "\x7f\0\0\x01\0", 5);
    T_OK(dnsq_parse_addrs(m.b, m.n, ns_t_a, a, 4, &n) == DNSQ_TEMP,
         "dns_parse_a_wrong_length");
}

static void dial(void)
{
    struct sockaddr_in sa;
    socklen_t sl = sizeof sa;
    struct srv_ep ep;
    char text[SRV_EP_TEXT];
    int l = socket(AF_INET, SOCK_STREAM, 0), fd;

    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (l < 0 || bind(l, (struct sockaddr *)&sa, sizeof sa) < 0 ||
        listen(l, 1) < 0 || getsockname(l, (struct sockaddr *)&sa, &sl) < 0) {
        T_OK(0, "srv_dial_setup");
        return;
    }
    memset(&ep, 0, sizeof ep);
    ep.ip[0] = 127;
    ep.ip[3] = 1;
    ep.port = ntohs(sa.sin_port);
    fd = srv_dial(&ep, clock_ms() + 5000);
    T_OK(fd >= 0, "srv_dial_connects");
    if (fd >= 0) close(fd);
    close(l);
    fd = srv_dial(&ep, clock_ms() + 5000);
    T_OK(fd < 0 && errno == ECONNREFUSED, "srv_dial_refused");
    srv_ep_text(&ep, text);
    T_OK(strncmp(text, "127.0.0.1:", 10) == 0, "srv_ep_text_ipv4 (%s)", text);
    memset(&ep, 0, sizeof ep);
    ep.v6 = 1;
    ep.ip[15] = 1;
    ep.port = 25;
    srv_ep_text(&ep, text);
    T_OK(strcmp(text, "[::1]:25") == 0, "srv_ep_text_ipv6 (%s)", text);
}

int main(void)
{
    priority();
    first_choice();
    full_order();
    distribution_exact();
    distribution_random();
    faulty_source();
    refusal();
    hostport();
    cacheip();
    parse_srv();
    parse_addrs();
    dial();
    return t_done();
}
