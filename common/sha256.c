/* sha256.c — SHA-256 per FIPS 180-4 §6.2, a straightforward portable version.
 *
 * The compression function works on 64-byte blocks; update() buffers a partial
 * block in the context so that callers may feed chunks of any size. Speed is
 * what a plain C loop gives (a few hundred MB/s); the manifest caches file
 * hashes so that a model is hashed once per change, not once per run.
 */
#include "common/sha256.h"
#include "common/fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#include <immintrin.h>
#endif

static const uint32_t K[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
	0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
	0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
	0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
	0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static inline uint32_t rotr(uint32_t x, unsigned n) { return (x >> n) | (x << (32 - n)); }

static void compress(uint32_t state[8], const uint8_t block[64])
{
	uint32_t w[64];
	for (int t = 0; t < 16; t++)
		w[t] = (uint32_t)block[4 * t] << 24 | (uint32_t)block[4 * t + 1] << 16 |
		       (uint32_t)block[4 * t + 2] << 8 | (uint32_t)block[4 * t + 3];
	for (int t = 16; t < 64; t++) {
		uint32_t s0 = rotr(w[t - 15], 7) ^ rotr(w[t - 15], 18) ^ (w[t - 15] >> 3);
		uint32_t s1 = rotr(w[t - 2], 17) ^ rotr(w[t - 2], 19) ^ (w[t - 2] >> 10);
		w[t] = w[t - 16] + s0 + w[t - 7] + s1;
	}
	uint32_t a = state[0], b = state[1], c = state[2], d = state[3];
	uint32_t e = state[4], f = state[5], g = state[6], h = state[7];
	for (int t = 0; t < 64; t++) {
		uint32_t S1 = rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25);
		uint32_t ch = (e & f) ^ (~e & g);
		uint32_t t1 = h + S1 + ch + K[t] + w[t];
		uint32_t S0 = rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22);
		uint32_t maj = (a & b) ^ (a & c) ^ (b & c);
		uint32_t t2 = S0 + maj;
		h = g; g = f; f = e; e = d + t1;
		d = c; c = b; b = a; a = t1 + t2;
	}
	state[0] += a; state[1] += b; state[2] += c; state[3] += d;
	state[4] += e; state[5] += f; state[6] += g; state[7] += h;
}

/* n_blocks blocks with the C compression above. */
static void compress_generic(uint32_t state[8], const uint8_t *p, size_t n_blocks)
{
	for (; n_blocks; n_blocks--, p += 64)
		compress(state, p);
}

#if defined(__x86_64__) || defined(__i386__)
/* The SHA extensions (Intel since Goldmont / Ice Lake, AMD since Zen): each
 * sha256rnds2 does two rounds, sha256msg1/msg2 the message schedule. State
 * layout as the instructions want it: s0 = ABEF, s1 = CDGH (lane 0 last). Group g
 * of 4 rounds uses words W[4g..4g+3]; for g >= 4 they come from the groups
 * g-4..g-1 as W[t] = s1(W[t-2]) + W[t-7] + s0(W[t-15]) + W[t-16]. Same digest as
 * compress() bit for bit (tests/hrn_common.c compares them on random lengths). */
__attribute__((target("sha,ssse3,sse4.1"))) static void compress_shani(uint32_t state[8], const uint8_t *p,
									 size_t n_blocks)
{
	const __m128i bswap = _mm_set_epi64x(0x0c0d0e0f08090a0bLL, 0x0405060700010203LL);
	__m128i tmp = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)&state[0]), 0xB1); /* CDAB */
	__m128i s1 = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)&state[4]), 0x1B);  /* EFGH */
	__m128i s0 = _mm_alignr_epi8(tmp, s1, 8);                                            /* ABEF */
	s1 = _mm_blend_epi16(s1, tmp, 0xF0);                                                 /* CDGH */
	for (; n_blocks; n_blocks--, p += 64) {
		const __m128i save0 = s0, save1 = s1;
		__m128i m[4];
		for (int g = 0; g < 16; g++) {
			__m128i w;
			if (g < 4) {
				w = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 16 * g)), bswap);
			} else { /* m[g & 3] holds group g - 4, m[(g + k) & 3] group g - 4 + k */
				w = _mm_sha256msg1_epu32(m[g & 3], m[(g + 1) & 3]);
				w = _mm_add_epi32(w, _mm_alignr_epi8(m[(g + 3) & 3], m[(g + 2) & 3], 4));
				w = _mm_sha256msg2_epu32(w, m[(g + 3) & 3]);
			}
			m[g & 3] = w;
			const __m128i wk = _mm_add_epi32(w, _mm_loadu_si128((const __m128i *)&K[4 * g]));
			s1 = _mm_sha256rnds2_epu32(s1, s0, wk);
			s0 = _mm_sha256rnds2_epu32(s0, s1, _mm_shuffle_epi32(wk, 0x0E));
		}
		s0 = _mm_add_epi32(s0, save0);
		s1 = _mm_add_epi32(s1, save1);
	}
	tmp = _mm_shuffle_epi32(s0, 0x1B);                                   /* FEBA */
	s1 = _mm_shuffle_epi32(s1, 0xB1);                                    /* DCHG */
	_mm_storeu_si128((__m128i *)&state[0], _mm_blend_epi16(tmp, s1, 0xF0)); /* DCBA */
	_mm_storeu_si128((__m128i *)&state[4], _mm_alignr_epi8(s1, tmp, 8));    /* HGFE */
}

