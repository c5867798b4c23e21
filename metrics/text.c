/* text.c — BLEU and chrF/chrF++ equal to sacrebleu, with per-item statistics.
 *
 * BLEU and chrF follow sacrebleu 2.x line by line (metrics/bleu.py, chrf.py,
 * helpers.py, tokenizers/tokenizer_13a.py, tokenizer_re.py, tokenizer_intl.py),
 * because "equal to sacrebleu" means equal to its quirks too: Python's
 * str.split() whitespace set, the regex passes applied one after another with
 * re.sub's left-to-right, non-overlapping matching, chrF's word split that cuts
 * one ASCII punctuation character off a word's end or start, and the same
 * floating-point operations in the same order (so scores agree to the last bit
 * where libm's log/exp are the same).
 *
 * Text is decoded once to code points (Python strings are code point
 * sequences). N-grams of any kind are runs of uint32 values: code points for
 * chrF's character n-grams, interned token ids for word n-grams; the counting
 * is in text_base.c. Exact match / F1 / ROUGE-L are in text_qa.c.
 */
#include "metrics/text_int.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#ifdef __clang__
/* the scores must round like sacrebleu's Python: no fused multiply-add */
#pragma STDC FP_CONTRACT OFF
#endif

/* ---------------------------------------------------------- BLEU tokenisers */

/* Python str.replace(from, to) for ASCII from/to; the result goes to out. */
static int cp_replace(const struct cpbuf *in, const char *from, const char *to,
		      struct cpbuf *out)
{
	size_t nf = strlen(from);
	out->n = 0;
	for (size_t i = 0; i < in->n;) {
		size_t k = 0;
		while (k < nf && i + k < in->n && in->p[i + k] == (unsigned char)from[k])
			k++;
		if (k == nf) {
			for (const char *t = to; *t; t++)
				if (txt_cp_push(out, (unsigned char)*t))
					return -1;
			i += nf;
		} else if (txt_cp_push(out, in->p[i++])) {
			return -1;
		}
	}
	return 0;
}

/* One re.sub pass of a two-character pattern (a)(b): with pad_after the
 * replacement is "\1 \2 ", otherwise " \1 \2". Matches are found left to
 * right and do not overlap, as re.sub finds them. */
static int pair_pass(const struct cpbuf *in, int (*match)(uint32_t, uint32_t), int pad_after,
		     struct cpbuf *out)
{
	out->n = 0;
	if (txt_cp_reserve(out, in->n + 16))
		return -1;
	for (size_t i = 0; i < in->n;) {
		if (i + 1 < in->n && match(in->p[i], in->p[i + 1])) {
			uint32_t a = in->p[i], b = in->p[i + 1];
			int rc = pad_after ? txt_cp_push(out, a) || txt_cp_push(out, ' ') || txt_cp_push(out, b) ||
						     txt_cp_push(out, ' ')
					   : txt_cp_push(out, ' ') || txt_cp_push(out, a) || txt_cp_push(out, ' ') ||
						     txt_cp_push(out, b);
			if (rc)
				return -1;
			i += 2;
		} else if (txt_cp_push(out, in->p[i++])) {
			return -1;
		}
	}
	return 0;
}

/* One re.sub pass of a one-character class, replaced by " \1 ". */
static int single_pass(const struct cpbuf *in, int (*match)(uint32_t), struct cpbuf *out)
{
	out->n = 0;
	for (size_t i = 0; i < in->n; i++) {
		uint32_t c = in->p[i];
		int rc = match(c) ? txt_cp_push(out, ' ') || txt_cp_push(out, c) || txt_cp_push(out, ' ')
				  : txt_cp_push(out, c);
		if (rc)
			return -1;
	}
	return 0;
}

static int is_digit(uint32_t c)
{
	return c >= '0' && c <= '9';
}

/* tokenizer_re.py's first class: [\{-\~\[-\` -\&\(-\+\:-\@\/] */
static int re13a_sym(uint32_t c)
{
	return (c >= '{' && c <= '~') || (c >= '[' && c <= '`') || (c >= ' ' && c <= '&') ||
	       (c >= '(' && c <= '+') || (c >= ':' && c <= '@') || c == '/';
}

