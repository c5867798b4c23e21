/* hrn_info.c — `merilo info` (and the commands that load a model) on model files
 * that are broken, odd or only partly supported, as a user meets them.
 *
 * Every file is made here from a `merilo synth --preset tiny` model, rewritten
 * with the GGUF writer with one change, so no fixture is needed:
 *  - a name ending in .gguf is a model even when its bytes are not one (empty,
 *    JSON, cut short): info says what is wrong with the GGUF, not "not valid UTF-8";
 *  - general.alignment 1 or 2 (the spec asks for a multiple of 8) is refused with
 *    the file and the value, instead of reading weights at misaligned addresses;
 *  - special ids out of range (llama2.c's stories260K stores padding_token_id and
 *    seperator_token_id = 4294967295) load with a warning, as in llama.cpp;
 *  - a tensor of a type the engine cannot compute (mxfp4) is named with its type,
 *    and the architecture is not blamed;
 *  - --json on a model: one object with the facts of the text (a model that cannot
 *    run included), --verbose adding metadata and tensors.
 * Runs the binary named by $MERILO (set by `make test`).
 */
#include "tests/tap.h"
#include "tests/cli.h"
#include "tests/gguf_edit.h"

#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <unistd.h>

#include "common/fileio.h"
#include "engine/gguf.h"
#include "engine/types.h"

#define TYPE_MXFP4 39 /* ggml's id; engine/types.c knows its size but has no kernels */

struct edit {
	uint32_t alignment;        /* set general.alignment (0 = leave alone) */
	bool bad_special_ids;      /* add padding/seperator_token_id = 4294967295 (u32), as stories260K */
	const char *mxfp4_tensor;  /* this tensor becomes mxfp4 (zero data of the right size) */
	const char *arch;          /* replace general.architecture */
};

/* CLI_EXPECT with a name built at run time: merilo ARGS (printf-formatted) exits
 * with code and prints needle. */
static __attribute__((format(printf, 4, 5))) void expect(int code, const char *needle, const char *name,
							 const char *fmt, ...)
{
	char *args = NULL, *out = NULL, check[300];
	va_list ap;
	va_start(ap, fmt);
	int n = vasprintf(&args, fmt, ap);
	va_end(ap);
	int rc = cli_run(&out, "%s", n < 0 ? "" : args);
	snprintf(check, sizeof check, "%s: exit code", name);
	is_int(rc, code, check);
	snprintf(check, sizeof check, "%s: output", name);
	like(out, needle, check);
	free(out);
	if (n >= 0)
		free(args);
}

/* All of path (malloc'd; *size bytes), or NULL (*size 0) where it cannot be read. */
static void *slurp_bytes(const char *path, size_t *size)
{
	char *buf = NULL;
	*size = 0;
	return mrl_read_file(path, SIZE_MAX, &buf, size, NULL) ? NULL : buf;
}

static int write_bytes(const char *path, const void *p, size_t n)
{
	FILE *f = fopen(path, "wb");
	if (!f)
		return -1;
	int bad = n && fwrite(p, 1, n, f) != n;
	return fclose(f) || bad ? -1 : 0;
}

