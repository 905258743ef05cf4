"""Synthetic Mongolian correspondence for the search benchmark (bench/search.py).

A registry of N letters (default 1,000,000) between ~1,050 organisations, generated from a seed,
streamed (never held in memory) and reproducible letter by letter:

- Organisations in three tiers, sized by how many party documents (letters sent + letters
  received) each keeps: 5 large ones (the capital's governor's office, ministries, the tax
  office) with ~90,000-130,000, 45 middle ones (aimag and district governments, agencies) that
  share most of the rest, and 1,000 small ones (soum governments, schools, hospitals,
  companies) with hundreds each (lognormal, median ~350). A letter's sender and each of its
  recipients are drawn in proportion to those sizes, so an organisation's expected share of
  party documents is its size.
- A letter goes to 1 recipient (82 %), 2 (10 %), 3 (4 %) or 4-10 (4 %, circulars); it keeps an
  outgoing number `<series>/<seq>` counted per sender and year, and each recipient's delivery
  is registered (93 %, with an incoming number counted per recipient and year, an executor for
  60 %), left delivered (5 %) or rejected (2 %); 20 % of incoming letters ask for an answer by a
  due date, and some of those are still open. Letters are spread evenly over 2022-01-01 ..
  2026-11-24.
- The text (~300 words, normal around 300, sd 60) is a Mongolian official letter: a header
  (sender, "Албан бичиг", date, number, recipient, subject), a body drawn from a Zipf
  vocabulary and a signature. The vocabulary's head is ~400 real Mongolian stems (function
  words, nouns, verbs, adjectives of official letters); nouns are inflected with real case
  endings and plurals under vowel harmony, with fleeting vowels (газар -> газрын, газарт,
  газраас; байгууллага -> байгууллагын, байгууллагад, байгууллагуудаас), verbs with real
  tense/converb endings (хүргүүлэх, хүргүүлж, хүргүүлсэн, хүргүүлнэ), so a stemmer matters.
  The tail is 40,000 pseudo-stems made of Mongolian syllables under vowel harmony (also
  inflected), plus numbers, dates, amounts and personal names.

Each letter is one `registry.search.Document` per party: `<sender>/outbox/l<i>` for the sender
(direction outgoing) and `<recipient>/inbox/d<i>` for each recipient (incoming), with the same
subject and text.
"""
import bisect
import itertools
import math
import random
from collections import namedtuple
from datetime import UTC, date, datetime, timedelta


def _words(text):
    return text.split()


START = datetime(2022, 1, 1, tzinfo=UTC)
END = datetime(2026, 11, 24, 18, 0, tzinfo=UTC)
TODAY = date(2026, 11, 25)

# --- Vocabulary ------------------------------------------------------------------------------

#: Uninflected words: particles, conjunctions, postpositions, frequent fixed forms.
FUNCTION_WORDS = _words("""
нь болон бөгөөд энэ тухай юм байна гэж бол ч ба буюу тул дээр талаар хүртэл өмнө дараа хамт мөн
харин түүнчлэн эсвэл бүр бүх зэрэг үед хийгээд байгаа байсан болно хэрэгтэй шаардлагатай
холбогдох тодорхой нийт тус уг дээрх дараах доорх манай танай таны бид тэдгээр өөрийн
эдгээр тэр ийм тийм гэх мэт холбогдуулан дагуу үндсэн ажиллаж байгаа мэдэгдье хүсье
""")

