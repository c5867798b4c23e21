/* hrn_sample.c — `merilo run --sample N`: N items of each task drawn with the seed,
 * stratified by the task's breakdown (harness/sample.h, docs/evaluation.md "Sampling
 * items").
 *
 * The draw is checked against ci/make-sample-reference.py, which computes it in Python
 * from the documented rules alone (tests/data/sample/expected.json), for ten (N, seed)
 * pairs on a suite with a five-valued breakdown and a task without one; then its
 * properties (one item per value where N allows, proportions, the seed's effect, the
 * same items whatever tasks are run). End to end with a tiny random-weight model: the
 * run scores exactly the drawn items, each record equal to the full run's; settings
 * and run.json record the sample; --resume, --limit, compare, the leaderboard and
 * shards with merge treat it as a setting that changes scores.
 * The CLI part runs the binary named by $MERILO (set by `make test`). */
#include "tests/tap.h"
#include "tests/cli.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "harness/sample.h"
#include "tasks/task.h"

#define SUITE "tests/data/sample/suite.json"

static char tmp[256];
static char name_buf[512];
#define NAME(...) (snprintf(name_buf, sizeof name_buf, __VA_ARGS__), name_buf)
#define N(n_items) ((struct hrn_sample_spec){ .n = (n_items) })

static struct task_suite *suite;
static const struct task_task *tasks[2];

/* The ids of task k's items in s, comma-joined in suite order, into buf. */
static const char *drawn(const struct hrn_sample *s, size_t k, char *buf, size_t size)
{
	size_t len = 0;
	buf[0] = 0;
	for (size_t i = 0; i < task_n_items(tasks[k]); i++)
		if (hrn_sample_has(s, k, i))
			len += (size_t)snprintf(buf + len, len < size ? size - len : 0, "%s%s", len ? "," : "",
						task_item_id(task_item_at(tasks[k], i)));
	return buf;
}

static const char *joined(const json_t *ids, char *buf, size_t size)
{
	size_t len = 0, i;
	json_t *v;
	buf[0] = 0;
	json_array_foreach(ids, i, v)
		len += (size_t)snprintf(buf + len, len < size ? size - len : 0, "%s%s", i ? "," : "", json_string_value(v));
	return buf;
}

/* Every (N, seed) of the oracle draws the same items. */
static void test_oracle(void)
{
	json_t *cases = json_load_file("tests/data/sample/expected.json", 0, NULL);
	if (!ok(json_array_size(cases) >= 10, "the oracle's cases read"))
		return;
	size_t c;
	json_t *e;
	size_t n_pct = 0;
	json_array_foreach(cases, c, e) {
		const struct hrn_sample_spec spec = { .n = (uint64_t)json_integer_value(json_object_get(e, "n")),
						      .pct = (unsigned)json_integer_value(json_object_get(e, "percent")) };
		const uint64_t seed = (uint64_t)json_integer_value(json_object_get(e, "seed"));
		struct hrn_sample s;
		struct mrl_err err = { 0 };
		char sp[32];
		n_pct += spec.pct > 0;
		if (!ok(hrn_sample_plan(tasks, 2, spec, seed, &s, &err) == 0,
			NAME("--sample %s --seed %llu is drawn", hrn_sample_str(spec, sp, sizeof sp), (unsigned long long)seed)))
			continue;
		for (size_t k = 0; k < 2; k++) {
			char got[2048], want[2048];
			is_str(drawn(&s, k, got, sizeof got),
			       joined(json_object_get(json_object_get(e, "tasks"), task_id(tasks[k])), want, sizeof want),
			       NAME("--sample %s --seed %llu: task %s's items are the oracle's", sp, (unsigned long long)seed,
				    task_id(tasks[k])));
		}
		hrn_sample_release(&s);
	}
	is_int((long long)n_pct, 5, "five of the cases are percentages");
	json_decref(cases);
}

