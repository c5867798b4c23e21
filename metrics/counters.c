/* counters.c — hardware and software event counters through PAPI, loaded at run time.
 *
 * libpapi is opened with dlopen, never linked: a merilo built on a machine with
 * PAPI starts and runs where the library is missing, and every counter is then
 * null with "libpapi not found: <dlerror>". The few PAPI entry points used are
 * declared here as function-pointer types, so this file compiles without papi.h
 * (with papi.h, MRL_HAVE_PAPI=1, its constants are checked against ours).
 *
 * Events are added to the event set one at a time, so an event the machine
 * lacks (a VM without a PMU: "Event does not exist", or "Component containing
 * event is disabled") is null with PAPI's own reason while the others count.
 *
 * State: libpapi itself is process-global (one library_init per process). The
 * only global here is a mutex that serialises its initialisation when several
 * threads open counter sets at once; everything else lives in the handle. The
 * library is opened with RTLD_NODELETE, so closing handles never unloads it
 * under another handle's feet.
 */
#include "metrics/met.h"

#include <dlfcn.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#if MRL_HAVE_PAPI
#include <papi.h>
#endif

/* PAPI constants (papi.h 7.x); checked against papi.h when it is present. */
enum {
	P_OK = 0,
	P_NULL = -1,
	P_LIB_VERSION = 21, /* PAPI_get_opt option: full version number */
	P_INHERIT = 28,     /* PAPI_set_opt option: counter inheritance */
	P_INHERIT_ALL = 1,
	P_NOT_INITED = 0,
	P_THREAD_LEVEL_INITED = 4,
};
#if MRL_HAVE_PAPI
_Static_assert(P_OK == PAPI_OK && P_NULL == PAPI_NULL, "papi.h constants changed");
_Static_assert(P_LIB_VERSION == PAPI_LIB_VERSION && P_INHERIT == PAPI_INHERIT, "papi.h constants changed");
_Static_assert(P_INHERIT_ALL == PAPI_INHERIT_ALL, "papi.h constants changed");
_Static_assert(P_THREAD_LEVEL_INITED == PAPI_THREAD_LEVEL_INITED, "papi.h constants changed");
#endif

/* The option argument of PAPI_set_opt(PAPI_INHERIT, ...): PAPI reads only
 * .inherit.eventset and .inherit.inherit of its PAPI_option_t union; the
 * padding keeps us safe should it ever read more of the union. */
union papi_opt {
	struct {
		int eventset;
		int inherit;
	} inherit;
	char pad[4096];
};
#if MRL_HAVE_PAPI
_Static_assert(sizeof(union papi_opt) >= sizeof(PAPI_option_t), "PAPI_option_t grew");
#endif

struct papi_fns {
	int (*library_init)(int version);
	int (*is_initialized)(void);
	int (*get_opt)(int option, void *ptr);
	int (*set_opt)(int option, void *ptr);
	int (*thread_init)(unsigned long (*id_fn)(void));
	int (*create_eventset)(int *es);
	int (*assign_eventset_component)(int es, int cidx);
	int (*add_named_event)(int es, const char *name);
	int (*start)(int es);
	int (*stop)(int es, long long *values);
	int (*cleanup_eventset)(int es);
	int (*destroy_eventset)(int *es);
	char *(*strerror)(int code);
};

struct counter_event {
	char name[MET_COUNTER_NAME_MAX];
	const char *unit;
	int slot;                      /* index in the event set's value array, -1 if not added */
	char reason[MET_REASON_MAX];   /* why null, when slot < 0 */
	long long total;               /* accumulated over start/stop pairs */
};

struct met_counters {
	void *lib;           /* dlopen handle (RTLD_NODELETE), NULL if absent */
	struct papi_fns f;
	int eventset;        /* P_NULL when none */
	pid_t owner_tid;     /* the thread that opened the set */
	bool running;
	bool counted;        /* at least one successful start/stop */
	char broken[MET_REASON_MAX]; /* set: PAPI unusable; every event null with it */
	char status[MET_REASON_MAX];
	size_t n_events, n_slots;
	struct counter_event ev[MET_COUNTERS_MAX];
};

/* Serialises PAPI_library_init/PAPI_thread_init across threads (see top). */
static pthread_mutex_t papi_init_mu = PTHREAD_MUTEX_INITIALIZER;

static const char *const default_events[] = {
	"PAPI_TOT_CYC", "PAPI_TOT_INS", "PAPI_L1_DCM", "PAPI_L3_TCM",
	"perf::TASK-CLOCK", "perf::CONTEXT-SWITCHES", "perf::PAGE-FAULTS",
	"perf::CPU-MIGRATIONS", NULL,
};

