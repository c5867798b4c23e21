/* plan.h — the evaluation plan of one item in one language: what is scored, as text.
 *
 * tasks/ owns every rule of an evaluation that does not need the model: the few-shot
 * draw, the rendered prompt, lm-eval-harness's context/continuation split, which
 * token (if any) goes before a context, how a context too long for the model is cut,
 * the rolling windows of a document and which metrics an item gets. A plan says all
 * of that as plain data; the harness only tokenizes, scores and writes, and prints
 * the same plan into prompts/<task>.<lang>.txt. The rules are written up in
 * docs/evaluation.md.
 *
 * The plan stays textual: rules that act on tokens (the start token, truncation,
 * windows) are named in the plan and computed by the small pure functions below
 * from token counts and ids, so tasks/ needs no tokenizer. The few-shot draw of
 * item i uses stream i of the few-shot seed of common/rng.h's generator, so the
 * caller lends nothing and a plan depends only on the suite, the item and opts.
 *
 * Generation has the same shape: task_gen_plan() gives the prompt (few-shot examples
 * drawn and joined exactly as for multiple choice, each example ending in its first
 * reference answer), the start rule, a left truncation that keeps room for the
 * token limit, the stop strings and token limit and the reference answers; the
 * harness applies the chat template, tokenizes, generates and scores with metrics/.
 */
#ifndef MRL_TASK_PLAN_H
#define MRL_TASK_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "tasks/task.h"

/* What a run decides for every item: the options that shape a plan. */
struct task_plan_opts {
	int fewshot_k;              /* -1 = the task's own setting (0 without one) */
	uint64_t seed;              /* few-shot seed of tasks that declare none (--seed) */
	bool add_bos;               /* BOS is used (--bos resolved against the model) */
};

/* The few-shot settings every item of t gets under o: k
 * (o->fewshot_k, else the task's, else 0), the seed (the task's, else o->seed),
 * the source ("pool" or "items": the task's, else "pool" when the task has a pool)
 * and the delimiter between examples (the task's, else "\n\n"). out->has is true;
 * its strings are static or the suite's. The settings results.json records. */
void task_plan_fewshot(const struct task_task *t, const struct task_plan_opts *o, struct task_fewshot *out);

/* Whether every item of t having lang finds the few-shot examples o asks for (the
 * pool's items having lang, or the task's other items having it), checked once for
 * all of them: task_mc_plan and task_gen_plan refuse an item that does not.
 * Perplexity tasks draw none. 0, or MRL_EINPUT with the message they give. */
int task_fewshot_check(const struct task_task *t, const char *lang, const struct task_plan_opts *o,
		       struct mrl_err *err);

/* ---- token-level rules, as data ---------------------------------------------- */

/* Which token goes before a context. Tokenization itself never adds BOS. */
enum task_start {
	TASK_START_NONE = 0,     /* nothing */
	TASK_START_BOS,          /* the model's BOS; nothing when it has none */
	TASK_START_BOS_ELSE_EOS, /* BOS, else EOS (lm-eval-harness's prefix token) */
	TASK_START_EOS_ELSE_BOS, /* EOS, else BOS (lm-eval-harness's end-of-text document prefix) */
};

/* The token id a rule picks given the model's BOS and EOS ids (-1 = the model has
 * none); -1 when it picks nothing. */
int32_t task_start_token(enum task_start rule, int32_t bos_id, int32_t eos_id);

/* What of t scores after a start token that only BOS or EOS can give (so a model with
 * neither cannot run it): "perplexity" (every document starts with one),
 * "acc_mutual_info" (its neutral context), or NULL. */
const char *task_start_token_use(const struct task_task *t);

/* How a request that does not fit the model's positions is made to fit. */
enum task_truncate {
	TASK_TRUNCATE_LEFT = 0, /* cut the context (start token included) from the left so that
				 * context + continuation - 1 positions fit (lm-eval-harness's rule) */
};

/* Under rule, how many context tokens (counted from the end of the context,
 * start token included) of n_ctx to keep before a continuation of n_cont tokens
 * on a model of n_pos positions. Returns 0 and *keep, or -1 when the continuation
 * alone does not fit (n_cont >= n_pos). */
int task_truncate_keep(enum task_truncate rule, size_t n_ctx, size_t n_cont, size_t n_pos, size_t *keep);

/* ---- multiple choice ---------------------------------------------------------- */

/* One choice: the string tokenized whole, and where its parts are. The context is
 * text[0..context_len) (the same bytes for every choice), the continuation is
 * text + context_len: the context's trailing whitespace, the target delimiter and
 * the choice (lm-eval-harness's _encode_pair). The continuation's tokens are the
 * whole's tokens past the context's count. */
struct task_mc_choice {
	char *text;          /* prompt + target delimiter + rendered choice */
	size_t context_len;  /* bytes of the context: the prompt without trailing whitespace */
	size_t choice_at;    /* text + choice_at is the rendered choice (to the end) */
	int64_t n_chars;     /* of the rendered choice: code points (what acc_norm divides by) */
	int64_t n_bytes;     /* of the rendered choice: UTF-8 bytes (acc_bytes) */
};

