/* eng_quants.c — llama.cpp's other weight types and activation formats (engine/quants.c).
 *
 * Dequantization against the python gguf package's reference dequantizers
 * (tests/data/quant-vectors.txt, made by tests/data/gen-quant-vectors.py);
 * the activation quantizers against the formulas llama.cpp runs on x86 (127 / amax,
 * round half to even; Q8_K's -127 / max); every dot with its activation format
 * against dequantize + a double-precision dot; the AVX2 kernels against the
 * plain-C references, bit for bit, on random blocks.
 */
#include "engine/cpu/kernels.h"
#include "engine/types.h"
#include "tests/tap.h"
#define TEST_RNG_SEED 7
#include "tests/rng.h"

#include <stdint.h>
#include <stdio.h>

static uint32_t fbits(float f)
{
	uint32_t u;
	memcpy(&u, &f, 4);
	return u;
}

/* f16 scale field offsets per type (as gen-quant-vectors.py) */
struct qtype {
	uint32_t id;
	int offs[2], n_offs, min_off; /* min_off: offset of a Q4_1/Q5_1 min, else -1 */
};
static const struct qtype qtypes[] = {
	{ ENG_TYPE_Q4_1, { 0, 2 }, 2, 2 },   { ENG_TYPE_Q5_0, { 0 }, 1, -1 },     { ENG_TYPE_Q5_1, { 0, 2 }, 2, 2 },
	{ ENG_TYPE_IQ4_NL, { 0 }, 1, -1 },   { ENG_TYPE_Q2_K, { 80, 82 }, 2, -1 }, { ENG_TYPE_Q3_K, { 108 }, 1, -1 },
	{ ENG_TYPE_Q4_K, { 0, 2 }, 2, -1 },  { ENG_TYPE_Q5_K, { 0, 2 }, 2, -1 },   { ENG_TYPE_Q6_K, { 208 }, 1, -1 },
	{ ENG_TYPE_IQ4_XS, { 0 }, 1, -1 },
};
#define N_QTYPES (sizeof qtypes / sizeof qtypes[0])

static void check_table(void)
{
	static const struct { uint32_t id; const char *name; uint32_t act; } want[] = {
		{ ENG_TYPE_Q4_1, "q4_1", ENG_TYPE_Q8_1 },   { ENG_TYPE_Q5_0, "q5_0", ENG_TYPE_Q8_0 },
		{ ENG_TYPE_Q5_1, "q5_1", ENG_TYPE_Q8_1 },   { ENG_TYPE_IQ4_NL, "iq4_nl", ENG_TYPE_Q8_0 },
		{ ENG_TYPE_Q2_K, "q2_K", ENG_TYPE_Q8_K },   { ENG_TYPE_Q3_K, "q3_K", ENG_TYPE_Q8_K },
		{ ENG_TYPE_Q4_K, "q4_K", ENG_TYPE_Q8_K },   { ENG_TYPE_Q5_K, "q5_K", ENG_TYPE_Q8_K },
		{ ENG_TYPE_Q6_K, "q6_K", ENG_TYPE_Q8_K },   { ENG_TYPE_IQ4_XS, "iq4_xs", ENG_TYPE_Q8_K },
		{ ENG_TYPE_Q4_0, "q4_0", ENG_TYPE_Q8_0 },   { ENG_TYPE_Q8_0, "q8_0", ENG_TYPE_Q8_0 },
	};
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
		const struct eng_type_traits *t = eng_type_get(want[i].id);
		char name[120];
		snprintf(name, sizeof name, "%s: supported, dots with %s as llama.cpp pairs it", want[i].name,
			 eng_type_name(want[i].act));
		ok(t && !strcmp(t->name, want[i].name) && t->supported && t->to_f32 && t->vec_dot && t->vec_dot_q8 &&
			   t->vec_dot_type == want[i].act && eng_type_get(t->vec_dot_type)->act_from_f32,
		   name);
	}
	ok(!eng_type_supported(ENG_TYPE_Q8_K) && !eng_type_supported(ENG_TYPE_Q8_1) && !eng_type_supported(39) &&
		   !eng_type_supported(16),
	   "q8_K, q8_1 (activation formats), mxfp4 and iq2_xxs are not weight types merilo computes with");
}

/* ---- dequantization vs gguf ---- */

