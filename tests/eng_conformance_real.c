/* eng_conformance_real.c — merilo against llama.cpp on real weights (SmolLM2-135M), every type.
 *
 * Fixtures: tests/smollm2-fixtures.sh DIR makes llama.cpp's quantizations of
 * ../shared/fixtures/models-real/smollm2-135m-instruct-q4_1.gguf, llama.cpp's
 * perplexity of each (ctx 256, batch 256 and batch 32), and llama-tokenize's ids of the
 * text, which are fed to the files as llama-quantize wrote them. DIR is
 * $MRL_SMOLLM2_DIR, else smollm2/ next to $MERILO; skipped where absent.
 *
 * Per type: perplexity by llama.cpp's method on the same ids (chunks of 256 from
 * an empty cache, no BOS replacement as the model adds none, NLL of positions
 * 128..254 -> next token) against llama.cpp's, held to four standard errors of the
 * file's own rounding noise: merilo scores the text again with an f32 KV cache, and
 * the per-token NLL differences between the two runs (one rounding changed) give
 * sigma / sqrt(n). Changing one rounding moves either engine about as far from the
 * other as they are apart (docs/engine.md: the "Q2_K" file, KL divergence 0.0086
 * between the engines, 0.0091 between llama.cpp's own f16 and f32 KV caches), and a
 * fixed bound was about 2 sigma for the noisiest file. The figures, and llama.cpp's
 * own batch-256-vs-32 and f16-vs-f32-KV spreads, are printed. For the Q4_1 file also the
 * prompts of fixtures/hf/expected/smollm2-q4_1: that reference used an F32 KV
 * cache while merilo keeps llama.cpp's default f16, so the last-prompt logits are
 * held to 1.5x llama.cpp's own f16-vs-f32 KV difference (summary.json), and greedy
 * ids compared until the reference top-2 margin falls below that difference.
 */
#include "tests/tap.h"
#include "tests/float_oracle.h"
#include "tests/gguf_edit.h"

#include <jansson.h>

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "engine/eng.h"

#define N_CTX 256
#define N_GREEDY 16

static const char *const types[] = { "f16", "bf16", "q8_0", "q4_0", "q4_1", "q5_0", "q5_1", "q2_k",
				     "q3_k_m", "q4_k_m", "q5_k_m", "q6_k", "iq4_nl", "iq4_xs" };

static double read_num(const char *path)
{
	FILE *f = fopen(path, "r");
	double x = NAN;
	if (f) {
		if (fscanf(f, "%lf", &x) != 1)
			x = NAN;
		fclose(f);
	}
	return x;
}

static double log_softmax_at(const float *l, int nv, int id)
{
	double mx = l[0], s = 0;
	for (int i = 1; i < nv; i++)
		if (l[i] > mx)
			mx = l[i];
	for (int i = 0; i < nv; i++)
		s += exp((double)l[i] - mx);
	return (double)l[id] - mx - log(s);
}

/* NLL of positions 128..254 -> next token of every whole chunk, into nll (at most
 * n_ids entries); their number, or 0 on an error. */
static size_t chunk_nlls(struct eng_ctx *c, int nv, const int32_t *ids, size_t n_ids, double *nll)
{
	float *logits = malloc((size_t)N_CTX * (size_t)nv * sizeof *logits);
	size_t count = 0;
	struct mrl_err err = { 0 };
	for (size_t start = 0; logits && start + N_CTX <= n_ids; start += N_CTX) {
		eng_ctx_truncate(c, 0);
		if (eng_decode(c, ids + start, N_CTX, logits, true, &err)) {
			diag("%s", err.msg);
			count = 0;
			break;
		}
		for (int i = N_CTX / 2; i < N_CTX - 1; i++)
			nll[count++] = -log_softmax_at(logits + (size_t)i * nv, nv, ids[start + (size_t)i + 1]);
	}
	free(logits);
	return count;
}

/* c: the model's context (f16 KV cache, llama.cpp's default); c32: the same model with an f32 cache. */
/* ref: llama.cpp's perplexity file (with .b32 and .kvf32 beside it where llama.cpp's own
 * spreads were measured); type: the label. */
