/* met_energy.c — tests of the energy meter: the powercap RAPL reader on fake
 * sysfs trees (tests/data/powercap: normal, AMD names, wraparound, missing
 * files, a permission-denied energy_uj), the perf power PMU description
 * parser, idle subtraction, and NVML absent (always) and present (only where
 * a GPU exists; SKIP otherwise, with the reason). The last check lists what
 * this machine really offers, as # lines under prove -v.
 */
#include "metrics/met.h"
#include "tests/tap.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define DATA "tests/data/powercap"
#define PKG_MAX 262143328850ULL

static void sleep_s(double s)
{
	struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
	while (nanosleep(&ts, &ts) != 0)
		;
}

static int copy_tree(const char *src, const char *dst)
{
	DIR *d = opendir(src);
	if (!d)
		return -1;
	mkdir(dst, 0755);
	int rc = 0;
	for (struct dirent *e; (e = readdir(d));) {
		if (e->d_name[0] == '.')
			continue;
		char s[1024], t[1024];
		snprintf(s, sizeof s, "%s/%s", src, e->d_name);
		snprintf(t, sizeof t, "%s/%s", dst, e->d_name);
		struct stat st;
		if (stat(s, &st) != 0) {
			rc = -1;
		} else if (S_ISDIR(st.st_mode)) {
			rc |= copy_tree(s, t);
		} else {
			FILE *in = fopen(s, "rb"), *out = fopen(t, "wb");
			char buf[256];
			size_t n;
			if (!in || !out)
				rc = -1;
			while (in && out && (n = fread(buf, 1, sizeof buf, in)) > 0)
				fwrite(buf, 1, n, out);
			if (in)
				fclose(in);
			if (out)
				fclose(out);
		}
	}
	closedir(d);
	return rc;
}

static void write_uj(const char *root, const char *zone, unsigned long long uj)
{
	char path[1024];
	snprintf(path, sizeof path, "%s/%s/energy_uj", root, zone);
	FILE *f = fopen(path, "w");
	if (f) {
		fprintf(f, "%llu\n", uj);
		fclose(f);
	}
}

/* A fresh copy of tests/data/powercap/<which> under /tmp; path into out. */
static int fake_tree(const char *which, char *out, size_t size)
{
	char tmpl[] = "/tmp/merilo-powercap-XXXXXX";
	if (!mkdtemp(tmpl))
		return -1;
	chmod(tmpl, 0755);
	char src[256];
	snprintf(src, sizeof src, DATA "/%s", which);
	snprintf(out, size, "%s/powercap", tmpl);
	return copy_tree(src, out);
}

static void rm_tree(const char *path)
{
	char cmd[1200];
	/* only our own mkdtemp folders */
	if (strncmp(path, "/tmp/merilo-powercap-", 21) != 0)
		return;
	snprintf(cmd, sizeof cmd, "rm -rf '%.*s'", (int)(strchr(path + 21, '/') - path), path);
	if (system(cmd) != 0)
		diag("could not remove %s", path);
}

static int find_source(const struct met_energy_meter *m, const char *name)
{
	for (size_t i = 0; i < met_energy_n_sources(m); i++)
		if (strstr(met_energy_source_at(m, i)->name, name))
			return (int)i;
	return -1;
}

static const struct met_energy_source *find_unavail(const struct met_energy_meter *m, const char *name)
{
	for (size_t i = 0; i < met_energy_n_unavailable(m); i++)
		if (strstr(met_energy_unavailable_at(m, i)->name, name))
			return met_energy_unavailable_at(m, i);
	return NULL;
}

static struct met_energy_meter *open_method(unsigned method, const char *powercap,
					    const char *perf, const char *nvml)
{
	struct met_energy_opts o;
	struct met_energy_meter *m = NULL;
	struct mrl_err err = {0};
	met_energy_opts_init(&o);
	o.methods = method;
	o.powercap_root = powercap;
	o.perf_power_root = perf;
	o.nvml_lib = nvml;
	if (met_energy_open(&m, &o, &err) != 0)
		diag("open failed: %s", err.msg);
	return m;
}

