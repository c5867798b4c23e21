/* hrn_gen.c — generate tasks in merilo run (issue 17).
 *
 * A tiny random-weight model runs the demo suite's generate tasks (translate_to,
 * translate_from, short_qa; --limit 3). Checked: every record carries the
 * generation fields (text, token count within max_tokens, stop reason, script mix,
 * language guess, references, statistics) and the task's metrics; each per-item
 * value is what metrics/text.h and tasks/langid.h compute on the recorded text;
 * results.json's BLEU and chrF are the corpus scores of those texts (not a mean of
 * sentence scores); a run stopped after 4 units and resumed gives the same items
 * as an unbroken one; the chat template: none on a model without one, chatml when
 * asked (the prompt wrapped, settings.chat_template recorded), an unknown name
 * refused, a resumed chatml run stays chatml, a suite's "chat_template" applies
 * unless --chat-template overrides it; the progress lines advance by a batch; with ../shared/fixtures, a model
 * carrying SmolLM2's template gets it applied with its default system message
 * under --chat-template auto; Qwen3's thinking switch (--thinking). merilo score scores texts written
 * elsewhere the same way.
 * Runs the binary named by $MERILO (set by `make test`). */
#include "tests/tap.h"
#include "tests/cli.h"
#include "tests/jsonl.h"

#include <jansson.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/buf.h"
#include "metrics/text.h"
#include "tasks/langid.h"

static char tmp[256];

#define RUN_OPTS "--suite tasks/suites/demo.json --tasks translate_to,translate_from,short_qa --limit 3 --seed 1 " \
		 "--boot 200 --quiet --threads 2"

/* The records of items.jsonl (a JSON array, new reference). */
static json_t *load_items(const char *dir)
{
	char path[512];
	snprintf(path, sizeof path, "%s/items.jsonl", dir);
	return load_jsonl(path);
}

static json_t *load_results(const char *dir)
{
	char path[512];
	snprintf(path, sizeof path, "%s/results.json", dir);
	return json_load_file(path, 0, NULL);
}

/* The scored answer: the recorded text without surrounding whitespace. Owned. */
static char *answer_of(const char *text)
{
	while (*text && strchr(" \t\n\r\v\f", *text))
		text++;
	size_t n = strlen(text);
	while (n && strchr(" \t\n\r\v\f", text[n - 1]))
		n--;
	return strndup(text, n);
}

static double metric_value(json_t *rec, const char *name)
{
	json_t *m = json_object_get(json_object_get(rec, "metrics"), name);
	json_t *v = json_object_get(m, "value");
	return json_is_number(v) ? json_number_value(v) : json_is_true(json_object_get(m, "correct")) ? 1.0 : m ? 0.0 : NAN;
}

/* The references of a record (pointers into it). */
static size_t refs_of(json_t *rec, const char **refs, size_t cap)
{
	json_t *a = json_object_get(json_object_get(rec, "generation"), "references");
	size_t n = 0;
	for (size_t i = 0; i < json_array_size(a) && n < cap; i++)
		refs[n++] = json_string_value(json_array_get(a, i));
	return n;
}

static void check_fields(json_t *items)
{
	static const char *const stops[] = { "max_tokens", "eos", "stop", "ctx_full", NULL };
	size_t i, bad_fields = 0, bad_tokens = 0, bad_stop = 0, bad_metrics = 0;
	json_t *rec;
	is_int(json_array_size(items), 30, "30 records: 3 items x (3 + 3 + 4 languages)");
	json_array_foreach(items, i, rec) {
		json_t *g = json_object_get(rec, "generation");
		const char *task = json_string_value(json_object_get(rec, "task"));
		const int max = !strcmp(task ? task : "", "short_qa") ? 8 : 32;
		bad_fields += !json_is_string(json_object_get(g, "text")) || !json_is_object(json_object_get(g, "script")) ||
			      !json_is_object(json_object_get(g, "language")) ||
			      !json_array_size(json_object_get(g, "references")) ||
			      !json_is_object(json_object_get(g, "stats")) || !json_is_string(json_object_get(rec, "prompt"));
		json_t *nt = json_object_get(g, "n_tokens");
		bad_tokens += !json_is_integer(nt) || json_integer_value(nt) > max;
		const char *stop = json_string_value(json_object_get(g, "stop_reason"));
		bool known = false;
		for (int k = 0; stops[k] && stop; k++)
			known |= !strcmp(stop, stops[k]);
		bad_stop += !known;
		static const char *const tr[] = { "chrf", "chrf++", "bleu", NULL }, *const qa[] = { "exact_match", "f1",
												       "contains", NULL };
		for (const char *const *m = strcmp(task ? task : "", "short_qa") ? tr : qa; *m; m++)
			bad_metrics += isnan(metric_value(rec, *m));
	}
	is_int(bad_fields, 0, "every record has generation.text, script, language, references, stats and the prompt");
	is_int(bad_tokens, 0, "every n_tokens is an integer within the task's max_tokens");
	is_int(bad_stop, 0, "every stop_reason is max_tokens, eos, stop or ctx_full");
	is_int(bad_metrics, 0, "every record has its task's metrics (chrf/chrf++/bleu or exact_match/f1/contains)");
}

/* Each per-item value recomputed from the recorded text with metrics/ and tasks/. */
static void check_values(json_t *items)
{
	size_t i, n_chrf = 0, bad_chrf = 0, bad_bleu = 0, bad_qa = 0, bad_script = 0, n_script = 0;
	json_t *rec;
	json_array_foreach(items, i, rec) {
		const char *task = json_string_value(json_object_get(rec, "task"));
		const char *lang = json_string_value(json_object_get(rec, "language"));
		json_t *g = json_object_get(rec, "generation");
		char *ans = answer_of(json_string_value(json_object_get(g, "text")));
		const char *refs[8];
		const struct met_text_item it = { .hyp = ans, .refs = refs, .n_refs = refs_of(rec, refs, 8) };
		double v = NAN;
		if (strcmp(task, "short_qa")) {
			const struct met_chrf_opts co = MET_CHRF_DEFAULTS;
			met_chrf_sentence(&it, &co, &v, NULL);
			bad_chrf += fabs(v - metric_value(rec, "chrf")) > 1e-9;
			n_chrf++;
			met_bleu_sentence(&it, MET_BLEU_TOK_13A, &v, NULL);
			bad_bleu += fabs(v - metric_value(rec, "bleu")) > 1e-9;
		} else {
			const struct met_qa_opts qo = { .drop_articles = !strcmp(lang, "en"), .fold_diacritics = 0 };
			met_qa_exact(&it, &qo, &v, NULL);
			bad_qa += (v > 0.5) != (metric_value(rec, "exact_match") > 0.5);
			met_qa_f1(&it, &qo, &v, NULL);
			bad_qa += fabs(v - metric_value(rec, "f1")) > 1e-12;
		}
		struct task_script_mix mix;
		task_script_mix(ans, strlen(ans), &mix, NULL);
		const char *verdict = json_string_value(json_object_get(json_object_get(g, "script"), "verdict"));
		bad_script += strcmp(verdict ? verdict : "", task_script_name(mix.verdict)) != 0;
		double ok = metric_value(rec, "script_ok");
		if (!isnan(ok)) {
			n_script++;
			const char *want = !strcmp(lang, "sr-Cyrl") ? "Cyrl" : "Latn";
			bad_script += (ok > 0.5) != !strcmp(task_script_name(mix.verdict), want);
		}
		free(ans);
	}
	ok(n_chrf == 18, "18 translation records");
	is_int(bad_chrf, 0, "every chrf equals met_chrf_sentence on the recorded text");
	is_int(bad_bleu, 0, "every bleu equals met_bleu_sentence (13a) on the recorded text");
	is_int(bad_qa, 0, "every exact_match and f1 equals met_qa_exact / met_qa_f1 (articles dropped in en only)");
	is_int(bad_script, 0, "the script verdict and script_ok follow task_script_mix of the answer");
	diag("script_ok judged on %zu of the records (answers with letters)", n_script);
}

