"""Signing on the server with an organisation's PKCS#11 token (its e-Token, or its slot in an
HSM; SoftHSM stands in for it in the tests and the demo).

The signatory types the token's PIN; it is used for that one signature, in a worker process,
and is never stored or logged. The token is found by its label (by default the organisation's
registration number) and the key and certificate by their label.
"""
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from registry import settings as registry_settings
from registry.errors import RegistryError
from registry.i18n import _
from registry.signatures.worker import call

PIN_MAX = 64
SOFTHSM_MODULES = ("/usr/lib/softhsm/libsofthsm2.so",
                   "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
                   "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so")


def softhsm_module():
    """The SoftHSM PKCS#11 module's path if SoftHSM is installed, else None."""
    if not shutil.which("softhsm2-util"):
        return None
    return next((path for path in SOFTHSM_MODULES if os.path.exists(path)), None)


@dataclass(frozen=True)
class TokenConfig:
    module: str
    token_label: str = "{regno}"
    key_label: str = "signing"
    softhsm2_conf: str = None
    timeout: float = 15.0

    @classmethod
    def from_settings(cls, settings):
        """The configured token access, or None when server-side signing is not set up.
        Without a configured module, the demo's SoftHSM tokens in the data directory are used
        when they exist."""
        fields = registry_settings.pkcs11(settings)
        if fields is None:
            demo_conf = Path(registry_settings.data_directory(settings)) / "softhsm" / \
                "softhsm2.conf"
            if demo_conf.exists() and softhsm_module():
                return cls(module=softhsm_module(), softhsm2_conf=str(demo_conf))
            return None
        return cls(**fields)


def sign_pdf(data, regno, pin, config, ca_chain=(), tsa=None, trust=None):
    """Return `data` signed (PAdES) with `regno`'s token: PAdES B-LT when a TSA is given (a
    TsaConfig, with the gate's `trust`: a signature timestamp from that TSA and the chain's
    revocation data in a DSS, still one signature), else PAdES B-B. Raises RegistryError with
    TOKEN_NOT_FOUND, WRONG_PIN, TSA_UNAVAILABLE, SIGNING_FAILED or TIMEOUT; the PIN never
    appears in it."""
    if not pin or len(pin) > PIN_MAX:
        raise RegistryError("WRONG_PIN", _("Type the e-Token's PIN."), field="pin")
    env = {"SOFTHSM2_CONF": config.softhsm2_conf} if config.softhsm2_conf else None
    long_term = long_term_options(tsa, trust)
    outcome = call("registry.signatures.token:_sign_in_worker",
                   (data, config.module, config.token_label.format(regno=regno),
                    config.key_label, pin, list(ca_chain), long_term),
                   timeout=config.timeout + (tsa.timeout if tsa else 0),
                   memory_limit=1024 * 1024 * 1024, env=env)
    if outcome.kind == "ok":
        return outcome.value
    if outcome.kind == "timeout":
        raise RegistryError("TIMEOUT", _("Signing with the e-Token took too long."),
                            status=504)
    if outcome.kind == "error":
        name, message, _trace = outcome.value
        if name == "TokenNotFound":
            raise RegistryError("TOKEN_NOT_FOUND",
                                _("token-not-found", default="No e-Token of organisation "
                                  "${regno} is connected to the registry.",
                                  mapping={"regno": regno}), status=409)
        if name in ("PinIncorrect", "PinInvalid", "PinLenRange", "PinLocked"):
            raise RegistryError("WRONG_PIN", _("The e-Token refused the PIN."), field="pin",
                                status=403)
        if name == "TimestampUnavailable":
            raise RegistryError("TSA_UNAVAILABLE",
                                _("tsa-unavailable", default="The time-stamping authority "
                                  "did not give a trusted timestamp; the letter is not signed. "
                                  "Try again later."), status=503)
    raise RegistryError("SIGNING_FAILED", _("The e-Token could not sign this PDF."),
                        status=422)


def long_term_options(tsa, trust):
    """What a worker needs to sign for the long term with the TSA `tsa` (a TsaConfig), the
    signer's chain judged with `trust` (a Trust: anchors, intermediates, CRLs); None without
    a TSA. Plain data, for `long_term_meta` in the worker."""
    if tsa is None:
        return None
    tsa_roots, tsa_intermediates = tsa.anchors(trust)
    return {"url": tsa.url, "timeout": tsa.timeout, "roots": list(trust.roots),
            "intermediates": [*trust.intermediates, *tsa_intermediates],
            "crls": list(trust.crls), "tsa_roots": tsa_roots}


