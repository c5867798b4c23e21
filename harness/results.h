/* results.h — merilo's result records: results.json, items.jsonl, the manifest.
 *
 * Every later part writes and reads these, so the format is versioned
 * (schema_version) and documented field by field in docs/results-format.md.
 *   - results.json: one run's summary (suite, model, engine, settings, aggregate
 *     metrics per task x language, paired comparisons between languages, and
 *     the manifest). Written whole, atomically (temp + fsync + rename).
 *   - items.jsonl: one line per item x language, appended in batches through an
 *     item writer that fsyncs on every flush, so that a killed run keeps what it
 *     computed. The reader tolerates (and reports) a truncated last line.
 *   - the manifest: what was run, where and with what (build, host, model and
 *     suite hashes, settings, UTC start/end), as a jansson json_t.
 *
 * All structs below own their strings (copied in, freed by the matching
 * _release). A double that is NaN means "not available" and is written as JSON
 * null; +-infinity are written as the strings "inf" / "-inf". Doubles are
 * printed with 17 significant digits, so a round trip is exact.
 */
#ifndef MRL_HRN_RESULTS_H
#define MRL_HRN_RESULTS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

#define HRN_RESULTS_SCHEMA_VERSION 1 /* results.json */
#define HRN_ITEMS_SCHEMA_VERSION 1   /* every line of items.jsonl */
#define HRN_MANIFEST_SCHEMA_VERSION 1

#define HRN_RESULTS_MAX_BYTES ((size_t)1 << 30)   /* reader's cap for results.json */
#define HRN_ITEMS_MAX_LINE_BYTES ((size_t)64 << 20) /* reader's cap for one items.jsonl line */

/* ---------------------------------------------------------------- manifest */

/* Where and how a run happened. Every string is owned; a NULL string means
 * unknown, and its *_null_reason (owned, or NULL) says why. */
struct hrn_manifest {
	int schema_version;
	/* build */
	char *merilo_version, *git_commit, *compiler, *build_options;
	/* host */
	char *cpu_model, *cpu_model_null_reason;
	int64_t logical_cores;        /* online logical CPUs; -1 unknown */
	int64_t mem_total_bytes;      /* MemTotal; -1 unknown */
	char *kernel;                 /* "Linux 6.1.0-18-amd64 #1 SMP ..." (uname sysname release version) */
	char *machine;                /* uname machine, "x86_64" */
	char *hostname;
	char *gpu_name, *gpu_driver;  /* first NVIDIA GPU's model, driver version */
	int64_t gpu_count;            /* NVIDIA GPUs seen; 0 when none / no driver */
	char *gpu_null_reason;        /* "no NVIDIA driver" (/proc/driver/nvidia absent) */
	/* inputs */
	char *model_path;
	int64_t model_size_bytes;     /* -1 when there is no model */
	char *model_sha256;           /* lowercase hex */
	char *suite_path;
	char *suite_sha256;
	json_t *settings;             /* an object: every setting and seed; owned reference, may be NULL */
	/* time, ISO 8601 UTC with seconds ("2025-05-01T12:34:56Z"); ended_utc NULL while running */
	char *started_utc, *ended_utc;
};

/* Fill m (zeroed first; release it with hrn_manifest_release even on failure):
 * build info, host info, started_utc = now, and for a non-NULL model_path /
 * suite_path their size and SHA-256 (through the hash cache, see
 * hrn_sha256_file_cached). settings (may be NULL) is deep-copied.
 * Host facts that cannot be read are left NULL with a reason, never an error;
 * a missing or unreadable model/suite is an error (MRL_EIO) naming the path. */
int hrn_manifest_collect(struct hrn_manifest *m, const char *model_path, const char *suite_path,
			 const json_t *settings, struct mrl_err *err);

/* Set ended_utc to now (replacing any previous value). Returns 0 or MRL_ENOMEM. */
int hrn_manifest_finish(struct hrn_manifest *m, struct mrl_err *err);

