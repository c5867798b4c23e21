/* repack.c — the CPU backend's weights: quantized matrices repacked at load (repack.h).
 *
 * eng_cpu_weights_open copies m->w's tensor table into m->wr and, for every matmul
 * weight (the layers' projections and the output matrix) of type Q2_K, Q3_K, Q4_K,
 * Q5_K, Q6_K, IQ4_XS, Q4_1, Q5_1, Q8_0, Q4_0, Q5_0 or IQ4_NL, repacks the rows into one 64-byte aligned
 * allocation (the threads of the model take blocks from a shared counter; each block
 * is written by one thread). The mapped file's pages of a repacked tensor are then
 * dropped from memory (MADV_DONTNEED: they are clean file pages, read again from the
 * file if anything reads m->w later), so the resident size stays about one copy of the
 * weights. The token embedding is repacked only as a tied output matrix (Llama 3.2,
 * Gemma 2): then ops.c reads the rows of ids back from the blocks (eng_kr_row_to_f32:
 * the file's block rebuilt, then the type's to_f32, so the same floats). Where the CPU
 * has no AVX-512 VNNI (kernels_kr.c's kernels need it), only the Q4_K, Q5_K, Q6_K, Q4_1
 * and Q5_1 matrices are repacked, for kernels_kr2.c's AVX2 kernels (none without AVX2). Where
 * nothing is to be repacked, the caller asked for rows, or
 * the copy would not fit the memory available (/proc/meminfo MemAvailable), m->wx is m->w;
 * in the last case m->repack_note says why (a load warning: eng_model_warning).
 */
#include "engine/cpu/repack.h"

#include <pthread.h>
#include <stdio.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "engine/cpu/kernels.h"
#include "engine/eng_int.h"
#include "engine/quants_int.h"
#include "engine/types.h"

size_t eng_kr_superblock_bytes(uint32_t type)
{
	switch (type) {
	case ENG_TYPE_Q2_K:
		return sizeof(struct kr_q2k);
	case ENG_TYPE_Q3_K:
		return sizeof(struct kr_q3k);
	case ENG_TYPE_Q4_K:
		return sizeof(struct kr_q4k);
	case ENG_TYPE_Q5_K:
		return sizeof(struct kr_q5k);
	case ENG_TYPE_Q6_K:
		return sizeof(struct kr_q6k);
	case ENG_TYPE_IQ4_XS:
		return sizeof(struct kr_iq4xs);
	case ENG_TYPE_Q4_1:
		return sizeof(struct kr_q41);
	case ENG_TYPE_Q5_1:
		return sizeof(struct kr_q51);
	case ENG_TYPE_Q8_0:
		return sizeof(struct kr_q80);
	case ENG_TYPE_Q4_0:
	case ENG_TYPE_IQ4_NL:
		return sizeof(struct kr_q40);
	case ENG_TYPE_Q5_0:
		return sizeof(struct kr_q50);
	default:
		return 0;
	}
}

int eng_kr_avx2_takes(uint32_t type)
{
#if defined(__x86_64__) && defined(__AVX2__) && defined(__F16C__) && defined(__GNUC__) /* kernels_kr2.c's */
	return type == ENG_TYPE_Q4_K || type == ENG_TYPE_Q5_K || type == ENG_TYPE_Q6_K || type == ENG_TYPE_Q4_1 ||
	       type == ENG_TYPE_Q5_1;
#else
	(void)type;
	return 0;
#endif
}

bool eng_kr_q0(uint32_t type)
{
	return type == ENG_TYPE_Q8_0 || type == ENG_TYPE_Q4_0 || type == ENG_TYPE_Q5_0 || type == ENG_TYPE_IQ4_NL;
}

int64_t eng_kr_unit_elems(uint32_t type)
{
	if (eng_kr_q0(type))
		return 64;
	return type == ENG_TYPE_Q4_1 || type == ENG_TYPE_Q5_1 ? 32 : 256;
}

size_t eng_kr_matrix_bytes(uint32_t type, int64_t n, int64_t rows)
{
	return (size_t)((rows + KR_ROWS - 1) / KR_ROWS) * (size_t)(n / eng_kr_unit_elems(type)) *
	       eng_kr_superblock_bytes(type);
}

/* Row r's low 4 bits of the quants e into q[c][4r + j] (Q4_K, Q5_K, Q6_K, IQ4_XS, Q4_1,
 * Q5_1): chunk pair c, elements 8c..8c + 3 in the low nibbles, 8c + 4..8c + 7 in the high. */
