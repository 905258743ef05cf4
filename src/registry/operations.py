"""Operations on the store: backup and restore, fixity checks, packing.

- **Backup** of a FileStorage while the registry serves it: `repozo` (shipped with ZODB) copies
  Data.fs up to its last committed transaction (incrementally after the first full backup),
  then the blob files are copied. Blob files are immutable and written before their
  transaction commits, so every blob the copied transactions refer to is on disk when the
  copy of Data.fs is taken; copying them afterwards makes a consistent pair (later blobs that
  come along are unreferenced in the copy, and harmless). A backup never deletes a file, so
  an older state can be recovered with its blobs (`restore --date`).
- **Restore** recovers Data.fs with repozo (checking the backup's checksums) into a data
  directory that has no store yet, and copies the blobs beside it.
- **Fixity**: every stored PDF is read again and hashed against the SHA-256 recorded when it
  was stored; a mismatch or a missing blob is reported and audited. A check walks letters in
  key order and commits its position every batch, so it is resumable and holds one batch in
  memory; a claim in the store (a lease) keeps two processes from checking at once. The
  server can run it every `registry.fixity.interval_hours` (off by default).
- **Pack**: the storage's own pack, keeping `days` of history; it removes old object
  revisions and the blob files no object still refers to.
"""
import atexit
import hashlib
import itertools
import logging
import os
import shutil
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import transaction
from persistent import Persistent
from ZODB.interfaces import IDatabase
from ZODB.POSException import ConflictError, POSKeyError
from zope.interface import Interface

from registry import settings as registry_settings
from registry.audit_sealing import seal_pending
from registry.store import EmbeddedStore, site_of

log = logging.getLogger(__name__)

#: Letters checked per transaction by a fixity check.
FIXITY_BATCH = 100
#: How long a fixity check's claim lasts without being renewed (it is renewed every batch).
FIXITY_LEASE = 600
_CHUNK = 1 << 20
#: What reading a stored PDF whose file is gone raises: POSKeyError (ZODB's blob storages),
#: FileNotFoundError (the file removed under a path already known) and AssertionError
#: (RelStorage on PostgreSQL asserts that a blob's row exists, in its mover's download_blob).
BLOB_GONE = (POSKeyError, FileNotFoundError, AssertionError)


