/* task_import.c — importers: COPA JSONL -> suite (pairing by idx, label agreement,
 * per-language wording), bad JSONL lines reported as file:line, the atomic writer,
 * and the real BENCHić COPA files (skipped where the fixtures are absent). */
#include "common/fileio.h"
#include "common/sha256.h"
#include "tasks/task.h"
#include "tests/tap.h"
#include "tests/import_test.h"

#include <dirent.h>
#include <unistd.h>


/* write_file for bytes that may hold a NUL */
static const char *write_bytes(const char *name, const char *bytes, size_t len)
{
	const char *p = write_file(name, "");
	FILE *f = fopen(p, "wb");
	fwrite(bytes, 1, len, f);
	fclose(f);
	return p;
}

#define ROW(idx, label, q) "{\"premise\":\"P" #idx ".\",\"choice1\":\"A\",\"choice2\":\"B\",\"question\":\"" q "\",\"label\":" #label ",\"idx\":" #idx "}\n"

static int run_import(const char *l1, const char *p1, const char *l2, const char *p2, char **json, struct mrl_err *err)
{
	struct task_import_input in[2] = { { l1, p1 }, { l2, p2 } };
	return task_import("copa", in, l2 ? 2 : 1, NULL, json, NULL, err);
}

static void check_import_error(const char *name, const char *a, const char *b, int want_rc, const char *want_msg)
{
	char *json = NULL;
	struct mrl_err err = {0};
	char title[200];
	int rc = run_import("hr", a, b ? "sr-Latn" : NULL, b, &json, &err);
	snprintf(title, sizeof title, "%s: rejected", name);
	ok(rc == want_rc && json == NULL, title);
	snprintf(title, sizeof title, "%s: message", name);
	like(err.msg, want_msg, title);
	free(json);
}

static void test_small(void)
{
	const char *a = write_file("a.jsonl", ROW(0, 0, "cause") ROW(1, 1, "effect") "\n" ROW(2, 0, "cause"));
	const char *b = write_file("b.jsonl", ROW(2, 0, "cause") ROW(0, 0, "cause"));
	char *json = NULL;
	struct mrl_err err = {0};
	int rc = run_import("hr", a, "sr-Latn", b, &json, &err);
	is_int(rc, 0, "small COPA import succeeds");
	if (rc) {
		diag("%s", err.msg);
		return;
	}
	struct task_suite *s = NULL;
	rc = task_suite_parse("small", json, strlen(json), &s, NULL, &err);
	is_int(rc, 0, "the imported suite validates");
	if (rc) {
		diag("%s", err.msg);
		free(json);
		return;
	}
	const struct task_task *t = task_suite_task(s, 0);
	is_str(task_suite_name(s), "copa", "default suite name");
	is_int(task_n_items(t), 3, "items are the union of idx values");
	const struct task_item *i1 = task_item_at(t, 1);
	is_str(task_item_id(i1), "1", "items ordered by idx, id is the idx");
	ok(task_item_has(i1, 0) && !task_item_has(i1, 1), "idx 1 only in hr: no sr-Latn variant (unpaired)");
	is_int(task_item_gold(i1), 1, "gold is the label");
	struct task_prompt p;
	rc = task_render(t, task_item_at(t, 0), "sr-Latn", &p, &err);
	ok(!rc && !strcmp(p.context, "P0, zato što") && !strcmp(p.choices[0], "a"), "sr-Latn cause wording");
	task_prompt_release(&p);
	rc = task_render(t, i1, "hr", &p, &err);
	ok(!rc && !strcmp(p.context, "P1, pa") && !strcmp(p.choices[1], "b"), "hr effect wording");
	task_prompt_release(&p);
	task_suite_free(s);
	free(json);

	struct task_import_input one = { "en", a };
	struct task_import_opts opts = { .name = "my-copa", .license = "CC-BY-SA-4.0" };
	rc = task_import("copa", &one, 1, &opts, &json, NULL, &err);
	ok(!rc && strstr(json, "\"name\": \"my-copa\"") && strstr(json, "\"license\": \"CC-BY-SA-4.0\"") &&
	   strstr(json, "{premise|rstrip_period} because"), "options name the suite; English wording as lm-eval-harness");
	free(json);
}