static void list_meter(const char *what, const struct met_energy_meter *m)
{
	diag("%s: %zu source(s), %zu unavailable", what, met_energy_n_sources(m),
	     met_energy_n_unavailable(m));
	for (size_t i = 0; i < met_energy_n_sources(m); i++) {
		const struct met_energy_source *s = met_energy_source_at(m, i);
		diag("  source: %s [%s, %s] %s", s->name, s->scope, s->method, s->where);
	}
	for (size_t i = 0; i < met_energy_n_unavailable(m); i++) {
		const struct met_energy_source *s = met_energy_unavailable_at(m, i);
		diag("  unavailable: %s [%s] %s", s->name, s->method, s->reason);
	}
}

static void test_normal(void)
{
	char root[512];
	struct mrl_err err = {0};
	struct met_energy_result r;

	if (fake_tree("normal", root, sizeof root) != 0) {
		ok(0, "normal: copy the fake tree");
		return;
	}
	struct met_energy_meter *m = open_method(MET_ENERGY_POWERCAP, root, NULL, NULL);
	if (!m)
		return;
	is_int(met_energy_n_sources(m), 3, "normal: package, core and dram zones (control type and mmio duplicate skipped)");
	int pkg = find_source(m, "package-0 (intel-rapl:0)"), core = find_source(m, "core"),
	    dram = find_source(m, "dram");
	ok(pkg >= 0 && core >= 0 && dram >= 0, "normal: zones are named '<name> (<dir>)'");
	if (pkg < 0 || core < 0 || dram < 0) {
		met_energy_close(m);
		return;
	}
	is_str(met_energy_source_at(m, pkg)->scope, "cpu-package", "normal: package-0 has scope cpu-package");
	is_str(met_energy_source_at(m, core)->scope, "cpu-cores", "normal: core has scope cpu-cores");
	is_str(met_energy_source_at(m, dram)->scope, "dram", "normal: dram has scope dram");
	is_str(met_energy_source_at(m, pkg)->method, "powercap-sysfs", "normal: method powercap-sysfs");

	met_energy_result(m, pkg, &r);
	ok(!r.gross_j.valid, "normal: before any window the result is null");
	like(r.gross_j.reason, "no window", "normal: ... saying no window was measured");

	is_int(met_energy_start(m, &err), 0, "normal: start");
	write_uj(root, "intel-rapl:0", 1000000 + 2000000);
	write_uj(root, "intel-rapl:0:0", 400000 + 500000);
	sleep_s(0.02);
	is_int(met_energy_stop(m, &err), 0, "normal: stop");
	met_energy_result(m, pkg, &r);
	ok(r.gross_j.valid, "normal: package energy is valid");
	is_near(r.gross_j.value, 2.0, 1e-12, "normal: 2,000,000 uJ read as 2 J");
	is_str(r.gross_j.unit, "J", "normal: unit J");
	ok(r.seconds >= 0.019 && r.seconds < 5, "normal: window length is measured (about 20 ms)");
	met_energy_result(m, core, &r);
	is_near(r.gross_j.value, 0.5, 1e-12, "normal: core 500,000 uJ read as 0.5 J");
	met_energy_result(m, dram, &r);
	ok(!r.gross_j.valid && isnan(r.gross_j.value), "normal: a counter that did not move is null, not 0");
	like(r.gross_j.reason, "did not advance", "normal: ... with the reason");
	met_energy_result(m, pkg, &r);
	ok(!r.net_j.valid && !r.idle_w.valid, "normal: net and idle are null without an idle measurement");
	like(r.net_j.reason, "idle power not measured", "normal: ... saying idle was not measured");

	/* too short a window */
	met_energy_start(m, &err);
	write_uj(root, "intel-rapl:0", 3000000 + 1000);
	met_energy_stop(m, &err);
	met_energy_result(m, pkg, &r);
	if (r.seconds < MET_ENERGY_RAPL_MIN_WINDOW_S) {
		ok(!r.gross_j.valid, "short window: a window under 10 ms is null");
		like(r.gross_j.reason, "shorter than the 0.01 s minimum", "short window: ... with the reason");
	} else {
		skip("the machine took >= 10 ms between start and stop", "short window");
	}

	/* wraparound at max_energy_range_uj, once per read interval, also over polls */
	write_uj(root, "intel-rapl:0", PKG_MAX - 1000);
	met_energy_start(m, &err);
	write_uj(root, "intel-rapl:0", 500);
	sleep_s(0.02);
	met_energy_stop(m, &err);
	met_energy_result(m, pkg, &r);
	is_near(r.gross_j.value, 1500e-6, 1e-12, "wraparound: max-1000 -> 500 uJ is 1500 uJ");
	write_uj(root, "intel-rapl:0", PKG_MAX - 1000);
	met_energy_start(m, &err);
	write_uj(root, "intel-rapl:0", 500);
	met_energy_poll(m, &err);
	write_uj(root, "intel-rapl:0", PKG_MAX - 2000);
	met_energy_poll(m, &err);
	write_uj(root, "intel-rapl:0", 100);
	sleep_s(0.02);
	met_energy_stop(m, &err);
	met_energy_result(m, pkg, &r);
	double want = (1000 + 500) + (double)(PKG_MAX - 2000 - 500) + (2000 + 100);
	is_near(r.gross_j.value, want * 1e-6, 1e-6, "wraparound: two wraps caught by polling add up");

	is_int(met_energy_stop(m, &err), MRL_ERUNTIME, "misuse: stop without a running window is MRL_ERUNTIME");
	is_int(met_energy_poll(m, &err), MRL_ERUNTIME, "misuse: poll without a running window is MRL_ERUNTIME");
	met_energy_start(m, &err);
	is_int(met_energy_start(m, &err), MRL_ERUNTIME, "misuse: start of a running window is MRL_ERUNTIME");
	met_energy_stop(m, &err);
	met_energy_close(m);
	rm_tree(root);
}

