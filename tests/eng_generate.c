/* eng_generate.c — eng_generate: llama.cpp's greedy ids on the tiny fixture
 * models, greedy output independent of the batch (its size, its company, the
 * slot refill order, shared prefixes, the thread count), stop strings on the
 * decoded text (across token boundaries, UTF-8 characters split over byte
 * tokens), EOS / stop ids, max_new_tokens, a full context, seeded sampling.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/eng.h"
#include "engine/gen_int.h"
#include "tests/tap.h"

#define MAX_REQ 16
#define MAX_TOK 256

static const char *fx;
static struct eng_model *model, *model_t2; /* one and two threads */
static char label[64];

struct prompts {
	int32_t *ids[MAX_REQ];
	size_t n_ids[MAX_REQ];
	size_t n;
};

static void prompts_free(struct prompts *p)
{
	for (size_t i = 0; i < p->n; i++)
		free(p->ids[i]);
	p->n = 0;
}

static int add_prompt(struct prompts *p, const char *text)
{
	struct mrl_err err = { 0 };
	struct eng_model_desc d;
	eng_model_describe(model, &d);
	if (eng_tokenize(model, text, strlen(text), d.add_bos, &p->ids[p->n], &p->n_ids[p->n], &err)) {
		diag("tokenize: %s", err.msg);
		return -1;
	}
	p->n++;
	return 0;
}

/* Requests of the first n_max prompts. */
static void make_reqs(const struct prompts *p, struct eng_gen_req *reqs, size_t n_max, size_t max_new)
{
	for (size_t i = 0; i < p->n && i < n_max; i++)
		reqs[i] = (struct eng_gen_req){ .prompt = p->ids[i], .n_prompt = p->n_ids[i], .max_new_tokens = max_new,
						.rng_stream = i };
}

static void res_free(struct eng_gen_res *res, size_t n)
{
	for (size_t i = 0; i < n; i++)
		eng_gen_res_release(&res[i]);
}

/* Whether two results have the same ids, text and stop reason (diagnosed when not). */
static int same_res(const struct eng_gen_res *a, const struct eng_gen_res *b, const char *what, size_t i)
{
	int same = a->n_ids == b->n_ids && a->stop == b->stop && a->text_len == b->text_len &&
		   memcmp(a->ids, b->ids, a->n_ids * sizeof *a->ids) == 0 && memcmp(a->text, b->text, a->text_len) == 0;
	if (!same)
		diag("%s: request %zu: %zu ids (%s) '%s' vs %zu ids (%s) '%s'", what, i, a->n_ids,
		     eng_gen_stop_name(a->stop), a->text, b->n_ids, eng_gen_stop_name(b->stop), b->text);
	return same;
}

/* Eight prompts of different lengths; 0, 1 and 2 share a few-shot preamble. */
static const char *const mixed[8] = {
	"Q: What is the capital of Serbia? A: Belgrade. Q: What is the capital of Croatia? A:",
	"Q: What is the capital of Serbia? A: Belgrade. Q: Koji je glavni grad Slovenije? A:",
	"Q: What is the capital of Serbia? A: Belgrade. Q: Који је главни град Македоније? A:",
	"Once upon a time",
	"Bilo jednom u Beogradu",
	"Било једном у Београду, у време кад су",
	"a",
	"The quick brown fox jumps over the lazy dog and then the dog sleeps for a long long time.",
};

static int load_mixed(struct prompts *p)
{
	for (size_t i = 0; i < 8; i++)
		if (add_prompt(p, mixed[i]))
			return -1;
	return 0;
}

/* ---- the reference: llama.cpp's 16 greedy ids ---- */

/* The prompt_tokens array of an expected/<model>/<p>.json. */
static size_t read_prompt_tokens(const char *path, int32_t *ids, size_t max)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return 0;
	static char buf[1 << 16];
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	char *p = strstr(buf, "\"prompt_tokens\": [");
	size_t k = 0;
	if (!p)
		return 0;
	p += strlen("\"prompt_tokens\": [");
	while (k < max && *p && *p != ']') {
		char *end;
		long v = strtol(p, &end, 10);
		if (end == p)
			break;
		ids[k++] = (int32_t)v;
		p = end;
		while (*p == ',' || *p == ' ')
			p++;
	}
	return k;
}

