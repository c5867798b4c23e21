/* task_plan.c — the evaluation plan of an item (tasks/plan.h), one function per behaviour:
 * the few-shot draw (deterministic per seed and item, never the item itself, only
 * examples that have the language, from the pool when asked), the prompt (examples as
 * context + target delimiter + gold + delimiter), lm-eval-harness's context/continuation
 * split (trailing whitespace moves to the continuation, the concatenation unchanged),
 * the choice lengths acc_norm divides by, the metrics of a task, the start token per
 * BOS mode, the left truncation rule and the perplexity plan and windows.
 * The suite is written inline; expected draws are worked out here with common/rng.h's
 * generator, the one the plan uses (stream i of the few-shot seed for item i).
 */
#include "tests/tap.h"

#include <stdint.h>

#include "common/rng.h"
#include "tasks/plan.h"
#include "tasks/task.h"

static const char suite_json[] =
	"{ \"format\": \"merilo-suite/1\", \"name\": \"plan\", \"version\": \"1.0.0\", \"description\": \"d\","
	"  \"source\": \"s\", \"license\": \"CC0-1.0\", \"tasks\": ["
	/* 0: zero-shot, context without trailing space, default delimiter " ", acc_mutual_info listed */
	"  { \"id\": \"zs\", \"type\": \"multiple_choice\", \"metrics\": [\"acc\", \"acc_mutual_info\"],"
	"    \"languages\": [\"en\", \"sr-Cyrl\"],"
	"    \"templates\": { \"en\": { \"context\": \"Question: {question}\\nAnswer:\" },"
	"                   \"sr-Cyrl\": { \"context\": \"Питање: {question}\\nОдговор:\" } },"
	"    \"items\": ["
	"      { \"id\": \"z1\", \"gold\": 1, \"en\": { \"question\": \"Colour of snow?\", \"choices\": [\"Green\", \"White\"] },"
	"        \"sr-Cyrl\": { \"question\": \"Боја снега?\", \"choices\": [\"Зелена\", \"Бела\"] } },"
	"      { \"id\": \"z2\", \"gold\": 0, \"en\": { \"question\": \"Colour of grass?\", \"choices\": [\"Green\", \"Red\"] } } ] },"
	/* 1: few-shot from the task's items, context ending in a space, delimiter "" */
	"  { \"id\": \"fs\", \"type\": \"multiple_choice\", \"languages\": [\"en\", \"hr\"],"
	"    \"templates\": { \"en\": { \"context\": \"Q: {question}\\nA: \" }, \"hr\": { \"context\": \"P: {question}\\nO: \" } },"
	"    \"target_delimiter\": \"\","
	"    \"fewshot\": { \"k\": 2, \"seed\": 7, \"source\": \"items\", \"delimiter\": \"\\n\\n\" },"
	"    \"items\": ["
	"      { \"id\": \"f1\", \"gold\": 0, \"en\": { \"question\": \"a?\", \"choices\": [\"A1\", \"A2\"] }, \"hr\": { \"question\": \"a?\", \"choices\": [\"A1\", \"A2\"] } },"
	"      { \"id\": \"f2\", \"gold\": 1, \"en\": { \"question\": \"b?\", \"choices\": [\"B1\", \"B2\"] }, \"hr\": { \"question\": \"b?\", \"choices\": [\"B1\", \"B2\"] } },"
	"      { \"id\": \"f3\", \"gold\": 0, \"en\": { \"question\": \"c?\", \"choices\": [\"C1\", \"C2\"] } },"
	"      { \"id\": \"f4\", \"gold\": 1, \"en\": { \"question\": \"d?\", \"choices\": [\"D1\", \"D2\"] }, \"hr\": { \"question\": \"d?\", \"choices\": [\"D1\", \"D2\"] } },"
	"      { \"id\": \"f5\", \"gold\": 0, \"en\": { \"question\": \"e?\", \"choices\": [\"E1\", \"E2\"] }, \"hr\": { \"question\": \"e?\", \"choices\": [\"E1\", \"E2\"] } },"
	"      { \"id\": \"f6\", \"gold\": 1, \"en\": { \"question\": \"f?\", \"choices\": [\"F1\", \"F2\"] }, \"hr\": { \"question\": \"f?\", \"choices\": [\"F1\", \"F2\"] } } ] },"
	/* 2: as 1 without a fewshot block: --fewshot draws from the other items with the run's seed */
	"  { \"id\": \"ns\", \"type\": \"multiple_choice\", \"languages\": [\"en\", \"hr\"],"
	"    \"templates\": { \"en\": { \"context\": \"Q: {question}\\nA: \" }, \"hr\": { \"context\": \"P: {question}\\nO: \" } },"
	"    \"items\": ["
	"      { \"id\": \"n1\", \"gold\": 0, \"en\": { \"question\": \"a?\", \"choices\": [\"A1\", \"A2\"] }, \"hr\": { \"question\": \"a?\", \"choices\": [\"A1\", \"A2\"] } },"
	"      { \"id\": \"n2\", \"gold\": 1, \"en\": { \"question\": \"b?\", \"choices\": [\"B1\", \"B2\"] }, \"hr\": { \"question\": \"b?\", \"choices\": [\"B1\", \"B2\"] } },"
	"      { \"id\": \"n3\", \"gold\": 0, \"en\": { \"question\": \"c?\", \"choices\": [\"C1\", \"C2\"] } },"
	"      { \"id\": \"n4\", \"gold\": 1, \"en\": { \"question\": \"d?\", \"choices\": [\"D1\", \"D2\"] }, \"hr\": { \"question\": \"d?\", \"choices\": [\"D1\", \"D2\"] } },"
	"      { \"id\": \"n5\", \"gold\": 0, \"en\": { \"question\": \"e?\", \"choices\": [\"E1\", \"E2\"] }, \"hr\": { \"question\": \"e?\", \"choices\": [\"E1\", \"E2\"] } },"
	"      { \"id\": \"n6\", \"gold\": 1, \"en\": { \"question\": \"f?\", \"choices\": [\"F1\", \"F2\"] }, \"hr\": { \"question\": \"f?\", \"choices\": [\"F1\", \"F2\"] } } ] },"
	/* 3: few-shot from a pool */
	"  { \"id\": \"pool\", \"type\": \"multiple_choice\", \"languages\": [\"en\"],"
	"    \"templates\": { \"en\": { \"context\": \"{question}\" } },"
	"    \"fewshot\": { \"k\": 1, \"seed\": 3, \"source\": \"pool\", \"delimiter\": \" | \" },"
	"    \"items\": [ { \"id\": \"p1\", \"gold\": 0, \"en\": { \"question\": \"x\", \"choices\": [\"X\", \"Y\"] } } ],"
	"    \"pool\": [ { \"id\": \"q1\", \"gold\": 1, \"en\": { \"question\": \"ex\", \"choices\": [\"no\", \"yes\"] } } ] },"
	/* 4: few-shot from a pool, examples of the item's subject, the first k in pool order */
	"  { \"id\": \"match\", \"type\": \"multiple_choice\", \"languages\": [\"en\"],"
	"    \"templates\": { \"en\": { \"context\": \"{question}\" } },"
	"    \"fewshot\": { \"k\": 2, \"source\": \"pool\", \"match\": \"subject\", \"order\": \"first\" },"
	"    \"items\": [ { \"id\": \"m1\", \"gold\": 0, \"en\": { \"question\": \"x\", \"subject\": \"a\", \"choices\": [\"X\", \"Y\"] } },"
	"               { \"id\": \"m2\", \"gold\": 0, \"en\": { \"question\": \"y\", \"subject\": \"b\", \"choices\": [\"X\", \"Y\"] } } ],"
	"    \"pool\": [ { \"id\": \"a0\", \"gold\": 1, \"en\": { \"question\": \"a0\", \"subject\": \"a\", \"choices\": [\"no\", \"yes\"] } },"
	"              { \"id\": \"b0\", \"gold\": 1, \"en\": { \"question\": \"b0\", \"subject\": \"b\", \"choices\": [\"no\", \"yes\"] } },"
	"              { \"id\": \"a1\", \"gold\": 1, \"en\": { \"question\": \"a1\", \"subject\": \"a\", \"choices\": [\"no\", \"yes\"] } },"
	"              { \"id\": \"a2\", \"gold\": 1, \"en\": { \"question\": \"a2\", \"subject\": \"a\", \"choices\": [\"no\", \"yes\"] } },"
	"              { \"id\": \"b1\", \"gold\": 1, \"en\": { \"question\": \"b1\", \"subject\": \"b\", \"choices\": [\"no\", \"yes\"] } },"
	"              { \"id\": \"c0\", \"gold\": 1, \"en\": { \"question\": \"c0\", \"choices\": [\"no\", \"yes\"] } } ] },"
	/* 5: as 4, drawn at random (seed 5) */
	"  { \"id\": \"matchr\", \"type\": \"multiple_choice\", \"languages\": [\"en\"],"
	"    \"templates\": { \"en\": { \"context\": \"{question}\" } },"
	"    \"fewshot\": { \"k\": 2, \"seed\": 5, \"source\": \"pool\", \"match\": \"subject\" },"
	"    \"items\": [ { \"id\": \"r1\", \"gold\": 0, \"en\": { \"question\": \"x\", \"subject\": \"a\", \"choices\": [\"X\", \"Y\"] } } ],"
	"    \"pool\": [ { \"id\": \"a0\", \"gold\": 1, \"en\": { \"question\": \"a0\", \"subject\": \"a\", \"choices\": [\"no\", \"yes\"] } },"
	"              { \"id\": \"b0\", \"gold\": 1, \"en\": { \"question\": \"b0\", \"subject\": \"b\", \"choices\": [\"no\", \"yes\"] } },"
	"              { \"id\": \"a1\", \"gold\": 1, \"en\": { \"question\": \"a1\", \"subject\": \"a\", \"choices\": [\"no\", \"yes\"] } },"
	"              { \"id\": \"a2\", \"gold\": 1, \"en\": { \"question\": \"a2\", \"subject\": \"a\", \"choices\": [\"no\", \"yes\"] } } ] },"
	/* 6: perplexity */
	"  { \"id\": \"ppl\", \"type\": \"perplexity\", \"languages\": [\"sr-Cyrl\"], \"window\": 8, \"stride\": 4,"
	"    \"items\": [ { \"id\": \"d1\", \"sr-Cyrl\": { \"text\": \"Река тече кроз град.\" } } ] } ] }";

