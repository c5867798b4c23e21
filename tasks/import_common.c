/* import_common.c — what the importers share (tasks/import_int.h): JSONL reading
 * with file:line errors, trimmed text fields, the provenance string, the script
 * check of a file against its tag, pairing rows across languages by key, and the
 * suite's top level.
 */
#include "tasks/import_int.h"
#include "tasks/task_int.h"
#include "common/fileio.h"
#include "tasks/langid.h"
#include "common/json.h"
#include "common/sha256.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

/* ---- text fields and provenance (shared by importers) ------------------------- */

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* v's text without leading/trailing blanks: [*a, *end). */
static void trim_bounds(const json_t *v, size_t *a, size_t *end)
{
	const char *s = json_string_value(v);
	*a = 0;
	*end = json_string_length(v);
	while (*a < *end && is_blank(s[*a]))
		(*a)++;
	while (*end > *a && is_blank(s[*end - 1]))
		(*end)--;
}

json_t *imp_trimmed_string(const json_t *v, size_t *n_trimmed)
{
	size_t a, end;
	trim_bounds(v, &a, &end);
	if (n_trimmed && (a || end != json_string_length(v)))
		(*n_trimmed)++;
	return json_stringn(json_string_value(v) + a, end - a);
}

size_t imp_trimmed_length(const json_t *v)
{
	size_t a, end;
	trim_bounds(v, &a, &end);
	return end - a;
}

int imp_need_text(const char *path, const struct imp_row *r, const char *field, const char *what,
		  struct mrl_err *err)
{
	json_t *v = json_object_get(r->obj, field);
	if (json_is_string(v) && imp_trimmed_length(v))
		return 0;
	return mrl_err_set(err, MRL_EINPUT, "%s:%zu: \"%s\" %s; expected %s%s", path, r->line, field,
			   v ? "is not a non-empty string" : "is missing", what ? what : "a non-empty string",
			   what ? " (a non-empty string)" : "");
}

char *imp_provenance(const char *what, const struct task_import_input *in, size_t n_in, struct mrl_err *err)
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

/* ---- reading JSONL and plain text, a record a line ------------------------------- */

void imp_jsonl_release(struct imp_jsonl *f)
{
	for (size_t i = 0; i < f->n; i++)
		json_decref(f->rows[i].obj);
	free(f->rows);
	f->rows = NULL;
	f->n = 0;
}

static void tell_read(const struct imp_progress *rp)
{
	if (rp && rp->opts && rp->opts->progress)
		rp->opts->progress(rp->opts->progress_arg, TASK_IMPORT_READ, rp->done < rp->total ? rp->done : rp->total,
				   rp->total);
}

/* How one line (len bytes, its line break included) becomes a record: 1 with *obj,
 * 0 to skip the line, or an error code with err set naming path:lineno. */
typedef int (*line_fn)(const char *path, size_t lineno, const char *line, size_t len, json_t **obj,
		       struct mrl_err *err);

/* A JSONL line: blank lines (a byte-order mark alone counts as blank) are skipped. */
static int jsonl_line(const char *path, size_t lineno, const char *line, size_t n, json_t **obj, struct mrl_err *err)
{
	while (n && (line[n - 1] == '\n' || line[n - 1] == '\r' || line[n - 1] == ' ' || line[n - 1] == '\t'))
		n--;
	if (!n)
		return 0;
	/* a UTF-8 byte-order mark at the start is skipped; with nothing after it the line is blank */
	struct mrl_json_error je;
	*obj = mrl_json_parse_object(line, n, JSON_REJECT_DUPLICATES, &je);
	if (!*obj && je.problem == MRL_JSON_EMPTY)
		return 0;
	if (!*obj && je.problem == MRL_JSON_NOT_OBJECT)
		return mrl_err_set(err, MRL_EINPUT, "%s:%zu: expected one JSON object per line, found %s", path, lineno,
				   je.found);
	if (!*obj)
		return mrl_err_set(err, MRL_EINPUT, "%s:%zu: %s (column %d)", path, lineno, je.what, je.column);
	return 1;
}

