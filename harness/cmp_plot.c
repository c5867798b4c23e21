/* cmp_plot.c — merilo compare --out PREFIX: the plot of the generative metrics
 * (reports/plot_gen.c rpt_compare_plot_write) next to the other outputs, as
 * PREFIX-generation.gp/.dat/.png/.svg. The file name part of PREFIX goes into
 * gnuplot's script, so it is kept to letters, digits, '.', '_' and '-' (others
 * become '_') and to 32 characters.
 */
#include "harness/cmp_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int hrn_cmp_plot(const char *prefix, const struct rpt_cmp_result *res, bool quiet, struct mrl_err *err)
{
	char dir[4096], name[48];
	const char *slash = strrchr(prefix, '/'), *base = slash ? slash + 1 : prefix;
	if (!slash)
		snprintf(dir, sizeof dir, ".");
	else if ((size_t)snprintf(dir, sizeof dir, "%.*s", (int)(slash - prefix), prefix) >= sizeof dir)
		return mrl_err_set(err, MRL_EINPUT, "--out %s: the folder's name is too long", prefix);
	if (slash == prefix)
		snprintf(dir, sizeof dir, "/");
	size_t n = 0;
	for (const char *p = *base ? base : "compare"; *p && n < 32; p++)
		name[n++] = strchr("._-", *p) || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
				    (*p >= '0' && *p <= '9') ? *p : '_';
	snprintf(name + n, sizeof name - n, "-generation");
	struct rpt_plots plots;
	const struct rpt_plot_opts popts = { .gnuplot = getenv("MERILO_GNUPLOT") }; /* as report's */
	int rc = rpt_compare_plot_write(dir, name, res, &popts, &plots, err);
	if (!rc && plots.n && plots.status[0] && !quiet)
		fprintf(stderr, "merilo compare: warning: %s\n", plots.status);
	rpt_plots_release(&plots);
	return rc;
}