static int re13a_nondigit_dotcomma(uint32_t a, uint32_t b)
{
	return !is_digit(a) && (b == '.' || b == ',');
}

static int re13a_dotcomma_nondigit(uint32_t a, uint32_t b)
{
	return (a == '.' || a == ',') && !is_digit(b);
}

static int re13a_digit_dash(uint32_t a, uint32_t b)
{
	return is_digit(a) && b == '-';
}

static int intl_nonnum_punct(uint32_t a, uint32_t b)
{
	return !txt_is_cat_n(a) && txt_is_cat_p(b);
}

static int intl_punct_nonnum(uint32_t a, uint32_t b)
{
	return txt_is_cat_p(a) && !txt_is_cat_n(b);
}

/* Tokenise s in place (tokenizer_13a.py after rstrip, without the final
 * split/join: the caller splits on whitespace). tmp is scratch. */
static int tokenize_13a(struct cpbuf *s, struct cpbuf *tmp)
{
	static const char *const repl[][2] = {
		{"<skipped>", ""}, {"-\n", ""}, {"\n", " "},
		{"&quot;", "\""}, {"&amp;", "&"}, {"&lt;", "<"}, {"&gt;", ">"},
	};
	for (size_t r = 0; r < sizeof repl / sizeof repl[0]; r++) {
		if (cp_replace(s, repl[r][0], repl[r][1], tmp))
			return -1;
		txt_cp_swap(s, tmp);
	}
	tmp->n = 0;
	if (txt_cp_push(tmp, ' ') || txt_cp_reserve(tmp, s->n + 1))
		return -1;
	if (s->n)
		memcpy(tmp->p + 1, s->p, s->n * sizeof *s->p);
	tmp->n += s->n;
	if (txt_cp_push(tmp, ' '))
		return -1;
	txt_cp_swap(s, tmp);
	if (single_pass(s, re13a_sym, tmp))
		return -1;
	txt_cp_swap(s, tmp);
	if (pair_pass(s, re13a_nondigit_dotcomma, 1, tmp))
		return -1;
	txt_cp_swap(s, tmp);
	if (pair_pass(s, re13a_dotcomma_nondigit, 0, tmp))
		return -1;
	txt_cp_swap(s, tmp);
	if (pair_pass(s, re13a_digit_dash, 1, tmp))
		return -1;
	txt_cp_swap(s, tmp);
	return 0;
}

/* tokenizer_intl.py without the final split/join. */
static int tokenize_intl(struct cpbuf *s, struct cpbuf *tmp)
{
	if (pair_pass(s, intl_nonnum_punct, 1, tmp))
		return -1;
	txt_cp_swap(s, tmp);
	if (pair_pass(s, intl_punct_nonnum, 0, tmp))
		return -1;
	txt_cp_swap(s, tmp);
	if (single_pass(s, txt_is_cat_s, tmp))
		return -1;
	txt_cp_swap(s, tmp);
	return 0;
}

/* Decode text, rstrip, tokenise; the token spans go to toks. */
static int bleu_prepare(const char *text, enum met_bleu_tok tok, struct cpbuf *s,
			struct spanbuf *toks, const char *fn, struct mrl_err *err)
{
	struct cpbuf tmp = {0};
	int rc = txt_cp_decode(text, s, fn, err);
	if (rc)
		return rc;
	while (s->n > 0 && txt_is_py_space(s->p[s->n - 1]))
		s->n--;
	if (tok == MET_BLEU_TOK_13A)
		rc = tokenize_13a(s, &tmp);
	else if (tok == MET_BLEU_TOK_INTL)
		rc = tokenize_intl(s, &tmp);
	else
		rc = 1;
	txt_cp_release(&tmp);
	if (rc > 0)
		return mrl_err_set(err, MRL_EINPUT, "%s: unknown tokeniser %d", fn, (int)tok);
	toks->n = 0;
	if (rc || txt_split_ws(s, toks))
		return txt_nomem(err, fn);
	return 0;
}

