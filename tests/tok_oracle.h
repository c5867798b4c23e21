/* tok_oracle.h — what the tokenizer tests (eng_tokenizer.c, eng_tokjson.c) share
 * to read the oracles' files: llama.cpp's test-tokenizer-0 inputs (.inp, strings
 * separated by "\n__ggml_vocab_test__\n") and expected ids (.out, one line of ids
 * per string), ids rendered as "a b c", a GGUF vocabulary loaded from a file, and
 * a text shown in a test label.
 * Header-only (static inline functions): each test program includes it once.
 */
#ifndef MERILO_TESTS_TOK_ORACLE_H
#define MERILO_TESTS_TOK_ORACLE_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/fileio.h"
#include "engine/gguf.h"
#include "engine/vocab.h"
#include "tests/tap.h"

/* Cut the .inp text as test-tokenizer-0 does. Returns the count; strings are
 * pointers into buf (NUL-terminated in place), lengths in lens. */
static inline size_t split_inputs(char *buf, size_t len, char **strs, size_t *lens, size_t max)
{
	static const char sep[] = "\n__ggml_vocab_test__\n";
	size_t n = 0, pos = 0, sl = sizeof sep - 1;
	while (pos < len && n < max) {
		char *next = memmem(buf + pos, len - pos, sep, sl);
		size_t end = next ? (size_t)(next - buf) : len;
		strs[n] = buf + pos;
		lens[n++] = end - pos;
		buf[end] = '\0';
		if (!next)
			break;
		pos = end + sl;
	}
	return n;
}

/* Split the .out text into lines (std::getline: no empty last line after a final '\n'). */
static inline size_t split_lines(char *buf, size_t len, char **lines, size_t max)
{
	size_t n = 0, pos = 0;
	while (pos < len && n < max) {
		char *nl = memchr(buf + pos, '\n', len - pos);
		size_t end = nl ? (size_t)(nl - buf) : len;
		buf[end] = '\0';
		lines[n++] = buf + pos;
		pos = end + 1;
	}
	return n;
}

/* Normalise an id line: trim, single spaces. */
static inline void norm_ids(const char *in, char *out, size_t cap)
{
	size_t o = 0;
	for (const char *p = in; *p && o + 2 < cap;) {
		while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
			p++;
		if (!*p)
			break;
		if (o)
			out[o++] = ' ';
		while (*p && *p != ' ' && *p != '\t' && *p != '\r' && *p != '\n' && o + 1 < cap)
			out[o++] = *p++;
	}
	out[o] = '\0';
}

/* ids as "a b c" (malloc'd; aborts when out of memory). */
static inline char *ids_str(const int32_t *ids, size_t n)
{
	size_t cap = n * 12 + 1, o = 0;
	char *s = malloc(cap);
	if (!s)
		abort();
	s[0] = '\0';
	for (size_t i = 0; i < n; i++)
		o += (size_t)snprintf(s + o, cap - o, i ? " %d" : "%d", ids[i]);
	return s;
}

/* The vocabulary of the GGUF file at path (eng_vocab_free it), or NULL with a diag. */
static inline struct eng_vocab *load_gguf_vocab(const char *path)
{
	char *buf = NULL;
	size_t len = 0;
	struct gguf_ctx *g = NULL;
	struct eng_vocab *v = NULL;
	struct mrl_err err = { 0 };
	if (mrl_read_file(path, (size_t)1 << 30, &buf, &len, &err) == 0 && gguf_parse(buf, len, path, &g, &err) == 0)
		eng_vocab_load(&v, g, path, &err);
	if (!v)
		diag("loading %s: %s", path, err.msg);
	gguf_free(g);
	free(buf);
	return v;
}

/* One check: v (NULL where it did not load) encodes text, with BOS where add_bos, to the
 * n_want ids of want. Frees v. */
static inline void is_encoding(struct eng_vocab *v, const char *text, bool add_bos, const int32_t *want, size_t n_want,
			       const char *label)
{
	int32_t *ids = NULL;
	size_t n = 0;
	struct mrl_err err = { 0 };
	int rc = v ? eng_vocab_tokenize(v, text, strlen(text), add_bos, &ids, &n, &err) : -1;
	char *got = rc == 0 ? ids_str(ids, n) : NULL, *w = ids_str(want, n_want);
	is_str(got, w, label);
	if (rc > 0)
		diag("%s", err.msg);
	free(got);
	free(w);
	free(ids);
	eng_vocab_free(v);
}

/* s (n bytes) for a test label: newlines, tabs and other control bytes escaped. */
static inline void show_text(const char *s, size_t n, char *out, size_t cap)
{
	size_t o = 0;
	for (size_t i = 0; i < n && o + 8 < cap; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '\n')
			o += (size_t)snprintf(out + o, cap - o, "\\n");
		else if (c == '\t')
			o += (size_t)snprintf(out + o, cap - o, "\\t");
		else if (c < 0x20)
			o += (size_t)snprintf(out + o, cap - o, "\\x%02x", c);
		else
			out[o++] = (char)c;
	}
	out[o] = '\0';
}

#endif
