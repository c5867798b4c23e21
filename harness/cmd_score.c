/* cmd_score.c — `merilo score`: predictions made elsewhere (an API model such
 * as GPT-4, another harness) turned into an ordinary run folder, so that
 * compare, report and leaderboard treat the system like any model merilo ran.
 *
 * No engine runs. The predictions (merilo's JSONL, or BENCHić's published
 * per-item lists; read by score_read.c) are laid onto every multiple-choice
 * task x item x language of the suite; each unit becomes one items.jsonl record
 * through the records module (the predicted index and its verdict under "acc";
 * no choice scores, since none were measured), and results.json is aggregated
 * from items.jsonl as read back, by the run's own aggregation (run_aggregate.c:
 * bootstrap CIs, paired differences with exact McNemar). The manifest says
 * engine none, and names the predictions file, its sha256 and the system.
 * Formats and rules: docs/score.md.
 */
#include "harness/hrn.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/fileio.h"
#include "common/json.h"
#include "common/sha256.h"
#include "harness/manifest.h"
#include "harness/progress.h"
#include "harness/run.h"
#include "harness/run_gen.h"
#include "harness/score.h"
#include "metrics/met.h"
#include "records/item_writer.h"
#include "records/items.h"
#include "records/results.h"

#define SCORE_DEFAULT_SEED HRN_DEFAULT_SEED
#define SCORE_MAX_FILE_BYTES ((size_t)1 << 30)  /* predictions file cap */
#define SCORE_ENGINE "none (scored from predictions)"
#define SCORE_MISSING_LISTED 5                  /* missing units named in the error */

static void usage(FILE *out, const struct mrl_option *opts)
{
	fprintf(out,
		"usage: merilo score --suite SUITE.json --predictions FILE --system NAME -o RUN_DIR [options]\n"
		"\n"
		"Turn predictions made elsewhere (an API model, another harness) into an ordinary\n"
		"run folder, with no engine: the same run.json, items.jsonl and results.json as\n"
		"'merilo run' writes (accuracy with 95%% bootstrap CIs; for every pair of languages\n"
		"the paired difference with an exact McNemar test), so 'merilo compare', 'report'\n"
		"and 'leaderboard' take it like any run. Multiple-choice tasks take a choice index,\n"
		"generate tasks the text the system wrote (scored as 'merilo run' scores a generated\n"
		"answer). Every item x language of the selected tasks needs a prediction. Formats\n"
		"and rules: docs/score.md.\n"
		"\n");
	hrn_print_options(out, opts, 20);
	fprintf(out,
		"\n"
		"formats:\n"
		"  jsonl     one line per item x language:\n"
		"            {\"task\": T, \"item\": ID, \"language\": L, \"choice\": INDEX or null}\n"
		"            (null = no answer, counted as wrong); generate tasks:\n"
		"            {\"task\": T, \"item\": ID, \"language\": L, \"text\": ANSWER or null}\n"
		"  benchich  BENCHić's published predictions: {\"system\": S, \"predictions\":\n"
		"            [{\"test\": \"test-sr.jsonl\", \"predictions\": [0, 1, null, ...]}, ...]},\n"
		"            one list per test file in item order; --map says which list is which\n"
		"            language (default: the files a suite made by 'merilo import copa' names)\n"
		"example:\n"
		"  merilo score --suite copa.json --predictions gpt-4.predictions.json --system gpt-4 \\\n"
		"               --map sr-Cyrl=test-sr --map sr-Latn=test-sr-lat --map hr=test-hr -o runs/gpt-4\n"
		"exit codes: 0 done, 2 usage error (or RUN_DIR already holds a run), 3 bad input\n"
		"            (malformed or unknown predictions, missing ones), 4 could not write\n");
}

/* The --map arguments, one per option given. */
struct maps {
	struct score_map *v; /* room for one per argument */
	size_t n;
};

