/* vocab_int.h — the vocabulary's fields, shared by the files that build and use it:
 * vocab.c (GGUF loading, SentencePiece, partition, decoding), bpe.c (byte-level BPE,
 * merges by rank, the regex pre-tokenizer), tokjson.c (HF tokenizer.json) and
 * vocab_spm.c (a SentencePiece tokenizer.model in an HF folder), vocab_hf.c (the JSON
 * files beside either).
 * Internal to engine/: callers outside see only vocab.h.
 */
#ifndef MRL_ENG_VOCAB_INT_H
#define MRL_ENG_VOCAB_INT_H

#include "engine/vocab.h"

#include "common/buf.h"

#include <stddef.h>
#include <stdint.h>

/* FNV-1a of s[0..n): the hash of the token and word tables (vocab.c, bpe.c). */
static inline uint64_t eng_hash_bytes(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211ull;
	}
	return h;
}

#define ATTR_LSTRIP 1u /* a match swallows whitespace to its left */
#define ATTR_RSTRIP 2u /* ... and to its right */

#define SPACE_ESC "\xE2\x96\x81" /* U+2581 LOWER ONE EIGHTH BLOCK, SentencePiece's space */
#define SPACE_ESC_LEN 3

#define VOCAB_MAX_WARNINGS 20 /* one per special-id key at most (4 + 11), merges, pre */

/* The special tokens llama.cpp looks up by their text where the GGUF gives no id
 * (vocab_special.c): end of turn, end of message, fill-in-the-middle parts. */
enum vocab_special {
	VOCAB_EOT, VOCAB_EOM, VOCAB_FIM_PRE, VOCAB_FIM_SUF, VOCAB_FIM_MID, VOCAB_FIM_PAD, VOCAB_FIM_REP,
	VOCAB_FIM_SEP, VOCAB_N_SPECIAL
};
#define VOCAB_ID_NOT_GIVEN INT32_MIN /* no key for a kind, or its value was ignored */
#define VOCAB_MAX_EOG 32 /* end-of-generation ids: GGUF 10 names, EOS, EOT, EOM, 3 FIM ids;
			   * tokenizer.json EOS, 6 names and VOCAB_MAX_EOG_CONFIG */
#define VOCAB_MAX_EOG_CONFIG 16 /* eos_token_id entries taken from generation_config.json */

/* One merge rule: the pair (left, right) of token ids becomes id, lower rank first. */
struct bpe_merge {
	uint64_t key; /* (uint64_t)left << 32 | right; UINT64_MAX = empty slot */
	uint32_t rank;
	int32_t id;
};

/* How a pre-tokenizer step keeps a regex match (HF's SplitDelimiterBehavior). */
enum pre_behavior {
	PRE_ISOLATED = 0, /* matches and the text between them are separate words (llama.cpp) */
	PRE_REMOVED,      /* matches are dropped */
	PRE_MERGED_PREV,  /* a match joins the word before it */
	PRE_MERGED_NEXT,  /* a match joins the word after it */
	PRE_CONTIGUOUS,   /* consecutive matches form one word */
};

/* One split of the pre-tokenizer; applied to every word the previous step made. */
struct pre_step {
	void *re;        /* pcre2_code_8 * (UTF, UCP, and DOLLAR_ENDONLY (GGUF) or MULTILINE (HF); JIT when available) */
	uint8_t behavior; /* enum pre_behavior */
	bool invert;     /* the text between matches is what behavior applies to */
};

/* A normalizer step of tokenizer.json, applied in order to each text fragment. */
enum norm_kind { NORM_NFC = 1, NORM_NFKC, NORM_NFD, NORM_NFKD, NORM_LOWER, NORM_PREPEND, NORM_REPLACE };
struct norm_step {
	uint8_t kind;
	char *a, *b; /* PREPEND: a = text; REPLACE: a = pattern (literal), b = content */
	size_t a_len, b_len;
};

/* Which text fragments get SentencePiece's leading ▁ (with add_space_prefix). */
enum spm_prepend {
	SPM_PREPEND_LLAMACPP = 0, /* GGUF: the text's start and every fragment after a cut-out token,
				   * whatever it starts with (llama.cpp's llm_tokenizer_spm) */
	SPM_PREPEND_FIRST,        /* tokenizer.model: the text's start only, and not where the text
				   * starts with a space (transformers' Metaspace prepend_scheme "first") */
	SPM_PREPEND_ALWAYS,       /* tokenizer.model with legacy: every fragment, but not one that starts
				   * with a space (Metaspace "always") */
};

