"""The inbox's and outbox's lists: tabs with counts, a date range, sorting by any column.

What a page costs follows what it shows, not the size of the registry:
- a tab's count is the state index's kept `Length`s (`Mailbox.count`);
- the date column (received, created) is the state index's own order, read either way at any
  depth; a date range is a range of that index's keys, its total counted over keys only, up to
  `Mailbox.COUNT_LIMIT` ("at least" past it);
- any other column sorts a bounded set: the newest SORT_WINDOW items of the tab and date range
  (loading each costs what a page of that size would). When the range holds more, the page
  says so, and a narrower date range sorts all of it. An index per column would make every
  transition write one more index for a sort a records office uses on a day's or a month's
  letters.
"""
import re
from datetime import datetime, time, timedelta

from registry import dates
from registry.errors import RegistryError
from registry.i18n import _
from registry.security import permissions as P
from registry.settings import zone
from registry.views.api import DEFAULT_BATCH, batch_params

#: The most items a sort by a column other than the date orders (the newest of the selection).
SORT_WINDOW = 300
ORDERS = ("ascending", "descending")


class Column:
    """A list's column: its key (the `sort_on` value), its title, and how it sorts: `key`
    (item -> a value; None for the date column, which the index orders)."""

    def __init__(self, name, title, key=None):
        self.name, self.title, self.key = name, title, key


def parse_day(value, field):
    """A date as Mongolians write it (`registry.dates`); None for an empty value. Raises
    RegistryError(BAD_FILTER) naming `field` otherwise."""
    if not (value or "").strip():
        return None
    try:
        return dates.parse_day(value)
    except ValueError:
        raise RegistryError("BAD_FILTER", _(
            "list-bad-date", default="'${value}' is not a date: write it as year, month and "
            "day, for example 2026.12.03.", mapping={"value": value.strip()[:40]}),
            field=field, status=400) from None


class Selection:
    """A request's choice of a list: the tab and its states, the date range (local dates, both
    included), the sort and the page. Raises RegistryError(BAD_FILTER, BAD_BATCH) on a wrong
    parameter, naming it."""

    def __init__(self, request, tabs, columns, states=None, params=None):
        params = request.params if params is None else params
        self.tabs, self.columns = tabs, columns
        #: The date column: the index's order, the list's default sort.
        self.default = next(c for c in columns if c.key is None)
        self.tab, self.states = _tab(params.get("state"), tabs) if states is None \
            else (None, states)
        self.first = parse_day(params.get("from"), "from")
        self.last = parse_day(params.get("to"), "to")
        if self.first and self.last and self.last < self.first:
            raise RegistryError("BAD_FILTER", _(
                "list-bad-range", default="The range ends before it begins: 'to' is a date "
                "on or after 'from'."), field="to", status=400)
        self.sort_on = params.get("sort_on") or self.default.name
        self.column = next((c for c in columns if c.name == self.sort_on), None)
        if self.column is None:
            raise RegistryError("BAD_FILTER", _(
                "list-bad-sort", default="A list sorts by one of its columns: ${columns}.",
                mapping={"columns": ", ".join(c.name for c in columns)}),
                field="sort_on", status=400)
        default_order = "descending" if self.column.key is None else "ascending"
        self.sort_order = params.get("sort_order") or default_order
        if self.sort_order not in ORDERS:
            raise RegistryError("BAD_FILTER", _(
                "list-bad-order", default="The order is 'ascending' or 'descending'."),
                field="sort_order", status=400)
        self.start, self.size = batch_params(request) if params is request.params else \
            (0, DEFAULT_BATCH)
        self.after = params.get("b_after") if self.column.key is None else None
        tz = zone(request.registry.settings)
        self.since = datetime.combine(self.first, time.min, tz) if self.first else None
        self.until = datetime.combine(self.last + timedelta(days=1), time.min, tz) \
            if self.last else None

    @property
    def filtered(self):
        return self.first is not None or self.last is not None

    def query(self, **changes):
        """The query string of this selection (without paging), with `changes`."""
        values = {"state": self.tab, "from": self.first.isoformat() if self.first else None,
                  "to": self.last.isoformat() if self.last else None,
                  "sort_on": self.sort_on if self.sort_on != self.default.name else None,
                  "sort_order": self.sort_order if self.sort_order != (
                      "descending" if self.column.key is None else "ascending") else None}
        values.update(changes)
        return {k: v for k, v in values.items() if v not in (None, "")}

    def sort_link(self, column):
        """The query that sorts by `column`: the other order when it is the current sort."""
        if column.name == self.sort_on:
            order = "ascending" if self.sort_order == "descending" else "descending"
        else:
            order = "descending" if column.key is None else "ascending"
        return self.query(sort_on=column.name, sort_order=order)

    def aria_sort(self, column):
        return self.sort_order if column.name == self.sort_on else None

    def read(self, box):
        """The page of `box` this selection shows: a Page."""
        if self.column.key is None:
            items, total = box.in_state(self.states, self.start, self.size, after=self.after,
                                        since=self.since, until=self.until,
                                        oldest_first=self.sort_order == "ascending")
            return Page(items, total, self.filtered and total >= box.COUNT_LIMIT,
                        self.start + self.size < total, False)
        window, total = box.in_state(self.states, 0, SORT_WINDOW, since=self.since,
                                     until=self.until)
        key = self.column.key
        present = [item for item in window if key(item) is not None]
        absent = [item for item in window if key(item) is None]
        present.sort(key=key, reverse=self.sort_order == "descending")
        ordered = present + absent
        items = ordered[self.start:self.start + self.size]
        return Page(items, total, self.filtered and total >= box.COUNT_LIMIT,
                    self.start + self.size < len(ordered), total > SORT_WINDOW)