#: Nouns, nominative; "nom|oblique" where a fleeting vowel drops before a vowel-initial ending.
NOUNS = _words("""
байгууллага засаг|засг дарга тамга газар|газр яам сайд хэлтэс|хэлтс алба төсөв|төсв хөрөнгө
мөнгө татвар санхүү тайлан мэдээлэл|мэдээлл мэдээ хүсэлт өргөдөл|өргөдл гомдол|гомдл
шийдвэр тушаал журам хууль дүрэм заалт зүйл бүлэг|бүлг хэсэг|хэсг ажил|ажл ажилтан|ажилтн
иргэн аймаг|аймг сум дүүрэг|дүүрг хороо баг нийслэл хот улс хурал|хурл хуралдаан тогтоол
захирамж гэрээ төсөл|төсл хөтөлбөр төлөвлөгөө зорилт арга хэмжээ ажиллагаа зөвшөөрөл|зөвшөөрл
лиценз гэрчилгээ бичиг|бичг баримт хавсралт хуудас|хуудс маягт хаяг утас|утс шуудан сүлжээ
систем программ технологи сургууль цэцэрлэг эмнэлэг|эмнэлг эмч багш сурагч оюутан|оюутн
хүүхэд гэр бүл орон сууц байр барилга зам гүүр ус дулаан цахилгаан эрчим түлш нүүрс уурхай
малтмал мал малчин|малчн бэлчээр тариалан хүнс үнэ тариф зардал|зардл орлого зээл өр төлбөр
шимтгэл даатгал тэтгэвэр тэтгэмж нийгэм|нийгм хамгаалал|хамгаалл эрүүл мэнд орчин|орчн ой
агаар|агаар бохирдол|бохирдл хог хаягдал|хаягдл аюулгүй байдал|байдл гал түймэр|түймр цагдаа
шүүх прокурор хяналт шалгалт аудит зөрчил|зөрчл торгууль хариуцлага эрх үүрэг бодлого
стратеги хөгжил|хөгжл судалгаа шинжилгээ үнэлгээ дүгнэлт санал|санл зөвлөмж хариу асуудал|асуудл
шаардлага нөхцөл хугацаа өдөр|өдр сар жил|жил улирал|улирл огноо дугаар|дугаар тоо хувь төгрөг
гишүүн|гишүүн зөвлөл|зөвлөл комисс төлөөлөгч орлогч захирал|захирл менежер нягтлан
мэргэжилтэн|мэргэжилтн зөвлөх хэлтэс уулзалт сургалт семинар зөвлөгөөн|зөвлөгөөн тендер
худалдан авалт хангамж нийлүүлэлт|нийлүүлэлт тээвэр авто машин|машин техник тоног төхөөрөмж
засвар үйлчилгээ бүртгэл|бүртгэл иргэншил|иргэншил паспорт үнэмлэх гэрлэлт төрөлт нас
ажилгүйдэл|ажилгүйдл хөдөлмөр|хөдөлмөр цалин|цалин урамшуулал|урамшуулл ээлж амралт чөлөө
томилолт гадаад дотоод ажиллагаа хэлэлцээр|хэлэлцээр гэрээлэгч нэхэмжлэх
данс банк зээлдэгч барьцаа хүү өмч хувьчлал|хувьчлал
зураг кадастр хил зааг бэлэг тэмдэг шагнал|шагнал одон медаль хүндэт ёслол баяр
""")

VERBS = _words("""
хүргүүлэ илгээ ирүүлэ мэдэгдэ хяна шалга батла зөвшөөрө шийдвэрлэ хэрэгжүүлэ ханга бүрдүүлэ
тайлагна хүсэ дэмжи танилцуула олго төлө бүртгэ хариула хэлэлцэ судла тооцо шилжүүлэ
хуваарила зарцуула нэмэгдүүлэ бууруула сайжруула засварла бари нийлүүлэ хадгала устга
тогтоо томило чөлөөлө сунга цуцла өөрчлө зохион байгуула хамтра мөрдө хүлээ тавь
""")

ADJECTIVES = _words("""
улсын шинэ их бага өндөр гол чухал нэмэлт тусгай ерөнхий үндэсний орон нутгийн нийслэлийн
аймгийн сумын дүүргийн хорооны төрийн хувийн албан ёсны хууль ёсны санхүүгийн эрх зүйн
нийгмийн эдийн засгийн байгаль орчны эрүүл мэндийн боловсролын соёлын спортын хүнсний
хөдөө аж ахуйн барилгын замын тээврийн эрчим хүчний уул уурхайн дижитал цахим
""")

