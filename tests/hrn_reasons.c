/* hrn_reasons.c — why a figure is null, said whole where it is kept and once
 * where it is shown: a reason longer than the old 160-byte buffer survives
 * met_reading_null and results.json whole; the run's performance table says
 * "energy n/a" per task and the short reason once below it; PAPI's raw error
 * comes after a sentence a user can read; met_reason_short cuts at the first
 * clause. No merilo binary needed: the record writers and the table printer
 * are called directly. */
#include "common/fileio.h"
#include "harness/run.h"
#include "metrics/met.h"
#include "records/results.h"
#include "tests/tap.h"
#include "tests/cli.h"

#include <math.h>

/* "no energy source on this machine (powercap-sysfs: ...; ...; ...)", about 700 bytes. */
static void long_reason(char *out, size_t size)
{
	size_t len = (size_t)snprintf(out, size, "no energy source on this machine (");
	for (int i = 0; len + 80 < size && i < 12; i++)
		len += (size_t)snprintf(out + len, size - len, "%ssource-%d: /sys/class/powercap/zone-%d/energy_uj: No such file",
					i ? "; " : "", i, i);
	snprintf(out + len, size - len, ") END");
}

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;
	for (const char *p = hay; p && (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

static void test_reading(void)
{
	char why[1000];
	long_reason(why, sizeof why);
	ok(strlen(why) > 700, "the constructed reason is longer than 700 bytes");
	struct met_reading r;
	met_reading_null(&r, "J", "%s", why);
	is_str(r.reason, why, "met_reading_null keeps a 700+ byte reason whole (the old buffer cut it at 159)");
	char s[160];
	met_reason_short(why, s, sizeof s);
	is_str(s, "no energy source on this machine", "met_reason_short: the text before the first ' ('");
	met_reason_short("PAPI_stop: Event does not exist", s, sizeof s);
	is_str(s, "PAPI_stop", "met_reason_short: or before the first ': '");
	met_reason_short("čćžšđ čćžšđ", s, 4);
	is_str(s, "č", "met_reason_short: a cut never splits a UTF-8 sequence");
}

static void test_papi_sentence(void)
{
	struct met_counter_opts o;
	met_counter_opts_init(&o);
	o.lib_path = "/nonexistent/libpapi.so.7";
	struct met_counters *c = NULL;
	struct mrl_err err = {0};
	is_int(met_counters_open(&c, &o, &err), 0, "counters open without libpapi (null readings, not an error)");
	struct met_counter_values v;
	met_counters_read(c, &v);
	like(v.status, "hardware counters are off: the PAPI library could not be loaded (libpapi not found: ",
	     "PAPI's failure: a sentence first, the raw text after it");
	met_counters_close(c);
}

/* The performance table `merilo run` prints for r (malloc'd). */
static char *table_of(const struct rec_results *r)
{
	char *table = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&table, &len);
	if (f) {
		hrn_run_print_performance(f, r);
		fclose(f);
	}
	return table;
}

/* Two tasks whose energy and counters are null for the same long reason. */
static void test_json_and_table(void)
{
	char tmp[128], path[200], why[1000];
	if (!cli_tmpdir(tmp, sizeof tmp, "reasons")) {
		skip("cannot make a temporary folder", "results.json and the table");
		return;
	}
	long_reason(why, sizeof why);
	const char *status = "hardware counters are not available on this machine: the kernel does not let PAPI count "
			     "(PAPI_set_opt(PAPI_INHERIT): Event does not exist)";
	struct rec_results r;
	rec_results_init(&r);
	r.suite.name = strdup("s");
	for (int t = 0; t < 2; t++) {
		struct rec_perf_task *p = rec_results_add_perf(&r, t ? "ppl" : "mc");
		p->all.tokens_per_s = 100;
		p->all.item_ms_mean = p->all.item_ms_p90 = 10;
		p->window.present = true;
		p->window.seconds = 1;
		rec_reading_set(&p->window.energy_j, "energy_j", "J", NAN, why);
		rec_reading_set(&p->window.energy_per_item_j, "energy_per_item_j", "J", NAN, why);
		rec_reading_set(&p->window.peak_rss, "peak_rss", "bytes", NAN, "not read");
		p->window.counters_status = strdup(status);
		rec_readings_add(&p->window.counters, &p->window.n_counters, "PAPI_TOT_CYC", "cycles", NAN, status);
	}
	struct mrl_err err = {0};
	snprintf(path, sizeof path, "%s/results.json", tmp);
	is_int(rec_results_write(path, &r, &err), 0, "results.json written");
	char *json = cli_slurp(path);
	char needle[1100];
	snprintf(needle, sizeof needle, "\"null_reason\": \"%s\"", why);
	is_int(count(json, needle), 4, "results.json: the whole reason (ending ') END') for energy_j and per item, both tasks");
	like(json, "(PAPI_set_opt(PAPI_INHERIT): Event does not exist)", "results.json: the counter status whole");
	free(json);
	char *table = table_of(&r);
	is_int(count(table, "energy n/a"), 2, "table: each task's row says energy n/a");
	is_int(count(table, "no energy source on this machine"), 1, "table: the reason is printed once");
	like(table, "energy: no energy source on this machine — see results.json performance[].window.energy_j.null_reason",
	     "table: the short reason and where the whole one is");
	ok(!strstr(table, "source-3"), "table: the long details are not printed");
	is_int(count(table, "counters: hardware counters are not available on this machine — see results.json"), 1,
	       "table: the counters' reason once");
	ok(!strstr(table, "PAPI_set_opt"), "table: PAPI's raw text stays in results.json");
	diag("the table:\n%s", table);
	free(table);
	rec_results_release(&r);
	cli_rmtree(tmp);
}

/* Three tasks whose energy counter did not advance, each in a window of its own length:
 * one line for the three (it was one a task, the reasons differing in the figure). */
static void test_alike_reasons(void)
{
	struct rec_results r;
	rec_results_init(&r);
	static const char *const why[3] = { "counter did not advance in 0.222 s (not fed by this machine: a VM?)",
					    "counter did not advance in 0.064 s (not fed by this machine: a VM?)",
					    "counter did not advance in 12 s (not fed by this machine: a VM?)" };
	for (int t = 0; t < 3; t++) {
		struct rec_perf_task *p = rec_results_add_perf(&r, t == 0 ? "mc" : t == 1 ? "ppl" : "gen");
		p->all.tokens_per_s = 100;
		p->all.item_ms_mean = p->all.item_ms_p90 = 10;
		p->window.present = true;
		p->window.seconds = 1;
		rec_reading_set(&p->window.energy_j, "energy_j", "J", NAN, why[t]);
		rec_reading_set(&p->window.energy_per_item_j, "energy_per_item_j", "J", NAN, why[t]);
		rec_reading_set(&p->window.peak_rss, "peak_rss", "bytes", NAN, "not read");
	}
	char *table = table_of(&r);
	is_int(count(table, "energy: counter did not advance"), 1, "reasons that differ only in a figure: one line");
	like(table, "energy: counter did not advance in 0.222 s (alike in 2 more tasks) — see results.json",
	     "the first task's reason, and how many more tasks are alike");
	diag("the table:\n%s", table);
	free(table);
	rec_results_release(&r);
}

int main(void)
{
	TEST(test_reading(), "a long reason is kept whole; met_reason_short");
	TEST(test_papi_sentence(), "a PAPI failure reads as a sentence, then PAPI's words");
	TEST(test_json_and_table(), "results.json keeps reasons whole, the table names each once");
	TEST(test_alike_reasons(), "reasons alike but for a figure are one line");
	return done_testing();
}
