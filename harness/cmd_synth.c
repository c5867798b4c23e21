/* cmd_synth.c — `merilo synth`: write a random-weight GGUF model of a given shape.
 *
 * Synthetic models measure speed (prefill/decode throughput, memory), never
 * quality: the weights are seeded noise. The work is in engine/synth.c; this
 * file adds a progress line per tensor (harness/progress.h: after 5 s, none with
 * --quiet) and Ctrl-C: the engine stops at its next chunk and removes its
 * temporary file, and we say that nothing was written (exit 4, as run).
 */
#include "harness/hrn.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/fileio.h"
#include "engine/eng.h"
#include "harness/progress.h"

static void usage(FILE *out, const struct mrl_option *opts)
{
	fprintf(out,
		"usage: merilo synth [--arch llama] --preset tiny|110m|1b|7b [--dtype DTYPE]\n"
		"                    [--layers N] [--dim N] [--heads N] [--kv-heads N] [--ffn N] [--ctx N]\n"
		"                    [--experts N --experts-used K] [--vocab VOCAB.gguf] [--tied] [--seed N] -o OUT.gguf\n"
		"\n"
		"Write a llama-architecture GGUF model with random weights (matrices N(0,1)*0.02,\n"
		"norm weights 1+0.1*N(0,1)) from a seeded generator: the same options and seed\n"
		"give a byte-identical file. Synthetic models measure speed, not quality.\n"
		"\n");
	hrn_print_options(out, opts, 16);
	fprintf(out, "exit codes: 0 written, 2 usage error (an unknown --arch, --preset or --dtype, a shape whose\n"
		     "values do not fit together), 3 a missing or bad --vocab file, 4 the output cannot be written\n"
		     "or interrupted (SIGINT/SIGTERM: the temporary file is removed, OUT is left as it was)\n"
		     "Progress: a line per tensor on stderr (redrawn on a terminal) once it has run 5 s; none\n"
		     "with --quiet. Test hooks: MERILO_TEST_PROGRESS_DELAY_MS=N starts it after N ms;\n"
		     "MERILO_TEST_SLOW_MS=N sleeps N ms after every tensor.\n");
}

/* What the engine calls after each tensor: the progress line, then the test hook. */
struct synth_watch {
	struct hrn_progress prog;
	long slow_ms;
};

static void on_tensor(void *user, size_t done, size_t n_tensors, const char *name)
{
	struct synth_watch *w = user;
	w->prog.total = n_tensors; /* known once the engine has laid out the model */
	hrn_progress_advance(&w->prog, done - w->prog.done, name);
	if (w->slow_ms > 0)
		nanosleep(&(struct timespec){ w->slow_ms / 1000, w->slow_ms % 1000 * 1000000L }, NULL);
}

/* eng_synth under progress and caught signals; an exit code. */
static int synth_watched(struct eng_synth_opts *o, const char *out, bool quiet, struct eng_synth_info *info)
{
	struct mrl_err err = { 0 };
	struct synth_watch w = { .slow_ms = getenv("MERILO_TEST_SLOW_MS") ? atol(getenv("MERILO_TEST_SLOW_MS")) : 0 };
	hrn_progress_begin(&w.prog, "merilo synth", "tensors", 0, quiet, false);
	o->on_tensor = on_tensor;
	o->user = &w;
	o->stop = &hrn_stop_signal;
	hrn_signals_catch();
	int rc = eng_synth(o, out, info, &err);
	hrn_signals_restore();
	hrn_progress_end(&w.prog);
	if (rc && hrn_stop_signal) {
		fprintf(stderr, "merilo synth: interrupted (%s); nothing was written to %s\n",
			hrn_stop_signal == SIGTERM ? "SIGTERM" : "SIGINT", out);
		return HRN_EXIT_RUNTIME;
	}
	return rc ? hrn_report(&err) : HRN_EXIT_OK;
}

/* A shape option: a positive integer that fits 32 bits. */
static int parse_u32(const struct mrl_option *opt, const char *arg, struct mrl_err *err)
{
	uint64_t v;
	if (hrn_parse_u64(arg, &v) || v == 0 || v > UINT32_MAX)
		return mrl_err_set(err, MRL_EINPUT, "--%s expects a positive integer, got '%s'", opt->long_name, arg);
	*(uint32_t *)opt->value = (uint32_t)v;
	return 0;
}

