/* eng_repack.c — quantized matrices repacked into 16-row blocks (engine/cpu/repack.h).
 *
 * 1. The layout (every host): random Q2_K/Q3_K/Q4_K/Q5_K/Q6_K/IQ4_XS rows (every bit of
 *    the scales and quants random; Q4_1, Q5_1, Q8_0, Q4_0, Q5_0 and IQ4_NL: check_q1,
 *    through the row getter) are
 *    repacked; each row's blocks are rebuilt from the 16-row blocks by repack.h's
 *    description alone and must equal the original bytes, and the lanes
 *    of rows past the matrix's last must be zero. Packing block ranges separately (as
 *    threads do) gives the same bytes, and eng_kr_row_to_f32 (the rows of a tied
 *    embedding) gives every row's to_f32 floats bit for bit.
 * 2. The kernels (AVX-512 VNNI hosts; skipped elsewhere with the reason; the AMX-INT8 tiles
 *    where the CPU has them): eng_mdot_kr
 *    against vec_dot_q8 on the original rows, bit for bit, with the VNNI single-row
 *    dots and with the AVX2 ones; row counts around 16, 1-13 tokens (kernels_kr.c takes
 *    4 a pass), with GFNI's bit moves and without (Cascade Lake has VNNI, not GFNI),
 *    rows of 1, 3 and 17 super-blocks, padded activation strides, the largest
 *    quants against +127 and -128 activations; outputs beyond the rows stay untouched.
 * 3. The model (where tests/smollm2-fixtures.sh made SmolLM2's Q2_K, Q3_K_M, Q4_K_M, Q5_K_M,
 *    Q6_K, IQ4_XS, Q4_1, Q5_1, Q8_0, Q4_0, Q5_0 and IQ4_NL files, and a synthetic Q4_K_M model whose output matrix,
 *    Q6_K, is tied to the token embedding): logits of
 *    a 40-token prompt (a 33-token batch, then single tokens) with the weights repacked
 *    and read in place (eng_open_opts.no_repack), on 1 and 2 threads: bit for bit; and
 *    where the copy would not fit the memory available ($MERILO_MEM_AVAILABLE standing
 *    in for /proc/meminfo), nothing is repacked and the logits are the same.
 */
#include "tests/tap.h"
#define TEST_RNG_SEED 11
#include "tests/rng.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/cpu/kernels.h"
#include "engine/cpu/repack.h"
#include "engine/eng.h"
#include "engine/eng_int.h"
#include "engine/quants_int.h"
#include "engine/types.h"

static const uint32_t ktypes[] = { ENG_TYPE_Q2_K, ENG_TYPE_Q3_K,  ENG_TYPE_Q4_K,
				   ENG_TYPE_Q5_K, ENG_TYPE_Q6_K, ENG_TYPE_IQ4_XS };
#define N_KTYPES (sizeof ktypes / sizeof ktypes[0])

/* Offset of a block's f16 d (dmin follows where has_dmin). */
static size_t d_offset(uint32_t type)
{
	return type == ENG_TYPE_Q6_K ? 208 : type == ENG_TYPE_Q2_K ? 80 : type == ENG_TYPE_Q3_K ? 108 : 0;
}

static int has_dmin(uint32_t type)
{
	return type == ENG_TYPE_Q2_K || type == ENG_TYPE_Q4_K || type == ENG_TYPE_Q5_K;
}

/* rows x n random weights of type: random bytes, finite f16 scales (d, and dmin where the type has one). */
static char *random_rows(uint32_t type, int64_t n, int rows, size_t *row_bytes_out)
{
	uint64_t rb = 0;
	eng_row_size(type, (uint64_t)n, &rb);
	const size_t blk = (size_t)rb / (size_t)(n / 256);
	char *w = malloc((size_t)rb * (size_t)rows);
	for (size_t i = 0; i < (size_t)rb * (size_t)rows; i++)
		w[i] = (char)rng_next();
	for (size_t b = 0; b < (size_t)rows * (size_t)(n / 256); b++) {
		const size_t d_off = d_offset(type);
		for (int k = 0; k <= has_dmin(type); k++) {
			uint16_t h = eng_f32_to_f16(rng_sym() * 0.01f);
			memcpy(w + b * blk + d_off + 2 * (size_t)k, &h, 2);
		}
	}
	*row_bytes_out = (size_t)rb;
	return w;
}

/* Row r's quant i of super-block sb (a repacked super-block), by repack.h's description. */
static int quant_at(uint32_t type, const uint8_t *sb, int r, int i)
{
	if (type == ENG_TYPE_Q2_K || type == ENG_TYPE_Q3_K) {
		const uint8_t(*q2)[64] = (const void *)sb;
		int e = (q2[i / 16][4 * r + i % 4] >> (2 * ((i % 16) / 4))) & 3;
		if (type == ENG_TYPE_Q3_K)
			e |= ((((const struct kr_q3k *)sb)->qh[i / 32][4 * r + i % 4] >> ((i % 32) / 4)) & 1) << 2;
		return e;
	}
	const uint8_t(*q)[64] = (const void *)sb;
	const int c = i / 8, j = i % 4, nib = (i % 8) / 4;
	int e = (q[c][4 * r + j] >> (4 * nib)) & 15;
	if (type == ENG_TYPE_Q5_K)
		e |= ((((const struct kr_q5k *)sb)->qh[i / 32][4 * r + j] >> ((i % 32) / 4)) & 1) << 4;
	if (type == ENG_TYPE_Q6_K)
		e |= ((((const struct kr_q6k *)sb)->qh[i / 16][4 * r + j] >> (2 * ((i % 16) / 4))) & 3) << 4;
	return e;
}

