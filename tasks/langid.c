/* langid.c — script mix and a marker-based language guess for generated answers.
 *
 * Script: every code point of category L* is counted as Cyrillic, Latin or
 * other by its Unicode block; the verdict needs TASK_SCRIPT_THRESHOLD of the
 * letters in one script.
 *
 * Language: a weighted vote of markers. The text is NFC-normalised and
 * case-folded, split into words (runs of letters and marks), and each word is
 * also transliterated from Serbian Cyrillic to Latin so that the Latin lists
 * (mleko/mlijeko, tko/ko, ...) serve sr-Cyrl as well. Markers are:
 *   - the script shares (Cyrillic rules out hr, sl, en; Latin rules out mk),
 *   - letters (ć đ: not Slovene; ś ź: Montenegrin; ѓ ќ ѕ: Macedonian; ђ ћ: Serbian),
 *   - words and stems in groups[] (reflexes, lexical pairs, function words),
 *   - two-word phrases in groups[] ("je li", "da li") and the grammar rules in
 *     scan_grammar() (pokušat ću / pokušaću / ću da; Macedonian articles).
 * Each marker adds amount * weight[lang] to each language's score (amount = occurrences,
 * capped at MAX_COUNT, so one repeated word cannot carry a long answer).
 * The weights were set by hand from knowledge of the standards and checked on
 * tests/data/langid/dev.tsv only; labelled.tsv and fresh.tsv are held out
 * (docs/langid.md says how the figures were obtained).
 */
#include "tasks/langid.h"

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <utf8proc.h>

#define MAX_COUNT 3   /* occurrences of one marker that count */
#define WORD_BYTES 96 /* longer words are not matched (no marker is that long) */

/* ---- script ------------------------------------------------------------ */

static bool is_letter(int32_t c)
{
	utf8proc_category_t k = utf8proc_category(c);
	return k == UTF8PROC_CATEGORY_LU || k == UTF8PROC_CATEGORY_LL || k == UTF8PROC_CATEGORY_LT ||
	       k == UTF8PROC_CATEGORY_LM || k == UTF8PROC_CATEGORY_LO;
}

static bool is_mark(int32_t c)
{
	utf8proc_category_t k = utf8proc_category(c);
	return k == UTF8PROC_CATEGORY_MN || k == UTF8PROC_CATEGORY_MC || k == UTF8PROC_CATEGORY_ME;
}

static bool is_cyrillic(int32_t c)
{
	return (c >= 0x0400 && c <= 0x052F) || (c >= 0x1C80 && c <= 0x1C8F) || (c >= 0x2DE0 && c <= 0x2DFF) ||
	       (c >= 0xA640 && c <= 0xA69F);
}

static bool is_latin(int32_t c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= 0x00C0 && c <= 0x024F) ||
	       (c >= 0x0250 && c <= 0x02AF) || (c >= 0x1D00 && c <= 0x1DBF) || (c >= 0x1E00 && c <= 0x1EFF) ||
	       (c >= 0x2C60 && c <= 0x2C7F) || (c >= 0xA720 && c <= 0xA7FF) || (c >= 0xAB30 && c <= 0xAB6F) ||
	       (c >= 0xFB00 && c <= 0xFB06) || (c >= 0xFF21 && c <= 0xFF3A) || (c >= 0xFF41 && c <= 0xFF5A) ||
	       c == 0x00AA || c == 0x00BA;
}

enum task_script task_script_verdict(const struct task_script_mix *mix, double threshold)
{
	if (mix->n_letters == 0)
		return TASK_SCRIPT_NONE;
	if (mix->share_cyrl >= threshold)
		return TASK_SCRIPT_CYRL;
	if (mix->share_latn >= threshold)
		return TASK_SCRIPT_LATN;
	return TASK_SCRIPT_MIXED;
}

int task_script_mix(const char *s, size_t len, struct task_script_mix *mix, struct mrl_err *err)
{
	memset(mix, 0, sizeof *mix);
	if (!s && len > 0)
		return mrl_err_set(err, MRL_EINPUT, "script mix: NULL text of length %zu", len);
	for (size_t at = 0; at < len;) {
		utf8proc_int32_t c;
		utf8proc_ssize_t avail = len - at > 4 ? 4 : (utf8proc_ssize_t)(len - at);
		utf8proc_ssize_t r = utf8proc_iterate((const utf8proc_uint8_t *)s + at, avail, &c);
		if (r <= 0) {
			mix->n_invalid++;
			at++;
			continue;
		}
		at += (size_t)r;
		if (!is_letter(c))
			continue;
		if (is_cyrillic(c))
			mix->n_cyrl++;
		else if (is_latin(c))
			mix->n_latn++;
		else
			mix->n_other++;
	}
	mix->n_letters = mix->n_cyrl + mix->n_latn + mix->n_other;
	if (mix->n_letters) {
		mix->share_cyrl = (double)mix->n_cyrl / (double)mix->n_letters;
		mix->share_latn = (double)mix->n_latn / (double)mix->n_letters;
		mix->share_other = (double)mix->n_other / (double)mix->n_letters;
	}
	mix->verdict = task_script_verdict(mix, TASK_SCRIPT_THRESHOLD);
	return 0;
}

enum task_script_check task_script_check(const struct task_script_mix *mix, enum task_script expected)
{
	if (mix->verdict == TASK_SCRIPT_NONE)
		return TASK_SCRIPT_NO_LETTERS;
	return mix->verdict == expected ? TASK_SCRIPT_OK : TASK_SCRIPT_WRONG;
}

