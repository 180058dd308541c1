/*
 * rna-pdu: shared between main (rna-pdu.c), the decoder (decode.c) and
 * the encoder (encode.c). The text form is specified in doc/pdu-text.md.
 */
#ifndef RNA_PDU_TOOL_H
#define RNA_PDU_TOOL_H

#include <stddef.h>

#include "pdu.h"

#define EXIT_PERM 100
#define EXIT_TEMP 111

/* Default frame size limit: above both protocols' server limits
 * (PROTOCOL.md section 1), so captures of big responses decode too. */
#define RNA_PDU_MAX_DEFAULT (16u << 20)

/* One stderr line "rna-pdu: fatal: ...", then exit with code. */
_Noreturn void die(int code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Frames on fd 0 to text on stdout. proto: how to read the alternatives.
 * Returns the exit code (0, or 100 if some frame was bad). */
int decode_run(enum pdu_proto proto, size_t max);

/* Text on stdin to frames on fd 1. want: 0, or the only protocol
 * accepted. Returns the exit code; dies on the first error. */
int encode_run(enum pdu_proto want, size_t max);

#endif