/* Serialize to a new JSON object (new reference: the caller json_decref()s it),
 * or NULL when out of memory. */
json_t *hrn_manifest_to_json(const struct hrn_manifest *m);

/* Parse j into m (zeroed first; release even on failure). where names the
 * source for messages ("results.json"); path is the JSON path of j ("$.manifest").
 * Unknown schema versions and wrong types are MRL_EINPUT naming where and the field. */
int hrn_manifest_from_json(const json_t *j, struct hrn_manifest *m, const char *where, const char *path,
			   struct mrl_err *err);

/* Free everything m owns and zero it. */
void hrn_manifest_release(struct hrn_manifest *m);

/* Now as ISO 8601 UTC ("2025-05-01T12:34:56Z") into buf (at least 21 bytes). */
void hrn_utc_now_iso8601(char *buf, size_t buf_size);

/* SHA-256 of a file through a cache keyed by (absolute path, size, mtime in ns,
 * inode, device), kept in <cache dir>/sha256.tsv where <cache dir> is
 * $MERILO_CACHE_DIR, else $XDG_CACHE_HOME/merilo, else $HOME/.cache/merilo.
 * A miss, a stale entry or a corrupt cache file just recomputes (1 MiB chunks)
 * and rewrites the cache atomically; failing to write the cache is not an error.
 * *size_out and *from_cache (either may be NULL) report the file size and
 * whether the cache answered. Returns 0 or MRL_EIO naming the path. */
int hrn_sha256_file_cached(const char *path, char hex[65], uint64_t *size_out, bool *from_cache,
			   struct mrl_err *err);

/* The same cache for bytes already in memory (a mapped model): lookup returns 1
 * and fills hex when the cache holds path with the size, mtime, inode and device
 * of st; store records hex under that key (best effort, failures are ignored).
 * The caller hashes on a miss, and stores only if the file did not change. */
struct stat;
int hrn_sha256_cache_lookup(const char *path, const struct stat *st, char hex[65]);
void hrn_sha256_cache_store(const char *path, const struct stat *st, const char hex[65]);

/* The cache directory that hrn_sha256_file_cached uses, into buf. Returns 0, or
 * -1 when none can be determined (no MERILO_CACHE_DIR, XDG_CACHE_HOME or HOME). */
int hrn_cache_dir(char *buf, size_t buf_size);

/* ----------------------------------------------------------- results.json */

/* One metric's estimate over a task x language. */
struct hrn_metric_value {
	char *name;       /* "acc", "acc_norm", "exact_match", ... */
	double value;
	double std_err;   /* standard error of value; NaN unknown */
	double ci_low, ci_high;
	double ci_level;  /* e.g. 0.95 */
	char *method;     /* how the CI was made: "bootstrap-percentile", "wilson", ... */
};

/* Aggregate metrics of one task in one language. */
struct hrn_aggregate {
	char *task, *language;
	int64_t n;                         /* items scored */
	struct hrn_metric_value *metrics;  /* n_metrics, in insertion order */
	size_t n_metrics;
};

/* A paired comparison of one metric between two languages of the same task,
 * over the items present in both. diff = metric(language_a) - metric(language_b). */
struct hrn_comparison {
	char *task, *language_a, *language_b, *metric;
	int64_t n_pairs;
	double diff, ci_low, ci_high, ci_level;
	char *method;                 /* CI method for diff: "paired-bootstrap", ... */
	int64_t mcnemar_b;            /* pairs correct in a, wrong in b */
	int64_t mcnemar_c;            /* pairs wrong in a, correct in b */
	double mcnemar_p;             /* two-sided exact p-value; NaN when not computed */
};

struct hrn_suite_info {
	char *name, *version, *path, *sha256;
};

struct hrn_model_info {
	char *path, *name, *arch;
	int64_t size_bytes;
	char *sha256;
};

