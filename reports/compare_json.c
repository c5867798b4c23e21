/* compare_json.c — a comparison for machines: the JSON document (NaN written
 * as null) and JUnit XML for CI systems, one testcase per gated comparison.
 * Formats in docs/compare.md.
 */
#include "reports/rpt.h"
#include "reports/compare_int.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* JSON helpers: NaN is null (jansson refuses NaN reals). */
static json_t *jreal(double v)
{
	return isfinite(v) ? json_real(v) : json_null();
}

static json_t *jstr(const char *s)
{
	return s ? json_string(s) : json_null();
}

static json_t *json_side(const struct rpt_cmp_side *side)
{
	return json_pack("{s:o, s:o, s:o, s:o, s:o, s:o}", "run", jstr(side->label), "model_name", jstr(side->model_name),
			 "model_sha256", jstr(side->model_sha256), "suite_sha256", jstr(side->suite_sha256),
			 "engine_build", jstr(side->engine_build), "host", jstr(side->host));
}

static json_t *json_flips(const struct rpt_cmp_row *r, const size_t *idx, size_t n)
{
	json_t *a = json_array();
	for (size_t k = 0; a && k < n; k++) {
		const struct rpt_pair *pr = &r->in->pairs[idx[k]];
		if (json_array_append_new(a, json_pack("{s:o, s:o}", "item", jstr(pr->item_id), "prompt", jstr(pr->prompt)))) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

/* Reals for KL: NaN null, +inf "inf" (a candidate probability of 0), as in merilo's records. */
static json_t *jkl(double v)
{
	return isnan(v) ? json_null() : isinf(v) ? json_string(v > 0 ? "inf" : "-inf") : json_real(v);
}

/* The "kl" object of the JSON output; json null when no KL was computed. */
static json_t *json_kl(const struct rpt_cmp_result *res)
{
	if (!res->n_kl)
		return json_null();
	json_t *rows = json_array();
	json_t *kl = json_pack("{s:s, s:s, s:b, s:s, s:o, s:o}", "measure", "KL(base || candidate)", "unit", "nats",
			       "lower_bound", 1, "method",
			       "buckets: each token in both runs' top-K lists, plus one tail bucket "
			       "(docs/results-format.md, Comparing two runs)",
			       "gate_max_mean", jkl(res->kl_gate_max_mean), "rows", rows ? rows : json_null());
	if (!kl || !rows) {
		json_decref(kl);
		return NULL;
	}
	for (size_t i = 0; i < res->n_kl; i++) {
		const struct rpt_kl_row *r = &res->kl[i];
		json_t *row = json_object();
		if (!row || json_array_append_new(rows, row)) {
			json_decref(kl);
			return NULL;
		}
		int e = 0;
		e |= json_object_set_new(row, "task", jstr(r->task));
		e |= json_object_set_new(row, "language", jstr(r->language));
		e |= json_object_set_new(row, "n_sequences", json_integer((json_int_t)r->n_sequences));
		e |= json_object_set_new(row, "n_skipped_tokens", json_integer((json_int_t)r->n_skipped_tokens));
		e |= json_object_set_new(row, "n_skipped_prompt", json_integer((json_int_t)r->n_skipped_prompt));
		e |= json_object_set_new(row, "n_positions", json_integer((json_int_t)r->n_positions));
		e |= json_object_set_new(row, "n_positions_topk", json_integer((json_int_t)r->n_positions_topk));
		e |= json_object_set_new(row, "kl_mean", jkl(r->kl_mean));
		e |= json_object_set_new(row, "kl_median", jkl(r->kl_median));
		e |= json_object_set_new(row, "kl_p90", jkl(r->kl_p90));
		e |= json_object_set_new(row, "kl_p99", jkl(r->kl_p99));
		e |= json_object_set_new(row, "kl_max", jkl(r->kl_max));
		e |= json_object_set_new(row, "covered_mass_mean", jkl(r->covered_mean));
		e |= json_object_set_new(row, "top1_agreement", jkl(r->top1_agreement));
		e |= json_object_set_new(row, "abs_dlogprob_mean", jkl(r->abs_dlogprob_mean));
		e |= json_object_set_new(row, "gated", json_boolean(r->gated));
		e |= json_object_set_new(row, "gate_failed", json_boolean(r->gate_failed));
		e |= json_object_set_new(row, "topk_mass_min", jkl(r->topk_mass_min));
		e |= json_object_set_new(row, "topk_mass_median", jkl(r->topk_mass_median));
		e |= json_object_set_new(row, "undetermined", json_boolean(r->undetermined));
		if (e) {
			json_decref(kl);
			return NULL;
		}
	}
	return kl;
}

/* The gate's outcome into the "result" object: outcome, comparable, the
 * differences (each setting with both values and whether --allow-different
 * named it), the KL rows left undetermined and the performance gate's counts
 * and why it cannot decide (null when it can or is off). Non-zero when out of memory. */
static int json_outcome(json_t *result, const struct rpt_cmp_result *res, const struct rpt_cmp_meta *meta)
{
	enum rpt_cmp_outcome oc = rpt_compare_outcome(res, meta);
	json_t *diffs = json_array();
	int e = !diffs;
	for (size_t i = 0; diffs && meta && i < meta->n_diffs; i++) {
		const struct rpt_cmp_difference *d = &meta->diffs[i];
		e |= json_array_append_new(diffs, json_pack("{s:o, s:o, s:o, s:b}", "setting", jstr(d->setting), "base",
							    jstr(d->base), "candidate", jstr(d->cand), "allowed", d->allowed));
	}
	e |= json_object_set_new(result, "passed", json_boolean(oc == RPT_CMP_PASS));
	e |= json_object_set_new(result, "outcome", json_string(rpt_cmp_outcome_name(oc)));
	e |= json_object_set_new(result, "comparable", json_boolean(oc != RPT_CMP_NOT_COMPARABLE));
	e |= json_object_set_new(result, "differences", diffs ? diffs : json_null());
	e |= json_object_set_new(result, "n_kl_undetermined", json_integer((json_int_t)res->n_kl_undetermined));
	e |= json_object_set_new(result, "n_gate_undetermined", json_integer((json_int_t)res->n_gate_underpowered));
	e |= json_object_set_new(result, "gate_empty", json_boolean(rpt_cmp_gate_empty(res, meta)));
	const bool perf = meta && meta->perf_gated;
	e |= json_object_set_new(result, "n_perf_gated", json_integer(perf ? (json_int_t)meta->perf_n_gated : 0));
	e |= json_object_set_new(result, "n_perf_failed", json_integer(perf ? (json_int_t)meta->perf_n_failed : 0));
	e |= json_object_set_new(result, "perf_undetermined", perf ? jstr(meta->perf_undetermined) : json_null());
	return e;
}

/* One comparison as JSON (a new reference; NULL when out of memory); a row of a breakdown
 * value's items also names the field and value. */
static json_t *row_json(const struct rpt_cmp_row *r)
{
	bool bin = r->in->kind == RPT_METRIC_BINARY;
	json_t *row = json_pack(
		"{s:o, s:o, s:o, s:s, s:b, s:I, s:I, s:I, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:s, s:b, s:o, s:b}",
		"task", jstr(r->in->task), "language", jstr(r->in->language), "metric", jstr(r->in->metric),
		"kind", bin ? "binary" : "graded", "lower_is_better", r->lower_is_better,
		"n_pairs", (json_int_t)r->in->n_pairs, "n_base_only", (json_int_t)r->in->n_base_only,
		"n_cand_only", (json_int_t)r->in->n_cand_only, "base", jreal(r->base_mean),
		"candidate", jreal(r->cand_mean), "diff", jreal(r->diff), "ci_low", jreal(r->ci_low),
		"ci_high", jreal(r->ci_high), "test", jstr(r->test),
		"right_to_wrong", bin ? json_integer((json_int_t)r->n_right_to_wrong) : json_null(),
		"wrong_to_right", bin ? json_integer((json_int_t)r->n_wrong_to_right) : json_null(),
		"p", jreal(r->p), "p_holm", jreal(r->p_holm), "verdict", rpt_verdict_name(r->verdict),
		"gated", r->gated, "max_drop_points", jreal(r->max_drop_points), "gate_failed", r->gate_failed);
	if (!row)
		return NULL;
	json_object_set_new(row, "gate_undetermined", json_boolean(r->gate_underpowered));
	json_object_set_new(row, "p_floor", r->gated ? jreal(r->p_floor) : json_null());
	json_t *fl = !bin ? NULL /* graded: no right/wrong flips (null) */
			  : json_pack("{s:o*, s:o*}", "right_to_wrong", json_flips(r, r->flips_rw, r->n_flips_rw),
				      "wrong_to_right", json_flips(r, r->flips_wr, r->n_flips_wr));
	json_object_set_new(row, "flips", fl ? fl : json_null());
	if ((r->in->value && (json_object_set_new(row, "field", jstr(r->in->field)) ||
			      json_object_set_new(row, "value", jstr(r->in->value)))) ||
	    (r->in->language_b && (json_object_set_new(row, "language_b", jstr(r->in->language_b)) ||
				   json_object_set_new(row, "gap_kind", jstr(r->in->gap_kind))))) {
		json_decref(row);
		return NULL;
	}
	return row;
}

/* "by_value" or "gaps": every comparison of a family besides the gate's, or null where there
 * are none. */
static json_t *json_family(const struct rpt_cmp_result *v)
{
	if (!v || !v->n_rows)
		return json_null();
	json_t *rows = json_array();
	for (size_t i = 0; rows && i < v->n_rows; i++)
		if (json_array_append_new(rows, row_json(&v->rows[i]))) {
			json_decref(rows);
			return NULL;
		}
	return rows;
}

char *rpt_cmp_render_json(const struct rpt_cmp_result *res, const struct rpt_cmp_meta *meta)
{
	char *out = NULL;
	const struct rpt_compare_opts *o = &res->opts;
	json_t *gate = json_array(), *rows = json_array(), *notes = json_array();
	json_t *gt = o->gate_tasks ? json_array() : json_null(), *gl = o->gate_languages ? json_array() : json_null();
	json_t *root = NULL;
	if (!gate || !rows || !notes || !gt || !gl)
		goto out;
	for (size_t g = 0; g < o->n_gate; g++)
		json_array_append_new(gate, json_pack("{s:s, s:f}", "metric", o->gate[g].metric, "max_drop_points",
						      o->gate[g].max_drop_points));
	for (size_t i = 0; o->gate_tasks && i < o->n_gate_tasks; i++)
		json_array_append_new(gt, jstr(o->gate_tasks[i]));
	for (size_t i = 0; o->gate_languages && i < o->n_gate_languages; i++)
		json_array_append_new(gl, jstr(o->gate_languages[i]));
	for (size_t i = 0; meta && i < meta->n_notes; i++)
		json_array_append_new(notes, jstr(meta->notes[i]));
	for (size_t i = 0; i < res->n_rows; i++)
		if (json_array_append_new(rows, row_json(&res->rows[i])))
			goto out;
	root = json_pack("{s:i, s:s, s:o, s:o, s:{s:f, s:I, s:I, s:f, s:O, s:O, s:O}, s:{s:b, s:I, s:I}, s:O, s:O}",
			 "schema_version", 1, "tool", "merilo compare",
			 "base", meta ? json_side(&meta->base) : json_null(),
			 "candidate", meta ? json_side(&meta->cand) : json_null(),
			 "options", "alpha", o->alpha, "seed", (json_int_t)o->seed, "n_resamples", (json_int_t)o->n_resamples,
			 "ci_level", o->ci_level, "gate", gate, "gate_tasks", gt, "gate_languages", gl,
			 "result", "passed", res->n_gate_failed == 0, "n_gated", (json_int_t)res->n_gated,
			 "n_gate_failed", (json_int_t)res->n_gate_failed, "comparisons", rows, "notes", notes);
	if (root) {
		json_t *kl = json_kl(res), *opts = json_object_get(root, "options");
		if (!kl || json_object_set_new(opts, "gate_kl", jkl(res->kl_gate_max_mean)) ||
		    json_object_set_new(opts, "gate_perf", meta && meta->perf_gated ? jreal(meta->perf_threshold) : json_null()) ||
		    json_object_set_new(opts, "kl_min_coverage", jkl(o->kl_min_coverage)) ||
		    json_object_set_new(root, "kl", kl) || json_object_set_new(root, "by_value", json_family(meta ? meta->by_value : NULL)) ||
		    json_object_set_new(root, "gaps", json_family(meta ? meta->gaps : NULL)) ||
		    json_outcome(json_object_get(root, "result"), res, meta))
			goto out;
		out = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17));
	}
out:
	json_decref(root);
	json_decref(gate);
	json_decref(rows);
	json_decref(notes);
	json_decref(gt);
	json_decref(gl);
	return out;
}

