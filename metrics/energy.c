/* energy.c — energy meters behind one interface: RAPL through powercap sysfs,
 * RAPL through the perf `power` PMU, and NVML for NVIDIA GPUs.
 *
 * Every source is a monotonically increasing energy counter. A window reads all
 * of them at start, optionally at polls in between, and at stop; the energy of
 * a source is the sum of the deltas between consecutive reads, corrected for
 * one wraparound per interval (powercap wraps at max_energy_range_uj; the perf
 * PMU and NVML counters are 64-bit and do not wrap in practice). A source that
 * cannot be read, a window shorter than the method's update period, or a
 * counter that did not move at all (a VM that exposes RAPL but feeds it
 * nothing) gives null with the reason, never 0.
 *
 * The sysfs roots and the NVML library are parameters (options or environment)
 * so that tests run the powercap reader on fake trees in tests/data/powercap.
 * NVML is loaded with dlopen; nothing here links against a vendor library.
 */
#include "metrics/met.h"

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/perf_event.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

enum src_kind { SRC_POWERCAP, SRC_PERF, SRC_NVML };

static const char METHOD_POWERCAP[] = "powercap-sysfs";
static const char METHOD_PERF[] = "perf-power-pmu";
static const char METHOD_NVML[] = "nvml";

/* NVML entry points (nvml.h is not needed: the types are int and pointers) */
typedef int nvml_ret;
typedef void *nvml_device;
struct nvml_fns {
	nvml_ret (*init)(void);
	nvml_ret (*shutdown)(void);
	const char *(*error_string)(nvml_ret);
	nvml_ret (*device_count)(unsigned int *);
	nvml_ret (*device_by_index)(unsigned int, nvml_device *);
	nvml_ret (*device_name)(nvml_device, char *, unsigned int);
	nvml_ret (*total_energy)(nvml_device, unsigned long long *); /* mJ */
};

struct energy_src {
	struct met_energy_source info;
	enum src_kind kind;
	double joules_per_count; /* 1e-6 (µJ), perf .scale, 1e-3 (mJ) */
	double min_window_s;
	/* powercap */
	char energy_path[PATH_MAX];
	uint64_t max_range;      /* max_energy_range_uj; 0 = unknown */
	/* perf */
	int fd;
	/* nvml */
	nvml_device dev;
	/* the current window */
	uint64_t last_raw;
	double acc_j;
	unsigned n_wraps;
	char fail[MET_REASON_MAX];
	/* idle power from met_energy_measure_idle */
	bool idle_valid;
	double idle_w;
	char idle_reason[MET_REASON_MAX];
};

struct met_energy_meter {
	size_t n, n_unavail;
	struct energy_src src[MET_ENERGY_MAX_SOURCES];
	struct met_energy_source unavail[MET_ENERGY_MAX_SOURCES];
	bool running, have_window;
	uint64_t t_start, t_end;
	void *nvml_lib;
	bool nvml_inited;
	struct nvml_fns nv;
};

void met_energy_opts_init(struct met_energy_opts *opts)
{
	memset(opts, 0, sizeof *opts);
}

static const char *pick(const char *opt, const char *env_name, const char *dflt)
{
	const char *env = getenv(env_name);
	return opt ? opt : env && *env ? env : dflt;
}

/* snprintf that truncates on purpose (reasons and names are bounded; a path
 * cut short fails to open and says so), without -Wformat-truncation noise. */
static __attribute__((format(printf, 3, 4))) void sfmt(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, size, fmt, ap);
	va_end(ap);
}

static __attribute__((format(printf, 5, 6))) void add_unavailable(
	struct met_energy_meter *m, const char *method, const char *name, const char *where,
	const char *fmt, ...)
{
	if (m->n_unavail >= MET_ENERGY_MAX_SOURCES)
		return;
	struct met_energy_source *u = &m->unavail[m->n_unavail++];
	va_list ap;
	memset(u, 0, sizeof *u);
	u->method = method;
	u->scope = "unknown";
	sfmt(u->name, sizeof u->name, "%s", name);
	sfmt(u->where, sizeof u->where, "%s", where);
	va_start(ap, fmt);
	vsnprintf(u->reason, sizeof u->reason, fmt, ap);
	va_end(ap);
}

/* Read a small sysfs file into buf (NUL-terminated, trailing newline cut).
 * Returns 0 or an errno value. */