struct eng_vocab {
	enum eng_vocab_type type;
	char *model_name;
	uint32_t n_tokens;
	char *blob;            /* every piece, NUL-terminated, back to back */
	size_t *piece_off;     /* n_tokens: offset of each piece in blob */
	uint32_t *piece_len;   /* n_tokens: bytes, without the NUL */
	float *scores;         /* n_tokens */
	uint8_t *types;        /* n_tokens: enum eng_token_type */
	uint8_t *attrs;        /* n_tokens: ATTR_* */
	int32_t *table;        /* hash slots: id or -1 */
	size_t table_mask;     /* slots - 1 (a power of two minus one) */
	int32_t byte_to_id[256]; /* <0xXX> token of each byte, or -1 */
	int32_t *user_ids;     /* tokens cut out of the text before encoding (user-defined, and
				* control/unknown for special parsing), longest piece first */
	size_t n_user;
	int32_t bos, eos, unk, pad;
	bool add_bos, add_eos, add_space_prefix;
	uint8_t spm_prepend;   /* enum spm_prepend: where SentencePiece's leading ▁ goes */
	int32_t eog[VOCAB_MAX_EOG]; /* end-of-generation ids, ascending (vocab_special.c): GGUF
				     * llama.cpp's; tokenizer.json EOS, the folder's generation
				     * config ids and the end-of-turn names */
	size_t n_eog;
	char *warnings[VOCAB_MAX_WARNINGS]; /* what loading ignored, one line each (malloc'd) */
	size_t n_warnings;

	/* ---- BPE (tokenizer.ggml.model gpt2, and tokenizer.json model BPE) ---- */
	struct bpe_merge *merges; /* hash slots, load <= 1/2 */
	size_t merges_mask;
	uint32_t n_merges;
	struct pre_step *pre;     /* pre-tokenizer splits, in order (none: the fragment is one word) */
	size_t n_pre;
	char *pre_name;           /* tokenizer.ggml.pre as read, or "tokenizer.json" */
	bool byte_level;          /* pieces spell bytes through GPT-2's byte->unicode map */
	bool ignore_merges;       /* a word that is a piece is one token (llama3, HF ignore_merges) */
	bool llamacpp_utf8;       /* GGUF: invalid UTF-8 decoded as llama.cpp decodes it (bpe.c) */
	bool byte_fallback;       /* a character without a piece becomes its <0xXX> tokens (HF) */
	bool fuse_unk;            /* consecutive unknown characters give one UNK (HF) */
	bool specials_always;     /* control tokens are cut out even without special parsing (HF added tokens) */
	bool gguf_bpe;            /* from a GGUF (llama.cpp's rules): a character without a piece, none of
				   * its bytes a piece either, stays a symbol that merges with nothing and
				   * gives no token; never UNK (HF: UNK, or dropped before merging) */

	/* ---- tokenizer.json only ---- */
	struct norm_step *norm;
	size_t n_norm;
	bool meta_space;          /* Metaspace pre-tokenizer: ' ' -> U+2581 */
	uint8_t meta_prepend;     /* 0 never, 1 always, 2 first fragment only */
	bool meta_split;          /* Metaspace(split = true): words start at each U+2581 */
	bool bl_prefix_space;     /* ByteLevel(add_prefix_space): a leading ' ' when missing */
	bool dec_strip_space;     /* decoding drops the first leading space (Metaspace / Strip decoders) */
	void *match_ctx;          /* pcre2_match_context *: match and depth limits for untrusted regexes */
};

/* Whether id names a token of v. */
static inline bool vocab_id_ok(const struct eng_vocab *v, int32_t id)
{
	return id >= 0 && (uint32_t)id < v->n_tokens;
}

/* ---- vocab.c ---- */

/* With n_tokens, blob, piece_off, piece_len, scores, types and attrs filled: build the
 * piece hash, the <0xXX> byte ids and the list of tokens cut out before encoding. */
int vocab_index(struct eng_vocab *v, const char *path, struct mrl_err *err);
/* Keep one warning line for the caller (dropped past VOCAB_MAX_WARNINGS). */
void vocab_warn(struct eng_vocab *v, const char *msg);

/* ---- vocab_special.c ---- */

/* llama.cpp's load-time rule for GGUF vocabularies (types, pieces, eos and the piece
 * hash ready): for each kind whose id the file does not give (given[k] ==
 * VOCAB_ID_NOT_GIVEN), the lowest id named like one of llama.cpp's names for it, and
 * every token named like an end-of-generation marker, become control tokens; v->eog
 * gets llama.cpp's end-of-generation ids. */
void vocab_mark_specials(struct eng_vocab *v, const int32_t given[VOCAB_N_SPECIAL]);

/* The end-of-generation ids of a tokenizer.json vocabulary (types, pieces, eos and the
 * piece hash ready): EOS, the n ids of the folder's generation config (transformers'
 * GenerationConfig.eos_token_id: generation_config.json, else config.json; those
 * outside the vocabulary skipped) and every control or user-defined token named like
 * a chat format's end of turn (eog_json_names). Nothing is re-typed. */
