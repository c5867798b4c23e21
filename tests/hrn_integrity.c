/* hrn_integrity.c — no run folder can be silently corrupted (issue 10, items 2-6).
 *
 * Each block reproduces one fault that used to end with exit 0 and a wrong run,
 * and checks the loud outcome that replaced it:
 *   - two runs with one --out: the second fails at once naming the holder's pid,
 *     and items.jsonl never holds a unit twice;
 *   - the model file rewritten in place during a run: exit 4 naming the file, and
 *     no record computed from the new bytes is written;
 *   - the model file truncated during a run: exit 4 with a message (not SIGBUS),
 *     flushed records whole, and --resume works once the file is restored;
 *   - --resume restores every option that shapes records or aggregates
 *     (--store-logprobs, --store-topk, --boot): interrupted + resumed equals an
 *     uninterrupted run, byte for byte except timings and KV-cache reuse counts;
 *   - records outside the run's plan (a flipped item id, an item past --limit, a
 *     line that is not JSON) are reported with their line, moved out and recomputed;
 *   - a Ctrl-C inside the forward pass (a test hook at a layer) stops there: exit
 *     4, no record of the unfinished window, and --resume equals the reference;
 *   - a folder with another run's items.jsonl or results.json but no run.json is
 *     refused (their records were taken as the new run's); a run or score into
 *     an unfinished one (run.json, no results.json) says so.
 * Runs use a tiny random-weight model made by `merilo synth` and the demo suite.
 */
#include "tests/tap.h"
#include "tests/cli.h"
#include "tests/spawn.h"

#include <jansson.h>
#include <signal.h>
#include <stdbool.h>
#include <time.h>

static const char *merilo;

/* A check name made with printf (eight rotating buffers: enough for one check). */
static __attribute__((format(printf, 1, 2))) const char *N(const char *fmt, ...)
{
	static char bufs[8][512];
	static int next;
	char *b = bufs[next++ % 8];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(b, sizeof bufs[0], fmt, ap);
	va_end(ap);
	return b;
}
static char tmp[256];
static const char *suite = "tasks/suites/demo.json";

/* Copy file a to b (replacing b's contents in place when in_place: same inode). */
static int copy_file(const char *a, const char *b, bool in_place)
{
	FILE *in = fopen(a, "rb"), *out = in ? fopen(b, in_place ? "r+b" : "wb") : NULL;
	char buf[65536];
	size_t n;
	int bad = !in || !out;
	while (!bad && (n = fread(buf, 1, sizeof buf, in)) > 0)
		bad = fwrite(buf, 1, n, out) != n;
	if (in)
		fclose(in);
	if (out)
		bad |= fclose(out) != 0;
	return bad ? -1 : 0;
}

/* What a record measures of its session rather than of the model: its timings,
 * and the tokens computed vs reused from the KV cache (the first item after a
 * resume cannot reuse the previous item's prefix). */
static void drop_session_figures(json_t *record)
{
	json_object_del(record, "timings_ns");
	json_object_del(record, "tokens_computed");
	json_object_del(record, "tokens_cached");
}

/* items.jsonl as an object "task/item/lang" -> the record without its timings;
 * *n_lines and *n_dups count lines and keys seen twice. NULL where unreadable. */
static json_t *records(const char *path, size_t *n_lines, size_t *n_dups)
{
	char *text = cli_slurp(path);
	json_t *by_key = json_object();
	*n_lines = *n_dups = 0;
	if (!text)
		return by_key;
	for (char *line = text, *end; *line; line = end + 1) {
		end = strchr(line, '\n');
		if (!end)
			break;
		*end = '\0';
		(*n_lines)++;
		json_t *j = json_loads(line, 0, NULL);
		if (!j)
			continue;
		char key[512];
		snprintf(key, sizeof key, "%s/%s/%s", json_string_value(json_object_get(j, "task")),
			 json_string_value(json_object_get(j, "item")), json_string_value(json_object_get(j, "language")));
		drop_session_figures(j);
		if (json_object_get(by_key, key))
			(*n_dups)++;
		else
			json_object_set(by_key, key, j);
		json_decref(j);
	}
	free(text);
	return by_key;
}

