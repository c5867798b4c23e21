/* run_gen.c — generate tasks: a batch of units generated together, then scored.
 *
 * A unit's plan (tasks/plan.h task_gen_plan) gives the prompt with its few-shot
 * examples and the references. With a chat template (cfg->chat) the prompt becomes
 * the user message of the model's template (tasks/chat.h) and is tokenized with
 * special tokens parsed; without one it is tokenized as plain text. The start token
 * is the plan's (BOS when used), unless the template writes BOS itself. A prompt too
 * long for the model loses tokens on the left so that max_tokens still fit.
 * Up to HRN_GEN_BATCH units go into one eng_generate call (greedy; the engine
 * decodes them together and guarantees the same text as one at a time). Each answer
 * (the generated text without leading and trailing whitespace) is scored against the
 * references with metrics/text.h, its script and language are judged with
 * tasks/langid.h, and the record keeps the text, token count, stop reason, script
 * mix, language guess and the BLEU/chrF statistics the aggregation sums
 * (docs/results-format.md, "generation").
 */
#include "harness/run_gen.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/buf.h"
#include "common/utf8.h"
#include "harness/hrn.h"
#include "metrics/met.h"
#include "metrics/text.h"
#include "tasks/chat.h"
#include "tasks/langid.h"

/* Whether the run applies a chat template to its generate prompts. */
static bool chat_on(const struct hrn_run_cfg *cfg)
{
	return cfg->chat && cfg->chat->family != TASK_CHAT_NONE;
}

bool hrn_run_thinking_on(const struct hrn_run_cfg *cfg)
{
	return task_chat_thinks(cfg->chat);
}

int hrn_run_gen_max_new(const struct hrn_run_cfg *cfg, const struct task_task *t)
{
	return task_gen_max_tokens(t) + (hrn_run_thinking_on(cfg) ? (int)cfg->chat->think_budget : 0);
}

/* The unit's plan, its max_tokens the run's (hrn_run_gen_max_new). */
static int gen_plan(const struct hrn_run_cfg *cfg, const struct hrn_unit *u, struct task_gen_plan *p,
		    struct mrl_err *err)
{
	const struct task_plan_opts o = { .fewshot_k = cfg->fewshot_k, .seed = cfg->seed, .add_bos = cfg->add_bos };
	int rc = task_gen_plan(u->task, u->item_idx, u->lang, &o, p, err);
	if (!rc)
		p->max_tokens = hrn_run_gen_max_new(cfg, u->task);
	return rc;
}

/* The prompt text the model gets: the plan's, or the chat template's user turn. */
static int prompt_text(const struct hrn_run_cfg *cfg, const struct task_gen_plan *p, char **out, struct mrl_err *err)
{
	if (!chat_on(cfg)) {
		if (!(*out = strdup(p->prompt)))
			return mrl_err_set(err, MRL_ENOMEM, "out of memory");
		return 0;
	}
	return hrn_run_chat_plan(cfg, p->prompt, p->description_len, NULL, out, err);
}

/* The template's own tokens around the user message in ids[0..n) (start token
 * included where start >= 0; the system message is the plan's, system_len bytes of
 * prompt): *head tokens before it, *tail after it, as the longest prefix and suffix
 * ids share with the template around an empty user message. */
static int chat_frame(const struct hrn_run_cfg *cfg, const char *prompt, size_t system_len, const int32_t *ids,
		      size_t n, int32_t start, size_t *head, size_t *tail, struct mrl_err *err)
{
	char *empty = NULL;
	int32_t *e = NULL;
	size_t ne = 0;
	int rc = hrn_run_chat_plan(cfg, prompt, system_len, "", &empty, err);
	if (!rc)
		rc = eng_tokenize_flags(cfg->model, empty, strlen(empty), ENG_TOKENIZE_PARSE_SPECIAL, &e, &ne, err);
	free(empty);
	if (rc)
		return rc;
	const size_t off = start >= 0; /* ids[0] is the start token, not in e */
	size_t h = 0, t = 0;
	while (h < ne && off + h < n && ids[off + h] == e[h])
		h++;
	while (t < ne - h && t < n - off - h && ids[n - 1 - t] == e[ne - 1 - t])
		t++;
	free(e);
	*head = off + h;
	*tail = t;
	return 0;
}