class TokenNotFound(Exception):
    pass


class TimestampUnavailable(Exception):
    """The TSA could not be reached, or its token or certificate chain is not trusted."""


def long_term_meta(long_term):
    """(signature metadata options, timestamper) for PAdES B-LT with the TSA `long_term`
    names. The TSA's certificate must chain to its own anchors (checked first, with those
    alone); the signature's validation context then holds the gate's trust plus those
    anchors, without fetching (the revocation data embedded is the trust's CRLs)."""
    import asyncio

    from asn1crypto import crl as asn1_crl
    from asn1crypto import x509 as asn1_x509
    from pyhanko.sign.timestamps import HTTPTimeStamper
    from pyhanko_certvalidator import ValidationContext
    from pyhanko_certvalidator.errors import PathBuildingError, PathValidationError

    def certs(key):
        return [asn1_x509.Certificate.load(der) for der in long_term[key]]

    crls = [asn1_crl.CertificateList.load(der) for der in long_term["crls"]]
    stamper = HTTPTimeStamper(long_term["url"], timeout=long_term["timeout"])

    async def tsa_paths():
        own = ValidationContext(trust_roots=certs("tsa_roots"),
                                other_certs=certs("intermediates"), crls=crls,
                                allow_fetching=False, revocation_mode="soft-fail")
        return [path async for path in stamper.validation_paths(own)]

    try:
        asyncio.run(tsa_paths())
    except (PathBuildingError, PathValidationError) as exc:
        raise TimestampUnavailable(f"the TSA is not trusted: {type(exc).__name__}") from None
    context = ValidationContext(
        trust_roots=certs("roots") + certs("tsa_roots"), other_certs=certs("intermediates"),
        crls=crls, allow_fetching=False, revocation_mode="hard-fail")
    return {"embed_validation_info": True, "validation_context": context,
            "use_pades_lta": False}, stamper


def open_session(module, token_label, pin):
    """In a worker: a PKCS#11 session on the token labelled `token_label`, logged in with
    `pin`. Raises TokenNotFound, or the PIN's error without the PIN in it."""
    from pkcs11 import exceptions as p11_errors
    from pyhanko.config.pkcs11 import TokenCriteria
    from pyhanko.sign.pkcs11 import PKCS11Error, open_pkcs11_session

    try:
        return open_pkcs11_session(module, token_criteria=TokenCriteria(label=token_label),
                                   user_pin=pin)
    except (p11_errors.PinIncorrect, p11_errors.PinInvalid, p11_errors.PinLenRange,
            p11_errors.PinLocked) as exc:
        raise type(exc)() from None  # no PIN in the message
    except PKCS11Error as exc:
        if "No token" in str(exc):
            raise TokenNotFound(token_label) from None
        raise


def sign_pdf_with(signer, data, long_term=None, field_name="Signature"):
    """In a worker: `data` signed (PAdES) by the pyHanko `signer`, B-LT when `long_term`
    (from `long_term_options`) is given. Raises TimestampUnavailable."""
    from io import BytesIO

    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers
    from pyhanko.sign.timestamps.common_utils import TimestampRequestError

    writer = IncrementalPdfFileWriter(BytesIO(data), strict=False)
    try:
        extra, stamper = long_term_meta(long_term) if long_term else ({}, None)
        meta = signers.PdfSignatureMetadata(field_name=field_name,
                                            subfilter=fields.SigSeedSubFilter.PADES,
                                            md_algorithm="sha256", **extra)
        output = signers.sign_pdf(writer, meta, signer=signer, timestamper=stamper)
    except TimestampRequestError as exc:
        raise TimestampUnavailable(type(exc).__name__) from None
    return output.getvalue()


def _sign_in_worker(data, module, token_label, key_label, pin, ca_chain, long_term=None):
    """Runs in a worker process: open the token, sign, close. Returns the signed bytes."""
    from asn1crypto import x509 as asn1_x509
    from pyhanko.sign.general import SigningError
    from pyhanko.sign.pkcs11 import PKCS11Signer

    session = open_session(module, token_label, pin)
    try:
        chain = [asn1_x509.Certificate.load(der) for der in ca_chain]
        signer = PKCS11Signer(session, key_label=key_label, cert_label=key_label,
                              ca_chain=chain)
        return sign_pdf_with(signer, data, long_term)
    except SigningError as exc:
        raise RuntimeError(str(exc).replace(pin, "***")) from None
    finally:
        session.close()