/* Records of a that differ from b's record of the same key, or that b lacks. */
static size_t n_differing(const json_t *a, const json_t *b)
{
	size_t n = 0;
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)a, key, v) n += !json_equal(v, json_object_get(b, key));
	return n;
}

/* results.json without what is allowed to differ between two sessions of the
 * same run: the manifest's timestamps, the performance section and the seconds
 * the model took to open (model.load_s). */
static json_t *results_sans_timings(const char *dir)
{
	char path[512];
	snprintf(path, sizeof path, "%s/results.json", dir);
	json_t *j = json_load_file(path, 0, NULL);
	if (j) {
		json_object_del(j, "performance");
		json_t *m = json_object_get(j, "manifest");
		json_object_del(m, "started_utc");
		json_object_del(m, "ended_utc");
		json_object_del(json_object_get(j, "model"), "load_s");
	}
	return j;
}

/* items.jsonl of dir with the timings dropped, as one string per line. */
static char *items_sans_timings(const char *dir)
{
	char path[512];
	snprintf(path, sizeof path, "%s/items.jsonl", dir);
	char *text = cli_slurp(path), *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	for (char *line = text, *end; text && f && *line; line = end + 1) {
		if (!(end = strchr(line, '\n')))
			break;
		*end = '\0';
		json_t *j = json_loads(line, JSON_DECODE_ANY, NULL);
		drop_session_figures(j);
		char *s = j ? json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER) : strdup("(bad line)");
		fprintf(f, "%s\n", s ? s : "");
		free(s);
		json_decref(j);
	}
	if (f)
		fclose(f);
	free(text);
	return out;
}

static void check_concurrent(const char *model)
{
	char dir[400], log1[512], log2[512], lock[512], items[512];
	snprintf(dir, sizeof dir, "%s/busy", tmp);
	snprintf(log1, sizeof log1, "%s/busy1.log", tmp);
	snprintf(lock, sizeof lock, "%s/run.lock", dir);
	snprintf(items, sizeof items, "%s/items.jsonl", dir);
	const char *args[] = { "--model", model, "--suite", suite, "--tasks", "commonsense", "--limit", "6", "--out",
			       dir, "--quiet", "--threads", "2", NULL };
	/* the run stops itself after its first unit (MERILO_TEST_PAUSE_AT), holding the folder while the two
	 * commands below are refused, however loaded the machine */
	pid_t a = spawn_run_paused(merilo, log1, NULL, 0, 1, args);
	ok(spawn_wait_stopped(a) && cli_file_size(lock) > 0, "lock: the running run holds DIR/run.lock with its pid");
	char *out = NULL, want[64];
	int rc = cli_run(&out, "run --model %s --suite %s --tasks commonsense --limit 6 --out %s --quiet --threads 2", model, suite, dir);
	is_int(rc, 3, "lock: a second run with the same --out fails at once (exit 3)");
	snprintf(want, sizeof want, "pid %d", (int)a);
	like(out, "in use by another merilo run", "lock: the message says the folder is in use");
	like(out, want, "lock: the message names the holder's pid");
	free(out);
	rc = cli_run(&out, "run --resume %s --quiet --threads 2", dir);
	is_int(rc, 3, "lock: a --resume of a folder in use fails too (exit 3)");
	free(out);
	int sig;
	kill(a, SIGCONT);
	is_int(spawn_wait(a, &sig), 0, "lock: the first run finishes normally");
	size_t n_lines, n_dups;
	json_t *r = records(items, &n_lines, &n_dups);
	is_int((long long)n_lines, 24, "lock: items.jsonl has each of the 6 x 4 units once");
	is_int((long long)n_dups, 0, "lock: no unit twice");
	json_decref(r);

	/* started together: one wins, the other is refused; never both appending */
	int both_ok = 0, dups = 0, refused = 0;
	for (int k = 0; k < 4; k++) {
		char d[400];
		snprintf(d, sizeof d, "%s/race%d", tmp, k);
		snprintf(log1, sizeof log1, "%s/race%d-a.log", tmp, k);
		snprintf(log2, sizeof log2, "%s/race%d-b.log", tmp, k);
		const char *ra[] = { "--model", model, "--suite", suite, "--tasks", "commonsense", "--limit", "4", "--out", d,
				     "--quiet", "--threads", "2", NULL };
		pid_t p1 = spawn_run(merilo, log1, NULL, 0, ra), p2 = spawn_run(merilo, log2, NULL, 0, ra);
		int r1 = spawn_wait(p1, &sig), r2 = spawn_wait(p2, &sig);
		both_ok += r1 == 0 && r2 == 0;
		refused += (r1 == 0 && (r2 == 3 || r2 == 2)) || (r2 == 0 && (r1 == 3 || r1 == 2));
		snprintf(items, sizeof items, "%s/items.jsonl", d);
		json_decref(records(items, &n_lines, &n_dups));
		dups += (int)n_dups + (n_lines != 16);
	}
	is_int(both_ok, 0, "lock: of two runs started together on one --out, never both exit 0 (4 tries)");
	is_int(refused, 4, "lock: one finishes, the other is refused with exit 3 (in use) or 2 (already holds a run)");
	is_int(dups, 0, "lock: every items.jsonl holds each unit exactly once");
}

