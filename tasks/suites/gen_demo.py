#!/usr/bin/env python3
"""gen_demo.py — writes tasks/suites/demo.json, merilo's built-in demo suite.

The items are written here, once, as compact tuples so that every language
variant of an item sits next to the others and carries the same gold index;
this script checks the invariants (same number of choices in every language,
gold in range, unique ids, no Latin letters in the Serbian Cyrillic text other
than Roman numerals) and writes the suite in the merilo-suite/1 format
(docs/suite-format.md). sr-Latn is not written: the loader derives it from
sr-Cyrl with the transliterator.

Content: © the merilo authors, CC BY 4.0 (tasks/suites/LICENSE).

    python3 tasks/suites/gen_demo.py            # rewrite demo.json
    python3 tasks/suites/gen_demo.py --check    # exit 1 if demo.json is not what this script writes
"""
import json
import os
import re
import sys

LANGS = ["en", "sr-Cyrl", "sr-Latn", "hr"]
DERIVED = {"sr-Latn": {"from": "sr-Cyrl", "transform": "sr-Cyrl-to-Latn"}}

# (gold, (en question, [choices]), (sr-Cyrl question, [choices]), (hr question, [choices]))
COMMONSENSE = [
    (0, ("Where do you keep milk so that it stays cold?", ["In the refrigerator.", "In the oven.", "In the mailbox."]),
        ("Где држиш млеко да би остало хладно?", ["У фрижидеру.", "У рерни.", "У поштанском сандучету."]),
        ("Gdje držiš mlijeko da ostane hladno?", ["U hladnjaku.", "U pećnici.", "U poštanskom sandučiću."])),
    (1, ("It is raining and you have to go out. What do you take with you?", ["Sunglasses.", "An umbrella.", "A fan."]),
        ("Пада киша, а мораш да изађеш. Шта понесеш са собом?", ["Наочаре за сунце.", "Кишобран.", "Лепезу."]),
        ("Pada kiša, a moraš izaći. Što poneseš sa sobom?", ["Sunčane naočale.", "Kišobran.", "Lepezu."])),
    (2, ("Ice cubes were left on a table in a warm room. What are they like an hour later?",
         ["Bigger than before.", "Hard as stone.", "Melted into water."]),
        ("Коцке леда остале су на столу у топлој соби. Какве су после сат времена?",
         ["Веће него пре.", "Тврде као камен.", "Отопљене у воду."]),
        ("Kocke leda ostale su na stolu u toploj sobi. Kakve su nakon sat vremena?",
         ["Veće nego prije.", "Tvrde kao kamen.", "Otopljene u vodu."])),
    (0, ("Why do people wear coats in winter?", ["Because it is cold outside.", "Because the days are longer."]),
        ("Зашто људи зими носе капуте?", ["Зато што је напољу хладно.", "Зато што су дани дужи."]),
        ("Zašto ljudi zimi nose kapute?", ["Zato što je vani hladno.", "Zato što su dani duži."])),
    (1, ("A glass fell onto a stone floor. What most likely happened to it?",
         ["It began to sing.", "It broke.", "It grew larger.", "It turned into paper."]),
        ("Чаша је пала на камени под. Шта јој се највероватније догодило?",
         ["Почела је да пева.", "Разбила се.", "Порасла је.", "Претворила се у папир."]),
        ("Čaša je pala na kameni pod. Što joj se najvjerojatnije dogodilo?",
         ["Počela je pjevati.", "Razbila se.", "Narasla je.", "Pretvorila se u papir."])),
    (2, ("What do you use to slice bread?", ["A pillow.", "A spoon.", "A knife."]),
        ("Чиме сечеш хлеб?", ["Јастуком.", "Кашиком.", "Ножем."]),
        ("Čime režeš kruh?", ["Jastukom.", "Žlicom.", "Nožem."])),
    (0, ("The phone's battery is almost empty. What should you do?",
         ["Charge the phone.", "Put the phone in the freezer.", "Wash the phone in water."]),
        ("Батерија телефона је скоро празна. Шта треба да урадиш?",
         ["Да напуниш телефон.", "Да ставиш телефон у замрзивач.", "Да опереш телефон водом."]),
        ("Baterija mobitela gotovo je prazna. Što trebaš učiniti?",
         ["Napuniti mobitel.", "Staviti mobitel u zamrzivač.", "Oprati mobitel vodom."])),
    (1, ("A child is thirsty. What will help most?", ["A bag of salt.", "A glass of water.", "A warm blanket."]),
        ("Дете је жедно. Шта ће му највише помоћи?", ["Кеса соли.", "Чаша воде.", "Топло ћебе."]),
        ("Dijete je žedno. Što će mu najviše pomoći?", ["Vrećica soli.", "Čaša vode.", "Topla deka."])),
    (1, ("The plants in the garden are dry and wilting. What do they need?", ["Darkness and silence.", "Water."]),
        ("Биљке у башти су суве и вену. Шта им је потребно?", ["Мрак и тишина.", "Вода."]),
        ("Biljke u vrtu su suhe i venu. Što im je potrebno?", ["Mrak i tišina.", "Voda."])),
    (2, ("Where would you most likely see a doctor at work?", ["On a fishing boat.", "In a bakery.", "In a hospital."]),
        ("Где ћеш највероватније видети лекара на послу?", ["На рибарском чамцу.", "У пекари.", "У болници."]),
        ("Gdje ćeš najvjerojatnije vidjeti liječnika na poslu?", ["Na ribarskom brodu.", "U pekarnici.", "U bolnici."])),
    (0, ("Marko missed the last bus home. What is the most sensible thing to do?",
         ["Call a taxi or a friend.", "Wait at the stop until next summer.", "Walk into the river."]),
        ("Марко је пропустио последњи аутобус за кућу. Шта је најпаметније да уради?",
         ["Да позове такси или пријатеља.", "Да чека на станици до следећег лета.", "Да уђе у реку."]),
        ("Marko je propustio posljednji autobus za kuću. Što je najpametnije učiniti?",
         ["Nazvati taksi ili prijatelja.", "Čekati na stanici do idućeg ljeta.", "Ući u rijeku."])),
    (1, ("The soup is too hot to eat. What do you do?",
         ["Put it back in the oven.", "Wait a little for it to cool.", "Pour it into your shoes."]),
        ("Супа је превише врућа за јело. Шта радиш?",
         ["Вратим је у рерну.", "Сачекам мало да се охлади.", "Сипам је у ципеле."]),
        ("Juha je prevruća za jelo. Što radiš?",
         ["Vratim je u pećnicu.", "Pričekam malo da se ohladi.", "Ulijem je u cipele."])),
    (0, ("What happens to a puddle on a sunny summer day?", ["It dries up.", "It freezes.", "It turns into a lake."]),
        ("Шта се дешава са барицом по сунчаном летњем дану?", ["Пресуши.", "Замрзне се.", "Претвори се у језеро."]),
        ("Što se događa s lokvom za sunčanog ljetnog dana?", ["Presuši.", "Smrzne se.", "Pretvori se u jezero."])),
    (1, ("Ana wants to read in the evening, but the room is dark. What does she do?",
         ["She opens the refrigerator.", "She turns on the lamp.", "She turns off all the lights."]),
        ("Ана увече жели да чита, али у соби је мрак. Шта уради?",
         ["Отвори фрижидер.", "Упали лампу.", "Угаси сва светла."]),
        ("Ana navečer želi čitati, ali u sobi je mrak. Što učini?",
         ["Otvori hladnjak.", "Upali svjetiljku.", "Ugasi sva svjetla."])),
    (0, ("Which is heavier: a full suitcase or the same suitcase empty?", ["The full suitcase.", "The empty suitcase."]),
        ("Шта је теже: пун кофер или исти тај кофер празан?", ["Пун кофер.", "Празан кофер."]),
        ("Što je teže: pun kovčeg ili isti taj kovčeg prazan?", ["Pun kovčeg.", "Prazan kovčeg."])),
    (1, ("You hear thunder and see dark clouds. What is likely to happen soon?", ["The sea will dry up.", "It will start raining."]),
        ("Чујеш грмљавину и видиш тамне облаке. Шта ће се ускоро вероватно десити?", ["Море ће пресушити.", "Почеће да пада киша."]),
        ("Čuješ grmljavinu i vidiš tamne oblake. Što će se uskoro vjerojatno dogoditi?", ["More će presušiti.", "Počet će padati kiša."])),
    (0, ("A shop is closed on Sunday. When can you buy bread there?", ["On Monday, when it opens.", "On Sunday evening, in the same shop."]),
        ("Продавница не ради недељом. Када у њој можеш да купиш хлеб?", ["У понедељак, кад се отвори.", "У недељу увече, у истој продавници."]),
        ("Trgovina ne radi nedjeljom. Kada u njoj možeš kupiti kruh?", ["U ponedjeljak, kad se otvori.", "U nedjelju navečer, u istoj trgovini."])),
    (2, ("What do you do with the dirty dishes after lunch?", ["Hide them under the bed.", "Throw them out of the window.", "Wash them."]),
        ("Шта радиш са прљавим судовима после ручка?", ["Сакријем их испод кревета.", "Бацим их кроз прозор.", "Оперем их."]),
        ("Što radiš s prljavim posuđem nakon ručka?", ["Sakrijem ga ispod kreveta.", "Bacim ga kroz prozor.", "Operem ga."])),
    (0, ("Why do people wear a helmet when riding a bicycle?",
         ["To protect their head if they fall.", "To ride faster.", "To hear music better."]),
        ("Зашто људи носе кацигу када возе бицикл?", ["Да заштите главу ако падну.", "Да брже возе.", "Да боље чују музику."]),
        ("Zašto ljudi nose kacigu kad voze bicikl?", ["Da zaštite glavu ako padnu.", "Da brže voze.", "Da bolje čuju glazbu."])),
    (1, ("The baby is asleep in the next room. How should you speak?", ["Loudly.", "Quietly."]),
        ("Беба спава у суседној соби. Како треба да говориш?", ["Гласно.", "Тихо."]),
        ("Beba spava u susjednoj sobi. Kako trebaš govoriti?", ["Glasno.", "Tiho."])),
]

