/* eng_lora.c — PEFT LoRA adapters on HF folders (engine/lora.c), against PEFT itself.
 *
 * The test writes each adapter by ci/make-lora-reference.py's fixed rules (adapter_config.json
 * and adapter_model.safetensors, as PEFT saves them) and opens the fixture's base folder with
 * it, and llama.cpp's GGUF conversion of that folder: merilo's logits against the PEFT model's,
 * committed in tests/data/lora-<name>/ (last positions, every position of prompt2, 16 greedy
 * steps; 1e-4 with an f32 KV cache):
 *   llama: r 4, alpha 8, on q/k/v/o and gate/up/down of every layer;
 *   phi3:  r 2, alpha 4, rsLoRA, on its fused qkv_proj and gate_up_proj, and o_proj.
 * Then 1 against 3 threads, calls of 7 tokens against one, and what is refused.
 */
#include "tests/tap.h"
#include "tests/float_oracle.h"
#include "tests/eng_fixture.h"
#include "tests/st_file.h"
#include "tests/gguf_edit.h"
#include "tests/cli.h"
#include "tests/derived.h"

#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/eng.h"

#define TOL 1e-4

struct target {
	const char *module; /* after model.layers.N. */
	int n_in, n_out;
};

struct adapter {
	const char *name, *src;
	int n_layer; /* the base's */
	int r;
	double alpha;
	bool rslora;
	const struct target *t;
	size_t n_t;
};

static const struct target LLAMA_T[] = {
	{ "self_attn.q_proj", 64, 64 }, { "self_attn.k_proj", 64, 32 }, { "self_attn.v_proj", 64, 32 },
	{ "self_attn.o_proj", 64, 64 }, { "mlp.gate_proj", 64, 128 }, { "mlp.up_proj", 64, 128 },
	{ "mlp.down_proj", 128, 64 },
};
static const struct target PHI3_T[] = {
	{ "self_attn.qkv_proj", 64, 128 }, { "mlp.gate_up_proj", 64, 256 }, { "self_attn.o_proj", 64, 64 },
};
static const struct adapter LLAMA = { "llama", "llama", 4, 4, 8.0, false, LLAMA_T, 7 };
static const struct adapter PHI3 = { "phi3", "phi3", 3, 2, 4.0, true, PHI3_T, 3 };

/* dir: the adapter a, its tensors by the script's rules; extra_cfg goes into adapter_config.json
 * (a JSON fragment with a leading comma, or ""), extra_module (or NULL) is one more pair. */
static int write_adapter(const struct adapter *a, const char *dir, const char *extra_cfg, const char *extra_module)
{
	struct st_out o = { .h = json_object() };
	char name[256], path[600], cfg[1024];
	for (int l = 0; l < a->n_layer; l++)
		for (size_t t = 0; t < a->n_t; t++) {
			const struct target *g = &a->t[t];
			float *A = malloc((size_t)a->r * g->n_in * sizeof *A), *B = malloc((size_t)g->n_out * a->r * sizeof *B);
			for (int i = 0; i < a->r; i++)
				for (int j = 0; j < g->n_in; j++)
					A[i * g->n_in + j] = (float)(((7 * i + 3 * j + l + 5 * (int)t) % 13 - 6) / 64.0);
			for (int i = 0; i < g->n_out; i++)
				for (int j = 0; j < a->r; j++)
					B[i * a->r + j] = (float)(((5 * i + 11 * j + 2 * l + 3 * (int)t) % 11 - 5) / 32.0);
			snprintf(name, sizeof name, "base_model.model.model.layers.%d.%s.lora_A.weight", l, g->module);
			st_add(&o, name, A, (size_t)a->r, (size_t)g->n_in);
			snprintf(name, sizeof name, "base_model.model.model.layers.%d.%s.lora_B.weight", l, g->module);
			st_add(&o, name, B, (size_t)g->n_out, (size_t)a->r);
			if (extra_module && l == 0 && t == 0) { /* the first pair again, under another module */
				snprintf(name, sizeof name, "base_model.model.%s.lora_A.weight", extra_module);
				st_add(&o, name, A, (size_t)a->r, (size_t)g->n_in);
				snprintf(name, sizeof name, "base_model.model.%s.lora_B.weight", extra_module);
				st_add(&o, name, B, (size_t)g->n_out, (size_t)a->r);
			}
			free(A);
			free(B);
		}
	snprintf(cfg, sizeof cfg, "{\"peft_type\": \"LORA\", \"r\": %d, \"lora_alpha\": %g, \"use_rslora\": %s, "
		 "\"lora_dropout\": 0.0, \"bias\": \"none\", \"fan_in_fan_out\": false, \"use_dora\": false, "
		 "\"modules_to_save\": null, \"rank_pattern\": {}, \"alpha_pattern\": {}, \"task_type\": \"CAUSAL_LM\"%s}\n",
		 a->r, a->alpha, a->rslora ? "true" : "false", extra_cfg);
	mkdir(dir, 0700);
	snprintf(path, sizeof path, "%s/adapter_model.safetensors", dir);
	int rc = o.data ? st_save(path, o.h, o.data, o.n) : -1;
	snprintf(path, sizeof path, "%s/adapter_config.json", dir);
	rc = rc ? rc : cli_write_file(path, cfg);
	json_decref(o.h);
	free(o.data);
	return rc;
}


