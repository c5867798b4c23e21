/* rec_results.c — tests for results.json and items.jsonl (records/).
 *
 * Round trips compare every field, doubles bit for bit (NaN, +-inf, -0.0,
 * subnormals included); malformed and unknown-version files are refused with
 * the file and the line or JSON pointer; the item writer flushes by count and by
 * time, keeps whole lines when killed or when a write fails; the reader
 * tolerates and reports a truncated last line; the done set answers --resume.
 * The "performance" section of results.json and the "logprobs" / "tokens_computed"
 * fields of items.jsonl round-trip, are optional for older files, and malformed
 * ones are refused naming the field.
 */
#include "records/done_set.h"
#include "records/item_writer.h"
#include "records/items.h"
#include "records/results.h"
#include "tests/tap.h"
#include "tests/cli.h"

#include <float.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char dir[64];

static const char *tmp_path(const char *name)
{
	static char buf[8][512];
	static int next;
	char *p = buf[next++ % 8];
	snprintf(p, 512, "%s/%s", dir, name);
	return p;
}

static int same_double(double a, double b)
{
	return (isnan(a) && isnan(b)) || memcmp(&a, &b, sizeof a) == 0;
}

/* doubles that a sloppy printer would not round-trip */
static const double tricky[] = { 0.1, 1.0 / 3.0, -0.0, 5e-324, 2.2250738585072014e-308, DBL_MAX, -1e300,
				 0.95, 123456789.123456789, 1.0 };

static void fill_results(struct rec_results *r)
{
	rec_results_init(r);
	r->suite.name = strdup("sr-en-mc");
	r->suite.version = strdup("1.2.0");
	r->suite.path = strdup("tasks/suites/sr-en \"mc\".json");
	r->suite.sha256 = strdup("ab0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcd");
	r->model.path = strdup("/models/tiny.gguf");
	r->model.name = strdup("Tiny Ђурђевдан čćžšđ");
	r->model.arch = strdup("llama");
	r->model.size_bytes = 123456789012;
	r->model.sha256 = NULL; /* unknown: null */
	r->engine.name = strdup("merilo");
	r->engine.version = strdup("0.1.0");
	r->engine.backend = strdup("cpu");
	r->settings.bos_mode = strdup("auto");
	r->settings.threads = 2;
	r->settings.limit = 0;
	r->settings.fewshot_k = 5;
	r->settings.fewshot_seed = 1234;
	r->settings.seed = 9223372036854775807LL;
	rec_strlist_add(&r->settings.languages, &r->settings.n_languages, "sr");
	rec_strlist_add(&r->settings.languages, &r->settings.n_languages, "en");
	rec_strlist_add(&r->settings.tasks, &r->settings.n_tasks, "copa");
	r->settings.extra = json_pack("{s:s, s:{s:i, s:[b, n]}}", "template", "chat\nv2", "bootstrap", "resamples",
				      1000, "flags", 1);
	for (int t = 0; t < 2; t++) {
		struct rec_aggregate *a = rec_results_add_aggregate(r, t ? "arc" : "copa", t ? "en" : "sr", 100 + t);
		for (int k = 0; k < 3; k++)
			rec_aggregate_add_metric(a, k == 0 ? "acc" : k == 1 ? "acc_norm" : "f1", tricky[(t + k) % 10],
						 k == 2 ? NAN : tricky[(t + k + 1) % 10], -INFINITY, INFINITY, 0.95,
						 k ? "bootstrap-percentile" : "wilson");
		if (t) { /* a metric over fewer items than the aggregate's; the chance level */
			a->metrics[2].n = 40;
			a->chance = 0.25;
		}
	}
	struct rec_comparison *c = rec_results_add_comparison(r, "copa", "sr", "en", "acc", "paired-bootstrap");
	c->n_pairs = 100;
	c->diff = -0.03;
	c->ci_low = -0.08000000000000002;
	c->ci_high = 0.020000000000000004;
	c->ci_level = 0.95;
	c->mcnemar_b = 7;
	c->mcnemar_c = 10;
	c->mcnemar_p = 0.62890625;
	rec_results_add_comparison(r, "arc", "sr", "en", "acc", NULL); /* NaN everywhere, null method */
	r->manifest.merilo_version = strdup("0.1.0");
	r->manifest.git_commit = strdup("abc123-dirty");
	r->manifest.cpu_model = strdup("Test CPU @ 3.0GHz");
	r->manifest.logical_cores = 2;
	r->manifest.mem_total_bytes = 8LL << 30;
	r->manifest.gpu_null_reason = strdup("no NVIDIA driver (/proc/driver/nvidia absent)");
	r->manifest.started_utc = strdup("2025-05-01T12:34:56Z");
	r->manifest.ended_utc = strdup("2025-05-01T13:00:00Z");
	r->manifest.settings = rec_settings_to_json(&r->settings);
}

