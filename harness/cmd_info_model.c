/* cmd_info_model.c — `merilo info MODEL.gguf [--verbose] [--json]`: what a model file is.
 *
 * Architecture, parameter count, dtypes with tensor counts, sizes, context,
 * tokenizer, special tokens and the chat template as `merilo run` would apply it;
 * --verbose adds every metadata entry and every
 * tensor. A file the engine does not run (its architecture, a tensor type) is
 * still described from its vocabulary when that loads, with a line that says
 * why it cannot run. Warnings of loading (ignored special ids) go to stderr.
 * --json prints the same facts as one JSON object (exact bytes, not MiB).
 */
#include "harness/hrn.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "engine/eng.h"
#include "records/record_json.h"
#include "tasks/chat.h"

#define MAX_DTYPES 16

static void print_special(const struct eng_model *m, const char *what, int32_t id)
{
	const char *piece = id >= 0 ? eng_token_piece(m, id) : NULL;
	if (id < 0)
		printf("  %-4s: none\n", what);
	else
		printf("  %-4s: %" PRId32 " '%s'\n", what, id, piece ? piece : "?");
}


/* Tensor counts and bytes per dtype, in the order the dtypes first appear. */
struct dtype_sums {
	const char *name[MAX_DTYPES];
	size_t tensors[MAX_DTYPES];
	uint64_t bytes[MAX_DTYPES];
	size_t n;
};

static void sum_dtypes(const struct eng_model *m, struct dtype_sums *s)
{
	s->n = 0;
	for (size_t i = 0; i < eng_model_n_tensors(m); i++) {
		struct eng_tensor_info ti;
		eng_model_tensor_info(m, i, &ti);
		size_t k = 0;
		while (k < s->n && strcmp(s->name[k], ti.type_name))
			k++;
		if (k == s->n && s->n < MAX_DTYPES) {
			s->name[s->n] = ti.type_name;
			s->bytes[s->n] = 0;
			s->tensors[s->n++] = 0;
		}
		if (k < s->n) {
			s->tensors[k]++;
			s->bytes[k] += ti.nbytes;
		}
	}
}

/* The shape of a model with weights: context, dimensions, positions, attention, output. */
/* ", linear scaling x4" / ", YaRN scaling x4, attention factor 1.14"; "" unscaled. */
static const char *rope_scaling_text(const struct eng_model_desc *d)
{
	static char buf[96];
	buf[0] = '\0';
	if (!strcmp(d->rope_scaling, "longrope"))
		snprintf(buf, sizeof buf, ", longrope scaling (factor tensors)");
	else if (strcmp(d->rope_scaling, "none"))
		snprintf(buf, sizeof buf, ", %s scaling x%g", strcmp(d->rope_scaling, "yarn") ? "linear" : "YaRN",
			 (double)d->rope_scale_factor);
	if (d->rope_attn_factor != 1.0f)
		snprintf(buf + strlen(buf), sizeof buf - strlen(buf), ", attention factor %g", (double)d->rope_attn_factor);
	if (d->rope_freq_base_swa > 0.0f)
		snprintf(buf + strlen(buf), sizeof buf - strlen(buf), "; windowed layers base %g, unscaled",
			 (double)d->rope_freq_base_swa);
	return buf;
}

