/* db_runs.c — runs, baselines and bench records in the history database
 * (db.h). A run is stored whole: results.json as its text (what `db show`
 * prints, byte for byte), run.json, every item record as the JSON line
 * items.jsonl holds, plus columns to query (manifest fields, aggregates, each
 * item's verdicts and log-likelihoods). Loading parses the texts back through
 * the records' own readers, so a stored run is checked like a folder.
 */
#include "records/db_int.h"
#include "records/rec_int.h"

#include "common/fileio.h"
#include "common/sha256.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static void bind_text(sqlite3_stmt *st, int i, const char *s)
{
	if (s)
		sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(st, i);
}

static void bind_real(sqlite3_stmt *st, int i, double v)
{
	if (v == v)
		sqlite3_bind_double(st, i, v);
	else
		sqlite3_bind_null(st, i); /* NaN: not available */
}

/* Step an INSERT/UPDATE to done and reset it; rec_db_fail otherwise. */
static int step_done(struct rec_db *db, sqlite3_stmt *st, const char *what, struct mrl_err *err)
{
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc == SQLITE_DONE ? 0 : rec_db_fail(db, rc, what, err);
}

/* The parts of a run folder that go into the database. */
struct run_files {
	char *results_text, *run_json_text;
	struct rec_run run;
	char added[32];
};

static int read_run_files(const char *dir, struct run_files *f, char id[REC_DB_ID_LEN + 1], struct mrl_err *err)
{
	struct stat sb;
	char path[PATH_MAX + 16];
	size_t len;
	memset(f, 0, sizeof *f);
	rec_results_init(&f->run.results);
	if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
		return mrl_err_set(err, MRL_EIO, "%s: no such run folder", dir);
	snprintf(path, sizeof path, "%s/results.json", dir);
	int rc = mrl_read_file(path, REC_RESULTS_MAX_BYTES, &f->results_text, &len, err);
	if (rc)
		return rc;
	mrl_sha256_buf_hex(f->results_text, len, id);
	if ((rc = rec_run_load(dir, REC_RUN_RESULTS | REC_RUN_ITEMS_IF_PRESENT, &f->run, err)))
		return rc;
	if (f->run.items.truncated_tail)
		return mrl_err_set(err, MRL_EINPUT, "%s: line %zu is truncated (a killed run?); finish it with --resume first",
				   f->run.items_path, f->run.items.tail_line);
	if (stat(f->run.json_path, &sb) == 0 && (rc = mrl_read_file(f->run.json_path, REC_RESULTS_MAX_BYTES,
								     &f->run_json_text, NULL, err)))
		return rc;
	if ((rc = rec_run_read_bench(dir, &f->run, err)))
		return rc;
	rec_utc_now_iso8601(f->added, sizeof f->added);
	return 0;
}

static void run_files_release(struct run_files *f)
{
	free(f->results_text);
	free(f->run_json_text);
	rec_run_release(&f->run);
}

