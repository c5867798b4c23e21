/* text_qa.c — exact match, token F1 and ROUGE-L on normalised answers.
 *
 * The normalisation is SQuAD v1.1's normalize_answer (lower case, drop
 * punctuation, drop a/an/the, collapse whitespace), made to work for BCMS:
 * Unicode case folding and NFC via utf8proc, punctuation by Unicode category,
 * articles only where asked (English), diacritics folded only where asked.
 * On ASCII text with drop_articles it gives exactly what the SQuAD script gives.
 */
#include "metrics/text_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

/* ------------------------------------------ exact match, token F1, ROUGE-L */

/* Python's \w as re sees it in str patterns: letters, numbers, underscore. */
static int is_word_char(uint32_t c)
{
	int k = txt_cat_of(c);
	return c == '_' || (k >= UTF8PROC_CATEGORY_LU && k <= UTF8PROC_CATEGORY_LO) ||
	       (k >= UTF8PROC_CATEGORY_ND && k <= UTF8PROC_CATEGORY_NO);
}

/* re.sub(r'\b(a|an|the)\b', ' ', s): in -> out. */
static int drop_articles(const struct cpbuf *in, struct cpbuf *out)
{
	static const char *const articles[] = {"a", "an", "the"};
	out->n = 0;
	for (size_t i = 0; i < in->n;) {
		int left = i > 0 && is_word_char(in->p[i - 1]);
		size_t hit = 0;
		for (size_t a = 0; !left && !hit && a < 3; a++) {
			size_t len = strlen(articles[a]), k = 0;
			while (k < len && i + k < in->n && in->p[i + k] == (unsigned char)articles[a][k])
				k++;
			if (k == len && !(i + len < in->n && is_word_char(in->p[i + len])))
				hit = len;
		}
		if (hit) {
			if (txt_cp_push(out, ' '))
				return -1;
			i += hit;
		} else if (txt_cp_push(out, in->p[i++])) {
			return -1;
		}
	}
	return 0;
}

/* SQuAD's normalize_answer up to the final split: case fold (NFC), drop
 * punctuation, drop articles; then the whitespace-separated tokens. */
static int qa_tokens(const char *s, const struct met_qa_opts *o, struct cpbuf *text,
		     struct spanbuf *toks, const char *fn, struct mrl_err *err)
{
	utf8proc_uint8_t *folded = NULL;
	int flags = UTF8PROC_NULLTERM | UTF8PROC_STABLE | UTF8PROC_COMPOSE | UTF8PROC_CASEFOLD |
		    (o->fold_diacritics ? UTF8PROC_STRIPMARK : 0);
	utf8proc_ssize_t n = utf8proc_map((const utf8proc_uint8_t *)s, 0, &folded, flags);
	if (n < 0)
		return mrl_err_set(err, n == UTF8PROC_ERROR_NOMEM ? MRL_ENOMEM : MRL_EINPUT, "%s: %s",
				   fn, utf8proc_errmsg(n));
	struct cpbuf raw = {0};
	int rc = txt_cp_decode((const char *)folded, &raw, fn, err);
	free(folded);
	text->n = 0;
	for (size_t i = 0; !rc && i < raw.n; i++) {
		uint32_t c = raw.p[i];
		if (txt_is_ascii_punct(c) || txt_is_cat_p(c))
			continue;
		if (o->fold_diacritics && c == 0x111) /* đ (Đ is folded already) */
			rc = txt_cp_push(text, 'd') || txt_cp_push(text, 'j');
		else
			rc = txt_cp_push(text, c);
		if (rc)
			rc = txt_nomem(err, fn);
	}
	if (!rc && o->drop_articles) {
		if (drop_articles(text, &raw))
			rc = txt_nomem(err, fn);
		else
			txt_cp_swap(text, &raw);
	}
	txt_cp_release(&raw);
	toks->n = 0;
	if (!rc && txt_split_ws(text, toks))
		rc = txt_nomem(err, fn);
	return rc;
}

int met_qa_normalize(const char *s, const struct met_qa_opts *opts, char **out,
		     struct mrl_err *err)
{
	struct cpbuf text = {0}, joined = {0};
	struct spanbuf toks = {0};
	*out = NULL;
	int rc = qa_tokens(s, opts, &text, &toks, "met_qa_normalize", err);
	for (size_t t = 0; !rc && t < toks.n; t++) {
		if ((t > 0 && txt_cp_push(&joined, ' ')) || txt_cp_reserve(&joined, toks.p[t].len)) {
			rc = txt_nomem(err, "met_qa_normalize");
			break;
		}
		memcpy(joined.p + joined.n, text.p + toks.p[t].off, toks.p[t].len * sizeof *text.p);
		joined.n += toks.p[t].len;
	}
	if (!rc && !(*out = txt_cp_encode(&joined)))
		rc = txt_nomem(err, "met_qa_normalize");
	txt_cp_release(&text);
	txt_cp_release(&joined);
	free(toks.p);
	return rc;
}