struct hrn_engine_info {
	char *name;     /* "merilo" */
	char *version;  /* engine version, MRL_VERSION for the built-in engine */
	char *backend;  /* "cpu", "cuda" */
};

/* Every setting and seed of a run. Integers are -1 where a setting does not
 * apply (e.g. fewshot_seed with fewshot_k == 0); limit 0 means "all items". */
struct hrn_settings {
	char *bos_mode;          /* "auto", "always", "never" */
	int64_t threads;
	int64_t limit;           /* items per task and language; 0 = all */
	int64_t fewshot_k;
	int64_t fewshot_seed;
	int64_t seed;            /* run seed (bootstrap resampling etc.) */
	char **languages;        /* n_languages, owned */
	size_t n_languages;
	char **tasks;            /* n_tasks, owned */
	size_t n_tasks;
	json_t *extra;           /* any other settings: an object merged into "settings"; owned reference, may be NULL */
};

/* ------------------------------------------------- results.json: performance */

/* A measured figure, or null with the reason: value NaN = not available, and then
 * reason (owned) says why. Never 0 for "not measured". */
struct hrn_reading {
	char *name;    /* "PAPI_TOT_CYC", "user_s", "energy_j", ... */
	char *unit;    /* "J", "s", "bytes", "count", "cycles", ... */
	double value;  /* NaN: null */
	char *reason;  /* why null; NULL when valid */
};

/* Speed of one task in one language, from the item records (timings_ns and
 * tokens_computed of items.jsonl: every session of a resumed run). */
struct hrn_perf_lang {
	char *language;
	int64_t n_items;          /* items whose records have timings */
	int64_t tokens_computed;  /* sum of the items' tokens_computed; -1 when a record lacks it */
	int64_t tokens_cached;    /* sum of tokens_cached; -1 likewise */
	double score_s;           /* sum of timings_ns.score, seconds */
	double tokens_per_s;      /* tokens_computed / score_s; NaN when unknown */
	double item_ms_mean, item_ms_median, item_ms_p90; /* timings_ns.total, ms; NaN when none */
};

/* The process-level figures of one task's window in this session: energy, counters,
 * getrusage, peak RSS. Languages are interleaved item by item, so this is per task. */
struct hrn_perf_window {
	bool present;             /* false: no item of the task was scored in this session */
	char *absent_reason;      /* why not present (owned) */
	int64_t n_items;          /* items scored in the window */
	double seconds;           /* wall time of the window */
	struct hrn_reading energy_j;          /* gross energy of the chosen source over the window */
	struct hrn_reading energy_per_item_j; /* energy_j / n_items */
	char *energy_source;      /* "<method> <name> (<scope>)"; NULL when none */
	struct hrn_reading peak_rss;          /* VmHWM at the end of the window, bytes */
	char *peak_rss_since;     /* "task start" (VmHWM reset) or "process start" */
	char *counters_status;    /* met_counter_values.status */
	struct hrn_reading *counters;         /* n_counters, PAPI events in list order */
	size_t n_counters;
	struct hrn_reading *usage;            /* n_usage: getrusage deltas (user_s, sys_s, minflt, ...) */
	size_t n_usage;
};

struct hrn_perf_task {
	char *task;
	struct hrn_perf_lang *langs;  /* n_langs, in the task's language order */
	size_t n_langs;
	struct hrn_perf_lang all;     /* the same over all languages (language "all") */
	struct hrn_perf_window window;
};

struct hrn_results {
	int schema_version;
	struct hrn_suite_info suite;
	struct hrn_model_info model;
	struct hrn_engine_info engine;
	struct hrn_settings settings;
	struct hrn_aggregate *aggregates;
	size_t n_aggregates;
	struct hrn_comparison *comparisons;
	size_t n_comparisons;
	struct hrn_manifest manifest;
	struct hrn_perf_task *perf;   /* n_perf; "performance" (absent in older files: 0) */
	size_t n_perf;
};

