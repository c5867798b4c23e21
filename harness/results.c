/* results.c — results.json and items.jsonl: C records <-> JSON, files, resume set.
 *
 * The JSON layout is documented in docs/results-format.md; this file is its
 * one implementation. Writers build jansson objects and dump them with 17
 * significant digits (exact double round trip). Readers walk the objects
 * with the hrn_json_get_* field readers, which name the file and the JSON path
 * of the first bad field. results.json is replaced atomically (common/fileio);
 * items.jsonl is appended by the item writer in fsync'ed batches of whole
 * lines, and the reader treats an unterminated last line as the trace of a
 * run killed mid-write: reported, not fatal.
 */
#include "harness/results.h"

#include "common/fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define DUMP_FLAGS_COMPACT (JSON_COMPACT | JSON_REAL_PRECISION(17))
#define DUMP_FLAGS_PRETTY (JSON_INDENT(2) | JSON_REAL_PRECISION(17))

/* ------------------------------------------------------ JSON field readers */

static const char *type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: return "an object";
	case JSON_ARRAY: return "an array";
	case JSON_STRING: return "a string";
	case JSON_INTEGER: return "an integer";
	case JSON_REAL: return "a real number";
	case JSON_TRUE: return "true";
	case JSON_FALSE: return "false";
	case JSON_NULL: return "null";
	}
	return "?";
}

/* Find obj[key]; returns 1 with *v set when present and not null, 0 when it is
 * absent/null and allowed (*is_null says which), or MRL_EINPUT. */
static int lookup(const json_t *obj, const char *key, int flags, const char *expected, json_t **v,
		  bool *is_null, const char *where, const char *path, struct mrl_err *err)
{
	*is_null = false;
	if (!json_is_object(obj))
		return mrl_err_set(err, MRL_EINPUT, "%s: %s: expected an object, got %s", where, path,
				   obj ? type_name(obj) : "nothing");
	*v = json_object_get(obj, key);
	if (!*v) {
		if (flags & HRN_J_OPTIONAL)
			return 0;
		return mrl_err_set(err, MRL_EINPUT, "%s: %s.%s: missing (expected %s)", where, path, key, expected);
	}
	if (json_is_null(*v)) {
		if (flags & HRN_J_NULLABLE) {
			*is_null = true;
			return 0;
		}
		return mrl_err_set(err, MRL_EINPUT, "%s: %s.%s: expected %s, got null", where, path, key, expected);
	}
	return 1;
}

static int wrong_type(const json_t *v, const char *key, const char *expected, const char *where, const char *path,
		      struct mrl_err *err)
{
	return mrl_err_set(err, MRL_EINPUT, "%s: %s.%s: expected %s, got %s", where, path, key, expected,
			   type_name(v));
}

int hrn_json_get_str(const json_t *obj, const char *key, int flags, char **out, const char *where,
		     const char *path, struct mrl_err *err)
{
	json_t *v = NULL;
	bool is_null;
	int rc = lookup(obj, key, flags, "a string", &v, &is_null, where, path, err);
	if (rc <= 0) {
		if (rc == 0 && is_null) {
			free(*out);
			*out = NULL;
		}
		return rc;
	}
	if (!json_is_string(v))
		return wrong_type(v, key, "a string", where, path, err);
	const char *s = json_string_value(v);
	if (strlen(s) != json_string_length(v))
		return mrl_err_set(err, MRL_EINPUT, "%s: %s.%s: string contains a NUL character", where, path, key);
	char *copy = strdup(s);
	if (!copy)
		return mrl_err_set(err, MRL_ENOMEM, "%s: %s.%s: out of memory", where, path, key);
	free(*out);
	*out = copy;
	return 0;
}

int hrn_json_get_int(const json_t *obj, const char *key, int flags, int64_t *out, const char *where,
		     const char *path, struct mrl_err *err)
{
	json_t *v = NULL;
	bool is_null;
	int rc = lookup(obj, key, flags, "an integer", &v, &is_null, where, path, err);
	if (rc <= 0) {
		if (rc == 0 && is_null)
			*out = -1;
		return rc;
	}
	if (!json_is_integer(v))
		return wrong_type(v, key, "an integer", where, path, err);
	*out = (int64_t)json_integer_value(v);
	return 0;
}

int hrn_json_get_real(const json_t *obj, const char *key, int flags, double *out, const char *where,
		      const char *path, struct mrl_err *err)
{
	json_t *v = NULL;
	bool is_null;
	int rc = lookup(obj, key, flags, "a number", &v, &is_null, where, path, err);
	if (rc <= 0) {
		if (rc == 0 && is_null)
			*out = NAN;
		return rc;
	}
	if (json_is_number(v)) {
		*out = json_number_value(v);
		return 0;
	}
	if (json_is_string(v)) {
		const char *s = json_string_value(v);
		if (!strcmp(s, "inf")) {
			*out = INFINITY;
			return 0;
		}
		if (!strcmp(s, "-inf")) {
			*out = -INFINITY;
			return 0;
		}
		if (!strcmp(s, "nan")) {
			*out = NAN;
			return 0;
		}
		return mrl_err_set(err, MRL_EINPUT, "%s: %s.%s: expected a number, got the string \"%.40s\"", where, path,
				   key, s);
	}
	return wrong_type(v, key, "a number", where, path, err);
}

int hrn_json_get_bool(const json_t *obj, const char *key, int flags, bool *out, const char *where,
		      const char *path, struct mrl_err *err)
{
	json_t *v = NULL;
	bool is_null;
	int rc = lookup(obj, key, flags, "true or false", &v, &is_null, where, path, err);
	if (rc <= 0)
		return rc;
	if (!json_is_boolean(v))
		return wrong_type(v, key, "true or false", where, path, err);
	*out = json_is_true(v);
	return 0;
}

int hrn_json_get_object(const json_t *obj, const char *key, int flags, json_t **out, const char *where,
			const char *path, struct mrl_err *err)
{
	json_t *v = NULL;
	bool is_null;
	*out = NULL;
	int rc = lookup(obj, key, flags, "an object", &v, &is_null, where, path, err);
	if (rc <= 0)
		return rc;
	if (!json_is_object(v))
		return wrong_type(v, key, "an object", where, path, err);
	*out = v;
	return 0;
}

int hrn_json_get_array(const json_t *obj, const char *key, int flags, json_t **out, const char *where,
		       const char *path, struct mrl_err *err)
{
	json_t *v = NULL;
	bool is_null;
	*out = NULL;
	int rc = lookup(obj, key, flags, "an array", &v, &is_null, where, path, err);
	if (rc <= 0)
		return rc;
	if (!json_is_array(v))
		return wrong_type(v, key, "an array", where, path, err);
	*out = v;
	return 0;
}

/* ---------------------------------------------------------- JSON writers */

json_t *hrn_json_real(double v)
{
	if (isnan(v))
		return json_null();
	if (isinf(v))
		return json_string(v > 0 ? "inf" : "-inf");
	return json_real(v);
}

json_t *hrn_json_count(int64_t v)
{
	return v < 0 ? json_null() : json_integer((json_int_t)v);
}

/* Length of the valid UTF-8 sequence at s (1..4), or 0 when it is not valid
 * (overlong, surrogate, above U+10FFFF, truncated). */
static size_t utf8_valid_len(const unsigned char *s)
{
	unsigned c = s[0];
	if (c < 0x80)
		return 1;
	size_t n = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 ? 2 : 0;
	if (!n || c > 0xF4)
		return 0;
	for (size_t i = 1; i < n; i++)
		if ((s[i] & 0xC0) != 0x80)
			return 0;
	if ((c == 0xE0 && s[1] < 0xA0) || (c == 0xED && s[1] > 0x9F) || (c == 0xF0 && s[1] < 0x90) ||
	    (c == 0xF4 && s[1] > 0x8F))
		return 0;
	return n;
}

json_t *hrn_json_string(const char *s)
{
	if (!s)
		return json_null();
	json_t *j = json_string(s);
	if (j)
		return j;
	/* not valid UTF-8: replace each bad byte with U+FFFD */
	size_t len = strlen(s);
	if (len > (SIZE_MAX - 1) / 3)
		return NULL;
	char *fixed = malloc(3 * len + 1), *o = fixed;
	if (!fixed)
		return NULL;
	for (const unsigned char *p = (const unsigned char *)s; *p;) {
		size_t n = utf8_valid_len(p);
		if (n) {
			memcpy(o, p, n);
			o += n;
			p += n;
		} else {
			memcpy(o, "\xEF\xBF\xBD", 3);
			o += 3;
			p++;
		}
	}
	*o = '\0';
	j = json_string(fixed);
	free(fixed);
	return j;
}

/* json_object_set_new that reports failure (including a NULL value) as 1. */
static int put(json_t *obj, const char *key, json_t *v)
{
	return json_object_set_new(obj, key, v) != 0;
}

static json_t *strlist_to_json(char *const *list, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; a && i < n; i++)
		if (json_array_append_new(a, hrn_json_string(list[i]))) {
			json_decref(a);
			return NULL;
		}
	return a;
}

/* ------------------------------------------------------- results records */

static char *dup_or_null(const char *s, bool *oom)
{
	if (!s)
		return NULL;
	char *d = strdup(s);
	if (!d)
		*oom = true;
	return d;
}

int hrn_strlist_add(char ***list, size_t *n, const char *s)
{
	char **grown = realloc(*list, (*n + 1) * sizeof *grown);
	if (!grown)
		return MRL_ENOMEM;
	*list = grown;
	if (!(grown[*n] = strdup(s)))
		return MRL_ENOMEM;
	(*n)++;
	return 0;
}

static void strlist_free(char **list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(list[i]);
	free(list);
}

/* The "performance" section (at the end of this file). */
static void results_release_perf(struct hrn_results *r);
static json_t *perf_to_json(const struct hrn_perf_task *perf, size_t n);
static int perf_from_json(const json_t *arr, struct hrn_results *r, const char *where, struct mrl_err *err);

void hrn_results_init(struct hrn_results *r)
{
	memset(r, 0, sizeof *r);
	r->schema_version = HRN_RESULTS_SCHEMA_VERSION;
	r->model.size_bytes = -1;
	r->settings.threads = r->settings.limit = r->settings.fewshot_k = -1;
	r->settings.fewshot_seed = r->settings.seed = -1;
	r->manifest.schema_version = HRN_MANIFEST_SCHEMA_VERSION;
	r->manifest.logical_cores = r->manifest.mem_total_bytes = r->manifest.model_size_bytes = -1;
}