GIVEN_NAMES = _words("""
Батболд Энхбаяр Ганбаатар Болормаа Оюунчимэг Сарангэрэл Мөнхбат Төмөрбаатар Эрдэнэчимэг
Цэцэгмаа Баярмаа Нарантуяа Даваасүрэн Ганзориг Алтанцэцэг Пүрэвдорж Отгонбаяр Хишигжаргал
Бат-Эрдэнэ Энхтуяа Мягмарсүрэн Дашдорж Түвшинбаяр Өлзийсайхан Ундрах Номин Анхбаяр Тэмүүлэн
Хулан Золзаяа Эрдэнэбат Сүхбаатар Очирбат Мөнх-Очир Лхагвасүрэн Цогтбаатар Ариунаа Саруул
""")
INITIALS = _words("А Б В Г Д Ж З Л М Н О Ө П Р С Т У Ү Х Ц Ч Ш Э Я")

PLACES = _words("""
Архангай Баян-Өлгий Баянхонгор Булган Говь-Алтай Говьсүмбэр Дархан-Уул Дорноговь Дорнод
Дундговь Завхан Орхон Өвөрхангай Өмнөговь Сүхбаатар Сэлэнгэ Төв Увс Ховд Хөвсгөл Хэнтий
""")
DISTRICTS = _words("""
Багануур Багахангай Баянгол Баянзүрх Налайх Сонгинохайрхан Сүхбаатар Хан-Уул Чингэлтэй
""")
SOUM_HEADS = _words("Баян Эрдэнэ Цагаан Их Өндөр Алтан Мөнх Шар Хөх Хар Дэлгэр Жаргалант "
                    "Түмэн Сайн")
SOUM_TAILS = _words("цогт хангай мандал булаг нуур уул тал зүрх өндөр дэлгэр хайрхан хошуу "
              "улаан овоо")
COMPANY_HEADS = _words("Монгол Алтан Шинэ Хангай Говийн Их Тэнгэр Номин Мон Эрдэнэт Оюу Тэсо "
                 "Гэрэгэ Сод Мэргэн Од Хүслэн Ирээдүй Найдвар")
COMPANY_TAILS = _words("Трейд Констракшн Групп Холдинг Ресурс Инженеринг Тех Даатгал Финанс "
                 "Импекс Логистик Сервис Агро Девелопмент")

LARGE = [
    ("Нийслэлийн Засаг даргын Тамгын газар", 130_000),
    ("Сангийн яам", 110_000),
    ("Татварын ерөнхий газар", 100_000),
    ("Боловсролын яам", 95_000),
    ("Улсын бүртгэлийн ерөнхий газар", 90_000),
]
AGENCIES = """
Эрүүл мэндийн яам|Хууль зүй, дотоод хэргийн яам|Байгаль орчин, аялал жуулчлалын яам|Зам,
тээврийн хөгжлийн яам|Барилга, хот байгуулалтын яам|Эрчим хүчний яам|Хөдөлмөр, нийгмийн
хамгааллын яам|Гэр бүл, хүүхэд, залуучуудын хөгжлийн газар|Онцгой байдлын ерөнхий газар|
Цагдаагийн ерөнхий газар|Шүүхийн шийдвэр гүйцэтгэх ерөнхий газар|Газар зохион байгуулалт,
геодези, зураг зүйн газар|Нийгмийн даатгалын ерөнхий газар|Үндэсний статистикийн хороо|
Төрийн албаны зөвлөл
""".replace("\n", " ").split("|")
KINDS_SMALL = ("soum", "school", "hospital", "company", "kindergarten", "ngo")

#: Case endings by harmony class: (back а/у, back о, front э/ү/и, front ө).
_HARMONY = {"a": 0, "o": 1, "e": 2, "ö": 3}
_LONG = {"abl": ("аас", "оос", "ээс", "өөс"), "ins": ("аар", "оор", "ээр", "өөр"),
         "refl": ("аа", "оо", "ээ", "өө"), "com": ("тай", "той", "тэй", "тэй"),
         "pl": ("ууд", "ууд", "үүд", "үүд"), "short": ("а", "о", "э", "ө"),
         "past": ("сан", "сон", "сэн", "сөн"), "pres": ("на", "но", "нэ", "нө"),
         "perf": ("лаа", "лоо", "лээ", "лөө"), "purp": ("хаар", "хоор", "хээр", "хөөр")}
_VOWELS = set("аэиоөуүыяеёюй")
_LONG_ENDINGS = ("аа", "ээ", "оо", "өө", "уу", "үү", "ай", "эй", "ой", "уй", "үй", "ий", "ия")


