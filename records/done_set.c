/* done_set.c — the set of (task, item_id, language) already in items.jsonl,
 * which `merilo run --resume` skips: open addressing over FNV-1a hashes of
 * "task\0item\0language\0" keys.
 */
#include "records/rec_int.h"

#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ done set */

/* Open addressing; each key is one allocation "task\0item\0language\0". */
struct done_entry {
	uint64_t hash;
	char *key;
	size_t key_len;
};

struct rec_done_set {
	struct done_entry *slots;
	size_t cap, count; /* cap a power of two, count <= cap / 2 */
};

static uint64_t fnv1a(const char *s, size_t n, uint64_t h)
{
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 0x100000001b3ull;
	return h;
}

/* Pack the key into buf (malloc'd when *heap is set). */
static char *pack_key(const char *task, const char *item, const char *lang, size_t *len, char *stack, size_t stack_size)
{
	size_t a = strlen(task), b = strlen(item), c = strlen(lang);
	*len = a + b + c + 3;
	char *k = *len <= stack_size ? stack : malloc(*len);
	if (!k)
		return NULL;
	memcpy(k, task, a + 1);
	memcpy(k + a + 1, item, b + 1);
	memcpy(k + a + b + 2, lang, c + 1);
	return k;
}

static struct done_entry *find_slot(const struct rec_done_set *set, uint64_t hash, const char *key, size_t len)
{
	for (size_t i = hash & (set->cap - 1);; i = (i + 1) & (set->cap - 1)) {
		struct done_entry *e = &set->slots[i];
		if (!e->key || (e->hash == hash && e->key_len == len && !memcmp(e->key, key, len)))
			return e;
	}
}

static int grow(struct rec_done_set *set)
{
	size_t new_cap = set->cap ? set->cap * 2 : 64;
	struct done_entry *old = set->slots;
	size_t old_cap = set->cap;
	if (!(set->slots = calloc(new_cap, sizeof *set->slots))) {
		set->slots = old;
		return MRL_ENOMEM;
	}
	set->cap = new_cap;
	for (size_t i = 0; i < old_cap; i++)
		if (old[i].key)
			*find_slot(set, old[i].hash, old[i].key, old[i].key_len) = old[i];
	free(old);
	return 0;
}

int rec_done_set_add(struct rec_done_set *set, const char *task, const char *item_id, const char *language)
{
	if ((set->count + 1) * 2 > set->cap && grow(set))
		return MRL_ENOMEM;
	size_t len;
	char *key = pack_key(task, item_id, language, &len, NULL, 0);
	if (!key)
		return MRL_ENOMEM;
	uint64_t hash = fnv1a(key, len, 0xcbf29ce484222325ull);
	struct done_entry *e = find_slot(set, hash, key, len);
	if (e->key) {
		free(key);
		return 0;
	}
	*e = (struct done_entry){ hash, key, len };
	set->count++;
	return 0;
}

struct rec_done_set *rec_done_set_new(const struct rec_items *items)
{
	struct rec_done_set *set = calloc(1, sizeof *set);
	if (!set || grow(set))
		goto fail;
	for (size_t i = 0; items && i < items->n; i++)
		if (rec_done_set_add(set, items->items[i].task, items->items[i].item_id, items->items[i].language))
			goto fail;
	return set;
fail:
	rec_done_set_free(set);
	return NULL;
}

bool rec_done_set_has(const struct rec_done_set *set, const char *task, const char *item_id, const char *language)
{
	char stack[512];
	size_t len;
	char *key = pack_key(task, item_id, language, &len, stack, sizeof stack);
	if (!key)
		return false;
	uint64_t hash = fnv1a(key, len, 0xcbf29ce484222325ull);
	bool found = find_slot(set, hash, key, len)->key != NULL;
	if (key != stack)
		free(key);
	return found;
}

size_t rec_done_set_count(const struct rec_done_set *set)
{
	return set->count;
}

void rec_done_set_free(struct rec_done_set *set)
{
	if (!set)
		return;
	for (size_t i = 0; i < set->cap; i++)
		free(set->slots[i].key);
	free(set->slots);
	free(set);
}