int hrn_cmd_synth(int argc, char **argv)
{
	struct eng_synth_opts o = { .arch = "llama", .dtype = "f32", .seed = 1 };
	const char *out = NULL;
	bool quiet = false;
	const struct mrl_option opts[] = {
		OPT_STRING(0, "arch", &o.arch, "A", NULL),
		OPT_STRING(0, "preset", &o.preset, "P",
			   "tiny (dim 64, 4 layers, 8/4 heads, ffn 192, ctx 256),\n"
			   "110m (768, 12, 12/12, 2048, 1024), 1b (2048, 16, 32/8, 5632, 2048),\n"
			   "7b (4096, 32, 32/32, 11008, 4096); the shape options override it"),
		OPT_STRING(0, "dtype", &o.dtype, "D",
			   "f32 (default), f16, bf16, q8_0, q4_0 for the matrices; norms stay f32;\n"
			   "a q4_0 model keeps output.weight in q8_0, as llama.cpp does"),
		OPT_CALLBACK(0, "layers", &o.n_layer, "N", NULL, parse_u32),
		OPT_CALLBACK(0, "dim", &o.n_embd, "N", NULL, parse_u32),
		OPT_CALLBACK(0, "heads", &o.n_head, "N", NULL, parse_u32),
		OPT_CALLBACK(0, "kv-heads", &o.n_head_kv, "N", NULL, parse_u32),
		OPT_CALLBACK(0, "ffn", &o.n_ff, "N", NULL, parse_u32),
		OPT_CALLBACK(0, "ctx", &o.n_ctx, "N", NULL, parse_u32),
		OPT_CALLBACK(0, "experts", &o.n_expert, "N",
			     "a mixture of N experts of --ffn each on every layer, as Mixtral\n"
			     "(a router and ffn_*_exps tensors; default: a dense FFN)", parse_u32),
		OPT_CALLBACK(0, "experts-used", &o.n_expert_used, "K", "experts each token takes (1..N)", parse_u32),
		OPT_STRING(0, "vocab", &o.vocab_path, "F",
			   "copy the tokenizer (every tokenizer.* key) from a GGUF file;\n"
			   "default: a small built-in byte-fallback vocabulary (docs/gguf.md)"),
		OPT_BOOL(0, "tied", &o.tied,
			 "no output.weight: the output matrix is token_embd's, as in Llama 3.2,\n"
			 "Gemma 2 and SmolLM2"),
		OPT_UINT64(0, "seed", &o.seed, "N", "generator seed (default 1)"),
		OPT_STRING('o', "out", &out, "F", "the file to write (atomically; missing folders are made)"),
		OPT_STRING_F(0, "output", &out, "F", NULL, MRL_OPT_HIDDEN), /* the old name */
		OPT_BOOL('q', "quiet", &quiet, "no progress lines (only errors and the closing line)"),
		OPT_END(),
	};
	int n_args, rc = hrn_options("synth", opts, argc, argv, &n_args, usage);
	if (rc != HRN_OPTS_GO)
		return rc;
	if (n_args)
		return hrn_usage_error("synth", "unexpected argument '%s'", argv[0]);
	if (!out)
		return hrn_usage_error("synth", "missing -o OUT.gguf");
	if (!o.preset && !(o.n_layer && o.n_embd && o.n_head && o.n_ff))
		return hrn_usage_error("synth", "give --preset, or all of --layers, --dim, --heads and --ffn");
	struct mrl_err err = {0};
	struct eng_synth_info info;
	/* an unknown --arch, --preset or --dtype, or a shape whose values do not fit together
	 * (--dim 63, --heads 3), is a bad command line (exit 2), like any bad value; checked
	 * before a folder is made */
	if (eng_synth_check(&o, &err))
		return hrn_usage_error("synth", "%s", strncmp(err.msg, "synth: ", 7) ? err.msg : err.msg + 7);
	if (mrl_mkdir_parent(out, &err))
		return hrn_report(&err);
	if ((rc = synth_watched(&o, out, quiet, &info)) != HRN_EXIT_OK)
		return rc;
	char experts[64] = "";
	if (info.n_expert)
		snprintf(experts, sizeof experts, " x %u experts (%u a token)", info.n_expert, info.n_expert_used);
	printf("wrote %s: llama %s %s, %u layers, dim %u, heads %u/%u, ffn %u%s, ctx %u, vocab %u, "
	       "%.1fM params, %.1f MiB, seed %llu (random weights: for speed, not quality)\n",
	       out, o.preset ? o.preset : "custom", o.dtype, info.n_layer, info.n_embd, info.n_head,
	       info.n_head_kv, info.n_ff, experts, info.n_ctx, info.n_vocab, (double)info.n_params / 1e6,
	       (double)info.file_bytes / 1048576.0, (unsigned long long)o.seed);
	return HRN_EXIT_OK;
}
