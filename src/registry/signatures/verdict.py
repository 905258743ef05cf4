"""The gate's answer: a Verdict with stable reason codes."""
from dataclasses import asdict, dataclass, field

from registry.i18n import _

REASONS = (
    "NOT_PDF", "MALFORMED_PDF", "ENCRYPTED_PDF", "TOO_LARGE", "NO_SIGNATURE",
    "MULTIPLE_SIGNATURES", "SIGNATURE_INVALID", "MODIFIED_AFTER_SIGNING", "UNTRUSTED_SIGNER",
    "CERT_EXPIRED", "CERT_REVOKED", "REVOCATION_UNKNOWN", "SIGNER_ORG_MISMATCH", "NOT_PADES",
    "TIMEOUT",
)

#: What each reason means to a records manager.
REASON_MESSAGES = {
    "NOT_PDF": _("reason-NOT_PDF", default="The file is not a PDF."),
    "MALFORMED_PDF": _("reason-MALFORMED_PDF", default="The PDF is damaged and cannot be read."),
    "ENCRYPTED_PDF": _("reason-ENCRYPTED_PDF", default="The PDF is encrypted or password "
                       "protected; send it unencrypted."),
    "TOO_LARGE": _("reason-TOO_LARGE", default="The file, or what it unpacks to, is larger "
                   "than the registry accepts."),
    "NO_SIGNATURE": _("reason-NO_SIGNATURE", default="The PDF carries no digital signature."),
    "MULTIPLE_SIGNATURES": _("reason-MULTIPLE_SIGNATURES", default="The PDF carries more than "
                             "one signature; a letter carries exactly one."),
    "SIGNATURE_INVALID": _("reason-SIGNATURE_INVALID", default="The signature is not valid: "
                           "the signed bytes do not match it."),
    "MODIFIED_AFTER_SIGNING": _("reason-MODIFIED_AFTER_SIGNING", default="The PDF was changed "
                                "after it was signed."),
    "UNTRUSTED_SIGNER": _("reason-UNTRUSTED_SIGNER", default="The signing certificate was not "
                          "issued by a trusted certification authority."),
    "CERT_EXPIRED": _("reason-CERT_EXPIRED", default="The signing certificate has expired (or "
                      "is not valid yet)."),
    "CERT_REVOKED": _("reason-CERT_REVOKED", default="The signing certificate has been "
                      "revoked."),
    "REVOCATION_UNKNOWN": _("reason-REVOCATION_UNKNOWN", default="Whether the signing "
                            "certificate is revoked cannot be established (no current CRL)."),
    "SIGNER_ORG_MISMATCH": _("reason-SIGNER_ORG_MISMATCH", default="The signature is not by "
                             "the expected organisation's certificate."),
    "NOT_PADES": _("reason-NOT_PADES", default="The signature is not in a format the "
                   "registry accepts (PAdES)."),
    "TIMEOUT": _("reason-TIMEOUT", default="Checking the file took too long; it was stopped."),
}


@dataclass(frozen=True)
class Verdict:
    """Accepted or not, why not (codes from REASONS, most fundamental first), who signed
    (subject, regno, issuer, serial), when (claimed signing time, timestamp), and pyHanko's
    findings as evidence. Plain data: stored with the letter as evidence."""

    accepted: bool
    reasons: tuple = ()
    signer: dict = None
    signing_time: str = None
    timestamp: str = None
    subfilter: str = None
    evidence: dict = field(default_factory=dict)
    checked_at: str = ""
    sha256: str = ""
    size: int = 0
    expected_org: str = None

    def as_json(self):
        data = asdict(self)
        data["reasons"] = list(self.reasons)
        return data

    @classmethod
    def from_json(cls, data):
        return cls(**{**data, "reasons": tuple(data.get("reasons", ()))})

    @classmethod
    def refused(cls, reason, **kw):
        return cls(accepted=False, reasons=(reason,), **kw)
