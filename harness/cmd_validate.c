/* cmd_validate.c — `merilo validate SUITE.json [--json]`: check a suite and
 * report every problem, one per line ("file: /json/pointer: message"), or
 * "OK: <summary>". Exit 0 when valid, 3 when not (or unreadable), 2 for usage. */
#include "harness/hrn.h"
#include "tasks/task.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *out, const struct mrl_option *opts)
{
	fprintf(out,
		"usage: merilo validate SUITE.json [--json]\n"
		"Check a suite file (docs/suite-format.md) and report every problem, one per line:\n"
		"  FILE: /json/pointer: message\n"
		"or 'OK: <summary>' when the suite is valid.\n");
	hrn_print_options(out, opts, 9);
	fprintf(out, "exit codes: 0 valid, 2 usage error, 3 invalid or unreadable suite\n");
}

/* "suite 'x' 1.0.0: 2 tasks, 1500 variants in 500 items" */
static void summary(const struct task_suite *s, char *buf, size_t size)
{
	size_t n_items = 0, n_variants = 0;
	for (size_t i = 0; i < task_suite_n_tasks(s); i++) {
		const struct task_task *t = task_suite_task(s, i);
		n_items += task_n_items(t);
		for (size_t k = 0; k < task_n_items(t); k++)
			for (size_t l = 0; l < task_n_languages(t); l++)
				n_variants += task_item_has(task_item_at(t, k), l);
	}
	size_t n = (size_t)snprintf(buf, size, "suite '%s' %s: %zu task%s, %zu item%s, %zu language variant%s (",
				    task_suite_name(s), task_suite_version(s), task_suite_n_tasks(s),
				    task_suite_n_tasks(s) == 1 ? "" : "s", n_items, n_items == 1 ? "" : "s", n_variants,
				    n_variants == 1 ? "" : "s");
	for (size_t i = 0; i < task_suite_n_tasks(s) && n < size; i++) {
		const struct task_task *t = task_suite_task(s, i);
		n += (size_t)snprintf(buf + n, size - n, "%s%s: %s", i ? "; " : "", task_id(t), task_type_name(task_type(t)));
		for (size_t l = 0; l < task_n_languages(t) && n < size; l++)
			n += (size_t)snprintf(buf + n, size - n, "%s%s", l ? " " : ", ", task_language(t, l));
	}
	if (n < size)
		snprintf(buf + n, size - n, ")");
}

int hrn_cmd_validate(int argc, char **argv)
{
	bool as_json = false;
	const struct mrl_option opts[] = {
		OPT_BOOL(0, "json", &as_json,
			 "print {\"file\", \"ok\", \"problems\": [{\"path\", \"message\"}], \"problems_not_listed\",\n"
			 "\"summary\"}: \"line\" and \"column\" where the text itself is at fault (JSON syntax,\n"
			 "UTF-8, NUL, nesting), \"summary\" only for a valid suite"),
		OPT_END(),
	};
	int n_args, rc = hrn_options("validate", opts, argc, argv, &n_args, usage);
	if (rc != HRN_OPTS_GO)
		return rc;
	if (n_args > 1)
		return hrn_usage_error("validate", "one suite file at a time ('%s' and '%s')", argv[0], argv[1]);
	if (!n_args)
		return hrn_usage_error("validate", "expected a suite file");
	const char *path = argv[0];

	struct task_diags diags;
	struct task_suite *suite = NULL;
	struct mrl_err err = {0};
	task_diags_init(&diags);
	rc = task_suite_load(path, &suite, &diags, &err);
	if (rc && rc != MRL_EINPUT && rc != MRL_EIO) { /* out of memory: not a verdict on the file */
		task_diags_release(&diags);
		return hrn_report(&err);
	}
	char line[2048];
	if (as_json) {
		json_t *o = json_object(), *probs = json_array();
		json_object_set_new(o, "file", json_string(path));
		json_object_set_new(o, "ok", json_boolean(!rc));
		for (size_t i = 0; i < diags.n; i++) {
			json_t *p = json_object();
			json_object_set_new(p, "path", json_string(diags.v[i].path));
			json_object_set_new(p, "message", json_string(diags.v[i].msg));
			if (diags.v[i].line) {
				json_object_set_new(p, "line", json_integer(diags.v[i].line));
				json_object_set_new(p, "column", json_integer(diags.v[i].column));
			}
			json_array_append_new(probs, p);
		}
		json_object_set_new(o, "problems", probs);
		json_object_set_new(o, "problems_not_listed", json_integer((json_int_t)diags.n_dropped));
		if (!rc) {
			summary(suite, line, sizeof line);
			json_object_set_new(o, "summary", json_string(line));
		}
		char *text = json_dumps(o, JSON_INDENT(2));
		if (text)
			printf("%s\n", text);
		free(text);
		json_decref(o);
	} else if (!rc) {
		summary(suite, line, sizeof line);
		printf("OK: %s: %s\n", path, line);
	} else {
		for (size_t i = 0; i < diags.n; i++) {
			task_diag_format(&diags, i, line, sizeof line);
			printf("%s\n", line);
		}
		if (diags.n_dropped)
			printf("%s: ... and %zu more problems not listed\n", path, diags.n_dropped);
		if (!diags.n) /* cannot happen: a failed load always leaves a diagnostic */
			printf("%s\n", err.msg);
	}
	fflush(stdout);
	task_suite_free(suite);
	task_diags_release(&diags);
	return rc ? HRN_EXIT_INPUT : HRN_EXIT_OK;
}
