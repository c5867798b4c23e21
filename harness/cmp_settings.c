/* cmp_settings.c — merilo compare's comparability check: a gate compares like
 * with like. Two runs are comparable when every score-changing setting
 * (records/comparable.h, the leaderboard's grouping) is the same and the
 * candidate covers every item the base scored; each difference is reported
 * with both values, and blocks the gate ("not comparable", exit 3) unless
 * --allow-different names it. Rules: docs/compare.md "Comparability".
 */
#include "harness/cmp_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The difference that is not a setting: the candidate lacks items the base has. */
#define ITEMS "items"

/* Does the comma-separated list name setting? "suite" covers suite_sha256 and
 * "fewshot" its seed and per-task settings. */
static bool list_names(const char *list, const char *setting)
{
	const char *implied = !strcmp(setting, "suite_sha256")                                    ? "suite"
			      : !strcmp(setting, "fewshot_seed") || !strcmp(setting, "fewshot_tasks") ? "fewshot"
												      : NULL;
	for (const char *p = list; p && *p;) {
		size_t n = strcspn(p, ",");
		if ((strlen(setting) == n && !strncmp(p, setting, n)) ||
		    (implied && strlen(implied) == n && !strncmp(p, implied, n)))
			return true;
		p += n + (p[n] == ',');
	}
	return false;
}

int hrn_cmp_allow_check(const char *list, struct mrl_err *err)
{
	struct rec_comparable none;
	memset(&none, 0, sizeof none);
	for (const char *p = list; *p;) {
		size_t n = strcspn(p, ",");
		char name[64];
		snprintf(name, sizeof name, "%.*s", (int)n, p);
		bool known = !strcmp(name, ITEMS) || rec_comparable_get(&none, name);
		if (n && !known)
			return mrl_err_set(err, MRL_EINPUT, "--allow-different: '%s' is not a setting (valid: %s, %s)", name,
					   rec_comparable_names(), ITEMS);
		p += n + (p[n] == ',');
	}
	return 0;
}

static bool allowed(const struct cmp_opts *o, const char *setting)
{
	if (o->allow_different_suites && (!strcmp(setting, "suite") || !strcmp(setting, "suite_sha256")))
		return true;
	return list_names(o->allow_different, setting);
}

/* Items the base scored that the candidate did not (both arrays sorted by
 * task, language, item id). */
static size_t base_only_items(const struct cmp_state *st)
{
	const struct rec_item **B = st->base_sorted, **C = st->cand_sorted;
	size_t nb = st->base_i.n, nc = st->cand_i.n, i = 0, j = 0, missing = 0;
	while (i < nb) {
		int c = j == nc ? -1 : hrn_cmp_group_cmp(B[i], C[j]);
		if (!c)
			c = strcmp(B[i]->item_id, C[j]->item_id);
		if (c < 0) {
			missing++;
			i++;
		} else {
			j++;
			i += c == 0;
		}
	}
	return missing;
}

static int add_diff(struct cmp_state *st, const struct cmp_opts *o, const char *setting, const char *base,
		    const char *cand)
{
	bool ok = allowed(o, setting);
	st->diffs[st->n_diffs++] = (struct rpt_cmp_difference){ setting, base, cand, ok };
	return hrn_cmp_add_note(st, "the runs differ in %s (base %s, candidate %s)%s", setting, base, cand,
				ok ? ": allowed by --allow-different, so the comparison may mix effects of that setting"
				   : ": not comparable");
}

int hrn_cmp_settings(struct cmp_state *st, const struct cmp_opts *o, struct mrl_err *err)
{
	int rc = rec_comparable_init(&st->base_c, &st->base_r);
	if (!rc)
		rc = rec_comparable_init(&st->cand_c, &st->cand_r);
	if (rc)
		return mrl_err_set(err, MRL_ENOMEM, "out of memory");
	bool k_differs = false;
	for (size_t i = 0; i < REC_CMP_N_SETTINGS; i++) {
		if (!rec_comparable_differs(&st->base_c, &st->cand_c, i))
			continue;
		const struct rec_cmp_setting *b = &st->base_c.s[i], *c = &st->cand_c.s[i];
		/* another few-shot k implies another seed and per-task settings: one difference, not three */
		k_differs |= !strcmp(b->name, "fewshot");
		if (k_differs && (!strcmp(b->name, "fewshot_seed") || !strcmp(b->name, "fewshot_tasks")))
			continue;
		if ((rc = add_diff(st, o, b->name, b->value, c->value)))
			return mrl_err_set(err, rc, "out of memory");
	}
	size_t missing = base_only_items(st);
	if (missing) {
		snprintf(st->items_base, sizeof st->items_base, "%zu items", st->base_i.n);
		snprintf(st->items_cand, sizeof st->items_cand, "%zu of them (%zu missing)", st->base_i.n - missing,
			 missing);
		if ((rc = add_diff(st, o, ITEMS, st->items_base, st->items_cand)))
			return mrl_err_set(err, rc, "out of memory");
	}
	return 0;
}

void hrn_cmp_settings_release(struct cmp_state *st)
{
	rec_comparable_release(&st->base_c);
	rec_comparable_release(&st->cand_c);
	st->n_diffs = 0;
}
