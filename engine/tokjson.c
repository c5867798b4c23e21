/* tokjson.c — a vocabulary from an HF tokenizer.json (the `tokenizers` library's
 * format), with tokenizer_config.json beside it for add_bos_token / add_eos_token.
 * A folder without tokenizer.json but with a SentencePiece tokenizer.model goes to
 * vocab_spm.c; the readers of the JSON files both use are in vocab_hf.c.
 *
 * Supported: model BPE (byte-level, as GPT-2 / Llama 3 / Qwen2 / SmolLM export, and
 * SentencePiece-style with byte_fallback, as Llama 2 / Mistral / Gemma export);
 * normalizers Sequence, NFC, NFKC, NFD, NFKD, Lowercase, Prepend, Replace (string
 * pattern); pre-tokenizers Sequence, ByteLevel (last), Split (regex or string, every
 * behaviour, invert), Metaspace, Digits, Whitespace, WhitespaceSplit, Punctuation;
 * added_tokens (special ones are matched in text as HF does, lstrip / rstrip kept);
 * post-processor TemplateProcessing / ByteLevel / null for BOS and EOS. Anything else
 * is MRL_EUNSUPPORTED naming the component and the file.
 *
 * The file is untrusted input: at most VOCAB_HF_MAX_BYTES, nesting at most
 * VOCAB_HF_MAX_DEPTH (checked on the raw bytes before parsing; vocab_hf.c), ids below
 * TOKJSON_MAX_TOKENS, regexes compiled with PCRE2 under match and depth limits.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <jansson.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/fileio.h"
#include "engine/vocab_int.h"

#define TOKJSON_MAX_TOKENS 8000000u
#define TOKJSON_MAX_REGEX 8192

#define GPT2_HF_RE "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+"

static const char *jtype(const json_t *o)
{
	const char *t = json_string_value(json_object_get(o, "type"));
	return t ? t : "(no type)";
}

static bool jbool(const json_t *o, const char *key, bool dflt)
{
	const json_t *b = json_object_get(o, key);
	return json_is_boolean(b) ? json_is_true(b) : dflt;
}

/* A regex literal for s (HF's String patterns): every non-alphanumeric ASCII byte escaped. */
static char *regex_quote(const char *s, size_t n)
{
	char *out = malloc(n * 2 + 1), *o = out;
	if (!out)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x80 && !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == ' '))
			*o++ = '\\';
		*o++ = (char)c;
	}
	*o = '\0';
	return out;
}

/* The pattern of a Split / Replace: {"Regex": "..."} or {"String": "..."}. */
static int get_pattern(const json_t *pat, const char *path, const char *what, char **out, size_t *out_len,
		       bool *is_regex, struct mrl_err *err)
{
	const json_t *r = json_object_get(pat, "Regex"), *s = json_object_get(pat, "String");
	if (json_is_string(r)) {
		*is_regex = true;
		*out_len = json_string_length(r);
		*out = strndup(json_string_value(r), *out_len);
	} else if (json_is_string(s)) {
		*is_regex = false;
		*out_len = json_string_length(s);
		*out = malloc(*out_len + 1);
		if (*out) {
			memcpy(*out, json_string_value(s), *out_len);
			(*out)[*out_len] = '\0';
		}
	} else {
		return mrl_err_set(err, MRL_EINPUT, "%s: %s: pattern is neither {\"Regex\": ...} nor {\"String\": ...}", path, what);
	}
	if (!*out)
		return mrl_err_set(err, MRL_ENOMEM, "%s: out of memory", path);
	if (*out_len > TOKJSON_MAX_REGEX) {
		free(*out);
		*out = NULL;
		return mrl_err_set(err, MRL_EINPUT, "%s: %s: pattern of %zu bytes (at most %d)", path, what, *out_len,
				   TOKJSON_MAX_REGEX);
	}
	return 0;
}