int met_bleu_tokenize(const char *s, enum met_bleu_tok tok, char **out, struct mrl_err *err)
{
	struct cpbuf text = {0}, joined = {0};
	struct spanbuf toks = {0};
	*out = NULL;
	int rc = bleu_prepare(s, tok, &text, &toks, "met_bleu_tokenize", err);
	for (size_t t = 0; !rc && t < toks.n; t++) {
		if ((t > 0 && txt_cp_push(&joined, ' ')) || txt_cp_reserve(&joined, toks.p[t].len)) {
			rc = txt_nomem(err, "met_bleu_tokenize");
			break;
		}
		memcpy(joined.p + joined.n, text.p + toks.p[t].off, toks.p[t].len * sizeof *text.p);
		joined.n += toks.p[t].len;
	}
	if (!rc && !(*out = txt_cp_encode(&joined)))
		rc = txt_nomem(err, "met_bleu_tokenize");
	txt_cp_release(&text);
	txt_cp_release(&joined);
	free(toks.p);
	return rc;
}

/* ------------------------------------------------------------------- BLEU */

/* The closest reference length to hyp_len; ties go to the shorter. */
static int64_t closest_ref_len(int64_t hyp_len, const struct idseqs *q)
{
	int64_t best_diff = -1, best_len = -1;
	for (size_t k = 1; k < q->n_seq; k++) {
		int64_t len = (int64_t)(q->start[k + 1] - q->start[k]);
		int64_t diff = hyp_len > len ? hyp_len - len : len - hyp_len;
		if (best_diff == -1 || diff < best_diff) {
			best_diff = diff;
			best_len = len;
		} else if (diff == best_diff && len < best_len) {
			best_len = len;
		}
	}
	return best_len;
}

/* Clipped matches and totals of order ord against the per-n-gram maximum over refs. */
static int bleu_order_counts(const struct idseqs *q, size_t ord, int64_t *correct,
			     int64_t *total)
{
	size_t n_refs = q->n_seq - 1;
	struct gramset hyp = {0}, refmax = {0};
	struct gramset *refs = calloc(n_refs, sizeof *refs);
	int rc = refs ? 0 : -1;
	if (!rc)
		rc = txt_gramset_build(q->ids, q->start[1], ord, &hyp);
	for (size_t r = 0; !rc && r < n_refs; r++)
		rc = txt_gramset_build(q->ids + q->start[r + 1], q->start[r + 2] - q->start[r + 1], ord,
				   &refs[r]);
	if (!rc)
		rc = txt_gramset_max_merge(refs, n_refs, &refmax);
	if (!rc) {
		*total = txt_gramset_total(&hyp);
		*correct = txt_gramset_match(&hyp, &refmax);
	}
	for (size_t r = 0; refs && r < n_refs; r++)
		txt_gramset_release(&refs[r]);
	free(refs);
	txt_gramset_release(&hyp);
	txt_gramset_release(&refmax);
	return rc;
}

int met_bleu_item_stats(const struct met_text_item *item, enum met_bleu_tok tok,
			struct met_bleu_stats *out, struct mrl_err *err)
{
	static const char fn[] = "met_bleu_item_stats";
	struct itemtext it;
	struct idseqs q = {0};
	*out = (struct met_bleu_stats){0};
	int rc = txt_itemtext_init(&it, item, fn, err);
	if (rc)
		return rc;
	for (size_t k = 0; !rc && k < it.n; k++)
		rc = bleu_prepare(txt_item_text(item, k), tok, &it.text[k], &it.toks[k], fn, err);
	if (!rc && txt_intern_tokens(it.text, it.toks, it.n, &q))
		rc = txt_nomem(err, fn);
	if (!rc) {
		out->hyp_len = (int64_t)q.start[1];
		out->ref_len = closest_ref_len(out->hyp_len, &q);
	}
	for (size_t ord = 1; !rc && ord <= MET_BLEU_ORDER; ord++)
		if (bleu_order_counts(&q, ord, &out->correct[ord - 1], &out->total[ord - 1]))
			rc = txt_nomem(err, fn);
	txt_idseqs_release(&q);
	txt_itemtext_release(&it);
	return rc;
}