/* KL figures as informational properties "kl.<task>.<language>.<figure>" (never a
 * failure by themselves: only --gate-kl makes testcases of them). */
static void junit_kl_properties(struct mrl_buf *s, const struct rpt_cmp_result *res)
{
	if (res->n_kl)
		mrl_buf_add(s, "      <property name=\"kl.note\" value=\"KL(base || candidate) in nats per position: a lower "
			       "bound from the stored top-K lists; covered = mean base mass in the shared tokens\"/>\n");
	for (size_t i = 0; i < res->n_kl; i++) {
		const struct rpt_kl_row *r = &res->kl[i];
		const struct { const char *name; double v; } fig[] = {
			{ "kl_mean", r->kl_mean }, { "kl_median", r->kl_median }, { "kl_p90", r->kl_p90 },
			{ "kl_p99", r->kl_p99 }, { "kl_max", r->kl_max }, { "covered_mass_mean", r->covered_mean },
			{ "top1_agreement", r->top1_agreement }, { "abs_dlogprob_mean", r->abs_dlogprob_mean },
			{ "n_positions", (double)r->n_positions }, { "n_sequences", (double)r->n_sequences },
		};
		for (size_t f = 0; f < sizeof fig / sizeof fig[0]; f++) {
			mrl_buf_add(s, "      <property name=\"kl.");
			rpt_esc_xml(s, r->task);
			mrl_buf_add(s, ".");
			rpt_esc_xml(s, r->language);
			mrl_buf_addf(s, ".%s\" value=\"", fig[f].name);
			if (isnan(fig[f].v))
				mrl_buf_add(s, "null");
			else if (isinf(fig[f].v))
				mrl_buf_add(s, "inf");
			else
				mrl_buf_addf(s, "%.17g", fig[f].v);
			mrl_buf_add(s, "\"/>\n");
		}
	}
}

