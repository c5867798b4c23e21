/* perf.c — the "performance" section of results.json: readings (a value with
 * its unit, or null with the reason), per task and language, and the window
 * of a whole task. Part of the results.json record (results.h).
 */
#include "records/rec_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------- results.json: "performance" */

void rec_reading_release(struct rec_reading *r)
{
	free(r->name);
	free(r->unit);
	free(r->reason);
	memset(r, 0, sizeof *r);
	r->value = NAN;
}

int rec_reading_set(struct rec_reading *r, const char *name, const char *unit, double value, const char *reason)
{
	bool oom = false;
	struct rec_reading v = { .name = rec_dup_or_null(name, &oom), .unit = rec_dup_or_null(unit, &oom),
				 .value = reason ? NAN : value, .reason = rec_dup_or_null(reason, &oom) };
	if (oom) {
		rec_reading_release(&v);
		return MRL_ENOMEM;
	}
	rec_reading_release(r);
	*r = v;
	return 0;
}

int rec_readings_add(struct rec_reading **list, size_t *n, const char *name, const char *unit, double value,
		     const char *reason)
{
	struct rec_reading *grown = realloc(*list, (*n + 1) * sizeof *grown);
	if (!grown)
		return MRL_ENOMEM;
	*list = grown;
	memset(&grown[*n], 0, sizeof grown[*n]);
	if (rec_reading_set(&grown[*n], name, unit, value, reason))
		return MRL_ENOMEM;
	(*n)++;
	return 0;
}

static void perf_lang_init(struct rec_perf_lang *l)
{
	memset(l, 0, sizeof *l);
	l->tokens_computed = l->tokens_cached = -1;
	l->tokens_per_s = l->item_ms_mean = l->item_ms_median = l->item_ms_p90 = NAN;
}

static void perf_window_release(struct rec_perf_window *w)
{
	free(w->absent_reason);
	rec_reading_release(&w->energy_j);
	rec_reading_release(&w->energy_per_item_j);
	free(w->energy_source);
	rec_reading_release(&w->peak_rss);
	free(w->peak_rss_since);
	free(w->counters_status);
	for (size_t i = 0; i < w->n_counters; i++)
		rec_reading_release(&w->counters[i]);
	free(w->counters);
	for (size_t i = 0; i < w->n_usage; i++)
		rec_reading_release(&w->usage[i]);
	free(w->usage);
	memset(w, 0, sizeof *w);
}

static void perf_task_release(struct rec_perf_task *t)
{
	for (size_t i = 0; i < t->n_langs; i++)
		free(t->langs[i].language);
	free(t->langs);
	free(t->all.language);
	perf_window_release(&t->window);
	free(t->task);
}

void rec_perf_release(struct rec_results *r)
{
	for (size_t i = 0; i < r->n_perf; i++)
		perf_task_release(&r->perf[i]);
	free(r->perf);
	r->perf = NULL;
	r->n_perf = 0;
}

struct rec_perf_task *rec_results_add_perf(struct rec_results *r, const char *task)
{
	struct rec_perf_task *grown = realloc(r->perf, (r->n_perf + 1) * sizeof *grown);
	if (!grown)
		return NULL;
	r->perf = grown;
	struct rec_perf_task *t = &grown[r->n_perf];
	memset(t, 0, sizeof *t);
	perf_lang_init(&t->all);
	t->window.energy_j.value = t->window.energy_per_item_j.value = t->window.peak_rss.value = NAN;
	bool oom = false;
	t->task = rec_dup_or_null(task, &oom);
	t->all.language = rec_dup_or_null("all", &oom);
	if (oom) {
		perf_task_release(t);
		return NULL;
	}
	r->n_perf++;
	return t;
}

struct rec_perf_lang *rec_perf_task_add_lang(struct rec_perf_task *t, const char *language)
{
	struct rec_perf_lang *grown = realloc(t->langs, (t->n_langs + 1) * sizeof *grown);
	if (!grown)
		return NULL;
	t->langs = grown;
	struct rec_perf_lang *l = &grown[t->n_langs];
	perf_lang_init(l);
	if (!(l->language = strdup(language)))
		return NULL;
	t->n_langs++;
	return l;
}

static json_t *reading_to_json(const struct rec_reading *r)
{
	return json_pack("{s:o, s:o, s:o}", "value", rec_json_real(r->value), "unit", rec_json_string(r->unit),
			 "null_reason", isnan(r->value) ? rec_json_string(r->reason ? r->reason : "not measured")
							: json_null());
}

static json_t *readings_to_json(const struct rec_reading *v, size_t n)
{
	json_t *o = json_object();
	for (size_t i = 0; o && i < n; i++)
		if (!v[i].name || rec_put(o, v[i].name, reading_to_json(&v[i]))) {
			json_decref(o);
			return NULL;
		}
	return o;
}

