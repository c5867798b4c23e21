/* met_counters.c — tests of the null-or-value reading, the PAPI counters (with
 * the library hidden and, where it loads and has events, present), and the
 * process-wide figures that need no PAPI: getrusage usage and peak RSS.
 *
 * PAPI absent is simulated with MERILO_PAPI_LIB=/nonexistent (and with
 * opts.lib_path): the run must go on and every counter must be null with the
 * reason. PAPI present checks SKIP, with the reason, where libpapi cannot be
 * loaded or offers no event (this development VM: no PMU, the perf_event
 * component is disabled); where events exist they must count a busy loop.
 */
#include "metrics/met.h"
#include "tests/tap.h"

#include <pthread.h>
#include <time.h>
#include <sys/mman.h>
#include <unistd.h>

static uint64_t thread_cpu_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* `ms` of CPU time (not wall time: a loaded machine must not make the loop
 * shorter) on the calling thread; the result defeats the optimiser. */
static double busy_ms(double ms)
{
	uint64_t end = thread_cpu_ns() + (uint64_t)(ms * 1e6);
	volatile double x = 1.0;
	while (thread_cpu_ns() < end)
		for (int i = 0; i < 1000; i++)
			x = x * 1.0000001 + 1e-9;
	return x;
}

static const struct met_counter_value *find(const struct met_counter_values *v, const char *name)
{
	for (size_t i = 0; i < v->n; i++)
		if (strcmp(v->v[i].name, name) == 0)
			return &v->v[i];
	return NULL;
}

static void diag_values(const char *what, const struct met_counter_values *v)
{
	diag("%s: %s", what, v->status);
	for (size_t i = 0; i < v->n; i++) {
		if (v->v[i].r.valid)
			diag("  %-24s %.0f %s", v->v[i].name, v->v[i].r.value, v->v[i].r.unit);
		else
			diag("  %-24s null (%s)", v->v[i].name, v->v[i].r.reason);
	}
}

static void test_reading(void)
{
	struct met_reading a, b;
	met_reading_set(&a, 2.5, "J");
	ok(a.valid && a.value == 2.5 && strcmp(a.unit, "J") == 0 && !a.reason[0],
	   "reading: set gives a valid value with its unit and no reason");
	met_reading_null(&b, "J", "no source: %s", "test");
	ok(!b.valid && isnan(b.value), "reading: null is not valid and its value is NaN, never 0");
	is_str(b.reason, "no source: test", "reading: null keeps its formatted reason");
	met_reading_set(&b, 1.5, "J");
	met_reading_add(&a, &b);
	is_near(a.value, 4.0, 0, "reading: valid + valid adds");
	met_reading_null(&b, "J", "thread 2 had no counters");
	met_reading_add(&a, &b);
	ok(!a.valid, "reading: valid + null is null");
	is_str(a.reason, "thread 2 had no counters", "reading: the sum takes the null's reason");
	met_reading_set(&b, 3, "J");
	met_reading_add(&a, &b);
	ok(!a.valid && strcmp(a.reason, "thread 2 had no counters") == 0,
	   "reading: null + valid stays null with the first reason");
	met_reading_set(&a, 1, "J");
	met_reading_set(&b, 1, "W");
	met_reading_add(&a, &b);
	ok(!a.valid, "reading: adding different units gives null");
	like(a.reason, "cannot add W to J", "reading: ... and says so");

	char long_reason[MET_REASON_MAX + 100];
	memset(long_reason, 'x', sizeof long_reason - 1);
	long_reason[sizeof long_reason - 1] = '\0';
	met_reading_null(&a, "J", "%s", long_reason);
	is_int(strlen(a.reason), MET_REASON_MAX - 1, "reading: an over-long reason is truncated, not overflowed");
}

static void check_all_null(const struct met_counter_values *v, const char *needle, const char *what)
{
	int all_null = 1, all_reason = 1;
	for (size_t i = 0; i < v->n; i++) {
		all_null &= !v->v[i].r.valid && isnan(v->v[i].r.value);
		all_reason &= strstr(v->v[i].r.reason, needle) != NULL;
	}
	char name[200];
	snprintf(name, sizeof name, "%s: all %zu counters are null (NaN, not 0)", what, v->n);
	ok(v->n == 8 && all_null, name);
	snprintf(name, sizeof name, "%s: every null names the reason '%s'", what, needle);
	ok(all_reason, name);
	if (!all_reason && v->n)
		diag("first reason: %s", v->v[0].r.reason);
}

