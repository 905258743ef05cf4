"""Failed-login throttling by client address, in memory.

Accounts lock themselves after repeated failures (stored with the account, so every process
sees it); this throttle adds a per-address limit that also covers guessing at unknown logins.
It is per process: behind several processes an address gets that many times the budget.
"""
import threading
import time
from collections import OrderedDict, deque

from zope.interface import Interface


class IAddressThrottle(Interface):
    """The per-process failed-login throttle, registered as a utility."""


class AddressThrottle:
    """At most `limit` failures per address within `window` seconds; remembers `capacity`
    addresses at most (oldest forgotten first), so memory stays bounded under a flood."""

    def __init__(self, limit=20, window=600.0, capacity=10000, clock=time.monotonic):
        self.limit = limit
        self.window = window
        self.capacity = capacity
        self.clock = clock
        self._failures = OrderedDict()
        self._lock = threading.Lock()

    def _recent(self, address, now):
        times = self._failures.get(address)
        if times is None:
            return None
        while times and times[0] <= now - self.window:
            times.popleft()
        return times

    def retry_after(self, address):
        """Seconds until `address` may try again, or 0 if it may try now."""
        with self._lock:
            now = self.clock()
            times = self._recent(address, now)
            if not times or len(times) < self.limit:
                return 0
            return max(1, int(times[0] + self.window - now) + 1)

    def failed(self, address):
        with self._lock:
            now = self.clock()
            times = self._recent(address, now)
            if times is None:
                times = self._failures[address] = deque()
            times.append(now)
            self._failures.move_to_end(address)
            while len(self._failures) > self.capacity:
                self._failures.popitem(last=False)

    def succeeded(self, address):
        with self._lock:
            self._failures.pop(address, None)
