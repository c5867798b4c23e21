/* manifest.h — the manifest of a run: what was run, where and with what
 * (build, host, model and suite hashes, settings, UTC start and end), as
 * written into results.json's "manifest" and docs/results-format.md.
 * Collecting it from this machine is the harness's part (harness/manifest.h).
 * Every string is owned; a NULL string means unknown.
 */
#ifndef MRL_REC_MANIFEST_H
#define MRL_REC_MANIFEST_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

#define REC_MANIFEST_SCHEMA_VERSION 1

/* Where and how a run happened. Every string is owned; a NULL string means
 * unknown, and its *_null_reason (owned, or NULL) says why. */
struct rec_manifest {
	int schema_version;
	/* build */
	char *merilo_version, *git_commit, *compiler, *build_options;
	/* host */
	char *cpu_model, *cpu_model_null_reason;
	char *cpu_kernels;            /* the kernels taken (eng_cpu_kernels: "avx512 vnni gfni amx-int8"); NULL unknown */
	int64_t logical_cores;        /* online logical CPUs; -1 unknown */
	int64_t mem_total_bytes;      /* MemTotal; -1 unknown */
	char *kernel;                 /* "Linux 6.1.0-18-amd64 #1 SMP ..." (uname sysname release version) */
	char *machine;                /* uname machine, "x86_64" */
	char *hostname;
	char *gpu_name, *gpu_driver;  /* first NVIDIA GPU's model, driver version */
	int64_t gpu_count;            /* NVIDIA GPUs seen; 0 when none / no driver */
	char *gpu_null_reason;        /* "no NVIDIA driver" (/proc/driver/nvidia absent) */
	/* the command line as given, argv[0] written "merilo": an array of strings; NULL (absent)
	 * in records written before it. A resumed run keeps its first session's here and puts the
	 * session that finished it in resumed_argv (NULL otherwise) */
	json_t *argv, *resumed_argv;
	/* inputs: the paths as typed, and resolved (realpath) when the record was made; NULL unknown */
	char *model_path, *model_abs_path;
	int64_t model_size_bytes;     /* -1 when there is no model */
	char *model_sha256;           /* lowercase hex */
	char *suite_path, *suite_abs_path;
	char *suite_sha256;
	json_t *settings;             /* an object: every setting and seed; owned reference, may be NULL */
	/* time, ISO 8601 UTC with seconds ("2025-05-01T12:34:56Z"); ended_utc NULL while running */
	char *started_utc, *ended_utc;
	/* a run merged from shards (merilo merge, run --mpi): one object per shard,
	 * {"index", "count", "hostname", "started_utc", "ended_utc"}; NULL (absent) otherwise */
	json_t *shards;
};

/* Set ended_utc to now (replacing any previous value). Returns 0 or MRL_ENOMEM. */
int rec_manifest_finish(struct rec_manifest *m, struct mrl_err *err);

/* Serialize to a new JSON object (new reference: the caller json_decref()s it),
 * or NULL when out of memory. */
json_t *rec_manifest_to_json(const struct rec_manifest *m);

/* Parse j into m (zeroed first; release even on failure). where names the
 * source for messages ("results.json"); path is the JSON pointer of j ("/manifest"; see common/json.h).
 * Unknown schema versions and wrong types are MRL_EINPUT naming where and the field. */
int rec_manifest_from_json(const json_t *j, struct rec_manifest *m, const char *where, const char *path,
			   struct mrl_err *err);

/* Zero m and mark the counts unknown (-1), with the current schema version. */
void rec_manifest_init(struct rec_manifest *m);

/* Free everything m owns and zero it. */
void rec_manifest_release(struct rec_manifest *m);

/* Now as ISO 8601 UTC ("2025-05-01T12:34:56Z") into buf (at least 21 bytes). */
void rec_utc_now_iso8601(char *buf, size_t buf_size);

#endif
