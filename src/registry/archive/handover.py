"""Handover records and the export that makes them.

A `Handover` lives at `/orgs/<regno>/handovers/<package id>`: the selection, the act (number,
date), who made it and when, the package (where, SHA-256, counts), the letters it took, the
signature checks that failed at export, and who received it at the archive.

`export` runs in steps, each in transactions of its own, so that memory stays bounded however
large the year is (a ZODB transaction keeps every object it changes in memory):

1. **start** (one transaction): check the selection, refuse what may not go, file the record
   in state `building` with the number of letters to go; audited.
2. **package**: walk the selection by journal key ranges, `batch` letters a transaction: re-check
   each signature with the gate, record the verdict on the letter or delivery (context
   "export", with the package id) next to the one taken at sending or receipt, note the letter
   in the record, and stream its RecordEntry to `build_package` (registry.archive.package),
   which copies the files into the package as they come.
3. **hand over**: once the package is complete, move the letters the record names to
   `handed_over` (a system transition: each gets a history entry and an audit record), `batch`
   a transaction.
4. **finish**: the record becomes `made` with the package's SHA-256 and counts; audited.

If step 2 fails (a file whose bytes no longer match its SHA-256, a full disk), the record
becomes `failed` with the reason, no letter is handed over, and the selection may be exported
again; the export checks already recorded stay (they were made). Progress (`phase`, `done`,
`total`, `heartbeat`) is committed with every batch, so any process can show it.

A package made from the web UI (`in_data_dir`) is kept in the store, as a blob of the record
(`package`), once made: every app machine can serve its download, whichever made it; the file
written while packaging is removed then.
"""
import logging
import os
import shutil
import socket
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta, timezone
from itertools import islice

import transaction
from BTrees.OOBTree import OOBTree, OOTreeSet
from persistent import Persistent
from ZODB.blob import Blob

from registry import dates
from registry import exchange
from registry import settings as registry_settings
from registry.archive import selection as sel
from registry.archive.model import PackageSpec, Party
from registry.archive.package import build_package
from registry.archive.retention import find_item, item_key
from registry.audit_sealing import seal_pending
from registry.resources.evidence import proof_of
from registry.errors import RegistryError
from registry.i18n import _
from registry.store import site_of
from registry.workflow import TransitionRefused, engine

log = logging.getLogger(__name__)

BATCH = 100
#: A record `building` with no progress for this long was left by a process that ended.
STALE = timedelta(minutes=15)
TEXT_MAX = 300


class Handover(Persistent):
    """One archive handover (its package and its act)."""

    __parent__ = None
    __name__ = None

    #: Why it failed, as a stable code (records made before it existed have none).
    error_code = None
    #: The package's bytes in the store (a Blob), when made from the web UI.
    package = None

    def __init__(self, package_id, selection, act_number, act_date, archive_name,
                 fond_reference, inventory_reference, made_by, actor, created, total):
        self.package_id = package_id
        self.regno = selection.regno
        self.year = selection.year
        self.series = selection.series
        self.record_status = selection.record_status
        self.act_number = act_number
        self.act_date = act_date
        self.archive_name = archive_name
        self.fond_reference = fond_reference
        self.inventory_reference = inventory_reference
        self.made_by = made_by
        self.actor = actor
        self.created = created
        self.status = "building"
        self.phase = "packaging"
        self.total = total
        self.done = 0
        self.heartbeat = created
        self.worker = _this_worker()
        self.finished = None
        self.error = None
        self.error_code = None
        self.package_path = None
        self.package_name = None
        self.in_data_dir = False
        self.sha256 = None
        self.files = 0
        self.bytes = 0
        self.outgoing = 0
        self.incoming = 0
        #: Keys ("outbox/<id>", "inbox/<id>") of the letters in the package.
        self.items = OOTreeSet()
        #: key -> reason codes of the letters whose signature failed the export check.
        self.failed_checks = OOBTree()
        #: key -> why a packaged letter could not be moved to handed_over (should stay empty).
        self.anomalies = OOBTree()
        self.received_by = None
        self.received_at = None
        self.receipt_note = ""
        self.confirmed_by = None

    def stale(self, now=None):
        """True when a `building` record has shown no progress for STALE: its process ended."""
        now = now or datetime.now(timezone.utc)
        return self.status == "building" and (now - self.heartbeat) > STALE

    @property
    def selection(self):
        return sel.Selection(self.regno, self.year, self.series,
                             self.record_status == "SUPPLEMENT")

    @property
    def letters(self):
        return self.outgoing + self.incoming

    @property
    def received(self):
        return self.received_at is not None

    def as_json(self, request=None):
        data = {
            "id": self.__name__, "package_id": self.package_id, "org": self.regno,
            "year": self.year, "series": self.series, "record_status": self.record_status,
            "act_number": self.act_number, "act_date": self.act_date.isoformat(),
            "archive": self.archive_name, "fond_reference": self.fond_reference,
            "inventory_reference": self.inventory_reference, "made_by": self.made_by,
            "created": self.created.isoformat(), "status": self.status, "phase": self.phase,
            "done": self.done, "total": self.total,
            "finished": self.finished.isoformat() if self.finished else None,
            "error": self.error, "error_code": self.error_code, "sha256": self.sha256, "package": self.package_name,
            "files": self.files, "bytes": self.bytes, "letters": self.letters,
            "outgoing": self.outgoing, "incoming": self.incoming,
            "failed_checks": len(self.failed_checks),
            "received_by": self.received_by,
            "received_at": self.received_at.isoformat() if self.received_at else None,
            "receipt_note": self.receipt_note,
        }
        if request is not None:
            data = {"@id": request.resource_url(self), "@type": "Handover", **data}
        return data


