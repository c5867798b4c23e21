/* cmd_generate.c — `merilo generate`: text generation through eng_generate.
 *
 * Every prompt (--prompt, repeatable, and/or --prompts FILE: one a line, or
 * JSONL objects with a "prompt" string) is tokenized (BOS as the model says),
 * then all are generated in one eng_generate call, --batch sequences at a time
 * (one forward per step for the whole batch). Greedy unless --temperature > 0
 * (then top-k, top-p and a seed that is printed with --json). Generation runs
 * past EOS unless --stop-eos (as llama.cpp's fixtures were made). Prints the
 * texts (one prompt: the text and a newline), or with --ids the generated ids one
 * per line (a blank line between prompts), or with --json one document holding
 * every result. --timing reports generated tokens/s on stderr (tokenization excluded).
 *
 * Texts and ids are printed as they finish, in prompt order (a prompt's result
 * waits for those before it), so a long run shows its work and Ctrl-C loses
 * nothing that was printed; a progress line counts the prompts on stderr
 * (harness/progress.h). SIGINT/SIGTERM stop the generation before its next step:
 * what is finished is printed (--json: the document, unfinished prompts with
 * stop_reason "interrupted"), one line says how many were not, exit 4 (as run).
 */
#include "harness/hrn.h"

#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/buf.h"
#include "common/fileio.h"
#include "common/utf8.h"
#include "engine/eng.h"
#include "harness/progress.h"

#define MAX_PROMPTS_FILE (64u << 20)

struct strlist {
	char **v;
	size_t n;
};

static int strlist_add(struct strlist *l, const char *s, size_t len)
{
	char **nv = realloc(l->v, (l->n + 1) * sizeof *nv);
	if (!nv)
		return MRL_ENOMEM;
	l->v = nv;
	if (!(l->v[l->n] = strndup(s, len)))
		return MRL_ENOMEM;
	l->n++;
	return 0;
}

static void strlist_free(struct strlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	*l = (struct strlist){ 0 };
}

/* --prompt and --stop: each occurrence adds to the list. */
static int opt_add(const struct mrl_option *opt, const char *arg, struct mrl_err *err)
{
	if (strlist_add(opt->value, arg, strlen(arg)))
		return mrl_err_set(err, MRL_ENOMEM, "--%s: out of memory", opt->long_name);
	return 0;
}

static void usage(FILE *out, const struct mrl_option *opts)
{
	fprintf(out, "usage: merilo generate --model MODEL (--prompt TEXT ... | --prompts FILE) [-n N]\n"
		     "                       [--stop STR ...] [--stop-eos] [--batch N] [--temperature T --top-k K\n"
		     "                       --top-p P --seed S] [--ids | --json] [--timing] [--threads N] [--backend cpu|cuda]\n"
		     "Generate up to N tokens (default 32) after every prompt, all prompts in one batched run.\n"
		     "Greedy unless --temperature > 0. Generation stops at the model's training context: when a\n"
		     "prompt's tokens plus N exceed it, that prompt ends there (stop_reason ctx_full) with one\n"
		     "warning on stderr; a prompt longer than the context is an error (exit 3).\n");
	hrn_print_options(out, opts, 22);
	fprintf(out, "Texts (or --ids) are printed as they finish, in prompt order; --json prints one document at\n"
		     "the end. A progress line (prompts done, prompts/s, ETA) goes to stderr once the run has\n"
		     "taken 5 s; none with --quiet. Ctrl-C (SIGINT) or SIGTERM stops before the next step: the\n"
		     "finished results are printed, unfinished --json entries say stop_reason \"interrupted\".\n"
		     "Test hooks: MERILO_TEST_PROGRESS_DELAY_MS=N starts the progress after N ms;\n"
		     "MERILO_TEST_SLOW_MS=N sleeps N ms after each finished prompt.\n");
	fprintf(out, "exit codes: 0 success, 2 usage error, 3 missing or bad model or prompts file, 4 runtime failure\n"
		     "or interrupted\n");
}