def harmony(word):
    """Vowel-harmony class of `word`: its first vowel decides (и and ы are neutral)."""
    for ch in word.casefold():
        if ch in "ауяы":
            return "a"
        if ch in "оё":
            return "o"
        if ch == "ө":
            return "ö"
        if ch in "эүе":
            return "e"
    return "e"


def _is_back(cls):
    return cls in ("a", "o")


def noun_forms(entry):
    """[(form, weight)] of a noun written "nom" or "nom|oblique" (fleeting vowel): the
    nominative and its case forms (genitive, accusative, dative-locative, ablative,
    instrumental, comitative, reflexive), the plural and the plural's cases."""
    nom, _, oblique = entry.partition("|")
    cls = harmony(nom)
    h = _HARMONY[cls]
    back = _is_back(cls)
    last = nom[-1]
    if nom.endswith(_LONG_ENDINGS):  # long vowel or diphthong: a linking г
        gen, acc, dat = nom + "гийн", nom + "г", nom + "д"
        abl, ins = nom + "г" + _LONG["abl"][h], nom + "г" + _LONG["ins"][h]
        plural = nom + ("нууд" if back else "нүүд")
    elif last in "аэоө":  # a written short final vowel drops before vowel-initial endings
        base = oblique or nom[:-1]
        gen, acc = base + ("ын" if back else "ийн"), base + ("ыг" if back else "ийг")
        dat = nom + "д"
        abl, ins = base + _LONG["abl"][h], base + _LONG["ins"][h]
        plural = base + _LONG["pl"][h]
    elif last == "ь":  # сургууль -> сургуулийн, сургуульд, сургуулиас
        base = nom[:-1]
        gen, acc, dat = base + "ийн", base + "ийг", nom + "д"
        abl, ins = base + "и" + _LONG["abl"][h][1:], base + "и" + _LONG["ins"][h][1:]
        plural = base + "иуд"
    elif last == "и":  # технологи -> технологийн, технологид
        gen, acc, dat = nom + "йн", nom + "йг", nom + "д"
        abl, ins = nom + "ас", nom + "ар"
        plural = nom + "уд"
    else:  # a consonant
        base = oblique or nom
        if last == "н":
            gen = base + ("ы" if back else "ий")
        else:
            gen = base + ("ын" if back and base[-1] not in "гжчшщ" else "ийн")
        acc = base + ("ыг" if back and base[-1] not in "гжчшщ" else "ийг")
        if last in "вгрс":
            dat = nom + "т"
        elif last in "чжш":
            dat = nom + "ид"
        elif last in "дтхк" or nom[-2] not in _VOWELS and last not in "йлмнр":
            dat = nom + _LONG["short"][h] + "д"
        else:
            dat = nom + "д"
        abl, ins = base + _LONG["abl"][h], base + _LONG["ins"][h]
        plural = base + _LONG["pl"][h]
    com = nom + _LONG["com"][h]
    refl = abl.removesuffix("с")  # -аа/-ээ: the ablative without its с
    pl_cls = _HARMONY[harmony(plural[-3:])]
    forms = [(nom, 34), (gen, 24), (dat, 10), (acc, 8), (abl, 6), (ins, 4), (com, 3),
             (refl, 2), (plural, 3), (plural + ("ын" if pl_cls < 2 else "ийн"), 2),
             (plural + ("ад" if pl_cls < 2 else "эд"), 1.5),
             (plural + _LONG["abl"][pl_cls], 1), (plural + ("ыг" if pl_cls < 2 else "ийг"), 1),
             (plural + _LONG["com"][pl_cls], 0.5)]
    return _merge(forms)


def verb_forms(stem):
    """[(form, weight)] of a verb given as its infinitive without -х (хүргүүлэ, шалга, илгээ):
    infinitive, converb -ж, past participle -сан, present-future -на, past -лаа, purposive
    -хаар. A short final vowel after л/р that follows a long vowel drops (хүргүүлэ -> хүргүүлж)."""
    cls = harmony(stem)
    h = _HARMONY[cls]
    short = stem
    if stem[-1] in "аэоө" and len(stem) > 3 and stem[-2] in "лр" and stem[-3] in _VOWELS \
            and stem[-4] in _VOWELS:
        short = stem[:-1]
    back = _is_back(cls)
    conv = short + ("ж" if short[-1] in _VOWELS or short != stem else "ч")
    forms = [(stem + "х", 30), (conv, 20), (short + _LONG["past"][h], 18),
             (short + _LONG["pres"][h], 12), (short + _LONG["perf"][h], 6),
             (stem + _LONG["purp"][h], 8), (stem + ("хыг" if back else "хийг"), 3),
             (stem + ("хын" if back else "хийн"), 3)]
    return _merge(forms)