static size_t read_ids(const char *path, int32_t *ids, size_t max)
{
	FILE *f = fopen(path, "r");
	size_t k = 0;
	long v;
	if (!f)
		return 0;
	while (k < max && fscanf(f, "%ld", &v) == 1)
		ids[k++] = (int32_t)v;
	fclose(f);
	return k;
}

static void t_reference(const char *model_name)
{
	static const char *const names[3] = { "en", "sr-latn", "sr-cyrl" };
	int32_t prompt[3][64], want[3][16];
	struct eng_gen_req reqs[3];
	for (int i = 0; i < 3; i++) {
		char path[1024];
		snprintf(path, sizeof path, "%s/expected/%s/%s.json", fx, model_name, names[i]);
		size_t np = read_prompt_tokens(path, prompt[i], 64);
		snprintf(path, sizeof path, "%s/expected/%s/%s.greedy.txt", fx, model_name, names[i]);
		size_t ng = read_ids(path, want[i], 16);
		if (!ok(np > 0 && ng == 16, "the expected prompt and 16 greedy ids are read"))
			return;
		reqs[i] = (struct eng_gen_req){ .prompt = prompt[i], .n_prompt = np, .max_new_tokens = 16 };
	}
	struct eng_gen_opts o = { .ignore_eos = true };
	struct eng_gen_res res[3];
	struct mrl_err err = { 0 };
	int rc = eng_generate(model, reqs, 3, &o, res, NULL, &err);
	is_int(rc, 0, "generate succeeds");
	if (rc)
		diag("%s", err.msg);
	for (int i = 0; !rc && i < 3; i++) {
		char name[128];
		snprintf(name, sizeof name, "%s: 16 greedy ids equal llama.cpp's", names[i]);
		ok(res[i].n_ids == 16 && memcmp(res[i].ids, want[i], sizeof want[i]) == 0, name);
		is_str(eng_gen_stop_name(res[i].stop), "max_tokens", "stop reason max_tokens");
		char *text = NULL;
		size_t len = 0;
		eng_detokenize(model, res[i].ids, res[i].n_ids, &text, &len, &err);
		ok(text && len >= res[i].text_len && memcmp(text, res[i].text, res[i].text_len) == 0,
		   "the text is eng_detokenize of the ids (up to an incomplete last character)");
		free(text);
	}
	res_free(res, 3);
}

/* ---- batch independence ---- */

static int run_gen(struct eng_model *m, const struct eng_gen_req *reqs, size_t n, const struct eng_gen_opts *o,
		   struct eng_gen_res *res, struct eng_gen_stats *st)
{
	struct mrl_err err = { 0 };
	int rc = eng_generate(m, reqs, n, o, res, st, &err);
	if (rc)
		diag("eng_generate: %s", err.msg);
	return rc;
}

/* The 8 mixed prompts: all in one batch, with 3 slots (refilled as requests end),
 * in reverse order, and each alone; with one thread and with two. */
