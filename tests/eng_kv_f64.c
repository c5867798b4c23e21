/* eng_kv_f64.c — the engine with an f32 KV cache against a float64 forward pass.
 *
 * `--kv-cache f32` (eng_open_opts.kv_f32) exists so that scores can be checked
 * against a computation that rounds nothing: here a plain float64 forward pass
 * written from the architecture's definition (RMSNorm, RoPE in the GGUF layout
 * of the configuration, grouped-query attention, SwiGLU; Qwen2's q/k/v biases),
 * reading the f32 weights of the fixture models through the model handle. On a
 * prompt of English, Serbian Latin and Cyrillic, every position's
 * log-probability of the next token (what a log-likelihood sums) is within 1e-5
 * of float64 with the f32 cache; the f16 cache (llama.cpp's default arithmetic)
 * gives other numbers, and its distance is printed for docs/evaluation.md.
 * SKIP without ../shared/fixtures.
 */
#include "tests/tap.h"

#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/eng.h"
#include "engine/eng_int.h"

#define FIXTURES "../shared/fixtures/models/"
#define MAX_SEQ 96

static const char *const prompt = "Once upon a time in Belgrade, bilo jednom u Beogradu, било једном у Београду.";

/* y[r] = sum_c W[r][c] x[c] (+ b[r]) over an f32 tensor, in double. */
static void matvec(const struct eng_tensor *w, const struct eng_tensor *b, const double *x, double *y)
{
	const float *W = w->data;
	for (uint64_t r = 0; r < w->ne1; r++) {
		double s = 0;
		for (uint64_t c = 0; c < w->ne0; c++)
			s += (double)W[r * w->ne0 + c] * x[c];
		y[r] = s + (b && b->data ? (double)((const float *)b->data)[r] : 0);
	}
}

static void rmsnorm(const double *x, const struct eng_tensor *w, double eps, uint32_t n, double *y)
{
	double ss = 0;
	for (uint32_t i = 0; i < n; i++)
		ss += x[i] * x[i];
	const double k = 1 / sqrt(ss / n + eps);
	for (uint32_t i = 0; i < n; i++)
		y[i] = x[i] * k * (double)((const float *)w->data)[i];
}

/* Rotate the n_heads heads of v (head_dim each) for position pos. */
static void rope(const struct eng_config *c, double *v, uint32_t n_heads, uint32_t pos)
{
	const uint32_t hd = c->head_dim, nr = c->n_rot;
	for (uint32_t h = 0; h < n_heads; h++)
		for (uint32_t i = 0; i < nr / 2; i++) {
			const double th = pos * pow((double)c->rope_freq_base, -2.0 * i / nr);
			const uint32_t a = c->rope == ENG_ROPE_NEOX ? i : 2 * i, b = c->rope == ENG_ROPE_NEOX ? i + nr / 2 : 2 * i + 1;
			double *x = v + (size_t)h * hd, x0 = x[a], x1 = x[b];
			x[a] = x0 * cos(th) - x1 * sin(th);
			x[b] = x0 * sin(th) + x1 * cos(th);
		}
}

/* Attention of position t's query q over keys/values 0..t of one layer (K, V: MAX_SEQ x n_embd_kv). */
static void attend(const struct eng_config *c, const double *q, const double *K, const double *V, uint32_t t, double *out)
{
	const uint32_t hd = c->head_dim, group = c->n_head / c->n_head_kv;
	double sc[MAX_SEQ];
	for (uint32_t h = 0; h < c->n_head; h++) {
		const uint32_t kvh = h / group;
		double mx = -INFINITY, z = 0;
		for (uint32_t j = 0; j <= t; j++) {
			double s = 0;
			for (uint32_t d = 0; d < hd; d++)
				s += q[h * hd + d] * K[(size_t)j * c->n_embd_kv + kvh * hd + d];
			sc[j] = s * (double)c->attn_scale;
			mx = fmax(mx, sc[j]);
		}
		for (uint32_t j = 0; j <= t; j++)
			z += (sc[j] = exp(sc[j] - mx));
		for (uint32_t d = 0; d < hd; d++) {
			double s = 0;
			for (uint32_t j = 0; j <= t; j++)
				s += sc[j] / z * V[(size_t)j * c->n_embd_kv + kvh * hd + d];
			out[h * hd + d] = s;
		}
	}
}

