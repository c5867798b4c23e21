/* task_import_include.c — `merilo import include`: INCLUDE's per-language JSONL (each
 * country's own exam questions) -> one multiple-choice suite whose items are each in one
 * language, ids "<tag>/<line>". The prompt is lm-eval-harness 0.4.13's few_shot_og one
 * (ci/make-import-reference.py) but for the three things merilo writes otherwise: a line
 * break after the description, "D." for lm-eval's " D.", the language's own word for
 * "Answer:"; with those undone every prompt, choice and gold equals lm-eval's. A derived
 * script keeps the letters and the domain; bad rows are named by file:line. */
#include "tasks/plan.h"
#include "tasks/task.h"
#include "tests/tap.h"
#include "tests/import_test.h"
#include "tests/lmeval_ref.h"

#include <jansson.h>

#define DATA "tests/data/import/include/"

/* A row with answer A (an index) and the options given as FIELDS. */
#define ROW(A, FIELDS) "{\"question\":\"Q?\",\"domain\":\"STEM\"," FIELDS ",\"answer\":" A "}\n"
#define OPTS "\"option_a\":\"1\",\"option_b\":\"2\",\"option_c\":\"3\",\"option_d\":\"4\""

/* s with the first `from` after offset at replaced by `to`: a malloc'd string. */
static char *replace_from(const char *s, size_t at, const char *from, const char *to)
{
	const char *p = strstr(s + at, from);
	size_t n = strlen(s), fl = strlen(from), tl = strlen(to);
	char *out = malloc(n + tl + 1);
	if (!out)
		return NULL;
	if (!p) {
		memcpy(out, s, n + 1);
		return out;
	}
	size_t k = (size_t)(p - s);
	memcpy(out, s, k);
	memcpy(out + k, to, tl);
	memcpy(out + k + tl, p + fl, n - k - fl + 1);
	return out;
}

/* merilo's prompt as lm-eval writes it: the description's line break dropped, " D."
 * for "D.", "Answer:" for the language's word. */
static char *as_lmeval(const struct task_mc_plan *p, const char *word)
{
	char *a = replace_from(p->prompt, p->description_len - 1, "\n", "");
	char *b = a ? replace_from(a, 0, "\nD. ", "\n D. ") : NULL;
	char *c = b ? replace_from(b, strlen(b) - strlen(word), word, "Answer:") : NULL;
	free(a);
	free(b);
	return c;
}

static void check_include_lang(const struct task_task *t, const char *lang, const char *word, const char *ref_file,
			      size_t want)
{
	json_t *ref = load_lmeval_ref(ref_file), *reqs = json_object_get(ref, "requests");
	char name[300];
	if (!ref)
		return;
	size_t n = 0, same = 0, prefix = strlen(lang) + 1;
	struct mrl_err err = {0};
	for (size_t i = 0; i < task_n_items(t); i++) {
		const char *id = task_item_id(task_item_at(t, i));
		if (strncmp(id, lang, prefix - 1) || id[prefix - 1] != '/')
			continue;
		json_t *r = json_object_get(reqs, id + prefix);
		struct task_mc_plan p;
		struct task_plan_opts po = { .fewshot_k = 0 };
		n++;
		if (!r || task_mc_plan(t, i, lang, &po, &p, &err)) {
			diag("%s: %s", id, r ? err.msg : "not in lm-eval's reference");
			continue;
		}
		char *mine = as_lmeval(&p, word);
		const char *want_ctx = json_string_value(json_object_get(r, "context"));
		bool choices = p.n_choices == 4;
		for (size_t j = 0; choices && j < 4; j++)
			choices = !strcmp(p.choices[j].text + p.choices[j].choice_at,
					  json_string_value(json_array_get(json_object_get(r, "choices"), j))) &&
				  !strncmp(p.choices[j].text + strlen(p.prompt), " ", 1);
		if (mine && !strcmp(mine, want_ctx) && choices && p.gold == json_integer_value(json_object_get(r, "gold")))
			same++;
		else
			diag("%s: merilo '%s', lm-eval '%s'", id, mine ? mine : "(null)", want_ctx);
		free(mine);
		task_mc_plan_release(&p);
	}
	snprintf(name, sizeof name, "%s: %zu of %zu prompts, choices and golds are lm-eval's (its three quirks undone)", lang,
		 same, n);
	ok(n == want && same == n, name);
	json_decref(ref);
}