static int read_small(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno;
	ssize_t got = read(fd, buf, size - 1);
	int e = got < 0 ? errno : 0;
	close(fd);
	if (e)
		return e;
	buf[got] = '\0';
	while (got > 0 && (buf[got - 1] == '\n' || buf[got - 1] == ' '))
		buf[--got] = '\0';
	return 0;
}

/* Parse a whole decimal uint64; false on anything else. */
static bool parse_u64(const char *s, uint64_t *out)
{
	char *end;
	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || *end)
		return false;
	*out = v;
	return true;
}

static const char *eacces_hint(int e)
{
	return e == EACCES || e == EPERM ?
		" (energy_uj is root-only since Linux 5.10, CVE-2020-8694: run as root or grant read access)" :
		"";
}

/* Read one counter value of source s into *raw; on failure fill s->fail. */
static bool read_raw(struct met_energy_meter *m, struct energy_src *s, uint64_t *raw)
{
	char buf[64];
	int e;
	switch (s->kind) {
	case SRC_POWERCAP:
		if ((e = read_small(s->energy_path, buf, sizeof buf)) != 0) {
			sfmt(s->fail, sizeof s->fail, "%s: %s%s", s->energy_path, strerror(e),
				 eacces_hint(e));
			return false;
		}
		if (!parse_u64(buf, raw)) {
			sfmt(s->fail, sizeof s->fail, "%s: not a number: '%.20s'", s->energy_path, buf);
			return false;
		}
		return true;
	case SRC_PERF: {
		uint64_t v;
		ssize_t got = read(s->fd, &v, sizeof v);
		if (got != (ssize_t)sizeof v) {
			sfmt(s->fail, sizeof s->fail, "read of perf event %s: %s", s->info.where,
				 got < 0 ? strerror(errno) : "short read");
			return false;
		}
		*raw = v;
		return true;
	}
	case SRC_NVML: {
		unsigned long long mj = 0;
		nvml_ret r = m->nv.total_energy(s->dev, &mj);
		if (r != 0) {
			sfmt(s->fail, sizeof s->fail, "nvmlDeviceGetTotalEnergyConsumption: %s",
				 m->nv.error_string(r));
			return false;
		}
		*raw = mj;
		return true;
	}
	}
	return false;
}

static struct energy_src *new_source(struct met_energy_meter *m, enum src_kind kind,
				     const char *method)
{
	if (m->n >= MET_ENERGY_MAX_SOURCES)
		return NULL;
	struct energy_src *s = &m->src[m->n];
	memset(s, 0, sizeof *s);
	s->kind = kind;
	s->fd = -1;
	s->info.method = method;
	s->min_window_s = kind == SRC_NVML ? MET_ENERGY_NVML_MIN_WINDOW_S : MET_ENERGY_RAPL_MIN_WINDOW_S;
	return s;
}

static const char *rapl_scope(const char *zone_name)
{
	if (strncmp(zone_name, "package", 7) == 0)
		return "cpu-package";
	if (strcmp(zone_name, "core") == 0 || strcmp(zone_name, "cores") == 0)
		return "cpu-cores";
	if (strcmp(zone_name, "uncore") == 0 || strcmp(zone_name, "gpu") == 0)
		return "uncore";
	if (strcmp(zone_name, "dram") == 0 || strcmp(zone_name, "ram") == 0)
		return "dram";
	if (strcmp(zone_name, "psys") == 0)
		return "platform";
	return "unknown";
}

static int rapl_dir_filter(const struct dirent *d)
{
	/* zones are "intel-rapl:N[:M]" (also on AMD) or "amd-rapl:N[:M]"; the bare
	 * "intel-rapl" control type and "intel-rapl-mmio:*" (the same package
	 * counter through MMIO: would count twice) are skipped */
	return strncmp(d->d_name, "intel-rapl:", 11) == 0 || strncmp(d->d_name, "amd-rapl:", 9) == 0;
}

