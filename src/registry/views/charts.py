"""Charts drawn on the server as SVG (templates/chart_macros.pt): horizontal bars, one group
per row, with the same numbers in a table beside them for screen readers and printing. No
script is needed; the page prints as it shows."""
from dataclasses import dataclass, field

from registry.i18n import _

WIDTH = 640
LABEL_WIDTH = 200
VALUE_WIDTH = 80
BAR_HEIGHT = 14
GAP = 10
#: A label longer than this is cut in the drawing (the table beside it has it whole).
LABEL_CHARS = 32


@dataclass
class Series:
    title: object          # a TranslationString
    values: list           # numbers or None, one per row
    css: str               # the bar's class (its colour in registry.css)
    text: object = str     # how a value is written (a count, a duration)


@dataclass
class Chart:
    ident: str
    title: object
    labels: list
    series: list
    rows: list = field(default_factory=list)
    height: int = 0
    width: int = WIDTH


def bar_chart(ident, title, labels, series):
    """Lay out a Chart: each label a group of one bar per series, lengths proportional to the
    largest value of the chart (a missing value draws no bar and reads "—")."""
    numbers = [v for s in series for v in s.values if v is not None]
    largest = max(numbers, default=0) or 1
    span = WIDTH - LABEL_WIDTH - VALUE_WIDTH
    group = BAR_HEIGHT * len(series) + GAP
    rows = []
    for index, label in enumerate(labels):
        top = GAP + index * group
        bars = []
        for offset, s in enumerate(series):
            value = s.values[index]
            bars.append({"x": LABEL_WIDTH, "y": top + offset * BAR_HEIGHT,
                         "width": 0 if value is None else max(1, round(span * value / largest)),
                         "height": BAR_HEIGHT - 2, "css": s.css,
                         "text": "—" if value is None else s.text(value)})
        short = label if len(label) <= LABEL_CHARS else label[:LABEL_CHARS - 1] + "…"
        rows.append({"label": label, "short": short, "y": top + (group - GAP) / 2 + 4,
                     "bars": bars})
    return Chart(ident, title, labels, series, rows, GAP + len(labels) * group + GAP)


def duration(seconds):
    """A duration as people read it: minutes under an hour, hours under two days, else days."""
    if seconds is None:
        return "—"
    if seconds < 3600:
        return _("duration-minutes", default="${n} min", mapping={"n": round(seconds / 60)})
    if seconds < 2 * 86400:
        return _("duration-hours", default="${n} h", mapping={"n": round(seconds / 3600, 1)})
    return _("duration-days", default="${n} d", mapping={"n": round(seconds / 86400, 1)})