static void pack_nibbles(const uint8_t *e, int n_pairs, int r, uint8_t (*q)[64])
{
	for (int c = 0; c < n_pairs; c++)
		for (int j = 0; j < 4; j++)
			q[c][4 * r + j] = (uint8_t)((e[8 * c + j] & 15) | (e[8 * c + 4 + j] & 15) << 4);
}

/* Row r's fifth bits of a group of 32 quants e (Q5_K, Q5_1): bit k of qh[4r + j] is bit 4
 * of e[4k + j]. */
static void pack_fifth_bits(const uint8_t e[32], int r, uint8_t qh[64])
{
	for (int j = 0; j < 4; j++) {
		uint8_t h = 0;
		for (int k = 0; k < 8; k++)
			h |= (uint8_t)(((e[4 * k + j] >> 4) & 1) << k);
		qh[4 * r + j] = h;
	}
}

/* Q4_1 / Q5_1: row r of block ib of the file's row src into the unit dst. */
static void pack_row_q1(uint32_t type, const void *src, int64_t ib, int r, void *dst)
{
	const int q5 = type == ENG_TYPE_Q5_1;
	const struct blk_q4_1 *w4 = (const struct blk_q4_1 *)src + ib;
	const struct blk_q5_1 *w5 = (const struct blk_q5_1 *)src + ib;
	int8_t q[32];
	if (q5)
		unpack_q5(w5->qh, w5->qs, 0, q);
	else
		unpack_q4_1(w4, q);
	uint8_t e[32];
	memcpy(e, q, sizeof e); /* 0..31: the same bytes unsigned */
	pack_nibbles(e, 4, r, dst);
	if (q5) {
		struct kr_q51 *b = dst;
		pack_fifth_bits(e, r, b->qh);
		b->d[r] = w5->d;
		b->m[r] = w5->m;
	} else {
		struct kr_q41 *b = dst;
		b->d[r] = w4->d;
		b->m[r] = w4->m;
	}
}

/* Q8_0 / Q4_0 / Q5_0 / IQ4_NL: row r of unit iu (blocks 2iu, 2iu + 1) of the file's row src
 * into dst. */
static void pack_row_q0(uint32_t type, const void *src, int64_t iu, int r, void *dst)
{
	uint8_t e[64];
	uint16_t d[2];
	for (int k = 0; k < 2; k++) {
		if (type == ENG_TYPE_Q8_0) {
			const struct eng_block_q8_0 *b = (const struct eng_block_q8_0 *)src + 2 * iu + k;
			for (int i = 0; i < 32; i++)
				e[32 * k + i] = (uint8_t)(b->qs[i] + 128);
			d[k] = b->d;
		} else if (type == ENG_TYPE_Q5_0) {
			const struct blk_q5_0 *b = (const struct blk_q5_0 *)src + 2 * iu + k;
			int8_t q[32];
			unpack_q5(b->qh, b->qs, 0, q);
			memcpy(e + 32 * k, q, 32); /* 0..31: the same bytes unsigned */
			d[k] = b->d;
		} else { /* Q4_0, IQ4_NL: the same block layout */
			const struct eng_block_q4_0 *b = (const struct eng_block_q4_0 *)src + 2 * iu + k;
			for (int l = 0; l < 16; l++) {
				e[32 * k + l] = b->qs[l] & 15;
				e[32 * k + l + 16] = b->qs[l] >> 4;
			}
			d[k] = b->d;
		}
	}
	if (type == ENG_TYPE_Q8_0) {
		struct kr_q80 *b = dst;
		for (int i = 0; i < 64; i++)
			b->q[i / 4][4 * r + i % 4] = e[i];
		b->d[0][r] = d[0], b->d[1][r] = d[1];
	} else if (type == ENG_TYPE_Q5_0) {
		struct kr_q50 *b = dst;
		pack_nibbles(e, 8, r, b->q);
		pack_fifth_bits(e, r, b->qh[0]);
		pack_fifth_bits(e + 32, r, b->qh[1]);
		b->d[0][r] = d[0], b->d[1][r] = d[1];
	} else {
		struct kr_q40 *b = dst;
		pack_nibbles(e, 8, r, b->q);
		b->d[0][r] = d[0], b->d[1][r] = d[1];
	}
}