static void open_powercap(struct met_energy_meter *m, const char *root)
{
	struct dirent **list = NULL;
	int n = scandir(root, &list, rapl_dir_filter, alphasort);
	if (n < 0) {
		add_unavailable(m, METHOD_POWERCAP, "powercap", root, "%s: %s", root, strerror(errno));
		return;
	}
	if (n == 0)
		add_unavailable(m, METHOD_POWERCAP, "powercap", root,
				"%s: no intel-rapl:* or amd-rapl:* zones", root);
	for (int i = 0; i < n; i++) {
		char dir[PATH_MAX], path[PATH_MAX + 32], zone[64], buf[64];
		int e;
		sfmt(dir, sizeof dir, "%s/%s", root, list[i]->d_name);
		sfmt(path, sizeof path, "%s/name", dir);
		if (read_small(path, zone, sizeof zone) != 0 || !zone[0])
			sfmt(zone, sizeof zone, "%s", "unnamed");
		char name[64];
		sfmt(name, sizeof name, "%.30s (%.30s)", zone, list[i]->d_name);

		struct energy_src *s = new_source(m, SRC_POWERCAP, METHOD_POWERCAP);
		if (!s) {
			add_unavailable(m, METHOD_POWERCAP, name, dir, "more than %d sources",
					MET_ENERGY_MAX_SOURCES);
			continue;
		}
		sfmt(s->info.name, sizeof s->info.name, "%s", name);
		s->info.scope = rapl_scope(zone);
		sfmt(s->info.where, sizeof s->info.where, "%s", dir);
		sfmt(s->energy_path, sizeof s->energy_path, "%s/energy_uj", dir);
		s->joules_per_count = 1e-6;
		sfmt(path, sizeof path, "%s/max_energy_range_uj", dir);
		if ((e = read_small(path, buf, sizeof buf)) != 0 || !parse_u64(buf, &s->max_range))
			s->max_range = 0; /* wraparound then cannot be corrected: see delta() */
		uint64_t raw;
		if (!read_raw(m, s, &raw)) {
			add_unavailable(m, METHOD_POWERCAP, name, dir, "%s", s->fail);
			continue; /* the slot is reused */
		}
		s->info.reason[0] = '\0';
		m->n++;
	}
	for (int i = 0; i < n; i++)
		free(list[i]);
	free(list);
}

static int perf_event_filter(const struct dirent *d)
{
	size_t len = strlen(d->d_name);
	if (d->d_name[0] == '.')
		return 0;
	if (len > 6 && strcmp(d->d_name + len - 6, ".scale") == 0)
		return 0;
	if (len > 5 && strcmp(d->d_name + len - 5, ".unit") == 0)
		return 0;
	return 1;
}

static const char *perf_scope(const char *event)
{
	if (strcmp(event, "energy-pkg") == 0)
		return "cpu-package";
	if (strcmp(event, "energy-cores") == 0)
		return "cpu-cores";
	if (strcmp(event, "energy-gpu") == 0)
		return "uncore";
	if (strcmp(event, "energy-ram") == 0)
		return "dram";
	if (strcmp(event, "energy-psys") == 0)
		return "platform";
	return "unknown";
}