/* One testcase per gated KL row (--gate-kl). */
static void junit_kl_testcases(struct mrl_buf *s, const struct rpt_cmp_result *res)
{
	for (size_t i = 0; i < res->n_kl; i++) {
		const struct rpt_kl_row *r = &res->kl[i];
		if (!r->gated)
			continue;
		struct mrl_buf d;
		mrl_buf_init(&d);
		mrl_buf_add(&d, "mean KL(base || candidate) ");
		rpt_cmp_add_kl(&d, r->kl_mean);
		mrl_buf_addf(&d, " nats (a lower bound; max allowed %g), p99 ", res->kl_gate_max_mean);
		rpt_cmp_add_kl(&d, r->kl_p99);
		mrl_buf_add(&d, ", covered mass ");
		rpt_cmp_add_pct(&d, r->covered_mean);
		mrl_buf_add(&d, ", top-1 agreement ");
		rpt_cmp_add_pct(&d, r->top1_agreement);
		mrl_buf_addf(&d, ", %zu positions", r->n_positions_topk);
		mrl_buf_add(s, "    <testcase classname=\"merilo.compare.kl\" name=\"");
		rpt_esc_xml(s, r->task);
		mrl_buf_add(s, " ");
		rpt_esc_xml(s, r->language);
		mrl_buf_add(s, " kl_mean\">\n");
		if (r->undetermined) {
			mrl_buf_add(s, "      <failure type=\"kl-undetermined\" message=\"undetermined: the top-K lists hold a median ");
			rpt_cmp_add_pct(s, r->topk_mass_median);
			mrl_buf_add(s, " (min ");
			rpt_cmp_add_pct(s, r->topk_mass_min);
			mrl_buf_add(s, ") of the probability mass, below --kl-min-coverage ");
			rpt_cmp_add_pct(s, res->opts.kl_min_coverage);
			mrl_buf_add(s, "; ");
		} else {
			mrl_buf_add(s, r->gate_failed ? "      <failure type=\"kl-divergence\" message=\"" : "      <system-out>");
		}
		rpt_esc_xml(s, d.data);
		mrl_buf_add(s, r->gate_failed || r->undetermined ? "\"/>\n" : "</system-out>\n");
		mrl_buf_add(s, "    </testcase>\n");
		if (d.oom)
			s->oom = true;
		mrl_buf_release(&d);
	}
}

