/* bench_run.c — the timing loops of `merilo bench`: ppN, tgN@dD, ppN+tgM
 * requests, and the server/offline scenarios.
 *
 * What is timed and what is not (definitions in docs/measurement.md):
 *  - token ids are drawn before the clock starts (mrl_rng stream per test name and
 *    repetition, so the same ids whatever the thread count or test order);
 *  - a "token is available" when its logits are on the host and the argmax has
 *    been taken: every timed step ends with argmax, and on a device backend the
 *    logits download synchronises;
 *  - the depth prefill of a tg test, the ctx truncation and the id generation are
 *    outside the timed region; so are the energy, counter and getrusage reads,
 *    which bracket each timed repetition (never inside the per-token timestamps);
 *  - warm-up repetitions run the same code and are discarded.
 */
#include "harness/bench.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------------- helpers */

static int32_t argmax(const float *v, uint32_t n)
{
	uint32_t best = 0;
	for (uint32_t i = 1; i < n; i++)
		if (v[i] > v[best])
			best = i;
	return (int32_t)best;
}

/* FNV-1a of the test name: the PRNG stream of its ids is name + repetition. */
static uint64_t name_hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

static void fill_ids(int32_t *ids, size_t n, uint64_t seed, uint64_t stream, uint32_t n_vocab)
{
	struct mrl_rng rng;
	mrl_rng_seed_stream(&rng, seed, stream);
	for (size_t i = 0; i < n; i++)
		ids[i] = (int32_t)mrl_rng_below(&rng, n_vocab);
}

static double ns_to_ms(double ns)
{
	return ns * 1e-6;
}

/* ------------------------------------------------- energy, counters, usage */

/* The resources of one test, summed over its timed repetitions. */
struct meas {
	bool energy_have;                 /* energy holds the energy window's figure */
	struct met_reading energy;        /* gross J of the energy window */
	struct met_reading energy_net;    /* net J: gross - idle power x window (null without --idle) */
	double energy_tokens;             /* tokens processed in the energy window */
	char energy_source[256];
	char energy_null[MET_REASON_MAX + 64]; /* why null when no source / a window failed */
	bool counters_running;
	struct met_usage usage0;
	struct met_reading cpu_s, minflt, vcsw, ivcsw; /* sums of getrusage deltas */
	bool usage_have;
};

static void meas_init(struct hrn_bench_env *e, struct meas *m)
{
	memset(m, 0, sizeof *m);
	struct mrl_err err = { 0 };
	met_rss_reset_peak(&err); /* best effort: peak_rss then says "since" what */
	if (e->counters)
		met_counters_reset(e->counters);
}

static void meas_begin(struct hrn_bench_env *e, struct meas *m)
{
	struct mrl_err err = { 0 };
	met_usage_read(&m->usage0);
	if (e->counters)
		m->counters_running = met_counters_start(e->counters, &err) == 0;
}

/* The energy sources to sum: every source of the first scope present in the order
 * cpu-package, platform, gpu-board (on the GPU backend gpu-board first: the work is
 * the GPU's), else the first source, of the first one's method, so that overlapping
 * scopes are never added (docs/measurement.md, Energy). */
static size_t energy_pick(struct met_energy_meter *em, bool gpu, size_t *idx, size_t max)
{
	static const char *const cpu_first[] = { "cpu-package", "platform", "gpu-board", NULL };
	static const char *const gpu_first[] = { "gpu-board", "cpu-package", "platform", NULL };
	const char *const *prefer = gpu ? gpu_first : cpu_first;
	const size_t n = met_energy_n_sources(em);
	if (!n)
		return 0;
	size_t pick = 0;
	bool found = false;
	for (int p = 0; prefer[p] && !found; p++)
		for (size_t i = 0; i < n && !found; i++)
			if (!strcmp(met_energy_source_at(em, i)->scope, prefer[p]))
				pick = i, found = true;
	const struct met_energy_source *first = met_energy_source_at(em, pick);
	size_t k = 0;
	for (size_t i = 0; i < n && k < max; i++) {
		const struct met_energy_source *s = met_energy_source_at(em, i);
		if (i == pick || (!strcmp(s->scope, first->scope) && !strcmp(s->method, first->method)))
			idx[k++] = i;
	}
	return k;
}

static void usage_add(struct met_reading *sum, const struct met_reading *v, bool first)
{
	if (first)
		*sum = *v;
	else
		met_reading_add(sum, v);
}

static void meas_end(struct hrn_bench_env *e, struct meas *m)
{
	struct mrl_err err = { 0 };
	if (m->counters_running) {
		met_counters_stop(e->counters, &err);
		m->counters_running = false;
	}
	struct met_usage u1, du;
	met_usage_read(&u1);
	met_usage_diff(&u1, &m->usage0, &du);
	struct met_reading cpu = du.user_s;
	met_reading_add(&cpu, &du.sys_s);
	usage_add(&m->cpu_s, &cpu, !m->usage_have);
	usage_add(&m->minflt, &du.minflt, !m->usage_have);
	usage_add(&m->vcsw, &du.vcsw, !m->usage_have);
	usage_add(&m->ivcsw, &du.ivcsw, !m->usage_have);
	m->usage_have = true;
}

/* After a successful met_energy_stop: the chosen sources' gross energy into m. */
static void energy_collect(struct hrn_bench_env *e, struct meas *m, double tokens)
{
	size_t idx[8];
	size_t k = energy_pick(e->energy, strcmp(e->backend, "cpu") != 0, idx, 8);
	m->energy_source[0] = '\0';
	for (size_t i = 0; i < k; i++) {
		struct met_energy_result res;
		met_energy_result(e->energy, idx[i], &res);
		if (i == 0) {
			m->energy = res.gross_j;
			m->energy_net = res.net_j;
		} else {
			met_reading_add(&m->energy, &res.gross_j);
			met_reading_add(&m->energy_net, &res.net_j);
		}
		const struct met_energy_source *s = met_energy_source_at(e->energy, idx[i]);
		size_t len = strlen(m->energy_source);
		snprintf(m->energy_source + len, sizeof m->energy_source - len, "%s%s %s (%s)", i ? " + " : "", s->method,
			 s->name, s->scope);
	}
	m->energy_have = k > 0;
	m->energy_tokens = tokens;
}