static void test_results_roundtrip(void)
{
	struct rec_results a, b;
	struct mrl_err err = { 0 };
	const char *path = tmp_path("results.json");
	fill_results(&a);
	is_int(rec_results_write(path, &a, &err), 0, "results.json written");
	if (err.code)
		diag("%s", err.msg);
	int rc = rec_results_read(path, &b, &err);
	is_int(rc, 0, "results.json read back");
	if (rc) {
		diag("%s", err.msg);
		rec_results_release(&a);
		rec_results_release(&b);
		return;
	}
	is_int(b.schema_version, REC_RESULTS_SCHEMA_VERSION, "schema_version");
	ok(cli_same_str(a.suite.name, b.suite.name) && cli_same_str(a.suite.version, b.suite.version) &&
	   cli_same_str(a.suite.path, b.suite.path) && cli_same_str(a.suite.sha256, b.suite.sha256), "suite fields round-trip");
	ok(cli_same_str(a.model.path, b.model.path) && cli_same_str(a.model.name, b.model.name) &&
	   cli_same_str(a.model.arch, b.model.arch) && a.model.size_bytes == b.model.size_bytes && b.model.sha256 == NULL,
	   "model fields round-trip (UTF-8 name, 64-bit size, null sha256)");
	ok(cli_same_str(a.engine.name, b.engine.name) && cli_same_str(a.engine.version, b.engine.version) &&
	   cli_same_str(a.engine.backend, b.engine.backend), "engine fields round-trip");
	ok(cli_same_str(a.settings.bos_mode, b.settings.bos_mode) && a.settings.threads == b.settings.threads &&
	   a.settings.limit == b.settings.limit && a.settings.fewshot_k == b.settings.fewshot_k &&
	   a.settings.fewshot_seed == b.settings.fewshot_seed && a.settings.seed == b.settings.seed,
	   "scalar settings and seeds round-trip (seed 2^63-1)");
	ok(b.settings.n_languages == 2 && !strcmp(b.settings.languages[0], "sr") &&
	   !strcmp(b.settings.languages[1], "en") && b.settings.n_tasks == 1 && !strcmp(b.settings.tasks[0], "copa"),
	   "language and task lists round-trip in order");
	ok(json_equal(a.settings.extra, b.settings.extra), "free-form extra settings round-trip");
	is_int(b.n_aggregates, 2, "two aggregates");
	int agg_ok = b.n_aggregates == a.n_aggregates;
	for (size_t i = 0; agg_ok && i < a.n_aggregates; i++) {
		struct rec_aggregate *x = &a.aggregates[i], *y = &b.aggregates[i];
		agg_ok &= cli_same_str(x->task, y->task) && cli_same_str(x->language, y->language) && x->n == y->n &&
			  x->n_metrics == y->n_metrics;
		for (size_t k = 0; agg_ok && k < x->n_metrics; k++) {
			struct rec_metric_value *p = &x->metrics[k], *q = &y->metrics[k];
			agg_ok &= cli_same_str(p->name, q->name) && same_double(p->value, q->value) &&
				  same_double(p->std_err, q->std_err) && same_double(p->ci_low, q->ci_low) &&
				  same_double(p->ci_high, q->ci_high) && same_double(p->ci_level, q->ci_level) &&
				  cli_same_str(p->method, q->method) && p->n == q->n;
			if (!agg_ok)
				diag("aggregate %zu metric %zu: %.17g vs %.17g", i, k, p->value, q->value);
		}
	}
	ok(agg_ok, "every aggregate metric field round-trips bit for bit (incl. -0.0, 5e-324, DBL_MAX, NaN, +-inf)");
	ok(b.n_aggregates == 2 && b.aggregates[1].metrics[2].n == 40 && b.aggregates[0].metrics[2].n == -1,
	   "a metric's own n round-trips; absent, it reads as -1 (all the aggregate's items)");
	ok(b.n_aggregates == 2 && b.aggregates[1].chance == 0.25 && isnan(b.aggregates[0].chance),
	   "an aggregate's chance level round-trips; absent, it reads as NaN (not recorded)");
	int cmp_ok = b.n_comparisons == 2;
	for (size_t i = 0; cmp_ok && i < 2; i++) {
		struct rec_comparison *x = &a.comparisons[i], *y = &b.comparisons[i];
		cmp_ok &= cli_same_str(x->task, y->task) && cli_same_str(x->language_a, y->language_a) &&
			  cli_same_str(x->language_b, y->language_b) && cli_same_str(x->metric, y->metric) &&
			  cli_same_str(x->method, y->method) && x->n_pairs == y->n_pairs && same_double(x->diff, y->diff) &&
			  same_double(x->ci_low, y->ci_low) && same_double(x->ci_high, y->ci_high) &&
			  same_double(x->ci_level, y->ci_level) && x->mcnemar_b == y->mcnemar_b &&
			  x->mcnemar_c == y->mcnemar_c && same_double(x->mcnemar_p, y->mcnemar_p);
	}
	ok(cmp_ok, "every comparison field round-trips (incl. all-NaN comparison)");
	ok(cli_same_str(a.manifest.cpu_model, b.manifest.cpu_model) && cli_same_str(a.manifest.git_commit, b.manifest.git_commit) &&
	   a.manifest.logical_cores == b.manifest.logical_cores && a.manifest.mem_total_bytes == b.manifest.mem_total_bytes &&
	   cli_same_str(a.manifest.gpu_null_reason, b.manifest.gpu_null_reason) && b.manifest.gpu_name == NULL &&
	   cli_same_str(a.manifest.started_utc, b.manifest.started_utc) && cli_same_str(a.manifest.ended_utc, b.manifest.ended_utc) &&
	   json_equal(a.manifest.settings, b.manifest.settings),
	   "the embedded manifest round-trips");
	/* writing what was read gives the same bytes: nothing lost or reordered */
	char *t1 = NULL, *t2 = NULL;
	json_t *ja = rec_results_to_json(&a), *jb = rec_results_to_json(&b);
	t1 = json_dumps(ja, JSON_INDENT(2) | JSON_REAL_PRECISION(17));
	t2 = json_dumps(jb, JSON_INDENT(2) | JSON_REAL_PRECISION(17));
	is_str(t2, t1, "re-serializing the read record gives identical JSON text");
	like(t1, "\"stderr\": null", "a NaN standard error is written as null");
	like(t1, "\"ci_low\": \"-inf\"", "-infinity is written as the string \"-inf\"");
	like(t1, "\"value\": -0.0", "-0.0 keeps its sign");
	free(t1);
	free(t2);
	json_decref(ja);
	json_decref(jb);
	rec_results_release(&a);
	rec_results_release(&b);
}

/* Serialize a valid record, let mutate() damage it, read it back, return rc. */
static int read_mutated(void (*mutate)(json_t *), struct mrl_err *err)
{
	struct rec_results r;
	fill_results(&r);
	json_t *j = rec_results_to_json(&r);
	rec_results_release(&r);
	mutate(j);
	const char *path = tmp_path("bad.json");
	json_dump_file(j, path, JSON_INDENT(1));
	json_decref(j);
	int rc = rec_results_read(path, &r, err);
	rec_results_release(&r);
	return rc;
}

