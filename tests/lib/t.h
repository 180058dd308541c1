/*
 * t: the smallest test reporter. Each check prints "ok - NAME" or
 * "not ok - NAME (file:line)"; tests/run.sh counts those lines.
 */
#ifndef RNA_T_H
#define RNA_T_H

#include <stddef.h>

void t_check(int cond, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Exit status for main: 0 if every check passed. */
int t_done(void);
/* Hex helpers for tests: parse "0a0b.." into buf; -1 if not hex. */
long t_unhex(const char *hex, unsigned char *buf, size_t cap);

#define T_OK(cond, ...) t_check((cond) ? 1 : 0, __FILE__, __LINE__, __VA_ARGS__)

#endif
