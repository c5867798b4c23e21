/* chat.c — chat template families: recognised by their markers, written in C.
 *
 * Each family's writer reproduces what its published Jinja template renders for
 * [system?, user] with add_generation_prompt=True (the templates and their
 * renderings are in tests/data/chat/). Two details the templates have and the
 * writers keep: Jinja's `| trim` / `.strip()` on the content (Llama 2, Llama 3,
 * Gemma), and a default system message some ChatML templates insert when the
 * conversation has none (read off the template's text by task_chat_detect).
 */
#include "tasks/chat.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/buf.h"
#include "tasks/task.h"

static const char *const family_names[TASK_CHAT_N_FAMILIES] = {
	"none", "chatml", "llama2", "llama3", "mistral", "gemma", "phi3",
};

const char *task_chat_name(enum task_chat_family f)
{
	return (unsigned)f < TASK_CHAT_N_FAMILIES ? family_names[f] : NULL;
}

int task_chat_parse_name(const char *name, enum task_chat_family *out, struct mrl_err *err)
{
	for (int f = 0; f < TASK_CHAT_N_FAMILIES; f++)
		if (!strcasecmp(name, family_names[f])) {
			*out = (enum task_chat_family)f;
			return 0;
		}
	char known[128] = "";
	for (int f = 0; f < TASK_CHAT_N_FAMILIES; f++)
		snprintf(known + strlen(known), sizeof known - strlen(known), "%s%s", f ? ", " : "", family_names[f]);
	return mrl_err_set(err, MRL_EINPUT, "unknown chat template '%s' (known: %s)", name, known);
}

int task_chat_writes_bos(enum task_chat_family f)
{
	return f == TASK_CHAT_LLAMA2 || f == TASK_CHAT_LLAMA3 || f == TASK_CHAT_MISTRAL || f == TASK_CHAT_GEMMA;
}

/* The default system message of a ChatML template: the literal text after
 * "<|im_start|>system" + newline inside a quoted Jinja string, up to <|im_end|>
 * (SmolLM2: '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, ...<|im_end|>\n').
 * A newline is written either as itself or as the two characters \n. */
static int chatml_default_system(const char *tmpl, struct task_chat *out)
{
	static const char marker[] = "<|im_start|>system";
	for (const char *p = strstr(tmpl, marker); p; p = strstr(p + 1, marker)) {
		const char *s = p + sizeof marker - 1;
		if (*s == '\n')
			s++;
		else if (s[0] == '\\' && s[1] == 'n')
			s += 2;
		else
			continue;
		const char *end = strstr(s, "<|im_end|>"), *quote = strpbrk(s, "'\"");
		if (!end || end == s || (quote && quote < end))
			continue; /* '<|im_start|>system\n' + message['content'] + ... */
		size_t n = 0;
		for (const char *q = s; q < end; q++) {
			if (n + 1 == sizeof out->default_system) { /* never cut: it would change the prompt */
				out->default_system[0] = '\0';
				return -1;
			}
			if (q[0] == '\\' && q + 1 < end) {
				q++;
				out->default_system[n++] = *q == 'n' ? '\n' : *q == 't' ? '\t' : *q;
			} else {
				out->default_system[n++] = *q;
			}
		}
		out->default_system[n] = '\0';
		return 0;
	}
	return 0;
}

/* Qwen3's thinking switch: '<think>\n\n</think>\n\n' after the assistant's turn when
 * enable_thinking is false (newlines as Jinja escapes or as themselves). */
static bool qwen3_thinking_switch(const char *tmpl)
{
	return strstr(tmpl, "enable_thinking is false") &&
	       (strstr(tmpl, "'<think>\\n\\n</think>\\n\\n'") || strstr(tmpl, "'<think>\n\n</think>\n\n'"));
}

long task_chat_answer_at(const char *text)
{
	const char *end = NULL;
	for (const char *p = strstr(text, "</think>"); p; p = strstr(p + 1, "</think>"))
		end = p;
	if (!end)
		return -1;
	end += strlen("</think>");
	while (*end == '\n')
		end++;
	return end - text;
}

