/* tap.h — a tiny TAP producer for merilo's C tests (run under `prove`).
 *
 * In the spirit of git's t/unit-tests/test-lib.h: plan or done_testing(),
 * ok/not ok with a name, checks that print both sides and the location on
 * failure, SKIP with a reason. Header-only; every test is one .c file with main().
 *
 * One function per behaviour: TEST(call, "description", ...) runs call (usually a
 * static void t_something(void) that makes ordinary checks) as one test and prints
 * one "ok N - description" for it, "not ok" when any check inside failed (or when
 * none ran). The checks inside keep their names and diagnostics as an indented
 * TAP14 subtest, which prove shows with -v and otherwise ignores:
 *
 *   # Subtest: gold index out of range is rejected
 *       ok 1 - gold -1: error
 *       ok 2 - gold 4: error
 *       1..2
 *   ok 3 - gold index out of range is rejected
 *
 *   static void t_gold_range(void) {
 *       is_int(check_gold(-1), -1, "gold -1: error");
 *       if (!fixture_present) { test_skip("fixtures absent"); return; }
 *       ...
 *   }
 *   int main(void) {
 *       is_int(1 + 1, 2, "addition works");        // a check on its own: one test
 *       if (!TEST(t_gold_range(), "gold index out of range is rejected"))
 *           diag("later tests assume gold checking");
 *       TEST(t_lang(lang), "language %s", lang);  // the description is printf-formatted
 *       return done_testing();
 *   }
 *
 * TEST returns 1 when the behaviour passed (or was skipped), 0 otherwise; its
 * description is a printf format (a literal % is %%). TESTs do not nest; skip_all()
 * is for main() before any check. done_testing() prints the plan (a TEST and a check
 * outside any TEST count one each) and, on failure, how many tests and checks failed.
 */
#ifndef MRL_TAP_H
#define MRL_TAP_H

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* TAP_ASAN: 1 in an AddressSanitizer build, under gcc (__SANITIZE_ADDRESS__) or
 * clang (which defines no such macro and answers __has_feature instead). */
#ifndef __has_feature
#define __has_feature(x) 0
#endif
#if defined(__SANITIZE_ADDRESS__) || __has_feature(address_sanitizer)
#define TAP_ASAN 1
#else
#define TAP_ASAN 0
#endif

/* Tests at the top level (a TEST or a check outside any), and failed ones. */
static int tap_n_run, tap_n_failed;
/* Every check, inside TESTs or not, and the failed ones (for the closing diagnostic). */
static int tap_n_checks, tap_n_checks_failed;
/* Inside a TEST: its checks, failed checks, skip reason and description. */
static int tap_in_test, tap_sub_run, tap_sub_failed;
static char tap_sub_skip[256], tap_sub_name[512];

/* The indent of lines inside a TEST's subtest. */
static inline const char *tap_indent(void)
{
	return tap_in_test ? "    " : "";
}

static inline void tap_vdiag(const char *fmt, va_list ap)
{
	char buf[4096];
	vsnprintf(buf, sizeof buf, fmt, ap);
	for (char *line = buf, *nl; line && *line; line = nl) {
		nl = strchr(line, '\n');
		if (nl)
			*nl++ = '\0';
		printf("%s# %s\n", tap_indent(), line);
	}
}

/* Print a diagnostic line ("# ...") that prove shows with -v. */
static inline __attribute__((format(printf, 1, 2))) void diag(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	tap_vdiag(fmt, ap);
	va_end(ap);
	fflush(stdout);
}

static inline int tap_ok(int pass, const char *file, int line, const char *name)
{
	int *run = tap_in_test ? &tap_sub_run : &tap_n_run;
	int *failed = tap_in_test ? &tap_sub_failed : &tap_n_failed;
	++*run;
	tap_n_checks++;
	if (!pass) {
		++*failed;
		tap_n_checks_failed++;
	}
	printf("%s%sok %d - %s\n", tap_indent(), pass ? "" : "not ", *run, name);
	if (!pass)
		printf("%s#   failed at %s:%d\n", tap_indent(), file, line);
	fflush(stdout);
	return pass;
}

#define ok(cond, name) tap_ok(!!(cond), __FILE__, __LINE__, (name))

#define is_int(got, want, name) do { \
	long long tap_g_ = (long long)(got), tap_w_ = (long long)(want); \
	if (!tap_ok(tap_g_ == tap_w_, __FILE__, __LINE__, (name))) \
		diag("  got: %lld\n  want: %lld", tap_g_, tap_w_); \
} while (0)

#define is_str(got, want, name) do { \
	const char *tap_g_ = (got), *tap_w_ = (want); \
	int tap_p_ = tap_g_ && tap_w_ ? strcmp(tap_g_, tap_w_) == 0 : tap_g_ == tap_w_; \
	if (!tap_ok(tap_p_, __FILE__, __LINE__, (name))) \
		diag("  got: '%s'\n  want: '%s'", tap_g_ ? tap_g_ : "(null)", tap_w_ ? tap_w_ : "(null)"); \
} while (0)