/* Row r's 256 unsigned quants of super-block ib in element order (repack.h). */
static void row_quants(uint32_t type, const void *row, int64_t ib, uint8_t e[256])
{
	if (type == ENG_TYPE_Q2_K || type == ENG_TYPE_Q3_K) {
		const struct blk_q2_K *b2 = (const struct blk_q2_K *)row + ib;
		const struct blk_q3_K *b3 = (const struct blk_q3_K *)row + ib;
		const uint8_t *qs = type == ENG_TYPE_Q3_K ? b3->qs : b2->qs;
		for (int h = 0; h < 2; h++)
			for (int j = 0; j < 4; j++)
				for (int l = 0; l < 32; l++)
					e[128 * h + 32 * j + l] = (uint8_t)(((qs[32 * h + l] >> (2 * j)) & 3) |
						(type == ENG_TYPE_Q3_K ? ((b3->hmask[l] >> (4 * h + j)) & 1) << 2 : 0));
		return;
	}
	if (type == ENG_TYPE_IQ4_XS) {
		const struct blk_iq4_xs *w = (const struct blk_iq4_xs *)row + ib;
		for (int j = 0; j < 8; j++)
			for (int l = 0; l < 16; l++) {
				e[32 * j + l] = w->qs[16 * j + l] & 15;
				e[32 * j + 16 + l] = w->qs[16 * j + l] >> 4;
			}
		return;
	}
	if (type == ENG_TYPE_Q6_K) {
		const struct blk_q6_K *w = (const struct blk_q6_K *)row + ib;
		for (int h = 0; h < 2; h++)
			for (int l = 0; l < 32; l++) {
				const uint8_t *ql = w->ql + 64 * h, hb = w->qh[32 * h + l];
				e[128 * h + l] = (uint8_t)((ql[l] & 15) | (hb & 3) << 4);
				e[128 * h + 32 + l] = (uint8_t)((ql[l + 32] & 15) | ((hb >> 2) & 3) << 4);
				e[128 * h + 64 + l] = (uint8_t)((ql[l] >> 4) | ((hb >> 4) & 3) << 4);
				e[128 * h + 96 + l] = (uint8_t)((ql[l + 32] >> 4) | ((hb >> 6) & 3) << 4);
			}
		return;
	}
	const int q5 = type == ENG_TYPE_Q5_K;
	const struct blk_q5_K *b5 = (const struct blk_q5_K *)row + ib;
	const uint8_t *qs = q5 ? b5->qs : ((const struct blk_q4_K *)row + ib)->qs;
	for (int m = 0; m < 4; m++) /* sub-block 2m: low nibbles, 2m + 1: high; Q5_K: bit k of qh[l] is 16 */
		for (int l = 0; l < 32; l++) {
			e[64 * m + l] = (uint8_t)((qs[32 * m + l] & 15) | (q5 ? ((b5->qh[l] >> (2 * m)) & 1) << 4 : 0));
			e[64 * m + 32 + l] = (uint8_t)((qs[32 * m + l] >> 4) | (q5 ? ((b5->qh[l] >> (2 * m + 1)) & 1) << 4 : 0));
		}
}

/* Q2_K / Q3_K: row r of super-block ib into dst, from its quants e. */
static void pack_row23(uint32_t type, const void *src, int64_t ib, int r, const uint8_t e[256], void *dst)
{
	uint8_t(*q)[64] = dst; /* q[16][64] leads both layouts */
	for (int g = 0; g < 16; g++)
		for (int j = 0; j < 4; j++) {
			uint8_t v = 0;
			for (int k = 0; k < 4; k++)
				v |= (uint8_t)((e[16 * g + 4 * k + j] & 3) << (2 * k));
			q[g][4 * r + j] = v;
		}
	if (type == ENG_TYPE_Q2_K) {
		struct kr_q2k *b = dst;
		const struct blk_q2_K *w = (const struct blk_q2_K *)src + ib;
		for (int g = 0; g < 16; g++)
			b->scm[g / 2][2 * r + g % 2] = w->scales[g];
		b->d[r] = w->d;
		b->dmin[r] = w->dmin;
		return;
	}
	struct kr_q3k *b = dst;
	const struct blk_q3_K *w = (const struct blk_q3_K *)src + ib;
	for (int m = 0; m < 8; m++)
		for (int j = 0; j < 4; j++) {
			uint8_t h = 0;
			for (int k = 0; k < 8; k++)
				h |= (uint8_t)(((e[32 * m + 4 * k + j] >> 2) & 1) << k);
			b->qh[m][4 * r + j] = h;
		}
	int sc[16];
	unpack_q3_k_scales(w->scales, sc);
	for (int g = 0; g < 16; g++)
		b->sc[g][r] = (int8_t)sc[g];
	b->d[r] = w->d;
}

