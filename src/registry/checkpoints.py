"""Audit checkpoints: the audit chain's head, sealed and timestamped, kept and published.

The audit trail is hash-chained (`registry.resources.audit`), but a chain kept only in the
store proves nothing against someone who can write to the store: they could rewrite it from
any record on and recompute every hash after it. A checkpoint anchors it outside: the chain's
head (its last record's sequence number and hash, and the time it was read) signed with the
registry's seal (a detached CMS, `registry.seal.sign_detached`, in a worker process) with a
signature timestamp from the configured RFC 3161 authority. It is kept in the store (a list
nothing rewrites), written as a self-contained file into `registry.audit.checkpoint_dir`
(default `<data dir>/checkpoints`) for the operator to publish or ship, and mailed to
`registry.audit.checkpoint_mail_to` when set (with mail on). `registry audit verify
--checkpoint FILE...` checks each file's seal and timestamp, then recomputes the chain from
record 1 up to each checkpoint's record and compares it with the signed head.

The file (`registry-audit-checkpoint/1`) is JSON:

    {"format": "registry-audit-checkpoint/1",
     "checkpoint": {"seq": 120, "head": "<hex SHA-256>", "time": "<ISO 8601, UTC>"},
     "signature": "<base64 DER CMS SignedData, detached>"}

The signature covers the canonical bytes of "checkpoint" (JSON, keys sorted, no spaces, UTF-8).

The web process makes one every `registry.audit.checkpoint_interval` (default daily; intervals
start at midnight in the registry's time zone), in a thread, without blocking requests. Every
process may try; the first to *claim* an interval in the store makes its checkpoint (two claims
of one interval conflict, and the loser leaves it), so each interval has one checkpoint however
many processes or machines share the store. A claim whose process died expires after
`CLAIM_SECONDS`, and another process makes that interval's checkpoint.
"""
import base64
import json
import logging
import os
import secrets
import socket
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import transaction
from ZODB.POSException import ConflictError
from zope.interface import Interface

from registry import settings as registry_settings
from registry.audit_sealing import seal_pending
from registry.notifications import IPostman
from registry.operations import Schedule
from registry.seal import SealConfig, SealError, sign_detached
from registry.signatures.tsa import TsaConfig, token_time_and_imprint
from registry.store import site_of

log = logging.getLogger(__name__)

FORMAT = "registry-audit-checkpoint/1"
ACTOR = "registry:checkpoints"
CLAIM_SECONDS = 600


