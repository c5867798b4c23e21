/* item.h — one item in one language, as one line of items.jsonl: the model's
 * score of each choice, each metric's verdict, timings, the prompt, and
 * optionally per-token log-probabilities. Owns its strings and arrays.
 */
#ifndef MRL_REC_ITEM_H
#define MRL_REC_ITEM_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "records/record_json.h"

#define REC_ITEMS_SCHEMA_VERSION 1 /* every line of items.jsonl */

/* The model's score of one answer choice. */
struct rec_choice_score {
	double loglik;         /* sum of log-probabilities (natural log) of the choice's tokens */
	int64_t n_tokens, n_chars, n_bytes; /* length of the choice: tokens, Unicode code points, UTF-8 bytes */
	bool is_greedy;        /* every choice token was the argmax */
	char *continuation;    /* the scored continuation string (after the item's context); NULL when not recorded */
	char *context;         /* the choice's own context, where each choice has one (choice_in_context); else NULL */
};

/* One metric's verdict on one item. */
struct rec_item_metric {
	char *metric;          /* "acc", "acc_norm", "exact_match", ... */
	int64_t pred_index;    /* the chosen choice; -1 when the task has no choices */
	char *pred_text;       /* generated/normalised answer text; NULL when none */
	bool correct;
	double value;          /* per-item score for graded metrics (e.g. F1); NaN when not graded */
};

/* A named duration, in nanoseconds. */
struct rec_timing {
	char *name;            /* "tokenize", "score", "total", ... */
	int64_t ns;
};

/* Per-token log-probabilities of one choice's continuation (`merilo run
 * --store-logprobs`; docs/results-format.md, "logprobs"). */
struct rec_token_logprobs {
	size_t n;              /* continuation tokens (= the choice's n_tokens) */
	int32_t *tokens;       /* n token ids */
	double *logprob;       /* n: log p(tokens[i] | context, tokens[<i]), natural log */
	size_t k;              /* top-K entries per position; 0 = none stored */
	int32_t *top_id;       /* n * k, row i = position i, best first */
	double *top_logprob;   /* n * k */
};

/* One item in one language. */
struct rec_item {
	char *task, *item_id, *language;
	struct rec_choice_score *choices;  /* n_choices */
	size_t n_choices;
	int64_t gold_index;                /* -1 when not a choice task */
	char *gold_text;                   /* NULL when none */
	struct rec_item_metric *metrics;   /* n_metrics */
	size_t n_metrics;
	struct rec_timing *timings;        /* n_timings */
	size_t n_timings;
	char *prompt;                      /* rendered prompt; NULL when not recorded */
	char *context;                     /* the scored context string of every choice's request; NULL when not recorded */
	char *breakdown;                   /* the item's value of its task's "breakdown" field (its source language's for a
					    * derived one); NULL where the task has none, or the record predates it */
	int64_t tokens_computed;           /* tokens the forward pass computed for this item; -1 unknown */
	int64_t tokens_cached;             /* tokens of its requests reused from the KV cache; -1 unknown */
	struct rec_token_logprobs *logprobs; /* n_choices entries, or NULL when not stored */
	json_t *generation;                /* generate tasks: the answer, its stop reason, script mix, language
					    * guess and metric statistics (docs/results-format.md, "generation");
					    * an owned reference, NULL otherwise */
	size_t line;                       /* 1-based line of items.jsonl it was read from; 0 when not read */
};

/* Set task, item_id, language (copied) on a zeroed item, gold_index -1.
 * Returns 0 or MRL_ENOMEM. */
int rec_item_init(struct rec_item *it, const char *task, const char *item_id, const char *language);

/* Appenders: copy their strings into it. Return 0 or MRL_ENOMEM. */
int rec_item_add_choice(struct rec_item *it, double loglik, int64_t n_tokens, int64_t n_chars, int64_t n_bytes,
			bool is_greedy);
int rec_item_add_metric(struct rec_item *it, const char *metric, int64_t pred_index, const char *pred_text,
			bool correct, double value);
int rec_item_add_timing(struct rec_item *it, const char *name, int64_t ns);
/* Replace gold_text / prompt / breakdown with a copy of s (NULL clears). */
int rec_item_set_gold_text(struct rec_item *it, const char *s);
int rec_item_set_prompt(struct rec_item *it, const char *s);
int rec_item_set_breakdown(struct rec_item *it, const char *s);
/* Replace the context, choice `choice`'s continuation or own context (< n_choices: add
 * the choices first) or metric `metric`'s pred_text (< n_metrics) with a copy of s
 * (NULL clears). 0, MRL_EINPUT (index out of range) or MRL_ENOMEM. */
int rec_item_set_context(struct rec_item *it, const char *s);
int rec_item_set_continuation(struct rec_item *it, size_t choice, const char *s);
int rec_item_set_choice_context(struct rec_item *it, size_t choice, const char *s);
int rec_item_set_pred_text(struct rec_item *it, size_t metric, const char *s);

/* Store the log-probabilities of choice `choice` (< n_choices; add the choices first):
 * n tokens and logprobs, and k top entries per position (top_id/top_logprob n * k,
 * may be NULL when k == 0), all copied. Replaces what the choice had. Returns 0,
 * MRL_EINPUT (choice out of range) or MRL_ENOMEM. */
int rec_item_set_logprobs(struct rec_item *it, size_t choice, const int32_t *tokens, const double *logprob,
			  size_t n, size_t k, const int32_t *top_id, const double *top_logprob);

/* The stored log-probabilities of a choice, or NULL when the record has none
 * (a run without --store-logprobs, or a choice out of range). Owned by it. */
const struct rec_token_logprobs *rec_item_logprobs(const struct rec_item *it, size_t choice);

/* The "logprobs" array of an items.jsonl line as JSON (new reference), NULL when out of
 * memory (a choice never set is written as null); and its reader: n_choices entries into
 * *out (malloc'd, caller frees with rec_token_logprobs_free(*out, n_choices); a null entry
 * reads as unset); every array length is checked before anything is allocated for it. */
json_t *rec_token_logprobs_to_json(const struct rec_token_logprobs *lp, size_t n_choices);
int rec_token_logprobs_from_json(const json_t *arr, size_t n_choices, struct rec_token_logprobs **out,
				 const char *where, const char *path, struct mrl_err *err);
void rec_token_logprobs_free(struct rec_token_logprobs *lp, size_t n_choices);

/* Replace the record's "generation" object with g (the record takes the caller's
 * reference; NULL clears). Returns 0, or MRL_EINPUT when g is not an object. */
int rec_item_set_generation(struct rec_item *it, json_t *g);

/* Free everything it owns and zero it. */
void rec_item_release(struct rec_item *it);

/* One items.jsonl line (new JSON object, new reference) or NULL (out of memory). */
json_t *rec_item_to_json(const struct rec_item *it);

/* Parse one line's object. where is e.g. "items.jsonl:17". */
int rec_item_from_json(const json_t *j, struct rec_item *it, const char *where, struct mrl_err *err);

#endif