/* A line of plain text: {"text": LINE}, its line break dropped, a byte-order mark on the first skipped. */
static int text_line(const char *path, size_t lineno, const char *line, size_t n, json_t **obj, struct mrl_err *err)
{
	size_t a = 0;
	while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		n--;
	if (lineno == 1 && n >= 3 && !memcmp(line, "\xEF\xBB\xBF", 3))
		a = 3;
	if (memchr(line + a, '\0', n - a))
		return mrl_err_set(err, MRL_EINPUT, "%s:%zu: a NUL byte in the text", path, lineno);
	json_t *text = json_stringn(line + a, n - a);
	if (!text)
		return mrl_err_set(err, MRL_EINPUT, "%s:%zu: not valid UTF-8", path, lineno);
	if (!(*obj = json_object()) || json_object_set_new(*obj, "text", text)) {
		json_decref(*obj);
		return mrl_err_set(err, MRL_ENOMEM, "%s:%zu: out of memory", path, lineno);
	}
	return 1;
}

/* Read path a line at a time into f, each record keyed by its line number; empty_what
 * names what an empty file lacks ("records"). rp (may be NULL) counts the bytes read. */
static int read_lines(const char *path, struct imp_jsonl *f, struct imp_progress *rp, line_fn parse,
		      const char *empty_what, struct mrl_err *err)
{
	FILE *fp = mrl_fopen_read(path);
	char *line = NULL;
	size_t cap = 0, lineno = 0, rows_cap = 0;
	ssize_t len;
	int rc = 0;
	*f = (struct imp_jsonl){ .path = path };
	if (!fp)
		return mrl_err_set(err, MRL_EIO, "%s: cannot open: %s", path, strerror(errno));
	struct stat st;
	if (fstat(fileno(fp), &st) == 0 && (uint64_t)st.st_size > TASK_SUITE_MAX_BYTES) {
		rc = mrl_err_set(err, MRL_EINPUT, "%s: file is %lld bytes, larger than the %llu MiB limit", path,
				 (long long)st.st_size, (unsigned long long)(TASK_SUITE_MAX_BYTES >> 20));
		goto out;
	}
	while ((len = getline(&line, &cap, fp)) >= 0) {
		json_t *obj = NULL;
		lineno++;
		if (rp) {
			rp->done += (size_t)len;
			if (lineno % TASK_IMPORT_PROGRESS_EVERY == 0)
				tell_read(rp);
		}
		int got = parse(path, lineno, line, (size_t)len, &obj, err);
		if (got < 0) {
			rc = got;
			goto out;
		}
		if (!got)
			continue;
		if (f->n == rows_cap) {
			rows_cap = rows_cap ? rows_cap * 2 : 256;
			struct imp_row *r = realloc(f->rows, rows_cap * sizeof *r);
			if (!r) {
				json_decref(obj);
				rc = mrl_err_set(err, MRL_ENOMEM, "%s:%zu: out of memory", path, lineno);
				goto out;
			}
			f->rows = r;
		}
		f->rows[f->n++] = (struct imp_row){ obj, lineno, (long long)lineno };
	}
	if (ferror(fp)) {
		rc = mrl_err_set(err, MRL_EIO, "%s: read failed: %s", path, strerror(errno));
		goto out;
	}
	if (!f->n)
		rc = mrl_err_set(err, MRL_EINPUT, "%s: no %s (empty file)", path, empty_what);
	if (!rc)
		tell_read(rp);
out:
	free(line);
	fclose(fp);
	if (rc)
		imp_jsonl_release(f);
	return rc;
}

int imp_jsonl_read(const char *path, struct imp_jsonl *f, struct imp_progress *rp, struct mrl_err *err)
{
	return read_lines(path, f, rp, jsonl_line, "records", err);
}

