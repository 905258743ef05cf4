"""Delivery evidence: the receipts the registry issues, signed with its seal, for the events
that matter to a party (see registry.receipts).

A `Receipt` is kept beside the letter or delivery it attests (`item.receipts`, by id): the PDF
receipt, the same facts as JSON, and the seal's detached CMS signature over those JSON bytes,
each a blob. Its id names the event and, for a delivery, the recipient (`sent`,
`1000002-registered`, ...): an event has at most one receipt by construction.

The transaction that makes the event only records that a receipt is wanted (`ReceiptQueue.ask`);
the receipt is made after commit (`registry.receipts.issue_due`), so a failed transaction asks
for none and a replayed one asks for the same id again.
"""
from datetime import datetime, timedelta

from BTrees.OOBTree import OOBTree
from persistent import Persistent
from ZODB.blob import Blob

#: The events receipts are issued for, in the order they happen.
EVENTS = ("sent", "delivered", "registered", "rejected", "withdrawn", "handed_over")
#: How long a failed receipt waits before the next try: doubling from a minute, at most an hour.
RETRY_FIRST, RETRY_MOST = timedelta(minutes=1), timedelta(hours=1)


def _blob(data):
    blob = Blob()
    with blob.open("w") as handle:
        handle.write(data)
    return blob


class Receipt(Persistent):
    """One event's evidence. Immutable once made."""

    def __init__(self, receipt_id, event, time, facts, pdf, json_bytes, signature, locale,
                 issued_at):
        self.id = receipt_id
        self.event = event
        self.time = time  # when the event happened (aware datetime)
        self.facts = facts  # the JSON's content, as a dict
        self.locale = locale
        self.issued_at = issued_at
        self.pdf = _blob(pdf)
        self.json = _blob(json_bytes)
        self.signature = _blob(signature)

    def read(self, part):
        """The bytes of "pdf", "json" or "signature"."""
        with getattr(self, part).open("r") as handle:
            return handle.read()


class Receipts:
    """Mixin for a Letter or Delivery: its receipts by id (None until the first is made)."""

    receipts = None

    def add_receipt(self, receipt):
        if self.receipts is None:
            self.receipts = OOBTree()
        self.receipts[receipt.id] = receipt

    def receipt(self, receipt_id):
        return self.receipts.get(receipt_id) if self.receipts is not None else None

    def receipt_list(self):
        return list(self.receipts.values()) if self.receipts is not None else []


class ReceiptQueue(Persistent):
    """The receipts asked for and not made yet, by key "<item path>#<receipt id>": plain dicts
    {"path", "receipt", "event", "time", "locale", "facts", "requested_at", "attempts",
    "next_try", "last_error"}: the facts as of the event, for the receipt made later."""

    def __init__(self):
        self._pending = OOBTree()

    def ask(self, path, receipt_id, event, time, locale, facts):
        """Record that the receipt `receipt_id` of the item at `path` is wanted (once)."""
        key = f"{path}#{receipt_id}"
        if key not in self._pending:
            self._pending[key] = {"path": path, "receipt": receipt_id, "event": event,
                                  "time": time.isoformat(), "locale": locale, "facts": facts,
                                  "requested_at": time.isoformat(), "attempts": 0,
                                  "next_try": time.isoformat(), "last_error": None}
        return key

    def due(self, now, limit=20):
        """[(key, entry)] of pending receipts whose next try is due at `now`."""
        due = []
        for key, entry in self._pending.items():
            if datetime.fromisoformat(entry["next_try"]) <= now:
                due.append((key, entry))
                if len(due) >= limit:
                    break
        return due

    def entry(self, key):
        return self._pending.get(key)

    def done(self, key):
        self._pending.pop(key, None)

    def failed(self, key, error, now):
        entry = self._pending[key]
        wait = min(RETRY_FIRST * 2 ** entry["attempts"], RETRY_MOST)
        self._pending[key] = {**entry, "attempts": entry["attempts"] + 1,
                              "last_error": error[:300], "next_try": (now + wait).isoformat()}

    def __len__(self):
        return len(self._pending)