/* The body repeated in an energy window: processes tokens and returns 0 or MRL_E*. */
typedef int (*energy_body_fn)(struct hrn_bench_env *e, const int32_t *ids, uint32_t n, uint32_t depth,
			      struct mrl_err *err);

static int body_prefill(struct hrn_bench_env *e, const int32_t *ids, uint32_t n, uint32_t depth, struct mrl_err *err)
{
	(void)depth;
	eng_ctx_truncate(e->ctx, 0);
	int rc = eng_decode(e->ctx, ids, n, e->logits, false, err);
	volatile int32_t first = rc ? 0 : argmax(e->logits, e->n_vocab);
	(void)first;
	return rc;
}

static int body_decode(struct hrn_bench_env *e, const int32_t *ids, uint32_t n, uint32_t depth, struct mrl_err *err)
{
	eng_ctx_truncate(e->ctx, depth); /* keeps the depth prefill: no recomputation */
	int32_t tok = ids[depth];
	for (uint32_t s = 0; s < n; s++) {
		int rc = eng_decode(e->ctx, &tok, 1, e->logits, false, err);
		if (rc)
			return rc;
		tok = argmax(e->logits, e->n_vocab);
	}
	return 0;
}

/* Energy of the test's work: one window of at least e->energy_window_s seconds that
 * repeats body (the timed work of one repetition, n tokens each) back to back, so that
 * slow-updating sources (NVML: 20-100 ms) are read over a long enough window. The
 * context must hold the depth prefix already (tg). Per token = gross J / tokens. */
static int energy_measure(struct hrn_bench_env *e, struct meas *m, energy_body_fn body, const int32_t *ids,
			  uint32_t n, uint32_t depth, struct mrl_err *err)
{
	/* the user's choice first: it is the reason on every host, with or without a source */
	if (!(e->energy_window_s > 0)) {
		snprintf(m->energy_null, sizeof m->energy_null, "not measured: --energy-window 0");
		return 0;
	}
	if (!e->energy || met_energy_n_sources(e->energy) == 0)
		return 0; /* the reason comes from the meter's unavailable list */
	struct mrl_err e2 = { 0 };
	met_energy_start(e->energy, &e2);
	const uint64_t t0 = met_now_ns();
	uint64_t calls = 0;
	int rc = 0;
	do {
		rc = body(e, ids, n, depth, err);
		calls++;
	} while (!rc && (double)(met_now_ns() - t0) * 1e-9 < e->energy_window_s);
	if (met_energy_stop(e->energy, &e2)) {
		snprintf(m->energy_null, sizeof m->energy_null, "the energy window failed: %s", e2.msg);
		return rc;
	}
	if (rc)
		return rc;
	energy_collect(e, m, (double)calls * n);
	return 0;
}

/* Why there is no energy figure, from the meter's unavailable list. */
static void energy_absent_reason(struct hrn_bench_env *e, char *why, size_t size)
{
	if (!e->energy) {
		snprintf(why, size, "no energy meter was opened");
		return;
	}
	size_t len = (size_t)snprintf(why, size, "no energy source on this machine");
	for (size_t i = 0; i < met_energy_n_unavailable(e->energy) && len + 8 < size; i++) {
		const struct met_energy_source *u = met_energy_unavailable_at(e->energy, i);
		int k = snprintf(why + len, size - len, "%s%s %s: %s", i ? "; " : " (", u->method, u->name, u->reason);
		len += k > 0 ? (size_t)k : 0;
	}
	if (met_energy_n_unavailable(e->energy) && len + 2 < size)
		strcat(why, ")");
}

/* Why a per-token figure of a window without tokens (a server scenario in which no
 * request arrived) is null: a sum over zero tokens has no per-token value. */
#define NO_TOKENS "no tokens: nothing was processed in the measured window"

/* A per-token figure from a summed reading. */
static int per_token_figure(struct hrn_bench_result *r, const char *name, const char *unit,
			    const struct met_reading *sum, double tokens, struct mrl_err *err)
{
	if (!(tokens > 0))
		return hrn_bench_result_add_figure(r, name, unit, NAN, NO_TOKENS, err);
	if (!sum->valid)
		return hrn_bench_result_add_figure(r, name, unit, NAN, *sum->reason ? sum->reason : "not measured", err);
	return hrn_bench_result_add_figure(r, name, unit, sum->value / tokens, NULL, err);
}

/* The resource figures of a finished test: energy, counters and getrusage per token,
 * peak RSS, device memory. phase: "prefill" or "decode" (the energy figure's name). */
