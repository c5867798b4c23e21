/* safetensors.c — the safetensors parser (see safetensors.h for the checks).
 *
 * Offsets in the header are relative to the data section that follows the
 * JSON; [begin, end) must lie inside it and hold exactly shape x dtype bytes.
 * Overlaps are found by sorting the ranges once.
 */
#include "engine/safetensors.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"
#include "engine/types.h"

void st_tensors_free(struct st_tensor *t, size_t n)
{
	if (!t)
		return;
	for (size_t i = 0; i < n; i++)
		free(t[i].name);
	free(t);
}

static int dtype_of(const char *s, uint32_t *type, uint64_t *size)
{
	if (!strcmp(s, "F32")) {
		*type = ENG_TYPE_F32;
		*size = 4;
	} else if (!strcmp(s, "F16")) {
		*type = ENG_TYPE_F16;
		*size = 2;
	} else if (!strcmp(s, "BF16")) {
		*type = ENG_TYPE_BF16;
		*size = 2;
	} else {
		return -1;
	}
	return 0;
}

static int cmp_range(const void *a, const void *b)
{
	const struct st_tensor *x = *(const struct st_tensor *const *)a, *y = *(const struct st_tensor *const *)b;
	const char *px = x->data, *py = y->data;
	return px < py ? -1 : px > py;
}

/* A non-negative JSON integer, or -1. */
static int64_t json_u(const json_t *j)
{
	if (!json_is_integer(j) || json_integer_value(j) < 0)
		return -1;
	return (int64_t)json_integer_value(j);
}

