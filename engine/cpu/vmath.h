/* vmath.h — exp and expf with fixed bits, eight (four) lanes at a time.
 *
 * The forward pass's softmax and SwiGLU and the scorer's log-sum-exp called libm's
 * expf/exp once per element (8-15% of a prefill's or a batched scoring run's
 * cycles). These compute the same function as glibc 2.28+'s exp and expf on a CPU
 * with FMA (the algorithm of ARM's optimized-routines, tables from
 * ci/gen-exp-tables.py), bit for bit: each vector lane runs the scalar steps, every
 * multiply-add that glibc's FMA build fuses is an FMA here too, and inputs outside
 * the main range (overflow, underflow, |x| tiny, inf, NaN) go to libm as before.
 * tests/eng_vmath.c checks the vector paths against the scalar ones on every
 * sampled input, and the scalar ones against libm where the CPU has FMA.
 * Also the f16 rounding of a row, which ops.c and attention.c share.
 */
#ifndef MRL_ENGINE_CPU_VMATH_H
#define MRL_ENGINE_CPU_VMATH_H

#include <stddef.h>

float eng_expf(float x);
double eng_exp(double x);

/* out[i] = eng_expf(x[i]) (out may be x). */
void eng_expf_row(const float *x, float *out, size_t n);

/* g[i] = g[i] / (1 + eng_expf(-g[i])) * up[i]: SiLU(gate) times up. */
void eng_silu_mul_row(float *g, const float *up, size_t n);

/* The first maximum of x[0..n) (n >= 1) as a scan with `>` from x[0] finds it: NaNs after
 * x[0] are passed over, of equal values (+0 and -0 too) the first stays; its index in
 * *first. */
float eng_row_max(const float *x, size_t n, size_t *first);

/* The sum, in index order from 0.0, of eng_exp((double)x[i] - (double)max). */
double eng_sum_exp(const float *x, size_t n, float max);

/* Rope's rotation of n pairs in place, pair i at angle (c[i], s[i]) the cosine and sine:
 * eng_rope_adjacent rotates (x0, x1) = (v[2i], v[2i + 1]) (GGUF llama layout) into
 * (fma(x0, c, -(x1 s)), fma(x1, c, x0 s)), as llama.cpp's x86 build does; eng_rope_halves
 * rotates (x0, x1) = (lo[i], hi[i]) into (x0 c - x1 s, x0 s + x1 c), each product rounded. */
void eng_rope_adjacent(float *v, const float *c, const float *s, size_t n);
void eng_rope_halves(float *lo, float *hi, const float *c, const float *s, size_t n);

/* The index of the first NaN or infinity in x[0..n), or n when every element is finite. */
size_t eng_first_nonfinite(const float *x, size_t n);

/* out[i] = x[i] rounded to f16 and back (what ggml's f32 -> f16 operand conversion keeps;
 * out may be x). */
void eng_round_f16_row(const float *x, float *out, size_t n);

/* out[i] = x[i] rounded to bf16 (to nearest even; NaN kept NaN) and back: what ggml's
 * f32 -> bf16 operand conversion keeps (out may be x). */
void eng_round_bf16_row(const float *x, float *out, size_t n);

#endif
