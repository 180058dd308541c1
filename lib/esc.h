/*
 * esc: make untrusted octets safe to show to people and to put in log
 * lines, and turn that text back into the same octets.
 *
 * The escaped form is meant to stand between double quotes, or (with
 * the right extra characters escaped, see esc_str_also) unquoted in a
 * line-oriented format. It never holds a byte below 0x20, DEL, a double
 * quote or a lone backslash, so it cannot end a line, a quoted string or
 * a terminal escape sequence early. Escapes:
 *   \\        a backslash
 *   \"        a double quote
 *   \xHH      one octet, two lower-case hex digits: for C0 controls
 *             (0x00-0x1f), DEL (0x7f), every octet of a C1 control
 *             (U+0080..U+009F, UTF-8 c2 80..c2 9f), every octet of a
 *             line or paragraph separator or bidirectional formatting
 *             control (U+061C, U+200E, U+200F, U+2028..U+202E,
 *             U+2066..U+2069, U+FEFF: they make a line display as
 *             something it is not), every octet that is not part of a
 *             valid UTF-8 sequence, and the caller's extra characters.
 * Everything else, including well-formed printable UTF-8, passes through.
 *
 * No allocation; output goes to a caller buffer. The escaped form of n
 * octets takes at most ESC_MAX(n) characters.
 */
#ifndef RNA_ESC_H
#define RNA_ESC_H

#include <stddef.h>

/* Worst case expansion: every octet as \xHH. Callers bound n first. */
#define ESC_MAX(n) (4 * (n))

/* Escape len octets at p into out. Returns the length of the whole
 * escaped text, whatever cap is (like snprintf). If cap > 0, out receives
 * as much of it as fits in cap - 1 characters, cut only between escape
 * units (never inside \xHH or a UTF-8 sequence), and a NUL. out may be
 * NULL when cap is 0. */
size_t esc_str(char *out, size_t cap, const unsigned char *p, size_t len);

/* The same, and every ASCII character in the NUL-terminated set also is
 * written as \xHH too (e.g. " ." for dotted names shown unquoted). */
size_t esc_str_also(char *out, size_t cap, const unsigned char *p, size_t len,
                    const char *also);

/* The inverse: decode slen characters at s (the text between the quotes,
 * not the quotes) into at most cap octets at out, and store their number
 * in *outlen. Accepts \\, \", \xHH (either case) and any other octet
 * except C0 controls, DEL, a bare double quote and a bare backslash.
 * 0 on success; -1 with errno EINVAL (bad text) or ENOSPC (more than cap
 * octets), with out and *outlen untouched. */
int esc_unstr(unsigned char *out, size_t cap, const char *s, size_t slen,
              size_t *outlen);

#endif