/* The original block of row r rebuilt from the repacked super-block sb into out. */
static void rebuild(uint32_t type, const uint8_t *sb, int r, void *out)
{
	int e[256];
	for (int i = 0; i < 256; i++)
		e[i] = quant_at(type, sb, r, i);
	if (type == ENG_TYPE_Q2_K || type == ENG_TYPE_Q3_K) {
		struct blk_q2_K *o2 = out;
		struct blk_q3_K *o3 = out;
		uint8_t *qs = type == ENG_TYPE_Q3_K ? o3->qs : o2->qs;
		for (int h = 0; h < 2; h++)
			for (int l = 0; l < 32; l++) {
				uint8_t v = 0, hm = 0;
				for (int j = 0; j < 4; j++) {
					v |= (uint8_t)((e[128 * h + 32 * j + l] & 3) << (2 * j));
					hm |= (uint8_t)((e[128 * h + 32 * j + l] >> 2) << (4 * h + j));
				}
				qs[32 * h + l] = v;
				if (type == ENG_TYPE_Q3_K)
					o3->hmask[l] |= hm;
			}
		if (type == ENG_TYPE_Q2_K) {
			const struct kr_q2k *b = (const void *)sb;
			for (int g = 0; g < 16; g++)
				o2->scales[g] = b->scm[g / 2][2 * r + g % 2];
			o2->d = b->d[r];
			o2->dmin = b->dmin[r];
			return;
		}
		const struct kr_q3k *b = (const void *)sb;
		for (int g = 0; g < 16; g++) { /* the inverse of unpack_q3_k_scales */
			const int v = b->sc[g][r] + 32;
			o3->scales[g % 8] |= (uint8_t)((v & 15) << (g < 8 ? 0 : 4));
			o3->scales[8 + g % 4] |= (uint8_t)((v >> 4) << (2 * (g / 4)));
		}
		o3->d = b->d[r];
		return;
	}
	if (type == ENG_TYPE_IQ4_XS) {
		const struct kr_iq4xs *b = (const void *)sb;
		struct blk_iq4_xs *o = out;
		for (int j = 0; j < 8; j++) {
			for (int l = 0; l < 16; l++)
				o->qs[16 * j + l] = (uint8_t)(e[32 * j + l] | e[32 * j + 16 + l] << 4);
			const int ls = b->sc[j][r] + 32;
			o->scales_l[j / 2] |= (uint8_t)((ls & 15) << (4 * (j % 2)));
			o->scales_h |= (uint16_t)((ls >> 4) << (2 * j));
		}
		o->d = b->d[r];
		return;
	}
	if (type == ENG_TYPE_Q6_K) {
		const struct kr_q6k *b = (const void *)sb;
		struct blk_q6_K *o = out;
		for (int h = 0; h < 2; h++)
			for (int l = 0; l < 32; l++) {
				const int *x = e + 128 * h;
				o->ql[64 * h + l] = (uint8_t)((x[l] & 15) | (x[64 + l] & 15) << 4);
				o->ql[64 * h + 32 + l] = (uint8_t)((x[32 + l] & 15) | (x[96 + l] & 15) << 4);
				o->qh[32 * h + l] = (uint8_t)(x[l] >> 4 | (x[32 + l] >> 4) << 2 | (x[64 + l] >> 4) << 4 |
							      (x[96 + l] >> 4) << 6);
			}
		for (int g = 0; g < 16; g++)
			o->scales[g] = b->sc[g][r];
		o->d = b->d[r];
		return;
	}
	const int q5 = type == ENG_TYPE_Q5_K;
	const struct kr_q4k *b4 = (const void *)sb;
	const struct kr_q5k *b5 = (const void *)sb;
	uint8_t *scales = q5 ? ((struct blk_q5_K *)out)->scales : ((struct blk_q4_K *)out)->scales;
	uint8_t *qs = q5 ? ((struct blk_q5_K *)out)->qs : ((struct blk_q4_K *)out)->qs;
	int sc[8], mn[8];
	for (int g = 0; g < 8; g++) {
		sc[g] = (q5 ? b5->sc : b4->sc)[g][r];
		mn[g] = (q5 ? b5->mn : b4->mn)[g / 2][2 * r + g % 2];
	}
	for (int j = 0; j < 4; j++) { /* the inverse of unpack_k_scales */
		scales[j] = (uint8_t)(sc[j] | (sc[j + 4] >> 4) << 6);
		scales[j + 4] = (uint8_t)(mn[j] | (mn[j + 4] >> 4) << 6);
		scales[j + 8] = (uint8_t)((sc[j + 4] & 15) | (mn[j + 4] & 15) << 4);
	}
	for (int m = 0; m < 4; m++)
		for (int l = 0; l < 32; l++)
			qs[32 * m + l] = (uint8_t)((e[64 * m + l] & 15) | (e[64 * m + 32 + l] & 15) << 4);
	if (q5) {
		struct blk_q5_K *o = out;
		for (int l = 0; l < 32; l++) {
			uint8_t h = 0;
			for (int m = 0; m < 4; m++)
				h |= (uint8_t)((e[64 * m + l] >> 4) << (2 * m) | (e[64 * m + 32 + l] >> 4) << (2 * m + 1));
			o->qh[l] = h;
		}
		o->d = b5->d[r];
		o->dmin = b5->dmin[r];
	} else {
		((struct blk_q4_K *)out)->d = b4->d[r];
		((struct blk_q4_K *)out)->dmin = b4->dmin[r];
	}
}