static int hexval(int c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static void check_vectors(void)
{
	FILE *f = fopen("tests/data/quant-vectors.txt", "r");
	if (!f) {
		ok(0, "tests/data/quant-vectors.txt opens (run from the repository root)");
		return;
	}
	static char line[1 << 17];
	int seen = 0;
	while (fgets(line, sizeof line, f)) {
		if (line[0] == '#')
			continue;
		char tname[32];
		unsigned id, nb;
		if (sscanf(line, "%31s %u %u", tname, &id, &nb) != 3)
			break;
		const struct eng_type_traits *t = eng_type_get(id);
		static uint8_t blocks[8192];
		static float want[8192], got[8192];
		size_t nbytes = 0, nf = 0;
		if (!fgets(line, sizeof line, f))
			break;
		for (char *p = line; hexval(p[0]) >= 0 && hexval(p[1]) >= 0 && nbytes < sizeof blocks; p += 2)
			blocks[nbytes++] = (uint8_t)(hexval(p[0]) << 4 | hexval(p[1]));
		if (!fgets(line, sizeof line, f))
			break;
		char *p = line;
		unsigned u;
		int adv;
		while (nf < 8192 && sscanf(p, "%8x%n", &u, &adv) == 1) {
			memcpy(&want[nf++], &u, 4);
			p += adv;
		}
		char name[160];
		snprintf(name, sizeof name, "%s: %u blocks from the gguf vectors have the expected sizes", tname, nb);
		ok(t && nbytes == (size_t)nb * t->block_bytes && nf == (size_t)nb * t->block_size, name);
		if (!t || nbytes != (size_t)nb * t->block_bytes || nf != (size_t)nb * t->block_size)
			continue;
		t->to_f32(blocks, got, (int64_t)nf);
		int exact = 0, bad = 0;
		double worst = 0;
		for (size_t i = 0; i < nf; i++) {
			if (fbits(got[i]) == fbits(want[i]))
				exact++;
			double e = fabs((double)got[i] - want[i]);
			if (e > worst)
				worst = e;
			if (e > 1e-6 * fabs(want[i]) + 1e-12)
				bad++;
		}
		diag("%s: %d of %zu values bit-identical to gguf's, worst abs diff %.3g", tname, exact, nf, worst);
		snprintf(name, sizeof name, "%s: dequantization equals gguf's reference (within 1e-6 relative)", tname);
		is_int(bad, 0, name);
		seen++;
	}
	fclose(f);
	is_int(seen, (int)N_QTYPES, "every type of the vector file was checked");
}

/* ---- activation quantizers ---- */

/* The Q8_0 / Q8_1 / Q8_K activation quantizers (AVX2 where built so) against their plain-C
 * forms, byte for byte: random rows of many magnitudes, and blocks of zeros, -0,
 * NaN, +-inf, subnormals, exact halves after scaling and the float extremes. */
static void check_act_quant_simd(void)
{
	enum { N = 32 * 64 };
	static float x[N];
	static struct eng_block_q8_0 a0[N / 32], b0[N / 32];
	static struct eng_block_q8_1 a1[N / 32], b1[N / 32];
	static struct eng_block_q8_K ak[N / 256], bk[N / 256];
	static const float special[] = { 0.0f, -0.0f, NAN, -NAN, INFINITY, -INFINITY, 1e-45f, -1e-40f, 3.4e38f,
					 -3.4e38f, 0.5f, -0.5f, 127.0f, 1.5f, 65504.0f, 1e-8f };
	int bad = 0, kbad = 0;
	uint64_t r = 0x9e3779b97f4a7c15u;
	for (int rep = 0; rep < 200; rep++) {
		for (int i = 0; i < N; i++) {
			r = r * 6364136223846793005u + 1442695040888963407u;
			const float u = (float)(r >> 40) / (float)(1u << 24) * 2.0f - 1.0f;
			const int blk = i / 32, scale = (int)((r >> 20) % 16);
			x[i] = u * ldexpf(1.0f, scale * 4 - 30);
			if (blk % 8 == rep % 8 && (r >> 33) % 4 == 0)
				x[i] = special[(r >> 35) % (sizeof special / sizeof special[0])];
			if (blk == 5)
				x[i] = 0.0f; /* amax 0: id 0 */
			if (blk == 6)
				x[i] = (float)((i % 32) - 16) * 0.5f; /* x * id lands on halves */
		}
		eng_quantize_row_q8_0(x, a0, N);
		eng_quantize_row_q8_0_scalar(x, b0, N);
		eng_quantize_row_q8_1(x, a1, N);
		eng_quantize_row_q8_1_scalar(x, b1, N);
		bad += memcmp(a0, b0, sizeof a0) != 0;
		bad += memcmp(a1, b1, sizeof a1) != 0;
		if (rep % 4 == 1) { /* the largest magnitude twice, with both signs: the first one's sign */
			x[299] = 1e6f;
			x[300] = -1e6f;
		}
		if (rep % 4 == 2) {
			x[300] = -1e6f;
			x[310] = 1e6f;
		}
		eng_quantize_row_q8_K(x, ak, N);
		eng_quantize_row_q8_K_scalar(x, bk, N);
		kbad += memcmp(ak, bk, sizeof ak) != 0;
	}
	is_int(bad, 0, "q8_0 / q8_1 activations: the quantizer in use equals the plain-C one on 200 x 64 blocks with "
		       "NaN, inf, -0, subnormals, halves");
	is_int(kbad, 0, "q8_K activations: the quantizer in use equals the plain-C one on 200 x 8 super-blocks (the "
			"same values, and ties of the largest magnitude)");
}

static void check_act_quant(void)
{
	float x[256] = { 0 };
	x[0] = 127.0f; /* id = 127 / 127 = 1: the others are their own scaled values */
	x[1] = 2.5f;
	x[2] = -3.5f;
	x[3] = 0.5f;
	x[4] = -0.5f;
	x[5] = 1.5f;
	struct eng_block_q8_0 b;
	eng_quantize_row_q8_0(x, &b, 32);
	ok(b.qs[0] == 127 && b.qs[1] == 2 && b.qs[2] == -4 && b.qs[3] == 0 && b.qs[4] == 0 && b.qs[5] == 2,
	   "q8_0 activation: ties round half to even (x86's _mm256_round_ps), not away from zero");
	ok(b.d == eng_f32_to_f16(1.0f), "q8_0 activation: d = amax / 127");
	eng_quantize_row_q8_0_ref(x, &b, 32);
	ok(b.qs[1] == 3 && b.qs[2] == -4 && b.qs[3] == 1, "q8_0 weight quantizer (ggml's _ref) rounds half away from zero");

	/* 127 / amax versus 1 / (amax / 127): differ in the last bit for some amax, and then
	 * some quant; find such a block and check the activation path follows 127 / amax */
	int found = 0;
	for (int k = 1; k < 2000 && !found; k++) {
		float amax = 0.37f + 0.0013f * (float)k;
		float id_x86 = 127.0f / amax, id_ref = 1.0f / (amax / 127.0f);
		if (id_x86 == id_ref)
			continue;
		for (int j = 1; j < 32 && !found; j++) {
			for (int s = 0; s < 4000; s++) {
				float v = amax * (float)s / 4000.0f;
				if (nearbyintf(v * id_x86) != nearbyintf(v * id_ref)) {
					memset(x, 0, sizeof x);
					x[0] = amax;
					x[j] = v;
					eng_quantize_row_q8_0(x, &b, 32);
					ok(b.qs[j] == (int8_t)nearbyintf(v * id_x86),
					   "q8_0 activation: q = round(x * (127 / amax)), where 1 / (amax / 127) differs");
					found = 1;
					break;
				}
			}
		}
	}
	ok(found, "a block where the two scale formulas give different quants exists");

	for (int i = 0; i < 32; i++)
		x[i] = (float)(i - 10) * 0.25f;
	struct eng_block_q8_1 b1;
	eng_quantize_row_q8_1(x, &b1, 32);
	eng_quantize_row_q8_0(x, &b, 32);
	int sum = 0, same = b.d == b1.d;
	for (int i = 0; i < 32; i++) {
		sum += b1.qs[i];
		same = same && b.qs[i] == b1.qs[i];
	}
	ok(same, "q8_1 activation: d and quants as q8_0's");
	ok(b1.s == eng_f32_to_f16(5.25f / 127.0f * (float)sum), "q8_1 activation: s = f16(d * sum of quants), d unrounded");

	for (int i = 0; i < 256; i++)
		x[i] = (float)((i * 37) % 101 - 50) * 0.01f;
	x[77] = -2.0f; /* the largest magnitude is negative */
	struct eng_block_q8_K bk;
	eng_quantize_row_q8_K(x, &bk, 256);
	ok(bk.qs[77] == -127 && bk.d == 1.0f / (-127.0f / -2.0f), "q8_K: iscale = -127 / max, d = 1 / iscale");
	int bs_ok = 1;
	for (int g = 0; g < 16; g++) {
		int s = 0;
		for (int k = 0; k < 16; k++)
			s += bk.qs[16 * g + k];
		bs_ok = bs_ok && bk.bsums[g] == s;
	}
	ok(bs_ok, "q8_K: bsums are the sums of each 16 quants");
	float zero[256] = { 0 };
	memset(&bk, 0x55, sizeof bk);
	eng_quantize_row_q8_K(zero, &bk, 256);
	ok(bk.d == 0.0f && bk.qs[0] == 0 && bk.qs[255] == 0 && bk.bsums[15] == 0, "q8_K: a zero block is all zero");
}

/* ---- dots ---- */

/* n / block_size random blocks of type t: random bytes with small finite f16 scales */
static void random_blocks(const struct qtype *q, uint8_t *w, int64_t n)
{
	const struct eng_type_traits *t = eng_type_get(q->id);
	size_t bytes = (size_t)(n / t->block_size) * t->block_bytes;
	for (size_t i = 0; i < bytes; i++)
		w[i] = (uint8_t)rng_next();
	for (int64_t b = 0; b < n / t->block_size; b++)
		for (int k = 0; k < q->n_offs; k++) {
			uint16_t h = eng_f32_to_f16(rng_normal() * 0.01f);
			memcpy(w + (size_t)b * t->block_bytes + q->offs[k], &h, 2);
		}
}

/* Where the AVX2 kernels are compiled in, ok(); otherwise the dispatching
 * function is the reference itself and there is nothing to compare. */
static void ok_if_avx2(int cond, const char *name)
{
#if defined(__AVX2__)
	ok(cond, name);
#else
	(void)cond;
	skip("AVX2 kernels not compiled in (no __AVX2__ for this CPU or build)", name);
#endif
}

/* Overwrite every f16 scale (and min) field with extreme values: the largest
 * finite, the smallest subnormal and normal, their negatives, and zero. */
static void extreme_scales(const struct qtype *q, uint8_t *w, int64_t n, int rep)
{
	static const uint16_t extremes[] = { 0x7bff, 0xfbff, 0x0001, 0x8001, 0x0400, 0x0000 };
	const struct eng_type_traits *t = eng_type_get(q->id);
	for (int64_t b = 0; b < n / t->block_size; b++)
		for (int k = 0; k < q->n_offs; k++) {
			const uint16_t h = extremes[(size_t)(b + k + rep) % (sizeof extremes / sizeof extremes[0])];
			memcpy(w + (size_t)b * t->block_bytes + q->offs[k], &h, 2);
		}
}

static void check_dots(void)
{
	enum { N = 4096 };
	static uint8_t w[N * 2], xq[N * 2];
	static float x[N], wd[N], xd[N];
	for (size_t qi = 0; qi < N_QTYPES; qi++) {
		const struct qtype *q = &qtypes[qi];
		const struct eng_type_traits *t = eng_type_get(q->id);
		const struct eng_type_traits *at = eng_type_get(t->vec_dot_type);
		for (int i = 0; i < N; i++)
			x[i] = rng_normal();
		random_blocks(q, w, N);
		t->to_f32(w, wd, N);
		at->act_from_f32(x, xq, N);
		at->to_f32(xq, xd, N);
		double want = 0, mag = 0, extra = 0;
		for (int i = 0; i < N; i++) {
			want += (double)wd[i] * xd[i];
			mag += fabs((double)wd[i] * xd[i]);
		}
		if (q->min_off >= 0) /* m * s uses s = f16(d * sum), not d16 * sum: f16 rounding */
			for (int b = 0; b < N / 32; b++) {
				uint16_t mh;
				memcpy(&mh, w + (size_t)b * t->block_bytes + q->min_off, 2);
				const struct eng_block_q8_1 *a = (const struct eng_block_q8_1 *)xq + b;
				int s = 0;
				for (int k = 0; k < 32; k++)
					s += a->qs[k];
				extra += fabs(eng_f16_to_f32(mh)) * fabs(eng_f16_to_f32(a->d) * s) * 2e-3;
			}
		char name[160];
		float got = t->vec_dot_q8(N, w, xq);
		snprintf(name, sizeof name, "%s x %s dot (n = %d) = dequantized double dot", t->name, at->name, N);
		is_near(got, want, mag * 2e-6 + extra + 1e-9, name);
		/* the f32-activation dot */
		double want32 = 0, mag32 = 0;
		for (int i = 0; i < N; i++) {
			want32 += (double)wd[i] * x[i];
			mag32 += fabs((double)wd[i] * x[i]);
		}
		snprintf(name, sizeof name, "%s x f32 dot = dequantized double dot", t->name);
		is_near(t->vec_dot(N, w, x), want32, mag32 * 2e-6 + 1e-9, name);
		snprintf(name, sizeof name, "%s x %s: close to the f32-activation dot (activation quantization only)",
			 t->name, at->name);
		is_near(got, want32, mag32 * 0.02, name);
	}
	/* AVX2 against the references, bit for bit, on many random blocks */
	static const struct { uint32_t id; float (*simd)(int64_t, const void *, const void *);
			      float (*ref)(int64_t, const void *, const void *); } pairs[] = {
		{ ENG_TYPE_Q4_1, eng_vec_dot_q4_1_q8_1, eng_vec_dot_q4_1_q8_1_ref },
		{ ENG_TYPE_Q5_0, eng_vec_dot_q5_0_q8_0, eng_vec_dot_q5_0_q8_0_ref },
		{ ENG_TYPE_Q5_1, eng_vec_dot_q5_1_q8_1, eng_vec_dot_q5_1_q8_1_ref },
		{ ENG_TYPE_IQ4_NL, eng_vec_dot_iq4_nl_q8_0, eng_vec_dot_iq4_nl_q8_0_ref },
		{ ENG_TYPE_Q4_K, eng_vec_dot_q4_K_q8_K, eng_vec_dot_q4_K_q8_K_ref },
		{ ENG_TYPE_Q5_K, eng_vec_dot_q5_K_q8_K, eng_vec_dot_q5_K_q8_K_ref },
		{ ENG_TYPE_Q6_K, eng_vec_dot_q6_K_q8_K, eng_vec_dot_q6_K_q8_K_ref },
		/* NULL: the type table's vec_dot_q8 (quants_avx2.c, not in types.h) */
		{ ENG_TYPE_Q2_K, NULL, eng_vec_dot_q2_K_q8_K_ref },
		{ ENG_TYPE_Q3_K, NULL, eng_vec_dot_q3_K_q8_K_ref },
		{ ENG_TYPE_IQ4_XS, NULL, eng_vec_dot_iq4_xs_q8_K_ref },
	};
	for (size_t p = 0; p < sizeof pairs / sizeof pairs[0]; p++) {
		const struct qtype *q = NULL;
		for (size_t qi = 0; qi < N_QTYPES; qi++)
			if (qtypes[qi].id == pairs[p].id)
				q = &qtypes[qi];
		float (*simd)(int64_t, const void *, const void *) =
			pairs[p].simd ? pairs[p].simd : eng_type_get(pairs[p].id)->vec_dot_q8;
		int same = 1;
		for (int rep = 0; rep < 50; rep++) {
			for (int i = 0; i < N; i++)
				x[i] = rng_normal() * (rep % 3 == 0 ? 100.0f : 1.0f);
			random_blocks(q, w, N);
			eng_type_get(eng_type_get(pairs[p].id)->vec_dot_type)->act_from_f32(x, xq, N);
			for (int64_t n = 256; n <= N; n *= 4)
				same = same && fbits(simd(n, w, xq)) == fbits(pairs[p].ref(n, w, xq));
		}
		char name[120];
		snprintf(name, sizeof name, "%s x %s: dispatching (AVX2) and plain-C reference agree bit for bit",
			 eng_type_name(pairs[p].id), eng_type_name(eng_type_get(pairs[p].id)->vec_dot_type));
		ok(same, name);
		/* extreme f16 scales and activations of 1e30 and 1e-30 (inf, NaN and
		 * subnormal results must come out with the same bits too) */
		static const float x_scales[] = { 1e30f, 1e-30f, 1.0f };
		int same_extreme = 1;
		for (int rep = 0; rep < 30; rep++) {
			for (int i = 0; i < N; i++)
				x[i] = rng_normal() * x_scales[rep % 3];
			random_blocks(q, w, N);
			extreme_scales(q, w, N, rep);
			eng_type_get(eng_type_get(pairs[p].id)->vec_dot_type)->act_from_f32(x, xq, N);
			for (int64_t n = 256; n <= N; n *= 4)
				same_extreme = same_extreme && fbits(simd(n, w, xq)) == fbits(pairs[p].ref(n, w, xq));
		}
		snprintf(name, sizeof name, "%s x %s: AVX2 = reference bit for bit with extreme scales",
			 eng_type_name(pairs[p].id), eng_type_name(eng_type_get(pairs[p].id)->vec_dot_type));
		ok_if_avx2(same_extreme, name);
	}
#if defined(__AVX2__)
	diag("AVX2 kernels compiled in");
#else
	diag("AVX2 kernels not compiled in: the bit-for-bit checks compare the reference with itself");
#endif
}

int main(void)
{
	check_table();
	check_vectors();
	check_act_quant();
	check_act_quant_simd();
	check_dots();
	if (eng_cpu_has_vnni()) { /* the Q4_K/Q5_K dots take kernels_vnni.c's form there: the AVX2 one too */
		diag("the dots again with the AVX-512 VNNI forms switched off (eng_cpu_vnni_disable)");
		eng_cpu_vnni_disable(1);
		check_dots();
		eng_cpu_vnni_disable(0);
	}
	return done_testing();
}
