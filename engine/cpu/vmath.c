/* vmath.c — exp and expf with fixed bits (vmath.h says what and why).
 *
 * expf: x = (k + r) ln2 / 32 with k an integer and |r| <= 1/2, so
 * e^x = 2^(k/32) * 2^(r/32) ~= s * (1 + C2 r + C1 r^2 + C0 r^3), the steps in double.
 * exp: x = k ln2 / 128 + r, e^x = 2^(k/128) e^r ~= H[k] (1 + T[k] + r + ... C5 r^5).
 * Both round k with the 1.5 * 2^52 shift. The operation order below is the one
 * glibc's FMA build runs (its disassembly was read to find which products are fused).
 */
#include "engine/cpu/vmath.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "engine/types.h"

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#define VMATH_AVX2 1
#else
#define VMATH_AVX2 0
#endif

static const uint64_t expf_tab[32] = {
	0x3ff0000000000000ull, 0x3fefd9b0d3158574ull, 0x3fefb5586cf9890full, 0x3fef9301d0125b51ull,
	0x3fef72b83c7d517bull, 0x3fef54873168b9aaull, 0x3fef387a6e756238ull, 0x3fef1e9df51fdee1ull,
	0x3fef06fe0a31b715ull, 0x3feef1a7373aa9cbull, 0x3feedea64c123422ull, 0x3feece086061892dull,
	0x3feebfdad5362a27ull, 0x3feeb42b569d4f82ull, 0x3feeab07dd485429ull, 0x3feea47eb03a5585ull,
	0x3feea09e667f3bcdull, 0x3fee9f75e8ec5f74ull, 0x3feea11473eb0187ull, 0x3feea589994cce13ull,
	0x3feeace5422aa0dbull, 0x3feeb737b0cdc5e5ull, 0x3feec49182a3f090ull, 0x3feed503b23e255dull,
	0x3feee89f995ad3adull, 0x3feeff76f2fb5e47ull, 0x3fef199bdd85529cull, 0x3fef3720dcef9069ull,
	0x3fef5818dcfba487ull, 0x3fef7c97337b9b5full, 0x3fefa4afa2a490daull, 0x3fefd0765b6e4540ull,
};