static struct task_suite *suite;

static struct task_plan_opts opts(int k, uint64_t seed, bool bos)
{
	return (struct task_plan_opts){ .fewshot_k = k, .seed = seed, .add_bos = bos };
}

/* The draw the plan should make: k of cand[0..n) by a partial Fisher-Yates shuffle
 * with stream `stream` of `seed` (cand is shuffled in place; its first k are the draw). */
static void expected_draw(uint64_t seed, uint64_t stream, size_t *cand, size_t n, size_t k)
{
	struct mrl_rng rng;
	mrl_rng_seed_stream(&rng, seed, stream);
	for (size_t j = 0; j < k; j++) {
		size_t pick = j + (size_t)mrl_rng_below(&rng, n - j), tmp = cand[j];
		cand[j] = cand[pick];
		cand[pick] = tmp;
	}
}

static const struct task_task *task(const char *id)
{
	return task_suite_find(suite, id);
}

/* the plan of an item, or an empty one after a failed check */
static bool plan(const char *tid, size_t item, const char *lang, struct task_plan_opts o, struct task_mc_plan *p)
{
	struct mrl_err err = { 0 };
	int rc = task_mc_plan(task(tid), item, lang, &o, p, &err);
	if (rc)
		diag("task_mc_plan: %s", err.msg);
	return rc == 0;
}