/* Row r of super-block ib (of the row at src) into the repacked super-block dst. */
static void pack_row(uint32_t type, const void *src, int64_t ib, int r, void *dst)
{
	if (type == ENG_TYPE_Q4_1 || type == ENG_TYPE_Q5_1) {
		pack_row_q1(type, src, ib, r, dst);
		return;
	}
	if (eng_kr_q0(type)) {
		pack_row_q0(type, src, ib, r, dst);
		return;
	}
	uint8_t e[256];
	row_quants(type, src, ib, e);
	if (type == ENG_TYPE_Q2_K || type == ENG_TYPE_Q3_K) {
		pack_row23(type, src, ib, r, e, dst);
		return;
	}
	pack_nibbles(e, 32, r, dst); /* q[32][64] leads the Q4_K, Q5_K, Q6_K and IQ4_XS layouts */
	if (type == ENG_TYPE_IQ4_XS) {
		struct kr_iq4xs *b = dst;
		const struct blk_iq4_xs *w = (const struct blk_iq4_xs *)src + ib;
		for (int j = 0; j < 8; j++)
			b->sc[j][r] = (int8_t)((((w->scales_l[j / 2] >> (4 * (j % 2))) & 0x0f) |
						(((w->scales_h >> (2 * j)) & 3) << 4)) - 32);
		b->d[r] = w->d;
		return;
	}
	if (type == ENG_TYPE_Q6_K) {
		struct kr_q6k *b = dst;
		const struct blk_q6_K *w = (const struct blk_q6_K *)src + ib;
		for (int g = 0; g < 16; g++) {
			for (int j = 0; j < 4; j++) {
				uint8_t h = 0;
				for (int k = 0; k < 4; k++)
					h |= (uint8_t)(((e[16 * g + 4 * k + j] >> 4) & 3) << (2 * k));
				b->qh[g][4 * r + j] = h;
			}
			b->sc[g][r] = w->scales[g];
		}
		b->d[r] = w->d;
		return;
	}
	const int q5 = type == ENG_TYPE_Q5_K;
	struct kr_q4k *b4 = dst;
	struct kr_q5k *b5 = dst;
	const struct blk_q4_K *w4 = (const struct blk_q4_K *)src + ib;
	const struct blk_q5_K *w5 = (const struct blk_q5_K *)src + ib;
	int sc[8], mn[8];
	unpack_k_scales(q5 ? w5->scales : w4->scales, sc, mn);
	for (int g = 0; g < 8; g++) {
		if (q5)
			pack_fifth_bits(e + 32 * g, r, b5->qh[g]);
		(q5 ? b5->sc : b4->sc)[g][r] = (uint8_t)sc[g];
		(q5 ? b5->mn : b4->mn)[g / 2][2 * r + g % 2] = (uint8_t)mn[g];
	}
	(q5 ? b5->d : b4->d)[r] = q5 ? w5->d : w4->d;
	(q5 ? b5->dmin : b4->dmin)[r] = q5 ? w5->dmin : w4->dmin;
}

void eng_kr_pack(uint32_t type, int64_t n, int64_t rows, const void *src, size_t row_bytes, void *dst, int64_t b0,
		 int64_t b1)
{
	const int64_t nb = n / eng_kr_unit_elems(type);
	const size_t sb = eng_kr_superblock_bytes(type), bb = eng_kr_matrix_bytes(type, n, KR_ROWS);
	for (int64_t b = b0; b < b1; b++) {
		char *blk = (char *)dst + (size_t)b * bb;
		memset(blk, 0, bb);
		for (int r = 0; r < KR_ROWS && b * KR_ROWS + r < rows; r++) {
			const char *row = (const char *)src + (size_t)(b * KR_ROWS + r) * row_bytes;
			for (int64_t ib = 0; ib < nb; ib++)
				pack_row(type, row, ib, r, blk + (size_t)ib * sb);
		}
	}
}

/* ---- reading a row back (a tied output matrix is also the token embedding) ---- */

/* Row r's quant i of the repacked super-block sb. */
static int quant_of(uint32_t type, const uint8_t *sb, int r, int i)
{
	const uint8_t(*q)[64] = (const void *)sb;
	const int j = i % 4;
	if (type == ENG_TYPE_Q2_K || type == ENG_TYPE_Q3_K) {
		int e = (q[i / 16][4 * r + j] >> (2 * ((i % 16) / 4))) & 3;
		if (type == ENG_TYPE_Q3_K)
			e |= ((((const struct kr_q3k *)sb)->qh[i / 32][4 * r + j] >> ((i % 32) / 4)) & 1) << 2;
		return e;
	}
	int e = (q[i / 8][4 * r + j] >> (4 * ((i % 8) / 4))) & 15;
	if (type == ENG_TYPE_Q5_K)
		e |= ((((const struct kr_q5k *)sb)->qh[i / 32][4 * r + j] >> ((i % 32) / 4)) & 1) << 4;
	if (type == ENG_TYPE_Q6_K)
		e |= ((((const struct kr_q6k *)sb)->qh[i / 16][4 * r + j] >> (2 * ((i % 16) / 4))) & 3) << 4;
	return e;
}

