"""Full-text search of correspondence.

The one interface views, the index queue and the CLI use; only the engine modules know the
engine: `registry.search.tantivy_engine` (Tantivy, the default) or `registry.search.engine`
(Whoosh), chosen by the `search.engine` setting. Both parse queries with the project's own
parser and share filters, facets and highlights (`registry.search.parsing`).

- A `Document` is one letter as ONE organisation keeps it: the sender's outgoing letter, or a
  recipient's delivery. Its `org` names the partition it lives in: each organisation has an
  index of its own, so a search reads only the searcher's own correspondence (its cost is
  bounded by that, not by the registry) and can never return another organisation's letter.
- `SearchQuery` is what a user asks; `SearchResults` is a page of `Hit`s (keys, to be resolved
  in ZODB), the total, facets and highlighted snippets.

Text analysis (Mongolian stemming, folding, transliteration) is in `registry.search.analysis`;
text extraction and OCR in `registry.search.text`; the transactional queue and the writer in
`registry.search.indexing`.
"""
from dataclasses import dataclass, field
from datetime import date, datetime

FACETS = ("year", "month", "counterpart", "direction", "state", "overdue")
SORTS = ("relevance", "newest", "oldest")


@dataclass
class Document:
    key: str
    org: str
    direction: str
    subject: str
    text: str
    sender: tuple
    recipients: tuple
    outgoing_number: str = None
    incoming_number: str = None
    date: datetime = None
    state: str = ""
    executor: str = None
    due: date = None
    open: bool = False  # awaiting an answer (counts as overdue once `due` has passed)
    stamp: str = ""

    @property
    def counterparts(self):
        if self.direction == "incoming":
            return (self.sender[0],)
        return tuple(regno for regno, _name in self.recipients)


@dataclass
class SearchQuery:
    org: str
    text: str = ""
    year: int = None
    month: int = None
    counterpart: str = None
    direction: str = None
    state: str = None
    overdue: bool = False
    today: date = None
    sort: str = "relevance"
    start: int = 0
    size: int = 20
    facets: bool = True
    highlight: bool = True


@dataclass
class Hit:
    key: str
    score: float = 0.0
    highlights: str = ""


@dataclass
class SearchResults:
    items: list = field(default_factory=list)
    total: int = 0
    facets: dict = field(default_factory=dict)
    #: The search stopped at its time budget: Tantivy left the facets out (its page and `total`
    #: are exact), Whoosh's `total` and facets count what it found.
    partial: bool = False


ENGINES = ("tantivy", "whoosh")


def open_index(directory, engine="tantivy", **options):
    """Open (creating if needed) the search index kept in `directory`, served by `engine`
    (`search.engine`: "tantivy", the default, or "whoosh")."""
    if engine == "tantivy":
        from registry.search.tantivy_engine import TantivyIndex

        return TantivyIndex(directory, **options)
    if engine == "whoosh":
        from registry.search.engine import WhooshIndex

        return WhooshIndex(directory, **options)
    raise ValueError(f"search.engine must be one of {', '.join(ENGINES)}, not {engine!r}")


def includeme(config):
    from registry.search.indexing import includeme as setup

    setup(config)
