/* repack.h — K-quant weights repacked at load time into 16-row interleaved blocks.
 *
 * Row by row, a Q4_K/Q5_K/Q6_K decode step is compute-bound: each (row, super-block)
 * ends in a 16-lane horizontal sum and a scalar float step, and on a 7B-shaped file
 * that left decode at a third of the memory bandwidth. Repacked, 16 rows travel
 * together: byte 4r + j of a 64-byte vector holds quant j of a 4-element chunk of row
 * r, so one vpdpbusd with a token's 4 activation bytes broadcast adds 4 products to
 * each of the 16 rows' sums, and the sums end in the lanes, one row a lane. The quants
 * stay 4-bit packed (two chunks a byte: low and high nibble), so a block is no bigger
 * than the 16 rows it holds (Q4_K: 2.8% bigger, its 6-bit scales unpacked to bytes; Q3_K
 * 5.5%, its scales too; IQ4_XS 2.9%; Q2_K, Q5_K and Q6_K the same size).
 *
 * Within a 16-row block, for each super-block (256 elements, "element order" = the
 * order of the Q8_K activations' qs), with e_r[i] row r's unsigned quant i (Q2_K 0..3,
 * Q3_K 0..7, Q4_K 0..15, Q5_K 0..31, Q6_K 0..63; IQ4_XS its index 0..15 into the 16
 * levels; Q3_K's -4 and Q6_K's -32 come off through the activations' bsums, and so
 * does the 128 that IQ4_XS's levels carry in the kernel to be unsigned), for Q4_K,
 * Q5_K, Q6_K and IQ4_XS:
 *   q[c][4r + j]  = (e_r[8c + j] & 15) | (e_r[8c + 4 + j] & 15) << 4   (c = 0..31, j = 0..3)
 *   Q5_K qh[g][4r + j], g = 0..7 (32-element sub-block): bit k = bit 4 of e_r[32g + 4k + j]
 *   Q6_K qh[g][4r + j], g = 0..15 (16-element group): bits 2k..2k+1 = bits 4-5 of e_r[16g + 4k + j]
 *   sc[g][r]: the group's scale (Q4_K/Q5_K: 6-bit unsigned of unpack_k_scales; Q6_K: int8;
 *             IQ4_XS: its 32-element sub-block's 6-bit scale - 32)
 *   Q4_K/Q5_K mn[m][2r + i]: the min of sub-block 2m + i (pairs, for vpmaddwd with the bsums)
 *   d[r], dmin[r]: the row's f16 super-block scales as stored.
 * and for Q2_K and Q3_K (2-bit planes, a 16-element group a vector):
 *   q[g][4r + j]  bits 2k..2k+1 = bits 0-1 of e_r[16g + 4k + j]   (g = 0..15, k = 0..3)
 *   Q3_K qh[m][4r + j], m = 0..7: bit k = bit 2 of e_r[32m + 4k + j]
 *   Q2_K scm[m][2r + i]: the file's scale byte of group 2m + i (scale | min << 4)
 *   Q3_K sc[g][r]: the group's scale (-32..31).
 * Rows past the last of the matrix (its row count not a multiple of 16) are zero.
 * A matrix is ceil(rows / 16) blocks of n / 256 super-blocks (n / 32 units for Q4_1 and
 * Q5_1, below), block after block. */
#ifndef MERILO_ENGINE_CPU_REPACK_H
#define MERILO_ENGINE_CPU_REPACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum { KR_ROWS = 16 };

struct kr_q4k {
	uint8_t q[32][64];
	uint8_t sc[8][16];
	uint8_t mn[4][32];
	uint16_t d[16], dmin[16];
};

struct kr_q5k {
	uint8_t q[32][64];
	uint8_t qh[8][64];
	uint8_t sc[8][16];
	uint8_t mn[4][32];
	uint16_t d[16], dmin[16];
};

struct kr_q6k {
	uint8_t q[32][64];
	uint8_t qh[16][64];
	int8_t sc[16][16];
	uint16_t d[16];
	uint8_t pad[32]; /* to a multiple of 64 bytes */
};

struct kr_q2k {
	uint8_t q[16][64];
	uint8_t scm[8][32];
	uint16_t d[16], dmin[16];
};

struct kr_q3k {
	uint8_t q[16][64];
	uint8_t qh[8][64];
	int8_t sc[16][16];
	uint16_t d[16];
	uint8_t pad[32];
};

struct kr_iq4xs {
	uint8_t q[32][64];  /* the 4-bit indices into iq4nl_values, as Q4_K's quants */
	int8_t sc[8][16];   /* each sub-block's scale, -32..31 */
	uint16_t d[16];
	uint8_t pad[32];
};

/* Q4_1 and Q5_1 (32-element blocks, Q8_1 activations): a unit is one block of 16 rows,
 * q as Q4_K's (e = the 4-bit quant), Q5_1's fifth bits as Q5_K's qh (bit k of byte
 * 4r + j = bit 4 of e_r[4k + j]), then the rows' f16 d and m. */
struct kr_q41 {
	uint8_t q[4][64];
	uint16_t d[16], m[16];
};

struct kr_q51 {
	uint8_t q[4][64];
	uint8_t qh[64];
	uint16_t d[16], m[16];
};

