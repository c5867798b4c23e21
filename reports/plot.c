/* plot.c — the run report's plots, drawn by gnuplot.
 *
 * Each plot is a gnuplot script <name>.gp and its data <name>.dat, written into
 * the output folder next to the images they draw (<name>.png, <name>.svg), so
 * that anyone can change and redraw a plot with `cd OUT && gnuplot name.gp`.
 * gnuplot runs as a subprocess (posix_spawn, arguments as a vector, no shell)
 * with the output folder as its working directory, stdin from /dev/null and
 * its output captured (never printed: library modules do not print). A
 * missing or failing gnuplot is not an error: the scripts and data are still
 * written and rpt_plots.status says why the images are missing.
 *
 * Strings from the runs (task, language, model names) go into the scripts only
 * as single-quoted gnuplot strings: gnuplot performs no backquote (shell)
 * substitution and no escape processing inside single quotes, so a hostile
 * name stays text. Control characters are replaced and labels are shortened.
 * The .dat files hold numbers only (labels are in the script, and a comment).
 */
#include "reports/rpt.h"

#include "common/fileio.h"
#include "common/sort.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define FONT "DejaVu Sans,11"
#define LABEL_MAX_CHARS 28  /* code points kept of a name in a tic label or key */
#define GP_OUTPUT_MAX 4096  /* bytes of gnuplot's output kept for messages */

/* ------------------------------------------------------------ gnuplot runs */

/* Run `gnuplot args...` in cwd with stdin /dev/null and stdout+stderr captured
 * into out (NUL-terminated, truncated). Returns 0 when it ran (*status = its
 * wait status), or the errno of a failed start (ENOENT: not found), or ETIME
 * when it ran past timeout_s (it is killed). */
static int gp_exec(const char *gnuplot, const char *cwd, char *const argv[], int timeout_s, char *out,
		   size_t out_size, int *status)
{
	int pipefd[2] = { -1, -1 }, rc = 0;
	posix_spawn_file_actions_t fa;
	bool fa_ok = false;
	pid_t pid = -1;
	size_t n = 0;
	out[0] = '\0';
	*status = -1;
	if (pipe2(pipefd, O_CLOEXEC))
		return errno;
	if ((rc = posix_spawn_file_actions_init(&fa)))
		goto out;
	fa_ok = true;
	if ((rc = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0)) ||
	    (rc = posix_spawn_file_actions_adddup2(&fa, pipefd[1], 1)) ||
	    (rc = posix_spawn_file_actions_adddup2(&fa, pipefd[1], 2)) ||
	    (cwd && (rc = posix_spawn_file_actions_addchdir_np(&fa, cwd))))
		goto out;
	if (strchr(gnuplot, '/'))
		rc = posix_spawn(&pid, gnuplot, &fa, NULL, argv, environ);
	else
		rc = posix_spawnp(&pid, gnuplot, &fa, NULL, argv, environ);
	if (rc) {
		pid = -1;
		goto out;
	}
	close(pipefd[1]);
	pipefd[1] = -1;
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		struct timespec now;
		clock_gettime(CLOCK_MONOTONIC, &now);
		long left_ms = (long)timeout_s * 1000 - ((now.tv_sec - t0.tv_sec) * 1000 + (now.tv_nsec - t0.tv_nsec) / 1000000);
		if (left_ms <= 0) {
			kill(pid, SIGKILL);
			rc = ETIME;
			break;
		}
		struct pollfd p = { .fd = pipefd[0], .events = POLLIN };
		int pr = poll(&p, 1, (int)(left_ms > 1000 ? 1000 : left_ms));
		if (pr < 0 && errno != EINTR)
			break;
		if (pr <= 0)
			continue;
		char buf[1024];
		ssize_t got = read(pipefd[0], buf, sizeof buf);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		for (ssize_t i = 0; i < got && n + 1 < out_size; i++) /* keep the start, drain the rest */
			out[n++] = buf[i];
		out[n] = '\0';
	}
	while (waitpid(pid, status, 0) < 0 && errno == EINTR)
		;
out:
	if (fa_ok)
		posix_spawn_file_actions_destroy(&fa);
	if (pipefd[0] >= 0)
		close(pipefd[0]);
	if (pipefd[1] >= 0)
		close(pipefd[1]);
	return rc;
}

/* The first line of gnuplot's output that says what went wrong, into buf. */
static void first_error_line(const char *output, char *buf, size_t size)
{
	const char *p = output;
	/* gnuplot echoes the failing line and a caret before the message: prefer
	 * the line that names the script ("accuracy.gp", line 12: ...). */
	const char *hit = strstr(output, ".gp\", line");
	if (hit) {
		while (hit > output && hit[-1] != '\n')
			hit--;
		p = hit;
	}
	while (*p == '\n' || *p == ' ')
		p++;
	size_t n = strcspn(p, "\n");
	if (n >= size)
		n = size - 1;
	memcpy(buf, p, n);
	buf[n] = '\0';
}

/* ----------------------------------------------------------- text helpers */

/* A name as a single-quoted gnuplot string: '' doubles a quote, control
 * characters and invalid UTF-8 become '?', at most max_chars code points (an
 * ellipsis marks a cut). Nothing inside single quotes is interpreted by gnuplot. */
static void gp_str(FILE *f, const char *s, size_t max_chars)
{
	if (!s)
		s = "?";
	const unsigned char *p = (const unsigned char *)s;
	size_t chars = 0;
	fputc('\'', f);
	while (*p) {
		if (chars == max_chars) {
			fputs("\xe2\x80\xa6", f); /* U+2026 */
			break;
		}
		unsigned c = *p;
		size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
		bool valid = len > 0;
		for (size_t k = 1; valid && k < len; k++)
			valid = (p[k] & 0xc0) == 0x80;
		if (!valid) {
			fputc('?', f);
			p++;
		} else if (len == 1) {
			if (c < 0x20 || c == 0x7f)
				fputc('?', f);
			else if (c == '\'')
				fputs("''", f);
			else
				fputc((int)c, f);
			p++;
		} else {
			fwrite(p, 1, len, f);
			p += len;
		}
		chars++;
	}
	fputc('\'', f);
}

/* A number for a .dat file: '?' (declared missing) for NaN and infinities. */
static void dat_num(FILE *f, double v)
{
	if (isfinite(v))
		fprintf(f, " %.10g", v);
	else
		fputs(" ?", f);
}

/* A comment-safe copy of a name for .dat headers (no newlines). */
static void dat_comment_str(FILE *f, const char *s)
{
	for (const char *p = s ? s : "?"; *p; p++)
		fputc((unsigned char)*p < 0x20 ? ' ' : *p, f);
}

/* Colour of a language: the same in every plot (Okabe–Ito, colour-blind safe). */
static const char *lang_colour(const char *lang, size_t index)
{
	static const struct { const char *lang, *rgb; } known[] = {
		{ "en", "#0072B2" }, { "sr-Cyrl", "#D55E00" }, { "sr-Latn", "#E69F00" }, { "hr", "#009E73" },
		{ "bs", "#CC79A7" }, { "cnr", "#56B4E9" }, { "sr", "#8C2D04" }, { "sr-Latn-ME", "#56B4E9" },
	};
	static const char *const other[] = { "#000000", "#7F7F7F", "#882255", "#117733", "#332288", "#999933" };
	for (size_t i = 0; lang && i < sizeof known / sizeof known[0]; i++)
		if (!strcmp(lang, known[i].lang))
			return known[i].rgb;
	return other[index % (sizeof other / sizeof other[0])];
}

