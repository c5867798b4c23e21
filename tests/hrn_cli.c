/* hrn_cli.c — the suite commands as a user runs them: `merilo validate`, `merilo info`
 * (suites) and `merilo import`; exit codes 0 ok, 2 usage, 3 bad input; --help everywhere;
 * tokenize --bench says n/a for the rate of an empty text.
 * Runs the binary named by $MERILO (set by `make test`). */
#include "tests/tap.h"
#include "tests/cli.h"

#include <unistd.h>

/* The importers end to end: Belebele with a derived sr-Latn (import, info, refusals of
 * --derive, a run of model m that scores every language), Global-MMLU and FLORES (an
 * import and a run each). */
static void t_belebele(const char *m, const char *dir)
{
	char bb[300], rundir[300];
	snprintf(bb, sizeof bb, "%s/belebele.json", dir);
	snprintf(rundir, sizeof rundir, "%s/bb-run", dir);
#define BB "tests/data/import/belebele/"
	CLI_EXPECT(0, "(3 items, 4 languages)", "import belebele with --derive sr-Latn",
		   "import belebele --lang en=" BB "eng_Latn.jsonl --lang sr-Cyrl=" BB "srp_Cyrl.jsonl --lang hr=" BB
		   "hrv_Latn.jsonl --derive sr-Latn -o %s", bb);
	CLI_EXPECT(0, "sr-Latn    3 items (derived from sr-Cyrl)", "info shows the derived language", "info %s", bb);
	CLI_EXPECT(2, "--derive hr: only sr-Latn (from sr-Cyrl) and sr-Cyrl (from sr-Latn) can be derived",
		   "import --derive of another language: a usage error", "import belebele --lang hr=" BB "hrv_Latn.jsonl "
		   "--derive hr -o %s/x.json", dir);
	CLI_EXPECT(2, "--derive sr-Latn: it is made from sr-Cyrl, which is not imported (add --lang sr-Cyrl=FILE)",
		   "import --derive without its source: a usage error", "import belebele --lang hr=" BB "hrv_Latn.jsonl "
		   "--derive sr-Latn -o %s/x.json", dir);
	char refused[300];
	snprintf(refused, sizeof refused, "%s/x.json", dir);
	ok(access(bb, R_OK) == 0 && access(refused, F_OK) != 0, "a refused --derive writes nothing");
#undef BB
	CLI_EXPECT(0, "merilo run: 11 units scored", "run scores the imported Belebele suite: 3 questions in en, sr-Cyrl and sr-Latn, 2 in hr",
		   "run --model %s --suite %s -o %s --quiet", m, bb, rundir);
	char res[400], fl[300];
	snprintf(res, sizeof res, "%s/results.json", rundir);
	/* Global-MMLU: 3 English questions, 2 of them in Serbian */
	char gm[300];
	snprintf(gm, sizeof gm, "%s/gmmlu.json", dir);
	CLI_EXPECT(0, "(3 items, 2 languages)", "import global-mmlu", "import global-mmlu --lang "
		   "en=tests/data/import/global-mmlu/en.jsonl --lang sr-Cyrl=tests/data/import/global-mmlu/sr.jsonl -o %s", gm);
	CLI_EXPECT(0, "merilo run: 5 units scored", "run scores the imported Global-MMLU suite",
		   "run --model %s --suite %s -o %s/gm-run --quiet", m, gm, dir);
	CLI_EXPECT(0, "few-shot: none (run --fewshot K draws K from the other items)", "info: a zero-shot task says so",
		   "info %s", gm);
#define GM "tests/data/import/global-mmlu/"
	CLI_EXPECT(0, "; pool: en=en-dev.jsonl (sha256 ", "import global-mmlu --pool: the source names the pool's files",
		   "import global-mmlu --lang en=" GM "en.jsonl --lang sr-Cyrl=" GM "sr.jsonl --pool en=" GM "en-dev.jsonl "
		   "--pool sr-Cyrl=" GM "sr-dev.jsonl -o - -q");
	CLI_EXPECT(0, "few-shot: 5 examples from the pool sharing the item's subject, the first in order",
		   "info: the 5-shot of the item's subject", "import global-mmlu --lang en=" GM "en.jsonl --pool en=" GM
		   "en-dev.jsonl -o %s/gm5.json -q && $MERILO info %s/gm5.json", dir, dir);
#undef GM
	/* OZ Eval: Serbian Latin, and Cyrillic derived */
	CLI_EXPECT(0, "merilo run: 6 units scored", "import oz-eval --derive sr-Cyrl, and a run of both scripts",
		   "import oz-eval --lang sr-Latn=tests/data/import/oz-eval/test.jsonl --derive sr-Cyrl -o %s/oz.json -q && "
		   "\"$MERILO\" run --model %s --suite %s/oz.json -o %s/oz-run --quiet", dir, m, dir, dir);
	/* FLORES: two translation tasks; one sentence each, generated to its stop or limit */
	snprintf(fl, sizeof fl, "%s/flores.json", dir);
	CLI_EXPECT(0, "(2 tasks, 8 items, 4 languages)", "import flores with --derive sr-Latn",
		   "import flores --lang en=tests/data/import/flores/eng_Latn.devtest --lang sr-Cyrl=tests/data/import/flores/"
		   "srp_Cyrl.devtest --lang hr=tests/data/import/flores/hrv_Latn.devtest --derive sr-Latn -o %s", fl);
	CLI_EXPECT(3, "task 'translate_from_en': max_new_tokens 256 leaves no room for the prompt in the model's 256 "
		   "positions", "run refuses FLORES's 256 new tokens on a model of 256 positions", "run --model %s --suite %s "
		   "-o %s/fl-run --limit 1 --quiet", m, fl, dir);
	char m1k[400];
	snprintf(m1k, sizeof m1k, "%s/tiny-1k.gguf", dir);
	if (!ok(cli_run(NULL, "synth " CLI_SYNTH_SMALL " --ctx 1024 -o %s", m1k) == 0, "synth a model of 1024 positions"))
		return;
	CLI_EXPECT(0, "merilo run: 6 units scored", "run generates the FLORES suite: 2 tasks x 3 languages, --limit 1",
		   "run --model %s --suite %s -o %s/fl-run --limit 1 --quiet", m1k, fl, dir);
	CLI_EXPECT(0, "(3 items, 4 languages)", "import global-piqa: four languages, both Serbian scripts typed",
		   "import global-piqa --lang en=tests/data/import/global-piqa/eng_latn.jsonl --lang sr-Cyrl=tests/data/import/"
		   "global-piqa/srp_cyrl.jsonl --lang sr-Latn=tests/data/import/global-piqa/srp_latn.jsonl --lang hr=tests/data/"
		   "import/global-piqa/hrv_latn.jsonl -o %s/gp.json", dir);
	CLI_EXPECT(0, "merilo run: 11 units scored", "run the Global PIQA suite: 3 questions x 4 languages, hr lacking one",
		   "run --model %s --suite %s/gp.json -o %s/gp-run --quiet", m1k, dir, dir);
	/* the Serbian LLM eval: a folder of a file per task, run in both scripts on the model of 1024 positions */
	CLI_EXPECT(0, "(9 tasks, 14 items, 2 languages)", "import serbian-llm-eval from its folder, --derive sr-Cyrl",
		   "import serbian-llm-eval --lang sr-Latn=tests/data/import/serbian-llm-eval --derive sr-Cyrl -o %s/sle.json",
		   dir);
	CLI_EXPECT(0, "merilo run: 28 units scored", "run the Serbian LLM eval suite: 14 items x 2 scripts",
		   "run --model %s --suite %s/sle.json -o %s/sle-run --bos never --quiet", m1k, dir, dir);
	/* INCLUDE: each language's own questions, Serbian in both scripts */
	CLI_EXPECT(0, "(11 items, 4 languages)", "import include: Serbian, Croatian, Macedonian, --derive sr-Latn",
		   "import include --lang sr-Cyrl=tests/data/import/include/Serbian.jsonl --lang hr=tests/data/import/"
		   "include/Croatian.jsonl --lang mk=tests/data/import/include/North_Macedonian.jsonl --derive sr-Latn "
		   "-o %s/include.json", dir);
	CLI_EXPECT(0, "merilo run: 15 units scored", "run it: 4 + 4 Serbian, 3 Croatian, 4 Macedonian units",
		   "run --model %s --suite %s/include.json -o %s/include-run --quiet", m1k, dir, dir);
	CLI_EXPECT(0, "note: --limit 2 takes the first 2 of task 'include''s 11 items, which cover 2 of its 4 \"domain\" "
		   "values", "--limit that leaves out some domains says so", "run --model %s --suite %s/include.json -o "
		   "%s/include-lim --limit 2", m1k, dir, dir);
	/* Okapi's MMLU: English, Croatian, Serbian paired by id */
	CLI_EXPECT(0, "(3 items, 4 languages)", "import okapi-mmlu: en, hr, sr-Cyrl, --derive sr-Latn",
		   "import okapi-mmlu --lang en=tests/data/import/okapi/mmlu-en.jsonl --lang hr=tests/data/import/okapi/"
		   "mmlu-hr.jsonl --lang sr-Cyrl=tests/data/import/okapi/mmlu-sr.jsonl --derive sr-Latn -o %s/okapi.json", dir);
	CLI_EXPECT(0, "okapi_mmlu by subject (acc, n):", "run it: the table by subject",
		   "run --model %s --suite %s/okapi.json -o %s/okapi-run", m1k, dir, dir);
	/* MMLU-ProX, 2-shot chain of thought: a model with room for 2048 new tokens after the prompt */
	CLI_EXPECT(0, "(4 items, 2 languages)", "import mmlu-prox with the validation pool",
		   "import mmlu-prox --lang en=tests/data/import/mmlu-prox/en-test.jsonl --lang sr-Latn=tests/data/import/"
		   "mmlu-prox/sr-test.jsonl --pool en=tests/data/import/mmlu-prox/en-validation.jsonl --pool sr-Latn=tests/data/"
		   "import/mmlu-prox/sr-validation.jsonl -o %s/prox.json", dir);
	char m4k[400];
	snprintf(m4k, sizeof m4k, "%s/tiny-4k.gguf", dir);
	if (ok(cli_run(NULL, "synth " CLI_SYNTH_SMALL " --ctx 4096 -o %s", m4k) == 0, "synth a model of 4096 positions"))
		CLI_EXPECT(0, "merilo run: 1 unit scored", "run it: 2-shot, reasoning then the letter extracted",
			   "run --model %s --suite %s/prox.json -o %s/prox-run --lang sr-Latn --limit 1 --fewshot 2 "
			   "--chat-template none --quiet", m4k, dir, dir);
	char *r = cli_slurp(res);
	ok(r && strstr(r, "\"belebele\"") && strstr(r, "\"sr-Latn\""), "results.json has the task and the derived language");
	free(r);
}

