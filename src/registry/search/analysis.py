"""Text analysis for the search index: Mongolian and English words, Latin spellings.

`analyzer()` turns a letter's subject, text or names into index terms:

- words are runs of letters and digits; a run joined by `/`, `.` or `-` stays one token when it
  holds a digit (`01/123`, `2026.11.25`, `3-р`), otherwise its parts are separate words
  (`Хан-Уул` -> хан, уул);
- every token is folded (NFC, case: Ө/ө, Ү/ү, Ё/ё);
- a Mongolian Cyrillic word becomes its stem (`registry.search.mongolian.stem`);
- a Latin word becomes its English (Porter) stem; in a QUERY it also becomes, at the same
  position, the stems of its Cyrillic readings (`ulaanbaatart` -> улаанбаатр), so that Latin
  typing finds Cyrillic letters while the index holds one term per word;
- tokens with digits are kept whole, unstemmed.

Same-position tokens are alternatives. `query_parser()` makes Whoosh read them so: a word of the
query matches when ANY of its alternatives does (Whoosh alone would AND them), a phrase matches
when one reading of it does, and a prefix (`засаг*`) looks for the letters typed and their stem.
The query terms are index terms, so `snippet()`, which reads the words of a letter as a query
reads them, marks Cyrillic words found by a Latin query.
"""
from functools import lru_cache
from html import escape
import re
import unicodedata

from whoosh import query
from whoosh.analysis import Composable, Token, Tokenizer
from whoosh.lang.porter import stem as english_stem
from whoosh.qparser import MultifieldPlugin, PhrasePlugin, QueryParser
from whoosh.qparser.common import attach

from registry.search.mongolian import cyrillic_readings, has_cyrillic, stem

__all__ = ["analyzer", "query_parser", "snippet", "stem", "terms"]

#: A word: letters, digits and combining marks (a decomposed Ё is one word), with joined runs.
_TOKEN = re.compile(r"[\w\u0300-\u036f]+(?:[/.\-][\w\u0300-\u036f]+)*")
_PART = re.compile(r"[\w\u0300-\u036f]+")
_DIGIT = re.compile(r"\d")
_LATIN = re.compile(r"[a-z]")
#: Latin and Greek letters that look like Cyrillic ones, typed or OCR'd inside Cyrillic words
#: (Ө as θ, Ү as Y). Mapped only in a word that also has Cyrillic letters.
_LOOKALIKES = str.maketrans("AaBCcEeHKkMOoPpTXxYyθΘɵƟ", "АаВСсЕеНКкМОоРрТХхҮуөӨөӨ")
_FOREIGN = re.compile(r"[A-Za-zθΘɵƟ]")
_UNUSUAL = re.compile(r"[A-Za-zθΘɵƟ\u0300-\u036f]")
_LETTER = re.compile(r"[\w\u0300-\u036f]")


class WordTokenizer(Tokenizer):
    """Words of a text; runs joined by / . - stay whole only when they hold a digit."""

    def __eq__(self, other):
        return type(other) is type(self)

    def __call__(self, value, positions=False, chars=False, keeporiginal=False,
                 removestops=True, start_pos=0, start_char=0, tokenize=True, mode="",
                 **kwargs):
        token = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        token.boost = 1.0
        token.stopped = False
        if not tokenize:
            token.original = token.text = value
            if positions:
                token.pos = start_pos
            if chars:
                token.startchar, token.endchar = start_char, start_char + len(value)
            yield token
            return
        pos = start_pos
        for match in _TOKEN.finditer(value):
            text = match.group(0)
            if not _DIGIT.search(text) and not _PART.fullmatch(text):
                pieces = [(m.group(0), match.start() + m.start(), match.start() + m.end())
                          for m in _PART.finditer(text)]
            else:
                pieces = [(text, match.start(), match.end())]
            for piece, start, end in pieces:
                token.text = piece
                if keeporiginal:
                    token.original = piece
                if positions:
                    token.pos = pos
                if chars:
                    token.startchar, token.endchar = start_char + start, start_char + end
                pos += 1
                yield token


