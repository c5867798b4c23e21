/* hrn_run.c — `merilo run` end to end, as a user runs it (the binary in $MERILO).
 *
 * On a small suite (tests/data/run-mini.json: zero-shot and few-shot multiple
 * choice, a context ending in a space, perplexity with several windows) and a
 * synthetic tiny model: the records exist and parse; acc/acc_norm and the paired
 * counts recomputed here from items.jsonl equal results.json; one choice's
 * log-likelihood recomputed here with eng_score equals the record; a run killed
 * with SIGKILL and resumed gives every unit once, with the same numbers as an
 * uninterrupted run; --threads and --batch do not change a single digit; SIGINT
 * stops with exit 4 and a resume hint; a resume with other options or another
 * model is refused; options the suite and model cannot carry out (--fewshot past a task's examples, a
 * window, max_new_tokens or a choice past the model's context) are refused before the run folder
 * exists, and an item that fails in the loop gets no --resume advice. The "performance" section:
 * per task x language tokens/s and item times consistent with items.jsonl, per task a window whose
 * energy and PAPI counters are values or null with the reason (also with libpapi hidden), getrusage
 * figures measured; a resumed run's window covers only its own items. --store-logprobs: per-token
 * logprobs whose sums equal the logliks, top-K rows consistent, scores unchanged.
 * Then the BENCHić COPA suite (SKIP without the fixtures).
 */
#include "tests/tap.h"
#include "tests/cli.h"
#include "tests/spawn.h"

#include <jansson.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "engine/eng.h"
#include "common/json.h"
#include "harness/manifest.h"
#include "records/done_set.h"
#include "records/item.h"
#include "records/item_writer.h"
#include "records/items.h"
#include "records/record_json.h"
#include "records/results.h"
#include "harness/run.h"
#include "metrics/met.h"
#include "tasks/task.h"

static const char *merilo;
static char tmp[256];

/* items.jsonl as key -> the choices array as text (17 digits), one per line. */
static json_t *choices_by_key(const char *path, size_t *n_lines, size_t *n_dups)
{
	json_t *map = json_object();
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;
	*n_lines = *n_dups = 0;
	while (f && getline(&line, &cap, f) > 0) {
		json_t *j = json_loads(line, 0, NULL);
		if (!j)
			continue;
		char key[512];
		snprintf(key, sizeof key, "%s|%s|%s", json_string_value(json_object_get(j, "task")),
			 json_string_value(json_object_get(j, "item")), json_string_value(json_object_get(j, "language")));
		char *text = json_dumps(json_object_get(j, "choices"), JSON_COMPACT | JSON_REAL_PRECISION(17));
		if (json_object_get(map, key))
			(*n_dups)++;
		else
			json_object_set_new(map, key, json_string(text));
		(*n_lines)++;
		free(text);
		json_decref(j);
	}
	free(line);
	if (f)
		fclose(f);
	return map;
}

/* Number of keys of a whose value differs from b's (or is missing there). */
static size_t n_different(const json_t *a, const json_t *b, const char **first)
{
	size_t bad = 0;
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)a, k, v) {
		json_t *w = json_object_get(b, k);
		if (!w || strcmp(json_string_value(v), json_string_value(w))) {
			if (!bad && first)
				*first = k;
			bad++;
		}
	}
	return bad;
}

static const struct rec_aggregate *find_agg(const struct rec_results *r, const char *task, const char *lang)
{
	for (size_t i = 0; i < r->n_aggregates; i++)
		if (!strcmp(r->aggregates[i].task, task) && !strcmp(r->aggregates[i].language, lang))
			return &r->aggregates[i];
	return NULL;
}

static const struct rec_metric_value *find_val(const struct rec_aggregate *a, const char *name)
{
	for (size_t i = 0; a && i < a->n_metrics; i++)
		if (!strcmp(a->metrics[i].name, name))
			return &a->metrics[i];
	return NULL;
}

static const struct rec_comparison *find_cmp(const struct rec_results *r, const char *task, const char *a,
					     const char *b, const char *metric)
{
	for (size_t i = 0; i < r->n_comparisons; i++) {
		const struct rec_comparison *c = &r->comparisons[i];
		if (!strcmp(c->task, task) && !strcmp(c->language_a, a) && !strcmp(c->language_b, b) &&
		    !strcmp(c->metric, metric))
			return c;
	}
	return NULL;
}

/* The prediction of a metric, recomputed here: first index of the maximum. */
static int argmax(const struct rec_item *it, bool norm)
{
	int best = -1;
	double bv = 0;
	for (size_t j = 0; j < it->n_choices; j++) {
		double v = it->choices[j].loglik / (norm ? (double)it->choices[j].n_chars : 1.0);
		if (best < 0 || v > bv)
			best = (int)j, bv = v;
	}
	return best;
}

static const struct rec_item *find_item(const struct rec_items *its, const char *task, const char *id, const char *lang)
{
	for (size_t i = 0; i < its->n; i++)
		if (!strcmp(its->items[i].task, task) && !strcmp(its->items[i].item_id, id) &&
		    !strcmp(its->items[i].language, lang))
			return &its->items[i];
	return NULL;
}

/* acc and acc_norm of every multiple-choice aggregate, recomputed from items.jsonl; and
 * the McNemar counts of the comparisons. Returns the number of mismatches. */
