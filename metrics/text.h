/* text.h — metrics of generated text: BLEU, chrF/chrF++ (equal to sacrebleu
 * 2.x with its defaults), SQuAD-style exact match and token F1 (made usable for
 * Bosnian/Croatian/Montenegrin/Serbian in either script), and ROUGE-L.
 *
 * The idea: BLEU and chrF are corpus metrics, so each item is first reduced to
 * its sufficient statistics (n-gram counts; met_bleu_item_stats,
 * met_chrf_item_stats). A corpus score is a function of the sum of the items'
 * statistics (met_bleu_score, met_chrf_score), which lets a caller resample items
 * (bootstrap, paired bootstrap) and recompute the corpus score without
 * re-tokenising anything. Sentence scores are the same function on one item.
 * Definitions, what equals sacrebleu and the BCMS normalisation choices are in
 * docs/generation-metrics.md.
 *
 * Strings are UTF-8, NUL-terminated; invalid UTF-8 is MRL_EINPUT. Functions that
 * can fail return 0 or a negative MRL_E* code and fill err (may be NULL). No
 * global state; every function is safe to call from several threads.
 */
#ifndef MRL_MET_TEXT_H
#define MRL_MET_TEXT_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

/* One scored item: a generated text and its references (n_refs >= 1; the
 * reference strings are not copied or kept). */
struct met_text_item {
	const char *hyp;
	const char *const *refs;
	size_t n_refs;
};

/* ---------------------------------------------------------------- BLEU */

/* sacrebleu's tokenisers: "13a" (mteval-v13a, sacrebleu's default) and "intl"
 * (mteval-v14 international: splits on Unicode punctuation and symbols). */
enum met_bleu_tok {
	MET_BLEU_TOK_13A = 0,
	MET_BLEU_TOK_INTL,
};

#define MET_BLEU_ORDER 4

/* Sufficient statistics of one item (sacrebleu's segment statistics): token
 * counts of the hypothesis and of the closest reference (ties: the shorter),
 * and per n-gram order n = 1..4 (index n-1) the clipped matches against the
 * per-n-gram maximum over references and the hypothesis n-gram total. */
struct met_bleu_stats {
	int64_t hyp_len, ref_len;
	int64_t correct[MET_BLEU_ORDER];
	int64_t total[MET_BLEU_ORDER];
};

/* Statistics of one item under tokeniser tok (case kept; hypothesis and
 * references are right-stripped of whitespace, then tokenised, as sacrebleu does). */
int met_bleu_item_stats(const struct met_text_item *item, enum met_bleu_tok tok,
			struct met_bleu_stats *out, struct mrl_err *err);

/* BLEU (0..100, exp smoothing, brevity penalty) of the summed statistics of a
 * multiset of items: stats[idx[0]], ..., stats[idx[n-1]] (an index may repeat),
 * or stats[0..n-1] when idx is NULL. effective_order = 0 is sacrebleu's
 * corpus_bleu, 1 is its sentence_bleu (orders without any hypothesis n-gram are
 * left out). n = 0 gives 0. */
double met_bleu_score(const struct met_bleu_stats *stats, const size_t *idx, size_t n,
		      int effective_order);

/* sacrebleu.corpus_bleu(hyps, refs, tokenize=tok) of n items. */
int met_bleu_corpus(const struct met_text_item *items, size_t n, enum met_bleu_tok tok,
		    double *score, struct mrl_err *err);

/* sacrebleu.sentence_bleu(hyp, refs, tokenize=tok) (effective order on). */
int met_bleu_sentence(const struct met_text_item *item, enum met_bleu_tok tok,
		      double *score, struct mrl_err *err);

/* The tokenised form of s that BLEU counts (tokens joined by single spaces), as
 * sacrebleu's tokeniser gives it after rstrip(). Caller frees *out. */
int met_bleu_tokenize(const char *s, enum met_bleu_tok tok, char **out, struct mrl_err *err);

/* ---------------------------------------------------------------- chrF */

#define MET_CHRF_MAX_ORDER 12

/* chrF: char_order 6, word_order 0, beta 2 (MET_CHRF_DEFAULTS);
 * chrF++: word_order 2 (MET_CHRFPP_DEFAULTS). char_order >= 1, word_order >= 0,
 * their sum <= MET_CHRF_MAX_ORDER, beta >= 1. Whitespace is not part of
 * character n-grams and case is kept (sacrebleu's defaults). */
struct met_chrf_opts {
	int char_order, word_order, beta;
};
#define MET_CHRF_DEFAULTS ((struct met_chrf_opts){6, 0, 2})
#define MET_CHRFPP_DEFAULTS ((struct met_chrf_opts){6, 2, 2})

/* Sufficient statistics of one item: for each order (character orders 1..c,
 * then word orders 1..w; n_orders = c + w) the hypothesis, reference and
 * matched n-gram counts against the reference with the best sentence chrF
 * (the first on ties). As in sacrebleu, hyp[i] is 0 when the reference has no
 * n-gram of that order. */
struct met_chrf_stats {
	int n_orders;
	int64_t hyp[MET_CHRF_MAX_ORDER], ref[MET_CHRF_MAX_ORDER], match[MET_CHRF_MAX_ORDER];
};

int met_chrf_item_stats(const struct met_text_item *item, const struct met_chrf_opts *opts,
			struct met_chrf_stats *out, struct mrl_err *err);

/* chrF (0..100) of the summed statistics of a multiset of items (idx as in
 * met_bleu_score). All stats must have the same n_orders. n = 0 gives 0. */
double met_chrf_score(const struct met_chrf_stats *stats, const size_t *idx, size_t n,
		      int beta);

/* sacrebleu.corpus_chrf / sentence_chrf with the given orders and beta. */
int met_chrf_corpus(const struct met_text_item *items, size_t n,
		    const struct met_chrf_opts *opts, double *score, struct mrl_err *err);
int met_chrf_sentence(const struct met_text_item *item, const struct met_chrf_opts *opts,
		      double *score, struct mrl_err *err);

/* ------------------------------------------- exact match, token F1, ROUGE-L */

/* Answer normalisation. With drop_articles = 1 and fold_diacritics = 0 it is
 * the SQuAD v1.1 script's normalize_answer on ASCII text. For any text:
 * NFC + Unicode case folding (utf8proc), punctuation removed (Unicode categories
 * P* and ASCII string.punctuation), English articles a/an/the removed as whole
 * words when drop_articles, whitespace collapsed. fold_diacritics strips
 * combining marks (č ć -> c, š -> s, ž -> z) and maps đ -> dj. */
struct met_qa_opts {
	int drop_articles;   /* 1 for English answers; 0 for BCMS (no articles) */
	int fold_diacritics; /* 0 by default: "kuca" is not "kuća" */
};

/* The normalised answer. Caller frees *out. */
int met_qa_normalize(const char *s, const struct met_qa_opts *opts, char **out,
		     struct mrl_err *err);

/* Exact match (0 or 1) and token F1 (0..1), each the maximum over the item's
 * references, as the SQuAD v1.1 script (F1 of two empty answers is 0). */
int met_qa_exact(const struct met_text_item *item, const struct met_qa_opts *opts,
		 double *em, struct mrl_err *err);
int met_qa_f1(const struct met_text_item *item, const struct met_qa_opts *opts, double *f1,
	      struct mrl_err *err);

/* ROUGE-L F1 (0..1): longest common subsequence of the normalised tokens,
 * F = 2PR/(P+R), maximum over references (0 when either side is empty). */
int met_rouge_l(const struct met_text_item *item, const struct met_qa_opts *opts,
		double *f, struct mrl_err *err);

#endif