/* sacrebleu's my_log: log with log(0) floored */
static double floored_log(double x)
{
	return x == 0.0 ? -9999999999.0 : log(x);
}

/* BLEU.compute_bleu with smooth_method 'exp', operation for operation. */
static double bleu_from_sums(const struct met_bleu_stats *s, int effective_order)
{
	double bp = 1.0;
	if (s->hyp_len < s->ref_len)
		bp = s->hyp_len > 0 ? exp(1.0 - (double)s->ref_len / (double)s->hyp_len) : 0.0;
	int any = 0;
	for (int i = 0; i < MET_BLEU_ORDER; i++)
		any |= s->correct[i] != 0;
	if (!any)
		return 0.0;
	double prec[MET_BLEU_ORDER] = {0}, smooth = 1.0;
	int eff = MET_BLEU_ORDER;
	for (int n = 1; n <= MET_BLEU_ORDER; n++) {
		double total = (double)s->total[n - 1];
		if (s->total[n - 1] == 0)
			break;
		if (effective_order)
			eff = n;
		if (s->correct[n - 1] == 0) {
			smooth *= 2;
			prec[n - 1] = 100.0 / (smooth * total);
		} else {
			prec[n - 1] = 100.0 * (double)s->correct[n - 1] / total;
		}
	}
	double sum = 0.0;
	for (int i = 0; i < eff; i++)
		sum += floored_log(prec[i]);
	return bp * exp(sum / eff);
}

double met_bleu_score(const struct met_bleu_stats *stats, const size_t *idx, size_t n,
		      int effective_order)
{
	struct met_bleu_stats sum = {0};
	for (size_t i = 0; i < n; i++) {
		const struct met_bleu_stats *s = &stats[idx ? idx[i] : i];
		sum.hyp_len += s->hyp_len;
		sum.ref_len += s->ref_len;
		for (int k = 0; k < MET_BLEU_ORDER; k++) {
			sum.correct[k] += s->correct[k];
			sum.total[k] += s->total[k];
		}
	}
	return bleu_from_sums(&sum, effective_order);
}

int met_bleu_corpus(const struct met_text_item *items, size_t n, enum met_bleu_tok tok,
		    double *score, struct mrl_err *err)
{
	struct met_bleu_stats *stats = malloc((n + 1) * sizeof *stats);
	int rc = stats ? 0 : txt_nomem(err, "met_bleu_corpus");
	for (size_t i = 0; !rc && i < n; i++) {
		rc = met_bleu_item_stats(&items[i], tok, &stats[i], err);
		if (rc)
			mrl_err_prefix(err, "item %zu", i);
	}
	*score = rc ? NAN : met_bleu_score(stats, NULL, n, 0);
	free(stats);
	return rc;
}

int met_bleu_sentence(const struct met_text_item *item, enum met_bleu_tok tok, double *score,
		      struct mrl_err *err)
{
	struct met_bleu_stats s;
	int rc = met_bleu_item_stats(item, tok, &s, err);
	*score = rc ? NAN : met_bleu_score(&s, NULL, 1, 1);
	return rc;
}

/* ------------------------------------------------------------------- chrF */

/* chrF's word split (CHRF._remove_punctuation): whitespace-separated words; a
 * word longer than one character loses one ASCII punctuation character from its
 * end, or else from its start, as a token of its own. */