/* --timing, on stderr: with one prompt, its prefill (the first step: the prompt and
 * the first token) and decode (the other n_ids - 1 tokens) as before batching
 * (ci/bench.sh reads these two lines); always the generated tokens/s of the call. */
static void print_timing(const struct eng_gen_stats *st, size_t n, long n_batch, size_t n_ids_one)
{
	if (n == 1) {
		const double dec_s = st->total_s - st->first_step_s;
		const size_t n_dec = n_ids_one > 0 ? n_ids_one - 1 : 0;
		fprintf(stderr, "prefill: %llu tokens in %.3f s (%.1f tokens/s)\n",
			(unsigned long long)st->n_prompt_computed, st->first_step_s,
			(double)st->n_prompt_computed / st->first_step_s);
		fprintf(stderr, "decode: %zu tokens in %.3f s (%.1f tokens/s)\n", n_dec, dec_s,
			n_dec ? (double)n_dec / dec_s : 0.0);
	}
	fprintf(stderr, "generate: %zu prompt%s, batch %ld: %llu prompt tokens computed (%llu cached), %llu tokens "
			"generated in %.3f s: %.1f generated tokens/s (%llu forward steps)\n",
		n, n == 1 ? "" : "s", n_batch, (unsigned long long)st->n_prompt_computed, (unsigned long long)st->n_prompt_cached,
		(unsigned long long)st->n_generated, st->total_s,
		st->total_s > 0 ? (double)st->n_generated / st->total_s : 0.0, (unsigned long long)st->n_forward);
}

/* The prompts of FILE: one a line (empty lines skipped), or a JSON object with a
 * "prompt" string on a line that starts with '{'. */
static int read_prompts(const char *path, struct strlist *out, struct mrl_err *err)
{
	char *data = NULL;
	size_t len = 0;
	int rc = mrl_read_file(path, MAX_PROMPTS_FILE, &data, &len, err);
	if (rc)
		return rc;
	size_t line_no = 0, n_empty = 0;
	for (char *p = data, *end = data + len; p < end && !rc; line_no++) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		if (n && p[n - 1] == '\r')
			n--;
		if (n && p[0] == '{') {
			json_error_t je;
			json_t *o = json_loadb(p, n, 0, &je);
			const char *s = json_string_value(json_object_get(o, "prompt"));
			if (!s)
				rc = mrl_err_set(err, MRL_EINPUT, "%s:%zu: %s", path, line_no + 1,
						 o ? "the object has no \"prompt\" string" : je.text);
			else if (strlist_add(out, s, json_string_length(json_object_get(o, "prompt"))))
				rc = mrl_err_set(err, MRL_ENOMEM, "%s: out of memory", path);
			json_decref(o);
		} else if (n && strlist_add(out, p, n)) {
			rc = mrl_err_set(err, MRL_ENOMEM, "%s: out of memory", path);
		}
		n_empty += !n && nl; /* a blank line (the last newline ends a line, it opens none) */
		if (!nl)
			break;
		p = nl + 1;
	}
	free(data);
	if (!rc && out->n == 0)
		rc = mrl_err_set(err, MRL_EINPUT, "%s: no prompts in the file", path);
	if (!rc && n_empty) /* the text output has one line per prompt: say why it has fewer than the file */
		fprintf(stderr, "merilo generate: %s: %zu empty line%s skipped (no prompt; the results follow the %zu others)\n",
			path, n_empty, n_empty == 1 ? "" : "s", out->n);
	return rc;
}

/* text as a JSON string, every byte that is not valid UTF-8 as U+FFFD. */
static json_t *json_text(const char *s, size_t len)
{
	struct mrl_buf b = MRL_BUF_INIT;
	for (size_t i = 0; i < len;) {
		size_t n = mrl_utf8_decode(s + i, len - i, NULL);
		if (n) {
			mrl_buf_addn(&b, s + i, n);
			i += n;
		} else {
			mrl_buf_add(&b, "\xef\xbf\xbd");
			i++;
		}
	}
	json_t *j = b.oom ? NULL : json_stringn(b.data, b.len);
	mrl_buf_release(&b);
	return j;
}