/* results.json's chrf and bleu of translate_to hr: the corpus scores of its three answers. */
static void check_corpus(json_t *items, json_t *results)
{
	const char *hyps[8], *refs[8][4];
	char *owned[8];
	struct met_text_item ti[8];
	size_t n = 0, i;
	json_t *rec;
	json_array_foreach(items, i, rec) {
		if (strcmp(json_string_value(json_object_get(rec, "task")), "translate_to") ||
		    strcmp(json_string_value(json_object_get(rec, "language")), "hr") || n == 8)
			continue;
		owned[n] = answer_of(json_string_value(json_object_get(json_object_get(rec, "generation"), "text")));
		hyps[n] = owned[n];
		ti[n] = (struct met_text_item){ .hyp = hyps[n], .refs = refs[n], .n_refs = refs_of(rec, refs[n], 4) };
		n++;
	}
	is_int(n, 3, "three translate_to hr records");
	double chrf = NAN, bleu = NAN, got_chrf = NAN, got_bleu = NAN;
	const struct met_chrf_opts co = MET_CHRF_DEFAULTS;
	met_chrf_corpus(ti, n, &co, &chrf, NULL);
	met_bleu_corpus(ti, n, MET_BLEU_TOK_13A, &bleu, NULL);
	json_t *aggs = json_object_get(results, "aggregates"), *a;
	json_array_foreach(aggs, i, a) {
		if (strcmp(json_string_value(json_object_get(a, "task")), "translate_to") ||
		    strcmp(json_string_value(json_object_get(a, "language")), "hr"))
			continue;
		json_t *ms = json_object_get(a, "metrics");
		got_chrf = json_number_value(json_object_get(json_object_get(ms, "chrf"), "value"));
		got_bleu = json_number_value(json_object_get(json_object_get(ms, "bleu"), "value"));
	}
	ok(chrf > 0, "the answers' corpus chrF is above 0 (a check that can fail)");
	is_near(got_chrf, chrf, 1e-9, "results.json chrf = corpus chrF of the answers (met_chrf_corpus)");
	is_near(got_bleu, bleu, 1e-9, "results.json bleu = corpus BLEU of the answers (met_bleu_corpus)");
	double mean = 0;
	const struct met_chrf_opts one = MET_CHRF_DEFAULTS;
	for (size_t k = 0; k < n; k++) {
		double v;
		met_chrf_sentence(&ti[k], &one, &v, NULL);
		mean += v / (double)n;
		free(owned[k]);
	}
	diag("corpus chrF %.6f, mean of sentence chrF %.6f", chrf, mean);
	json_t *cmp = json_object_get(results, "comparisons"), *c;
	size_t n_corpus = 0, n_empty = 0;
	json_array_foreach(cmp, i, c) {
		const char *metric = json_string_value(json_object_get(c, "metric"));
		if (strcmp(json_string_value(json_object_get(c, "task")), "translate_to"))
			continue;
		n_corpus += !strcmp(metric, "chrf") || !strcmp(metric, "chrf++") || !strcmp(metric, "bleu");
		n_empty += json_integer_value(json_object_get(c, "n_pairs")) <= 0;
	}
	is_int(n_corpus, 9, "translate_to: chrf, chrf++ and bleu compared for its 3 language pairs");
	is_int(n_empty, 0, "no comparison without pairs (script_ok/lang_ok judged in neither language are left out)");
}

/* items.jsonl as compact lines without timings and work counters. Owned. */
static char *norm_items(json_t *items)
{
	size_t i, total = 1;
	json_t *rec;
	char **lines = calloc(json_array_size(items) + 1, sizeof *lines);
	json_array_foreach(items, i, rec) {
		json_t *c = json_deep_copy(rec);
		json_object_del(c, "timings_ns");
		json_object_del(c, "tokens_computed");
		json_object_del(c, "tokens_cached");
		lines[i] = json_dumps(c, JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(17));
		total += strlen(lines[i]) + 1;
		json_decref(c);
	}
	char *out = calloc(total, 1);
	json_array_foreach(items, i, rec) {
		strcat(out, lines[i]);
		strcat(out, "\n");
		free(lines[i]);
	}
	free(lines);
	return out;
}

/* Each aggregate metric's n is the number of records carrying it: the metric's own "n"
 * where some items lack it (lang_ok undecided on a short answer, script_ok without letters),
 * else the aggregate's. The aggregate's n had been shown for such metrics (lang_ok over 1
 * item reported as n = 10). Corpus scores (bleu, chrf) are over every item. */
static void check_metric_n(json_t *items, json_t *results)
{
	size_t bad = 0, fewer = 0, i;
	json_t *ag;
	json_array_foreach(json_object_get(results, "aggregates"), i, ag) {
		const char *task = json_string_value(json_object_get(ag, "task"));
		const char *lang = json_string_value(json_object_get(ag, "language"));
		const char *name;
		json_t *mv;
		json_object_foreach(json_object_get(ag, "metrics"), name, mv) {
			json_int_t have = 0;
			size_t k;
			json_t *rec;
			json_array_foreach(items, k, rec)
				have += !strcmp(json_string_value(json_object_get(rec, "task")), task) &&
					!strcmp(json_string_value(json_object_get(rec, "language")), lang) &&
					json_object_get(json_object_get(rec, "metrics"), name) != NULL;
			const json_t *own = json_object_get(mv, "n");
			const json_int_t want = own ? json_integer_value(own) : json_integer_value(json_object_get(ag, "n"));
			fewer += own != NULL;
			if (have != want && !bad++)
				diag("%s %s %s: %lld records carry it, n says %lld", task, lang, name, (long long)have,
				     (long long)want);
		}
	}
	diag("%zu metrics over fewer items than their aggregate", fewer);
	ok(fewer > 0, "some metric is over fewer items than its aggregate (lang_ok undecided)");
	is_int(bad, 0, "every metric's n is the number of records that carry it");
}