static int meas_finish(struct hrn_bench_env *e, struct meas *m, struct hrn_bench_result *r, const char *phase,
		       double tokens, struct mrl_err *err)
{
	char name[64], why[MET_REASON_MAX + 320]; /* "<source>: <reason>", whole */
	int rc;
	snprintf(name, sizeof name, "energy_j_per_token_%s", phase);
	if (m->energy_have) {
		if (!m->energy.valid) {
			snprintf(why, sizeof why, "%s: %s", m->energy_source, *m->energy.reason ? m->energy.reason : "no value");
			rc = hrn_bench_result_add_figure(r, name, "J/token", NAN, why, err);
		} else {
			rc = per_token_figure(r, name, "J/token", &m->energy, m->energy_tokens, err);
		}
		if (rc)
			return rc;
		/* net of idle power, only when --idle measured it (met_energy_result says why not) */
		snprintf(name, sizeof name, "energy_j_per_token_%s_net", phase);
		if ((rc = per_token_figure(r, name, "J/token", &m->energy_net, m->energy_tokens, err)))
			return rc;
		if (!(r->energy_source = strdup(m->energy_source)))
			return mrl_err_set(err, MRL_ENOMEM, "bench: out of memory");
	} else {
		if (*m->energy_null)
			snprintf(why, sizeof why, "%s", m->energy_null);
		else
			energy_absent_reason(e, why, sizeof why);
		if ((rc = hrn_bench_result_add_figure(r, name, "J/token", NAN, why, err)))
			return rc;
		snprintf(name, sizeof name, "energy_j_per_token_%s_net", phase);
		if ((rc = hrn_bench_result_add_figure(r, name, "J/token", NAN, why, err)))
			return rc;
	}
	if ((rc = per_token_figure(r, "cpu_s_per_token", "s/token", &m->cpu_s, tokens, err)) ||
	    (rc = per_token_figure(r, "minflt_per_token", "count/token", &m->minflt, tokens, err)) ||
	    (rc = per_token_figure(r, "vcsw_per_token", "count/token", &m->vcsw, tokens, err)) ||
	    (rc = per_token_figure(r, "ivcsw_per_token", "count/token", &m->ivcsw, tokens, err)))
		return rc;
	if (e->counters) {
		struct met_counter_values cv;
		met_counters_read(e->counters, &cv);
		if (!(r->counters_status = strdup(cv.status)))
			return mrl_err_set(err, MRL_ENOMEM, "bench: out of memory");
		for (size_t i = 0; i < cv.n; i++) {
			const struct met_reading *v = &cv.v[i].r;
			char unit[64];
			snprintf(unit, sizeof unit, "%s/token", v->unit ? v->unit : "count");
			const bool have = v->valid && tokens > 0;
			if (rec_readings_add(&r->counters, &r->n_counters, cv.v[i].name, unit, have ? v->value / tokens : NAN,
					     have ? NULL : !(tokens > 0) ? NO_TOKENS : *v->reason ? v->reason : "not counted"))
				return mrl_err_set(err, MRL_ENOMEM, "bench: out of memory");
		}
	} else if (!(r->counters_status = strdup("no counter set was opened"))) {
		return mrl_err_set(err, MRL_ENOMEM, "bench: out of memory");
	}
	struct met_rss rss;
	met_rss_read(&rss);
	if ((rc = hrn_bench_result_add_figure(r, "peak_rss_bytes", "bytes", rss.vmhwm.valid ? rss.vmhwm.value : NAN,
					      rss.vmhwm.valid ? NULL : rss.vmhwm.reason, err)))
		return rc;
	return hrn_bench_result_add_figure(
		r, "device_memory_bytes", "bytes", NAN,
		!strcmp(e->backend, "cpu") ? "not applicable: CPU backend (weights and KV cache are host memory, in peak RSS)"
					   : "the engine does not report device memory yet",
		err);
}

/* The device's own time of each repetition (CUDA events around the forward calls), or,
 * on a host backend, a null figure saying why there is none. */
static int add_device_ms(struct hrn_bench_result *r, bool on_device, const char *name, const double *v, size_t n,
			 struct mrl_err *err)
{
	if (on_device)
		return hrn_bench_result_add_series(r, name, "ms", v, n, err);
	return hrn_bench_result_add_figure(r, name, "ms", NAN, "not applicable: CPU backend (no device events; the "
					   "wall-clock series is the time)", err);
}

static bool roofline_usable(const struct hrn_bench_env *e, const char **why)
{
	if (!e->roofline || !e->roofline->present) {
		*why = e->roofline && e->roofline->reason ? e->roofline->reason : "no host roofline (run with --roofline)";
		return false;
	}
	if (strcmp(e->backend, "cpu")) {
		*why = "the roofline is this host's CPU and memory; the backend is not the CPU";
		return false;
	}
	return true;
}

static struct hrn_bench_result *new_result(struct hrn_bench_env *e, struct hrn_bench_doc *d, const char *test,
					   const char *kind, struct mrl_err *err)
{
	struct hrn_bench_result *r = hrn_bench_doc_add_result(d, test, kind, e->backend);
	if (!r) {
		mrl_err_set(err, MRL_ENOMEM, "bench: out of memory");
		return NULL;
	}
	r->threads = e->threads;
	r->reps = e->reps;
	r->warmup = e->warmup;
	r->seed = (int64_t)(e->seed & INT64_MAX);
	return r;
}

/* ------------------------------------------------------------------- ppN */