/* Cut drop tokens of ids[0..n): under a chat template from the start of the user
 * message, so that BOS and the template's turn header stay (a cut from the left
 * took them: the model saw a prompt without its turn header); else, or where the
 * message is shorter than drop, from the left. */
static int cut_prompt(const struct hrn_run_cfg *cfg, const struct task_gen_plan *p, int32_t *ids, size_t n,
		      int32_t start, size_t drop, struct mrl_err *err)
{
	size_t head = 0, tail = 0;
	const bool chat = chat_on(cfg);
	int rc = chat ? chat_frame(cfg, p->prompt, p->description_len, ids, n, start, &head, &tail, err) : 0;
	if (rc)
		return rc;
	if (!chat || n - head - tail < drop)
		head = 0;
	memmove(ids + head, ids + head + drop, (n - head - drop) * sizeof *ids);
	return 0;
}

int hrn_run_gen_put_plan(const struct hrn_run_cfg *cfg, const struct hrn_unit *u, FILE *f, struct mrl_err *err)
{
	struct task_gen_plan p;
	char *text = NULL;
	int rc = gen_plan(cfg, u, &p, err);
	if (!rc && !(rc = prompt_text(cfg, &p, &text, err))) {
		fputs(text, f);
		fputs("\n----- references -----\n", f);
		for (size_t j = 0; j < p.n_refs; j++)
			fprintf(f, "[%zu] %s\n", j, p.refs[j]);
	}
	free(text);
	task_gen_plan_release(&p);
	return rc;
}

/* One unit of a batch: its plan, prompt and tokens. */
struct gen_unit {
	struct hrn_unit u;
	struct task_gen_plan plan;
	char *prompt;
	int32_t *ids;
	size_t n_ids;
};

static void gen_unit_release(struct gen_unit *g)
{
	task_gen_plan_release(&g->plan);
	free(g->prompt);
	free(g->ids);
}

/* g->ids: start token? + the prompt's tokens, cut (cut_prompt) to leave max_tokens positions. */
static int gen_tokens(const struct hrn_run_cfg *cfg, struct gen_unit *g, struct mrl_err *err)
{
	struct eng_model_desc d;
	eng_model_describe(cfg->model, &d);
	const bool chat = chat_on(cfg);
	int32_t *tok = NULL;
	size_t n = 0;
	int rc = eng_tokenize_flags(cfg->model, g->prompt, strlen(g->prompt), chat ? ENG_TOKENIZE_PARSE_SPECIAL : 0, &tok,
				    &n, err);
	if (rc)
		return rc;
	int32_t start = hrn_run_start_token(cfg, chat, g->plan.start, &d);
	if (start < 0 && n == 0)
		start = task_start_token(TASK_START_BOS_ELSE_EOS, d.bos_id, d.eos_id);
	if (start < 0 && n == 0) {
		free(tok);
		return mrl_err_set(err, MRL_EINPUT, "the prompt is empty and the model has no BOS or EOS token to start from");
	}
	const size_t n_full = n + (start >= 0), n_pos = cfg->ctx ? eng_ctx_n_ctx(cfg->ctx) : d.n_ctx_train;
	size_t keep = n_full;
	/* the last new token is never fed: prompt + max_tokens - 1 positions (context + continuation
	 * - 1 under task_truncate_keep's rule, the continuation being the max_tokens new ones) */
	if (task_truncate_keep(g->plan.truncate, n_full, (size_t)g->plan.max_tokens, n_pos, &keep) || !keep) {
		free(tok);
		return mrl_err_set(err, MRL_EINPUT, "max_tokens %d leaves no room for the prompt in the model's %zu positions",
				   g->plan.max_tokens, n_pos);
	}
	if (!(g->ids = malloc((n_full + 1) * sizeof *g->ids))) {
		free(tok);
		return mrl_err_set(err, MRL_ENOMEM, "out of memory");
	}
	if (start >= 0)
		g->ids[0] = start;
	if (n)
		memcpy(g->ids + (start >= 0), tok, n * sizeof *tok);
	free(tok);
	g->n_ids = keep;
	return keep < n_full ? cut_prompt(cfg, &g->plan, g->ids, n_full, start, n_full - keep, err) : 0;
}