static void check_layout(void)
{
	static const int64_t lengths[] = { 256, 768, 256 * 17 };
	static const int rows_list[] = { 1, 15, 16, 17, 40 };
	for (size_t ti = 0; ti < N_KTYPES; ti++)
		for (size_t li = 0; li < 3; li++) {
			const uint32_t type = ktypes[ti];
			const int64_t n = lengths[li], nb = n / 256;
			const size_t sbb = eng_kr_superblock_bytes(type);
			int bad = 0, bad_pad = 0, bad_split = 0, bad_rows = 0;
			for (size_t ri = 0; ri < sizeof rows_list / sizeof rows_list[0]; ri++) {
				const int rows = rows_list[ri];
				size_t rb = 0;
				char *w = random_rows(type, n, rows, &rb);
				const size_t bytes = eng_kr_matrix_bytes(type, n, rows), blk = rb / (size_t)nb;
				uint8_t *p = malloc(bytes), *p2 = malloc(bytes);
				memset(p, 0xa5, bytes);
				eng_kr_pack(type, n, rows, w, rb, p, 0, (rows + 15) / 16);
				const int64_t nblk = (rows + 15) / 16; /* as two threads: the last block first */
				eng_kr_pack(type, n, rows, w, rb, p2, nblk - 1, nblk);
				eng_kr_pack(type, n, rows, w, rb, p2, 0, nblk - 1);
				bad_split += memcmp(p, p2, bytes) != 0;
				float *fa = malloc(sizeof(float) * (size_t)n), *fb = malloc(sizeof(float) * (size_t)n);
				for (int r = 0; r < rows; r++) { /* the row getter a tied embedding uses */
					eng_type_get(type)->to_f32(w + (size_t)r * rb, fa, n);
					eng_kr_row_to_f32(type, n, p, r, fb);
					bad_rows += memcmp(fa, fb, sizeof(float) * (size_t)n) != 0;
				}
				free(fa);
				free(fb);
				char out[256], zero_row[256] = { 0 };
				uint8_t *zero_sb = calloc(1, sbb); /* what a row of zeros in the layout rebuilds to */
				rebuild(type, zero_sb, 0, zero_row);
				free(zero_sb);
				for (int r = 0; r < (int)nblk * 16; r++)
					for (int64_t ib = 0; ib < nb; ib++) {
						const uint8_t *sb = p + ((size_t)(r / 16) * (size_t)nb + (size_t)ib) * sbb;
						memset(out, 0, sizeof out);
						rebuild(type, sb, r % 16, out);
						if (r < rows) {
							bad += memcmp(out, w + (size_t)r * rb + (size_t)ib * blk, blk) != 0;
						} else {
							bad_pad += memcmp(out, zero_row, blk) != 0;
						}
					}
				free(w);
				free(p);
				free(p2);
			}
			tap_test_begin("%s n=%lld: repacked rows rebuild to the original bytes (rows 1, 15, 16, 17, 40)",
				       eng_type_name(type), (long long)n);
			is_int(bad, 0, "every (row, super-block) rebuilt from repack.h's layout equals the file's bytes");
			is_int(bad_pad, 0, "rows past the last are zero in the layout");
			is_int(bad_split, 0, "packing the block ranges separately gives the same bytes");
			is_int(bad_rows, 0, "eng_kr_row_to_f32 gives to_f32's floats of every row");
			tap_test_end(__FILE__, __LINE__);
		}
}

#define SENTINEL 12345.0f

/* The kernel compare_kr_t runs: kernels_kr.c's (VNNI), or kernels_kr2.c's (AVX2 alone). */
static int use_avx2;