/* Zero r and set schema_version and the integer settings to their "unset" values. */
void hrn_results_init(struct hrn_results *r);

/* Free everything r owns and zero it. */
void hrn_results_release(struct hrn_results *r);

/* Append an aggregate (task, language copied); returns it (owned by r, valid
 * until the next add) or NULL when out of memory. */
struct hrn_aggregate *hrn_results_add_aggregate(struct hrn_results *r, const char *task, const char *language,
						int64_t n);

/* Append a metric to a (name, method copied); returns 0 or MRL_ENOMEM. */
int hrn_aggregate_add_metric(struct hrn_aggregate *a, const char *name, double value, double std_err,
			     double ci_low, double ci_high, double ci_level, const char *method);

/* Append a zeroed comparison with task, languages, metric and method copied;
 * returns it (owned by r, valid until the next add) or NULL. */
struct hrn_comparison *hrn_results_add_comparison(struct hrn_results *r, const char *task,
						  const char *language_a, const char *language_b,
						  const char *metric, const char *method);

/* Append a zeroed performance entry for task (copied); its readings start null
 * without a reason. Returns it (owned by r, valid until the next add) or NULL. */
struct hrn_perf_task *hrn_results_add_perf(struct hrn_results *r, const char *task);

/* Append a zeroed language entry (language copied) to t. Returns it or NULL. */
struct hrn_perf_lang *hrn_perf_task_add_lang(struct hrn_perf_task *t, const char *language);

/* Set a reading: name and unit copied; valid when reason is NULL (value kept), else
 * null (value NaN) with a copy of reason. Frees what r held. Returns 0 or MRL_ENOMEM. */
int hrn_reading_set(struct hrn_reading *r, const char *name, const char *unit, double value, const char *reason);

/* Append a reading (as hrn_reading_set) to *list of *n. Returns 0 or MRL_ENOMEM. */
int hrn_readings_add(struct hrn_reading **list, size_t *n, const char *name, const char *unit, double value,
		     const char *reason);

/* Free what a reading owns and zero it. */
void hrn_reading_release(struct hrn_reading *r);

/* Append a copy of s to the string list *list of *n entries. Returns 0 or MRL_ENOMEM. */
int hrn_strlist_add(char ***list, size_t *n, const char *s);

/* The settings as a new JSON object (new reference), as written in results.json;
 * handy as the manifest's settings. NULL when out of memory. */
json_t *hrn_settings_to_json(const struct hrn_settings *s);

/* The whole record as a new JSON object (new reference), or NULL (out of memory). */
json_t *hrn_results_to_json(const struct hrn_results *r);

/* Parse a results.json object into r (initialised first; release it even on
 * failure). where names the source in messages. */
int hrn_results_from_json(const json_t *j, struct hrn_results *r, const char *where, struct mrl_err *err);

/* Write r to path atomically (pretty-printed, 17 significant digits). Returns 0,
 * or MRL_EIO (err names the path and the cause, e.g. "disk full"; the old file
 * is untouched) or MRL_ENOMEM. */
int hrn_results_write(const char *path, const struct hrn_results *r, struct mrl_err *err);

/* Read path into r (initialised first; release it even on failure). Malformed
 * JSON gives "path:line:column: ..."; a bad field gives "path: $.a.b[2].c: ...";
 * an unknown schema_version is MRL_EUNSUPPORTED. */
int hrn_results_read(const char *path, struct hrn_results *r, struct mrl_err *err);

/* ------------------------------------------------------------ items.jsonl */

/* The model's score of one answer choice. */
struct hrn_choice_score {
	double loglik;         /* sum of log-probabilities (natural log) of the choice's tokens */
	int64_t n_tokens, n_chars, n_bytes; /* length of the choice: tokens, Unicode code points, UTF-8 bytes */
	bool is_greedy;        /* every choice token was the argmax */
};

