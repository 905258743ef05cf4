"""The demo's own certification authority and e-Tokens, so that a newcomer can sign and send.

In the data directory:
- `demo-pki/`: a demo root CA, an issuing CA, and a key and certificate for each demo
  organisation (subject organizationIdentifier NTRMN-<regno>). For demonstration only.
- `trust/`: the demo root and issuing CA certificates and their CRLs: the gate's trust
  directory when no other is configured.
- `demo-pki/tsa.pem`: the demo's time-stamping authority (issued by the demo issuing CA);
  `registry serve --demo` serves it over HTTP on 127.0.0.1 (`DemoPKI.start_tsa`).
- `demo-pki/seal.pem`: the registry's seal (its certificate, then the demo CA chain), issued by
  the demo issuing CA; its key goes to a SoftHSM token labelled `registry-seal` (PIN
  `DEMO_PIN`) when SoftHSM is installed, else it stays in `demo-pki/seal.key.pem`.
- `softhsm/`: when SoftHSM is installed, one token per demo organisation (label = its
  registration number, PIN `DEMO_PIN`) holding its key and certificate, so that "sign with the
  e-Token" works on the server.
"""
import datetime as dt
import os
import subprocess
import tempfile
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier

from registry.signatures.token import softhsm_module
from registry.signatures.tsa import LocalTsa
from registry.signatures.worker import call

ORG_ID = ObjectIdentifier("2.5.4.97")
DOCUMENT_SIGNING = ObjectIdentifier("1.3.6.1.5.5.7.3.36")  # id-kp-documentSigning (RFC 9336)
SEAL_TOKEN = "registry-seal"
DEMO_PIN = "123456"
DEMO_SO_PIN = "12345678"


def _now():
    return dt.datetime.now(dt.timezone.utc)


def _key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _fit(text, limit=64):
    """Cut `text` to the X.520 upper bound, which cryptography counts in UTF-8 bytes."""
    return text.encode("utf-8")[:limit].decode("utf-8", "ignore")


def _name(common, org=None, regno=None):
    common, org = _fit(common), _fit(org or common)
    attrs = [x509.NameAttribute(NameOID.COUNTRY_NAME, "MN"),
             x509.NameAttribute(NameOID.ORGANIZATION_NAME, org)]
    if regno:
        attrs.append(x509.NameAttribute(ORG_ID, f"NTRMN-{regno}"))
    attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, common))
    return x509.Name(attrs)


def _pem(cert):
    return cert.public_bytes(serialization.Encoding.PEM)


def _key_pem(key):
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _ca(name, key, issuer_name, issuer_key, pathlen, years):
    now = _now()
    builder = (x509.CertificateBuilder().subject_name(name).issuer_name(issuer_name)
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - dt.timedelta(days=1))
               .not_valid_after(now + dt.timedelta(days=365 * years))
               .add_extension(x509.BasicConstraints(ca=True, path_length=pathlen), critical=True)
               .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False,
                                            key_encipherment=False, data_encipherment=False,
                                            key_agreement=False, key_cert_sign=True,
                                            crl_sign=True, encipher_only=False,
                                            decipher_only=False), critical=True)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                              critical=False))
    return builder.sign(issuer_key, hashes.SHA256())


def _leaf(regno, name, key, issuer_cert, issuer_key):
    return _end_entity(_name(name, name, regno), key, issuer_cert, issuer_key, days=730,
                       usage=ExtendedKeyUsageOID.EMAIL_PROTECTION, usage_critical=False)


def _tsa_cert(key, issuer_cert, issuer_key):
    """A time-stamping authority's certificate (extended key usage timeStamping, critical)."""
    return _end_entity(_name("Registry Demo TSA", "Registry demo (not for real use)"), key,
                       issuer_cert, issuer_key, days=365 * 4,
                       usage=ExtendedKeyUsageOID.TIME_STAMPING, usage_critical=True)


def _seal_cert(key, issuer_cert, issuer_key):
    """The registry's seal certificate (extended key usage documentSigning)."""
    return _end_entity(_name("Registry Demo Seal", "Registry demo (not for real use)"), key,
                       issuer_cert, issuer_key, days=730, usage=DOCUMENT_SIGNING,
                       usage_critical=False)


def _end_entity(subject, key, issuer_cert, issuer_key, days, usage, usage_critical):
    now = _now()
    return (x509.CertificateBuilder().subject_name(subject)
            .issuer_name(issuer_cert.subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=True,
                                         key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, key_cert_sign=False,
                                         crl_sign=False, encipher_only=False,
                                         decipher_only=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=usage_critical)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                issuer_key.public_key()), critical=False)
            .sign(issuer_key, hashes.SHA256()))


