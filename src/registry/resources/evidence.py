"""Preservation evidence the registry keeps beside the letters: the revocation data (CRLs) its
signature checks used, so that a signature can be judged years later as of the time the
registry first accepted it, with the data it had then (`proof_of`); and, when a time-stamping
authority is configured, an RFC 3161 timestamp over each first acceptance (`TimestampStore`):
the file's SHA-256 and the accepting verdict's, proven to exist at the TSA's time.
"""
import hashlib
import json
from datetime import datetime, timedelta

from BTrees.OOBTree import OOBTree
from persistent import Persistent

from registry.signatures.tsa import preservation_imprint
from registry.workflow.engine import object_path


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


def verdict_digest(verdict):
    """SHA-256 (hex) of a verdict as stored (its JSON: keys sorted, no spaces, UTF-8)."""
    text = json.dumps(verdict, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


#: How long a failed timestamp request waits before the next try: doubling from a minute, at
#: most an hour.
RETRY_FIRST, RETRY_MOST = timedelta(minutes=1), timedelta(hours=1)


class TimestampStore(Persistent):
    """The registry's preservation timestamps, by the SHA-256 of the message they cover
    (`registry.signatures.tsa.preservation_imprint`: the file's SHA-256 and the verdict's).

    An entry is asked for in the transaction that accepts the bytes (`ask`), pending until a
    stamper obtains the token after commit (`stamped`) or records a failed try (`failed`, with
    the time of the next). Entries are plain dicts: {"file_sha256", "verdict_sha256", "item",
    "requested_at", "attempts", "next_try", "last_error", "time"}; tokens are kept apart."""

    def __init__(self):
        self._entries = OOBTree()
        self._tokens = OOBTree()
        self._pending = OOBTree()
        self._by_file = OOBTree()

    def ask(self, file_sha256, verdict_sha256, item, now):
        """Record that a timestamp over (file, verdict) is wanted; return its key."""
        key = hashlib.sha256(preservation_imprint(file_sha256, verdict_sha256)).hexdigest()
        if key not in self._entries:
            self._entries[key] = {"file_sha256": file_sha256, "verdict_sha256": verdict_sha256,
                                  "item": item, "requested_at": now.isoformat(), "attempts": 0,
                                  "next_try": now.isoformat(), "last_error": None, "time": None}
            self._pending[key] = True
            self._by_file[file_sha256] = (*self._by_file.get(file_sha256, ()), key)
        return key

    def due(self, now, limit=50):
        """Keys of pending entries whose next try is due at `now` (at most `limit`)."""
        due = []
        for key in self._pending.keys():
            if datetime.fromisoformat(self._entries[key]["next_try"]) <= now:
                due.append(key)
                if len(due) >= limit:
                    break
        return due

    def stamped(self, key, token_der, time):
        self._tokens[key] = KeptData(token_der)
        self._entries[key] = {**self._entries[key], "time": time, "last_error": None}
        self._pending.pop(key, None)

    def failed(self, key, error, now):
        entry = self._entries[key]
        wait = min(RETRY_FIRST * 2 ** entry["attempts"], RETRY_MOST)
        self._entries[key] = {**entry, "attempts": entry["attempts"] + 1,
                              "last_error": error[:300], "next_try": (now + wait).isoformat()}

    def entry(self, key):
        return self._entries.get(key)

    def token(self, key):
        item = self._tokens.get(key)
        return item.data if item is not None else None

    def for_file(self, file_sha256):
        """[(key, entry, token DER or None)] of the timestamps asked for over this file."""
        return [(key, self._entries[key], self.token(key))
                for key in self._by_file.get(file_sha256, ())]

    def pending_count(self):
        return len(self._pending)


def ask_preservation_timestamp(site, item, verdict, now):
    """When `verdict` (as_json, just recorded on `item`) is `item`'s first accepted check of
    its PDF's bytes, ask for a preservation timestamp over them (pending until after commit).
    Returns the key asked for, or None."""
    if not verdict.get("accepted") or verdict.get("context") == "export":
        return None
    earlier = [v for v in item.verdicts[:-1] if v.get("accepted") and v.get("context") != "export"
               and v.get("sha256") == verdict["sha256"]]
    if earlier:
        return None
    return site.timestamps.ask(verdict["sha256"], verdict_digest(verdict), object_path(item),
                               now)
