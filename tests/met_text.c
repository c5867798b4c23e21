/* met_text.c — generation metrics (metrics/text.h) against sacrebleu and the
 * SQuAD v1.1 script.
 *
 * Expected values come from the .jsonl files in tests/data/textmetrics/, written by the
 * committed gen.py with sacrebleu 2.6.0 (its sentence and corpus scores, its
 * per-item statistics and tokenisations) and a verbatim copy of the SQuAD v1.1
 * normalisation and F1. Scores are compared to 1e-9 and the largest difference
 * is printed; statistics and tokenisations must be identical. Edge cases and the
 * BCMS answer normalisation are checked on hand-computed values.
 */
#include "metrics/text.h"
#include "tests/tap.h"

#include <jansson.h>

#define DATA "tests/data/textmetrics/"
#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define SCORE_TOL 1e-9

/* ------------------------------------------------------------ the fixture */

struct pair {
	json_t *rec;
	struct met_text_item item;
	const char **refs;
	struct met_bleu_stats b13a, bintl;
	struct met_chrf_stats chrf, chrfpp;
	int rc; /* of computing the statistics */
};

struct fixture {
	const char *name; /* "pairs" or "fuzz": names the checks */
	struct pair *p;
	size_t n;
};

static json_t *load_line(const char *line)
{
	json_error_t jerr;
	json_t *j = json_loads(line, 0, &jerr);
	if (!j)
		diag("bad fixture line: %s", jerr.text);
	return j;
}

static void pair_fill(struct pair *p)
{
	json_t *refs = json_object_get(p->rec, "refs");
	p->refs = calloc(json_array_size(refs) + 1, sizeof *p->refs);
	for (size_t r = 0; r < json_array_size(refs); r++)
		p->refs[r] = json_string_value(json_array_get(refs, r));
	p->item = (struct met_text_item){json_string_value(json_object_get(p->rec, "hyp")), p->refs,
					 json_array_size(refs)};
	p->rc = met_bleu_item_stats(&p->item, MET_BLEU_TOK_13A, &p->b13a, NULL) ||
		met_bleu_item_stats(&p->item, MET_BLEU_TOK_INTL, &p->bintl, NULL) ||
		met_chrf_item_stats(&p->item, &MET_CHRF_DEFAULTS, &p->chrf, NULL) ||
		met_chrf_item_stats(&p->item, &MET_CHRFPP_DEFAULTS, &p->chrfpp, NULL);
}

static int fixture_load(struct fixture *fx, const char *name)
{
	char path[256];
	snprintf(path, sizeof path, DATA "%s.jsonl", name);
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;
	if (!f)
		return -1;
	*fx = (struct fixture){.name = name};
	while (getline(&line, &cap, f) > 0) {
		json_t *rec = load_line(line);
		if (!rec)
			continue;
		fx->p = realloc(fx->p, (fx->n + 1) * sizeof *fx->p);
		fx->p[fx->n] = (struct pair){.rec = rec};
		pair_fill(&fx->p[fx->n++]);
	}
	free(line);
	fclose(f);
	return 0;
}

static void fixture_release(struct fixture *fx)
{
	for (size_t i = 0; i < fx->n; i++) {
		json_decref(fx->p[i].rec);
		free(fx->p[i].refs);
	}
	free(fx->p);
}

static double jnum(json_t *obj, const char *a, const char *b)
{
	json_t *v = json_object_get(b ? json_object_get(obj, a) : obj, b ? b : a);
	return json_number_value(v);
}

/* ------------------------------------------------- against sacrebleu: items */

static void test_all_items_computed(const struct fixture *fx)
{
	size_t failed = 0;
	for (size_t i = 0; i < fx->n; i++)
		failed += fx->p[i].rc != 0;
	char name[128];
	snprintf(name, sizeof name, "%s: >= 150 items, statistics computed for every one", fx->name);
	ok(fx->n >= 150 && failed == 0, name);
	diag("%s: %zu items", fx->name, fx->n);
}