# Facts about the region: geography, history, culture. Each answer is checkable in any encyclopaedia.
FACTS = [
    (1, ("Which city is the capital of Serbia?", ["Novi Sad", "Belgrade", "Niš"]),
        ("Који град је главни град Србије?", ["Нови Сад", "Београд", "Ниш"]),
        ("Koji je grad glavni grad Srbije?", ["Novi Sad", "Beograd", "Niš"])),
    (2, ("Which city is the capital of Croatia?", ["Split", "Rijeka", "Zagreb"]),
        ("Који град је главни град Хрватске?", ["Сплит", "Ријека", "Загреб"]),
        ("Koji je grad glavni grad Hrvatske?", ["Split", "Rijeka", "Zagreb"])),
    (0, ("Which city is the capital of Bosnia and Herzegovina?", ["Sarajevo", "Mostar", "Banja Luka", "Tuzla"]),
        ("Који град је главни град Босне и Херцеговине?", ["Сарајево", "Мостар", "Бања Лука", "Тузла"]),
        ("Koji je grad glavni grad Bosne i Hercegovine?", ["Sarajevo", "Mostar", "Banja Luka", "Tuzla"])),
    (1, ("Which city is the capital of Montenegro?", ["Budva", "Podgorica", "Kotor"]),
        ("Који град је главни град Црне Горе?", ["Будва", "Подгорица", "Котор"]),
        ("Koji je grad glavni grad Crne Gore?", ["Budva", "Podgorica", "Kotor"])),
    (0, ("Into which river does the Sava flow at Belgrade?", ["The Danube", "The Drina", "The Neretva"]),
        ("У коју реку се Сава улива код Београда?", ["У Дунав", "У Дрину", "У Неретву"]),
        ("U koju se rijeku Sava ulijeva kod Beograda?", ["U Dunav", "U Drinu", "U Neretvu"])),
    (2, ("Which river flows through Mostar?", ["The Sava", "The Morava", "The Neretva"]),
        ("Која река протиче кроз Мостар?", ["Сава", "Морава", "Неретва"]),
        ("Koja rijeka protječe kroz Mostar?", ["Sava", "Morava", "Neretva"])),
    (0, ("Which lake do Montenegro and Albania share?", ["Lake Skadar", "Lake Ohrid", "Lake Bled"]),
        ("Које језеро деле Црна Гора и Албанија?", ["Скадарско језеро", "Охридско језеро", "Бледско језеро"]),
        ("Koje jezero dijele Crna Gora i Albanija?", ["Skadarsko jezero", "Ohridsko jezero", "Bledsko jezero"])),
    (1, ("Which national park in Croatia is famous for its chain of lakes and waterfalls?",
         ["Durmitor", "Plitvice Lakes", "Tara"]),
        ("Који национални парк у Хрватској је познат по низу језера и водопада?",
         ["Дурмитор", "Плитвичка језера", "Тара"]),
        ("Koji je nacionalni park u Hrvatskoj poznat po nizu jezera i slapova?",
         ["Durmitor", "Plitvička jezera", "Tara"])),
    (0, ("In which city is Diocletian's Palace?", ["Split", "Zadar", "Pula"]),
        ("У ком граду се налази Диоклецијанова палата?", ["У Сплиту", "У Задру", "У Пули"]),
        ("U kojem se gradu nalazi Dioklecijanova palača?", ["U Splitu", "U Zadru", "U Puli"])),
    (1, ("In which city is the Old Bridge, rebuilt in 2004?", ["Višegrad", "Mostar", "Sarajevo"]),
        ("У ком граду је Стари мост, обновљен 2004. године?", ["У Вишеграду", "У Мостару", "У Сарајеву"]),
        ("U kojem je gradu Stari most, obnovljen 2004. godine?", ["U Višegradu", "U Mostaru", "U Sarajevu"])),
    (0, ("Who wrote the novel The Bridge on the Drina?", ["Ivo Andrić", "Meša Selimović", "Miroslav Krleža", "Danilo Kiš"]),
        ("Ко је написао роман На Дрини ћуприја?", ["Иво Андрић", "Меша Селимовић", "Мирослав Крлежа", "Данило Киш"]),
        ("Tko je napisao roman Na Drini ćuprija?", ["Ivo Andrić", "Meša Selimović", "Miroslav Krleža", "Danilo Kiš"])),
    (1, ("In which year did Ivo Andrić receive the Nobel Prize in Literature?", ["1948", "1961", "1975"]),
        ("Које године је Иво Андрић добио Нобелову награду за књижевност?", ["1948.", "1961.", "1975."]),
        ("Koje je godine Ivo Andrić dobio Nobelovu nagradu za književnost?", ["1948.", "1961.", "1975."])),
    (1, ("Which inventor, born in Smiljan in 1856, is known for his work on alternating current?",
         ["Mihajlo Pupin", "Nikola Tesla", "Milutin Milanković"]),
        ("Који проналазач, рођен у Смиљану 1856. године, познат је по раду на наизменичној струји?",
         ["Михајло Пупин", "Никола Тесла", "Милутин Миланковић"]),
        ("Koji je izumitelj, rođen u Smiljanu 1856. godine, poznat po radu na izmjeničnoj struji?",
         ["Mihajlo Pupin", "Nikola Tesla", "Milutin Milanković"])),
    (0, ("Who wrote the epic poem The Mountain Wreath?", ["Petar II Petrović-Njegoš", "Vuk Stefanović Karadžić", "Ivan Mažuranić"]),
        ("Ко је написао спев Горски вијенац?", ["Петар II Петровић Његош", "Вук Стефановић Караџић", "Иван Мажуранић"]),
        ("Tko je napisao spjev Gorski vijenac?", ["Petar II. Petrović Njegoš", "Vuk Stefanović Karadžić", "Ivan Mažuranić"])),
    (1, ("Who reformed the Serbian Cyrillic alphabet in the 19th century?", ["Dositej Obradović", "Vuk Stefanović Karadžić", "Ljudevit Gaj"]),
        ("Ко је у 19. веку реформисао српску ћирилицу?", ["Доситеј Обрадовић", "Вук Стефановић Караџић", "Људевит Гај"]),
        ("Tko je u 19. stoljeću reformirao srpsku ćirilicu?", ["Dositej Obradović", "Vuk Stefanović Karadžić", "Ljudevit Gaj"])),
    (0, ("Who reformed the Croatian Latin alphabet in the 1830s?", ["Ljudevit Gaj", "Petar Preradović", "Ivan Gundulić"]),
        ("Ко је тридесетих година 19. века реформисао хрватску латиницу?", ["Људевит Гај", "Петар Прерадовић", "Иван Гундулић"]),
        ("Tko je tridesetih godina 19. stoljeća reformirao hrvatsku latinicu?", ["Ljudevit Gaj", "Petar Preradović", "Ivan Gundulić"])),
    (1, ("Which sea lies along the coasts of Croatia and Montenegro?", ["The Black Sea", "The Adriatic Sea", "The Baltic Sea"]),
        ("Које море запљускује обале Хрватске и Црне Горе?", ["Црно море", "Јадранско море", "Балтичко море"]),
        ("Koje more zapljuskuje obale Hrvatske i Crne Gore?", ["Crno more", "Jadransko more", "Baltičko more"])),
    (2, ("Which of these countries has no sea coast?", ["Croatia", "Montenegro", "Serbia"]),
        ("Која од ових земаља нема излаз на море?", ["Хрватска", "Црна Гора", "Србија"]),
        ("Koja od ovih zemalja nema izlaz na more?", ["Hrvatska", "Crna Gora", "Srbija"])),
    (0, ("For much of its length, the Drina forms the border between which two countries?",
         ["Serbia and Bosnia and Herzegovina", "Croatia and Slovenia", "Montenegro and Albania"]),
        ("Дрина већим делом свог тока чини границу између које две државе?",
         ["Србије и Босне и Херцеговине", "Хрватске и Словеније", "Црне Горе и Албаније"]),
        ("Drina većim dijelom svojega toka čini granicu između kojih dviju država?",
         ["Srbije i Bosne i Hercegovine", "Hrvatske i Slovenije", "Crne Gore i Albanije"])),
    (1, ("Which currency has Croatia used since 1 January 2023?", ["The kuna", "The euro", "The dinar"]),
        ("Коју валуту Хрватска користи од 1. јануара 2023. године?", ["Куну", "Евро", "Динар"]),
        ("Koju valutu Hrvatska koristi od 1. siječnja 2023. godine?", ["Kunu", "Euro", "Dinar"])),
]

