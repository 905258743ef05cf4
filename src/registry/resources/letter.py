"""Letters and their deliveries.

A Letter lives in its sender's outbox (`/orgs/<regno>/outbox/<id>`); sending it creates one
Delivery in each recipient's inbox (`/orgs/<regno>/inbox/<id>`), pointing at the same Letter and
so at the same stored PDF. Both move through workflows (workflows/letter.toml, delivery.toml);
their ACLs come from their state.

The PDF is a ZODB blob, never a pickle. Listings read from indexes kept by the folders:
`by_state` (state -> (time, id)), `journal` ((year, number) -> id) and the number counters.
"""
import hashlib
import heapq
import secrets
import zlib
from itertools import islice
from datetime import datetime, timezone

from BTrees.Length import Length
from BTrees.OOBTree import OOBTree, OOTreeSet
from persistent import Persistent
from ZODB.blob import Blob

from registry import desk, verification
from registry.resources.folder import Folder
from registry.resources.receipt import Receipts
from registry.search.queue import enqueue
from registry.workflow.engine import Workflowed


def utcnow():
    return datetime.now(timezone.utc)


def new_id(now=None):
    """A letter or delivery id: sortable by time, unguessable enough not to enumerate."""
    now = now or utcnow()
    return f"{now:%Y%m%d%H%M%S}-{secrets.token_hex(4)}"


class StoredPDF(Persistent):
    """A PDF file in a blob, with what we know of it. Immutable once made."""

    def __init__(self, data, filename, uploaded_by, now=None):
        self.blob = Blob()
        with self.blob.open("w") as handle:
            handle.write(data)
        self.size = len(data)
        self.sha256 = hashlib.sha256(data).hexdigest()
        self.filename = filename
        self.uploaded_by = uploaded_by
        self.uploaded_at = now or utcnow()

    #: When the bytes were let go (disposal by every party that kept them), else None.
    released_at = None

    def open(self):
        """A binary file object over the stored bytes (read-only)."""
        return self.blob.open("r")

    @property
    def released(self):
        return self.released_at is not None

    def release(self, now=None):
        """Let the bytes go (the blob is dropped; a pack removes its file); what is known of
        the file (name, size, SHA-256) stays."""
        self.blob = None
        self.released_at = now or utcnow()

    def read(self):
        with self.open() as handle:
            return handle.read()

    def path(self):
        """The committed blob's file path (for a worker process to read), or None before the
        blob is committed."""
        if self.blob is None:
            return None
        try:
            return self.blob.committed()
        except Exception:  # BlobError: uncommitted
            return None

    def as_json(self):
        return {"filename": self.filename, "size": self.size, "sha256": self.sha256,
                "uploaded_by": self.uploaded_by, "uploaded_at": self.uploaded_at.isoformat(),
                "released": self.released_at.isoformat() if self.released_at else None}


class Checked:
    """Keeps every signature check of its PDF: `verdicts`, a tuple of Verdict.as_json() (the
    check at export carries "context": "export" and the package id besides), and where the item
    went at the end of its life: `handed_over_in` (a handover id) or `disposed_in` (a disposal
    act id)."""

    verdicts = ()
    handed_over_in = None
    handed_over_at = None
    disposed_in = None
    disposed_at = None

    def record_verdict(self, verdict_json):
        self.verdicts = self.verdicts + (verdict_json,)

    @property
    def last_verdict(self):
        return self.verdicts[-1] if self.verdicts else None

    @property
    def checked_before_export(self):
        """The last check made in the item's working life (at sending or at receipt)."""
        for verdict in reversed(self.verdicts):
            if verdict.get("context") != "export":
                return verdict
        return None

    @property
    def export_verdict(self):
        """The check made when the item was exported for the archive, else None."""
        for verdict in reversed(self.verdicts):
            if verdict.get("context") == "export":
                return verdict
        return None

    def end_of_life_json(self):
        """Where the item went: {"handed_over": {...}} or {"disposed": {...}} or {}."""
        if self.handed_over_in:
            return {"handed_over": {"handover": self.handed_over_in,
                                    "at": self.handed_over_at.isoformat()}}
        if self.disposed_in:
            return {"disposed": {"act": self.disposed_in, "at": self.disposed_at.isoformat()}}
        return {}


