/* mrl_buf.c — tests for common/buf (the growable string), common/sort
 * (mrl_cmp_double) and common/fileio's mrl_mkdir_p.
 *
 * (Prefix mrl_: the Makefile links tests with an unknown prefix against
 * libcommon only, which is all these need.)
 */
#include "common/buf.h"
#include "common/err.h"
#include "common/fileio.h"
#include "common/sort.h"
#include "tests/tap.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void test_empty_is_a_string(void)
{
	struct mrl_buf b = MRL_BUF_INIT;
	is_str(b.data, "", "an empty buffer's data is the empty string");
	is_int(b.len, 0, "an empty buffer has length 0");
	char *s = mrl_buf_detach(&b, NULL);
	ok(s && *s == '\0', "detaching an empty buffer gives a new \"\"");
	free(s);
	ok(b.data == mrl_buf_empty && b.len == 0, "detach leaves the buffer empty");
	mrl_buf_release(&b);
}

static void test_appends(void)
{
	struct mrl_buf b;
	mrl_buf_init(&b);
	mrl_buf_add(&b, "ab");
	mrl_buf_add(&b, NULL);
	mrl_buf_addch(&b, 'c');
	mrl_buf_addn(&b, "d\0e", 3);
	is_int(b.len, 6, "add, addch and addn count NUL bytes in len");
	ok(memcmp(b.data, "abcd\0e", 7) == 0, "the text and its closing NUL");
	mrl_buf_setlen(&b, 3);
	is_str(b.data, "abc", "setlen shortens and terminates");
	mrl_buf_setlen(&b, 99);
	is_int(b.len, 3, "setlen never lengthens");
	mrl_buf_reset(&b);
	is_str(b.data, "", "reset empties");
	mrl_buf_addf(&b, "%d-%s", 42, "x");
	is_str(b.data, "42-x", "addf formats");
	mrl_buf_add_cp(&b, 0x0416);
	mrl_buf_add_cp(&b, 0x1F600);
	mrl_buf_add_cp(&b, -1);
	is_str(b.data, "42-x\xD0\x96\xF0\x9F\x98\x80", "add_cp writes UTF-8 (and nothing for a negative cp)");
	mrl_buf_release(&b);
}

static void test_long_format_and_growth(void)
{
	struct mrl_buf b = MRL_BUF_INIT;
	char big[1000];
	memset(big, 'z', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	for (int i = 0; i < 100; i++)
		mrl_buf_addf(&b, "%s|", big);
	is_int(b.len, 100 * 1000, "addf longer than its stack buffer");
	ok(b.data[999] == '|' && b.data[b.len - 1] == '|' && b.data[b.len] == '\0', "long formats land whole");
	size_t len = 0;
	char *s = mrl_buf_detach(&b, &len);
	is_int(len, 100 * 1000, "detach reports the length");
	is_int(strlen(s), len, "the detached text is NUL-terminated");
	free(s);
}

static void test_oom_sticks(void)
{
	struct mrl_buf b = MRL_BUF_INIT;
	mrl_buf_add(&b, "x");
	is_int(mrl_buf_grow(&b, SIZE_MAX - 4), MRL_ENOMEM, "an impossible size is refused");
	ok(b.oom, "and sets oom");
	is_int(mrl_buf_add(&b, "y"), MRL_ENOMEM, "later appends report it");
	is_str(b.data, "x", "and change nothing");
	ok(mrl_buf_detach(&b, NULL) == NULL, "detach after oom is NULL");
	ok(!b.oom && b.len == 0 && b.data == mrl_buf_empty, "and releases the buffer");
}

static void test_cmp_double(void)
{
	double v[] = { 3, -1, 2.5, -0.0, 1e300, -INFINITY };
	qsort(v, sizeof v / sizeof *v, sizeof *v, mrl_cmp_double);
	ok(v[0] == -INFINITY && v[1] == -1 && v[2] == 0 && v[3] == 2.5 && v[4] == 3 && v[5] == 1e300,
	   "mrl_cmp_double sorts ascending");
	double a = NAN, b = 1;
	is_int(mrl_cmp_double(&a, &b), 0, "NaN compares equal to a number");
	is_int(mrl_cmp_double(&b, &a), 0, "and the other way round");
}

static void test_mkdir_p(void)
{
	char root[] = "/tmp/mrl_buf_XXXXXX";
	if (!mkdtemp(root)) {
		skip("mkdtemp failed", "mkdir_p");
		return;
	}
	char path[512], file[256];
	struct mrl_err err = { 0 };
	snprintf(path, sizeof path, "%s/a/b/c", root);
	is_int(mrl_mkdir_p(path, &err), 0, "mkdir_p makes the missing parents");
	struct stat st;
	ok(stat(path, &st) == 0 && S_ISDIR(st.st_mode), "the folder is there");
	is_int(mrl_mkdir_p(path, &err), 0, "an existing folder is fine");
	snprintf(file, sizeof file, "%s/a/f", root);
	FILE *f = fopen(file, "w");
	if (f)
		fclose(f);
	is_int(mrl_mkdir_p(file, &err), MRL_EWRITE, "a file in the way is an error");
	like(err.msg, "not a folder", "which says so");
	snprintf(path, sizeof path, "%s/x", file);
	is_int(mrl_mkdir_p(path, &err), MRL_EWRITE, "a file as a parent is an error");
	like(err.msg, "cannot create folder", "which names the step");
	is_int(mrl_mkdir_p("", &err), MRL_EWRITE, "an empty name is an error");
	rmdir(strcat(strcpy(path, root), "/a/b/c"));
	rmdir(strcat(strcpy(path, root), "/a/b"));
	unlink(file);
	rmdir(strcat(strcpy(path, root), "/a"));
	rmdir(root);
}

int main(void)
{
	test_empty_is_a_string();
	test_appends();
	test_long_format_and_growth();
	test_oom_sticks();
	test_cmp_double();
	test_mkdir_p();
	return done_testing();
}