static const uint64_t exp_tab[256] = {
	0x0000000000000000ull, 0x3ff0000000000000ull, 0x3c9b3b4f1a88bf6eull, 0x3feff63da9fb3335ull,
	0xbc7160139cd8dc5dull, 0x3fefec9a3e778061ull, 0xbc905e7a108766d1ull, 0x3fefe315e86e7f85ull,
	0x3c8cd2523567f613ull, 0x3fefd9b0d3158574ull, 0xbc8bce8023f98efaull, 0x3fefd06b29ddf6deull,
	0x3c60f74e61e6c861ull, 0x3fefc74518759bc8ull, 0x3c90a3e45b33d399ull, 0x3fefbe3ecac6f383ull,
	0x3c979aa65d837b6dull, 0x3fefb5586cf9890full, 0x3c8eb51a92fdeffcull, 0x3fefac922b7247f7ull,
	0x3c3ebe3d702f9cd1ull, 0x3fefa3ec32d3d1a2ull, 0xbc6a033489906e0bull, 0x3fef9b66affed31bull,
	0xbc9556522a2fbd0eull, 0x3fef9301d0125b51ull, 0xbc5080ef8c4eea55ull, 0x3fef8abdc06c31ccull,
	0xbc91c923b9d5f416ull, 0x3fef829aaea92de0ull, 0x3c80d3e3e95c55afull, 0x3fef7a98c8a58e51ull,
	0xbc801b15eaa59348ull, 0x3fef72b83c7d517bull, 0xbc8f1ff055de323dull, 0x3fef6af9388c8deaull,
	0x3c8b898c3f1353bfull, 0x3fef635beb6fcb75ull, 0xbc96d99c7611eb26ull, 0x3fef5be084045cd4ull,
	0x3c9aecf73e3a2f60ull, 0x3fef54873168b9aaull, 0xbc8fe782cb86389dull, 0x3fef4d5022fcd91dull,
	0x3c8a6f4144a6c38dull, 0x3fef463b88628cd6ull, 0x3c807a05b0e4047dull, 0x3fef3f49917ddc96ull,
	0x3c968efde3a8a894ull, 0x3fef387a6e756238ull, 0x3c875e18f274487dull, 0x3fef31ce4fb2a63full,
	0x3c80472b981fe7f2ull, 0x3fef2b4565e27cddull, 0xbc96b87b3f71085eull, 0x3fef24dfe1f56381ull,
	0x3c82f7e16d09ab31ull, 0x3fef1e9df51fdee1ull, 0xbc3d219b1a6fbffaull, 0x3fef187fd0dad990ull,
	0x3c8b3782720c0ab4ull, 0x3fef1285a6e4030bull, 0x3c6e149289cecb8full, 0x3fef0cafa93e2f56ull,
	0x3c834d754db0abb6ull, 0x3fef06fe0a31b715ull, 0x3c864201e2ac744cull, 0x3fef0170fc4cd831ull,
	0x3c8fdd395dd3f84aull, 0x3feefc08b26416ffull, 0xbc86a3803b8e5b04ull, 0x3feef6c55f929ff1ull,
	0xbc924aedcc4b5068ull, 0x3feef1a7373aa9cbull, 0xbc9907f81b512d8eull, 0x3feeecae6d05d866ull,
	0xbc71d1e83e9436d2ull, 0x3feee7db34e59ff7ull, 0xbc991919b3ce1b15ull, 0x3feee32dc313a8e5ull,
	0x3c859f48a72a4c6dull, 0x3feedea64c123422ull, 0xbc9312607a28698aull, 0x3feeda4504ac801cull,
	0xbc58a78f4817895bull, 0x3feed60a21f72e2aull, 0xbc7c2c9b67499a1bull, 0x3feed1f5d950a897ull,
	0x3c4363ed60c2ac11ull, 0x3feece086061892dull, 0x3c9666093b0664efull, 0x3feeca41ed1d0057ull,
	0x3c6ecce1daa10379ull, 0x3feec6a2b5c13cd0ull, 0x3c93ff8e3f0f1230ull, 0x3feec32af0d7d3deull,
	0x3c7690cebb7aafb0ull, 0x3feebfdad5362a27ull, 0x3c931dbdeb54e077ull, 0x3feebcb299fddd0dull,
	0xbc8f94340071a38eull, 0x3feeb9b2769d2ca7ull, 0xbc87deccdc93a349ull, 0x3feeb6daa2cf6642ull,
	0xbc78dec6bd0f385full, 0x3feeb42b569d4f82ull, 0xbc861246ec7b5cf6ull, 0x3feeb1a4ca5d920full,
	0x3c93350518fdd78eull, 0x3feeaf4736b527daull, 0x3c7b98b72f8a9b05ull, 0x3feead12d497c7fdull,
	0x3c9063e1e21c5409ull, 0x3feeab07dd485429ull, 0x3c34c7855019c6eaull, 0x3feea9268a5946b7ull,
	0x3c9432e62b64c035ull, 0x3feea76f15ad2148ull, 0xbc8ce44a6199769full, 0x3feea5e1b976dc09ull,
	0xbc8c33c53bef4da8ull, 0x3feea47eb03a5585ull, 0xbc845378892be9aeull, 0x3feea34634ccc320ull,
	0xbc93cedd78565858ull, 0x3feea23882552225ull, 0x3c5710aa807e1964ull, 0x3feea155d44ca973ull,
	0xbc93b3efbf5e2228ull, 0x3feea09e667f3bcdull, 0xbc6a12ad8734b982ull, 0x3feea012750bdabfull,
	0xbc6367efb86da9eeull, 0x3fee9fb23c651a2full, 0xbc80dc3d54e08851ull, 0x3fee9f7df9519484ull,
	0xbc781f647e5a3ecfull, 0x3fee9f75e8ec5f74ull, 0xbc86ee4ac08b7db0ull, 0x3fee9f9a48a58174ull,
	0xbc8619321e55e68aull, 0x3fee9feb564267c9ull, 0x3c909ccb5e09d4d3ull, 0x3feea0694fde5d3full,
	0xbc7b32dcb94da51dull, 0x3feea11473eb0187ull, 0x3c94ecfd5467c06bull, 0x3feea1ed0130c132ull,
	0x3c65ebe1abd66c55ull, 0x3feea2f336cf4e62ull, 0xbc88a1c52fb3cf42ull, 0x3feea427543e1a12ull,
	0xbc9369b6f13b3734ull, 0x3feea589994cce13ull, 0xbc805e843a19ff1eull, 0x3feea71a4623c7adull,
	0xbc94d450d872576eull, 0x3feea8d99b4492edull, 0x3c90ad675b0e8a00ull, 0x3feeaac7d98a6699ull,
	0x3c8db72fc1f0eab4ull, 0x3feeace5422aa0dbull, 0xbc65b6609cc5e7ffull, 0x3feeaf3216b5448cull,
	0x3c7bf68359f35f44ull, 0x3feeb1ae99157736ull, 0xbc93091fa71e3d83ull, 0x3feeb45b0b91ffc6ull,
	0xbc5da9b88b6c1e29ull, 0x3feeb737b0cdc5e5ull, 0xbc6c23f97c90b959ull, 0x3feeba44cbc8520full,
	0xbc92434322f4f9aaull, 0x3feebd829fde4e50ull, 0xbc85ca6cd7668e4bull, 0x3feec0f170ca07baull,
	0x3c71affc2b91ce27ull, 0x3feec49182a3f090ull, 0x3c6dd235e10a73bbull, 0x3feec86319e32323ull,
	0xbc87c50422622263ull, 0x3feecc667b5de565ull, 0x3c8b1c86e3e231d5ull, 0x3feed09bec4a2d33ull,
	0xbc91bbd1d3bcbb15ull, 0x3feed503b23e255dull, 0x3c90cc319cee31d2ull, 0x3feed99e1330b358ull,
	0x3c8469846e735ab3ull, 0x3feede6b5579fdbfull, 0xbc82dfcd978e9db4ull, 0x3feee36bbfd3f37aull,
	0x3c8c1a7792cb3387ull, 0x3feee89f995ad3adull, 0xbc907b8f4ad1d9faull, 0x3feeee07298db666ull,
	0xbc55c3d956dcaebaull, 0x3feef3a2b84f15fbull, 0xbc90a40e3da6f640ull, 0x3feef9728de5593aull,
	0xbc68d6f438ad9334ull, 0x3feeff76f2fb5e47ull, 0xbc91eee26b588a35ull, 0x3fef05b030a1064aull,
	0x3c74ffd70a5fddcdull, 0x3fef0c1e904bc1d2ull, 0xbc91bdfbfa9298acull, 0x3fef12c25bd71e09ull,
	0x3c736eae30af0cb3ull, 0x3fef199bdd85529cull, 0x3c8ee3325c9ffd94ull, 0x3fef20ab5fffd07aull,
	0x3c84e08fd10959acull, 0x3fef27f12e57d14bull, 0x3c63cdaf384e1a67ull, 0x3fef2f6d9406e7b5ull,
	0x3c676b2c6c921968ull, 0x3fef3720dcef9069ull, 0xbc808a1883ccb5d2ull, 0x3fef3f0b555dc3faull,
	0xbc8fad5d3ffffa6full, 0x3fef472d4a07897cull, 0xbc900dae3875a949ull, 0x3fef4f87080d89f2ull,
	0x3c74a385a63d07a7ull, 0x3fef5818dcfba487ull, 0xbc82919e2040220full, 0x3fef60e316c98398ull,
	0x3c8e5a50d5c192acull, 0x3fef69e603db3285ull, 0x3c843a59ac016b4bull, 0x3fef7321f301b460ull,
	0xbc82d52107b43e1full, 0x3fef7c97337b9b5full, 0xbc892ab93b470dc9ull, 0x3fef864614f5a129ull,
	0x3c74b604603a88d3ull, 0x3fef902ee78b3ff6ull, 0x3c83c5ec519d7271ull, 0x3fef9a51fbc74c83ull,
	0xbc8ff7128fd391f0ull, 0x3fefa4afa2a490daull, 0xbc8dae98e223747dull, 0x3fefaf482d8e67f1ull,
	0x3c8ec3bc41aa2008ull, 0x3fefba1bee615a27ull, 0x3c842b94c3a9eb32ull, 0x3fefc52b376bba97ull,
	0x3c8a64a931d185eeull, 0x3fefd0765b6e4540ull, 0xbc8e37bae43be3edull, 0x3fefdbfdad9cbe14ull,
	0x3c77893b4d91cd9dull, 0x3fefe7c1819e90d8ull, 0x3c5305c14160cc89ull, 0x3feff3c22b8f71f1ull,
};