# Which sentence is grammatical: the gold sentence is correct and the others break agreement
# (case, gender, number; for English the corresponding subject-verb, pronoun-case and number
# agreement). The same position is the correct one in every language.
GRAMMAR = [
    (0, ["These books are new.", "This books are new."],
        ["Нова књига је на столу.", "Нови књига је на столу."],
        ["Nova knjiga je na stolu.", "Novi knjiga je na stolu."]),
    (1, ["She have finished her work.", "She has finished her work."],
        ["Марија је дошао кући.", "Марија је дошла кући."],
        ["Marija je došao kući.", "Marija je došla kući."]),
    (0, ["I saw him yesterday.", "I saw he yesterday."],
        ["Јуче сам видео брата.", "Јуче сам видео брат."],
        ["Jučer sam vidio brata.", "Jučer sam vidio brat."]),
    (1, ["She went to the cinema with he.", "She went to the cinema with him."],
        ["Ишла је у биоскоп са брат.", "Ишла је у биоскоп са братом."],
        ["Išla je u kino s brat.", "Išla je u kino s bratom."]),
    (0, ["The children play in the park.", "The children plays in the park."],
        ["Деца се играју у парку.", "Деца се играју у парком."],
        ["Djeca se igraju u parku.", "Djeca se igraju u parkom."]),
    (2, ["There is two table in the room.", "There are two table in the room.", "There are two tables in the room."],
        ["У соби су два столова.", "У соби су два сто.", "У соби су два стола."],
        ["U sobi su dva stolova.", "U sobi su dva stol.", "U sobi su dva stola."]),
    (0, ["She bought five books.", "She bought five book."],
        ["Купила је пет књига.", "Купила је пет књиге."],
        ["Kupila je pet knjiga.", "Kupila je pet knjige."]),
    (1, ["The girl hurt himself.", "The girl hurt herself."],
        ["Село је велики.", "Село је велико."],
        ["Selo je veliki.", "Selo je veliko."]),
    (0, ["Give the book to her.", "Give the book to she."],
        ["Дај књигу сестри.", "Дај књигу сестра."],
        ["Daj knjigu sestri.", "Daj knjigu sestra."]),
    (1, ["We was at home all day.", "We were at home all day."],
        ["Пије кафу без шећер.", "Пије кафу без шећера."],
        ["Pije kavu bez šećer.", "Pije kavu bez šećera."]),
    (1, ["She don't like coffee.", "She doesn't like coffee.", "She not likes coffee."],
        ["Мој сестра ради у болници.", "Моја сестра ради у болници.", "Моје сестра ради у болници."],
        ["Moj sestra radi u bolnici.", "Moja sestra radi u bolnici.", "Moje sestra radi u bolnici."]),
    (0, ["They are waiting for the bus.", "They is waiting for the bus."],
        ["Ми чекамо аутобус.", "Ми чека аутобус."],
        ["Mi čekamo autobus.", "Mi čeka autobus."]),
    (1, ["The boys has arrived.", "The boys have arrived."],
        ["Момци су стигле.", "Момци су стигли."],
        ["Momci su stigle.", "Momci su stigli."]),
    (0, ["These shoes are new.", "These shoes is new."],
        ["Шетао сам са великим псом.", "Шетао сам са велики псом."],
        ["Šetao sam s velikim psom.", "Šetao sam s veliki psom."]),
    (1, ["We talked about they.", "We talked about them."],
        ["Причали смо о филм.", "Причали смо о филму."],
        ["Razgovarali smo o film.", "Razgovarali smo o filmu."]),
    (0, ["This thing is important.", "These thing is important."],
        ["Та ствар је важна.", "Тај ствар је важан."],
        ["Ta stvar je važna.", "Taj stvar je važan."]),
    (2, ["The child have fallen asleep.", "The child are fallen asleep.", "The child has fallen asleep."],
        ["Дете је заспао.", "Дете је заспала.", "Дете је заспало."],
        ["Dijete je zaspao.", "Dijete je zaspala.", "Dijete je zaspalo."]),
    (1, ["Many people was there.", "Many people were there."],
        ["Тамо је било много човек.", "Тамо је било много људи."],
        ["Ondje je bilo mnogo čovjek.", "Ondje je bilo mnogo ljudi."]),
    (0, ["Everyone knows the answer.", "Everyone know the answer."],
        ["Читам занимљиву књигу.", "Читам занимљива књига."],
        ["Čitam zanimljivu knjigu.", "Čitam zanimljiva knjiga."]),
    (1, ["The houses on this street is old.", "The houses on this street are old."],
        ["Ова кућа је већи од оне.", "Ова кућа је већа од оне."],
        ["Ova kuća je veći od one.", "Ova kuća je veća od one."]),
]