/* Row r of the repacked super-block sb as the file's block (the inverse of pack_row). */
static void file_block(uint32_t type, const uint8_t *sb, int r, void *out)
{
	uint8_t e[256];
	for (int i = 0; i < 256; i++)
		e[i] = (uint8_t)quant_of(type, sb, r, i);
	if (type == ENG_TYPE_Q2_K || type == ENG_TYPE_Q3_K) {
		const int q3 = type == ENG_TYPE_Q3_K;
		struct blk_q2_K *b2 = out;
		struct blk_q3_K *b3 = out;
		for (int h = 0; h < 2; h++)
			for (int l = 0; l < 32; l++)
				for (int j = 0; j < 4; j++) {
					const uint8_t x = e[128 * h + 32 * j + l];
					(q3 ? b3->qs : b2->qs)[32 * h + l] |= (uint8_t)((x & 3) << (2 * j));
					if (q3)
						b3->hmask[l] |= (uint8_t)((x >> 2) << (4 * h + j));
				}
		if (q3) {
			const struct kr_q3k *k = (const void *)sb;
			for (int g = 0; g < 16; g++) { /* unpack_q3_k_scales backwards */
				const int v = k->sc[g][r] + 32;
				b3->scales[g % 8] |= (uint8_t)((v & 15) << (4 * (g / 8)));
				b3->scales[8 + g % 4] |= (uint8_t)((v >> 4) << (2 * (g / 4)));
			}
			b3->d = k->d[r];
		} else {
			const struct kr_q2k *k = (const void *)sb;
			for (int g = 0; g < 16; g++)
				b2->scales[g] = k->scm[g / 2][2 * r + g % 2];
			b2->d = k->d[r];
			b2->dmin = k->dmin[r];
		}
		return;
	}
	if (type == ENG_TYPE_Q6_K) {
		const struct kr_q6k *k = (const void *)sb;
		struct blk_q6_K *b = out;
		for (int h = 0; h < 2; h++)
			for (int l = 0; l < 32; l++) {
				const uint8_t *x = e + 128 * h;
				b->ql[64 * h + l] = (uint8_t)((x[l] & 15) | (x[l + 64] & 15) << 4);
				b->ql[64 * h + 32 + l] = (uint8_t)((x[l + 32] & 15) | (x[l + 96] & 15) << 4);
				b->qh[32 * h + l] = (uint8_t)(x[l] >> 4 | (x[l + 32] >> 4) << 2 | (x[l + 64] >> 4) << 4 |
							      (x[l + 96] >> 4) << 6);
			}
		for (int g = 0; g < 16; g++)
			b->scales[g] = k->sc[g][r];
		b->d = k->d[r];
		return;
	}
	if (type == ENG_TYPE_IQ4_XS) {
		const struct kr_iq4xs *k = (const void *)sb;
		struct blk_iq4_xs *b = out;
		for (int j = 0; j < 8; j++) {
			for (int l = 0; l < 16; l++)
				b->qs[16 * j + l] = (uint8_t)(e[32 * j + l] | e[32 * j + 16 + l] << 4);
			const int ls = k->sc[j][r] + 32;
			b->scales_l[j / 2] |= (uint8_t)((ls & 15) << (4 * (j % 2)));
			b->scales_h |= (uint16_t)((ls >> 4) << (2 * j));
		}
		b->d = k->d[r];
		return;
	}
	const int q5 = type == ENG_TYPE_Q5_K;
	const struct kr_q4k *k4 = (const void *)sb;
	const struct kr_q5k *k5 = (const void *)sb;
	struct blk_q4_K *b4 = out;
	struct blk_q5_K *b5 = out;
	uint8_t *qs = q5 ? b5->qs : b4->qs, *sc6 = q5 ? b5->scales : b4->scales;
	for (int m = 0; m < 4; m++)
		for (int l = 0; l < 32; l++) {
			qs[32 * m + l] = (uint8_t)((e[64 * m + l] & 15) | (e[64 * m + 32 + l] & 15) << 4);
			if (q5)
				b5->qh[l] |= (uint8_t)((e[64 * m + l] >> 4) << (2 * m) | (e[64 * m + 32 + l] >> 4) << (2 * m + 1));
		}
	int sc[8], mn[8];
	for (int g = 0; g < 8; g++) {
		sc[g] = (q5 ? k5->sc : k4->sc)[g][r];
		mn[g] = (q5 ? k5->mn : k4->mn)[g / 2][2 * r + g % 2];
	}
	for (int j = 0; j < 4; j++) { /* unpack_k_scales backwards */
		sc6[j] = (uint8_t)(sc[j] | (sc[j + 4] >> 4) << 6);
		sc6[j + 4] = (uint8_t)(mn[j] | (mn[j + 4] >> 4) << 6);
		sc6[j + 8] = (uint8_t)((sc[j + 4] & 15) | (mn[j + 4] & 15) << 4);
	}
	if (q5) {
		b5->d = k5->d[r];
		b5->dmin = k5->dmin[r];
	} else {
		b4->d = k4->d[r];
		b4->dmin = k4->dmin[r];
	}
}