/* A later template of a recognised family that its writer does not reproduce: its
 * description, or NULL. Each was rendered by transformers and differs from the
 * family's prompt (the generation audit of 2026-12-06). */
static const char *unreproduced_variant(const char *tmpl, enum task_chat_family f)
{
	if (f == TASK_CHAT_LLAMA3 && strstr(tmpl, "Cutting Knowledge Date"))
		return "a Llama 3.1-or-later template: it always writes a system block with 'Cutting Knowledge Date' and "
		       "a date (today's, for Llama 3.2), which merilo does not reproduce; --chat-template llama3 writes "
		       "Llama 3.0's prompt, without that block";
	if (f == TASK_CHAT_CHATML && (strstr(tmpl, "'<|im_start|>assistant\\n<think>") ||
				      strstr(tmpl, "'<|im_start|>assistant\n<think>")))
		return "a ChatML template that always opens the assistant's turn with <think> (QwQ's), which merilo "
		       "does not reproduce; --chat-template chatml writes the turn without it";
	if (f == TASK_CHAT_CHATML && strstr(tmpl, "enable_thinking") && !qwen3_thinking_switch(tmpl))
		return "a ChatML template with an enable_thinking switch other than Qwen3's (an empty <think> block "
		       "when false), which merilo does not reproduce; --chat-template chatml writes the turn as "
		       "ChatML does";
	if (f == TASK_CHAT_CHATML && strstr(tmpl, "<|im_sep|>"))
		return "a ChatML template with <|im_sep|> after the role (Phi-4's), which merilo does not reproduce; "
		       "--chat-template chatml writes a newline there";
	/* Mistral v0.1: '[INST] ' + content + ' [/INST]'; v0.3 drops the second space, Nemo both */
	if (f == TASK_CHAT_MISTRAL && (!strstr(tmpl, "[INST] ") || !strstr(tmpl, " [/INST]")))
		return "a Mistral template without v0.1's spaces in '[INST] ' + content + ' [/INST]' (v0.3's, Nemo's), "
		       "which merilo does not reproduce; --chat-template mistral writes v0.1's prompt";
	return NULL;
}

int task_chat_detect(const char *tmpl, struct task_chat *out, struct mrl_err *err)
{
	memset(out, 0, sizeof *out);
	if (strstr(tmpl, "<|im_start|>")) {
		out->family = TASK_CHAT_CHATML;
		out->thinking_switch = qwen3_thinking_switch(tmpl);
		if (chatml_default_system(tmpl, out))
			return mrl_err_set(err, MRL_EUNSUPPORTED,
					   "the model's chat template has a default system message longer than %zu bytes, "
					   "which merilo does not keep whole: --chat-template chatml writes its prompt without "
					   "a system message, or choose another with --chat-template NAME",
					   sizeof out->default_system - 1);
	} else if (strstr(tmpl, "<|start_header_id|>")) {
		out->family = TASK_CHAT_LLAMA3;
	} else if (strstr(tmpl, "<start_of_turn>")) {
		out->family = TASK_CHAT_GEMMA;
	} else if (strstr(tmpl, "<|user|>") && strstr(tmpl, "<|end|>")) {
		out->family = TASK_CHAT_PHI3;
	} else if (strstr(tmpl, "[INST]")) {
		out->family = strstr(tmpl, "<<SYS>>") ? TASK_CHAT_LLAMA2 : TASK_CHAT_MISTRAL;
	} else {
		return mrl_err_set(err, MRL_EUNSUPPORTED,
				   "the model's chat template is not one merilo recognises (ChatML, Llama 2, Llama 3, Mistral, "
				   "Gemma, Phi-3): choose one with --chat-template NAME, or --chat-template none");
	}
	const char *variant = unreproduced_variant(tmpl, out->family);
	if (variant) {
		memset(out, 0, sizeof *out);
		return mrl_err_set(err, MRL_EUNSUPPORTED, "the model's chat template is %s (or choose --chat-template none)",
				   variant);
	}
	return 0;
}