/* Colour of a run where runs are the series (throughput, single-series CDFs). */
static const char *run_colour(size_t run)
{
	static const char *const c[] = { "#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000" };
	return c[run % (sizeof c / sizeof c[0])];
}

static bool is_en(const char *l)
{
	return l && (!strcmp(l, "en") || !strncmp(l, "en-", 3));
}

enum rpt_gap_kind rpt_gap_orient(const struct rpt_gap *g, struct rpt_gap *out)
{
	enum rpt_gap_kind kind = RPT_GAP_OTHER;
	bool flip = false;
	const char *a = g->language_a, *b = g->language_b;
	if (a && b && is_en(a) != is_en(b)) {
		kind = RPT_GAP_LANGUAGE;
		flip = is_en(b);
	} else if (a && b && ((!strcmp(a, "sr-Cyrl") && !strcmp(b, "sr-Latn")) ||
			      (!strcmp(a, "sr-Latn") && !strcmp(b, "sr-Cyrl")))) {
		kind = RPT_GAP_SCRIPT;
		flip = !strcmp(a, "sr-Latn");
	}
	if (out) {
		*out = *g;
		if (flip) {
			out->language_a = g->language_b;
			out->language_b = g->language_a;
			out->diff = -g->diff;
			out->ci_low = -g->ci_high;
			out->ci_high = -g->ci_low;
			out->mcnemar_b = g->mcnemar_c;
			out->mcnemar_c = g->mcnemar_b;
		}
	}
	return kind;
}

/* "p=0.021", "p<0.001"; a star when p < 0.05. */
static void fmt_p(char *buf, size_t size, double p)
{
	if (!isfinite(p))
		snprintf(buf, size, "p n/a");
	else if (p < 0.001)
		snprintf(buf, size, "p<0.001 *");
	else
		snprintf(buf, size, p < 0.01 ? "p=%.4f%s" : "p=%.3f%s", p, p < 0.05 ? " *" : "");
}

/* A log axis fitted to the data [lo, hi] (> 0) with a small margin, instead of
 * gnuplot's whole decades, and tics at 1, 2, 5 x 10^k. */
static void gp_log_axis(FILE *f, const char *axis, double lo, double hi)
{
	const double a = lo / 1.12, b = hi * 1.12;
	fprintf(f, "set logscale %s\nset %srange [%.6g:%.6g]\nset %stics (", axis, axis, a, b, axis);
	int first = 1;
	for (double dec = pow(10, floor(log10(a))); dec <= b; dec *= 10)
		for (int k = 0; k < 3; k++) {
			double t = dec * (k == 0 ? 1 : k == 1 ? 2 : 5);
			if (t >= a && t <= b) {
				fprintf(f, "%s%.6g", first ? "" : ", ", t);
				first = 0;
			}
		}
	fputs(")\n", f);
}

/* ------------------------------------------------------------ the plotter */

struct plotter {
	const char *out_dir;
	const char *gnuplot;
	int timeout_s;
	bool want_png, want_svg;
	struct rpt_plots *out;
};

/* The script's first lines: what it is, the first terminal and output. */
static void gp_begin(const struct plotter *pl, FILE *f, const char *name, const char *what, int w, int h)
{
	fprintf(f, "# %s.gp - %s\n# Written by merilo report; data in %s.dat. Redraw: cd to this folder; gnuplot %s.gp\n",
		name, what, name, name);
	fputs("set encoding utf8\nset datafile missing '?'\n", f);
	if (pl->want_png) {
		if (!strcmp(pl->out->terminal, "png"))
			fprintf(f, "set terminal png size %d,%d noenhanced\n", w, h);
		else
			fprintf(f, "set terminal pngcairo size %d,%d font '" FONT "' noenhanced\n", w, h);
		fprintf(f, "set output '%s.png'\n", name);
	} else {
		fprintf(f, "set terminal svg size %d,%d font '" FONT "' noenhanced background '#ffffff'\n", w, h);
		fprintf(f, "set output '%s.svg'\n", name);
	}
	fputs("set border 3\nset tics nomirror\n", f);
}

/* The script's last lines: the second format by replot. */
static void gp_end(const struct plotter *pl, FILE *f, const char *name, int w, int h)
{
	if (pl->want_png && pl->want_svg) {
		fprintf(f, "set terminal svg size %d,%d font '" FONT "' noenhanced background '#ffffff'\n", w, h);
		fprintf(f, "set output '%s.svg'\nreplot\n", name);
	}
	fputs("unset output\n", f);
}

static int file_size_ok(const char *dir, const char *name, const char *ext)
{
	char path[4096];
	struct stat st;
	snprintf(path, sizeof path, "%s/%s.%s", dir, name, ext);
	return stat(path, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0;
}

/* Append a status sentence (first one wins the start of the line). */
static void add_status(struct rpt_plots *o, const char *msg)
{
	size_t n = strlen(o->status);
	if (n && n + 2 < sizeof o->status)
		snprintf(o->status + n, sizeof o->status - n, "; %s", msg);
	else if (!n)
		snprintf(o->status, sizeof o->status, "%s", msg);
}

/* Write name.gp and name.dat from the two memory streams, run gnuplot on the
 * script and record the plot. Takes ownership of gp_buf and dat_buf. */
static int emit(struct plotter *pl, const char *name, const char *title, const char *caption, char *gp_buf,
		size_t gp_len, char *dat_buf, size_t dat_len, struct mrl_err *err)
{
	char path[4096];
	int rc = 0;
	struct rpt_plots *o = pl->out;
	struct rpt_plot *grown = realloc(o->plot, (o->n + 1) * sizeof *grown);
	if (!grown) {
		rc = mrl_err_set(err, MRL_ENOMEM, "out of memory");
		goto out;
	}
	o->plot = grown;
	struct rpt_plot *p = &o->plot[o->n];
	memset(p, 0, sizeof *p);
	snprintf(p->name, sizeof p->name, "%s", name);
	snprintf(p->title, sizeof p->title, "%s", title);
	snprintf(p->caption, sizeof p->caption, "%s", caption);
	snprintf(path, sizeof path, "%s/%s.dat", pl->out_dir, name);
	if ((rc = mrl_write_file_atomic(path, dat_buf, dat_len, err)))
		goto out;
	snprintf(path, sizeof path, "%s/%s.gp", pl->out_dir, name);
	if ((rc = mrl_write_file_atomic(path, gp_buf, gp_len, err)))
		goto out;
	o->n++;
	if (!o->have_gnuplot)
		goto out;
	char script[64], output[GP_OUTPUT_MAX], line[512], msg[800];
	snprintf(script, sizeof script, "%s.gp", name);
	char *argv[] = { (char *)pl->gnuplot, script, NULL };
	int status, erc = gp_exec(pl->gnuplot, pl->out_dir, argv, pl->timeout_s, output, sizeof output, &status);
	p->png = pl->want_png && file_size_ok(pl->out_dir, name, "png");
	p->svg = pl->want_svg && file_size_ok(pl->out_dir, name, "svg");
	if (erc == ETIME) {
		snprintf(msg, sizeof msg, "%s.gp: gnuplot ran past %d s and was stopped", name, pl->timeout_s);
		add_status(o, msg);
	} else if (erc) {
		snprintf(msg, sizeof msg, "%s.gp: cannot start gnuplot '%s': %s", name, pl->gnuplot, strerror(erc));
		add_status(o, msg);
	} else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || (pl->want_png && !p->png) ||
		   (pl->want_svg && !p->svg)) {
		first_error_line(output, line, sizeof line);
		snprintf(msg, sizeof msg, "%s.gp: gnuplot failed (%s%d)%s%s", name,
			 WIFEXITED(status) ? "exit " : "signal ", WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status),
			 line[0] ? ": " : "", line);
		add_status(o, msg);
	}
