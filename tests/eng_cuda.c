/* eng_cuda.c — the CUDA backend against the CPU backend (in the spirit of
 * ggml's test-backend-ops), then whole models on the fixtures.
 *
 * Part 1, every op on random inputs (fresh per check, never zeros), GPU vs
 * the CPU reference, with these tolerances (err = max|gpu - cpu| / max|cpu|
 * unless "abs"):
 *   get_rows F32/F16/BF16/Q8_0/Q4_0  exact (same float ops)
 *   kv_store (f16 bits)              exact (both round to nearest even)
 *   rmsnorm 1e-6, swiglu 1e-6, add/add_row exact, rope 2e-5 abs
 *   attention (decode and prefill, GQA, head sizes 8/64/128)  2e-3 abs: the GPU's
 *       online softmax does not round the weights to f16 as the CPU does
 *   matmul, 1 token (own kernels): 1e-5 for every type (same products;
 *       Q8_0/Q4_0 the same integer block sums)
 *   matmul, 5 and 64 tokens (cuBLAS): F32 1e-5 (pedantic, no TF32), F16 1e-4,
 *       BF16 1e-2 (bf16 activations), Q8_0/Q4_0 2e-2 (f16 activations instead
 *       of the CPU's Q8_0 ones)
 *   log-softmax + gather 1e-9 abs, greedy flags equal
 * Part 2, each fixture model, three prompts: last-token logits after prefill
 * GPU vs CPU (F32/F16 2e-3 abs, quantized 2e-2) and GPU vs llama.cpp's
 * figures (F32/F16 2e-3, Q8_0 2e-2, Q4_0 0.15); 16 greedy steps equal to the
 * CPU's up to the first step whose CPU top-2 margin is below the tolerance;
 * eng_score log-probs on BENCHić (COPA, Serbian Latin) items within 1e-3
 * (F32/F16) or 2e-2 (quantized); two contexts on one model agree; events
 * time the prefill and decode phases.
 *
 * Without a loadable libmerilo-cuda.so or a CUDA device the whole file
 * skips with the reason (CPU-only CI).
 */
#include "tests/tap.h"
#include "tests/float_oracle.h"

#include <dirent.h>
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "engine/cuda/cuda_api.h"
#include "engine/eng_int.h"
#include "engine/types.h"

struct env {
	const struct eng_cuda_api *api;
	const struct eng_ops *g;   /* GPU ops */
	struct eng_exec gex, cex;  /* GPU and CPU executors */
	void *dev;
	uint64_t rng;
};

/* ---- helpers ---- */

static double rnd_normal(uint64_t *s)
{
	double u[2];
	for (int i = 0; i < 2; i++) {
		*s ^= *s << 13;
		*s ^= *s >> 7;
		*s ^= *s << 17;
		u[i] = ((double)(*s >> 11) + 0.5) / 9007199254740992.0;
	}
	return sqrt(-2.0 * log(u[0])) * cos(6.283185307179586 * u[1]);
}

static float *rnd_vec(struct env *e, size_t n, double scale)
{
	float *v = malloc(n * sizeof *v);
	for (size_t i = 0; i < n; i++)
		v[i] = (float)(rnd_normal(&e->rng) * scale);
	return v;
}

static void *d_from(struct env *e, const void *host, size_t bytes)
{
	void *d = e->g->alloc(&e->gex, bytes);
	if (d && host)
		e->g->upload(&e->gex, d, host, bytes);
	return d;
}

static float *h_from(struct env *e, const void *dev, size_t n_floats)
{
	float *h = malloc(n_floats * sizeof *h);
	for (size_t i = 0; i < n_floats; i++)
		h[i] = NAN; /* poison: an unwritten element fails */
	e->g->download(&e->gex, h, dev, n_floats * sizeof *h);
	return h;
}

static bool gpu_ok(struct env *e, const char *what)
{
	char msg[512] = "";
	int rc = e->g->status(&e->gex, msg, sizeof msg);
	if (rc)
		diag("%s: device error %d: %s", what, rc, msg);
	return rc == 0;
}

/* max|a-b| / max|b| (or absolute when rel is false); NaN anywhere -> inf */
static double cmp(const float *got, const float *ref, size_t n, bool rel)
{
	double md = 0.0, mr = 0.0;
	for (size_t i = 0; i < n; i++) {
		if (isnan(got[i]) || isnan(ref[i]))
			return INFINITY;
		double d = fabs((double)got[i] - (double)ref[i]);
		if (d > md)
			md = d;
		if (fabs(ref[i]) > mr)
			mr = fabs(ref[i]);
	}
	return rel ? md / (mr > 0 ? mr : 1.0) : md;
}

static void check_err(double err, double tol, const char *name)
{
	if (!ok(err <= tol, name))
		diag("  error %.3g > tolerance %.3g", err, tol);
	else
		diag("  %s: error %.3g (tolerance %.3g)", name, err, tol);
}

/* A weight matrix of type: host GGUF bytes (malloc'd) from random floats. */
static void make_weight(struct env *e, uint32_t type, uint64_t ne0, uint64_t ne1, struct eng_tensor *host,
			struct eng_tensor *dev)
{
	const struct eng_type_traits *tt = eng_type_get(type);
	uint64_t rb = 0;
	eng_row_size(type, ne0, &rb);
	float *src = rnd_vec(e, ne0 * ne1, 0.5);
	void *data = malloc(rb * ne1);
	for (uint64_t r = 0; r < ne1; r++)
		tt->from_f32(src + r * ne0, (char *)data + r * rb, (int64_t)ne0);
	free(src);
	*host = (struct eng_tensor){ .data = data, .type = type, .ne0 = ne0, .ne1 = ne1, .row_bytes = rb };
	char msg[512] = "";
	if (e->api->tensor_upload(e->dev, dev, host, msg, sizeof msg))
		diag("upload: %s", msg);
}

static void free_weight(struct env *e, struct eng_tensor *host, struct eng_tensor *dev)
{
	e->api->tensor_free(e->dev, dev);
	free((void *)host->data);
}

