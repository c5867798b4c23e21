/* hrn_perplexity.c — `merilo perplexity --batch N` (issue 16): the chunks run N
 * at a time in a multi-sequence context, and nothing that is printed changes.
 *
 * On the fixture models (tiny llama F16 and Q8_0, tiny qwen2 F32) and the
 * fixture text: --json (17 significant digits) of --batch 1 --threads 1, the
 * unbatched computation, against several batch sizes (2, an odd 5 that leaves a
 * short last group, 32 = more than the chunks; on F16 all, on the others two)
 * and 1 vs 2 threads: the NLL, the
 * perplexity and its error, bits per byte and the running perplexity after
 * every chunk are equal as text, i.e. bit for bit. Also: the chunks at a time
 * are reported, --batch 0 is refused, and piped progress lines (chunks done,
 * ETA) appear only without --quiet (MERILO_TEST_PROGRESS_DELAY_MS=0 starts
 * them at once). Runs the binary named by $MERILO; skips without the fixtures.
 */
#include "tests/tap.h"
#include "tests/cli.h"

#include <jansson.h>
#include <sched.h>
#include <stdbool.h>

/* perplexity --json of model on the fixture text with extra options; NULL when it failed.
 * stderr (progress lines after 5 s, as under ASan) is dropped. */
static json_t *ppl_json(const char *fx, const char *model, const char *extra)
{
	char *out = NULL;
	int rc = cli_sh(&out, "'%s' perplexity --model '%s/models/%s' --file '%s/expected/ppl-text.txt' --json %s "
			"2>/dev/null", getenv("MERILO"), fx, model, fx, extra);
	json_error_t jerr;
	json_t *j = rc == 0 && out ? json_loads(out, 0, &jerr) : NULL;
	if (!j)
		diag("%s %s: exit %d\n%s", model, extra, rc, out ? out : "");
	free(out);
	return j;
}

/* The printed figures of a --json object, as text with every digit. */
static char *figures(const json_t *j)
{
	static const char *const keys[] = { "nll", "perplexity", "perplexity_err", "bits_per_byte", "bits_per_char",
					    "n_scored", "cumulative" };
	json_t *sub = json_object();
	for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++)
		json_object_set(sub, keys[k], json_object_get(j, keys[k]));
	char *s = json_dumps(sub, JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(17));
	json_decref(sub);
	return s;
}

/* Without --threads the count is the CPUs the process may run on: under a one-CPU affinity
 * mask (inherited by the child) --json says 1. It said 0, the option's "default". */
static void t_default_threads(const char *fx, const char *model, const char *ctx)
{
	cpu_set_t was, one;
	if (sched_getaffinity(0, sizeof was, &was) != 0) {
		skip("sched_getaffinity failed", "default threads");
		return;
	}
	int first = 0;
	while (first < CPU_SETSIZE && !CPU_ISSET(first, &was))
		first++;
	CPU_ZERO(&one);
	CPU_SET(first, &one);
	char extra[64];
	snprintf(extra, sizeof extra, "--ctx %s --batch 1", ctx);
	json_t *j = sched_setaffinity(0, sizeof one, &one) == 0 ? ppl_json(fx, model, extra) : NULL;
	sched_setaffinity(0, sizeof was, &was);
	is_int(j ? json_integer_value(json_object_get(j, "threads")) : -1, 1,
	       "--json without --threads, on one allowed CPU: threads is 1, the count run (it was 0)");
	json_decref(j);
}

/* full: five batch x thread runs against the reference; else two (an odd batch on 2 threads, all
 * chunks at once on 1), which keeps the test fast under ASan. */
