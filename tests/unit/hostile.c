/*
 * Hostile input at volume against the live listeners: frames taken from
 * the fuzz corpora and the vectors, mutated (bit flips, cuts, splices,
 * random length prefixes, random octets), sent pipelined on many
 * connections. Every octet that comes back must be a well-formed
 * response frame (PROTOCOL.md section 4: nothing else is ever written),
 * and afterwards the agent still serves a normal submit and retrieve.
 * $RNA_HOSTILE_FRAMES frames (default 3000; make torture: 100000).
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent.h"
#include "frame.h"
#include "pdu.h"
#include "t.h"

#define MAXSEEDS 256
#define PER_CONN 16

struct seed {
    unsigned char *p;
    size_t n;
    enum pdu_proto proto;
};

static struct seed seeds[MAXSEEDS];
static size_t nseeds;
static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint32_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 11);
}

static void add_seed(const unsigned char *p, size_t n, enum pdu_proto proto)
{
    if (nseeds >= MAXSEEDS || n == 0 || n > 65000) return;
    seeds[nseeds].p = malloc(n);
    if (!seeds[nseeds].p) return;
    memcpy(seeds[nseeds].p, p, n);
    seeds[nseeds].n = n;
    seeds[nseeds].proto = proto;
    nseeds++;
}

static void load_dir(const char *path, enum pdu_proto proto)
{
    DIR *d = opendir(path);
    struct dirent *e;
    unsigned char buf[65536];
    if (!d) return;
    while ((e = readdir(d))) {
        char f[1024];
        FILE *fp;
        size_t n;
        if (e->d_name[0] == '.') continue;
        snprintf(f, sizeof f, "%s/%s", path, e->d_name);
        fp = fopen(f, "rb");
        if (!fp) continue;
        n = fread(buf, 1, sizeof buf, fp);
        fclose(fp);
        add_seed(buf, n, proto);
    }
    closedir(d);
}

/* Make one hostile frame (with its length prefix) into out. */
static size_t make_frame(enum pdu_proto proto, unsigned char *out, size_t cap)
{
    struct seed *s;
    size_t n, i, k;
    unsigned char *b = out + 4;
    uint32_t mode = rnd() % 10;

    for (k = 0; k < 8; k++) { /* a seed of the right protocol */
        s = &seeds[rnd() % nseeds];
        if (s->proto == proto) break;
    }
    n = s->n < cap - 4 ? s->n : cap - 4;
    memcpy(b, s->p, n);
    switch (mode) {
    case 0: /* as is: valid commands get real answers */
        break;
    case 1:
    case 2: /* bit flips */
        for (i = 0, k = 1 + rnd() % 4; i < k; i++) b[rnd() % n] ^= (unsigned char)(1u << (rnd() % 8));
        break;
    case 3: /* cut */
        n = 1 + rnd() % n;
        break;
    case 4: /* octets overwritten */
        for (i = 0, k = 1 + rnd() % 8; i < k; i++) b[rnd() % n] = (unsigned char)rnd();
        break;
    case 5: { /* splice another seed's tail */
        struct seed *t = &seeds[rnd() % nseeds];
        size_t at = rnd() % n, from = rnd() % t->n, m = t->n - from;
        if (at + m > cap - 4) m = cap - 4 - at;
        memcpy(b + at, t->p + from, m);
        n = at + m;
        break;
    }
    case 6: /* random octets */
        n = 1 + rnd() % 64;
        for (i = 0; i < n; i++) b[i] = (unsigned char)rnd();
        break;
    case 7: /* a length octet changed */
        if (n > 1) b[1] = (unsigned char)rnd();
        break;
    default: /* duplicated inner run */
        if (n > 8 && n * 2 < cap - 4) {
            size_t at = rnd() % n;
            memmove(b + at + (n - at), b + at, n - at);
            n += n - at;
        }
        break;
    }
    if (n == 0) n = 1;
    out[0] = (unsigned char)(n >> 24);
    out[1] = (unsigned char)(n >> 16);
    out[2] = (unsigned char)(n >> 8);
    out[3] = (unsigned char)n;
    if (rnd() % 200 == 0) { /* now and then a bad length prefix */
        uint32_t l = rnd() % 3 == 0 ? 0 : 0x7fffff00u;
        out[0] = (unsigned char)(l >> 24);
        out[1] = (unsigned char)(l >> 16);
        out[2] = (unsigned char)(l >> 8);
        out[3] = (unsigned char)l;
    }
    return n + 4;
}

/* One connection: PER_CONN frames pipelined, then read every answer.
 * Returns the number of answers, or -1 if anything ill-formed came. */
