/* rng.c — the seeded, splittable PRNG behind every random choice (common/rng.h):
 * bootstrap resampling and simulated tests, few-shot draws, sampled generation.
 *
 * xoshiro256** (Blackman & Vigna, 2018): 256-bit state, period 2^256 - 1, fast and
 * statistically strong in all bits. Seeding runs splitmix64 from the 64-bit seed
 * to fill the state, as the authors recommend (it can never produce the all-zero
 * state from a nonzero run, and nearby seeds give unrelated states). The state is
 * an explicit caller-owned struct: no globals, so two runs in one process never
 * share a stream. Streams can be split (mrl_rng_split), jumped 2^128 ahead
 * (mrl_rng_jump) or derived by number (mrl_rng_seed_stream).
 */
#include "common/rng.h"

static uint64_t splitmix64_next(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

void mrl_rng_seed(struct mrl_rng *rng, uint64_t seed)
{
	uint64_t x = seed;
	for (int i = 0; i < 4; i++)
		rng->s[i] = splitmix64_next(&x);
}

void mrl_rng_seed_stream(struct mrl_rng *rng, uint64_t seed, uint64_t stream)
{
	uint64_t x = stream + 1;
	mrl_rng_seed(rng, seed ^ splitmix64_next(&x));
}

void mrl_rng_split(struct mrl_rng *parent, struct mrl_rng *child)
{
	mrl_rng_seed(child, mrl_rng_next(parent));
}

void mrl_rng_jump(struct mrl_rng *rng)
{
	static const uint64_t jump[4] = {0x180ec6d33cfd0abaULL, 0xd5a61266f0c9392cULL,
					 0xa9582618e03fc9aaULL, 0x39abdc4529b1661cULL};
	uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
	for (int i = 0; i < 4; i++)
		for (int b = 0; b < 64; b++) {
			if (jump[i] & (1ULL << b)) {
				s0 ^= rng->s[0];
				s1 ^= rng->s[1];
				s2 ^= rng->s[2];
				s3 ^= rng->s[3];
			}
			mrl_rng_next(rng);
		}
	rng->s[0] = s0;
	rng->s[1] = s1;
	rng->s[2] = s2;
	rng->s[3] = s3;
}

double mrl_rng_uniform(struct mrl_rng *rng)
{
	return (double)(mrl_rng_next(rng) >> 11) * 0x1.0p-53;
}
