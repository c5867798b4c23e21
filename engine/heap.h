/* heap.h — a binary min-heap over a struct type, generated per type.
 *
 * The tokenizers' merge loops (SentencePiece bigrams in vocab.c, byte-level BPE
 * candidates in bpe.c) pop the best pair until none is left; each keeps its
 * elements by value and orders them by its own rule. ENG_HEAP_DEFINE writes the
 * heap for one element type with static functions (no function pointers in
 * the hot loop):
 *
 *   ENG_HEAP_DEFINE(pair_heap, struct pair, pair_before)
 *   -> struct pair_heap { struct pair *v; size_t n, cap; };
 *      static int pair_heap_push(struct pair_heap *h, struct pair x);  0 or MRL_ENOMEM
 *      static struct pair pair_heap_pop(struct pair_heap *h);          h->n > 0
 *
 * before(a, b) is true when *a must come out before *b. A zeroed heap is
 * empty; free(h->v) releases it.
 */
#ifndef MRL_ENG_HEAP_H
#define MRL_ENG_HEAP_H

#include <stdlib.h>

#include "common/err.h"

#define ENG_HEAP_DEFINE(name, type, before)                                        \
	struct name {                                                              \
		type *v;                                                           \
		size_t n, cap;                                                     \
	};                                                                         \
	static int name##_push(struct name *h, type x)                             \
	{                                                                          \
		if (h->n == h->cap) {                                              \
			size_t cap = h->cap ? h->cap * 2 : 64;                     \
			type *p = realloc(h->v, cap * sizeof *p);                  \
			if (!p)                                                    \
				return MRL_ENOMEM;                                 \
			h->v = p;                                                  \
			h->cap = cap;                                              \
		}                                                                  \
		size_t i = h->n++;                                                 \
		while (i > 0) {                                                    \
			size_t parent = (i - 1) / 2;                               \
			if (!before(&x, &h->v[parent]))                            \
				break;                                             \
			h->v[i] = h->v[parent];                                    \
			i = parent;                                                \
		}                                                                  \
		h->v[i] = x;                                                       \
		return 0;                                                          \
	}                                                                          \
	static type name##_pop(struct name *h)                                     \
	{                                                                          \
		type top = h->v[0], last = h->v[--h->n];                           \
		size_t i = 0;                                                      \
		for (;;) {                                                         \
			size_t c = 2 * i + 1;                                      \
			if (c >= h->n)                                             \
				break;                                             \
			if (c + 1 < h->n && before(&h->v[c + 1], &h->v[c]))        \
				c++;                                               \
			if (!before(&h->v[c], &last))                              \
				break;                                             \
			h->v[i] = h->v[c];                                         \
			i = c;                                                     \
		}                                                                  \
		if (h->n)                                                          \
			h->v[i] = last;                                            \
		return top;                                                        \
	}

#endif