const char *task_script_name(enum task_script script)
{
	switch (script) {
	case TASK_SCRIPT_CYRL: return "Cyrl";
	case TASK_SCRIPT_LATN: return "Latn";
	case TASK_SCRIPT_MIXED: return "mixed";
	case TASK_SCRIPT_NONE: break;
	}
	return "none";
}

int task_script_parse(const char *name, enum task_script *out, struct mrl_err *err)
{
	if (name && strcasecmp(name, "Cyrl") == 0)
		*out = TASK_SCRIPT_CYRL;
	else if (name && strcasecmp(name, "Latn") == 0)
		*out = TASK_SCRIPT_LATN;
	else
		return mrl_err_set(err, MRL_EINPUT, "unknown script '%s' (expected Cyrl or Latn)", name ? name : "(null)");
	return 0;
}

/* ---- languages ---------------------------------------------------------- */

static const char *const lang_names[TASK_LANG_COUNT] = {"en", "sr", "hr", "bs", "cnr", "sl", "mk"};

const char *task_lang_name(enum task_lang lang)
{
	return lang >= 0 && lang < TASK_LANG_COUNT ? lang_names[lang] : "unknown";
}

int task_lang_parse(const char *tag, enum task_lang *out, struct mrl_err *err)
{
	size_t n = tag ? strcspn(tag, "-_") : 0;
	for (int l = 0; tag && l < TASK_LANG_COUNT; l++)
		if (strlen(lang_names[l]) == n && strncasecmp(tag, lang_names[l], n) == 0) {
			*out = (enum task_lang)l;
			return 0;
		}
	return mrl_err_set(err, MRL_EINPUT, "unknown language tag '%s' (expected en, sr, hr, bs, cnr, sl or mk)",
			   tag ? tag : "(null)");
}

/* ---- the marker tables ----------------------------------------------------
 * W(en, sr, hr, bs, cnr, sl, mk): the weight per occurrence for each language.
 * forms: '|'-separated, lower case; "x*" matches words starting with x; "a b" is
 * two adjacent words (no punctuation between). Latin forms are compared with the
 * word's Latin transliteration, Cyrillic forms with the word itself.
 */
#define W(en, sr, hr, bs, cnr, sl, mk) {en, sr, hr, bs, cnr, sl, mk}

struct marker_group {
	const char *forms;
	const char *kind;
	const char *rule;
	float w[TASK_LANG_COUNT];
};

/* Script shares: amount = the share of letters in that script. */
static const struct marker_group script_cyrl = {"Cyrillic script", "script", "Cyrillic: sr or mk (bs, cnr rarely)",
						 W(-6, 2, -6, 0.5, 0.5, -6, 2)};
static const struct marker_group script_latn = {"Latin script", "script", "Latin: not mk", W(0, 0, 0, 0, 0, 0, -6)};

/* Letters, one code point per form (matched on the case-folded text, before transliteration). */
static const struct marker_group letter_groups[] = {
	{"ć|đ", "letter", "Latin ć đ: BCMS, not Slovene or English", W(-1, 0.3, 0.3, 0.3, 0.3, -2, 0)},
	{"č|š|ž", "letter", "Latin č š ž: not English", W(-0.5, 0, 0, 0, 0, 0, 0)},
	{"ś|ź", "letter", "ś ź: Montenegrin jotation", W(0, -0.5, -1, -0.5, 3, -1, 0)},
	{"w|q|x|y", "letter", "w q x y: not in the South Slavic alphabets", W(0.3, -0.2, -0.2, -0.2, -0.2, -0.2, 0)},
	{"ђ|ћ", "letter", "Cyrillic ђ ћ: Serbian, not Macedonian", W(0, 1, 0, 0.3, 0.3, 0, -2)},
	{"ѓ|ќ|ѕ", "letter", "Cyrillic ѓ ќ ѕ: Macedonian, not Serbian", W(0, -2, 0, 0, 0, 0, 2.5)},
	{"ы|э|ъ|ё|й|щ|ь|є|і|ї|ґ", "letter", "Cyrillic letters of neither sr nor mk", W(0, -2, 0, 0, 0, 0, -2)},
};

/* Ekavian (sr; sl and mk share many e-reflex forms) vs Ijekavian (hr, bs, cnr) reflexes of jat. */
#define EKAV_ALL W(0, 1.5, -0.5, -0.5, -0.5, 1, 1.5)    /* sr, sl and mk have the form */
#define EKAV_SR_SL W(0, 1.5, -0.5, -0.5, -0.5, 1, 0)  /* sr and sl */
#define EKAV_SR_MK W(0, 1.5, -0.5, -0.5, -0.5, 0, 1.5) /* sr and mk */
#define EKAV_SR W(0, 1.5, -0.5, -0.5, -0.5, 0, 0)       /* sr only */
#define IJEK W(0, 0.2, 1, 1, 1, -0.5, -0.5)             /* Ijekavian; sr has an Ijekavian norm too */

