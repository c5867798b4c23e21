/* text_base.c — the text plumbing under the generation metrics (text.c,
 * text_qa.c): UTF-8 decoded once to code points (Python strings are code point
 * sequences, and sacrebleu is Python), Python's str.split() whitespace, token
 * spans, token interning and n-gram counting by sorting (a sorted list of
 * distinct n-grams with counts per side; a merge walk gives clipped matches).
 * No hash tables, no global state.
 */
#include "metrics/text_int.h"

#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

/* ------------------------------------------------------ code point buffers */

void txt_cp_release(struct cpbuf *b)
{
	free(b->p);
	*b = (struct cpbuf){0};
}

int txt_cp_reserve(struct cpbuf *b, size_t extra)
{
	if (b->n + extra <= b->cap)
		return 0;
	size_t cap = b->cap ? b->cap : 64;
	while (cap < b->n + extra)
		cap *= 2;
	uint32_t *p = realloc(b->p, cap * sizeof *p);
	if (!p)
		return -1;
	b->p = p;
	b->cap = cap;
	return 0;
}

int txt_cp_push(struct cpbuf *b, uint32_t c)
{
	if (txt_cp_reserve(b, 1))
		return -1;
	b->p[b->n++] = c;
	return 0;
}

int txt_nomem(struct mrl_err *err, const char *fn)
{
	return mrl_err_set(err, MRL_ENOMEM, "%s: out of memory", fn);
}

/* s -> code points (replacing b's content). */
int txt_cp_decode(const char *s, struct cpbuf *b, const char *fn, struct mrl_err *err)
{
	size_t len = strlen(s), i = 0;
	b->n = 0;
	if (txt_cp_reserve(b, len + 1))
		return txt_nomem(err, fn);
	while (i < len) {
		utf8proc_int32_t c;
		utf8proc_ssize_t k = utf8proc_iterate((const utf8proc_uint8_t *)s + i,
						      (utf8proc_ssize_t)(len - i), &c);
		if (k < 0)
			return mrl_err_set(err, MRL_EINPUT, "%s: invalid UTF-8 at byte %zu", fn, i);
		b->p[b->n++] = (uint32_t)c;
		i += (size_t)k;
	}
	return 0;
}

/* Code points -> a new NUL-terminated UTF-8 string (NULL when out of memory). */
char *txt_cp_encode(const struct cpbuf *b)
{
	char *s = malloc(4 * b->n + 1), *q = s;
	if (!s)
		return NULL;
	for (size_t i = 0; i < b->n; i++)
		q += utf8proc_encode_char((utf8proc_int32_t)b->p[i], (utf8proc_uint8_t *)q);
	*q = '\0';
	return s;
}

/* Python's str.isspace(): what str.split() and str.rstrip() cut on. */
int txt_is_py_space(uint32_t c)
{
	return (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x20) || c == 0x85 ||
	       c == 0xa0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200a) || c == 0x2028 ||
	       c == 0x2029 || c == 0x202f || c == 0x205f || c == 0x3000;
}

int txt_cat_of(uint32_t c)
{
	return utf8proc_category((utf8proc_int32_t)c);
}

int txt_is_cat_p(uint32_t c)
{
	int k = txt_cat_of(c);
	return k >= UTF8PROC_CATEGORY_PC && k <= UTF8PROC_CATEGORY_PO;
}

int txt_is_cat_s(uint32_t c)
{
	int k = txt_cat_of(c);
	return k >= UTF8PROC_CATEGORY_SM && k <= UTF8PROC_CATEGORY_SO;
}

int txt_is_cat_n(uint32_t c)
{
	int k = txt_cat_of(c);
	return k >= UTF8PROC_CATEGORY_ND && k <= UTF8PROC_CATEGORY_NO;
}

/* Python's string.punctuation */
int txt_is_ascii_punct(uint32_t c)
{
	return c < 0x80 && c > 0x20 && c != 0x7f && !(c >= '0' && c <= '9') &&
	       !(c >= 'a' && c <= 'z') && !(c >= 'A' && c <= 'Z');
}