static void test_run(const char *model)
{
	char *out = NULL;
	int rc = cli_run(&out, "run --model %s " RUN_OPTS " --out %s/full", model, tmp);
	is_int(rc, 0, "run on the demo suite's generate tasks exits 0");
	if (rc)
		diag("%s", out ? out : "");
	char dir[512];
	snprintf(dir, sizeof dir, "%s/full", tmp);
	json_t *items = load_items(dir), *results = load_results(dir);
	/* a metric over no items (lang_ok where no answer's language could be told) */
	size_t n_null = 0, i;
	json_t *ag;
	json_array_foreach(json_object_get(results, "aggregates"), i, ag) {
		const char *name;
		json_t *mv;
		json_object_foreach(json_object_get(ag, "metrics"), name, mv)
			n_null += json_is_null(json_object_get(mv, "value"));
	}
	free(out);
	rc = cli_run(&out, "run --resume %s", dir); /* done already: prints the summary (not --quiet) */
	if (!ok(rc == 0 && n_null > 0 && out && strstr(out, " n/a ") && !strstr(out, "nan"),
		"the summary says n/a, not nan, for a metric over no items"))
		diag("exit %d, %zu null values, output:\n%s", rc, n_null, out ? out : "(none)");
	free(out);
	check_fields(items);
	check_values(items);
	check_corpus(items, results);
	check_metric_n(items, results);
	/* the Wilson interval only for right/wrong metrics all 0 or all 1: a graded one (f1) all 0 kept the
	 * bootstrap's [0, 0] only after the review (it had got Wilson's [0, 0.66]) */
	size_t n_wilson = 0, n_graded_wilson = 0, ia;
	json_t *agg;
	json_array_foreach(json_object_get(results, "aggregates"), ia, agg) {
		const char *name;
		json_t *mv;
		json_object_foreach(json_object_get(agg, "metrics"), name, mv) {
			const char *method = json_string_value(json_object_get(mv, "method"));
			const bool wilson = method && !strcmp(method, "wilson-score");
			n_wilson += wilson;
			n_graded_wilson += wilson && (!strcmp(name, "f1") || !strcmp(name, "rouge_l"));
		}
	}
	ok(n_wilson > 0 && n_graded_wilson == 0, "Wilson intervals for all-wrong right/wrong metrics, none for f1");
	if (!n_wilson || n_graded_wilson)
		diag("%zu Wilson intervals, %zu of f1/rouge_l", n_wilson, n_graded_wilson);
	const char *chat = json_string_value(json_object_get(json_object_get(results, "settings"), "chat_template"));
	is_str(chat ? chat : "(none)", "none", "a model without a chat template: settings.chat_template is none");

	/* stopped after 4 units, resumed: the same items */
	rc = cli_sh(&out, "MERILO_TEST_STOP_AFTER=4 '%s' run --model %s " RUN_OPTS " --out %s/part", cli_merilo(), model,
		    tmp);
	ok(rc != 0, "a run stopped after 4 units exits non-zero");
	free(out);
	snprintf(dir, sizeof dir, "%s/part", tmp);
	json_t *part = load_items(dir);
	is_int(json_array_size(part), 4, "it saved 4 records");
	json_decref(part);
	rc = cli_run(&out, "run --resume %s/part --quiet --threads 1", tmp);
	is_int(rc, 0, "--resume finishes it");
	if (rc)
		diag("%s", out ? out : "");
	free(out);
	part = load_items(dir);
	char *a = norm_items(items), *b = norm_items(part);
	if (!ok(cli_same_str(a, b), "the resumed run's items equal the unbroken run's (text, metrics, statistics)") && a &&
	    b) {
		size_t k = 0;
		while (a[k] && a[k] == b[k])
			k++;
		const size_t from = k > 200 ? k - 200 : 0;
		diag("first difference at byte %zu:\n  unbroken: %.400s\n  resumed:  %.400s", k, a + from, b + from);
	}
	free(a);
	free(b);
	json_decref(part);
	json_decref(items);
	json_decref(results);
}

/* A run of model with opts (2 short_qa units) stopped after one (exit 4, as by Ctrl-C) into
 * tmp/name, its --resume with other refused (exit 2, saying refusal), then without it finished. */
static void stop_and_resume(const char *model, const char *opts, const char *name, const char *other,
			    const char *refusal)
{
	char *out = NULL, what[256];
	int rc = cli_sh(&out, "MERILO_TEST_STOP_AFTER=1 '%s' run --model %s " RUN_OPTS " --tasks short_qa --lang hr "
			      "--limit 2 %s --out %s/%s", cli_merilo(), model, opts, tmp, name);
	snprintf(what, sizeof what, "setup: a run with %s stopped after 1 item (exit 4, as by Ctrl-C)", opts);
	is_int(rc, 4, what);
	free(out);
	rc = cli_run(&out, "run --resume %s/%s %s --quiet", tmp, name, other);
	snprintf(what, sizeof what, "--resume with %s is a usage error", other);
	ok(rc == 2 && out && strstr(out, refusal), what);
	free(out);
	rc = cli_run(&out, "run --resume %s/%s --quiet", tmp, name);
	snprintf(what, sizeof what, "--resume without %s finishes the run", other);
	is_int(rc, 0, what);
	free(out);
}

static void test_chat(const char *model)
{
	char *out = NULL, dir[512];
	int rc = cli_run(&out, "run --model %s " RUN_OPTS " --lang hr --tasks short_qa --limit 1 --chat-template chatml "
			       "--out %s/chatml", model, tmp);
	is_int(rc, 0, "--chat-template chatml on a model without a template runs");
	free(out);
	snprintf(dir, sizeof dir, "%s/chatml", tmp);
	json_t *items = load_items(dir), *results = load_results(dir);
	const char *prompt = json_string_value(json_object_get(json_array_get(items, 0), "prompt"));
	ok(prompt && !strncmp(prompt, "<|im_start|>user\nOdgovori jednom", 32) &&
		   strstr(prompt, "<|im_end|>\n<|im_start|>assistant\n"),
	   "the prompt is the suite's prompt in a ChatML user turn, the assistant's turn opened");
	const char *chat = json_string_value(json_object_get(json_object_get(results, "settings"), "chat_template"));
	is_str(chat ? chat : "(none)", "chatml", "settings.chat_template records chatml");
	json_decref(items);
	json_decref(results);
	/* a template that writes the BOS text (Llama 2) under --bos never: it was written all the same */
	for (int never = 0; never < 2; never++) {
		rc = cli_run(&out, "run --model %s " RUN_OPTS " --lang hr --tasks short_qa --limit 1 --chat-template llama2 "
				   "--bos %s --out %s/llama2-%d", model, never ? "never" : "always", tmp, never);
		is_int(rc, 0, never ? "--chat-template llama2 --bos never runs" : "--chat-template llama2 --bos always runs");
		free(out);
		snprintf(dir, sizeof dir, "%s/llama2-%d", tmp, never);
		items = load_items(dir);
		prompt = json_string_value(json_object_get(json_array_get(items, 0), "prompt"));
		ok(prompt && !strncmp(prompt, never ? "[INST] Odgovori" : "<s>[INST] Odgovori", never ? 15 : 18),
		   never ? "--bos never: the template's <s> is left out" : "--bos always: the template writes <s>");
		json_decref(items);
	}
	/* a chatml run stopped and resumed keeps chatml; another name is refused */
	stop_and_resume(model, "--chat-template chatml", "chatpart", "--chat-template llama3",
			"--chat-template llama3 differs from the resumed run's chatml");
	snprintf(dir, sizeof dir, "%s/chatpart", tmp);
	items = load_items(dir);
	prompt = json_string_value(json_object_get(json_array_get(items, 1), "prompt"));
	ok(json_array_size(items) == 2 && prompt && !strncmp(prompt, "<|im_start|>user\n", 17),
	   "the resumed unit's prompt is wrapped in ChatML too");
	json_decref(items);
	/* a run started without --chat-template resumed with one: refused too (it mixed templates) */
	rc = cli_sh(&out, "MERILO_TEST_STOP_AFTER=1 '%s' run --model %s " RUN_OPTS " --tasks short_qa --lang hr --limit 2 "
			  "--out %s/nochat", cli_merilo(), model, tmp);
	is_int(rc, 4, "setup: a run without --chat-template stopped after 1 item (exit 4)");
	free(out);
	rc = cli_run(&out, "run --resume %s/nochat --chat-template chatml --quiet", tmp);
	ok(rc == 2 && out && strstr(out, "--chat-template chatml differs from the resumed run's (not given)"),
	   "--resume with --chat-template of a run made without one is a usage error");
	free(out);
	snprintf(dir, sizeof dir, "%s/nochat", tmp);
	items = load_items(dir);
	is_int((int)json_array_size(items), 1, "the stopped run's records are as they were");
	json_decref(items);
	rc = cli_run(&out, "info %s", model);
	ok(rc == 0 && out && strstr(out, "\nchat template: none\n"), "merilo info: a model without a template says none");
	free(out);
	rc = cli_run(&out, "run --model %s " RUN_OPTS " --chat-template vicuna --out %s/bad", model, tmp);
	is_int(rc, 2, "an unknown --chat-template is a usage error (exit 2; it was 3)");
	like(out, "merilo run: --chat-template wants auto, none, chatml", "naming the option and the names it takes");
	like(out, "not 'vicuna'", "... and the one given");
	free(out);
}

