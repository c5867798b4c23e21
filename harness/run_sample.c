/* run_sample.c — `merilo run --sample N` or `P%` (harness/sample.h): N items (P% of the
 * items) of each task, drawn with the run seed and stratified by the task's breakdown.
 *
 * --limit N takes a task's first N items, which for a suite stored by category
 * (MMLU-ProX, INCLUDE) is a few whole categories. A sample keeps every category
 * in it and each in proportion, and is the same for every --lang and --shard of
 * the run, so that runs with the same N and seed pair item by item. The selection
 * is written down exactly in docs/evaluation.md ("Sampling items").
 */
#include "harness/sample.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/options.h"
#include "common/rng.h"

struct keyed {
	const char *value; /* the item's breakdown value ("" without one) */
	size_t item;       /* its index in the task */
};

struct group {
	size_t first, n;   /* its items: keyed[first .. first + n) */
	uint64_t quota;    /* items taken */
	uint64_t rem;      /* remainder of the proportional share, for the largest-remainder rule */
	size_t order;      /* its number: 0, 1, ... in byte order of the value */
};

static int by_value(const void *a, const void *b)
{
	const struct keyed *x = a, *y = b;
	int c = strcmp(x->value, y->value);
	return c ? c : (x->item > y->item) - (x->item < y->item);
}

static int by_remainder(const void *a, const void *b)
{
	const struct group *x = a, *y = b;
	if (x->rem != y->rem)
		return x->rem > y->rem ? -1 : 1;
	return (x->order > y->order) - (x->order < y->order);
}

static int by_order(const void *a, const void *b)
{
	const struct group *x = a, *y = b;
	return (x->order > y->order) - (x->order < y->order);
}

static uint64_t fnv1a64(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
	return h;
}

/* An item's breakdown value ("" without one). */
static const char *item_value(const struct task_task *t, const struct task_item *it)
{
	const char *v = task_item_breakdown(t, it);
	return v ? v : "";
}

/* Share n out over the groups: one each first where n allows, the rest in proportion to
 * what is left of each (largest remainder). g is in order of value on return. */
static void apportion(struct group *g, size_t n_groups, size_t n_items, uint64_t n)
{
	const bool one_each = n >= n_groups;
	const uint64_t base = one_each ? 1 : 0, m = n - base * n_groups, total = n_items - base * n_groups;
	uint64_t given = 0;
	for (size_t k = 0; k < n_groups; k++) {
		const uint64_t size = g[k].n - base, share = m * size; /* m, size < 2^32 */
		g[k].quota = base + share / total;
		g[k].rem = share % total;
		given += share / total;
	}
	qsort(g, n_groups, sizeof *g, by_remainder);
	for (size_t k = 0; given < m && k < n_groups; k++, given++)
		g[k].quota++;
	qsort(g, n_groups, sizeof *g, by_order);
}

/* One task's sample into in[0..n_items); *n_values and *n_values_in for the note. */
static int plan_task(const struct task_task *t, struct hrn_sample_spec spec, uint64_t seed, uint8_t *in, size_t *n_in,
		     size_t *n_values, size_t *n_values_in)
{
	const size_t ni = task_n_items(t);
	const uint64_t n = hrn_sample_size(spec, ni);
	struct keyed *k = malloc((ni + 1) * sizeof *k);
	struct group *g = malloc((ni + 1) * sizeof *g);
	if (!k || !g) {
		free(k);
		free(g);
		return MRL_ENOMEM;
	}
	for (size_t i = 0; i < ni; i++)
		k[i] = (struct keyed){ .value = item_value(t, task_item_at(t, i)), .item = i };
	qsort(k, ni, sizeof *k, by_value);
	size_t n_groups = 0;
	for (size_t i = 0; i < ni; i++) {
		if (!i || strcmp(k[i].value, k[i - 1].value))
			g[n_groups] = (struct group){ .first = i, .order = n_groups }, n_groups++;
		g[n_groups - 1].n++;
	}
	*n_values = task_breakdown(t) ? n_groups : 0;
	*n_values_in = *n_values;
	*n_in = ni;
	if (n >= ni) { /* every item */
		memset(in, 1, ni);
		goto out;
	}
	apportion(g, n_groups, ni, n);
	const uint64_t task_seed = seed ^ fnv1a64(task_id(t));
	*n_in = 0;
	for (size_t q = 0; q < n_groups; q++) {
		struct keyed *v = k + g[q].first; /* in item order within the group */
		struct mrl_rng rng;
		mrl_rng_seed_stream(&rng, task_seed, q);
		for (size_t j = 0; j < g[q].quota; j++) {
			const size_t r = j + (size_t)mrl_rng_below(&rng, g[q].n - j);
			const struct keyed tmp = v[j];
			v[j] = v[r];
			v[r] = tmp;
			in[v[j].item] = 1;
		}
		*n_in += g[q].quota;
		*n_values_in -= task_breakdown(t) && !g[q].quota;
	}
out:
	free(k);
	free(g);
	return 0;
}

