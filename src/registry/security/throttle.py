"""Failed-login throttling by client address, counted in the store.

Accounts lock themselves after repeated failures (stored with the account); this throttle adds
a per-address limit that also covers guessing at unknown logins. The failures are kept in the
store (`site.sign_in_failures`), so every process and machine counts the same ones: behind
several machines an address gets the budget once, not once per process.

The address is the client's as the proxy in front forwarded it, from proxies listed in
`registry.trusted_proxies` only (`client_address`): a client cannot choose its own address by
sending an X-Forwarded-For header.
"""
import ipaddress
import secrets
import time

from BTrees.OOBTree import OOBTree
from persistent import Persistent
from zope.interface import Interface

#: Expired addresses removed at most per failure.
PRUNE_BATCH = 50


class IAddressThrottle(Interface):
    """The throttle's policy (limit, window, clock), registered as a utility."""


class IJoinThrottle(Interface):
    """The join page's throttle: forms issued and refused uploads per address, counted in
    `site.join_attempts` (registry.join)."""


def _is_trusted(address, proxies):
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in proxies)


def client_address(request, proxies):
    """The client's address: the peer's, unless the peer is a trusted proxy; then the last
    address of X-Forwarded-For that is not a trusted proxy (the one the nearest untrusted hop
    reported: what a client puts first in the header is not believed)."""
    peer = request.remote_addr or ""
    if not proxies or not _is_trusted(peer, proxies):
        return peer
    forwarded = [part.strip() for part in request.headers.get("X-Forwarded-For", "").split(",")]
    for address in reversed([part for part in forwarded if part]):
        if not _is_trusted(address, proxies):
            return address
    return peer


class AddressFailures(Persistent):
    """One address's recent failures: `times`, a tuple of (Unix time, unique part)."""

    def __init__(self):
        self.times = ()

    def _p_resolveConflict(self, old, committed, mine):
        """Failures recorded by two processes at once: keep both; a removal by either
        (expired, or a success) stays removed."""
        before, theirs, ours = set(old["times"]), set(committed["times"]), set(mine["times"])
        merged = (theirs | ours) - (before - theirs) - (before - ours)
        return {**committed, "times": tuple(sorted(merged))}


class FailedSignIns(Persistent):
    """{address: AddressFailures}, with `_expiry` ((expires, address) -> None) so that
    addresses whose failures are all past the window are removed a few at a time."""

    def __init__(self):
        self._by_address = OOBTree()
        self._expiry = OOBTree()

    def __len__(self):
        return len(self._by_address)

    def recent(self, address, since):
        entry = self._by_address.get(address)
        return [t for t, _unique in entry.times if t > since] if entry is not None else []

    def add(self, address, now, window):
        entry = self._by_address.get(address)
        if entry is None:
            entry = self._by_address[address] = AddressFailures()
        elif entry.times:
            self._expiry.pop((entry.times[-1][0] + window, address), None)
        entry.times = tuple(t for t in entry.times if t[0] > now - window) + (
            (now, secrets.token_hex(4)),)
        self._expiry[(now + window, address)] = None

    def clear(self, address):
        entry = self._by_address.pop(address, None)
        if entry is not None and entry.times:
            entry.times = ()

    def prune(self, now, limit=PRUNE_BATCH):
        """Forget up to `limit` addresses whose failures are all older than the window."""
        for expires, address in list(self._expiry.keys(max=(now,), excludemax=True))[:limit]:
            # A newer failure of the address would have replaced this key: all are expired.
            del self._expiry[(expires, address)]
            self._by_address.pop(address, None)


class AddressThrottle:
    """At most `limit` failures per address within `window` seconds, counted in the store's
    FailedSignIns; `clock` returns Unix time (tests move it)."""

    def __init__(self, limit=20, window=600.0, clock=time.time):
        self.limit = limit
        self.window = window
        self.clock = clock

    def retry_after(self, failures, address):
        """Seconds until `address` may try again, or 0 if it may try now."""
        now = self.clock()
        times = failures.recent(address, now - self.window)
        if len(times) < self.limit:
            return 0
        return max(1, int(times[-self.limit] + self.window - now) + 1)

    def failed(self, failures, address):
        now = self.clock()
        failures.add(address, now, self.window)
        failures.prune(now)

    def succeeded(self, failures, address):
        failures.clear(address)
