/* run_loop.c — the run loop: every selected task x item x language, once.
 *
 * Order: task by task; within a task item by item, and each item in all its
 * selected languages before the next item, so that a run stopped anywhere
 * leaves paired data. Units already in items.jsonl (--resume) are skipped.
 * The item writer flushes (write + fsync) every few items, so a SIGKILL loses
 * at most one batch; SIGINT/SIGTERM set a flag that is checked between items and,
 * through eng_ctx_set_stop, before each layer of the forward pass.
 * Before a task's items, the plans of its first items are written to
 * prompts/<task>.<lang>.txt, exactly as the model will see them (the same plan
 * objects the evaluators score, from run_units.c).
 */
#include "harness/run.h"
#include "harness/run_gen.h"

#include <jansson.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/fileio.h"
#include "metrics/met.h"

/* A string JSON-quoted, so that leading and trailing whitespace is visible. */
static void put_quoted(FILE *f, const char *s)
{
	json_t *j = rec_json_string(s);
	char *q = j ? json_dumps(j, JSON_ENCODE_ANY) : NULL;
	fputs(q ? q : "(out of memory)", f);
	free(q);
	json_decref(j);
}

/* One item's plan as scored: the context (its trailing whitespace belongs to the
 * continuations), then each choice's continuation JSON-quoted. */
static void put_mc_plan(FILE *f, const struct task_mc_plan *p)
{
	for (size_t j = 0; p->choice_in_context && j < p->n_choices; j++) { /* a context per choice */
		fprintf(f, "%s----- choice [%zu]%s: its context -----\n", j ? "\n" : "", j, (int)j == p->gold ? " (gold)" : "");
		fwrite(p->choices[j].text, 1, p->choices[j].context_len, f);
		fputs("\n----- its continuation -----\n", f);
		put_quoted(f, p->choices[j].text + p->choices[j].context_len);
		fputs("\n", f);
	}
	if (p->choice_in_context)
		return;
	fwrite(p->prompt, 1, p->context_len, f);
	fputs("\n----- continuations -----\n", f);
	for (size_t j = 0; j < p->n_choices; j++) {
		fprintf(f, "[%zu] ", j);
		put_quoted(f, p->choices[j].text + p->choices[j].context_len);
		fputs((int)j == p->gold ? "  (gold)\n" : "\n", f);
	}
}

/* One unit's plan into f. */
static int put_plan(const struct hrn_run_cfg *cfg, const struct hrn_unit *u, FILE *f, struct mrl_err *err)
{
	int rc;
	if (task_type(u->task) == TASK_MULTIPLE_CHOICE) {
		struct task_mc_plan p;
		if (!(rc = hrn_run_mc_plan(cfg, u->task, u->item_idx, u->lang, &p, err)))
			put_mc_plan(f, &p);
		task_mc_plan_release(&p);
	} else if (task_type(u->task) == TASK_GENERATE) {
		rc = hrn_run_gen_put_plan(cfg, u, f, err);
	} else {
		struct task_ppl_plan p;
		if (!(rc = hrn_run_ppl_plan(cfg, u->task, u->item_idx, u->lang, &p, err))) {
			fputs(p.text, f);
			fputc('\n', f);
		}
		task_ppl_plan_release(&p);
	}
	return rc;
}

/* prompts/<task>.<lang>.txt: the plans of the first HRN_RUN_PROMPTS_SAVED items of
 * task ti in its language li. */
static int save_prompts(const struct hrn_run_cfg *cfg, size_t ti, size_t li, struct mrl_err *err)
{
	const struct task_task *t = cfg->tasks[ti];
	const char *lang = task_language(t, li);
	char *buf = NULL, *path = NULL;
	size_t len = 0, shown = 0;
	int rc = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		return mrl_err_set(err, MRL_ENOMEM, "out of memory");
	fprintf(f, "# merilo run: the first prompts of task '%s' in %s, exactly as scored.\n", task_id(t), lang);
	if (task_type(t) == TASK_MULTIPLE_CHOICE)
		fprintf(f, "# Each choice's continuation (JSON-quoted to show whitespace) is scored right after the\n"
			   "# context (no newline between them);\n"
			   "# BOS %s.\n", cfg->add_bos ? "is put before every context" : "is not used");
	struct hrn_units units;
	struct hrn_unit u;
	hrn_units_init_task(&units, cfg, ti);
	while (!rc && shown < HRN_RUN_PROMPTS_SAVED && hrn_units_next(&units, &u)) {
		if (u.lang_idx != li)
			continue;
		shown++;
		fprintf(f, "\n===== item %s =====\n", task_item_id(u.item));
		rc = put_plan(cfg, &u, f, err);
	}
	if (fclose(f) && !rc)
		rc = mrl_err_set(err, MRL_ENOMEM, "out of memory");
	if (!rc && asprintf(&path, "%s/prompts/%s.%s.txt", cfg->out_dir, task_id(t), lang) < 0) {
		path = NULL;
		rc = mrl_err_set(err, MRL_ENOMEM, "out of memory");
	}
	if (!rc)
		rc = mrl_write_file_atomic(path, buf, len, err);
	free(path);
	free(buf);
	return rc;
}