/* eng_mdot_kr on rows x n of w (random or given) x n_tok tokens against vec_dot_q8: mismatches. */
static int compare_kr_t(uint32_t type, int64_t n, const char *w, size_t rb, int rows, const char *x, size_t x_stride,
			int n_tok, const void *tables)
{
	const size_t bytes = eng_kr_matrix_bytes(type, n, rows);
	void *p = NULL;
	if (posix_memalign(&p, 64, bytes))
		return 1;
	eng_kr_pack(type, n, rows, w, rb, p, 0, (rows + 15) / 16);
	const size_t os = (size_t)rows + 5;
	float *out = malloc(sizeof(float) * os * (size_t)n_tok);
	for (size_t i = 0; i < os * (size_t)n_tok; i++)
		out[i] = SENTINEL;
	if (use_avx2)
		eng_mdot_kr_avx2(type, n, p, rows, x, x_stride, n_tok, out, os);
	else
		eng_mdot_kr(type, n, p, rows, x, x_stride, n_tok, tables, out, os);
	const struct eng_type_traits *tt = eng_type_get(type);
	int bad = 0;
	for (int t = 0; t < n_tok; t++) {
		for (int r = 0; r < rows; r++) {
			const float want = tt->vec_dot_q8(n, w + (size_t)r * rb, x + (size_t)t * x_stride);
			const float got = out[(size_t)t * os + (size_t)r];
			if (memcmp(&want, &got, sizeof want) && bad++ < 3)
				diag("%s n=%lld rows=%d toks=%d: row %d tok %d: want %a, got %a", tt->name, (long long)n,
				     rows, n_tok, r, t, (double)want, (double)got);
		}
		for (size_t r = (size_t)rows; r < os; r++)
			bad += out[(size_t)t * os + r] != SENTINEL;
	}
	free(out);
	free(p);
	return bad;
}

static int compare_kr(uint32_t type, int64_t n, const char *w, size_t rb, int rows, const char *x, size_t x_stride,
		      int n_tok)
{
	return compare_kr_t(type, n, w, rb, rows, x, x_stride, n_tok, NULL);
}

static void check_kernels(const char *dots)
{
	static const int64_t lengths[] = { 256, 768, 256 * 17 };
	static const int rows_list[] = { 1, 5, 15, 16, 17, 33, 40 };
	static const int toks[] = { 1, 2, 3, 4, 5, 7, 8, 9, 13 };
	enum { TOKS_MAX = 13 };
	for (size_t ti = 0; ti < N_KTYPES; ti++)
		for (size_t li = 0; li < 3 && (!use_avx2 || eng_kr_avx2_takes(ktypes[ti])); li++) {
			const uint32_t type = ktypes[ti];
			const int64_t n = lengths[li];
			uint64_t xrow = 0;
			eng_row_size(ENG_TYPE_Q8_K, (uint64_t)n, &xrow);
			const size_t xs = (size_t)xrow + 4; /* 4-byte aligned, as ops.c's rows */
			char *x = calloc(TOKS_MAX, xs);
			float *tmp = malloc((size_t)n * sizeof(float));
			for (int t = 0; t < TOKS_MAX; t++) {
				for (int64_t i = 0; i < n; i++)
					tmp[i] = rng_sym() * (float)(1 + t % 5);
				if (t == 2)
					memset(tmp, 0, sizeof(float) * 256); /* an all-zero super-block: d = 0 */
				eng_quantize_row_q8_K(tmp, x + (size_t)t * xs, n);
			}
			size_t rb = 0;
			char *w = random_rows(type, n, 40, &rb);
			int bad = 0;
			for (size_t ri = 0; ri < sizeof rows_list / sizeof rows_list[0]; ri++)
				for (size_t k = 0; k < sizeof toks / sizeof toks[0]; k++)
					bad += compare_kr(type, n, w, rb, rows_list[ri], x, xs, toks[k]);
			char name[200];
			snprintf(name, sizeof name, "%s n=%lld: %s equals vec_dot_q8 (%s) for every rows x tokens shape",
				 eng_type_name(type), (long long)n, use_avx2 ? "eng_mdot_kr_avx2" : "eng_mdot_kr", dots);
			is_int(bad, 0, name);
			/* the largest quants (every bit set) against +127 and -128 activations */
			memset(w, 0xff, rb * 40);
			for (int r = 0; r < 40; r++)
				for (int64_t ib = 0; ib < n / 256; ib++) {
					char *b = w + (size_t)r * rb + (size_t)ib * (rb / (size_t)(n / 256));
					uint16_t h = eng_f32_to_f16(0.001f * (float)(r + 1)), hm = eng_f32_to_f16(0.002f);
					memcpy(b + d_offset(type), &h, 2);
					if (has_dmin(type))
						memcpy(b + d_offset(type) + 2, &hm, 2);
					if (type == ENG_TYPE_Q6_K)
						memset(b + 192, 0x80, 16); /* scales -128 */
				}
			for (int t = 0; t < 2; t++) {
				struct eng_block_q8_K *a = (void *)(x + (size_t)t * xs);
				for (int64_t ib = 0; ib < n / 256; ib++) {
					a[ib].d = 0.5f;
					memset(a[ib].qs, t ? 0x80 : 0x7f, 256);
					for (int g = 0; g < 16; g++)
						a[ib].bsums[g] = (int16_t)(16 * (t ? -128 : 127));
				}
			}
			snprintf(name, sizeof name, "%s n=%lld: largest quants x +127 / -128 activations exact (%s)",
				 eng_type_name(type), (long long)n, dots);
			is_int(compare_kr(type, n, w, rb, 17, x, xs, 2), 0, name);
			free(w);
			free(x);
			free(tmp);
		}
}

/* 40 rows of n elements of a 32-element-block type, every byte random but the first
 * n_scales f16 of each block (finite, |x| < 0.05); *rb: the bytes a row. */
