/* kernels_pairs.c — kernels.h's eng_mdot_q8_pairs: the type table's single-row
 * vec_dot_q8, pair by pair, the one fallback of the tiles in kernels.c,
 * kernels_q32.c and quants_tile.c (a file of its own so that none of them calls
 * another: kernels.c's eng_mdot_q8_for_type already names theirs). */
#include "engine/cpu/kernels.h"

#include "engine/types.h"

void eng_mdot_q8_pairs(uint32_t type, int64_t n, const void *w, size_t w_stride, int n_rows, const void *xq,
		       size_t x_stride, int n_tok, float *out, size_t out_stride)
{
	const eng_vec_dot_q8_fn dot = eng_type_get(type)->vec_dot_q8;
	for (int r = 0; r < n_rows; r++)
		for (int t = 0; t < n_tok; t++)
			out[(size_t)t * out_stride + (size_t)r] =
				dot(n, (const char *)w + (size_t)r * w_stride, (const char *)xq + (size_t)t * x_stride);
}