static int check_recomputed(const char *dir, const char *label)
{
	char path[1024];
	struct rec_results r;
	struct rec_items its;
	struct mrl_err err = { 0 };
	int bad = 0;
	snprintf(path, sizeof path, "%s/results.json", dir);
	int rc = rec_results_read(path, &r, &err);
	ok(rc == 0, "results.json parses");
	if (rc)
		diag("%s", err.msg);
	snprintf(path, sizeof path, "%s/items.jsonl", dir);
	rc = rec_items_read(path, &its, &err);
	ok(rc == 0 && !its.truncated_tail, "items.jsonl parses, no truncated tail");
	size_t n_mc_aggs = 0;
	for (size_t a = 0; a < r.n_aggregates; a++) {
		const struct rec_aggregate *ag = &r.aggregates[a];
		if (!find_val(ag, "acc"))
			continue;
		n_mc_aggs++;
		for (int norm = 0; norm < 2; norm++) {
			size_t n = 0, right = 0;
			for (size_t i = 0; i < its.n; i++) {
				const struct rec_item *it = &its.items[i];
				if (strcmp(it->task, ag->task) || strcmp(it->language, ag->language))
					continue;
				n++;
				right += argmax(it, norm) == it->gold_index;
			}
			const struct rec_metric_value *m = find_val(ag, norm ? "acc_norm" : "acc");
			if ((int64_t)n != ag->n || !m || fabs(m->value - (double)right / (double)n) > 1e-12 ||
			    !(m->ci_low <= m->value && m->value <= m->ci_high)) {
				bad++;
				diag("%s %s %s: results.json %g (n %lld) vs recomputed %zu/%zu", ag->task, ag->language,
				     norm ? "acc_norm" : "acc", m ? m->value : NAN, (long long)ag->n, right, n);
			}
		}
	}
	for (size_t c = 0; c < r.n_comparisons; c++) {
		const struct rec_comparison *cm = &r.comparisons[c];
		if (strcmp(cm->metric, "acc"))
			continue;
		size_t b = 0, cc = 0, n = 0;
		for (size_t i = 0; i < its.n; i++) {
			const struct rec_item *x = &its.items[i];
			if (strcmp(x->task, cm->task) || strcmp(x->language, cm->language_a))
				continue;
			const struct rec_item *y = find_item(&its, cm->task, x->item_id, cm->language_b);
			if (!y)
				continue;
			n++;
			int ra = argmax(x, false) == x->gold_index, rb = argmax(y, false) == y->gold_index;
			b += ra && !rb;
			cc += !ra && rb;
		}
		if ((int64_t)n != cm->n_pairs || (int64_t)b != cm->mcnemar_b || (int64_t)cc != cm->mcnemar_c ||
		    fabs(cm->mcnemar_p - met_mcnemar_exact_p(b, cc)) > 1e-15 ||
		    fabs(cm->diff - ((double)b - (double)cc) / (double)n) > 1e-12) {
			bad++;
			diag("%s %s-%s: results.json n %lld b %lld c %lld vs recomputed %zu %zu %zu", cm->task, cm->language_a,
			     cm->language_b, (long long)cm->n_pairs, (long long)cm->mcnemar_b, (long long)cm->mcnemar_c, n, b,
			     cc);
		}
	}
	char name[256];
	snprintf(name, sizeof name, "%s: acc, acc_norm and McNemar counts recomputed from items.jsonl equal results.json (%zu aggregates, %zu comparisons)",
		 label, n_mc_aggs, r.n_comparisons);
	ok(bad == 0 && n_mc_aggs > 0, name);
	rec_results_release(&r);
	rec_items_release(&its);
	return bad;
}

/* The perplexity aggregate recomputed from the per-document records. */
static void check_ppl(const char *dir)
{
	char path[1024];
	struct rec_results r;
	struct rec_items its;
	struct mrl_err err = { 0 };
	snprintf(path, sizeof path, "%s/results.json", dir);
	rec_results_read(path, &r, &err);
	snprintf(path, sizeof path, "%s/items.jsonl", dir);
	rec_items_read(path, &its, &err);
	double nll = 0, tok = 0, bytes = 0;
	for (size_t i = 0; i < its.n; i++)
		if (!strcmp(its.items[i].task, "ppl") && !strcmp(its.items[i].language, "sr-Cyrl")) {
			nll -= its.items[i].choices[0].loglik;
			tok += (double)its.items[i].choices[0].n_tokens;
			bytes += (double)its.items[i].choices[0].n_bytes;
		}
	const struct rec_aggregate *a = find_agg(&r, "ppl", "sr-Cyrl");
	const struct rec_metric_value *p = find_val(a, "perplexity"), *bpb = find_val(a, "bits_per_byte");
	ok(a && a->n == 3 && p && bpb, "perplexity aggregate for ppl/sr-Cyrl over 3 documents");
	is_near(find_val(a, "byte_perplexity") ? find_val(a, "byte_perplexity")->value : 0, exp(nll / bytes),
		1e-9 * exp(nll / bytes), "byte perplexity = exp(sum NLL / sum bytes) (listed by suites, never computed)");
	is_near(p ? p->value : 0, exp(nll / tok), 1e-9 * exp(nll / tok), "token perplexity = exp(sum NLL / sum tokens)");
	is_near(bpb ? bpb->value : 0, nll / log(2.0) / bytes, 1e-12, "bits per byte = sum NLL / ln 2 / sum bytes");
	const struct rec_metric_value *c1 = find_val(a, "bits_per_char"),
				      *c2 = find_val(find_agg(&r, "ppl", "sr-Latn"), "bits_per_char");
	ok(c1 && c2 && c1->value > 0 && c2->value > 0, "bits per canonical character reported for both scripts");
	rec_results_release(&r);
	rec_items_release(&its);
}

/* One record's first choice, recomputed with the engine: lm-eval's _encode_pair on the
 * recorded prompt (whose trailing space moves into the continuation). */
static void check_encode_pair(const char *model_path, const char *dir)
{
	char path[1024];
	struct rec_items its;
	struct mrl_err err = { 0 };
	snprintf(path, sizeof path, "%s/items.jsonl", dir);
	rec_items_read(path, &its, &err);
	const struct rec_item *it = find_item(&its, "mc_fs", "f1", "en");
	struct eng_model *m = NULL;
	struct eng_ctx *c = NULL;
	if (!it || !it->prompt || eng_model_open(&m, model_path, NULL, &err) || eng_ctx_new(&c, m, 0, &err)) {
		ok(0, "mc_fs/f1/en record and model available");
		goto out;
	}
	const char *prompt = it->prompt;
	size_t len = strlen(prompt);
	ok(len > 0 && prompt[len - 1] == ' ', "the few-shot prompt ends with a space (the case the rule is about)");
	like(prompt, "\n\n", "the prompt holds few-shot examples");
	/* context "…A:" and continuation " blue" (delimiter "", choice lcfirst("Blue")) */
	char whole[4096];
	snprintf(whole, sizeof whole, "%.*s blue", (int)(len - 1), prompt);
	int32_t *ce = NULL, *we = NULL;
	size_t nce = 0, nwe = 0;
	eng_tokenize(m, prompt, len - 1, false, &ce, &nce, &err);
	eng_tokenize(m, whole, strlen(whole), false, &we, &nwe, &err);
	int32_t *ctx = malloc((nce + 1) * sizeof *ctx);
	struct eng_model_desc d;
	eng_model_describe(m, &d);
	ctx[0] = d.bos_id;
	memcpy(ctx + 1, ce, nce * sizeof *ce);
	double lp[256];
	bool gr[256];
	struct eng_score_req req = { .ctx = ctx, .n_ctx = nce + 1, .cont = we + nce, .n_cont = nwe - nce };
	struct eng_score_res res = { .logprob = lp, .is_greedy = gr };
	int rc = nwe > nce && nwe - nce < 256 ? eng_score(c, &req, 1, &res, &err) : -1;
	ok(rc == 0, "eng_score on the recomputed request");
	is_int(it->choices[0].n_tokens, (long long)(nwe - nce), "n_tokens = tokens of the whole past the context's");
	char a[64], b[64];
	snprintf(a, sizeof a, "%.17g", it->choices[0].loglik);
	snprintf(b, sizeof b, "%.17g", res.sum_logprob);
	is_str(a, b, "the recorded loglik equals a request built here by lm-eval's rule, to the last digit");
	is_int(it->choices[0].n_chars, 4, "n_chars counts the choice text 'blue' (no delimiter, no moved space)");
	free(ctx);
	free(ce);
	free(we);
out:
	eng_ctx_free(c);
	eng_model_close(m);
	rec_items_release(&its);
}

