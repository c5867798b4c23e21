/* bpe.c — byte-level BPE: the pre-tokenizer (regex splits with PCRE2), GPT-2's
 * byte<->unicode map, and merges by rank; shared by GGUF vocabularies
 * (tokenizer.ggml.model = gpt2) and HF tokenizer.json files (model BPE, also the
 * SentencePiece-style ones with byte_fallback).
 *
 * A fragment of text goes through: UTF-8 repair (each byte of an invalid sequence
 * becomes U+FFFD, as llama.cpp's unicode_cpts_from_utf8 does), the normalizers
 * (tokenizer.json only), the pre-tokenizer steps (each step splits every word the
 * previous one made; a regex sees only that word, so lookaheads and $ stop at its
 * end, as in llama.cpp's unicode_regex_split), then per word: the byte-level map,
 * and merges. The merge loop works on token ids: the initial symbols are the
 * word's characters, and a binary heap holds candidate pairs ordered by (rank,
 * position); a pair is stale once either side has changed (checked by comparing
 * ids), so every merge costs O(log n) and a word of n characters O(n log n).
 * Merge rules live in an open-addressing hash keyed by (left id, right id).
 *
 * A word seen before in the same call is looked up in a per-call cache (word bytes
 * -> ids), so long texts of natural language pay the merge loop once per distinct
 * word. The vocabulary itself stays read-only: several threads may encode at once.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <utf8proc.h>

#include "engine/vocab_int.h"
#include "engine/heap.h"
#include "common/buf.h"
#include "common/utf8.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- GPT-2's byte <-> unicode map ----
 * Bytes that are printable Latin-1 ('!'..'~', U+00A1..U+00AC, U+00AE..U+00FF) stand
 * for themselves; the others get U+0100 + n in byte order. */
static uint16_t byte_cpt(unsigned b)
{
	if ((b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff))
		return (uint16_t)b;
	unsigned n = 0;
	for (unsigned x = 0; x < b; x++)
		if (!((x >= 0x21 && x <= 0x7e) || (x >= 0xa1 && x <= 0xac) || (x >= 0xae && x <= 0xff)))
			n++;
	return (uint16_t)(0x100 + n);
}

struct byte_map {
	char utf8[256][2]; /* every mapped code point is < 0x800: two bytes at most */
	uint8_t len[256];
	int16_t cpt_to_byte[0x144]; /* the map's code points are all < 0x144 */
};

static const struct byte_map *byte_map(void)
{
	/* built on first use; the table is the same for every vocabulary and never written again */
	static struct byte_map m;
	static int ready;
	if (__atomic_load_n(&ready, __ATOMIC_ACQUIRE))
		return &m;
	static struct byte_map tmp;
	memset(tmp.cpt_to_byte, 0xff, sizeof tmp.cpt_to_byte);
	for (unsigned b = 0; b < 256; b++) {
		unsigned c = byte_cpt(b);
		if (c < 0x80) {
			tmp.utf8[b][0] = (char)c;
			tmp.len[b] = 1;
		} else {
			tmp.utf8[b][0] = (char)(0xc0 | (c >> 6));
			tmp.utf8[b][1] = (char)(0x80 | (c & 0x3f));
			tmp.len[b] = 2;
		}
		tmp.cpt_to_byte[c] = (int16_t)b;
	}
	/* racing first callers compute identical bytes; the copy is done under the flag's release */
	static int lock;
	while (__atomic_exchange_n(&lock, 1, __ATOMIC_ACQUIRE))
		;
	if (!ready) {
		m = tmp;
		__atomic_store_n(&ready, 1, __ATOMIC_RELEASE);
	}
	__atomic_store_n(&lock, 0, __ATOMIC_RELEASE);
	return &m;
}

int bpe_decode_piece(const char *p, size_t len, struct mrl_buf *buf)
{
	const struct byte_map *bm = byte_map();
	size_t i = 0;
	while (i < len) {
		unsigned char c = (unsigned char)p[i];
		if (c < 0x80 && bm->cpt_to_byte[c] >= 0) {
			char b = (char)bm->cpt_to_byte[c];
			if (mrl_buf_addn(buf, &b, 1))
				return MRL_ENOMEM;
			i++;
			continue;
		}
		if ((c & 0xe0) == 0xc0 && i + 1 < len && ((unsigned char)p[i + 1] & 0xc0) == 0x80) {
			unsigned cpt = ((c & 0x1fu) << 6) | ((unsigned char)p[i + 1] & 0x3fu);
			if (cpt < 0x144 && bm->cpt_to_byte[cpt] >= 0) {
				char b = (char)bm->cpt_to_byte[cpt];
				if (mrl_buf_addn(buf, &b, 1))
					return MRL_ENOMEM;
				i += 2;
				continue;
			}
		}
		/* outside the map (an added token's text, a space): copied as is, one byte at a time */
		if (mrl_buf_addn(buf, p + i, 1))
			return MRL_ENOMEM;
		i++;
	}
	return 0;
}

/* ---- merges ---- */

static uint64_t mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ull;
	x ^= x >> 33;
	return x;
}

int bpe_merges_reserve(struct eng_vocab *v, size_t n, struct mrl_err *err)
{
	size_t slots = 16;
	while (slots < n * 2 + 2) {
		if (slots > SIZE_MAX / 4 / sizeof *v->merges)
			return mrl_err_set(err, MRL_EINPUT, "%zu merge rules are too many", n);
		slots *= 2;
	}
	free(v->merges);
	v->merges = malloc(slots * sizeof *v->merges);
	if (!v->merges)
		return mrl_err_set(err, MRL_ENOMEM, "out of memory for %zu merge rules", n);
	for (size_t i = 0; i < slots; i++)
		v->merges[i].key = UINT64_MAX;
	v->merges_mask = slots - 1;
	v->n_merges = 0;
	return 0;
}