static void test_absent(void)
{
	struct mrl_err err = {0};
	struct met_counters *c = NULL;
	struct met_counter_values v;

	setenv("MERILO_PAPI_LIB", "/nonexistent", 1);
	int rc = met_counters_open(&c, NULL, &err);
	is_int(rc, 0, "absent (MERILO_PAPI_LIB=/nonexistent): open succeeds");
	if (!c) {
		unsetenv("MERILO_PAPI_LIB");
		return;
	}
	is_int(met_counters_n_events(c), 8, "absent: the 8 default events are listed");
	is_int(met_counters_n_available(c), 0, "absent: none is available");
	is_int(met_counters_start(c, &err), 0, "absent: start works");
	busy_ms(2);
	is_int(met_counters_stop(c, &err), 0, "absent: stop works");
	met_counters_read(c, &v);
	check_all_null(&v, "libpapi not found: /nonexistent", "absent");
	like(v.status, "libpapi not found", "absent: the status says why");
	ok(strcmp(v.v[0].name, "PAPI_TOT_CYC") == 0 && strcmp(v.v[4].name, "perf::TASK-CLOCK") == 0,
	   "absent: events keep their names and order");
	is_str(v.v[4].r.unit, "ns", "absent: task-clock's unit is ns even when null");
	met_counters_close(c);
	unsetenv("MERILO_PAPI_LIB");

	struct met_counter_opts opts;
	met_counter_opts_init(&opts);
	opts.lib_path = "/nonexistent/libpapi.so.7";
	opts.inherit = true;
	rc = met_counters_open(&c, &opts, &err);
	is_int(rc, 0, "absent (opts.lib_path bogus, inherit on): open succeeds");
	if (c) {
		met_counters_start(c, &err);
		met_counters_stop(c, &err);
		met_counters_read(c, &v);
		check_all_null(&v, "/nonexistent/libpapi.so.7", "absent via lib_path");
		met_counters_close(c);
	}

	/* a file that exists but is not a shared object: dlopen's reason */
	opts.lib_path = "tests/met_counters.c";
	opts.inherit = false;
	rc = met_counters_open(&c, &opts, &err);
	is_int(rc, 0, "not a library: open succeeds (the counters are null, not an error)");
	if (c) {
		met_counters_read(c, &v);
		like(v.v[0].r.reason, "libpapi not found: ", "not a library: null with dlopen's reason");
		diag("not a library: %s", v.v[0].r.reason);
		met_counters_close(c);
	} else {
		ok(0, "not a library: open succeeds");
	}
	met_counters_close(NULL);
	ok(1, "close(NULL) is a no-op");
}

static void test_misuse(void)
{
	struct mrl_err err = {0};
	struct met_counters *c = NULL;
	struct met_counter_opts opts;

	met_counter_opts_init(&opts);
	opts.lib_path = "/nonexistent";
	met_counters_open(&c, &opts, &err);
	if (!c) {
		ok(0, "misuse: open");
		return;
	}
	is_int(met_counters_stop(c, &err), MRL_ERUNTIME, "misuse: stop without start is MRL_ERUNTIME");
	like(err.msg, "not running", "misuse: ... and says so");
	met_counters_start(c, &err);
	is_int(met_counters_start(c, &err), MRL_ERUNTIME, "misuse: start of a running set is MRL_ERUNTIME");
	met_counters_stop(c, &err);
	met_counters_close(c);

	const char *many[MET_COUNTERS_MAX + 2];
	for (int i = 0; i < MET_COUNTERS_MAX + 1; i++)
		many[i] = "perf::TASK-CLOCK";
	many[MET_COUNTERS_MAX + 1] = NULL;
	opts.events = many;
	is_int(met_counters_open(&c, &opts, &err), MRL_EINPUT, "misuse: more than MET_COUNTERS_MAX events is MRL_EINPUT");
	ok(c == NULL, "misuse: ... and no handle is returned");
	char longname[MET_COUNTER_NAME_MAX + 8];
	memset(longname, 'A', sizeof longname - 1);
	longname[sizeof longname - 1] = '\0';
	const char *bad[] = {"PAPI_TOT_INS", longname, NULL};
	opts.events = bad;
	is_int(met_counters_open(&c, &opts, &err), MRL_EINPUT, "misuse: an over-long event name is MRL_EINPUT");
	like(err.msg, "event 1", "misuse: ... naming the event's index");
}