/* One result; stop_string is the --stop string that ended it (its text is cut before
 * it, while ids keep the tokens that completed it), null otherwise. */
static json_t *result_json(const char *prompt, size_t n_prompt, const struct eng_gen_res *r, const struct strlist *stops)
{
	const bool done = r->text != NULL; /* an interrupted run leaves the unfinished empty */
	json_t *ids = json_array();
	for (size_t k = 0; k < r->n_ids; k++)
		json_array_append_new(ids, json_integer(r->ids[k]));
	const char *matched = done && r->stop == ENG_GEN_STOP_STRING && r->stop_index >= 0 &&
				      (size_t)r->stop_index < stops->n
				      ? stops->v[r->stop_index]
				      : NULL;
	return json_pack("{s:o, s:I, s:o, s:o, s:I, s:s, s:o}", "prompt", json_text(prompt, strlen(prompt)),
			 "n_prompt_tokens", (json_int_t)n_prompt, "text", json_text(done ? r->text : "", r->text_len), "ids",
			 ids, "n_tokens", (json_int_t)r->n_ids, "stop_reason",
			 done ? eng_gen_stop_name(r->stop) : "interrupted", "stop_string",
			 matched ? json_text(matched, strlen(matched)) : json_null());
}

struct gen_cli {
	const char *model_path, *prompts_path;
	struct strlist prompts, stops;
	long n_gen, n_threads, n_batch, top_k;
	double temperature, top_p;
	uint64_t seed;
	bool ids_only, stop_eos, timing, json, affinity, parse_special, quiet;
	enum eng_backend backend;
	const char *kv_cache; /* "f16" (NULL) or "f32" */
};

/* --json: the document of every result (after the run). */
static void print_json(const struct gen_cli *a, const struct eng_gen_res *res, const size_t *n_prompt,
		       const struct eng_gen_opts *o)
{
	json_t *arr = json_array();
	for (size_t i = 0; i < a->prompts.n; i++)
		json_array_append_new(arr, result_json(a->prompts.v[i], n_prompt[i], &res[i], &a->stops));
	json_t *stops = json_array();
	for (size_t i = 0; i < a->stops.n; i++)
		json_array_append_new(stops, json_text(a->stops.v[i], strlen(a->stops.v[i])));
	/* every option that changes the output, so that the document says how to make it again */
	json_t *doc = json_pack("{s:s, s:I, s:b, s:f, s:I, s:f, s:I, s:b, s:o, s:b, s:s, s:o}", "model", a->model_path,
				"max_new_tokens", (json_int_t)a->n_gen, "greedy", !(o->temperature > 0.0f),
				"temperature", a->temperature, "top_k", (json_int_t)o->top_k, "top_p", a->top_p, "seed",
				(json_int_t)o->seed, "stop_eos", !o->ignore_eos, "stop", stops, "parse_special",
				a->parse_special, "kv_cache", a->kv_cache ? a->kv_cache : "f16", "results", arr);
	char *s = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(9));
	if (s)
		printf("%s\n", s);
	free(s);
	json_decref(doc);
}

/* What eng_generate's on_done sees: the results so far, the next prompt to print
 * (text and --ids print in prompt order as soon as a prompt and all before it are
 * done), the progress line, and the test hook's pause. */
struct gen_watch {
	const struct gen_cli *a;
	const struct eng_gen_res *res;
	bool *done;
	size_t next_print;
	struct hrn_progress prog;
	long slow_ms;
};

static void print_one(const struct gen_cli *a, size_t i, const struct eng_gen_res *r)
{
	if (a->ids_only) {
		if (i)
			printf("\n");
		for (size_t k = 0; k < r->n_ids; k++)
			printf("%d\n", r->ids[k]);
	} else {
		fwrite(r->text, 1, r->text_len, stdout);
		printf("\n");
	}
}

