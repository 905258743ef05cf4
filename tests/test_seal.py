"""The registry's seal: configured from settings, signs PDFs (PAdES) and detached CMS in a
worker, with its key in a PEM file or on a PKCS#11 token (SoftHSM)."""
import hashlib
from io import BytesIO

import pytest

import pdfs
from registry.demo_pki import provision_softhsm_token, softhsm_module
from registry.seal import SealConfig, SealError, sign_detached, sign_pdf, verify_detached
from registry.settings import SettingsError
from registry.signatures import load_trust
from registry.signatures.tsa import TsaConfig

SEAL_PIN = "975311"


@pytest.fixture(scope="session")
def seal_files(pki, tmp_path_factory):
    return pki.write_seal(tmp_path_factory.mktemp("seal"))


@pytest.fixture(scope="session")
def pem_seal(seal_files):
    cert, key = seal_files
    return SealConfig.from_settings({"registry.seal.cert": str(cert),
                                     "registry.seal.key": str(key)})


@pytest.fixture(scope="session")
def token_seal(pki, seal_files, tmp_path_factory):
    module = softhsm_module()
    if module is None:
        pytest.fail("SoftHSM is missing: install Debian's softhsm2 (make install-test)")
    conf = tmp_path_factory.mktemp("seal-softhsm") / "softhsm2.conf"
    seal = pki.seal()
    provision_softhsm_token(conf, "registry-seal", SEAL_PIN, "87654321", seal.key_pem,
                            seal.cert_pem, module, key_label="seal")
    return SealConfig.from_settings({
        "registry.seal.cert": str(seal_files[0]), "registry.seal.pkcs11.module": module,
        "registry.seal.pkcs11.token_label": "registry-seal",
        "registry.seal.pkcs11.pin": SEAL_PIN, "registry.seal.pkcs11.softhsm2_conf": str(conf)})


def validate_pdf(data, pki):
    """pyHanko's status of the PDF's only signature, validated with the test PKI."""
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature

    reader = PdfFileReader(BytesIO(data))
    assert len(reader.embedded_signatures) == 1
    return validate_pdf_signature(reader.embedded_signatures[0], pki.validation_context())


def test_no_seal_without_a_certificate_setting():
    assert SealConfig.from_settings({}) is None


@pytest.mark.parametrize("settings", [
    {"registry.seal.cert": "seal.pem"},
    {"registry.seal.cert": "seal.pem", "registry.seal.key": "k.pem",
     "registry.seal.pkcs11.module": "/lib/p11.so"},
    {"registry.seal.cert": "seal.pem", "registry.seal.pkcs11.module": "/lib/p11.so",
     "registry.seal.pkcs11.token_label": "seal"},
])
def test_a_half_configured_seal_refuses_to_start(settings):
    with pytest.raises(SettingsError):
        SealConfig.from_settings(settings)


def test_the_pin_and_password_never_appear_in_the_config_repr():
    config = SealConfig(cert="c.pem", key="k.pem", key_password="hunter22-secret",
                        pin="314159")
    assert "hunter22-secret" not in repr(config) and "314159" not in repr(config)


@pytest.mark.parametrize("which", ["pem_seal", "token_seal"])
def test_the_seal_signs_a_pdf_that_pyhanko_validates_against_the_test_ca(request, which, pki):
    config = request.getfixturevalue(which)
    status = validate_pdf(sign_pdf(pdfs.letter_pdf(), config), pki)
    assert status.bottom_line
    assert status.signing_cert.subject.native["common_name"] == "Registry Test Seal"


def test_with_a_tsa_the_seal_signs_pades_b_lt(token_seal, pki, trust_dir, tsa_up):
    from pyhanko.pdf_utils.reader import PdfFileReader

    signed = sign_pdf(pdfs.letter_pdf(), token_seal, tsa=TsaConfig(tsa_up.url),
                      trust=load_trust(trust_dir))
    status = validate_pdf(signed, pki)
    assert status.bottom_line and status.timestamp_validity is not None
    assert "/DSS" in PdfFileReader(BytesIO(signed)).root


@pytest.mark.parametrize("which", ["pem_seal", "token_seal"])
def test_the_seal_signs_detached_cms_over_the_data(request, which, trust_dir):
    config = request.getfixturevalue(which)
    data = b'{"event": "sent"}'
    signature = sign_detached(data, config)
    found = verify_detached(data, signature, load_trust(trust_dir))
    assert (found["intact"], found["valid"], found["trusted"]) == (True, True, True)
    assert found["signer"] == "Registry Test Seal" and found["timestamp"] is None
    changed = verify_detached(data + b" ", signature, load_trust(trust_dir))
    assert changed["intact"] is False


def test_a_detached_signature_with_a_tsa_carries_a_timestamp(pem_seal, trust_dir, tsa_up):
    data = hashlib.sha256(b"checkpoint").digest()
    signature = sign_detached(data, pem_seal, tsa=TsaConfig(tsa_up.url))
    found = verify_detached(data, signature, load_trust(trust_dir))
    assert found["valid"] and found["trusted"] and found["timestamp"] is not None


def test_an_unreachable_tsa_says_so(pem_seal, tsa_up):
    tsa_up.available = False
    with pytest.raises(SealError) as info:
        sign_detached(b"x", pem_seal, tsa=TsaConfig(tsa_up.url))
    assert info.value.code == "TSA_UNAVAILABLE"


def test_a_wrong_pin_fails_without_showing_it(token_seal):
    from dataclasses import replace

    with pytest.raises(SealError) as info:
        sign_detached(b"x", replace(token_seal, pin="000000"))
    assert info.value.code == "SEAL_FAILED" and "000000" not in str(info.value)


def test_a_wrong_key_password_fails(pki, tmp_path):
    from cryptography.hazmat.primitives import serialization

    cert, _key = pki.write_seal(tmp_path)
    locked = tmp_path / "locked.pem"
    locked.write_bytes(pki.seal().key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"right-password")))
    good = SealConfig(cert=str(cert), key=str(locked), key_password="right-password")
    assert verify_detached(b"x", sign_detached(b"x", good), pki_trust(pki))["valid"]
    with pytest.raises(SealError) as info:
        sign_detached(b"x", SealConfig(cert=str(cert), key=str(locked), key_password="wrong"))
    assert info.value.code == "SEAL_FAILED" and "right-password" not in str(info.value)


def pki_trust(pki):
    from registry.signatures.trust import Trust

    return Trust((pki.root.cert_der,), (pki.crl_der(), pki.root_crl_der()), (),
                 (pki.issuing.cert_der,))


def test_the_demo_seal_is_on_a_softhsm_token_and_issued_by_the_demo_ca(tmp_path):
    from registry.demo_pki import DemoPKI

    demo = DemoPKI(tmp_path)
    demo.ensure([])
    settings = demo.seal_settings()
    assert settings["registry.seal.pkcs11.token_label"] == "registry-seal"
    assert demo.seal_settings() == settings, "made once"
    config = SealConfig.from_settings(settings)
    data = b"checkpoint"
    found = verify_detached(data, sign_detached(data, config), load_trust(demo.trust_dir))
    assert (found["valid"], found["trusted"], found["signer"]) == \
        (True, True, "Registry Demo Seal")