static void t_batch_independent(const struct eng_gen_opts *base, const char *what)
{
	struct prompts p = { 0 };
	if (load_mixed(&p)) {
		ok(0, "prompts tokenize");
		return;
	}
	struct eng_gen_req reqs[8], rev[8];
	make_reqs(&p, reqs, 8, 12);
	for (int i = 0; i < 8; i++)
		rev[i] = reqs[7 - i];
	struct eng_gen_res all[8], alone[8], three[8], back[8], t2[8], one[8], per[8];
	struct eng_gen_opts o = *base;
	struct eng_gen_stats st;
	o.n_batch = 8;
	int rc = run_gen(model, reqs, 8, &o, all, &st);
	is_int(rc, 0, "a batch of 8");
	ok(st.n_prompt_cached > 0, "batch of 8: the shared preamble is computed once and copied (cached prompt tokens > 0)");
	o.n_batch = 1;
	rc |= run_gen(model, reqs, 8, &o, one, &st);
	ok(st.n_prompt_cached > 0, "one slot: the next request reuses the shared preamble (cached prompt tokens > 0)");
	o.n_batch = 3;
	rc |= run_gen(model, reqs, 8, &o, three, NULL);
	o.n_batch = 8;
	rc |= run_gen(model, rev, 8, &o, back, NULL);
	rc |= run_gen(model_t2, reqs, 8, &o, t2, NULL);
	struct mrl_err err = { 0 };
	o.n_batch = 3;
	rc |= eng_generate_per_seq(model, reqs, 8, &o, per, NULL, &err);
	o.n_batch = 1;
	for (int i = 0; i < 8; i++)
		rc |= run_gen(model, &reqs[i], 1, &o, &alone[i], NULL);
	is_int(rc, 0, "every run succeeds");
	int n_same[6] = { 0 };
	for (size_t i = 0; !rc && i < 8; i++) {
		n_same[0] += same_res(&all[i], &alone[i], "batch 8 vs alone", i);
		n_same[1] += same_res(&three[i], &alone[i], "3 slots vs alone", i);
		n_same[2] += same_res(&back[7 - i], &alone[i], "reversed vs alone", i);
		n_same[3] += same_res(&t2[i], &alone[i], "2 threads vs 1 thread alone", i);
		n_same[4] += same_res(&one[i], &alone[i], "one slot in turn vs alone", i);
		n_same[5] += same_res(&per[i], &alone[i], "one context per slot vs alone", i);
	}
	char name[160];
	snprintf(name, sizeof name, "%s: batch of 8 = each alone (ids, text, stop)", what);
	is_int(n_same[0], 8, name);
	snprintf(name, sizeof name, "%s: 3 slots refilled = each alone", what);
	is_int(n_same[1], 8, name);
	snprintf(name, sizeof name, "%s: reversed order = each alone", what);
	is_int(n_same[2], 8, name);
	snprintf(name, sizeof name, "%s: 2 threads, batch of 8 = 1 thread alone", what);
	is_int(n_same[3], 8, name);
	res_free(all, 8);
	res_free(three, 8);
	res_free(back, 8);
	snprintf(name, sizeof name, "%s: one slot taking the requests in turn = each alone", what);
	is_int(n_same[4], 8, name);
	res_free(t2, 8);
	snprintf(name, sizeof name, "%s: one context per slot (backends without multi-sequence contexts) = each alone", what);
	is_int(n_same[5], 8, name);
	res_free(one, 8);
	res_free(per, 8);
	res_free(alone, 8);
	prompts_free(&p);
}

/* ---- stops ---- */

/* Greedy ids for "Once upon a time" (24, past EOS), then a stop string made of
 * the last two bytes of one token's text and the first two of the next: the text
 * ends right before it and the ids end at the token that completed it. */
