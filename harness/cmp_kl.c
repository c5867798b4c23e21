/* cmp_kl.c — merilo compare's KL section: when both runs stored per-token
 * log-probabilities, align their choice sequences (same tokens, same prompt)
 * and get KL(base || candidate), top-1 agreement and |delta logprob| per
 * position from reports/ (rpt_kl_position, rpt_kl_summarize), per task x
 * language and overall; gated only with --gate-kl. What could not be aligned
 * is said in the comparison's notes. Split from cmd_compare.c.
 */
#include "harness/cmp_int.h"
#include "harness/hrn.h"
#include "records/done_set.h"
#include "records/item.h"
#include "records/item_writer.h"
#include "records/items.h"
#include "records/results.h"
#include "common/sort.h"
#include "metrics/met.h"
#include "reports/rpt.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool run_has_logprobs(const struct rec_items *items)
{
	for (size_t i = 0; i < items->n; i++)
		if (items->items[i].logprobs)
			return true;
	return false;
}


/* Per-position figures of every aligned sequence, in group order: a group's
 * positions are one contiguous range, so the overall row is the whole array. */
struct kl_acc {
	double *adl;                   /* n: |logprob_cand - logprob_base| */
	size_t n, cap;
	double *kl, *covered;          /* n_topk: positions with top-K lists in both runs */
	double *mass;                  /* n_topk: the smaller of the two lists' probability mass */
	bool *top1;
	size_t n_topk, cap_topk;
};

static void kl_acc_release(struct kl_acc *a)
{
	free(a->adl);
	free(a->kl);
	free(a->covered);
	free(a->mass);
	free(a->top1);
	memset(a, 0, sizeof *a);
}

static int kl_acc_reserve(struct kl_acc *a, size_t extra)
{
	if (a->n + extra > a->cap) {
		size_t cap = a->cap ? a->cap : 1024;
		while (cap < a->n + extra)
			cap *= 2;
		double *v = realloc(a->adl, cap * sizeof *v);
		if (!v)
			return MRL_ENOMEM;
		a->adl = v;
		a->cap = cap;
	}
	if (a->n_topk + extra > a->cap_topk) {
		size_t cap = a->cap_topk ? a->cap_topk : 1024;
		while (cap < a->n_topk + extra)
			cap *= 2;
		double *k = realloc(a->kl, cap * sizeof *k);
		if (k)
			a->kl = k;
		double *c = realloc(a->covered, cap * sizeof *c);
		if (c)
			a->covered = c;
		bool *t = realloc(a->top1, cap * sizeof *t);
		if (t)
			a->top1 = t;
		double *m = realloc(a->mass, cap * sizeof *m);
		if (m)
			a->mass = m;
		if (!k || !c || !t || !m)
			return MRL_ENOMEM;
		a->cap_topk = cap;
	}
	return 0;
}

/* The run's settings.extra.bos_used: 1 / 0, or -1 when not recorded. */
static int run_bos_used(const struct rec_results *r)
{
	json_t *b = r->settings.extra ? json_object_get(r->settings.extra, "bos_used") : NULL;
	return json_is_boolean(b) ? json_is_true(b) : -1;
}

/* The probability mass a top-K list holds: the sum of exp of its log-probabilities. */
static double topk_mass(const double *lp, size_t k)
{
	double m = 0;
	for (size_t j = 0; j < k; j++)
		m += exp(lp[j]);
	return m;
}

/* The minimum and median of mass[0..n) into the row (NaN when n is 0). */
static int mass_stats(const double *mass, size_t n, struct rpt_kl_row *row, struct mrl_err *err)
{
	row->topk_mass_min = row->topk_mass_median = NAN;
	if (!n)
		return 0;
	double *v = malloc(n * sizeof *v);
	if (!v)
		return mrl_err_set(err, MRL_ENOMEM, "out of memory");
	memcpy(v, mass, n * sizeof *v);
	qsort(v, n, sizeof *v, mrl_cmp_double);
	row->topk_mass_min = v[0];
	row->topk_mass_median = met_percentile_sorted(v, n, 50);
	free(v);
	return 0;
}

/* Counts over the whole comparison, for the notes. */
struct kl_counts {
	size_t one_sided;      /* paired choices with log-probabilities in one run only */
	size_t skipped_tokens, skipped_prompt;
	size_t no_topk;        /* aligned sequences without top-K lists in a run (--store-topk 0) */
};