/* SHA, SSSE3 and SSE4.1, from CPUID (leaf 7 EBX bit 29; leaf 1 ECX bits 9, 19). */
static bool cpu_has_shani(void)
{
	unsigned a, b, c, d;
	if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 9)) || !(c & (1u << 19)))
		return false;
	return __get_cpuid_count(7, 0, &a, &b, &c, &d) && (b & (1u << 29));
}
#endif

/* The compression a context uses: the SHA extensions where the CPU has them. */
static void (*pick_compress(bool generic))(uint32_t *, const uint8_t *, size_t)
{
#if defined(__x86_64__) || defined(__i386__)
	if (!generic && cpu_has_shani())
		return compress_shani;
#endif
	(void)generic;
	return compress_generic;
}

void mrl_sha256_init_generic(struct mrl_sha256 *ctx)
{
	mrl_sha256_init(ctx);
	ctx->blocks = pick_compress(true);
}

void mrl_sha256_init(struct mrl_sha256 *ctx)
{
	static const uint32_t H0[8] = { 0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
					0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19 };
	memcpy(ctx->state, H0, sizeof H0);
	ctx->n_bytes = 0;
	ctx->block_len = 0;
	ctx->blocks = pick_compress(false);
}

void mrl_sha256_update(struct mrl_sha256 *ctx, const void *data, size_t len)
{
	const uint8_t *p = data;
	ctx->n_bytes += len;
	if (ctx->block_len) {
		size_t take = 64 - ctx->block_len < len ? 64 - ctx->block_len : len;
		memcpy(ctx->block + ctx->block_len, p, take);
		ctx->block_len += take;
		p += take;
		len -= take;
		if (ctx->block_len < 64)
			return;
		ctx->blocks(ctx->state, ctx->block, 1);
		ctx->block_len = 0;
	}
	if (len >= 64) {
		ctx->blocks(ctx->state, p, len / 64);
		p += len / 64 * 64;
		len %= 64;
	}
	if (len) {
		memcpy(ctx->block, p, len);
		ctx->block_len = len;
	}
}

void mrl_sha256_final(struct mrl_sha256 *ctx, uint8_t digest[MRL_SHA256_DIGEST_LEN])
{
	uint64_t n_bits = ctx->n_bytes * 8;
	/* padding: 0x80, zeros to 56 mod 64, then the bit length big-endian */
	uint8_t pad[72] = { 0x80 };
	size_t pad_len = ctx->block_len < 56 ? 56 - ctx->block_len : 120 - ctx->block_len;
	for (int i = 0; i < 8; i++)
		pad[pad_len + i] = (uint8_t)(n_bits >> (56 - 8 * i));
	uint64_t n_bytes = ctx->n_bytes;
	mrl_sha256_update(ctx, pad, pad_len + 8);
	ctx->n_bytes = n_bytes;
	for (int i = 0; i < 8; i++) {
		digest[4 * i] = (uint8_t)(ctx->state[i] >> 24);
		digest[4 * i + 1] = (uint8_t)(ctx->state[i] >> 16);
		digest[4 * i + 2] = (uint8_t)(ctx->state[i] >> 8);
		digest[4 * i + 3] = (uint8_t)ctx->state[i];
	}
}

void mrl_sha256_hex(const uint8_t digest[MRL_SHA256_DIGEST_LEN], char hex[MRL_SHA256_HEX_LEN + 1])
{
	static const char digits[] = "0123456789abcdef";
	for (int i = 0; i < MRL_SHA256_DIGEST_LEN; i++) {
		hex[2 * i] = digits[digest[i] >> 4];
		hex[2 * i + 1] = digits[digest[i] & 15];
	}
	hex[MRL_SHA256_HEX_LEN] = '\0';
}

void mrl_sha256_buf_hex(const void *data, size_t len, char hex[MRL_SHA256_HEX_LEN + 1])
{
	struct mrl_sha256 ctx;
	uint8_t digest[MRL_SHA256_DIGEST_LEN];
	mrl_sha256_init(&ctx);
	mrl_sha256_update(&ctx, data, len);
	mrl_sha256_final(&ctx, digest);
	mrl_sha256_hex(digest, hex);
}

int mrl_sha256_file(const char *path, char hex[MRL_SHA256_HEX_LEN + 1], uint64_t *size_out,
		    struct mrl_err *err)
{
	enum { CHUNK = 1 << 20 };
	int rc = 0;
	uint8_t *buf = NULL;
	int fd = mrl_open_read(path);
	if (fd < 0)
		return mrl_err_set(err, MRL_EIO, "%s: cannot open for hashing: %s", path, strerror(errno));
	buf = malloc(CHUNK);
	if (!buf) {
		rc = mrl_err_set(err, MRL_ENOMEM, "%s: out of memory for a 1 MiB hash buffer", path);
		goto out;
	}
	struct mrl_sha256 ctx;
	mrl_sha256_init(&ctx);
	for (;;) {
		ssize_t n = read(fd, buf, CHUNK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = mrl_err_set(err, MRL_EIO, "%s: read error while hashing at byte %llu: %s", path,
					 (unsigned long long)ctx.n_bytes, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		mrl_sha256_update(&ctx, buf, (size_t)n);
	}
	if (size_out)
		*size_out = ctx.n_bytes;
	uint8_t digest[MRL_SHA256_DIGEST_LEN];
	mrl_sha256_final(&ctx, digest);
	mrl_sha256_hex(digest, hex);
out:
	free(buf);
	close(fd);
	return rc;
}