static int insert_run_row(struct rec_db *db, const char *dir, const char *id, const struct run_files *f,
			  struct mrl_err *err)
{
	static const char sql[] =
		"INSERT INTO runs(id, dir, name, model_name, model_path, model_sha256, suite_name, suite_sha256,"
		" started_utc, ended_utc, git_commit, hostname, settings_json, added_utc, results_json, run_json,"
		" has_items, n_items, bench_json) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18,?19)";
	const struct rec_results *r = &f->run.results;
	const struct rec_manifest *m = &r->manifest;
	sqlite3_stmt *st;
	int rc = rec_db_prepare(db, sql, &st, err);
	if (rc)
		return rc;
	json_t *settings = rec_settings_to_json(&r->settings);
	char *settings_text = settings ? json_dumps(settings, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	json_decref(settings);
	const char *slash = strrchr(dir, '/');
	bind_text(st, 1, id);
	bind_text(st, 2, dir);
	bind_text(st, 3, slash && slash[1] ? slash + 1 : dir);
	bind_text(st, 4, r->model.name);
	bind_text(st, 5, r->model.path ? r->model.path : m->model_path);
	bind_text(st, 6, r->model.sha256 ? r->model.sha256 : m->model_sha256);
	bind_text(st, 7, r->suite.name);
	bind_text(st, 8, r->suite.sha256 ? r->suite.sha256 : m->suite_sha256);
	bind_text(st, 9, m->started_utc);
	bind_text(st, 10, m->ended_utc);
	bind_text(st, 11, m->git_commit);
	bind_text(st, 12, m->hostname);
	bind_text(st, 13, settings_text);
	bind_text(st, 14, f->added);
	bind_text(st, 15, f->results_text);
	bind_text(st, 16, f->run_json_text);
	sqlite3_bind_int(st, 17, f->run.have_items && f->run.items.n > 0); /* an empty items.jsonl is none */
	sqlite3_bind_int64(st, 18, (sqlite3_int64)f->run.items.n);
	bind_text(st, 19, f->run.bench_text);
	rc = step_done(db, st, "adding the run", err);
	free(settings_text);
	sqlite3_finalize(st);
	return rc;
}

static int insert_aggregates(struct rec_db *db, const char *id, const struct rec_results *r, struct mrl_err *err)
{
	sqlite3_stmt *st;
	int rc = rec_db_prepare(db, "INSERT OR REPLACE INTO aggregates(run_id, task, language, metric, n, value, std_err,"
				" ci_low, ci_high) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9)", &st, err);
	for (size_t a = 0; !rc && a < r->n_aggregates; a++)
		for (size_t k = 0; !rc && k < r->aggregates[a].n_metrics; k++) {
			const struct rec_metric_value *mv = &r->aggregates[a].metrics[k];
			bind_text(st, 1, id);
			bind_text(st, 2, r->aggregates[a].task);
			bind_text(st, 3, r->aggregates[a].language);
			bind_text(st, 4, mv->name);
			sqlite3_bind_int64(st, 5, mv->n >= 0 ? mv->n : r->aggregates[a].n); /* the metric's own items */
			bind_real(st, 6, mv->value);
			bind_real(st, 7, mv->std_err);
			bind_real(st, 8, mv->ci_low);
			bind_real(st, 9, mv->ci_high);
			rc = step_done(db, st, "adding aggregates", err);
		}
	sqlite3_finalize(st);
	return rc;
}

/* One item: its row (with the record's JSON line and the choices' log-likelihoods) and its verdicts. */
static int insert_item(struct rec_db *db, sqlite3_stmt *si, sqlite3_stmt *sm, const char *id, int64_t seq,
		       const struct rec_item *it, struct mrl_err *err)
{
	json_t *j = rec_item_to_json(it), *ll = json_array();
	char *line = j ? json_dumps(j, DUMP_FLAGS_COMPACT) : NULL, *ll_text = NULL;
	for (size_t c = 0; ll && c < it->n_choices; c++)
		json_array_append_new(ll, it->choices[c].loglik == it->choices[c].loglik
						  ? json_real(it->choices[c].loglik) : json_null());
	ll_text = ll ? json_dumps(ll, DUMP_FLAGS_COMPACT) : NULL;
	json_decref(j);
	json_decref(ll);
	int rc = 0;
	if (!line || !ll_text)
		rc = mrl_err_set(err, MRL_ENOMEM, "%s: out of memory", db->path);
	if (!rc) {
		bind_text(si, 1, id);
		sqlite3_bind_int64(si, 2, seq);
		bind_text(si, 3, it->task);
		bind_text(si, 4, it->language);
		bind_text(si, 5, it->item_id);
		sqlite3_bind_int64(si, 6, it->gold_index);
		bind_text(si, 7, ll_text);
		bind_text(si, 8, line);
		rc = step_done(db, si, "adding items", err);
	}
	for (size_t k = 0; !rc && k < it->n_metrics; k++) {
		const struct rec_item_metric *m = &it->metrics[k];
		bind_text(sm, 1, id);
		sqlite3_bind_int64(sm, 2, seq);
		bind_text(sm, 3, m->metric);
		sqlite3_bind_int64(sm, 4, m->pred_index);
		sqlite3_bind_int(sm, 5, m->correct);
		bind_real(sm, 6, m->value);
		rc = step_done(db, sm, "adding item verdicts", err);
	}
	free(line);
	free(ll_text);
	return rc;
}

static int insert_items(struct rec_db *db, const char *id, const struct rec_items *items, struct mrl_err *err)
{
	sqlite3_stmt *si = NULL, *sm = NULL;
	int rc = rec_db_prepare(db, "INSERT INTO items(run_id, seq, task, language, item_id, gold_index, logliks_json,"
				" record_json) VALUES(?1,?2,?3,?4,?5,?6,?7,?8)", &si, err);
	if (!rc)
		rc = rec_db_prepare(db, "INSERT OR REPLACE INTO item_metrics(run_id, seq, metric, pred_index, correct, value)"
				    " VALUES(?1,?2,?3,?4,?5,?6)", &sm, err);
	for (size_t i = 0; !rc && i < items->n; i++)
		rc = insert_item(db, si, sm, id, (int64_t)i + 1, &items->items[i], err);
	sqlite3_finalize(si);
	sqlite3_finalize(sm);
	return rc;
}

/* 0: the run id is not stored; 1: it is; 2: it is, without items (none, or an
 * empty items.jsonl stored by a version before 2026-12-06); < 0 on error. */
static int have_run(struct rec_db *db, const char *id, struct mrl_err *err)
{
	sqlite3_stmt *st;
	int rc = rec_db_prepare(db, "SELECT has_items AND n_items > 0 FROM runs WHERE id = ?1", &st, err);
	if (rc)
		return rc;
	bind_text(st, 1, id);
	int s = sqlite3_step(st);
	const bool items = s == SQLITE_ROW && sqlite3_column_int(st, 0) != 0;
	sqlite3_finalize(st);
	if (s == SQLITE_ROW)
		return items ? 1 : 2;
	return s == SQLITE_DONE ? 0 : rec_db_fail(db, s, "looking up the run", err);
}

/* A run stored without items (its folder had no items.jsonl then) gets them
 * from a folder of the same results.json that has them. */
static int add_items_to(struct rec_db *db, const char *id, const struct run_files *f, struct mrl_err *err)
{
	sqlite3_stmt *st;
	int rc = rec_db_prepare(db, "UPDATE runs SET has_items = 1, n_items = ?2 WHERE id = ?1", &st, err);
	if (rc)
		return rc;
	bind_text(st, 1, id);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)f->run.items.n);
	rc = step_done(db, st, "adding the run's items", err);
	sqlite3_finalize(st);
	return rc ? rc : insert_items(db, id, &f->run.items, err);
}