/* ---- part 1: ops ---- */

static const uint32_t types[] = { ENG_TYPE_F32, ENG_TYPE_F16, ENG_TYPE_BF16, ENG_TYPE_Q8_0, ENG_TYPE_Q4_0 };

static void test_get_rows(struct env *e)
{
	for (size_t ti = 0; ti < sizeof types / sizeof types[0]; ti++) {
		struct eng_tensor hw, dw;
		const uint64_t ne0 = 320, ne1 = 50;
		make_weight(e, types[ti], ne0, ne1, &hw, &dw);
		int32_t ids[7] = { 0, 49, 3, 3, 17, 28, 1 };
		float *ref = calloc(7 * ne0, sizeof *ref);
		eng_cpu_ops.get_rows(&e->cex, &hw, ids, 7, ref);
		float *d_out = d_from(e, NULL, 7 * ne0 * sizeof(float));
		e->g->get_rows(&e->gex, &dw, ids, 7, d_out);
		float *got = h_from(e, d_out, 7 * ne0);
		char name[128];
		snprintf(name, sizeof name, "get_rows %s: equal to the CPU", eng_type_name(types[ti]));
		check_err(gpu_ok(e, name) ? cmp(got, ref, 7 * ne0, false) : INFINITY, 0.0, name);
		free(got);
		free(ref);
		e->g->free(&e->gex, d_out);
		free_weight(e, &hw, &dw);
	}
}

static void test_rows_ops(struct env *e)
{
	const int n_tok = 9, dim = 320;
	const size_t n = (size_t)n_tok * dim;
	float *x = rnd_vec(e, n, 2.0), *w = rnd_vec(e, dim, 1.0), *y = rnd_vec(e, n, 1.0);
	float *ref = calloc(n, sizeof *ref);
	float *dx = d_from(e, x, n * 4), *dw = d_from(e, w, dim * 4), *dy = d_from(e, y, n * 4),
	      *dout = d_from(e, NULL, n * 4);

	eng_cpu_ops.rmsnorm(&e->cex, x, w, n_tok, dim, 1e-5f, ref);
	e->g->rmsnorm(&e->gex, dx, dw, n_tok, dim, 1e-5f, dout);
	float *got = h_from(e, dout, n);
	check_err(gpu_ok(e, "rmsnorm") ? cmp(got, ref, n, true) : INFINITY, 1e-6, "rmsnorm");
	free(got);

	memcpy(ref, x, n * 4);
	eng_cpu_ops.swiglu(&e->cex, ref, y, n);
	e->g->upload(&e->gex, dout, x, n * 4);
	e->g->swiglu(&e->gex, dout, dy, n);
	got = h_from(e, dout, n);
	check_err(gpu_ok(e, "swiglu") ? cmp(got, ref, n, true) : INFINITY, 1e-6, "swiglu");
	free(got);

	memcpy(ref, x, n * 4);
	eng_cpu_ops.add(&e->cex, ref, y, n);
	e->g->upload(&e->gex, dout, x, n * 4);
	e->g->add(&e->gex, dout, dy, n);
	got = h_from(e, dout, n);
	check_err(gpu_ok(e, "add") ? cmp(got, ref, n, false) : INFINITY, 0.0, "add");
	free(got);

	memcpy(ref, x, n * 4);
	eng_cpu_ops.add_row(&e->cex, ref, w, n_tok, dim);
	e->g->upload(&e->gex, dout, x, n * 4);
	e->g->add_row(&e->gex, dout, dw, n_tok, dim);
	got = h_from(e, dout, n);
	check_err(gpu_ok(e, "add_row") ? cmp(got, ref, n, false) : INFINITY, 0.0, "add_row");
	free(got);

	/* rope: 4 heads of 80 (n_rot 64 < head_dim), positions 300.. */
	const enum eng_rope_kind kinds[] = { ENG_ROPE_NORM, ENG_ROPE_NEOX };
	for (int k = 0; k < 2; k++) {
		const struct eng_rope r = { .kind = kinds[k], .freq_base = 10000.0f, .s = { .freq_scale = 1, .mscale = 1 } };
		memcpy(ref, x, n * 4);
		eng_cpu_ops.rope(&e->cex, ref, n_tok, 4, 80, 64, 300, &r);
		e->g->upload(&e->gex, dout, x, n * 4);
		e->g->rope(&e->gex, dout, n_tok, 4, 80, 64, 300, &r);
		got = h_from(e, dout, n);
		check_err(gpu_ok(e, "rope") ? cmp(got, ref, n, false) : INFINITY, 2e-5,
			  k ? "rope neox (halves)" : "rope llama (adjacent pairs)");
		free(got);
	}
	e->g->free(&e->gex, dx);
	e->g->free(&e->gex, dw);
	e->g->free(&e->gex, dy);
	e->g->free(&e->gex, dout);
	free(x);
	free(w);
	free(y);
	free(ref);
}

