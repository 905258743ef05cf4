"""Retention: how long each file-plan series is kept, holds, and approved disposal.

Each series of an organisation's file plan has a retention class: **permanent** (its letters go
to the state archive with a handover package) or **temporary, N years** (kept N full calendar
years after the year of registration, then disposed of). A series nobody has classified is
permanent: nothing is disposed of by default.

Disposal is never automatic. Temporary series past their term are listed, per (series, year),
on the disposal list; the records manager approves one group at a time (audited). An approved
disposal moves each letter to the final `disposed` state: its register entry stays (numbers,
parties, dates, history, signature checks), the organisation loses access to its file. The
file's bytes are shared by the sender's letter and every recipient's copy, so they are let go
only when no party keeps them any more (the letter disposed of and no registered or handed-over
copy left); until then the other parties read it as before. Letters under a hold (placed and
lifted by the records manager, audited) are never disposed of.
"""
import secrets
from dataclasses import dataclass
from datetime import datetime, timezone

from BTrees.OOBTree import OOBTree
from persistent import Persistent

from registry.errors import NotFound, RegistryError
from registry.i18n import _
from registry.resources.letter import Letter
from registry.safetext import check_text
from registry.workflow import engine
from registry.workflow.engine import Context

PERMANENT = "permanent"
MAX_YEARS = 100
REASON_MAX = 500
TITLE_MAX = 300
SERIES_MAX = 20
#: States of the items an approved disposal takes (a sent letter only once settled).
DISPOSABLE = {"outbox": ("sent", "received", "withdrawn"), "inbox": ("registered",)}


@dataclass(frozen=True)
class SeriesRule:
    series: str
    title: str = ""
    retention: str = PERMANENT
    changed_by: str = ""
    changed_at: str = ""

    @property
    def permanent(self):
        return self.retention == PERMANENT

    @property
    def years(self):
        """The term of a temporary series in years, None for a permanent one."""
        return None if self.permanent else int(self.retention.split(":", 1)[1])

    def due(self, year, current_year):
        """True when letters registered in `year` are past their term in `current_year`:
        N full calendar years after the year of registration."""
        return not self.permanent and current_year > year + self.years


@dataclass(frozen=True)
class Hold:
    key: str
    reason: str
    placed_by: str
    placed_at: str


@dataclass(frozen=True)
class DisposalAct:
    id: str
    series: str
    year: int
    retention: str
    count: int
    approved_by: str
    approved_at: str


class RetentionPlan(Persistent):
    """An organisation's file plan (series -> SeriesRule), its holds (item key -> Hold) and
    its approved disposals (act id -> DisposalAct). Kept as `org.retention`."""

    def __init__(self):
        self.series = OOBTree()
        self.holds = OOBTree()
        self.disposals = OOBTree()

    def rule(self, series):
        """The series' rule; an unclassified series is permanent."""
        return self.series.get(series) or SeriesRule(series)


# Keys and lookups ----------------------------------------------------------------------------

def awaits_recipients(folder, item):
    """True for a sent letter that a recipient has not registered or rejected yet."""
    return folder == "outbox" and item.state == "sent" and any(
        d.state == "delivered" for d in item.deliveries.values())


def item_key(item):
    """An item's key within its organisation: "outbox/<id>" or "inbox/<id>"."""
    return f"{item.__parent__.__name__}/{item.__name__}"


def organisation_of(item):
    return item.__parent__.__parent__


def hold_of(item):
    plan = getattr(organisation_of(item), "retention", None)
    return plan.holds.get(item_key(item)) if plan is not None else None


def find_item(org, key):
    """The Letter or Delivery `key` ("outbox/<id>" or "inbox/<id>") of `org`; NotFound else."""
    folder, _sep, name = (key or "").strip().strip("/").partition("/")
    item = org[folder].get(name) if folder in ("outbox", "inbox") and name else None
    if item is None:
        raise NotFound("UNKNOWN_ITEM", _("unknown-item", default="Your organisation has no "
                                         "letter '${key}'.", mapping={"key": key[:80]}),
                       field="item")
    return item