/* path: a suite of one generate task "g" (en, context "{q}", max_new_tokens max_new)
 * with items "cut" and "fits" asking q_cut and q_fit. */
static void write_gen_suite(const char *path, int max_new, const char *q_cut, const char *q_fit)
{
	char *text = malloc(strlen(q_cut) + strlen(q_fit) + 1024);
	if (!text)
		return;
	sprintf(text, "{\"format\": \"merilo-suite/1\", \"name\": \"cut\", \"version\": \"1\", \"description\": \"\", "
		      "\"source\": \"\", \"license\": \"CC0-1.0\", \"tasks\": [{\"id\": \"g\", \"type\": \"generate\", "
		      "\"metrics\": [\"exact_match\"], \"languages\": [\"en\"], \"templates\": {\"en\": {\"context\": "
		      "\"{q}\"}}, \"max_new_tokens\": %d, \"items\": [{\"id\": \"cut\", \"en\": {\"q\": \"%s\", \"target\": "
		      "\"x\"}}, {\"id\": \"fits\", \"en\": {\"q\": \"%s\", \"target\": \"x\"}}]}]}",
		max_new, q_cut, q_fit);
	cli_write_file(path, text);
	free(text);
}

/* 255 new tokens after a short prompt take 256 positions (the last new token is not
 * fed): max_new_tokens 255 on the 256-position model was refused (exit 3). */
static void test_max_new(const char *model)
{
	char suite[512], path[600], *out = NULL;
	snprintf(suite, sizeof suite, "%s/gen255.json", tmp);
	write_gen_suite(suite, 255, "hi", "a");
	int rc = cli_run(&out, "run --model %s --suite %s --quiet --boot 10 --out %s/gen255", model, suite, tmp);
	is_int(rc, 0, "max_new_tokens 255 on the model's 256 positions runs");
	free(out);
	snprintf(path, sizeof path, "%s/gen255/items.jsonl", tmp);
	out = cli_slurp(path);
	ok(out && strstr(out, "\"stop_reason\":\"") && !strstr(out, "ctx_full"),
	   "its generations end by their own rule, not at a full context");
	free(out);
}

/* A prompt too long for the context under a chat template: the start of the user
 * message is cut, not the template's head (BOS and "[INST]" were cut from the left).
 * Item "cut" (400 a's) must leave exactly the prompt of item "fits", whose a's fill
 * the 256 positions less 4 - 1 for the new tokens: the same tokens, the same text. */
static void test_chat_cut(const char *model)
{
	char *out = NULL, suite[512], dir[512];
	/* 16 template tokens (<s> and "[INST] " 8, " [/INST]" 8 on this vocabulary) + 237 a's = 256 + 1 - 4 */
	int rc = cli_run(&out, "tokenize -m %s --no-bos --parse-special '<s>[INST] a [/INST]'", model);
	size_t n_one = 0; /* the ids printed, space-separated */
	for (const char *p = out; rc == 0 && p && *p; p++)
		n_one += *p != ' ' && *p != '\n' && (p == out || p[-1] == ' ');
	free(out);
	const size_t fit = 256 + 1 - 4 - (n_one - 1);
	struct mrl_buf q_cut, q_fit;
	mrl_buf_init(&q_cut);
	mrl_buf_init(&q_fit);
	for (size_t i = 0; i < 400; i++)
		mrl_buf_add(&q_cut, i ? " a" : "a");
	for (size_t i = 0; i < fit; i++)
		mrl_buf_add(&q_fit, i ? " a" : "a");
	snprintf(suite, sizeof suite, "%s/cut.json", tmp);
	write_gen_suite(suite, 4, q_cut.data, q_fit.data);
	mrl_buf_release(&q_cut);
	mrl_buf_release(&q_fit);
	ok(n_one > 2, "the template's tokens counted");
	rc = cli_run(&out, "run --model %s --suite %s --chat-template llama2 --quiet --boot 10 --out %s/cut", model, suite,
		     tmp);
	is_int(rc, 0, "a prompt past the context under llama2's template runs");
	free(out);
	snprintf(dir, sizeof dir, "%s/cut", tmp);
	/* both prompts are the same tokens, so the second one's cache holds all of it but the
	 * last token from the first (tokens_cached); a cut from the left made the cut prompt
	 * begin with a's, and the two shared no prefix (0 cached) */
	json_t *items = load_items(dir);
	long long fed[2] = { -1, -1 }, cached[2] = { -1, -1 };
	for (size_t i = 0; i < json_array_size(items); i++) {
		json_t *r = json_array_get(items, i);
		const char *id = json_string_value(json_object_get(r, "item"));
		const int k = id && !strcmp(id, "fits");
		cached[k] = json_integer_value(json_object_get(r, "tokens_cached"));
		fed[k] = cached[k] + json_integer_value(json_object_get(r, "tokens_computed")) -
			 json_integer_value(json_object_get(json_object_get(r, "generation"), "n_tokens"));
	}
	ok(fed[0] == fed[1] && fed[0] > 0, "the cut prompt is as long as the fitting one");
	ok(cached[1] >= fed[1] - 1 && fed[1] > 0, "and the same tokens: the second reuses the first's cache for it");
	if (!(cached[1] >= fed[1] - 1))
		diag("prompt tokens fed %lld / %lld, cached %lld / %lld", fed[0], fed[1], cached[0], cached[1]);
	json_decref(items);
}

/* A suite's "chat_template": applied without --chat-template, overridden by it;
 * two selected tasks declaring different ones need --chat-template. */