static void print_shape(const struct eng_model_desc *d)
{
	printf("context (training): %" PRIu32 "\n", d->n_ctx_train);
	printf("layers: %" PRIu32 ", embedding %" PRIu32 ", heads %" PRIu32 " (kv %" PRIu32 ")", d->n_layer, d->n_embd,
	       d->n_head, d->n_head_kv);
	if (d->head_dim * d->n_head != d->n_embd) /* Qwen3, Gemma 2 9B: wider than the residual stream */
		printf(" of %" PRIu32, d->head_dim);
	printf(", ffn %" PRIu32, d->n_ff);
	if (d->n_expert)
		printf(" in each of %" PRIu32 " experts, %" PRIu32 " a token", d->n_expert, d->n_expert_used);
	if (d->n_ff_shexp)
		printf(", and a shared expert of %" PRIu32, d->n_ff_shexp);
	printf("\n");
	if (d->learned_pos)
		printf("positions: learned (%" PRIu32 "); norm eps %g\n", d->n_ctx_train, (double)d->norm_eps);
	else
		printf("rope: %" PRIu32 " dims, base %g%s; norm eps %g\n", d->n_rot, (double)d->rope_freq_base,
		       rope_scaling_text(d), (double)d->norm_eps);
	if (d->sliding_window || d->attn_softcap > 0.0f || d->final_softcap > 0.0f || d->qk_norm) {
		printf("attention:%s", d->qk_norm ? " q/k RMS-normed per head" : "");
		if (d->qk_norm && (d->sliding_window || d->attn_softcap > 0.0f || d->final_softcap > 0.0f))
			printf(",");
		if (d->sliding_window)
			printf(" window %" PRIu32 " on %" PRIu32 " of %" PRIu32 " layers%s", d->sliding_window,
			       d->n_layer_windowed, d->n_layer, d->attn_softcap > 0.0f || d->final_softcap > 0.0f ? "," : "");
		if (d->attn_softcap > 0.0f || d->final_softcap > 0.0f)
			printf(" soft caps %g (scores) and %g (logits)", (double)d->attn_softcap, (double)d->final_softcap);
		printf("\n");
	}
	printf("output matrix: %s\n", d->tied_output ? "tied to token_embd" : "separate");
}

/* The model's chat template as `run --chat-template auto` takes it: into a new JSON object
 * {family, default_system, thinking_switch, refused} (family null and refused the reason
 * where auto would refuse it), or JSON null where the model has none. */
static json_t *chat_json(const struct eng_model *m)
{
	char *tmpl = NULL;
	struct mrl_err err = { 0 };
	struct task_chat c;
	if (eng_model_chat_template(m, &tmpl, &err))
		return json_pack("{s:n, s:n, s:b, s:o}", "family", "default_system", "thinking_switch", 0, "refused",
				 rec_json_string(err.msg));
	if (!tmpl)
		return json_null();
	const int rc = task_chat_detect(tmpl, &c, &err);
	free(tmpl);
	if (rc)
		return json_pack("{s:n, s:n, s:b, s:o}", "family", "default_system", "thinking_switch", 0, "refused",
				 rec_json_string(err.msg));
	return json_pack("{s:s, s:o, s:b, s:n}", "family", task_chat_name(c.family), "default_system",
			 c.default_system[0] ? rec_json_string(c.default_system) : json_null(), "thinking_switch",
			 c.thinking_switch, "refused");
}

/* "chat template: ..." from chat_json's object. */
static void print_chat(const struct eng_model *m)
{
	json_t *c = chat_json(m);
	const char *family = json_string_value(json_object_get(c, "family"));
	if (json_is_null(c))
		printf("chat template: none\n");
	else if (!family)
		printf("chat template: not applied by run's --chat-template auto: %s\n",
		       json_string_value(json_object_get(c, "refused")));
	else
		printf("chat template: %s%s%s\n", family,
		       json_is_string(json_object_get(c, "default_system")) ? ", with a default system message" : "",
		       json_is_true(json_object_get(c, "thinking_switch")) ? ", Qwen3's thinking switch (run --thinking)" : "");
	json_decref(c);
}

