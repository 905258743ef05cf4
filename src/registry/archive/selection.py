"""What an archive handover takes: the selection, its preview, and the records it streams.

A selection is an organisation, a year and optionally a file-plan series. The year is the local
year of registration: outgoing letters by the year of their outgoing number, incoming letters
by the year of their incoming number. Both are read from the mailboxes' number journals, keyed
(year, series, number), so a selection is a range of journal keys: cost grows with the letters
selected, never with the registry, and nothing is gathered in a list (the journal is iterated
lazily, items are loaded one at a time).

What goes, and what stays (decisions):
- Only **closed** letters go. An outgoing letter is closed once sent and settled (every
  recipient registered or rejected it), received or withdrawn; an incoming one once registered.
  A sent letter some recipient has not decided on yet is **open**: it stays, is shown in the
  preview, and goes later in a supplement. Deliveries not registered yet have no incoming
  number, so no year of registration: the preview counts those delivered in the year, as a
  warning (registered later, they join the year they are numbered in). Drafts and signed
  letters have no number and are not records yet.
- Only **permanent** series go (see registry.archive.retention); letters of temporary series
  stay with the organisation until their disposal, and are counted in the preview. Asking for
  a temporary series is refused.
- Letters handed over already never go twice: a NEW handover is refused when any letter of the
  selection is handed over; a SUPPLEMENT takes only the letters not handed over yet (late
  registrations, letters settled since) and needs an earlier handover of the same year.
"""
from dataclasses import dataclass, field
from datetime import datetime, timezone

from registry import settings as registry_settings
from registry.archive.model import Action, Party, RecordEntry, SignatureCheck
from registry.archive.retention import DISPOSABLE, awaits_recipients, item_key
from registry.errors import RegistryError
from registry.exchange import clean_series
from registry.i18n import _
from registry.receipts import visible_receipts
from registry.resources.evidence import verdict_digest

FOLDERS = (("outbox", "outgoing"), ("inbox", "incoming"))
#: The states in which an item may go, by folder (a sent letter only once settled).
CLOSED = DISPOSABLE  # the same states: what may be disposed of may go to the archive
#: How many open letters a preview names (it counts them all).
OPEN_SHOWN = 50
MIN_YEAR, MAX_YEAR = 1990, 2200


@dataclass(frozen=True)
class Selection:
    regno: str
    year: int
    series: str | None = None
    supplement: bool = False

    @property
    def record_status(self):
        return "SUPPLEMENT" if self.supplement else "NEW"

    def covers(self, year, series):
        """True when this selection includes letters of (year, series)."""
        return self.year == year and (self.series is None or series is None
                                      or self.series == series)


def clean_year(value):
    try:
        year = int(str(value).strip())
    except (TypeError, ValueError):
        year = None
    if year is None or not MIN_YEAR <= year <= MAX_YEAR:
        raise RegistryError("INVALID_YEAR", _("invalid-year", default="Give a year such as "
                                              "2025."), field="year")
    return year


def make_selection(org, year, series=None, supplement=False):
    """Check and return a Selection. Raises RegistryError (INVALID_YEAR, INVALID_SERIES,
    SERIES_TEMPORARY)."""
    year = clean_year(year)
    series = clean_series(series) if (series or "").strip() else None
    if series is not None:
        rule = org.retention.rule(series)
        if not rule.permanent:
            raise RegistryError(
                "SERIES_TEMPORARY",
                _("series-temporary", default="Series ${series} is kept ${years} years and "
                  "then disposed of; only permanent series go to the archive.",
                  mapping={"series": series, "years": rule.years}), field="series")
    return Selection(org.regno, year, series, bool(supplement))


# Walking the selection ------------------------------------------------------------------------

def journal_range(selection):
    """(min, max) journal keys of the selection, both included."""
    if selection.series is None:
        return (selection.year,), (selection.year, "\uffff")
    return (selection.year, selection.series, 0), (selection.year, selection.series, 10 ** 12)


def walk(org, selection):
    """Yield (folder, series, item) for every item numbered in the selection, outgoing then
    incoming, in number order. Lazy."""
    low, high = journal_range(selection)
    for folder, _direction in FOLDERS:
        box = org[folder]
        for key in box.journal.keys(min=low, max=high):
            item = box.get(box.journal[key])
            if item is not None:
                yield folder, key[1], item


