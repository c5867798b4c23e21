/* hrn_hf.c — `merilo run` on a Hugging Face folder (the binary in $MERILO).
 *
 * The run scores the demo suite from fixtures/hf/qwen2 (config.json +
 * model.safetensors + tokenizer.json), and the manifest's model hash is the
 * digest of the folder's sha256sum listing: sha256 of "HEX  NAME\n" for each
 * file the model was read from, names sorted; `merilo bench` on the folder records the
 * same digest, and `bench --ab` takes folders as BASE and model. `merilo info FOLDER`
 * describes it.
 * The other architectures' folders (GPT-2, Gemma 2, Phi-3) run a few items each, and
 * info names their architecture, from the folder and from the GGUF alike. A
 * tokenizer_config.json with transformers' model_max_length of 1e30 runs; a
 * tokenizer naming no BOS/EOS takes their ids from config.json. A folder whose tokenizer
 * is a SentencePiece tokenizer.model (no tokenizer.json) generates and scores as the same
 * folder with tokenizer.json.
 */
#include "tests/tap.h"
#include "tests/cli.h"

#include <jansson.h>
#include <string.h>

#include "common/sha256.h"

/* bench on the folder: its record names the model by the same digest (want) and
 * sizes the forward pass from the folder's tensors (a GGUF-only bench refused it: "not
 * a regular file", then "no token_embd.weight"); bench --ab takes folders. */
static void check_bench(const char *tmp, const char *abs_model, const char *want)
{
	char *out = NULL;
	json_error_t jerr;
	int rc = cli_sh(&out, "cd '%s' && '%s' bench --model '%s' --prompt 8 --gen 2 --reps 1 --warmup 0 --threads 2 "
			  "--roofline --format json -o bench.json --quiet",
		    tmp, getenv("MERILO"), abs_model);
	is_int(rc, 0, "merilo bench --model <hf folder> exits 0");
	if (rc)
		diag("%s", out ? out : "");
	free(out);
	out = NULL;
	char bench_path[4200];
	snprintf(bench_path, sizeof bench_path, "%s/bench.json", tmp);
	json_t *bj = json_load_file(bench_path, 0, &jerr);
	is_str(json_string_value(json_object_get(json_object_get(json_object_get(bj, "manifest"), "model"), "sha256")),
	       want, "bench's manifest names the folder by the digest of its sha256sum listing");
	is_str(json_string_value(json_object_get(json_object_get(bj, "model"), "arch")), "qwen2",
	       "bench's record gives the folder's architecture");
	size_t n_tests = 0, n_util = 0;
	json_t *r;
	size_t ri;
	json_array_foreach(json_object_get(bj, "results"), ri, r)
	{
		n_tests++;
		json_t *fig = json_object_get(r, "figures");
		json_t *u = json_object_get(fig, "flop_utilization");
		if (!u)
			u = json_object_get(fig, "bandwidth_utilization");
		n_util += json_real_value(json_object_get(u, "value")) > 0;
	}
	ok(n_tests >= 2 && n_util >= 2, "bench on the folder measures pp and tg, with their roofline use");
	if (n_util < 2)
		diag("%zu tests, %zu with a utilization", n_tests, n_util);
	json_decref(bj);
	/* the A/B gate with two folders (the same one): both run in this process. On a
	 * model this small (microseconds a test) the verdict is the machine's noise, so
	 * only that the gate ran is checked: exit 0 or 1 with its table. */
	rc = cli_sh(&out, "'%s' bench --ab '%s' --model '%s' --pairs 9 --test pp8,tg2 --reps 1 --warmup 0 --ab-warmup 0 "
			  "--threads 2",
		    getenv("MERILO"), abs_model, abs_model);
	ok((rc == 0 || rc == 1) && out && strstr(out, "| pp8 |") && strstr(out, "| tg2@d0 |"),
	   "merilo bench --ab <hf folder> --model <hf folder> runs the gate");
	if (rc != 0 && rc != 1)
		diag("exit %d: %s", rc, out ? out : "");
	free(out);
}

/* A folder with part of a checkpoint (here model.safetensors without config.json):
 * info and run name what is missing (info said "weights: none (vocabulary-only
 * file)", run "vocabulary-only model has no weights to decode with", the 727 kB of
 * weights ignored); tokenize, which needs only the tokenizer, still works. */