/* Copy the model src to dst with the edit e; 0 on success. */
static int rewrite(const char *src, const char *dst, struct edit e)
{
	size_t size;
	void *buf = slurp_bytes(src, &size);
	struct mrl_err err = { 0 };
	struct gguf_ctx *g = NULL;
	struct gguf_writer *w = gguf_writer_new();
	void *zeros = NULL;
	int rc = -1;
	if (!buf || !w || gguf_parse(buf, size, src, &g, &err))
		goto out;
	for (size_t i = 0; i < gguf_n_kv(g); i++)
		if (e.arch && gguf_str_eq(gguf_kv_at(g, i)->key, "general.architecture")
			    ? gguf_writer_set_str(w, "general.architecture", e.arch)
			    : gguf_writer_copy_kv(w, gguf_kv_at(g, i)))
			goto out;
	if (e.alignment && gguf_writer_set_u32(w, "general.alignment", e.alignment))
		goto out;
	if (e.bad_special_ids && (gguf_writer_set_u32(w, "tokenizer.ggml.padding_token_id", 4294967295u) ||
				  gguf_writer_set_u32(w, "tokenizer.ggml.seperator_token_id", 4294967295u)))
		goto out;
	for (size_t i = 0; i < gguf_n_tensors(g); i++) {
		const struct gguf_tensor *t = gguf_tensor_at(g, i);
		char name[128];
		snprintf(name, sizeof name, "%.*s", (int)t->name.len, t->name.ptr);
		uint32_t type = t->type;
		const void *data = t->data;
		uint64_t nbytes = t->nbytes;
		if (e.mxfp4_tensor && !strcmp(name, e.mxfp4_tensor)) {
			uint64_t row;
			if (eng_row_size(TYPE_MXFP4, t->ne[0], &row))
				goto out;
			type = TYPE_MXFP4;
			nbytes = row * (t->n_elements / t->ne[0]);
			free(zeros);
			if (!(zeros = calloc(1, nbytes)))
				goto out;
			data = zeros;
		}
		if (gguf_writer_add_tensor(w, name, type, t->n_dims, t->ne, data, nbytes))
			goto out;
	}
	rc = gguf_writer_write(w, dst, &err);
out:
	if (rc)
		diag("rewriting %s: %s", src, err.msg[0] ? err.msg : "failed");
	free(zeros);
	gguf_writer_free(w);
	gguf_free(g);
	free(buf);
	return rc;
}

/* The offset of tensor info i's name in the model file at path (where a cut makes it
 * "truncated at tensor info i"), or 0. */
static size_t tensor_info_offset(const char *path, size_t i)
{
	size_t size, off = 0;
	void *buf = slurp_bytes(path, &size);
	struct mrl_err err = { 0 };
	struct gguf_ctx *g = NULL;
	if (buf && gguf_parse(buf, size, path, &g, &err) == 0 && i < gguf_n_tensors(g))
		off = (size_t)((const char *)gguf_tensor_at(g, i)->name.ptr - (const char *)buf) - 8; /* its length */
	gguf_free(g);
	free(buf);
	return off;
}

static void broken_files(const char *dir, const char *model)
{
	char path[600];

	snprintf(path, sizeof path, "%s/empty.gguf", dir);
	write_bytes(path, "", 0);
	CLI_EXPECT(3, "empty.gguf: empty file (0 bytes), not a GGUF model",
		   "info on an empty .gguf says so (it is not parsed as a suite)", "info %s", path);

	snprintf(path, sizeof path, "%s/json.gguf", dir);
	cli_write_file(path, "{\"tasks\": []}\n");
	CLI_EXPECT(3, "json.gguf: header: not a GGUF file (magic is not \"GGUF\")",
		   "info on a .gguf that holds something else: not a GGUF file", "info %s", path);

	snprintf(path, sizeof path, "%s/junk.GGUF", dir);
	write_bytes(path, "\xff\xfe\x00\x01garbage, not UTF-8 \x80\x81", 26);
	CLI_EXPECT(3, "junk.GGUF: header: not a GGUF file", "the .gguf extension is matched in any case",
		   "info %s", path);

	size_t size, cut = tensor_info_offset(model, 3);
	void *buf = slurp_bytes(model, &size);
	if (!ok(buf && cut > 0, "the tiny model has a tensor info 3")) {
		free(buf);
		return;
	}
	snprintf(path, sizeof path, "%s/cut.gguf", dir);
	write_bytes(path, buf, cut + 4);
	CLI_EXPECT(3, "cut.gguf: tensor 3: name: needs 8 bytes", "info on a file cut in tensor info 3 names it",
		   "info %s", path);
	CLI_EXPECT(3, "(truncated file?)", "... and says it looks truncated", "info %s", path);

	snprintf(path, sizeof path, "%s/head.gguf", dir);
	write_bytes(path, buf, 1000);
	CLI_EXPECT(3, "head.gguf: header: n_tensors 39 cannot fit in the remaining 976 bytes (truncated file",
		   "info on the first 1000 bytes of a model: the counts cannot fit, a truncated file?", "info %s", path);

	/* by its magic, whatever the name */
	snprintf(path, sizeof path, "%s/cut-model.bin", dir);
	write_bytes(path, buf, cut + 4);
	CLI_EXPECT(3, "cut-model.bin: tensor 3: name: needs 8 bytes", "a cut GGUF with another name is told by its magic",
		   "info %s", path);
	free(buf);
}