/* Normalised, interned tokens of an item's prediction (sequence 0) and references. */
static int qa_prepare(const struct met_text_item *item, const struct met_qa_opts *o,
		      struct itemtext *it, struct idseqs *q, const char *fn, struct mrl_err *err)
{
	*q = (struct idseqs){0};
	int rc = txt_itemtext_init(it, item, fn, err);
	if (rc)
		return rc;
	for (size_t k = 0; !rc && k < it->n; k++)
		rc = qa_tokens(txt_item_text(item, k), o, &it->text[k], &it->toks[k], fn, err);
	if (!rc && txt_intern_tokens(it->text, it->toks, it->n, q))
		rc = txt_nomem(err, fn);
	if (rc)
		txt_itemtext_release(it);
	return rc;
}

enum qa_kind { QA_EXACT, QA_F1, QA_ROUGE_L };

/* Length of the longest common subsequence of a and b. */
static int64_t lcs_len(const uint32_t *a, size_t na, const uint32_t *b, size_t nb, int64_t *row)
{
	for (size_t j = 0; j <= nb; j++)
		row[j] = 0;
	for (size_t i = 1; i <= na; i++) {
		int64_t diag = 0; /* row[j-1] of the previous i */
		for (size_t j = 1; j <= nb; j++) {
			int64_t up = row[j];
			row[j] = a[i - 1] == b[j - 1] ? diag + 1 : (up > row[j - 1] ? up : row[j - 1]);
			diag = up;
		}
	}
	return row[nb];
}

/* One reference's score of kind kind; row has room for the reference's tokens + 1. */
static double qa_score_one(const struct idseqs *q, size_t k, enum qa_kind kind, int64_t *row)
{
	const uint32_t *p = q->ids, *r = q->ids + q->start[k];
	size_t np = q->start[1], nr = q->start[k + 1] - q->start[k];
	if (kind == QA_EXACT)
		return np == nr && memcmp(p, r, np * sizeof *p) == 0 ? 1.0 : 0.0;
	int64_t same;
	if (kind == QA_ROUGE_L) {
		same = lcs_len(p, np, r, nr, row);
	} else {
		struct gramset gp = {0}, gr = {0};
		if (txt_gramset_build(p, np, 1, &gp) || txt_gramset_build(r, nr, 1, &gr))
			same = -1;
		else
			same = txt_gramset_match(&gp, &gr);
		txt_gramset_release(&gp);
		txt_gramset_release(&gr);
		if (same < 0)
			return NAN;
	}
	if (same == 0)
		return 0.0;
	double precision = 1.0 * (double)same / (double)np;
	double recall = 1.0 * (double)same / (double)nr;
	return (2 * precision * recall) / (precision + recall);
}

static int qa_score(const struct met_text_item *item, const struct met_qa_opts *o,
		    enum qa_kind kind, double *score, const char *fn, struct mrl_err *err)
{
	struct itemtext it;
	struct idseqs q;
	int64_t *row = NULL;
	*score = NAN;
	int rc = qa_prepare(item, o, &it, &q, fn, err);
	if (rc)
		return rc;
	size_t longest = 0;
	for (size_t k = 1; k < q.n_seq; k++)
		if (q.start[k + 1] - q.start[k] > longest)
			longest = q.start[k + 1] - q.start[k];
	row = malloc((longest + 1) * sizeof *row);
	if (!row)
		rc = txt_nomem(err, fn);
	double best = 0.0;
	for (size_t k = 1; !rc && k < q.n_seq; k++) {
		double s = qa_score_one(&q, k, kind, row);
		if (isnan(s))
			rc = txt_nomem(err, fn);
		else if (s > best)
			best = s;
	}
	if (!rc)
		*score = best;
	free(row);
	txt_idseqs_release(&q);
	txt_itemtext_release(&it);
	return rc;
}

int met_qa_exact(const struct met_text_item *item, const struct met_qa_opts *opts,
		 double *em, struct mrl_err *err)
{
	return qa_score(item, opts, QA_EXACT, em, "met_qa_exact", err);
}

int met_qa_f1(const struct met_text_item *item, const struct met_qa_opts *opts, double *f1,
	      struct mrl_err *err)
{
	return qa_score(item, opts, QA_F1, f1, "met_qa_f1", err);
}

int met_rouge_l(const struct met_text_item *item, const struct met_qa_opts *opts, double *f,
		struct mrl_err *err)
{
	return qa_score(item, opts, QA_ROUGE_L, f, "met_rouge_l", err);
}