# Perplexity texts: six short parallel paragraphs per language.
TEXTS = [
    ("river",
     "The Danube is the second longest river in Europe. It rises in the Black Forest in Germany and flows "
     "east for almost three thousand kilometres before it reaches the Black Sea. On its way it passes through "
     "ten countries and four capital cities: Vienna, Bratislava, Budapest and Belgrade. In Serbia the river "
     "is wide and slow, and at the Iron Gate it cuts a deep gorge through the mountains. For centuries people "
     "have used it to carry grain, wood and stone, and today it is also loved by fishermen, cyclists and "
     "travellers on river boats.",
     "Дунав је друга по дужини река у Европи. Извире у Шварцвалду у Немачкој и тече ка истоку скоро три хиљаде "
     "километара пре него што стигне до Црног мора. На свом путу пролази кроз десет земаља и четири главна града: "
     "Беч, Братиславу, Будимпешту и Београд. У Србији је река широка и спора, а код Ђердапа усеца дубоку клисуру "
     "кроз планине. Вековима су људи њоме превозили жито, дрво и камен, а данас је воле и рибари, бициклисти и "
     "путници на речним бродовима.",
     "Dunav je druga najduža rijeka u Europi. Izvire u Schwarzwaldu u Njemačkoj i teče prema istoku gotovo tri "
     "tisuće kilometara prije nego što stigne do Crnoga mora. Na svojem putu prolazi kroz deset zemalja i četiri "
     "glavna grada: Beč, Bratislavu, Budimpeštu i Beograd. U Srbiji je rijeka široka i spora, a kod Đerdapa usijeca "
     "duboku klisuru kroz planine. Stoljećima su ljudi njome prevozili žito, drvo i kamen, a danas je jednako tako vole ribiči, "
     "biciklisti i putnici na riječnim brodovima."),
    ("bread",
     "My grandmother baked bread every Saturday morning. She got up before dawn, lit the stove and mixed flour, "
     "water, salt and a little yeast in a large wooden bowl. While the dough was rising under a clean cloth, she "
     "made coffee and listened to the radio. Later she shaped two round loaves and put them in the hot oven. "
     "The whole house smelled of fresh bread, and we children waited impatiently in the kitchen. The first slice, "
     "still warm, always went to the youngest, with butter and a spoonful of homemade plum jam.",
     "Моја бака је сваке суботе ујутру пекла хлеб. Устајала је пре зоре, ложила шпорет и у великој дрвеној чинији "
     "мешала брашно, воду, со и мало квасца. Док је тесто расло испод чисте крпе, кувала је кафу и слушала "
     "радио. Касније је обликовала два округла хлеба и стављала их у врелу рерну. Цела кућа мирисала је на свеж "
     "хлеб, а ми деца смо нестрпљиво чекали у кухињи. Прво парче, још топло, увек је добијало најмлађе, са путером "
     "и кашиком домаћег пекмеза од шљива.",
     "Moja je baka svake subote ujutro pekla kruh. Ustajala je prije zore, ložila štednjak i u velikoj drvenoj "
     "zdjeli miješala brašno, vodu, sol i malo kvasca. Dok se tijesto dizalo ispod čiste krpe, kuhala je kavu i "
     "slušala radio. Poslije je oblikovala dva okrugla kruha i stavljala ih u vruću pećnicu. Cijela je kuća "
     "mirisala na svjež kruh, a mi smo djeca nestrpljivo čekali u kuhinji. Prva kriška, još topla, uvijek je "
     "pripadala najmlađemu, s maslacem i žlicom domaćega pekmeza od šljiva."),
    ("market",
     "On Saturday the open-air market is full of people. Farmers from the nearby villages arrive early with "
     "tomatoes, peppers, cheese, eggs and honey. Buyers walk slowly between the stalls, taste a piece of cheese, "
     "ask about prices and chat with the sellers they have known for years. An old man sells flowers from his "
     "garden, and a young woman offers homemade pies. By noon the best fruit is gone, the stalls grow quieter "
     "and the sellers count their money. Many people say that a market tells you more about a town than any museum.",
     "Суботом је пијаца на отвореном пуна света. Пољопривредници из оближњих села стижу рано ујутру са парадајзом, паприкама, сиром, "
     "јајима и медом. Купци полако шетају између тезги, пробају парче сира, питају за цене и ћаскају са продавцима "
     "које знају годинама. Један старац продаје цвеће из своје баште, а једна млада жена нуди домаће пите. До поднева "
     "нестане најлепшег воћа, тезге се полако утишају, а продавци броје новац. Многи људи кажу да пијаца о граду каже много више од "
     "било ког музеја.",
     "Subotom je tržnica na otvorenom puna ljudi. Poljoprivrednici iz obližnjih sela stižu rano ujutro s rajčicama, paprikama, sirom, "
     "jajima i medom. Kupci polako šeću između štandova, kušaju komad sira, pitaju za cijene i čavrljaju s "
     "prodavačima koje poznaju godinama. Jedan starac prodaje cvijeće iz svojega vrta, a jedna mlada žena nudi "
     "domaće pite. Do podneva nestane najljepšega voća, štandovi se polako utišaju, a prodavači broje novac. Mnogi ljudi kažu "
     "da tržnica o gradu govori mnogo više od bilo kojega muzeja."),
    ("scripts",
     "Serbian is one of the few languages that are regularly written in two alphabets. The Cyrillic alphabet, "
     "reformed in the nineteenth century, has thirty letters, and each letter stands for one sound. The Latin "
     "alphabet has the same thirty sounds, but three of them are written with two letters: lj, nj and dž. "
     "Newspapers, books and street signs can appear in either script, and most readers switch between them "
     "without thinking. Croatian, Bosnian and Montenegrin are mostly written in the Latin alphabet, which makes "
     "texts from the whole region easy to compare.",
     "Српски је један од ретких језика који се редовно пишу на два писма. Ћирилица, реформисана у деветнаестом веку, "
     "има тридесет слова, и свако слово означава један глас. Латиница има истих тридесет гласова, али се три од "
     "њих, љ, њ и џ, у латиници пишу са по два слова. Новине, књиге и називи улица могу бити на било ком писму, а већина читалаца прелази "
     "с једног на друго не размишљајући. Хрватски, босански и црногорски углавном се пишу латиницом, па је текстове "
     "из целог региона лако поредити.",
     "Srpski je jedan od rijetkih jezika koji se redovito pišu dvama pismima. Ćirilica, reformirana u devetnaestom "
     "stoljeću, ima trideset slova, i svako slovo označava jedan glas. Latinica ima istih trideset glasova, ali "
     "se tri od njih pišu s po dva slova: lj, nj i dž. Novine, knjige i nazivi ulica mogu biti na bilo kojem pismu, "
     "a većina čitatelja prelazi s jednoga na drugo ne razmišljajući. Hrvatski, bosanski i crnogorski uglavnom se "
     "pišu latinicom, pa je tekstove iz cijele regije lako uspoređivati."),
    ("seasons",
     "In the continental part of the region the four seasons are clearly different. Winters are cold, and snow "
     "often covers the fields and the hills for weeks. Spring comes quickly: the orchards blossom, the days grow "
     "longer and farmers begin to plough. Summers are hot and dry, and in July the temperature can rise above "
     "thirty-five degrees. Autumn brings the grape harvest, the smell of roasted peppers and the first fog over "
     "the rivers. On the coast the winters are mild and rainy, while the summers are long, sunny and full of visitors. Each season has its own food and its own customs.",
     "У континенталном делу региона четири годишња доба јасно се разликују. Зиме су хладне, а снег често недељама "
     "покрива поља и брда. Пролеће стиже брзо: воћњаци цветају, дани постају дужи, а пољопривредници почињу да ору. "
     "Лета су врела и сува, а у јулу температура може да пређе тридесет пет степени. Јесен доноси бербу грожђа, "
     "мирис печених паприка и прву маглу над рекама. На обали су зиме благе и кишовите, док су лета дуга, сунчана "
     "и пуна посетилаца. Свако годишње доба има своју храну и своје обичаје.",
     "U kontinentalnom dijelu regije četiri se godišnja doba jasno razlikuju. Zime su hladne, a snijeg često "
     "tjednima prekriva polja i brda. Proljeće stiže brzo: voćnjaci cvatu, dani postaju dulji, a poljoprivrednici "
     "počinju orati. Ljeta su vruća i suha, a u srpnju temperatura može prijeći trideset pet stupnjeva. Jesen donosi "
     "berbu grožđa, miris pečenih paprika i prvu maglu nad rijekama. Na obali su zime blage i kišovite, dok su ljeta "
     "duga, sunčana i puna posjetitelja. Svako godišnje doba ima svoju hranu i svoje običaje."),
    ("train",
     "The night train left the station exactly at ten. In our compartment sat an elderly couple, a student with "
     "a heavy backpack and a man who read a newspaper until the lights went out. Outside, small stations passed "
     "one after another, each with a single lamp and a sleepy guard. Around midnight the student took out a "
     "thermos of tea and offered it to everyone. We talked quietly about our families, our work and the towns we "
     "were travelling to. When the sun rose over the hills, we were no longer strangers.",
     "Ноћни воз кренуо је са станице тачно у десет. У нашем купеу седели су старији брачни пар, студент са тешким "
     "ранцем и један човек који је читао новине док се светла нису угасила. Напољу су пролазиле мале станице, једна "
     "за другом, свака са по једном лампом и поспаним чуваром. Око поноћи студент је извадио термос са чајем и свима "
     "понудио. Тихо смо разговарали о својим породицама, послу и градовима у које смо путовали. Када је сунце изашло "
     "изнад брда, више нисмо били странци.",
     "Noćni vlak krenuo je s kolodvora točno u deset. U našem su kupeu sjedili stariji bračni par, student s teškim "
     "ruksakom i jedan čovjek koji je čitao novine dok se svjetla nisu ugasila. Vani su promicale male postaje, jedna "
     "za drugom, svaka s po jednom svjetiljkom i pospanim čuvarom. Oko ponoći student je izvadio termosicu s čajem i "
     "svima ponudio. Tiho smo razgovarali o svojim obiteljima, poslu i gradovima u koje smo putovali. Kad je sunce "
     "izašlo iznad brda, više nismo bili stranci."),
]

