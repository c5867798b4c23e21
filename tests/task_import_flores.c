/* task_import_flores.c — `merilo import flores`: FLORES's per-language files -> two
 * translation tasks (from English, into English). Plain text pairs by line number,
 * JSONL by id; English is required; each language's wording, the English answers'
 * expectations (Latn, en) also for a derived sr-Latn; bad lines named file:line. */
#include "tasks/task.h"
#include "tests/tap.h"
#include "tests/import_test.h"

#include <unistd.h>

#define DATA "tests/data/import/flores/"

static int import(const struct task_import_input *in, size_t n, const char *const *derive, size_t n_derive,
		  struct task_import_report *rep, char **json, struct mrl_err *err)
{
	struct task_import_opts opts = { .derive = derive, .n_derive = n_derive, .report = rep };
	return task_import("flores", in, n, &opts, json, NULL, err);
}

static struct task_suite *parse(const char *json)
{
	struct task_suite *s = NULL;
	struct mrl_err err = {0};
	if (task_suite_parse("flores", json, strlen(json), &s, NULL, &err))
		diag("%s", err.msg);
	return s;
}

/* The context of item i in lang, and its first reference into *target (both malloc'd). */
static char *render(const struct task_task *t, size_t i, const char *lang, char **target)
{
	struct task_prompt p;
	struct mrl_err err = {0};
	const struct task_item *it = task_item_at(t, i);
	if (task_render(t, it, lang, &p, &err)) {
		diag("%s", err.msg);
		return NULL;
	}
	char *ctx = strdup(p.context);
	task_prompt_release(&p);
	int li = task_language_index(t, lang);
	if (target)
		*target = li >= 0 && task_item_n_targets(it, (size_t)li) ? strdup(task_item_target(it, (size_t)li, 0)) : NULL;
	return ctx;
}

static void check_item(const struct task_task *t, size_t i, const char *lang, const char *want_ctx, const char *want_target,
		       const char *title)
{
	char *target = NULL, *ctx = render(t, i, lang, &target), name[200];
	snprintf(name, sizeof name, "%s: context", title);
	is_str(ctx, want_ctx, name);
	snprintf(name, sizeof name, "%s: reference", title);
	is_str(target, want_target, name);
	free(ctx), free(target);
}

