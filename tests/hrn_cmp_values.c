/* hrn_cmp_values.c — merilo compare by value of a task's breakdown (harness/cmp_values.c,
 * docs/compare.md "By value"), and on the language gaps (harness/cmp_gaps.c, "Language gaps").
 *
 * Two systems' answers are scored with `merilo score` on a suite made here: task "subj"
 * (breakdown "subject": A 60 items, B 60, C 4) and task "plain" (no breakdown), in en and
 * hr, every answer right in the base. The candidate gets every hr item of A wrong and two
 * of C's four. Then compare must split each whole comparison by value: six rows (two
 * languages x three values, acc), each over its value's items, with A/hr worse and
 * Holm-adjusted across those six alone (p_holm = 6 p for the smallest p), none gated, and
 * the gate's own family and outcome those of the whole rows. A run whose records carry no
 * values (made before merilo recorded them) gives a note and no split. The en - hr gap of subj
 * widens from 0 to 0.5 (hr lost 62 of 124 items), a row of a family of four (plain also runs
 * in bs, whose tag sorts before en: the gap is still en - bs), Holm across those four alone.
 * Runs the binary named by $MERILO (set by `make test`). */
#include "tests/tap.h"
#include "tests/cli.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static char tmp[256];

static const char *value_of(int i)
{
	return i < 60 ? "A" : i < 120 ? "B" : "C";
}

/* The suite: subj (124 items, subject A/B/C) and plain (10 items), en and hr, gold 0. */
static bool write_suite(void)
{
	json_t *subj = json_array(), *plain = json_array();
	for (int i = 0; i < 124; i++) {
		char id[16];
		snprintf(id, sizeof id, "s%03d", i);
		json_array_append_new(subj, json_pack("{s:s, s:i, s:{s:s, s:[s,s], s:s}, s:{s:s, s:[s,s], s:s}}", "id", id,
						      "gold", 0, "en", "question", id, "choices", "yes", "no", "subject",
						      value_of(i), "hr", "question", id, "choices", "da", "ne", "subject",
						      value_of(i)));
	}
	for (int i = 0; i < 10; i++) {
		char id[16];
		snprintf(id, sizeof id, "p%02d", i);
		json_array_append_new(plain, json_pack("{s:s, s:i, s:{s:s, s:[s,s]}, s:{s:s, s:[s,s]}, s:{s:s, s:[s,s]}}",
						       "id", id, "gold", 0, "en", "question", id, "choices", "yes", "no", "hr",
						       "question", id, "choices", "da", "ne", "bs", "question", id, "choices",
						       "da", "ne"));
	}
	json_t *tmpl = json_pack("{s:{s:s, s:s}, s:{s:s, s:s}}", "en", "context", "Q: {question}\nA:", "choice", "{choice}",
				 "hr", "context", "P: {question}\nO:", "choice", "{choice}");
	json_t *tmpl3 = json_deep_copy(tmpl);
	json_object_set(tmpl3, "bs", json_object_get(tmpl, "hr"));
	json_t *suite = json_pack(
		"{s:s, s:s, s:s, s:s, s:s, s:s, s:[{s:s, s:s, s:[s], s:s, s:[s,s], s:O, s:s, s:o}, {s:s, s:s, s:[s], s:[s,s,s], s:o, s:s, s:o}]}",
		"format", "merilo-suite/1", "name", "by-value", "version", "1", "description", "hrn_cmp_values",
		"source", "merilo tests", "license", "CC0-1.0", "tasks", "id", "subj", "type", "multiple_choice", "metrics",
		"acc", "breakdown", "subject", "languages", "en", "hr", "templates", tmpl, "target_delimiter", " ", "items",
		subj, "id", "plain", "type", "multiple_choice", "metrics", "acc", "languages", "bs", "en", "hr", "templates", tmpl3,
		"target_delimiter", " ", "items", plain);
	json_decref(tmpl);
	char path[512];
	snprintf(path, sizeof path, "%s/suite.json", tmp);
	bool ok_ = suite && !json_dump_file(suite, path, JSON_INDENT(1));
	json_decref(suite);
	return ok_;
}

