/* synth.c — `merilo synth`: deterministic random-weight llama models (see eng.h).
 *
 * Synthetic models measure speed, not quality. Weights are drawn from a seeded
 * generator: matrices N(0,1) * 0.02, norm weights 1 + 0.1 * N(0,1) (as the tiny
 * fixture models). Each tensor has its own stream, seeded from the seed and the
 * tensor's name, so a tensor's values do not depend on the others or on chunking;
 * element k is drawn by its index (normal_pair), so the rows of a chunk are drawn
 * and quantized on all CPUs and the file is the same whatever their number.
 * The header is written first and each tensor is generated in chunks of rows
 * through the writer's fill callback, so a 7B model never sits in memory.
 *
 * Built-in vocabulary (when no --vocab is given), tokenizer.ggml.model "llama"
 * (SentencePiece-style, no merges list; pieces are merged by score):
 *   0 <unk>, 1 <s>, 2 </s>, 3..258 the byte tokens <0x00>..<0xFF> (byte fallback,
 *   so every UTF-8 text, Serbian Cyrillic included, tokenizes), then "▁" and the
 *   printable ASCII characters, then every prefix (2+ characters) of "▁word" for
 *   a list of common English and Serbian (Latin) words, each prefix once. Scores
 *   decrease with the index, so longer pieces of a word win once reachable.
 */
#include "engine/eng.h"

#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/eng_int.h"
#include "engine/gguf.h"
#include "engine/types.h"

struct preset {
	const char *name;
	uint32_t n_embd, n_layer, n_head, n_head_kv, n_ff, n_ctx;
};

static const struct preset presets[] = {
	{ "tiny", 64, 4, 8, 4, 192, 256 },
	{ "110m", 768, 12, 12, 12, 2048, 1024 },
	{ "1b", 2048, 16, 32, 8, 5632, 2048 },
	{ "7b", 4096, 32, 32, 32, 11008, 4096 },
};

static const struct {
	const char *name;
	uint32_t type;
	uint32_t file_type; /* llama_ftype */
} dtypes[] = {
	{ "f32", ENG_TYPE_F32, 0 },
	{ "f16", ENG_TYPE_F16, 1 },
	{ "q4_0", ENG_TYPE_Q4_0, 2 },
	{ "q8_0", ENG_TYPE_Q8_0, 7 },
	{ "bf16", ENG_TYPE_BF16, 32 },
};

static const char *const vocab_words[] = {
	"the", "and", "of", "to", "in", "is", "was", "that", "for", "it", "with", "as", "on", "be",
	"at", "by", "this", "had", "not", "are", "but", "from", "or", "have", "an", "they", "which",
	"one", "you", "were", "her", "all", "she", "there", "would", "their", "we", "him", "been",
	"has", "when", "who", "will", "more", "no", "if", "out", "so", "said", "what", "up", "its",
	"about", "into", "than", "them", "can", "only", "other", "new", "some", "could", "time",
	"these", "two", "may", "then", "do", "first", "any", "my", "now", "such", "like", "our",
	"over", "man", "me", "even", "most", "made", "after", "also", "did", "many", "before",
	"must", "through", "back", "years", "where", "much", "your", "way", "well", "down",
	"should", "because", "each", "just", "those", "people", "how", "too", "little", "state",
	"good", "very", "make", "world", "still", "own", "see", "men", "work", "long", "get",
	"here", "between", "both", "life", "being", "under", "never", "day", "same", "another",
	"know", "while", "last", "might", "us", "great", "old", "year", "off", "come", "since",
	"against", "go", "came", "right", "used", "take", "three", "once", "upon", "model",
	"je", "i", "u", "da", "se", "na", "su", "za", "od", "sa", "koji", "ne", "to", "kao",
	"iz", "ali", "bio", "bila", "jednom", "godine", "grad", "Beograd", "Beogradu", "Srbija",
	"Hrvatska", "Zagreb", "kada", "sve", "samo", "biti", "nije", "ima", "jer", "ili", "ovo",
	"reka", "dan", "vreme", "ljudi", "posle", "pre", "kroz", "prvi", "veliki", "novi",
};

/* ---- PRNG: splitmix64 per tensor, Box-Muller for normals ---- */

struct rng {
	uint64_t s;
};