static int add_norm(struct eng_vocab *v, uint8_t kind, const char *a, size_t a_len, const char *b, size_t b_len,
		    const char *path, struct mrl_err *err)
{
	struct norm_step *p = realloc(v->norm, (v->n_norm + 1) * sizeof *p);
	if (!p)
		return mrl_err_set(err, MRL_ENOMEM, "%s: out of memory", path);
	v->norm = p;
	struct norm_step *ns = &v->norm[v->n_norm];
	*ns = (struct norm_step){ .kind = kind };
	if (a) {
		ns->a = malloc(a_len + 1);
		ns->b = malloc(b_len + 1);
		if (!ns->a || !ns->b) {
			free(ns->a);
			free(ns->b);
			return mrl_err_set(err, MRL_ENOMEM, "%s: out of memory", path);
		}
		memcpy(ns->a, a, a_len);
		ns->a[a_len] = '\0';
		if (b)
			memcpy(ns->b, b, b_len);
		ns->b[b ? b_len : 0] = '\0';
		ns->a_len = a_len;
		ns->b_len = b ? b_len : 0;
	}
	v->n_norm++;
	return 0;
}

static int load_normalizer(struct eng_vocab *v, const json_t *n, const char *path, int depth, struct mrl_err *err)
{
	if (!n || json_is_null(n))
		return 0;
	if (depth > 8)
		return mrl_err_set(err, MRL_EINPUT, "%s: normalizer Sequence nested too deep", path);
	const char *t = jtype(n);
	if (!strcmp(t, "Sequence")) {
		const json_t *list = json_object_get(n, "normalizers");
		size_t i;
		const json_t *x;
		if (!json_is_array(list))
			return mrl_err_set(err, MRL_EINPUT, "%s: normalizer Sequence without a 'normalizers' list", path);
		json_array_foreach(list, i, x) {
			int rc = load_normalizer(v, x, path, depth + 1, err);
			if (rc)
				return rc;
		}
		return 0;
	}
	if (!strcmp(t, "NFC"))
		return add_norm(v, NORM_NFC, NULL, 0, NULL, 0, path, err);
	if (!strcmp(t, "NFKC"))
		return add_norm(v, NORM_NFKC, NULL, 0, NULL, 0, path, err);
	if (!strcmp(t, "NFD"))
		return add_norm(v, NORM_NFD, NULL, 0, NULL, 0, path, err);
	if (!strcmp(t, "NFKD"))
		return add_norm(v, NORM_NFKD, NULL, 0, NULL, 0, path, err);
	if (!strcmp(t, "Lowercase"))
		return add_norm(v, NORM_LOWER, NULL, 0, NULL, 0, path, err);
	if (!strcmp(t, "Prepend")) {
		const json_t *p = json_object_get(n, "prepend");
		if (!json_is_string(p))
			return mrl_err_set(err, MRL_EINPUT, "%s: normalizer Prepend without a 'prepend' string", path);
		return add_norm(v, NORM_PREPEND, json_string_value(p), json_string_length(p), NULL, 0, path, err);
	}
	if (!strcmp(t, "Replace")) {
		char *pat = NULL;
		size_t pat_len = 0;
		bool is_regex = false;
		int rc = get_pattern(json_object_get(n, "pattern"), path, "normalizer Replace", &pat, &pat_len, &is_regex, err);
		if (rc)
			return rc;
		const json_t *c = json_object_get(n, "content");
		if (is_regex || !json_is_string(c)) {
			free(pat);
			return mrl_err_set(err, MRL_EUNSUPPORTED, "%s: normalizer Replace with a regex pattern or no content string "
					   "is not supported", path);
		}
		rc = add_norm(v, NORM_REPLACE, pat, pat_len, json_string_value(c), json_string_length(c), path, err);
		free(pat);
		return rc;
	}
	return mrl_err_set(err, MRL_EUNSUPPORTED, "%s: normalizer '%.60s' is not supported (supported: Sequence, NFC, NFKC, "
			   "NFD, NFKD, Lowercase, Prepend, Replace)", path, t);
}

static int parse_behavior(const json_t *b, enum pre_behavior *out)
{
	const char *s = json_string_value(b);
	if (!s || !strcmp(s, "Isolated"))
		*out = PRE_ISOLATED;
	else if (!strcmp(s, "Removed"))
		*out = PRE_REMOVED;
	else if (!strcmp(s, "MergedWithPrevious"))
		*out = PRE_MERGED_PREV;
	else if (!strcmp(s, "MergedWithNext"))
		*out = PRE_MERGED_NEXT;
	else if (!strcmp(s, "Contiguous"))
		*out = PRE_CONTIGUOUS;
	else
		return -1;
	return 0;
}