/* s without the leading and trailing whitespace Python's str.strip() removes
 * (leading: ASCII whitespace; trailing: Unicode White_Space), appended to b. */
static void add_stripped(struct mrl_buf *b, const char *s)
{
	while (*s == ' ' || (*s >= '\t' && *s <= '\r'))
		s++;
	const size_t len = strlen(s);
	mrl_buf_addn(b, s, len - task_trailing_space(s, len));
}

/* The user content of families without a system role: "SYSTEM\n\nUSER". */
static void add_folded(struct mrl_buf *b, const char *system, const char *user, bool strip)
{
	struct mrl_buf c;
	mrl_buf_init(&c);
	if (system && *system) {
		mrl_buf_add(&c, system);
		mrl_buf_add(&c, "\n\n");
	}
	mrl_buf_add(&c, user);
	if (strip)
		add_stripped(b, c.data);
	else
		mrl_buf_add(b, c.data);
	mrl_buf_release(&c);
}

static void write_prompt(const struct task_chat *c, const char *system, const char *user, const char *bos,
			 struct mrl_buf *b)
{
	const bool has_system = system && *system;
	switch (c->family) {
	case TASK_CHAT_CHATML:
		if (has_system || c->default_system[0])
			mrl_buf_addf(b, "<|im_start|>system\n%s<|im_end|>\n", has_system ? system : c->default_system);
		mrl_buf_addf(b, "<|im_start|>user\n%s<|im_end|>\n<|im_start|>assistant\n", user);
		if (c->thinking_switch && c->no_thinking)
			mrl_buf_add(b, "<think>\n\n</think>\n\n");
		break;
	case TASK_CHAT_LLAMA2: {
		struct mrl_buf content;
		mrl_buf_init(&content);
		if (has_system)
			mrl_buf_addf(&content, "<<SYS>>\n%s\n<</SYS>>\n\n", system);
		mrl_buf_add(&content, user);
		mrl_buf_add(b, bos);
		mrl_buf_add(b, "[INST] ");
		add_stripped(b, content.data);
		mrl_buf_add(b, " [/INST]");
		mrl_buf_release(&content);
		break;
	}
	case TASK_CHAT_LLAMA3:
		mrl_buf_add(b, bos);
		if (has_system) {
			mrl_buf_add(b, "<|start_header_id|>system<|end_header_id|>\n\n");
			add_stripped(b, system);
			mrl_buf_add(b, "<|eot_id|>");
		}
		mrl_buf_add(b, "<|start_header_id|>user<|end_header_id|>\n\n");
		add_stripped(b, user);
		mrl_buf_add(b, "<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n");
		break;
	case TASK_CHAT_MISTRAL:
		mrl_buf_add(b, bos);
		mrl_buf_add(b, "[INST] ");
		add_folded(b, system, user, false);
		mrl_buf_add(b, " [/INST]");
		break;
	case TASK_CHAT_GEMMA:
		mrl_buf_add(b, bos);
		mrl_buf_add(b, "<start_of_turn>user\n");
		add_folded(b, system, user, true);
		mrl_buf_add(b, "<end_of_turn>\n<start_of_turn>model\n");
		break;
	case TASK_CHAT_PHI3:
		if (has_system)
			mrl_buf_addf(b, "<|system|>\n%s<|end|>\n", system);
		mrl_buf_addf(b, "<|user|>\n%s<|end|>\n<|assistant|>\n", user);
		break;
	default:
		break;
	}
}

int task_chat_apply(const struct task_chat *c, const char *system, const char *user, const char *bos, char **out,
		    struct mrl_err *err)
{
	*out = NULL;
	if (c->family <= TASK_CHAT_NONE || c->family >= TASK_CHAT_N_FAMILIES)
		return mrl_err_set(err, MRL_EINPUT, "no chat template to apply");
	struct mrl_buf b;
	mrl_buf_init(&b);
	write_prompt(c, system, user ? user : "", bos ? bos : "", &b);
	if (!(*out = mrl_buf_detach(&b, NULL)))
		return mrl_err_set(err, MRL_ENOMEM, "out of memory");
	return 0;
}
