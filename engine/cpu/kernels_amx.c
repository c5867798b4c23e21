/* kernels_amx.c — Q8_0-activation prefill on AMX-INT8 tiles (Intel Sapphire Rapids and later).
 *
 * A 16-row block of Q8_0, Q4_0, Q5_0 or IQ4_NL weights in repack.h's layout (or unpacked by
 * kernels_kr.c into kernels.h's ENG_ILV16_BLOCK blocks) already holds each 32-element block
 * as an AMX "B" tile: 8 rows of 64 bytes, byte 4r + j of row g being quant 4g + j of weight
 * row r, unsigned. Sixteen tokens' activation blocks (32 signed bytes each, x_stride apart)
 * are the "A" tile, and one tdpbsud gives the 16 x 16 exact integer sums of the block,
 * (q + bias) . x. From there each (row, token) takes the float step of the VNNI tiles
 * (kernels_kr.c krq0, eng_ilv16_tile_vnni): sumi = that sum - the token's bias x block sum
 * (eng_q8_tables_fill's sxv), then acc + (float)sumi * (d_w * d_x), block after block.
 * Integers are exact however they are formed, so every output has the bits of the
 * row-by-row dot (tests/eng_repack.c compares the two paths on the same shapes).
 *
 * The tiles cost the block's integer work once for 16 x 16 (row, token) pairs, where
 * vpdpbusd does 16 x 4 products an instruction; the float step (16 vectors a block) is
 * what is left. Two blocks are issued ahead (C tiles 0 and 1), so that the tile products
 * could run under the float steps; on the first AMX host measured they did not (the two
 * times add up: docs/performance.md, 2026-12-05), and the kernel is 1.2-1.3x the VNNI
 * tiles, not more.
 *
 * Linux hands out the tiles' register state only on request (arch_prctl
 * ARCH_REQ_XCOMP_PERM, once a process, for all its threads); a CPU or kernel that says no
 * leaves the VNNI path, with the same results, as does MERILO_NO_AMX=1 (for A/B runs). */
#include "engine/cpu/kernels.h"

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) && defined(__AVX2__) && defined(__F16C__) && defined(__GNUC__) /* as kernels_kr.c, its caller */
#include <cpuid.h>
#include <immintrin.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "engine/cpu/kernels_int.h"
#include "engine/cpu/repack.h"
#include "engine/types.h"

#define AMX_TARGET __attribute__((target("amx-tile,amx-int8,avx512f,avx512bw,avx512vl,avx512dq,f16c")))

#define ARCH_REQ_XCOMP_PERM_ 0x1023
#define XFEATURE_XTILEDATA_ 18

static _Atomic int amx_off;
static _Atomic int amx_state; /* 0: not asked yet, 1: usable, 2: not */

void eng_cpu_amx_disable(int off)
{
	atomic_store(&amx_off, off);
}

/* CPUID leaf 7: EDX bit 24 AMX-TILE, bit 25 AMX-INT8; then the kernel's permission. */
static int amx_probe(void)
{
	const char *env = getenv("MERILO_NO_AMX"); /* the VNNI path instead, for A/B runs */
	if (env && *env && strcmp(env, "0") != 0)
		return 0;
	unsigned a, b, c, d;
	if (!__get_cpuid_count(7, 0, &a, &b, &c, &d) || !(d & (1u << 24)) || !(d & (1u << 25)))
		return 0;
	return syscall(SYS_arch_prctl, ARCH_REQ_XCOMP_PERM_, XFEATURE_XTILEDATA_) == 0;
}

int eng_cpu_has_amx(void)
{
	if (atomic_load_explicit(&amx_off, memory_order_relaxed) || !eng_cpu_has_vnni())
		return 0;
	int s = atomic_load_explicit(&amx_state, memory_order_acquire);
	if (!s) { /* two threads may both ask: the request is idempotent */
		s = amx_probe() ? 1 : 2;
		atomic_store_explicit(&amx_state, s, memory_order_release);
	}
	return s == 1;
}

