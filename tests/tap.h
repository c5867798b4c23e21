/* tap.h — a tiny TAP producer for merilo's C tests (run under `prove`).
 *
 * In the spirit of git's t/unit-tests/test-lib.h: plan or done_testing(),
 * ok/not ok with a name, checks that print both sides and the location on
 * failure, SKIP with a reason. Header-only; every test is one .c file with main().
 *
 *   int main(void) {
 *       is_int(1 + 1, 2, "addition works");
 *       if (!fixture_present) { skip_all("fixtures absent: ../shared/fixtures"); }
 *       return done_testing();
 *   }
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

static int tap_n_run, tap_n_failed;

static inline void tap_vdiag(const char *fmt, va_list ap)
{
	char buf[4096];
	vsnprintf(buf, sizeof buf, fmt, ap);
	for (char *line = buf, *nl; line && *line; line = nl) {
		nl = strchr(line, '\n');
		if (nl)
			*nl++ = '\0';
		printf("# %s\n", line);
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
	tap_n_run++;
	if (!pass)
		tap_n_failed++;
	printf("%sok %d - %s\n", pass ? "" : "not ", tap_n_run, name);
	if (!pass)
		printf("#   failed at %s:%d\n", file, line);
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
	tap_n_run++;
	printf("ok %d - %s # SKIP %s\n", tap_n_run, name, reason);
	fflush(stdout);
}

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
	printf("1..%d\n", tap_n_run);
	if (tap_n_failed)
		diag("failed %d of %d checks", tap_n_failed, tap_n_run);
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

#endif