@dataclass
class ExportRequest:
    """What the records manager asked for. `out`: a directory (a bag is made there) or a path
    ending .zip."""

    regno: str
    year: object
    series: str = None
    supplement: bool = False
    act_number: str = ""
    act_date: object = None
    archive_name: str = ""
    fond_reference: str = ""
    inventory_reference: str = ""
    actor: str = ""
    out: str = ""
    in_data_dir: bool = False


def _text(value, field, required=False):
    text = " ".join(str(value or "").split())[:TEXT_MAX]
    if required and not text:
        raise RegistryError("FIELD_REQUIRED", _("This field is required."), field=field)
    return text


def _act_date(value, today):
    return dates.clean_day(value, "act_date") or today


def made_by(site, login):
    user = site.users.get(login)
    return f"{login} ({user.fullname})" if user is not None and user.fullname else login


def start(site, request, settings=None, now=None):
    """Step 1: check the request and file the Handover record (state `building`); audited.
    Returns it. Raises RegistryError (see selection.check_allowed) and changes nothing then."""
    settings = settings or {}
    org = site.orgs.get(request.regno)
    if org is None:
        raise RegistryError("UNKNOWN_ORG", _("unknown-org", default="There is no organisation "
                                             "with registration number ${regno}.",
                                             mapping={"regno": str(request.regno)[:20]}),
                            status=404)
    selection = sel.make_selection(org, request.year, request.series, request.supplement)
    now = now or datetime.now(timezone.utc)
    for earlier in org["handovers"].values():
        if earlier.stale(now) and selection.covers(earlier.year, earlier.series):
            if earlier.phase == "packaging":
                # Its process ended while packaging: nothing was handed over.
                earlier.status, earlier.error = "failed", "interrupted"
                earlier.error_code = "INTERRUPTED"
                earlier.finished = now
                site.audit.append(request.actor, "handover.failed", target=path_of(earlier),
                                  org=org.regno, detail={"error": "interrupted"})
            else:
                raise RegistryError(
                    "HANDOVER_INTERRUPTED",
                    _("handover-interrupted", default="Handover ${id} stopped while its "
                      "letters were being marked handed over; finish it first "
                      "(registry handover resume).", mapping={"id": earlier.__name__}),
                    status=409)
    preview = sel.preview(org, selection, settings)
    sel.check_allowed(org, selection, preview)
    today = now.astimezone(registry_settings.zone(settings)).date()
    handovers = org["handovers"]
    # The archive gives each organisation its fond: asked once, then taken from the last
    # handover.
    earlier = max(handovers.values(), key=lambda h: h.created, default=None)
    fond = _text(request.fond_reference, "fond_reference") or (
        earlier.fond_reference if earlier is not None else "")
    if not fond:
        raise RegistryError("FOND_REQUIRED",
                            _("Give the fond reference the archive keeps your organisation's "
                              "records under."), field="fond_reference")
    package_id = str(uuid.uuid4())
    record = Handover(
        package_id, selection,
        act_number=(_text(request.act_number, "act_number")
                    or f"{selection.year}-{len(handovers) + 1}"),
        act_date=_act_date(request.act_date, today),
        archive_name=_text(request.archive_name, "archive_name")
        or registry_settings.archive_name(settings),
        fond_reference=fond,
        inventory_reference=_text(request.inventory_reference, "inventory_reference")
        or str(selection.year),
        made_by=made_by(site, request.actor), actor=request.actor, created=now,
        total=preview.total)
    record.in_data_dir = request.in_data_dir
    handovers.add(package_id, record)
    site.audit.append(request.actor, "handover.start", target=path_of(record), org=org.regno,
                      detail={"year": selection.year, "series": selection.series,
                              "record_status": selection.record_status,
                              "letters": preview.total, "act_number": record.act_number})
    return record