static void test_files(void)
{
	struct task_import_input in[] = { { "en", DATA "eng_Latn.devtest" }, { "sr-Cyrl", DATA "srp_Cyrl.devtest" },
					  { "hr", DATA "hrv_Latn.devtest" } };
	const char *derive[] = { "sr-Latn" };
	struct task_import_report rep = {0};
	mrl_buf_init(&rep.warnings);
	char *json = NULL;
	struct mrl_err err = {0};
	size_t trimmed = 0;
	struct task_import_opts opts = { .derive = derive, .n_derive = 1, .report = &rep };
	int rc = task_import("flores", in, 3, &opts, &json, &trimmed, &err);
	is_int(rc, 0, "the three test files import, with sr-Latn derived");
	struct task_suite *s = rc ? NULL : parse(json);
	if (rc)
		diag("%s", err.msg);
	if (!ok(s != NULL, "the imported suite validates"))
		goto out;
	is_int(task_suite_n_tasks(s), 2, "two tasks");
	const struct task_task *from = task_suite_task(s, 0), *into = task_suite_task(s, 1);
	is_str(task_id(from), "translate_from_en", "first: from English");
	is_str(task_id(into), "translate_to_en", "second: into English");
	is_int(task_n_items(from), 4, "four sentences");
	is_int(task_n_languages(from), 3, "sr-Cyrl, hr and sr-Latn (English is the other side)");
	ok(!task_item_has(task_item_at(from, 3), (size_t)task_language_index(from, "hr")) &&
	   task_item_has(task_item_at(from, 3), (size_t)task_language_index(from, "sr-Latn")),
	   "sentence 4: no hr (its file has 3 lines), sr-Latn from sr-Cyrl");
	is_int(rep.n_unpaired, 1, "one unpaired sentence");
	like(rep.warnings.data, "hr lacks 1 (line 4)", "the warning names its line");
	is_int((long long)trimmed, 1, "hr's trailing space trimmed (its CR LF line ends are not counted)");
	check_item(from, 0, "sr-Cyrl", "Преведи на српски.\nEnglish: The train leaves Belgrade at eight in the morning.\nСрпски:",
		   "Воз полази из Београда у осам ујутру.", "from English, sr-Cyrl");
	check_item(from, 0, "sr-Latn", "Prevedi na srpski.\nEnglish: The train leaves Belgrade at eight in the morning.\nSrpski:",
		   "Voz polazi iz Beograda u osam ujutru.", "from English, the derived sr-Latn");
	check_item(from, 1, "hr", "Prevedi na hrvatski.\nEnglish: The library is closed on Sundays.\nHrvatski:",
		   "Knjižnica je nedjeljom zatvorena.", "from English, hr (CR LF and the trailing space gone)");
	check_item(into, 2, "hr", "Translate into English.\nHrvatski: Ona živi u Zagrebu već deset godina.\nEnglish:",
		   "She has lived in Zagreb for ten years.", "into English, hr");
	check_item(into, 3, "sr-Latn", "Translate into English.\nSrpski: Sutra se očekuje kiša na severu zemlje.\nEnglish:",
		   "Rain is expected in the north of the country tomorrow.", "into English, the derived sr-Latn");
	is_str(task_gen_expect_script(from, "sr-Latn"), "Latn", "from English: sr-Latn answers in Latin script");
	is_str(task_gen_expect_script(from, "sr-Cyrl"), "Cyrl", "from English: sr-Cyrl answers in Cyrillic");
	is_str(task_gen_expect_language(from, "hr"), "hr", "from English: hr answers in Croatian");
	is_str(task_gen_expect_script(into, "sr-Cyrl"), "Latn", "into English: Latin answers for sr-Cyrl");
	is_str(task_gen_expect_script(into, "sr-Latn"), "Latn", "into English: and for the derived sr-Latn");
	is_str(task_gen_expect_language(into, "sr-Latn"), "en", "into English: English answers for the derived sr-Latn");
	task_suite_free(s);
out:
	free(json);
	mrl_buf_release(&rep.warnings);
}

/* JSONL rows (FLORES+ exported) pair by id, whatever their order. */
static void test_jsonl(void)
{
	const char *en = write_file("en.jsonl", "{\"id\":1,\"text\":\"Two.\"}\n{\"id\":0,\"text\":\"One.\"}\n");
	const char *hr = write_file("hr.jsonl", "{\"id\":0,\"text\":\"Jedan.\"}\n{\"id\":1,\"text\":\"Dva.\"}\n"
						"{\"id\":2,\"text\":\"Tri.\"}\n");
	struct task_import_input in[] = { { "en", en }, { "hr", hr } };
	char *json = NULL;
	struct mrl_err err = {0};
	int rc = import(in, 2, NULL, 0, NULL, &json, &err);
	is_int(rc, 0, "JSONL files import");
	struct task_suite *s = rc ? NULL : parse(json);
	const struct task_task *t = s ? task_suite_task(s, 0) : NULL;
	ok(t && task_n_items(t) == 2, "two items: id 2 has no English");
	if (t) {
		is_str(task_item_id(task_item_at(t, 1)), "1", "ids are FLORES+'s");
		check_item(t, 0, "hr", "Prevedi na hrvatski.\nEnglish: One.\nHrvatski:", "Jedan.", "JSONL paired by id");
	}
	task_suite_free(s);
	free(json);

	/* Montenegrin answers: Latin, as its files must be */
	const char *cnr = write_file("cnr.jsonl", "{\"id\":0,\"text\":\"Jedan.\"}\n");
	struct task_import_input c[] = { { "en", en }, { "cnr", cnr } };
	rc = import(c, 2, NULL, 0, NULL, &json, &err);
	s = rc ? NULL : parse(json);
	ok(s && !strcmp(task_gen_expect_script(task_suite_task(s, 0), "cnr"), "Latn"),
	   "cnr: answers expected in Latin script (the tag does not say)");
	task_suite_free(s);
	free(json);
}