/* rec_results_take: dst's own entries first, then src's in their order; src keeps none. */
static void test_results_take(void)
{
	struct rec_results a, b;
	rec_results_init(&a);
	rec_results_init(&b);
	ok(rec_results_take(&a, &b) == 0 && !a.n_aggregates && !a.n_comparisons && !a.n_breakdowns, "nothing from nothing");
	rec_results_add_aggregate(&a, "t", "en", 3);
	rec_results_add_aggregate(&b, "t", "hr", 4);
	rec_results_add_aggregate(&b, "u", "hr", 5);
	rec_results_add_comparison(&b, "t", "en", "hr", "acc", "paired-bootstrap");
	rec_results_add_breakdown(&b, "t", "hr", "oblast", "hemija", 2);
	rec_aggregate_add_metric(&b.aggregates[1], "acc", 0.5, 0.1, 0.3, 0.7, 0.95, "bootstrap-percentile");
	ok(rec_results_take(&a, &b) == 0, "take");
	ok(a.n_aggregates == 3 && !strcmp(a.aggregates[0].language, "en") && !strcmp(a.aggregates[1].language, "hr") &&
	   !strcmp(a.aggregates[2].task, "u") && a.aggregates[2].n_metrics == 1 && a.aggregates[2].metrics[0].value == 0.5,
	   "dst's aggregate, then src's in order, with their metrics");
	ok(a.n_comparisons == 1 && !strcmp(a.comparisons[0].language_b, "hr"), "src's comparison");
	ok(a.n_breakdowns == 1 && !strcmp(a.breakdowns[0].value, "hemija"), "src's breakdown");
	ok(!b.aggregates && !b.n_aggregates && !b.n_comparisons && !b.n_breakdowns, "src holds none of them");
	rec_results_release(&b); /* nothing of a's freed twice (ASan) */
	rec_results_release(&a);
}

static void m_version2(json_t *j) { json_object_set_new(j, "schema_version", json_integer(2)); }
static void m_no_version(json_t *j) { json_object_del(j, "schema_version"); }
static void m_metric_string(json_t *j)
{
	json_t *m = json_object_get(json_object_get(json_array_get(json_object_get(j, "aggregates"), 1), "metrics"), "acc_norm");
	json_object_set_new(m, "ci_level", json_string("ninety-five"));
}
static void m_mcnemar_real(json_t *j)
{
	json_t *m = json_object_get(json_array_get(json_object_get(j, "comparisons"), 0), "mcnemar");
	json_object_set_new(m, "b", json_real(7.5));
}
static void m_metric_n_too_big(json_t *j)
{
	json_t *m = json_object_get(json_object_get(json_array_get(json_object_get(j, "aggregates"), 0), "metrics"), "acc");
	json_object_set_new(m, "n", json_integer(101));
}
static void m_chance_2(json_t *j)
{
	json_object_set_new(json_array_get(json_object_get(j, "aggregates"), 1), "chance", json_real(2));
}
static void m_no_task(json_t *j) { json_object_del(json_array_get(json_object_get(j, "aggregates"), 0), "task"); }
static void m_manifest_version(json_t *j) { json_object_set_new(json_object_get(j, "manifest"), "schema_version", json_integer(9)); }
static void m_manifest_time(json_t *j) { json_object_set_new(json_object_get(j, "manifest"), "started_utc", json_string("yesterday")); }
static void m_cores_string(json_t *j)
{
	json_object_set_new(json_object_get(json_object_get(j, "manifest"), "host"), "logical_cores", json_string("2"));
}
static void m_languages_int(json_t *j)
{
	json_array_append_new(json_object_get(json_object_get(j, "settings"), "languages"), json_integer(3));
}

static void test_results_rejects(void)
{
	struct mrl_err err = { 0 };
	struct rec_results r;
	const char *path = tmp_path("bad.json");

	cli_write_file(path, "{\n  \"schema_version\": 1,\n  \"suite\": {\n");
	is_int(rec_results_read(path, &r, &err), MRL_EINPUT, "truncated JSON is refused");
	like(err.msg, path, "the message names the file");
	like(err.msg, ".json:4:", "and the line where parsing stopped");
	rec_results_release(&r);

	cli_write_file(path, "[1, 2]\n");
	is_int(rec_results_read(path, &r, &err), MRL_EINPUT, "a JSON array is refused");
	like(err.msg, "the top level: expected an object, got an array", "saying what was expected");
	rec_results_release(&r);

	cli_write_file(path, "{\"schema_version\": 1, \"schema_version\": 1}\n");
	is_int(rec_results_read(path, &r, &err), MRL_EINPUT, "duplicate keys are refused");
	like(err.msg, "duplicate", "saying so");
	rec_results_release(&r);

	is_int(read_mutated(m_version2, &err), MRL_EUNSUPPORTED, "schema_version 2 is refused as unsupported");
	like(err.msg, "/schema_version: unsupported schema version 2 (this merilo reads version 1)",
	     "the message gives both versions");
	like(err.msg, "bad.json", "and names the file");
	is_int(read_mutated(m_no_version, &err), MRL_EINPUT, "a missing schema_version is refused");
	like(err.msg, "/schema_version: missing", "naming the field");
	is_int(read_mutated(m_metric_string, &err), MRL_EINPUT, "a string where a number belongs is refused");
	like(err.msg, "/aggregates/1/metrics/acc_norm/ci_level: expected a number", "with the full JSON path");
	is_int(read_mutated(m_mcnemar_real, &err), MRL_EINPUT, "a real where an integer belongs is refused");
	like(err.msg, "/comparisons/0/mcnemar/b: expected an integer, got a real number", "with the full JSON path");
	is_int(read_mutated(m_metric_n_too_big, &err), MRL_EINPUT, "a metric over more items than its aggregate is refused");
	like(err.msg, "/aggregates/0/metrics/acc/n: 101 items, more than the aggregate's 100", "naming both counts");
	is_int(read_mutated(m_chance_2, &err), MRL_EINPUT, "a chance level that is not a probability is refused");
	like(err.msg, "/aggregates/1/chance: 2 is not a probability in (0, 1]", "naming it");
	is_int(read_mutated(m_no_task, &err), MRL_EINPUT, "an aggregate without a task is refused");
	like(err.msg, "/aggregates/0/task: missing", "naming it");
	is_int(read_mutated(m_manifest_version, &err), MRL_EUNSUPPORTED, "an unknown manifest version is refused");
	like(err.msg, "/manifest/schema_version: unsupported manifest schema version 9", "naming it");
	is_int(read_mutated(m_manifest_time, &err), MRL_EINPUT, "a start time that is not ISO 8601 UTC is refused");
	like(err.msg, "/manifest/started_utc", "naming it");
	is_int(read_mutated(m_cores_string, &err), MRL_EINPUT, "a string core count is refused");
	like(err.msg, "/manifest/host/logical_cores: expected an integer, got a string", "naming it");
	is_int(read_mutated(m_languages_int, &err), MRL_EINPUT, "a non-string language is refused");
	like(err.msg, "/settings/languages/2: expected a string", "naming the element");

	is_int(rec_results_read(tmp_path("missing.json"), &r, &err), MRL_EIO, "a missing file is MRL_EIO");
	like(err.msg, "missing.json: cannot open: No such file", "naming it");
	rec_results_release(&r);
}