def classify(org, folder, series, item):
    """Where an item of the selection stands: "go", "open", "handed_over", "disposed",
    "temporary" (a temporary series: stays for disposal)."""
    if item.state == "handed_over":
        return "handed_over"
    if item.state == "disposed":
        return "disposed"
    if not org.retention.rule(series).permanent:
        return "temporary"
    if item.state not in CLOSED[folder]:
        return "open"
    if awaits_recipients(folder, item):
        return "open"
    return "go"


def to_go(org, selection):
    """Yield (folder, series, item) for the items that go with this selection. Lazy."""
    for folder, series, item in walk(org, selection):
        if classify(org, folder, series, item) == "go":
            yield folder, series, item


# The preview ----------------------------------------------------------------------------------

@dataclass
class OpenLetter:
    key: str
    number: str
    subject: str
    state: str
    waiting: tuple = ()


@dataclass
class Preview:
    selection: Selection
    outgoing: int = 0           # outgoing letters that go
    incoming: int = 0           # incoming letters that go
    bytes: int = 0              # their files' size
    handed_over: int = 0        # of the selection, handed over already
    disposed: int = 0
    temporary: int = 0          # in temporary series: stay for disposal
    open: int = 0               # numbered but not closed: stay
    unregistered: int = 0       # delivered in the year, not registered yet
    failed_last_check: int = 0  # going, but refused at their last signature check
    open_letters: list = field(default_factory=list)
    series: dict = field(default_factory=dict)   # series -> letters that go
    earlier: list = field(default_factory=list)  # ids of earlier handovers covering it

    @property
    def total(self):
        return self.outgoing + self.incoming


def local_year_of(when, settings=None):
    return when.astimezone(registry_settings.zone(settings)).year


def preview(org, selection, settings=None):
    """Count what the selection takes and what stays; name the first open letters. Reads the
    selection once (and the unregistered deliveries); keeps only counts."""
    result = Preview(selection)
    jar = org._p_jar
    for count, (folder, series, item) in enumerate(walk(org, selection), 1):
        if jar is not None and count % 2000 == 0:
            jar.cacheGC()  # a large year: let the letters read so far become ghosts again
        kind = classify(org, folder, series, item)
        if kind == "go":
            if folder == "outbox":
                result.outgoing += 1
            else:
                result.incoming += 1
            letter = item if folder == "outbox" else item.letter
            result.bytes += letter.pdf.size if letter.pdf is not None else 0
            result.series[series] = result.series.get(series, 0) + 1
            last = item.last_verdict
            if last is not None and not last.get("accepted"):
                result.failed_last_check += 1
        elif kind == "open":
            result.open += 1
            if len(result.open_letters) < OPEN_SHOWN:
                waiting = tuple(r for r, d in item.deliveries.items() if d.state == "delivered")
                result.open_letters.append(OpenLetter(item_key(item), item.outgoing_number or "",
                                                      item.subject, item.state, waiting))
        else:
            setattr(result, kind, getattr(result, kind) + 1)
    inbox = org["inbox"]
    for shard in range(inbox.SHARDS):
        for _when, name in inbox.by_state.get(("delivered", shard), ()):
            delivery = inbox[name]
            if (delivery.letter.state != "withdrawn"
                    and local_year_of(delivery.delivered_at, settings) == selection.year):
                result.unregistered += 1
    result.earlier = [h.__name__ for h in earlier_handovers(org, selection)]
    return result


def earlier_handovers(org, selection):
    """Handovers made (or being made) whose selection overlaps this one. One left `building`
    by a process that ended while packaging handed nothing over: it does not count."""
    return [h for h in org["handovers"].values()
            if selection.covers(h.year, h.series) and (
                h.status == "made" or (h.status == "building" and not (
                    h.stale() and h.phase == "packaging")))]


