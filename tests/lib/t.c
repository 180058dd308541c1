#include "t.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int failures;

void t_check(int cond, const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    printf(cond ? "ok - " : "not ok - ");
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    if (!cond) {
        printf(" (%s:%d)", file, line);
        failures++;
    }
    printf("\n");
    fflush(stdout);
}

int t_done(void)
{
    return failures ? 1 : 0;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

long t_unhex(const char *hex, unsigned char *buf, size_t cap)
{
    size_t n = 0;
    while (*hex) {
        int a, b;
        if (*hex == ' ' || *hex == '\n') {
            hex++;
            continue;
        }
        a = hexval(hex[0]);
        if (a < 0 || !hex[1]) return -1;
        b = hexval(hex[1]);
        if (b < 0 || n >= cap) return -1;
        buf[n++] = (unsigned char)(a * 16 + b);
        hex += 2;
    }
    return (long)n;
}