static const struct marker_group reflex_groups[] = {
	{"mleko|mleka|mleku|mlekom|reka|reke|reku|rekom|vreme|vremenu|vremenom|ceo|cela|celo|celi|celu|celog|celom|"
	 "mesto|mestu|primer|primera|primeru|primeri|sneg|snega|snegu|leto|letu|beo|bela|belo|beli|cena|cene|cenu|"
	 "telo|telu|svet|svetu|svetom|svetl*|zvezd*|reši*|železn*",
	 "reflex", "Ekavian e (sr; also sl, mk)", EKAV_ALL},
	{"lep|lepa|lepo|lepe|lepi|lepu|lepog|lepom|lepš*|pesm*|mesta", "reflex", "Ekavian e (sr, sl)", EKAV_SR_SL},
	{"dete|deteta|detetu|deca|dece|deci|decu|decom|devojk*|vek|veka|veku|vekova|lekar*|svetsk*",
	 "reflex", "Ekavian e (sr, mk)", EKAV_SR_MK},
	{"hteo|htela|hteli|htelo|razumeo|razumela|želeo|želela|voleo|volela|živeo|živela|umeo|sedeo|leteo|sleteo|"
	 "deo|gde|ovde|onde|negde|posle|uvek|reč|reči|rečju|rečima|rešenj*|sledeć*|verovatno|nedelja|nedelje|nedelju|"
	 "hleb|hleba|izveštaj*|obaveštenj*|pre|veštač*",
	 "reflex", "Ekavian e (sr only)", EKAV_SR},
	{"mlijeko|mlijeka|mlijeku|mlijekom|dijete|djeteta|djetetu|djeca|djece|djeci|djecu|djecom|lijep*|ljepš*|"
	 "rijek*|vrijeme|htio|htjela|htjeli|htjelo|rješenj*|riješ*|svijet|svijeta|svijetu|svijetom|svjetsk*|svjetl*|"
	 "gdje|ovdje|ondje|negdje|poslije|prije|uvijek|riječ*|dio|dijel*|cijel*|mjest*|primjer*|razumio|razumjela|"
	 "želio|željela|volio|voljela|živio|živjela|sjedio|letio|sletio|vidio|vidjela|snijeg*|ljeto|ljeti|ljetu|"
	 "bijel*|vijek*|cijen*|djevojk*|sljedeć*|nedjelj*|tijel*|lijek*|pjesm*|zvijezd*|djel*|vjer*|mjese*|željezn*",
	 "reflex", "Ijekavian ije/je (hr, bs, cnr)", IJEK},
	{"vjerojatno", "reflex", "hr vjerojatno / bs,cnr vjerovatno / sr verovatno", W(0, -0.5, 2, 0.3, 0, 0, 0)},
	{"umjetn*", "reflex", "hr umjetna / bs,cnr vještačka / sr veštačka", W(0, -0.3, 1.5, 0.7, 0.3, 0, 0)},
	{"vjerovatno|hljeb|hljeba|izvještaj*|vještač*", "reflex", "Ijekavian with eastern form (bs, cnr)",
	 W(0, 0.3, -0.5, 1.5, 1.5, 0, 0)},
};

/* Words that separate the standards. */
#define HR W(0, -0.5, 2, 0.3, 0, 0, 0)        /* Croatian standard */
#define HR_SL W(0, -0.5, 1.5, 0.3, 0, 1.5, 0) /* Croatian and Slovene share it */
#define EAST W(0, 1.5, -0.5, 1.5, 1.5, 0, 0)   /* sr, bs, cnr */
#define EAST_MK W(0, 1.5, -0.5, 1.5, 1.5, 0, 1) /* sr, bs, cnr, and mk in Cyrillic */
#define SL W(0, -0.5, -0.5, -0.5, -0.5, 2, 0) /* Slovene */

