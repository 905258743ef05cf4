"""Answer terms: the kinds of incoming letter (etc/deadlines.toml) and what is due when.

A kind names its default term (`term` days, counted as `unit` "working" or "calendar" days),
whether the sender's requested date wins (`use_sender_date`), and how many extensions of at
most `extension_max` days it allows. A kind without a term ("for information") is due never.
"""
import tomllib
from dataclasses import dataclass
from functools import lru_cache

from registry import workdays
from registry.errors import RegistryError
from registry.i18n import _
from registry.paths import shipped

UNITS = ("working", "calendar")
KIND_TITLES = {
    "petition": _("kind-petition", default="Petition or complaint"),
    "request": _("kind-request", default="Request from an organisation"),
    "information": _("kind-information", default="For information"),
}


@dataclass(frozen=True)
class Kind:
    name: str
    title: str
    term: int = 0
    unit: str = "working"
    use_sender_date: bool = False
    extensions: int = 0
    extension_max: int = 0

    def add(self, start, days, calendar=None):
        """`days` of this kind's unit after `start`."""
        if self.unit == "calendar":
            return workdays.add_calendar_days(start, days, calendar)
        return workdays.add_working_days(start, days, calendar)


@dataclass(frozen=True)
class Rules:
    kinds: dict
    default_kind: str
    due_soon_working_days: int

    def kind(self, name):
        """The Kind named `name` (the default kind for an empty name). Raises RegistryError."""
        name = (name or "").strip() or self.default_kind
        if name not in self.kinds:
            raise RegistryError("UNKNOWN_KIND", _("unknown-letter-kind", default="The kind of "
                                "letter is one of: ${kinds}.",
                                mapping={"kinds": ", ".join(self.kinds)}), field="kind")
        return self.kinds[name]


def parse(data, source="deadlines.toml"):
    """Rules from parsed TOML; raises ValueError naming the fault."""
    kinds = {}
    for name, spec in data.get("kinds", {}).items():
        unknown = set(spec) - {"title", "term", "unit", "use_sender_date", "extensions",
                               "extension_max"}
        if unknown:
            raise ValueError(f"{source}: kind {name!r}: unknown keys {sorted(unknown)}")
        kind = Kind(name, spec.get("title", name), int(spec.get("term", 0)),
                    spec.get("unit", "working"), bool(spec.get("use_sender_date", False)),
                    int(spec.get("extensions", 0)), int(spec.get("extension_max", 0)))
        if kind.unit not in UNITS or not 0 <= kind.term <= workdays.MAX_TERM:
            raise ValueError(f"{source}: kind {name!r}: unit is one of {UNITS}, term 0..366")
        kinds[name] = kind
    desk = data.get("desk", {})
    default = desk.get("default_kind", "request")
    if default not in kinds:
        raise ValueError(f"{source}: default_kind {default!r} is not a kind")
    return Rules(kinds, default, int(desk.get("due_soon_working_days", 3)))


@lru_cache(maxsize=1)
def rules():
    """The shipped rules (etc/deadlines.toml), read once."""
    path = shipped("etc") / "deadlines.toml"
    return parse(tomllib.loads(path.read_text(encoding="utf-8")), path.name)


def default_due(kind, received_on, sender_date=None, calendar=None):
    """The due date a letter of `kind` received on `received_on` gets by default, or None."""
    if kind.use_sender_date and sender_date is not None and sender_date > received_on:
        return sender_date
    if not kind.term:
        return None
    return kind.add(received_on, kind.term, calendar)


def urgency(due, today, calendar=None, soon_days=None):
    """"overdue" (due before today), "soon" (due within the next `soon_days` working days,
    today included) or "" (no due date, or later)."""
    if due is None:
        return ""
    if due < today:
        return "overdue"
    soon_days = rules().due_soon_working_days if soon_days is None else soon_days
    if due <= workdays.add_working_days(today, soon_days, calendar):
        return "soon"
    return ""