/* ------------------------------------------------------------- items */

static void make_item(struct rec_item *it, int k, const char *lang)
{
	char id[32];
	snprintf(id, sizeof id, "q%04d", k);
	rec_item_init(it, "copa", id, lang);
	for (int c = 0; c < 2 + k % 3; c++)
		rec_item_add_choice(it, -tricky[(k + c) % 10] * 7.0 - c, 3 + c, 11 + c, 13 + 2 * c, c == k % 2);
	it->gold_index = k % 2;
	rec_item_add_metric(it, "acc", k % 2, NULL, true, NAN);
	rec_item_add_metric(it, "acc_norm", 1, NULL, k % 2 == 1, NAN);
	if (k % 4 == 3) {
		rec_item_set_gold_text(it, "Kiša\n\"pada\"");
		rec_item_add_metric(it, "f1", -1, "kiša pada", false, 2.0 / 3.0);
		rec_item_set_prompt(it, "Premisa: Ђак је…\nOdgovor:");
	}
	rec_item_add_timing(it, "tokenize", 1200 + k);
	rec_item_add_timing(it, "score", 9000000000LL + k);
}

static int same_item(const struct rec_item *a, const struct rec_item *b)
{
	int same = cli_same_str(a->task, b->task) && cli_same_str(a->item_id, b->item_id) && cli_same_str(a->language, b->language) &&
		   a->n_choices == b->n_choices && a->gold_index == b->gold_index && cli_same_str(a->gold_text, b->gold_text) &&
		   a->n_metrics == b->n_metrics && a->n_timings == b->n_timings && cli_same_str(a->prompt, b->prompt);
	for (size_t i = 0; same && i < a->n_choices; i++) {
		const struct rec_choice_score *x = &a->choices[i], *y = &b->choices[i];
		same &= same_double(x->loglik, y->loglik) && x->n_tokens == y->n_tokens && x->n_chars == y->n_chars &&
			x->n_bytes == y->n_bytes && x->is_greedy == y->is_greedy;
	}
	for (size_t i = 0; same && i < a->n_metrics; i++) {
		const struct rec_item_metric *x = &a->metrics[i], *y = &b->metrics[i];
		same &= cli_same_str(x->metric, y->metric) && x->pred_index == y->pred_index &&
			cli_same_str(x->pred_text, y->pred_text) && x->correct == y->correct && same_double(x->value, y->value);
	}
	for (size_t i = 0; same && i < a->n_timings; i++)
		same &= cli_same_str(a->timings[i].name, b->timings[i].name) && a->timings[i].ns == b->timings[i].ns;
	return same;
}

static void test_items_roundtrip(void)
{
	const char *path = tmp_path("items.jsonl");
	struct mrl_err err = { 0 };
	struct rec_item_writer *w = NULL;
	struct rec_item_writer_opts opts = { .flush_every_items = 4, .flush_every_ns = -1, .truncate = true };
	is_int(rec_item_writer_open(path, &opts, &w, NULL, &err), 0, "item writer opens a new file");
	struct rec_item items[10];
	int add_ok = 1;
	for (int k = 0; k < 10; k++) {
		make_item(&items[k], k, k < 5 ? "sr" : "en");
		add_ok &= rec_item_writer_add(w, &items[k], &err) == 0;
		if (k == 2)
			is_int(cli_file_size(path), 0, "nothing is on disk before the 4th item (flush every 4)");
		if (k == 3)
			ok(cli_file_size(path) > 0, "the 4th item flushes the batch to disk");
	}
	ok(add_ok, "ten items added");
	is_int(rec_item_writer_n_flushed(w), 8, "two batches of 4 flushed, 2 items still buffered");
	is_int(rec_item_writer_close(w, &err), 0, "close flushes the rest");

	struct rec_items got;
	int rc = rec_items_read(path, &got, &err);
	is_int(rc, 0, "items.jsonl read back");
	if (rc)
		diag("%s", err.msg);
	is_int(got.n, 10, "all ten items are there");
	int all_same = got.n == 10;
	for (int k = 0; all_same && k < 10; k++)
		if (!same_item(&items[k], &got.items[k])) {
			all_same = 0;
			diag("item %d differs", k);
		}
	ok(all_same, "every item field round-trips (choices, metrics, gold, timings, prompt; doubles exact)");
	ok(!got.truncated_tail, "no truncated tail on a cleanly closed file");
	is_int(got.valid_bytes, cli_file_size(path), "valid_bytes covers the whole file");

	struct rec_done_set *done = rec_done_set_new(&got);
	ok(done != NULL, "done set built");
	is_int(rec_done_set_count(done), 10, "ten (task, item, language) keys");
	ok(rec_done_set_has(done, "copa", "q0003", "sr"), "a written item is done");
	ok(!rec_done_set_has(done, "copa", "q0003", "en"), "the same item in another language is not");
	ok(!rec_done_set_has(done, "copa", "q0010", "en"), "an unwritten item is not");
	rec_done_set_add(done, "copa", "q0003", "sr");
	is_int(rec_done_set_count(done), 10, "adding a key twice counts it once");
	rec_done_set_add(done, "ab", "c", "d");
	ok(!rec_done_set_has(done, "a", "bc", "d"), "keys are not confused by where the fields split");
	for (int k = 0; k < 5000; k++) {
		char id[16];
		snprintf(id, sizeof id, "x%d", k);
		rec_done_set_add(done, "big", id, "sr");
	}
	ok(rec_done_set_count(done) == 5011 && rec_done_set_has(done, "big", "x4999", "sr") &&
	   rec_done_set_has(done, "copa", "q0009", "en"), "the set grows to 5011 keys and still finds all");
	rec_done_set_free(done);

	/* appending (no truncate) keeps what is there */
	opts.truncate = false;
	size_t dropped = 99;
	rec_item_writer_open(path, &opts, &w, &dropped, &err);
	is_int(dropped, 0, "reopening a clean file drops nothing");
	rec_item_writer_add(w, &items[0], &err);
	rec_item_writer_close(w, &err);
	rec_items_release(&got);
	rec_items_read(path, &got, &err);
	is_int(got.n, 11, "reopening appends after the existing lines");
	rec_items_release(&got);
	for (int k = 0; k < 10; k++)
		rec_item_release(&items[k]);
}