class CheckpointError(Exception):
    """A checkpoint cannot be made: `code` says why (NO_SEAL, NO_TSA, or the seal's
    TSA_UNAVAILABLE, TIMEOUT, SEAL_FAILED); the message holds no secret."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code


def interval_of(now, interval, settings):
    """The number of the interval `now` falls in: intervals of `interval` seconds counted from
    the Unix epoch in the registry's time zone (a day starts at local midnight)."""
    offset = now.astimezone(registry_settings.zone(settings)).utcoffset().total_seconds()
    return int((now.timestamp() + offset) // interval)


# What is kept ------------------------------------------------------------------------------

def canonical(statement):
    """The bytes a checkpoint's signature covers."""
    return json.dumps(statement, sort_keys=True, ensure_ascii=False,
                      separators=(",", ":")).encode("utf-8")


def file_bytes(checkpoint):
    """The checkpoint file's content (bytes): self-contained."""
    document = {"format": FORMAT, "checkpoint": checkpoint.statement(),
                "signature": base64.b64encode(checkpoint.signature).decode("ascii")}
    return (json.dumps(document, indent=1) + "\n").encode("utf-8")


def filename(checkpoint):
    return f"audit-checkpoint-{checkpoint.number:06d}.json"


# Making one --------------------------------------------------------------------------------

def seal_signature(data, settings):
    """Sign `data` with the registry's seal: a detached CMS with a signature timestamp from the
    configured TSA (both required), made in a worker process. Raises CheckpointError."""
    seal = SealConfig.from_settings(settings)
    if seal is None:
        raise CheckpointError("NO_SEAL", "the registry's seal is not configured "
                                         "(registry.seal.cert and its key)")
    tsa = TsaConfig.from_settings(settings)
    if tsa is None:
        raise CheckpointError("NO_TSA", "no time-stamping authority is configured "
                                        "(registry.signature.tsa_url)")
    try:
        return sign_detached(data, seal, tsa=tsa)
    except SealError as exc:
        raise CheckpointError(exc.code, f"the seal could not sign the checkpoint: {exc}") \
            from None


def signature_timestamp(signature):
    """The genTime (ISO) of the signature timestamp inside a CMS `signature`, or None."""
    from asn1crypto import cms

    signed = cms.ContentInfo.load(signature)["content"]
    for signer in signed["signer_infos"]:
        for attribute in signer["unsigned_attrs"] or ():
            if attribute["type"].native == "signature_time_stamp_token":
                return token_time_and_imprint(attribute["values"][0].dump())[0]
    return None


def _owner():
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


def _claim(db, interval, now):
    """Claim `interval` for this process; return the owner token, or None when it is done or
    another process holds it (a concurrent claim conflicts: one wins)."""
    tm = transaction.TransactionManager(explicit=True)
    conn = db.open(transaction_manager=tm)
    try:
        tm.begin()
        kept = site_of(conn).audit.checkpoints
        held = kept.claim
        if (kept.last_interval is not None and kept.last_interval >= interval) or (
                held is not None and held[0] == interval and held[2] > now.timestamp()):
            tm.abort()
            return None
        owner = _owner()
        kept.claim = (interval, owner, now.timestamp() + CLAIM_SECONDS)
        tm.commit()
        return owner
    except ConflictError:
        tm.abort()
        log.info("another process is making the checkpoint of interval %s", interval)
        return None
    finally:
        conn.close()


def _release(db, owner, error):
    tm = transaction.TransactionManager()
    conn = db.open(transaction_manager=tm)
    try:
        for attempt in tm.attempts(3):
            with attempt:
                kept = site_of(conn).audit.checkpoints
                if kept.claim is not None and kept.claim[1] == owner:
                    kept.claim = None
                kept.last_error = error
    finally:
        conn.close()


def make_checkpoint(db, settings, actor=ACTOR, clock=None, interval=None, postman=None):
    """Seal the pending audit records, then sign the chain's head, keep the checkpoint, write
    its file and mail it (after commit). With `interval`, only if no process made or is making
    that interval's checkpoint. Returns (Checkpoint, file path), or None when the interval is
    another's or done; the path is None when the file could not be written (logged). Raises
    CheckpointError (a claimed interval is released to be tried again)."""
    now = (clock or (lambda: datetime.now(timezone.utc)))()
    owner = None
    if interval is not None:
        owner = _claim(db, interval, now)
        if owner is None:
            return None
    seal_pending(db)
    tm = transaction.TransactionManager()
    conn = db.open(transaction_manager=tm)
    try:
        tm.begin()
        trail = site_of(conn).audit
        statement = {"seq": trail.count, "head": trail.head,
                     "time": now.isoformat(timespec="seconds")}
        tm.abort()
        try:
            signature = seal_signature(canonical(statement), settings)
        except CheckpointError as exc:
            if owner is not None:
                _release(db, owner, f"{now.isoformat(timespec='seconds')}: {exc}")
            raise
        for attempt in tm.attempts(5):
            with attempt:
                checkpoint = _keep(site_of(conn), statement, signature, interval, owner,
                                   actor, settings, postman)
    finally:
        conn.close()
    if checkpoint is None:
        log.warning("the claim on checkpoint interval %s expired before its checkpoint was "
                    "made; it is left to the process that holds it now", interval)
        return None
    seal_pending(db)
    target = registry_settings.checkpoint_dir(settings) / filename(checkpoint)
    try:
        return checkpoint, write_file(checkpoint, target)
    except OSError as exc:  # kept in the store all the same: the audit page offers it
        log.error("audit checkpoint %s is kept, but its file could not be written to %s: %s",
                  checkpoint.number, target, exc.strerror)
        return checkpoint, None


def _keep(site, statement, signature, interval, owner, actor, settings, postman):
    """Keep the signed checkpoint in the store, audited (and mailed on commit); return it. None
    when the claim on `interval` is no longer `owner`'s (it expired and another process took
    it)."""
    kept = site.audit.checkpoints
    if owner is not None and (kept.claim is None or kept.claim[1] != owner):
        return None
    stamped = signature_timestamp(signature)
    checkpoint = kept.add(seq=statement["seq"], head=statement["head"], time=statement["time"],
                          signature=signature, timestamp=stamped, interval=interval,
                          made_by=actor)
    if owner is not None:
        kept.claim, kept.last_interval, kept.last_error = None, interval, None
    site.audit.append(actor, "audit.checkpoint", target="/audit", detail={
        "number": checkpoint.number, "seq": checkpoint.seq, "head": checkpoint.head,
        "timestamp": stamped})
    if postman is not None:
        _mail(postman, site, settings, checkpoint)
    return checkpoint


def write_file(checkpoint, path):
    """Write `checkpoint`'s file at `path` (atomically; its folder made if need be); return the
    path. Raises OSError."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.{secrets.token_hex(4)}")
    partial.write_bytes(file_bytes(checkpoint))
    os.replace(partial, target)
    return target


def _mail(postman, site, settings, checkpoint):
    """Mail the checkpoint file to the configured address; it leaves when the checkpoint's
    transaction commits."""
    from pyramid_mailer.message import Attachment, Message

    address = registry_settings.checkpoint_mail_to(settings)
    if not address:
        return
    body = (f"Audit checkpoint {checkpoint.number}: record {checkpoint.seq}, head "
            f"{checkpoint.head}, made {checkpoint.time}, timestamped {checkpoint.timestamp}.\n"
            f"Check it with: registry audit verify --checkpoint {filename(checkpoint)}\n")
    message = Message(subject=f"Registry audit checkpoint {checkpoint.number}",
                      recipients=[address], body=body,
                      attachments=[Attachment(filename(checkpoint), "application/json",
                                              file_bytes(checkpoint))])
    postman.mailer.bind(transaction_manager=site._p_jar.transaction_manager).send(message)


# Verifying ---------------------------------------------------------------------------------

class NotACheckpoint(ValueError):
    """The file is not a checkpoint file (its message says why)."""


@dataclass
class CheckpointCheck:
    """What checking one checkpoint file found: `problems` (codes with messages) empty when its
    seal, timestamp and (after `check_chain`) the chain all hold."""

    name: str
    statement: dict
    signer: str = None
    timestamp: str = None
    problems: list = field(default_factory=list)
    chain_checked: bool = False

    @property
    def ok(self):
        return not self.problems


def read_file(data):
    """(statement, signature DER) from a checkpoint file's bytes. Raises NotACheckpoint."""
    try:
        document = json.loads(data)
    except (UnicodeDecodeError, ValueError):
        raise NotACheckpoint("not JSON") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise NotACheckpoint(f"not a {FORMAT} file")
    statement = document.get("checkpoint")
    if not (isinstance(statement, dict) and set(statement) == {"seq", "head", "time"}
            and isinstance(statement["seq"], int) and statement["seq"] >= 0
            and isinstance(statement["head"], str) and isinstance(statement["time"], str)):
        raise NotACheckpoint('"checkpoint" must hold exactly seq, head and time')
    try:
        signature = base64.b64decode(document.get("signature") or "", validate=True)
    except ValueError:
        raise NotACheckpoint('"signature" is not base64') from None
    return statement, signature


def check_signature(name, statement, signature, seals, trust, tsa_anchors):
    """Check that `signature` is the registry's seal (one of the DER certificates `seals`:
    the current one, and earlier ones after a renewal), valid and
    chaining to `trust` (the gate's Trust), over `statement`, with a signature timestamp by a
    TSA chaining to `tsa_anchors` ((roots, intermediates) DER). Returns a CheckpointCheck."""
    import asyncio

    from asn1crypto import cms
    from asn1crypto import crl as asn1_crl
    from asn1crypto import x509 as asn1_x509
    from pyhanko.sign.validation.generic_cms import async_validate_detached_cms
    from pyhanko_certvalidator import ValidationContext

    check = CheckpointCheck(name, statement)

    def context(roots, intermediates):
        return ValidationContext(
            trust_roots=[asn1_x509.Certificate.load(der) for der in roots],
            other_certs=[asn1_x509.Certificate.load(der) for der in intermediates],
            crls=[asn1_crl.CertificateList.load(der) for der in trust.crls],
            allow_fetching=False, revocation_mode="soft-fail")

    try:
        signed = cms.ContentInfo.load(signature)
        if signed["content_type"].native != "signed_data":
            raise ValueError("not SignedData")
        status = asyncio.run(async_validate_detached_cms(
            canonical(statement), signed["content"],
            signer_validation_context=context(trust.roots, trust.intermediates),
            ts_validation_context=context(tsa_anchors[0],
                                          [*trust.intermediates, *tsa_anchors[1]])))
    except Exception as exc:  # noqa: BLE001  (anything a forged file makes pyHanko raise)
        check.problems.append(("SIGNATURE_INVALID",
                               f"the signature cannot be read ({type(exc).__name__})"))
        return check
    check.signer = status.signing_cert.subject.human_friendly
    if not (status.intact and status.valid):
        check.problems.append(("SIGNATURE_INVALID",
                               "the signature does not match the checkpoint"))
    elif not status.trusted:
        check.problems.append(("UNTRUSTED_SIGNER",
                               "the signer's certificate does not chain to a trusted CA"))
    if status.signing_cert.dump() not in seals:
        check.problems.append(("NOT_THE_SEAL",
                               f"signed by {check.signer}, not by the registry's seal"))
    stamp = status.timestamp_validity
    if stamp is None:
        check.problems.append(("NO_TIMESTAMP", "the signature has no timestamp"))
    elif not (stamp.intact and stamp.valid and stamp.trusted):
        check.problems.append(("TIMESTAMP_INVALID",
                               "the signature's timestamp is not valid or not trusted"))
    else:
        check.timestamp = stamp.timestamp.isoformat()
    return check


def chain_seqs(checks):
    """The records whose recomputed heads `check_chain` needs: those of the signed checks."""
    return {check.statement["seq"] for check in checks if check.ok}


def check_chain(checks, heads):
    """Compare each signed (seal and timestamp valid) check's head with `heads` (the trail's
    `recomputed_heads(chain_seqs(checks))`); add CHAIN_SHORTER or CHAIN_CHANGED to those that
    differ."""
    for check in [check for check in checks if check.ok]:
        seq = check.statement["seq"]
        found = heads.get(seq)
        check.chain_checked = True
        if found is None:
            check.problems.append(("CHAIN_SHORTER", f"the chain no longer has record {seq}"))
        elif found != check.statement["head"]:
            check.problems.append(("CHAIN_CHANGED", f"records 1 to {seq} no longer hash to "
                                                    "the signed head: one of them was changed, "
                                                    "removed or inserted"))


# The server's schedule ---------------------------------------------------------------------

class ICheckpointSchedule(Interface):
    """The server's checkpoint schedule (registered when checkpoints are on and the seal and a
    TSA are configured)."""


class CheckpointSchedule(Schedule):
    """Makes each interval's checkpoint from the server: a thread calls `tick()` every `poll`
    seconds; `clock()` returns the current UTC datetime (tests move it)."""

    name = "registry-checkpoints"

    def __init__(self, db, settings, interval, postman=None, clock=None, poll=60.0):
        super().__init__(poll)
        self.db = db
        self.settings = settings
        self.interval = interval
        self.postman = postman
        self.clock = clock or (lambda: datetime.now(timezone.utc))

    def due(self, now):
        """The interval of `now` if its checkpoint is not made yet, else None."""
        current = interval_of(now, self.interval, self.settings)
        conn = self.db.open(transaction_manager=transaction.TransactionManager())
        try:
            last = site_of(conn).audit.checkpoints.last_interval
        finally:
            conn.transaction_manager.abort()
            conn.close()
        return current if last is None or last < current else None

    def tick(self):
        """Make this interval's checkpoint if it is due; return (Checkpoint, path) or None."""
        now = self.clock()
        interval = self.due(now)
        if interval is None:
            return None
        try:
            made = make_checkpoint(self.db, self.settings, clock=lambda: now,
                                   interval=interval, postman=self.postman)
        except CheckpointError as exc:
            log.warning("audit checkpoint not made: %s [%s]", exc, exc.code)
            return None
        if made is not None:
            log.info("audit checkpoint %s made: record %s", made[0].number, made[0].seq)
        return made


def includeme(config):
    """Start the checkpoint schedule when checkpoints are on and the seal and a TSA are
    configured."""
    import atexit

    from ZODB.interfaces import IDatabase

    settings = config.registry.settings
    interval = registry_settings.checkpoint_interval(settings)
    if not interval:
        return
    if SealConfig.from_settings(settings) is None or TsaConfig.from_settings(settings) is None:
        log.warning("audit checkpoints are off: they need the registry's seal "
                    "(registry.seal.*) and a time-stamping authority "
                    "(registry.signature.tsa_url)")
        return
    schedule = CheckpointSchedule(config.registry.getUtility(IDatabase), settings, interval,
                                  postman=config.registry.queryUtility(IPostman))
    config.registry.registerUtility(schedule, ICheckpointSchedule)
    schedule.start()
    atexit.register(schedule.stop)
