"""Plain data for a handover package: what the registry knows about each letter, and the
package's own facts. No ZODB, no Pyramid: `selection.py` turns stored letters into these, and
`package.py` turns these into files.

Times are timezone-aware `datetime`s (naive ones are read as UTC).
"""
from dataclasses import dataclass, field
from datetime import date, datetime

#: The E-ARK SIP profile version declared by default (the newest the offline validators know).
PROFILE_VERSION = "2.1.0"


@dataclass(frozen=True)
class Party:
    """An organisation: its state registration number and its name."""

    regno: str
    name: str


@dataclass(frozen=True)
class SignatureCheck:
    """One validation of a letter's signature, at `context` "sending", "receipt" or "export".
    `report` is the gate's full verdict (`Verdict.as_json()`), written as a file."""

    time: datetime
    context: str
    accepted: bool
    reasons: tuple
    signer: str
    signer_regno: str | None
    issuer: str
    serial: str
    signing_time: datetime | None
    report: dict = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class Action:
    """One step of a letter's workflow history."""

    time: datetime
    actor: str
    action: str
    from_state: str
    to_state: str
    comment: str = ""


@dataclass(frozen=True)
class RecordEntry:
    """One letter as the handing-over organisation keeps it.

    `key` is unique in the package (e.g. "outbox/20260301101500-ab12cd34"); `retention` is
    "permanent" or "temporary:<years>"; `pdf_path` names the file to copy byte for byte, whose
    size and SHA-256 must be `pdf_size` and `pdf_sha256`; `checks` are in time order (the export
    check last); `actions` are the workflow history; `revocation_data` the CRLs the checks name
    (`evidence.revocation_data`), so that the archive can judge them without the registry;
    `timestamps` the registry's preservation timestamps over those checks.
    """

    key: str
    direction: str
    subject: str
    series: str
    series_title: str
    retention: str
    outgoing_number: str | None
    incoming_number: str | None
    sender: Party
    recipients: tuple
    signatory: str
    signatory_regno: str | None
    created: datetime
    sent: datetime | None
    registered: datetime | None
    state: str
    pdf_path: str
    pdf_filename: str
    pdf_size: int
    pdf_sha256: str
    pdf_created: datetime
    checks: tuple = ()
    actions: tuple = ()
    #: The revocation data (CRLs) its checks were judged with: ((SHA-256 hex, DER bytes), ...).
    revocation_data: tuple = ()
    #: The registry's preservation timestamps over its checks (RFC 3161 tokens, DER):
    #: ((key: SHA-256 hex of the message, verdict SHA-256 hex, time ISO, token), ...).
    timestamps: tuple = ()
    #: The registry's delivery evidence about it (registry.receipts), sealed receipts:
    #: ((id, event, event time, issued at, PDF bytes, JSON bytes, CMS signature DER), ...).
    receipts: tuple = ()


@dataclass(frozen=True)
class PackageSpec:
    """The package's own facts. `package_id` (a UUID string) is also the METS OBJID and the
    name of the package's root folder; `record_status` is "NEW" or "SUPPLEMENT"; `timezone`
    (an IANA name, the registry's `registry.timezone`) dates the printed documents."""

    package_id: str
    org: Party
    year: int
    series: str | None
    record_status: str
    act_number: str
    act_date: date
    made_by: str
    archive_name: str
    fond_reference: str
    inventory_reference: str
    created: datetime
    profile_version: str = PROFILE_VERSION
    software: tuple = ("Registry", "0.1.0")
    timezone: str = "Asia/Ulaanbaatar"  # for the dates printed in the inventory and the act


@dataclass(frozen=True)
class PackageResult:
    """What `build_package` made: `path` of the bag directory or .zip file; `sha256` of the
    .zip file, or of the bag's tagmanifest-sha256.txt for a directory; `files` and `bytes` of
    the bag's payload (its Payload-Oxum); `letters` packaged."""

    path: str
    package_id: str
    sha256: str
    files: int
    bytes: int
    letters: int
