/* float_oracle.h — reading the reference figures the engine tests compare with
 * (fixtures' logits written by transformers or llama.cpp as whitespace-separated
 * decimals) and the argmax of a row. Shared by eng_conformance.c, eng_conformance_real.c,
 * eng_cuda.c and eng_hf.c. Header-only (static inline functions).
 */
#ifndef MERILO_TESTS_FLOAT_ORACLE_H
#define MERILO_TESTS_FLOAT_ORACLE_H

#include <stdio.h>
#include <stdlib.h>

/* Every number in the text file at path, as floats (malloc'd, *n of them), or
 * NULL (*n 0) where it cannot be opened or memory runs out. */
static inline float *read_floats(const char *path, size_t *n)
{
	FILE *f = fopen(path, "r");
	*n = 0;
	if (!f)
		return NULL;
	size_t cap = 1024, len = 0;
	float *v = malloc(cap * sizeof *v);
	double x;
	while (v && fscanf(f, "%lf", &x) == 1) {
		if (len == cap) {
			float *nv = realloc(v, (cap *= 2) * sizeof *v);
			if (!nv) {
				free(v);
				v = NULL;
				break;
			}
			v = nv;
		}
		v[len++] = (float)x;
	}
	fclose(f);
	*n = v ? len : 0;
	return v;
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