/* Predictions: every answer right, but the candidate's hr answers to A and to C's first two. */
static bool write_predictions(const char *name, bool cand)
{
	char path[512];
	snprintf(path, sizeof path, "%s/%s.jsonl", tmp, name);
	FILE *f = fopen(path, "w");
	if (!f)
		return false;
	static const char *const langs[3] = { "en", "hr", "bs" };
	for (int l = 0; l < 3; l++) {
		for (int i = 0; i < 124 && l < 2; i++) {
			const bool wrong = cand && l == 1 && (i < 60 || i == 120 || i == 121);
			fprintf(f, "{\"task\": \"subj\", \"item\": \"s%03d\", \"language\": \"%s\", \"choice\": %d}\n", i, langs[l],
				wrong);
		}
		for (int i = 0; i < 10; i++)
			fprintf(f, "{\"task\": \"plain\", \"item\": \"p%02d\", \"language\": \"%s\", \"choice\": 0}\n", i, langs[l]);
	}
	return fclose(f) == 0;
}

static const json_t *find_row(const json_t *rows, const char *task, const char *lang, const char *value)
{
	size_t i;
	json_t *r;
	json_array_foreach(rows, i, r)
		if (!strcmp(json_string_value(json_object_get(r, "task")), task) &&
		    !strcmp(json_string_value(json_object_get(r, "language")), lang) &&
		    (!value || !strcmp(json_string_value(json_object_get(r, "value")), value)))
			return r;
	return NULL;
}

static void test_records(void)
{
	char path[512];
	snprintf(path, sizeof path, "%s/base/items.jsonl", tmp);
	char *text = cli_slurp(path);
	like(text, "\"task\":\"subj\",\"item\":\"s000\"", "the records read");
	/* every subj record names its subject; no plain record has the key */
	size_t n_subj = 0, n_named = 0, n_plain_named = 0;
	char *save = NULL;
	for (char *l = text ? strtok_r(text, "\n", &save) : NULL; l; l = strtok_r(NULL, "\n", &save)) {
		json_t *j = json_loads(l, 0, NULL);
		const char *task = json_string_value(json_object_get(j, "task"));
		const char *b = json_string_value(json_object_get(j, "breakdown"));
		int idx = atoi(json_string_value(json_object_get(j, "item")) + 1);
		if (task && !strcmp(task, "subj")) {
			n_subj++;
			n_named += b && !strcmp(b, value_of(idx));
		} else {
			n_plain_named += json_object_get(j, "breakdown") != NULL;
		}
		json_decref(j);
	}
	is_int((long long)n_subj, 248, "248 subj records");
	is_int((long long)n_named, 248, "each with \"breakdown\": its item's subject");
	is_int((long long)n_plain_named, 0, "records of a task without a breakdown have none");
	free(text);
}

static void test_json(void)
{
	char *out = NULL;
	is_int(cli_sh(&out, "'%s' compare %s/base %s/cand --format json 2>/dev/null", cli_merilo(), tmp, tmp), 1, "the whole subj/hr row regresses: exit 1");
	json_t *j = out ? json_loads(out, 0, NULL) : NULL;
	free(out);
	const json_t *v = json_object_get(j, "by_value"), *rows = json_object_get(j, "comparisons");
	is_int((long long)json_array_size(v), 6, "six by-value rows: subj x en, hr x A, B, C (acc)");
	is_int((long long)json_array_size(rows), 5, "five whole rows: subj x en, hr and plain x bs, en, hr");
	is_int(json_integer_value(json_object_get(json_object_get(j, "result"), "n_gated")), 5,
	       "the gate's family is the five whole rows");
	const json_t *a = find_row(v, "subj", "hr", "A"), *c = find_row(v, "subj", "hr", "C"), *b = find_row(v, "subj", "en", "B");
	ok(a && c && b, "the rows of A/hr, C/hr and B/en exist");
	if (!a || !c || !b)
		goto out;
	is_str(json_string_value(json_object_get(a, "field")), "subject", "a row names the breakdown field");
	is_int(json_integer_value(json_object_get(a, "n_pairs")), 60, "A/hr over A's 60 items");
	is_int(json_integer_value(json_object_get(c, "n_pairs")), 4, "C/hr over C's 4 items");
	ok(json_real_value(json_object_get(a, "base")) == 1 && json_real_value(json_object_get(a, "candidate")) == 0,
	   "A/hr: all right in the base, all wrong in the candidate");
	is_int(json_integer_value(json_object_get(a, "right_to_wrong")), 60, "60 right->wrong");
	is_str(json_string_value(json_object_get(a, "verdict")), "worse", "A/hr is worse");
	is_str(json_string_value(json_object_get(c, "verdict")), "no significant change", "C/hr: 2 of 4 flips is not significant");
	is_str(json_string_value(json_object_get(b, "verdict")), "no significant change", "B/en unchanged");
	const double p = json_real_value(json_object_get(a, "p")), ph = json_real_value(json_object_get(a, "p_holm"));
	ok(p > 0 && fabs(ph - 6 * p) <= 1e-12 * ph, "Holm across the six by-value rows alone: p_holm = 6 p for the smallest");
	size_t i, n_gated = 0;
	json_t *r;
	json_array_foreach(v, i, r)
		n_gated += json_is_true(json_object_get(r, "gated"));
	is_int((long long)n_gated, 0, "no by-value row is gated");
	ok(!find_row(v, "plain", "en", NULL), "a task without a breakdown is not split");
	const json_t *whole = find_row(rows, "subj", "hr", NULL);
	is_int(json_integer_value(json_object_get(whole, "n_pairs")), 124, "the whole subj/hr row keeps its 124 items");
out:
	json_decref(j);
}

