/* import.c — outside benchmarks -> merilo suites, by a small table of importers.
 *
 * Each importer reads one file per language and returns a suite document
 * (jansson) whose items pair the languages' variants of the same content.
 * The table below is where further importers (lm-eval-harness task exports,
 * serbian-llm-eval JSONL) slot in: a name, a one-line summary, a function.
 * The per-language prompt wording an importer writes goes into the suite's
 * templates (suite data), so it can be read and changed there.
 */
#include "tasks/task_int.h"
#include "common/fileio.h"
#include "tasks/langid.h"
#include "common/json.h"
#include "common/sha256.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

typedef int (*importer_fn)(const struct task_import_input *in, size_t n_in, const struct task_import_opts *opts,
			   json_t **out, size_t *n_trimmed, struct mrl_err *err);

/* ---- text fields and provenance (shared by importers) ------------------------- */

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* A new JSON string of v's text without leading/trailing blanks (spaces, tabs,
 * line breaks); *n_trimmed counts the fields that had any. NULL on ENOMEM. */
static json_t *trimmed_string(const json_t *v, size_t *n_trimmed)
{
	const char *s = json_string_value(v);
	size_t len = json_string_length(v), a = 0;
	while (a < len && is_blank(s[a]))
		a++;
	while (len > a && is_blank(s[len - 1]))
		len--;
	if (a || len != json_string_length(v))
		(*n_trimmed)++;
	return json_stringn(s + a, len - a);
}

/* The length of v's text without leading/trailing blanks. */
static size_t trimmed_length(const json_t *v)
{
	size_t t = 0;
	json_t *s = trimmed_string(v, &t);
	size_t n = s ? json_string_length(s) : json_string_length(v);
	json_decref(s);
	return n;
}

/* The suite's "source": "<what>: LANG=FILE (sha256 HEX), ..." with each input's
 * file name (no folder) and content hash, so that importing the same files
 * from another folder gives the same suite. Returns a malloc'd string or NULL
 * with err set. */
static char *provenance(const char *what, const struct task_import_input *in, size_t n_in, struct mrl_err *err)
{
	size_t cap = strlen(what) + 8, len = 0;
	for (size_t i = 0; i < n_in; i++)
		cap += strlen(in[i].lang) + strlen(in[i].path) + MRL_SHA256_HEX_LEN + 16;
	char *s = malloc(cap);
	if (!s) {
		mrl_err_set(err, MRL_ENOMEM, "out of memory");
		return NULL;
	}
	len = (size_t)snprintf(s, cap, "%s: ", what);
	for (size_t i = 0; i < n_in; i++) {
		char hex[MRL_SHA256_HEX_LEN + 1];
		if (mrl_sha256_file(in[i].path, hex, NULL, err)) {
			free(s);
			return NULL;
		}
		const char *base = strrchr(in[i].path, '/');
		base = base ? base + 1 : in[i].path;
		len += (size_t)snprintf(s + len, cap - len, "%s%s=%s (sha256 %s)", i ? ", " : "", in[i].lang, base, hex);
	}
	return s;
}

/* ---- JSONL reading (shared by JSONL importers) ---------------------------------- */

/* One line of a JSONL file: the parsed object and its 1-based line number. */
struct jsonl_row {
	json_t *obj;
	size_t line;
};

struct jsonl {
	const char *path;
	struct jsonl_row *rows;
	size_t n;
};

static void jsonl_release(struct jsonl *f)
{
	for (size_t i = 0; i < f->n; i++)
		json_decref(f->rows[i].obj);
	free(f->rows);
	f->rows = NULL;
	f->n = 0;
}

/* How far the reading of all inputs is, for opts->progress. */
struct read_progress {
	const struct task_import_opts *opts; /* NULL: nobody asked */
	size_t done, total;                  /* bytes */
};

static void tell_read(const struct read_progress *rp)
{
	if (rp && rp->opts && rp->opts->progress)
		rp->opts->progress(rp->opts->progress_arg, TASK_IMPORT_READ, rp->done < rp->total ? rp->done : rp->total,
				   rp->total);
}