# Translation pairs (en, sr-Cyrl, hr): short everyday sentences, each direction a task.
TRANSLATION = [
    ("The train leaves at eight in the morning.", "Воз полази у осам ујутру.", "Vlak polazi u osam ujutro."),
    ("My sister works in a hospital in the city.", "Моја сестра ради у болници у граду.",
     "Moja sestra radi u bolnici u gradu."),
    ("We bought bread and milk at the market.", "Купили смо хлеб и млеко на пијаци.",
     "Kupili smo kruh i mlijeko na tržnici."),
    ("The children are playing football in the park.", "Деца играју фудбал у парку.", "Djeca igraju nogomet u parku."),
    ("Who wants a cup of coffee?", "Ко хоће шољу кафе?", "Tko hoće šalicu kave?"),
    ("It will rain tomorrow, so take an umbrella.", "Сутра ће падати киша, па понеси кишобран.",
     "Sutra će padati kiša, pa ponesi kišobran."),
    ("The library is closed on Sundays.", "Библиотека је затворена недељом.", "Knjižnica je zatvorena nedjeljom."),
    ("I have been learning to play the piano for a year.", "Већ годину дана учим да свирам клавир.",
     "Već godinu dana učim svirati klavir."),
    ("This week we are going to the seaside.", "Ове недеље идемо на море.", "Ovaj tjedan idemo na more."),
    ("The music at the concert was wonderful.", "Музика на концерту била је дивна.", "Glazba na koncertu bila je divna."),
]

