/* met_clock.c — tests of the monotonic clock and the per-phase timer. Only bounds
 * that hold on any machine are checked: a sleep measures at least what was slept,
 * a nested phase is shorter than its parent. How much longer a sleep took and what
 * a start/stop pair costs depend on the machine's load: they are printed as #
 * lines, and the pair's cost is a figure of `make bench` (docs/statistics.md).
 */
#include "metrics/met.h"
#include "tests/tap.h"

#include <time.h>

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) != 0)
		;
}

int main(void)
{
	uint64_t t0 = met_now_ns();
	ok(t0 > 0, "clock: met_now_ns reads CLOCK_MONOTONIC_RAW");
	uint64_t prev = t0;
	int monotone = 1;
	for (int i = 0; i < 100000; i++) {
		uint64_t t = met_now_ns();
		monotone &= t >= prev;
		prev = t;
	}
	ok(monotone, "clock: 100,000 consecutive reads never go backwards");
	uint64_t res = met_clock_resolution_ns();
	ok(res > 0 && res <= 1000, "clock: resolution is at most 1 us");
	diag("CLOCK_MONOTONIC_RAW resolution: %llu ns", (unsigned long long)res);

	t0 = met_now_ns();
	sleep_ms(20);
	double slept_ms = (double)(met_now_ns() - t0) / 1e6;
	ok(slept_ms >= 19.9, "clock: a 20 ms sleep measures at least 20 ms");
	diag("20 ms sleep measured %.3f ms", slept_ms);

	is_str(met_phase_name(MET_PHASE_TOKENIZE), "tokenize", "phase: name of tokenize");
	is_str(met_phase_name(MET_PHASE_PREFILL), "prefill", "phase: name of prefill");
	is_str(met_phase_name(MET_PHASE_DECODE), "decode", "phase: name of decode");
	is_str(met_phase_name(MET_PHASE_SAMPLING), "sampling", "phase: name of sampling");
	is_str(met_phase_name(MET_PHASE_SCORING), "scoring", "phase: name of scoring");
	is_str(met_phase_name(MET_PHASE_COUNT), "unknown", "phase: out of range is 'unknown'");

	struct met_phase_timer t;
	met_phase_timer_init(&t);
	met_phase_start(&t, MET_PHASE_DECODE);
	sleep_ms(5);
	met_phase_start(&t, MET_PHASE_SAMPLING); /* nested in decode: allowed */
	sleep_ms(5);
	met_phase_stop(&t, MET_PHASE_SAMPLING);
	met_phase_stop(&t, MET_PHASE_DECODE);
	double dec = met_phase_seconds(&t, MET_PHASE_DECODE), samp = met_phase_seconds(&t, MET_PHASE_SAMPLING);
	ok(dec >= 0.0099, "phase: decode covers both sleeps (>= 10 ms)");
	ok(samp >= 0.0049 && samp < dec, "phase: sampling nested inside decode, shorter than it");
	ok(t.n_intervals[MET_PHASE_DECODE] == 1 && t.n_intervals[MET_PHASE_SAMPLING] == 1 &&
	   t.n_intervals[MET_PHASE_PREFILL] == 0 && t.total_ns[MET_PHASE_PREFILL] == 0,
	   "phase: one interval each, other phases untouched");
	is_int(t.n_misuse, 0, "phase: proper use counts no misuse");
	ok(t.running == 0, "phase: nothing running after the stops");

	met_phase_stop(&t, MET_PHASE_PREFILL);
	is_int(t.n_misuse, 1, "phase: stop without start counted as misuse");
	is_int(t.total_ns[MET_PHASE_PREFILL], 0, "phase: stop without start adds nothing");
	met_phase_start(&t, MET_PHASE_PREFILL);
	met_phase_start(&t, MET_PHASE_PREFILL);
	met_phase_stop(&t, MET_PHASE_PREFILL);
	ok(t.n_misuse == 2 && t.n_intervals[MET_PHASE_PREFILL] == 1, "phase: double start is misuse, restarts once");
	met_phase_start(&t, (enum met_phase)42);
	is_int(t.n_misuse, 3, "phase: out-of-range phase is misuse, no crash");

	met_phase_add_ns(&t, MET_PHASE_SCORING, 1500000000ULL);
	is_near(met_phase_seconds(&t, MET_PHASE_SCORING), 1.5, 1e-12, "phase: add_ns of 1.5e9 ns = 1.5 s");
	struct met_phase_timer sum;
	met_phase_timer_init(&sum);
	met_phase_timer_merge(&sum, &t);
	met_phase_timer_merge(&sum, &t);
	ok(sum.total_ns[MET_PHASE_DECODE] == 2 * t.total_ns[MET_PHASE_DECODE] &&
	   sum.n_intervals[MET_PHASE_SCORING] == 2 && sum.n_misuse == 6,
	   "phase: merge adds totals, counts and misuse");

	/* Overhead of a start/stop pair: wall time of N pairs / N. Also what an empty
	 * interval records (the cost of one clock read seen from inside). Figures only. */
	enum { N = 1000000 };
	struct met_phase_timer ovh;
	met_phase_timer_init(&ovh);
	t0 = met_now_ns();
	for (int i = 0; i < N; i++) {
		met_phase_start(&ovh, MET_PHASE_TOKENIZE);
		met_phase_stop(&ovh, MET_PHASE_TOKENIZE);
	}
	const uint64_t wall_ns = met_now_ns() - t0;
	double pair_ns = (double)wall_ns / N;
	double inside_ns = (double)ovh.total_ns[MET_PHASE_TOKENIZE] / N;
	ok(ovh.n_intervals[MET_PHASE_TOKENIZE] == N, "overhead: every pair counted");
	ok(ovh.total_ns[MET_PHASE_TOKENIZE] <= wall_ns,
	   "overhead: the empty intervals recorded add up to no more than the wall time around them");
	diag("start/stop pair: %.1f ns wall each; an empty interval records %.1f ns", pair_ns, inside_ns);
	return done_testing();
}
