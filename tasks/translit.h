/* translit.h — Serbian script transliteration (Cyrillic <-> Latin).
 *
 * Serbian is written in two scripts with a one-to-one letter correspondence,
 * except that three Cyrillic letters (Љ, Њ, Џ) are Latin digraphs (Lj, Nj, Dž).
 * Cyrillic -> Latin is exact; Latin -> Cyrillic must decide whether "lj", "nj",
 * "dž" are one letter or two (nadživeti -> надживети) and which words are not
 * Serbian at all (identifiers, URLs, format codes, Roman numerals, foreign words).
 * Every rule is in docs/transliteration.md. The suite engine uses these to
 * derive an sr-Latn variant from sr-Cyrl (transform "sr-Cyrl-to-Latn").
 */
#ifndef MRL_TASK_TRANSLIT_H
#define MRL_TASK_TRANSLIT_H

#include <stddef.h>

#include "common/err.h"

/* Serbian Cyrillic -> Latin (exact, Љ->Lj / ЉУБА->LJUBA, Џ->Dž, Ђ->Đ, ...). Non-Serbian characters pass through.
 * The input is NFC-normalised first and the output is NFC.
 * Returns 0 and a malloc'd NUL-terminated *out (caller frees; *out_len, when out_len is not NULL,
 * is its length in bytes), or MRL_EINPUT for invalid UTF-8 (message names the byte offset),
 * or MRL_ENOMEM. On error *out is NULL. s may be NULL when len is 0. */
int task_translit_cyr2lat(const char *s, size_t len, char **out, size_t *out_len, struct mrl_err *err);

/* Serbian Latin -> Cyrillic with the digraph ambiguity handled (nadživeti -> надживети, injekcija -> инјекција,
 * podjednako -> подједнако); identifiers, URLs, %s-style format codes, Roman numerals and foreign words stay Latin.
 * Same contract for *out, *out_len and errors as task_translit_cyr2lat. */
int task_translit_lat2cyr(const char *s, size_t len, char **out, size_t *out_len, struct mrl_err *err);

/* A transliteration function, as the two above. */
typedef int (*task_translit_fn)(const char *s, size_t len, char **out, size_t *out_len, struct mrl_err *err);

/* The function for a suite's transform name ("sr-Cyrl-to-Latn", "sr-Latn-to-Cyrl"),
 * or NULL for an unknown name. Returns a pointer to a static function (nothing to free). */
task_translit_fn task_translit_find(const char *transform);

#endif