static void t_stop_across_tokens(void)
{
	struct prompts p = { 0 };
	struct mrl_err err = { 0 };
	if (add_prompt(&p, "Once upon a time"))
		return;
	struct eng_gen_req q;
	make_reqs(&p, &q, 1, 24);
	struct eng_gen_opts o = { .ignore_eos = true };
	struct eng_gen_res free_run, stopped;
	if (run_gen(model, &q, 1, &o, &free_run, NULL)) {
		ok(0, "free run");
		prompts_free(&p);
		return;
	}
	/* the text length after each token */
	size_t ends[MAX_TOK], k = 0;
	int detok_rc = 0; /* a failed detokenize leaves its ends[i] unset */
	for (size_t i = 0; i < free_run.n_ids; i++) {
		char *t = NULL;
		detok_rc |= eng_detokenize(model, free_run.ids, i + 1, &t, &ends[i], &err);
		free(t);
	}
	if (!ok(detok_rc == 0, "setup: each prefix of the free run detokenizes")) {
		eng_gen_res_release(&free_run);
		prompts_free(&p);
		return;
	}
	for (k = 1; k + 1 < free_run.n_ids; k++)
		if (ends[k] - ends[k - 1] >= 2 && ends[k + 1] - ends[k] >= 2 && ends[k] + 2 <= free_run.text_len)
			break;
	if (!ok(k + 1 < free_run.n_ids, "a token boundary with two bytes either side exists")) {
		eng_gen_res_release(&free_run);
		prompts_free(&p);
		return;
	}
	char stop[8];
	memcpy(stop, free_run.text + ends[k] - 2, 4);
	stop[4] = '\0';
	const char *first = strstr(free_run.text, stop);
	const char *stops[2] = { "no such text \x01", stop };
	q.stop = stops;
	q.n_stop = 2;
	int rc = run_gen(model, &q, 1, &o, &stopped, NULL);
	is_int(rc, 0, "generate with the stop string");
	is_str(eng_gen_stop_name(stopped.stop), "stop", "stop reason: stop string");
	is_int(stopped.stop_index, 1, "the index of the matched stop string");
	is_int(stopped.text_len, (size_t)(first - free_run.text), "the text ends right before the stop string");
	ok(strncmp(stopped.text, free_run.text, stopped.text_len) == 0, "the text is the free run's up to there");
	size_t need = 0;
	while (ends[need] < (size_t)(first - free_run.text) + 4)
		need++;
	is_int(stopped.n_ids, need + 1, "the ids end at the token that completed the stop string");
	eng_gen_res_release(&free_run);
	eng_gen_res_release(&stopped);
	prompts_free(&p);
}

/* stop_after (a thinking model's "</think>"): the stop strings count only after the
 * first occurrence of that text. On the greedy text of "Once upon a time": a stop
 * string " " stops at the first space after a 3-byte marker, not before
 * it; with a marker that never comes, a space never stops the request. */
static void t_stop_after(void)
{
	struct prompts p = { 0 };
	if (add_prompt(&p, "Once upon a time"))
		return;
	struct eng_gen_req q;
	make_reqs(&p, &q, 1, 24);
	struct eng_gen_opts o = { .ignore_eos = true };
	struct eng_gen_res free_run = { 0 }, r = { 0 };
	const bool ran = run_gen(model, &q, 1, &o, &free_run, NULL) == 0;
	const char *space1 = ran ? strchr(free_run.text, ' ') : NULL;
	/* the marker: the 3 bytes after the first space's next byte (so a space comes before it) */
	char marker[4] = { 0 };
	const char *after = NULL;
	if (space1 && strlen(space1) > 6) {
		memcpy(marker, space1 + 2, 3);
		const char *m = strstr(free_run.text, marker);
		/* the marker's first occurrence must follow the first space, else the two runs could not differ */
		after = m && m > space1 ? strchr(m + 3, ' ') : NULL;
	}
	if (!ok(after != NULL, "setup: the free run has a space, then a marker, then a space")) {
		eng_gen_res_release(&free_run);
		prompts_free(&p);
		return;
	}
	const char *stops[] = { " " };
	q.stop = stops;
	q.n_stop = 1;
	q.stop_after = marker;
	is_int(run_gen(model, &q, 1, &o, &r, NULL), 0, "generate with a stop string after a marker");
	is_int(r.text_len, (size_t)(after - free_run.text), "the text ends at the first stop string after the marker, not "
							       "at the one before it");
	is_str(eng_gen_stop_name(r.stop), "stop", "stop reason: stop string");
	eng_gen_res_release(&r);
	q.stop_after = "no such marker \x01";
	is_int(run_gen(model, &q, 1, &o, &r, NULL), 0, "generate with a marker that never comes");
	ok(r.text_len == free_run.text_len && r.stop == ENG_GEN_STOP_MAX_TOKENS,
	   "no stop string counts before the marker: the whole free run, max_tokens");
	eng_gen_res_release(&r);
	q.stop_after = NULL;
	is_int(run_gen(model, &q, 1, &o, &r, NULL), 0, "generate without a marker");
	is_int(r.text_len, (size_t)(space1 - free_run.text), "without one the first space stops it");
	eng_gen_res_release(&r);
	eng_gen_res_release(&free_run);
	prompts_free(&p);
}