struct idle_writer {
	const char *root;
	unsigned long long base;
};

static void *idle_thread(void *arg)
{
	struct idle_writer *w = arg;
	sleep_s(0.2);
	write_uj(w->root, "intel-rapl:0", w->base + 1000000); /* 1 J during the idle window */
	return NULL;
}

static void test_idle(void)
{
	char root[512];
	struct mrl_err err = {0};
	struct met_energy_result r;

	if (fake_tree("normal", root, sizeof root) != 0) {
		ok(0, "idle: copy the fake tree");
		return;
	}
	struct met_energy_meter *m = open_method(MET_ENERGY_POWERCAP, root, NULL, NULL);
	int pkg = find_source(m, "package-0");
	is_int(met_energy_measure_idle(m, 0.5, &err), MRL_EINPUT, "idle: less than 1 s is MRL_EINPUT");
	is_int(met_energy_measure_idle(m, NAN, &err), MRL_EINPUT, "idle: NaN seconds is MRL_EINPUT");

	struct idle_writer w = {root, 1000000};
	pthread_t th;
	pthread_create(&th, NULL, idle_thread, &w);
	is_int(met_energy_measure_idle(m, 1.0, &err), 0, "idle: measure 1 s of idle");
	pthread_join(th, NULL);
	met_energy_result(m, pkg, &r);
	ok(r.gross_j.valid && fabs(r.gross_j.value - 1.0) < 1e-12, "idle: the idle window saw 1 J");
	double idle_s = r.seconds;

	met_energy_start(m, &err);
	write_uj(root, "intel-rapl:0", 2000000 + 3000000);
	sleep_s(0.5);
	met_energy_stop(m, &err);
	met_energy_result(m, pkg, &r);
	ok(r.idle_w.valid, "idle: idle power is valid after the measurement");
	is_near(r.idle_w.value, 1.0 / idle_s, 1e-9, "idle: idle power = idle joules / idle seconds");
	is_str(r.idle_w.unit, "W", "idle: idle power unit W");
	is_near(r.gross_j.value, 3.0, 1e-12, "idle: gross 3 J");
	ok(r.net_j.valid, "idle: net is valid");
	is_near(r.net_j.value, r.gross_j.value - r.idle_w.value * r.seconds, 1e-12,
		"idle: net = gross - idle W * window s");
	is_near(r.net_j.value, 2.5, 0.3, "idle: net about 3 J - 1 W * 0.5 s");
	int core = find_source(m, "core");
	met_energy_result(m, core, &r);
	ok(!r.idle_w.valid && !r.net_j.valid, "idle: a zone whose idle window failed has null idle and net");
	like(r.idle_w.reason, "idle measurement failed: counter did not advance", "idle: ... with the reason");
	met_energy_close(m);
	rm_tree(root);
}