/* ---- few-shot ---- */

static void check_fewshot_deterministic(void)
{
	struct task_mc_plan a, b;
	bool same = true;
	for (size_t i = 0; i < 6; i++) {
		if (!plan("fs", i, "en", opts(-1, 0, false), &a) || !plan("fs", i, "en", opts(-1, 0, false), &b))
			same = false;
		else
			same &= a.n_shots == b.n_shots && !memcmp(a.shots, b.shots, a.n_shots * sizeof *a.shots) &&
				!strcmp(a.prompt, b.prompt);
		task_mc_plan_release(&a);
		task_mc_plan_release(&b);
	}
	ok(same, "few-shot: the same seed gives the same examples and prompt for every item");

	/* item 4 planned after item 1 or on its own: the draw is stream item_idx of the seed */
	struct task_mc_plan alone, later, other;
	size_t want[] = { 0, 1, 2, 3, 5 }; /* fs's other items in en */
	expected_draw(7, 4, want, 5, 2);
	plan("fs", 4, "en", opts(-1, 12345, false), &alone);
	ok(alone.n_shots == 2 && alone.shots[0] == want[0] && alone.shots[1] == want[1],
	   "few-shot: item 4 draws with stream 4 of the task's own seed (7), whatever the run's seed");
	plan("fs", 1, "en", opts(-1, 0, false), &other);
	plan("fs", 4, "en", opts(-1, 0, false), &later);
	ok(alone.n_shots == 2 && !memcmp(alone.shots, later.shots, 2 * sizeof *alone.shots),
	   "few-shot: an item's draw does not depend on what was planned before");
	task_mc_plan_release(&alone);
	task_mc_plan_release(&later);
	task_mc_plan_release(&other);
}

