/* suite.c — loading and validating a suite file (docs/suite-format.md).
 *
 * One walk over the JSON document both checks it and builds the in-memory
 * suite. The walk never stops at the first problem: every problem becomes a
 * diagnostic with the JSON pointer of the offending value, and the walk goes on
 * with whatever is still usable. Only a suite without a single problem is
 * handed to the caller. Before jansson sees the bytes we check the size cap,
 * UTF-8 and the nesting depth ourselves, so that those messages are clear;
 * common/json skips a UTF-8 byte-order mark and names a NUL byte, data after
 * the object and a top level that is not an object where they are.
 * Strings of the suite are jansson strings of the kept document; derived
 * variants (sr-Latn from sr-Cyrl) are transliterated and inserted into it.
 */
#include "tasks/suite_int.h"
#include "common/fileio.h"

#include "common/utf8.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ---- the document ----------------------------------------------------------- */

static void free_items(struct task_item *items, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (!items[i].v)
			continue;
		for (size_t l = 0; l < items[i].n_langs; l++) {
			free(items[i].v[l].fields);
			free(items[i].v[l].choices);
			free(items[i].v[l].targets);
		}
		free(items[i].v);
	}
	free(items);
}

void task_suite_free(struct task_suite *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n_tasks; i++) {
		struct task_task *t = &s->tasks[i];
		free_items(t->items, t->n_items);
		free_items(t->pool, t->n_pool);
		if (t->owns_metrics)
			free((void *)t->metrics);
		free(t->langs);
		free(t->derived_from);
		free(t->derived_keep);
		free(t->tmpl_context);
		free(t->tmpl_choice);
		free(t->tmpl_description);
		for (size_t li = 0; t->until && li < t->n_langs; li++)
			free(t->until[li]);
		free(t->until);
		free(t->n_until);
		free(t->expect_script);
		free(t->expect_language);
		task_extract_release(t);
	}
	free(s->tasks);
	free(s->file);
	json_decref(s->root);
	free(s);
}

static void build_suite(struct walk *w, struct task_suite *s)
{
	static const char *const keys[] = { "format", "name", "version", "description", "source", "license",
					    "chat_template", "tasks", NULL };
	json_t *root = s->root;
	if (!json_is_object(root)) {
		walk_problem(w, "expected a JSON object at the top of a suite, got %s", mrl_json_type_name(root));
		return;
	}
	walk_check_keys(w, root, keys, "a suite");
	const char *format = walk_get_str(w, root, "format", true, true);
	if (format && strcmp(format, "merilo-suite/1")) {
		size_t old = walk_push_key(w, "format");
		walk_problem(w, "unsupported format \"%s\" (expected \"merilo-suite/1\")", format);
		walk_pop(w, old);
	}
	s->name = walk_get_str(w, root, "name", true, true);
	s->version = walk_get_str(w, root, "version", true, true);
	s->description = walk_get_str(w, root, "description", true, false);
	s->source = walk_get_str(w, root, "source", true, false);
	s->license = walk_get_str(w, root, "license", true, true);
	s->chat_template = walk_get_chat_template(w, root);
	json_t *tasks = json_object_get(root, "tasks");
	size_t old = walk_push_key(w, "tasks");
	if (!tasks) {
		walk_problem(w, "missing; expected an array of tasks");
	} else if (!json_is_array(tasks) || !json_array_size(tasks)) {
		walk_problem(w, "expected a non-empty array of tasks, got %s",
			json_is_array(tasks) ? "an empty array" : mrl_json_type_name(tasks));
	} else {
		size_t n = json_array_size(tasks), i;
		json_t *tj;
		s->tasks = walk_calloc(w, n, sizeof *s->tasks);
		if (!s->tasks)
			goto out;
		json_array_foreach(tasks, i, tj) {
			size_t o2 = walk_push_idx(w, i);
			walk_build_task(w, tj, &s->tasks[i]);
			s->n_tasks = i + 1;
			for (size_t j = 0; j < i && s->tasks[i].id; j++)
				if (s->tasks[j].id && !strcmp(s->tasks[j].id, s->tasks[i].id)) {
					size_t o3 = walk_push_key(w, "id");
					walk_problem(w, "duplicate task id \"%s\" (first used by /tasks/%zu)", s->tasks[i].id, j);
					walk_pop(w, o3);
					break;
				}
			walk_pop(w, o2);
			if (w->oom)
				break;
		}
		for (size_t k = 0; k < s->n_tasks; k++) /* a generate task without its own takes the suite's */
			if (s->tasks[k].type == TASK_GENERATE && !s->tasks[k].chat_template)
				s->tasks[k].chat_template = s->chat_template;
	}
out:
	walk_pop(w, old);
}

/* Line and column (1-based, columns in bytes) of offset in buf. */
static void line_col(const char *buf, size_t off, int *line, int *col)
{
	int l = 1;
	size_t start = 0;
	for (size_t i = 0; i < off; i++)
		if (buf[i] == '\n') {
			l++;
			start = i + 1;
		}
	*line = l;
	*col = (int)(off - start) + 1;
}

