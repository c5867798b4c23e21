/* rng.h — the seeded, splittable PRNG behind every random choice in merilo:
 * bootstrap resampling and simulated tests (metrics/), few-shot draws (tasks/,
 * harness/) and sampled generation (engine/generate.c). xoshiro256** seeded by
 * splitmix64 (common/rng.c); no global state.
 */
#ifndef MRL_RNG_H
#define MRL_RNG_H

#include <stdint.h>


/* Generator state; a plain value owned by the caller. Copying it forks the
 * stream (both copies then yield the same numbers). */
struct mrl_rng {
	uint64_t s[4];
};

/* Seed from a 64-bit seed: the four state words are the first four outputs of
 * splitmix64 started at `seed` (Vigna's recommended seeding; never all-zero). */
void mrl_rng_seed(struct mrl_rng *rng, uint64_t seed);

/* Seed stream number `stream` of `seed`: a generator for, e.g., item `stream` of a
 * run, reproducible whatever order the items are processed in. Equivalent to
 * mrl_rng_seed(rng, seed ^ splitmix64_mix(stream + 1)); different streams of one seed
 * are statistically independent for all practical purposes. */
void mrl_rng_seed_stream(struct mrl_rng *rng, uint64_t seed, uint64_t stream);

/* Split: draw one word from parent (advancing it) and seed child from it. */
void mrl_rng_split(struct mrl_rng *parent, struct mrl_rng *child);

/* Advance by 2^128 steps (Vigna's jump): gives non-overlapping sub-streams. */
void mrl_rng_jump(struct mrl_rng *rng);

/* Next 64 random bits. Inline, as mrl_rng_below: the bootstrap draws billions of
 * them, and out of line each call stores and reloads the state (3x slower). */
static inline uint64_t mrl_rng_next(struct mrl_rng *rng)
{
	uint64_t *s = rng->s;
	uint64_t result = s[1] * 5;
	result = ((result << 7) | (result >> 57)) * 9;
	uint64_t t = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = (s[3] << 45) | (s[3] >> 19);
	return result;
}

/* Uniform double in [0, 1) with 53 random bits. */
double mrl_rng_uniform(struct mrl_rng *rng);

/* Uniform integer in [0, bound), unbiased (Lemire's multiply-and-reject);
 * returns 0 when bound is 0. */
static inline uint64_t mrl_rng_below(struct mrl_rng *rng, uint64_t bound)
{
	if (bound == 0)
		return 0;
	/* Lemire (2019): the high word of x * bound is uniform on [0, bound) once the
	 * few low words below (2^64 mod bound) are rejected. */
	unsigned __int128 m = (unsigned __int128)mrl_rng_next(rng) * bound;
	uint64_t low = (uint64_t)m;
	if (low < bound) {
		uint64_t threshold = -bound % bound;
		while (low < threshold) {
			m = (unsigned __int128)mrl_rng_next(rng) * bound;
			low = (uint64_t)m;
		}
	}
	return (uint64_t)(m >> 64);
}

#endif
