/*
 * rna-pdu: convert RNASP/RNAQP frames to a line-oriented text form and
 * back, for tests, store scripts and people reading captures.
 *
 *   rna-pdu -p rnasp|rnaqp [-m max] decode   frames on stdin, text out
 *   rna-pdu [-p rnasp|rnaqp] [-m max] encode text on stdin, frames out
 *
 * Exit codes: 0 done; 100 usage, or input refused (a bad frame while
 * decoding, any error in the text while encoding); 111 read or write
 * failure, out of memory.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rna-pdu.h"

void die(int code, const char *fmt, ...)
{
    va_list ap;
    fflush(stdout);
    fputs("rna-pdu: fatal: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(code);
}

_Noreturn static void usage(void)
{
    fputs("rna-pdu: usage: rna-pdu -p rnasp|rnaqp [-m max] decode\n"
          "rna-pdu: usage: rna-pdu [-p rnasp|rnaqp] [-m max] encode\n",
          stderr);
    exit(EXIT_PERM);
}

/* A frame size limit: decimal, canonical, 1 .. 2^32-5 (frame_rd_init). */
static size_t parse_max(const char *s)
{
    unsigned long long v = 0;
    const char *p = s;
    if (*p == '0' || *p == '\0') usage();
    for (; *p; p++) {
        if (*p < '0' || *p > '9') usage();
        v = v * 10 + (unsigned)(*p - '0');
        if (v > 0xffffffffull - 4) usage();
    }
    return (size_t)v;
}

int main(int argc, char **argv)
{
    enum pdu_proto proto = 0;
    size_t max = RNA_PDU_MAX_DEFAULT;
    int opt;

    while ((opt = getopt(argc, argv, "p:m:")) != -1) {
        switch (opt) {
        case 'p':
            if (strcmp(optarg, "rnasp") == 0) proto = PDU_RNASP;
            else if (strcmp(optarg, "rnaqp") == 0) proto = PDU_RNAQP;
            else usage();
            break;
        case 'm':
            max = parse_max(optarg);
            break;
        default:
            usage();
        }
    }
    if (argc - optind != 1) usage();
    if (strcmp(argv[optind], "decode") == 0) {
        if (!proto) usage();
        return decode_run(proto, max);
    }
    if (strcmp(argv[optind], "encode") == 0) return encode_run(proto, max);
    usage();
}
