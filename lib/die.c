/*
 * die: see die.h.
 */
#include "die.h"

#include <stdio.h>
#include <stdlib.h>

void die_vline(const char *prog, const char *level, const char *fmt, va_list ap)
{
    fflush(stdout);
    fprintf(stderr, "%s: %s: ", prog, level);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

void die_exit(const char *prog, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    die_vline(prog, "fatal", fmt, ap);
    va_end(ap);
    exit(code);
}

void die_warn(const char *prog, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    die_vline(prog, "warning", fmt, ap);
    va_end(ap);
}
