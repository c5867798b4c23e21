/* vocab_spm.c — a vocabulary from a SentencePiece tokenizer.model: the file an HF folder
 * holds instead of tokenizer.json when its tokenizer was saved "slow" (Llama 2, Mistral,
 * Gemma and Phi-3 fine-tunes).
 *
 * The file is a protobuf ModelProto (sentencepiece_model.proto): repeated `pieces` (field
 * 1: piece 1, score 2, type 3), `trainer_spec` (2: model_type 3, byte_fallback 35, unk_id
 * 40, bos_id 41, eos_id 42, pad_id 43, treat_whitespace_as_suffix 24) and `normalizer_spec`
 * (3: name 1, precompiled_charsmap 2, add_dummy_prefix 3, remove_extra_whitespaces 4,
 * escape_whitespaces 5). The small reader below walks it; every varint and length is
 * checked against the end of the message that holds it, and so against the file's size
 * (the file is untrusted input): a bad one is MRL_EINPUT naming the file and the byte.
 * Unknown fields are skipped, as protobuf does.
 *
 * The pieces become the vocabulary a GGUF "llama" vocabulary is (ENG_VOCAB_SPM: pieces,
 * scores and types as llama.cpp's convert_hf_to_gguf.py writes them, encoded by vocab.c's
 * SentencePiece BPE). The folder's other files decide what transformers 5 decides when it
 * converts the same folder, so that the ids are the ones the checkpoint was trained and is
 * evaluated with in transformers: added tokens (added_tokens.json, tokenizer_config.json's
 * added_tokens_decoder, special tokens it names that the model lacks), BOS / EOS / UNK /
 * PAD and add_bos / add_eos, where the leading ▁ goes (enum spm_prepend), control tokens
 * written in the text matching, and the end-of-generation ids (vocab_hf.c's readers,
 * shared with tokenizer.json).
 * What merilo does not implement (Unigram, WORD and CHAR models, a normalization rule,
 * no byte fallback) is MRL_EUNSUPPORTED naming it.
 */
#include <jansson.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/fileio.h"
#include "engine/vocab_int.h"

#define SPM_MAX_BYTES ((size_t)1 << 30)
#define SPM_MAX_TOKENS 8000000u
#define SPM_BAD " (not a SentencePiece model, or a damaged one)"

/* ---- the protobuf reader ---- */

struct pb {
	const uint8_t *buf;
	size_t size; /* the file's */
	const char *path;
	struct mrl_err *err;
};

enum { PB_VARINT = 0, PB_I64 = 1, PB_LEN = 2, PB_I32 = 5 };

/* One field: its number and wire type, the byte it starts at, and its value (varint,
 * fixed) or its bytes [off, off + len) (length-delimited). */
struct pb_field {
	uint32_t num;
	uint8_t wire;
	size_t at;
	uint64_t u;
	size_t off, len;
};

static int pb_varint(const struct pb *r, size_t *pos, size_t end, uint64_t *out)
{
	const size_t at = *pos;
	uint64_t v = 0;
	for (unsigned i = 0; i < 10; i++) {
		if (*pos >= end)
			return mrl_err_set(r->err, MRL_EINPUT, "%s: varint at byte %zu runs past the end of its message (byte %zu)"
					   SPM_BAD, r->path, at, end);
		const uint8_t b = r->buf[(*pos)++];
		if (i == 9 && b > 1)
			break;
		v |= (uint64_t)(b & 0x7f) << (7 * i);
		if (!(b & 0x80)) {
			*out = v;
			return 0;
		}
	}
	return mrl_err_set(r->err, MRL_EINPUT, "%s: varint at byte %zu is longer than 64 bits" SPM_BAD, r->path, at);
}