/* The rolling perplexity windows: every token predicted exactly once, no window longer
 * than W, at least W - S tokens of context after the first window; S = W is lm-eval's. */
static void check_windows(void)
{
	size_t cb[64], b[64], e[64];
	int bad = 0, lm_bad = 0;
	for (size_t n = 1; n <= 60; n++)
		for (size_t W = 2; W <= 12; W++)
			for (size_t S = 1; S <= W; S++) {
				size_t nw = hrn_run_ppl_windows(n, W, S, cb, b, e), next = 1;
				for (size_t w = 0; w < nw; w++) {
					bad += b[w] != next || e[w] <= b[w] || cb[w] >= b[w] || e[w] - 1 - cb[w] > W;
					if (w > 0)
						bad += b[w] - cb[w] < (W - S < b[w] ? W - S : b[w]);
					next = e[w];
				}
				bad += next != n + 1;
				if (S == W) /* lm-eval: windows of W predictions, the first from the prefix token */
					lm_bad += nw != (n + W - 1) / W || e[0] - b[0] != (n < W ? n : W);
			}
	is_int(bad, 0, "perplexity windows: each token once, inputs <= window, context >= window - stride");
	is_int(lm_bad, 0, "perplexity windows with stride = window: lm-eval's rolling windows");
	size_t nw = hrn_run_ppl_windows(10, 4, 2, cb, b, e);
	is_int(nw, 4, "n 10, window 4, stride 2: 4 windows");
	ok(cb[1] == 2 && b[1] == 5 && e[1] == 7, "second window: context [2,5), predicts [5,7)");
}

/* ---- performance in results.json ---- */

static const struct rec_perf_task *find_perf(const struct rec_results *r, const char *task)
{
	for (size_t i = 0; i < r->n_perf; i++)
		if (!strcmp(r->perf[i].task, task))
			return &r->perf[i];
	return NULL;
}

/* A reading is a value, or null (NaN) with a reason: never a silent 0. */
static bool honest(const struct rec_reading *x)
{
	return isnan(x->value) ? x->reason && *x->reason : x->reason == NULL && x->value >= 0;
}

/* Every task x language of results.json has its performance entry, consistent with
 * items.jsonl; every task its window (when want_window) with honest readings. */
static void check_performance(const char *dir, const char *label, bool want_window)
{
	char path[1024], name[256];
	struct rec_results r;
	struct rec_items its;
	struct mrl_err err = { 0 };
	snprintf(path, sizeof path, "%s/results.json", dir);
	int rc = rec_results_read(path, &r, &err);
	snprintf(path, sizeof path, "%s/items.jsonl", dir);
	rc |= rec_items_read(path, &its, &err);
	snprintf(name, sizeof name, "%s: results.json has a performance entry per task", label);
	ok(rc == 0 && r.n_perf == 3 && find_perf(&r, "mc") && find_perf(&r, "mc_fs") && find_perf(&r, "ppl"), name);
	int bad_lang = 0, bad_tps = 0, bad_ms = 0, bad_sum = 0, n_langs = 0;
	for (size_t a = 0; a < r.n_aggregates; a++) {
		const struct rec_aggregate *ag = &r.aggregates[a];
		const struct rec_perf_task *pt = find_perf(&r, ag->task);
		const struct rec_perf_lang *pl = NULL;
		for (size_t l = 0; pt && l < pt->n_langs; l++)
			if (!strcmp(pt->langs[l].language, ag->language))
				pl = &pt->langs[l];
		if (!pl || pl->n_items != ag->n) {
			bad_lang++;
			continue;
		}
		n_langs++;
		if (!(pl->tokens_computed > 0 && pl->score_s > 0 && pl->tokens_per_s > 0 &&
		      fabs(pl->tokens_per_s - (double)pl->tokens_computed / pl->score_s) <= 1e-9 * pl->tokens_per_s))
			bad_tps++;
		if (!(pl->item_ms_mean > 0 && pl->item_ms_median > 0 && pl->item_ms_median <= pl->item_ms_p90))
			bad_ms++;
		int64_t sum = 0, cached = 0;
		for (size_t i = 0; i < its.n; i++)
			if (!strcmp(its.items[i].task, ag->task) && !strcmp(its.items[i].language, ag->language)) {
				sum += its.items[i].tokens_computed;
				cached += its.items[i].tokens_cached;
			}
		if (sum != pl->tokens_computed || cached != pl->tokens_cached)
			bad_sum++;
	}
	snprintf(name, sizeof name, "%s: a performance entry per task x language, n = the aggregate's (%d)", label, n_langs);
	ok(bad_lang == 0 && n_langs == (int)r.n_aggregates, name);
	snprintf(name, sizeof name, "%s: tokens/s > 0 and = tokens computed / scoring seconds", label);
	is_int(bad_tps, 0, name);
	snprintf(name, sizeof name, "%s: time per item: mean, median <= p90, all > 0", label);
	is_int(bad_ms, 0, name);
	snprintf(name, sizeof name, "%s: tokens computed and cached = the sums over items.jsonl", label);
	is_int(bad_sum, 0, name);
	int bad_win = 0, bad_energy = 0, bad_counters = 0, bad_usage = 0;
	for (size_t t = 0; t < r.n_perf && want_window; t++) {
		const struct rec_perf_window *w = &r.perf[t].window;
		if (!w->present || w->n_items <= 0 || w->n_items > r.perf[t].all.n_items || !(w->seconds > 0)) {
			bad_win++;
			continue;
		}
		/* energy: null with a reason where no source counts (this VM), else a value and J/item */
		if (!honest(&w->energy_j) || !honest(&w->energy_per_item_j) ||
		    (!isnan(w->energy_j.value) &&
		     fabs(w->energy_per_item_j.value - w->energy_j.value / (double)w->n_items) > 1e-12))
			bad_energy++;
		for (size_t c = 0; c < w->n_counters; c++)
			bad_counters += !honest(&w->counters[c]);
		bad_counters += !w->counters_status || !w->n_counters;
		bool have_user = false;
		for (size_t u = 0; u < w->n_usage; u++) {
			bad_usage += !honest(&w->usage[u]);
			have_user |= !strcmp(w->usage[u].name, "user_s") && !isnan(w->usage[u].value);
		}
		bad_usage += !have_user || !(w->peak_rss.value > 0) || !w->peak_rss_since;
		if (t == 0)
			diag("%s: %s energy: %s; counters: %s", label, r.perf[t].task,
			     isnan(w->energy_j.value) ? w->energy_j.reason : "measured", w->counters_status);
	}
	if (want_window) {
		snprintf(name, sizeof name, "%s: every task has this session's window (items, seconds)", label);
		is_int(bad_win, 0, name);
		snprintf(name, sizeof name, "%s: energy and energy per item: a value, or null with the reason", label);
		is_int(bad_energy, 0, name);
		snprintf(name, sizeof name, "%s: PAPI counters: each a value or null with the reason, and a status", label);
		is_int(bad_counters, 0, name);
		snprintf(name, sizeof name, "%s: getrusage CPU time, faults, switches and peak RSS measured", label);
		is_int(bad_usage, 0, name);
	}
	rec_results_release(&r);
	rec_items_release(&its);
}