static void test_items_timed_flush(void)
{
	const char *path = tmp_path("timed.jsonl");
	struct mrl_err err = { 0 };
	struct rec_item_writer *w = NULL;
	struct rec_item_writer_opts opts = { .flush_every_items = 1000, .flush_every_ns = 20000000, .truncate = true };
	struct rec_item it;
	make_item(&it, 1, "sr");
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	rec_item_writer_open(path, &opts, &w, NULL, &err);
	rec_item_writer_add(w, &it, &err);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	/* a loaded machine may stop this process for longer than the window between the two calls */
	if ((t1.tv_sec - t0.tv_sec) * 1000000000LL + (t1.tv_nsec - t0.tv_nsec) < 20000000)
		is_int(cli_file_size(path), 0, "a first item within 20 ms stays buffered");
	else
		skip("the machine took >= 20 ms between open and the first item", "a first item within 20 ms stays buffered");
	usleep(30000);
	rec_item_writer_add(w, &it, &err);
	is_int(rec_item_writer_n_flushed(w), 2, "an item added after 20 ms flushes both");
	ok(cli_file_size(path) > 0, "and they are on disk");
	rec_item_writer_close(w, &err);
	rec_item_release(&it);
}

/* child: flush every 3 items, add 8, then die by SIGKILL without closing */
static void killed_writer(const char *path)
{
	struct rec_item_writer *w = NULL;
	struct rec_item_writer_opts opts = { .flush_every_items = 3, .flush_every_ns = -1, .truncate = true };
	if (rec_item_writer_open(path, &opts, &w, NULL, NULL))
		_exit(3);
	for (int k = 0; k < 8; k++) {
		struct rec_item it;
		make_item(&it, k, "sr");
		rec_item_writer_add(w, &it, NULL);
		rec_item_release(&it);
	}
	raise(SIGKILL);
}

static void test_items_killed_and_truncated(void)
{
	const char *path = tmp_path("killed.jsonl");
	struct mrl_err err = { 0 };
	struct rec_items got;
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0)
		killed_writer(path);
	int status = 0;
	waitpid(pid, &status, 0);
	ok(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "the writer process was killed");
	is_int(rec_items_read(path, &got, &err), 0, "the killed run's file reads");
	is_int(got.n, 6, "it keeps the two flushed batches (6 of 8 items)");
	ok(!got.truncated_tail, "and only whole lines");
	rec_items_release(&got);

	/* a write cut mid-line: append half of a valid line */
	struct rec_item it;
	make_item(&it, 42, "en");
	json_t *j = rec_item_to_json(&it);
	char *line = json_dumps(j, JSON_COMPACT);
	size_t half = strlen(line) / 2;
	FILE *f = fopen(path, "a");
	fwrite(line, 1, half, f);
	fclose(f);
	off_t whole = cli_file_size(path) - (off_t)half;
	int rc = rec_items_read(path, &got, &err);
	is_int(rc, 0, "a truncated last line is not an error");
	is_int(got.n, 6, "the complete lines are all read");
	ok(got.truncated_tail, "the truncated tail is reported");
	is_int(got.tail_line, 7, "with its line number");
	is_int(got.tail_bytes, half, "and its length");
	is_int(got.valid_bytes, whole, "valid_bytes ends at the last whole line");
	rec_items_release(&got);

	/* a complete-looking last line without '\n' is still an unfinished write */
	f = fopen(path, "a");
	fwrite(line + half, 1, strlen(line) - half, f);
	fclose(f);
	rec_items_read(path, &got, &err);
	ok(got.truncated_tail && got.n == 6, "an unterminated last line counts as truncated even if it parses");
	rec_items_release(&got);

	/* resuming cuts the partial line off before appending */
	struct rec_item_writer *w = NULL;
	struct rec_item_writer_opts opts = { .flush_every_items = 1 };
	size_t dropped = 0;
	is_int(rec_item_writer_open(path, &opts, &w, &dropped, &err), 0, "the writer reopens the file");
	is_int(dropped, strlen(line), "and drops exactly the unterminated tail");
	rec_item_writer_add(w, &it, &err);
	rec_item_writer_close(w, &err);
	is_int(rec_items_read(path, &got, &err), 0, "the resumed file reads");
	ok(got.n == 7 && !got.truncated_tail && same_item(&got.items[6], &it),
	   "with the new item after the six old ones, and no damage");
	struct rec_done_set *done = rec_done_set_new(&got);
	ok(rec_done_set_has(done, "copa", "q0005", "sr") && !rec_done_set_has(done, "copa", "q0006", "sr"),
	   "the done set has the flushed items but not the lost ones");
	rec_done_set_free(done);
	rec_items_release(&got);
	free(line);
	json_decref(j);
	rec_item_release(&it);
}