/* The field at *pos (before end), *pos moved past it. */
static int pb_next(const struct pb *r, size_t *pos, size_t end, struct pb_field *f)
{
	uint64_t key;
	int rc;
	*f = (struct pb_field){ .at = *pos };
	if ((rc = pb_varint(r, pos, end, &key)))
		return rc;
	if (key >> 3 == 0 || key >> 3 > 0x1fffffff)
		return mrl_err_set(r->err, MRL_EINPUT, "%s: field number %llu at byte %zu" SPM_BAD, r->path,
				   (unsigned long long)(key >> 3), f->at);
	f->num = (uint32_t)(key >> 3);
	f->wire = (uint8_t)(key & 7);
	size_t width = 0;
	switch (f->wire) {
	case PB_VARINT:
		return pb_varint(r, pos, end, &f->u);
	case PB_I64:
		width = 8;
		break;
	case PB_I32:
		width = 4;
		break;
	case PB_LEN:
		if ((rc = pb_varint(r, pos, end, &f->u)))
			return rc;
		if (f->u > end - *pos)
			return mrl_err_set(r->err, MRL_EINPUT, "%s: field %u at byte %zu is %llu bytes long, past the end of its "
					   "message (byte %zu)" SPM_BAD, r->path, f->num, f->at, (unsigned long long)f->u, end);
		f->off = *pos;
		f->len = (size_t)f->u;
		*pos += f->len;
		return 0;
	default:
		return mrl_err_set(r->err, MRL_EINPUT, "%s: field %u at byte %zu has wire type %u, which a ModelProto does not use"
				   SPM_BAD, r->path, f->num, f->at, f->wire);
	}
	if (end - *pos < width)
		return mrl_err_set(r->err, MRL_EINPUT, "%s: field %u at byte %zu runs past the end of its message (byte %zu)"
				   SPM_BAD, r->path, f->num, f->at, end);
	f->u = 0;
	for (size_t i = 0; i < width; i++)
		f->u |= (uint64_t)r->buf[*pos + i] << (8 * i);
	*pos += width;
	return 0;
}

/* Field f of a known number has the wire type its declaration gives. */
static int pb_want(const struct pb *r, const struct pb_field *f, uint8_t wire)
{
	if (f->wire == wire)
		return 0;
	return mrl_err_set(r->err, MRL_EINPUT, "%s: field %u at byte %zu has wire type %u, expected %u" SPM_BAD, r->path,
			   f->num, f->at, f->wire, wire);
}

/* An int32 field (negative values are 10-byte varints). */
static int pb_int32(const struct pb *r, const struct pb_field *f, int32_t *out)
{
	int rc = pb_want(r, f, PB_VARINT);
	const int64_t x = (int64_t)f->u;
	if (!rc && (x < INT32_MIN || x > INT32_MAX))
		rc = mrl_err_set(r->err, MRL_EINPUT, "%s: field %u at byte %zu: %lld is not an int32" SPM_BAD, r->path, f->num,
				 f->at, (long long)x);
	if (!rc)
		*out = (int32_t)x;
	return rc;
}

/* ---- ModelProto ---- */

struct spm_piece {
	size_t at;       /* where its message starts in the file */
	size_t off, len; /* the piece's bytes in the file */
	float score;
	uint8_t type;    /* sentencepiece's: NORMAL 1 .. BYTE 6, the GGUF token types */
};

/* What the trainer and normalizer specs say that matters here, with the .proto's defaults. */
struct spm_spec {
	uint64_t model_type; /* UNIGRAM 1, BPE 2, WORD 3, CHAR 4 */
	bool byte_fallback, ws_suffix;
	int32_t unk_id, bos_id, eos_id, pad_id;
	size_t name_off, name_len, charsmap_len;
	bool dummy_prefix, remove_ws, escape_ws;
};

