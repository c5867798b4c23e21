/* bench_io.c — the bench record: building it, writing it as JSON / JSONL and
 * reading it back (hrn_bench_read, used by reports); the markdown and CSV
 * views are in bench_render.c.
 *
 * The JSON is the record; markdown and CSV are views of it. A figure is
 * {"value": x, "unit": u, "null_reason": null} or {"value": null, "unit": u,
 * "null_reason": "why"}, as in results.json. A series carries its raw samples
 * and their summary; the reader recomputes the summary from the samples (so a
 * file whose summary disagrees with its samples cannot pass a round trip).
 * Doubles are printed with 17 significant digits: write -> read -> write is
 * byte-identical (tested in tests/hrn_bench.c).
 */
#include "harness/bench.h"
#include "harness/hrn.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/fileio.h"
#include "common/json.h"

/* ------------------------------------------------------------- the record */

void hrn_bench_doc_init(struct hrn_bench_doc *d)
{
	memset(d, 0, sizeof *d);
	d->schema_version = HRN_BENCH_SCHEMA_VERSION;
	d->roofline.read_bw_bytes_per_s = d->roofline.read_bw_median_bytes_per_s = NAN;
	d->roofline.flops_per_core = d->roofline.flops_all_cores = NAN;
}

void hrn_bench_roofline_release(struct hrn_bench_roofline *r)
{
	free(r->reason);
	free(r->hostname);
	free(r->measured_utc);
	free(r->path);
	free(r->bw_kernel);
	free(r->flops_kernel);
	memset(r, 0, sizeof *r);
	r->read_bw_bytes_per_s = r->read_bw_median_bytes_per_s = NAN;
	r->flops_per_core = r->flops_all_cores = NAN;
}

static void result_release(struct hrn_bench_result *r)
{
	free(r->test);
	free(r->kind);
	free(r->backend);
	for (size_t i = 0; i < r->n_series; i++) {
		free(r->series[i].name);
		free(r->series[i].unit);
		free(r->series[i].samples);
	}
	free(r->series);
	for (size_t i = 0; i < r->n_figures; i++)
		rec_reading_release(&r->figures[i]);
	free(r->figures);
	for (size_t i = 0; i < r->n_counters; i++)
		rec_reading_release(&r->counters[i]);
	free(r->counters);
	free(r->counters_status);
	free(r->energy_source);
	free(r->note);
	memset(r, 0, sizeof *r);
}

void hrn_bench_doc_release(struct hrn_bench_doc *d)
{
	rec_manifest_release(&d->manifest);
	json_decref(d->settings);
	free(d->model.path);
	free(d->model.name);
	free(d->model.arch);
	free(d->model.type);
	free(d->model.sha256);
	hrn_bench_roofline_release(&d->roofline);
	for (size_t i = 0; i < d->n_results; i++)
		result_release(&d->results[i]);
	free(d->results);
	hrn_bench_doc_init(d);
}

static char *dup_str(const char *s, bool *oom)
{
	if (!s)
		return NULL;
	char *c = strdup(s);
	if (!c)
		*oom = true;
	return c;
}

struct hrn_bench_result *hrn_bench_doc_add_result(struct hrn_bench_doc *d, const char *test, const char *kind,
						  const char *backend)
{
	struct hrn_bench_result *grown = realloc(d->results, (d->n_results + 1) * sizeof *grown);
	if (!grown)
		return NULL;
	d->results = grown;
	struct hrn_bench_result *r = &grown[d->n_results];
	memset(r, 0, sizeof *r);
	bool oom = false;
	r->test = dup_str(test, &oom);
	r->kind = dup_str(kind, &oom);
	r->backend = dup_str(backend, &oom);
	r->limits_hold = -1;
	r->seed = -1;
	if (oom) {
		result_release(r);
		return NULL;
	}
	d->n_results++;
	return r;
}

static void summary_nan(struct met_summary *s)
{
	memset(s, 0, sizeof *s);
	s->mean = s->sd = s->se = s->median = s->min = s->max = s->p50 = s->p90 = s->p99 = NAN;
}