static void test_suite_chat(const char *model)
{
	char *out = NULL, suite[512], dir[512];
	json_t *demo = json_load_file("tasks/suites/demo.json", 0, NULL);
	json_object_set_new(demo, "chat_template", json_string("chatml"));
	size_t i;
	json_t *t;
	json_array_foreach(json_object_get(demo, "tasks"), i, t)
		if (!strcmp(json_string_value(json_object_get(t, "id")), "translate_to"))
			json_object_set_new(t, "chat_template", json_string("gemma"));
		else if (!strcmp(json_string_value(json_object_get(t, "id")), "translate_from"))
			json_object_set_new(t, "chat_template", json_string("ChatML")); /* names are case-insensitive */
	snprintf(suite, sizeof suite, "%s/chat-suite.json", tmp);
	ok(demo && !json_dump_file(demo, suite, JSON_INDENT(1)), "the demo suite with \"chat_template\": \"chatml\"");
	json_decref(demo);
#define CHAT_OPTS "--limit 1 --lang hr --seed 1 --boot 50 --quiet --threads 2"
	int rc = cli_run(&out, "run --model %s --suite %s --tasks short_qa " CHAT_OPTS " --out %s/suitechat", model, suite, tmp);
	is_int(rc, 0, "a run of the suite without --chat-template");
	free(out);
	snprintf(dir, sizeof dir, "%s/suitechat", tmp);
	json_t *items = load_items(dir), *results = load_results(dir);
	const char *prompt = json_string_value(json_object_get(json_array_get(items, 0), "prompt"));
	const char *chat = json_string_value(json_object_get(json_object_get(results, "settings"), "chat_template"));
	ok(prompt && !strncmp(prompt, "<|im_start|>user\n", 17), "the suite's chatml wraps the prompt");
	is_str(chat ? chat : "(none)", "chatml", "settings.chat_template records the suite's chatml");
	json_decref(items);
	json_decref(results);
	rc = cli_run(&out, "run --model %s --suite %s --tasks short_qa " CHAT_OPTS " --chat-template none --out %s/override",
		     model, suite, tmp);
	is_int(rc, 0, "--chat-template none overrides the suite's");
	free(out);
	snprintf(dir, sizeof dir, "%s/override", tmp);
	items = load_items(dir);
	results = load_results(dir);
	prompt = json_string_value(json_object_get(json_array_get(items, 0), "prompt"));
	chat = json_string_value(json_object_get(json_object_get(results, "settings"), "chat_template"));
	ok(prompt && strncmp(prompt, "<|im_start|>", 12), "the prompt is not wrapped");
	is_str(chat ? chat : "(none)", "none", "settings.chat_template records none");
	json_decref(items);
	json_decref(results);
	rc = cli_run(&out, "run --model %s --suite %s --tasks short_qa,translate_to " CHAT_OPTS " --out %s/clash", model,
		     suite, tmp);
	ok(rc != 0 && out && strstr(out, "tasks 'short_qa' and 'translate_to' declare different chat templates (chatml, "
					 "gemma): choose one with --chat-template"),
	   "two tasks declaring different templates: refused, naming both");
	if (rc == 0 || !out || !strstr(out, "declare different"))
		diag("got: %s", out ? out : "(nothing)");
	free(out);
	rc = cli_run(&out, "run --model %s --suite %s --tasks short_qa,translate_to " CHAT_OPTS " --chat-template gemma "
			   "--out %s/clash2", model, suite, tmp);
	is_int(rc, 0, "... and --chat-template settles it");
	free(out);
	rc = cli_run(&out, "run --model %s --suite %s --tasks short_qa,translate_from " CHAT_OPTS " --out %s/samecase",
		     model, suite, tmp);
	is_int(rc, 0, "\"ChatML\" and \"chatml\" are the same template: no clash");
	if (rc)
		diag("got: %s", out ? out : "(nothing)");
	free(out);
#undef CHAT_OPTS
}

/* The progress lines (stderr not a terminal) of a generate task advance by a
 * batch at once: 12 units in batches of 8 and 4 make two lines. */
static void test_progress(const char *model)
{
	char *out = NULL;
	int rc = cli_run(&out, "run --model %s --suite tasks/suites/demo.json --tasks short_qa --limit 3 --seed 1 "
			       "--boot 50 --threads 2 --out %s/progress", model, tmp);
	is_int(rc, 0, "a run of short_qa (12 units) with progress lines");
	ok(out && strstr(out, "merilo run: 8/12 units (66.7%), short_qa, 8 units, "),
	   "the first batch: 8 units at once, the line names the task and the count");
	ok(out && strstr(out, "merilo run: 12/12 units (100.0%), short_qa, 4 units, "), "the second: 4 units, 12/12");
	size_t n_lines = 0;
	char *save = NULL;
	for (char *l = out ? strtok_r(out, "\n", &save) : NULL; l; l = strtok_r(NULL, "\n", &save))
		if (!strncmp(l, "merilo run: ", 12) && strstr(l, " units (")) {
			diag("%s", l);
			n_lines++;
		}
	is_int((long)n_lines, 2, "one progress line per batch");
	free(out);
}

static void test_smollm2_template(void)
{
	char src[512], model[512], *out = NULL, dir[512];
	const char *fx = fixtures_dir();
	snprintf(src, sizeof src, "%s/models-real/smollm2-135m-instruct-q4_1.gguf", fx ? fx : "../shared/fixtures");
	if (!fx || access(src, R_OK)) {
		skip("../shared/fixtures/models-real/smollm2-135m-instruct-q4_1.gguf absent", "SmolLM2's template");
		return;
	}
	snprintf(model, sizeof model, "%s/smol-vocab.gguf", tmp);
	int rc = cli_run(&out, "synth --preset tiny --vocab %s --seed 2 -o %s", src, model);
	is_int(rc, 0, "a tiny model with SmolLM2's tokenizer (and chat template) is made");
	free(out);
	rc = cli_run(&out, "run --model %s " RUN_OPTS " --tasks short_qa --lang en --limit 1 --out %s/smol", model, tmp);
	is_int(rc, 0, "--chat-template auto runs");
	free(out);
	snprintf(dir, sizeof dir, "%s/smol", tmp);
	json_t *items = load_items(dir), *results = load_results(dir);
	const char *prompt = json_string_value(json_object_get(json_array_get(items, 0), "prompt"));
	ok(prompt && !strncmp(prompt, "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by "
				      "Hugging Face<|im_end|>\n<|im_start|>user\nAnswer in a word", 127),
	   "auto applies SmolLM2's ChatML with its default system message");
	const char *chat = json_string_value(json_object_get(json_object_get(results, "settings"), "chat_template"));
	is_str(chat ? chat : "(none)", "chatml", "settings.chat_template records chatml");
	json_decref(items);
	json_decref(results);
	/* names in any case: AUTO was taken for a family name (exit 3, "unknown chat template") */
	rc = cli_run(&out, "run --model %s " RUN_OPTS " --tasks short_qa --lang en --limit 1 --chat-template AUTO "
			   "--out %s/smol-upper", model, tmp);
	is_int(rc, 0, "--chat-template AUTO is auto");
	free(out);
	snprintf(dir, sizeof dir, "%s/smol-upper", tmp);
	results = load_results(dir);
	chat = json_string_value(json_object_get(json_object_get(results, "settings"), "chat_template"));
	is_str(chat ? chat : "(none)", "chatml", "AUTO applies the model's template");
	json_decref(results);
}