int hrn_bench_run_pp(struct hrn_bench_env *e, uint32_t n, struct hrn_bench_doc *d, struct mrl_err *err)
{
	char test[64];
	snprintf(test, sizeof test, "pp%u", n);
	const int total = e->warmup + e->reps;
	int32_t *ids = malloc((size_t)n * sizeof *ids);
	double *tps = malloc((size_t)e->reps * sizeof *tps), *secs = malloc((size_t)e->reps * sizeof *secs);
	double *ttft = malloc((size_t)e->reps * sizeof *ttft), *dev = malloc((size_t)e->reps * sizeof *dev);
	bool on_device = false;
	int rc = 0;
	struct meas m;
	if (!ids || !tps || !secs || !ttft || !dev) {
		rc = mrl_err_set(err, MRL_ENOMEM, "bench: out of memory");
		goto out;
	}
	meas_init(e, &m);
	for (int rep = 0; rep < total; rep++) {
		fill_ids(ids, n, e->seed, name_hash(test) + (uint64_t)rep, e->n_vocab);
		eng_ctx_truncate(e->ctx, 0);
		const bool timed = rep >= e->warmup;
		if (timed)
			meas_begin(e, &m);
		double p0, p1, d_;
		on_device = eng_ctx_device_ms(e->ctx, &p0, &d_);
		const uint64_t t0 = met_now_ns();
		rc = eng_decode(e->ctx, ids, n, e->logits, false, err);
		volatile int32_t first = rc ? 0 : argmax(e->logits, e->n_vocab);
		(void)first;
		const uint64_t t1 = met_now_ns();
		if (timed)
			meas_end(e, &m);
		eng_ctx_device_ms(e->ctx, &p1, &d_);
		if (rc)
			goto out;
		if (timed) {
			const int k = rep - e->warmup;
			const double s = (double)(t1 - t0) * 1e-9;
			secs[k] = s;
			tps[k] = (double)n / s;
			ttft[k] = ns_to_ms((double)(t1 - t0));
			dev[k] = p1 - p0;
		}
	}
	fill_ids(ids, n, e->seed, name_hash(test) + (uint64_t)total, e->n_vocab);
	if ((rc = energy_measure(e, &m, body_prefill, ids, n, 0, err)))
		goto out;
	struct hrn_bench_result *r = new_result(e, d, test, "pp", err);
	if (!r) {
		rc = MRL_ENOMEM;
		goto out;
	}
	r->n_prompt = n;
	if ((rc = hrn_bench_result_add_series(r, "tokens_per_s", "tokens/s", tps, (size_t)e->reps, err)) ||
	    (rc = hrn_bench_result_add_series(r, "seconds", "s", secs, (size_t)e->reps, err)) ||
	    (rc = hrn_bench_result_add_series(r, "ttft_ms", "ms", ttft, (size_t)e->reps, err)) ||
	    (rc = add_device_ms(r, on_device, "device_ms", dev, (size_t)e->reps, err)) ||
	    (rc = meas_finish(e, &m, r, "prefill", (double)n * e->reps, err)))
		goto out;
	const double flops_tok = hrn_bench_prefill_flops(&e->shape, n) / n;
	const char *why;
	if ((rc = hrn_bench_result_add_figure(r, "flops_per_token", "FLOP/token", flops_tok, NULL, err)))
		goto out;
	if (roofline_usable(e, &why)) {
		const double peak = e->roofline->flops_per_core * e->threads;
		const double med = hrn_bench_result_series(r, "tokens_per_s")->st.median;
		rc = hrn_bench_result_add_figure(r, "flop_utilization", "fraction", flops_tok * med / peak, NULL, err);
	} else {
		rc = hrn_bench_result_add_figure(r, "flop_utilization", "fraction", NAN, why, err);
	}
out:
	free(ids);
	free(tps);
	free(secs);
	free(ttft);
	free(dev);
	return rc;
}

/* ------------------------------------------------------------------- tgN */

/* This host's last-level cache in bytes: the level-3 cache the kernel lists for CPU 0
 * (/sys/devices/system/cpu/cpu0/cache/indexN with level 3; MERILO_TEST_SYSFS_CPU replaces
 * /sys/devices/system/cpu in tests), else sysconf's L3 size, else 0 when neither tells.
 * The kernel's figure first: glibc 2.36's sysconf said 320 MiB on a Zen 4 VM whose
 * CPU 0 shares a 32 MiB L3 (the kernel's figure), and the tg note then called a 210 MiB
 * model cache-resident. */
static double llc_bytes(void)
{
	const char *root = getenv("MERILO_TEST_SYSFS_CPU");
	char path[512];
	for (int i = 0; i < 16; i++) {
		snprintf(path, sizeof path, "%s/cpu0/cache/index%d/level", root ? root : "/sys/devices/system/cpu", i);
		FILE *f = fopen(path, "r");
		int level = 0;
		const int got_level = f && fscanf(f, "%d", &level) == 1;
		if (f)
			fclose(f);
		if (!got_level || level != 3)
			continue;
		snprintf(path, sizeof path, "%s/cpu0/cache/index%d/size", root ? root : "/sys/devices/system/cpu", i);
		unsigned long long k = 0;
		char unit = 0;
		f = fopen(path, "r");
		const int got = f ? fscanf(f, "%llu%c", &k, &unit) : 0;
		if (f)
			fclose(f);
		if (got >= 1 && k)
			return (double)k * (unit == 'K' ? 1024.0 : unit == 'M' ? 1048576.0 : unit == 'G' ? 1073741824.0 : 1.0);
	}
	if (root) /* a test's tree is the whole truth */
		return 0;
#ifdef _SC_LEVEL3_CACHE_SIZE
	long v = sysconf(_SC_LEVEL3_CACHE_SIZE);
	if (v > 0)
		return (double)v;
#endif
	return 0;
}

/* bytes_per_token and the decode bandwidth utilisation of a tg result. Where the bytes
 * a token reads fit in the last-level cache, decode can be served from the cache and
 * the DRAM ceiling does not bound it (utilisation may exceed 100%): the figure is kept
 * and the note says so; llc_bytes records the cache size the judgement used. */
static int add_bandwidth(struct hrn_bench_env *e, struct hrn_bench_result *r, uint32_t depth, uint32_t n,
			 struct mrl_err *err)
{
	const double bytes_tok = hrn_bench_decode_bytes_per_token(&e->shape, depth, n);
	const char *why;
	int rc = hrn_bench_result_add_figure(r, "bytes_per_token", "bytes/token", bytes_tok, NULL, err);
	if (rc)
		return rc;
	if (!roofline_usable(e, &why))
		return hrn_bench_result_add_figure(r, "bandwidth_utilization", "fraction", NAN, why, err);
	const double med = hrn_bench_result_series(r, "tokens_per_s")->st.median;
	const double util = bytes_tok * med / e->roofline->read_bw_bytes_per_s, llc = llc_bytes();
	if ((rc = hrn_bench_result_add_figure(r, "bandwidth_utilization", "fraction", util, NULL, err)) ||
	    (rc = hrn_bench_result_add_figure(r, "llc_bytes", "bytes", llc > 0 ? llc : NAN,
					      llc > 0 ? NULL : "this host does not report its last-level cache size "
							       "(/sys/devices/system/cpu/cpu0/cache, sysconf)", err)))
		return rc;
	char note[320];
	if (llc > 0 && bytes_tok <= llc)
		snprintf(note, sizeof note, "bytes_per_token (%.2f MiB) fits in the last-level cache (%.0f MiB): decode "
			 "can read it from the cache, so the DRAM read bandwidth does not bound it and "
			 "bandwidth_utilization (%.0f%%) is not a fraction of a ceiling", bytes_tok / 1048576.0,
			 llc / 1048576.0, 100 * util);
	else if (llc <= 0 && util > 1)
		snprintf(note, sizeof note, "bandwidth_utilization above 100%%: part of bytes_per_token is likely read "
			 "from a cache (this host's last-level cache size is unknown)");
	else
		return 0;
	if (!(r->note = strdup(note)))
		return mrl_err_set(err, MRL_ENOMEM, "bench: out of memory");
	return 0;
}