static int parse_piece(const struct pb *r, size_t pos, size_t end, size_t index, struct spm_piece *p)
{
	const size_t at = pos;
	*p = (struct spm_piece){ .at = at, .type = ENG_TOKEN_NORMAL };
	while (pos < end) {
		struct pb_field f;
		int rc = pb_next(r, &pos, end, &f);
		if (rc)
			return rc;
		if (f.num == 1 && !(rc = pb_want(r, &f, PB_LEN))) {
			p->off = f.off;
			p->len = f.len;
		} else if (f.num == 2 && !(rc = pb_want(r, &f, PB_I32))) {
			uint32_t bits = (uint32_t)f.u;
			memcpy(&p->score, &bits, sizeof p->score);
		} else if (f.num == 3 && !(rc = pb_want(r, &f, PB_VARINT))) {
			if (f.u < ENG_TOKEN_NORMAL || f.u > ENG_TOKEN_BYTE)
				return mrl_err_set(r->err, MRL_EINPUT, "%s: piece %zu (byte %zu) has type %llu, not one of 1..6" SPM_BAD,
						   r->path, index, f.at, (unsigned long long)f.u);
			p->type = (uint8_t)f.u;
		}
		if (rc)
			return rc;
	}
	if (!p->len)
		return mrl_err_set(r->err, MRL_EINPUT, "%s: piece %zu (byte %zu) is empty" SPM_BAD, r->path, index, at);
	if (p->len >= UINT32_MAX)
		return mrl_err_set(r->err, MRL_EINPUT, "%s: piece %zu (byte %zu) is too long" SPM_BAD, r->path, index, at);
	return 0;
}

static int parse_trainer(const struct pb *r, size_t pos, size_t end, struct spm_spec *s)
{
	while (pos < end) {
		struct pb_field f;
		int rc = pb_next(r, &pos, end, &f);
		if (rc)
			return rc;
		switch (f.num) {
		case 3:
			rc = pb_want(r, &f, PB_VARINT);
			s->model_type = f.u;
			break;
		case 24:
			rc = pb_want(r, &f, PB_VARINT);
			s->ws_suffix = f.u != 0;
			break;
		case 35:
			rc = pb_want(r, &f, PB_VARINT);
			s->byte_fallback = f.u != 0;
			break;
		case 40:
			rc = pb_int32(r, &f, &s->unk_id);
			break;
		case 41:
			rc = pb_int32(r, &f, &s->bos_id);
			break;
		case 42:
			rc = pb_int32(r, &f, &s->eos_id);
			break;
		case 43:
			rc = pb_int32(r, &f, &s->pad_id);
			break;
		default:
			break;
		}
		if (rc)
			return rc;
	}
	return 0;
}

static int parse_normalizer(const struct pb *r, size_t pos, size_t end, struct spm_spec *s)
{
	while (pos < end) {
		struct pb_field f;
		int rc = pb_next(r, &pos, end, &f);
		if (rc)
			return rc;
		if (f.num == 1 && !(rc = pb_want(r, &f, PB_LEN))) {
			s->name_off = f.off;
			s->name_len = f.len;
		} else if (f.num == 2 && !(rc = pb_want(r, &f, PB_LEN))) {
			s->charsmap_len = f.len;
		} else if (f.num >= 3 && f.num <= 5 && !(rc = pb_want(r, &f, PB_VARINT))) {
			bool *flag = f.num == 3 ? &s->dummy_prefix : f.num == 4 ? &s->remove_ws : &s->escape_ws;
			*flag = f.u != 0;
		}
		if (rc)
			return rc;
	}
	return 0;
}

/* The whole ModelProto: the specs (merged where a field repeats, as protobuf merges
 * messages), then the pieces, into *out (malloc'd, *n_out of them). */