def _crl(issuer_cert, issuer_key):
    now = _now()
    return (x509.CertificateRevocationListBuilder().issuer_name(issuer_cert.subject)
            .last_update(now - dt.timedelta(minutes=5)).next_update(now + dt.timedelta(days=30))
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                issuer_key.public_key()), critical=False)
            .add_extension(x509.CRLNumber(int(now.timestamp())), critical=False)
            .sign(issuer_key, hashes.SHA256()))


class DemoPKI:
    """Files of the demo PKI under `data_dir`; `ensure(orgs)` makes what is missing."""

    def __init__(self, data_dir):
        self.data_dir = Path(data_dir)
        self.folder = self.data_dir / "demo-pki"
        self.trust_dir = self.data_dir / "trust"
        self.softhsm_dir = self.data_dir / "softhsm"
        self.softhsm_conf = self.softhsm_dir / "softhsm2.conf"

    def _load_or_make_ca(self):
        files = {n: self.folder / f"{n}.pem" for n in ("root", "root.key", "issuing",
                                                         "issuing.key")}
        if all(path.exists() for path in files.values()):
            load_key = serialization.load_pem_private_key
            return (x509.load_pem_x509_certificate(files["root"].read_bytes()),
                    load_key(files["root.key"].read_bytes(), None),
                    x509.load_pem_x509_certificate(files["issuing"].read_bytes()),
                    load_key(files["issuing.key"].read_bytes(), None))
        root_key, issuing_key = _key(), _key()
        root_name = _name("Registry Demo Root CA", "Registry demo (not for real use)")
        root = _ca(root_name, root_key, root_name, root_key, pathlen=1, years=10)
        issuing = _ca(_name("Registry Demo Issuing CA", "Registry demo (not for real use)"),
                      issuing_key, root.subject, root_key, pathlen=0, years=5)
        self.folder.mkdir(parents=True, exist_ok=True)
        os.chmod(self.folder, 0o700)
        files["root"].write_bytes(_pem(root))
        files["root.key"].write_bytes(_key_pem(root_key))
        files["issuing"].write_bytes(_pem(issuing))
        files["issuing.key"].write_bytes(_key_pem(issuing_key))
        return root, root_key, issuing, issuing_key

    def tsa_files(self):
        """(certificate, key) of the demo TSA, made (once) under the demo issuing CA."""
        cert_path, key_path = self.folder / "tsa.pem", self.folder / "tsa.key.pem"
        if not cert_path.exists():
            _root, _root_key, issuing, issuing_key = self._load_or_make_ca()
            key = _key()
            cert_path.write_bytes(_pem(_tsa_cert(key, issuing, issuing_key)))
            key_path.write_bytes(_key_pem(key))
        return cert_path, key_path

    def seal_settings(self):
        """Settings for the demo's seal (`registry.seal.*`), made (once) under the demo
        issuing CA: its key on a SoftHSM token when SoftHSM is installed, else in a PEM file."""
        cert_path, key_path = self.folder / "seal.pem", self.folder / "seal.key.pem"
        if not cert_path.exists():
            _root, _root_key, issuing, issuing_key = self._load_or_make_ca()
            key = _key()
            cert_path.write_bytes(_pem(_seal_cert(key, issuing, issuing_key)) + _pem(issuing)
                                  + (self.folder / "root.pem").read_bytes())
            key_path.write_bytes(_key_pem(key))
            os.chmod(key_path, 0o600)
        module = softhsm_module()
        if module is None:
            return {"registry.seal.cert": str(cert_path), "registry.seal.key": str(key_path)}
        marker = self.softhsm_dir / f"{SEAL_TOKEN}.token"
        if not marker.exists():
            provision_softhsm_token(self.softhsm_conf, SEAL_TOKEN, DEMO_PIN, DEMO_SO_PIN,
                                    key_path.read_bytes(), cert_path.read_bytes(), module,
                                    key_label="seal")
            marker.write_text("provisioned\n")
        return {"registry.seal.cert": str(cert_path), "registry.seal.pkcs11.module": module,
                "registry.seal.pkcs11.token_label": SEAL_TOKEN,
                "registry.seal.pkcs11.key_label": "seal", "registry.seal.pkcs11.pin": DEMO_PIN,
                "registry.seal.pkcs11.softhsm2_conf": str(self.softhsm_conf)}

    def start_tsa(self):
        """Serve the demo TSA on a free port of 127.0.0.1; return the LocalTsa (its `url`)."""
        cert_path, key_path = self.tsa_files()
        issuing = x509.load_pem_x509_certificate((self.folder / "issuing.pem").read_bytes())
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        key = serialization.load_pem_private_key(key_path.read_bytes(), None)
        der = serialization.Encoding.DER
        return LocalTsa(cert.public_bytes(der),
                        key.private_bytes(der, serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()),
                        [issuing.public_bytes(der)]).start()

    def org_files(self, regno):
        return self.folder / f"{regno}.pem", self.folder / f"{regno}.key.pem"

    def ensure(self, orgs):
        """Make the CA, a certificate for each (regno, name) in `orgs`, fresh CRLs and the
        trust directory, and provision SoftHSM tokens when SoftHSM is installed. Returns the
        SoftHSM configuration path, or None."""
        root, root_key, issuing, issuing_key = self._load_or_make_ca()
        made = []
        for regno, name in orgs:
            cert_path, key_path = self.org_files(regno)
            if not cert_path.exists():
                key = _key()
                cert_path.write_bytes(_pem(_leaf(regno, name, key, issuing, issuing_key)))
                key_path.write_bytes(_key_pem(key))
                made.append(regno)
        self.trust_dir.mkdir(parents=True, exist_ok=True)
        (self.trust_dir / "demo-root.pem").write_bytes(_pem(root))
        (self.trust_dir / "demo-issuing.pem").write_bytes(_pem(issuing))
        (self.trust_dir / "demo-root.crl").write_bytes(
            _crl(root, root_key).public_bytes(serialization.Encoding.DER))
        (self.trust_dir / "demo-issuing.crl").write_bytes(
            _crl(issuing, issuing_key).public_bytes(serialization.Encoding.DER))
        module = softhsm_module()
        if module is None:
            return None
        for regno, _org_name in orgs:
            marker = self.softhsm_dir / f"{regno}.token"
            if regno in made or not marker.exists():
                cert_path, key_path = self.org_files(regno)
                provision_softhsm_token(self.softhsm_conf, regno, DEMO_PIN, DEMO_SO_PIN,
                                        key_path.read_bytes(), cert_path.read_bytes(),
                                        module)
                marker.write_text("provisioned\n")
        return str(self.softhsm_conf)

    def signer(self, regno):
        """A pyHanko signer with `regno`'s demo key (for the demo's own letters)."""
        from pyhanko.sign import signers

        cert_path, key_path = self.org_files(regno)
        return signers.SimpleSigner.load(str(key_path), str(cert_path),
                                         ca_chain_files=(str(self.folder / "issuing.pem"),))