/* --sample's argument, a percentage's size and settings.sample. */
static void test_spec(void)
{
	static const char *const good[] = { "7", "1", "2147483647", "10%", "1%", "99%" };
	static const char *const bad[] = { "0", "0%", "100%", "10.5%", "%", "7x", "", "-3", " 7", "+7", "2147483648", "10%%" };
	struct hrn_sample_spec sp;
	char buf[32];
	for (size_t i = 0; i < sizeof good / sizeof *good; i++)
		ok(!hrn_sample_parse(good[i], &sp) && !strcmp(hrn_sample_str(sp, buf, sizeof buf), good[i]),
		   NAME("'%s' is read and written back", good[i]));
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		ok(hrn_sample_parse(bad[i], &sp) == -1, NAME("'%s' is refused", bad[i]));
	static const struct { unsigned pct; size_t items; uint64_t want; } sizes[] = {
		{ 10, 34, 3 }, { 50, 23, 12 }, { 50, 34, 17 }, { 1, 34, 1 }, { 1, 149, 1 }, { 1, 150, 2 }, { 99, 23, 23 },
		{ 10, 14042, 1404 }, { 15, 10, 2 }, { 25, 2, 1 }, { 1, 0, 1 },
	};
	for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++)
		is_int((long long)hrn_sample_size((struct hrn_sample_spec){ .pct = sizes[i].pct }, sizes[i].items),
		       (long long)sizes[i].want,
		       NAME("%u%% of %zu items is %llu (half up, at least 1)", sizes[i].pct, sizes[i].items,
			    (unsigned long long)sizes[i].want));
	is_int((long long)hrn_sample_size((struct hrn_sample_spec){ .n = 40 }, 34), 34, "N above a task's items: all of them");
	uint64_t seed;
	json_t *j = json_object(), *s = hrn_sample_json((struct hrn_sample_spec){ .pct = 10 }, 90);
	char *text = json_dumps(s, JSON_COMPACT | JSON_SORT_KEYS);
	is_str(text, "{\"percent\":10,\"seed\":90}", "settings.sample of 10%");
	free(text);
	json_object_set_new(j, "sample", s);
	ok(hrn_sample_from_json(j, &sp, &seed) == 1 && sp.pct == 10 && !sp.n && seed == 90, "... read back");
	json_object_set_new(j, "sample", json_pack("{s:i, s:i, s:i}", "n", 7, "percent", 10, "seed", 1));
	is_int(hrn_sample_from_json(j, &sp, &seed), -1, "both n and percent: malformed");
	json_object_set_new(j, "sample", json_pack("{s:i, s:i}", "percent", 100, "seed", 1));
	is_int(hrn_sample_from_json(j, &sp, &seed), -1, "percent 100: malformed");
	json_decref(j);
}

/* The items of s in task 0 per breakdown value, in byte order of the values. */
static void per_value(const struct hrn_sample *s, size_t *in, size_t *all)
{
	static const char *const values[5] = { "astronomija", "biologija", "fizika", "hemija", "zoologija" };
	for (size_t v = 0; v < 5; v++)
		in[v] = all[v] = 0;
	for (size_t i = 0; i < task_n_items(tasks[0]); i++) {
		const struct task_item *it = task_item_at(tasks[0], i);
		const char *x = task_breakdown_value(tasks[0], it, "sr-Latn");
		for (size_t v = 0; v < 5; v++)
			if (x && !strcmp(x, values[v])) {
				all[v]++;
				in[v] += hrn_sample_has(s, 0, i);
			}
	}
}