int rec_db_add_run(struct rec_db *db, const char *dir, rec_db_txn_hook hook, void *hook_arg,
		   char id[REC_DB_ID_LEN + 1], struct mrl_err *err)
{
	struct run_files f;
	id[0] = '\0';
	int rc = read_run_files(dir, &f, id, err);
	if (rc)
		goto out;
	if ((rc = rec_db_begin(db, err)))
		goto out;
	rc = have_run(db, id, err);
	if (rc == 2 && f.run.have_items && f.run.items.n) {
		if ((rc = add_items_to(db, id, &f, err)))
			goto fail;
		rc = REC_DB_ITEMS_ADDED;
	} else if (rc) {
		rc = rc < 0 ? rc : REC_DB_ALREADY; /* already there: nothing to write */
		goto fail;
	} else if ((rc = insert_run_row(db, dir, id, &f, err)) || (rc = insert_aggregates(db, id, &f.run.results, err)) ||
		   (rc = insert_items(db, id, &f.run.items, err)))
		goto fail;
	const int added = rc;
	if (hook)
		hook(hook_arg);
	rc = rec_db_commit(db, err);
	rc = rc ? rc : added;
	goto out;
fail:
	rec_db_rollback(db);
out:
	run_files_release(&f);
	return rc;
}

/* ------------------------------------------------------------ reading */