# Short-answer questions: (en question, [answers]), (sr-Cyrl ...), (hr ...); answers are words, not digits,
# so that the script of every answer can be judged.
SHORT_QA = [
    (("What is the capital of Serbia?", ["Belgrade"]), ("Који је главни град Србије?", ["Београд"]),
     ("Koji je glavni grad Srbije?", ["Beograd"])),
    (("What is the capital of Croatia?", ["Zagreb"]), ("Који је главни град Хрватске?", ["Загреб"]),
     ("Koji je glavni grad Hrvatske?", ["Zagreb"])),
    (("Which river flows through Novi Sad?", ["the Danube", "Danube"]), ("Која река протиче кроз Нови Сад?", ["Дунав"]),
     ("Koja rijeka protječe kroz Novi Sad?", ["Dunav"])),
    (("What colour is fresh snow?", ["white"]), ("Које је боје свеж снег?", ["бео", "бела", "беле боје"]),
     ("Koje je boje svjež snijeg?", ["bijel", "bijela", "bijele boje"])),
    (("How many days are there in a week?", ["seven"]), ("Колико дана има недеља?", ["седам"]),
     ("Koliko dana ima tjedan?", ["sedam"])),
    (("Which animal gives us milk and says moo?", ["the cow", "cow"]), ("Која животиња нам даје млеко и муче?", ["крава"]),
     ("Koja nam životinja daje mlijeko i muče?", ["krava"])),
    (("In which season does it snow most?", ["winter", "in winter"]), ("У ком годишњем добу највише пада снег?", ["зими", "зима"]),
     ("U kojem godišnjem dobu najviše pada snijeg?", ["zimi", "zima"])),
    (("What do bees make?", ["honey"]), ("Шта праве пчеле?", ["мед"]), ("Što rade pčele?", ["med"])),
    (("Which sea lies along the coast of Croatia?", ["the Adriatic Sea", "the Adriatic", "Adriatic"]),
     ("Које море запљускује обалу Хрватске?", ["Јадранско море", "Јадран"]),
     ("Koje more zapljuskuje obalu Hrvatske?", ["Jadransko more", "Jadran"])),
    (("What is the opposite of day?", ["night"]), ("Шта је супротно од дана?", ["ноћ"]),
     ("Što je suprotno od dana?", ["noć"])),
]