/* ----------------------------------------------------------------- tokens */

int txt_span_push(struct spanbuf *b, size_t off, size_t len)
{
	if (b->n == b->cap) {
		size_t cap = b->cap ? 2 * b->cap : 32;
		struct span *p = realloc(b->p, cap * sizeof *p);
		if (!p)
			return -1;
		b->p = p;
		b->cap = cap;
	}
	b->p[b->n++] = (struct span){off, len};
	return 0;
}

/* Python's s.split(): maximal runs of non-whitespace, appended to out. */
int txt_split_ws(const struct cpbuf *s, struct spanbuf *out)
{
	size_t i = 0;
	while (i < s->n) {
		while (i < s->n && txt_is_py_space(s->p[i]))
			i++;
		size_t start = i;
		while (i < s->n && !txt_is_py_space(s->p[i]))
			i++;
		if (i > start && txt_span_push(out, start, i - start))
			return -1;
	}
	return 0;
}

/* A token to intern: its code points and where its id goes. */
struct tokref {
	const uint32_t *p;
	size_t len, slot;
};

static int tokref_cmp(const void *pa, const void *pb)
{
	const struct tokref *a = pa, *b = pb;
	size_t m = a->len < b->len ? a->len : b->len;
	for (size_t i = 0; i < m; i++)
		if (a->p[i] != b->p[i])
			return a->p[i] < b->p[i] ? -1 : 1;
	return (a->len > b->len) - (a->len < b->len);
}

void txt_idseqs_release(struct idseqs *q)
{
	free(q->ids);
	free(q->start);
	*q = (struct idseqs){0};
}

/* texts[k] decoded, toks[k] its token spans. */
int txt_intern_tokens(const struct cpbuf *texts, const struct spanbuf *toks, size_t n_seq,
			 struct idseqs *out)
{
	size_t total = 0;
	for (size_t k = 0; k < n_seq; k++)
		total += toks[k].n;
	out->n_seq = n_seq;
	out->start = malloc((n_seq + 1) * sizeof *out->start);
	out->ids = malloc((total + 1) * sizeof *out->ids);
	struct tokref *refs = malloc((total + 1) * sizeof *refs);
	if (!out->start || !out->ids || !refs) {
		free(refs);
		return -1;
	}
	size_t slot = 0;
	for (size_t k = 0; k < n_seq; k++) {
		out->start[k] = slot;
		for (size_t t = 0; t < toks[k].n; t++, slot++)
			refs[slot] = (struct tokref){texts[k].p + toks[k].p[t].off, toks[k].p[t].len, slot};
	}
	out->start[n_seq] = slot;
	qsort(refs, total, sizeof *refs, tokref_cmp);
	uint32_t id = 0;
	for (size_t i = 0; i < total; i++) {
		if (i > 0 && tokref_cmp(&refs[i - 1], &refs[i]) != 0)
			id++;
		out->ids[refs[i].slot] = id;
	}
	free(refs);
	return 0;
}

/* ----------------------------------------------------------- n-gram counts */

void txt_gramset_release(struct gramset *s)
{
	free(s->g);
	*s = (struct gramset){0};
}

static int gram_cmp(const void *pa, const void *pb)
{
	const struct gram *a = pa, *b = pb;
	for (uint32_t i = 0; i < a->len; i++)
		if (a->p[i] != b->p[i])
			return a->p[i] < b->p[i] ? -1 : 1;
	return 0;
}