struct f64_state {
	double *x, *h, *q, *k, *v, *att, *o, *g, *u, *K, *V, *logits;
};

/* One layer at position t: x += attn(norm x); x += ffn(norm x). */
static void layer(const struct eng_model *m, struct f64_state *s, uint32_t il, uint32_t t)
{
	const struct eng_config *c = &m->cfg;
	const struct eng_layer *L = &m->w.layers[il];
	double *K = s->K + (size_t)il * MAX_SEQ * c->n_embd_kv, *V = s->V + (size_t)il * MAX_SEQ * c->n_embd_kv;
	rmsnorm(s->x, &L->attn_norm, c->norm_eps, c->n_embd, s->h);
	matvec(&L->wq, &L->bq, s->h, s->q);
	matvec(&L->wk, &L->bk, s->h, K + (size_t)t * c->n_embd_kv);
	matvec(&L->wv, &L->bv, s->h, V + (size_t)t * c->n_embd_kv);
	rope(c, s->q, c->n_head, t);
	rope(c, K + (size_t)t * c->n_embd_kv, c->n_head_kv, t);
	attend(c, s->q, K, V, t, s->att);
	matvec(&L->wo, NULL, s->att, s->o);
	for (uint32_t i = 0; i < c->n_embd; i++)
		s->x[i] += s->o[i];
	rmsnorm(s->x, &L->ffn_norm, c->norm_eps, c->n_embd, s->h);
	matvec(&L->ffn_gate, NULL, s->h, s->g);
	matvec(&L->ffn_up, NULL, s->h, s->u);
	for (uint32_t i = 0; i < c->n_ff; i++)
		s->g[i] = s->g[i] / (1 + exp(-s->g[i])) * s->u[i];
	matvec(&L->ffn_down, NULL, s->g, s->o);
	for (uint32_t i = 0; i < c->n_embd; i++)
		s->x[i] += s->o[i];
}

/* lp[t] = log p(ids[t + 1] | ids[0..t]) in float64, t < n - 1. 0, or -1 when out of memory. */
static int forward_f64(const struct eng_model *m, const int32_t *ids, size_t n, double *lp)
{
	const struct eng_config *c = &m->cfg;
	struct f64_state s;
	const size_t wide = c->n_ff > c->n_embd_q ? c->n_ff : c->n_embd_q;
	double *all = calloc(8 * wide + 2 * (size_t)c->n_layer * MAX_SEQ * c->n_embd_kv + c->n_vocab, sizeof *all);
	if (!all)
		return -1;
	double *p = all;
	s.x = p, p += wide;
	s.h = p, p += wide;
	s.q = p, p += wide;
	s.att = p, p += wide;
	s.o = p, p += wide;
	s.g = p, p += wide;
	s.u = p, p += wide;
	p += wide;
	s.K = p, p += (size_t)c->n_layer * MAX_SEQ * c->n_embd_kv;
	s.V = p, p += (size_t)c->n_layer * MAX_SEQ * c->n_embd_kv;
	s.logits = p;
	for (size_t t = 0; t + 1 < n; t++) {
		const float *e = (const float *)m->w.tok_embd.data + (size_t)ids[t] * c->n_embd;
		for (uint32_t i = 0; i < c->n_embd; i++)
			s.x[i] = e[i];
		for (uint32_t il = 0; il < c->n_layer; il++)
			layer(m, &s, il, (uint32_t)t);
		rmsnorm(s.x, &m->w.output_norm, c->norm_eps, c->n_embd, s.h);
		matvec(&m->w.output, NULL, s.h, s.logits);
		double mx = -INFINITY, z = 0;
		for (uint32_t v = 0; v < c->n_vocab; v++)
			mx = fmax(mx, s.logits[v]);
		for (uint32_t v = 0; v < c->n_vocab; v++)
			z += exp(s.logits[v] - mx);
		lp[t] = s.logits[ids[t + 1]] - mx - log(z);
	}
	free(all);
	return 0;
}

