/* cmd_merge.c — `merilo merge`: shard runs (merilo run --shard I/N) back into one run.
 *
 * The shards must belong together: the same model and suite (by sha256), the
 * same options that shape records or aggregates, the same N, and every I from 1
 * to N exactly once. The merged items.jsonl holds the shards' records in the
 * order the unsharded run writes them (its unit iterator, run_units.c, walks the
 * suite again); results.json's aggregates and comparisons are computed from
 * them by the run's own aggregation (run_aggregate.c), so the merged run equals
 * the unsharded one except for timings and the manifest's hosts, which list
 * every shard under "shards". Rules and a cluster recipe: docs/scale-out.md.
 */
#include "harness/hrn.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fileio.h"
#include "harness/manifest.h"
#include "harness/run.h"
#include "harness/sample.h"
#include "harness/shard.h"
#include "records/item_writer.h"
#include "records/run.h"

static void usage(FILE *out, const struct mrl_option *opts)
{
	fprintf(out,
		"usage: merilo merge SHARD_DIR... -o RUN_DIR [options]\n"
		"\n"
		"Join the shard runs of one evaluation (merilo run --shard I/N, or the ranks of\n"
		"merilo run --mpi) into the run folder the unsharded command would have written:\n"
		"items.jsonl in run order, results.json with aggregates, CIs and paired\n"
		"comparisons computed from all items, prompts/ and run.json. The shards must\n"
		"have the same model and suite (sha256), the same options that shape records or\n"
		"aggregates, the same N, and every shard 1..N exactly once. Only timings and the\n"
		"manifest's hosts differ from an unsharded run (manifest.shards lists every\n"
		"shard's host and times). docs/scale-out.md.\n"
		"\n");
	hrn_print_options(out, opts, 16);
	fprintf(out, "\nExit codes: 0 merged, 2 usage, 3 shards missing, duplicated, unfinished or that do\n"
		     "not belong together (the message names them), 4 runtime failure.\n");
}

/* One shard folder as loaded. */
struct shard_in {
	const char *dir;
	struct rec_run run;
	size_t index, count;
};

/* Everything merge holds. */
struct merge_state {
	struct shard_in *in;              /* n, sorted by index once checked */
	size_t n;
	struct task_suite *suite;
	const struct task_task **tasks;
	size_t n_tasks;
	struct hrn_sample sample;         /* the shards' --sample, drawn again */
	struct rec_items merged;          /* shallow copies of the shards' records, run order; items not owned */
	struct rec_results res;
	int lock_fd;
	const json_t *argv;               /* the merging command line; NULL: none */
};

static bool file_exists(const char *path)
{
	struct stat sb;
	return stat(path, &sb) == 0;
}

/* Load every shard and read its shard number. Returns an exit code. */
static int load_shards(struct merge_state *st, const char *const *dirs)
{
	for (size_t i = 0; i < st->n; i++) {
		struct shard_in *s = &st->in[i];
		struct mrl_err err = { 0 };
		char path[4200];
		s->dir = dirs[i];
		snprintf(path, sizeof path, "%s/results.json", dirs[i]);
		if (!file_exists(path) && (snprintf(path, sizeof path, "%s/run.json", dirs[i]), file_exists(path))) {
			fprintf(stderr, "merilo merge: %s: the shard did not finish (no results.json); finish it with: "
					"merilo run --resume %s\n", dirs[i], dirs[i]);
			return HRN_EXIT_INPUT;
		}
		if (rec_run_load(dirs[i], REC_RUN_RESULTS | REC_RUN_ITEMS | REC_RUN_JSON, &s->run, &err)) {
			fprintf(stderr, "merilo merge: cannot read the shard run %s: %s\n", dirs[i], err.msg);
			return HRN_EXIT_INPUT;
		}
		if (hrn_shard_from_settings(s->run.results.settings.extra, &s->index, &s->count)) {
			fprintf(stderr, "merilo merge: %s is not a shard run (its results.json has no settings.shard: it was "
					"made without --shard)\n", dirs[i]);
			return HRN_EXIT_INPUT;
		}
	}
	return 0;
}

static int by_index(const void *a, const void *b)
{
	const struct shard_in *x = a, *y = b;
	return x->index < y->index ? -1 : x->index > y->index;
}