static void test_amd_and_missing(void)
{
	struct mrl_err err = {0};
	struct met_energy_result r;

	struct met_energy_meter *m = open_method(MET_ENERGY_POWERCAP, DATA "/amd", NULL, NULL);
	is_int(met_energy_n_sources(m), 1, "amd: an amd-rapl:0 zone is found");
	if (met_energy_n_sources(m) == 1) {
		is_str(met_energy_source_at(m, 0)->name, "package-0 (amd-rapl:0)", "amd: named after its zone");
		is_str(met_energy_source_at(m, 0)->scope, "cpu-package", "amd: scope cpu-package");
	}
	met_energy_close(m);

	char root[512];
	if (fake_tree("missing", root, sizeof root) != 0) {
		ok(0, "missing: copy the fake tree");
		return;
	}
	m = open_method(MET_ENERGY_POWERCAP, root, NULL, NULL);
	list_meter("fake tree 'missing'", m);
	is_int(met_energy_n_sources(m), 1, "missing: only the zone with a numeric energy_uj is a source");
	const struct met_energy_source *u = find_unavail(m, "package-0");
	ok(u != NULL, "missing: the zone without energy_uj is listed as unavailable");
	if (u)
		like(u->reason, "energy_uj: No such file or directory", "missing: ... naming the file and the error");
	u = find_unavail(m, "dram");
	ok(u != NULL, "missing: the zone with a garbled energy_uj is unavailable");
	if (u)
		like(u->reason, "not a number: 'garbage'", "missing: ... quoting what it read");
	int p1 = find_source(m, "package-1");
	met_energy_start(m, &err);
	write_uj(root, "intel-rapl:1", 10);
	sleep_s(0.02);
	met_energy_stop(m, &err);
	met_energy_result(m, p1, &r);
	ok(!r.gross_j.valid, "missing: a counter that went back without max_energy_range_uj is null");
	like(r.gross_j.reason, "max_energy_range_uj is unknown", "missing: ... saying why");
	met_energy_close(m);
	rm_tree(root);

	m = open_method(MET_ENERGY_POWERCAP, "/nonexistent/powercap", NULL, NULL);
	ok(m && met_energy_n_sources(m) == 0 && met_energy_n_unavailable(m) == 1,
	   "no tree: zero sources and one unavailable entry");
	if (m && met_energy_n_unavailable(m) == 1)
		is_str(met_energy_unavailable_at(m, 0)->reason,
		       "/nonexistent/powercap: No such file or directory", "no tree: reason names the root");
	met_energy_close(m);

	setenv("MERILO_POWERCAP_ROOT", DATA "/amd", 1);
	m = open_method(MET_ENERGY_POWERCAP, NULL, NULL, NULL);
	ok(m && met_energy_n_sources(m) == 1 && strstr(met_energy_source_at(m, 0)->where, "amd-rapl:0"),
	   "env: MERILO_POWERCAP_ROOT picks the tree");
	met_energy_close(m);
	unsetenv("MERILO_POWERCAP_ROOT");
}