/* KV store then attention for n_tok queries at pos0, on both backends. */
static void test_attention(struct env *e, int n_head, int n_head_kv, int hd, uint32_t pos0, int n_tok)
{
	const uint32_t n_ctx = 256, kvd = (uint32_t)(n_head_kv * hd);
	const size_t nq = (size_t)n_tok * n_head * hd;
	void *hk = calloc((size_t)n_ctx * kvd, 2), *hv = calloc((size_t)n_ctx * kvd, 2);
	void *dk = d_from(e, NULL, (size_t)n_ctx * kvd * 2), *dv = d_from(e, NULL, (size_t)n_ctx * kvd * 2);
	struct eng_kv hkv = { .k = &hk, .v = &hv, .n_layer = 1, .n_embd_kv = kvd, .n_ctx = n_ctx };
	struct eng_kv dkv = { .k = &dk, .v = &dv, .n_layer = 1, .n_embd_kv = kvd, .n_ctx = n_ctx };
	/* the earlier positions, then this batch, through kv_store on both */
	uint32_t total = pos0 + (uint32_t)n_tok;
	float *k = rnd_vec(e, (size_t)total * kvd, 1.0), *v = rnd_vec(e, (size_t)total * kvd, 1.0);
	float *dkf = d_from(e, k, (size_t)total * kvd * 4), *dvf = d_from(e, v, (size_t)total * kvd * 4);
	eng_cpu_ops.kv_store(&e->cex, &hkv, 0, 0, (int)total, k, v);
	e->g->kv_store(&e->gex, &dkv, 0, 0, (int)total, dkf, dvf);
	uint16_t *kb = malloc((size_t)total * kvd * 2);
	e->g->download(&e->gex, kb, dk, (size_t)total * kvd * 2);
	char name[160];
	snprintf(name, sizeof name, "kv_store: f16 cache bits equal (%u positions of %u)", total, kvd);
	ok(gpu_ok(e, name) && memcmp(kb, hk, (size_t)total * kvd * 2) == 0, name);
	free(kb);

	float *q = rnd_vec(e, nq, 1.0), *ref = calloc(nq, sizeof *ref);
	float *dq = d_from(e, q, nq * 4), *dout = d_from(e, NULL, nq * 4);
	eng_cpu_ops.attention(&e->cex, &hkv, 0, q, n_tok, pos0, n_head, n_head_kv, hd, 0, ref);
	e->g->attention(&e->gex, &dkv, 0, dq, n_tok, pos0, n_head, n_head_kv, hd, 0, dout);
	float *got = h_from(e, dout, nq);
	snprintf(name, sizeof name, "attention %s: %d queries at %u, %d/%d heads of %d", n_tok <= 4 ? "decode" : "prefill",
		 n_tok, pos0, n_head, n_head_kv, hd);
	check_err(gpu_ok(e, name) ? cmp(got, ref, nq, false) : INFINITY, 2e-3, name);
	free(got);
	free(q);
	free(ref);
	free(k);
	free(v);
	free(hk);
	free(hv);
	void *bufs[] = { dk, dv, dkf, dvf, dq, dout };
	for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
		e->g->free(&e->gex, bufs[i]);
}

/* Several sequences in one micro-batch: rope_pos, kv_store_pos and
 * attention_pos of 24 tokens in 3 slots of 64 rows, each at its own position,
 * against the CPU's ops (same tolerances as one sequence); then the device
 * memmove (copy) on overlapping ranges both ways against memmove. */
static void test_multi_ops(struct env *e)
{
	enum { SLOTS = 3, SLOT_ROWS = 64, N_TOK = 24, NH = 8, NKV = 2, HD = 64 };
	const uint32_t rows = SLOTS * SLOT_ROWS, kvd = NKV * HD;
	const size_t nq = (size_t)N_TOK * NH * HD, nk = (size_t)N_TOK * kvd;
	uint32_t pos[N_TOK], base[N_TOK];
	bool used[SLOTS][SLOT_ROWS] = { { false } };
	for (int t = 0; t < N_TOK; t++) { /* distinct rows, so the stores do not race */
		uint32_t s, p;
		do {
			s = (uint32_t)(rnd_normal(&e->rng) * 1e6) % SLOTS;
			p = (uint32_t)(fabs(rnd_normal(&e->rng)) * 1e6) % SLOT_ROWS;
		} while (used[s][p]);
		used[s][p] = true;
		pos[t] = p;
		base[t] = s * SLOT_ROWS;
	}
	char name[160];
	/* rope at each token's own position */
	float *x = rnd_vec(e, nq, 1.0), *ref = malloc(nq * 4);
	float *dx = d_from(e, x, nq * 4);
	memcpy(ref, x, nq * 4);
	const struct eng_rope r = { .kind = ENG_ROPE_NORM, .freq_base = 10000.0f, .s = { .freq_scale = 1, .mscale = 1 } };
	eng_cpu_ops.rope_pos(&e->cex, ref, N_TOK, NH, HD, HD, pos, &r);
	e->g->rope_pos(&e->gex, dx, N_TOK, NH, HD, HD, pos, &r);
	float *got = h_from(e, dx, nq);
	check_err(gpu_ok(e, "rope_pos") ? cmp(got, ref, nq, false) : INFINITY, 2e-5,
		  "rope_pos: 24 tokens at their own positions");
	free(got);

	/* the cache: every row from kv_store, then the 24 tokens' rows overwritten by kv_store_pos */
	void *hk = calloc((size_t)rows * kvd, 2), *hv = calloc((size_t)rows * kvd, 2);
	void *dk = d_from(e, NULL, (size_t)rows * kvd * 2), *dv = d_from(e, NULL, (size_t)rows * kvd * 2);
	struct eng_kv hkv = { .k = &hk, .v = &hv, .n_layer = 1, .n_embd_kv = kvd, .n_ctx = rows };
	struct eng_kv dkv = { .k = &dk, .v = &dv, .n_layer = 1, .n_embd_kv = kvd, .n_ctx = rows };
	float *k = rnd_vec(e, (size_t)rows * kvd, 1.0), *v = rnd_vec(e, (size_t)rows * kvd, 1.0);
	float *dkf = d_from(e, k, (size_t)rows * kvd * 4), *dvf = d_from(e, v, (size_t)rows * kvd * 4);
	eng_cpu_ops.kv_store(&e->cex, &hkv, 0, 0, (int)rows, k, v);
	e->g->kv_store(&e->gex, &dkv, 0, 0, (int)rows, dkf, dvf);
	float *k2 = rnd_vec(e, nk, 1.0), *v2 = rnd_vec(e, nk, 1.0);
	float *dk2 = d_from(e, k2, nk * 4), *dv2 = d_from(e, v2, nk * 4);
	eng_cpu_ops.kv_store_pos(&e->cex, &hkv, 0, pos, base, N_TOK, k2, v2);
	e->g->kv_store_pos(&e->gex, &dkv, 0, pos, base, N_TOK, dk2, dv2);
	uint16_t *kb = malloc((size_t)rows * kvd * 2), *vb = malloc((size_t)rows * kvd * 2);
	e->g->download(&e->gex, kb, dk, (size_t)rows * kvd * 2);
	e->g->download(&e->gex, vb, dv, (size_t)rows * kvd * 2);
	snprintf(name, sizeof name, "kv_store_pos: f16 cache bits equal (24 tokens into 3 slots)");
	ok(gpu_ok(e, name) && !memcmp(kb, hk, (size_t)rows * kvd * 2) && !memcmp(vb, hv, (size_t)rows * kvd * 2), name);

	/* attention: token t over rows base[t] .. base[t] + pos[t] */
	float *q = rnd_vec(e, nq, 1.0), *dq = d_from(e, q, nq * 4), *dout = d_from(e, NULL, nq * 4);
	eng_cpu_ops.attention_pos(&e->cex, &hkv, 0, q, N_TOK, pos, base, NH, NKV, HD, 0, ref);
	e->g->attention_pos(&e->gex, &dkv, 0, dq, N_TOK, pos, base, NH, NKV, HD, 0, dout);
	got = h_from(e, dout, nq);
	check_err(gpu_ok(e, "attention_pos") ? cmp(got, ref, nq, false) : INFINITY, 2e-3,
		  "attention_pos: 24 tokens of 3 slots, GQA 4, head size 64");
	free(got);

	/* copy: memmove within device memory, overlapping forward and backward */
	const size_t nb = 10000;
	unsigned char *hb = malloc(nb), *gb = malloc(nb);
	for (size_t i = 0; i < nb; i++)
		hb[i] = (unsigned char)(i * 7 + i / 251);
	unsigned char *db = d_from(e, hb, nb);
	static const struct { size_t to, from, n; } mv[] = { { 3, 0, 9000 }, { 0, 700, 9000 }, { 5000, 100, 4000 } };
	for (size_t i = 0; i < sizeof mv / sizeof mv[0]; i++) {
		memmove(hb + mv[i].to, hb + mv[i].from, mv[i].n);
		e->g->copy(&e->gex, db + mv[i].to, db + mv[i].from, mv[i].n);
	}
	e->g->download(&e->gex, gb, db, nb);
	const bool same = gpu_ok(e, "copy") && !memcmp(gb, hb, nb);
	ok(same, "copy: device memmove equals memmove (overlapping both ways, and apart)");
	free(hb);
	free(gb);

	free(x);
	free(ref);
	free(k);
	free(v);
	free(k2);
	free(v2);
	free(q);
	free(kb);
	free(vb);
	free(hk);
	free(hv);
	void *bufs[] = { dx, dk, dv, dkf, dvf, dk2, dv2, dq, dout, db };
	for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
		e->g->free(&e->gex, bufs[i]);
}

