/* eng_kernels.c — the multi-row, multi-token matmul kernels equal the single-row ones.
 *
 * Every eng_mdot_* result is compared bit for bit (memcmp) with the single-row
 * kernel of types.h on the same row and activation: row counts and token counts
 * that do and do not fill the kernels' tiles, row lengths with and without a tail,
 * padded strides, special values (f16 inf, -128 quants, a signalling-NaN scale),
 * and the rows around a tile edge must not be overwritten. IQ4_NL (Q8_0
 * activations), Q4_1 and Q5_1 (Q8_1 activations) go through check_q8 too. K-quant weights
 * (Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, IQ4_XS) with Q8_K activations likewise, bit for bit.
 */
#include "tests/tap.h"
#define TEST_RNG_SEED 7
#include "tests/rng.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/cpu/kernels.h"
#include "engine/types.h"

#if defined(__AVX2__) && defined(__F16C__)
#include <immintrin.h>
#endif

#define SENTINEL 12345.0f

typedef void (*mdot_fn)(int64_t n, const void *w, size_t w_stride, int n_rows, const void *x, size_t x_stride,
			int n_tok, float *out, size_t out_stride);

static void mdot_f32(int64_t n, const void *w, size_t ws, int nr, const void *x, size_t xs, int nt, float *o, size_t os)
{
	eng_mdot_f32(n, w, ws, nr, x, xs, nt, o, os);
}
static void mdot_f16(int64_t n, const void *w, size_t ws, int nr, const void *x, size_t xs, int nt, float *o, size_t os)
{
	eng_mdot_f16(n, w, ws, nr, x, xs, nt, o, os);
}

/* Compare one configuration; returns the number of differing or clobbered outputs. */
static int compare(uint32_t type, mdot_fn mdot, int q8, int64_t n, const void *w, size_t w_stride, int n_rows,
		   const void *x, size_t x_stride, int n_tok)
{
	const struct eng_type_traits *tt = eng_type_get(type);
	size_t out_stride = (size_t)n_rows + 3;
	float *out = malloc(sizeof(float) * out_stride * (size_t)n_tok);
	for (size_t i = 0; i < out_stride * (size_t)n_tok; i++)
		out[i] = SENTINEL;
	mdot(n, w, w_stride, n_rows, x, x_stride, n_tok, out, out_stride);
	int bad = 0;
	for (int t = 0; t < n_tok; t++) {
		const void *xr = (const char *)x + (size_t)t * x_stride;
		for (int r = 0; r < n_rows; r++) {
			const void *row = (const char *)w + (size_t)r * w_stride;
			float want = q8 ? tt->vec_dot_q8(n, row, xr) : tt->vec_dot(n, row, xr);
			float got = out[(size_t)t * out_stride + (size_t)r];
			if (memcmp(&want, &got, sizeof want)) {
				if (bad++ < 3)
					diag("%s n=%lld rows=%d toks=%d: row %d tok %d: want %a, got %a", tt->name,
					     (long long)n, n_rows, n_tok, r, t, want, got);
			}
		}
		for (size_t r = (size_t)n_rows; r < out_stride; r++)
			if (out[(size_t)t * out_stride + r] != SENTINEL)
				bad++;
	}
	free(out);
	return bad;
}

/* 24, 33: the VNNI prefill tiles take 16 rows, then 8, then the rest */
static const int row_counts[] = { 1, 2, 3, 4, 5, 7, 8, 9, 13, 17, 24, 33 };
/* 4..12 with lane tables: the interleaved prefill tiles (from 4 tokens with VNNI, 8
 * without) and their last groups of 1..4 tokens */
static const int tok_counts[] = { 1, 2, 3, 4, 5, 6, 9, 10, 11, 12 };
#define N_ROWS_MAX 33
#define N_TOK_MAX 12

