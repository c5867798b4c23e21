/* hrn_rerun.c — "Rerunning a published result" (docs/results-format.md), done end to end.
 *
 * A published run folder must say how to run it again: the command line as given
 * (manifest.argv, run.json's argv), the paths as typed and resolved (model.abs_path,
 * suite.abs_path), and every option that shapes a record in run.json's options
 * (chat_template and the threads run among them). The test makes a run with
 * relative paths, then a second one from nothing but what the first recorded:
 * its argv, with only the output folder and --threads changed (threads change no
 * score). The two must have the same per-item log-likelihoods bit for bit and the
 * same aggregates. A resumed run keeps its first command line and notes the one
 * that finished it. Before argv was recorded there was nothing to rerun from.
 */
#include "tests/tap.h"
#include "tests/cli.h"

#include <jansson.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char tmp[256];

/* The JSON file path, or NULL (with a diagnostic). */
static json_t *load(const char *path)
{
	json_error_t e;
	json_t *j = json_load_file(path, JSON_REJECT_DUPLICATES, &e);
	if (!j)
		diag("%s: %s", path, e.text);
	return j;
}

/* items.jsonl as an object "task/item/lang" -> the record without what a record
 * measures of its session (timings, tokens computed vs reused). NULL where unreadable. */
static json_t *records(const char *path)
{
	char *text = cli_slurp(path);
	json_t *by_key = json_object();
	for (char *line = text, *next; line && *line && by_key; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		json_t *r = json_loads(line, 0, NULL);
		if (!r) {
			json_decref(by_key);
			by_key = NULL;
			break;
		}
		json_object_del(r, "timings_ns");
		json_object_del(r, "tokens_computed");
		json_object_del(r, "tokens_cached");
		char key[512];
		snprintf(key, sizeof key, "%s/%s/%s", json_string_value(json_object_get(r, "task")),
			 json_string_value(json_object_get(r, "item")), json_string_value(json_object_get(r, "language")));
		json_object_set_new(by_key, key, r);
	}
	free(text);
	return text ? by_key : (json_decref(by_key), NULL);
}

/* argv (a JSON array of strings, argv[0] "merilo") as a shell line that runs $MERILO,
 * every word single-quoted; the values of -o/--out and --threads replaced by out and
 * threads. A new string, or NULL where argv is not such an array. */
static char *shell_line(const json_t *argv, const char *merilo, const char *out, const char *threads)
{
	size_t n = json_array_size(argv), cap = 64 + strlen(merilo);
	for (size_t i = 0; i < n; i++)
		cap += 4 * strlen(json_string_value(json_array_get(argv, i)) ?: "") + 64;
	char *line = malloc(cap), *p = line;
	if (!line || !n || !cli_same_str(json_string_value(json_array_get(argv, 0)), "merilo"))
		return free(line), NULL;
	p += sprintf(p, "'%s'", merilo);
	for (size_t i = 1; i < n; i++) {
		const char *w = json_string_value(json_array_get(argv, i));
		if (!w)
			return free(line), NULL;
		const char *prev = json_string_value(json_array_get(argv, i - 1));
		if (!strcmp(prev, "-o") || !strcmp(prev, "--out"))
			w = out;
		else if (!strcmp(prev, "--threads"))
			w = threads;
		*p++ = ' ';
		*p++ = '\'';
		for (; *w; w++)
			p += *w == '\'' ? sprintf(p, "'\\''") : sprintf(p, "%c", *w);
		*p++ = '\'';
	}
	*p = '\0';
	return line;
}

/* The published run: relative model and suite paths, from the folder they are in. */
static const char *const published[] = { "merilo", "run", "--model", "m.gguf", "--suite", "suite.json", "--limit", "2",
					  "--seed", "11", "--boot", "300", "--threads", "2", "-o", "published", "--quiet" };
#define N_PUBLISHED (sizeof published / sizeof published[0])

static void check_recorded(json_t *res, json_t *run)
{
	json_t *man = json_object_get(res, "manifest"), *argv = json_object_get(man, "argv");
	json_t *want = json_array();
	for (size_t i = 0; i < N_PUBLISHED; i++)
		json_array_append_new(want, json_string(published[i]));
	ok(json_equal(argv, want), "manifest.argv: the command line as given, argv[0] \"merilo\"");
	ok(json_equal(json_object_get(run, "argv"), want), "run.json's argv: the same");
	json_decref(want);
	ok(!json_object_get(man, "resumed_argv"), "no resumed_argv in a run made in one session");
	char real_model[PATH_MAX], real_suite[PATH_MAX];
	ok(realpath("m.gguf", real_model) && realpath("suite.json", real_suite), "realpath of the inputs");
	json_t *model = json_object_get(man, "model"), *suite = json_object_get(man, "suite");
	is_str(json_string_value(json_object_get(model, "path")), "m.gguf", "model.path: as typed");
	is_str(json_string_value(json_object_get(model, "abs_path")), real_model, "model.abs_path: resolved");
	is_str(json_string_value(json_object_get(suite, "path")), "suite.json", "suite.path: as typed");
	is_str(json_string_value(json_object_get(suite, "abs_path")), real_suite, "suite.abs_path: resolved");
	json_t *opt = json_object_get(run, "options");
	is_int(json_integer_value(json_object_get(opt, "threads")), 2, "run.json options.threads: the count run");
	ok(json_is_null(json_object_get(opt, "chat_template")), "run.json options.chat_template: null, not given");
	static const char *const keys[] = { "model", "suite", "tasks", "lang", "limit", "bos", "seed", "fewshot", "boot",
					    "store_logprobs", "store_topk", "backend", "batch", "kv_cache", "chat_template",
					    "threads" };
	size_t n_keys = 0;
	for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++)
		if (json_object_get(opt, keys[k]))
			n_keys++;
		else
			diag("run.json options.%s missing", keys[k]);
	is_int(n_keys, sizeof keys / sizeof keys[0], "run.json options: every option a rerun needs");
}