def _merge(forms):
    out = {}
    for form, weight in forms:
        out[form] = out.get(form, 0) + weight
    return list(out.items())


def pseudo_stems(count, rng):
    """`count` distinct pseudo-words of Mongolian syllables under vowel harmony."""
    onsets = list("бгдлмнрстхцчжзш") + ["", "", ""]
    codas = list("нлргдстмх") + ["", ""]
    vowels = {"a": ["а", "а", "у", "аа", "уу", "ай"], "o": ["о", "о", "оо", "ой"],
              "e": ["э", "э", "ү", "и", "ээ", "үү"], "ö": ["ө", "ө", "өө", "ү"]}
    seen, out = set(), []
    while len(out) < count:
        cls = rng.choice("aaoeeö")
        parts = []
        for index in range(rng.choice((2, 2, 2, 3, 3, 4))):
            onset = rng.choice(onsets[:-3]) if index else rng.choice(onsets)
            parts.append(onset + rng.choice(vowels[cls]))
        word = "".join(parts) + rng.choice(codas)
        if word not in seen and len(word) >= 4:
            seen.add(word)
            out.append(word)
    return out


ZIPF = 1.1


class Vocabulary:
    """Word forms with Zipf weights: a stem of rank r (from 1) weighs (r + 2.7) ** -1.1, its
    weight shared among its forms (the ~400 real stems carry ~2/3 of the words, the 40,000
    pseudo-stems the rest). `sample(rng, k)` draws k forms."""

    def __init__(self, seed=7, tail=40_000):
        rng = random.Random(seed)
        content, seen = [], set(FUNCTION_WORDS)
        for kind, words in (("noun", NOUNS), ("verb", VERBS), ("adj", ADJECTIVES)):
            for word in words:
                if word.partition("|")[0] not in seen:
                    seen.add(word.partition("|")[0])
                    content.append((kind, word))
        rng.shuffle(content)
        stems = [("func", w) for w in FUNCTION_WORDS] + content + \
            [("noun", w) for w in pseudo_stems(tail, rng)]
        self.stems = []        # (kind, stem, [(form, weight)])
        forms, weights = [], []
        for rank, (kind, stem) in enumerate(stems, start=1):
            if kind == "noun":
                inflected = noun_forms(stem)
            elif kind == "verb":
                inflected = verb_forms(stem)
            else:
                inflected = [(stem.partition("|")[0], 1.0)]
            self.stems.append((kind, stem.partition("|")[0], inflected))
            zipf = (rank + 2.7) ** -ZIPF
            total = sum(w for _f, w in inflected)
            for form, weight in inflected:
                forms.append(form)
                weights.append(zipf * weight / total)
        self.forms = forms
        self.cum = list(itertools.accumulate(weights))
        self.real = len(FUNCTION_WORDS) + len(content)  # ranks of real stems: 1..real
        real_forms = sum(len(f) for _k, _s, f in self.stems[:self.real])
        first = sum(len(f) for _k, _s, f in self.stems[:len(FUNCTION_WORDS)])
        self.subject_forms = forms[first:real_forms]
        self.subject_cum = list(itertools.accumulate(weights[first:real_forms]))

    def sample(self, rng, k):
        return rng.choices(self.forms, cum_weights=self.cum, k=k)

    def sample_subject(self, rng, k):
        """k forms of real content words (no function words, no pseudo-words)."""
        return rng.choices(self.subject_forms, cum_weights=self.subject_cum, k=k)

    def content_stems(self, kinds=("noun", "verb", "adj")):
        """Real content stems, most frequent first: [(kind, stem, forms)]."""
        return [s for s in self.stems[:self.real] if s[0] in kinds]