/* dev sentences as the pool of both tasks, ids "pool-N"; --fewshot draws from it. */
static void test_pool(void)
{
	const char *en = write_file("en-dev.txt", "Good morning.\nThank you.\n"),
		   *hr = write_file("hr-dev.txt", "Dobro jutro.\nHvala.\n");
	struct task_import_input in[] = { { "en", DATA "eng_Latn.devtest" }, { "hr", DATA "hrv_Latn.devtest" } },
				 pool[] = { { "en", en }, { "hr", hr } };
	struct task_import_opts opts = { .pool = pool, .n_pool = 2 };
	char *json = NULL;
	struct mrl_err err = {0};
	int rc = task_import("flores", in, 2, &opts, &json, NULL, &err);
	is_int(rc, 0, "FLORES with a pool of dev sentences");
	struct task_suite *s = rc ? NULL : parse(json);
	const struct task_task *from = s ? task_suite_task(s, 0) : NULL, *into = s ? task_suite_task(s, 1) : NULL;
	ok(from && into && task_n_pool(from) == 2 && task_n_pool(into) == 2, "both tasks get the two pool sentences");
	if (from && into) {
		is_str(task_item_id(task_pool_at(from, 1)), "pool-2", "pool ids: pool-<line>, apart from the items'");
		int li = task_language_index(into, "hr");
		is_str(task_item_target(task_pool_at(into, 0), (size_t)li, 0), "Good morning.", "into English: the pool's reference is English");
		struct task_fewshot f;
		task_fewshot(from, &f);
		ok(!f.has, "no few-shot block: zero-shot unless run --fewshot K, which then draws from the pool");
	}
	task_suite_free(s);
	free(json);
	struct task_import_input no_en[] = { { "hr", hr } };
	opts = (struct task_import_opts){ .pool = no_en, .n_pool = 1 };
	ok(task_import("flores", in, 2, &opts, &json, NULL, &err) == MRL_EINPUT, "a pool without English: refused");
	like(err.msg, "give en and at least one other language", "as the sentences would be");
}

static void check_error(const char *title, const char *lang_b, const char *text_a, const char *name_b,
			const char *text_b, const char *want)
{
	const char *a = write_file("a.txt", text_a), *b = write_file(name_b, text_b);
	struct task_import_input in[] = { { "en", a }, { lang_b, b } };
	check_refused("flores", in, 2, NULL, strcmp(lang_b, "de") ? MRL_EINPUT : MRL_EUNSUPPORTED, title, want);
}

static void test_bad(void)
{
	check_error("an empty line", "hr", "One.\nTwo.\n", "b.txt", "Jedan.\n\nDva.\n", "b.txt:2: an empty line");
	check_error("a line that is not UTF-8", "hr", "One.\n", "b.txt", "Jedan\xC3.\n", "b.txt:1: not valid UTF-8");
	check_error("plain text beside JSONL", "hr", "One.\n", "b.jsonl", "{\"id\":0,\"text\":\"Jedan.\"}\n",
		    "give every language in one form");
	check_error("a language without wording", "de", "One.\n", "b.txt", "Eins.\n",
		    "no FLORES wording for language 'de' (known: en, sr-Cyrl, sr-Latn, hr, bs, cnr, mk, sl)");
	check_error("a Latin file under sr-Cyrl", "sr-Cyrl", "One.\n", "b.txt", "Jedan dva tri.\n", "tagged sr-Cyrl");
	const char *en = write_file("en.json", "{\"id\":0,\"text\":\"One.\"}\n"),
		   *hr = write_file("hr.json", "{\"id\":1,\"text\":\"Dva.\"}\n");
	struct task_import_input apart[] = { { "en", en }, { "hr", hr } };
	char *out = NULL;
	struct mrl_err e = {0};
	ok(import(apart, 2, NULL, 0, NULL, &out, &e) == MRL_EINPUT && !out, "no sentence both in English and hr: refused");
	like(e.msg, "no sentence is both in English and in another language (the files pair by id)", "and says how they pair");
	const char *a = write_file("only.txt", "Jedan.\n");
	struct task_import_input in = { "hr", a };
	char *json = NULL;
	struct mrl_err err = {0};
	ok(import(&in, 1, NULL, 0, NULL, &json, &err) == MRL_EINPUT, "without English: refused");
	like(err.msg, "give en and at least one other language", "and says why");
	free(json);
}

int main(void)
{
	import_begin("flores");
	test_files();
	test_jsonl();
	test_pool();
	test_bad();
	return import_end();
}