int main(void)
{
	if (!cli_merilo())
		skip_all("MERILO does not name the merilo binary (run through make test)");
	const char *good = "tests/data/suites/good-mc.json", *many = "tests/data/suites/many-problems.json";

	CLI_EXPECT(0, "OK: tests/data/suites/good-mc.json: suite 'test-good-mc'", "validate a good suite", "validate %s", good);
	CLI_EXPECT(0, "OK: ", "validate the perplexity/generate suite", "validate tests/data/suites/good-types.json");
	char *out;
	int rc = cli_run(&out, "validate %s", many);
	is_int(rc, 3, "validate a suite with problems: exit 3");
	is_int(cli_count_lines(out), 5, "every problem on its own line");
	like(out, "tests/data/suites/many-problems.json: /tasks/0/items/1/hr/choices: 2 choices here but 3 in en",
	     "problem line is 'file: /path: message'");
	free(out);
	CLI_EXPECT(3, "truncated JSON", "validate a truncated file", "validate tests/data/suites/truncated.json");
	CLI_EXPECT(3, "malformed JSON", "validate a malformed file", "validate tests/data/suites/malformed.json");
	CLI_EXPECT(3, "cannot open: No such file", "validate a missing file", "validate tests/data/suites/nope.json");
	CLI_EXPECT(0, "\"ok\": true", "validate --json on a good suite", "validate --json %s", good);
	CLI_EXPECT(3, "\"path\": \"/tasks/0/items/0/gold\"", "validate --json on a bad suite", "validate %s --json", many);
	CLI_EXPECT(2, "unknown option '--strict'", "validate with an unknown option", "validate --strict %s", good);
	CLI_EXPECT(2, "expected a suite file", "validate without a file", "validate");
	CLI_EXPECT(0, "usage: merilo validate", "validate --help", "validate --help");
	CLI_EXPECT(2, "not a merilo command", "unknown command", "frobnicate");

	CLI_EXPECT(0, "(derived from sr-Cyrl)", "info marks derived languages", "info %s", good);
	CLI_EXPECT(0, "items with every language: 1 of 3", "info counts items with every language", "info %s", good);
	CLI_EXPECT(0, "en + hr: 1\n    sr-Cyrl + sr-Latn: 2", "info counts pairs", "info %s", good);
	CLI_EXPECT(0, "\"items_with_every_language\": 1", "info --json", "info %s --json", good);
	CLI_EXPECT(0, "usage: merilo info", "info --help", "info --help");
	CLI_EXPECT(3, "cannot open", "info on a missing file", "info tests/data/suites/nope.json");
	CLI_EXPECT(3, "(and 4 more problems)", "info on an invalid suite", "info %s", many);
	CLI_EXPECT(2, "unknown option '--frob'", "info with an unknown option", "info %s --frob", good);

	CLI_EXPECT(0, "copa", "import --help lists importers", "import --help");
	CLI_EXPECT(2, "expected a format", "import without a format", "import");
	CLI_EXPECT(2, "unknown format 'hellaswag'", "import of an unknown format", "import hellaswag --lang hr=x.jsonl -o /tmp/x.json");
	CLI_EXPECT(2, "expected -o OUT.json", "import without -o", "import copa --lang hr=x.jsonl");
	CLI_EXPECT(2, "--lang needs TAG=FILE", "import with a bad --lang", "import copa --lang hr -o /tmp/x.json");
	CLI_EXPECT(2, "unknown option '--frob'", "import with an unknown option", "import copa --frob");

	char dir[64];
	if (!cli_tmpdir(dir, sizeof dir, "cli"))
		return done_testing();
	char bad[300], outp[300];
	snprintf(bad, sizeof bad, "%s/bad.jsonl", dir);
	snprintf(outp, sizeof outp, "%s/copa.json", dir);
	cli_write_file(bad, "{\"premise\":\"P.\",\"choice1\":\"A\",\"choice2\":\"B\",\"question\":\"cause\",\"label\":0,\"idx\":0}\nnot json\n");
	CLI_EXPECT(3, "bad.jsonl:2: malformed JSON", "import of a bad JSONL line names file:line", "import copa --lang hr=%s -o %s", bad, outp);
	ok(access(outp, F_OK) != 0, "a failed import writes nothing");
	CLI_EXPECT(3, "cannot open", "import of a missing file", "import copa --lang hr=%s/none.jsonl -o %s", dir, outp);
	/* a file whose script contradicts its tag: exit 3 in one line; --force imports it with a warning */
	char latin[300];
	snprintf(latin, sizeof latin, "%s/latin.jsonl", dir);
	cli_write_file(latin, "{\"premise\":\"Otvorio sam slavinu.\",\"choice1\":\"Voda je tekla.\",\"choice2\":\"Pao je.\","
			      "\"question\":\"effect\",\"label\":0,\"idx\":0}\n");
	CLI_EXPECT(3, "latin.jsonl: tagged sr-Cyrl, which is written in Cyrillic script, but 0.0% of its 33 letters are Cyrillic",
		   "import of a Latin file under sr-Cyrl: exit 3 naming the file, the tag and the share",
		   "import copa --lang sr-Cyrl=%s -o %s", latin, outp);
	ok(access(outp, F_OK) != 0, "a refused import writes nothing");
	CLI_EXPECT(0, "warning: ", "import --force of a Latin file under sr-Cyrl: a warning, exit 0",
		   "import copa --lang sr-Cyrl=%s --force -o %s", latin, outp);
	/* one item in one language: no "1 items", "1 languages" */
	CLI_EXPECT(0, "(1 item, 1 language)\n", "import's closing line counts one item in one language",
		   "import copa --lang sr-Cyrl=%s --force -o %s", latin, outp);
	CLI_EXPECT(0, ": 1 task, 1 item, 1 language variant (", "validate counts them in the singular", "validate %s", outp);
	CLI_EXPECT(0, ": multiple_choice, 1 item\n", "info counts a task's one item", "info %s", outp);
	CLI_EXPECT(0, "sr-Cyrl    1 item\n", "info counts a language's one item", "info %s", outp);
	remove(outp);

	const char *fx = fixtures_dir();
	if (fx) {
		CLI_EXPECT(0, "wrote", "import BENCHić COPA",
		           "import copa --lang sr-Cyrl=%s/data/benchich-copa/test-sr.jsonl --lang sr-Latn=%s/data/benchich-copa/test-sr-lat.jsonl "
		           "--lang hr=%s/data/benchich-copa/test-hr.jsonl --name benchich-copa --license CC-BY-SA-4.0 -o %s", fx, fx, fx, outp);
		CLI_EXPECT(0, "OK: ", "the imported suite validates", "validate %s", outp);
		CLI_EXPECT(0, "items with every language: 500 of 500", "info on the imported suite", "info %s", outp);
	} else {
		skip("fixtures absent: ../shared/fixtures", "import BENCHić COPA");
	}
	if (!access("tasks/suites/demo.json", R_OK))
		CLI_EXPECT(0, "OK: ", "the built-in demo suite validates", "validate tasks/suites/demo.json");
	else
		skip("tasks/suites/demo.json not written yet", "the built-in demo suite validates");
	/* tokenize --bench: a rate of no bytes is n/a (it printed MB/s 0.00 and bytes/token 0.000) */
	char m[700], empty[700];
	snprintf(m, sizeof m, "%s/tiny.gguf", dir);
	snprintf(empty, sizeof empty, "%s/empty.txt", dir);
	cli_write_file(empty, "");
	if (cli_run(NULL, "synth " CLI_SYNTH_SMALL " -o %s", m) == 0) {
		CLI_EXPECT(0, "MB/s n/a bytes/token n/a", "tokenize --bench of an empty file: n/a",
			   "tokenize --model %s --bench --file %s", m, empty);
		CLI_EXPECT(0, " bytes/token ", "tokenize --bench of a text: figures", "tokenize --model %s --bench --file README.md", m);
		t_belebele(m, dir);
	} else {
		ok(0, "merilo synth failed");
	}
	cli_rmtree(dir);
	return done_testing();
}