static void on_done(void *user, size_t index, const struct eng_gen_res *r)
{
	struct gen_watch *w = user;
	(void)r;
	w->done[index] = true;
	if (!w->a->json) {
		for (; w->next_print < w->a->prompts.n && w->done[w->next_print]; w->next_print++)
			print_one(w->a, w->next_print, &w->res[w->next_print]);
		fflush(stdout);
	}
	char what[48];
	snprintf(what, sizeof what, "prompt %zu", index + 1);
	hrn_progress_step(&w->prog, what);
	if (w->slow_ms > 0)
		nanosleep(&(struct timespec){ w->slow_ms / 1000, w->slow_ms % 1000 * 1000000L }, NULL);
}

/* After SIGINT/SIGTERM stopped the generation: one line on what is kept. */
static void say_interrupted(const struct gen_watch *w, const struct eng_gen_stats *st)
{
	const size_t n = w->a->prompts.n, n_done = n - st->n_unfinished;
	const char *sig = hrn_stop_signal == SIGTERM ? "SIGTERM" : "SIGINT";
	if (w->a->json)
		fprintf(stderr, "merilo generate: interrupted (%s); %zu of %zu prompts were generated (the other %zu have "
				"stop_reason \"interrupted\" in the JSON)\n", sig, n_done, n, st->n_unfinished);
	else
		fprintf(stderr, "merilo generate: interrupted (%s); %zu of %zu prompts were generated; the results of the "
				"first %zu are printed, the other %zu are not\n", sig, n_done, n, w->next_print,
			n - w->next_print);
}

static int parse_args(struct gen_cli *a, int argc, char **argv)
{
	const struct mrl_option options[] = {
		OPT_STRING('m', "model", &a->model_path, "MODEL", "the model: a GGUF file or an HF folder"),
		OPT_CALLBACK(0, "prompt", &a->prompts, "TEXT", "a prompt (repeatable: all are generated in one batched run)",
			     opt_add),
		OPT_STRING(0, "prompts", &a->prompts_path, "FILE", "prompts, one a line, or JSONL objects with \"prompt\""),
		OPT_INTEGER('n', "n-predict", &a->n_gen, 0, 1 << 20, "N", "tokens to generate at most (default 32)"),
		OPT_INTEGER(0, "max-new-tokens", &a->n_gen, 0, 1 << 20, "N", "the same as -n"),
		OPT_CALLBACK(0, "stop", &a->stops, "STR", "stop when the generated text contains STR (repeatable;\n"
			     "the text printed ends before it)", opt_add),
		OPT_BOOL(0, "stop-eos", &a->stop_eos, "stop at end-of-sequence / end-of-turn tokens (default: generate N tokens)"),
		OPT_BOOL(0, "parse-special", &a->parse_special,
			 "special tokens written in the prompt (<|im_start|>, <s>) become their ids, as tokenize's\n"
			 "--parse-special (default: the prompt is plain text)"),
		OPT_INTEGER(0, "batch", &a->n_batch, 1, 256, "N", "sequences decoded together (default 8)"),
		OPT_DOUBLE(0, "temperature", &a->temperature, "T", "sample at temperature T (default 0: greedy)"),
		OPT_INTEGER(0, "top-k", &a->top_k, 0, 1 << 30, "K", "sample from the K most likely tokens (0: all)"),
		OPT_DOUBLE(0, "top-p", &a->top_p, "P", "sample from the smallest set of mass P (default 1: all)"),
		OPT_UINT64(0, "seed", &a->seed, "S", "sampling seed (default 1234, as every command; recorded with --json)"),
		OPT_INTEGER(0, "threads", &a->n_threads, 0, 1024, "N", "worker threads (default: the CPUs this process may use)"),
		OPT_BOOL(0, "ids", &a->ids_only, "print the generated token ids, one per line, instead of text"),
		OPT_BOOL(0, "json", &a->json, "print one JSON document: per prompt text, ids, n_tokens, stop_reason"),
		OPT_BOOL(0, "timing", &a->timing, "print generated tokens/s on stderr"),
		OPT_BOOL('q', "quiet", &a->quiet, "no progress line on stderr"),
		OPT_CALLBACK(0, "backend", &a->backend, NULL,
			     "cpu (default) or cuda (needs libmerilo-cuda.so and a GPU; see docs/gpu.md)", hrn_opt_backend),
		OPT_CALLBACK(0, "kv-cache", &a->kv_cache, "T", HRN_KV_CACHE_HELP, hrn_opt_kv_cache),
		OPT_BOOL(0, "affinity", &a->affinity, HRN_AFFINITY_HELP),
		OPT_END(),
	};
	int n_args, rc = hrn_options("generate", options, argc, argv, &n_args, usage);
	if (rc != HRN_OPTS_GO)
		return rc;
	if (n_args)
		return hrn_usage_error("generate", "unexpected argument '%s' (the prompt is given with --prompt)", argv[0]);
	if (!a->model_path || (!a->prompts.n && !a->prompts_path))
		return hrn_usage_error("generate", "--model and --prompt (or --prompts FILE) are required");
	if (!(a->temperature >= 0.0) || !(a->top_p > 0.0 && a->top_p <= 1.0)) /* top-p 0 kept every token */
		return hrn_usage_error("generate", "--temperature wants T >= 0 and --top-p P in (0, 1]");
	if (a->ids_only && a->json)
		return hrn_usage_error("generate", "--ids and --json exclude each other");
	if (!(a->temperature > 0) && (a->top_k || a->top_p < 1.0)) /* greedy takes the most likely token */
		fprintf(stderr, "merilo generate: warning: --top-k and --top-p have no effect without --temperature > 0 "
				"(greedy decoding)\n");
	for (size_t i = 0; i < a->stops.n; i++)
		if (!a->stops.v[i][0])
			return hrn_usage_error("generate", "--stop wants a non-empty string");
	return HRN_OPTS_GO;
}