static void check_float(uint32_t type, mdot_fn mdot)
{
	static const int64_t lengths[] = { 3, 8, 40, 100, 768 };
	const size_t elt = type == ENG_TYPE_F16 ? 2 : 4;
	for (size_t li = 0; li < sizeof lengths / sizeof lengths[0]; li++) {
		int64_t n = lengths[li];
		size_t w_stride = (size_t)n * elt + 2 * elt; /* padded rows */
		size_t x_stride = ((size_t)n + 5) * sizeof(float);
		char *w = calloc(N_ROWS_MAX, w_stride);
		float *x = calloc(N_TOK_MAX, x_stride);
		float *tmp = malloc((size_t)n * sizeof(float));
		for (int r = 0; r < N_ROWS_MAX; r++) {
			for (int64_t i = 0; i < n; i++)
				tmp[i] = rng_sym() * (r == 3 && i == 5 ? 1e6f : 1.0f); /* f16: inf */
			eng_type_get(type)->from_f32(tmp, w + (size_t)r * w_stride, n);
		}
		for (int t = 0; t < N_TOK_MAX; t++)
			for (int64_t i = 0; i < n; i++)
				((float *)((char *)x + (size_t)t * x_stride))[i] = rng_sym() * 3.0f;
		int bad = 0;
		for (size_t a = 0; a < sizeof row_counts / sizeof row_counts[0]; a++)
			for (size_t b = 0; b < sizeof tok_counts / sizeof tok_counts[0]; b++)
				bad += compare(type, mdot, 0, n, w, w_stride, row_counts[a], x, x_stride, tok_counts[b]);
		char name[160];
		snprintf(name, sizeof name, "%s, n=%lld: every rows x tokens shape equals vec_dot bit for bit",
			 eng_type_name(type), (long long)n);
		is_int(bad, 0, name);
		free(w);
		free(x);
		free(tmp);
	}
}

/* eng_mdot_q8_tabled as an mdot_fn, for compare(): the type and tables of the check */
static uint32_t tabled_type;
static const void *tabled_tables;
static void mdot_tabled(int64_t n, const void *w, size_t w_stride, int n_rows, const void *x, size_t x_stride,
			int n_tok, float *out, size_t out_stride)
{
	eng_mdot_q8_tabled(tabled_type, n, w, w_stride, n_rows, x, x_stride, tabled_tables, n_tok, out, out_stride);
}

/* The tiles reading lane tables made once (ops.c's prefill path), filled in two token
 * ranges as two threads would: every shape equals vec_dot_q8. Q8_0, Q4_0 and Q5_0
 * rows of up to 512 blocks, IQ4_NL, Q4_1 and Q5_1 rows of up to 1024, have them where
 * the build has AVX2 (the test says so). */
static void check_tabled(uint32_t type, int64_t n, const char *w, size_t w_stride, const char *x, size_t x_stride)
{
	const size_t tb = eng_q8_tables_bytes(type, n, N_TOK_MAX);
	char name[160];
#if defined(__AVX2__) && defined(__F16C__)
	const int want = ((type == ENG_TYPE_Q8_0 || type == ENG_TYPE_Q4_0 || type == ENG_TYPE_Q5_0) && n / 32 <= 512) ||
			 ((type == ENG_TYPE_IQ4_NL || type == ENG_TYPE_Q4_1 || type == ENG_TYPE_Q5_1) && n / 32 <= 1024);
#else
	const int want = 0;
#endif
	snprintf(name, sizeof name, "%s, n=%lld: lane tables %s", eng_type_name(type), (long long)n,
		 want ? "offered (AVX2 build)" : "not offered (0 bytes)");
	is_int(tb > 0, want, name);
	if (!tb)
		return;
	void *tables = malloc(tb);
	memset(tables, 0xa5, tb);
	eng_q8_tables_fill(type, n, x, x_stride, 0, 5, tables);
	eng_q8_tables_fill(type, n, x, x_stride, 5, N_TOK_MAX, tables);
	tabled_type = type;
	tabled_tables = tables;
	int bad = 0;
	for (size_t a = 0; a < sizeof row_counts / sizeof row_counts[0]; a++)
		for (size_t b = 0; b < sizeof tok_counts / sizeof tok_counts[0]; b++)
			bad += compare(type, mdot_tabled, 1, n, w, w_stride, row_counts[a], x, x_stride, tok_counts[b]);
	snprintf(name, sizeof name, "%s, n=%lld: with lane tables made once, every rows x tokens shape equals vec_dot_q8",
		 eng_type_name(type), (long long)n);
	is_int(bad, 0, name);
	free(tables);
}