# Retention classes -----------------------------------------------------------------------------

def clean_series(value):
    series = check_text(value or "01", "series").strip()
    if not series or len(series) > SERIES_MAX:
        raise RegistryError("INVALID_SERIES", _("The file-plan series is 1 to 20 characters."),
                            field="series")
    return series


def clean_retention(value):
    """"permanent", or "temporary:N" (also given as N) with 1 <= N <= 100; RegistryError else."""
    text = str(value or "").strip().lower()
    if text == PERMANENT:
        return PERMANENT
    years = text.split(":", 1)[1] if text.startswith("temporary:") else text
    if years.isdigit() and 1 <= int(years) <= MAX_YEARS:
        return f"temporary:{int(years)}"
    raise RegistryError("INVALID_RETENTION",
                        _("invalid-retention", default="A retention class is 'permanent' or a "
                          "number of years from 1 to ${max}.", mapping={"max": MAX_YEARS}),
                        field="retention")


def set_retention(site, actor, org, series, retention, title=None, now=None):
    """Classify `series` of `org`'s file plan; audited. Returns the new SeriesRule."""
    series = clean_series(series)
    retention = clean_retention(retention)
    plan = org.retention
    old = plan.rule(series)
    title = old.title if title is None else " ".join(str(title).split())[:TITLE_MAX]
    now = now or datetime.now(timezone.utc)
    rule = SeriesRule(series, title, retention, actor, now.isoformat())
    plan.series[series] = rule
    site.audit.append(actor, "retention.set", target=_org_path(org) + "/handovers",
                      org=org.regno, detail={"series": series, "title": title,
                                             "from": old.retention, "to": retention})
    return rule


# Holds -----------------------------------------------------------------------------------------

def place_hold(site, actor, org, key, reason, now=None):
    """Put the item `key` under a hold (it is never disposed of while held); audited."""
    item = find_item(org, key)
    key = item_key(item)
    reason = " ".join((reason or "").split())[:REASON_MAX]
    if not reason:
        raise RegistryError("COMMENT_REQUIRED", _("Give a reason."), field="reason")
    if key in org.retention.holds:
        raise RegistryError("ALREADY_HELD", _("This letter is under a hold already."),
                            status=409)
    if item.state == "disposed":
        raise RegistryError("ALREADY_DISPOSED", _("This letter has been disposed of."),
                            status=409)
    now = now or datetime.now(timezone.utc)
    hold = Hold(key, reason, actor, now.isoformat())
    org.retention.holds[key] = hold
    site.audit.append(actor, "hold.place", target=_org_path(org) + "/" + key, org=org.regno,
                      detail={"reason": reason})
    return hold


def lift_hold(site, actor, org, key, reason=""):
    """Lift the hold on `key`; audited."""
    item = find_item(org, key)
    key = item_key(item)
    hold = org.retention.holds.get(key)
    if hold is None:
        raise RegistryError("NOT_HELD", _("This letter is not under a hold."), status=409)
    del org.retention.holds[key]
    site.audit.append(actor, "hold.lift", target=_org_path(org) + "/" + key, org=org.regno,
                      detail={"reason": " ".join((reason or "").split())[:REASON_MAX],
                              "placed_by": hold.placed_by, "hold_reason": hold.reason})
    return hold


# Disposal --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class DisposalGroup:
    """One line of the disposal list: the letters of `series` registered in `year`."""

    series: str
    title: str
    year: int
    retention: str
    eligible: int    # would be disposed of on approval
    held: int        # under a hold: stay
    waiting: int     # sent letters some recipient has not settled yet: stay for now


def journal_items(org, folder, year, series):
    """The items `org` numbered in `folder` ("outbox" | "inbox") in `year` and `series`, in
    number order; lazy over the journal."""
    box = org[folder]
    for key in box.journal.keys(min=(year, series, 0), max=(year, series, 10 ** 12)):
        yield box[box.journal[key]]