static void aggregate_release(struct hrn_aggregate *a)
{
	for (size_t i = 0; i < a->n_metrics; i++) {
		free(a->metrics[i].name);
		free(a->metrics[i].method);
	}
	free(a->metrics);
	free(a->task);
	free(a->language);
}

static void comparison_release(struct hrn_comparison *c)
{
	free(c->task);
	free(c->language_a);
	free(c->language_b);
	free(c->metric);
	free(c->method);
}

void hrn_results_release(struct hrn_results *r)
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
	strlist_free(r->settings.languages, r->settings.n_languages);
	strlist_free(r->settings.tasks, r->settings.n_tasks);
	json_decref(r->settings.extra);
	for (size_t i = 0; i < r->n_aggregates; i++)
		aggregate_release(&r->aggregates[i]);
	free(r->aggregates);
	for (size_t i = 0; i < r->n_comparisons; i++)
		comparison_release(&r->comparisons[i]);
	free(r->comparisons);
	hrn_manifest_release(&r->manifest);
	results_release_perf(r);
	memset(r, 0, sizeof *r);
}

struct hrn_aggregate *hrn_results_add_aggregate(struct hrn_results *r, const char *task, const char *language,
						int64_t n)
{
	struct hrn_aggregate *grown = realloc(r->aggregates, (r->n_aggregates + 1) * sizeof *grown);
	if (!grown)
		return NULL;
	r->aggregates = grown;
	struct hrn_aggregate *a = &grown[r->n_aggregates];
	memset(a, 0, sizeof *a);
	bool oom = false;
	a->task = dup_or_null(task, &oom);
	a->language = dup_or_null(language, &oom);
	a->n = n;
	if (oom) {
		aggregate_release(a);
		return NULL;
	}
	r->n_aggregates++;
	return a;
}

int hrn_aggregate_add_metric(struct hrn_aggregate *a, const char *name, double value, double std_err,
			     double ci_low, double ci_high, double ci_level, const char *method)
{
	struct hrn_metric_value *grown = realloc(a->metrics, (a->n_metrics + 1) * sizeof *grown);
	if (!grown)
		return MRL_ENOMEM;
	a->metrics = grown;
	struct hrn_metric_value *m = &grown[a->n_metrics];
	bool oom = false;
	*m = (struct hrn_metric_value){ .name = dup_or_null(name, &oom), .value = value, .std_err = std_err,
					.ci_low = ci_low, .ci_high = ci_high, .ci_level = ci_level,
					.method = dup_or_null(method, &oom) };
	if (oom) {
		free(m->name);
		free(m->method);
		return MRL_ENOMEM;
	}
	a->n_metrics++;
	return 0;
}

struct hrn_comparison *hrn_results_add_comparison(struct hrn_results *r, const char *task,
						  const char *language_a, const char *language_b,
						  const char *metric, const char *method)
{
	struct hrn_comparison *grown = realloc(r->comparisons, (r->n_comparisons + 1) * sizeof *grown);
	if (!grown)
		return NULL;
	r->comparisons = grown;
	struct hrn_comparison *c = &grown[r->n_comparisons];
	bool oom = false;
	*c = (struct hrn_comparison){ .task = dup_or_null(task, &oom), .language_a = dup_or_null(language_a, &oom),
				      .language_b = dup_or_null(language_b, &oom), .metric = dup_or_null(metric, &oom),
				      .method = dup_or_null(method, &oom), .diff = NAN, .ci_low = NAN,
				      .ci_high = NAN, .ci_level = NAN, .mcnemar_p = NAN };
	if (oom) {
		comparison_release(c);
		return NULL;
	}
	r->n_comparisons++;
	return c;
}

/* Known keys of "settings"; everything else belongs to extra. */
static const char *const settings_keys[] = { "bos_mode", "threads", "limit", "fewshot_k", "fewshot_seed",
					     "seed", "languages", "tasks" };

