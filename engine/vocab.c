/* vocab.c — vocabulary loading (GGUF tokenizer.ggml.*), piece lookup, and the
 * tokenizer itself: special-token partition + SentencePiece BPE, and detokenizing.
 *
 * The encoder reproduces llama.cpp's (llama-vocab.cpp) exactly, because the ids
 * must match the ones the reference engine computes its logits and perplexities on:
 *  1. The text is cut around user-defined tokens (longest first); control and
 *     unknown tokens are not matched (no special-token parsing).
 *  2. Each text fragment gets a leading space when add_space_prefix is set and it
 *     starts the input or follows a token fragment; spaces become U+2581 (▁).
 *  3. SPM: the fragment is split into UTF-8 characters (length from the lead
 *     byte's high nibble, clamped to the end: malformed input is never rejected),
 *     then adjacent symbols whose concatenation is a vocabulary piece are merged,
 *     best score first, ties to the leftmost, using a binary heap of candidate
 *     bigrams. A heap entry goes stale when either side has since changed size;
 *     stale entries are skipped on pop. Every merge pushes at most two entries,
 *     so the work is O(n log n) in the fragment's length.
 *  4. A final symbol that is not a piece (only single characters can be) is
 *     emitted as its bytes' <0xXX> tokens (or UNK where a vocabulary lacks them).
 *
 * Piece -> id is an open-addressing hash table (FNV-1a, linear probing, load <= 1/2)
 * owned by the vocabulary. Where two ids share a piece the later id wins, as in
 * llama.cpp's token_to_id map.
 */
#include "engine/vocab.h"
#include "engine/vocab_int.h"
#include "engine/heap.h"
#include "common/buf.h"
#include "common/utf8.h"

#include <ctype.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- small helpers ---- */

/* A GGUF string made printable for a one-line message (at most ~60 bytes shown). */
static const char *printable(const char *s, size_t n, char *buf, size_t buf_size)
{
	size_t o = 0;
	for (size_t i = 0; i < n && o + 8 < buf_size; i++) {
		unsigned char c = (unsigned char)s[i];
		if (i >= 60) {
			o += (size_t)snprintf(buf + o, buf_size - o, "...");
			break;
		}
		if (c < 0x20 || c == 0x7f || c == '\'' || c == '\\')
			o += (size_t)snprintf(buf + o, buf_size - o, "\\x%02X", c);
		else
			buf[o++] = (char)c;
	}
	buf[o] = '\0';
	return buf;
}

/* Insert id under its piece; a later id with the same piece replaces the earlier. */
static void table_insert(struct eng_vocab *v, int32_t id)
{
	const char *p = v->blob + v->piece_off[id];
	size_t len = v->piece_len[id];
	size_t slot = (size_t)eng_hash_bytes(p, len) & v->table_mask;
	for (;;) {
		int32_t cur = v->table[slot];
		if (cur < 0 || (v->piece_len[cur] == len && memcmp(v->blob + v->piece_off[cur], p, len) == 0)) {
			v->table[slot] = id;
			return;
		}
		slot = (slot + 1) & v->table_mask;
	}
}

/* ---- loading ---- */

void eng_vocab_free(struct eng_vocab *v)
{
	if (!v)
		return;
	free(v->model_name);
	free(v->blob);
	free(v->piece_off);
	free(v->piece_len);
	free(v->scores);
	free(v->types);
	free(v->attrs);
	free(v->table);
	free(v->user_ids);
	bpe_free(v);
	for (size_t i = 0; i < v->n_warnings; i++)
		free(v->warnings[i]);
	free(v);
}

/* Keep a warning (printf-style) for the caller to show; past VOCAB_MAX_WARNINGS or
 * out of memory it is dropped: a warning never fails a load. */