static void test_files(void)
{
	struct task_import_input in[] = { { "sr-Cyrl", DATA "Serbian.jsonl" },
					  { "hr", DATA "Croatian.jsonl" },
					  { "mk", DATA "North_Macedonian.jsonl" } };
	const char *derive[] = { "sr-Latn" };
	size_t n_trimmed = 0;
	struct task_import_opts opts = { .derive = derive, .n_derive = 1 };
	char *json = NULL;
	struct mrl_err err = {0};
	struct task_suite *s = NULL;
	int rc = task_import("include", in, 3, &opts, &json, &n_trimmed, &err);
	if (!rc)
		rc = task_suite_parse("include", json, strlen(json), &s, NULL, &err);
	if (!ok(rc == 0, "the three files import, with sr-Latn derived"))
		diag("%s", err.msg);
	is_int((long long)n_trimmed, 1, "the question with stray spaces is counted as trimmed");
	const struct task_task *t = s ? task_suite_task(s, 0) : NULL;
	if (t) {
		is_str(task_id(t), "include", "one task, include");
		is_str(task_breakdown(t), "domain", "scores are also broken down by domain");
		is_int(task_n_items(t), 11, "4 Serbian, 3 Croatian and 4 Macedonian questions, each its own item");
		is_str(task_item_id(task_item_at(t, 4)), "hr/1", "ids are the tag and the line");
		ok(!task_item_has(task_item_at(t, 4), (size_t)task_language_index(t, "sr-Cyrl")),
		   "a Croatian question is not in Serbian");
		check_include_lang(t, "sr-Cyrl", "Одговор:", DATA "lmeval-Serbian.json", 4);
		check_include_lang(t, "hr", "Odgovor:", DATA "lmeval-Croatian.json", 3);
		check_include_lang(t, "mk", "Одговор:", DATA "lmeval-North_Macedonian.json", 4);
		struct task_mc_plan p;
		struct task_plan_opts po = { .fewshot_k = 0 };
		if (ok(!task_mc_plan(t, 1, "sr-Latn", &po, &p, &err), "the derived sr-Latn plans")) {
			is_str(p.prompt, "Slede pitanja sa višestrukim izborom (sa odgovorima) o STEM.\nKoliko je 7 · 8?\nA. 54\nB. "
					 "56\nC. 58\nD. 64\nOdgovor:",
			       "sr-Latn derived: description, question and word in Latin, the letters and the domain kept");
			task_mc_plan_release(&p);
		}
	}
	task_suite_free(s);
	free(json);
	/* sr-Latn -> sr-Cyrl: the domain, an English label, stays Latin, as lm-eval's own Serbian description writes it */
	const char *latn = write_file("latn.jsonl", "{\"question\":\"Koliko je 2 + 2?\",\"domain\":\"Social Science\","
						    "\"choices\":[\"3\",\"4\",\"5\",\"6\"],\"answer\":1}\n");
	struct task_import_input l = { "sr-Latn", latn };
	const char *to_cyrl[] = { "sr-Cyrl" };
	opts = (struct task_import_opts){ .derive = to_cyrl, .n_derive = 1 };
	s = NULL;
	rc = task_import("include", &l, 1, &opts, &json, NULL, &err);
	if (!rc)
		rc = task_suite_parse("include", json, strlen(json), &s, NULL, &err);
	if (!ok(rc == 0, "a Latin file with \"choices\" imports, sr-Cyrl derived"))
		diag("%s", err.msg);
	struct task_mc_plan p;
	struct task_plan_opts po = { .fewshot_k = 0 };
	if (ok(s && !task_mc_plan(task_suite_task(s, 0), 0, "sr-Cyrl", &po, &p, &err), "the derived sr-Cyrl plans")) {
		is_str(p.prompt, "Следе питања са вишеструким избором (са одговорима) о Social Science.\nКолико је 2 + 2?\nA. 3\n"
				 "B. 4\nC. 5\nD. 6\nОдговор:",
		       "sr-Cyrl derived: lm-eval's Cyrillic description, the domain kept in Latin");
		task_mc_plan_release(&p);
	}
	task_suite_free(s);
	free(json);
}

static void check_error(const char *title, const char *text, const char *lang, int want_rc, const char *want)
{
	struct task_import_input in = { lang, write_file("a.jsonl", text) };
	check_refused("include", &in, 1, NULL, want_rc, title, want);
}

static void test_bad(void)
{
	check_error("an answer out of range", ROW("4", OPTS), "hr", MRL_EINPUT,
		    "a.jsonl:1: \"answer\" must be the right option's index, 0-3");
	check_error("a missing option", ROW("0", "\"option_a\":\"1\",\"option_b\":\"2\",\"option_c\":\"3\""), "hr",
		    MRL_EINPUT, "a.jsonl:1: option D is missing: expected \"option_d\" (or \"choices\", 4 strings)");
	check_error("no domain", "{\"question\":\"Q?\"," OPTS ",\"answer\":0}\n", "hr", MRL_EINPUT,
		    "a.jsonl:1: \"domain\" is missing");
	check_error("a blank question", "{\"question\":\" \",\"domain\":\"STEM\"," OPTS ",\"answer\":0}\n", "hr",
		    MRL_EINPUT, "a.jsonl:1: \"question\" is not a non-empty string");
	check_error("a language INCLUDE has no wording for", ROW("0", OPTS), "bs", MRL_EUNSUPPORTED,
		    "no INCLUDE wording for language 'bs' (known: sr-Cyrl, sr-Latn, hr, mk");
	check_error("a Latin file under sr-Cyrl", ROW("0", OPTS), "sr-Cyrl", MRL_EINPUT, "written in Cyrillic script");
}

int main(void)
{
	import_begin("include");
	test_files();
	test_bad();
	return import_end();
}