/* The testcase "comparable settings" when the runs differ in a score-changing
 * setting: a failure (not-comparable) naming each blocking setting with both
 * values; the allowed ones in its output. */
static void junit_settings(struct mrl_buf *s, const struct rpt_cmp_meta *meta, bool blocked)
{
	mrl_buf_add(s, "    <testcase classname=\"merilo.compare.settings\" name=\"comparable settings\">\n");
	if (blocked) {
		mrl_buf_add(s, "      <failure type=\"not-comparable\" message=\"not comparable: the runs differ in ");
		rpt_cmp_add_differences(s, meta, false, rpt_esc_xml);
		mrl_buf_add(s, "; pass --allow-different ");
		rpt_cmp_add_allow_list(s, meta, rpt_esc_xml);
		mrl_buf_add(s, " to gate them anyway\"/>\n");
	}
	struct mrl_buf a;
	mrl_buf_init(&a);
	rpt_cmp_add_differences(&a, meta, true, rpt_esc_xml);
	if (a.len)
		mrl_buf_addf(s, "      <system-out>allowed differences (--allow-different): %s</system-out>\n", a.data);
	mrl_buf_release(&a);
	mrl_buf_add(s, "    </testcase>\n");
}

/* With --gate-perf, one testcase for the bench figures: a failure
 * (perf-undetermined) saying why the gate cannot decide, or (perf-regression)
 * naming the figures worse beyond the threshold. */