int st_parse(const void *buf, size_t size, const char *name, struct st_tensor **out, size_t *n,
	     struct mrl_err *err)
{
	*out = NULL;
	*n = 0;
	const unsigned char *b = buf;
	if (size < 8)
		return mrl_err_set(err, MRL_EINPUT, "%s: file too short (%zu bytes) for a safetensors header length",
				   name, size);
	uint64_t hlen = 0;
	for (int i = 7; i >= 0; i--)
		hlen = hlen << 8 | b[i];
	if (hlen > ST_MAX_HEADER)
		return mrl_err_set(err, MRL_EINPUT, "%s: safetensors header length %" PRIu64 " exceeds the %u-byte cap",
				   name, hlen, ST_MAX_HEADER);
	if (hlen > size - 8)
		return mrl_err_set(err, MRL_EINPUT, "%s: safetensors header length %" PRIu64
				   " runs past the end of the file (%zu bytes)", name, hlen, size);
	if (hlen < 2)
		return mrl_err_set(err, MRL_EINPUT, "%s: safetensors header of %" PRIu64 " bytes is too short", name,
				   hlen);
	const char *h = (const char *)b + 8;
	const unsigned char *data = b + 8 + hlen;
	uint64_t data_size = size - 8 - hlen;
	size_t at = mrl_json_depth_exceeded_at(h, (size_t)hlen, ST_MAX_DEPTH);
	if (at < hlen)
		return mrl_err_set(err, MRL_EINPUT, "%s: safetensors header nests deeper than %d at byte %zu", name,
				   ST_MAX_DEPTH, at + 8);
	struct mrl_json_error je;
	json_t *root = mrl_json_parse_object(h, (size_t)hlen, JSON_REJECT_DUPLICATES, &je);
	if (!root)
		return mrl_err_set(err, MRL_EINPUT, "%s: safetensors header: %s", name, je.text);
	int rc = 0;
	size_t cap = json_object_size(root), cnt = 0;
	struct st_tensor *t = calloc(cap ? cap : 1, sizeof *t);
	struct st_tensor **order = calloc(cap ? cap : 1, sizeof *order);
	if (!t || !order) {
		rc = mrl_err_set(err, MRL_ENOMEM, "%s: out of memory", name);
		goto out;
	}
	const char *key;
	json_t *v;
	json_object_foreach(root, key, v) {
		if (!strcmp(key, "__metadata__"))
			continue;
		if (!json_is_object(v)) {
			rc = mrl_err_set(err, MRL_EINPUT, "%s: tensor '%.200s': entry is %s, expected an object", name,
					 key, mrl_json_type_name(v));
			goto out;
		}
		struct st_tensor *x = &t[cnt];
		const char *dt = json_string_value(json_object_get(v, "dtype"));
		const json_t *shape = json_object_get(v, "shape"), *offs = json_object_get(v, "data_offsets");
		uint64_t esize;
		if (!dt) {
			rc = mrl_err_set(err, MRL_EINPUT, "%s: tensor '%.200s' has no string 'dtype'", name, key);
			goto out;
		}
		if (dtype_of(dt, &x->type, &esize)) {
			rc = mrl_err_set(err, MRL_EUNSUPPORTED, "%s: tensor '%.200s' has dtype '%.32s' (supported: F32, "
					 "F16, BF16)", name, key, dt);
			goto out;
		}
		if (!json_is_array(shape) || json_array_size(shape) > ST_MAX_DIMS) {
			rc = mrl_err_set(err, MRL_EINPUT, "%s: tensor '%.200s': 'shape' must be an array of at most %d "
					 "sizes", name, key, ST_MAX_DIMS);
			goto out;
		}
		uint64_t n_el = 1;
		x->n_dims = (uint32_t)json_array_size(shape);
		for (uint32_t d = 0; d < x->n_dims; d++) {
			int64_t s = json_u(json_array_get(shape, d));
			if (s < 0 || (s && n_el > UINT64_MAX / 8 / (uint64_t)s)) {
				rc = mrl_err_set(err, MRL_EINPUT, "%s: tensor '%.200s': shape entry %u is not a size or the "
						 "shape overflows", name, key, d);
				goto out;
			}
			x->shape[d] = (uint64_t)s;
			n_el *= (uint64_t)s;
		}
		int64_t o0 = json_is_array(offs) && json_array_size(offs) == 2 ? json_u(json_array_get(offs, 0)) : -1;
		int64_t o1 = o0 >= 0 ? json_u(json_array_get(offs, 1)) : -1;
		if (o0 < 0 || o1 < o0) {
			rc = mrl_err_set(err, MRL_EINPUT, "%s: tensor '%.200s': 'data_offsets' must be [begin, end] with "
					 "0 <= begin <= end", name, key);
			goto out;
		}
		if ((uint64_t)o1 > data_size) {
			rc = mrl_err_set(err, MRL_EINPUT, "%s: tensor '%.200s': data_offsets [%" PRId64 ", %" PRId64
					 "] run past the data section (%" PRIu64 " bytes)", name, key, o0, o1, data_size);
			goto out;
		}
		if ((uint64_t)(o1 - o0) != n_el * esize) {
			rc = mrl_err_set(err, MRL_EINPUT, "%s: tensor '%.200s': data_offsets hold %" PRId64 " bytes, its "
					 "shape and dtype need %" PRIu64, name, key, o1 - o0, n_el * esize);
			goto out;
		}
		x->data = data + o0;
		x->nbytes = (uint64_t)(o1 - o0);
		if (!(x->name = strdup(key))) {
			rc = mrl_err_set(err, MRL_ENOMEM, "%s: out of memory", name);
			goto out;
		}
		order[cnt] = x;
		cnt++;
	}
	qsort(order, cnt, sizeof *order, cmp_range);
	for (size_t i = 1; i < cnt; i++) {
		const char *prev_end = (const char *)order[i - 1]->data + order[i - 1]->nbytes;
		if (order[i]->nbytes && prev_end > (const char *)order[i]->data) {
			rc = mrl_err_set(err, MRL_EINPUT, "%s: tensors '%.200s' and '%.200s' overlap in the data section",
					 name, order[i - 1]->name, order[i]->name);
			goto out;
		}
	}
	*out = t;
	*n = cnt;
	t = NULL;
out:
	st_tensors_free(t, cnt);
	free(order);
	json_decref(root);
	return rc;
}
