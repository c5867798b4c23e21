/* eng_kernels_f16.c — kernels_f16.c's F16/BF16/F32 tiles against the single-row kernels on odd shapes.
 *
 * eng_mdot_f16 / eng_mdot_bf16 / eng_mdot_f32 must give, for every (row, token), the bits of the
 * table's single-row vec_dot (the determinism contract: a value may not depend on
 * how many tokens or rows share the call, nor on which tile it falls in). Checked
 * on every rows x tokens shape from 1 x 1 to 17 x 33 (partial row groups, partial
 * token tiles, the decode path at one token), on row lengths that are not
 * multiples of the vector width (tails of 1..7 elements), rows that start off the
 * 32-byte grid with padded strides, and rows exactly 2 KiB apart (where decode
 * does not prefetch). For F16 the activations are also rounded to f16, as ops.c
 * hands them, and compared with the plain-C reference eng_vec_dot_f16_ref: with
 * such activations every product is exact, so the reference's bits are the
 * kernel's whatever the compiler does with its multiply-add; there
 * eng_mdot_f16_xh (fused multiply-adds, what ops.c calls) must give the same bits
 * too. BF16 and F32 fuse their multiply-adds (types.c): BF16 is compared with its
 * plain-C reference eng_vec_dot_bf16_ref (fmaf) as well.
 * Outputs outside the block (a padded out_stride) must stay untouched.
 * The attention's scores against the cache's transposed keys (cpu/attn_kt.c:
 * eng_kt_scores; the layout written by eng_kt_put_row, tests/eng_kvcache.c checks the
 * rest) must give every score the bits of the row kernels (eng_mdot_f16_xh for
 * the f16 cache with f16-valued queries, eng_mdot_f32 for the f32 one), for 1..4 queries,
 * key ranges that start and end inside a block of 16, a second kv head, and head sizes
 * with tails (72, 40) or under one vector (3).
 */
#include "tests/tap.h"
#define TEST_RNG_SEED 11
#include "tests/rng.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/cpu/kernels.h"
#include "engine/cpu/ops_int.h"
#include "engine/eng_int.h"
#include "engine/types.h"

#define MAX_ROWS 17
#define MAX_TOK 33
#define SENTINEL -777.0f

struct case_data {
	uint32_t type;
	int64_t n;
	const char *w; /* MAX_ROWS rows, w_stride apart, starting off the 32-byte grid */
	size_t w_stride;
	const float *x; /* MAX_TOK activation rows, x_stride apart */
	size_t x_stride;
	float (*ref)(int64_t, const void *, const float *); /* a plain-C reference to agree with, or NULL */
	int fused; /* also eng_mdot_f16_xh (F16 weights, f16-valued activations) */
};

/* One call of n_rows x n_tok (fused: eng_mdot_f16_xh) against want; returns the
 * number of wrong or clobbered outputs. */
static int check_one(const struct case_data *c, const float *want, float *out, size_t out_stride, int n_rows,
		     int n_tok, int fused)
{
	int bad = 0;
	for (size_t i = 0; i < out_stride * MAX_TOK; i++)
		out[i] = SENTINEL;
	if (fused)
		eng_mdot_f16_xh(c->n, c->w, c->w_stride, n_rows, c->x, c->x_stride, n_tok, out, out_stride);
	else if (c->type == ENG_TYPE_F16)
		eng_mdot_f16(c->n, c->w, c->w_stride, n_rows, c->x, c->x_stride, n_tok, out, out_stride);
	else if (c->type == ENG_TYPE_BF16)
		eng_mdot_bf16(c->n, c->w, c->w_stride, n_rows, c->x, c->x_stride, n_tok, out, out_stride);
	else
		eng_mdot_f32(c->n, c->w, c->w_stride, n_rows, c->x, c->x_stride, n_tok, out, out_stride);
	for (int t = 0; t < MAX_TOK; t++)
		for (size_t r = 0; r < out_stride; r++) {
			const float got = out[(size_t)t * out_stride + r];
			const int inside = t < n_tok && r < (size_t)n_rows;
			const float exp = inside ? want[t * MAX_ROWS + (int)r] : SENTINEL;
			if (memcmp(&got, &exp, sizeof got) && bad++ < 3)
				diag("%s%s n=%lld, %d rows x %d tokens: out[tok %d][row %zu] = %a, want %a",
				     eng_type_name(c->type), fused ? " (eng_mdot_f16_xh)" : "", (long long)c->n, n_rows,
				     n_tok, t, r, got, exp);
		}
	return bad;
}