static void test_matmul(struct env *e)
{
	const int toks[] = { 1, 5, 64 };
	const uint64_t ne0 = 320, ne1 = 67; /* rows not a multiple of the 4 rows per block */
	for (size_t ti = 0; ti < sizeof types / sizeof types[0]; ti++) {
		struct eng_tensor hw, dw;
		make_weight(e, types[ti], ne0, ne1, &hw, &dw);
		for (size_t k = 0; k < sizeof toks / sizeof toks[0]; k++) {
			const int n_tok = toks[k];
			const size_t out_stride = ne1 + 3; /* a stride wider than the row, as for logits */
			float *x = rnd_vec(e, (size_t)n_tok * ne0, 1.0);
			float *ref = calloc((size_t)n_tok * out_stride, sizeof *ref);
			float *dx = d_from(e, x, (size_t)n_tok * ne0 * 4);
			float *dout = d_from(e, ref, (size_t)n_tok * out_stride * 4); /* zeros in the gaps, as ref */
			eng_cpu_ops.matmul(&e->cex, &hw, x, n_tok, ref, out_stride);
			e->g->matmul(&e->gex, &dw, dx, n_tok, dout, out_stride);
			float *got = h_from(e, dout, (size_t)n_tok * out_stride);
			double tol;
			uint32_t t = types[ti];
			if (n_tok == 1)
				tol = 1e-5;
			else
				tol = t == ENG_TYPE_F32 ? 1e-5 : t == ENG_TYPE_F16 ? 1e-4 : t == ENG_TYPE_BF16 ? 1e-2 : 2e-2;
			char name[128];
			snprintf(name, sizeof name, "matmul %s, %d token%s (%s)", eng_type_name(t), n_tok, n_tok > 1 ? "s" : "",
				 n_tok == 1 ? "own kernel" : "cuBLAS");
			check_err(gpu_ok(e, name) ? cmp(got, ref, (size_t)n_tok * out_stride, true) : INFINITY, tol, name);
			free(got);
			free(x);
			free(ref);
			e->g->free(&e->gex, dx);
			e->g->free(&e->gex, dout);
		}
		free_weight(e, &hw, &dw);
	}
}

static void test_logsoftmax(struct env *e)
{
	const int rows = 5, nv = 1000;
	float *lg = rnd_vec(e, (size_t)rows * nv, 3.0);
	lg[2 * nv + 10] = lg[2 * nv + 20] = 50.0f; /* a tie: the first index is the argmax */
	int32_t tg[5] = { 7, 999, 10, 20, 0 };
	float *dl = d_from(e, lg, (size_t)rows * nv * 4);
	double lp[5];
	bool gr[5];
	e->api->logsoftmax_gather(&e->gex, dl, rows, nv, tg, lp, gr);
	double md = 0.0;
	bool same = gpu_ok(e, "logsoftmax_gather");
	for (int r = 0; r < rows; r++) {
		const float *x = lg + (size_t)r * nv;
		float mx = x[0];
		int am = 0;
		for (int i = 1; i < nv; i++)
			if (x[i] > mx) {
				mx = x[i];
				am = i;
			}
		double s = 0.0;
		for (int i = 0; i < nv; i++)
			s += exp((double)x[i] - (double)mx);
		double want = ((double)x[tg[r]] - (double)mx) - log(s);
		if (fabs(lp[r] - want) > md || isnan(lp[r]))
			md = isnan(lp[r]) ? INFINITY : fabs(lp[r] - want);
		same = same && gr[r] == (tg[r] == am);
	}
	check_err(md, 1e-9, "log-softmax + gather: log-probs");
	ok(same, "log-softmax + gather: greedy flags (ties to the first index)");
	e->g->free(&e->gex, dl);
	free(lg);
}