/* --map LANG=TEST (repeatable): the argument is split in place at its '='. */
static int add_map(const struct mrl_option *opt, const char *arg, struct mrl_err *err)
{
	struct maps *m = opt->value;
	char *eq = strchr(arg, '=');
	if (!eq || eq == arg || !eq[1])
		return mrl_err_set(err, MRL_EINPUT, "--map needs LANG=TEST, e.g. sr-Cyrl=test-sr, got '%s'", arg);
	*eq = '\0'; /* argv is ours to split */
	m->v[m->n].lang = arg;
	m->v[m->n++].test = eq + 1;
	return 0;
}

struct score_opts {
	const char *suite, *predictions, *system, *out, *format, *tasks, *langs;
	long seed, boot, threads;
	bool allow_missing, quiet;
	bool strip_thinking; /* generate tasks: score what follows a reasoning model's </think> */
	struct maps maps;
};

/* Everything the command holds, released in one place. */
struct score_state {
	struct score_opts o;
	struct task_suite *suite;
	const struct task_task **tasks;
	size_t n_tasks;
	char **langs;                 /* --lang, split */
	size_t n_langs;
	char *text;                   /* the predictions file */
	size_t len;
	char sha256[65];
	json_t *doc;                  /* the BENCHić document; NULL for JSONL */
	const char *format;           /* "jsonl" or "benchich" */
	struct score_map *src_map;    /* the map the suite's source implies (owned) */
	size_t n_src_map;
	char *unused_lists;           /* BENCHić lists no map named */
	struct score_plan plan;
	struct rec_results res;
	struct rec_items items;
	char dir[4096];
	json_t *argv;                 /* the command line (hrn_invocation_json) */
	struct hrn_progress progress; /* units written, then bootstrap resamples */
};

/* The multiple-choice tasks and the languages selected; generate and perplexity
 * tasks are skipped with a note. Fills settings.tasks / languages. Returns an exit code. */
static int select_tasks(struct score_state *st)
{
	const struct task_suite *s = st->suite;
	char **names = NULL;
	size_t n_names = 0;
	int ret = 0;
	if (!(st->tasks = calloc(task_suite_n_tasks(s) + 1, sizeof *st->tasks)) ||
	    (st->o.tasks && hrn_split_list(st->o.tasks, &names, &n_names)) ||
	    (st->o.langs && hrn_split_list(st->o.langs, &st->langs, &st->n_langs)))
		return HRN_EXIT_RUNTIME;
	if ((st->o.tasks && !n_names) || (st->o.langs && !st->n_langs)) { /* "," selected everything */
		ret = hrn_usage_error("score", "%s '%s': an empty list", st->o.tasks && !n_names ? "--tasks" : "--lang",
				      st->o.tasks && !n_names ? st->o.tasks : st->o.langs);
		goto out;
	}
	for (size_t i = 0; i < (names ? n_names : task_suite_n_tasks(s)); i++) {
		const struct task_task *t = names ? task_suite_find(s, names[i]) : task_suite_task(s, i);
		if (!t) {
			ret = hrn_usage_error("score", "the suite %s has no task '%s'", st->o.suite, names[i]);
			goto out;
		}
		if (task_type(t) == TASK_PERPLEXITY) {
			fprintf(stderr, "merilo score: skipping task '%s' (perplexity tasks have no predictions to score)\n",
				task_id(t));
			continue;
		}
		bool dup = false;
		for (size_t k = 0; k < st->n_tasks; k++)
			dup |= st->tasks[k] == t;
		if (!dup)
			st->tasks[st->n_tasks++] = t;
	}
	if (!st->n_tasks) {
		ret = hrn_usage_error("score", "no multiple-choice or generate task selected");
		goto out;
	}
	struct rec_settings *set = &st->res.settings;
	for (size_t l = 0; l < st->n_langs; l++) {
		bool found = false;
		for (size_t k = 0; k < st->n_tasks && !found; k++)
			found = task_language_index(st->tasks[k], st->langs[l]) >= 0;
		if (!found) {
			ret = hrn_usage_error("score", "no selected task has the language '%s'", st->langs[l]);
			goto out;
		}
	}
	if (st->langs && (ret = hrn_tasks_for_langs("score", st->tasks, &st->n_tasks, st->langs, st->n_langs, st->o.langs,
						    names != NULL)))
		goto out;
	for (size_t k = 0; k < st->n_tasks && !ret; k++) {
		ret = rec_strlist_add(&set->tasks, &set->n_tasks, task_id(st->tasks[k])) ? HRN_EXIT_RUNTIME : 0;
		for (size_t l = 0; l < task_n_languages(st->tasks[k]) && !ret; l++) {
			const char *lang = task_language(st->tasks[k], l);
			bool sel = !st->langs, have = false;
			for (size_t i = 0; i < st->n_langs; i++)
				sel |= !strcmp(st->langs[i], lang);
			for (size_t i = 0; i < set->n_languages; i++)
				have |= !strcmp(set->languages[i], lang);
			if (sel && !have && rec_strlist_add(&set->languages, &set->n_languages, lang))
				ret = HRN_EXIT_RUNTIME;
		}
	}
out:
	hrn_free_list(names, n_names);
	return ret;
}