static void test_text_md(void)
{
	char *out = NULL;
	cli_run(&out, "compare %s/base %s/cand", tmp, tmp);
	like(out, "by value (not gated): each value of a task's breakdown (subject) compared on its own items,\nHolm-adjusted "
		  "across these 6 comparisons: 1 changed significantly; also listed: the 1 largest drop among the others",
	     "the text says what was split, the family, and what changed");
	like(out, "subj           hr       A                    acc            60 ", "the significant row: A in hr");
	like(out, "subj           hr       C                    acc            4  ", "then the largest other drop: C in hr");
	free(out);
	cli_run(&out, "compare %s/base %s/cand --format md", tmp, tmp);
	like(out, "### By value (not gated)\n\nEach value of a task's breakdown (subject) compared on its own items, "
		  "Holm-adjusted across these 6 comparisons: 1 changed", "markdown has the section");
	like(out, "| subj | hr | A | acc | 60 |", "with A's row");
	free(out);
	cli_run(&out, "compare %s/base %s/base", tmp, tmp);
	like(out, "none changed significantly", "a run against itself: no value changed, and no drop is listed");
	free(out);
}

static const json_t *find_gap(const json_t *rows, const char *task, const char *a, const char *b)
{
	size_t i;
	json_t *r;
	json_array_foreach(rows, i, r)
		if (!strcmp(json_string_value(json_object_get(r, "task")), task) &&
		    !strcmp(json_string_value(json_object_get(r, "language")), a) &&
		    !strcmp(json_string_value(json_object_get(r, "language_b")), b))
			return r;
	return NULL;
}

static void test_gaps(void)
{
	char *out = NULL;
	cli_sh(&out, "'%s' compare %s/base %s/cand --format json 2>/dev/null", cli_merilo(), tmp, tmp);
	json_t *j = out ? json_loads(out, 0, NULL) : NULL;
	free(out);
	const json_t *g = json_object_get(j, "gaps");
	/* subj: en - hr; plain: en - bs, en - hr, and bs vs hr */
	is_int((long long)json_array_size(g), 4, "four gap rows: subj en-hr, plain en-bs, en-hr, bs/hr");
	const json_t *sh = find_gap(g, "subj", "en", "hr"), *pb = find_gap(g, "plain", "en", "bs");
	ok(sh && pb, "English first, also where its tag sorts after the other (en - bs)");
	if (!sh || !pb)
		goto out;
	is_str(json_string_value(json_object_get(sh, "gap_kind")), "en→BCMS", "the gap's kind");
	is_int(json_integer_value(json_object_get(sh, "n_pairs")), 124, "over the 124 items both runs scored in both");
	ok(json_real_value(json_object_get(sh, "base")) == 0 && json_real_value(json_object_get(sh, "candidate")) == 0.5,
	   "the base's gap is 0, the candidate's 62 / 124 = 0.5 (hr lost 62 items, en none)");
	ok(json_real_value(json_object_get(sh, "diff")) == 0.5, "the change is +0.5");
	const double p = json_real_value(json_object_get(sh, "p")), ph = json_real_value(json_object_get(sh, "p_holm"));
	ok(p > 0 && fabs(ph - 4 * p) <= 1e-12 * ph, "Holm across the four gap rows alone: p_holm = 4 p for the smallest");
	is_str(json_string_value(json_object_get(sh, "test")), "wilcoxon-signed-rank", "a per-item difference: Wilcoxon");
	ok(json_is_false(json_object_get(sh, "gated")), "not gated");
	is_int(json_integer_value(json_object_get(json_object_get(j, "result"), "n_gated")), 5, "the gate's family unchanged");
	cli_run(&out, "compare %s/base %s/cand", tmp, tmp);
	like(out, "subj           en→BCMS        en - hr              acc            124   +0.0    +50.0   +50.0   ",
	     "the text shows the widened en - hr gap of subj in points");
	like(out, "widened", "with its verdict");
	like(out, "1 comparison of other pairs of languages, none significant, is only in the JSON",
	     "the variant pair bs/hr that did not change is left to the JSON");
	free(out);
	cli_run(&out, "compare %s/cand %s/base --format md", tmp, tmp);
	like(out, "### Language gaps (not gated)", "markdown has the section");
	like(out, "| subj | en→BCMS | en − hr | acc | 124 | +50.0 | +0.0 | -50.0 |", "the reverse comparison narrows it");
	like(out, "**narrowed**", "and says so");
	free(out);
out:
	json_decref(j);
}