void rec_db_run_infos_free(struct rec_db_run_info *infos, size_t n)
{
	for (size_t i = 0; infos && i < n; i++) {
		free(infos[i].dir);
		free(infos[i].model_name);
		free(infos[i].model_sha256);
		free(infos[i].suite_name);
		free(infos[i].started_utc);
		free(infos[i].added_utc);
		free(infos[i].baselines);
	}
	free(infos);
}

int rec_db_list(struct rec_db *db, const char *model, const char *suite, struct rec_db_run_info **out, size_t *n,
		struct mrl_err *err)
{
	*out = NULL;
	*n = 0;
	sqlite3_stmt *st;
	int rc = rec_db_prepare(db, "SELECT id, dir, coalesce(model_name, model_path), model_sha256, suite_name,"
				" started_utc, added_utc, n_items, (SELECT group_concat(name, ',') FROM (SELECT name FROM baselines"
				" WHERE run_id = runs.id ORDER BY name)) FROM runs WHERE (?1 IS NULL OR instr(model_name, ?1) > 0"
				" OR instr(model_path, ?1) > 0) AND (?2 IS NULL OR suite_name = ?2) ORDER BY rowid", &st, err);
	if (rc)
		return rc;
	bind_text(st, 1, model);
	bind_text(st, 2, suite);
	size_t cap = 0;
	bool oom = false;
	int s;
	while ((s = sqlite3_step(st)) == SQLITE_ROW && !oom) {
		if (*n == cap) {
			struct rec_db_run_info *grown = realloc(*out, (cap = cap ? 2 * cap : 16) * sizeof **out);
			if (!grown) {
				oom = true;
				break;
			}
			*out = grown;
		}
		struct rec_db_run_info *ri = &(*out)[(*n)++];
		memset(ri, 0, sizeof *ri);
		snprintf(ri->id, sizeof ri->id, "%s", (const char *)sqlite3_column_text(st, 0));
		ri->dir = rec_db_col_dup(st, 1, &oom);
		ri->model_name = rec_db_col_dup(st, 2, &oom);
		ri->model_sha256 = rec_db_col_dup(st, 3, &oom);
		ri->suite_name = rec_db_col_dup(st, 4, &oom);
		ri->started_utc = rec_db_col_dup(st, 5, &oom);
		ri->added_utc = rec_db_col_dup(st, 6, &oom);
		ri->n_items = sqlite3_column_int64(st, 7);
		ri->baselines = rec_db_col_dup(st, 8, &oom);
	}
	sqlite3_finalize(st);
	if (oom)
		return mrl_err_set(err, MRL_ENOMEM, "%s: out of memory", db->path);
	return s == SQLITE_DONE || s == SQLITE_ROW ? 0 : rec_db_fail(db, s, "listing runs", err);
}

/* The ids that match sql with ?1 = arg: 0 none, 1 one (into id), 2 several. */
static int match_ids(struct rec_db *db, const char *sql, const char *arg, char id[REC_DB_ID_LEN + 1],
		     struct mrl_err *err)
{
	sqlite3_stmt *st;
	int rc = rec_db_prepare(db, sql, &st, err), n = 0, s;
	if (rc)
		return rc;
	bind_text(st, 1, arg);
	while (n < 2 && (s = sqlite3_step(st)) == SQLITE_ROW)
		if (n++ == 0)
			snprintf(id, REC_DB_ID_LEN + 1, "%s", (const char *)sqlite3_column_text(st, 0));
	if (n < 2 && s != SQLITE_DONE)
		n = rec_db_fail(db, s, "looking up the run", err);
	sqlite3_finalize(st);
	return n;
}