/* Every shape rows x tokens; returns the number of wrong or clobbered outputs. */
static int check_shapes(const struct case_data *c)
{
	const struct eng_type_traits *tt = eng_type_get(c->type);
	const size_t out_stride = MAX_ROWS + 2;
	float *out = malloc(sizeof(float) * out_stride * MAX_TOK);
	float *want = malloc(sizeof(float) * MAX_ROWS * MAX_TOK);
	int bad = 0;
	for (int t = 0; t < MAX_TOK; t++)
		for (int r = 0; r < MAX_ROWS; r++) {
			const float *xr = (const float *)((const char *)c->x + (size_t)t * c->x_stride);
			const char *row = c->w + (size_t)r * c->w_stride;
			want[t * MAX_ROWS + r] = tt->vec_dot(c->n, row, xr);
			const float ref = c->ref ? c->ref(c->n, row, xr) : want[t * MAX_ROWS + r];
			if (memcmp(&ref, &want[t * MAX_ROWS + r], sizeof ref) && bad++ < 3)
				diag("n=%lld row %d tok %d: vec_dot %a, reference %a", (long long)c->n, r, t,
				     want[t * MAX_ROWS + r], ref);
		}
	for (int n_rows = 1; n_rows <= MAX_ROWS; n_rows++)
		for (int n_tok = 1; n_tok <= MAX_TOK; n_tok++)
			for (int fused = 0; fused <= c->fused; fused++)
				bad += check_one(c, want, out, out_stride, n_rows, n_tok, fused);
	free(out);
	free(want);
	return bad;
}

/* Random weights of `type` (rows start `offset` bytes past a 64-byte boundary) and
 * activations (f16-rounded where round_x), then every shape. */
static void check_length(uint32_t type, int64_t n, size_t pad, size_t offset, int round_x)
{
	const size_t elt = type == ENG_TYPE_F32 ? 4 : 2;
	const size_t w_stride = (size_t)n * elt + pad, x_stride = ((size_t)n + 3) * sizeof(float);
	char *wbuf = aligned_alloc(64, (MAX_ROWS * w_stride + offset + 63) / 64 * 64);
	float *x = malloc(x_stride * MAX_TOK);
	float *tmp = malloc(sizeof(float) * (size_t)n);
	char *w = wbuf + offset;
	for (int r = 0; r < MAX_ROWS; r++) {
		for (int64_t i = 0; i < n; i++)
			tmp[i] = rng_sym() * (r == 5 && i == n / 2 ? 1e5f : 1.0f); /* f16: inf in row 5 */
		eng_type_get(type)->from_f32(tmp, w + (size_t)r * w_stride, n);
	}
	for (int t = 0; t < MAX_TOK; t++)
		for (int64_t i = 0; i < n; i++) {
			float v = rng_sym() * 2.0f;
			((float *)((char *)x + (size_t)t * x_stride))[i] = round_x ? eng_f16_to_f32(eng_f32_to_f16(v)) : v;
		}
	const int fused = type == ENG_TYPE_F16 && round_x;
	const struct case_data c = { type, n, w, w_stride, x, x_stride,
				     fused ? eng_vec_dot_f16_ref : type == ENG_TYPE_BF16 ? eng_vec_dot_bf16_ref : NULL, fused };
	char name[200];
	snprintf(name, sizeof name,
		 "%s, n=%lld, rows %zu bytes apart at +%zu%s: every shape 1..%d rows x 1..%d tokens equals vec_dot bit for bit",
		 eng_type_name(type), (long long)n, w_stride, offset,
		 c.fused ? ", f16-rounded activations (also eng_mdot_f16_xh, and the plain-C reference)"
			 : c.ref ? " (and the plain-C reference)" : "",
		 MAX_ROWS, MAX_TOK);
	is_int(check_shapes(&c), 0, name);
	free(wbuf);
	free(x);
	free(tmp);
}