TO_X_TEMPLATES = {
    "sr-Cyrl": {"context": "Преведи на српски.\nEnglish: {source}\nСрпски:"},
    "hr": {"context": "Prevedi na hrvatski.\nEnglish: {source}\nHrvatski:"},
}
FROM_X_TEMPLATES = {
    "sr-Cyrl": {"context": "Translate into English.\nСрпски: {source}\nEnglish:"},
    "hr": {"context": "Translate into English.\nHrvatski: {source}\nEnglish:"},
}
SHORT_QA_TEMPLATES = {
    "en": {"context": "Answer in a word or two.\nQuestion: {question}\nAnswer:"},
    "sr-Cyrl": {"context": "Одговори једном или двема речима.\nПитање: {question}\nОдговор:"},
    "hr": {"context": "Odgovori jednom ili dvjema riječima.\nPitanje: {question}\nOdgovor:"},
}
X_LANGS = ["sr-Cyrl", "sr-Latn", "hr"]

QA_TEMPLATES = {
    "en": {"context": "Question: {question}\nAnswer:", "choice": "{choice}"},
    "sr-Cyrl": {"context": "Питање: {question}\nОдговор:", "choice": "{choice}"},
    "hr": {"context": "Pitanje: {question}\nOdgovor:", "choice": "{choice}"},
}
GRAMMAR_TEMPLATES = {
    "en": {"context": "A grammatically correct sentence:", "choice": "{choice}"},
    "sr-Cyrl": {"context": "Граматички исправна реченица:", "choice": "{choice}"},
    "hr": {"context": "Gramatički ispravna rečenica:", "choice": "{choice}"},
}

ROMAN = re.compile(r"\b[IVXLCDM]+\b")


def check_cyrillic(text, where):
    stripped = ROMAN.sub("", text)
    if re.search(r"[A-Za-zČĆĐŠŽčćđšž]", stripped):
        sys.exit(f"gen_demo.py: {where}: Latin letters in sr-Cyrl text: {text!r}")