/* sonames: Debian ships libpapi.so.7.0, upstream builds libpapi.so.7 */
static const char *const default_libs[] = {
	"libpapi.so.7.0", "libpapi.so.7", "libpapi.so.7.1", "libpapi.so.6.0", "libpapi.so", NULL,
};

void met_counter_opts_init(struct met_counter_opts *opts)
{
	memset(opts, 0, sizeof *opts);
}

static const char *unit_of(const char *name)
{
	if (strcmp(name, "PAPI_TOT_CYC") == 0 || strcmp(name, "PAPI_REF_CYC") == 0 ||
	    strstr(name, "CYCLES"))
		return "cycles";
	if (strcmp(name, "PAPI_TOT_INS") == 0 || strstr(name, "INSTRUCTIONS"))
		return "instructions";
	if (strstr(name, "TASK-CLOCK") || strstr(name, "CPU-CLOCK"))
		return "ns";
	if (strstr(name, "_DCM") || strstr(name, "_TCM") || strstr(name, "_ICM") ||
	    strstr(name, "MISS"))
		return "misses";
	return "count";
}

static unsigned long papi_thread_id(void)
{
	return (unsigned long)pthread_self();
}

/* snprintf through a function: truncation of reasons is intended, and GCC's
 * -Wrestrict false positive on fields of one struct is avoided */
static __attribute__((format(printf, 3, 4))) void sfmt(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, size, fmt, ap);
	va_end(ap);
}

/* What a PAPI failure means to a user, by the step that failed; the raw text
 * (PAPI's own words) follows it in parentheses, so nothing is lost. */
static const char NO_LIB[] = "hardware counters are off: the PAPI library could not be loaded";
static const char NO_INIT[] = "hardware counters are off: PAPI could not be initialised";
static const char NO_PMU[] = "hardware counters are not available on this machine: the kernel does not let PAPI count "
			     "this process's CPU events (a virtual machine or container without a performance-"
			     "monitoring unit, or kernel.perf_event_paranoid too strict)";
static const char STOPPED[] = "hardware counters stopped working during the run";

