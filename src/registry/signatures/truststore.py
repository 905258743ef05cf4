"""Trust kept in the store: the anchors, issuing CAs and CRLs every app machine judges with.

A trust directory (`etc/trust/`, `registry.trust_dir`, ...) is one machine's folder; several
machines must judge a signature alike, so the application's gate reads its trust from the store
(`site.trust_store`, a `TrustStore`). A new store is seeded once from the trust directory
(`seed`, at start-up); afterwards `registry trust add|list|remove|refresh` manage it, from any
machine. Each process keeps the Trust it loaded and looks at the store's `version` every
`StoreTrust.ttl` seconds, loading it again only when it changed.

A CRL added (by hand or by `refresh`) replaces the CRL of the same issuer it is newer than;
an older one is refused. Certificates and CRLs are checked as `registry.signatures.trust`
reads a folder: self-signed certificates are anchors, other certificates complete chains.
"""
import hashlib
import logging
import threading
import time
import urllib.request
from datetime import datetime, timezone

from BTrees.OOBTree import OOBTree
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from persistent import Persistent

from registry.signatures.trust import (
    CERT_SUFFIXES, Trust, TrustError, _certificates, _is_crl, _self_signed, load_trust)
from registry.signatures.trust import TrustCache
from registry.store import site_of

log = logging.getLogger(__name__)

#: How long a CRL download may take (`refresh`).
FETCH_TIMEOUT = 10
MAX_CRL_BYTES = 20 * 1024 * 1024


class TrustStore(Persistent):
    """`files` {sha256: (kind, name, der, added_by, added_at)}, kind "anchor", "ca" or "crl";
    `version`, moved by every change; `seeded`, once the trust directory was copied in."""

    def __init__(self):
        self.files = OOBTree()
        self.version = 0
        self.seeded = False

    def __len__(self):
        return len(self.files)

    def entries(self):
        """[(sha256, kind, name, added_by, added_at)], anchors first."""
        order = {"anchor": 0, "ca": 1, "crl": 2}
        rows = [(digest, kind, name, by, at)
                for digest, (kind, name, _der, by, at) in self.files.items()]
        return sorted(rows, key=lambda row: (order[row[1]], row[2], row[0]))

    def trust(self):
        """The Trust these files make."""
        by_kind = {"anchor": [], "ca": [], "crl": []}
        names = []
        for _digest, (kind, name, der, _by, _at) in self.files.items():
            by_kind[kind].append(der)
            names.append(name)
        return Trust(tuple(by_kind["anchor"]), tuple(by_kind["crl"]), tuple(sorted(names)),
                     tuple(by_kind["ca"]))

    def _put(self, kind, name, der, actor, now):
        digest = hashlib.sha256(der).hexdigest()
        if digest in self.files:
            return None
        self.files[digest] = (kind, name, der, actor, now.isoformat())
        self.version += 1
        return digest

    def add(self, name, data, actor, now=None):
        """Add the certificates or the CRL in `data` (PEM or DER; a CRL if `name` ends .crl
        or .crl.pem); return [(sha256, kind)] of what was new. Raises TrustError for what
        cannot be read, or a CRL older than the one kept for its issuer."""
        now = now or datetime.now(timezone.utc)
        lowered = name.lower()
        try:
            if _is_crl(lowered):
                return self._add_crl(name, data, actor, now)
            if not lowered.endswith(CERT_SUFFIXES):
                raise TrustError(f"{name}: not a certificate (.pem, .crt, .cer) or a CRL "
                                 "(.crl, .crl.pem)")
            added = []
            for cert in _certificates(data, name):
                kind = "anchor" if _self_signed(cert) else "ca"
                digest = self._put(kind, name, cert.public_bytes(Encoding.DER), actor, now)
                if digest:
                    added.append((digest, kind))
            return added
        except ValueError as exc:
            if isinstance(exc, TrustError):
                raise
            what = "CRL" if _is_crl(lowered) else "certificate"
            raise TrustError(f"{name}: not a readable {what} ({exc})") from None

    def _add_crl(self, name, data, actor, now):
        crl = (x509.load_pem_x509_crl(data) if b"-----BEGIN" in data
               else x509.load_der_x509_crl(data))
        issuer = self._issuer_of(crl)
        if issuer is None:
            raise TrustError(f"{name}: no trusted CA issued this CRL (add its certificate first)")
        for digest, (kind, _name, der, _by, _at) in list(self.files.items()):
            if kind != "crl":
                continue
            kept = x509.load_der_x509_crl(der)
            if kept.issuer != crl.issuer:
                continue
            if _crl_order(crl) < _crl_order(kept):
                raise TrustError(f"{name}: older than the CRL kept for "
                                 f"{crl.issuer.rfc4514_string()}")
            if _crl_order(crl) == _crl_order(kept):
                return []
            del self.files[digest]
        digest = self._put("crl", name, crl.public_bytes(Encoding.DER), actor, now)
        return [(digest, "crl")] if digest else []

    def _issuer_of(self, crl):
        for kind, _name, der, _by, _at in self.files.values():
            if kind == "crl":
                continue
            cert = x509.load_der_x509_certificate(der)
            if cert.subject == crl.issuer and crl.is_signature_valid(cert.public_key()):
                return cert
        return None

    def remove(self, prefix):
        """Remove the file whose SHA-256 starts with `prefix` (8 characters at least); return
        (kind, name). Raises TrustError when none or several match."""
        prefix = (prefix or "").lower()
        found = [d for d in self.files.keys(min=prefix) if d.startswith(prefix)][:2]
        if len(prefix) < 8 or len(found) != 1:
            raise TrustError(f"no single trusted file has a SHA-256 starting {prefix!r} "
                             "(give 8 characters at least; `registry trust list` shows them)")
        kind, name, _der, _by, _at = self.files.pop(found[0])
        self.version += 1
        return kind, name

    def crl_urls(self):
        """The CRL distribution points (http) named by the certificates kept."""
        urls = []
        for kind, _name, der, _by, _at in self.files.values():
            if kind == "crl":
                continue
            try:
                points = x509.load_der_x509_certificate(der).extensions.get_extension_for_class(
                    x509.CRLDistributionPoints).value
            except x509.ExtensionNotFound:
                continue
            for point in points:
                for general in point.full_name or ():
                    url = getattr(general, "value", "")
                    if isinstance(url, str) and url.startswith("http") and url not in urls:
                        urls.append(url)
        return urls


