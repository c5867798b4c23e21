/* kernel-bench.c — single-thread speed of the CPU matmul kernels (figures, not a test).
 *
 * Build against a build folder's libraries and run:
 *   cc -std=c17 -O2 -march=native -D_GNU_SOURCE -I. -o kb ci/kernel-bench.c \
 *      $BUILD/libengine.a $BUILD/libcommon.a -lm -lpthread -ldl
 *   ./kb [TOKENS [REPS [single]]]   (default 1 token, 300 repetitions)
 * With KB_NO_VNNI set in the environment, an AVX512-VNNI CPU runs the AVX2 tiles.
 * For F16, Q8_0, Q4_0, Q5_0, IQ4_NL, Q4_1, Q5_1, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K and IQ4_XS
 * weights of one 2048 x 768 matrix (the
 * 110M models' FFN shape; 0.9 to 3 MB, so it sits in the last-level cache: this
 * measures the kernels, not DRAM) it times the multi-row kernel that ops.c uses
 * (eng_mdot_f16_xh / eng_mdot_q8_for_type, or eng_mdot_q8_tabled with the tokens' lane tables
 * where ops.c makes them; with "single", the type table's single-row
 * kernel pair by pair, as ops.c runs a type without one) on TOKENS activation rows and prints the
 * fastest of REPS calls: on a shared machine the minimum is the least disturbed
 * run. Weights are random values through the type's quantizer, or random bytes
 * with finite random scales (d, and dmin or m where the type has one) for the types
 * without a weight quantizer.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/cpu/kernels.h"
#include "engine/types.h"

#define N_IN 768
#define N_ROWS 2048

static double now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static float frand(void)
{
	return (float)rand() / (float)RAND_MAX * 2.0f - 1.0f;
}

/* N_ROWS rows of the type, row_bytes each */
static uint8_t *make_weights(uint32_t type, size_t row_bytes)
{
	const struct eng_type_traits *tt = eng_type_get(type);
	uint8_t *w = malloc(row_bytes * N_ROWS);
	float tmp[N_IN];
	if (type == ENG_TYPE_F16 || tt->from_f32) {
		for (int r = 0; r < N_ROWS; r++) {
			for (int i = 0; i < N_IN; i++)
				tmp[i] = frand();
			if (type == ENG_TYPE_F16)
				for (int i = 0; i < N_IN; i++)
					((uint16_t *)(w + (size_t)r * row_bytes))[i] = eng_f32_to_f16(tmp[i]);
			else
				tt->from_f32(tmp, w + (size_t)r * row_bytes, N_IN);
		}
		return w;
	}
	for (size_t i = 0; i < row_bytes * N_ROWS; i++)
		w[i] = (uint8_t)rand();
	/* d (and dmin / m) of every block: at byte 0, or after the quants (Q2_K 80, Q3_K 108, Q6_K 208) */
	const size_t off = type == ENG_TYPE_Q6_K ? 208 : type == ENG_TYPE_Q2_K ? 80 : type == ENG_TYPE_Q3_K ? 108 : 0;
	const int n_scales = type == ENG_TYPE_Q4_K || type == ENG_TYPE_Q5_K || type == ENG_TYPE_Q2_K ||
					     type == ENG_TYPE_Q4_1 || type == ENG_TYPE_Q5_1
				     ? 2
				     : 1;
	for (size_t b = 0; b < row_bytes * N_ROWS / tt->block_bytes; b++)
		for (int k = 0; k < n_scales; k++) {
			uint16_t h = eng_f32_to_f16(frand() * 0.01f);
			memcpy(w + b * tt->block_bytes + off + 2 * (size_t)k, &h, 2);
		}
	return w;
}

