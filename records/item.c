/* item.c — one item x language of items.jsonl: the C record, its appenders,
 * and the record <-> one JSON line, including the optional per-token
 * "logprobs" (`merilo run --store-logprobs`). Every array length read from a
 * line is checked before anything is allocated for it.
 */
#include "records/rec_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int rec_item_init(struct rec_item *it, const char *task, const char *item_id, const char *language)
{
	bool oom = false;
	memset(it, 0, sizeof *it);
	it->task = rec_dup_or_null(task, &oom);
	it->item_id = rec_dup_or_null(item_id, &oom);
	it->language = rec_dup_or_null(language, &oom);
	it->gold_index = -1;
	it->tokens_computed = it->tokens_cached = -1;
	if (oom) {
		rec_item_release(it);
		return MRL_ENOMEM;
	}
	return 0;
}

int rec_item_add_choice(struct rec_item *it, double loglik, int64_t n_tokens, int64_t n_chars, int64_t n_bytes,
			bool is_greedy)
{
	struct rec_choice_score *grown = realloc(it->choices, (it->n_choices + 1) * sizeof *grown);
	if (!grown)
		return MRL_ENOMEM;
	it->choices = grown;
	if (it->logprobs) { /* keep one logprobs entry per choice */
		struct rec_token_logprobs *lp = realloc(it->logprobs, (it->n_choices + 1) * sizeof *lp);
		if (!lp)
			return MRL_ENOMEM;
		it->logprobs = lp;
		memset(&lp[it->n_choices], 0, sizeof *lp);
	}
	grown[it->n_choices++] = (struct rec_choice_score){ loglik, n_tokens, n_chars, n_bytes, is_greedy, NULL, NULL };
	return 0;
}

int rec_item_add_metric(struct rec_item *it, const char *metric, int64_t pred_index, const char *pred_text,
			bool correct, double value)
{
	struct rec_item_metric *grown = realloc(it->metrics, (it->n_metrics + 1) * sizeof *grown);
	if (!grown)
		return MRL_ENOMEM;
	it->metrics = grown;
	bool oom = false;
	struct rec_item_metric m = { rec_dup_or_null(metric, &oom), pred_index, rec_dup_or_null(pred_text, &oom), correct,
				     value };
	if (oom) {
		free(m.metric);
		free(m.pred_text);
		return MRL_ENOMEM;
	}
	grown[it->n_metrics++] = m;
	return 0;
}