static const struct marker_group lexical_groups[] = {
	{"tko", "lexical", "hr tko / sr,bs,cnr ko", HR},
	{"ko", "lexical", "hr tko / sr,bs,cnr ko", W(0, 1, -0.5, 1, 1, 0.5, 0)},
	{"što", "lexical", "hr što / sr,bs,cnr šta", W(0, 0.3, 0.7, 0.3, 0.3, 0, 0.3)},
	{"šta", "lexical", "hr što / sr,bs,cnr šta", EAST},
	{"tisuća|tisuću|tisuće|tisućama", "lexical", "hr tisuća / hiljada", HR},
	{"hiljada|hiljadu|hiljade|hiljadama", "lexical", "hr tisuća / hiljada", EAST},
	{"vlak|vlaka|vlakom|vlaku|kruh|kruha|kruhom", "lexical", "hr,sl vlak, kruh / voz, hleb", HR_SL},
	{"voz|voza|vozom|vozu", "lexical", "hr vlak / voz", EAST_MK},
	{"točno|točan|točna|točni|točnog|točnu|točka|točke|točku", "lexical", "hr točno / tačno",
	 W(0, -0.5, 1.5, 0.3, 0, 1, 1)},
	{"tačno|tačan|tačna|tačni|tačnog|tačnu|tačka|tačke|tačku", "lexical", "hr točno / tačno", EAST},
	{"glazb*", "lexical", "hr glazba / muzika", HR},
	{"muzik*", "lexical", "hr glazba / muzika", EAST_MK},
	{"je li", "lexical", "hr je li / da li", W(0, -0.3, 1.5, 0.5, 0.3, 0, 0)},
	{"da li", "lexical", "hr je li / da li", W(0, 1, -0.5, 1, 1, 0, 0)},
	{"treba da", "lexical", "treba da + present (sr, cnr; bs)", W(0, 1, -0.5, 0.5, 1, 0, 0)},
	{"sveučilišt*", "lexical", "hr sveučilište / univerzitet", HR},
	{"univerzitet*", "lexical", "hr sveučilište / univerzitet", EAST_MK},
	{"tjedan|tjedna|tjednu|tjedno|tjedni", "lexical", "hr tjedan / sedmica, nedelja", HR},
	{"sedmic*", "lexical", "hr tjedan / sedmica", W(0, 0.5, -0.3, 1.5, 0.8, 0, 0)},
	{"zrakoplov*|kazališt*|povijest*|povijesn*|obitelj*|računalo|računala|računalu|računalom|računalima|"
	 "tijekom|unatoč|tvornic*|kolodvor*|postot*|izvješć*|upute|uputa|jučer",
	 "lexical", "hr zrakoplov, kazalište, povijest, obitelj, računalo, tijekom, ...", HR},
	{"pozorišt*|porodic*|tokom|uprkos|fabrik*|uputstv*|procenat|procenta|procentu|procenata|obavez*|izvinite|"
	 "izvini|juče",
	 "lexical", "sr,bs,cnr pozorište, porodica, tokom, uprkos, fabrika, ...", EAST},
	{"stanic*", "lexical", "stanica (hr kolodvor)", W(0, 0.5, -0.2, 0.5, 0.5, 0, 0.5)},
	{"avion*|aerodrom*", "lexical", "avion (hr zrakoplov)", W(0, 0.5, -0.3, 0.5, 0.5, 0, 0.5)},
	{"siječ*|veljač*|ožuj*|travanj|travnja|travnju|svibanj|svibnja|svibnju|lipanj|lipnja|lipnju|srpanj|srpnja|"
	 "srpnju|kolovoz*|rujan|rujna|rujnu|listopad*|studenog*|prosin*",
	 "lexical", "hr months (siječanj ...)", W(0, -0.5, 2, 0, 0, 0, 0)},
	{"januara|januaru|februara|februaru|marta|martu|septembar|oktobar|novembar|decembar", "lexical",
	 "months januar ... (sr, bs, cnr)", W(0, 0.8, -0.5, 0.8, 0.8, 0, 0)},
	{"januarja|februarja|marca|junija|julija|januarju|februarju", "lexical", "sl months", SL},
	{"histori*", "lexical", "bs historija / sr istorija / hr povijest", W(0, -0.3, 0.3, 2, 0.3, 0, 0)},
	{"istorij*", "lexical", "sr istorija / bs historija / hr povijest", W(0, 1.5, -0.5, 0, 1, 0, 1)},
	{"kemij*", "lexical", "hr kemija / hemija", W(0, -0.5, 1.5, 0, 0, 0.5, 0)},
	{"hemij*", "lexical", "hr kemija / hemija", W(0, 1, -0.5, 1, 1, 0, 1)},
	{"računar*", "lexical", "hr računalo / računar", W(0, 1.5, -0.5, 1.5, 1, 0, 0)},
	{"opć*|uopće", "lexical", "hr,bs opći / sr,cnr opšti", W(0, -0.5, 1.5, 1.5, 0, 0, 0)},
	{"opšt*|uopšte", "lexical", "hr,bs opći / sr,cnr opšti", W(0, 1.5, -0.5, 0, 1.5, 0, 1)},
	{"nauk*|naučn*", "lexical", "hr znanost / nauka", W(0, 1, -0.5, 1, 1, 0, 1)},
	{"znanost*|znanstven*", "lexical", "hr,sl znanost / nauka", W(0, -0.5, 2, 0, 0, 1.5, 0)},
	{"nogomet*", "lexical", "hr,sl nogomet / fudbal", W(0, -0.5, 2, 0, 0, 1.5, 0)},
	{"fudbal*", "lexical", "hr nogomet / fudbal", EAST_MK},
	{"zrak|zraka|zraku", "lexical", "hr,bs,sl zrak / sr,cnr vazduh", W(0, -0.5, 1.2, 1, 0, 1, 0)},
	{"vazduh*", "lexical", "hr,bs,sl zrak / sr,cnr vazduh", W(0, 1.5, -0.5, 0.7, 1.2, 0, 0)},
	{"kahv*|sahat*|mehk*", "lexical", "bs kahva, sahat, mehko", W(0, -0.5, -0.5, 2.5, 0, 0, 0)},
	{"lahk*", "lexical", "bs lahko (easy), sl lahko (can)", W(0, -0.5, -0.5, 1.2, 0, 1.5, 0)},
	{"kafa|kafu|kafe|kafom", "lexical", "sr,cnr kafa / hr kava / bs kahva", W(0, 1, -0.5, 0.3, 1, 0, 0)},
	{"kava|kavu|kave|kavom", "lexical", "hr,sl kava", W(0, -0.5, 1.5, 0, 0, 1, 0)},
	{"također", "lexical", "hr,bs također / sr,cnr takođe", W(0, -0.5, 1.5, 1.5, 0, 0, 0)},
	{"takođe", "lexical", "hr,bs također / sr,cnr takođe", W(0, 1.5, -0.5, 0, 1.5, 0, 0)},
	{"oprostite|oprosti", "lexical", "hr,sl oprostite / izvinite", W(0, 0, 1, 0.3, 0, 1, 0)},
	{"sretan|sretna|sretno|sretni", "lexical", "hr,bs sretan / sr,cnr srećan", W(0, -0.3, 1.5, 1, 0, 0, 0)},
	{"srećan|srećna|srećno|srećni", "lexical", "hr,bs sretan / sr,cnr srećan", W(0, 1.5, -0.5, 0, 1.2, 0, 0)},
	{"stoga|naime|dapače", "lexical", "hr stoga, naime", W(0, -0.3, 1, 0.7, 0, 0, 0)},
	{"veoma", "lexical", "veoma (sr, bs, cnr)", W(0, 1, 0, 1, 1, 0, 0)},
	{"đe|ovđe|onđe|negđe|đeca|đece|đeci|đecu|đevojk*|đed|đeda|đedu|ćera*|sjutra|nijesam|nijesi|nijesu|nijesmo|"
	 "nijeste|viđe*",
	 "lexical", "cnr jotation and nijesam (đe, ovđe, sjutra)", W(0, -0.5, -0.5, -0.5, 3, 0, 0)},
};

