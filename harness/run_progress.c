/* run_progress.c — the progress line of `merilo run` on a terminal.
 *
 * "  37.2%  558/1500  copa sr-Latn  12.4 items/s  ETA 1m16s", redrawn in place
 * with \r at most ten times a second so that drawing never costs measurable time.
 * The rate counts only items scored by this process (resumed ones are excluded).
 */
#include "harness/run.h"

#include <stdio.h>

#include "metrics/met.h"

#define REDRAW_NS 100000000ull /* 0.1 s */

void hrn_progress_init(struct hrn_progress *p, bool enabled, size_t total, size_t done)
{
	*p = (struct hrn_progress){ .enabled = enabled, .total = total, .done = done, .done_at_start = done,
				    .t0_ns = met_now_ns() };
}

static void draw(struct hrn_progress *p, const char *what)
{
	const double s = (double)(met_now_ns() - p->t0_ns) * 1e-9;
	const size_t here = p->done - p->done_at_start;
	const double rate = s > 0 ? (double)here / s : 0;
	char eta[32] = "?";
	if (rate > 0) {
		const double left = (double)(p->total - p->done) / rate;
		snprintf(eta, sizeof eta, "%dm%02ds", (int)(left / 60), (int)left % 60);
	}
	int n = fprintf(stderr, "\r  %5.1f%%  %zu/%zu  %-24.24s  %.1f items/s  ETA %s",
			p->total ? 100.0 * (double)p->done / (double)p->total : 100.0, p->done, p->total,
			what ? what : "", rate, eta);
	for (int i = n; i < p->last_len; i++)
		fputc(' ', stderr);
	p->last_len = n;
	fflush(stderr);
}

void hrn_progress_step(struct hrn_progress *p, const char *what)
{
	p->done++;
	if (!p->enabled)
		return;
	const uint64_t now = met_now_ns();
	if (now - p->last_draw_ns < REDRAW_NS && p->done < p->total)
		return;
	p->last_draw_ns = now;
	draw(p, what);
}

void hrn_progress_end(struct hrn_progress *p)
{
	if (!p->enabled || !p->last_len)
		return;
	fprintf(stderr, "\r%*s\r", p->last_len, "");
	fflush(stderr);
	p->last_len = 0;
}
