/* cmd_perplexity.c — `merilo perplexity`: perplexity of a text file, by llama.cpp's method.
 *
 * The method (llama.cpp's examples/perplexity): tokenize the whole text once
 * (BOS first when the vocabulary adds one), cut it into consecutive chunks of
 * n_ctx tokens, put BOS in the first slot of every chunk, run each chunk from
 * an empty cache, and add the negative log-likelihood of the tokens at
 * positions n_ctx/2+1 .. n_ctx-1, each predicted from the position before it
 * (n_ctx - 1 - n_ctx/2 predictions per chunk). PPL = exp(total NLL / count);
 * the running value is printed after every chunk like llama.cpp's [1]x,[2]y.
 * We also report bits per byte and per character of the scored text.
 */
#include "harness/hrn.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/fileio.h"
#include "common/utf8.h"
#include "engine/eng.h"

#define MAX_TEXT_BYTES ((size_t)512 << 20)

static void usage(FILE *out, const struct mrl_option *opts)
{
	(void)opts;
	fprintf(out, "usage: merilo perplexity --model MODEL.gguf --file TEXT [--ctx N] [--threads N] [--json]\n"
		     "                         [--backend cpu|cuda] [--kv-cache f16|f32] [--quiet]\n"
		     "Perplexity of TEXT with llama.cpp's method (chunks of N tokens, each from an\n"
		     "empty cache; the second half of every chunk is scored). The text needs at\n"
		     "least 2 x N tokens. Default N: the model's training context, at most 512;\n"
		     "a larger --ctx runs with a warning (positions past training are untrained).\n"
		     "--kv-cache: f16 (default, llama.cpp's arithmetic) or f32 (closer to float64).\n"
		     "--quiet: only errors and one line with the perplexity.\n");
}

/* Bytes and characters of the text of ids[1..n) (ids[0] is the context token:
 * detokenizing with it and subtracting it keeps the leading space right). */
static int span_size(struct eng_model *m, const int32_t *ids, size_t n, size_t *bytes, size_t *chars,
		     struct mrl_err *err)
{
	char *a = NULL, *b = NULL;
	size_t la = 0, lb = 0;
	int rc = eng_detokenize(m, ids, n, &a, &la, err);
	if (!rc)
		rc = eng_detokenize(m, ids, 1, &b, &lb, err);
	if (!rc) {
		size_t k = lb <= la ? lb : la;
		*bytes = la - k;
		*chars = mrl_utf8_count_leads(a + k, la - k);
	}
	free(a);
	free(b);
	return rc;
}

/* -log p(target) from a row of logits (a log-softmax at one position). */
static double token_nll(const float *row, size_t nv, int32_t target)
{
	float max = row[0];
	for (size_t k = 1; k < nv; k++)
		if (row[k] > max)
			max = row[k];
	double sum = 0;
	for (size_t k = 0; k < nv; k++)
		sum += expf(row[k] - max);
	return -((double)(row[target] - max) - log(sum));
}

/* What perplexity prints. */
struct ppl_result {
	const char *model, *file, *kv_cache;
	long n_ctx, n_threads;
	size_t n_tok, n_chunks, count, bytes, chars;
	double nll, ppl, ppl_err, bpb, bpc, seconds, load_s;
	const double *cumulative; /* the running perplexity after each chunk */
};

/* The closing lines of the text output (llama.cpp's "Final estimate" line first);
 * quiet: one line. */
static void print_summary(const struct ppl_result *r, bool quiet)
{
	if (quiet) {
		printf("perplexity: %.4f +/- %.5f (%zu tokens scored, ctx %ld, %s)\n", r->ppl, r->ppl_err, r->count, r->n_ctx,
		       r->file);
		return;
	}
	printf("\nFinal estimate: PPL = %.4f +/- %.5f\n", r->ppl, r->ppl_err);
	printf("scored %zu tokens (%zu bytes, %zu characters) in %.2f s\n", r->count, r->bytes, r->chars, r->seconds);
	printf("bits per byte: %.4f\nbits per character: %.4f\n", r->bpb, r->bpc);
	printf("perplexity: %.4f\n", r->ppl);
}

/* Seconds since t0 (CLOCK_MONOTONIC). */
static double seconds_since(const struct timespec *t0)
{
	struct timespec t1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0->tv_nsec);
}