static void t_batch_identity(const char *fx, const char *model, const char *ctx, bool full)
{
	char extra[128];
	snprintf(extra, sizeof extra, "--ctx %s --batch 1 --threads 1", ctx);
	json_t *ref = ppl_json(fx, model, extra);
	char *want = ref ? figures(ref) : NULL;
	const size_t n_chunks = (size_t)json_integer_value(json_object_get(ref, "n_chunks"));
	char name[256];
	snprintf(name, sizeof name, "%s: --batch 1 runs one chunk at a time (%zu chunks)", model, n_chunks);
	ok(want && n_chunks >= 6 && json_integer_value(json_object_get(ref, "batch_chunks")) == 1, name);
	if (full) { /* the manifest: the model's and the text's SHA-256, as sha256sum gives them (it had none) */
		char *sums = NULL, mhex[65] = "", thex[65] = "";
		cli_sh(&sums, "sha256sum '%s/models/%s' '%s/expected/ppl-text.txt'", fx, model, fx);
		if (sums && strlen(sums) > 64 && strchr(sums, '\n') && strlen(strchr(sums, '\n') + 1) >= 64)
			snprintf(mhex, sizeof mhex, "%.64s", sums), snprintf(thex, sizeof thex, "%.64s", strchr(sums, '\n') + 1);
		free(sums);
		const json_t *mm = json_object_get(json_object_get(ref, "manifest"), "model");
		is_str(json_string_value(json_object_get(mm, "sha256")), mhex, "--json: manifest.model.sha256 is the model's");
		is_str(json_string_value(json_object_get(ref, "file_sha256")), thex, "--json: file_sha256 is the text's");
		const json_t *man = json_object_get(ref, "manifest");
		ok(json_object_get(man, "merilo") && json_string_value(json_object_get(man, "ended_utc")) &&
			   json_integer_value(json_object_get(json_object_get(man, "settings"), "ctx")) == atol(ctx),
		   "--json: the manifest names the build, its end and its settings (ended_utc and settings were null)");
		ok(json_integer_value(json_object_get(ref, "threads")) == 1, "--json: threads as run (--threads 1)");
		t_default_threads(fx, model, ctx);
	}
	static const struct { const char *batch, *threads; } runs[] = { { "1", "2" }, { "2", "1" }, { "5", "2" },
									  { "32", "1" }, { "32", "2" } };
	for (size_t r = 0; r < sizeof runs / sizeof runs[0]; r++) {
		if (!full && r != 2 && r != 3)
			continue;
		snprintf(extra, sizeof extra, "--ctx %s --batch %s --threads %s", ctx, runs[r].batch, runs[r].threads);
		json_t *j = ppl_json(fx, model, extra);
		char *got = j ? figures(j) : NULL;
		const size_t at_a_time = (size_t)atol(runs[r].batch) < n_chunks ? (size_t)atol(runs[r].batch) : n_chunks;
		snprintf(name, sizeof name, "%s --batch %s --threads %s: every figure identical to --batch 1 --threads 1",
			 model, runs[r].batch, runs[r].threads);
		if (!ok(want && got && !strcmp(want, got), name))
			diag("want %s\n got %s", want ? want : "(none)", got ? got : "(none)");
		snprintf(name, sizeof name, "%s --batch %s: %zu chunks at a time", model, runs[r].batch, at_a_time);
		is_int(json_integer_value(json_object_get(j, "batch_chunks")), (long)at_a_time, name);
		free(got);
		json_decref(j);
	}
	free(want);
	json_decref(ref);
}

static void t_progress(const char *fx)
{
	char *out = NULL;
	setenv("MERILO_TEST_PROGRESS_DELAY_MS", "0", 1);
	int rc = cli_run(&out, "perplexity --model %s/models/tiny-llama-ff192-f16.gguf --file %s/expected/ppl-text.txt "
			 "--ctx 64 --batch 4", fx, fx);
	is_int(rc, 0, "perplexity with progress from the start");
	like(out, "merilo perplexity: 4/12 chunks (33.3%), ppl ", "piped: a whole progress line after a group of chunks");
	like(out, "chunks/s, ETA ", "the line has the rate and the ETA");
	like(out, "12 chunks of 64, scoring the last 31 of each, 4 at a time", "the header says how many at a time");
	free(out);
	rc = cli_run(&out, "perplexity --model %s/models/tiny-llama-ff192-f16.gguf --file %s/expected/ppl-text.txt "
		     "--ctx 64 --quiet", fx, fx);
	unsetenv("MERILO_TEST_PROGRESS_DELAY_MS");
	is_int(rc, 0, "perplexity --quiet");
	ok(out && !strstr(out, "ETA") && cli_count_lines(out) == 1, "--quiet: no progress, one line");
	free(out);
	rc = cli_run(&out, "perplexity --model %s/models/tiny-llama-ff192-f16.gguf --file %s/expected/ppl-text.txt "
		     "--batch 0", fx, fx);
	is_int(rc, 2, "--batch 0 is a usage error");
	like(out, "--batch", "the message names --batch");
	free(out);
	/* bytes that are not UTF-8: refused (they were scored, and counted as characters) */
	char bad[128];
	snprintf(bad, sizeof bad, "/tmp/merilo-ppl-bad-%d.txt", (int)getpid());
	FILE *f = fopen(bad, "wb");
	for (int i = 0; f && i < 600; i++)
		fputc(i % 2 ? 0xfe : 0xff, f);
	if (f)
		fclose(f);
	rc = cli_run(&out, "perplexity --model %s/models/tiny-llama-ff192-f16.gguf --file %s --ctx 8", fx, bad);
	is_int(rc, 3, "a text that is not UTF-8: exit 3");
	like(out, "not UTF-8 (an invalid byte 0xff at byte 0)", "the message names the file's problem and where");
	like(out, bad, "... and the file");
	free(out);
	unlink(bad);
}

int main(void)
{
	if (!cli_merilo())
		skip_all("MERILO does not name the merilo binary (run through make test)");
	const char *fx = fixtures_dir();
	if (!fx)
		skip_all("fixtures absent: ../shared/fixtures");
	TEST(t_batch_identity(fx, "tiny-llama-ff192-f16.gguf", "64", true), "llama F16: batch sizes and threads, same bits");
	TEST(t_batch_identity(fx, "tiny-llama-ff192-q8_0.gguf", "48", false), "llama Q8_0: batch sizes and threads, same bits");
	TEST(t_batch_identity(fx, "tiny-qwen2-f32.gguf", "128", false), "qwen2 F32: batch sizes and threads, same bits");
	TEST(t_progress(fx), "progress lines with ETA, --quiet, --batch 0, a text that is not UTF-8");
	return done_testing();
}