/* A JSONL file saved with a UTF-8 byte-order mark (Windows editors) imports as without one. */
static void test_bom(void)
{
	const char *a = write_file("bom.jsonl", "\xEF\xBB\xBF" ROW(0, 0, "cause") ROW(1, 1, "effect"));
	char *json = NULL;
	struct mrl_err err = {0};
	int rc = run_import("hr", a, NULL, NULL, &json, &err);
	is_int(rc, 0, "a JSONL file with a byte-order mark imports");
	if (rc)
		diag("%s", err.msg);
	struct task_suite *s = NULL;
	if (!rc)
		rc = task_suite_parse("bom", json, strlen(json), &s, NULL, &err);
	ok(!rc && s && task_n_items(task_suite_task(s, 0)) == 2, "both of its records are items");
	task_suite_free(s);
	free(json);
}

static void test_bad_inputs(void)
{
	const char *good = write_file("good.jsonl", ROW(0, 0, "cause") ROW(1, 1, "effect"));
	check_import_error("malformed line", write_file("m.jsonl", ROW(0, 0, "cause") ROW(1, 1, "effect") "{\"premise\": \n"),
			   NULL, MRL_EINPUT, "m.jsonl:3: truncated JSON");
	check_import_error("line is not an object", write_file("arr.jsonl", "[1,2]\n"), NULL, MRL_EINPUT,
			   "arr.jsonl:1: expected one JSON object per line");
	check_import_error("missing premise", write_file("np.jsonl", "{\"choice1\":\"a\",\"choice2\":\"b\",\"question\":\"cause\",\"label\":0,\"idx\":0}\n"),
			   NULL, MRL_EINPUT, "np.jsonl:1: \"premise\" is missing");
	check_import_error("bad question", write_file("q.jsonl", ROW(0, 0, "why")), NULL, MRL_EINPUT,
			   "q.jsonl:1: \"question\" must be \"cause\" or \"effect\"");
	check_import_error("bad label", write_file("l.jsonl", ROW(0, 2, "cause")), NULL, MRL_EINPUT,
			   "l.jsonl:1: \"label\" must be 0 or 1");
	check_import_error("duplicate idx", write_file("d.jsonl", ROW(0, 0, "cause") ROW(1, 0, "cause") ROW(0, 0, "cause")),
			   NULL, MRL_EINPUT, "d.jsonl:3: duplicate idx 0 (also on line 1)");
	check_import_error("labels disagree", good, write_file("dis.jsonl", ROW(0, 0, "cause") ROW(1, 0, "effect")),
			   MRL_EINPUT, "dis.jsonl:2: idx 1 has label 0, but");
	check_import_error("questions disagree", good, write_file("qd.jsonl", ROW(0, 0, "effect")), MRL_EINPUT,
			   "qd.jsonl:1: idx 0 asks for the effect");
	check_import_error("empty file", write_file("e.jsonl", "\n\n"), NULL, MRL_EINPUT, "e.jsonl: no records");
	check_import_error("a byte-order mark alone", write_file("bo.jsonl", "\xEF\xBB\xBF\n"), NULL, MRL_EINPUT,
			   "bo.jsonl: no records");
	check_import_error("trailing data on a line", write_file("t.jsonl", ROW(0, 0, "cause") "{\"premise\": \"P\"} x\n"),
			   NULL, MRL_EINPUT, "t.jsonl:2: trailing data after the JSON value (column 18)");
	check_import_error("null line", write_file("nl.jsonl", ROW(0, 0, "cause") "null\n"), NULL, MRL_EINPUT,
			   "nl.jsonl:2: expected one JSON object per line, found null");
	/* jansson's json_loadb skips a NUL between tokens: the line was read as if it were not there */
	static const char nul[] = ROW(0, 0, "cause") "{\"premise\":\"P1.\",\0\"choice1\":\"A\",\"choice2\":\"B\","
				  "\"question\":\"cause\",\"label\":0,\"idx\":1}\n";
	check_import_error("NUL byte on a line", write_bytes("nul.jsonl", nul, sizeof nul - 1), NULL, MRL_EINPUT,
			   "nul.jsonl:2: NUL byte, which JSON text cannot contain (column 18)");
	check_import_error("missing file", "/nonexistent/x.jsonl", NULL, MRL_EIO, "/nonexistent/x.jsonl: cannot open");

	char *json = NULL;
	struct mrl_err err = {0};
	int rc = run_import("de", good, NULL, NULL, &json, &err);
	ok(rc == MRL_EUNSUPPORTED && strstr(err.msg, "no COPA wording for language 'de'"), "language without wording");
	rc = run_import("hr", good, "hr", good, &json, &err);
	ok(rc == MRL_EINPUT && strstr(err.msg, "language 'hr' given twice"), "duplicate language");
	rc = run_import("sr_Latn", good, NULL, NULL, &json, &err);
	ok(rc == MRL_EINPUT && strstr(err.msg, "not a BCP 47 language tag"), "bad language tag");
	rc = run_import("sr-latn", good, NULL, NULL, &json, &err);
	ok(rc == MRL_EINPUT && strstr(err.msg, "\"sr-latn\": write the language tag in canonical case, \"sr-Latn\""),
	   "a tag in another case: its canonical case is named (it was called not a BCP 47 tag)");
	struct task_import_input in = { "hr", good };
	rc = task_import("hellaswag", &in, 1, NULL, &json, NULL, &err);
	ok(rc == MRL_EUNSUPPORTED && strstr(err.msg, "unknown import format 'hellaswag'"), "unknown importer");
	ok(task_n_importers() >= 1 && !strcmp(task_importer_name(0), "copa"), "importer table lists copa");
}