static int load_pretok(struct eng_vocab *v, const json_t *p, const char *path, int depth, struct mrl_err *err)
{
	char what[400];
	if (!p || json_is_null(p))
		return 0;
	if (depth > 8)
		return mrl_err_set(err, MRL_EINPUT, "%s: pre_tokenizer Sequence nested too deep", path);
	if (v->byte_level)
		return mrl_err_set(err, MRL_EUNSUPPORTED, "%s: a pre-tokenizer after ByteLevel is not supported", path);
	if (v->meta_space)
		return mrl_err_set(err, MRL_EUNSUPPORTED, "%s: a pre-tokenizer after Metaspace is not supported", path);
	const char *t = jtype(p);
	snprintf(what, sizeof what, "%s: pre_tokenizer %.60s", path, t);
	if (!strcmp(t, "Sequence")) {
		const json_t *list = json_object_get(p, "pretokenizers");
		size_t i;
		const json_t *x;
		if (!json_is_array(list))
			return mrl_err_set(err, MRL_EINPUT, "%s: pre_tokenizer Sequence without a 'pretokenizers' list", path);
		json_array_foreach(list, i, x) {
			int rc = load_pretok(v, x, path, depth + 1, err);
			if (rc)
				return rc;
		}
		return 0;
	}
	if (!strcmp(t, "ByteLevel")) {
		v->byte_level = true;
		v->bl_prefix_space = jbool(p, "add_prefix_space", false);
		if (jbool(p, "use_regex", true))
			return bpe_add_pre_regex(v, GPT2_HF_RE, strlen(GPT2_HF_RE), PRE_ISOLATED, false, what, err);
		return 0;
	}
	if (!strcmp(t, "Split")) {
		char *pat = NULL;
		size_t pat_len = 0;
		bool is_regex = false;
		enum pre_behavior beh;
		if (parse_behavior(json_object_get(p, "behavior"), &beh))
			return mrl_err_set(err, MRL_EUNSUPPORTED, "%s: Split behavior '%.40s' is not known", path,
					   json_string_value(json_object_get(p, "behavior")) ? json_string_value(json_object_get(p, "behavior")) : "?");
		int rc = get_pattern(json_object_get(p, "pattern"), path, "pre_tokenizer Split", &pat, &pat_len, &is_regex, err);
		if (rc)
			return rc;
		if (!is_regex) {
			char *q = regex_quote(pat, pat_len);
			free(pat);
			if (!q)
				return mrl_err_set(err, MRL_ENOMEM, "%s: out of memory", path);
			pat = q;
			pat_len = strlen(q);
		}
		rc = bpe_add_pre_regex(v, pat, pat_len, beh, jbool(p, "invert", false), what, err);
		free(pat);
		return rc;
	}
	if (!strcmp(t, "Metaspace")) {
		const char *rep = json_string_value(json_object_get(p, "replacement"));
		if (rep && strcmp(rep, SPACE_ESC))
			return mrl_err_set(err, MRL_EUNSUPPORTED, "%s: Metaspace replacement other than U+2581 is not supported", path);
		const char *scheme = json_string_value(json_object_get(p, "prepend_scheme"));
		v->meta_space = true;
		if (scheme)
			v->meta_prepend = !strcmp(scheme, "always") ? 1 : !strcmp(scheme, "first") ? 2 : 0;
		else
			v->meta_prepend = jbool(p, "add_prefix_space", true) ? 1 : 0;
		v->meta_split = jbool(p, "split", true);
		return 0;
	}
	if (!strcmp(t, "Digits")) {
		const char *re = jbool(p, "individual_digits", false) ? "\\p{N}" : "\\p{N}+";
		return bpe_add_pre_regex(v, re, strlen(re), PRE_ISOLATED, false, what, err);
	}
	if (!strcmp(t, "Whitespace")) { /* \w as Oniguruma's (bpe_classes.c) */
		static const char ws[] = "\\w+|[^\\w\\s]+";
		return bpe_add_pre_regex(v, ws, sizeof ws - 1, PRE_REMOVED, true, what, err);
	}
	if (!strcmp(t, "WhitespaceSplit"))
		return bpe_add_pre_regex(v, "\\s+", 3, PRE_REMOVED, false, what, err);
	if (!strcmp(t, "Punctuation")) {
		enum pre_behavior beh;
		if (parse_behavior(json_object_get(p, "behavior"), &beh))
			beh = PRE_ISOLATED;
		return bpe_add_pre_regex(v, "\\p{P}", 5, beh, false, what, err);
	}
	return mrl_err_set(err, MRL_EUNSUPPORTED, "%s: pre_tokenizer '%.60s' is not supported (supported: Sequence, ByteLevel, "
			   "Split, Metaspace, Digits, Whitespace, WhitespaceSplit, Punctuation)", path, t);
}

