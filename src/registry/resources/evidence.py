"""Preservation evidence the registry keeps beside the letters: the revocation data (CRLs) its
signature checks used, so that a signature can be judged years later as of the time the
registry first accepted it, with the data it had then (`proof_of`).
"""
import hashlib
from datetime import datetime

from BTrees.OOBTree import OOBTree
from persistent import Persistent


class KeptData(Persistent):
    """One kept item's bytes, in a record of its own (a CRL may be large)."""

    def __init__(self, data):
        self.data = bytes(data)


class RevocationStore(Persistent):
    """CRLs by the SHA-256 of their DER bytes: each kept once, however many verdicts name it."""

    def __init__(self):
        self._items = OOBTree()

    def keep(self, der):
        """Keep `der` (if not kept already); return its SHA-256 (hex)."""
        digest = hashlib.sha256(der).hexdigest()
        if digest not in self._items:
            self._items[digest] = KeptData(der)
        return digest

    def get(self, digest):
        """The DER bytes kept under `digest`, or None."""
        item = self._items.get(digest)
        return item.data if item is not None else None

    def __contains__(self, digest):
        return digest in self._items

    def __len__(self):
        return len(self._items)


def proof_of(item, site):
    """The registry's evidence that it accepted the bytes of `item`'s PDF before (`item`: a
    Letter, a Delivery, or None): {"time", "crls"} of the first accepted check of the letter's
    current PDF (at signing, sending or receipt; not an archive export), with the revocation
    data kept then; None when there was none."""
    if item is None:
        return None
    letter = getattr(item, "letter", item)
    pdf = letter.pdf
    candidates = [*letter.verdicts, *(getattr(item, "verdicts", ()) if item is not letter else ())]
    accepted = [v for v in candidates if v.get("accepted") and v.get("context") != "export"
                and pdf is not None and v.get("sha256") == pdf.sha256]
    if not accepted:
        return None
    first = min(accepted, key=lambda v: datetime.fromisoformat(v["checked_at"]))
    store = site.revocation_data
    kept = (store.get(digest) for digest in first.get("evidence", {}).get("revocation_data", ()))
    return {"time": first["checked_at"], "crls": [der for der in kept if der is not None]}


def keep_revocation_data(site, verdict, trust):
    """Keep the CRLs an accepted `verdict` (as_json) was judged with, by digest, so that later
    checks (and the archive) can judge the signature as of then."""
    wanted = set(verdict.get("evidence", {}).get("revocation_data", ()))
    if not verdict.get("accepted") or not wanted:
        return
    for der in trust.crls:
        if hashlib.sha256(der).hexdigest() in wanted:
            site.revocation_data.keep(der)
