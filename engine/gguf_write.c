/* gguf_write.c — the GGUF writer (see gguf.h): v3, little-endian.
 *
 * Metadata values are serialized into a byte string as they are set, so the
 * header is written in one pass. Tensor data is either copied at add time or
 * produced at write time by a fill callback (so `merilo synth` can write a 7B
 * model without holding it). Every tensor starts at a multiple of the alignment
 * relative to the data section, which itself starts at the aligned offset after
 * the tensor infos; padding is zeros. Files are written to a temporary name in
 * the same folder, fsync'd, and renamed over the target, so a reader never sees
 * a half-written file.
 */
#include "engine/gguf.h"
#include "common/fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/types.h"

struct wkv {
	char *key;
	enum gguf_vtype type;
	uint8_t *body; /* serialized value (what follows the type id) */
	size_t nbytes;
};

struct wtensor {
	char *name;
	uint32_t type;
	uint32_t n_dims;
	uint64_t ne[4];
	uint64_t nbytes;
	uint64_t offset; /* within the data section; set at write time */
	void *data;      /* copy, or NULL when filled at write time */
};

struct gguf_writer {
	struct wkv *kvs;
	size_t n_kv, cap_kv;
	struct wtensor *tensors;
	size_t n_tensors, cap_tensors;
	int bad;           /* first argument error (MRL_EINPUT/MRL_ENOMEM), reported by write */
	char bad_msg[512];
};

/* Output: a FILE, or a growing memory buffer. */
struct gguf_sink {
	FILE *f;
	uint8_t *mem;
	size_t mem_len, mem_cap;
	uint64_t written;  /* bytes so far */
	uint64_t limit;    /* during a fill: the offset the current tensor must end at */
	const char *path;
};

static int note_bad(struct gguf_writer *w, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int note_bad(struct gguf_writer *w, int code, const char *fmt, ...)
{
	if (!w->bad) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(w->bad_msg, sizeof w->bad_msg, fmt, ap);
		va_end(ap);
		w->bad = code;
	}
	return code;
}

struct gguf_writer *gguf_writer_new(void)
{
	return calloc(1, sizeof(struct gguf_writer));
}

void gguf_writer_free(struct gguf_writer *w)
{
	if (!w)
		return;
	for (size_t i = 0; i < w->n_kv; i++) {
		free(w->kvs[i].key);
		free(w->kvs[i].body);
	}
	for (size_t i = 0; i < w->n_tensors; i++) {
		free(w->tensors[i].name);
		free(w->tensors[i].data);
	}
	free(w->kvs);
	free(w->tensors);
	free(w);
}

static size_t scalar_size(enum gguf_vtype t)
{
	switch (t) {
	case GGUF_U8: case GGUF_I8: case GGUF_BOOL: return 1;
	case GGUF_U16: case GGUF_I16: return 2;
	case GGUF_U32: case GGUF_I32: case GGUF_F32: return 4;
	case GGUF_U64: case GGUF_I64: case GGUF_F64: return 8;
	default: return 0;
	}
}