/* child: a file-size limit makes the second flush fail */
static void limited_writer(const char *path)
{
	signal(SIGXFSZ, SIG_IGN);
	struct rec_item_writer *w = NULL;
	struct rec_item_writer_opts opts = { .flush_every_items = 2, .flush_every_ns = -1, .truncate = true };
	struct mrl_err err = { 0 };
	if (rec_item_writer_open(path, &opts, &w, NULL, NULL))
		_exit(3);
	struct rec_item it;
	make_item(&it, 3, "sr"); /* has a prompt: a few hundred bytes */
	rec_item_writer_add(w, &it, NULL);
	rec_item_writer_add(w, &it, NULL); /* first batch on disk */
	struct stat st;
	stat(path, &st);
	struct rlimit rl = { (rlim_t)st.st_size + 100, (rlim_t)st.st_size + 100 };
	setrlimit(RLIMIT_FSIZE, &rl);
	rec_item_writer_add(w, &it, NULL);
	int rc = rec_item_writer_add(w, &it, &err); /* second batch: past the limit */
	rec_item_release(&it);
	printf("# child: rc=%d msg=%s\n", rc, err.msg);
	fflush(stdout);
	_exit(rc == MRL_EWRITE && strstr(err.msg, "file size limit") && strstr(err.msg, "keeps the 2 item(s)") ? 0 : 1);
}

static void test_items_failed_flush(void)
{
	const char *path = tmp_path("limited.jsonl");
	struct mrl_err err = { 0 };
	struct rec_items got;
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0)
		limited_writer(path);
	int status = 0;
	waitpid(pid, &status, 0);
	ok(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	   "a flush past the file-size limit fails with MRL_EWRITE, naming the cause and what was kept");
	is_int(rec_items_read(path, &got, &err), 0, "the file still reads");
	ok(got.n == 2 && !got.truncated_tail, "it holds the first batch and no partial line (rolled back)");
	rec_items_release(&got);
}

static void test_items_rejects(void)
{
	const char *path = tmp_path("bad.jsonl");
	struct mrl_err err = { 0 };
	struct rec_items got;
	struct rec_item it;
	make_item(&it, 0, "sr");
	json_t *j = rec_item_to_json(&it);
	char *good = json_dumps(j, JSON_COMPACT);
	char text[8192];

	snprintf(text, sizeof text, "%s\n%s\n{\"schema_version\": 1, \"task\": \n%s\n", good, good, good);
	cli_write_file(path, text);
	is_int(rec_items_read(path, &got, &err), MRL_EINPUT, "a broken line in the middle is an error");
	like(err.msg, "bad.jsonl:3: column", "naming file and line");
	rec_items_release(&got);

	json_array_append_new(json_object_get(j, "choices"), json_pack("{s:f,s:f,s:i,s:i,s:b}", "loglik", -1.0,
								       "n_tokens", 2.5, "n_chars", 1, "n_bytes", 1,
								       "is_greedy", 0));
	char *bad = json_dumps(j, JSON_COMPACT);
	snprintf(text, sizeof text, "%s\n%s\n", good, bad);
	cli_write_file(path, text);
	is_int(rec_items_read(path, &got, &err), MRL_EINPUT, "a wrongly typed field is an error");
	like(err.msg, "bad.jsonl:2: /choices/2/n_tokens: expected an integer, got a real number",
	     "naming file, line and JSON path");
	rec_items_release(&got);
	free(bad);

	json_object_set_new(j, "schema_version", json_integer(2));
	bad = json_dumps(j, JSON_COMPACT);
	snprintf(text, sizeof text, "%s\n", bad);
	cli_write_file(path, text);
	is_int(rec_items_read(path, &got, &err), MRL_EUNSUPPORTED, "an unknown schema_version is refused");
	like(err.msg, "bad.jsonl:1: /schema_version: unsupported schema version 2", "naming file and line");
	rec_items_release(&got);
	free(bad);

	snprintf(text, sizeof text, "%s\n\n%s\n", good, good);
	cli_write_file(path, text);
	is_int(rec_items_read(path, &got, &err), MRL_EINPUT, "an empty line is an error");
	like(err.msg, "bad.jsonl:2: empty line", "naming the line");
	rec_items_release(&got);

	cli_write_file(path, "");
	is_int(rec_items_read(path, &got, &err), 0, "an empty file is zero items");
	ok(got.n == 0 && !got.truncated_tail, "and not truncated");
	rec_items_release(&got);

	/* invalid UTF-8 in generated text is repaired, not a failure */
	rec_item_add_metric(&it, "exact_match", -1, "cut \xC4", false, NAN);
	json_t *fixed = rec_item_to_json(&it);
	ok(fixed != NULL, "an item with invalid UTF-8 in pred_text serializes");
	char *s = json_dumps(fixed, JSON_COMPACT);
	like(s, "cut \xEF\xBF\xBD", "the bad byte becomes U+FFFD");
	free(s);
	json_decref(fixed);

	free(good);
	json_decref(j);
	rec_item_release(&it);
}

/* ------------------------------------------------------------ performance */

static void fill_perf(struct rec_results *r)
{
	struct rec_perf_task *t = rec_results_add_perf(r, "copa");
	struct rec_perf_lang *l = rec_perf_task_add_lang(t, "sr-Cyrl");
	l->n_items = 50;
	l->tokens_computed = 12345;
	l->tokens_cached = 678;
	l->score_s = 1.0 / 3.0;
	l->tokens_per_s = 12345 * 3.0;
	l->item_ms_mean = 0.1;
	l->item_ms_median = 5e-324;
	l->item_ms_p90 = 123456789.123456789;
	l = rec_perf_task_add_lang(t, "hr"); /* written by an older merilo: tokens unknown */
	l->n_items = 3;
	l->score_s = 0.5;
	t->all.n_items = 53;
	t->all.score_s = 0.8333;
	struct rec_perf_window *w = &t->window;
	w->present = true;
	w->n_items = 53;
	w->seconds = 2.5;
	rec_reading_set(&w->energy_j, "energy_j", "J", 0, "counter did not advance in 2.5 s (not fed by this machine: a VM?)");
	rec_reading_set(&w->energy_per_item_j, "energy_per_item_j", "J", 0, "counter did not advance");
	w->energy_source = strdup("perf-power-pmu energy-psys (platform)");
	rec_reading_set(&w->peak_rss, "peak_rss", "bytes", 123456789.0, NULL);
	w->peak_rss_since = strdup("task start");
	w->counters_status = strdup("papi 7.0.0.0; inherit on");
	rec_readings_add(&w->counters, &w->n_counters, "PAPI_TOT_CYC", "cycles", 0, "Component containing event is disabled");
	rec_readings_add(&w->counters, &w->n_counters, "perf::TASK-CLOCK", "ns", 1.5e9, NULL);
	rec_readings_add(&w->usage, &w->n_usage, "user_s", "s", 4.25, NULL);
	rec_readings_add(&w->usage, &w->n_usage, "minflt", "count", 0.0, NULL); /* a measured 0 stays 0 */
	struct rec_perf_task *t2 = rec_results_add_perf(r, "ppl");
	t2->window.absent_reason = strdup("no item of this task was scored in this session");
}

