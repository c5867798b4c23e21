#!/usr/bin/env python3
"""gen.py — oracle fixtures for merilo's generation metrics (tests/met_text.c).

Writes, next to this script:
  pairs.jsonl   one hypothesis/references item per line, with sacrebleu's
                sentence scores (chrF, chrF++, BLEU 13a, BLEU intl), its
                per-item sufficient statistics, its tokenisations, and for
                ASCII-only items the SQuAD v1.1 EM/F1 and normalised hypothesis
  corpus.jsonl  sacrebleu's corpus scores over all items and per language
  squad.jsonl   short-answer QA pairs (ASCII) with SQuAD v1.1 EM/F1
  fuzz.jsonl, fuzz_corpus.jsonl
                the same records for seeded random strings built from tokens
                that stress the tokenisers (punctuation next to digits,
                entities, Python-only whitespace, Unicode N/P/S categories)

Run:  python3 -m pip install sacrebleu   (2.x; the files were made with 2.6.0)
      python3 tests/data/textmetrics/gen.py
The sentences were written for merilo (hypotheses play model outputs: small
translation errors, reordered or dropped words, wrong script, missing
diacritics, punctuation and number variants). License of the sentences and of
the generated files: CC BY 4.0. CI reads only the committed outputs.
"""
import json
import os
import random
import re
import string
from collections import Counter

import sacrebleu
from sacrebleu.metrics import BLEU, CHRF

HERE = os.path.dirname(os.path.abspath(__file__))

# ---------------------------------------------------------------- sentences
# (reference, hand-written hypothesis); several references are joined by " || "

EN = [
    ("The cat is sleeping on the warm windowsill.", "The cat sleeps on the warm window sill."),
    ("We will meet at the train station at 7:30 tomorrow.", "We will meet tomorrow at 7:30 at the station."),
    ("The museum is closed on Mondays.", "Museum is closed on Monday."),
    ("She bought three kilograms of apples and a loaf of bread.", "She bought 3 kg of apples and bread."),
    ("The river Sava flows into the Danube in Belgrade.", "The Sava river flows into the Danube at Belgrade."),
    ("I don't know where he left the keys.", "I do not know where he put the keys."),
    ("The price rose by 12.5% in 2023.", "In 2023 the price increased by 12.5 %."),
    ("Please close the door when you leave.", "Please close the door when leaving."),
    ("The children were playing football in the park until dark.", "Kids played soccer in the park until it was dark."),
    ("Our flight to Zagreb was delayed by two hours.", "Our flight to Zagreb was two hours late."),
    ("He has been working at the hospital since 2015.", "He works in the hospital since 2015."),
    ("The meeting, which lasted three hours, ended without agreement.", "The meeting lasted three hours and ended with no agreement."),
    ("Can you tell me how to get to the city centre?", "Could you tell me the way to the city center?"),
    ("Water boils at 100 degrees Celsius at sea level.", "At sea level, water boils at 100 °C."),
    ("The old bridge was rebuilt after the war.", "The old bridge was built again after the war."),
    ("My grandmother makes the best pies in the village.", "My grandma makes the best pie in the village."),
    ("The report says unemployment fell to 9.4 percent.", "According to the report, unemployment dropped to 9,4 percent."),
    ("Tickets cost 1,200 dinars for adults and half for children.", "Tickets are 1200 dinars for adults and half price for kids."),
    ("It's going to rain tonight, so take an umbrella.", "It will rain tonight so take umbrella."),
    ("The library has more than 40,000 books in Serbian and Croatian.", "The library has over 40.000 books in Serbian and Croatian."),
    ("Turn left at the second traffic light.", "Turn left at the second traffic lights."),
    ("The doctor said the results were normal.", "The doctor told me that results are normal."),
    ("Novak Djokovic won the tournament for the tenth time.", "Novak Đoković won the tournament the tenth time."),
    ("\"Where are you going?\" she asked.", "She asked: \"Where are you going?\""),
    ("The e-mail arrived at 09:15, not at 9:50.", "The email came at 9:15, not 9:50."),
    ("Add salt, pepper and a little olive oil.", "Add salt, pepper, and some olive oil."),
    ("The train from Novi Sad arrives at platform 3.", "The train from Novi Sad comes to platform three."),
    ("They have lived in Sarajevo for twenty years.", "They lived in Sarajevo twenty years."),
    ("Don't forget to water the plants!", "Do not forget watering the plants!"),
    ("The fox jumped over the fence and ran into the forest.", "The fox ran into the forest after jumping the fence."),
    ("The capital of Montenegro is Podgorica.", "Podgorica is the capital of Montenegro. || The capital city of Montenegro is Podgorica."),
    ("Five people were injured in the accident on the highway.", "In the highway accident five people got injured."),
]

