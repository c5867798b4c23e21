/* vocab.h — a model's vocabulary and its tokenizer; internal to engine/.
 *
 * A struct eng_vocab is built once from a parsed GGUF (tokenizer.ggml.* keys)
 * and is read-only afterwards: several threads and several contexts may
 * tokenize with it at once. It owns copies of every piece (NUL-terminated), so
 * it does not depend on the GGUF buffer after loading.
 *
 * Tokenizer families (tokenizer.ggml.model):
 *   "llama" — SentencePiece BPE as llama.cpp's llm_tokenizer_spm: implemented; an HF
 *             folder's tokenizer.model loads into it too (vocab_spm.c).
 *   "gpt2"  — byte-level BPE with merges and a pre-tokenizer regex (tokenizer.ggml.pre), as
 *             ENG_VOCAB_BPE (bpe.c): implemented; HF tokenizer.json BPE models load into it too
 *             (tokjson.c).
 *   "bert"  — WordPiece: not yet; slots in as ENG_VOCAB_WPM.
 * Encoding is in two stages for every family: the text is first cut around
 * user-defined tokens (which match even without special-token parsing, as in
 * llama.cpp), then each text fragment goes to the family's encoder.
 */
#ifndef MRL_ENG_VOCAB_H
#define MRL_ENG_VOCAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "engine/gguf.h"

enum eng_vocab_type {
	ENG_VOCAB_SPM = 1, /* SentencePiece BPE ("llama") */
	ENG_VOCAB_BPE = 2, /* byte-level BPE ("gpt2"; tokenizer.json BPE models): bpe.c */
	ENG_VOCAB_WPM = 3, /* WordPiece ("bert"): reserved, not implemented */
};

/* Token types as stored in tokenizer.ggml.token_type (the GGUF / llama.cpp values). */
enum eng_token_type {
	ENG_TOKEN_UNDEFINED = 0,
	ENG_TOKEN_NORMAL = 1,
	ENG_TOKEN_UNKNOWN = 2,
	ENG_TOKEN_CONTROL = 3,
	ENG_TOKEN_USER_DEFINED = 4,
	ENG_TOKEN_UNUSED = 5,
	ENG_TOKEN_BYTE = 6,
};

struct eng_vocab;

/* Build the vocabulary from g's tokenizer.ggml.* entries. path names the file in
 * error messages. Every id and array length is validated; an unknown tokenizer
 * family is MRL_EUNSUPPORTED (the message lists the supported ones). On success
 * *out is a new vocabulary owned by the caller (eng_vocab_free); g may be freed
 * afterwards. On failure *out is NULL. */
int eng_vocab_load(struct eng_vocab **out, const struct gguf_ctx *g, const char *path,
		   struct mrl_err *err);
/* Build the vocabulary from an HF tokenizer.json (path: the file, or a folder holding
 * it), with tokenizer_config.json beside it when present (add_bos_token, add_eos_token,
 * bos/eos/unk/pad names). A folder without tokenizer.json, or a path ending in ".model",
 * reads the SentencePiece tokenizer.model instead (an ENG_VOCAB_SPM vocabulary, encoded
 * as transformers 5 encodes such a folder). Unsupported components are
 * MRL_EUNSUPPORTED naming them and the file; malformed input is MRL_EINPUT naming the
 * file. *out as eng_vocab_load. */
int eng_vocab_load_json(struct eng_vocab **out, const char *path, struct mrl_err *err);
void eng_vocab_free(struct eng_vocab *v);

enum eng_vocab_type eng_vocab_type(const struct eng_vocab *v);
/* tokenizer.ggml.model as read ("llama"); owned by v. */
const char *eng_vocab_model_name(const struct eng_vocab *v);
/* A byte-level vocabulary's pre-tokenizer: the GGUF's tokenizer.ggml.pre ("default" where
 * the key is absent), "tokenizer.json" for a tokenizer.json; NULL for SentencePiece. */