/* The text machinery on chosen ids (llama-spm vocabulary: byte b is token 3 + b). */
static void t_stop_multibyte(void)
{
	struct mrl_err err = { 0 };
	int32_t hi = -1;
	int32_t *tk = NULL;
	size_t n = 0;
	if (eng_tokenize(model, "Hello", 5, false, &tk, &n, &err) == 0 && n >= 1)
		hi = tk[0]; /* "▁Hello" */
	free(tk);
	int32_t d0 = 3 + 0xD0, b1 = 3 + 0x91, d1 = 3 + 0xD1, x80 = 3 + 0x80;
	ok(strcmp(eng_token_piece(model, d0), "<0xD0>") == 0 && hi >= 0, "byte tokens at 3 + byte");
	int32_t ids[] = { hi, d0, b1, d1, x80, hi, d0 }; /* "Hello" "Б" "р" " Hello" then a lone D0 */
	const char *stops_b[] = { "\xd0\x91" };          /* Б */
	char *text = NULL;
	size_t len = 0, used = 0;
	int si = -2;
	is_int(eng_gen_text_of(model, ids, 7, stops_b, 1, &text, &len, &used, &si, &err), 0, "text of ids");
	is_str(text, "Hello", "a stop string split over two byte tokens: the text stops before it");
	is_int(used, 3, "found when its last byte arrives");
	is_int(si, 0, "stop index 0");
	free(text);
	const char *stops_r[] = { "\xd1\x80 H" }; /* "р H": a split character and the next token's " Hello" */
	eng_gen_text_of(model, ids, 7, stops_r, 1, &text, &len, &used, &si, &err);
	is_str(text, "Hello\xd0\x91", "a stop string across a split character and a token");
	is_int(used, 6, "found at the token after the character");
	free(text);
	eng_gen_text_of(model, ids, 7, NULL, 0, &text, &len, &used, &si, &err);
	is_str(text, "Hello\xd0\x91\xd1\x80 Hello", "no stop: a lone lead byte at the end is cut");
	is_int(si, -1, "no stop index");
	free(text);
	eng_gen_text_of(model, ids, 4, NULL, 0, &text, &len, &used, &si, &err);
	is_str(text, "Hello\xd0\x91", "half of a character at the end is cut");
	free(text);
}

/* ---- EOS, max_new_tokens, context, bad input ---- */

static void t_limits(void)
{
	struct prompts p = { 0 };
	if (add_prompt(&p, "Once upon a time"))
		return;
	struct eng_gen_req q;
	make_reqs(&p, &q, 1, 10);
	struct eng_gen_opts o = { .ignore_eos = true };
	struct eng_gen_res r10, r;
	run_gen(model, &q, 1, &o, &r10, NULL);
	is_int(r10.n_ids, 10, "max_new_tokens 10: 10 ids");
	is_str(eng_gen_stop_name(r10.stop), "max_tokens", "stop reason max_tokens");
	/* a stop id: the third greedy token ends the request, and is kept in ids */
	int32_t sid = r10.ids[2];
	o.stop_ids = &sid;
	o.n_stop_ids = 1;
	run_gen(model, &q, 1, &o, &r, NULL);
	size_t first = 0;
	while (r10.ids[first] != sid)
		first++;
	is_int(r.n_ids, first + 1, "a stop id ends the request at its first occurrence");
	is_str(eng_gen_stop_name(r.stop), "eos", "stop reason eos");
	eng_gen_res_release(&r);
	o.stop_ids = NULL;
	o.n_stop_ids = 0;
	o.n_ctx = (uint32_t)q.n_prompt + 3;
	run_gen(model, &q, 1, &o, &r, NULL);
	is_int(r.n_ids, 4, "n_ctx = prompt + 3: 4 tokens (the last one is not fed)");
	is_str(eng_gen_stop_name(r.stop), "ctx_full", "stop reason ctx_full");
	ok(r.n_ids == 4 && memcmp(r.ids, r10.ids, 4 * sizeof *r.ids) == 0, "the same first tokens");
	eng_gen_res_release(&r);
	o.n_ctx = (uint32_t)q.n_prompt - 1;
	run_gen(model, &q, 1, &o, &r, NULL);
	ok(r.n_ids == 0 && r.stop == ENG_GEN_STOP_CTX_FULL && r.text && !r.text[0], "a prompt past n_ctx: nothing, ctx_full");
	eng_gen_res_release(&r);
	o.n_ctx = 0;
	q.max_new_tokens = 0;
	run_gen(model, &q, 1, &o, &r, NULL);
	ok(r.n_ids == 0 && r.stop == ENG_GEN_STOP_MAX_TOKENS && r.text && !r.text[0], "max_new_tokens 0: nothing");
	eng_gen_res_release(&r);
	eng_gen_res_release(&r10);
	prompts_free(&p);
}