static void check_incomplete_folder(const char *tmp, const char *abs_fx, const char *suite)
{
	const char *want = "part: model.safetensors present but no config.json: cannot load the weights";
	if (cli_sh(NULL, "mkdir '%s/part' && ln -s '%s/hf/llama'/* '%s/part/' && rm '%s/part/config.json'", tmp, abs_fx,
		   tmp, tmp)) {
		skip("cannot make a folder without config.json", "info on a folder without config.json");
		return;
	}
	CLI_EXPECT(3, want, "info <folder without config.json>: exit 3 naming the missing file", "info '%s/part'", tmp);
	char *out = NULL;
	cli_run(&out, "info '%s/part'", tmp);
	ok(out && !strstr(out, "vocabulary-only"), "  ...and it is not called vocabulary-only");
	free(out);
	CLI_EXPECT(3, want, "run --model <folder without config.json>: exit 3 naming the missing file",
		   "run --model '%s/part' --suite '%s' --out '%s/part-run' --limit 1", tmp, suite, tmp);
	CLI_EXPECT(0, "1 36 362 81 223 447 80 364\n",
		   "tokenize --model <folder without config.json> still reads its tokenizer",
		   "tokenize --model '%s/part' 'Bilo jednom'", tmp);
}

/* Weights in layouts merilo does not read are named with what to do (they were "no
 * model.safetensors ... no weights to load", or, for Mistral's consolidated.safetensors,
 * a missing shard index); safetensors beside a pickle are taken as before. */
static void check_foreign_layouts(const char *tmp, const char *abs_fx, const char *suite)
{
	if (cli_sh(NULL, "mkdir '%s/pickle' '%s/mistral' && cp '%s/hf/llama/config.json' '%s/hf/llama'/tokenizer* '%s/pickle/' && "
		   "cp '%s/hf/llama'/tokenizer* '%s/mistral/' && echo x > '%s/pickle/pytorch_model-00001-of-00002.bin' && "
		   "echo '{}' > '%s/mistral/params.json' && echo x > '%s/mistral/consolidated.safetensors'",
		   tmp, tmp, abs_fx, abs_fx, tmp, abs_fx, tmp, tmp, tmp, tmp)) {
		skip("cannot make the folders", "weights in layouts merilo does not read");
		return;
	}
	CLI_EXPECT(3, "pickle: pytorch_model-00001-of-00002.bin holds the weights as a PyTorch pickle, which merilo "
		      "does not read (loading a pickle runs code from the file): save them as safetensors first",
		   "run --model <folder with pytorch_model-*.bin>: exit 3 saying what to do",
		   "run --model '%s/pickle' --suite '%s' --out '%s/pickle-run' --limit 1", tmp, suite, tmp);
	CLI_EXPECT(3, "mistral: consolidated.safetensors with params.json is the original Llama / Mistral checkpoint layout",
		   "info <folder in Mistral's layout>: exit 3 naming it", "info '%s/mistral'", tmp);
	if (cli_sh(NULL, "mkdir '%s/lora' && cp '%s/hf/llama'/tokenizer* '%s/lora/' && echo '{}' > '%s/lora/adapter_config.json' "
		   "&& echo x > '%s/lora/adapter_model.safetensors'", tmp, abs_fx, tmp, tmp, tmp) == 0)
		CLI_EXPECT(3, "lora: adapter_config.json: a PEFT adapter (LoRA), not a whole model: give its base model with "
			      "--model and this folder with --lora", "run --model <a LoRA adapter folder>: exit 3 saying what to do",
			   "run --model '%s/lora' --suite '%s' --out '%s/lora-run' --limit 1", tmp, suite, tmp);
	/* neither tokenizer.json nor tokenizer.model (a folder with tokenizer.model only loads: check_spm_only) */
	if (cli_sh(NULL, "mkdir '%s/no-tok' && cp '%s/hf/mistral/config.json' '%s/hf/mistral/model.safetensors' '%s/no-tok/'",
		   tmp, abs_fx, abs_fx, tmp) == 0)
		CLI_EXPECT(3, "no-tok: no tokenizer.json and no tokenizer.model: a model folder needs the tokenizer",
			   "info <checkpoint folder without a tokenizer>: exit 3 naming both files", "info '%s/no-tok'", tmp);
	if (cli_sh(NULL, "cp -r '%s/hf/llama' '%s/pickle2' && echo x > '%s/pickle2/pytorch_model.bin'", abs_fx, tmp, tmp)) {
		skip("cannot make the folder", "safetensors beside a pickle");
		return;
	}
	CLI_EXPECT(0, "tokenizer: tokenizer.json", "info on the llama fixture with a stray pytorch_model.bin: "
		   "the safetensors are read", "info '%s/pickle2'", tmp);
}