/* Read every non-blank line of path as a JSON object; the first bad line is an error "path:LINE: ...".
 * rp (may be NULL) counts the bytes read. */
static int jsonl_read(const char *path, struct jsonl *f, struct read_progress *rp, struct mrl_err *err)
{
	FILE *fp = mrl_fopen_read(path);
	char *line = NULL;
	size_t cap = 0, lineno = 0, rows_cap = 0;
	ssize_t len;
	int rc = 0;
	f->path = path;
	f->rows = NULL;
	f->n = 0;
	if (!fp)
		return mrl_err_set(err, MRL_EIO, "%s: cannot open: %s", path, strerror(errno));
	struct stat st;
	if (fstat(fileno(fp), &st) == 0 && (uint64_t)st.st_size > TASK_SUITE_MAX_BYTES) {
		rc = mrl_err_set(err, MRL_EINPUT, "%s: file is %lld bytes, larger than the %llu MiB limit", path,
				 (long long)st.st_size, (unsigned long long)(TASK_SUITE_MAX_BYTES >> 20));
		goto out;
	}
	while ((len = getline(&line, &cap, fp)) >= 0) {
		lineno++;
		if (rp) {
			rp->done += (size_t)len;
			if (lineno % TASK_IMPORT_PROGRESS_EVERY == 0)
				tell_read(rp);
		}
		size_t n = (size_t)len;
		while (n && (line[n - 1] == '\n' || line[n - 1] == '\r' || line[n - 1] == ' ' || line[n - 1] == '\t'))
			n--;
		if (!n)
			continue;
		/* a UTF-8 byte-order mark at the start is skipped; with nothing after it the line is blank */
		struct mrl_json_error je;
		json_t *obj = mrl_json_parse_object(line, n, JSON_REJECT_DUPLICATES, &je);
		if (!obj && je.problem == MRL_JSON_EMPTY)
			continue;
		if (!obj && je.problem == MRL_JSON_NOT_OBJECT) {
			rc = mrl_err_set(err, MRL_EINPUT, "%s:%zu: expected one JSON object per line, found %s", path, lineno,
					 je.found);
			goto out;
		}
		if (!obj) {
			rc = mrl_err_set(err, MRL_EINPUT, "%s:%zu: %s (column %d)", path, lineno, je.what, je.column);
			goto out;
		}
		if (f->n == rows_cap) {
			rows_cap = rows_cap ? rows_cap * 2 : 256;
			struct jsonl_row *r = realloc(f->rows, rows_cap * sizeof *r);
			if (!r) {
				json_decref(obj);
				rc = mrl_err_set(err, MRL_ENOMEM, "%s:%zu: out of memory", path, lineno);
				goto out;
			}
			f->rows = r;
		}
		f->rows[f->n++] = (struct jsonl_row){ obj, lineno };
	}
	if (ferror(fp)) {
		rc = mrl_err_set(err, MRL_EIO, "%s: read failed: %s", path, strerror(errno));
		goto out;
	}
	if (!f->n)
		rc = mrl_err_set(err, MRL_EINPUT, "%s: no records (empty file)", path);
	if (!rc)
		tell_read(rp);
out:
	free(line);
	fclose(fp);
	if (rc)
		jsonl_release(f);
	return rc;
}

/* ---- COPA -------------------------------------------------------------------- */

/* How each language joins premise and alternative: "<premise>, jer <alternative>".
 * English follows lm-eval-harness's copa (" because" / " therefore", no comma). */
struct copa_wording {
	const char *lang, *cause, *effect;
};
static const struct copa_wording copa_words[] = {
	{ "en", "{premise|rstrip_period} because", "{premise|rstrip_period} therefore" },
	{ "sr-Cyrl", "{premise|rstrip_period}, зато што", "{premise|rstrip_period}, па" },
	{ "sr-Latn", "{premise|rstrip_period}, zato što", "{premise|rstrip_period}, pa" },
	{ "hr", "{premise|rstrip_period}, jer", "{premise|rstrip_period}, pa" },
	{ "bs", "{premise|rstrip_period}, jer", "{premise|rstrip_period}, pa" },
	{ "cnr", "{premise|rstrip_period}, jer", "{premise|rstrip_period}, pa" },
};