static void print_text(const struct eng_model *m, const struct eng_model_desc *d, const struct dtype_sums *ds,
		       const char *why_not, bool verbose)
{
	const size_t nt = eng_model_n_tensors(m);
	printf("file: %s (%.2f MiB)\n", d->path, (double)d->file_size / (1 << 20));
	printf("architecture: %s\n", d->arch[0] ? d->arch : "(none)");
	if (why_not)
		printf("not runnable by this engine: %s\n", why_not);
	if (d->name[0])
		printf("name: %s\n", d->name);
	if (d->lora_dir)
		printf("lora: %s, r %" PRIu32 ", alpha %g (scale %g), %zu pairs\n", d->lora_dir, d->lora_rank,
		       (double)d->lora_alpha, (double)d->lora_scale, d->lora_modules);
	if (nt) {
		printf("parameters: %" PRIu64 " (%.2f M)", d->n_params, (double)d->n_params / 1e6);
		if (d->n_params_active != d->n_params)
			printf(", %.2f M active a token", (double)d->n_params_active / 1e6);
		printf("\n");
		printf("weights: %" PRIu64 " bytes (%.2f MiB) in %zu tensors\n", d->weight_bytes,
		       (double)d->weight_bytes / (1 << 20), nt);
		printf("dtypes:");
		for (size_t k = 0; k < ds->n; k++)
			printf("%s %s x%zu", k ? "," : "", ds->name[k], ds->tensors[k]);
		printf("\n");
		printf("bytes by dtype:");
		for (size_t k = 0; k < ds->n; k++)
			printf("%s %s %.2f MiB (%.1f%%)", k ? "," : "", ds->name[k], (double)ds->bytes[k] / (1 << 20),
			       d->weight_bytes ? 100.0 * (double)ds->bytes[k] / (double)d->weight_bytes : 0.0);
		printf("\n");
	} else {
		printf("weights: none (%s)\n", hrn_is_folder(d->path) ? "a tokenizer-only folder: no config.json and no safetensors"
										: "vocabulary-only file");
	}
	if (d->has_weights)
		print_shape(d);
	printf("tokenizer: %s", d->tokenizer_model[0] ? d->tokenizer_model : "?");
	if (d->tokenizer_pre)
		printf(" (pre-tokenizer %s)", d->tokenizer_pre);
	printf(", %" PRIu32 " tokens, add BOS %s\n", d->n_vocab, d->add_bos ? "yes" : "no");
	printf("special tokens:\n");
	print_special(m, "bos", d->bos_id);
	print_special(m, "eos", d->eos_id);
	print_special(m, "unk", d->unk_id);
	print_special(m, "pad", d->pad_id);
	printf("  end of generation:");
	for (size_t i = 0; i < d->n_eog; i++) {
		const char *piece = eng_token_piece(m, d->eog_ids[i]);
		printf(" %" PRId32 " '%s'%s", d->eog_ids[i], piece ? piece : "?", i + 1 < d->n_eog ? "," : "");
	}
	printf("%s\n", d->n_eog ? "" : " none");
	print_chat(m);
	if (verbose) {
		char buf[512];
		printf("metadata (%zu):\n", eng_model_n_meta(m));
		for (size_t i = 0; i < eng_model_n_meta(m); i++) {
			const char *key = eng_model_meta(m, i, buf, sizeof buf);
			printf("  %s = %s\n", key ? key : "?", buf);
		}
		printf("tensors (%zu):\n", nt);
		for (size_t i = 0; i < nt; i++) {
			struct eng_tensor_info ti;
			eng_model_tensor_info(m, i, &ti);
			printf("  %-28s %-5s [", ti.name, ti.type_name);
			for (uint32_t k = 0; k < ti.n_dims; k++)
				printf("%s%" PRIu64, k ? ", " : "", ti.ne[k]);
			printf("] %" PRIu64 " bytes\n", ti.nbytes);
		}
	}
}

/* ------------------------------------------------------------ --json */

/* A float of the file as JSON: the shortest decimal that reads back as the same
 * float (1e-05, not 9.99999975e-06), as the text's %g shows it. Every real of the
 * object is one, so it is printed with 9 significant digits (a float's most). */
static json_t *float_json(float f)
{
	char buf[32];
	for (int digits = 1; digits <= 9; digits++) {
		snprintf(buf, sizeof buf, "%.*g", digits, (double)f);
		if ((float)strtod(buf, NULL) == f)
			break;
	}
	return json_real(strtod(buf, NULL));
}

static json_t *special_json(const struct eng_model *m, int32_t id)
{
	if (id < 0)
		return json_null();
	return json_pack("{s:I, s:o}", "id", (json_int_t)id, "piece", rec_json_string(eng_token_piece(m, id)));
}