static void alignment(const char *dir, const char *model)
{
	char path[600];
	for (uint32_t a = 1; a <= 4; a *= 2) {
		snprintf(path, sizeof path, "%s/align%u.gguf", dir, a);
		if (rewrite(model, path, (struct edit){ .alignment = a })) {
			ok(0, "write a model with a small alignment");
			continue;
		}
		char want[700], name[200];
		snprintf(want, sizeof want, "('general.alignment'): alignment %u is not a multiple of 8 (the GGUF spec "
			 "requires one; tensor data would be misaligned)", a);
		snprintf(name, sizeof name, "general.alignment %u: info refuses it, giving the value and the rule", a);
		expect(3, want, name, "info %s", path);
		snprintf(want, sizeof want, "merilo: %s: kv ", path);
		snprintf(name, sizeof name, "general.alignment %u: the message names the file", a);
		expect(3, want, name, "info %s", path);
		snprintf(name, sizeof name, "general.alignment %u: generate refuses it too (no misaligned reads)", a);
		expect(3, want, name, "generate --model %s --prompt hi -n 2", path);
	}
	snprintf(path, sizeof path, "%s/align8.gguf", dir);
	if (rewrite(model, path, (struct edit){ .alignment = 8 }) == 0)
		CLI_EXPECT(0, "architecture: llama", "general.alignment 8 is fine", "info %s", path);
}

static void special_ids(const char *dir, const char *model)
{
	char path[600];
	snprintf(path, sizeof path, "%s/pad-ids.gguf", dir);
	if (rewrite(model, path, (struct edit){ .bad_special_ids = true })) {
		ok(0, "write a model with padding_token_id = 4294967295");
		return;
	}
	char want[800];
	snprintf(want, sizeof want, "merilo: warning: %s: tokenizer.ggml.padding_token_id = 4294967295 is out of range "
		 "(vocabulary has ", path);
	expect(0, want, "info on a model with padding_token_id = 4294967295: loads, with a warning", "info %s", path);
	CLI_EXPECT(0, "ignored, no pad token", "... that says what is done", "info %s", path);
	CLI_EXPECT(0, "  pad : none", "... and the model has no pad token", "info %s", path);
	expect(0, want, "generate on it runs, with the warning", "generate --model %s --prompt hi -n 2", path);
	expect(0, want, "tokenize with it works, with the warning", "tokenize --model %s hi", path);
}

static void unsupported_tensor_type(const char *dir, const char *model)
{
	char path[600];
	snprintf(path, sizeof path, "%s/mxfp4.gguf", dir);
	if (rewrite(model, path, (struct edit){ .mxfp4_tensor = "blk.1.ffn_up.weight" })) {
		ok(0, "write a model with an mxfp4 tensor");
		return;
	}
	char *out = NULL;
	int rc = cli_run(&out, "info %s", path);
	is_int(rc, 0, "info on a model with an mxfp4 tensor describes it");
	like(out, "architecture: llama\n", "... its architecture, not blamed");
	like(out, "not runnable by this engine: tensor 'blk.1.ffn_up.weight' has type mxfp4",
	     "... and why it cannot run: the tensor and its type");
	like(out, "dtypes: f32 x38, mxfp4 x1", "... and the tensor's type among the dtypes");
	ok(!strstr(out, "architecture: llama (not runnable"), "... without putting the blame on the architecture");
	free(out);
	CLI_EXPECT(3, "tensor 'blk.1.ffn_up.weight' has type mxfp4", "generate on it names the tensor and its type",
		   "generate --model %s --prompt hi -n 2", path);

	/* where the architecture is what the engine lacks, that is what the line says */
	snprintf(path, sizeof path, "%s/arch.gguf", dir);
	if (rewrite(model, path, (struct edit){ .arch = "gpt-oss" })) {
		ok(0, "write a model of another architecture");
		return;
	}
	CLI_EXPECT(0, "architecture: gpt-oss\nnot runnable by this engine: unsupported architecture 'gpt-oss'",
		   "info on an architecture the engine lacks says so", "info %s", path);
}

/* `merilo info ARGS` (printf-formatted) as JSON: the parsed object (caller
 * decrefs), NULL (and a failed check) where it exits non-zero or is not an object. */
