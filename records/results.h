/* results.h — results.json: one run's summary (suite, model, engine,
 * settings, aggregate metrics per task x language, paired comparisons between
 * languages, performance readings and the manifest), documented field by field
 * in docs/results-format.md. Written whole and atomically (temp + fsync +
 * rename). Every struct owns its strings (copied in, freed by the matching
 * _release). A NaN double means "not available" and is written as null;
 * +-infinity as the strings "inf" / "-inf"; doubles with 17 significant digits.
 */
#ifndef MRL_REC_RESULTS_H
#define MRL_REC_RESULTS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "records/manifest.h"
#include "records/record_json.h"

#define REC_RESULTS_SCHEMA_VERSION 1 /* results.json */
#define REC_RESULTS_MAX_BYTES ((size_t)1 << 30) /* reader's cap for results.json */

/* One metric's estimate over a task x language. */
struct rec_metric_value {
	char *name;       /* "acc", "acc_norm", "exact_match", ... */
	double value;
	double std_err;   /* standard error of value; NaN unknown */
	double ci_low, ci_high;
	double ci_level;  /* e.g. 0.95 */
	char *method;     /* how the CI was made: "bootstrap-percentile", "wilson-score", ... */
	int64_t n;        /* items the value is over where fewer than the aggregate's n (a metric
			   * some items lack: lang_ok where the language was undetermined); -1:
			   * all of them (rec_aggregate_add_metric's default; "n" absent in JSON) */
};

/* Aggregate metrics of one task in one language. */
struct rec_aggregate {
	char *task, *language;
	int64_t n;                         /* items scored */
	struct rec_metric_value *metrics;  /* n_metrics, in insertion order */
	size_t n_metrics;
	double chance;                     /* multiple choice: the accuracy of guessing, the mean of
					    * 1 / choices over the items scored; NaN: not recorded */
	char *field, *value;               /* a breakdown's: the items whose variant field `field` reads
					    * `value` ("category", "biology"); NULL in "aggregates" */
};

/* A paired comparison of one metric between two languages of the same task,
 * over the items present in both. diff = metric(language_a) - metric(language_b). */
struct rec_comparison {
	char *task, *language_a, *language_b, *metric;
	int64_t n_pairs;
	double diff, ci_low, ci_high, ci_level;
	char *method;                 /* CI method for diff: "paired-bootstrap", ... */
	int64_t mcnemar_b;            /* pairs correct in a, wrong in b */
	int64_t mcnemar_c;            /* pairs wrong in a, correct in b */
	double mcnemar_p;             /* two-sided exact p-value; NaN when not computed */
};

struct rec_suite_info {
	char *name, *version, *path, *sha256;
};

struct rec_model_info {
	char *path, *name, *arch;
	int64_t size_bytes;
	char *sha256;
	double load_s;  /* seconds to open it (map, parse, bind the weights); NaN = not recorded */
};

struct rec_engine_info {
	char *name;     /* "merilo" */
	char *version;  /* engine version, MRL_VERSION for the built-in engine */
	char *backend;  /* "cpu", "cuda" */
};

/* Every setting and seed of a run. Integers are -1 where a setting does not
 * apply (e.g. fewshot_seed with fewshot_k == 0); limit 0 means "all items". */
