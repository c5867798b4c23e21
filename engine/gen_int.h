/* gen_int.h — generate.c's text machinery, exposed inside engine/ for tests.
 *
 * eng_generate turns generated ids into text incrementally and matches stop
 * strings on it (engine/generate.c). These entry points run exactly that code
 * over ids a caller chooses, so tests can check stop strings across token
 * boundaries, UTF-8 characters split over byte tokens and the cut of an
 * incomplete character without having to make a model generate them.
 */
#ifndef MRL_ENG_GEN_INT_H
#define MRL_ENG_GEN_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "engine/eng.h"

/* Feed ids one by one as eng_generate does for one request and stop where it would
 * on a stop string: *text_out (malloc'd, NUL-terminated, the caller frees it) is
 * the result text, *n_used how many ids were taken (up to the one that completed
 * the stop string, else n), *stop_index the stop string matched or -1. */
int eng_gen_text_of(const struct eng_model *m, const int32_t *ids, size_t n, const char *const *stop, size_t n_stop,
		    char **text_out, size_t *len_out, size_t *n_used, int *stop_index, struct mrl_err *err);

/* eng_generate with one context per slot, as on a backend without multi-sequence
 * contexts, so that the tests can hold that path to the same results. */
int eng_generate_per_seq(struct eng_model *m, const struct eng_gen_req *reqs, size_t n, const struct eng_gen_opts *o,
			 struct eng_gen_res *res, struct eng_gen_stats *stats, struct mrl_err *err);

#endif