int rec_db_resolve(struct rec_db *db, const char *ref, char id[REC_DB_ID_LEN + 1], struct mrl_err *err)
{
	size_t len = strlen(ref), hex = strspn(ref, "0123456789abcdef");
	char real[PATH_MAX];
	int n = 0;
	if (len >= REC_DB_MIN_PREFIX && hex == len && (n = match_ids(db, "SELECT id FROM runs WHERE substr(id, 1, length(?1)) = ?1",
						     ref, id, err)) != 0)
		goto done;
	if ((n = match_ids(db, "SELECT id FROM runs WHERE dir = ?1", ref, id, err)) != 0)
		goto done;
	if (realpath(ref, real) && (n = match_ids(db, "SELECT id FROM runs WHERE dir = ?1", real, id, err)) != 0)
		goto done;
	n = match_ids(db, "SELECT id FROM runs WHERE name = ?1", ref, id, err);
done:
	if (n < 0)
		return n;
	if (n == 0 && len && hex == len && len < REC_DB_MIN_PREFIX)
		return mrl_err_set(err, MRL_EINPUT, "%s: no run '%s': a run id prefix needs at least %d hex digits "
				   "(see merilo db list)", db->path, ref, REC_DB_MIN_PREFIX);
	if (n == 0)
		return mrl_err_set(err, MRL_EINPUT, "%s: no run '%s' (see merilo db list)", db->path, ref);
	if (n > 1)
		return mrl_err_set(err, MRL_EINPUT, "%s: '%s' names several runs; give more of the run id", db->path, ref);
	return 0;
}

/* Row of run id from sql (?1 = id) into *st, stepped to it; MRL_EINPUT when absent. */
static int run_row(struct rec_db *db, const char *sql, const char *id, sqlite3_stmt **st, struct mrl_err *err)
{
	int rc = rec_db_prepare(db, sql, st, err);
	if (rc)
		return rc;
	bind_text(*st, 1, id);
	int s = sqlite3_step(*st);
	if (s == SQLITE_ROW)
		return 0;
	sqlite3_finalize(*st);
	*st = NULL;
	if (s == SQLITE_DONE)
		return mrl_err_set(err, MRL_EINPUT, "%s: no run %.16s", db->path, id);
	return rec_db_fail(db, s, "reading the run", err);
}

int rec_db_results_text(struct rec_db *db, const char *id, char **text, struct mrl_err *err)
{
	sqlite3_stmt *st;
	bool oom = false;
	*text = NULL;
	int rc = run_row(db, "SELECT results_json FROM runs WHERE id = ?1", id, &st, err);
	if (rc)
		return rc;
	*text = rec_db_col_dup(st, 0, &oom);
	sqlite3_finalize(st);
	return oom ? mrl_err_set(err, MRL_ENOMEM, "out of memory") : 0;
}

static int load_items(struct rec_db *db, const char *id, const char *where, struct rec_items *items,
		      struct mrl_err *err)
{
	sqlite3_stmt *st;
	int rc = rec_db_prepare(db, "SELECT seq, record_json FROM items WHERE run_id = ?1 ORDER BY seq", &st, err), s;
	if (rc)
		return rc;
	bind_text(st, 1, id);
	size_t cap = 0;
	while (!rc && (s = sqlite3_step(st)) == SQLITE_ROW) {
		char at[PATH_MAX + 160];
		snprintf(at, sizeof at, "%s item %lld", where, (long long)sqlite3_column_int64(st, 0));
		json_error_t je;
		json_t *j = json_loads((const char *)sqlite3_column_text(st, 1), JSON_REJECT_DUPLICATES, &je);
		if (items->n == cap) {
			struct rec_item *grown = realloc(items->items, (cap = cap ? 2 * cap : 64) * sizeof *grown);
			if (!grown) {
				json_decref(j);
				rc = mrl_err_set(err, MRL_ENOMEM, "out of memory");
				break;
			}
			items->items = grown;
		}
		if (!j)
			rc = mrl_err_set(err, MRL_EINPUT, "%s: not valid JSON: %s", at, je.text);
		else if ((rc = rec_item_from_json(j, &items->items[items->n], at, err)))
			rec_item_release(&items->items[items->n]); /* what it read before failing */
		else
			items->items[items->n++].line = (size_t)sqlite3_column_int64(st, 0);
		json_decref(j);
	}
	if (!rc && s != SQLITE_DONE)
		rc = rec_db_fail(db, s, "reading items", err);
	sqlite3_finalize(st);
	return rc;
}

