"""What every search engine shares: the fields of a letter, what a user's query means, the
filters, facets and highlights.

A query is parsed once, by the project's own parser (`registry.search.analysis`: Mongolian
stems, Latin readings, the field syntax), into a tree of `whoosh.query` nodes: Term, Phrase,
Prefix, Wildcard, TermRange, NumericRange, And, Or, Not, AndNot, AndMaybe, Require,
DisjunctionMax, Every. That tree is the engine-neutral form: the Whoosh engine runs it as it
is, the Tantivy engine turns it into Tantivy queries (`registry.search.tantivy_engine`). The
filters of a SearchQuery are such a tree too. The schema below is the description both engines
index by (field names, which fields hold analysed text with positions, their boosts).
"""
import re
import threading
from datetime import timezone

from whoosh import fields, query
from whoosh.analysis import KeywordAnalyzer
from whoosh.qparser import FieldAliasPlugin, PlusMinusPlugin

from registry.errors import RegistryError
from registry.i18n import _
from registry.search.analysis import analyzer, query_parser, snippet

#: A registration number typed alone (01/123, А-12/45): found exactly, in the number field.
NUMBER_QUERY = re.compile(r"^\s*([\w.\-]*\d+/\d+[\w.\-]*)\s*$", re.UNICODE)
#: A date typed alone (2026-11-25): the letters of that day.
DATE_QUERY = re.compile(r"^\s*(\d{4}-\d{2}-\d{2})\s*$")
FIELD_SYNTAX = re.compile(r"(?<![\w\"])(\w+):", re.UNICODE)
QUERY_MAX = 500
#: A prefix may stand for at most this many words of a partition.
PREFIX_TERMS_MAX = 300
#: Seconds a search may spend before it answers what it found (`partial`).
TIME_BUDGET = 2.0
PARTITION_NAME = re.compile(r"^[0-9A-Za-z_-]{1,40}$")
TEXT_FIELDS = ("subject", "text", "sender", "recipient", "number")
#: Field names users type (and the fields they mean).
FIELD_ALIASES = {"from": "sender", "to": "recipient", "subject": "subject", "text": "text",
                 "number": "number", "executor": "executor", "state": "state",
                 "year": "year", "date": "day", "sender": "sender", "recipient": "recipient"}
FACET_FIELDS = ("year", "month", "counterpart", "direction", "state")
_WRITE_LOCKS = {}
_WRITE_LOCKS_GUARD = threading.Lock()


def bad_query(message):
    return RegistryError("BAD_QUERY", message, field="q", status=400)


def phrase_refused():
    return bad_query(_("Phrases can be searched in the subject, the text and the names only."))


def unsupported():
    return bad_query(_("The query uses a sign the search does not understand; leave it out."))


def make_schema():
    text = analyzer()
    return fields.Schema(
        key=fields.ID(stored=True, unique=True),
        stamp=fields.STORED,
        subject=fields.TEXT(analyzer=text, field_boost=3.0),
        text=fields.TEXT(analyzer=text),
        sender=fields.TEXT(analyzer=text, field_boost=1.5),
        recipient=fields.TEXT(analyzer=text, field_boost=1.5),
        # Registration numbers, whole (01/123): a TEXT field only so that phrases over the
        # default fields find positions here too.
        number=fields.TEXT(analyzer=KeywordAnalyzer(lowercase=True), field_boost=5.0),
        executor=fields.ID,
        year=fields.ID,
        month=fields.ID,
        day=fields.ID,
        direction=fields.ID,
        state=fields.ID,
        counterpart=fields.KEYWORD,
        open=fields.ID,
        date=fields.NUMERIC(numtype=int, bits=64, sortable=True),
        due=fields.NUMERIC(numtype=int, sortable=True),
    )


def to_fields(doc, zone=timezone.utc):
    """The fields of a registry.search.Document; its year, month and day are those of its
    date in `zone` (the registry's time zone)."""
    when = doc.date.astimezone(zone)
    sender = " ".join(p for p in doc.sender if p)
    recipients = " ".join(" ".join(p for p in r if p) for r in doc.recipients)
    numbers = " ".join(n for n in (doc.outgoing_number, doc.incoming_number) if n)
    return {
        "key": doc.key, "stamp": doc.stamp, "subject": doc.subject or "",
        "text": doc.text or "", "sender": sender, "recipient": recipients,
        "number": numbers, "executor": doc.executor or "",
        "year": str(when.year), "month": f"{when.month:02d}", "day": when.date().isoformat(),
        "direction": doc.direction,
        "state": doc.state, "counterpart": " ".join(doc.counterparts),
        "open": "1" if doc.open else "0",
        "date": int(doc.date.timestamp() * 1_000_000),
        "due": doc.due.toordinal() if doc.due else 0,
    }


def partition_of(key):
    org = key.split("/", 1)[0]
    if not PARTITION_NAME.match(org):
        raise ValueError(f"not a document key: {key!r}")
    return org


def write_lock(path):
    """The lock that serialises this process's writers of the partition at `path` (across
    processes, the engine's lock file does)."""
    with _WRITE_LOCKS_GUARD:
        return _WRITE_LOCKS.setdefault(path, threading.Lock())