static void check_fewshot_run_seed(void)
{
	struct task_mc_plan p;
	bool as_expected = true;
	for (uint64_t seed = 99; seed < 103; seed++) {
		size_t want[] = { 1, 2, 3, 4, 5 }; /* ns's other items in en */
		expected_draw(seed, 0, want, 5, 2);
		as_expected &= plan("ns", 0, "en", opts(2, seed, false), &p) && p.n_shots == 2 &&
			       p.shots[0] == want[0] && p.shots[1] == want[1] && !p.shots_from_pool;
		task_mc_plan_release(&p);
	}
	ok(as_expected, "few-shot in a task without a fewshot block: stream 0 of the run's seed (seeds 99-102)");
	plan("zs", 0, "en", opts(1, 99, false), &p);
	ok(p.n_shots == 1 && p.shots[0] == 1 && !p.shots_from_pool, "its one candidate: the task's other item");
	task_mc_plan_release(&p);
	struct mrl_err err = { 0 };
	struct task_plan_opts o = opts(2, 99, false);
	int rc = task_mc_plan(task("zs"), 0, "en", &o, &p, &err);
	is_int(rc, MRL_EINPUT, "few-shot: too few examples is an input error");
	like(err.msg, "2-shot needs 2 examples, the task's other items have 1", "the error says how many there are");
	ok(p.prompt == NULL && p.choices == NULL, "a failed plan is left empty");
}

/* task_fewshot_check, made once before a run, refuses exactly what the plans of the
 * items having the language would refuse, with their message. */
static void check_fewshot_check(void)
{
	static const char *const tids[] = { "fs", "ns", "pool" }, *const langs[] = { "en", "hr" };
	int disagree = 0;
	for (size_t ti = 0; ti < 3; ti++)
		for (size_t l = 0; l < 2; l++)
			for (int k = -1; k <= 7; k++) {
				const struct task_task *t = task(tids[ti]);
				struct task_plan_opts o = opts(k, 5, false);
				struct mrl_err err = { 0 };
				const int li = task_language_index(t, langs[l]);
				const bool fits = task_fewshot_check(t, langs[l], &o, &err) == 0;
				for (size_t i = 0; li >= 0 && i < task_n_items(t); i++) {
					struct task_mc_plan p;
					struct mrl_err perr = { 0 };
					if (!task_item_has(task_item_at(t, i), (size_t)li))
						continue;
					disagree += fits != (task_mc_plan(t, i, langs[l], &o, &p, &perr) == 0) ||
						    (!fits && strcmp(err.msg, perr.msg));
					task_mc_plan_release(&p);
				}
			}
	is_int(disagree, 0, "few-shot check: fits exactly where every item's plan does, with the same message");
	struct mrl_err err = { 0 };
	struct task_plan_opts o = opts(5, 5, false);
	is_int(task_fewshot_check(task("fs"), "hr", &o, &err), MRL_EINPUT, "5-shot in hr: 4 other items have hr");
	like(err.msg, "task 'fs' (hr): 5-shot needs 5 examples, the task's other items have 4", "the message counts them");
	is_int(task_fewshot_check(task("fs"), "en", &o, &err), 0, "5-shot in en: 5 other items have en");
	o = opts(2, 5, false);
	is_int(task_fewshot_check(task("pool"), "en", &o, &err), MRL_EINPUT, "2-shot from a pool of 1");
	like(err.msg, "the pool has 1", "the message names the pool");
	is_int(task_fewshot_check(task("ppl"), "sr-Cyrl", &o, &err), 0, "a perplexity task draws no examples");
}

static void check_fewshot_excludes_item(void)
{
	int self = 0, dup = 0, lang = 0, n = 0;
	for (uint64_t seed = 0; seed < 40; seed++) /* ns takes the run's seed: 40 draws per item */
		for (size_t i = 0; i < 6; i++) {
			struct task_mc_plan p;
			const char *tag = i == 2 ? "en" : "hr"; /* n3 has no hr variant */
			if (!plan("ns", i, tag, opts(3, seed, false), &p))
				continue;
			for (size_t j = 0; j < p.n_shots; j++) {
				self += p.shots[j] == i;
				lang += !strcmp(tag, "hr") && p.shots[j] == 2;
				for (size_t m = 0; m < j; m++)
					dup += p.shots[m] == p.shots[j];
			}
			n += (int)p.n_shots;
			task_mc_plan_release(&p);
		}
	ok(n == 40 * 6 * 3, "few-shot: every plan got its 3 examples");
	is_int(self, 0, "few-shot from the items: never the item itself");
	is_int(dup, 0, "few-shot: examples are drawn without replacement");
	is_int(lang, 0, "few-shot: only examples that have the language (n3 has no hr)");
}