/* The model file changes under a running run: rewritten in place (same size,
 * same inode, other weights), or truncated. */
static void check_model_changes(const char *model, const char *other, const json_t *ref)
{
	char copy[400], dir[400], log[512], items[512], runjson[512];
	snprintf(copy, sizeof copy, "%s/changing.gguf", tmp);
	const char *what[2] = { "rewritten", "truncated" };
	for (int k = 0; k < 2; k++) {
		char name[64];
		snprintf(dir, sizeof dir, "%s/changed-%s", tmp, what[k]);
		snprintf(log, sizeof log, "%s/changed-%s.log", tmp, what[k]);
		snprintf(items, sizeof items, "%s/items.jsonl", dir);
		if (copy_file(model, copy, false)) {
			ok(0, "cannot copy the model");
			return;
		}
		/* --batch item: one item per call, so the change is met by the next unit's weight read
		 * (a window of --batch 32 items a language holds all 40 units: scored before the pause) */
		const char *args[] = { "--model", copy, "--suite", suite, "--tasks", "commonsense", "--limit", "10", "--out",
				       dir, "--quiet", "--threads", "2", "--batch", "item", NULL };
		/* 20 ms a unit: the change below comes >= 320 ms after the copy, past the file clock's tick */
		pid_t pid = spawn_run_paused(merilo, log, NULL, 20, 16, args);
		bool stopped = spawn_wait_stopped(pid);
		size_t seen = cli_file_lines(items);
		snprintf(name, sizeof name, "%s: the run had flushed records when the file changed", what[k]);
		ok(stopped, N("%s: the run stopped itself mid-run (MERILO_TEST_PAUSE_AT=16)", what[k]));
		/* the item writer flushes every 16 units or 2 s, whichever comes first: on a
		 * loaded machine the clock can flush 15 and leave the 16th in the buffer */
		ok(seen >= 1 && seen < 40, N("%s (%zu lines)", name, seen));
		if (k == 0)
			ok(copy_file(other, copy, true) == 0, "rewritten: other weights written over the file in place");
		else
			ok(truncate(copy, 100000) == 0, "truncated: the file cut to 100000 bytes");
		kill(pid, SIGCONT);
		int sig, rc = spawn_wait(pid, &sig);
		char *out = cli_slurp(log);
		snprintf(name, sizeof name, "%s: exit 4", what[k]);
		is_int(rc, 4, N("%s (signal %d)", name, sig));
		snprintf(name, sizeof name, "%s: the message names the file", what[k]);
		like(out, copy, name);
		like(out, k == 0 ? "modified on disk while in use" : "truncated or rewritten on disk while in use",
		     N("%s: the message says what happened", what[k]));
		free(out);
		size_t n_lines, n_dups;
		json_t *got = records(items, &n_lines, &n_dups);
		char *text = cli_slurp(items);
		ok(text && (!*text || text[strlen(text) - 1] == '\n'), N("%s: items.jsonl holds whole lines only", what[k]));
		free(text);
		is_int((long long)json_object_size(got), (long long)n_lines, N("%s: every line of items.jsonl is a record", what[k]));
		is_int((long long)n_differing(got, ref), 0,
		       N("%s: every record written equals the unchanged model's (none from the new bytes)", what[k]));
		ok(n_lines < 40, N("%s: the run did not finish (%zu of 40 units written)", what[k], n_lines));
		snprintf(runjson, sizeof runjson, "%s/results.json", dir);
		ok(cli_file_size(runjson) < 0, N("%s: no results.json", what[k]));
		json_decref(got);
		if (k == 1) {
			/* restored, the run continues */
			copy_file(model, copy, false);
			rc = cli_run(&out, "run --resume %s --quiet --threads 2", dir);
			is_int(rc, 0, "truncated: after the file is restored, --resume finishes the run");
			free(out);
			got = records(items, &n_lines, &n_dups);
			is_int((long long)n_lines, 40, "truncated + resumed: all 40 units");
			is_int((long long)n_differing(got, ref), 0, "truncated + resumed: every record equals the reference run's");
			json_decref(got);
		}
	}
}