/* text with every byte of invalid UTF-8 replaced by U+FFFD (a random or broken
 * model can write any bytes; JSON and the metrics take only UTF-8). */
static char *valid_text(const char *text)
{
	struct mrl_buf b;
	mrl_buf_init(&b);
	for (size_t len = strlen(text), i = 0; i < len;) {
		size_t ok = mrl_utf8_valid_prefix(text + i, len - i);
		mrl_buf_addn(&b, text + i, ok);
		if ((i += ok) < len) {
			mrl_buf_add(&b, "\xEF\xBF\xBD");
			i++;
		}
	}
	return mrl_buf_detach(&b, NULL);
}

/* The answer that is scored: the (valid) generated text without surrounding whitespace. */
static char *answer_of(const char *text)
{
	while (*text == ' ' || (*text >= '\t' && *text <= '\r'))
		text++;
	const size_t len = strlen(text);
	return strndup(text, len - task_trailing_space(text, len));
}

static bool listed(const struct task_task *t, const char *metric)
{
	for (size_t i = 0; i < task_n_metrics(t); i++)
		if (!strcmp(task_metric(t, i), metric))
			return true;
	return false;
}

static json_t *int_array(const int64_t *v, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; a && i < n; i++)
		json_array_append_new(a, json_integer(v[i]));
	return a;
}

/* BLEU and chrF statistics of the item into gen's "stats", and the sentence scores into rec. */
static int corpus_stats(const struct task_task *t, const struct met_text_item *ti, json_t *stats, struct rec_item *rec,
			struct mrl_err *err)
{
	int rc = 0;
	if (listed(t, "bleu")) {
		struct met_bleu_stats b;
		if ((rc = met_bleu_item_stats(ti, MET_BLEU_TOK_13A, &b, err)))
			return rc;
		int64_t flat[2 + 2 * MET_BLEU_ORDER] = { b.hyp_len, b.ref_len };
		memcpy(flat + 2, b.correct, sizeof b.correct);
		memcpy(flat + 2 + MET_BLEU_ORDER, b.total, sizeof b.total);
		json_object_set_new(stats, "bleu", int_array(flat, 2 + 2 * MET_BLEU_ORDER));
		if ((rc = rec_item_add_metric(rec, "bleu", -1, NULL, false, met_bleu_score(&b, NULL, 1, 1))))
			return rc;
	}
	static const char *const chrf_names[] = { "chrf", "chrf++" };
	for (int k = 0; k < 2 && !rc; k++) {
		if (!listed(t, chrf_names[k]))
			continue;
		const struct met_chrf_opts co = k ? MET_CHRFPP_DEFAULTS : MET_CHRF_DEFAULTS;
		struct met_chrf_stats c;
		if ((rc = met_chrf_item_stats(ti, &co, &c, err)))
			return rc;
		int64_t flat[3 * MET_CHRF_MAX_ORDER];
		const size_t no = (size_t)c.n_orders;
		memcpy(flat, c.hyp, no * sizeof *flat);
		memcpy(flat + no, c.ref, no * sizeof *flat);
		memcpy(flat + 2 * no, c.match, no * sizeof *flat);
		json_object_set_new(stats, chrf_names[k], int_array(flat, 3 * no));
		rc = rec_item_add_metric(rec, chrf_names[k], -1, NULL, false, met_chrf_score(&c, NULL, 1, co.beta));
	}
	return rc;
}

/* exact_match, contains, f1, rouge_l of the answer against the references; answer NULL:
 * the task's "extract" found none, which is wrong whatever the references (normalised,
 * an empty answer would equal a reference that normalises to nothing: English "A"). */