static void check_adapter(const struct adapter *a, const char *hf, const char *tmp, char *dir)
{
	char base[600], ids_dir[600], ref[64], label[64], name[160];
	snprintf(base, sizeof base, "%s/%s", hf, a->src);
	snprintf(ids_dir, sizeof ids_dir, "%s/expected/%s", hf, a->src);
	snprintf(dir, 400, "%s/adapter-%s", tmp, a->name);
	snprintf(ref, sizeof ref, "tests/data/lora-%s", a->name);
	snprintf(name, sizeof name, "the %s adapter is written", a->name);
	ok(!write_adapter(a, dir, "", NULL), name);
	derived_lora = dir;
	snprintf(label, sizeof label, "hf/%s + LoRA", a->name);
	check_model(label, base, ids_dir, ref, TOL);
	check_threads(label, base, ids_dir);
	check_split(label, base, ids_dir);
	/* the same adapter on llama.cpp's conversion of the base (its llama q/k rows permuted) */
	char gguf[600];
	snprintf(gguf, sizeof gguf, "%s/gguf/%s-f32.gguf", hf, a->src);
	snprintf(label, sizeof label, "gguf/%s + LoRA", a->name);
	check_model(label, gguf, ids_dir, ref, TOL);
	check_split(label, gguf, ids_dir);
	derived_lora = NULL;
	/* the base alone is another model: the adapter is applied */
	size_t n = 0, nv = 0, n_ref = 0;
	char path[700];
	snprintf(path, sizeof path, "%s/prompt0.ids.txt", ids_dir);
	int32_t *ids = read_id_file(path, &n);
	snprintf(path, sizeof path, "%s/last0.txt", ref);
	float *want = read_floats(path, &n_ref), *plain = ids ? logits_of(base, 2, ids, n, &nv) : NULL;
	snprintf(name, sizeof name, "hf/%s without the adapter is more than 0.5 away from PEFT's adapted logits", a->name);
	ok(plain && want && n_ref == nv && float_max_diff(plain + (n - 1) * nv, want, nv) > 0.5, name);
	free(plain);
	free(want);
	free(ids);
}

/* `merilo info --lora` names the adapter; `perplexity --lora` computes with it, and its
 * manifest's model hash covers the adapter's files. */