def path_of(record):
    return f"/orgs/{record.regno}/handovers/{record.__name__}"


class _Session:
    """A connection with its own transaction manager, for one step's batches."""

    def __init__(self, db):
        self.tm = transaction.TransactionManager(explicit=True)
        self.conn = db.open(transaction_manager=self.tm)

    def batch(self, fn, attempts=3):
        """Run fn(site) in a transaction of its own (retried on conflicts); return its result."""
        for attempt in self.tm.attempts(attempts):
            with attempt:
                result = fn(site_of(self.conn))
        self.conn.cacheGC()
        return result

    def close(self):
        self.conn.close()


def _record(site, regno, handover_id):
    return site.orgs[regno]["handovers"][handover_id]


def _ranges(selection):
    low, high = sel.journal_range(selection)
    for folder, _direction in sel.FOLDERS:
        yield folder, low, high


def _journal_batches(session, regno, selection, batch, work):
    """Call work(site, org, record_keys) for successive slices of the selection's journal
    keys, each in a transaction of its own; yield what each returns. Never iterates a BTree
    across transactions: each slice starts after the last key seen."""
    for folder, low, high in _ranges(selection):
        last = None

        def step(site, folder=folder):
            org = site.orgs[regno]
            journal = org[folder].journal
            if last is None:
                keys = list(islice(journal.keys(min=low, max=high), batch))
            else:
                keys = list(islice(journal.keys(min=last, max=high, excludemin=True), batch))
            return keys, work(site, org, folder, keys)

        while True:
            keys, result = session.batch(step)
            if not keys:
                break
            last = keys[-1]
            yield result


def package_entries(db, regno, handover_id, gate, batch=BATCH, progress=None):
    """Step 2's stream: re-check, record and describe every letter that goes; yields
    model.RecordEntry one at a time, committing each batch's checks before yielding it."""
    session = _Session(db)
    checker = ThreadPoolExecutor(max_workers=max(1, gate.config.workers),
                                 thread_name_prefix="export-check")
    try:
        record = session.batch(lambda site: _record(site, regno, handover_id))
        selection, package_id = record.selection, record.package_id

        def work(site, org, folder, keys):
            rec = _record(site, regno, handover_id)
            box, entries, going = org[folder], [], []
            for key in keys:
                item = box.get(box.journal[key])
                series = key[1]
                if item is None or sel.classify(org, folder, series, item) != "go":
                    continue
                if item_key(item) in rec.items:
                    continue
                going.append((series, item))
            # The gate's checks run in its worker processes: keep all of them busy. Only
            # plain data (a file path, a registration number) crosses into the threads.
            sources = []
            for _series, item in going:
                letter = item if folder == "outbox" else item.letter
                sources.append((letter.pdf.path() or letter.pdf.read(), letter.org,
                                proof_of(item, site)))
            verdicts = list(checker.map(lambda job: gate.verify(*job).as_json(), sources))
            for (series, item), verdict in zip(going, verdicts):
                ikey = item_key(item)
                item.record_verdict({**verdict, "context": "export", "package": package_id})
                if not verdict["accepted"]:
                    rec.failed_checks[ikey] = tuple(verdict["reasons"])
                rec.items.add(ikey)
                if folder == "outbox":
                    rec.outgoing += 1
                else:
                    rec.incoming += 1
                entries.append(sel.record_entry(site, org, folder, series, item))
            rec.done = rec.letters
            rec.heartbeat = datetime.now(timezone.utc)
            return entries, rec.done, rec.total

        for entries, done, total in _journal_batches(session, regno, selection, batch, work):
            yield from entries
            if progress is not None:
                progress("packaging", done, total)
    finally:
        checker.shutdown()
        session.close()


