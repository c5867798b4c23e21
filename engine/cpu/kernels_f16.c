/* kernels_f16.c — F16, BF16 and F32 weights x f32 activations (kernels.h's eng_mdot_f16,
 * eng_mdot_bf16 and eng_mdot_f32), blocked for the registers and the caches.
 *
 * Several tokens (prefill, batched scoring): a register tile of TILE_R weight rows x
 * TILE_T tokens keeps TILE_R * TILE_T vector sums, so each converted weight vector is
 * used TILE_T times and each activation vector (loaded once into a register) TILE_R
 * times. A call's rows go in blocks of BLK_R (in L2; ops.c passes a thread's share of
 * rows whole); each tile of tokens meets every row group of the block before the next one.
 * Where the build has AVX-512 (F, DQ, VL) and a call has 8 tokens or more, each block's
 * rows are packed by the first tile of tokens as it runs (a pair of rows' 8-element
 * chunks side by side, one 512-bit load for the later tiles; rows too long to pack whole
 * go in slices: gemm_long), then tiles of 8 rows x 6, 5 or 4 tokens keep two rows in each
 * register: 24 sums, twice the work per instruction on cores with two 512-bit FMA
 * units (docs/performance.md, 2026-12-04 and 2026-12-05); the ymm tiles take the
 * remaining 1-3 tokens.
 * One token (decode): DEC_R rows side by side (DEC_R independent sums hide the add
 * latency), each weight read once, the next group's rows prefetched.
 *
 * The bits do not depend on the tiling: every (row, token) sum is, element for
 * element, the single-row kernel of types.c (vec_dot_f16 / vec_dot_bf16 / vec_dot_f32): eight lanes,
 * lane k accumulates w[i+k] * x[i+k] over i = 0, 8, 16, ...; the lanes are reduced as
 * ((l0+l4)+(l2+l6)) + ((l1+l5)+(l3+l7)); the tail (< 8 elements) is added in order.
 * F32 and BF16 weights fuse each multiply and add (FMA, one rounding), F16 weights
 * round the multiply, then the add. The tiles only choose which sums run side by side
 * (tests/eng_kernels.c and tests/eng_kernels_f16.c compare them bit for bit).
 * eng_mdot_f16_xh fuses the multiply and the add too: its activations are f16 values,
 * and the product of two f16 values is exact in f32 (11 x 11 significant bits, no
 * overflow or underflow), so the fused result is rounded exactly as the two steps are.
 *
 * A BF16 weight is an f32 with the low 16 bits zero, so widening it is a shift, exact.
 *
 * The functions below take `kind`: KIND_F32, KIND_F16, KIND_F16H (F16 weights with
 * f16-valued activations: fused) or KIND_BF16.
 */
#include "engine/cpu/kernels.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "engine/types.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

/* AMD family 19h (Zen 3, Zen 4): CPUID leaf 0's vendor and leaf 1's family (base plus
 * extended where the base is 0xf). */
static int amd_family_19h(void)
{
#if defined(__x86_64__) || defined(__i386__)
	unsigned a, b, c, d;
	if (!__get_cpuid(0, &a, &b, &c, &d))
		return 0;
	const int amd = b == 0x68747541u && d == 0x69746e65u && c == 0x444d4163u; /* "AuthenticAMD" */
	if (!amd || !__get_cpuid(1, &a, &b, &c, &d))
		return 0;
	const unsigned base = (a >> 8) & 0xf, family = base == 0xf ? base + ((a >> 20) & 0xff) : base;
	return family == 0x19;
#else
	return 0;
#endif
}

static _Atomic long dec_ahead = -1; /* -1: not chosen yet; two threads choose alike */

void eng_cpu_dec_ahead_reset(void)
{
	atomic_store(&dec_ahead, -1);
}

size_t eng_cpu_dec_ahead(void)
{
	long v = atomic_load_explicit(&dec_ahead, memory_order_relaxed);
	if (v < 0) {
		const char *env = getenv("MERILO_DEC_PREFETCH");
		char *end = NULL;
		long e = env && *env ? strtol(env, &end, 10) : -1;
		if (end && (*end || e < 0 || e > (1L << 20)))
			e = -1; /* not a byte count: the default */
		v = e >= 0 ? e / 64 * 64 : amd_family_19h() ? 0 : ENG_DEC_AHEAD;
		atomic_store_explicit(&dec_ahead, v, memory_order_relaxed);
	}
	return (size_t)v;
}

#if defined(__AVX2__) && defined(__F16C__) && defined(__FMA__)
#include <immintrin.h>
#include <math.h>

#define KF_INLINE static inline __attribute__((always_inline))

enum { KIND_F32, KIND_F16, KIND_F16H, KIND_BF16 };

/* Register tiles: TILE_R * TILE_T sums, TILE_R weight vectors, an activation and a
 * product must fit in the vector registers: 16 with AVX2 (2 x 6: 12 + 2 + 2; the
 * fastest of 1x8, 2x4, 2x6, 3x3, 3x4, 4x2, 4x3 on an AMD EPYC), 32 with AVX-512VL (4 x 6). */
#if defined(__AVX512VL__)
#define TILE_R 4
#define TILE_T 6
#else
#define TILE_R 2
#define TILE_T 6
#endif
/* Decode: rows side by side. */
#define DEC_R 8