static void test_properties(void)
{
	struct hrn_sample s, t;
	struct mrl_err err = { 0 };
	size_t in[5], all[5];
	/* 34 items: astronomija 1, biologija 9, fizika 5, hemija 5, zoologija 14 */
	if (!ok(hrn_sample_plan(tasks, 2, N(12), 1234, &s, &err) == 0, "--sample 12 is drawn"))
		return;
	is_int((long long)s.n_in[0], 12, "12 of the 34 items of the task with a breakdown");
	is_int((long long)s.n_in[1], 12, "12 of the 23 items of the task without one");
	per_value(&s, in, all);
	is_int((long long)all[4], 14, "the suite as described: zoologija has 14 items");
	ok(in[0] == 1 && in[1] == 3 && in[2] == 2 && in[3] == 2 && in[4] == 4,
	   "one per value, then 7 more in proportion to 0/8/4/4/13: 1+0, 1+2, 1+1, 1+1, 1+3 (largest remainder)");
	is_int((long long)s.n_values_in[0], 5, "all five values have items in the sample");
	hrn_sample_release(&s);

	ok(hrn_sample_plan(tasks, 2, N(3), 1234, &s, &err) == 0, "--sample 3, fewer than the values");
	per_value(&s, in, all);
	ok(in[4] == 1 && in[1] == 1 && in[2] == 1 && in[0] + in[3] == 0,
	   "3 in proportion to 1/9/5/5/14: zoologija, biologija, and fizika, tied with hemija and first in byte order");
	is_int((long long)s.n_values_in[0], 3, "three of the five values have items: the note says so");
	hrn_sample_release(&s);

	ok(hrn_sample_plan(tasks, 2, N(40), 1, &s, &err) == 0, "--sample 40, more than the items");
	ok(s.n_in[0] == 34 && s.n_in[1] == 23, "a task of at most N items is taken whole");
	hrn_sample_release(&s);

	ok(hrn_sample_plan(tasks, 2, N(12), 1234, &s, &err) == 0 && hrn_sample_plan(tasks, 2, N(12), 1235, &t, &err) == 0,
	   "the same N under two seeds");
	char a[2048], b[2048];
	ok(strcmp(drawn(&s, 0, a, sizeof a), drawn(&t, 0, b, sizeof b)) != 0, "another seed draws other items");
	hrn_sample_release(&t);
	/* a run of one task draws that task's items as a run of both does */
	const struct task_task *only[1] = { tasks[1] };
	ok(hrn_sample_plan(only, 1, N(12), 1234, &t, &err) == 0, "the second task alone");
	drawn(&s, 1, a, sizeof a);
	const struct task_task *keep = tasks[0];
	tasks[0] = tasks[1]; /* drawn() reads tasks[k] */
	is_str(drawn(&t, 0, b, sizeof b), a, "a task's sample does not depend on the other tasks of the run");
	tasks[0] = keep;
	hrn_sample_release(&t);
	hrn_sample_release(&s);
}

static void test_info(void)
{
	if (!cli_merilo()) {
		test_skip("MERILO does not name the merilo binary (run through make test)");
		return;
	}
	char *out = NULL;
	is_int(cli_run(&out, "info " SUITE), 0, "info of the suite");
	like(out, "scores also by: oblast (5 values: astronomija 1, biologija 9, fizika 5, hemija 5, zoologija 14)",
	     "the values in byte order with their items (b21, without English, counted by sr-Latn's)");
	free(out);
	cli_run(&out, "info " SUITE " --json");
	json_t *j = out ? json_loads(out, 0, NULL) : NULL;
	const json_t *c = json_object_get(json_array_get(json_object_get(j, "tasks"), 0), "breakdown_items");
	ok(json_object_size(c) == 5 && json_integer_value(json_object_get(c, "zoologija")) == 14,
	   "--json: breakdown_items {value: items}");
	ok(json_is_null(json_object_get(json_array_get(json_object_get(j, "tasks"), 1), "breakdown_items")),
	   "null for a task without a breakdown");
	json_decref(j);
	free(out);
}

/* dir's items.jsonl as an object "task/item/language" -> the record without its timings and
 * work counters (they depend on what the previous unit left in the KV cache). */
static json_t *records(const char *dir)
{
	char path[600];
	snprintf(path, sizeof path, "%s/%s/items.jsonl", tmp, dir);
	char *text = cli_slurp(path), *save = NULL;
	json_t *all = json_object();
	for (char *l = text ? strtok_r(text, "\n", &save) : NULL; l; l = strtok_r(NULL, "\n", &save)) {
		json_t *j = json_loads(l, 0, NULL);
		json_object_del(j, "timings_ns");
		json_object_del(j, "tokens_computed");
		json_object_del(j, "tokens_cached");
		char key[256];
		snprintf(key, sizeof key, "%s/%s/%s", json_string_value(json_object_get(j, "task")),
			 json_string_value(json_object_get(j, "item")), json_string_value(json_object_get(j, "language")));
		json_object_set_new(all, key, j ? j : json_null());
	}
	free(text);
	return all;
}