class Parser:
    """Turns what a user typed into the engine-neutral query tree (module docstring)."""

    def __init__(self, schema):
        self.schema = schema
        self._parser = None

    def parse(self, text):
        """The query tree for `text`; RegistryError BAD_QUERY if malformed."""
        text = (text or "").strip()
        if not text:
            return query.Every()
        if len(text) > QUERY_MAX:
            raise bad_query(_("query-too-long", default="A query has at most ${max} "
                              "characters.", mapping={"max": QUERY_MAX}))
        number = NUMBER_QUERY.match(text)
        if number:
            return query.Term("number", number.group(1).casefold())
        day = DATE_QUERY.match(text)
        if day:
            return query.Term("day", day.group(1))
        if text.count('"') % 2:
            raise bad_query(_("Close the quotation marks of the phrase."))
        if text.count("(") != text.count(")"):
            raise bad_query(_("The brackets do not match."))
        for name in FIELD_SYNTAX.findall(text):
            if name.casefold() not in FIELD_ALIASES:
                raise bad_query(_("unknown-search-field", default="'${field}:' is not a field "
                                  "to search in. Use from:, to:, subject:, text:, number:, "
                                  "date:, executor:, state: or year:.",
                                  mapping={"field": name}))
        for word in re.findall(r"(\S*)\*", text):
            if len(word.strip('"(')) < 2:
                raise bad_query(_("A prefix needs at least 2 letters before the *."))
        parsed = self._query_parser().parse(text)
        if parsed is query.NullQuery or isinstance(parsed, type(query.NullQuery)):
            raise bad_query(_("The query has no words to search for."))
        return parsed

    def _query_parser(self):
        if self._parser is None:
            parser = query_parser(list(TEXT_FIELDS), self.schema)
            # -word: letters without it (a "-" inside a word, as in 2026-11, is no operator).
            parser.add_plugin(PlusMinusPlugin(plusexpr=r"(?<![^\s(])\+",
                                              minusexpr=r"(?<![^\s(])-"))
            parser.add_plugin(FieldAliasPlugin(
                {target: [alias for alias, t in FIELD_ALIASES.items() if t == target and
                          alias != target] for target in set(FIELD_ALIASES.values())}))
            self._parser = parser
        return self._parser


def filter_query(q):
    """The filters of a SearchQuery as a query tree (None without any)."""
    terms = []
    if q.year:
        terms.append(query.Term("year", str(int(q.year))))
    if q.month:
        terms.append(query.Term("month", f"{int(q.month):02d}"))
    if q.counterpart:
        terms.append(query.Term("counterpart", q.counterpart))
    if q.direction:
        terms.append(query.Term("direction", q.direction))
    if q.state:
        terms.append(query.Term("state", q.state))
    if q.overdue:
        terms.append(overdue_query(q.today))
    return query.And(terms) if terms else None


def overdue_query(today):
    """Letters awaiting an answer whose due date is before `today`."""
    return query.And([query.Term("open", "1"),
                      query.NumericRange("due", 1, today.toordinal() - 1)])


def check_prefixes(parsed, expand):
    """Refuse a prefix (or other pattern) that stands for too many words in the partition
    (its search would be slow and its results meaningless). `expand(leaf, limit)` gives up to
    `limit` words of the partition a pattern leaf stands for."""
    for leaf in parsed.leaves():
        if isinstance(leaf, query.MultiTerm):
            if len(expand(leaf, PREFIX_TERMS_MAX + 1)) > PREFIX_TERMS_MAX:
                raise bad_query(_("prefix-too-common", default="'${prefix}*' stands for "
                                  "too many words; type more of the word.",
                                  mapping={"prefix": getattr(leaf, "text", "")}))


def highlight_terms(parsed, expand, limit=500):
    """The words of the subject and text the query matches (patterns expanded by `expand`
    against the partition's own words), for highlighting."""
    terms = set()
    for leaf in parsed.leaves():
        if getattr(leaf, "fieldname", None) not in ("subject", "text"):
            continue
        if isinstance(leaf, query.MultiTerm):  # a prefix: the words it stands for here
            found = expand(leaf, limit)
        else:
            found = (text for _field, text in leaf.iter_all_terms())
        for text in found:
            terms.add(text.decode("utf-8") if isinstance(text, bytes) else text)
    return terms


def add_highlights(terms, items, text_for):
    """Set each hit's `highlights`: up to two passages of its text (from `text_for`, kept in
    ZODB) with `terms` marked."""
    wanted = frozenset(terms)
    for item in items:
        text = text_for(item.key) or ""
        if text:
            item.highlights = snippet(text[:200_000], wanted)


def facet_lists(counts, overdue):
    """{facet: [(value, count)]} from {field: {value: count}} and the overdue count: most
    frequent first; years newest first, months in calendar order."""
    facets = {name: sorted(values.items(), key=lambda kv: (-kv[1], kv[0]))
              for name, values in counts.items()}
    for name in ("year", "month"):
        facets[name] = sorted(counts[name].items(), reverse=(name == "year"))
    facets["overdue"] = [("1", overdue)] if overdue else []
    return facets