static int chrf_words(const struct cpbuf *s, struct spanbuf *out)
{
	struct spanbuf words = {0};
	int rc = txt_split_ws(s, &words);
	for (size_t w = 0; !rc && w < words.n; w++) {
		struct span sp = words.p[w];
		if (sp.len == 1)
			rc = txt_span_push(out, sp.off, 1);
		else if (txt_is_ascii_punct(s->p[sp.off + sp.len - 1]))
			rc = txt_span_push(out, sp.off, sp.len - 1) || txt_span_push(out, sp.off + sp.len - 1, 1);
		else if (txt_is_ascii_punct(s->p[sp.off]))
			rc = txt_span_push(out, sp.off, 1) || txt_span_push(out, sp.off + 1, sp.len - 1);
		else
			rc = txt_span_push(out, sp.off, sp.len);
	}
	free(words.p);
	return rc;
}

/* The text without whitespace, for character n-grams. */
static int chrf_chars(const struct cpbuf *s, struct cpbuf *out)
{
	out->n = 0;
	if (txt_cp_reserve(out, s->n + 1))
		return -1;
	for (size_t i = 0; i < s->n; i++)
		if (!txt_is_py_space(s->p[i]))
			out->p[out->n++] = s->p[i];
	return 0;
}

/* CHRF._compute_f_score without eps smoothing, operation for operation. */
static double chrf_f(const struct met_chrf_stats *s, int beta)
{
	const double eps = 1e-16;
	double factor = (double)beta * (double)beta, avg_prec = 0.0, avg_rec = 0.0;
	int eff = 0;
	for (int i = 0; i < s->n_orders; i++) {
		double prec = s->hyp[i] > 0 ? (double)s->match[i] / (double)s->hyp[i] : eps;
		double rec = s->ref[i] > 0 ? (double)s->match[i] / (double)s->ref[i] : eps;
		if (s->hyp[i] > 0 && s->ref[i] > 0) {
			avg_prec += prec;
			avg_rec += rec;
			eff++;
		}
	}
	if (eff == 0) {
		avg_prec = avg_rec = 0.0;
	} else {
		avg_prec /= eff;
		avg_rec /= eff;
	}
	if (avg_prec + avg_rec == 0.0)
		return 0.0;
	double score = (1.0 + factor) * avg_prec * avg_rec;
	double denom = factor * avg_prec;
	denom += avg_rec;
	score /= denom;
	return 100.0 * score;
}

/* One order's triple (hyp, ref, match), as CHRF._get_match_statistics. */
static void chrf_triple(const struct gramset *h, const struct gramset *r, int i,
			struct met_chrf_stats *s)
{
	s->hyp[i] = r->n ? txt_gramset_total(h) : 0;
	s->ref[i] = txt_gramset_total(r);
	s->match[i] = txt_gramset_match(h, r);
}

/* The n-gram sets of every order of one text: chars (no whitespace) and
 * word ids [w0, w1). */
static int chrf_grams(const struct cpbuf *chars, const uint32_t *words, size_t n_words,
		      const struct met_chrf_opts *o, struct gramset *g)
{
	for (int n = 1; n <= o->char_order; n++)
		if (txt_gramset_build(chars->p, chars->n, (size_t)n, &g[n - 1]))
			return -1;
	for (int n = 1; n <= o->word_order; n++)
		if (txt_gramset_build(words, n_words, (size_t)n, &g[o->char_order + n - 1]))
			return -1;
	return 0;
}

static int chrf_check_opts(const struct met_chrf_opts *o, const char *fn, struct mrl_err *err)
{
	if (o->char_order < 1 || o->word_order < 0 || o->beta < 1 ||
	    o->char_order + o->word_order > MET_CHRF_MAX_ORDER)
		return mrl_err_set(err, MRL_EINPUT, "%s: bad options (char_order %d, word_order %d, beta %d)",
				   fn, o->char_order, o->word_order, o->beta);
	return 0;
}