/* Read the predictions file, hash it and tell its format. Returns an exit code. */
static int load_predictions(struct score_state *st)
{
	struct mrl_err err = { 0 };
	if (mrl_read_file(st->o.predictions, SCORE_MAX_FILE_BYTES, &st->text, &st->len, &err))
		return hrn_report(&err);
	mrl_sha256_buf_hex(st->text, st->len, st->sha256);
	const char *f = st->o.format ? st->o.format : "auto";
	if (!strcmp(f, "jsonl")) {
		st->format = "jsonl";
		return 0;
	}
	/* auto: one JSON object holding a "predictions" array is BENCHić's file;
	 * anything else is read as JSONL (whose errors then name the line) */
	struct mrl_json_error je;
	st->doc = mrl_json_parse_object(st->text, st->len, JSON_REJECT_DUPLICATES, &je);
	if (!strcmp(f, "benchich") && !st->doc) {
		fprintf(stderr, "merilo: %s: %s\n", st->o.predictions, je.text);
		return HRN_EXIT_INPUT;
	}
	if (st->doc && (!strcmp(f, "benchich") || json_is_array(json_object_get(st->doc, "predictions")))) {
		st->format = "benchich";
		return 0;
	}
	json_decref(st->doc);
	st->doc = NULL;
	st->format = "jsonl";
	return 0;
}

/* The map for a BENCHić file: --map, else the one the suite's source implies. */
static int benchich_map(struct score_state *st, const struct score_map **map, size_t *n)
{
	if (st->o.maps.n) {
		*map = st->o.maps.v;
		*n = st->o.maps.n;
		return 0;
	}
	if (score_map_from_source(task_suite_source(st->suite), &st->src_map, &st->n_src_map))
		return HRN_EXIT_RUNTIME;
	if (!st->n_src_map) {
		fprintf(stderr, "merilo: %s: say which list holds which language with --map LANG=TEST (e.g. "
				"--map sr-Cyrl=test-sr); the suite %s does not name its test files\n",
			st->o.predictions, st->o.suite);
		return HRN_EXIT_INPUT;
	}
	*map = st->src_map;
	*n = st->n_src_map;
	return 0;
}

/* Lay the predictions onto the plan; then every unit must have one (or
 * --allow-missing). Returns an exit code. */