static int qa_metrics(const struct task_task *t, const char *lang, const struct met_text_item *ti, const char *answer,
		      struct rec_item *rec, struct mrl_err *err)
{
	const struct met_qa_opts qo = { .drop_articles = !strncmp(lang, "en", 2) && (!lang[2] || lang[2] == '-'),
					.fold_diacritics = task_gen_fold_diacritics(t) };
	double v;
	int rc = 0;
	if (!answer) {
		static const char *const names[] = { "exact_match", "contains", "f1", "rouge_l" };
		for (size_t k = 0; k < 4 && !rc; k++)
			if (listed(t, names[k]))
				rc = rec_item_add_metric(rec, names[k], -1, "", false, k < 2 ? NAN : 0.0);
		return rc;
	}
	if (listed(t, "exact_match") && !(rc = met_qa_exact(ti, &qo, &v, err)))
		rc = rec_item_add_metric(rec, "exact_match", -1, answer, v > 0.5, NAN);
	if (!rc && listed(t, "contains")) {
		char *h = NULL;
		bool found = false;
		rc = met_qa_normalize(answer, &qo, &h, err);
		for (size_t j = 0; !rc && j < ti->n_refs && !found; j++) {
			char *r = NULL;
			if (!(rc = met_qa_normalize(ti->refs[j], &qo, &r, err)))
				found = *r && strstr(h, r);
			free(r);
		}
		free(h);
		if (!rc)
			rc = rec_item_add_metric(rec, "contains", -1, answer, found, NAN);
	}
	if (!rc && listed(t, "f1") && !(rc = met_qa_f1(ti, &qo, &v, err)))
		rc = rec_item_add_metric(rec, "f1", -1, answer, v > 0.5, v);
	if (!rc && listed(t, "rouge_l") && !(rc = met_rouge_l(ti, &qo, &v, err)))
		rc = rec_item_add_metric(rec, "rouge_l", -1, answer, v > 0.5, v);
	return rc;
}

/* Script mix and language guess into gen, and script_ok / lang_ok into rec when the
 * answer can be judged (letters for the script; enough evidence for the language). */
static int script_lang(const struct task_task *t, const struct task_gen_plan *p, const char *answer, json_t *gen,
		       struct rec_item *rec, struct mrl_err *err)
{
	struct task_lang_guess *g = malloc(sizeof *g);
	if (!g)
		return mrl_err_set(err, MRL_ENOMEM, "out of memory");
	int rc = task_lang_guess(answer, strlen(answer), g, err);
	if (rc)
		goto out;
	const struct task_script_mix *m = &g->script;
	json_object_set_new(gen, "script", json_pack("{s:I, s:I, s:I, s:f, s:f, s:s, s:o}", "n_cyrl", (json_int_t)m->n_cyrl,
						      "n_latn", (json_int_t)m->n_latn, "n_other", (json_int_t)m->n_other,
						      "share_cyrl", m->share_cyrl, "share_latn", m->share_latn, "verdict",
						      task_script_name(m->verdict), "expected", rec_json_string(p->expect_script)));
	json_object_set_new(gen, "language", json_pack("{s:s, s:f, s:o}", "guess", task_lang_name(g->lang), "margin",
							g->margin, "expected", rec_json_string(p->expect_language)));
	enum task_script want_script;
	if (listed(t, "script_ok") && p->expect_script && !task_script_parse(p->expect_script, &want_script, err)) {
		enum task_script_check c = task_script_check(m, want_script);
		if (c != TASK_SCRIPT_NO_LETTERS)
			rc = rec_item_add_metric(rec, "script_ok", -1, task_script_name(m->verdict), c == TASK_SCRIPT_OK, NAN);
	}
	enum task_lang want_lang;
	if (!rc && listed(t, "lang_ok") && p->expect_language && !task_lang_parse(p->expect_language, &want_lang, err)) {
		enum task_lang_check c = task_lang_check(g, want_lang);
		if (c != TASK_LANG_UNDECIDED)
			rc = rec_item_add_metric(rec, "lang_ok", -1, task_lang_name(g->lang), c == TASK_LANG_OK, NAN);
	}
out:
	free(g);
	return rc;
}

/* Where the answer of text starts (*at: its offset after a thinking model's
 * "</think>", -1 where there is none): a template with Qwen3's thinking switch
 * (think not NULL) has its reasoning left out; thinking on and no "</think>" is
 * reasoning that did not finish, an empty answer. */