/* The same files imported from two folders give the same suite, byte for byte:
 * the source names each file without its folder, with its sha256. */
static void test_provenance(void)
{
	static const char text[] = ROW(0, 0, "cause") ROW(1, 1, "effect");
	char sub1[300], sub2[300], p1[340], p2[340];
	snprintf(sub1, sizeof sub1, "%s/one", dir);
	snprintf(sub2, sizeof sub2, "%s/two/deeper", dir);
	struct mrl_err err = {0};
	mrl_mkdir_p(sub1, &err);
	mrl_mkdir_p(sub2, &err);
	snprintf(p1, sizeof p1, "%s/test-hr.jsonl", sub1);
	snprintf(p2, sizeof p2, "%s/test-hr.jsonl", sub2);
	mrl_write_file_atomic(p1, text, sizeof text - 1, &err);
	mrl_write_file_atomic(p2, text, sizeof text - 1, &err);
	char *j1 = NULL, *j2 = NULL;
	int rc1 = run_import("hr", p1, NULL, NULL, &j1, &err);
	int rc2 = run_import("hr", p2, NULL, NULL, &j2, &err);
	ok(!rc1 && !rc2, "both folders import");
	if (rc1 || rc2) {
		diag("%s", err.msg);
		free(j1), free(j2);
		return;
	}
	is_str(j1, j2, "the same files from two folders: identical suite text");
	char h1[MRL_SHA256_HEX_LEN + 1], h2[MRL_SHA256_HEX_LEN + 1], hf[MRL_SHA256_HEX_LEN + 1];
	mrl_sha256_buf_hex(j1, strlen(j1), h1);
	mrl_sha256_buf_hex(j2, strlen(j2), h2);
	is_str(h1, h2, "... and so the same suite sha256");
	ok(!strstr(j1, dir), "the source holds no folder of the input");
	mrl_sha256_buf_hex(text, sizeof text - 1, hf);
	char want[200];
	snprintf(want, sizeof want, "\"source\": \"imported from COPA JSONL: hr=test-hr.jsonl (sha256 %s)\"", hf);
	like(j1, want, "the source names the file and its sha256");
	free(j1);
	free(j2);
}

/* Stray blanks around imported text are trimmed and counted. */
static void test_trim(void)
{
	const char *a = write_file("trim.jsonl",
		"{\"premise\":\" P0. \",\"choice1\":\"A \",\"choice2\":\"B\",\"question\":\"cause\",\"label\":0,\"idx\":0}\n"
		"{\"premise\":\"P1.\",\"choice1\":\"A\",\"choice2\":\"\\tB\",\"question\":\"effect\",\"label\":1,\"idx\":1}\n");
	struct task_import_input in = { "hr", a };
	char *json = NULL;
	struct mrl_err err = {0};
	size_t n_trimmed = 99;
	int rc = task_import("copa", &in, 1, NULL, &json, &n_trimmed, &err);
	is_int(rc, 0, "a file with stray blanks imports");
	is_int(n_trimmed, 3, "three fields trimmed (premise and choice1 of idx 0, choice2 of idx 1)");
	struct task_suite *s = NULL;
	if (!rc)
		rc = task_suite_parse("trim", json, strlen(json), &s, NULL, &err);
	struct task_prompt p;
	if (!rc)
		rc = task_render(task_suite_task(s, 0), task_item_at(task_suite_task(s, 0), 0), "hr", &p, &err);
	ok(!rc && !strcmp(p.context, "P0, jer") && !strcmp(p.choices[0], "a"), "trimmed text renders without doubled spaces");
	if (!rc)
		task_prompt_release(&p);
	task_suite_free(s);
	free(json);
	check_import_error("premise of blanks only",
			   write_file("blank.jsonl", "{\"premise\":\"  \",\"choice1\":\"A\",\"choice2\":\"B\",\"question\":\"cause\",\"label\":0,\"idx\":0}\n"),
			   NULL, MRL_EINPUT, "blank.jsonl:1: \"premise\"");
}