/* dir: fixtures/hf/qwen2 with Qwen3's chat template (tests/data/chat/expected.json): in its
 * tokenizer_config.json (where: 0), in chat_template.jinja as transformers 5 saves it (1),
 * or there while tokenizer_config.json holds Llama 3's (2: the file wins, as in
 * transformers). 0 or -1. */
static int qwen3_chat_folder(const char *qwen2, const char *dir, int where)
{
	char cmd[2048], path[1024], abs_src[512];
	if (!realpath(qwen2, abs_src))
		return -1;
	snprintf(cmd, sizeof cmd, "mkdir -p '%s' && for f in config.json model.safetensors tokenizer.json "
		 "generation_config.json; do ln -sf '%s'/$f '%s'/; done", dir, abs_src, dir);
	json_t *chat = json_load_file("tests/data/chat/expected.json", 0, NULL), *c;
	const char *tmpl = NULL, *llama3 = NULL;
	size_t i;
	json_array_foreach(json_object_get(chat, "cases"), i, c) {
		const char *model = json_string_value(json_object_get(c, "model"));
		if (!strcmp(model, "Qwen/Qwen3-0.6B"))
			tmpl = json_string_value(json_object_get(c, "template"));
		if (!strcmp(model, "meta-llama/Meta-Llama-3-8B-Instruct"))
			llama3 = json_string_value(json_object_get(c, "template"));
	}
	snprintf(path, sizeof path, "%s/tokenizer_config.json", abs_src);
	json_t *tc = json_load_file(path, 0, NULL);
	snprintf(path, sizeof path, "%s/tokenizer_config.json", dir);
	int rc = tmpl && llama3 && tc && !system(cmd) ? 0 : -1;
	if (!rc && where != 1)
		rc = json_object_set_new(tc, "chat_template", json_string(where ? llama3 : tmpl));
	rc = rc ? rc : json_dump_file(tc, path, 0);
	snprintf(path, sizeof path, "%s/chat_template.jinja", dir);
	if (!rc && where)
		rc = cli_write_file(path, tmpl);
	json_decref(tc);
	json_decref(chat);
	return rc;
}

/* The exact_match answers of a run's records all equal to the text after its "</think>"
 * (thinking on: "" without one), and each record's generation.thinking.mode is mode. */
static bool answers_follow(json_t *items, const char *mode)
{
	json_t *it;
	size_t i;
	bool all = json_array_size(items) > 0;
	json_array_foreach(items, i, it) {
		const json_t *g = json_object_get(it, "generation"), *th = json_object_get(g, "thinking");
		const char *text = json_string_value(json_object_get(g, "text"));
		const char *pred = json_string_value(json_object_get(json_object_get(json_object_get(it, "metrics"),
										     "exact_match"), "pred_text"));
		const json_t *at = json_object_get(th, "answer_at");
		const char *from = !text ? "" : json_is_integer(at) ? text + json_integer_value(at) : !strcmp(mode, "on") ? "" : text;
		while (*from == ' ' || (*from >= '\t' && *from <= '\r'))
			from++;
		/* the answer is from with its trailing white space (ASCII, or a multi-byte space) left out */
		bool whole = pred && !strncmp(pred, from, strlen(pred));
		for (const char *r = whole ? from + strlen(pred) : ""; whole && *r; r++)
			whole = *r == ' ' || (*r >= '\t' && *r <= '\r') || (unsigned char)*r >= 0x80;
		all = all && text && whole && !strcmp(json_string_value(json_object_get(th, "mode")), mode);
	}
	return all;
}

/* A Qwen3 chat template (its enable_thinking switch): off by default, the empty <think>
 * block written; --thinking on without it, answers after </think>; recorded, compared,
 * resumed. */
static void test_thinking(const char *model)
{
	char src[512], dir[512], run[600], *out = NULL;
	const char *fx = fixtures_dir();
	snprintf(src, sizeof src, "%s/hf/qwen2", fx ? fx : "../shared/fixtures");
	snprintf(dir, sizeof dir, "%s/qwen3-chat", tmp);
	if (!fx || access(src, R_OK) || qwen3_chat_folder(src, dir, 0)) {
		skip("../shared/fixtures/hf/qwen2 absent", "Qwen3's thinking switch");
		return;
	}
	/* stop strings a random model writes at once: under thinking on they must wait for </think> */
	char suite[600];
	snprintf(suite, sizeof suite, "%s/think-suite.json", tmp);
	cli_write_file(suite, "{\"format\": \"merilo-suite/1\", \"name\": \"think\", \"version\": \"1\", "
			      "\"description\": \"\", \"source\": \"\", \"license\": \"CC0-1.0\", \"tasks\": [{\"id\": "
			      "\"g\", \"type\": \"generate\", \"metrics\": [\"exact_match\"], \"languages\": [\"hr\"], "
			      "\"templates\": {\"hr\": {\"context\": \"Pitanje: {q}\\nOdgovor:\"}}, \"max_new_tokens\": 8, "
			      "\"stop\": [\" \", \"a\", \"e\", \"i\", \"o\", \"n\", \"t\", \"s\", \"r\", \"\\n\"], \"items\": "
			      "[{\"id\": \"q1\", \"hr\": {\"q\": \"Koji je glavni grad Srbije?\", \"target\": \"Beograd\"}}, "
			      "{\"id\": \"q2\", \"hr\": {\"q\": \"Koji je glavni grad Hrvatske?\", \"target\": \"Zagreb\"}}]}]}");
	static const char *const modes[] = { "off", "on" };
	for (int k = 0; k < 2; k++) {
		int rc = cli_run(&out, "run --model %s --suite %s --seed 1 --boot 200 --quiet --threads 2 %s --out %s/think-%s",
				 dir, suite, k ? "--thinking on --thinking-budget 24" : "", tmp, modes[k]);
		is_int(rc, 0, k ? "--thinking on runs" : "a Qwen3 template runs with thinking off by default");
		free(out);
		snprintf(run, sizeof run, "%s/think-%s", tmp, modes[k]);
		json_t *items = load_items(run), *results = load_results(run);
		const char *prompt = json_string_value(json_object_get(json_array_get(items, 0), "prompt"));
		const char *tail = k ? "\nOdgovor:<|im_end|>\n<|im_start|>assistant\n"
				     : "<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n";
		ok(prompt && strlen(prompt) > strlen(tail) && !strcmp(prompt + strlen(prompt) - strlen(tail), tail),
		   k ? "thinking on: the assistant's turn is opened as the template's default"
		     : "thinking off: the turn opens with an empty <think> block, as enable_thinking=False renders it");
		const char *th = json_string_value(json_object_get(json_object_get(results, "settings"), "thinking"));
		is_str(th ? th : "(none)", modes[k], "settings.thinking records the mode");
		ok(answers_follow(items, modes[k]), k ? "thinking on: each answer is what follows </think>, empty without one"
						      : "thinking off: each answer is the text (after a </think> where there is one)");
		/* max_new_tokens 8, stop strings of common letters; the random model writes no </think> */
		bool all = json_array_size(items) == 2, any_stop = false;
		json_t *it;
		size_t i;
		json_array_foreach(items, i, it) {
			const json_t *g = json_object_get(it, "generation");
			const char *stop = json_string_value(json_object_get(g, "stop_reason"));
			const char *text = json_string_value(json_object_get(g, "text"));
			const json_int_t nt = json_integer_value(json_object_get(g, "n_tokens"));
			any_stop = any_stop || (stop && !strcmp(stop, "stop"));
			all = all && text && stop && (k ? nt <= 8 + 24 && strcmp(stop, "stop") : nt <= 8);
			if (k)
				all = all && (strpbrk(text, " aeiontsr\n") || strcmp(stop, "max_tokens")); /* they were there */
		}
		ok(all, k ? "thinking on: up to 8 + 24 new tokens, and no stop string before a </think> though the text "
			    "holds them" : "thinking off: the task's 8 new tokens at most");
		if (!k)
			ok(any_stop, "thinking off: the stop strings stop the answers");
		const json_t *budget = json_object_get(json_object_get(results, "settings"), "thinking_budget");
		ok(k ? json_integer_value(budget) == 24 : budget == NULL,
		   k ? "settings.thinking_budget records 24" : "thinking off: no settings.thinking_budget");
		json_decref(items);
		json_decref(results);
	}
	int rc = cli_run(&out, "compare %s/think-off %s/think-on", tmp, tmp);
	ok(rc == 3 && out && strstr(out, "chatml, thinking off") && strstr(out, "chatml, thinking on, budget 24"),
	   "compare: runs with thinking off and on are not comparable (exit 3), the difference named");
	free(out);
	stop_and_resume(dir, "--thinking on --thinking-budget 24", "think-part", "--thinking off",
			"--thinking off differs from the resumed run's on");
	rc = cli_run(&out, "run --model %s " RUN_OPTS " --tasks short_qa --lang hr --limit 1 --thinking on --out %s/think-big",
		     dir, tmp);
	ok(rc == 3 && out && strstr(out, "max_new_tokens 1032 (with --thinking-budget) leaves no room for the prompt in "
					 "the model's 256 positions"),
	   "the default budget (1024) past a 256-position model is refused before the run, naming --thinking-budget");
	free(out);
	snprintf(run, sizeof run, "%s/think-part", tmp);
	json_t *items = load_items(run);
	ok(json_array_size(items) == 2 && answers_follow(items, "on"), "the resumed unit has thinking on too");
	json_decref(items);
	rc = cli_run(&out, "run --model %s " RUN_OPTS " --tasks short_qa --limit 1 --thinking yes --out %s/think-bad",
		     model, tmp);
	ok(rc == 2 && out && strstr(out, "--thinking wants on or off, not 'yes'"), "--thinking yes is a usage error");
	free(out);
	rc = cli_sh(&out, "'%s' run --model %s --suite tasks/suites/demo.json --tasks short_qa --lang hr --limit 1 "
			  "--threads 2 --chat-template chatml --thinking on --out %s/think-none 2>&1 >/dev/null",
		    cli_merilo(), model, tmp);
	ok(rc == 0 && out && strstr(out, "--thinking on changes nothing: the chat template (chatml) has no thinking"),
	   "--thinking on under a template without the switch says it changes nothing");
	free(out);
	rc = cli_sh(&out, "'%s' run --model %s --suite tasks/suites/demo.json --tasks short_qa --lang hr --limit 1 "
			  "--threads 2 --out %s/think-header 2>&1 >/dev/null", cli_merilo(), dir, tmp);
	ok(rc == 0 && out && strstr(out, ", chat template chatml (thinking off), writing "),
	   "the run's first line names the chat template and the thinking mode");
	free(out);
}