static const struct bpe_merge *merge_find(const struct eng_vocab *v, int32_t left, int32_t right)
{
	uint64_t key = (uint64_t)(uint32_t)left << 32 | (uint32_t)right;
	for (size_t slot = (size_t)mix64(key) & v->merges_mask;; slot = (slot + 1) & v->merges_mask) {
		const struct bpe_merge *m = &v->merges[slot];
		if (m->key == key)
			return m;
		if (m->key == UINT64_MAX)
			return NULL;
	}
}

int bpe_add_merge(struct eng_vocab *v, const char *left, size_t left_len, const char *right, size_t right_len,
		  struct mrl_err *err)
{
	int32_t a = eng_vocab_find(v, left, left_len), b = eng_vocab_find(v, right, right_len);
	if (a < 0 || b < 0)
		return 1;
	if (left_len > 4096 || right_len > 4096)
		return 1;
	char joined[8192];
	memcpy(joined, left, left_len);
	memcpy(joined + left_len, right, right_len);
	int32_t id = eng_vocab_find(v, joined, left_len + right_len);
	if (id < 0)
		return 1;
	if ((size_t)v->n_merges * 2 + 2 > v->merges_mask + 1)
		return mrl_err_set(err, MRL_EINPUT, "more merge rules than reserved (%u)", v->n_merges);
	uint64_t key = (uint64_t)(uint32_t)a << 32 | (uint32_t)b;
	size_t slot = (size_t)mix64(key) & v->merges_mask;
	while (v->merges[slot].key != UINT64_MAX) {
		if (v->merges[slot].key == key)
			return 1; /* the first rank of a pair wins, as in llama.cpp's bpe_ranks */
		slot = (slot + 1) & v->merges_mask;
	}
	v->merges[slot] = (struct bpe_merge){ key, v->n_merges++, id };
	return 0;
}

/* ---- pre-tokenizer ---- */

int bpe_add_pre_regex(struct eng_vocab *v, const char *pattern, size_t len, enum pre_behavior behavior,
		      bool invert, const char *what, struct mrl_err *err)
{
	int code;
	PCRE2_SIZE at;
	char *wide;
	size_t wide_len;
	/* the classes as llama.cpp's Unicode 15.1 tables (GGUF) or HF's 16.0 ones and its
	 * Oniguruma \w and \h have them */
	if (bpe_widen_classes(pattern, len, v->llamacpp_utf8 ? 151 : 160, !v->llamacpp_utf8, &wide, &wide_len))
		return mrl_err_set(err, MRL_ENOMEM, "out of memory compiling %s", what);
	/* ^ and $: llama.cpp's regexes (std::regex) anchor at the text's ends; HF's (Oniguruma's
	 * Ruby syntax) at every line's */
	const uint32_t opts = PCRE2_UTF | PCRE2_UCP | (v->llamacpp_utf8 ? PCRE2_DOLLAR_ENDONLY : PCRE2_MULTILINE);
	pcre2_code *re = pcre2_compile((PCRE2_SPTR)wide, wide_len, opts, &code, &at, NULL);
	free(wide);
	if (!re) /* the error and its offset as in the regex given */
		re = pcre2_compile((PCRE2_SPTR)pattern, len, opts, &code, &at, NULL);
	if (!re) {
		PCRE2_UCHAR msg[256];
		pcre2_get_error_message(code, msg, sizeof msg);
		return mrl_err_set(err, MRL_EINPUT, "%s: invalid regex at offset %zu: %s", what, (size_t)at,
				   (const char *)msg);
	}
	(void)pcre2_jit_compile(re, PCRE2_JIT_COMPLETE); /* interpreted where JIT is unavailable */
	struct pre_step *p = realloc(v->pre, (v->n_pre + 1) * sizeof *p);
	if (!p) {
		pcre2_code_free(re);
		return mrl_err_set(err, MRL_ENOMEM, "out of memory compiling %s", what);
	}
	v->pre = p;
	v->pre[v->n_pre++] = (struct pre_step){ re, (uint8_t)behavior, invert };
	return 0;
}

#define GPT2_RE "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)"
#define LLAMA3_RE "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|" \
	"\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
#define QWEN2_RE "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|" \
	"\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
/* llama.cpp runs a regex without \p{..} as a std::wregex on the text with every non-ASCII
 * white-space character (Unicode White_Space: LLAMACPP_WS) replaced by U+000B (unicode.cpp,
 * unicode_regex_split), so a character class that lists such a character by its code point
 * does not match it there. The two such classes of its pre-tokenizers (deepseek-llm's and
 * deepseek-coder's CJK range U+0800-U+4E00, deepseek-llm's punctuation up to U+3002) are
 * written here with the white space taken out by a lookahead; \s already matches it, as
 * U+000B does. */
#define LLAMACPP_WS "\\x{85}\\x{a0}\\x{1680}\\x{2000}-\\x{200a}\\x{2028}\\x{2029}\\x{202f}\\x{205f}\\x{3000}"
/* Mistral's tekken and OpenAI's o200k (gpt-4o, llama4) patterns as llama.cpp writes them:
 * the letter classes \p{Lu}.. of the original are "a letter but not a-z" and "a letter but
 * not A-Z", so a non-ASCII letter counts as both cases (and a mark as neither). */
#define TEKKEN_RE "[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])([^a-z]))*((?=[\\p{L}])([^A-Z]))+|" \
	"[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])([^a-z]))+((?=[\\p{L}])([^A-Z]))*|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|" \
	"\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