/* The reduction of types.c: ((l0+l4)+(l2+l6)) + ((l1+l5)+(l3+l7)). */
KF_INLINE float hsum256(__m256 v)
{
	__m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
	__m128 t = _mm_add_ps(s, _mm_movehl_ps(s, s));
	return _mm_cvtss_f32(_mm_add_ss(t, _mm_shuffle_ps(t, t, 1)));
}

/* Whether the kind fuses its multiply-adds: F32 and BF16 (their contract, types.c) and
 * KIND_F16H (F16 weights, f16 activations: the products are exact in f32, so the fused
 * form rounds as the two steps do); KIND_F16 rounds the multiply, then the add. */
KF_INLINE int fused(const int kind)
{
	return kind != KIND_F16;
}

/* acc + w * x, as the kind's single-row kernel forms it. */
KF_INLINE __m256 madd(__m256 acc, __m256 w, __m256 x, const int kind)
{
	if (fused(kind))
		return _mm256_fmadd_ps(w, x, acc);
	return _mm256_add_ps(acc, _mm256_mul_ps(w, x));
}

/* Bytes of one weight. */
KF_INLINE int64_t elt_bytes(const int kind)
{
	return kind == KIND_F32 ? 4 : 2;
}

KF_INLINE __m256 load_w8(const char *row, int64_t i, const int kind)
{
	if (kind == KIND_BF16)
		return _mm256_castsi256_ps(
			_mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)(row + 2 * i))), 16));
	if (kind != KIND_F32)
		return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(row + 2 * i)));
	return _mm256_loadu_ps((const float *)row + i);
}

KF_INLINE float load_w1(const char *row, int64_t i, const int kind)
{
	if (kind != KIND_F32) {
		uint16_t h;
		memcpy(&h, row + 2 * i, 2);
		return kind == KIND_BF16 ? eng_bf16_to_f32(h) : eng_f16_to_f32(h);
	}
	float f;
	memcpy(&f, row + 4 * i, 4);
	return f;
}

/* The finished sum of one (row, token): reduction, then the tail in order. */
KF_INLINE float finish(__m256 acc, int64_t i, int64_t n, const char *row, const float *x, const int kind)
{
	float s = hsum256(acc);
	for (; i < n; i++)
		s = fused(kind) ? fmaf(load_w1(row, i, kind), x[i], s) : s + load_w1(row, i, kind) * x[i];
	return s;
}

/* Eight hsum256 at once, each in hsum256's order: s = lo + hi, then (s0 + s2) +
 * (s1 + s3); a[0..3] are rows 0..3 of one token, a[4..7] of the next. Stores the two
 * tokens' 4 sums at o0[0..3] and o1[0..3]. (21 shuffles and adds for 8 sums where
 * hsum256 takes 6 each: with 64 elements a row, the attention's K product, the
 * reductions are a large part of a tile; its cycles went from 0.20-0.22 of the integer
 * tiles' to 0.135 in a Q4_0 pp512.) */
