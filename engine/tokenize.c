/* tokenize.c — the public tokenizer calls of eng.h, on top of the model's vocabulary.
 *
 * The model owns its struct eng_vocab (loaded at open, reached through
 * eng_model_vocab() of eng_int.h); everything here forwards to vocab.c, which
 * holds the algorithms and can be tested without a model.
 */
#include "engine/eng.h"
#include "engine/eng_int.h"
#include "engine/vocab.h"

int eng_tokenize(const struct eng_model *m, const char *text, size_t len, bool add_bos,
		 int32_t **ids_out, size_t *n_out, struct mrl_err *err)
{
	const struct eng_vocab *v = eng_model_vocab(m);
	if (!v) {
		*ids_out = NULL;
		*n_out = 0;
		return mrl_err_set(err, MRL_EINPUT, "the model has no vocabulary");
	}
	return eng_vocab_tokenize(v, text, len, add_bos, ids_out, n_out, err);
}

_Static_assert(ENG_TOKENIZE_ADD_BOS == ENG_TOK_ADD_BOS && ENG_TOKENIZE_ADD_EOS == ENG_TOK_ADD_EOS &&
		       ENG_TOKENIZE_PARSE_SPECIAL == ENG_TOK_PARSE_SPECIAL, "eng.h and vocab.h flags agree");

int eng_tokenize_flags(const struct eng_model *m, const char *text, size_t len, unsigned flags,
		       int32_t **ids_out, size_t *n_out, struct mrl_err *err)
{
	const struct eng_vocab *v = eng_model_vocab(m);
	if (!v) {
		*ids_out = NULL;
		*n_out = 0;
		return mrl_err_set(err, MRL_EINPUT, "the model has no vocabulary");
	}
	return eng_vocab_encode(v, text, len, flags, ids_out, n_out, err);
}

const char *eng_token_piece(const struct eng_model *m, int32_t id)
{
	const struct eng_vocab *v = eng_model_vocab(m);
	return v ? eng_vocab_piece(v, id, NULL) : NULL;
}

int eng_detokenize(const struct eng_model *m, const int32_t *ids, size_t n, char **text_out,
		   size_t *len_out, struct mrl_err *err)
{
	const struct eng_vocab *v = eng_model_vocab(m);
	if (!v) {
		*text_out = NULL;
		if (len_out)
			*len_out = 0;
		return mrl_err_set(err, MRL_EINPUT, "the model has no vocabulary");
	}
	return eng_vocab_detokenize(v, ids, n, text_out, len_out, err);
}

/* The load warnings: the vocabulary's (special ids it ignored), then the CPU weights'
 * (a repack that did not fit the memory: repack.c). */
size_t eng_model_n_warnings(const struct eng_model *m)
{
	const struct eng_vocab *v = eng_model_vocab(m);
	return (v ? eng_vocab_n_warnings(v) : 0) + (m->repack_note != NULL);
}

const char *eng_model_warning(const struct eng_model *m, size_t i)
{
	const struct eng_vocab *v = eng_model_vocab(m);
	const size_t nv = v ? eng_vocab_n_warnings(v) : 0;
	return i < nv ? eng_vocab_warning(v, i) : i == nv ? m->repack_note : NULL;
}