/* out without its "model" line (the folder's path) */
static void drop_model_line(char *out)
{
	char *m = out ? strstr(out, "\"model\": ") : NULL, *nl = m ? strchr(m, '\n') : NULL;
	if (nl)
		memmove(m, nl + 1, strlen(nl + 1) + 1);
}

/* A checkpoint folder whose tokenizer is a SentencePiece tokenizer.model (no tokenizer.json:
 * it was refused, "tokenizer.model ... is not read") runs as the same folder with its
 * tokenizer.json: the same greedy ids and text (two prompts, one with a leading space, to the
 * end of generation), the same perplexity; info names the file the tokenizer came from. */
static void check_spm_only(const char *tmp, const char *abs_fx)
{
	static const char *const archs[] = { "mistral", "gemma2", "phi3" };
	for (size_t i = 0; i < sizeof archs / sizeof archs[0]; i++) {
		const char *a = archs[i];
		char name[256], *out[2] = { NULL, NULL };
		if (cli_sh(NULL, "mkdir '%s/spm-%s' && cd '%s/spm-%s' && for f in '%s/hf/%s'/*; do "
			   "[ \"${f##*/}\" = tokenizer.json ] || ln -s \"$f\" .; done", tmp, a, tmp, a, abs_fx, a)) {
			skip("cannot make the folder", "a folder with tokenizer.model only");
			continue;
		}
		CLI_EXPECT(0, "tokenizer: tokenizer.model, 512 tokens", "info <folder with tokenizer.model only> names the file",
			   "info '%s/spm-%s'", tmp, a);
		for (int spm = 0; spm < 2; spm++) {
			int rc = spm ? cli_run(&out[1], "generate -m '%s/spm-%s' --prompt 'Zdravo svete, kako ste?' --prompt "
						   "' Dobar dan, Beograde' -n 24 --stop-eos --json -q --threads 2 --kv-cache f32",
					       tmp, a)
				     : cli_run(&out[0], "generate -m '%s/hf/%s' --prompt 'Zdravo svete, kako ste?' --prompt "
						   "' Dobar dan, Beograde' -n 24 --stop-eos --json -q --threads 2 --kv-cache f32",
					       abs_fx, a);
			if (rc)
				diag("generate exited %d: %s", rc, out[spm] ? out[spm] : "");
			drop_model_line(out[spm]);
		}
		snprintf(name, sizeof name, "%s: generate without tokenizer.json gives the same ids and text", a);
		ok(out[0] && out[1] && strstr(out[0], "\"ids\"") && !strcmp(out[0], out[1]), name);
		free(out[0]);
		free(out[1]);
		out[0] = out[1] = NULL;
		int rc0 = cli_run(&out[0], "perplexity -m '%s/hf/%s' --file tests/data/tok-bcms.inp --ctx 64 -q --threads 2",
				  abs_fx, a);
		int rc1 = cli_run(&out[1], "perplexity -m '%s/spm-%s' --file tests/data/tok-bcms.inp --ctx 64 -q --threads 2",
				  tmp, a);
		snprintf(name, sizeof name, "%s: perplexity without tokenizer.json is the same", a);
		ok(rc0 == 0 && rc1 == 0 && out[0] && out[1] && strstr(out[0], "perplexity: ") && !strcmp(out[0], out[1]), name);
		if (out[0] && out[1] && strcmp(out[0], out[1]))
			diag("with tokenizer.json: %s\nwith tokenizer.model: %s", out[0], out[1]);
		free(out[0]);
		free(out[1]);
	}
}

/* transformers writes "model_max_length": 1000000000000000019884624838656 (int(1e30))
 * into tokenizer_config.json when a model sets none (SmolLM2's has it): a run whose
 * generate tasks read the chat template from that file refused the folder ("too
 * big integer"), while info, tokenize and the multiple-choice tasks took it. */