static void test_atomic_write(void)
{
	char path[300];
	struct mrl_err err = {0};
	snprintf(path, sizeof path, "%s/out.json", dir);
	is_int(mrl_write_file_atomic(path, "first\n", 6, &err), 0, "atomic write");
	is_int(mrl_write_file_atomic(path, "second\n", 7, &err), 0, "atomic overwrite");
	char buf[32] = "";
	FILE *f = fopen(path, "rb");
	size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
	if (f)
		fclose(f);
	buf[n] = '\0';
	is_str(buf, "second\n", "the file holds the last content");
	int leftovers = 0;
	DIR *d = opendir(dir);
	struct dirent *e;
	while (d && (e = readdir(d)))
		leftovers += strstr(e->d_name, ".tmp.") != NULL;
	if (d)
		closedir(d);
	is_int(leftovers, 0, "no temporary files left behind");
	int rc = mrl_write_file_atomic("/nonexistent-dir/out.json", "x", 1, &err);
	ok(rc == MRL_EWRITE && strstr(err.msg, "cannot create a temporary file"), "unwritable folder: MRL_EWRITE with reason");
}

static void test_benchich(void)
{
	const char *fx = fixtures_dir();
	if (!fx) {
		skip("fixtures absent: ../shared/fixtures", "BENCHić COPA imports and validates");
		return;
	}
	char sr[512], lat[512], hr[512];
	snprintf(sr, sizeof sr, "%s/data/benchich-copa/test-sr.jsonl", fx);
	snprintf(lat, sizeof lat, "%s/data/benchich-copa/test-sr-lat.jsonl", fx);
	snprintf(hr, sizeof hr, "%s/data/benchich-copa/test-hr.jsonl", fx);
	struct task_import_input in[3] = { { "sr-Cyrl", sr }, { "sr-Latn", lat }, { "hr", hr } };
	char *json = NULL;
	struct mrl_err err = {0};
	size_t n_trimmed = 0;
	int rc = task_import("copa", in, 3, NULL, &json, &n_trimmed, &err);
	is_int(rc, 0, "BENCHić COPA (3 languages) imports");
	is_int(n_trimmed, 3, "BENCHić: hr items 9, 311 and 458 have a stray space, trimmed");
	if (rc) {
		diag("%s", err.msg);
		return;
	}
	struct task_suite *s = NULL;
	rc = task_suite_parse("benchich-copa.json", json, strlen(json), &s, NULL, &err);
	is_int(rc, 0, "the imported BENCHić suite validates");
	free(json);
	if (rc) {
		diag("%s", err.msg);
		return;
	}
	const struct task_task *t = task_suite_task(s, 0);
	is_int(task_n_items(t), 500, "500 items");
	size_t paired = 0;
	for (size_t i = 0; i < task_n_items(t); i++)
		paired += task_item_has(task_item_at(t, i), 0) && task_item_has(task_item_at(t, i), 1) &&
			  task_item_has(task_item_at(t, i), 2);
	is_int(paired, 500, "every item has all three languages");
	/* the first line of test-sr.jsonl: idx 0, label 0, cause */
	FILE *f = fopen(sr, "rb");
	char line[4096] = "";
	if (f) {
		if (!fgets(line, sizeof line, f))
			line[0] = '\0';
		fclose(f);
	}
	ok(strstr(line, "\"label\":0") && strstr(line, "\"idx\":0") && task_item_gold(task_item_at(t, 0)) == 0,
	   "gold of idx 0 matches the file's label");
	struct task_prompt p;
	rc = task_render(t, task_item_at(t, 0), "sr-Cyrl", &p, &err);
	ok(!rc && !strcmp(p.context, "Предмет је био запакован у пуцкетаву фолију, зато што") &&
	   !strcmp(p.choices[0], "био је ломљив."), "sr-Cyrl prompt of idx 0");
	task_prompt_release(&p);
	rc = task_render(t, task_item_at(t, 1), "hr", &p, &err);
	ok(!rc && !strcmp(p.context, "Ispraznio sam džepove, pa"), "hr effect prompt of idx 1");
	task_prompt_release(&p);
	const struct task_item *i458 = NULL;
	for (size_t i = 0; i < task_n_items(t); i++)
		if (!strcmp(task_item_id(task_item_at(t, i)), "458"))
			i458 = task_item_at(t, i);
	rc = i458 ? task_render(t, i458, "hr", &p, &err) : -1;
	ok(!rc && !strcmp(p.choices[1], "stavio sam posudu u vruću peć."), "hr idx 458: no leading space in choice 2");
	if (!rc)
		task_prompt_release(&p);
	task_suite_free(s);
}