def _crl_order(crl):
    """Which of two CRLs of one issuer is newer: its CRL number, then its thisUpdate."""
    try:
        number = crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number
    except x509.ExtensionNotFound:
        number = -1
    return (number, crl.last_update_utc)


def seed(store, folder, actor="registry:seed"):
    """Copy the trust directory `folder` into an empty, unseeded store (once); return how many
    files were added. Raises TrustError for an unreadable directory."""
    if store.seeded:
        return 0
    trust = load_trust(folder)
    now = datetime.now(timezone.utc)
    added = 0
    for kind, ders in (("anchor", trust.roots), ("ca", trust.intermediates)):
        for der in ders:
            added += bool(store._put(kind, "seed", der, actor, now))
    for der in trust.crls:
        added += len(store.add("seed.crl", der, actor, now))
    store.seeded = True
    return added


def fetch(url, timeout=FETCH_TIMEOUT):
    """The bytes at `url` (http or https), at most MAX_CRL_BYTES."""
    if not url.startswith(("http://", "https://")):
        raise TrustError(f"{url}: only http and https are fetched")
    with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (checked)
        data = response.read(MAX_CRL_BYTES + 1)
    if len(data) > MAX_CRL_BYTES:
        raise TrustError(f"{url}: larger than {MAX_CRL_BYTES} bytes")
    return data


def refresh(store, actor, urls=(), fetcher=fetch):
    """Fetch the CRL at each of `urls` and at every distribution point the kept certificates
    name; keep each that a kept CA signed and that is newer than the one kept for its issuer.
    Returns [(url, outcome)], outcome "updated", "current" or an error message."""
    outcomes = []
    for url in [*urls, *(u for u in store.crl_urls() if u not in urls)]:
        name = url.rsplit("/", 1)[-1]
        name = name if _is_crl(name.lower()) else f"{name or 'fetched'}.crl"
        try:
            added = store.add(name, fetcher(url), actor)
            outcomes.append((url, "updated" if added else "current"))
        except (TrustError, OSError, ValueError) as exc:
            outcomes.append((url, str(exc)))
    return outcomes


class StoreTrust:
    """The process's cached Trust from the store of `db`: looked at again every `ttl`
    seconds, loaded again when the store's version changed. While the store holds no trust
    (a store never seeded), the trust directory `folder` answers, as before."""

    def __init__(self, db, folder, ttl=5.0, clock=time.monotonic):
        self.db = db
        self.ttl = ttl
        self.clock = clock
        self._folder = TrustCache(folder) if folder else None
        self._lock = threading.Lock()
        self._checked = None
        self._version = None
        self._trust = None

    def get(self):
        with self._lock:
            now = self.clock()
            if self._checked is None or now - self._checked >= self.ttl:
                self._checked = now
                self._load()
            if self._trust is None and self._folder is not None:
                return self._folder.get()
            return self._trust

    def _load(self):
        import transaction

        tm = transaction.TransactionManager()
        conn = self.db.open(transaction_manager=tm)
        try:
            store = getattr(site_of(conn), "trust_store", None)
            if store is None or not len(store):
                self._version, self._trust = None, None
            elif store.version != self._version:
                self._version, self._trust = store.version, store.trust()
            tm.abort()
        finally:
            conn.close()


def seed_store(db, folder):
    """Seed the store's trust from the trust directory `folder`, if it never was; a directory
    that cannot be read is logged and left for the gate to report (the store stays unseeded)."""
    import transaction

    tm = transaction.TransactionManager()
    conn = db.open(transaction_manager=tm)
    try:
        for attempt in tm.attempts(3):
            with attempt:
                store = site_of(conn).trust_store
                if not store.seeded:
                    added = seed(store, folder)
                    log.info("trust seeded from %s: %s files", folder, added)
    except TrustError as exc:
        log.error("the trust directory cannot seed the store: %s", exc)
    finally:
        conn.close()
