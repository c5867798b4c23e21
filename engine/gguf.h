/* gguf.h — GGUF reading (from a memory buffer) and writing; internal to engine/.
 *
 * The reader parses a buffer (the mmap'd file, or any bytes: fuzzable) and
 * never reads outside it: every count, length, offset and size is checked
 * against the buffer size and against overflow before use. Strings and tensor
 * data point into the buffer (no copies); the buffer must outlive the context.
 * Spec: GGUF v2/v3 (little-endian), general.alignment (default 32; a power of
 * two and, as the spec requires, a multiple of 8: smaller ones are refused, since
 * tensor data would then sit at addresses its loads may not use).
 */
#ifndef MRL_GGUF_H
#define MRL_GGUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

enum gguf_vtype {
	GGUF_U8 = 0, GGUF_I8 = 1, GGUF_U16 = 2, GGUF_I16 = 3, GGUF_U32 = 4, GGUF_I32 = 5,
	GGUF_F32 = 6, GGUF_BOOL = 7, GGUF_STRING = 8, GGUF_ARRAY = 9, GGUF_U64 = 10,
	GGUF_I64 = 11, GGUF_F64 = 12,
};

/* A string inside the buffer: not NUL-terminated. */
struct gguf_str {
	const char *ptr;
	uint64_t len;
};

struct gguf_kv {
	struct gguf_str key;
	enum gguf_vtype type;
	union {
		uint64_t u;     /* unsigned integers and bool */
		int64_t i;      /* signed integers */
		double f;       /* F32, F64 */
		struct gguf_str s;
	} v;
	/* type == GGUF_ARRAY: */
	enum gguf_vtype arr_type;
	uint64_t arr_n;
	const uint8_t *arr_data;    /* raw element data in the buffer (scalars: packed little-endian) */
	struct gguf_str *arr_strs;  /* arr_type == GGUF_STRING: arr_n strings, owned by the context */
	uint64_t arr_nbytes;        /* bytes of the element data at arr_data, as stored in the file */
};

struct gguf_tensor {
	struct gguf_str name;
	uint32_t n_dims;       /* 1..4 */
	uint64_t ne[4];        /* ne[0] contiguous; unused dims are 1 */
	uint32_t type;         /* ggml type id (see types.h) */
	uint64_t offset;       /* relative to the data section */
	const void *data;      /* inside the buffer, aligned */
	uint64_t nbytes;
	uint64_t n_elements;
};

struct gguf_ctx;

/* Parse size bytes at buf. name (the file path) prefixes every error message.
 * A file with tensors needs buf 8-byte aligned (mmap and malloc give that), so
 * that every tensor's data is. On success *out is a new context; free it with gguf_free(). */
int gguf_parse(const void *buf, size_t size, const char *name, struct gguf_ctx **out,
	       struct mrl_err *err);
void gguf_free(struct gguf_ctx *g);

uint32_t gguf_version(const struct gguf_ctx *g);
uint32_t gguf_alignment(const struct gguf_ctx *g);
size_t gguf_n_kv(const struct gguf_ctx *g);
const struct gguf_kv *gguf_kv_at(const struct gguf_ctx *g, size_t i);
/* The entry for key, or NULL when absent. */
const struct gguf_kv *gguf_find(const struct gguf_ctx *g, const char *key);

/* Typed getters. Return 0 and set *out; 1 when the key is absent (*out untouched);
 * MRL_EINPUT (message names the key) when present with an unusable type or value.
 * Integer getters accept any integer type whose value fits. */
int gguf_get_u32(const struct gguf_ctx *g, const char *key, uint32_t *out, struct mrl_err *err);
int gguf_get_i32(const struct gguf_ctx *g, const char *key, int32_t *out, struct mrl_err *err);
int gguf_get_f32(const struct gguf_ctx *g, const char *key, float *out, struct mrl_err *err);
int gguf_get_bool(const struct gguf_ctx *g, const char *key, bool *out, struct mrl_err *err);
int gguf_get_str(const struct gguf_ctx *g, const char *key, struct gguf_str *out, struct mrl_err *err);
/* An array of the given element type: *n elements. */
int gguf_get_arr(const struct gguf_ctx *g, const char *key, enum gguf_vtype elem_type,
		 const struct gguf_kv **out, struct mrl_err *err);