/* The shape of a model with weights (as print_shape) into o; nulls without weights. */
static void shape_json(json_t *o, const struct eng_model_desc *d)
{
	const bool w = d->has_weights;
	json_object_set_new(o, "context_train", w ? json_integer(d->n_ctx_train) : json_null());
	json_object_set_new(o, "layers", w ? json_integer(d->n_layer) : json_null());
	json_object_set_new(o, "embedding", w ? json_integer(d->n_embd) : json_null());
	json_object_set_new(o, "heads", w ? json_integer(d->n_head) : json_null());
	json_object_set_new(o, "heads_kv", w ? json_integer(d->n_head_kv) : json_null());
	json_object_set_new(o, "head_dim", w ? json_integer(d->head_dim) : json_null());
	json_object_set_new(o, "qk_norm", w ? json_boolean(d->qk_norm) : json_null());
	json_object_set_new(o, "ffn", w ? json_integer(d->n_ff) : json_null());
	json_object_set_new(o, "experts", w ? json_integer(d->n_expert) : json_null());
	json_object_set_new(o, "experts_used", w ? json_integer(d->n_expert_used) : json_null());
	json_object_set_new(o, "shared_expert_ffn", w ? json_integer(d->n_ff_shexp) : json_null());
	json_object_set_new(o, "positions", !w ? json_null() : json_string(d->learned_pos ? "learned" : "rope"));
	json_object_set_new(o, "rope", !w || d->learned_pos ? json_null()
							     : json_pack("{s:I, s:o, s:s, s:o, s:o}", "dims", (json_int_t)d->n_rot,
									 "freq_base", float_json(d->rope_freq_base),
									 "scaling", d->rope_scaling, "scale_factor",
									 float_json(d->rope_scale_factor), "attn_factor",
									 float_json(d->rope_attn_factor)));
	json_t *rope = json_object_get(o, "rope");
	if (rope)
		json_object_set_new(rope, "freq_base_windowed", d->rope_freq_base_swa > 0.0f ? float_json(d->rope_freq_base_swa)
											  : json_null());
	json_object_set_new(o, "norm_eps", w ? float_json(d->norm_eps) : json_null());
	json_object_set_new(o, "sliding_window", !w || !d->sliding_window ? json_null()
					       : json_pack("{s:I, s:I}", "size", (json_int_t)d->sliding_window,
							   "layers", (json_int_t)d->n_layer_windowed));
	json_object_set_new(o, "attn_softcap", w && d->attn_softcap > 0.0f ? float_json(d->attn_softcap) : json_null());
	json_object_set_new(o, "final_softcap", w && d->final_softcap > 0.0f ? float_json(d->final_softcap) : json_null());
	json_object_set_new(o, "output_matrix", !w ? json_null() : json_string(d->tied_output ? "tied" : "separate"));
}

/* --verbose: every metadata entry ({key, value}, in file order) and every tensor. */
static void verbose_json(json_t *o, const struct eng_model *m)
{
	json_t *meta = json_array(), *tensors = json_array();
	char buf[512];
	for (size_t i = 0; i < eng_model_n_meta(m); i++) {
		const char *key = eng_model_meta(m, i, buf, sizeof buf);
		json_array_append_new(meta, json_pack("{s:o, s:o}", "key", rec_json_string(key), "value",
						      rec_json_string(buf)));
	}
	for (size_t i = 0; i < eng_model_n_tensors(m); i++) {
		struct eng_tensor_info ti;
		eng_model_tensor_info(m, i, &ti);
		json_t *shape = json_array();
		for (uint32_t k = 0; k < ti.n_dims; k++)
			json_array_append_new(shape, json_integer((json_int_t)ti.ne[k]));
		json_array_append_new(tensors, json_pack("{s:o, s:s, s:o, s:I}", "name", rec_json_string(ti.name), "dtype",
							 ti.type_name, "shape", shape, "bytes", (json_int_t)ti.nbytes));
	}
	json_object_set_new(o, "metadata", meta);
	json_object_set_new(o, "tensors", tensors);
}