/* The tile configuration (palette 1): C tiles 0 and 1 are 16 tokens x 16 int32 sums, A tiles
 * 2 and 3 16 tokens x 32 activation bytes, B tiles 4 and 5 8 x 64 weight bytes (K = 32). */
struct amx_cfg {
	uint8_t palette, start_row, reserved[14];
	uint16_t colsb[16];
	uint8_t rows[16];
};

/* Constant and in memory: gcc 12 does not see ldtilecfg read its operand, and dropped the
 * stores of a configuration built on the stack (the instruction then faulted). */
static const struct amx_cfg amx_cfg = {
	.palette = 1,
	.colsb = { 64, 64, 32, 32, 64, 64 },
	.rows = { 16, 16, 16, 16, 8, 8 },
};

AMX_TARGET void eng_amx_begin(void)
{
	_tile_loadconfig(&amx_cfg);
}

AMX_TARGET void eng_amx_end(void)
{
	_tile_release();
}

#define AMX_INLINE static inline __attribute__((always_inline)) AMX_TARGET

/* Block ib's float step for the 16 tokens: sums[t] = the C tile's row t (the 16 rows' sums);
 * gb[g] = the tables of token group g (kernels_int.h ki_table_group), sxb[g] its block sums. */
AMX_INLINE void amx_step(const int32_t (*sums)[16], __m512 dw, const float *const *gb, const int32_t *const *sxb,
			 int64_t ib, __m512 *acc)
{
#pragma GCC unroll 16
	for (int t = 0; t < 16; t++) {
		const size_t lane = 8 * (size_t)ib + 2 * (size_t)(t % 4);
		const __m512i p =
			_mm512_sub_epi32(_mm512_load_si512((const void *)sums[t]), _mm512_set1_epi32(sxb[t / 4][lane]));
		const __m512 d = _mm512_mul_ps(dw, _mm512_set1_ps(gb[t / 4][lane]));
		acc[t] = _mm512_add_ps(acc[t], _mm512_mul_ps(_mm512_cvtepi32_ps(p), d));
	}
}

/* Block ib's weights: the B tile and the 16 row scales as floats. q8: repack.h's struct kr_q80
 * units (two blocks each, scales f16); else ENG_ILV16_BLOCK blocks (scales floats). */
AMX_INLINE const uint8_t *amx_b(const uint8_t *w, int64_t ib, const int q8)
{
	return q8 ? w + (size_t)(ib / 2) * sizeof(struct kr_q80) + (size_t)(ib % 2) * 512
		  : w + (size_t)ib * ENG_ILV16_BLOCK;
}

AMX_INLINE __m512 amx_dw(const uint8_t *w, int64_t ib, const int q8)
{
	if (q8) {
		const struct kr_q80 *u = (const void *)(w + (size_t)(ib / 2) * sizeof(struct kr_q80));
		return _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(const void *)u->d[ib % 2]));
	}
	return _mm512_loadu_ps((const void *)(w + (size_t)ib * ENG_ILV16_BLOCK + 512));
}

/* Where block ib of the 16 tokens' activations is: a + ib * a_step, rows a_stride apart. */
struct amx_a {
	const uint8_t *a;
	size_t a_step, a_stride;
};

/* Blocks ib and ib + 1 into C tiles 0 and 1 (A tiles 2 and 3, B tiles 4 and 5). */
AMX_INLINE void amx_issue(struct amx_a x, const uint8_t *w, int64_t ib, const int q8)
{
	_tile_loadd(2, x.a + (size_t)ib * x.a_step, x.a_stride);
	_tile_loadd(4, amx_b(w, ib, q8), 64);
	_tile_zero(0);
	_tile_dpbsud(0, 2, 4);
	_tile_loadd(3, x.a + (size_t)(ib + 1) * x.a_step, x.a_stride);
	_tile_loadd(5, amx_b(w, ib + 1, q8), 64);
	_tile_zero(1);
	_tile_dpbsud(1, 3, 5);
}

