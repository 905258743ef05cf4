"""Chaining the audit trail's pending records, soon after the transactions that wrote them.

Appends only file records as pending (so that concurrent requests do not contend for the
chain's head); this seals them, in transactions of their own: by a sealer thread in each
serving process (`Sealer`, woken after every writing request, sealing at most once per
`registry.audit.seal_ms`: one commit for the records of every request meanwhile, instead of a
second commit per request), and after every `registry` command. A seal writes the pending
queue (whose concurrent changes merge) and the chain, which requests never write: it never
makes a request conflict. Two sealers at once (two processes) conflict with each other; the
loser tries again after its interval.
"""
import atexit
import logging
import threading
import time

import transaction
from ZODB.interfaces import IDatabase
from ZODB.POSException import ConflictError
from zope.interface import Interface

from registry import settings as registry_settings
from registry.settings import SEAL_MS
from registry.store import site_of
from registry.tweens import after_writes

log = logging.getLogger(__name__)
#: Records sealed in one transaction at most.
SEAL_LIMIT = 5000
#: How often the sealer looks for records other processes left pending (a process that ended
#: before sealing them); its own process's requests wake it at once.
POLL_SECONDS = 5.0


def _seal_once(db, limit=SEAL_LIMIT):
    """Seal up to `limit` pending records in a transaction of its own: (how many, whether it
    lost to a concurrent sealer and sealed nothing)."""
    tm = transaction.TransactionManager(explicit=True)
    conn = db.open(transaction_manager=tm)
    try:
        tm.begin()
        trail = site_of(conn).audit
        if not trail.pending_count():
            tm.abort()
            return 0, False
        sealed = trail.seal(limit)
        tm.commit()
        return sealed, False
    except ConflictError:
        tm.abort()
        log.debug("another process is sealing the audit trail; leaving it to them")
        return 0, True
    finally:
        conn.close()


def seal_pending(db, limit=SEAL_LIMIT):
    """Seal up to `limit` pending audit records; return how many (0 after a conflict)."""
    return _seal_once(db, limit)[0]


class ISealer(Interface):
    """The process's Sealer (a utility), when it seals in a thread."""


class Sealer:
    """Seals the audit trail in a thread of this process: woken by `kick()` after a writing
    request commits, it waits out `interval` seconds since its last seal (so that the records
    of every request committing meanwhile are chained in one transaction), then seals until
    nothing is pending. `stop()` ends the thread and seals what is left."""

    def __init__(self, db, interval=SEAL_MS / 1000, poll_seconds=POLL_SECONDS):
        self.db = db
        self.interval = interval
        self.poll_seconds = poll_seconds
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = None

    def kick(self):
        self._wake.set()

    def start(self):
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="audit-sealer",
                                            daemon=True)
            self._thread.start()

    def _loop(self):
        last = 0.0
        while not self._stop.is_set():
            self._wake.wait(self.poll_seconds)
            pause = last + self.interval - time.monotonic()
            if pause > 0:
                self._stop.wait(pause)
            self._wake.clear()
            try:
                while not self._stop.is_set():
                    sealed, lost = _seal_once(self.db)
                    last = time.monotonic()
                    if lost:
                        self._stop.wait(self.interval)
                    elif sealed < SEAL_LIMIT:
                        break
            except Exception:  # noqa: BLE001  (the records stay pending; the next pass seals)
                log.exception("sealing the audit trail failed; the records stay pending")
                self._stop.wait(self.poll_seconds)

    def stop(self):
        """End the thread, then seal what is pending (once: a concurrent sealer may have it)."""
        if self._thread is None:
            return
        self._stop.set()
        self._wake.set()
        self._thread.join(10)
        self._thread = None
        try:
            seal_pending(self.db)
        except Exception:  # noqa: BLE001  (a closed store at exit: the next process seals)
            log.debug("could not seal the audit trail on stopping", exc_info=True)


def sealing_tween_factory(handler, registry):
    db = registry.getUtility(IDatabase)
    sealer = registry.queryUtility(ISealer)
    return after_writes(handler, sealer.kick if sealer is not None else lambda: seal_pending(db))


def includeme(config):
    settings = config.registry.settings
    if registry_settings.audit_sealer(settings) == "thread":
        sealer = Sealer(config.registry.getUtility(IDatabase),
                        registry_settings.audit_seal_ms(settings) / 1000)
        config.registry.registerUtility(sealer, ISealer)
        sealer.start()
        atexit.register(sealer.stop)
    config.add_tween("registry.audit_sealing.sealing_tween_factory",
                     over="pyramid_tm.tm_tween_factory")
