/*
 * rna-query: shared between main (rna-query.c) and the output formats
 * (out.c), which doc/rna-query.1 specifies.
 */
#ifndef RNA_QUERY_TOOL_H
#define RNA_QUERY_TOOL_H

#include <stdio.h>

#include "pdu.h"

#define EXIT_PERM 100
#define EXIT_TEMP 111

/* Print one notification as a line: tab-separated text, or one JSON
 * object. Every string from the agent is escaped so no control
 * character, C1 control or line-reordering character reaches f. */
void out_text(FILE *f, const struct pdu_nald *x);
void out_json(FILE *f, const struct pdu_nald *x);

#endif
