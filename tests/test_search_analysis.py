"""Mongolian-aware analysis: the stemmer on real word forms, the analyzer, and our parser on
a real index of each engine.

The stemmer rules are written down in docs/search-analysis.md.
"""
import itertools
from datetime import UTC, datetime

import pytest
from whoosh import fields

from registry.search import ENGINES, Document, SearchQuery, open_index
from registry.search.analysis import analyzer, query_parser, snippet, terms
from registry.search.mongolian import cyrillic_readings, latin, stem

#: Real inflected forms of one noun each: nominative, genitive, accusative, dative-locative,
#: ablative, instrumental, comitative, directive, plural (+ case), reflexive (+ case).
FORMS = {
    "байгууллага": [
        "байгууллага", "байгууллагын", "байгууллагыг", "байгууллагад", "байгууллагаас",
        "байгууллагаар", "байгууллагатай", "байгууллага руу", "байгууллагууд",
        "байгууллагуудын", "байгууллагуудад", "байгууллагуудаас", "байгууллагаа",
        "байгууллагадаа", "байгууллагаасаа", "байгууллагынхаа", "Байгууллагуудтай"],
    "засаг": ["засаг", "засгийн", "засагт", "засгаас", "засгаар", "засагтай", "засгаа"],
    "захиргаа": ["захиргаа", "захиргааны", "захиргааг", "захиргаанд", "захиргаанаас",
                 "захиргаагаар", "захиргаатай", "захиргаанууд"],
    "хот": ["хот", "хотын", "хотыг", "хотод", "хотоос", "хотоор", "хоттой", "хотууд",
            "хотуудын", "хотдоо", "хотоосоо", "хот руу"],
    "дүүрэг": ["дүүрэг", "дүүргийн", "дүүргийг", "дүүрэгт", "дүүргээс", "дүүргээр",
               "дүүрэгтэй", "дүүргүүд", "дүүргүүдийн", "дүүрэгтээ", "дүүрэг рүү"],
    "сургууль": ["сургууль", "сургуулийн", "сургуулийг", "сургуульд", "сургуулиас",
                 "сургуулиар", "сургуультай", "сургуулиуд", "сургуулиудын", "сургуулиа",
                 "сургуульдаа"],
    "шийдвэр": ["шийдвэр", "шийдвэрийн", "шийдвэрийг", "шийдвэрт", "шийдвэрээс",
                "шийдвэрээр", "шийдвэртэй", "шийдвэрүүд", "шийдвэрүүдийн", "шийдвэрээ",
                "ШИЙДВЭРЛҮҮ"],
    "тушаал": ["тушаал", "тушаалын", "тушаалыг", "тушаалд", "тушаалаас", "тушаалаар",
               "тушаалтай", "тушаалууд", "тушаалаа", "тушаалдаа"],
    "өргөдөл": ["өргөдөл", "өргөдлийн", "өргөдлийг", "өргөдөлд", "өргөдлөөс", "өргөдлөөр",
                "өргөдөлтэй", "өргөдлүүд", "өргөдлүүдийн", "өргөдлөө", "ӨРГӨДӨЛ"],
    "гэрээ": ["гэрээ", "гэрээний", "гэрээг", "гэрээнд", "гэрээнээс", "гэрээгээр",
              "гэрээтэй", "гэрээнүүд", "гэрээнүүдийн", "гэрээгээ", "гэрээндээ"],
    "хороо": ["хороо", "хорооны", "хороог", "хороонд", "хорооноос", "хороогоор",
              "хороотой", "хороонууд", "хороондоо"],
    "хүн": ["хүн", "хүний", "хүнийг", "хүнд", "хүнээс", "хүнээр", "хүнтэй", "хүмүүс",
            "хүмүүсийн", "хүмүүст", "хүмүүсээс"],
    "ажил": ["ажил", "ажлын", "ажлыг", "ажилд", "ажлаас", "ажлаар", "ажилтай", "ажлууд",
             "ажлаа", "ажилдаа"],
    "төсөв": ["төсөв", "төсвийн", "төсвийг", "төсөвт", "төсвөөс", "төсвөөр", "төсөвтэй",
              "төсвөө"],
    "Улаанбаатар": ["Улаанбаатар", "Улаанбаатарын", "Улаанбаатрын", "Улаанбаатарыг",
                    "Улаанбаатарт", "Улаанбаатараас", "Улаанбаатараар", "Улаанбаатартай",
                    "Улаанбаатарлуу"],
    "газар": ["газар", "газрын", "газрыг", "газарт", "газраас", "газраар", "газартай",
              "газрууд"],
    "хууль": ["хууль", "хуулийн", "хуулийг", "хуульд", "хуулиас", "хуулиар", "хуультай",
              "хуулиуд", "хуулиа"],
    "хүүхэд": ["хүүхэд", "хүүхдийн", "хүүхдийг", "хүүхдэд", "хүүхдээс", "хүүхэдтэй",
               "хүүхдүүд", "хүүхдүүдийн"],
    "тайлан": ["тайлан", "тайлангийн", "тайланг", "тайланд", "тайлангаас", "тайлангаар",
               "тайлантай"],
    "сайд": ["сайд", "сайдын", "сайдыг", "сайдад", "сайдаас", "сайдаар", "сайдтай",
             "сайдууд"],
    "дугаар": ["дугаар", "дугаарын", "дугаарыг", "дугаарт", "дугаараас", "дугаартай"],
    "хэлтэс": ["хэлтэс", "хэлтсийн", "хэлтсийг", "хэлтэст", "хэлтсээс", "хэлтсээр",
               "хэлтэстэй", "хэлтсүүд"],
    "аймаг": ["аймаг", "аймгийн", "аймгийг", "аймагт", "аймгаас", "аймгаар", "аймагтай",
              "аймгууд"],
    "монгол": ["Монгол", "Монголын", "Монголд", "Монголоос", "монголчууд"],
}