static void check_q8(uint32_t type, mdot_fn mdot)
{
	/* 32 * 300: too many blocks for 16 packed rows in the VNNI tiles' buffer (8 a group);
	 * 32 * 1025: more blocks than the tiles' per-token tables hold (their fallback);
	 * Q5_0's odd 22-byte blocks leave unaligned tails in every row; 96 and 800: an odd
	 * number of blocks after pairs (the Q8_0, Q4_0 and Q5_0 decode tile on 512-bit registers
	 * takes two blocks a step) */
	static const int64_t lengths[] = { 32, 64, 96, 768, 800, 32 * 300, 32 * 1025 };
	for (size_t li = 0; li < sizeof lengths / sizeof lengths[0]; li++) {
		int64_t n = lengths[li];
		const uint32_t act = eng_type_get(type)->vec_dot_type; /* Q8_0 or Q8_1 */
		uint64_t row_bytes = 0, xrow = 0;
		eng_row_size(type, (uint64_t)n, &row_bytes);
		eng_row_size(act, (uint64_t)n, &xrow);
		/* padded, keeping the 2-byte alignment of the blocks (GGUF data is aligned) */
		size_t w_stride = (size_t)row_bytes + 6, x_stride = (size_t)xrow + 4;
		char *w = calloc(N_ROWS_MAX, w_stride);
		char *x = calloc(N_TOK_MAX, x_stride);
		float *tmp = malloc((size_t)n * sizeof(float));
		for (int r = 0; r < N_ROWS_MAX; r++) {
			for (int64_t i = 0; i < n; i++)
				tmp[i] = rng_sym() * (float)(1 + r);
			if (eng_type_get(type)->from_f32) {
				eng_type_get(type)->from_f32(tmp, w + (size_t)r * w_stride, n);
				continue;
			}
			/* no weight quantizer (Q5_0 ...): random bytes, a finite random d (and
			 * Q4_1's / Q5_1's m) per block */
			const size_t bb = eng_type_get(type)->block_bytes;
			for (size_t i = 0; i < (size_t)row_bytes; i++)
				w[(size_t)r * w_stride + i] = (char)rng_next();
			for (int64_t b = 0; b < n / 32; b++)
				for (int k = 0; k < (act == ENG_TYPE_Q8_1 ? 2 : 1); k++) {
					uint16_t h = eng_f32_to_f16(rng_sym() * 0.05f);
					memcpy(w + (size_t)r * w_stride + (size_t)b * bb + 2 * (size_t)k, &h, 2);
				}
		}
		for (int t = 0; t < N_TOK_MAX; t++) {
			for (int64_t i = 0; i < n; i++)
				tmp[i] = rng_sym() * 2.0f;
			if (t == 2)
				memset(tmp, 0, sizeof(float) * 32); /* an all-zero block: d = 0 */
			eng_type_get(act)->act_from_f32(tmp, x + (size_t)t * x_stride, n);
		}
		if (type == ENG_TYPE_Q8_0) {
			/* quants a file may hold but the quantizer never makes */
			struct eng_block_q8_0 *b = (struct eng_block_q8_0 *)(w + 2 * w_stride);
			for (int j = 0; j < 32; j += 3)
				b->qs[j] = -128;
		}
		int bad = 0;
		for (size_t a = 0; a < sizeof row_counts / sizeof row_counts[0]; a++)
			for (size_t b = 0; b < sizeof tok_counts / sizeof tok_counts[0]; b++)
				bad += compare(type, mdot, 1, n, w, w_stride, row_counts[a], x, x_stride, tok_counts[b]);
		char name[160];
		snprintf(name, sizeof name, "%s x %s, n=%lld: every rows x tokens shape equals vec_dot_q8 bit for bit",
			 eng_type_name(type), eng_type_name(act), (long long)n);
		is_int(bad, 0, name);
		check_tabled(type, n, w, w_stride, x, x_stride);

		/* a signalling-NaN scale in row 5 (F16C would quiet it; the scalar path keeps it) */
		uint16_t snan = 0x7c01;
		memcpy(w + 5 * w_stride, &snan, 2);
		bad = compare(type, mdot, 1, n, w, w_stride, 9, x, x_stride, 5);
		snprintf(name, sizeof name, "%s x %s, n=%lld: a signalling-NaN scale gives the same bits", eng_type_name(type),
			 eng_type_name(act), (long long)n);
		is_int(bad, 0, name);
		check_tabled(type, n, w, w_stride, x, x_stride); /* ... through the lane tables too */
		free(w);
		free(x);
		free(tmp);
	}
}