static int parse_model(const struct pb *r, struct spm_spec *s, struct spm_piece **out, size_t *n_out)
{
	*s = (struct spm_spec){ .model_type = 1, .unk_id = 0, .bos_id = 1, .eos_id = 2, .pad_id = -1,
				.dummy_prefix = true, .remove_ws = true, .escape_ws = true };
	size_t pos = 0, n = 0;
	int rc = 0;
	while (!rc && pos < r->size) {
		struct pb_field f;
		if ((rc = pb_next(r, &pos, r->size, &f)))
			break;
		if (f.num == 1 && !(rc = pb_want(r, &f, PB_LEN)))
			n++;
		else if (f.num == 2 && !(rc = pb_want(r, &f, PB_LEN)))
			rc = parse_trainer(r, f.off, f.off + f.len, s);
		else if (f.num == 3 && !(rc = pb_want(r, &f, PB_LEN)))
			rc = parse_normalizer(r, f.off, f.off + f.len, s);
	}
	if (rc)
		return rc;
	if (n == 0)
		return mrl_err_set(r->err, MRL_EINPUT, "%s: no pieces" SPM_BAD, r->path);
	if (n >= SPM_MAX_TOKENS)
		return mrl_err_set(r->err, MRL_EINPUT, "%s: %zu pieces (at most %u)", r->path, n, SPM_MAX_TOKENS - 1);
	struct spm_piece *p = malloc(n * sizeof *p);
	if (!p)
		return mrl_err_set(r->err, MRL_ENOMEM, "%s: out of memory for %zu pieces", r->path, n);
	size_t k = 0;
	for (pos = 0; !rc && pos < r->size;) {
		struct pb_field f;
		if (!(rc = pb_next(r, &pos, r->size, &f)) && f.num == 1) { /* the first pass checked the wire types */
			rc = parse_piece(r, f.off, f.off + f.len, k, &p[k]);
			k++;
		}
	}
	if (rc) {
		free(p);
		return rc;
	}
	*out = p;
	*n_out = n;
	return 0;
}

/* What merilo does not implement is named, with what to do. */
static int check_spec(const struct pb *r, const struct spm_spec *s)
{
	static const char *const types[] = { "?", "UNIGRAM", "BPE", "WORD", "CHAR" };
	char name[64]; /* the normalizer's name from the file, control bytes as '?', for a one-line message */
	size_t n_name = s->name_len < sizeof name - 1 ? s->name_len : sizeof name - 1;
	for (size_t i = 0; i < n_name; i++) {
		const unsigned char c = r->buf[s->name_off + i];
		name[i] = c < 0x20 || c == 0x7f ? '?' : (char)c;
	}
	name[n_name] = '\0';
	if (s->model_type != 2)
		return mrl_err_set(r->err, MRL_EUNSUPPORTED, "%s: SentencePiece model_type %s is not supported (merilo reads "
				   "BPE models: Llama 2, Mistral, Gemma, Phi-3); convert the checkpoint to a GGUF of a supported "
				   "tokenizer or use another model", r->path, s->model_type < 5 ? types[s->model_type] : "(unknown)");
	if (s->charsmap_len)
		return mrl_err_set(r->err, MRL_EUNSUPPORTED, "%s: the normalizer '%s' (a precompiled_charsmap of %zu bytes) "
				   "is not supported: merilo reads SentencePiece models with the identity normalization",
				   r->path, name, s->charsmap_len);
	if (!s->escape_ws || s->ws_suffix)
		return mrl_err_set(r->err, MRL_EUNSUPPORTED, "%s: %s is not supported: merilo reads SentencePiece models "
				   "that write spaces as a leading ▁", r->path,
				   s->ws_suffix ? "treat_whitespace_as_suffix" : "escape_whitespaces = false");
	if (!s->byte_fallback)
		return mrl_err_set(r->err, MRL_EUNSUPPORTED, "%s: a SentencePiece BPE model without byte_fallback is not "
				   "supported (transformers fuses unknown characters into one <unk>, llama.cpp does not)", r->path);
	return 0;
}

/* ---- the folder's other files ---- */

/* A token that the folder's JSON files add or name. */
struct spm_added {
	const char *text;
	size_t len;
	int64_t id;
	uint8_t type, attrs;
};

struct spm_files {
	json_t *cfg, *added, *map; /* tokenizer_config.json, added_tokens.json, special_tokens_map.json */
	json_t *model_cfg;         /* config.json, for its model_type; NULL where absent or unreadable */
	struct spm_added *tok;
	size_t n_tok;
	int64_t next_id; /* where a named special token that the model lacks goes */
};

