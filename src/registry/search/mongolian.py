"""Mongolian text folding and Latin transliteration.

`fold` makes two spellings of a word compare equal where a user would expect it: Unicode NFC,
case folding (Ө/ө, Ү/ү, Ё/ё fold like any other Cyrillic letter). `latin` transliterates
Mongolian Cyrillic the way people type it on a Latin keyboard (Улаанбаатар -> ulaanbaatar,
Хан-Уул -> han-uul), and `loose_latin` folds what a user typed in Latin to the same form
(kh -> h), so that either spelling finds the Cyrillic original.
"""
import re
import unicodedata

_LATIN = {
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "yo", "ж": "j",
    "з": "z", "и": "i", "й": "i", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o",
    "ө": "o", "п": "p", "р": "r", "с": "s", "т": "t", "у": "u", "ү": "u", "ф": "f",
    "х": "h", "ц": "ts", "ч": "ch", "ш": "sh", "щ": "sh", "ъ": "", "ы": "y", "ь": "i",
    "э": "e", "ю": "yu", "я": "ya",
}
_WORD = re.compile(r"\w+", re.UNICODE)
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")


def fold(text):
    """Return `text` NFC-normalised and case-folded."""
    return unicodedata.normalize("NFC", text or "").casefold()


def words(text):
    """Return the folded words of `text` (runs of letters and digits), in order."""
    return _WORD.findall(fold(text))


def has_cyrillic(text):
    return bool(_CYRILLIC.search(text or ""))


def latin(text):
    """Transliterate folded Mongolian Cyrillic to Latin; other characters pass through."""
    return "".join(_LATIN.get(ch, ch) for ch in fold(text))


def loose_latin(text):
    """Fold Latin input to the transliteration's spelling (kh -> h, w -> v)."""
    return fold(text).replace("kh", "h").replace("w", "v")


# Stemming ------------------------------------------------------------------------------------
#
# A light, dictionary-free stemmer for Mongolian Cyrillic nouns: it strips one layer each of
# reflexive possession, case and plural, then normalises what is left so that the forms of one
# noun meet (the rules and their known limits: docs/search-analysis.md). A stem is an index key,
# not a word to show: байгууллага, байгууллагын, байгууллагуудаас -> "байгууллг".

_VOWELS = frozenset("аэиоуөүыеёяю")
_SHORT = frozenset("аэоөуүиы")
_LONG = frozenset(("аа", "ээ", "оо", "өө", "уу", "үү", "ий", "ай", "эй", "ой", "уй", "үй"))
_DIPHTHONGS = frozenset(("ай", "эй", "ой", "уй", "үй"))
_REFLEXIVE_VOWELS = frozenset(("аа", "ээ", "оо", "өө"))
#: Nouns whose ending only looks like a case ending (checked on the folded word).
_PROTECTED = {
    "дугаар": "дугаар", "дүгээр": "дүгээр", "хэлэлцээр": "хэлэлцээр", "хүүхэд": "хүүхд",
    "хятад": "хятд", "сайд": "сайд", "таван": "таван", "тавин": "тавин",
}
#: Stems (after stripping) that belong to another stem: suppletive plurals.
_IRREGULAR = {"хүмүүс": "хүн"}
MIN_STEMMED = 4  # shorter words are kept whole: хот, хүн, он, дэд


def _has_vowel(text):
    return any(ch in _VOWELS for ch in text)


def _ends_long(rest):
    return rest[-2:] in _LONG


def _any(rest):
    return len(rest) >= 2 and _has_vowel(rest)


def _after_consonant(rest):
    return _any(rest) and rest[-1] not in _VOWELS


def _after_long(rest):
    return len(rest) >= 3 and _ends_long(rest)


def _after_diphthong(rest):
    return len(rest) >= 3 and rest[-2:] in _DIPHTHONGS


def _after(letters):
    return lambda rest: _any(rest) and rest[-1] in letters and _has_vowel(rest[:-1])


