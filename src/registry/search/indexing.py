"""Keeping the search index in step with ZODB, and answering searches with it.

- `documents_for(item)`: the Document of a Letter (the sender's) or a Delivery (a recipient's).
- `SearchService.drain()`: the one writer. Reads queued paths (`registry.search.queue`), indexes
  each item as it is now (extracting its PDF's text once, in a worker process with a budget),
  then removes the entries in a transaction of its own. A crash anywhere leaves the entries
  queued; applying one twice is harmless.
- A background thread drains after writing requests (woken by a tween over pyramid_tm) and
  polls once a second for work queued by other processes (commands, other app servers). It
  commits the index at most once per `search.commit_ms` (250 ms): what every request committed
  meanwhile goes into one index commit per organisation (a Tantivy commit costs an fsync, about
  150 ms under load, and there are about seven writing requests per letter). `flush()` applies
  what is recorded at once, for the few callers that must read their own writes.
- Another thread OCRs PDFs that have no text layer, never inside a request, then queues the
  letters that keep them.
- `reindex` rebuilds every partition from ZODB; `check` lists what is missing or stale.
"""
import atexit
import hashlib
import logging
import os
import socket
import threading
import time

import transaction
from ZODB.interfaces import IDatabase
from ZODB.POSException import ConflictError
from zope.interface import Interface

from registry import settings as registry_settings
from registry.resources.letter import Delivery, Letter
from registry.search import Document, open_index
from registry.search import text as pdftext
from registry.search.position import Position, PositionFile
from registry.search.queue import TextLayer, new_key
from registry.store import site_of
from registry.workflow.engine import object_path
from registry.tweens import after_writes

log = logging.getLogger(__name__)

MAILBOXES = ("outbox", "inbox")
OPEN_STATES = ("delivered", "registered")
DRAIN_BATCH = 200
#: Text extraction outcomes not kept (tried again when the letter is next indexed).
TRANSIENT_ERRORS = ("BUSY", "UNREADABLE")
#: How often the writer looks for changes other processes and machines recorded
#: (`search.poll_seconds`); its own process's changes wake it at once.
POLL_SECONDS = 1.0
#: How often a machine keeps its position and reports it to the log (which trims then).
REPORT_SECONDS = 30
#: How long an OCR job is one process's before another may take it over.
OCR_LEASE_SECONDS = 600


def key_of(path):
    """Document key of an item path: "/orgs/<regno>/inbox/<id>" -> "<regno>/inbox/<id>"."""
    parts = path.strip("/").split("/")
    if len(parts) != 4 or parts[0] != "orgs" or parts[2] not in MAILBOXES:
        return None
    return "/".join(parts[1:])


def resolve(site, key):
    """The Letter or Delivery a document key names, or None."""
    try:
        regno, box, name = key.split("/")
        return site.orgs[regno][box][name] if box in MAILBOXES else None
    except (KeyError, ValueError):
        return None


def stamp_of(document, text_marker):
    """A digest of what the document holds (its text by the PDF's digest and how the text was
    read): it changes exactly when the indexed document would."""
    fields = dict(vars(document), text=text_marker, stamp="")
    return hashlib.sha256(repr(sorted(fields.items())).encode("utf-8")).hexdigest()[:32]


def text_marker(state, pdf):
    """What the document's text is made from: the PDF's digest and how its text was read."""
    if pdf is None:
        return ""
    layer = state.texts.get(pdf.sha256)
    return f"{pdf.sha256}:{layer.method if layer is not None else ''}"


def _party(site, regno):
    org = site.orgs.get(regno)
    return (regno, org.name if org is not None else "")


def documents_for(site, item, text):
    """The Document of a Letter (in its sender's outbox) or a Delivery (in an inbox)."""
    if isinstance(item, Letter):
        letter = item
        org, direction = letter.org, "outgoing"
        when = letter.sent_at or letter.created
        extra = dict(outgoing_number=letter.outgoing_number, executor=None,
                     due=letter.response_due, open=False)
    elif isinstance(item, Delivery):
        letter = item.letter
        org, direction = item.recipient, "incoming"
        when = item.delivered_at
        extra = dict(outgoing_number=letter.outgoing_number,
                     incoming_number=item.incoming_number, executor=item.executor,
                     due=item.response_due or letter.response_due,
                     open=item.state in OPEN_STATES and item.answered_by is None)
    else:
        return None
    document = Document(
        key=key_of(object_path(item)), org=org, direction=direction, subject=letter.subject, text=text,
        sender=_party(site, letter.org),
        recipients=tuple(_party(site, regno) for regno in letter.recipients),
        date=when, state=item.state, **extra)
    document.stamp = stamp_of(document, text_marker(site.search_state, letter.pdf))
    return document