out:
	free(gp_buf);
	free(dat_buf);
	return rc;
}

/* Two memory streams for a script and its data. */
struct bufs {
	char *gp, *dat;
	size_t gp_len, dat_len;
	FILE *g, *d;
};

static int bufs_open(struct bufs *b, struct mrl_err *err)
{
	memset(b, 0, sizeof *b);
	b->g = open_memstream(&b->gp, &b->gp_len);
	b->d = open_memstream(&b->dat, &b->dat_len);
	if (!b->g || !b->d)
		return mrl_err_set(err, MRL_ENOMEM, "out of memory");
	return 0;
}

/* Close the streams; 0, or MRL_ENOMEM when a write into memory failed. */
static int bufs_close(struct bufs *b, struct mrl_err *err)
{
	int bad = 0;
	if (b->g)
		bad |= ferror(b->g) | fclose(b->g);
	if (b->d)
		bad |= ferror(b->d) | fclose(b->d);
	b->g = b->d = NULL;
	if (bad || !b->gp || !b->dat) {
		free(b->gp);
		free(b->dat);
		b->gp = b->dat = NULL;
		return mrl_err_set(err, MRL_ENOMEM, "out of memory while writing a plot script");
	}
	return 0;
}

static void bufs_discard(struct bufs *b)
{
	if (b->g)
		fclose(b->g);
	if (b->d)
		fclose(b->d);
	free(b->gp);
	free(b->dat);
	memset(b, 0, sizeof *b);
}

/* Finish a plot: the script's last lines, close the streams and hand the
 * script and data to emit(), which owns them from then on. */
static int bufs_emit(struct plotter *pl, struct bufs *b, const char *name, const char *title, const char *caption,
		     int w, int h, struct mrl_err *err)
{
	gp_end(pl, b->g, name, w, h);
	int rc = bufs_close(b, err);
	if (rc)
		return rc;
	rc = emit(pl, name, title, caption, b->gp, b->gp_len, b->dat, b->dat_len, err);
	b->gp = b->dat = NULL;
	return rc;
}

/* Index of s in list[0..*n), appending it when absent (list has room for cap). */
static size_t intern(const char **list, size_t *n, const char *s)
{
	for (size_t i = 0; i < *n; i++)
		if (!strcmp(list[i], s))
			return i;
	list[*n] = s;
	return (*n)++;
}

static bool is_accuracy_metric(const char *m)
{
	return m && (!strcmp(m, "acc") || !strcmp(m, "exact_match"));
}

/* The score plotted for (run, task): "acc", else "exact_match". */
static bool plotted_score(const struct rpt_input *in, size_t i)
{
	const struct rpt_score *s = &in->scores[i];
	if (!s->task || !s->language || !is_accuracy_metric(s->metric))
		return false;
	if (!strcmp(s->metric, "acc"))
		return true;
	for (size_t k = 0; k < in->n_scores; k++) /* exact_match only where the task has no acc */
		if (in->scores[k].run == s->run && in->scores[k].task && !strcmp(in->scores[k].task, s->task) &&
		    in->scores[k].metric && !strcmp(in->scores[k].metric, "acc"))
			return false;
	return true;
}

/* Accuracy per task x language with CIs: one group per (task, run), one colour
 * per language, points with error bars on a 0-100 % scale. */