static int same_reading(const struct rec_reading *a, const struct rec_reading *b)
{
	return cli_same_str(a->name, b->name) && cli_same_str(a->unit, b->unit) && same_double(a->value, b->value) &&
	       cli_same_str(a->reason, b->reason);
}

static int same_lang(const struct rec_perf_lang *a, const struct rec_perf_lang *b)
{
	return cli_same_str(a->language, b->language) && a->n_items == b->n_items &&
	       a->tokens_computed == b->tokens_computed && a->tokens_cached == b->tokens_cached &&
	       same_double(a->score_s, b->score_s) && same_double(a->tokens_per_s, b->tokens_per_s) &&
	       same_double(a->item_ms_mean, b->item_ms_mean) && same_double(a->item_ms_median, b->item_ms_median) &&
	       same_double(a->item_ms_p90, b->item_ms_p90);
}

static void m_perf_null_no_reason(json_t *j)
{
	json_t *w = json_object_get(json_array_get(json_object_get(j, "performance"), 0), "window");
	json_object_set_new(json_object_get(w, "energy_j"), "null_reason", json_null());
}
static void m_perf_tps_string(json_t *j)
{
	json_t *l = json_array_get(json_object_get(json_array_get(json_object_get(j, "performance"), 0), "languages"), 1);
	json_object_set_new(l, "tokens_per_s", json_string("fast"));
}

static int read_mutated_perf(void (*mutate)(json_t *), struct mrl_err *err)
{
	struct rec_results r;
	fill_results(&r);
	fill_perf(&r);
	json_t *j = rec_results_to_json(&r);
	rec_results_release(&r);
	mutate(j);
	const char *path = tmp_path("badperf.json");
	json_dump_file(j, path, JSON_INDENT(1));
	json_decref(j);
	int rc = rec_results_read(path, &r, err);
	rec_results_release(&r);
	return rc;
}

static void test_perf_roundtrip(void)
{
	struct rec_results a, b, c;
	struct mrl_err err = { 0 };
	const char *path = tmp_path("perf.json");
	fill_results(&a);
	fill_perf(&a);
	is_int(rec_results_write(path, &a, &err), 0, "results.json with performance written");
	int rc = rec_results_read(path, &b, &err);
	is_int(rc, 0, "results.json with performance read back");
	if (rc)
		diag("%s", err.msg);
	ok(b.n_perf == 2 && b.perf[0].n_langs == 2 && cli_same_str(b.perf[0].task, "copa") && cli_same_str(b.perf[1].task, "ppl"),
	   "performance: two tasks, two languages");
	if (b.n_perf == 2 && b.perf[0].n_langs == 2) {
		const struct rec_perf_task *x = &a.perf[0], *y = &b.perf[0];
		ok(same_lang(&x->langs[0], &y->langs[0]) && same_lang(&x->all, &y->all),
		   "per-language figures round-trip, doubles exact");
		ok(same_lang(&x->langs[1], &y->langs[1]) && y->langs[1].tokens_computed == -1 && isnan(y->langs[1].tokens_per_s),
		   "unknown token counts and throughput stay null");
		const struct rec_perf_window *wx = &x->window, *wy = &y->window;
		ok(wy->present && wx->n_items == wy->n_items && same_double(wx->seconds, wy->seconds) &&
		   cli_same_str(wx->energy_source, wy->energy_source) && cli_same_str(wx->peak_rss_since, wy->peak_rss_since) &&
		   cli_same_str(wx->counters_status, wy->counters_status), "window scalars round-trip");
		ok(same_reading(&wx->energy_j, &wy->energy_j) && isnan(wy->energy_j.value) && wy->energy_j.reason &&
		   same_reading(&wx->energy_per_item_j, &wy->energy_per_item_j) && same_reading(&wx->peak_rss, &wy->peak_rss),
		   "energy null with its reason, peak RSS valid: round-trip");
		int same_lists = wx->n_counters == wy->n_counters && wx->n_usage == wy->n_usage;
		for (size_t i = 0; same_lists && i < wx->n_counters; i++)
			same_lists &= same_reading(&wx->counters[i], &wy->counters[i]);
		for (size_t i = 0; same_lists && i < wx->n_usage; i++)
			same_lists &= same_reading(&wx->usage[i], &wy->usage[i]);
		ok(same_lists, "counters (null with reason, valid) and usage (a measured 0 stays 0) round-trip");
		ok(!b.perf[1].window.present && cli_same_str(b.perf[1].window.absent_reason, a.perf[1].window.absent_reason),
		   "a task without a window: null with the reason");
	}
	/* an older results.json (no "performance") reads, with no performance */
	rec_results_release(&a);
	fill_results(&a);
	rec_results_write(path, &a, &err);
	rc = rec_results_read(path, &c, &err);
	ok(rc == 0 && c.n_perf == 0 && c.n_aggregates == a.n_aggregates, "results.json without performance still reads");
	rec_results_release(&a);
	rec_results_release(&b);
	rec_results_release(&c);

	rc = read_mutated_perf(m_perf_null_no_reason, &err);
	is_int(rc, MRL_EINPUT, "a null reading without a reason is refused");
	like(err.msg, "/performance/0/window/energy_j", "the message names the reading");
	rc = read_mutated_perf(m_perf_tps_string, &err);
	is_int(rc, MRL_EINPUT, "a string where tokens/s belongs is refused");
	like(err.msg, "/performance/0/languages/1", "the message names the language entry");
}