/* The same for an HF checkpoint folder: each mapped safetensors shard is watched. */
static void check_hf_changes(void)
{
	const char *fx = "../shared/fixtures/hf/llama";
	if (access(fx, R_OK)) {
		skip("../shared/fixtures/hf/llama absent", "HF folder: a shard rewritten or truncated during a run");
		return;
	}
	const char *what[2] = { "rewritten", "truncated" };
	for (int k = 0; k < 2; k++) {
		char folder[400], shard[512], dir[400], log[512], items[512], orig[512], *out = NULL;
		snprintf(folder, sizeof folder, "%s/hf-%s", tmp, what[k]);
		snprintf(shard, sizeof shard, "%s/model.safetensors", folder);
		snprintf(orig, sizeof orig, "%s/model.safetensors", fx);
		snprintf(dir, sizeof dir, "%s/hf-run-%s", tmp, what[k]);
		snprintf(log, sizeof log, "%s/hf-run-%s.log", tmp, what[k]);
		snprintf(items, sizeof items, "%s/items.jsonl", dir);
		cli_sh(&out, "cp -r '%s' '%s'", fx, folder);
		free(out);
		/* --batch item: one item per call, so the truncation is met by a weight read (bus error), as
		 * this test expects, rather than first by the size check after a window of items */
		const char *args[] = { "--model", folder, "--suite", suite, "--tasks", "commonsense", "--limit", "10", "--out",
				       dir, "--quiet", "--threads", "2", "--batch", "item", NULL };
		/* 20 ms a unit: the change below comes >= 320 ms after the copy, past the file clock's tick */
		pid_t pid = spawn_run_paused(merilo, log, NULL, 20, 16, args);
		ok(spawn_wait_stopped(pid), N("HF %s: the run stopped itself mid-run (MERILO_TEST_PAUSE_AT=16)", what[k]));
		size_t seen = cli_file_lines(items);
		/* flushed every 16 units or 2 s: a loaded machine may flush 15 by the clock */
		ok(seen >= 1 && seen < 40, N("HF %s: the run had flushed records when the shard changed (%zu lines)", what[k], seen));
		if (k == 0)
			ok(copy_file(orig, shard, true) == 0, "HF rewritten: the same bytes written over the shard in place");
		else
			ok(truncate(shard, 4096) == 0, "HF truncated: the shard cut to 4096 bytes");
		kill(pid, SIGCONT);
		int sig, rc = spawn_wait(pid, &sig);
		out = cli_slurp(log);
		is_int(rc, 4, N("HF %s: exit 4 (signal %d)", what[k], sig));
		like(out, shard, N("HF %s: the message names the shard", what[k]));
		like(out, k == 0 ? "modified on disk while in use" : "truncated or rewritten on disk while in use",
		     N("HF %s: the message says what happened", what[k]));
		free(out);
		ok(cli_file_lines(items) < 40, N("HF %s: the run did not finish", what[k]));
	}
}

