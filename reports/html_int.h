/* html_int.h — what reports/html.c shares with the other files of the report
 * (reports/html_scenario.c); not part of the module's surface (rpt.h). */
#ifndef MRL_RPT_HTML_INT_H
#define MRL_RPT_HTML_INT_H

#include <stdbool.h>
#include <stdio.h>

#include "reports/rpt.h"

/* The scenario table of report.html (md false) or report.md (md true): one row
 * per in->scenarios entry, nothing when there is none. */
void rpt_scenario_table(FILE *f, const struct rpt_input *in, bool md);

#endif
