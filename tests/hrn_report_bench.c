/* hrn_report_bench.c — `merilo report` on real runs and bench records of tiny
 * synthetic models (f32, q8_0, q4_0 of one preset, so their names differ only
 * at the end): a bench record in a run folder that measured another model is
 * not credited to that run (a warning on stderr and in the report, its figures
 * an entry of their own labelled with its own model); plot labels of runs whose
 * names share a long prefix stay apart; and scenario bench records (offline,
 * server, also one that completed no request) each get a row of the scenario
 * table, none dropped silently. docs/reports.md describes what is checked.
 * Runs the binary named by $MERILO (set by `make test`). */
#include "tests/tap.h"
#include "tests/cli.h"

#include <jansson.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char base[64];

/* The file base/rel, whole (malloc'd), or NULL. */
static char *slurp_in(const char *rel)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/%s", base, rel);
	return cli_slurp(path);
}

/* The first table cell of the line of text that holds needle, into buf ("" when none). */
static void label_of_row(const char *text, const char *needle, char *buf, size_t size)
{
	buf[0] = '\0';
	const char *hit = text ? strstr(text, needle) : NULL;
	if (!hit)
		return;
	while (hit > text && hit[-1] != '\n')
		hit--;
	if (*hit != '|')
		return;
	hit += 2;
	size_t n = strcspn(hit, "|");
	while (n && hit[n - 1] == ' ')
		n--;
	snprintf(buf, size, "%.*s", (int)(n < size ? n : size - 1), hit);
}

/* Whether every row of the markdown table whose header line starts with header
 * starts with "| label |" (and there is at least one row). */
static bool table_rows_all(const char *md, const char *header, const char *label)
{
	const char *p = md ? strstr(md, header) : NULL;
	if (!p || !*label)
		return false;
	p = strchr(p, '\n');
	p = p ? strchr(p + 1, '\n') : NULL; /* past the |---| line */
	size_t rows = 0;
	char want[256];
	snprintf(want, sizeof want, "| %s |", label);
	while (p && p[1] == '|') {
		if (strncmp(p + 1, want, strlen(want)))
			return false;
		rows++;
		p = strchr(p + 1, '\n');
	}
	return rows > 0;
}

/* Three runs whose model names share "merilo-synth-tiny-": the plots' labels
 * (cut at RPT_RUN_LABEL_MAX characters) must still tell them apart, and the
 * accuracy plot's nine tic labels must not stand side by side. */
static void test_labels(void)
{
	char *out = NULL;
	int rc = cli_run(&out, "report %s/r_f32 %s/r_q8 %s/r_q4 -o %s/rep-labels --image-format svg", base, base, base, base);
	is_int(rc, 0, "report of the f32, q8_0 and q4_0 runs: exit 0");
	free(out);
	char *gp = slurp_in("rep-labels/accuracy.gp");
	const char *tics = gp ? strstr(gp, "set xtics scale 0 (") : NULL;
	char line[4096] = "";
	if (tics)
		snprintf(line, sizeof line, "%.*s", (int)strcspn(tics, "\n"), tics);
	diag("%s", line);
	ok(strstr(line, "f32'") && strstr(line, "q8_0'") && strstr(line, "q4_0'"),
	   "the accuracy plot's tic labels keep the part of the names that differs");
	ok(line[0] && !strstr(line, "tin\xe2\x80\xa6'"), "no label is cut to the shared prefix");
	like(gp, "set xtics rotate by", "nine groups of long tic labels are turned, not overprinted");
	free(gp);
	char *md = slurp_in("rep-labels/report.md");
	like(md, "| merilo-\xe2\x80\xa6tiny-f32 | ", "the tables use the same labels");
	free(md);
}

/* A bench record of the f32 model written into the q8_0 run's folder. */
static void test_foreign_bench(void)
{
	char *out = NULL;
	int rc = cli_run(&out, "bench -m %s/f32.gguf --prompt 8 --gen 4 --reps 2 --format json -o %s/r_q8/bench.json", base,
			 base);
	free(out);
	is_int(rc, 0, "bench of the f32 model into the q8_0 run's folder");
	rc = cli_run(&out, "report %s/r_q8 -o %s/rep-foreign --image-format svg", base, base);
	is_int(rc, 0, "report of that run: exit 0");
	like(out, "warning: ", "a warning on stderr ...");
	like(out, "r_q8/bench.json measured merilo-synth-tiny-f32", "... naming the bench record and its model");
	free(out);
	char *md = slurp_in("rep-foreign/report.md"), *html = slurp_in("rep-foreign/report.html");
	like(md, "bench.json measured another model, merilo-synth-tiny-f32", "report.md says it under the runs");
	like(html, "bench.json measured another model, merilo-synth-tiny-f32", "report.html says it too");
	char f32[128], q8[128];
	label_of_row(md, "/bench.json | merilo-synth-tiny-f32 |", f32, sizeof f32);
	label_of_row(md, "r\\_q8 | merilo-synth-tiny-q8\\_0 |", q8, sizeof q8);
	ok(f32[0] && q8[0] && strcmp(f32, q8), "the bench record is an entry of its own in the Runs table");
	diag("labels: run '%s', bench record '%s'", q8, f32);
	ok(table_rows_all(md, "| run | prompt | gen |", f32), "every bench row is labelled with the f32 model's entry");
	free(md);
	free(html);
	/* the same model: credited, no warning */
	rc = cli_run(&out, "bench -m %s/f32.gguf --prompt 8 --gen 4 --reps 2 --format json -o %s/r_f32/bench.json", base,
		     base);
	free(out);
	out = NULL;
	rc = rc ? rc : cli_run(&out, "report %s/r_f32 -o %s/rep-own --image-format svg", base, base);
	is_int(rc, 0, "report of a run with its own model's bench record: exit 0");
	ok(out && !strstr(out, "warning"), "no warning when the SHA-256 match");
	like(out, ": 1 run,", "one entry: the bench record is the run's");
	free(out);
	md = slurp_in("rep-own/report.md");
	ok(table_rows_all(md, "| run | prompt | gen |", "merilo-synth-tiny-f32"), "its bench rows carry the run's label");
	free(md);
}