static const char *answer_start(const char *text, const struct task_chat *think, long *at)
{
	*at = think ? task_chat_answer_at(text) : -1;
	if (*at >= 0)
		return text + *at;
	return think && !think->no_thinking ? "" : text;
}

/* The record of an answer text to item item of t in lang under plan p: the metrics (the
 * text metrics of the task's "extract" of the answer where it has one; script and
 * language of the whole answer), gold_text, and the "generation" object (text,
 * extracted, references, script, language, statistics; chat_template when chat is not
 * NULL; thinking when think is not NULL: the template has Qwen3's switch). *gen_out
 * (may be NULL) gets the generation object (borrowed from rec) for more fields. */
static int score_text(const struct task_task *t, const struct task_item *item, const char *lang,
		      const struct task_gen_plan *p, const char *raw, const char *chat, const struct task_chat *think,
		      struct rec_item *rec, json_t **gen_out, struct mrl_err *err)
{
	long at = -1;
	char *text = valid_text(raw ? raw : ""), *answer = text ? answer_of(answer_start(text, think, &at)) : NULL;
	char *extracted = NULL; /* the task's "extract" of the answer; the metrics of the text score it */
	const char *limit = NULL; /* where the extract's matching stopped at a limit: "match" or "depth" */
	json_t *gen = json_object(), *stats = json_object(), *refs = json_array();
	int rc = answer && gen && stats && refs ? rec_item_init(rec, task_id(t), task_item_id(item), lang) : MRL_ENOMEM;
	rc = rc ? rc : rec_item_set_breakdown(rec, task_breakdown_value(t, item, lang));
	for (size_t j = 0; !rc && j < p->n_refs; j++)
		json_array_append_new(refs, json_string(p->refs[j]));
	const bool extract = task_gen_extract_regex(t, lang) != NULL;
	if (!rc && extract)
		rc = task_gen_extract(t, lang, answer, &extracted, &limit, err);
	const char *scored = extract ? (extracted ? extracted : "") : answer;
	const struct met_text_item ti = { .hyp = scored, .refs = (const char *const *)p->refs, .n_refs = p->n_refs };
	if (!rc)
		rc = rec_item_set_gold_text(rec, p->refs[0]);
	if (!rc)
		rc = qa_metrics(t, lang, &ti, extract && !extracted ? NULL : scored, rec, err);
	if (!rc)
		rc = corpus_stats(t, &ti, stats, rec, err);
	if (!rc)
		rc = script_lang(t, p, answer, gen, rec, err); /* the whole answer's script and language */
	if (rc)
		goto out;
	json_object_set_new(gen, "text", json_string(text));
	if (extract)
		json_object_set_new(gen, "extracted", extracted ? json_string(extracted) : json_null());
	if (limit) /* a pathological pattern shows, rather than passing as wrong answers */
		json_object_set_new(gen, "extract_limit", json_string(limit));
	json_object_set_new(gen, "references", refs);
	if (chat)
		json_object_set_new(gen, "chat_template", json_string(chat));
	if (think)
		json_object_set_new(gen, "thinking", json_pack("{s:s, s:o}", "mode", think->no_thinking ? "off" : "on",
							       "answer_at", at >= 0 ? json_integer(at) : json_null()));
	json_object_set_new(gen, "stats", stats);
	refs = stats = NULL;
	if (gen_out)
		*gen_out = gen;
	rc = rec_item_set_generation(rec, gen);
	gen = NULL;
out:
	if (rc == MRL_ENOMEM)
		mrl_err_set(err, MRL_ENOMEM, "out of memory");
	json_decref(gen);
	json_decref(stats);
	json_decref(refs);
	free(answer);
	free(extracted);
	free(text);
	return rc;
}