/* compare shows progress on stderr (in a pipe, whole lines), one stage per family; none under --quiet. */
static void test_progress(void)
{
	char *out = NULL;
	cli_sh(&out, "MERILO_TEST_PROGRESS_DELAY_MS=0 '%s' compare %s/base %s/cand 2>&1 >/dev/null", cli_merilo(), tmp, tmp);
	like(out, "merilo compare: 5/5 comparisons (100.0%), task x language", "the whole rows counted");
	like(out, "merilo compare: 6/6 comparisons (100.0%), by value", "then the rows by value");
	like(out, "merilo compare: 4/4 comparisons (100.0%), language gaps", "then the gap rows");
	free(out);
	cli_sh(&out, "MERILO_TEST_PROGRESS_DELAY_MS=0 '%s' compare %s/base %s/cand --quiet 2>&1 >/dev/null", cli_merilo(), tmp,
	       tmp);
	ok(out && !strstr(out, "comparisons ("), "none under --quiet");
	free(out);
}

/* The candidate's items.jsonl without "breakdown" (as merilo wrote it before 2026-12-07). */
static bool strip_values(void)
{
	char src[512], dst[512];
	snprintf(src, sizeof src, "%s/cand/items.jsonl", tmp);
	snprintf(dst, sizeof dst, "%s/old/items.jsonl", tmp);
	if (cli_sh(NULL, "cp -r %s/cand %s/old", tmp, tmp))
		return false;
	char *text = cli_slurp(src), *save = NULL;
	FILE *f = fopen(dst, "w");
	for (char *l = text && f ? strtok_r(text, "\n", &save) : NULL; l; l = strtok_r(NULL, "\n", &save)) {
		json_t *j = json_loads(l, 0, NULL);
		json_object_del(j, "breakdown");
		char *s = json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(17));
		fprintf(f, "%s\n", s ? s : "");
		free(s);
		json_decref(j);
	}
	free(text);
	return f && fclose(f) == 0;
}

static void test_old_records(void)
{
	if (!ok(strip_values(), "a candidate whose records carry no values"))
		return;
	char *out = NULL;
	cli_sh(&out, "'%s' compare %s/base %s/old --format json 2>/dev/null", cli_merilo(), tmp, tmp);
	json_t *j = out ? json_loads(out, 0, NULL) : NULL;
	ok(json_is_null(json_object_get(j, "by_value")), "by_value is null");
	like(out, "by value: the candidate run's records carry no breakdown values", "a note says why");
	json_decref(j);
	free(out);
}

int main(void)
{
	if (!cli_merilo())
		skip_all("MERILO does not name the merilo binary (run through make test)");
	if (!cli_tmpdir(tmp, sizeof tmp, "hrn-cmp-values"))
		skip_all("cannot make a temporary folder");
	bool have = write_suite() && write_predictions("base", false) && write_predictions("cand", true) &&
		    !cli_run(NULL, "score --suite %s/suite.json --predictions %s/base.jsonl --system base --boot 200 -q -o %s/base",
			     tmp, tmp, tmp) &&
		    !cli_run(NULL, "score --suite %s/suite.json --predictions %s/cand.jsonl --system cand --boot 200 -q -o %s/cand",
			     tmp, tmp, tmp);
	ok(have, "a suite with a breakdown and two systems' scored answers");
	if (have) {
		TEST(test_records(), "records carry their item's breakdown value");
		TEST(test_json(), "compare splits each comparison by value: its own Holm family, never gated");
		TEST(test_text_md(), "the text and markdown list the significant changes, then the largest drops");
		TEST(test_old_records(), "records without values: a note, no split");
		TEST(test_gaps(), "the language gaps' changes: per item, English first, their own Holm family, never gated");
		TEST(test_progress(), "progress on stderr while the comparisons are computed");
	}
	cli_rmtree(tmp);
	return done_testing();
}