static void put_le(uint8_t *p, uint64_t v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* Store key = (type, body); body is taken over (freed on failure). */
static int set_body(struct gguf_writer *w, const char *key, enum gguf_vtype type, uint8_t *body, size_t n)
{
	if (!body)
		return note_bad(w, MRL_ENOMEM, "out of memory for key '%s'", key);
	for (size_t i = 0; i < w->n_kv; i++)
		if (!strcmp(w->kvs[i].key, key)) {
			free(w->kvs[i].body);
			w->kvs[i].type = type;
			w->kvs[i].body = body;
			w->kvs[i].nbytes = n;
			return 0;
		}
	if (!*key) {
		free(body);
		return note_bad(w, MRL_EINPUT, "empty key");
	}
	if (w->n_kv == w->cap_kv) {
		size_t cap = w->cap_kv ? 2 * w->cap_kv : 32;
		struct wkv *kvs = realloc(w->kvs, cap * sizeof *kvs);
		if (!kvs) {
			free(body);
			return note_bad(w, MRL_ENOMEM, "out of memory for key '%s'", key);
		}
		w->kvs = kvs;
		w->cap_kv = cap;
	}
	char *k = strdup(key);
	if (!k) {
		free(body);
		return note_bad(w, MRL_ENOMEM, "out of memory for key '%s'", key);
	}
	w->kvs[w->n_kv++] = (struct wkv){ k, type, body, n };
	return 0;
}

/* malloc(n) that never returns NULL for n == 0 */
static uint8_t *body_alloc(size_t n)
{
	return malloc(n ? n : 1);
}

int gguf_writer_set_scalar(struct gguf_writer *w, const char *key, enum gguf_vtype type, uint64_t bits)
{
	size_t n = scalar_size(type);
	if (!n)
		return note_bad(w, MRL_EINPUT, "key '%s': type %d is not a scalar type", key, (int)type);
	uint8_t *b = body_alloc(n);
	if (b)
		put_le(b, bits, n);
	return set_body(w, key, type, b, n);
}

int gguf_writer_set_u32(struct gguf_writer *w, const char *key, uint32_t v)
{
	return gguf_writer_set_scalar(w, key, GGUF_U32, v);
}

int gguf_writer_set_i32(struct gguf_writer *w, const char *key, int32_t v)
{
	return gguf_writer_set_scalar(w, key, GGUF_I32, (uint32_t)v);
}

int gguf_writer_set_f32(struct gguf_writer *w, const char *key, float v)
{
	uint32_t bits;
	memcpy(&bits, &v, 4);
	return gguf_writer_set_scalar(w, key, GGUF_F32, bits);
}

int gguf_writer_set_bool(struct gguf_writer *w, const char *key, bool v)
{
	return gguf_writer_set_scalar(w, key, GGUF_BOOL, v ? 1 : 0);
}

int gguf_writer_set_str(struct gguf_writer *w, const char *key, const char *v)
{
	size_t len = strlen(v);
	uint8_t *b = body_alloc(8 + len);
	if (b) {
		put_le(b, len, 8);
		memcpy(b + 8, v, len);
	}
	return set_body(w, key, GGUF_STRING, b, 8 + len);
}

int gguf_writer_set_arr(struct gguf_writer *w, const char *key, enum gguf_vtype elem_type,
			uint64_t n, const void *data)
{
	size_t es = scalar_size(elem_type);
	if (!es)
		return note_bad(w, MRL_EINPUT, "key '%s': array element type %d is not a scalar type",
				key, (int)elem_type);
	if (n > (SIZE_MAX - 12) / es)
		return note_bad(w, MRL_EINPUT, "key '%s': array too large", key);
	uint8_t *b = body_alloc(12 + n * es);
	if (b) {
		put_le(b, (uint64_t)elem_type, 4);
		put_le(b + 4, n, 8);
		if (n)
			memcpy(b + 12, data, n * es);
	}
	return set_body(w, key, GGUF_ARRAY, b, 12 + n * es);
}

int gguf_writer_set_arr_str(struct gguf_writer *w, const char *key, const char *const *strs, uint64_t n)
{
	size_t total = 12;
	for (uint64_t i = 0; i < n; i++)
		total += 8 + strlen(strs[i]);
	uint8_t *b = body_alloc(total);
	if (b) {
		put_le(b, GGUF_STRING, 4);
		put_le(b + 4, n, 8);
		size_t pos = 12;
		for (uint64_t i = 0; i < n; i++) {
			size_t len = strlen(strs[i]);
			put_le(b + pos, len, 8);
			memcpy(b + pos + 8, strs[i], len);
			pos += 8 + len;
		}
	}
	return set_body(w, key, GGUF_ARRAY, b, total);
}

int gguf_writer_set_raw(struct gguf_writer *w, const char *key, enum gguf_vtype type,
			const void *body, size_t nbytes)
{
	uint8_t *b = body_alloc(nbytes);
	if (b && nbytes)
		memcpy(b, body, nbytes);
	return set_body(w, key, type, b, nbytes);
}

int gguf_writer_copy_kv(struct gguf_writer *w, const struct gguf_kv *kv)
{
	char key[1024];
	if (kv->key.len >= sizeof key)
		return note_bad(w, MRL_EINPUT, "key of %llu bytes too long to copy", (unsigned long long)kv->key.len);
	memcpy(key, kv->key.ptr, kv->key.len);
	key[kv->key.len] = '\0';
	switch (kv->type) {
	case GGUF_STRING: {
		uint8_t *b = body_alloc(8 + kv->v.s.len);
		if (b) {
			put_le(b, kv->v.s.len, 8);
			memcpy(b + 8, kv->v.s.ptr, kv->v.s.len);
		}
		return set_body(w, key, GGUF_STRING, b, 8 + kv->v.s.len);
	}
	case GGUF_ARRAY: {
		/* the element data is kept verbatim, nested arrays included */
		uint8_t *b = body_alloc(12 + kv->arr_nbytes);
		if (b) {
			put_le(b, (uint64_t)kv->arr_type, 4);
			put_le(b + 4, kv->arr_n, 8);
			if (kv->arr_nbytes)
				memcpy(b + 12, kv->arr_data, kv->arr_nbytes);
		}
		return set_body(w, key, GGUF_ARRAY, b, 12 + kv->arr_nbytes);
	}
	case GGUF_F32: return gguf_writer_set_f32(w, key, (float)kv->v.f);
	case GGUF_F64: {
		uint64_t bits;
		memcpy(&bits, &kv->v.f, 8);
		return gguf_writer_set_scalar(w, key, GGUF_F64, bits);
	}
	case GGUF_I8: case GGUF_I16: case GGUF_I32: case GGUF_I64:
		return gguf_writer_set_scalar(w, key, kv->type, (uint64_t)kv->v.i);
	default:
		return gguf_writer_set_scalar(w, key, kv->type, kv->v.u);
	}
}

int gguf_writer_add_tensor(struct gguf_writer *w, const char *name, uint32_t type,
			   uint32_t n_dims, const uint64_t *ne, const void *data, uint64_t nbytes)
{
	if (!*name)
		return note_bad(w, MRL_EINPUT, "tensor with an empty name");
	for (size_t i = 0; i < w->n_tensors; i++)
		if (!strcmp(w->tensors[i].name, name))
			return note_bad(w, MRL_EINPUT, "duplicate tensor '%s'", name);
	if (n_dims < 1 || n_dims > 4)
		return note_bad(w, MRL_EINPUT, "tensor '%s': n_dims %u out of range 1..4", name, n_dims);
	uint64_t n_rows = 1, row;
	for (uint32_t d = 1; d < n_dims; d++) {
		if (!ne[d] || n_rows > UINT64_MAX / ne[d])
			return note_bad(w, MRL_EINPUT, "tensor '%s': bad ne[%u]", name, d);
		n_rows *= ne[d];
	}
	if (!ne[0] || eng_row_size(type, ne[0], &row) || (n_rows && row > UINT64_MAX / n_rows))
		return note_bad(w, MRL_EINPUT, "tensor '%s': type %u with ne[0] = %llu has no valid size",
				name, type, (unsigned long long)ne[0]);
	if (row * n_rows != nbytes)
		return note_bad(w, MRL_EINPUT, "tensor '%s': %llu bytes given, its shape needs %llu",
				name, (unsigned long long)nbytes, (unsigned long long)(row * n_rows));
	if (w->n_tensors == w->cap_tensors) {
		size_t cap = w->cap_tensors ? 2 * w->cap_tensors : 64;
		struct wtensor *t = realloc(w->tensors, cap * sizeof *t);
		if (!t)
			return note_bad(w, MRL_ENOMEM, "out of memory for tensor '%s'", name);
		w->tensors = t;
		w->cap_tensors = cap;
	}
	struct wtensor t = { .type = type, .n_dims = n_dims, .nbytes = nbytes, .ne = { 1, 1, 1, 1 } };
	for (uint32_t d = 0; d < n_dims; d++)
		t.ne[d] = ne[d];
	t.name = strdup(name);
	if (data) {
		if (nbytes > SIZE_MAX || !(t.data = malloc(nbytes ? nbytes : 1))) {
			free(t.name);
			return note_bad(w, MRL_ENOMEM, "out of memory for tensor '%s' (%llu bytes)", name,
					(unsigned long long)nbytes);
		}
		memcpy(t.data, data, nbytes);
	}
	if (!t.name) {
		free(t.data);
		return note_bad(w, MRL_ENOMEM, "out of memory for tensor '%s'", name);
	}
	w->tensors[w->n_tensors++] = t;
	return 0;
}

/* ---- output ---- */

static int sink_put(struct gguf_sink *s, const void *data, size_t n, struct mrl_err *err)
{
	if (s->f) {
		char why[128];
		if (n && fwrite(data, 1, n, s->f) != n)
			return mrl_err_set(err, MRL_EWRITE, "%s: write failed: %s", s->path,
					   mrl_io_strerror(errno, why, sizeof why));
	} else if (n) {
		if (s->mem_len + n > s->mem_cap) {
			size_t cap = s->mem_cap ? s->mem_cap : 4096;
			while (cap < s->mem_len + n)
				cap *= 2;
			uint8_t *m = realloc(s->mem, cap);
			if (!m)
				return mrl_err_set(err, MRL_ENOMEM, "%s: out of memory", s->path);
			s->mem = m;
			s->mem_cap = cap;
		}
		memcpy(s->mem + s->mem_len, data, n);
		s->mem_len += n;
	}
	s->written += n;
	return 0;
}

int gguf_sink_write(struct gguf_sink *s, const void *data, size_t n, struct mrl_err *err)
{
	if (n > s->limit - s->written)
		return mrl_err_set(err, MRL_EINPUT, "%s: fill callback wrote more than the tensor's size", s->path);
	return sink_put(s, data, n, err);
}

static int put_u32(struct gguf_sink *s, uint32_t v, struct mrl_err *err)
{
	uint8_t b[4];
	put_le(b, v, 4);
	return sink_put(s, b, 4, err);
}

static int put_u64(struct gguf_sink *s, uint64_t v, struct mrl_err *err)
{
	uint8_t b[8];
	put_le(b, v, 8);
	return sink_put(s, b, 8, err);
}

static int put_str(struct gguf_sink *s, const char *str, struct mrl_err *err)
{
	size_t len = strlen(str);
	int rc = put_u64(s, len, err);
	return rc ? rc : sink_put(s, str, len, err);
}

static int put_pad(struct gguf_sink *s, uint64_t align, struct mrl_err *err)
{
	static const uint8_t zeros[256];
	while (s->written % align) {
		uint64_t n = align - s->written % align;
		int rc = sink_put(s, zeros, n > sizeof zeros ? sizeof zeros : (size_t)n, err);
		if (rc)
			return rc;
	}
	return 0;
}

static uint64_t writer_alignment(const struct gguf_writer *w)
{
	for (size_t i = 0; i < w->n_kv; i++)
		if (!strcmp(w->kvs[i].key, "general.alignment") && w->kvs[i].type == GGUF_U32) {
			const uint8_t *b = w->kvs[i].body;
			uint64_t a = (uint64_t)b[0] | (uint64_t)b[1] << 8 | (uint64_t)b[2] << 16 | (uint64_t)b[3] << 24;
			if (a && !(a & (a - 1)))
				return a;
		}
	return 32;
}

static int emit(struct gguf_writer *w, struct gguf_sink *s, gguf_fill_fn fill, void *user, struct mrl_err *err)
{
	if (w->bad)
		return mrl_err_set(err, w->bad, "%s: %s", s->path, w->bad_msg);
	uint64_t align = writer_alignment(w);
	uint64_t off = 0;
	for (size_t i = 0; i < w->n_tensors; i++) {
		w->tensors[i].offset = off;
		uint64_t end = off + w->tensors[i].nbytes;
		if (end < off || end > UINT64_MAX - align)
			return mrl_err_set(err, MRL_EINPUT, "%s: tensor data too large", s->path);
		off = (end + align - 1) / align * align;
		if (!w->tensors[i].data && !fill)
			return mrl_err_set(err, MRL_EINPUT, "%s: tensor '%s' has no data", s->path,
					   w->tensors[i].name);
	}
	int rc;
	if ((rc = sink_put(s, "GGUF", 4, err)) || (rc = put_u32(s, 3, err)) ||
	    (rc = put_u64(s, w->n_tensors, err)) || (rc = put_u64(s, w->n_kv, err)))
		return rc;
	for (size_t i = 0; i < w->n_kv; i++) {
		if ((rc = put_str(s, w->kvs[i].key, err)) || (rc = put_u32(s, w->kvs[i].type, err)) ||
		    (rc = sink_put(s, w->kvs[i].body, w->kvs[i].nbytes, err)))
			return rc;
	}
	for (size_t i = 0; i < w->n_tensors; i++) {
		const struct wtensor *t = &w->tensors[i];
		if ((rc = put_str(s, t->name, err)) || (rc = put_u32(s, t->n_dims, err)))
			return rc;
		for (uint32_t d = 0; d < t->n_dims; d++)
			if ((rc = put_u64(s, t->ne[d], err)))
				return rc;
		if ((rc = put_u32(s, t->type, err)) || (rc = put_u64(s, t->offset, err)))
			return rc;
	}
	if (w->n_tensors && (rc = put_pad(s, align, err)))
		return rc;
	uint64_t data_start = s->written;
	for (size_t i = 0; i < w->n_tensors; i++) {
		const struct wtensor *t = &w->tensors[i];
		if ((rc = put_pad(s, align, err)))
			return rc;
		if (t->data) {
			rc = sink_put(s, t->data, t->nbytes, err);
		} else {
			s->limit = data_start + t->offset + t->nbytes;
			rc = fill(user, i, s, err);
			if (!rc && s->written != s->limit)
				rc = mrl_err_set(err, MRL_EINPUT, "%s: tensor '%s': fill wrote %llu of %llu bytes",
						 s->path, t->name,
						 (unsigned long long)(s->written - data_start - t->offset),
						 (unsigned long long)t->nbytes);
		}
		if (rc)
			return rc;
	}
	return w->n_tensors ? put_pad(s, align, err) : 0; /* the file ends padded, as llama.cpp's */
}

int gguf_writer_write_fill(struct gguf_writer *w, const char *path, gguf_fill_fn fill, void *user,
			   struct mrl_err *err)
{
	size_t plen = strlen(path);
	char *tmp = malloc(plen + 16), why[128];
	int rc = 0, fd = -1;
	struct gguf_sink s = { .path = path };
	if (!tmp)
		return mrl_err_set(err, MRL_ENOMEM, "%s: out of memory", path);
	memcpy(tmp, path, plen);
	memcpy(tmp + plen, ".tmp.XXXXXX", 12);
	fd = mkstemp(tmp);
	if (fd < 0) {
		rc = mrl_err_set(err, MRL_EWRITE, "%s: cannot create a temporary file next to it: %s", path,
				 strerror(errno));
		free(tmp);
		return rc;
	}
	fchmod(fd, 0644);
	s.f = fdopen(fd, "wb");
	if (!s.f) {
		rc = mrl_err_set(err, MRL_EWRITE, "%s: %s", path, strerror(errno));
		close(fd);
		goto out;
	}
	setvbuf(s.f, NULL, _IOFBF, 1 << 20);
	if ((rc = emit(w, &s, fill, user, err)))
		goto out;
	if (fflush(s.f) || fsync(fileno(s.f))) {
		rc = mrl_err_set(err, MRL_EWRITE, "%s: write failed: %s", path, mrl_io_strerror(errno, why, sizeof why));
		goto out;
	}
	FILE *f = s.f;
	s.f = NULL;
	if (fclose(f)) {
		rc = mrl_err_set(err, MRL_EWRITE, "%s: write failed: %s", path, mrl_io_strerror(errno, why, sizeof why));
		goto out;
	}
	if (rename(tmp, path)) {
		rc = mrl_err_set(err, MRL_EWRITE, "%s: cannot rename the temporary file into place: %s", path,
				 strerror(errno));
		goto out;
	}
out:
	if (s.f)
		fclose(s.f);
	if (rc)
		unlink(tmp);
	free(tmp);
	return rc;
}

int gguf_writer_write(struct gguf_writer *w, const char *path, struct mrl_err *err)
{
	return gguf_writer_write_fill(w, path, NULL, NULL, err);
}

int gguf_writer_to_buffer(struct gguf_writer *w, void **buf_out, size_t *size_out, struct mrl_err *err)
{
	struct gguf_sink s = { .path = "(buffer)" };
	int rc = emit(w, &s, NULL, NULL, err);
	if (rc) {
		free(s.mem);
		return rc;
	}
	*buf_out = s.mem ? (void *)s.mem : malloc(1);
	*size_out = s.mem_len;
	return *buf_out ? 0 : mrl_err_set(err, MRL_ENOMEM, "out of memory");
}
