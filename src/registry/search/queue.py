"""The search change log: every change that affects search, recorded in ZODB in the
transaction that made it; each machine applies it to its own index.

A change to a letter or delivery records its path (`enqueue`) in `site.search_state.log`, a
`ChangeLog`, in the same transaction as the change: if that transaction aborts, nothing is
recorded; if a process dies after commit, the entry is there. An entry's key is
`(time_ns, unique part)`, taken in a before-commit hook, just before the transaction commits,
so keys follow commit order up to the time a commit takes and the machines' clock skew; the
entries live in an OOBTree, whose buckets merge concurrent insertions of different keys, so
writes in different organisations do not conflict on the log (no counter or list head).

Each machine (`registry.search.indexing.SearchService`) keeps, next to its index, how far it
has applied the log: a *horizon* (every entry older is applied) and the keys it applied since.
It reads every entry from `horizon` on, applies those it has not, and moves the horizon to
`window` seconds before now: an entry that commits late with an earlier key is still read,
as long as its commit took less than the window. Applying an entry indexes the item as it is
*now* (re-read in the applying transaction), so applying one twice, or out of order, never
leaves a stale document. Machines report their horizon in `log.machines`; entries older than
every live machine's horizon are trimmed, and a machine whose horizon is older than the
trimmed part (`log.trimmed_before`) rebuilds its index from the database.

Also kept here, because the writer makes them once and reuses them:
- `texts`: the text of each stored PDF (by SHA-256: one extraction however many parties keep
  the letter), extracted from its text layer or by OCR;
- `ocr`: PDFs without a text layer, waiting for OCR (sha256 -> paths to reindex after), and
  `ocr_claims`: the process OCRing each, until when (one machine OCRs a PDF).
"""
import itertools
import os
import secrets
import time

from BTrees.OOBTree import OOBTree
from persistent import Persistent
from pyramid.traversal import find_root

from registry.resources.audit import PendingRecords
from registry.workflow.engine import object_path

_counter = itertools.count()


def new_key(now_ns=None):
    """Unique, time-ordered: (nanoseconds, "<process id>-<counter>-<random part>")."""
    return (now_ns or time.time_ns(),
            f"{os.getpid():x}-{next(_counter):x}-{secrets.token_hex(3)}")


class IndexQueue(PendingRecords):
    """{key: value}, oldest key first; concurrent additions and removals merge (the OCR
    queue)."""

    def peek(self, limit=None):
        keys = sorted(self.items)[:limit]
        return [(key, self.items[key]) for key in keys]

    def remove(self, keys):
        removed = False
        for key in keys:
            if self.items.pop(key, None) is not None:
                removed = True
        if removed:
            self._p_changed = True


class ChangeLog(Persistent):
    """The search change log: `entries` {(time_ns, unique): path}; `machines` {machine id:
    (horizon_ns, reported_ns, name)}; `trimmed_before` (no entry older is kept); `complete`
    (the log holds every change since the store was made: a new machine may build its index
    from the log alone instead of from the database); `id` (a machine's position belongs to
    one log)."""

    def __init__(self, complete=True):
        self.entries = OOBTree()
        self.machines = OOBTree()
        self.trimmed_before = 0
        self.complete = complete
        self.id = secrets.token_hex(8)

    def add(self, path, now_ns=None):
        self.entries[new_key(now_ns)] = path

    def since(self, start_ns):
        """(key, path) of every entry from `start_ns` on, oldest first."""
        return self.entries.items(min=(start_ns,))

    def paths(self):
        return list(self.entries.values())

    def __len__(self):
        return len(self.entries)

    def trim(self, before_ns):
        """Remove the entries older than `before_ns`; return how many."""
        keys = list(self.entries.keys(max=(before_ns,), excludemax=True))
        for key in keys:
            del self.entries[key]
        if before_ns > self.trimmed_before:
            self.trimmed_before = before_ns
        return len(keys)


def record(log, path):
    """Record `path` in `log` when the current transaction commits (see the module's doc: the
    key is taken then). A log not stored yet records at once."""
    jar = log._p_jar
    if jar is None:
        log.add(path)
        return
    txn = jar.transaction_manager.get()
    try:
        paths = txn.data(log)
    except KeyError:
        paths = []
        txn.set_data(log, paths)
        txn.addBeforeCommitHook(_record_at_commit, (log, paths))
    if path not in paths:
        paths.append(path)


def _record_at_commit(log, paths):
    now = time.time_ns()
    for path in paths:
        log.add(path, now)


class TextLayer(Persistent):
    """What was read from one PDF: `text`, `method` ("text", "ocr" or "none"), `pages`,
    `error` (a code, or None)."""

    def __init__(self, text, method, pages=0, error=None):
        self.text = text
        self.method = method
        self.pages = pages
        self.error = error


class SearchState(Persistent):
    #: Before generation 9 a site had a queue and no log (see evolve).
    log = None

    def __init__(self):
        self.log = ChangeLog()
        self.ocr = IndexQueue()
        #: key of an `ocr` entry -> (process, lease end in Unix time): who is OCRing it.
        self.ocr_claims = OOBTree()
        self.texts = OOBTree()

    def record(self, path):
        """Record a change of the item at `path` in the log, when the transaction commits."""
        if self.log is None:
            # A site being evolved from before generation 9: its log comes now, incomplete
            # (every machine rebuilds its index from the database).
            self.log = ChangeLog(complete=False)
        record(self.log, path)

    def text_of(self, sha256):
        layer = self.texts.get(sha256)
        return layer.text if layer is not None else ""


def enqueue(obj):
    """Record a change of `obj` (a Letter or Delivery in a mailbox) in the search change log,
    in the current transaction. Does nothing for an object not (yet) in the site's tree."""
    state = getattr(find_root(obj), "search_state", None)
    if state is not None:
        state.record(object_path(obj))