static char *random_blocks(uint32_t type, int64_t n, int n_scales, size_t *rb)
{
	uint64_t rb64 = 0;
	eng_row_size(type, (uint64_t)n, &rb64);
	const size_t blk = (size_t)rb64 / (size_t)(n / 32);
	char *w = malloc((size_t)rb64 * 40);
	for (size_t i = 0; i < (size_t)rb64 * 40; i++)
		w[i] = (char)rng_next();
	for (int64_t b = 0; b < 40 * (n / 32); b++)
		for (int k = 0; k < n_scales; k++) {
			uint16_t h = eng_f32_to_f16(rng_sym() * 0.05f);
			memcpy(w + (size_t)b * blk + 2 * (size_t)k, &h, 2);
		}
	*rb = (size_t)rb64;
	return w;
}

/* rows x n of type at w (rb bytes apart) packed, then each row read back by eng_kr_row_to_f32
 * against to_f32 (fa, fb: n floats of scratch): the rows that differ (all where no memory). */
static int rows_read_back(uint32_t type, int64_t n, int rows, const char *w, size_t rb, float *fa, float *fb)
{
	void *p = NULL;
	if (posix_memalign(&p, 64, eng_kr_matrix_bytes(type, n, rows))) {
		diag("out of memory for %d rows", rows);
		return rows; /* unchecked rows must not pass */
	}
	eng_kr_pack(type, n, rows, w, rb, p, 0, (rows + 15) / 16);
	int bad = 0;
	for (int r = 0; r < rows; r++) {
		eng_type_get(type)->to_f32(w + (size_t)r * rb, fa, n);
		eng_kr_row_to_f32(type, n, p, r, fb);
		bad += memcmp(fa, fb, sizeof(float) * (size_t)n) != 0;
	}
	free(p);
	return bad;
}

/* One type of 32-element blocks: random rows of n elements (finite scales), the row getter
 * against to_f32, and (dots) eng_mdot_kr against vec_dot_q8 on 1-9 tokens, bit for bit; with
 * Q8_0 activations also with the tokens' tables made by eng_q8_tables_fill (4 tokens or more,
 * as ops.c hands them; without them eng_mdot_kr makes its own). */
static void check_blocks(uint32_t type, int64_t n, const char *dots)
{
	static const int rows_list[] = { 1, 15, 16, 17, 40 };
	static const int toks[] = { 1, 2, 3, 4, 5, 9 };
	const int q8_0 = eng_type_get(type)->vec_dot_type == ENG_TYPE_Q8_0; /* else Q8_1 (d, m) */
	uint64_t xrow = 0;
	eng_row_size(q8_0 ? ENG_TYPE_Q8_0 : ENG_TYPE_Q8_1, (uint64_t)n, &xrow);
	const size_t xs = (size_t)xrow + (q8_0 ? 2 : 4); /* padded strides */
	size_t rb = 0;
	char *w = random_blocks(type, n, q8_0 ? 1 : 2, &rb), *x = calloc(9, xs);
	float *tmp = malloc(sizeof(float) * (size_t)n), *fa = malloc(sizeof(float) * (size_t)n),
	      *fb = malloc(sizeof(float) * (size_t)n);
	for (int t = 0; t < 9; t++) {
		for (int64_t i = 0; i < n; i++)
			tmp[i] = rng_sym() * (float)(1 + t % 3);
		(q8_0 ? eng_quantize_row_q8_0 : eng_quantize_row_q8_1)(tmp, x + (size_t)t * xs, n);
	}
	void *tables = q8_0 ? malloc(eng_q8_tables_bytes(type, n, 9) + 64) : NULL;
	if (tables)
		eng_q8_tables_fill(type, n, x, xs, 0, 9, tables);
	int bad_rows = 0, bad = 0, bad_t = 0;
	for (size_t ri = 0; ri < sizeof rows_list / sizeof rows_list[0]; ri++) {
		const int rows = rows_list[ri];
		bad_rows += rows_read_back(type, n, rows, w, rb, fa, fb);
		for (size_t k = 0; dots && k < sizeof toks / sizeof toks[0]; k++) {
			bad += compare_kr(type, n, w, rb, rows, x, xs, toks[k]);
			if (tables && toks[k] >= 4)
				bad_t += compare_kr_t(type, n, w, rb, rows, x, xs, toks[k], tables);
		}
	}
	char name[200];
	snprintf(name, sizeof name, "%s n=%lld: eng_kr_row_to_f32 gives to_f32's floats of every row", eng_type_name(type),
		 (long long)n);
	is_int(bad_rows, 0, name);
	if (dots) {
		snprintf(name, sizeof name, "%s n=%lld: %s equals vec_dot_q8 (%s) for every rows x tokens shape%s",
			 eng_type_name(type), (long long)n, use_avx2 ? "eng_mdot_kr_avx2" : "eng_mdot_kr", dots,
			 tables ? " (its own tables)" : "");
		is_int(bad, 0, name);
	}
	if (dots && tables) {
		snprintf(name, sizeof name, "%s n=%lld: eng_mdot_kr equals vec_dot_q8 (%s) with eng_q8_tables_fill's tables",
			 eng_type_name(type), (long long)n, dots);
		is_int(bad_t, 0, name);
	}
	free(tables);
	free(w);
	free(x);
	free(tmp);
	free(fa);
	free(fb);
}

