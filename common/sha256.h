/* sha256.h — SHA-256 (FIPS 180-4), streaming, for model and suite fingerprints.
 *
 * A result is only comparable with another when both name the same model and
 * suite bytes; the manifest records their SHA-256. Models are gigabytes, so the
 * hash is streamed: init, update with chunks of any size, final. No allocation,
 * no global state; a context is a plain value on the caller's stack. Where the
 * CPU has SHA instructions (SHA-NI) they compress the blocks: a 14 GB model
 * hashes several times faster.
 */
#ifndef MRL_SHA256_H
#define MRL_SHA256_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

#define MRL_SHA256_DIGEST_LEN 32
#define MRL_SHA256_HEX_LEN 64 /* characters, without the terminating NUL */

struct mrl_sha256 {
	uint32_t state[8];
	uint64_t n_bytes;     /* total bytes hashed so far */
	uint8_t block[64];    /* pending partial block */
	size_t block_len;     /* bytes used in block, < 64 */
	/* the compression of n 64-byte blocks: the CPU's SHA instructions where it has
	 * them (x86 SHA-NI, chosen at run time), else portable C; same digest either way */
	void (*blocks)(uint32_t state[8], const uint8_t *data, size_t n_blocks);
};

/* Start a new hash. */
void mrl_sha256_init(struct mrl_sha256 *ctx);
/* Start a new hash that uses the portable C compression even where the CPU has
 * SHA instructions (for tests comparing the two). */
void mrl_sha256_init_generic(struct mrl_sha256 *ctx);

/* Hash len more bytes (len may be 0; data may then be NULL). */
void mrl_sha256_update(struct mrl_sha256 *ctx, const void *data, size_t len);

/* Finish and write the 32-byte digest; ctx must be re-initialised before reuse. */
void mrl_sha256_final(struct mrl_sha256 *ctx, uint8_t digest[MRL_SHA256_DIGEST_LEN]);

/* Write the digest as 64 lowercase hex characters plus NUL into hex. */
void mrl_sha256_hex(const uint8_t digest[MRL_SHA256_DIGEST_LEN], char hex[MRL_SHA256_HEX_LEN + 1]);

/* One-shot: hash a buffer into lowercase hex. */
void mrl_sha256_buf_hex(const void *data, size_t len, char hex[MRL_SHA256_HEX_LEN + 1]);

/* Hash a whole file, read in 1 MiB chunks, into lowercase hex; *size_out (may be
 * NULL) gets the number of bytes hashed. Returns 0, or MRL_EIO / MRL_ENOMEM with
 * err naming the path and the errno text. */
int mrl_sha256_file(const char *path, char hex[MRL_SHA256_HEX_LEN + 1], uint64_t *size_out,
		    struct mrl_err *err);

#endif