#define CONTRACTION "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?"
#define GPT4O_RE "[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])([^a-z]))*((?=[\\p{L}])([^A-Z]))+" CONTRACTION "|" \
	"[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])([^a-z]))+((?=[\\p{L}])([^A-Z]))*" CONTRACTION "|\\p{N}{1,3}|" \
	" ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
#define CJK_RE "(?:(?![" LLAMACPP_WS "])[一-龥ࠀ-一가-퟿])+"

/* llama.cpp's pre-tokenizer regexes (llama-vocab.cpp, llm_tokenizer_bpe), by tokenizer.ggml.pre. */
static const struct pre_type {
	const char *names; /* '|'-separated */
	bool ignore_merges;
	const char *re[7];
} pre_types[] = {
	{ "default", false, { "[\\p{P}\\$\\+<=>\\^~\\|]+", GPT2_RE, "\\p{N}+", "[0-9][0-9][0-9]" } },
	{ "llama3|llama-v3|llama-bpe|falcon3|falcon-h1|pixtral", true, { LLAMA3_RE } },
	/* llama.cpp gives these their own pre types with the llama3 regex, without ignore_merges or BOS */
	{ "dbrx|smaug-bpe", false, { LLAMA3_RE } },
	{ "chatglm-bpe", false, { LLAMA3_RE } },
	{ "deepseek-llm", false,
	  { "[\r\n]",
	    "\\s?[A-Za-zµÀ-ÖØ-öø-ƺƼ-ƿǄ-ʓʕ-ʯͰ-ͳͶͷͻ-ͽͿΆΈ-ΊΌΎ-ΡΣ-ϵϷ-ҁҊ-ԯԱ-ՖႠ-ჅᎠ-Ᏽᏸ-ᏽᲐ-ᲺᲽ-Ჿᴀ-ᴫᵫ-ᵷᵹ-ᶚḀ-ἕἘ-Ἕἠ-ὅὈ-Ὅὐ-"
	    "ὗὙὛὝὟ-\\x{1F7D}ᾀ-ᾴᾶ-ᾼ\\x{1FBE}ῂ-ῄῆ-ῌῐ-\\x{1FD3}ῖ-\\x{1FDB}ῠ-Ῥῲ-ῴῶ-ῼℂℇℊ-ℓℕℙ-ℝℤ\\x{2126}ℨ\\x{212A}-ℭℯ-ℴℹℼ-ℿⅅ-ⅉⅎↃↄⰀ-ⱻⱾ-ⳤⳫ-ⳮⳲⳳꙀ-ꙭꚀ-ꚛꜢ-ꝯꝱ-ꞇꞋ-ꞎꭰ-ꮿﬀ-ﬆﬓ-"
	    "ﬗＡ-Ｚａ-ｚ𐐀-𐑏𐒰-𐓓𐓘-𐓻𐲀-𐲲𐳀-𐳲𑢠-𑣟𞤀-𞥃]+",
	    "\\s?(?:(?![" LLAMACPP_WS "])[!-/:-~！-／：-～‘-‟　-。])+", "\\s+$", CJK_RE, "\\p{N}+" } },
	{ "deepseek-coder", false, { "[\r\n]", "\\s?\\p{L}+", "\\s?\\p{P}+", CJK_RE, "\\p{N}" } },
	{ "deepseek-v3", false,
	  { "\\p{N}{1,3}", "[一-龥぀-ゟ゠-ヿ]+",
	    "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\r\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+|"
	    " ?[\\p{P}\\p{S}]+[\r\n]*|\\s*[\r\n]+|\\s+(?!\\S)|\\s+" } },
	{ "falcon", false, { "[\\p{P}\\$\\+<=>\\^~\\|`]+", GPT2_RE, "[0-9][0-9][0-9]" } },
	{ "starcoder|refact|command-r|smollm|codeshell|exaone|minerva-7b", false, { "\\p{N}", GPT2_RE } },
	{ "gpt-2|phi-2|jina-es|jina-de|jina-v1-en|jina-v2-es|jina-v2-de|jina-v2-code|roberta-bpe|gigachat|mpt|olmo|jais|trillion",
	  false, { GPT2_RE } },
	{ "qwen2|deepseek-r1-qwen|megrez|stablelm2", false, { QWEN2_RE } },
	{ "tekken", true, { TEKKEN_RE } }, /* ignore_merges and BOS, as llama.cpp */
	{ "gpt-4o|llama4", false, { GPT4O_RE } },
	{ "poro-chat|bloom|gpt3-finnish", false, { " ?[^(\\s|.,!?…。，、।۔،)]+" } },
	{ "viking", false, { " ?[^(\\s|.,!?…。，、।۔،)]+", "\\p{N}" } },
};

static bool name_in(const char *names, const char *name)
{
	size_t n = strlen(name);
	for (const char *p = names; *p;) {
		const char *bar = strchr(p, '|');
		size_t len = bar ? (size_t)(bar - p) : strlen(p);
		if (len == n && memcmp(p, name, n) == 0)
			return true;
		if (!bar)
			break;
		p = bar + 1;
	}
	return false;
}