static void open_perf_power(struct met_energy_meter *m, const char *root)
{
	char path[PATH_MAX], buf[128];
	struct dirent **list = NULL;
	int e, n, type, cpu = 0;

	sfmt(path, sizeof path, "%s/type", root);
	if ((e = read_small(path, buf, sizeof buf)) != 0) {
		add_unavailable(m, METHOD_PERF, "power PMU", root, "%s: %s (no perf power PMU)",
				path, strerror(e));
		return;
	}
	char *end;
	type = (int)strtol(buf, &end, 10);
	if (end == buf || *end) {
		add_unavailable(m, METHOD_PERF, "power PMU", root, "%s: not a number", path);
		return;
	}
	sfmt(path, sizeof path, "%s/cpumask", root);
	if (read_small(path, buf, sizeof buf) == 0)
		cpu = atoi(buf); /* the first CPU of the mask: one reader per package is enough
				  * for a single-socket host; several sockets need one per entry */
	sfmt(path, sizeof path, "%s/events", root);
	n = scandir(path, &list, perf_event_filter, alphasort);
	if (n <= 0) {
		add_unavailable(m, METHOD_PERF, "power PMU", root, "%s: %s", path,
				n < 0 ? strerror(errno) : "no events");
		free(list);
		return;
	}
	for (int i = 0; i < n; i++) {
		const char *ev = list[i]->d_name;
		char evpath[PATH_MAX + 300], where[256];
		double scale = 0;
		uint64_t config = 0;
		sfmt(where, sizeof where, "power/%s (type %d, cpu %d)", ev, type, cpu);
		sfmt(evpath, sizeof evpath, "%s/events/%s", root, ev);
		if (read_small(evpath, buf, sizeof buf) != 0 || strncmp(buf, "event=", 6) != 0 ||
		    (config = strtoull(buf + 6, &end, 0), end == buf + 6)) {
			add_unavailable(m, METHOD_PERF, ev, where, "%s: expected 'event=0x..'", evpath);
			continue;
		}
		sfmt(evpath, sizeof evpath, "%s/events/%s.scale", root, ev);
		if (read_small(evpath, buf, sizeof buf) != 0 ||
		    !(scale = strtod(buf, &end), end != buf && scale > 0 && isfinite(scale))) {
			add_unavailable(m, METHOD_PERF, ev, where, "%s: missing or not a positive number",
					evpath);
			continue;
		}
		sfmt(evpath, sizeof evpath, "%s/events/%s.unit", root, ev);
		if (read_small(evpath, buf, sizeof buf) == 0 && strcmp(buf, "Joules") != 0) {
			add_unavailable(m, METHOD_PERF, ev, where, "%s: unit '%.20s', not Joules", evpath,
					buf);
			continue;
		}
		struct perf_event_attr attr;
		memset(&attr, 0, sizeof attr);
		attr.size = sizeof attr;
		attr.type = (uint32_t)type;
		attr.config = config;
		int fd = (int)syscall(SYS_perf_event_open, &attr, -1, cpu, -1, PERF_FLAG_FD_CLOEXEC);
		if (fd < 0) {
			int err = errno;
			char paranoid[16] = "?";
			read_small("/proc/sys/kernel/perf_event_paranoid", paranoid, sizeof paranoid);
			add_unavailable(m, METHOD_PERF, ev, where, "perf_event_open: %s%s%s", strerror(err),
					err == EACCES || err == EPERM ? "; needs CAP_PERFMON or perf_event_paranoid <= 0, it is " : "",
					err == EACCES || err == EPERM ? paranoid : "");
			continue;
		}
		struct energy_src *s = new_source(m, SRC_PERF, METHOD_PERF);
		if (!s) {
			close(fd);
			add_unavailable(m, METHOD_PERF, ev, where, "more than %d sources",
					MET_ENERGY_MAX_SOURCES);
			continue;
		}
		s->fd = fd;
		s->joules_per_count = scale;
		sfmt(s->info.name, sizeof s->info.name, "%s", ev);
		s->info.scope = perf_scope(ev);
		sfmt(s->info.where, sizeof s->info.where, "%s", where);
		m->n++;
	}
	for (int i = 0; i < n; i++)
		free(list[i]);
	free(list);
}

static void open_nvml(struct met_energy_meter *m, const char *lib)
{
	m->nvml_lib = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
	if (!m->nvml_lib) {
		const char *e = dlerror();
		add_unavailable(m, METHOD_NVML, "nvml", lib, "libnvidia-ml not found: %s", e ? e : lib);
		return;
	}
	struct {
		void **slot;
		const char *name;
	} syms[] = {
		{(void **)&m->nv.init, "nvmlInit_v2"},
		{(void **)&m->nv.shutdown, "nvmlShutdown"},
		{(void **)&m->nv.error_string, "nvmlErrorString"},
		{(void **)&m->nv.device_count, "nvmlDeviceGetCount_v2"},
		{(void **)&m->nv.device_by_index, "nvmlDeviceGetHandleByIndex_v2"},
		{(void **)&m->nv.device_name, "nvmlDeviceGetName"},
		{(void **)&m->nv.total_energy, "nvmlDeviceGetTotalEnergyConsumption"},
	};
	for (size_t i = 0; i < sizeof syms / sizeof syms[0]; i++) {
		*syms[i].slot = dlsym(m->nvml_lib, syms[i].name);
		if (!*syms[i].slot) {
			add_unavailable(m, METHOD_NVML, "nvml", lib, "%s: symbol %s missing", lib,
					syms[i].name);
			return;
		}
	}
	nvml_ret r = m->nv.init();
	if (r != 0) {
		add_unavailable(m, METHOD_NVML, "nvml", lib, "nvmlInit: %s", m->nv.error_string(r));
		return;
	}
	m->nvml_inited = true;
	unsigned int count = 0;
	if ((r = m->nv.device_count(&count)) != 0) {
		add_unavailable(m, METHOD_NVML, "nvml", lib, "nvmlDeviceGetCount: %s",
				m->nv.error_string(r));
		return;
	}
	if (count == 0)
		add_unavailable(m, METHOD_NVML, "nvml", lib, "NVML sees no GPU");
	for (unsigned int i = 0; i < count; i++) {
		char where[32], gpu_name[96] = "?", name[64];
		nvml_device dev;
		sfmt(where, sizeof where, "nvml device %u", i);
		if ((r = m->nv.device_by_index(i, &dev)) != 0) {
			add_unavailable(m, METHOD_NVML, where, where, "nvmlDeviceGetHandleByIndex: %s",
					m->nv.error_string(r));
			continue;
		}
		m->nv.device_name(dev, gpu_name, sizeof gpu_name);
		sfmt(name, sizeof name, "gpu%u %.50s", i, gpu_name);
		struct energy_src *s = new_source(m, SRC_NVML, METHOD_NVML);
		if (!s) {
			add_unavailable(m, METHOD_NVML, name, where, "more than %d sources",
					MET_ENERGY_MAX_SOURCES);
			continue;
		}
		s->dev = dev;
		s->joules_per_count = 1e-3;
		s->info.scope = "gpu-board";
		sfmt(s->info.name, sizeof s->info.name, "%s", name);
		sfmt(s->info.where, sizeof s->info.where, "%s", where);
		uint64_t raw;
		if (!read_raw(m, s, &raw)) { /* e.g. "Not Supported" before Volta */
			add_unavailable(m, METHOD_NVML, name, where, "%s", s->fail);
			continue;
		}
		m->n++;
	}
}

