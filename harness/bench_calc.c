/* bench_calc.c — the arithmetic of `merilo bench`, free of clocks and engines:
 * MLPerf latency figures of one request, seeded Poisson arrivals, and what a
 * forward pass reads (bytes per decoded token) and computes (FLOPs of a
 * prefill) for the roofline utilisation figures. Pure functions, so that the
 * definitions in docs/measurement.md are tested on small hand-made cases.
 */
#include "harness/bench.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int hrn_bench_request_latency(uint64_t t_start, const uint64_t *t_token, size_t n, double *itl_ns,
			      struct hrn_bench_latency *out, struct mrl_err *err)
{
	if (n == 0)
		return mrl_err_set(err, MRL_EINPUT, "bench latency: a request with no output token");
	if (t_token[0] < t_start)
		return mrl_err_set(err, MRL_EINPUT, "bench latency: first token before the request started");
	for (size_t i = 1; i < n; i++)
		if (t_token[i] < t_token[i - 1])
			return mrl_err_set(err, MRL_EINPUT, "bench latency: token %zu earlier than token %zu", i, i - 1);
	out->ttft_ns = (double)(t_token[0] - t_start);
	out->e2e_ns = (double)(t_token[n - 1] - t_start);
	out->tpot_ns = n > 1 ? (out->e2e_ns - out->ttft_ns) / (double)(n - 1) : NAN;
	if (itl_ns)
		for (size_t i = 0; i + 1 < n; i++)
			itl_ns[i] = (double)(t_token[i + 1] - t_token[i]);
	return 0;
}

#define MAX_ARRIVALS 10000000u

int hrn_bench_poisson_arrivals(uint64_t seed, double qps, double duration_s, double **arrivals_s, size_t *n,
			       struct mrl_err *err)
{
	*arrivals_s = NULL;
	*n = 0;
	if (!(isfinite(qps) && qps > 0))
		return mrl_err_set(err, MRL_EINPUT, "bench: --qps must be a positive number, not %g", qps);
	if (!(isfinite(duration_s) && duration_s > 0))
		return mrl_err_set(err, MRL_EINPUT, "bench: --duration must be a positive number, not %g", duration_s);
	if (qps * duration_s > MAX_ARRIVALS / 2)
		return mrl_err_set(err, MRL_EINPUT, "bench: qps x duration = %g requests is too many", qps * duration_s);
	struct mrl_rng rng;
	mrl_rng_seed(&rng, seed);
	size_t cap = 16, len = 0;
	double *a = malloc(cap * sizeof *a), t = 0;
	if (!a)
		return mrl_err_set(err, MRL_ENOMEM, "bench: out of memory for arrivals");
	for (;;) {
		/* 1 - U is in (0, 1]: the log is finite */
		t += -log(1.0 - mrl_rng_uniform(&rng)) / qps;
		if (t >= duration_s)
			break;
		if (len == MAX_ARRIVALS) {
			free(a);
			return mrl_err_set(err, MRL_EINPUT, "bench: more than %u arrivals", MAX_ARRIVALS);
		}
		if (len == cap) {
			double *b = realloc(a, 2 * cap * sizeof *a);
			if (!b) {
				free(a);
				return mrl_err_set(err, MRL_ENOMEM, "bench: out of memory for arrivals");
			}
			a = b;
			cap *= 2;
		}
		a[len++] = t;
	}
	if (len == 0) {
		free(a);
		a = NULL;
	}
	*arrivals_s = a;
	*n = len;
	return 0;
}

static bool starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* An expert's tensor: blk.N.ffn_{gate,up,down}_exps.weight (GGUF, all of a layer's experts)
 * or blk.N.ffn_{gate,up,down}.E.weight (one expert: older GGUFs, HF folders). */
static bool is_expert(const char *name)
{
	unsigned il, e;
	char part[8];
	int used = 0;
	return strstr(name, "_exps.") || (sscanf(name, "blk.%u.ffn_%7[a-z].%u.weight%n", &il, part, &e, &used) == 3 &&
					   used > 0 && name[used] == '\0');
}