class Letter(Checked, Receipts, Workflowed, Persistent):
    workflow_name = "letter"
    __parent__ = None
    __name__ = None

    def __init__(self, org, created_by, subject="", recipients=(), in_reply_to=None,
                 response_due=None, series="01", now=None):
        self.org = org
        self.created_by = created_by
        self.created = now or utcnow()
        self.subject = subject
        self.recipients = tuple(recipients)
        self.in_reply_to = in_reply_to
        self.response_due = response_due
        self.series = series
        self.pdf = None
        self.state = "draft"
        self.history = ()
        #: Every signature check of this letter's PDF: dicts of Verdict.as_json(), in order.
        self.verdicts = ()
        self.outgoing_number = None
        self.number_year = None
        self.number_seq = None
        self.sent_at = None
        #: recipient regno -> its Delivery
        self.deliveries = OOBTree()

    #: The letters sent in answer to this one (registry.thread keeps it when one is sent).
    replies = ()

    #: An answer to a letter that came on paper leaves on paper: {"name", "address"} of the
    #: addressee it is to be printed and posted to (None for a letter sent only through the
    #: registry).
    post_to = None

    #: Its public verification code (registry.verification), given at sending or when the
    #: registry stamped it on the draft before signing; None before.
    verification_code = None

    def owner_regno(self):
        return self.org

    def as_json(self, request=None):
        data = {
            "id": self.__name__,
            "sender": self.org,
            "post_to": self.post_to,
            "state": self.state,
            "subject": self.subject,
            "recipients": list(self.recipients),
            "in_reply_to": self.in_reply_to,
            "response_due": self.response_due.isoformat() if self.response_due else None,
            "series": self.series,
            "outgoing_number": self.outgoing_number,
            "created": self.created.isoformat(),
            "created_by": self.created_by,
            "sent_at": self.sent_at.isoformat() if self.sent_at else None,
            "verification_code": verification.code_of(self),
            "verification_url": verification.url_of(request, self) if request else None,
            "pdf": self.pdf.as_json() if self.pdf else None,
            "signature": self.last_verdict,
            "signature_at_export": self.export_verdict,
            "deliveries": {regno: d.state for regno, d in self.deliveries.items()},
            "history": [entry.__dict__ for entry in self.history],
            **self.end_of_life_json(),
        }
        if request is not None:
            data = {"@id": request.resource_url(self), "@type": "Letter", **data}
        return data


