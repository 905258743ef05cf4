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
