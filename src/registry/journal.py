"""The journals of an organisation: its register of incoming letters (ирсэн бичгийн бүртгэл)
and of outgoing letters (явсан бичгийн бүртгэл), by period and series.

A journal entry is a number the organisation gave: an outgoing number when a letter was sent,
an incoming number when a delivery (or a letter that came on paper) was registered. The
folders keep them in `journal` ((year, series, n) -> id) and `counters` ((series, year) -> last
n), gap-free and given in time order within a series and year, so a period is found by
bisecting each series' numbers by the time they were given: a page reads O(series × log n)
entries to find its start and then only the rows it shows, never the whole register.

Rows are plain dicts (`JournalRow.as_json`), the same for the page, the JSON API and the
exports (CSV, XLSX and an A4-landscape PDF: `registry.journal_export`).
"""
import heapq
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from registry import dates
from registry.resources.letter import Letter

INCOMING, OUTGOING = "incoming", "outgoing"
DIRECTIONS = (INCOMING, OUTGOING)
FOLDER = {INCOMING: "inbox", OUTGOING: "outbox"}
#: The years a period may name (the registry's letters are from this century).
YEARS = (1990, 2999)
#: How many entries a long read walks between shrinking the object cache.
GC_EVERY = 1000


def task_facts(delivery):
    """(executor login, co-executors, resolution, due date, paths of the answers) of a
    registered delivery: its desk task's, else what the registration recorded."""
    task = getattr(delivery, "task", None)
    if task is not None:
        return (task.executor, tuple(task.co_executors), task.resolution,
                task.due or delivery.response_due, tuple(task.answered_by))
    answered = delivery.answered_by
    return (delivery.executor, (), "", delivery.response_due,
            (answered,) if answered else ())


def numbered_at(item):
    """When `item` got its number: a letter when sent, a delivery when registered."""
    return item.sent_at if isinstance(item, Letter) else item.registered_at


@dataclass(frozen=True)
class Party:
    """A sender or recipient as the journal names it: its registration number (None for a
    sender outside the registry) and its name."""
    regno: str | None
    name: str


@dataclass(frozen=True)
class Person:
    """An account as the journal names it: its login (for the JSON) and its full name."""
    login: str
    name: str


@dataclass(frozen=True)
class Reference:
    """A number given by someone else (the sender's outgoing number, a recipient's incoming
    number, the number of the letter that answered) with its date (local) and, where the
    journal's organisation holds it, the item's path in the registry."""
    number: str | None
    date: date | None
    path: str | None = None


@dataclass
class JournalRow:
    item: object
    number: str
    series: str
    numbered: date
    parties: list          # [Party]: the sender (incoming) or the recipients (outgoing)
    references: list       # [Reference]: their numbers and dates
    subject: str
    executor: Person | None  # incoming: the executor; outgoing: who prepared the letter
    resolution: str
    due: date | None
    answered_by: list      # [Reference]
    state: str
    notes: list = field(default_factory=list)  # [(code, text)]: text as stored, code for i18n

    def as_json(self, url=None):
        def ref(r):
            data = {"number": r.number, "date": r.date.isoformat() if r.date else None}
            if url is not None and r.path:
                data["@id"] = url(r.path)
            return data

        data = {
            "number": self.number,
            "series": self.series,
            "date": self.numbered.isoformat(),
            "parties": [{"regno": p.regno, "name": p.name} for p in self.parties],
            "their_numbers": [ref(r) for r in self.references],
            "subject": self.subject,
            "executor": ({"login": self.executor.login, "name": self.executor.name}
                         if self.executor else None),
            "resolution": self.resolution,
            "due_date": self.due.isoformat() if self.due else None,
            "answered_by": [ref(r) for r in self.answered_by],
            "state": self.state,
            "notes": [{"code": code, "text": text} for code, text in self.notes],
        }
        if url is not None:
            data = {"@id": url(self.item), **data}
        return data


def parse_period(start, end, today):
    """(first, last) local dates of a period: `start`/`end` as ISO dates or None (the year so
    far). Raises ValueError with the offending field's name on a wrong or reversed period."""
    def as_date(value, name):
        if value in (None, ""):
            return None
        try:
            day = dates.parse_day(value)
        except ValueError:
            raise ValueError(name) from None
        if not YEARS[0] <= day.year <= YEARS[1]:
            raise ValueError(name)
        return day

    first = as_date(start, "from") or date(today.year, 1, 1)
    last = as_date(end, "to") or today
    if last < first:
        raise ValueError("to")
    return first, last