int hrn_bench_result_add_series(struct hrn_bench_result *r, const char *name, const char *unit,
				const double *samples, size_t n, struct mrl_err *err)
{
	struct hrn_bench_series s = { 0 };
	bool oom = false;
	s.name = dup_str(name, &oom);
	s.unit = dup_str(unit, &oom);
	s.samples = n ? malloc(n * sizeof *s.samples) : NULL;
	if (oom || (n && !s.samples))
		goto nomem;
	if (n)
		memcpy(s.samples, samples, n * sizeof *samples);
	s.n = n;
	summary_nan(&s.st);
	if (n) {
		int rc = met_summary_compute(samples, n, &s.st, err);
		if (rc) {
			mrl_err_prefix(err, "bench series '%s'", name);
			free(s.name);
			free(s.unit);
			free(s.samples);
			return rc;
		}
	}
	struct hrn_bench_series *grown = realloc(r->series, (r->n_series + 1) * sizeof *grown);
	if (!grown)
		goto nomem;
	r->series = grown;
	grown[r->n_series++] = s;
	return 0;
nomem:
	free(s.name);
	free(s.unit);
	free(s.samples);
	return mrl_err_set(err, MRL_ENOMEM, "bench: out of memory");
}

int hrn_bench_result_add_figure(struct hrn_bench_result *r, const char *name, const char *unit, double value,
				const char *reason, struct mrl_err *err)
{
	if (!reason && !isfinite(value))
		reason = "not a finite number";
	if (rec_readings_add(&r->figures, &r->n_figures, name, unit, value, reason))
		return mrl_err_set(err, MRL_ENOMEM, "bench: out of memory");
	return 0;
}

const struct hrn_bench_series *hrn_bench_result_series(const struct hrn_bench_result *r, const char *name)
{
	for (size_t i = 0; i < r->n_series; i++)
		if (!strcmp(r->series[i].name, name))
			return &r->series[i];
	return NULL;
}

const struct rec_reading *hrn_bench_result_figure(const struct hrn_bench_result *r, const char *name)
{
	for (size_t i = 0; i < r->n_figures; i++)
		if (!strcmp(r->figures[i].name, name))
			return &r->figures[i];
	return NULL;
}

static const char *const format_names[] = { "md", "csv", "json", "jsonl" };

int hrn_bench_format_parse(const char *s)
{
	for (int i = 0; i < 4; i++)
		if (!strcmp(s, format_names[i]))
			return i;
	return -1;
}

int hrn_bench_format_resolve(int *format, const char *out_path, struct mrl_err *err)
{
	const char *ext = out_path ? hrn_path_extension(out_path) : NULL;
	int named = ext ? hrn_bench_format_parse(ext) : -1;
	if (ext && !strcmp(ext, "markdown"))
		named = HRN_BENCH_MD;
	if (*format < 0) {
		*format = named >= 0 ? named : HRN_BENCH_MD;
		return 0;
	}
	/* a record that compare and report cannot read back must not hide behind a .json name */
	if (named >= 0 && named != *format)
		return mrl_err_set(err, MRL_EINPUT, "--format %s contradicts --out %s (a .%s file): drop --format or rename the file",
				   format_names[*format], out_path, ext);
	return 0;
}

/* ------------------------------------------------------------ JSON writer */

/* Set obj[key] = v (stealing v); a NULL v (out of memory) marks *bad. */
static void put(json_t *obj, const char *key, json_t *v, bool *bad)
{
	if (!v || json_object_set_new(obj, key, v))
		*bad = true;
}