#define EXPF_INVLN2N 0x1.71547652b82fep+5
#define EXPF_C0 0x1.c6af84b912394p-20
#define EXPF_C1 0x1.ebfce50fac4f3p-13
#define EXPF_C2 0x1.62e42ff0c52d6p-6
#define EXP_INVLN2N 0x1.71547652b82fep+7
#define EXP_NEGLN2HIN -0x1.62e42fefa0000p-8
#define EXP_NEGLN2LON -0x1.cf79abc9e3b3ap-47
#define EXP_C2 0x1.ffffffffffdbdp-2
#define EXP_C3 0x1.555555555543cp-3
#define EXP_C4 0x1.55555cf172b91p-5
#define EXP_C5 0x1.1111167a4d017p-7
#define SHIFT 0x1.8p+52

static inline uint64_t as_u64(double d)
{
	uint64_t u;
	memcpy(&u, &d, sizeof u);
	return u;
}

static inline double as_f64(uint64_t u)
{
	double d;
	memcpy(&d, &u, sizeof d);
	return d;
}

/* Outside the main range: |x| >= 88 (or inf, NaN). */
static inline int expf_special(float x)
{
	uint32_t u;
	memcpy(&u, &x, sizeof u);
	return ((u >> 20) & 0x7ff) >= 0x42b;
}

