/* run_chat.c — a run's prompts in its chat template: the user's turn with the
 * assistant's opened (tasks/chat.c renders it), for generate prompts (run_gen.c) and,
 * under --chat-multiple-choice, for multiple-choice plans (run_units.c).
 */
#include "harness/run_gen.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tasks/chat.h"

/* system and user in the run's chat template (with the template's BOS text unless --bos
 * never: it was written all the same, and results.json said no BOS was used). */
int hrn_run_chat_render(const struct hrn_run_cfg *cfg, const char *system, const char *user, char **out,
			struct mrl_err *err)
{
	struct eng_model_desc d;
	eng_model_describe(cfg->model, &d);
	const char *bos = d.bos_id >= 0 && !cfg->bos_never ? eng_token_piece(cfg->model, d.bos_id) : NULL;
	return task_chat_apply(cfg->chat, system, user, bos, out, err);
}

int hrn_run_chat_plan(const struct hrn_run_cfg *cfg, const char *prompt, size_t description_len, const char *user,
		      char **out, struct mrl_err *err)
{
	char *system = description_len ? strndup(prompt, description_len) : NULL;
	if (description_len && !system)
		return mrl_err_set(err, MRL_ENOMEM, "out of memory");
	int rc = hrn_run_chat_render(cfg, system, user ? user : prompt + description_len, out, err);
	free(system);
	return rc;
}

bool hrn_run_chat_mc_on(const struct hrn_run_cfg *cfg)
{
	return cfg->chat_mc && cfg->chat && cfg->chat->family != TASK_CHAT_NONE;
}

int32_t hrn_run_start_token(const struct hrn_run_cfg *cfg, bool chat, enum task_start start,
			    const struct eng_model_desc *d)
{
	if (chat && task_chat_writes_bos(cfg->chat->family) && d->bos_id >= 0)
		return -1;
	return task_start_token(start, d->bos_id, d->eos_id);
}

int hrn_run_mc_chat(const struct hrn_run_cfg *cfg, struct task_mc_plan *p, struct mrl_err *err)
{
	char *chat = NULL;
	int rc = hrn_run_chat_plan(cfg, p->prompt, p->description_len, NULL, &chat, err);
	if (rc)
		return rc;
	const size_t len = strlen(chat), ctx_len = len - task_trailing_space(chat, len);
	for (size_t j = 0; j < p->n_choices; j++) {
		struct task_mc_choice *c = &p->choices[j];
		char *text = NULL;
		if (asprintf(&text, "%s%s", chat, c->text + c->choice_at) < 0) {
			free(chat);
			return mrl_err_set(err, MRL_ENOMEM, "out of memory");
		}
		free(c->text);
		*c = (struct task_mc_choice){ text, ctx_len, len, c->n_chars, c->n_bytes };
	}
	free(p->prompt);
	p->prompt = chat;
	p->context_len = ctx_len;
	return 0;
}