KF_INLINE void hsum256x8_store(const __m256 a[8], float *o0, float *o1)
{
	__m256 s[4];
	for (int j = 0; j < 4; j++)
		s[j] = _mm256_add_ps(_mm256_permute2f128_ps(a[2 * j], a[2 * j + 1], 0x20),
				     _mm256_permute2f128_ps(a[2 * j], a[2 * j + 1], 0x31));
	/* s[j] = [a_2j's s0..s3 | a_2j+1's s0..s3]; t = [s0+s2, s1+s3] of a_2j, a_2j+2 | a_2j+1, a_2j+3 */
	const __m256 t0 = _mm256_add_ps(_mm256_shuffle_ps(s[0], s[1], 0x44), _mm256_shuffle_ps(s[0], s[1], 0xee)),
		     t1 = _mm256_add_ps(_mm256_shuffle_ps(s[2], s[3], 0x44), _mm256_shuffle_ps(s[2], s[3], 0xee));
	/* lanes: a0, a2, a4, a6 | a1, a3, a5, a7 */
	const __m256 f = _mm256_add_ps(_mm256_shuffle_ps(t0, t1, 0x88), _mm256_shuffle_ps(t0, t1, 0xdd));
	const __m256 g = _mm256_permutevar8x32_ps(f, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
	_mm_storeu_ps(o0, _mm256_castps256_ps128(g));
	_mm_storeu_ps(o1, _mm256_extractf128_ps(g, 1));
}

/* One register tile: out[t * out_stride + r] for R rows from w (R <= TILE_R) x T tokens
 * from x (T <= TILE_T). Each activation vector is held in a register for the R rows
 * (the empty asm keeps the compiler from folding it into R memory operands: one
 * load instead of R, which is what lets the tile run at the arithmetic's rate). */
KF_INLINE void tile(int64_t n, const char *w, size_t w_stride, const float *x, size_t x_stride, float *out,
		    size_t out_stride, const int R, const int T, const int kind)
{
	__m256 acc[TILE_R][TILE_T];
	const char *wr[TILE_R];
	const float *xt[TILE_T];
	for (int r = 0; r < R; r++)
		wr[r] = w + (size_t)r * w_stride;
	for (int t = 0; t < T; t++)
		xt[t] = (const float *)((const char *)x + (size_t)t * x_stride);
	for (int r = 0; r < R; r++)
		for (int t = 0; t < T; t++)
			acc[r][t] = _mm256_setzero_ps();
	int64_t i = 0;
	for (; i + 8 <= n; i += 8) {
		__m256 wv[TILE_R];
		for (int r = 0; r < R; r++)
			wv[r] = load_w8(wr[r], i, kind);
		for (int t = 0; t < T; t++) {
			__m256 xv = _mm256_loadu_ps(xt[t] + i);
			__asm__("" : "+x"(xv));
			for (int r = 0; r < R; r++)
				acc[r][t] = madd(acc[r][t], wv[r], xv, kind);
		}
	}
	int t0 = 0;
	if (R == 4 && i == n) /* no tail: pairs of tokens' 4 rows reduced together */
		for (; t0 + 2 <= T; t0 += 2) {
			const __m256 a[8] = { acc[0][t0], acc[1][t0], acc[2][t0], acc[3][t0],
					      acc[0][t0 + 1], acc[1][t0 + 1], acc[2][t0 + 1], acc[3][t0 + 1] };
			hsum256x8_store(a, out + (size_t)t0 * out_stride, out + (size_t)(t0 + 1) * out_stride);
		}
	for (int r = 0; r < R; r++)
		for (int t = t0; t < T; t++)
			out[(size_t)t * out_stride + (size_t)r] = finish(acc[r][t], i, n, wr[r], xt[t], kind);
}

/* The tiles of R rows (R <= TILE_R) x nt tokens (nt <= TILE_T). */
KF_INLINE void tile_rows(int64_t n, const char *w, size_t w_stride, const float *x, size_t x_stride, float *out,
			 size_t out_stride, const int R, int nt, const int kind)
{
	switch (nt) {
	case TILE_T:
		tile(n, w, w_stride, x, x_stride, out, out_stride, R, TILE_T, kind);
		break;
#if TILE_T > 5
	case 5:
		tile(n, w, w_stride, x, x_stride, out, out_stride, R, 5, kind);
		break;
#endif
#if TILE_T > 4
	case 4:
		tile(n, w, w_stride, x, x_stride, out, out_stride, R, 4, kind);
		break;
#endif
#if TILE_T > 3
	case 3:
		tile(n, w, w_stride, x, x_stride, out, out_stride, R, 3, kind);
		break;
#endif
#if TILE_T > 2
	case 2:
		tile(n, w, w_stride, x, x_stride, out, out_stride, R, 2, kind);
		break;
#endif
	default:
		tile(n, w, w_stride, x, x_stride, out, out_stride, R, 1, kind);
		break;
	}
}

#if defined(__AVX512F__) && defined(__AVX512DQ__) && defined(__AVX512VL__)
#define KF_AVX512 1
/* Rows per packed group (PK_G / 2 registers of a pair of rows each) and tokens per packed
 * tile: PK_G / 2 x PK_T sums, PK_G / 2 weight vectors and a token's in 32 registers. */
#define PK_G 8
#define PK_T 6
/* The fewest tokens a call needs for its rows to be packed (the copy costs about what
 * 2 tokens' multiply-adds do). */
#define PK_MIN_TOK 8
/* 0: no prefetch of the next block (struct pk_pf; for A/B builds) */
#ifndef PK_PF
#define PK_PF 1
#endif
_Static_assert(PK_MIN_TOK > PK_T, "a packed call's first tile has PK_T tokens (it packs the block)");
/* Bytes of a thread's packed rows (on its stack): a block of BLK_R rows up to n = 2048
 * (F16, BF16) or 1024 (F32), fewer rows a block beyond, down to one group of PK_G rows
 * at n = 16384 (F16: 7B's 14336-wide ffn_down still packs) or 8192 (F32). */
#define PK_BYTES (256 * 1024)

/* A packed block (written by the block's first tile, pack_pair): for each group of PK_G
 * rows, for each chunk of 8 elements, the group's rows' 8 weights one after the other,
 * as stored (2 or 4 bytes each). So one
 * 512-bit vector holds a pair of rows' chunk, an even row of the group in the low half
 * and the next row in the high half, each half exactly the 8 lanes of the 256-bit tile
 * (lane-wise multiply and add do not mix halves): the same bits. The pair comes from
 * one load, where two rows at their own addresses took a load and an insert. */
/* The PK_G rows of the group at row g of a block of nr rows; past nr, copies of row nr - 1. */
KF_INLINE void group_rows(const char *w, size_t w_stride, int g, int nr, const char *wr[PK_G])
{
	for (int h = 0; h < PK_G; h++)
		wr[h] = w + (size_t)(g + h < nr ? g + h : nr - 1) * w_stride;
}

/* A pair of rows' chunk (16 weights as stored) as floats. */
KF_INLINE __m512 load_pair(const char *p, const int kind)
{
	if (kind == KIND_F32)
		return _mm512_loadu_ps((const float *)p);
	const __m256i h = _mm256_loadu_si256((const __m256i *)p);
	if (kind == KIND_BF16)
		return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
	return _mm512_cvtph_ps(h);
}

/* A pair of rows' chunk i read where the rows lie (a and b), stored at p in the packed
 * layout (16 weights), and returned as load_pair returns it. */
KF_INLINE __m512 pack_pair(const char *a, const char *b, int64_t i, char *p, const int kind)
{
	if (kind == KIND_F32) {
		const __m512 v = _mm512_insertf32x8(_mm512_castps256_ps512(_mm256_loadu_ps((const float *)a + i)),
						    _mm256_loadu_ps((const float *)b + i), 1);
		_mm512_store_ps((float *)p, v);
		return v;
	}
	const __m256i h = _mm256_inserti128_si256(
		_mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)(a + 2 * i))),
		_mm_loadu_si128((const __m128i *)(b + 2 * i)), 1);
	_mm256_store_si256((__m256i *)p, h);
	if (kind == KIND_BF16)
		return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
	return _mm512_cvtph_ps(h);
}