static void test_tokenize(const struct fixture *fx, enum met_bleu_tok tok, const char *key)
{
	size_t bad = 0;
	for (size_t i = 0; i < fx->n; i++) {
		char *got = NULL;
		const char *want = json_string_value(json_object_get(json_object_get(fx->p[i].rec, "tok"), key));
		if (met_bleu_tokenize(fx->p[i].item.hyp, tok, &got, NULL) || strcmp(got, want)) {
			if (bad++ < 3)
				diag("item %zu: got '%s' want '%s'", i, got ? got : "(error)", want);
		}
		free(got);
	}
	char name[128];
	snprintf(name, sizeof name, "%s: BLEU tokeniser %s: every hypothesis tokenised as sacrebleu does",
		 fx->name, key);
	ok(bad == 0, name);
}

static int bleu_stats_equal(const struct met_bleu_stats *s, json_t *want)
{
	int64_t got[2 + 2 * MET_BLEU_ORDER] = {s->hyp_len, s->ref_len};
	for (int k = 0; k < MET_BLEU_ORDER; k++) {
		got[2 + k] = s->correct[k];
		got[2 + MET_BLEU_ORDER + k] = s->total[k];
	}
	if (json_array_size(want) != ARRAY_LEN(got))
		return 0;
	for (size_t k = 0; k < ARRAY_LEN(got); k++)
		if (got[k] != json_integer_value(json_array_get(want, k)))
			return 0;
	return 1;
}

static int chrf_stats_equal(const struct met_chrf_stats *s, json_t *want)
{
	if (json_array_size(want) != 3 * (size_t)s->n_orders)
		return 0;
	for (int k = 0; k < s->n_orders; k++)
		if (s->hyp[k] != json_integer_value(json_array_get(want, 3 * k)) ||
		    s->ref[k] != json_integer_value(json_array_get(want, 3 * k + 1)) ||
		    s->match[k] != json_integer_value(json_array_get(want, 3 * k + 2)))
			return 0;
	return 1;
}

static void test_item_stats(const struct fixture *fx)
{
	size_t bad[4] = {0};
	for (size_t i = 0; i < fx->n; i++) {
		const struct pair *p = &fx->p[i];
		json_t *st = json_object_get(p->rec, "stats");
		bad[0] += !bleu_stats_equal(&p->b13a, json_object_get(st, "bleu_13a"));
		bad[1] += !bleu_stats_equal(&p->bintl, json_object_get(st, "bleu_intl"));
		bad[2] += !chrf_stats_equal(&p->chrf, json_object_get(st, "chrf"));
		bad[3] += !chrf_stats_equal(&p->chrfpp, json_object_get(st, "chrfpp"));
	}
	static const char *const what[] = {"BLEU 13a", "BLEU intl", "chrF", "chrF++"};
	for (size_t k = 0; k < ARRAY_LEN(bad); k++) {
		char name[128];
		snprintf(name, sizeof name, "%s: %s per-item statistics equal sacrebleu's (items differing)",
			 fx->name, what[k]);
		is_int(bad[k], 0, name);
	}
}

/* Sentence score of pair p under metric key, computed by the library. */
static double sentence_score(const struct pair *p, const char *key)
{
	double s = NAN;
	if (!strcmp(key, "bleu_13a"))
		met_bleu_sentence(&p->item, MET_BLEU_TOK_13A, &s, NULL);
	else if (!strcmp(key, "bleu_intl"))
		met_bleu_sentence(&p->item, MET_BLEU_TOK_INTL, &s, NULL);
	else if (!strcmp(key, "chrf"))
		met_chrf_sentence(&p->item, &MET_CHRF_DEFAULTS, &s, NULL);
	else
		met_chrf_sentence(&p->item, &MET_CHRFPP_DEFAULTS, &s, NULL);
	return s;
}

static void test_sentence_scores(const struct fixture *fx, const char *key)
{
	double max_diff = 0.0;
	size_t worst = 0, bitwise = 0;
	for (size_t i = 0; i < fx->n; i++) {
		double got = sentence_score(&fx->p[i], key), want = jnum(fx->p[i].rec, "sent", key);
		double d = isnan(got) ? INFINITY : fabs(got - want);
		bitwise += got == want;
		if (d > max_diff) {
			max_diff = d;
			worst = i;
		}
	}
	char name[128];
	snprintf(name, sizeof name, "%s: sentence %s: every item within %.0e of sacrebleu", fx->name, key,
		 SCORE_TOL);
	ok(max_diff <= SCORE_TOL, name);
	diag("%s: sentence %s: %zu of %zu bit-identical, max |diff| %.3g (item %zu)", fx->name, key,
	     bitwise, fx->n, max_diff, worst);
}

/* ---------------------------------------------- against sacrebleu: corpora */

