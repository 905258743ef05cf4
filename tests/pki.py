"""A throw-away test PKI, generated at test time with `cryptography` (no network, no OpenSSL CLI).

    Registry Test Root CA (self-signed)           <- trust anchor, empty CRL (root_crl_der)
      └── Registry Test Issuing CA (pathlen 0)    <- issues the organisations' leaves; CRL (crl_der)
            ├── org("1000001")                     <- a good organisation certificate
            ├── org("1000002", revoked=True)       <- listed on the issuing CA's CRL
            └── ...
    Other Test Root CA (self-signed, NOT trusted)
      └── Other Test Issuing CA                   <- issues org(..., untrusted=True)

Keys are cached per process (RSA key generation is the slow part), so building several `TestPKI`
objects is cheap; each `TestPKI` has its own certificates, serial numbers and CRLs.

Revocation works offline: every certificate carries a CRL distribution point URL under
`http://pki.registry.test/` (a name that never resolves), and the CRLs themselves come from
`crl_der()` / `root_crl_der()` / `write_trust_dir()`.
"""
from __future__ import annotations

import datetime as _dt
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Union

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier

__all__ = ["Identity", "TestPKI", "REGNO_OID", "CRL_BASE_URL"]

PrivateKey = Union[rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey]

REGNO_OID = NameOID.ORGANIZATION_IDENTIFIER  # 2.5.4.97
CRL_BASE_URL = "http://pki.registry.test/"
DOCUMENT_SIGNING = ObjectIdentifier("1.3.6.1.5.5.7.3.36")  # id-kp-documentSigning
ROOT_NAME = "Registry Test Root CA"
ISSUING_NAME = "Registry Test Issuing CA"
OTHER_ROOT_NAME = "Other Test Root CA"
OTHER_ISSUING_NAME = "Other Test Issuing CA"

# --------------------------------------------------------------------------------------------
# keys: generated once per process and per label
# --------------------------------------------------------------------------------------------
_KEYS: dict[tuple[str, str], PrivateKey] = {}
_KEYS_LOCK = threading.Lock()


def _key(label: str, key_type: str = "rsa") -> PrivateKey:
    with _KEYS_LOCK:
        k = _KEYS.get((label, key_type))
        if k is None:
            if key_type == "rsa":
                k = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            elif key_type == "ec":
                k = ec.generate_private_key(ec.SECP256R1())
            else:
                raise ValueError(f"unknown key_type {key_type!r} (use 'rsa' or 'ec')")
            _KEYS[(label, key_type)] = k
        return k


def _now() -> _dt.datetime:
    return _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0)


@dataclass
class Identity:
    """A certificate with its private key (PEMs ready for files; key PEM is unencrypted PKCS#8)."""

    cert: x509.Certificate
    key: PrivateKey
    cert_pem: bytes
    key_pem: bytes
    regno: str | None = None
    issuer: "Identity | None" = field(default=None, repr=False)
    pki: "TestPKI | None" = field(default=None, repr=False, compare=False)  # set for org leaves

    @property
    def cert_der(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.DER)

    @property
    def key_der(self) -> bytes:
        return self.key.private_bytes(serialization.Encoding.DER,
                                      serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption())

    @property
    def asn1_cert(self):
        """The certificate as an `asn1crypto.x509.Certificate` (what pyHanko wants)."""
        from asn1crypto import x509 as a_x509
        return a_x509.Certificate.load(self.cert_der)

    @property
    def asn1_key(self):
        """The key as an `asn1crypto.keys.PrivateKeyInfo` (what pyHanko's SimpleSigner wants)."""
        from asn1crypto import keys as a_keys
        return a_keys.PrivateKeyInfo.load(self.key_der)

    @property
    def chain(self) -> list["Identity"]:
        """Issuer chain above this identity, nearest first (excluding self)."""
        out, cur = [], self.issuer
        while cur is not None:
            out.append(cur)
            cur = cur.issuer
        return out

    @property
    def subject_cn(self) -> str:
        return self.cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value


def _identity(cert: x509.Certificate, key: PrivateKey, regno=None, issuer=None) -> Identity:
    return Identity(
        cert=cert, key=key,
        cert_pem=cert.public_bytes(serialization.Encoding.PEM),
        key_pem=key.private_bytes(serialization.Encoding.PEM,
                                  serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()),
        regno=regno, issuer=issuer)