/* The record of one generated unit. ns: its share of the batch's time. */
static int gen_record(const struct hrn_run_cfg *cfg, const struct gen_unit *g, const struct eng_gen_res *res,
		      int64_t ns, struct rec_item *rec, struct mrl_err *err)
{
	const struct task_task *t = g->u.task;
	json_t *gen = NULL;
	const struct task_chat *think = chat_on(cfg) && cfg->chat->thinking_switch ? cfg->chat : NULL;
	int rc = score_text(t, g->u.item, g->u.lang, &g->plan, res->text,
			    task_chat_name(cfg->chat ? cfg->chat->family : TASK_CHAT_NONE), think, rec, &gen, err);
	if (rc)
		return rc;
	json_object_set_new(gen, "n_tokens", json_integer((json_int_t)res->n_ids));
	json_object_set_new(gen, "stop_reason", json_string(eng_gen_stop_name(res->stop)));
	if (res->stop == ENG_GEN_STOP_STRING && res->stop_index >= 0)
		json_object_set_new(gen, "stop_string", json_string(task_gen_until(t, g->u.lang, (size_t)res->stop_index)));
	rec->tokens_computed = (int64_t)(g->n_ids - res->n_cached + res->n_ids);
	rec->tokens_cached = (int64_t)res->n_cached;
	if (!rc)
		rc = rec_item_add_timing(rec, "score", ns);
	if (!rc)
		rc = rec_item_add_timing(rec, "total", ns);
	if (!rc)
		rc = rec_item_set_prompt(rec, g->prompt);
	return rc ? mrl_err_set(err, MRL_ENOMEM, "out of memory") : 0;
}

int hrn_run_gen_score_text(const struct task_task *t, size_t item_idx, const char *lang, const char *text,
			   bool strip_thinking, struct rec_item *out, struct mrl_err *err)
{
	const struct task_plan_opts o = { .fewshot_k = 0 };
	struct task_gen_plan p;
	/* as a template with Qwen3's switch: on where the text shows reasoning (an empty answer
	 * without its "</think>"), off where it shows none (the whole text) */
	struct task_chat reasoned = { .thinking_switch = true };
	reasoned.no_thinking = !text || (!strstr(text, "<think>") && !strstr(text, "</think>"));
	int rc = task_gen_plan(t, item_idx, lang, &o, &p, err);
	if (!rc)
		rc = score_text(t, task_item_at(t, item_idx), lang, &p, text, NULL, strip_thinking ? &reasoned : NULL, out,
				NULL, err);
	task_gen_plan_release(&p);
	return rc;
}

/* Plan, prompt and tokens of unit u into g. */
static int gen_prepare(const struct hrn_run_cfg *cfg, const struct hrn_unit *u, struct gen_unit *g,
		       struct mrl_err *err)
{
	memset(g, 0, sizeof *g);
	g->u = *u;
	int rc = gen_plan(cfg, u, &g->plan, err);
	if (!rc && !(rc = prompt_text(cfg, &g->plan, &g->prompt, err)))
		rc = gen_tokens(cfg, g, err);
	if (rc)
		mrl_err_prefix(err, "task '%s' item '%s' (%s)", task_id(u->task), task_item_id(u->item), u->lang);
	return rc;
}

/* The end-of-turn marker of the chat template as one token id, or -1. */
static int32_t end_of_turn(const struct hrn_run_cfg *cfg)
{
	static const char *const marks[TASK_CHAT_N_FAMILIES] = {
		[TASK_CHAT_CHATML] = "<|im_end|>", [TASK_CHAT_LLAMA3] = "<|eot_id|>",
		[TASK_CHAT_GEMMA] = "<end_of_turn>", [TASK_CHAT_PHI3] = "<|end|>",
	};
	if (!cfg->chat || !marks[cfg->chat->family])
		return -1;
	const char *m = marks[cfg->chat->family];
	int32_t *ids = NULL, id = -1;
	size_t n = 0;
	struct mrl_err e = { 0 };
	if (!eng_tokenize_flags(cfg->model, m, strlen(m), ENG_TOKENIZE_PARSE_SPECIAL, &ids, &n, &e) && n == 1)
		id = ids[0];
	free(ids);
	return id;
}

/* The units of the batch into g[0..*n): *first, then the iterator's next units that
 * are not done, up to cap. */