/* Slices of long rows: rows too long for PK_G of them to pack whole (F32 beyond 8192
 * elements, F16 and BF16 beyond 16384) go in blocks of SL_R rows, slices of SL_N
 * elements (a packed slice of SL_R F32 rows fills PK_BYTES) and chunks of SL_TOK tokens
 * (20 tiles: their sums, 120 KiB, wait on the stack between slices). Those rows took
 * the 256-bit tiles, at half the rate. One thread, 4096 rows of 14336, F32, G FLOP/s
 * (docs/performance.md, 2026-12-05): 95-104 -> 151-155 with 128 tokens, 98-99 ->
 * 168-169 with 256 (the CPU micro-batch). Rows that do pack whole stay whole: F16 rows
 * of 14336 (8-row blocks) ran as fast as slices with 256 tokens and faster with 128. */
#define SL_N 2048
#define SL_R 32
#define SL_TOK 120
/* Vectors of one tile's sums over a block; the save area holds SL_TOK / PK_T tiles' (a
 * chunk of up to 120 tokens cut by pk_next after a first tile of 6 never has more than
 * 20 tiles: checked for every length). */
#define SL_SAVE_TILE (SL_R / PK_G * (PK_G / 2) * PK_T)
_Static_assert(SL_R * SL_N * 4 <= PK_BYTES && SL_TOK % PK_T == 0 && SL_R % PK_G == 0, "slices fit the buffers");

/* Long rows go in slices (gemm_long): elements [lo, hi) of the rows (multiples of 8,
 * hi <= n8), the packed group holding those alone. The sums start at zero where lo is
 * 0 and from save (PK_G / 2 x PK_T vectors) otherwise; they are finished where hi is
 * n8 and put back in save otherwise. Each lane still adds its products in the order of
 * the elements, whatever the slices: the same bits. */
struct pk_slice {
	int64_t lo, hi;
	__m512 *save;
};

/* PK_G packed rows (group pg; rows past nr are copies, not stored; wr: the rows as
 * stored, for the tail) x T tokens; the whole rows where sl is NULL, else one slice.
 * With fill set (a block's first tile), the rows are read where they lie and packed
 * into pg as the tile goes (the copy a separate pass made before any tile ran: now the
 * read from memory overlaps the multiply-adds). The same products either way: acc[p][t]
 * holds rows 2p and 2p + 1 of token t, each token's chunk broadcast to both halves.
 * Eight rows x 6 tokens where it was 4 x 12: a token's broadcast serves four weight
 * registers instead of two, so a pass loads 10 vectors for 24 multiply-adds where it
 * loaded 14, and the tokens a tile reads stay in L1 at longer rows (docs/performance.md,
 * 2026-12-05). */
KF_INLINE void pk_tile(int64_t n, int64_t n8, char *pg, const char *const wr[PK_G], int nr, const float *x,
		       size_t x_stride, float *out, size_t out_stride, const int T, const int kind, const int fill,
		       const struct pk_slice *sl)
{
	enum { P = PK_G / 2 };
	__m512 acc[P][PK_T];
	const float *xt[PK_T];
	const int64_t lo = sl ? sl->lo : 0, hi = sl ? sl->hi : n8;
	for (int t = 0; t < T; t++) {
		xt[t] = (const float *)((const char *)x + (size_t)t * x_stride);
		for (int q = 0; q < P; q++)
			acc[q][t] = lo ? sl->save[q * PK_T + t] : _mm512_setzero_ps();
	}
	const size_t half = 16 * (size_t)elt_bytes(kind);
	/* Token t's chunk at p + one of 0, s, 2s, s3, 4s, s5: three registers for the six
	 * addresses (six pointers spilled to the stack and were reloaded every pass). */
	size_t s1 = x_stride, s3 = 3 * x_stride, s5 = 5 * x_stride;
	/* The packed chunk and the tokens' elements advance by pointer (c, p): with their
	 * addresses computed from i, GCC ran out of general registers in some of the bodies
	 * (a register kept in a vector one, moved back every pass: F16 8% slower). */
	const size_t step = P * half;
	const char *p = (const char *)(x + lo);
	for (char *c = pg, *const ce = pg + (size_t)(hi - lo) / 8 * step; c < ce; c += step, p += 8 * sizeof(float)) {
		__m512 wv[P];
		const int64_t i = fill ? lo + (int64_t)((size_t)(c - pg) / step) * 8 : 0; /* only fill reads rows */
		for (int q = 0; q < P; q++)
			wv[q] = fill ? pack_pair(wr[2 * q], wr[2 * q + 1], i, c + (size_t)q * half, kind)
				     : load_pair(c + (size_t)q * half, kind);
		/* opaque, so that the compiler does not hoist the sums out of the loop again */
		__asm__("" : "+r"(s1), "+r"(s3), "+r"(s5));
		for (int t = 0; t < T; t++) {
			static const int mul[PK_T] = { 0, 1, 2, 1, 4, 1 };
			const size_t k = t == 3 ? s3 : t == 5 ? s5 : s1;
			const float *xp = (const float *)(p + k * (size_t)mul[t]);
			__m512 xv = _mm512_broadcast_f32x8(_mm256_loadu_ps(xp));
			__asm__("" : "+v"(xv)); /* one load for every product (see tile) */
			for (int q = 0; q < P; q++)
				acc[q][t] = fused(kind) ? _mm512_fmadd_ps(wv[q], xv, acc[q][t])
							: _mm512_add_ps(acc[q][t], _mm512_mul_ps(wv[q], xv));
		}
	}
	if (hi < n8) { /* not the last slice: the sums wait in save */
		for (int t = 0; t < T; t++)
			for (int q = 0; q < P; q++)
				sl->save[q * PK_T + t] = acc[q][t];
		return;
	}
	int t0 = 0;
	if (nr == PK_G && n8 == n) /* no tail: a token's 8 rows reduced together */
		for (; t0 < T; t0++) {
			__m256 a[8];
			for (int q = 0; q < P; q++) {
				a[2 * q] = _mm512_castps512_ps256(acc[q][t0]);
				a[2 * q + 1] = _mm512_extractf32x8_ps(acc[q][t0], 1);
			}
			float *o = out + (size_t)t0 * out_stride;
			hsum256x8_store(a, o, o + 4);
		}
	for (int t = t0; t < T; t++)
		for (int r = 0; r < nr; r++) {
			const __m512 v = acc[r / 2][t];
			const __m256 h = r % 2 ? _mm512_extractf32x8_ps(v, 1) : _mm512_castps512_ps256(v);
			out[(size_t)t * out_stride + (size_t)r] = finish(h, n8, n, wr[r], xt[t], kind);
		}
}