/* ---- part 2: fixture models ---- */

struct prec {
	const char *suffix;
	double cpu_tol, ref_tol, score_tol;
};

static const struct prec precs[] = {
	{ "-f32", 2e-3, 2e-3, 1e-3 },
	{ "-f16", 2e-3, 2e-3, 1e-3 },
	{ "-q8_0", 2e-2, 2e-2, 2e-2 },
	{ "-q4_0", 2e-2, 0.15, 2e-2 },
};

static int argmax2(const float *v, size_t n, double *margin)
{
	size_t b = 0, s = 1;
	for (size_t i = 1; i < n; i++)
		if (v[i] > v[b])
			b = i;
	s = b == 0 ? 1 : 0;
	for (size_t i = 0; i < n; i++)
		if (i != b && v[i] > v[s])
			s = i;
	*margin = (double)v[b] - (double)v[s];
	return (int)b;
}

static void check_prompt(struct eng_model *mc, struct eng_model *mg, const char *exp_dir, const char *stem,
			 const char *p, const struct prec *pr)
{
	char path[2048], name[700];
	snprintf(path, sizeof path, "%s/%s.json", exp_dir, p);
	json_t *j = json_load_file(path, 0, NULL);
	if (!j) {
		skip("no reference json", path);
		return;
	}
	json_t *jp = json_object_get(j, "prompt_tokens");
	size_t n_ids = json_array_size(jp);
	int32_t *ids = malloc((n_ids + 1) * sizeof *ids);
	for (size_t i = 0; i < n_ids; i++)
		ids[i] = (int32_t)json_integer_value(json_array_get(jp, i));
	struct eng_model_desc d;
	eng_model_describe(mc, &d);
	struct mrl_err err = { 0 };
	struct eng_ctx *cc = NULL, *cg = NULL, *cg2 = NULL;
	float *lc = malloc(d.n_vocab * 4), *lg = malloc(d.n_vocab * 4), *lg2 = malloc(d.n_vocab * 4);
	snprintf(name, sizeof name, "%s %s: GPU context made and prompt decoded", stem, p);
	int rc = eng_ctx_new(&cc, mc, 0, &err) || eng_ctx_new(&cg, mg, 0, &err) || eng_ctx_new(&cg2, mg, 0, &err) ||
		 eng_decode(cc, ids, n_ids, lc, false, &err) || eng_decode(cg, ids, n_ids, lg, false, &err) ||
		 eng_decode(cg2, ids, n_ids, lg2, false, &err);
	if (!ok(rc == 0, name)) {
		diag("%s", err.msg);
		goto out;
	}
	snprintf(name, sizeof name, "%s %s: prefill logits GPU vs CPU", stem, p);
	check_err(cmp(lg, lc, d.n_vocab, false), pr->cpu_tol, name);
	snprintf(name, sizeof name, "%s %s: two GPU contexts on one model agree bit for bit", stem, p);
	ok(memcmp(lg, lg2, d.n_vocab * 4) == 0, name);
	snprintf(path, sizeof path, "%s/%s.logits.txt", exp_dir, p);
	size_t n_ref = 0;
	float *ref = read_floats(path, &n_ref);
	snprintf(name, sizeof name, "%s %s: prefill logits GPU vs llama.cpp", stem, p);
	if (ref && n_ref == d.n_vocab)
		check_err(cmp(lg, ref, d.n_vocab, false), pr->ref_tol, name);
	else
		skip("reference logits missing", name);
	free(ref);

	/* 16 greedy steps: each backend follows its own argmax; compare while the CPU's margin is clear */
	bool same = true, clear = true;
	double worst = 0.0;
	int steps = 0;
	for (int s = 0; s < 16 && clear; s++) {
		double margin;
		int tc = argmax2(lc, d.n_vocab, &margin), tg = argmax2(lg, d.n_vocab, &(double){ 0 });
		if (margin < pr->cpu_tol) {
			clear = false;
			break;
		}
		steps++;
		if (tc != tg) {
			same = false;
			diag("%s %s: step %d: CPU %d, GPU %d (CPU margin %.3g)", stem, p, s, tc, tg, margin);
			break;
		}
		if (eng_decode(cc, &tc, 1, lc, false, &err) || eng_decode(cg, &tg, 1, lg, false, &err)) {
			same = false;
			diag("%s", err.msg);
			break;
		}
		double dd = cmp(lg, lc, d.n_vocab, false);
		if (dd > worst)
			worst = dd;
	}
	snprintf(name, sizeof name, "%s %s: greedy ids equal to the CPU's (%d steps with a clear margin)", stem, p, steps);
	ok(same, name);
	snprintf(name, sizeof name, "%s %s: decode-step logits GPU vs CPU (own matrix-vector kernels)", stem, p);
	check_err(worst, pr->cpu_tol, name);

	double ms[ENG_PHASE_COUNT];
	uint64_t calls[ENG_PHASE_COUNT];
	eng_ctx_phase_times(cg, ms, calls);
	snprintf(name, sizeof name, "%s %s: events timed prefill (%.3f ms) and decode (%llu calls, %.3f ms)", stem, p,
		 ms[ENG_PHASE_PREFILL], (unsigned long long)calls[ENG_PHASE_DECODE], ms[ENG_PHASE_DECODE]);
	ok(calls[ENG_PHASE_PREFILL] >= 1 && ms[ENG_PHASE_PREFILL] > 0.0 && calls[ENG_PHASE_DECODE] == (uint64_t)steps &&
		   (steps == 0 || ms[ENG_PHASE_DECODE] > 0.0),
	   name);
out:
	eng_ctx_free(cc);
	eng_ctx_free(cg);
	eng_ctx_free(cg2);
	free(lc);
	free(lg);
	free(lg2);
	free(ids);
	json_decref(j);
}

