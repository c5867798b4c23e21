/* results.c — results.json: the C record <-> JSON, written atomically and read
 * back with the JSON pointer of the first bad field (docs/results-format.md).
 * Writers build jansson objects and dump them with 17 significant digits (an
 * exact double round trip); the "performance" section is in perf.c and the
 * manifest in manifest.c.
 */
#include "records/rec_int.h"

#include "common/fileio.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void rec_results_init(struct rec_results *r)
{
	memset(r, 0, sizeof *r);
	r->schema_version = REC_RESULTS_SCHEMA_VERSION;
	r->model.size_bytes = -1;
	r->model.load_s = NAN;
	r->settings.threads = r->settings.limit = r->settings.fewshot_k = -1;
	r->settings.fewshot_seed = r->settings.seed = -1;
	r->manifest.schema_version = REC_MANIFEST_SCHEMA_VERSION;
	r->manifest.logical_cores = r->manifest.mem_total_bytes = r->manifest.model_size_bytes = -1;
}

static void aggregate_release(struct rec_aggregate *a)
{
	for (size_t i = 0; i < a->n_metrics; i++) {
		free(a->metrics[i].name);
		free(a->metrics[i].method);
	}
	free(a->metrics);
	free(a->task);
	free(a->language);
	free(a->field);
	free(a->value);
}

static void comparison_release(struct rec_comparison *c)
{
	free(c->task);
	free(c->language_a);
	free(c->language_b);
	free(c->metric);
	free(c->method);
}

void rec_results_release(struct rec_results *r)
{
	free(r->suite.name);
	free(r->suite.version);
	free(r->suite.path);
	free(r->suite.sha256);
	free(r->model.path);
	free(r->model.name);
	free(r->model.arch);
	free(r->model.sha256);
	free(r->engine.name);
	free(r->engine.version);
	free(r->engine.backend);
	free(r->settings.bos_mode);
	rec_strlist_free(r->settings.languages, r->settings.n_languages);
	rec_strlist_free(r->settings.tasks, r->settings.n_tasks);
	json_decref(r->settings.extra);
	for (size_t i = 0; i < r->n_aggregates; i++)
		aggregate_release(&r->aggregates[i]);
	free(r->aggregates);
	for (size_t i = 0; i < r->n_comparisons; i++)
		comparison_release(&r->comparisons[i]);
	free(r->comparisons);
	for (size_t i = 0; i < r->n_breakdowns; i++)
		aggregate_release(&r->breakdowns[i]);
	free(r->breakdowns);
	rec_manifest_release(&r->manifest);
	rec_perf_release(r);
	memset(r, 0, sizeof *r);
}

/* Append to *v (of *n) an aggregate of task, language, and field and value where given. */
static struct rec_aggregate *add_aggregate(struct rec_aggregate **v, size_t *n_v, const char *task,
					   const char *language, const char *field, const char *value, int64_t n)
{
	struct rec_aggregate *grown = realloc(*v, (*n_v + 1) * sizeof *grown);
	if (!grown)
		return NULL;
	*v = grown;
	struct rec_aggregate *a = &grown[*n_v];
	memset(a, 0, sizeof *a);
	bool oom = false;
	a->task = rec_dup_or_null(task, &oom);
	a->language = rec_dup_or_null(language, &oom);
	a->field = rec_dup_or_null(field, &oom);
	a->value = rec_dup_or_null(value, &oom);
	a->n = n;
	a->chance = NAN;
	if (oom) {
		aggregate_release(a);
		return NULL;
	}
	(*n_v)++;
	return a;
}

struct rec_aggregate *rec_results_add_aggregate(struct rec_results *r, const char *task, const char *language,
						int64_t n)
{
	return add_aggregate(&r->aggregates, &r->n_aggregates, task, language, NULL, NULL, n);
}

struct rec_aggregate *rec_results_add_breakdown(struct rec_results *r, const char *task, const char *language,
						const char *field, const char *value, int64_t n)
{
	return add_aggregate(&r->breakdowns, &r->n_breakdowns, task, language, field, value, n);
}