/* K-quant weights (random bytes, finite random f16 scales) against Q8_K activations:
 * token counts on both sides of the 16-token group of quants_tile.c, row counts
 * around its 4-row group, padded rows (2-byte aligned like GGUF data). */
static void check_kq(uint32_t type, mdot_fn mdot, size_t d_off, int has_dmin)
{
	/* 256 * 17: two pieces of kernels_vnni.c's interleaved tile (16 super-blocks a piece) */
	static const int64_t lengths[] = { 256, 768, 256 * 17 };
	/* 16, 17 and 24 rows: decode reads 8 streams of 2 or 3 rows (kernels_pairs.c) */
	static const int kq_rows[] = { 1, 3, 4, 5, 9, 16, 17, 24 };
	enum { KQ_ROWS_MAX = 24, KQ_TOKS_MAX = 70 };
	/* 7, 8: either side of the interleaved tile's least; 70: two groups of its 64 tokens */
	static const int kq_toks[] = { 1, 2, 3, 7, 8, 15, 16, 17, 33, KQ_TOKS_MAX };
	for (size_t li = 0; li < sizeof lengths / sizeof lengths[0]; li++) {
		int64_t n = lengths[li], nb = n / 256;
		uint64_t row_bytes = 0, xrow = 0;
		eng_row_size(type, (uint64_t)n, &row_bytes);
		eng_row_size(ENG_TYPE_Q8_K, (uint64_t)n, &xrow);
		const size_t blk = (size_t)row_bytes / (size_t)nb;
		size_t w_stride = (size_t)row_bytes + 6, x_stride = (size_t)xrow + 4;
		char *w = calloc(KQ_ROWS_MAX, w_stride);
		char *x = calloc(KQ_TOKS_MAX, x_stride);
		float *tmp = malloc((size_t)n * sizeof(float));
		for (int r = 0; r < KQ_ROWS_MAX; r++)
			for (int64_t b = 0; b < nb; b++) {
				char *bp = w + (size_t)r * w_stride + (size_t)b * blk;
				for (size_t i = 0; i < blk; i++)
					bp[i] = (char)rng_next();
				for (int k = 0; k <= has_dmin; k++) {
					uint16_t h = eng_f32_to_f16(rng_sym() * 0.01f);
					memcpy(bp + d_off + 2 * (size_t)k, &h, 2);
				}
			}
		for (int t = 0; t < KQ_TOKS_MAX; t++) {
			for (int64_t i = 0; i < n; i++)
				tmp[i] = rng_sym() * (float)(1 + t % 5);
			if (t == 2)
				memset(tmp, 0, sizeof(float) * 256); /* an all-zero super-block: d = 0 */
			eng_quantize_row_q8_K(tmp, x + (size_t)t * x_stride, n);
		}
		int bad = 0;
		for (size_t a = 0; a < sizeof kq_rows / sizeof kq_rows[0]; a++)
			for (size_t b = 0; b < sizeof kq_toks / sizeof kq_toks[0]; b++)
				bad += compare(type, mdot, 1, n, w, w_stride, kq_rows[a], x, x_stride, kq_toks[b]);
		char name[160];
		snprintf(name, sizeof name, "%s x q8_K, n=%lld: every rows x tokens shape equals vec_dot_q8 bit for bit",
			 eng_type_name(type), (long long)n);
		is_int(bad, 0, name);
		free(w);
		free(x);
		free(tmp);
	}
}

