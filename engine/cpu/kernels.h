/* kernels.h — multi-row, multi-token dot kernels for the CPU matmul; internal to engine/.
 *
 * eng_mdot_* compute a block of a matrix product: for r < n_rows and t < n_tok,
 *   out[t * out_stride + r] = vec_dot(row r of w, activation row t)
 * where vec_dot is the single-row kernel of types.h for the same type. A weight row
 * (or a few) is loaded once and dotted with several tokens at once (prefill), and
 * several rows run side by side (decode), but every output element is summed in
 * exactly the order of the single-row kernel, so the results are bit-identical to
 * it (tests/eng_kernels.c compares them bit for bit).
 *
 * Layouts: w_stride is the byte distance between weight rows; x_stride the byte
 * distance between activation rows; out_stride counts floats. n is the row length
 * in elements (a multiple of 32 for the quantized kernels).
 */
#ifndef MRL_ENG_CPU_KERNELS_H
#define MRL_ENG_CPU_KERNELS_H

#include <stddef.h>
#include <stdint.h>

/* Decode's row order, shared by every one-token kernel (kernels.c, kernels_q32.c,
 * kernels_f16.c, kernels_pairs.c): a call's rows are cut into ENG_DEC_STREAMS runs of
 * eng_dec_run() rows, and the kernel takes row k of every run together, so each run is
 * read start to end as one sequential stream (each row prefetched ENG_DEC_AHEAD bytes
 * ahead in its own stream, where the kernel prefetches by position). The hardware
 * prefetcher follows several long streams at once, where a tile of neighbouring rows
 * gave it one short stream that restarted every tile (docs/performance.md,
 * 2026-12-04, evening). Rows past ENG_DEC_STREAMS x the run go as before. */
#define ENG_DEC_STREAMS 8
#define ENG_DEC_AHEAD 1024

/* The bytes ahead that the F16/F32/BF16 decode streams (eng_mdot_f16, _bf16, _f32 and
 * _f16_xh with one token) prefetch each row: ENG_DEC_AHEAD, or 0 (no software prefetch) on
 * AMD family 19h (Zen 3 / Zen 4), where the prefetches cost a sixth of F16 decode's speed
 * (docs/performance.md, 2026-12-07). MERILO_DEC_PREFETCH=BYTES sets it (0: none; for A/B
 * runs). Read once a process. Where rows are read changes, never their sums' bits. */
size_t eng_cpu_dec_ahead(void);
/* Forget the choice: the next eng_cpu_dec_ahead() reads MERILO_DEC_PREFETCH again (tests). */
void eng_cpu_dec_ahead_reset(void);

/* The rows a run, or 0 where runs would be shorter than 2 rows (too short to stream). */
static inline int eng_dec_run(int n_rows)
{
	return n_rows / ENG_DEC_STREAMS >= 2 ? n_rows / ENG_DEC_STREAMS : 0;
}

/* F32 weights . f32 activations (as eng_vec_dot_f32_ref / the table's f32 vec_dot). */
void eng_mdot_f32(int64_t n, const void *w, size_t w_stride, int n_rows, const float *x, size_t x_stride,
		  int n_tok, float *out, size_t out_stride);
/* F16 weights . f32 activations (as the table's f16 vec_dot). */
void eng_mdot_f16(int64_t n, const void *w, size_t w_stride, int n_rows, const float *x, size_t x_stride,
		  int n_tok, float *out, size_t out_stride);
/* BF16 weights . f32 activations (as the table's bf16 vec_dot): the F32 kernel's
 * arithmetic on the widened weights. */
void eng_mdot_bf16(int64_t n, const void *w, size_t w_stride, int n_rows, const float *x, size_t x_stride,
		   int n_tok, float *out, size_t out_stride);
/* F16 weights . f32 activations with each element's multiply and add fused (the F32
 * kernel's arithmetic on the widened weights). For activations that are f16 values
 * held as floats (ops.c rounds them so from a GGUF) the same bits as eng_mdot_f16,
 * faster (kernels_f16.c: with exact products a fused multiply-add rounds as the
 * multiply and the add do); HF folders pass f32 activations as they are. */
