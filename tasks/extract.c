/* extract.c — a generate task's "extract": the answer pulled out of a longer response
 * by a regular expression, as lm-evaluation-harness's regex filter does it (a model
 * that reasons first and ends with "Odgovor je (B)" is scored on "B").
 *
 *   "extract": {"regex": "Odgovor je \\(?([A-J])\\)?", "match": "first"}
 *
 * The pattern is PCRE2 (Perl syntax, UTF and Unicode properties on), one for every
 * language or an object of one per language ({"sr-Latn": "Odgovor je ...", "en":
 * "The answer is ..."}; a derived language without its own takes its source's, as
 * it is: a pattern is not transliterated); compiled once when the suite is loaded, a
 * bad one a validation problem at /extract/regex with its offset. The answer is the first match (or the last: "match": "last", lm-eval's
 * group_select -1), and of it the first capture group that matched something, or the
 * whole match where the pattern has no group (Python's re.findall, which lm-eval's
 * filter calls, gives the same), without surrounding whitespace. No match, or one
 * that is empty or only whitespace: no answer (lm-eval's "[invalid]"; it is wrong
 * either way).
 * A suite is untrusted input, so matching has a limit; a response that reaches it is
 * taken as having no match.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "tasks/suite_int.h"

#include <pcre2.h>
#include <stdlib.h>
#include <string.h>

#define EXTRACT_MATCH_LIMIT 10000000u
#define EXTRACT_DEPTH_LIMIT 100000u

/* Compile pattern for language li of t; a bad one is a problem at the current path. */
static void compile_for(struct walk *w, struct task_task *t, size_t li, const char *pattern)
{
	int code;
	PCRE2_SIZE at;
	pcre2_code *c = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED, PCRE2_UTF | PCRE2_UCP, &code, &at, NULL);
	if (!c) {
		PCRE2_UCHAR msg[256];
		pcre2_get_error_message(code, msg, sizeof msg);
		walk_problem(w, "not a regular expression: %s (at offset %zu)", (const char *)msg, (size_t)at);
		return;
	}
	t->extract_re[li] = c;
	t->extract_regex[li] = pattern;
}

/* One language's pattern of "regex" given per language: compiled where it is one. */
static bool compile_lang(struct walk *w, size_t li, json_t *v, void *task)
{
	if (!json_is_string(v) || !json_string_length(v)) {
		walk_problem(w, "expected a non-empty pattern, got %s", mrl_json_type_name(v));
		return false;
	}
	compile_for(w, task, li, json_string_value(v));
	return true;
}

void walk_get_extract(struct walk *w, json_t *tj, struct task_task *t)
{
	json_t *x = json_object_get(tj, "extract");
	if (!x)
		return;
	size_t old = walk_push_key(w, "extract");
	static const char *const keys[] = { "regex", "match", NULL };
	if (!json_is_object(x)) {
		walk_problem(w, "expected {\"regex\": PATTERN, \"match\": \"first\" or \"last\"}, got %s",
			     mrl_json_type_name(x));
		walk_pop(w, old);
		return;
	}
	walk_check_keys(w, x, keys, "\"extract\"");
	const char *match = walk_get_str(w, x, "match", false, true);
	if (match && strcmp(match, "first") && strcmp(match, "last")) {
		size_t o2 = walk_push_key(w, "match");
		walk_problem(w, "expected \"first\" or \"last\", got \"%s\"", match);
		walk_pop(w, o2);
	}
	t->extract_last = match && !strcmp(match, "last");
	json_t *re = json_object_get(x, "regex");
	t->extract_re = walk_calloc(w, t->n_langs, sizeof *t->extract_re);
	t->extract_regex = walk_calloc(w, t->n_langs, sizeof *t->extract_regex);
	size_t o2 = walk_push_key(w, "regex");
	if (!t->extract_re || !t->extract_regex)
		; /* w->oom is set */
	else if (json_is_string(re) && json_string_length(re))
		for (size_t li = 0; li < t->n_langs; li++)
			compile_for(w, t, li, json_string_value(re));
	else if (json_is_object(re))
		walk_per_language(w, t, re, compile_lang, t, "pattern");
	else
		walk_problem(w, "expected a pattern, or an object of a pattern per language, got %s",
			     re ? mrl_json_type_name(re) : "nothing");
	walk_pop(w, o2);
	walk_pop(w, old);
}

