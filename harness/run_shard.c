/* run_shard.c — which units shard I of N evaluates.
 *
 * The cost of a unit is estimated from its plan, in bytes of the text it scores:
 * tokens are not known before the model's tokenizer has run, and bytes keep the
 * partition independent of the model (two models on one suite split alike). The
 * units are dealt out longest-processing-time first (largest cost first, each to
 * the least loaded shard), which keeps every shard within one unit's cost of the
 * mean; all comparisons are on integers with ties broken by run order and shard
 * number, so every machine computes the same partition.
 */
#include "harness/shard.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness/run.h"

static int parse_size(const char *s, size_t *out)
{
	char *end;
	if (!s || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || *end || v > HRN_SHARD_MAX * 1000ULL)
		return -1;
	*out = (size_t)v;
	return 0;
}

static int parse_auto(size_t *index, size_t *count, char *why, size_t why_size)
{
	const char *id = getenv("SLURM_ARRAY_TASK_ID"), *n = getenv("SLURM_ARRAY_TASK_COUNT"),
		   *min = getenv("SLURM_ARRAY_TASK_MIN");
	size_t v_id, v_n, v_min = 0;
	if (!id || !n) {
		snprintf(why, why_size, "--shard auto needs SLURM_ARRAY_TASK_ID and SLURM_ARRAY_TASK_COUNT (set by sbatch "
					"--array); %s is not set", !id ? "SLURM_ARRAY_TASK_ID" : "SLURM_ARRAY_TASK_COUNT");
		return -1;
	}
	if (parse_size(id, &v_id) || parse_size(n, &v_n) || (min && parse_size(min, &v_min))) {
		snprintf(why, why_size, "--shard auto: SLURM_ARRAY_TASK_ID=%s, SLURM_ARRAY_TASK_COUNT=%s, "
					"SLURM_ARRAY_TASK_MIN=%s are not all non-negative integers", id, n, min ? min : "(unset)");
		return -1;
	}
	if (v_id < v_min || v_n < 1 || v_n > HRN_SHARD_MAX || v_id - v_min >= v_n) {
		snprintf(why, why_size, "--shard auto: SLURM_ARRAY_TASK_ID=%s is not one of the %s tasks of an array starting "
					"at %zu (submit with sbatch --array=0-N-1, N <= %d)", id, n, v_min, HRN_SHARD_MAX);
		return -1;
	}
	*index = v_id - v_min + 1;
	*count = v_n;
	return 0;
}

int hrn_shard_parse(const char *arg, size_t *index, size_t *count, char *why, size_t why_size)
{
	if (!strcmp(arg, "auto"))
		return parse_auto(index, count, why, why_size);
	const char *slash = strchr(arg, '/');
	char head[32];
	size_t i, n;
	if (!slash || (size_t)(slash - arg) >= sizeof head) {
		snprintf(why, why_size, "--shard wants I/N (e.g. 2/8) or auto, not '%s'", arg);
		return -1;
	}
	memcpy(head, arg, (size_t)(slash - arg));
	head[slash - arg] = '\0';
	if (parse_size(head, &i) || parse_size(slash + 1, &n)) {
		snprintf(why, why_size, "--shard wants I/N (e.g. 2/8) or auto, not '%s'", arg);
		return -1;
	}
	if (n < 1 || n > HRN_SHARD_MAX || i < 1 || i > n) {
		snprintf(why, why_size, "--shard %s: I/N needs 1 <= I <= N <= %d", arg, HRN_SHARD_MAX);
		return -1;
	}
	*index = i;
	*count = n;
	return 0;
}

json_t *hrn_shard_json(size_t index, size_t count)
{
	return json_pack("{s:I, s:I}", "index", (json_int_t)index, "count", (json_int_t)count);
}

int hrn_shard_from_settings(const json_t *settings, size_t *index, size_t *count)
{
	const json_t *s = json_object_get(settings, "shard");
	const json_t *i = json_object_get(s, "index"), *n = json_object_get(s, "count");
	if (!json_is_integer(i) || !json_is_integer(n))
		return -1;
	json_int_t vi = json_integer_value(i), vn = json_integer_value(n);
	if (vn < 1 || vn > HRN_SHARD_MAX || vi < 1 || vi > vn)
		return -1;
	*index = (size_t)vi;
	*count = (size_t)vn;
	return 0;
}

