"""The trust directory: one flat folder of trusted CA certificates and CRLs.

Files ending `.crl` or `.crl.pem` are CRLs (PEM or DER); every other `.pem`, `.crt` or `.cer`
file is a trusted certificate (PEM, possibly several, or DER). Self-signed certificates are the
trust anchors; the others (issuing CAs) complete chains up to them. An issuing CA is not made an
anchor itself: with an issuing CA as anchor, pyhanko-certvalidator cannot establish the chain of
its own CRL, and so could not check its certificates for revocation. Never the operating
system's trust store. Loaded again when the folder's contents change.
"""
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

CERT_SUFFIXES = (".pem", ".crt", ".cer")


class TrustError(ValueError):
    """A file in the trust directory cannot be read as what its name says."""


@dataclass(frozen=True)
class Trust:
    roots: tuple  # DER self-signed certificates: the anchors
    crls: tuple  # DER CRLs
    files: tuple  # the file names read
    intermediates: tuple = ()  # DER CA certificates that chain up to an anchor

    def as_payload(self):
        return {"roots": list(self.roots), "intermediates": list(self.intermediates),
                "crls": list(self.crls)}


def _is_crl(name):
    return name.endswith(".crl") or name.endswith(".crl.pem")


def _certificates(data, name):
    if b"-----BEGIN" in data:
        certs = x509.load_pem_x509_certificates(data)
    else:
        certs = [x509.load_der_x509_certificate(data)]
    return certs


def _crl(data, name):
    if b"-----BEGIN" in data:
        crl = x509.load_pem_x509_crl(data)
    else:
        crl = x509.load_der_x509_crl(data)
    return crl.public_bytes(Encoding.DER)


def _self_signed(cert):
    if cert.subject != cert.issuer:
        return False
    try:
        cert.verify_directly_issued_by(cert)
    except (ValueError, TypeError, Exception):  # InvalidSignature and unsupported keys
        return False
    return True


def load_trust(folder, extra_roots=(), extra_crls=()):
    """Read `folder` (may be None) plus extra files; return a Trust. Raises TrustError."""
    roots, intermediates, crls, files = [], [], [], []
    paths = []
    if folder is not None:
        folder = Path(folder)
        if not folder.is_dir():
            raise TrustError(f"trust directory {folder} does not exist")
        paths = sorted(p for p in folder.iterdir() if p.is_file())
    for path in [*paths, *map(Path, extra_roots), *map(Path, extra_crls)]:
        name = path.name.lower()
        is_extra_crl = str(path) in map(str, extra_crls)
        if not (_is_crl(name) or is_extra_crl or name.endswith(CERT_SUFFIXES)):
            continue
        data = path.read_bytes()
        try:
            if _is_crl(name) or is_extra_crl:
                crls.append(_crl(data, name))
            else:
                for cert in _certificates(data, name):
                    target = roots if _self_signed(cert) else intermediates
                    target.append(cert.public_bytes(Encoding.DER))
        except ValueError as exc:
            raise TrustError(f"{path}: not a readable {'CRL' if _is_crl(name) else 'certificate'}"
                             f" ({exc})") from None
        files.append(path.name)
    return Trust(tuple(roots), tuple(crls), tuple(files), tuple(intermediates))


def load_anchors(path):
    """A Trust from `path`: a trust directory, or one file of certificates. Raises TrustError."""
    path = Path(path)
    return load_trust(path) if path.is_dir() else load_trust(None, extra_roots=[path])


class TrustCache:
    """Loads a trust directory again only when a file in it changed (by name, size, mtime)."""

    def __init__(self, folder):
        self.folder = folder
        self._stamp = None
        self._trust = None

    def _fingerprint(self):
        entries = []
        for entry in sorted(os.scandir(self.folder), key=lambda e: e.name):
            if entry.is_file():
                stat = entry.stat()
                entries.append((entry.name, stat.st_size, stat.st_mtime_ns))
        return tuple(entries)

    def get(self):
        stamp = self._fingerprint()
        if stamp != self._stamp:
            self._trust = load_trust(self.folder)
            self._stamp = stamp
        return self._trust