class Delivery(Checked, Receipts, Workflowed, Persistent):
    workflow_name = "delivery"
    __parent__ = None
    __name__ = None
    #: The file-plan series it was registered in (None until registered).
    series = None

    def __init__(self, letter, recipient, now=None):
        self.letter = letter
        self.recipient = recipient
        self.delivered_at = now or utcnow()
        self.state = "delivered"
        self.history = ()
        self.verdicts = ()
        self.incoming_number = None
        self.number_year = None
        self.number_seq = None
        self.registered_at = None
        self.executor = None
        self.response_due = None
        self.rejection_reason = None

    #: The path of this organisation's letter that answered it, once sent.
    answered_by = None
    #: The desk's Task (registry.resources.task), once the registration opened one.
    task = None

    @property
    def on_paper(self):
        """Registered from a letter that came on paper (a PaperLetter): no signature, a sender
        outside the registry."""
        return isinstance(self.letter, PaperLetter)

    @property
    def sender(self):
        return self.letter.org

    def owner_regno(self):
        return self.recipient

    def as_json(self, request=None):
        letter = self.letter
        data = {
            "id": self.__name__,
            "state": self.state,
            "sender": self.sender,
            "recipient": self.recipient,
            "subject": letter.subject,
            "outgoing_number": letter.outgoing_number,
            "verification_code": verification.code_of(letter),
            "verification_url": verification.url_of(request, letter) if request else None,
            "letter_state": letter.state,
            "delivered_at": self.delivered_at.isoformat(),
            "incoming_number": self.incoming_number,
            "registered_at": self.registered_at.isoformat() if self.registered_at else None,
            "response_due": self.response_due.isoformat() if self.response_due else None,
            "rejection_reason": self.rejection_reason,
            **self.task_json(request),
            "on_paper": self.on_paper,
            "paper": self.letter.paper_json() if self.on_paper else None,
            "pdf": letter.pdf.as_json() if letter.pdf else None,
            "signature_at_receipt": self.checked_before_export,
            "signature_at_export": self.export_verdict,
            "history": [entry.__dict__ for entry in self.history],
            **self.end_of_life_json(),
        }
        if request is not None:
            data = {"@id": request.resource_url(self), "@type": "Delivery",
                    "letter": None if self.on_paper else request.resource_url(letter), **data}
        return data

    def task_json(self, request=None):
        """The desk's fields (registry.desk.task_json), "overdue" judged by the request's
        clock."""
        if request is None:
            return desk.task_json(self.task)
        return desk.task_json(self.task, request, desk.local_today(request),
                              request.root.calendar)


CHANNELS = ("post", "hand", "email", "fax")


class PaperLetter(Checked, Persistent):
    """A letter that came on paper (by post, by hand, by e-mail or fax) from a sender outside
    the registry: what its one Delivery points at in place of a sender's Letter. It carries
    no signature and is in no outbox; its sender is a name and an address, not an
    organisation of the directory (`org` is "")."""

    org = ""
    state = "received"
    in_reply_to = None
    response_due = None
    sent_at = None
    #: The letters sent in answer to it (registry.thread), as a Letter's.
    replies = ()

    def __init__(self, recipient, subject, sender_name, channel, created_by,
                 sender_address="", sender_reference="", sender_date=None, now=None):
        self.recipients = (recipient,)
        self.subject = subject
        self.sender_name = sender_name
        self.sender_address = sender_address
        self.sender_reference = sender_reference
        self.sender_date = sender_date
        self.channel = channel
        self.created_by = created_by
        self.created = now or utcnow()
        self.pdf = None
        self.verdicts = ()
        #: recipient regno -> its Delivery (one)
        self.deliveries = OOBTree()

    @property
    def outgoing_number(self):
        """The sender's own number, as they wrote it."""
        return self.sender_reference or None

    def paper_json(self):
        return {"sender_name": self.sender_name, "sender_address": self.sender_address,
                "sender_reference": self.sender_reference,
                "sender_date": self.sender_date.isoformat() if self.sender_date else None,
                "channel": self.channel}


class StateSet(OOTreeSet):
    """One shard of a mailbox's per-state index: a set of (-microseconds, id) whose concurrent
    changes merge while it fits in one bucket (as these sets do: letters pass through the
    states `signed`, `sent` and `delivered` and leave them).

    A set's concurrent transactions each add items it did not hold and remove items it held,
    and no item is both added by one and removed by the other (an added item was not in the
    set they both started from, a removed one was), so applying both changes gives one result
    in either order: (old | added by either) - removed by either. That is what this resolves
    to. OOTreeSet's own resolution refuses two cases these sets meet all the time: a removal
    of the set's first item (the newest letter of a state is the one sent next) and a set
    emptied (the last letter of a state moving on); both only matter to a tree with parent
    nodes, which a one-bucket set does not have. A set of several buckets (its keys beyond one
    bucket's size) is resolved by OOTreeSet as before, bucket by bucket."""

    def _p_resolveConflict(self, old, committed, mine):
        states = (old, committed, mine)
        if any(state is not None and len(state) != 1 for state in states):
            return super()._p_resolveConflict(old, committed, mine)
        before, theirs, ours = (set(_set_of(state)) for state in states)
        merged = OOTreeSet((before | theirs | ours) - (before - theirs) - (before - ours))
        state = merged.__getstate__()
        if state is not None and len(state) != 1:
            # More than one bucket's worth: not a state a resolution may return.
            return super()._p_resolveConflict(old, committed, mine)
        return state


