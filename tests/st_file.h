/* st_file.h — safetensors files in tests: read one (its header as JSON and the bytes
 * after it) and write one from a header and data, for tests that build checkpoints
 * from the fixtures' (eng_hf.c, eng_derived.c). Header-only (static inline functions). */
#ifndef MERILO_TESTS_ST_FILE_H
#define MERILO_TESTS_ST_FILE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The file at path: its header as a new JSON object (NULL when it cannot be read or is
 * not safetensors), *buf the whole file (malloc'd, caller frees; NULL on failure) and
 * *data where the tensors' bytes begin in it (offsets in the header count from there),
 * *n_data of them. */
static inline json_t *st_load(const char *path, unsigned char **buf, const unsigned char **data, size_t *n_data)
{
	*buf = NULL;
	*data = NULL;
	*n_data = 0;
	FILE *f = fopen(path, "rb");
	long n = f && !fseek(f, 0, SEEK_END) ? ftell(f) : -1;
	if (n > 8 && !fseek(f, 0, SEEK_SET) && (*buf = malloc((size_t)n)) && fread(*buf, 1, (size_t)n, f) != (size_t)n) {
		free(*buf);
		*buf = NULL;
	}
	if (f)
		fclose(f);
	uint64_t hlen = 0;
	for (int i = 7; *buf && i >= 0; i--)
		hlen = hlen << 8 | (*buf)[i];
	json_t *h = *buf && hlen < (uint64_t)n - 8 ? json_loadb((const char *)*buf + 8, hlen, 0, NULL) : NULL;
	*data = h ? *buf + 8 + hlen : NULL;
	*n_data = h ? (size_t)n - 8 - hlen : 0;
	return h;
}

/* fn(user, name, data, rows, cols) for each tensor of header h (a vector: 1 row), data as
 * st_load gives it; the header's __metadata__ left out. */
static inline void st_foreach(json_t *h, const unsigned char *data,
			      void (*fn)(void *user, const char *name, const float *t, size_t rows, size_t cols), void *user)
{
	const char *key;
	json_t *v;
	json_object_foreach(h, key, v) {
		json_t *offs = json_object_get(v, "data_offsets"), *shape = json_object_get(v, "shape");
		if (!offs || !strcmp(key, "__metadata__"))
			continue;
		const float *t = (const float *)(data + json_integer_value(json_array_get(offs, 0)));
		size_t rows = json_array_size(shape) == 2 ? (size_t)json_integer_value(json_array_get(shape, 0)) : 1;
		size_t cols = (size_t)json_integer_value(json_array_get(shape, json_array_size(shape) - 1));
		fn(user, key, t, rows, cols);
	}
}

/* Write header h (compact, keys sorted) padded to 8 bytes, then n bytes of data, to path
 * (replaced). 0 or -1. */
static inline int st_save(const char *path, const json_t *h, const void *data, size_t n)
{
	char *hj = json_dumps(h, JSON_COMPACT | JSON_SORT_KEYS);
	remove(path);
	FILE *w = hj ? fopen(path, "wb") : NULL;
	int rc = -1;
	if (w) {
		size_t hl = strlen(hj), pad = (8 - hl % 8) % 8;
		unsigned char len[8];
		for (int i = 0; i < 8; i++)
			len[i] = (unsigned char)((uint64_t)(hl + pad) >> (8 * i));
		bool wrote = fwrite(len, 1, 8, w) == 8 && fwrite(hj, 1, hl, w) == hl && fwrite("        ", 1, pad, w) == pad &&
			     fwrite(data, 1, n, w) == n;
		rc = fclose(w) == 0 && wrote ? 0 : -1;
	}
	free(hj);
	return rc;
}

#endif