@lru_cache(maxsize=200_000)
def terms(word, mode="index"):
    """The index terms of one word (as found, or as typed when `mode` is "query").

    A Cyrillic word: its stem (Latin look-alike letters in it read as Cyrillic). A Latin word:
    its English stem, and in a query also the stems of its Cyrillic readings (ulaanbaatart ->
    улаанбаатр). Words with digits or in other scripts: the folded word. The first term is the
    primary one.
    """
    if has_cyrillic(word) and _FOREIGN.search(word):
        word = word.translate(_LOOKALIKES)
    folded = unicodedata.normalize("NFC", word).casefold()
    if _DIGIT.search(folded):
        return (folded,)
    if has_cyrillic(folded):
        return (stem(folded),)
    if _LATIN.search(folded):
        found = [english_stem(folded)]
        if mode == "query":
            found += [stem(reading) for reading in cyrillic_readings(folded)]
        return tuple(dict.fromkeys(found))
    return (folded,)


def _candidates(text, heads):
    """Sorted starts of the words of `text` that may have one of `wanted`'s terms: those that
    begin with one of `heads` (a term keeps its word's first two letters), found with
    str.find, and those with Latin letters or combining marks (whose terms are read
    otherwise)."""
    low = text.lower()
    if len(low) != len(text):  # (a letter whose lower case is longer: keep offsets)
        low = "".join(ch.lower()[0] for ch in text)
    starts = set()
    for head in heads:
        at = low.find(head)
        while at >= 0:
            if not at or not _LETTER.match(low, at - 1):
                starts.add(at)
            at = low.find(head, at + 1)
    for match in _UNUSUAL.finditer(text):
        at = match.start()
        while at and _LETTER.match(text, at - 1):
            at -= 1
        starts.add(at)
    return sorted(starts)


def snippet(text, wanted, fragments=2, width=240, surround=60, between=" … "):
    """HTML: up to `fragments` passages of `text` (escaped) in which the words whose terms
    (read as a query reads them, so Latin words meet Cyrillic terms) are in `wanted` are
    marked <mark>; the passages with the most marked words, in text order; "" if none is.

    Cheap enough for a page of hits: only the words `_candidates` finds are read."""
    found, after = [], 0
    for start in _candidates(text, {term[:2] for term in wanted if term}):
        if start < after:
            continue  # inside a number already read
        token = _TOKEN.match(text, start)
        if token is None:
            continue
        # words joined by - . / without digits are words of their own (Хан-Уул)
        end = token.end() if _DIGIT.search(token.group(0)) else _PART.match(text, start).end()
        if not wanted.isdisjoint(terms(text[start:end], "query")):
            found.append((start, end))
            after = end
    if not found:
        return ""
    passages, i = [], 0
    while i < len(found):  # consecutive marks within `width` characters form a passage
        j = i
        while j + 1 < len(found) and found[j + 1][1] - found[i][0] <= width - 2 * surround:
            j += 1
        passages.append(found[i:j + 1])
        i = j + 1
    best = sorted(sorted(passages, key=len, reverse=True)[:fragments], key=lambda p: p[0][0])
    out = []
    for marks in best:
        start = max(0, marks[0][0] - surround)
        end = min(len(text), marks[-1][1] + surround)
        if start:  # whole words only
            space = text.find(" ", start, marks[0][0])
            start = space + 1 if space >= 0 else start
        if end < len(text):
            space = text.rfind(" ", marks[-1][1], end)
            end = space if space >= 0 else end
        html, at = [], start
        for begin, finish in marks:
            html.append(escape(text[at:begin]))
            html.append(f"<mark>{escape(text[begin:finish])}</mark>")
            at = finish
        html.append(escape(text[at:end]))
        out.append(" ".join("".join(html).split()))
    return between.join(out)


class MongolianFilter(Composable):
    """Fold and stem each token; a query's alternatives follow at the same position."""

    def __eq__(self, other):
        return type(other) is type(self)

    def __call__(self, tokens):
        for token in tokens:
            mode = "query" if token.mode == "query" else "index"
            for text in terms(token.text, mode):
                token.text = text
                yield token


def analyzer():
    """The Whoosh analyzer of letter subjects, texts and names (module docstring)."""
    return WordTokenizer() | MongolianFilter()


def _is_ours(field):
    analyzer_ = getattr(field, "analyzer", None)
    items = getattr(analyzer_, "items", ())
    return any(isinstance(item, MongolianFilter) for item in items)