/* Calls of many rows (150: kernels_f16.c's 64-row cache blocks, two whole and one
 * partial; with long rows, blocks of fewer rows) with 1, 7 and 13 tokens, each type:
 * every output equals vec_dot. */
static void check_many_rows(uint32_t type, int64_t n)
{
	/* 245 tokens: rows too long to pack whole (kernels_f16.c's slices: F32 beyond 8192
	 * elements, F16 and BF16 beyond 16384) go in chunks of 120 tokens, so two whole
	 * chunks, then one of 5 tokens for the 256-bit tiles; 131: a chunk, then one with a
	 * tile of 6 and one of 5 (and, where rows pack whole, tiles of 6 ending in one of 5) */
	enum { ROWS = 150, TOK = 245 };
	const struct eng_type_traits *tt = eng_type_get(type);
	const size_t w_stride = (size_t)n * (type == ENG_TYPE_F32 ? 4 : 2) + 8, x_stride = (size_t)n * sizeof(float);
	char *w = malloc(ROWS * w_stride);
	float *x = malloc(TOK * x_stride), *tmp = malloc(sizeof(float) * (size_t)n), *out = malloc(sizeof(float) * ROWS * TOK);
	float *want = malloc(sizeof(float) * ROWS * TOK);
	for (int r = 0; r < ROWS; r++) {
		for (int64_t i = 0; i < n; i++)
			tmp[i] = rng_sym();
		tt->from_f32(tmp, w + (size_t)r * w_stride, n);
	}
	for (int64_t i = 0; i < TOK * n; i++)
		x[i] = eng_f16_to_f32(eng_f32_to_f16(rng_sym()));
	for (int t = 0; t < TOK; t++)
		for (int r = 0; r < ROWS; r++)
			want[t * ROWS + r] = tt->vec_dot(n, w + (size_t)r * w_stride, x + (size_t)t * n);
	static const int toks[] = { 1, 7, 13, 131, TOK };
	int bad = 0;
	for (int k = 0; k < 5; k++)
		for (int fused = 0; fused <= (type == ENG_TYPE_F16); fused++) {
			if (fused)
				eng_mdot_f16_xh(n, w, w_stride, ROWS, x, x_stride, toks[k], out, ROWS);
			else if (type == ENG_TYPE_F16)
				eng_mdot_f16(n, w, w_stride, ROWS, x, x_stride, toks[k], out, ROWS);
			else if (type == ENG_TYPE_BF16)
				eng_mdot_bf16(n, w, w_stride, ROWS, x, x_stride, toks[k], out, ROWS);
			else
				eng_mdot_f32(n, w, w_stride, ROWS, x, x_stride, toks[k], out, ROWS);
			for (int t = 0; t < toks[k]; t++)
				for (int r = 0; r < ROWS; r++)
					if (memcmp(&want[t * ROWS + r], &out[t * ROWS + r], sizeof(float)) && bad++ < 3)
						diag("%s n=%lld %d tokens: out[tok %d][row %d] = %a, want %a", eng_type_name(type),
						     (long long)n, toks[k], t, r, out[t * ROWS + r], want[t * ROWS + r]);
		}
	char name[160];
	snprintf(name, sizeof name, "%s, n=%lld: calls of %d rows (several cache blocks) x 1, 7, 13, 131, %d tokens equal vec_dot bit for bit",
		 eng_type_name(type), (long long)n, ROWS, TOK);
	is_int(bad, 0, name);
	free(w);
	free(x);
	free(tmp);
	free(out);
	free(want);
}