static int plot_accuracy(struct plotter *pl, const struct rpt_input *in, struct mrl_err *err)
{
	size_t n_sel = 0;
	for (size_t i = 0; i < in->n_scores; i++)
		n_sel += plotted_score(in, i);
	if (!n_sel)
		return 0;
	const char **langs = calloc(n_sel, sizeof *langs), **tasks = calloc(n_sel, sizeof *tasks);
	size_t *group_run = calloc(n_sel, sizeof *group_run), *group_task = calloc(n_sel, sizeof *group_task);
	int64_t *group_n = calloc(n_sel, sizeof *group_n);
	size_t n_langs = 0, n_tasks = 0, n_groups = 0;
	struct bufs b = { 0 };
	int rc = 0;
	if (!langs || !tasks || !group_run || !group_task || !group_n) {
		rc = mrl_err_set(err, MRL_ENOMEM, "out of memory");
		goto out;
	}
	/* groups in order of first appearance; run-major keeps a model's tasks together */
	double level = NAN;
	bool mixed_level = false;
	for (size_t r = 0; r < in->n_runs; r++)
		for (size_t i = 0; i < in->n_scores; i++) {
			const struct rpt_score *s = &in->scores[i];
			if (s->run != r || !plotted_score(in, i))
				continue;
			intern(langs, &n_langs, s->language);
			size_t t = intern(tasks, &n_tasks, s->task), g;
			for (g = 0; g < n_groups && !(group_run[g] == r && group_task[g] == t); g++)
				;
			if (g == n_groups) {
				group_run[g] = r, group_task[g] = t, group_n[g] = s->n;
				n_groups++;
			} else if (group_n[g] != s->n) {
				group_n[g] = -1; /* languages differ in n: say nothing */
			}
			if (isfinite(s->ci_level)) {
				if (isfinite(level) && fabs(level - s->ci_level) > 1e-9)
					mixed_level = true;
				level = s->ci_level;
			}
		}
	if ((rc = bufs_open(&b, err)))
		goto out;
	const int w = n_groups * n_langs > 24 ? 1500 : n_groups > 4 ? 1200 : 1000, h = 620;
	char ci_text[48];
	if (isfinite(level) && !mixed_level)
		snprintf(ci_text, sizeof ci_text, "%g%% CI", level * 100);
	else
		snprintf(ci_text, sizeof ci_text, "CI as recorded");
	gp_begin(pl, b.g, "accuracy", "accuracy per task and language with confidence intervals", w, h);
	fprintf(b.g, "set title 'Accuracy per task and language (points: estimate; bars: %s)'\n", ci_text);
	fputs("set ylabel 'accuracy (%)'\nset yrange [0:100]\nset ytics 10\nset mytics 2\n"
	      "set grid ytics mytics lt 1 lc rgb '#d4d4d4' lw 1 dt 1, lt 1 lc rgb '#ececec' lw 1 dt 1\n"
	      "set key outside right top vertical samplen 1.5 spacing 1.3 title 'language'\n", b.g);
	fprintf(b.g, "set xrange [-0.5:%zu.5]\n", n_groups - 1);
	fputs("set bmargin 4.5\n", b.g); /* two-line tic labels */
	fputs("set xtics scale 0 (", b.g);
	for (size_t g = 0; g < n_groups; g++) {
		fputs(g ? ", " : "", b.g);
		gp_str(b.g, tasks[group_task[g]], LABEL_MAX_CHARS);
		fputs(".\"\\n\"", b.g); /* second line: run, n */
		if (in->n_runs > 1) {
			fputs(".", b.g);
			gp_str(b.g, in->runs[group_run[g]].label, 16);
			fputs(group_n[g] >= 0 ? ".', '" : "", b.g);
		}
		if (group_n[g] >= 0)
			fprintf(b.g, ".'n=%lld'", (long long)group_n[g]);
		fprintf(b.g, " %zu", g);
	}
	fputs(")\n", b.g);
	for (size_t g = 0; g + 1 < n_groups; g++)
		fprintf(b.g, "set arrow from %zu.5, graph 0 to %zu.5, graph 1 nohead lc rgb '#bbbbbb' dt 2\n", g, g);
	/* data: one block per language: x  value%  lo%  hi% */
	fputs("# accuracy.dat - one block (gnuplot index) per language; columns: x  accuracy_%  ci_low_%  ci_high_%\n",
	      b.d);
	const double width = 0.7, step = n_langs > 1 ? width / (double)(n_langs - 1) : 0;
	fputs("plot ", b.g);
	for (size_t l = 0; l < n_langs; l++) {
		fprintf(b.d, "%s# index %zu: language ", l ? "\n\n" : "", l);
		dat_comment_str(b.d, langs[l]);
		fputc('\n', b.d);
		for (size_t g = 0; g < n_groups; g++)
			for (size_t i = 0; i < in->n_scores; i++) {
				const struct rpt_score *s = &in->scores[i];
				if (s->run != group_run[g] || strcmp(s->task, tasks[group_task[g]]) ||
				    strcmp(s->language, langs[l]) || !plotted_score(in, i))
					continue;
				double x = (double)g + (n_langs > 1 ? -width / 2 + step * (double)l : 0);
				double v = s->value * 100;
				double lo = isfinite(s->ci_low) ? s->ci_low * 100 : v, hi = isfinite(s->ci_high) ? s->ci_high * 100 : v;
				fprintf(b.d, "%.4f", x);
				dat_num(b.d, v);
				dat_num(b.d, lo);
				dat_num(b.d, hi);
				fputc('\n', b.d);
				break;
			}
		fprintf(b.g, "%s'accuracy.dat' index %zu using 1:2:3:4 with yerrorbars pt 7 ps 1.2 lw 2 lc rgb '%s' title ",
			l ? ", \\\n     " : "", l, lang_colour(langs[l], l));
		gp_str(b.g, langs[l], LABEL_MAX_CHARS);
	}
	fputc('\n', b.g);
	char caption[640];
	snprintf(caption, sizeof caption,
		 "Each point is a model's accuracy on one task in one language (the 'acc' metric; 'exact_match' for "
		 "generative tasks), with its %s from the run's bootstrap. Groups are tasks%s; n is the number of items "
		 "scored. Overlapping intervals do not mean 'no difference': the paired gap plots below test that.",
		 ci_text, in->n_runs > 1 ? " per run" : "");
	rc = bufs_emit(pl, &b, "accuracy", "Accuracy per task and language", caption, w, h, err);
out:
	bufs_discard(&b);
	free(langs);
	free(tasks);
	free(group_run);
	free(group_task);
	free(group_n);
	return rc;
}

/* A gap plot: one row per (run, task, pair) of the given kind, the paired
 * difference in percentage points with its CI, McNemar p on the right axis. */