/* Whether eng_generate ends a request at id: the model's end-of-generation ids, the list
 * its mark_eog takes (eng_model_desc.eog_ids). */
static bool is_eog(const struct eng_model *m, int32_t id)
{
	struct eng_model_desc d;
	eng_model_describe(m, &d);
	for (size_t i = 0; i < d.n_eog; i++)
		if (d.eog_ids[i] == id)
			return true;
	return false;
}

static void t_eog(void)
{
	struct eng_model_desc d;
	eng_model_describe(model, &d);
	ok(is_eog(model, d.eos_id), "the vocabulary's EOS ends generation");
	ok(!is_eog(model, d.bos_id), "BOS does not");
	char path[1024];
	snprintf(path, sizeof path, "%s/models-real/smollm2-135m-instruct-q4_1.gguf", fx);
	struct eng_open_opts vo = { .vocab_only = true };
	struct eng_model *sm = NULL;
	struct mrl_err err = { 0 };
	if (eng_model_open(&sm, path, &vo, &err)) {
		test_skip("SmolLM2 vocabulary absent");
		return;
	}
	int32_t *ids = NULL;
	size_t n = 0;
	eng_tokenize_flags(sm, "<|im_end|><|endoftext|>", 23, ENG_TOKENIZE_PARSE_SPECIAL, &ids, &n, &err);
	ok(n == 2 && is_eog(sm, ids[0]) && is_eog(sm, ids[1]),
	   "SmolLM2: <|im_end|> and <|endoftext|> end generation");
	free(ids);
	ids = NULL;
	eng_tokenize_flags(sm, "<reponame><|im_start|>", 22, ENG_TOKENIZE_PARSE_SPECIAL, &ids, &n, &err);
	ok(n == 2 && is_eog(sm, ids[0]), "SmolLM2: <reponame> ends generation (llama.cpp's FIM repository token)");
	ok(n == 2 && !is_eog(sm, ids[1]), "SmolLM2: <|im_start|> does not");
	free(ids);
	eng_model_close(sm);
	/* Phi-3's "</s>" (2, control) is not its EOS (511): llama.cpp does not stop there
	 * (EOG 511 only: tests/eng_vocab_ctl.c); merilo did, by a name list of its own */
	snprintf(path, sizeof path, "%s/hf/gguf/phi3-f32.gguf", fx);
	if (eng_model_open(&sm, path, &vo, &err)) {
		test_skip("the phi3 GGUF fixture is absent");
		return;
	}
	ok(is_eog(sm, 511) && !is_eog(sm, 2), "phi3 GGUF: <|endoftext|> ends generation, </s> does not");
	eng_model_close(sm);
}