static double corpus_from_stats(const struct fixture *fx, const size_t *idx, size_t n,
				const char *key)
{
	struct met_bleu_stats *b = malloc(fx->n * sizeof *b);
	struct met_chrf_stats *c = malloc(fx->n * sizeof *c);
	for (size_t i = 0; i < fx->n; i++) {
		b[i] = !strcmp(key, "bleu_13a") ? fx->p[i].b13a : fx->p[i].bintl;
		c[i] = !strcmp(key, "chrf") ? fx->p[i].chrf : fx->p[i].chrfpp;
	}
	double s = !strncmp(key, "bleu", 4) ? met_bleu_score(b, idx, n, 0) : met_chrf_score(c, idx, n, 2);
	free(b);
	free(c);
	return s;
}

/* corpus.jsonl (of pairs) or NAME_corpus.jsonl: one line per subset */
static void test_corpus_subsets(const struct fixture *fx, size_t want_subsets)
{
	static const char *const keys[] = {"bleu_13a", "bleu_intl", "chrf", "chrfpp"};
	char path[256];
	if (!strcmp(fx->name, "pairs"))
		snprintf(path, sizeof path, DATA "corpus.jsonl");
	else
		snprintf(path, sizeof path, DATA "%s_corpus.jsonl", fx->name);
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0, *idx = malloc(fx->n * sizeof *idx), n_subsets = 0;
	double max_diff = 0.0;
	while (f && getline(&line, &cap, f) > 0) {
		json_t *rec = load_line(line);
		const char *subset = json_string_value(json_object_get(rec, "subset"));
		size_t n = 0;
		for (size_t i = 0; i < fx->n; i++)
			if (!strcmp(subset, "all") ||
			    !strcmp(subset, json_string_value(json_object_get(fx->p[i].rec, "lang"))))
				idx[n++] = i;
		for (size_t k = 0; k < ARRAY_LEN(keys); k++) {
			double d = fabs(corpus_from_stats(fx, idx, n, keys[k]) - jnum(rec, keys[k], NULL));
			if (!(d <= max_diff))
				max_diff = d;
			if (!(d <= SCORE_TOL))
				diag("corpus %s %s: off by %.3g", subset, keys[k], d);
		}
		n_subsets += (size_t)json_integer_value(json_object_get(rec, "n")) == n;
		json_decref(rec);
	}
	char name[160];
	snprintf(name, sizeof name, "%s: corpus BLEU 13a/intl, chrF, chrF++ of %zu subsets within 1e-9 of sacrebleu",
		 fx->name, want_subsets);
	ok(n_subsets == want_subsets && max_diff <= SCORE_TOL, name);
	diag("%s: corpus scores (%zu subsets x 4 metrics): max |diff| %.3g", fx->name, n_subsets, max_diff);
	free(line);
	free(idx);
	if (f)
		fclose(f);
}

static struct met_text_item *items_of(const struct fixture *fx)
{
	struct met_text_item *items = malloc(fx->n * sizeof *items);
	for (size_t i = 0; i < fx->n; i++)
		items[i] = fx->p[i].item;
	return items;
}

static void test_stats_sum_equals_direct(const struct fixture *fx)
{
	struct met_text_item *items = items_of(fx);
	double direct[4], stats[4];
	met_bleu_corpus(items, fx->n, MET_BLEU_TOK_13A, &direct[0], NULL);
	met_bleu_corpus(items, fx->n, MET_BLEU_TOK_INTL, &direct[1], NULL);
	met_chrf_corpus(items, fx->n, &MET_CHRF_DEFAULTS, &direct[2], NULL);
	met_chrf_corpus(items, fx->n, &MET_CHRFPP_DEFAULTS, &direct[3], NULL);
	stats[0] = corpus_from_stats(fx, NULL, fx->n, "bleu_13a");
	stats[1] = corpus_from_stats(fx, NULL, fx->n, "bleu_intl");
	stats[2] = corpus_from_stats(fx, NULL, fx->n, "chrf");
	stats[3] = corpus_from_stats(fx, NULL, fx->n, "chrfpp");
	ok(direct[0] == stats[0] && direct[1] == stats[1] && direct[2] == stats[2] &&
	   direct[3] == stats[3], "corpus score from all items' statistics == direct corpus score (bitwise)");
	free(items);
}