static const struct copa_wording *copa_wording_for(const char *lang)
{
	for (size_t i = 0; i < sizeof copa_words / sizeof copa_words[0]; i++)
		if (!strcmp(copa_words[i].lang, lang))
			return &copa_words[i];
	return NULL;
}

/* Check one COPA record; returns 0 or MRL_EINPUT naming file:line and the field. */
static int copa_check(const char *path, const struct jsonl_row *r, struct mrl_err *err)
{
	static const char *const strings[] = { "premise", "choice1", "choice2" };
	for (size_t i = 0; i < 3; i++) {
		json_t *v = json_object_get(r->obj, strings[i]);
		if (!json_is_string(v) || !trimmed_length(v))
			return mrl_err_set(err, MRL_EINPUT, "%s:%zu: \"%s\" %s; expected a non-empty string", path,
					   r->line, strings[i], v ? "is not a non-empty string" : "is missing");
	}
	const char *q = json_string_value(json_object_get(r->obj, "question"));
	if (!q || (strcmp(q, "cause") && strcmp(q, "effect")))
		return mrl_err_set(err, MRL_EINPUT, "%s:%zu: \"question\" must be \"cause\" or \"effect\"", path, r->line);
	json_t *label = json_object_get(r->obj, "label");
	if (!json_is_integer(label) || (json_integer_value(label) != 0 && json_integer_value(label) != 1))
		return mrl_err_set(err, MRL_EINPUT, "%s:%zu: \"label\" must be 0 or 1", path, r->line);
	json_t *idx = json_object_get(r->obj, "idx");
	if (!json_is_integer(idx) || json_integer_value(idx) < 0)
		return mrl_err_set(err, MRL_EINPUT, "%s:%zu: \"idx\" must be a non-negative integer", path, r->line);
	return 0;
}

static long long row_idx(const struct jsonl_row *r)
{
	return json_integer_value(json_object_get(r->obj, "idx"));
}

static int cmp_row_idx(const void *a, const void *b)
{
	long long x = row_idx(a), y = row_idx(b);
	return (x > y) - (x < y);
}

static int cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;
	return (x > y) - (x < y);
}

