/* vocab_table.c — the vocabulary as a table: the accessors, piece -> id
 * lookup (the open-addressing table vocab.c builds, see there), and the
 * growable id list the encoders append to. The encoders (vocab.c, bpe.c) and
 * the loaders (vocab.c, tokjson.c) all stand on this file, which calls none
 * of them: so the tokenizer's files have no call cycle.
 */
#include "engine/vocab.h"
#include "engine/vocab_int.h"

#include <stdlib.h>
#include <string.h>

int ids_push(struct ids_buf *b, int32_t id)
{
	if (b->n == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 64;
		int32_t *p = realloc(b->v, cap * sizeof *p);
		if (!p)
			return MRL_ENOMEM;
		b->v = p;
		b->cap = cap;
	}
	b->v[b->n++] = id;
	return 0;
}

/* ---- accessors ---- */

enum eng_vocab_type eng_vocab_type(const struct eng_vocab *v) { return v->type; }
const char *eng_vocab_model_name(const struct eng_vocab *v) { return v->model_name; }
const char *eng_vocab_pre_name(const struct eng_vocab *v) { return v->pre_name; }
uint32_t eng_vocab_n_tokens(const struct eng_vocab *v) { return v->n_tokens; }
int32_t eng_vocab_bos(const struct eng_vocab *v) { return v->bos; }
int32_t eng_vocab_eos(const struct eng_vocab *v) { return v->eos; }
int32_t eng_vocab_unk(const struct eng_vocab *v) { return v->unk; }
int32_t eng_vocab_pad(const struct eng_vocab *v) { return v->pad; }
bool eng_vocab_add_bos(const struct eng_vocab *v) { return v->add_bos; }
bool eng_vocab_add_eos(const struct eng_vocab *v) { return v->add_eos; }
bool eng_vocab_add_space_prefix(const struct eng_vocab *v) { return v->add_space_prefix; }
const int32_t *eng_vocab_eog_ids(const struct eng_vocab *v, size_t *n)
{
	*n = v->n_eog;
	return v->eog;
}
size_t eng_vocab_n_warnings(const struct eng_vocab *v) { return v->n_warnings; }
const char *eng_vocab_warning(const struct eng_vocab *v, size_t i)
{
	return i < v->n_warnings ? v->warnings[i] : NULL;
}

const char *eng_vocab_piece(const struct eng_vocab *v, int32_t id, size_t *len)
{
	if (!vocab_id_ok(v, id))
		return NULL;
	if (len)
		*len = v->piece_len[id];
	return v->blob + v->piece_off[id];
}

float eng_vocab_score(const struct eng_vocab *v, int32_t id)
{
	return vocab_id_ok(v, id) ? v->scores[id] : 0.0f;
}

enum eng_token_type eng_vocab_token_type(const struct eng_vocab *v, int32_t id)
{
	return vocab_id_ok(v, id) ? (enum eng_token_type)v->types[id] : ENG_TOKEN_UNDEFINED;
}

int32_t eng_vocab_find(const struct eng_vocab *v, const char *text, size_t len)
{
	size_t slot = (size_t)eng_hash_bytes(text, len) & v->table_mask;
	for (;;) {
		int32_t id = v->table[slot];
		if (id < 0)
			return -1;
		if (v->piece_len[id] == len && memcmp(v->blob + v->piece_off[id], text, len) == 0)
			return id;
		slot = (slot + 1) & v->table_mask;
	}
}
