/* cmd_generate.c — `merilo generate`: greedy generation from a prompt.
 *
 * Tokenize the prompt (BOS as the model's metadata says), prefill it in one
 * eng_decode, then take the argmax token n times. Generation runs past EOS
 * unless --stop-eos (as llama.cpp's fixtures were made). Prints the generated
 * text, or with --ids the generated ids one per line. --timing reports prefill
 * and decode speed on stderr (tokenization excluded).
 */
#include "harness/hrn.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/eng.h"

static void usage(FILE *out, const struct mrl_option *opts)
{
	fprintf(out, "usage: merilo generate --model MODEL.gguf --prompt TEXT [-n N] [--ids] [--threads N]\n"
		     "                       [--stop-eos] [--timing] [--backend cpu|cuda]\n"
		     "Greedy generation of N tokens (default 32) after TEXT. When the prompt's tokens\n"
		     "plus N exceed the model's training context it runs with one warning on stderr.\n");
	hrn_print_options(out, opts, 12);
}

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int32_t argmax(const float *v, uint32_t n)
{
	uint32_t best = 0;
	for (uint32_t i = 1; i < n; i++)
		if (v[i] > v[best])
			best = i;
	return (int32_t)best;
}

int hrn_cmd_generate(int argc, char **argv)
{
	const char *model_path = NULL, *prompt = NULL;
	long n_gen = 32, n_threads = 0;
	bool ids_only = false, stop_eos = false, timing = false;
	enum eng_backend backend = ENG_BACKEND_CPU;
	const struct mrl_option options[] = {
		OPT_STRING(0, "model", &model_path, "MODEL.gguf", NULL),
		OPT_STRING(0, "prompt", &prompt, "TEXT", NULL),
		OPT_INTEGER('n', "n-predict", &n_gen, 0, 1 << 20, "N", NULL),
		OPT_INTEGER(0, "threads", &n_threads, 0, 1024, "N", NULL),
		OPT_BOOL(0, "ids", &ids_only, "print the generated token ids, one per line, instead of text"),
		OPT_BOOL(0, "stop-eos", &stop_eos, "stop at the end-of-sequence token (default: generate N tokens)"),
		OPT_BOOL(0, "timing", &timing, "print prefill and decode tokens/s on stderr"),
		OPT_CALLBACK(0, "backend", &backend, NULL,
			     "cpu (default) or cuda (needs libmerilo-cuda.so and a GPU; see docs/gpu.md)", hrn_opt_backend),
		OPT_END(),
	};
	int n_args, rc = hrn_options("generate", options, argc, argv, &n_args, usage);
	if (rc != HRN_OPTS_GO)
		return rc;
	if (n_args)
		return hrn_usage_error("generate", "unexpected argument '%s' (the prompt is given with --prompt)", argv[0]);
	if (!model_path || !prompt)
		return hrn_usage_error("generate", "--model and --prompt are required");

	struct mrl_err err = { 0 };
	struct eng_model *m = NULL;
	struct eng_ctx *c = NULL;
	int32_t *toks = NULL, *gen = NULL;
	float *logits = NULL;
	char *text = NULL;
	size_t n_prompt = 0, n_out = 0, text_len = 0;
	int ret = HRN_EXIT_OK;

	struct eng_open_opts opts = { .n_threads = (int)n_threads, .backend = backend };
	if (eng_model_open(&m, model_path, &opts, &err))
		goto fail;
	hrn_print_model_warnings(m);
	struct eng_model_desc d;
	eng_model_describe(m, &d);
	if (eng_tokenize(m, prompt, strlen(prompt), d.add_bos, &toks, &n_prompt, &err))
		goto fail;
	if (n_prompt == 0) {
		mrl_err_set(&err, MRL_EINPUT, "generate: the prompt has no tokens");
		goto fail;
	}
	if (d.n_ctx_train && n_prompt + (size_t)n_gen > d.n_ctx_train)
		fprintf(stderr, "merilo generate: warning: prompt (%zu tokens) + -n %ld = %zu exceeds the model's "
				"training context (%u); positions past it were never trained\n",
			n_prompt, n_gen, n_prompt + (size_t)n_gen, (unsigned)d.n_ctx_train);
	if (eng_ctx_new(&c, m, (uint32_t)(n_prompt + (size_t)n_gen), &err))
		goto fail;
	logits = malloc((size_t)d.n_vocab * sizeof *logits);
	gen = malloc(((size_t)n_gen + 1) * sizeof *gen);
	if (!logits || !gen) {
		mrl_err_set(&err, MRL_ENOMEM, "generate: out of memory");
		goto fail;
	}
	double t0 = now_s();
	if (eng_decode(c, toks, n_prompt, logits, false, &err))
		goto fail;
	double t1 = now_s();
	for (long s = 0; s < n_gen; s++) {
		int32_t t = argmax(logits, d.n_vocab);
		gen[n_out++] = t;
		if (ids_only) {
			printf("%d\n", t);
			fflush(stdout);
		}
		if (stop_eos && t == d.eos_id)
			break;
		if (s + 1 < n_gen && eng_decode(c, &t, 1, logits, false, &err))
			goto fail;
	}
	double t2 = now_s();
	if (!ids_only) {
		if (eng_detokenize(m, gen, n_out, &text, &text_len, &err))
			goto fail;
		fwrite(text, 1, text_len, stdout);
		printf("\n");
	}
	if (timing) {
		size_t n_dec = n_out > 0 ? n_out - 1 : 0;
		fprintf(stderr, "prefill: %zu tokens in %.3f s (%.1f tokens/s)\n", n_prompt, t1 - t0,
			(double)n_prompt / (t1 - t0));
		fprintf(stderr, "decode: %zu tokens in %.3f s (%.1f tokens/s)\n", n_dec, t2 - t1,
			n_dec ? (double)n_dec / (t2 - t1) : 0.0);
	}
	goto out;
fail:
	ret = hrn_report(&err);
out:
	free(text);
	free(gen);
	free(logits);
	free(toks);
	eng_ctx_free(c);
	eng_model_close(m);
	return ret;
}