/* Row r's 32 quants of a 32-element block from 4-bit chunk pairs q[0..3] (repack.h) and,
 * where qh, its fifth bits (Q5_1 / Q5_0 layout). */
static void block_quants(const uint8_t (*q)[64], const uint8_t *qh, int r, uint8_t e[32])
{
	for (int i = 0; i < 32; i++) {
		e[i] = (uint8_t)((q[i / 8][4 * r + i % 4] >> (4 * ((i % 8) / 4))) & 15);
		if (qh)
			e[i] |= (uint8_t)(((qh[4 * r + i % 4] >> (i / 4)) & 1) << 4);
	}
}

/* 32 quants e (0..15, or 0..31 with qh) as the file's qs (low nibbles elements 0..15, high
 * 16..31) and, where qh, its 32 fifth bits. */
static void file_quants(const uint8_t e[32], uint8_t qs[16], uint8_t qh[4])
{
	uint32_t h = 0;
	for (int l = 0; l < 16; l++) {
		qs[l] = (uint8_t)((e[l] & 15) | (e[l + 16] & 15) << 4);
		h |= (uint32_t)(e[l] >> 4) << l | (uint32_t)(e[l + 16] >> 4) << (l + 16);
	}
	if (qh)
		memcpy(qh, &h, 4);
}

/* Q4_1 / Q5_1: row r of the unit sb as the file's block. */
static void file_block_q1(uint32_t type, const uint8_t *sb, int r, void *out)
{
	const struct kr_q41 *k4 = (const void *)sb;
	const struct kr_q51 *k5 = (const void *)sb;
	uint8_t e[32];
	if (type == ENG_TYPE_Q5_1) {
		struct blk_q5_1 *b = out;
		block_quants(k5->q, k5->qh, r, e);
		file_quants(e, b->qs, b->qh);
		b->d = k5->d[r];
		b->m = k5->m[r];
	} else {
		struct blk_q4_1 *b = out;
		block_quants(k4->q, NULL, r, e);
		file_quants(e, b->qs, NULL);
		b->d = k4->d[r];
		b->m = k4->m[r];
	}
}

/* Q8_0 / Q4_0 / Q5_0 / IQ4_NL: row r of the unit sb as the file's two blocks. */
static void file_blocks_q0(uint32_t type, const uint8_t *sb, int r, void *out)
{
	const struct kr_q80 *u8 = (const void *)sb;
	const struct kr_q40 *u4 = (const void *)sb;
	const struct kr_q50 *u5 = (const void *)sb;
	for (int k = 0; k < 2; k++) {
		uint8_t e[32];
		if (type == ENG_TYPE_Q8_0) {
			struct eng_block_q8_0 *b = (struct eng_block_q8_0 *)out + k;
			for (int i = 0; i < 32; i++)
				b->qs[i] = (int8_t)(u8->q[(32 * k + i) / 4][4 * r + i % 4] - 128);
			b->d = u8->d[k][r];
		} else if (type == ENG_TYPE_Q5_0) {
			struct blk_q5_0 *b = (struct blk_q5_0 *)out + k;
			block_quants(u5->q + 4 * k, u5->qh[k], r, e);
			file_quants(e, b->qs, b->qh);
			b->d = u5->d[k][r];
		} else { /* Q4_0, IQ4_NL: the same block layout */
			struct eng_block_q4_0 *b = (struct eng_block_q4_0 *)out + k;
			block_quants(u4->q + 4 * k, NULL, r, e);
			file_quants(e, b->qs, NULL);
			b->d = u4->d[k][r];
		}
	}
}