#: Different words that must keep different stems (look alike, or one hides in the other).
DIFFERENT = [
    ("гэр", "гэрээ"), ("гэрт", "гэрээнд"), ("хор", "хороо"), ("хорын", "хорооны"),
    ("сан", "санаа"), ("санаа", "санал"), ("цаг", "цагдаа"), ("цагийн", "цагдаагийн"),
    ("таван", "тавин"), ("ажил", "ажилтан"), ("алба", "албан"), ("зөвлөл", "зөвлөх"),
    ("хүн", "хүүхэд"), ("хот", "хотоо"), ("засаг", "засвар"), ("хэрэг", "хэрэглээ"),
    ("дугаар", "дуг"), ("сайд", "сай"), ("хятад", "хят"), ("тушаал", "туш"),
    ("төсөв", "төсөл"), ("он", "оны"),
]


def test_every_form_of_a_noun_has_one_stem():
    assert sum(len(forms) for forms in FORMS.values()) >= 60
    for noun, forms in FORMS.items():
        stems = {form: stem(form.split()[0].casefold()) for form in forms}
        assert len(set(stems.values())) == 1, (noun, stems)


def test_different_nouns_keep_different_stems():
    stems = {noun: stem(noun.casefold()) for noun in FORMS}
    for (a, stem_a), (b, stem_b) in itertools.combinations(stems.items(), 2):
        assert stem_a != stem_b, (a, b)


@pytest.mark.parametrize("a,b", DIFFERENT)
def test_look_alike_words_do_not_collide(a, b):
    assert stem(a) != stem(b)


@pytest.mark.parametrize("word", ["хот", "хүн", "он", "дэд", "тэд", "бид", "онд"])
def test_short_words_are_not_stemmed(word):
    assert stem(word) == word


@pytest.mark.parametrize("word", ["3-р", "01/123", "2026", "а4", "covid19", "report"])
def test_words_with_digits_and_non_cyrillic_words_are_left_alone(word):
    assert stem(word) == word


def latin_stems(typed):
    return {stem(reading) for reading in cyrillic_readings(typed.casefold())}


def test_every_form_spelled_in_latin_reads_back_to_its_stem():
    for noun, forms in FORMS.items():
        for form in forms:
            word = form.split()[0].casefold()
            assert stem(word) in latin_stems(latin(word)), (noun, form, latin(word))


@pytest.mark.parametrize("typed,cyrillic", [
    ("ulaanbaatar", "Улаанбаатар"), ("Ulaanbaatart", "Улаанбаатарт"),
    ("ulaanbaataraas", "Улаанбаатар"), ("khoroo", "хороонд"), ("horoonii", "хорооны"),
    ("baiguullagiin", "байгууллагуудаас"), ("zasgiin", "засаг"), ("Sükhbaatar", "Сүхбаатарын"),
    ("surguuliin", "сургууль"), ("geree", "гэрээний"), ("khotiin", "хотын"),
    ("hotyn", "хотод"), ("orgodol", "өргөдлийн"), ("üil", "үйл"), ("yerönhii", "ерөнхий"),
])
def test_typed_latin_meets_the_cyrillic_word(typed, cyrillic):
    assert stem(cyrillic.casefold()) in latin_stems(typed)