int bpe_set_pre_type(struct eng_vocab *v, const char *pre, const char *path, struct mrl_err *err)
{
	for (size_t t = 0; t < sizeof pre_types / sizeof pre_types[0]; t++) {
		if (!name_in(pre_types[t].names, pre))
			continue;
		v->ignore_merges = pre_types[t].ignore_merges;
		v->llamacpp_utf8 = true;
		for (size_t i = 0; i < 7 && pre_types[t].re[i]; i++) {
			char what[300];
			snprintf(what, sizeof what, "%s: pre-tokenizer '%s' regex %zu", path, pre, i);
			int rc = bpe_add_pre_regex(v, pre_types[t].re[i], strlen(pre_types[t].re[i]), PRE_ISOLATED, false,
						   what, err);
			if (rc)
				return rc;
		}
		return 0;
	}
	return mrl_err_set(err, MRL_EUNSUPPORTED,
			   "%s: tokenizer.ggml.pre '%.100s' is not a known pre-tokenizer (known: gpt-2, llama-bpe/llama3, "
			   "qwen2, smollm, starcoder, refact, falcon, mpt, deepseek-llm, deepseek-coder, deepseek-v3, "
			   "command-r, olmo, bloom, poro-chat, viking, chatglm-bpe, tekken, gpt-4o/llama4, default)",
			   path, pre);
}

void bpe_free(struct eng_vocab *v)
{
	for (size_t i = 0; i < v->n_pre; i++)
		pcre2_code_free(v->pre[i].re);
	free(v->pre);
	pcre2_match_context_free(v->match_ctx);
	free(v->merges);
	free(v->pre_name);
	for (size_t i = 0; i < v->n_norm; i++) {
		free(v->norm[i].a);
		free(v->norm[i].b);
	}
	free(v->norm);
}

/* ---- text helpers ---- */

/* llama.cpp's reading (unicode.cpp, unicode_cpts_from_utf8) of an invalid sequence at s
 * (n bytes left): a lead byte followed by the continuation bytes its high bits ask for is
 * a code point, overlong forms and surrogates included, written into e (*m bytes) in its
 * shortest form as llama.cpp re-encodes it (C0 AF is '/', C0 80 a NUL, ED A0 80 stays).
 * Returns the bytes read, or 0 (e and *m untouched) where llama.cpp gives U+FFFD for the first byte (also for
 * a code point past U+10FFFF, on which llama.cpp aborts). */
static size_t llamacpp_sequence(const char *s, size_t n, char e[4], size_t *m)
{
	const unsigned char c = (unsigned char)s[0];
	const size_t k = c < 0xC0 ? 0 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : c < 0xF8 ? 4 : 0;
	uint32_t cp = k == 2 ? c & 0x1Fu : k == 3 ? c & 0x0Fu : c & 0x07u;
	for (size_t j = 1; j < k; j++) {
		if (j >= n || ((unsigned char)s[j] & 0xC0) != 0x80)
			return 0;
		cp = cp << 6 | ((unsigned char)s[j] & 0x3Fu);
	}
	if (k == 0 || cp > 0x10FFFF)
		return 0;
	*m = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
	if (*m == 1) {
		e[0] = (char)cp;
		return k;
	}
	for (size_t j = *m - 1; j > 0; j--, cp >>= 6)
		e[j] = (char)(0x80 | (cp & 0x3F));
	e[0] = (char)((*m == 2 ? 0xC0 : *m == 3 ? 0xE0 : 0xF0) | cp);
	return k;
}

/* Copy s to out, valid UTF-8 as it is. Each byte of an invalid sequence (overlong forms,
 * surrogates, code points past U+10FFFF, truncated or stray bytes) becomes U+FFFD, or,
 * with llamacpp (GGUF vocabularies), what llamacpp_sequence reads there. */
static int utf8_repair(const char *s, size_t n, bool llamacpp, struct mrl_buf *out)
{
	mrl_buf_reset(out);
	size_t start = 0, i = 0;
	while (i < n) {
		const unsigned char c = (unsigned char)s[i];
		size_t k = c < 0x80 ? 1 : mrl_utf8_decode(s + i, n - i, NULL);
		if (k) { /* valid: copied with its run */
			i += k;
			continue;
		}
		char e[4] = "\xEF\xBF\xBD"; /* U+FFFD, unless llamacpp_sequence reads a code point */
		size_t m = 3;
		k = llamacpp ? llamacpp_sequence(s + i, n - i, e, &m) : 0;
		if (k == 0)
			k = 1;
		if (mrl_buf_addn(out, s + start, i - start) || mrl_buf_addn(out, e, m))
			return MRL_ENOMEM;
		i += k;
		start = i;
	}
	return mrl_buf_addn(out, s + start, n - start);
}

/* ---- words ---- */

struct span {
	uint32_t off, len;
};

struct spans {
	struct span *v;
	size_t n, cap;
};

static int span_push(struct spans *s, size_t off, size_t len)
{
	if (len == 0)
		return 0;
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 256;
		struct span *p = realloc(s->v, cap * sizeof *p);
		if (!p)
			return MRL_ENOMEM;
		s->v = p;
		s->cap = cap;
	}
	s->v[s->n++] = (struct span){ (uint32_t)off, (uint32_t)len };
	return 0;
}

/* Append to the last span (it must end at off) or start one. */
static int span_extend(struct spans *s, size_t off, size_t len)
{
	if (s->n && s->v[s->n - 1].off + s->v[s->n - 1].len == off) {
		s->v[s->n - 1].len += (uint32_t)len;
		return 0;
	}
	return span_push(s, off, len);
}