/* BOS / EOS: tokenizer_config.json (when present) decides add_bos / add_eos and names
 * the tokens; without it, the post-processor's single template does. */
static int load_specials(struct eng_vocab *v, const json_t *root, const json_t *cfg, const char *path,
			 struct mrl_err *err)
{
	(void)err;
	(void)path;
	v->bos = v->eos = v->pad = -1; /* unk: the BPE model's own unk_token, as HF's BPE uses */
	const json_t *pp = json_object_get(root, "post_processor");
	const json_t *single = json_object_get(pp, "single");
	if (json_is_array(single) && !strcmp(jtype(pp), "TemplateProcessing")) {
		size_t i;
		const json_t *x;
		bool seen_seq = false;
		json_array_foreach(single, i, x) {
			if (json_object_get(x, "Sequence")) {
				seen_seq = true;
				continue;
			}
			const char *id = json_string_value(json_object_get(json_object_get(x, "SpecialToken"), "id"));
			if (!id)
				continue;
			int32_t tok = eng_vocab_find(v, id, strlen(id));
			if (tok < 0)
				continue;
			if (!seen_seq) {
				v->bos = tok;
				v->add_bos = true;
			} else {
				v->eos = tok;
				v->add_eos = true;
			}
		}
	}
	if (cfg) {
		const char *b = vocab_hf_token_name(json_object_get(cfg, "bos_token"));
		const char *e = vocab_hf_token_name(json_object_get(cfg, "eos_token"));
		const char *p = vocab_hf_token_name(json_object_get(cfg, "pad_token"));
		if (b && eng_vocab_find(v, b, strlen(b)) >= 0)
			v->bos = eng_vocab_find(v, b, strlen(b));
		if (e && eng_vocab_find(v, e, strlen(e)) >= 0)
			v->eos = eng_vocab_find(v, e, strlen(e));
		if (p && eng_vocab_find(v, p, strlen(p)) >= 0)
			v->pad = eng_vocab_find(v, p, strlen(p));
		const json_t *ab = json_object_get(cfg, "add_bos_token"), *ae = json_object_get(cfg, "add_eos_token");
		if (json_is_boolean(ab))
			v->add_bos = json_is_true(ab);
		if (json_is_boolean(ae))
			v->add_eos = json_is_true(ae);
	}
	if (v->add_bos && v->bos < 0)
		v->add_bos = false;
	if (v->add_eos && v->eos < 0)
		v->add_eos = false;
	return 0;
}

/* Whether model is a BPE model we can run (no subword prefix or suffix, no
 * dropout); vocab and merges are its "vocab" and "merges". */