static int plot_gaps(struct plotter *pl, const struct rpt_input *in, enum rpt_gap_kind kind, struct mrl_err *err)
{
	const char *name = kind == RPT_GAP_LANGUAGE ? "language-gap" : "script-gap";
	size_t n_rows = 0;
	for (size_t i = 0; i < in->n_gaps; i++)
		n_rows += rpt_gap_orient(&in->gaps[i], NULL) == kind && in->gaps[i].metric &&
			  !strcmp(in->gaps[i].metric, "acc") && in->gaps[i].task;
	if (!n_rows)
		return 0;
	struct rpt_gap *rows = calloc(n_rows, sizeof *rows);
	const char **colours_of = calloc(n_rows, sizeof *colours_of); /* the language each colour stands for */
	size_t n_col = 0;
	struct bufs b = { 0 };
	int rc = 0;
	if (!rows || !colours_of) {
		rc = mrl_err_set(err, MRL_ENOMEM, "out of memory");
		goto out;
	}
	size_t r = 0;
	double lo = 0, hi = 0, level = NAN; /* the data's extent, 0 included */
	for (size_t i = 0; i < in->n_gaps; i++) {
		struct rpt_gap g;
		if (rpt_gap_orient(&in->gaps[i], &g) != kind || !g.metric || strcmp(g.metric, "acc") || !g.task)
			continue;
		rows[r++] = g;
		intern(colours_of, &n_col, kind == RPT_GAP_LANGUAGE ? g.language_b : g.task);
		const double v[3] = { g.diff, g.ci_low, g.ci_high };
		for (int k = 0; k < 3; k++)
			if (isfinite(v[k])) {
				lo = fmin(lo, v[k]);
				hi = fmax(hi, v[k]);
			}
		if (isfinite(g.ci_level))
			level = g.ci_level;
	}
	/* percentage points: the data plus a margin, at least 5 each side of 0, in steps of 5 */
	const double pad = fmax(2.0, (hi - lo) * 100 * 0.08);
	const double x_lo = fmin(-5.0, floor((lo * 100 - pad) / 5.0) * 5.0), x_hi = fmax(5.0, ceil((hi * 100 + pad) / 5.0) * 5.0);
	if ((rc = bufs_open(&b, err)))
		goto out;
	const int w = 1250, h = (int)(170 + 34 * n_rows < 320 ? 320 : 170 + 34 * n_rows);
	char ci_text[48];
	snprintf(ci_text, sizeof ci_text, isfinite(level) ? "%g%% paired CI" : "paired CI", level * 100);
	if (kind == RPT_GAP_LANGUAGE) {
		gp_begin(pl, b.g, name, "the language gap: English minus each BCMS variant, paired", w, h);
		fprintf(b.g, "set title 'Language gap: accuracy in English minus in each BCMS variant (same items; bars: %s)'\n",
			ci_text);
		fputs("set xlabel 'difference in accuracy (percentage points; > 0: English better)'\n", b.g);
	} else {
		gp_begin(pl, b.g, name, "the script gap: Serbian Cyrillic minus Serbian Latin, paired", w, h);
		fprintf(b.g, "set title 'Script gap: accuracy in sr-Cyrl minus in sr-Latn (same items; bars: %s)'\n", ci_text);
		fputs("set xlabel 'difference in accuracy (percentage points; > 0: Cyrillic better)'\n", b.g);
	}
	fprintf(b.g, "set xrange [%g:%g]\nset yrange [-0.7:%zu.7]\nset y2range [-0.7:%zu.7]\n", x_lo, x_hi, n_rows - 1,
		n_rows - 1);
	for (size_t i = 0; i + 1 < n_rows; i++) /* a line between tasks */
		if (rows[i].run != rows[i + 1].run || strcmp(rows[i].task, rows[i + 1].task))
			fprintf(b.g, "set arrow from graph 0, first %zu.5 to graph 1, first %zu.5 nohead lc rgb '#bbbbbb' dt 2\n",
				n_rows - 2 - i, n_rows - 2 - i);
	fputs("set grid xtics lc rgb '#e4e4e4'\nset arrow from 0, graph 0 to 0, graph 1 nohead lc rgb '#555555' lw 1.5\n"
	      "set border 11\n", b.g);
	fputs("unset key\n", b.g); /* the row labels say which pair; colours match the accuracy plot */
	fputs("set ytics scale 0 (", b.g);
	for (size_t i = 0; i < n_rows; i++) {
		fputs(i ? ", " : "", b.g);
		if (in->n_runs > 1) {
			gp_str(b.g, in->runs[rows[i].run].label, 16);
			fputs(".': '.", b.g);
		}
		gp_str(b.g, rows[i].task, LABEL_MAX_CHARS);
		fputs(".'  '.", b.g);
		gp_str(b.g, rows[i].language_a, 12);
		fputs(".' - '.", b.g);
		gp_str(b.g, rows[i].language_b, 12);
		fprintf(b.g, " %zu", n_rows - 1 - i);
	}
	fputs(")\nset y2tics scale 0 (", b.g);
	for (size_t i = 0; i < n_rows; i++) {
		char p[32];
		fmt_p(p, sizeof p, rows[i].mcnemar_p);
		fprintf(b.g, "%s'%s  (b=%lld, c=%lld, n=%lld)' %zu", i ? ", " : "", p, (long long)rows[i].mcnemar_b,
			(long long)rows[i].mcnemar_c, (long long)rows[i].n_pairs, n_rows - 1 - i);
	}
	fputs(")\n", b.g);
	fprintf(b.d, "# %s.dat - one block (gnuplot index) per colour; columns: diff_pp  row  ci_low_pp  ci_high_pp  "
		"mcnemar_b  mcnemar_c  mcnemar_p  n_pairs\n", name);
	fputs("plot ", b.g);
	for (size_t c = 0; c < n_col; c++) {
		fprintf(b.d, "%s# index %zu: ", c ? "\n\n" : "", c);
		dat_comment_str(b.d, colours_of[c]);
		fputc('\n', b.d);
		for (size_t i = 0; i < n_rows; i++) {
			const char *key = kind == RPT_GAP_LANGUAGE ? rows[i].language_b : rows[i].task;
			if (strcmp(key, colours_of[c]))
				continue;
			dat_num(b.d, rows[i].diff * 100);
			fprintf(b.d, " %zu", n_rows - 1 - i);
			dat_num(b.d, rows[i].ci_low * 100);
			dat_num(b.d, rows[i].ci_high * 100);
			fprintf(b.d, " %lld %lld", (long long)rows[i].mcnemar_b, (long long)rows[i].mcnemar_c);
			dat_num(b.d, rows[i].mcnemar_p);
			fprintf(b.d, " %lld\n", (long long)rows[i].n_pairs);
		}
		const char *colour = kind == RPT_GAP_LANGUAGE ? lang_colour(colours_of[c], c) : lang_colour("sr-Cyrl", 0);
		fprintf(b.g, "%s'%s.dat' index %zu using 1:2:3:4 with xerrorbars pt 7 ps 1.3 lw 2 lc rgb '%s' title ",
			c ? ", \\\n     " : "", name, c, colour);
		if (kind == RPT_GAP_LANGUAGE) {
			fputs("'en - '.", b.g);
			gp_str(b.g, colours_of[c], LABEL_MAX_CHARS);
		} else {
			fputs(c ? "''" : "'sr-Cyrl - sr-Latn'", b.g);
		}
	}
	fputc('\n', b.g);
	char caption[640];
	snprintf(caption, sizeof caption,
		 "Each row is one task: the accuracy difference %s over the items present in both, in percentage points, "
		 "with its %s (paired bootstrap). Right axis: exact McNemar p-value (two-sided, not corrected for the "
		 "number of rows; * marks p < 0.05); b = items right only in %s, c = items right only in %s.",
		 kind == RPT_GAP_LANGUAGE ? "English minus the BCMS variant" : "Cyrillic minus Latin script",
		 ci_text, kind == RPT_GAP_LANGUAGE ? "English" : "Cyrillic", kind == RPT_GAP_LANGUAGE ? "the variant" : "Latin");
	rc = bufs_emit(pl, &b, name, kind == RPT_GAP_LANGUAGE ? "Language gap (en - BCMS)" : "Script gap (sr-Cyrl - sr-Latn)",
		       caption, w, h, err);
out:
	bufs_discard(&b);
	free(rows);
	free(colours_of);
	return rc;
}

/* Empirical CDFs of samples (ms), one curve per sample: colour by series
 * (a language colour when the series is a language), dash type by run. */