/* A bootstrap resample scored from statistics equals the corpus of the
 * materialised resample (duplicated items and all). */
static void test_multiset_equals_materialised(const struct fixture *fx)
{
	static const size_t pick[] = {3, 3, 3, 0, 17, 120, 250, 17, 5};
	if (!ok(fx->n > 250, "the fixture holds the items the multiset picks (up to index 250)"))
		return; /* a short or empty pairs.jsonl: fx->p[250] is past its end */
	struct met_text_item items[ARRAY_LEN(pick)];
	for (size_t i = 0; i < ARRAY_LEN(pick); i++)
		items[i] = fx->p[pick[i]].item;
	double b_direct, c_direct;
	met_bleu_corpus(items, ARRAY_LEN(pick), MET_BLEU_TOK_13A, &b_direct, NULL);
	met_chrf_corpus(items, ARRAY_LEN(pick), &MET_CHRFPP_DEFAULTS, &c_direct, NULL);
	double b_stats = corpus_from_stats(fx, pick, ARRAY_LEN(pick), "bleu_13a");
	double c_stats = corpus_from_stats(fx, pick, ARRAY_LEN(pick), "chrfpp");
	ok(b_direct == b_stats && c_direct == c_stats && b_stats > 0 && c_stats > 0,
	   "score of an index multiset (repeats allowed) == corpus score of the repeated items");
}

/* ------------------------------------------------------------- SQuAD ASCII */

static const struct met_qa_opts squad_opts = {.drop_articles = 1, .fold_diacritics = 0};

/* 0 when normalisation, EM and F1 of (pred, answers) all equal the record's. */
static int squad_mismatch(const char *pred, json_t *answers, const char *norm, double em,
			  double f1)
{
	const char *refs[8];
	size_t n = json_array_size(answers);
	for (size_t r = 0; r < n && r < ARRAY_LEN(refs); r++)
		refs[r] = json_string_value(json_array_get(answers, r));
	struct met_text_item item = {pred, refs, n};
	char *got = NULL;
	double g_em = NAN, g_f1 = NAN;
	int rc = met_qa_normalize(pred, &squad_opts, &got, NULL) ||
		 met_qa_exact(&item, &squad_opts, &g_em, NULL) || met_qa_f1(&item, &squad_opts, &g_f1, NULL);
	int bad = rc || strcmp(got, norm) || g_em != em || !(fabs(g_f1 - f1) <= 1e-15);
	if (bad)
		diag("'%s': norm '%s' (want '%s') em %g (%g) f1 %.17g (%.17g)", pred, got ? got : "?",
		     norm, g_em, em, g_f1, f1);
	free(got);
	return bad;
}

static void test_squad_answers(void)
{
	FILE *f = fopen(DATA "squad.jsonl", "r");
	char *line = NULL;
	size_t cap = 0, n = 0, bad = 0;
	while (f && getline(&line, &cap, f) > 0) {
		json_t *r = load_line(line);
		bad += squad_mismatch(json_string_value(json_object_get(r, "pred")),
				      json_object_get(r, "answers"),
				      json_string_value(json_object_get(r, "norm_pred")),
				      jnum(r, "em", NULL), jnum(r, "f1", NULL));
		n++;
		json_decref(r);
	}
	ok(n >= 40 && bad == 0, "SQuAD short answers: normalisation, EM and F1 equal the v1.1 script");
	free(line);
	if (f)
		fclose(f);
}

static void test_squad_pairs(const struct fixture *fx)
{
	size_t n = 0, bad = 0;
	for (size_t i = 0; i < fx->n; i++) {
		json_t *sq = json_object_get(fx->p[i].rec, "squad");
		if (!sq)
			continue;
		n++;
		bad += squad_mismatch(fx->p[i].item.hyp, json_object_get(fx->p[i].rec, "refs"),
				      json_string_value(json_object_get(sq, "norm_hyp")), jnum(sq, "em", NULL),
				      jnum(sq, "f1", NULL));
	}
	char name[128];
	snprintf(name, sizeof name, "%s: SQuAD on the ASCII items: normalisation, EM and F1 equal the v1.1 script",
		 fx->name);
	ok(n >= 20 && bad == 0, name);
	diag("%s: %zu ASCII items", fx->name, n);
}

/* ------------------------------------------------------- hand-computed cases */