static int check_model(const json_t *model, const json_t *vocab, const json_t *merges, const char *file,
		       struct mrl_err *err)
{
	const char *mtype = json_string_value(json_object_get(model, "type"));
	if (!mtype && json_is_object(vocab) && json_is_array(merges))
		mtype = "BPE"; /* older files omit the type */
	if (!mtype || strcmp(mtype, "BPE"))
		return mrl_err_set(err, MRL_EUNSUPPORTED, "%s: model type '%.40s' is not supported (supported: BPE; not yet: "
				   "WordPiece, Unigram, WordLevel)", file, mtype ? mtype : "(none)");
	if (!json_is_object(vocab) || !json_is_array(merges))
		return mrl_err_set(err, MRL_EINPUT, "%s: model BPE needs a 'vocab' object and a 'merges' list", file);
	const json_t *cont = json_object_get(model, "continuing_subword_prefix"),
		     *eow = json_object_get(model, "end_of_word_suffix"), *dropout = json_object_get(model, "dropout");
	if ((json_is_string(cont) && json_string_length(cont)) || (json_is_string(eow) && json_string_length(eow)))
		return mrl_err_set(err, MRL_EUNSUPPORTED, "%s: BPE continuing_subword_prefix / end_of_word_suffix are not supported", file);
	if (json_is_number(dropout) && json_number_value(dropout) > 0)
		return mrl_err_set(err, MRL_EUNSUPPORTED, "%s: BPE dropout is not supported (tokenization would be random)", file);
	return 0;
}

/* The pieces by id from the model's vocab and the added tokens (n_tokens =
 * the largest id + 1; an id no entry names is unused), with the model's flags. */
static int load_pieces(struct eng_vocab *v, const json_t *model, const json_t *vocab, const json_t *added,
		       const char *file, struct mrl_err *err)
{
	/* ids: the vocab and the added tokens; n_tokens = largest id + 1 */
	uint64_t max_id = 0;
	bool any = false;
	const char *key;
	const json_t *val;
	json_object_foreach((json_t *)vocab, key, val) {
		json_int_t id = json_integer_value(val);
		if (!json_is_integer(val) || id < 0 || (uint64_t)id >= TOKJSON_MAX_TOKENS)
			return mrl_err_set(err, MRL_EINPUT, "%s: model.vocab id of '%.60s' is not an integer in 0..%u", file, key,
					   TOKJSON_MAX_TOKENS - 1);
		if ((uint64_t)id > max_id)
			max_id = (uint64_t)id;
		any = true;
	}
	size_t i;
	json_array_foreach(added, i, val) {
		const json_t *idj = json_object_get(val, "id");
		json_int_t id = json_integer_value(idj);
		if (!json_is_integer(idj) || id < 0 || (uint64_t)id >= TOKJSON_MAX_TOKENS ||
		    !json_is_string(json_object_get(val, "content")))
			return mrl_err_set(err, MRL_EINPUT, "%s: added_tokens[%zu] needs an integer id in 0..%u and a content string",
					   file, i, TOKJSON_MAX_TOKENS - 1);
		if ((uint64_t)id > max_id)
			max_id = (uint64_t)id;
		any = true;
	}
	if (!any)
		return mrl_err_set(err, MRL_EINPUT, "%s: the vocabulary is empty", file);
	uint32_t n = (uint32_t)max_id + 1;
	v->n_tokens = n;
	const char **pieces = calloc(n, sizeof *pieces);
	size_t *plens = calloc(n, sizeof *plens);
	v->types = calloc(n, 1);
	v->attrs = calloc(n, 1);
	v->scores = calloc(n, sizeof *v->scores);
	v->piece_off = calloc(n, sizeof *v->piece_off);
	v->piece_len = calloc(n, sizeof *v->piece_len);
	if (!pieces || !plens || !v->types || !v->attrs || !v->scores || !v->piece_off || !v->piece_len) {
		free(pieces);
		free(plens);
		return mrl_err_set(err, MRL_ENOMEM, "%s: out of memory loading the tokenizer", file);
	}
	json_object_foreach((json_t *)vocab, key, val) {
		size_t id = (size_t)json_integer_value(val);
		pieces[id] = key;
		plens[id] = strlen(key);
		v->types[id] = ENG_TOKEN_NORMAL;
	}
	json_array_foreach(added, i, val) {
		size_t id = (size_t)json_integer_value(json_object_get(val, "id"));
		const json_t *c = json_object_get(val, "content");
		pieces[id] = json_string_value(c);
		plens[id] = json_string_length(c);
		v->types[id] = jbool(val, "special", false) ? ENG_TOKEN_CONTROL : ENG_TOKEN_USER_DEFINED;
		v->attrs[id] = (uint8_t)((jbool(val, "lstrip", false) ? ATTR_LSTRIP : 0) | (jbool(val, "rstrip", false) ? ATTR_RSTRIP : 0));
	}
	size_t blob_size = 0;
	for (uint32_t k = 0; k < n; k++)
		blob_size += plens[k] + 1;
	v->blob = malloc(blob_size);
	if (!v->blob) {
		free(pieces);
		free(plens);
		return mrl_err_set(err, MRL_ENOMEM, "%s: out of memory loading the tokenizer", file);
	}
	size_t off = 0;
	for (uint32_t k = 0; k < n; k++) {
		v->piece_off[k] = off;
		v->piece_len[k] = (uint32_t)plens[k];
		if (plens[k])
			memcpy(v->blob + off, pieces[k], plens[k]);
		v->blob[off + plens[k]] = '\0';
		off += plens[k] + 1;
		if (!pieces[k])
			v->types[k] = ENG_TOKEN_UNUSED; /* an id no entry names */
	}
	free(pieces);
	free(plens);
	v->specials_always = true;
	v->byte_fallback = jbool(model, "byte_fallback", false);
	v->fuse_unk = jbool(model, "fuse_unk", false);
	v->ignore_merges = jbool(model, "ignore_merges", false);
	if (v->byte_fallback)
		for (uint32_t k = 0; k < n; k++) {
			const char *p = v->blob + v->piece_off[k];
			if (v->types[k] == ENG_TOKEN_NORMAL && v->piece_len[k] == 6 && !memcmp(p, "<0x", 3) && p[5] == '>')
				v->types[k] = ENG_TOKEN_BYTE;
		}
	return 0;
}