SR_LATN = [
    ("Mačka spava na toplom prozoru.", "Mačka spava na toplom prozorskom pragu."),
    ("Sutra ćemo se naći na železničkoj stanici u 7.30.", "Naći ćemo se sutra na stanici u 7:30."),
    ("Muzej ne radi ponedeljkom.", "Muzej je zatvoren ponedeljkom."),
    ("Kupila je tri kilograma jabuka i veknu hleba.", "Kupila je 3 kg jabuka i hleb."),
    ("Sava se uliva u Dunav u Beogradu.", "Reka Sava se uliva u Dunav kod Beograda."),
    ("Ne znam gde je ostavio ključeve.", "Ne znam gdje je ostavio kljuceve."),
    ("Cena je porasla za 12,5% u 2023. godini.", "U 2023. cena je porasla za 12,5 %."),
    ("Molim vas, zatvorite vrata kada izlazite.", "Molim zatvorite vrata kad izlazite."),
    ("Deca su igrala fudbal u parku do mraka.", "Djeca su igrala nogomet u parku do mraka."),
    ("Naš let za Zagreb kasnio je dva sata.", "Naš let za Zagreb je kasnio dva sata."),
    ("Radi u bolnici od 2015. godine.", "On radi u bolnici od 2015."),
    ("Sastanak, koji je trajao tri sata, završio se bez dogovora.", "Sastanak je trajao tri sata i završen je bez dogovora."),
    ("Možete li mi reći kako da stignem do centra grada?", "Da li mi možete reći kako doći do centra grada?"),
    ("Voda ključa na 100 stepeni Celzijusa na nivou mora.", "Na nivou mora voda ključa na 100 °C."),
    ("Stari most je obnovljen posle rata.", "Stari most je ponovo izgrađen posle rata."),
    ("Moja baka pravi najbolje pite u selu.", "Moja baka pravi najbolju pitu u selu."),
    ("Prema izveštaju, nezaposlenost je pala na 9,4 odsto.", "Po izveštaju nezaposlenost je pala na 9.4 procenta."),
    ("Karta košta 1.200 dinara za odrasle, a upola manje za decu.", "Karta je 1200 dinara za odrasle i pola cene za decu."),
    ("Večeras će padati kiša, zato ponesi kišobran.", "Veceras ce padati kisa pa ponesi kisobran."),
    ("Biblioteka ima više od 40.000 knjiga.", "Biblioteka ima preko 40 000 knjiga."),
    ("Na drugom semaforu skrenite levo.", "Skrenite lijevo na drugom semaforu."),
    ("Lekar je rekao da su nalazi u redu.", "Doktor je rekao da su rezultati normalni."),
    ("Novak Đoković je osvojio turnir po deseti put.", "Novak Djoković je deseti put osvojio turnir."),
    ("„Kuda ideš?” upitala je.", "Upitala je: \"Kuda ideš?\""),
    ("Ne zaboravi da zaliješ cveće!", "Ne zaboravi zaliti cveće!"),
    ("Lisica je preskočila ogradu i utrčala u šumu.", "Lisica je utrčala u šumu, preskočivši ogradu."),
    ("Glavni grad Crne Gore je Podgorica.", "Podgorica je glavni grad Crne Gore. || Glavni grad Crne Gore jeste Podgorica."),
    ("U nesreći na autoputu povređeno je pet osoba.", "Pet ljudi je povređeno u nesreći na auto-putu."),
    ("Voz iz Novog Sada stiže na peron 3.", "Voz iz Novog Sada dolazi na treći peron."),
    ("Dodajte so, biber i malo maslinovog ulja.", "Dodajte soli, bibera i malo maslinovog ulja."),
]

