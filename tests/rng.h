/* rng.h — the tests' seeded random numbers: splitmix64 over one state per test file,
 * so a test draws the same numbers on every machine. A file defines TEST_RNG_SEED
 * (its seed) before including this header; the kernel, quantization and repack tests
 * share it (they each had a copy).
 */
#ifndef MRL_TESTS_RNG_H
#define MRL_TESTS_RNG_H

#include <math.h>
#include <stdint.h>

#ifndef TEST_RNG_SEED
#error "tests/rng.h: define TEST_RNG_SEED (the file's seed) before including it"
#endif

static uint64_t rng_state = TEST_RNG_SEED;

static inline uint64_t rng_next(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Uniform in [-1, 1). */
static inline float rng_sym(void)
{
	return (float)((double)(rng_next() >> 11) / 9007199254740992.0 * 2.0 - 1.0);
}

/* Uniform in (0, 1). */
static inline double rng_unit(void)
{
	return ((double)(rng_next() >> 11) + 0.5) / 9007199254740992.0;
}

/* N(0, 1) by Box-Muller (u1 drawn before u2). */
static inline float rng_normal(void)
{
	const double u1 = rng_unit(), u2 = rng_unit();
	return (float)(sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
}

#endif
