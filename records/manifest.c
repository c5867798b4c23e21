/* manifest.c — the run manifest as a record: release, the end time, and the
 * record <-> JSON ("manifest" in results.json). A result means little without
 * knowing which build ran it, on what machine, on exactly which model and suite
 * bytes, with which settings and seeds; collecting those facts is the
 * harness's part (harness/manifest.c).
 */
#include "records/rec_int.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

void rec_utc_now_iso8601(char *buf, size_t buf_size)
{
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(buf, buf_size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void rec_manifest_release(struct rec_manifest *m)
{
	char **strings[] = { &m->merilo_version, &m->git_commit, &m->compiler, &m->build_options, &m->cpu_model,
			     &m->cpu_model_null_reason, &m->cpu_kernels, &m->kernel, &m->machine, &m->hostname, &m->gpu_name,
			     &m->gpu_driver, &m->gpu_null_reason, &m->model_path, &m->model_abs_path, &m->model_sha256,
			     &m->suite_path, &m->suite_abs_path, &m->suite_sha256, &m->started_utc, &m->ended_utc };
	for (size_t i = 0; i < sizeof strings / sizeof strings[0]; i++)
		free(*strings[i]);
	json_decref(m->settings);
	json_decref(m->shards);
	json_decref(m->argv);
	json_decref(m->resumed_argv);
	memset(m, 0, sizeof *m);
}

void rec_manifest_init(struct rec_manifest *m)
{
	memset(m, 0, sizeof *m);
	m->schema_version = REC_MANIFEST_SCHEMA_VERSION;
	m->logical_cores = m->mem_total_bytes = m->model_size_bytes = -1;
}

int rec_manifest_finish(struct rec_manifest *m, struct mrl_err *err)
{
	char now[32];
	rec_utc_now_iso8601(now, sizeof now);
	char *copy = strdup(now);
	if (!copy)
		return mrl_err_set(err, MRL_ENOMEM, "manifest: out of memory");
	free(m->ended_utc);
	m->ended_utc = copy;
	return 0;
}

/* ---------------------------------------------------------------- JSON */

json_t *rec_manifest_to_json(const struct rec_manifest *m)
{
	json_t *o = json_object(), *build = json_object(), *host = json_object(), *model = json_object(),
	       *suite = json_object();
	int bad = !o || !build || !host || !model || !suite;
	if (bad) {
		json_decref(o);
		json_decref(build);
		json_decref(host);
		json_decref(model);
		json_decref(suite);
		return NULL;
	}
	bad |= rec_put(build, "version", rec_json_string(m->merilo_version));
	bad |= rec_put(build, "git_commit", rec_json_string(m->git_commit));
	bad |= rec_put(build, "compiler", rec_json_string(m->compiler));
	bad |= rec_put(build, "build_options", rec_json_string(m->build_options));
	bad |= rec_put(host, "cpu_model", rec_json_string(m->cpu_model));
	bad |= rec_put(host, "cpu_model_null_reason", rec_json_string(m->cpu_model_null_reason));
	bad |= rec_put(host, "cpu_kernels", rec_json_string(m->cpu_kernels));
	bad |= rec_put(host, "logical_cores", rec_json_count(m->logical_cores));
	bad |= rec_put(host, "mem_total_bytes", rec_json_count(m->mem_total_bytes));
	bad |= rec_put(host, "kernel", rec_json_string(m->kernel));
	bad |= rec_put(host, "machine", rec_json_string(m->machine));
	bad |= rec_put(host, "hostname", rec_json_string(m->hostname));
	bad |= rec_put(host, "gpu_name", rec_json_string(m->gpu_name));
	bad |= rec_put(host, "gpu_driver", rec_json_string(m->gpu_driver));
	bad |= rec_put(host, "gpu_count", json_integer(m->gpu_count));
	bad |= rec_put(host, "gpu_null_reason", rec_json_string(m->gpu_null_reason));
	bad |= rec_put(model, "path", rec_json_string(m->model_path));
	if (m->model_abs_path) /* absent in records before it, and where the path did not resolve */
		bad |= rec_put(model, "abs_path", rec_json_string(m->model_abs_path)); /* realpath: not always UTF-8 */
	bad |= rec_put(model, "size_bytes", rec_json_count(m->model_size_bytes));
	bad |= rec_put(model, "sha256", rec_json_string(m->model_sha256));
	bad |= rec_put(suite, "path", rec_json_string(m->suite_path));
	if (m->suite_abs_path)
		bad |= rec_put(suite, "abs_path", rec_json_string(m->suite_abs_path));
	bad |= rec_put(suite, "sha256", rec_json_string(m->suite_sha256));
	bad |= rec_put(o, "schema_version", json_integer(m->schema_version ? m->schema_version : REC_MANIFEST_SCHEMA_VERSION));
	if (m->argv)
		bad |= rec_put(o, "argv", json_deep_copy(m->argv));
	if (m->resumed_argv)
		bad |= rec_put(o, "resumed_argv", json_deep_copy(m->resumed_argv));
	bad |= rec_put(o, "merilo", build);
	bad |= rec_put(o, "host", host);
	bad |= rec_put(o, "model", model);
	bad |= rec_put(o, "suite", suite);
	bad |= rec_put(o, "settings", m->settings ? json_deep_copy(m->settings) : json_null());
	bad |= rec_put(o, "started_utc", rec_json_string(m->started_utc));
	bad |= rec_put(o, "ended_utc", rec_json_string(m->ended_utc));
	if (m->shards)
		bad |= rec_put(o, "shards", json_deep_copy(m->shards));
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* An ISO 8601 UTC time as written by rec_utc_now_iso8601 (or null). */
static int check_utc(const char *s, const char *key, const char *where, const char *path, struct mrl_err *err)
{
	struct tm tm = { 0 };
	const char *end = s ? strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm) : "";
	char at[256];
	mrl_json_path_key(at, sizeof at, path, key);
	if (!end || *end)
		return mrl_err_set(err, MRL_EINPUT, "%s: %s: expected a UTC time like 2025-05-01T12:34:56Z, got \"%.40s\"",
				   where, at, s);
	return 0;
}

/* An optional array of strings (argv, resumed_argv) of j, into *out (borrowed; NULL when absent). */
static int get_argv(const json_t *j, const char *key, json_t **out, const char *where, const char *path,
		    struct mrl_err *err)
{
	int rc = mrl_json_get_array(j, key, MRL_JSON_OPTIONAL, out, where, path, err);
	size_t i;
	json_t *v;
	char at[256];
	json_array_foreach(rc ? NULL : *out, i, v)
		if (!json_is_string(v)) {
			mrl_json_path_key(at, sizeof at, path, key);
			return mrl_err_set(err, MRL_EINPUT, "%s: %s/%zu: expected a string", where, at, i);
		}
	return rc;
}

int rec_manifest_from_json(const json_t *j, struct rec_manifest *m, const char *where, const char *path,
			   struct mrl_err *err)
{
	const int str = MRL_JSON_OPTIONAL | MRL_JSON_NULLABLE;
	json_t *build, *host, *model, *suite, *settings = NULL, *shards = NULL, *argv = NULL, *resumed = NULL;
	char sub[256];
	int64_t version = 0, gpu_count = 0;
	int rc;
	rec_manifest_init(m);
	if (!json_is_object(j))
		return mrl_err_set(err, MRL_EINPUT, "%s: %s: expected an object", where, path);
	if ((rc = mrl_json_get_int(j, "schema_version", 0, &version, where, path, err)))
		return rc;
	mrl_json_path_key(sub, sizeof sub, path, "schema_version");
	if (version != REC_MANIFEST_SCHEMA_VERSION)
		return mrl_err_set(err, MRL_EUNSUPPORTED,
				   "%s: %s: unsupported manifest schema version %lld (this merilo reads version %d)", where,
				   sub, (long long)version, REC_MANIFEST_SCHEMA_VERSION);
	if ((rc = mrl_json_get_object(j, "merilo", 0, &build, where, path, err)) ||
	    (rc = mrl_json_get_object(j, "host", 0, &host, where, path, err)) ||
	    (rc = mrl_json_get_object(j, "model", 0, &model, where, path, err)) ||
	    (rc = mrl_json_get_object(j, "suite", 0, &suite, where, path, err)) ||
	    (rc = mrl_json_get_object(j, "settings", MRL_JSON_OPTIONAL | MRL_JSON_NULLABLE, &settings, where, path, err)) ||
	    (rc = mrl_json_get_array(j, "shards", MRL_JSON_OPTIONAL, &shards, where, path, err)) ||
	    (rc = get_argv(j, "argv", &argv, where, path, err)) || (rc = get_argv(j, "resumed_argv", &resumed, where, path, err)) ||
	    (rc = mrl_json_get_str(j, "started_utc", MRL_JSON_NULLABLE, &m->started_utc, where, path, err)) ||
	    (rc = mrl_json_get_str(j, "ended_utc", MRL_JSON_NULLABLE, &m->ended_utc, where, path, err)))
		return rc;
	if ((m->started_utc && (rc = check_utc(m->started_utc, "started_utc", where, path, err))) ||
	    (m->ended_utc && (rc = check_utc(m->ended_utc, "ended_utc", where, path, err))))
		return rc;
	mrl_json_path_key(sub, sizeof sub, path, "merilo");
	if ((rc = mrl_json_get_str(build, "version", str, &m->merilo_version, where, sub, err)) ||
	    (rc = mrl_json_get_str(build, "git_commit", str, &m->git_commit, where, sub, err)) ||
	    (rc = mrl_json_get_str(build, "compiler", str, &m->compiler, where, sub, err)) ||
	    (rc = mrl_json_get_str(build, "build_options", str, &m->build_options, where, sub, err)))
		return rc;
	mrl_json_path_key(sub, sizeof sub, path, "host");
	if ((rc = mrl_json_get_str(host, "cpu_model", str, &m->cpu_model, where, sub, err)) ||
	    (rc = mrl_json_get_str(host, "cpu_model_null_reason", str, &m->cpu_model_null_reason, where, sub, err)) ||
	    (rc = mrl_json_get_str(host, "cpu_kernels", str, &m->cpu_kernels, where, sub, err)) ||
	    (rc = mrl_json_get_int(host, "logical_cores", str, &m->logical_cores, where, sub, err)) ||
	    (rc = mrl_json_get_int(host, "mem_total_bytes", str, &m->mem_total_bytes, where, sub, err)) ||
	    (rc = mrl_json_get_str(host, "kernel", str, &m->kernel, where, sub, err)) ||
	    (rc = mrl_json_get_str(host, "machine", str, &m->machine, where, sub, err)) ||
	    (rc = mrl_json_get_str(host, "hostname", str, &m->hostname, where, sub, err)) ||
	    (rc = mrl_json_get_str(host, "gpu_name", str, &m->gpu_name, where, sub, err)) ||
	    (rc = mrl_json_get_str(host, "gpu_driver", str, &m->gpu_driver, where, sub, err)) ||
	    (rc = mrl_json_get_int(host, "gpu_count", MRL_JSON_OPTIONAL, &gpu_count, where, sub, err)) ||
	    (rc = mrl_json_get_str(host, "gpu_null_reason", str, &m->gpu_null_reason, where, sub, err)))
		return rc;
	m->gpu_count = gpu_count;
	mrl_json_path_key(sub, sizeof sub, path, "model");
	if ((rc = mrl_json_get_str(model, "path", str, &m->model_path, where, sub, err)) ||
	    (rc = mrl_json_get_str(model, "abs_path", str, &m->model_abs_path, where, sub, err)) ||
	    (rc = mrl_json_get_int(model, "size_bytes", str, &m->model_size_bytes, where, sub, err)) ||
	    (rc = mrl_json_get_str(model, "sha256", str, &m->model_sha256, where, sub, err)))
		return rc;
	mrl_json_path_key(sub, sizeof sub, path, "suite");
	if ((rc = mrl_json_get_str(suite, "path", str, &m->suite_path, where, sub, err)) ||
	    (rc = mrl_json_get_str(suite, "abs_path", str, &m->suite_abs_path, where, sub, err)) ||
	    (rc = mrl_json_get_str(suite, "sha256", str, &m->suite_sha256, where, sub, err)))
		return rc;
	if ((settings && !(m->settings = json_deep_copy(settings))) || (shards && !(m->shards = json_deep_copy(shards))) ||
	    (argv && !(m->argv = json_deep_copy(argv))) || (resumed && !(m->resumed_argv = json_deep_copy(resumed))))
		return mrl_err_set(err, MRL_ENOMEM, "%s: out of memory", where);
	return 0;
}
