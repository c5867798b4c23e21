/* template.c — prompt templates: placeholders, filters, switches, rendering.
 *
 * A template is literal text with placeholders "{field}" or "{field|filter|filter}";
 * "{{" and "}}" stand for literal braces; "{=TEXT}" is TEXT itself, which the
 * transliteration of a derived language leaves as it is (answer labels). A template
 * may also be a switch object
 * {"switch": "question", "cases": {"cause": "...", "effect": "..."}, "default": "..."}
 * that picks a template string by the value of one of the variant's fields, so that
 * each language words COPA's cause/effect naturally. Templates live in suite data,
 * never in C. Filters: rstrip_period, lcfirst, ucfirst, trim.
 */
#include "tasks/task_int.h"

#include "common/buf.h"

#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

int task_tmpl_next(const char *s, size_t *pos, struct tmpl_piece *p, const char **msg)
{
	size_t i = *pos;
	if (!s[i])
		return 0;
	if ((s[i] == '{' && s[i + 1] == '{') || (s[i] == '}' && s[i + 1] == '}')) {
		p->kind = TMPL_LITERAL;
		p->start = s + i;
		p->len = 1;
		*pos = i + 2;
		return 1;
	}
	if (s[i] == '{') {
		size_t j = i + 1;
		while (s[j] && s[j] != '}' && s[j] != '{')
			j++;
		if (s[j] != '}') {
			*msg = "unclosed '{' (write '{{' for a literal brace)";
			return -1;
		}
		p->kind = s[i + 1] == '=' ? TMPL_VERBATIM : TMPL_PLACEHOLDER;
		p->start = s + i + 1 + (p->kind == TMPL_VERBATIM);
		p->len = j - i - 1 - (p->kind == TMPL_VERBATIM);
		*pos = j + 1;
		if (p->kind == TMPL_VERBATIM && !p->len) {
			*msg = "empty verbatim text '{=}' (expected {=TEXT})";
			return -1;
		}
		return 1;
	}
	if (s[i] == '}') {
		*msg = "stray '}' (write '}}' for a literal brace)";
		return -1;
	}
	size_t j = i;
	while (s[j] && s[j] != '{' && s[j] != '}')
		j++;
	p->kind = TMPL_LITERAL;
	p->start = s + i;
	p->len = j - i;
	*pos = j;
	return 1;
}

static bool is_ident_char(char c, bool first)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (!first && c >= '0' && c <= '9');
}

static const char *const filter_names[] = { "rstrip_period", "lcfirst", "ucfirst", "trim" };

bool task_tmpl_filter_known(const char *name, size_t len)
{
	for (size_t i = 0; i < sizeof filter_names / sizeof filter_names[0]; i++)
		if (strlen(filter_names[i]) == len && !memcmp(filter_names[i], name, len))
			return true;
	return false;
}