static void add_warning(struct eng_vocab *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add_warning(struct eng_vocab *v, const char *fmt, ...)
{
	if (v->n_warnings >= VOCAB_MAX_WARNINGS)
		return;
	va_list ap;
	va_start(ap, fmt);
	char *msg = NULL;
	if (vasprintf(&msg, fmt, ap) >= 0)
		v->warnings[v->n_warnings++] = msg;
	va_end(ap);
}

/* Optional special id: absent keeps *id (the family's default, already range-checked);
 * -1 stored in the file means "none". An id outside the vocabulary is ignored as if
 * the key were absent, with a warning, as llama.cpp does: published files store e.g.
 * tokenizer.ggml.padding_token_id = 4294967295 (-1 written as u32). name ("pad") is
 * for the warning. A value that is not an integer is still bad input. */
static int load_special_id(struct eng_vocab *v, const struct gguf_ctx *g, const char *path,
			   const char *key, const char *name, int32_t *id, struct mrl_err *err)
{
	const struct gguf_kv *kv = gguf_find(g, key);
	if (!kv)
		return 0;
	bool is_signed = kv->type == GGUF_I8 || kv->type == GGUF_I16 || kv->type == GGUF_I32 ||
			 kv->type == GGUF_I64;
	bool is_unsigned = kv->type == GGUF_U8 || kv->type == GGUF_U16 || kv->type == GGUF_U32 ||
			   kv->type == GGUF_U64;
	if (!is_signed && !is_unsigned) {
		int32_t unused;
		return gguf_get_i32(g, key, &unused, err); /* the message names the file, the key and the type */
	}
	if (is_signed && kv->v.i == -1) {
		*id = -1;
		return 0;
	}
	if (is_signed ? kv->v.i >= 0 && kv->v.i < (int64_t)v->n_tokens : kv->v.u < v->n_tokens) {
		*id = (int32_t)(is_signed ? kv->v.i : (int64_t)kv->v.u);
		return 0;
	}
	char value[32], kept[64];
	if (is_signed)
		snprintf(value, sizeof value, "%lld", (long long)kv->v.i);
	else
		snprintf(value, sizeof value, "%llu", (unsigned long long)kv->v.u);
	if (*id == VOCAB_ID_NOT_GIVEN)
		snprintf(kept, sizeof kept, "the %s token is looked up by its text", name);
	else if (*id >= 0)
		snprintf(kept, sizeof kept, "%s stays the default %d", name, (int)*id);
	else
		snprintf(kept, sizeof kept, "no %s token", name);
	add_warning(v, "%s: %s = %s is out of range (vocabulary has %u tokens): ignored, %s",
		    path, key, value, v->n_tokens, kept);
	return 0;
}

/* The GGUF keys of llama.cpp's other special ids (enum vocab_special); a kind's second
 * key (llama.cpp's deprecated prefix/suffix/middle names) overrides its first. */
static const struct {
	const char *name, *keys[2];
} special_keys[VOCAB_N_SPECIAL] = {
	[VOCAB_EOT] = { "eot", { "tokenizer.ggml.eot_token_id" } },
	[VOCAB_EOM] = { "eom", { "tokenizer.ggml.eom_token_id" } },
	[VOCAB_FIM_PRE] = { "fim_pre", { "tokenizer.ggml.fim_pre_token_id", "tokenizer.ggml.prefix_token_id" } },
	[VOCAB_FIM_SUF] = { "fim_suf", { "tokenizer.ggml.fim_suf_token_id", "tokenizer.ggml.suffix_token_id" } },
	[VOCAB_FIM_MID] = { "fim_mid", { "tokenizer.ggml.fim_mid_token_id", "tokenizer.ggml.middle_token_id" } },
	[VOCAB_FIM_PAD] = { "fim_pad", { "tokenizer.ggml.fim_pad_token_id" } },
	[VOCAB_FIM_REP] = { "fim_rep", { "tokenizer.ggml.fim_rep_token_id" } },
	[VOCAB_FIM_SEP] = { "fim_sep", { "tokenizer.ggml.fim_sep_token_id" } },
};

/* given[k]: the id the file gives for kind k, -1 for a stored -1, or VOCAB_ID_NOT_GIVEN
 * where the keys are absent or out of range (then llama.cpp looks the token up by text). */
static int load_special_kinds(struct eng_vocab *v, const struct gguf_ctx *g, const char *path,
			      int32_t given[VOCAB_N_SPECIAL], struct mrl_err *err)
{
	for (size_t k = 0; k < VOCAB_N_SPECIAL; k++) {
		given[k] = VOCAB_ID_NOT_GIVEN;
		for (size_t j = 0; j < 2 && special_keys[k].keys[j]; j++) {
			int rc = load_special_id(v, g, path, special_keys[k].keys[j], special_keys[k].name, &given[k], err);
			if (rc)
				return rc;
		}
	}
	return 0;
}

static int load_flag(const struct gguf_ctx *g, const char *key, bool *flag,
		     struct mrl_err *err)
{
	int rc = gguf_get_bool(g, key, flag, err);
	if (rc < 0)
		return rc; /* the message names the file and the key */
	return 0;
}

static int cmp_user_tokens(const void *a, const void *b, void *ctx)
{
	const struct eng_vocab *v = ctx;
	int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
	if (v->piece_len[x] != v->piece_len[y])
		return v->piece_len[x] > v->piece_len[y] ? -1 : 1;
	return x < y ? -1 : x > y;
}

static bool piece_is(const struct eng_vocab *v, int32_t id, const char *s)
{
	return v->piece_len[id] == strlen(s) && memcmp(v->blob + v->piece_off[id], s, v->piece_len[id]) == 0;
}

/* llama.cpp sets strip attributes on special tokens by model name (general.name).
 * For Phi-3: every control/user-defined/unknown token and </s> swallow whitespace
 * to their right, except <unk>, <s> and <|endoftext|>. It matters when a
 * user-defined token (Phi-3's </s>) is followed by spaces in the text. */
static int set_strip_attrs(struct eng_vocab *v, const struct gguf_ctx *g, struct mrl_err *err)
{
	struct gguf_str name;
	int rc = gguf_get_str(g, "general.name", &name, err);
	if (rc < 0)
		return rc; /* the message names the file and the key */
	if (rc == 1)
		return 0;
	char lower[256];
	size_t n = name.len < sizeof lower - 1 ? (size_t)name.len : sizeof lower - 1;
	for (size_t i = 0; i < n; i++)
		lower[i] = (char)tolower((unsigned char)name.ptr[i]);
	lower[n] = '\0';
	if (!strstr(lower, "phi-3") && !strstr(lower, "phi3"))
		return 0;
	for (uint32_t id = 0; id < v->n_tokens; id++) {
		uint8_t t = v->types[id];
		if (t == ENG_TOKEN_CONTROL || t == ENG_TOKEN_USER_DEFINED || t == ENG_TOKEN_UNKNOWN ||
		    piece_is(v, (int32_t)id, "</s>"))
			v->attrs[id] |= ATTR_RSTRIP;
		if (piece_is(v, (int32_t)id, "<unk>") || piece_is(v, (int32_t)id, "<s>") ||
		    piece_is(v, (int32_t)id, "<|endoftext|>"))
			v->attrs[id] &= (uint8_t)~ATTR_RSTRIP;
	}
	return 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* The byte a <0xXX> piece stands for, or -1 when the piece is not of that form. */
static int byte_of_piece(const char *p, size_t len)
{
	if (len != 6 || memcmp(p, "<0x", 3) != 0 || p[5] != '>')
		return -1;
	int hi = hexval(p[3]), lo = hexval(p[4]);
	return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
}

static bool is_cut_type(uint8_t t)
{
	return t == ENG_TOKEN_USER_DEFINED || t == ENG_TOKEN_CONTROL || t == ENG_TOKEN_UNKNOWN;
}

/* gpt2 vocabularies: tokenizer.ggml.merges ("left right", rank = index) and the
 * pre-tokenizer named by tokenizer.ggml.pre (absent: llama.cpp's "default", with a
 * warning, as llama.cpp does). */
static int load_bpe(struct eng_vocab *v, const struct gguf_ctx *g, const char *path, struct mrl_err *err)
{
	const struct gguf_kv *merges = NULL;
	struct gguf_str pre;
	char shown[300];
	int rc = gguf_get_arr(g, "tokenizer.ggml.merges", GGUF_STRING, &merges, err);
	if (rc < 0)
		return rc; /* the message names the file and the key */
	if (rc == 1)
		return mrl_err_set(err, MRL_EINPUT, "%s: a gpt2 (byte-level BPE) vocabulary needs tokenizer.ggml.merges", path);
	if ((rc = bpe_merges_reserve(v, (size_t)merges->arr_n, err)))
		return rc;
	uint64_t skipped = 0;
	for (uint64_t i = 0; i < merges->arr_n; i++) {
		const struct gguf_str *m = &merges->arr_strs[i];
		/* split at the first space after the first byte (a piece may itself be a space) */
		const char *sp = m->len > 1 ? memchr(m->ptr + 1, ' ', (size_t)m->len - 1) : NULL;
		if (!sp)
			return mrl_err_set(err, MRL_EINPUT, "%s: tokenizer.ggml.merges[%llu] '%s' is not 'left right'", path,
					   (unsigned long long)i, printable(m->ptr, (size_t)m->len, shown, sizeof shown));
		size_t ll = (size_t)(sp - m->ptr);
		rc = bpe_add_merge(v, m->ptr, ll, sp + 1, (size_t)m->len - ll - 1, err);
		if (rc < 0)
			return rc;
		skipped += rc == 1;
	}
	if (skipped)
		add_warning(v, "%s: %llu of tokenizer.ggml.merges name pieces that are not in the vocabulary or repeat a pair: ignored",
			    path, (unsigned long long)skipped);
	rc = gguf_get_str(g, "tokenizer.ggml.pre", &pre, err);
	if (rc < 0)
		return rc;
	if (rc == 1) {
		add_warning(v, "%s: no tokenizer.ggml.pre: using llama.cpp's 'default' pre-tokenizer", path);
		v->pre_name = strdup("default");
	} else {
		v->pre_name = strndup(pre.ptr, (size_t)pre.len);
	}
	if (!v->pre_name)
		return mrl_err_set(err, MRL_ENOMEM, "%s: out of memory loading the vocabulary", path);
	if (strlen(v->pre_name) != (rc == 1 ? 7 : (size_t)pre.len))
		return mrl_err_set(err, MRL_EINPUT, "%s: tokenizer.ggml.pre contains a NUL byte", path);
	if ((rc = bpe_set_pre_type(v, v->pre_name, path, err)))
		return rc;
	v->gguf_bpe = true;
	/* llama.cpp turns BOS on for the llama3 family */
	v->add_bos = v->ignore_merges;
	return 0;
}

/* The pieces, scores and types of the GGUF's tokenizer.ggml arrays (equal
 * lengths), copied into one blob and indexed; then the byte tokens. */
static int load_pieces(struct eng_vocab *v, const struct gguf_ctx *g, const char *path, struct mrl_err *err)
{
	const struct gguf_kv *toks = NULL, *scores = NULL, *types = NULL;
	char shown[300];
	int rc;

	rc = gguf_get_arr(g, "tokenizer.ggml.tokens", GGUF_STRING, &toks, err);
	if (rc < 0)
		return rc; /* the message names the file and the key */
	if (rc == 1)
		return mrl_err_set(err, MRL_EINPUT, "%s: no tokenizer.ggml.tokens array", path);
	if (toks->arr_n == 0 || toks->arr_n > INT32_MAX)
		return mrl_err_set(err, MRL_EINPUT, "%s: tokenizer.ggml.tokens has %llu entries (expected 1..%d)",
				   path, (unsigned long long)toks->arr_n, INT32_MAX);
	v->n_tokens = (uint32_t)toks->arr_n;
	rc = gguf_get_arr(g, "tokenizer.ggml.scores", GGUF_F32, &scores, err);
	if (rc < 0)
		return rc; /* the message names the file and the key */
	if (rc == 1)
		scores = NULL;
	rc = gguf_get_arr(g, "tokenizer.ggml.token_type", GGUF_I32, &types, err);
	if (rc < 0)
		return rc; /* the message names the file and the key */
	if (rc == 1)
		types = NULL;
	if (scores && scores->arr_n != toks->arr_n)
		return mrl_err_set(err, MRL_EINPUT, "%s: tokenizer.ggml.scores has %llu entries but tokenizer.ggml.tokens has %u",
				   path, (unsigned long long)scores->arr_n, v->n_tokens);
	if (types && types->arr_n != toks->arr_n)
		return mrl_err_set(err, MRL_EINPUT, "%s: tokenizer.ggml.token_type has %llu entries but tokenizer.ggml.tokens has %u",
				   path, (unsigned long long)types->arr_n, v->n_tokens);

	uint32_t n = v->n_tokens;
	size_t blob_size = 0;
	for (uint32_t i = 0; i < n; i++) {
		uint64_t len = toks->arr_strs[i].len;
		if (len >= UINT32_MAX || len > SIZE_MAX - blob_size - 1)
			return mrl_err_set(err, MRL_EINPUT, "%s: tokenizer.ggml.tokens[%u] is %llu bytes long",
					   path, i, (unsigned long long)len);
		blob_size += (size_t)len + 1;
	}
	size_t slots = 16;
	while (slots < (size_t)n * 2)
		slots *= 2;
	v->blob = malloc(blob_size);
	v->piece_off = malloc(n * sizeof *v->piece_off);
	v->piece_len = malloc(n * sizeof *v->piece_len);
	v->scores = malloc(n * sizeof *v->scores);
	v->types = malloc(n);
	v->attrs = calloc(n, 1);
	v->table = malloc(slots * sizeof *v->table);
	if (!v->blob || !v->piece_off || !v->piece_len || !v->scores || !v->types || !v->attrs || !v->table)
		return mrl_err_set(err, MRL_ENOMEM, "%s: out of memory for a vocabulary of %u tokens", path, n);
	v->table_mask = slots - 1;
	memset(v->table, 0xff, slots * sizeof *v->table);

	size_t off = 0;
	for (uint32_t i = 0; i < n; i++) {
		const struct gguf_str *s = &toks->arr_strs[i];
		v->piece_off[i] = off;
		v->piece_len[i] = (uint32_t)s->len;
		if (s->len)
			memcpy(v->blob + off, s->ptr, (size_t)s->len);
		v->blob[off + s->len] = '\0';
		off += (size_t)s->len + 1;
		v->scores[i] = scores ? gguf_arr_f32(scores, i) : 0.0f;
		int64_t t = types ? gguf_arr_int(types, i) : ENG_TOKEN_NORMAL;
		if (t < ENG_TOKEN_UNDEFINED || t > ENG_TOKEN_BYTE)
			return mrl_err_set(err, MRL_EINPUT, "%s: tokenizer.ggml.token_type[%u] = %lld is not a token type (0..6)",
					   path, i, (long long)t);
		v->types[i] = (uint8_t)t;
		if (t == ENG_TOKEN_BYTE && byte_of_piece(s->ptr, (size_t)s->len) < 0)
			return mrl_err_set(err, MRL_EINPUT, "%s: token %u has type byte but its piece '%s' is not <0xXX>",
					   path, i, printable(s->ptr, (size_t)s->len, shown, sizeof shown));
		if (s->len)
			table_insert(v, (int32_t)i);
	}

	for (int b = 0; b < 256; b++) {
		char hex[8];
		snprintf(hex, sizeof hex, "<0x%02X>", b);
		int32_t id = eng_vocab_find(v, hex, 6);
		if (id < 0) {
			char one = (char)b;
			id = eng_vocab_find(v, &one, 1);
		}
		v->byte_to_id[b] = id;
	}
	return 0;
}

/* The ids of the tokens cut out of a text before encoding (is_cut_type),
 * longest piece first. */
static int index_user_tokens(struct eng_vocab *v, const char *path, struct mrl_err *err)
{
	uint32_t n = v->n_tokens;
	v->n_user = 0;
	for (uint32_t i = 0; i < n; i++)
		if (is_cut_type(v->types[i]) && v->piece_len[i] > 0)
			v->n_user++;
	if (!v->n_user)
		return 0;
	v->user_ids = malloc(v->n_user * sizeof *v->user_ids);
	if (!v->user_ids)
		return mrl_err_set(err, MRL_ENOMEM, "%s: out of memory loading the vocabulary", path);
	size_t k = 0;
	for (uint32_t i = 0; i < n; i++)
		if (is_cut_type(v->types[i]) && v->piece_len[i] > 0)
			v->user_ids[k++] = (int32_t)i;
	qsort_r(v->user_ids, v->n_user, sizeof *v->user_ids, cmp_user_tokens, v);
	return 0;
}

int eng_vocab_load(struct eng_vocab **out, const struct gguf_ctx *g, const char *path,
		   struct mrl_err *err)
{
	struct eng_vocab *v = NULL;
	struct gguf_str model;
	char shown[300];
	int rc;

	*out = NULL;
	if (!path)
		path = "(vocabulary)";

	rc = gguf_get_str(g, "tokenizer.ggml.model", &model, err);
	if (rc < 0)
		goto out; /* the message names the file and the key */
	if (rc == 1) {
		rc = mrl_err_set(err, MRL_EINPUT, "%s: no tokenizer.ggml.model key: the file holds no vocabulary", path);
		goto out;
	}
	v = calloc(1, sizeof *v);
	if (!v) {
		rc = mrl_err_set(err, MRL_ENOMEM, "%s: out of memory loading the vocabulary", path);
		goto out;
	}
	if (gguf_str_eq(model, "llama")) {
		v->type = ENG_VOCAB_SPM;
	} else if (gguf_str_eq(model, "gpt2")) {
		v->type = ENG_VOCAB_BPE;
		v->byte_level = true;
	} else {
		rc = mrl_err_set(err, MRL_EUNSUPPORTED,
				 "%s: tokenizer.ggml.model '%s' is not supported (supported: 'llama' = SentencePiece BPE, "
				 "'gpt2' = byte-level BPE; not yet: 'bert' = WordPiece)",
				 path, printable(model.ptr, (size_t)model.len, shown, sizeof shown));
		goto out;
	}
	v->model_name = strndup(model.ptr, (size_t)model.len);
	if (!v->model_name) {
		rc = mrl_err_set(err, MRL_ENOMEM, "%s: out of memory loading the vocabulary", path);
		goto out;
	}

	if ((rc = load_pieces(v, g, path, err)))
		goto out;
	uint32_t n = v->n_tokens;

	/* special ids: SentencePiece defaults <unk>=0, <s>=1, </s>=2, llama.cpp's gpt2
	 * defaults bos = eos = 11 and no unk; then the file's keys */
	if (v->type == ENG_VOCAB_SPM) {
		v->unk = n > 0 ? 0 : -1;
		v->bos = n > 1 ? 1 : -1;
		v->eos = n > 2 ? 2 : -1;
	} else {
		v->unk = -1;
		v->bos = v->eos = n > 11 ? 11 : -1;
	}
	v->pad = -1;
	if ((rc = load_special_id(v, g, path, "tokenizer.ggml.bos_token_id", "bos", &v->bos, err)) ||
	    (rc = load_special_id(v, g, path, "tokenizer.ggml.eos_token_id", "eos", &v->eos, err)) ||
	    (rc = load_special_id(v, g, path, "tokenizer.ggml.unknown_token_id", "unk", &v->unk, err)) ||
	    (rc = load_special_id(v, g, path, "tokenizer.ggml.padding_token_id", "pad", &v->pad, err)))
		goto out;

	v->add_bos = v->type == ENG_VOCAB_SPM;
	v->add_eos = false;
	v->add_space_prefix = v->type == ENG_VOCAB_SPM;
	if (v->type == ENG_VOCAB_BPE && (rc = load_bpe(v, g, path, err)))
		goto out;
	if ((rc = load_flag(g, "tokenizer.ggml.add_bos_token", &v->add_bos, err)) ||
	    (rc = load_flag(g, "tokenizer.ggml.add_eos_token", &v->add_eos, err)) ||
	    (rc = load_flag(g, "tokenizer.ggml.add_space_prefix", &v->add_space_prefix, err)))
		goto out;
	if (v->add_bos && v->bos < 0) {
		rc = mrl_err_set(err, MRL_EINPUT, "%s: tokenizer.ggml.add_bos_token is true but there is no BOS token", path);
		goto out;
	}
	if (v->add_eos && v->eos < 0) {
		rc = mrl_err_set(err, MRL_EINPUT, "%s: tokenizer.ggml.add_eos_token is true but there is no EOS token", path);
		goto out;
	}

	/* llama.cpp's tokens found by their text become control tokens (vocab_special.c),
	 * before the tokens to cut out are listed */
	int32_t given[VOCAB_N_SPECIAL];
	if ((rc = load_special_kinds(v, g, path, given, err)))
		goto out;
	vocab_mark_specials(v, given);

	/* user-defined tokens are cut out of the text before encoding, longest first;
	 * control and unknown ones too where special parsing is asked for */
	if ((rc = index_user_tokens(v, path, err)))
		goto out;
	rc = set_strip_attrs(v, g, err);
	if (rc)
		goto out;

	*out = v;
	v = NULL;
	rc = 0;
out:
	eng_vocab_free(v);
	return rc;
}

/* ---- encoding ---- */

/* A piece of the input: raw text (token < 0) or an already-known token. */
struct frag {
	int32_t token;
	size_t off, len;
};

struct frag_buf {
	struct frag *v;
	size_t n, cap;
};

static int frag_push(struct frag_buf *b, int32_t token, size_t off, size_t len)
{
	if (b->n == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 16;
		struct frag *p = realloc(b->v, cap * sizeof *p);
		if (!p)
			return MRL_ENOMEM;
		b->v = p;
		b->cap = cap;
	}
	b->v[b->n++] = (struct frag){ token, off, len };
	return 0;
}

/* Cut the text fragments of *frags around every occurrence of each user-defined
 * token (llama.cpp's tokenizer_st_partition with parse_special = false). */
static int partition(const struct eng_vocab *v, const char *text, bool parse_special, struct frag_buf *frags)
{
	struct frag_buf next = { 0 };
	int rc = 0;
	for (size_t u = 0; u < v->n_user; u++) {
		int32_t id = v->user_ids[u];
		if (v->types[id] != ENG_TOKEN_USER_DEFINED && !parse_special && !v->specials_always)
			continue;
		const char *piece = v->blob + v->piece_off[id];
		size_t plen = v->piece_len[id];
		next.n = 0;
		for (size_t f = 0; f < frags->n; f++) {
			struct frag fr = frags->v[f];
			if (fr.token >= 0) {
				if ((rc = frag_push(&next, fr.token, 0, 0)))
					goto out;
				continue;
			}
			size_t base = fr.off, blen = fr.len;
			while (blen > 0) {
				const char *m = memmem(text + base, blen, piece, plen);
				if (!m) {
					if ((rc = frag_push(&next, -1, base, blen)))
						goto out;
					break;
				}
				size_t match = (size_t)(m - text);
				size_t left_len = match - base;
				if (v->attrs[id] & ATTR_LSTRIP)
					while (left_len > 0 && isspace((unsigned char)text[base + left_len - 1]))
						left_len--;
				if (left_len > 0 && (rc = frag_push(&next, -1, base, left_len)))
					goto out;
				if ((rc = frag_push(&next, id, 0, 0)))
					goto out;
				size_t right_off = match + plen, right_len = base + blen - right_off;
				if (v->attrs[id] & ATTR_RSTRIP)
					while (right_len > 0 && isspace((unsigned char)text[right_off])) {
						right_off++;
						right_len--;
					}
				base = right_off;
				blen = right_len;
			}
		}
		struct frag_buf tmp = *frags;
		*frags = next;
		next = tmp;
	}
out:
	free(next.v);
	return rc;
}

/* SentencePiece symbol: a run of the escaped text, linked to its neighbours. */
struct spm_sym {
	int32_t prev, next;
	uint32_t off, n; /* n == 0: merged into its left neighbour */
};

struct spm_bigram {
	int32_t left, right;
	float score;
	uint32_t size;
};

/* a goes before b: higher score, then leftmost (llama.cpp's llm_bigram_spm::comparator) */
static bool bigram_before(const struct spm_bigram *a, const struct spm_bigram *b)
{
	return a->score > b->score || (a->score == b->score && a->left < b->left);
}

ENG_HEAP_DEFINE(spm_heap, struct spm_bigram, bigram_before)

static int spm_try_bigram(const struct eng_vocab *v, const char *s, const struct spm_sym *syms,
			  struct spm_heap *heap, int32_t left, int32_t right)
{
	if (left < 0 || right < 0)
		return 0;
	uint32_t size = syms[left].n + syms[right].n;
	int32_t id = eng_vocab_find(v, s + syms[left].off, size);
	if (id < 0)
		return 0;
	return spm_heap_push(heap, (struct spm_bigram){ left, right, v->scores[id], size });
}

/* Encode n bytes of escaped text s (spaces already ▁) and append the ids. */
static int spm_encode(const struct eng_vocab *v, const char *s, size_t n, struct ids_buf *out,
		      struct mrl_err *err)
{
	struct spm_sym *syms = NULL;
	struct spm_heap heap = { 0 };
	int rc = 0;
	if (n == 0)
		return 0;
	syms = malloc(n * sizeof *syms);
	if (!syms)
		goto nomem;
	int32_t n_syms = 0;
	for (size_t off = 0; off < n;) {
		uint32_t len = (uint32_t)mrl_utf8_lead_len((unsigned char)s[off]);
		if (len > n - off)
			len = (uint32_t)(n - off);
		syms[n_syms] = (struct spm_sym){ n_syms - 1, off + len == n ? -1 : n_syms + 1, (uint32_t)off, len };
		n_syms++;
		off += len;
	}
	for (int32_t i = 1; i < n_syms; i++)
		if ((rc = spm_try_bigram(v, s, syms, &heap, i - 1, i)))
			goto nomem;
	while (heap.n) {
		struct spm_bigram b = spm_heap_pop(&heap);
		struct spm_sym *l = &syms[b.left], *r = &syms[b.right];
		if (l->n == 0 || r->n == 0 || l->n + r->n != b.size)
			continue; /* stale: a side has been merged since */
		l->n += r->n;
		r->n = 0;
		l->next = r->next;
		if (r->next >= 0)
			syms[r->next].prev = b.left;
		if ((rc = spm_try_bigram(v, s, syms, &heap, l->prev, b.left)) ||
		    (rc = spm_try_bigram(v, s, syms, &heap, b.left, l->next)))
			goto nomem;
	}
	for (int32_t i = 0; i != -1; i = syms[i].next) {
		int32_t id = eng_vocab_find(v, s + syms[i].off, syms[i].n);
		if (id >= 0) {
			if (ids_push(out, id))
				goto nomem;
			continue;
		}
		for (uint32_t j = 0; j < syms[i].n; j++) {
			unsigned char c = (unsigned char)s[syms[i].off + j];
			int32_t bid = v->byte_to_id[c] >= 0 ? v->byte_to_id[c] : v->unk;
			if (bid < 0) {
				rc = mrl_err_set(err, MRL_EINPUT,
						 "vocabulary has no token for byte 0x%02X (no <0x%02X> piece and no unknown token)", c, c);
				goto out;
			}
			if (ids_push(out, bid))
				goto nomem;
		}
	}
	goto out;
nomem:
	rc = mrl_err_set(err, MRL_ENOMEM, "out of memory tokenizing %zu bytes", n);
out:
	free(syms);
	free(heap.v);
	return rc;
}

/* Escape a text fragment for SentencePiece: optional leading ▁, every ' ' -> ▁. */
static int spm_escape(const char *text, size_t len, bool prefix, struct mrl_buf *buf)
{
	mrl_buf_reset(buf);
	int rc = 0;
	if (prefix)
		rc = mrl_buf_addn(buf, SPACE_ESC, SPACE_ESC_LEN);
	size_t start = 0;
	for (size_t i = 0; i < len && !rc; i++) {
		if (text[i] != ' ')
			continue;
		rc = mrl_buf_addn(buf, text + start, i - start);
		if (!rc)
			rc = mrl_buf_addn(buf, SPACE_ESC, SPACE_ESC_LEN);
		start = i + 1;
	}
	if (!rc)
		rc = mrl_buf_addn(buf, text + start, len - start);
	return rc;
}

/* Whether text fragment fr gets SentencePiece's leading ▁ (enum spm_prepend);
 * after_token: it follows a cut-out token or starts the text. transformers' Metaspace
 * adds none to a fragment that already starts with a space (or a ▁). */
static bool spm_prefix(const struct eng_vocab *v, const char *text, const struct frag *fr, bool after_token)
{
	if (!v->add_space_prefix)
		return false;
	const char *p = text + fr->off;
	const bool starts_space = *p == ' ' || (fr->len >= SPACE_ESC_LEN && !memcmp(p, SPACE_ESC, SPACE_ESC_LEN));
	switch ((enum spm_prepend)v->spm_prepend) {
	case SPM_PREPEND_FIRST:
		return fr->off == 0 && !starts_space;
	case SPM_PREPEND_ALWAYS:
		return !starts_space;
	case SPM_PREPEND_LLAMACPP:
		break;
	}
	return after_token;
}

int eng_vocab_tokenize(const struct eng_vocab *v, const char *text, size_t len, bool add_bos,
		       int32_t **ids_out, size_t *n_out, struct mrl_err *err)
{
	return eng_vocab_encode(v, text, len, add_bos ? ENG_TOK_ADD_BOS : 0, ids_out, n_out, err);
}

int eng_vocab_encode(const struct eng_vocab *v, const char *text, size_t len, unsigned flags,
		     int32_t **ids_out, size_t *n_out, struct mrl_err *err)
{
	struct ids_buf ids = { 0 };
	struct frag_buf frags = { 0 };
	struct mrl_buf esc = MRL_BUF_INIT;
	int rc = 0;

	*ids_out = NULL;
	*n_out = 0;
	/* symbol indices and offsets are 32-bit; the escaped text may triple in size */
	if (len > (size_t)INT32_MAX / 3 - 3) {
		rc = mrl_err_set(err, MRL_EINPUT, "text of %zu bytes is too long to tokenize at once (at most %d)",
				 len, INT32_MAX / 3 - 3);
		goto out;
	}
	if (v->type != ENG_VOCAB_SPM && v->type != ENG_VOCAB_BPE) {
		rc = mrl_err_set(err, MRL_EUNSUPPORTED, "tokenizer '%s' is not implemented", v->model_name);
		goto out;
	}
	if (flags & ENG_TOK_ADD_BOS) {
		if (v->bos < 0) {
			rc = mrl_err_set(err, MRL_EINPUT, "a BOS token was asked for but the vocabulary has none");
			goto out;
		}
		if (ids_push(&ids, v->bos))
			goto nomem;
	}
	if (len > 0 && frag_push(&frags, -1, 0, len))
		goto nomem;
	if ((rc = partition(v, text, (flags & ENG_TOK_PARSE_SPECIAL) != 0, &frags)))
		goto nomem;
	bool prev_special = true; /* the start counts as after a special token */
	for (size_t f = 0; f < frags.n; f++) {
		const struct frag *fr = &frags.v[f];
		if (fr->token >= 0) {
			if (ids_push(&ids, fr->token))
				goto nomem;
			prev_special = true;
			continue;
		}
		if (v->type == ENG_VOCAB_BPE) {
			if ((rc = bpe_encode_fragment(v, text + fr->off, fr->len, f == 0, &ids, err)))
				goto out;
			prev_special = false;
			continue;
		}
		if (spm_escape(text + fr->off, fr->len, spm_prefix(v, text, fr, prev_special), &esc))
			goto nomem;
		if ((rc = spm_encode(v, esc.data, esc.len, &ids, err)))
			goto out;
		prev_special = false;
	}
	if (flags & ENG_TOK_ADD_EOS) {
		if (v->eos < 0) {
			rc = mrl_err_set(err, MRL_EINPUT, "an EOS token was asked for but the vocabulary has none");
			goto out;
		}
		if (ids_push(&ids, v->eos))
			goto nomem;
	}
	*ids_out = ids.v;
	*n_out = ids.n;
	ids.v = NULL;
	goto out;
nomem:
	rc = mrl_err_set(err, MRL_ENOMEM, "out of memory tokenizing %zu bytes", len);
out:
	free(ids.v);
	free(frags.v);
	mrl_buf_release(&esc);
	return rc;
}

/* ---- decoding ---- */

int eng_vocab_detokenize(const struct eng_vocab *v, const int32_t *ids, size_t n,
			 char **text_out, size_t *len_out, struct mrl_err *err)
{
	struct mrl_buf buf = MRL_BUF_INIT;
	bool strip_space = v->type == ENG_VOCAB_SPM ? v->add_space_prefix : v->dec_strip_space;
	int rc = 0;

	*text_out = NULL;
	if (len_out)
		*len_out = 0;
	for (size_t i = 0; i < n; i++) {
		int32_t id = ids[i];
		if (!vocab_id_ok(v, id)) {
			rc = mrl_err_set(err, MRL_EINPUT, "token id %d at position %zu is out of range (vocabulary has %u tokens)",
					 id, i, v->n_tokens);
			goto out;
		}
		const char *p = v->blob + v->piece_off[id];
		size_t plen = v->piece_len[id];
		size_t start = buf.len;
		switch ((enum eng_token_type)v->types[id]) {
		case ENG_TOKEN_NORMAL:
			if (v->byte_level) {
				if (bpe_decode_piece(p, plen, &buf))
					goto nomem;
				break;
			}
			/* ▁ -> ' ' */
			for (size_t j = 0; j < plen;) {
				if (plen - j >= SPACE_ESC_LEN && memcmp(p + j, SPACE_ESC, SPACE_ESC_LEN) == 0) {
					if (mrl_buf_addn(&buf, " ", 1))
						goto nomem;
					j += SPACE_ESC_LEN;
					continue;
				}
				size_t k = j;
				while (k < plen && !(plen - k >= SPACE_ESC_LEN && memcmp(p + k, SPACE_ESC, SPACE_ESC_LEN) == 0))
					k++;
				if (mrl_buf_addn(&buf, p + j, k - j))
					goto nomem;
				j = k;
			}
			break;
		case ENG_TOKEN_BYTE: {
			char byte = (char)byte_of_piece(p, plen);
			if (mrl_buf_addn(&buf, &byte, 1))
				goto nomem;
			break;
		}
		case ENG_TOKEN_USER_DEFINED:
			if (mrl_buf_addn(&buf, p, plen))
				goto nomem;
			break;
		case ENG_TOKEN_CONTROL:
		case ENG_TOKEN_UNKNOWN:
			continue; /* rendered as nothing; does not end the leading-space window */
		case ENG_TOKEN_UNDEFINED:
		case ENG_TOKEN_UNUSED:
			break;
		}
		if (strip_space && buf.len > start && buf.data[start] == ' ') {
			memmove(buf.data + start, buf.data + start + 1, buf.len - start - 1);
			buf.data[--buf.len] = '\0';
		}
		strip_space = false;
	}
	if (!(*text_out = mrl_buf_detach(&buf, len_out)))
		goto nomem;
	goto out;
nomem:
	rc = mrl_err_set(err, MRL_ENOMEM, "out of memory detokenizing %zu tokens", n);
out:
	mrl_buf_release(&buf);
	return rc;
}

/* ---- building from other formats (tokjson.c) ---- */

int vocab_index(struct eng_vocab *v, const char *path, struct mrl_err *err)
{
	uint32_t n = v->n_tokens;
	size_t slots = 16;
	while (slots < (size_t)n * 2)
		slots *= 2;
	v->table = malloc(slots * sizeof *v->table);
	if (!v->table)
		return mrl_err_set(err, MRL_ENOMEM, "%s: out of memory for a vocabulary of %u tokens", path, n);
	v->table_mask = slots - 1;
	memset(v->table, 0xff, slots * sizeof *v->table);
	for (uint32_t i = 0; i < n; i++)
		if (v->piece_len[i])
			table_insert(v, (int32_t)i);
	for (int b = 0; b < 256; b++) {
		char hex[8];
		snprintf(hex, sizeof hex, "<0x%02X>", b);
		v->byte_to_id[b] = eng_vocab_find(v, hex, 6);
	}
	return index_user_tokens(v, path, err);
}

void vocab_warn(struct eng_vocab *v, const char *msg)
{
	add_warning(v, "%s", msg);
}