static int gather(const struct hrn_run_cfg *cfg, struct hrn_units *units, const struct hrn_unit *first, size_t cap,
		  struct gen_unit *g, size_t *n, struct mrl_err *err)
{
	struct hrn_unit u = *first;
	for (;;) {
		int rc = gen_prepare(cfg, &u, &g[*n], err);
		(*n)++;
		if (rc)
			return rc;
		bool more = false;
		while (*n < cap && !more && hrn_units_next(units, &u))
			more = !cfg->done || !rec_done_set_has(cfg->done, task_id(u.task), task_item_id(u.item), u.lang);
		if (!more)
			return 0;
	}
}

int hrn_run_gen_batch(const struct hrn_run_cfg *cfg, struct hrn_units *units, const struct hrn_unit *first,
		      size_t room, size_t *n_done, struct mrl_err *err)
{
	const struct task_task *t = first->task;
	struct gen_unit g[HRN_GEN_BATCH];
	struct eng_gen_req reqs[HRN_GEN_BATCH];
	struct eng_gen_res res[HRN_GEN_BATCH];
	size_t n = 0;
	*n_done = 0;
	memset(res, 0, sizeof res);
	int rc = gather(cfg, units, first, room < HRN_GEN_BATCH ? room : HRN_GEN_BATCH, g, &n, err);
	if (rc)
		goto out;
	for (size_t i = 0; i < n; i++) {
		size_t n_stop;
		const char *const *stops = task_gen_stops(t, g[i].u.lang, &n_stop); /* each language its own */
		reqs[i] = (struct eng_gen_req){ .prompt = g[i].ids, .n_prompt = g[i].n_ids,
						.max_new_tokens = (size_t)g[i].plan.max_tokens, .stop = stops,
						.n_stop = n_stop, .rng_stream = g[i].u.item_idx,
						.stop_after = hrn_run_thinking_on(cfg) ? "</think>" : NULL };
	}
	int32_t eot = end_of_turn(cfg);
	const struct eng_gen_opts go = { .n_batch = HRN_GEN_BATCH, .stop_ids = eot >= 0 ? &eot : NULL,
					 .n_stop_ids = eot >= 0, .stop = cfg->stop, .should_stop = cfg->should_stop,
					 .stop_arg = cfg->stop_arg };
	const uint64_t t0 = met_now_ns();
	struct eng_gen_stats gs = { 0 };
	if (!(rc = eng_generate(cfg->model, reqs, n, &go, res, &gs, err)) && gs.n_unfinished)
		rc = mrl_err_set(err, MRL_ERUNTIME, "interrupted"); /* stopped between steps: the batch is not kept */
	if (rc) {
		mrl_err_prefix(err, "task '%s' item '%s' (%s): generation failed", task_id(t), task_item_id(g[0].u.item),
			       g[0].u.lang);
		goto out;
	}
	const int64_t ns = (int64_t)((met_now_ns() - t0) / n);
	for (size_t i = 0; i < n && !rc; i++) {
		struct rec_item rec = { 0 };
		if (!(rc = gen_record(cfg, &g[i], &res[i], ns, &rec, err)))
			rc = rec_item_writer_add(cfg->writer, &rec, err);
		else
			mrl_err_prefix(err, "task '%s' item '%s' (%s)", task_id(t), task_item_id(g[i].u.item), g[i].u.lang);
		rec_item_release(&rec);
		*n_done += !rc;
	}
out:
	for (size_t i = 0; i < n; i++) {
		gen_unit_release(&g[i]);
		eng_gen_res_release(&res[i]);
	}
	return rc;
}

int hrn_run_chat_resolve(const struct eng_model *m, const char *name, struct task_chat *out, struct mrl_err *err)
{
	memset(out, 0, sizeof *out);
	if (name && strcasecmp(name, "auto")) {
		enum task_chat_family f;
		int rc = task_chat_parse_name(name, &f, err);
		if (rc)
			return rc;
		/* a named family keeps the model's default system message when it has that family */
		char *tmpl = NULL;
		struct task_chat found;
		struct mrl_err e = { 0 };
		if (!eng_model_chat_template(m, &tmpl, &e) && tmpl && !task_chat_detect(tmpl, &found, &e) && found.family == f)
			*out = found;
		free(tmpl);
		out->family = f;
		return 0;
	}
	char *tmpl = NULL;
	int rc = eng_model_chat_template(m, &tmpl, err);
	if (!rc && tmpl && (rc = task_chat_detect(tmpl, out, err)))
		mrl_err_prefix(err, "--chat-template auto");
	free(tmpl);
	return rc;
}

