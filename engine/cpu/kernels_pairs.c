/* kernels_pairs.c — kernels.h's eng_mdot_q8_pairs: the type table's single-row
 * vec_dot_q8, pair by pair, the one fallback of the tiles in kernels.c,
 * kernels_q32.c and quants_tile.c (a file of its own so that none of them calls
 * another: kernels.c's eng_mdot_q8_for_type already names theirs).
 *
 * One token (decode of the K-quants and IQ4_XS) visits the rows as the decode tiles
 * do (kernels.h: eng_dec_run), row k of each run in turn, the next row of each run
 * prefetched while this one is read. Each row's dot is the same call either way: the
 * same bits. */
#include "engine/cpu/kernels.h"

#include "engine/types.h"

#if defined(__GNUC__)
#define PAIRS_PREFETCH(p) __builtin_prefetch((p), 0, 3)
#else
#define PAIRS_PREFETCH(p) ((void)(p))
#endif

/* the most bytes of a run's next row prefetched */
#define PAIRS_AHEAD 2048

static void prefetch_row(const char *row, size_t bytes)
{
	for (size_t o = 0; o < bytes && o < PAIRS_AHEAD; o += 64)
		PAIRS_PREFETCH(row + o);
}

void eng_mdot_q8_pairs(uint32_t type, int64_t n, const void *w, size_t w_stride, int n_rows, const void *xq,
		       size_t x_stride, int n_tok, float *out, size_t out_stride)
{
	const eng_vec_dot_q8_fn dot = eng_type_get(type)->vec_dot_q8;
	const int run = n_tok == 1 ? eng_dec_run(n_rows) : 0;
	for (int k = 0; k < run; k++)
		for (int s = 0; s < ENG_DEC_STREAMS; s++) {
			const int r = s * run + k;
			const char *row = (const char *)w + (size_t)r * w_stride;
			if (k + 1 < run)
				prefetch_row(row + w_stride, w_stride);
			out[r] = dot(n, row, xq);
		}
	for (int r = run * ENG_DEC_STREAMS; r < n_rows; r++)
		for (int t = 0; t < n_tok; t++)
			out[(size_t)t * out_stride + (size_t)r] =
				dot(n, (const char *)w + (size_t)r * w_stride, (const char *)xq + (size_t)t * x_stride);
}