def _ca_cert(name: str, key: PrivateKey, *, issuer: Identity | None, pathlen: int | None,
             not_before, not_after, crl_url: str | None) -> x509.Certificate:
    subject = x509.Name([
        x509.NameAttribute(NameOID.COUNTRY_NAME, "MN"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Registry Test PKI"),
        x509.NameAttribute(NameOID.COMMON_NAME, name),
    ])
    issuer_name = issuer.cert.subject if issuer else subject
    signing_key = issuer.key if issuer else key
    b = (x509.CertificateBuilder()
         .subject_name(subject).issuer_name(issuer_name)
         .public_key(key.public_key())
         .serial_number(x509.random_serial_number())
         .not_valid_before(not_before).not_valid_after(not_after)
         .add_extension(x509.BasicConstraints(ca=True, path_length=pathlen), critical=True)
         .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False,
                                      key_encipherment=False, data_encipherment=False,
                                      key_agreement=False, key_cert_sign=True, crl_sign=True,
                                      encipher_only=False, decipher_only=False), critical=True)
         .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                        critical=False))
    if issuer is not None:
        b = b.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()),
            critical=False)
    if crl_url:
        b = b.add_extension(_crl_dp(crl_url), critical=False)
    return b.sign(signing_key, hashes.SHA256())


def _crl_dp(url: str) -> x509.CRLDistributionPoints:
    return x509.CRLDistributionPoints([x509.DistributionPoint(
        full_name=[x509.UniformResourceIdentifier(url)], relative_name=None, reasons=None,
        crl_issuer=None)])


