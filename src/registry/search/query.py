"""A search's question and answer: the `Document` an index keeps, the `SearchQuery` a user asks
and the `SearchResults` (a page of `Hit`s) an engine answers; see `registry.search`."""
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