/* Outside the main range: |x| < 2^-54 or |x| >= 512 (or inf, NaN). */
static inline int exp_special(double x)
{
	return (uint32_t)(((as_u64(x) >> 52) & 0x7ff) - 0x3c9) >= 0x3f;
}

float eng_expf(float x)
{
	if (expf_special(x))
		return expf(x);
	const double xd = (double)x;
	double kd = fma(EXPF_INVLN2N, xd, SHIFT);
	const uint64_t ki = as_u64(kd);
	kd -= SHIFT;
	const double r = fma(EXPF_INVLN2N, xd, -kd);
	const double s = as_f64(expf_tab[ki & 31] + (ki << 47));
	const double z = fma(EXPF_C0, r, EXPF_C1), r2 = r * r;
	double y = fma(r, EXPF_C2, 1.0);
	y = fma(z, r2, y);
	return (float)(y * s);
}

double eng_exp(double x)
{
	if (exp_special(x))
		return exp(x);
	double kd = fma(x, EXP_INVLN2N, SHIFT);
	const uint64_t ki = as_u64(kd);
	kd -= SHIFT;
	double r = fma(kd, EXP_NEGLN2HIN, x);
	r = fma(kd, EXP_NEGLN2LON, r);
	const uint64_t idx = 2 * (ki & 127);
	const double tail = as_f64(exp_tab[idx]), scale = as_f64(exp_tab[idx + 1] + (ki << 45));
	const double r2 = r * r;
	const double p = fma(fma(r, EXP_C3, EXP_C2), r2, r + tail);
	const double tmp = fma(r2 * r2, fma(r, EXP_C5, EXP_C4), p);
	return fma(scale, tmp, scale);
}