static json_t *perf_lang_to_json(const struct rec_perf_lang *l)
{
	return json_pack("{s:o, s:I, s:o, s:o, s:o, s:o, s:{s:o, s:o, s:o}}", "language", rec_json_string(l->language),
			 "n_items", (json_int_t)l->n_items, "tokens_computed", rec_json_count(l->tokens_computed),
			 "tokens_cached", rec_json_count(l->tokens_cached), "score_s", rec_json_real(l->score_s),
			 "tokens_per_s", rec_json_real(l->tokens_per_s), "item_ms", "mean",
			 rec_json_real(l->item_ms_mean), "median", rec_json_real(l->item_ms_median), "p90",
			 rec_json_real(l->item_ms_p90));
}

static json_t *perf_window_to_json(const struct rec_perf_window *w)
{
	if (!w->present)
		return json_null();
	return json_pack("{s:I, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "n_items", (json_int_t)w->n_items,
			 "seconds", rec_json_real(w->seconds), "energy_j", reading_to_json(&w->energy_j),
			 "energy_per_item_j", reading_to_json(&w->energy_per_item_j), "energy_source",
			 rec_json_string(w->energy_source), "peak_rss", reading_to_json(&w->peak_rss), "peak_rss_since",
			 rec_json_string(w->peak_rss_since), "counters_status", rec_json_string(w->counters_status),
			 "counters", readings_to_json(w->counters, w->n_counters), "usage",
			 readings_to_json(w->usage, w->n_usage));
}