/* Split every span of in by one step into out (HF's split behaviours). */
static int split_step(const char *v_pre_name, const struct pre_step *st, pcre2_match_data *md, pcre2_match_context *mctx, const char *text, const struct spans *in,
		      struct spans *out, struct mrl_err *err)
{
	out->n = 0;
	for (size_t w = 0; w < in->n; w++) {
		const char *s = text + in->v[w].off;
		size_t n = in->v[w].len, pos = 0, base = in->v[w].off;
		bool pending_next = false; /* MERGED_NEXT: a match waits for the piece after it */
		size_t pend_off = 0, word_first = out->n;
		bool last_was_match = false;
		while (pos <= n) {
			int rc = pos < n ? pcre2_match(st->re, (PCRE2_SPTR)s, n, pos, PCRE2_NO_UTF_CHECK, md, mctx)
					 : PCRE2_ERROR_NOMATCH;
			size_t ms = n, me = n;
			if (rc >= 0) {
				PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
				ms = ov[0];
				me = ov[1];
				if (me == ms) { /* an empty match: look again one character further */
					size_t next = ms + 1;
					while (next < n && ((unsigned char)s[next] & 0xc0) == 0x80)
						next++;
					rc = next < n ? pcre2_match(st->re, (PCRE2_SPTR)s, n, next, PCRE2_NO_UTF_CHECK, md, mctx)
						      : PCRE2_ERROR_NOMATCH;
					ms = me = n;
					if (rc >= 0) {
						ov = pcre2_get_ovector_pointer(md);
						ms = ov[0];
						me = ov[1];
						if (me == ms) {
							rc = PCRE2_ERROR_NOMATCH;
							ms = me = n;
						}
					}
				}
			} else if (rc != PCRE2_ERROR_NOMATCH) {
				PCRE2_UCHAR msg[256];
				pcre2_get_error_message(rc, msg, sizeof msg);
				return mrl_err_set(err, MRL_EINPUT, "pre-tokenizer regex %s failed: %s",
						   v_pre_name ? v_pre_name : "", (const char *)msg);
			}
			/* gap [pos, ms) then match [ms, me): which of them counts as "the match" depends on invert */
			struct {
				size_t off, len;
				bool is_match;
			} parts[2] = { { pos, ms - pos, st->invert }, { ms, me - ms, !st->invert } };
			for (int k = 0; k < 2; k++) {
				if (parts[k].len == 0)
					continue;
				size_t off = base + parts[k].off, len = parts[k].len;
				int prc = 0;
				if (!parts[k].is_match) {
					if (pending_next) {
						prc = span_push(out, pend_off, off + len - pend_off);
						pending_next = false;
					} else {
						prc = span_push(out, off, len);
					}
					last_was_match = false;
				} else {
					switch (st->behavior) {
					case PRE_ISOLATED:
						prc = span_push(out, off, len);
						break;
					case PRE_REMOVED:
						break;
					case PRE_MERGED_PREV:
						prc = out->n > word_first && !last_was_match ? span_extend(out, off, len)
											   : span_push(out, off, len);
						break;
					case PRE_MERGED_NEXT:
						if (pending_next)
							prc = span_push(out, pend_off, off - pend_off);
						pending_next = true;
						pend_off = off;
						break;
					case PRE_CONTIGUOUS:
						prc = last_was_match ? span_extend(out, off, len) : span_push(out, off, len);
						break;
					}
					last_was_match = true;
				}
				if (prc)
					return mrl_err_set(err, MRL_ENOMEM, "out of memory pre-tokenizing");
			}
			if (rc < 0)
				break;
			pos = me;
		}
		if (pending_next && span_push(out, pend_off, base + n - pend_off))
			return mrl_err_set(err, MRL_ENOMEM, "out of memory pre-tokenizing");
	}
	return 0;
}

/* ---- merges over one word ---- */

struct sym {
	int32_t id, prev, next;
};

struct cand {
	uint32_t rank;
	int32_t left;            /* symbol index */
	int32_t left_id, right_id; /* the pair when pushed: stale if either changed */
};

static bool cand_before(const struct cand *a, const struct cand *b)
{
	return a->rank < b->rank || (a->rank == b->rank && a->left < b->left);
}

ENG_HEAP_DEFINE(cand_heap, struct cand, cand_before)

/* Per-call scratch: symbols, heap, cache of words already encoded. */
struct session {
	struct sym *syms;
	size_t syms_cap;
	struct cand_heap heap;
	struct mrl_buf word;  /* the byte-level spelling of the current word */
	/* cache: open addressing over (hash, offset into keys, key length, ids offset, n ids) */
	struct cache_slot {
		uint64_t hash;
		uint32_t key_off, key_len, ids_off, n_ids;
	} *slots;
	size_t slots_mask, n_cached;
	struct mrl_buf keys;
	struct ids_buf cids;
};

#define CACHE_MAX_WORD 64      /* longer words are not cached */
#define CACHE_MAX_ENTRIES 65536

static int try_pair(const struct eng_vocab *v, struct session *ss, int32_t left)
{
	if (left < 0)
		return 0;
	int32_t right = ss->syms[left].next;
	if (right < 0 || ss->syms[left].id < 0 || ss->syms[right].id < 0)
		return 0;
	const struct bpe_merge *m = merge_find(v, ss->syms[left].id, ss->syms[right].id);
	if (!m)
		return 0;
	return cand_heap_push(&ss->heap, (struct cand){ m->rank, left, ss->syms[left].id, ss->syms[right].id });
}

/* The id of a symbol that stands for bytes without a piece (GGUF byte-level BPE): no
 * merge names it (try_pair refuses ids < 0) and the output skips it. */
#define SYM_NO_PIECE (-3)