/* One metric's verdict on one item. */
struct hrn_item_metric {
	char *metric;          /* "acc", "acc_norm", "exact_match", ... */
	int64_t pred_index;    /* the chosen choice; -1 when the task has no choices */
	char *pred_text;       /* generated/normalised answer text; NULL when none */
	bool correct;
	double value;          /* per-item score for graded metrics (e.g. F1); NaN when not graded */
};

/* A named duration, in nanoseconds. */
struct hrn_timing {
	char *name;            /* "tokenize", "score", "total", ... */
	int64_t ns;
};

/* Per-token log-probabilities of one choice's continuation (`merilo run
 * --store-logprobs`; docs/results-format.md, "logprobs"). */
struct hrn_token_logprobs {
	size_t n;              /* continuation tokens (= the choice's n_tokens) */
	int32_t *tokens;       /* n token ids */
	double *logprob;       /* n: log p(tokens[i] | context, tokens[<i]), natural log */
	size_t k;              /* top-K entries per position; 0 = none stored */
	int32_t *top_id;       /* n * k, row i = position i, best first */
	double *top_logprob;   /* n * k */
};

/* One item in one language. */
struct hrn_item {
	char *task, *item_id, *language;
	struct hrn_choice_score *choices;  /* n_choices */
	size_t n_choices;
	int64_t gold_index;                /* -1 when not a choice task */
	char *gold_text;                   /* NULL when none */
	struct hrn_item_metric *metrics;   /* n_metrics */
	size_t n_metrics;
	struct hrn_timing *timings;        /* n_timings */
	size_t n_timings;
	char *prompt;                      /* rendered prompt; NULL when not recorded */
	int64_t tokens_computed;           /* tokens the forward pass computed for this item; -1 unknown */
	int64_t tokens_cached;             /* tokens of its requests reused from the KV cache; -1 unknown */
	struct hrn_token_logprobs *logprobs; /* n_choices entries, or NULL when not stored */
	size_t line;                       /* 1-based line of items.jsonl it was read from; 0 when not read */
};

/* Set task, item_id, language (copied) on a zeroed item, gold_index -1.
 * Returns 0 or MRL_ENOMEM. */
int hrn_item_init(struct hrn_item *it, const char *task, const char *item_id, const char *language);

/* Appenders: copy their strings into it. Return 0 or MRL_ENOMEM. */
int hrn_item_add_choice(struct hrn_item *it, double loglik, int64_t n_tokens, int64_t n_chars, int64_t n_bytes,
			bool is_greedy);
int hrn_item_add_metric(struct hrn_item *it, const char *metric, int64_t pred_index, const char *pred_text,
			bool correct, double value);
int hrn_item_add_timing(struct hrn_item *it, const char *name, int64_t ns);
/* Replace gold_text / prompt with a copy of s (NULL clears). */
int hrn_item_set_gold_text(struct hrn_item *it, const char *s);
int hrn_item_set_prompt(struct hrn_item *it, const char *s);

/* Store the log-probabilities of choice `choice` (< n_choices; add the choices first):
 * n tokens and logprobs, and k top entries per position (top_id/top_logprob n * k,
 * may be NULL when k == 0), all copied. Replaces what the choice had. Returns 0,
 * MRL_EINPUT (choice out of range) or MRL_ENOMEM. */
int hrn_item_set_logprobs(struct hrn_item *it, size_t choice, const int32_t *tokens, const double *logprob,
			  size_t n, size_t k, const int32_t *top_id, const double *top_logprob);

/* The stored log-probabilities of a choice, or NULL when the record has none
 * (a run without --store-logprobs, or a choice out of range). Owned by it. */
const struct hrn_token_logprobs *hrn_item_logprobs(const struct hrn_item *it, size_t choice);

/* The "logprobs" array of an items.jsonl line as JSON (new reference), NULL when out of
 * memory (a choice never set is written as null); and its reader: n_choices entries into
 * *out (malloc'd, caller frees with hrn_token_logprobs_free(*out, n_choices); a null entry
 * reads as unset); every array length is checked before anything is allocated for it. */