/* The merge rules, by rank: "a b" strings or [a, b] pairs; rules that name
 * pieces outside the vocabulary are skipped with one warning. */
static int load_merges(struct eng_vocab *v, const json_t *merges, const char *file, struct mrl_err *err)
{
	size_t i;
	const json_t *val;
	int rc = bpe_merges_reserve(v, json_array_size(merges), err);
	if (rc)
		return rc;
	size_t skipped = 0;
	json_array_foreach(merges, i, val) {
		const char *a, *b;
		size_t al, bl;
		if (json_is_string(val)) {
			a = json_string_value(val);
			size_t len = json_string_length(val);
			const char *sp = len > 1 ? memchr(a + 1, ' ', len - 1) : NULL;
			if (!sp)
				return mrl_err_set(err, MRL_EINPUT, "%s: model.merges[%zu] is not 'left right'", file, i);
			al = (size_t)(sp - a);
			b = sp + 1;
			bl = len - al - 1;
		} else if (json_is_array(val) && json_array_size(val) == 2 && json_is_string(json_array_get(val, 0)) &&
			   json_is_string(json_array_get(val, 1))) {
			a = json_string_value(json_array_get(val, 0));
			al = json_string_length(json_array_get(val, 0));
			b = json_string_value(json_array_get(val, 1));
			bl = json_string_length(json_array_get(val, 1));
		} else {
			return mrl_err_set(err, MRL_EINPUT, "%s: model.merges[%zu] is neither \"left right\" nor [left, right]", file, i);
		}
		rc = bpe_add_merge(v, a, al, b, bl, err);
		if (rc < 0)
			return rc;
		skipped += rc == 1;
	}
	if (skipped) {
		char msg[600];
		snprintf(msg, sizeof msg, "%s: %zu merges name pieces that are not in the vocabulary or repeat a pair: ignored",
			 file, skipped);
		vocab_warn(v, msg);
	}
	return 0;
}