static void check_cli(const char *base, const char *dir, const char *text)
{
	char cmd[3000], *out = NULL, *with = NULL, *without = NULL;
	if (!cli_merilo()) {
		skip("MERILO not set", "info and perplexity take --lora");
		return;
	}
	snprintf(cmd, sizeof cmd, "%s info %s --lora %s", cli_merilo(), base, dir);
	is_int(cli_capture(&out, cmd), 0, "info --lora exits 0");
	like(out, "adapter-llama, r 4, alpha 8 (scale 2), 28 pairs", "  ...and names the adapter, its rank and pairs");
	like(out, "name: llama + adapter-llama", "  ...and the model's name carries it");
	free(out);
	snprintf(cmd, sizeof cmd, "%s perplexity --model %s --file %s --ctx 64 --json --quiet --lora %s", cli_merilo(), base,
		 text, dir);
	int rc = cli_capture(&with, cmd);
	snprintf(cmd, sizeof cmd, "%s perplexity --model %s --file %s --ctx 64 --json --quiet", cli_merilo(), base, text);
	rc = rc || cli_capture(&without, cmd);
	const double a = ppl_in(with, "\"perplexity\": "), b = ppl_in(without, "\"perplexity\": ");
	diag("perplexity of ppl-text.txt, ctx 64: %.4f with the adapter, %.4f without", a, b);
	ok(!rc && isfinite(a) && isfinite(b) && fabs(a / b - 1) > 0.01, "perplexity --lora computes with the adapter");
	const char *ha = with ? strstr(with, "\"sha256\": \"") : NULL, *hb = without ? strstr(without, "\"sha256\": \"") : NULL;
	ok(ha && hb && strncmp(ha, hb, 80), "  ...and its manifest's model sha256 covers the adapter (another hash)");
	snprintf(cmd, sizeof cmd, "%s bench --model %s --lora %s -p 8 -n 4 -r 1 --warmup 0 --energy-window 0 --format json -q",
		 cli_merilo(), base, dir);
	is_int(cli_capture(&out, cmd), 0, "bench --lora exits 0");
	like(out, "\"name\": \"llama + adapter-llama\"", "  ...and its record names the adapted model");
	char sha[80] = "";
	if (ha)
		snprintf(sha, sizeof sha, "%.75s", ha); /* "sha256": "<64 hex>" */
	ok(ha && out && strstr(out, sha), "  ...with perplexity's model sha256 for it");
	free(out);
	/* a GGUF base: its hash is the file's alone without an adapter, a listing with one */
	char gguf[700];
	snprintf(gguf, sizeof gguf, "%s/../gguf/llama-f32.gguf", base);
	for (int k = 0; k < 2; k++) {
		char *o = NULL;
		snprintf(cmd, sizeof cmd, "%s perplexity --model %s --file %s --ctx 64 --json --quiet%s%s", cli_merilo(), gguf,
			 text, k ? " --lora " : "", k ? dir : "");
		cli_capture(&o, cmd);
		const char *h = o ? strstr(o, "\"sha256\": \"") : NULL;
		if (k == 0)
			snprintf(sha, sizeof sha, "%.75s", h ? h : "");
		else
			ok(h && sha[0] && strncmp(h, sha, 75) && strstr(o, "\"perplexity\": "),
			   "perplexity --lora on a GGUF base: the model's hash covers the adapter too");
		free(o);
	}
	/* a GGUF without general.name: the adapted model is named by its file */
	char noname[700];
	snprintf(noname, sizeof noname, "%s/../noname.gguf", dir);
	gguf_rewrite(gguf, noname, (struct gguf_edit){ .drop_key = "general.name" });
	snprintf(cmd, sizeof cmd, "%s info %s --lora %s", cli_merilo(), noname, dir);
	cli_capture(&out, cmd);
	like(out, "name: noname.gguf + adapter-llama", "a GGUF without general.name and an adapter: named by the file");
	free(out);
	free(with);
	free(without);
}

/* `run --model model --lora dir` into out_dir: exit 0; then --resume with the adapter other is
 * refused as another model (exit 3). */
static void run_then_resume_other(const char *model, const char *dir, const char *other, const char *out_dir,
				  const char *label)
{
	char cmd[3000], name[200], *out = NULL;
	snprintf(cmd, sizeof cmd, "%s run --model %s --lora %s --suite tests/data/run-mini.json -o %s --quiet", cli_merilo(),
		 model, dir, out_dir);
	snprintf(name, sizeof name, "run --lora on %s exits 0", label);
	is_int(cli_capture(&out, cmd), 0, name);
	free(out);
	snprintf(cmd, sizeof cmd, "%s run --resume %s --lora %s --quiet", cli_merilo(), out_dir, other);
	is_int(cli_capture(&out, cmd), 3, "  ...--resume with another adapter is refused (exit 3)");
	like(out, "is not the model of the run", "  ...as another model");
	free(out);
}

/* `run --lora` on an HF base and on its GGUF: each run's model is the adapted one (its hash), and on
 * the HF base its name and run.json's options; --resume takes the adapter back. */
