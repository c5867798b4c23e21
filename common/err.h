/* err.h — the error record every library module fills instead of printing.
 *
 * Library code (engine, tasks, metrics, reports) never prints and never exits:
 * a function returns 0 on success or a negative MRL_E* code, and writes a
 * one-line human message into a caller-supplied struct mrl_err. The message
 * names the file and the position or field ("model.gguf: tensor 3 'blk.0.attn_q.weight':
 * data offset 123 past end of file (size 100)"). The harness maps codes to exit codes.
 */
#ifndef MRL_ERR_H
#define MRL_ERR_H

#include <stddef.h>

enum mrl_errcode {
	MRL_OK = 0,
	MRL_EINPUT = -1,       /* bad input: malformed, truncated, hostile, unsupported content -> exit 3 */
	MRL_EIO = -2,          /* an input file could not be opened or read -> exit 3 */
	MRL_ENOMEM = -3,       /* out of memory, or a model too big for memory -> exit 4 */
	MRL_EUNSUPPORTED = -4, /* valid input we do not handle (unknown arch, dtype) -> exit 3 */
	MRL_ERUNTIME = -5,     /* anything else that failed while running (GPU, threads) -> exit 4 */
	MRL_EWRITE = -6,       /* an output could not be written (disk full, no permission, no folder) -> exit 4 */
};

struct mrl_err {
	int code;
	char msg[1024];
};

/* Set the record's code and message (printf-style); returns code so that
 * callers can write `return mrl_err_set(err, MRL_EINPUT, "...")`.
 * err may be NULL (the message is then dropped). */
int mrl_err_set(struct mrl_err *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Prepend "prefix: " to an existing message (e.g. a file name added by a caller). */
void mrl_err_prefix(struct mrl_err *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Reset to MRL_OK with an empty message. */
void mrl_err_clear(struct mrl_err *err);

#endif