/* Interrupted after 7 units, resumed with no options: equals the uninterrupted run. */
static void check_resume_options(const char *model)
{
	const char *opts[] = { "--store-logprobs --store-topk 3", "--store-logprobs", "--boot 500", "--batch request" };
	for (size_t k = 0; k < sizeof opts / sizeof opts[0]; k++) {
		char full[400], part[400], *out = NULL;
		snprintf(full, sizeof full, "%s/opt%zu-full", tmp, k);
		snprintf(part, sizeof part, "%s/opt%zu-part", tmp, k);
		int rc = cli_run(&out, "run --model %s --suite %s --limit 2 --seed 7 %s --out %s --quiet --threads 2", model, suite, opts[k],
				 full);
		free(out);
		is_int(rc, 0, N("resume %s: the uninterrupted run", opts[k]));
		rc = cli_sh(&out, "MERILO_TEST_STOP_AFTER=7 '%s' run --model %s --suite %s --limit 2 --seed 7 %s --out %s --quiet --threads 2",
			    merilo, model, suite, opts[k], part);
		free(out);
		is_int(rc, 4, N("resume %s: the run stopped after 7 units (exit 4)", opts[k]));
		rc = cli_run(&out, "run --resume %s --quiet --threads 2", part);
		is_int(rc, 0, N("resume %s: --resume with no options finishes it", opts[k]));
		free(out);
		char *a = items_sans_timings(full), *b = items_sans_timings(part);
		ok(a && b && *a && !strcmp(a, b), N("resume %s: items.jsonl equals the uninterrupted run's (timings aside)",
		   opts[k]));
		free(a);
		free(b);
		json_t *ra = results_sans_timings(full), *rb = results_sans_timings(part);
		json_t *ma = json_object_get(ra, "manifest"), *mb = json_object_get(rb, "manifest");
		/* the run folders differ by name only; so do the command lines (and the resume's) */
		json_object_del(json_object_get(ma, "settings"), "out");
		json_object_del(json_object_get(mb, "settings"), "out");
		json_object_del(ma, "argv");
		json_object_del(mb, "argv");
		json_object_del(mb, "resumed_argv");
		ok(ra && rb && json_equal(ra, rb), N("resume %s: results.json equals the uninterrupted run's (timings aside)",
		   opts[k]));
		json_decref(ra);
		json_decref(rb);
	}
	/* a resume that asks for something else is refused, naming the option */
	char part[400];
	snprintf(part, sizeof part, "%s/opt2-part", tmp);
	CLI_EXPECT(2, "--boot 900 differs from the resumed run's 500", "resume --boot 900 of a --boot 500 run",
		   "run --resume %s --boot 900 --quiet --threads 2", part);
	snprintf(part, sizeof part, "%s/opt2-part", tmp);
	CLI_EXPECT(2, "--store-logprobs was not given to the resumed run", "resume --store-logprobs of a run without",
		   "run --resume %s --store-logprobs --quiet --threads 2", part);
	snprintf(part, sizeof part, "%s/opt0-part", tmp);
	CLI_EXPECT(2, "--store-topk 5 differs from the resumed run's 3", "resume --store-topk 5 of a --store-topk 3 run",
		   "run --resume %s --store-topk 5 --quiet --threads 2", part);
}

