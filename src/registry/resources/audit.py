"""The audit trail: append-only and hash-chained.

Each sealed record carries the SHA-256 of the previous record's hash and of its own canonical
content, so changing, removing or reordering any record breaks the chain from there on; `verify`
finds the first broken record.

A hash chain is a total order, and a total order is a point every writer would contend for:
appending straight to the chain made any two concurrent requests of the registry conflict. So
an append only files the record as *pending*, under a key of its own (time, process counter,
random part), in a queue whose concurrent changes ZODB merges (`PendingRecords` resolves its
own conflicts: keys are unique, so adds and removals of different transactions never clash);
`seal` then chains the pending records in key order, in a transaction of its own, right after
the request that wrote them (see `registry.audit_sealing`) and before `registry audit verify`.
Pending records are listed with the sealed ones; a record is never lost, only chained a moment
later.

Checkpoints (`Checkpoints`, made by `registry.checkpoints`) anchor the chain outside the store:
its head, sealed and timestamped, kept here and published as files; `recomputed_heads` proves
the chain still leads to them.
"""
import hashlib
import itertools
import json
import secrets
import time
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timezone

from BTrees.IIBTree import IITreeSet
from BTrees.IOBTree import IOBTree
from BTrees.OOBTree import OOBTree
from persistent import Persistent
from pyramid.authorization import Allow

from registry.security import permissions as P
from registry.security.principals import SITE_ADMIN, role_principal

GENESIS = "0" * 64
_counter = itertools.count()


@dataclass(frozen=True)
class AuditRecord:
    seq: int
    time: str
    actor: str
    action: str
    target: str
    org: str
    detail: dict = field(default_factory=dict)
    prev: str = GENESIS
    hash: str = ""

    @property
    def sealed(self):
        return bool(self.hash)

    def content(self):
        """The canonical bytes the hash covers: everything but the hash itself."""
        data = asdict(self)
        data.pop("hash")
        return json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"),
                          default=str).encode("utf-8")

    def computed_hash(self):
        return hashlib.sha256(self.prev.encode("ascii") + self.content()).hexdigest()


class PendingRecords(Persistent):
    """Records not chained yet: {key: AuditRecord}. Small (sealed after every request), and
    safe to change from concurrent transactions."""

    def __init__(self):
        self.items = {}

    def add(self, key, record):
        self.items[key] = record
        self._p_changed = True

    def pop_oldest(self, limit=None):
        """Remove and return up to `limit` (key, record) pairs, oldest key first."""
        keys = sorted(self.items)[:limit]
        popped = [(key, self.items.pop(key)) for key in keys]
        if popped:
            self._p_changed = True
        return popped

    def newest_first(self):
        return [self.items[key] for key in sorted(self.items, reverse=True)]

    def __len__(self):
        return len(self.items)

    def _p_resolveConflict(self, old, committed, mine):
        """Merge two transactions' changes: keys are unique per append, so take everything the
        other committed, plus what this one added, minus what this one removed."""
        before, theirs, ours = old["items"], committed["items"], mine["items"]
        merged = dict(theirs)
        for key in ours.keys() - before.keys():
            merged[key] = ours[key]
        for key in before.keys() - ours.keys():
            merged.pop(key, None)
        return {**committed, "items": merged}


@dataclass(frozen=True)
class Checkpoint:
    """One checkpoint as kept: `number` (1, 2, ... in the store), the signed statement's `seq`,
    `head` and `time`, the seal's detached CMS `signature` (DER), its timestamp's `timestamp`
    (ISO) and the scheduled `interval` it was made for (None: on demand)."""

    number: int
    seq: int
    head: str
    time: str
    signature: bytes = field(repr=False)
    timestamp: str = None
    interval: int = None
    made_by: str = ""

    def statement(self):
        """What the signature covers (see `registry.checkpoints.canonical`)."""
        return {"seq": self.seq, "head": self.head, "time": self.time}


class Checkpoints(Persistent):
    """The audit trail's checkpoints by number, never rewritten; and the scheduled ones'
    bookkeeping: the last interval checkpointed, the current claim, the last failure."""

    def __init__(self):
        self._items = IOBTree()
        self.last_interval = None
        #: (interval, owner, claimed until as a POSIX time) while a process makes one.
        self.claim = None
        self.last_error = None

    def __len__(self):
        return len(self._items)

    def get(self, number):
        return self._items.get(number)

    def add(self, **fields):
        """Keep a new checkpoint (numbered next); return it."""
        number = self._items.maxKey() + 1 if len(self._items) else 1
        checkpoint = Checkpoint(number=number, **fields)
        self._items[number] = checkpoint
        return checkpoint

    def newest(self, limit=20):
        """Up to `limit` checkpoints, newest first."""
        if not len(self._items):
            return []
        newest = self._items.maxKey()
        return [self._items[number] for number in range(newest, max(newest - limit, 0), -1)]