int rec_item_add_timing(struct rec_item *it, const char *name, int64_t ns)
{
	struct rec_timing *grown = realloc(it->timings, (it->n_timings + 1) * sizeof *grown);
	if (!grown)
		return MRL_ENOMEM;
	it->timings = grown;
	char *copy = strdup(name);
	if (!copy)
		return MRL_ENOMEM;
	grown[it->n_timings++] = (struct rec_timing){ copy, ns };
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

int rec_item_set_gold_text(struct rec_item *it, const char *s) { return replace_str(&it->gold_text, s); }
int rec_item_set_context(struct rec_item *it, const char *s) { return replace_str(&it->context, s); }

int rec_item_set_continuation(struct rec_item *it, size_t choice, const char *s)
{
	return choice < it->n_choices ? replace_str(&it->choices[choice].continuation, s) : MRL_EINPUT;
}

int rec_item_set_choice_context(struct rec_item *it, size_t choice, const char *s)
{
	return choice < it->n_choices ? replace_str(&it->choices[choice].context, s) : MRL_EINPUT;
}

int rec_item_set_pred_text(struct rec_item *it, size_t metric, const char *s)
{
	return metric < it->n_metrics ? replace_str(&it->metrics[metric].pred_text, s) : MRL_EINPUT;
}
int rec_item_set_prompt(struct rec_item *it, const char *s) { return replace_str(&it->prompt, s); }
int rec_item_set_breakdown(struct rec_item *it, const char *s) { return replace_str(&it->breakdown, s); }

int rec_item_set_generation(struct rec_item *it, json_t *g)
{
	if (g && !json_is_object(g)) {
		json_decref(g);
		return MRL_EINPUT;
	}
	json_decref(it->generation);
	it->generation = g;
	return 0;
}

void rec_item_release(struct rec_item *it)
{
	free(it->task);
	free(it->item_id);
	free(it->language);
	for (size_t i = 0; i < it->n_choices; i++) {
		free(it->choices[i].continuation);
		free(it->choices[i].context);
	}
	free(it->choices);
	free(it->context);
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
	free(it->breakdown);
	rec_token_logprobs_free(it->logprobs, it->n_choices);
	json_decref(it->generation);
	memset(it, 0, sizeof *it);
}

json_t *rec_item_to_json(const struct rec_item *it)
{
	json_t *o = json_object(), *choices = json_array(), *metrics = json_object(), *timings = json_object();
	int bad = !o || !choices || !metrics || !timings;
	for (size_t i = 0; !bad && i < it->n_choices; i++) {
		const struct rec_choice_score *c = &it->choices[i];
		json_t *co = json_object();
		bad |= !co;
		if (bad)
			break;
		bad |= rec_put(co, "loglik", rec_json_real(c->loglik));
		bad |= rec_put(co, "n_tokens", json_integer(c->n_tokens));
		bad |= rec_put(co, "n_chars", json_integer(c->n_chars));
		bad |= rec_put(co, "n_bytes", json_integer(c->n_bytes));
		bad |= rec_put(co, "is_greedy", json_boolean(c->is_greedy));
		if (c->context)
			bad |= rec_put(co, "context", rec_json_string(c->context));
		if (c->continuation)
			bad |= rec_put(co, "continuation", rec_json_string(c->continuation));
		bad |= json_array_append_new(choices, co) != 0;
	}
	for (size_t i = 0; !bad && i < it->n_metrics; i++) {
		const struct rec_item_metric *m = &it->metrics[i];
		json_t *mo = json_object();
		if (!mo || !m->metric) {
			json_decref(mo);
			bad = 1;
			break;
		}
		bad |= rec_put(mo, "pred_index", rec_json_count(m->pred_index));
		bad |= rec_put(mo, "pred_text", rec_json_string(m->pred_text));
		bad |= rec_put(mo, "correct", json_boolean(m->correct));
		bad |= rec_put(mo, "value", rec_json_real(m->value));
		bad |= rec_put(metrics, m->metric, mo);
	}
	for (size_t i = 0; !bad && i < it->n_timings; i++)
		bad |= !it->timings[i].name || rec_put(timings, it->timings[i].name, json_integer(it->timings[i].ns));
	if (!bad) {
		bad |= rec_put(o, "schema_version", json_integer(REC_ITEMS_SCHEMA_VERSION));
		bad |= rec_put(o, "task", rec_json_string(it->task));
		bad |= rec_put(o, "item", rec_json_string(it->item_id));
		bad |= rec_put(o, "language", rec_json_string(it->language));
		bad |= rec_put(o, "choices", choices);
		bad |= rec_put(o, "gold_index", rec_json_count(it->gold_index));
		bad |= rec_put(o, "gold_text", rec_json_string(it->gold_text));
		bad |= rec_put(o, "metrics", metrics);
		bad |= rec_put(o, "timings_ns", timings);
		choices = metrics = timings = NULL;
		if (it->breakdown)
			bad |= rec_put(o, "breakdown", rec_json_string(it->breakdown));
		if (it->prompt)
			bad |= rec_put(o, "prompt", rec_json_string(it->prompt));
		if (it->context)
			bad |= rec_put(o, "context", rec_json_string(it->context));
		if (it->tokens_computed >= 0)
			bad |= rec_put(o, "tokens_computed", json_integer(it->tokens_computed));
		if (it->tokens_cached >= 0)
			bad |= rec_put(o, "tokens_cached", json_integer(it->tokens_cached));
		if (it->logprobs)
			bad |= rec_put(o, "logprobs", rec_token_logprobs_to_json(it->logprobs, it->n_choices));
		if (it->generation)
			bad |= rec_put(o, "generation", json_incref(it->generation));
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

int rec_item_from_json(const json_t *j, struct rec_item *it, const char *where, struct mrl_err *err)
{
	json_t *choices, *metrics, *timings;
	char path[256];
	int rc;
	memset(it, 0, sizeof *it);
	it->gold_index = -1;
	it->tokens_computed = it->tokens_cached = -1;
	json_t *logprobs = NULL, *generation = NULL;
	if (!json_is_object(j))
		return mrl_err_set(err, MRL_EINPUT, "%s: $: expected an object, got %s", where, mrl_json_type_name(j));
	if ((rc = rec_check_schema_version(j, REC_ITEMS_SCHEMA_VERSION, where, "", err)) ||
	    (rc = mrl_json_get_str(j, "task", 0, &it->task, where, "", err)) ||
	    (rc = mrl_json_get_str(j, "item", 0, &it->item_id, where, "", err)) ||
	    (rc = mrl_json_get_str(j, "language", 0, &it->language, where, "", err)) ||
	    (rc = mrl_json_get_array(j, "choices", 0, &choices, where, "", err)) ||
	    (rc = mrl_json_get_int(j, "gold_index", MRL_JSON_NULLABLE, &it->gold_index, where, "", err)) ||
	    (rc = mrl_json_get_str(j, "gold_text", MRL_JSON_OPTIONAL | MRL_JSON_NULLABLE, &it->gold_text, where, "", err)) ||
	    (rc = mrl_json_get_object(j, "metrics", 0, &metrics, where, "", err)) ||
	    (rc = mrl_json_get_object(j, "timings_ns", MRL_JSON_OPTIONAL, &timings, where, "", err)) ||
	    (rc = mrl_json_get_str(j, "prompt", MRL_JSON_OPTIONAL | MRL_JSON_NULLABLE, &it->prompt, where, "", err)) ||
	    (rc = mrl_json_get_str(j, "breakdown", MRL_JSON_OPTIONAL | MRL_JSON_NULLABLE, &it->breakdown, where, "", err)) ||
	    (rc = mrl_json_get_str(j, "context", MRL_JSON_OPTIONAL | MRL_JSON_NULLABLE, &it->context, where, "", err)) ||
	    (rc = mrl_json_get_int(j, "tokens_computed", MRL_JSON_OPTIONAL | MRL_JSON_NULLABLE, &it->tokens_computed, where,
				   "", err)) ||
	    (rc = mrl_json_get_int(j, "tokens_cached", MRL_JSON_OPTIONAL | MRL_JSON_NULLABLE, &it->tokens_cached, where, "",
				   err)) ||
	    (rc = mrl_json_get_array(j, "logprobs", MRL_JSON_OPTIONAL | MRL_JSON_NULLABLE, &logprobs, where, "", err)) ||
	    (rc = mrl_json_get_object(j, "generation", MRL_JSON_OPTIONAL | MRL_JSON_NULLABLE, &generation, where, "", err)))
		return rc;
	it->generation = json_incref(generation);
	size_t n = json_array_size(choices);
	if (n && !(it->choices = calloc(n, sizeof *it->choices)))
		return mrl_err_set(err, MRL_ENOMEM, "%s: out of memory", where);
	for (size_t i = 0; i < n; i++) {
		json_t *c = json_array_get(choices, i);
		struct rec_choice_score *s = &it->choices[i];
		snprintf(path, sizeof path, "/choices/%zu", i);
		if ((rc = mrl_json_get_real(c, "loglik", MRL_JSON_NULLABLE, &s->loglik, where, path, err)) ||
		    (rc = mrl_json_get_int(c, "n_tokens", 0, &s->n_tokens, where, path, err)) ||
		    (rc = mrl_json_get_int(c, "n_chars", 0, &s->n_chars, where, path, err)) ||
		    (rc = mrl_json_get_int(c, "n_bytes", 0, &s->n_bytes, where, path, err)) ||
		    (rc = mrl_json_get_bool(c, "is_greedy", 0, &s->is_greedy, where, path, err)))
			return rc;
		it->n_choices++; /* owns what continuation and context get from here on */
		if ((rc = mrl_json_get_str(c, "continuation", MRL_JSON_OPTIONAL | MRL_JSON_NULLABLE, &s->continuation, where,
					   path, err)) ||
		    (rc = mrl_json_get_str(c, "context", MRL_JSON_OPTIONAL | MRL_JSON_NULLABLE, &s->context, where, path,
					   err)))
			return rc;
	}
	const char *name;
	json_t *m;
	json_object_foreach(metrics, name, m) {
		int64_t pred_index = -1;
		char *pred_text = NULL;
		bool correct = false;
		double value = NAN;
		mrl_json_path_key(path, sizeof path, "/metrics", name);
		if ((rc = mrl_json_get_int(m, "pred_index", MRL_JSON_NULLABLE, &pred_index, where, path, err)) ||
		    (rc = mrl_json_get_str(m, "pred_text", MRL_JSON_OPTIONAL | MRL_JSON_NULLABLE, &pred_text, where, path, err)) ||
		    (rc = mrl_json_get_bool(m, "correct", 0, &correct, where, path, err)) ||
		    (rc = mrl_json_get_real(m, "value", MRL_JSON_OPTIONAL | MRL_JSON_NULLABLE, &value, where, path, err))) {
			free(pred_text);
			return rc;
		}
		rc = rec_item_add_metric(it, name, pred_index, pred_text, correct, value);
		free(pred_text);
		if (rc)
			return mrl_err_set(err, MRL_ENOMEM, "%s: out of memory", where);
	}
	json_object_foreach(timings, name, m) {
		if (!json_is_integer(m))
			return mrl_err_set(err, MRL_EINPUT, "%s: /timings_ns/%s: expected an integer (nanoseconds), got %s",
					   where, name, mrl_json_type_name(m));
		if (rec_item_add_timing(it, name, (int64_t)json_integer_value(m)))
			return mrl_err_set(err, MRL_ENOMEM, "%s: out of memory", where);
	}
	if (logprobs) {
		if ((rc = rec_token_logprobs_from_json(logprobs, it->n_choices, &it->logprobs, where, "/logprobs", err)))
			return rc;
		for (size_t i = 0; i < it->n_choices; i++)
			if (it->logprobs[i].tokens && it->logprobs[i].n != (size_t)it->choices[i].n_tokens)
				return mrl_err_set(err, MRL_EINPUT, "%s: /logprobs/%zu: %zu tokens, but the choice has n_tokens %lld",
						   where, i, it->logprobs[i].n, (long long)it->choices[i].n_tokens);
	}
	return 0;
}

/* ------------------------------------------- items.jsonl: "logprobs" */

void rec_token_logprobs_free(struct rec_token_logprobs *lp, size_t n_choices)
{
	for (size_t i = 0; lp && i < n_choices; i++) {
		free(lp[i].tokens);
		free(lp[i].logprob);
		free(lp[i].top_id);
		free(lp[i].top_logprob);
	}
	free(lp);
}

int rec_item_set_logprobs(struct rec_item *it, size_t choice, const int32_t *tokens, const double *logprob,
			  size_t n, size_t k, const int32_t *top_id, const double *top_logprob)
{
	if (choice >= it->n_choices || (k && (!top_id || !top_logprob)) || (n && (!tokens || !logprob)))
		return MRL_EINPUT;
	if (!it->logprobs && !(it->logprobs = calloc(it->n_choices, sizeof *it->logprobs)))
		return MRL_ENOMEM;
	struct rec_token_logprobs v = { .n = n, .k = k };
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
	struct rec_token_logprobs *old = &it->logprobs[choice];
	free(old->tokens);
	free(old->logprob);
	free(old->top_id);
	free(old->top_logprob);
	*old = v;
	return 0;
}

const struct rec_token_logprobs *rec_item_logprobs(const struct rec_item *it, size_t choice)
{
	if (!it->logprobs || choice >= it->n_choices || !it->logprobs[choice].tokens)
		return NULL;
	return &it->logprobs[choice];
}

json_t *rec_token_logprobs_to_json(const struct rec_token_logprobs *lp, size_t n_choices)
{
	json_t *arr = json_array();
	int bad = !arr;
	for (size_t c = 0; !bad && c < n_choices; c++) {
		const struct rec_token_logprobs *v = &lp[c];
		if (!v->tokens) { /* never set: null */
			bad |= json_array_append_new(arr, json_null()) != 0;
			continue;
		}
		json_t *o = json_object(), *toks = json_array(), *lps = json_array(), *top = v->k ? json_array() : NULL;
		bad |= !o || !toks || !lps || (v->k && !top);
		for (size_t i = 0; !bad && i < v->n; i++) {
			bad |= json_array_append_new(toks, json_integer(v->tokens[i])) != 0;
			bad |= json_array_append_new(lps, rec_json_real(v->logprob[i])) != 0;
			json_t *row = v->k ? json_array() : NULL;
			bad |= v->k && !row;
			for (size_t j = 0; !bad && j < v->k; j++)
				bad |= json_array_append_new(row, json_pack("[I, o]", (json_int_t)v->top_id[i * v->k + j],
									    rec_json_real(v->top_logprob[i * v->k + j]))) != 0;
			if (row)
				bad |= json_array_append_new(top, row) != 0;
		}
		if (!bad) {
			bad |= rec_put(o, "tokens", toks);
			bad |= rec_put(o, "logprob", lps);
			bad |= rec_put(o, "k", json_integer((json_int_t)v->k));
			if (top)
				bad |= rec_put(o, "topk", top);
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

int rec_token_logprobs_from_json(const json_t *arr, size_t n_choices, struct rec_token_logprobs **out,
				 const char *where, const char *path, struct mrl_err *err)
{
	char p[256];
	int rc = 0;
	*out = NULL;
	if (!json_is_array(arr))
		return mrl_err_set(err, MRL_EINPUT, "%s: %s: expected an array, got %s", where, path, mrl_json_type_name(arr));
	if (json_array_size(arr) != n_choices)
		return mrl_err_set(err, MRL_EINPUT, "%s: %s: %zu entries for %zu choices", where, path,
				   json_array_size(arr), n_choices);
	struct rec_token_logprobs *lp = calloc(n_choices ? n_choices : 1, sizeof *lp);
	if (!lp)
		return mrl_err_set(err, MRL_ENOMEM, "%s: out of memory", where);
	for (size_t c = 0; c < n_choices && !rc; c++) {
		const json_t *o = json_array_get(arr, c);
		json_t *toks, *lps, *top = NULL;
		int64_t k = 0;
		mrl_json_path_index(p, sizeof p, path, c);
		if (json_is_null(o))
			continue; /* not stored for this choice */
		if (!json_is_object(o)) {
			rc = mrl_err_set(err, MRL_EINPUT, "%s: %s: expected an object, got %s", where, p, mrl_json_type_name(o));
			break;
		}
		if ((rc = mrl_json_get_array(o, "tokens", 0, &toks, where, p, err)) ||
		    (rc = mrl_json_get_array(o, "logprob", 0, &lps, where, p, err)) ||
		    (rc = mrl_json_get_int(o, "k", 0, &k, where, p, err)) ||
		    (rc = mrl_json_get_array(o, "topk", MRL_JSON_OPTIONAL, &top, where, p, err)))
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
				rc = mrl_err_set(err, MRL_EINPUT, "%s: %s/topk/%zu: expected %lld [id, logprob] pairs", where,
						 p, i, (long long)k);
		}
		if (rc)
			break;
		struct rec_token_logprobs *v = &lp[c];
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
				rc = mrl_err_set(err, MRL_EINPUT, "%s: %s/tokens/%zu: expected a token id (integer >= 0)",
						 where, p, i);
			else if (element_real(json_array_get(lps, i), &v->logprob[i]))
				rc = mrl_err_set(err, MRL_EINPUT, "%s: %s/logprob/%zu: expected a number", where, p, i);
			const json_t *row = top ? json_array_get(top, i) : NULL;
			for (size_t j = 0; !rc && j < v->k; j++) {
				const json_t *pair = json_array_get(row, j);
				if (!json_is_array(pair) || json_array_size(pair) != 2 ||
				    element_token(json_array_get(pair, 0), &v->top_id[i * v->k + j]) ||
				    element_real(json_array_get(pair, 1), &v->top_logprob[i * v->k + j]))
					rc = mrl_err_set(err, MRL_EINPUT, "%s: %s/topk/%zu/%zu: expected [id, logprob]",
							 where, p, i, j);
			}
		}
	}
	if (rc)
		rec_token_logprobs_free(lp, n_choices);
	else
		*out = lp;
	return rc;
}
