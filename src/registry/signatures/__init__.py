"""The signature gate: is this PDF a letter signed exactly once, intact, by a trusted, valid,
unrevoked certificate of the expected organisation?

    gate = Gate.from_settings(settings)
    verdict = gate.verify(pdf_bytes_or_path, expected_regno="2034567")

The only way the registry checks signatures. The checks run in a worker process under a time
and memory budget (see worker.py); the decision is made in checks.py from pyHanko's findings.
"""
import copy
import hashlib
import os
import threading
from collections import OrderedDict
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path

from registry import settings as registry_settings
from registry.signatures.token import TokenConfig
from registry.signatures.trust import (Trust, TrustCache, TrustError, load_anchors,  # noqa: F401
                                       load_trust)
from registry.signatures.truststore import StoreTrust, seed_store
from registry.signatures.tsa import TsaConfig
from registry.signatures.verdict import REASON_MESSAGES, REASONS, Verdict  # noqa: F401
from registry.signatures.worker import run_checks

MIB = registry_settings.MIB


#: The trust directory the settings name (`registry.settings.trust_dir`).
default_trust_dir = registry_settings.trust_dir


@dataclass
class GateConfig:
    trust_dir: str = None
    max_size: int = 25 * MIB
    timeout: float = 4.5
    memory_limit: int = 1024 * MIB
    pades_only: bool = False
    fetch_revocation: bool = False
    workers: int = 2
    tsa_trust: str = None  # a file or folder of the TSA's anchors; None: the trust directory's

    @classmethod
    def from_settings(cls, settings):
        """The gate's configuration the settings give (`registry.settings.signature_gate`)."""
        return cls(**registry_settings.signature_gate(settings))


class VerdictCache:
    """The gate's recent verdicts, in this process only: bounded (`size` entries, least
    recently used dropped first) and short-lived (the key holds the clock's minute, so an entry
    serves only within the minute it was made in; older minutes are dropped on every store).

    A request replayed after a ZODB conflict asks the gate the same question again: the same
    bytes, the same expected organisation, the same evidence time and kept CRLs, the same trust;
    the answer cannot differ within that minute, so it is not worked out twice. Bytes are known
    by their SHA-256; a file path (the application's committed blobs, never rewritten in
    place) by the file's device, inode, size and modification and change times to the
    nanosecond, which any write changes: the worker hashes the file, not the gate."""

    def __init__(self, size=256):
        self.size = size
        self._items = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key):
        with self._lock:
            verdict = self._items.get(key)
            if verdict is None:
                return None
            self._items.move_to_end(key)
        return copy.deepcopy(verdict)

    def put(self, key, verdict, minute=None):
        """Keep `verdict` under `key`; with `minute`, drop the entries of other minutes (keys
        ending in their minute) first."""
        with self._lock:
            for old in [k for k in self._items if minute is not None and k[-1] != minute]:
                del self._items[old]
            self._items[key] = copy.deepcopy(verdict)
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def __len__(self):
        return len(self._items)