static int plot_cdf(struct plotter *pl, const struct rpt_input *in, const struct rpt_sample *samples, size_t n_samples,
		    const char *name, const char *title, const char *xlabel, const char *unit, const char *caption,
		    struct mrl_err *err)
{
	size_t n_curves = 0, total = 0;
	for (size_t i = 0; i < n_samples; i++)
		if (samples[i].n && samples[i].ms) {
			n_curves++;
			total += samples[i].n;
		}
	if (!n_curves)
		return 0;
	double *sorted = malloc(total * sizeof *sorted);
	const char **series = calloc(n_samples, sizeof *series);
	size_t n_series = 0;
	struct bufs b = { 0 };
	int rc = 0;
	if (!sorted || !series) {
		rc = mrl_err_set(err, MRL_ENOMEM, "out of memory");
		goto out;
	}
	double lo = INFINITY, hi = -INFINITY;
	for (size_t i = 0; i < n_samples; i++)
		for (size_t k = 0; samples[i].ms && k < samples[i].n; k++)
			if (isfinite(samples[i].ms[k])) {
				lo = fmin(lo, samples[i].ms[k]);
				hi = fmax(hi, samples[i].ms[k]);
			}
	if (!isfinite(lo)) {
		rc = 0;
		goto out;
	}
	const bool logx = lo > 0 && hi / lo > 4;
	/* one series (e.g. a single bench configuration): colour by run; several: colour by series, dashes by run */
	for (size_t i = 0; i < n_samples; i++)
		if (samples[i].n && samples[i].ms)
			intern(series, &n_series, samples[i].series ? samples[i].series : "?");
	const bool colour_by_run = n_series == 1;
	if ((rc = bufs_open(&b, err)))
		goto out;
	const int w = 1000, h = 600;
	gp_begin(pl, b.g, name, title, w, h);
	fputs("set title ", b.g);
	gp_str(b.g, title, 200);
	fputs("\nset xlabel ", b.g);
	gp_str(b.g, xlabel, 200);
	fprintf(b.g, ".' (%s%s)'\n", unit, logx ? ", log scale" : "");
	if (logx) {
		gp_log_axis(b.g, "x", lo, hi);
	} else {
		fputs("set offsets graph 0.02, graph 0.02, 0, 0\n", b.g);
	}
	fputs("set ylabel 'fraction of samples <= x'\nset yrange [0:1.02]\nset ytics 0.1\n"
	      "set grid xtics ytics mxtics lc rgb '#e4e4e4'\nset key right bottom box opaque samplen 2.5 spacing 1.1\n",
	      b.g);
	fprintf(b.d, "# %s.dat - one block (gnuplot index) per curve; columns: value_ms  cumulative_fraction\n", name);
	fputs("plot ", b.g);
	size_t c = 0, off = 0;
	for (size_t i = 0; i < n_samples; i++) {
		const struct rpt_sample *s = &samples[i];
		if (!s->n || !s->ms)
			continue;
		size_t m = 0;
		for (size_t k = 0; k < s->n; k++)
			if (isfinite(s->ms[k]))
				sorted[off + m++] = s->ms[k];
		qsort(sorted + off, m, sizeof *sorted, mrl_cmp_double);
		fprintf(b.d, "%s# index %zu: run ", c ? "\n\n" : "", c);
		dat_comment_str(b.d, s->run < in->n_runs ? in->runs[s->run].label : "?");
		fputs(", series ", b.d);
		dat_comment_str(b.d, s->series);
		fputc('\n', b.d);
		for (size_t k = 0; k < m; k++) {
			/* a step CDF: the curve rises to (k+1)/m at each value */
			if (k == 0)
				fprintf(b.d, "%.10g 0\n", sorted[off]);
			fprintf(b.d, "%.10g %.10g\n", sorted[off + k], (double)(k + 1) / (double)m);
		}
		size_t si = intern(series, &n_series, s->series ? s->series : "?");
		fprintf(b.g, "%s'%s.dat' index %zu using 1:2 with steps lw 2 dt %zu lc rgb '%s' title ", c ? ", \\\n     " : "",
			name, c, colour_by_run ? 1 : s->run % 5 + 1,
			colour_by_run ? run_colour(s->run) : lang_colour(s->series, si));
		if (in->n_runs > 1) {
			gp_str(b.g, s->run < in->n_runs ? in->runs[s->run].label : "?", 16);
			fputs(".': '.", b.g);
		}
		gp_str(b.g, s->series, LABEL_MAX_CHARS);
		fprintf(b.g, ".' (n=%zu)'", m);
		off += m;
		c++;
	}
	fputc('\n', b.g);
	rc = bufs_emit(pl, &b, name, title, caption, w, h, err);
out:
	bufs_discard(&b);
	free(sorted);
	free(series);
	return rc;
}

/* Throughput against prompt length (x = n_prompt, one series per run and
 * thread count) or thread count (x = threads, one series per run and prompt
 * length): prefill (solid) and decode (dashed) tokens/s, one colour per run.
 * A series is drawn when it has at least two points. */
static int64_t bench_x(const struct rpt_bench_point *p, bool by_threads)
{
	return by_threads ? p->threads : p->n_prompt;
}

static int64_t bench_fixed(const struct rpt_bench_point *p, bool by_threads)
{
	return by_threads ? p->n_prompt : p->threads;
}

static int plot_throughput(struct plotter *pl, const struct rpt_input *in, bool by_threads, struct mrl_err *err)
{
	const char *name = by_threads ? "throughput-threads" : "throughput-prompt";
	struct bufs b = { 0 };
	int rc = 0;
	size_t c = 0;
	double y_lo = INFINITY, y_hi = -INFINITY;
	int64_t *fixed = calloc(in->n_bench + 1, sizeof *fixed);
	char *body_buf = NULL; /* the plot command, written before the header that depends on it */
	size_t body_len = 0;
	FILE *body = open_memstream(&body_buf, &body_len);
	if (!fixed || !body) {
		rc = mrl_err_set(err, MRL_ENOMEM, "out of memory");
		goto out;
	}
	if ((rc = bufs_open(&b, err)))
		goto out;
	fprintf(b.d, "# %s.dat - one block (gnuplot index) per series; columns: %s  tokens_per_s\n", name,
		by_threads ? "threads" : "n_prompt");
	for (size_t r = 0; r < in->n_runs; r++) {
		size_t n_fixed = 0; /* the values of the other variable in this run */
		for (size_t i = 0; i < in->n_bench; i++) {
			if (in->bench[i].run != r)
				continue;
			size_t k;
			for (k = 0; k < n_fixed && fixed[k] != bench_fixed(&in->bench[i], by_threads); k++)
				;
			if (k == n_fixed)
				fixed[n_fixed++] = bench_fixed(&in->bench[i], by_threads);
		}
		for (size_t f = 0; f < n_fixed; f++)
			for (int phase = 0; phase < 2; phase++) {
				size_t m = 0;
				for (size_t i = 0; i < in->n_bench; i++) {
					const struct rpt_bench_point *p = &in->bench[i];
					double y = phase ? p->decode_tps : p->prefill_tps;
					m += p->run == r && bench_fixed(p, by_threads) == fixed[f] && bench_x(p, by_threads) > 0 &&
					     isfinite(y) && y > 0;
				}
				if (m < 2)
					continue;
				fprintf(b.d, "%s# index %zu: run %zu, %s, %s %lld\n", c ? "\n\n" : "", c, r,
					phase ? "decode" : "prefill", by_threads ? "n_prompt" : "threads", (long long)fixed[f]);
				for (size_t i = 0; i < in->n_bench; i++) {
					const struct rpt_bench_point *p = &in->bench[i];
					double y = phase ? p->decode_tps : p->prefill_tps;
					if (p->run == r && bench_fixed(p, by_threads) == fixed[f] && bench_x(p, by_threads) > 0 &&
					    isfinite(y) && y > 0) {
						fprintf(b.d, "%lld %.10g\n", (long long)bench_x(p, by_threads), y);
						y_lo = fmin(y_lo, y);
						y_hi = fmax(y_hi, y);
					}
				}
				fprintf(body, "%s'%s.dat' index %zu using 1:2 with linespoints lw 2 pt %d ps 1.2 dt %d lc rgb '%s' "
					"title ", c ? ", \\\n     " : "plot ", name, c, phase ? 6 : 7, phase ? 2 : 1, run_colour(r));
				if (in->n_runs > 1) {
					gp_str(body, in->runs[r].label, 16);
					fputs(".' '.", body);
				}
				fprintf(body, "'%s, %s %lld'", phase ? "decode" : "prefill", by_threads ? "prompt" : "threads",
					(long long)fixed[f]);
				c++;
			}
	}
	if (!c)
		goto out; /* nothing varies: no plot */
	fputc('\n', body);
	if (ferror(body) | fclose(body)) {
		body = NULL;
		rc = mrl_err_set(err, MRL_ENOMEM, "out of memory while writing a plot script");
		goto out;
	}
	body = NULL;
	const int w = 1150, h = 620;
	gp_begin(pl, b.g, name, by_threads ? "throughput against thread count" : "throughput against prompt length", w, h);
	fprintf(b.g, "set title '%s'\n", by_threads ? "Throughput against thread count (solid: prefill, dashed: decode)"
						     : "Throughput against prompt length (solid: prefill, dashed: decode)");
	fprintf(b.g, "set xlabel '%s'\nset ylabel 'throughput (tokens/s, log scale)'\n",
		by_threads ? "threads" : "prompt length (tokens, log scale)");
	gp_log_axis(b.g, "y", y_lo, y_hi);
	fputs(by_threads ? "set xtics 1\nset autoscale xfix\nset offsets 0.3, 0.3, 0, 0\n"
			 : "set logscale x 2\nset autoscale xfix\nset offsets graph 0.03, graph 0.03, 0, 0\n", b.g);
	fputs("set grid xtics ytics mytics lc rgb '#e4e4e4'\nset key outside right top vertical samplen 2.5\n", b.g);
	fwrite(body_buf, 1, body_len, b.g);
	const char *caption =
		by_threads ? "Tokens per second of prefill (prompt processing, solid) and decode (generation, dashed) "
			     "against the number of threads, one line per prompt length. Log scale: equal distances are "
			     "equal ratios."
			   : "Tokens per second of prefill (solid) and decode (dashed) against prompt length, one line per "
			     "thread count. Log scales: equal distances are equal ratios.";
	rc = bufs_emit(pl, &b, name, by_threads ? "Throughput against thread count" : "Throughput against prompt length",
		       caption, w, h, err);
out:
	bufs_discard(&b);
	if (body)
		fclose(body);
	free(body_buf);
	free(fixed);
	return rc;
}

