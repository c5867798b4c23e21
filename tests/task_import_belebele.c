/* task_import_belebele.c — `merilo import belebele`: Belebele's per-language JSONL ->
 * one suite. Questions pair by (link, question_number) and occurrence, not by row;
 * ids follow the first file; the English prompt is lm-eval-harness's to the byte;
 * answers must agree across languages; bad rows are named by file:line; and
 * --derive adds sr-Latn transliterated from sr-Cyrl (or back), for any importer. */
#include "tasks/task.h"
#include "tests/lmeval_ref.h"
#include "tests/tap.h"
#include "tests/import_test.h"

#include <unistd.h>

#define DATA "tests/data/import/belebele/"

/* A Belebele row: link L, question number Q, passage P, the right answer C (1-4). */
#define ROW(L, Q, P, C)                                                                                       \
	"{\"link\":\"" L "\",\"question_number\":" #Q ",\"flores_passage\":\"" P "\",\"question\":\"Q" #Q "?\"," \
	"\"mc_answer1\":\"a\",\"mc_answer2\":\"b\",\"mc_answer3\":\"c\",\"mc_answer4\":\"d\","                   \
	"\"correct_answer_num\":\"" #C "\",\"dialect\":\"hrv_Latn\"}\n"

static int import(const struct task_import_input *in, size_t n, const char *const *derive, size_t n_derive,
		  struct task_import_report *rep, char **json, struct mrl_err *err)
{
	struct task_import_opts opts = { .derive = derive, .n_derive = n_derive, .report = rep };
	return task_import("belebele", in, n, &opts, json, NULL, err);
}

static struct task_suite *parse(const char *json)
{
	struct task_suite *s = NULL;
	struct mrl_err err = {0};
	if (task_suite_parse("belebele", json, strlen(json), &s, NULL, &err))
		diag("%s", err.msg);
	return s;
}

static char *render(const struct task_task *t, size_t item, const char *lang, char **choice0)
{
	struct task_prompt p;
	struct mrl_err err = {0};
	if (task_render(t, task_item_at(t, item), lang, &p, &err)) {
		diag("%s", err.msg);
		return NULL;
	}
	char *ctx = strdup(p.context);
	if (choice0)
		*choice0 = p.n_choices == 4 ? strdup(p.choices[0]) : NULL;
	task_prompt_release(&p);
	return ctx;
}