int eng_vocab_load_json(struct eng_vocab **out, const char *path, struct mrl_err *err)
{
	struct eng_vocab *v = NULL;
	json_t *root = NULL, *cfg = NULL;
	char *file = NULL, *cfg_path = NULL;
	int rc;
	struct stat st;

	*out = NULL;
	/* a folder: its tokenizer.json, else its SentencePiece tokenizer.model (as transformers) */
	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
		if (asprintf(&file, "%s/tokenizer.json", path) < 0)
			file = NULL;
		char *spm = NULL;
		if (file && stat(file, &st) != 0 && asprintf(&spm, "%s/tokenizer.model", path) >= 0) {
			free(file);
			if (stat(spm, &st) == 0) {
				rc = vocab_load_spm(out, spm, err);
				free(spm);
				return rc;
			}
			free(spm);
			return mrl_err_set(err, MRL_EINPUT, "%s: no tokenizer.json and no tokenizer.model: a model folder needs "
					   "the tokenizer its checkpoint was saved with", path);
		}
	} else if (strlen(path) >= 6 && !strcmp(path + strlen(path) - 6, ".model")) {
		return vocab_load_spm(out, path, err);
	} else {
		file = strdup(path);
	}
	if (!file)
		return mrl_err_set(err, MRL_ENOMEM, "out of memory");
	const char *slash = strrchr(file, '/');
	if (asprintf(&cfg_path, "%.*stokenizer_config.json", slash ? (int)(slash - file + 1) : 0, file) < 0) {
		cfg_path = NULL;
		rc = mrl_err_set(err, MRL_ENOMEM, "out of memory");
		goto out;
	}
	/* the config's numbers are never used; transformers writes model_max_length as 1e30 */
	if ((rc = vocab_hf_read_json(file, &root, false, 0, err)) ||
	    (rc = vocab_hf_read_json(cfg_path, &cfg, true, JSON_DECODE_INT_AS_REAL, err)))
		goto out;

	const json_t *model = json_object_get(root, "model");
	if (!json_is_object(model)) {
		rc = mrl_err_set(err, MRL_EINPUT, "%s: no 'model' object: not a tokenizer.json", file);
		goto out;
	}
	const json_t *vocab = json_object_get(model, "vocab"), *merges = json_object_get(model, "merges");
	if ((rc = check_model(model, vocab, merges, file, err)))
		goto out;

	v = calloc(1, sizeof *v);
	if (!v)
		goto nomem;
	v->type = ENG_VOCAB_BPE;
	v->model_name = strdup("tokenizer.json BPE");
	v->pre_name = strdup("tokenizer.json");
	v->match_ctx = pcre2_match_context_create(NULL);
	if (!v->model_name || !v->pre_name || !v->match_ctx)
		goto nomem;
	pcre2_set_match_limit(v->match_ctx, 10000000);
	pcre2_set_depth_limit(v->match_ctx, 10000);
	pcre2_set_heap_limit(v->match_ctx, 65536); /* KiB */

	if ((rc = load_pieces(v, model, vocab, json_object_get(root, "added_tokens"), file, err)))
		goto out;
	if ((rc = vocab_index(v, file, err)))
		goto out;
	const char *unk = json_string_value(json_object_get(model, "unk_token"));
	v->unk = unk ? eng_vocab_find(v, unk, strlen(unk)) : -1;

	if ((rc = load_merges(v, merges, file, err)))
		goto out;

	if ((rc = load_normalizer(v, json_object_get(root, "normalizer"), file, 0, err)) ||
	    (rc = load_pretok(v, json_object_get(root, "pre_tokenizer"), file, 0, err)))
		goto out;
	const json_t *dec = json_object_get(root, "decoder");
	const char *dump = dec ? json_dumps(dec, JSON_COMPACT) : NULL;
	if (dump) {
		/* Metaspace decoders and Strip(start = 1) drop the first leading space */
		v->dec_strip_space = strstr(dump, "\"type\":\"Metaspace\"") ? v->meta_prepend != 0 :
				     strstr(dump, "\"type\":\"Strip\"") && strstr(dump, "\"start\":1");
		free((void *)dump);
	}
	const int dir_len = slash ? (int)(slash - file + 1) : 0;
	if ((rc = load_specials(v, root, cfg, file, err)) ||
	    ((v->bos < 0 || v->eos < 0) && (rc = vocab_hf_specials_from_config(v, file, dir_len, err))))
		goto out;
	int32_t eog[VOCAB_MAX_EOG_CONFIG];
	vocab_mark_eog_json(v, eog, vocab_hf_eog_config_ids(v, file, dir_len, eog));
	*out = v;
	v = NULL;
	rc = 0;
	goto out;
nomem:
	rc = mrl_err_set(err, MRL_ENOMEM, "%s: out of memory loading the tokenizer", file ? file : path);
out:
	eng_vocab_free(v);
	json_decref(root);
	json_decref(cfg);
	free(file);
	free(cfg_path);
	return rc;
}
