/* progress.h — progress for the commands other than run (generate, score,
 * import, synth, bench and perplexity), and interruption for generate and synth.
 *
 * They share run's progress line (harness/run_progress.c: on a terminal one line
 * redrawn in place and cleared at the end, in a pipe a whole line every 5% or
 * 10 s) and perplexity's rules for when it starts: nothing during the first
 * HRN_PROGRESS_DELAY_NS, so that a command that is over in a moment stays silent,
 * and nothing with --quiet. generate and synth catch SIGINT/SIGTERM as run does:
 * the first one sets a flag the work checks at its next safe point (what is done
 * is kept, what is half-written removed); a second one kills at once. score,
 * import, bench and perplexity keep the default action (killed at once).
 */
#ifndef MRL_HRN_PROGRESS_H
#define MRL_HRN_PROGRESS_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

#include "harness/run.h"

/* Time before the first progress line (5 s): a shorter command prints none. */
#define HRN_PROGRESS_DELAY_NS 5000000000ull

/* Start p for the command name ("merilo generate") counting total units named
 * unit ("prompts"). Off with quiet; a line redrawn in place where stderr is a
 * terminal, unless stdout_busy (the command prints results on stdout while it
 * works) and stdout is a terminal too (the results would be drawn over); whole
 * lines otherwise. Nothing before HRN_PROGRESS_DELAY_NS, or before the test
 * hook MERILO_TEST_PROGRESS_DELAY_MS (milliseconds) where that is set. */
void hrn_progress_begin(struct hrn_progress *p, const char *name, const char *unit, size_t total, bool quiet,
			bool stdout_busy);

/* The next stage of a command whose work comes in stages counted in different
 * units (import: kilobytes read, then items built; score: units written, then
 * bootstrap resamples): p counts total units named unit from 0, its rate and ETA
 * from now, while the delay before the first line still runs from
 * hrn_progress_begin, so a command over in a moment stays silent in every stage. */
void hrn_progress_stage(struct hrn_progress *p, const char *unit, size_t total);

/* The flag the first SIGINT/SIGTERM sets after hrn_signals_catch (process-wide:
 * a signal handler can reach nothing else); 0 before. */
extern volatile sig_atomic_t hrn_stop_signal;
/* Catch SIGINT and SIGTERM until hrn_signals_restore: the first sets
 * hrn_stop_signal (to the signal's number); the action then returns to the
 * default, so a second one ends the process. */
void hrn_signals_catch(void);
void hrn_signals_restore(void);

#endif