static void test_sum(void)
{
	struct met_counter_values a = {0}, b = {0};
	a.n = 2;
	snprintf(a.v[0].name, sizeof a.v[0].name, "perf::TASK-CLOCK");
	met_reading_set(&a.v[0].r, 100, "ns");
	snprintf(a.v[1].name, sizeof a.v[1].name, "PAPI_TOT_CYC");
	met_reading_null(&a.v[1].r, "cycles", "PAPI: PAPI_TOT_CYC: Event does not exist");
	b.n = 3;
	snprintf(b.v[0].name, sizeof b.v[0].name, "PAPI_TOT_CYC");
	met_reading_set(&b.v[0].r, 5, "cycles");
	snprintf(b.v[1].name, sizeof b.v[1].name, "perf::TASK-CLOCK");
	met_reading_set(&b.v[1].r, 50, "ns");
	snprintf(b.v[2].name, sizeof b.v[2].name, "perf::PAGE-FAULTS");
	met_reading_set(&b.v[2].r, 7, "count");
	met_counter_values_add(&a, &b);
	is_near(find(&a, "perf::TASK-CLOCK")->r.value, 150, 0, "sum: same event of two threads adds by name");
	ok(!find(&a, "PAPI_TOT_CYC")->r.valid, "sum: an event null on one thread is null in the sum");
	ok(a.n == 3 && find(&a, "perf::PAGE-FAULTS") && find(&a, "perf::PAGE-FAULTS")->r.value == 7,
	   "sum: an event only in src is appended");
}

struct thread_job {
	bool inherit_child; /* the thread only burns CPU */
	double ms;
	struct met_counter_values values;
	int rc;
	struct met_counters *foreign; /* a set opened by another thread */
};

static void *thread_main(void *arg)
{
	struct thread_job *job = arg;
	struct mrl_err err = {0};
	if (job->foreign) {
		job->rc = met_counters_start(job->foreign, &err);
		return NULL;
	}
	if (job->inherit_child) {
		busy_ms(job->ms);
		return NULL;
	}
	struct met_counters *c = NULL;
	job->rc = met_counters_open(&c, NULL, &err);
	if (job->rc)
		return NULL;
	met_counters_start(c, &err);
	busy_ms(job->ms);
	met_counters_stop(c, &err);
	met_counters_read(c, &job->values);
	met_counters_close(c);
	return NULL;
}