SR_CYRL = [
    ("Мачка спава на топлом прозору.", "Mačka spava na toplom prozoru."),
    ("Сутра ћемо се наћи на железничкој станици у 7.30.", "Наћи ћемо се сутра на станици у 7:30."),
    ("Музеј не ради понедељком.", "Музеј је затворен понедељком."),
    ("Купила је три килограма јабука и векну хлеба.", "Купила је 3 кг јабука и хлеб."),
    ("Сава се улива у Дунав у Београду.", "Река Сава се улива у Дунав код Београда."),
    ("Не знам где је оставио кључеве.", "Не знам где је ставио кључеве."),
    ("Цена је порасла за 12,5% у 2023. години.", "У 2023. цена је порасла за 12,5 %."),
    ("Деца су играла фудбал у парку до мрака.", "Deca su igrala fudbal u parku do mraka."),
    ("Наш лет за Загреб каснио је два сата.", "Наш лет за Загреб је каснио два сата."),
    ("Састанак, који је трајао три сата, завршио се без договора.", "Састанак је трајао три сата и завршен је без договора."),
    ("Можете ли ми рећи како да стигнем до центра града?", "Да ли ми можете рећи како доћи до центра града?"),
    ("Стари мост је обновљен после рата.", "Стари мост је поново изграђен после рата."),
    ("Моја бака прави најбоље пите у селу.", "Моја бака прави најбољу питу у селу."),
    ("Према извештају, незапосленост је пала на 9,4 одсто.", "По извештају незапосленост је пала на 9.4 процента."),
    ("Карта кошта 1.200 динара за одрасле, а упола мање за децу.", "Карта је 1200 динара за одрасле и пола цене за децу."),
    ("Вечерас ће падати киша, зато понеси кишобран.", "Вечерас ће падати киша па понеси кишобран."),
    ("Библиотека има више од 40.000 књига на српском.", "Библиотека има преко 40 000 књига на srpskom."),
    ("Лекар је рекао да су налази у реду.", "Доктор је рекао да су резултати нормални."),
    ("Новак Ђоковић је освојио турнир по десети пут.", "Novak Đoković je deseti put osvojio turnir."),
    ("„Куда идеш?” упитала је.", "Упитала је: „Куда идеш?”"),
    ("Не заборави да залијеш цвеће!", "Не заборави да залијеш цвеће"),
    ("Лисица је прескочила ограду и утрчала у шуму.", "Лисица је утрчала у шуму, прескочивши ограду."),
    ("Главни град Црне Горе је Подгорица.", "Подгорица је главни град Црне Горе. || Главни град Црне Горе јесте Подгорица."),
    ("У несрећи на аутопуту повређено је пет особа.", "Пет људи је повређено у несрећи на ауто-путу."),
    ("Воз из Новог Сада стиже на перон 3.", "Воз из Новог Сада долази на трећи перон."),
    ("Џеп му је био пун ситниша.", "Џеп му је био пун ситног новца."),
    ("Љубазни продавац нам је показао пут до пијаце.", "Ljubazni prodavac nam je pokazao put do пијаце."),
    ("Њихова кућа је на крају улице — одмах поред школе.", "Њихова кућа је на крају улице, одмах поред школе."),
    ("Ђаци су у петак ишли на екскурзију у Ниш.", "Ђаци су у петак отишли на екскурзију у Ниш."),
    ("Температура је пала на −5 °C током ноћи.", "Током ноћи температура је пала на -5 степени."),
]