#if VMATH_AVX2
/* tab[idx] for four indices: scalar loads put together. vpgatherqq took 60% of the
 * function's cycles on an Ice Lake Xeon VM (3.3 ns an element, no faster than
 * libm's scalar expf); four loads and the inserts take a fraction of that. */
static inline __m256i lookup4(const uint64_t *tab, __m256i idx)
{
	uint64_t i[4];
	_mm256_storeu_si256((__m256i *)i, idx);
	return _mm256_setr_epi64x((long long)tab[i[0]], (long long)tab[i[1]], (long long)tab[i[2]], (long long)tab[i[3]]);
}

#if !defined(__AVX512F__)
/* Four lanes of eng_expf's main-range steps (x as doubles). */
static inline __m128 expf4(__m256d xd)
{
	const __m256d invln2n = _mm256_set1_pd(EXPF_INVLN2N), shift = _mm256_set1_pd(SHIFT);
	__m256d kd = _mm256_fmadd_pd(invln2n, xd, shift);
	const __m256i ki = _mm256_castpd_si256(kd);
	kd = _mm256_sub_pd(kd, shift);
	const __m256d r = _mm256_fmsub_pd(invln2n, xd, kd);
	const __m256i t = lookup4(expf_tab, _mm256_and_si256(ki, _mm256_set1_epi64x(31)));
	const __m256d s = _mm256_castsi256_pd(_mm256_add_epi64(t, _mm256_slli_epi64(ki, 47)));
	const __m256d z = _mm256_fmadd_pd(_mm256_set1_pd(EXPF_C0), r, _mm256_set1_pd(EXPF_C1)), r2 = _mm256_mul_pd(r, r);
	__m256d y = _mm256_fmadd_pd(r, _mm256_set1_pd(EXPF_C2), _mm256_set1_pd(1.0));
	y = _mm256_fmadd_pd(z, r2, y);
	return _mm256_cvtpd_ps(_mm256_mul_pd(y, s));
}
#endif

#if defined(__AVX512F__)
/* Eight lanes of eng_expf's main-range steps on 512-bit registers (x as doubles), the
 * 32-entry table looked up in registers (two two-register permutes and a blend by bit 4
 * of the index) instead of eight scalar loads: the same bits as expf4's lanes. */
static inline __m256 expf8_512(__m512d xd)
{
	const __m512i *tab = (const __m512i *)expf_tab;
	const __m512d invln2n = _mm512_set1_pd(EXPF_INVLN2N), shift = _mm512_set1_pd(SHIFT);
	__m512d kd = _mm512_fmadd_pd(invln2n, xd, shift);
	const __m512i ki = _mm512_castpd_si512(kd);
	kd = _mm512_sub_pd(kd, shift);
	const __m512d r = _mm512_fmsub_pd(invln2n, xd, kd);
	const __m512i lo = _mm512_permutex2var_epi64(_mm512_loadu_si512(tab), ki, _mm512_loadu_si512(tab + 1)),
		      hi = _mm512_permutex2var_epi64(_mm512_loadu_si512(tab + 2), ki, _mm512_loadu_si512(tab + 3));
	const __m512i t = _mm512_mask_blend_epi64(_mm512_test_epi64_mask(ki, _mm512_set1_epi64(16)), lo, hi);
	const __m512d s = _mm512_castsi512_pd(_mm512_add_epi64(t, _mm512_slli_epi64(ki, 47)));
	const __m512d z = _mm512_fmadd_pd(_mm512_set1_pd(EXPF_C0), r, _mm512_set1_pd(EXPF_C1)), r2 = _mm512_mul_pd(r, r);
	__m512d y = _mm512_fmadd_pd(r, _mm512_set1_pd(EXPF_C2), _mm512_set1_pd(1.0));
	y = _mm512_fmadd_pd(z, r2, y);
	return _mm512_cvtpd_ps(_mm512_mul_pd(y, s));
}
#endif