/* Q4_1 and Q5_1 (32-element units, Q8_1 activations), Q8_0, Q4_0, Q5_0 and IQ4_NL (units of
 * two blocks, Q8_0 activations; Q8_0's quants -128..127), each on rows of 1, 3 and 129 units. */
static void check_q1(const char *dots)
{
	static const uint32_t types[] = { ENG_TYPE_Q4_1, ENG_TYPE_Q5_1, ENG_TYPE_Q8_0, ENG_TYPE_Q4_0,
					  ENG_TYPE_Q5_0, ENG_TYPE_IQ4_NL };
	for (size_t ti = 0; ti < sizeof types / sizeof types[0]; ti++) {
		const int64_t unit = eng_kr_unit_elems(types[ti]);
		check_blocks(types[ti], unit, dots);
		check_blocks(types[ti], 3 * unit, dots);
		check_blocks(types[ti], 129 * unit, dots);
	}
}

/* Q8_0, Q4_0, Q5_0 and IQ4_NL with 16 tokens or more and the tokens' tables (a prefill as
 * ops.c hands it): on an AMX-INT8 CPU whole groups of 16 tokens take kernels_amx.c's tiles
 * (the tokens' quants laid out as A tiles, as many as fit at a time: n = 4160 is one group a
 * pass; n = 8256, 258 blocks, is too long for that (Q8_0's tiles then read the rows in
 * place) and for the 4-bit types' unpacking (the VNNI tiles)), the rest the VNNI tiles;
 * every (row, token) against vec_dot_q8, bit for bit, with padded activation rows. */
static void check_many_tokens(const char *path)
{
	static const uint32_t types[] = { ENG_TYPE_Q8_0, ENG_TYPE_Q4_0, ENG_TYPE_Q5_0, ENG_TYPE_IQ4_NL };
	static const int64_t lengths[] = { 64, 192, 4160, 8256 };
	static const int rows_list[] = { 1, 16, 17, 40 };
	static const int toks[] = { 16, 17, 32, 35, 48 };
	enum { TOKS_MAX = 48 };
	for (size_t ti = 0; ti < sizeof types / sizeof types[0]; ti++)
		for (size_t li = 0; li < sizeof lengths / sizeof lengths[0]; li++) {
			const uint32_t type = types[ti];
			const int64_t n = lengths[li];
			uint64_t xrow = 0;
			eng_row_size(ENG_TYPE_Q8_0, (uint64_t)n, &xrow);
			const size_t xs = (size_t)xrow + 2;
			size_t rb = 0;
			char *w = random_blocks(type, n, 1, &rb), *x = calloc(TOKS_MAX, xs);
			float *tmp = malloc(sizeof(float) * (size_t)n);
			for (int t = 0; t < TOKS_MAX; t++) {
				for (int64_t i = 0; i < n; i++)
					tmp[i] = rng_sym() * (float)(1 + t % 3);
				eng_quantize_row_q8_0(tmp, x + (size_t)t * xs, n);
			}
			void *tables = malloc(eng_q8_tables_bytes(type, n, TOKS_MAX) + 64);
			eng_q8_tables_fill(type, n, x, xs, 0, TOKS_MAX, tables);
			int bad = 0;
			for (size_t ri = 0; ri < sizeof rows_list / sizeof rows_list[0]; ri++)
				for (size_t k = 0; k < sizeof toks / sizeof toks[0]; k++)
					bad += compare_kr_t(type, n, w, rb, rows_list[ri], x, xs, toks[k], tables);
			char name[200];
			snprintf(name, sizeof name, "%s n=%lld: eng_mdot_kr equals vec_dot_q8 on 16-48 tokens (%s)",
				 eng_type_name(type), (long long)n, path);
			is_int(bad, 0, name);
			free(tables);
			free(w);
			free(x);
			free(tmp);
		}
}

/* ---- the model: repacked against in place ---- */

/* ... and *in_place (may be NULL): whether a load warning says the rows are read in place. */
/* The file's layer matrices and output matrix of a type kernels_kr2.c takes (Q4_K, Q5_K, Q6_K,
 * Q4_1, Q5_1). */
static int avx2_matrices(const struct eng_model *m)
{
	int k = eng_kr_avx2_takes(m->w.output.type);
	for (uint32_t il = 0; il < m->cfg.n_layer; il++) {
		const struct eng_layer *L = &m->w.layers[il];
		const struct eng_tensor *t[] = { &L->wq, &L->wk, &L->wv, &L->wo, &L->ffn_gate, &L->ffn_up, &L->ffn_down };
		for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
			k += t[i]->data && eng_kr_avx2_takes(t[i]->type);
	}
	return k;
}