static void check_fewshot_prompt(void)
{
	struct task_mc_plan p;
	plan("fs", 0, "en", opts(-1, 0, false), &p);
	char want[256];
	const char q[] = "abcdef", *gold[] = { "A1", "B2", "C1", "D2", "E1", "F2" };
	snprintf(want, sizeof want, "Q: %c?\nA: %s\n\nQ: %c?\nA: %s\n\nQ: a?\nA: ", q[p.shots[0]], gold[p.shots[0]],
		 q[p.shots[1]], gold[p.shots[1]]);
	is_str(p.prompt, want, "few-shot prompt: each example is context + delimiter + gold, then \\n\\n; then the item");
	task_mc_plan_release(&p);

	plan("pool", 0, "en", opts(-1, 0, false), &p);
	ok(p.shots_from_pool && p.n_shots == 1 && p.shots[0] == 0, "few-shot from the pool: the pool's item");
	is_str(p.prompt, "ex yes | x", "pool example: context + \" \" + gold choice + the task's delimiter");
	task_mc_plan_release(&p);

	plan("fs", 0, "en", opts(0, 0, false), &p);
	is_str(p.prompt, "Q: a?\nA: ", "--fewshot 0 overrides the task's k: the item's context alone");
	is_int((long long)p.n_shots, 0, "zero-shot: no examples");
	task_mc_plan_release(&p);
}

static void check_fewshot_settings(void)
{
	struct task_fewshot f;
	struct task_plan_opts o = opts(-1, 99, false);
	task_plan_fewshot(task("fs"), &o, &f);
	ok(f.k == 2 && f.seed == 7 && !strcmp(f.source, "items") && !strcmp(f.delimiter, "\n\n"),
	   "few-shot settings: the task's own block");
	task_plan_fewshot(task("zs"), &o, &f);
	is_int(f.k, 0, "a task without a fewshot block is zero-shot");
	o.fewshot_k = 1;
	task_plan_fewshot(task("zs"), &o, &f);
	ok(f.k == 1 && f.seed == 99 && !strcmp(f.source, "items"), "--fewshot on it: the run's seed, the other items");
	task_plan_fewshot(task("pool"), &o, &f);
	ok(f.k == 1 && f.seed == 3 && !strcmp(f.source, "pool") && !strcmp(f.delimiter, " | "),
	   "--fewshot overrides k only: seed, source and delimiter stay the task's");
}

/* "match": only pool examples with the item's subject; "order": "first" takes them in
 * pool order, "random" draws among them; too few for an item is refused naming it. */
static void check_fewshot_match(void)
{
	struct task_mc_plan p;
	plan("match", 0, "en", opts(-1, 0, false), &p);
	ok(p.n_shots == 2 && p.shots[0] == 0 && p.shots[1] == 2, "subject a, order first: pool a0, a1 (not b0)");
	is_str(p.prompt, "a0 yes\n\na1 yes\n\nx", "the prompt: those two, then the item");
	task_mc_plan_release(&p);
	plan("match", 1, "en", opts(-1, 0, false), &p);
	ok(p.n_shots == 2 && p.shots[0] == 1 && p.shots[1] == 4, "subject b: pool b0, b1");
	task_mc_plan_release(&p);
	size_t cand[] = { 0, 2, 3 };
	expected_draw(5, 0, cand, 3, 2);
	plan("matchr", 0, "en", opts(-1, 0, false), &p);
	ok(p.n_shots == 2 && p.shots[0] == cand[0] && p.shots[1] == cand[1],
	   "order random: a draw (seed 5, stream 0) among the subject's a0, a1, a2 only");
	task_mc_plan_release(&p);
	struct mrl_err err = { 0 };
	struct task_plan_opts o = opts(3, 0, false);
	is_int(task_fewshot_check(task("match"), "en", &o, &err), MRL_EINPUT, "3-shot: subject b has 2 examples, refused");
	like(err.msg, "3-shot needs 3 examples, the pool has 2 in this language with subject \"b\" (item m2)",
	     "the message names the subject and the first item short of examples");
	o.fewshot_k = 2;
	is_int(task_fewshot_check(task("match"), "en", &o, &err), 0, "2-shot: every item finds 2 of its subject");
	struct task_fewshot f;
	task_plan_fewshot(task("match"), &o, &f);
	ok(f.match && !strcmp(f.match, "subject") && f.first, "the settings carry match and order");
	task_plan_fewshot(task("pool"), &o, &f);
	ok(!f.match && !f.first, "a task without them: no match, random order");

	static const char bad[] =
		"{ \"format\": \"merilo-suite/1\", \"name\": \"b\", \"version\": \"1\", \"description\": \"\", \"source\": \"\","
		"  \"license\": \"CC0-1.0\", \"tasks\": [ { \"id\": \"t\", \"type\": \"multiple_choice\", \"languages\": [\"en\"],"
		"  \"templates\": { \"en\": { \"context\": \"{q}\" } }, \"fewshot\": { \"k\": 1, \"order\": \"sometimes\" },"
		"  \"items\": [ { \"id\": \"1\", \"gold\": 0, \"en\": { \"q\": \"x\", \"choices\": [\"a\", \"b\"] } },"
		"               { \"id\": \"2\", \"gold\": 0, \"en\": { \"q\": \"y\", \"choices\": [\"a\", \"b\"] } } ] } ] }";
	struct task_suite *s = NULL;
	ok(task_suite_parse("bad.json", bad, strlen(bad), &s, NULL, &err) != 0, "an unknown few-shot order: invalid suite");
	like(err.msg, "unknown few-shot order \"sometimes\" (expected \"random\" or \"first\")", "naming it");
	task_suite_free(s);
}