#define RUN "run --model %s/m.gguf --suite " SUITE " --boot 50 --quiet --threads 1"

static void test_run(void)
{
	json_t *full = records("full"), *samp = records("s7");
	is_int((long long)json_object_size(full), 34 * 3 - 1 + 23 * 2, "the full run has every unit (item 3 has no English)");
	/* 7 items per task: by_field in en (6: b21, drawn under seed 90, has no English), sr-Latn, sr-Cyrl; plain in en, hr */
	is_int((long long)json_object_size(samp), 6 + 7 + 7 + 7 + 7, "the sampled run has the drawn items' units");
	json_t *cases = json_load_file("tests/data/sample/expected.json", 0, NULL), *e, *want = NULL;
	size_t c;
	json_array_foreach(cases, c, e)
		if (json_integer_value(json_object_get(e, "n")) == 7 && json_integer_value(json_object_get(e, "seed")) == 90)
			want = json_object_get(e, "tasks");
	size_t n_in = 0, n_equal = 0;
	const char *key;
	json_t *r;
	json_object_foreach(samp, key, r) {
		const char *task = json_string_value(json_object_get(r, "task")), *item = json_string_value(json_object_get(r, "item"));
		size_t i;
		json_t *id;
		json_array_foreach(json_object_get(want, task), i, id)
			n_in += !strcmp(json_string_value(id), item);
		n_equal += json_equal(r, json_object_get(full, key));
	}
	is_int((long long)n_in, (long long)json_object_size(samp), "every record is of an item the oracle drew (n 7, seed 90)");
	is_int((long long)n_equal, (long long)json_object_size(samp), "every record equals the full run's record of that unit");
	/* each record of the breakdown task names its item's value, a derived language its source's */
	size_t n_bf = 0, n_named = 0;
	json_object_foreach(full, key, r) {
		if (strcmp(json_string_value(json_object_get(r, "task")), "by_field"))
			continue;
		char latin[256];
		snprintf(latin, sizeof latin, "by_field/%s/sr-Latn", json_string_value(json_object_get(r, "item")));
		const char *v = json_string_value(json_object_get(r, "breakdown"));
		n_bf++;
		n_named += v && json_equal(json_object_get(r, "breakdown"), json_object_get(json_object_get(full, latin), "breakdown"));
	}
	is_int((long long)n_named, (long long)n_bf, "every by_field record has its item's \"breakdown\" value, sr-Cyrl sr-Latn's");
	json_decref(cases);
	json_decref(full);
	json_decref(samp);

	char path[600], *out = NULL;
	snprintf(path, sizeof path, "%s/s7/results.json", tmp);
	json_t *res = json_load_file(path, 0, NULL), *sm = json_object_get(json_object_get(res, "settings"), "sample");
	ok(json_integer_value(json_object_get(sm, "n")) == 7 && json_integer_value(json_object_get(sm, "seed")) == 90,
	   "results.json settings.sample is {n: 7, seed: 90}");
	json_decref(res);
	snprintf(path, sizeof path, "%s/s7/run.json", tmp);
	json_t *rj = json_load_file(path, 0, NULL);
	is_int(json_integer_value(json_object_get(json_object_get(rj, "options"), "sample")), 7, "run.json options.sample");
	json_decref(rj);

	/* --lang draws the same items: the sampled en-only run's records are the en records above */
	is_int(cli_run(NULL, RUN " --sample 7 --seed 90 --lang en --out %s/s7en", tmp, tmp), 0, "--sample 7 --lang en ran");
	json_t *en = records("s7en");
	samp = records("s7");
	size_t n_same = 0;
	json_object_foreach(en, key, r)
		n_same += json_equal(r, json_object_get(samp, key));
	is_int((long long)json_object_size(en), 13, "13 English units (6 + 7)");
	is_int((long long)n_same, 13, "each the same as the all-language sample's: the draw ignores --lang");
	json_decref(en);
	json_decref(samp);

	CLI_EXPECT(2, "--limit and --sample exclude each other", "--limit with --sample: usage error",
		   RUN " --sample 7 --limit 3 --out %s/bad", tmp, tmp);
	CLI_EXPECT(2, "--sample 8 differs from the resumed run's 7", "--resume refuses another --sample",
		   "run --resume %s/s7 --sample 8", tmp);
	CLI_EXPECT(2, "--sample 7 differs from the resumed run's (not given)", "--resume of a full run refuses --sample",
		   "run --resume %s/full --sample 7", tmp);
	/* a run.json whose options.sample is not a count is refused, not read as "every item" */
	is_int(cli_sh(NULL, "cp -r %s/s7 %s/s7bad", tmp, tmp), 0, "a copy of the sampled run");
	snprintf(path, sizeof path, "%s/s7bad/run.json", tmp);
	rj = json_load_file(path, 0, NULL);
	json_object_set_new(json_object_get(rj, "options"), "sample", json_string("seven"));
	ok(rj && !json_dump_file(rj, path, JSON_INDENT(2)), "its options.sample made a string");
	json_decref(rj);
	CLI_EXPECT(3, "options.sample is not a count of items", "--resume of a run.json with a bad options.sample",
		   "run --resume %s/s7bad", tmp);
	/* a record of an item outside the sample, appended, is named as such and set aside by --resume */
	is_int(cli_sh(NULL, "cp -r %s/s7 %s/s7foreign", tmp, tmp), 0, "another copy of the sampled run");
	json_t *f = records("full"), *in7 = records("s7");
	const char *fkey;
	json_t *fr, *foreign = NULL;
	json_object_foreach(f, fkey, fr) {
		char k7[256];
		snprintf(k7, sizeof k7, "%s/%s/sr-Latn", json_string_value(json_object_get(fr, "task")),
			 json_string_value(json_object_get(fr, "item")));
		if (!foreign && !json_object_get(in7, k7))
			foreign = fr;
	}
	char *line = foreign ? json_dumps(foreign, JSON_COMPACT) : NULL;
	snprintf(path, sizeof path, "%s/s7foreign/items.jsonl", tmp);
	FILE *fp = line ? fopen(path, "a") : NULL;
	ok(fp && fprintf(fp, "%s\n", line) > 0 && fclose(fp) == 0, "a full run's record of an item not drawn, appended");
	char want_msg[256];
	snprintf(want_msg, sizeof want_msg, "item '%s' of task '%s' is not in this run's --sample 7 (seed 90); left out",
		 foreign ? json_string_value(json_object_get(foreign, "item")) : "?",
		 foreign ? json_string_value(json_object_get(foreign, "task")) : "?");
	cli_run(&out, "run --resume %s/s7foreign --quiet", tmp);
	like(out, want_msg, "--resume names the record as outside the sample and sets it aside");
	free(out);
	free(line);
	json_decref(f);
	json_decref(in7);
	is_int(cli_run(&out, RUN " --sample 2 --seed 90 --out %s/s2", tmp, tmp), 0, "--sample 2 ran");
	free(out);
	is_int(cli_run(&out, "run --model %s/m.gguf --suite " SUITE " --boot 50 --threads 1 --sample 2 --seed 90 --out %s/s2n",
		       tmp, tmp), 0, "--sample 2 ran, not quiet");
	like(out, "--sample 2 takes 2 of task 'by_field''s 34 items, fewer than its 5 \"oblast\" values",
	     "a note where the sample misses some of the breakdown's values");
	like(out, "(2 tasks; --sample 2 items of each, seed 90)", "the run's first line names the sample");
	free(out);
}