/* The tile products of the next two blocks run while the float steps of these two do. */
AMX_INLINE void amx_tile(int64_t nb, const uint8_t *w, struct amx_a x, const float *grp, int64_t nbt, float *out,
			 size_t out_stride, int nr, const int q8)
{
	_Alignas(64) int32_t sums[2][16][16];
	__m512 acc[16];
	const float *gb[4];
	const int32_t *sxb[4];
	for (int g = 0; g < 4; g++) {
		gb[g] = grp + ki_table_group(4 * g, nbt);
		sxb[g] = (const int32_t *)(const void *)(gb[g] + 8 * nbt);
	}
#pragma GCC unroll 16
	for (int t = 0; t < 16; t++)
		acc[t] = _mm512_setzero_ps();
	amx_issue(x, w, 0, q8); /* nb is even: the rows are whole 64-element units */
	for (int64_t ib = 0; ib < nb; ib += 2) {
		_tile_stored(0, sums[0], 64);
		_tile_stored(1, sums[1], 64);
		if (ib + 2 < nb)
			amx_issue(x, w, ib + 2, q8);
		amx_step((const int32_t(*)[16])sums[0], amx_dw(w, ib, q8), gb, sxb, ib, acc);
		amx_step((const int32_t(*)[16])sums[1], amx_dw(w, ib + 1, q8), gb, sxb, ib + 1, acc);
	}
	const __mmask16 keep = (__mmask16)((1u << nr) - 1);
#pragma GCC unroll 16
	for (int t = 0; t < 16; t++)
		_mm512_mask_storeu_ps(out + (size_t)t * out_stride, keep, acc[t]);
}

AMX_TARGET void eng_amx_pack_a(int64_t nb, const void *x, size_t x_stride, void *a)
{
	for (int t = 0; t < 16; t++) {
		const struct eng_block_q8_0 *xt = (const void *)((const char *)x + (size_t)t * x_stride);
		for (int64_t ib = 0; ib < nb; ib++)
			_mm256_store_si256((__m256i *)(void *)((uint8_t *)a + (size_t)(16 * ib + t) * 32),
					   _mm256_loadu_si256((const __m256i *)(const void *)xt[ib].qs));
	}
}

AMX_TARGET void eng_amx_q0_tile(int64_t nb, const void *w, int q8, const void *x, size_t x_stride, const void *a,
				const float *grp, float *out, size_t out_stride, int nr)
{
	const struct amx_a ax = a ? (struct amx_a){ a, 512, 32 }
				  : (struct amx_a){ (const uint8_t *)x + offsetof(struct eng_block_q8_0, qs),
						    sizeof(struct eng_block_q8_0), x_stride };
	if (q8)
		amx_tile(nb, w, ax, grp, nb, out, out_stride, nr, 1);
	else
		amx_tile(nb, w, ax, grp, nb, out, out_stride, nr, 0);
}
#else
void eng_cpu_amx_disable(int off)
{
	(void)off;
}

int eng_cpu_has_amx(void)
{
	return 0;
}

void eng_amx_begin(void)
{
}

void eng_amx_end(void)
{
}

void eng_amx_pack_a(int64_t nb, const void *x, size_t x_stride, void *a)
{ /* never called: eng_cpu_has_amx() says no */
	(void)nb, (void)x, (void)x_stride, (void)a;
}

void eng_amx_q0_tile(int64_t nb, const void *w, int q8, const void *x, size_t x_stride, const void *a,
		     const float *grp, float *out, size_t out_stride, int nr)
{ /* never called: eng_cpu_has_amx() says no */
	(void)nb, (void)w, (void)q8, (void)x, (void)x_stride, (void)a, (void)grp, (void)out, (void)out_stride, (void)nr;
}
#endif