static __attribute__((format(printf, 3, 4))) void set_broken(struct met_counters *c, const char *sentence,
								const char *fmt, ...)
{
	char raw[MET_REASON_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(raw, sizeof raw, fmt, ap);
	va_end(ap);
	sfmt(c->broken, sizeof c->broken, "%s (%s)", sentence, raw);
}

/* Open libpapi and resolve the entry points; on failure c->broken says why. */
static void load_papi(struct met_counters *c, const char *lib_path)
{
	const char *env = getenv("MERILO_PAPI_LIB");
	const char *one[2] = {NULL, NULL};
	const char *const *names = default_libs;
	char last_err[MET_REASON_MAX] = "";

	if (lib_path || (env && *env)) {
		one[0] = lib_path ? lib_path : env;
		names = one;
	}
	for (size_t i = 0; names[i] && !c->lib; i++) {
		c->lib = dlopen(names[i], RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
		if (!c->lib) {
			const char *e = dlerror();
			snprintf(last_err, sizeof last_err, "%s", e ? e : names[i]);
		}
	}
	if (!c->lib) {
		set_broken(c, NO_LIB, "libpapi not found: %s%s", last_err,
			   names == default_libs ? " (also tried libpapi.so.7, libpapi.so)" : "");
		return;
	}
#define SYM(field, sym)                                                        \
	do {                                                                   \
		*(void **)&c->f.field = dlsym(c->lib, sym);                    \
		if (!c->f.field) {                                             \
			set_broken(c, NO_LIB, "libpapi: symbol %s missing", sym); \
			return;                                                \
		}                                                              \
	} while (0)
	SYM(library_init, "PAPI_library_init");
	SYM(is_initialized, "PAPI_is_initialized");
	SYM(get_opt, "PAPI_get_opt");
	SYM(set_opt, "PAPI_set_opt");
	SYM(thread_init, "PAPI_thread_init");
	SYM(create_eventset, "PAPI_create_eventset");
	SYM(assign_eventset_component, "PAPI_assign_eventset_component");
	SYM(add_named_event, "PAPI_add_named_event");
	SYM(start, "PAPI_start");
	SYM(stop, "PAPI_stop");
	SYM(cleanup_eventset, "PAPI_cleanup_eventset");
	SYM(destroy_eventset, "PAPI_destroy_eventset");
	SYM(strerror, "PAPI_strerror");
#undef SYM
}

static const char *papi_why(const struct met_counters *c, int code)
{
	const char *s = c->f.strerror ? c->f.strerror(code) : NULL;
	return s ? s : "unknown PAPI error";
}

/* PAPI_library_init with the loaded library's own version (asked with
 * PAPI_get_opt(PAPI_LIB_VERSION), which works before init), then thread
 * support. Once per process; later calls see PAPI_is_initialized. */
static void init_papi(struct met_counters *c, int *version)
{
	pthread_mutex_lock(&papi_init_mu);
	*version = c->f.get_opt(P_LIB_VERSION, NULL);
	int state = c->f.is_initialized();
	if (state == P_NOT_INITED) {
		int want = *version > 0 ? (*version & (int)0xffff0000) : (7 << 24);
		int rc = c->f.library_init(want);
		if (rc != want) {
			set_broken(c, NO_INIT, "PAPI_library_init: %s",
				   rc < 0 ? papi_why(c, rc) : "version mismatch");
			goto out;
		}
		state = c->f.is_initialized();
	}
	if (!(state & P_THREAD_LEVEL_INITED)) {
		int rc = c->f.thread_init(papi_thread_id);
		if (rc != P_OK)
			set_broken(c, NO_INIT, "PAPI_thread_init: %s", papi_why(c, rc));
	}
out:
	pthread_mutex_unlock(&papi_init_mu);
}

int met_counters_open(struct met_counters **out, const struct met_counter_opts *opts,
		      struct mrl_err *err)
{
	struct met_counter_opts defaults;
	struct met_counters *c = NULL;
	int rc = 0, version = 0;

	*out = NULL;
	if (!opts) {
		met_counter_opts_init(&defaults);
		opts = &defaults;
	}
	c = calloc(1, sizeof *c);
	if (!c) {
		rc = mrl_err_set(err, MRL_ENOMEM, "met_counters_open: out of memory");
		goto out;
	}
	c->eventset = P_NULL;
	c->owner_tid = (pid_t)syscall(SYS_gettid);

	const char *const *names = opts->events ? opts->events : default_events;
	for (size_t i = 0; names[i]; i++) {
		if (i >= MET_COUNTERS_MAX) {
			rc = mrl_err_set(err, MRL_EINPUT, "met_counters_open: more than %d events",
					 MET_COUNTERS_MAX);
			goto out;
		}
		size_t len = strlen(names[i]);
		if (len == 0 || len >= MET_COUNTER_NAME_MAX) {
			rc = mrl_err_set(err, MRL_EINPUT,
					 "met_counters_open: event %zu: name empty or longer than %d",
					 i, MET_COUNTER_NAME_MAX - 1);
			goto out;
		}
		struct counter_event *e = &c->ev[c->n_events++];
		memcpy(e->name, names[i], len + 1);
		e->unit = unit_of(e->name);
		e->slot = -1;
	}

	load_papi(c, opts->lib_path);
	if (!c->broken[0])
		init_papi(c, &version);
	if (!c->broken[0]) {
		int prc = c->f.create_eventset(&c->eventset);
		if (prc != P_OK) {
			c->eventset = P_NULL;
			set_broken(c, NO_PMU, "PAPI_create_eventset: %s", papi_why(c, prc));
		}
	}
	if (!c->broken[0] && opts->inherit) {
		/* inheritance is a property of the perf_event component (index 0):
		 * bind the set to it before setting the option and adding events */
		union papi_opt po;
		memset(&po, 0, sizeof po);
		po.inherit.eventset = c->eventset;
		po.inherit.inherit = P_INHERIT_ALL;
		int prc = c->f.assign_eventset_component(c->eventset, 0);
		if (prc != P_OK)
			set_broken(c, NO_PMU, "PAPI_INHERIT: assign component 0: %s", papi_why(c, prc));
		else if ((prc = c->f.set_opt(P_INHERIT, &po)) != P_OK)
			set_broken(c, NO_PMU, "PAPI_set_opt(PAPI_INHERIT): %s", papi_why(c, prc));
	}
	if (!c->broken[0]) {
		for (size_t i = 0; i < c->n_events; i++) {
			struct counter_event *e = &c->ev[i];
			int prc = c->f.add_named_event(c->eventset, e->name);
			if (prc == P_OK)
				e->slot = (int)c->n_slots++;
			else
				sfmt(e->reason, sizeof e->reason, "this CPU or PAPI build cannot count %s "
				     "(PAPI: %s: %s)", e->name, e->name, papi_why(c, prc));
		}
		Dl_info info;
		const char *where = dladdr(*(void **)&c->f.library_init, &info) && info.dli_fname ?
			info.dli_fname : "libpapi";
		sfmt(c->status, sizeof c->status, "papi %d.%d.%d.%d from %s; inherit %s",
			 (version >> 24) & 0xff, (version >> 16) & 0xff, (version >> 8) & 0xff,
			 version & 0xff, where, opts->inherit ? "on" : "off");
	} else {
		sfmt(c->status, sizeof c->status, "%s", c->broken);
	}
	*out = c;
	c = NULL;
out:
	met_counters_close(c);
	return rc;
}

static bool wrong_thread(const struct met_counters *c, const char *fn, struct mrl_err *err)
{
	if ((pid_t)syscall(SYS_gettid) == c->owner_tid)
		return false;
	mrl_err_set(err, MRL_ERUNTIME, "%s: counter set used on a thread that did not open it", fn);
	return true;
}

int met_counters_start(struct met_counters *c, struct mrl_err *err)
{
	if (c->running)
		return mrl_err_set(err, MRL_ERUNTIME, "met_counters_start: already running");
	if (wrong_thread(c, "met_counters_start", err))
		return MRL_ERUNTIME;
	c->running = true;
	if (c->broken[0] || c->n_slots == 0)
		return 0;
	int prc = c->f.start(c->eventset);
	if (prc != P_OK)
		set_broken(c, STOPPED, "PAPI_start: %s", papi_why(c, prc));
	return 0;
}

int met_counters_stop(struct met_counters *c, struct mrl_err *err)
{
	long long values[MET_COUNTERS_MAX];

	if (!c->running)
		return mrl_err_set(err, MRL_ERUNTIME, "met_counters_stop: not running");
	if (wrong_thread(c, "met_counters_stop", err))
		return MRL_ERUNTIME;
	c->running = false;
	if (c->broken[0] || c->n_slots == 0)
		return 0;
	int prc = c->f.stop(c->eventset, values);
	if (prc != P_OK) {
		set_broken(c, STOPPED, "PAPI_stop: %s", papi_why(c, prc));
		return 0;
	}
	for (size_t i = 0; i < c->n_events; i++)
		if (c->ev[i].slot >= 0)
			c->ev[i].total += values[c->ev[i].slot];
	c->counted = true;
	return 0;
}

void met_counters_reset(struct met_counters *c)
{
	for (size_t i = 0; i < c->n_events; i++)
		c->ev[i].total = 0;
	c->counted = false;
}

void met_counters_read(const struct met_counters *c, struct met_counter_values *out)
{
	memset(out, 0, sizeof *out);
	out->n = c->n_events;
	snprintf(out->status, sizeof out->status, "%s", c->status);
	for (size_t i = 0; i < c->n_events; i++) {
		const struct counter_event *e = &c->ev[i];
		struct met_counter_value *v = &out->v[i];
		memcpy(v->name, e->name, sizeof v->name);
		if (c->broken[0])
			met_reading_null(&v->r, e->unit, "%s", c->broken);
		else if (e->slot < 0)
			met_reading_null(&v->r, e->unit, "%s", e->reason);
		else if (!c->counted)
			met_reading_null(&v->r, e->unit, "not started");
		else
			met_reading_set(&v->r, (double)e->total, e->unit);
	}
}

size_t met_counters_n_events(const struct met_counters *c)
{
	return c->n_events;
}

size_t met_counters_n_available(const struct met_counters *c)
{
	return c->broken[0] ? 0 : c->n_slots;
}

void met_counters_close(struct met_counters *c)
{
	if (!c)
		return;
	if (c->lib && c->eventset != P_NULL) {
		long long values[MET_COUNTERS_MAX];
		if (c->running)
			c->f.stop(c->eventset, values);
		c->f.cleanup_eventset(c->eventset);
		c->f.destroy_eventset(&c->eventset);
	}
	if (c->lib)
		dlclose(c->lib); /* RTLD_NODELETE: drops the reference only */
	free(c);
}

void met_counter_values_add(struct met_counter_values *dst, const struct met_counter_values *src)
{
	for (size_t i = 0; i < src->n; i++) {
		const struct met_counter_value *s = &src->v[i];
		size_t j = 0;
		while (j < dst->n && strcmp(dst->v[j].name, s->name) != 0)
			j++;
		if (j < dst->n)
			met_reading_add(&dst->v[j].r, &s->r);
		else if (dst->n < MET_COUNTERS_MAX)
			dst->v[dst->n++] = *s;
	}
}