/* |got - want| <= tol */
#define is_near(got, want, tol, name) do { \
	double tap_g_ = (double)(got), tap_w_ = (double)(want), tap_t_ = (double)(tol); \
	if (!tap_ok(fabs(tap_g_ - tap_w_) <= tap_t_, __FILE__, __LINE__, (name))) \
		diag("  got: %.9g\n  want: %.9g (tolerance %.3g, diff %.3g)", tap_g_, tap_w_, tap_t_, fabs(tap_g_ - tap_w_)); \
} while (0)

/* Substring check: haystack contains needle. */
#define like(haystack, needle, name) do { \
	const char *tap_h_ = (haystack), *tap_n_ = (needle); \
	if (!tap_ok(tap_h_ && strstr(tap_h_, tap_n_), __FILE__, __LINE__, (name))) \
		diag("  got: '%s'\n  expected to contain: '%s'", tap_h_ ? tap_h_ : "(null)", tap_n_); \
} while (0)

/* Skip one check, with a reason. */
static inline void skip(const char *reason, const char *name)
{
	int *run = tap_in_test ? &tap_sub_run : &tap_n_run;
	++*run;
	tap_n_checks++;
	printf("%sok %d - %s # SKIP %s\n", tap_indent(), *run, name, reason);
	fflush(stdout);
}

/* Inside a TEST: mark the whole behaviour skipped, with a reason (its checks made
 * so far still count; a failed one still fails it). Outside a TEST: skip(reason, reason). */
static inline void test_skip(const char *reason)
{
	if (!tap_in_test) {
		skip(reason, reason);
		return;
	}
	snprintf(tap_sub_skip, sizeof tap_sub_skip, "%s", reason);
}

/* TEST's first half: open the subtest (description printf-formatted). Always 1. */
static inline __attribute__((format(printf, 1, 2))) int tap_test_begin(const char *fmt, ...)
{
	if (tap_in_test) {
		printf("Bail out! TEST inside TEST '%s'\n", tap_sub_name);
		fflush(stdout);
		exit(255);
	}
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(tap_sub_name, sizeof tap_sub_name, fmt, ap);
	va_end(ap);
	printf("# Subtest: %s\n", tap_sub_name);
	fflush(stdout);
	tap_in_test = 1;
	tap_sub_run = tap_sub_failed = 0;
	tap_sub_skip[0] = '\0';
	return 1;
}

/* TEST's second half: close the subtest and print its one line; 1 when it passed. */
static inline int tap_test_end(const char *file, int line)
{
	int run = tap_sub_run, failed = tap_sub_failed, skipped = tap_sub_skip[0] != '\0';
	printf("    1..%d\n", run);
	tap_in_test = 0;
	int pass = !failed && (run > 0 || skipped);
	tap_n_run++;
	if (!pass)
		tap_n_failed++;
	printf("%sok %d - %s", pass ? "" : "not ", tap_n_run, tap_sub_name);
	if (pass && skipped)
		printf(" # SKIP %s", tap_sub_skip);
	printf("\n");
	if (!pass)
		printf("#   %s at %s:%d\n", run ? "failed" : "no checks ran", file, line);
	fflush(stdout);
	return pass;
}

/* Run call (an expression, usually a void function call) as one test named by the
 * printf-formatted description; 1 when it passed. See the top of this file. */
#define TEST(call, ...) (tap_test_begin(__VA_ARGS__) ? ((void)(call), tap_test_end(__FILE__, __LINE__)) : 0)

/* Skip the whole test file (only before any check ran). Exits 0. */
static inline void skip_all(const char *reason)
{
	printf("1..0 # SKIP %s\n", reason);
	fflush(stdout);
	exit(0);
}

/* Print the plan at the end; the return value is main()'s exit status. */
static inline int done_testing(void)
{
	if (tap_in_test) {
		printf("Bail out! done_testing() inside TEST '%s'\n", tap_sub_name);
		fflush(stdout);
		exit(255);
	}
	printf("1..%d\n", tap_n_run);
	if (tap_n_failed)
		diag("failed %d of %d tests (%d of %d checks)", tap_n_failed, tap_n_run, tap_n_checks_failed,
		     tap_n_checks);
	return tap_n_failed ? 1 : 0;
}

/* The shared fixtures folder (../shared/fixtures relative to the repo root, where tests run),
 * or NULL where it is absent. MERILO_FIXTURES overrides. */
static inline const char *fixtures_dir(void)
{
	const char *env = getenv("MERILO_FIXTURES");
	const char *dir = env && *env ? env : "../shared/fixtures";
	struct stat st;
	return stat(dir, &st) == 0 && S_ISDIR(st.st_mode) ? dir : NULL;
}

/* The folder of tests/smollm2-fixtures.sh's files into dir: $MRL_SMOLLM2_DIR, else smollm2/
 * next to $MERILO (the build folder). 0 where neither is set. */
static inline int smollm2_dir(char *dir, size_t size)
{
	const char *d = getenv("MRL_SMOLLM2_DIR"), *merilo = getenv("MERILO");
	if (d) {
		snprintf(dir, size, "%s", d);
	} else if (merilo) {
		snprintf(dir, size, "%s", merilo);
		char *slash = strrchr(dir, '/');
		snprintf(slash ? slash + 1 : dir, size - (size_t)(slash ? slash + 1 - dir : 0), "smollm2");
	} else {
		return 0;
	}
	return 1;
}

#endif