def journal_years(org):
    """The years present in the organisation's number journals, ascending."""
    years = set()
    for folder in ("outbox", "inbox"):
        journal = org[folder].journal
        if len(journal):
            first, last = journal.minKey()[0], journal.maxKey()[0]
            years.update(range(first, last + 1))
    return sorted(years)


def _classify(org, folder, item):
    """"eligible", "held", "waiting" or None (not a candidate: handed over, disposed)."""
    if item.state not in DISPOSABLE[folder]:
        return None
    if org.retention.holds.get(item_key(item)) is not None:
        return "held"
    if awaits_recipients(folder, item):
        return "waiting"
    return "eligible"


def disposal_list(org, current_year):
    """The disposal list: a DisposalGroup for every (temporary series, year) past its term
    with letters still kept. Cost: the letters of those groups."""
    groups = []
    years = journal_years(org)
    for rule in org.retention.series.values():
        if rule.permanent:
            continue
        for year in years:
            if not rule.due(year, current_year):
                continue
            counts = {"eligible": 0, "held": 0, "waiting": 0}
            for folder in ("outbox", "inbox"):
                for item in journal_items(org, folder, year, rule.series):
                    kind = _classify(org, folder, item)
                    if kind:
                        counts[kind] += 1
            if any(counts.values()):
                groups.append(DisposalGroup(rule.series, rule.title, year, rule.retention,
                                            **counts))
    return sorted(groups, key=lambda g: (g.year, g.series))


def approve_disposal(site, actor, org, series, year, current_year, settings=None, now=None):
    """Dispose of every eligible letter of `series` registered in `year` (not the held ones,
    not the unsettled ones); audited as one act and per letter. Returns the DisposalAct.
    Raises RegistryError SERIES_PERMANENT, NOT_DUE or NOTHING_TO_DISPOSE."""
    rule = org.retention.rule(series)
    if rule.permanent:
        raise RegistryError("SERIES_PERMANENT",
                            _("series-permanent", default="Series ${series} is kept "
                              "permanently: its letters go to the archive, never to disposal.",
                              mapping={"series": series}))
    if not rule.due(year, current_year):
        raise RegistryError("NOT_DUE",
                            _("not-due", default="Letters of ${year} in series ${series} are "
                              "kept until the end of ${until}.",
                              mapping={"year": year, "series": series,
                                       "until": year + rule.years}))
    now = now or datetime.now(timezone.utc)
    act_id = f"{now:%Y%m%d%H%M%S}-{secrets.token_hex(4)}"
    ctx = Context(site=site, actor=actor, permits=lambda permission, obj: False,
                  settings=settings or {}, options={"disposal": act_id}, now=now)
    count = 0
    for folder in ("outbox", "inbox"):
        # Listed first: each disposal changes the state indexes, not the journal.
        for item in list(journal_items(org, folder, year, series)):
            if _classify(org, folder, item) == "eligible":
                engine().fire(item, "dispose", ctx, system=True)
                count += 1
    if not count:
        raise RegistryError("NOTHING_TO_DISPOSE", _("Nothing here is due for disposal."),
                            status=409)
    act = DisposalAct(act_id, series, year, rule.retention, count, actor, now.isoformat())
    org.retention.disposals[act_id] = act
    site.audit.append(actor, "disposal.approve", target=_org_path(org) + "/handovers",
                      org=org.regno, detail={"act": act_id, "series": series, "year": year,
                                             "retention": rule.retention, "count": count})
    return act


def release_file(item, ctx):
    """The `release_file` effect of `dispose`: note the act; let the file's bytes go when no
    party keeps them (the letter disposed of, no registered or handed-over copy left)."""
    item.disposed_in = ctx.options["disposal"]
    item.disposed_at = ctx.now
    letter = item if isinstance(item, Letter) else item.letter
    kept = letter.state != "disposed" or any(
        d.state in ("registered", "handed_over") for d in letter.deliveries.values())
    if not kept and letter.pdf is not None and not letter.pdf.released:
        letter.pdf.release(ctx.now)
        return {"act": item.disposed_in, "file_released": True}
    return {"act": item.disposed_in, "file_released": False}


def _org_path(org):
    return f"/orgs/{org.regno}"