/* Stats of the hypothesis against each reference; the best sentence chrF wins. */
static int chrf_best(const struct itemtext *it, const struct idseqs *q,
		     const struct met_chrf_opts *o, struct met_chrf_stats *out)
{
	int n_ord = o->char_order + o->word_order, rc = 0;
	struct gramset hg[MET_CHRF_MAX_ORDER] = {{0}}, rg[MET_CHRF_MAX_ORDER] = {{0}};
	struct cpbuf hchars = {0}, rchars = {0}; /* the n-grams point into these */
	double best = -1.0;
	rc = chrf_chars(&it->text[0], &hchars) || chrf_grams(&hchars, q->ids, q->start[1], o, hg);
	for (size_t k = 1; !rc && k < it->n; k++) {
		rc = chrf_chars(&it->text[k], &rchars) ||
		     chrf_grams(&rchars, q->ids + q->start[k], q->start[k + 1] - q->start[k], o, rg);
		struct met_chrf_stats s = {.n_orders = n_ord};
		for (int i = 0; !rc && i < n_ord; i++)
			chrf_triple(&hg[i], &rg[i], i, &s);
		for (int i = 0; i < n_ord; i++)
			txt_gramset_release(&rg[i]);
		double f = rc ? 0.0 : chrf_f(&s, o->beta);
		if (!rc && f > best) {
			best = f;
			*out = s;
		}
	}
	for (int i = 0; i < n_ord; i++)
		txt_gramset_release(&hg[i]);
	txt_cp_release(&hchars);
	txt_cp_release(&rchars);
	return rc ? -1 : 0;
}

int met_chrf_item_stats(const struct met_text_item *item, const struct met_chrf_opts *opts,
			struct met_chrf_stats *out, struct mrl_err *err)
{
	static const char fn[] = "met_chrf_item_stats";
	struct itemtext it;
	struct idseqs q = {0};
	*out = (struct met_chrf_stats){0};
	int rc = chrf_check_opts(opts, fn, err);
	if (!rc)
		rc = txt_itemtext_init(&it, item, fn, err);
	if (rc)
		return rc;
	for (size_t k = 0; !rc && k < it.n; k++) {
		rc = txt_cp_decode(txt_item_text(item, k), &it.text[k], fn, err);
		if (!rc && opts->word_order > 0 && chrf_words(&it.text[k], &it.toks[k]))
			rc = txt_nomem(err, fn);
	}
	if (!rc && txt_intern_tokens(it.text, it.toks, it.n, &q))
		rc = txt_nomem(err, fn);
	if (!rc && chrf_best(&it, &q, opts, out))
		rc = txt_nomem(err, fn);
	txt_idseqs_release(&q);
	txt_itemtext_release(&it);
	return rc;
}

double met_chrf_score(const struct met_chrf_stats *stats, const size_t *idx, size_t n, int beta)
{
	struct met_chrf_stats sum = {0};
	for (size_t i = 0; i < n; i++) {
		const struct met_chrf_stats *s = &stats[idx ? idx[i] : i];
		assert(i == 0 || s->n_orders == sum.n_orders);
		sum.n_orders = s->n_orders;
		for (int k = 0; k < s->n_orders; k++) {
			sum.hyp[k] += s->hyp[k];
			sum.ref[k] += s->ref[k];
			sum.match[k] += s->match[k];
		}
	}
	return chrf_f(&sum, beta);
}

int met_chrf_corpus(const struct met_text_item *items, size_t n,
		    const struct met_chrf_opts *opts, double *score, struct mrl_err *err)
{
	struct met_chrf_stats *stats = malloc((n + 1) * sizeof *stats);
	int rc = stats ? 0 : txt_nomem(err, "met_chrf_corpus");
	for (size_t i = 0; !rc && i < n; i++) {
		rc = met_chrf_item_stats(&items[i], opts, &stats[i], err);
		if (rc)
			mrl_err_prefix(err, "item %zu", i);
	}
	*score = rc ? NAN : met_chrf_score(stats, NULL, n, opts->beta);
	free(stats);
	return rc;
}

int met_chrf_sentence(const struct met_text_item *item, const struct met_chrf_opts *opts,
		      double *score, struct mrl_err *err)
{
	struct met_chrf_stats s;
	int rc = met_chrf_item_stats(item, opts, &s, err);
	*score = rc ? NAN : met_chrf_score(&s, NULL, 1, opts->beta);
	return rc;
}