/* --json: one object on stdout. */
static int print_json(const struct ppl_result *r, struct mrl_err *err)
{
	json_t *cum = json_array();
	for (size_t ci = 0; ci < r->n_chunks; ci++)
		json_array_append_new(cum, json_real(r->cumulative[ci]));
	json_t *o = json_pack("{s:s, s:s, s:i, s:I, s:I, s:I, s:f, s:f, s:f, s:o, s:f, s:f, s:I, s:I, s:i, s:f, s:s, s:f}",
			      "model", r->model, "file", r->file, "n_ctx", (int)r->n_ctx, "n_tokens",
			      (json_int_t)r->n_tok, "n_chunks", (json_int_t)r->n_chunks, "n_scored", (json_int_t)r->count,
			      "nll", r->nll, "perplexity", r->ppl, "perplexity_err", r->ppl_err, "cumulative", cum,
			      "bits_per_byte", r->bpb, "bits_per_char", r->bpc, "scored_bytes", (json_int_t)r->bytes,
			      "scored_chars", (json_int_t)r->chars, "threads", (int)r->n_threads, "seconds", r->seconds,
			      "kv_cache", r->kv_cache, "model_load_s", r->load_s);
	int rc = !o || json_dumpf(o, stdout, JSON_INDENT(1) | JSON_REAL_PRECISION(10));
	json_decref(o);
	if (rc)
		return mrl_err_set(err, MRL_ERUNTIME, "perplexity: cannot write JSON");
	printf("\n");
	return 0;
}

/* The chunk size: the user's --ctx (with one warning when it exceeds the
 * training context), else min(training context, 512). */
static long ppl_pick_ctx(long n_ctx, const struct eng_model_desc *d)
{
	if (n_ctx == 0)
		return d->n_ctx_train >= 4 && d->n_ctx_train < 512 ? (long)d->n_ctx_train : 512;
	if (d->n_ctx_train && (unsigned long)n_ctx > d->n_ctx_train)
		fprintf(stderr, "merilo perplexity: warning: --ctx %ld exceeds the model's training context (%u); "
				"positions past it were never trained\n", n_ctx, (unsigned)d->n_ctx_train);
	return n_ctx;
}

/* The refusal for a text shorter than two chunks, with the --ctx that fits. */
static void ppl_too_short(struct mrl_err *err, const char *file, size_t n_tok, long n_ctx)
{
	const long fit = (long)(n_tok / 2);
	if (fit >= 4)
		mrl_err_set(err, MRL_EINPUT,
			    "%s: text has %zu tokens, fewer than 2 x ctx (2 x %ld = %ld; perplexity scores the second "
			    "half of each chunk of ctx tokens); use --ctx %ld or less, or a longer text",
			    file, n_tok, n_ctx, 2 * n_ctx, fit);
	else
		mrl_err_set(err, MRL_EINPUT,
			    "%s: text has %zu tokens, fewer than 2 x ctx (2 x %ld = %ld) and too few for any --ctx "
			    "(the smallest, --ctx 4, needs 8); use a longer text",
			    file, n_tok, n_ctx, 2 * n_ctx);
}