json_t *hrn_settings_to_json(const struct hrn_settings *s)
{
	json_t *o = json_object();
	if (!o)
		return NULL;
	int bad = put(o, "bos_mode", hrn_json_string(s->bos_mode));
	bad |= put(o, "threads", hrn_json_count(s->threads));
	bad |= put(o, "limit", hrn_json_count(s->limit));
	bad |= put(o, "fewshot_k", hrn_json_count(s->fewshot_k));
	bad |= put(o, "fewshot_seed", hrn_json_count(s->fewshot_seed));
	bad |= put(o, "seed", hrn_json_count(s->seed));
	bad |= put(o, "languages", strlist_to_json(s->languages, s->n_languages));
	bad |= put(o, "tasks", strlist_to_json(s->tasks, s->n_tasks));
	/* extra cannot override a known setting */
	if (s->extra && json_is_object(s->extra))
		bad |= json_object_update_missing(o, s->extra) != 0;
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *aggregate_to_json(const struct hrn_aggregate *a)
{
	json_t *o = json_object(), *metrics = json_object();
	int bad = !o || !metrics;
	for (size_t i = 0; !bad && i < a->n_metrics; i++) {
		const struct hrn_metric_value *m = &a->metrics[i];
		json_t *mo = json_object();
		if (!mo || !m->name) {
			json_decref(mo);
			bad = 1;
			break;
		}
		bad |= put(mo, "value", hrn_json_real(m->value));
		bad |= put(mo, "stderr", hrn_json_real(m->std_err));
		bad |= put(mo, "ci_low", hrn_json_real(m->ci_low));
		bad |= put(mo, "ci_high", hrn_json_real(m->ci_high));
		bad |= put(mo, "ci_level", hrn_json_real(m->ci_level));
		bad |= put(mo, "method", hrn_json_string(m->method));
		bad |= put(metrics, m->name, mo);
	}
	if (!bad) {
		bad |= put(o, "task", hrn_json_string(a->task));
		bad |= put(o, "language", hrn_json_string(a->language));
		bad |= put(o, "n", json_integer(a->n));
		bad |= put(o, "metrics", metrics);
		metrics = NULL;
	}
	json_decref(metrics);
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *comparison_to_json(const struct hrn_comparison *c)
{
	json_t *o = json_object(), *mc = json_object();
	int bad = !o || !mc;
	if (!bad) {
		bad |= put(mc, "b", json_integer(c->mcnemar_b));
		bad |= put(mc, "c", json_integer(c->mcnemar_c));
		bad |= put(mc, "p", hrn_json_real(c->mcnemar_p));
		bad |= put(o, "task", hrn_json_string(c->task));
		bad |= put(o, "language_a", hrn_json_string(c->language_a));
		bad |= put(o, "language_b", hrn_json_string(c->language_b));
		bad |= put(o, "metric", hrn_json_string(c->metric));
		bad |= put(o, "n_pairs", json_integer(c->n_pairs));
		bad |= put(o, "diff", hrn_json_real(c->diff));
		bad |= put(o, "ci_low", hrn_json_real(c->ci_low));
		bad |= put(o, "ci_high", hrn_json_real(c->ci_high));
		bad |= put(o, "ci_level", hrn_json_real(c->ci_level));
		bad |= put(o, "method", hrn_json_string(c->method));
		bad |= put(o, "mcnemar", mc);
		mc = NULL;
	}
	json_decref(mc);
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

json_t *hrn_results_to_json(const struct hrn_results *r)
{
	json_t *o = json_object(), *suite = json_object(), *model = json_object(), *engine = json_object();
	json_t *aggs = json_array(), *comps = json_array();
	int bad = !o || !suite || !model || !engine || !aggs || !comps;
	if (!bad) {
		bad |= put(suite, "name", hrn_json_string(r->suite.name));
		bad |= put(suite, "version", hrn_json_string(r->suite.version));
		bad |= put(suite, "path", hrn_json_string(r->suite.path));
		bad |= put(suite, "sha256", hrn_json_string(r->suite.sha256));
		bad |= put(model, "path", hrn_json_string(r->model.path));
		bad |= put(model, "name", hrn_json_string(r->model.name));
		bad |= put(model, "arch", hrn_json_string(r->model.arch));
		bad |= put(model, "size_bytes", hrn_json_count(r->model.size_bytes));
		bad |= put(model, "sha256", hrn_json_string(r->model.sha256));
		bad |= put(engine, "name", hrn_json_string(r->engine.name));
		bad |= put(engine, "version", hrn_json_string(r->engine.version));
		bad |= put(engine, "backend", hrn_json_string(r->engine.backend));
		for (size_t i = 0; i < r->n_aggregates; i++)
			bad |= json_array_append_new(aggs, aggregate_to_json(&r->aggregates[i])) != 0;
		for (size_t i = 0; i < r->n_comparisons; i++)
			bad |= json_array_append_new(comps, comparison_to_json(&r->comparisons[i])) != 0;
		bad |= put(o, "schema_version", json_integer(r->schema_version));
		bad |= put(o, "suite", suite);
		bad |= put(o, "model", model);
		bad |= put(o, "engine", engine);
		bad |= put(o, "settings", hrn_settings_to_json(&r->settings));
		bad |= put(o, "aggregates", aggs);
		bad |= put(o, "comparisons", comps);
		bad |= put(o, "manifest", hrn_manifest_to_json(&r->manifest));
		if (r->n_perf)
			bad |= put(o, "performance", perf_to_json(r->perf, r->n_perf));
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
static int check_schema_version(const json_t *o, int want, const char *where, const char *path,
				struct mrl_err *err)
{
	int64_t v = 0;
	int rc = hrn_json_get_int(o, "schema_version", HRN_J_REQUIRED, &v, where, path, err);
	if (rc)
		return rc;
	if (v != want)
		return mrl_err_set(err, MRL_EUNSUPPORTED,
				   "%s: %s.schema_version: unsupported schema version %lld (this merilo reads version %d)",
				   where, path, (long long)v, want);
	return 0;
}

static int strlist_from_json(const json_t *obj, const char *key, char ***list, size_t *n, const char *where,
			     const char *path, struct mrl_err *err)
{
	json_t *a;
	int rc = hrn_json_get_array(obj, key, HRN_J_OPTIONAL | HRN_J_NULLABLE, &a, where, path, err);
	if (rc || !a)
		return rc;
	for (size_t i = 0; i < json_array_size(a); i++) {
		json_t *v = json_array_get(a, i);
		if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v))
			return mrl_err_set(err, MRL_EINPUT, "%s: %s.%s[%zu]: expected a string, got %s", where, path,
					   key, i, type_name(v));
		if (hrn_strlist_add(list, n, json_string_value(v)))
			return mrl_err_set(err, MRL_ENOMEM, "%s: out of memory", where);
	}
	return 0;
}

static int settings_from_json(const json_t *o, struct hrn_settings *s, const char *where, const char *path,
			      struct mrl_err *err)
{
	const int opt = HRN_J_OPTIONAL | HRN_J_NULLABLE;
	int rc;
	if ((rc = hrn_json_get_str(o, "bos_mode", opt, &s->bos_mode, where, path, err)) ||
	    (rc = hrn_json_get_int(o, "threads", opt, &s->threads, where, path, err)) ||
	    (rc = hrn_json_get_int(o, "limit", opt, &s->limit, where, path, err)) ||
	    (rc = hrn_json_get_int(o, "fewshot_k", opt, &s->fewshot_k, where, path, err)) ||
	    (rc = hrn_json_get_int(o, "fewshot_seed", opt, &s->fewshot_seed, where, path, err)) ||
	    (rc = hrn_json_get_int(o, "seed", opt, &s->seed, where, path, err)) ||
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

static int aggregate_from_json(const json_t *o, struct hrn_results *r, const char *where, const char *path,
			       struct mrl_err *err)
{
	char *task = NULL, *language = NULL, mpath[256];
	int64_t n = 0;
	json_t *metrics;
	int rc;
	if ((rc = hrn_json_get_str(o, "task", 0, &task, where, path, err)) ||
	    (rc = hrn_json_get_str(o, "language", 0, &language, where, path, err)) ||
	    (rc = hrn_json_get_int(o, "n", 0, &n, where, path, err)) ||
	    (rc = hrn_json_get_object(o, "metrics", 0, &metrics, where, path, err)))
		goto out;
	struct hrn_aggregate *a = hrn_results_add_aggregate(r, task, language, n);
	if (!a) {
		rc = mrl_err_set(err, MRL_ENOMEM, "%s: out of memory", where);
		goto out;
	}
	const char *name;
	json_t *m;
	json_object_foreach(metrics, name, m) {
		struct hrn_metric_value v = { 0 };
		char *method = NULL;
		snprintf(mpath, sizeof mpath, "%s.metrics.%s", path, name);
		const int real = HRN_J_NULLABLE;
		if ((rc = hrn_json_get_real(m, "value", real, &v.value, where, mpath, err)) ||
		    (rc = hrn_json_get_real(m, "stderr", real, &v.std_err, where, mpath, err)) ||
		    (rc = hrn_json_get_real(m, "ci_low", real, &v.ci_low, where, mpath, err)) ||
		    (rc = hrn_json_get_real(m, "ci_high", real, &v.ci_high, where, mpath, err)) ||
		    (rc = hrn_json_get_real(m, "ci_level", real, &v.ci_level, where, mpath, err)) ||
		    (rc = hrn_json_get_str(m, "method", HRN_J_NULLABLE, &method, where, mpath, err))) {
			free(method);
			goto out;
		}
		rc = hrn_aggregate_add_metric(a, name, v.value, v.std_err, v.ci_low, v.ci_high, v.ci_level, method);
		free(method);
		if (rc) {
			rc = mrl_err_set(err, MRL_ENOMEM, "%s: out of memory", where);
			goto out;
		}
	}
out:
	free(task);
	free(language);
	return rc;
}

static int comparison_from_json(const json_t *o, struct hrn_results *r, const char *where, const char *path,
				struct mrl_err *err)
{
	char *task = NULL, *la = NULL, *lb = NULL, *metric = NULL, *method = NULL, mpath[256];
	json_t *mc;
	struct hrn_comparison v = { 0 };
	int rc;
	const int real = HRN_J_NULLABLE;
	snprintf(mpath, sizeof mpath, "%s.mcnemar", path);
	if ((rc = hrn_json_get_str(o, "task", 0, &task, where, path, err)) ||
	    (rc = hrn_json_get_str(o, "language_a", 0, &la, where, path, err)) ||
	    (rc = hrn_json_get_str(o, "language_b", 0, &lb, where, path, err)) ||
	    (rc = hrn_json_get_str(o, "metric", 0, &metric, where, path, err)) ||
	    (rc = hrn_json_get_int(o, "n_pairs", 0, &v.n_pairs, where, path, err)) ||
	    (rc = hrn_json_get_real(o, "diff", real, &v.diff, where, path, err)) ||
	    (rc = hrn_json_get_real(o, "ci_low", real, &v.ci_low, where, path, err)) ||
	    (rc = hrn_json_get_real(o, "ci_high", real, &v.ci_high, where, path, err)) ||
	    (rc = hrn_json_get_real(o, "ci_level", real, &v.ci_level, where, path, err)) ||
	    (rc = hrn_json_get_str(o, "method", HRN_J_NULLABLE, &method, where, path, err)) ||
	    (rc = hrn_json_get_object(o, "mcnemar", 0, &mc, where, path, err)) ||
	    (rc = hrn_json_get_int(mc, "b", 0, &v.mcnemar_b, where, mpath, err)) ||
	    (rc = hrn_json_get_int(mc, "c", 0, &v.mcnemar_c, where, mpath, err)) ||
	    (rc = hrn_json_get_real(mc, "p", real, &v.mcnemar_p, where, mpath, err)))
		goto out;
	struct hrn_comparison *c = hrn_results_add_comparison(r, task, la, lb, metric, method);
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

int hrn_results_from_json(const json_t *j, struct hrn_results *r, const char *where, struct mrl_err *err)
{
	hrn_results_init(r);
	const int str = HRN_J_OPTIONAL | HRN_J_NULLABLE;
	json_t *suite, *model, *engine, *settings, *aggs, *comps, *manifest;
	char path[128];
	int rc;
	if (!json_is_object(j))
		return mrl_err_set(err, MRL_EINPUT, "%s: $: expected an object, got %s", where, type_name(j));
	if ((rc = check_schema_version(j, HRN_RESULTS_SCHEMA_VERSION, where, "$", err)))
		return rc;
	if ((rc = hrn_json_get_object(j, "suite", 0, &suite, where, "$", err)) ||
	    (rc = hrn_json_get_str(suite, "name", str, &r->suite.name, where, "$.suite", err)) ||
	    (rc = hrn_json_get_str(suite, "version", str, &r->suite.version, where, "$.suite", err)) ||
	    (rc = hrn_json_get_str(suite, "path", str, &r->suite.path, where, "$.suite", err)) ||
	    (rc = hrn_json_get_str(suite, "sha256", str, &r->suite.sha256, where, "$.suite", err)) ||
	    (rc = hrn_json_get_object(j, "model", 0, &model, where, "$", err)) ||
	    (rc = hrn_json_get_str(model, "path", str, &r->model.path, where, "$.model", err)) ||
	    (rc = hrn_json_get_str(model, "name", str, &r->model.name, where, "$.model", err)) ||
	    (rc = hrn_json_get_str(model, "arch", str, &r->model.arch, where, "$.model", err)) ||
	    (rc = hrn_json_get_int(model, "size_bytes", str, &r->model.size_bytes, where, "$.model", err)) ||
	    (rc = hrn_json_get_str(model, "sha256", str, &r->model.sha256, where, "$.model", err)) ||
	    (rc = hrn_json_get_object(j, "engine", 0, &engine, where, "$", err)) ||
	    (rc = hrn_json_get_str(engine, "name", str, &r->engine.name, where, "$.engine", err)) ||
	    (rc = hrn_json_get_str(engine, "version", str, &r->engine.version, where, "$.engine", err)) ||
	    (rc = hrn_json_get_str(engine, "backend", str, &r->engine.backend, where, "$.engine", err)) ||
	    (rc = hrn_json_get_object(j, "settings", 0, &settings, where, "$", err)) ||
	    (rc = settings_from_json(settings, &r->settings, where, "$.settings", err)) ||
	    (rc = hrn_json_get_array(j, "aggregates", 0, &aggs, where, "$", err)) ||
	    (rc = hrn_json_get_array(j, "comparisons", 0, &comps, where, "$", err)) ||
	    (rc = hrn_json_get_object(j, "manifest", 0, &manifest, where, "$", err)))
		return rc;
	for (size_t i = 0; i < json_array_size(aggs); i++) {
		snprintf(path, sizeof path, "$.aggregates[%zu]", i);
		if ((rc = aggregate_from_json(json_array_get(aggs, i), r, where, path, err)))
			return rc;
	}
	for (size_t i = 0; i < json_array_size(comps); i++) {
		snprintf(path, sizeof path, "$.comparisons[%zu]", i);
		if ((rc = comparison_from_json(json_array_get(comps, i), r, where, path, err)))
			return rc;
	}
	json_t *perf;
	if ((rc = hrn_json_get_array(j, "performance", HRN_J_OPTIONAL | HRN_J_NULLABLE, &perf, where, "$", err)) ||
	    (perf && (rc = perf_from_json(perf, r, where, err))))
		return rc;
	return hrn_manifest_from_json(manifest, &r->manifest, where, "$.manifest", err);
}

int hrn_results_write(const char *path, const struct hrn_results *r, struct mrl_err *err)
{
	int rc = 0;
	char *text = NULL;
	json_t *j = hrn_results_to_json(r);
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

int hrn_results_read(const char *path, struct hrn_results *r, struct mrl_err *err)
{
	char *text = NULL;
	size_t len = 0;
	json_t *j = NULL;
	json_error_t jerr;
	hrn_results_init(r);
	int rc = mrl_read_file(path, HRN_RESULTS_MAX_BYTES, &text, &len, err);
	if (rc)
		goto out;
	j = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!j) {
		rc = mrl_err_set(err, MRL_EINPUT, "%s:%d:%d: not valid JSON: %s", path, jerr.line, jerr.column, jerr.text);
		goto out;
	}
	rc = hrn_results_from_json(j, r, path, err);
out:
	json_decref(j);
	free(text);
	return rc;
}

/* --------------------------------------------------------------- items */

int hrn_item_init(struct hrn_item *it, const char *task, const char *item_id, const char *language)
{
	bool oom = false;
	memset(it, 0, sizeof *it);
	it->task = dup_or_null(task, &oom);
	it->item_id = dup_or_null(item_id, &oom);
	it->language = dup_or_null(language, &oom);
	it->gold_index = -1;
	it->tokens_computed = it->tokens_cached = -1;
	if (oom) {
		hrn_item_release(it);
		return MRL_ENOMEM;
	}
	return 0;
}

int hrn_item_add_choice(struct hrn_item *it, double loglik, int64_t n_tokens, int64_t n_chars, int64_t n_bytes,
			bool is_greedy)
{
	struct hrn_choice_score *grown = realloc(it->choices, (it->n_choices + 1) * sizeof *grown);
	if (!grown)
		return MRL_ENOMEM;
	it->choices = grown;
	if (it->logprobs) { /* keep one logprobs entry per choice */
		struct hrn_token_logprobs *lp = realloc(it->logprobs, (it->n_choices + 1) * sizeof *lp);
		if (!lp)
			return MRL_ENOMEM;
		it->logprobs = lp;
		memset(&lp[it->n_choices], 0, sizeof *lp);
	}
	grown[it->n_choices++] = (struct hrn_choice_score){ loglik, n_tokens, n_chars, n_bytes, is_greedy };
	return 0;
}

int hrn_item_add_metric(struct hrn_item *it, const char *metric, int64_t pred_index, const char *pred_text,
			bool correct, double value)
{
	struct hrn_item_metric *grown = realloc(it->metrics, (it->n_metrics + 1) * sizeof *grown);
	if (!grown)
		return MRL_ENOMEM;
	it->metrics = grown;
	bool oom = false;
	struct hrn_item_metric m = { dup_or_null(metric, &oom), pred_index, dup_or_null(pred_text, &oom), correct,
				     value };
	if (oom) {
		free(m.metric);
		free(m.pred_text);
		return MRL_ENOMEM;
	}
	grown[it->n_metrics++] = m;
	return 0;
}

int hrn_item_add_timing(struct hrn_item *it, const char *name, int64_t ns)
{
	struct hrn_timing *grown = realloc(it->timings, (it->n_timings + 1) * sizeof *grown);
	if (!grown)
		return MRL_ENOMEM;
	it->timings = grown;
	char *copy = strdup(name);
	if (!copy)
		return MRL_ENOMEM;
	grown[it->n_timings++] = (struct hrn_timing){ copy, ns };
	return 0;
}

static int replace_str(char **dst, const char *s)
{
	char *copy = NULL;
	if (s && !(copy = strdup(s)))
		return MRL_ENOMEM;
	free(*dst);
	*dst = copy;
	return 0;
}

int hrn_item_set_gold_text(struct hrn_item *it, const char *s) { return replace_str(&it->gold_text, s); }
int hrn_item_set_prompt(struct hrn_item *it, const char *s) { return replace_str(&it->prompt, s); }

void hrn_item_release(struct hrn_item *it)
{
	free(it->task);
	free(it->item_id);
	free(it->language);
	free(it->choices);
	free(it->gold_text);
	for (size_t i = 0; i < it->n_metrics; i++) {
		free(it->metrics[i].metric);
		free(it->metrics[i].pred_text);
	}
	free(it->metrics);
	for (size_t i = 0; i < it->n_timings; i++)
		free(it->timings[i].name);
	free(it->timings);
	free(it->prompt);
	hrn_token_logprobs_free(it->logprobs, it->n_choices);
	memset(it, 0, sizeof *it);
}

json_t *hrn_item_to_json(const struct hrn_item *it)
{
	json_t *o = json_object(), *choices = json_array(), *metrics = json_object(), *timings = json_object();
	int bad = !o || !choices || !metrics || !timings;
	for (size_t i = 0; !bad && i < it->n_choices; i++) {
		const struct hrn_choice_score *c = &it->choices[i];
		json_t *co = json_object();
		bad |= !co;
		if (bad)
			break;
		bad |= put(co, "loglik", hrn_json_real(c->loglik));
		bad |= put(co, "n_tokens", json_integer(c->n_tokens));
		bad |= put(co, "n_chars", json_integer(c->n_chars));
		bad |= put(co, "n_bytes", json_integer(c->n_bytes));
		bad |= put(co, "is_greedy", json_boolean(c->is_greedy));
		bad |= json_array_append_new(choices, co) != 0;
	}
	for (size_t i = 0; !bad && i < it->n_metrics; i++) {
		const struct hrn_item_metric *m = &it->metrics[i];
		json_t *mo = json_object();
		if (!mo || !m->metric) {
			json_decref(mo);
			bad = 1;
			break;
		}
		bad |= put(mo, "pred_index", hrn_json_count(m->pred_index));
		bad |= put(mo, "pred_text", hrn_json_string(m->pred_text));
		bad |= put(mo, "correct", json_boolean(m->correct));
		bad |= put(mo, "value", hrn_json_real(m->value));
		bad |= put(metrics, m->metric, mo);
	}
	for (size_t i = 0; !bad && i < it->n_timings; i++)
		bad |= !it->timings[i].name || put(timings, it->timings[i].name, json_integer(it->timings[i].ns));
	if (!bad) {
		bad |= put(o, "schema_version", json_integer(HRN_ITEMS_SCHEMA_VERSION));
		bad |= put(o, "task", hrn_json_string(it->task));
		bad |= put(o, "item", hrn_json_string(it->item_id));
		bad |= put(o, "language", hrn_json_string(it->language));
		bad |= put(o, "choices", choices);
		bad |= put(o, "gold_index", hrn_json_count(it->gold_index));
		bad |= put(o, "gold_text", hrn_json_string(it->gold_text));
		bad |= put(o, "metrics", metrics);
		bad |= put(o, "timings_ns", timings);
		choices = metrics = timings = NULL;
		if (it->prompt)
			bad |= put(o, "prompt", hrn_json_string(it->prompt));
		if (it->tokens_computed >= 0)
			bad |= put(o, "tokens_computed", json_integer(it->tokens_computed));
		if (it->tokens_cached >= 0)
			bad |= put(o, "tokens_cached", json_integer(it->tokens_cached));
		if (it->logprobs)
			bad |= put(o, "logprobs", hrn_token_logprobs_to_json(it->logprobs, it->n_choices));
	}
	json_decref(choices);
	json_decref(metrics);
	json_decref(timings);
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

int hrn_item_from_json(const json_t *j, struct hrn_item *it, const char *where, struct mrl_err *err)
{
	json_t *choices, *metrics, *timings;
	char path[256];
	int rc;
	memset(it, 0, sizeof *it);
	it->gold_index = -1;
	it->tokens_computed = it->tokens_cached = -1;
	json_t *logprobs = NULL;
	if (!json_is_object(j))
		return mrl_err_set(err, MRL_EINPUT, "%s: $: expected an object, got %s", where, type_name(j));
	if ((rc = check_schema_version(j, HRN_ITEMS_SCHEMA_VERSION, where, "$", err)) ||
	    (rc = hrn_json_get_str(j, "task", 0, &it->task, where, "$", err)) ||
	    (rc = hrn_json_get_str(j, "item", 0, &it->item_id, where, "$", err)) ||
	    (rc = hrn_json_get_str(j, "language", 0, &it->language, where, "$", err)) ||
	    (rc = hrn_json_get_array(j, "choices", 0, &choices, where, "$", err)) ||
	    (rc = hrn_json_get_int(j, "gold_index", HRN_J_NULLABLE, &it->gold_index, where, "$", err)) ||
	    (rc = hrn_json_get_str(j, "gold_text", HRN_J_OPTIONAL | HRN_J_NULLABLE, &it->gold_text, where, "$", err)) ||
	    (rc = hrn_json_get_object(j, "metrics", 0, &metrics, where, "$", err)) ||
	    (rc = hrn_json_get_object(j, "timings_ns", HRN_J_OPTIONAL, &timings, where, "$", err)) ||
	    (rc = hrn_json_get_str(j, "prompt", HRN_J_OPTIONAL | HRN_J_NULLABLE, &it->prompt, where, "$", err)) ||
	    (rc = hrn_json_get_int(j, "tokens_computed", HRN_J_OPTIONAL | HRN_J_NULLABLE, &it->tokens_computed, where,
				   "$", err)) ||
	    (rc = hrn_json_get_int(j, "tokens_cached", HRN_J_OPTIONAL | HRN_J_NULLABLE, &it->tokens_cached, where, "$",
				   err)) ||
	    (rc = hrn_json_get_array(j, "logprobs", HRN_J_OPTIONAL | HRN_J_NULLABLE, &logprobs, where, "$", err)))
		return rc;
	size_t n = json_array_size(choices);
	if (n && !(it->choices = calloc(n, sizeof *it->choices)))
		return mrl_err_set(err, MRL_ENOMEM, "%s: out of memory", where);
	for (size_t i = 0; i < n; i++) {
		json_t *c = json_array_get(choices, i);
		struct hrn_choice_score *s = &it->choices[i];
		snprintf(path, sizeof path, "$.choices[%zu]", i);
		if ((rc = hrn_json_get_real(c, "loglik", HRN_J_NULLABLE, &s->loglik, where, path, err)) ||
		    (rc = hrn_json_get_int(c, "n_tokens", 0, &s->n_tokens, where, path, err)) ||
		    (rc = hrn_json_get_int(c, "n_chars", 0, &s->n_chars, where, path, err)) ||
		    (rc = hrn_json_get_int(c, "n_bytes", 0, &s->n_bytes, where, path, err)) ||
		    (rc = hrn_json_get_bool(c, "is_greedy", 0, &s->is_greedy, where, path, err)))
			return rc;
		it->n_choices++;
	}
	const char *name;
	json_t *m;
	json_object_foreach(metrics, name, m) {
		int64_t pred_index = -1;
		char *pred_text = NULL;
		bool correct = false;
		double value = NAN;
		snprintf(path, sizeof path, "$.metrics.%s", name);
		if ((rc = hrn_json_get_int(m, "pred_index", HRN_J_NULLABLE, &pred_index, where, path, err)) ||
		    (rc = hrn_json_get_str(m, "pred_text", HRN_J_OPTIONAL | HRN_J_NULLABLE, &pred_text, where, path, err)) ||
		    (rc = hrn_json_get_bool(m, "correct", 0, &correct, where, path, err)) ||
		    (rc = hrn_json_get_real(m, "value", HRN_J_OPTIONAL | HRN_J_NULLABLE, &value, where, path, err))) {
			free(pred_text);
			return rc;
		}
		rc = hrn_item_add_metric(it, name, pred_index, pred_text, correct, value);
		free(pred_text);
		if (rc)
			return mrl_err_set(err, MRL_ENOMEM, "%s: out of memory", where);
	}
	json_object_foreach(timings, name, m) {
		if (!json_is_integer(m))
			return mrl_err_set(err, MRL_EINPUT, "%s: $.timings_ns.%s: expected an integer (nanoseconds), got %s",
					   where, name, type_name(m));
		if (hrn_item_add_timing(it, name, (int64_t)json_integer_value(m)))
			return mrl_err_set(err, MRL_ENOMEM, "%s: out of memory", where);
	}
	if (logprobs) {
		if ((rc = hrn_token_logprobs_from_json(logprobs, it->n_choices, &it->logprobs, where, "$.logprobs", err)))
			return rc;
		for (size_t i = 0; i < it->n_choices; i++)
			if (it->logprobs[i].tokens && it->logprobs[i].n != (size_t)it->choices[i].n_tokens)
				return mrl_err_set(err, MRL_EINPUT, "%s: $.logprobs[%zu]: %zu tokens, but the choice has n_tokens %lld",
						   where, i, it->logprobs[i].n, (long long)it->choices[i].n_tokens);
	}
	return 0;
}

void hrn_items_release(struct hrn_items *items)
{
	for (size_t i = 0; i < items->n; i++)
		hrn_item_release(&items->items[i]);
	free(items->items);
	for (size_t i = 0; i < items->n_rejected; i++)
		free(items->rejected[i].why);
	free(items->rejected);
	memset(items, 0, sizeof *items);
}

/* Read one line (without its '\n') into *buf; returns its length, sets
 * *terminated when it ended with '\n'; -1 at EOF; -2 when it exceeds max. */
static long long read_line(FILE *f, char **buf, size_t *cap, size_t max, bool *terminated)
{
	size_t len = 0;
	int c;
	*terminated = false;
	if (!*buf) {
		if (!(*buf = malloc(4096)))
			return -3;
		*cap = 4096;
	}
	while ((c = getc_unlocked(f)) != EOF) {
		if (c == '\n') {
			*terminated = true;
			break;
		}
		if (len >= max)
			return -2;
		if (len + 1 >= *cap) {
			char *grown = realloc(*buf, *cap * 2);
			if (!grown)
				return -3;
			*buf = grown;
			*cap *= 2;
		}
		(*buf)[len++] = (char)c;
	}
	if (c == EOF && len == 0)
		return -1;
	(*buf)[len] = '\0';
	return (long long)len;
}

static int items_read(const char *path, struct hrn_items *out, bool lenient, struct mrl_err *err)
{
	char *line = NULL, where[4200], why[160];
	size_t cap = 0, n_cap = 0;
	int rc = 0;
	memset(out, 0, sizeof *out);
	FILE *f = fopen(path, "re");
	if (!f)
		return mrl_err_set(err, MRL_EIO, "%s: cannot open: %s", path, mrl_io_strerror(errno, why, sizeof why));
	for (size_t line_no = 1;; line_no++) {
		bool terminated;
		long long len = read_line(f, &line, &cap, HRN_ITEMS_MAX_LINE_BYTES, &terminated);
		if (len == -1)
			break;
		if (len == -2) {
			rc = mrl_err_set(err, MRL_EINPUT, "%s:%zu: line longer than the limit of %zu bytes", path, line_no,
					 HRN_ITEMS_MAX_LINE_BYTES);
			goto out;
		}
		if (len == -3) {
			rc = mrl_err_set(err, MRL_ENOMEM, "%s:%zu: out of memory", path, line_no);
			goto out;
		}
		if (!terminated) {
			/* the writer ends every line with '\n': this one is a write cut short */
			out->truncated_tail = true;
			out->tail_line = line_no;
			out->tail_bytes = (size_t)len;
			break;
		}
		snprintf(where, sizeof where, "%s:%zu", path, line_no);
		if (len == 0) {
			if (lenient) {
				if ((rc = hrn_items_reject(out, line_no, "an empty line")))
					goto nomem;
				continue;
			}
			rc = mrl_err_set(err, MRL_EINPUT, "%s: empty line", where);
			goto out;
		}
		json_error_t jerr;
		json_t *j = json_loadb(line, (size_t)len, JSON_REJECT_DUPLICATES, &jerr);
		if (!j) {
			if (lenient) {
				if ((rc = hrn_items_reject(out, line_no, "column %d: not valid JSON: %s", jerr.column, jerr.text)))
					goto nomem;
				continue;
			}
			rc = mrl_err_set(err, MRL_EINPUT, "%s: column %d: not valid JSON: %s", where, jerr.column, jerr.text);
			goto out;
		}
		if (out->n == n_cap) {
			size_t new_cap = n_cap ? 2 * n_cap : 64;
			struct hrn_item *grown = realloc(out->items, new_cap * sizeof *grown);
			if (!grown) {
				json_decref(j);
				rc = mrl_err_set(err, MRL_ENOMEM, "%s: out of memory", where);
				goto out;
			}
			out->items = grown;
			n_cap = new_cap;
		}
		struct mrl_err item_err = { 0 };
		rc = hrn_item_from_json(j, &out->items[out->n], where, &item_err);
		json_decref(j);
		if (rc) {
			hrn_item_release(&out->items[out->n]);
			if (lenient && rc == MRL_EINPUT) {
				/* the message starts with "path:line: "; keep what follows */
				const char *why = item_err.msg, *tail = strstr(why, where);
				why = tail ? tail + strlen(where) + (tail[strlen(where)] == ':' ? 1 : 0) : why;
				while (*why == ' ')
					why++;
				if ((rc = hrn_items_reject(out, line_no, "%s", why)))
					goto nomem;
				continue;
			}
			*err = item_err;
			goto out;
		}
		out->items[out->n].line = line_no;
		out->n++;
		out->valid_bytes += (uint64_t)len + 1;
	}
	if (ferror(f))
		rc = mrl_err_set(err, MRL_EIO, "%s: read error: %s", path, mrl_io_strerror(errno, why, sizeof why));
	goto out;
nomem:
	rc = mrl_err_set(err, MRL_ENOMEM, "%s: out of memory", path);
out:
	free(line);
	fclose(f);
	return rc;
}

int hrn_items_read(const char *path, struct hrn_items *out, struct mrl_err *err)
{
	return items_read(path, out, false, err);
}

int hrn_items_read_lenient(const char *path, struct hrn_items *out, struct mrl_err *err)
{
	return items_read(path, out, true, err);
}

int hrn_items_reject(struct hrn_items *items, size_t line, const char *fmt, ...)
{
	struct hrn_rejected_line *grown = realloc(items->rejected, (items->n_rejected + 1) * sizeof *grown);
	if (!grown)
		return MRL_ENOMEM;
	items->rejected = grown;
	va_list ap;
	va_start(ap, fmt);
	int n = vasprintf(&grown[items->n_rejected].why, fmt, ap);
	va_end(ap);
	if (n < 0)
		return MRL_ENOMEM;
	grown[items->n_rejected++].line = line;
	return 0;
}



/* ------------------------------------------------------------ done set */

/* Open addressing; each key is one allocation "task\0item\0language\0". */
struct done_entry {
	uint64_t hash;
	char *key;
	size_t key_len;
};

struct hrn_done_set {
	struct done_entry *slots;
	size_t cap, count; /* cap a power of two, count <= cap / 2 */
};

static uint64_t fnv1a(const char *s, size_t n, uint64_t h)
{
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 0x100000001b3ull;
	return h;
}

/* Pack the key into buf (malloc'd when *heap is set). */
static char *pack_key(const char *task, const char *item, const char *lang, size_t *len, char *stack, size_t stack_size)
{
	size_t a = strlen(task), b = strlen(item), c = strlen(lang);
	*len = a + b + c + 3;
	char *k = *len <= stack_size ? stack : malloc(*len);
	if (!k)
		return NULL;
	memcpy(k, task, a + 1);
	memcpy(k + a + 1, item, b + 1);
	memcpy(k + a + b + 2, lang, c + 1);
	return k;
}

static struct done_entry *find_slot(const struct hrn_done_set *set, uint64_t hash, const char *key, size_t len)
{
	for (size_t i = hash & (set->cap - 1);; i = (i + 1) & (set->cap - 1)) {
		struct done_entry *e = &set->slots[i];
		if (!e->key || (e->hash == hash && e->key_len == len && !memcmp(e->key, key, len)))
			return e;
	}
}

static int grow(struct hrn_done_set *set)
{
	size_t new_cap = set->cap ? set->cap * 2 : 64;
	struct done_entry *old = set->slots;
	size_t old_cap = set->cap;
	if (!(set->slots = calloc(new_cap, sizeof *set->slots))) {
		set->slots = old;
		return MRL_ENOMEM;
	}
	set->cap = new_cap;
	for (size_t i = 0; i < old_cap; i++)
		if (old[i].key)
			*find_slot(set, old[i].hash, old[i].key, old[i].key_len) = old[i];
	free(old);
	return 0;
}

int hrn_done_set_add(struct hrn_done_set *set, const char *task, const char *item_id, const char *language)
{
	if ((set->count + 1) * 2 > set->cap && grow(set))
		return MRL_ENOMEM;
	size_t len;
	char *key = pack_key(task, item_id, language, &len, NULL, 0);
	if (!key)
		return MRL_ENOMEM;
	uint64_t hash = fnv1a(key, len, 0xcbf29ce484222325ull);
	struct done_entry *e = find_slot(set, hash, key, len);
	if (e->key) {
		free(key);
		return 0;
	}
	*e = (struct done_entry){ hash, key, len };
	set->count++;
	return 0;
}

struct hrn_done_set *hrn_done_set_new(const struct hrn_items *items)
{
	struct hrn_done_set *set = calloc(1, sizeof *set);
	if (!set || grow(set))
		goto fail;
	for (size_t i = 0; items && i < items->n; i++)
		if (hrn_done_set_add(set, items->items[i].task, items->items[i].item_id, items->items[i].language))
			goto fail;
	return set;
fail:
	hrn_done_set_free(set);
	return NULL;
}

bool hrn_done_set_has(const struct hrn_done_set *set, const char *task, const char *item_id, const char *language)
{
	char stack[512];
	size_t len;
	char *key = pack_key(task, item_id, language, &len, stack, sizeof stack);
	if (!key)
		return false;
	uint64_t hash = fnv1a(key, len, 0xcbf29ce484222325ull);
	bool found = find_slot(set, hash, key, len)->key != NULL;
	if (key != stack)
		free(key);
	return found;
}

size_t hrn_done_set_count(const struct hrn_done_set *set)
{
	return set->count;
}

void hrn_done_set_free(struct hrn_done_set *set)
{
	if (!set)
		return;
	for (size_t i = 0; i < set->cap; i++)
		free(set->slots[i].key);
	free(set->slots);
	free(set);
}

/* ---------------------------------------------------------- item writer */

struct hrn_item_writer {
	int fd;
	char *path;
	char *buf;              /* whole lines waiting to be written */
	size_t len, cap;
	size_t n_buffered, n_added, n_flushed;
	size_t every_items;
	int64_t every_ns;
	int64_t last_flush_ns;  /* CLOCK_MONOTONIC */
	off_t file_size;        /* bytes of whole lines on disk */
	int (*check)(void *arg, struct mrl_err *err);
	void *check_arg;
	size_t n_dropped;       /* items dropped because check failed */
};

static int64_t monotonic_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Cut a partial last line (no '\n') off the file; returns bytes dropped or -1. */
static off_t cut_partial_tail(int fd, off_t size)
{
	char chunk[4096];
	off_t end = size;
	while (end > 0) {
		size_t n = end < (off_t)sizeof chunk ? (size_t)end : sizeof chunk;
		if (pread(fd, chunk, n, end - (off_t)n) != (ssize_t)n)
			return -1;
		for (size_t i = n; i > 0; i--)
			if (chunk[i - 1] == '\n') {
				off_t keep = end - (off_t)n + (off_t)i;
				if (keep == size)
					return 0;
				return ftruncate(fd, keep) ? -1 : size - keep;
			}
		end -= (off_t)n;
	}
	return ftruncate(fd, 0) ? -1 : size;
}

int hrn_item_writer_open(const char *path, const struct hrn_item_writer_opts *opts,
			 struct hrn_item_writer **out, size_t *dropped_tail_bytes, struct mrl_err *err)
{
	char why[160];
	int rc = 0;
	*out = NULL;
	if (dropped_tail_bytes)
		*dropped_tail_bytes = 0;
	struct hrn_item_writer *w = calloc(1, sizeof *w);
	if (!w || !(w->path = strdup(path))) {
		free(w);
		return mrl_err_set(err, MRL_ENOMEM, "%s: out of memory", path);
	}
	w->every_items = opts && opts->flush_every_items ? opts->flush_every_items : 64;
	w->every_ns = opts && opts->flush_every_ns ? opts->flush_every_ns : 5000000000LL;
	w->last_flush_ns = monotonic_ns();
	w->check = opts ? opts->check : NULL;
	w->check_arg = opts ? opts->check_arg : NULL;
	int flags = O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC | (opts && opts->truncate ? O_TRUNC : 0);
	w->fd = open(path, flags, 0644);
	if (w->fd < 0) {
		rc = mrl_err_set(err, MRL_EWRITE, "%s: cannot open for appending: %s", path,
				 mrl_io_strerror(errno, why, sizeof why));
		goto out;
	}
	struct stat st;
	if (fstat(w->fd, &st)) {
		rc = mrl_err_set(err, MRL_EWRITE, "%s: cannot stat: %s", path, mrl_io_strerror(errno, why, sizeof why));
		goto out;
	}
	off_t dropped = cut_partial_tail(w->fd, st.st_size);
	if (dropped < 0) {
		rc = mrl_err_set(err, MRL_EWRITE, "%s: cannot cut off a partial last line: %s", path,
				 mrl_io_strerror(errno, why, sizeof why));
		goto out;
	}
	w->file_size = st.st_size - dropped;
	if (dropped_tail_bytes)
		*dropped_tail_bytes = (size_t)dropped;
	/* the file's directory entry must survive a crash too */
	if ((dropped && fsync(w->fd)) || (rc = mrl_fsync_parent_dir(path, err))) {
		if (!rc)
			rc = mrl_err_set(err, MRL_EWRITE, "%s: fsync failed: %s", path, mrl_io_strerror(errno, why, sizeof why));
		goto out;
	}
out:
	if (rc) {
		if (w->fd >= 0)
			close(w->fd);
		free(w->path);
		free(w);
		return rc;
	}
	*out = w;
	return 0;
}

int hrn_item_writer_flush(struct hrn_item_writer *w, struct mrl_err *err)
{
	char why[160];
	size_t done = 0;
	w->last_flush_ns = monotonic_ns();
	if (!w->len)
		return 0;
	int rc = w->check ? w->check(w->check_arg, err) : 0;
	if (rc) {
		/* computed under a condition that no longer holds: never written */
		w->n_dropped += w->n_buffered;
		w->len = 0;
		w->n_buffered = 0;
		return rc;
	}
	while (done < w->len) {
		ssize_t n = write(w->fd, w->buf + done, w->len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto fail;
		done += (size_t)n;
	}
	if (fsync(w->fd))
		goto fail;
	w->file_size += (off_t)w->len;
	w->len = 0;
	w->n_flushed += w->n_buffered;
	w->n_buffered = 0;
	return 0;
fail:;
	int saved = errno;
	/* keep only whole lines on disk; the lines stay buffered for a retry */
	if (ftruncate(w->fd, w->file_size) == 0)
		fsync(w->fd);
	return mrl_err_set(err, MRL_EWRITE, "%s: cannot write %zu buffered item(s): %s; the file keeps the %zu item(s) written before",
			   w->path, w->n_buffered, mrl_io_strerror(saved, why, sizeof why), w->n_flushed);
}

int hrn_item_writer_add(struct hrn_item_writer *w, const struct hrn_item *it, struct mrl_err *err)
{
	json_t *j = hrn_item_to_json(it);
	char *line = j ? json_dumps(j, DUMP_FLAGS_COMPACT) : NULL;
	json_decref(j);
	if (!line)
		return mrl_err_set(err, MRL_ENOMEM, "%s: cannot serialize item %s/%s/%s (out of memory, or a metric or timing without a name)",
				   w->path, it->task ? it->task : "?", it->item_id ? it->item_id : "?",
				   it->language ? it->language : "?");
	size_t n = strlen(line);
	if (w->len + n + 1 > w->cap) {
		size_t new_cap = w->cap ? w->cap : 65536;
		while (new_cap < w->len + n + 1)
			new_cap *= 2;
		char *grown = realloc(w->buf, new_cap);
		if (!grown) {
			free(line);
			return mrl_err_set(err, MRL_ENOMEM, "%s: out of memory buffering items", w->path);
		}
		w->buf = grown;
		w->cap = new_cap;
	}
	memcpy(w->buf + w->len, line, n);
	w->buf[w->len + n] = '\n';
	w->len += n + 1;
	free(line);
	w->n_buffered++;
	w->n_added++;
	if (w->n_buffered >= w->every_items ||
	    (w->every_ns > 0 && monotonic_ns() - w->last_flush_ns >= w->every_ns))
		return hrn_item_writer_flush(w, err);
	return 0;
}

size_t hrn_item_writer_n_added(const struct hrn_item_writer *w) { return w->n_added; }
size_t hrn_item_writer_n_flushed(const struct hrn_item_writer *w) { return w->n_flushed; }
size_t hrn_item_writer_n_dropped(const struct hrn_item_writer *w) { return w->n_dropped; }

int hrn_item_writer_close(struct hrn_item_writer *w, struct mrl_err *err)
{
	char why[160];
	if (!w)
		return 0;
	int rc = hrn_item_writer_flush(w, err);
	if (close(w->fd) && !rc)
		rc = mrl_err_set(err, MRL_EWRITE, "%s: close failed: %s", w->path, mrl_io_strerror(errno, why, sizeof why));
	free(w->buf);
	free(w->path);
	free(w);
	return rc;
}

/* ------------------------------------------- items.jsonl: "logprobs" */

void hrn_token_logprobs_free(struct hrn_token_logprobs *lp, size_t n_choices)
{
	for (size_t i = 0; lp && i < n_choices; i++) {
		free(lp[i].tokens);
		free(lp[i].logprob);
		free(lp[i].top_id);
		free(lp[i].top_logprob);
	}
	free(lp);
}

int hrn_item_set_logprobs(struct hrn_item *it, size_t choice, const int32_t *tokens, const double *logprob,
			  size_t n, size_t k, const int32_t *top_id, const double *top_logprob)
{
	if (choice >= it->n_choices || (k && (!top_id || !top_logprob)) || (n && (!tokens || !logprob)))
		return MRL_EINPUT;
	if (!it->logprobs && !(it->logprobs = calloc(it->n_choices, sizeof *it->logprobs)))
		return MRL_ENOMEM;
	struct hrn_token_logprobs v = { .n = n, .k = k };
	const size_t nk = n * k;
	v.tokens = malloc((n ? n : 1) * sizeof *v.tokens);
	v.logprob = malloc((n ? n : 1) * sizeof *v.logprob);
	v.top_id = k ? malloc((nk ? nk : 1) * sizeof *v.top_id) : NULL;
	v.top_logprob = k ? malloc((nk ? nk : 1) * sizeof *v.top_logprob) : NULL;
	if (!v.tokens || !v.logprob || (k && (!v.top_id || !v.top_logprob))) {
		free(v.tokens);
		free(v.logprob);
		free(v.top_id);
		free(v.top_logprob);
		return MRL_ENOMEM;
	}
	if (n) {
		memcpy(v.tokens, tokens, n * sizeof *tokens);
		memcpy(v.logprob, logprob, n * sizeof *logprob);
	}
	if (nk) {
		memcpy(v.top_id, top_id, nk * sizeof *top_id);
		memcpy(v.top_logprob, top_logprob, nk * sizeof *top_logprob);
	}
	struct hrn_token_logprobs *old = &it->logprobs[choice];
	free(old->tokens);
	free(old->logprob);
	free(old->top_id);
	free(old->top_logprob);
	*old = v;
	return 0;
}

const struct hrn_token_logprobs *hrn_item_logprobs(const struct hrn_item *it, size_t choice)
{
	if (!it->logprobs || choice >= it->n_choices || !it->logprobs[choice].tokens)
		return NULL;
	return &it->logprobs[choice];
}

json_t *hrn_token_logprobs_to_json(const struct hrn_token_logprobs *lp, size_t n_choices)
{
	json_t *arr = json_array();
	int bad = !arr;
	for (size_t c = 0; !bad && c < n_choices; c++) {
		const struct hrn_token_logprobs *v = &lp[c];
		if (!v->tokens) { /* never set: null */
			bad |= json_array_append_new(arr, json_null()) != 0;
			continue;
		}
		json_t *o = json_object(), *toks = json_array(), *lps = json_array(), *top = v->k ? json_array() : NULL;
		bad |= !o || !toks || !lps || (v->k && !top);
		for (size_t i = 0; !bad && i < v->n; i++) {
			bad |= json_array_append_new(toks, json_integer(v->tokens[i])) != 0;
			bad |= json_array_append_new(lps, hrn_json_real(v->logprob[i])) != 0;
			json_t *row = v->k ? json_array() : NULL;
			bad |= v->k && !row;
			for (size_t j = 0; !bad && j < v->k; j++)
				bad |= json_array_append_new(row, json_pack("[I, o]", (json_int_t)v->top_id[i * v->k + j],
									    hrn_json_real(v->top_logprob[i * v->k + j]))) != 0;
			if (row)
				bad |= json_array_append_new(top, row) != 0;
		}
		if (!bad) {
			bad |= put(o, "tokens", toks);
			bad |= put(o, "logprob", lps);
			bad |= put(o, "k", json_integer((json_int_t)v->k));
			if (top)
				bad |= put(o, "topk", top);
			toks = lps = top = NULL;
			bad |= json_array_append_new(arr, o) != 0;
			o = NULL;
		}
		json_decref(o);
		json_decref(toks);
		json_decref(lps);
		json_decref(top);
	}
	if (bad) {
		json_decref(arr);
		return NULL;
	}
	return arr;
}

/* An array element as a real (number, null = NaN, "inf"/"-inf"/"nan"). */
static int element_real(const json_t *v, double *out)
{
	if (json_is_number(v))
		*out = json_number_value(v);
	else if (json_is_null(v))
		*out = NAN;
	else if (json_is_string(v) && !strcmp(json_string_value(v), "-inf"))
		*out = -INFINITY;
	else if (json_is_string(v) && !strcmp(json_string_value(v), "inf"))
		*out = INFINITY;
	else if (json_is_string(v) && !strcmp(json_string_value(v), "nan"))
		*out = NAN;
	else
		return -1;
	return 0;
}

static int element_token(const json_t *v, int32_t *out)
{
	if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > INT32_MAX)
		return -1;
	*out = (int32_t)json_integer_value(v);
	return 0;
}

int hrn_token_logprobs_from_json(const json_t *arr, size_t n_choices, struct hrn_token_logprobs **out,
				 const char *where, const char *path, struct mrl_err *err)
{
	char p[256];
	int rc = 0;
	*out = NULL;
	if (!json_is_array(arr))
		return mrl_err_set(err, MRL_EINPUT, "%s: %s: expected an array, got %s", where, path, type_name(arr));
	if (json_array_size(arr) != n_choices)
		return mrl_err_set(err, MRL_EINPUT, "%s: %s: %zu entries for %zu choices", where, path,
				   json_array_size(arr), n_choices);
	struct hrn_token_logprobs *lp = calloc(n_choices ? n_choices : 1, sizeof *lp);
	if (!lp)
		return mrl_err_set(err, MRL_ENOMEM, "%s: out of memory", where);
	for (size_t c = 0; c < n_choices && !rc; c++) {
		const json_t *o = json_array_get(arr, c);
		json_t *toks, *lps, *top = NULL;
		int64_t k = 0;
		snprintf(p, sizeof p, "%s[%zu]", path, c);
		if (json_is_null(o))
			continue; /* not stored for this choice */
		if (!json_is_object(o)) {
			rc = mrl_err_set(err, MRL_EINPUT, "%s: %s: expected an object, got %s", where, p, type_name(o));
			break;
		}
		if ((rc = hrn_json_get_array(o, "tokens", 0, &toks, where, p, err)) ||
		    (rc = hrn_json_get_array(o, "logprob", 0, &lps, where, p, err)) ||
		    (rc = hrn_json_get_int(o, "k", 0, &k, where, p, err)) ||
		    (rc = hrn_json_get_array(o, "topk", HRN_J_OPTIONAL, &top, where, p, err)))
			break;
		const size_t n = json_array_size(toks);
		if (json_array_size(lps) != n || k < 0 || k > 1000000 || (k > 0) != (top != NULL) ||
		    (top && json_array_size(top) != n)) {
			rc = mrl_err_set(err, MRL_EINPUT, "%s: %s: inconsistent lengths (tokens %zu, logprob %zu, k %lld, "
					 "topk %zu rows)", where, p, n, json_array_size(lps), (long long)k,
					 top ? json_array_size(top) : 0);
			break;
		}
		/* every row must hold k pairs before n * k entries are allocated (hostile k) */
		for (size_t i = 0; top && i < n && !rc; i++) {
			const json_t *row = json_array_get(top, i);
			if (!json_is_array(row) || json_array_size(row) != (size_t)k)
				rc = mrl_err_set(err, MRL_EINPUT, "%s: %s.topk[%zu]: expected %lld [id, logprob] pairs", where,
						 p, i, (long long)k);
		}
		if (rc)
			break;
		struct hrn_token_logprobs *v = &lp[c];
		const size_t nk = n * (size_t)k;
		v->n = n;
		v->k = (size_t)k;
		v->tokens = malloc((n ? n : 1) * sizeof *v->tokens);
		v->logprob = malloc((n ? n : 1) * sizeof *v->logprob);
		if (k) {
			v->top_id = malloc((nk > 0 ? nk : 1) * sizeof *v->top_id);
			v->top_logprob = malloc((nk > 0 ? nk : 1) * sizeof *v->top_logprob);
		}
		if (!v->tokens || !v->logprob || (k && (!v->top_id || !v->top_logprob))) {
			rc = mrl_err_set(err, MRL_ENOMEM, "%s: out of memory", where);
			break;
		}
		for (size_t i = 0; i < n && !rc; i++) {
			if (element_token(json_array_get(toks, i), &v->tokens[i]))
				rc = mrl_err_set(err, MRL_EINPUT, "%s: %s.tokens[%zu]: expected a token id (integer >= 0)",
						 where, p, i);
			else if (element_real(json_array_get(lps, i), &v->logprob[i]))
				rc = mrl_err_set(err, MRL_EINPUT, "%s: %s.logprob[%zu]: expected a number", where, p, i);
			const json_t *row = top ? json_array_get(top, i) : NULL;
			for (size_t j = 0; !rc && j < v->k; j++) {
				const json_t *pair = json_array_get(row, j);
				if (!json_is_array(pair) || json_array_size(pair) != 2 ||
				    element_token(json_array_get(pair, 0), &v->top_id[i * v->k + j]) ||
				    element_real(json_array_get(pair, 1), &v->top_logprob[i * v->k + j]))
					rc = mrl_err_set(err, MRL_EINPUT, "%s: %s.topk[%zu][%zu]: expected [id, logprob]",
							 where, p, i, j);
			}
		}
	}
	if (rc)
		hrn_token_logprobs_free(lp, n_choices);
	else
		*out = lp;
	return rc;
}

/* ------------------------------------------- results.json: "performance" */

void hrn_reading_release(struct hrn_reading *r)
{
	free(r->name);
	free(r->unit);
	free(r->reason);
	memset(r, 0, sizeof *r);
	r->value = NAN;
}

int hrn_reading_set(struct hrn_reading *r, const char *name, const char *unit, double value, const char *reason)
{
	bool oom = false;
	struct hrn_reading v = { .name = dup_or_null(name, &oom), .unit = dup_or_null(unit, &oom),
				 .value = reason ? NAN : value, .reason = dup_or_null(reason, &oom) };
	if (oom) {
		hrn_reading_release(&v);
		return MRL_ENOMEM;
	}
	hrn_reading_release(r);
	*r = v;
	return 0;
}

int hrn_readings_add(struct hrn_reading **list, size_t *n, const char *name, const char *unit, double value,
		     const char *reason)
{
	struct hrn_reading *grown = realloc(*list, (*n + 1) * sizeof *grown);
	if (!grown)
		return MRL_ENOMEM;
	*list = grown;
	memset(&grown[*n], 0, sizeof grown[*n]);
	if (hrn_reading_set(&grown[*n], name, unit, value, reason))
		return MRL_ENOMEM;
	(*n)++;
	return 0;
}

static void perf_lang_init(struct hrn_perf_lang *l)
{
	memset(l, 0, sizeof *l);
	l->tokens_computed = l->tokens_cached = -1;
	l->tokens_per_s = l->item_ms_mean = l->item_ms_median = l->item_ms_p90 = NAN;
}

static void perf_window_release(struct hrn_perf_window *w)
{
	free(w->absent_reason);
	hrn_reading_release(&w->energy_j);
	hrn_reading_release(&w->energy_per_item_j);
	free(w->energy_source);
	hrn_reading_release(&w->peak_rss);
	free(w->peak_rss_since);
	free(w->counters_status);
	for (size_t i = 0; i < w->n_counters; i++)
		hrn_reading_release(&w->counters[i]);
	free(w->counters);
	for (size_t i = 0; i < w->n_usage; i++)
		hrn_reading_release(&w->usage[i]);
	free(w->usage);
	memset(w, 0, sizeof *w);
}

static void perf_task_release(struct hrn_perf_task *t)
{
	for (size_t i = 0; i < t->n_langs; i++)
		free(t->langs[i].language);
	free(t->langs);
	free(t->all.language);
	perf_window_release(&t->window);
	free(t->task);
}

static void results_release_perf(struct hrn_results *r)
{
	for (size_t i = 0; i < r->n_perf; i++)
		perf_task_release(&r->perf[i]);
	free(r->perf);
	r->perf = NULL;
	r->n_perf = 0;
}

struct hrn_perf_task *hrn_results_add_perf(struct hrn_results *r, const char *task)
{
	struct hrn_perf_task *grown = realloc(r->perf, (r->n_perf + 1) * sizeof *grown);
	if (!grown)
		return NULL;
	r->perf = grown;
	struct hrn_perf_task *t = &grown[r->n_perf];
	memset(t, 0, sizeof *t);
	perf_lang_init(&t->all);
	t->window.energy_j.value = t->window.energy_per_item_j.value = t->window.peak_rss.value = NAN;
	bool oom = false;
	t->task = dup_or_null(task, &oom);
	t->all.language = dup_or_null("all", &oom);
	if (oom) {
		perf_task_release(t);
		return NULL;
	}
	r->n_perf++;
	return t;
}

struct hrn_perf_lang *hrn_perf_task_add_lang(struct hrn_perf_task *t, const char *language)
{
	struct hrn_perf_lang *grown = realloc(t->langs, (t->n_langs + 1) * sizeof *grown);
	if (!grown)
		return NULL;
	t->langs = grown;
	struct hrn_perf_lang *l = &grown[t->n_langs];
	perf_lang_init(l);
	if (!(l->language = strdup(language)))
		return NULL;
	t->n_langs++;
	return l;
}

static json_t *reading_to_json(const struct hrn_reading *r)
{
	return json_pack("{s:o, s:o, s:o}", "value", hrn_json_real(r->value), "unit", hrn_json_string(r->unit),
			 "null_reason", isnan(r->value) ? hrn_json_string(r->reason ? r->reason : "not measured")
							: json_null());
}

static json_t *readings_to_json(const struct hrn_reading *v, size_t n)
{
	json_t *o = json_object();
	for (size_t i = 0; o && i < n; i++)
		if (!v[i].name || put(o, v[i].name, reading_to_json(&v[i]))) {
			json_decref(o);
			return NULL;
		}
	return o;
}

static json_t *perf_lang_to_json(const struct hrn_perf_lang *l)
{
	return json_pack("{s:o, s:I, s:o, s:o, s:o, s:o, s:{s:o, s:o, s:o}}", "language", hrn_json_string(l->language),
			 "n_items", (json_int_t)l->n_items, "tokens_computed", hrn_json_count(l->tokens_computed),
			 "tokens_cached", hrn_json_count(l->tokens_cached), "score_s", hrn_json_real(l->score_s),
			 "tokens_per_s", hrn_json_real(l->tokens_per_s), "item_ms", "mean",
			 hrn_json_real(l->item_ms_mean), "median", hrn_json_real(l->item_ms_median), "p90",
			 hrn_json_real(l->item_ms_p90));
}

static json_t *perf_window_to_json(const struct hrn_perf_window *w)
{
	if (!w->present)
		return json_null();
	return json_pack("{s:I, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "n_items", (json_int_t)w->n_items,
			 "seconds", hrn_json_real(w->seconds), "energy_j", reading_to_json(&w->energy_j),
			 "energy_per_item_j", reading_to_json(&w->energy_per_item_j), "energy_source",
			 hrn_json_string(w->energy_source), "peak_rss", reading_to_json(&w->peak_rss), "peak_rss_since",
			 hrn_json_string(w->peak_rss_since), "counters_status", hrn_json_string(w->counters_status),
			 "counters", readings_to_json(w->counters, w->n_counters), "usage",
			 readings_to_json(w->usage, w->n_usage));
}

static json_t *perf_to_json(const struct hrn_perf_task *perf, size_t n)
{
	json_t *arr = json_array();
	for (size_t i = 0; arr && i < n; i++) {
		const struct hrn_perf_task *t = &perf[i];
		json_t *langs = json_array();
		for (size_t l = 0; langs && l < t->n_langs; l++)
			if (json_array_append_new(langs, perf_lang_to_json(&t->langs[l]))) {
				json_decref(langs);
				langs = NULL;
			}
		json_t *o = langs ? json_pack("{s:o, s:o, s:o, s:o, s:o}", "task", hrn_json_string(t->task), "languages",
					      langs, "all", perf_lang_to_json(&t->all), "window",
					      perf_window_to_json(&t->window), "window_null_reason",
					      t->window.present ? json_null()
								: hrn_json_string(t->window.absent_reason
											  ? t->window.absent_reason
											  : "not measured"))
				  : NULL;
		if (!o || json_array_append_new(arr, o)) {
			json_decref(arr);
			return NULL;
		}
	}
	return arr;
}

static int reading_from_json(const json_t *obj, const char *key, struct hrn_reading *r, const char *where,
			     const char *path, struct mrl_err *err)
{
	json_t *o;
	char p[256];
	double value = NAN;
	char *unit = NULL, *reason = NULL;
	int rc = hrn_json_get_object(obj, key, 0, &o, where, path, err);
	snprintf(p, sizeof p, "%s.%s", path, key);
	if (rc || (rc = hrn_json_get_real(o, "value", HRN_J_NULLABLE, &value, where, p, err)) ||
	    (rc = hrn_json_get_str(o, "unit", HRN_J_OPTIONAL | HRN_J_NULLABLE, &unit, where, p, err)) ||
	    (rc = hrn_json_get_str(o, "null_reason", HRN_J_OPTIONAL | HRN_J_NULLABLE, &reason, where, p, err)))
		goto out;
	if (isnan(value) && !reason)
		rc = mrl_err_set(err, MRL_EINPUT, "%s: %s: a null value needs a null_reason", where, p);
	else if (hrn_reading_set(r, key, unit, value, isnan(value) ? reason : NULL))
		rc = mrl_err_set(err, MRL_ENOMEM, "%s: out of memory", where);
out:
	free(unit);
	free(reason);
	return rc;
}

static int readings_from_json(const json_t *obj, const char *key, struct hrn_reading **list, size_t *n,
			      const char *where, const char *path, struct mrl_err *err)
{
	json_t *o;
	char p[256];
	int rc = hrn_json_get_object(obj, key, 0, &o, where, path, err);
	snprintf(p, sizeof p, "%s.%s", path, key);
	const char *name;
	json_t *v;
	json_object_foreach(rc ? NULL : o, name, v) {
		struct hrn_reading r = { 0 };
		if ((rc = reading_from_json(o, name, &r, where, p, err)))
			break;
		struct hrn_reading *grown = realloc(*list, (*n + 1) * sizeof *grown);
		if (!grown) {
			hrn_reading_release(&r);
			rc = mrl_err_set(err, MRL_ENOMEM, "%s: out of memory", where);
			break;
		}
		*list = grown;
		grown[(*n)++] = r;
	}
	return rc;
}

static int perf_lang_from_json(const json_t *o, struct hrn_perf_lang *l, const char *where, const char *path,
			       struct mrl_err *err)
{
	const int nul = HRN_J_NULLABLE;
	json_t *ms;
	char p[256];
	snprintf(p, sizeof p, "%s.item_ms", path);
	if (!json_is_object(o))
		return mrl_err_set(err, MRL_EINPUT, "%s: %s: expected an object, got %s", where, path, type_name(o));
	int rc;
	if ((rc = hrn_json_get_int(o, "n_items", 0, &l->n_items, where, path, err)) ||
	    (rc = hrn_json_get_int(o, "tokens_computed", nul, &l->tokens_computed, where, path, err)) ||
	    (rc = hrn_json_get_int(o, "tokens_cached", nul, &l->tokens_cached, where, path, err)) ||
	    (rc = hrn_json_get_real(o, "score_s", nul, &l->score_s, where, path, err)) ||
	    (rc = hrn_json_get_real(o, "tokens_per_s", nul, &l->tokens_per_s, where, path, err)) ||
	    (rc = hrn_json_get_object(o, "item_ms", 0, &ms, where, path, err)) ||
	    (rc = hrn_json_get_real(ms, "mean", nul, &l->item_ms_mean, where, p, err)) ||
	    (rc = hrn_json_get_real(ms, "median", nul, &l->item_ms_median, where, p, err)) ||
	    (rc = hrn_json_get_real(ms, "p90", nul, &l->item_ms_p90, where, p, err)))
		return rc;
	return 0;
}

static int perf_window_from_json(const json_t *o, struct hrn_perf_window *w, const char *where, const char *path,
				 struct mrl_err *err)
{
	const int str = HRN_J_OPTIONAL | HRN_J_NULLABLE;
	int rc;
	w->present = true;
	if ((rc = hrn_json_get_int(o, "n_items", 0, &w->n_items, where, path, err)) ||
	    (rc = hrn_json_get_real(o, "seconds", HRN_J_NULLABLE, &w->seconds, where, path, err)) ||
	    (rc = reading_from_json(o, "energy_j", &w->energy_j, where, path, err)) ||
	    (rc = reading_from_json(o, "energy_per_item_j", &w->energy_per_item_j, where, path, err)) ||
	    (rc = hrn_json_get_str(o, "energy_source", str, &w->energy_source, where, path, err)) ||
	    (rc = reading_from_json(o, "peak_rss", &w->peak_rss, where, path, err)) ||
	    (rc = hrn_json_get_str(o, "peak_rss_since", str, &w->peak_rss_since, where, path, err)) ||
	    (rc = hrn_json_get_str(o, "counters_status", str, &w->counters_status, where, path, err)) ||
	    (rc = readings_from_json(o, "counters", &w->counters, &w->n_counters, where, path, err)) ||
	    (rc = readings_from_json(o, "usage", &w->usage, &w->n_usage, where, path, err)))
		return rc;
	return 0;
}

static int perf_from_json(const json_t *arr, struct hrn_results *r, const char *where, struct mrl_err *err)
{
	char path[128], lp[160];
	int rc = 0;
	if (!json_is_array(arr))
		return mrl_err_set(err, MRL_EINPUT, "%s: $.performance: expected an array, got %s", where, type_name(arr));
	for (size_t i = 0; i < json_array_size(arr) && !rc; i++) {
		const json_t *o = json_array_get(arr, i);
		char *task = NULL, *why = NULL;
		json_t *langs, *all, *win;
		snprintf(path, sizeof path, "$.performance[%zu]", i);
		if (!json_is_object(o))
			return mrl_err_set(err, MRL_EINPUT, "%s: %s: expected an object, got %s", where, path, type_name(o));
		if ((rc = hrn_json_get_str(o, "task", 0, &task, where, path, err)) ||
		    (rc = hrn_json_get_array(o, "languages", 0, &langs, where, path, err)) ||
		    (rc = hrn_json_get_object(o, "all", 0, &all, where, path, err)) ||
		    (rc = hrn_json_get_object(o, "window", HRN_J_NULLABLE, &win, where, path, err)) ||
		    (rc = hrn_json_get_str(o, "window_null_reason", HRN_J_OPTIONAL | HRN_J_NULLABLE, &why, where, path,
					   err))) {
			free(task);
			free(why);
			return rc;
		}
		struct hrn_perf_task *t = hrn_results_add_perf(r, task);
		free(task);
		if (!t) {
			free(why);
			return mrl_err_set(err, MRL_ENOMEM, "%s: out of memory", where);
		}
		t->window.absent_reason = why;
		snprintf(lp, sizeof lp, "%s.all", path);
		if ((rc = perf_lang_from_json(all, &t->all, where, lp, err)))
			return rc;
		for (size_t l = 0; l < json_array_size(langs) && !rc; l++) {
			const json_t *lo = json_array_get(langs, l);
			char *lang = NULL;
			snprintf(lp, sizeof lp, "%s.languages[%zu]", path, l);
			if (!json_is_object(lo))
				return mrl_err_set(err, MRL_EINPUT, "%s: %s: expected an object, got %s", where, lp, type_name(lo));
			if ((rc = hrn_json_get_str(lo, "language", 0, &lang, where, lp, err)))
				return rc;
			struct hrn_perf_lang *pl = hrn_perf_task_add_lang(t, lang);
			free(lang);
			if (!pl)
				return mrl_err_set(err, MRL_ENOMEM, "%s: out of memory", where);
			rc = perf_lang_from_json(lo, pl, where, lp, err);
		}
		snprintf(lp, sizeof lp, "%s.window", path);
		if (!rc && win)
			rc = perf_window_from_json(win, &t->window, where, lp, err);
	}
	return rc;
}