class Gate:
    """`clock()` (default: the real time, in UTC) is the time a signature without other
    evidence is judged at; tests move it. Verdicts the checks reached are kept a short while
    (`VerdictCache`) for the same question asked again.

    They are also kept by what they judged (`judgements`, the most recent 1,024): the bytes,
    the expected organisation, the moment the signature was judged at, the revocation data and
    the trust's fingerprint. A signature judged at a given moment with given data is judged
    alike whenever it is asked: sending a letter asks the gate about its bytes as of their
    first acceptance (at signing, `proof_of`), which is the moment the signing check judged
    them at, so while the trust (anchors, intermediates, CRLs) is unchanged the send, and the
    recipient's registration after it, take that check's verdict instead of a second one. A
    revoked certificate (a new CRL), any change to the trust, other kept revocation data or
    another moment is another key: a real check. Never with revocation data fetched online,
    and never for a judgement at a signature timestamp's time (not a moment a later question
    names)."""

    def __init__(self, config, trust=None, clock=None, source=None):
        self.config = config
        self.clock = clock
        self._fixed_trust = trust
        self._cache = (source or TrustCache(config.trust_dir)) if trust is None else None
        self.verdicts = VerdictCache()
        self.judgements = VerdictCache(size=1024)
        self._fingerprinted = (None, None)  # (Trust, its fingerprint)
        self._tsa_roots = _tsa_roots(config.tsa_trust)

    @classmethod
    def from_settings(cls, settings, db=None):
        """The gate the settings describe; with `db`, its trust is the store's
        (`registry.signatures.truststore`), else the trust directory's."""
        config = GateConfig.from_settings(settings)
        if db is None:
            return cls(config)
        return cls(config, source=StoreTrust(db, config.trust_dir))

    def trust(self):
        return self._fixed_trust if self._fixed_trust is not None else self._cache.get()

    def verify(self, source, expected_regno=None, as_of=None):
        """Check a PDF given as bytes or as a file path; return a Verdict (never raises for
        bad input; raises TrustError if the trust directory itself is unreadable).

        `as_of` is the registry's evidence that it accepted these bytes before:
        {"time": ISO time of that first acceptance, "crls": [DER CRLs it used then]}; the
        signature is then judged as of that time (see `registry.resources.evidence.proof_of`).
        Without it, the signature is judged as of now."""
        if isinstance(source, (str, Path)):
            # The worker hashes the bytes it checks, in the same pass as the signature's own
            # digest; until then the file is known by what the file system says of it.
            payload, digest = str(source), ""
            stat = os.stat(payload)
            size = stat.st_size
            known_as = ("file", stat.st_dev, stat.st_ino, size, stat.st_mtime_ns,
                        stat.st_ctime_ns)
        else:
            size, payload = len(source), bytes(source)
            digest = known_as = hashlib.sha256(payload).hexdigest()
        now = self.clock() if self.clock else datetime.now(timezone.utc)
        base = {"checked_at": now.isoformat(), "sha256": digest, "size": size,
                "expected_org": expected_regno}
        if size > self.config.max_size:
            return Verdict.refused("TOO_LARGE", evidence={"max_size": self.config.max_size},
                                   **base)
        current = self.trust()
        minute = now.replace(second=0, microsecond=0).isoformat()
        fingerprint = self._fingerprint(current)
        key = (known_as, expected_regno, *_evidence_key(as_of), fingerprint, minute)
        reused = self.verdicts.get(key)
        if reused is not None:
            reused.evidence["reused_at"] = now.isoformat()
            return reused
        fetch = self.config.fetch_revocation
        asked = None if fetch else _judgement_key(digest, expected_regno, as_of, current,
                                                  fingerprint)
        if asked and not digest:
            # A kept judgement is found by the bytes' digest: a file asked about as of its
            # first acceptance is hashed here (a hit spares the whole check).
            digest = base["sha256"] = _file_sha256(payload)
            asked = (digest, *asked[1:])
        judged = self.judgements.get(asked) if asked else None
        if judged is not None:
            return _as_asked(judged, now, as_of)
        options = {"max_size": self.config.max_size, "pades_only": self.config.pades_only,
                   "fetch": fetch, "sha256": digest or None, "as_of": as_of,
                   # Judged at exactly the time the verdict names (not the worker's clock),
                   # so that the verdict answers a later question about that moment; with
                   # fetching, as the real time (a moment given turns fetching off).
                   "now": now.isoformat() if self.clock or not fetch else None}
        trust = {**current.as_payload(), "tsa_roots": self._tsa_roots}
        verdict = run_checks(payload, expected_regno, trust, options, self.config.timeout,
                             self.config.memory_limit, base, workers=self.config.workers)
        if isinstance(payload, str) and not verdict.sha256:
            # The worker did not answer (TIMEOUT, out of memory, died): the file is hashed
            # here, so that the verdict still names the bytes it is about.
            verdict = replace(verdict, sha256=_file_sha256(payload))
        if "judged" in verdict.evidence:
            # The revocation data this check had: the registry keeps it with a first
            # acceptance (by digest), to judge the signature as of then in later years.
            used = [*trust["crls"], *(as_of or {}).get("crls", ())]
            verdict.evidence["revocation_data"] = sorted(
                {hashlib.sha256(der).hexdigest() for der in used})
        if "elapsed_s" in verdict.evidence:
            # The checks ran to their end (run_checks times only those): a decision about the
            # bytes. A TIMEOUT or a worker that died says nothing about them, and is not kept.
            self.verdicts.put(key, verdict, minute)
            made = None if fetch else _judged_key(verdict, expected_regno, as_of, current,
                                                  fingerprint)
            if made:
                self.judgements.put(made, verdict)
        return verdict

    def _fingerprint(self, trust):
        """SHA-256 over the trust's anchors, intermediates and CRLs (worked out once per
        Trust: the trust cache hands out the same object until a file changes)."""
        known, fingerprint = self._fingerprinted
        if known is not trust:
            digest = hashlib.sha256()
            for der in (*trust.roots, b"|", *trust.intermediates, b"|", *trust.crls):
                digest.update(hashlib.sha256(der).digest())
            fingerprint = digest.hexdigest()
            self._fingerprinted = (trust, fingerprint)
        return fingerprint