/* The settings.chat_template and model sha256 of a one-unit short_qa run of model into tmp/name;
 * *prompt_tail gets whether the prompt ends with an empty <think> block. */
static void template_run(const char *model, const char *name, const char **chat, const char **sha, bool *think_block,
			 json_t **results)
{
	char *out = NULL, dir[480];
	int rc = cli_run(&out, "run --model %s " RUN_OPTS " --tasks short_qa --lang hr --limit 1 --out %s/%s", model, tmp,
			 name);
	free(out);
	snprintf(dir, sizeof dir, "%s/%s", tmp, name);
	json_t *items = rc ? NULL : load_items(dir);
	*results = rc ? NULL : load_results(dir);
	const char *prompt = json_string_value(json_object_get(json_array_get(items, 0), "prompt"));
	const char *tail = "<|im_start|>assistant\n<think>\n\n</think>\n\n";
	*think_block = prompt && strlen(prompt) > strlen(tail) && !strcmp(prompt + strlen(prompt) - strlen(tail), tail);
	*chat = json_string_value(json_object_get(json_object_get(*results, "settings"), "chat_template"));
	*sha = json_string_value(json_object_get(json_object_get(*results, "model"), "sha256"));
	json_decref(items);
}

/* A chat template in chat_template.jinja (transformers 5's save_pretrained writes it there and
 * takes it out of tokenizer_config.json): applied, taking priority over the config's, and
 * part of the model's digest. */
static void test_template_file(void)
{
	char src[512], dir[512], path[600];
	const char *fx = fixtures_dir();
	snprintf(src, sizeof src, "%s/hf/qwen2", fx ? fx : "../shared/fixtures");
	if (!fx || access(src, R_OK)) {
		skip("../shared/fixtures/hf/qwen2 absent", "chat_template.jinja");
		return;
	}
	const char *chat = NULL, *sha = NULL, *sha2 = NULL;
	bool think = false;
	json_t *r1 = NULL, *r2 = NULL;
	for (int where = 1; where <= 2; where++) {
		snprintf(dir, sizeof dir, "%s/jinja-%d", tmp, where);
		ok(!qwen3_chat_folder(src, dir, where), where == 1 ? "setup: the template in chat_template.jinja only"
								   : "setup: Qwen3's in chat_template.jinja, Llama 3's in the config");
		template_run(dir, where == 1 ? "jinja-run-1" : "jinja-run-2", &chat, &sha, &think, where == 1 ? &r1 : &r2);
		ok(chat && !strcmp(chat, "chatml") && think, where == 1 ? "chat_template.jinja is the model's template (ChatML, "
								      "Qwen3's thinking switch)"
									: "chat_template.jinja wins over tokenizer_config.json's");
	}
	snprintf(path, sizeof path, "%s/jinja-1/chat_template.jinja", tmp);
	char *t = cli_slurp(path);
	char *t2 = t ? malloc(strlen(t) + 2) : NULL;
	if (t2) {
		sprintf(t2, "%s\n", t);
		cli_write_file(path, t2);
	}
	json_t *r3 = NULL;
	snprintf(dir, sizeof dir, "%s/jinja-1", tmp);
	sha = json_string_value(json_object_get(json_object_get(r1, "model"), "sha256"));
	template_run(dir, "jinja-run-3", &chat, &sha2, &think, &r3);
	ok(sha && sha2 && strcmp(sha, sha2), "chat_template.jinja is part of the model's sha256 (a changed template changes it)");
	char *out = NULL;
	int rc = cli_run(&out, "info %s", dir);
	ok(rc == 0 && out && strstr(out, "\nchat template: chatml, Qwen3's thinking switch (run --thinking)\n"),
	   "merilo info names the template run applies and its thinking switch");
	free(out);
	rc = cli_run(&out, "info --json %s", dir);
	json_t *info = rc == 0 && out ? json_loads(out, 0, NULL) : NULL;
	json_t *ct = json_object_get(info, "chat_template");
	ok(json_is_string(json_object_get(ct, "family")) && !strcmp(json_string_value(json_object_get(ct, "family")), "chatml") &&
		   json_is_true(json_object_get(ct, "thinking_switch")) && json_is_null(json_object_get(ct, "refused")),
	   "info --json: chat_template {family chatml, thinking_switch true, refused null}");
	json_decref(info);
	free(out);
	snprintf(path, sizeof path, "%s/jinja-1/chat_template.jinja", tmp);
	cli_write_file(path, "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n<think>\\n' }}{%- endif %}");
	rc = cli_run(&out, "info %s", dir);
	ok(rc == 0 && out && strstr(out, "\nchat template: not applied by run's --chat-template auto: the model's chat "
					 "template is a ChatML template that always opens the assistant's turn with <think>"),
	   "merilo info says why run would refuse a template (QwQ's turn opened with <think>)");
	free(out);
	free(t);
	free(t2);
	json_decref(r1);
	json_decref(r2);
	json_decref(r3);
}