int hrn_bench_run_tg(struct hrn_bench_env *e, uint32_t n, uint32_t depth, struct hrn_bench_doc *d,
		     struct mrl_err *err)
{
	char test[64];
	snprintf(test, sizeof test, "tg%u@d%u", n, depth);
	const int total = e->warmup + e->reps;
	int32_t *ids = malloc(((size_t)depth + 1) * sizeof *ids);
	double *tps = malloc((size_t)e->reps * sizeof *tps), *secs = malloc((size_t)e->reps * sizeof *secs);
	double *itl = malloc((size_t)e->reps * n * sizeof *itl), *dev = malloc((size_t)e->reps * sizeof *dev);
	bool on_device = false;
	int rc = 0;
	struct meas m;
	if (!ids || !tps || !secs || !itl || !dev) {
		rc = mrl_err_set(err, MRL_ENOMEM, "bench: out of memory");
		goto out;
	}
	meas_init(e, &m);
	for (int rep = 0; rep < total; rep++) {
		fill_ids(ids, (size_t)depth + 1, e->seed, name_hash(test) + (uint64_t)rep, e->n_vocab);
		eng_ctx_truncate(e->ctx, 0);
		if (depth && (rc = eng_decode(e->ctx, ids, depth, NULL, false, err)))
			goto out;
		const bool timed = rep >= e->warmup;
		const int k = rep - e->warmup;
		int32_t tok = ids[depth];
		double p_, d0, d1;
		on_device = eng_ctx_device_ms(e->ctx, &p_, &d0);
		if (timed)
			meas_begin(e, &m);
		const uint64_t t0 = met_now_ns();
		uint64_t prev = t0;
		for (uint32_t s = 0; s < n && !rc; s++) {
			rc = eng_decode(e->ctx, &tok, 1, e->logits, false, err);
			if (!rc)
				tok = argmax(e->logits, e->n_vocab);
			const uint64_t t = met_now_ns();
			if (timed)
				itl[(size_t)k * n + s] = ns_to_ms((double)(t - prev));
			prev = t;
		}
		if (timed)
			meas_end(e, &m);
		if (rc)
			goto out;
		if (timed) {
			const double sec = (double)(prev - t0) * 1e-9;
			secs[k] = sec;
			tps[k] = (double)n / sec;
			eng_ctx_device_ms(e->ctx, &p_, &d1);
			dev[k] = (d1 - d0) / n;
		}
	}
	if ((rc = energy_measure(e, &m, body_decode, ids, n, depth, err)))
		goto out;
	struct hrn_bench_result *r = new_result(e, d, test, "tg", err);
	if (!r) {
		rc = MRL_ENOMEM;
		goto out;
	}
	r->n_gen = n;
	r->depth = depth;
	if ((rc = hrn_bench_result_add_series(r, "tokens_per_s", "tokens/s", tps, (size_t)e->reps, err)) ||
	    (rc = hrn_bench_result_add_series(r, "seconds", "s", secs, (size_t)e->reps, err)) ||
	    (rc = hrn_bench_result_add_series(r, "itl_ms", "ms", itl, (size_t)e->reps * n, err)) ||
	    (rc = add_device_ms(r, on_device, "device_ms_per_token", dev, (size_t)e->reps, err)) ||
	    (rc = meas_finish(e, &m, r, "decode", (double)n * e->reps, err)))
		goto out;
	rc = add_bandwidth(e, r, depth, n, err);
out:
	free(ids);
	free(tps);
	free(secs);
	free(itl);
	free(dev);
	return rc;
}

/* ------------------------------------------------------- one request */

/* Serve one request from an empty cache: prefill prompt, then n_gen tokens by
 * argmax. stamps[i] = when token i was available (n_gen entries). */
static int serve(struct hrn_bench_env *e, const int32_t *prompt, size_t n_prompt, uint32_t n_gen, uint64_t *stamps,
		 struct mrl_err *err)
{
	eng_ctx_truncate(e->ctx, 0);
	int rc = eng_decode(e->ctx, prompt, n_prompt, e->logits, false, err);
	if (rc)
		return rc;
	int32_t tok = argmax(e->logits, e->n_vocab);
	stamps[0] = met_now_ns();
	for (uint32_t i = 1; i < n_gen; i++) {
		if ((rc = eng_decode(e->ctx, &tok, 1, e->logits, false, err)))
			return rc;
		tok = argmax(e->logits, e->n_vocab);
		stamps[i] = met_now_ns();
	}
	return 0;
}

