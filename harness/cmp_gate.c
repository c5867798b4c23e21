/* cmp_gate.c — `merilo compare`'s gate flags checked against the comparisons the
 * two runs have: --gate (metrics), --gate-tasks and --gate-languages (replacing
 * a config file's "tasks" / "languages"). A name no comparison has would gate
 * nothing and pass, so it is a usage error listing the valid names.
 */
#include "harness/cmp_int.h"
#include "harness/hrn.h"
#include "records/record_json.h"
#include "reports/rpt.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --gate-tasks / --gate-languages: the list replaces the config's (*names, *n);
 * a name no comparison has is a usage error (exit 2, as --gate's). HRN_EXIT_OK
 * otherwise. */
static int gate_filter_from_flag(const struct cmp_state *st, const char *flag, const char *arg, bool languages,
				 char ***names, size_t *n)
{
	struct mrl_err err = { 0 };
	char *copy = strdup(arg), *save = NULL;
	for (size_t i = 0; i < *n; i++)
		free((*names)[i]);
	free(*names);
	*names = NULL, *n = 0;
	int rc = copy ? 0 : mrl_err_set(&err, MRL_ENOMEM, "out of memory");
	for (char *t = copy ? strtok_r(copy, ",", &save) : NULL; t && !rc; t = strtok_r(NULL, ",", &save))
		if (*t && rec_strlist_add(names, n, t))
			rc = mrl_err_set(&err, MRL_ENOMEM, "out of memory");
	free(copy);
	if (!rc && (rc = rpt_compare_check_filter(st->inputs, st->n_inputs, (const char *const *)*names, *n, languages,
						  &err)) == MRL_EINPUT)
		return hrn_usage_error("compare", "%s %s: %s", flag, arg,
				       strncmp(err.msg, "compare: ", 9) ? err.msg : err.msg + 9);
	return rc ? hrn_report(&err) : HRN_EXIT_OK;
}

/* --gate names a metric no comparison has: a usage error (exit 2, as leaderboard's
 * --metric) listing the metrics both runs have. HRN_EXIT_OK otherwise. */
static int check_gate_list(const struct cmp_state *st, const struct cmp_opts *o)
{
	char list[512], *copy = strdup(o->gate_list), *save = NULL;
	int ret = copy ? HRN_EXIT_OK : HRN_EXIT_RUNTIME;
	rpt_compare_names(st->inputs, st->n_inputs, RPT_CMP_METRIC, list, sizeof list);
	for (char *t = copy ? strtok_r(copy, ",", &save) : NULL; t && ret == HRN_EXIT_OK; t = strtok_r(NULL, ",", &save)) {
		bool found = false;
		for (size_t i = 0; i < st->n_inputs && !found; i++)
			found = !strcmp(st->inputs[i].metric, t);
		if (*t && !found)
			ret = hrn_usage_error("compare", "--gate %s: not a metric both runs have; valid: %s", t, list);
	}
	free(copy);
	return ret;
}

int hrn_cmp_gate_flags(struct cmp_state *st, const struct cmp_opts *o)
{
	int ec = o->gate_list ? check_gate_list(st, o) : HRN_EXIT_OK;
	if (ec == HRN_EXIT_OK && o->gate_tasks)
		ec = gate_filter_from_flag(st, "--gate-tasks", o->gate_tasks, false, &st->gate_tasks, &st->n_gate_tasks);
	if (ec == HRN_EXIT_OK && o->gate_languages)
		ec = gate_filter_from_flag(st, "--gate-languages", o->gate_languages, true, &st->gate_languages,
					   &st->n_gate_languages);
	return ec;
}