/* o, or NULL (o freed) when building it ran out of memory: the end of every *_json() below. */
static json_t *built(json_t *o, bool bad)
{
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *reading_json(const struct rec_reading *r)
{
	json_t *o = json_object();
	bool bad = !o;
	if (o) {
		put(o, "value", rec_json_real(r->reason ? NAN : r->value), &bad);
		put(o, "unit", rec_json_string(r->unit), &bad);
		put(o, "null_reason", rec_json_string(r->reason), &bad);
	}
	return built(o, bad);
}

static json_t *series_json(const struct hrn_bench_series *s)
{
	json_t *o = json_object(), *a = json_array();
	bool bad = !o || !a;
	for (size_t i = 0; !bad && i < s->n; i++)
		if (json_array_append_new(a, json_real(s->samples[i])))
			bad = true;
	if (!bad) {
		put(o, "unit", rec_json_string(s->unit), &bad);
		put(o, "n", json_integer((json_int_t)s->n), &bad);
		put(o, "mean", rec_json_real(s->st.mean), &bad);
		put(o, "sd", rec_json_real(s->st.sd), &bad);
		put(o, "median", rec_json_real(s->st.median), &bad);
		put(o, "min", rec_json_real(s->st.min), &bad);
		put(o, "max", rec_json_real(s->st.max), &bad);
		put(o, "p50", rec_json_real(s->st.p50), &bad);
		put(o, "p90", rec_json_real(s->st.p90), &bad);
		put(o, "p99", rec_json_real(s->st.p99), &bad);
		put(o, "samples", a, &bad);
		a = NULL;
	}
	json_decref(a);
	return built(o, bad);
}

static json_t *result_json(const struct hrn_bench_result *r)
{
	json_t *o = json_object(), *series = json_object(), *figs = json_object(), *ctrs = json_array();
	bool bad = !o || !series || !figs || !ctrs;
	for (size_t i = 0; !bad && i < r->n_series; i++)
		put(series, r->series[i].name, series_json(&r->series[i]), &bad);
	for (size_t i = 0; !bad && i < r->n_figures; i++)
		put(figs, r->figures[i].name, reading_json(&r->figures[i]), &bad);
	for (size_t i = 0; !bad && i < r->n_counters; i++) {
		json_t *c = reading_json(&r->counters[i]);
		if (c && json_object_set_new(c, "name", rec_json_string(r->counters[i].name)))
			bad = true;
		if (!c || json_array_append_new(ctrs, c))
			bad = true;
	}
	if (!bad) {
		put(o, "test", rec_json_string(r->test), &bad);
		put(o, "kind", rec_json_string(r->kind), &bad);
		put(o, "backend", rec_json_string(r->backend), &bad);
		put(o, "n_prompt", rec_json_count(r->n_prompt), &bad); /* null: prompts of differing lengths */
		put(o, "n_gen", json_integer(r->n_gen), &bad);
		put(o, "depth", json_integer(r->depth), &bad);
		put(o, "threads", json_integer(r->threads), &bad);
		put(o, "reps", json_integer(r->reps), &bad);
		put(o, "warmup", json_integer(r->warmup), &bad);
		put(o, "seed", rec_json_count(r->seed), &bad);
		put(o, "series", series, &bad);
		put(o, "figures", figs, &bad);
		put(o, "counters_status", rec_json_string(r->counters_status), &bad);
		put(o, "counters_per_token", ctrs, &bad);
		put(o, "energy_source", rec_json_string(r->energy_source), &bad);
		put(o, "limits_hold", r->limits_hold < 0 ? json_null() : json_boolean(r->limits_hold), &bad);
		put(o, "note", rec_json_string(r->note), &bad);
		series = figs = ctrs = NULL;
	}
	json_decref(series);
	json_decref(figs);
	json_decref(ctrs);
	return built(o, bad);
}

static json_t *model_json(const struct hrn_bench_model *m)
{
	json_t *o = json_object();
	bool bad = !o;
	if (o) {
		put(o, "path", rec_json_string(m->path), &bad);
		put(o, "name", rec_json_string(m->name), &bad);
		put(o, "arch", rec_json_string(m->arch), &bad);
		put(o, "type", rec_json_string(m->type), &bad);
		put(o, "sha256", rec_json_string(m->sha256), &bad);
		put(o, "size_bytes", rec_json_count(m->size_bytes), &bad);
		put(o, "n_params", rec_json_count(m->n_params), &bad);
		put(o, "weight_bytes", rec_json_count(m->weight_bytes), &bad);
	}
	return built(o, bad);
}

json_t *hrn_bench_roofline_to_json(const struct hrn_bench_roofline *r)
{
	json_t *o = json_object();
	bool bad = !o;
	if (!o)
		return NULL;
	put(o, "present", json_boolean(r->present), &bad);
	if (!r->present) {
		put(o, "null_reason", rec_json_string(r->reason ? r->reason : "not measured"), &bad);
	} else {
		put(o, "hostname", rec_json_string(r->hostname), &bad);
		put(o, "measured_utc", rec_json_string(r->measured_utc), &bad);
		put(o, "path", rec_json_string(r->path), &bad);
		put(o, "from_cache", json_boolean(r->from_cache), &bad);
		put(o, "read_bandwidth_bytes_per_s", rec_json_real(r->read_bw_bytes_per_s), &bad);
		put(o, "read_bandwidth_median_bytes_per_s", rec_json_real(r->read_bw_median_bytes_per_s), &bad);
		put(o, "bandwidth_threads", json_integer(r->bw_threads), &bad);
		put(o, "bandwidth_buffer_bytes", json_integer(r->bw_buffer_bytes), &bad);
		put(o, "bandwidth_runs", json_integer(r->bw_runs), &bad);
		put(o, "bandwidth_kernel", rec_json_string(r->bw_kernel), &bad);
		put(o, "flops_per_core", rec_json_real(r->flops_per_core), &bad);
		put(o, "flops_all_cores", rec_json_real(r->flops_all_cores), &bad);
		put(o, "flops_threads", json_integer(r->flops_threads), &bad);
		put(o, "flops_runs", json_integer(r->flops_runs), &bad);
		put(o, "flops_kernel", rec_json_string(r->flops_kernel), &bad);
	}
	return built(o, bad);
}

/* The parts every JSON form starts with. */
static json_t *head_json(const struct hrn_bench_doc *d)
{
	json_t *o = json_object();
	bool bad = !o;
	if (o) {
		put(o, "schema", json_string(HRN_BENCH_SCHEMA), &bad);
		put(o, "schema_version", json_integer(d->schema_version), &bad);
		put(o, "manifest", rec_manifest_to_json(&d->manifest), &bad);
		put(o, "settings", d->settings ? json_deep_copy(d->settings) : json_object(), &bad);
		put(o, "model", model_json(&d->model), &bad);
		put(o, "roofline", hrn_bench_roofline_to_json(&d->roofline), &bad);
	}
	return built(o, bad);
}

json_t *hrn_bench_doc_to_json(const struct hrn_bench_doc *d)
{
	json_t *o = head_json(d), *a = json_array();
	bool bad = !o || !a;
	for (size_t i = 0; !bad && i < d->n_results; i++) {
		json_t *r = result_json(&d->results[i]);
		if (!r || json_array_append_new(a, r))
			bad = true;
	}
	if (!bad) {
		put(o, "results", a, &bad);
		a = NULL;
	}
	json_decref(a);
	return built(o, bad);
}

json_t *hrn_bench_line_to_json(const struct hrn_bench_doc *d, size_t i)
{
	json_t *o = i < d->n_results ? head_json(d) : NULL;
	bool bad = !o;
	if (o)
		put(o, "result", result_json(&d->results[i]), &bad);
	return built(o, bad);
}

/* ------------------------------------------------------------ JSON reader */

static int bad_field(struct mrl_err *err, const char *where, const char *path, const char *what)
{
	return mrl_err_set(err, MRL_EINPUT, "%s: %s: %s", where, path, what);
}

static int reading_from(const json_t *o, const char *name, struct rec_reading **list, size_t *n, const char *where,
			const char *path, struct mrl_err *err)
{
	double value = NAN;
	char *unit = NULL, *reason = NULL;
	const int opt = MRL_JSON_OPTIONAL | MRL_JSON_NULLABLE;
	int rc = mrl_json_get_real(o, "value", MRL_JSON_NULLABLE, &value, where, path, err);
	if (!rc)
		rc = mrl_json_get_str(o, "unit", opt, &unit, where, path, err);
	if (!rc)
		rc = mrl_json_get_str(o, "null_reason", opt, &reason, where, path, err);
	if (!rc && isnan(value) && !reason)
		rc = bad_field(err, where, path, "a null value needs a null_reason");
	if (!rc && !isnan(value) && reason)
		rc = bad_field(err, where, path, "a value and a null_reason at once");
	if (!rc && rec_readings_add(list, n, name, unit, value, isnan(value) ? reason : NULL))
		rc = mrl_err_set(err, MRL_ENOMEM, "%s: out of memory", where);
	free(unit);
	free(reason);
	return rc;
}

static int series_from(const json_t *o, const char *name, struct hrn_bench_result *r, const char *where,
		       const char *path, struct mrl_err *err)
{
	char *unit = NULL;
	json_t *a = NULL;
	double *v = NULL;
	char sub[512];
	int rc = mrl_json_get_str(o, "unit", MRL_JSON_NULLABLE, &unit, where, path, err);
	if (!rc)
		rc = mrl_json_get_array(o, "samples", 0, &a, where, path, err);
	if (rc)
		goto out;
	size_t n = json_array_size(a);
	if (n && !(v = malloc(n * sizeof *v))) {
		rc = mrl_err_set(err, MRL_ENOMEM, "%s: out of memory", where);
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		json_t *x = json_array_get(a, i);
		if (!json_is_number(x)) {
			snprintf(sub, sizeof sub, "%s.samples[%zu]", path, i);
			rc = bad_field(err, where, sub, "expected a number");
			goto out;
		}
		v[i] = json_number_value(x);
	}
	rc = hrn_bench_result_add_series(r, name, unit, v, n, err);
	if (rc == MRL_EINPUT)
		mrl_err_prefix(err, "%s: %s", where, path);
out:
	free(unit);
	free(v);
	return rc;
}

static int get_int_or_null(const json_t *o, const char *key, int64_t *out, const char *where, const char *path,
			   struct mrl_err *err)
{
	*out = -1;
	return mrl_json_get_int(o, key, MRL_JSON_NULLABLE, out, where, path, err);
}

static int result_from(const json_t *o, struct hrn_bench_doc *d, const char *where, const char *path,
		       struct mrl_err *err)
{
	char *test = NULL, *kind = NULL, *backend = NULL;
	char sub[384];
	int rc = 0;
	if (!json_is_object(o))
		return bad_field(err, where, path, "expected an object");
	if ((rc = mrl_json_get_str(o, "test", 0, &test, where, path, err)) ||
	    (rc = mrl_json_get_str(o, "kind", 0, &kind, where, path, err)) ||
	    (rc = mrl_json_get_str(o, "backend", 0, &backend, where, path, err)))
		goto out;
	struct hrn_bench_result *r = hrn_bench_doc_add_result(d, test, kind, backend);
	if (!r) {
		rc = mrl_err_set(err, MRL_ENOMEM, "%s: out of memory", where);
		goto out;
	}
	json_t *series, *figs, *ctrs, *lh;
	if ((rc = get_int_or_null(o, "n_prompt", &r->n_prompt, where, path, err)) ||
	    (rc = mrl_json_get_int(o, "n_gen", 0, &r->n_gen, where, path, err)) ||
	    (rc = mrl_json_get_int(o, "depth", 0, &r->depth, where, path, err)) ||
	    (rc = mrl_json_get_int(o, "threads", 0, &r->threads, where, path, err)) ||
	    (rc = mrl_json_get_int(o, "reps", 0, &r->reps, where, path, err)) ||
	    (rc = mrl_json_get_int(o, "warmup", 0, &r->warmup, where, path, err)) ||
	    (rc = get_int_or_null(o, "seed", &r->seed, where, path, err)) ||
	    (rc = mrl_json_get_object(o, "series", 0, &series, where, path, err)) ||
	    (rc = mrl_json_get_object(o, "figures", 0, &figs, where, path, err)) ||
	    (rc = mrl_json_get_str(o, "counters_status", MRL_JSON_NULLABLE, &r->counters_status, where, path, err)) ||
	    (rc = mrl_json_get_array(o, "counters_per_token", 0, &ctrs, where, path, err)) ||
	    (rc = mrl_json_get_str(o, "energy_source", MRL_JSON_NULLABLE, &r->energy_source, where, path, err)) ||
	    (rc = mrl_json_get_str(o, "note", MRL_JSON_NULLABLE, &r->note, where, path, err)))
		goto out;
	lh = json_object_get(o, "limits_hold");
	if (!lh || !(json_is_null(lh) || json_is_boolean(lh))) {
		rc = bad_field(err, where, path, "limits_hold: expected true, false or null");
		goto out;
	}
	r->limits_hold = json_is_null(lh) ? -1 : json_is_true(lh);
	const char *key;
	json_t *v;
	json_object_foreach(series, key, v) {
		snprintf(sub, sizeof sub, "%s.series.%s", path, key);
		if (!json_is_object(v)) {
			rc = bad_field(err, where, sub, "expected an object");
			goto out;
		}
		if ((rc = series_from(v, key, r, where, sub, err)))
			goto out;
	}
	json_object_foreach(figs, key, v) {
		snprintf(sub, sizeof sub, "%s.figures.%s", path, key);
		if (!json_is_object(v)) {
			rc = bad_field(err, where, sub, "expected an object");
			goto out;
		}
		if ((rc = reading_from(v, key, &r->figures, &r->n_figures, where, sub, err)))
			goto out;
	}
	for (size_t i = 0; i < json_array_size(ctrs); i++) {
		json_t *c = json_array_get(ctrs, i);
		char *name = NULL;
		snprintf(sub, sizeof sub, "%s.counters_per_token[%zu]", path, i);
		if (!json_is_object(c)) {
			rc = bad_field(err, where, sub, "expected an object");
			goto out;
		}
		if ((rc = mrl_json_get_str(c, "name", 0, &name, where, sub, err)))
			goto out;
		rc = reading_from(c, name, &r->counters, &r->n_counters, where, sub, err);
		free(name);
		if (rc)
			goto out;
	}
out:
	free(test);
	free(kind);
	free(backend);
	return rc;
}

int hrn_bench_roofline_from_json(const json_t *o, struct hrn_bench_roofline *r, const char *where, const char *path,
				 struct mrl_err *err)
{
	hrn_bench_roofline_release(r);
	int rc = mrl_json_get_bool(o, "present", 0, &r->present, where, path, err);
	if (rc)
		return rc;
	if (!r->present)
		return mrl_json_get_str(o, "null_reason", MRL_JSON_NULLABLE, &r->reason, where, path, err);
	const int s = MRL_JSON_NULLABLE;
	if ((rc = mrl_json_get_str(o, "hostname", s, &r->hostname, where, path, err)) ||
	    (rc = mrl_json_get_str(o, "measured_utc", s, &r->measured_utc, where, path, err)) ||
	    (rc = mrl_json_get_str(o, "path", MRL_JSON_OPTIONAL | s, &r->path, where, path, err)) ||
	    (rc = mrl_json_get_bool(o, "from_cache", MRL_JSON_OPTIONAL, &r->from_cache, where, path, err)) ||
	    (rc = mrl_json_get_real(o, "read_bandwidth_bytes_per_s", 0, &r->read_bw_bytes_per_s, where, path, err)) ||
	    (rc = mrl_json_get_real(o, "read_bandwidth_median_bytes_per_s", s, &r->read_bw_median_bytes_per_s, where,
				    path, err)) ||
	    (rc = mrl_json_get_int(o, "bandwidth_threads", 0, &r->bw_threads, where, path, err)) ||
	    (rc = mrl_json_get_int(o, "bandwidth_buffer_bytes", 0, &r->bw_buffer_bytes, where, path, err)) ||
	    (rc = mrl_json_get_int(o, "bandwidth_runs", 0, &r->bw_runs, where, path, err)) ||
	    (rc = mrl_json_get_str(o, "bandwidth_kernel", s, &r->bw_kernel, where, path, err)) ||
	    (rc = mrl_json_get_real(o, "flops_per_core", 0, &r->flops_per_core, where, path, err)) ||
	    (rc = mrl_json_get_real(o, "flops_all_cores", s, &r->flops_all_cores, where, path, err)) ||
	    (rc = mrl_json_get_int(o, "flops_threads", 0, &r->flops_threads, where, path, err)) ||
	    (rc = mrl_json_get_int(o, "flops_runs", 0, &r->flops_runs, where, path, err)) ||
	    (rc = mrl_json_get_str(o, "flops_kernel", s, &r->flops_kernel, where, path, err)))
		return rc;
	if (!(r->read_bw_bytes_per_s > 0) || !(r->flops_per_core > 0))
		return bad_field(err, where, path, "bandwidth and FLOP rate must be positive numbers");
	return 0;
}

/* The head (schema, manifest, settings, model, roofline) into d. */
static int head_from(const json_t *j, struct hrn_bench_doc *d, const char *where, struct mrl_err *err)
{
	char *schema = NULL;
	int64_t version = 0;
	json_t *man, *settings, *model, *roof;
	int rc = 0;
	if (!json_is_object(j))
		return bad_field(err, where, "$", "expected an object");
	if ((rc = mrl_json_get_str(j, "schema", 0, &schema, where, "$", err)))
		return rc;
	if (strcmp(schema, HRN_BENCH_SCHEMA)) {
		rc = mrl_err_set(err, MRL_EUNSUPPORTED, "%s: $.schema: \"%.60s\" is not a merilo bench record (\"%s\")", where,
				 schema, HRN_BENCH_SCHEMA);
		goto out;
	}
	if ((rc = mrl_json_get_int(j, "schema_version", 0, &version, where, "$", err)))
		goto out;
	if (version < 1 || version > HRN_BENCH_SCHEMA_VERSION) {
		rc = mrl_err_set(err, MRL_EUNSUPPORTED, "%s: $.schema_version: %lld is not supported (this merilo reads 1..%d)",
				 where, (long long)version, HRN_BENCH_SCHEMA_VERSION);
		goto out;
	}
	d->schema_version = (int)version;
	if ((rc = mrl_json_get_object(j, "manifest", 0, &man, where, "$", err)) ||
	    (rc = rec_manifest_from_json(man, &d->manifest, where, "$.manifest", err)) ||
	    (rc = mrl_json_get_object(j, "settings", 0, &settings, where, "$", err)) ||
	    (rc = mrl_json_get_object(j, "model", 0, &model, where, "$", err)) ||
	    (rc = mrl_json_get_object(j, "roofline", 0, &roof, where, "$", err)))
		goto out;
	d->settings = json_deep_copy(settings);
	struct hrn_bench_model *m = &d->model;
	if ((rc = mrl_json_get_str(model, "path", MRL_JSON_NULLABLE, &m->path, where, "$.model", err)) ||
	    (rc = mrl_json_get_str(model, "name", MRL_JSON_NULLABLE, &m->name, where, "$.model", err)) ||
	    (rc = mrl_json_get_str(model, "arch", MRL_JSON_NULLABLE, &m->arch, where, "$.model", err)) ||
	    (rc = mrl_json_get_str(model, "type", MRL_JSON_NULLABLE, &m->type, where, "$.model", err)) ||
	    (rc = mrl_json_get_str(model, "sha256", MRL_JSON_NULLABLE, &m->sha256, where, "$.model", err)) ||
	    (rc = get_int_or_null(model, "size_bytes", &m->size_bytes, where, "$.model", err)) ||
	    (rc = get_int_or_null(model, "n_params", &m->n_params, where, "$.model", err)) ||
	    (rc = get_int_or_null(model, "weight_bytes", &m->weight_bytes, where, "$.model", err)) ||
	    (rc = hrn_bench_roofline_from_json(roof, &d->roofline, where, "$.roofline", err)))
		goto out;
	if (!d->settings)
		rc = mrl_err_set(err, MRL_ENOMEM, "%s: out of memory", where);
out:
	free(schema);
	return rc;
}

int hrn_bench_doc_from_json(const json_t *j, struct hrn_bench_doc *d, const char *where, struct mrl_err *err)
{
	hrn_bench_doc_init(d);
	json_t *results;
	int rc = head_from(j, d, where, err);
	if (!rc)
		rc = mrl_json_get_array(j, "results", 0, &results, where, "$", err);
	for (size_t i = 0; !rc && i < json_array_size(results); i++) {
		char path[64];
		snprintf(path, sizeof path, "$.results[%zu]", i);
		rc = result_from(json_array_get(results, i), d, where, path, err);
	}
	return rc;
}

/* Is the first non-blank line of text by itself a JSON object with a "result" (a JSONL bench line)? */
static bool first_line_is_jsonl(const char *text)
{
	const char *line = text + strspn(text, " \t\r\n");
	const char *nl = strchr(line, '\n');
	json_t *j = mrl_json_parse_object(line, nl ? (size_t)(nl - line) : strlen(line), 0, NULL);
	bool yes = json_object_get(j, "result") != NULL;
	json_decref(j);
	return yes;
}

/* The bench record text (len bytes, NUL-terminated, malloc'd: freed here) of path into d. */
static int bench_parse(char *text, size_t len, const char *path, struct hrn_bench_doc *d, struct mrl_err *err)
{
	int rc = 0;
	/* one document (json) or one object per line (jsonl): try the whole first */
	struct mrl_json_error je;
	json_t *j = mrl_json_parse_object(text, len, 0, &je);
	if (j && !json_object_get(j, "results") && json_object_get(j, "result")) {
		json_decref(j); /* a JSONL file of one line */
		j = NULL;
		je.problem = MRL_JSON_TRAILING;
	}
	if (j) {
		rc = hrn_bench_doc_from_json(j, d, path, err);
		json_decref(j);
		free(text);
		return rc;
	}
	/* JSONL only when the whole parsed up to a second value and the first line
	 * is a JSONL record on its own; otherwise the whole document's problem is
	 * the one to report (a NUL byte, a truncated or malformed document, garbage
	 * after it) */
	if (je.problem != MRL_JSON_TRAILING || !first_line_is_jsonl(text)) {
		rc = je.problem == MRL_JSON_EMPTY
			     ? mrl_err_set(err, MRL_EINPUT, "%s: empty: neither a bench JSON document nor JSONL lines", path)
			     : mrl_err_set(err, MRL_EINPUT, "%s: %s", path, je.text);
		free(text);
		return rc;
	}
	size_t line_no = 0, n_lines = 0;
	char where[512];
	for (char *line = text, *next; line && *line && !rc; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		line_no++;
		snprintf(where, sizeof where, "%s:%zu", path, line_no);
		json_t *o = mrl_json_parse_object(line, strlen(line), 0, &je);
		if (!o && je.problem == MRL_JSON_EMPTY)
			continue; /* a blank line, or a byte-order mark alone */
		if (!o) {
			rc = mrl_err_set(err, MRL_EINPUT, "%s:%d: %s", where, je.column, je.what);
			break;
		}
		if (n_lines == 0) {
			rc = head_from(o, d, where, err);
		} else {
			/* later lines must be of the same run */
			struct hrn_bench_doc tmp;
			hrn_bench_doc_init(&tmp);
			rc = head_from(o, &tmp, where, err);
			hrn_bench_doc_release(&tmp);
		}
		json_t *res = NULL;
		if (!rc)
			rc = mrl_json_get_object(o, "result", 0, &res, where, "$", err);
		if (!rc)
			rc = result_from(res, d, where, "$.result", err);
		json_decref(o);
		n_lines++;
	}
	if (!rc && n_lines == 0)
		rc = mrl_err_set(err, MRL_EINPUT, "%s: empty: neither a bench JSON document nor JSONL lines", path);
	free(text);
	return rc;
}

int hrn_bench_read(const char *path, struct hrn_bench_doc *d, struct mrl_err *err)
{
	hrn_bench_doc_init(d);
	char *text = NULL;
	size_t len = 0;
	int rc = mrl_read_file(path, HRN_BENCH_MAX_BYTES, &text, &len, err);
	return rc ? rc : bench_parse(text, len, path, d, err);
}

int hrn_bench_read_text(const char *text, size_t len, const char *path, struct hrn_bench_doc *d, struct mrl_err *err)
{
	hrn_bench_doc_init(d);
	char *copy = malloc(len + 1);
	if (!copy)
		return mrl_err_set(err, MRL_ENOMEM, "%s: out of memory", path);
	memcpy(copy, text, len);
	copy[len] = '\0';
	return bench_parse(copy, len, path, d, err);
}