/* One aligned sequence: push its positions. where names it for messages. */
static int kl_add_sequence(struct kl_acc *a, const struct rec_token_logprobs *lb,
			   const struct rec_token_logprobs *lc, const char *where, struct mrl_err *err)
{
	if (kl_acc_reserve(a, lb->n))
		return mrl_err_set(err, MRL_ENOMEM, "out of memory");
	bool topk = lb->k > 0 && lc->k > 0;
	for (size_t i = 0; i < lb->n; i++) {
		double b = lb->logprob[i], c = lc->logprob[i];
		a->adl[a->n++] = b == c ? 0.0 : fabs(c - b); /* two -inf: the same (0), not NaN */
		if (!topk)
			continue;
		const int32_t *ib = lb->top_id + i * lb->k, *ic = lc->top_id + i * lc->k;
		double kl, cov;
		int rc = rpt_kl_position(ib, lb->top_logprob + i * lb->k, lb->k, ic, lc->top_logprob + i * lc->k, lc->k,
					 &kl, &cov, err);
		if (rc) {
			char why[sizeof err->msg];
			snprintf(why, sizeof why, "%s", err->msg);
			return mrl_err_set(err, rc, "%s, position %zu: %s", where, i, why);
		}
		a->kl[a->n_topk] = kl;
		a->covered[a->n_topk] = cov;
		a->mass[a->n_topk] = topk_mass(lb->top_logprob + i * lb->k, lb->k);
		double mc = topk_mass(lc->top_logprob + i * lc->k, lc->k);
		if (mc < a->mass[a->n_topk])
			a->mass[a->n_topk] = mc;
		a->top1[a->n_topk++] = ib[0] == ic[0];
	}
	return 0;
}

/* One task x language present in both runs (B[0..nb), C[0..nc), sorted by item id):
 * align its choice sequences and append a row when any paired sequence had
 * log-probabilities in both runs. */
static int kl_group(struct cmp_state *st, const struct cmp_opts *o, const struct rec_item *const *B, size_t nb,
		    const struct rec_item *const *C, size_t nc, struct kl_acc *a, struct kl_counts *cnt,
		    struct mrl_err *err)
{
	struct rpt_kl_row row = { .task = B[0]->task, .language = B[0]->language };
	size_t start = a->n, start_topk = a->n_topk;
	for (size_t i = 0, j = 0; i < nb && j < nc;) {
		int c = strcmp(B[i]->item_id, C[j]->item_id);
		if (c) {
			c < 0 ? i++ : j++;
			continue;
		}
		const struct rec_item *ib = B[i++], *ic = C[j++];
		size_t nch = ib->n_choices < ic->n_choices ? ib->n_choices : ic->n_choices;
		for (size_t ch = 0; ch < nch; ch++) {
			const struct rec_token_logprobs *lb = rec_item_logprobs(ib, ch), *lc = rec_item_logprobs(ic, ch);
			if (!lb && !lc)
				continue;
			if (!lb || !lc) {
				cnt->one_sided++;
				continue;
			}
			if (lb->n != lc->n || (lb->n && memcmp(lb->tokens, lc->tokens, lb->n * sizeof *lb->tokens))) {
				row.n_skipped_tokens++;
				continue;
			}
			if (ib->prompt && ic->prompt && strcmp(ib->prompt, ic->prompt)) {
				row.n_skipped_prompt++;
				continue;
			}
			row.n_sequences++;
			cnt->no_topk += !(lb->k && lc->k);
			char where[512];
			snprintf(where, sizeof where, "%s vs %s: items.jsonl: task '%s', item '%s', language '%s', choice %zu",
				 o->base_dir, o->cand_dir, ib->task, ib->item_id, ib->language, ch);
			int rc = kl_add_sequence(a, lb, lc, where, err);
			if (rc)
				return rc;
		}
	}
	cnt->skipped_tokens += row.n_skipped_tokens;
	cnt->skipped_prompt += row.n_skipped_prompt;
	if (!row.n_sequences && !row.n_skipped_tokens && !row.n_skipped_prompt)
		return 0;
	/* an empty range is passed as NULL: the arrays stay NULL until a first position
	 * is added (every paired sequence skipped, or no top-K lists), and NULL + 0 is
	 * undefined behaviour (clang's UBSan: "applying zero offset to null pointer") */
	size_t n_topk = a->n_topk - start_topk, n = a->n - start;
	int rc = rpt_kl_summarize(n_topk ? a->kl + start_topk : NULL, n_topk ? a->covered + start_topk : NULL,
				  n_topk ? a->top1 + start_topk : NULL, n_topk, n ? a->adl + start : NULL, n, &row, err);
	if (!rc)
		rc = mass_stats(n_topk ? a->mass + start_topk : NULL, n_topk, &row, err);
	if (rc)
		return rc;
	struct rpt_kl_row *v = realloc(st->kl_rows, (st->n_kl_rows + 1) * sizeof *v);
	if (!v)
		return mrl_err_set(err, MRL_ENOMEM, "out of memory");
	st->kl_rows = v;
	st->kl_rows[st->n_kl_rows++] = row;
	return 0;
}

