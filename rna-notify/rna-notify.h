/*
 * rna-notify: shared between main (rna-notify.c) and the parser of the
 * notification text form (input.c), which doc/rna-notify.1 specifies.
 */
#ifndef RNA_NOTIFY_TOOL_H
#define RNA_NOTIFY_TOOL_H

#include <stddef.h>

#include "pdu.h"

#define EXIT_PERM 100
#define EXIT_TEMP 111

/* The longest line of the text form we read: every field at its limit,
 * every octet written as \xHH, sixteen IPv6 literals twice, with room. */
#define INPUT_LINE_MAX 16384

enum outcome { OUT_PENDING = 0, OUT_ACCEPTED, OUT_PERM, OUT_TEMP };

/* One notification of the input, and what became of it. */
struct item {
    size_t num;          /* argument number, or line number on stdin */
    unsigned char *der;  /* the encoded Notification (malloc'd) */
    size_t derlen;
    char *rcpt;          /* the recipient, escaped, one word (malloc'd) */
    char *dkey;          /* the recipient domain, dotted, lower case */
    char id[2 * PDU_ID_LEN + 1];
    enum outcome outcome;
    char *why;           /* reason, printable (malloc'd); NULL if none */
};

/* Parse one notification in the text form (len octets at line, without
 * the newline). 0 with der, derlen, rcpt, dkey and id filled; -1 with
 * *err set to a static description: a malformed line (errno EINVAL), or
 * out of memory (errno ENOMEM). */
int input_parse(const char *line, size_t len, struct item *it,
                const char **err);

#endif
