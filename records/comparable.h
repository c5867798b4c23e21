/* comparable.h — the settings of a run that change its scores, as words: what
 * makes two runs comparable. The leaderboard ranks together only runs whose
 * settings are all equal (rec_comparable_key), and `merilo compare` refuses to
 * gate runs that differ in any of them (docs/compare.md "Comparability").
 *
 * The settings, in this order: suite (name), suite_sha256, tasks, languages,
 * limit, sample ("N (seed S)" for `run --sample N`, "none" otherwise), fewshot (the k each task's items got: results.json settings.fewshot, so a
 * suite's own k and an equal --fewshot are the same setting), fewshot_seed,
 * fewshot_tasks (each task's k, seed, source and delimiter), bos_mode, and, where the run
 * records them in its settings, template_version, chat_template and kv_cache.
 * The seed of the run (but under --sample, as part of that setting), its threads
 * and batch size do not change scores and are not among them.
 */
#ifndef MRL_REC_COMPARABLE_H
#define MRL_REC_COMPARABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "records/results.h"

enum { REC_CMP_N_SETTINGS = 13 };

/* The value every setting has when a run does not record it. */
#define REC_CMP_NOT_RECORDED "(not recorded)"

struct rec_cmp_setting {
	const char *name;  /* static: "suite", "limit", ... (REC_CMP_N_SETTINGS names, fixed order) */
	char *value;       /* owned: the value in words ("all", "3", "copa,copa_hr", ...) */
	bool recorded;     /* false: the run does not record it (value is REC_CMP_NOT_RECORDED) */
};

struct rec_comparable {
	struct rec_cmp_setting s[REC_CMP_N_SETTINGS];
};

/* The score-changing settings of r into c (every value owned by c; release with
 * rec_comparable_release, also after a failure). 0, or MRL_ENOMEM. */
int rec_comparable_init(struct rec_comparable *c, const struct rec_results *r);
void rec_comparable_release(struct rec_comparable *c);

/* The few-shot k every item of r got (each task's effective k, as the
 * "fewshot" setting), or -1 when tasks got different k or out of memory. */
int64_t rec_comparable_fewshot_k(const struct rec_results *r);

/* The setting named name ("limit"), or NULL when there is none of that name. */
const struct rec_cmp_setting *rec_comparable_get(const struct rec_comparable *c, const char *name);

/* The names of the settings, comma-separated (static), for help and errors. */
const char *rec_comparable_names(void);

/* Whether setting i differs between a and b. A setting one run does not record
 * (an older run, a setting added since) does not count as a difference. */
bool rec_comparable_differs(const struct rec_comparable *a, const struct rec_comparable *b, size_t i);

/* Whether no setting differs between a and b (rec_comparable_differs). */
bool rec_comparable_compatible(const struct rec_comparable *a, const struct rec_comparable *b);

/* Give into every setting from records that into does not: the settings of a
 * group of compatible runs, each taken from whichever run records it (a run made
 * by 'merilo score' records no BOS mode: its predictions were made elsewhere).
 * 0, or MRL_ENOMEM. */
int rec_comparable_adopt(struct rec_comparable *into, const struct rec_comparable *from);

/* Append the comparability key of c to key: runs with equal keys are ranked
 * together (every setting, separated by \x1f). */
void rec_comparable_key(const struct rec_comparable *c, struct mrl_buf *key);

/* Append c in words to desc: "suite copa (sha256 0123456789ab), tasks copa,
 * languages hr,sr-Latn, all items, few-shot 0, BOS auto" (the optional settings
 * only when recorded). */
void rec_comparable_describe(const struct rec_comparable *c, struct mrl_buf *desc);

#endif