json_t *rec_perf_to_json(const struct rec_perf_task *perf, size_t n)
{
	json_t *arr = json_array();
	for (size_t i = 0; arr && i < n; i++) {
		const struct rec_perf_task *t = &perf[i];
		json_t *langs = json_array();
		for (size_t l = 0; langs && l < t->n_langs; l++)
			if (json_array_append_new(langs, perf_lang_to_json(&t->langs[l]))) {
				json_decref(langs);
				langs = NULL;
			}
		json_t *o = langs ? json_pack("{s:o, s:o, s:o, s:o, s:o}", "task", rec_json_string(t->task), "languages",
					      langs, "all", perf_lang_to_json(&t->all), "window",
					      perf_window_to_json(&t->window), "window_null_reason",
					      t->window.present ? json_null()
								: rec_json_string(t->window.absent_reason
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

static int reading_from_json(const json_t *obj, const char *key, struct rec_reading *r, const char *where,
			     const char *path, struct mrl_err *err)
{
	json_t *o;
	char p[256];
	double value = NAN;
	char *unit = NULL, *reason = NULL;
	int rc = mrl_json_get_object(obj, key, 0, &o, where, path, err);
	mrl_json_path_key(p, sizeof p, path, key);
	if (rc || (rc = mrl_json_get_real(o, "value", MRL_JSON_NULLABLE, &value, where, p, err)) ||
	    (rc = mrl_json_get_str(o, "unit", MRL_JSON_OPTIONAL | MRL_JSON_NULLABLE, &unit, where, p, err)) ||
	    (rc = mrl_json_get_str(o, "null_reason", MRL_JSON_OPTIONAL | MRL_JSON_NULLABLE, &reason, where, p, err)))
		goto out;
	if (isnan(value) && !reason)
		rc = mrl_err_set(err, MRL_EINPUT, "%s: %s: a null value needs a null_reason", where, p);
	else if (rec_reading_set(r, key, unit, value, isnan(value) ? reason : NULL))
		rc = mrl_err_set(err, MRL_ENOMEM, "%s: out of memory", where);
out:
	free(unit);
	free(reason);
	return rc;
}

static int readings_from_json(const json_t *obj, const char *key, struct rec_reading **list, size_t *n,
			      const char *where, const char *path, struct mrl_err *err)
{
	json_t *o;
	char p[256];
	int rc = mrl_json_get_object(obj, key, 0, &o, where, path, err);
	mrl_json_path_key(p, sizeof p, path, key);
	const char *name;
	json_t *v;
	json_object_foreach(rc ? NULL : o, name, v) {
		struct rec_reading r = { 0 };
		if ((rc = reading_from_json(o, name, &r, where, p, err)))
			break;
		struct rec_reading *grown = realloc(*list, (*n + 1) * sizeof *grown);
		if (!grown) {
			rec_reading_release(&r);
			rc = mrl_err_set(err, MRL_ENOMEM, "%s: out of memory", where);
			break;
		}
		*list = grown;
		grown[(*n)++] = r;
	}
	return rc;
}

static int perf_lang_from_json(const json_t *o, struct rec_perf_lang *l, const char *where, const char *path,
			       struct mrl_err *err)
{
	const int nul = MRL_JSON_NULLABLE;
	json_t *ms;
	char p[256];
	mrl_json_path_key(p, sizeof p, path, "item_ms");
	if (!json_is_object(o))
		return mrl_err_set(err, MRL_EINPUT, "%s: %s: expected an object, got %s", where, path, mrl_json_type_name(o));
	int rc;
	if ((rc = mrl_json_get_int(o, "n_items", 0, &l->n_items, where, path, err)) ||
	    (rc = mrl_json_get_int(o, "tokens_computed", nul, &l->tokens_computed, where, path, err)) ||
	    (rc = mrl_json_get_int(o, "tokens_cached", nul, &l->tokens_cached, where, path, err)) ||
	    (rc = mrl_json_get_real(o, "score_s", nul, &l->score_s, where, path, err)) ||
	    (rc = mrl_json_get_real(o, "tokens_per_s", nul, &l->tokens_per_s, where, path, err)) ||
	    (rc = mrl_json_get_object(o, "item_ms", 0, &ms, where, path, err)) ||
	    (rc = mrl_json_get_real(ms, "mean", nul, &l->item_ms_mean, where, p, err)) ||
	    (rc = mrl_json_get_real(ms, "median", nul, &l->item_ms_median, where, p, err)) ||
	    (rc = mrl_json_get_real(ms, "p90", nul, &l->item_ms_p90, where, p, err)))
		return rc;
	return 0;
}

static int perf_window_from_json(const json_t *o, struct rec_perf_window *w, const char *where, const char *path,
				 struct mrl_err *err)
{
	const int str = MRL_JSON_OPTIONAL | MRL_JSON_NULLABLE;
	int rc;
	w->present = true;
	if ((rc = mrl_json_get_int(o, "n_items", 0, &w->n_items, where, path, err)) ||
	    (rc = mrl_json_get_real(o, "seconds", MRL_JSON_NULLABLE, &w->seconds, where, path, err)) ||
	    (rc = reading_from_json(o, "energy_j", &w->energy_j, where, path, err)) ||
	    (rc = reading_from_json(o, "energy_per_item_j", &w->energy_per_item_j, where, path, err)) ||
	    (rc = mrl_json_get_str(o, "energy_source", str, &w->energy_source, where, path, err)) ||
	    (rc = reading_from_json(o, "peak_rss", &w->peak_rss, where, path, err)) ||
	    (rc = mrl_json_get_str(o, "peak_rss_since", str, &w->peak_rss_since, where, path, err)) ||
	    (rc = mrl_json_get_str(o, "counters_status", str, &w->counters_status, where, path, err)) ||
	    (rc = readings_from_json(o, "counters", &w->counters, &w->n_counters, where, path, err)) ||
	    (rc = readings_from_json(o, "usage", &w->usage, &w->n_usage, where, path, err)))
		return rc;
	return 0;
}

int rec_perf_from_json(const json_t *arr, struct rec_results *r, const char *where, struct mrl_err *err)
{
	char path[128], lp[160];
	int rc = 0;
	if (!json_is_array(arr))
		return mrl_err_set(err, MRL_EINPUT, "%s: /performance: expected an array, got %s", where, mrl_json_type_name(arr));
	for (size_t i = 0; i < json_array_size(arr) && !rc; i++) {
		const json_t *o = json_array_get(arr, i);
		char *task = NULL, *why = NULL;
		json_t *langs, *all, *win;
		snprintf(path, sizeof path, "/performance/%zu", i);
		if (!json_is_object(o))
			return mrl_err_set(err, MRL_EINPUT, "%s: %s: expected an object, got %s", where, path, mrl_json_type_name(o));
		if ((rc = mrl_json_get_str(o, "task", 0, &task, where, path, err)) ||
		    (rc = mrl_json_get_array(o, "languages", 0, &langs, where, path, err)) ||
		    (rc = mrl_json_get_object(o, "all", 0, &all, where, path, err)) ||
		    (rc = mrl_json_get_object(o, "window", MRL_JSON_NULLABLE, &win, where, path, err)) ||
		    (rc = mrl_json_get_str(o, "window_null_reason", MRL_JSON_OPTIONAL | MRL_JSON_NULLABLE, &why, where, path,
					   err))) {
			free(task);
			free(why);
			return rc;
		}
		struct rec_perf_task *t = rec_results_add_perf(r, task);
		free(task);
		if (!t) {
			free(why);
			return mrl_err_set(err, MRL_ENOMEM, "%s: out of memory", where);
		}
		t->window.absent_reason = why;
		mrl_json_path_key(lp, sizeof lp, path, "all");
		if ((rc = perf_lang_from_json(all, &t->all, where, lp, err)))
			return rc;
		for (size_t l = 0; l < json_array_size(langs) && !rc; l++) {
			const json_t *lo = json_array_get(langs, l);
			char *lang = NULL;
			snprintf(lp, sizeof lp, "%s/languages/%zu", path, l);
			if (!json_is_object(lo))
				return mrl_err_set(err, MRL_EINPUT, "%s: %s: expected an object, got %s", where, lp, mrl_json_type_name(lo));
			if ((rc = mrl_json_get_str(lo, "language", 0, &lang, where, lp, err)))
				return rc;
			struct rec_perf_lang *pl = rec_perf_task_add_lang(t, lang);
			free(lang);
			if (!pl)
				return mrl_err_set(err, MRL_ENOMEM, "%s: out of memory", where);
			rc = perf_lang_from_json(lo, pl, where, lp, err);
		}
		mrl_json_path_key(lp, sizeof lp, path, "window");
		if (!rc && win)
			rc = perf_window_from_json(win, &t->window, where, lp, err);
	}
	return rc;
}
