/* clock.c — the wall clock of merilo's measurements and a per-phase accumulator.
 *
 * All timing goes through CLOCK_MONOTONIC_RAW: it never jumps and is not slewed
 * by NTP, so intervals measure hardware time. On Linux it is served from the vDSO
 * (no system call), so a start/stop pair costs two clock reads plus a few adds;
 * tests/met_clock.c measures that overhead and docs/statistics.md states it.
 * The phase timer is a plain caller-owned value: no globals, no locking, one per
 * run or thread, merged afterwards with met_phase_timer_merge().
 */
#include "metrics/met.h"

#include <time.h>

uint64_t met_now_ns(void)
{
	struct timespec ts;
	if (clock_gettime(CLOCK_MONOTONIC_RAW, &ts) != 0)
		return 0;
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t met_clock_resolution_ns(void)
{
	struct timespec ts;
	if (clock_getres(CLOCK_MONOTONIC_RAW, &ts) != 0)
		return 0;
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

const char *met_phase_name(enum met_phase phase)
{
	static const char *const names[MET_PHASE_COUNT] = {
		[MET_PHASE_TOKENIZE] = "tokenize",
		[MET_PHASE_PREFILL] = "prefill",
		[MET_PHASE_DECODE] = "decode",
		[MET_PHASE_SAMPLING] = "sampling",
		[MET_PHASE_SCORING] = "scoring",
	};
	if ((unsigned)phase >= MET_PHASE_COUNT)
		return "unknown";
	return names[phase];
}

void met_phase_timer_init(struct met_phase_timer *t)
{
	*t = (struct met_phase_timer){0};
}

void met_phase_start(struct met_phase_timer *t, enum met_phase phase)
{
	if ((unsigned)phase >= MET_PHASE_COUNT) {
		t->n_misuse++;
		return;
	}
	uint32_t bit = 1u << phase;
	if (t->running & bit)
		t->n_misuse++;
	t->running |= bit;
	t->started_ns[phase] = met_now_ns();
}

void met_phase_stop(struct met_phase_timer *t, enum met_phase phase)
{
	uint64_t now = met_now_ns();
	if ((unsigned)phase >= MET_PHASE_COUNT || !(t->running & (1u << phase))) {
		t->n_misuse++;
		return;
	}
	t->running &= ~(1u << phase);
	if (now > t->started_ns[phase])
		t->total_ns[phase] += now - t->started_ns[phase];
	t->n_intervals[phase]++;
}

void met_phase_add_ns(struct met_phase_timer *t, enum met_phase phase, uint64_t ns)
{
	if ((unsigned)phase >= MET_PHASE_COUNT) {
		t->n_misuse++;
		return;
	}
	t->total_ns[phase] += ns;
	t->n_intervals[phase]++;
}

double met_phase_seconds(const struct met_phase_timer *t, enum met_phase phase)
{
	if ((unsigned)phase >= MET_PHASE_COUNT)
		return 0.0;
	return (double)t->total_ns[phase] * 1e-9;
}

void met_phase_timer_merge(struct met_phase_timer *dst, const struct met_phase_timer *src)
{
	for (int p = 0; p < MET_PHASE_COUNT; p++) {
		dst->total_ns[p] += src->total_ns[p];
		dst->n_intervals[p] += src->n_intervals[p];
	}
	dst->n_misuse += src->n_misuse;
}