/* Energy per token (J/token) of prefill and decode per bench configuration,
 * where it was measured: clustered bars. */
static int plot_energy(struct plotter *pl, const struct rpt_input *in, struct mrl_err *err)
{
	size_t n = 0;
	for (size_t i = 0; i < in->n_bench; i++)
		n += isfinite(in->bench[i].prefill_j_per_token) || isfinite(in->bench[i].decode_j_per_token);
	if (!n)
		return 0;
	struct bufs b = { 0 };
	int rc = bufs_open(&b, err);
	if (rc)
		goto out;
	const int w = n > 8 ? 1300 : 1000, h = 600;
	gp_begin(pl, b.g, "energy", "energy per token", w, h);
	fputs("set title 'Energy per token, where measured'\nset ylabel 'energy (J/token)'\nset yrange [0:*]\n"
	      "set style data histograms\nset style histogram clustered gap 1\nset style fill solid 0.85 border -1\n"
	      "set boxwidth 0.9\nset offsets 0, 0, graph 0.15, 0\nset grid ytics lc rgb '#e4e4e4'\nset key inside top left\n"
	      "set xtics scale 0 rotate by 25 right\n", b.g);
	fputs("# energy.dat - one row per bench configuration; columns: row  prefill_J_per_token  decode_J_per_token\n", b.d);
	fputs("set xtics (", b.g);
	size_t row = 0;
	for (size_t i = 0; i < in->n_bench; i++) {
		const struct rpt_bench_point *p = &in->bench[i];
		if (!isfinite(p->prefill_j_per_token) && !isfinite(p->decode_j_per_token))
			continue;
		fprintf(b.d, "%zu", row);
		dat_num(b.d, p->prefill_j_per_token);
		dat_num(b.d, p->decode_j_per_token);
		fputc('\n', b.d);
		fputs(row ? ", " : "", b.g);
		if (in->n_runs > 1 && p->run < in->n_runs) {
			gp_str(b.g, in->runs[p->run].label, 16);
			fputs(".' '.", b.g);
		}
		fprintf(b.g, "'pp%lld tg%lld t%lld' %zu", (long long)p->n_prompt, (long long)p->n_gen, (long long)p->threads,
			row);
		row++;
	}
	fputs(")\n", b.g);
	fprintf(b.g, "set xrange [-0.6:%zu.6]\n", row - 1);
	fputs("plot 'energy.dat' using 2 title 'prefill' lc rgb '#0072B2', '' using 3 title 'decode' lc rgb '#D55E00'\n", b.g);
	rc = bufs_emit(pl, &b, "energy", "Energy per token",
		       "Joules per token of prefill and of decode for each bench configuration (ppN: prompt tokens, tgN: "
		       "generated tokens, tN: threads), from the energy source the run recorded. Configurations without an "
		       "energy source are left out.",
		       w, h, err);
out:
	bufs_discard(&b);
	return rc;
}

/* Scoring speed (tokens/s) per task x language from the runs' performance
 * records: bars from 0, one group per (task, run), one colour per language. */
