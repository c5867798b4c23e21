/* vocab_special.c — the special tokens llama.cpp finds by their text when it loads
 * a GGUF vocabulary, and the re-typing that comes with them.
 *
 * llama.cpp (llama-vocab.cpp, checked against llama-tokenize f0d4d176) looks up the
 * end-of-turn, end-of-message and fill-in-the-middle tokens by name where the GGUF
 * gives no id for them, and makes every token it finds that way a control token,
 * whatever type the file stores ("control-looking token ... its type will be
 * overridden"). The same holds, key or no key, for the names of its end-of-generation
 * list. Since control tokens are cut out of a text only with special parsing, the
 * re-typing changes ids: DeepSeek-Coder's FIM tokens are user-defined in its file,
 * yet plain text keeps "<｜fim▁begin｜>" as text in llama.cpp, and a GPT-2 whose
 * "<|endoftext|>" is stored as normal still parses it with special parsing.
 *
 * Only GGUF vocabularies (vocab.c) are re-typed: HF's tokenizers library uses the
 * types tokenizer.json gives (tokjson.c calls only vocab_mark_eog_json, below).
 *
 * Where a vocabulary holds two names of one kind, llama.cpp takes the first its hash
 * map yields (an order its C++ library decides); merilo takes the lower id. It
 * matters only where the two are not both control already.
 *
 * The same pass gives llama.cpp's end-of-generation ids (what stops a generation):
 * EOS, the end-of-turn and end-of-message ids, the FIM pad, repository and file
 * separator ids (from the file's keys or found by name), and the names above.
 *
 * A tokenizer.json vocabulary (an HF folder) gets its end-of-generation ids from
 * vocab_mark_eog_json: what transformers' generate stops at (EOS and the generation
 * config's eos_token_id list), and the chat formats' end-of-turn tokens by name, as
 * llama.cpp would stop at them in the same checkpoint converted to GGUF.
 */
#include "engine/vocab_int.h"

#include <string.h>

/* The names llama.cpp tries for each kind (enum vocab_special), NULL-terminated. */
static const char *const *const special_names[VOCAB_N_SPECIAL] = {
	[VOCAB_EOT] = (const char *const[]){ "<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>",
					     "<EOT>", "_<EOT>", "<｜end▁of▁sentence｜>", "<end_of_utterance>", NULL },
	[VOCAB_EOM] = (const char *const[]){ "<|eom_id|>", NULL },
	[VOCAB_FIM_PRE] = (const char *const[]){ "<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>", "<｜fim▁begin｜>",
						 "<PRE>", "▁<PRE>", NULL },
	[VOCAB_FIM_SUF] = (const char *const[]){ "<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>", "<｜fim▁hole｜>",
						 "<SUF>", "▁<SUF>", NULL },
	[VOCAB_FIM_MID] = (const char *const[]){ "<|fim_middle|>", "<fim-middle>", "<fim_middle>", "<｜fim▁end｜>",
						 "<MID>", "▁<MID>", NULL },
	[VOCAB_FIM_PAD] = (const char *const[]){ "<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", NULL },
	[VOCAB_FIM_REP] = (const char *const[]){ "<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>",
						 "<reponame>", NULL },
	[VOCAB_FIM_SEP] = (const char *const[]){ "<|file_sep|>", NULL },
};

/* llama.cpp's end-of-generation names: each one present is re-typed control, key or no
 * key, and ends generation. */
static const char *const eog_names[] = { "<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>",
					 "<|eom_id|>", "<EOT>", "_<EOT>", "<|end_of_text|>", "<end_of_utterance>" };

static int32_t find_name(const struct eng_vocab *v, const char *name)
{
	return eng_vocab_find(v, name, strlen(name));
}

/* Add id (when >= 0 and new) to the end-of-generation ids, kept sorted. */
static void eog_add(struct eng_vocab *v, int32_t id)
{
	if (id < 0)
		return;
	size_t i = 0;
	while (i < v->n_eog && v->eog[i] < id)
		i++;
	if (i < v->n_eog && v->eog[i] == id)
		return;
	memmove(v->eog + i + 1, v->eog + i, (v->n_eog - i) * sizeof *v->eog);
	v->eog[i] = id;
	v->n_eog++;
}

_Static_assert(sizeof eog_names / sizeof eog_names[0] + 6 <= VOCAB_MAX_EOG,
	       "VOCAB_MAX_EOG holds the names, EOS, EOT, EOM and the three FIM ids");

void vocab_mark_specials(struct eng_vocab *v, const int32_t given[VOCAB_N_SPECIAL])
{
	int32_t ids[VOCAB_N_SPECIAL];
	for (size_t k = 0; k < VOCAB_N_SPECIAL; k++) {
		ids[k] = given[k];
		if (given[k] != VOCAB_ID_NOT_GIVEN)
			continue; /* the file names it (or says none): nothing is looked up */
		ids[k] = -1;
		for (const char *const *name = special_names[k]; *name; name++) {
			int32_t id = find_name(v, *name);
			if (id >= 0 && (ids[k] < 0 || id < ids[k]))
				ids[k] = id;
		}
		if (ids[k] >= 0)
			v->types[ids[k]] = ENG_TOKEN_CONTROL;
	}
	/* what ends generation in llama.cpp: these names, EOS, EOT, EOM, FIM pad/repo/separator */
	v->n_eog = 0;
	for (size_t i = 0; i < sizeof eog_names / sizeof eog_names[0]; i++) {
		int32_t id = find_name(v, eog_names[i]);
		if (id >= 0)
			v->types[id] = ENG_TOKEN_CONTROL;
		eog_add(v, id);
	}
	eog_add(v, v->eos);
	eog_add(v, ids[VOCAB_EOT]);
	eog_add(v, ids[VOCAB_EOM]);
	eog_add(v, ids[VOCAB_FIM_PAD]);
	eog_add(v, ids[VOCAB_FIM_REP]);
	eog_add(v, ids[VOCAB_FIM_SEP]);
}

/* The end-of-turn markers of the common chat formats (Llama 3, ChatML, Phi-3, Gemma,
 * GPT-2 style, Granite): llama.cpp's end-of-generation names less those of FIM and
 * code models. "</s>" and "<eos>" are not among them: where they are not the EOS
 * (Phi-3's "</s>" beside EOS "<|endoftext|>") neither transformers nor llama.cpp
 * stops at them. */
static const char *const eog_json_names[] = { "<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>",
					      "<|end_of_text|>" };

_Static_assert(sizeof eog_json_names / sizeof eog_json_names[0] + 1 + VOCAB_MAX_EOG_CONFIG <= VOCAB_MAX_EOG,
	       "VOCAB_MAX_EOG holds EOS, the names and the generation config's ids");

void vocab_mark_eog_json(struct eng_vocab *v, const int32_t *ids, size_t n)
{
	v->n_eog = 0;
	eog_add(v, v->eos);
	for (size_t i = 0; i < n && i < VOCAB_MAX_EOG_CONFIG; i++)
		if (ids[i] >= 0 && (size_t)ids[i] < v->n_tokens)
			eog_add(v, ids[i]);
	for (size_t i = 0; i < sizeof eog_json_names / sizeof eog_json_names[0]; i++) {
		int32_t id = find_name(v, eog_json_names[i]);
		if (id >= 0 && (v->types[id] == ENG_TOKEN_CONTROL || v->types[id] == ENG_TOKEN_USER_DEFINED))
			eog_add(v, id);
	}
}