def _after_short_vowel_or(letters):
    def condition(rest):
        if not _any(rest) or len(rest) < 3:
            return False
        last = rest[-1]
        if last in letters:
            return _has_vowel(rest[:-1])
        return last in _SHORT and rest[-2] not in _VOWELS

    return condition


def _at_least(size, condition):
    return lambda rest: len(rest) >= size and condition(rest)


def _rules(*groups):
    """{last letter: [(suffix, [conditions]), ...] longest first} of suffix groups."""
    table = {}
    for suffixes, condition in groups:
        for suffix in suffixes.split():
            table.setdefault(suffix, []).append(condition)
    by_last = {}
    for suffix, conditions in sorted(table.items(), key=lambda item: -len(item[0])):
        by_last.setdefault(suffix[-1], []).append((suffix, conditions))
    return by_last


_DATIVE_VD = "тджчшцз"  # stems that take -ад/-эд/-од/-өд (хотод) and lose it before -аа (хотдоо)
_CASES = _rules(
    # genitive
    ("гийн ний ны гийнх нийх ных", _after_long),
    ("ийн ын ийнх ынх", _any),
    ("ий ы гийн", _after("н")),                    # хүний, оны; сангийн, тайлангийн
    ("н", _after_diphthong),
    # accusative
    ("ийг ыг", _any),
    ("гийг г", _after("н")),                         # тайланг
    ("г", _after_long),
    # dative-locative
    ("нд", _after_long),
    ("ад эд од өд", _after(_DATIVE_VD)),
    ("ид", _after("жчш")),
    ("т", _after("гврс")),
    ("д", _after_short_vowel_or("лмнрь")),
    # ablative
    ("наас нээс ноос нөөс гаас гээс гоос гөөс", _after_long),
    ("иас иос", _after_consonant),
    ("гаас гээс гоос гөөс", _after("н")),
    ("аас ээс оос өөс", _after_consonant),
    # instrumental
    ("наар нээр ноор нөөр гаар гээр гоор гөөр", _after_long),
    ("иар иор", _after_consonant),
    ("гаар гээр гоор гөөр", _after("н")),
    ("аар ээр оор өөр", _after_consonant),
    # comitative
    ("тай тэй той", _any),
    # directive
    ("руу рүү", _at_least(3, _any)),
    ("луу лүү", _at_least(3, _after("р"))),
)
_REFLEXIVE = ("гаа", "гээ", "гоо", "гөө", "аа", "ээ", "оо", "өө")
_PLURALS = _rules(
    ("нууд нүүд", _after_long),
    ("чууд чүүд иуд иүд", _any),
    ("ууд үүд", _after_consonant),
)


def _strip(word, rules):
    """`word` without the longest suffix of `rules` whose condition holds, or None."""
    for suffix, conditions in rules.get(word[-1:], ()):
        if word.endswith(suffix):
            rest = word[:-len(suffix)]
            if any(condition(rest) for condition in conditions):
                return rest
    return None


def _strip_case(word):
    """Strip [case][reflexive] (хотдоо, байгууллагаасаа) or a case alone; None if neither."""
    for reflexive in _REFLEXIVE:
        if word.endswith(reflexive):
            inner = word[:-len(reflexive)]
            rest = _strip(inner, _CASES)
            if rest is not None:
                return rest
            # хотод + аа -> хотдоо: the dative's vowel falls out before the reflexive
            if inner.endswith("д") and inner[-2:-1] in _DATIVE_VD \
                    and _has_vowel(inner[:-2]) and len(inner) >= 4:
                return inner[:-1]
    return _strip(word, _CASES)


