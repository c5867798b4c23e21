/* cmd_import.c — `merilo import FORMAT --lang TAG=FILE ... [-o OUT]`: convert an
 * outside benchmark into a suite (importers are the table in tasks/import.c).
 * The result is validated like any suite before it is written, atomically.
 * A big import shows progress (harness/progress.h) as the importer tells it:
 * kilobytes of the inputs read, then items built. */
#include "harness/hrn.h"
#include "common/fileio.h"
#include "harness/progress.h"
#include "tasks/task.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *out, const struct mrl_option *opts)
{
	fprintf(out,
		"usage: merilo import FORMAT --lang TAG=FILE [--lang TAG=FILE ...] [--pool TAG=FILE ...]\n"
		"                     [--derive TAG] -o OUT.json\n"
		"                     [--name NAME] [--version V] [--license L] [--source S] [--description D]\n"
		"Convert an outside benchmark into one suite whose items pair the languages'\n"
		"variants of the same content. The suite is validated, then written atomically.\n");
	hrn_print_options(out, opts, 18);
	fprintf(out, "formats:\n");
	for (size_t i = 0; i < task_n_importers(); i++)
		fprintf(out, "  %-16s %s\n", task_importer_name(i), task_importer_summary(i));
	fprintf(out,
		"examples:\n"
		"  merilo import copa --lang sr-Cyrl=test-sr.jsonl --lang sr-Latn=test-sr-lat.jsonl \\\n"
		"                     --lang hr=test-hr.jsonl --name benchich-copa -o copa.json\n"
		"  merilo import belebele --lang en=eng_Latn.jsonl --lang sr-Cyrl=srp_Cyrl.jsonl \\\n"
		"                     --lang hr=hrv_Latn.jsonl --lang bs=bos_Latn.jsonl --derive sr-Latn \\\n"
		"                     --license CC-BY-SA-4.0 -o belebele.json\n"
		"  merilo import flores --lang en=eng_Latn.devtest --lang sr-Cyrl=srp_Cyrl.devtest \\\n"
		"                     --lang hr=hrv_Latn.devtest --derive sr-Latn -o flores.json\n"
		"  merilo import global-mmlu --lang en=en-test.jsonl --lang sr-Cyrl=sr-test.jsonl \\\n"
		"                     --pool en=en-dev.jsonl --pool sr-Cyrl=sr-dev.jsonl --derive sr-Latn \\\n"
		"                     -o global-mmlu.json\n"
		"  merilo import global-piqa --lang en=eng_latn.jsonl --lang sr-Cyrl=srp_cyrl.jsonl \\\n"
		"                     --lang sr-Latn=srp_latn.jsonl --lang hr=hrv_latn.jsonl -o global-piqa.json\n"
		"  merilo import include --lang sr-Cyrl=Serbian.jsonl --lang hr=Croatian.jsonl \\\n"
		"                     --lang mk=North_Macedonian.jsonl --derive sr-Latn -o include.json\n"
		"  merilo import mmlu-prox --lang en=en-test.jsonl --lang sr-Latn=sr-test.jsonl \\\n"
		"                     --pool en=en-validation.jsonl --pool sr-Latn=sr-validation.jsonl -o prox.json\n"
		"  merilo import okapi-mmlu --lang en=en/test.jsonl --lang hr=hr/test.jsonl \\\n"
		"                     --lang sr-Cyrl=sr/test.jsonl --derive sr-Latn -o okapi-mmlu.json\n"
		"  merilo import oz-eval --lang sr-Latn=oz-eval.jsonl --derive sr-Cyrl -o oz-eval.json\n"
		"  merilo import serbian-llm-eval --lang sr-Latn=serbian-llm-eval-v1/ --derive sr-Cyrl \\\n"
		"                     -o serbian-llm-eval.json\n"
		"languages: copa has its prompt wording for en, sr-Cyrl, sr-Latn, hr, bs and cnr; belebele,\n"
		"global-mmlu, okapi-arc, okapi-mmlu and flores for these and mk, sl (another tag: exit 3, naming\n"
		"them); flores needs en;\n"
		"global-piqa takes any tag (its prompt has no words of merilo's);\n"
		"mmlu-prox takes en, sr-Latn (lm-eval's wording) and sr-Cyrl (--derive: zero-shot only);\n"
		"include takes sr-Cyrl, sr-Latn, hr and mk (each language's own questions: items are unpaired);\n"
		"oz-eval and serbian-llm-eval are Serbian (sr-Latn); serbian-llm-eval takes the dataset's folder\n"
		"(or one file), each file's task read from its name (piqa_test_partial_0_1837_end.jsonl).\n"
		"--derive sr-Latn adds Serbian in Latin script transliterated from the sr-Cyrl file\n"
		"(--derive sr-Cyrl: the reverse).\n"
		"checks: each file's letters must be of its tag's script (sr-Cyrl: Cyrillic; sr-Latn, hr, bs,\n"
		"cnr, en: Latin; at least 80%%), else exit 3 (--force imports it with a warning); languages\n"
		"with different item sets are imported with a warning counting the unpaired items, which the\n"
		"suite's description records too.\n"
		"exit codes: 0 ok, 2 usage error, 3 bad input (a script that contradicts its tag), 4 could not write\n");
}