int imp_lines_read(const char *path, struct imp_jsonl *f, struct imp_progress *rp, struct mrl_err *err)
{
	return read_lines(path, f, rp, text_line, "lines", err);
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

int imp_check_script(const struct task_import_input *in, const struct imp_jsonl *f, const char *const *fields,
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

/* ---- pairing rows across languages by key ---------------------------------------- */

void imp_progress_init(struct imp_progress *rp, const struct task_import_opts *opts,
		       const struct task_import_input *in, size_t n_in)
{
	*rp = (struct imp_progress){ .opts = opts };
	for (size_t i = 0; i < n_in; i++) { /* a file that cannot be read fails when it is read */
		struct stat sb;
		if (!stat(in[i].path, &sb) && sb.st_size > 0)
			rp->total += (size_t)sb.st_size;
	}
}

static int cmp_row_key(const void *a, const void *b)
{
	long long x = ((const struct imp_row *)a)->key, y = ((const struct imp_row *)b)->key;
	return (x > y) - (x < y);
}

static int cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;
	return (x > y) - (x < y);
}

int imp_sort_rows(const struct task_import_input *in, struct imp_jsonl *f, const char *what, struct mrl_err *err)
{
	qsort(f->rows, f->n, sizeof *f->rows, cmp_row_key);
	for (size_t r = 1; r < f->n; r++)
		if (f->rows[r].key == f->rows[r - 1].key) {
			size_t a = f->rows[r - 1].line, b = f->rows[r].line;
			return mrl_err_set(err, MRL_EINPUT, "%s:%zu: duplicate %s %lld (also on line %zu)", in->path,
					   a > b ? a : b, what, f->rows[r].key, a < b ? a : b);
		}
	return 0;
}

const struct imp_row *imp_find_key(const struct imp_jsonl *f, long long key)
{
	size_t lo = 0, hi = f->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		long long v = f->rows[mid].key;
		if (v == key)
			return &f->rows[mid];
		if (v < key)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

long long *imp_all_keys(const struct imp_jsonl *files, size_t n_in, size_t *n_keys)
{
	size_t n = 0;
	*n_keys = 0;
	for (size_t i = 0; i < n_in; i++)
		n += files[i].n;
	long long *keys = malloc((n ? n : 1) * sizeof *keys);
	if (!keys)
		return NULL;
	n = 0;
	for (size_t i = 0; i < n_in; i++)
		for (size_t r = 0; r < files[i].n; r++)
			keys[n++] = files[i].rows[r].key;
	qsort(keys, n, sizeof *keys, cmp_ll);
	size_t m = 0;
	for (size_t a = 0; a < n; a++)
		if (!m || keys[a] != keys[m - 1])
			keys[m++] = keys[a];
	*n_keys = m;
	return keys;
}

#define UNPAIRED_IDS_LISTED 10
void imp_unpaired(const struct task_import_input *in, size_t n_in, const struct imp_jsonl *files,
		  const long long *keys, size_t n_keys, const char *what, const char *const *names, const char *label,
		  struct mrl_buf *note, size_t *n_unpaired)
{
	*n_unpaired = 0;
	for (size_t a = 0; a < n_keys; a++)
		for (size_t i = 0; i < n_in; i++)
			if (!imp_find_key(&files[i], keys[a])) {
				(*n_unpaired)++;
				break;
			}
	if (!*n_unpaired)
		return;
	mrl_buf_addf(note, "%s%sUnpaired items: %zu of %zu items are not in every language:", note->len ? " " : "",
		     label ? label : "", *n_unpaired, n_keys);
	bool first = true;
	for (size_t i = 0; i < n_in; i++) {
		size_t missing = n_keys - files[i].n, listed = 0;
		if (!missing)
			continue;
		mrl_buf_addf(note, "%s %s lacks %zu (%s", first ? "" : ";", in[i].lang, missing, what);
		first = false;
		for (size_t a = 0; a < n_keys && listed < UNPAIRED_IDS_LISTED; a++)
			if (!imp_find_key(&files[i], keys[a])) {
				if (names)
					mrl_buf_addf(note, "%s %s", listed++ ? "," : "", names[keys[a]]);
				else
					mrl_buf_addf(note, "%s %lld", listed++ ? "," : "", keys[a]);
			}
		if (missing > listed)
			mrl_buf_addf(note, ", and %zu more", missing - listed);
		mrl_buf_add(note, ")");
	}
	mrl_buf_add(note, ".");
}

void imp_report_pairing(const struct task_import_opts *opts, size_t n_items, size_t n_unpaired,
			const struct mrl_buf *note)
{
	if (!opts || !opts->report)
		return;
	opts->report->n_items = n_items;
	opts->report->n_unpaired = n_unpaired;
	if (note->len)
		mrl_buf_addf(&opts->report->warnings, "%s\n", note->data);
}

void imp_tell_items(const struct task_import_opts *opts, size_t n_built, size_t n_items)
{
	if (opts && opts->progress && (n_built % TASK_IMPORT_PROGRESS_EVERY == 0 || n_built == n_items))
		opts->progress(opts->progress_arg, TASK_IMPORT_ITEMS, n_built, n_items);
}

json_t *imp_suite_new(const struct task_import_opts *opts, const char *default_name, const char *default_description,
		      const char *what, const struct task_import_input *in, size_t n_in, const struct mrl_buf *note,
		      struct mrl_err *err)
{
	char *source = NULL;
	json_t *root = json_object();
	if (!root)
		goto nomem;
	IMP_SET(root, "format", json_string("merilo-suite/1"));
	IMP_SET(root, "name", json_string(opts && opts->name ? opts->name : default_name));
	IMP_SET(root, "version", json_string(opts && opts->version ? opts->version : "1.0.0"));
	const char *desc = opts && opts->description ? opts->description : default_description;
	size_t dl = strlen(desc); /* the unpaired items are recorded in the description */
	IMP_SET(root, "description", note->len ? json_sprintf("%s%s %s", desc, dl && desc[dl - 1] == '.' ? "" : ".",
							      note->data)
					       : json_string(desc));
	if (!(opts && opts->source) && !(source = imp_provenance(what, in, n_in, err))) {
		json_decref(root);
		return NULL;
	}
	if (source && opts && opts->n_pool) { /* the pool's files too: "...; pool: en=en-dev.jsonl (sha256 ...)" */
		char *pool = imp_provenance("pool", opts->pool, opts->n_pool, err);
		char *both = pool ? malloc(strlen(source) + strlen(pool) + 3) : NULL;
		if (both)
			sprintf(both, "%s; %s", source, pool);
		free(pool);
		free(source);
		if (!(source = both)) {
			json_decref(root);
			if (!err->code)
				mrl_err_set(err, MRL_ENOMEM, "out of memory");
			return NULL;
		}
	}
	IMP_SET(root, "source", json_string(opts && opts->source ? opts->source : source));
	IMP_SET(root, "license", json_string(opts && opts->license ? opts->license : "unspecified"));
	IMP_SET(root, "tasks", json_array());
	free(source);
	return root;
nomem:
	free(source);
	json_decref(root);
	mrl_err_set(err, MRL_ENOMEM, "out of memory building the suite");
	return NULL;
}

/* ---- numbering rows by name ------------------------------------------------------ */

/* A row of some file, for numbering the rows by name. */
struct named_row {
	const char *text; /* the name: text and number */
	long long number, occurrence;
	size_t file, row; /* where it is; (file, row) orders first appearances */
	size_t group;     /* the distinct item it is (after numbering) */
};

static int cmp_named_row(const void *a, const void *b)
{
	const struct named_row *x = a, *y = b;
	int c = strcmp(x->text, y->text);
	if (c)
		return c;
	if (x->number != y->number)
		return (x->number > y->number) - (x->number < y->number);
	if (x->file != y->file)
		return (x->file > y->file) - (x->file < y->file);
	return (x->row > y->row) - (x->row < y->row);
}

/* Where an item is first seen: its file and row, and its group. */
struct first_seen {
	size_t file, row, group;
};

static int cmp_first_seen(const void *a, const void *b)
{
	const struct first_seen *x = a, *y = b;
	if (x->file != y->file)
		return (x->file > y->file) - (x->file < y->file);
	return (x->row > y->row) - (x->row < y->row);
}

int imp_number_rows(struct imp_jsonl *files, size_t n_in, imp_name_fn name, struct mrl_err *err)
{
	size_t n = 0, k = 0, n_groups = 0;
	for (size_t i = 0; i < n_in; i++)
		n += files[i].n;
	struct named_row *q = malloc(n * sizeof *q);
	size_t *first = malloc(n * sizeof *first);
	struct first_seen *order = malloc(n * sizeof *order);
	if (!q || !first || !order) {
		free(q), free(first), free(order);
		return mrl_err_set(err, MRL_ENOMEM, "out of memory numbering the items");
	}
	for (size_t i = 0; i < n_in; i++)
		for (size_t r = 0; r < files[i].n; r++) {
			q[k] = (struct named_row){ .file = i, .row = r };
			name(files[i].rows[r].obj, &q[k].text, &q[k].number);
			if (!q[k].text)
				q[k].text = "";
			k++;
		}
	qsort(q, n, sizeof *q, cmp_named_row);
	/* the n-th time a file has (text, number) is occurrence n; sorted, those are adjacent */
	for (size_t a = 1; a < n; a++)
		if (!strcmp(q[a].text, q[a - 1].text) && q[a].number == q[a - 1].number && q[a].file == q[a - 1].file)
			q[a].occurrence = q[a - 1].occurrence + 1;
	/* the groups: equal (text, number, occurrence), one block of equal (text, number)
	 * after another; the first entry of a group in the sort order is its first appearance */
	for (size_t a = 0; a < n;) {
		size_t b = a, n_occ = 0;
		while (b < n && !strcmp(q[b].text, q[a].text) && q[b].number == q[a].number) {
			if ((size_t)q[b].occurrence >= n_occ)
				n_occ = (size_t)q[b].occurrence + 1;
			b++;
		}
		for (size_t o = 0; o < n_occ; o++)
			first[n_groups + o] = n;
		for (size_t c = a; c < b; c++) {
			q[c].group = n_groups + (size_t)q[c].occurrence;
			if (first[q[c].group] == n)
				first[q[c].group] = c;
		}
		n_groups += n_occ;
		a = b;
	}
	/* number the groups by the (file, row) of their first appearance */
	for (size_t g = 0; g < n_groups; g++)
		order[g] = (struct first_seen){ q[first[g]].file, q[first[g]].row, g };
	qsort(order, n_groups, sizeof *order, cmp_first_seen);
	for (size_t j = 0; j < n_groups; j++)
		first[order[j].group] = j; /* first[] now maps a group to its 0-based number */
	for (size_t a = 0; a < n; a++)
		files[q[a].file].rows[q[a].row].key = (long long)first[q[a].group] + 1;
	free(q), free(first), free(order);
	return 0;
}

/* ---- building the suite ------------------------------------------------------------ */

json_t *imp_mc_task_new(const char *id, const char *target_delimiter)
{
	return json_pack("{s:s, s:s, s:[s, s], s:[], s:{}, s:s, s:[]}", "id", id, "type", "multiple_choice", "metrics", "acc",
			 "acc_norm", "languages", "templates", "target_delimiter", target_delimiter, "items");
}

int imp_task_language(json_t *task, const char *lang, json_t *tmpl)
{
	if (!tmpl)
		return -1;
	if (json_array_append_new(json_object_get(task, "languages"), json_string(lang))) {
		json_decref(tmpl);
		return -1;
	}
	return json_object_set_new(json_object_get(task, "templates"), lang, tmpl);
}

/* qsort_r: rows by their string field (arg), then line. */
static int cmp_row_field(const void *a, const void *b, void *field)
{
	const struct imp_row *x = *(const struct imp_row *const *)a, *y = *(const struct imp_row *const *)b;
	int c = strcmp(json_string_value(json_object_get(x->obj, field)), json_string_value(json_object_get(y->obj, field)));
	return c ? c : (x->line > y->line) - (x->line < y->line);
}

int imp_unique_string(const char *path, const struct imp_jsonl *f, const char *field, struct mrl_err *err)
{
	const struct imp_row **rows = malloc((f->n + 1) * sizeof *rows);
	int rc = 0;
	if (!rows)
		return mrl_err_set(err, MRL_ENOMEM, "out of memory");
	for (size_t r = 0; r < f->n; r++)
		rows[r] = &f->rows[r];
	qsort_r(rows, f->n, sizeof *rows, cmp_row_field, (void *)field);
	for (size_t r = 1; r < f->n && !rc; r++) {
		const char *id = json_string_value(json_object_get(rows[r]->obj, field));
		if (!strcmp(id, json_string_value(json_object_get(rows[r - 1]->obj, field))))
			rc = mrl_err_set(err, MRL_EINPUT, "%s:%zu: %s \"%s\" again (also on line %zu)", path, rows[r]->line,
					 field, id, rows[r - 1]->line);
	}
	free(rows);
	return rc;
}

const void *imp_wording(const void *table, size_t n, size_t size, const char *lang)
{
	for (size_t i = 0; i < n; i++) {
		const char *const *entry = (const void *)((const char *)table + i * size);
		if (!strcmp(*entry, lang))
			return entry;
	}
	return NULL;
}

int imp_need_wording(const void *table, size_t n, size_t size, const struct task_import_input *in, const char *what,
		     struct mrl_err *err)
{
	if (imp_wording(table, n, size, in->lang))
		return 0;
	char known[256] = "";
	for (size_t i = 0, len = 0; i < n && len < sizeof known; i++)
		len += (size_t)snprintf(known + len, sizeof known - len, "%s%s", i ? ", " : "",
					*(const char *const *)(const void *)((const char *)table + i * size));
	return mrl_err_set(err, MRL_EUNSUPPORTED, "%s: no %s wording for language '%s' (known: %s)", in->path, what,
			   in->lang, known);
}

int imp_first_k_pool(json_t *task, int k, const char *match, json_t *pool)
{
	json_t *fs = json_pack("{s:i, s:s, s:s, s:s}", "k", k, "source", "pool", "match", match, "order", "first");
	return !fs || json_object_set_new(task, "fewshot", fs) || json_object_set(task, "pool", pool) ? -1 : 0;
}

int imp_letter_choices(json_t *variant, size_t n)
{
	json_t *choices = json_array();
	if (!choices || json_object_set_new(variant, "choices", choices))
		return -1;
	for (size_t k = 0; k < n; k++)
		if (json_array_append_new(choices, json_sprintf("%c", (int)('A' + k))))
			return -1;
	return 0;
}

void imp_files_release(struct imp_jsonl *files, size_t n)
{
	for (size_t i = 0; files && i < n; i++)
		imp_jsonl_release(&files[i]);
	free(files);
}

int imp_answers_agree(const struct task_import_input *in, size_t n_in, const struct imp_jsonl *files, long long key,
		      int (*answer)(const json_t *row), size_t (*count)(const json_t *row), const struct imp_row **first_out,
		      struct mrl_err *err)
{
	const struct imp_row *first = NULL;
	size_t first_i = 0;
	for (size_t i = 0; i < n_in; i++) {
		const struct imp_row *r = imp_find_key(&files[i], key);
		if (!r)
			continue;
		if (!first) {
			first = r, first_i = i;
			continue;
		}
		const int a = answer(r->obj), b = answer(first->obj);
		const size_t ca = count ? count(r->obj) : 0, cb = count ? count(first->obj) : 0;
		if (a == b && ca == cb)
			continue;
		char of_a[32] = "", of_b[32] = "";
		if (count)
			snprintf(of_a, sizeof of_a, " of %zu", ca), snprintf(of_b, sizeof of_b, " of %zu", cb);
		return mrl_err_set(err, MRL_EINPUT, "%s:%zu: the right answer is %c%s, but %s:%zu says %c%s (answers must "
				   "agree across languages)", in[i].path, r->line, 'A' + a, of_a, in[first_i].path,
				   first->line, 'A' + b, of_b);
	}
	if (first_out)
		*first_out = first;
	return 0;
}

int imp_label_item(json_t *item, const struct task_import_input *in, size_t n_in, const struct imp_jsonl *files,
		   long long key, const struct imp_labels *how, size_t *n_trimmed, struct mrl_err *err)
{
	const struct imp_row *first = NULL;
	int rc = imp_answers_agree(in, n_in, files, key, how->gold, NULL, &first, err);
	if (rc)
		return rc;
	if (first)
		IMP_SET(item, "gold", json_integer(how->gold(first->obj)));
	for (size_t i = 0; i < n_in; i++) {
		const struct imp_row *r = imp_find_key(&files[i], key);
		if (!r)
			continue;
		json_t *v = how->variant ? how->variant(r->obj, n_trimmed) : json_object();
		IMP_SET(item, in[i].lang, v);
		for (size_t f = 0; how->fields && how->fields[f]; f++) {
			json_t *x = json_object_get(r->obj, how->fields[f]);
			if (x || !how->optional || !how->optional[f])
				IMP_SET(v, how->fields[f], imp_trimmed_string(x, n_trimmed));
		}
		if (imp_letter_choices(v, how->n_letters))
			goto nomem;
	}
	return 0;
nomem:
	return mrl_err_set(err, MRL_ENOMEM, "out of memory building the suite");
}

/* ---- the usual importer: one task, items keyed by a number -------------------------- */

int imp_run(const struct imp_spec *spec, const struct task_import_input *in, size_t n_in,
	    const struct task_import_opts *opts, json_t **out, size_t *n_trimmed, struct mrl_err *err)
{
	struct imp_jsonl *files = calloc(n_in, sizeof *files);
	long long *all = NULL;
	size_t n_items = 0, n_unpaired = 0;
	json_t *root = NULL, *task = NULL;
	int rc = 0;
	struct mrl_buf note;
	mrl_buf_init(&note);
	*out = NULL;
	if (!files)
		return mrl_err_set(err, MRL_ENOMEM, "out of memory");
	if ((rc = spec->read(in, n_in, opts, files, err)))
		goto out;
	if (!(all = imp_all_keys(files, n_in, &n_items)))
		goto nomem;
	imp_unpaired(in, n_in, files, all, n_items, spec->key_what, NULL, NULL, &note, &n_unpaired);
	if (note.oom)
		goto nomem;
	imp_report_pairing(opts, n_items, n_unpaired, &note);
	if (!(root = imp_suite_new(opts, spec->name, spec->description, spec->provenance, in, n_in, &note, err))) {
		rc = err->code;
		goto out;
	}
	if (!(task = spec->task(in, n_in)) || json_array_append_new(json_object_get(root, "tasks"), task))
		goto nomem;
	json_t *items = json_object_get(task, "items");
	for (size_t a = 0; a < n_items; a++) {
		json_t *item = json_object();
		if (!item || json_array_append_new(items, item))
			goto nomem;
		IMP_SET(item, "id", json_sprintf("%lld", all[a]));
		if ((rc = spec->item(item, in, n_in, files, all[a], n_trimmed, err)))
			goto out;
		imp_tell_items(opts, a + 1, n_items);
	}
	*out = root;
	root = NULL;
out:
	json_decref(root);
	imp_files_release(files, n_in);
	free(all);
	mrl_buf_release(&note);
	return rc;
nomem:
	rc = mrl_err_set(err, MRL_ENOMEM, "out of memory building the suite");
	goto out;
}

/* ---- the importer with a few-shot pool --------------------------------------------- */

int imp_run_pooled(const struct imp_pooled *spec, void *arg, const struct task_import_input *in, size_t n_in,
		   const struct task_import_opts *opts, json_t **out, size_t *n_trimmed, struct mrl_err *err)
{
	json_t *root = NULL, *task = NULL, *items = json_array(), *pool = json_array();
	size_t n_items = 0, n_unpaired = 0, n_pool = 0;
	int rc = 0;
	struct mrl_buf note;
	mrl_buf_init(&note);
	*out = NULL;
	if (!items || !pool)
		goto nomem;
	if ((rc = spec->build(in, n_in, opts, false, items, &note, &n_items, &n_unpaired, n_trimmed, arg, err)))
		goto out;
	if (opts && opts->n_pool && (rc = spec->build(opts->pool, opts->n_pool, opts, true, pool, &note, &n_pool,
						      &(size_t){ 0 }, n_trimmed, arg, err)))
		goto out;
	imp_report_pairing(opts, n_items, n_unpaired, &note); /* the pool's unpaired are in the note */
	if (!(root = imp_suite_new(opts, spec->name, spec->description, spec->provenance, in, n_in, &note, err))) {
		rc = err->code;
		goto out;
	}
	if (!(task = spec->task(in, n_in, opts, items, arg)) ||
	    json_array_append_new(json_object_get(root, "tasks"), task) || json_object_set(task, "items", items))
		goto nomem;
	if (n_pool && imp_first_k_pool(task, 5, spec->match, pool))
		goto nomem;
	*out = root;
	root = NULL;
out:
	json_decref(root);
	json_decref(items);
	json_decref(pool);
	mrl_buf_release(&note);
	return rc;
nomem:
	rc = mrl_err_set(err, MRL_ENOMEM, "out of memory building the suite");
	goto out;
}