static int logits_of(const char *path, bool no_repack, int threads, float **out, int *nv, size_t *kr_bytes,
		     bool *in_place, int *n_avx2)
{
	struct eng_open_opts o = { .n_threads = threads, .no_repack = no_repack };
	struct eng_model *m = NULL;
	struct eng_ctx *c = NULL;
	struct mrl_err err = { 0 };
	if (eng_model_open(&m, path, &o, &err) || eng_ctx_new(&c, m, 64, &err)) {
		diag("%s: %s", path, err.msg);
		eng_model_close(m);
		return -1;
	}
	*kr_bytes = m->kr_bytes;
	*nv = (int)m->cfg.n_vocab;
	if (n_avx2)
		*n_avx2 = avx2_matrices(m);
	for (size_t i = 0; in_place && i < eng_model_n_warnings(m); i++)
		*in_place = *in_place || strstr(eng_model_warning(m, i), "are read in place (the same results");
	int32_t ids[40];
	for (int i = 0; i < 40; i++)
		ids[i] = (int32_t)(1 + (i * 977) % (*nv - 1));
	float *l = malloc(sizeof(float) * (size_t)*nv * 40);
	int rc = eng_decode(c, ids, 33, l, true, &err);
	for (int i = 33; i < 40 && !rc; i++)
		rc = eng_decode(c, ids + i, 1, l + (size_t)i * (size_t)*nv, false, &err);
	if (rc)
		diag("%s: %s", path, err.msg);
	eng_ctx_free(c);
	eng_model_close(m);
	*out = l;
	return rc;
}

static void check_models(void)
{
	char dir[1024];
	if (!smollm2_dir(dir, sizeof dir)) {
		skip("neither $MRL_SMOLLM2_DIR nor $MERILO is set", "models repacked and in place");
		return;
	}
	static const char *const files[] = { "smollm2-q2_k.gguf", "smollm2-q3_k_m.gguf", "smollm2-q4_k_m.gguf",
					     "smollm2-q5_k_m.gguf", "smollm2-q6_k.gguf", "smollm2-iq4_xs.gguf",
					     "smollm2-q4_1.gguf", "smollm2-q5_1.gguf", "smollm2-q8_0.gguf",
					     "smollm2-q4_0.gguf", "smollm2-q5_0.gguf", "smollm2-iq4_nl.gguf",
					     /* merilo synth --tied, Q4_K_M: token_embd Q6_K, the output matrix too */
					     "tied-q4_k_m.gguf" };
	for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
		char path[1200], name[1300];
		snprintf(path, sizeof path, "%s/%s", dir, files[i]);
		snprintf(name, sizeof name, "%s: logits repacked equal logits in place (1 and 2 threads)", files[i]);
		FILE *f = fopen(path, "rb");
		if (!f) {
			skip("no such fixture (tests/smollm2-fixtures.sh makes it with llama.cpp's tools)", name);
			continue;
		}
		fclose(f);
		float *a = NULL, *b = NULL, *c = NULL;
		int nv = 0;
		size_t kra = 0, krb = 0, krc = 0;
		int n_avx2 = 0;
		int rc = logits_of(path, true, 1, &a, &nv, &krb, NULL, NULL) |
			 logits_of(path, false, 1, &b, &nv, &kra, NULL, &n_avx2) |
			 logits_of(path, false, 2, &c, &nv, &krc, NULL, NULL);
		/* without VNNI only Q4_K, Q5_K, Q6_K, Q4_1 and Q5_1 are repacked: the files that hold some */
		const bool vnni = eng_cpu_has_vnni();
		snprintf(name, sizeof name, "%s: %zu KiB repacked (none with no_repack)%s", files[i], kra >> 10,
			 vnni ? "" : n_avx2 ? " (AVX2: its Q4_K/Q5_K/Q6_K/Q4_1/Q5_1 matrices)" : " (AVX2: none of its types)");
		ok(!rc && krb == 0 && (vnni || n_avx2 ? kra > 0 : kra == 0) && krc == kra, name);
		snprintf(name, sizeof name, "%s: logits repacked equal logits in place (1 and 2 threads)", files[i]);
		is_int(rc ? -1 : memcmp(a, b, sizeof(float) * (size_t)nv * 40) || memcmp(a, c, sizeof(float) * (size_t)nv * 40),
		       0, name);
		if (vnni && strcmp(files[i], "smollm2-q8_0.gguf") == 0) { /* a copy bigger than the memory available */
			float *d = NULL;
			size_t krd = 1;
			bool noted = false;
			setenv("MERILO_MEM_AVAILABLE", "1000000", 1);
			int rd = logits_of(path, false, 2, &d, &nv, &krd, &noted, NULL);
			unsetenv("MERILO_MEM_AVAILABLE");
			ok(!rd && krd == 0 && !rc && memcmp(a, d, sizeof(float) * (size_t)nv * 40) == 0,
			   "smollm2-q8_0.gguf, 1 MB available: read in place (nothing repacked), the same logits");
			ok(noted, "  ...and a load warning says so");
			free(d);
		}
		free(a);
		free(b);
		free(c);
	}
}

/* Q4_1 and Q5_1 rows of 5 units whose quants are all 15 (31), against Q8_1 activations all
 * 127, all -128 and alternating: kernels_kr2.c sums a Q4_1 block's vpmaddubsw pairs in int16
 * (8 x 3840) and half a Q5_1 one (4 x 7936); exact, the bits of vec_dot_q8. */