# --- Organisations ---------------------------------------------------------------------------

Org = namedtuple("Org", "index regno name tier target")


def organisations(letters=1_000_000, seed=11, small=1000, middle=45):
    """The registry's organisations with their target sizes (party documents), for a registry
    of `letters` letters (sizes scale with it)."""
    rng = random.Random(seed)
    party_docs = letters * (1 + MEAN_RECIPIENTS)
    scale = letters / 1_000_000
    regnos = rng.sample(range(2_000_000, 9_999_999), len(LARGE) + middle + small)
    orgs = []
    for name, size in LARGE:
        orgs.append((name, "large", size * scale))
    small_sizes = [min(3000, max(60, rng.lognormvariate(math.log(350), 0.6))) * scale
                   for _ in range(small)]
    remainder = max(party_docs - sum(s for _n, _t, s in orgs) - sum(small_sizes),
                    middle * 1000 * scale)
    middle_raw = [math.exp(rng.uniform(math.log(8_000), math.log(60_000)))
                  for _ in range(middle)]
    middle_names = ([f"{p} аймгийн Засаг даргын Тамгын газар" for p in PLACES]
                    + [f"{d} дүүргийн Засаг даргын Тамгын газар" for d in DISTRICTS]
                    + [a.strip() for a in AGENCIES])
    for name, raw in zip(middle_names, middle_raw):
        orgs.append((name, "middle", raw * remainder / sum(middle_raw)))
    names = {n for n, _t, _s in orgs}
    for size in small_sizes:
        name = _small_name(rng)
        while name in names:
            name = _small_name(rng)
        names.add(name)
        orgs.append((name, "small", size))
    return [Org(index, str(regnos[index]), name, tier, target)
            for index, (name, tier, target) in enumerate(orgs)]


def _small_name(rng):
    kind = rng.choice(KINDS_SMALL)
    place = rng.choice(PLACES)
    soum = rng.choice(SOUM_HEADS) + rng.choice(SOUM_TAILS)
    if kind == "soum":
        return f"{place} аймгийн {soum} сумын Засаг даргын Тамгын газар"
    if kind == "school":
        return f"{place} аймгийн {soum} сумын {rng.randint(1, 9)}-р сургууль"
    if kind == "hospital":
        return f"{place} аймгийн {soum} сумын Эрүүл мэндийн төв"
    if kind == "kindergarten":
        return f"{rng.choice(DISTRICTS)} дүүргийн {rng.randint(1, 300)}-р цэцэрлэг"
    if kind == "ngo":
        return f"{rng.choice(COMPANY_HEADS)} {rng.choice(SOUM_TAILS).capitalize()} холбоо"
    return f"{rng.choice(COMPANY_HEADS)} {rng.choice(COMPANY_TAILS)} ХХК"


# --- Letters ---------------------------------------------------------------------------------

RECIPIENTS = [(1, 0.82), (2, 0.10), (3, 0.04)] + [(n, 0.04 / 7) for n in range(4, 11)]
MEAN_RECIPIENTS = sum(n * p for n, p in RECIPIENTS)
_RECIPIENT_COUNTS = [n for n, _p in RECIPIENTS]
_RECIPIENT_CUM = list(itertools.accumulate(p for _n, p in RECIPIENTS))

#: One letter's header: who, when, numbers, and each delivery's fate.
Letter = namedtuple("Letter", "i sender series out_seq sent_at deliveries")
#: One recipient's delivery: (recipient org index, state, incoming seq or 0, delivered_at,
#: executor or None, due date or None, open?).
Delivery = namedtuple("Delivery", "org state in_seq delivered_at executor due open")