/* Eight lanes of eng_expf; lanes outside the main range come from libm. */
static inline __m256 expf8(__m256 x)
{
	const __m256i top = _mm256_and_si256(_mm256_srli_epi32(_mm256_castps_si256(x), 20), _mm256_set1_epi32(0x7ff));
	const int special = _mm256_movemask_ps(_mm256_castsi256_ps(_mm256_cmpgt_epi32(top, _mm256_set1_epi32(0x42a))));
#if defined(__AVX512F__)
	__m256 e = expf8_512(_mm512_cvtps_pd(x));
#else
	__m256 e = _mm256_set_m128(expf4(_mm256_cvtps_pd(_mm256_extractf128_ps(x, 1))),
				   expf4(_mm256_cvtps_pd(_mm256_castps256_ps128(x))));
#endif
	if (special) {
		float xs[8], es[8];
		_mm256_storeu_ps(xs, x);
		_mm256_storeu_ps(es, e);
		for (int i = 0; i < 8; i++)
			if (special >> i & 1)
				es[i] = expf(xs[i]);
		e = _mm256_loadu_ps(es);
	}
	return e;
}

/* Four lanes of eng_exp; lanes outside the main range come from libm. */
static inline __m256d exp4(__m256d x)
{
	const __m256d invln2n = _mm256_set1_pd(EXP_INVLN2N), shift = _mm256_set1_pd(SHIFT);
	__m256d kd = _mm256_fmadd_pd(x, invln2n, shift);
	const __m256i ki = _mm256_castpd_si256(kd);
	kd = _mm256_sub_pd(kd, shift);
	__m256d r = _mm256_fmadd_pd(kd, _mm256_set1_pd(EXP_NEGLN2HIN), x);
	r = _mm256_fmadd_pd(kd, _mm256_set1_pd(EXP_NEGLN2LON), r);
	const __m256i idx = _mm256_slli_epi64(_mm256_and_si256(ki, _mm256_set1_epi64x(127)), 1);
	const __m256d tail = _mm256_castsi256_pd(lookup4(exp_tab, idx));
	const __m256i sb = lookup4(exp_tab + 1, idx);
	const __m256d scale = _mm256_castsi256_pd(_mm256_add_epi64(sb, _mm256_slli_epi64(ki, 45)));
	const __m256d r2 = _mm256_mul_pd(r, r);
	const __m256d a = _mm256_fmadd_pd(r, _mm256_set1_pd(EXP_C3), _mm256_set1_pd(EXP_C2));
	const __m256d p = _mm256_fmadd_pd(a, r2, _mm256_add_pd(r, tail));
	const __m256d b = _mm256_fmadd_pd(r, _mm256_set1_pd(EXP_C5), _mm256_set1_pd(EXP_C4));
	const __m256d tmp = _mm256_fmadd_pd(_mm256_mul_pd(r2, r2), b, p);
	__m256d e = _mm256_fmadd_pd(scale, tmp, scale);
	/* the main range: (top - 0x3c9) unsigned < 0x3f, i.e. 0x3c9 <= top <= 0x407 */
	const __m256i top = _mm256_and_si256(_mm256_srli_epi64(_mm256_castpd_si256(x), 52), _mm256_set1_epi64x(0x7ff));
	const __m256i out = _mm256_or_si256(_mm256_cmpgt_epi64(_mm256_set1_epi64x(0x3c9), top),
					    _mm256_cmpgt_epi64(top, _mm256_set1_epi64x(0x407)));
	const int special = _mm256_movemask_pd(_mm256_castsi256_pd(out));
	if (special) {
		double xs[4], es[4];
		_mm256_storeu_pd(xs, x);
		_mm256_storeu_pd(es, e);
		for (int i = 0; i < 4; i++)
			if (special >> i & 1)
				es[i] = exp(xs[i]);
		e = _mm256_loadu_pd(es);
	}
	return e;
}
#endif