def test_latin_readings_follow_the_two_vowel_rows():
    assert cyrillic_readings("khoroo") == ["хороо", "хөрөө"]
    assert cyrillic_readings("shiidver") == ["шийдвэр"]
    assert cyrillic_readings("heltsiin") == ["хэлцийн", "хэлтсийн"]
    assert cyrillic_readings("A4") == []


def test_latin_does_not_join_different_words():
    assert stem("гэрээ") not in latin_stems("ger")
    assert stem("хороо") not in latin_stems("hor")


# The analyzer ---------------------------------------------------------------------------------

def tokens(text, mode="index"):
    return [(t.pos, t.text, text[t.startchar:t.endchar])
            for t in analyzer()(text, positions=True, chars=True, mode=mode)]


def test_cyrillic_words_are_folded_and_stemmed():
    assert tokens("ӨРГӨДЛИЙН Улаанбаатарт") == [
        (0, "өргөдл", "ӨРГӨДЛИЙН"), (1, "улаанбаатр", "Улаанбаатарт")]
    assert tokens("Өргөдлийн", mode="query") == [(0, "өргөдл", "Өргөдлийн")]


def test_decomposed_letters_fold_like_composed_ones():
    decomposed = "\u0401\u0441 \u0415\u0308\u0441"  # Ёс and Е + combining diaeresis + с
    assert [t[1] for t in tokens(decomposed)] == ["ёс", "ёс"]


def test_latin_look_alikes_inside_a_cyrillic_word_read_as_cyrillic():
    # ҮЙЛ typed with a Latin Y, Өргөдөл with a Greek theta, хот with a Latin o
    assert [t[1] for t in tokens("Yйл θргөдлийн хoтод")] == ["үйл", "өргөдл", "хот"]
    assert [t[1] for t in tokens("Report")] == ["report"]


def test_numbers_stay_whole_and_hyphenated_words_split():
    assert [t[1] for t in tokens("№01/123 тоот, 2026.11.25, 3-р хороо", mode="query")] == [
        "01/123", "тоот", "2026.11.25", "3-р", "хороо"]
    assert [(t[0], t[1]) for t in tokens("Хан-Уул", mode="query")] == [(0, "хан"), (1, "уул")]


def test_latin_words_are_english_and_in_a_query_also_mongolian_at_the_same_position():
    assert [t[1] for t in tokens("Organizations registered")] == ["organ", "regist"]
    assert tokens("ulaanbaatart khoroo", mode="query") == [
        (0, "ulaanbaatart", "ulaanbaatart"), (0, "улаанбаатр", "ulaanbaatart"),
        (0, "үлаанбаатр", "ulaanbaatart"),
        (1, "khoroo", "khoroo"), (1, "хороо", "khoroo"), (1, "хөрөө", "khoroo")]


def test_terms_of_one_word():
    assert terms("Байгууллагуудаас") == ("байгууллг",)
    assert terms("Organizations", "query")[0] == "organ"
    assert terms("Улаанбаатар", "query") == ("улаанбаатр",)
    assert terms("A4") == ("a4",)


# Whoosh's parser on a real index --------------------------------------------------------------

LETTERS = {
    "permit": ("Байгууллагуудаас ирсэн өргөдлийн тухай",
               "Улаанбаатар хотын Хан-Уул дүүргийн 3-р хорооны иргэдийн өргөдлийг хүлээн авлаа. "
               "Та бүхний 2026 оны 01/123 тоот албан бичгийн хариу."),
    "decree": ("Засгийн газрын тогтоол",
               "Засаг даргын тамгын газарт хүргүүлэв. Registered organizations in Ulaanbaatar."),
    "home": ("Гэрт нь очсон тухай", "Хорын тухай мэдээлэл. Хотоос гадуур."),
    "contract": ("Гэрээний төсөл", "Хороодын гэрээнүүдийг байгууллагад хүргүүлнэ."),
    "apart": ("Хотын хороо", "Улаанбаатар болон бусад хот. Хороо тус бүр."),
}