static int finish(struct task_diags *d, size_t before, struct mrl_err *err)
{
	size_t n = d->n - before + d->n_dropped;
	if (!n)
		return 0;
	char line[1024];
	task_diag_format(d, before, line, sizeof line);
	if (n > 1)
		return mrl_err_set(err, MRL_EINPUT, "%s (and %zu more problem%s)", line, n - 1, n > 2 ? "s" : "");
	return mrl_err_set(err, MRL_EINPUT, "%s", line);
}

int task_suite_parse(const char *name, const char *buf, size_t len, struct task_suite **out,
		     struct task_diags *diags, struct mrl_err *err)
{
	struct task_diags local;
	struct task_diags *d = diags ? diags : &local;
	struct task_suite *s = NULL;
	int rc = 0;
	if (!diags)
		task_diags_init(&local);
	*out = NULL;
	if (!d->file && !(d->file = strdup(name))) {
		rc = mrl_err_set(err, MRL_ENOMEM, "%s: out of memory", name);
		goto out;
	}
	size_t before = d->n;
	int line, col;
	if ((uint64_t)len > TASK_SUITE_MAX_BYTES) {
		task_diag_add(d, "", 0, 0, "file is %zu bytes, larger than the %llu MiB limit for suites", len,
			      (unsigned long long)(TASK_SUITE_MAX_BYTES >> 20));
		goto done;
	}
	/* a model given where a suite goes: say so, not where its binary first breaks UTF-8 */
	if (len >= 4 && !memcmp(buf, "GGUF", 4)) {
		task_diag_add(d, "", 0, 0, "a GGUF model, not a suite (a suite is JSON: docs/suite-format.md)");
		goto done;
	}
	size_t bad = mrl_utf8_valid_prefix(buf, len);
	if (bad < len) {
		line_col(buf, bad, &line, &col);
		task_diag_add(d, "", line, col, "not valid UTF-8: byte 0x%02X at line %d, column %d (offset %zu); suites must be UTF-8",
			      (unsigned char)buf[bad], line, col, bad);
		goto done;
	}
	size_t deep = mrl_json_depth_exceeded_at(buf, len, TASK_SUITE_MAX_DEPTH);
	if (deep < len) {
		line_col(buf, deep, &line, &col);
		task_diag_add(d, "", line, col, "JSON nested deeper than %d levels at line %d, column %d (a suite needs about 8)",
			      TASK_SUITE_MAX_DEPTH, line, col);
		goto done;
	}
	struct mrl_json_error je;
	json_t *root = mrl_json_parse_object(buf, len, JSON_REJECT_DUPLICATES, &je);
	if (!root) {
		task_diag_add(d, "", je.line, je.column, "%s", je.text);
		goto done;
	}
	s = calloc(1, sizeof *s);
	if (!s || !(s->file = strdup(name))) {
		json_decref(root);
		rc = mrl_err_set(err, MRL_ENOMEM, "%s: out of memory", name);
		goto out;
	}
	s->root = root;
	struct walk w = { .d = d };
	build_suite(&w, s);
	if (w.oom) {
		rc = mrl_err_set(err, MRL_ENOMEM, "%s: out of memory while loading the suite", name);
		goto out;
	}
done:
	rc = finish(d, before, err);
	if (!rc) {
		*out = s;
		s = NULL;
	}
out:
	task_suite_free(s);
	if (!diags)
		task_diags_release(&local);
	return rc;
}

int task_suite_load(const char *path, struct task_suite **out, struct task_diags *diags, struct mrl_err *err)
{
	struct task_diags local;
	struct task_diags *d = diags ? diags : &local;
	char *buf = NULL;
	int rc = 0;
	FILE *f = NULL;
	if (!diags)
		task_diags_init(&local);
	*out = NULL;
	if (!d->file && !(d->file = strdup(path))) {
		rc = mrl_err_set(err, MRL_ENOMEM, "%s: out of memory", path);
		goto out;
	}
	struct stat st;
	f = mrl_fopen_read(path);
	if (!f || fstat(fileno(f), &st)) {
		task_diag_add(d, "", 0, 0, "cannot open: %s", strerror(errno));
		rc = mrl_err_set(err, MRL_EIO, "%s: cannot open: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		task_diag_add(d, "", 0, 0, "not a regular file");
		rc = mrl_err_set(err, MRL_EIO, "%s: not a regular file", path);
		goto out;
	}
	if ((uint64_t)st.st_size > TASK_SUITE_MAX_BYTES) {
		task_diag_add(d, "", 0, 0, "file is %lld bytes, larger than the %llu MiB limit for suites",
			      (long long)st.st_size, (unsigned long long)(TASK_SUITE_MAX_BYTES >> 20));
		rc = finish(d, d->n - 1, err);
		goto out;
	}
	size_t len = (size_t)st.st_size;
	buf = malloc(len + 1);
	if (!buf) {
		rc = mrl_err_set(err, MRL_ENOMEM, "%s: out of memory reading %zu bytes", path, len);
		goto out;
	}
	if (fread(buf, 1, len, f) != len) {
		task_diag_add(d, "", 0, 0, "read failed: %s", ferror(f) ? strerror(errno) : "file shrank while reading");
		rc = mrl_err_set(err, MRL_EIO, "%s: read failed", path);
		goto out;
	}
	buf[len] = '\0';
	rc = task_suite_parse(path, buf, len, out, d, err);
out:
	if (f)
		fclose(f);
	free(buf);
	if (!diags)
		task_diags_release(&local);
	return rc;
}