void eng_expf_row(const float *x, float *out, size_t n)
{
	size_t i = 0;
#if VMATH_AVX2
	for (; i + 8 <= n; i += 8)
		_mm256_storeu_ps(out + i, expf8(_mm256_loadu_ps(x + i)));
#endif
	for (; i < n; i++)
		out[i] = eng_expf(x[i]);
}

void eng_silu_mul_row(float *g, const float *up, size_t n)
{
	size_t i = 0;
#if VMATH_AVX2
	const __m256 one = _mm256_set1_ps(1.0f), sign = _mm256_set1_ps(-0.0f);
	for (; i + 8 <= n; i += 8) {
		const __m256 gv = _mm256_loadu_ps(g + i);
		const __m256 e = expf8(_mm256_xor_ps(gv, sign));
		_mm256_storeu_ps(g + i, _mm256_mul_ps(_mm256_div_ps(gv, _mm256_add_ps(one, e)), _mm256_loadu_ps(up + i)));
	}
#endif
	for (; i < n; i++)
		g[i] = g[i] / (1.0f + eng_expf(-g[i])) * up[i];
}

float eng_row_max(const float *x, size_t n, size_t *first)
{
	size_t i = 1, at = 0;
	float max = x[0];
#if VMATH_AVX2
	/* the lanes' maxima (vmaxps returns its second operand, the running maximum, where
	 * the element is a NaN or an equal zero), then the first element equal to theirs */
	if (n >= 9 && max == max) {
		__m256 m = _mm256_set1_ps(max);
		for (; i + 8 <= n; i += 8)
			m = _mm256_max_ps(_mm256_loadu_ps(x + i), m);
		float lanes[8];
		_mm256_storeu_ps(lanes, m);
		for (int l = 0; l < 8; l++)
			if (lanes[l] > max)
				max = lanes[l];
		for (; i < n; i++)
			if (x[i] > max)
				max = x[i];
		for (at = 0; !(x[at] == max); at++)
			;
		*first = at;
		return x[at];
	}
#endif
	for (; i < n; i++)
		if (x[i] > max) {
			max = x[i];
			at = i;
		}
	*first = at;
	return max;
}

double eng_sum_exp(const float *x, size_t n, float max)
{
	double sum = 0.0;
	size_t i = 0;
#if VMATH_AVX2
	const __m256d m = _mm256_set1_pd((double)max);
	for (; i + 4 <= n; i += 4) {
		double e[4];
		_mm256_storeu_pd(e, exp4(_mm256_sub_pd(_mm256_cvtps_pd(_mm_loadu_ps(x + i)), m)));
		sum += e[0];
		sum += e[1];
		sum += e[2];
		sum += e[3];
	}
#endif
	for (; i < n; i++)
		sum += eng_exp((double)x[i] - (double)max);
	return sum;
}

/* Adjacent pairs round as llama.cpp's x86 build (f0d4d176, gcc 12, contraction on) rotates
 * them in ggml's rope (read from its binary: vfmaddsub on the pair swapped times sin):
 * x0 c - x1 s and x1 c + x0 s, each one multiply-add with the other product rounded.
 * Left to the compiler, gcc 12's vectoriser fused this loop the same way despite
 * -ffp-contract=off, but with the odd lane's products the other way round (x0 s fused,
 * x1 c rounded) and only for whole vectors (not a scalar tail); clang did not fuse it at all.
 * Four pairs a pass on 8 lanes. */
