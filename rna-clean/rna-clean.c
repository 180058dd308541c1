/*
 * rna-clean [-a AGE] DIR: ask the running store to expire notifications
 * older than AGE (default: the configured "expire" setting, which the
 * store applies) and then to compact its journal into a snapshot. Prints
 * what the store did, one tab-separated record per line:
 *
 *   expired	N
 *   compacted	held=N	generation=G
 *
 * Made for cron or a looping daemontools service (run, then sleep). AGE
 * is seconds, or a number with one suffix s, m, h or d.
 *
 * Exit codes: 0 done; 100 usage; 111 store unreachable or failing.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "die.h"
#include "conf.h"
#include "frame.h"
#include "storec.h"

#define PROG "rna-clean"
#define WAIT_MS 60000 /* compaction writes the whole store */

static _Noreturn void usage(void)
{
    die_exit(PROG, 100, "usage: " PROG " [-a AGE] DIR");
}

/* One request; dies unless the store answers OK with at least want
 * octets of payload. */
static const unsigned char *call(struct storec *s, const char *what, size_t want)
{
    const unsigned char *p;
    size_t n;
    int st = storec_call(s, clock_ms() + WAIT_MS, &p, &n);
    if (st < 0) die_exit(PROG, 111, "%s: no answer from the store: %s", what, strerror(errno));
    if (st != STORE_OK) die_exit(PROG, 111, "%s: the store answered %s", what, storec_status_name(st));
    if (n < want) die_exit(PROG, 111, "%s: short answer from the store", what);
    return p;
}

int main(int argc, char **argv)
{
    const char *dir = NULL;
    int have_age = 0, i;
    uint64_t age = 0;
    struct storec s;
    const unsigned char *p;
    uint32_t expired;

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-a") == 0 && i + 1 < argc) {
            if (conf_age_parse(argv[++i], &age) < 0)
                die_exit(PROG, 100, "invalid age (seconds, or N with s, m, h or d)");
            have_age = 1;
        } else if (!dir && argv[i][0] && argv[i][0] != '-') {
            dir = argv[i];
        } else {
            usage();
        }
    }
    if (!dir) usage();
    if (storec_open(&s, dir, clock_ms() + WAIT_MS) < 0)
        die_exit(PROG, 111, "unable to reach the store at %s/" STORE_SOCKET ": %s", dir,
            strerror(errno));
    storec_begin(&s, STORE_OP_EXPIRE);
    if (have_age) storec_put_u64(&s.w, age);
    p = call(&s, "expire", 4);
    expired = storec_get_u32(p);
    printf("expired\t%lu\n", (unsigned long)expired);
    fflush(stdout);
    storec_begin(&s, STORE_OP_COMPACT);
    p = call(&s, "compact", 16);
    printf("compacted\theld=%llu\tgeneration=%llu\n",
           (unsigned long long)storec_get_u64(p),
           (unsigned long long)storec_get_u64(p + 8));
    storec_close(&s);
    if (fflush(stdout) != 0 || ferror(stdout))
        die_exit(PROG, 111, "unable to write output: %s", strerror(errno));
    return 0;
}