/* Element i of a scalar array as float / int64 (array type checked by gguf_get_arr). */
float gguf_arr_f32(const struct gguf_kv *kv, uint64_t i);
int64_t gguf_arr_int(const struct gguf_kv *kv, uint64_t i);

size_t gguf_n_tensors(const struct gguf_ctx *g);
const struct gguf_tensor *gguf_tensor_at(const struct gguf_ctx *g, size_t i);
const struct gguf_tensor *gguf_find_tensor(const struct gguf_ctx *g, const char *name);

/* True when s equals the NUL-terminated c. */
bool gguf_str_eq(struct gguf_str s, const char *c);

/* ---- writer (for `merilo synth` and for building damaged test files) ---- */
struct gguf_writer;
struct gguf_writer *gguf_writer_new(void);  /* NULL on out of memory */
void gguf_writer_free(struct gguf_writer *w);
int gguf_writer_set_u32(struct gguf_writer *w, const char *key, uint32_t v);
int gguf_writer_set_i32(struct gguf_writer *w, const char *key, int32_t v);
int gguf_writer_set_f32(struct gguf_writer *w, const char *key, float v);
int gguf_writer_set_bool(struct gguf_writer *w, const char *key, bool v);
int gguf_writer_set_str(struct gguf_writer *w, const char *key, const char *v);
/* Copy an entry (any type, arrays included) from a parsed file, e.g. tokenizer.* keys. */
int gguf_writer_copy_kv(struct gguf_writer *w, const struct gguf_kv *kv);
/* Add a tensor; data (nbytes, of the given ggml type) is copied. */
int gguf_writer_add_tensor(struct gguf_writer *w, const char *name, uint32_t type,
			   uint32_t n_dims, const uint64_t *ne, const void *data, uint64_t nbytes);
/* Write the file atomically (temp + fsync + rename). */
int gguf_writer_write(struct gguf_writer *w, const char *path, struct mrl_err *err);

/* Further setters. Setting a key again replaces its value; the set/add calls
 * return 0, MRL_ENOMEM, or MRL_EINPUT (bad argument: the message is kept and
 * reported by the next write call). Files are GGUF v3; the alignment is
 * general.alignment where set (u32, power of two), else 32. */
/* A scalar of any scalar type; bits holds the little-endian value (f32: its bit pattern). */
int gguf_writer_set_scalar(struct gguf_writer *w, const char *key, enum gguf_vtype type, uint64_t bits);
/* An array of n scalars of elem_type, packed little-endian at data. */
int gguf_writer_set_arr(struct gguf_writer *w, const char *key, enum gguf_vtype elem_type,
			uint64_t n, const void *data);
/* An array of n NUL-terminated strings. */
int gguf_writer_set_arr_str(struct gguf_writer *w, const char *key, const char *const *strs, uint64_t n);
/* A value of the given type whose serialized body (what follows the type id in
 * the file) is given verbatim: for nested arrays, and for building damaged files in tests. */
int gguf_writer_set_raw(struct gguf_writer *w, const char *key, enum gguf_vtype type,
			const void *body, size_t nbytes);

/* Streaming: add_tensor with data == NULL declares a tensor whose nbytes of data
 * are produced at write time by a fill callback, so that a file larger than memory
 * can be written. fill(user, i, sink, err) is called once per such tensor, in
 * order, and must write exactly its nbytes through gguf_sink_write. */
struct gguf_sink;
typedef int (*gguf_fill_fn)(void *user, size_t tensor_index, struct gguf_sink *sink, struct mrl_err *err);
int gguf_sink_write(struct gguf_sink *s, const void *data, size_t n, struct mrl_err *err);
/* Like gguf_writer_write, calling fill for the tensors added without data. */
int gguf_writer_write_fill(struct gguf_writer *w, const char *path, gguf_fill_fn fill, void *user,
			   struct mrl_err *err);
/* Serialize into memory: *buf_out is malloc'd (the caller frees it). Every tensor needs data. */
int gguf_writer_to_buffer(struct gguf_writer *w, void **buf_out, size_t *size_out, struct mrl_err *err);

#endif