class AuditTrail(Persistent):
    __parent__ = None
    __name__ = None

    def __init__(self):
        self._records = IOBTree()
        self._by_org = OOBTree()
        self._pending = PendingRecords()
        self.head = GENESIS
        self.count = 0
        self.checkpoints = Checkpoints()

    def __acl__(self):
        return [(Allow, role_principal(SITE_ADMIN), (P.VIEW_AUDIT, P.VIEW_CHECKPOINTS)),
                (Allow, role_principal("auditor"), (P.VIEW_AUDIT,))]

    def __len__(self):
        return self.count + self.pending_count()

    def __bool__(self):
        return True

    def pending_count(self):
        return len(self._pending)

    def append(self, actor, action, target="", org="", detail=None, now=None):
        """File a record (pending until sealed) and return it. `detail` must be
        JSON-serialisable plain data and must never hold a secret (passwords, tokens)."""
        now = now or datetime.now(timezone.utc)
        record = AuditRecord(seq=0, time=now.isoformat(), actor=actor or "", action=action,
                             target=target or "", org=org or "", detail=dict(detail or {}),
                             prev="")
        self._pending.add((time.time_ns(), next(_counter), secrets.token_hex(4)), record)
        return record

    def seal(self, limit=None):
        """Chain up to `limit` pending records, oldest first; return how many were sealed."""
        sealed = 0
        for _key, pending in self._pending.pop_oldest(limit):
            seq = self.count + 1
            record = replace(pending, seq=seq, prev=self.head)
            record = replace(record, hash=record.computed_hash())
            self._records[seq] = record
            if record.org:
                self._by_org.setdefault(record.org, IITreeSet()).add(seq)
            self.head = record.hash
            self.count = seq
            sealed += 1
        return sealed

    def get(self, seq):
        return self._records.get(seq)

    def records_of(self, org):
        """The sealed records concerning `org`, oldest first; lazy (seal pending ones first)."""
        for seq in self._by_org.get(org, ()):
            yield self._records[seq]

    def newest(self, start=0, size=50, org=None):
        """Records newest first (pending ones, not chained yet, before the sealed ones), from
        position `start`, at most `size`; only those concerning `org` when given. Returns
        (records, total). Costs O(pending + start + size)."""
        pending = [r for r in self._pending.newest_first() if org is None or r.org == org]
        if org is None:
            seqs = self._records.keys()
            sealed_total = len(self._records)
        else:
            seqs = self._by_org.get(org, IITreeSet()).keys()
            sealed_total = len(self._by_org.get(org, ()))
        out = pending[start:start + size]
        skip = max(0, start - len(pending))
        for index in range(sealed_total - 1 - skip,
                           max(sealed_total - 1 - skip - (size - len(out)), -1), -1):
            out.append(self._records[seqs[index]])
        return out, len(pending) + sealed_total

    def verify(self):
        """Check the whole sealed chain. Return (ok, checked, first_bad_seq, problem)."""
        prev, expected_seq, checked = GENESIS, 1, 0
        for seq, record in self._records.items():
            if seq != expected_seq or record.seq != seq:
                return False, checked, seq, f"sequence gap: expected {expected_seq}, found {seq}"
            if record.prev != prev:
                return False, checked, seq, "previous-hash link broken"
            if record.computed_hash() != record.hash:
                return False, checked, seq, "content does not match its hash"
            prev, expected_seq, checked = record.hash, seq + 1, checked + 1
        if prev != self.head or checked != self.count:
            return False, checked, None, "head of the chain does not match the last record"
        return True, checked, None, ""

    def recomputed_heads(self, seqs):
        """{seq: the head the chain has at record seq}, for each of `seqs`, recomputed from
        record 1 on: each record's hash over its content with the previous *recomputed* hash
        (never the hashes stored), so a chain rewritten consistently from some record on leads
        elsewhere. A seq beyond the chain (or past a missing record) is left out."""
        wanted = set(seqs)
        heads = {0: GENESIS} if 0 in wanted else {}
        last = max(wanted, default=0)
        prev = GENESIS
        for seq in range(1, last + 1):
            record = self._records.get(seq)
            if record is None:
                break
            prev = replace(record, prev=prev).computed_hash()
            if seq in wanted:
                heads[seq] = prev
        return heads