int met_energy_open(struct met_energy_meter **out, const struct met_energy_opts *opts,
		    struct mrl_err *err)
{
	struct met_energy_opts defaults;
	*out = NULL;
	if (!opts) {
		met_energy_opts_init(&defaults);
		opts = &defaults;
	}
	struct met_energy_meter *m = calloc(1, sizeof *m);
	if (!m)
		return mrl_err_set(err, MRL_ENOMEM, "met_energy_open: out of memory");
	unsigned methods = opts->methods ? opts->methods :
		MET_ENERGY_POWERCAP | MET_ENERGY_PERF_POWER | MET_ENERGY_NVML;
	if (methods & MET_ENERGY_POWERCAP)
		open_powercap(m, pick(opts->powercap_root, "MERILO_POWERCAP_ROOT", "/sys/class/powercap"));
	if (methods & MET_ENERGY_PERF_POWER)
		open_perf_power(m, pick(opts->perf_power_root, "MERILO_PERF_POWER_ROOT",
					"/sys/bus/event_source/devices/power"));
	if (methods & MET_ENERGY_NVML)
		open_nvml(m, pick(opts->nvml_lib, "MERILO_NVML_LIB", "libnvidia-ml.so.1"));
	*out = m;
	return 0;
}

size_t met_energy_n_sources(const struct met_energy_meter *m)
{
	return m->n;
}

const struct met_energy_source *met_energy_source_at(const struct met_energy_meter *m, size_t i)
{
	return i < m->n ? &m->src[i].info : NULL;
}

size_t met_energy_n_unavailable(const struct met_energy_meter *m)
{
	return m->n_unavail;
}

const struct met_energy_source *met_energy_unavailable_at(const struct met_energy_meter *m, size_t i)
{
	return i < m->n_unavail ? &m->unavail[i] : NULL;
}

int met_energy_start(struct met_energy_meter *m, struct mrl_err *err)
{
	if (m->running)
		return mrl_err_set(err, MRL_ERUNTIME, "met_energy_start: window already running");
	for (size_t i = 0; i < m->n; i++) {
		struct energy_src *s = &m->src[i];
		s->fail[0] = '\0';
		s->acc_j = 0;
		s->n_wraps = 0;
		read_raw(m, s, &s->last_raw);
	}
	m->running = true;
	m->have_window = false;
	m->t_start = met_now_ns();
	return 0;
}

/* Counts between two reads, with one wraparound corrected where the range is known. */
static void add_delta(struct energy_src *s, uint64_t now)
{
	uint64_t d;
	if (now >= s->last_raw) {
		d = now - s->last_raw;
	} else if (s->kind == SRC_POWERCAP && s->max_range >= s->last_raw) {
		d = (s->max_range - s->last_raw) + now;
		s->n_wraps++;
	} else {
		sfmt(s->fail, sizeof s->fail, "counter went backwards (%" PRIu64 " -> %" PRIu64 ")%s",
			 s->last_raw, now, s->kind == SRC_POWERCAP ?
			 " and max_energy_range_uj is unknown" : "");
		return;
	}
	s->acc_j += (double)d * s->joules_per_count;
	s->last_raw = now;
}