/* --store-logprobs: every choice's logprobs, their sum = loglik, top-K rows consistent. */
static void check_logprobs(const char *dir, size_t want_k, const char *label)
{
	char path[1024], name[256];
	struct rec_items its;
	struct mrl_err err = { 0 };
	snprintf(path, sizeof path, "%s/items.jsonl", dir);
	int rc = rec_items_read(path, &its, &err);
	if (rc)
		diag("%s", err.msg);
	size_t n_choices = 0, missing = 0, bad_n = 0, bad_sum = 0, bad_k = 0, bad_sorted = 0, bad_greedy = 0,
	       bad_target = 0;
	double worst = 0;
	for (size_t i = 0; !rc && i < its.n; i++) {
		const struct rec_item *it = &its.items[i];
		for (size_t c = 0; c < it->n_choices; c++) {
			const struct rec_token_logprobs *lp = rec_item_logprobs(it, c);
			n_choices++;
			if (!lp) {
				missing++;
				continue;
			}
			bad_n += lp->n != (size_t)it->choices[c].n_tokens;
			bad_k += lp->k != want_k;
			double sum = 0;
			bool greedy = true;
			for (size_t j = 0; j < lp->n; j++) {
				sum += lp->logprob[j];
				for (size_t t = 0; t < lp->k; t++) {
					const double *row = lp->top_logprob + j * lp->k;
					bad_sorted += t > 0 && row[t] > row[t - 1];
					if (lp->top_id[j * lp->k + t] == lp->tokens[j])
						bad_target += row[t] != lp->logprob[j];
				}
				if (lp->k)
					greedy &= lp->top_id[j * lp->k] == lp->tokens[j];
			}
			const double d = fabs(sum - it->choices[c].loglik);
			worst = d > worst ? d : worst;
			bad_sum += !(d <= 1e-9);
			bad_greedy += lp->k && greedy != it->choices[c].is_greedy;
		}
	}
	snprintf(name, sizeof name, "%s: every choice of every record has logprobs (%zu choices)", label, n_choices);
	ok(!rc && n_choices > 0 && missing == 0, name);
	snprintf(name, sizeof name, "%s: one logprob per choice token", label);
	is_int(bad_n, 0, name);
	snprintf(name, sizeof name, "%s: sum of the token logprobs == loglik to 1e-9 (worst %.3g)", label, worst);
	is_int(bad_sum, 0, name);
	snprintf(name, sizeof name, "%s: top-%zu per position, best first", label, want_k);
	ok(bad_k == 0 && bad_sorted == 0, name);
	if (want_k) {
		snprintf(name, sizeof name, "%s: a target in its top-K row has exactly its logprob there", label);
		is_int(bad_target, 0, name);
		snprintf(name, sizeof name, "%s: is_greedy == every token is its row's top-1", label);
		is_int(bad_greedy, 0, name);
	}
	rec_items_release(&its);
}

/* BENCHić items per language: 50, or 20 in a sanitized build, where the forward pass of the
 * 32000-token fixture model is ~30x slower (50 would take ~35 s of the test's budget). */
#if TAP_ASAN
#define COPA_LIMIT 20
#define COPA_LIMIT_STR "20"
#else
#define COPA_LIMIT 50
#define COPA_LIMIT_STR "50"
#endif

static void check_benchich(const char *fx)
{
	char data[512], model[512], suite[512], out[512], *o = NULL;
	snprintf(data, sizeof data, "%s/data/benchich-copa", fx);
	snprintf(model, sizeof model, "%s/models/tiny-llama-ff192-f32.gguf", fx);
	if (access(data, R_OK) || access(model, R_OK)) {
		skip("BENCHić COPA files or the tiny fixture model absent", "BENCHić end to end");
		return;
	}
	snprintf(suite, sizeof suite, "%s/copa.json", tmp);
	snprintf(out, sizeof out, "%s/copa-run", tmp);
	int rc = cli_run(NULL, "import copa --lang sr-Cyrl=%s/test-sr.jsonl --lang sr-Latn=%s/test-sr-lat.jsonl "
			   "--lang hr=%s/test-hr.jsonl --name benchich-copa -o %s", data, data, data, suite);
	is_int(rc, 0, "merilo import copa (BENCHić)");
	rc = cli_run(&o, "run --model %s --suite %s --limit %d --threads 2 --boot 2000 --out %s", model, suite,
		 COPA_LIMIT, out);
	is_int(rc, 0, "merilo run on BENCHić COPA, --limit " COPA_LIMIT_STR);
	like(o, "sr-Cyrl - sr-Latn", "the summary shows the Cyrillic/Latin gap");
	free(o);
	char path[1024];
	struct rec_results r;
	struct mrl_err err = { 0 };
	snprintf(path, sizeof path, "%s/results.json", out);
	rec_results_read(path, &r, &err);
	const char *langs[] = { "sr-Cyrl", "sr-Latn", "hr" };
	for (int l = 0; l < 3; l++) {
		const struct rec_aggregate *a = find_agg(&r, "copa", langs[l]);
		const struct rec_metric_value *acc = find_val(a, "acc");
		char name[128];
		snprintf(name, sizeof name, "copa %s: n = %d, acc with a 95%% CI around it", langs[l], COPA_LIMIT);
		ok(a && a->n == COPA_LIMIT && acc && acc->ci_low <= acc->value && acc->value <= acc->ci_high &&
		   acc->ci_level > 0.9499 && acc->ci_level < 0.9501, name);
	}
	const char *pairs[2][2] = { { "sr-Cyrl", "sr-Latn" }, { "sr-Cyrl", "hr" } };
	for (int k = 0; k < 2; k++) {
		const struct rec_comparison *c = find_cmp(&r, "copa", pairs[k][0], pairs[k][1], "acc");
		char name[128];
		snprintf(name, sizeof name, "copa %s vs %s: %d pairs, diff inside its CI, McNemar p in [0, 1]", pairs[k][0],
			 pairs[k][1], COPA_LIMIT);
		ok(c && c->n_pairs == COPA_LIMIT && c->ci_low <= c->diff && c->diff <= c->ci_high && c->mcnemar_p >= 0 &&
		   c->mcnemar_p <= 1 && !strcmp(c->method, "paired-bootstrap"), name);
	}
	rec_results_release(&r);
	check_recomputed(out, "BENCHić");
}