static int one_conn(int port, enum pdu_proto proto, long *sent)
{
    static unsigned char buf[PER_CONN * 70000];
    size_t off = 0;
    int i, fd, answers = 0, bad = 0;
    struct frame_rd rd;

    for (i = 0; i < PER_CONN; i++) off += make_frame(proto, buf + off, 66000);
    *sent += PER_CONN;
    fd = agent_connect(port);
    if (fd < 0) return -1;
    frame_write_all(fd, buf, off, clock_ms() + 5000); /* may fail: closed early */
    shutdown(fd, SHUT_WR);
    if (frame_rd_init(&rd, fd, 64u << 20) < 0) {
        close(fd);
        return -1;
    }
    for (;;) {
        const unsigned char *b;
        size_t l;
        struct pdu m;
        enum frame_status fs = frame_get(&rd, clock_ms() + 10000, &b, &l);
        if (fs == FRAME_EOF) break;
        if (fs == FRAME_IOERR && errno == ECONNRESET) break; /* we sent more than it read */
        if (fs != FRAME_OK) {
            bad = 1;
            break;
        }
        if (pdu_decode_response(proto, b, l, &m) != PDU_OK) {
            bad = 1;
            break;
        }
        answers++;
    }
    frame_rd_free(&rd);
    close(fd);
    return bad ? -1 : answers;
}

int main(void)
{
    static const char *accts[] = {"alice"};
    static const char *pws[] = {"secret1"};
    static const char *env[] = {"AUTH_DELAY_MS=0", "IDLE_TIMEOUT=5", NULL};
    const char *fr = getenv("RNA_HOSTILE_FRAMES");
    long frames = fr ? atol(fr) : 3000, sent = 0, answers = 0;
    const char *dir;
    pid_t store, lsp, lqp;
    int sp, qp, bad = 0;

    signal(SIGPIPE, SIG_IGN);
    load_dir("fuzz/corpus/command_rnasp", PDU_RNASP);
    load_dir("fuzz/corpus/response_rnasp", PDU_RNASP);
    load_dir("fuzz/corpus/command_rnaqp", PDU_RNAQP);
    load_dir("fuzz/corpus/response_rnaqp", PDU_RNAQP);
    load_dir("fuzz/corpus/nald", PDU_RNAQP);
    T_OK(nseeds >= 10, "hostile: seeds loaded from fuzz/corpus (%zu)", nseeds);
    if (nseeds < 10) return t_done();

    dir = agent_mkdir();
    agent_cfg_reset();
    agent_cfg_domain("example.org");
    agent_cfg_mbox("alice", "example.org", "alice");
    T_OK(agent_cfg_write(dir) == 0 && agent_auth_write(dir, accts, pws, 1) == 0, "config");
    store = agent_store_start(dir, 0);
    lsp = agent_listen("rnasp-d", dir, env, &sp);
    lqp = agent_listen("rnaqp-d", dir, env, &qp);
    T_OK(store > 0 && lsp > 0 && lqp > 0, "store and listeners up");
    if (store > 0 && lsp > 0 && lqp > 0) {
        long half = 0;
        while (sent < frames) {
            int qpturn = (int)(half++ % 2);
            int k = one_conn(qpturn ? qp : sp, qpturn ? PDU_RNAQP : PDU_RNASP, &sent);
            if (k < 0) bad++;
            else answers += k;
        }
        T_OK(bad == 0, "hostile: every answer to %ld hostile frames is a well-formed response (%d bad connections)",
             sent, bad);
        T_OK(answers > sent / 4, "hostile: the servers answered (%ld answers)", answers);
        printf("# %ld frames sent, %ld well-formed answers\n", sent, answers);
        {
            /* the agent still serves normally */
            unsigned char buf[4096];
            struct der_w w;
            struct pdu_notif n;
            unsigned char b1[PDU_DOMAIN_DER_MAX], b2[PDU_DOMAIN_DER_MAX];
            struct frame_rd rd;
            const unsigned char *b;
            size_t l;
            struct pdu m;
            int fd = agent_connect(sp), ok = 0;
            memset(&n, 0, sizeof n);
            n.clear.kind = PDU_LOC_DOMAIN;
            pdu_domain_from_text(b1, sizeof b1, "st.example", 10, &n.clear.domain);
            pdu_domain_from_text(b2, sizeof b2, "example.org", 11, &n.rdomain);
            n.localpart.p = (const unsigned char *)"alice";
            n.localpart.len = 5;
            memset(n.id, 0xee, 16);
            n.sender.p = (const unsigned char *)"";
            der_w_fixed(&w, buf, sizeof buf);
            frame_w_begin(&w);
            pdu_enc_cmd_notify_begin(&w);
            pdu_put_notif(&w, &n);
            pdu_enc_cmd_notify_end(&w);
            frame_w_end(&w);
            if (fd >= 0 && frame_rd_init(&rd, fd, 1u << 20) == 0) {
                frame_write_all(fd, buf, w.len, clock_ms() + 5000);
                ok = frame_get(&rd, clock_ms() + 10000, &b, &l) == FRAME_OK &&
                     pdu_decode_response(PDU_RNASP, b, l, &m) == PDU_OK &&
                     m.status == PDU_S_NOERROR;
                frame_rd_free(&rd);
            }
            if (fd >= 0) close(fd);
            T_OK(ok, "hostile: a normal submission is accepted afterwards");
        }
    }
    agent_unlisten(lsp);
    agent_unlisten(lqp);
    T_OK(agent_store_stop(store) == 0, "hostile: the store stops cleanly after the onslaught");
    if (!getenv("KEEP")) agent_rmdir(dir);
    return t_done();
}