class Registry:
    """A reproducible registry of `letters` letters between `organisations(...)`."""

    def __init__(self, letters=1_000_000, seed=2026, vocabulary=None):
        self.letters = letters
        self.seed = seed
        self.orgs = organisations(letters)
        self.by_regno = {org.regno: org for org in self.orgs}
        self.cum = list(itertools.accumulate(org.target for org in self.orgs))
        self.vocabulary = vocabulary or Vocabulary()
        self.series = [("01",) if org.tier == "small" else ("01", "02", "03", "04")[
            :2 + org.index % 3] for org in self.orgs]

    def _pick(self, rng, exclude):
        total = self.cum[-1]
        while True:
            index = bisect.bisect_right(self.cum, rng.random() * total)
            if index not in exclude:
                return index

    def stream(self):
        """Every letter's header, oldest first (a generator; nothing is kept)."""
        rng = random.Random(self.seed)
        span = (END - START).total_seconds()
        out_seq, in_seq = {}, {}
        for i in range(self.letters):
            sent_at = START + timedelta(seconds=(i + rng.random()) * span / self.letters)
            year = sent_at.year
            sender = self._pick(rng, ())
            count = _RECIPIENT_COUNTS[bisect.bisect_right(_RECIPIENT_CUM, rng.random() *
                                                          _RECIPIENT_CUM[-1])]
            chosen = [sender]
            for _ in range(count):
                chosen.append(self._pick(rng, chosen))
            series = rng.choice(self.series[sender])
            seq = out_seq[sender, series, year] = out_seq.get((sender, series, year), 0) + 1
            recent = (END - sent_at).days < 4
            deliveries = []
            for org in chosen[1:]:
                delivered_at = sent_at + timedelta(seconds=rng.uniform(1, 120))
                roll = rng.random()
                if roll < (0.7 if recent else 0.05):
                    state, number, executor = "delivered", 0, None
                elif roll < (0.75 if recent else 0.07):
                    state, number, executor = "rejected", 0, None
                else:
                    state = "registered"
                    number = in_seq[org, year] = in_seq.get((org, year), 0) + 1
                    executor = _person(rng) if rng.random() < 0.6 else None
                due, open_ = None, False
                if state != "rejected" and rng.random() < 0.2:
                    due = (sent_at + timedelta(days=rng.randint(7, 30))).date()
                    open_ = due >= TODAY - timedelta(days=14) or rng.random() < 0.03
                deliveries.append(Delivery(org, state, number, delivered_at, executor, due,
                                           open_))
            yield Letter(i, sender, series, seq, sent_at, tuple(deliveries))

    def party_counts(self):
        """[party documents] per organisation index (one pass over the letters)."""
        counts = [0] * len(self.orgs)
        for letter in self.stream():
            counts[letter.sender] += 1
            for delivery in letter.deliveries:
                counts[delivery.org] += 1
        return counts

    # Content ------------------------------------------------------------------------------

    def content(self, letter):
        """(subject, text) of `letter`, reproducible from its number alone plus its header."""
        rng = random.Random(self.seed * 1_000_003 + letter.i)
        vocab = self.vocabulary
        sender = self.orgs[letter.sender]
        recipients = [self.orgs[d.org] for d in letter.deliveries]
        subject_words = vocab.sample_subject(rng, rng.randint(3, 8))
        subject = _sentence(" ".join(subject_words) + " " + rng.choice(
            ("тухай", "хүргүүлэх тухай", "санал хүргүүлэх тухай", "мэдэгдэх тухай",
             "хүсэлт гаргах тухай")))
        when = letter.sent_at
        head = (f"{sender.name.upper()} АЛБАН БИЧИГ {when:%Y} оны {when.month:02d} дугаар сарын "
                f"{when.day:02d}-ны өдөр Дугаар {self.number(letter)} "
                f"{', '.join(r.name for r in recipients)}-д Тухай: {subject}")
        words = []
        body = max(120, min(600, int(rng.gauss(300, 60)))) - 40
        while len(words) < body:
            sentence = vocab.sample(rng, rng.randint(6, 18))
            roll = rng.random()
            if roll < 0.08:
                sentence.insert(rng.randrange(len(sentence)),
                                f"{rng.randint(1, 999)},{rng.randint(0, 999):03d},000 төгрөг")
            elif roll < 0.14:
                sentence.insert(rng.randrange(len(sentence)),
                                f"{rng.randint(2015, 2026)} оны {rng.randint(1, 12)} дүгээр "
                                f"сарын {rng.randint(1, 28)}-ны")
            elif roll < 0.18:
                sentence.insert(rng.randrange(len(sentence)),
                                f"{rng.randint(1, 4):02d}/{rng.randint(1, 4000)} тоот")
            elif roll < 0.22:
                sentence.insert(rng.randrange(len(sentence)), _person(rng))
            if len(sentence) > 8 and rng.random() < 0.4:
                cut = rng.randrange(3, len(sentence) - 2)
                sentence[cut] += ","
            words.append(_sentence(" ".join(sentence)) + ".")
            words.extend([""] * (len(sentence) - 1))  # count words, keep sentences whole
        signature = f"ДАРГА {_person(rng)}"
        text = head + "\n\n" + " ".join(w for w in words if w) + "\n\n" + signature
        return subject, text

    def number(self, letter):
        return f"{letter.series}/{letter.out_seq}"

    def documents(self, letter, wanted=None):
        """The `registry.search.Document`s of `letter`, one per party (only the parties in
        `wanted`, a set of org indexes, if given)."""
        from registry.search import Document

        parties = [letter.sender] + [d.org for d in letter.deliveries]
        if wanted is not None and not any(p in wanted for p in parties):
            return []
        subject, text = self.content(letter)
        sender = self.orgs[letter.sender]
        recipients = tuple((self.orgs[d.org].regno, self.orgs[d.org].name)
                           for d in letter.deliveries)
        number = self.number(letter)
        out = []
        if wanted is None or letter.sender in wanted:
            states = {d.state for d in letter.deliveries}
            out.append(Document(
                key=f"{sender.regno}/outbox/l{letter.i:07d}", org=sender.regno,
                direction="outgoing", subject=subject, text=text,
                sender=(sender.regno, sender.name), recipients=recipients,
                outgoing_number=number, incoming_number=None, date=letter.sent_at,
                state="received" if states == {"registered"} else "sent", executor=None,
                due=None, open=False, stamp=f"s{letter.i}"))
        for delivery in letter.deliveries:
            if wanted is not None and delivery.org not in wanted:
                continue
            org = self.orgs[delivery.org]
            incoming = f"01/{delivery.in_seq}" if delivery.in_seq else None
            out.append(Document(
                key=f"{org.regno}/inbox/d{letter.i:07d}", org=org.regno,
                direction="incoming", subject=subject, text=text,
                sender=(sender.regno, sender.name), recipients=recipients,
                outgoing_number=number, incoming_number=incoming, date=delivery.delivered_at,
                state=delivery.state, executor=delivery.executor, due=delivery.due,
                open=delivery.open, stamp=f"s{letter.i}"))
        return out