/* ---- the behaviours, in the order they run: each later one reads what the earlier left ---- */

static char tiny_model[512];		/* the synthetic model every run here uses */
static const char *mini_suite = "tests/data/run-mini.json";
static char dir_a[512], dir_c[512], dir_k[512]; /* the whole run; one at --threads 1; one killed */
static char spawn_log[600];		/* stderr of a run started in the background */
static json_t *ref;			/* dir_a's per-choice logliks by key */
static size_t na;			/* and its number of records */

static void t_usage_errors(void)
{
	const char *model = tiny_model, *suite = mini_suite;
	char *o = NULL;
	int rc = cli_run(&o, "run --help");
	is_int(rc, 0, "run --help exits 0");
	like(o, "--resume DIR", "--help documents --resume");
	free(o);
	rc = cli_run(&o, "run --model %s/missing.gguf --suite %s --out %s/x", tmp, suite, tmp);
	is_int(rc, 3, "a missing model is exit 3");
	like(o, "missing.gguf", "the message names the missing model");
	free(o);
	rc = cli_run(&o, "run --model %s --suite %s/nope.json --out %s/x", model, tmp, tmp);
	is_int(rc, 3, "a missing suite is exit 3");
	like(o, "nope.json", "the message names the missing suite");
	free(o);
	rc = cli_run(&o, "run --model %s --suite %s --tasks nosuch --out %s/x", model, suite, tmp);
	is_int(rc, 2, "an unknown task is exit 2");
	like(o, "nosuch", "the message names the task");
	free(o);
	rc = cli_run(NULL, "run --model %s --suite %s --bos sometimes", model, suite);
	is_int(rc, 2, "a bad --bos is exit 2");
	rc = cli_run(NULL, "run --model %s --suite %s --backend gpu", model, suite);
	is_int(rc, 2, "a bad --backend is exit 2");
	if (access("/proc/driver/nvidia", F_OK) != 0) {
		rc = cli_run(&o, "run --model %s --suite %s --quiet --backend cuda --out %s/cuda", model, suite, tmp);
		is_int(rc, 4, "--backend cuda without a GPU is exit 4 (runtime)");
		like(o, "cuda", "the message says the CUDA backend is what failed");
		free(o);
	} else {
		skip("an NVIDIA driver is present: the GPU path is tested by eng_cuda", "--backend cuda without a GPU");
		skip("an NVIDIA driver is present", "the message names CUDA");
	}
	rc = cli_run(&o, "run --model %s --suite %s --quiet --out /proc/merilo-cannot-write/run", model, suite);
	is_int(rc, 4, "a run folder that cannot be created is exit 4 (a failed write)");
	like(o, "/proc/merilo-cannot-write", "the message names the folder");
	free(o);
}

/* A copy of suite src at tmp/name with one setting of task tid changed:
 * key = value (an integer), or, with key NULL, task tid's few-shot k 5 and
 * language hr dropped from its first two items. The path in path. */
static void suite_variant(const char *src, const char *name, const char *tid, const char *key, long value,
			  char *path, size_t size)
{
	json_t *s = json_load_file(src, 0, NULL), *t;
	size_t i;
	json_array_foreach(json_object_get(s, "tasks"), i, t) {
		if (strcmp(json_string_value(json_object_get(t, "id")), tid))
			continue;
		if (key)
			json_object_set_new(t, key, json_integer(value));
		else
			json_object_set_new(json_object_get(t, "fewshot"), "k", json_integer(5));
		for (size_t k = 0; !key && k < 2; k++)
			json_object_del(json_array_get(json_object_get(t, "items"), k), "hr");
	}
	snprintf(path, size, "%s/%s", tmp, name);
	json_dump_file(s, path, JSON_INDENT(1));
	json_decref(s);
}

/* Options the suite and the model cannot carry out at any unit are refused
 * before the run folder exists (nothing for a --resume that would fail again,
 * nothing in the way of the next --out); an item that fails in the loop gets no
 * --resume advice either. */