int hrn_run_write_prompts(const struct hrn_run_cfg *cfg, size_t task_idx, struct mrl_err *err)
{
	const struct task_task *t = cfg->tasks[task_idx];
	int rc = 0;
	for (size_t li = 0; li < task_n_languages(t) && !rc; li++)
		if (hrn_run_lang_selected(cfg, task_language(t, li)))
			rc = save_prompts(cfg, task_idx, li, err);
	return rc;
}

/* ---- a task's measurement window: energy, PAPI counters, getrusage, peak RSS ---- */

struct window_state {
	uint64_t t0;
	struct met_usage usage0;
	bool energy_started, counters_started;
};

static void window_begin(const struct hrn_run_cfg *cfg, struct hrn_run_window *w, struct window_state *ws)
{
	struct mrl_err e = { 0 };
	memset(w, 0, sizeof *w);
	memset(ws, 0, sizeof *ws);
	w->have_counters = cfg->counters != NULL;
	w->rss_reset = met_rss_reset_peak(&e) == 0;
	if (cfg->counters) {
		met_counters_reset(cfg->counters);
		ws->counters_started = met_counters_start(cfg->counters, &e) == 0;
	}
	ws->energy_started = cfg->energy && met_energy_start(cfg->energy, &e) == 0;
	met_usage_read(&ws->usage0);
	ws->t0 = met_now_ns();
}

/* The energy figure: every source of the first scope found in the order cpu-package,
 * platform, gpu-board, any; sources of that scope and of the first method having it
 * are summed (the packages of a multi-socket machine), never scopes that overlap. */
static void window_energy(const struct hrn_run_cfg *cfg, struct hrn_run_window *w)
{
	static const char *const prefer[] = { "cpu-package", "platform", "gpu-board", NULL };
	struct met_energy_meter *m = cfg->energy;
	const size_t n = m ? met_energy_n_sources(m) : 0;
	if (!m) {
		met_reading_null(&w->energy_j, "J", "no energy meter was opened");
		return;
	}
	if (!n) {
		char why[MET_REASON_MAX] = "";
		size_t len = 0;
		for (size_t i = 0; i < met_energy_n_unavailable(m) && len + 1 < sizeof why; i++) {
			const struct met_energy_source *u = met_energy_unavailable_at(m, i);
			int k = snprintf(why + len, sizeof why - len, "%s%s: %s", i ? "; " : "", u->method, u->reason);
			len += k > 0 ? (size_t)k : 0;
		}
		met_reading_null(&w->energy_j, "J", "no energy source on this machine%s%s", *why ? " (" : "", *why ? why : "");
		if (*why && strlen(w->energy_j.reason) + 1 < MET_REASON_MAX)
			strcat(w->energy_j.reason, ")");
		return;
	}
	size_t pick = 0;
	const char *scope = NULL;
	for (int p = 0; prefer[p] && !scope; p++)
		for (size_t i = 0; i < n && !scope; i++)
			if (!strcmp(met_energy_source_at(m, i)->scope, prefer[p]))
				scope = prefer[p], pick = i;
	const struct met_energy_source *first = met_energy_source_at(m, pick);
	bool any = false;
	for (size_t i = 0; i < n; i++) {
		const struct met_energy_source *s = met_energy_source_at(m, i);
		if (i != pick && (!scope || strcmp(s->scope, scope) || strcmp(s->method, first->method)))
			continue;
		struct met_energy_result res;
		met_energy_result(m, i, &res);
		if (!any)
			w->energy_j = res.gross_j;
		else
			met_reading_add(&w->energy_j, &res.gross_j);
		size_t len = strlen(w->energy_source);
		snprintf(w->energy_source + len, sizeof w->energy_source - len, "%s%s %s (%s)", any ? " + " : "", s->method,
			 s->name, s->scope);
		any = true;
	}
}