/* Q8_0, Q4_0, Q5_0 and IQ4_NL (32-element blocks, Q8_0 activations): a unit is two blocks
 * (64 elements) of 16 rows, so that every unit starts on a 64-byte boundary (one Q8_0
 * block would be 544 bytes, Q4_0 288). Q8_0: q[g][4r + j] = quant 4g + j of the unit's 64
 * of row r, + 128 (unsigned: vpdpbusd's first operand); Q4_0, Q5_0 (its low 4 bits) and
 * IQ4_NL (its index into the 16 levels): as Q4_1's, chunk pairs c = 0..7 over the 64
 * elements; Q5_0's fifth bits as Q5_1's, qh[k] for block k. Then each block's 16 f16 d.
 * The bias (Q8_0 128, Q4_0 8, Q5_0 16, IQ4_NL the 128 its levels carry in the kernel to be
 * unsigned) comes off through the token's block sum, as in the per-call interleaved
 * tiles (kernels_int.h). IQ4_NL units are struct kr_q40. */
struct kr_q80 {
	uint8_t q[16][64];
	uint16_t d[2][16];
};

struct kr_q40 {
	uint8_t q[8][64];
	uint16_t d[2][16];
};

struct kr_q50 {
	uint8_t q[8][64];
	uint8_t qh[2][64];
	uint16_t d[2][16];
};

_Static_assert(sizeof(struct kr_q50) == 704, "kr_q50");
_Static_assert(sizeof(struct kr_q80) == 1088 && sizeof(struct kr_q40) == 576, "kr_q80, kr_q40");
_Static_assert(sizeof(struct kr_q41) == 320 && sizeof(struct kr_q51) == 384, "kr_q41, kr_q51");
_Static_assert(sizeof(struct kr_iq4xs) == 2240 && sizeof(struct kr_iq4xs) % 64 == 0, "kr_iq4xs");
_Static_assert(sizeof(struct kr_q2k) == 1344 && sizeof(struct kr_q2k) % 64 == 0, "kr_q2k");
_Static_assert(sizeof(struct kr_q3k) == 1856 && sizeof(struct kr_q3k) % 64 == 0, "kr_q3k");
_Static_assert(sizeof(struct kr_q4k) == 2368 && sizeof(struct kr_q4k) % 64 == 0, "kr_q4k");
_Static_assert(sizeof(struct kr_q5k) == 2880 && sizeof(struct kr_q5k) % 64 == 0, "kr_q5k");
_Static_assert(sizeof(struct kr_q6k) == 3392 && sizeof(struct kr_q6k) % 64 == 0, "kr_q6k");

/* Bytes of one repacked unit of 16 rows of type, 0 for a type that is not repacked: a
 * super-block of 256 elements (Q2_K..Q6_K, IQ4_XS), a block of 32 (Q4_1, Q5_1) or two
 * (Q8_0, Q4_0, Q5_0, IQ4_NL). */
size_t eng_kr_superblock_bytes(uint32_t type);
/* The elements of type's unit (256, 32 or 64): a row is repacked where its length is a
 * multiple (the Q8_0-activation types: of at most 512 blocks, eng_q8_tables_fill's limit). */
int64_t eng_kr_unit_elems(uint32_t type);
/* Whether type is repacked in units of two 32-element blocks with Q8_0 activations (Q8_0,
 * Q4_0, Q5_0, IQ4_NL). */
bool eng_kr_q0(uint32_t type);
/* Bytes of the whole repacked matrix of rows x n elements (n a multiple of the type's unit). */
size_t eng_kr_matrix_bytes(uint32_t type, int64_t n, int64_t rows);
/* Repack rows x n elements of type at src (row_bytes apart) into dst (eng_kr_matrix_bytes,
 * any alignment; 64 is best). Blocks b0..b1-1 only (for threads). */
void eng_kr_pack(uint32_t type, int64_t n, int64_t rows, const void *src, size_t row_bytes, void *dst,
		 int64_t b0, int64_t b1);

/* The repacked matrix (blocks of 16 rows) times n_tok tokens of Q8_K activations (Q8_1 for
 * Q4_1 and Q5_1, Q8_0 for Q8_0, Q4_0, Q5_0 and IQ4_NL)
 * (x_stride bytes apart): out[t * out_stride + r] for rows r < n_rows of the blocks at
 * w (n_blocks = ceil(n_rows / 16) of them). Each (row, token) gets the bits of the
 * type's vec_dot_q8 on the original row (kernels_kr.c; AVX-512 VNNI CPUs only).
 * tables: for the Q8_0-activation types, the tokens' eng_q8_tables_fill tables (kernels.h), or NULL
 * (made here, a group of 4 tokens at a time); ignored for the other types. */
void eng_mdot_kr(uint32_t type, int64_t n, const void *w, int n_rows, const void *xq, size_t x_stride, int n_tok,
		 const void *tables, float *out, size_t out_stride);

/* eng_mdot_kr for Q4_K, Q5_K, Q6_K, Q4_1 and Q5_1 with AVX2 alone (kernels_kr2.c), the same bits: where
 * the CPU has no AVX-512 VNNI, repack.c repacks these types only (eng_kr_avx2_takes) and
 * ops.c runs them here. */
void eng_mdot_kr_avx2(uint32_t type, int64_t n, const void *w, int n_rows, const void *xq, size_t x_stride,
		      int n_tok, float *out, size_t out_stride);
int eng_kr_avx2_takes(uint32_t type);

/* Row `row` of the repacked matrix w (rows of n elements) as floats: the bits of the type's
 * to_f32 on the file's row (its blocks are rebuilt from the layout first). */
void eng_kr_row_to_f32(uint32_t type, int64_t n, const void *w, int64_t row, float *out);

/* Whether eng_mdot_kr moves Q5_K's and Q6_K's high bits with GFNI's vgf2p8affineqb (CPUID;
 * else shifts and masks, as on Cascade Lake); off set says no from then on (tests). */
int eng_kr_has_gfni(void);
void eng_kr_gfni_disable(int off);

#endif