/* eng_score on the first BENCHić COPA items: premise + connector, each choice. */
static void check_score(struct eng_model *mc, struct eng_model *mg, const char *fx, const char *stem,
			const struct prec *pr)
{
	char path[1024], name[600];
	snprintf(path, sizeof path, "%s/data/benchich-copa/test-sr-lat.jsonl", fx);
	snprintf(name, sizeof name, "%s: eng_score log-probs on BENCHić items, GPU vs CPU", stem);
	FILE *f = fopen(path, "r");
	if (!f) {
		skip("BENCHić data absent", name);
		return;
	}
	enum { N_ITEMS = 12 };
	struct eng_score_req reqs[2 * N_ITEMS];
	int32_t *bufs[4 * N_ITEMS] = { 0 };
	size_t n_req = 0, n_buf = 0;
	char line[4096];
	struct mrl_err err = { 0 };
	while (n_req < 2 * N_ITEMS && fgets(line, sizeof line, f)) {
		json_t *j = json_loads(line, 0, NULL);
		if (!j)
			continue;
		char ctx[2048];
		const char *q = json_string_value(json_object_get(j, "question"));
		snprintf(ctx, sizeof ctx, "%s %s", json_string_value(json_object_get(j, "premise")),
			 q && !strcmp(q, "cause") ? "Zato što" : "Zbog toga");
		int32_t *ci = NULL;
		size_t nc = 0;
		if (eng_tokenize(mc, ctx, strlen(ctx), true, &ci, &nc, &err) == 0) {
			bufs[n_buf++] = ci;
			for (int k = 1; k <= 2; k++) {
				char key[32], cont[1024];
				snprintf(key, sizeof key, "choice%d", k);
				snprintf(cont, sizeof cont, " %s", json_string_value(json_object_get(j, key)));
				int32_t *ti = NULL;
				size_t nt = 0;
				if (eng_tokenize(mc, cont, strlen(cont), false, &ti, &nt, &err) == 0 && nt > 0) {
					bufs[n_buf++] = ti;
					reqs[n_req++] = (struct eng_score_req){ ci, nc, ti, nt };
				} else {
					free(ti);
				}
			}
		}
		json_decref(j);
	}
	fclose(f);
	struct eng_score_res rc_[2 * N_ITEMS], rg[2 * N_ITEMS];
	double *lpc[2 * N_ITEMS], *lpg[2 * N_ITEMS];
	bool *gc[2 * N_ITEMS], *gg[2 * N_ITEMS];
	for (size_t i = 0; i < n_req; i++) {
		lpc[i] = calloc(reqs[i].n_cont, sizeof(double));
		lpg[i] = calloc(reqs[i].n_cont, sizeof(double));
		gc[i] = calloc(reqs[i].n_cont, sizeof(bool));
		gg[i] = calloc(reqs[i].n_cont, sizeof(bool));
		rc_[i] = (struct eng_score_res){ .logprob = lpc[i], .is_greedy = gc[i] };
		rg[i] = (struct eng_score_res){ .logprob = lpg[i], .is_greedy = gg[i] };
	}
	struct eng_ctx *cc = NULL, *cg = NULL;
	int rc = eng_ctx_new(&cc, mc, 0, &err) || eng_ctx_new(&cg, mg, 0, &err) ||
		 eng_score(cc, reqs, n_req, rc_, &err) || eng_score(cg, reqs, n_req, rg, &err);
	double worst = 0.0;
	size_t n_tok = 0;
	for (size_t i = 0; rc == 0 && i < n_req; i++)
		for (size_t k = 0; k < reqs[i].n_cont; k++, n_tok++) {
			double dd = isnan(lpg[i][k]) ? INFINITY : fabs(lpg[i][k] - lpc[i][k]);
			if (dd > worst)
				worst = dd;
		}
	if (rc)
		diag("%s", err.msg);
	diag("%s: %zu requests, %zu scored tokens", stem, n_req, n_tok);
	check_err(rc == 0 && n_req > 0 ? worst : INFINITY, pr->score_tol, name);

	/* batched scoring on a GPU context of 4 sequences (the items side by side in
	 * shared forward calls, prefixes copied between slots on the device) */
	struct eng_ctx *cm = NULL;
	size_t groups[2 * N_ITEMS];
	for (size_t i = 0; i < n_req; i++) {
		groups[i] = 1;
		memset(lpg[i], 0, reqs[i].n_cont * sizeof(double));
	}
	struct eng_score_stats work[2 * N_ITEMS];
	int rb = rc || eng_ctx_new_multi(&cm, mg, 0, 4, &err) ||
		 eng_score_batch(cm, reqs, groups, n_req, rg, 0, NULL, work, &err);
	if (rb)
		diag("%s", err.msg);
	worst = 0.0;
	for (size_t i = 0; !rb && i < n_req; i++)
		for (size_t k = 0; k < reqs[i].n_cont; k++) {
			double dd = isnan(lpg[i][k]) ? INFINITY : fabs(lpg[i][k] - lpc[i][k]);
			if (dd > worst)
				worst = dd;
		}
	snprintf(name, sizeof name, "%s: eng_score_batch on a 4-sequence GPU context vs eng_score on the CPU", stem);
	check_err(!rb && n_req > 0 ? worst : INFINITY, pr->score_tol, name);
	eng_ctx_free(cm);
	eng_ctx_free(cc);
	eng_ctx_free(cg);
	for (size_t i = 0; i < n_req; i++) {
		free(lpc[i]);
		free(lpg[i]);
		free(gc[i]);
		free(gg[i]);
	}
	for (size_t i = 0; i < n_buf; i++)
		free(bufs[i]);
}

/* Every token's logits of ids alone in a fresh one-sequence context, on the CPU
 * model and on the GPU one (n rows of n_vocab each, malloc'd); false on failure. */