/* Same N, every index once. Returns an exit code. */
static int check_complete(struct merge_state *st)
{
	const size_t n = st->in[0].count;
	for (size_t i = 1; i < st->n; i++)
		if (st->in[i].count != n) {
			fprintf(stderr, "merilo merge: %s is shard %zu/%zu but %s is shard %zu/%zu: the shards of one run "
					"have the same N\n", st->in[i].dir, st->in[i].index, st->in[i].count, st->in[0].dir,
				st->in[0].index, n);
			return HRN_EXIT_INPUT;
		}
	qsort(st->in, st->n, sizeof *st->in, by_index);
	for (size_t i = 1; i < st->n; i++)
		if (st->in[i].index == st->in[i - 1].index) {
			fprintf(stderr, "merilo merge: shard %zu/%zu is given twice: %s and %s\n", st->in[i].index, n,
				st->in[i - 1].dir, st->in[i].dir);
			return HRN_EXIT_INPUT;
		}
	if (st->n == n)
		return 0;
	char missing[1024] = "";
	size_t len = 0, k = 0, n_missing = 0;
	for (size_t i = 1; i <= n; i++) {
		if (k < st->n && st->in[k].index == i) {
			k++;
			continue;
		}
		n_missing++;
		if (len + 16 < sizeof missing)
			len += (size_t)snprintf(missing + len, sizeof missing - len, "%s%zu", len ? ", " : "", i);
	}
	fprintf(stderr, "merilo merge: %zu shard%s of %zu missing: %s%s (each of 1..%zu is needed once)\n", n_missing,
		n_missing == 1 ? "" : "s", n, missing, len + 16 >= sizeof missing ? ", ..." : "", n);
	return HRN_EXIT_INPUT;
}

/* The first key where objects a and b differ (a key of either), or NULL. */
static const char *first_difference(const json_t *a, const json_t *b)
{
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)a, key, v)
		if (!json_equal(v, json_object_get(b, key)))
			return key;
	json_object_foreach((json_t *)b, key, v)
		if (!json_object_get(a, key))
			return key;
	return NULL;
}

/* A copy of obj without the keys listed (NULL-terminated); NULL when out of memory. */
static json_t *without(const json_t *obj, const char *const *keys)
{
	json_t *c = json_is_object(obj) ? json_deep_copy(obj) : json_object();
	for (size_t i = 0; c && keys[i]; i++)
		json_object_del(c, keys[i]);
	return c;
}