/* A record outside the plan is reported with its line, moved out and recomputed. */
static void check_plan(const char *model)
{
	char clean[400], dir[400], items[512], rejected[512], *out = NULL;
	snprintf(clean, sizeof clean, "%s/plan-clean", tmp);
	snprintf(dir, sizeof dir, "%s/plan", tmp);
	snprintf(items, sizeof items, "%s/items.jsonl", dir);
	snprintf(rejected, sizeof rejected, "%s/items.rejected.jsonl", dir);
	int rc = cli_run(&out, "run --model %s --suite %s --tasks commonsense --limit 3 --out %s --quiet --threads 2", model, suite,
			 clean);
	free(out);
	is_int(rc, 0, "plan: a clean run of 3 items");
	rc = cli_run(&out, "run --model %s --suite %s --tasks commonsense --limit 3 --out %s --quiet --threads 2", model, suite, dir);
	free(out);
	/* line 2: one flipped byte in the item id; a 13th line: item 4, past --limit 3; a 14th: not JSON */
	char *text = cli_slurp(items), *second = text ? strchr(text, '\n') + 1 : NULL, *id = second ? strstr(second, "\"item\":\"cs-00") : NULL;
	ok(rc == 0 && id, "plan: a second run of 3 items to corrupt");
	if (!id) {
		free(text);
		return;
	}
	id[strlen("\"item\":\"cs-00")] = 'x';
	FILE *f = fopen(items, "w");
	fputs(text, f);
	char *cs4 = NULL;
	cli_sh(&cs4, "'%s' run --model %s --suite %s --tasks commonsense --limit 4 --out %s/plan4 --quiet --threads 2 >/dev/null && "
		     "grep '\"item\":\"cs-004\"' %s/plan4/items.jsonl | head -1", merilo, model, suite, tmp, tmp);
	fputs(cs4, f);
	fputs("{\"schema_version\":1,\"task\":\"commonsense\",\"item\n", f);
	fclose(f);
	free(cs4);
	free(text);
	rc = cli_run(&out, "run --resume %s --threads 2", dir);
	is_int(rc, 0, "plan: --resume of the corrupted run succeeds");
	like(out, "items.jsonl:2: item 'cs-00x' is not an item of task 'commonsense' in the suite",
	     "plan: the flipped id is reported with its line");
	like(out, "items.jsonl:13: item 'cs-004' is item 4 of task 'commonsense', past this run's --limit 3",
	     "plan: the record past --limit is reported with its line");
	like(out, "items.jsonl:14: column", "plan: the line that is not JSON is reported with its line");
	like(out, "items.rejected.jsonl", "plan: the messages say where the lines went");
	free(out);
	is_int((long long)cli_file_lines(rejected), 3, "plan: the 3 lines are kept in items.rejected.jsonl");
	size_t n_lines, n_dups, n_clean;
	json_t *got = records(items, &n_lines, &n_dups);
	char clean_items[512];
	snprintf(clean_items, sizeof clean_items, "%s/items.jsonl", clean);
	json_t *ref = records(clean_items, &n_clean, &n_dups);
	is_int((long long)n_lines, 12, "plan: items.jsonl holds the 12 units of the plan, the flipped one recomputed");
	is_int((long long)n_differing(got, ref), 0, "plan: and they equal the clean run's");
	json_decref(got);
	json_decref(ref);
	json_t *ra = results_sans_timings(clean), *rb = results_sans_timings(dir);
	ok(ra && rb && json_equal(json_object_get(ra, "aggregates"), json_object_get(rb, "aggregates")) &&
		   json_equal(json_object_get(ra, "comparisons"), json_object_get(rb, "comparisons")),
	   "plan: the aggregates (n = 3 per language) equal the clean run's");
	json_decref(ra);
	json_decref(rb);
}