/* "description": the task's preamble, rendered from the item, before the few-shot
 * examples (lm-eval-harness's description); its bytes counted for a chat template's
 * system message; a derived language gets it transliterated; it cannot use {choice}. */
static void check_description(void)
{
	static const char js[] =
		"{ \"format\": \"merilo-suite/1\", \"name\": \"d\", \"version\": \"1\", \"description\": \"\", \"source\": \"\","
		"  \"license\": \"CC0-1.0\", \"tasks\": [ { \"id\": \"t\", \"type\": \"multiple_choice\","
		"  \"languages\": [\"sr-Latn\", \"sr-Cyrl\"], \"derived\": { \"sr-Cyrl\": { \"from\": \"sr-Latn\", \"transform\": \"sr-Latn-to-Cyrl\" } },"
		"  \"templates\": { \"sr-Latn\": { \"context\": \"P: {q}\\nO:\","
		"                 \"description\": \"Pitanja o {subject}.\\n\\n\" } },"
		"  \"fewshot\": { \"k\": 1, \"source\": \"pool\", \"match\": \"subject\", \"order\": \"first\" },"
		"  \"items\": [ { \"id\": \"1\", \"gold\": 0, \"sr-Latn\": { \"q\": \"x\", \"subject\": \"hemiji\", \"choices\": [\"a\", \"b\"] } } ],"
		"  \"pool\": [ { \"id\": \"p\", \"gold\": 1, \"sr-Latn\": { \"q\": \"y\", \"subject\": \"hemiji\", \"choices\": [\"c\", \"d\"] } } ] } ] }";
	struct task_suite *s = NULL;
	struct mrl_err err = { 0 };
	if (!ok(task_suite_parse("d.json", js, strlen(js), &s, NULL, &err) == 0, "a task with a description loads"))
		diag("%s", err.msg);
	const struct task_task *t = s ? task_suite_task(s, 0) : NULL;
	struct task_mc_plan p;
	struct task_plan_opts o = opts(-1, 0, false);
	task_mc_plan_init(&p);
	if (ok(t && !task_mc_plan(t, 0, "sr-Latn", &o, &p, &err), "it plans in sr-Latn")) {
		is_str(p.prompt, "Pitanja o hemiji.\n\nP: y\nO: d\n\nP: x\nO:",
		       "the item's description first, once, then the example (without its own), then the item");
		is_int((long long)p.description_len, (long long)strlen("Pitanja o hemiji.\n\n"), "its length is kept");
		is_str(p.choices[0].text, "Pitanja o hemiji.\n\nP: y\nO: d\n\nP: x\nO: a", "the choices carry it");
	}
	task_mc_plan_release(&p);
	if (ok(t && !task_mc_plan(t, 0, "sr-Cyrl", &o, &p, &err), "and in the derived sr-Cyrl"))
		is_str(p.prompt, "Питања о хемији.\n\nП: y\nО: д\n\nП: x\nО:", "derived: the description transliterated");
	task_mc_plan_release(&p);
	o.fewshot_k = 0;
	if (ok(t && !task_mc_plan(t, 0, "sr-Latn", &o, &p, &err), "and zero-shot"))
		is_str(p.prompt, "Pitanja o hemiji.\n\nP: x\nO:", "zero-shot: the description, then the item");
	task_mc_plan_release(&p);
	task_suite_free(s);
	/* it comes before any choice; a Serbian one has no English template words */
	char bad[sizeof js + 64];
	snprintf(bad, sizeof bad, "%.*s{choice}%s", (int)(strstr(js, ".\\n\\n\" }") - js), js, strstr(js, ".\\n\\n\" }"));
	s = NULL;
	ok(task_suite_parse("d.json", bad, strlen(bad), &s, NULL, &err) != 0, "a description with {choice}: invalid");
	like(err.msg, "the description comes before the examples and the question: it cannot use {choice}", "saying why");
	task_suite_free(s);
	snprintf(bad, sizeof bad, "%.*sAnswer%s", (int)(strstr(js, "Pitanja") - js), js, strstr(js, " o {subject}"));
	s = NULL;
	ok(task_suite_parse("d.json", bad, strlen(bad), &s, NULL, &err) != 0, "English words in a Serbian description: invalid");
	like(err.msg, "description", "the problem is the description's");
	task_suite_free(s);
	static const char ppl[] =
		"{ \"format\": \"merilo-suite/1\", \"name\": \"d\", \"version\": \"1\", \"description\": \"\", \"source\": \"\","
		"  \"license\": \"CC0-1.0\", \"tasks\": [ { \"id\": \"p\", \"type\": \"perplexity\", \"window\": 8,"
		"  \"languages\": [\"hr\"], \"templates\": { \"hr\": { \"description\": \"Tekst:\" } },"
		"  \"items\": [ { \"id\": \"1\", \"hr\": { \"text\": \"Rijeka teče.\" } } ] } ] }";
	s = NULL;
	ok(task_suite_parse("d.json", ppl, strlen(ppl), &s, NULL, &err) != 0, "a perplexity task's description: invalid");
	like(err.msg, "a description applies to multiple_choice and generate tasks only", "nothing would write it");
	task_suite_free(s);
}