def _tsa_roots(tsa_trust):
    """The anchors (DER) signature timestamps must chain to, read once from `tsa_trust` (a
    file or folder); [] when not set: the trust directory's anchors serve."""
    return list(load_anchors(tsa_trust).roots) if tsa_trust else []


def _evidence_key(as_of):
    """(time, CRL digests) of the registry's evidence `as_of`, or (None, ()) without it."""
    if not as_of:
        return None, ()
    return as_of["time"], tuple(hashlib.sha256(der).hexdigest() for der in as_of.get("crls", ()))


def _crl_digests(trust, as_of):
    """The SHA-256s of the CRLs a check with `trust` and evidence `as_of` uses (sorted)."""
    kept = (as_of or {}).get("crls", ())
    return tuple(sorted({hashlib.sha256(der).hexdigest() for der in (*trust.crls, *kept)}))


def _judgement_key(digest, expected_regno, as_of, trust, fingerprint):
    """The `Gate.judgements` key of a question about a moment (`as_of`, the registry's first
    acceptance), or None for a question about now."""
    if not as_of or as_of.get("basis", "first_acceptance") != "first_acceptance":
        return None
    return (digest, expected_regno, as_of["time"], _crl_digests(trust, as_of), fingerprint)


def _judged_key(verdict, expected_regno, as_of, trust, fingerprint):
    """The `Gate.judgements` key of what a completed check judged: the moment it judged the
    signature at (now, or the first acceptance it was given), with the revocation data it had;
    None for a judgement at the signature's timestamp."""
    judged = verdict.evidence.get("judged") or {}
    if judged.get("basis") not in ("now", "first_acceptance"):
        return None
    return (verdict.sha256, expected_regno, judged["at"], _crl_digests(trust, as_of),
            fingerprint)


def _as_asked(verdict, now, as_of):
    """A kept judgement given as the answer to a question about the same moment asked at `now`
    (with the registry's evidence `as_of`): checked now, judged as of the first acceptance,
    saying which check it reuses."""
    evidence = {**verdict.evidence, "reused_from": verdict.checked_at,
                "judged": {"basis": "first_acceptance", "at": as_of["time"],
                           "revocation_kept": len(as_of.get("crls", ()))}}
    return replace(verdict, checked_at=now.isoformat(), evidence=evidence)


def _file_sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def includeme(config):
    """Make the gate available as `request.signature_gate`, the e-Token access (or None) as
    `request.token_config`, and the time-stamping authority (or None) as `request.tsa_config`:
    one each per application, decided at start-up. The gate's trust is the store's."""
    from ZODB.interfaces import IDatabase

    settings = config.get_settings()
    db = config.registry.getUtility(IDatabase)
    seed_store(db, default_trust_dir(settings))
    gate = Gate.from_settings(settings, db=db)
    token = TokenConfig.from_settings(settings)
    tsa = TsaConfig.from_settings(settings)
    config.add_request_method(lambda request: gate, "signature_gate", reify=True)
    config.add_request_method(lambda request: token, "token_config", reify=True)
    config.add_request_method(lambda request: tsa, "tsa_config", reify=True)