static void test_present(void)
{
	struct mrl_err err = {0};
	struct met_counters *c = NULL;
	struct met_counter_values v;

	unsetenv("MERILO_PAPI_LIB");
	int rc = met_counters_open(&c, NULL, &err);
	is_int(rc, 0, "present: open with the default library search succeeds");
	if (!c)
		return;
	met_counters_read(c, &v);
	ok(!v.v[0].r.valid, "present: before any start, counters are null");
	diag_values("PAPI on this machine", &v);
	if (strstr(v.status, "libpapi not found")) {
		skip(v.status, "present: busy loop is counted");
		met_counters_close(c);
		return;
	}
	if (met_counters_n_available(c) == 0) {
		char why[MET_REASON_MAX + 160];
		snprintf(why, sizeof why, "libpapi loaded but no event available here (%s: %s)",
			 v.v[4].name, v.v[4].r.reason);
		skip(why, "present: busy loop is counted");
		met_counters_close(c);
		return;
	}
	met_counters_start(c, &err);
	busy_ms(30);
	met_counters_stop(c, &err);
	met_counters_read(c, &v);
	diag_values("after a 30 ms busy loop", &v);
	const char *busy_events[] = {"perf::TASK-CLOCK", "PAPI_TOT_CYC", "PAPI_TOT_INS", NULL};
	int checked = 0;
	for (int i = 0; busy_events[i]; i++) {
		const struct met_counter_value *e = find(&v, busy_events[i]);
		if (!e || !e->r.valid)
			continue;
		char name[120];
		snprintf(name, sizeof name, "present: %s counts a 30 ms busy loop (> 0)", busy_events[i]);
		ok(e->r.value > 0, name);
		checked++;
	}
	if (!checked)
		skip("no task-clock, cycles or instructions event here", "present: busy loop counted");
	const struct met_counter_value *tc = find(&v, "perf::TASK-CLOCK");
	if (tc && tc->r.valid)
		ok(tc->r.value >= 20e6 && tc->r.value < 5e9,
		   "present: task-clock of a 30 ms busy loop is 20 ms .. 5 s");
	double first = tc && tc->r.valid ? tc->r.value : NAN;
	met_counters_start(c, &err);
	busy_ms(10);
	met_counters_stop(c, &err);
	met_counters_read(c, &v);
	tc = find(&v, "perf::TASK-CLOCK");
	if (tc && tc->r.valid)
		ok(tc->r.value > first, "present: counts accumulate over start/stop pairs");
	met_counters_reset(c);
	met_counters_read(c, &v);
	ok(!v.v[4].r.valid, "present: after reset, counters read as not started");
	met_counters_close(c);

	/* inherit: a thread created after open is counted with the opener */
	struct met_counter_opts opts;
	met_counter_opts_init(&opts);
	opts.inherit = true;
	if (met_counters_open(&c, &opts, &err) == 0 && c) {
		struct thread_job job = {.inherit_child = true, .ms = 60};
		pthread_t th;
		met_counters_start(c, &err);
		pthread_create(&th, NULL, thread_main, &job);
		pthread_join(th, NULL);
		met_counters_stop(c, &err);
		met_counters_read(c, &v);
		diag_values("inherit on, child thread busy 60 ms", &v);
		tc = find(&v, "perf::TASK-CLOCK");
		if (tc && tc->r.valid)
			ok(tc->r.value >= 40e6, "inherit: the child thread's 60 ms are counted (>= 40 ms)");
		else
			skip(tc ? tc->r.reason : "no task-clock", "inherit: child thread counted");
		met_counters_close(c);
	}
}

static void test_threads(void)
{
	/* two threads open their own sets at once (PAPI init is serialised) and
	 * their values are summed; on a machine without events the sum is null */
	struct thread_job jobs[2] = {{.ms = 20}, {.ms = 20}};
	pthread_t th[2];
	for (int i = 0; i < 2; i++)
		pthread_create(&th[i], NULL, thread_main, &jobs[i]);
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	ok(jobs[0].rc == 0 && jobs[1].rc == 0, "threads: two threads open, count and close their own sets");
	struct met_counter_values sum = jobs[0].values;
	met_counter_values_add(&sum, &jobs[1].values);
	const struct met_counter_value *tc = find(&sum, "perf::TASK-CLOCK");
	if (tc && tc->r.valid)
		ok(tc->r.value >= 30e6, "threads: summed task-clock covers both threads' 40 ms (>= 30 ms)");
	else
		ok(tc && !tc->r.valid && tc->r.reason[0], "threads: the summed task-clock is null with a reason");

	struct mrl_err err = {0};
	struct met_counters *c = NULL;
	struct met_counter_opts opts;
	met_counter_opts_init(&opts);
	opts.lib_path = "/nonexistent";
	met_counters_open(&c, &opts, &err);
	struct thread_job foreign = {.foreign = c};
	pthread_t t;
	pthread_create(&t, NULL, thread_main, &foreign);
	pthread_join(t, NULL);
	is_int(foreign.rc, MRL_ERUNTIME, "threads: a set used on another thread is MRL_ERUNTIME");
	met_counters_close(c);
}