/* Sorted distinct n-grams of seq[0..len) with counts (ord = n). */
int txt_gramset_build(const uint32_t *seq, size_t len, size_t ord, struct gramset *out)
{
	size_t m = len >= ord ? len - ord + 1 : 0;
	out->n = 0;
	out->g = malloc((m + 1) * sizeof *out->g);
	if (!out->g)
		return -1;
	for (size_t i = 0; i < m; i++)
		out->g[i] = (struct gram){seq + i, (uint32_t)ord, 1};
	qsort(out->g, m, sizeof *out->g, gram_cmp);
	for (size_t i = 0; i < m; i++) {
		if (out->n > 0 && gram_cmp(&out->g[out->n - 1], &out->g[i]) == 0)
			out->g[out->n - 1].count++;
		else
			out->g[out->n++] = out->g[i];
	}
	return 0;
}

int64_t txt_gramset_total(const struct gramset *s)
{
	int64_t t = 0;
	for (size_t i = 0; i < s->n; i++)
		t += s->g[i].count;
	return t;
}

/* sum over n-grams of min(count in h, count in r) */
int64_t txt_gramset_match(const struct gramset *h, const struct gramset *r)
{
	int64_t m = 0;
	size_t i = 0, j = 0;
	while (i < h->n && j < r->n) {
		int c = gram_cmp(&h->g[i], &r->g[j]);
		if (c < 0) {
			i++;
		} else if (c > 0) {
			j++;
		} else {
			m += h->g[i].count < r->g[j].count ? h->g[i].count : r->g[j].count;
			i++;
			j++;
		}
	}
	return m;
}

/* out = per n-gram maximum count over sets[0..k) (BLEU's multi-reference counts). */
int txt_gramset_max_merge(const struct gramset *sets, size_t k, struct gramset *out)
{
	size_t total = 0;
	for (size_t i = 0; i < k; i++)
		total += sets[i].n;
	out->n = 0;
	out->g = malloc((total + 1) * sizeof *out->g);
	if (!out->g)
		return -1;
	size_t m = 0;
	for (size_t i = 0; i < k; i++)
		for (size_t j = 0; j < sets[i].n; j++)
			out->g[m++] = sets[i].g[j];
	qsort(out->g, m, sizeof *out->g, gram_cmp);
	for (size_t i = 0; i < m; i++) {
		struct gram *last = out->n ? &out->g[out->n - 1] : NULL;
		if (last && gram_cmp(last, &out->g[i]) == 0) {
			if (out->g[i].count > last->count)
				last->count = out->g[i].count;
		} else {
			out->g[out->n++] = out->g[i];
		}
	}
	return 0;
}

/* Swap the roles of two buffers after a pass wrote b. */
void txt_cp_swap(struct cpbuf *a, struct cpbuf *b)
{
	struct cpbuf t = *a;
	*a = *b;
	*b = t;
}

/* ---------------------------------------------------- per-item text storage */

void txt_itemtext_release(struct itemtext *it)
{
	for (size_t k = 0; k < it->n; k++) {
		txt_cp_release(&it->text[k]);
		free(it->toks[k].p);
	}
	free(it->text);
	free(it->toks);
	*it = (struct itemtext){0};
}

int txt_itemtext_init(struct itemtext *it, const struct met_text_item *item, const char *fn,
			 struct mrl_err *err)
{
	*it = (struct itemtext){0};
	if (!item->hyp || !item->refs || item->n_refs == 0)
		return mrl_err_set(err, MRL_EINPUT, "%s: an item needs a hypothesis and at least one reference", fn);
	for (size_t r = 0; r < item->n_refs; r++)
		if (!item->refs[r])
			return mrl_err_set(err, MRL_EINPUT, "%s: reference %zu is NULL", fn, r);
	it->text = calloc(item->n_refs + 1, sizeof *it->text);
	it->toks = calloc(item->n_refs + 1, sizeof *it->toks);
	if (!it->text || !it->toks) {
		free(it->text);
		free(it->toks);
		*it = (struct itemtext){0};
		return txt_nomem(err, fn);
	}
	it->n = item->n_refs + 1;
	return 0;
}

const char *txt_item_text(const struct met_text_item *item, size_t k)
{
	return k == 0 ? item->hyp : item->refs[k - 1];
}

