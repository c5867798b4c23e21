/* comparable.c — a run's score-changing settings in words (comparable.h): one
 * place that decides what "comparable runs" means, for the leaderboard's groups
 * and compare's gate. Every value is a string so that two runs compare setting
 * by setting and an output can print both values of a difference.
 */
#include "records/comparable.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
	S_SUITE, S_SHA, S_TASKS, S_LANGS, S_LIMIT, S_SAMPLE, S_FS_K, S_FS_SEED, S_FS_TASKS, S_BOS, S_TEMPLATE, S_CHAT, S_KV,
};

static const char *const names[REC_CMP_N_SETTINGS] = {
	"suite", "suite_sha256", "tasks", "languages", "limit", "sample", "fewshot", "fewshot_seed", "fewshot_tasks",
	"bos_mode", "template_version", "chat_template", "kv_cache",
};

const char *rec_comparable_names(void)
{
	return "suite, suite_sha256, tasks, languages, limit, sample, fewshot, fewshot_seed, fewshot_tasks, bos_mode, "
	       "template_version, chat_template, kv_cache";
}

static int set(struct rec_comparable *c, int i, const char *value, bool recorded)
{
	c->s[i].recorded = recorded && value;
	c->s[i].value = strdup(value && recorded ? value : REC_CMP_NOT_RECORDED);
	return c->s[i].value ? 0 : MRL_ENOMEM;
}

static int cmp_str(const void *a, const void *b);

/* The list as one value, its items joined by commas, sorted where sorted is set (the tasks:
 * a run's order is --tasks's, which changes no score; the languages come in the suite's
 * order whatever --lang's was). */
static int set_list(struct rec_comparable *c, int i, char *const *items, size_t n, bool sorted)
{
	struct mrl_buf b;
	mrl_buf_init(&b);
	char **v = n ? malloc(n * sizeof *v) : NULL;
	if (n && !v)
		return MRL_ENOMEM;
	if (n)
		memcpy(v, items, n * sizeof *v);
	if (n && sorted)
		qsort(v, n, sizeof *v, cmp_str);
	for (size_t k = 0; k < n; k++)
		mrl_buf_addf(&b, "%s%s", k ? "," : "", v[k]);
	int rc = b.oom ? MRL_ENOMEM : set(c, i, n ? b.data : NULL, n > 0);
	mrl_buf_release(&b);
	free(v);
	return rc;
}

/* settings.extra.<key> as text (a string as is, a number or object as JSON). */
static int set_extra(struct rec_comparable *c, int i, const json_t *extra, const char *key)
{
	const json_t *v = extra ? json_object_get(extra, key) : NULL;
	if (!v || json_is_null(v))
		return set(c, i, NULL, false);
	if (json_is_string(v))
		return set(c, i, json_string_value(v), true);
	char *text = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
	int rc = text ? set(c, i, text, true) : MRL_ENOMEM;
	free(text);
	return rc;
}

/* --sample: "N (seed S)" or "P% (seed S)", or "none" (a run before --sample existed drew
 * none either). */
static int set_sample(struct rec_comparable *c, const json_t *extra)
{
	const json_t *o = extra ? json_object_get(extra, "sample") : NULL;
	const json_t *n = json_object_get(o, "n"), *pct = json_object_get(o, "percent"), *seed = json_object_get(o, "seed");
	char buf[64] = "none";
	if (json_is_integer(n) && json_is_integer(seed) && !pct)
		snprintf(buf, sizeof buf, "%" JSON_INTEGER_FORMAT " (seed %" JSON_INTEGER_FORMAT ")", json_integer_value(n),
			 json_integer_value(seed));
	else if (json_is_integer(pct) && json_is_integer(seed) && !n)
		snprintf(buf, sizeof buf, "%" JSON_INTEGER_FORMAT "%% (seed %" JSON_INTEGER_FORMAT ")",
			 json_integer_value(pct), json_integer_value(seed));
	else if (o && !json_is_null(o))
		snprintf(buf, sizeof buf, "?");
	return set(c, S_SAMPLE, buf, true);
}

/* The chat template, with the thinking mode where the template has Qwen3's switch
 * ("chatml, thinking off"): the two modes score differently. */
