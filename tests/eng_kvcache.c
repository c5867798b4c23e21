/* eng_kvcache.c — the CPU cache's head-major layout (struct eng_kv; engine/cpu/kvcache.c,
 * attn_kt.c): what the stores and moves write, element by element.
 *
 * - eng_kt_put16 (16 rows transposed at once) writes the bytes of 16 eng_kt_put_row, for
 *   f16 and f32 elements and head sizes with tails (72) or under one vector (3);
 * - eng_kt_move moves rows as memmove moves them in a row layout, with the ranges
 *   overlapping either way, starting on and off a block of 16;
 * - eng_cpu_kv_store and eng_cpu_kv_store_pos on a pool of 2 threads (tokens that fill
 *   blocks whole, blocks filled in part, two sequences, a block filled out of order, a
 *   lone token)
 *   write every key where eng_kt_put_row puts it and every value row at its place, each
 *   element the token's (rounded to f16 for the f16 cache), and nothing else;
 * - eng_cpu_kv_move on that cache gives what the same stores at the moved rows give.
 * The attention's scores on this layout: tests/eng_kernels_f16.c.
 */
#include "tests/tap.h"
#define TEST_RNG_SEED 29
#include "tests/rng.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/cpu/ops_int.h"
#include "engine/eng_int.h"
#include "engine/types.h"

enum { N_PAD = 160, N_HEAD_KV = 2, MAX_HD = 72 };

/* put16 on whole blocks = put_row row by row. */
static void check_put16(int f16, int hd)
{
	const size_t elt = f16 ? 2 : 4, n = (size_t)N_PAD * (size_t)hd * elt;
	char *a = calloc(n, 1), *b = calloc(n, 1);
	float *x = malloc(N_PAD * (size_t)(hd + 5) * sizeof(float)); /* rows hd + 5 floats apart */
	for (size_t i = 0; i < N_PAD * (size_t)(hd + 5); i++)
		x[i] = rng_sym() * 3.0f;
	for (size_t r = 0; r < N_PAD; r++)
		eng_kt_put_row(a, hd, r, x + r * (size_t)(hd + 5), f16 != 0);
	for (size_t r = 0; r < N_PAD; r += 16)
		eng_kt_put16(b, hd, r, x + r * (size_t)(hd + 5), (size_t)hd + 5, f16 != 0);
	char name[120];
	snprintf(name, sizeof name, "%s keys, head size %d: eng_kt_put16 = 16 x eng_kt_put_row", f16 ? "f16" : "f32", hd);
	ok(memcmp(a, b, n) == 0, name);
	free(a);
	free(b);
	free(x);
}

/* A layout of rows[0 .. N_PAD) (hd floats each) by put_row into kt. */
static void layout(char *kt, int hd, const float *rows, int f16)
{
	for (size_t r = 0; r < N_PAD; r++)
		eng_kt_put_row(kt, hd, r, rows + r * (size_t)hd, f16 != 0);
}

static void check_move(int f16, int hd)
{
	static const size_t moves[][3] = { { 3, 20, 30 }, { 40, 33, 25 }, { 0, 48, 16 }, { 70, 5, 40 }, { 90, 91, 60 },
					   { 17, 17, 5 } };
	const size_t elt = f16 ? 2 : 4, n = (size_t)N_PAD * (size_t)hd * elt;
	char *kt = calloc(n, 1), *want = calloc(n, 1);
	float *rows = malloc(N_PAD * (size_t)hd * sizeof(float));
	for (size_t i = 0; i < N_PAD * (size_t)hd; i++)
		rows[i] = rng_sym();
	layout(kt, hd, rows, f16);
	int bad = 0;
	for (size_t m = 0; m < sizeof moves / sizeof moves[0]; m++) {
		const size_t from = moves[m][0], to = moves[m][1], cnt = moves[m][2];
		eng_kt_move(kt, hd, f16 != 0, from, to, cnt);
		memmove(rows + to * (size_t)hd, rows + from * (size_t)hd, cnt * (size_t)hd * sizeof(float));
		layout(want, hd, rows, f16);
		if (memcmp(kt, want, n) != 0 && bad++ == 0)
			diag("move %zu rows %zu -> %zu differs", cnt, from, to);
	}
	char name[120];
	snprintf(name, sizeof name, "%s keys, head size %d: eng_kt_move = memmove of rows (6 moves, %d differ)",
		 f16 ? "f16" : "f32", hd, bad);
	ok(bad == 0, name);
	free(kt);
	free(want);
	free(rows);
}

struct cache {
	struct eng_kv kv;
	void *k[1], *v[1];
};

static void cache_init(struct cache *c, int hd, int f16)
{
	const size_t n = (size_t)N_PAD * N_HEAD_KV * (size_t)hd * (f16 ? 2 : 4);
	c->k[0] = calloc(n, 1);
	c->v[0] = calloc(n, 1);
	c->kv = (struct eng_kv){ .k = c->k, .v = c->v, .n_layer = 1, .n_embd_kv = (uint32_t)(N_HEAD_KV * hd),
				 .n_ctx = N_PAD - 3, .n_pad = N_PAD, .head_dim = (uint32_t)hd };
}