/* Append the symbols for one character (len bytes at s) of a word. */
static int add_char_syms(const struct eng_vocab *v, struct session *ss, size_t *n_syms, const char *s, size_t len)
{
	int32_t id = eng_vocab_find(v, s, len);
	int32_t ids[8];
	size_t k = 0;
	if (id >= 0) {
		ids[k++] = id;
	} else if (v->gguf_bpe) {
		/* llama.cpp: the character stays one symbol, so its neighbours never merge across
		 * it; at the end its bytes' pieces, where they have one; never UNK (SmolLM2 has no
		 * piece for bytes 04 06 13 14 16 1D: UNK put <|endoftext|> into the text) */
		size_t n_pieces = 0;
		for (size_t j = 0; j < len; j++)
			n_pieces += eng_vocab_find(v, s + j, 1) >= 0;
		if (n_pieces == 0) {
			ids[k++] = SYM_NO_PIECE;
		} else {
			for (size_t j = 0; j < len && k < 8; j++) {
				int32_t b = eng_vocab_find(v, s + j, 1);
				if (b >= 0)
					ids[k++] = b;
			}
		}
	} else if (v->byte_fallback) {
		for (size_t j = 0; j < len && k < 8; j++) {
			int32_t b = v->byte_to_id[(unsigned char)s[j]];
			if (b < 0)
				b = v->unk;
			if (b >= 0)
				ids[k++] = b;
		}
	} else if (v->unk >= 0) {
		if (v->fuse_unk && *n_syms > 0 && ss->syms[*n_syms - 1].id == v->unk)
			return 0;
		ids[k++] = v->unk;
	} else if (v->byte_level) {
		/* a character without a piece falls back to its single-byte pieces */
		for (size_t j = 0; j < len && k < 8; j++) {
			int32_t b = eng_vocab_find(v, s + j, 1);
			if (b >= 0)
				ids[k++] = b;
		}
	} /* else: no piece, no fallback and no UNK: the character is dropped, as HF's BPE does */
	for (size_t j = 0; j < k; j++) {
		if (*n_syms == ss->syms_cap) {
			size_t cap = ss->syms_cap ? ss->syms_cap * 2 : 64;
			struct sym *p = realloc(ss->syms, cap * sizeof *p);
			if (!p)
				return MRL_ENOMEM;
			ss->syms = p;
			ss->syms_cap = cap;
		}
		ss->syms[*n_syms] = (struct sym){ ids[j], (int32_t)*n_syms - 1, (int32_t)*n_syms + 1 };
		(*n_syms)++;
	}
	return 0;
}

/* Encode one word (already in the vocabulary's spelling) and append its ids. */
static int encode_word(const struct eng_vocab *v, struct session *ss, const char *w, size_t n, struct ids_buf *out,
		       struct mrl_err *err)
{
	if (n == 0)
		return 0;
	if (v->ignore_merges) {
		int32_t id = eng_vocab_find(v, w, n);
		if (id >= 0)
			return ids_push(out, id) ? mrl_err_set(err, MRL_ENOMEM, "out of memory tokenizing") : 0;
	}
	/* cache */
	uint64_t h = 0;
	struct cache_slot *slot = NULL;
	if (n <= CACHE_MAX_WORD && ss->slots) {
		h = eng_hash_bytes(w, n);
		for (size_t i = (size_t)h & ss->slots_mask;; i = (i + 1) & ss->slots_mask) {
			struct cache_slot *c = &ss->slots[i];
			if (c->key_len == 0) {
				slot = c;
				break;
			}
			if (c->hash == h && c->key_len == n && memcmp(ss->keys.data + c->key_off, w, n) == 0) {
				for (uint32_t j = 0; j < c->n_ids; j++)
					if (ids_push(out, ss->cids.v[c->ids_off + j]))
						return mrl_err_set(err, MRL_ENOMEM, "out of memory tokenizing");
				return 0;
			}
		}
	}
	size_t n_syms = 0;
	for (size_t off = 0; off < n;) {
		size_t len = mrl_utf8_lead_len((unsigned char)w[off]);
		if (len > n - off)
			len = n - off;
		if (add_char_syms(v, ss, &n_syms, w + off, len))
			return mrl_err_set(err, MRL_ENOMEM, "out of memory tokenizing");
		off += len;
	}
	if (n_syms == 0)
		return 0;
	ss->syms[n_syms - 1].next = -1;
	ss->heap.n = 0;
	for (size_t i = 0; i + 1 < n_syms; i++)
		if (try_pair(v, ss, (int32_t)i))
			return mrl_err_set(err, MRL_ENOMEM, "out of memory tokenizing");
	while (ss->heap.n) {
		struct cand c = cand_heap_pop(&ss->heap);
		struct sym *l = &ss->syms[c.left];
		if (l->id != c.left_id || l->next < 0 || ss->syms[l->next].id != c.right_id)
			continue; /* stale: a side has been merged since */
		struct sym *r = &ss->syms[l->next];
		const struct bpe_merge *m = merge_find(v, c.left_id, c.right_id);
		l->id = m->id;
		r->id = -2; /* merged away */
		l->next = r->next;
		if (r->next >= 0)
			ss->syms[r->next].prev = c.left;
		if (try_pair(v, ss, l->prev) || try_pair(v, ss, c.left))
			return mrl_err_set(err, MRL_ENOMEM, "out of memory tokenizing");
	}
	size_t first_out = out->n;
	for (int32_t i = 0; i >= 0; i = ss->syms[i].next)
		if (ss->syms[i].id != SYM_NO_PIECE && ids_push(out, ss->syms[i].id))
			return mrl_err_set(err, MRL_ENOMEM, "out of memory tokenizing");
	if (slot && ss->n_cached < CACHE_MAX_ENTRIES && out->n - first_out < 65536) {
		size_t key_off = ss->keys.len, ids_off = ss->cids.n;
		if (mrl_buf_addn(&ss->keys, w, n))
			return 0; /* no room to cache: not an error */
		for (size_t j = first_out; j < out->n; j++)
			if (ids_push(&ss->cids, out->v[j]))
				return 0;
		*slot = (struct cache_slot){ h, (uint32_t)key_off, (uint32_t)n, (uint32_t)ids_off, (uint32_t)(out->n - first_out) };
		ss->n_cached++;
	}
	return 0;
}