static void test_compare(void)
{
	char *out = NULL;
	is_int(cli_run(&out, "compare %s/full %s/s7", tmp, tmp), 3, "compare full vs sampled: not comparable (exit 3)");
	like(out, "sample", "names the setting that differs");
	like(out, "7 (seed 90)", "with the sampled run's value");
	free(out);
	is_int(cli_run(&out, "compare %s/full %s/s7 --allow-different sample", tmp, tmp), 3,
	       "--allow-different sample alone: still not comparable, the candidate lacks items");
	like(out, "the runs differ in items", "which it says");
	free(out);
	is_int(cli_run(&out, "compare %s/s7 %s/full --allow-different sample", tmp, tmp), 0,
	       "sampled base, full candidate, --allow-different sample: compared on the sample (exit 0)");
	like(out, "by_field       sr-Latn  acc            7 ", "paired on the sample's 7 items");
	free(out);
	/* the use: two checkpoints on the same sample */
	is_int(cli_run(NULL, "synth --arch llama " CLI_SYNTH_SMALL " --dtype f16 --seed 2 -o %s/m2.gguf", tmp), 0,
	       "a second model");
	is_int(cli_run(NULL, "run --model %s/m2.gguf --suite " SUITE " --boot 50 --quiet --threads 1 --sample 7 "
		       "--seed 90 --out %s/m2s7", tmp, tmp), 0, "the same sample on it");
	cli_run(&out, "compare %s/s7 %s/m2s7", tmp, tmp); /* 7 pairs: the gate may be undetermined, exit 3 */
	ok(out && strstr(out, "gate:") && !strstr(out, "not comparable"), "two models on the same sample are comparable");
	ok(out && !strstr(out, "the runs differ in"), "no setting is noted as different");
	free(out);
	is_int(cli_run(&out, "compare %s/s7 %s/s7en", tmp, tmp), 3, "the same sample in fewer languages: not comparable");
	free(out);
	is_int(cli_run(&out, "leaderboard %s/full %s/s7 %s/s2 --format md -o %s/lb.md", tmp, tmp, tmp, tmp), 0,
	       "a leaderboard of the full and two sampled runs");
	free(out);
	char path[600];
	snprintf(path, sizeof path, "%s/lb.md", tmp);
	char *md = cli_slurp(path);
	like(md, "--sample 7 (seed 90)", "the sampled run's group names its sample");
	like(md, "--sample 2 (seed 90)", "another sample is another group");
	like(md, "all items", "the full run is a group of its own");
	free(md);
	is_int(cli_run(&out, "report %s/s7 %s/full -o %s/rep", tmp, tmp, tmp), 0, "a report of the sampled and the full run");
	free(out);
	snprintf(path, sizeof path, "%s/rep/report.md", tmp);
	md = cli_slurp(path);
	like(md, "| sample-test (sample of 7 items (seed 90)) |", "its runs table says which items the sampled run has");
	free(md);
}