static void check_huge_max_length(const char *tmp, const char *abs_fx, const char *suite)
{
	if (cli_sh(NULL, "mkdir '%s/huge' && cp '%s/hf/llama'/* '%s/huge/' && sed -i "
		   "'s/\"model_max_length\": 256/\"model_max_length\": 1000000000000000019884624838656/' "
		   "'%s/huge/tokenizer_config.json' && grep -q 10000000000000000198846 '%s/huge/tokenizer_config.json'",
		   tmp, abs_fx, tmp, tmp, tmp)) {
		skip("cannot make the folder", "a tokenizer_config.json with transformers' huge model_max_length");
		return;
	}
	CLI_EXPECT(0, "results: ", "run of a generate task on a folder whose model_max_length is 1e30: exit 0",
		   "run --model '%s/huge' --suite '%s' --tasks translate_to --limit 1 --quiet --out '%s/huge-run'", tmp,
		   suite, tmp);
}

/* A tokenizer that names no BOS or EOS (no post-processor template, no bos_token /
 * eos_token in tokenizer_config.json), in a folder whose config.json has
 * bos_token_id / eos_token_id (as ci/make-hf-pair.py writes it): the ids are
 * taken from config.json, as llama.cpp's converter takes them, and a perplexity
 * task runs (it was refused: "needs a BOS or EOS token, and the model has neither"). */
static void check_specials_from_config(const char *tmp, const char *abs_fx, const char *suite)
{
	char path[600];
	if (cli_sh(NULL, "mkdir '%s/nospec' && cp '%s/hf/llama'/* '%s/nospec/'", tmp, abs_fx, tmp)) {
		skip("cannot make the folder", "BOS/EOS from config.json");
		return;
	}
	snprintf(path, sizeof path, "%s/nospec/tokenizer.json", tmp);
	json_t *t = json_load_file(path, 0, NULL);
	json_object_set_new(t, "post_processor", json_null());
	int bad = !t || json_dump_file(t, path, 0);
	json_decref(t);
	snprintf(path, sizeof path, "%s/nospec/tokenizer_config.json", tmp);
	bad |= cli_write_file(path, "{\"tokenizer_class\": \"PreTrainedTokenizerFast\", \"add_bos_token\": false}\n");
	ok(!bad, "a llama folder whose tokenizer names no BOS or EOS");
	CLI_EXPECT(0, "results: ", "run of a perplexity task on it: exit 0 (BOS/EOS ids from config.json)",
		   "run --model '%s/nospec' --suite '%s' --tasks text --limit 1 --quiet --out '%s/nospec-run'", tmp, suite,
		   tmp);
}