/* Tokenize every prompt into toks[i] (BOS as the model says); refuse a prompt
 * longer than the training context (it gave 0 tokens and exit 0), warn once when
 * a prompt plus n_gen passes it (generation stops there: eng_generate's n_ctx). */
static int tokenize_all(struct eng_model *m, const struct gen_cli *a, int32_t **toks, size_t *n_tok, struct mrl_err *err)
{
	struct eng_model_desc d;
	eng_model_describe(m, &d);
	bool warned = false;
	for (size_t i = 0; i < a->prompts.n; i++) {
		const char *p = a->prompts.v[i];
		const unsigned flags = (d.add_bos ? ENG_TOKENIZE_ADD_BOS : 0) | (a->parse_special ? ENG_TOKENIZE_PARSE_SPECIAL : 0);
		int rc = eng_tokenize_flags(m, p, strlen(p), flags, &toks[i], &n_tok[i], err);
		if (rc)
			return rc;
		if (n_tok[i] == 0)
			return mrl_err_set(err, MRL_EINPUT, "generate: prompt %zu has no tokens", i + 1);
		if (d.n_ctx_train && n_tok[i] > d.n_ctx_train)
			return mrl_err_set(err, MRL_EINPUT, "generate: prompt %zu has %zu tokens, more than the model's "
					   "training context (%u positions): shorten it", i + 1, n_tok[i],
					   (unsigned)d.n_ctx_train);
		if (!warned && d.n_ctx_train && n_tok[i] + (size_t)a->n_gen > d.n_ctx_train) {
			fprintf(stderr, "merilo generate: warning: prompt %zu (%zu tokens) + -n %ld = %zu exceeds the model's "
					"training context (%u): it stops there after at most %zu tokens (stop_reason "
					"ctx_full)\n",
				i + 1, n_tok[i], a->n_gen, n_tok[i] + (size_t)a->n_gen, (unsigned)d.n_ctx_train,
				(size_t)d.n_ctx_train - n_tok[i] + 1);
			warned = true;
		}
	}
	return 0;
}

