/* run_progress.c — the progress of `merilo run` on stderr, and its closing lines.
 *
 * On a terminal: "  37.2%  558/1500  copa sr-Latn  12.4 items/s  ETA 1m16s",
 * redrawn in place with \r at most ten times a second so that drawing never
 * costs measurable time. In a pipe (a CI log) \r would pile up into one endless
 * line, so there a whole line is printed each time another 5% of the units is
 * done or 10 s have passed since the last one, whichever comes first:
 * "merilo run: 558/1500 units (37.2%), copa sr-Latn, 12.4 items/s, ETA 1m16s".
 * The 5% rule makes a short run log a predictable number of lines; the 10 s
 * rule shows life in a long one. The rate counts only items scored by this
 * process (resumed ones are excluded). `merilo perplexity` uses the same line
 * for its chunks (name, unit and a delay before the first line are fields).
 */
#include "harness/run.h"

#include <stdio.h>

#include "metrics/met.h"

#define REDRAW_NS 100000000ull    /* 0.1 s */
#define LOG_EVERY_NS 10000000000ull /* 10 s */
#define LOG_STEPS 20              /* a line every 1/20 = 5% of the units */

void hrn_progress_init(struct hrn_progress *p, enum hrn_progress_mode mode, size_t total, size_t done)
{
	*p = (struct hrn_progress){ .mode = mode, .total = total, .done = done, .done_at_start = done,
				    .t0_ns = met_now_ns() };
	if (mode == HRN_PROGRESS_LOG) /* the first log line after 5% or 10 s; the first redraw at once */
		p->last_draw_ns = p->t0_ns;
	p->last_step = total ? done * LOG_STEPS / total : 0;
}

/* items/s of this process and the time left as "1m16s" ("?" before the first item). */
static double rate_eta(const struct hrn_progress *p, char *eta, size_t size)
{
	const double s = (double)(met_now_ns() - p->t0_ns) * 1e-9;
	const size_t here = p->done - p->done_at_start;
	const double rate = s > 0 ? (double)here / s : 0, left = hrn_progress_eta_s(p, s);
	snprintf(eta, size, "?");
	if (left >= 0)
		snprintf(eta, size, "%dm%02ds", (int)(left / 60), (int)left % 60);
	return rate;
}

static double percent(const struct hrn_progress *p)
{
	return p->total ? 100.0 * (double)p->done / (double)p->total : 100.0;
}

static void draw(struct hrn_progress *p, const char *what)
{
	char eta[32];
	const double rate = rate_eta(p, eta, sizeof eta);
	int n = fprintf(stderr, "\r  %5.1f%%  %zu/%zu  %-24.24s  %.1f %s/s  ETA %s", percent(p), p->done, p->total,
			what ? what : "", rate, p->unit ? p->unit : "items", eta);
	for (int i = n; i < p->last_len; i++)
		fputc(' ', stderr);
	p->last_len = n;
	fflush(stderr);
}

static void log_line(const struct hrn_progress *p, const char *what)
{
	char eta[32];
	const double rate = rate_eta(p, eta, sizeof eta);
	fprintf(stderr, "%s: %zu/%zu %s (%.1f%%), %s, %.1f %s/s, ETA %s\n", p->name ? p->name : "merilo run", p->done,
		p->total, p->unit ? p->unit : "units", percent(p), what ? what : "", rate, p->unit ? p->unit : "items", eta);
	fflush(stderr);
}

void hrn_progress_step(struct hrn_progress *p, const char *what)
{
	hrn_progress_advance(p, 1, what);
}

double hrn_progress_eta_s(const struct hrn_progress *p, double elapsed_s)
{
	const size_t here = p->done - p->done_at_start;
	if (!(elapsed_s > 0) || !here)
		return -1;
	/* by estimated work where it is known: the units of a suite differ in cost tenfold */
	const double work_here = p->work_done - p->work_done_at_start;
	const double left = p->work_total > 0 && work_here > 0 ? (p->work_total - p->work_done) / (work_here / elapsed_s)
								 : (double)(p->total - p->done) / ((double)here / elapsed_s);
	return left > 0 ? left : 0;
}

void hrn_progress_weigh(struct hrn_progress *p, double total, double done)
{
	p->work_total = total;
	p->work_done = p->work_done_at_start = done;
}

void hrn_progress_plan(struct hrn_progress *p, size_t total, double work)
{
	p->total = total;
	p->done = p->done_at_start = 0;
	p->last_step = 0;
	hrn_progress_weigh(p, work, 0);
}

void hrn_progress_advance_work(struct hrn_progress *p, size_t n, double work, const char *what)
{
	p->work_done += work;
	hrn_progress_advance(p, n, what);
}

void hrn_progress_advance(struct hrn_progress *p, size_t n, const char *what)
{
	p->done += n;
	const uint64_t now = met_now_ns();
	if (now - p->t0_ns < p->delay_ns)
		return;
	if (p->mode == HRN_PROGRESS_LOG) {
		const size_t step = p->total ? p->done * LOG_STEPS / p->total : LOG_STEPS;
		if (step == p->last_step && now - p->last_draw_ns < LOG_EVERY_NS)
			return;
		p->last_step = step;
		p->last_draw_ns = now;
		log_line(p, what);
		return;
	}
	if (p->mode != HRN_PROGRESS_TTY)
		return;
	if (now - p->last_draw_ns < REDRAW_NS && p->done < p->total)
		return;
	p->last_draw_ns = now;
	draw(p, what);
}

void hrn_progress_end(struct hrn_progress *p)
{
	if (p->mode != HRN_PROGRESS_TTY || !p->last_len)
		return;
	fprintf(stderr, "\r%*s\r", p->last_len, "");
	fflush(stderr);
	p->last_len = 0;
}

void hrn_run_print_end(FILE *out, const struct hrn_run_cfg *cfg, const struct rec_results *r,
		       const struct hrn_run_stats *rs, const char *out_dir, bool quiet)
{
	const double rate = rs->seconds > 0 ? (double)rs->n_scored / rs->seconds : 0.0;
	if (quiet) {
		fprintf(out, "merilo run: %zu unit%s scored in %.1f s (%.2f items/s)%s; results: %s/results.json\n",
			rs->n_scored, rs->n_scored == 1 ? "" : "s", rs->seconds, rate, rs->n_done_before ? " after resuming" : "",
			out_dir);
		return;
	}
	hrn_run_print_summary(out, cfg, r);
	hrn_run_print_performance(out, r);
	fprintf(out, "\nscored %zu item x language units in %.1f s (%.2f items/s)%s\n", rs->n_scored, rs->seconds, rate,
		rs->n_done_before ? " after resuming" : "");
	fprintf(out, "results: %s/results.json\nper item: %s/items.jsonl\nprompts: %s/prompts/\n", out_dir, out_dir,
		out_dir);
}