static int read_predictions(struct score_state *st)
{
	struct mrl_err err = { 0 };
	int ret;
	if (score_plan_build(&st->plan, st->tasks, st->n_tasks, (const char *const *)st->langs, st->n_langs, &err))
		return hrn_report(&err);
	if (!strcmp(st->format, "jsonl")) {
		if (st->o.maps.n)
			return hrn_usage_error("score", "--map is for BENCHić files; %s is JSONL", st->o.predictions);
		if (score_read_jsonl(st->o.predictions, st->text, st->len, st->suite, &st->plan, &err))
			return hrn_report(&err);
	} else {
		const struct score_map *map;
		size_t n_map;
		if ((ret = benchich_map(st, &map, &n_map)))
			return ret;
		if (score_read_benchich(st->o.predictions, st->doc, map, n_map, &st->plan, &st->unused_lists, &err))
			return hrn_report(&err);
		if (st->unused_lists)
			fprintf(stderr, "merilo score: %s: ignoring the lists for %s (no --map names them)\n",
				st->o.predictions, st->unused_lists);
	}
	if (st->plan.n_ignored)
		fprintf(stderr, "merilo score: ignoring %zu prediction(s) outside --tasks / --lang\n", st->plan.n_ignored);
	size_t n_missing = 0;
	char listed[1024] = "";
	size_t ll = 0;
	for (size_t i = 0; i < st->plan.n; i++) {
		const struct score_unit *u = &st->plan.units[i];
		if (u->choice != SCORE_MISSING)
			continue;
		if (n_missing++ < SCORE_MISSING_LISTED && ll < sizeof listed)
			ll += (size_t)snprintf(listed + ll, sizeof listed - ll, "%s%s/%s/%s", n_missing > 1 ? ", " : "",
					       task_id(u->task), task_item_id(u->item), u->lang);
	}
	if (n_missing && !st->o.allow_missing) {
		fprintf(stderr, "merilo: %s: no prediction for %zu of %zu item x language units (%s%s); give them, or "
				"--allow-missing to count them as wrong\n", st->o.predictions, n_missing, st->plan.n, listed,
			n_missing > SCORE_MISSING_LISTED ? ", ..." : "");
		return HRN_EXIT_INPUT;
	}
	if (n_missing)
		fprintf(stderr, "merilo score: %zu of %zu units have no prediction: counted as wrong (--allow-missing)\n",
			n_missing, st->plan.n);
	return 0;
}

/* Per task x language: units, predicted, no answer (null), missing. */
static json_t *unit_counts(const struct score_plan *p)
{
	json_t *arr = json_array();
	for (size_t k = 0; arr && k < p->n_tasks; k++)
		for (size_t l = 0; l < task_n_languages(p->tasks[k]); l++) {
			const char *lang = task_language(p->tasks[k], l);
			long long n = 0, answered = 0, none = 0, missing = 0;
			for (size_t i = 0; i < p->n; i++) {
				const struct score_unit *u = &p->units[i];
				if (u->task != p->tasks[k] || strcmp(u->lang, lang))
					continue;
				n++;
				answered += u->choice >= 0;
				none += u->choice == SCORE_NO_ANSWER;
				missing += u->choice == SCORE_MISSING;
			}
			if (n && json_array_append_new(arr, json_pack("{s:s, s:s, s:I, s:I, s:I, s:I}", "task",
								      task_id(p->tasks[k]), "language", lang, "units",
								      (json_int_t)n, "answered", (json_int_t)answered,
								      "no_answer", (json_int_t)none, "missing",
								      (json_int_t)missing))) {
				json_decref(arr);
				return NULL;
			}
		}
	return arr;
}