/* Function words: BCMS vs Slovene vs Macedonian vs English. */
#define BCMS W(0, 1, 1, 1, 1, -0.5, -0.5)
#define EN(x) W(x, 0, 0, 0, 0, 0, 0)
#define MK W(0, -1, 0, 0, 0, 0, 2)

static const struct marker_group function_groups[] = {
	{"je", "function", "je (BCMS, sl; mk е)", W(0, 0.5, 0.5, 0.5, 0.5, 0.5, -1)},
	{"su|nije|nisam|nisu|nismo|niste|koji|kojeg|kojem|kojim|kojoj|kojih|kojima|koju|kao|jer|bio|ovo|ovaj|ovog|"
	 "ovom|pitanj*|u|koliko",
	 "function", "BCMS function words (su, nije, u, koji, kao, jer, bio, ovo)", BCMS},
	{"sam|sa|još|kada|kad|mogu|možete|možemo", "function", "BCMS function words (sam, sa, još, kada)",
	 W(0, 0.7, 0.7, 0.7, 0.7, -0.5, 0)},
	{"ili|koja|koje|može|nema|godina|godine|zašto|molim|mnogo|vrlo", "function",
	 "BCMS function words shared with mk (ili, koja, može, nema)", W(0, 0.5, 0.5, 0.5, 0.5, -0.5, 0.3)},
	{"v|z|ki|kaj|kdo|kje|kdaj|zakaj|tudi|zelo|vendar|ker|če|še|že|kot|ter|bo|bom|boš|bomo|boste|bodo|sem|nisem|"
	 "niso|ni|nima|prosim|vprašanj*|bil|kater*|tega|temu|danes|jutri|torej|pomoč*|tisoč|glasb*|zgodovin*|"
	 "računalnik*|občin*|gledališč*|univerza|univerze|univerzi|letal*|rešitev|naslednj*|verjetno|vedno|včeraj|"
	 "preden|preveri*|vklop*|izklop*|kar|vsak*|vsi|vse|vsega|tukaj|zdaj|sedaj|morda|potem|čeprav|nekaj|nič",
	 "function", "Slovene words (v, ki, kaj, tudi, zelo, bo, sem, ni)", SL},
	{"in", "function", "sl in (and) / en in", W(0.7, -0.5, -0.5, -0.5, -0.5, 1.5, 0)},
	{"so", "function", "sl so (are) / en so", W(0.5, -0.3, -0.3, -0.3, -0.3, 1.5, 0)},
	{"pri|ob|pa", "function", "sl pri, ob, pa", W(0, 0, 0, 0, 0, 0.7, 0)},
	{"е|во|со|ги|го|тоа|овој|оваа|кое|кои|дека|многу|сум|дали|сака*|можам|јас|тие|таа|тој|ние|вие|еден|една|"
	 "едно|кај|каде|зошто|сите|секој|секоја|секое|илјад*|јазик*|прашањ*|нешто|ден|дена|околу|колку",
	 "function", "Macedonian words (е, во, со, дека, многу, тоа)", MK},
	{"је|један|једна|једно|једном|који|много|језик*", "function", "Serbian Cyrillic (је, један, који)",
	 W(0, 1.5, 0, 0.3, 0.3, 0, -1)},
	{"the", "function", "English", EN(1.5)},
	{"is|are|was|were|of|and|that|this|it|for|with|you|your|not|by|at|from|have|has|had|what|which|who|will|"
	 "would|can|could|does|did|if|there|they|their|we|she|his|her|be|been|here|please|yes|sorry|about|answer*|"
	 "question*|think|know|need|how|why|where|when|than|then|these|those|some|let|an|or|its|into|only|also",
	 "function", "English", EN(1)},
};

/* Grammar rules found by scan_grammar(). */
static const struct marker_group rule_clipped = {"", "grammar", "infinitive without -i + ću (pokušat ću): hr, bs",
						 W(0, -0.5, 2, 2, 0, 0, 0)};
static const struct marker_group rule_aux_da = {"", "grammar", "ću/ćeš/će + da + present: sr, cnr (bs)",
						W(0, 1, -1, 0.5, 1, 0, 0)};
static const struct marker_group rule_synth = {"", "grammar", "synthetic future (uradiću): sr, cnr",
					       W(0, 1.5, -1, -0.5, 1, 0, 0)};
static const struct marker_group rule_aux_inf = {"", "grammar", "ću/će + infinitive: all BCMS, mostly hr, bs",
						 W(0, 0.2, 0.5, 0.5, 0.2, 0, 0)};
static const struct marker_group rule_modal_da = {"", "grammar", "modal + da (mogu da, želim da): sr, cnr, bs",
						  W(0, 0.8, -0.3, 0.4, 0.8, 0, 0)};
static const struct marker_group rule_mk_article = {"", "grammar", "Macedonian article -от/-ото/-иот/-ето/-ата",
						    W(0, -0.3, 0, 0, 0, 0, 1)};