static bool alone_logits(struct eng_model *mc, struct eng_model *mg, const int32_t *ids, size_t n, uint32_t n_ctx,
			 float **cpu, float **gpu, struct mrl_err *err)
{
	struct eng_model_desc d;
	eng_model_describe(mc, &d);
	*cpu = malloc(n * d.n_vocab * 4);
	*gpu = malloc(n * d.n_vocab * 4);
	struct eng_ctx *a = NULL, *b = NULL;
	bool made = *cpu && *gpu && !eng_ctx_new(&a, mc, n_ctx, err) && !eng_ctx_new(&b, mg, n_ctx, err) &&
		    !eng_decode(a, ids, n, *cpu, true, err) && !eng_decode(b, ids, n, *gpu, true, err);
	eng_ctx_free(a);
	eng_ctx_free(b);
	return made;
}

/* Several sequences in one GPU context (multi-sequence ops): four random token
 * sequences fed interleaved in calls of odd sizes, every row's logits against
 * the CPU's for that sequence alone and against the GPU's for it alone (the
 * GPU is not bit-identical across batch splits: cuBLAS picks kernels by
 * shape); then a prefix copied to another slot on the device and fed on. */
static void check_multi(struct eng_model *mc, struct eng_model *mg, const char *stem, const struct prec *pr)
{
	enum { NS = 4, MAXL = 90, CTX = 128 };
	static const size_t len[NS] = { 1, 37, 90, 17 };
	struct eng_model_desc d;
	eng_model_describe(mc, &d);
	const size_t nv = d.n_vocab;
	int32_t toks[NS][MAXL];
	uint64_t r = 7;
	for (int s = 0; s < NS; s++)
		for (size_t i = 0; i < len[s]; i++) {
			r = r * 6364136223846793005ull + 1442695040888963407ull;
			toks[s][i] = (int32_t)((r >> 33) % nv);
		}
	struct mrl_err err = { 0 };
	char name[600];
	float *cpu[NS] = { 0 }, *gpu1[NS] = { 0 };
	struct eng_ctx *c = NULL;
	size_t total = 0;
	bool made = true;
	for (int s = 0; s < NS && made; s++) {
		total += len[s];
		made = alone_logits(mc, mg, toks[s], len[s], CTX, &cpu[s], &gpu1[s], &err);
	}
	snprintf(name, sizeof name, "%s: a GPU context of %d sequences made", stem, NS + 1);
	if (!ok(made && !eng_ctx_new_multi(&c, mg, CTX, NS + 1, &err), name)) {
		diag("%s", err.msg);
		goto out;
	}
	int32_t *tk = malloc(total * sizeof *tk);
	uint32_t *sq = malloc(total * sizeof *sq), *at = malloc(total * sizeof *at);
	float *lg = malloc(total * nv * 4);
	size_t fed[NS] = { 0 };
	for (size_t i = 0; i < total; i++) {
		uint32_t s;
		do {
			r = r * 6364136223846793005ull + 1442695040888963407ull;
			s = (uint32_t)((r >> 33) % NS);
		} while (fed[s] == len[s]);
		sq[i] = s + 1;
		at[i] = (uint32_t)fed[s];
		tk[i] = toks[s][fed[s]++];
	}
	static const size_t calls[] = { 1, 7, 60, 13, 2, 64 };
	double wc = 0.0, wg = 0.0;
	bool fwd = true;
	for (size_t done = 0, k = 0; done < total && fwd; k = (k + 1) % 6) {
		size_t n = total - done < calls[k] ? total - done : calls[k];
		if (!(fwd = !eng_forward_batch(c, tk + done, sq + done, n, NULL, NULL, &err)))
			break;
		done += n;
	}
	/* the rows themselves: a second context fed the same way, logits for every token */
	struct eng_ctx *c2 = NULL;
	bool *want = malloc(total * sizeof *want);
	for (size_t i = 0; i < total; i++)
		want[i] = true;
	if (fwd && !eng_ctx_new_multi(&c2, mg, CTX, NS + 1, &err)) {
		for (size_t done = 0, k = 0; done < total && fwd; k = (k + 1) % 6) {
			size_t n = total - done < calls[k] ? total - done : calls[k];
			if (!(fwd = !eng_forward_batch(c2, tk + done, sq + done, n, want, lg, &err)))
				break;
			for (size_t i = done; i < done + n; i++) {
				const float *row = lg + (i - done) * nv;
				double dc = cmp(row, cpu[sq[i] - 1] + (size_t)at[i] * nv, nv, false);
				double dg = cmp(row, gpu1[sq[i] - 1] + (size_t)at[i] * nv, nv, false);
				wc = dc > wc ? dc : wc;
				wg = dg > wg ? dg : wg;
			}
			done += n;
		}
	} else {
		fwd = false;
	}
	if (!fwd)
		diag("%s", err.msg);
	snprintf(name, sizeof name, "%s: %zu tokens of %d sequences interleaved: each row vs the CPU alone", stem,
		 total, NS);
	check_err(fwd ? wc : INFINITY, pr->cpu_tol, name);
	snprintf(name, sizeof name, "%s: ... and vs the GPU alone", stem);
	check_err(fwd ? wg : INFINITY, pr->cpu_tol, name);
	bool slots = fwd;
	for (int s = 0; s < NS; s++)
		slots = slots && eng_seq_pos(c2, (uint32_t)s + 1) == len[s];
	snprintf(name, sizeof name, "%s: each slot holds its sequence", stem);
	ok(slots, name);

	/* slot 3 (sequence 2, 90 tokens): 30 positions copied to slot 1, then 17 tokens of sequence 3 */
	int32_t cat[30 + 17];
	memcpy(cat, toks[2], 30 * sizeof *cat);
	memcpy(cat + 30, toks[3], 17 * sizeof *cat);
	float *ref = malloc((30 + 17) * nv * 4);
	struct eng_ctx *a = NULL;
	uint32_t one[17];
	for (int i = 0; i < 17; i++)
		one[i] = 1;
	int rc = !fwd || eng_ctx_new(&a, mc, CTX, &err) || eng_decode(a, cat, 30 + 17, ref, true, &err) ||
		 eng_seq_copy(c2, 3, 1, 30, &err) || eng_forward_batch(c2, toks[3], one, 17, want, lg, &err);
	eng_ctx_free(a);
	if (rc)
		diag("%s", err.msg);
	snprintf(name, sizeof name, "%s: a prefix copied between slots on the device computes as the tokens (vs CPU)",
		 stem);
	check_err(rc ? INFINITY : cmp(lg, ref + 30 * nv, 17 * nv, false), pr->cpu_tol, name);
	free(ref);
	eng_ctx_free(c2);
	free(want);
	free(tk);
	free(sq);
	free(at);
	free(lg);
out:
	eng_ctx_free(c);
	for (int s = 0; s < NS; s++) {
		free(cpu[s]);
		free(gpu1[s]);
	}
}