static void test_usage_and_rss(void)
{
	struct met_usage u0, u1, d;
	met_usage_read(&u0);
	busy_ms(60);
	met_usage_read(&u1);
	met_usage_diff(&u1, &u0, &d);
	ok(d.user_s.valid && d.user_s.value + d.sys_s.value >= 0.05 && d.user_s.value < 5,
	   "usage: a busy loop of 60 ms CPU adds 50 ms .. 5 s of CPU time");
	diag("usage over 60 ms busy: user %.3f s, sys %.3f s, minflt %.0f, vcsw %.0f, ivcsw %.0f",
	     d.user_s.value, d.sys_s.value, d.minflt.value, d.vcsw.value, d.ivcsw.value);
	is_str(d.minflt.unit, "count", "usage: faults are counts");
	struct met_usage bad = u1;
	met_reading_null(&bad.vcsw, "count", "test");
	met_usage_diff(&bad, &u0, &d);
	ok(!d.vcsw.valid && strcmp(d.vcsw.reason, "test") == 0, "usage: diff of a null stays null");

	struct met_rss r0, r1, r2;
	struct mrl_err err = {0};
	met_rss_read(&r0);
	ok(r0.vmhwm.valid && r0.ru_maxrss.valid && r0.current.valid, "rss: VmHWM, ru_maxrss, VmRSS read");
	ok(r0.vmhwm.value >= r0.current.value && r0.vmhwm.value > 100e3,
	   "rss: peak >= current and > 100 kB");
	size_t big = 64u << 20;
	/* mmap, not malloc: munmap really returns the pages (ASan's free does not) */
	char *p = mmap(NULL, big, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		ok(0, "rss: 64 MiB allocation");
		return;
	}
	for (size_t i = 0; i < big; i += 4096)
		p[i] = (char)i;
	met_rss_read(&r1);
	ok(r1.current.value >= r0.current.value + 60.0 * (1 << 20),
	   "rss: touching 64 MiB raises VmRSS by about 64 MiB");
	ok(r1.vmhwm.value >= r1.current.value, "rss: ... and VmHWM follows it");
	ok(r1.ru_maxrss.value >= r1.current.value - 1e6, "rss: ru_maxrss is at least the current RSS");
	diag("rss before %.1f MiB peak, after 64 MiB %.1f MiB peak, ru_maxrss %.1f MiB",
	     r0.vmhwm.value / 1048576, r1.vmhwm.value / 1048576, r1.ru_maxrss.value / 1048576);
	p[big - 1] = 1;
	munmap(p, big);
	int rc = met_rss_reset_peak(&err);
	if (rc == 0) {
		met_rss_read(&r2);
		ok(r2.vmhwm.value < r1.vmhwm.value - 32.0 * (1 << 20),
		   "rss: after free and reset, VmHWM drops below the 64 MiB peak");
		/* Linux computes ru_maxrss of a live process as max(exited threads'
		 * peak, the mm's high-water mark), so clear_refs lowers it too */
		diag("after reset: VmHWM %.1f MiB, ru_maxrss %.1f MiB", r2.vmhwm.value / 1048576,
		     r2.ru_maxrss.value / 1048576);
	} else {
		skip(err.msg, "rss: reset of VmHWM");
	}

	char path[] = "/tmp/merilo-status-XXXXXX";
	int fd = mkstemp(path);
	if (fd >= 0) {
		const char text[] = "Name:\tx\nVmRSS:\t  1234 kB\nVmHWM:\tlots kB\n";
		ok(write(fd, text, sizeof text - 1) == (ssize_t)(sizeof text - 1), "rss: fake status written");
		close(fd);
		met_rss_read_from(&r2, path);
		ok(r2.current.valid && r2.current.value == 1234.0 * 1024, "rss: VmRSS kB parsed as bytes");
		ok(!r2.vmhwm.valid, "rss: a garbled VmHWM is null");
		like(r2.vmhwm.reason, "VmHWM: cannot parse", "rss: ... with the reason");
		unlink(path);
	}
	met_rss_read_from(&r2, "/nonexistent/status");
	ok(!r2.vmhwm.valid && !r2.current.valid && r2.ru_maxrss.valid,
	   "rss: a missing status file nulls VmHWM/VmRSS, ru_maxrss still reads");
	like(r2.vmhwm.reason, "/nonexistent/status: No such file", "rss: ... naming the file and the error");
}

int main(void)
{
	test_reading();
	test_absent();
	test_misuse();
	test_sum();
	test_present();
	test_threads();
	test_usage_and_rss();
	return done_testing();
}
