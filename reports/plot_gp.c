/* plot_gp.c — what every plot shares: running gnuplot (posix_spawn, no shell,
 * output captured), names as single-quoted gnuplot strings, numbers in .dat
 * files, colours, and writing a script and its data and drawing them (emit).
 * The idea behind all of it is in plot.c.
 */
#include "reports/rpt.h"
#include "reports/plot_int.h"

#include "common/fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define FONT "DejaVu Sans,11"

/* ------------------------------------------------------------ gnuplot runs */

/* Run `gnuplot args...` in cwd with stdin /dev/null and stdout+stderr captured
 * into out (NUL-terminated, truncated). Returns 0 when it ran (*status = its
 * wait status), or the errno of a failed start (ENOENT: not found), or ETIME
 * when it ran past timeout_s (it is killed). */
int rpt_gp_exec(const char *gnuplot, const char *cwd, char *const argv[], int timeout_s, char *out,
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
void rpt_gp_str(FILE *f, const char *s, size_t max_chars)
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
void rpt_dat_num(FILE *f, double v)
{
	if (isfinite(v))
		fprintf(f, " %.10g", v);
	else
		fputs(" ?", f);
}

/* A comment-safe copy of a name for .dat headers (no newlines). */
void rpt_dat_comment_str(FILE *f, const char *s)
{
	for (const char *p = s ? s : "?"; *p; p++)
		fputc((unsigned char)*p < 0x20 ? ' ' : *p, f);
}

/* Colour of a language: the same in every plot (Okabe–Ito, colour-blind safe). */
const char *rpt_lang_colour(const char *lang, size_t index)
{
	static const struct { const char *lang, *rgb; } known[] = {
		{ "en", "#0072B2" }, { "sr-Cyrl", "#D55E00" }, { "sr-Latn", "#E69F00" }, { "hr", "#009E73" },
		{ "bs", "#CC79A7" }, { "cnr", "#56B4E9" }, { "sr", "#8C2D04" }, { "sr-Latn-ME", "#56B4E9" },
	};
	/* other series (bench configurations, unknown tags): Paul Tol's muted set, none grey or black */
	static const char *const other[] = { "#332288", "#117733", "#882255", "#44AA99", "#AA4499", "#999933",
					     "#CC6677", "#88CCEE" };
	for (size_t i = 0; lang && i < sizeof known / sizeof known[0]; i++)
		if (!strcmp(lang, known[i].lang))
			return known[i].rgb;
	return other[index % (sizeof other / sizeof other[0])];
}

/* The script's first lines: what it is, the first terminal and output. */
void rpt_gp_begin(const struct rpt_plotter *pl, FILE *f, const char *name, const char *what, int w, int h)
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
static void gp_end(const struct rpt_plotter *pl, FILE *f, const char *name, int w, int h)
{
	if (pl->want_png && pl->want_svg) {
		fprintf(f, "set terminal svg size %d,%d font '" FONT "' noenhanced background '#ffffff'\n", w, h);
		fprintf(f, "set output '%s.svg'\nreplot\n", name);
	}
	fputs("unset output\n", f);
}

/* What gnuplot left of an image: a PNG ends with its IEND chunk, an SVG with its
 * closing tag. gnuplot exits 0 when it cannot write (a full disk), leaving an empty or
 * cut file, which is removed, so that no report links or embeds it. */
enum image_state { IMAGE_ABSENT, IMAGE_WHOLE, IMAGE_EMPTY, IMAGE_CUT };

static enum image_state image_check(const char *dir, const char *name, const char *ext, long long *size)
{
	static const unsigned char iend[12] = { 0, 0, 0, 0, 'I', 'E', 'N', 'D', 0xae, 0x42, 0x60, 0x82 };
	char path[4096], tail[64];
	struct stat st;
	snprintf(path, sizeof path, "%s/%s.%s", dir, name, ext);
	*size = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return IMAGE_ABSENT;
	ssize_t n = -1;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return IMAGE_ABSENT;
	}
	if (st.st_size > 0)
		n = pread(fd, tail, sizeof tail, st.st_size > (off_t)sizeof tail ? st.st_size - (off_t)sizeof tail : 0);
	close(fd);
	*size = (long long)st.st_size;
	bool whole = false;
	if (n >= (ssize_t)sizeof iend && !strcmp(ext, "png")) {
		whole = !memcmp(tail + n - sizeof iend, iend, sizeof iend);
	} else if (n > 0 && !strcmp(ext, "svg")) {
		while (n > 0 && tail[n - 1] && strchr(" \t\r\n", tail[n - 1]))
			n--;
		whole = n >= 6 && !memcmp(tail + n - 6, "</svg>", 6);
	}
	if (whole)
		return IMAGE_WHOLE;
	unlink(path);
	return st.st_size ? IMAGE_CUT : IMAGE_EMPTY;
}

/* Room below which an empty image after gnuplot's exit 0 is taken for a full disk,
 * not for gnuplot's own failure (a terminal it lacks), which stays a warning. */
#define IMAGE_ROOM_MIN ((unsigned long long)64 << 10)

/* An image that gnuplot (exit 0) left cut short, or empty on a full file system (room:
 * the bytes free there when it exited): its write failed, MRL_EWRITE (exit 4). */