def _alternatives(field, text):
    """[(position, [alternative texts], (startchar, endchar))] of `text` as a query."""
    groups = []
    for token in field.tokenize(text, mode="query", positions=True, chars=True):
        if groups and groups[-1][0] == token.pos:
            groups[-1][1].append(token.text)
        else:
            groups.append((token.pos, [token.text], (token.startchar, token.endchar)))
    return groups


def _phrase(fieldname, groups, slop, boost, startchar=0):
    """One Phrase per spelling (primary words / alternative words), ORed."""
    width = max(len(texts) for _pos, texts, _chars in groups)
    char_ranges = [(startchar + start, startchar + end) for _pos, _t, (start, end) in groups]
    phrases = []
    for variant in range(width):
        words = [texts[min(variant, len(texts) - 1)] for _pos, texts, _chars in groups]
        phrase = query.Phrase(fieldname, words, slop=slop, boost=boost, char_ranges=char_ranges)
        if phrase not in phrases:
            phrases.append(phrase)
    return phrases[0] if len(phrases) == 1 else query.Or(phrases)


class RegistryQueryParser(QueryParser):
    """A QueryParser that reads same-position tokens as alternatives (see module docstring)."""

    def term_query(self, fieldname, text, termclass, boost=1.0, tokenize=True,
                   removestops=True):
        field = self.schema[fieldname] if self.schema and fieldname in self.schema else None
        if field is None or not _is_ours(field):
            return super().term_query(fieldname, text, termclass, boost, tokenize, removestops)
        if not tokenize:
            return self._pattern_query(fieldname, text, termclass, boost)
        groups = _alternatives(field, text)
        if not groups:
            return None
        if len(groups) > 1:
            # one typed word that is several words (Хан-Уул): they must stand together
            return _phrase(fieldname, groups, 1, boost)
        texts = list(dict.fromkeys(groups[0][1]))
        terms_ = [termclass(fieldname, word, boost=boost) for word in texts]
        return terms_[0] if len(terms_) == 1 else query.Or(terms_)

    def _pattern_query(self, fieldname, text, termclass, boost):
        """A wildcard as typed (folded); a prefix (`засаг*`) by its letters and by its stem."""
        folded = unicodedata.normalize("NFC", text).casefold()
        if not (isinstance(termclass, type) and issubclass(termclass, query.Prefix)):
            return termclass(fieldname, folded, boost=boost)
        heads = [folded]
        if folded.isalpha():
            if has_cyrillic(folded):
                heads.append(stem(folded))
            else:
                heads.append(english_stem(folded))
                for reading in cyrillic_readings(folded):
                    heads += [reading, stem(reading)]
        prefixes = [query.Prefix(fieldname, head, boost=boost)
                    for head in dict.fromkeys(heads) if head]
        return prefixes[0] if len(prefixes) == 1 else query.Or(prefixes)


class AlternativesPhrasePlugin(PhrasePlugin):
    """Phrases ("...") whose words may have same-position alternatives."""

    class PhraseNode(PhrasePlugin.PhraseNode):
        def query(self, parser):
            fieldname = self.fieldname or parser.fieldname
            field = parser.schema[fieldname] \
                if parser.schema and fieldname in parser.schema else None
            if field is None or not _is_ours(field):
                return super().query(parser)
            groups = _alternatives(field, self.text)
            if not groups:
                return query.NullQuery
            if len(groups) == 1:
                texts = list(dict.fromkeys(groups[0][1]))
                words = [query.Term(fieldname, word, boost=self.boost) for word in texts]
                return attach(words[0] if len(words) == 1 else query.Or(words), self)
            return attach(_phrase(fieldname, groups, self.slop, self.boost,
                                         self.textstartchar), self)

    class PhraseTagger(PhrasePlugin.PhraseTagger):
        def create(self, parser, match):
            slop = match.group("slop")
            return AlternativesPhrasePlugin.PhraseNode(
                match.group("text"), match.start("text"), int(slop) if slop else 1)


def query_parser(fieldnames, schema, fieldboosts=None):
    """A MultifieldParser over `fieldnames` that understands the analyzer's alternatives.

    Words are ANDed; each word searches every field in `fieldnames`.
    """
    parser = RegistryQueryParser(None, schema)
    parser.remove_plugin_class(PhrasePlugin)
    parser.add_plugin(AlternativesPhrasePlugin())
    parser.add_plugin(MultifieldPlugin(fieldnames, fieldboosts=fieldboosts))
    return parser