def check_allowed(org, selection, preview_):
    """Refuse what may not be exported: a NEW handover of a selection with letters handed over
    already (ask for a supplement), a SUPPLEMENT with no earlier handover, an export while
    another of the same year is being made, or nothing to hand over."""
    earlier = earlier_handovers(org, selection)
    if any(h.status == "building" for h in earlier):
        raise RegistryError("EXPORT_RUNNING",
                            _("A handover of this year is being made now; wait until it "
                              "ends."), status=409)
    if not selection.supplement and (preview_.handed_over or earlier):
        raise RegistryError(
            "ALREADY_HANDED_OVER",
            _("already-handed-over", default="${count} letters of this selection are handed "
              "over already; ask for a supplement to hand over the others.",
              mapping={"count": preview_.handed_over}), status=409)
    if selection.supplement and not earlier:
        raise RegistryError("NO_EARLIER_HANDOVER",
                            _("A supplement adds to an earlier handover of the same year; "
                              "there is none."), status=409)
    if not preview_.total:
        raise RegistryError("NOTHING_TO_HAND_OVER",
                            _("No letter of this selection is ready to be handed over."),
                            status=409)


# Records for the package ----------------------------------------------------------------------

def _when(value):
    if value is None or isinstance(value, datetime):
        return value
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def signature_check(verdict, context):
    """A model.SignatureCheck from a stored Verdict.as_json() (its own context if it has one)."""
    signer = verdict.get("signer") or {}
    report = {k: v for k, v in verdict.items() if k not in ("context", "package")}
    return SignatureCheck(
        time=_when(verdict.get("checked_at")), context=verdict.get("context", context),
        accepted=bool(verdict.get("accepted")), reasons=tuple(verdict.get("reasons", ())),
        signer=signer.get("name") or signer.get("subject") or "",
        signer_regno=signer.get("regno"), issuer=signer.get("issuer") or "",
        serial=signer.get("serial") or "", signing_time=_when(verdict.get("signing_time")),
        report=report)


def record_entry(site, org, folder, series, item):
    """The model.RecordEntry of one item as `org` keeps it (its checks, the export one last
    once recorded, and its workflow history)."""
    orgs = site.orgs
    letter = item if folder == "outbox" else item.letter
    rule = org.retention.rule(series)

    def party(regno):
        found = orgs.get(regno)
        return Party(regno, found.name if found is not None else regno)

    checks = tuple(signature_check(v, "sending" if folder == "outbox" else "receipt")
                   for v in item.verdicts)
    signer = (item.checked_before_export or letter.checked_before_export or {}).get("signer") \
        or {}
    stored = letter.pdf
    named = sorted({digest for check in checks
                    for digest in check.report.get("evidence", {}).get("revocation_data", ())})
    kept = ((digest, site.revocation_data.get(digest)) for digest in named)
    checked = {verdict_digest(check.report) for check in checks}
    stamps = tuple((key, entry["verdict_sha256"], entry["time"], token)
                   for key, entry, token in site.timestamps.for_file(stored.sha256)
                   if token is not None and entry["verdict_sha256"] in checked)
    return RecordEntry(
        key=item_key(item),
        direction="outgoing" if folder == "outbox" else "incoming",
        subject=letter.subject, series=series, series_title=rule.title,
        retention=rule.retention,
        outgoing_number=letter.outgoing_number,
        incoming_number=item.incoming_number if folder == "inbox" else None,
        sender=party(letter.org), recipients=tuple(party(r) for r in letter.recipients),
        signatory=signer.get("name") or signer.get("subject") or "",
        signatory_regno=signer.get("regno"),
        created=letter.created, sent=letter.sent_at,
        registered=item.registered_at if folder == "inbox" else letter.sent_at,
        state=item.state,
        pdf_path=stored.path(), pdf_filename=stored.filename, pdf_size=stored.size,
        pdf_sha256=stored.sha256, pdf_created=stored.uploaded_at,
        checks=checks,
        actions=tuple(Action(_when(h.time), h.actor, h.transition, h.from_state, h.to_state,
                             h.comment) for h in item.history),
        revocation_data=tuple((digest, der) for digest, der in kept if der is not None),
        timestamps=stamps,
        receipts=tuple((r.id, r.event, r.time, r.issued_at, r.read("pdf"), r.read("json"),
                        r.read("signature")) for r in visible_receipts(item)),
    )