static void t_refused_before_folder(void)
{
	char out[600], suite[600], model[600], *o = NULL;
	snprintf(out, sizeof out, "%s/never", tmp);
	int rc = cli_run(&o, "run --model %s --suite %s --tasks mc_fs --fewshot 64 --limit 1 --quiet --out %s", tiny_model,
			 mini_suite, out);
	is_int(rc, 2, "--fewshot 64 with 5 examples per item is a usage error (exit 2)");
	like(o, "--fewshot 64: task 'mc_fs' (en): 64-shot needs 64 examples", "the message names --fewshot and the task");
	ok(o && !strstr(o, "--resume"), "no --resume advice");
	free(o);
	ok(access(out, F_OK) != 0, "no run folder is left behind");
	rc = cli_run(NULL, "run --model %s --suite %s --tasks mc_fs --fewshot 1 --limit 1 --boot 10 --quiet --out %s",
		     tiny_model, mini_suite, out);
	is_int(rc, 0, "the same --out with a --fewshot that fits runs");
	suite_variant(mini_suite, "fs5.json", "mc_fs", NULL, 0, suite, sizeof suite);
	rc = cli_run(&o, "run --model %s --suite %s --tasks mc_fs --quiet --out %s/fs5", tiny_model, suite, tmp);
	is_int(rc, 3, "the suite's own k with too few hr examples is bad input (exit 3)");
	like(o, "task 'mc_fs' (hr): 5-shot needs 5 examples, the task's other items have 3", "the message counts them");
	free(o);
	suite_variant(mini_suite, "win.json", "ppl", "window", 1024, suite, sizeof suite);
	rc = cli_run(&o, "run --model %s --suite %s --tasks ppl --quiet --out %s/win", tiny_model, suite, tmp);
	is_int(rc, 3, "a perplexity window past the model's 256 positions is bad input (exit 3)");
	like(o, "win.json on ", "the message names the suite and the model");
	like(o, "task 'ppl': window 1024 is longer than the model's context (256)", "and the window");
	free(o);
	suite_variant("tasks/suites/demo.json", "gen.json", "short_qa", "max_new_tokens", 65536, suite, sizeof suite);
	rc = cli_run(&o, "run --model %s --suite %s --tasks short_qa --limit 1 --quiet --out %s/gen", tiny_model, suite,
		     tmp);
	is_int(rc, 3, "max_new_tokens past the model's positions is bad input (exit 3)");
	like(o, "task 'short_qa': max_new_tokens 65536 leaves no room for the prompt", "the message names the limit");
	free(o);
	snprintf(out, sizeof out, "%s/fs5", tmp);
	ok(access(out, F_OK) != 0 && cli_sh(NULL, "test -e %s/win || test -e %s/gen", tmp, tmp) != 0,
	   "none of them left a run folder");
	snprintf(model, sizeof model, "%s/ctx4.gguf", tmp);
	o = NULL;
	rc = cli_run(NULL, "synth --preset tiny --ctx 4 -o %s", model);
	rc = rc ? rc : cli_run(&o, "run --model %s --suite %s --tasks mc --quiet --out %s/c4", model, mini_suite, tmp);
	is_int(rc, 3, "a choice longer than a 4-position model's context is bad input (exit 3)");
	like(o, "tokens, the model's context is 4", "the message says why");
	ok(o && !strstr(o, "merilo run --resume") && cli_sh(NULL, "test -e %s/c4", tmp) != 0,
	   "no --resume advice, no run folder: found before it is made (it was found in the loop)");
	free(o);
	/* no BOS nor EOS (no tokenizer_config.json, no ids in config.json) with acc_mutual_info: refused before the folder */
	const char *fx = fixtures_dir();
	if (!fx || cli_sh(NULL, "cp -r %s/hf/qwen2-bf16 %s/nobos && rm -f %s/nobos/tokenizer_config.json && sed -i "
				"'/\"[be]os_token_id\"/d' %s/nobos/config.json", fx, tmp, tmp, tmp)) {
		skip("no ../shared/fixtures/hf/qwen2-bf16", "a model without BOS or EOS on acc_mutual_info");
		return;
	}
	rc = cli_run(&o, "run --model %s/nobos --suite %s --tasks mc --limit 1 --quiet --out %s/nobos-run", tmp, mini_suite,
		     tmp);
	is_int(rc, 3, "acc_mutual_info on a model without BOS or EOS: exit 3");
	like(o, "task 'mc': acc_mutual_info needs a BOS or EOS token, and the model has neither", "the message says why");
	snprintf(out, sizeof out, "%s/nobos-run", tmp);
	ok(access(out, F_OK) != 0, "... before the run folder is made");
	free(o);
}

static void t_whole_run(void)
{
	char path[600], *o = NULL;
	int rc = cli_run(&o, "run --model %s --suite %s --threads 2 --boot 1000 --out %s", tiny_model, mini_suite,
			 dir_a);
	is_int(rc, 0, "run the mini suite (threads 2, batched per item)");
	like(o, "paired gaps", "the summary prints the paired gaps");
	like(o, "results.json", "the summary says where the results are");
	free(o);
	snprintf(path, sizeof path, "%s/items.jsonl", dir_a);
	is_int(cli_file_lines(path), 8 * 4 - 1 + 6 * 2 + 3 * 3, "items.jsonl has one line per item x language (52)");
	rc = cli_run(&o, "run --model %s --suite %s --quiet --out %s", tiny_model, mini_suite, dir_a);
	is_int(rc, 2, "--out on a folder that holds a run is refused (exit 2)");
	like(o, "--resume", "the refusal points to --resume");
	free(o);
	snprintf(path, sizeof path, "%s/prompts/mc_fs.hr.txt", dir_a);
	ok(access(path, R_OK) == 0, "prompts/<task>.<lang>.txt written");
	snprintf(path, sizeof path, "%s/run.json", dir_a);
	ok(access(path, R_OK) == 0, "run.json written");
}

/* dir's items.jsonl by key (choices_by_key), its number of lines in *n. */
static json_t *choices_of(const char *dir, size_t *n)
{
	char path[600];
	size_t dups;
	snprintf(path, sizeof path, "%s/items.jsonl", dir);
	return choices_by_key(path, n, &dups);
}

/* With items of several languages in one window (the default --batch), each language's
 * scoring time is its own calls' time: the languages of task "mc" do not all get the same
 * seconds. One call for the whole window shared its time equally over its items, and each
 * item of the suite is in every language, so every language got exactly the same seconds,
 * times per item and tokens/s that were each language's share of the tokens. */
static void check_lang_times(const char *dir)
{
	char path[1024];
	struct rec_results r;
	struct mrl_err err = { 0 };
	snprintf(path, sizeof path, "%s/results.json", dir);
	if (!ok(rec_results_read(path, &r, &err) == 0, "results.json of the batched run reads back")) {
		diag("%s", err.msg);
		return;
	}
	const struct rec_perf_task *pt = find_perf(&r, "mc");
	size_t n_distinct = 0;
	for (size_t l = 0; pt && l < pt->n_langs; l++) {
		bool seen = false;
		for (size_t k = 0; k < l; k++)
			seen |= pt->langs[k].score_s == pt->langs[l].score_s;
		n_distinct += !seen;
	}
	ok(pt && pt->n_langs >= 3 && n_distinct == pt->n_langs,
	   "batched: each language of mc has scoring seconds of its own (not one window's equal shares)");
	if (pt)
		for (size_t l = 0; l < pt->n_langs; l++)
			diag("mc %s: %.6f s, %.0f tokens/s", pt->langs[l].language, pt->langs[l].score_s,
			     pt->langs[l].tokens_per_s);
	rec_results_release(&r);
}

static void t_threads_batching(void)
{
	char dir_b[512];
	size_t nb, nc;
	snprintf(dir_b, sizeof dir_b, "%s/b", tmp);
	int rc = cli_run(NULL, "run --model %s --suite %s --threads 1 --batch request --boot 100 --quiet --out %s",
			 tiny_model, mini_suite, dir_b);
	is_int(rc, 0, "run with --threads 1 --batch request");
	json_t *jb = choices_of(dir_b, &nb);
	const char *first = NULL;
	size_t diff = n_different(ref, jb, &first);
	ok(nb == na && diff == 0, "threads 1 + one request per call: every per-choice loglik identical as text");
	if (diff)
		diag("%zu records differ, first %s", diff, first);
	rc = cli_run(NULL, "run --model %s --suite %s --threads 1 --boot 100 --quiet --out %s", tiny_model, mini_suite,
		     dir_c);
	json_t *jc = choices_of(dir_c, &nc);
	diff = n_different(ref, jc, &first);
	ok(rc == 0 && nc == na && diff == 0, "threads 1 vs 2, same batching: identical per-choice logliks");
	check_lang_times(dir_c);
	json_decref(jb);
	json_decref(jc);
	/* windows of items in shared forward calls (the default) against one item per call, and an odd window */
	static const char *const modes[] = { "item", "3" };
	for (size_t i = 0; i < 2; i++) {
		snprintf(dir_b, sizeof dir_b, "%s/batch-%s", tmp, modes[i]);
		rc = cli_run(NULL, "run --model %s --suite %s --threads 2 --batch %s --boot 100 --quiet --out %s", tiny_model,
			     mini_suite, modes[i], dir_b);
		jb = choices_of(dir_b, &nb);
		diff = n_different(ref, jb, &first);
		ok(rc == 0 && nb == na && diff == 0, modes[i][0] == 'i' ? "--batch item: identical per-choice logliks"
									 : "--batch 3: identical per-choice logliks");
		json_decref(jb);
	}
	char *o = NULL;
	rc = cli_run(&o, "run --model %s --suite %s --batch 0 --quiet --out %s/b0", tiny_model, mini_suite, tmp);
	is_int(rc, 2, "--batch 0 is a usage error");
	like(o, "--batch wants a number of items", "the message says what --batch takes");
	free(o);
}