void vocab_mark_eog_json(struct eng_vocab *v, const int32_t *ids, size_t n);

/* ---- vocab_hf.c: the JSON files beside a tokenizer.json or a tokenizer.model ---- */

#define VOCAB_HF_MAX_BYTES ((size_t)256 << 20)
#define VOCAB_HF_MAX_DEPTH 64

struct json_t;
/* Read the JSON file at path (size and nesting capped) into *out, an object (the caller
 * json_decref's it). optional: a file that does not exist gives 0 and *out = NULL.
 * flags: jansson decoding flags added to JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL. */
int vocab_hf_read_json(const char *path, struct json_t **out, bool optional, size_t flags, struct mrl_err *err);
/* A token name in tokenizer_config.json: "x" or {"content": "x", ...}; owned by t, or NULL. */
const char *vocab_hf_token_name(const struct json_t *t);
/* config.json's bos_token_id / eos_token_id beside the tokenizer (dir_of_file: its first
 * dir_len bytes, "" or ".../") for a BOS / EOS that v does not have. */
int vocab_hf_specials_from_config(struct eng_vocab *v, const char *dir_of_file, int dir_len, struct mrl_err *err);
/* transformers' GenerationConfig.eos_token_id of the tokenizer's folder (dir_of_file as
 * above): up to VOCAB_MAX_EOG_CONFIG ids into ids, their count returned. */
size_t vocab_hf_eog_config_ids(struct eng_vocab *v, const char *dir_of_file, int dir_len,
			       int32_t ids[VOCAB_MAX_EOG_CONFIG]);

/* ---- vocab_spm.c ---- */

/* Build the vocabulary of the SentencePiece model at path (an HF folder's
 * tokenizer.model, untrusted), with tokenizer_config.json, added_tokens.json,
 * special_tokens_map.json, generation_config.json and config.json beside it where
 * present, as transformers 5 loads such a folder. A corrupt file is MRL_EINPUT naming it
 * and the byte offset; a model merilo does not implement (model_type other than BPE, a
 * normalization rule) is MRL_EUNSUPPORTED naming it. *out as eng_vocab_load. */
int vocab_load_spm(struct eng_vocab **out, const char *path, struct mrl_err *err);

/* ---- bpe.c ---- */

/* Pre-tokenizer steps of a tokenizer.ggml.pre name (llama.cpp's regexes), compiled into
 * v->pre. An unknown name is MRL_EUNSUPPORTED naming it and the file. */
int bpe_set_pre_type(struct eng_vocab *v, const char *pre, const char *path, struct mrl_err *err);
/* Compile one regex (UTF-8 pattern of len bytes) and append it as a step. what names
 * the pattern's origin in the error (file and key). */
/* pat with each \p{X} of the categories L, M, N, P and S widened by the code points Unicode
 * assigned after libpcre2 10.42's tables (14.0) up to max_ver (151: Unicode 15.1, as
 * llama.cpp; 160: 16.0, as HF tokenizers), and with onig \w, \W, \h and \H as
 * Oniguruma's (HF's regexes), in *out (malloc'ed, *out_len bytes; bpe_classes.c). Returns 0 or
 * MRL_ENOMEM. */
int bpe_widen_classes(const char *pat, size_t len, int max_ver, int onig, char **out, size_t *out_len);
int bpe_add_pre_regex(struct eng_vocab *v, const char *pattern, size_t len, enum pre_behavior behavior,
		      bool invert, const char *what, struct mrl_err *err);
/* Add merge rule "left right" (pieces) with rank = the count so far. Returns 1 (and adds
 * nothing) when a side or the joined piece is not in the vocabulary or the pair repeats;
 * the caller decides whether that is an error. */
int bpe_add_merge(struct eng_vocab *v, const char *left, size_t left_len, const char *right, size_t right_len,
		  struct mrl_err *err);
/* Size the merge table for n rules (before bpe_add_merge). */
int bpe_merges_reserve(struct eng_vocab *v, size_t n, struct mrl_err *err);
void bpe_free(struct eng_vocab *v);

struct ids_buf {
	int32_t *v;
	size_t n, cap;
};
int ids_push(struct ids_buf *b, int32_t id);

/* Encode one raw text fragment (no special tokens in it) with the BPE pipeline:
 * UTF-8 repair, normalizers, pre-tokenizer, byte-level map, merges; appends to out.
 * first: the fragment starts the text (Metaspace prepend_scheme "first"). */
int bpe_encode_fragment(const struct eng_vocab *v, const char *text, size_t len, bool first,
			struct ids_buf *out, struct mrl_err *err);
/* Append the bytes piece (len bytes) spells under the byte-level map to buf (a
 * character outside the map is copied as is). */
int bpe_decode_piece(const char *piece, size_t len, struct mrl_buf *buf);

#endif