/* The special-token attributes transformers knows, in its order (SPECIAL_TOKENS_ATTRIBUTES). */
static const char *const special_keys[] = { "bos_token", "eos_token", "unk_token", "sep_token", "pad_token",
					    "cls_token", "mask_token" };

/* tokenizer_config.json's value of key, else special_tokens_map.json's. */
static const json_t *special_value(const struct spm_files *fl, const char *key)
{
	const json_t *x = json_object_get(fl->cfg, key);
	return x ? x : json_object_get(fl->map, key);
}

static int added_push(struct spm_files *fl, const char *text, size_t len, int64_t id, uint8_t type, uint8_t attrs)
{
	struct spm_added *p = realloc(fl->tok, (fl->n_tok + 1) * sizeof *p);
	if (!p)
		return -1;
	fl->tok = p;
	fl->tok[fl->n_tok++] = (struct spm_added){ text, len, id, type, attrs };
	if (id >= fl->next_id)
		fl->next_id = id + 1;
	return 0;
}

/* Whether text names one of the special tokens (then an added_tokens.json entry is control). */
static bool is_special_name(const struct spm_files *fl, const char *text)
{
	for (size_t k = 0; k < sizeof special_keys / sizeof special_keys[0]; k++) {
		const char *name = vocab_hf_token_name(special_value(fl, special_keys[k]));
		if (name && !strcmp(name, text))
			return true;
	}
	size_t i;
	const json_t *x;
	json_array_foreach(special_value(fl, "additional_special_tokens"), i, x) {
		const char *name = vocab_hf_token_name(x);
		if (name && !strcmp(name, text))
			return true;
	}
	return false;
}

/* tokenizer_config.json, added_tokens.json and special_tokens_map.json beside the model
 * (dir: its first dir_len bytes), where present. */
static int read_files(struct spm_files *fl, const char *dir, int dir_len, struct mrl_err *err)
{
	static const char *const names[3] = { "tokenizer_config.json", "added_tokens.json", "special_tokens_map.json" };
	json_t **dst[3] = { &fl->cfg, &fl->added, &fl->map };
	for (int i = 0; i < 3; i++) {
		char *p = NULL;
		if (asprintf(&p, "%.*s%s", dir_len, dir, names[i]) < 0)
			return mrl_err_set(err, MRL_ENOMEM, "out of memory");
		/* the config's numbers are never used as such; transformers writes model_max_length as 1e30 */
		int rc = vocab_hf_read_json(p, dst[i], true, JSON_DECODE_INT_AS_REAL, err);
		free(p);
		if (rc)
			return rc;
	}
	/* config.json only for its model_type, which picks transformers' tokenizer class where
	 * tokenizer_config.json names none; one that does not read is ignored, as for its ids */
	char *p = NULL;
	struct mrl_err ignored = { 0 };
	if (asprintf(&p, "%.*sconfig.json", dir_len, dir) < 0)
		return mrl_err_set(err, MRL_ENOMEM, "out of memory");
	if (vocab_hf_read_json(p, &fl->model_cfg, true, JSON_DECODE_INT_AS_REAL, &ignored))
		fl->model_cfg = NULL;
	free(p);
	return 0;
}

/* added_tokens.json ({"text": id}), then tokenizer_config.json's added_tokens_decoder
 * ({"id": {"content", "special", "lstrip", "rstrip"}}): the later one wins for an id. */
