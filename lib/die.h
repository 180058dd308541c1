/*
 * die: the one-line messages of STYLE.md, for main and its helpers in
 * the command-line tools: "PROG: fatal: ..." then exit, or
 * "PROG: warning: ...". Standard output is flushed first so the lines
 * come out in order. (The servers log through their own buffered paths.)
 */
#ifndef RNA_DIE_H
#define RNA_DIE_H

#include <stdarg.h>

void die_vline(const char *prog, const char *level, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));
_Noreturn void die_exit(const char *prog, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void die_warn(const char *prog, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