/* The largest products Q4_0, Q4_1 and Q5_0 tiles meet: every weight quant 15 (Q5_0: 31)
 * against activation quants all 127, all -128 (outside what the quantizer makes) and
 * alternating: exact, as the single-row kernel's int32 sums, on the decode and
 * prefill tiles, with and without lane tables (9 tokens: the interleaved tiles, which
 * sum maddubs pairs in int16 for a whole Q4_0 block, 8 x 3840, and half a Q5_0 one,
 * 4 x 7936, without VNNI). */
/* The f16 fields a block starts with: its d and, where the format has one (Q4_1's m,
 * Q8_1's s), the second. */
static void put_scales(char *blk, float d, int has_second, float second)
{
	const uint16_t h[2] = { eng_f32_to_f16(d), eng_f32_to_f16(second) };
	memcpy(blk, h, has_second ? 4 : 2);
}

static void check_q4_extremes(void)
{
	enum { NB = 24, NR = 9, NT = 9 };
	static const uint32_t types[] = { ENG_TYPE_Q4_0, ENG_TYPE_Q4_1, ENG_TYPE_Q5_0 };
	static const int8_t fills[] = { 127, -128, 0 };
	int bad = 0, bad_t = 0;
	for (size_t ti = 0; ti < sizeof types / sizeof types[0]; ti++) {
		const uint32_t type = types[ti], act = eng_type_get(type)->vec_dot_type;
		uint64_t row_bytes = 0, xrow = 0;
		eng_row_size(type, 32 * NB, &row_bytes);
		eng_row_size(act, 32 * NB, &xrow);
		const size_t bb = eng_type_get(type)->block_bytes, ab = eng_type_get(act)->block_bytes;
		char *w = calloc(NR, (size_t)row_bytes), *x = calloc(NT, (size_t)xrow);
		for (int r = 0; r < NR; r++)
			for (int b = 0; b < NB; b++) {
				char *blk = w + (size_t)r * row_bytes + (size_t)b * bb;
				put_scales(blk, 1.0f, type == ENG_TYPE_Q4_1, 0.5f);
				/* every quant 15 (Q5_0: qh too, 31) */
				memset(blk + bb - (type == ENG_TYPE_Q5_0 ? 20 : 16), 0xff, type == ENG_TYPE_Q5_0 ? 20 : 16);
			}
		for (size_t f = 0; f < sizeof fills; f++) {
			for (int t = 0; t < NT; t++)
				for (int b = 0; b < NB; b++) {
					char *blk = x + (size_t)t * xrow + (size_t)b * ab;
					put_scales(blk, 0.25f, act == ENG_TYPE_Q8_1, 3.0f);
					int8_t *qs = (int8_t *)(blk + ab - 32);
					for (int k = 0; k < 32; k++)
						qs[k] = fills[f] ? fills[f] : (int8_t)(k % 2 ? 127 : -128);
				}
			bad += compare(type, eng_mdot_q8_for_type(type), 1, 32 * NB, w, (size_t)row_bytes, NR, x, (size_t)xrow, NT);
			const size_t tb = eng_q8_tables_bytes(type, 32 * NB, NT);
			void *tables = tb ? malloc(tb) : NULL;
			if (tables) {
				eng_q8_tables_fill(type, 32 * NB, x, (size_t)xrow, 0, NT, tables);
				tabled_type = type;
				tabled_tables = tables;
				bad_t += compare(type, mdot_tabled, 1, 32 * NB, w, (size_t)row_bytes, NR, x, (size_t)xrow, NT);
			}
			free(tables);
		}
		free(w);
		free(x);
	}
	is_int(bad, 0, "q4_0 / q4_1 / q5_0: largest quants against 127, -128 and alternating: every tile equals vec_dot_q8");
	is_int(bad_t, 0, "  ...and with lane tables (the interleaved tiles) on 9 tokens");
}

