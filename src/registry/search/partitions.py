"""One index per organisation, kept open in a bounded cache: what both engines share.

Each organisation's letters live in an index of their own (`<root>/<regno>/`): a search opens
only the searcher's partition, so what it costs grows with that organisation's correspondence,
never with the registry's, and nothing of another organisation can reach its results, counts,
facets or snippets.
"""
import os
import shutil
import threading
from collections import OrderedDict
from zoneinfo import ZoneInfo

from registry.search.parsing import (PARTITION_NAME, TIME_BUDGET, Parser, make_schema,
                                     partition_of, write_lock)


class PartitionedIndex:
    """The partitions under `root`, at most `max_open` of them open at once (least recently
    used closed first). A subclass says how a partition is found (`_exists(path)`) and opened
    (`_open_partition(path)`: an object with `lock`, a threading lock held while it is used,
    and `close()`)."""

    def __init__(self, directory, root, max_open=128, lock_timeout=30.0, zone="UTC",
                 time_budget=TIME_BUDGET):
        self.directory = os.path.abspath(directory)
        self.root = os.path.abspath(root)
        self.zone = ZoneInfo(zone)
        self.time_budget = time_budget
        os.makedirs(self.root, exist_ok=True)
        self.max_open = max_open
        self.lock_timeout = lock_timeout
        self._open = OrderedDict()
        self._guard = threading.Lock()
        self.schema = make_schema()
        self.parser = Parser(self.schema)

    def parse(self, text):
        """The query tree for what a user typed; RegistryError BAD_QUERY if malformed."""
        return self.parser.parse(text)

    def _exists(self, path):
        raise NotImplementedError

    def _open_partition(self, path):
        raise NotImplementedError

    def _path(self, org):
        if not PARTITION_NAME.match(org or ""):
            raise ValueError(f"not an organisation: {org!r}")
        return os.path.join(self.root, org)

    def _partition(self, org, create=True):
        """The open partition of `org`; if there is none on disk, a new one (`create`) or
        None. One another process dropped meanwhile counts as none."""
        with self._guard:
            path = self._path(org)
            part = self._open.get(org)
            if part is not None:
                if os.path.isdir(path):  # (dropping a partition removes its directory)
                    self._open.move_to_end(org)
                    return part
                del self._open[org]
                with part.lock:
                    part.close()
            if not create and not self._exists(path):
                return None
            part = self._open[org] = self._open_partition(path)
            while len(self._open) > self.max_open:
                _org, old = self._open.popitem(last=False)
                with old.lock:
                    old.close()
            return part

    def _forget(self, org):
        with self._guard:
            part = self._open.pop(org, None)
        if part is not None:
            with part.lock:
                part.close()

    def partitions(self):
        return sorted(name for name in os.listdir(self.root)
                      if PARTITION_NAME.match(name)
                      and self._exists(os.path.join(self.root, name)))

    @staticmethod
    def by_partition(documents, removed):
        """{org: ([documents], [removed keys])}."""
        by_org = {}
        for doc in documents:
            by_org.setdefault(doc.org, ([], []))[0].append(doc)
        for key in removed:
            by_org.setdefault(partition_of(key), ([], []))[1].append(key)
        return by_org

    def drop(self, org):
        """Remove partition `org` entirely."""
        path = self._path(org)
        with write_lock(path):
            self._forget(org)
            shutil.rmtree(path, ignore_errors=True)

    def clear(self):
        for org in self.partitions():
            self.drop(org)

    def close(self):
        with self._guard:
            parts = list(self._open.values())
            self._open.clear()
        for part in parts:
            with part.lock:
                part.close()