int hrn_sample_parse(const char *arg, struct hrn_sample_spec *sp)
{
	char *end;
	errno = 0;
	if (!arg || !isdigit((unsigned char)*arg))
		return -1;
	const unsigned long long v = strtoull(arg, &end, 10);
	if (errno || v < 1)
		return -1;
	if (!strcmp(end, "%") && v <= 99) {
		*sp = (struct hrn_sample_spec){ .pct = (unsigned)v };
		return 0;
	}
	if (*end || v > INT32_MAX)
		return -1;
	*sp = (struct hrn_sample_spec){ .n = v };
	return 0;
}

int hrn_opt_sample(const struct mrl_option *opt, const char *arg, struct mrl_err *err)
{
	if (hrn_sample_parse(arg, opt->value))
		return mrl_err_set(err, MRL_EINPUT, "--%s wants a count of items (7) or a whole percentage of each task's "
				   "items (10%%, 1%% to 99%%), not '%s'", opt->long_name, arg);
	return 0;
}

int hrn_opt_limit(const struct mrl_option *opt, const char *arg, struct mrl_err *err)
{
	char *end;
	errno = 0;
	const long long v = isdigit((unsigned char)*arg) ? strtoll(arg, &end, 10) : -1;
	if (v >= 0 && !errno && !*end && v <= INT32_MAX) {
		*(long *)opt->value = (long)v;
		return 0;
	}
	double share = strtod(arg, &end);
	if (v >= 0 && *end == '%' && !end[1])
		share /= 100;
	else if (*end || !(share > 0 && share < 1))
		share = 0;
	if (share > 0 && share < 1) {
		const long pct = lround(share * 100) > 1 ? lround(share * 100) : 1;
		return mrl_err_set(err, MRL_EINPUT, "--%s takes a count of items (each task's first N), not a share "
				   "('%s'); to draw %ld%% of each task's items, --sample %ld%%", opt->long_name, arg, pct, pct);
	}
	return mrl_err_set(err, MRL_EINPUT, "--%s wants a count of items, 0 to %d, not '%s'", opt->long_name, INT32_MAX,
			   arg);
}

const char *hrn_sample_str(struct hrn_sample_spec sp, char *buf, size_t size)
{
	if (sp.pct)
		snprintf(buf, size, "%u%%", sp.pct);
	else
		snprintf(buf, size, "%llu", (unsigned long long)sp.n);
	return buf;
}

uint64_t hrn_sample_size(struct hrn_sample_spec sp, size_t n_items)
{
	if (!sp.pct)
		return sp.n < n_items ? sp.n : n_items;
	const uint64_t n = ((uint64_t)n_items * sp.pct + 50) / 100;
	return n ? n : 1;
}