/* The --lang inputs, one per language, in the order given. */
struct inputs {
	struct task_import_input *v; /* room for one per argument */
	size_t n;
};

/* --lang TAG=FILE (repeatable): the argument is split in place at its '='. */
static int add_lang(const struct mrl_option *opt, const char *arg, struct mrl_err *err)
{
	struct inputs *in = opt->value;
	char *eq = strchr(arg, '=');
	if (!eq || eq == arg || !eq[1])
		return mrl_err_set(err, MRL_EINPUT, "--lang needs TAG=FILE, got '%s'", arg);
	*eq = '\0'; /* argv is ours to split */
	in->v[in->n].lang = arg;
	in->v[in->n++].path = eq + 1;
	return 0;
}

/* --derive TAG (repeatable). */
struct derive {
	const char **v; /* room for one per argument */
	size_t n;
};

static int add_derive(const struct mrl_option *opt, const char *arg, struct mrl_err *err)
{
	struct derive *d = opt->value;
	(void)err; /* what can be derived is task_import_check_derive's to say */
	d->v[d->n++] = arg;
	return 0;
}

/* The importers' names, "copa, belebele, ...", into buf (the table in tasks/import.c). */
static const char *format_names(char *buf, size_t size)
{
	buf[0] = '\0';
	for (size_t i = 0, len = 0; i < task_n_importers() && len < size; i++)
		len += (size_t)snprintf(buf + len, size - len, "%s%s", i ? ", " : "", task_importer_name(i));
	return buf;
}

/* The format, the inputs, -o and --derive as the command line gives them: HRN_EXIT_OK,
 * or the usage error (exit 2, printed). */
static int check_args(const char *format, const struct inputs *inputs, const char *output, const struct derive *derive)
{
	char names[256];
	size_t k = 0;
	while (format && k < task_n_importers() && strcmp(task_importer_name(k), format))
		k++;
	if (!format)
		return hrn_usage_error("import", "expected a format (%s)", format_names(names, sizeof names));
	if (k == task_n_importers())
		return hrn_usage_error("import", "unknown format '%s' (known: %s)", format, format_names(names, sizeof names));
	if (!inputs->n)
		return hrn_usage_error("import", "expected at least one --lang TAG=FILE");
	if (!output)
		return hrn_usage_error("import", "expected -o OUT.json");
	struct mrl_err err = { 0 };
	if (task_import_check_derive(inputs->v, inputs->n, derive->v, derive->n, &err))
		return hrn_usage_error("import", "%s", err.msg);
	return HRN_EXIT_OK;
}

/* The progress line, fed by the importer's callback: one stage per task_import_stage. */
struct import_progress {
	struct hrn_progress p;
	int stage; /* the stage p counts; -1 before the first call */
};

static void on_progress(void *arg, enum task_import_stage stage, size_t done, size_t total)
{
	struct import_progress *ip = arg;
	const bool read = stage == TASK_IMPORT_READ; /* bytes, shown in KiB */
	const size_t t = read ? (total + 1023) / 1024 : total, d = done >= total ? t : read ? done / 1024 : done;
	if ((int)stage != ip->stage) {
		hrn_progress_stage(&ip->p, read ? "KiB" : "items", t);
		ip->stage = (int)stage;
	}
	if (d > ip->p.done)
		hrn_progress_advance(&ip->p, d - ip->p.done, read ? "reading the inputs" : "building the suite");
}