int main(int argc, char **argv)
{
	const int n_tok = argc > 1 ? atoi(argv[1]) : 1, reps = argc > 2 ? atoi(argv[2]) : 300;
	const int single = argc > 3 && !strcmp(argv[3], "single");
	if (getenv("KB_NO_VNNI")) /* the AVX2 tiles on a VNNI CPU */
		eng_cpu_vnni_disable(1);
	if (n_tok < 1 || reps < 1 || (argc > 3 && !single)) {
		fprintf(stderr, "usage: kernel-bench [TOKENS >= 1 [REPS >= 1 [single]]]\n");
		return 2;
	}
	static const uint32_t types[] = { ENG_TYPE_F16,  ENG_TYPE_Q8_0, ENG_TYPE_Q4_0, ENG_TYPE_Q5_0,
					  ENG_TYPE_IQ4_NL, ENG_TYPE_Q4_1, ENG_TYPE_Q5_1, ENG_TYPE_Q2_K,
					  ENG_TYPE_Q3_K, ENG_TYPE_Q4_K, ENG_TYPE_Q5_K, ENG_TYPE_Q6_K, ENG_TYPE_IQ4_XS };
	float *xf = malloc(sizeof(float) * N_IN * (size_t)n_tok);
	float *out = malloc(sizeof(float) * N_ROWS * (size_t)n_tok);
	/* f16 values, as ops.c hands F16 weights their activations (so eng_mdot_f16_xh, what
	 * it calls for them); the other types quantize them */
	for (int i = 0; i < N_IN * n_tok; i++)
		xf[i] = eng_f16_to_f32(eng_f32_to_f16(frand()));
	printf("%s kernels\n\n", single ? "single-row (pair by pair)" : "multi-row (as ops.c picks them)");
	printf("| weights | tokens | best us | weight GB/s | G multiply-adds/s |\n|---|---:|---:|---:|---:|\n");
	for (size_t k = 0; k < sizeof types / sizeof types[0]; k++) {
		const uint32_t type = types[k];
		const struct eng_type_traits *tt = eng_type_get(type);
		uint64_t rb = 0, ab = N_IN * sizeof(float);
		eng_row_size(type, N_IN, &rb);
		uint8_t *w = make_weights(type, (size_t)rb);
		const void *x = xf;
		void *xq = NULL;
		if (tt->vec_dot_q8) {
			eng_row_size(tt->vec_dot_type, N_IN, &ab);
			xq = malloc((size_t)ab * (size_t)n_tok);
			for (int t = 0; t < n_tok; t++)
				eng_type_get(tt->vec_dot_type)->act_from_f32(xf + (size_t)t * N_IN, (char *)xq + (size_t)t * ab, N_IN);
			x = xq;
		}
		const eng_mdot_fn mdot = type == ENG_TYPE_F16 ? NULL : eng_mdot_q8_for_type(type);
		/* the tokens' lane tables where ops.c makes them (made once, untimed, as there) */
		const size_t tb = mdot ? eng_q8_tables_bytes(type, N_IN, n_tok) : 0;
		void *tables = tb ? malloc(tb) : NULL;
		if (tables)
			eng_q8_tables_fill(type, N_IN, x, (size_t)ab, 0, n_tok, tables);
		double best = 1e300;
		for (int r = 0; r < reps; r++) {
			const double t0 = now_ns();
			if (mdot && single)
				for (int row = 0; row < N_ROWS; row++)
					for (int t = 0; t < n_tok; t++)
						out[(size_t)t * N_ROWS + (size_t)row] =
							tt->vec_dot_q8(N_IN, w + (size_t)row * rb, (const char *)x + (size_t)t * ab);
			else if (tables)
				eng_mdot_q8_tabled(type, N_IN, w, (size_t)rb, N_ROWS, x, (size_t)ab, tables, n_tok, out, N_ROWS);
			else if (mdot)
				mdot(N_IN, w, (size_t)rb, N_ROWS, x, (size_t)ab, n_tok, out, N_ROWS);
			else if (single) /* F16: the table's vec_dot */
				for (int row = 0; row < N_ROWS; row++)
					for (int t = 0; t < n_tok; t++)
						out[(size_t)t * N_ROWS + (size_t)row] =
							tt->vec_dot(N_IN, w + (size_t)row * rb, xf + (size_t)t * N_IN);
			else
				eng_mdot_f16_xh(N_IN, w, (size_t)rb, N_ROWS, xf, (size_t)ab, n_tok, out, N_ROWS);
			const double d = now_ns() - t0;
			best = d < best ? d : best;
		}
		printf("| %s | %d | %.1f | %.2f | %.2f |\n", tt->name, n_tok, best / 1e3, (double)rb * N_ROWS / best,
		       (double)N_IN * N_ROWS * n_tok / best);
		free(w);
		free(xq);
		free(tables);
	}
	free(xf);
	free(out);
	return 0;
}