void eng_kr_row_to_f32(uint32_t type, int64_t n, const void *w, int64_t row, float *out)
{
	const int64_t elems = eng_kr_unit_elems(type), nb = n / elems;
	const size_t sbb = eng_kr_superblock_bytes(type);
	const uint8_t *blk = (const uint8_t *)w + (size_t)(row / KR_ROWS) * eng_kr_matrix_bytes(type, n, KR_ROWS);
	const struct eng_type_traits *tt = eng_type_get(type);
	for (int64_t ib = 0; ib < nb; ib++) {
		_Alignas(16) uint8_t fb[256];
		memset(fb, 0, sizeof fb);
		if (elems == 64)
			file_blocks_q0(type, blk + (size_t)ib * sbb, (int)(row % KR_ROWS), fb);
		else if (elems == 32)
			file_block_q1(type, blk + (size_t)ib * sbb, (int)(row % KR_ROWS), fb);
		else
			file_block(type, blk + (size_t)ib * sbb, (int)(row % KR_ROWS), fb);
		tt->to_f32(fb, out + elems * ib, elems);
	}
}

/* ---- the model's repacked copy ---- */

static bool repackable(const struct eng_tensor *t)
{
	return t->data && eng_kr_superblock_bytes(t->type) && t->ne0 % (uint64_t)eng_kr_unit_elems(t->type) == 0 &&
	       t->ne1 > 0 && (!eng_kr_q0(t->type) || t->ne0 <= 512 * 32) &&
	       (eng_cpu_has_vnni() || eng_kr_avx2_takes(t->type));
}

/* Every matmul weight of w, n of them at most (the layers' seven, their n_exps expert
 * matrices and routers, and the output). */
static size_t matmul_tensors(struct eng_weights *w, uint32_t n_layer, size_t n_exps, struct eng_tensor **out)
{
	size_t n = 0;
	for (uint32_t il = 0; il < n_layer; il++) {
		struct eng_layer *L = &w->layers[il];
		struct eng_tensor *t[] = { &L->wq, &L->wk, &L->wv, &L->wo, &L->ffn_gate, &L->ffn_up, &L->ffn_down,
					   &L->ffn_gate_inp };
		for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
			if (repackable(t[i]))
				out[n++] = t[i];
	}
	for (size_t i = 0; i < n_exps; i++)
		if (repackable(&w->experts[i]))
			out[n++] = &w->experts[i];
	if (repackable(&w->output)) /* tied: also the embedding (ops.c reads its rows back) */
		out[n++] = &w->output;
	return n;
}

struct pack_job {
	struct eng_tensor *t;   /* the copy's tensor: data still the file's rows */
	void *dst;
	int64_t n_blocks;
	atomic_int_fast64_t next;
};

enum { PACK_CHUNK = 16 }; /* blocks a claim */

static void *pack_worker(void *arg)
{
	struct pack_job *j = arg;
	for (;;) {
		int64_t b0 = atomic_fetch_add(&j->next, PACK_CHUNK);
		if (b0 >= j->n_blocks)
			return NULL;
		int64_t b1 = b0 + PACK_CHUNK < j->n_blocks ? b0 + PACK_CHUNK : j->n_blocks;
		eng_kr_pack(j->t->type, (int64_t)j->t->ne0, (int64_t)j->t->ne1, j->t->data, (size_t)j->t->row_bytes,
			    j->dst, b0, b1);
	}
}

/* Drop the pages wholly inside [p, p + bytes) from this process's memory. */
static void drop_pages(const void *p, size_t bytes)
{
	const uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
	uintptr_t a = ((uintptr_t)p + page - 1) / page * page, b = ((uintptr_t)p + bytes) / page * page;
	if (b > a)
		madvise((void *)a, b - a, MADV_DONTNEED);
}

/* Bytes of memory the kernel says are available (/proc/meminfo MemAvailable), or
 * SIZE_MAX where that cannot be read; $MERILO_MEM_AVAILABLE (bytes) stands in for it
 * (tests). */
static size_t mem_available(void)
{
	const char *env = getenv("MERILO_MEM_AVAILABLE");
	if (env && *env)
		return (size_t)strtoull(env, NULL, 10);
	FILE *f = fopen("/proc/meminfo", "r");
	if (!f)
		return SIZE_MAX;
	char line[256];
	unsigned long long kb = 0;
	bool found = false;
	while (!found && fgets(line, sizeof line, f))
		found = sscanf(line, "MemAvailable: %llu kB", &kb) == 1;
	fclose(f);
	return found && kb < SIZE_MAX / 1024 ? (size_t)kb * 1024 : SIZE_MAX;
}

