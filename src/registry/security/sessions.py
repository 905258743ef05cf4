"""Server-side sign-in sessions: what a session cookie is worth is decided in the store.

The signed session cookie carries only a random session id (`auth.sid`, beside the login and
the CSRF token); the session itself is a `SessionRecord` in `site.sessions`, so every process
and machine sharing the store agrees on it. Signing out deletes the record: a cookie saved
before is worth nothing afterwards. A password change deletes every record of the account.

A session ends after `registry.session_idle_timeout` seconds without a request (default 30
min) and at the latest `registry.session_timeout` seconds after sign-in (default 8 h),
whatever its use. The idle clock is written at most every `touch_interval` seconds (a few
minutes), never on every request, and each record is its own object whose concurrent touches
merge, so sessions add no contention between requests.

Records of ended sessions are removed a few at a time at each sign-in (`prune`, bounded
work): a record outlives its session by at most the absolute lifetime.
"""
import itertools
import secrets
import time

from BTrees.OOBTree import OOBTree, OOTreeSet
from persistent import Persistent
from zope.interface import Interface

from registry import settings as registry_settings

SESSION_ID_KEY = "auth.sid"
#: Ended sessions removed at most per sign-in.
PRUNE_BATCH = 50


class ISessionPolicy(Interface):
    """The timeouts and the clock of sessions, registered as a utility."""


class SessionPolicy:
    """Idle timeout and absolute lifetime in seconds; `clock` returns Unix time (tests move it)."""

    def __init__(self, idle_timeout=1800, lifetime=28800, clock=time.time):
        if idle_timeout <= 0 or lifetime <= 0:
            raise ValueError("session timeouts must be positive numbers of seconds")
        self.idle_timeout = idle_timeout
        self.lifetime = lifetime
        self.clock = clock

    @classmethod
    def from_settings(cls, settings):
        lifetime, idle_timeout = registry_settings.session_timeouts(settings)
        return cls(idle_timeout=idle_timeout, lifetime=lifetime)

    @property
    def touch_interval(self):
        """How stale the stored idle clock may get: a few minutes, and well within the idle
        timeout (a session idle for `idle_timeout` is then over within this much)."""
        return min(300, max(1, self.idle_timeout // 6))


class SessionRecord(Persistent):
    """One signed-in session: whose, since when, last seen when (Unix times)."""

    def __init__(self, login, now):
        self.login = login
        self.created = now
        self.last_seen = now

    def ended(self, policy, now):
        return (now - self.created >= policy.lifetime
                or now - self.last_seen >= policy.idle_timeout)

    def _p_resolveConflict(self, old, committed, mine):
        """Two requests of one session touched it at once: keep the later touch."""
        return {**committed, "last_seen": max(committed["last_seen"], mine["last_seen"])}


class Sessions(Persistent):
    """Session records by id, with `_by_login` (login -> ids) and `_by_created` ((created,
    id) -> login, oldest first, for pruning)."""

    def __init__(self):
        self._records = OOBTree()
        self._by_login = OOBTree()
        self._by_created = OOBTree()

    def __len__(self):
        return len(self._records)

    def start(self, login, now):
        """Create a session for `login`; return its new random id."""
        sid = secrets.token_urlsafe(32)
        record = SessionRecord(login, now)
        self._records[sid] = record
        self._by_login.setdefault(login, OOTreeSet()).add(sid)
        self._by_created[(record.created, sid)] = login
        return sid

    def check(self, sid, login, policy):
        """Return True if `sid` is a live session of `login`, moving its idle clock when it
        is older than the policy's touch interval. An ended session is removed."""
        record = self._records.get(sid) if isinstance(sid, str) else None
        if record is None or record.login != login:
            return False
        now = policy.clock()
        if record.ended(policy, now):
            self.end(sid)
            return False
        if now - record.last_seen >= policy.touch_interval:
            record.last_seen = now
        return True

    def end(self, sid):
        """Remove the session `sid` (signing out); unknown ids are ignored."""
        record = self._records.pop(sid, None) if isinstance(sid, str) else None
        if record is None:
            return False
        self._by_created.pop((record.created, sid), None)
        ids = self._by_login.get(record.login)
        if ids is not None:
            ids.discard(sid)
            if not ids:
                del self._by_login[record.login]
        return True

    def end_all(self, login):
        """Remove every session of `login`; return how many."""
        ids = list(self._by_login.get(login, ()))
        for sid in ids:
            self.end(sid)
        return len(ids)

    def count_for(self, login):
        return len(self._by_login.get(login, ()))

    def prune(self, policy, limit=PRUNE_BATCH):
        """Remove ended sessions, oldest sign-in first, looking at `limit` records at most;
        return how many were removed. Every session past its lifetime is reached in turn;
        one that ended by idling is removed at its next use or when its turn comes."""
        now = policy.clock()
        removed = 0
        for created, sid in list(itertools.islice(self._by_created.keys(), limit)):
            record = self._records.get(sid)
            if record is not None and not record.ended(policy, now):
                break
            if record is None:
                del self._by_created[(created, sid)]
            else:
                self.end(sid)
            removed += 1
        return removed