/* The decode streams' prefetch distance (eng_cpu_dec_ahead): MERILO_DEC_PREFETCH read as
 * bytes, rounded down to a cache line, anything else the CPU's default; decode gives
 * vec_dot's bits with the prefetches and without them. */
static void check_dec_prefetch(void)
{
	unsetenv("MERILO_DEC_PREFETCH");
	eng_cpu_dec_ahead_reset();
	const size_t dflt = eng_cpu_dec_ahead();
	char name[120];
	snprintf(name, sizeof name, "the default prefetch distance is %zu: none (AMD family 19h) or ENG_DEC_AHEAD", dflt);
	ok(dflt == 0 || dflt == ENG_DEC_AHEAD, name);
	static const struct {
		const char *env;
		long want; /* -1: the default */
	} cases[] = { { "0", 0 }, { "4096", 4096 }, { "1000", 960 }, { "abc", -1 }, { "-64", -1 }, { "64k", -1 },
		      { "", -1 },  { "99999999", -1 }, { "1024", 1024 } };
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		setenv("MERILO_DEC_PREFETCH", cases[i].env, 1);
		eng_cpu_dec_ahead_reset();
		const size_t want = cases[i].want < 0 ? dflt : (size_t)cases[i].want;
		snprintf(name, sizeof name, "MERILO_DEC_PREFETCH='%s': %zu bytes ahead", cases[i].env, want);
		is_int((long long)eng_cpu_dec_ahead(), (long long)want, name);
	}
	static const char *const dist[] = { "0", "64", "1024" };
	for (size_t i = 0; i < sizeof dist / sizeof dist[0]; i++) {
		setenv("MERILO_DEC_PREFETCH", dist[i], 1);
		eng_cpu_dec_ahead_reset();
		diag("decode streams prefetching %zu bytes ahead", eng_cpu_dec_ahead());
		check_many_rows(ENG_TYPE_F16, 777);
		check_many_rows(ENG_TYPE_BF16, 263);
		check_many_rows(ENG_TYPE_F32, 100);
	}
	unsetenv("MERILO_DEC_PREFETCH");
	eng_cpu_dec_ahead_reset();
}