class OperationError(Exception):
    """An operation refused: `code` is stable, `message` says why in English (operators)."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code
        self.message = message


# Where the files are ---------------------------------------------------------------------

def storage_files(settings, data_fs=None, blob_dir=None):
    """Return (Data.fs path, blob directory) of the FileStorage the settings name, or of the
    given files (a ZEO server's, on its machine).

    Raises OperationError(STORAGE_NOT_FILE) for a store that is not a FileStorage here (ZEO
    client or RelStorage URIs), and (NO_STORE) when Data.fs does not exist."""
    if data_fs or blob_dir:
        if not (data_fs and blob_dir):
            raise OperationError("FILES_INCOMPLETE", "give both --data-fs and --blob-dir")
        paths = Path(data_fs), Path(blob_dir)
    else:
        uri = registry_settings.zodb_uri(settings)
        if not uri:
            store = EmbeddedStore(registry_settings.data_dir(settings))
            paths = store.data_fs, store.blob_dir
        elif uri.startswith("file://"):
            parts = urlsplit(uri)
            blobs = parse_qs(parts.query).get("blobstorage_dir", [None])[0]
            if not blobs:
                raise OperationError("NO_BLOB_DIR", f"{uri} names no blobstorage_dir")
            paths = Path(unquote(parts.path)), Path(blobs)
        else:
            scheme = uri.split(":", 1)[0]
            raise OperationError(
                "STORAGE_NOT_FILE",
                f"the store is reached by {scheme}://, not as files here: back up a ZEO "
                "server's FileStorage on its machine (--data-fs, --blob-dir), a RelStorage "
                "database with PostgreSQL's tools (see the README)")
    if not paths[0].is_file():
        raise OperationError("NO_STORE", f"no store at {paths[0]}")
    return paths[0].resolve(), paths[1].resolve()


# Backup and restore ----------------------------------------------------------------------

@dataclass
class BackupResult:
    kind: str  # "full", "incremental" or "unchanged" (Data.fs had no new transaction)
    files: list  # the repozo files written
    blobs_copied: int
    blob_bytes: int
    repository: str


def _repozo(*args):
    """Run repozo in this process; raise OperationError(REPOZO_FAILED) with its message."""
    from ZODB.scripts import repozo

    try:
        repozo.main([*args])
    except SystemExit as exc:
        if exc.code not in (None, 0):
            raise OperationError("REPOZO_FAILED", f"repozo: {exc.code}") from None


def _copy_new_files(source, target, progress=None):
    """Copy every file under `source` missing from `target` (blob files never change once
    written; the blob directory's tmp/ is skipped). Returns (files, bytes). Each file is
    written under a temporary name and renamed, so an interrupted copy leaves no torn file."""
    copied = size = 0
    for folder, dirs, files in os.walk(source):
        relative = Path(folder).relative_to(source)
        if relative == Path("."):
            dirs[:] = [d for d in dirs if d != "tmp"]
        dirs.sort()
        for name in sorted(files):
            if name.endswith(".copying"):
                continue
            dest = Path(target) / relative / name
            if dest.exists():
                continue
            dest.parent.mkdir(parents=True, exist_ok=True)
            partial = dest.with_name(name + ".copying")
            try:
                shutil.copy2(Path(folder) / name, partial)
            except FileNotFoundError:
                continue  # a blob of a transaction that aborted meanwhile
            os.replace(partial, dest)
            copied += 1
            size += dest.stat().st_size
            if progress:
                progress(1)
    return copied, size


def backup(data_fs, blob_dir, repository, full=False, progress=None):
    """Back up Data.fs (repozo: full the first time or with `full`, else incremental) and then
    the new blob files into `repository` (made if missing). Safe while the store is served.
    Returns a BackupResult; raises OperationError."""
    repository = Path(repository).resolve()
    fs_dir, blobs_dir = repository / "filestorage", repository / "blobs"
    if repository.exists() and not repository.is_dir():
        raise OperationError("NOT_A_DIRECTORY", f"{repository} is not a directory")
    fs_dir.mkdir(parents=True, exist_ok=True)
    blobs_dir.mkdir(exist_ok=True)
    before = set(os.listdir(fs_dir))
    _repozo("-B", *(["-F"] if full else []), "-f", str(data_fs), "-r", str(fs_dir))
    written = sorted(set(os.listdir(fs_dir)) - before)
    data_files = [n for n in written if n.endswith((".fs", ".deltafs"))]
    kind = ("unchanged" if not data_files
            else "full" if data_files[0].endswith(".fs") else "incremental")
    copied, size = _copy_new_files(blob_dir, blobs_dir, progress)
    return BackupResult(kind, written, copied, size, str(repository))


def restore(repository, data_dir, date=None, progress=None):
    """Recover the store backed up in `repository` (as of `date`, UTC `YYYY-MM-DD[-HH[-MM[-SS]]]`,
    else its newest state) into `data_dir`, which must hold no store. Returns the Data.fs path.
    Raises OperationError (NO_BACKUP, RESTORE_TARGET_EXISTS, REPOZO_FAILED)."""
    repository = Path(repository).resolve()
    fs_dir, blobs_dir = repository / "filestorage", repository / "blobs"
    if not fs_dir.is_dir() or not any(n.endswith(".fs") for n in os.listdir(fs_dir)):
        raise OperationError("NO_BACKUP", f"no registry backup in {repository}")
    store = EmbeddedStore(data_dir)
    if store.exists():
        raise OperationError("RESTORE_TARGET_EXISTS",
                             f"{store.data_fs} exists: restore into a data directory without "
                             "a store (a restore never writes over one)")
    store.prepare()
    _repozo("-R", "-w", "-r", str(fs_dir), "-o", str(store.data_fs),
            *(["-D", date] if date else []))
    if blobs_dir.is_dir():
        _copy_new_files(blobs_dir, store.blob_dir, progress)
    return store.data_fs


# Fixity ----------------------------------------------------------------------------------

class FixityState(Persistent):
    """Where the fixity check is (`cursor`: the last (regno, letter id) checked, None when no
    check is under way), what it found so far, who runs it until when, and the last result."""

    def __init__(self):
        self.cursor = None
        self.started_at = None
        self.checked = 0
        self.problems = 0
        self.claimed_by = None
        self.claimed_until = 0.0
        self.last_finished_at = None
        self.last_result = None


@dataclass
class FixityReport:
    checked: int = 0
    problems: list = field(default_factory=list)  # (path, "mismatch" | "missing")
    resumed: bool = False
    finished: bool = False


def fixity_state(site):
    return site.fixity


def pdf_problem(pdf):
    """Re-hash a StoredPDF's blob: None if it matches its recorded SHA-256, "missing" if its
    file is gone, "mismatch" otherwise. Reads 1 MiB at a time."""
    digest = hashlib.sha256()
    try:
        with pdf.open() as handle:
            for chunk in iter(lambda: handle.read(_CHUNK), b""):
                digest.update(chunk)
    except BLOB_GONE:
        return "missing"
    return None if digest.hexdigest() == pdf.sha256 else "mismatch"


def audit_missing_file(db, actor, path, org, pdf, found_by):
    """Audit (as a fixity check does) that the file of the letter at `path` is missing, found
    by `found_by` (e.g. "download"), in a transaction of its own: the request that found it
    answers an error, so its own transaction is aborted. A conflict is retried (appending
    merges with concurrent appends)."""
    tm = transaction.TransactionManager(explicit=True)
    conn = db.open(transaction_manager=tm)
    try:
        for attempt in tm.attempts(3):
            with attempt:
                site_of(conn).audit.append(actor, "fixity.missing", target=path, org=org,
                                           detail={"sha256": pdf.sha256, "size": pdf.size,
                                                   "found_by": found_by})
    finally:
        conn.close()
    log.error("the stored file of %s is missing (sha256 %s): restore it from a backup "
              "(`registry restore`)", path, pdf.sha256)


def _letters_after(site, cursor):
    """(regno, id, letter) of every outbox letter, in key order, after `cursor`."""
    regno_from, name_from = cursor or (None, None)
    for regno in site.orgs.keys(min=regno_from):
        outbox = site.orgs[regno]["outbox"]
        for name in outbox.keys(min=name_from if regno == regno_from else None):
            if regno == regno_from and name == name_from:
                continue
            yield regno, name, outbox[name]


def count_letters(site):
    return sum(len(org["outbox"]) for org in site.orgs.values())


def run_fixity(db, actor, restart=False, batch=FIXITY_BATCH, progress=None, clock=time.time,
               owner=None):
    """Check every stored PDF (resuming an interrupted check unless `restart`); audit each
    problem and the finished run. Returns a FixityReport.

    Raises OperationError(FIXITY_RUNNING) while another process holds the check's claim.
    `progress(n)` is called after each batch with the letters it checked."""
    owner = owner or f"{os.uname().nodename}:{os.getpid()}:{threading.get_ident()}"
    tm = transaction.TransactionManager(explicit=True)
    conn = db.open(transaction_manager=tm)
    report = FixityReport()
    try:
        with tm:
            state = fixity_state(site_of(conn))
            now = clock()
            if state.claimed_until > now and state.claimed_by != owner:
                raise OperationError(
                    "FIXITY_RUNNING", f"a fixity check is running in {state.claimed_by} "
                    f"(its claim lasts until {_iso(state.claimed_until)})")
            if restart or state.cursor is None:
                state.cursor, state.checked, state.problems = None, 0, 0
                state.started_at = now
            else:
                report.resumed = True
                report.checked = state.checked
            state.claimed_by, state.claimed_until = owner, now + FIXITY_LEASE
        while not _fixity_batch(tm, conn, actor, batch, report, progress, clock, owner):
            conn.cacheMinimize()  # one batch in memory at a time
        report.finished = True
    finally:
        conn.close()
    seal_pending(db)
    return report


def _fixity_batch(tm, conn, actor, batch, report, progress, clock, owner):
    """Check the next `batch` letters in one transaction; return True when none was left."""
    for attempt in tm.attempts(3):
        with attempt:
            site = site_of(conn)
            state = fixity_state(site)
            if state.claimed_by != owner:
                raise OperationError("FIXITY_RUNNING", f"{state.claimed_by} took over the "
                                     "fixity check")
            found, rows = [], list(itertools.islice(_letters_after(site, state.cursor), batch))
            for regno, name, letter in rows:
                pdf = letter.pdf
                if pdf is None or pdf.released:
                    continue
                problem = pdf_problem(pdf)
                if problem:
                    path = f"/orgs/{regno}/outbox/{name}"
                    found.append((path, problem))
                    site.audit.append(actor, f"fixity.{problem}", target=path, org=regno,
                                      detail={"sha256": pdf.sha256, "size": pdf.size})
            now = clock()
            state.checked += len(rows)
            state.problems += len(found)
            state.claimed_until = now + FIXITY_LEASE
            done = len(rows) < batch
            if done:
                result = {"checked": state.checked, "problems": state.problems,
                          "started_at": _iso(state.started_at), "finished_at": _iso(now)}
                site.audit.append(actor, "fixity.check", target="/", detail=result)
                state.last_result, state.last_finished_at = result, now
                state.cursor, state.claimed_by, state.claimed_until = None, None, 0.0
            else:
                state.cursor = rows[-1][:2]
    report.checked += len(rows)
    report.problems.extend(found)
    if progress:
        progress(len(rows))
    return done


def _iso(timestamp):
    if timestamp is None:
        return None
    return datetime.fromtimestamp(timestamp, timezone.utc).isoformat(timespec="seconds")


class IFixitySchedule(Interface):
    """The server's fixity schedule (registered only when `registry.fixity.interval_hours`
    is set)."""


class Schedule:
    """A daemon thread that calls `tick()` every `poll` seconds until `stop()`; a tick that
    fails is logged and the next one tries again. Subclasses define `tick()` and `name`."""

    name = "registry-schedule"

    def __init__(self, poll):
        self.poll = poll
        self._stop = threading.Event()
        self._thread = None

    def tick(self):
        raise NotImplementedError

    def _loop(self):
        while not self._stop.wait(self.poll):
            try:
                self.tick()
            except Exception:  # keep the schedule alive; the next tick tries again
                log.exception("%s: a scheduled run failed", self.name)

    def start(self):
        self._thread = threading.Thread(target=self._loop, name=self.name, daemon=True)
        self._thread.start()

    def stop(self):
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)


class FixitySchedule(Schedule):
    """Runs the fixity check in this process when one is due: `interval` seconds after the
    last finished (or at once when none ever finished, or one was left unfinished). A
    thread calls `tick()` every minute; the store's claim keeps processes from running two
    checks at once."""

    name = "registry-fixity"

    def __init__(self, db, interval, clock=time.time, poll=60.0):
        super().__init__(poll)
        self.db = db
        self.interval = interval
        self.clock = clock

    def due(self):
        conn = self.db.open(transaction_manager=transaction.TransactionManager())
        try:
            state = fixity_state(site_of(conn))
            if state.claimed_until > self.clock():
                return False
            return (state.cursor is not None or state.last_finished_at is None
                    or self.clock() - state.last_finished_at >= self.interval)
        finally:
            conn.transaction_manager.abort()
            conn.close()

    def tick(self):
        """Run a check if one is due; return its FixityReport, or None."""
        if not self.due():
            return None
        try:
            report = run_fixity(self.db, "registry:fixity", clock=self.clock)
        except (OperationError, ConflictError) as exc:
            log.info("scheduled fixity check not run: %s", exc)
            return None
        level = logging.WARNING if report.problems else logging.INFO
        log.log(level, "fixity check: %s letters, %s problems", report.checked,
                len(report.problems))
        return report


def includeme(config):
    """Start the fixity schedule when `registry.fixity.interval_hours` asks for one."""
    interval = registry_settings.fixity_interval(config.registry.settings)
    if not interval:
        return
    schedule = FixitySchedule(config.registry.getUtility(IDatabase), interval)
    config.registry.registerUtility(schedule, IFixitySchedule)
    schedule.start()
    atexit.register(schedule.stop)


# Pack ------------------------------------------------------------------------------------

def pack(db, actor, days):
    """Pack the storage, keeping `days` days of history: older object revisions go, and so do
    blob files that no object kept refers to. Blocks until done; audited."""
    if days < 0:
        raise OperationError("BAD_DAYS", "--days must be 0 or more")
    db.pack(days=days)
    with db.transaction() as conn:
        site_of(conn).audit.append(actor, "store.pack", target="/", detail={"days": days})
    seal_pending(db)