def letter_number(key):
    """The letter number i of a document key (`<regno>/outbox/l<i>`, `<regno>/inbox/d<i>`)."""
    return int(key.rsplit("/", 1)[1][1:])


def _sentence(text):
    return text[:1].upper() + text[1:]


def _person(rng):
    return f"{rng.choice(INITIALS)}.{rng.choice(GIVEN_NAMES)}"


def main():
    """Print a sample letter, a noun's forms and the registry's organisation sizes."""
    import argparse
    import statistics
    import time

    parser = argparse.ArgumentParser(description="Show what the search benchmark generates.")
    parser.add_argument("--letters", type=int, default=1_000_000)
    args = parser.parse_args()
    registry = Registry(args.letters)
    letter = next(itertools.islice(registry.stream(), 1000, None))
    subject, text = registry.content(letter)
    print(f"letter {letter.i}: {registry.orgs[letter.sender].name} -> "
          + "; ".join(registry.orgs[d.org].name for d in letter.deliveries))
    print(f"subject: {subject}\n{text}\n({len(text.split())} words)\n")
    for noun in ("байгууллага", "газар|газр", "хүсэлт"):
        print(", ".join(form for form, _weight in noun_forms(noun)))
    print(", ".join(form for form, _weight in verb_forms("хүргүүлэ")))
    started = time.perf_counter()
    counts = registry.party_counts()
    print(f"\n{len(registry.orgs):,} organisations, {sum(counts):,} party documents "
          f"(counted in {time.perf_counter() - started:.0f} s); largest "
          + ", ".join(f"{c:,}" for c in sorted(counts, reverse=True)[:5])
          + f"; median {statistics.median(counts):,.0f}; "
          f"{sum(1 for c in counts if c < 1000):,} under 1,000")


if __name__ == "__main__":
    main()