/* A folder holding another run's items.jsonl or results.json but no run.json (moved,
 * half removed) is refused: the run had kept the other model's records as its own
 * and written their scores under this model's name, exit 0. A score (or merge)
 * stopped before its results.json (a full disk) leaves run.json: the retry is told
 * the folder holds an unfinished run to remove, not that it "already holds a run". */
/* A stop inside the forward pass (MERILO_TEST_STOP_LAYER: a Ctrl-C arriving at the
 * 2nd layer of the first window): exit 4 with the resume hint, no record of the
 * unfinished window written, and --resume gives the reference run's records. The
 * flag was looked at between windows only: a Ctrl-C waited for the whole window
 * (minutes on a 1B model), and one in the last window was ignored (exit 0). */
static void check_stop_in_layer(const char *model, const json_t *ref)
{
	char dir[400], items[512], *out = NULL;
	snprintf(dir, sizeof dir, "%s/stop-layer", tmp);
	snprintf(items, sizeof items, "%s/items.jsonl", dir);
	int rc = cli_sh(&out, "MERILO_TEST_STOP_LAYER=2 '%s' run --model %s --suite %s --tasks commonsense --limit 10 "
			      "--out %s --threads 2", merilo, model, suite, dir);
	is_int(rc, 4, "stop at a layer: exit 4");
	like(out, "interrupted; 0 of 40 items are saved", "... within the first window: none of its records written");
	like(out, "continue with: merilo run --resume ", "... and the resume hint");
	free(out);
	is_int((long long)cli_file_lines(items), 0, "items.jsonl is empty");
	rc = cli_run(&out, "run --resume %s --threads 2 --quiet", dir);
	free(out);
	is_int(rc, 0, "--resume finishes it");
	size_t n_lines, n_dups;
	json_t *got = records(items, &n_lines, &n_dups);
	is_int((long long)n_lines, 40, "40 records");
	is_int((long long)n_differing(got, ref), 0, "equal to the uninterrupted run's");
	json_decref(got);
	/* generate tasks too: eng_generate's own contexts ask the same question (they did not) */
	snprintf(dir, sizeof dir, "%s/stop-layer-gen", tmp);
	rc = cli_sh(&out, "MERILO_TEST_STOP_LAYER=1 '%s' run --model %s --suite %s --tasks short_qa --limit 2 --out %s "
			  "--threads 2", merilo, model, suite, dir);
	is_int(rc, 4, "a generate task stopped at a layer: exit 4");
	like(out, "interrupted; 0 of ", "... with none of its batch written");
	free(out);
	rc = cli_run(&out, "run --resume %s --threads 2 --quiet", dir);
	free(out);
	is_int(rc, 0, "--resume finishes it");
}