static void test_shards(void)
{
	char *out = NULL;
	for (int i = 1; i <= 3; i++)
		is_int(cli_run(NULL, RUN " --sample 7 --seed 90 --shard %d/3 --out %s/sh%d", tmp, i, tmp, i), 0,
		       NAME("sampled shard %d/3 ran", i));
	is_int(cli_run(&out, "merge %s/sh1 %s/sh2 %s/sh3 -o %s/merged --quiet", tmp, tmp, tmp, tmp), 0,
	       "the shards merge: each drew the same sample");
	free(out);
	json_t *m = records("merged"), *s = records("s7");
	ok(json_equal(m, s), "the merged records equal the unsharded sampled run's");
	json_decref(m);
	json_decref(s);
	is_int(cli_run(NULL, RUN " --sample 8 --seed 90 --shard 2/3 --out %s/sh2x", tmp, tmp), 0, "a shard of another sample");
	is_int(cli_run(&out, "merge %s/sh1 %s/sh2x %s/sh3 -o %s/merged2 --quiet", tmp, tmp, tmp, tmp), 3,
	       "merge refuses shards of different samples");
	like(out, "sample", "naming the setting");
	free(out);
}

/* --sample 10%: the oracle's items, run.json and settings, --resume, compare, the
 * leaderboard, the report, shards. */