int hrn_bench_run_request(struct hrn_bench_env *e, uint32_t n_prompt, uint32_t n_gen, struct hrn_bench_doc *d,
			  struct mrl_err *err)
{
	char test[64];
	snprintf(test, sizeof test, "pp%u+tg%u", n_prompt, n_gen);
	const int total = e->warmup + e->reps;
	const size_t reps = (size_t)e->reps;
	int32_t *ids = malloc((size_t)n_prompt * sizeof *ids);
	uint64_t *stamps = malloc((size_t)n_gen * sizeof *stamps);
	double *ttft = malloc(reps * sizeof *ttft), *tpot = malloc(reps * sizeof *tpot);
	double *e2e = malloc(reps * sizeof *e2e), *otps = malloc(reps * sizeof *otps);
	double *itl = malloc(reps * n_gen * sizeof *itl);
	size_t n_itl = 0;
	int rc = 0;
	if (!ids || !stamps || !ttft || !tpot || !e2e || !otps || !itl) {
		rc = mrl_err_set(err, MRL_ENOMEM, "bench: out of memory");
		goto out;
	}
	struct meas m;
	meas_init(e, &m);
	for (int rep = 0; rep < total; rep++) {
		fill_ids(ids, n_prompt, e->seed, name_hash(test) + (uint64_t)rep, e->n_vocab);
		const uint64_t t_start = met_now_ns();
		if ((rc = serve(e, ids, n_prompt, n_gen, stamps, err)))
			goto out;
		if (rep < e->warmup)
			continue;
		const size_t k = (size_t)(rep - e->warmup);
		struct hrn_bench_latency lat;
		double gaps_ns[1];
		double *gaps = n_gen > 1 ? itl + n_itl : gaps_ns;
		if ((rc = hrn_bench_request_latency(t_start, stamps, n_gen, n_gen > 1 ? gaps : NULL, &lat, err)))
			goto out;
		for (uint32_t i = 0; i + 1 < n_gen; i++)
			gaps[i] = ns_to_ms(gaps[i]);
		n_itl += n_gen - 1;
		ttft[k] = ns_to_ms(lat.ttft_ns);
		tpot[k] = ns_to_ms(lat.tpot_ns);
		e2e[k] = ns_to_ms(lat.e2e_ns);
		otps[k] = (double)n_gen / (lat.e2e_ns * 1e-9);
	}
	struct hrn_bench_result *r = new_result(e, d, test, "request", err);
	if (!r) {
		rc = MRL_ENOMEM;
		goto out;
	}
	r->n_prompt = n_prompt;
	r->n_gen = n_gen;
	if ((rc = hrn_bench_result_add_series(r, "ttft_ms", "ms", ttft, reps, err)) ||
	    (n_gen > 1 && (rc = hrn_bench_result_add_series(r, "tpot_ms", "ms", tpot, reps, err))) ||
	    (rc = hrn_bench_result_add_series(r, "e2e_ms", "ms", e2e, reps, err)) ||
	    (rc = hrn_bench_result_add_series(r, "itl_ms", "ms", itl, n_itl, err)) ||
	    (rc = hrn_bench_result_add_series(r, "output_tokens_per_s", "tokens/s", otps, reps, err)))
		goto out;
	struct met_rss rss;
	met_rss_read(&rss);
	rc = hrn_bench_result_add_figure(r, "peak_rss_bytes", "bytes", rss.vmhwm.valid ? rss.vmhwm.value : NAN,
					 rss.vmhwm.valid ? NULL : rss.vmhwm.reason, err);
out:
	free(ids);
	free(stamps);
	free(ttft);
	free(tpot);
	free(e2e);
	free(otps);
	free(itl);
	return rc;
}

/* ------------------------------------------------------------ scenarios */

/* Sleep until the CLOCK_MONOTONIC_RAW time `when_ns` (met_now_ns's clock). Short
 * sleeps in a loop: clock_nanosleep cannot sleep on the RAW clock. */
static void sleep_until(uint64_t when_ns)
{
	for (;;) {
		uint64_t now = met_now_ns();
		if (now >= when_ns)
			return;
		uint64_t left = when_ns - now;
		struct timespec ts = { .tv_sec = (time_t)(left / 1000000000u), .tv_nsec = (long)(left % 1000000000u) };
		if (ts.tv_sec > 0 || ts.tv_nsec > 200000) {
			/* wake a little early and re-check: the RAW clock and the sleep clock drift apart
			 * only by NTP slewing, well under 0.1% */
			if (ts.tv_sec == 0)
				ts.tv_nsec -= 100000;
			nanosleep(&ts, NULL);
		}
	}
}

/* The arrival times in seconds from the start: Poisson (seeded) for server,
 * all at 0 for offline. *arrivals is the caller's to free. */
static int scenario_arrivals(const struct hrn_bench_env *e, const struct hrn_bench_scenario *sc, double **arrivals,
			     size_t *n_req, struct mrl_err *err)
{
	if (sc->server)
		return hrn_bench_poisson_arrivals(e->seed, sc->qps, sc->duration_s, arrivals, n_req, err);
	*n_req = sc->n_requests;
	if (*n_req && !(*arrivals = calloc(*n_req, sizeof **arrivals)))
		return mrl_err_set(err, MRL_ENOMEM, "bench: out of memory");
	return 0;
}