static bool repack_wanted(const struct eng_model *m)
{
	const char *env = getenv("MERILO_NO_REPACK");
	return !m->no_repack && !(env && *env && strcmp(env, "0") != 0); /* repackable: which tensors */
}

int eng_cpu_weights_open(struct eng_model *m, struct mrl_err *err)
{
	m->wx = &m->w;
	if (!m->has_weights || !repack_wanted(m))
		return 0;
	const uint32_t nl = m->cfg.n_layer;
	const size_t n_exps = (size_t)nl * m->cfg.n_expert * 3;
	struct eng_tensor **ts = malloc(((size_t)nl * 8 + n_exps + 1) * sizeof *ts);
	struct eng_layer *layers = malloc((nl ? nl : 1) * sizeof *layers);
	struct eng_tensor *exps = n_exps ? malloc(n_exps * sizeof *exps) : NULL;
	if (!ts || !layers || (n_exps && !exps)) {
		free(ts);
		free(layers);
		free(exps);
		return mrl_err_set(err, MRL_ENOMEM, "%s: out of memory", m->path);
	}
	memcpy(layers, m->w.layers, nl * sizeof *layers);
	if (n_exps)
		memcpy(exps, m->w.experts, n_exps * sizeof *exps);
	for (uint32_t il = 0; n_exps && il < nl; il++)
		layers[il].exps = exps + (m->w.layers[il].exps - m->w.experts);
	m->wr = m->w;
	m->wr.layers = layers;
	m->wr.experts = exps;
	const size_t n = matmul_tensors(&m->wr, nl, n_exps, ts);
	size_t total = 0;
	for (size_t i = 0; i < n; i++)
		total += eng_kr_matrix_bytes(ts[i]->type, (int64_t)ts[i]->ne0, (int64_t)ts[i]->ne1);
	/* a copy bigger than the memory there is would be paged out, or killed, where the
	 * file's own pages can always be read again: then the rows are read in place (the
	 * same results, decode slower) */
	const size_t avail = mem_available();
	const bool fits = total <= avail;
	if (n && !fits && asprintf(&m->repack_note,
				   "%s: the repacked copy of the quantized weights (%zu MiB) exceeds the memory available "
				   "(%zu MiB): their rows are read in place (the same results; decode slower)",
				   m->path, total >> 20, avail >> 20) < 0)
		m->repack_note = NULL; /* a warning never fails a load */
	if (n == 0 || !fits || posix_memalign(&m->kr_mem, 64, total)) {
		m->kr_mem = NULL;
		free(ts);
		free(layers);
		free(exps);
		m->wr.layers = NULL;
		m->wr.experts = NULL;
		if (n == 0 || !fits)
			return 0;
		return mrl_err_set(err, MRL_ENOMEM, "%s: out of memory repacking the quantized weights (%zu MiB; "
				   "MERILO_NO_REPACK=1 reads them in place)", m->path, total >> 20);
	}
	m->kr_bytes = total;
	int nt = m->n_threads > 64 ? 64 : m->n_threads;
	pthread_t th[64];
	char *at = m->kr_mem;
	for (size_t i = 0; i < n; i++) {
		struct eng_tensor *t = ts[i];
		struct pack_job j = { .t = t, .dst = at, .n_blocks = ((int64_t)t->ne1 + KR_ROWS - 1) / KR_ROWS };
		int started = 0;
		while (started < nt - 1 && pthread_create(&th[started], NULL, pack_worker, &j) == 0)
			started++;
		pack_worker(&j);
		for (int k = 0; k < started; k++)
			pthread_join(th[k], NULL);
		const size_t bytes = eng_kr_matrix_bytes(t->type, (int64_t)t->ne0, (int64_t)t->ne1);
		const char *map = m->map;
		if (map && (const char *)t->data >= map && (const char *)t->data < map + m->map_size)
			drop_pages(t->data, (size_t)t->ne1 * (size_t)t->row_bytes);
		t->data = at;
		t->layout = ENG_LAYOUT_KR16;
		at += bytes;
	}
	if (m->wr.tied_output && m->wr.output.layout == ENG_LAYOUT_KR16)
		m->wr.tok_embd = m->wr.output;
	free(ts);
	m->wx = &m->wr;
	return 0;
}

void eng_cpu_weights_close(struct eng_model *m)
{
	free(m->kr_mem);
	m->kr_mem = NULL;
	m->kr_bytes = 0;
	eng_weights_release(&m->wr);
	if (m->wx == &m->wr)
		m->wx = &m->w;
}