def _set_of(state):
    """The items of an OOTreeSet state (None: empty)."""
    tree = OOTreeSet()
    if state is not None:
        tree.__setstate__(state)
    return tree.keys()


class Mailbox(Folder):
    """A folder of workflowed items with the indexes their listings read.

    - `by_state`: (state, shard) -> set of (-microseconds since the epoch, id): ascending
      order is newest first, so a page is read from the front lazily. Each state's set is cut
      into SHARDS by the id, and each shard is a `StateSet`, whose concurrent changes merge
      (requests moving different letters through a state do not conflict on it);
    - `state_counts`: state -> Length (counts without walking the sets);
    - `journal`: (year, number) -> id, the register of numbers given;
    - `counters`: (series, year) -> last number given (gap-free: a number is taken in the
      transaction that uses it, so an aborted transaction gives it back);
    - `sent_on`: local date (ISO) -> letters sent that day (the daily limit), a `Length`, so
      that concurrent sends merge their counts (only the day's first sends may clash, making
      the entry); folders made before keep plain numbers for past days (`sent_count`).
    """

    def __init__(self):
        super().__init__()
        self.ensure_indexes()

    def ensure_indexes(self):
        """Create missing indexes (also used by the evolve step for folders made before)."""
        if getattr(self, "by_state", None) is None:
            self.by_state = OOBTree()
            self.state_counts = OOBTree()
            self.journal = OOBTree()
            self.counters = OOBTree()
            self.sent_on = OOBTree()

    SHARDS = 8

    @staticmethod
    def _sort_key(item):
        when = item.created if isinstance(item, Letter) else item.delivered_at
        return (-int(when.timestamp() * 1_000_000), item.__name__)

    def _shard(self, item):
        return zlib.crc32(item.__name__.encode()) % self.SHARDS

    def _index(self, item, state):
        self.by_state.setdefault((state, self._shard(item)), StateSet()).add(
            self._sort_key(item))
        if state not in self.state_counts:
            self.state_counts[state] = Length()
        self.state_counts[state].change(1)

    def _unindex(self, item, state):
        self.by_state[(state, self._shard(item))].remove(self._sort_key(item))
        self.state_counts[state].change(-1)

    def add_item(self, item, now=None):
        """Add a Letter or Delivery under a new id and index it; return it."""
        name = new_id(now)
        while name in self:
            name = new_id(now)
        self.add(name, item)
        self._index(item, item.state)
        enqueue(item)
        return item

    def remove_item(self, item):
        """Take a Letter or Delivery out of this folder and its indexes (the search index drops
        it when the change log is applied); return it."""
        enqueue(item)
        self._unindex(item, item.state)
        return self.remove(item.__name__)

    def state_changed(self, item, old_state):
        """Keep the state indexes in step with a transition (called by the engine)."""
        self._unindex(item, old_state)
        self._index(item, item.state)
        enqueue(item)

    def count(self, states):
        return sum(self.state_counts[s]() for s in states if s in self.state_counts)

    def next_number(self, series, year):
        """Take the next number of `series` in `year` (1, 2, 3 ... without gaps)."""
        key = (series, year)
        number = self.counters.get(key, 0) + 1
        self.counters[key] = number
        return number

    def count_sent(self, day):
        """Count one letter sent on `day` (ISO date)."""
        count = self.sent_on.get(day)
        if isinstance(count, Length):
            count.change(1)
        else:
            self.sent_on[day] = Length((count or 0) + 1)

    def sent_count(self, day):
        """How many letters were sent on `day` (ISO date)."""
        count = self.sent_on.get(day, 0)
        return count() if isinstance(count, Length) else count

    #: The most index entries counted for a total within a date range: past it the total is
    #: given as "at least" (a range counts keys of the state index, never loads an item).
    COUNT_LIMIT = 1000

    def in_state(self, states, start=0, size=25, after=None, since=None, until=None,
                 oldest_first=False):
        """Items in any of `states`, newest first (oldest first with `oldest_first`), from
        `start` — or, given `after` (the id of an item of this folder), from the item that
        follows it; returns (items, total). `since`/`until` (aware datetimes) keep the items
        whose time (a letter's `created`, a delivery's `delivered_at`) is in [since, until).
        Paging from `after` costs O(size) at any depth; from `start`, O(start + size). The
        total comes from the kept counts; within a date range it is counted over the index
        keys, at most COUNT_LIMIT of them (`total_in`)."""
        low, high = self._bounds(since, until)
        floor = self._sort_key(self[after]) if after is not None and after in self else None
        streams = []
        for tree in self._trees(states):
            if oldest_first:
                streams.append(_descending(tree, low, floor or high))
            elif floor is not None and (low is None or floor >= low):
                streams.append(tree.keys(min=floor, max=high, excludemin=True,
                                         excludemax=high is not None))
            else:
                streams.append(tree.keys(min=low, max=high, excludemax=high is not None))
        merged = heapq.merge(*streams, reverse=oldest_first)
        skip = 0 if floor else start
        items = []
        for index, (_when, name) in enumerate(merged):
            if index < skip:
                continue
            if len(items) >= size:
                break
            items.append(self[name])
        total = self.count(states) if low is None and high is None else \
            self.total_in(states, since, until)
        return items, total

    def total_in(self, states, since=None, until=None, limit=None):
        """How many items in `states` have their time in [since, until), counting index keys
        up to `limit` (COUNT_LIMIT by default): a result equal to the limit means "at least"."""
        limit = limit or self.COUNT_LIMIT
        low, high = self._bounds(since, until)
        total = 0
        for tree in self._trees(states):
            keys = tree.keys(min=low, max=high, excludemax=high is not None)
            total += sum(1 for _key in islice(keys, limit - total))
            if total >= limit:
                break
        return total

    def _trees(self, states):
        for state in states:
            for shard in range(self.SHARDS):
                tree = self.by_state.get((state, shard))
                if tree is not None:
                    yield tree

    @staticmethod
    def _bounds(since, until):
        """The index keys bounding [since, until): keys sort newest first, so `until` makes
        the low key and `since` the high one; `(t,)` sorts before every key `(t, id)`."""
        low = (-_micro(until) + 1,) if until is not None else None
        high = (-_micro(since) + 1,) if since is not None else None
        return low, high


def _micro(when):
    return int(when.timestamp() * 1_000_000)


def _descending(tree, low, high):
    """The keys of `tree` in [low, high), largest first, each found by `maxKey` (O(log n)):
    BTrees iterate only upwards, and counting back from the end walks every bucket."""
    key = high
    while True:
        if key is None:
            try:
                found = tree.maxKey()
            except ValueError:
                return
        else:
            # Keys equal to the bound's time but below it, then any earlier time: `(t,)`
            # sorts before every `(t, name)`.
            same = list(tree.keys(min=(key[0],), max=key, excludemax=True)) if len(key) > 1 \
                else []
            if same:
                found = same[-1]
            else:
                try:
                    found = tree.maxKey((key[0],))
                except ValueError:
                    return
                if found >= (key[0],):
                    return
        if low is not None and found < low:
            return
        yield found
        key = found