/* ---- normalizers (tokenizer.json) ---- */

/* HF's Lowercase normalizer: each character's own lower case (Rust's
 * char::to_lowercase, no context such as a final sigma, no case folding: ß
 * and ς stay). utf8proc's simple mapping but for the one unconditional
 * multi-character lower case, U+0130 -> i + U+0307. t into out. */
static int lowercase(const struct mrl_buf *t, struct mrl_buf *out, struct mrl_err *err)
{
	const utf8proc_uint8_t *p = (const utf8proc_uint8_t *)t->data;
	utf8proc_ssize_t left = (utf8proc_ssize_t)t->len;
	int rc = 0;
	while (left > 0 && !rc) {
		utf8proc_int32_t c;
		const utf8proc_ssize_t n = utf8proc_iterate(p, left, &c);
		if (n < 0)
			return mrl_err_set(err, MRL_EINPUT, "normalizer: %s", utf8proc_errmsg(n));
		utf8proc_uint8_t enc[8];
		if (c == 0x130)
			rc = mrl_buf_addn(out, "i\xcc\x87", 3);
		else
			rc = mrl_buf_addn(out, (const char *)enc, (size_t)utf8proc_encode_char(utf8proc_tolower(c), enc));
		p += n;
		left -= n;
	}
	return rc ? mrl_err_set(err, MRL_ENOMEM, "out of memory") : 0;
}

static int normalize(const struct eng_vocab *v, struct mrl_buf *t, struct mrl_buf *tmp, struct mrl_err *err)
{
	for (size_t k = 0; k < v->n_norm; k++) {
		const struct norm_step *ns = &v->norm[k];
		mrl_buf_reset(tmp);
		int rc = 0;
		switch (ns->kind) {
		case NORM_NFC:
		case NORM_NFKC:
		case NORM_NFD:
		case NORM_NFKD: {
			if (t->len == 0)
				continue;
			int opts = UTF8PROC_STABLE;
			if (ns->kind == NORM_NFC)
				opts |= UTF8PROC_COMPOSE;
			else if (ns->kind == NORM_NFKC)
				opts |= UTF8PROC_COMPOSE | UTF8PROC_COMPAT;
			else if (ns->kind == NORM_NFD)
				opts |= UTF8PROC_DECOMPOSE;
			else
				opts |= UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT;
			utf8proc_uint8_t *res = NULL;
			utf8proc_ssize_t rn = utf8proc_map((const utf8proc_uint8_t *)t->data, (utf8proc_ssize_t)t->len, &res,
							   (utf8proc_option_t)opts);
			if (rn < 0)
				return mrl_err_set(err, MRL_EINPUT, "normalizer: %s", utf8proc_errmsg(rn));
			rc = mrl_buf_addn(tmp, (const char *)res, (size_t)rn);
			free(res);
			break;
		}
		case NORM_LOWER:
			if (t->len == 0)
				continue;
			if ((rc = lowercase(t, tmp, err)))
				return rc; /* its own message (invalid UTF-8, out of memory) */
			break;
		case NORM_PREPEND:
			if (t->len == 0)
				continue;
			rc = mrl_buf_addn(tmp, ns->a, ns->a_len) || mrl_buf_addn(tmp, t->data, t->len);
			break;
		case NORM_REPLACE: {
			size_t start = 0;
			for (size_t i = 0; ns->a_len && i + ns->a_len <= t->len && !rc;) {
				if (memcmp(t->data + i, ns->a, ns->a_len) == 0) {
					rc = mrl_buf_addn(tmp, t->data + start, i - start) || mrl_buf_addn(tmp, ns->b, ns->b_len);
					i += ns->a_len;
					start = i;
				} else {
					i++;
				}
			}
			if (!rc)
				rc = mrl_buf_addn(tmp, t->data + start, t->len - start);
			break;
		}
		}
		if (rc)
			return mrl_err_set(err, MRL_ENOMEM, "out of memory normalizing");
		struct mrl_buf swap = *t;
		*t = *tmp;
		*tmp = swap;
	}
	return 0;
}

static int metaspace(const struct eng_vocab *v, bool first, struct mrl_buf *t, struct mrl_buf *tmp)
{
	mrl_buf_reset(tmp);
	int rc = 0;
	bool prepend = v->meta_prepend == 1 || (v->meta_prepend == 2 && first);
	if (!rc && prepend && t->len && !(t->len >= SPACE_ESC_LEN && memcmp(t->data, SPACE_ESC, SPACE_ESC_LEN) == 0) && t->data[0] != ' ')
		rc = mrl_buf_addn(tmp, SPACE_ESC, SPACE_ESC_LEN);
	size_t start = 0;
	for (size_t i = 0; i < t->len && !rc; i++) {
		if (t->data[i] != ' ')
			continue;
		rc = mrl_buf_addn(tmp, t->data + start, i - start) || mrl_buf_addn(tmp, SPACE_ESC, SPACE_ESC_LEN);
		start = i + 1;
	}
	if (!rc)
		rc = mrl_buf_addn(tmp, t->data + start, t->len - start);
	struct mrl_buf swap = *t;
	*t = *tmp;
	*tmp = swap;
	return rc;
}

#define MVS_UTF8 "\xe1\xa0\x8e" /* U+180E */

/* What the pre-tokenizer's regexes match on: *subject is t's data, or tmp's where that
 * must differ, byte for byte as long, so the words' offsets hold for t:
 * - U+180E MONGOLIAN VOWEL SEPARATOR has been a format character (Cf) since Unicode 6.3,
 *   white space to neither llama.cpp nor HF's tokenizers, yet PCRE2 10.42's \s and \h list
 *   it: it is written as U+200B ZERO WIDTH SPACE (Cf too, three bytes too, white space to
 *   none of them);
 * - a surrogate (ED A0..BF xx, which only llamacpp_sequence leaves in t: llama.cpp keeps
 *   it) is not UTF-8 to PCRE2: it is written as U+E000, a private-use character, which
 *   llama.cpp's regexes, like a surrogate, match as neither letter, digit, punctuation,
 *   symbol nor space. */