int rec_aggregate_add_metric(struct rec_aggregate *a, const char *name, double value, double std_err,
			     double ci_low, double ci_high, double ci_level, const char *method)
{
	struct rec_metric_value *grown = realloc(a->metrics, (a->n_metrics + 1) * sizeof *grown);
	if (!grown)
		return MRL_ENOMEM;
	a->metrics = grown;
	struct rec_metric_value *m = &grown[a->n_metrics];
	bool oom = false;
	*m = (struct rec_metric_value){ .name = rec_dup_or_null(name, &oom), .value = value, .std_err = std_err,
					.ci_low = ci_low, .ci_high = ci_high, .ci_level = ci_level,
					.method = rec_dup_or_null(method, &oom), .n = -1 };
	if (oom) {
		free(m->name);
		free(m->method);
		return MRL_ENOMEM;
	}
	a->n_metrics++;
	return 0;
}

struct rec_comparison *rec_results_add_comparison(struct rec_results *r, const char *task,
						  const char *language_a, const char *language_b,
						  const char *metric, const char *method)
{
	struct rec_comparison *grown = realloc(r->comparisons, (r->n_comparisons + 1) * sizeof *grown);
	if (!grown)
		return NULL;
	r->comparisons = grown;
	struct rec_comparison *c = &grown[r->n_comparisons];
	bool oom = false;
	*c = (struct rec_comparison){ .task = rec_dup_or_null(task, &oom), .language_a = rec_dup_or_null(language_a, &oom),
				      .language_b = rec_dup_or_null(language_b, &oom), .metric = rec_dup_or_null(metric, &oom),
				      .method = rec_dup_or_null(method, &oom), .diff = NAN, .ci_low = NAN,
				      .ci_high = NAN, .ci_level = NAN, .mcnemar_p = NAN };
	if (oom) {
		comparison_release(c);
		return NULL;
	}
	r->n_comparisons++;
	return c;
}

/* Grow *dst (of n_dst elements of size) to hold n_src more; 0 or MRL_ENOMEM. */
static int reserve(void **dst, size_t n_dst, size_t n_src, size_t size)
{
	if (!n_src)
		return 0;
	void *grown = realloc(*dst, (n_dst + n_src) * size);
	if (!grown)
		return MRL_ENOMEM;
	*dst = grown;
	return 0;
}

int rec_results_take(struct rec_results *dst, struct rec_results *src)
{
	if (reserve((void **)&dst->aggregates, dst->n_aggregates, src->n_aggregates, sizeof *dst->aggregates) ||
	    reserve((void **)&dst->comparisons, dst->n_comparisons, src->n_comparisons, sizeof *dst->comparisons) ||
	    reserve((void **)&dst->breakdowns, dst->n_breakdowns, src->n_breakdowns, sizeof *dst->breakdowns))
		return MRL_ENOMEM; /* what grew holds the same elements: both as they were */
	if (src->n_aggregates)
		memcpy(dst->aggregates + dst->n_aggregates, src->aggregates, src->n_aggregates * sizeof *dst->aggregates);
	if (src->n_comparisons)
		memcpy(dst->comparisons + dst->n_comparisons, src->comparisons, src->n_comparisons * sizeof *dst->comparisons);
	if (src->n_breakdowns)
		memcpy(dst->breakdowns + dst->n_breakdowns, src->breakdowns, src->n_breakdowns * sizeof *dst->breakdowns);
	dst->n_aggregates += src->n_aggregates;
	dst->n_comparisons += src->n_comparisons;
	dst->n_breakdowns += src->n_breakdowns;
	free(src->aggregates);
	free(src->comparisons);
	free(src->breakdowns);
	src->aggregates = NULL, src->comparisons = NULL, src->breakdowns = NULL;
	src->n_aggregates = src->n_comparisons = src->n_breakdowns = 0;
	return 0;
}

/* Known keys of "settings"; everything else belongs to extra. */
static const char *const settings_keys[] = { "bos_mode", "threads", "limit", "fewshot_k", "fewshot_seed",
					     "seed", "languages", "tasks" };