/* --------------------------------------------------------------- logprobs */

static void test_logprobs_roundtrip(void)
{
	const char *path = tmp_path("lp.jsonl");
	struct mrl_err err = { 0 };
	struct rec_item it;
	make_item(&it, 2, "sr"); /* 4 choices of 3, 4, 5, 6 tokens */
	const int32_t toks[6] = { 5, 31999, 0, 7, 7, 2147483647 };
	const double lp[6] = { -0.1, -1.0 / 3.0, -INFINITY, -5e-324, -0.0, -12.5 };
	int32_t top_id[6 * 3];
	double top_lp[6 * 3];
	for (int i = 0; i < 18; i++) {
		top_id[i] = 100 + i;
		top_lp[i] = -tricky[i % 10] - i;
	}
	int rc = rec_item_set_logprobs(&it, 0, toks, lp, 3, 3, top_id, top_lp);
	rc |= rec_item_set_logprobs(&it, 1, toks, lp, 4, 0, NULL, NULL);
	rc |= rec_item_set_logprobs(&it, 3, toks, lp, 6, 3, top_id, top_lp);
	is_int(rc, 0, "logprobs set on choices 0 (top-3), 1 (no top-K) and 3, not on 2");
	is_int(rec_item_set_logprobs(&it, 4, toks, lp, 3, 0, NULL, NULL), MRL_EINPUT, "a choice out of range is refused");
	it.tokens_computed = 77;
	it.tokens_cached = 0;
	struct rec_item_writer *w = NULL;
	struct rec_item_writer_opts opts = { .truncate = true };
	rec_item_writer_open(path, &opts, &w, NULL, &err);
	rec_item_writer_add(w, &it, &err);
	struct rec_item plain;
	make_item(&plain, 5, "en");
	rec_item_writer_add(w, &plain, &err);
	is_int(rec_item_writer_close(w, &err), 0, "items with and without logprobs written");
	struct rec_items got;
	rc = rec_items_read(path, &got, &err);
	is_int(rc, 0, "read back");
	if (rc)
		diag("%s", err.msg);
	if (got.n == 2) {
		const struct rec_item *g = &got.items[0];
		ok(same_item(&it, g) && g->tokens_computed == 77 && g->tokens_cached == 0, "the item and its token counts round-trip");
		int same = 1;
		for (size_t c = 0; c < 4; c++) {
			const struct rec_token_logprobs *x = rec_item_logprobs(&it, c), *y = rec_item_logprobs(g, c);
			if (!x || !y) {
				same &= x == y;
				continue;
			}
			same &= x->n == y->n && x->k == y->k && !memcmp(x->tokens, y->tokens, x->n * sizeof *x->tokens);
			for (size_t i = 0; i < x->n; i++)
				same &= same_double(x->logprob[i], y->logprob[i]);
			for (size_t i = 0; i < x->n * x->k; i++)
				same &= x->top_id[i] == y->top_id[i] && same_double(x->top_logprob[i], y->top_logprob[i]);
		}
		ok(same, "logprobs round-trip exactly (-inf, -0.0, subnormal, id 2^31-1, top-K rows)");
		ok(rec_item_logprobs(g, 2) == NULL && rec_item_logprobs(g, 1) && rec_item_logprobs(g, 1)->k == 0 &&
		   rec_item_logprobs(g, 9) == NULL, "an unset choice reads as none; k 0 has no top-K; out of range is NULL");
		ok(got.items[1].logprobs == NULL && got.items[1].tokens_computed == -1,
		   "a record without the fields (an older run) has no logprobs and unknown token counts");
	}
	rec_items_release(&got);

	/* malformed logprobs name the line and the field */
	json_t *j = rec_item_to_json(&it);
	struct {
		const char *name, *expect;
		int kind;
	} cases[] = {
		{ "a top-K row with the wrong number of pairs", "/logprobs/0/topk/1", 0 },
		{ "tokens and logprob of different lengths", "/logprobs/3", 1 },
		{ "more tokens than the choice's n_tokens", "/logprobs/1", 2 },
		{ "a hostile k (rows do not hold it) is refused before allocating", "/logprobs/0/topk/0", 3 },
		{ "a negative token id", "/logprobs/0/tokens/1", 4 },
		{ "fewer entries than choices", "/logprobs", 5 },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		json_t *m = json_deep_copy(j), *a = json_object_get(m, "logprobs");
		json_t *e0 = json_array_get(a, 0);
		switch (cases[i].kind) {
		case 0: json_array_remove(json_array_get(json_object_get(e0, "topk"), 1), 0); break;
		case 1: json_array_remove(json_object_get(json_array_get(a, 3), "logprob"), 0); break;
		case 2:
			json_array_append_new(json_object_get(json_array_get(a, 1), "tokens"), json_integer(1));
			json_array_append_new(json_object_get(json_array_get(a, 1), "logprob"), json_real(-1));
			break;
		case 3: json_object_set_new(e0, "k", json_integer(1000000)); break;
		case 4: json_array_set_new(json_object_get(e0, "tokens"), 1, json_integer(-3)); break;
		case 5: json_array_remove(a, 3); break;
		}
		struct rec_item out;
		rc = rec_item_from_json(m, &out, "items.jsonl:1", &err);
		ok(rc == MRL_EINPUT && strstr(err.msg, cases[i].expect) && strstr(err.msg, "items.jsonl:1"), cases[i].name);
		if (rc != MRL_EINPUT || !strstr(err.msg, cases[i].expect))
			diag("rc %d: %s", rc, err.msg);
		rec_item_release(&out);
		json_decref(m);
	}
	json_decref(j);
	rec_item_release(&it);
	rec_item_release(&plain);
}

int main(void)
{
	if (!cli_tmpdir(dir, sizeof dir, "results")) {
		ok(0, "mkdtemp");
		return done_testing();
	}
	test_results_roundtrip();
	test_results_rejects();
	test_results_take();
	test_items_roundtrip();
	test_items_timed_flush();
	test_items_killed_and_truncated();
	test_items_failed_flush();
	test_items_rejects();
	test_perf_roundtrip();
	test_logprobs_roundtrip();
	cli_rmtree(dir);
	return done_testing();
}