static void t_bad(void)
{
	struct mrl_err err = { 0 };
	int32_t oob = 1 << 30, one = 1;
	struct eng_gen_req q = { .prompt = &oob, .n_prompt = 1, .max_new_tokens = 1 };
	struct eng_gen_res r;
	is_int(eng_generate(model, &q, 1, NULL, &r, NULL, &err), MRL_EINPUT, "a prompt id outside the vocabulary");
	like(err.msg, "request 0", "the message names the request");
	eng_gen_res_release(&r);
	q.n_prompt = 0;
	is_int(eng_generate(model, &q, 1, NULL, &r, NULL, &err), MRL_EINPUT, "an empty prompt");
	eng_gen_res_release(&r);
	const char *empty[] = { "" };
	q = (struct eng_gen_req){ .prompt = &one, .n_prompt = 1, .max_new_tokens = 1, .stop = empty, .n_stop = 1 };
	is_int(eng_generate(model, &q, 1, NULL, &r, NULL, &err), MRL_EINPUT, "an empty stop string");
	eng_gen_res_release(&r);
}

/* ---- sampling ---- */

static void t_sampling(void)
{
	struct prompts p = { 0 };
	if (load_mixed(&p))
		return;
	struct eng_gen_req reqs[8];
	make_reqs(&p, reqs, 8, 12);
	struct eng_gen_opts o = { .ignore_eos = true, .temperature = 1.0f, .top_k = 40, .top_p = 0.95f, .seed = 42 };
	struct eng_gen_res a[8], b[8], c[8], g[8], k1[8], tiny_t[8];
	int rc = run_gen(model, reqs, 8, &o, a, NULL);
	o.n_batch = 1;
	for (int i = 0; i < 8; i++)
		rc |= run_gen(model, &reqs[i], 1, &o, &b[i], NULL);
	o.n_batch = 8;
	o.seed = 43;
	rc |= run_gen(model, reqs, 8, &o, c, NULL);
	struct eng_gen_opts greedy = { .ignore_eos = true };
	rc |= run_gen(model, reqs, 8, &greedy, g, NULL);
	struct eng_gen_opts topk1 = { .ignore_eos = true, .temperature = 0.7f, .top_k = 1, .seed = 5 };
	rc |= run_gen(model, reqs, 8, &topk1, k1, NULL);
	struct eng_gen_opts cold = { .ignore_eos = true, .temperature = 1e-38f, .seed = 5 };
	rc |= run_gen(model, reqs, 8, &cold, tiny_t, NULL);
	is_int(rc, 0, "sampled runs succeed");
	int same_ab = 0, same_ac = 0, same_g = 0, diff_g = 0, same_cold = 0;
	for (size_t i = 0; !rc && i < 8; i++) {
		same_ab += same_res(&a[i], &b[i], "seed 42 batch vs alone", i);
		same_ac += a[i].n_ids == c[i].n_ids && memcmp(a[i].ids, c[i].ids, a[i].n_ids * sizeof *a[i].ids) == 0;
		same_g += same_res(&k1[i], &g[i], "top-k 1 vs greedy", i);
		same_cold += same_res(&tiny_t[i], &g[i], "temperature 1e-38 vs greedy", i);
		diff_g += !(a[i].n_ids == g[i].n_ids && memcmp(a[i].ids, g[i].ids, a[i].n_ids * sizeof *a[i].ids) == 0);
	}
	is_int(same_ab, 8, "seeded sampling: batch of 8 = each alone");
	ok(same_ac < 8, "another seed draws other tokens");
	ok(diff_g > 0, "sampling at temperature 1 differs from greedy");
	is_int(same_g, 8, "top-k 1 is greedy");
	is_int(same_cold, 8, "temperature 1e-38 (scaled logits stay finite in double) samples the argmax");
	res_free(a, 8);
	res_free(b, 8);
	res_free(c, 8);
	res_free(g, 8);
	res_free(k1, 8);
	res_free(tiny_t, 8);
	prompts_free(&p);
}

static int open_models(const char *file)
{
	char path[1024];
	struct mrl_err err = { 0 };
	snprintf(path, sizeof path, "%s/models/%s", fx, file);
	struct eng_open_opts o1 = { .n_threads = 1 }, o2 = { .n_threads = 2 };
	if (eng_model_open(&model, path, &o1, &err) || eng_model_open(&model_t2, path, &o2, &err)) {
		ok(0, "open the model");
		diag("%s", err.msg);
		return 0;
	}
	return 1;
}