static void test_files(void)
{
	struct task_import_input in[] = { { "en", DATA "eng_Latn.jsonl" }, { "sr-Cyrl", DATA "srp_Cyrl.jsonl" },
					  { "hr", DATA "hrv_Latn.jsonl" } };
	const char *derive[] = { "sr-Latn" };
	struct task_import_report rep = {0};
	mrl_buf_init(&rep.warnings);
	char *json = NULL;
	struct mrl_err err = {0};
	int rc = import(in, 3, derive, 1, &rep, &json, &err);
	is_int(rc, 0, "the three test files import, with sr-Latn derived");
	if (rc) {
		diag("%s", err.msg);
		mrl_buf_release(&rep.warnings);
		return;
	}
	struct task_suite *s = parse(json);
	ok(s != NULL, "the imported suite validates");
	if (!s)
		goto out;
	const struct task_task *t = task_suite_task(s, 0);
	is_str(task_suite_name(s), "belebele", "default suite name");
	is_int(task_n_items(t), 3, "three questions");
	is_int(task_n_languages(t), 4, "four languages: en, sr-Cyrl, hr and the derived sr-Latn");
	is_str(task_language(t, 3), "sr-Latn", "sr-Latn comes last, derived");
	is_str(task_item_id(task_item_at(t, 2)), "3", "ids follow the first file's order: the Tesla question is 3");
	is_int(task_item_gold(task_item_at(t, 0)), 1, "gold is correct_answer_num - 1");
	is_int(task_item_gold(task_item_at(t, 2)), 3, "gold of the third question");
	ok(!task_item_has(task_item_at(t, 1), 2) && task_item_has(task_item_at(t, 2), 2),
	   "hr lacks question 2 and has question 3, though its rows come in another order");
	is_int(rep.n_unpaired, 1, "one unpaired question");
	like(rep.warnings.data, "hr lacks 1 (question 2)", "the warning names it");

	check_lmeval(t, DATA "lmeval-eng_Latn.json", 3);
	char *choice = NULL, *ctx = render(t, 0, "en", &choice);
	is_str(ctx, "P: The Danube flows through four capital cities: Vienna, Bratislava, Budapest and Belgrade. At "
		    "Belgrade the Sava joins it, below the Kalemegdan fortress.\nQ: Where does the Sava join the Danube?\n"
		    "A: In Vienna\nB: In Belgrade\nC: In Budapest\nD: In Bratislava\nAnswer:",
	       "en: lm-eval-harness's belebele prompt");
	is_str(choice, "A", "the choices are the letters");
	free(ctx), free(choice);
	ctx = render(t, 2, "hr", NULL);
	is_str(ctx, "Tekst: Nikola Tesla rođen je 1856. u Smiljanu, selu u Lici. Studirao je u Grazu, a kasnije radio u "
		    "Parizu, prije nego što se 1884. preselio u New York.\nPitanje: Kamo se Tesla preselio 1884.?\nA: U Graz\n"
		    "B: U Pariz\nC: U Smiljan\nD: U New York\nOdgovor:",
	     "hr wording; the pairing took hr's first row for question 3");
	free(ctx);
	ctx = render(t, 0, "hr", NULL);
	like(ctx, "\nPitanje: Gdje se Sava ulijeva u Dunav?\n", "the trailing space of hr's question is trimmed");
	free(ctx);
	ctx = render(t, 1, "sr-Cyrl", NULL);
	is_str(ctx, "Текст: Дунав протиче кроз четири главна града: Беч, Братиславу, Будимпешту и Београд. Код Београда "
		    "се у њега улива Сава, испод тврђаве Калемегдан.\nПитање: Кроз колико главних градова протиче Дунав?\n"
		    "A: Два\nB: Три\nC: Четири\nD: Пет\nОдговор:",
	     "sr-Cyrl wording, the letters Latin");
	free(ctx);
	char *cyr = render(t, 2, "sr-Latn", &choice);
	is_str(cyr, "Tekst: Nikola Tesla rođen je 1856. godine u Smiljanu, selu u Lici. Studirao je u Gracu, a kasnije "
		    "radio u Parizu, pre nego što se 1884. preselio u Njujork.\nPitanje: Gde se Tesla preselio 1884. godine?\n"
		    "A: U Grac\nB: U Pariz\nC: U Smiljan\nD: U Njujork\nOdgovor:",
	     "sr-Latn is sr-Cyrl transliterated, the template too");
	is_str(choice, "A", "the derived language keeps the letters");
	free(cyr), free(choice);
	task_suite_free(s);
out:
	free(json);
	mrl_buf_release(&rep.warnings);
}

/* The same (link, question_number) twice in a file (a passage in FLORES's dev and
 * devtest): the n-th occurrence pairs with the n-th of the other file. */
static void test_occurrences(void)
{
	const char *a = write_file("a.jsonl", ROW("L1", 1, "first", 1) ROW("L1", 1, "second", 2) ROW("L2", 1, "third", 3));
	const char *b = write_file("b.jsonl", ROW("L2", 1, "treci", 3) ROW("L1", 1, "prvi", 1) ROW("L3", 1, "novo", 4)
						      ROW("L1", 1, "drugi", 2));
	struct task_import_input in[] = { { "en", a }, { "hr", b } };
	char *json = NULL;
	struct mrl_err err = {0};
	int rc = import(in, 2, NULL, 0, NULL, &json, &err);
	is_int(rc, 0, "repeated (link, question_number) pairs import");
	struct task_suite *s = rc ? NULL : parse(json);
	const struct task_task *t = s ? task_suite_task(s, 0) : NULL;
	ok(t && task_n_items(t) == 4, "four questions: three in both files, one only in the second");
	if (t) {
		char *x = render(t, 1, "hr", NULL);
		like(x, "Tekst: drugi\n", "the second occurrence pairs with the second");
		free(x);
		x = render(t, 3, "hr", NULL);
		is_str(task_item_id(task_item_at(t, 3)), "4", "a question only the second file has comes last, id 4");
		like(x, "Tekst: novo\n", "and it is that file's");
		free(x);
	}
	task_suite_free(s);
	free(json);
}