void eng_mdot_f16_xh(int64_t n, const void *w, size_t w_stride, int n_rows, const float *x, size_t x_stride,
		     int n_tok, float *out, size_t out_stride);
/* Q8_0 / Q4_0 weights . Q8_0 activations made by eng_quantize_row_q8_0 (quants in
 * [-127, 127]), as eng_vec_dot_q8_0_q8_0 / eng_vec_dot_q4_0_q8_0. */
void eng_mdot_q8_0_q8_0(int64_t n, const void *w, size_t w_stride, int n_rows, const void *xq,
			size_t x_stride, int n_tok, float *out, size_t out_stride);
void eng_mdot_q4_0_q8_0(int64_t n, const void *w, size_t w_stride, int n_rows, const void *xq,
			size_t x_stride, int n_tok, float *out, size_t out_stride);
/* Q5_0 weights . Q8_0 activations, as eng_vec_dot_q5_0_q8_0 (n a multiple of 32). */
void eng_mdot_q5_0_q8_0(int64_t n, const void *w, size_t w_stride, int n_rows, const void *xq,
			size_t x_stride, int n_tok, float *out, size_t out_stride);
/* IQ4_NL weights . Q8_0 activations, Q4_1 / Q5_1 weights . Q8_1 activations made by
 * eng_quantize_row_q8_1, as the type table's vec_dot_q8 (kernels_q32.c; n a multiple of 32). */
void eng_mdot_iq4_nl_q8_0(int64_t n, const void *w, size_t w_stride, int n_rows, const void *xq,
			  size_t x_stride, int n_tok, float *out, size_t out_stride);
void eng_mdot_q4_1_q8_1(int64_t n, const void *w, size_t w_stride, int n_rows, const void *xq,
			size_t x_stride, int n_tok, float *out, size_t out_stride);
void eng_mdot_q5_1_q8_1(int64_t n, const void *w, size_t w_stride, int n_rows, const void *xq,
			size_t x_stride, int n_tok, float *out, size_t out_stride);
/* Q2_K / Q3_K / Q4_K / Q5_K / Q6_K / IQ4_XS weights . Q8_K activations made by
 * eng_quantize_row_q8_K, as the type table's vec_dot_q8 (engine/quants_tile.c; n a
 * multiple of 256). */
void eng_mdot_q2_K_q8_K(int64_t n, const void *w, size_t w_stride, int n_rows, const void *xq,
			size_t x_stride, int n_tok, float *out, size_t out_stride);
void eng_mdot_q3_K_q8_K(int64_t n, const void *w, size_t w_stride, int n_rows, const void *xq,
			size_t x_stride, int n_tok, float *out, size_t out_stride);
void eng_mdot_q4_K_q8_K(int64_t n, const void *w, size_t w_stride, int n_rows, const void *xq,
			size_t x_stride, int n_tok, float *out, size_t out_stride);
void eng_mdot_q5_K_q8_K(int64_t n, const void *w, size_t w_stride, int n_rows, const void *xq,
			size_t x_stride, int n_tok, float *out, size_t out_stride);
void eng_mdot_q6_K_q8_K(int64_t n, const void *w, size_t w_stride, int n_rows, const void *xq,
			size_t x_stride, int n_tok, float *out, size_t out_stride);
void eng_mdot_iq4_xs_q8_K(int64_t n, const void *w, size_t w_stride, int n_rows, const void *xq,
			  size_t x_stride, int n_tok, float *out, size_t out_stride);

/* The type table's single-row vec_dot_q8 of `type`, pair by pair (what the tiles fall
 * back to without AVX2, or for rows longer than their tables take). */
void eng_mdot_q8_pairs(uint32_t type, int64_t n, const void *w, size_t w_stride, int n_rows, const void *xq,
		       size_t x_stride, int n_tok, float *out, size_t out_stride);