/* KL divergence, top-1 agreement and |delta logprob| per task x language and
 * overall, from the log-probabilities both runs stored (docs/compare.md); or a
 * note saying which run lacks them. */
int hrn_cmp_kl_section(struct cmp_state *st, const struct cmp_opts *o, struct mrl_err *err)
{
	bool lb = run_has_logprobs(&st->base_i), lc = run_has_logprobs(&st->cand_i);
	if (!lb || !lc)
		return hrn_cmp_add_note(st, "KL divergence and top-1 agreement: not computed: %s per-token log-probabilities "
				    "(merilo run --store-logprobs)",
				!lb && !lc ? "neither run stored" : !lb ? "the base run did not store"
									: "the candidate run did not store");
	int bb = run_bos_used(&st->base_r), bc = run_bos_used(&st->cand_r);
	if (bb >= 0 && bc >= 0 && bb != bc)
		return hrn_cmp_add_note(st, "KL divergence and top-1 agreement: not computed: the base run %s a BOS token and the "
				    "candidate %s, so the models saw different contexts",
				bb ? "used" : "did not use", bc ? "did" : "did not");
	struct kl_acc a = {0};
	struct kl_counts cnt = {0};
	const struct rec_item **B = st->base_sorted, **C = st->cand_sorted;
	size_t nb = st->base_i.n, nc = st->cand_i.n, i = 0, j = 0;
	int rc = 0;
	while (i < nb && j < nc) {
		size_t ie = i, je = j;
		while (ie < nb && hrn_cmp_same_group(B[i], B[ie]))
			ie++;
		while (je < nc && hrn_cmp_same_group(C[j], C[je]))
			je++;
		int c = hrn_cmp_group_cmp(B[i], C[j]);
		if (c == 0 && (rc = kl_group(st, o, B + i, ie - i, C + j, je - j, &a, &cnt, err)))
			goto out;
		if (c <= 0)
			i = ie;
		if (c >= 0)
			j = je;
	}
	if (st->n_kl_rows) {
		struct rpt_kl_row all = { .task = "all", .language = "all" };
		for (size_t r = 0; r < st->n_kl_rows; r++) {
			all.n_sequences += st->kl_rows[r].n_sequences;
			all.n_skipped_tokens += st->kl_rows[r].n_skipped_tokens;
			all.n_skipped_prompt += st->kl_rows[r].n_skipped_prompt;
		}
		if ((rc = rpt_kl_summarize(a.kl, a.covered, a.top1, a.n_topk, a.adl, a.n, &all, err)) ||
		    (rc = mass_stats(a.mass, a.n_topk, &all, err)))
			goto out;
		struct rpt_kl_row *v = realloc(st->kl_rows, (st->n_kl_rows + 1) * sizeof *v);
		if (!v) {
			rc = mrl_err_set(err, MRL_ENOMEM, "out of memory");
			goto out;
		}
		st->kl_rows = v;
		st->kl_rows[st->n_kl_rows++] = all;
	}
	if (!a.n)
		rc = hrn_cmp_add_note(st, "KL divergence and top-1 agreement: both runs stored log-probabilities, but no choice "
				  "sequence could be aligned (same task, item, language and choice with the same tokens "
				  "and prompt)");
	if (!rc && a.n_topk)
		rc = hrn_cmp_add_note(st, "KL divergence: KL(base || candidate) over %zu positions of %zu aligned sequences is a "
				  "lower bound from the stored top-K lists (mean base probability mass covered by the shared tokens: %.3g%%%s)",
			      a.n_topk, st->kl_rows[st->n_kl_rows - 1].n_sequences,
			      100 * st->kl_rows[st->n_kl_rows - 1].covered_mean,
			      st->kl_rows[st->n_kl_rows - 1].covered_mean < 0.5 ? "; the bound is loose" : "");
	if (!rc && (cnt.skipped_tokens || cnt.skipped_prompt))
		rc = hrn_cmp_add_note(st, "KL divergence: %zu paired choice sequences skipped because their continuation tokens "
				  "differ (a different tokenizer?) and %zu because their prompts differ",
			      cnt.skipped_tokens, cnt.skipped_prompt);
	if (!rc && cnt.one_sided)
		rc = hrn_cmp_add_note(st, "KL divergence: %zu paired choice sequences have log-probabilities in one run only and are "
				  "not compared", cnt.one_sided);
	if (!rc && cnt.no_topk)
		rc = hrn_cmp_add_note(st, "KL divergence: %zu aligned sequences lack top-K lists in a run (merilo run --store-topk 0): "
				  "only their |delta logprob| is compared, not KL or top-1 agreement", cnt.no_topk);
out:
	kl_acc_release(&a);
	return rc;
}