/* settings.extra: the engine (none), the system, the predictions file and what it covered. */
static json_t *settings_extra(const struct score_state *st, const struct score_map *map, size_t n_map)
{
	json_t *m = json_object();
	for (size_t i = 0; m && i < n_map; i++)
		if (json_object_set_new(m, map[i].lang, json_string(map[i].test))) {
			json_decref(m);
			m = NULL;
		}
	if (!m)
		return NULL;
	if (!n_map) {
		json_decref(m);
		m = json_null();
	}
	json_t *pred = json_pack("{s:s, s:s, s:s, s:o, s:o}", "path", st->o.predictions, "sha256", st->sha256, "format",
				 st->format, "map", m, "lists_ignored", rec_json_string(st->unused_lists));
	json_t *x = json_pack("{s:s, s:s, s:o, s:o, s:b, s:I, s:f, s:n, s:s}", "engine", SCORE_ENGINE, "system",
			      st->o.system, "predictions", pred, "units", unit_counts(&st->plan), "missing_counted_as_wrong",
			      st->o.allow_missing, "bootstrap_resamples", (json_int_t)st->o.boot, "ci_level", 0.95,
			      "choice_scores", "choice_scores_null_reason",
			      "no engine ran: predictions made elsewhere carry no log-likelihoods");
	/* recorded for the reader; not a comparability key: predictions made elsewhere have no chat
	 * template of merilo's, and their runs group with any (docs/score.md) */
	if (x && st->o.strip_thinking && json_object_set_new(x, "thinking", json_string("stripped"))) {
		json_decref(x);
		x = NULL;
	}
	return x;
}

/* Settings, manifest, suite / model / engine info of results.json. Returns an exit code. */
static int fill_results(struct score_state *st)
{
	struct rec_results *r = &st->res;
	struct rec_settings *set = &r->settings;
	struct mrl_err err = { 0 };
	const struct score_map *map = st->o.maps.n ? st->o.maps.v : st->src_map;
	const size_t n_map = strcmp(st->format, "benchich") ? 0 : st->o.maps.n ? st->o.maps.n : st->n_src_map;
	set->threads = -1;
	set->limit = 0;
	set->fewshot_k = -1;
	set->fewshot_seed = -1;
	set->seed = st->o.seed;
	if (!(set->extra = settings_extra(st, map, n_map)))
		return HRN_EXIT_RUNTIME;
	json_t *sj = rec_settings_to_json(set);
	int rc = sj ? hrn_manifest_collect(&r->manifest, NULL, st->o.suite, sj, &err) : MRL_ENOMEM;
	json_decref(sj);
	if (rc)
		return err.code ? hrn_report(&err) : HRN_EXIT_RUNTIME;
	if (!st->argv)
		return HRN_EXIT_RUNTIME;
	r->manifest.argv = json_incref(st->argv);
	bool bad = !(r->suite.name = strdup(task_suite_name(st->suite))) ||
		   !(r->suite.version = strdup(task_suite_version(st->suite))) || !(r->suite.path = strdup(st->o.suite)) ||
		   (r->manifest.suite_sha256 && !(r->suite.sha256 = strdup(r->manifest.suite_sha256))) ||
		   !(r->model.path = strdup(st->o.predictions)) || !(r->model.name = strdup(st->o.system)) ||
		   !(r->engine.name = strdup(SCORE_ENGINE));
	r->model.size_bytes = -1;
	return bad ? HRN_EXIT_RUNTIME : 0;
}

/* The run folder (new or empty of runs) and its run.json. Returns an exit code. */
static int prepare_dir(struct score_state *st)
{
	char path[4200];
	snprintf(st->dir, sizeof st->dir, "%s", st->o.out);
	struct mrl_err err = { 0 };
	if (mrl_mkdir_p(st->dir, &err)) {
		fprintf(stderr, "merilo: cannot create the run folder: %s\n", err.msg);
		return HRN_EXIT_RUNTIME;
	}
	int refused = hrn_refuse_run_dir(st->dir, "score", "-o", NULL);
	if (refused)
		return refused;
	const struct rec_manifest *m = &st->res.manifest;
	json_t *opt = json_pack("{s:s, s:s, s:s, s:s, s:o, s:o, s:I, s:I, s:b, s:b}", "suite", st->o.suite, "predictions",
				st->o.predictions, "system", st->o.system, "format", st->format, "tasks",
				rec_json_string(st->o.tasks), "lang", rec_json_string(st->o.langs), "seed",
				(json_int_t)st->o.seed, "boot", (json_int_t)st->o.boot, "allow_missing",
				st->o.allow_missing, "strip_thinking", st->o.strip_thinking);
	json_t *j = json_pack("{s:i, s:s, s:s, s:o, s:O, s:o, s:s, s:o, s:o}", "schema_version", 1, "kind",
			      "scored from predictions", "engine", SCORE_ENGINE, "started_utc",
			      rec_json_string(m->started_utc), "argv", st->argv, "suite_sha256", rec_json_string(m->suite_sha256),
			      "predictions_sha256", st->sha256, "options", opt, "settings",
			      rec_settings_to_json(&st->res.settings));
	char *text = j ? json_dumps(j, JSON_INDENT(2)) : NULL;
	json_decref(j);
	snprintf(path, sizeof path, "%s/run.json", st->dir);
	int ret = !text ? HRN_EXIT_RUNTIME : mrl_write_file_atomic(path, text, strlen(text), &err) ? hrn_report(&err) : 0;
	free(text);
	return ret;
}