/* ---- scanning ------------------------------------------------------------ */

struct word {
	char lo[WORD_BYTES];  /* NFC, case-folded, as written */
	char lat[WORD_BYTES]; /* the same with Serbian Cyrillic letters transliterated to Latin */
	size_t n_lo, n_lat, n_letters;
	bool cyr;      /* has a Cyrillic letter */
	bool overflow; /* longer than WORD_BYTES: not matched */
	bool joined;   /* only white space between this word and the previous one */
};

/* Serbian Cyrillic а..џ (U+0430..U+045F, lower case) -> Latin; NULL: no Serbian letter
 * (ѓ ќ ѕ, Russian letters), which then stay as they are. */
static const char *const cyr_lat[0x60] = {
	[0x00] = "a", [0x01] = "b", [0x02] = "v", [0x03] = "g", [0x04] = "d", [0x05] = "e", [0x06] = "ž",
	[0x07] = "z", [0x08] = "i", [0x0A] = "k", [0x0B] = "l", [0x0C] = "m", [0x0D] = "n", [0x0E] = "o",
	[0x0F] = "p", [0x10] = "r", [0x11] = "s", [0x12] = "t", [0x13] = "u", [0x14] = "f", [0x15] = "h",
	[0x16] = "c", [0x17] = "č", [0x18] = "š", [0x52] = "đ", [0x58] = "j", [0x59] = "lj", [0x5A] = "nj",
	[0x5B] = "ć", [0x5F] = "dž",
};

static void append(char *buf, size_t *n, bool *overflow, const char *bytes, size_t len)
{
	if (*n + len + 1 > WORD_BYTES) {
		*overflow = true;
		return;
	}
	memcpy(buf + *n, bytes, len);
	*n += len;
	buf[*n] = '\0';
}

static void word_add(struct word *w, int32_t c)
{
	utf8proc_uint8_t enc[4];
	size_t n = (size_t)utf8proc_encode_char(c, enc);
	const char *lat = c >= 0x0430 && c <= 0x045F ? cyr_lat[c - 0x0430] : NULL;

	append(w->lo, &w->n_lo, &w->overflow, (const char *)enc, n);
	if (lat)
		append(w->lat, &w->n_lat, &w->overflow, lat, strlen(lat));
	else
		append(w->lat, &w->n_lat, &w->overflow, (const char *)enc, n);
	if (is_letter(c))
		w->n_letters++;
	if (is_cyrillic(c))
		w->cyr = true;
}

static void add_score(struct task_lang_guess *g, const float *w, double amount)
{
	for (int l = 0; l < TASK_LANG_COUNT; l++)
		g->score[l] += amount * w[l];
}

/* Record that a marker of group m fired on text; repeated hits of the same text
 * and rule count up to MAX_COUNT. */
static void add_hit(struct task_lang_guess *g, const struct marker_group *m, const char *text, double amount)
{
	for (size_t i = 0; i < g->n_hits; i++) {
		struct task_lang_hit *h = &g->hits[i];
		if (h->rule == m->rule && strcmp(h->text, text) == 0) {
			if (h->amount + amount <= MAX_COUNT) {
				h->amount += amount;
				add_score(g, m->w, amount);
			}
			return;
		}
	}
	add_score(g, m->w, amount);
	if (g->n_hits == TASK_LANG_MAX_HITS) {
		g->n_hits_dropped++;
		return;
	}
	struct task_lang_hit *h = &g->hits[g->n_hits++];
	snprintf(h->text, sizeof h->text, "%s", text);
	h->kind = m->kind;
	h->rule = m->rule;
	h->amount = amount;
	memcpy(h->weight, m->w, sizeof h->weight);
}

static bool is_cyrillic_form(const char *alt)
{
	unsigned char b = (unsigned char)alt[0];
	return b >= 0xD0 && b <= 0xD4;
}

/* The form of a word that an alternative is compared with: the word as written
 * for a Cyrillic alternative, its transliteration for a Latin one. */
static const char *form_of(const struct word *w, const char *alt, size_t *len)
{
	bool cyr = is_cyrillic_form(alt);
	*len = cyr ? w->n_lo : w->n_lat;
	return cyr ? w->lo : w->lat;
}

/* Does one alternative (no '|') of a group match word cur (and prev, for a phrase)?
 * The first byte is compared first: most words fail there. */
static bool alt_matches(const char *alt, size_t n, const char *space, const struct word *prev,
			const struct word *cur)
{
	size_t n_form;
	const char *form;

	if (n == 0)
		return false;
	if (space) {
		size_t na = (size_t)(space - alt), nb = n - na - 1, n_pform;
		const char *pform;
		if (!prev || !cur->joined)
			return false;
		pform = form_of(prev, alt, &n_pform);
		form = form_of(cur, alt, &n_form);
		return n_pform == na && memcmp(pform, alt, na) == 0 && n_form == nb && memcmp(form, space + 1, nb) == 0;
	}
	form = form_of(cur, alt, &n_form);
	if (form[0] != alt[0])
		return false;
	if (alt[n - 1] == '*')
		return n_form >= n - 1 && memcmp(form, alt, n - 1) == 0;
	return n_form == n && memcmp(form, alt, n) == 0;
}