/* energy_uj readable by root only, as on hosts since Linux 5.10. As root the
 * check runs in a child that drops to an unprivileged uid. */
static void test_permission(void)
{
	char root[512];
	if (fake_tree("normal", root, sizeof root) != 0) {
		ok(0, "permission: copy the fake tree");
		return;
	}
	char path[600];
	snprintf(path, sizeof path, "%s/intel-rapl:0/energy_uj", root);
	chmod(path, 0400);
	int fds[2];
	if (pipe(fds) != 0) {
		ok(0, "permission: pipe");
		return;
	}
	pid_t pid = fork();
	if (pid == 0) {
		close(fds[0]);
		char msg[MET_REASON_MAX + 32] = "";
		if (geteuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0))
			snprintf(msg, sizeof msg, "setuid failed: %s", strerror(errno));
		if (geteuid() != 0 && chmod(path, 0) != 0 && errno != EPERM)
			snprintf(msg, sizeof msg, "chmod failed: %s", strerror(errno));
		if (!msg[0]) {
			struct met_energy_meter *m = open_method(MET_ENERGY_POWERCAP, root, NULL, NULL);
			const struct met_energy_source *u = m ? find_unavail(m, "package-0") : NULL;
			snprintf(msg, sizeof msg, "%zu|%s", m ? met_energy_n_sources(m) : 99,
				 u ? u->reason : "no unavailable entry");
			met_energy_close(m);
		}
		ssize_t w = write(fds[1], msg, strlen(msg));
		_exit(w < 0);
	}
	close(fds[1]);
	char buf[MET_REASON_MAX + 32] = "";
	ssize_t got = read(fds[0], buf, sizeof buf - 1);
	buf[got > 0 ? got : 0] = '\0';
	close(fds[0]);
	waitpid(pid, NULL, 0);
	diag("permission denied case: %s", buf);
	like(buf, "2|", "permission: the unreadable package zone is not a source, the others are");
	like(buf, "intel-rapl:0/energy_uj: Permission denied", "permission: reason names the file and says Permission denied");
	like(buf, "root-only since Linux 5.10", "permission: ... and explains the usual cause");
	chmod(path, 0644);
	rm_tree(root);
}

static void test_perf_power(void)
{
	struct met_energy_meter *m = open_method(MET_ENERGY_PERF_POWER, NULL, DATA "/perf-power", NULL);
	list_meter("fake perf power PMU", m);
	is_int(met_energy_n_sources(m), 0, "perf fake: no event opens on a type no kernel has");
	const struct met_energy_source *u = find_unavail(m, "energy-pkg");
	ok(u && strstr(u->reason, "perf_event_open: ") && strstr(u->where, "type 999999"),
	   "perf fake: energy-pkg parsed (type, config) and its open failure recorded");
	u = find_unavail(m, "energy-ram");
	ok(u && strstr(u->reason, "energy-ram.scale: missing"), "perf fake: an event without .scale is refused");
	u = find_unavail(m, "energy-odd");
	ok(u && strstr(u->reason, "unit 'Watts', not Joules"), "perf fake: a unit other than Joules is refused");
	met_energy_close(m);
	m = open_method(MET_ENERGY_PERF_POWER, NULL, "/nonexistent/power", NULL);
	ok(m && met_energy_n_unavailable(m) == 1 &&
	   strstr(met_energy_unavailable_at(m, 0)->reason, "no perf power PMU"),
	   "perf absent: one unavailable entry 'no perf power PMU'");
	met_energy_close(m);

	/* this machine's real power PMU, if any: a busy window is counted or null with a reason */
	m = open_method(MET_ENERGY_PERF_POWER, NULL, NULL, NULL);
	list_meter("this machine's perf power PMU", m);
	if (met_energy_n_sources(m) == 0) {
		skip(met_energy_n_unavailable(m) ? met_energy_unavailable_at(m, 0)->reason : "none",
		     "perf real: a 100 ms window reads");
	} else {
		struct mrl_err err = {0};
		met_energy_start(m, &err);
		sleep_s(0.1);
		met_energy_stop(m, &err);
		for (size_t i = 0; i < met_energy_n_sources(m); i++) {
			struct met_energy_result r;
			met_energy_result(m, i, &r);
			if (r.gross_j.valid)
				diag("  %s: %.3f J in %.3f s (%.1f W)", met_energy_source_at(m, i)->name,
				     r.gross_j.value, r.seconds, r.gross_j.value / r.seconds);
			else
				diag("  %s: null (%s)", met_energy_source_at(m, i)->name, r.gross_j.reason);
			ok(r.gross_j.valid ? r.gross_j.value > 0 : strlen(r.gross_j.reason) > 0,
			   "perf real: a 100 ms window is > 0 J or null with a reason");
		}
	}
	met_energy_close(m);
}