json_t *hrn_token_logprobs_to_json(const struct hrn_token_logprobs *lp, size_t n_choices);
int hrn_token_logprobs_from_json(const json_t *arr, size_t n_choices, struct hrn_token_logprobs **out,
				 const char *where, const char *path, struct mrl_err *err);
void hrn_token_logprobs_free(struct hrn_token_logprobs *lp, size_t n_choices);

/* Free everything it owns and zero it. */
void hrn_item_release(struct hrn_item *it);

/* One items.jsonl line (new JSON object, new reference) or NULL (out of memory). */
json_t *hrn_item_to_json(const struct hrn_item *it);

/* Parse one line's object. where is e.g. "items.jsonl:17". */
int hrn_item_from_json(const json_t *j, struct hrn_item *it, const char *where, struct mrl_err *err);

/* An items.jsonl file as read. */
struct hrn_items {
	struct hrn_item *items;  /* n, in file order */
	size_t n;
	bool truncated_tail;     /* the last line had no newline and did not parse: a run killed mid-write */
	size_t tail_line;        /* its line number (1-based) when truncated_tail */
	size_t tail_bytes;       /* its length in bytes */
	uint64_t valid_bytes;    /* bytes of complete, valid lines (where an append may resume) */
	struct hrn_rejected_line *rejected; /* lines left out (lenient reading, plan checks), in file order */
	size_t n_rejected;
};

/* A line of items.jsonl that was not taken: its 1-based number and why. */
struct hrn_rejected_line {
	size_t line;
	char *why;
};

