/* progress.c — the progress line and the Ctrl-C of generate, score, import,
 * synth, bench and perplexity (harness/progress.h says what they share with run).
 */
#include "harness/progress.h"

#include <stdlib.h>
#include <unistd.h>

#include "metrics/met.h"

volatile sig_atomic_t hrn_stop_signal;

static struct sigaction old_int, old_term;

void hrn_progress_begin(struct hrn_progress *p, const char *name, const char *unit, size_t total, bool quiet,
			bool stdout_busy)
{
	enum hrn_progress_mode mode = HRN_PROGRESS_LOG;
	if (quiet)
		mode = HRN_PROGRESS_OFF;
	else if (isatty(STDERR_FILENO) && !(stdout_busy && isatty(STDOUT_FILENO)))
		mode = HRN_PROGRESS_TTY;
	hrn_progress_init(p, mode, total, 0);
	p->name = name;
	p->unit = unit;
	p->delay_ns = HRN_PROGRESS_DELAY_NS;
	const char *delay_ms = getenv("MERILO_TEST_PROGRESS_DELAY_MS"); /* test hook (docs/cli.md) */
	if (delay_ms && *delay_ms)
		p->delay_ns = strtoull(delay_ms, NULL, 10) * 1000000ull;
}

void hrn_progress_stage(struct hrn_progress *p, const char *unit, size_t total)
{
	const uint64_t quiet_until = p->t0_ns + p->delay_ns, now = met_now_ns();
	const struct hrn_progress old = *p;
	hrn_progress_init(p, old.mode, total, 0);
	p->name = old.name;
	p->unit = unit;
	p->last_len = old.last_len; /* a terminal's line is drawn over, padded to its length */
	p->delay_ns = quiet_until > now ? quiet_until - now : 0;
}

static void on_signal(int sig)
{
	hrn_stop_signal = sig;
}

void hrn_signals_catch(void)
{
	struct sigaction sa = { .sa_handler = on_signal, .sa_flags = SA_RESETHAND };
	sigemptyset(&sa.sa_mask);
	hrn_stop_signal = 0;
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
}

void hrn_signals_restore(void)
{
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
}