HR = [
    ("Mačka spava na toplom prozoru.", "Mačka spava na toploj prozorskoj dasci."),
    ("Sutra ćemo se naći na željezničkom kolodvoru u 7.30.", "Naći ćemo se sutra na kolodvoru u 7:30."),
    ("Muzej ne radi ponedjeljkom.", "Muzej je zatvoren ponedjeljkom."),
    ("Kupila je tri kilograma jabuka i štrucu kruha.", "Kupila je 3 kg jabuka i kruh."),
    ("Sava se ulijeva u Dunav u Beogradu.", "Rijeka Sava se ulijeva u Dunav kod Beograda."),
    ("Ne znam gdje je ostavio ključeve.", "Ne znam gdje je stavio kljuceve."),
    ("Cijena je porasla za 12,5 % u 2023. godini.", "U 2023. cijena je narasla za 12,5%."),
    ("Molim vas, zatvorite vrata kad izlazite.", "Molim vas zatvorite vrata kada odlazite."),
    ("Djeca su igrala nogomet u parku do mraka.", "Deca su igrala fudbal u parku do mraka."),
    ("Naš let za Zagreb kasnio je dva sata.", "Let za Zagreb kasnio je dva sata."),
    ("Radi u bolnici od 2015. godine.", "Radi u bolnici još od 2015."),
    ("Sastanak, koji je trajao tri sata, završio je bez dogovora.", "Sastanak je trajao tri sata i završio bez dogovora."),
    ("Možete li mi reći kako doći do središta grada?", "Možete li mi reći kako da dođem do centra grada?"),
    ("Voda vrije na 100 Celzijevih stupnjeva na razini mora.", "Na razini mora voda vrije na 100 °C."),
    ("Stari most obnovljen je nakon rata.", "Stari most je ponovno izgrađen poslije rata."),
    ("Moja baka radi najbolje pite u selu.", "Moja baka radi najbolju pitu u selu."),
    ("Prema izvješću, nezaposlenost je pala na 9,4 posto.", "Prema izvještaju nezaposlenost je pala na 9.4 posto."),
    ("Ulaznica stoji 15 eura za odrasle, a upola manje za djecu.", "Ulaznica košta 15 € za odrasle i pola cijene za djecu."),
    ("Večeras će padati kiša, zato ponesi kišobran.", "Veceras ce padati kisa, ponesi kisobran."),
    ("Knjižnica ima više od 40.000 knjiga.", "Knjižnica ima preko 40 000 knjiga."),
    ("Na drugom semaforu skrenite lijevo.", "Skrenite lijevo kod drugog semafora."),
    ("Liječnik je rekao da su nalazi uredni.", "Doktor je rekao da su rezultati normalni."),
    ("Tko je pobijedio na jučerašnjoj utakmici?", "Ko je pobedio na jučerašnjoj utakmici?"),
    ("„Kamo ideš?” upitala je.", "Upitala je: „Kamo ideš?“"),
    ("Ne zaboravi zaliti cvijeće!", "Ne zaboravi zaliti cvijeće."),
    ("Lisica je preskočila ogradu i utrčala u šumu.", "Lisica je utrčala u šumu nakon što je preskočila ogradu."),
    ("Glavni grad Hrvatske je Zagreb.", "Zagreb je glavni grad Hrvatske. || Zagreb je hrvatski glavni grad."),
    ("U nesreći na autocesti ozlijeđeno je pet osoba.", "Pet ljudi je ozlijeđeno u nesreći na autocesti."),
    ("Vlak iz Splita stiže na peron 3.", "Vlak iz Splita dolazi na treći peron."),
    ("Tisuću puta sam ti rekao da to ne diraš.", "Hiljadu puta sam ti rekao da to ne diraš."),
]