/* Report that a and b differ in what.key. Returns HRN_EXIT_INPUT. */
static int differs(const struct shard_in *a, const struct shard_in *b, const char *what, const char *key,
		   const json_t *va, const json_t *vb)
{
	char *ta = va ? json_dumps(va, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
	char *tb = vb ? json_dumps(vb, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
	fprintf(stderr, "merilo merge: %s does not belong with %s: %s%s%s differs (%.80s vs %.80s)\n", b->dir, a->dir,
		what, key ? "." : "", key ? key : "", tb ? tb : "absent", ta ? ta : "absent");
	free(ta);
	free(tb);
	return HRN_EXIT_INPUT;
}

/* Same model and suite hashes, same options and settings that shape records or
 * aggregates (threads, batch, paths and the shard number may differ). */
static int check_together(const struct merge_state *st)
{
	static const char *const opt_free[] = { "model", "suite", "batch", "shard", "threads", NULL };
	static const char *const set_free[] = { "threads", "batch", "shard", NULL };
	static const char *const hashes[] = { "model_sha256", "suite_sha256" };
	const struct shard_in *a = &st->in[0];
	json_t *sa = rec_settings_to_json(&a->run.results.settings);
	json_t *oa = without(json_object_get(a->run.run_json, "options"), opt_free), *ca = without(sa, set_free);
	int ret = sa && oa && ca ? 0 : HRN_EXIT_RUNTIME;
	for (size_t i = 1; i < st->n && !ret; i++) {
		const struct shard_in *b = &st->in[i];
		for (int h = 0; h < 2 && !ret; h++) {
			json_t *ha = json_object_get(a->run.run_json, hashes[h]), *hb = json_object_get(b->run.run_json, hashes[h]);
			if (!json_is_string(ha) || !json_equal(ha, hb))
				ret = differs(a, b, "run.json", hashes[h], ha, hb);
		}
		json_t *sb = rec_settings_to_json(&b->run.results.settings);
		json_t *ob = without(json_object_get(b->run.run_json, "options"), opt_free), *cb = without(sb, set_free);
		const char *k;
		if (!ret && (!sb || !ob || !cb))
			ret = HRN_EXIT_RUNTIME;
		else if (!ret && (k = first_difference(oa, ob)))
			ret = differs(a, b, "run.json options", k, json_object_get(oa, k), json_object_get(ob, k));
		else if (!ret && (k = first_difference(ca, cb)))
			ret = differs(a, b, "settings", k, json_object_get(ca, k), json_object_get(cb, k));
		json_decref(sb);
		json_decref(ob);
		json_decref(cb);
	}
	json_decref(sa);
	json_decref(oa);
	json_decref(ca);
	return ret;
}

/* The suite the shards ran (or suite_arg), checked by sha256, and the run's tasks. */
static int load_suite(struct merge_state *st, const char *suite_arg)
{
	const struct rec_run *r = &st->in[0].run;
	const char *path = suite_arg ? suite_arg : json_string_value(json_object_get(json_object_get(r->run_json, "options"), "suite"));
	const char *want = json_string_value(json_object_get(r->run_json, "suite_sha256"));
	struct mrl_err err = { 0 };
	char hex[65];
	if (!path || !want) {
		fprintf(stderr, "merilo merge: %s: not a merilo run.json (no options.suite or suite_sha256)\n", r->json_path);
		return HRN_EXIT_INPUT;
	}
	if (hrn_sha256_file_cached(path, hex, NULL, NULL, &err))
		return fprintf(stderr, "merilo merge: the suite of the shards: %s (give its path with --suite)\n", err.msg),
		       HRN_EXIT_INPUT;
	if (strcmp(hex, want)) {
		fprintf(stderr, "merilo merge: %s is not the suite the shards ran (sha256 %s, they used %s); give theirs "
				"with --suite\n", path, hex, want);
		return HRN_EXIT_INPUT;
	}
	if (task_suite_load(path, &st->suite, NULL, &err))
		return hrn_report(&err);
	const struct rec_settings *set = &r->results.settings;
	if (!(st->tasks = calloc(set->n_tasks + 1, sizeof *st->tasks)))
		return HRN_EXIT_RUNTIME;
	for (size_t k = 0; k < set->n_tasks; k++)
		if (!(st->tasks[st->n_tasks++] = task_suite_find(st->suite, set->tasks[k]))) {
			fprintf(stderr, "merilo merge: %s: the suite %s has no task '%s'\n", r->results_path, path, set->tasks[k]);
			return HRN_EXIT_INPUT;
		}
	return 0;
}

/* The plan of the unsharded run, from the shards' settings and options. */
static void make_cfg(const struct merge_state *st, struct hrn_run_cfg *cfg, const char *out_dir)
{
	const struct rec_settings *set = &st->in[0].run.results.settings;
	const json_t *opt = json_object_get(st->in[0].run.run_json, "options");
	*cfg = (struct hrn_run_cfg){
		.suite = st->suite, .out_dir = out_dir, .tasks = st->tasks, .n_tasks = st->n_tasks,
		.langs = (const char *const *)set->languages, .n_langs = set->n_languages, /* the union: same selection */
		.limit = set->limit, .add_bos = json_is_true(json_object_get(set->extra, "bos_used")),
		.fewshot_k = json_is_integer(json_object_get(opt, "fewshot")) /* null: not given */
				     ? (int)json_integer_value(json_object_get(opt, "fewshot")) : -1,
		.seed = (uint64_t)set->seed,
	};
}

/* The shards' --sample, drawn again from the suite into cfg (none where they had none).
 * 0 or an exit code. */
static int plan_sample(struct merge_state *st, struct hrn_run_cfg *cfg)
{
	const struct rec_run *r = &st->in[0].run;
	struct mrl_err err = { 0 };
	struct hrn_sample_spec spec;
	uint64_t seed;
	const int has = hrn_sample_from_json(r->results.settings.extra, &spec, &seed);
	if (has < 0) {
		fprintf(stderr, "merilo merge: %s: settings.sample is not {\"n\": N >= 1, \"seed\": S >= 0} or "
				"{\"percent\": P (1 to 99), \"seed\": S >= 0}\n", r->results_path);
		return HRN_EXIT_INPUT;
	}
	if (has && hrn_sample_plan(st->tasks, st->n_tasks, spec, seed, &st->sample, &err))
		return hrn_report(&err);
	cfg->sample = has ? &st->sample : NULL;
	return 0;
}

struct keyed {
	const struct rec_item *it;
	const struct shard_in *from;
};

static int by_key(const void *a, const void *b)
{
	const struct rec_item *x = ((const struct keyed *)a)->it, *y = ((const struct keyed *)b)->it;
	int c = strcmp(x->task, y->task);
	c = c ? c : strcmp(x->item_id, y->item_id);
	return c ? c : strcmp(x->language, y->language);
}

/* The shards' records in run order into st->merged: every unit exactly once. */
static int merge_items(struct merge_state *st, const struct hrn_run_cfg *cfg)
{
	size_t total = 0, k = 0, n_units = 0;
	for (size_t i = 0; i < st->n; i++)
		total += st->in[i].run.items.n;
	struct keyed *v = calloc(total + 1, sizeof *v);
	st->merged.items = calloc(total + 1, sizeof *st->merged.items);
	if (!v || !st->merged.items)
		return free(v), HRN_EXIT_RUNTIME;
	for (size_t i = 0; i < st->n; i++)
		for (size_t j = 0; j < st->in[i].run.items.n; j++)
			v[k++] = (struct keyed){ .it = &st->in[i].run.items.items[j], .from = &st->in[i] };
	qsort(v, total, sizeof *v, by_key);
	int ret = 0;
	for (size_t i = 1; i < total && !ret; i++)
		if (!by_key(&v[i - 1], &v[i])) {
			fprintf(stderr, "merilo merge: item '%s' of task '%s' in %s is in two shards: %s and %s\n", v[i].it->item_id,
				v[i].it->task, v[i].it->language, v[i - 1].from->dir, v[i].from->dir);
			ret = HRN_EXIT_INPUT;
		}
	struct hrn_units units;
	struct hrn_unit u;
	hrn_units_init(&units, cfg);
	while (!ret && hrn_units_next(&units, &u)) {
		struct rec_item probe = { .task = (char *)task_id(u.task), .item_id = (char *)task_item_id(u.item),
					  .language = (char *)u.lang };
		struct keyed key = { .it = &probe }, *hit = bsearch(&key, v, total, sizeof *v, by_key);
		n_units++;
		if (!hit) {
			fprintf(stderr, "merilo merge: item '%s' of task '%s' in %s is in none of the shards (an unfinished or "
					"repaired shard? merilo run --resume it)\n", probe.item_id, probe.task, probe.language);
			ret = HRN_EXIT_INPUT;
		} else {
			st->merged.items[st->merged.n++] = *hit->it;
		}
	}
	if (!ret && n_units != total) {
		fprintf(stderr, "merilo merge: the shards hold %zu record%s, the run has %zu unit%s: records outside the "
				"run's plan\n", total, total == 1 ? "" : "s", n_units, n_units == 1 ? "" : "s");
		ret = HRN_EXIT_INPUT;
	}
	free(v);
	return ret;
}

/* The merged run folder: created, locked, and (unless replace) holding no run yet. */
static int prepare_out(struct merge_state *st, const char *out_dir, bool replace)
{
	char path[4200];
	struct mrl_err err = { 0 };
	snprintf(path, sizeof path, "%s/prompts", out_dir);
	if (mrl_mkdir_p(path, &err)) {
		fprintf(stderr, "merilo merge: cannot create the run folder: %s\n", err.msg);
		return HRN_EXIT_RUNTIME;
	}
	snprintf(path, sizeof path, "%s/run.lock", out_dir);
	int rc = hrn_lock_file(path, &st->lock_fd);
	if (rc) {
		fprintf(stderr, "merilo merge: %s is in use by another merilo process (or cannot be locked)\n", out_dir);
		return HRN_EXIT_INPUT;
	}
	return replace ? 0 : hrn_refuse_run_dir(out_dir, "merge", "-o", NULL);
}

/* items.jsonl (through a temporary file: a reader never sees half of it) and run.json. */
static int write_items_and_run_json(const struct merge_state *st, const char *out_dir, struct mrl_err *err)
{
	char path[4200], tmp[4300];
	snprintf(path, sizeof path, "%s/items.jsonl", out_dir);
	snprintf(tmp, sizeof tmp, "%s.merge-tmp", path);
	struct rec_item_writer_opts wo = { .flush_every_items = 1024, .flush_every_ns = -1, .truncate = true };
	struct rec_item_writer *w;
	int rc = rec_item_writer_open(tmp, &wo, &w, NULL, err);
	for (size_t i = 0; !rc && i < st->merged.n; i++)
		rc = rec_item_writer_add(w, &st->merged.items[i], err);
	struct mrl_err cerr = { 0 };
	int crc = rc ? (rec_item_writer_close(w, &cerr), 0) : rec_item_writer_close(w, err);
	if (rc || crc || rename(tmp, path))
		return rc || crc ? (rc ? rc : crc) : mrl_err_set(err, MRL_EIO, "%s: cannot rename into place", tmp);
	json_t *j = json_deep_copy(st->in[0].run.run_json), *from = json_array();
	json_object_del(json_object_get(j, "options"), "shard");
	json_object_del(json_object_get(j, "settings"), "shard");
	for (size_t i = 0; from && i < st->n; i++)
		json_array_append_new(from, json_string(st->in[i].dir));
	json_object_set_new(j, "merged_from", from);
	json_object_del(j, "argv"); /* shard 1's: the merge's own, where known */
	if (j && st->argv)
		json_object_set_new(j, "argv", json_deep_copy(st->argv));
	char *text = j ? json_dumps(j, JSON_INDENT(2) | JSON_REAL_PRECISION(17)) : NULL;
	json_decref(j);
	snprintf(path, sizeof path, "%s/run.json", out_dir);
	rc = text ? mrl_write_file_atomic(path, text, strlen(text), err) : mrl_err_set(err, MRL_ENOMEM, "out of memory");
	free(text);
	return rc;
}

/* manifest.shards and the earliest start. */
static int manifest_shards(struct merge_state *st, struct mrl_err *err)
{
	struct rec_manifest *m = &st->res.manifest;
	json_t *list = json_array();
	for (size_t i = 0; list && i < st->n; i++) {
		const struct rec_manifest *s = &st->in[i].run.results.manifest;
		json_array_append_new(list, json_pack("{s:I, s:I, s:o, s:o, s:o}", "index", (json_int_t)st->in[i].index,
						      "count", (json_int_t)st->in[i].count, "hostname",
						      rec_json_string(s->hostname), "started_utc", rec_json_string(s->started_utc),
						      "ended_utc", rec_json_string(s->ended_utc)));
		if (s->started_utc && m->started_utc && strcmp(s->started_utc, m->started_utc) < 0) {
			free(m->started_utc);
			if (!(m->started_utc = strdup(s->started_utc)))
				break;
		}
	}
	if (!list || json_array_size(list) != st->n || !m->started_utc)
		return json_decref(list), mrl_err_set(err, MRL_ENOMEM, "out of memory");
	m->shards = list;
	json_decref(m->argv); /* shard 1's: each shard's is in its own folder */
	json_decref(m->resumed_argv);
	m->resumed_argv = NULL;
	if (!(m->argv = st->argv ? json_deep_copy(st->argv) : NULL) && st->argv)
		return mrl_err_set(err, MRL_ENOMEM, "out of memory");
	return rec_manifest_finish(m, err);
}

/* results.json: shard 1's description (suite, model, engine, settings, manifest)
 * without the shard number, and aggregates, comparisons and performance computed
 * from the merged items. */
static int write_results(struct merge_state *st, const struct hrn_run_cfg *cfg, const char *out_dir,
			 struct mrl_err *err)
{
	char path[4200];
	snprintf(path, sizeof path, "%s/results.json", out_dir);
	json_t *j = rec_results_to_json(&st->in[0].run.results);
	if (!j)
		return mrl_err_set(err, MRL_ENOMEM, "out of memory");
	json_object_set_new(j, "aggregates", json_array());
	json_object_set_new(j, "comparisons", json_array());
	json_object_del(j, "performance");
	json_object_del(json_object_get(j, "settings"), "shard");
	json_object_del(json_object_get(json_object_get(j, "manifest"), "settings"), "shard");
	int rc = rec_results_from_json(j, &st->res, path, err);
	json_decref(j);
	const json_t *extra = st->res.settings.extra;
	const json_t *boot = json_object_get(extra, "bootstrap_resamples"), *level = json_object_get(extra, "ci_level");
	struct hrn_agg_opts ao = { .seed = (uint64_t)st->res.settings.seed,
				   .n_resamples = json_is_integer(boot) ? (size_t)json_integer_value(boot) : MET_BOOT_DEFAULT_RESAMPLES,
				   .level = json_is_number(level) ? json_number_value(level) : 0.95 };
	if (!rc)
		rc = hrn_run_aggregate(cfg, &st->merged, &ao, &st->res, err);
	if (!rc)
		rc = hrn_run_performance(cfg, &st->merged, NULL, &st->res, err);
	if (!rc)
		rc = manifest_shards(st, err);
	return rc ? rc : rec_results_write(path, &st->res, err);
}

static void release_state(struct merge_state *st)
{
	for (size_t i = 0; st->in && i < st->n; i++)
		rec_run_release(&st->in[i].run);
	free(st->in);
	free(st->merged.items); /* the records belong to the shards */
	rec_results_release(&st->res);
	free(st->tasks);
	hrn_sample_release(&st->sample);
	task_suite_free(st->suite);
	if (st->lock_fd >= 0)
		close(st->lock_fd);
}

int hrn_merge_runs(const char *const *dirs, size_t n, const char *out_dir, const char *suite, bool quiet,
		   bool replace, const json_t *argv)
{
	struct merge_state st = { .n = n, .lock_fd = -1, .argv = argv };
	struct mrl_err err = { 0 };
	struct hrn_run_cfg cfg;
	rec_results_init(&st.res);
	int ret = (st.in = calloc(n + 1, sizeof *st.in)) ? 0 : HRN_EXIT_RUNTIME;
	if (ret || (ret = load_shards(&st, dirs)) || (ret = check_complete(&st)) || (ret = check_together(&st)) ||
	    (ret = load_suite(&st, suite)))
		goto out;
	make_cfg(&st, &cfg, out_dir);
	if ((ret = plan_sample(&st, &cfg)) || (ret = merge_items(&st, &cfg)) || (ret = prepare_out(&st, out_dir, replace)))
		goto out;
	for (size_t t = 0; t < cfg.n_tasks && !ret; t++)
		if (hrn_run_write_prompts(&cfg, t, &err))
			ret = hrn_report(&err);
	if (!ret && (write_items_and_run_json(&st, out_dir, &err) || write_results(&st, &cfg, out_dir, &err)))
		ret = hrn_report(&err);
	if (!ret && !quiet) {
		hrn_run_print_summary(stdout, &cfg, &st.res);
		printf("\nmerged %zu shard%s (%zu item x language unit%s) into %s/\n", st.n, st.n == 1 ? "" : "s",
		       st.merged.n, st.merged.n == 1 ? "" : "s", out_dir);
	}
out:
	release_state(&st);
	return ret;
}

int hrn_cmd_merge(int argc, char **argv)
{
	const char *out = NULL, *suite = NULL;
	bool quiet = false;
	const struct mrl_option opts[] = {
		OPT_STRING_F('o', "out", &out, "DIR", "the merged run folder (required; must not hold a run)",
			     MRL_OPT_NONEMPTY),
		OPT_STRING_F(0, "suite", &suite, "FILE", "the suite, when it is no longer where the shards\n"
			     "read it (checked by sha256)", MRL_OPT_NONEMPTY),
		OPT_BOOL('q', "quiet", &quiet, "no summary"),
		OPT_END(),
	};
	json_t *invocation = hrn_invocation_json(argc, argv); /* before parsing reorders argv */
	int n_args, rc = hrn_options("merge", opts, argc, argv, &n_args, usage);
	if (rc == HRN_OPTS_GO && !n_args)
		rc = hrn_usage_error("merge", "no shard run given");
	else if (rc == HRN_OPTS_GO && !out)
		rc = hrn_usage_error("merge", "-o RUN_DIR is required");
	else if (rc == HRN_OPTS_GO && !invocation)
		rc = HRN_EXIT_RUNTIME;
	else if (rc == HRN_OPTS_GO)
		rc = hrn_merge_runs((const char *const *)argv, (size_t)n_args, out, suite, quiet, false, invocation);
	json_decref(invocation);
	return rc;
}