int main(void)
{
	if (!cli_merilo())
		skip_all("MERILO does not name the merilo binary (run through make test)");
	const char *fx = fixtures_dir();
	char model[1024], abs_model[4096], tmp[256];
	snprintf(model, sizeof model, "%s/hf/qwen2", fx ? fx : ".");
	if (!fx || !realpath(model, abs_model))
		skip_all("fixtures absent: ../shared/fixtures/hf/qwen2");
	char suite[4096];
	if (!realpath("tasks/suites/demo.json", suite))
		skip_all("tasks/suites/demo.json not found (run from the repository root)");
	if (!cli_tmpdir(tmp, sizeof tmp, "hrn-hf"))
		skip_all("cannot make a temporary folder");
	setenv("MERILO_CACHE_DIR", tmp, 1);
	char *out = NULL;
	int rc = cli_sh(&out, "cd '%s' && '%s' run --model '%s' --suite '%s' --threads 2", tmp, getenv("MERILO"),
			abs_model, suite);
	is_int(rc, 0, "merilo run --model <hf folder> exits 0");
	if (rc)
		diag("%s", out ? out : "");
	free(out);

	/* the expected digest, from the files themselves */
	static const char *const files[] = { "config.json", "model.safetensors", "tokenizer.json",
					     "tokenizer_config.json" };
	struct mrl_sha256 ctx;
	mrl_sha256_init(&ctx);
	for (size_t i = 0; i < 4; i++) {
		char path[4200], hex[65];
		snprintf(path, sizeof path, "%s/%s", abs_model, files[i]);
		if (mrl_sha256_file(path, hex, NULL, NULL))
			diag("cannot hash %s", path);
		mrl_sha256_update(&ctx, hex, 64);
		mrl_sha256_update(&ctx, "  ", 2);
		mrl_sha256_update(&ctx, files[i], strlen(files[i]));
		mrl_sha256_update(&ctx, "\n", 1);
	}
	uint8_t dg[MRL_SHA256_DIGEST_LEN];
	char want[65];
	mrl_sha256_final(&ctx, dg);
	mrl_sha256_hex(dg, want);

	char *found = NULL;
	cli_sh(&found, "ls '%s'/runs/*/results.json", tmp);
	if (found)
		found[strcspn(found, "\n")] = '\0';
	json_error_t jerr;
	json_t *res = found ? json_load_file(found, 0, &jerr) : NULL;
	json_t *mm = json_object_get(json_object_get(res, "manifest"), "model");
	is_str(json_string_value(json_object_get(mm, "sha256")), want,
	       "the manifest's model sha256 is the digest of the folder's sha256sum listing");
	ok(json_integer_value(json_object_get(mm, "size_bytes")) > 700000,
	   "the manifest's model size is the folder files' total");
	json_decref(res);
	free(found);

	check_bench(tmp, abs_model, want);

	CLI_EXPECT(0, "architecture: qwen2", "merilo info <hf folder> names the architecture", "info '%s'", abs_model);
	CLI_EXPECT(0, "parameters: 176960 ", "merilo info <hf folder> counts the parameters", "info '%s'", abs_model);
	CLI_EXPECT(0, "\nname: qwen2\n", "merilo info <hf folder> names the model after the folder", "info '%s/'", abs_model);
	CLI_EXPECT(0, "dtypes: bf16 x38", "merilo info <bf16 folder> gives the stored dtype", "info '%s/hf/llama-bf16'",
		   fx);
	CLI_EXPECT(0, "tokenizer: tokenizer.json", "merilo info <hf folder> names the tokenizer kind", "info '%s'",
		   abs_model);
	char abs_fx[4096];
	if (!realpath(fx, abs_fx))
		snprintf(abs_fx, sizeof abs_fx, "%s", fx);
	static const char *const archs[] = { "gpt2", "gemma2", "phi3" };
	for (size_t i = 0; i < sizeof archs / sizeof archs[0]; i++) {
		char name[256], want[64];
		rc = cli_sh(&out, "cd '%s' && '%s' run --model '%s/hf/%s' --suite '%s' --limit 3 --threads 2 --quiet", tmp,
			    getenv("MERILO"), abs_fx, archs[i], suite);
		snprintf(name, sizeof name, "merilo run --model <%s folder> --limit 3 exits 0", archs[i]);
		is_int(rc, 0, name);
		if (rc)
			diag("%s", out ? out : "");
		free(out);
		out = NULL;
		snprintf(want, sizeof want, "architecture: %s\n", archs[i]);
		for (int gguf = 0; gguf < 2; gguf++) {
			rc = gguf ? cli_run(&out, "info '%s/hf/gguf/%s-f32.gguf'", fx, archs[i])
				  : cli_run(&out, "info '%s/hf/%s'", fx, archs[i]);
			snprintf(name, sizeof name, "merilo info <%s %s> names the architecture", archs[i],
				 gguf ? "gguf" : "folder");
			ok(rc == 0 && out && strstr(out, want), name);
			free(out);
			out = NULL;
		}
	}
	CLI_EXPECT(0, "positions: learned (256)", "merilo info <gpt2 folder>: learned positions, no rope",
		   "info '%s/hf/gpt2'", fx);
	CLI_EXPECT(0, "attention: window 16 on 2 of 4 layers, soft caps 10 (scores) and 5 (logits)",
		   "merilo info <gemma2 folder>: the window and the soft caps", "info '%s/hf/gemma2'", fx);
	check_incomplete_folder(tmp, abs_fx, suite);
	check_foreign_layouts(tmp, abs_fx, suite);
	check_spm_only(tmp, abs_fx);
	check_huge_max_length(tmp, abs_fx, suite);
	check_specials_from_config(tmp, abs_fx, suite);
	cli_rmtree(tmp);
	return done_testing();
}