static double bleu1(const char *hyp, const char *ref, int sentence)
{
	const char *refs[] = {ref};
	struct met_text_item it = {hyp, refs, 1};
	struct met_bleu_stats s;
	if (met_bleu_item_stats(&it, MET_BLEU_TOK_13A, &s, NULL))
		return NAN;
	return met_bleu_score(&s, NULL, 1, sentence);
}

static double chrf1(const char *hyp, const char *ref)
{
	const char *refs[] = {ref};
	struct met_text_item it = {hyp, refs, 1};
	double s = NAN;
	met_chrf_sentence(&it, &MET_CHRF_DEFAULTS, &s, NULL);
	return s;
}

static void test_edges(void)
{
	is_near(bleu1("", "the cat sat down", 1), 0.0, 0, "BLEU: empty hypothesis scores 0");
	is_near(chrf1("", "the cat sat down"), 0.0, 0, "chrF: empty hypothesis scores 0");
	is_near(bleu1("the cat sat down", "", 1), 0.0, 0, "BLEU: empty reference scores 0");
	is_near(chrf1("the cat sat down", ""), 0.0, 0, "chrF: empty reference scores 0");
	is_near(chrf1(" \t\u00a0", "abc"), 0.0, 0, "chrF: whitespace-only hypothesis scores 0");
	is_near(bleu1("a b c d", "a b c d", 0), 100.0, 1e-12, "BLEU: identical 4-token texts score 100");
	/* precisions 4/5, 3/4, 2/3, 1/2; no brevity penalty: 100 * 0.2^(1/4) */
	is_near(bleu1("a b c d e", "a b c d", 0), 100.0 * pow(0.2, 0.25), 1e-12,
		"BLEU: hypothesis longer than reference: precision only, BP = 1");
	/* the reverse: all precisions 1, BP = exp(1 - 5/4) */
	is_near(bleu1("a b c d", "a b c d e", 0), 100.0 * exp(1.0 - 5.0 / 4.0), 1e-12,
		"BLEU: hypothesis shorter than reference: brevity penalty exp(1 - r/c)");
	is_near(chrf1("čćžšđ ЉЊЏ", "čćžšđ ЉЊЏ"), 100.0, 1e-12, "chrF: identical multi-byte texts score 100");

	const char *refs[] = {"ђак"};
	struct met_text_item it = {"ђак", refs, 1};
	struct met_chrf_stats s;
	met_chrf_item_stats(&it, &MET_CHRF_DEFAULTS, &s, NULL);
	ok(s.hyp[0] == 3 && s.hyp[2] == 1 && s.ref[3] == 0 && s.hyp[3] == 0,
	   "chrF: character n-grams count code points, not bytes");

	struct mrl_err err = {0};
	const char *bad_refs[] = {"ok"};
	struct met_text_item bad = {"\xc3\x28", bad_refs, 1};
	int rc = met_chrf_item_stats(&bad, &MET_CHRF_DEFAULTS, &s, &err);
	ok(rc == MRL_EINPUT && strstr(err.msg, "UTF-8"), "invalid UTF-8 is MRL_EINPUT naming UTF-8");
	struct met_text_item none = {"x", NULL, 0};
	struct met_bleu_stats b;
	ok(met_bleu_item_stats(&none, MET_BLEU_TOK_13A, &b, NULL) == MRL_EINPUT,
	   "an item without references is MRL_EINPUT");
	is_near(met_bleu_score(&b, NULL, 0, 0) + met_chrf_score(&s, NULL, 0, 2), 0.0, 0,
		"scores of an empty corpus are 0");
}

/* ------------------------------------------------------- BCMS normalisation */

static double qa(const char *pred, const char *ref, int fold, int kind)
{
	const char *refs[] = {ref};
	struct met_text_item it = {pred, refs, 1};
	struct met_qa_opts o = {.drop_articles = 0, .fold_diacritics = fold};
	double v = NAN;
	if (kind == 0)
		met_qa_exact(&it, &o, &v, NULL);
	else if (kind == 1)
		met_qa_f1(&it, &o, &v, NULL);
	else
		met_rouge_l(&it, &o, &v, NULL);
	return v;
}

static void norm_is(const char *s, int articles, int fold, const char *want, const char *name)
{
	struct met_qa_opts o = {articles, fold};
	char *got = NULL;
	met_qa_normalize(s, &o, &got, NULL);
	is_str(got, want, name);
	free(got);
}

