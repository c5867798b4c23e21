/* langid.h — script and language of a generated answer (English and BCMS, Slovene, Macedonian).
 *
 * Two questions about a piece of text a model wrote:
 *   - which script: counts of Cyrillic, Latin and other letters, and a verdict
 *     (Cyrl / Latn / mixed / none) by a stated share threshold;
 *   - which language among en, sr, hr, bs, cnr, sl, mk: a marker-based guess
 *     that returns every candidate's score, the markers that fired (with their
 *     weights) and "unknown" when the evidence is too weak or too even.
 * The markers are hand-written lists (script, letters, Ekavian/Ijekavian
 * reflexes, words that separate the standards, grammar such as "pokušat ću" vs
 * "pokušaću"); docs/langid.md lists them with the measured accuracy and what the
 * guess cannot separate (bs vs cnr vs Ijekavian sr rests on few words).
 * Nothing here allocates what the caller must free; results are plain values.
 */
#ifndef MRL_TASK_LANGID_H
#define MRL_TASK_LANGID_H

#include <stddef.h>

#include "common/err.h"

/* ---- script ------------------------------------------------------------ */

enum task_script {
	TASK_SCRIPT_NONE,  /* no letters at all (digits, punctuation, empty) */
	TASK_SCRIPT_CYRL,  /* Cyrillic letters at least the threshold share of all letters */
	TASK_SCRIPT_LATN,  /* Latin letters at least the threshold share */
	TASK_SCRIPT_MIXED, /* letters, but neither script reaches the threshold */
};

/* The default verdict threshold: a script must make up at least this share of
 * the letters. 0.8 lets a Cyrillic answer quote a few Latin names or acronyms
 * ("CPU", "Python") and still count as Cyrillic. */
#define TASK_SCRIPT_THRESHOLD 0.8

struct task_script_mix {
	size_t n_cyrl;      /* Cyrillic letters (U+0400..052F, U+1C80..1C8F, U+2DE0..2DFF, U+A640..A69F) */
	size_t n_latn;      /* Latin letters (ASCII, Latin-1 .. Latin Extended, fullwidth) */
	size_t n_other;     /* letters of any other script (Greek, CJK, ...) */
	size_t n_letters;   /* n_cyrl + n_latn + n_other */
	size_t n_invalid;   /* bytes of invalid UTF-8, skipped one at a time (not letters) */
	double share_cyrl;  /* n_cyrl / n_letters, 0 when there are no letters */
	double share_latn;
	double share_other;
	enum task_script verdict; /* at TASK_SCRIPT_THRESHOLD */
};

/* Count the letters of s[0..len) by script and give the verdict at TASK_SCRIPT_THRESHOLD.
 * Letters are code points of Unicode category L*; combining marks, digits and
 * punctuation are not counted. Invalid UTF-8 (a truncated answer, stray bytes)
 * is not an error: each bad byte is skipped and counted in n_invalid.
 * Returns 0, or MRL_EINPUT when s is NULL and len > 0. Allocates nothing. */
int task_script_mix(const char *s, size_t len, struct task_script_mix *mix, struct mrl_err *err);

/* The verdict of a mix at another threshold (0.5 < threshold <= 1). */
enum task_script task_script_verdict(const struct task_script_mix *mix, double threshold);

enum task_script_check {
	TASK_SCRIPT_WRONG,      /* letters, and the verdict is not the expected script (mixed counts as wrong) */
	TASK_SCRIPT_OK,         /* the verdict is the expected script */
	TASK_SCRIPT_NO_LETTERS, /* nothing to judge ("42", empty); the caller decides how to count it */
};

/* Does the mix's verdict match the expected script (TASK_SCRIPT_CYRL or TASK_SCRIPT_LATN)? */
enum task_script_check task_script_check(const struct task_script_mix *mix, enum task_script expected);

/* "none", "Cyrl", "Latn", "mixed" (static strings). */
const char *task_script_name(enum task_script script);

/* "Cyrl" / "Latn" (ISO 15924, any case) -> *out; 0, or MRL_EINPUT naming the string. */
int task_script_parse(const char *name, enum task_script *out, struct mrl_err *err);

/* ---- language ---------------------------------------------------------- */