int hrn_cmd_perplexity(int argc, char **argv)
{
	const char *model_path = NULL, *file = NULL, *kv_cache = "f16";
	long n_ctx = 0, n_threads = 0; /* n_ctx 0: from the model */
	bool as_json = false, quiet = false;
	enum eng_backend backend = ENG_BACKEND_CPU;
	const struct mrl_option options[] = {
		OPT_STRING(0, "model", &model_path, "MODEL.gguf", NULL),
		OPT_STRING(0, "file", &file, "TEXT", NULL),
		OPT_INTEGER(0, "ctx", &n_ctx, 4, 1 << 20, "N", NULL),
		OPT_INTEGER(0, "threads", &n_threads, 0, 1024, "N", NULL),
		OPT_BOOL(0, "json", &as_json, NULL),
		OPT_BOOL('q', "quiet", &quiet, NULL),
		OPT_CALLBACK(0, "backend", &backend, "B", NULL, hrn_opt_backend),
		OPT_CALLBACK(0, "kv-cache", &kv_cache, "T", NULL, hrn_opt_kv_cache),
		OPT_END(),
	};
	int n_args, rc = hrn_options("perplexity", options, argc, argv, &n_args, usage);
	if (rc != HRN_OPTS_GO)
		return rc;
	if (n_args)
		return hrn_usage_error("perplexity", "unexpected argument '%s' (the text is given with --file)", argv[0]);
	if (!model_path || !file)
		return hrn_usage_error("perplexity", "--model and --file are required");

	struct mrl_err err = { 0 };
	struct eng_model *m = NULL;
	struct eng_ctx *c = NULL;
	char *text = NULL;
	int32_t *toks = NULL, *chunk = NULL;
	float *logits = NULL;
	double *cumulative = NULL;
	int ret = HRN_EXIT_OK;
	size_t text_len = 0, n_tok = 0;

	struct eng_open_opts opts = { .n_threads = (int)n_threads, .backend = backend, .kv_f32 = kv_cache[1] == '3' };
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (eng_model_open(&m, model_path, &opts, &err))
		goto fail;
	const double load_s = seconds_since(&t0);
	hrn_print_model_warnings(m);
	struct eng_model_desc d;
	eng_model_describe(m, &d);
	if (mrl_read_file(file, MAX_TEXT_BYTES, &text, &text_len, &err))
		goto fail;
	if (eng_tokenize(m, text, text_len, d.add_bos, &toks, &n_tok, &err))
		goto fail;
	n_ctx = ppl_pick_ctx(n_ctx, &d);
	if (n_tok < 2 * (size_t)n_ctx) {
		ppl_too_short(&err, file, n_tok, n_ctx);
		goto fail;
	}
	if (eng_ctx_new(&c, m, (uint32_t)n_ctx, &err))
		goto fail;
	const size_t n_chunks = n_tok / (size_t)n_ctx, first = (size_t)n_ctx / 2, nv = d.n_vocab;
	logits = malloc((size_t)n_ctx * nv * sizeof *logits);
	cumulative = calloc(n_chunks, sizeof *cumulative);
	chunk = malloc((size_t)n_ctx * sizeof *chunk);
	if (!logits || !cumulative || !chunk) {
		mrl_err_set(&err, MRL_ENOMEM, "perplexity: out of memory");
		goto fail;
	}
	if (!as_json && !quiet)
		printf("perplexity: %zu tokens, %zu chunks of %ld, scoring the last %zu of each\n", n_tok, n_chunks,
		       n_ctx, (size_t)n_ctx - 1 - first);
	double nll = 0, nll2 = 0;
	size_t count = 0, scored_bytes = 0, scored_chars = 0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (size_t ci = 0; ci < n_chunks; ci++) {
		const size_t start = ci * (size_t)n_ctx;
		memcpy(chunk, toks + start, (size_t)n_ctx * sizeof *chunk);
		if (d.add_bos && d.bos_id >= 0)
			chunk[0] = d.bos_id;
		eng_ctx_truncate(c, 0);
		if (eng_decode(c, chunk, (size_t)n_ctx, logits, true, &err))
			goto fail;
		for (size_t i = first; i + 1 < (size_t)n_ctx; i++) {
			const double v = token_nll(logits + i * nv, nv, toks[start + i + 1]);
			nll += v;
			nll2 += v * v;
			count++;
		}
		size_t b = 0, ch = 0;
		if (span_size(m, toks + start + first, (size_t)n_ctx - first, &b, &ch, &err))
			goto fail;
		scored_bytes += b;
		scored_chars += ch;
		cumulative[ci] = exp(nll / (double)count);
		if (!as_json && !quiet) {
			printf("[%zu]%.4f,", ci + 1, cumulative[ci]);
			fflush(stdout);
		}
	}
	const double seconds = seconds_since(&t0);
	const double mean = nll / (double)count, ppl = exp(mean);
	double var = nll2 / (double)count - mean * mean, ppl_err = 0;
	if (var > 0 && count > 1)
		ppl_err = ppl * sqrt(var / (double)(count - 1));
	const double bits = nll / log(2.0);
	const double bpb = scored_bytes ? bits / (double)scored_bytes : 0, bpc = scored_chars ? bits / (double)scored_chars : 0;
	const struct ppl_result r = {
		.model = model_path, .file = file, .n_ctx = n_ctx, .n_threads = n_threads, .n_tok = n_tok,
		.n_chunks = n_chunks, .count = count, .bytes = scored_bytes, .chars = scored_chars, .nll = nll,
		.ppl = ppl, .ppl_err = ppl_err, .bpb = bpb, .bpc = bpc, .seconds = seconds, .cumulative = cumulative,
		.kv_cache = kv_cache, .load_s = load_s,
	};
	if (as_json ? print_json(&r, &err) : (print_summary(&r, quiet), 0))
		goto fail;
	goto out;
fail:
	ret = hrn_report(&err);
out:
	free(cumulative);
	free(chunk);
	free(logits);
	free(toks);
	free(text);
	eng_ctx_free(c);
	eng_model_close(m);
	return ret;
}