static void check_leftovers(const char *model, const char *ref_dir)
{
	char dir[400], *out = NULL;
	snprintf(dir, sizeof dir, "%s/left-items", tmp);
	cli_sh(NULL, "mkdir -p %s && head -5 %s/items.jsonl > %s/items.jsonl", dir, ref_dir, dir);
	int rc = cli_run(&out, "run --model %s --suite %s --tasks commonsense --limit 3 --out %s --quiet --threads 2", model,
			 suite, dir);
	is_int(rc, 2, "another run's items.jsonl without run.json: refused, exit 2");
	like(out, "left-items holds items.jsonl but no results.json", "... saying what the folder holds");
	is_int((int)cli_count_lines(out), 1, "... in one line");
	free(out);
	is_int((long long)cli_file_lines(strcat(dir, "/items.jsonl")), 5, "... and the lines are left as they were");
	snprintf(dir, sizeof dir, "%s/left-results", tmp);
	cli_sh(NULL, "mkdir -p %s && cp %s/results.json %s/", dir, ref_dir, dir);
	rc = cli_run(&out, "run --model %s --suite %s --tasks commonsense --limit 3 --out %s --quiet --threads 2", model,
		     suite, dir);
	is_int(rc, 2, "a results.json without run.json: refused, exit 2");
	like(out, "left-results already holds a run (results.json)", "... as a run");
	free(out);
	snprintf(dir, sizeof dir, "%s/left-unfinished", tmp);
	cli_sh(NULL, "mkdir -p %s && cp %s/run.json %s/", dir, ref_dir, dir);
	rc = cli_run(&out, "run --model %s --suite %s --tasks commonsense --limit 3 --out %s --quiet --threads 2", model,
		     suite, dir);
	is_int(rc, 2, "run.json without results.json: refused, exit 2");
	like(out, "already holds a run (unfinished: no results.json); continue it with merilo run --resume ",
	     "... an unfinished run, with the command that finishes it");
	free(out);
	char pred[450];
	snprintf(pred, sizeof pred, "%s/pred.jsonl", tmp);
	cli_write_file(pred, "{\"task\": \"commonsense\", \"item\": \"cs-001\", \"language\": \"en\", \"choice\": 0}\n");
	rc = cli_run(&out, "score --suite %s --predictions %s --system x --tasks commonsense --allow-missing -o %s", suite,
		     pred, dir);
	is_int(rc, 2, "score into it: exit 2");
	like(out, "left-unfinished holds run.json but no results.json (an unfinished run); remove the folder",
	     "... saying it is unfinished and to remove it (it said the folder already holds a run)");
	free(out);
}

int main(void)
{
	if (!(merilo = cli_merilo()))
		skip_all("MERILO is not set to the merilo binary");
	if (!cli_tmpdir(tmp, sizeof tmp, "integrity"))
		skip_all("cannot make a temporary folder");
	/* the model hashes go to a cache of the test's own, not the user's */
	char cache[400];
	snprintf(cache, sizeof cache, "%s/cache", tmp);
	setenv("MERILO_CACHE_DIR", cache, 1);
	char model[400], other[400], ref_dir[400], ref_items[512], *out = NULL;
	snprintf(model, sizeof model, "%s/m.gguf", tmp);
	snprintf(other, sizeof other, "%s/m2.gguf", tmp);
	int rc = cli_run(&out, "synth --arch llama --preset tiny --dtype f16 --seed 1 -o %s", model);
	free(out);
	rc |= cli_run(&out, "synth --arch llama --preset tiny --dtype f16 --seed 2 -o %s", other);
	free(out);
	is_int(rc, 0, "two random-weight models of one shape");
	is_int(cli_file_size(model), cli_file_size(other), "of the same size");
	snprintf(ref_dir, sizeof ref_dir, "%s/ref", tmp);
	snprintf(ref_items, sizeof ref_items, "%s/items.jsonl", ref_dir);
	rc = cli_run(&out, "run --model %s --suite %s --tasks commonsense --limit 10 --out %s --quiet --threads 2", model, suite, ref_dir);
	free(out);
	is_int(rc, 0, "the reference run");
	size_t n_lines, n_dups;
	json_t *ref = records(ref_items, &n_lines, &n_dups);

	TEST(check_concurrent(model), "two runs with one --out: the second fails naming the holder, no unit twice");
	TEST(check_model_changes(model, other, ref), "the model file rewritten or truncated mid-run: exit 4, no record from the new bytes");
	TEST(check_hf_changes(), "an HF checkpoint changed mid-run is caught like a GGUF file");
	TEST(check_resume_options(model), "--resume restores every option that shapes records or aggregates");
	TEST(check_plan(model), "records outside the run's plan are reported, moved out and recomputed");
	TEST(check_stop_in_layer(model, ref), "a stop inside the forward pass: exit 4 at once, --resume equals the reference");
	TEST(check_leftovers(model, ref_dir), "another run's files without run.json are refused; an unfinished one is named");

	json_decref(ref);
	cli_rmtree(tmp);
	return done_testing();
}