/* The signature of the eng_mdot_* kernels. */
typedef void (*eng_mdot_fn)(int64_t n, const void *w, size_t w_stride, int n_rows, const void *x,
			    size_t x_stride, int n_tok, float *out, size_t out_stride);
/* The multi-row kernel for weights of `type` against their quantized activation
 * format (the type's vec_dot_type), or NULL where there is none (static). */
eng_mdot_fn eng_mdot_q8_for_type(uint32_t type);

/* Prefill of Q8_0 / Q4_0 / Q5_0 / IQ4_NL / Q4_1 / Q5_1 weights with the tokens'
 * per-block lane tables (f16 scales as floats; bias x quant sums, or Q8_1's s) made once per matrix product instead of once
 * per call (ops.c calls a kernel per chunk of rows, and a chunk is ~16 rows): the
 * bytes the tables of n_tok tokens take (0: the type, n or n_tok has no such path,
 * use eng_mdot_q8_for_type's kernel); eng_q8_tables_fill makes those of tokens
 * t0..t1-1 (tokens are independent: threads fill disjoint ranges); eng_mdot_q8_tabled
 * is eng_mdot_q8_for_type(type)'s kernel reading them (the same bits). */
size_t eng_q8_tables_bytes(uint32_t type, int64_t n, int n_tok);
void eng_q8_tables_fill(uint32_t type, int64_t n, const void *xq, size_t x_stride, int t0, int t1, void *tables);
void eng_mdot_q8_tabled(uint32_t type, int64_t n, const void *w, size_t w_stride, int n_rows, const void *xq,
			size_t x_stride, const void *tables, int n_tok, float *out, size_t out_stride);
/* True where eng_mdot_q8_tabled runs the interleaved tiles for these (kernels.c), which
 * pack rows 8 at a time and prefetch the next 8 within a call: they want a thread's
 * rows in one call rather than ~16 KiB chunks (at n = 2048 a chunk is one group of 8,
 * with nothing to prefetch). */
int eng_mdot_q8_whole_rows(uint32_t type, int64_t n, int n_tok);

/* kernels_q32.c's part of the three above (IQ4_NL, Q4_1, Q5_1), for kernels.c: whether
 * the type and n have tables, token t's lanes, the kernel reading them. */
int eng_q32_tabled(uint32_t type, int64_t n);
void eng_q32_table_token(uint32_t type, int64_t n, const void *x, int t, float *tables);
void eng_mdot_q32_tabled(uint32_t type, int64_t n, const void *w, size_t w_stride, int n_rows, const void *xq,
			 size_t x_stride, const float *tables, int n_tok, float *out, size_t out_stride);

/* True where the CPU has AVX512-VNNI with AVX512-VL/BW (CPUID, at run time): the
 * Q8_0/Q4_0/Q5_0 kernels then take the tiles of kernels_vnni.c (same bits). */
int eng_cpu_has_vnni(void);
/* With off set, eng_cpu_has_vnni says no from then on (tests/eng_kernels.c checks the
 * AVX2 tiles on a VNNI machine so); 0 restores CPUID's answer. */
void eng_cpu_vnni_disable(int off);
/* Q4_K / Q5_K / Q6_K x Q8_K single-row dots with AVX-512 VNNI (kernels_vnni.c; only where
 * eng_cpu_has_vnni(): quants_avx2.c's dots call them then). The same bits as theirs. */
float eng_vec_dot_q4_K_q8_K_vnni(int64_t n, const void *row, const void *xq);
float eng_vec_dot_q5_K_q8_K_vnni(int64_t n, const void *row, const void *xq);
float eng_vec_dot_q6_K_q8_K_vnni(int64_t n, const void *row, const void *xq);
/* quants_tile.c's multi-token tile on 512-bit registers for type Q4_K, Q5_K or Q6_K (only
 * where eng_cpu_has_vnni(); the same bits). */
void eng_mdot_k_vnni(uint32_t type, int64_t n, const void *w, size_t w_stride, int n_rows, const void *xq,
		     size_t x_stride, int n_tok, float *out, size_t out_stride);