static void check_error(const char *title, const char *text_a, const char *text_b, const char *want)
{
	const char *a = write_file("e1.jsonl", text_a), *b = text_b ? write_file("e2.jsonl", text_b) : NULL;
	struct task_import_input in[] = { { "hr", a }, { "bs", b } };
	check_refused("belebele", in, b ? 2 : 1, NULL, MRL_EINPUT, title, want);
}

static void test_bad_rows(void)
{
	check_error("answers that disagree across languages", ROW("L1", 1, "x", 2), ROW("L1", 1, "x", 3),
		    "e2.jsonl:1: the right answer is C, but ");
	check_error("a missing answer",
		    ROW("L1", 1, "x", 1) "{\"link\":\"L2\",\"question_number\":1,\"flores_passage\":\"p\",\"question\":\"q\","
					 "\"mc_answer1\":\"a\",\"mc_answer2\":\"b\",\"mc_answer4\":\"d\",\"correct_answer_num\":\"1\"}\n",
		    NULL, "e1.jsonl:2: \"mc_answer3\" is missing; expected a non-empty string");
	check_error("an answer number out of range", ROW("L1", 1, "x", 5), NULL,
		    "e1.jsonl:1: \"correct_answer_num\" must be 1, 2, 3 or 4");
	check_error("a question number that is not one",
		    "{\"link\":\"L\",\"question_number\":\"one\",\"flores_passage\":\"p\",\"question\":\"q\",\"mc_answer1\":\"a\","
		    "\"mc_answer2\":\"b\",\"mc_answer3\":\"c\",\"mc_answer4\":\"d\",\"correct_answer_num\":\"1\"}\n",
		    NULL, "e1.jsonl:1: \"question_number\" must be a non-negative integer");
	check_error("a row without link", "{\"question_number\":1}\n", NULL, "e1.jsonl:1: \"link\" is missing");
	check_error("malformed JSON", ROW("L1", 1, "x", 1) "{\"link\": \n", NULL, "e1.jsonl:2: ");

	const char *a = write_file("de.jsonl", ROW("L1", 1, "x", 1));
	struct task_import_input de = { "de", a };
	char *json = NULL;
	struct mrl_err err = {0};
	ok(import(&de, 1, NULL, 0, NULL, &json, &err) == MRL_EUNSUPPORTED && !json, "a language without wording: refused");
	like(err.msg, "no Belebele wording for language 'de' (known: en, sr-Cyrl, sr-Latn, hr, bs, cnr, mk, sl)",
	     "and the known ones listed");
	/* a Latin file under a Cyrillic tag is the same check as COPA's */
	struct task_import_input cyr = { "sr-Cyrl", a };
	ok(import(&cyr, 1, NULL, 0, NULL, &json, &err) == MRL_EINPUT, "a Latin file under sr-Cyrl: refused");
	like(err.msg, "tagged sr-Cyrl, which is written in Cyrillic script", "the script check names the tag");
}

