/* gguf.c — the GGUF reader (see gguf.h).
 *
 * The input is untrusted. A cursor walks the buffer, and every read first
 * checks that the bytes are there; every count is checked against the bytes
 * left (each element needs at least a known minimum number of bytes) before
 * anything is allocated, and every size computation is checked for overflow.
 * So a header that claims 2^60 entries fails at once with a message, and no
 * read or allocation ever depends on an unchecked number.
 *
 * Errors read "<file>: <where>: <what>", where <where> is "header",
 * "kv 12 ('tokenizer.ggml.tokens')" or "tensor 3 ('blk.0.attn_q.weight')".
 * Strings and tensor data point into the buffer; only the kv/tensor tables,
 * the string-array tables and two hash indexes (for duplicate detection and
 * O(1) lookup) are allocated.
 */
#include "engine/gguf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/types.h"

#define GGUF_DEFAULT_ALIGNMENT 32
#define GGUF_MIN_ALIGNMENT 8   /* the spec: general.alignment is a multiple of 8 */
#define GGUF_MAX_ARRAY_DEPTH 8 /* nested arrays deeper than this are refused */

struct gguf_ctx {
	const uint8_t *buf;
	size_t size;
	char *name;
	uint32_t version;
	uint32_t alignment;
	uint64_t data_offset;
	size_t n_kv;
	struct gguf_kv *kvs;
	size_t n_tensors;
	struct gguf_tensor *tensors;
	/* open-addressing indexes: slot holds index + 1, 0 = empty; capacity a power of two */
	size_t *kv_index, kv_cap;
	size_t *tensor_index, tensor_cap;
};

struct parser {
	const uint8_t *buf;
	size_t size;
	size_t pos;
	const char *name;
	char where[160];
	struct mrl_err *err;
};

static const char *vtype_name(uint32_t t)
{
	static const char *const names[] = { "u8", "i8", "u16", "i16", "u32", "i32", "f32",
					     "bool", "string", "array", "u64", "i64", "f64" };
	return t < sizeof names / sizeof names[0] ? names[t] : "invalid";
}

/* Size of a scalar value type; 0 for string, array and invalid types. */
static size_t vtype_size(uint32_t t)
{
	switch (t) {
	case GGUF_U8: case GGUF_I8: case GGUF_BOOL: return 1;
	case GGUF_U16: case GGUF_I16: return 2;
	case GGUF_U32: case GGUF_I32: case GGUF_F32: return 4;
	case GGUF_U64: case GGUF_I64: case GGUF_F64: return 8;
	default: return 0;
	}
}

static bool vtype_is_int(uint32_t t)
{
	return t <= GGUF_I32 || t == GGUF_U64 || t == GGUF_I64;
}

static bool vtype_is_signed(uint32_t t)
{
	return t == GGUF_I8 || t == GGUF_I16 || t == GGUF_I32 || t == GGUF_I64;
}

