/* gguf_edit.h — tests: a copy of a GGUF file with a few edits (a key dropped or set,
 * the architecture renamed, a tensor dropped or its two dims swapped, f32 vectors added), written with the
 * engine's GGUF writer. Header-only; include once per test. */
#ifndef MERILO_TESTS_GGUF_EDIT_H
#define MERILO_TESTS_GGUF_EDIT_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/gguf.h"
#include "engine/types.h"
#include "tests/tap.h"

struct gguf_edit {
	const char *drop_key;
	const char *arch;          /* replace general.architecture */
	const char *drop_tensor;
	const char *bad_shape;     /* this tensor gets its two dims swapped */
	struct { const char *key; float val; } f32[4]; /* set these keys (NULL key: none) */
	const char *u32_key;       /* set this key to u32_val */
	uint32_t u32_val;
	const char *str_key;       /* set this key to str_val */
	const char *str_val;
	struct { const char *name; const float *data; uint64_t n; } add[2]; /* 1-D f32 tensors added */
};

/* Copy src to dst with the edits of e. Returns 0 on success. */
static int gguf_rewrite(const char *src, const char *dst, struct gguf_edit e)
{
	FILE *f = fopen(src, "rb");
	if (!f)
		return -1;
	fseek(f, 0, SEEK_END);
	long size = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *buf = malloc((size_t)size);
	size_t got = buf ? fread(buf, 1, (size_t)size, f) : 0;
	fclose(f);
	struct mrl_err err = { 0 };
	struct gguf_ctx *g = NULL;
	int rc = -1;
	struct gguf_writer *w = gguf_writer_new();
	if (got != (size_t)size || gguf_parse(buf, (size_t)size, src, &g, &err) || !w)
		goto out;
	for (size_t i = 0; i < gguf_n_kv(g); i++) {
		const struct gguf_kv *kv = gguf_kv_at(g, i);
		if (e.drop_key && gguf_str_eq(kv->key, e.drop_key))
			continue;
		if (e.arch && gguf_str_eq(kv->key, "general.architecture")) {
			if (gguf_writer_set_str(w, "general.architecture", e.arch))
				goto out;
			continue;
		}
		if (gguf_writer_copy_kv(w, kv))
			goto out;
	}
	for (size_t i = 0; i < sizeof e.f32 / sizeof e.f32[0]; i++)
		if (e.f32[i].key && gguf_writer_set_f32(w, e.f32[i].key, e.f32[i].val))
			goto out;
	if ((e.u32_key && gguf_writer_set_u32(w, e.u32_key, e.u32_val)) ||
	    (e.str_key && gguf_writer_set_str(w, e.str_key, e.str_val)))
		goto out;
	for (size_t i = 0; i < gguf_n_tensors(g); i++) {
		const struct gguf_tensor *t = gguf_tensor_at(g, i);
		char name[128];
		snprintf(name, sizeof name, "%.*s", (int)t->name.len, t->name.ptr);
		if (e.drop_tensor && !strcmp(name, e.drop_tensor))
			continue;
		uint64_t ne[4] = { t->ne[0], t->ne[1], t->ne[2], t->ne[3] };
		if (e.bad_shape && !strcmp(name, e.bad_shape)) {
			ne[0] = t->ne[1];
			ne[1] = t->ne[0];
		}
		if (gguf_writer_add_tensor(w, name, t->type, t->n_dims, ne, t->data, t->nbytes))
			goto out;
	}
	for (size_t i = 0; i < sizeof e.add / sizeof e.add[0]; i++) {
		uint64_t ne[4] = { e.add[i].n, 1, 1, 1 };
		if (e.add[i].name && gguf_writer_add_tensor(w, e.add[i].name, ENG_TYPE_F32, 1, ne, e.add[i].data,
							    e.add[i].n * sizeof(float)))
			goto out;
	}
	rc = gguf_writer_write(w, dst, &err);
	if (rc)
		diag("writer: %s", err.msg);
out:
	gguf_writer_free(w);
	gguf_free(g);
	free(buf);
	return rc;
}

#endif
