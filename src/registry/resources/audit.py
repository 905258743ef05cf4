"""The audit trail: append-only and hash-chained.

Each record carries the SHA-256 of the previous record's hash and its own canonical content, so
changing, removing or reordering any record breaks the chain from there on; `verify` finds the
first broken record. Appends are serialised by ZODB: two transactions appending at once conflict
on the trail's head and one is retried, so the chain never forks.
"""
import hashlib
import json
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone

from BTrees.IOBTree import IOBTree
from BTrees.OOBTree import OOBTree
from BTrees.IIBTree import IITreeSet
from persistent import Persistent
from pyramid.authorization import Allow

from registry.security import permissions as P
from registry.security.principals import SITE_ADMIN, role_principal

GENESIS = "0" * 64


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

    def content(self):
        """The canonical bytes the hash covers: everything but the hash itself."""
        data = asdict(self)
        data.pop("hash")
        return json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"),
                          default=str).encode("utf-8")

    def computed_hash(self):
        return hashlib.sha256(self.prev.encode("ascii") + self.content()).hexdigest()


class AuditTrail(Persistent):
    __parent__ = None
    __name__ = None

    def __init__(self):
        self._records = IOBTree()
        self._by_org = OOBTree()
        self.head = GENESIS
        self.count = 0

    def __acl__(self):
        return [(Allow, role_principal(SITE_ADMIN), (P.VIEW_AUDIT,)),
                (Allow, role_principal("auditor"), (P.VIEW_AUDIT,))]

    def __len__(self):
        return self.count

    def __bool__(self):
        return True

    def append(self, actor, action, target="", org="", detail=None, now=None):
        """Append a record and return it. `detail` must be JSON-serialisable plain data and
        must never hold a secret (passwords, tokens)."""
        now = now or datetime.now(timezone.utc)
        seq = self.count + 1
        record = AuditRecord(seq=seq, time=now.isoformat(), actor=actor or "", action=action,
                             target=target or "", org=org or "", detail=dict(detail or {}),
                             prev=self.head)
        record = AuditRecord(**{**asdict(record), "hash": record.computed_hash()})
        self._records[seq] = record
        if record.org:
            self._by_org.setdefault(record.org, IITreeSet()).add(seq)
        self.head = record.hash
        self.count = seq
        return record

    def get(self, seq):
        return self._records.get(seq)

    def newest(self, start=0, size=50, org=None):
        """Records newest first, from position `start`, at most `size`; only those concerning
        the organisation `org` when given. Costs O(start + size)."""
        if org is None:
            seqs = self._records.keys()
        else:
            seqs = self._by_org.get(org, IITreeSet()).keys()
        total = len(self._records) if org is None else len(self._by_org.get(org, ()))
        out = []
        # BTree key sequences support negative indexing lazily: walk from the end.
        for index in range(total - 1 - start, max(total - 1 - start - size, -1), -1):
            out.append(self._records[seqs[index]])
        return out, total

    def verify(self):
        """Check the whole chain. Return (ok, checked, first_bad_seq, problem)."""
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
