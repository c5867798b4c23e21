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
 *
 * --batch N runs N chunks at a time, each in its own slot of a multi-sequence
 * context, fed in shared forward calls of up to PPL_CALL_TOKENS tokens with
 * logits only for the scored rows. The engine computes every token as it would
 * alone (its determinism contract), and the negative log-likelihoods are added
 * chunk by chunk, position by position, as without batching: every figure is
 * the same, bit for bit, whatever N and the thread count.
 */
#include "harness/hrn.h"
#include "harness/manifest.h"
#include "harness/progress.h"
#include "harness/run.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/fileio.h"
#include "common/utf8.h"
#include "engine/eng.h"

#define MAX_TEXT_BYTES ((size_t)512 << 20)
/* Tokens per forward call: bounds the logits scratch (one n_vocab row per token). */
#define PPL_CALL_TOKENS 512
/* Progress lines only for a run longer than this (a short one prints just its result). */
#define PPL_PROGRESS_DELAY_NS HRN_PROGRESS_DELAY_NS

static void usage(FILE *out, const struct mrl_option *opts)
{
	fprintf(out, "usage: merilo perplexity --model MODEL --file TEXT [--ctx N] [--batch N] [--threads N]\n"
		     "                         [--json] [--backend cpu|cuda] [--kv-cache f16|f32] [--affinity] [--quiet]\n"
		     "                         [--lora ADAPTER]\n"
		     "Perplexity of TEXT with llama.cpp's method (chunks of N tokens, each from an\n"
		     "empty cache; the second half of every chunk is scored). The text needs at\n"
		     "least 2 x N tokens. A run longer than a few seconds prints progress lines\n"
		     "(chunks done, ETA) on stderr.\n");
	hrn_print_options(out, opts, 22);
	fprintf(out, "exit codes: 0 success, 2 usage error, 3 missing or bad model or text file (or a text too\n"
		     "short for --ctx), 4 runtime failure\n");
	fprintf(out, "Environment (test hook): MERILO_TEST_PROGRESS_DELAY_MS=N starts the progress lines\n"
		     "after N ms instead of %llu s.\n", PPL_PROGRESS_DELAY_NS / 1000000000ull);
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

/* What perplexity prints. */
struct ppl_result {
	const char *model, *file, *kv_cache, *lora; /* lora: the --lora adapter folder, or NULL */
	long n_ctx, n_threads, batch; /* batch: --batch as given */
	size_t n_seq;                 /* chunks run at a time (batch within the KV limit and the chunks) */
	size_t n_tok, n_chunks, count, bytes, chars;
	double nll, ppl, ppl_err, bpb, bpc, seconds, load_s;
	const double *cumulative; /* the running perplexity after each chunk */
	char started_utc[32];     /* when the model was opened: the manifest's start */
	const json_t *argv;       /* the command line (hrn_invocation_json) */
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

/* The manifest of a perplexity: build, host and the model's SHA-256 (of the bytes that
 * were scored: a file changed since it was mapped is refused), as run and bench record
 * theirs, so that a figure can be rerun; and the text's SHA-256. */
static json_t *ppl_manifest(const struct ppl_result *r, const struct eng_model *m, char text_hex[65],
			    struct mrl_err *err)
{
	struct rec_manifest man;
	rec_manifest_init(&man); /* released below even when settings could not be built */
	json_t *settings = json_pack("{s:s, s:i, s:i, s:I, s:s}", "file", r->file, "ctx", (int)r->n_ctx, "batch", (int)r->batch,
				     "threads", (json_int_t)r->n_threads, "kv_cache", r->kv_cache);
	int rc = settings ? hrn_manifest_collect(&man, NULL, NULL, settings, err) : mrl_err_set(err, MRL_ENOMEM, "out of memory");
	json_decref(settings);
	if (!rc && r->started_utc[0]) { /* collected now, after the scoring: the start is the run's */
		free(man.started_utc);
		if (!(man.started_utc = strdup(r->started_utc)))
			rc = mrl_err_set(err, MRL_ENOMEM, "out of memory");
	}
	if (!rc && !(man.argv = json_deep_copy(r->argv)))
		rc = mrl_err_set(err, MRL_ENOMEM, "out of memory");
	if (!rc && !(rc = eng_model_check_file(m, err)) && !(rc = hrn_manifest_model(&man, r->model, m, NULL, err)))
		rc = rec_manifest_finish(&man, err); /* the scoring has ended: the record is written now */
	if (!rc)
		rc = hrn_sha256_file_cached(r->file, text_hex, NULL, NULL, err);
	json_t *j = rc ? NULL : rec_manifest_to_json(&man);
	rec_manifest_release(&man);
	if (!rc && !j)
		mrl_err_set(err, MRL_ENOMEM, "perplexity: out of memory");
	return j;
}

/* --json: one object on stdout. */
static int print_json(const struct ppl_result *r, const struct eng_model *m, struct mrl_err *err)
{
	char text_hex[65];
	json_t *man = ppl_manifest(r, m, text_hex, err);
	if (!man)
		return err->code;
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
	if (o && (json_object_set_new(o, "lora", r->lora ? json_string(r->lora) : json_null()) ||
		  json_object_set_new(o, "batch", json_integer(r->batch)) ||
		  json_object_set_new(o, "batch_chunks", json_integer((json_int_t)r->n_seq)) ||
		  json_object_set_new(o, "file_sha256", json_string(text_hex)) || json_object_set_new(o, "manifest", man))) {
		json_decref(o);
		o = NULL;
	} else if (!o) {
		json_decref(man);
	}
	/* 17 digits: every double as computed (batch sizes and thread counts compare exactly) */
	int rc = !o || json_dumpf(o, stdout, JSON_INDENT(1) | JSON_REAL_PRECISION(17));
	json_decref(o);
	if (rc)
		return mrl_err_set(err, MRL_ERUNTIME, "perplexity: cannot write JSON");
	printf("\n");
	return 0;
}

/* The smallest chunk (--ctx's minimum): half of it context, the rest scored. */
#define PPL_MIN_CTX 4

/* The chunk size into *n_ctx: the user's --ctx (with one warning when it exceeds
 * the training context), else min(training context, 512), 512 where the model
 * does not say. A default never runs past the training context: a model trained
 * on fewer than PPL_MIN_CTX positions is refused, naming the --ctx to give. */
static int ppl_pick_ctx(long *n_ctx, const struct eng_model_desc *d, const char *model, struct mrl_err *err)
{
	if (*n_ctx == 0 && d->n_ctx_train && d->n_ctx_train < PPL_MIN_CTX)
		return mrl_err_set(err, MRL_EINPUT,
				   "%s: the model's training context is %u tokens, fewer than the smallest perplexity "
				   "chunk (%d); give --ctx %d or more to score past its training context",
				   model, (unsigned)d->n_ctx_train, PPL_MIN_CTX, PPL_MIN_CTX);
	if (*n_ctx == 0)
		*n_ctx = d->n_ctx_train && d->n_ctx_train < 512 ? (long)d->n_ctx_train : 512;
	else if (d->n_ctx_train && (unsigned long)*n_ctx > d->n_ctx_train)
		fprintf(stderr, "merilo perplexity: warning: --ctx %ld exceeds the model's training context (%u); "
				"positions past it were never trained\n", *n_ctx, (unsigned)d->n_ctx_train);
	return 0;
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


/* One perplexity computation: the text's tokens cut into chunks, run n_seq at a time. */
struct ppl_job {
	struct eng_model *m;
	struct eng_ctx *c;
	const int32_t *toks;
	size_t n_ctx, first, n_scored, nv, n_chunks, n_seq; /* n_scored = n_ctx - 1 - first per chunk */
	int32_t bos;        /* put in the first slot of every chunk; -1 = none */
	int32_t *tok;       /* one forward call: PPL_CALL_TOKENS tokens, their slots, logits wanted */
	uint32_t *seq;
	bool *want;
	float *logits;      /* PPL_CALL_TOKENS rows of nv */
	int32_t *target;    /* the call's wanted rows: the token each predicts, where its NLL goes in tok_nll, the NLL */
	size_t *dest;
	double *row_nll;
	double *tok_nll;    /* n_seq * n_scored: the NLL of each scored position of the chunks in flight */
	/* what a finished chunk adds to, in chunk order */
	double nll, nll2;
	size_t count;
	struct ppl_result *r;
	double *cumulative;
	struct hrn_progress *prog;
	bool print_running;
};

/* Chunks that fit beside each other in about HRN_SCORE_KV_BYTES of K and V, in the
 * cache type of --kv-cache (at least one). */
static size_t ppl_kv_chunks(const struct eng_model_desc *d, size_t n_ctx)
{
	const uint64_t chunk_bytes = d->kv_bytes_per_token * n_ctx;
	const uint64_t n = chunk_bytes ? HRN_SCORE_KV_BYTES / chunk_bytes : 1;
	return n ? (size_t)n : 1;
}

/* The context: batch chunks at a time, fewer when the KV cache would outgrow
 * HRN_SCORE_KV_BYTES or the text has fewer chunks; one sequence on a backend
 * that runs one per context. Sets j->c and j->n_seq. */
static int ppl_ctx_new(struct ppl_job *j, struct eng_model *m, const struct eng_model_desc *d, long batch,
		       struct mrl_err *err)
{
	size_t n = (size_t)batch, kv = ppl_kv_chunks(d, j->n_ctx);
	if (n > kv)
		n = kv;
	if (n > j->n_chunks)
		n = j->n_chunks;
	j->n_seq = 1;
	if (n > 1) {
		int rc = eng_ctx_new_multi(&j->c, m, (uint32_t)j->n_ctx, (uint32_t)n, err);
		if (rc != MRL_EUNSUPPORTED) {
			j->n_seq = n;
			return rc;
		}
		*err = (struct mrl_err){ 0 };
	}
	return eng_ctx_new(&j->c, m, (uint32_t)j->n_ctx, err);
}

static int ppl_job_alloc(struct ppl_job *j, struct mrl_err *err)
{
	j->tok = malloc(PPL_CALL_TOKENS * sizeof *j->tok);
	j->seq = malloc(PPL_CALL_TOKENS * sizeof *j->seq);
	j->want = malloc(PPL_CALL_TOKENS * sizeof *j->want);
	j->logits = malloc((size_t)PPL_CALL_TOKENS * j->nv * sizeof *j->logits);
	j->target = malloc(PPL_CALL_TOKENS * sizeof *j->target);
	j->dest = malloc(PPL_CALL_TOKENS * sizeof *j->dest);
	j->row_nll = malloc(PPL_CALL_TOKENS * sizeof *j->row_nll);
	j->tok_nll = malloc(j->n_seq * j->n_scored * sizeof *j->tok_nll);
	if (!j->tok || !j->seq || !j->want || !j->logits || !j->target || !j->dest || !j->row_nll || !j->tok_nll)
		return mrl_err_set(err, MRL_ENOMEM, "perplexity: out of memory");
	return 0;
}

static void ppl_job_release(struct ppl_job *j)
{
	free(j->tok);
	free(j->seq);
	free(j->want);
	free(j->logits);
	free(j->target);
	free(j->dest);
	free(j->row_nll);
	free(j->tok_nll);
	eng_ctx_free(j->c);
}

/* Chunk ci is done (its NLLs in tok_nll row s): add them in the unbatched order
 * (position by position: the same sums), its bytes and characters; print the
 * running perplexity unless quiet; one progress step. */
static int ppl_chunk_done(struct ppl_job *j, size_t ci, size_t s, struct mrl_err *err)
{
	for (size_t i = 0; i < j->n_scored; i++) {
		const double v = j->tok_nll[s * j->n_scored + i];
		j->nll += v;
		j->nll2 += v * v;
		j->count++;
	}
	size_t b = 0, ch = 0;
	int rc = span_size(j->m, j->toks + ci * j->n_ctx + j->first, j->n_ctx - j->first, &b, &ch, err);
	if (rc)
		return rc;
	j->r->bytes += b;
	j->r->chars += ch;
	j->cumulative[ci] = exp(j->nll / (double)j->count);
	if (j->print_running) {
		printf("[%zu]%.4f,", ci + 1, j->cumulative[ci]);
		fflush(stdout);
	}
	char what[64];
	snprintf(what, sizeof what, "ppl %.4f", j->cumulative[ci]);
	hrn_progress_step(j->prog, what);
	return 0;
}

/* Chunks ci0 .. ci0+nb-1 (nb <= n_seq), chunk ci0+s in slot s from an empty
 * cache, fed in order in forward calls of up to PPL_CALL_TOKENS tokens; the NLL
 * of position i of chunk ci0+s (predicting its token i + 1) into
 * tok_nll[s * n_scored + i - first]. A chunk is finished (ppl_chunk_done) after
 * the call that fed its last token, so progress moves within a group. */
static int ppl_run_chunks(struct ppl_job *j, size_t ci0, size_t nb, struct mrl_err *err)
{
	const size_t total = nb * j->n_ctx;
	int rc = 0;
	for (size_t s = 0; s < nb; s++)
		eng_seq_truncate(j->c, (uint32_t)s, 0);
	for (size_t done = 0; done < total && !rc;) {
		const size_t n = total - done < PPL_CALL_TOKENS ? total - done : PPL_CALL_TOKENS;
		size_t rows = 0; /* wanted: logits rows, in token order */
		for (size_t k = 0; k < n; k++) {
			const size_t s = (done + k) / j->n_ctx, i = (done + k) % j->n_ctx;
			j->tok[k] = i == 0 && j->bos >= 0 ? j->bos : j->toks[(ci0 + s) * j->n_ctx + i];
			j->seq[k] = (uint32_t)s;
			j->want[k] = i >= j->first && i + 1 < j->n_ctx;
			if (j->want[k]) {
				j->target[rows] = j->toks[(ci0 + s) * j->n_ctx + i + 1];
				j->dest[rows++] = s * j->n_scored + i - j->first;
			}
		}
		if ((rc = eng_forward_batch(j->c, j->tok, j->seq, n, j->want, j->logits, err)))
			return rc;
		/* llama.cpp's log-softmax, the rows split over the context's threads */
		eng_logits_nll(j->c, j->logits, rows, j->target, j->row_nll);
		for (size_t r = 0; r < rows; r++)
			j->tok_nll[j->dest[r]] = j->row_nll[r];
		/* the chunks whose last token this call fed */
		for (size_t s = done / j->n_ctx; s < (done + n) / j->n_ctx && !rc; s++)
			rc = ppl_chunk_done(j, ci0 + s, s, err);
		done += n;
	}
	return rc;
}

/* Every chunk, n_seq at a time; the sums and counts into j->r (nll, count, bytes,
 * chars, perplexity, error, bits), the running perplexity after each chunk. */
static int ppl_score(struct ppl_job *j, struct mrl_err *err)
{
	struct ppl_result *r = j->r;
	for (size_t ci0 = 0; ci0 < j->n_chunks; ci0 += j->n_seq) {
		const size_t nb = j->n_chunks - ci0 < j->n_seq ? j->n_chunks - ci0 : j->n_seq;
		int rc = ppl_run_chunks(j, ci0, nb, err);
		if (rc)
			return rc;
	}
	hrn_progress_end(j->prog);
	const double nll = j->nll, mean = nll / (double)j->count;
	const double var = j->nll2 / (double)j->count - mean * mean;
	r->nll = nll;
	r->count = j->count;
	r->ppl = exp(mean);
	r->ppl_err = var > 0 && j->count > 1 ? r->ppl * sqrt(var / (double)(j->count - 1)) : 0;
	const double bits = nll / log(2.0);
	r->bpb = r->bytes ? bits / (double)r->bytes : 0;
	r->bpc = r->chars ? bits / (double)r->chars : 0;
	r->cumulative = j->cumulative;
	return 0;
}

/* Progress on stderr (harness/progress.h): none with --quiet; a line redrawn in
 * place where stderr is a terminal and stdout is not (the running values would be
 * drawn over), whole lines otherwise; only once the run has taken PPL_PROGRESS_DELAY_NS. */
static void ppl_progress_init(struct hrn_progress *prog, bool quiet, size_t n_chunks)
{
	hrn_progress_begin(prog, "merilo perplexity", "chunks", n_chunks, quiet, true);
}

/* What the command line asked for. */
struct ppl_opts {
	const char *model_path, *file, *kv_cache, *lora;
	long n_ctx, n_threads, batch;
	bool as_json, quiet, affinity;
	enum eng_backend backend;
};

static int ppl_parse(struct ppl_opts *o, int argc, char **argv)
{
	const struct mrl_option options[] = {
		OPT_STRING('m', "model", &o->model_path, "MODEL", "the model: a GGUF file or an HF folder (required)"),
		OPT_STRING(0, "file", &o->file, "TEXT", "the text, UTF-8 (required)"),
		OPT_INTEGER(0, "ctx", &o->n_ctx, PPL_MIN_CTX, 1 << 20, "N",
			    "tokens per chunk (default: the model's training context, at most\n"
			    "512; a model trained on fewer than 4 needs --ctx; a larger one\n"
			    "runs with a warning: positions past training are untrained)"),
		OPT_INTEGER(0, "batch", &o->batch, 1, 4096, "N",
			    "N chunks at a time in shared forward calls (default " HRN_RUN_BATCH_DEFAULT ",\n"
			    "fewer when their KV cache would pass 256 MiB); every figure is\n"
			    "identical for every N"),
		OPT_INTEGER(0, "threads", &o->n_threads, 0, 1024, "N", "worker threads (default: the CPUs this process may use)"),
		OPT_BOOL(0, "json", &o->as_json, "one JSON object on stdout"),
		OPT_BOOL('q', "quiet", &o->quiet, "only errors and one line with the perplexity (no progress)"),
		OPT_CALLBACK(0, "backend", &o->backend, "B", "cpu (default) or cuda", hrn_opt_backend),
		OPT_CALLBACK(0, "kv-cache", &o->kv_cache, "T", HRN_KV_CACHE_HELP, hrn_opt_kv_cache),
		OPT_BOOL(0, "affinity", &o->affinity, HRN_AFFINITY_HELP),
		OPT_STRING_F(0, "lora", &o->lora, "DIR", HRN_LORA_HELP, MRL_OPT_NONEMPTY),
		OPT_END(),
	};
	int n_args, rc = hrn_options("perplexity", options, argc, argv, &n_args, usage);
	if (rc != HRN_OPTS_GO)
		return rc;
	if (n_args)
		return hrn_usage_error("perplexity", "unexpected argument '%s' (the text is given with --file)", argv[0]);
	if (!o->model_path || !o->file)
		return hrn_usage_error("perplexity", "--model and --file are required");
	return HRN_OPTS_GO;
}

/* The text must be UTF-8: bits per character counts characters, and the tokenizer's byte
 * fallback would score any bytes (600 bytes of 0xff read as "259 characters", exit 0). */
static int ppl_text_utf8(const char *path, const char *text, size_t len, struct mrl_err *err)
{
	const size_t good = mrl_utf8_valid_prefix(text, len);
	return good == len ? 0
			   : mrl_err_set(err, MRL_EINPUT, "%s: not UTF-8 (an invalid byte 0x%02x at byte %zu): perplexity "
						       "needs a UTF-8 text", path, (unsigned char)text[good], good);
}

int hrn_cmd_perplexity(int argc, char **argv)
{
	struct ppl_opts o = { .kv_cache = "f16", .batch = (long)hrn_run_batch_items(HRN_RUN_BATCH_DEFAULT),
			      .backend = ENG_BACKEND_CPU };
	json_t *invocation = hrn_invocation_json(argc, argv); /* before parsing reorders argv */
	int rc = ppl_parse(&o, argc, argv);
	if (rc != HRN_OPTS_GO)
		return json_decref(invocation), rc;
	struct mrl_err err = { 0 };
	struct eng_model *m = NULL;
	struct ppl_job j = { .bos = -1 };
	char *text = NULL;
	int32_t *toks = NULL;
	double *cumulative = NULL;
	int ret = HRN_EXIT_OK;
	size_t text_len = 0, n_tok = 0;

	struct eng_open_opts eo = { .n_threads = (int)o.n_threads, .backend = o.backend, .kv_f32 = o.kv_cache[1] == '3',
				    .pin_threads = o.affinity, .lora = o.lora };
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	char started[32];
	rec_utc_now_iso8601(started, sizeof started);
	if (eng_model_open(&m, o.model_path, &eo, &err))
		goto fail;
	const double load_s = seconds_since(&t0);
	hrn_print_model_warnings(m);
	struct eng_model_desc d;
	eng_model_describe(m, &d);
	if (ppl_pick_ctx(&o.n_ctx, &d, o.model_path, &err) ||
	    mrl_read_file(o.file, MAX_TEXT_BYTES, &text, &text_len, &err) || ppl_text_utf8(o.file, text, text_len, &err) ||
	    eng_tokenize(m, text, text_len, d.add_bos, &toks, &n_tok, &err))
		goto fail;
	if (n_tok < 2 * (size_t)o.n_ctx) {
		ppl_too_short(&err, o.file, n_tok, o.n_ctx);
		goto fail;
	}
	j.m = m;
	j.toks = toks;
	j.n_ctx = (size_t)o.n_ctx;
	j.first = j.n_ctx / 2;
	j.n_scored = j.n_ctx - 1 - j.first;
	j.nv = d.n_vocab;
	j.n_chunks = n_tok / j.n_ctx;
	j.bos = d.add_bos && d.bos_id >= 0 ? d.bos_id : -1;
	cumulative = calloc(j.n_chunks, sizeof *cumulative);
	if (!cumulative) {
		mrl_err_set(&err, MRL_ENOMEM, "perplexity: out of memory");
		goto fail;
	}
	if (ppl_ctx_new(&j, m, &d, o.batch, &err) || ppl_job_alloc(&j, &err))
		goto fail;
	if (!o.as_json && !o.quiet)
		printf("perplexity: %zu tokens, %zu chunk%s of %ld, scoring the last %zu of each, %zu at a time\n", n_tok,
		       j.n_chunks, j.n_chunks == 1 ? "" : "s", o.n_ctx, j.n_scored, j.n_seq);
	struct ppl_result r = {
		.model = o.model_path, .lora = o.lora, .file = o.file, .n_ctx = o.n_ctx, .batch = o.batch,
		.n_threads = o.n_threads > 0 ? o.n_threads : (long)eng_default_threads(), /* 0: the default, as run */
		.n_seq = j.n_seq, .n_tok = n_tok, .n_chunks = j.n_chunks, .kv_cache = o.kv_cache, .load_s = load_s,
		.argv = invocation,
	};
	memcpy(r.started_utc, started, sizeof started);
	struct hrn_progress prog;
	ppl_progress_init(&prog, o.quiet, j.n_chunks);
	j.r = &r;
	j.cumulative = cumulative;
	j.prog = &prog;
	j.print_running = !o.as_json && !o.quiet;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (ppl_score(&j, &err))
		goto fail;
	r.seconds = seconds_since(&t0);
	if (o.as_json ? print_json(&r, m, &err) : (print_summary(&r, o.quiet), 0))
		goto fail;
	goto out;
fail:
	ret = hrn_report(&err);
out:
	free(cumulative);
	free(toks);
	free(text);
	ppl_job_release(&j);
	eng_model_close(m);
	json_decref(invocation);
	return ret;
}