static void window_end(const struct hrn_run_cfg *cfg, struct hrn_run_window *w, struct window_state *ws,
		       size_t n_items)
{
	struct mrl_err e = { 0 };
	w->seconds = (double)(met_now_ns() - ws->t0) * 1e-9;
	struct met_usage u1;
	met_usage_read(&u1);
	met_usage_diff(&u1, &ws->usage0, &w->usage);
	if (ws->energy_started && met_energy_stop(cfg->energy, &e) == 0)
		window_energy(cfg, w);
	else if (cfg->energy)
		met_reading_null(&w->energy_j, "J", "the energy window could not be started: %s", e.msg);
	else
		window_energy(cfg, w);
	if (cfg->counters) {
		if (ws->counters_started)
			met_counters_stop(cfg->counters, &e);
		met_counters_read(cfg->counters, &w->counters);
	}
	struct met_rss rss;
	met_rss_read(&rss);
	w->peak_rss = rss.vmhwm;
	w->n_items = n_items;
}

/* Whether unit u is in items.jsonl already (--resume). */
static bool unit_done(const struct hrn_run_cfg *cfg, const struct hrn_unit *u)
{
	return cfg->done && rec_done_set_has(cfg->done, task_id(u->task), task_item_id(u->item), u->lang);
}

/* Score unit u and hand its record to the item writer. */
static int run_unit(const struct hrn_run_cfg *cfg, const struct hrn_unit *u, struct mrl_err *err)
{
	struct rec_item rec = { 0 };
	int rc = task_type(u->task) == TASK_MULTIPLE_CHOICE
			 ? hrn_run_mc_item(cfg, u->task, u->item_idx, u->lang, &rec, err)
			 : hrn_run_ppl_item(cfg, u->task, u->item_idx, u->lang, &rec, err);
	if (!rc)
		rc = rec_item_writer_add(cfg->writer, &rec, err);
	rec_item_release(&rec);
	return rc;
}

/* The index of task t in cfg->tasks; cfg->n_tasks when it is not there. */
static size_t task_index(const struct hrn_run_cfg *cfg, const struct task_task *t)
{
	size_t ti = 0;
	while (ti < cfg->n_tasks && cfg->tasks[ti] != t)
		ti++;
	return ti;
}

/* A unit's estimated work for the ETA, in bytes of multiple-choice text (measured on SmolLM2-135M
 * Q4_1, the demo suite, 2 threads: a multiple-choice unit ~1.1 ms a byte of its context and
 * continuations, short calls with little to batch; a perplexity document ~0.5 ms a byte, long
 * windows; a generation ~0.1 s, about its prompt and answer, counted as 128 bytes plus one a token
 * it may generate). Only the ETA uses it: the time left is the work left at the rate so far. */
static double unit_work(const struct hrn_run_cfg *cfg, const struct hrn_unit *u)
{
	struct mrl_err err = { 0 };
	double w = 1;
	if (task_type(u->task) == TASK_GENERATE)
		return 128.0 + (double)hrn_run_gen_max_new(cfg, u->task);
	if (task_type(u->task) == TASK_MULTIPLE_CHOICE) {
		struct task_mc_plan p;
		if (!hrn_run_mc_plan(cfg, u->task, u->item_idx, u->lang, &p, &err)) {
			w += (double)p.context_len;
			for (size_t j = 0; j < p.n_choices; j++)
				w += (double)(strlen(p.choices[j].text) - p.choices[j].context_len) * (p.mutual_info ? 2 : 1);
		}
		task_mc_plan_release(&p);
	} else {
		struct task_ppl_plan p;
		if (!hrn_run_ppl_plan(cfg, u->task, u->item_idx, u->lang, &p, &err))
			w += 0.5 * (double)strlen(p.text);
		task_ppl_plan_release(&p);
	}
	return w;
}

/* After n units scored together from u on (n > 1: a generate batch or a
 * multiple-choice window of one task), n_scored counting them: the progress line
 * advances by n once, naming the task and the count; the test hooks sleep once
 * per unit, and stop the process where n_scored crosses cfg->pause_at (a test
 * changes the model file meanwhile and sends SIGCONT: no race with the clock). */
