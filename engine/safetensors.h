/* safetensors.h — reading Hugging Face safetensors files; internal to engine/.
 *
 * A safetensors file is an 8-byte little-endian header length N, N bytes of
 * JSON ({"name": {"dtype", "shape", "data_offsets": [begin, end]}, ...,
 * "__metadata__": {...}}), then the data. st_parse reads any buffer (the
 * mmap'd file, or bytes in a test) and never reads outside it: the header
 * length is capped and checked against the buffer, the JSON's nesting depth
 * is checked before jansson sees it, every shape's product and every offset
 * pair is checked against overflow, its dtype and the data section, and no
 * two tensors may overlap. Tensors point into the buffer (zero copy).
 */
#ifndef MRL_SAFETENSORS_H
#define MRL_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

#define ST_MAX_HEADER (100u << 20) /* 100 MiB, as the safetensors library */
#define ST_MAX_DEPTH 8             /* the format nests 3 deep */
#define ST_MAX_DIMS 4

struct st_tensor {
	char *name;           /* the file's name for it, malloc'd */
	uint32_t type;        /* ggml type id: ENG_TYPE_F32, _F16 or _BF16 */
	uint32_t n_dims;      /* 0..4 (a scalar has 0) */
	uint64_t shape[ST_MAX_DIMS]; /* as stored: shape[n_dims - 1] is contiguous */
	const void *data;     /* inside the buffer */
	uint64_t nbytes;
};

/* Parse size bytes at buf; name (the file path) prefixes messages. On success
 * *out is a malloc'd array of *n tensors (free with st_tensors_free); they
 * point into buf, which must outlive them. MRL_EINPUT for a malformed file,
 * MRL_EUNSUPPORTED naming a dtype other than F32/F16/BF16. */
int st_parse(const void *buf, size_t size, const char *name, struct st_tensor **out, size_t *n,
	     struct mrl_err *err);
void st_tensors_free(struct st_tensor *t, size_t n);

#endif