/* ---- lm-eval's context/continuation split ---- */

static void check_split_default_delimiter(void)
{
	struct task_mc_plan p;
	plan("zs", 0, "en", opts(-1, 0, false), &p);
	is_int((long long)p.context_len, (long long)strlen(p.prompt), "no trailing whitespace: the context is the prompt");
	is_str(p.choices[1].text, "Question: Colour of snow?\nAnswer: White", "the whole string: prompt + \" \" + choice");
	is_str(p.choices[1].text + p.choices[1].context_len, " White", "continuation: target delimiter + choice");
	is_str(p.choices[1].text + p.choices[1].choice_at, "White", "choice_at points at the rendered choice");
	is_int(p.gold, 1, "gold index from the item");
	task_mc_plan_release(&p);
}

static void check_split_trailing_space(void)
{
	struct task_mc_plan p;
	plan("fs", 0, "en", opts(0, 0, false), &p);
	is_int((long long)p.context_len, (long long)strlen("Q: a?\nA:"), "a trailing space is not part of the context");
	is_str(p.choices[0].text + p.choices[0].context_len, " A1",
	       "it starts the continuation: whitespace + delimiter (\"\") + choice");
	is_str(p.choices[0].text, "Q: a?\nA: A1", "the concatenation is unchanged");
	ok(p.choices[0].context_len == p.choices[1].context_len, "every choice shares the context");
	task_mc_plan_release(&p);
}

static void check_choice_lengths(void)
{
	struct task_mc_plan p;
	plan("zs", 0, "sr-Cyrl", opts(-1, 0, false), &p);
	is_int(p.choices[1].n_chars, 4, "n_chars: code points of the choice (Бела), no delimiter");
	is_int(p.choices[1].n_bytes, 8, "n_bytes: UTF-8 bytes of the choice");
	task_mc_plan_release(&p);
}

static void check_rules(void)
{
	struct task_mc_plan p;
	plan("zs", 0, "en", opts(-1, 0, false), &p);
	ok(p.mutual_info && p.n_rules == 4 && p.rules[3] == TASK_MC_ACC_MUTUAL_INFO,
	   "acc_mutual_info listed: four metrics, mutual information last");
	is_int(p.neutral, TASK_START_BOS_ELSE_EOS, "the neutral context is BOS, else EOS");
	task_mc_plan_release(&p);
	plan("fs", 0, "en", opts(0, 0, false), &p);
	ok(!p.mutual_info && p.n_rules == 3 && p.rules[0] == TASK_MC_ACC && p.rules[1] == TASK_MC_ACC_NORM &&
		   p.rules[2] == TASK_MC_ACC_BYTES,
	   "otherwise acc, acc_norm, acc_bytes");
	task_mc_plan_release(&p);
}

/* ---- BOS ---- */