/* A row of length 0 (n = 0 is a multiple of every block size): every kernel, on every
 * path (decode with a next tile to prefetch, prefill), writes 0, the empty sum. */
static void check_empty(void)
{
	static const mdot_fn fns[] = { eng_mdot_q8_0_q8_0, eng_mdot_q4_0_q8_0, eng_mdot_q5_0_q8_0,
				       eng_mdot_iq4_nl_q8_0, eng_mdot_q4_1_q8_1, eng_mdot_q5_1_q8_1,
				       eng_mdot_q2_K_q8_K, eng_mdot_q3_K_q8_K, eng_mdot_q4_K_q8_K,
				       eng_mdot_q5_K_q8_K, eng_mdot_q6_K_q8_K, eng_mdot_iq4_xs_q8_K };
	static const char dummy[64];
	int bad = 0;
	for (size_t f = 0; f < sizeof fns / sizeof fns[0]; f++)
		for (int n_tok = 1; n_tok <= 5; n_tok += 4) {
			float out[5 * 24];
			for (size_t i = 0; i < sizeof out / sizeof out[0]; i++)
				out[i] = SENTINEL;
			fns[f](0, dummy, 0, 24, dummy, 0, n_tok, out, 24);
			for (size_t i = 0; i < (size_t)n_tok * 24; i++)
				bad += out[i] != 0.0f;
		}
	is_int(bad, 0, "n = 0: every quantized kernel writes 0 for 24 rows x 1 and 5 tokens");
}

/* ops.c converts rows to f16 with F16C (vcvtps2ph, round to nearest even); it must
 * agree with eng_f32_to_f16 bit for bit (exhaustively true; sampled here). */