int hrn_sample_plan(const struct task_task *const *tasks, size_t n_tasks, struct hrn_sample_spec spec, uint64_t seed,
		    struct hrn_sample *s, struct mrl_err *err)
{
	*s = (struct hrn_sample){ .spec = spec, .seed = seed, .n_tasks = n_tasks };
	int rc = (s->in = calloc(n_tasks + 1, sizeof *s->in)) && (s->n_in = calloc(n_tasks + 1, sizeof *s->n_in)) &&
				 (s->n_values = calloc(n_tasks + 1, sizeof *s->n_values)) &&
				 (s->n_values_in = calloc(n_tasks + 1, sizeof *s->n_values_in))
			 ? 0
			 : MRL_ENOMEM;
	for (size_t t = 0; !rc && t < n_tasks; t++) {
		if (!(s->in[t] = calloc(task_n_items(tasks[t]) + 1, 1)))
			rc = MRL_ENOMEM;
		else
			rc = plan_task(tasks[t], spec, seed, s->in[t], &s->n_in[t], &s->n_values[t], &s->n_values_in[t]);
	}
	if (rc) {
		hrn_sample_release(s);
		return mrl_err_set(err, MRL_ENOMEM, "out of memory drawing the --sample");
	}
	return 0;
}

void hrn_sample_note(FILE *out, const struct hrn_sample *s, const struct task_task *const *tasks)
{
	char spec[32];
	for (size_t t = 0; t < s->n_tasks; t++)
		if (s->n_values_in[t] < s->n_values[t])
			fprintf(out, "merilo run: note: --sample %s takes %zu of task '%s''s %zu items, fewer than its %zu "
				"\"%s\" values: %zu of them have an item in the sample\n", hrn_sample_str(s->spec, spec, sizeof spec),
				s->n_in[t], task_id(tasks[t]), task_n_items(tasks[t]), s->n_values[t], task_breakdown(tasks[t]),
				s->n_values_in[t]);
}

json_t *hrn_sample_json(struct hrn_sample_spec spec, uint64_t seed)
{
	return json_pack("{s:I, s:I}", spec.pct ? "percent" : "n", (json_int_t)(spec.pct ? spec.pct : spec.n), "seed",
			 (json_int_t)seed);
}

int hrn_sample_from_json(const json_t *extra, struct hrn_sample_spec *spec, uint64_t *seed)
{
	const json_t *o = json_object_get(extra, "sample");
	if (!o || json_is_null(o))
		return 0;
	const json_t *jn = json_object_get(o, "n"), *jp = json_object_get(o, "percent"), *js = json_object_get(o, "seed");
	if (!json_is_integer(js) || json_integer_value(js) < 0 || !jn == !jp)
		return -1;
	if (jn && (!json_is_integer(jn) || json_integer_value(jn) < 1 || json_integer_value(jn) > INT32_MAX))
		return -1;
	if (jp && (!json_is_integer(jp) || json_integer_value(jp) < 1 || json_integer_value(jp) > 99))
		return -1;
	*spec = (struct hrn_sample_spec){ .n = jn ? (uint64_t)json_integer_value(jn) : 0,
					  .pct = jp ? (unsigned)json_integer_value(jp) : 0 };
	*seed = (uint64_t)json_integer_value(js);
	return 1;
}

json_t *hrn_sample_option_json(struct hrn_sample_spec spec)
{
	char buf[32];
	return spec.pct ? json_string(hrn_sample_str(spec, buf, sizeof buf)) : json_integer((json_int_t)spec.n);
}

int hrn_sample_from_option(const json_t *v, struct hrn_sample_spec *spec)
{
	if (json_is_integer(v)) {
		const json_int_t n = json_integer_value(v);
		if (n < 1 || n > INT32_MAX)
			return -1;
		*spec = (struct hrn_sample_spec){ .n = (uint64_t)n };
		return 0;
	}
	const char *s = json_string_value(v); /* a count is written as a number, never as a string */
	return s && strchr(s, '%') ? hrn_sample_parse(s, spec) : -1;
}

void hrn_sample_release(struct hrn_sample *s)
{
	for (size_t t = 0; s->in && t < s->n_tasks; t++)
		free(s->in[t]);
	free(s->in);
	free(s->n_in);
	free(s->n_values);
	free(s->n_values_in);
	memset(s, 0, sizeof *s);
}
