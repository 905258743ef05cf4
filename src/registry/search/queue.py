"""The index queue: search work recorded in ZODB, in the transaction that made the change.

A change to a letter or delivery files its path in `site.search_state.queue` (`enqueue`), in
the same transaction as the change: if that transaction aborts, so does the index work; if the
process dies after commit, the work is still queued. One writer (`registry.search.indexing`)
applies queued work to the index after commit and removes it from the queue in a transaction
of its own. Applying a path twice is harmless: the writer always indexes an item as it is now.

Concurrent requests add entries under keys of their own, and the queue merges their changes
(`PendingRecords` resolves its own conflicts), so indexing adds no conflict between requests.

Also kept here, because the writer makes them once and reuses them:
- `texts`: the text of each stored PDF (by SHA-256: one extraction however many parties keep
  the letter), extracted from its text layer or by OCR;
- `ocr`: PDFs without a text layer, waiting for OCR (sha256 -> paths to reindex after).
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


def new_key():
    """Unique, roughly time-ordered: (nanoseconds, process id, counter, random part)."""
    return (time.time_ns(), os.getpid(), next(_counter), secrets.token_hex(3))


class IndexQueue(PendingRecords):
    """{key: value}, oldest key first; concurrent additions and removals merge."""

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


class TextLayer(Persistent):
    """What was read from one PDF: `text`, `method` ("text", "ocr" or "none"), `pages`,
    `error` (a code, or None)."""

    def __init__(self, text, method, pages=0, error=None):
        self.text = text
        self.method = method
        self.pages = pages
        self.error = error


class SearchState(Persistent):
    def __init__(self):
        self.queue = IndexQueue()
        self.ocr = IndexQueue()
        self.texts = OOBTree()

    def text_of(self, sha256):
        layer = self.texts.get(sha256)
        return layer.text if layer is not None else ""


def enqueue(obj):
    """Queue `obj` (a Letter or Delivery in a mailbox) for indexing, in the current
    transaction. Does nothing for an object not (yet) in the site's tree."""
    state = getattr(find_root(obj), "search_state", None)
    if state is not None:
        state.queue.add(new_key(), object_path(obj))