static int perr(struct parser *p, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int perr(struct parser *p, int code, const char *fmt, ...)
{
	char what[700];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	return mrl_err_set(p->err, code, "%s: %s: %s", p->name, p->where, what);
}

/* A printable, shortened copy of a name from the file for messages. */
static void printable(char *out, size_t out_size, const char *s, uint64_t len)
{
	size_t n = 0;
	for (uint64_t i = 0; i < len && n + 4 < out_size; i++) {
		unsigned char c = (unsigned char)s[i];
		out[n++] = c >= 0x20 && c < 0x7f && c != '\'' ? (char)c : '?';
	}
	if (len > 0 && n + 4 >= out_size && n < len) {
		out[n++] = '.';
		out[n++] = '.';
		out[n++] = '.';
	}
	out[n] = '\0';
}

static uint64_t rd_le(const uint8_t *p, size_t n)
{
	uint64_t v = 0;
	for (size_t i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

static size_t remaining(const struct parser *p)
{
	return p->size - p->pos;
}

static int need(struct parser *p, uint64_t n, const char *what)
{
	if (n > remaining(p))
		return perr(p, MRL_EINPUT, "%s: needs %llu bytes at offset %zu, only %zu left (truncated file?)",
			    what, (unsigned long long)n, p->pos, remaining(p));
	return 0;
}

static int rd_u32(struct parser *p, uint32_t *v, const char *what)
{
	int rc = need(p, 4, what);
	if (rc)
		return rc;
	*v = (uint32_t)rd_le(p->buf + p->pos, 4);
	p->pos += 4;
	return 0;
}

static int rd_u64(struct parser *p, uint64_t *v, const char *what)
{
	int rc = need(p, 8, what);
	if (rc)
		return rc;
	*v = rd_le(p->buf + p->pos, 8);
	p->pos += 8;
	return 0;
}

static int rd_str(struct parser *p, struct gguf_str *s, const char *what)
{
	uint64_t len;
	int rc = rd_u64(p, &len, what);
	if (rc)
		return rc;
	if (len > remaining(p))
		return perr(p, MRL_EINPUT, "%s: string length %llu exceeds remaining %zu bytes "
			    "(truncated or corrupt file?)",
			    what, (unsigned long long)len, remaining(p));
	s->ptr = (const char *)p->buf + p->pos;
	s->len = len;
	p->pos += len;
	return 0;
}

static uint64_t hash_bytes(const char *s, uint64_t len)
{
	uint64_t h = 1469598103934665603ull;
	for (uint64_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
	return h;
}

/* Capacity for n entries at load <= 1/2. n is bounded by the buffer size. */
static size_t index_cap(size_t n)
{
	size_t cap = 16;
	while (cap < 2 * n)
		cap *= 2;
	return cap;
}

/* Look name up in an index; returns the entry's index or SIZE_MAX. Entry i's name
 * is given by name_of(base, i). */
static size_t index_find(const size_t *slots, size_t cap, const char *s, uint64_t len,
			 const struct gguf_str *(*name_of)(const void *, size_t), const void *base)
{
	if (!slots)
		return SIZE_MAX;
	for (size_t h = (size_t)hash_bytes(s, len) & (cap - 1);; h = (h + 1) & (cap - 1)) {
		if (!slots[h])
			return SIZE_MAX;
		const struct gguf_str *n = name_of(base, slots[h] - 1);
		if (n->len == len && !memcmp(n->ptr, s, len))
			return slots[h] - 1;
	}
}

static void index_put(size_t *slots, size_t cap, const char *s, uint64_t len, size_t i)
{
	size_t h = (size_t)hash_bytes(s, len) & (cap - 1);
	while (slots[h])
		h = (h + 1) & (cap - 1);
	slots[h] = i + 1;
}

static const struct gguf_str *kv_name(const void *base, size_t i)
{
	return &((const struct gguf_kv *)base)[i].key;
}

static const struct gguf_str *tensor_name(const void *base, size_t i)
{
	return &((const struct gguf_tensor *)base)[i].name;
}

/* Skip (validate) one array body: element type, count, elements. Nested arrays recurse. */
static int skip_array(struct parser *p, int depth, const char *what)
{
	if (depth > GGUF_MAX_ARRAY_DEPTH)
		return perr(p, MRL_EINPUT, "%s: arrays nested deeper than %d", what, GGUF_MAX_ARRAY_DEPTH);
	uint32_t et;
	uint64_t n;
	int rc = rd_u32(p, &et, what);
	if (!rc)
		rc = rd_u64(p, &n, what);
	if (rc)
		return rc;
	size_t es = vtype_size(et);
	if (es) {
		if (n > remaining(p) / es)
			return perr(p, MRL_EINPUT, "%s: %llu elements of %s exceed remaining %zu bytes",
				    what, (unsigned long long)n, vtype_name(et), remaining(p));
		p->pos += n * es;
		return 0;
	}
	if (et != GGUF_STRING && et != GGUF_ARRAY)
		return perr(p, MRL_EINPUT, "%s: invalid array element type %u", what, et);
	/* strings need >= 8 bytes each, arrays >= 12 */
	if (n > remaining(p) / (et == GGUF_STRING ? 8 : 12))
		return perr(p, MRL_EINPUT, "%s: %llu elements of %s exceed remaining %zu bytes",
			    what, (unsigned long long)n, vtype_name(et), remaining(p));
	for (uint64_t i = 0; i < n; i++) {
		if (et == GGUF_STRING) {
			struct gguf_str s;
			rc = rd_str(p, &s, what);
		} else {
			rc = skip_array(p, depth + 1, what);
		}
		if (rc)
			return rc;
	}
	return 0;
}

static int parse_array(struct parser *p, struct gguf_kv *kv)
{
	uint32_t et;
	uint64_t n;
	int rc = rd_u32(p, &et, "array element type");
	if (!rc)
		rc = rd_u64(p, &n, "array length");
	if (rc)
		return rc;
	if (et > GGUF_F64)
		return perr(p, MRL_EINPUT, "invalid array element type %u", et);
	kv->arr_type = (enum gguf_vtype)et;
	kv->arr_n = n;
	kv->arr_data = p->buf + p->pos;
	size_t start = p->pos;
	size_t es = vtype_size(et);
	if (es) {
		if (n > remaining(p) / es)
			return perr(p, MRL_EINPUT, "array of %llu %s elements exceeds remaining %zu bytes",
				    (unsigned long long)n, vtype_name(et), remaining(p));
		p->pos += n * es;
	} else if (et == GGUF_STRING) {
		if (n > remaining(p) / 8)
			return perr(p, MRL_EINPUT, "array of %llu strings exceeds remaining %zu bytes",
				    (unsigned long long)n, remaining(p));
		kv->arr_strs = malloc((n ? n : 1) * sizeof *kv->arr_strs);
		if (!kv->arr_strs)
			return perr(p, MRL_ENOMEM, "out of memory for %llu strings", (unsigned long long)n);
		for (uint64_t i = 0; i < n; i++) {
			char what[48];
			snprintf(what, sizeof what, "element %llu", (unsigned long long)i);
			if ((rc = rd_str(p, &kv->arr_strs[i], what)))
				return rc;
		}
	} else { /* nested arrays: validated and kept raw */
		if (n > remaining(p) / 12)
			return perr(p, MRL_EINPUT, "array of %llu arrays exceeds remaining %zu bytes",
				    (unsigned long long)n, remaining(p));
		for (uint64_t i = 0; i < n; i++) {
			char what[48];
			snprintf(what, sizeof what, "element %llu", (unsigned long long)i);
			if ((rc = skip_array(p, 2, what)))
				return rc;
		}
	}
	kv->arr_nbytes = p->pos - start;
	return 0;
}

/* The name of kv or tensor entry i: read, shown in p->where from then on
 * ("kv 3 ('general.name')"), and neither empty nor holding a NUL byte. */
static int rd_entry_name(struct parser *p, struct gguf_str *s, const char *entry, size_t i, const char *what)
{
	snprintf(p->where, sizeof p->where, "%s %zu", entry, i);
	int rc = rd_str(p, s, what);
	if (rc)
		return rc;
	char shown[80];
	printable(shown, sizeof shown, s->ptr, s->len);
	snprintf(p->where, sizeof p->where, "%s %zu ('%s')", entry, i, shown);
	if (s->len == 0)
		return perr(p, MRL_EINPUT, "empty %s", what);
	if (memchr(s->ptr, 0, s->len))
		return perr(p, MRL_EINPUT, "%s contains a NUL byte", what);
	return 0;
}

static int parse_kv(struct parser *p, struct gguf_kv *kv, size_t i)
{
	int rc = rd_entry_name(p, &kv->key, "kv", i, "key");
	if (rc)
		return rc;
	uint32_t t;
	if ((rc = rd_u32(p, &t, "value type")))
		return rc;
	if (t > GGUF_F64)
		return perr(p, MRL_EINPUT, "invalid value type %u", t);
	kv->type = (enum gguf_vtype)t;
	size_t es = vtype_size(t);
	if (es) {
		if ((rc = need(p, es, "value")))
			return rc;
		uint64_t raw = rd_le(p->buf + p->pos, es);
		p->pos += es;
		switch (t) {
		case GGUF_I8: kv->v.i = (int8_t)raw; break;
		case GGUF_I16: kv->v.i = (int16_t)raw; break;
		case GGUF_I32: kv->v.i = (int32_t)raw; break;
		case GGUF_I64: kv->v.i = (int64_t)raw; break;
		case GGUF_F32: {
			uint32_t b = (uint32_t)raw;
			float f;
			memcpy(&f, &b, 4);
			kv->v.f = f;
			break;
		}
		case GGUF_F64: memcpy(&kv->v.f, &raw, 8); break;
		case GGUF_BOOL: kv->v.u = raw != 0; break;
		default: kv->v.u = raw; break;
		}
		return 0;
	}
	if (t == GGUF_STRING)
		return rd_str(p, &kv->v.s, "string value");
	return parse_array(p, kv);
}

static int parse_tensor(struct parser *p, struct gguf_tensor *ti, size_t i)
{
	int rc = rd_entry_name(p, &ti->name, "tensor", i, "name");
	if (rc)
		return rc;
	if ((rc = rd_u32(p, &ti->n_dims, "n_dims")))
		return rc;
	if (ti->n_dims < 1 || ti->n_dims > 4)
		return perr(p, MRL_EINPUT, "n_dims %u out of range 1..4", ti->n_dims);
	uint64_t n_el = 1;
	for (uint32_t d = 0; d < 4; d++) {
		ti->ne[d] = 1;
		if (d >= ti->n_dims)
			continue;
		if ((rc = rd_u64(p, &ti->ne[d], "ne")))
			return rc;
		if (ti->ne[d] == 0)
			return perr(p, MRL_EINPUT, "ne[%u] is zero", d);
		if (ti->ne[d] > (uint64_t)INT64_MAX / n_el)
			return perr(p, MRL_EINPUT, "element count overflows (ne[%u] = %llu)", d,
				    (unsigned long long)ti->ne[d]);
		n_el *= ti->ne[d];
	}
	ti->n_elements = n_el;
	if ((rc = rd_u32(p, &ti->type, "type")))
		return rc;
	const struct eng_type_traits *tt = eng_type_get(ti->type);
	if (!tt)
		return perr(p, MRL_EUNSUPPORTED, "unknown tensor type %u", ti->type);
	uint64_t row;
	if (ti->ne[0] % tt->block_size)
		return perr(p, MRL_EINPUT, "row length ne[0] = %llu is not a multiple of %s's block size %u",
			    (unsigned long long)ti->ne[0], tt->name, tt->block_size);
	if (eng_row_size(ti->type, ti->ne[0], &row))
		return perr(p, MRL_EINPUT, "row size overflows");
	uint64_t n_rows = n_el / ti->ne[0];
	if (n_rows && row > UINT64_MAX / n_rows)
		return perr(p, MRL_EINPUT, "data size overflows");
	ti->nbytes = row * n_rows;
	return rd_u64(p, &ti->offset, "offset");
}

void gguf_free(struct gguf_ctx *g)
{
	if (!g)
		return;
	if (g->kvs)
		for (size_t i = 0; i < g->n_kv; i++)
			free(g->kvs[i].arr_strs);
	free(g->kvs);
	free(g->tensors);
	free(g->kv_index);
	free(g->tensor_index);
	free(g->name);
	free(g);
}

static int alloc_index(struct parser *p, size_t n, size_t **slots, size_t *cap)
{
	*cap = index_cap(n);
	*slots = calloc(*cap, sizeof **slots);
	if (!*slots)
		return perr(p, MRL_ENOMEM, "out of memory for an index of %zu entries", n);
	return 0;
}

static int parse_alignment(struct parser *p, struct gguf_ctx *g)
{
	g->alignment = GGUF_DEFAULT_ALIGNMENT;
	size_t i = index_find(g->kv_index, g->kv_cap, "general.alignment", 17, kv_name, g->kvs);
	if (i == SIZE_MAX)
		return 0;
	const struct gguf_kv *kv = &g->kvs[i];
	snprintf(p->where, sizeof p->where, "kv %zu ('general.alignment')", i);
	if (!vtype_is_int(kv->type))
		return perr(p, MRL_EINPUT, "expected an integer, found %s", vtype_name(kv->type));
	if (vtype_is_signed(kv->type) ? (kv->v.i <= 0 || kv->v.i > (int64_t)UINT32_MAX)
				      : (kv->v.u == 0 || kv->v.u > UINT32_MAX))
		return perr(p, MRL_EINPUT, "alignment %lld out of range",
			    vtype_is_signed(kv->type) ? (long long)kv->v.i : (long long)kv->v.u);
	uint64_t a = vtype_is_signed(kv->type) ? (uint64_t)kv->v.i : kv->v.u;
	if (a & (a - 1))
		return perr(p, MRL_EINPUT, "alignment %llu is not a power of two", (unsigned long long)a);
	/* The spec asks for a multiple of 8. Below that, f32/f16 weights and the fp16
	 * scales of quantized blocks would sit at addresses their loads may not use. */
	if (a < GGUF_MIN_ALIGNMENT)
		return perr(p, MRL_EINPUT, "alignment %llu is not a multiple of %d (the GGUF spec requires one; "
			    "tensor data would be misaligned)", (unsigned long long)a, GGUF_MIN_ALIGNMENT);
	g->alignment = (uint32_t)a;
	return 0;
}

/* Where the tensors' bytes are: the data section starts at the next multiple of the
 * alignment after the header; every tensor's range is checked against the file. */
static int place_tensors(struct parser *p, struct gguf_ctx *g, size_t size, size_t n_tensors)
{
	/* the data section starts at the next multiple of the alignment */
	uint64_t a = g->alignment;
	g->data_offset = (p->pos + (a - 1)) / a * a; /* p->pos <= size, no overflow for size < 2^63 */
	if (n_tensors && g->data_offset > size) {
		snprintf(p->where, sizeof p->where, "header");
		return perr(p, MRL_EINPUT, "data section at offset %llu past end of file (size %zu)",
			  (unsigned long long)g->data_offset, size);
	}
	/* With the data section and every offset multiples of the alignment (>= 8), an
	 * 8-aligned buffer puts every tensor at an 8-aligned address: never read misaligned. */
	if (n_tensors && (uintptr_t)p->buf % GGUF_MIN_ALIGNMENT) {
		snprintf(p->where, sizeof p->where, "header");
		return perr(p, MRL_EINPUT, "the buffer is not %d-byte aligned: tensor data would be misaligned",
			  GGUF_MIN_ALIGNMENT);
	}
	for (size_t i = 0; i < n_tensors; i++) {
		struct gguf_tensor *ti = &g->tensors[i];
		char nm[80];
		printable(nm, sizeof nm, ti->name.ptr, ti->name.len);
		snprintf(p->where, sizeof p->where, "tensor %zu ('%s')", i, nm);
		if (ti->offset % a) {
			return perr(p, MRL_EINPUT, "offset %llu is not a multiple of the alignment %llu",
				  (unsigned long long)ti->offset, (unsigned long long)a);
		}
		uint64_t room = size - g->data_offset;
		if (ti->offset > room || ti->nbytes > room - ti->offset) {
			uint64_t begin = ti->offset > UINT64_MAX - g->data_offset ? UINT64_MAX
										  : g->data_offset + ti->offset;
			uint64_t end = ti->nbytes > UINT64_MAX - begin ? UINT64_MAX : begin + ti->nbytes;
			return perr(p, MRL_EINPUT, "data range [%llu, %llu) past end of file (size %zu)",
				  (unsigned long long)begin, (unsigned long long)end, size);
		}
		ti->data = p->buf + g->data_offset + ti->offset;
	}
	return 0;
}

int gguf_parse(const void *buf, size_t size, const char *name, struct gguf_ctx **out,
	       struct mrl_err *err)
{
	struct parser p = { .buf = buf, .size = size, .name = name ? name : "(buffer)", .err = err };
	snprintf(p.where, sizeof p.where, "header");
	struct gguf_ctx *g = calloc(1, sizeof *g);
	int rc;
	*out = NULL;
	if (!g || !(g->name = strdup(p.name))) {
		rc = mrl_err_set(err, MRL_ENOMEM, "%s: out of memory", p.name);
		goto out;
	}
	g->buf = buf;
	g->size = size;
	if ((rc = need(&p, 4, "magic")))
		goto out;
	if (memcmp(p.buf, "GGUF", 4)) {
		rc = perr(&p, MRL_EINPUT, "not a GGUF file (magic is not \"GGUF\")");
		goto out;
	}
	p.pos = 4;
	if ((rc = rd_u32(&p, &g->version, "version")))
		goto out;
	if (g->version != 2 && g->version != 3) {
		uint32_t v = g->version;
		bool swapped = (v & 0xffff) == 0 && v != 0;
		rc = perr(&p, MRL_EUNSUPPORTED, "unsupported GGUF version %u (supported: 2, 3)%s", v,
			  swapped ? "; a big-endian file?" : "");
		goto out;
	}
	uint64_t n_tensors, n_kv;
	if ((rc = rd_u64(&p, &n_tensors, "n_tensors")) || (rc = rd_u64(&p, &n_kv, "n_kv")))
		goto out;
	/* a kv takes >= 13 bytes (key length, type, 1-byte value); a tensor info >= 32 */
	if (n_kv > remaining(&p) / 13) {
		rc = perr(&p, MRL_EINPUT, "n_kv %llu cannot fit in the remaining %zu bytes "
			  "(truncated file, or a corrupt count?)",
			  (unsigned long long)n_kv, remaining(&p));
		goto out;
	}
	if (n_tensors > remaining(&p) / 32 || n_kv * 13 + n_tensors * 32 > remaining(&p)) {
		rc = perr(&p, MRL_EINPUT, "n_tensors %llu cannot fit in the remaining %zu bytes "
			  "(truncated file, or a corrupt count?)",
			  (unsigned long long)n_tensors, remaining(&p));
		goto out;
	}
	g->kvs = calloc(n_kv ? n_kv : 1, sizeof *g->kvs);
	g->tensors = calloc(n_tensors ? n_tensors : 1, sizeof *g->tensors);
	if (!g->kvs || !g->tensors) {
		rc = perr(&p, MRL_ENOMEM, "out of memory for %llu kvs and %llu tensors",
			  (unsigned long long)n_kv, (unsigned long long)n_tensors);
		goto out;
	}
	if ((rc = alloc_index(&p, n_kv, &g->kv_index, &g->kv_cap)) ||
	    (rc = alloc_index(&p, n_tensors, &g->tensor_index, &g->tensor_cap)))
		goto out;
	for (size_t i = 0; i < n_kv; i++) {
		g->n_kv = i + 1; /* so that gguf_free releases this entry's strings */
		if ((rc = parse_kv(&p, &g->kvs[i], i)))
			goto out;
		const struct gguf_str *k = &g->kvs[i].key;
		size_t dup = index_find(g->kv_index, g->kv_cap, k->ptr, k->len, kv_name, g->kvs);
		if (dup != SIZE_MAX) {
			rc = perr(&p, MRL_EINPUT, "duplicate key (first at kv %zu)", dup);
			goto out;
		}
		index_put(g->kv_index, g->kv_cap, k->ptr, k->len, i);
	}
	if ((rc = parse_alignment(&p, g)))
		goto out;
	for (size_t i = 0; i < n_tensors; i++) {
		struct gguf_tensor *ti = &g->tensors[i];
		if ((rc = parse_tensor(&p, ti, i)))
			goto out;
		size_t dup = index_find(g->tensor_index, g->tensor_cap, ti->name.ptr, ti->name.len,
					tensor_name, g->tensors);
		if (dup != SIZE_MAX) {
			rc = perr(&p, MRL_EINPUT, "duplicate tensor name (first at tensor %zu)", dup);
			goto out;
		}
		index_put(g->tensor_index, g->tensor_cap, ti->name.ptr, ti->name.len, i);
		g->n_tensors = i + 1;
	}
	if ((rc = place_tensors(&p, g, size, n_tensors)))
		goto out;
	*out = g;
	g = NULL;
	rc = 0;
out:
	gguf_free(g);
	return rc;
}

uint32_t gguf_version(const struct gguf_ctx *g) { return g->version; }
uint32_t gguf_alignment(const struct gguf_ctx *g) { return g->alignment; }
size_t gguf_n_kv(const struct gguf_ctx *g) { return g->n_kv; }
size_t gguf_n_tensors(const struct gguf_ctx *g) { return g->n_tensors; }

const struct gguf_kv *gguf_kv_at(const struct gguf_ctx *g, size_t i)
{
	return i < g->n_kv ? &g->kvs[i] : NULL;
}

const struct gguf_tensor *gguf_tensor_at(const struct gguf_ctx *g, size_t i)
{
	return i < g->n_tensors ? &g->tensors[i] : NULL;
}

const struct gguf_kv *gguf_find(const struct gguf_ctx *g, const char *key)
{
	size_t i = index_find(g->kv_index, g->kv_cap, key, strlen(key), kv_name, g->kvs);
	return i == SIZE_MAX ? NULL : &g->kvs[i];
}

const struct gguf_tensor *gguf_find_tensor(const struct gguf_ctx *g, const char *name)
{
	size_t i = index_find(g->tensor_index, g->tensor_cap, name, strlen(name), tensor_name, g->tensors);
	return i == SIZE_MAX ? NULL : &g->tensors[i];
}

bool gguf_str_eq(struct gguf_str s, const char *c)
{
	size_t n = strlen(c);
	return s.len == n && !memcmp(s.ptr, c, n);
}

/* ---- typed getters ---- */

static int get_int(const struct gguf_ctx *g, const char *key, int64_t lo, uint64_t hi, uint64_t *raw,
		   bool *neg, struct mrl_err *err)
{
	const struct gguf_kv *kv = gguf_find(g, key);
	if (!kv)
		return 1;
	if (!vtype_is_int(kv->type))
		return mrl_err_set(err, MRL_EINPUT, "%s: key '%s': expected an integer, found %s",
				   g->name, key, vtype_name(kv->type));
	if (vtype_is_signed(kv->type) && kv->v.i < 0) {
		if (kv->v.i < lo)
			return mrl_err_set(err, MRL_EINPUT, "%s: key '%s': value %lld out of range",
					   g->name, key, (long long)kv->v.i);
		*neg = true;
		*raw = (uint64_t)kv->v.i;
		return 0;
	}
	uint64_t u = vtype_is_signed(kv->type) ? (uint64_t)kv->v.i : kv->v.u;
	if (u > hi)
		return mrl_err_set(err, MRL_EINPUT, "%s: key '%s': value %llu out of range",
				   g->name, key, (unsigned long long)u);
	*neg = false;
	*raw = u;
	return 0;
}

int gguf_get_u32(const struct gguf_ctx *g, const char *key, uint32_t *out, struct mrl_err *err)
{
	uint64_t raw = 0;
	bool neg = false;
	int rc = get_int(g, key, 0, UINT32_MAX, &raw, &neg, err);
	if (rc == 0)
		*out = (uint32_t)raw;
	return rc;
}

int gguf_get_i32(const struct gguf_ctx *g, const char *key, int32_t *out, struct mrl_err *err)
{
	uint64_t raw = 0;
	bool neg = false;
	int rc = get_int(g, key, INT32_MIN, INT32_MAX, &raw, &neg, err);
	if (rc == 0)
		*out = neg ? (int32_t)(int64_t)raw : (int32_t)raw;
	return rc;
}

int gguf_get_f32(const struct gguf_ctx *g, const char *key, float *out, struct mrl_err *err)
{
	const struct gguf_kv *kv = gguf_find(g, key);
	if (!kv)
		return 1;
	if (kv->type == GGUF_F32 || kv->type == GGUF_F64)
		*out = (float)kv->v.f;
	else if (vtype_is_int(kv->type))
		*out = vtype_is_signed(kv->type) ? (float)kv->v.i : (float)kv->v.u;
	else
		return mrl_err_set(err, MRL_EINPUT, "%s: key '%s': expected a number, found %s",
				   g->name, key, vtype_name(kv->type));
	return 0;
}

int gguf_get_bool(const struct gguf_ctx *g, const char *key, bool *out, struct mrl_err *err)
{
	const struct gguf_kv *kv = gguf_find(g, key);
	if (!kv)
		return 1;
	if (kv->type == GGUF_BOOL)
		*out = kv->v.u != 0;
	else if (vtype_is_int(kv->type) && (kv->v.u == 0 || kv->v.u == 1))
		*out = kv->v.u == 1;
	else
		return mrl_err_set(err, MRL_EINPUT, "%s: key '%s': expected a bool, found %s",
				   g->name, key, vtype_name(kv->type));
	return 0;
}

int gguf_get_str(const struct gguf_ctx *g, const char *key, struct gguf_str *out, struct mrl_err *err)
{
	const struct gguf_kv *kv = gguf_find(g, key);
	if (!kv)
		return 1;
	if (kv->type != GGUF_STRING)
		return mrl_err_set(err, MRL_EINPUT, "%s: key '%s': expected a string, found %s",
				   g->name, key, vtype_name(kv->type));
	*out = kv->v.s;
	return 0;
}

int gguf_get_arr(const struct gguf_ctx *g, const char *key, enum gguf_vtype elem_type,
		 const struct gguf_kv **out, struct mrl_err *err)
{
	const struct gguf_kv *kv = gguf_find(g, key);
	if (!kv)
		return 1;
	if (kv->type != GGUF_ARRAY)
		return mrl_err_set(err, MRL_EINPUT, "%s: key '%s': expected an array of %s, found %s",
				   g->name, key, vtype_name(elem_type), vtype_name(kv->type));
	bool okay = kv->arr_type == elem_type ||
		    (vtype_is_int(elem_type) && (vtype_is_int(kv->arr_type) || kv->arr_type == GGUF_BOOL)) ||
		    ((elem_type == GGUF_F32 || elem_type == GGUF_F64) &&
		     (kv->arr_type == GGUF_F32 || kv->arr_type == GGUF_F64));
	if (!okay)
		return mrl_err_set(err, MRL_EINPUT, "%s: key '%s': expected an array of %s, found an array of %s",
				   g->name, key, vtype_name(elem_type), vtype_name(kv->arr_type));
	*out = kv;
	return 0;
}

static uint64_t arr_raw(const struct gguf_kv *kv, uint64_t i, size_t *es)
{
	*es = vtype_size(kv->arr_type);
	if (!*es || i >= kv->arr_n)
		return 0;
	return rd_le(kv->arr_data + i * *es, *es);
}

float gguf_arr_f32(const struct gguf_kv *kv, uint64_t i)
{
	size_t es;
	uint64_t raw = arr_raw(kv, i, &es);
	if (!es)
		return 0.0f;
	if (kv->arr_type == GGUF_F32) {
		uint32_t b = (uint32_t)raw;
		float f;
		memcpy(&f, &b, 4);
		return f;
	}
	if (kv->arr_type == GGUF_F64) {
		double d;
		memcpy(&d, &raw, 8);
		return (float)d;
	}
	return (float)gguf_arr_int(kv, i);
}

int64_t gguf_arr_int(const struct gguf_kv *kv, uint64_t i)
{
	size_t es;
	uint64_t raw = arr_raw(kv, i, &es);
	switch (kv->arr_type) {
	case GGUF_I8: return (int8_t)raw;
	case GGUF_I16: return (int16_t)raw;
	case GGUF_I32: return (int32_t)raw;
	case GGUF_I64: return (int64_t)raw;
	case GGUF_F32: case GGUF_F64: {
		float f = gguf_arr_f32(kv, i);
		return f > -9.2e18f && f < 9.2e18f ? (int64_t)f : 0; /* NaN and out of range -> 0 */
	}
	default: return (int64_t)raw;
	}
}
