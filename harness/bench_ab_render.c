/* bench_ab_render.c — what `merilo bench --ab` writes: its settings, and the verdict
 * as JSON (schema merilo-bench-ab, docs/perf-gate.md) or as markdown.
 */
#include "harness/bench_ab_int.h"
#include "harness/hrn.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_t *tps_array(const double *v, long n)
{
	json_t *a = json_array();
	for (long i = 0; a && i < n; i++)
		json_array_append_new(a, rec_json_real(v[i]));
	return a;
}

json_t *hrn_ab_settings_json(const struct ab_opts *o, const char *exe)
{
	json_t *s = json_object(), *tests = json_array();
	for (int i = 0; tests && i < o->n_tests; i++)
		json_array_append_new(tests, json_string(o->tests[i].name));
	json_object_set_new(s, "command", json_string("bench --ab"));
	json_object_set_new(s, "candidate_binary", rec_json_string(exe));
	json_object_set_new(s, "candidate_model", rec_json_string(o->model));
	json_object_set_new(s, "base", rec_json_string(o->base));
	json_object_set_new(s, "base_kind", json_string(o->base_is_model ? "model" : "binary"));
	json_object_set_new(s, "mode", json_string(o->deterministic ? "deterministic" : "timed"));
	json_object_set_new(s, "threshold", json_real(o->gate.threshold));
	json_object_set_new(s, "alpha", json_real(o->gate.alpha));
	json_object_set_new(s, "ci_level", json_real(o->gate.level));
	json_object_set_new(s, "n_resamples", json_integer((json_int_t)o->gate.n_resamples));
	json_object_set_new(s, "bootstrap_seed", json_integer((json_int_t)(o->gate.seed & INT64_MAX)));
	if (o->deterministic) {
		json_object_set_new(s, "prompt", json_string(DET_PROMPT));
		json_object_set_new(s, "gen", json_integer(o->det_gen));
		json_object_set_new(s, "threads", json_integer(1));
	} else {
		json_object_set_new(s, "tests", tests);
		tests = NULL;
		json_object_set_new(s, "pairs", json_integer(o->pairs));
		json_object_set_new(s, "warmup_pairs", json_integer(o->warmup_pairs));
		json_object_set_new(s, "order", json_string("AB, BA alternating"));
		json_object_set_new(s, "threads", json_integer(o->threads));
		json_object_set_new(s, "reps", json_integer(o->reps));
		json_object_set_new(s, "warmup", json_integer(o->warmup));
		json_object_set_new(s, "seed", json_integer(o->seed));
	}
	json_decref(tests);
	return s;
}

char *hrn_ab_render_json(const struct ab_opts *o, const struct rec_manifest *man, const json_t *settings,
			 const struct ins_result *ins, bool failed)
{
	json_t *j = json_object(), *tests = json_array();
	json_object_set_new(j, "schema", json_string(AB_SCHEMA));
	json_object_set_new(j, "schema_version", json_integer(1));
	json_object_set_new(j, "manifest", rec_manifest_to_json(man));
	json_object_set_new(j, "settings", json_deep_copy(settings));
	json_object_set_new(j, "direction", json_string("ratio = candidate (A) time / base (B) time: > 1 means the "
							"candidate is slower"));
	if (ins) {
		json_t *t = json_object();
		double ratio = ins->base ? (double)ins->cand / (double)ins->base : NAN;
		json_object_set_new(t, "test", json_string("generate"));
		json_object_set_new(t, "source", json_string(ins->source));
		json_object_set_new(t, "unit", json_string("instructions"));
		json_object_set_new(t, "candidate", json_integer((json_int_t)ins->cand));
		json_object_set_new(t, "base", json_integer((json_int_t)ins->base));
		json_object_set_new(t, "ratio", rec_json_real(ratio));
		json_object_set_new(t, "outcome", json_string(!(ratio <= 1 + o->gate.threshold) ? "regression"
							      : ratio < 1 / (1 + o->gate.threshold) ? "improvement"
												    : "no significant change"));
		json_object_set_new(t, "gate_failed", json_boolean(failed));
		json_array_append_new(tests, t);
	}
	for (int i = 0; !ins && i < o->n_tests; i++) {
		const struct ab_test *x = &o->tests[i];
		json_t *t = json_object();
		json_object_set_new(t, "test", json_string(x->name));
		json_object_set_new(t, "unit", json_string("tokens/s"));
		json_object_set_new(t, "candidate_tokens_per_s", tps_array(x->cand_tps, o->pairs));
		json_object_set_new(t, "base_tokens_per_s", tps_array(x->base_tps, o->pairs));
		json_object_set_new(t, "n_pairs", json_integer((json_int_t)x->v.n));
		json_object_set_new(t, "median_log_ratio", rec_json_real(x->v.log_ratio));
		json_object_set_new(t, "ci_low", rec_json_real(x->v.ci_lo));
		json_object_set_new(t, "ci_high", rec_json_real(x->v.ci_hi));
		json_object_set_new(t, "ratio", rec_json_real(x->v.ratio));
		json_object_set_new(t, "ratio_ci_low", rec_json_real(x->v.ratio_lo));
		json_object_set_new(t, "ratio_ci_high", rec_json_real(x->v.ratio_hi));
		json_object_set_new(t, "wilcoxon_p", rec_json_real(x->v.p));
		json_object_set_new(t, "wilcoxon_exact", json_boolean(x->v.p_exact));
		json_object_set_new(t, "outcome", json_string(hrn_ab_outcome_name(x->v.outcome)));
		json_object_set_new(t, "gate_failed", json_boolean(x->v.outcome == HRN_AB_REGRESSION));
		json_array_append_new(tests, t);
	}
	json_object_set_new(j, "tests", tests);
	json_object_set_new(j, "verdict", json_string(failed ? "fail" : "pass"));
	char *text = json_dumps(j, JSON_INDENT(2) | JSON_REAL_PRECISION(17));
	json_decref(j);
	if (!text)
		return NULL;
	size_t len = strlen(text);
	char *t2 = realloc(text, len + 2);
	if (!t2) {
		free(text);
		return NULL;
	}
	memcpy(t2 + len, "\n", 2);
	return t2;
}