json_t *rec_settings_to_json(const struct rec_settings *s)
{
	json_t *o = json_object();
	if (!o)
		return NULL;
	int bad = rec_put(o, "bos_mode", rec_json_string(s->bos_mode));
	bad |= rec_put(o, "threads", rec_json_count(s->threads));
	bad |= rec_put(o, "limit", rec_json_count(s->limit));
	bad |= rec_put(o, "fewshot_k", rec_json_count(s->fewshot_k));
	bad |= rec_put(o, "fewshot_seed", rec_json_count(s->fewshot_seed));
	bad |= rec_put(o, "seed", rec_json_count(s->seed));
	bad |= rec_put(o, "languages", rec_strlist_to_json(s->languages, s->n_languages));
	bad |= rec_put(o, "tasks", rec_strlist_to_json(s->tasks, s->n_tasks));
	/* extra cannot override a known setting */
	if (s->extra && json_is_object(s->extra))
		bad |= json_object_update_missing(o, s->extra) != 0;
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *aggregate_to_json(const struct rec_aggregate *a)
{
	json_t *o = json_object(), *metrics = json_object();
	int bad = !o || !metrics;
	for (size_t i = 0; !bad && i < a->n_metrics; i++) {
		const struct rec_metric_value *m = &a->metrics[i];
		json_t *mo = json_object();
		if (!mo || !m->name) {
			json_decref(mo);
			bad = 1;
			break;
		}
		bad |= rec_put(mo, "value", rec_json_real(m->value));
		bad |= rec_put(mo, "stderr", rec_json_real(m->std_err));
		bad |= rec_put(mo, "ci_low", rec_json_real(m->ci_low));
		bad |= rec_put(mo, "ci_high", rec_json_real(m->ci_high));
		bad |= rec_put(mo, "ci_level", rec_json_real(m->ci_level));
		bad |= rec_put(mo, "method", rec_json_string(m->method));
		if (m->n >= 0)
			bad |= rec_put(mo, "n", json_integer(m->n));
		bad |= rec_put(metrics, m->name, mo);
	}
	if (!bad) {
		bad |= rec_put(o, "task", rec_json_string(a->task));
		bad |= rec_put(o, "language", rec_json_string(a->language));
		if (a->field) {
			bad |= rec_put(o, "field", rec_json_string(a->field));
			bad |= rec_put(o, "value", rec_json_string(a->value));
		}
		bad |= rec_put(o, "n", json_integer(a->n));
		if (isfinite(a->chance))
			bad |= rec_put(o, "chance", json_real(a->chance));
		bad |= rec_put(o, "metrics", metrics);
		metrics = NULL;
	}
	json_decref(metrics);
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *comparison_to_json(const struct rec_comparison *c)
{
	json_t *o = json_object(), *mc = json_object();
	int bad = !o || !mc;
	if (!bad) {
		bad |= rec_put(mc, "b", json_integer(c->mcnemar_b));
		bad |= rec_put(mc, "c", json_integer(c->mcnemar_c));
		bad |= rec_put(mc, "p", rec_json_real(c->mcnemar_p));
		bad |= rec_put(o, "task", rec_json_string(c->task));
		bad |= rec_put(o, "language_a", rec_json_string(c->language_a));
		bad |= rec_put(o, "language_b", rec_json_string(c->language_b));
		bad |= rec_put(o, "metric", rec_json_string(c->metric));
		bad |= rec_put(o, "n_pairs", json_integer(c->n_pairs));
		bad |= rec_put(o, "diff", rec_json_real(c->diff));
		bad |= rec_put(o, "ci_low", rec_json_real(c->ci_low));
		bad |= rec_put(o, "ci_high", rec_json_real(c->ci_high));
		bad |= rec_put(o, "ci_level", rec_json_real(c->ci_level));
		bad |= rec_put(o, "method", rec_json_string(c->method));
		bad |= rec_put(o, "mcnemar", mc);
		mc = NULL;
	}
	json_decref(mc);
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

json_t *rec_results_to_json(const struct rec_results *r)
{
	json_t *o = json_object(), *suite = json_object(), *model = json_object(), *engine = json_object();
	json_t *aggs = json_array(), *comps = json_array();
	int bad = !o || !suite || !model || !engine || !aggs || !comps;
	if (!bad) {
		bad |= rec_put(suite, "name", rec_json_string(r->suite.name));
		bad |= rec_put(suite, "version", rec_json_string(r->suite.version));
		bad |= rec_put(suite, "path", rec_json_string(r->suite.path));
		bad |= rec_put(suite, "sha256", rec_json_string(r->suite.sha256));
		bad |= rec_put(model, "path", rec_json_string(r->model.path));
		bad |= rec_put(model, "name", rec_json_string(r->model.name));
		bad |= rec_put(model, "arch", rec_json_string(r->model.arch));
		bad |= rec_put(model, "size_bytes", rec_json_count(r->model.size_bytes));
		bad |= rec_put(model, "sha256", rec_json_string(r->model.sha256));
		bad |= rec_put(model, "load_s", rec_json_real(r->model.load_s));
		bad |= rec_put(engine, "name", rec_json_string(r->engine.name));
		bad |= rec_put(engine, "version", rec_json_string(r->engine.version));
		bad |= rec_put(engine, "backend", rec_json_string(r->engine.backend));
		for (size_t i = 0; i < r->n_aggregates; i++)
			bad |= json_array_append_new(aggs, aggregate_to_json(&r->aggregates[i])) != 0;
		for (size_t i = 0; i < r->n_comparisons; i++)
			bad |= json_array_append_new(comps, comparison_to_json(&r->comparisons[i])) != 0;
		json_t *bds = r->n_breakdowns ? json_array() : NULL;
		bad |= r->n_breakdowns && !bds;
		for (size_t i = 0; bds && i < r->n_breakdowns; i++)
			bad |= json_array_append_new(bds, aggregate_to_json(&r->breakdowns[i])) != 0;
		bad |= rec_put(o, "schema_version", json_integer(r->schema_version));
		bad |= rec_put(o, "suite", suite);
		bad |= rec_put(o, "model", model);
		bad |= rec_put(o, "engine", engine);
		bad |= rec_put(o, "settings", rec_settings_to_json(&r->settings));
		bad |= rec_put(o, "aggregates", aggs);
		bad |= rec_put(o, "comparisons", comps);
		if (bds)
			bad |= rec_put(o, "breakdowns", bds);
		bad |= rec_put(o, "manifest", rec_manifest_to_json(&r->manifest));
		if (r->n_perf)
			bad |= rec_put(o, "performance", rec_perf_to_json(r->perf, r->n_perf));
	} else {
		json_decref(suite);
		json_decref(model);
		json_decref(engine);
		json_decref(aggs);
		json_decref(comps);
	}
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* Check o.schema_version against want; MRL_EUNSUPPORTED for another version. */
int rec_check_schema_version(const json_t *o, int want, const char *where, const char *path,
				struct mrl_err *err)
{
	int64_t v = 0;
	int rc = mrl_json_get_int(o, "schema_version", MRL_JSON_REQUIRED, &v, where, path, err);
	if (rc)
		return rc;
	char at[256];
	mrl_json_path_key(at, sizeof at, path, "schema_version");
	if (v != want)
		return mrl_err_set(err, MRL_EUNSUPPORTED,
				   "%s: %s: unsupported schema version %lld (this merilo reads version %d)", where, at,
				   (long long)v, want);
	return 0;
}

static int strlist_from_json(const json_t *obj, const char *key, char ***list, size_t *n, const char *where,
			     const char *path, struct mrl_err *err)
{
	json_t *a;
	int rc = mrl_json_get_array(obj, key, MRL_JSON_OPTIONAL | MRL_JSON_NULLABLE, &a, where, path, err);
	if (rc || !a)
		return rc;
	for (size_t i = 0; i < json_array_size(a); i++) {
		json_t *v = json_array_get(a, i);
		if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v))
			return mrl_err_set(err, MRL_EINPUT, "%s: %s/%s/%zu: expected a string, got %s", where, path,
					   key, i, mrl_json_type_name(v));
		if (rec_strlist_add(list, n, json_string_value(v)))
			return mrl_err_set(err, MRL_ENOMEM, "%s: out of memory", where);
	}
	return 0;
}

static int settings_from_json(const json_t *o, struct rec_settings *s, const char *where, const char *path,
			      struct mrl_err *err)
{
	const int opt = MRL_JSON_OPTIONAL | MRL_JSON_NULLABLE;
	int rc;
	if ((rc = mrl_json_get_str(o, "bos_mode", opt, &s->bos_mode, where, path, err)) ||
	    (rc = mrl_json_get_int(o, "threads", opt, &s->threads, where, path, err)) ||
	    (rc = mrl_json_get_int(o, "limit", opt, &s->limit, where, path, err)) ||
	    (rc = mrl_json_get_int(o, "fewshot_k", opt, &s->fewshot_k, where, path, err)) ||
	    (rc = mrl_json_get_int(o, "fewshot_seed", opt, &s->fewshot_seed, where, path, err)) ||
	    (rc = mrl_json_get_int(o, "seed", opt, &s->seed, where, path, err)) ||
	    (rc = strlist_from_json(o, "languages", &s->languages, &s->n_languages, where, path, err)) ||
	    (rc = strlist_from_json(o, "tasks", &s->tasks, &s->n_tasks, where, path, err)))
		return rc;
	const char *key;
	json_t *v = NULL;
	json_object_foreach((json_t *)o, key, v) {
		bool known = false;
		for (size_t i = 0; i < sizeof settings_keys / sizeof settings_keys[0]; i++)
			known |= !strcmp(key, settings_keys[i]);
		if (known)
			continue;
		if (!s->extra && !(s->extra = json_object()))
			return mrl_err_set(err, MRL_ENOMEM, "%s: out of memory", where);
		if (json_object_set_new(s->extra, key, json_deep_copy(v)))
			return mrl_err_set(err, MRL_ENOMEM, "%s: out of memory", where);
	}
	return 0;
}

static int aggregate_from_json(const json_t *o, struct rec_results *r, bool breakdown, const char *where,
			       const char *path, struct mrl_err *err)
{
	char *task = NULL, *language = NULL, *field = NULL, *value = NULL, mpath[256];
	int64_t n = 0;
	double chance = NAN;
	json_t *metrics;
	int rc;
	if ((rc = mrl_json_get_str(o, "task", 0, &task, where, path, err)) ||
	    (rc = mrl_json_get_str(o, "language", 0, &language, where, path, err)) ||
	    (rc = mrl_json_get_int(o, "n", 0, &n, where, path, err)) ||
	    (rc = mrl_json_get_real(o, "chance", MRL_JSON_OPTIONAL, &chance, where, path, err)) ||
	    (rc = mrl_json_get_object(o, "metrics", 0, &metrics, where, path, err)) ||
	    (breakdown && (rc = mrl_json_get_str(o, "field", 0, &field, where, path, err))) ||
	    (breakdown && (rc = mrl_json_get_str(o, "value", 0, &value, where, path, err))))
		goto out;
	if (!isnan(chance) && !(chance > 0 && chance <= 1)) {
		mrl_json_path_key(mpath, sizeof mpath, path, "chance");
		rc = mrl_err_set(err, MRL_EINPUT, "%s: %s: %g is not a probability in (0, 1]", where, mpath, chance);
		goto out;
	}
	struct rec_aggregate *a = breakdown ? rec_results_add_breakdown(r, task, language, field, value, n)
					    : rec_results_add_aggregate(r, task, language, n);
	if (!a) {
		rc = mrl_err_set(err, MRL_ENOMEM, "%s: out of memory", where);
		goto out;
	}
	a->chance = chance;
	const char *name;
	json_t *m;
	json_object_foreach(metrics, name, m) {
		struct rec_metric_value v = { .n = -1 };
		char *method = NULL;
		char mbase[256];
		mrl_json_path_key(mbase, sizeof mbase, path, "metrics");
		mrl_json_path_key(mpath, sizeof mpath, mbase, name);
		const int real = MRL_JSON_NULLABLE;
		if ((rc = mrl_json_get_real(m, "value", real, &v.value, where, mpath, err)) ||
		    (rc = mrl_json_get_real(m, "stderr", real, &v.std_err, where, mpath, err)) ||
		    (rc = mrl_json_get_real(m, "ci_low", real, &v.ci_low, where, mpath, err)) ||
		    (rc = mrl_json_get_real(m, "ci_high", real, &v.ci_high, where, mpath, err)) ||
		    (rc = mrl_json_get_real(m, "ci_level", real, &v.ci_level, where, mpath, err)) ||
		    (rc = mrl_json_get_str(m, "method", MRL_JSON_NULLABLE, &method, where, mpath, err)) ||
		    (rc = mrl_json_get_int(m, "n", MRL_JSON_OPTIONAL, &v.n, where, mpath, err))) {
			free(method);
			goto out;
		}
		rc = rec_aggregate_add_metric(a, name, v.value, v.std_err, v.ci_low, v.ci_high, v.ci_level, method);
		free(method);
		if (!rc && v.n > n) {
			rc = mrl_err_set(err, MRL_EINPUT, "%s: %s/n: %lld items, more than the aggregate's %lld", where, mpath,
					 (long long)v.n, (long long)n);
			goto out;
		}
		if (!rc)
			a->metrics[a->n_metrics - 1].n = v.n < 0 ? -1 : v.n;
		if (rc) {
			rc = mrl_err_set(err, MRL_ENOMEM, "%s: out of memory", where);
			goto out;
		}
	}
out:
	free(task);
	free(language);
	free(field);
	free(value);
	return rc;
}

static int comparison_from_json(const json_t *o, struct rec_results *r, const char *where, const char *path,
				struct mrl_err *err)
{
	char *task = NULL, *la = NULL, *lb = NULL, *metric = NULL, *method = NULL, mpath[256];
	json_t *mc;
	struct rec_comparison v = { 0 };
	int rc;
	const int real = MRL_JSON_NULLABLE;
	mrl_json_path_key(mpath, sizeof mpath, path, "mcnemar");
	if ((rc = mrl_json_get_str(o, "task", 0, &task, where, path, err)) ||
	    (rc = mrl_json_get_str(o, "language_a", 0, &la, where, path, err)) ||
	    (rc = mrl_json_get_str(o, "language_b", 0, &lb, where, path, err)) ||
	    (rc = mrl_json_get_str(o, "metric", 0, &metric, where, path, err)) ||
	    (rc = mrl_json_get_int(o, "n_pairs", 0, &v.n_pairs, where, path, err)) ||
	    (rc = mrl_json_get_real(o, "diff", real, &v.diff, where, path, err)) ||
	    (rc = mrl_json_get_real(o, "ci_low", real, &v.ci_low, where, path, err)) ||
	    (rc = mrl_json_get_real(o, "ci_high", real, &v.ci_high, where, path, err)) ||
	    (rc = mrl_json_get_real(o, "ci_level", real, &v.ci_level, where, path, err)) ||
	    (rc = mrl_json_get_str(o, "method", MRL_JSON_NULLABLE, &method, where, path, err)) ||
	    (rc = mrl_json_get_object(o, "mcnemar", 0, &mc, where, path, err)) ||
	    (rc = mrl_json_get_int(mc, "b", 0, &v.mcnemar_b, where, mpath, err)) ||
	    (rc = mrl_json_get_int(mc, "c", 0, &v.mcnemar_c, where, mpath, err)) ||
	    (rc = mrl_json_get_real(mc, "p", real, &v.mcnemar_p, where, mpath, err)))
		goto out;
	struct rec_comparison *c = rec_results_add_comparison(r, task, la, lb, metric, method);
	if (!c) {
		rc = mrl_err_set(err, MRL_ENOMEM, "%s: out of memory", where);
		goto out;
	}
	c->n_pairs = v.n_pairs;
	c->diff = v.diff;
	c->ci_low = v.ci_low;
	c->ci_high = v.ci_high;
	c->ci_level = v.ci_level;
	c->mcnemar_b = v.mcnemar_b;
	c->mcnemar_c = v.mcnemar_c;
	c->mcnemar_p = v.mcnemar_p;
out:
	free(task);
	free(la);
	free(lb);
	free(metric);
	free(method);
	return rc;
}

int rec_results_from_json(const json_t *j, struct rec_results *r, const char *where, struct mrl_err *err)
{
	rec_results_init(r);
	const int str = MRL_JSON_OPTIONAL | MRL_JSON_NULLABLE;
	json_t *suite, *model, *engine, *settings, *aggs, *comps, *manifest;
	char path[128];
	int rc;
	if (!json_is_object(j))
		return mrl_err_set(err, MRL_EINPUT, "%s: the top level: expected an object, got %s", where, mrl_json_type_name(j));
	if ((rc = rec_check_schema_version(j, REC_RESULTS_SCHEMA_VERSION, where, "", err)))
		return rc;
	if ((rc = mrl_json_get_object(j, "suite", 0, &suite, where, "", err)) ||
	    (rc = mrl_json_get_str(suite, "name", str, &r->suite.name, where, "/suite", err)) ||
	    (rc = mrl_json_get_str(suite, "version", str, &r->suite.version, where, "/suite", err)) ||
	    (rc = mrl_json_get_str(suite, "path", str, &r->suite.path, where, "/suite", err)) ||
	    (rc = mrl_json_get_str(suite, "sha256", str, &r->suite.sha256, where, "/suite", err)) ||
	    (rc = mrl_json_get_object(j, "model", 0, &model, where, "", err)) ||
	    (rc = mrl_json_get_str(model, "path", str, &r->model.path, where, "/model", err)) ||
	    (rc = mrl_json_get_str(model, "name", str, &r->model.name, where, "/model", err)) ||
	    (rc = mrl_json_get_str(model, "arch", str, &r->model.arch, where, "/model", err)) ||
	    (rc = mrl_json_get_int(model, "size_bytes", str, &r->model.size_bytes, where, "/model", err)) ||
	    (rc = mrl_json_get_str(model, "sha256", str, &r->model.sha256, where, "/model", err)) ||
	    (rc = mrl_json_get_real(model, "load_s", str, &r->model.load_s, where, "/model", err)) ||
	    (rc = mrl_json_get_object(j, "engine", 0, &engine, where, "", err)) ||
	    (rc = mrl_json_get_str(engine, "name", str, &r->engine.name, where, "/engine", err)) ||
	    (rc = mrl_json_get_str(engine, "version", str, &r->engine.version, where, "/engine", err)) ||
	    (rc = mrl_json_get_str(engine, "backend", str, &r->engine.backend, where, "/engine", err)) ||
	    (rc = mrl_json_get_object(j, "settings", 0, &settings, where, "", err)) ||
	    (rc = settings_from_json(settings, &r->settings, where, "/settings", err)) ||
	    (rc = mrl_json_get_array(j, "aggregates", 0, &aggs, where, "", err)) ||
	    (rc = mrl_json_get_array(j, "comparisons", 0, &comps, where, "", err)) ||
	    (rc = mrl_json_get_object(j, "manifest", 0, &manifest, where, "", err)))
		return rc;
	for (size_t i = 0; i < json_array_size(aggs); i++) {
		snprintf(path, sizeof path, "/aggregates/%zu", i);
		if ((rc = aggregate_from_json(json_array_get(aggs, i), r, false, where, path, err)))
			return rc;
	}
	json_t *bds = NULL; /* absent before 2026-12-07 */
	if ((rc = mrl_json_get_array(j, "breakdowns", MRL_JSON_OPTIONAL, &bds, where, "", err)))
		return rc;
	for (size_t i = 0; i < json_array_size(bds); i++) {
		snprintf(path, sizeof path, "/breakdowns/%zu", i);
		if ((rc = aggregate_from_json(json_array_get(bds, i), r, true, where, path, err)))
			return rc;
	}
	for (size_t i = 0; i < json_array_size(comps); i++) {
		snprintf(path, sizeof path, "/comparisons/%zu", i);
		if ((rc = comparison_from_json(json_array_get(comps, i), r, where, path, err)))
			return rc;
	}
	json_t *perf;
	if ((rc = mrl_json_get_array(j, "performance", MRL_JSON_OPTIONAL | MRL_JSON_NULLABLE, &perf, where, "", err)) ||
	    (perf && (rc = rec_perf_from_json(perf, r, where, err))))
		return rc;
	return rec_manifest_from_json(manifest, &r->manifest, where, "/manifest", err);
}

int rec_results_write(const char *path, const struct rec_results *r, struct mrl_err *err)
{
	int rc = 0;
	char *text = NULL;
	json_t *j = rec_results_to_json(r);
	if (!j || !(text = json_dumps(j, DUMP_FLAGS_PRETTY))) {
		rc = mrl_err_set(err, MRL_ENOMEM, "%s: out of memory (or a metric without a name) serializing results",
				 path);
		goto out;
	}
	size_t len = strlen(text);
	char *with_nl = realloc(text, len + 2);
	if (!with_nl) {
		rc = mrl_err_set(err, MRL_ENOMEM, "%s: out of memory", path);
		goto out;
	}
	text = with_nl;
	text[len++] = '\n';
	text[len] = '\0';
	rc = mrl_write_file_atomic(path, text, len, err);
out:
	free(text);
	json_decref(j);
	return rc;
}

int rec_results_read(const char *path, struct rec_results *r, struct mrl_err *err)
{
	char *text = NULL;
	size_t len = 0;
	json_t *j = NULL;
	json_error_t jerr;
	rec_results_init(r);
	int rc = mrl_read_file(path, REC_RESULTS_MAX_BYTES, &text, &len, err);
	if (rc)
		goto out;
	j = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!j) {
		rc = mrl_err_set(err, MRL_EINPUT, "%s:%d:%d: not valid JSON: %s", path, jerr.line, jerr.column, jerr.text);
		goto out;
	}
	rc = rec_results_from_json(j, r, path, err);
out:
	json_decref(j);
	free(text);
	return rc;
}

/* --------------------------------------------------------------- items */