static __attribute__((format(printf, 1, 2))) json_t *info_json(const char *fmt, ...)
{
	char *args = NULL, *out = NULL;
	va_list ap;
	va_start(ap, fmt);
	int n = vasprintf(&args, fmt, ap);
	va_end(ap);
	int rc = n < 0 ? -1 : cli_run(&out, "info %s 2>/dev/null", args);
	json_t *j = rc == 0 && out ? json_loads(out, 0, NULL) : NULL;
	if (!ok(json_is_object(j), "info --json: exit 0 and one JSON object"))
		diag("exit %d: %s", rc, out ? out : "");
	free(out);
	if (n >= 0)
		free(args);
	return j;
}

static json_int_t jint(const json_t *o, const char *key)
{
	return json_integer_value(json_object_get(o, key));
}

static bool jstr_is(const json_t *o, const char *key, const char *want)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s && !strcmp(s, want);
}

/* info MODEL --json: the facts of the text as one object. */
static void model_json(const char *dir, const char *model)
{
	char *text = NULL, path[600];
	cli_run(&text, "info %s", model);
	json_t *j = info_json("%s --json", model);
	if (!j) {
		free(text);
		return;
	}
	char want[100];
	snprintf(want, sizeof want, "parameters: %" PRId64 " (", (int64_t)jint(j, "parameters"));
	like(text, want, "parameters: the text's count");
	snprintf(want, sizeof want, "weights: %" PRId64 " bytes (", (int64_t)jint(j, "weights_bytes"));
	like(text, want, "weights_bytes: the text's bytes");
	like(text, "  end of generation: 2 '</s>'\n", "the text lists the end-of-generation tokens (llama.cpp's: EOS)");
	free(text);
	is_str(json_string_value(json_object_get(j, "file")), model, "file");
	is_str(json_string_value(json_object_get(j, "architecture")), "llama", "architecture");
	is_str(json_string_value(json_object_get(j, "name")), "merilo-synth-tiny-f32", "name");
	ok(json_is_true(json_object_get(j, "runnable")) && json_is_null(json_object_get(j, "not_runnable_reason")),
	   "runnable, no reason why not");
	is_int(jint(j, "n_tensors"), 39, "n_tensors");
	json_t *dt = json_array_get(json_object_get(j, "dtypes"), 0);
	ok(json_array_size(json_object_get(j, "dtypes")) == 1 &&
		   jstr_is(dt, "dtype", "f32") && jint(dt, "tensors") == 39 &&
		   jint(dt, "bytes") == jint(j, "weights_bytes"),
	   "dtypes: f32, 39 tensors, all the weights' bytes");
	ok(jint(j, "context_train") == 256 && jint(j, "layers") == 4 && jint(j, "embedding") == 64 &&
		   jint(j, "heads") == 8 && jint(j, "heads_kv") == 4 && jint(j, "ffn") == 192,
	   "context 256, layers 4, embedding 64, heads 8 (kv 4), ffn 192");
	json_t *rope = json_object_get(j, "rope");
	ok(jint(rope, "dims") == 8 && json_number_value(json_object_get(rope, "freq_base")) == 10000 &&
		   json_number_value(json_object_get(j, "norm_eps")) == 1e-5,
	   "rope 8 dims, base 10000; norm eps 1e-5 (the float's shortest decimal)");
	json_t *tok = json_object_get(j, "tokenizer"), *sp = json_object_get(j, "special_tokens");
	ok(jstr_is(tok, "model", "llama") && jint(tok, "vocabulary") == 804 &&
		   json_is_true(json_object_get(tok, "add_bos")),
	   "tokenizer llama, 804 tokens, add BOS");
	ok(jint(json_object_get(sp, "bos"), "id") == 1 &&
		   jstr_is(json_object_get(sp, "bos"), "piece", "<s>") &&
		   json_is_null(json_object_get(sp, "pad")),
	   "special tokens: bos 1 '<s>', no pad (null)");
	json_t *eog = json_object_get(sp, "end_of_generation");
	ok(json_array_size(eog) == 1 && jint(json_array_get(eog, 0), "id") == 2,
	   "special_tokens.end_of_generation: [EOS 2]");
	ok(!json_object_get(j, "metadata") && !json_object_get(j, "tensors"), "no metadata or tensor list without --verbose");
	json_decref(j);

	j = info_json("%s --json --verbose", model);
	ok(json_array_size(json_object_get(j, "metadata")) > 0 && json_array_size(json_object_get(j, "tensors")) == 39,
	   "--verbose: the metadata entries and the 39 tensors");
	json_t *t0 = json_array_get(json_object_get(j, "tensors"), 0);
	ok(json_string_value(json_object_get(t0, "name")) && json_array_size(json_object_get(t0, "shape")) > 0 &&
		   jint(t0, "bytes") > 0,
	   "--verbose: a tensor has name, dtype, shape and bytes");
	json_decref(j);

	snprintf(path, sizeof path, "%s/mxfp4.gguf", dir);
	j = access(path, R_OK) ? NULL : info_json("%s --json", path);
	if (j) {
		ok(json_is_false(json_object_get(j, "runnable")), "a model that cannot run: runnable false");
		like(json_string_value(json_object_get(j, "not_runnable_reason")),
		     "tensor 'blk.1.ffn_up.weight' has type mxfp4", "... and the reason names the tensor and its type");
		ok(json_is_null(json_object_get(j, "layers")), "... its shape null (loaded as its vocabulary only)");
		json_decref(j);
	}
	CLI_EXPECT(2, "--tasks is for a suite", "info MODEL --tasks: usage error", "info %s --tasks", model);
}