/* Import with a report: rc, the JSON (caller frees) and the warnings. */
static int import_report(const struct task_import_input *in, size_t n, bool force, struct task_import_report *rep,
			 char **json, struct mrl_err *err)
{
	struct task_import_opts opts = { .force = force, .report = rep };
	mrl_buf_init(&rep->warnings);
	return task_import("copa", in, n, &opts, json, NULL, err);
}

#define CYRL_ROW(idx, label, q) "{\"premise\":\"Човек је отворио славину.\",\"choice1\":\"Вода је текла.\"," \
	"\"choice2\":\"Пао је.\",\"question\":\"" q "\",\"label\":" #label ",\"idx\":" #idx "}\n"

/* Each file's script is checked against its tag: a mismatch names the file, the
 * tag and the shares; --force imports it with a warning. */
static void test_script_check(void)
{
	const char *lat = write_file("latin.jsonl", ROW(0, 0, "cause") ROW(1, 1, "effect"));
	const char *cyr = write_file("cyrillic.jsonl", CYRL_ROW(0, 0, "cause") CYRL_ROW(1, 1, "effect"));
	struct task_import_report rep;
	char *json = NULL;
	struct mrl_err err = {0};
	struct task_import_input in = { "sr-Cyrl", lat };
	int rc = import_report(&in, 1, false, &rep, &json, &err);
	ok(rc == MRL_EINPUT && !json, "a Latin file under sr-Cyrl is refused (MRL_EINPUT: exit 3)");
	like(err.msg, "latin.jsonl: tagged sr-Cyrl, which is written in Cyrillic script, but 0.0% of its",
	     "the error names the file and the tag");
	like(err.msg, "letters are Cyrillic and 100.0% Latin", "the error gives the measured shares");
	like(err.msg, "pass --force", "the error says how to override");
	mrl_buf_release(&rep.warnings);
	rc = import_report(&in, 1, true, &rep, &json, &err);
	is_int(rc, 0, "--force imports it");
	like(rep.warnings.data, "latin.jsonl: tagged sr-Cyrl", "--force: a warning names the file and the tag");
	like(rep.warnings.data, "imported anyway (--force)", "--force: the warning says it was imported anyway");
	free(json);
	json = NULL;
	mrl_buf_release(&rep.warnings);
	static const char *const latin_tags[] = { "sr-Latn", "hr", "bs", "cnr", "en" };
	for (size_t i = 0; i < sizeof latin_tags / sizeof latin_tags[0]; i++) {
		struct task_import_input c = { latin_tags[i], cyr };
		char name[80];
		snprintf(name, sizeof name, "a Cyrillic file under %s is refused", latin_tags[i]);
		rc = import_report(&c, 1, false, &rep, &json, &err);
		ok(rc == MRL_EINPUT && strstr(err.msg, "which is written in Latin script"), name);
		mrl_buf_release(&rep.warnings);
	}
	struct task_import_input good[2] = { { "sr-Cyrl", cyr }, { "sr-Latn", lat } };
	rc = import_report(good, 2, false, &rep, &json, &err);
	ok(rc == 0 && rep.warnings.len == 0, "Cyrillic under sr-Cyrl and Latin under sr-Latn: no error, no warning");
	free(json);
	json = NULL;
	mrl_buf_release(&rep.warnings);
}

