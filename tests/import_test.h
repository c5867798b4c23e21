/* import_test.h — what the importer tests (tests/task_import*.c) share: a temporary
 * folder for the files they write, and those files. Header-only; include after
 * tests/tap.h. */
#ifndef MRL_IMPORT_TEST_H
#define MRL_IMPORT_TEST_H

#include "tasks/task.h"
#include "tests/cli.h"

/* The test's temporary folder, made by import_begin. */
static char dir[64];

/* The path of file name in the folder, written with text; 16 paths live at once. */
static inline const char *write_file(const char *name, const char *text)
{
	static char paths[16][256];
	static int next;
	char *p = paths[next++ % 16];
	snprintf(p, sizeof paths[0], "%s/%s", dir, name);
	if (cli_write_file(p, text))
		diag("could not write %s", p);
	return p;
}

/* Importing in[0..n) with format is refused with want_rc, no suite, and a message
 * holding want: two checks, "TITLE: refused" and "TITLE: the message". */
static inline void check_refused(const char *format, const struct task_import_input *in, size_t n,
				 const struct task_import_opts *opts, int want_rc, const char *title, const char *want)
{
	char *json = NULL, name[256];
	struct mrl_err err = {0};
	int rc = task_import(format, in, n, opts, &json, NULL, &err);
	snprintf(name, sizeof name, "%s: refused", title);
	ok(rc == want_rc && !json, name);
	snprintf(name, sizeof name, "%s: the message", title);
	like(err.msg, want, name);
	free(json);
}

/* Make the folder /tmp/merilo-NAME-XXXXXX, or skip every test where it cannot be made. */
static inline void import_begin(const char *name)
{
	if (!cli_tmpdir(dir, sizeof dir, name))
		skip_all("cannot make a temporary folder");
}

/* Remove the folder; the test's exit status. */
static inline int import_end(void)
{
	cli_rmtree(dir);
	return done_testing();
}

#endif
