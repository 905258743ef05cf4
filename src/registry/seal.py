"""The registry's seal: its own signing identity, for what it asserts (delivery receipts, the
audit trail's checkpoints), never for the letters themselves.

Configured by `registry.seal.cert` (a PEM file: the seal's certificate, then its CA chain) and
its key, either in a PEM file (`registry.seal.key`, optionally `registry.seal.key_password`)
or in a PKCS#11 token (`registry.seal.pkcs11.module`, `.token_label`, `.key_label`, `.pin`,
`.softhsm2_conf`). The key is used only in a worker process, like the organisations' e-Tokens;
the key, its password and the PIN are never logged, shown or exported.
"""
from dataclasses import dataclass, field

from registry import settings as registry_settings
from registry.signatures.token import (TimestampUnavailable, long_term_meta, long_term_options,
                                       open_session, sign_pdf_with)
from registry.signatures.trust import Trust, _self_signed
from registry.signatures.worker import call

SEAL_KEY_LABEL = registry_settings.SEAL_KEY_LABEL


class SealError(Exception):
    """The seal could not sign: `code` is TSA_UNAVAILABLE, TIMEOUT or SEAL_FAILED. The message
    holds no secret."""

    def __init__(self, code, message):
        super().__init__(f"{code}: {message}")
        self.code = code


@dataclass(frozen=True)
class SealConfig:
    cert: str  # PEM file: the seal's certificate, then its CA chain
    key: str = None  # PEM file of the private key, or None for a PKCS#11 token
    key_password: str = field(default=None, repr=False)
    module: str = None  # PKCS#11 module
    token_label: str = None
    key_label: str = SEAL_KEY_LABEL
    pin: str = field(default=None, repr=False)
    softhsm2_conf: str = None
    timeout: float = 15.0

    @classmethod
    def from_settings(cls, settings):
        """The configured seal, or None when `registry.seal.cert` is not set
        (`registry.settings.seal`). Raises SettingsError when the certificate is set without a
        key (or a token without its label or PIN)."""
        fields = registry_settings.seal(settings)
        return None if fields is None else cls(**fields)

    def certificates(self):
        """The DER certificates of the PEM file: the seal's first, then its chain."""
        from pathlib import Path

        from cryptography import x509
        from cryptography.hazmat.primitives.serialization import Encoding

        certs = x509.load_pem_x509_certificates(Path(self.cert).read_bytes())
        return [cert.public_bytes(Encoding.DER) for cert in certs]

    def own_trust(self):
        """A Trust made of the seal's own chain (its self-signed certificates as anchors), for
        when no other is given: enough to check the TSA, with no revocation data."""
        from cryptography import x509

        chain = self.certificates()[1:]
        roots = [der for der in chain if _self_signed(x509.load_der_x509_certificate(der))]
        return Trust(tuple(roots), (), (self.cert,),
                     tuple(der for der in chain if der not in roots))

    def _key_spec(self):
        return {"certs": self.certificates(), "key": self.key, "password": self.key_password,
                "module": self.module, "token_label": self.token_label,
                "key_label": self.key_label, "pin": self.pin}


def sign_pdf(data, config, tsa=None, trust=None):
    """`data` (a PDF) signed PAdES by the seal: B-LT when a TSA is given (a signature
    timestamp and the chain's revocation data from `trust`, a Trust: the gate's; default the
    seal's own chain, without revocation data), else B-B. Raises SealError."""
    long_term = long_term_options(tsa, trust or config.own_trust()) if tsa else None
    return _run(config, "registry.seal:_seal_pdf", (data, long_term), tsa)


def sign_detached(data, config, tsa=None, trust=None):
    """A detached CMS SignedData (DER) by the seal over `data`, with a signature timestamp
    from `tsa` (a TsaConfig) when given, the TSA checked against `trust` (default: the seal's
    own chain, or the TSA's configured anchors). Raises SealError."""
    long_term = long_term_options(tsa, trust or config.own_trust()) if tsa else None
    return _run(config, "registry.seal:_seal_detached", (data, long_term), tsa)