static void test_models(void)
{
	const char *fx = fixtures_dir();
	if (!fx) {
		skip("fixtures absent: ../shared/fixtures", "fixture models on the GPU");
		return;
	}
	char dir[1024];
	snprintf(dir, sizeof dir, "%s/models", fx);
	DIR *dp = opendir(dir);
	if (!dp) {
		skip("no models folder", "fixture models on the GPU");
		return;
	}
	struct dirent *de;
	static const char *const prompts[] = { "en", "sr-latn", "sr-cyrl" };
	while ((de = readdir(dp))) {
		size_t len = strlen(de->d_name);
		if (len < 6 || strcmp(de->d_name + len - 5, ".gguf"))
			continue;
		char stem[256], path[1400], exp_dir[1400], name[600];
		snprintf(stem, sizeof stem, "%.*s", (int)(len - 5), de->d_name);
		snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
		snprintf(exp_dir, sizeof exp_dir, "%s/expected/%s", fx, stem);
		const struct prec *pr = NULL;
		for (size_t i = 0; i < sizeof precs / sizeof precs[0]; i++) {
			size_t lx = strlen(precs[i].suffix);
			if (strlen(stem) > lx && !strcmp(stem + strlen(stem) - lx, precs[i].suffix))
				pr = &precs[i];
		}
		struct mrl_err err = { 0 };
		struct eng_model *mc = NULL, *mg = NULL;
		struct eng_open_opts oc = { .n_threads = 2 }, og = { .backend = ENG_BACKEND_CUDA };
		snprintf(name, sizeof name, "%s on the GPU", stem);
		if (!pr || eng_model_open(&mc, path, &oc, &err)) {
			skip(pr ? err.msg : "weight type not in the tolerance table", name); /* e.g. an arch the CPU lacks */
			continue;
		}
		snprintf(name, sizeof name, "%s: opens with the CUDA backend (weights uploaded)", stem);
		if (!ok(eng_model_open(&mg, path, &og, &err) == 0, name)) {
			diag("%s", err.msg);
			eng_model_close(mc);
			continue;
		}
		for (size_t i = 0; i < 3; i++)
			check_prompt(mc, mg, exp_dir, stem, prompts[i], pr);
		check_score(mc, mg, fx, stem, pr);
		check_multi(mc, mg, stem, pr);
		eng_model_close(mg);
		eng_model_close(mc);
	}
	closedir(dp);
}

int main(void)
{
	struct env e = { .rng = 0x9e3779b97f4a7c15ull };
	struct mrl_err err = { 0 };
	void *lib = NULL;
	char desc[256] = "", msg[512] = "", reason[1200];
	if (eng_cuda_load(&e.api, &lib, &err)) {
		snprintf(reason, sizeof reason, "no CUDA device (%s)", err.msg);
		skip_all(reason);
	}
	if (e.api->device_open(&e.dev, desc, sizeof desc, msg, sizeof msg)) {
		snprintf(reason, sizeof reason, "no CUDA device (%s)", msg);
		eng_cuda_unload(lib);
		skip_all(reason);
	}
	diag("device: %s", desc);
	e.g = e.api->ops;

	/* the CPU executor, as eng_ctx_new sets one up */
	if (eng_pool_new(&e.cex.pool, 2, false, &err))
		skip_all(err.msg);
	e.cex.n_threads = eng_pool_n_threads(e.cex.pool);
	e.cex.n_ctx = 256;
	e.cex.kv_f16 = e.cex.q8_act = e.cex.f16_act = true;
	e.cex.scores_stride = ENG_ATT_QUERIES * (256 + 256) + 16; /* as ctx_alloc: n_ctx 256, head_dim up to 256 */
	e.cex.scores = calloc((size_t)e.cex.n_threads * e.cex.scores_stride, sizeof(float));
	e.cex.xq_size = 64 * 1024 * sizeof(float);
	e.cex.xq = calloc(e.cex.xq_size, 1);
	struct eng_exec_sizes sz = { .n_ubatch = 64, .n_ctx = 256, .n_vocab = 1000, .head_dim = 128, .max_in = 1024,
				     .max_qweight = 1024 * 1024 };
	int rc = e.g->exec_init(&e.gex, &sz, msg, sizeof msg);
	if (!ok(rc == 0, "GPU executor created")) {
		diag("%s", msg);
		return done_testing();
	}

	test_get_rows(&e);
	test_rows_ops(&e);
	test_attention(&e, 8, 4, 8, 0, 1);      /* the fixtures' shape, first token */
	test_attention(&e, 8, 4, 8, 40, 1);
	test_attention(&e, 32, 8, 128, 200, 1); /* 7B-like head size, GQA 4 */
	test_attention(&e, 4, 4, 64, 7, 3);     /* small batch: decode kernel */
	test_attention(&e, 8, 2, 128, 0, 64);   /* prefill from an empty cache */
	test_attention(&e, 8, 2, 128, 37, 50);  /* prefill after a prefix, partial tiles */
	test_attention(&e, 8, 4, 8, 5, 37);
	test_multi_ops(&e);
	test_matmul(&e);
	test_logsoftmax(&e);

	e.g->exec_release(&e.gex);
	free(e.cex.scores);
	free(e.cex.xq);
	eng_pool_free(e.cex.pool);
	e.api->device_close(e.dev);
	eng_cuda_unload(lib);

	test_models();
	return done_testing();
}