static int read_added(struct spm_files *fl, const char *dir, int dir_len, struct mrl_err *err)
{
	const char *key;
	json_t *val;
	json_object_foreach(fl->added, key, val) {
		const double id = json_is_number(val) ? json_number_value(val) : -1;
		if (id < 0 || id >= SPM_MAX_TOKENS || id != (double)(int64_t)id)
			return mrl_err_set(err, MRL_EINPUT, "%.*sadded_tokens.json: the id of '%.60s' is not an integer in 0..%u",
					   dir_len, dir, key, SPM_MAX_TOKENS - 1);
		uint8_t type = is_special_name(fl, key) ? ENG_TOKEN_CONTROL : ENG_TOKEN_USER_DEFINED;
		if (added_push(fl, key, strlen(key), (int64_t)id, type, 0))
			return mrl_err_set(err, MRL_ENOMEM, "out of memory");
	}
	json_object_foreach(json_object_get(fl->cfg, "added_tokens_decoder"), key, val) {
		char *end;
		const long id = strtol(key, &end, 10);
		const json_t *c = json_object_get(val, "content");
		if (end == key || *end || id < 0 || id >= (long)SPM_MAX_TOKENS || !json_is_string(c))
			return mrl_err_set(err, MRL_EINPUT, "%.*stokenizer_config.json: added_tokens_decoder '%.20s' needs a key "
					   "in 0..%u and a content string", dir_len, dir, key, SPM_MAX_TOKENS - 1);
		const uint8_t attrs = (uint8_t)((json_is_true(json_object_get(val, "lstrip")) ? ATTR_LSTRIP : 0) |
						(json_is_true(json_object_get(val, "rstrip")) ? ATTR_RSTRIP : 0));
		const uint8_t type = json_is_true(json_object_get(val, "special")) ? ENG_TOKEN_CONTROL : ENG_TOKEN_USER_DEFINED;
		if (added_push(fl, json_string_value(c), json_string_length(c), id, type, attrs))
			return mrl_err_set(err, MRL_ENOMEM, "out of memory");
	}
	return 0;
}

static bool has_piece(const struct pb *r, const struct spm_piece *pc, size_t n, const struct spm_files *fl,
		      const char *name)
{
	const size_t len = strlen(name);
	for (size_t i = 0; i < n; i++)
		if (pc[i].len == len && !memcmp(r->buf + pc[i].off, name, len))
			return true;
	for (size_t i = 0; i < fl->n_tok; i++)
		if (fl->tok[i].len == len && !memcmp(fl->tok[i].text, name, len))
			return true;
	return false;
}

/* Each special token the files name that neither the model nor the added tokens hold
 * gets the next id, as transformers adds it (Phi-3's <|endoftext|> after the 32,000
 * pieces of Llama 2's model). */
static int add_missing_specials(struct spm_files *fl, const struct pb *r, const struct spm_piece *pc, size_t n)
{
	const size_t n_keys = sizeof special_keys / sizeof special_keys[0];
	const json_t *extra = special_value(fl, "additional_special_tokens");
	const size_t n_extra = json_is_array(extra) ? json_array_size(extra) : 0;
	for (size_t k = 0; k < n_keys + n_extra; k++) {
		const char *name = vocab_hf_token_name(k < n_keys ? special_value(fl, special_keys[k])
							    : json_array_get(extra, k - n_keys));
		if (!name || !*name || has_piece(r, pc, n, fl, name))
			continue;
		if (fl->next_id >= SPM_MAX_TOKENS)
			return mrl_err_set(r->err, MRL_EINPUT, "%s: no id left for the special token '%.60s' (at most %u tokens)",
					   r->path, name, SPM_MAX_TOKENS);
		if (added_push(fl, name, strlen(name), fl->next_id, ENG_TOKEN_CONTROL, 0))
			return mrl_err_set(r->err, MRL_ENOMEM, "%s: out of memory", r->path);
	}
	return 0;
}

static bool is_byte_piece(const char *p, size_t len)
{
	return len == 6 && !memcmp(p, "<0x", 3) && p[5] == '>' && strchr("0123456789ABCDEFabcdef", p[3]) && p[3] &&
	       strchr("0123456789ABCDEFabcdef", p[4]) && p[4];
}

/* The pieces (the model's, then the added tokens over them and after them; an id that
 * nothing names is an unused empty piece) into v's arrays and blob. */
