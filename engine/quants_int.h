/* quants_int.h — ggml's block layouts of the types in quants.c, shared by
 * quants.c (references, dequantization, the AVX2 dots of most types) and the
 * SIMD kernels in the other engine/quants_*.c files; internal to engine/.
 *
 * Layouts are ggml's (ggml-common.h); the sizes are checked below and the
 * contents by tests/eng_quants.c against the python `gguf` package.
 */
#ifndef MRL_ENG_QUANTS_INT_H
#define MRL_ENG_QUANTS_INT_H

#include <stdint.h>

#define QK_K 256

struct blk_q4_1 {
	uint16_t d, m;
	uint8_t qs[16];
};
struct blk_q5_0 {
	uint16_t d;
	uint8_t qh[4];
	uint8_t qs[16];
};
struct blk_q5_1 {
	uint16_t d, m;
	uint8_t qh[4];
	uint8_t qs[16];
};
struct blk_iq4_nl {
	uint16_t d;
	uint8_t qs[16];
};
struct blk_q2_K {
	uint8_t scales[16]; /* low nibble scale, high nibble min, per 16 */
	uint8_t qs[64];
	uint16_t d, dmin;
};
struct blk_q3_K {
	uint8_t hmask[32];
	uint8_t qs[64];
	uint8_t scales[12]; /* 16 6-bit scales, biased by 32 */
	uint16_t d;
};
struct blk_q4_K {
	uint16_t d, dmin;
	uint8_t scales[12]; /* 8 6-bit scales and 8 6-bit mins */
	uint8_t qs[128];
};
struct blk_q5_K {
	uint16_t d, dmin;
	uint8_t scales[12];
	uint8_t qh[32];
	uint8_t qs[128];
};
struct blk_q6_K {
	uint8_t ql[128];
	uint8_t qh[64];
	int8_t scales[16];
	uint16_t d;
};
struct blk_iq4_xs {
	uint16_t d;
	uint16_t scales_h;
	uint8_t scales_l[4];
	uint8_t qs[128];
};
_Static_assert(sizeof(struct blk_q4_1) == 20, "q4_1 block");
_Static_assert(sizeof(struct blk_q5_0) == 22, "q5_0 block");
_Static_assert(sizeof(struct blk_q5_1) == 24, "q5_1 block");
_Static_assert(sizeof(struct blk_iq4_nl) == 18, "iq4_nl block");
_Static_assert(sizeof(struct blk_q2_K) == 84, "q2_K block");
_Static_assert(sizeof(struct blk_q3_K) == 110, "q3_K block");
_Static_assert(sizeof(struct blk_q4_K) == 144, "q4_K block");
_Static_assert(sizeof(struct blk_q5_K) == 176, "q5_K block");
_Static_assert(sizeof(struct blk_q6_K) == 210, "q6_K block");
_Static_assert(sizeof(struct blk_iq4_xs) == 136, "iq4_xs block");

/* The quants of a 32-element block in element order (d, m read by callers): Q4_1's
 * 0..15, and Q5_0's / Q5_1's with their fifth bits, minus bias (16, 0). quants.c's
 * references and engine/cpu/repack.c read them through these. */
static inline void unpack_q4_1(const struct blk_q4_1 *b, int8_t q[32])
{
	for (int j = 0; j < 16; j++) {
		q[j] = (int8_t)(b->qs[j] & 0x0f);
		q[j + 16] = (int8_t)(b->qs[j] >> 4);
	}
}

static inline void unpack_q5(const uint8_t qh4[4], const uint8_t qs[16], int bias, int8_t q[32])
{
	const uint32_t qh = (uint32_t)qh4[0] | (uint32_t)qh4[1] << 8 | (uint32_t)qh4[2] << 16 | (uint32_t)qh4[3] << 24;
	for (int j = 0; j < 16; j++) {
		q[j] = (int8_t)(((qs[j] & 0x0f) | (((qh >> j) << 4) & 0x10)) - bias);
		q[j + 16] = (int8_t)(((qs[j] >> 4) | ((qh >> (j + 12)) & 0x10)) - bias);
	}
}

/* The 16 non-uniform levels of IQ4_NL / IQ4_XS (ggml's kvalues_iq4nl). */
static const int8_t iq4nl_values[16] = { -127, -104, -83, -65, -49, -35, -22, -10,
					 1,    13,   25,  38,  53,  69,  89,  113 };

/* The 6-bit scales and mins of the 8 sub-blocks (32 quants each) of a Q4_K / Q5_K
 * super-block (ggml's get_scale_min_k4): quants.c's references, quants_avx2.c's
 * dots and quants_tile.c's tiles all read them through this one function. */
static inline void unpack_k_scales(const uint8_t s[12], int sc[8], int mn[8])
{
	for (int j = 0; j < 4; j++) {
		sc[j] = s[j] & 63;
		mn[j] = s[j + 4] & 63;
		sc[j + 4] = (s[j + 8] & 0x0f) | ((s[j] >> 6) << 4);
		mn[j + 4] = (s[j + 8] >> 4) | ((s[j + 4] >> 6) << 4);
	}
}

/* The 16 signed scales (-32..31) of the 16-quant groups of a Q3_K super-block: low
 * 4 bits in bytes 0..7 (two per byte), high 2 bits in bytes 8..11, biased by 32. */
static inline void unpack_q3_k_scales(const uint8_t s[12], int sc[16])
{
	for (int g = 0; g < 16; g++) {
		const int lo = g < 8 ? s[g] & 0x0f : s[g - 8] >> 4;
		const int hi = (s[8 + g % 4] >> (2 * (g / 4))) & 3;
		sc[g] = (lo | hi << 4) - 32;
	}
}

#if defined(__AVX2__)
#include <immintrin.h>
#include <string.h>

/* 0x10 in byte j where bit j of qh is set: the fifth bit of the 32 Q5_0 / Q5_1 quants */
static inline __m256i q5_high_bits(const uint8_t qh4[4])
{
	uint32_t qh;
	memcpy(&qh, qh4, 4);
	const __m256i shuf = _mm256_set_epi64x(0x0303030303030303, 0x0202020202020202, 0x0101010101010101, 0);
	__m256i bytes = _mm256_shuffle_epi8(_mm256_set1_epi32((int)qh), shuf);
	const __m256i bit = _mm256_set1_epi64x((long long)0x8040201008040201ull);
	bytes = _mm256_cmpeq_epi8(_mm256_and_si256(bytes, bit), bit);
	return _mm256_and_si256(bytes, _mm256_set1_epi8(0x10));
}
#endif

#endif