static void check_f16c_conversion(void)
{
#if defined(__AVX2__) && defined(__F16C__)
	int bad = 0;
	for (int i = 0; i < 1 << 21; i++) {
		uint32_t u[8];
		for (int k = 0; k < 8; k++) {
			u[k] = (uint32_t)rng_next();
			if (k & 1) /* concentrate on the half range, subnormals and overflow included */
				u[k] = (u[k] & 0x807fffffu) | ((uint32_t)(96 + (u[k] >> 8) % 48) << 23);
		}
		if (i == 0) {
			static const uint32_t special[8] = { 0x7f800001u, 0xffc00000u, 0x7f800000u, 0x477ff000u,
							     0x33000000u, 0x33000001u, 0x387fc000u, 0x80000000u };
			memcpy(u, special, sizeof u);
		}
		__m256 x;
		memcpy(&x, u, sizeof x);
		uint16_t h[8];
		_mm_storeu_si128((__m128i *)h, _mm256_cvtps_ph(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
		for (int k = 0; k < 8; k++) {
			float f;
			memcpy(&f, &u[k], sizeof f);
			if (h[k] != eng_f32_to_f16(f) && bad++ < 3)
				diag("f32 %08x: vcvtps2ph %04x, eng_f32_to_f16 %04x", u[k], h[k], eng_f32_to_f16(f));
		}
	}
	is_int(bad, 0, "F16C f32 -> f16 equals eng_f32_to_f16 on 16M values (NaN, inf, ties, subnormals)");
#else
	skip("no F16C in this build", "F16C f32 -> f16 against eng_f32_to_f16");
#endif
}

int main(void)
{
	check_f16c_conversion();
	check_float(ENG_TYPE_F32, mdot_f32);
	check_float(ENG_TYPE_F16, mdot_f16);
#if defined(__AVX2__) && defined(__F16C__)
	diag("Q8_0/Q4_0 tiles checked: %s", eng_cpu_has_vnni() ? "AVX512-VNNI (kernels_vnni.c, chosen by CPUID)"
							       : "AVX2 (no AVX512-VNNI on this CPU: kernels_vnni.c not run)");
	diag("Q8_0/Q4_0/Q5_0 decode tile: %s", eng_cpu_has_qx2() ? "two blocks a step (512-bit, kernels_vnni.c)"
							: "one block a step (no AVX512-VNNI on this CPU)");
#else
	diag("no AVX2 + F16C in this build: the plain-C kernels are checked");
#endif
	check_q8(ENG_TYPE_Q8_0, eng_mdot_q8_0_q8_0);
	check_q8(ENG_TYPE_Q4_0, eng_mdot_q4_0_q8_0);
	check_q8(ENG_TYPE_Q5_0, eng_mdot_q5_0_q8_0);
	if (eng_cpu_has_qx2()) { /* and the 256-bit VNNI decode tiles, which it would not run */
		diag("Q8_0/Q4_0/Q5_0 with the two-block 512-bit decode tile switched off (eng_cpu_qx2_disable)");
		eng_cpu_qx2_disable(1);
		check_q8(ENG_TYPE_Q8_0, eng_mdot_q8_0_q8_0);
		check_q8(ENG_TYPE_Q4_0, eng_mdot_q4_0_q8_0);
		check_q8(ENG_TYPE_Q5_0, eng_mdot_q5_0_q8_0);
		eng_cpu_qx2_disable(0);
	}
	if (eng_cpu_has_vnni()) { /* and the AVX2 tiles, which a VNNI CPU would not run */
		diag("the same checks with the VNNI tiles switched off (eng_cpu_vnni_disable)");
		eng_cpu_vnni_disable(1);
		check_q8(ENG_TYPE_Q8_0, eng_mdot_q8_0_q8_0);
		check_q8(ENG_TYPE_Q4_0, eng_mdot_q4_0_q8_0);
		check_q8(ENG_TYPE_Q5_0, eng_mdot_q5_0_q8_0);
		check_q8(ENG_TYPE_IQ4_NL, eng_mdot_iq4_nl_q8_0); /* its lane tables: kernels_q32.c's again */
		check_kq(ENG_TYPE_Q4_K, eng_mdot_q4_K_q8_K, 0, 1);
		check_kq(ENG_TYPE_Q5_K, eng_mdot_q5_K_q8_K, 0, 1);
		check_kq(ENG_TYPE_Q6_K, eng_mdot_q6_K_q8_K, 208, 0);
		eng_cpu_vnni_disable(0);
	}
	check_q8(ENG_TYPE_IQ4_NL, eng_mdot_iq4_nl_q8_0);
	check_q8(ENG_TYPE_Q4_1, eng_mdot_q4_1_q8_1);
	check_q8(ENG_TYPE_Q5_1, eng_mdot_q5_1_q8_1);
	check_empty();
	check_q4_extremes();
	check_kq(ENG_TYPE_Q2_K, eng_mdot_q2_K_q8_K, 80, 1);
	check_kq(ENG_TYPE_Q3_K, eng_mdot_q3_K_q8_K, 108, 0);
	check_kq(ENG_TYPE_Q4_K, eng_mdot_q4_K_q8_K, 0, 1);
	check_kq(ENG_TYPE_Q5_K, eng_mdot_q5_K_q8_K, 0, 1);
	check_kq(ENG_TYPE_Q6_K, eng_mdot_q6_K_q8_K, 208, 0);
	check_kq(ENG_TYPE_IQ4_XS, eng_mdot_iq4_xs_q8_K, 0, 0);
	is_int(eng_mdot_q8_for_type(ENG_TYPE_Q4_K) == eng_mdot_q4_K_q8_K, 1, "the kernel for q4_K weights is the q4_K one");
	is_int(eng_mdot_q8_for_type(ENG_TYPE_IQ4_XS) == eng_mdot_iq4_xs_q8_K, 1, "the kernel for iq4_xs weights is the iq4_xs one");
	return done_testing();
}