static int set_paths(struct rec_run *run, const char *dir)
{
	size_t size = sizeof run->dir;
	return (size_t)snprintf(run->dir, size, "%s", dir) >= size ||
	       (size_t)snprintf(run->results_path, size, "%s/results.json", dir) >= size ||
	       (size_t)snprintf(run->items_path, size, "%s/items.jsonl", dir) >= size ||
	       (size_t)snprintf(run->json_path, size, "%s/run.json", dir) >= size;
}

int rec_db_load_run(struct rec_db *db, const char *id, unsigned parts, struct rec_run *run, struct mrl_err *err)
{
	memset(run, 0, sizeof *run);
	rec_results_init(&run->results);
	sqlite3_stmt *st;
	int rc = run_row(db, "SELECT dir, results_json, run_json, has_items, bench_json FROM runs WHERE id = ?1", id, &st,
			 err);
	if (rc)
		return rc;
	char where[PATH_MAX + 64];
	snprintf(where, sizeof where, "%s: run %.16s", db->path, id);
	json_error_t je;
	if (set_paths(run, (const char *)sqlite3_column_text(st, 0)))
		rc = mrl_err_set(err, MRL_EINPUT, "%s: folder path too long", where);
	if (!rc && (parts & REC_RUN_RESULTS)) {
		json_t *j = json_loads((const char *)sqlite3_column_text(st, 1), JSON_REJECT_DUPLICATES, &je);
		rc = j ? rec_results_from_json(j, &run->results, where, err)
		       : mrl_err_set(err, MRL_EINPUT, "%s: results.json: not valid JSON: %s", where, je.text);
		json_decref(j);
	}
	if (!rc && (parts & REC_RUN_JSON)) {
		const char *t = (const char *)sqlite3_column_text(st, 2);
		if (!t || !(run->run_json = json_loads(t, JSON_REJECT_DUPLICATES, &je)))
			rc = mrl_err_set(err, MRL_EINPUT, "%s: run.json: %s", where, t ? je.text : "not recorded");
	}
	if (!rc && (parts & REC_RUN_BENCH) && sqlite3_column_text(st, 4)) {
		bool oom = false;
		run->bench_text = rec_db_col_dup(st, 4, &oom);
		run->bench_len = run->bench_text ? strlen(run->bench_text) : 0;
		snprintf(run->bench_path, sizeof run->bench_path, "%.4000s: bench record", where);
		if (oom)
			rc = mrl_err_set(err, MRL_ENOMEM, "%s: out of memory", where);
	}
	bool has_items = sqlite3_column_int(st, 3) != 0;
	sqlite3_finalize(st);
	if (!rc && (parts & REC_RUN_ITEMS) && !has_items)
		rc = mrl_err_set(err, MRL_EINPUT, "%s: the run was added without items.jsonl", where);
	if (!rc && has_items && (parts & (REC_RUN_ITEMS | REC_RUN_ITEMS_IF_PRESENT))) {
		run->have_items = true;
		rc = load_items(db, id, where, &run->items, err);
	}
	return rc;
}