static void match_groups(struct task_lang_guess *g, const struct marker_group *groups, size_t n_groups,
			 const struct word *prev, const struct word *cur)
{
	for (size_t i = 0; i < n_groups; i++) {
		const char *alt = groups[i].forms;
		while (*alt) {
			const char *space = NULL;
			size_t n = 0;
			for (; alt[n] && alt[n] != '|'; n++) /* by hand: strcspn's call costs more on such short strings */
				if (alt[n] == ' ')
					space = alt + n;
			if (alt_matches(alt, n, space, prev, cur)) {
				char text[2 * WORD_BYTES + 2];
				if (space)
					snprintf(text, sizeof text, "%s %s", prev->lo, cur->lo);
				else
					snprintf(text, sizeof text, "%s", cur->lo);
				add_hit(g, &groups[i], text, 1);
			}
			alt += n + (alt[n] == '|');
		}
	}
}

static bool in_list(const char *s, const char *list)
{
	size_t n = strlen(s);
	for (const char *p = list; *p;) {
		size_t k = strcspn(p, "|");
		if (k == n && memcmp(p, s, n) == 0)
			return true;
		p += k + (p[k] == '|');
	}
	return false;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);
	return n >= k && memcmp(s + n - k, suffix, k) == 0;
}

#define AUX_12 "ću|ćeš|ćemo|ćete"
#define AUX_ALL "ću|ćeš|će|ćemo|ćete"
#define MODALS "mogu|možeš|može|možemo|možete|želim|želiš|želi|želimo|želite|žele|hoću|hoćeš|hoće|hoćemo|" \
	       "hoćete|treba|moram|moraš|mora|moramo|morate|moraju|trebam"

/* The future tense and modal constructions, and Macedonian articles (see the rule_* groups). */
static void scan_grammar(struct task_lang_guess *g, const struct word *prev, const struct word *cur)
{
	char text[2 * WORD_BYTES + 2];
	bool pair = prev && cur->joined && !prev->overflow;

	snprintf(text, sizeof text, "%s %s", prev ? prev->lo : "", cur->lo);
	if (pair && in_list(cur->lat, AUX_12) && prev->n_letters >= 3 && ends_with(prev->lat, "t") &&
	    !in_list(prev->lat, "opet|put|dvaput|triput|sat|pet|svet|rat"))
		add_hit(g, &rule_clipped, text, 1);
	if (pair && strcmp(cur->lat, "da") == 0 && in_list(prev->lat, AUX_ALL))
		add_hit(g, &rule_aux_da, text, 1);
	if (pair && strcmp(cur->lat, "da") == 0 && in_list(prev->lat, MODALS))
		add_hit(g, &rule_modal_da, text, 1);
	if (pair && in_list(prev->lat, AUX_ALL) && cur->n_letters >= 4 &&
	    (ends_with(cur->lat, "ti") || ends_with(cur->lat, "ći")))
		add_hit(g, &rule_aux_inf, text, 1);
	if (cur->n_letters >= 5 && !in_list(cur->lat, "piću|ptiću") &&
	    (ends_with(cur->lat, "iću") || ends_with(cur->lat, "aću") || ends_with(cur->lat, "ićeš") ||
	     ends_with(cur->lat, "aćeš") || ends_with(cur->lat, "ićemo") || ends_with(cur->lat, "aćemo") ||
	     ends_with(cur->lat, "ićete") || ends_with(cur->lat, "aćete")))
		add_hit(g, &rule_synth, cur->lo, 1);
	if (cur->cyr && ((cur->n_letters >= 5 && (ends_with(cur->lo, "ото") || ends_with(cur->lo, "иот"))) ||
			 (cur->n_letters >= 6 && (ends_with(cur->lo, "от") || ends_with(cur->lo, "ето") ||
						  ends_with(cur->lo, "ата")))))
		add_hit(g, &rule_mk_article, cur->lo, 1);
}

static void scan_letter(struct task_lang_guess *g, int32_t c)
{
	utf8proc_uint8_t enc[5] = {0};
	if (c < 0x80 && !strchr("wqxy", (int)c)) /* the only ASCII letter markers */
		return;
	utf8proc_encode_char(c, enc);
	for (size_t i = 0; i < sizeof letter_groups / sizeof letter_groups[0]; i++)
		if (in_list((const char *)enc, letter_groups[i].forms))
			add_hit(g, &letter_groups[i], (const char *)enc, 1);
}

static void scan_word(struct task_lang_guess *g, const struct word *prev, const struct word *cur)
{
	g->n_words++;
	if (cur->overflow || g->n_words > TASK_LANG_MAX_WORDS)
		return;
	if (prev && prev->overflow)
		prev = NULL;
	match_groups(g, reflex_groups, sizeof reflex_groups / sizeof reflex_groups[0], prev, cur);
	match_groups(g, lexical_groups, sizeof lexical_groups / sizeof lexical_groups[0], prev, cur);
	match_groups(g, function_groups, sizeof function_groups / sizeof function_groups[0], prev, cur);
	scan_grammar(g, prev, cur);
}

static bool is_space(int32_t c)
{
	utf8proc_category_t k = utf8proc_category(c);
	return c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f' || k == UTF8PROC_CATEGORY_ZS ||
	       k == UTF8PROC_CATEGORY_ZL || k == UTF8PROC_CATEGORY_ZP;
}

/* Walk the normalised text: letters (and marks inside a word) build words,
 * anything else ends one; only white space between two words keeps them
 * "joined" for phrases. */