def _normalise(rest):
    """The stem of what is left once endings are stripped (the bare noun goes here too)."""
    rest = _IRREGULAR.get(rest, rest)
    if rest.endswith("ь"):
        rest = rest[:-1]                       # сургууль -> сургуул (сургуулийн)
    elif rest.endswith(("иа", "ио")) and len(rest) >= 5:
        rest = rest[:-2]                       # хуулиа (reflexive of хууль) -> хуул
    elif rest[-2:] in _REFLEXIVE_VOWELS and len(rest) >= 5:
        head = rest[:-2]
        syllables = sum(1 for i, ch in enumerate(head)
                        if ch in _VOWELS and (i == 0 or head[i - 1] not in _VOWELS))
        if head[-1] not in _VOWELS and (syllables >= 2 or head[-2] not in _VOWELS):
            rest = head                        # захиргаа, байгууллагаа, ажлаа; not хороо, гэрээ
    if len(rest) >= 4 and rest[-1] in _SHORT and rest[-2] not in _VOWELS:
        rest = rest[:-1]                       # байгууллага -> байгууллаг (байгууллагын)
    if len(rest) >= 4 and rest[-1] not in _VOWELS and rest[-2] in _SHORT \
            and rest[-3] not in _VOWELS and _has_vowel(rest[:-3]):
        rest = rest[:-2] + rest[-1]            # fleeting vowel: засаг -> засг (засгийн)
    return rest


def stem(word):
    """The stem of one folded Mongolian Cyrillic word; other words come back unchanged.

    Words shorter than MIN_STEMMED letters, and words with digits, are returned as they are.
    """
    if len(word) < MIN_STEMMED or not has_cyrillic(word) or not word.isalpha():
        return word
    protected = _PROTECTED.get(word)
    if protected is not None:
        return protected
    rest = _strip_case(word)
    rest = word if rest is None else rest
    plural = _strip(rest, _PLURALS)
    if plural is not None:
        rest = plural
    return _normalise(rest)


# Latin spellings of Mongolian words ----------------------------------------------------------
#
# The index holds Cyrillic stems only; a word typed in Latin is read back into Cyrillic and
# stemmed there. Latin loses two distinctions that matter: о/ө (both "o") and у/ү (both "u").
# Vowel harmony keeps a Mongolian word to one row, so two readings suffice: back (о, у) and
# front (ө, ү). "ts" is ц or т+с (хэлтсийн -> heltsiin). "i" after a vowel is й (ai -> ай),
# "ii" is ий, "y" is ы, kh/h is х.

_READING = [
    ("sh", "ш"), ("ch", "ч"), ("ts", "T"), ("ya", "я"), ("yu", "ю"), ("yo", "ё"), ("ye", "е"),
    ("ii", "ий"), ("ai", "ай"), ("ei", "эй"), ("oi", "Oй"), ("ui", "Uй"),
    ("a", "а"), ("b", "б"), ("v", "в"), ("g", "г"), ("d", "д"), ("e", "э"), ("j", "ж"),
    ("z", "з"), ("i", "и"), ("k", "к"), ("l", "л"), ("m", "м"), ("n", "н"), ("o", "O"),
    ("p", "п"), ("r", "р"), ("s", "с"), ("t", "т"), ("u", "U"), ("f", "ф"), ("h", "х"),
    ("y", "ы"),
]
_READING_RE = re.compile("|".join(re.escape(latin_) for latin_, _c in _READING))
_READING_MAP = dict(_READING)
_LATIN_WORD = re.compile(r"[a-z]+")


def latin_key(text):
    """Fold a Latin spelling of Mongolian further than `loose_latin`: ö -> o, ü -> u, zh -> j."""
    return loose_latin(text).replace("ö", "o").replace("ü", "u").replace("zh", "j")


def cyrillic_readings(word):
    """The Cyrillic words a Latin-typed Mongolian word can be (at most four).

    khoroo -> [хороо, хөрөө]; üil -> [уйл, үйл]. Empty for anything but plain Latin letters.
    """
    key = latin_key(word)
    if not _LATIN_WORD.fullmatch(key):
        return []
    marked = _READING_RE.sub(lambda match: _READING_MAP[match.group(0)], key)
    readings = []
    for vowels in (("о", "у"), ("ө", "ү")):
        for ts in ("ц", "тс"):
            reading = marked.replace("O", vowels[0]).replace("U", vowels[1]).replace("T", ts)
            if reading not in readings:
                readings.append(reading)
    return readings