def write_softhsm_conf(conf_path):
    conf_path = Path(conf_path)
    tokens = conf_path.parent / "tokens"
    tokens.mkdir(parents=True, exist_ok=True)
    os.chmod(conf_path.parent, 0o700)
    conf_path.write_text(f"directories.tokendir = {tokens}\nobjectstore.backend = file\n"
                         "log.level = ERROR\nslots.removable = false\n")
    return conf_path


def provision_softhsm_token(conf_path, label, pin, so_pin, key_pem, cert_pem, module,
                            key_label="signing"):
    """Create a SoftHSM token `label` holding a key and its certificate, both labelled
    `key_label`. The PINs go to softhsm2-util's command line: demo and test tokens only."""
    conf_path = Path(conf_path)
    if not conf_path.exists():
        write_softhsm_conf(conf_path)
    env = {**os.environ, "SOFTHSM2_CONF": str(conf_path)}
    subprocess.run(["softhsm2-util", "--init-token", "--free", "--label", label, "--pin", pin,
                    "--so-pin", so_pin], env=env, check=True, capture_output=True)
    with tempfile.NamedTemporaryFile(suffix=".pem") as key_file:
        key_file.write(key_pem)
        key_file.flush()
        subprocess.run(["softhsm2-util", "--import", key_file.name, "--token", label,
                        "--label", key_label, "--id", "01", "--pin", pin], env=env, check=True,
                       capture_output=True)
    cert_der = x509.load_pem_x509_certificate(cert_pem).public_bytes(serialization.Encoding.DER)
    # python-pkcs11 loads the module once per process: import the certificate in a worker
    # that sees this token directory.
    outcome = call("registry.demo_pki:_store_certificate",
                   (module, label, pin, cert_der, key_label),
                   timeout=30, env={"SOFTHSM2_CONF": str(conf_path)})
    if outcome.kind != "ok":
        raise RuntimeError(f"could not store the certificate on token {label}: "
                           f"{outcome.kind} {outcome.value}")


def _store_certificate(module, label, pin, cert_der, key_label="signing"):
    import pkcs11
    from asn1crypto import core as asn1_core
    from pkcs11 import Attribute, CertificateType, ObjectClass

    cert = x509.load_der_x509_certificate(cert_der)
    token = pkcs11.lib(module).get_token(token_label=label)
    with token.open(user_pin=pin, rw=True) as session:
        session.create_object({
            Attribute.CLASS: ObjectClass.CERTIFICATE,
            Attribute.CERTIFICATE_TYPE: CertificateType.X_509,
            Attribute.TOKEN: True,
            Attribute.LABEL: key_label,
            Attribute.ID: b"\x01",
            Attribute.SUBJECT: cert.subject.public_bytes(),
            Attribute.ISSUER: cert.issuer.public_bytes(),
            Attribute.SERIAL_NUMBER: asn1_core.Integer(cert.serial_number).dump(),
            Attribute.VALUE: cert_der,
        })
    return True