/* The facts print_text prints, as one object (new reference; NULL when out of memory). */
static json_t *model_json(const struct eng_model *m, const struct eng_model_desc *d, const struct dtype_sums *ds,
			  const char *why_not, bool verbose)
{
	json_t *o = json_object(), *dtypes = json_array();
	for (size_t k = 0; dtypes && k < ds->n; k++)
		json_array_append_new(dtypes, json_pack("{s:s, s:I, s:I}", "dtype", ds->name[k], "tensors",
							(json_int_t)ds->tensors[k], "bytes", (json_int_t)ds->bytes[k]));
	json_object_set_new(o, "file", rec_json_string(d->path));
	json_object_set_new(o, "file_bytes", json_integer((json_int_t)d->file_size));
	json_object_set_new(o, "architecture", d->arch[0] ? rec_json_string(d->arch) : json_null());
	json_object_set_new(o, "runnable", json_boolean(!why_not));
	json_object_set_new(o, "not_runnable_reason", rec_json_string(why_not));
	json_object_set_new(o, "name", d->name[0] ? rec_json_string(d->name) : json_null());
	json_object_set_new(o, "lora", !d->lora_dir ? json_null()
						    : json_pack("{s:o, s:I, s:f, s:f, s:I}", "dir", rec_json_string(d->lora_dir),
								"r", (json_int_t)d->lora_rank, "alpha", (double)d->lora_alpha,
								"scale", (double)d->lora_scale, "pairs",
								(json_int_t)d->lora_modules));
	json_object_set_new(o, "vocabulary_only", json_boolean(!eng_model_n_tensors(m)));
	json_object_set_new(o, "parameters", json_integer((json_int_t)d->n_params));
	json_object_set_new(o, "parameters_active", json_integer((json_int_t)d->n_params_active));
	json_object_set_new(o, "weights_bytes", json_integer((json_int_t)d->weight_bytes));
	json_object_set_new(o, "n_tensors", json_integer((json_int_t)eng_model_n_tensors(m)));
	json_object_set_new(o, "dtypes", dtypes);
	shape_json(o, d);
	json_object_set_new(o, "tokenizer", json_pack("{s:o, s:o, s:I, s:b}", "model", d->tokenizer_model[0]
										? rec_json_string(d->tokenizer_model)
										: json_null(),
						      "pre", d->tokenizer_pre ? rec_json_string(d->tokenizer_pre) : json_null(),
						      "vocabulary", (json_int_t)d->n_vocab, "add_bos", d->add_bos));
	json_t *eog = json_array();
	for (size_t i = 0; i < d->n_eog; i++)
		json_array_append_new(eog, special_json(m, d->eog_ids[i]));
	json_object_set_new(o, "special_tokens", json_pack("{s:o, s:o, s:o, s:o, s:o}", "bos", special_json(m, d->bos_id),
							   "eos", special_json(m, d->eos_id), "unk",
							   special_json(m, d->unk_id), "pad", special_json(m, d->pad_id),
							   "end_of_generation", eog));
	json_object_set_new(o, "chat_template", chat_json(m));
	if (verbose)
		verbose_json(o, m);
	return o;
}

int hrn_info_model(const char *path, const char *lora, bool verbose, bool as_json)
{
	struct mrl_err err = { 0 }, err2 = { 0 };
	struct eng_model *m = NULL;
	const char *why_not = NULL; /* why the engine cannot run the file, when it cannot */
	/* nothing is computed: the rows stay where they are (no repacked copy: a 4 GB
	 * model took 4 GB and seconds to describe) and one thread is enough */
	const struct eng_open_opts io = { .n_threads = 1, .no_repack = true, .lora = lora };
	if (eng_model_open(&m, path, &io, &err)) {
		if (err.code != MRL_EUNSUPPORTED)
			return hrn_report(&err);
		struct eng_open_opts vo = { .vocab_only = true }; /* (an adapter's refusal is the reason given) */
		if (eng_model_open(&m, path, &vo, &err2))
			return hrn_report(&err);
		/* the engine's message names the culprit (the architecture, or a tensor and its
		 * type); shown without its "PATH: " prefix, the file line names the file */
		size_t n = strlen(path);
		why_not = !strncmp(err.msg, path, n) && !strncmp(err.msg + n, ": ", 2) ? err.msg + n + 2 : err.msg;
	}
	if (!why_not && !eng_model_n_tensors(m)) /* opens (for tokenize), computes nothing */
		why_not = "no weights, a vocabulary only (tokenize takes it; run, generate, perplexity and bench need "
			  "the model's weights)";
	hrn_print_model_warnings(m);
	struct eng_model_desc d;
	eng_model_describe(m, &d);
	struct dtype_sums ds;
	sum_dtypes(m, &ds);
	int rc = HRN_EXIT_OK;
	if (as_json) {
		json_t *o = model_json(m, &d, &ds, why_not, verbose);
		char *text = o ? json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(9)) : NULL;
		if (text)
			printf("%s\n", text);
		else
			rc = hrn_report((mrl_err_set(&err, MRL_ENOMEM, "%s: out of memory for the JSON", path), &err));
		free(text);
		json_decref(o);
	} else {
		print_text(m, &d, &ds, why_not, verbose);
	}
	eng_model_close(m);
	return rc;
}