/* The scenario's figures beside its series (counts, rates, the limits asked for). */
static int add_scenario_figures(struct hrn_bench_result *r, const struct hrn_bench_scenario *sc, size_t n_req,
				double wall_s, double gen_tokens, uint64_t prompt_tokens, uint64_t busy_ns,
				struct mrl_err *err)
{
	int rc;
	/* requests per second of the scenario's time: a server run lasts its --duration even
	 * when the last request ends sooner (wall_s runs from the start to the last token) */
	const double span_s = sc->server && sc->duration_s > wall_s ? sc->duration_s : wall_s;
	if ((rc = hrn_bench_result_add_figure(r, "n_requests", "count", (double)n_req, NULL, err)) ||
	    (rc = hrn_bench_result_add_figure(r, "wall_s", "s", n_req ? wall_s : NAN,
					      n_req ? NULL : "no request arrived in the duration", err)) ||
	    (rc = hrn_bench_result_add_figure(r, "offered_qps", "requests/s", sc->server ? sc->qps : NAN,
					      sc->server ? NULL : "offline: every request is issued at once", err)) ||
	    (rc = hrn_bench_result_add_figure(r, "achieved_qps", "requests/s",
					      n_req && span_s > 0 ? (double)n_req / span_s : NAN,
					      n_req && wall_s > 0 ? NULL : "no request was served", err)) ||
	    (rc = hrn_bench_result_add_figure(r, "output_tokens_per_s", "tokens/s",
					      n_req && wall_s > 0 ? gen_tokens / wall_s : NAN,
					      n_req && wall_s > 0 ? NULL : "no request was served", err)) ||
	    (rc = hrn_bench_result_add_figure(r, "total_tokens_per_s", "tokens/s",
					      n_req && wall_s > 0 ? (gen_tokens + (double)prompt_tokens) / wall_s : NAN,
					      n_req && wall_s > 0 ? NULL : "no request was served", err)) ||
	    (rc = hrn_bench_result_add_figure(r, "busy_fraction", "fraction",
					      n_req && wall_s > 0 ? (double)busy_ns * 1e-9 / wall_s : NAN,
					      n_req && wall_s > 0 ? NULL : "no request was served", err)) ||
	    (rc = hrn_bench_result_add_figure(r, "duration_s", "s", sc->server ? sc->duration_s : NAN,
					      sc->server ? NULL : "offline: no arrival window", err)) ||
	    (rc = hrn_bench_result_add_figure(r, "ttft_limit_ms", "ms", sc->ttft_limit_ms,
					      isnan(sc->ttft_limit_ms) ? "no --ttft-limit given" : NULL, err)) ||
	    (rc = hrn_bench_result_add_figure(r, "tpot_limit_ms", "ms", sc->tpot_limit_ms,
					      isnan(sc->tpot_limit_ms) ? "no --tpot-limit given" : NULL, err)))
		return rc;
	return 0;
}

/* The result's n_prompt: the prompt length every request had, or -1 (null in the
 * record) when a --prompts file's lines differ in length; the series prompt_tokens
 * then has each request's count. */
static int64_t scenario_n_prompt(const struct hrn_bench_scenario *sc)
{
	if (!sc->n_prompts)
		return (int64_t)sc->n_prompt;
	for (size_t i = 1; i < sc->n_prompts; i++)
		if (sc->prompt_lens[i] != sc->prompt_lens[0])
			return -1;
	return (int64_t)sc->prompt_lens[0];
}

/* MLPerf Server: the limits must hold at the 99th percentile. */
static void scenario_limits(struct hrn_bench_result *r, const struct hrn_bench_scenario *sc, size_t n_req)
{
	if (isnan(sc->ttft_limit_ms) && isnan(sc->tpot_limit_ms))
		return;
	const struct hrn_bench_series *st = hrn_bench_result_series(r, "ttft_ms");
	const struct hrn_bench_series *sp = hrn_bench_result_series(r, "tpot_ms");
	if (n_req == 0)
		return; /* nothing measured: no verdict (null), not a failing one */
	bool hold = true;
	if (!isnan(sc->ttft_limit_ms))
		hold = hold && st->n && st->st.p99 <= sc->ttft_limit_ms;
	if (!isnan(sc->tpot_limit_ms))
		hold = hold && (!sp->n || sp->st.p99 <= sc->tpot_limit_ms);
	r->limits_hold = hold;
}

/* What the scenario's numbers mean (one sequence at a time). */
static int scenario_note(struct hrn_bench_result *r, const struct hrn_bench_scenario *sc, size_t n_req,
			 double wall_s, uint64_t busy_ns, struct mrl_err *err)
{
	char note[1024];
	if (sc->server && n_req && wall_s > 0)
		snprintf(note, sizeof note,
			 "the engine serves one sequence at a time (no batching): a request that arrives while "
			 "another is served waits in a queue; queue_ms is that wait, ttft_ms (MLPerf) includes it, "
			 "ttft_service_ms does not; busy %.0f%% of the wall time", 100.0 * (double)busy_ns * 1e-9 / wall_s);
	else if (sc->server)
		snprintf(note, sizeof note,
			 "no request arrived in the %g s at %g QPS (seeded Poisson arrivals): nothing was measured, so "
			 "the latencies, rates, per-token figures%s are null", sc->duration_s, sc->qps,
			 isnan(sc->ttft_limit_ms) && isnan(sc->tpot_limit_ms) ? "" : " and limits_hold");
	else
		snprintf(note, sizeof note,
			 "%zu requests issued at once and served back to back, one sequence at a time (no batching); "
			 "queue_ms grows with the position in the batch", n_req);
	if (r->n_prompt < 0) {
		size_t len = strlen(note);
		snprintf(note + len, sizeof note - len, "; n_prompt null: the prompts of %s differ in length "
			 "(series prompt_tokens has each request's)", sc->prompts_path ? sc->prompts_path : "the file");
	}
	if (!(r->note = strdup(note)))
		return mrl_err_set(err, MRL_ENOMEM, "bench: out of memory");
	return 0;
}