static double check_ppl(struct eng_ctx *c, struct eng_ctx *c32, int nv, const int32_t *ids, size_t n_ids,
			const char *ref_path, const char *type)
{
	char path[1300], name[200];
	double ref = read_num(ref_path);
	snprintf(path, sizeof path, "%s.b32", ref_path);
	double ref32 = read_num(path);
	snprintf(path, sizeof path, "%s.kvf32", ref_path);
	double ref_kv32 = read_num(path);
	double *a = malloc(n_ids * sizeof *a), *b = malloc(n_ids * sizeof *b);
	const size_t count = a && b ? chunk_nlls(c, nv, ids, n_ids, a) : 0;
	const size_t count32 = count ? chunk_nlls(c32, nv, ids, n_ids, b) : 0;
	double nll = 0, nll32 = 0, md = 0, sd = 0;
	for (size_t i = 0; i < count; i++)
		nll += a[i];
	for (size_t i = 0; i < count32; i++)
		nll32 += b[i];
	for (size_t i = 0; i < count32; i++)
		md += (a[i] - b[i]) / (double)count32;
	for (size_t i = 0; i < count32; i++)
		sd += (a[i] - b[i] - md) * (a[i] - b[i] - md) / (double)(count32 > 1 ? count32 - 1 : 1);
	free(a);
	free(b);
	/* the standard error of the mean NLL under one changed rounding: the relative
	 * perplexity gap it allows (exp(x) - 1 ~ x at these sizes) */
	const double se = count32 ? sqrt(sd) / sqrt((double)count32) : 0;
	double ppl = exp(nll / (double)(count ? count : 1));
	double rel = fabs(ppl - ref) / ref, spread = fabs(ref32 - ref) / ref, kv_spread = fabs(ref_kv32 - ref) / ref;
	if (isnan(ref32))
		diag("%-7s merilo PPL %.4f  llama.cpp %.4f  rel diff %.2e (%.1f sigma of %.2e)", type, ppl, ref, rel,
		     se > 0 ? rel / se : 0.0, se);
	else
		diag("%-7s merilo PPL %.4f  llama.cpp %.4f (b256) %.4f (b32) %.4f (f32 KV)  rel diff %.2e (%.1f sigma "
		     "of %.2e)  llama.cpp's own spreads: b256-vs-b32 %.2e, f16-vs-f32 KV %.2e",
		     type, ppl, ref, ref32, ref_kv32, rel, se > 0 ? rel / se : 0.0, se, spread, kv_spread);
	/* issue 14's target is 2e-4, but on these 508 predictions it is below the noise
	 * floor: a change of single roundings (llama.cpp's f32 KV cache; merilo's ops.c
	 * built without FMA/F16C) moves the perplexity by 1e-5..5e-3, as activation
	 * quantization turns one-ulp differences into different int8/f16 roundings
	 * (docs/engine.md, "Perplexity on real weights"). b256-vs-b32 is 0: llama.cpp's
	 * kernels do not depend on the batch, so it is no yardstick. */
	snprintf(name, sizeof name,
		 "%s: perplexity within 4 standard errors (%.2e) of the file's rounding noise of llama.cpp's (%zu "
		 "predictions; target 2e-4)",
		 type, 4 * se, count);
	ok(count > 0 && count32 == count && se > 0 && rel <= 4 * se, name);
	const double ppl32 = exp(nll32 / (double)(count32 ? count32 : 1)), rel32 = fabs(ppl32 - ref_kv32) / ref_kv32;
	diag("%-7s with f32 KV caches: merilo PPL %.4f  llama.cpp %.4f  rel diff %.2e", type, ppl32, ref_kv32, rel32);
	return count32 ? rel32 : INFINITY;
}