static void junit_perf(struct mrl_buf *s, const struct rpt_cmp_meta *meta)
{
	mrl_buf_addf(s, "    <testcase classname=\"merilo.compare.perf\" name=\"bench figures (--gate-perf %g%%)\">\n",
		     100 * meta->perf_threshold);
	if (meta->perf_undetermined) {
		mrl_buf_add(s, "      <failure type=\"perf-undetermined\" message=\"undetermined: ");
		rpt_esc_xml(s, meta->perf_undetermined);
		mrl_buf_add(s, "\"/>\n");
	} else if (meta->perf_n_failed) {
		mrl_buf_addf(s, "      <failure type=\"perf-regression\" message=\"%zu of %zu bench figures worse by more than %g%%: ",
			     meta->perf_n_failed, meta->perf_n_gated, 100 * meta->perf_threshold);
		rpt_esc_xml(s, meta->perf_failures ? meta->perf_failures : "");
		mrl_buf_add(s, "\"/>\n");
	} else {
		mrl_buf_addf(s, "      <system-out>%zu bench figures, none worse by more than %g%%</system-out>\n",
			     meta->perf_n_gated, 100 * meta->perf_threshold);
	}
	mrl_buf_add(s, "    </testcase>\n");
}

void rpt_cmp_render_junit(struct mrl_buf *s, const struct rpt_cmp_result *res, const struct rpt_cmp_meta *meta)
{
	bool has_diffs = meta && meta->n_diffs, perf = meta && meta->perf_gated;
	bool blocked = rpt_compare_outcome(res, meta) == RPT_CMP_NOT_COMPARABLE, empty = rpt_cmp_gate_empty(res, meta);
	size_t tests = res->n_gated + has_diffs + perf + empty,
	       failures = res->n_gate_failed + res->n_kl_undetermined + res->n_gate_underpowered + blocked + empty;
	failures += perf && (meta->perf_undetermined || meta->perf_n_failed);
	mrl_buf_addf(s, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
			"<testsuites name=\"merilo compare\" tests=\"%zu\" failures=\"%zu\" errors=\"0\">\n"
			"  <testsuite name=\"merilo compare\" tests=\"%zu\" failures=\"%zu\" errors=\"0\" skipped=\"0\">\n",
		     tests, failures, tests, failures);
	if (meta || res->n_kl) {
		mrl_buf_add(s, "    <properties>\n");
		if (meta) {
			mrl_buf_add(s, "      <property name=\"base\" value=\"");
			rpt_esc_xml(s, meta->base.label);
			mrl_buf_add(s, "\"/>\n      <property name=\"candidate\" value=\"");
			rpt_esc_xml(s, meta->cand.label);
			mrl_buf_add(s, "\"/>\n");
		}
		junit_kl_properties(s, res);
		mrl_buf_add(s, "    </properties>\n");
	}
	for (size_t i = 0; i < res->n_rows; i++) {
		const struct rpt_cmp_row *r = &res->rows[i];
		if (!r->gated)
			continue;
		mrl_buf_add(s, "    <testcase classname=\"merilo.compare.");
		rpt_esc_xml(s, r->in->task);
		mrl_buf_add(s, "\" name=\"");
		rpt_esc_xml(s, r->in->task);
		mrl_buf_add(s, " ");
		rpt_esc_xml(s, r->in->language);
		mrl_buf_add(s, " ");
		rpt_esc_xml(s, r->in->metric);
		mrl_buf_add(s, "\">\n");
		struct mrl_buf d;
		mrl_buf_init(&d);
		mrl_buf_add(&d, r->in->metric);
		mrl_buf_add(&d, ": base ");
		rpt_cmp_add_value(&d, r, r->base_mean, false);
		mrl_buf_add(&d, ", candidate ");
		rpt_cmp_add_value(&d, r, r->cand_mean, false);
		mrl_buf_add(&d, ", diff ");
		rpt_cmp_add_value(&d, r, r->diff, true);
		mrl_buf_add(&d, " CI ");
		rpt_cmp_add_ci(&d, r);
		mrl_buf_addf(&d, " (%s), n %zu, ", r->in->kind == RPT_METRIC_BINARY ? "percentage points" : "metric units",
			     r->in->n_pairs);
		if (r->in->n_pairs) /* p is NaN where there is no pair: nothing was tested */
			mrl_buf_addf(&d, "p %.3g, Holm p %.3g, ", r->p, r->p_holm);
		mrl_buf_addf(&d, "max drop %g points, verdict: %s", r->max_drop_points, rpt_verdict_name(r->verdict));
		if (r->gate_failed) {
			mrl_buf_add(s, "      <failure type=\"regression\" message=\"");
			rpt_esc_xml(s, d.data);
			mrl_buf_add(s, "\">");
			mrl_buf_addf(s, "%zu items right in base and wrong in candidate, %zu the other way.", r->n_flips_rw,
				     r->n_flips_wr);
			for (size_t k = 0; k < r->n_flips_rw && k < RPT_CMP_MAX_FLIPS_LISTED; k++) {
				mrl_buf_add(s, "\nright->wrong: ");
				rpt_esc_xml(s, r->in->pairs[r->flips_rw[k]].item_id);
			}
			mrl_buf_add(s, "</failure>\n");
		} else if (r->gate_underpowered) {
			mrl_buf_add(s, "      <failure type=\"undetermined\" message=\"undetermined: ");
			rpt_esc_xml(s, d.data);
			mrl_buf_addf(s, "; with %zu pairs Holm p cannot fall below %.3g\"/>\n", r->in->n_pairs, r->p_floor);
		} else {
			mrl_buf_add(s, "      <system-out>");
			rpt_esc_xml(s, d.data);
			mrl_buf_add(s, "</system-out>\n");
		}
		if (d.oom)
			s->oom = true;
		mrl_buf_release(&d);
		mrl_buf_add(s, "    </testcase>\n");
	}
	if (empty) { /* a gate that judges nothing is no pass */
		mrl_buf_add(s, "    <testcase classname=\"merilo.compare.gate\" name=\"the gate judges a comparison\">\n"
			       "      <failure type=\"undetermined\" message=\"the gate judges nothing: ");
		rpt_cmp_add_gate_empty(s, res, rpt_esc_xml);
		mrl_buf_add(s, "\"/>\n    </testcase>\n");
	}
	if (has_diffs)
		junit_settings(s, meta, blocked);
	junit_kl_testcases(s, res);
	if (perf)
		junit_perf(s, meta);
	mrl_buf_add(s, "  </testsuite>\n</testsuites>\n");
}