int hrn_cmd_import(int argc, char **argv)
{
	const char *format = NULL, *output = NULL;
	struct task_import_report report = {0};
	struct import_progress progress = { .stage = -1 };
	struct task_import_opts opts = { .report = &report, .progress = on_progress, .progress_arg = &progress };
	bool quiet = false;
	mrl_buf_init(&report.warnings);
	struct inputs inputs = { .v = calloc((size_t)argc, sizeof *inputs.v) };
	struct derive derive = { .v = calloc((size_t)argc, sizeof *derive.v) };
	struct inputs pool = { .v = calloc((size_t)argc, sizeof *pool.v) };
	char *text = NULL;
	size_t n_trimmed = 0;
	int rc = HRN_EXIT_OK;
	if (!inputs.v || !derive.v || !pool.v) {
		free(inputs.v), free(derive.v), free(pool.v);
		return HRN_EXIT_RUNTIME;
	}
	const struct mrl_option table[] = {
		OPT_CALLBACK(0, "lang", &inputs, "TAG=FILE",
			     "one input file per language (BCP 47 tag: en, sr-Cyrl, sr-Latn, hr, bs, cnr); "
			     "serbian-llm-eval: a folder", add_lang),
		OPT_CALLBACK(0, "pool", &pool, "TAG=FILE",
			     "few-shot examples for a language (global-mmlu: its dev split; mmlu-prox: validation; "
			     "flores: dev sentences)",
			     add_lang),
		OPT_CALLBACK(0, "derive", &derive, "TAG",
			     "add sr-Latn transliterated from the sr-Cyrl input (or sr-Cyrl from sr-Latn)", add_derive),
		OPT_STRING('o', "out", &output, "OUT", "the suite file to write ('-' = standard output)"),
		OPT_STRING_F(0, "output", &output, "OUT", NULL, MRL_OPT_HIDDEN), /* the old name */
		OPT_STRING(0, "name", &opts.name, "NAME", NULL),
		OPT_STRING(0, "version", &opts.version, "V", NULL),
		OPT_STRING(0, "license", &opts.license, "L", NULL),
		OPT_STRING(0, "source", &opts.source, "S", NULL),
		OPT_STRING(0, "description", &opts.description, "D", NULL),
		OPT_BOOL(0, "force", &opts.force, "import a file whose script contradicts its tag (a warning)"),
		OPT_BOOL('q', "quiet", &quiet, "no progress; only warnings, errors and the closing line"),
		OPT_END(),
	};
	int n_args;
	if ((rc = hrn_options("import", table, argc, argv, &n_args, usage)) != HRN_OPTS_GO)
		goto out;
	rc = HRN_EXIT_OK;
	if (n_args > 1) {
		rc = hrn_usage_error("import", "unexpected argument '%s' (inputs are given with --lang TAG=FILE)", argv[1]);
		goto out;
	}
	format = n_args ? argv[0] : NULL;
	if ((rc = check_args(format, &inputs, output, &derive)))
		goto out;
	opts.derive = derive.v;
	opts.pool = pool.v;
	opts.n_pool = pool.n;
	opts.n_derive = derive.n;
	struct mrl_err err = {0};
	hrn_progress_begin(&progress.p, "merilo import", "KiB", 0, quiet, !strcmp(output, "-"));
	int irc = task_import(format, inputs.v, inputs.n, &opts, &text, &n_trimmed, &err);
	hrn_progress_end(&progress.p);
	for (const char *w = report.warnings.data; w && *w;) { /* one line each, also before an error */
		size_t n = strcspn(w, "\n");
		fprintf(stderr, "merilo import: warning: %.*s\n", (int)n, w);
		w += n + (w[n] == '\n');
	}
	if (irc) {
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
	size_t n_items = 0, n_tasks = task_suite_n_tasks(s);
	for (size_t k = 0; k < n_tasks; k++)
		n_items += task_n_items(task_suite_task(s, k));
	task_suite_free(s);
	if (n_trimmed && !quiet)
		fprintf(stderr, "merilo import: trimmed leading/trailing spaces in %zu text field%s\n", n_trimmed,
			n_trimmed == 1 ? "" : "s");
	if (!strcmp(output, "-")) {
		fputs(text, stdout);
		fputc('\n', stdout);
		goto out;
	}
	size_t len = strlen(text);
	text[len] = '\n'; /* json_dumps leaves no final newline; the NUL becomes one */
	if (mrl_mkdir_parent(output, &err) || mrl_write_file_atomic(output, text, len + 1, &err)) {
		err.code = MRL_ERUNTIME; /* a write failure: exit 4 */
		rc = hrn_report(&err);
		goto out;
	}
	size_t n_langs = inputs.n + derive.n;
	char tasks[32] = ""; /* several tasks (flores, serbian-llm-eval): their items are counted together */
	if (n_tasks > 1)
		snprintf(tasks, sizeof tasks, "%zu tasks, ", n_tasks);
	fprintf(stderr, "merilo import: wrote %s (%s%zu item%s, %zu language%s)\n", output, tasks, n_items,
		n_items == 1 ? "" : "s", n_langs, n_langs == 1 ? "" : "s");
out:
	mrl_buf_release(&report.warnings);
	free(text);
	free(inputs.v);
	free(pool.v);
	free((void *)derive.v);
	return rc;
}