enum task_lang {
	TASK_LANG_UNKNOWN = -1,
	TASK_LANG_EN,
	TASK_LANG_SR,
	TASK_LANG_HR,
	TASK_LANG_BS,
	TASK_LANG_CNR,
	TASK_LANG_SL,
	TASK_LANG_MK,
	TASK_LANG_COUNT,
};

/* A guess is "unknown" unless the best score is at least TASK_LANG_MIN_SCORE
 * and beats the second best by at least TASK_LANG_MIN_MARGIN (score units:
 * one strong marker is worth 1.5..2.5). */
#define TASK_LANG_MIN_SCORE 1.5
#define TASK_LANG_MIN_MARGIN 0.5

/* One marker that fired. Its contribution to language l's score is amount * weight[l]. */
struct task_lang_hit {
	char text[48];                   /* what matched: "tko", "pokušat ću", "ć", "Cyrillic script" */
	const char *kind;                /* static: "script", "letter", "reflex", "lexical", "function", "grammar" */
	const char *rule;                /* static: the marker's rule, e.g. "hr tko / sr,bs,cnr ko" */
	double amount;                   /* occurrences (at most 3 per marker), or the script's share of letters */
	float weight[TASK_LANG_COUNT];   /* per occurrence, indexed by enum task_lang */
};

#define TASK_LANG_MAX_HITS 64

/* Words past this many are counted but not matched: the guess costs about 10 us
 * per word (every marker list is scanned), and a few thousand words settle it. */
#define TASK_LANG_MAX_WORDS 4096

struct task_lang_guess {
	enum task_lang lang;                  /* rank[0], or TASK_LANG_UNKNOWN (see TASK_LANG_MIN_*) */
	enum task_lang rank[TASK_LANG_COUNT]; /* all candidates, best first; ties in enum order */
	double score[TASK_LANG_COUNT];        /* sum of the hits' contributions, by enum task_lang */
	double prob[TASK_LANG_COUNT];         /* softmax of score: a ranking aid, not a calibrated probability */
	double margin;                        /* score[rank[0]] - score[rank[1]] */
	size_t n_words;                       /* words seen (only the first TASK_LANG_MAX_WORDS are matched) */
	struct task_script_mix script;        /* the text's script mix, as task_script_mix gives it */
	struct task_lang_hit hits[TASK_LANG_MAX_HITS]; /* in the order first seen */
	size_t n_hits;
	size_t n_hits_dropped;                /* markers that fired past TASK_LANG_MAX_HITS (still scored) */
};

/* Guess the language of s[0..len). Invalid UTF-8 bytes are skipped (counted in
 * g->script.n_invalid). The text is NFC-normalised and case-folded first; Serbian
 * Cyrillic words are also matched in their Latin transliteration, so one word
 * list serves both scripts. Returns 0 (g filled; g->lang may be TASK_LANG_UNKNOWN),
 * MRL_EINPUT when s is NULL and len > 0, or MRL_ENOMEM. */
int task_lang_guess(const char *s, size_t len, struct task_lang_guess *g, struct mrl_err *err);

enum task_lang_check {
	TASK_LANG_WRONG,     /* another language leads the expected one by TASK_LANG_MIN_MARGIN or more */
	TASK_LANG_OK,        /* the expected language is the guess, or tied with it (within TASK_LANG_MIN_MARGIN) */
	TASK_LANG_UNDECIDED, /* too little evidence: the best score is below TASK_LANG_MIN_SCORE */
};

/* Is the text consistent with the expected language? This is the question a
 * suite asks ("did the model answer in Bosnian?") and it is fairer than
 * comparing g->lang: a Bosnian answer without Bosnian-only words ties bs with
 * sr and cnr, so g->lang is unknown, yet the answer is not in a wrong language;
 * a Croatian one with tko and tjedan is wrong for bs. */
enum task_lang_check task_lang_check(const struct task_lang_guess *g, enum task_lang expected);

/* "en", "sr", "hr", "bs", "cnr", "sl", "mk", or "unknown" (static strings). */
const char *task_lang_name(enum task_lang lang);

/* A language code or tag ("sr", "sr-Cyrl", "sr-Latn", "hr", "cnr", "en-US"): the part before
 * the first '-' or '_' names the language. 0, or MRL_EINPUT naming the tag. */
int task_lang_parse(const char *tag, enum task_lang *out, struct mrl_err *err);

#endif