/* Scores from transposed keys against the row kernels: n_rows keys of 2 kv heads of hd. */
static void check_kt(int f16, int hd)
{
	enum { N_ROWS = 77, N_PAD = 80, N_HEAD_KV = 2, OUT_STRIDE = N_ROWS + 3 };
	const size_t kv_dim = (size_t)N_HEAD_KV * (size_t)hd, elt = f16 ? 2 : 4;
	char *k = malloc(N_ROWS * kv_dim * elt), *kt = calloc((size_t)N_PAD * kv_dim, elt);
	float q[4 * 128], out[4 * OUT_STRIDE], want[4 * OUT_STRIDE], x[128];
	for (size_t r = 0; r < N_ROWS; r++)
		for (size_t h = 0; h < N_HEAD_KV; h++) {
			for (int d = 0; d < hd; d++) {
				const size_t i = r * kv_dim + h * (size_t)hd + (size_t)d;
				x[d] = rng_sym() * 4.0f;
				if (f16) {
					const uint16_t e = eng_f32_to_f16(x[d]);
					memcpy(k + 2 * i, &e, 2);
				} else {
					memcpy(k + 4 * i, &x[d], 4);
				}
			}
			eng_kt_put_row(kt + h * N_PAD * (size_t)hd * elt, hd, r, x, f16 != 0);
		}
	for (int i = 0; i < 4 * hd; i++)
		q[i] = f16 ? eng_f16_to_f32(eng_f32_to_f16(rng_sym())) : rng_sym();
	static const int ranges[][2] = { { 0, 77 }, { 5, 6 }, { 15, 17 }, { 16, 48 }, { 3, 77 }, { 31, 32 }, { 60, 77 },
					 { 0, 16 }, { 17, 47 }, { 9, 15 } };
	int bad = 0, cases = 0;
	for (int h = 0; h < N_HEAD_KV; h++)
		for (int nq = 1; nq <= 4; nq++)
			for (size_t r = 0; r < sizeof ranges / sizeof ranges[0]; r++) {
				const int lo = ranges[r][0], hi = ranges[r][1];
				for (int i = 0; i < 4 * OUT_STRIDE; i++)
					out[i] = want[i] = SENTINEL;
				eng_kt_scores(hd, kt + (size_t)h * N_PAD * (size_t)hd * elt, f16 != 0, lo, hi, q, (size_t)hd, nq,
					      out, OUT_STRIDE);
				const char *rows = k + ((size_t)lo * kv_dim + (size_t)h * (size_t)hd) * elt;
				if (f16)
					eng_mdot_f16_xh(hd, rows, kv_dim * elt, hi - lo, q, (size_t)hd * sizeof(float), nq, want,
							OUT_STRIDE);
				else
					eng_mdot_f32(hd, rows, kv_dim * elt, hi - lo, q, (size_t)hd * sizeof(float), nq, want,
						     OUT_STRIDE);
				cases++;
				if (memcmp(out, want, sizeof out) != 0) {
					if (bad++ == 0)
						diag("%s hd %d head %d: %d queries, keys %d..%d differ", f16 ? "f16" : "f32", hd,
						     h, nq, lo, hi - 1);
				}
			}
	char name[160];
	snprintf(name, sizeof name, "%s keys, head size %d: transposed-key scores = row kernels (%d of %d cases differ)",
		 f16 ? "f16" : "f32", hd, bad, cases);
	ok(bad == 0, name);
	free(kt);
	free(k);
}

int main(void)
{
	/* tails of 1..7 elements, a length under one vector, and rows of exactly 2 KiB (F16 n=1024) */
	static const int64_t lengths[] = { 1, 7, 9, 23, 63, 100, 263 };
	for (size_t i = 0; i < sizeof lengths / sizeof lengths[0]; i++) {
		check_length(ENG_TYPE_F16, lengths[i], 6, 2, 0);
		check_length(ENG_TYPE_F16, lengths[i], 2, 34, 1);
		check_length(ENG_TYPE_F32, lengths[i], 12, 4, 0);
		check_length(ENG_TYPE_BF16, lengths[i], 4, 6, 0);
	}
	check_length(ENG_TYPE_F16, 1024, 0, 2, 1);
	check_length(ENG_TYPE_F32, 512, 0, 4, 0);
	check_length(ENG_TYPE_BF16, 1024, 0, 2, 0);
	check_many_rows(ENG_TYPE_F16, 77);
	check_many_rows(ENG_TYPE_F32, 77);
	check_many_rows(ENG_TYPE_BF16, 77);
	/* rows too long for 64 of them in kernels_f16.c's 256 KiB packed-rows buffer (AVX-512):
	 * smaller blocks (40 rows), blocks of one 8-row group, and rows too long for 8 to pack
	 * whole, which go in slices (gemm_long) */
	check_many_rows(ENG_TYPE_F16, 3001);
	check_many_rows(ENG_TYPE_F32, 1601);
	check_many_rows(ENG_TYPE_F16, 16001); /* 8-row blocks */
	check_many_rows(ENG_TYPE_F16, 17001); /* slices */
	check_many_rows(ENG_TYPE_F32, 9001);  /* slices */
	check_many_rows(ENG_TYPE_F32, 10240); /* slices of 2048 with no tail */
	check_many_rows(ENG_TYPE_BF16, 18001); /* slices */
	check_dec_prefetch();
	static const int head_dims[] = { 64, 128, 72, 40, 3 };
	for (size_t i = 0; i < sizeof head_dims / sizeof head_dims[0]; i++) {
		check_kt(1, head_dims[i]);
		check_kt(0, head_dims[i]);
	}
	return done_testing();
}