static void t_store_logprobs(void)
{
	const char *model = tiny_model, *suite = mini_suite;
	char dir_l[512], *o = NULL;
	snprintf(dir_l, sizeof dir_l, "%s/l", tmp);
	int rc = cli_run(&o, "run --model %s --suite %s --threads 2 --boot 100 --store-logprobs --out %s", model,
			 suite, dir_l);
	is_int(rc, 0, "run with --store-logprobs");
	like(o, "tokens/s", "the summary prints the throughput line");
	like(o, "energy", "the summary line says what became of energy");
	free(o);
	check_logprobs(dir_l, HRN_RUN_TOPK_DEFAULT, "--store-logprobs");
	size_t nl;
	const char *first = NULL;
	json_t *jl = choices_of(dir_l, &nl);
	size_t diff = n_different(ref, jl, &first);
	ok(nl == na && diff == 0, "--store-logprobs: every per-choice loglik identical to the run without it");
	json_decref(jl);
	snprintf(dir_l, sizeof dir_l, "%s/l3", tmp);
	rc = cli_run(NULL, "run --model %s --suite %s --tasks mc,ppl --limit 2 --threads 2 --boot 100 --quiet "
		       "--store-logprobs --store-topk 3 --batch request --out %s", model, suite, dir_l);
	is_int(rc, 0, "run with --store-topk 3 --batch request");
	check_logprobs(dir_l, 3, "--store-topk 3");
	snprintf(dir_l, sizeof dir_l, "%s/l0", tmp);
	rc = cli_run(NULL, "run --model %s --suite %s --tasks mc --limit 2 --threads 2 --boot 100 --quiet --store-logprobs "
		       "--store-topk 0 --out %s", model, suite, dir_l);
	is_int(rc, 0, "run with --store-topk 0");
	check_logprobs(dir_l, 0, "--store-topk 0");
	rc = cli_run(&o, "run --model %s --suite %s --store-topk 4 --out %s/x", model, suite, tmp);
	is_int(rc, 2, "--store-topk without --store-logprobs is a usage error");
	like(o, "--store-logprobs", "the message says what is missing");
	free(o);
	rc = cli_run(NULL, "run --model %s --suite %s --store-logprobs --store-topk 1001 --out %s/x", model, suite, tmp);
	is_int(rc, 2, "--store-topk above 1000 is a usage error");
}

static void t_papi_absent(void)
{
	char dir_p[512], path[600];
	snprintf(dir_p, sizeof dir_p, "%s/p", tmp);
	setenv("MERILO_PAPI_LIB", "/nonexistent/libpapi.so", 1);
	int rc = cli_run(NULL, "run --model %s --suite %s --tasks mc --limit 2 --threads 2 --boot 100 --quiet --out %s",
			 tiny_model, mini_suite, dir_p);
	unsetenv("MERILO_PAPI_LIB");
	is_int(rc, 0, "a run without libpapi works");
	struct rec_results pr;
	struct mrl_err perr = { 0 };
	snprintf(path, sizeof path, "%s/results.json", dir_p);
	rec_results_read(path, &pr, &perr);
	const struct rec_perf_task *pt = find_perf(&pr, "mc");
	int nulls = 0;
	for (size_t c = 0; pt && c < pt->window.n_counters; c++)
		nulls += isnan(pt->window.counters[c].value) && pt->window.counters[c].reason &&
			 strstr(pt->window.counters[c].reason, "libpapi");
	ok(pt && pt->window.present && pt->window.n_counters > 0 && nulls == (int)pt->window.n_counters,
	   "without libpapi every counter is null with the reason");
	like(pt ? pt->window.counters_status : "", "libpapi not found", "the counter status says libpapi was not found");
	ok(pt && pt->all.tokens_per_s > 0, "and the throughput is still measured");
	rec_results_release(&pr);
}

/* SIGKILL mid-run; a resume with other options or another model is refused; then --resume. */
static void t_kill_resume(void)
{
	char path[600], other[600], *o = NULL;
	snprintf(path, sizeof path, "%s/items.jsonl", dir_k);
	const char *args[] = { "--model", tiny_model, "--suite", mini_suite, "--threads", "2", "--quiet", "--boot", "100",
			       "--out", dir_k, NULL };
	pid_t pid = spawn_run_paused(merilo, NULL, spawn_log, 0, 16, args);
	spawn_wait_stopped(pid); /* stopped by itself once 16 units are scored (MERILO_TEST_PAUSE_AT) */
	size_t seen = cli_file_lines(path);
	kill(pid, SIGKILL);
	int sig = 0;
	spawn_wait(pid, &sig);
	/* the writer flushes every 16 units or 2 s: under load the clock may flush 15 first */
	ok(sig == SIGKILL && seen >= 1 && seen < na, "the run was killed mid-way, after the first flush");
	diag("killed with %zu of %zu lines on disk", cli_file_lines(path), na);
	FILE *tail = fopen(path, "a"); /* as if the kill had hit the middle of a write */
	if (tail) {
		fputs("{\"schema_version\":1,\"task\":\"mc\",\"item\":\"m", tail);
		fclose(tail);
	}
	int rc = cli_run(&o, "run --resume %s --bos never --quiet", dir_k);
	is_int(rc, 2, "--resume with another --bos is refused (exit 2)");
	like(o, "--bos", "the refusal names the option");
	free(o);
	snprintf(other, sizeof other, "%s/other.gguf", tmp);
	cli_run(NULL, "synth --preset tiny --seed 2 -o %s", other);
	rc = cli_run(&o, "run --resume %s --model %s --quiet", dir_k, other);
	is_int(rc, 3, "--resume with another model is refused (exit 3)");
	like(o, "not the model", "the refusal says the model differs");
	free(o);
	rc = cli_run(&o, "run --resume %s --threads 1 --quiet", dir_k);
	is_int(rc, 0, "--resume finishes the run");
	like(o, "after resuming", "the summary says it resumed");
	like(o, "dropping the unfinished last line", "the resume reports the partial last line it dropped");
	free(o);
	size_t nk, dups;
	const char *first = NULL;
	json_t *jk = choices_by_key(path, &nk, &dups);
	is_int(nk, na, "after the resume items.jsonl has every unit");
	is_int(dups, 0, "and none twice");
	size_t diff = n_different(ref, jk, &first);
	ok(diff == 0 && json_object_size(jk) == json_object_size(ref), "killed + resumed logliks equal the uninterrupted run's");
	json_decref(jk);
}