/* One items.jsonl record per unit: the predicted index and its verdict under
 * "acc"; no choice scores (none were measured), no timings. */
static int write_items(struct score_state *st, struct mrl_err *err)
{
	char path[4200];
	snprintf(path, sizeof path, "%s/items.jsonl", st->dir);
	struct rec_item_writer_opts wo = { .flush_every_items = 256, .flush_every_ns = -1, .truncate = true };
	struct rec_item_writer *w;
	int rc = rec_item_writer_open(path, &wo, &w, NULL, err);
	hrn_progress_stage(&st->progress, "units", st->plan.n);
	for (size_t i = 0; !rc && i < st->plan.n; hrn_progress_step(&st->progress, "items.jsonl"), i++) {
		const struct score_unit *u = &st->plan.units[i];
		struct rec_item it = { 0 };
		const int gold = task_item_gold(u->item);
		if (task_type(u->task) == TASK_GENERATE) { /* the text scored as run scores a generated answer */
			if (!(rc = hrn_run_gen_score_text(u->task, u->item_idx, u->lang, u->text, st->o.strip_thinking, &it,
							  err)))
				rc = rec_item_writer_add(w, &it, err);
			rec_item_release(&it);
			continue;
		}
		if (rec_item_init(&it, task_id(u->task), task_item_id(u->item), u->lang) ||
		    rec_item_set_breakdown(&it, task_breakdown_value(u->task, u->item, u->lang)))
			rc = mrl_err_set(err, MRL_ENOMEM, "out of memory");
		it.gold_index = gold;
		if (!rc && rec_item_add_metric(&it, "acc", u->choice >= 0 ? u->choice : -1, NULL, u->choice == gold, NAN))
			rc = mrl_err_set(err, MRL_ENOMEM, "out of memory");
		if (!rc)
			rc = rec_item_writer_add(w, &it, err);
		rec_item_release(&it);
	}
	if (rc) {
		struct mrl_err ignored = { 0 };
		rec_item_writer_close(w, &ignored);
		return rc;
	}
	return rec_item_writer_close(w, err);
}

/* items.jsonl as read back -> aggregates and comparisons (the run's own
 * aggregation, "acc" only), then results.json. Returns an exit code. */
static int write_results(struct score_state *st, struct hrn_run_cfg *cfg)
{
	struct mrl_err err = { 0 };
	char path[4200];
	snprintf(path, sizeof path, "%s/items.jsonl", st->dir);
	if (write_items(st, &err) || rec_items_read(path, &st->items, &err)) {
		hrn_progress_end(&st->progress); /* a terminal's line cleared before the message */
		return hrn_report(&err);
	}
	*cfg = (struct hrn_run_cfg){ .suite = st->suite, .out_dir = st->dir, .tasks = st->tasks, .n_tasks = st->n_tasks,
				     .langs = (const char *const *)st->langs, .n_langs = st->n_langs,
				     .seed = (uint64_t)st->o.seed };
	struct hrn_agg_opts ao = { .seed = (uint64_t)st->o.seed, .n_resamples = (size_t)st->o.boot, .level = 0.95,
				   .only_metric = "acc", .progress = &st->progress, .n_threads = (size_t)st->o.threads };
	hrn_progress_stage(&st->progress, "resamples", 0); /* the total: hrn_run_aggregate's */
	snprintf(path, sizeof path, "%s/results.json", st->dir);
	if (hrn_run_aggregate(cfg, &st->items, &ao, &st->res, &err) || rec_manifest_finish(&st->res.manifest, &err) ||
	    rec_results_write(path, &st->res, &err)) {
		hrn_progress_end(&st->progress);
		return hrn_report(&err);
	}
	return 0;
}

