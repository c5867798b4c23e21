/* task_score.c — tests for language-independent answer scoring (tasks/score.c):
 * the multiple-choice decision rules (acc, acc_norm, acc_bytes, acc_mutual_info,
 * ties, NaN), text lengths for perplexity (bytes, code points, words, canonical
 * characters equal across Serbian scripts) and the trailing-whitespace rule. */
#include "tests/tap.h"

#include <stdint.h>

#include "tasks/task.h"

static struct task_choice_score ch(double ll, int64_t n_chars, int64_t n_bytes, double uncond)
{
	return (struct task_choice_score){ .loglik = ll, .loglik_uncond = uncond, .n_tokens = 1, .n_chars = n_chars,
					   .n_bytes = n_bytes };
}

int main(void)
{
	/* names */
	is_str(task_mc_rule_name(TASK_MC_ACC), "acc", "rule name acc");
	is_str(task_mc_rule_name(TASK_MC_ACC_NORM), "acc_norm", "rule name acc_norm");
	is_int(task_mc_rule_find("acc_bytes"), TASK_MC_ACC_BYTES, "find acc_bytes");
	is_int(task_mc_rule_find("acc_mutual_info"), TASK_MC_ACC_MUTUAL_INFO, "find acc_mutual_info");
	is_int(task_mc_rule_find("exact_match"), -1, "an unknown metric is -1");
	ok(task_mc_rule_name(TASK_MC_N_RULES) == NULL, "out-of-range rule has no name");

	/* a short, likely choice vs a long one that is likelier per character */
	struct task_choice_score c[3] = { ch(-10, 5, 5, -9), ch(-12, 40, 80, -2), ch(-11, 10, 20, -10.5) };
	is_int(task_mc_predict(TASK_MC_ACC, c, 3), 0, "acc: highest loglik");
	is_int(task_mc_predict(TASK_MC_ACC_NORM, c, 3), 1, "acc_norm: highest loglik per character (-0.3 > -1.1 > -2)");
	is_int(task_mc_predict(TASK_MC_ACC_BYTES, c, 3), 1, "acc_bytes: highest loglik per byte");
	is_int(task_mc_predict(TASK_MC_ACC_MUTUAL_INFO, c, 3), 2,
	       "acc_mutual_info: highest loglik - unconditional (-0.5 > -1 > -10)");
	is_near(task_mc_choice_score(TASK_MC_ACC_NORM, &c[0]), -2.0, 0, "acc_norm score = loglik / n_chars");

	/* lengths by characters, not bytes: Cyrillic takes two bytes a letter */
	struct task_choice_score cy[2] = { ch(-6, 3, 6, NAN), ch(-8, 8, 8, NAN) };
	is_int(task_mc_predict(TASK_MC_ACC_NORM, cy, 2), 1, "acc_norm divides by characters (-2 vs -1)");
	is_int(task_mc_predict(TASK_MC_ACC_BYTES, cy, 2), 0, "acc_bytes divides by bytes (-1 each: tie -> first)");

	/* ties and NaN */
	struct task_choice_score tie[3] = { ch(-5, 1, 1, NAN), ch(-3, 1, 1, NAN), ch(-3, 1, 1, NAN) };
	is_int(task_mc_predict(TASK_MC_ACC, tie, 3), 1, "a tie goes to the first maximum (numpy.argmax)");
	struct task_choice_score nan[2] = { ch(NAN, 1, 1, NAN), ch(-100, 1, 1, NAN) };
	is_int(task_mc_predict(TASK_MC_ACC, nan, 2), 1, "a NaN never wins");
	is_int(task_mc_predict(TASK_MC_ACC_MUTUAL_INFO, nan, 2), -1, "mutual info without unconditional scores: -1");
	is_int(task_mc_predict(TASK_MC_ACC, nan, 0), -1, "no choices: -1");
	struct task_choice_score zero[2] = { ch(-1, 0, 0, NAN), ch(-50, 2, 2, NAN) };
	is_int(task_mc_predict(TASK_MC_ACC_NORM, zero, 2), 1, "a zero-length choice has no acc_norm score");

	/* text counts */
	struct task_text_counts a, b;
	struct mrl_err err = { 0 };
	const char *cyr = "Љубав и џем у Ђаковици.", *lat = "Ljubav i džem u Đakovici.";
	ok(task_text_count(cyr, strlen(cyr), &a, &err) == 0, "count Cyrillic");
	ok(task_text_count(lat, strlen(lat), &b, &err) == 0, "count Latin");
	is_int(a.words, 5, "5 words");
	is_int(a.chars, 23, "23 code points in Cyrillic (Љ and џ are one letter each)");
	is_int(b.chars, 25, "25 code points in Latin (Lj, dž are two)");
	is_int(a.bytes, (long long)strlen(cyr), "bytes as given");
	is_int(a.canonical_chars, 25, "canonical characters of the Cyrillic = the Latin's");
	is_int(b.canonical_chars, 25, "canonical characters of the Latin text");
	/* NFC: "e" + combining acute (2 code points) counts as one canonical character */
	const char *nfd = "cafe\xCC\x81";
	ok(task_text_count(nfd, strlen(nfd), &a, &err) == 0, "count decomposed text");
	is_int(a.chars, 5, "decomposed: 5 code points as given");
	is_int(a.canonical_chars, 4, "NFC: 4 canonical characters");
	const char *ws = "  one\ttwo\n\nthree\xC2\xA0" "four ";
	ok(task_text_count(ws, strlen(ws), &a, &err) == 0, "count text with assorted whitespace");
	is_int(a.words, 4, "words split on any Unicode whitespace, NBSP included");
	ok(task_text_count("ab\xFF", 3, &a, &err) == MRL_EINPUT, "invalid UTF-8 is MRL_EINPUT");
	like(err.msg, "offset 2", "the message names the byte offset");
	ok(task_text_count("", 0, &a, &err) == 0 && a.words == 0 && a.canonical_chars == 0, "empty text counts zero");

	/* trailing whitespace (Python's rstrip) */
	is_int(task_trailing_space("Answer:", 7), 0, "no trailing space");
	is_int(task_trailing_space("A: ", 3), 1, "one space");
	is_int(task_trailing_space("A:\n \t", 5), 3, "newline, space and tab");
	is_int(task_trailing_space("A:\xC2\xA0", 4), 2, "a no-break space (2 bytes)");
	is_int(task_trailing_space("O:\xE3\x80\x80", 5), 3, "an ideographic space (3 bytes)");
	is_int(task_trailing_space("   ", 3), 3, "all whitespace");
	is_int(task_trailing_space("Љ", 2), 0, "a Cyrillic letter is not whitespace");
	is_int(task_utf8_chars("Ђак", strlen("Ђак")), 3, "utf8 chars");
	return done_testing();
}