def pdf_of(item):
    letter = item.letter if isinstance(item, Delivery) else item
    return letter.pdf


class SearchService:
    """The index of one process, its writer and its OCR thread."""

    def __init__(self, db, settings, index=None, clock=time.time_ns):
        self.db = db
        self.settings = settings
        engine = registry_settings.search_engine(settings)
        directory = registry_settings.search_directory(settings)
        self.index = index or open_index(directory, engine=engine,
                                         zone=registry_settings.timezone_name(settings))
        self.positions = PositionFile(directory, engine)
        self.clock = clock
        self.window_ns = registry_settings.search_log_window(settings) * 10**9
        self.retention_ns = registry_settings.search_log_retention(settings) * 10**9
        self._reported = 0
        self.poll_seconds = registry_settings.search_poll_seconds(settings)
        self.commit_seconds = registry_settings.search_commit_ms(settings) / 1000
        self.ocr_enabled = registry_settings.search_ocr(settings)
        self._wake = threading.Event()
        self._ocr_wake = threading.Event()
        self._stop = threading.Event()
        self._hurry = threading.Event()
        #: Counts the writer thread's passes that ended with nothing left to apply.
        self._idle = threading.Condition()
        self._idle_passes = 0
        self._drain_lock = threading.Lock()
        self._threads = []

    # Text -----------------------------------------------------------------------------------

    def text_layer(self, state, pdf, paths):
        """The TextLayer of `pdf` (extracted now if it never was); queues OCR if the PDF has
        no text layer. Writes in the caller's transaction."""
        layer = state.texts.get(pdf.sha256)
        if layer is not None:
            return layer
        if getattr(pdf, "released", False):
            return TextLayer("", "none")  # disposed of by every party: no bytes to read
        # In this process's text worker (its own pool: the signature gate never waits for it).
        result = pdftext.extract(pdf.path() or pdf.read())
        wants_ocr = bool(result.needs_ocr and self.ocr_enabled)
        layer = TextLayer(result.text, result.method, result.pages, result.error_code)
        if result.error_code in TRANSIENT_ERRORS:
            return layer  # not kept: the next indexing of the letter tries again
        state.texts[pdf.sha256] = layer
        if wants_ocr:
            state.ocr.add(new_key(), (pdf.sha256, tuple(paths)))
            self._ocr_wake.set()
        return layer

    # The writer -----------------------------------------------------------------------------

    def drain(self, limit=DRAIN_BATCH):
        """Apply up to `limit` entries of the change log this index has not applied; return
        how many were applied (0 if there was nothing to do). An index with no position in
        the log, or one behind the part of the log already trimmed, is rebuilt from the
        database first (see `registry.search.queue`)."""
        with self._drain_lock, self.positions.locked():
            now = self.clock()
            tm = transaction.TransactionManager(explicit=True)
            conn = self.db.open(transaction_manager=tm)
            try:
                tm.begin()
                site = site_of(conn)
                state = site.search_state
                changes = state.log
                position = self.positions.load(changes.id)
                if position is None and changes.complete and not changes.trimmed_before:
                    # A new index of a log that holds every change: apply it from the start.
                    position = Position(changes.id, self.positions.machine_id())
                elif position is None or position.horizon < changes.trimmed_before:
                    log_id = changes.id
                    tm.abort()
                    log.warning("the search index at %s is not in step with the change log: "
                                "rebuilding it from the database", self.positions.directory)
                    return self._rebuild(log_id) or 1
                pending = self._pending(changes, position, limit + 1)
                batch = pending[:limit]
                if not batch:
                    tm.abort()
                    position.advance(now - self.window_ns)
                    self._report(conn, tm, position, now)
                    return 0
                documents, removed, seen = [], [], set()
                for _key, path in batch:
                    if path in seen:
                        continue
                    seen.add(path)
                    try:
                        doc = self._document(site, state, path)
                    except ConflictError:
                        raise
                    except Exception:  # noqa: BLE001  (one bad item must not stall the log)
                        log.exception("cannot index %s; `registry search check` will list it",
                                      path)
                        continue
                    if doc is None:
                        key = key_of(path)
                        if key:
                            removed.append(key)
                    else:
                        documents.append(doc)
                self.index.update(documents, removed)
                tm.commit()  # the texts extracted meanwhile
                position.done.update(key for key, _path in batch)
                horizon = now - self.window_ns
                if len(pending) > limit:
                    horizon = min(horizon, pending[limit][0][0])
                position.advance(horizon)
                self.positions.save(position)
                self._report(conn, tm, position, now)
                return len(batch)
            except ConflictError:
                tm.abort()
                log.debug("a text was stored by another writer meanwhile; applying again later")
                return 0
            except BaseException:
                tm.abort()
                raise
            finally:
                conn.close()

    @staticmethod
    def _pending(changes, position, limit=None):
        """[(key, path)] of the log's entries from the position's horizon on that it has not
        applied, oldest first."""
        found = []
        for key, path in changes.since(position.horizon):
            if key not in position.done:
                found.append((key, path))
                if limit is not None and len(found) >= limit:
                    break
        return found

    def _report(self, conn, tm, position, now):
        """Every REPORT_SECONDS: keep the position, tell the log how far this index got, and
        trim the entries every live machine has applied (or older than the retention)."""
        if now - self._reported < REPORT_SECONDS * 10**9:
            return
        self._reported = now
        self.positions.save(position)
        try:
            tm.begin()
            changes = site_of(conn).search_state.log
            changes.machines[position.machine] = (position.horizon, now, self.positions.name())
            oldest_kept = now - self.retention_ns
            horizons = []
            for machine, (horizon, reported, _name) in list(changes.machines.items()):
                if reported < oldest_kept:
                    del changes.machines[machine]  # gone: it rebuilds if it comes back
                else:
                    horizons.append(horizon)
            trim_to = max(min(horizons), oldest_kept)
            if changes.entries and changes.entries.minKey() < (trim_to,):
                changes.trim(trim_to)
            tm.commit()
        except ConflictError:
            tm.abort()  # another machine reported or trimmed meanwhile: next time
            self._reported = 0

    def _document(self, site, state, path):
        key = key_of(path)
        item = resolve(site, key) if key else None
        if item is None or not self.indexable(item):
            return None
        pdf = pdf_of(item)
        text = self.text_layer(state, pdf, [path]).text if pdf is not None else ""
        return documents_for(site, item, text)

    @staticmethod
    def indexable(item):
        """Disposed items leave the index (their register entry stays in ZODB)."""
        return getattr(item, "state", None) not in ("disposed",)

    def drain_all(self):
        total = 0
        while True:
            done = self.drain()
            total += done
            if not done:
                return total

    # OCR ------------------------------------------------------------------------------------

    def ocr_once(self):
        """OCR one waiting PDF, store its text and queue the letters that keep it; return
        True if one was done."""
        tm = transaction.TransactionManager(explicit=True)
        conn = self.db.open(transaction_manager=tm)
        try:
            tm.begin()
            state = site_of(conn).search_state
            now, owner = time.time(), f"{socket.gethostname()}:{os.getpid()}"
            waiting = [(key, value) for key, value in state.ocr.peek()
                       if state.ocr_claims.get(key, ("", 0))[1] <= now][:1]
            if not waiting:
                tm.abort()
                return False
            key, (sha256, paths) = waiting[0]
            site = site_of(conn)
            pdf = None
            for path in paths:
                item = resolve(site, key_of(path) or "")
                if item is not None and pdf_of(item) is not None:
                    pdf = pdf_of(item)
                    break
            # A lease, so that one process of one machine OCRs it; another takes it over if
            # this one ends before it is done. OCR takes seconds: no transaction meanwhile.
            state.ocr_claims[key] = (owner, now + OCR_LEASE_SECONDS)
            try:
                tm.commit()
            except ConflictError:
                tm.abort()  # another process claimed it (or another entry) meanwhile
                return False
            result = pdftext.ocr(pdf.path() or pdf.read()) if pdf is not None else None
            for attempt in tm.attempts(3):
                with attempt:
                    site = site_of(conn)
                    state = site.search_state
                    if result is not None:
                        state.texts[sha256] = TextLayer(result.text, result.method,
                                                        result.pages, result.error_code)
                    state.ocr.remove([key])
                    state.ocr_claims.pop(key, None)
                    for item in self._keepers(site, paths):
                        state.record(object_path(item))
            self._wake.set()
            return True
        finally:
            conn.close()

    @staticmethod
    def _keepers(site, paths):
        """The letters of `paths` and every delivery of them: all that keep their PDF."""
        seen = {}
        for path in paths:
            item = resolve(site, key_of(path) or "")
            if item is None:
                continue
            letter = item.letter if isinstance(item, Delivery) else item
            for keeper in (letter, *letter.deliveries.values()):
                seen[id(keeper)] = keeper
        return list(seen.values())

    # Threads --------------------------------------------------------------------------------

    def kick(self):
        """Wake the writer (after a commit that may have queued work)."""
        self._wake.set()

    def start(self):
        if self._threads:
            return
        self._threads = [threading.Thread(target=self._writer_loop, name="search-writer",
                                          daemon=True)]
        if self.ocr_enabled:
            self._threads.append(threading.Thread(target=self._ocr_loop, name="search-ocr",
                                                  daemon=True))
        for thread in self._threads:
            thread.start()

    def _writer_loop(self):
        last_commit = 0.0
        while not self._stop.is_set():
            self._wake.wait(self.poll_seconds)
            # Coalesce: wait out the commit interval, so that the changes of every request
            # committing meanwhile go into one index commit (`flush` and `stop` cut it short).
            pause = last_commit + self.commit_seconds - time.monotonic()
            if pause > 0 and not self._hurry.is_set():
                self._hurry.wait(pause)
            self._hurry.clear()
            self._wake.clear()
            if self._stop.is_set():
                break  # what is recorded stays in the log: the next start applies it
            try:
                while self.drain() and not self._stop.is_set():
                    last_commit = time.monotonic()
            except Exception:  # noqa: BLE001  (a bad entry must not stop indexing for good)
                log.exception("indexing failed; the entries stay queued")
                self._stop.wait(POLL_SECONDS)
                continue
            with self._idle:
                self._idle_passes += 1
                self._idle.notify_all()

    def flush(self, timeout=5.0):
        """Apply every change recorded so far now, without waiting out the commit interval;
        return True once applied, False if `timeout` seconds passed first (the changes stay
        recorded and are applied later). For the few callers that must read their own writes:
        in the writer thread's process this waits for its next pass; with `search.writer =
        inline` it applies the log here; with "off" (another process writes this machine's
        index) it cannot, and answers False at once."""
        if not self._threads:
            if registry_settings.search_writer(self.settings) == "off":
                return False
            self.drain_all()
            return True
        deadline = time.monotonic() + timeout
        with self._idle:
            # The pass under way may have read the log before the caller's commit: wait for
            # the one after it.
            target = self._idle_passes + 2
            while self._idle_passes < target:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._hurry.set()
                self._wake.set()
                self._idle.wait(left)
        return True

    def _ocr_loop(self):
        while not self._stop.is_set():
            self._ocr_wake.wait(POLL_SECONDS * 5)
            self._ocr_wake.clear()
            try:
                while self.ocr_once() and not self._stop.is_set():
                    pass
            except Exception:  # noqa: BLE001
                log.exception("OCR failed; the PDF stays queued")
                self._stop.wait(POLL_SECONDS * 5)

    def stop(self):
        self._stop.set()
        self._hurry.set()
        self._wake.set()
        self._ocr_wake.set()
        for thread in self._threads:
            thread.join(10)
        self._threads = []
        self.index.close()

    # Whole-index work ------------------------------------------------------------------------

    def _items(self, site, regno):
        org = site.orgs[regno]
        for box in MAILBOXES:
            for item in org[box].values():
                if self.indexable(item):
                    yield item

    def reindex(self, progress=None, orgs=None):
        """Rebuild the partitions of `orgs` (default: every organisation, and then the index's
        position in the change log) from ZODB, each streamed into a new partition that
        replaces the old one when complete; drop the partitions of organisations no longer
        there. `progress(n)` is called per item. Returns the number of documents indexed."""
        if orgs:
            return self._reindex(progress, orgs)
        with self._drain_lock, self.positions.locked():
            tm = transaction.TransactionManager(explicit=True)
            conn = self.db.open(transaction_manager=tm)
            try:
                tm.begin()
                log_id = site_of(conn).search_state.log.id
                tm.abort()
            finally:
                conn.close()
            return self._rebuild(log_id, progress)

    def _rebuild(self, log_id, progress=None):
        """Rebuild every partition, then keep the position: the log from `window` before the
        rebuild began is applied again (what committed while it read is not missed)."""
        horizon = self.clock() - self.window_ns
        count = self._reindex(progress)
        self.positions.save(Position(log_id, self.positions.machine_id(), horizon))
        self._reported = 0
        return count

    def _reindex(self, progress=None, orgs=None):
        tm = transaction.TransactionManager(explicit=True)
        conn = self.db.open(transaction_manager=tm)
        total = 0
        try:
            tm.begin()
            known = set(site_of(conn).orgs.keys())
            tm.abort()
            for regno in (list(orgs) if orgs else sorted(known)):
                tm.begin()
                site = site_of(conn)
                before = len(site.search_state.texts)
                count = self.index.rebuild(regno, self._documents(site, regno, progress))
                if not count:
                    self.index.drop(regno)
                total += count
                if len(site.search_state.texts) == before:
                    tm.abort()
                    continue
                try:
                    tm.commit()  # keep the texts extracted meanwhile
                except ConflictError:
                    tm.abort()  # they will be extracted again when next needed
            if not orgs:
                for regno in self.index.partitions():
                    if regno not in known:
                        self.index.drop(regno)
        except BaseException:
            tm.abort()
            raise
        finally:
            conn.close()
        return total

    def _documents(self, site, regno, progress):
        state = site.search_state
        for item in self._items(site, regno):
            pdf = pdf_of(item)
            path = object_path(item)
            text = self.text_layer(state, pdf, [path]).text if pdf is not None else ""
            yield documents_for(site, item, text)
            if progress:
                progress(1)

    def check(self, progress=None):
        """Compare this machine's index with ZODB: {"missing": [...], "stale": [...],
        "orphaned": [...], "queued": n}. Items with entries in the change log this index has
        not applied yet are counted as queued, not as missing or stale."""
        tm = transaction.TransactionManager(explicit=True)
        conn = self.db.open(transaction_manager=tm)
        report = {"missing": [], "stale": [], "orphaned": [], "queued": 0, "documents": 0}
        try:
            tm.begin()
            site = site_of(conn)
            changes = site.search_state.log
            position = self.positions.load(changes.id) or Position(changes.id, "")
            queued = {key_of(path) for _key, path in self._pending(changes, position)}
            report["queued"] = len(queued)
            known = set()
            for regno in site.orgs.keys():
                known.add(regno)
                indexed = self.index.keys(regno)
                expected = {}
                for item in self._items(site, regno):
                    expected[key_of(object_path(item))] = documents_for(site, item, "").stamp
                    if progress:
                        progress(1)
                report["documents"] += len(indexed)
                for key, stamp in expected.items():
                    if key in queued:
                        continue
                    if key not in indexed:
                        report["missing"].append(key)
                    elif indexed[key] != stamp:
                        report["stale"].append(key)
                report["orphaned"].extend(k for k in indexed if k not in expected)
            for regno in self.index.partitions():
                if regno not in known:
                    report["orphaned"].extend(self.index.keys(regno))
            tm.abort()
        finally:
            conn.close()
        return report

    def requeue(self, keys):
        """Record the items keyed `keys` (from `check`) in the change log again."""
        tm = transaction.TransactionManager()
        conn = self.db.open(transaction_manager=tm)
        try:
            for attempt in tm.attempts(5):
                with attempt:
                    state = site_of(conn).search_state
                    for key in keys:
                        state.record("/orgs/" + key)
        finally:
            conn.close()
        self.kick()


# Wiring into the web application -------------------------------------------------------------

class ISearchService(Interface):
    """The process's SearchService (a utility)."""


def indexing_tween_factory(handler, registry):
    service = registry.getUtility(ISearchService)
    if registry_settings.search_writer(registry.settings) != "inline":
        return after_writes(handler, service.kick)

    def drain():
        try:
            service.drain_all()
        except Exception:  # noqa: BLE001  (the change is committed; its entries stay queued)
            log.exception("indexing after the request failed; the entries stay queued")

    return after_writes(handler, drain)


def includeme(config):
    """`search.writer`: "thread" (default: a writer thread in this process, woken after each
    writing request), "inline" (drain right after each writing request: tests), "off" (this
    process never writes the index: another one does)."""
    settings = config.registry.settings
    mode = registry_settings.search_writer(settings)
    service = SearchService(config.registry.getUtility(IDatabase), settings)
    config.registry.registerUtility(service, ISearchService)
    config.add_request_method(lambda request: request.registry.getUtility(ISearchService),
                              "search_service", reify=True)
    config.add_tween("registry.search.indexing.indexing_tween_factory",
                     over="pyramid_tm.tm_tween_factory")
    if mode == "thread":
        service.start()
        atexit.register(service.stop)
