"""Preservation timestamps, obtained after commit.

When the registry first accepts a letter's bytes (signing, sending, registering), the accepting
transaction only *asks* for an RFC 3161 timestamp over the file's SHA-256 and the verdict's
(`registry.resources.evidence.ask_preservation_timestamp`); the token is obtained here, after
that transaction committed, in a transaction of its own. Why after commit: the request never
waits on the TSA's latency or holds its transaction open meanwhile, a request replayed after a
conflict does not ask the TSA twice, and a TSA that is down cannot fail a send or lose a
letter: the entry stays pending, with its last error, and is tried again (after a minute,
doubling to an hour). The token then proves that file and verdict existed at the TSA's time,
seconds after the acceptance it covers.

In the web application a thread of each process does the work: woken after every writing
request (a tween over pyramid_tm) and every `registry.signature.tsa_retry_seconds` (default 60)
for entries due again. `registry timestamps stamp` does it from the command line.
"""
import atexit
import logging
import threading
from datetime import datetime, timezone

import transaction
from ZODB.interfaces import IDatabase
from ZODB.POSException import ConflictError
from zope.interface import Interface

from registry import settings as registry_settings
from registry.audit_sealing import seal_pending
from registry.signatures import default_trust_dir
from registry.signatures.trust import TrustCache
from registry.signatures.tsa import TimestampError, TsaConfig, preservation_imprint, \
    request_token
from registry.store import site_of
from registry.tweens import after_writes

log = logging.getLogger(__name__)


def _now():
    return datetime.now(timezone.utc)


def stamp_due(db, tsa, trust, clock=_now, limit=50):
    """Obtain the timestamps due at `clock()` from `tsa` (a TsaConfig), `trust` being the
    gate's Trust (the TSA's anchors default to it). Returns (stamped, failed) counts; a
    conflict with another stamper leaves the rest to the next round."""
    tm = transaction.TransactionManager(explicit=True)
    conn = db.open(transaction_manager=tm)
    stamped = failed = 0
    try:
        tm.begin()
        store = site_of(conn).timestamps
        due = [(key, store.entry(key)) for key in store.due(clock(), limit)]
        tm.abort()
        if not due:
            return 0, 0
        roots, intermediates = tsa.anchors(trust)
        for key, entry in due:
            message = preservation_imprint(entry["file_sha256"], entry["verdict_sha256"])
            try:
                token, time = request_token(message, tsa, roots,
                                            [*trust.intermediates, *intermediates], trust.crls)
                outcome = None
            except TimestampError as exc:
                outcome = str(exc)
            tm.begin()
            store = site_of(conn).timestamps
            if store.entry(key) is None or store.token(key) is not None:
                tm.abort()  # another stamper got it meanwhile
                continue
            if outcome is None:
                store.stamped(key, token, time)
                site_of(conn).audit.append(
                    "registry:timestamps", "evidence.timestamped", target=entry["item"],
                    org=entry["item"].split("/")[2],
                    detail={"sha256": entry["file_sha256"], "imprint": key, "time": time})
                stamped += 1
            else:
                store.failed(key, outcome, clock())
                failed += 1
                log.warning("preservation timestamp for %s not obtained: %s", entry["item"],
                            outcome)
            tm.commit()
        if stamped:
            seal_pending(db)
        return stamped, failed
    except ConflictError:
        tm.abort()
        log.info("another stamper is at work; leaving the rest to it")
        return stamped, failed
    finally:
        conn.close()


class IStamper(Interface):
    """This process's preservation stamper (registered only when a TSA is configured)."""


class Stamper:
    """Runs `stamp_due` in a thread of this process: when woken, and every `poll` seconds.
    `tick()` runs it at once in the caller's thread (one round at a time)."""

    thread_name = "registry-timestamps"

    def __init__(self, db, tsa, trust_dir, poll=60.0, clock=_now):
        self.db = db
        self.tsa = tsa
        self.trust = TrustCache(trust_dir)
        self.poll = poll
        self.clock = clock
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = None

    def tick(self):
        with self._lock:
            return stamp_due(self.db, self.tsa, self.trust.get(), self.clock)

    def wake(self):
        self._wake.set()

    def _loop(self):
        while not self._stop.is_set():
            self._wake.wait(self.poll)
            self._wake.clear()
            if self._stop.is_set():
                break
            try:
                self.tick()
            except Exception:  # keep stamping alive; the entries stay pending
                log.exception("preservation timestamps: a round failed")

    def start(self):
        self._thread = threading.Thread(target=self._loop, name=self.thread_name, daemon=True)
        self._thread.start()
        return self

    def stop(self):
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(5)


def stamper_tween_factory(handler, registry):
    return after_writes(handler, registry.getUtility(IStamper).wake)


def includeme(config):
    """With a TSA configured, start this process's stamper and wake it after writing
    requests."""
    settings = config.registry.settings
    tsa = TsaConfig.from_settings(settings)
    if tsa is None:
        return
    stamper = Stamper(config.registry.getUtility(IDatabase), tsa, default_trust_dir(settings),
                      poll=registry_settings.tsa_retry_seconds(settings))
    config.registry.registerUtility(stamper.start(), IStamper)
    atexit.register(stamper.stop)
    config.add_tween("registry.preservation.stamper_tween_factory",
                     over="pyramid_tm.tm_tween_factory")