def audit_records(db, regno, handover_id):
    """The sealed audit records of the organisation about the letters in the package, oldest
    first, as plain dicts. Lazy: it reads the record's letter list when first iterated."""
    seal_pending(db)
    session = _Session(db)
    try:
        conn = session.conn
        session.tm.begin()
        site = site_of(conn)
        items = _record(site, regno, handover_id).items
        prefix = f"/orgs/{regno}/"
        for count, record in enumerate(site.audit.records_of(regno), 1):
            target = record.target
            if target.startswith(prefix) and target[len(prefix):] in items:
                yield asdict(record)
            if count % 10000 == 0:
                conn.cacheGC()
        session.tm.abort()
    finally:
        session.close()


def hand_over(db, regno, handover_id, settings=None, batch=BATCH, progress=None):
    """Step 3: move every letter of the record to `handed_over`, `batch` a transaction."""
    session = _Session(db)
    try:
        last = None
        while True:
            def step(site):
                rec = _record(site, regno, handover_id)
                if rec.worker != _this_worker():
                    raise _running_elsewhere()
                org = site.orgs[regno]
                if last is None:
                    keys = list(islice(rec.items.keys(), batch))
                else:
                    keys = list(islice(rec.items.keys(min=last, excludemin=True), batch))
                ctx = exchange.context(site, rec.actor, permits=lambda permission, obj: False,
                                       settings=settings or {},
                                       options={"handover": rec.__name__})
                for key in keys:
                    item = find_item(org, key)
                    if item.state == "handed_over":
                        continue
                    try:
                        engine().fire(item, "hand_over", ctx, system=True)
                    except TransitionRefused as exc:
                        rec.anomalies[key] = exc.code
                rec.done = min(rec.letters, rec.done + len(keys))
                rec.heartbeat = datetime.now(timezone.utc)
                return keys, rec.done, rec.letters

            keys, done, total = session.batch(step)
            # Chain this batch's audit records now: pending records live in one object that
            # every later batch would otherwise write again, whole.
            seal_pending(db)
            if not keys:
                break
            last = keys[-1]
            if progress is not None:
                progress("handing_over", done, total)
    finally:
        session.close()


def run(db, regno, handover_id, out, gate, settings=None, batch=BATCH, progress=None):
    """Steps 2 to 4 for a record filed by `start`; returns the Handover's as_json(). Marks the
    record failed and re-raises if the package cannot be made."""
    settings = settings or {}
    session = _Session(db)
    try:
        def spec_of(site):
            rec = _record(site, regno, handover_id)
            org = site.orgs[regno]
            return PackageSpec(
                package_id=rec.package_id, org=Party(org.regno, org.name), year=rec.year,
                series=rec.series, record_status=rec.record_status,
                act_number=rec.act_number, act_date=rec.act_date, made_by=rec.made_by,
                archive_name=rec.archive_name, fond_reference=rec.fond_reference,
                inventory_reference=rec.inventory_reference, created=rec.created,
                profile_version=registry_settings.archive_profile_version(settings),
                software=("Registry", _version()),
                timezone=registry_settings.timezone_name(settings)), rec.total

        spec, total = session.batch(spec_of)
        entries = package_entries(db, regno, handover_id, gate, batch, progress)
        audits = audit_records(db, regno, handover_id)
        try:
            result = build_package(spec, entries, out, audit_records=audits, total=total)
        except BaseException as exc:
            # Close the streams now, so their connections go back before anything else.
            entries.close()
            audits.close()  # also Ctrl+C: nothing is handed over, say so
            message = str(exc) if isinstance(exc, RegistryError) else repr(exc)
            code = exc.code if isinstance(exc, RegistryError) else type(exc).__name__

            def failed(site):
                rec = _record(site, regno, handover_id)
                rec.status, rec.error, rec.error_code = "failed", message[:1000], code
                rec.finished = datetime.now(timezone.utc)
                site.audit.append(rec.actor, "handover.failed", target=path_of(rec),
                                  org=regno, detail={"error": rec.error, "code": code})

            session.batch(failed)
            seal_pending(db)
            raise

        def packaged(site):
            rec = _record(site, regno, handover_id)
            if rec.in_data_dir and os.path.isfile(result.path):
                rec.package = Blob()
                with open(result.path, "rb") as source, rec.package.open("w") as target:
                    shutil.copyfileobj(source, target, 1 << 20)
            rec.package_path = result.path
            rec.package_name = os.path.basename(result.path.rstrip("/"))
            rec.sha256, rec.files, rec.bytes = result.sha256, result.files, result.bytes
            rec.phase, rec.done = "handing_over", 0
            rec.heartbeat = datetime.now(timezone.utc)

        session.batch(packaged)
        if session.batch(lambda site: _record(site, regno, handover_id).package is not None):
            os.remove(result.path)  # kept in the store now
    finally:
        session.close()
    return resume(db, regno, handover_id, settings, batch, progress)