# Items written for one edge each: (lang, hypothesis, [references])
EDGE = [
    ("en", "", ["The museum is closed on Mondays."]),
    ("en", "The museum is closed on Mondays.", [""]),
    ("en", "", [""]),
    ("en", "   \t ", ["Nothing here."]),
    ("en", "Closed.", ["   "]),
    ("en", "The museum, which is in the old town and was founded in 1903, is closed on Mondays, "
     "on public holidays, and during the whole of August, when the staff are on holiday.",
     ["The museum is closed on Mondays."]),
    ("en", "Mondays", ["The museum is closed on Mondays."]),
    ("en", "Tom &amp; Jerry &quot;live&quot; &lt;here&gt;.", ["Tom & Jerry \"live\" <here>."]),
    ("en", "The well-\nknown <skipped> author wrote it.", ["The well-known author wrote it."]),
    ("en", "It costs $5.99 (about 5,50 EUR) - cheap!", ["It costs $5.99, about 5.50 EUR, which is cheap!"]),
    ("en", "Call 011-234-567 between 9-17h.", ["Call 011 234 567 from 9 to 17h."]),
    ("en", "x", ["x"]),
    ("en", "a b c d", ["a b c d"]),
    ("en", "the the the the the the the", ["The cat is on the mat."]),
    ("en", "The cat is on the mat .", ["The cat is on the mat."]),
    ("en", "The cat\u00a0is on\u2009the mat.", ["The cat is on the mat."]),
    ("sr-Latn", "Ovo je…  pa, čudno—zar ne?", ["Ovo je... pa, čudno - zar ne?"]),
    ("sr-Latn", "Rezultat: 3:1 (1:0) za „Partizan”.", ["Rezultat je 3:1 (1:0) za Partizan."]),
    ("sr-Latn", "Dobar dan", ["Добар дан", "Dobar dan!"]),
    ("sr-Cyrl", "Добар дан", ["Dobar dan"]),
    ("sr-Cyrl", "ЂЕЈ, ЉУБО!", ["Еј, Љубо!"]),
    ("hr", "Č Ć Đ Š Ž č ć đ š ž", ["c c dj s z C C Dj S Z"]),
    ("hr", "e\u0301 ist", ["\u00e9 ist"]),
    ("hr", "Tko zna — zna.", ["Tko zna, zna.", "Ko zna, zna.", "Tko zna zna"]),
    ("hr", "2 + 2 = 4; 10 % od 50 € je 5 €.", ["2+2=4; 10% od 50€ je 5€."]),
    ("en", "«Quoted» ‹text› “here” ‘too’ – done", ["\"Quoted\" text \"here\" 'too' - done"]),
    ("en", "1.000.000,50 and 1,000,000.50", ["1,000,000.50 and 1.000.000,50"]),
    ("en", "Ends with a number 2020.", ["Ends with a number 2020 ."]),
    ("en", "emoji 🙂 and math ∑x² ≥ 0", ["emoji 🙂 and math ∑x² ≥ 0!"]),
    ("sr-Latn", "Đorđe je rođen 1987. godine u Čačku.", ["Djordje je rodjen 1987. godine u Cacku.", "Đorđe je rođen u Čačku 1987."]),
]

LAT1 = dict(zip("abvgdđežzijklmnoprstćufhcčšABVGDĐEŽZIJKLMNOPRSTĆUFHCČŠ",
                "абвгдђежзијклмнопрстћуфхцчшАБВГДЂЕЖЗИЈКЛМНОПРСТЋУФХЦЧШ"))
CYR2LAT = {v: k for k, v in LAT1.items()}
CYR2LAT.update({"љ": "lj", "њ": "nj", "џ": "dž", "Љ": "Lj", "Њ": "Nj", "Џ": "Dž"})


def to_latin(s):
    return "".join(CYR2LAT.get(c, c) for c in s)


def strip_diacritics(s):
    table = str.maketrans({"č": "c", "ć": "c", "š": "s", "ž": "z", "đ": "dj",
                           "Č": "C", "Ć": "C", "Š": "S", "Ž": "Z", "Đ": "Dj"})
    return s.translate(table)