/* The engine's lp[t] (as forward_f64) with the f16 or f32 cache. 0 or an error code. */
static int forward_engine(const char *path, bool kv_f32, const int32_t *ids, size_t n, double *lp)
{
	struct mrl_err err = { 0 };
	struct eng_open_opts oo = { .n_threads = 2, .kv_f32 = kv_f32 };
	struct eng_model *m = NULL;
	struct eng_ctx *c = NULL;
	float *lg = NULL;
	int rc = eng_model_open(&m, path, &oo, &err);
	if (!rc)
		rc = eng_ctx_new(&c, m, 0, &err);
	const uint32_t nv = rc ? 0 : m->cfg.n_vocab;
	if (!rc && !(lg = malloc(n * nv * sizeof *lg)))
		rc = MRL_ENOMEM;
	if (!rc)
		rc = eng_decode(c, ids, n - 1, lg, true, &err);
	for (size_t t = 0; !rc && t + 1 < n; t++) {
		const float *row = lg + t * nv;
		double mx = -INFINITY, z = 0;
		for (uint32_t v = 0; v < nv; v++)
			mx = fmax(mx, row[v]);
		for (uint32_t v = 0; v < nv; v++)
			z += exp((double)row[v] - mx);
		lp[t] = (double)row[ids[t + 1]] - mx - log(z);
	}
	if (rc)
		diag("%s: %s", path, err.msg);
	free(lg);
	eng_ctx_free(c);
	eng_model_close(m);
	return rc;
}

static double max_abs_diff(const double *a, const double *b, size_t n)
{
	double d = 0;
	for (size_t i = 0; i < n; i++)
		d = fmax(d, fabs(a[i] - b[i]));
	return d;
}

/* ok() with a printf-formatted name. */
static int okf(bool pass, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int okf(bool pass, const char *fmt, ...)
{
	char name[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(name, sizeof name, fmt, ap);
	va_end(ap);
	return ok(pass, name);
}

static void check_model(const char *file)
{
	char path[256];
	snprintf(path, sizeof path, FIXTURES "%s", file);
	struct mrl_err err = { 0 };
	struct eng_model *m = NULL;
	int32_t *ids = NULL;
	size_t n = 0;
	double ref[MAX_SEQ], f32[MAX_SEQ], f16[MAX_SEQ];
	if (!okf(eng_model_open(&m, path, NULL, &err) == 0, "%s opens", file)) {
		diag("%s", err.msg);
		return;
	}
	bool tok = eng_tokenize(m, prompt, strlen(prompt), true, &ids, &n, &err) == 0 && n >= 2 && n <= MAX_SEQ;
	okf(tok, "%s: the prompt tokenizes to 2..%d ids (%zu)", file, MAX_SEQ, n);
	if (tok && okf(forward_f64(m, ids, n, ref) == 0, "%s: float64 forward pass", file) &&
	    okf(forward_engine(path, true, ids, n, f32) == 0 && forward_engine(path, false, ids, n, f16) == 0,
		"%s: engine with f32 and f16 KV cache", file)) {
		const double d32 = max_abs_diff(f32, ref, n - 1), d16 = max_abs_diff(f16, ref, n - 1);
		diag("%s, %zu positions: max |log p - float64|: f32 cache %.3g, f16 cache %.3g", file, n - 1, d32, d16);
		okf(d32 <= 1e-5, "%s: f32 KV cache within 1e-5 of float64 at every position (%.3g)", file, d32);
		okf(max_abs_diff(f32, f16, n - 1) > 0, "%s: the f16 cache computes other numbers (kv_f32 takes effect)",
		    file);
	}
	free(ids);
	eng_model_close(m);
}

int main(void)
{
	FILE *f = fopen(FIXTURES "tiny-llama-ff192-f32.gguf", "rb");
	if (!f)
		skip_all("../shared/fixtures is absent (fixture models)");
	fclose(f);
	TEST(check_model("tiny-llama-ff192-f32.gguf"), "llama f32: f32 KV cache vs float64");
	TEST(check_model("tiny-qwen2-f32.gguf"), "qwen2 f32 (q/k/v biases): f32 KV cache vs float64");
	return done_testing();
}
