/* score.c — answer scoring that does not depend on the language or the model.
 *
 * Multiple choice: the engine gives each choice a log-likelihood; a metric is a
 * rule that turns the choices' scores into one predicted index (lm-eval-harness's
 * acc / acc_norm, plus acc_bytes and acc_mutual_info). Perplexity: the lengths a
 * text's negative log-likelihood is divided by, including the "canonical
 * character" count (NFC, then Serbian Cyrillic -> Latin) that makes the two
 * Serbian scripts comparable: Cyrillic takes about twice the UTF-8 bytes of the
 * same Latin text, but the same number of canonical characters.
 */
#include "tasks/task.h"

#include "common/utf8.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

static const char *const rule_names[TASK_MC_N_RULES] = { "acc", "acc_norm", "acc_bytes", "acc_mutual_info" };

const char *task_mc_rule_name(enum task_mc_rule rule)
{
	return (unsigned)rule < TASK_MC_N_RULES ? rule_names[rule] : NULL;
}

int task_mc_rule_find(const char *name)
{
	for (int i = 0; name && i < TASK_MC_N_RULES; i++)
		if (!strcmp(name, rule_names[i]))
			return i;
	return -1;
}

double task_mc_choice_score(enum task_mc_rule rule, const struct task_choice_score *c)
{
	switch (rule) {
	case TASK_MC_ACC:
		return c->loglik;
	case TASK_MC_ACC_NORM:
		return c->n_chars > 0 ? c->loglik / (double)c->n_chars : NAN;
	case TASK_MC_ACC_BYTES:
		return c->n_bytes > 0 ? c->loglik / (double)c->n_bytes : NAN;
	case TASK_MC_ACC_MUTUAL_INFO:
		return c->loglik - c->loglik_uncond; /* NaN propagates when uncond is missing */
	default:
		return NAN;
	}
}

int task_mc_predict(enum task_mc_rule rule, const struct task_choice_score *c, size_t n)
{
	int best = -1;
	double best_score = 0;
	for (size_t j = 0; j < n && j <= (size_t)INT32_MAX; j++) {
		const double v = task_mc_choice_score(rule, &c[j]);
		if (isnan(v))
			continue;
		if (best < 0 || v > best_score) { /* strict: the first maximum wins ties */
			best = (int)j;
			best_score = v;
		}
	}
	return best;
}

int64_t task_utf8_chars(const char *s, size_t len)
{
	return (int64_t)mrl_utf8_count(s, len);
}

/* Unicode White_Space (the characters Python's str.split() splits on, plus NEL). */
static int is_space(utf8proc_int32_t cp)
{
	if ((cp >= 0x09 && cp <= 0x0D) || cp == 0x20 || cp == 0x85 || (cp >= 0x1C && cp <= 0x1F))
		return 1;
	const utf8proc_category_t cat = utf8proc_category(cp);
	return cat == UTF8PROC_CATEGORY_ZS || cat == UTF8PROC_CATEGORY_ZL || cat == UTF8PROC_CATEGORY_ZP;
}

int task_text_count(const char *s, size_t len, struct task_text_counts *out, struct mrl_err *err)
{
	memset(out, 0, sizeof *out);
	int in_word = 0;
	size_t i = 0;
	while (i < len) {
		utf8proc_int32_t cp;
		utf8proc_ssize_t k = utf8proc_iterate((const utf8proc_uint8_t *)s + i, (utf8proc_ssize_t)(len - i), &cp);
		if (k <= 0)
			return mrl_err_set(err, MRL_EINPUT, "invalid UTF-8 at byte offset %zu", i);
		const int sp = is_space(cp);
		if (!sp && !in_word)
			out->words++;
		in_word = !sp;
		out->chars++;
		i += (size_t)k;
	}
	out->bytes = (int64_t)len;
	/* task_translit_cyr2lat NFC-normalises its input and returns NFC text. */
	char *latin = NULL;
	size_t latin_len = 0;
	int rc = task_translit_cyr2lat(s, len, &latin, &latin_len, err);
	if (rc)
		return rc;
	out->canonical_chars = task_utf8_chars(latin, latin_len);
	free(latin);
	return 0;
}

size_t task_trailing_space(const char *s, size_t len)
{
	size_t end = len;
	while (end > 0) {
		size_t start = end - 1; /* back to the first byte of the last code point */
		while (start > 0 && end - start < 4 && ((unsigned char)s[start] & 0xC0) == 0x80)
			start--;
		utf8proc_int32_t cp;
		utf8proc_ssize_t k = utf8proc_iterate((const utf8proc_uint8_t *)s + start, (utf8proc_ssize_t)(end - start), &cp);
		if (k != (utf8proc_ssize_t)(end - start) || !is_space(cp))
			break;
		end = start;
	}
	return len - end;
}