int hrn_bench_run_scenario(struct hrn_bench_env *e, const struct hrn_bench_scenario *sc, struct hrn_bench_doc *d,
			   struct mrl_err *err)
{
	const char *test = sc->server ? "server" : "offline";
	double *arrivals = NULL;
	size_t n_req = 0;
	int rc = 0;
	if ((rc = scenario_arrivals(e, sc, &arrivals, &n_req, err)))
		return rc;
	size_t max_prompt = sc->n_prompt;
	for (size_t i = 0; i < sc->n_prompts; i++)
		max_prompt = sc->prompt_lens[i] > max_prompt ? sc->prompt_lens[i] : max_prompt;
	const uint32_t n_gen = sc->n_gen;
	int32_t *ids = malloc((max_prompt ? max_prompt : 1) * sizeof *ids);
	uint64_t *stamps = malloc((size_t)n_gen * sizeof *stamps);
	const size_t nr = n_req ? n_req : 1;
	double *ttft = malloc(nr * sizeof *ttft), *ttft_svc = malloc(nr * sizeof *ttft_svc);
	double *queue = malloc(nr * sizeof *queue), *tpot = malloc(nr * sizeof *tpot), *e2e = malloc(nr * sizeof *e2e);
	double *itl = malloc(nr * (n_gen > 1 ? n_gen - 1 : 1) * sizeof *itl), *plen = malloc(nr * sizeof *plen);
	size_t n_itl = 0, n_tpot = 0;
	uint64_t busy_ns = 0, prompt_tokens = 0;
	if (!ids || !stamps || !ttft || !ttft_svc || !queue || !tpot || !e2e || !itl || !plen) {
		rc = mrl_err_set(err, MRL_ENOMEM, "bench: out of memory");
		goto out;
	}
	/* the prompt of request i: line i mod n_prompts of the file, or n_prompt seeded ids */
#define PROMPT_OF(i, p, len)                                                                   \
	do {                                                                                   \
		if (sc->n_prompts) {                                                           \
			(p) = sc->prompts[(i) % sc->n_prompts];                                \
			(len) = sc->prompt_lens[(i) % sc->n_prompts];                          \
		} else {                                                                       \
			fill_ids(ids, sc->n_prompt, e->seed, name_hash(test) + (i), e->n_vocab); \
			(p) = ids;                                                             \
			(len) = sc->n_prompt;                                                  \
		}                                                                              \
	} while (0)
	/* warm-up requests, untimed */
	for (int w = 0; w < e->warmup; w++) {
		const int32_t *p;
		size_t len;
		PROMPT_OF((uint64_t)1 << 40 | (uint64_t)w, p, len);
		if ((rc = serve(e, p, len, n_gen, stamps, err)))
			goto out;
	}
	struct meas m;
	meas_init(e, &m);
	meas_begin(e, &m);
	struct mrl_err e2 = { 0 };
	const bool energy_on = e->energy && met_energy_n_sources(e->energy) > 0 &&
			       met_energy_start(e->energy, &e2) == 0;
	const uint64_t origin = met_now_ns();
	uint64_t t_end = origin;
	for (size_t i = 0; i < n_req; i++) {
		const uint64_t arrive = origin + (uint64_t)(arrivals[i] * 1e9);
		sleep_until(arrive); /* idle until the request exists; a late start is queueing */
		const int32_t *p;
		size_t len;
		PROMPT_OF(i, p, len);
		const uint64_t start = met_now_ns();
		if ((rc = serve(e, p, len, n_gen, stamps, err)))
			goto out;
		t_end = stamps[n_gen - 1];
		busy_ns += t_end - start;
		prompt_tokens += len;
		plen[i] = (double)len;
		struct hrn_bench_latency lat;
		if ((rc = hrn_bench_request_latency(arrive, stamps, n_gen, n_gen > 1 ? itl + n_itl : NULL, &lat, err)))
			goto out;
		for (uint32_t k = 0; k + 1 < n_gen; k++)
			itl[n_itl + k] = ns_to_ms(itl[n_itl + k]);
		n_itl += n_gen - 1;
		ttft[i] = ns_to_ms(lat.ttft_ns);
		ttft_svc[i] = ns_to_ms((double)(stamps[0] - start));
		queue[i] = ns_to_ms((double)(start - arrive));
		e2e[i] = ns_to_ms(lat.e2e_ns);
		if (n_gen > 1)
			tpot[n_tpot++] = ns_to_ms(lat.tpot_ns);
	}
	meas_end(e, &m);
	if (energy_on) {
		if (met_energy_stop(e->energy, &e2) == 0)
			energy_collect(e, &m, (double)n_req * n_gen + (double)prompt_tokens);
		else
			snprintf(m.energy_null, sizeof m.energy_null, "the energy window failed: %s", e2.msg);
	}
#undef PROMPT_OF
	struct hrn_bench_result *r = new_result(e, d, test, test, err);
	if (!r) {
		rc = MRL_ENOMEM;
		goto out;
	}
	r->n_prompt = scenario_n_prompt(sc);
	r->n_gen = n_gen;
	r->reps = 1;
	const double wall_s = (double)(t_end - origin) * 1e-9;
	const double gen_tokens = (double)n_req * n_gen;
	if ((rc = hrn_bench_result_add_series(r, "ttft_ms", "ms", ttft, n_req, err)) ||
	    (rc = hrn_bench_result_add_series(r, "ttft_service_ms", "ms", ttft_svc, n_req, err)) ||
	    (rc = hrn_bench_result_add_series(r, "queue_ms", "ms", queue, n_req, err)) ||
	    (rc = hrn_bench_result_add_series(r, "tpot_ms", "ms", tpot, n_tpot, err)) ||
	    (rc = hrn_bench_result_add_series(r, "itl_ms", "ms", itl, n_itl, err)) ||
	    (rc = hrn_bench_result_add_series(r, "e2e_ms", "ms", e2e, n_req, err)) ||
	    (rc = hrn_bench_result_add_series(r, "prompt_tokens", "tokens", plen, n_req, err)) ||
	    (rc = add_scenario_figures(r, sc, n_req, wall_s, gen_tokens, prompt_tokens, busy_ns, err)) ||
	    (rc = meas_finish(e, &m, r, "request", gen_tokens + (double)prompt_tokens, err)))
		goto out;
	scenario_limits(r, sc, n_req);
	rc = scenario_note(r, sc, n_req, wall_s, busy_ns, err);
out:
	free(arrivals);
	free(ids);
	free(stamps);
	free(ttft);
	free(ttft_svc);
	free(queue);
	free(tpot);
	free(e2e);
	free(itl);
	free(plen);
	return rc;
}