static void check_bos_rule(void)
{
	struct task_mc_plan p;
	plan("zs", 0, "en", opts(-1, 0, true), &p);
	is_int(p.start, TASK_START_BOS, "multiple choice with BOS used: BOS before the context");
	is_int(p.start_if_empty, TASK_START_BOS_ELSE_EOS, "an empty context gets BOS, else EOS (lm-eval's prefix token)");
	task_mc_plan_release(&p);
	plan("zs", 0, "en", opts(-1, 0, false), &p);
	is_int(p.start, TASK_START_NONE, "multiple choice without BOS: nothing before the context");
	task_mc_plan_release(&p);

	is_int(task_start_token(TASK_START_NONE, 1, 2), -1, "start none: no token");
	is_int(task_start_token(TASK_START_BOS, 1, 2), 1, "start BOS: the BOS id");
	is_int(task_start_token(TASK_START_BOS, -1, 2), -1, "start BOS on a model without BOS: no token");
	is_int(task_start_token(TASK_START_BOS_ELSE_EOS, -1, 2), 2, "BOS else EOS without BOS: EOS");
	is_int(task_start_token(TASK_START_EOS_ELSE_BOS, 1, 2), 2, "EOS else BOS: EOS first");
	is_int(task_start_token(TASK_START_EOS_ELSE_BOS, 1, -1), 1, "EOS else BOS without EOS: BOS");
	is_int(task_start_token(TASK_START_BOS_ELSE_EOS, -1, -1), -1, "neither token: none");
}

/* ---- truncation ---- */

static void check_truncation(void)
{
	size_t keep = 0;
	ok(task_truncate_keep(TASK_TRUNCATE_LEFT, 10, 3, 100, &keep) == 0 && keep == 10, "a request that fits keeps its context");
	ok(task_truncate_keep(TASK_TRUNCATE_LEFT, 10, 3, 12, &keep) == 0 && keep == 10,
	   "context + continuation - 1 = n_ctx exactly: nothing cut");
	ok(task_truncate_keep(TASK_TRUNCATE_LEFT, 10, 3, 8, &keep) == 0 && keep == 6,
	   "too long: the last n_ctx + 1 - n_cont context tokens are kept (cut on the left)");
	is_int(task_truncate_keep(TASK_TRUNCATE_LEFT, 10, 8, 8, &keep), -1, "a continuation as long as the model's context does not fit");
}

/* ---- perplexity ---- */

static void check_ppl_plan(void)
{
	struct task_ppl_plan p;
	struct mrl_err err = { 0 };
	struct task_plan_opts o = opts(-1, 0, false);
	int rc = task_ppl_plan(task("ppl"), 0, "sr-Cyrl", &o, &p, &err);
	is_int(rc, 0, "perplexity plan");
	is_str(p.text, "Река тече кроз град.", "the text as rendered ({text} by default)");
	ok(p.counts.words == 4 && p.counts.chars == 20 && p.counts.canonical_chars == 20, "its words and characters");
	is_int(p.start, TASK_START_EOS_ELSE_BOS, "without BOS the document starts after EOS (else BOS)");
	ok(p.window == 8 && p.stride == 4, "the task's window and stride");
	task_ppl_plan_release(&p);
	o.add_bos = true;
	task_ppl_plan(task("ppl"), 0, "sr-Cyrl", &o, &p, &err);
	is_int(p.start, TASK_START_BOS_ELSE_EOS, "with BOS used the document starts after BOS (else EOS)");
	task_ppl_plan_release(&p);

	size_t cb[16], b[16], e[16];
	size_t nw = task_ppl_windows(10, 4, 2, cb, b, e);
	is_int((long long)nw, 4, "windows: n 10, window 4, stride 2: 4 windows");
	ok(cb[0] == 0 && b[0] == 1 && e[0] == 5, "the first window predicts tokens 1..4 after the start token");
	ok(cb[1] == 2 && b[1] == 5 && e[1] == 7, "the second: context [2,5), predicts [5,7)");
	is_int((long long)task_ppl_windows(10, 4, 0, cb, b, e), 3, "stride 0 is taken as the window (lm-eval's rolling)");
}

int main(void)
{
	struct mrl_err err = { 0 };
	if (task_suite_parse("plan.json", suite_json, strlen(suite_json), &suite, NULL, &err)) {
		diag("%s", err.msg);
		ok(0, "the test suite loads");
		return done_testing();
	}
	check_fewshot_deterministic();
	check_fewshot_run_seed();
	check_fewshot_excludes_item();
	check_fewshot_check();
	check_fewshot_prompt();
	check_fewshot_settings();
	check_fewshot_match();
	check_description();
	check_split_default_delimiter();
	check_split_trailing_space();
	check_choice_lengths();
	check_rules();
	check_bos_rule();
	check_truncation();
	check_ppl_plan();
	task_suite_free(suite);
	return done_testing();
}