static uint64_t rng_u64(struct rng *r)
{
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* ---- the model's tensors ---- */

struct tspec {
	char name[64];
	uint32_t type;
	bool is_norm;
	uint64_t ne0, ne1; /* ne1 = 1 for vectors */
	uint64_t ne2;      /* experts of a 3-d ffn_*_exps tensor; 1 otherwise */
};

struct synth {
	struct tspec *t;
	size_t n;
	uint64_t seed;
	float *chunk_f32;
	void *chunk_q;
	uint64_t chunk_elems;
	struct eng_pool *pool;    /* the rows of a chunk are drawn and quantized in parallel */
	const struct eng_synth_opts *o; /* stop and on_tensor */
};

static uint64_t name_hash(const char *s)
{
	uint64_t h = 1469598103934665603ull;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

/* Elements 2p and 2p + 1 of a tensor's stream: Box-Muller pairs from the splitmix64 counter, so
 * any element can be drawn by its index (the sequence a sequential Box-Muller gives, element
 * for element: pair p takes draws 2p + 1 and 2p + 2; the even element is the cosine, the odd
 * the sine). */
static void normal_pair(uint64_t s0, uint64_t p, double *even, double *odd)
{
	struct rng r = { .s = s0 + p * 2 * 0x9e3779b97f4a7c15ull };
	double u1 = ((double)(rng_u64(&r) >> 11) + 0.5) * 0x1p-53; /* (0, 1): log is finite */
	double u2 = (double)(rng_u64(&r) >> 11) * 0x1p-53;
	double m = sqrt(-2.0 * log(u1));
	*even = m * cos(6.283185307179586 * u2);
	*odd = m * sin(6.283185307179586 * u2);
}

/* One chunk of rows, row by row across the pool's threads. */
struct fill_job {
	const struct tspec *t;
	const struct eng_type_traits *tr;
	uint64_t s0, row0, row_bytes;
	float *f32;
	unsigned char *q;
};

static void fill_rows(void *arg, int64_t begin, int64_t end, int thread_idx)
{
	(void)thread_idx;
	const struct fill_job *j = arg;
	const uint64_t ne0 = j->t->ne0;
	for (int64_t r = begin; r < end; r++) {
		float *x = j->f32 + (uint64_t)r * ne0;
		const uint64_t k0 = (j->row0 + (uint64_t)r) * ne0;
		for (uint64_t c = 0; c < ne0;) {
			double z[2];
			const uint64_t k = k0 + c;
			normal_pair(j->s0, k / 2, &z[0], &z[1]);
			/* both of the pair where the row holds both (always, for an even ne0) */
			for (uint64_t e = k % 2; e < 2 && c < ne0; e++, c++)
				x[c] = j->t->is_norm ? (float)(1.0 + 0.1 * z[e]) : (float)(0.02 * z[e]);
		}
		j->tr->from_f32(x, j->q + (uint64_t)r * j->row_bytes, (int64_t)ne0);
	}
}

static int fill_tensor(void *user, size_t i, struct gguf_sink *sink, struct mrl_err *err)
{
	struct synth *sy = user;
	const struct tspec *t = &sy->t[i];
	struct fill_job j = { .t = t, .tr = eng_type_get(t->type), .f32 = sy->chunk_f32, .q = sy->chunk_q,
			      .s0 = sy->seed * 0x9e3779b97f4a7c15ull ^ name_hash(t->name) };
	uint64_t rows_per_chunk = sy->chunk_elems / t->ne0;
	if (rows_per_chunk == 0)
		rows_per_chunk = 1;
	eng_row_size(t->type, t->ne0, &j.row_bytes);
	const uint64_t n_rows = t->ne1 * t->ne2;
	for (uint64_t row = 0; row < n_rows; row += rows_per_chunk) {
		if (sy->o->stop && *sy->o->stop) /* gguf_writer_write_fill then removes its temporary file */
			return mrl_err_set(err, MRL_ERUNTIME, "synth: interrupted while writing tensor '%s'", t->name);
		uint64_t rows = n_rows - row < rows_per_chunk ? n_rows - row : rows_per_chunk;
		j.row0 = row;
		eng_pool_run(sy->pool, fill_rows, &j, (int64_t)rows);
		int rc = gguf_sink_write(sink, sy->chunk_q, rows * j.row_bytes, err);
		if (rc)
			return rc;
	}
	if (sy->o->on_tensor)
		sy->o->on_tensor(sy->o->user, i + 1, sy->n, t->name);
	return 0;
}

static int add_builtin_vocab(struct gguf_writer *w, uint32_t *n_vocab, struct mrl_err *err)
{
	size_t cap = 4096, n = 0;
	char **tok = calloc(cap, sizeof *tok);
	int rc = 0;
	if (!tok)
		return mrl_err_set(err, MRL_ENOMEM, "out of memory for the built-in vocabulary");
	char buf[64];
#define ADD(s) do { if (n < cap && !(tok[n] = strdup(s))) goto oom; n++; } while (0)
	ADD("<unk>");
	ADD("<s>");
	ADD("</s>");
	for (int b = 0; b < 256; b++) {
		snprintf(buf, sizeof buf, "<0x%02X>", b);
		ADD(buf);
	}
	ADD("\xe2\x96\x81"); /* ▁ */
	for (int c = 0x21; c < 0x7f; c++) {
		buf[0] = (char)c;
		buf[1] = '\0';
		ADD(buf);
	}
	for (size_t wi = 0; wi < sizeof vocab_words / sizeof vocab_words[0]; wi++) {
		char word[64];
		snprintf(word, sizeof word, "\xe2\x96\x81%s", vocab_words[wi]);
		size_t len = strlen(word);
		for (size_t l = 4; l <= len; l++) { /* "▁" is 3 bytes: prefixes of 1+ ASCII letters */
			memcpy(buf, word, l);
			buf[l] = '\0';
			bool seen = false;
			for (size_t k = 259; k < n && !seen; k++)
				seen = !strcmp(tok[k], buf);
			if (!seen)
				ADD(buf);
		}
	}
#undef ADD
	float *scores = malloc(n * sizeof *scores);
	int32_t *types = malloc(n * sizeof *types);
	if (!scores || !types) {
		free(scores);
		free(types);
		goto oom;
	}
	for (size_t i = 0; i < n; i++) {
		scores[i] = i < 259 ? 0.0f : -(float)(i - 259);
		types[i] = i == 0 ? 2 : i < 3 ? 3 : i < 259 ? 6 : 1; /* unknown, control, byte, normal */
	}
	gguf_writer_set_str(w, "tokenizer.ggml.model", "llama");
	gguf_writer_set_arr_str(w, "tokenizer.ggml.tokens", (const char *const *)tok, n);
	gguf_writer_set_arr(w, "tokenizer.ggml.scores", GGUF_F32, n, scores);
	gguf_writer_set_arr(w, "tokenizer.ggml.token_type", GGUF_I32, n, types);
	gguf_writer_set_u32(w, "tokenizer.ggml.unknown_token_id", 0);
	gguf_writer_set_u32(w, "tokenizer.ggml.bos_token_id", 1);
	gguf_writer_set_u32(w, "tokenizer.ggml.eos_token_id", 2);
	gguf_writer_set_bool(w, "tokenizer.ggml.add_bos_token", true);
	gguf_writer_set_bool(w, "tokenizer.ggml.add_eos_token", false);
	free(scores);
	free(types);
	*n_vocab = (uint32_t)n;
	goto out;
oom:
	rc = mrl_err_set(err, MRL_ENOMEM, "out of memory for the built-in vocabulary");
out:
	for (size_t i = 0; i < n; i++)
		free(tok[i]);
	free(tok);
	return rc;
}

static int copy_vocab(struct gguf_writer *w, const char *path, uint32_t *n_vocab, struct mrl_err *err)
{
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return mrl_err_set(err, MRL_EIO, "%s: cannot open the vocabulary: %m", path);
	struct stat st;
	void *map = MAP_FAILED;
	struct gguf_ctx *g = NULL;
	int rc = 0;
	if (fstat(fd, &st) || st.st_size <= 0) {
		rc = mrl_err_set(err, MRL_EINPUT, "%s: empty or unreadable vocabulary file", path);
		goto out;
	}
	map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (map == MAP_FAILED) {
		rc = mrl_err_set(err, MRL_EIO, "%s: cannot map: %m", path);
		goto out;
	}
	if ((rc = gguf_parse(map, (size_t)st.st_size, path, &g, err)))
		goto out;
	const struct gguf_kv *tokens = NULL;
	rc = gguf_get_arr(g, "tokenizer.ggml.tokens", GGUF_STRING, &tokens, err);
	if (rc == 1 || (rc == 0 && (tokens->arr_n == 0 || tokens->arr_n > INT32_MAX))) {
		rc = mrl_err_set(err, MRL_EINPUT, "%s: no usable tokenizer.ggml.tokens array", path);
		goto out;
	}
	if (rc)
		goto out;
	*n_vocab = (uint32_t)tokens->arr_n;
	for (size_t i = 0; i < gguf_n_kv(g); i++) {
		const struct gguf_kv *kv = gguf_kv_at(g, i);
		if (kv->key.len > 10 && !memcmp(kv->key.ptr, "tokenizer.", 10) &&
		    (rc = gguf_writer_copy_kv(w, kv))) {
			rc = mrl_err_set(err, rc, "%s: cannot copy key %zu", path, i);
			goto out;
		}
	}
out:
	gguf_free(g);
	if (map != MAP_FAILED)
		munmap(map, (size_t)st.st_size);
	close(fd);
	return rc;
}

static int add_spec(struct synth *sy, const char *name, uint32_t type, bool is_norm, uint64_t ne0, uint64_t ne1)
{
	struct tspec *t = &sy->t[sy->n++];
	snprintf(t->name, sizeof t->name, "%s", name);
	t->type = is_norm ? ENG_TYPE_F32 : type;
	t->is_norm = is_norm;
	t->ne0 = ne0;
	t->ne1 = ne1;
	t->ne2 = 1;
	return 0;
}

/* Layer l's FFN: gate, down and up matrices, or (with experts) the router, f32 as llama.cpp's
 * converter keeps it, and each matrix for all experts in one 3-d tensor, as llama.cpp writes
 * a Mixtral. */
static void add_ffn(struct synth *sy, uint32_t l, uint32_t type, const struct preset *p, uint32_t n_expert)
{
	static const char *const part[3] = { "gate", "down", "up" };
	char tn[64];
	if (n_expert) {
		snprintf(tn, sizeof tn, "blk.%u.ffn_gate_inp.weight", l);
		add_spec(sy, tn, ENG_TYPE_F32, false, p->n_embd, n_expert);
	}
	for (int i = 0; i < 3; i++) {
		snprintf(tn, sizeof tn, n_expert ? "blk.%u.ffn_%s_exps.weight" : "blk.%u.ffn_%s.weight", l, part[i]);
		add_spec(sy, tn, type, false, i == 1 ? p->n_ff : p->n_embd, i == 1 ? p->n_embd : p->n_ff);
		sy->t[sy->n - 1].ne2 = n_expert ? n_expert : 1;
	}
}

/* The model's shape (a preset, then the options that override it) and the
 * index of its dtype in dtypes[], checked. */
static int resolve_shape(const struct eng_synth_opts *o, const char *dtype, struct preset *shape, size_t *dtype_index,
			 struct mrl_err *err)
{
	struct preset p = { "custom", 0, 0, 0, 0, 0, 2048 };
	if (o->preset) {
		size_t i = 0;
		while (i < sizeof presets / sizeof presets[0] && strcmp(presets[i].name, o->preset))
			i++;
		if (i == sizeof presets / sizeof presets[0])
			return mrl_err_set(err, MRL_EUNSUPPORTED, "synth: unknown preset '%s' (tiny, 110m, 1b, 7b)", o->preset);
		p = presets[i];
	}
	if (o->n_layer) p.n_layer = o->n_layer;
	if (o->n_embd) p.n_embd = o->n_embd;
	if (o->n_head) p.n_head = o->n_head;
	if (o->n_head_kv) p.n_head_kv = o->n_head_kv;
	if (o->n_ff) p.n_ff = o->n_ff;
	if (o->n_ctx) p.n_ctx = o->n_ctx;
	if (!p.n_head_kv)
		p.n_head_kv = p.n_head;
	if (!p.n_layer || !p.n_embd || !p.n_head || !p.n_ff)
		return mrl_err_set(err, MRL_EINPUT, "synth: without a preset, layers, dim, heads and ffn must be given");
	if (p.n_embd % p.n_head || (p.n_embd / p.n_head) % 2)
		return mrl_err_set(err, MRL_EINPUT, "synth: dim %u is not an even multiple of heads %u (head size must be even)",
				   p.n_embd, p.n_head);
	if (p.n_head % p.n_head_kv)
		return mrl_err_set(err, MRL_EINPUT, "synth: heads %u is not a multiple of kv-heads %u", p.n_head, p.n_head_kv);
	if (p.n_layer > 4096 || p.n_embd > 65536 || p.n_ff > 262144 || p.n_ctx > (1u << 24))
		return mrl_err_set(err, MRL_EINPUT, "synth: shape too large");
	if (o->n_expert > ENG_MAX_EXPERTS || o->n_expert_used > o->n_expert || (o->n_expert && !o->n_expert_used))
		return mrl_err_set(err, MRL_EINPUT, "synth: experts used a token (%u) must be 1 to the experts (%u), at most %d",
				   o->n_expert_used, o->n_expert, ENG_MAX_EXPERTS);
	size_t di = 0;
	while (di < sizeof dtypes / sizeof dtypes[0] && strcmp(dtypes[di].name, dtype))
		di++;
	if (di == sizeof dtypes / sizeof dtypes[0])
		return mrl_err_set(err, MRL_EUNSUPPORTED, "synth: unknown dtype '%s' (f32, f16, bf16, q8_0, q4_0)", dtype);
	*shape = p;
	*dtype_index = di;
	return 0;
}

/* The architecture, the shape and the dtype's index of o, checked (eng_synth_check). */
static int check_opts(const struct eng_synth_opts *o, struct preset *shape, size_t *dtype_index, struct mrl_err *err)
{
	const char *arch = o->arch ? o->arch : "llama";
	if (strcmp(arch, "llama"))
		return mrl_err_set(err, MRL_EUNSUPPORTED, "synth: unknown architecture '%s' (supported: llama)", arch);
	const char *dtype = o->dtype ? o->dtype : "f32";
	int rc = resolve_shape(o, dtype, shape, dtype_index, err);
	if (rc)
		return rc;
	uint32_t block = eng_type_get(dtypes[*dtype_index].type)->block_size;
	if (shape->n_embd % block || shape->n_ff % block)
		return mrl_err_set(err, MRL_EINPUT, "synth: %s needs dim and ffn to be multiples of %u", dtype, block);
	return 0;
}

int eng_synth_check(const struct eng_synth_opts *o, struct mrl_err *err)
{
	struct preset p;
	size_t di;
	return check_opts(o, &p, &di, err);
}

int eng_synth(const struct eng_synth_opts *o, const char *out_path, struct eng_synth_info *info,
	      struct mrl_err *err)
{
	struct synth sy = { .seed = o->seed, .o = o };
	struct gguf_writer *w = NULL;
	int rc = 0;
	const char *dtype = o->dtype ? o->dtype : "f32";
	struct preset p = { 0 };
	size_t di = 0;
	if ((rc = check_opts(o, &p, &di, err)))
		return rc;
	uint32_t type = dtypes[di].type;
	uint32_t head_dim = p.n_embd / p.n_head;

	w = gguf_writer_new();
	if (!w)
		return mrl_err_set(err, MRL_ENOMEM, "synth: out of memory");
	uint32_t n_vocab = 0;
	rc = o->vocab_path ? copy_vocab(w, o->vocab_path, &n_vocab, err) : add_builtin_vocab(w, &n_vocab, err);
	if (rc)
		goto out;
	char name[128];
	snprintf(name, sizeof name, "merilo-synth-%s-%s", p.name, dtype);
	gguf_writer_set_str(w, "general.architecture", "llama");
	gguf_writer_set_str(w, "general.name", name);
	gguf_writer_set_str(w, "general.description",
			    "synthetic random weights from merilo synth: for measuring speed, not quality");
	gguf_writer_set_scalar(w, "merilo.synth.seed", GGUF_U64, o->seed);
	gguf_writer_set_u32(w, "general.file_type", dtypes[di].file_type);
	gguf_writer_set_u32(w, "llama.context_length", p.n_ctx);
	gguf_writer_set_u32(w, "llama.embedding_length", p.n_embd);
	gguf_writer_set_u32(w, "llama.block_count", p.n_layer);
	gguf_writer_set_u32(w, "llama.feed_forward_length", p.n_ff);
	gguf_writer_set_u32(w, "llama.attention.head_count", p.n_head);
	gguf_writer_set_u32(w, "llama.attention.head_count_kv", p.n_head_kv);
	gguf_writer_set_u32(w, "llama.rope.dimension_count", head_dim);
	gguf_writer_set_f32(w, "llama.rope.freq_base", 10000.0f);
	gguf_writer_set_f32(w, "llama.attention.layer_norm_rms_epsilon", 1e-5f);
	gguf_writer_set_u32(w, "llama.vocab_size", n_vocab);
	if (o->n_expert) {
		gguf_writer_set_u32(w, "llama.expert_count", o->n_expert);
		gguf_writer_set_u32(w, "llama.expert_used_count", o->n_expert_used);
	}

	sy.t = calloc(3 + 10 * (size_t)p.n_layer, sizeof *sy.t);
	if (!sy.t) {
		rc = mrl_err_set(err, MRL_ENOMEM, "synth: out of memory");
		goto out;
	}
	uint64_t kv_dim = (uint64_t)p.n_head_kv * head_dim;
	add_spec(&sy, "token_embd.weight", type, false, p.n_embd, n_vocab);
	for (uint32_t l = 0; l < p.n_layer; l++) {
		char tn[64];
#define T(suffix, norm, ne0, ne1) do { snprintf(tn, sizeof tn, "blk.%u." suffix, l); \
		add_spec(&sy, tn, type, norm, ne0, ne1); } while (0)
		T("attn_norm.weight", true, p.n_embd, 1);
		T("attn_q.weight", false, p.n_embd, p.n_embd);
		T("attn_k.weight", false, p.n_embd, kv_dim);
		T("attn_v.weight", false, p.n_embd, kv_dim);
		T("attn_output.weight", false, p.n_embd, p.n_embd);
		T("ffn_norm.weight", true, p.n_embd, 1);
#undef T
		add_ffn(&sy, l, type, &p, o->n_expert);
	}
	add_spec(&sy, "output_norm.weight", type, true, p.n_embd, 1);
	/* as llama.cpp's quantizer: a q4_0 model keeps its output matrix in q8_0 */
	if (!o->tied)
		add_spec(&sy, "output.weight", type == ENG_TYPE_Q4_0 ? ENG_TYPE_Q8_0 : type, false, p.n_embd, n_vocab);

	uint64_t n_params = 0, max_ne0 = 0;
	for (size_t i = 0; i < sy.n; i++) {
		const struct tspec *t = &sy.t[i];
		uint64_t ne[3] = { t->ne0, t->ne1, t->ne2 }, row;
		eng_row_size(t->type, t->ne0, &row);
		rc = gguf_writer_add_tensor(w, t->name, t->type, t->is_norm ? 1 : t->ne2 > 1 ? 3 : 2, ne, NULL,
					    row * t->ne1 * t->ne2);
		if (rc) {
			rc = mrl_err_set(err, rc, "synth: cannot declare tensor '%s'", t->name);
			goto out;
		}
		n_params += t->ne0 * t->ne1 * t->ne2;
		if (t->ne0 > max_ne0)
			max_ne0 = t->ne0;
	}
	sy.chunk_elems = max_ne0 > (1u << 22) ? max_ne0 : (1u << 22);
	if ((rc = eng_pool_new(&sy.pool, eng_default_threads(), false, err)))
		goto out;
	sy.chunk_f32 = malloc(sy.chunk_elems * sizeof(float));
	sy.chunk_q = malloc(sy.chunk_elems * sizeof(float));
	if (!sy.chunk_f32 || !sy.chunk_q) {
		rc = mrl_err_set(err, MRL_ENOMEM, "synth: out of memory");
		goto out;
	}
	if ((rc = gguf_writer_write_fill(w, out_path, fill_tensor, &sy, err)))
		goto out;
	if (info) {
		struct stat st;
		*info = (struct eng_synth_info){ n_vocab, p.n_layer, p.n_embd, p.n_head, p.n_head_kv, p.n_ff, p.n_ctx,
						 n_params, stat(out_path, &st) == 0 ? (uint64_t)st.st_size : 0,
						 o->n_expert, o->n_expert_used };
	}
out:
	free(sy.t);
	free(sy.chunk_f32);
	free(sy.chunk_q);
	if (sy.pool)
		eng_pool_free(sy.pool);
	gguf_writer_free(w);
	return rc;
}