static void test_bcms_normalisation(void)
{
	is_near(qa("KUĆA", "kuća", 0, 0), 1.0, 0, "EM: Latin with diacritics is case-folded");
	is_near(qa("КУЋА Ђорђа", "кућа ђорђа", 0, 0), 1.0, 0, "EM: Cyrillic is case-folded");
	is_near(qa("kuca", "kuća", 0, 0), 0.0, 0, "EM: diacritics are kept by default");
	is_near(qa("kuca", "kuća", 1, 0), 1.0, 0, "EM: fold_diacritics makes kuca == kuća");
	norm_is("Đorđe Čačak ŠIŽE", 0, 1, "djordje cacak size", "fold: đ -> dj, č ć š ž -> c c s z");
	norm_is("„Beograd”, (Srbija)… — «da»!", 0, 0, "beograd srbija da",
		"Unicode punctuation (quotes, ellipsis, dash, guillemets) is removed");
	norm_is("a ne the", 0, 0, "a ne the", "without drop_articles, 'a' (BCMS 'and') stays");
	norm_is("a ne the", 1, 0, "ne", "with drop_articles, a/an/the go");
	norm_is("c\xcc\x8c", 0, 0, "č", "decomposed c + caron is composed (NFC)");
	norm_is("10 € 5°", 0, 0, "10 € 5°", "non-ASCII symbols (category S) are kept");
	is_near(qa("glavni grad je Beograd", "Beograd", 0, 1), 0.4, 1e-15,
		"F1: precision 1/4, recall 1 gives 0.4");
	/* 2 common of 3 and 4 tokens: P 2/3, R 1/2, F1 4/7 */
	is_near(qa("Никола Тесла, физичар", "НИКОЛА ТЕСЛА је рођен", 0, 1), 4.0 / 7.0, 1e-15,
		"F1: Cyrillic tokens case-folded and counted, 4/7");
	is_near(qa("Djokovic", "Đoković", 1, 0), 1.0, 0, "EM with folding: Djokovic == Đoković (đ -> dj)");
	is_near(qa("Dokovic", "Đoković", 1, 0), 0.0, 0, "EM with folding: Dokovic != Đoković");
	const char *refs[] = {"Zagreb", "glavni grad Hrvatske", "grad Zagreb"};
	struct met_text_item multi = {"Grad Zagreb.", refs, 3};
	struct met_qa_opts o = {0, 0};
	double em = NAN, f1 = NAN;
	met_qa_exact(&multi, &o, &em, NULL);
	met_qa_f1(&multi, &o, &f1, NULL);
	ok(em == 1.0 && f1 == 1.0, "EM and F1 take the best of several references");
	is_near(qa("x y z w", "x z y w", 0, 2), 0.75, 1e-15, "ROUGE-L: LCS 3 of 4 and 4 gives 0.75");
	is_near(qa("", "x", 0, 2), 0.0, 0, "ROUGE-L: empty prediction gives 0");
	is_near(qa("w x y", "w x y", 0, 2), 1.0, 0, "ROUGE-L: identical gives 1");
}

int main(void)
{
	struct fixture fx;
	test_edges();
	test_bcms_normalisation();
	test_squad_answers();
	/* the written sentences (5 corpus subsets: all and each language), then
	 * the seeded random strings (1 subset) */
	static const struct {
		const char *name;
		size_t n_subsets;
	} sets[] = {{"pairs", 5}, {"fuzz", 1}};
	for (size_t s = 0; s < ARRAY_LEN(sets); s++) {
		if (fixture_load(&fx, sets[s].name)) {
			ok(0, "sacrebleu fixture present in tests/data/textmetrics/");
			continue;
		}
		test_all_items_computed(&fx);
		test_tokenize(&fx, MET_BLEU_TOK_13A, "13a");
		test_tokenize(&fx, MET_BLEU_TOK_INTL, "intl");
		test_item_stats(&fx);
		test_sentence_scores(&fx, "bleu_13a");
		test_sentence_scores(&fx, "bleu_intl");
		test_sentence_scores(&fx, "chrf");
		test_sentence_scores(&fx, "chrfpp");
		test_corpus_subsets(&fx, sets[s].n_subsets);
		test_stats_sum_equals_direct(&fx);
		if (s == 0)
			test_multiset_equals_materialised(&fx);
		test_squad_pairs(&fx);
		fixture_release(&fx);
	}
	return done_testing();
}