static void units_finished(const struct hrn_run_cfg *cfg, const struct hrn_unit *u, size_t n, size_t n_scored,
			   struct hrn_progress *prog, double work_each)
{
	char what[64];
	if (!n)
		return;
	if (n == 1)
		snprintf(what, sizeof what, "%s %s", task_id(u->task), u->lang);
	else
		snprintf(what, sizeof what, "%s, %zu units", task_id(u->task), n);
	hrn_progress_advance_work(prog, n, work_each * (double)n, what);
	if (cfg->slow_ms > 0) {
		const long long ms = cfg->slow_ms * (long long)n;
		struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };
		nanosleep(&ts, NULL);
	}
	if (cfg->pause_at && n_scored >= cfg->pause_at && n_scored - n < cfg->pause_at)
		raise(SIGSTOP);
}

int hrn_run_items(const struct hrn_run_cfg *cfg, struct hrn_run_stats *st, struct mrl_err *err)
{
	memset(st, 0, sizeof *st);
	const uint64_t t0 = met_now_ns();
	struct hrn_units units;
	struct hrn_unit u;
	/* the work of each task's units, on average (a window or batch advances units of one task) */
	double *work = calloc(cfg->n_tasks + 1, sizeof *work), work_total = 0, work_done = 0;
	size_t *n_units = calloc(cfg->n_tasks + 1, sizeof *n_units);
	hrn_units_init(&units, cfg);
	while (hrn_units_next(&units, &u)) {
		const bool done = unit_done(cfg, &u);
		st->n_total++;
		st->n_done_before += done;
		const double w = cfg->progress != HRN_PROGRESS_OFF && work && n_units ? unit_work(cfg, &u) : 0;
		const size_t ti = task_index(cfg, u.task);
		if (w > 0 && ti < cfg->n_tasks)
			work[ti] += w, n_units[ti]++, work_total += w, work_done += done ? w : 0;
	}
	for (size_t ti = 0; work && n_units && ti < cfg->n_tasks; ti++)
		work[ti] = n_units[ti] ? work[ti] / (double)n_units[ti] : 0;
	free(n_units);
	struct hrn_progress prog;
	hrn_progress_init(&prog, cfg->progress, st->n_total, st->n_done_before);
	if (work)
		hrn_progress_weigh(&prog, work_total, work_done);
	int rc = 0;
	for (size_t ti = 0; ti < cfg->n_tasks && !rc && !st->interrupted; ti++) {
		rc = hrn_run_write_prompts(cfg, ti, err);
		struct hrn_run_window win_scratch, *win = cfg->windows ? &cfg->windows[ti] : &win_scratch;
		struct window_state ws;
		const size_t scored_before = st->n_scored;
		window_begin(cfg, win, &ws);
		hrn_units_init_task(&units, cfg, ti);
		while (!rc && hrn_units_next(&units, &u)) {
			if (unit_done(cfg, &u))
				continue;
			if ((cfg->stop && *cfg->stop) || (cfg->stop_after && st->n_scored >= cfg->stop_after)) {
				st->interrupted = true;
				break;
			}
			size_t n_now = 0;
			if (task_type(u.task) == TASK_GENERATE) /* a batch of units, from u on */
				rc = hrn_run_gen_batch(cfg, &units, &u, cfg->stop_after ? cfg->stop_after - st->n_scored : SIZE_MAX,
						       &n_now, err);
			else if (task_type(u.task) == TASK_MULTIPLE_CHOICE && cfg->score_window > 1) /* a window of units */
				rc = hrn_run_mc_window(cfg, &units, &u, cfg->stop_after ? cfg->stop_after - st->n_scored : SIZE_MAX,
						       &n_now, err);
			else
				n_now = (rc = run_unit(cfg, &u, err)) == 0;
			/* stopped inside the forward pass (eng_ctx_set_stop): not another error at the same time */
			if (rc && cfg->stop && *cfg->stop && rc == MRL_ERUNTIME && strstr(err->msg, "interrupted")) {
				rc = 0;
				st->interrupted = true;
			}
			st->n_scored += n_now;
			units_finished(cfg, &u, n_now, st->n_scored, &prog, work ? work[ti] : 0);
			if (st->interrupted)
				break;
		}
		window_end(cfg, win, &ws, st->n_scored - scored_before);
	}
	hrn_progress_end(&prog);
	free(work);
	st->seconds = (double)(met_now_ns() - t0) * 1e-9;
	return rc;
}
