/* cmd_import.c — `merilo import FORMAT --lang TAG=FILE ... [-o OUT]`: convert an
 * outside benchmark into a suite (importers are the table in tasks/import.c).
 * The result is validated like any suite before it is written, atomically. */
#include "harness/hrn.h"
#include "common/fileio.h"
#include "tasks/task.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *out)
{
	fprintf(out,
		"usage: merilo import FORMAT --lang TAG=FILE [--lang TAG=FILE ...] -o OUT.json\n"
		"                     [--name NAME] [--version V] [--license L] [--source S] [--description D]\n"
		"Convert an outside benchmark into one suite whose items pair the languages'\n"
		"variants of the same content. The suite is validated, then written atomically.\n"
		"  --lang TAG=FILE   one input file per language (BCP 47 tag: en, sr-Cyrl, sr-Latn, hr, bs, cnr)\n"
		"  -o, --output OUT  the suite file to write ('-' = standard output)\n"
		"formats:\n");
	for (size_t i = 0; i < task_n_importers(); i++)
		fprintf(out, "  %-8s %s\n", task_importer_name(i), task_importer_summary(i));
	fprintf(out,
		"example:\n"
		"  merilo import copa --lang sr-Cyrl=test-sr.jsonl --lang sr-Latn=test-sr-lat.jsonl \\\n"
		"                     --lang hr=test-hr.jsonl --name benchich-copa -o copa.json\n"
		"exit codes: 0 ok, 2 usage error, 3 bad input, 4 could not write\n");
}

int hrn_cmd_import(int argc, char **argv)
{
	const char *format = NULL, *output = NULL;
	struct task_import_opts opts = {0};
	struct task_import_input *in = calloc((size_t)argc, sizeof *in);
	size_t n_in = 0;
	char *text = NULL;
	int rc = HRN_EXIT_OK;
	if (!in)
		return HRN_EXIT_RUNTIME;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char **slot = NULL;
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			usage(stdout);
			goto out;
		}
		if (!strcmp(a, "--lang")) {
			if (i + 1 >= argc) {
				rc = hrn_usage_error("import", "--lang needs TAG=FILE");
				goto out;
			}
			char *v = argv[++i], *eq = strchr(v, '=');
			if (!eq || eq == v || !eq[1]) {
				rc = hrn_usage_error("import", "--lang needs TAG=FILE, got '%s'", v);
				goto out;
			}
			*eq = '\0'; /* argv is ours to split */
			in[n_in].lang = v;
			in[n_in++].path = eq + 1;
			continue;
		}
		if (!strcmp(a, "-o") || !strcmp(a, "--output"))
			slot = &output;
		else if (!strcmp(a, "--name"))
			slot = &opts.name;
		else if (!strcmp(a, "--version"))
			slot = &opts.version;
		else if (!strcmp(a, "--license"))
			slot = &opts.license;
		else if (!strcmp(a, "--source"))
			slot = &opts.source;
		else if (!strcmp(a, "--description"))
			slot = &opts.description;
		if (slot) {
			if (i + 1 >= argc) {
				rc = hrn_usage_error("import", "%s needs a value", a);
				goto out;
			}
			*slot = argv[++i];
			continue;
		}
		if (a[0] == '-') {
			rc = hrn_usage_error("import", "unknown option '%s'", a);
			goto out;
		}
		if (format) {
			rc = hrn_usage_error("import", "unexpected argument '%s' (inputs are given with --lang TAG=FILE)", a);
			goto out;
		}
		format = a;
	}
	if (!format) {
		rc = hrn_usage_error("import", "expected a format (copa)");
		goto out;
	}
	size_t k = 0;
	while (k < task_n_importers() && strcmp(task_importer_name(k), format))
		k++;
	if (k == task_n_importers()) {
		rc = hrn_usage_error("import", "unknown format '%s'", format);
		goto out;
	}
	if (!n_in) {
		rc = hrn_usage_error("import", "expected at least one --lang TAG=FILE");
		goto out;
	}
	if (!output) {
		rc = hrn_usage_error("import", "expected -o OUT.json");
		goto out;
	}
	struct mrl_err err = {0};
	if (task_import(format, in, n_in, &opts, &text, &err)) {
		rc = hrn_report(&err);
		goto out;
	}
	/* the importer's output must be a valid suite, checked by the same loader as any suite */
	struct task_suite *s = NULL;
	if (task_suite_parse(strcmp(output, "-") ? output : "(stdout)", text, strlen(text), &s, NULL, &err)) {
		mrl_err_prefix(&err, "import %s produced an invalid suite", format);
		err.code = MRL_ERUNTIME;
		rc = hrn_report(&err);
		goto out;
	}
	const struct task_task *t = task_suite_task(s, 0);
	size_t n_items = t ? task_n_items(t) : 0;
	task_suite_free(s);
	if (!strcmp(output, "-")) {
		fputs(text, stdout);
		fputc('\n', stdout);
		goto out;
	}
	size_t len = strlen(text);
	text[len] = '\n'; /* json_dumps leaves no final newline; the NUL becomes one */
	if (mrl_write_file_atomic(output, text, len + 1, &err)) {
		err.code = MRL_ERUNTIME; /* a write failure: exit 4 */
		rc = hrn_report(&err);
		goto out;
	}
	fprintf(stderr, "merilo import: wrote %s (%zu items, %zu languages)\n", output, n_items, n_in);
out:
	free(text);
	free(in);
	return rc;
}