static const struct jsonl_row *find_idx(const struct jsonl *f, long long idx)
{
	size_t lo = 0, hi = f->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		long long v = row_idx(&f->rows[mid]);
		if (v == idx)
			return &f->rows[mid];
		if (v < idx)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* ---- checks of what is imported ------------------------------------------------ */

/* The script a tag promises: its script subtag (sr-Cyrl, sr-Latn, bs-Cyrl), else
 * the one its language is written in; TASK_SCRIPT_NONE where the tag does not
 * say (plain sr is written in both). */
static enum task_script tag_script(const char *tag)
{
	size_t n = strcspn(tag, "-_");
	for (const char *q = tag + n; *q;) {
		size_t m = strcspn(++q, "-_");
		if (m == 4 && !strncasecmp(q, "Cyrl", 4))
			return TASK_SCRIPT_CYRL;
		if (m == 4 && !strncasecmp(q, "Latn", 4))
			return TASK_SCRIPT_LATN;
		q += m;
	}
	static const char *const cyrl[] = { "mk", "bg", "ru", "uk", "be" }, *const latn[] = { "hr", "bs", "cnr", "en", "sl",
												"sh" };
	for (size_t i = 0; i < sizeof cyrl / sizeof cyrl[0]; i++)
		if (strlen(cyrl[i]) == n && !strncasecmp(tag, cyrl[i], n))
			return TASK_SCRIPT_CYRL;
	for (size_t i = 0; i < sizeof latn / sizeof latn[0]; i++)
		if (strlen(latn[i]) == n && !strncasecmp(tag, latn[i], n))
			return TASK_SCRIPT_LATN;
	return TASK_SCRIPT_NONE;
}

/* Does the file's text (every field named in fields) use the script its tag
 * promises? At least TASK_SCRIPT_THRESHOLD of its letters must be of that script
 * (tasks/langid.h counts them). A mismatch is MRL_EINPUT naming the file, the tag
 * and the shares; with opts->force, a warning in the report. */
static int check_script(const struct task_import_input *in, const struct jsonl *f, const char *const *fields,
			const struct task_import_opts *opts, struct mrl_err *err)
{
	enum task_script want = tag_script(in->lang);
	size_t n_cyrl = 0, n_latn = 0, n_letters = 0;
	if (want == TASK_SCRIPT_NONE)
		return 0;
	for (size_t r = 0; r < f->n; r++)
		for (size_t k = 0; fields[k]; k++) {
			json_t *v = json_object_get(f->rows[r].obj, fields[k]);
			struct task_script_mix mix;
			if (!json_is_string(v) || task_script_mix(json_string_value(v), json_string_length(v), &mix, err))
				continue;
			n_cyrl += mix.n_cyrl;
			n_latn += mix.n_latn;
			n_letters += mix.n_letters;
		}
	double cyrl = n_letters ? (double)n_cyrl / (double)n_letters : 0, latn = n_letters ? (double)n_latn / (double)n_letters : 0;
	if (!n_letters || (want == TASK_SCRIPT_CYRL ? cyrl : latn) >= TASK_SCRIPT_THRESHOLD)
		return 0;
	char what[768];
	snprintf(what, sizeof what, "%s: tagged %s, which is written in %s script, but %.1f%% of its %zu letters are "
		 "Cyrillic and %.1f%% Latin (at least %.0f%% expected)", in->path, in->lang,
		 want == TASK_SCRIPT_CYRL ? "Cyrillic" : "Latin", 100 * cyrl, n_letters, 100 * latn,
		 100 * TASK_SCRIPT_THRESHOLD);
	if (!opts || !opts->force)
		return mrl_err_set(err, MRL_EINPUT, "%s; pass --force to import it anyway", what);
	if (opts->report)
		mrl_buf_addf(&opts->report->warnings, "%s; imported anyway (--force)\n", what);
	return 0;
}

/* The languages' item sets (files[i] sorted by idx; all[0..n_all) sorted, with
 * repeats): the distinct items into *n_items, those not in every language into
 * *n_unpaired, and, when there are any, a sentence into note: "Unpaired items:
 * 400 of 500 items are not in every language: hr lacks 400 (idx 100, 101, ...)." */
#define UNPAIRED_IDS_LISTED 10
static void unpaired_items(const struct task_import_input *in, size_t n_in, const struct jsonl *files,
			   const long long *all, size_t n_all, struct mrl_buf *note, size_t *n_items, size_t *n_unpaired)
{
	*n_items = *n_unpaired = 0;
	for (size_t a = 0; a < n_all; a++) {
		if (a && all[a] == all[a - 1])
			continue;
		(*n_items)++;
		for (size_t i = 0; i < n_in; i++)
			if (!find_idx(&files[i], all[a])) {
				(*n_unpaired)++;
				break;
			}
	}
	if (!*n_unpaired)
		return;
	mrl_buf_addf(note, "Unpaired items: %zu of %zu items are not in every language:", *n_unpaired, *n_items);
	bool first = true;
	for (size_t i = 0; i < n_in; i++) {
		size_t missing = *n_items - files[i].n, listed = 0;
		if (!missing)
			continue;
		mrl_buf_addf(note, "%s %s lacks %zu (idx", first ? "" : ";", in[i].lang, missing);
		first = false;
		for (size_t a = 0; a < n_all && listed < UNPAIRED_IDS_LISTED; a++)
			if ((!a || all[a] != all[a - 1]) && !find_idx(&files[i], all[a]))
				mrl_buf_addf(note, "%s %lld", listed++ ? "," : "", all[a]);
		if (missing > listed)
			mrl_buf_addf(note, ", and %zu more", missing - listed);
		mrl_buf_add(note, ")");
	}
	mrl_buf_add(note, ".");
}

/* Set key to a new value on obj, failing on ENOMEM (jansson steals the reference). */
#define SETN(obj, key, val) do { if (json_object_set_new((obj), (key), (val))) goto nomem; } while (0)

/* Read and check each language's COPA file, its rows sorted by idx (no idx
 * twice); *n_all counts the rows of all files. */
static int copa_read(const struct task_import_input *in, size_t n_in, const struct task_import_opts *opts,
		     struct jsonl *files, size_t *n_all, struct mrl_err *err)
{
	static const char *const text_fields[] = { "premise", "choice1", "choice2", NULL };
	struct read_progress rp = { .opts = opts };
	int rc;
	for (size_t i = 0; i < n_in; i++) { /* the total for the progress: a file that cannot be read fails below */
		struct stat sb;
		if (!stat(in[i].path, &sb) && sb.st_size > 0)
			rp.total += (size_t)sb.st_size;
	}
	for (size_t i = 0; i < n_in; i++) {
		if (!copa_wording_for(in[i].lang))
			return mrl_err_set(err, MRL_EUNSUPPORTED,
					   "%s: no COPA wording for language '%s' (known: en, sr-Cyrl, sr-Latn, hr, bs, cnr)",
					   in[i].path, in[i].lang);
		if ((rc = jsonl_read(in[i].path, &files[i], &rp, err)))
			return rc;
		for (size_t r = 0; r < files[i].n; r++)
			if ((rc = copa_check(in[i].path, &files[i].rows[r], err)))
				return rc;
		if ((rc = check_script(&in[i], &files[i], text_fields, opts, err)))
			return rc;
		qsort(files[i].rows, files[i].n, sizeof *files[i].rows, cmp_row_idx);
		for (size_t r = 1; r < files[i].n; r++)
			if (row_idx(&files[i].rows[r]) == row_idx(&files[i].rows[r - 1])) {
				size_t a = files[i].rows[r - 1].line, b = files[i].rows[r].line;
				return mrl_err_set(err, MRL_EINPUT, "%s:%zu: duplicate idx %lld (also on line %zu)", in[i].path,
						   a > b ? a : b, row_idx(&files[i].rows[r]), a < b ? a : b);
			}
		*n_all += files[i].n;
	}
	return 0;
}

/* Each language's variant of item idx (a language whose file lacks it is
 * left out); the labels and the questions must agree across languages. */
static int copa_item(json_t *item, const struct task_import_input *in, size_t n_in, const struct jsonl *files,
		     long long idx, size_t *n_trimmed, struct mrl_err *err)
{
	int first = -1;
	for (size_t i = 0; i < n_in; i++) {
		const struct jsonl_row *r = find_idx(&files[i], idx);
		if (!r)
			continue;
		long long label = json_integer_value(json_object_get(r->obj, "label"));
		const char *q = json_string_value(json_object_get(r->obj, "question"));
		if (first < 0) {
			first = (int)i;
			SETN(item, "gold", json_integer(label));
		} else {
			const struct jsonl_row *f = find_idx(&files[first], idx);
			long long flabel = json_integer_value(json_object_get(f->obj, "label"));
			const char *fq = json_string_value(json_object_get(f->obj, "question"));
			if (label != flabel)
				return mrl_err_set(err, MRL_EINPUT, "%s:%zu: idx %lld has label %lld, but %s:%zu has label %lld "
						   "(labels must agree across languages)", in[i].path, r->line, idx,
						   label, in[first].path, f->line, flabel);
			if (strcmp(q, fq))
				return mrl_err_set(err, MRL_EINPUT, "%s:%zu: idx %lld asks for the %s, but %s:%zu asks for the %s",
						   in[i].path, r->line, idx, q, in[first].path, f->line, fq);
		}
		json_t *v = json_object(), *choices = json_array();
		if (!v || !choices) {
			json_decref(v), json_decref(choices);
			goto nomem;
		}
		SETN(item, in[i].lang, v);
		SETN(v, "premise", trimmed_string(json_object_get(r->obj, "premise"), n_trimmed));
		SETN(v, "question", json_string(q));
		SETN(v, "choices", choices);
		if (json_array_append_new(choices, trimmed_string(json_object_get(r->obj, "choice1"), n_trimmed)) ||
		    json_array_append_new(choices, trimmed_string(json_object_get(r->obj, "choice2"), n_trimmed)))
			goto nomem;
	}
	return 0;
nomem:
	return mrl_err_set(err, MRL_ENOMEM, "out of memory building the suite");
}

static int import_copa(const struct task_import_input *in, size_t n_in, const struct task_import_opts *opts,
		       json_t **out, size_t *n_trimmed, struct mrl_err *err)
{
	struct jsonl *files = calloc(n_in, sizeof *files);
	long long *all = NULL;
	char *source = NULL;
	size_t n_all = 0;
	json_t *root = NULL;
	int rc = 0;
	struct mrl_buf note;
	mrl_buf_init(&note);
	*out = NULL;
	if (!files)
		return mrl_err_set(err, MRL_ENOMEM, "out of memory");
	if ((rc = copa_read(in, n_in, opts, files, &n_all, err)))
		goto out;
	/* the union of all idx values, in order */
	all = malloc((n_all ? n_all : 1) * sizeof *all);
	if (!all)
		goto nomem;
	n_all = 0;
	for (size_t i = 0; i < n_in; i++)
		for (size_t r = 0; r < files[i].n; r++)
			all[n_all++] = row_idx(&files[i].rows[r]);
	qsort(all, n_all, sizeof *all, cmp_ll);
	size_t n_items, n_unpaired;
	unpaired_items(in, n_in, files, all, n_all, &note, &n_items, &n_unpaired);
	if (note.oom)
		goto nomem;
	if (opts && opts->report) {
		opts->report->n_items = n_items;
		opts->report->n_unpaired = n_unpaired;
		if (n_unpaired)
			mrl_buf_addf(&opts->report->warnings, "%s\n", note.data);
	}

	root = json_object();
	json_t *task = json_object(), *tasks = json_array(), *langs = json_array(), *tmpls = json_object(),
	       *items = json_array(), *metrics = json_array();
	if (!root || !task || !tasks || !langs || !tmpls || !items || !metrics) {
		json_decref(task), json_decref(tasks), json_decref(langs);
		json_decref(tmpls), json_decref(items), json_decref(metrics);
		goto nomem;
	}
	/* attach the containers first so that every later failure frees through root */
	SETN(root, "format", json_string("merilo-suite/1"));
	SETN(root, "name", json_string(opts && opts->name ? opts->name : "copa"));
	SETN(root, "version", json_string(opts && opts->version ? opts->version : "1.0.0"));
	const char *desc = opts && opts->description
				   ? opts->description
				   : "COPA (Choice Of Plausible Alternatives): pick the more plausible cause or effect of a premise";
	size_t dl = strlen(desc); /* the unpaired items are recorded in the description */
	json_t *dj = note.len ? json_sprintf("%s%s %s", desc, dl && desc[dl - 1] == '.' ? "" : ".", note.data)
			      : json_string(desc);
	SETN(root, "description", dj);
	if (!(opts && opts->source) && !(source = provenance("imported from COPA JSONL", in, n_in, err))) {
		rc = err->code;
		goto out;
	}
	SETN(root, "source", json_string(opts && opts->source ? opts->source : source));
	SETN(root, "license", json_string(opts && opts->license ? opts->license : "unspecified"));
	SETN(root, "tasks", tasks);
	if (json_array_append_new(tasks, task))
		goto nomem;
	SETN(task, "id", json_string("copa"));
	SETN(task, "type", json_string("multiple_choice"));
	SETN(task, "metrics", metrics);
	if (json_array_append_new(metrics, json_string("acc")) || json_array_append_new(metrics, json_string("acc_norm")))
		goto nomem;
	SETN(task, "languages", langs);
	SETN(task, "templates", tmpls);
	SETN(task, "target_delimiter", json_string(" "));
	SETN(task, "items", items);
	for (size_t i = 0; i < n_in; i++) {
		const struct copa_wording *cw = copa_wording_for(in[i].lang);
		json_t *t = json_object(), *ctx = json_object(), *cases = json_object();
		if (!t || !ctx || !cases || json_array_append_new(langs, json_string(in[i].lang))) {
			json_decref(t), json_decref(ctx), json_decref(cases);
			goto nomem;
		}
		SETN(tmpls, in[i].lang, t);
		SETN(t, "context", ctx);
		SETN(ctx, "switch", json_string("question"));
		SETN(ctx, "cases", cases);
		SETN(cases, "cause", json_string(cw->cause));
		SETN(cases, "effect", json_string(cw->effect));
		SETN(t, "choice", json_string("{choice|lcfirst}"));
	}
	for (size_t a = 0, n_built = 0; a < n_all; a++) {
		if (a && all[a] == all[a - 1])
			continue;
		json_t *item = json_object();
		char id[32];
		if (!item || json_array_append_new(items, item))
			goto nomem;
		snprintf(id, sizeof id, "%lld", all[a]);
		SETN(item, "id", json_string(id));
		if ((rc = copa_item(item, in, n_in, files, all[a], n_trimmed, err)))
			goto out;
		if (opts && opts->progress && (++n_built % TASK_IMPORT_PROGRESS_EVERY == 0 || n_built == n_items))
			opts->progress(opts->progress_arg, TASK_IMPORT_ITEMS, n_built, n_items);
	}
	*out = root;
	root = NULL;
out:
	json_decref(root);
	for (size_t i = 0; i < n_in; i++)
		jsonl_release(&files[i]);
	free(files);
	free(all);
	free(source);
	mrl_buf_release(&note);
	return rc;
nomem:
	rc = mrl_err_set(err, MRL_ENOMEM, "out of memory building the suite");
	goto out;
}

/* ---- the table ------------------------------------------------------------------ */

static const struct {
	const char *name;
	const char *summary;
	importer_fn fn;
} importers[] = {
	{ "copa", "COPA-style JSONL (premise, choice1, choice2, question, label, idx), one file per language",
	  import_copa },
};
#define N_IMPORTERS (sizeof importers / sizeof importers[0])

size_t task_n_importers(void) { return N_IMPORTERS; }
const char *task_importer_name(size_t i) { return i < N_IMPORTERS ? importers[i].name : NULL; }
const char *task_importer_summary(size_t i) { return i < N_IMPORTERS ? importers[i].summary : NULL; }

int task_import(const char *format, const struct task_import_input *inputs, size_t n_inputs,
		const struct task_import_opts *opts, char **json_out, size_t *n_trimmed, struct mrl_err *err)
{
	size_t trimmed = 0;
	*json_out = NULL;
	if (n_trimmed)
		*n_trimmed = 0;
	size_t k = 0;
	while (k < N_IMPORTERS && strcmp(importers[k].name, format))
		k++;
	if (k == N_IMPORTERS)
		return mrl_err_set(err, MRL_EUNSUPPORTED, "unknown import format '%s' (known: copa)", format);
	if (!n_inputs)
		return mrl_err_set(err, MRL_EINPUT, "import %s: no input files (give at least one LANG=FILE)", format);
	for (size_t i = 0; i < n_inputs; i++) {
		char why[256];
		if (!task_lang_tag_check(inputs[i].lang, why, sizeof why))
			return mrl_err_set(err, MRL_EINPUT, "%s", why);
		for (size_t j = 0; j < i; j++)
			if (!strcmp(inputs[i].lang, inputs[j].lang))
				return mrl_err_set(err, MRL_EINPUT, "language '%s' given twice (%s and %s)", inputs[i].lang,
						   inputs[j].path, inputs[i].path);
	}
	json_t *root = NULL;
	int rc = importers[k].fn(inputs, n_inputs, opts, &root, &trimmed, err);
	if (rc)
		return rc;
	if (n_trimmed)
		*n_trimmed = trimmed;
	*json_out = json_dumps(root, JSON_INDENT(1));
	json_decref(root);
	if (!*json_out)
		return mrl_err_set(err, MRL_ENOMEM, "out of memory writing the suite");
	return 0;
}