char *hrn_ab_render_md(const struct ab_opts *o, const char *exe, const struct ins_result *ins, bool failed)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		return NULL;
	fprintf(f, "## merilo bench --ab: %s\n\n", failed ? "FAIL (regression)" : "PASS");
	fprintf(f, "- candidate (A): `%s` with model `%s`\n", exe, o->model);
	if (o->base_is_model)
		fprintf(f, "- base (B): model `%s` (same binary, in this process)\n", o->base);
	else
		fprintf(f, "- base (B): binary `%s` with the same model\n", o->base);
	if (ins) {
		double ratio = ins->base ? (double)ins->cand / (double)ins->base : NAN;
		fprintf(f, "- deterministic: instructions of `merilo generate --prompt '%s' -n %ld --threads 1`, counted by "
			   "%s; fails when A/B - 1 > %.3g%%\n\n",
			DET_PROMPT, o->det_gen, ins->source, 100 * o->gate.threshold);
		fprintf(f, "| test | source | A instructions | B instructions | A/B | verdict |\n|---|---|---:|---:|---:|---|\n");
		fprintf(f, "| generate | %s | %llu | %llu | %.6f (%+.4f%%) | %s |\n", ins->source,
			(unsigned long long)ins->cand, (unsigned long long)ins->base, ratio, 100 * (ratio - 1),
			failed ? "regression" : ratio < 1 / (1 + o->gate.threshold) ? "improvement" : "no significant change");
	} else {
		fprintf(f, "- %ld pairs, order AB, BA alternating, %ld warm-up pair%s discarded; each measurement: median of %ld reps "
			   "(%ld warm-up), %ld thread%s, seed %ld\n",
			o->pairs, o->warmup_pairs, o->warmup_pairs == 1 ? "" : "s", o->reps, o->warmup, o->threads,
			o->threads == 1 ? "" : "s", o->seed);
		fprintf(f, "- gate: FAIL when the %.0f%% bootstrap CI of the median time ratio A/B lies above %.4g "
			   "(threshold %.3g%%) AND Wilcoxon signed-rank p < %.3g\n\n",
			100 * o->gate.level, 1 + o->gate.threshold, 100 * o->gate.threshold, o->gate.alpha);
		fprintf(f, "| test | A t/s (median) | B t/s (median) | time ratio A/B | %.0f%% CI | p | verdict |\n"
			   "|---|---:|---:|---:|---|---:|---|\n", 100 * o->gate.level);
		double *tmp = malloc((size_t)o->pairs * sizeof *tmp);
		for (int i = 0; tmp && i < o->n_tests; i++) {
			const struct ab_test *t = &o->tests[i];
			fprintf(f, "| %s | %.2f | %.2f | %.4f | [%.4f, %.4f] | %.3g | %s |\n", t->name,
				hrn_ab_median(tmp, t->cand_tps, (size_t)o->pairs), hrn_ab_median(tmp, t->base_tps, (size_t)o->pairs),
				t->v.ratio, t->v.ratio_lo, t->v.ratio_hi, t->v.p, hrn_ab_outcome_name(t->v.outcome));
		}
		free(tmp);
	}
	fputs("\nRatio > 1: the candidate is slower. Rules: docs/perf-gate.md.\n", f);
	if (fclose(f)) {
		free(buf);
		return NULL;
	}
	return buf;
}
