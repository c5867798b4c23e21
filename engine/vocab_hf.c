/* vocab_hf.c — the JSON files of an HF tokenizer folder that both of its tokenizer
 * formats read: tokenizer.json (tokjson.c) and a SentencePiece tokenizer.model
 * (vocab_spm.c) take tokenizer_config.json, config.json's special ids and the
 * generation config's end-of-generation ids from here.
 *
 * Every file is untrusted input: at most VOCAB_HF_MAX_BYTES, nesting at most
 * VOCAB_HF_MAX_DEPTH (checked on the raw bytes before parsing).
 */
#include <jansson.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/fileio.h"
#include "common/json.h"
#include "engine/vocab_int.h"

/* A token name in tokenizer_config.json: "x" or {"content": "x", ...}. */
const char *vocab_hf_token_name(const json_t *t)
{
	if (json_is_string(t))
		return json_string_value(t);
	return json_string_value(json_object_get(t, "content"));
}

/* Read the JSON file at path (size and depth capped). */
int vocab_hf_read_json(const char *path, json_t **out, bool optional, size_t flags, struct mrl_err *err)
{
	char *buf = NULL;
	size_t len = 0;
	*out = NULL;
	if (optional) {
		struct stat st;
		if (stat(path, &st) != 0)
			return 0;
	}
	int rc = mrl_read_file(path, VOCAB_HF_MAX_BYTES, &buf, &len, err);
	if (rc)
		return rc;
	size_t deep = mrl_json_depth_exceeded_at(buf, len, VOCAB_HF_MAX_DEPTH);
	if (deep < len) {
		free(buf);
		return mrl_err_set(err, MRL_EINPUT, "%s: JSON nested deeper than %d levels (at byte %zu)", path,
				   VOCAB_HF_MAX_DEPTH, deep);
	}
	json_error_t jerr;
	*out = json_loadb(buf, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL | flags, &jerr);
	free(buf);
	if (!*out)
		return mrl_err_set(err, MRL_EINPUT, "%s:%d:%d: invalid JSON: %s", path, jerr.line, jerr.column, jerr.text);
	if (!json_is_object(*out)) {
		json_decref(*out);
		*out = NULL;
		return mrl_err_set(err, MRL_EINPUT, "%s: the top level is not a JSON object", path);
	}
	return 0;
}

/* config.json's bos_token_id / eos_token_id (an id, or a list whose first id
 * counts), for a tokenizer that names neither token, as llama.cpp's converter
 * (gguf-py SpecialVocab) falls back on them. Nothing is added to the text for
 * them: add_bos / add_eos stay the tokenizer's. dir_of_file: "" or ".../". */
int vocab_hf_specials_from_config(struct eng_vocab *v, const char *dir_of_file, int dir_len, struct mrl_err *err)
{
	char *path = NULL;
	json_t *c = NULL;
	if (asprintf(&path, "%.*sconfig.json", dir_len, dir_of_file) < 0)
		return mrl_err_set(err, MRL_ENOMEM, "out of memory");
	int rc = vocab_hf_read_json(path, &c, true, JSON_DECODE_INT_AS_REAL, err);
	if (rc && rc != MRL_ENOMEM) { /* beside a lone tokenizer.json it may be anything: the ids are a fallback */
		mrl_err_clear(err);
		rc = 0;
		c = NULL;
	}
	static const char *const keys[2] = { "bos_token_id", "eos_token_id" };
	int32_t *ids[2] = { &v->bos, &v->eos };
	for (int k = 0; !rc && c && k < 2; k++) {
		const json_t *x = json_object_get(c, keys[k]);
		if (json_is_array(x))
			x = json_array_get(x, 0);
		const double id = json_is_number(x) ? json_number_value(x) : -1;
		if (*ids[k] < 0 && id >= 0 && id < (double)v->n_tokens && id == (double)(int32_t)id)
			*ids[k] = (int32_t)id;
	}
	json_decref(c);
	free(path);
	return rc;
}

/* transformers' GenerationConfig.eos_token_id for the folder of a tokenizer.json or a
 * tokenizer.model: an id or a list of ids in generation_config.json where that file is,
 * else in config.json (GenerationConfig.from_model_config); as transformers 5.25 loads
 * a folder, a generation_config.json without the key or with null means none. Up to
 * VOCAB_MAX_EOG_CONFIG ids into ids; a file that does not read is skipped with a
 * warning (a tokenizer.json may have been copied anywhere), entries that are not ids
 * silently. */
size_t vocab_hf_eog_config_ids(struct eng_vocab *v, const char *dir_of_file, int dir_len,
			       int32_t ids[VOCAB_MAX_EOG_CONFIG])
{
	static const char *const files[2] = { "generation_config.json", "config.json" };
	size_t n = 0;
	for (int f = 0; f < 2; f++) {
		char *path = NULL;
		json_t *c = NULL;
		if (asprintf(&path, "%.*s%s", dir_len, dir_of_file, files[f]) < 0)
			return n;
		struct mrl_err e = { 0 };
		if (vocab_hf_read_json(path, &c, true, JSON_DECODE_INT_AS_REAL, &e)) {
			char msg[sizeof e.msg + 80];
			snprintf(msg, sizeof msg, "%s (its eos_token_id: where generation stops): ignored", e.msg);
			vocab_warn(v, msg);
		}
		const json_t *x = c ? json_object_get(c, "eos_token_id") : NULL;
		const size_t m = json_is_array(x) ? json_array_size(x) : x ? 1 : 0;
		for (size_t i = 0; i < m; i++) {
			const json_t *e_i = json_is_array(x) ? json_array_get(x, i) : x;
			const double id = json_is_number(e_i) ? json_number_value(e_i) : -1;
			if (id >= 0 && id < (double)v->n_tokens && id == (double)(int32_t)id && n < VOCAB_MAX_EOG_CONFIG)
				ids[n++] = (int32_t)id;
		}
		const bool read = c != NULL;
		json_decref(c);
		free(path);
		if (read)
			break; /* a generation_config.json, with the key or not: config.json is not consulted */
	}
	return n;
}