static int regex_subject(const struct mrl_buf *t, struct mrl_buf *tmp, const char **subject)
{
	*subject = t->data;
	bool any = false;
	for (size_t i = 0; !any && i + 2 < t->len; i++)
		any = (t->data[i] == '\xe1' && !memcmp(t->data + i, MVS_UTF8, 3)) ||
		      (t->data[i] == '\xed' && ((unsigned char)t->data[i + 1] & 0xE0) == 0xA0);
	if (!any)
		return 0;
	mrl_buf_reset(tmp);
	if (mrl_buf_addn(tmp, t->data, t->len))
		return MRL_ENOMEM;
	for (size_t i = 0; i + 2 < tmp->len; i++) {
		if (!memcmp(tmp->data + i, MVS_UTF8, 3))
			memcpy(tmp->data + i, "\xe2\x80\x8b", 3);
		else if (tmp->data[i] == '\xed' && ((unsigned char)tmp->data[i + 1] & 0xE0) == 0xA0)
			memcpy(tmp->data + i, "\xee\x80\x80", 3);
	}
	*subject = tmp->data;
	return 0;
}

int bpe_encode_fragment(const struct eng_vocab *v, const char *text, size_t len, bool first, struct ids_buf *out,
			struct mrl_err *err)
{
	struct mrl_buf t = MRL_BUF_INIT, tmp = MRL_BUF_INIT;
	struct spans a = { 0 }, b = { 0 };
	struct session ss = { .word = MRL_BUF_INIT, .keys = MRL_BUF_INIT };
	pcre2_match_data *md = NULL;
	int rc = 0;

	if (len == 0)
		return 0;
	if (utf8_repair(text, len, v->llamacpp_utf8, &t))
		goto nomem;
	if ((rc = normalize(v, &t, &tmp, err)))
		goto out;
	if (v->bl_prefix_space && t.len && t.data[0] != ' ') {
		mrl_buf_reset(&tmp);
		if (mrl_buf_addn(&tmp, " ", 1) || mrl_buf_addn(&tmp, t.data, t.len))
			goto nomem;
		struct mrl_buf swap = t;
		t = tmp;
		tmp = swap;
	}
	if (v->meta_space && metaspace(v, first, &t, &tmp))
		goto nomem;
	if (t.len > UINT32_MAX / 2) {
		rc = mrl_err_set(err, MRL_EINPUT, "text of %zu bytes is too long to tokenize at once", t.len);
		goto out;
	}
	if (span_push(&a, 0, t.len))
		goto nomem;
	if (v->meta_space && v->meta_split) {
		/* words start at each U+2581 (HF Metaspace split: MergedWithNext on the replacement) */
		b.n = 0;
		size_t start = 0;
		for (size_t i = SPACE_ESC_LEN <= t.len ? 1 : t.len; i + SPACE_ESC_LEN <= t.len; i++)
			if (memcmp(t.data + i, SPACE_ESC, SPACE_ESC_LEN) == 0) {
				if (span_push(&b, start, i - start))
					goto nomem;
				start = i;
			}
		if (span_push(&b, start, t.len - start))
			goto nomem;
		struct spans swap = a;
		a = b;
		b = swap;
	}
	const char *subject = t.data;
	if (v->n_pre && regex_subject(&t, &tmp, &subject))
		goto nomem;
	for (size_t k = 0; k < v->n_pre; k++) {
		md = pcre2_match_data_create_from_pattern(v->pre[k].re, NULL);
		if (!md)
			goto nomem;
		rc = split_step(v->pre_name, &v->pre[k], md, v->match_ctx, subject, &a, &b, err);
		pcre2_match_data_free(md);
		md = NULL;
		if (rc)
			goto out;
		struct spans swap = a;
		a = b;
		b = swap;
	}
	if (a.n > 8) { /* a cache pays off only when words can repeat */
		size_t slots = 1024;
		while (slots < a.n && slots < CACHE_MAX_ENTRIES * 2)
			slots *= 2;
		ss.slots = calloc(slots, sizeof *ss.slots);
		ss.slots_mask = slots - 1;
		if (!ss.slots)
			goto nomem;
	}
	const struct byte_map *bm = v->byte_level ? byte_map() : NULL;
	for (size_t w = 0; w < a.n; w++) {
		const char *word = t.data + a.v[w].off;
		size_t wn = a.v[w].len;
		if (bm) {
			mrl_buf_reset(&ss.word);
			for (size_t i = 0; i < wn; i++) {
				unsigned char c = (unsigned char)word[i];
				if (mrl_buf_addn(&ss.word, bm->utf8[c], bm->len[c]))
					goto nomem;
			}
			word = ss.word.data;
			wn = ss.word.len;
		}
		if ((rc = encode_word(v, &ss, word, wn, out, err)))
			goto out;
	}
	goto out;
nomem:
	rc = mrl_err_set(err, MRL_ENOMEM, "out of memory tokenizing %zu bytes", len);
out:
	pcre2_match_data_free(md);
	mrl_buf_release(&t);
	mrl_buf_release(&tmp);
	free(a.v);
	free(b.v);
	free(ss.syms);
	free(ss.heap.v);
	mrl_buf_release(&ss.word);
	free(ss.slots);
	mrl_buf_release(&ss.keys);
	free(ss.cids.v);
	return rc;
}