static void scan_text(struct task_lang_guess *g, const utf8proc_uint8_t *t, utf8proc_ssize_t n)
{
	struct word words[2];
	int cur = 0;
	bool in_word = false, have_prev = false, gap_clean = true;

	memset(words, 0, sizeof words);
	for (utf8proc_ssize_t off = 0; off < n;) {
		utf8proc_int32_t c = 0;
		utf8proc_ssize_t r = utf8proc_iterate(t + off, n - off, &c);
		off += r > 0 ? r : 1;
		if (r > 0 && (is_letter(c) || (in_word && is_mark(c)))) {
			if (!in_word) {
				memset(&words[cur], 0, sizeof words[cur]);
				words[cur].joined = have_prev && gap_clean;
				in_word = true;
			}
			word_add(&words[cur], c);
			if (is_letter(c))
				scan_letter(g, c);
			continue;
		}
		if (in_word) {
			scan_word(g, have_prev ? &words[!cur] : NULL, &words[cur]);
			cur = !cur;
			have_prev = true;
			in_word = false;
			gap_clean = true;
		}
		if (r <= 0 || !is_space(c))
			gap_clean = false;
	}
	if (in_word)
		scan_word(g, have_prev ? &words[!cur] : NULL, &words[cur]);
}

/* A copy of s[0..len) with each invalid UTF-8 byte replaced by a space, NFC and
 * case-folded; *out is malloc'd (NULL for empty text). */
static int normalise(const char *s, size_t len, utf8proc_uint8_t **out, utf8proc_ssize_t *n_out,
		     struct mrl_err *err)
{
	char *clean;
	size_t n = 0;
	utf8proc_ssize_t r;

	*out = NULL;
	*n_out = 0;
	if (len == 0)
		return 0;
	if (len > (size_t)INT32_MAX)
		return mrl_err_set(err, MRL_EINPUT, "language guess: text too long (%zu bytes)", len);
	clean = malloc(len);
	if (!clean)
		return mrl_err_set(err, MRL_ENOMEM, "language guess: out of memory");
	for (size_t at = 0; at < len;) {
		utf8proc_int32_t c;
		utf8proc_ssize_t avail = len - at > 4 ? 4 : (utf8proc_ssize_t)(len - at);
		utf8proc_ssize_t k = utf8proc_iterate((const utf8proc_uint8_t *)s + at, avail, &c);
		if (k <= 0) {
			clean[n++] = ' ';
			at++;
			continue;
		}
		memcpy(clean + n, s + at, (size_t)k);
		n += (size_t)k;
		at += (size_t)k;
	}
	r = utf8proc_map((const utf8proc_uint8_t *)clean, (utf8proc_ssize_t)n, out,
			 UTF8PROC_STABLE | UTF8PROC_COMPOSE | UTF8PROC_CASEFOLD);
	free(clean);
	if (r < 0) {
		*out = NULL;
		return mrl_err_set(err, r == UTF8PROC_ERROR_NOMEM ? MRL_ENOMEM : MRL_ERUNTIME,
				   "language guess: cannot normalise the text: %s", utf8proc_errmsg(r));
	}
	*n_out = r;
	return 0;
}

/* Rank, softmax and the unknown rule, from g->score. */
static void decide(struct task_lang_guess *g)
{
	double max, sum = 0;

	for (int l = 0; l < TASK_LANG_COUNT; l++)
		g->rank[l] = (enum task_lang)l;
	for (int i = 1; i < TASK_LANG_COUNT; i++) /* insertion sort: stable, ties stay in enum order */
		for (int j = i; j > 0 && g->score[g->rank[j]] > g->score[g->rank[j - 1]]; j--) {
			enum task_lang t = g->rank[j];
			g->rank[j] = g->rank[j - 1];
			g->rank[j - 1] = t;
		}
	max = g->score[g->rank[0]];
	for (int l = 0; l < TASK_LANG_COUNT; l++)
		sum += exp(g->score[l] - max);
	for (int l = 0; l < TASK_LANG_COUNT; l++)
		g->prob[l] = exp(g->score[l] - max) / sum;
	g->margin = max - g->score[g->rank[1]];
	g->lang = max >= TASK_LANG_MIN_SCORE && g->margin >= TASK_LANG_MIN_MARGIN ? g->rank[0] : TASK_LANG_UNKNOWN;
}

enum task_lang_check task_lang_check(const struct task_lang_guess *g, enum task_lang expected)
{
	double best = g->score[g->rank[0]];
	if (best < TASK_LANG_MIN_SCORE)
		return TASK_LANG_UNDECIDED;
	if (expected < 0 || expected >= TASK_LANG_COUNT)
		return TASK_LANG_WRONG;
	return best - g->score[expected] < TASK_LANG_MIN_MARGIN ? TASK_LANG_OK : TASK_LANG_WRONG;
}

int task_lang_guess(const char *s, size_t len, struct task_lang_guess *g, struct mrl_err *err)
{
	utf8proc_uint8_t *text = NULL;
	utf8proc_ssize_t n = 0;
	int rc;

	memset(g, 0, sizeof *g);
	g->lang = TASK_LANG_UNKNOWN;
	rc = task_script_mix(s, len, &g->script, err);
	if (rc)
		return rc;
	rc = normalise(s, len, &text, &n, err);
	if (rc)
		return rc;
	if (g->script.share_cyrl > 0)
		add_hit(g, &script_cyrl, script_cyrl.forms, g->script.share_cyrl);
	if (g->script.share_latn > 0)
		add_hit(g, &script_latn, script_latn.forms, g->script.share_latn);
	scan_text(g, text, n);
	free(text);
	decide(g);
	return 0;
}