const char *eng_vocab_pre_name(const struct eng_vocab *v);
uint32_t eng_vocab_n_tokens(const struct eng_vocab *v);
/* Special ids, -1 when the vocabulary has none. */
int32_t eng_vocab_bos(const struct eng_vocab *v);
int32_t eng_vocab_eos(const struct eng_vocab *v);
int32_t eng_vocab_unk(const struct eng_vocab *v);
int32_t eng_vocab_pad(const struct eng_vocab *v);
bool eng_vocab_add_bos(const struct eng_vocab *v);  /* tokenizer.ggml.add_bos_token */
bool eng_vocab_add_eos(const struct eng_vocab *v);  /* tokenizer.ggml.add_eos_token */
bool eng_vocab_add_space_prefix(const struct eng_vocab *v);
/* The ids that end a generation by llama.cpp's rule, ascending, owned by v; *n gets
 * their count. A GGUF vocabulary: EOS, the end-of-turn and end-of-message tokens, the
 * FIM pad / repository / file-separator tokens (each from its tokenizer.ggml.*_token_id
 * key, else found by name as llama.cpp does), and every token named like an
 * end-of-generation marker (<|eot_id|>, <|im_end|>, <|end|>, <end_of_turn>,
 * <|endoftext|>, <|eom_id|>, <EOT>, _<EOT>, <|end_of_text|>, <end_of_utterance>).
 * An HF tokenizer.json or tokenizer.model: EOS, the folder's generation config ids and
 * the chat formats' end-of-turn names (vocab_special.c, vocab_mark_eog_json). */
const int32_t *eng_vocab_eog_ids(const struct eng_vocab *v, size_t *n);
/* What loading ignored and the user should hear of (e.g. a special id out of
 * range, kept as absent, as llama.cpp does): one line each, naming the file and
 * the key; owned by v. NULL when i >= eng_vocab_n_warnings(v). */
size_t eng_vocab_n_warnings(const struct eng_vocab *v);
const char *eng_vocab_warning(const struct eng_vocab *v, size_t i);

/* Piece of id as stored ("▁Bel", "<0x0A>"), NUL-terminated, owned by v; NULL if
 * id is out of range. *len (may be NULL) gets its byte length. */
const char *eng_vocab_piece(const struct eng_vocab *v, int32_t id, size_t *len);
float eng_vocab_score(const struct eng_vocab *v, int32_t id);          /* 0 if out of range */
enum eng_token_type eng_vocab_token_type(const struct eng_vocab *v, int32_t id); /* UNDEFINED if out of range */
/* The id whose piece is exactly len bytes at text, or -1. */
int32_t eng_vocab_find(const struct eng_vocab *v, const char *text, size_t len);

/* Tokenize len bytes of UTF-8 (no special-token parsing; user-defined tokens do
 * match). With add_bos the BOS id is prepended (MRL_EINPUT if there is none).
 * *ids_out is malloc'd (owned by the caller, may be NULL when *n_out is 0). */
int eng_vocab_tokenize(const struct eng_vocab *v, const char *text, size_t len, bool add_bos,
		       int32_t **ids_out, size_t *n_out, struct mrl_err *err);

/* Flags of eng_vocab_encode. */
#define ENG_TOK_ADD_BOS 1u       /* prepend BOS (MRL_EINPUT if there is none) */
#define ENG_TOK_ADD_EOS 2u       /* append EOS (MRL_EINPUT if there is none) */
#define ENG_TOK_PARSE_SPECIAL 4u /* control tokens written in the text ("<|endoftext|>") are
				  * matched as whole strings, as llama.cpp's parse_special */

/* eng_vocab_tokenize with flags (ENG_TOK_*). Same ownership of *ids_out. */
int eng_vocab_encode(const struct eng_vocab *v, const char *text, size_t len, unsigned flags,
		     int32_t **ids_out, size_t *n_out, struct mrl_err *err);

/* Render n ids as text: ▁ -> space, byte tokens as their byte (so split UTF-8 is
 * reassembled), control and unknown tokens as nothing, user-defined tokens as
 * stored; with add_space_prefix the leading space of the first non-control token
 * is dropped (as SentencePiece does, so a leading BOS does not matter).
 * *text_out is malloc'd, NUL-terminated, owned by the caller. An id out of range
 * is MRL_EINPUT. */
int eng_vocab_detokenize(const struct eng_vocab *v, const int32_t *ids, size_t n,
			 char **text_out, size_t *len_out, struct mrl_err *err);

#endif