static void release_state(struct score_state *st)
{
	rec_items_release(&st->items);
	rec_results_release(&st->res);
	score_plan_release(&st->plan);
	free(st->unused_lists);
	score_map_free(st->src_map, st->n_src_map);
	json_decref(st->doc);
	json_decref(st->argv);
	free(st->text);
	hrn_free_list(st->langs, st->n_langs);
	free(st->tasks);
	task_suite_free(st->suite);
	free(st->o.maps.v);
}

/* --system: given, or the "system" a BENCHić file names. Returns an exit code. */
static int resolve_system(struct score_state *st)
{
	const char *named = st->doc ? json_string_value(json_object_get(st->doc, "system")) : NULL;
	if (!st->o.system)
		st->o.system = named;
	if (!st->o.system || !*st->o.system)
		return hrn_usage_error("score", "--system NAME is required (the name the run is known by)");
	return 0;
}

static int parse_args(struct score_state *st, int argc, char **argv)
{
	struct score_opts *o = &st->o;
	*o = (struct score_opts){ .seed = SCORE_DEFAULT_SEED, .boot = MET_BOOT_DEFAULT_RESAMPLES,
				  .maps = { .v = calloc((size_t)argc + 1, sizeof *o->maps.v) } };
	if (!o->maps.v)
		return HRN_EXIT_RUNTIME;
	const struct mrl_option opts[] = {
		OPT_STRING_F(0, "suite", &o->suite, "FILE", "the suite the predictions answer", MRL_OPT_NONEMPTY),
		OPT_STRING_F(0, "predictions", &o->predictions, "FILE", "the predictions (format below)", MRL_OPT_NONEMPTY),
		OPT_STRING_F(0, "system", &o->system, "NAME", "the system's name in reports and leaderboards\n"
			     "(default: the \"system\" a BENCHić file names)", MRL_OPT_NONEMPTY),
		OPT_STRING_F('o', "out", &o->out, "RUN_DIR", "the run folder to write (created; must hold no run)",
			     MRL_OPT_NONEMPTY),
		OPT_STRING(0, "predictions-format", &o->format, "F", "auto (default), jsonl or benchich"),
		OPT_STRING_F(0, "format", &o->format, "F", NULL, MRL_OPT_HIDDEN), /* the old name */
		OPT_CALLBACK(0, "map", &o->maps, "LANG=TEST", "BENCHić: the list of test file TEST (\"test-sr\" or\n"
			     "\"test-sr.jsonl\") holds the predictions for LANG; repeatable", add_map),
		OPT_STRING_F(0, "tasks", &o->tasks, "A,B", "only these tasks (default: every multiple-choice and generate task)",
			     MRL_OPT_NONEMPTY),
		OPT_STRING_F(0, "lang", &o->langs, "L1,L2", "only these languages (default: all of each task)",
			     MRL_OPT_NONEMPTY),
		OPT_BOOL(0, "strip-thinking", &o->strip_thinking, "generate tasks: score what follows the last </think>\n"
			 "(a reasoning model's answer); reasoning without </think> is an\n"
			 "empty answer, a text with neither tag is scored whole"),
		OPT_BOOL(0, "allow-missing", &o->allow_missing, "count units without a prediction as wrong\n"
			 "(default: they are an error)"),
		OPT_INTEGER(0, "seed", &o->seed, 0, 2147483647L, "N", "bootstrap seed (default 1234, as merilo run)"),
		OPT_INTEGER(0, "boot", &o->boot, 1, 10000000L, "N", "bootstrap resamples (default 10000)"),
		OPT_INTEGER(0, "threads", &o->threads, 0, HRN_AGG_MAX_THREADS, "N",
			    "threads for the bootstraps (default 0 = the CPUs this process may\n"
			    "use); results do not depend on it"),
		OPT_BOOL('q', "quiet", &o->quiet, "no progress; one closing line instead of the summary"),
		OPT_END(),
	};
	int n_args, ret = hrn_options("score", opts, argc, argv, &n_args, usage);
	if (ret != HRN_OPTS_GO)
		return ret;
	if (n_args)
		return hrn_usage_error("score", "unexpected argument '%s'", argv[0]);
	if (!o->suite || !o->predictions || !o->out)
		return hrn_usage_error("score", "--suite, --predictions and -o RUN_DIR are required");
	if (o->format && strcmp(o->format, "auto") && strcmp(o->format, "jsonl") && strcmp(o->format, "benchich"))
		return hrn_usage_error("score", "--predictions-format wants auto, jsonl or benchich, not '%s'", o->format);
	return HRN_OPTS_GO;
}