static void check_prompts(struct eng_ctx *c, int nv, const char *exp_dir)
{
	static const char *const prompts[] = { "en", "sr-latn", "sr-cyrl" };
	float *logits = malloc((size_t)nv * sizeof *logits);
	char spath[1024];
	snprintf(spath, sizeof spath, "%s/summary.json", exp_dir);
	json_t *summary = json_load_file(spath, 0, NULL);
	for (size_t p = 0; logits && p < 3; p++) {
		char path[1024], name[200];
		/* the reference ran with an F32 KV cache; llama.cpp's own f16-KV logits differ
		 * from it by kv: merilo (f16 KV, as llama.cpp's default) is held to 1.5 kv, and
		 * greedy ids are compared until the reference margin drops below kv */
		double kv = json_real_value(json_object_get(json_object_get(json_object_get(summary, "per_prompt"),
									     prompts[p]),
						     "kv_f16_last_max_abs_vs_kv_f32"));
		if (kv <= 0)
			kv = 0.5;
		snprintf(path, sizeof path, "%s/%s.ids.txt", exp_dir, prompts[p]);
		size_t n_prompt = 0, n_steps = 0, n_ref = 0;
		int32_t *ids = read_id_file(path, &n_prompt);
		snprintf(path, sizeof path, "%s/%s.greedy.txt", exp_dir, prompts[p]);
		int32_t *greedy = read_id_file(path, &n_steps);
		snprintf(path, sizeof path, "%s/%s.last-logits.txt", exp_dir, prompts[p]);
		FILE *f = fopen(path, "r");
		float *ref = malloc((size_t)nv * sizeof *ref);
		double x;
		while (f && ref && n_ref < (size_t)nv && fscanf(f, "%lf", &x) == 1)
			ref[n_ref++] = (float)x;
		if (f)
			fclose(f);
		/* margins from the steps file: step id top1 top2_id top2 margin */
		double margin[N_GREEDY];
		snprintf(path, sizeof path, "%s/%s.greedy.steps.tsv", exp_dir, prompts[p]);
		f = fopen(path, "r");
		char line[256];
		int ns = 0;
		while (f && fgets(line, sizeof line, f) && ns < N_GREEDY) {
			int step, id, id2;
			double t1, t2, mg;
			if (sscanf(line, "%d %d %lf %d %lf %lf", &step, &id, &t1, &id2, &t2, &mg) == 6)
				margin[ns++] = mg;
		}
		if (f)
			fclose(f);
		struct mrl_err err = { 0 };
		eng_ctx_truncate(c, 0);
		int rc = !ids || !greedy || n_ref != (size_t)nv ||
			 eng_decode(c, ids, n_prompt, logits, false, &err);
		double worst = 0;
		for (int i = 0; !rc && i < nv; i++)
			worst = fmax(worst, fabs((double)logits[i] - ref[i]));
		diag("q4_1 %s: last-prompt logits max abs diff %.4f (llama.cpp's own f16-vs-f32 KV: %.4f)", prompts[p],
		     worst, kv);
		snprintf(name, sizeof name, "q4_1 %s: last-prompt logits within 1.5x llama.cpp's own f16-KV difference",
			 prompts[p]);
		ok(!rc && worst < 1.5 * kv, name);
		int agree = 0, checked = 0;
		for (int s = 0; !rc && s < N_GREEDY && s < (int)n_steps && s < ns; s++) {
			int next = argmax(logits, (size_t)nv);
			if (margin[s] < kv)
				break;
			checked++;
			if (next != greedy[s])
				break;
			agree++;
			rc = eng_decode(c, &next, 1, logits, false, &err);
		}
		diag("q4_1 %s: greedy ids agree for %d of %d steps with margin >= %.3f", prompts[p], agree, checked, kv);
		snprintf(name, sizeof name, "q4_1 %s: greedy ids equal llama.cpp's until a margin below the KV effect",
			 prompts[p]);
		ok(!rc && agree == checked, name);
		free(ids);
		free(greedy);
		free(ref);
	}
	json_decref(summary);
	free(logits);
}

/* Rope scaling as metadata of the F16 file (written again with it) against llama.cpp
 * given the same settings as flags (tests/smollm2-fixtures.sh): linear, the older
 * scale_linear key, YaRN with and without an attention factor, an attention factor
 * alone. The bounds: check_ppl's (f16 caches), and 5e-4 with f32 caches on both
 * sides (measured 1.1e-5 to 1.3e-4; unscaled 2.4e-5); wrong scaling moves these perplexities by 20-200%. */