/* info describes a quantized model without repacking it (it computes nothing): with
 * too little memory for the copy, bench warns that the rows are read in place, info
 * has nothing to warn of (it repacked a 4 GB model to describe it, in seconds). */
/* Rope scaling read from the metadata is shown in the text and the JSON (docs/engine.md
 * "Rope scaling"); an unscaled model says "none". */
static void rope_scaling_shown(const char *dir, const char *model)
{
	char path[700];
	snprintf(path, sizeof path, "%s/yarn.gguf", dir);
	struct gguf_edit e = { .f32 = { { "llama.rope.scaling.factor", 4.0f }, { "llama.rope.scaling.attn_factor", 1.2f } },
			       .u32_key = "llama.rope.scaling.original_context_length", .u32_val = 64,
			       .str_key = "llama.rope.scaling.type", .str_val = "yarn" };
	if (!ok(gguf_rewrite(model, path, e) == 0, "a YaRN copy of the tiny model written"))
		return;
	/* 1.2 x (1 + 0.1 ln 4) = 1.36636 */
	CLI_EXPECT(0, "rope: 8 dims, base 10000, YaRN scaling x4, attention factor 1.36636; norm eps",
		   "info shows YaRN scaling, its factor and the attention factor", "info %s", path);
	json_t *j = info_json("%s --json", path), *u = info_json("%s --json", model);
	json_t *rope = json_object_get(j, "rope"), *urope = json_object_get(u, "rope");
	ok(jstr_is(rope, "scaling", "yarn") && json_number_value(json_object_get(rope, "scale_factor")) == 4 &&
		   fabs(json_number_value(json_object_get(rope, "attn_factor")) - 1.366355) < 1e-5,
	   "--json: rope.scaling yarn, scale_factor 4, attn_factor 1.36636");
	ok(jstr_is(urope, "scaling", "none") && json_number_value(json_object_get(urope, "scale_factor")) == 1 &&
		   json_number_value(json_object_get(urope, "attn_factor")) == 1,
	   "--json of an unscaled model: rope.scaling none, factors 1");
	json_decref(j);
	json_decref(u);
	unlink(path);
}

static void no_repack(const char *dir)
{
	char q8[600], *out = NULL;
	snprintf(q8, sizeof q8, "%s/tiny-q8_0.gguf", dir);
	if (cli_run(&out, "synth --preset tiny --dtype q8_0 --seed 1 -o %s", q8)) {
		skip("merilo synth --dtype q8_0 failed", "info reads a quantized model in place");
		free(out);
		return;
	}
	free(out);
	setenv("MERILO_MEM_AVAILABLE", "1", 1);
	int rc = cli_run(&out, "bench --model %s --prompt 4 --gen 1 --reps 1 --warmup 0 --threads 1", q8);
	const bool repacks = rc == 0 && out && strstr(out, "are read in place");
	free(out);
	if (!repacks) { /* no AVX-512 VNNI here: nothing is ever repacked */
		skip("this CPU repacks nothing (no AVX-512 VNNI)", "info reads a quantized model in place");
	} else {
		rc = cli_run(&out, "info %s", q8);
		ok(rc == 0 && out && !strstr(out, "read in place"), "info on a Q8_0 model repacks nothing");
		free(out);
	}
	unsetenv("MERILO_MEM_AVAILABLE");
}