int task_tmpl_field(const struct tmpl_piece *p, const char **field, size_t *field_len, const char **msg)
{
	size_t n = 0;
	while (n < p->len && p->start[n] != '|')
		n++;
	if (n == 0) {
		*msg = "empty placeholder '{}' (expected {field} or {field|filter})";
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		if (!is_ident_char(p->start[i], i == 0)) {
			*msg = "placeholder name must be letters, digits and '_' (expected {field} or {field|filter})";
			return -1;
		}
	size_t i = n;
	while (i < p->len) {
		size_t f = ++i;
		while (i < p->len && p->start[i] != '|')
			i++;
		if (!task_tmpl_filter_known(p->start + f, i - f)) {
			*msg = "unknown filter (known: rstrip_period, lcfirst, ucfirst, trim)";
			return -1;
		}
	}
	*field = p->start;
	*field_len = n;
	return 0;
}

/* ---- filters: each takes a malloc'd string and returns a malloc'd string (or NULL on ENOMEM) ---- */

static char *filter_trim(char *s)
{
	size_t n = strlen(s), a = 0;
	while (a < n && (s[a] == ' ' || s[a] == '\t' || s[a] == '\n' || s[a] == '\r'))
		a++;
	while (n > a && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n' || s[n - 1] == '\r'))
		n--;
	memmove(s, s + a, n - a);
	s[n - a] = '\0';
	return s;
}

/* Trailing whitespace, then one trailing '.', go (lm-eval-harness's COPA drops the premise's last character). */
static char *filter_rstrip_period(char *s)
{
	size_t n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n' || s[n - 1] == '\r'))
		n--;
	if (n > 0 && s[n - 1] == '.')
		n--;
	s[n] = '\0';
	return s;
}

/* Change the case of the first code point (UTF-8 aware: Љубав -> љубав). */
static char *filter_case_first(char *s, bool lower)
{
	utf8proc_int32_t cp;
	utf8proc_ssize_t n = utf8proc_iterate((const utf8proc_uint8_t *)s, -1, &cp);
	if (n <= 0 || cp == 0)
		return s;
	utf8proc_int32_t to = lower ? utf8proc_tolower(cp) : utf8proc_toupper(cp);
	if (to == cp)
		return s;
	utf8proc_uint8_t enc[4];
	utf8proc_ssize_t m = utf8proc_encode_char(to, enc);
	size_t rest = strlen(s + n);
	char *r = malloc((size_t)m + rest + 1);
	if (!r) {
		free(s);
		return NULL;
	}
	memcpy(r, enc, (size_t)m);
	memcpy(r + m, s + n, rest + 1);
	free(s);
	return r;
}

static char *apply_filter(char *s, const char *name, size_t len)
{
	if (len == 4 && !memcmp(name, "trim", 4))
		return filter_trim(s);
	if (len == 13 && !memcmp(name, "rstrip_period", 13))
		return filter_rstrip_period(s);
	if (len == 7 && !memcmp(name, "lcfirst", 7))
		return filter_case_first(s, true);
	if (len == 7 && !memcmp(name, "ucfirst", 7))
		return filter_case_first(s, false);
	return s;
}

int task_template_apply(const char *tmpl, const char *const *names, const char *const *values,
			size_t n, const char *choice, char **out, struct mrl_err *err)
{
	struct mrl_buf b = MRL_BUF_INIT;
	size_t pos = 0;
	struct tmpl_piece p;
	const char *msg = NULL;
	int r, rc = 0;
	*out = NULL;
	while ((r = task_tmpl_next(tmpl, &pos, &p, &msg)) > 0) {
		if (p.kind == TMPL_LITERAL || p.kind == TMPL_VERBATIM) {
			mrl_buf_addn(&b, p.start, p.len);
			continue;
		}
		const char *field;
		size_t flen;
		if (task_tmpl_field(&p, &field, &flen, &msg)) {
			rc = mrl_err_set(err, MRL_EINPUT, "template '%s': %s", tmpl, msg);
			goto out;
		}
		const char *value = NULL;
		if (choice && flen == 6 && !memcmp(field, "choice", 6))
			value = choice;
		for (size_t i = 0; !value && i < n; i++)
			if (strlen(names[i]) == flen && !memcmp(names[i], field, flen))
				value = values[i];
		if (!value) {
			rc = mrl_err_set(err, MRL_EINPUT, "template '%s': field '%.*s' is not in the variant",
					 tmpl, (int)flen, field);
			goto out;
		}
		char *v = strdup(value);
		const char *f = field + flen;
		const char *end = p.start + p.len;
		while (v && f < end) {
			const char *fs = ++f;
			while (f < end && *f != '|')
				f++;
			v = apply_filter(v, fs, (size_t)(f - fs));
		}
		if (!v) {
			rc = mrl_err_set(err, MRL_ENOMEM, "out of memory rendering a template");
			goto out;
		}
		mrl_buf_add(&b, v);
		free(v);
	}
	if (r < 0) {
		rc = mrl_err_set(err, MRL_EINPUT, "template '%s': %s", tmpl, msg);
		goto out;
	}
	if (!(*out = mrl_buf_detach(&b, NULL)))
		rc = mrl_err_set(err, MRL_ENOMEM, "out of memory rendering a template");
out:
	mrl_buf_release(&b);
	return rc;
}

static const char *variant_field(const struct task_variant *v, const char *name)
{
	for (size_t i = 0; i < v->n_fields; i++)
		if (!strcmp(v->fields[i].name, name))
			return v->fields[i].value;
	return NULL;
}

const char *task_tmpl_select(json_t *tmpl, const struct task_variant *v, const char **msg,
			     const char **missing_field)
{
	*missing_field = NULL;
	if (json_is_string(tmpl))
		return json_string_value(tmpl);
	const char *field = json_string_value(json_object_get(tmpl, "switch"));
	const char *value = field ? variant_field(v, field) : NULL;
	if (!value) {
		*msg = "the switch field is not in the variant";
		*missing_field = field;
		return NULL;
	}
	json_t *c = json_object_get(json_object_get(tmpl, "cases"), value);
	if (!c)
		c = json_object_get(tmpl, "default");
	if (!json_is_string(c)) {
		*msg = "no case for the switch field's value and no \"default\"";
		*missing_field = field;
		return NULL;
	}
	return json_string_value(c);
}

/* Render one template (string or switch) for variant v; choice may be NULL. */
static int render_one(json_t *tmpl, const char *fallback, const struct task_variant *v, const char *choice,
		      char **out, struct mrl_err *err)
{
	const char *msg = NULL, *missing = NULL;
	const char *s = tmpl ? task_tmpl_select(tmpl, v, &msg, &missing) : fallback;
	if (!s)
		return mrl_err_set(err, MRL_EINPUT, "switch on '%s': %s", missing ? missing : "?", msg);
	const char **names = malloc((v->n_fields + 1) * sizeof *names);
	const char **values = malloc((v->n_fields + 1) * sizeof *values);
	int rc;
	if (!names || !values) {
		rc = mrl_err_set(err, MRL_ENOMEM, "out of memory rendering a template");
		goto out;
	}
	for (size_t i = 0; i < v->n_fields; i++) {
		names[i] = v->fields[i].name;
		values[i] = v->fields[i].value;
	}
	rc = task_template_apply(s, names, values, v->n_fields, choice, out, err);
out:
	free(names);
	free(values);
	return rc;
}

void task_prompt_release(struct task_prompt *p)
{
	if (!p)
		return;
	free(p->context);
	free(p->description);
	for (size_t i = 0; i < p->n_choices; i++) {
		free(p->choices[i]);
		if (p->contexts)
			free(p->contexts[i]);
	}
	free(p->choices);
	free(p->contexts);
	memset(p, 0, sizeof *p);
}

/* choice_in_context: each choice's own context, the context template with {choice} that choice. */
static int render_contexts(const struct task_task *t, int li, const struct task_variant *v, struct task_prompt *out,
			   struct mrl_err *err)
{
	if (!(out->contexts = calloc(out->n_choices + 1, sizeof *out->contexts)))
		return mrl_err_set(err, MRL_ENOMEM, "out of memory rendering a template");
	for (size_t j = 0; j < out->n_choices; j++) {
		int rc = render_one(t->tmpl_context[li], "{question}", v, v->choices[j], &out->contexts[j], err);
		if (rc)
			return rc;
	}
	return 0;
}

int task_render(const struct task_task *t, const struct task_item *it, const char *lang,
		struct task_prompt *out, struct mrl_err *err)
{
	memset(out, 0, sizeof *out);
	out->gold = -1;
	int li = task_language_index(t, lang);
	if (li < 0)
		return mrl_err_set(err, MRL_EINPUT, "task '%s': '%s' is not one of its languages", t->id, lang);
	const struct task_variant *v = &it->v[li];
	if (!v->present)
		return mrl_err_set(err, MRL_EINPUT, "task '%s': item '%s' has no %s variant", t->id, it->id, lang);
	const char *ctx_default = t->type == TASK_PERPLEXITY ? "{text}" : "{question}";
	/* a context that writes each choice is rendered per choice, below */
	int rc = t->choice_in_context ? 0 : render_one(t->tmpl_context[li], ctx_default, v, NULL, &out->context, err);
	if (!rc && t->tmpl_description[li])
		rc = render_one(t->tmpl_description[li], "", v, NULL, &out->description, err);
	if (rc)
		goto out;
	out->target_delimiter = t->target_delimiter;
	size_t n = t->type == TASK_MULTIPLE_CHOICE ? v->n_choices : t->type == TASK_GENERATE ? v->n_targets : 0;
	if (n) {
		out->choices = calloc(n, sizeof *out->choices);
		if (!out->choices) {
			rc = mrl_err_set(err, MRL_ENOMEM, "out of memory rendering a template");
			goto out;
		}
	}
	for (size_t j = 0; j < n; j++) {
		if (t->type == TASK_GENERATE) {
			out->choices[j] = strdup(v->targets[j]);
			if (!out->choices[j])
				rc = mrl_err_set(err, MRL_ENOMEM, "out of memory rendering a template");
		} else {
			rc = render_one(t->tmpl_choice[li], "{choice}", v, v->choices[j], &out->choices[j], err);
		}
		if (rc)
			goto out;
		out->n_choices = j + 1;
	}
	if (t->type == TASK_MULTIPLE_CHOICE)
		out->gold = it->gold;
	if (t->choice_in_context && !(rc = render_contexts(t, li, v, out, err))) {
		/* the context of the right choice: what a few-shot example shows */
		const size_t g = out->gold >= 0 && (size_t)out->gold < n ? (size_t)out->gold : 0;
		if (!(out->context = strdup(n ? out->contexts[g] : "")))
			rc = mrl_err_set(err, MRL_ENOMEM, "out of memory rendering a template");
	}
out:
	if (rc) {
		mrl_err_prefix(err, "task '%s' item '%s' (%s)", t->id, it->id, lang);
		task_prompt_release(out);
		out->gold = -1;
	}
	return rc;
}
