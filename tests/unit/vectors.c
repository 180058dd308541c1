/*
 * Every frame of ../shared/vectors/valid-pdus.txt (copied into
 * tests/vectors/) and every worked frame of PROTOCOL.md section 3 must
 * decode and re-encode to the same octets.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"
#include "pdu.h"
#include "t.h"

static int roundtrip(enum pdu_proto proto, int command,
                     const unsigned char *f, size_t n, const char *name)
{
    struct pdu m;
    struct der_w w;
    int r, same;
    size_t body;

    if (n < 4) return 0;
    body = (size_t)f[0] << 24 | (size_t)f[1] << 16 | (size_t)f[2] << 8 | f[3];
    T_OK(body == n - 4, "%s: frame length matches", name);
    r = command ? pdu_decode_command(proto, f + 4, n - 4, &m)
                : pdu_decode_response(proto, f + 4, n - 4, &m);
    T_OK(r == PDU_OK, "%s: decodes (got %d)", name, r);
    if (r != PDU_OK) return 0;
    der_w_growing(&w, 1 << 20);
    frame_w_begin(&w);
    pdu_encode(&w, &m);
    T_OK(frame_w_end(&w) == 0, "%s: re-encodes", name);
    same = w.len == n && memcmp(w.buf, f, n) == 0;
    T_OK(same, "%s: re-encodes to the same octets", name);
    der_w_free(&w);
    return same;
}

static void vectors_file(const char *path)
{
    FILE *fp = fopen(path, "r");
    char line[8192], name[256] = "";
    unsigned char buf[4096];
    int count = 0;

    T_OK(fp != NULL, "open %s", path);
    if (!fp) return;
    while (fgets(line, sizeof line, fp)) {
        size_t l = strlen(line);
        while (l && (line[l - 1] == '\n' || line[l - 1] == '\r')) line[--l] = 0;
        if (l == 0 || line[0] == '#') continue;
        if (strncmp(line, "rna", 3) == 0) {
            snprintf(name, sizeof name, "%s", line);
            continue;
        }
        {
            long n = t_unhex(line, buf, sizeof buf);
            enum pdu_proto proto =
                strncmp(name, "rnasp", 5) == 0 ? PDU_RNASP : PDU_RNAQP;
            int command = strstr(name, "-command-") != NULL;
            T_OK(n > 0, "%s: hex parses", name);
            if (n > 0) roundtrip(proto, command, buf, (size_t)n, name);
            count++;
        }
    }
    fclose(fp);
    T_OK(count == 19, "vectors file holds 19 frames (got %d)", count);
}

static const struct {
    const char *name;
    enum pdu_proto proto;
    int command;
    const char *hex;
} worked[] = {
    {"worked CommandRetrieveAndClear", PDU_RNAQP, 1, "00000006 A104A002A100"},
    {"worked ResponseNull malformed abort", PDU_RNAQP, 0,
     "0000000C A20A8001FF810101A202A000"},
    {"worked ResponseNull timeout abort", PDU_RNASP, 0,
     "0000000C A20A8001FF810102A202A000"},
    {"worked ResponseAuthenticate success", PDU_RNAQP, 0,
     "0000000C A20A800100810100A202A100"},
    {"worked CommandAuthenticate alice/secret1", PDU_RNAQP, 1,
     "00000016 A114A012A010800561 6C696365 8107736563726574 31"},
};

static void worked_frames(void)
{
    size_t i;
    unsigned char buf[256];
    for (i = 0; i < sizeof worked / sizeof worked[0]; i++) {
        long n = t_unhex(worked[i].hex, buf, sizeof buf);
        T_OK(n > 0, "%s: hex parses", worked[i].name);
        roundtrip(worked[i].proto, worked[i].command, buf, (size_t)n,
                  worked[i].name);
    }
}

/* The encoders, driven directly, produce the worked frames too. */
static void encoders_make_worked(void)
{
    unsigned char buf[256], want[256];
    struct der_w w;
    long n;
    struct pdu_str acct = {(const unsigned char *)"alice", 5};
    struct pdu_str pw = {(const unsigned char *)"secret1", 7};

    der_w_fixed(&w, buf, sizeof buf);
    frame_w_begin(&w);
    pdu_enc_cmd_auth(&w, &acct, &pw);
    frame_w_end(&w);
    n = t_unhex("00000016A114A012A0108005616C696365810773656372657431", want,
                sizeof want);
    T_OK(n == (long)w.len && memcmp(buf, want, (size_t)n) == 0,
         "pdu_enc_cmd_auth builds the worked CommandAuthenticate");

    der_w_fixed(&w, buf, sizeof buf);
    frame_w_begin(&w);
    pdu_enc_resp_empty(&w, 1, PDU_S_TIMEOUT, 0);
    frame_w_end(&w);
    n = t_unhex("0000000CA20A8001FF810102A202A000", want, sizeof want);
    T_OK(n == (long)w.len && memcmp(buf, want, (size_t)n) == 0,
         "pdu_enc_resp_empty builds the worked timeout ResponseNull");

    der_w_fixed(&w, buf, sizeof buf);
    frame_w_begin(&w);
    {
        static const uint32_t rej[] = {0, 2};
        pdu_enc_resp_notify(&w, 1, PDU_S_QUOTA, rej, 2);
    }
    frame_w_end(&w);
    n = t_unhex("00000014a2128001ff810109a20aa108a006020100020102", want,
                sizeof want);
    T_OK(n == (long)w.len && memcmp(buf, want, (size_t)n) == 0,
         "pdu_enc_resp_notify builds the quota vector with rejected {0,2}");
}

/* The copy in tests/vectors must be the shared file, when it is beside us. */
static void copy_is_current(void)
{
    FILE *a = fopen("tests/vectors/valid-pdus.txt", "rb");
    FILE *b = fopen("../shared/vectors/valid-pdus.txt", "rb");
    int same = 1, ca, cb;
    if (!b) {
        if (a) fclose(a);
        T_OK(1, "shared vectors not beside the checkout; copy used as is");
        return;
    }
    if (!a) {
        fclose(b);
        T_OK(0, "tests/vectors/valid-pdus.txt exists");
        return;
    }
    do {
        ca = getc(a);
        cb = getc(b);
        if (ca != cb) same = 0;
    } while (same && ca != EOF);
    fclose(a);
    fclose(b);
    T_OK(same, "tests/vectors/valid-pdus.txt equals ../shared/vectors copy");
}

int main(void)
{
    vectors_file("tests/vectors/valid-pdus.txt");
    worked_frames();
    encoders_make_worked();
    copy_is_current();
    return t_done();
}