/* srv.json made into a server record that completed no request: n_requests 0,
 * no latency series, null throughput (as a scenario whose requests all ran past
 * its duration would be). */
static int write_zero_request_record(const char *from, const char *to)
{
	json_error_t jerr;
	json_t *doc = json_load_file(from, 0, &jerr);
	json_t *res = json_array_get(json_object_get(doc, "results"), 0);
	json_t *figs = json_object_get(res, "figures");
	if (!res || !figs) {
		json_decref(doc);
		return -1;
	}
	json_object_set_new(res, "series", json_object());
	json_object_set_new(json_object_get(figs, "n_requests"), "value", json_real(0));
	static const char *const nulled[] = { "achieved_qps", "output_tokens_per_s", "total_tokens_per_s" };
	for (size_t i = 0; i < 3; i++) {
		json_t *f = json_object_get(figs, nulled[i]);
		json_object_set_new(f, "value", json_null());
		json_object_set_new(f, "null_reason", json_string("no request completed"));
	}
	int rc = json_dump_file(doc, to, JSON_INDENT(1));
	json_decref(doc);
	return rc;
}

/* Scenario records given with --bench: each a row of the request-level table. */
static void test_scenarios(void)
{
	char *out = NULL;
	int rc = cli_run(&out, "bench -m %s/f32.gguf --scenario offline --requests 2 --prompt 16 --gen 4 --format jsonl "
			 "-o %s/off.jsonl", base, base);
	free(out);
	out = NULL;
	rc = rc ? rc : cli_run(&out, "bench -m %s/f32.gguf --scenario server --qps 2 --duration 2 --prompt 16 --gen 4 "
			       "--format json -o %s/srv.json", base, base);
	free(out);
	char from[128], to[128];
	snprintf(from, sizeof from, "%s/srv.json", base);
	snprintf(to, sizeof to, "%s/srv0.json", base);
	rc = rc ? rc : write_zero_request_record(from, to);
	is_int(rc, 0, "offline and server records written, and a server record of no request");
	rc = cli_run(&out, "report --bench %s/off.jsonl --bench %s/srv.json --bench %s/srv0.json -o %s/rep-scen "
		     "--image-format svg", base, base, base, base);
	is_int(rc, 0, "report of the three scenario records: exit 0");
	free(out);
	char *md = slurp_in("rep-scen/report.md"), *html = slurp_in("rep-scen/report.html");
	like(md, "| run | test | threads | prompt + gen | requests | offered QPS | achieved QPS | output tokens/s |",
	     "report.md has the request-level table");
	like(md, "| off.jsonl | offline | 2 | 16 + 4 | 2 |", "the offline record: a row with its 2 requests");
	like(md, "| srv.json | server | 2 | 16 + 4 |", "the server record: a row");
	like(md, "| srv0.json | server | 2 | 16 + 4 | 0 | 2.00 | n/a | n/a | n/a | n/a | n/a | no request completed",
	     "the server record of no request: a row saying why its figures are missing");
	like(html, "<th>achieved QPS</th>", "report.html has the table too");
	like(html, "<td>srv0.json</td><td>server</td>", "... with the record of no request");
	free(md);
	free(html);
	rc = cli_run(&out, "report --bench %s/srv0.json -o %s/rep-zero --image-format svg", base, base);
	free(out);
	html = slurp_in("rep-zero/report.html");
	ok(rc == 0 && html && !strstr(html, "No bench data"),
	   "a report of the no-request record alone does not say there is no bench data ...");
	like(html, "no request completed: no latency figures", "... it says why the record has no figures");
	free(html);
}

int main(void)
{
	if (!cli_merilo())
		skip_all("MERILO does not name the merilo binary (run through make test)");
	if (!cli_tmpdir(base, sizeof base, "report-bench"))
		skip_all("cannot make a temporary folder");
	static const char *const names[] = { "f32", "q8", "q4" }, *const dtypes[] = { "f32", "q8_0", "q4_0" };
	for (size_t i = 0; i < 3; i++) {
		char *out = NULL;
		int rc = cli_run(&out, "synth --preset tiny --dtype %s -o %s/%s.gguf", dtypes[i], base, names[i]);
		if (!rc) { /* a failed synth keeps its output for the diagnostic below */
			free(out);
			out = NULL;
		}
		rc = rc ? rc : cli_run(&out, "run --model %s/%s.gguf --suite tasks/suites/demo.json "
				       "--tasks commonsense,regional_facts,grammar "
				       "--limit 2 --boot 50 --quiet --out %s/r_%s", base, names[i], base, names[i]);
		if (rc) {
			diag("%s", out ? out : "");
			free(out);
			skip_all("merilo synth or run failed");
		}
		free(out);
	}
	test_labels();
	test_foreign_bench();
	test_scenarios();
	if (getenv("HRN_REPORT_KEEP"))
		diag("kept %s", base);
	else
		cli_rmtree(base);
	return done_testing();
}