int hrn_run_chat_setup(const struct eng_model *m, const char *name, const struct hrn_think *think, bool mc,
		       const struct task_task *const *tasks, size_t n_tasks, struct task_chat *out, json_t *settings_extra,
		       struct mrl_err *err)
{
	memset(out, 0, sizeof *out);
	const struct task_task *declared_by = NULL; /* without --chat-template: the suite's choice */
	for (size_t k = 0; k < n_tasks && !name; k++) {
		const char *d = task_type(tasks[k]) == TASK_GENERATE ? task_gen_chat_template(tasks[k]) : NULL;
		if (d && declared_by && strcasecmp(d, task_gen_chat_template(declared_by))) /* names: any case */
			return mrl_err_set(err, MRL_EINPUT, "tasks '%s' and '%s' declare different chat templates (%s, %s): "
					   "choose one with --chat-template", task_id(declared_by), task_id(tasks[k]),
					   task_gen_chat_template(declared_by), d);
		declared_by = d ? tasks[k] : declared_by;
	}
	if (!name && declared_by)
		name = task_gen_chat_template(declared_by);
	for (size_t k = 0; k < n_tasks; k++)
		if (mc || task_type(tasks[k]) == TASK_GENERATE) {
			int rc = hrn_run_chat_resolve(m, name, out, err);
			if (rc)
				return rc;
			break;
		}
	if (mc && out->family == TASK_CHAT_NONE)
		return mrl_err_set(err, MRL_EINPUT, "--chat-multiple-choice: %s; name one with --chat-template (chatml, "
				   "llama2, llama3, mistral, gemma, phi3)",
				   name && !strcasecmp(name, "none") ? "the suite's chat_template is none"
								     : "the model has no chat template");
	if (mc && settings_extra)
		json_object_set_new(settings_extra, "chat_multiple_choice", json_true());
	out->no_thinking = out->thinking_switch && !think->on;
	out->think_budget = think->budget;
	if (settings_extra)
		json_object_set_new(settings_extra, "chat_template", json_string(task_chat_name(out->family)));
	if (settings_extra && out->thinking_switch)
		json_object_set_new(settings_extra, "thinking", json_string(think->on ? "on" : "off"));
	if (settings_extra && out->thinking_switch && think->on)
		json_object_set_new(settings_extra, "thinking_budget", json_integer(think->budget));
	return 0;
}

int hrn_chat_opts_check(const char *cmd, const char *chat_template, const char *thinking)
{
	enum task_chat_family fam;
	struct mrl_err err = { 0 };
	if (chat_template && strcasecmp(chat_template, "auto") && task_chat_parse_name(chat_template, &fam, &err)) {
		char names[128] = "auto";
		for (int f = 0; f < TASK_CHAT_N_FAMILIES; f++)
			snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s",
				 f + 1 < TASK_CHAT_N_FAMILIES ? ", " : " or ", task_chat_name((enum task_chat_family)f));
		return hrn_usage_error(cmd, "--chat-template wants %s, not '%s'", names, chat_template);
	}
	if (thinking && strcmp(thinking, "on") && strcmp(thinking, "off"))
		return hrn_usage_error(cmd, "--thinking wants on or off, not '%s'", thinking);
	return HRN_OPTS_GO;
}

void hrn_run_thinking_note(const struct task_chat *c, const struct hrn_think *think)
{
	if (!think->on || c->family == TASK_CHAT_NONE)
		return;
	if (c->thinking_switch)
		fprintf(stderr, "merilo run: --thinking on: answers are scored after the model's </think> (stop strings count "
				"from there); reasoning that does not finish within %u tokens more than a task's "
				"max_new_tokens (--thinking-budget) is an empty answer\n", think->budget);
	else
		fprintf(stderr, "merilo run: --thinking on changes nothing: the chat template (%s) has no thinking "
				"switch\n", task_chat_name(c->family));
}