/* --derive through the library (the CLI refuses the same as usage errors). */
static void test_derive(void)
{
	const char *cyr = DATA "srp_Cyrl.jsonl", *lat = write_file("lat.jsonl", ROW("L1", 1, "x", 1));
	struct task_import_input in[] = { { "sr-Cyrl", cyr }, { "hr", lat } };
	char *json = NULL;
	struct mrl_err err = {0};
	const char *hr[] = { "hr" }, *lat_ok[] = { "sr-Latn" }, *cyr_d[] = { "sr-Cyrl" }, *twice[] = { "sr-Latn", "sr-Latn" };
	ok(import(in, 2, hr, 1, NULL, &json, &err) == MRL_EINPUT, "--derive hr: refused");
	like(err.msg, "only sr-Latn (from sr-Cyrl) and sr-Cyrl (from sr-Latn) can be derived", "and says what can");
	ok(import(in, 2, cyr_d, 1, NULL, &json, &err) == MRL_EINPUT, "--derive sr-Cyrl when sr-Cyrl is imported: refused");
	like(err.msg, "sr-Cyrl is also imported from tests/data/import/belebele/srp_Cyrl.jsonl", "naming the file");
	ok(import(in + 1, 1, lat_ok, 1, NULL, &json, &err) == MRL_EINPUT, "--derive sr-Latn without sr-Cyrl: refused");
	like(err.msg, "made from sr-Cyrl, which is not imported", "naming the missing source");
	ok(import(in, 2, twice, 2, NULL, &json, &err) == MRL_EINPUT, "--derive sr-Latn twice: refused");
	ok(json == NULL, "nothing produced by a refused import");

	/* sr-Cyrl derived from a Latin file: the text transliterated, the letters A-D not (they
	 * are kept as choices, and verbatim in the template); before, a lone "B" stayed Latin
	 * as the byte unit while the template's "B:" became Cyrillic, and scoring broke */
	const char *lat2 = write_file("lat2.jsonl", ROW("L1", 1, "Beograd je na Dunavu", 2));
	struct task_import_input l = { "sr-Latn", lat2 };
	const char *to_cyr[] = { "sr-Cyrl" };
	struct task_import_opts dopts = { .derive = to_cyr, .n_derive = 1 };
	int drc = task_import("belebele", &l, 1, &dopts, &json, NULL, &err);
	struct task_suite *ds = drc ? NULL : parse(json);
	ok(json && strstr(json, "\"keep\""), "the derived language keeps the choices");
	if (ds) {
		struct task_prompt p;
		if (!task_render(task_suite_task(ds, 0), task_item_at(task_suite_task(ds, 0), 0), "sr-Cyrl", &p, &err)) {
			/* (a lone answer "b" stays Latin: the transliterator takes it for the byte unit) */
			is_str(p.context, "Текст: Београд је на Дунаву\nПитање: Q1?\nA: а\nB: b\nC: ц\nD: д\nОдговор:",
			       "sr-Cyrl from sr-Latn: the passage and answers in Cyrillic, the letters A-D Latin");
			ok(p.n_choices == 4 && !strcmp(p.choices[0], "A") && !strcmp(p.choices[1], "B") &&
			   !strcmp(p.choices[2], "C") && !strcmp(p.choices[3], "D"), "and the choices the same letters");
			task_prompt_release(&p);
		}
	}
	task_suite_free(ds);
	free(json);
	json = NULL;

	/* COPA too: the BENCHić-like Cyrillic file derives its Latin variant */
	const char *copa = write_file("copa.jsonl", "{\"premise\":\"Дечак је пао.\",\"choice1\":\"Плакао је.\",\"choice2\":"
						    "\"Смејао се.\",\"question\":\"effect\",\"label\":0,\"idx\":7}\n");
	struct task_import_input c = { "sr-Cyrl", copa };
	struct task_import_opts opts = { .derive = lat_ok, .n_derive = 1 };
	int rc = task_import("copa", &c, 1, &opts, &json, NULL, &err);
	struct task_suite *s = rc ? NULL : parse(json);
	char *ctx = NULL, *choice = NULL;
	if (s)
		ctx = render(task_suite_task(s, 0), 0, "sr-Latn", NULL);
	is_str(ctx, "Dečak je pao, pa", "copa --derive sr-Latn: the Latin context from the Cyrillic file");
	if (s) {
		struct task_prompt p;
		if (!task_render(task_suite_task(s, 0), task_item_at(task_suite_task(s, 0), 0), "sr-Latn", &p, &err)) {
			choice = strdup(p.choices[1]);
			task_prompt_release(&p);
		}
	}
	is_str(choice, "smejao se.", "and its choices");
	free(ctx), free(choice);
	task_suite_free(s);
	free(json);
}

int main(void)
{
	import_begin("belebele");
	test_files();
	test_occurrences();
	test_bad_rows();
	test_derive();
	return import_end();
}