/* The next block's rows, fetched towards L2 while this block's tiles run, a few lines
 * before each row group (pk_tiles), so that the next block's first tile, which packs it,
 * reads them from the caches and not from memory: at bytes [at, end) of p, per_group
 * lines a group. */
struct pk_pf {
	const char *p;
	size_t at, end, per_group;
};

/* Every group of a packed block of nr rows x T tokens: the whole rows (sl NULL) or one
 * slice of them, whose save holds the block's groups' sums one after the other. */
KF_INLINE void pk_tiles(int64_t n, int64_t n8, char *pk, const char *wb, size_t w_stride, int nr,
			const float *x, size_t x_stride, float *out, size_t out_stride, const int T, const int kind,
			const int fill, const struct pk_slice *sl, struct pk_pf *pf)
{
	const size_t group = PK_G * (size_t)(sl ? SL_N : n8) * (size_t)elt_bytes(kind);
	for (int g = 0; g < nr; g += PK_G) {
		if (pf)
			for (size_t k = 0; k < pf->per_group && pf->at < pf->end; k++, pf->at += 64)
				_mm_prefetch(pf->p + pf->at, _MM_HINT_T1);
		const char *wr[PK_G];
		group_rows(wb, w_stride, g, nr, wr);
		struct pk_slice gs;
		if (sl)
			gs = (struct pk_slice){ sl->lo, sl->hi, sl->save + (size_t)(g / PK_G) * (PK_G / 2) * PK_T };
		pk_tile(n, n8, pk + (size_t)(g / PK_G) * group, wr, nr - g < PK_G ? nr - g : PK_G, x, x_stride, out + g,
			out_stride, T, kind, fill, sl ? &gs : NULL);
	}
}

/* The tokens of the next packed tile when left >= 4 remain: 6, 5 or 4, chosen so that
 * what is left after it can be cut the same way (0, or at least 4 and not 7), so no
 * token goes to the 256-bit tiles, which do a quarter of the work a cycle (tokens past
 * a multiple of 6: 2 of a 128-token prefill), unless the call has 7 tokens or the first
 * tile (which packs the block: PK_T tokens) leaves 1 to 3. */
KF_INLINE int pk_next(int left)
{
	for (int T = PK_T; T > 4; T--) {
		const int rest = left - T;
		if (rest == 0 || (rest >= 4 && rest != 7))
			return T;
	}
	return 4;
}

/* pk_tiles for one kind, T and fill, each a function of its own: inlined into gemm
 * (a body for every kind, T, fill and slicing), register allocation went by the whole
 * function, and whether a body's hot loop kept its addresses in general registers
 * changed with unrelated code (F16 or F32 8-20% slower from one build to the next). */
#define PK_ARGS                                                                                                  \
	int64_t n, int64_t n8, char *pk, const char *wb, size_t w_stride, int nr, const float *x, size_t x_stride, \
		float *out, size_t out_stride, const struct pk_slice *sl, struct pk_pf *pf
