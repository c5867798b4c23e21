/* types.h — ggml tensor types: layout, conversion and dot products; internal to engine/.
 *
 * A table indexed by ggml type id gives each type's name, block size (elements
 * per block) and bytes per block, and the three kernels the forward pass needs:
 * dequantize a run to f32, quantize f32 to the type, and dot a weight row with an
 * f32 vector. Layouts are exactly ggml's (Q8_0: fp16 scale + 32 int8; Q4_0: fp16
 * scale + 16 bytes of nibbles, low nibbles = elements 0..15, high = 16..31,
 * value (q - 8) * d). Implemented: F32, F16, BF16, Q4_0, Q8_0 (types.c); Q4_1,
 * Q5_0, Q5_1, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, IQ4_NL, IQ4_XS (quants.c). The other
 * ggml types have named slots with their sizes but no kernels (supported = false).
 *
 * The llama.cpp path for quantized weights quantizes the activation to the
 * type's vec_dot_type first (Q8_0, Q8_1 or Q8_K, with act_from_f32 of that
 * type's traits, mirroring llama.cpp's x86 quantize_row_*) and then uses an
 * integer dot per block (vec_dot_q8), summing blocks as ggml does:
 * sumf += (float)sumi * (d_w * d_x) (see quants.c for the K-quants).
 *
 * Every kernel is deterministic: a fixed summation order that does not depend
 * on the thread or on whether the AVX2 path is compiled in (the AVX2 and plain-C
 * paths give bit-identical results; tests/eng_types.c checks it).
 * n (element count) must be a multiple of the type's block size; callers check
 * this once when loading (eng_row_size fails otherwise).
 */
#ifndef MRL_ENG_TYPES_H
#define MRL_ENG_TYPES_H

#include <stdbool.h>
#include <stdint.h>

/* ggml type ids (the values stored in GGUF tensor infos). */
enum eng_type {
	ENG_TYPE_F32 = 0,
	ENG_TYPE_F16 = 1,
	ENG_TYPE_Q4_0 = 2,
	ENG_TYPE_Q4_1 = 3,
	ENG_TYPE_Q5_0 = 6,
	ENG_TYPE_Q5_1 = 7,
	ENG_TYPE_Q8_0 = 8,
	ENG_TYPE_Q8_1 = 9,
	ENG_TYPE_Q2_K = 10,
	ENG_TYPE_Q3_K = 11,
	ENG_TYPE_Q4_K = 12,
	ENG_TYPE_Q5_K = 13,
	ENG_TYPE_Q6_K = 14,
	ENG_TYPE_Q8_K = 15,
	ENG_TYPE_IQ4_NL = 20,
	ENG_TYPE_IQ4_XS = 23,
	ENG_TYPE_BF16 = 30,
	ENG_TYPE_COUNT = 40, /* table size: ids >= this are unknown */
};

#define ENG_QK8_0 32
#define ENG_QK4_0 32

/* ggml's block layouts (no padding: 34 and 18 bytes). d is an IEEE half. */
struct eng_block_q8_0 {
	uint16_t d;
	int8_t qs[ENG_QK8_0];
};
struct eng_block_q4_0 {
	uint16_t d;
	uint8_t qs[ENG_QK4_0 / 2];
};
/* Activation blocks: Q8_1 (s = d * sum of qs, for the types with a min) and
 * Q8_K (super-block of 256, f32 d, sums of each 16 quants). */
struct eng_block_q8_1 {
	uint16_t d, s;
	int8_t qs[32];
};
struct eng_block_q8_K {
	float d;
	int8_t qs[256];
	int16_t bsums[16];
};
_Static_assert(sizeof(struct eng_block_q8_1) == 36, "q8_1 block is 36 bytes");
_Static_assert(sizeof(struct eng_block_q8_K) == 292, "q8_K block is 292 bytes");
_Static_assert(sizeof(struct eng_block_q8_0) == 34, "q8_0 block is 34 bytes");
_Static_assert(sizeof(struct eng_block_q4_0) == 18, "q4_0 block is 18 bytes");

/* Dequantize n elements at src (n a multiple of the block size) into dst. */
typedef void (*eng_to_f32_fn)(const void *src, float *dst, int64_t n);
/* Quantize n floats into dst (n a multiple of the block size; dst holds eng_row_size bytes). */
typedef void (*eng_from_f32_fn)(const float *src, void *dst, int64_t n);
/* Dot product of n elements of a weight row (this type) with the f32 vector x. */
typedef float (*eng_vec_dot_fn)(int64_t n, const void *row, const float *x);
/* Dot product of a weight row with an activation already quantized to the
 * type's vec_dot_type (xq). */
typedef float (*eng_vec_dot_q8_fn)(int64_t n, const void *row, const void *xq);

struct eng_type_traits {
	const char *name;          /* "f32", "f16", "q4_0", "q8_0", "bf16", "q4_K", ... */
	uint32_t block_size;       /* elements per block (1 for float types) */
	uint32_t block_bytes;      /* bytes per block */
	bool supported;            /* usable as a weight: to_f32, vec_dot present (false: NULL,
				    * except the activation formats Q8_1/Q8_K, which dequantize) */
	eng_to_f32_fn to_f32;
	eng_from_f32_fn from_f32;  /* weight quantizer (ggml's *_ref); NULL where merilo has none */
	eng_vec_dot_fn vec_dot;
	eng_vec_dot_q8_fn vec_dot_q8; /* NULL where there is no quantized-activation path (float types) */
	uint32_t vec_dot_type;     /* activation format vec_dot_q8 reads (Q8_0, Q8_1, Q8_K) */
	eng_from_f32_fn act_from_f32; /* on Q8_0/Q8_1/Q8_K: the activation quantizer */
};