/* Languages with different item sets: imported, the unpaired items counted and
 * listed by id, in a warning and in the suite's description. */
static void test_unpaired(void)
{
	const char *en = write_file("en5.jsonl", ROW(0, 0, "cause") ROW(1, 1, "effect") ROW(2, 0, "cause")
						 ROW(3, 1, "effect") ROW(4, 0, "cause"));
	const char *hr = write_file("hr2.jsonl", ROW(1, 1, "effect") ROW(3, 1, "effect"));
	struct task_import_input in[2] = { { "en", en }, { "hr", hr } };
	struct task_import_report rep;
	char *json = NULL;
	struct mrl_err err = {0};
	int rc = import_report(in, 2, false, &rep, &json, &err);
	is_int(rc, 0, "5 en items beside 2 hr items import");
	is_int(rep.n_items, 5, "the report: 5 items");
	is_int(rep.n_unpaired, 3, "the report: 3 of them unpaired");
	like(rep.warnings.data, "Unpaired items: 3 of 5 items are not in every language: hr lacks 3 (idx 0, 2, 4).",
	     "the warning counts them and lists the ids hr lacks");
	like(json, "Unpaired items: 3 of 5 items are not in every language", "the suite's description records them");
	free(json);
	mrl_buf_release(&rep.warnings);
	struct task_import_input same[2] = { { "en", en }, { "hr", en } };
	rc = import_report(same, 2, false, &rep, &json, &err);
	ok(rc == 0 && rep.n_unpaired == 0 && rep.warnings.len == 0 && !strstr(json, "Unpaired"),
	   "equal item sets: no warning, description unchanged");
	free(json);
	mrl_buf_release(&rep.warnings);
}

/* BENCHić: the Latin sr file under sr-Cyrl is refused; 100 hr lines beside 500 sr
 * lines give 400 unpaired items, the first ids 100..109. */
static void test_benchich_checks(void)
{
	const char *fx = fixtures_dir();
	if (!fx) {
		skip("fixtures absent: ../shared/fixtures", "BENCHić script and pairing checks");
		return;
	}
	char sr[512], lat[512], hr[512], hr100[400];
	snprintf(sr, sizeof sr, "%s/data/benchich-copa/test-sr.jsonl", fx);
	snprintf(lat, sizeof lat, "%s/data/benchich-copa/test-sr-lat.jsonl", fx);
	snprintf(hr, sizeof hr, "%s/data/benchich-copa/test-hr.jsonl", fx);
	snprintf(hr100, sizeof hr100, "%s/hr100.jsonl", dir);
	struct task_import_report rep;
	char *json = NULL;
	struct mrl_err err = {0};
	struct task_import_input swapped[2] = { { "sr-Cyrl", lat }, { "sr-Latn", sr } };
	int rc = import_report(swapped, 2, false, &rep, &json, &err);
	ok(rc == MRL_EINPUT && strstr(err.msg, "test-sr-lat.jsonl: tagged sr-Cyrl") &&
	   strstr(err.msg, "0.0% of its 34224 letters are Cyrillic and 100.0% Latin"),
	   "BENCHić: test-sr-lat.jsonl under sr-Cyrl refused (34224 letters, 100% Latin)");
	mrl_buf_release(&rep.warnings);
	char cmd[1200];
	snprintf(cmd, sizeof cmd, "head -n 100 '%s' > '%s'", hr, hr100);
	if (system(cmd)) {
		ok(0, "could not write the first 100 hr lines");
		return;
	}
	struct task_import_input part[2] = { { "sr-Cyrl", sr }, { "hr", hr100 } };
	rc = import_report(part, 2, false, &rep, &json, &err);
	is_int(rc, 0, "BENCHić: 500 sr-Cyrl lines beside 100 hr lines import");
	is_int(rep.n_unpaired, 400, "BENCHić: 400 unpaired items");
	like(rep.warnings.data, "hr lacks 400 (idx 100, 101, 102, 103, 104, 105, 106, 107, 108, 109, and 390 more)",
	     "BENCHić: the warning lists the first ids hr lacks and the count of the rest");
	free(json);
	mrl_buf_release(&rep.warnings);
}

int main(void)
{
	import_begin("import");
	test_small();
	test_bom();
	test_bad_inputs();
	test_atomic_write();
	test_provenance();
	test_trim();
	test_benchich();
	test_script_check();
	test_unpaired();
	test_benchich_checks();
	return import_end();
}
