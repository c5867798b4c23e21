/* cmd_info_model.c — `merilo info MODEL.gguf [--verbose]`: what a model file is.
 *
 * Architecture, parameter count, dtypes with tensor counts, sizes, context,
 * tokenizer and special tokens; --verbose adds every metadata entry and every
 * tensor. A file the engine does not run (its architecture, a tensor type) is
 * still described from its vocabulary when that loads, with a line that says
 * why it cannot run. Warnings of loading (ignored special ids) go to stderr.
 */
#include "harness/hrn.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "engine/eng.h"

#define MAX_DTYPES 16

static void print_special(const struct eng_model *m, const char *what, int32_t id)
{
	const char *piece = id >= 0 ? eng_token_piece(m, id) : NULL;
	if (id < 0)
		printf("  %-4s: none\n", what);
	else
		printf("  %-4s: %" PRId32 " '%s'\n", what, id, piece ? piece : "?");
}

int hrn_info_model(const char *path, bool verbose)
{
	struct mrl_err err = { 0 }, err2 = { 0 };
	struct eng_model *m = NULL;
	const char *why_not = NULL; /* why the engine cannot run the file, when it cannot */
	/* nothing is computed: the rows stay where they are (no repacked copy: a 4 GB
	 * model took 4 GB and seconds to describe) and one thread is enough */
	const struct eng_open_opts io = { .n_threads = 1, .no_repack = true };
	if (eng_model_open(&m, path, &io, &err)) {
		if (err.code != MRL_EUNSUPPORTED)
			return hrn_report(&err);
		struct eng_open_opts vo = { .vocab_only = true };
		if (eng_model_open(&m, path, &vo, &err2))
			return hrn_report(&err);
		/* the engine's message names the culprit (the architecture, or a tensor and its
		 * type); shown without its "PATH: " prefix, the file line names the file */
		size_t n = strlen(path);
		why_not = !strncmp(err.msg, path, n) && !strncmp(err.msg + n, ": ", 2) ? err.msg + n + 2 : err.msg;
	}
	hrn_print_model_warnings(m);
	struct eng_model_desc d;
	eng_model_describe(m, &d);
	const char *names[MAX_DTYPES];
	size_t counts[MAX_DTYPES], n_types = 0, nt = eng_model_n_tensors(m);
	uint64_t bytes[MAX_DTYPES];
	for (size_t i = 0; i < nt; i++) {
		struct eng_tensor_info ti;
		eng_model_tensor_info(m, i, &ti);
		size_t k = 0;
		while (k < n_types && strcmp(names[k], ti.type_name))
			k++;
		if (k == n_types && n_types < MAX_DTYPES) {
			names[n_types] = ti.type_name;
			bytes[n_types] = 0;
			counts[n_types++] = 0;
		}
		if (k < n_types) {
			counts[k]++;
			bytes[k] += ti.nbytes;
		}
	}
	printf("file: %s (%.2f MiB)\n", d.path, (double)d.file_size / (1 << 20));
	printf("architecture: %s\n", d.arch[0] ? d.arch : "(none)");
	if (why_not)
		printf("not runnable by this engine: %s\n", why_not);
	if (d.name[0])
		printf("name: %s\n", d.name);
	if (nt) {
		printf("parameters: %" PRIu64 " (%.2f M)\n", d.n_params, (double)d.n_params / 1e6);
		printf("weights: %" PRIu64 " bytes (%.2f MiB) in %zu tensors\n", d.weight_bytes,
		       (double)d.weight_bytes / (1 << 20), nt);
		printf("dtypes:");
		for (size_t k = 0; k < n_types; k++)
			printf("%s %s x%zu", k ? "," : "", names[k], counts[k]);
		printf("\n");
		printf("bytes by dtype:");
		for (size_t k = 0; k < n_types; k++)
			printf("%s %s %.2f MiB (%.1f%%)", k ? "," : "", names[k], (double)bytes[k] / (1 << 20),
			       d.weight_bytes ? 100.0 * (double)bytes[k] / (double)d.weight_bytes : 0.0);
		printf("\n");
	} else {
		printf("weights: none (vocabulary-only file)\n");
	}
	if (d.has_weights) {
		printf("context (training): %" PRIu32 "\n", d.n_ctx_train);
		printf("layers: %" PRIu32 ", embedding %" PRIu32 ", heads %" PRIu32 " (kv %" PRIu32 "), ffn %" PRIu32
		       "\n", d.n_layer, d.n_embd, d.n_head, d.n_head_kv, d.n_ff);
		if (d.learned_pos)
			printf("positions: learned (%" PRIu32 "); norm eps %g\n", d.n_ctx_train, (double)d.norm_eps);
		else
			printf("rope: %" PRIu32 " dims, base %g; norm eps %g\n", d.n_rot, (double)d.rope_freq_base,
			       (double)d.norm_eps);
		if (d.sliding_window || d.attn_softcap > 0.0f || d.final_softcap > 0.0f) {
			printf("attention:");
			if (d.sliding_window)
				printf(" window %" PRIu32 " on %" PRIu32 " of %" PRIu32 " layers%s", d.sliding_window,
				       d.n_layer_windowed, d.n_layer, d.attn_softcap > 0.0f || d.final_softcap > 0.0f ? "," : "");
			if (d.attn_softcap > 0.0f || d.final_softcap > 0.0f)
				printf(" soft caps %g (scores) and %g (logits)", (double)d.attn_softcap,
				       (double)d.final_softcap);
			printf("\n");
		}
		printf("output matrix: %s\n", d.tied_output ? "tied to token_embd" : "separate");
	}
	printf("tokenizer: %s, %" PRIu32 " tokens, add BOS %s\n", d.tokenizer_model[0] ? d.tokenizer_model : "?",
	       d.n_vocab, d.add_bos ? "yes" : "no");
	printf("special tokens:\n");
	print_special(m, "bos", d.bos_id);
	print_special(m, "eos", d.eos_id);
	print_special(m, "unk", d.unk_id);
	print_special(m, "pad", d.pad_id);
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
	eng_model_close(m);
	return HRN_EXIT_OK;
}