static int build_pieces(struct eng_vocab *v, const struct pb *r, const struct spm_piece *pc, size_t n,
			const struct spm_files *fl)
{
	uint64_t total = n;
	for (size_t i = 0; i < fl->n_tok; i++)
		if ((uint64_t)fl->tok[i].id + 1 > total)
			total = (uint64_t)fl->tok[i].id + 1;
	const uint32_t nt = (uint32_t)total; /* < SPM_MAX_TOKENS */
	const char **text = calloc(nt, sizeof *text);
	v->n_tokens = nt;
	v->piece_off = calloc(nt, sizeof *v->piece_off);
	v->piece_len = calloc(nt, sizeof *v->piece_len);
	v->scores = calloc(nt, sizeof *v->scores);
	v->types = malloc(nt);
	v->attrs = calloc(nt, 1);
	int rc = 0;
	if (!text || !v->piece_off || !v->piece_len || !v->scores || !v->types || !v->attrs) {
		rc = mrl_err_set(r->err, MRL_ENOMEM, "%s: out of memory for %u tokens", r->path, nt);
		goto out;
	}
	memset(v->types, ENG_TOKEN_UNUSED, nt);
	for (size_t i = 0; i < n; i++) {
		text[i] = (const char *)r->buf + pc[i].off;
		v->piece_len[i] = (uint32_t)pc[i].len;
		v->scores[i] = pc[i].score;
		v->types[i] = pc[i].type;
		if (pc[i].type == ENG_TOKEN_BYTE && !is_byte_piece(text[i], pc[i].len)) {
			rc = mrl_err_set(r->err, MRL_EINPUT, "%s: piece %zu (byte %zu) has type BYTE but is not <0xXX>", r->path,
					 i, pc[i].at);
			goto out;
		}
	}
	for (size_t i = 0; i < fl->n_tok; i++) {
		const struct spm_added *a = &fl->tok[i];
		text[a->id] = a->text;
		v->piece_len[a->id] = (uint32_t)a->len;
		v->types[a->id] = a->type;
		v->attrs[a->id] = a->attrs;
	}
	size_t blob_size = 0;
	for (uint32_t i = 0; i < nt; i++)
		blob_size += (size_t)v->piece_len[i] + 1; /* the file and the JSON files are each under 1 GiB */
	if (!(v->blob = malloc(blob_size))) {
		rc = mrl_err_set(r->err, MRL_ENOMEM, "%s: out of memory for %u tokens", r->path, nt);
		goto out;
	}
	size_t off = 0;
	for (uint32_t i = 0; i < nt; i++) {
		v->piece_off[i] = off;
		if (v->piece_len[i])
			memcpy(v->blob + off, text[i], v->piece_len[i]);
		off += v->piece_len[i];
		v->blob[off++] = '\0';
	}
out:
	free(text);
	return rc;
}

/* The id of special token key: the files' name for it (null: none), else the model's id. */
static int32_t special_id(const struct eng_vocab *v, const struct spm_files *fl, const char *key, int32_t model_id)
{
	const json_t *x = special_value(fl, key);
	if (json_is_null(x))
		return -1;
	const char *name = vocab_hf_token_name(x);
	const int32_t id = name ? eng_vocab_find(v, name, strlen(name)) : -1;
	if (id >= 0)
		return id;
	return vocab_id_ok(v, model_id) ? model_id : -1;
}

/* BOS / EOS / UNK / PAD, add_bos / add_eos, and where the leading ▁ goes, as
 * transformers 5's LlamaTokenizer (and GemmaTokenizer: none) sets them; the class is
 * tokenizer_config.json's tokenizer_class, else config.json's model_type's. */