static int plot_speed(struct plotter *pl, const struct rpt_input *in, struct mrl_err *err)
{
	size_t n_sel = 0;
	for (size_t i = 0; i < in->n_perf; i++)
		n_sel += in->perf[i].task && in->perf[i].language && strcmp(in->perf[i].language, "all") &&
			 isfinite(in->perf[i].tokens_per_s) && in->perf[i].tokens_per_s > 0;
	if (!n_sel)
		return 0;
	const char **langs = calloc(n_sel, sizeof *langs), **tasks = calloc(n_sel, sizeof *tasks);
	size_t *group_run = calloc(n_sel, sizeof *group_run), *group_task = calloc(n_sel, sizeof *group_task);
	size_t n_langs = 0, n_tasks = 0, n_groups = 0;
	double y_max = 0;
	struct bufs b = { 0 };
	int rc = 0;
	if (!langs || !tasks || !group_run || !group_task) {
		rc = mrl_err_set(err, MRL_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t r = 0; r < in->n_runs; r++)
		for (size_t i = 0; i < in->n_perf; i++) {
			const struct rpt_perf *p = &in->perf[i];
			if (p->run != r || !p->task || !p->language || !strcmp(p->language, "all") ||
			    !isfinite(p->tokens_per_s) || p->tokens_per_s <= 0)
				continue;
			intern(langs, &n_langs, p->language);
			size_t t = intern(tasks, &n_tasks, p->task), g;
			for (g = 0; g < n_groups && !(group_run[g] == r && group_task[g] == t); g++)
				;
			if (g == n_groups) {
				group_run[g] = r, group_task[g] = t;
				n_groups++;
			}
			y_max = fmax(y_max, p->tokens_per_s);
		}
	if ((rc = bufs_open(&b, err)))
		goto out;
	const int w = n_groups * n_langs > 24 ? 1500 : n_groups > 4 ? 1200 : 1000, h = 560;
	const double width = 0.8, step = width / (double)n_langs;
	gp_begin(pl, b.g, "speed", "scoring speed per task and language", w, h);
	fputs("set title 'Scoring speed per task and language (tokens computed per second of scoring)'\n"
	      "set ylabel 'throughput (tokens/s)'\n", b.g);
	fprintf(b.g, "set yrange [0:%.6g]\nset xrange [-0.5:%zu.5]\nset bmargin 4.5\n", y_max * 1.1, n_groups - 1);
	fprintf(b.g, "set style fill solid 0.85 border -1\nset boxwidth %.4f absolute\n", step * 0.9);
	fputs("set grid ytics lt 1 lc rgb '#d4d4d4' lw 1 dt 1\n"
	      "set key outside right top vertical samplen 1.5 spacing 1.3 title 'language'\n", b.g);
	fputs("set xtics scale 0 (", b.g);
	for (size_t g = 0; g < n_groups; g++) {
		fputs(g ? ", " : "", b.g);
		gp_str(b.g, tasks[group_task[g]], LABEL_MAX_CHARS);
		if (in->n_runs > 1) {
			fputs(".\"\\n\".", b.g);
			gp_str(b.g, in->runs[group_run[g]].label, 16);
		}
		fprintf(b.g, " %zu", g);
	}
	fputs(")\n", b.g);
	for (size_t g = 0; g + 1 < n_groups; g++)
		fprintf(b.g, "set arrow from %zu.5, graph 0 to %zu.5, graph 1 nohead lc rgb '#bbbbbb' dt 2\n", g, g);
	fputs("# speed.dat - one block (gnuplot index) per language; columns: x  tokens_per_s\n", b.d);
	fputs("plot ", b.g);
	for (size_t l = 0; l < n_langs; l++) {
		fprintf(b.d, "%s# index %zu: language ", l ? "\n\n" : "", l);
		dat_comment_str(b.d, langs[l]);
		fputc('\n', b.d);
		for (size_t g = 0; g < n_groups; g++)
			for (size_t i = 0; i < in->n_perf; i++) {
				const struct rpt_perf *p = &in->perf[i];
				if (p->run != group_run[g] || !p->task || !p->language || strcmp(p->task, tasks[group_task[g]]) ||
				    strcmp(p->language, langs[l]) || !isfinite(p->tokens_per_s))
					continue;
				fprintf(b.d, "%.4f %.10g\n", (double)g - width / 2 + step * ((double)l + 0.5), p->tokens_per_s);
				break;
			}
		fprintf(b.g, "%s'speed.dat' index %zu using 1:2 with boxes lc rgb '%s' title ", l ? ", \\\n     " : "", l,
			lang_colour(langs[l], l));
		gp_str(b.g, langs[l], LABEL_MAX_CHARS);
	}
	fputc('\n', b.g);
	rc = bufs_emit(pl, &b, "speed", "Scoring speed per task and language",
		       "Tokens the forward pass computed per second of scoring time, per task and language, from the runs' "
		       "performance records. The same items cost more tokens in a language the tokenizer splits finely "
		       "(often Cyrillic), so lower bars there are expected; compare bars of the same colour across runs.",
		       w, h, err);
out:
	bufs_discard(&b);
	free(langs);
	free(tasks);
	free(group_run);
	free(group_task);
	return rc;
}

/* Ask gnuplot which terminals it has (GPVAL_TERMINALS). false: it cannot run. */
static bool probe_gnuplot(struct plotter *pl)
{
	char output[GP_OUTPUT_MAX], msg[512];
	char *argv[] = { (char *)pl->gnuplot, "-e", "set print '-'; print GPVAL_TERMINALS", NULL };
	int status;
	int erc = gp_exec(pl->gnuplot, NULL, argv, pl->timeout_s, output, sizeof output, &status);
	struct rpt_plots *o = pl->out;
	if (erc || !WIFEXITED(status) || WEXITSTATUS(status)) {
		if (erc)
			snprintf(msg, sizeof msg, "gnuplot not available ('%s': %s): plots not drawn; their scripts (.gp) "
				 "and data (.dat) are written, draw them with 'gnuplot NAME.gp' once gnuplot is installed",
				 pl->gnuplot, erc == ENOENT ? "not found" : strerror(erc));
		else
			snprintf(msg, sizeof msg, "gnuplot '%s' does not run (exit status %d): plots not drawn; their scripts "
				 "and data are written", pl->gnuplot, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
		add_status(o, msg);
		return false;
	}
	/* terminals are space-separated names */
	char *save = NULL;
	bool cairo = false, svg = false;
	for (char *t = strtok_r(output, " \n", &save); t; t = strtok_r(NULL, " \n", &save)) {
		cairo |= !strcmp(t, "pngcairo");
		svg |= !strcmp(t, "svg");
	}
	snprintf(o->terminal, sizeof o->terminal, "%s", cairo ? "pngcairo" : "png");
	if (pl->want_svg && !svg) {
		add_status(o, "this gnuplot has no svg terminal: SVG images not drawn");
		pl->want_svg = false;
		if (!pl->want_png) {
			pl->want_png = true; /* a PNG rather than nothing */
			add_status(o, "PNG drawn instead");
		}
	}
	return true;
}

int rpt_plots_write(const char *out_dir, const struct rpt_input *in, const struct rpt_plot_opts *opts,
		    struct rpt_plots *out, struct mrl_err *err)
{
	memset(out, 0, sizeof *out);
	snprintf(out->terminal, sizeof out->terminal, "pngcairo");
	struct plotter pl = {
		.out_dir = out_dir,
		.gnuplot = opts && opts->gnuplot && *opts->gnuplot ? opts->gnuplot : "gnuplot",
		.timeout_s = opts && opts->timeout_s > 0 ? opts->timeout_s : 60,
		.want_png = !opts || opts->png || !opts->svg,
		.want_svg = !opts || opts->svg || !opts->png,
		.out = out,
	};
	out->have_gnuplot = probe_gnuplot(&pl);
	int rc = 0;
	char caption[640];
	if ((rc = plot_accuracy(&pl, in, err)) || (rc = plot_gaps(&pl, in, RPT_GAP_LANGUAGE, err)) ||
	    (rc = plot_gaps(&pl, in, RPT_GAP_SCRIPT, err)))
		return rc;
	snprintf(caption, sizeof caption,
		 "Share of items (y) scored within a given time (x) per item, from the runs' per-item timings "
		 "(items.jsonl 'total': prompt and every choice, tokenisation included; all tasks of a language pooled). "
		 "Curves to the left are faster; "
		 "a long right tail means occasional slow items (long prompts or a busy machine).");
	if ((rc = plot_speed(&pl, in, err)))
		return rc;
	if ((rc = plot_cdf(&pl, in, in->item_times, in->n_item_times, "item-time", "Time per item (CDF)",
			   "time per item", "ms", caption, err)))
		return rc;
	if ((rc = plot_cdf(&pl, in, in->ttft, in->n_ttft, "ttft", "Time to first token (CDF)", "time to first token", "ms",
			   "Time from request start to the first generated token on the host (MLPerf's TTFT), over "
			   "the bench repetitions. Curves to the left are faster.", err)) ||
	    (rc = plot_cdf(&pl, in, in->tpot, in->n_tpot, "tpot", "Time per output token (CDF)", "time per output token", "ms/token",
			   "Time per output token after the first: (end-to-end - TTFT) / (tokens - 1), over the bench "
			   "repetitions. Curves to the left are faster.", err)) ||
	    (rc = plot_throughput(&pl, in, false, err)) || (rc = plot_throughput(&pl, in, true, err)) ||
	    (rc = plot_energy(&pl, in, err)))
		return rc;
	return 0;
}

void rpt_plots_release(struct rpt_plots *plots)
{
	if (!plots)
		return;
	free(plots->plot);
	memset(plots, 0, sizeof *plots);
}