static void test_percent(void)
{
	char *out = NULL, path[600];
	is_int(cli_run(&out, "run --model %s/m.gguf --suite " SUITE " --boot 50 --threads 1 --sample 10%% --seed 90 "
		       "--out %s/p10", tmp, tmp), 0, "--sample 10% --seed 90 ran");
	like(out, "(2 tasks; --sample 10% of each task's items, seed 90)", "the run's first line names the sample");
	free(out);
	json_t *full = records("full"), *samp = records("p10");
	json_t *cases = json_load_file("tests/data/sample/expected.json", 0, NULL), *e, *want = NULL, *r;
	size_t c, n_in = 0, n_equal = 0;
	json_array_foreach(cases, c, e)
		if (json_integer_value(json_object_get(e, "percent")) == 10 && json_integer_value(json_object_get(e, "seed")) == 90)
			want = json_object_get(e, "tasks");
	const char *key;
	json_object_foreach(samp, key, r) {
		size_t i;
		json_t *id;
		json_array_foreach(json_object_get(want, json_string_value(json_object_get(r, "task"))), i, id)
			n_in += !strcmp(json_string_value(id), json_string_value(json_object_get(r, "item")));
		n_equal += json_equal(r, json_object_get(full, key));
	}
	/* 10% of 34 is 3 (b00, b03, b05: en, sr-Latn, sr-Cyrl), 10% of 23 is 2 (en, hr) */
	is_int((long long)json_object_size(samp), 3 * 3 + 2 * 2, "3 + 2 items' units");
	is_int((long long)n_in, (long long)json_object_size(samp), "every record is of an item the oracle drew (10%, seed 90)");
	is_int((long long)n_equal, (long long)json_object_size(samp), "every record equals the full run's record of that unit");
	json_decref(cases);
	json_decref(full);
	json_decref(samp);
	snprintf(path, sizeof path, "%s/p10/results.json", tmp);
	json_t *res = json_load_file(path, 0, NULL), *sm = json_object_get(json_object_get(res, "settings"), "sample");
	ok(json_integer_value(json_object_get(sm, "percent")) == 10 && !json_object_get(sm, "n") &&
	   json_integer_value(json_object_get(sm, "seed")) == 90, "results.json settings.sample is {percent: 10, seed: 90}");
	json_decref(res);
	snprintf(path, sizeof path, "%s/p10/run.json", tmp);
	json_t *rj = json_load_file(path, 0, NULL);
	is_str(json_string_value(json_object_get(json_object_get(rj, "options"), "sample")), "10%", "run.json options.sample \"10%\"");
	json_decref(rj);
	is_int(cli_run(NULL, "run --resume %s/p10 --quiet", tmp), 0, "--resume of the 10% run: its sample restored, done");
	samp = records("p10");
	is_int((long long)json_object_size(samp), 13, "... nothing more scored");
	json_decref(samp);
	CLI_EXPECT(2, "--sample 7 differs from the resumed run's 10%", "--resume of a 10% run refuses a count",
		   "run --resume %s/p10 --sample 7", tmp);
	CLI_EXPECT(2, "--sample 10% differs from the resumed run's 7", "--resume of a run of 7 refuses a percentage",
		   "run --resume %s/s7 --sample 10%%", tmp);
	CLI_EXPECT(2, "--sample wants a count of items (7) or a whole percentage", "--sample 100%: usage error",
		   RUN " --sample 100%% --out %s/bad", tmp, tmp);
	CLI_EXPECT(2, "--limit takes a count of items (each task's first N), not a share ('0.1'); to draw 10% of each "
		      "task's items, --sample 10%", "--limit 0.1 (lm-eval's share): refused with the --sample to use",
		   RUN " --limit 0.1 --out %s/bad", tmp, tmp);
	CLI_EXPECT(2, "not a share ('25%'); to draw 25% of each task's items, --sample 25%", "... as is --limit 25%",
		   RUN " --limit 25%% --out %s/bad", tmp, tmp);
	CLI_EXPECT(2, "--limit wants a count of items, 0 to 2147483647, not '1.5'", "--limit 1.5: not a count",
		   RUN " --limit 1.5 --out %s/bad", tmp, tmp);
	is_int(cli_run(&out, "compare %s/s7 %s/p10", tmp, tmp), 3, "compare a sample of 7 and one of 10%: not comparable");
	like(out, "10% (seed 90)", "naming the percentage");
	free(out);
	is_int(cli_run(NULL, "leaderboard %s/s7 %s/p10 --format md -o %s/lbp.md", tmp, tmp, tmp), 0, "a leaderboard of both");
	snprintf(path, sizeof path, "%s/lbp.md", tmp);
	char *md = cli_slurp(path);
	like(md, "--sample 10% (seed 90)", "the 10% run's group names its sample");
	free(md);
	is_int(cli_run(NULL, "report %s/p10 -o %s/repp", tmp, tmp), 0, "a report of the 10% run");
	snprintf(path, sizeof path, "%s/repp/report.md", tmp);
	md = cli_slurp(path);
	like(md, "sample of 10% of the items (seed 90)", "its runs table says which items it has");
	free(md);
	for (int i = 1; i <= 2; i++)
		is_int(cli_run(NULL, RUN " --sample 10%% --seed 90 --shard %d/2 --out %s/psh%d", tmp, i, tmp, i), 0,
		       NAME("10%% shard %d/2 ran", i));
	is_int(cli_run(NULL, "merge %s/psh1 %s/psh2 -o %s/pmerged --quiet", tmp, tmp, tmp), 0, "the 10% shards merge");
	json_t *m = records("pmerged"), *s = records("p10");
	ok(json_equal(m, s), "the merged records equal the unsharded 10% run's");
	json_decref(m);
	json_decref(s);
}