static void test_nvml(void)
{
	struct met_energy_meter *m = open_method(MET_ENERGY_NVML, NULL, NULL, "/nonexistent/libnvidia-ml.so.1");
	ok(m && met_energy_n_sources(m) == 0 && met_energy_n_unavailable(m) == 1,
	   "nvml absent: no source, one unavailable entry");
	if (m && met_energy_n_unavailable(m) == 1)
		like(met_energy_unavailable_at(m, 0)->reason, "libnvidia-ml not found: /nonexistent",
		     "nvml absent: reason 'libnvidia-ml not found: <dlerror>'");
	met_energy_close(m);

	m = open_method(MET_ENERGY_NVML, NULL, NULL, NULL);
	list_meter("this machine's NVML", m);
	if (met_energy_n_sources(m) == 0) {
		skip(met_energy_n_unavailable(m) ? met_energy_unavailable_at(m, 0)->reason : "no GPU",
		     "nvml present: GPU board energy");
		met_energy_close(m);
		return;
	}
	struct mrl_err err = {0};
	struct met_energy_result r;
	is_str(met_energy_source_at(m, 0)->scope, "gpu-board", "nvml present: scope gpu-board");
	met_energy_start(m, &err);
	sleep_s(0.2);
	met_energy_stop(m, &err);
	met_energy_result(m, 0, &r);
	ok(!r.gross_j.valid, "nvml present: a 0.2 s window is null (NVML updates every 20-100 ms)");
	like(r.gross_j.reason, "shorter than the 1.00 s minimum for nvml", "nvml present: ... with the reason");
	met_energy_start(m, &err);
	sleep_s(1.5);
	met_energy_stop(m, &err);
	for (size_t i = 0; i < met_energy_n_sources(m); i++) {
		met_energy_result(m, i, &r);
		diag("  %s: %s %.3f J in %.3f s (%.1f W) %s", met_energy_source_at(m, i)->name,
		     r.gross_j.valid ? "" : "null", r.gross_j.value, r.seconds,
		     r.gross_j.value / r.seconds, r.gross_j.reason);
	}
	met_energy_result(m, 0, &r);
	ok(r.gross_j.valid && r.gross_j.value / r.seconds > 5 && r.gross_j.value / r.seconds < 2000,
	   "nvml present: an idle GPU over 1.5 s draws 5 .. 2000 W");
	met_energy_close(m);
}

int main(void)
{
	struct stat st;
	if (stat(DATA "/normal", &st) != 0)
		skip_all("tests/data/powercap absent (tests run from the repo root)");
	test_normal();
	test_idle();
	test_amd_and_missing();
	test_permission();
	test_perf_power();
	test_nvml();

	struct met_energy_meter *m = NULL;
	struct mrl_err err = {0};
	is_int(met_energy_open(&m, NULL, &err), 0, "all methods, this machine: open never fails");
	list_meter("this machine, all methods", m);
	met_energy_close(m);
	met_energy_close(NULL);
	return done_testing();
}
