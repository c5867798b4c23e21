/* text_int.h — what metrics/text.c, text_qa.c and text_base.c share: decoded
 * text as code points, Python's whitespace and Unicode categories, token spans,
 * token interning and sorted n-gram counts. Internal to metrics/. */
#ifndef MRL_MET_TEXT_INT_H
#define MRL_MET_TEXT_INT_H

#include <stddef.h>
#include <stdint.h>

#include "metrics/text.h"

/* A decoded text: n code points. */
struct cpbuf {
	uint32_t *p;
	size_t n, cap;
};

/* A run of code points inside a decoded text. */
struct span {
	size_t off, len;
};

struct spanbuf {
	struct span *p;
	size_t n, cap;
};

/* Token sequences of several texts turned into integer ids, equal tokens
 * getting equal ids. */
struct idseqs {
	uint32_t *ids;    /* all sequences back to back */
	size_t *start;    /* sequence k is ids[start[k] .. start[k+1]) */
	size_t n_seq;
};

/* A distinct n-gram (len values at p) and how often it occurs. */
struct gram {
	const uint32_t *p;
	uint32_t len;
	int64_t count;
};

struct gramset {
	struct gram *g;
	size_t n;
};

/* The hypothesis (index 0) and references (1..n_refs) of one item, decoded,
 * with token spans. */
struct itemtext {
	struct cpbuf *text;
	struct spanbuf *toks;
	size_t n; /* 1 + n_refs */
};

/* Code point buffers: push/reserve return -1 when out of memory. */
void txt_cp_release(struct cpbuf *b);
int txt_cp_reserve(struct cpbuf *b, size_t extra);
int txt_cp_push(struct cpbuf *b, uint32_t c);
void txt_cp_swap(struct cpbuf *a, struct cpbuf *b);
/* s -> code points (replacing b's content); invalid UTF-8 is MRL_EINPUT. */
int txt_cp_decode(const char *s, struct cpbuf *b, const char *fn, struct mrl_err *err);
/* Code points -> a new UTF-8 string the caller frees (NULL when out of memory). */
char *txt_cp_encode(const struct cpbuf *b);
/* MRL_ENOMEM with "fn: out of memory". */
int txt_nomem(struct mrl_err *err, const char *fn);

/* Python's str.isspace(): what str.split() and str.rstrip() cut on. */
int txt_is_py_space(uint32_t c);
/* Unicode general category (UTF8PROC_CATEGORY_*) and the P*, S*, N* classes. */
int txt_cat_of(uint32_t c);
int txt_is_cat_p(uint32_t c);
int txt_is_cat_s(uint32_t c);
int txt_is_cat_n(uint32_t c);
/* Python's string.punctuation (ASCII). */
int txt_is_ascii_punct(uint32_t c);

/* Append a span (-1 when out of memory). */
int txt_span_push(struct spanbuf *b, size_t off, size_t len);
/* Python's s.split(): maximal runs of non-whitespace, appended to out. */
int txt_split_ws(const struct cpbuf *s, struct spanbuf *out);

/* Interns the tokens toks[k] of texts[k], k < n_seq, into out (-1 when out of memory). */
int txt_intern_tokens(const struct cpbuf *texts, const struct spanbuf *toks, size_t n_seq,
		      struct idseqs *out);
void txt_idseqs_release(struct idseqs *q);

/* Sorted distinct n-grams of order ord of seq[0..len), with counts. */
int txt_gramset_build(const uint32_t *seq, size_t len, size_t ord, struct gramset *out);
void txt_gramset_release(struct gramset *s);
/* Number of n-grams counted in s. */
int64_t txt_gramset_total(const struct gramset *s);
/* Sum over n-grams of min(count in h, count in r). */
int64_t txt_gramset_match(const struct gramset *h, const struct gramset *r);
/* out = per n-gram maximum count over sets[0..k) (BLEU's multi-reference counts). */
int txt_gramset_max_merge(const struct gramset *sets, size_t k, struct gramset *out);

/* Room for an item's texts (checks it has a hypothesis and references). */
int txt_itemtext_init(struct itemtext *it, const struct met_text_item *item, const char *fn,
		      struct mrl_err *err);
void txt_itemtext_release(struct itemtext *it);
/* Text k of an item: 0 is the hypothesis, k >= 1 reference k-1. */
const char *txt_item_text(const struct met_text_item *item, size_t k);

#endif