/* on_done of t_interrupted: the first request to finish sets the stop flag */
static void stop_after_first(void *user, size_t index, const struct eng_gen_res *r)
{
	(void)index;
	(void)r;
	*(volatile sig_atomic_t *)user = 1;
}

/* A stop request between steps: the running requests keep the tokens they had (they
 * were dropped: `merilo generate --json` showed text "" and n_tokens 0 for them). */
static void t_interrupted(void)
{
	struct prompts p = { 0 };
	if (add_prompt(&p, "Once upon a time") || add_prompt(&p, "Bilo jednom u Beogradu")) {
		ok(0, "prompts tokenize");
		prompts_free(&p);
		return;
	}
	struct eng_gen_req reqs[2];
	make_reqs(&p, reqs, 2, 2);
	reqs[1].max_new_tokens = 10;
	volatile sig_atomic_t flag = 0;
	struct eng_gen_opts o = { .ignore_eos = true, .n_batch = 2, .stop = &flag, .on_done = stop_after_first,
				  .user = (void *)&flag };
	struct eng_gen_res res[2], full[2];
	struct eng_gen_stats st;
	if (run_gen(model, reqs, 2, &o, res, &st)) {
		ok(0, "generate runs");
		prompts_free(&p);
		return;
	}
	struct eng_gen_opts plain = { .ignore_eos = true, .n_batch = 2 };
	int rc = run_gen(model, reqs, 2, &plain, full, NULL);
	is_int((int)st.n_unfinished, 1, "one request unfinished");
	is_str(eng_gen_stop_name(res[0].stop), "max_tokens", "the first finished (2 tokens)");
	is_str(eng_gen_stop_name(res[1].stop), "interrupted", "the second: stop reason interrupted");
	ok(!rc && res[1].n_ids >= 1 && res[1].n_ids < 10 && res[1].text &&
		   !memcmp(res[1].ids, full[1].ids, res[1].n_ids * sizeof *res[1].ids),
	   "... with the tokens it had (1 or more), the first of the uninterrupted run");
	ok(res[1].text && full[1].text && res[1].text_len <= full[1].text_len &&
		   !memcmp(res[1].text, full[1].text, res[1].text_len),
	   "... and their text, a prefix of the uninterrupted text");
	res_free(res, 2);
	if (!rc)
		res_free(full, 2);
	prompts_free(&p);
}

static void close_models(void)
{
	eng_model_close(model);
	eng_model_close(model_t2);
	model = model_t2 = NULL;
}

int main(void)
{
	fx = fixtures_dir();
	if (!fx)
		skip_all("fixtures absent: ../shared/fixtures");
	static const char *const names[2] = { "tiny-llama-ff192-f32", "tiny-qwen2-f32" };
	for (int k = 0; k < 2; k++) {
		char file[128];
		snprintf(file, sizeof file, "%s.gguf", names[k]);
		snprintf(label, sizeof label, "%s", names[k]);
		if (!open_models(file))
			continue;
		TEST(t_reference(names[k]), "%s: greedy ids equal llama.cpp's on three prompts (one batch)", label);
		struct eng_gen_opts greedy = { .ignore_eos = true };
		TEST(t_batch_independent(&greedy, label), "%s: greedy output does not depend on the batch", label);
		if (k == 0) {
			TEST(t_stop_across_tokens(), "%s: a stop string across a token boundary", label);
			TEST(t_stop_after(), "%s: stop strings only after a marker (a thinking model's </think>)", label);
			TEST(t_stop_multibyte(), "%s: stop strings and UTF-8 characters split over byte tokens", label);
			TEST(t_limits(), "%s: max_new_tokens, stop ids, a full context", label);
			TEST(t_eog(), "%s: end-of-generation tokens", label);
			TEST(t_bad(), "%s: bad requests are MRL_EINPUT", label);
			TEST(t_sampling(), "%s: seeded sampling is reproducible and batch-independent", label);
			TEST(t_interrupted(), "%s: a stop request keeps the running requests' tokens", label);
		}
		close_models();
	}
	return done_testing();
}