int rec_db_run_ids(struct rec_db *db, char (**ids)[REC_DB_ID_LEN + 1], size_t *n, struct mrl_err *err)
{
	struct rec_db_run_info *infos;
	*ids = NULL;
	int rc = rec_db_list(db, NULL, NULL, &infos, n, err);
	if (!rc && *n && !(*ids = malloc(*n * sizeof **ids)))
		rc = mrl_err_set(err, MRL_ENOMEM, "out of memory");
	for (size_t i = 0; !rc && i < *n; i++)
		memcpy((*ids)[i], infos[i].id, sizeof infos[i].id);
	rec_db_run_infos_free(infos, *n);
	return rc;
}

/* ------------------------------------------------------------ baselines, bench */

int rec_db_baseline_set(struct rec_db *db, const char *name, const char *id, struct mrl_err *err)
{
	char now[32];
	sqlite3_stmt *st;
	rec_utc_now_iso8601(now, sizeof now);
	int rc = rec_db_prepare(db, "INSERT OR REPLACE INTO baselines(name, run_id, set_utc) VALUES(?1, ?2, ?3)", &st, err);
	if (rc)
		return rc;
	bind_text(st, 1, name);
	bind_text(st, 2, id);
	bind_text(st, 3, now);
	rc = step_done(db, st, "setting the baseline", err);
	sqlite3_finalize(st);
	return rc;
}

int rec_db_baseline_get(struct rec_db *db, const char *name, char id[REC_DB_ID_LEN + 1], struct mrl_err *err)
{
	int n = match_ids(db, "SELECT run_id FROM baselines WHERE name = ?1", name, id, err);
	if (n < 0)
		return n;
	return n ? 0 : mrl_err_set(err, MRL_EINPUT, "%s: no baseline '%s' (merilo db baseline set NAME RUN)", db->path, name);
}

int rec_db_add_bench(struct rec_db *db, const char *json_text, const char *label, int64_t *row_id,
		     struct mrl_err *err)
{
	json_error_t je;
	json_t *j = json_loads(json_text, 0, &je);
	if (!j)
		return mrl_err_set(err, MRL_EINPUT, "%s: bench record: not valid JSON: %s", db->path, je.text);
	const json_t *m = json_object_get(j, "manifest");
	char now[32];
	sqlite3_stmt *st;
	rec_utc_now_iso8601(now, sizeof now);
	int rc = rec_db_prepare(db, "INSERT INTO bench(added_utc, label, git_commit, hostname, record_json)"
				" VALUES(?1, ?2, ?3, ?4, ?5)", &st, err);
	if (!rc) {
		bind_text(st, 1, now);
		bind_text(st, 2, label);
		bind_text(st, 3, json_string_value(json_object_get(json_object_get(m, "merilo"), "git_commit")));
		bind_text(st, 4, json_string_value(json_object_get(json_object_get(m, "host"), "hostname")));
		bind_text(st, 5, json_text);
		rc = step_done(db, st, "adding the bench record", err);
		sqlite3_finalize(st);
	}
	json_decref(j);
	if (!rc && row_id)
		*row_id = sqlite3_last_insert_rowid(db->h);
	return rc;
}

int rec_db_bench_last(struct rec_db *db, const char *label, size_t n, char ***texts, size_t *n_out,
		      struct mrl_err *err)
{
	sqlite3_stmt *st;
	*texts = NULL;
	*n_out = 0;
	int rc = rec_db_prepare(db, "SELECT record_json FROM bench WHERE ?1 IS NULL OR label = ?1 ORDER BY id DESC"
				" LIMIT ?2", &st, err), s = SQLITE_DONE;
	if (rc)
		return rc;
	bind_text(st, 1, label);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)n);
	bool oom = !(*texts = calloc(n ? n : 1, sizeof **texts));
	while (!oom && (s = sqlite3_step(st)) == SQLITE_ROW)
		if ((*texts)[*n_out] = rec_db_col_dup(st, 0, &oom), !oom)
			(*n_out)++;
	sqlite3_finalize(st);
	if (oom)
		return mrl_err_set(err, MRL_ENOMEM, "out of memory");
	return s == SQLITE_DONE ? 0 : rec_db_fail(db, s, "reading bench records", err);
}