def _this_worker():
    return f"{socket.gethostname()}:{os.getpid()}"


def _running_elsewhere():
    return RegistryError("HANDOVER_RUNNING", _(
        "Another process is finishing this handover; it can be taken over once it has shown "
        "no progress for 15 minutes."), status=409)


def _take_over(rec, now=None):
    """Claim the record's lease (`worker`, renewed by every batch's `heartbeat`) for this
    process: a handover is finished by one process at a time, on any machine. Raises
    RegistryError (409) when it is not waiting to be finished, or while another process's
    lease holds (it showed progress within STALE)."""
    if rec.status != "building" or rec.phase != "handing_over":
        raise RegistryError("NOT_RESUMABLE", _("This handover is not waiting to be "
                                               "finished."), status=409)
    me = _this_worker()
    if rec.worker != me and not rec.stale(now):
        raise _running_elsewhere()
    rec.worker, rec.heartbeat = me, now or datetime.now(timezone.utc)


def resume(db, regno, handover_id, settings=None, batch=BATCH, progress=None):
    """Steps 3 and 4 (also to finish a handover whose process ended after its package was
    made, on any machine): take over the record's lease, hand the letters over, then close the
    record as `made`; returns its as_json() with the package's `path`."""
    session = _Session(db)
    try:
        session.batch(lambda site: _take_over(_record(site, regno, handover_id)))
        hand_over(db, regno, handover_id, settings, batch, progress)

        def finish(site):
            rec = _record(site, regno, handover_id)
            rec.status, rec.phase = "made", "done"
            rec.finished = datetime.now(timezone.utc)
            site.audit.append(rec.actor, "handover.export", target=path_of(rec), org=regno,
                              detail={"package_id": rec.package_id, "sha256": rec.sha256,
                                      "letters": rec.letters, "outgoing": rec.outgoing,
                                      "incoming": rec.incoming, "year": rec.year,
                                      "series": rec.series,
                                      "record_status": rec.record_status,
                                      "failed_checks": len(rec.failed_checks),
                                      "anomalies": len(rec.anomalies)})
            return {**rec.as_json(), "path": rec.package_path}

        done = session.batch(finish)
    finally:
        session.close()
    seal_pending(db)
    return done


def export(db, request, gate, settings=None, batch=BATCH, progress=None):
    """Steps 1 to 4: returns the Handover's as_json(). Raises RegistryError on a refusal."""
    session = _Session(db)
    try:
        record_id = session.batch(lambda site: start(site, request, settings).__name__)
    finally:
        session.close()
    seal_pending(db)
    return run(db, request.regno, record_id, request.out, gate, settings, batch, progress)


def confirm_receipt(site, actor, record, received_by, received_at=None, note="",
                    settings=None):
    """The archive received the package: who took it, when; audited. Once only."""
    if record.status != "made":
        raise RegistryError("NOT_MADE", _("Only a finished handover can be received."),
                            status=409)
    if record.received:
        raise RegistryError("ALREADY_RECEIVED", _("The archive's receipt is recorded "
                                                  "already."), status=409)
    received_by = _text(received_by, "received_by", required=True)
    when = _act_date(received_at, registry_settings.local_today(settings))
    record.received_by, record.received_at = received_by, when
    record.receipt_note = _text(note, "note")
    record.confirmed_by = actor
    site.audit.append(actor, "handover.receipt", target=path_of(record), org=record.regno,
                      detail={"received_by": received_by, "received_at": when.isoformat(),
                              "note": record.receipt_note})
    return record


def package_dir(settings):
    """Where the web UI's packages go: <data dir>/handovers/."""
    return os.path.join(registry_settings.data_dir(settings), "handovers")


def _version():
    try:
        from importlib.metadata import version

        return version("registry")
    except Exception:  # not installed (running from a checkout)
        return "0.1.0"