def perturb(ref, lang, rng):
    """A second, mechanical model output for a reference: one kind of error."""
    words = ref.split()
    kind = rng.choice(["drop", "swap", "truncate", "lower", "nopunct", "double", "script",
                       "diacritics", "number"])
    if kind == "drop" and len(words) > 3:
        del words[rng.randrange(len(words))]
    elif kind == "swap" and len(words) > 2:
        i = rng.randrange(len(words) - 1)
        words[i], words[i + 1] = words[i + 1], words[i]
    elif kind == "truncate" and len(words) > 2:
        words = words[: max(1, len(words) // 2)]
    elif kind == "lower":
        words = [w.lower() for w in words]
    elif kind == "nopunct":
        words = [w.strip(".,!?:;„”\"") for w in words]
    elif kind == "double":
        words = words + words[-3:]
    elif kind == "script" and lang == "sr-Cyrl":
        return to_latin(ref)
    elif kind == "diacritics" and lang != "en":
        return strip_diacritics(to_latin(ref))
    elif kind == "number":
        return re.sub(r"\d", lambda m: str((int(m.group(0)) + 1) % 10), ref)
    return " ".join(words)


def build_items():
    rng = random.Random(17)
    items = []
    for lang, table in (("en", EN), ("sr-Latn", SR_LATN), ("sr-Cyrl", SR_CYRL), ("hr", HR)):
        for ref, hyp in table:
            refs = [ref]
            hyps = hyp.split(" || ")
            if len(hyps) > 1:  # a second reference rather than a second hypothesis
                refs.append(hyps[1])
            items.append({"lang": lang, "hyp": hyps[0], "refs": refs})
            items.append({"lang": lang, "hyp": perturb(ref, lang, rng), "refs": refs})
            # the hand-written hypothesis as an extra reference for a perturbed output
            if rng.random() < 0.25:
                items.append({"lang": lang, "hyp": perturb(ref, lang, rng), "refs": refs + [hyps[0]]})
    for lang, hyp, refs in EDGE:
        items.append({"lang": lang, "hyp": hyp, "refs": refs})
    for i, it in enumerate(items):
        it["id"] = i
    return items


FUZZ_TOKENS = [
    "Beograd", "ђак", "Ђорђе", "čaša", "The", "the", "a", "an", "An", "x", "3.14", "1,000",
    "1.000,5", "U.S.", "it's", "'s", "well-known", "(x)", "[y]", "{z}", "\"q\"", "€5", "50%",
    "5 %", "—", "–", "…", "..", ",,", ".,", "-", "--", "2019-2020", "7-", "-7", "&amp;",
    "&quot;", "&lt;", "&gt;", "&", "<skipped>", "<b>", "e\u0301", "½", "x²", "٣", "Ⅻ", "_",
    "#tag", "@user", "http://x.y/z?a=1&b=2", "🙂", "x\u200by", "„da”", "«ne»", "‹i›", "’",
    "$", "+", "=", "^", "`", "|", "~", "\\", "/", ":", ";", "!", "?", "a.b", "a,b", "1.", ".5",
    ",5", "5,", "12:30", "3:1", "§2", "°C", "±1", "×", "·", "¿qué?", "¡sí!",
]
FUZZ_SEPS = [" ", " ", " ", " ", "", "\t", "\n", "-\n", "\u00a0", "\u2009", "\u3000",
             "\x1c", "\x85", "  ", "\r\n"]


def fuzz_text(rng, n_max, ascii_only=False):
    tokens = [t for t in FUZZ_TOKENS if is_ascii(t)] if ascii_only else FUZZ_TOKENS
    seps = [t for t in FUZZ_SEPS if is_ascii(t)] if ascii_only else FUZZ_SEPS
    n = rng.randrange(0, n_max + 1)
    out = []
    for i in range(n):
        if i:
            out.append(rng.choice(seps))
        out.append(rng.choice(tokens))
    if rng.random() < 0.2:
        out.append(rng.choice([" ", "\n", "\t", " .", "."]))
    return "".join(out)


def build_fuzz():
    rng = random.Random(1717)
    items = []
    for i in range(200):
        ascii_only = i >= 150  # SQuAD's script is compared on ASCII only
        ref = fuzz_text(rng, 12, ascii_only)
        refs = [ref] + [fuzz_text(rng, 12, ascii_only) for _ in range(rng.choice([0, 0, 0, 1, 2]))]
        # hypotheses share most tokens with the first reference
        words = ref.split(" ")
        if rng.random() < 0.3:
            rng.shuffle(words)
        hyp = " ".join(w for w in words if rng.random() < 0.8)
        if rng.random() < 0.3 and not ascii_only:
            hyp = hyp + rng.choice(FUZZ_SEPS) + rng.choice(FUZZ_TOKENS)
        items.append({"id": i, "lang": "fuzz", "hyp": hyp, "refs": refs})
    return items


# ------------------------------------------------ SQuAD v1.1 (official script)

def normalize_answer(s):
    """Lower text and remove punctuation, articles and extra whitespace."""
    def remove_articles(text):
        return re.sub(r'\b(a|an|the)\b', ' ', text)

    def white_space_fix(text):
        return ' '.join(text.split())

    def remove_punc(text):
        exclude = set(string.punctuation)
        return ''.join(ch for ch in text if ch not in exclude)

    def lower(text):
        return text.lower()

    return white_space_fix(remove_articles(remove_punc(lower(s))))


def f1_score(prediction, ground_truth):
    prediction_tokens = normalize_answer(prediction).split()
    ground_truth_tokens = normalize_answer(ground_truth).split()
    common = Counter(prediction_tokens) & Counter(ground_truth_tokens)
    num_same = sum(common.values())
    if num_same == 0:
        return 0
    precision = 1.0 * num_same / len(prediction_tokens)
    recall = 1.0 * num_same / len(ground_truth_tokens)
    f1 = (2 * precision * recall) / (precision + recall)
    return f1


def exact_match_score(prediction, ground_truth):
    return (normalize_answer(prediction) == normalize_answer(ground_truth))


def metric_max_over_ground_truths(metric_fn, prediction, ground_truths):
    scores_for_ground_truths = []
    for ground_truth in ground_truths:
        score = metric_fn(prediction, ground_truth)
        scores_for_ground_truths.append(score)
    return max(scores_for_ground_truths)


SQUAD = [
    ("Denver Broncos", ["Denver Broncos", "The Denver Broncos"]),
    ("the Broncos", ["Denver Broncos"]),
    ("Santa Clara, California", ["Santa Clara, California", "Levi's Stadium"]),
    ("Levis Stadium", ["Levi's Stadium"]),
    ("1,000", ["1000"]),
    ("1000", ["1,000"]),
    ("10.5%", ["10.5 %", "105"]),
    ("An apple a day", ["apple day"]),
    ("The The", [""]),
    ("", ["Nikola Tesla"]),
    ("", [""]),
    ("Nikola Tesla", ["Tesla"]),
    ("Tesla, Nikola", ["Nikola Tesla"]),
    ("in 1856", ["1856", "10 July 1856"]),
    ("July 10, 1856", ["10 July 1856"]),
    ("Smiljan (then Austrian Empire)", ["Smiljan"]),
    ("the the cat the", ["cat"]),
    ("a-b c_d e'f", ["ab cd ef"]),
    ("Anthem", ["an them", "anthem"]),
    ("theatre", ["the atre"]),
    ("  Belgrade  ", ["belgrade"]),
    ("BELGRADE!!!", ["Belgrade."]),
    ("New York City", ["New York", "NYC"]),
    ("New York New York", ["New York"]),
    ("around 300 people", ["300"]),
    ("The University of Belgrade", ["University of Belgrade", "Belgrade University"]),
    ("Zagreb", ["Ljubljana"]),
    ("42", ["forty-two", "42"]),
    ("an", ["a"]),
    ("A.", ["a"]),
    ("the Danube and the Sava", ["Sava and Danube"]),
    ("three (3)", ["3", "three"]),
    ("$5", ["5 dollars"]),
    ("I.e. the end", ["ie end"]),
    ("yes", ["Yes."]),
    ("no, it is not", ["No"]),
    ("Mihajlo Pupin", ["Michael Pupin", "Mihajlo Idvorski Pupin"]),
    ("[1] Sarajevo", ["Sarajevo"]),
    ("the 1984 Winter Olympics", ["1984 Winter Olympics", "Winter Olympics of 1984"]),
    ("Two thousand", ["2000"]),
]


def is_ascii(s):
    return all(ord(c) < 128 for c in s)


# ---------------------------------------------------------------- oracle

def pair_record(it, bleu, chrf):
    hyp, refs = it["hyp"], it["refs"]
    rec = dict(it)
    rec["sent"] = {
        "chrf": sacrebleu.sentence_chrf(hyp, refs).score,
        "chrfpp": sacrebleu.sentence_chrf(hyp, refs, word_order=2).score,
        "bleu_13a": sacrebleu.sentence_bleu(hyp, refs, tokenize="13a").score,
        "bleu_intl": sacrebleu.sentence_bleu(hyp, refs, tokenize="intl").score,
    }
    rec["stats"] = {}
    for tok, m in bleu.items():
        rec["stats"]["bleu_" + tok] = [int(x) for x in m._extract_corpus_statistics([hyp], [[r] for r in refs])[0]]
    for name, m in chrf.items():
        rec["stats"][name] = [int(x) for x in m._extract_corpus_statistics([hyp], [[r] for r in refs])[0]]
    rec["tok"] = {tok: m._preprocess_segment(hyp) for tok, m in bleu.items()}
    if is_ascii(hyp) and all(is_ascii(r) for r in refs):
        rec["squad"] = {
            "norm_hyp": normalize_answer(hyp),
            "em": float(metric_max_over_ground_truths(exact_match_score, hyp, refs)),
            "f1": float(metric_max_over_ground_truths(f1_score, hyp, refs)),
        }
    return rec


def corpus_record(subset, sel):
    hyps = [it["hyp"] for it in sel]
    n_ref = max(len(it["refs"]) for it in sel)
    streams = [[it["refs"][k] if k < len(it["refs"]) else None for it in sel]
               for k in range(n_ref)]
    return {"subset": subset, "n": len(sel),
            "chrf": sacrebleu.corpus_chrf(hyps, streams).score,
            "chrfpp": sacrebleu.corpus_chrf(hyps, streams, word_order=2).score,
            "bleu_13a": sacrebleu.corpus_bleu(hyps, streams, tokenize="13a").score,
            "bleu_intl": sacrebleu.corpus_bleu(hyps, streams, tokenize="intl").score}


def write_set(name, items, subsets):
    bleu = {tok: BLEU(tokenize=tok) for tok in ("13a", "intl")}
    chrf = {"chrf": CHRF(), "chrfpp": CHRF(word_order=2)}
    with open(os.path.join(HERE, name + ".jsonl"), "w", encoding="utf-8") as f:
        for it in items:
            f.write(json.dumps(pair_record(it, bleu, chrf), ensure_ascii=False) + "\n")
    cname = "corpus" if name == "pairs" else name + "_corpus"
    with open(os.path.join(HERE, cname + ".jsonl"), "w", encoding="utf-8") as f:
        for subset in subsets:
            sel = [it for it in items if subset == "all" or it["lang"] == subset]
            f.write(json.dumps(corpus_record(subset, sel)) + "\n")


def main():
    items = build_items()
    write_set("pairs", items, ("all", "en", "sr-Latn", "sr-Cyrl", "hr"))
    fuzz = build_fuzz()
    write_set("fuzz", fuzz, ("all",))
    with open(os.path.join(HERE, "squad.jsonl"), "w", encoding="utf-8") as f:
        for pred, answers in SQUAD:
            rec = {"pred": pred, "answers": answers, "norm_pred": normalize_answer(pred),
                   "em": float(metric_max_over_ground_truths(exact_match_score, pred, answers)),
                   "f1": float(metric_max_over_ground_truths(f1_score, pred, answers))}
            f.write(json.dumps(rec, ensure_ascii=False) + "\n")
    print(f"{len(items)} items, {len(fuzz)} fuzz items, sacrebleu {sacrebleu.__version__}")


if __name__ == "__main__":
    main()