static int set_chat(struct rec_comparable *c, const json_t *extra)
{
	const char *think = extra ? json_string_value(json_object_get(extra, "thinking")) : NULL;
	const char *chat = extra ? json_string_value(json_object_get(extra, "chat_template")) : NULL;
	/* --chat-multiple-choice: recorded only where given, so earlier runs read as before */
	const bool mc = extra && json_is_true(json_object_get(extra, "chat_multiple_choice"));
	if (!chat || (!think && !mc))
		return set_extra(c, S_CHAT, extra, "chat_template");
	char buf[192];
	const json_t *budget = json_object_get(extra, "thinking_budget");
	if (!think)
		snprintf(buf, sizeof buf, "%.64s", chat);
	else if (json_is_integer(budget))
		snprintf(buf, sizeof buf, "%.64s, thinking %.8s, budget %" JSON_INTEGER_FORMAT, chat, think,
			 json_integer_value(budget));
	else
		snprintf(buf, sizeof buf, "%.64s, thinking %.8s", chat, think);
	if (mc)
		strcat(buf, ", multiple choice too");
	return set(c, S_CHAT, buf, true);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static json_int_t task_k(const json_t *fs, const char *task)
{
	return json_integer_value(json_object_get(json_object_get(fs, task), "k"));
}

/* The few-shot k every item got, in words: each task's effective k from
 * settings.fewshot ("2" when they agree, else "task=k,..." by task name), else
 * (a run without that object) settings.fewshot_k, null counting as 0. A run given
 * --fewshot 2 and one that used a suite's own k = 2 both say "2". *any is set when
 * some task draws examples. NULL when out of memory. */
static char *fewshot_k_text(const struct rec_settings *st, bool *any)
{
	const json_t *fs = st->extra ? json_object_get(st->extra, "fewshot") : NULL;
	size_t n = json_is_object(fs) ? json_object_size(fs) : 0, i = 0;
	const char **tasks = n ? malloc(n * sizeof *tasks) : NULL;
	if (n && !tasks)
		return NULL;
	const char *task;
	json_t *v;
	bool per_task = n > 0, same = true;
	json_object_foreach((json_t *)fs, task, v) {
		per_task &= json_is_integer(json_object_get(v, "k"));
		if (i < n)
			tasks[i++] = task;
	}
	struct mrl_buf b;
	mrl_buf_init(&b);
	*any = false;
	if (per_task) {
		qsort(tasks, n, sizeof *tasks, cmp_str);
		for (i = 0; i < n; i++) {
			same &= task_k(fs, tasks[i]) == task_k(fs, tasks[0]);
			*any |= task_k(fs, tasks[i]) > 0;
		}
		if (same)
			mrl_buf_addf(&b, "%lld", (long long)task_k(fs, tasks[0]));
		for (i = 0; !same && i < n; i++)
			mrl_buf_addf(&b, "%s%s=%lld", i ? "," : "", tasks[i], (long long)task_k(fs, tasks[i]));
	} else {
		*any = st->fewshot_k > 0;
		mrl_buf_addf(&b, "%lld", (long long)(*any ? st->fewshot_k : 0));
	}
	free(tasks);
	return mrl_buf_detach(&b, NULL);
}

int64_t rec_comparable_fewshot_k(const struct rec_results *r)
{
	bool any;
	char *text = fewshot_k_text(&r->settings, &any), *end = NULL;
	long long k = text ? strtoll(text, &end, 10) : -1;
	if (!text || *end)
		k = -1;
	free(text);
	return k;
}

/* The few-shot seed: settings.fewshot_seed, else the first task's in
 * settings.fewshot (run records null at the top when each task has its own). */
static void fewshot_seed(const struct rec_settings *st, bool any, char *seed, size_t size)
{
	const json_t *fs = st->extra ? json_object_get(st->extra, "fewshot") : NULL;
	snprintf(seed, size, "-");
	if (any && st->fewshot_seed >= 0) {
		snprintf(seed, size, "%lld", (long long)st->fewshot_seed);
	} else if (any && json_is_object(fs)) {
		const char *task;
		json_t *v;
		json_object_foreach((json_t *)fs, task, v)
			if (json_is_integer(json_object_get(v, "seed"))) {
				snprintf(seed, size, "%lld", (long long)json_integer_value(json_object_get(v, "seed")));
				break;
			}
	}
}

int rec_comparable_init(struct rec_comparable *c, const struct rec_results *r)
{
	memset(c, 0, sizeof *c);
	for (size_t i = 0; i < REC_CMP_N_SETTINGS; i++)
		c->s[i].name = names[i];
	const struct rec_settings *st = &r->settings;
	bool any = false;
	char *kbuf = fewshot_k_text(st, &any);
	char limit[32] = "all", seed[32];
	if (st->limit > 0)
		snprintf(limit, sizeof limit, "%lld", (long long)st->limit);
	fewshot_seed(st, any, seed, sizeof seed);
	const json_t *fs = st->extra ? json_object_get(st->extra, "fewshot") : NULL;
	char *fs_text = json_is_object(fs) ? json_dumps(fs, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	int rc = set(c, S_SUITE, r->suite.name ? r->suite.name : "?", r->suite.name != NULL);
	rc = rc ? rc : set(c, S_SHA, r->suite.sha256 ? r->suite.sha256 : "?", r->suite.sha256 != NULL);
	/* the tasks that were scored: a run made before 2026-12-06 with --lang over the whole suite
	 * recorded the tasks that have none of its languages too (0 units); runs since leave them out */
	char **scored = calloc(st->n_tasks + 1, sizeof *scored);
	size_t n_scored = 0;
	for (size_t t = 0; scored && t < st->n_tasks; t++) {
		bool any = !r->n_aggregates; /* no aggregates at all: the list as recorded */
		for (size_t a = 0; a < r->n_aggregates && !any; a++)
			any = r->aggregates[a].task && !strcmp(r->aggregates[a].task, st->tasks[t]);
		if (any)
			scored[n_scored++] = st->tasks[t];
	}
	rc = rc ? rc : scored ? set_list(c, S_TASKS, scored, n_scored, true) : MRL_ENOMEM;
	free(scored);
	rc = rc ? rc : set_list(c, S_LANGS, st->languages, st->n_languages, false);
	rc = rc ? rc : set(c, S_LIMIT, limit, true);
	rc = rc ? rc : set_sample(c, st->extra);
	rc = rc ? rc : kbuf ? set(c, S_FS_K, kbuf, true) : MRL_ENOMEM;
	rc = rc ? rc : set(c, S_FS_SEED, seed, true);
	rc = rc ? rc : set(c, S_FS_TASKS, fs_text, fs_text != NULL);
	rc = rc ? rc : set(c, S_BOS, st->bos_mode, st->bos_mode != NULL);
	rc = rc ? rc : set_extra(c, S_TEMPLATE, st->extra, "template_version");
	rc = rc ? rc : set_chat(c, st->extra);
	rc = rc ? rc : set_extra(c, S_KV, st->extra, "kv_cache");
	free(fs_text);
	free(kbuf);
	return rc;
}

void rec_comparable_release(struct rec_comparable *c)
{
	for (size_t i = 0; i < REC_CMP_N_SETTINGS; i++)
		free(c->s[i].value);
	memset(c, 0, sizeof *c);
}

const struct rec_cmp_setting *rec_comparable_get(const struct rec_comparable *c, const char *name)
{
	for (size_t i = 0; i < REC_CMP_N_SETTINGS; i++)
		if (!strcmp(names[i], name))
			return &c->s[i];
	return NULL;
}

bool rec_comparable_differs(const struct rec_comparable *a, const struct rec_comparable *b, size_t i)
{
	if (i >= REC_CMP_N_SETTINGS || !a->s[i].recorded || !b->s[i].recorded)
		return false;
	return strcmp(a->s[i].value, b->s[i].value) != 0;
}

bool rec_comparable_compatible(const struct rec_comparable *a, const struct rec_comparable *b)
{
	for (size_t i = 0; i < REC_CMP_N_SETTINGS; i++)
		if (rec_comparable_differs(a, b, i))
			return false;
	return true;
}

int rec_comparable_adopt(struct rec_comparable *into, const struct rec_comparable *from)
{
	for (size_t i = 0; i < REC_CMP_N_SETTINGS; i++) {
		if (into->s[i].recorded || !from->s[i].recorded)
			continue;
		char *v = strdup(from->s[i].value);
		if (!v)
			return MRL_ENOMEM;
		free(into->s[i].value);
		into->s[i].value = v;
		into->s[i].recorded = true;
	}
	return 0;
}

void rec_comparable_key(const struct rec_comparable *c, struct mrl_buf *key)
{
	for (size_t i = 0; i < REC_CMP_N_SETTINGS; i++)
		mrl_buf_addf(key, "%s%s", i ? "\x1f" : "", c->s[i].value ? c->s[i].value : "");
}

void rec_comparable_describe(const struct rec_comparable *c, struct mrl_buf *desc)
{
	const struct rec_cmp_setting *s = c->s;
	mrl_buf_addf(desc, "suite %s (sha256 %.12s), tasks %s, languages %s", s[S_SUITE].value, s[S_SHA].value,
		     s[S_TASKS].value, s[S_LANGS].value);
	if (strcmp(s[S_LIMIT].value, "all"))
		mrl_buf_addf(desc, ", --limit %s", s[S_LIMIT].value);
	else
		mrl_buf_add(desc, strcmp(s[S_SAMPLE].value, "none") ? "" : ", all items");
	if (strcmp(s[S_SAMPLE].value, "none"))
		mrl_buf_addf(desc, ", --sample %s", s[S_SAMPLE].value);
	mrl_buf_addf(desc, ", few-shot %s", s[S_FS_K].value);
	if (strcmp(s[S_FS_K].value, "0"))
		mrl_buf_addf(desc, " (seed %s)", s[S_FS_SEED].value);
	mrl_buf_addf(desc, ", BOS %s", s[S_BOS].value);
	static const char *const words[] = { "template version", "chat template", "KV cache" };
	for (int i = S_TEMPLATE; i <= S_KV; i++)
		if (s[i].recorded)
			mrl_buf_addf(desc, ", %s %s", words[i - S_TEMPLATE], s[i].value);
}