/* A folder holding only a tokenizer.json is named as such, not as a "vocabulary-only file". */
static void tokenizer_folder(const char *dir)
{
	const char *src = "../shared/fixtures/hf/tokenizers/llama-spm/tokenizer.json";
	if (access(src, R_OK)) {
		skip("../shared/fixtures absent (hf/tokenizers/llama-spm)", "a tokenizer-only folder is named as a folder");
		return;
	}
	char folder[400];
	snprintf(folder, sizeof folder, "%s/tokonly", dir);
	if (cli_sh(NULL, "mkdir -p '%s' && cp '%s' '%s/'", folder, src, folder))
		diag("could not make %s", folder);
	CLI_EXPECT(0, "weights: none (a tokenizer-only folder: no config.json and no safetensors)",
		   "a tokenizer-only folder is named as a folder", "info %s", folder);
	/* nothing without weights runs: runnable false, with the reason (it said runnable true) */
	CLI_EXPECT(0, "\"runnable\": false", "a tokenizer-only folder is not runnable", "info %s --json", folder);
	CLI_EXPECT(0, "not runnable by this engine: no weights, a vocabulary only", "... and says why", "info %s", folder);
	CLI_EXPECT(0, "\"runnable\": false", "a vocabulary-only GGUF is not runnable", "info "
		   "../shared/fixtures/tokenizer/ggml-vocab-phi-3.gguf --json");
	/* the same weights as a GGUF (with a conversion's rope_freqs.weight factors) and as an HF
	 * folder: one parameter count (the GGUF counted the 8 factors: 180808) */
	CLI_EXPECT(0, "parameters: 180800 (", "an HF folder's parameters", "info ../shared/fixtures/hf/llama");
	CLI_EXPECT(0, "parameters: 180800 (", "its GGUF conversion's: rope_freqs.weight is not counted",
		   "info ../shared/fixtures/hf/gguf/llama-f32.gguf");
	/* a byte-level GGUF names its pre-tokenizer (text and JSON); a tokenizer.json does not */
	CLI_EXPECT(0, "tokenizer: gpt2 (pre-tokenizer gpt-2), 50257 tokens", "a byte-level GGUF's pre-tokenizer is shown",
		   "info ../shared/fixtures/tokenizer/ggml-vocab-gpt-2.gguf");
	CLI_EXPECT(0, "\"pre\": \"smollm\"", "... and in the JSON (tokenizer.pre)",
		   "info ../shared/fixtures/models-real/smollm2-135m-instruct-q4_1.gguf --json");
	CLI_EXPECT(0, "\"pre\": null", "a tokenizer.json folder: pre null", "info %s --json", folder);
}

int main(void)
{
	const char *merilo = cli_merilo();
	if (!merilo)
		skip_all("MERILO does not name the merilo binary (run through make test)");
	char dir[256], model[600];
	if (!cli_tmpdir(dir, sizeof dir, "info")) {
		skip_all("cannot make a temporary folder");
	}
	snprintf(model, sizeof model, "%s/tiny.gguf", dir);
	char *out = NULL;
	int rc = cli_run(&out, "synth --preset tiny --seed 1 -o %s", model);
	if (!ok(rc == 0, "merilo synth --preset tiny"))
		diag("%s", out);
	free(out);
	if (rc == 0) {
		CLI_EXPECT(0, "architecture: llama\n", "info on the tiny model", "info %s", model);
		broken_files(dir, model);
		alignment(dir, model);
		special_ids(dir, model);
		unsupported_tensor_type(dir, model);
		model_json(dir, model);
		rope_scaling_shown(dir, model);
		no_repack(dir);
		tokenizer_folder(dir);
	}
	cli_rmtree(dir);
	return done_testing();
}