static void check_rope_scaling(const char *dir, const int32_t *ids, size_t n_ids)
{
	static const struct {
		const char *name;
		struct gguf_edit e;
	} cases[] = {
		{ "linear4", { .f32 = { { "llama.rope.scaling.factor", 4.0f } }, .str_key = "llama.rope.scaling.type",
			       .str_val = "linear" } },
		{ "scale_linear2", { .f32 = { { "llama.rope.scale_linear", 2.0f } } } },
		{ "yarn4", { .f32 = { { "llama.rope.scaling.factor", 4.0f } },
			     .u32_key = "llama.rope.scaling.original_context_length", .u32_val = 64,
			     .str_key = "llama.rope.scaling.type", .str_val = "yarn" } },
		{ "yarn4_attn1.2", { .f32 = { { "llama.rope.scaling.factor", 4.0f }, { "llama.rope.scaling.attn_factor", 1.2f } },
				     .u32_key = "llama.rope.scaling.original_context_length", .u32_val = 64,
				     .str_key = "llama.rope.scaling.type", .str_val = "yarn" } },
		{ "attn1.2", { .f32 = { { "llama.rope.scaling.attn_factor", 1.2f } } } },
	};
	char src[1200], tmp[256], ref[1300], label[64];
	snprintf(src, sizeof src, "%s/smollm2-f16.gguf", dir);
	snprintf(tmp, sizeof tmp, "/tmp/merilo-conf-rope-%d.gguf", (int)getpid());
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		snprintf(ref, sizeof ref, "%s/rope-%s.ppl", dir, cases[i].name);
		snprintf(label, sizeof label, "f16 rope %s", cases[i].name);
		if (isnan(read_num(ref))) {
			skip("llama.cpp's perplexity is absent (tests/smollm2-fixtures.sh makes it)", label);
			continue;
		}
		struct eng_open_opts o = { .n_threads = 2 }, o32 = { .n_threads = 2, .kv_f32 = true };
		struct eng_model *m = NULL, *m32 = NULL;
		struct eng_ctx *c = NULL, *c32 = NULL;
		struct mrl_err err = { 0 };
		if (gguf_rewrite(src, tmp, cases[i].e) || eng_model_open(&m, tmp, &o, &err) ||
		    eng_model_open(&m32, tmp, &o32, &err) || eng_ctx_new(&c, m, N_CTX, &err) ||
		    eng_ctx_new(&c32, m32, N_CTX, &err)) {
			ok(0, label);
			diag("%s", err.msg);
		} else {
			struct eng_model_desc desc;
			eng_model_describe(m, &desc);
			const double rel32 = check_ppl(c, c32, (int)desc.n_vocab, ids, n_ids, ref, label);
			/* with f32 caches no f16 rounding of K and V amplifies a one-ulp difference */
			char name[160];
			snprintf(name, sizeof name, "%s: with f32 KV caches within 5e-4 of llama.cpp's", label);
			ok(rel32 <= 5e-4, name);
		}
		eng_ctx_free(c);
		eng_ctx_free(c32);
		eng_model_close(m);
		eng_model_close(m32);
		unlink(tmp);
	}
}

int main(void)
{
	char dir[1024];
	if (!smollm2_dir(dir, sizeof dir))
		skip_all("neither $MRL_SMOLLM2_DIR nor $MERILO is set (fixtures: tests/smollm2-fixtures.sh DIR)");
	char path[1200];
	snprintf(path, sizeof path, "%s/ppl-text.ids", dir);
	size_t n_ids = 0;
	int32_t *ids = read_id_file(path, &n_ids);
	if (!ids || n_ids < N_CTX) {
		char why[2400];
		snprintf(why, sizeof why, "%s absent: run tests/smollm2-fixtures.sh %s (needs ../shared/tools/llama.cpp)",
			 path, dir);
		skip_all(why);
	}
	const char *exp_dir = "../shared/fixtures/hf/expected/smollm2-q4_1";
	for (size_t t = 0; t < sizeof types / sizeof types[0]; t++) {
		snprintf(path, sizeof path, "%s/smollm2-%s.gguf", dir, types[t]);
		struct eng_open_opts o = { .n_threads = 2 }, o32 = { .n_threads = 2, .kv_f32 = true };
		struct eng_model *m = NULL, *m32 = NULL;
		struct eng_ctx *c = NULL, *c32 = NULL;
		struct mrl_err err = { 0 };
		FILE *probe = fopen(path, "rb");
		if (!probe) {
			diag("%s absent", path);
			continue;
		}
		fclose(probe);
		int rc = eng_model_open(&m, path, &o, &err) || eng_model_open(&m32, path, &o32, &err);
		char name[200];
		snprintf(name, sizeof name, "%s: llama.cpp's quantization opens", types[t]);
		ok(!rc, name);
		if (rc) {
			diag("%s", err.msg);
			eng_model_close(m);
			eng_model_close(m32);
			continue;
		}
		if (!eng_ctx_new(&c, m, N_CTX, &err) && !eng_ctx_new(&c32, m32, N_CTX, &err)) {
			struct eng_model_desc desc;
			eng_model_describe(m, &desc);
			snprintf(path, sizeof path, "%s/smollm2-%s.ppl", dir, types[t]);
			check_ppl(c, c32, (int)desc.n_vocab, ids, n_ids, path, types[t]);
			FILE *e = fopen("../shared/fixtures/hf/expected/smollm2-q4_1/en.ids.txt", "r");
			if (!strcmp(types[t], "q4_1") && e)
				check_prompts(c, (int)desc.n_vocab, exp_dir);
			if (e)
				fclose(e);
		}
		eng_ctx_free(c);
		eng_ctx_free(c32);
		eng_model_close(m);
		eng_model_close(m32);
	}
	check_rope_scaling(dir, ids, n_ids);
	free(ids);
	return done_testing();
}