/* The traits of a type id, or NULL for an id no ggml type has (the table is static). */
const struct eng_type_traits *eng_type_get(uint32_t type);
/* The type's name, or "unknown" for an unknown id (static string). */
const char *eng_type_name(uint32_t type);
/* True when the type has kernels (usable as a weight). */
bool eng_type_supported(uint32_t type);
/* Bytes of n elements of type into *out. Returns 0; -1 when the id is unknown,
 * n is not a multiple of the block size, or the size overflows uint64_t. */
int eng_row_size(uint32_t type, uint64_t n, uint64_t *out);

/* Scalar conversions: bit-exact, round-to-nearest-even for f32 -> f16/bf16,
 * NaN stays NaN (quiet), overflow -> inf, f16 subnormals handled. */
float eng_f16_to_f32(uint16_t h);
uint16_t eng_f32_to_f16(float f);
float eng_bf16_to_f32(uint16_t h);
uint16_t eng_f32_to_bf16(float f);

/* Quantize a weight row to Q8_0 as ggml's quantize_row_q8_0_ref does
 * (d = amax / 127, q = roundf(x * (1 / d))); y holds n / 32 blocks. */
void eng_quantize_row_q8_0_ref(const float *x, void *y, int64_t n);
void eng_quantize_row_q4_0(const float *x, void *y, int64_t n);
/* Quantize an activation row as llama.cpp does on x86 (quants.c of ggml-cpu/arch/x86):
 * Q8_0 and Q8_1: d = amax / 127 (stored f16), q = round-half-even(x * (127 / amax));
 * Q8_1 also s = f16(d * sum q). Q8_K: quantize_row_q8_K_ref (iscale = -127 / max,
 * max the signed element of largest magnitude, d = 1 / iscale as f32, bsums). */
void eng_quantize_row_q8_0(const float *x, void *y, int64_t n);
void eng_quantize_row_q8_1(const float *x, void *y, int64_t n);
void eng_quantize_row_q8_K(const float *x, void *y, int64_t n);
/* The plain-C forms of the three (which use AVX2 where the build has it: the same bits,
 * tests/eng_quants.c). */
void eng_quantize_row_q8_0_scalar(const float *x, void *y, int64_t n);
void eng_quantize_row_q8_1_scalar(const float *x, void *y, int64_t n);
void eng_quantize_row_q8_K_scalar(const float *x, void *y, int64_t n);
/* Integer dot per block, as ggml: sum over blocks of sumi * (d_row * d_x). */
float eng_vec_dot_q8_0_q8_0(int64_t n, const void *row, const void *xq);
float eng_vec_dot_q4_0_q8_0(int64_t n, const void *row, const void *xq);

/* Plain-C reference versions of the kernels that have an AVX2 path (for tests;
 * identical results to the dispatching versions above and the table's). */
float eng_vec_dot_f32_ref(int64_t n, const void *row, const float *x);
float eng_vec_dot_f16_ref(int64_t n, const void *row, const float *x);
float eng_vec_dot_bf16_ref(int64_t n, const void *row, const float *x);
float eng_vec_dot_q8_0_ref(int64_t n, const void *row, const float *x);
float eng_vec_dot_q4_0_ref(int64_t n, const void *row, const float *x);
float eng_vec_dot_q8_0_q8_0_ref(int64_t n, const void *row, const void *xq);
float eng_vec_dot_q4_0_q8_0_ref(int64_t n, const void *row, const void *xq);

/* quants.c: the dots of the other types with their activation format. The
 * _ref versions are plain C; the others dispatch to AVX2 where compiled in
 * (bit-identical: the integers are exact and the float steps the same). */
float eng_vec_dot_q4_1_q8_1_ref(int64_t n, const void *row, const void *xq);
float eng_vec_dot_q5_0_q8_0_ref(int64_t n, const void *row, const void *xq);
float eng_vec_dot_q5_1_q8_1_ref(int64_t n, const void *row, const void *xq);
float eng_vec_dot_iq4_nl_q8_0_ref(int64_t n, const void *row, const void *xq);
float eng_vec_dot_q2_K_q8_K_ref(int64_t n, const void *row, const void *xq);
float eng_vec_dot_q3_K_q8_K_ref(int64_t n, const void *row, const void *xq);
float eng_vec_dot_q4_K_q8_K_ref(int64_t n, const void *row, const void *xq);
float eng_vec_dot_q5_K_q8_K_ref(int64_t n, const void *row, const void *xq);
float eng_vec_dot_q6_K_q8_K_ref(int64_t n, const void *row, const void *xq);
float eng_vec_dot_iq4_xs_q8_K_ref(int64_t n, const void *row, const void *xq);
float eng_vec_dot_q4_1_q8_1(int64_t n, const void *row, const void *xq);
float eng_vec_dot_q5_0_q8_0(int64_t n, const void *row, const void *xq);
float eng_vec_dot_q5_1_q8_1(int64_t n, const void *row, const void *xq);
float eng_vec_dot_iq4_nl_q8_0(int64_t n, const void *row, const void *xq);
float eng_vec_dot_q4_K_q8_K(int64_t n, const void *row, const void *xq);
float eng_vec_dot_q5_K_q8_K(int64_t n, const void *row, const void *xq);
float eng_vec_dot_q6_K_q8_K(int64_t n, const void *row, const void *xq);

/* The traits quants.c defines (types.c's table points at them). */
extern const struct eng_type_traits eng_traits_q4_1, eng_traits_q5_0, eng_traits_q5_1, eng_traits_iq4_nl,
	eng_traits_q2_K, eng_traits_q3_K, eng_traits_q4_K, eng_traits_q5_K, eng_traits_q6_K, eng_traits_iq4_xs,
	eng_traits_q8_1, eng_traits_q8_K;

#endif