/* merilo score: texts written elsewhere scored as run scores generated ones. */
static void test_score(void)
{
	char pred[512], *out = NULL, dir[512];
	snprintf(pred, sizeof pred, "%s/pred.jsonl", tmp);
	cli_write_file(pred,
		       "{\"task\": \"short_qa\", \"item\": \"sqa-001\", \"language\": \"en\", \"text\": \" Belgrade\\n\"}\n"
		       "{\"task\": \"short_qa\", \"item\": \"sqa-001\", \"language\": \"sr-Cyrl\", \"text\": \"Beograd\"}\n"
		       "{\"task\": \"short_qa\", \"item\": \"sqa-001\", \"language\": \"hr\", \"text\": \"Glavni grad je Beograd.\"}\n"
		       "{\"task\": \"short_qa\", \"item\": \"sqa-001\", \"language\": \"sr-Latn\", \"text\": null}\n");
	int rc = cli_run(&out, "score --suite tasks/suites/demo.json --tasks short_qa --predictions %s --system s "
			       "--allow-missing --boot 100 -o %s/score", pred, tmp);
	is_int(rc, 0, "merilo score takes generated texts of a generate task");
	free(out);
	snprintf(dir, sizeof dir, "%s/score", tmp);
	json_t *items = load_items(dir), *rec, *en = NULL, *sr = NULL, *hr = NULL, *lat = NULL;
	size_t i;
	json_array_foreach(items, i, rec) {
		const char *lang = json_string_value(json_object_get(rec, "language"));
		if (strcmp(json_string_value(json_object_get(rec, "item")), "sqa-001"))
			continue;
		json_t **slot = !strcmp(lang, "en") ? &en : !strcmp(lang, "sr-Cyrl") ? &sr : !strcmp(lang, "hr") ? &hr : &lat;
		*slot = rec;
	}
	ok(en && metric_value(en, "exact_match") == 1.0, "' Belgrade\\n' is an exact match of 'Belgrade'");
	ok(sr && metric_value(sr, "exact_match") == 0.0 && metric_value(sr, "script_ok") == 0.0,
	   "sr-Cyrl 'Beograd' (Latin): not an exact match of 'Београд', and script_ok wrong");
	ok(hr && metric_value(hr, "exact_match") == 0.0 && metric_value(hr, "contains") == 1.0,
	   "hr 'Glavni grad je Beograd.': no exact match, but contains the reference");
	ok(lat && metric_value(lat, "exact_match") == 0.0 &&
		   !strcmp(json_string_value(json_object_get(json_object_get(lat, "generation"), "text")), ""),
	   "a null text is no answer: scored as \"\", wrong");
	json_decref(items);
	rc = cli_run(&out, "score --suite tasks/suites/demo.json --tasks short_qa --predictions %s --system s -o %s/s2",
		     pred, tmp);
	ok(rc == 3 && out && strstr(out, "no prediction for"), "missing texts without --allow-missing: exit 3");
	free(out);
	/* compare pairs script_ok although the first item's answer ("42") has none */
	char pa[512], pb[512];
	snprintf(pa, sizeof pa, "%s/a.jsonl", tmp);
	snprintf(pb, sizeof pb, "%s/b.jsonl", tmp);
	cli_write_file(pa, "{\"task\": \"short_qa\", \"item\": \"sqa-001\", \"language\": \"hr\", \"text\": \"42\"}\n"
			   "{\"task\": \"short_qa\", \"item\": \"sqa-002\", \"language\": \"hr\", \"text\": \"Zagreb\"}\n");
	cli_write_file(pb, "{\"task\": \"short_qa\", \"item\": \"sqa-001\", \"language\": \"hr\", \"text\": \"42\"}\n"
			   "{\"task\": \"short_qa\", \"item\": \"sqa-002\", \"language\": \"hr\", \"text\": \"Загреб\"}\n");
	rc = cli_run(&out, "score --suite tasks/suites/demo.json --tasks short_qa --lang hr --predictions %s --system a "
			   "--allow-missing --boot 100 -o %s/sa", pa, tmp);
	free(out);
	rc |= cli_run(&out, "score --suite tasks/suites/demo.json --tasks short_qa --lang hr --predictions %s --system b "
			    "--allow-missing --boot 100 -o %s/sb", pb, tmp);
	free(out);
	/* generate tasks only: the default gate (acc, acc_norm) judges nothing: undetermined, exit 3 */
	int crc = cli_sh(&out, "'%s' compare %s/sa %s/sb --format json 2>/dev/null", cli_merilo(), tmp, tmp);
	json_t *cj = out ? json_loads(out, 0, NULL) : NULL;
	ok(rc == 0 && crc == 3 && cj && json_is_true(json_object_get(json_object_get(cj, "result"), "gate_empty")),
	   "compare of two scored runs (JSON): no metric gated by default, so undetermined (exit 3)");
	ok(out && strstr(out, "\"script_ok\""), "compare pairs script_ok even when the first item has none");
	json_decref(cj);
	free(out);
}

int main(void)
{
	if (!cli_tmpdir(tmp, sizeof tmp, "hrn_gen"))
		skip_all("no temporary folder");
	char model[512], *out = NULL;
	snprintf(model, sizeof model, "%s/m.gguf", tmp);
	if (cli_run(&out, "synth " CLI_SYNTH_SMALL " --dtype f16 --seed 1 -o %s", model))
		skip_all("merilo synth failed");
	free(out);
	TEST(test_run(model), "generate tasks end to end: fields, values, corpus scores, resume");
	TEST(test_chat(model), "--chat-template chatml and an unknown name");
	TEST(test_suite_chat(model), "a suite's chat_template, and --chat-template over it");
	TEST(test_chat_cut(model), "a chat prompt past the context loses the start of its message, not its header");
	TEST(test_max_new(model), "max_new_tokens up to the context less one");
	TEST(test_progress(model), "progress lines count a generate batch's units at once");
	TEST(test_smollm2_template(), "a model's own ChatML template under auto");
	TEST(test_score(), "merilo score on generated texts");
	TEST(test_thinking(model), "Qwen3's thinking switch: off by default, on scores after </think>");
	TEST(test_template_file(), "a chat template in chat_template.jinja, as transformers 5 saves it");
	cli_rmtree(tmp);
	return done_testing();
}