static void check_run(const char *base, const char *dir, const char *other, const char *tmp)
{
	char cmd[3000], out_dir[400], path[500], gguf[700], *out = NULL;
	if (!cli_merilo()) {
		skip("MERILO not set", "run --lora");
		return;
	}
	snprintf(out_dir, sizeof out_dir, "%s/run-lora", tmp);
	run_then_resume_other(base, dir, other, out_dir, "an HF base");
	snprintf(path, sizeof path, "%s/results.json", out_dir);
	char *res = cli_slurp(path);
	like(res, "\"name\": \"llama + adapter-llama\"", "  ...and the results name the adapted model");
	free(res);
	snprintf(path, sizeof path, "%s/run.json", out_dir);
	res = cli_slurp(path);
	like(res, "adapter-llama\"", "  ...and run.json's options keep the adapter");
	free(res);
	snprintf(cmd, sizeof cmd, "%s run --resume %s --quiet", cli_merilo(), out_dir);
	is_int(cli_capture(&out, cmd), 0, "run --resume takes the adapter back (the model's hash matches)");
	free(out);
	/* the same on a GGUF base: its run's hash covers the adapter too */
	snprintf(gguf, sizeof gguf, "%s/../gguf/llama-f32.gguf", base);
	snprintf(out_dir, sizeof out_dir, "%s/run-lora-gguf", tmp);
	run_then_resume_other(gguf, dir, other, out_dir, "a GGUF base");
}

static void test_refused(const char *hf, const char *tmp)
{
	char base[600], dir[400];
	snprintf(base, sizeof base, "%s/llama", hf);
	snprintf(dir, sizeof dir, "%s/adapter-llama", tmp);
	derived_lora = dir;
	check_refused(base, ENG_BACKEND_CUDA, MRL_EUNSUPPORTED, "a LoRA adapter is not implemented on the CUDA backend",
		      "a LoRA on the CUDA backend is refused");
	snprintf(dir, sizeof dir, "%s/adapter-dora", tmp);
	write_adapter(&LLAMA, dir, ", \"use_dora\": true", NULL);
	check_refused(base, ENG_BACKEND_CPU, MRL_EUNSUPPORTED, "'use_dora': true is not implemented", "a DoRA adapter is refused");
	snprintf(dir, sizeof dir, "%s/adapter-save", tmp);
	write_adapter(&LLAMA, dir, ", \"modules_to_save\": [\"lm_head\"]", NULL);
	check_refused(base, ENG_BACKEND_CPU, MRL_EUNSUPPORTED, "'modules_to_save' is not implemented",
		      "an adapter that replaces whole modules is refused");
	snprintf(dir, sizeof dir, "%s/adapter-head", tmp);
	write_adapter(&LLAMA, dir, "", "lm_head");
	check_refused(base, ENG_BACKEND_CPU, MRL_EUNSUPPORTED, "a LoRA on 'lm_head' is not implemented",
		      "a LoRA on the output matrix is refused by name");
	snprintf(dir, sizeof dir, "%s/adapter-llama/adapter_config.json", tmp);
	char other[400];
	snprintf(other, sizeof other, "%s/adapter-phi3", tmp);
	derived_lora = other;
	check_refused(base, ENG_BACKEND_CPU, MRL_EINPUT, "gate_up_proj.lora_B.weight' has shape [256, 2], expected [128, 2]",
		      "phi3's adapter on the llama base is refused, naming the pair that does not fit");
	snprintf(other, sizeof other, "%s/no-such-adapter", tmp);
	check_refused(base, ENG_BACKEND_CPU, MRL_EIO, "no-such-adapter/adapter_config.json: cannot open",
		      "a missing adapter folder is named");
	derived_lora = NULL;
}

int main(void)
{
	const char *fx = fixtures_dir();
	char hf[512], tmp[256], dir[400], base[600], text[600];
	struct stat st;
	snprintf(hf, sizeof hf, "%s/hf", fx ? fx : ".");
	if (!fx || stat(hf, &st) != 0)
		skip_all("fixtures absent: ../shared/fixtures/hf");
	snprintf(tmp, sizeof tmp, "/tmp/merilo-eng-lora-%d", (int)getpid());
	mkdir(tmp, 0700);
	TEST(check_adapter(&LLAMA, hf, tmp, dir), "a LoRA on llama's seven matrices against PEFT");
	snprintf(base, sizeof base, "%s/llama", hf);
	snprintf(text, sizeof text, "%s/expected/ppl-text.txt", fx);
	TEST(check_cli(base, dir, text), "info --lora and perplexity --lora");
	char other[400];
	snprintf(other, sizeof other, "%s/adapter-other", tmp);
	write_adapter(&LLAMA, other, ", \"lora_alpha\": 4", NULL);
	TEST(check_run(base, dir, other, tmp), "run --lora and --resume");
	TEST(check_adapter(&PHI3, hf, tmp, dir), "an rsLoRA on phi3's fused qkv and gate_up against PEFT");
	TEST(test_refused(hf, tmp), "what a LoRA adapter cannot be, refused by name");
	cli_rmtree(tmp);
	return done_testing();
}
