/* record_json.c — the JSON writing helpers every record shares: doubles that
 * JSON cannot hold (NaN -> null, +-inf -> "inf"/"-inf"), counts where -1 means
 * unset, strings repaired to valid UTF-8, string lists, and the schema check
 * of a record's reader. Reading goes through common/json's typed getters.
 */
#include "records/rec_int.h"

#include "common/utf8.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------- JSON writers */

json_t *rec_json_real(double v)
{
	if (isnan(v))
		return json_null();
	if (isinf(v))
		return json_string(v > 0 ? "inf" : "-inf");
	return json_real(v);
}

json_t *rec_json_count(int64_t v)
{
	return v < 0 ? json_null() : json_integer((json_int_t)v);
}

json_t *rec_json_string(const char *s)
{
	if (!s)
		return json_null();
	json_t *j = json_string(s);
	if (j)
		return j;
	/* not valid UTF-8: replace each bad byte with U+FFFD */
	size_t len = strlen(s);
	if (len > (SIZE_MAX - 1) / 3)
		return NULL;
	char *fixed = malloc(3 * len + 1), *o = fixed;
	if (!fixed)
		return NULL;
	for (size_t i = 0; i < len;) {
		size_t n = mrl_utf8_decode(s + i, len - i, NULL);
		if (n) {
			memcpy(o, s + i, n);
			o += n;
			i += n;
		} else {
			memcpy(o, "\xEF\xBF\xBD", 3);
			o += 3;
			i++;
		}
	}
	*o = '\0';
	j = json_string(fixed);
	free(fixed);
	return j;
}

/* json_object_set_new that reports failure (including a NULL value) as 1. */
int rec_put(json_t *obj, const char *key, json_t *v)
{
	return json_object_set_new(obj, key, v) != 0;
}

json_t *rec_strlist_to_json(char *const *list, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; a && i < n; i++)
		if (json_array_append_new(a, rec_json_string(list[i]))) {
			json_decref(a);
			return NULL;
		}
	return a;
}

/* ------------------------------------------------------- results records */

char *rec_dup_or_null(const char *s, bool *oom)
{
	if (!s)
		return NULL;
	char *d = strdup(s);
	if (!d)
		*oom = true;
	return d;
}

int rec_strlist_add(char ***list, size_t *n, const char *s)
{
	char **grown = realloc(*list, (*n + 1) * sizeof *grown);
	if (!grown)
		return MRL_ENOMEM;
	*list = grown;
	if (!(grown[*n] = strdup(s)))
		return MRL_ENOMEM;
	(*n)++;
	return 0;
}

void rec_strlist_free(char **list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(list[i]);
	free(list);
}