class TestPKI:
    """A complete offline PKI for tests. See the module docstring for its shape."""

    __test__ = False  # not a pytest test class

    def __init__(self):
        now = _now()
        self.created = now
        rk = _key("root")
        self.root = _identity(_ca_cert(ROOT_NAME, rk, issuer=None, pathlen=None,
                                       not_before=now - _dt.timedelta(days=3650),
                                       not_after=now + _dt.timedelta(days=7300),
                                       crl_url=None), rk)
        ik = _key("issuing")
        self.issuing = _identity(_ca_cert(ISSUING_NAME, ik, issuer=self.root, pathlen=0,
                                          not_before=now - _dt.timedelta(days=1825),
                                          not_after=now + _dt.timedelta(days=3650),
                                          crl_url=CRL_BASE_URL + "root.crl"), ik, issuer=self.root)
        ok = _key("other-root")
        self.other_root = _identity(_ca_cert(OTHER_ROOT_NAME, ok, issuer=None, pathlen=None,
                                             not_before=now - _dt.timedelta(days=3650),
                                             not_after=now + _dt.timedelta(days=7300),
                                             crl_url=None), ok)
        oik = _key("other-issuing")
        self.other_issuing = _identity(
            _ca_cert(OTHER_ISSUING_NAME, oik, issuer=self.other_root, pathlen=0,
                     not_before=now - _dt.timedelta(days=1825),
                     not_after=now + _dt.timedelta(days=3650),
                     crl_url=CRL_BASE_URL + "other-root.crl"), oik, issuer=self.other_root)
        self._orgs: dict[tuple, Identity] = {}
        self._revoked: list[tuple[int, _dt.datetime]] = []
        self._crl_number = 1
        self._tsa: Identity | None = None
        self._seal: Identity | None = None
        self._lock = threading.RLock()
        self._crl = self._make_crl(self.issuing, self._revoked, now - _dt.timedelta(hours=1),
                                   now + _dt.timedelta(days=7))
        self._root_crl = self._make_crl(self.root, [], now - _dt.timedelta(hours=1),
                                        now + _dt.timedelta(days=7))
        self._other_root_crl = self._make_crl(self.other_root, [], now - _dt.timedelta(hours=1),
                                              now + _dt.timedelta(days=7))

    # ---------------------------------------------------------------------------- leaves
    def org(self, regno: str | None, *, name: str | None = None, revoked: bool = False,
            expired: bool = False, not_yet_valid: bool = False, untrusted: bool = False,
            id_form: str = "organizationIdentifier", key_type: str = "rsa") -> Identity:
        """The certificate of organisation `regno` (cached per arguments).

        Subject: C=MN, O=<name>, CN=<name>, plus the registration number as
        organizationIdentifier (2.5.4.97) "NTRMN-<regno>" (id_form="organizationIdentifier"),
        serialNumber "<regno>" (id_form="serialNumber") or nothing (id_form="none").
        """
        if id_form not in ("organizationIdentifier", "serialNumber", "none"):
            raise ValueError(f"unknown id_form {id_form!r}")
        if expired and not_yet_valid:
            raise ValueError("expired and not_yet_valid are exclusive")
        cache_key = (regno, name, revoked, expired, not_yet_valid, untrusted, id_form, key_type)
        with self._lock:
            ident = self._orgs.get(cache_key)
            if ident is not None:
                return ident
            ident = self._make_org(regno, name, revoked, expired, not_yet_valid, untrusted,
                                   id_form, key_type)
            self._orgs[cache_key] = ident
            return ident

    def _make_org(self, regno, name, revoked, expired, not_yet_valid, untrusted, id_form,
                  key_type) -> Identity:
        now = _now()
        display = name or f"Байгууллага {regno}"
        attrs = [x509.NameAttribute(NameOID.COUNTRY_NAME, "MN"),
                 x509.NameAttribute(NameOID.ORGANIZATION_NAME, display)]
        if id_form == "organizationIdentifier":
            attrs.append(x509.NameAttribute(REGNO_OID, f"NTRMN-{regno}"))
        elif id_form == "serialNumber":
            attrs.append(x509.NameAttribute(NameOID.SERIAL_NUMBER, str(regno)))
        attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, display))
        issuer = self.other_issuing if untrusted else self.issuing
        if expired:
            nb, na = now - _dt.timedelta(days=730), now - _dt.timedelta(days=1)
        elif not_yet_valid:
            nb, na = now + _dt.timedelta(days=1), now + _dt.timedelta(days=730)
        else:
            nb, na = now - _dt.timedelta(days=1), now + _dt.timedelta(days=730)
        # one key per distinct leaf (label), reused across TestPKI instances in this process
        key = _key(f"org:{regno}:{name}:{revoked}:{expired}:{not_yet_valid}:{untrusted}:{id_form}",
                   key_type)
        crl_file = "other-issuing.crl" if untrusted else "issuing.crl"
        cert = (x509.CertificateBuilder()
                .subject_name(x509.Name(attrs)).issuer_name(issuer.cert.subject)
                .public_key(key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(nb).not_valid_after(na)
                .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=True,
                                             key_encipherment=False, data_encipherment=False,
                                             key_agreement=False, key_cert_sign=False,
                                             crl_sign=False, encipher_only=False,
                                             decipher_only=False), critical=True)
                .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                               critical=False)
                .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                    issuer.key.public_key()), critical=False)
                .add_extension(_crl_dp(CRL_BASE_URL + crl_file), critical=False)
                .sign(issuer.key, hashes.SHA256()))
        ident = _identity(cert, key, regno=None if id_form == "none" else regno, issuer=issuer)
        ident.pki = self
        if revoked:
            if untrusted:
                raise ValueError("revoked+untrusted is not supported")
            self._revoked.append((cert.serial_number, now - _dt.timedelta(hours=1)))
            self._crl = self._make_crl(self.issuing, self._revoked, now - _dt.timedelta(minutes=30),
                                       now + _dt.timedelta(days=7))
        return ident

    def tsa(self) -> Identity:
        """A time-stamping authority certificate (EKU timeStamping, critical) under `issuing`."""
        with self._lock:
            if self._tsa is None:
                subject = x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "MN"),
                                     x509.NameAttribute(NameOID.COMMON_NAME, "Registry Test TSA")])
                self._tsa = self._service("tsa", subject, ExtendedKeyUsageOID.TIME_STAMPING,
                                          eku_critical=True)
            return self._tsa

    def seal(self) -> Identity:
        """The registry's seal certificate (EKU documentSigning) under `issuing`."""
        with self._lock:
            if self._seal is None:
                subject = x509.Name([
                    x509.NameAttribute(NameOID.COUNTRY_NAME, "MN"),
                    x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Registry Test"),
                    x509.NameAttribute(NameOID.COMMON_NAME, "Registry Test Seal")])
                self._seal = self._service("seal", subject, DOCUMENT_SIGNING, eku_critical=False)
            return self._seal

    def _service(self, label, subject, eku, eku_critical) -> Identity:
        """A certificate of one of the registry's services under `issuing`, valid two years."""
        now = _now()
        key = _key(label)
        cert = (x509.CertificateBuilder()
                .subject_name(subject).issuer_name(self.issuing.cert.subject)
                .public_key(key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - _dt.timedelta(days=1))
                .not_valid_after(now + _dt.timedelta(days=730))
                .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=True,
                                             key_encipherment=False, data_encipherment=False,
                                             key_agreement=False, key_cert_sign=False,
                                             crl_sign=False, encipher_only=False,
                                             decipher_only=False), critical=True)
                .add_extension(x509.ExtendedKeyUsage([eku]), critical=eku_critical)
                .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                               critical=False)
                .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                    self.issuing.key.public_key()), critical=False)
                .add_extension(_crl_dp(CRL_BASE_URL + "issuing.crl"), critical=False)
                .sign(self.issuing.key, hashes.SHA256()))
        return _identity(cert, key, issuer=self.issuing)

    def write_seal(self, folder) -> tuple[Path, Path]:
        """(certificate file: the seal, then issuing and root; key file) of the seal."""
        seal, folder = self.seal(), Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        cert_path, key_path = folder / "seal.pem", folder / "seal.key.pem"
        cert_path.write_bytes(seal.cert_pem + self.issuing.cert_pem + self.root.cert_pem)
        key_path.write_bytes(seal.key_pem)
        return cert_path, key_path

    # ---------------------------------------------------------------------------- CRLs
    def _make_crl(self, ca: Identity, revoked, last_update, next_update
                  ) -> x509.CertificateRevocationList:
        self._crl_number += 1
        b = (x509.CertificateRevocationListBuilder()
             .issuer_name(ca.cert.subject)
             .last_update(last_update).next_update(next_update)
             .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                 ca.key.public_key()), critical=False)
             .add_extension(x509.CRLNumber(self._crl_number), critical=False))
        for serial, when in revoked:
            b = b.add_revoked_certificate(
                x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(when)
                .add_extension(x509.CRLReason(x509.ReasonFlags.key_compromise), critical=False)
                .build())
        return b.sign(ca.key, hashes.SHA256())

    @property
    def crl(self) -> x509.CertificateRevocationList:
        """The issuing CA's current CRL (as a `cryptography` object)."""
        return self._crl

    def crl_pem(self) -> bytes:
        return self._crl.public_bytes(serialization.Encoding.PEM)

    def crl_der(self) -> bytes:
        return self._crl.public_bytes(serialization.Encoding.DER)

    def root_crl_der(self) -> bytes:
        return self._root_crl.public_bytes(serialization.Encoding.DER)

    def root_crl_pem(self) -> bytes:
        return self._root_crl.public_bytes(serialization.Encoding.PEM)

    def other_root_crl_der(self) -> bytes:
        return self._other_root_crl.public_bytes(serialization.Encoding.DER)

    def crl_der_with(self, revocations, last_update, next_update) -> bytes:
        """An issuing-CA CRL listing exactly `revocations` [(Identity, revocation time)] as
        revoked for key compromise, issued `last_update`, next update `next_update` (DER)."""
        with self._lock:
            crl = self._make_crl(self.issuing, [(ident.cert.serial_number, when)
                                                for ident, when in revocations],
                                 last_update, next_update)
        return crl.public_bytes(serialization.Encoding.DER)

    def expired_crl_der(self) -> bytes:
        """An issuing-CA CRL (same revoked entries) whose nextUpdate is 7 days in the past."""
        now = _now()
        with self._lock:
            crl = self._make_crl(self.issuing, self._revoked, now - _dt.timedelta(days=14),
                                 now - _dt.timedelta(days=7))
        return crl.public_bytes(serialization.Encoding.DER)

    def is_revoked(self, ident: Identity) -> bool:
        return self._crl.get_revoked_certificate_by_serial_number(
            ident.cert.serial_number) is not None

    # ---------------------------------------------------------------------------- trust dir
    def write_trust_dir(self, path, *, include_crls: bool = True, crl_format: str = "der") -> Path:
        """Write ONE flat folder like `etc/trust/`: root.pem, issuing.pem and, with include_crls,
        issuing.crl + root.crl (DER) or issuing.crl.pem + root.crl.pem (crl_format="pem")."""
        if crl_format not in ("der", "pem"):
            raise ValueError("crl_format must be 'der' or 'pem'")
        p = Path(path)
        p.mkdir(parents=True, exist_ok=True)
        (p / "root.pem").write_bytes(self.root.cert_pem)
        (p / "issuing.pem").write_bytes(self.issuing.cert_pem)
        if include_crls:
            if crl_format == "der":
                (p / "issuing.crl").write_bytes(self.crl_der())
                (p / "root.crl").write_bytes(self.root_crl_der())
            else:
                (p / "issuing.crl.pem").write_bytes(self.crl_pem())
                (p / "root.crl.pem").write_bytes(self.root_crl_pem())
        return p

    # ---------------------------------------------------------------------------- helpers
    def validation_context(self, *, crls=None, revocation_mode: str = "hard-fail",
                           trust_issuing: bool = False, **kwargs):
        """A pyhanko_certvalidator.ValidationContext for this PKI, strictly offline.

        Trust anchor: the root only; the issuing CA is passed as an intermediate (other_certs).
        CRLs: issuing + root CRL unless `crls` is given.

        trust_issuing=True also makes the issuing CA a trust anchor -- beware: with
        pyhanko-certvalidator 0.33 that BREAKS CRL checking for its leaves ("The chain of trust
        for the CRL issuer that was identified could not be determined"), see SAMPLES.md.
        """
        from pyhanko_certvalidator import ValidationContext
        roots = [self.root.asn1_cert] + ([self.issuing.asn1_cert] if trust_issuing else [])
        if crls is None:
            crls = [self.crl_der(), self.root_crl_der()]
        kwargs.setdefault("other_certs", [self.issuing.asn1_cert])
        return ValidationContext(trust_roots=roots, crls=list(crls), allow_fetching=False,
                                 revocation_mode=revocation_mode, **kwargs)