#define PK_FN(K, T, F)                                                                                     \
	static __attribute__((noinline)) void pk_##K##_##T##_##F(PK_ARGS)                                   \
	{                                                                                                  \
		pk_tiles(n, n8, pk, wb, w_stride, nr, x, x_stride, out, out_stride, T, KIND_##K, F, sl, pf); \
	}
#define PK_FNS(K) PK_FN(K, 6, 1) PK_FN(K, 6, 0) PK_FN(K, 5, 0) PK_FN(K, 4, 0)
PK_FNS(F32)
PK_FNS(F16)
PK_FNS(F16H)
PK_FNS(BF16)
#define PK_ROW(K) { pk_##K##_6_1, pk_##K##_6_0, pk_##K##_5_0, pk_##K##_4_0 }
/* [kind][fill with 6 tokens, 6, 5, 4 tokens] */
static void (*const pk_fns[4][4])(PK_ARGS) = { PK_ROW(F32), PK_ROW(F16), PK_ROW(F16H), PK_ROW(BF16) };

/* pk_tiles with T = PK_T (packing the block, or the slice, as it goes where fill is
 * set), 5 or 4. */
static void pk_tiles_of(int64_t n, int64_t n8, char *pk, const char *wb, size_t w_stride, int nr, const float *x,
			size_t x_stride, float *out, size_t out_stride, int T, int fill, const struct pk_slice *sl,
			struct pk_pf *pf, const int kind)
{
	_Static_assert(PK_T == 6 && KIND_F32 == 0 && KIND_F16 == 1 && KIND_F16H == 2 && KIND_BF16 == 3,
		       "tiles of 6, 5 and 4 tokens; pk_fns' rows");
	pk_fns[kind][fill ? 0 : 7 - T](n, n8, pk, wb, w_stride, nr, x, x_stride, out, out_stride, sl, pf);
}

/* The packed tiles of tokens t0 .. end - 1 over one block of nr rows (out: the block's
 * first row): PK_T tokens first (that tile packs the block, or the slice), then as
 * pk_next cuts them; the whole rows where sl is NULL, else one slice, tile k's sums at
 * sl->save + k * SL_SAVE_TILE. Returns the first token not done (fewer than 4 remain).
 * next, next_bytes: the rows of the block that comes next (none: 0 bytes), which the
 * tiles after the first fetch towards L2 (struct pk_pf). */
static int pk_run(int64_t n, int64_t n8, char *pk, const char *wb, size_t w_stride, int nr, const float *x,
		  size_t x_stride, int t0, int end, float *out, size_t out_stride, const struct pk_slice *sl,
		  const char *next, size_t next_bytes, const int kind)
{
	int t = t0;
	/* the next block's lines spread over the groups of the tiles after the first */
	const size_t groups = (size_t)((nr + PK_G - 1) / PK_G) * (size_t)((end - t0) / PK_T > 1 ? (end - t0) / PK_T - 1 : 1);
	struct pk_pf pf = { next, 0, PK_PF ? next_bytes : 0, (next_bytes / 64 + groups - 1) / groups };
	for (int k = 0; end - t >= 4; k++) {
		const int T = t == t0 ? PK_T : pk_next(end - t);
		struct pk_slice ts;
		if (sl)
			ts = (struct pk_slice){ sl->lo, sl->hi, sl->save + (size_t)k * SL_SAVE_TILE };
		pk_tiles_of(n, n8, pk, wb, w_stride, nr, (const float *)((const char *)x + (size_t)t * x_stride), x_stride,
			    out + (size_t)t * out_stride, out_stride, T, t == t0, sl ? &ts : NULL,
			    t != t0 && pf.at < pf.end ? &pf : NULL, kind);
		t += T;
	}
	return t;
}

/* Rows too long for PK_G of them to pack whole (gemm; more than PK_BYTES / PK_G bytes): the
 * tokens go in chunks of SL_TOK, and for each chunk, every block of SL_R rows, whose
 * length goes in slices of SL_N elements; each slice is packed by the chunk's first tile
 * and met by all its tiles, the sums kept in save between slices. So SL_R rows share
 * each pass over the activations (at n = 14336, F32 rows could not pack at all), and a
 * chunk's activations (6.9 MB at n = 14336) stay in the last-level cache while every
 * block meets them. Returns the tokens done (the rest, fewer than PK_T, take the
 * 256-bit tiles). */
static int gemm_long(int64_t n, int64_t n8, char *pk, __m512 *save, const char *w, size_t w_stride, int n_rows,
		     const float *x, size_t x_stride, int n_tok, float *out, size_t out_stride, const int kind)
{
	int t = 0;
	while (n_tok - t >= PK_T) { /* a chunk's first tile (it packs) has PK_T tokens */
		const int end = n_tok - t > SL_TOK ? t + SL_TOK : n_tok;
		int done = t;
		for (int r0 = 0; r0 < n_rows; r0 += SL_R) {
			const int nr = n_rows - r0 < SL_R ? n_rows - r0 : SL_R;
			for (int64_t lo = 0; lo < n8; lo += SL_N) {
				const struct pk_slice sl = { lo, lo + SL_N < n8 ? lo + SL_N : n8, save };
				done = pk_run(n, n8, pk, w + (size_t)r0 * w_stride, w_stride, nr, x, x_stride, t, end,
					      out + r0, out_stride, &sl, NULL, 0, kind);
			}
		}
		t = done;
	}
	return t;
}
#else
#define KF_AVX512 0
#endif

/* Cache blocking of one call: blocks of BLK_R rows; in each, the tokens go by in tiles
 * of TILE_T, and each tile of tokens (held in L1) meets every row group of the block
 * (BLK_R rows, in L2) before the next tile comes. The activations of a micro-batch
 * (256 tokens: 0.8 MB at n = 768, 2 MB at n = 2048) do not stay in L2, so they stream
 * in once per block: 64-row blocks read them an eighth as often as 8-row ones. On an
 * AMD EPYC (1 thread, 256 tokens, best of 4 x 15 calls), 2048 x 768 / 768 x 2048:
 * F16 (f16-valued activations) 33.8 / 34.1 G multiply-adds/s at 8 rows, 36.1 / 34.7
 * at 16, 38.6 / 35.8 at 32, 40.5 / 36.6 at 64, no more at 128 or 256; F32 32.9 / 28.6
 * at 8 rows, 40.0 / 30.7 at 64. Splitting the rows' length into slices (with the lane
 * sums kept in between) was slower here at n = 768 and 2048. */
#define BLK_R 64

static void gemm(int64_t n, const char *w, size_t w_stride, int n_rows, const float *x, size_t x_stride, int n_tok,
		 float *out, size_t out_stride, const int kind)
{
	_Static_assert(BLK_R % TILE_R == 0 && BLK_R % 8 == 0 && TILE_T <= 6,
		       "blocks of whole row groups; tile_rows knows T <= 6");
	int blk = BLK_R, t_long = 0; /* t_long: tokens done by gemm_long */
#if KF_AVX512
	/* With enough tokens, each block's rows are packed once (by its first tile), then
	 * every tile of tokens meets them; blocks get fewer rows where long rows would
	 * overflow the buffer. */
	_Alignas(64) char pk[PK_BYTES];
	_Alignas(64) __m512 save[SL_TOK / PK_T * SL_SAVE_TILE];
	const int64_t n8 = n / 8 * 8, pk_rows = n8 ? PK_BYTES / (n8 * elt_bytes(kind)) / PK_G * PK_G : 0;
	const int packed = n_tok >= PK_MIN_TOK && pk_rows >= PK_G;
	if (packed && pk_rows < blk)
		blk = (int)pk_rows;
	/* rows too long to pack whole: gemm_long, the 256-bit tiles for its last tokens */
	if (n_tok >= PK_MIN_TOK && n8 && !packed)
		t_long = gemm_long(n, n8, pk, save, w, w_stride, n_rows, x, x_stride, n_tok, out, out_stride, kind);
#endif
	for (int r0 = 0; r0 < n_rows; r0 += blk) {
		const int nr = n_rows - r0 < blk ? n_rows - r0 : blk;
		const char *wb = w + (size_t)r0 * w_stride;
		int t = t_long;
#if KF_AVX512
		if (packed) { /* n_tok >= PK_MIN_TOK > PK_T: the first tile packs the block */
			const int next = n_rows - r0 - nr < blk ? n_rows - r0 - nr : blk;
			t = pk_run(n, n8, pk, wb, w_stride, nr, x, x_stride, 0, n_tok, out + r0, out_stride, NULL,
				   wb + (size_t)nr * w_stride, (size_t)next * w_stride, kind);
		}
#endif
		for (; t < n_tok; t += TILE_T) {
			const int nt = n_tok - t < TILE_T ? n_tok - t : TILE_T;
			const float *xt = (const float *)((const char *)x + (size_t)t * x_stride);
			float *ot = out + (size_t)t * out_stride + (size_t)r0;
			int r = 0;
			for (; r + TILE_R <= nr; r += TILE_R)
				tile_rows(n, wb + (size_t)r * w_stride, w_stride, xt, x_stride, ot + r, out_stride, TILE_R,
					  nt, kind);
			for (; r < nr; r++)
				tile_rows(n, wb + (size_t)r * w_stride, w_stride, xt, x_stride, ot + r, out_stride, 1, nt,
					  kind);
		}
	}
}

/* Decode: R rows x 1 token, row r at w + r * w_stride (its result at out[r * out_step]).
 * Prefetching: with next set, the rows of the next group at the position being read,
 * a cache line per 64 bytes (the memory works one group ahead); with ahead set,
 * each row ahead bytes further on in its own stream (gemv's streams). */
KF_INLINE void gemv_tile(int64_t n, const char *w, size_t w_stride, const float *x, float *out, size_t out_step,
			 const char *next, size_t ahead, const int R, const int kind)
{
	__m256 acc[DEC_R];
	const char *wr[DEC_R];
	for (int r = 0; r < R; r++) {
		wr[r] = w + (size_t)r * w_stride;
		acc[r] = _mm256_setzero_ps();
	}
	const int64_t elt = elt_bytes(kind);
	int64_t i = 0;
	for (; i + 8 <= n; i += 8) {
		const __m256 xv = _mm256_loadu_ps(x + i);
		if (next && (i * elt) % 64 == 0)
			for (int r = 0; r < R; r++)
				_mm_prefetch(next + (size_t)r * w_stride + (size_t)(i * elt), _MM_HINT_T0);
		if (ahead && (i * elt) % 64 == 0)
			for (int r = 0; r < R; r++)
				_mm_prefetch(wr[r] + (size_t)(i * elt) + ahead, _MM_HINT_T0);
		for (int r = 0; r < R; r++)
			acc[r] = madd(acc[r], load_w8(wr[r], i, kind), xv, kind);
	}
	for (int r = 0; r < R; r++)
		out[(size_t)r * out_step] = finish(acc[r], i, n, wr[r], x, kind);
}

/* Decode reads the rows as DEC_R streams (kernels.h: eng_dec_run; 2 threads, 768- and
 * 2048-wide F16 rows: 18-22 GB/s before, 26-27 after, the host's roofline 28 GB/s).
 * Each row's sum is gemv_tile's, whichever tile it is in: the same bits. The rest go
 * by groups of neighbouring rows, prefetching the next group. */
static void gemv(int64_t n, const char *w, size_t w_stride, int n_rows, const float *x, float *out, const int kind)
{
	_Static_assert(DEC_R == ENG_DEC_STREAMS, "a decode tile takes one row of each stream");
	const int run = eng_dec_run(n_rows);
	const size_t ahead = eng_cpu_dec_ahead();
	for (int k = 0; k < run; k++)
		gemv_tile(n, w + (size_t)k * w_stride, (size_t)run * w_stride, x, out + k, (size_t)run, NULL,
			  ahead, DEC_R, kind);
	int r0 = run * DEC_R;
	/* rows a multiple of 2 KiB apart fall into one or two of L1's 64 sets (8 ways):
	 * the next group's lines would evict the current one's, so no prefetch there */
	const int pf = w_stride % 2048 != 0;
	for (; r0 + DEC_R <= n_rows; r0 += DEC_R) {
		const char *next = pf && r0 + 2 * DEC_R <= n_rows ? w + (size_t)(r0 + DEC_R) * w_stride : NULL;
		gemv_tile(n, w + (size_t)r0 * w_stride, w_stride, x, out + r0, 1, next, 0, DEC_R, kind);
	}
	for (; r0 + 4 <= n_rows; r0 += 4)
		gemv_tile(n, w + (size_t)r0 * w_stride, w_stride, x, out + r0, 1, NULL, 0, 4, kind);
	for (; r0 < n_rows; r0++)
		gemv_tile(n, w + (size_t)r0 * w_stride, w_stride, x, out + r0, 1, NULL, 0, 1, kind);
}

void eng_mdot_f32(int64_t n, const void *w, size_t w_stride, int n_rows, const float *x, size_t x_stride,
		  int n_tok, float *out, size_t out_stride)
{
	if (n_tok == 1)
		gemv(n, w, w_stride, n_rows, x, out, KIND_F32);
	else
		gemm(n, w, w_stride, n_rows, x, x_stride, n_tok, out, out_stride, KIND_F32);
}

void eng_mdot_f16(int64_t n, const void *w, size_t w_stride, int n_rows, const float *x, size_t x_stride,
		  int n_tok, float *out, size_t out_stride)
{
	if (n_tok == 1)
		gemv(n, w, w_stride, n_rows, x, out, KIND_F16);
	else
		gemm(n, w, w_stride, n_rows, x, x_stride, n_tok, out, out_stride, KIND_F16);
}

void eng_mdot_bf16(int64_t n, const void *w, size_t w_stride, int n_rows, const float *x, size_t x_stride,
		   int n_tok, float *out, size_t out_stride)
{
	if (n_tok == 1)
		gemv(n, w, w_stride, n_rows, x, out, KIND_BF16);
	else
		gemm(n, w, w_stride, n_rows, x, x_stride, n_tok, out, out_stride, KIND_BF16);
}

void eng_mdot_f16_xh(int64_t n, const void *w, size_t w_stride, int n_rows, const float *x, size_t x_stride,
		     int n_tok, float *out, size_t out_stride)
{
	if (n_tok == 1)
		gemv(n, w, w_stride, n_rows, x, out, KIND_F16H);
	else
		gemm(n, w, w_stride, n_rows, x, x_stride, n_tok, out, out_stride, KIND_F16H);
}

#else /* no AVX2 + F16C + FMA: the single-row kernels, pair by pair */

static void mdot_rows(int64_t n, const void *w, size_t w_stride, int n_rows, const float *x, size_t x_stride,
		      int n_tok, float *out, size_t out_stride, uint32_t type)
{
	const struct eng_type_traits *tt = eng_type_get(type);
	for (int r = 0; r < n_rows; r++)
		for (int t = 0; t < n_tok; t++)
			out[(size_t)t * out_stride + (size_t)r] =
				tt->vec_dot(n, (const char *)w + (size_t)r * w_stride,
					    (const float *)((const char *)x + (size_t)t * x_stride));
}

void eng_mdot_f32(int64_t n, const void *w, size_t w_stride, int n_rows, const float *x, size_t x_stride,
		  int n_tok, float *out, size_t out_stride)
{
	mdot_rows(n, w, w_stride, n_rows, x, x_stride, n_tok, out, out_stride, ENG_TYPE_F32);
}

void eng_mdot_f16(int64_t n, const void *w, size_t w_stride, int n_rows, const float *x, size_t x_stride,
		  int n_tok, float *out, size_t out_stride)
{
	mdot_rows(n, w, w_stride, n_rows, x, x_stride, n_tok, out, out_stride, ENG_TYPE_F16);
}

void eng_mdot_bf16(int64_t n, const void *w, size_t w_stride, int n_rows, const float *x, size_t x_stride,
		   int n_tok, float *out, size_t out_stride)
{
	mdot_rows(n, w, w_stride, n_rows, x, x_stride, n_tok, out, out_stride, ENG_TYPE_BF16);
}

void eng_mdot_f16_xh(int64_t n, const void *w, size_t w_stride, int n_rows, const float *x, size_t x_stride,
		     int n_tok, float *out, size_t out_stride)
{
	mdot_rows(n, w, w_stride, n_rows, x, x_stride, n_tok, out, out_stride, ENG_TYPE_F16);
}

#endif