int hrn_cmd_score(int argc, char **argv)
{
	struct score_state st = { 0 };
	struct mrl_err err = { 0 };
	struct stat sb;
	rec_results_init(&st.res);
	st.argv = hrn_invocation_json(argc, argv); /* before parsing reorders argv */
	int ret = parse_args(&st, argc, argv);
	if (ret != HRN_OPTS_GO)
		goto out;
	/* the count and the unit come with each stage; the delay runs from here */
	hrn_progress_begin(&st.progress, "merilo score", "units", 0, st.o.quiet, false);
	const char *missing = stat(st.o.suite, &sb) ? st.o.suite : stat(st.o.predictions, &sb) ? st.o.predictions : NULL;
	if (missing) {
		fprintf(stderr, "merilo: %s: %s (the %s)\n", missing, errno == ENOENT ? "no such file" : strerror(errno),
			missing == st.o.suite ? "suite" : "predictions");
		ret = HRN_EXIT_INPUT;
		goto out;
	}
	if (task_suite_load(st.o.suite, &st.suite, NULL, &err)) {
		ret = hrn_report(&err);
		goto out;
	}
	if ((ret = select_tasks(&st)) || (ret = load_predictions(&st)) || (ret = resolve_system(&st)) ||
	    (ret = read_predictions(&st)) || (ret = fill_results(&st)) || (ret = prepare_dir(&st)))
		goto out;
	struct hrn_run_cfg cfg;
	ret = write_results(&st, &cfg);
	hrn_progress_end(&st.progress);
	if (ret)
		goto out;
	size_t n_none = 0, n_missing = 0;
	for (size_t i = 0; i < st.plan.n; i++) {
		n_none += st.plan.units[i].choice == SCORE_NO_ANSWER;
		n_missing += st.plan.units[i].choice == SCORE_MISSING;
	}
	ret = HRN_EXIT_OK;
	if (st.o.quiet) {
		printf("merilo score: %zu item x language units of %s scored (no answer: %zu, missing: %zu); results: "
		       "%s/results.json\n", st.plan.n, st.o.system, n_none, n_missing, st.dir);
		goto out;
	}
	hrn_run_print_summary(stdout, &cfg, &st.res);
	printf("\nscored %zu item x language units of %s from %s (%s, sha256 %.12s...); engine: %s\n", st.plan.n,
	       st.o.system, st.o.predictions, st.format, st.sha256, SCORE_ENGINE);
	printf("no answer: %zu, missing: %zu (both counted as wrong)\n", n_none, n_missing);
	printf("results: %s/results.json\nper item: %s/items.jsonl\n", st.dir, st.dir);
out:
	release_state(&st);
	return ret;
}