/* Record line `line` as rejected with a printf-formatted reason. 0 or MRL_ENOMEM. */
int hrn_items_reject(struct hrn_items *items, size_t line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Read all of an items.jsonl. A malformed line (other than a truncated last
 * line, which is reported in out->truncated_tail) is MRL_EINPUT naming
 * "path:line" and the field; an unknown schema_version is MRL_EUNSUPPORTED.
 * out is zeroed first; release it even on failure. A missing file is MRL_EIO. */
int hrn_items_read(const char *path, struct hrn_items *out, struct mrl_err *err);

/* The same, but a malformed line (not JSON, or not an item record) does not fail
 * the read: it is left out and listed in out->rejected with the reason. For a
 * run that repairs its own items.jsonl (merilo run --resume). */
int hrn_items_read_lenient(const char *path, struct hrn_items *out, struct mrl_err *err);

/* Free everything out owns and zero it. */
void hrn_items_release(struct hrn_items *items);

/* The set of (task, item_id, language) already present: for --resume. */
struct hrn_done_set;

/* Build the set from items (strings copied). Returns NULL when out of memory.
 * Free with hrn_done_set_free. */
struct hrn_done_set *hrn_done_set_new(const struct hrn_items *items);

/* Whether (task, item_id, language) is in the set. */
bool hrn_done_set_has(const struct hrn_done_set *set, const char *task, const char *item_id,
		      const char *language);

/* Number of distinct entries. */
size_t hrn_done_set_count(const struct hrn_done_set *set);

/* Add one key (copied). Returns 0 or MRL_ENOMEM. */
int hrn_done_set_add(struct hrn_done_set *set, const char *task, const char *item_id, const char *language);

void hrn_done_set_free(struct hrn_done_set *set);

/* The item writer: buffers lines in memory and writes + fsyncs them every
 * flush_every_items items or flush_every_ns nanoseconds (checked when an item
 * is added; there is no background thread), on hrn_item_writer_flush and on
 * close. A failed flush is rolled back with ftruncate so that the file only
 * ever holds whole lines. */
struct hrn_item_writer;

struct hrn_item_writer_opts {
	size_t flush_every_items;  /* 0 -> 64 */
	int64_t flush_every_ns;    /* 0 -> 5 s; negative -> only by count */
	bool truncate;             /* start a new file instead of appending */
	/* Called before buffered lines are written (may be NULL): a nonzero return
	 * (with err set) drops the buffered lines unwritten and is returned by the
	 * flush. For checks that the lines are still valid, e.g. the model file. */
	int (*check)(void *arg, struct mrl_err *err);
	void *check_arg;
};

/* Open path for appending (created if absent; emptied when opts->truncate).
 * opts may be NULL (defaults). An existing file whose last line is not
 * newline-terminated (a run killed mid-write) has that partial line cut off;
 * *dropped_tail_bytes (may be NULL) says how many bytes were dropped.
 * On success *out is the handle (owned; hrn_item_writer_close frees it). */
int hrn_item_writer_open(const char *path, const struct hrn_item_writer_opts *opts,
			 struct hrn_item_writer **out, size_t *dropped_tail_bytes, struct mrl_err *err);

/* Serialize it into the buffer; flushes when a threshold is reached.
 * Returns 0 or an error from the flush (MRL_EIO names the path and cause). */
int hrn_item_writer_add(struct hrn_item_writer *w, const struct hrn_item *it, struct mrl_err *err);

/* Write buffered lines and fsync. Returns 0 or MRL_EIO; on failure the lines
 * stay buffered and the file is cut back to its last whole line. */
int hrn_item_writer_flush(struct hrn_item_writer *w, struct mrl_err *err);

/* Items added so far, and items written (flushed) so far. */
size_t hrn_item_writer_n_added(const struct hrn_item_writer *w);
size_t hrn_item_writer_n_flushed(const struct hrn_item_writer *w);
/* Items dropped unwritten because opts->check failed. */
size_t hrn_item_writer_n_dropped(const struct hrn_item_writer *w);

/* Flush, fsync, close and free w (always freed, even on error; NULL is fine). */
int hrn_item_writer_close(struct hrn_item_writer *w, struct mrl_err *err);

/* ---------------------------------------- field readers for merilo's JSON */

/* Used by the readers above (and by any harness reader of a merilo record).
 * Each reads obj[key], checks its type and on failure sets err to
 * "<where>: <path>.<key>: <problem>" and returns MRL_EINPUT. HRN_J_OPTIONAL
 * lets the key be absent (the output is left as it was), HRN_J_NULLABLE lets
 * it be null (strings -> NULL, reals -> NaN). */
enum { HRN_J_REQUIRED = 0, HRN_J_OPTIONAL = 1, HRN_J_NULLABLE = 2 };
int hrn_json_get_str(const json_t *obj, const char *key, int flags, char **out, const char *where,
		     const char *path, struct mrl_err *err);
int hrn_json_get_int(const json_t *obj, const char *key, int flags, int64_t *out, const char *where,
		     const char *path, struct mrl_err *err);
int hrn_json_get_real(const json_t *obj, const char *key, int flags, double *out, const char *where,
		      const char *path, struct mrl_err *err);
int hrn_json_get_bool(const json_t *obj, const char *key, int flags, bool *out, const char *where,
		      const char *path, struct mrl_err *err);
/* Borrowed reference to an object / array member (NULL when optional and absent or null). */
int hrn_json_get_object(const json_t *obj, const char *key, int flags, json_t **out, const char *where,
			const char *path, struct mrl_err *err);
int hrn_json_get_array(const json_t *obj, const char *key, int flags, json_t **out, const char *where,
		       const char *path, struct mrl_err *err);

/* A double as JSON: a real, null for NaN, "inf"/"-inf" for infinities (new reference). */
json_t *hrn_json_real(double v);

/* A string as JSON: null for NULL; bytes that are not valid UTF-8 (e.g. a
 * generation cut inside a character) are replaced by U+FFFD (new reference). */
json_t *hrn_json_string(const char *s);

/* An integer as JSON, null when v < 0 (for counts and seeds where -1 = unset). */
json_t *hrn_json_count(int64_t v);

#endif