/* The cache by hand: token t's k and v (n_embd_kv floats) at row[t]. */
static void cache_by_hand(struct cache *c, int hd, int f16, const float *k, const float *v, const size_t *row, int n)
{
	const size_t elt = f16 ? 2 : 4, hs = (size_t)N_PAD * (size_t)hd * elt;
	for (int t = 0; t < n; t++)
		for (size_t h = 0; h < N_HEAD_KV; h++) {
			const float *kr = k + (size_t)t * N_HEAD_KV * hd + h * (size_t)hd;
			const float *vr = v + (size_t)t * N_HEAD_KV * hd + h * (size_t)hd;
			eng_kt_put_row((char *)c->k[0] + h * hs, hd, row[t], kr, f16 != 0);
			for (int d = 0; d < hd; d++) {
				const size_t i = (h * N_PAD + row[t]) * (size_t)hd + (size_t)d;
				if (f16)
					((uint16_t *)c->v[0])[i] = eng_f32_to_f16(vr[d]);
				else
					((float *)c->v[0])[i] = vr[d];
			}
		}
}

static bool cache_same(const struct cache *a, const struct cache *b, int hd, int f16)
{
	const size_t n = (size_t)N_PAD * N_HEAD_KV * (size_t)hd * (f16 ? 2 : 4);
	return memcmp(a->k[0], b->k[0], n) == 0 && memcmp(a->v[0], b->v[0], n) == 0;
}

static void cache_free(struct cache *c)
{
	free(c->k[0]);
	free(c->v[0]);
}

/* 57 tokens: rows 16..47 of sequence 0 at base 0 (two whole blocks, in order), then
 * sequence 1 at base 77: positions 0..8 (rows 77..85, part of a block), then 16 tokens
 * that fill rows 96..111 (a block) with neighbours swapped, all through kv_store_pos;
 * and kv_store of 21 tokens at rows 120.., then of one token. */
static void check_store(struct eng_pool *pool, int f16, int hd)
{
	enum { N_TOK = 57 };
	uint32_t pos[N_TOK], base[N_TOK];
	size_t row[N_TOK + 22];
	for (int t = 0; t < 32; t++)
		pos[t] = (uint32_t)(16 + t), base[t] = 0;
	for (int t = 32; t < 41; t++)
		pos[t] = (uint32_t)(t - 32), base[t] = 77;
	for (int t = 41; t < N_TOK; t++)
		pos[t] = (uint32_t)(19 + ((t - 41) ^ 1)), base[t] = 77;
	for (int t = 0; t < N_TOK; t++)
		row[t] = base[t] + pos[t];
	for (int t = 0; t < 22; t++)
		row[N_TOK + t] = 120 + (size_t)t;
	const size_t dim = N_HEAD_KV * (size_t)hd;
	float *k = malloc((N_TOK + 22) * dim * sizeof(float)), *v = malloc((N_TOK + 22) * dim * sizeof(float));
	for (size_t i = 0; i < (N_TOK + 22) * dim; i++)
		k[i] = rng_sym(), v[i] = rng_sym();
	struct cache got, want;
	cache_init(&got, hd, f16);
	cache_init(&want, hd, f16);
	struct eng_exec ex = { .pool = pool, .kv_f16 = f16 != 0 };
	eng_cpu_kv_store_pos(&ex, &got.kv, 0, pos, base, N_TOK, k, v);
	eng_cpu_kv_store(&ex, &got.kv, 0, 120, 21, k + N_TOK * dim, v + N_TOK * dim);
	eng_cpu_kv_store(&ex, &got.kv, 0, 141, 1, k + (N_TOK + 21) * dim, v + (N_TOK + 21) * dim);
	cache_by_hand(&want, hd, f16, k, v, row, N_TOK + 22);
	char name[120];
	snprintf(name, sizeof name, "%s cache, head size %d: kv_store and kv_store_pos write every element in place",
		 f16 ? "f16" : "f32", hd);
	ok(cache_same(&got, &want, hd, f16), name);
	/* rows 16..40 to 50.. (overlapping, off the blocks): the same as stores at the moved rows */
	eng_cpu_kv_move(&ex, &got.kv, 16, 30, 25);
	for (int t = 0; t < 25; t++)
		row[t] = 30 + (size_t)t;
	cache_by_hand(&want, hd, f16, k, v, row, 25);
	snprintf(name, sizeof name, "%s cache, head size %d: kv_move = the rows stored at their new places",
		 f16 ? "f16" : "f32", hd);
	ok(cache_same(&got, &want, hd, f16), name);
	cache_free(&got);
	cache_free(&want);
	free(k);
	free(v);
}

int main(void)
{
	static const int head_dims[] = { 64, 72, 3 };
	struct mrl_err err = { 0 };
	struct eng_pool *pool = NULL;
	if (!ok(eng_pool_new(&pool, 2, false, &err) == 0, "a pool of 2 threads")) {
		diag("%s", err.msg);
		return done_testing();
	}
	for (size_t i = 0; i < sizeof head_dims / sizeof head_dims[0]; i++)
		for (int f16 = 0; f16 <= 1; f16++) {
			check_put16(f16, head_dims[i]);
			check_move(f16, head_dims[i]);
			check_store(pool, f16, head_dims[i]);
		}
	eng_pool_free(pool);
	return done_testing();
}