int hrn_bench_shape_of(const struct eng_model *m, struct hrn_bench_shape *s, struct mrl_err *err)
{
	memset(s, 0, sizeof *s);
	struct eng_model_desc d;
	eng_model_describe(m, &d);
	s->n_layer = d.n_layer;
	s->n_embd = d.n_embd;
	s->n_embd_q = (uint64_t)d.n_head * d.head_dim;
	s->n_embd_kv = d.n_head ? (uint64_t)d.n_embd * d.n_head_kv / d.n_head : d.n_embd;
	s->n_vocab = d.n_vocab;
	/* the cache type the model's contexts use (--kv-cache f32: 4 bytes), from the engine */
	s->kv_elt_bytes = 2;
	const uint64_t kv_row = 2ull * d.n_layer * s->n_embd_kv;
	if (kv_row && d.kv_bytes_per_token && d.kv_bytes_per_token % kv_row == 0)
		s->kv_elt_bytes = d.kv_bytes_per_token / kv_row;
	uint64_t embd_bytes = 0, embd_rows = 0, embd_elems = 0, out_elems = 0, k_elems = 0;
	bool have_embd = false, have_out = false;
	uint64_t weight_bytes = 0;
	for (size_t i = 0; i < eng_model_n_weights(m); i++) {
		struct eng_tensor_info t;
		eng_model_weight_info(m, i, &t);
		uint64_t elems = 1;
		for (uint32_t k = 0; k < t.n_dims && k < 4; k++)
			elems *= t.ne[k];
		if (d.n_expert && is_expert(t.name)) { /* a token reads and computes with n_expert_used of them */
			weight_bytes += t.nbytes / d.n_expert * d.n_expert_used;
			s->layer_matmul_params += elems / d.n_expert * d.n_expert_used;
			continue;
		}
		weight_bytes += t.nbytes;
		if (!strcmp(t.name, "token_embd.weight")) {
			have_embd = true;
			embd_bytes = t.nbytes;
			embd_rows = t.n_dims >= 2 ? t.ne[1] : 1;
			embd_elems = elems;
		} else if (!strcmp(t.name, "output.weight")) {
			have_out = true;
			out_elems = elems;
		} else if (starts_with(t.name, "blk.") && t.n_dims == 2) {
			s->layer_matmul_params += elems;
		}
		/* the K projection's output width is n_embd_kv; trust the tensor over the metadata */
		if (starts_with(t.name, "blk.0.attn_k.weight") && t.n_dims == 2)
			k_elems = t.ne[1];
	}
	if (!have_embd || embd_rows == 0)
		return mrl_err_set(err, MRL_EINPUT, "%s: no token_embd.weight: cannot size a forward pass", d.path);
	if (k_elems)
		s->n_embd_kv = k_elems;
	const uint64_t row_bytes = embd_bytes / embd_rows;
	/* tied output: the embedding matrix is read whole as the output projection, and
	 * one row of it for the lookup */
	s->weight_bytes_decode = weight_bytes - (have_out ? embd_bytes : 0) + row_bytes;
	s->output_params = have_out ? out_elems : embd_elems;
	return 0;
}

double hrn_bench_decode_bytes_per_token(const struct hrn_bench_shape *s, uint64_t depth, uint64_t n_gen)
{
	if (n_gen == 0)
		return NAN;
	const double mean_positions = (double)depth + (double)(n_gen + 1) / 2.0;
	const double kv = 2.0 * (double)s->kv_elt_bytes * (double)s->n_layer * (double)s->n_embd_kv * mean_positions;
	return (double)s->weight_bytes_decode + kv;
}

double hrn_bench_prefill_flops(const struct hrn_bench_shape *s, uint64_t n)
{
	if (n == 0)
		return NAN;
	const double dn = (double)n;
	return 2.0 * (double)s->layer_matmul_params * dn + 2.0 * (double)s->output_params +
	       4.0 * (double)s->n_layer * (double)(s->n_embd_q ? s->n_embd_q : s->n_embd) * dn * (dn + 1) / 2.0;
}