/* The rerun from the published argv: the same records and aggregates. */
static void check_rerun(const char *merilo, json_t *res)
{
	char *line = shell_line(json_object_get(json_object_get(res, "manifest"), "argv"), merilo, "rerun", "1");
	ok(line, "a command line from the recorded argv");
	if (!line)
		return;
	diag("rerun: %s", line);
	char *out = NULL;
	int rc = cli_sh(&out, "%s", line);
	is_int(rc, 0, "the rerun succeeds");
	if (rc)
		diag("%s", out ? out : "");
	free(out);
	free(line);
	json_t *a = records("published/items.jsonl"), *b = records("rerun/items.jsonl");
	ok(a && b && json_object_size(a) > 0, "both items.jsonl read");
	is_int(json_object_size(b), json_object_size(a), "the rerun scored the same units");
	size_t same = 0, n_lls = 0;
	const char *key;
	json_t *ra;
	json_object_foreach(a, key, ra) {
		json_t *rb = json_object_get(b, key);
		same += rb && json_equal(ra, rb);
		n_lls += json_array_size(json_object_get(ra, "choices"));
		if (rb && !json_equal(ra, rb))
			diag("%s differs", key);
	}
	is_int(same, json_object_size(a), "every record identical, log-likelihoods bit for bit (timings aside)");
	diag("%zu choices' log-likelihoods compared", n_lls);
	ok(n_lls > 0, "choices' log-likelihoods were compared");
	json_t *res2 = load("rerun/results.json");
	ok(json_equal(json_object_get(res, "aggregates"), json_object_get(res2, "aggregates")), "identical aggregates");
	ok(json_equal(json_object_get(res, "comparisons"), json_object_get(res2, "comparisons")), "identical comparisons");
	json_t *argv2 = json_object_get(json_object_get(res2, "manifest"), "argv");
	is_str(json_string_value(json_array_get(argv2, N_PUBLISHED - 2)), "rerun", "the rerun's own argv recorded");
	json_decref(res2);
	json_decref(a);
	json_decref(b);
}

/* A resumed run: manifest.argv is the first session's, resumed_argv the finishing one's. */
static void check_resume(const char *merilo)
{
	char *out = NULL;
	int rc = cli_sh(&out, "MERILO_TEST_STOP_AFTER=2 '%s' run --model m.gguf --suite suite.json --limit 2 --seed 11 "
			      "--boot 300 --threads 2 -o part --quiet", merilo);
	ok(rc != 0, "the first session stops after 2 items");
	free(out);
	rc = cli_sh(&out, "'%s' run --resume part --threads 1 --quiet", merilo);
	is_int(rc, 0, "the resume finishes it");
	if (rc)
		diag("%s", out ? out : "");
	free(out);
	json_t *res = load("part/results.json");
	json_t *man = json_object_get(res, "manifest");
	is_str(json_string_value(json_array_get(json_object_get(man, "argv"), 1)), "run", "argv: the first session's");
	is_str(json_string_value(json_array_get(json_object_get(man, "argv"), 3)), "m.gguf", "argv: with its model");
	json_t *resumed = json_object_get(man, "resumed_argv");
	is_int(json_array_size(resumed), 7, "resumed_argv: the command that finished it");
	is_str(json_string_value(json_array_get(resumed, 3)), "part", "resumed_argv: --resume part");
	json_t *pub = load("published/results.json");
	ok(json_equal(json_object_get(res, "aggregates"), json_object_get(pub, "aggregates")),
	   "the resumed run's aggregates are the published ones");
	json_decref(pub);
	json_decref(res);
}

int main(void)
{
	const char *merilo = cli_merilo();
	char cwd[PATH_MAX], *out = NULL;
	if (!merilo)
		skip_all("MERILO is not set to an executable merilo");
	if (!cli_tmpdir(tmp, sizeof tmp, "rerun") || !getcwd(cwd, sizeof cwd)) {
		ok(0, "a temporary folder");
		return done_testing();
	}
	cli_pin_host(tmp, true);
	int rc = cli_sh(&out, "cp tasks/suites/demo.json '%s/suite.json' && cd '%s' && '%s' synth %s --seed 3 -o m.gguf",
			tmp, tmp, merilo, CLI_SYNTH_SMALL);
	is_int(rc, 0, "a tiny model and the demo suite");
	free(out);
	if (rc || chdir(tmp)) {
		cli_rmtree(tmp);
		return done_testing();
	}
	/* the published run, with its argv exactly as the list above */
	char line[1024] = "";
	snprintf(line, sizeof line, "'%s'", merilo);
	for (size_t i = 1; i < N_PUBLISHED; i++)
		snprintf(line + strlen(line), sizeof line - strlen(line), " '%s'", published[i]);
	rc = cli_sh(&out, "%s", line);
	is_int(rc, 0, "the published run");
	if (rc)
		diag("%s", out ? out : "");
	free(out);
	json_t *res = load("published/results.json"), *run = load("published/run.json");
	ok(res && run, "results.json and run.json read");
	if (res && run) {
		check_recorded(res, run);
		check_rerun(merilo, res);
		check_resume(merilo);
	}
	json_decref(res);
	json_decref(run);
	if (chdir(cwd))
		diag("cannot return to %s", cwd);
	cli_rmtree(tmp);
	return done_testing();
}