/* The killed and resumed run's results: recomputed, and its window only this session's items. */
static void t_resumed_results(void)
{
	char path[600];
	check_recomputed(dir_k, "resumed run");
	check_performance(dir_k, "resumed run", true);
	struct rec_results kr;
	struct mrl_err kerr = { 0 };
	snprintf(path, sizeof path, "%s/results.json", dir_k);
	rec_results_read(path, &kr, &kerr);
	const struct rec_perf_task *pt = find_perf(&kr, "mc");
	ok(pt && pt->window.present && pt->window.n_items < pt->all.n_items,
	   "resumed: the window counts only this session's items, the throughput all of them");
	rec_results_release(&kr);
}

static void t_resume_finished(void)
{
	char path[600], *o = NULL;
	int rc = cli_run(&o, "run --resume %s", dir_c); /* not --quiet: the summary is what is checked */
	is_int(rc, 0, "--resume of a finished run");
	like(o, "no item of this task was scored in this session", "the summary says there is no window to measure");
	free(o);
	check_performance(dir_c, "resume with nothing left", false);
	struct rec_results cr;
	struct mrl_err cerr = { 0 };
	snprintf(path, sizeof path, "%s/results.json", dir_c);
	rec_results_read(path, &cr, &cerr);
	int absent = 0;
	for (size_t t = 0; t < cr.n_perf; t++)
		absent += !cr.perf[t].window.present && cr.perf[t].window.absent_reason;
	is_int(absent, 3, "nothing scored in the session: every window null with the reason");
	rec_results_release(&cr);
}

static void t_sigint(void)
{
	char dir_i[512], path[600];
	snprintf(dir_i, sizeof dir_i, "%s/i", tmp);
	const char *args_i[] = { "--model", tiny_model, "--suite", mini_suite, "--threads", "2", "--quiet", "--out", dir_i,
				 NULL };
	pid_t pid = spawn_run_paused(merilo, NULL, spawn_log, 0, 2, args_i);
	ok(spawn_wait_stopped(pid), "SIGINT: the run stopped itself after 2 units (MERILO_TEST_PAUSE_AT)");
	kill(pid, SIGINT); /* pending while stopped, delivered on SIGCONT */
	kill(pid, SIGCONT);
	is_int(spawn_wait(pid, NULL), 4, "SIGINT: exit 4");
	char *log = cli_slurp(spawn_log);
	like(log, "merilo run --resume", "SIGINT: the message says how to resume");
	free(log);
	snprintf(path, sizeof path, "%s/items.jsonl", dir_i);
	size_t ni = cli_file_lines(path);
	ok(ni >= 1 && ni < na, "SIGINT: the items scored so far are on disk (none lost to the batch buffer)");
	diag("SIGINT after %zu items", ni);
}

int main(void)
{
	merilo = cli_merilo();
	if (!merilo)
		skip_all("MERILO does not name the merilo binary (run through make test)");
	if (!cli_tmpdir(tmp, sizeof tmp, "run"))
		skip_all("cannot create a temporary folder");
	setenv("MERILO_CACHE_DIR", tmp, 1); /* the hash cache stays in the test's folder */
	char *o = NULL;
	snprintf(tiny_model, sizeof tiny_model, "%s/tiny.gguf", tmp);
	int rc = cli_run(&o, "synth --preset tiny --seed 1 -o %s", tiny_model);
	if (rc) {
		diag("merilo synth failed (%d): %s", rc, o);
		const char *fx = fixtures_dir();
		snprintf(tiny_model, sizeof tiny_model, "%s/models/tiny-llama-ff192-f32.gguf", fx ? fx : ".");
		if (!fx || access(tiny_model, R_OK))
			skip_all("no model: merilo synth failed and the fixture model is absent");
	}
	free(o);
	snprintf(dir_a, sizeof dir_a, "%s/a", tmp);
	snprintf(dir_c, sizeof dir_c, "%s/c", tmp);
	snprintf(dir_k, sizeof dir_k, "%s/k", tmp);
	snprintf(spawn_log, sizeof spawn_log, "%s/spawn.log", tmp);

	TEST(check_windows(), "perplexity windows: every token predicted once, lm-eval's with stride = window");
	TEST(t_usage_errors(), "usage and input errors: exit 2, 3 or 4 with a message naming the cause");
	TEST(t_refused_before_folder(), "a suite the options or the model cannot run is refused before its folder");
	TEST(t_whole_run(), "a whole run writes items.jsonl, prompts and run.json; a second --out is refused");
	ref = choices_of(dir_a, &na);
	TEST(check_recomputed(dir_a, "mini suite"), "acc, acc_norm and McNemar counts recomputed from items.jsonl");
	TEST(check_performance(dir_a, "mini suite", true), "the performance section agrees with items.jsonl");
	TEST(check_ppl(dir_a), "the perplexity aggregate recomputed from the per-document records");
	TEST(check_encode_pair(tiny_model, dir_a), "one choice's loglik recomputed with lm-eval's _encode_pair rule");
	TEST(t_threads_batching(), "--threads and --batch do not change a single digit");
	TEST(t_store_logprobs(), "--store-logprobs: per-token logprobs stored, consistent, scores unchanged");
	TEST(t_papi_absent(), "libpapi absent: the run works, every counter null with the reason");
	TEST(t_kill_resume(), "SIGKILL mid-run, then --resume: every unit once, the same numbers");
	TEST(t_resumed_results(), "a resumed run's results recomputed; its window covers only its own items");
	TEST(t_resume_finished(), "--resume of a finished run: nothing scored, every window null with the reason");
	TEST(t_sigint(), "SIGINT stops with exit 4, a resume hint and the scored items on disk");
	const char *fx = fixtures_dir();
	if (fx)
		TEST(check_benchich(fx), "BENCHić COPA end to end");
	else
		skip("fixtures absent: ../shared/fixtures", "BENCHić end to end");

	json_decref(ref);
	cli_rmtree(tmp);
	return done_testing();
}