/* A unit's estimated cost, bytes of text scored. */
static int unit_cost(const struct hrn_run_cfg *cfg, const struct hrn_unit *u, uint64_t *cost, struct mrl_err *err)
{
	int rc;
	*cost = 0;
	if (task_type(u->task) == TASK_MULTIPLE_CHOICE) {
		struct task_mc_plan p;
		if (!(rc = hrn_run_mc_plan(cfg, u->task, u->item_idx, u->lang, &p, err))) {
			uint64_t cont = 0;
			for (size_t j = 0; j < p.n_choices; j++)
				cont += strlen(p.choices[j].text) - p.choices[j].context_len;
			*cost = p.context_len + cont * (p.mutual_info ? 2 : 1);
		}
		task_mc_plan_release(&p);
	} else {
		struct task_ppl_plan p;
		if (!(rc = hrn_run_ppl_plan(cfg, u->task, u->item_idx, u->lang, &p, err)))
			*cost = strlen(p.text);
		task_ppl_plan_release(&p);
	}
	*cost += 1; /* an empty text still costs a forward pass */
	return rc;
}

struct costed {
	uint64_t cost;
	size_t order; /* run order */
	size_t task, item, lang;
};

static int by_cost_desc(const void *a, const void *b)
{
	const struct costed *x = a, *y = b;
	if (x->cost != y->cost)
		return x->cost > y->cost ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

/* One mask per task, all zero. */
static int alloc_masks(const struct hrn_run_cfg *cfg, struct hrn_shard *s, struct mrl_err *err)
{
	if (!(s->in = calloc(cfg->n_tasks + 1, sizeof *s->in)) || !(s->n_langs = calloc(cfg->n_tasks + 1, sizeof *s->n_langs)))
		return mrl_err_set(err, MRL_ENOMEM, "out of memory");
	s->n_tasks = cfg->n_tasks;
	for (size_t t = 0; t < cfg->n_tasks; t++) {
		s->n_langs[t] = task_n_languages(cfg->tasks[t]);
		const size_t n = task_n_items(cfg->tasks[t]) * s->n_langs[t];
		if (!(s->in[t] = calloc(n + 1, 1)))
			return mrl_err_set(err, MRL_ENOMEM, "out of memory");
	}
	return 0;
}

int hrn_shard_plan(const struct hrn_run_cfg *cfg, size_t index, size_t count, struct hrn_shard *s,
		   struct mrl_err *err)
{
	struct hrn_run_cfg all = *cfg;
	all.shard = NULL;
	memset(s, 0, sizeof *s);
	s->index = index;
	s->count = count;
	struct costed *v = NULL;
	uint64_t *load = calloc(count, sizeof *load);
	size_t n = 0, cap = 0;
	struct hrn_units units;
	struct hrn_unit u;
	int rc = load ? alloc_masks(&all, s, err) : mrl_err_set(err, MRL_ENOMEM, "out of memory");
	hrn_units_init(&units, &all);
	while (!rc && hrn_units_next(&units, &u)) {
		if (n == cap) {
			struct costed *nv = realloc(v, (cap = cap ? 2 * cap : 256) * sizeof *v);
			if (!nv) {
				rc = mrl_err_set(err, MRL_ENOMEM, "out of memory");
				break;
			}
			v = nv;
		}
		v[n] = (struct costed){ .order = n, .task = u.task_idx, .item = u.item_idx, .lang = u.lang_idx };
		rc = unit_cost(&all, &u, &v[n].cost, err);
		s->cost_all += v[n].cost;
		n++;
	}
	if (!rc && n)
		qsort(v, n, sizeof *v, by_cost_desc);
	for (size_t k = 0; !rc && k < n; k++) {
		size_t best = 0;
		for (size_t j = 1; j < count; j++)
			if (load[j] < load[best])
				best = j;
		load[best] += v[k].cost;
		if (best + 1 != index)
			continue;
		s->in[v[k].task][v[k].item * s->n_langs[v[k].task] + v[k].lang] = 1;
		s->n_units++;
		s->cost += v[k].cost;
	}
	s->n_units_all = n;
	free(v);
	free(load);
	if (rc)
		hrn_shard_release(s);
	return rc;
}

void hrn_shard_release(struct hrn_shard *s)
{
	for (size_t t = 0; s->in && t < s->n_tasks; t++)
		free(s->in[t]);
	free(s->in);
	free(s->n_langs);
	memset(s, 0, sizeof *s);
}