static void set_specials(struct eng_vocab *v, const struct spm_files *fl, const struct spm_spec *s, const char *path)
{
	v->unk = special_id(v, fl, "unk_token", s->unk_id);
	v->bos = special_id(v, fl, "bos_token", s->bos_id);
	v->eos = special_id(v, fl, "eos_token", s->eos_id);
	v->pad = special_id(v, fl, "pad_token", s->pad_id);
	const json_t *ab = json_object_get(fl->cfg, "add_bos_token"), *ae = json_object_get(fl->cfg, "add_eos_token");
	v->add_bos = json_is_boolean(ab) ? json_is_true(ab) : true;
	v->add_eos = json_is_boolean(ae) && json_is_true(ae);
	const char *cls = json_string_value(json_object_get(fl->cfg, "tokenizer_class"));
	const char *model_type = json_string_value(json_object_get(fl->model_cfg, "model_type"));
	const json_t *aps = json_object_get(fl->cfg, "add_prefix_space");
	/* without a tokenizer_class, transformers picks the class by config.json's model_type */
	const bool gemma = cls ? !strncmp(cls, "Gemma", 5) : model_type && !strncmp(model_type, "gemma", 5);
	const bool llama = !gemma && (!cls || !strncmp(cls, "Llama", 5));
	v->add_space_prefix = !gemma && (json_is_boolean(aps) ? json_is_true(aps) : llama || s->dummy_prefix);
	v->spm_prepend = json_is_true(json_object_get(fl->cfg, "legacy")) ? SPM_PREPEND_ALWAYS : SPM_PREPEND_FIRST;
	v->specials_always = true; /* HF matches every added token in the text */
	char msg[600];
	if (!gemma && !llama) {
		snprintf(msg, sizeof msg, "%s: tokenizer_class '%.60s': read as transformers' LlamaTokenizer reads a "
			 "tokenizer.model (leading space %s)", path, cls, v->add_space_prefix ? "added" : "not added");
		vocab_warn(v, msg);
	}
	if (s->remove_ws) {
		snprintf(msg, sizeof msg, "%s: remove_extra_whitespaces is set: spaces are kept as transformers' Llama and "
			 "Gemma tokenizers and llama.cpp keep them (SentencePiece itself would collapse them)", path);
		vocab_warn(v, msg);
	}
}

int vocab_load_spm(struct eng_vocab **out, const char *path, struct mrl_err *err)
{
	char *buf = NULL;
	size_t len = 0, n = 0;
	struct spm_piece *pc = NULL;
	struct spm_files fl = { 0 };
	struct eng_vocab *v = NULL;
	struct spm_spec spec;
	*out = NULL;
	int rc = mrl_read_file(path, SPM_MAX_BYTES, &buf, &len, err);
	if (rc)
		goto out;
	const struct pb r = { (const uint8_t *)buf, len, path, err };
	const char *slash = strrchr(path, '/');
	const int dir_len = slash ? (int)(slash - path + 1) : 0;
	if ((rc = parse_model(&r, &spec, &pc, &n)) || (rc = check_spec(&r, &spec)) ||
	    (rc = read_files(&fl, path, dir_len, err)))
		goto out;
	fl.next_id = (int64_t)n;
	if ((rc = read_added(&fl, path, dir_len, err)) || (rc = add_missing_specials(&fl, &r, pc, n)))
		goto out;
	if (!(v = calloc(1, sizeof *v)) || !(v->model_name = strdup("tokenizer.model SentencePiece BPE"))) {
		rc = mrl_err_set(err, MRL_ENOMEM, "%s: out of memory", path);
		goto out;
	}
	v->type = ENG_VOCAB_SPM;
	if ((rc = build_pieces(v, &r, pc, n, &fl)) || (rc = vocab_index(v, path, err)))
		goto out;
	set_specials(v, &fl, &spec, path);
	if ((v->bos < 0 || v->eos < 0) && (rc = vocab_hf_specials_from_config(v, path, dir_len, err)))
		goto out;
	if (v->add_bos && v->bos < 0)
		v->add_bos = false;
	if (v->add_eos && v->eos < 0)
		v->add_eos = false;
	int32_t eog[VOCAB_MAX_EOG_CONFIG];
	vocab_mark_eog_json(v, eog, vocab_hf_eog_config_ids(v, path, dir_len, eog));
	*out = v;
	v = NULL;
out:
	eng_vocab_free(v);
	json_decref(fl.cfg);
	json_decref(fl.added);
	json_decref(fl.map);
	json_decref(fl.model_cfg);
	free(fl.tok);
	free(pc);
	free(buf);
	return rc;
}