struct rec_settings {
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
struct rec_reading {
	char *name;    /* "PAPI_TOT_CYC", "user_s", "energy_j", ... */
	char *unit;    /* "J", "s", "bytes", "count", "cycles", ... */
	double value;  /* NaN: null */
	char *reason;  /* why null; NULL when valid */
};

/* Speed of one task in one language, from the item records (timings_ns and
 * tokens_computed of items.jsonl: every session of a resumed run). */
struct rec_perf_lang {
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
struct rec_perf_window {
	bool present;             /* false: no item of the task was scored in this session */
	char *absent_reason;      /* why not present (owned) */
	int64_t n_items;          /* items scored in the window */
	double seconds;           /* wall time of the window */
	struct rec_reading energy_j;          /* gross energy of the chosen source over the window */
	struct rec_reading energy_per_item_j; /* energy_j / n_items */
	char *energy_source;      /* "<method> <name> (<scope>)"; NULL when none */
	struct rec_reading peak_rss;          /* VmHWM at the end of the window, bytes */
	char *peak_rss_since;     /* "task start" (VmHWM reset) or "process start" */
	char *counters_status;    /* met_counter_values.status */
	struct rec_reading *counters;         /* n_counters, PAPI events in list order */
	size_t n_counters;
	struct rec_reading *usage;            /* n_usage: getrusage deltas (user_s, sys_s, minflt, ...) */
	size_t n_usage;
};

struct rec_perf_task {
	char *task;
	struct rec_perf_lang *langs;  /* n_langs, in the task's language order */
	size_t n_langs;
	struct rec_perf_lang all;     /* the same over all languages (language "all") */
	struct rec_perf_window window;
};

struct rec_results {
	int schema_version;
	struct rec_suite_info suite;
	struct rec_model_info model;
	struct rec_engine_info engine;
	struct rec_settings settings;
	struct rec_aggregate *aggregates;
	size_t n_aggregates;
	struct rec_comparison *comparisons;
	size_t n_comparisons;
	struct rec_aggregate *breakdowns; /* per value of a task's "breakdown" field ("breakdowns"; absent: 0) */
	size_t n_breakdowns;
	struct rec_manifest manifest;
	struct rec_perf_task *perf;   /* n_perf; "performance" (absent in older files: 0) */
	size_t n_perf;
};

/* Zero r and set schema_version and the integer settings to their "unset" values. */
void rec_results_init(struct rec_results *r);

/* Free everything r owns and zero it. */
void rec_results_release(struct rec_results *r);

/* Append an aggregate (task, language copied); returns it (owned by r, valid
 * until the next add) or NULL when out of memory. */
struct rec_aggregate *rec_results_add_aggregate(struct rec_results *r, const char *task, const char *language,
						int64_t n);

/* Append a breakdown aggregate: as rec_results_add_aggregate, over the items of (task,
 * language) whose variant field `field` reads `value` (both copied). */
struct rec_aggregate *rec_results_add_breakdown(struct rec_results *r, const char *task, const char *language,
						const char *field, const char *value, int64_t n);

/* Append a metric to a (name, method copied; its n -1: over all of a's items, set it after
 * where fewer); returns 0 or MRL_ENOMEM. */
int rec_aggregate_add_metric(struct rec_aggregate *a, const char *name, double value, double std_err,
			     double ci_low, double ci_high, double ci_level, const char *method);

/* Append a zeroed comparison with task, languages, metric and method copied;
 * returns it (owned by r, valid until the next add) or NULL. */
struct rec_comparison *rec_results_add_comparison(struct rec_results *r, const char *task,
						  const char *language_a, const char *language_b,
						  const char *metric, const char *method);

/* Move src's aggregates, comparisons and breakdowns to the end of dst's (in their order;
 * src keeps none of them, and the rest of src is untouched). 0, or MRL_ENOMEM with both as
 * they were. */
int rec_results_take(struct rec_results *dst, struct rec_results *src);

/* Append a zeroed performance entry for task (copied); its readings start null
 * without a reason. Returns it (owned by r, valid until the next add) or NULL. */
struct rec_perf_task *rec_results_add_perf(struct rec_results *r, const char *task);

/* Append a zeroed language entry (language copied) to t. Returns it or NULL. */
struct rec_perf_lang *rec_perf_task_add_lang(struct rec_perf_task *t, const char *language);

/* Set a reading: name and unit copied; valid when reason is NULL (value kept), else
 * null (value NaN) with a copy of reason. Frees what r held. Returns 0 or MRL_ENOMEM. */
int rec_reading_set(struct rec_reading *r, const char *name, const char *unit, double value, const char *reason);

/* Append a reading (as rec_reading_set) to *list of *n. Returns 0 or MRL_ENOMEM. */
int rec_readings_add(struct rec_reading **list, size_t *n, const char *name, const char *unit, double value,
		     const char *reason);

/* Free what a reading owns and zero it. */
void rec_reading_release(struct rec_reading *r);

/* The settings as a new JSON object (new reference), as written in results.json;
 * handy as the manifest's settings. NULL when out of memory. */
json_t *rec_settings_to_json(const struct rec_settings *s);

/* The whole record as a new JSON object (new reference), or NULL (out of memory). */
json_t *rec_results_to_json(const struct rec_results *r);

/* Parse a results.json object into r (initialised first; release it even on
 * failure). where names the source in messages. */
int rec_results_from_json(const json_t *j, struct rec_results *r, const char *where, struct mrl_err *err);

/* Write r to path atomically (pretty-printed, 17 significant digits). Returns 0,
 * or MRL_EIO (err names the path and the cause, e.g. "disk full"; the old file
 * is untouched) or MRL_ENOMEM. */
int rec_results_write(const char *path, const struct rec_results *r, struct mrl_err *err);

/* Read path into r (initialised first; release it even on failure). Malformed
 * JSON gives "path:line:column: ..."; a bad field gives "path: /a/b/2/c: ..." (its JSON pointer);
 * an unknown schema_version is MRL_EUNSUPPORTED. */
int rec_results_read(const char *path, struct rec_results *r, struct mrl_err *err);

#endif