/* Whether a call of n_tok tokens on type's rows takes kernels_vnni.c's interleaved K-quant
 * tile, which packs 16 rows at a time and so wants a thread's rows in one call (ops.c). */
int eng_mdot_k_whole_rows(uint32_t type, int n_tok);
/* Whether the Q8_0, Q4_0 and Q5_0 decode tiles take two blocks a step on 512-bit registers (kernels_vnni.c,
 * on every VNNI CPU); off set says no from then on, as eng_cpu_vnni_disable. */
int eng_cpu_has_qx2(void);
void eng_cpu_qx2_disable(int off);
/* kernels_vnni.c's tiles, for kernels.c only (AVX2 + F16C builds, VNNI CPUs): kernels_int.h's
 * ki_qtile8x1 and ki_qtile2x4 with vpdpbusd (kind: its KIND_Q8, KIND_Q4 or KIND_Q5); res gets 8 floats. */
void eng_qtile8x1_vnni(int64_t nb, const void *const *wr, const void *xb, const float *dx, const int32_t *sx,
		       float *res, int kind, const char *pf, size_t pf_step, size_t ahead);
void eng_qtile2x4_vnni(int64_t nb, const void *const *wr, const void *const *xt, const float *dxv,
		       const int32_t *sxv, float *res, int kind);
/* ki_ilv_tile with vpdpbusd: 8 interleaved rows (ki_ilv_pack) x nt (1..4) tokens; token t's
 * 8 floats go to res + res_stride * t. */
void eng_ilv_tile_vnni(int64_t nb, const uint8_t *pk, const void *const *xt, const float *dxv, const int32_t *sxv,
		       float *res, size_t res_stride, int nt);
/* Bytes of a 16-row packed block: for g = 0..7, 64 bytes (vector g of rows 0..7 as
 * ki_ilv_pack lays it out, then that of rows 8..15), then the 16 row scales as floats.
 * kernels.c packs it (ki_ilv_pack_at, one group of 8 rows a half). */
#define ENG_ILV16_BLOCK (16 * 32 + 16 * 4)
/* AMX-INT8 (kernels_amx.c): whether the CPU has it and Linux lets this process use its tiles
 * (asked once); with off set, no from then on (tests compare the two paths). */
int eng_cpu_has_amx(void);
void eng_cpu_amx_disable(int off);
/* The calling thread's tile configuration for eng_amx_q0_tile, and its release. */
void eng_amx_begin(void);
void eng_amx_end(void);
/* The quants of 16 tokens' Q8_0 activations (x, x_stride apart, nb blocks) laid out as AMX A
 * tiles: block ib's 16 x 32 bytes at a + 512 ib (a 32-byte aligned, 512 nb bytes). */
void eng_amx_pack_a(int64_t nb, const void *x, size_t x_stride, void *a);
/* 16 weight rows x 16 tokens of Q8_0 activations (x, x_stride apart; or their quants packed
 * at a by eng_amx_pack_a, a not NULL), nb 32-element blocks (even): w is a 16-row block of
 * repack.h's struct kr_q80 units (q8) or nb ENG_ILV16_BLOCK blocks; grp the 16 tokens' four
 * groups of eng_q8_tables_fill's tables (the first at grp); out[t * out_stride + r] for
 * r < nr. The bits of eng_ilv16_tile_vnni and the repacked VNNI tiles. */
void eng_amx_q0_tile(int64_t nb, const void *w, int q8, const void *x, size_t x_stride, const void *a,
		     const float *grp, float *out, size_t out_stride, int nr);

/* The same on 512-bit registers: 16 rows (ENG_ILV16_BLOCK blocks, 64-byte aligned) x nt
 * (1..4) tokens, lane r of a register being row r; res[res_stride t + r] = row r . token t.
 * Each lane's integers and float steps are ki_ilv_tile's, so the bits are the same. */
void eng_ilv16_tile_vnni(int64_t nb, const uint8_t *pk, const void *const *xt, const float *dxv,
			 const int32_t *sxv, float *res, size_t res_stride, int nt);

#endif
