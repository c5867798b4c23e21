/* chat.h — chat templates of instruct models, recognised and applied natively.
 *
 * An instruct model ships a Jinja chat template (GGUF `tokenizer.chat_template`,
 * HF `tokenizer_config.json` "chat_template") that wraps messages in its turn
 * markers. merilo runs no Jinja: it recognises the common families by their
 * distinctive markers and writes their prompt in C, byte for byte what
 * transformers' apply_chat_template gives for the same messages with
 * add_generation_prompt=True (tests/task_chat.c compares against renderings of
 * real models' templates made by tests/data/chat/gen.py).
 *
 * Only the shape an evaluation needs is supported: an optional system message
 * and one user message, then the assistant's turn is opened. Families whose
 * templates refuse a system message (Mistral v0.1, Gemma) get it folded into
 * the user message as "SYSTEM\n\nUSER" (docs/evaluation.md, "Chat templates").
 * Nothing here allocates what the caller does not free; no global state.
 */
#ifndef MRL_TASK_CHAT_H
#define MRL_TASK_CHAT_H

#include <stdbool.h>
#include <stddef.h>

#include "common/err.h"

enum task_chat_family {
	TASK_CHAT_NONE = 0, /* no template: the prompt is used as it is */
	TASK_CHAT_CHATML,   /* <|im_start|>role\n...<|im_end|>\n (Qwen, SmolLM, OpenHermes) */
	TASK_CHAT_LLAMA2,   /* <s>[INST] <<SYS>>\n...\n<</SYS>>\n\n... [/INST] */
	TASK_CHAT_LLAMA3,   /* <|start_header_id|>role<|end_header_id|>\n\n...<|eot_id|> */
	TASK_CHAT_MISTRAL,  /* <s>[INST] ... [/INST] (Mistral/Mixtral v0.1) */
	TASK_CHAT_GEMMA,    /* <start_of_turn>user\n...<end_of_turn>\n<start_of_turn>model\n */
	TASK_CHAT_PHI3,     /* <|user|>\n...<|end|>\n<|assistant|>\n */
	TASK_CHAT_N_FAMILIES
};

/* A recognised template: its family and what the family's C rendering needs
 * from the template's text. A plain value. */
struct task_chat {
	enum task_chat_family family;
	char default_system[2048]; /* the system message the template adds when none is given
				    * (SmolLM2's, Qwen2.5's); "" when none (a longer one is refused) */
	bool thinking_switch;      /* a ChatML template with Qwen3's enable_thinking: false opens the
				    * assistant's turn with an empty "<think>\n\n</think>\n\n" */
	bool no_thinking;          /* the caller's choice: render as enable_thinking=False (only
				    * with thinking_switch; else as the template's default, thinking) */
	unsigned think_budget;     /* the caller's: with thinking_switch and thinking on, the new tokens
				    * allowed for the reasoning on top of a task's answer budget */
};

/* "none", "chatml", "llama2", "llama3", "mistral", "gemma", "phi3" (static); NULL out of range. */
const char *task_chat_name(enum task_chat_family f);

/* The family with this name (as task_chat_name gives; case-insensitive) into *out:
 * 0, or MRL_EINPUT listing the known names. */
int task_chat_parse_name(const char *name, enum task_chat_family *out, struct mrl_err *err);

/* Whether c makes the model reason first: a template with Qwen3's switch rendered with
 * thinking on (its answer then follows "</think>"). */
static inline bool task_chat_thinks(const struct task_chat *c)
{
	return c && c->family != TASK_CHAT_NONE && c->thinking_switch && !c->no_thinking;
}

/* The reasoning a thinking model (a template with thinking_switch) wrote before its
 * answer: text up to the last "</think>", as the template itself splits an
 * assistant's content. Returns the offset of the answer in text (after "</think>"
 * and the newlines that follow it, which the template strips), or -1 where text has
 * no "</think>" (the thinking did not finish, or there was none). */
long task_chat_answer_at(const char *text);

/* Recognise a Jinja template's family by its markers: <|im_start|> (ChatML),
 * <|start_header_id|> (Llama 3), <start_of_turn> (Gemma), <|user|> with <|end|>
 * (Phi-3), [INST] with <<SYS>> (Llama 2), [INST] alone (Mistral). Fills *out;
 * 0, or MRL_EUNSUPPORTED when no family matches, or when the template is a later
 * variant of its family that renders otherwise than the family's writer (Llama
 * 3.1+'s dated system block, Phi-4's <|im_sep|>, Mistral v0.3 / Nemo's spacing
 * around [INST] ... [/INST], a ChatML template that always opens the assistant's turn
 * with <think> (QwQ) or has another enable_thinking than Qwen3's), or its default
 * system message passes 2047 bytes:
 * the message names it and the --chat-template choices. */
int task_chat_detect(const char *tmpl, struct task_chat *out, struct mrl_err *err);

/* The prompt of (system, user) under c with the assistant's turn opened, as
 * apply_chat_template(add_generation_prompt=True) renders it. system may be NULL
 * or "" (no system message; c->default_system is used where the template has one).
 * bos is the model's BOS token text ("<s>", "<bos>", "<|begin_of_text|>") for the
 * families whose template writes bos_token (Llama 2, Llama 3, Mistral, Gemma);
 * "" or NULL when the model has none. Special tokens appear as text: tokenize the
 * result with special-token parsing. *out is malloc'd (caller frees).
 * 0, MRL_EINPUT (family NONE or out of range) or MRL_ENOMEM. */
int task_chat_apply(const struct task_chat *c, const char *system, const char *user, const char *bos, char **out,
		    struct mrl_err *err);

/* Whether the family's prompt begins with the BOS text (then no BOS token is added
 * before it). */
int task_chat_writes_bos(enum task_chat_family f);

#endif