static void check_q1_extremes(const char *dots)
{
	static const uint32_t types[] = { ENG_TYPE_Q4_1, ENG_TYPE_Q5_1 };
	static const int8_t fills[] = { 127, -128, 0 };
	enum { NU = 5, NR = 17, NT = 5 };
	int bad = 0;
	for (size_t ti = 0; ti < 2; ti++) {
		const uint32_t type = types[ti];
		uint64_t rb = 0, xrow = 0;
		eng_row_size(type, 32 * NU, &rb);
		eng_row_size(ENG_TYPE_Q8_1, 32 * NU, &xrow);
		const size_t bb = (size_t)rb / NU;
		char *w = malloc((size_t)rb * NR), *x = calloc(NT, (size_t)xrow);
		memset(w, 0xff, (size_t)rb * NR); /* every quant (and Q5_1 fifth bit) set */
		for (int b = 0; b < NR * NU; b++) {
			const uint16_t h[2] = { eng_f32_to_f16(0.01f * (float)(1 + b % 7)), eng_f32_to_f16(-0.02f) };
			memcpy(w + (size_t)b * bb, h, 4);
		}
		for (size_t f = 0; f < sizeof fills; f++) {
			for (int t = 0; t < NT; t++)
				for (int b = 0; b < NU; b++) {
					struct eng_block_q8_1 *a = (void *)(x + (size_t)t * (size_t)xrow + (size_t)b * sizeof *a);
					int sum = 0;
					for (int k = 0; k < 32; k++) {
						a->qs[k] = fills[f] ? fills[f] : (int8_t)(k % 2 ? 127 : -128);
						sum += a->qs[k];
					}
					a->d = eng_f32_to_f16(0.5f);
					a->s = eng_f32_to_f16(0.5f * (float)sum);
				}
			bad += compare_kr(type, 32 * NU, w, (size_t)rb, NR, x, (size_t)xrow, NT);
		}
		free(w);
		free(x);
	}
	char name[200];
	snprintf(name, sizeof name, "q4_1 / q5_1: largest quants against +127 / -128 / alternating activations exact (%s)",
		 dots);
	is_int(bad, 0, name);
}

/* kernels_kr2.c's AVX2 kernel (Q4_K, Q5_K, Q6_K, Q4_1, Q5_1) against the type's vec_dot_q8
 * (dots names which single-row kernels those are), wherever the CPU has AVX2. */
static void check_kernels_avx2(const char *dots)
{
	if (!eng_kr_avx2_takes(ENG_TYPE_Q4_K) || !__builtin_cpu_supports("avx2")) {
		skip("no AVX2 in this build or on this CPU (kernels_kr2.c not run)", "eng_mdot_kr_avx2 against vec_dot_q8");
		return;
	}
	use_avx2 = 1;
	check_kernels(dots);
	static const uint32_t q1[] = { ENG_TYPE_Q4_1, ENG_TYPE_Q5_1 };
	static const int64_t units[] = { 1, 3, 129 };
	for (size_t i = 0; i < 2; i++)
		for (size_t u = 0; u < 3; u++)
			check_blocks(q1[i], 32 * units[u], dots);
	check_q1_extremes(dots);
	use_avx2 = 0;
}

int main(void)
{
	check_layout();
	if (!eng_cpu_has_vnni()) {
		check_q1(NULL);
		skip("no AVX-512 VNNI on this CPU: kernels_kr.c not run (Q4_K, Q5_K, Q6_K, Q4_1 and Q5_1 are repacked for kernels_kr2.c)",
		     "eng_mdot_kr against vec_dot_q8");
		check_kernels_avx2("AVX2 single-row dots");
		check_models();
		return done_testing();
	}
	diag("Q5_K/Q6_K high bits: %s", eng_kr_has_gfni() ? "GFNI (vgf2p8affineqb), then again with shifts and masks"
							 : "shifts and masks (no GFNI on this CPU)");
	check_kernels(eng_kr_has_gfni() ? "VNNI single-row dots, GFNI" : "VNNI single-row dots");
	check_q1(eng_kr_has_gfni() ? "GFNI" : "no GFNI");
	if (eng_kr_has_gfni()) {
		eng_kr_gfni_disable(1);
		check_kernels("VNNI single-row dots, no GFNI");
		check_q1("no GFNI");
		eng_kr_gfni_disable(0);
	}
	if (eng_cpu_has_amx()) {
		check_many_tokens("AMX-INT8 tiles");
		eng_cpu_amx_disable(1);
	} else {
		skip("no AMX-INT8 on this CPU, or Linux did not grant its tiles (kernels_amx.c not run)",
		     "eng_mdot_kr on AMX tiles against vec_dot_q8");
	}
	check_many_tokens("VNNI tiles");
	eng_cpu_amx_disable(0);
	eng_cpu_vnni_disable(1);
	check_kernels("AVX2 single-row dots");
	check_kernels_avx2("AVX2 single-row dots");
	check_models(); /* as on a CPU without VNNI: Q4_K, Q5_K, Q6_K, Q4_1 and Q5_1 repacked, for kernels_kr2.c */
	eng_cpu_vnni_disable(0);
	check_kernels_avx2("VNNI single-row dots");
	check_models();
	return done_testing();
}