int hrn_cmd_generate(int argc, char **argv)
{
	struct gen_cli a = { .n_gen = 32, .n_batch = 8, .top_p = 1.0, .seed = HRN_DEFAULT_SEED, .backend = ENG_BACKEND_CPU };
	struct mrl_err err = { 0 };
	struct eng_model *m = NULL;
	int32_t **toks = NULL;
	size_t *n_tok = NULL;
	struct eng_gen_req *reqs = NULL;
	struct eng_gen_res *res = NULL;
	bool *done = NULL;
	int ret = parse_args(&a, argc, argv);
	if (ret != HRN_OPTS_GO)
		goto out;
	ret = HRN_EXIT_OK;
	if (a.prompts_path && read_prompts(a.prompts_path, &a.prompts, &err))
		goto fail;
	struct eng_open_opts opts = { .n_threads = (int)a.n_threads, .backend = a.backend,
				      .kv_f32 = a.kv_cache && a.kv_cache[1] == '3', .pin_threads = a.affinity };
	if (eng_model_open(&m, a.model_path, &opts, &err))
		goto fail;
	hrn_print_model_warnings(m);
	const size_t n = a.prompts.n;
	toks = calloc(n, sizeof *toks);
	n_tok = calloc(n, sizeof *n_tok);
	reqs = calloc(n, sizeof *reqs);
	res = calloc(n, sizeof *res);
	done = calloc(n, sizeof *done);
	if (!toks || !n_tok || !reqs || !res || !done) {
		mrl_err_set(&err, MRL_ENOMEM, "generate: out of memory");
		goto fail;
	}
	if (tokenize_all(m, &a, toks, n_tok, &err))
		goto fail;
	for (size_t i = 0; i < n; i++)
		reqs[i] = (struct eng_gen_req){ .prompt = toks[i], .n_prompt = n_tok[i], .max_new_tokens = (size_t)a.n_gen,
						.stop = (const char *const *)a.stops.v, .n_stop = a.stops.n, .rng_stream = i };
	struct eng_gen_opts o = { .temperature = (float)a.temperature, .top_k = (uint32_t)a.top_k,
				  .top_p = (float)a.top_p, .seed = a.seed, .ignore_eos = !a.stop_eos,
				  .n_batch = (uint32_t)a.n_batch };
	struct eng_gen_stats st;
	struct gen_watch w = { .a = &a, .res = res, .done = done,
			       .slow_ms = getenv("MERILO_TEST_SLOW_MS") ? atol(getenv("MERILO_TEST_SLOW_MS")) : 0 };
	hrn_progress_begin(&w.prog, "merilo generate", "prompts", n, a.quiet, !a.json);
	o.on_done = on_done;
	o.user = &w;
	o.stop = &hrn_stop_signal;
	hrn_signals_catch();
	int grc = eng_generate(m, reqs, n, &o, res, &st, &err);
	hrn_signals_restore();
	hrn_progress_end(&w.prog);
	if (grc)
		goto fail;
	if (a.json)
		print_json(&a, res, n_tok, &o);
	if (st.n_unfinished) {
		say_interrupted(&w, &st);
		ret = HRN_EXIT_RUNTIME;
		goto out;
	}
	if (a.timing)
		print_timing(&st, n, a.n_batch, n == 1 ? res[0].n_ids : 0);
	goto out;
fail:
	ret = hrn_report(&err);
out:
	for (size_t i = 0; res && i < a.prompts.n; i++)
		eng_gen_res_release(&res[i]);
	for (size_t i = 0; toks && i < a.prompts.n; i++)
		free(toks[i]);
	free(res);
	free(done);
	free(reqs);
	free(toks);
	free(n_tok);
	strlist_free(&a.prompts);
	strlist_free(&a.stops);
	eng_model_close(m);
	return ret;
}