void task_extract_release(struct task_task *t)
{
	for (size_t li = 0; t->extract_re && li < t->n_langs; li++)
		pcre2_code_free(t->extract_re[li]);
	free(t->extract_re);
	free(t->extract_regex);
	t->extract_re = NULL;
	t->extract_regex = NULL;
}

const char *task_gen_extract_regex(const struct task_task *t, const char *lang)
{
	const int li = t->extract_regex ? task_language_index(t, lang) : -1;
	return li >= 0 ? t->extract_regex[li] : NULL;
}

bool task_gen_extract_last(const struct task_task *t) { return t->extract_last; }

/* The value of the match in md: its first capture group that matched a non-empty text, or
 * the whole match where the pattern has no group; *len 0 where every group is empty. */
static const char *match_value(const pcre2_code *re, pcre2_match_data *md, const char *text, size_t *len)
{
	PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
	uint32_t n_groups = 0;
	pcre2_pattern_info(re, PCRE2_INFO_CAPTURECOUNT, &n_groups);
	*len = 0;
	if (!n_groups) {
		*len = ov[1] - ov[0];
		return text + ov[0];
	}
	const uint32_t n_pairs = pcre2_get_ovector_count(md);
	for (uint32_t g = 1; g <= n_groups && g < n_pairs; g++)
		if (ov[2 * g] != PCRE2_UNSET && ov[2 * g + 1] > ov[2 * g]) {
			*len = ov[2 * g + 1] - ov[2 * g];
			return text + ov[2 * g];
		}
	return text;
}

/* A copy of s[0..n) without leading and trailing whitespace, or NULL on ENOMEM. */
static char *trimmed_copy(const char *s, size_t n)
{
	while (n && strchr(" \t\n\v\f\r", *s))
		s++, n--;
	while (n && strchr(" \t\n\v\f\r", s[n - 1]))
		n--;
	return strndup(s, n);
}

int task_gen_extract(const struct task_task *t, const char *lang, const char *text, char **out, const char **limit,
		     struct mrl_err *err)
{
	*out = NULL;
	if (limit)
		*limit = NULL;
	const int li = t->extract_re ? task_language_index(t, lang) : -1;
	pcre2_code *re = li >= 0 ? t->extract_re[li] : NULL;
	if (!re)
		return 0;
	pcre2_match_data *md = pcre2_match_data_create_from_pattern(re, NULL);
	pcre2_match_context *mc = pcre2_match_context_create(NULL);
	if (!md || !mc) {
		pcre2_match_data_free(md);
		pcre2_match_context_free(mc);
		return mrl_err_set(err, MRL_ENOMEM, "out of memory");
	}
	pcre2_set_match_limit(mc, EXTRACT_MATCH_LIMIT);
	pcre2_set_depth_limit(mc, EXTRACT_DEPTH_LIMIT);
	const size_t n = strlen(text);
	const char *value = NULL;
	size_t value_len = 0, at = 0;
	bool found = false;
	while (at <= n) {
		int rc = pcre2_match(re, (PCRE2_SPTR)text, n, at, 0, md, mc);
		if (rc < 0) { /* no (further) match, a limit reached, or text that is not UTF-8: no more answers */
			if (limit && (rc == PCRE2_ERROR_MATCHLIMIT || rc == PCRE2_ERROR_DEPTHLIMIT))
				*limit = rc == PCRE2_ERROR_MATCHLIMIT ? "match" : "depth";
			break;
		}
		found = true;
		value = match_value(re, md, text, &value_len);
		if (!t->extract_last)
			break;
		PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
		at = ov[1] > ov[0] ? ov[1] : ov[1] + 1; /* an empty match: step a character on */
		while (at < n && ((unsigned char)text[at] & 0xC0) == 0x80)
			at++;
	}
	int rc = 0;
	if (found && value_len && !(*out = trimmed_copy(value, value_len)))
		rc = mrl_err_set(err, MRL_ENOMEM, "out of memory");
	if (*out && !**out) { /* only whitespace: no answer */
		free(*out);
		*out = NULL;
	}
	pcre2_match_data_free(md);
	pcre2_match_context_free(mc);
	return rc;
}