def _run(config, target, args, tsa):
    env = {"SOFTHSM2_CONF": config.softhsm2_conf} if config.softhsm2_conf else None
    outcome = call(target, (config._key_spec(), *args),
                   timeout=config.timeout + (tsa.timeout if tsa else 0),
                   memory_limit=1024 * 1024 * 1024, env=env)
    if outcome.kind == "ok":
        return outcome.value
    if outcome.kind == "timeout":
        raise SealError("TIMEOUT", "the seal took too long to sign")
    if outcome.kind == "error" and outcome.value[0] == "TimestampUnavailable":
        raise SealError("TSA_UNAVAILABLE", outcome.value[1])
    name = outcome.value[0] if outcome.kind == "error" else outcome.kind
    raise SealError("SEAL_FAILED", f"the seal could not sign ({name})")


def verify_detached(data, signature, trust, tsa_roots=()):
    """Check a detached CMS `signature` (DER) over `data` with `trust` (a Trust; `tsa_roots`:
    DER anchors of the TSA besides it). Returns {"intact", "valid", "trusted", "signer"
    (subject's common name), "serial" (hex), "signed_at", "timestamp"} (times as ISO text or
    None). Raises ValueError if `signature` is not a CMS SignedData."""
    import asyncio

    from asn1crypto import cms
    from asn1crypto import crl as asn1_crl
    from asn1crypto import x509 as asn1_x509
    from pyhanko.sign.validation import async_validate_detached_cms
    from pyhanko_certvalidator import ValidationContext

    info = cms.ContentInfo.load(signature)
    if info["content_type"].native != "signed_data":
        raise ValueError("not a CMS SignedData")
    certs = [asn1_x509.Certificate.load(der) for der in trust.roots]
    context = ValidationContext(
        trust_roots=certs + [asn1_x509.Certificate.load(der) for der in tsa_roots],
        other_certs=[asn1_x509.Certificate.load(der) for der in trust.intermediates],
        crls=[asn1_crl.CertificateList.load(der) for der in trust.crls],
        allow_fetching=False, revocation_mode="soft-fail")
    status = asyncio.run(async_validate_detached_cms(data, info["content"],
                                                     signer_validation_context=context,
                                                     ts_validation_context=context))
    stamp = status.timestamp_validity
    signed_at = status.signer_reported_dt
    return {"intact": status.intact, "valid": status.valid, "trusted": status.trusted,
            "signer": status.signing_cert.subject.native.get("common_name"),
            "serial": format(status.signing_cert.serial_number, "x"),
            "signed_at": signed_at.isoformat() if signed_at else None,
            "timestamp": stamp.timestamp.isoformat() if stamp is not None else None}


class _Signer:
    """In a worker: the seal's pyHanko signer (PEM key or PKCS#11 token) as a context."""

    def __init__(self, spec):
        self.spec = spec
        self.session = None

    def __enter__(self):
        from asn1crypto import keys as asn1_keys
        from asn1crypto import x509 as asn1_x509
        from pyhanko.sign import signers
        from pyhanko_certvalidator.registry import SimpleCertificateStore

        certs = [asn1_x509.Certificate.load(der) for der in self.spec["certs"]]
        if self.spec["key"]:
            from pathlib import Path

            from cryptography.hazmat.primitives import serialization

            password = self.spec["password"]
            key = serialization.load_pem_private_key(
                Path(self.spec["key"]).read_bytes(),
                password.encode("utf-8") if password else None)
            der = key.private_bytes(serialization.Encoding.DER,
                                    serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
            return signers.SimpleSigner(certs[0], asn1_keys.PrivateKeyInfo.load(der),
                                        SimpleCertificateStore.from_certs(certs[1:]))
        from pyhanko.sign.pkcs11 import PKCS11Signer

        self.session = open_session(self.spec["module"], self.spec["token_label"],
                                    self.spec["pin"])
        return PKCS11Signer(self.session, key_label=self.spec["key_label"],
                            signing_cert=certs[0], ca_chain=certs[1:])

    def __exit__(self, *exc):
        if self.session is not None:
            self.session.close()


def _seal_pdf(spec, data, long_term):
    with _Signer(spec) as signer:
        return sign_pdf_with(signer, data, long_term, field_name="RegistrySeal")


def _seal_detached(spec, data, long_term):
    import asyncio

    from pyhanko.sign.timestamps.common_utils import TimestampRequestError

    with _Signer(spec) as signer:
        try:
            stamper = long_term_meta(long_term)[1] if long_term else None
            signed = asyncio.run(signer.async_sign_general_data(
                data, "sha256", detached=True, use_cades=True, timestamper=stamper))
        except TimestampRequestError as exc:
            raise TimestampUnavailable(type(exc).__name__) from None
    return signed.dump()