/* The plan of a multiple-choice item in one language; owns every string. */
struct task_mc_plan {
	char *prompt;                   /* the description, few-shot examples, then the item's context: the record's "prompt" */
	size_t context_len;             /* bytes of prompt that are the scored context (trailing whitespace off) */
	size_t description_len;         /* bytes at the start of prompt that are the task's description (a chat
					   template's system message) */
	struct task_mc_choice *choices; /* n_choices, in the item's order */
	size_t n_choices;
	int gold;                       /* index of the right choice */
	size_t *shots;                  /* n_shots few-shot examples in prompt order: indices into the pool or the items */
	size_t n_shots;
	bool shots_from_pool;
	enum task_start start;          /* before the context */
	enum task_start start_if_empty; /* before an empty context when start gives no token */
	enum task_truncate truncate;
	enum task_mc_rule rules[TASK_MC_N_RULES]; /* the metrics of every item, in record order */
	size_t n_rules;
	bool mutual_info;               /* continuations scored again after a neutral context (acc_mutual_info) */
	bool choice_in_context;         /* each choice has its own context (choices[j].text up to its context_len);
					   prompt and context_len are the right choice's */
	enum task_start neutral;        /* that context: one token */
};

/* An empty plan (task_mc_plan_release is then a no-op). */
void task_mc_plan_init(struct task_mc_plan *p);

/* The plan of item item_idx of t (multiple choice) in lang under o. Few-shot: k
 * examples (o->fewshot_k, else the task's) drawn without replacement from the pool
 * or the task's other items having lang, by a partial Fisher-Yates shuffle driven by
 * stream item_idx of the seed (the task's, else o->seed), each rendered as context +
 * target delimiter + gold choice + few-shot delimiter. Fills *p (release with
 * task_mc_plan_release; on an error *p is empty). Errors (MRL_EINPUT: the item cannot
 * be rendered, too few few-shot examples; MRL_ENOMEM) name the task, item and language. */
int task_mc_plan(const struct task_task *t, size_t item_idx, const char *lang, const struct task_plan_opts *o,
		 struct task_mc_plan *p, struct mrl_err *err);

/* Free what p owns and leave it empty (NULL is fine). */
void task_mc_plan_release(struct task_mc_plan *p);

/* ---- perplexity --------------------------------------------------------------- */

/* The plan of a perplexity document in one language; owns text. The text is
 * tokenized without BOS into n tokens and the start token is put before them, so
 * that every document token is predicted once, in the windows task_ppl_windows gives. */
struct task_ppl_plan {
	char *text;                     /* the document as rendered */
	struct task_text_counts counts; /* what the NLL is divided by */
	enum task_start start;          /* BOS, else EOS with BOS used; EOS, else BOS without */
	size_t window, stride;          /* tokens: the task's window and stride */
};

/* An empty plan (task_ppl_plan_release is then a no-op). */
void task_ppl_plan_init(struct task_ppl_plan *p);

/* The plan of item item_idx of t (perplexity) in lang; o->add_bos is all it reads of o.
 * Fills *p (release with task_ppl_plan_release). Errors name the task, item and language. */
int task_ppl_plan(const struct task_task *t, size_t item_idx, const char *lang, const struct task_plan_opts *o,
		  struct task_ppl_plan *p, struct mrl_err *err);

/* Free what p owns and leave it empty (NULL is fine). */
void task_ppl_plan_release(struct task_ppl_plan *p);

/* The rolling windows of a document of n tokens: window w scores tokens [begin[w], end[w])
 * of the sequence start ++ tokens (indices into that sequence, 1-based for the document's
 * tokens) after the context [ctx_begin[w], begin[w]). The first window predicts tokens
 * 1..min(window, n); each further one the next stride tokens with the window - stride
 * before them (stride outside 1..window is taken as window, lm-eval-harness's
 * loglikelihood_rolling). Returns the number of windows (at most n; 0 when window is 0);
 * the arrays must hold n entries. */
size_t task_ppl_windows(size_t n, size_t window, size_t stride, size_t *ctx_begin, size_t *begin, size_t *end);

/* ---- generation --------------------------------------------------------------- */

/* The plan of a generate item in one language; owns prompt, refs and shots. */
struct task_gen_plan {
	char *prompt;                   /* the description, few-shot examples, then the item's context, as they are */
	size_t description_len;         /* bytes at the start of prompt that are the task's description (the
					   chat template's system message) */
	char **refs;                    /* n_refs >= 1 reference answers (the variant's "target") */
	size_t n_refs;
	size_t *shots;                  /* few-shot examples in prompt order, as in task_mc_plan */
	size_t n_shots;
	bool shots_from_pool;
	enum task_start start;          /* before the prompt (BOS when used) */
	enum task_truncate truncate;    /* the prompt is cut from the left to leave max_tokens positions */
	size_t n_until;                 /* stop strings: task_gen_until(t, lang, i) */
	int max_tokens;                 /* new tokens at most */
	const char *expect_script;      /* "Cyrl" / "Latn" or NULL (task_gen_expect_script) */
	const char *expect_language;    /* "sr", "hr", ... or NULL (task_gen_expect_language) */
};

void task_gen_plan_init(struct task_gen_plan *p);
/* The plan of item item_idx of t (generate) in lang under o (few-shot as task_mc_plan).
 * Fills *p (release with task_gen_plan_release; empty on an error). Errors name the
 * task, item and language. */
int task_gen_plan(const struct task_task *t, size_t item_idx, const char *lang, const struct task_plan_opts *o,
		  struct task_gen_plan *p, struct mrl_err *err);
void task_gen_plan_release(struct task_gen_plan *p);

#endif