@pytest.fixture(scope="module", params=ENGINES)
def index(request, tmp_path_factory):
    """What a query finds with each engine, through `registry.search` (the project's parser;
    for Tantivy its tree turned into Tantivy queries)."""
    when = datetime(2026, 11, 25, tzinfo=UTC)
    ix = open_index(str(tmp_path_factory.mktemp("search")), engine=request.param)
    ix.update([Document(key=f"1000001/outbox/{key}", org="1000001", direction="outgoing",
                        subject=subject, text=text, sender=("1000001", ""), recipients=(),
                        date=when) for key, (subject, text) in LETTERS.items()])

    def find(text):
        found = ix.search(SearchQuery(org="1000001", text=text, size=50, facets=False,
                                      highlight=False))
        return {hit.key.rsplit("/", 1)[1] for hit in found.items}

    yield find
    ix.close()


@pytest.mark.parametrize("typed,found", [
    ("байгууллага", {"permit", "contract"}),
    ("байгууллагын", {"permit", "contract"}),
    ("ӨРГӨДӨЛ", {"permit"}),
    ("гэрээ", {"contract"}),
    ("гэр", {"home"}),
    ("хороо", {"permit", "apart"}),
    ("хор", {"home"}),
    ("засаг", {"decree"}),
    ("ulaanbaatar", {"permit", "decree", "apart"}),
    ("Ulaanbaatart", {"permit", "apart"}),  # English text is not read as Mongolian
    ("khoroo", {"permit", "apart"}),
    ("zasgiin", {"decree"}),
    ("organization", {"decree"}),
    ("01/123 тоот", {"permit"}),  # alone, 01/123 is a registration number
    ("хан-уул", {"permit"}),
])
def test_a_word_finds_its_forms(index, typed, found):
    assert index(typed) == found


def test_two_words_must_both_be_there(index):
    assert index("өргөдөл хороо") == {"permit"}
    assert index("хот хороо") == {"permit", "apart"}
    assert index("засаг хороо") == set()


def test_latin_words_need_one_spelling_each_not_both(index):
    assert index("ulaanbaatar khoroo") == {"permit", "apart"}
    assert index("ulaanbaatar khotiin") == {"permit", "apart"}
    assert index("ulaanbaatar hotyn") == {"permit", "apart"}
    assert index("ulaanbaatar horoonii") == {"permit", "apart"}


def test_phrases_match_inflected_words_in_order(index):
    assert index('"улаанбаатар хотод"') == {"permit"}
    assert index('"хан уул дүүрэг"') == {"permit"}
    assert index('"ulaanbaatar hot"') == {"permit"}
    assert index('"хорооны иргэн"') == set()  # иргэдийн is a plural this stemmer leaves
    assert index('"хот улаанбаатар"') == set()
    assert index('"засаг дарга"') == {"decree"}


def test_prefixes_find_the_letters_typed_and_the_stem(index):
    assert index("засаг*") == {"decree"}
    assert index("засг*") == {"decree"}
    assert index("байгуулл*") == {"permit", "contract"}
    assert index("ulaanb*") == {"permit", "decree", "apart"}
    assert index("regis*") == {"decree"}
    # an English prefix meets Porter stems only as far as the stem goes (organizations: organ)
    assert index("organiz*") == set()


def test_a_latin_query_highlights_the_cyrillic_word():
    schema = fields.Schema(text=fields.TEXT(analyzer=analyzer()))
    parsed = query_parser(["text"], schema).parse("ulaanbaatar khoroo")
    terms_ = {text for _field, text in parsed.iter_all_terms()}
    text = "Улаанбаатар хотын Хан-Уул дүүргийн хорооны иргэд <b>"
    marked = snippet(text, terms_)
    assert marked == ("<mark>Улаанбаатар</mark> хотын Хан-Уул дүүргийн <mark>хорооны</mark> "
                      "иргэд &lt;b&gt;")


def test_a_snippet_shows_the_passages_with_most_matches_in_text_order():
    text = ("Эхний хороо. " + "үг " * 60 + "Хоёр дахь хороо, хорооны хурал. " + "өөр " * 60
            + "Гурав дахь хороо хорооны хороод хороог.")
    marked = snippet(text, {"хороо"})
    first, second = marked.split(" … ")
    assert first.startswith("үг") and "<mark>хорооны</mark> хурал" in first
    # (хороод, a plural this stemmer leaves, is not хороо)
    assert second.endswith("<mark>хороог</mark>.") and marked.count("<mark>") == 5
    assert snippet(text, {"байхгүй"}) == ""