int met_energy_poll(struct met_energy_meter *m, struct mrl_err *err)
{
	if (!m->running)
		return mrl_err_set(err, MRL_ERUNTIME, "met_energy_poll: no window running");
	for (size_t i = 0; i < m->n; i++) {
		struct energy_src *s = &m->src[i];
		uint64_t now;
		if (s->fail[0] || !read_raw(m, s, &now))
			continue;
		add_delta(s, now);
	}
	return 0;
}

int met_energy_stop(struct met_energy_meter *m, struct mrl_err *err)
{
	if (!m->running)
		return mrl_err_set(err, MRL_ERUNTIME, "met_energy_stop: no window running");
	met_energy_poll(m, err);
	m->t_end = met_now_ns();
	m->running = false;
	m->have_window = true;
	return 0;
}

void met_energy_result(const struct met_energy_meter *m, size_t i, struct met_energy_result *out)
{
	const struct energy_src *s = i < m->n ? &m->src[i] : NULL;
	out->seconds = m->have_window ? (double)(m->t_end - m->t_start) * 1e-9 : 0;
	if (!s)
		met_reading_null(&out->gross_j, "J", "no source %zu", i);
	else if (!m->have_window)
		met_reading_null(&out->gross_j, "J", "no window measured (start/stop)");
	else if (s->fail[0])
		met_reading_null(&out->gross_j, "J", "%s", s->fail);
	else if (out->seconds < s->min_window_s)
		met_reading_null(&out->gross_j, "J",
				 "window %.3f s is shorter than the %.2f s minimum for %s (counter update period)",
				 out->seconds, s->min_window_s, s->info.method);
	else if (s->acc_j == 0)
		met_reading_null(&out->gross_j, "J",
				 "counter did not advance in %.3f s (not fed by this machine: a VM?)",
				 out->seconds);
	else
		met_reading_set(&out->gross_j, s->acc_j, "J");

	if (!s || !s->idle_valid) {
		const char *why = s && s->idle_reason[0] ? s->idle_reason :
			"idle power not measured (met_energy_measure_idle)";
		met_reading_null(&out->idle_w, "W", "%s", why);
		met_reading_null(&out->net_j, "J", "%s", why);
	} else {
		met_reading_set(&out->idle_w, s->idle_w, "W");
		if (out->gross_j.valid)
			met_reading_set(&out->net_j, out->gross_j.value - s->idle_w * out->seconds, "J");
		else
			met_reading_null(&out->net_j, "J", "%s", out->gross_j.reason);
	}
}

int met_energy_measure_idle(struct met_energy_meter *m, double seconds, struct mrl_err *err)
{
	if (!isfinite(seconds) || seconds < 1)
		return mrl_err_set(err, MRL_EINPUT,
				   "met_energy_measure_idle: seconds must be >= 1 (got %g)", seconds);
	if (m->running)
		return mrl_err_set(err, MRL_ERUNTIME, "met_energy_measure_idle: a window is running");
	for (size_t i = 0; i < m->n; i++)
		m->src[i].idle_valid = false; /* the idle window itself is gross only */
	met_energy_start(m, err);
	struct timespec ts = {(time_t)seconds, (long)((seconds - floor(seconds)) * 1e9)};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
	met_energy_stop(m, err);
	for (size_t i = 0; i < m->n; i++) {
		struct energy_src *s = &m->src[i];
		struct met_energy_result r;
		met_energy_result(m, i, &r);
		if (r.gross_j.valid) {
			s->idle_valid = true;
			s->idle_w = r.gross_j.value / r.seconds;
			s->idle_reason[0] = '\0';
		} else {
			sfmt(s->idle_reason, sizeof s->idle_reason, "idle measurement failed: %s",
				 r.gross_j.reason);
		}
	}
	return 0;
}

void met_energy_close(struct met_energy_meter *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->n; i++)
		if (m->src[i].fd >= 0)
			close(m->src[i].fd);
	if (m->nvml_inited)
		m->nv.shutdown();
	if (m->nvml_lib)
		dlclose(m->nvml_lib);
	free(m);
}