int main(void)
{
	struct mrl_err err = { 0 };
	if (task_suite_load(SUITE, &suite, NULL, &err))
		skip_all("tests/data/sample/suite.json does not load (run from the repository root)");
	tasks[0] = task_suite_find(suite, "by_field");
	tasks[1] = task_suite_find(suite, "plain");
	if (!tasks[0] || !tasks[1])
		skip_all("tests/data/sample/suite.json lacks its tasks");
	TEST(test_oracle(), "the draw equals ci/make-sample-reference.py's for ten (N, seed) and five (P%%, seed) pairs");
	TEST(test_spec(), "--sample N or P%%: the argument, a percentage's size, settings.sample");
	TEST(test_properties(), "one item per value, proportions, whole small tasks, the seed, other tasks");
	TEST(test_info(), "info lists a breakdown's values with their items, as the sample counts them");
	if (!cli_merilo()) {
		task_suite_free(suite);
		return done_testing();
	}
	if (!cli_tmpdir(tmp, sizeof tmp, "hrn-sample"))
		skip_all("cannot make a temporary folder");
	setenv("MERILO_CACHE_DIR", tmp, 1);
	bool have = !cli_run(NULL, "synth --arch llama " CLI_SYNTH_SMALL " --dtype f16 --seed 1 -o %s/m.gguf", tmp) &&
		    !cli_run(NULL, RUN " --out %s/full", tmp, tmp) &&
		    !cli_run(NULL, RUN " --sample 7 --seed 90 --out %s/s7", tmp, tmp);
	ok(have, "a tiny model, a run of every item and a --sample 7 --seed 90 run");
	if (have) {
		TEST(test_run(), "the run scores the drawn items, as the full run does; settings, --resume, --limit, notes");
		TEST(test_compare(), "compare and leaderboard keep sampled runs apart");
		TEST(test_shards(), "sampled shards merge into the sampled run");
		TEST(test_percent(), "--sample 10%%: the oracle's items, settings, --resume, compare, report, shards");
	}
	cli_rmtree(tmp);
	task_suite_free(suite);
	return done_testing();
}
