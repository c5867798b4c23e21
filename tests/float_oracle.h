/* float_oracle.h — reading the reference figures the engine tests compare with
 * (fixtures' logits and token ids written by transformers or llama.cpp as
 * whitespace-separated decimals), the argmax of a row and the largest difference of two. Shared by
 * eng_conformance.c, eng_conformance_real.c, eng_cuda.c, eng_hf.c and eng_derived.c. Header-only (static inline
 * functions).
 */
#ifndef MERILO_TESTS_FLOAT_ORACLE_H
#define MERILO_TESTS_FLOAT_ORACLE_H

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* Every number in the text file at path (malloc'd, *n of them), or NULL (*n 0)
 * where it cannot be opened or memory runs out: as floats (logits) or as token
 * ids (int32, read as integers so ids above 2^24 stay exact). */
static inline void *read_numbers(const char *path, size_t *n, bool ids)
{
	FILE *f = fopen(path, "r");
	*n = 0;
	if (!f)
		return NULL;
	size_t cap = 1024, len = 0, elt = ids ? sizeof(int32_t) : sizeof(float);
	char *v = malloc(cap * elt);
	double x;
	long id;
	while (v && (ids ? fscanf(f, "%ld", &id) : fscanf(f, "%lf", &x)) == 1) {
		if (len == cap) {
			char *nv = realloc(v, (cap *= 2) * elt);
			if (!nv) {
				free(v);
				v = NULL;
				break;
			}
			v = nv;
		}
		if (ids)
			((int32_t *)(void *)v)[len++] = (int32_t)id;
		else
			((float *)(void *)v)[len++] = (float)x;
	}
	fclose(f);
	*n = v ? len : 0;
	return v;
}

static inline float *read_floats(const char *path, size_t *n)
{
	return read_numbers(path, n, false);
}

static inline int32_t *read_id_file(const char *path, size_t *n)
{
	return read_numbers(path, n, true);
}

/* The largest |a[i] - b[i]| over [0, n), in double; a NaN difference is kept (NaN is never
 * within a tolerance). */
static inline double float_max_diff(const float *a, const float *b, size_t n)
{
	double m = 0;
	for (size_t i = 0; i < n; i++) {
		double d = fabs((double)a[i] - (double)b[i]);
		if (!(d <= m))
			m = d;
	}
	return m;
}

/* The index of the largest of v[0..n) (the first of equals); 0 when n is 0. */
static inline int argmax(const float *v, size_t n)
{
	size_t best = 0;
	for (size_t i = 1; i < n; i++)
		if (v[i] > v[best])
			best = i;
	return (int)best;
}

#endif