class Page:
    """A list's page: `items`, the selection's `total` (`at_least`: counting stopped there),
    whether `more` follow, and whether the sort was `limited` to the newest SORT_WINDOW."""

    def __init__(self, items, total, at_least, more, limited):
        self.items, self.total, self.at_least = items, total, at_least
        self.more, self.limited = more, limited

    def json(self):
        return {"items_total": self.total, "items_total_is_lower_bound": self.at_least,
                "sort_limited": self.limited}


def _tab(chosen, tabs):
    for key, _title, states in tabs:
        if key == chosen:
            return key, states
    return tabs[0][0], tabs[0][2]


def tab_counts(box, tabs):
    """Each tab's count, from the state index's kept counts."""
    return {key: box.count(states) for key, _title, states in tabs}


def state_counts(box, states):
    """Each state's count, from the kept counts (the JSON's `counts`)."""
    return {state: box.count((state,)) for state in states}


def number_key(number):
    """A letter number ("01/12", "12") sorted as numbers: ("01", 12) after ("01", 9)."""
    return tuple((0, int(part)) if part.isdigit() else (1, part)
                 for part in re.split(r"(\d+)", number or "") if part) if number else None


def text_key(value):
    return value.casefold() if value else None


def last_id(selection, page):
    """The id the next page continues after (`b_after`), when the index orders the list."""
    return page.items[-1].__name__ if page.items and selection.column.key is None else None


def choose(request, tabs, columns):
    """(Selection, error): the request's selection; on a wrong parameter, the chosen tab
    unfiltered and the RegistryError to show (the page answers 400)."""
    try:
        return Selection(request, tabs, columns), None
    except RegistryError as exc:
        request.response.status = exc.status
        return Selection(request, tabs, columns, params={"state": request.params.get("state")}), exc


def list_values(request, selection, page, box, error=None):
    """What a list's template needs beside its rows: the tabs with counts, the filter (and a
    wrong parameter's `error`), the sort links and the paging links."""
    url = request.resource_url

    def link(**changes):
        return url(request.context, query=selection.query(**changes))

    return {"can_export": bool(request.has_permission(P.READ_JOURNAL, request.context)),
            "choose_label": lambda subject: _("bulk-choose", default="Choose «${subject}»",
                                              mapping={"subject": subject or "…"}),
            "tabs": selection.tabs, "tab": selection.tab, "counts": tab_counts(box, selection.tabs),
            "selection": selection, "page": page, "sort_window": SORT_WINDOW, "error": error,
            "typed": {name: request.params.get(name, "") for name in ("from", "to")},
            "sort_url": lambda column: url(request.context, query=selection.sort_link(column)),
            "tab_url": lambda key: url(request.context, query=selection.query(
                state=key)),
            "newer_url": link(b_start=max(0, selection.start - selection.size))
            if selection.start else None,
            "older_url": (link(b_start=selection.start + selection.size,
                               b_after=last_id(selection, page)) if page.more else None)}