def mc_items(prefix, rows, with_question):
    items = []
    for n, row in enumerate(rows, 1):
        gold, variants = row[0], row[1:]
        item = {"id": f"{prefix}-{n:03d}", "gold": gold}
        n_choices = None
        for lang, v in zip(["en", "sr-Cyrl", "hr"], variants):
            q, choices = (v[0], v[1]) if with_question else (None, v)
            if n_choices is None:
                n_choices = len(choices)
            if len(choices) != n_choices or not 2 <= n_choices <= 4 or not 0 <= gold < n_choices:
                sys.exit(f"gen_demo.py: {item['id']} {lang}: {len(choices)} choices, gold {gold}")
            if len(set(choices)) != len(choices):
                sys.exit(f"gen_demo.py: {item['id']} {lang}: duplicate choices")
            if lang == "sr-Cyrl":
                for t in ([q] if q else []) + choices:
                    check_cyrillic(t, item["id"])
            item[lang] = {"question": q, "choices": choices} if with_question else {"choices": choices}
        items.append(item)
    return items


def mc_task(tid, description, items, templates):
    return {
        "id": tid,
        "type": "multiple_choice",
        "description": description,
        "metrics": ["acc", "acc_norm"],
        "languages": LANGS,
        "derived": DERIVED,
        "templates": templates,
        "target_delimiter": " ",
        "items": items,
    }


def translation_tasks():
    to_x, from_x = [], []
    for n, (en, sr, hr) in enumerate(TRANSLATION, 1):
        check_cyrillic(sr, f"tr-{n:03d}")
        to_x.append({"id": f"tr-{n:03d}", "sr-Cyrl": {"source": en, "target": sr}, "hr": {"source": en, "target": hr}})
        from_x.append({"id": f"tr-{n:03d}", "sr-Cyrl": {"source": sr, "target": en}, "hr": {"source": hr, "target": en}})
    common = {"type": "generate", "languages": X_LANGS, "derived": DERIVED, "stop": ["\n"], "max_new_tokens": 32}
    return [
        dict({"id": "translate_to", "description": "English sentences translated into Serbian (Cyrillic and Latin) "
              "and Croatian; the answer must be in the target language and script.",
              "metrics": ["chrf", "chrf++", "bleu", "script_ok", "lang_ok"], "templates": TO_X_TEMPLATES,
              "items": to_x}, **common),
        dict({"id": "translate_from", "description": "Serbian and Croatian sentences translated into English.",
              "metrics": ["chrf", "chrf++", "bleu", "lang_ok"], "templates": FROM_X_TEMPLATES,
              "expect_language": {lang: "en" for lang in X_LANGS}, "items": from_x}, **common),
    ]


def short_qa_task():
    items = []
    for n, variants in enumerate(SHORT_QA, 1):
        item = {"id": f"sqa-{n:03d}"}
        for lang, (q, answers) in zip(["en", "sr-Cyrl", "hr"], variants):
            if lang == "sr-Cyrl":
                for t in [q] + answers:
                    check_cyrillic(t, item["id"])
            item[lang] = {"question": q, "target": answers}
        items.append(item)
    return {"id": "short_qa", "type": "generate",
            "description": "Short-answer questions; the answer must be in the question's language and script.",
            "metrics": ["exact_match", "f1", "contains", "script_ok", "lang_ok"], "languages": LANGS,
            "derived": DERIVED, "templates": SHORT_QA_TEMPLATES, "stop": ["\n"], "max_new_tokens": 8, "items": items}


def build():
    texts = []
    for tid, en, sr, hr in TEXTS:
        check_cyrillic(sr, tid)
        for lang, t in (("en", en), ("sr-Cyrl", sr), ("hr", hr)):
            words = len(t.split())
            if not 80 <= words <= 150:
                sys.exit(f"gen_demo.py: text {tid} {lang}: {words} words (want 80..150)")
        texts.append({"id": f"text-{tid}", "en": {"text": en}, "sr-Cyrl": {"text": sr}, "hr": {"text": hr}})
    return {
        "format": "merilo-suite/1",
        "name": "merilo-demo",
        "version": "1.0.0",
        "description": "merilo's built-in demo suite: commonsense questions, facts about the Western Balkans, "
                       "grammatical agreement, parallel texts for perplexity, translation between English and "
                       "Serbian/Croatian and short-answer questions, in English, Serbian (Cyrillic, with Latin "
                       "derived) and Croatian.",
        "source": "Written for merilo by the merilo authors (generated by tasks/suites/gen_demo.py).",
        "license": "CC-BY-4.0",
        "tasks": [
            mc_task("commonsense", "Everyday commonsense questions, 2-4 choices.",
                    mc_items("cs", COMMONSENSE, True), QA_TEMPLATES),
            mc_task("regional_facts", "Geography, history and culture of the Western Balkans.",
                    mc_items("fact", FACTS, True), QA_TEMPLATES),
            mc_task("grammar", "Which sentence is grammatical: case, gender and number agreement.",
                    mc_items("gram", GRAMMAR, False), GRAMMAR_TEMPLATES),
            {
                "id": "text",
                "type": "perplexity",
                "description": "Six short parallel paragraphs per language.",
                "metrics": ["perplexity", "bits_per_byte"],
                "languages": LANGS,
                "derived": DERIVED,
                "window": 128,
                "stride": 64,
                "items": texts,
            },
        ] + translation_tasks() + [short_qa_task()],
    }


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    path = os.path.join(here, "demo.json")
    text = json.dumps(build(), ensure_ascii=False, indent=1) + "\n"
    if "--check" in sys.argv[1:]:
        with open(path, encoding="utf-8") as f:
            if f.read() != text:
                sys.exit(f"gen_demo.py: {path} is out of date; run tasks/suites/gen_demo.py")
        return
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


if __name__ == "__main__":
    main()