static int image_write_failed(const char *dir, const char *name, const char *ext, enum image_state state,
			      long long size, unsigned long long room, struct mrl_err *err)
{
	char free_text[80];
	snprintf(free_text, sizeof free_text, "%s (%llu bytes free)", room < IMAGE_ROOM_MIN ? "disk full" : "a write failed",
		 room);
	if (state == IMAGE_CUT)
		return mrl_err_set(err, MRL_EWRITE, "%s/%s.%s: gnuplot's image is cut short at %lld bytes: %s; removed", dir,
				   name, ext, size, free_text);
	if (state == IMAGE_EMPTY && room < IMAGE_ROOM_MIN)
		return mrl_err_set(err, MRL_EWRITE, "%s/%s.%s: gnuplot could not write the image: %s; removed", dir, name,
				   ext, free_text);
	return 0;
}

/* Append a status sentence (first one wins the start of the line). */
void rpt_plot_add_status(struct rpt_plots *o, const char *msg)
{
	size_t n = strlen(o->status);
	if (n && n + 2 < sizeof o->status)
		snprintf(o->status + n, sizeof o->status - n, "; %s", msg);
	else if (!n)
		snprintf(o->status, sizeof o->status, "%s", msg);
}

/* Write name.gp and name.dat from the two memory streams, run gnuplot on the
 * script and record the plot. Takes ownership of gp_buf and dat_buf. */
static int emit(struct rpt_plotter *pl, const char *name, const char *title, const char *caption, char *gp_buf,
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
	char script[80], output[GP_OUTPUT_MAX], line[512], msg[800];
	/* "./": a name that starts with '-' (compare --out -x) is a file to gnuplot, not an option */
	snprintf(script, sizeof script, "./%s.gp", name);
	char *argv[] = { (char *)pl->gnuplot, script, NULL };
	int status, erc = rpt_gp_exec(pl->gnuplot, pl->out_dir, argv, pl->timeout_s, output, sizeof output, &status);
	/* the room gnuplot left, measured before a cut image is removed */
	struct statvfs vfs;
	const unsigned long long room = statvfs(pl->out_dir, &vfs) ? ULLONG_MAX : (unsigned long long)vfs.f_bavail * vfs.f_frsize;
	long long png_size = 0, svg_size = 0;
	const enum image_state png = pl->want_png ? image_check(pl->out_dir, name, "png", &png_size) : IMAGE_ABSENT;
	const enum image_state svg = pl->want_svg ? image_check(pl->out_dir, name, "svg", &svg_size) : IMAGE_ABSENT;
	p->png = png == IMAGE_WHOLE;
	p->svg = svg == IMAGE_WHOLE;
	if (!erc && WIFEXITED(status) && WEXITSTATUS(status) == 0 &&
	    ((rc = image_write_failed(pl->out_dir, name, "png", png, png_size, room, err)) ||
	     (rc = image_write_failed(pl->out_dir, name, "svg", svg, svg_size, room, err))))
		goto out;
	if (erc == ETIME) {
		snprintf(msg, sizeof msg, "%s.gp: gnuplot ran past %d s and was stopped", name, pl->timeout_s);
		rpt_plot_add_status(o, msg);
	} else if (erc) {
		snprintf(msg, sizeof msg, "%s.gp: cannot start gnuplot '%s': %s", name, pl->gnuplot, strerror(erc));
		rpt_plot_add_status(o, msg);
	} else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		first_error_line(output, line, sizeof line);
		snprintf(msg, sizeof msg, "%s.gp: gnuplot failed (%s%d)%s%s", name,
			 WIFEXITED(status) ? "exit " : "signal ", WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status),
			 line[0] ? ": " : "", line);
		rpt_plot_add_status(o, msg);
	} else if ((pl->want_png && !p->png) || (pl->want_svg && !p->svg)) {
		/* gnuplot exits 0 after some errors (an option it does not know): not "failed (exit 0)" */
		const bool no_png = pl->want_png && !p->png, no_svg = pl->want_svg && !p->svg;
		first_error_line(output, line, sizeof line);
		snprintf(msg, sizeof msg, "%s.gp: gnuplot drew no %s%s%s%s%s", name, no_png ? "PNG" : "",
			 no_png && no_svg ? " or " : "", no_svg ? "SVG" : "", line[0] ? ": " : " (and said nothing)", line);
		rpt_plot_add_status(o, msg);
	}
out:
	free(gp_buf);
	free(dat_buf);
	return rc;
}

int rpt_bufs_open(struct rpt_bufs *b, struct mrl_err *err)
{
	memset(b, 0, sizeof *b);
	b->g = open_memstream(&b->gp, &b->gp_len);
	b->d = open_memstream(&b->dat, &b->dat_len);
	if (!b->g || !b->d)
		return mrl_err_set(err, MRL_ENOMEM, "out of memory");
	return 0;
}

/* Close the streams; 0, or MRL_ENOMEM when a write into memory failed. */
static int bufs_close(struct rpt_bufs *b, struct mrl_err *err)
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

void rpt_bufs_discard(struct rpt_bufs *b)
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
int rpt_bufs_emit(struct rpt_plotter *pl, struct rpt_bufs *b, const char *name, const char *title, const char *caption,
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
size_t rpt_intern(const char **list, size_t *n, const char *s)
{
	for (size_t i = 0; i < *n; i++)
		if (!strcmp(list[i], s))
			return i;
	list[*n] = s;
	return (*n)++;
}

/* About 7 px a character in gnuplot's default 10 pt font, and a gap of 2 between tics. */
bool rpt_gp_xtics_crowded(size_t n_tics, size_t tic_chars, int w)
{
	return n_tics > 1 && (double)n_tics * (double)(tic_chars + 2) * 7.0 > (double)(w - 200);
}