void eng_rope_adjacent(float *v, const float *c, const float *s, size_t n)
{
	size_t i = 0;
#if VMATH_AVX2
	for (; i + 4 <= n; i += 4) {
		const __m128 c4 = _mm_loadu_ps(c + i), s4 = _mm_loadu_ps(s + i);
		const __m256 cd = _mm256_set_m128(_mm_unpackhi_ps(c4, c4), _mm_unpacklo_ps(c4, c4));
		const __m256 sd = _mm256_set_m128(_mm_unpackhi_ps(s4, s4), _mm_unpacklo_ps(s4, s4));
		const __m256 x = _mm256_loadu_ps(v + 2 * i);
		_mm256_storeu_ps(v + 2 * i, _mm256_fmaddsub_ps(x, cd, _mm256_mul_ps(_mm256_permute_ps(x, 0xb1), sd)));
	}
#endif
	for (; i < n; i++) {
		const float x0 = v[2 * i], x1 = v[2 * i + 1];
		v[2 * i] = fmaf(x0, c[i], -(x1 * s[i]));
		v[2 * i + 1] = fmaf(x1, c[i], x0 * s[i]);
	}
}

/* Halves round each product (transformers' arithmetic, the reference of the HF folders, which
 * all rotate halves; llama.cpp's scalar loop fuses as above: the tiny qwen2 fixture's logits
 * are 1.2e-7 from llama.cpp's either way). */
void eng_rope_halves(float *lo, float *hi, const float *c, const float *s, size_t n)
{
	size_t i = 0;
#if VMATH_AVX2
	for (; i + 8 <= n; i += 8) {
		const __m256 x0 = _mm256_loadu_ps(lo + i), x1 = _mm256_loadu_ps(hi + i);
		const __m256 cv = _mm256_loadu_ps(c + i), sv = _mm256_loadu_ps(s + i);
		_mm256_storeu_ps(lo + i, _mm256_sub_ps(_mm256_mul_ps(x0, cv), _mm256_mul_ps(x1, sv)));
		_mm256_storeu_ps(hi + i, _mm256_add_ps(_mm256_mul_ps(x0, sv), _mm256_mul_ps(x1, cv)));
	}
#endif
	for (; i < n; i++) {
		const float x0 = lo[i], x1 = hi[i];
		lo[i] = x0 * c[i] - x1 * s[i];
		hi[i] = x0 * s[i] + x1 * c[i];
	}
}

/* Blocks of 256 whose exponent fields are ORed into one flag (a loop the compiler vectorises;
 * one with an early exit it does not), then the element in the first block that has one. */
size_t eng_first_nonfinite(const float *x, size_t n)
{
	enum { BLOCK = 256 };
	for (size_t b = 0; b < n; b += BLOCK) {
		const size_t m = n - b < BLOCK ? n - b : BLOCK;
		uint32_t exp_all_ones = 0; /* some element has an all-ones exponent: NaN or infinity */
		for (size_t i = 0; i < m; i++) {
			uint32_t u;
			memcpy(&u, x + b + i, sizeof u);
			exp_all_ones |= (u & 0x7f800000u) == 0x7f800000u;
		}
		if (exp_all_ones)
			for (size_t i = 0; i < m; i++)
				if (!isfinite(x[b + i]))
					return b + i;
	}
	return n;
}

#if defined(__AVX2__) && defined(__F16C__)
#include <immintrin.h>
#define VMATH_F16C 1
#else
#define VMATH_F16C 0
#endif

/* F16C's vcvtps2ph (round to nearest even) and vcvtph2ps agree with eng_f32_to_f16 and
 * eng_f16_to_f32 on every one of the 2^32 floats (checked exhaustively; tests/eng_kernels.c
 * samples it). */
void eng_round_f16_row(const float *x, float *out, size_t n)
{
	size_t i = 0;
#if VMATH_F16C
	for (; i + 8 <= n; i += 8)
		_mm256_storeu_ps(out + i, _mm256_cvtph_ps(_mm256_cvtps_ph(_mm256_loadu_ps(x + i),
									     _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)));
#endif
	for (; i < n; i++)
		out[i] = eng_f16_to_f32(eng_f32_to_f16(x[i]));
}

void eng_round_bf16_row(const float *x, float *out, size_t n)
{
	for (size_t i = 0; i < n; i++)
		out[i] = eng_bf16_to_f32(eng_f32_to_bf16(x[i]));
}