class Journal:
    """The entries of `org`'s `direction` journal numbered from `first` to `last` (local dates,
    both included) in `series` (None: every series), in number-giving order."""

    def __init__(self, site, org, direction, first, last, zone, series=None):
        if direction not in DIRECTIONS:
            raise ValueError("direction")
        self.site, self.org, self.direction = site, org, direction
        self.box = org[FOLDER[direction]]
        self.first, self.last, self.zone, self.series = first, last, zone, series
        self._low = datetime.combine(first, time.min, zone)
        self._high = datetime.combine(last + timedelta(days=1), time.min, zone)
        self._runs = None

    def series_present(self):
        """The series with numbers in the period's years, sorted."""
        years = range(self.first.year, self.last.year + 1)
        return sorted({s for (s, y) in self.box.counters.keys() if y in years})

    def _item(self, year, series, n):
        name = self.box.journal.get((year, series, n))
        return self.box.get(name) if name is not None else None

    def _bisect(self, year, series, last_n, bound):
        """The first n in 1..last_n whose item was numbered at or after `bound`."""
        lo, hi = 1, last_n + 1
        while lo < hi:
            mid = (lo + hi) // 2
            item = self._item(year, series, mid)
            when = numbered_at(item) if item is not None else None
            if when is not None and when < bound:
                lo = mid + 1
            else:
                hi = mid
        return lo

    def runs(self):
        """[(year, series, first n, last n)] of the period: the ranges of numbers it holds."""
        if self._runs is None:
            runs = []
            for (series, year), last_n in self.box.counters.items():
                if not self.first.year <= year <= self.last.year:
                    continue
                if self.series is not None and series != self.series:
                    continue
                start = self._bisect(year, series, last_n, self._low)
                stop = self._bisect(year, series, last_n, self._high) - 1
                if start <= stop:
                    runs.append((year, series, start, stop))
            self._runs = runs
        return self._runs

    def __len__(self):
        return sum(stop - start + 1 for _y, _s, start, stop in self.runs())

    def _key(self, year, series, n):
        """The order of entries: (when numbered, series, number); None for a missing one."""
        item = self._item(year, series, n)
        return (numbered_at(item), series, n) if item is not None else None

    def _after(self, run, cursor, descending):
        """The part of `run` that comes after `cursor` (an entry's key) in the order asked:
        (first n, last n), found by bisecting the run."""
        year, series, first, last = run
        lo, hi = first, last + 1
        while lo < hi:  # the first n whose key is past the cursor, ascending
            mid = (lo + hi) // 2
            key = self._key(year, series, mid)
            if key is not None and key <= cursor:
                lo = mid + 1
            else:
                hi = mid
        if descending:
            # Keys ascend with n in a run: before the cursor is first .. (first n past it) - 1,
            # less the cursor itself when it is in this run.
            stop = lo - 1
            if stop >= first and self._key(year, series, stop) == cursor:
                stop -= 1
            return first, stop
        return lo, last

    def cursor_of(self, name):
        """The key of the entry whose item is `name` in this journal's folder, else None."""
        item = self.box.get(name) if name else None
        number_seq = getattr(item, "number_seq", None)
        if item is None or number_seq is None or numbered_at(item) is None:
            return None
        return (numbered_at(item), item.series, number_seq)

    def items(self, start=0, size=None, descending=False, after=None):
        """The period's items from `start`, at most `size`, oldest first (or newest first);
        with `after` (an item's id, the last of the page before), the items that follow it:
        O(size) at any depth, where `start` walks every entry before it."""
        cursor = self.cursor_of(after)
        runs = self.runs()
        if cursor is not None:
            runs = [(y, s, *self._after((y, s, a, b), cursor, descending))
                    for y, s, a, b in runs]
            start = 0

        def stream(year, series, first, last):
            numbers = range(last, first - 1, -1) if descending else range(first, last + 1)
            for n in numbers:
                item = self._item(year, series, n)
                if item is not None:
                    yield (numbered_at(item), series, n), item

        merged = heapq.merge(*(stream(*run) for run in runs), key=lambda pair: pair[0],
                             reverse=descending)
        jar = self.box._p_jar
        for index, (_key, item) in enumerate(merged):
            if jar is not None and index % GC_EVERY == GC_EVERY - 1:
                # A long read (an export) would otherwise keep every object it loaded in the
                # connection's cache until the transaction ends: let the cache shrink to its
                # target now (what is unchanged turns back into ghosts).
                jar.cacheGC()
            if index < start:
                continue
            if size is not None and index >= start + size:
                return
            yield item

    def rows(self, start=0, size=None, descending=False, after=None):
        for item in self.items(start, size, descending, after):
            yield self.row(item)

    # One row --------------------------------------------------------------------------
    def _local(self, when):
        return when.astimezone(self.zone).date() if when else None

    def _org(self, regno):
        org = self.site.orgs.get(regno)
        return Party(regno, org.name if org is not None else regno)

    def _answers(self, paths):
        """References to the letters (paths in this organisation's outbox) that answered an
        incoming entry."""
        refs = []
        outbox = self.org["outbox"]
        for path in paths:
            letter = outbox.get(str(path).rstrip("/").rsplit("/", 1)[-1])
            if letter is not None:
                refs.append(Reference(letter.outgoing_number, self._local(letter.sent_at),
                                      f"/orgs/{self.org.regno}/outbox/{letter.__name__}"))
        return refs

    def row(self, item):
        notes = []
        if isinstance(item, Letter):
            parties = [self._org(r) for r in item.recipients]
            references = []
            for regno in item.recipients:
                delivery = item.deliveries.get(regno)
                if delivery is None:
                    references.append(Reference(None, None))
                    continue
                references.append(Reference(delivery.incoming_number,
                                            self._local(delivery.registered_at)))
                if delivery.state == "rejected":
                    notes.append(("rejected", f"{self._org(regno).name}: "
                                  f"{delivery.rejection_reason or ''}".strip()))
            post_to = getattr(item, "post_to", None)
            if post_to:  # an answer to a letter that came on paper leaves on paper
                parties.append(Party(None, post_to.get("name", "")))
                notes.append(("by_post", post_to.get("address", "")))
            number, subject, executor_login = item.outgoing_number, item.subject, item.created_by
            due, answered, resolution = item.response_due, [], ""
            reply = item.in_reply_to
            if reply:
                notes.append(("in_reply_to", self._reply_number(reply)))
        else:
            letter = item.letter
            executor_login, _co, resolution, due, answers = task_facts(item)
            if item.on_paper:
                parties = [Party(None, letter.sender_name)]
                references = [Reference(letter.sender_reference or None, letter.sender_date)]
                notes.append(("on_paper", ""))
            else:
                parties = [self._org(letter.org)]
                references = [Reference(letter.outgoing_number, self._local(letter.sent_at))]
            number, subject = item.incoming_number, letter.subject
            answered = self._answers(answers)
            if item.state == "rejected" and item.rejection_reason:
                notes.append(("rejected", item.rejection_reason))
        if item.state == "withdrawn":
            notes.append(("withdrawn", ""))
        if getattr(item, "handed_over_in", None):
            notes.append(("handed_over", item.handed_over_in))
        if getattr(item, "disposed_in", None):
            notes.append(("disposed", item.disposed_in))
        executor = None
        if executor_login:
            user = self.site.users.get(executor_login)
            executor = Person(executor_login, (user.fullname if user else "") or executor_login)
        return JournalRow(
            item=item, number=number, series=item.series or "", subject=subject,
            numbered=self._local(numbered_at(item)), parties=parties, references=references,
            executor=executor, resolution=resolution or "",
            due=due, answered_by=answered, state=item.state, notes=notes)

    def _reply_number(self, delivery_id):
        delivery = self.org["inbox"].get(delivery_id)
        return (delivery.incoming_number or "") if delivery is not None else ""


class Chosen(Journal):
    """Items chosen on a list (`items`, of `org`'s folder for `direction`) written as journal
    rows in the order given: what "export the selected" writes. Its period spans their dates
    (when numbered, else when made or delivered)."""

    def __init__(self, site, org, direction, items, zone):
        days = [(numbered_at(item) or getattr(item, "created", None)
                 or item.delivered_at).astimezone(zone).date() for item in items]
        super().__init__(site, org, direction, min(days), max(days), zone)
        self.chosen = list(items)

    def __len__(self):
        return len(self.chosen)

    def rows(self, start=0, size=None, descending=False, after=None):
        return (self.row(item) for item in self.chosen)
