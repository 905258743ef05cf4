"""Signing on the server with an organisation's e-Token: SoftHSM stands in for the token."""
import pytest

import pdfs
from conftest import csrf_token, login
from registry.demo_pki import provision_softhsm_token, softhsm_module
from registry.errors import RegistryError
from registry.signatures import Gate, GateConfig
from registry.signatures.token import TokenConfig, sign_pdf

PIN = "246810"
SENDER = "1000001"


@pytest.fixture(scope="session")
def token(pki, tmp_path_factory):
    module = softhsm_module()
    if module is None:
        pytest.fail("SoftHSM is missing: install Debian's softhsm2 (make install-test)")
    conf = tmp_path_factory.mktemp("softhsm") / "softhsm2.conf"
    identity = pki.org(SENDER)
    provision_softhsm_token(conf, SENDER, PIN, "87654321", identity.key_pem, identity.cert_pem,
                            module)
    return TokenConfig(module=module, softhsm2_conf=str(conf))


@pytest.fixture
def chain(pki):
    return [pki.issuing.cert_der]


def test_the_token_signs_and_the_gate_accepts(token, chain, trust_dir):
    signed = sign_pdf(pdfs.letter_pdf(), SENDER, PIN, token, chain)
    verdict = Gate(GateConfig(trust_dir=str(trust_dir))).verify(signed, SENDER)
    assert verdict.accepted and verdict.subfilter == "ETSI.CAdES.detached"
    assert verdict.signer["regno"] == SENDER


@pytest.mark.parametrize("pin, regno, code", [("135791", SENDER, "WRONG_PIN"),
                                             ("", SENDER, "WRONG_PIN"),
                                             (PIN, "1000002", "TOKEN_NOT_FOUND")])
def test_token_refusals_say_why_and_never_repeat_the_pin(token, chain, pin, regno, code):
    with pytest.raises(RegistryError) as info:
        sign_pdf(pdfs.letter_pdf(), regno, pin, token, chain)
    assert info.value.code == code
    assert not pin or pin not in repr(info.value.__dict__)


def test_a_broken_pdf_is_not_signed(token, chain):
    with pytest.raises(RegistryError) as info:
        sign_pdf(b"%PDF-1.7\n garbage", SENDER, PIN, token, chain)
    assert info.value.code == "SIGNING_FAILED"


@pytest.fixture
def token_settings(settings, token):
    settings["registry.pkcs11.module"] = token.module
    settings["registry.pkcs11.softhsm2_conf"] = token.softhsm2_conf
    return settings


def unsigned_draft(in_site):
    """A draft of SENDER with an unsigned PDF; returns its path."""
    from registry import exchange

    with in_site() as site:
        letter = exchange.create_draft(site, "clerk_a", site.orgs[SENDER], subject="Токеноор",
                                       recipients=["1000002"])
        exchange.attach_pdf(site, "clerk_a", letter, pdfs.letter_pdf(), "a.pdf", 1 << 20)
        return f"/orgs/{SENDER}/outbox/{letter.__name__}/"


def test_signatory_signs_a_draft_with_the_token_in_the_browser_form(token_settings, in_site_for):
    app, in_site = in_site_for(token_settings)
    login(app, "sign_a")
    path = unsigned_draft(in_site)
    page = app.get(path)
    assert page.html.find(id="token-sign") is not None
    wrong = app.post(path + "@@sign-with-token", {"csrf_token": csrf_token(page), "pin": "0000"},
                     status=403)
    assert wrong.html.find(id="refusals").find("li")["data-reason"] == "WRONG_PIN"
    app.post(path + "@@sign-with-token", {"csrf_token": csrf_token(page), "pin": PIN},
             status=302)
    with in_site() as site:
        letter = site.orgs[SENDER]["outbox"][path.split("/")[-2]]
        assert letter.state == "signed" and letter.verdicts[-1]["accepted"]
        actions = [r.action for r in site.audit.newest(0, 4)[0]]
        assert actions[:3] == ["letter.sign", "letter.token_signed", "letter.pdf"]
        assert PIN not in str([vars(r) for r in site.audit.newest(0, 10)[0]])


def test_a_clerk_gets_no_token_form(token_settings, in_site_for):
    app, in_site = in_site_for(token_settings)
    login(app, "clerk_a")
    path = unsigned_draft(in_site)
    page = app.get(path)
    assert page.html.find(id="token-sign") is None
    app.post(path + "@@sign-with-token", {"csrf_token": csrf_token(page), "pin": PIN},
             status=403)


def _pdf_structure(data):
    """(signature fields, revisions, whether the catalog has a DSS) of a PDF."""
    from io import BytesIO

    from pyhanko.pdf_utils.reader import PdfFileReader

    reader = PdfFileReader(BytesIO(data))
    return len(reader.embedded_signatures), reader.xrefs.total_revisions, "/DSS" in reader.root


def test_with_a_tsa_the_token_signs_pades_b_lt_with_exactly_one_signature(
        token, chain, trust_dir, tsa_up):
    from registry.signatures import load_trust
    from registry.signatures.tsa import TsaConfig

    before = tsa_up.requests
    signed = sign_pdf(pdfs.letter_pdf(), SENDER, PIN, token, chain, tsa=TsaConfig(tsa_up.url),
                      trust=load_trust(trust_dir))
    assert tsa_up.requests > before
    assert _pdf_structure(signed) == (1, 3, True)  # the letter, its signature, the DSS
    verdict = Gate(GateConfig(trust_dir=str(trust_dir))).verify(signed, SENDER)
    assert verdict.accepted, verdict.evidence
    assert verdict.evidence["level"] == "B-LT"
    assert verdict.timestamp is not None
    assert verdict.evidence["judged"]["basis"] == "timestamp"


def test_without_a_tsa_the_token_signs_pades_b_b(token, chain, trust_dir):
    signed = sign_pdf(pdfs.letter_pdf(), SENDER, PIN, token, chain)
    assert _pdf_structure(signed) == (1, 2, False)
    verdict = Gate(GateConfig(trust_dir=str(trust_dir))).verify(signed, SENDER)
    assert verdict.accepted and verdict.evidence["level"] == "B-B"
    assert verdict.timestamp is None


def test_a_tsa_that_is_down_or_untrusted_signs_nothing(token, chain, trust_dir, tsa_up, pki,
                                                       tmp_path):
    from registry.signatures import load_trust
    from registry.signatures.tsa import TsaConfig

    tsa_up.available = False
    with pytest.raises(RegistryError) as down:
        sign_pdf(pdfs.letter_pdf(), SENDER, PIN, token, chain, tsa=TsaConfig(tsa_up.url),
                 trust=load_trust(trust_dir))
    assert (down.value.code, down.value.status) == ("TSA_UNAVAILABLE", 503)
    tsa_up.available = True
    anchor = tmp_path / "tsa-anchor.pem"
    anchor.write_bytes(pki.other_root.cert_pem)
    with pytest.raises(RegistryError) as untrusted:
        sign_pdf(pdfs.letter_pdf(), SENDER, PIN, token, chain,
                 tsa=TsaConfig(tsa_up.url, trust=str(anchor)), trust=load_trust(trust_dir))
    assert untrusted.value.code == "TSA_UNAVAILABLE"


def test_with_a_tsa_configured_the_signatory_gets_b_lt_and_is_told_so(token_settings, tsa_up,
                                                                      in_site_for):
    token_settings["registry.signature.tsa_url"] = tsa_up.url
    app, in_site = in_site_for(token_settings)
    login(app, "sign_a")
    path = unsigned_draft(in_site)
    page = app.get(path)
    done = app.post(path + "@@sign-with-token", {"csrf_token": csrf_token(page), "pin": PIN},
                    status=302).follow()
    assert "PAdES B-LT" in done.text
    assert done.html.find(id="level") is not None
    with in_site() as site:
        letter = site.orgs[SENDER]["outbox"][path.split("/")[-2]]
        verdict = letter.verdicts[-1]
        assert verdict["accepted"] and verdict["evidence"]["level"] == "B-LT"
        (signed,) = [r for r in site.audit.newest(0, 10)[0] if "level" in r.detail]
        assert signed.detail["level"] == "B-LT"


def test_the_gate_trusts_a_signature_timestamp_only_through_the_tsas_own_anchors(
        token, chain, trust_dir, tsa_up, pki, tmp_path):
    """With `registry.signature.tsa_trust` naming anchors the TSA does not chain to, its
    timestamp proves nothing: the file is judged now, as B-B."""
    from registry.signatures import load_trust
    from registry.signatures.tsa import TsaConfig

    signed = sign_pdf(pdfs.letter_pdf(), SENDER, PIN, token, chain, tsa=TsaConfig(tsa_up.url),
                      trust=load_trust(trust_dir))
    other = tmp_path / "other-tsa-root.pem"
    other.write_bytes(pki.other_root.cert_pem)
    own = tmp_path / "tsa-root.pem"
    own.write_bytes(pki.root.cert_pem)
    strange = Gate(GateConfig(trust_dir=str(trust_dir), tsa_trust=str(other))).verify(signed)
    assert (strange.timestamp, strange.evidence["level"]) == (None, "B-B")
    assert strange.evidence["judged"]["basis"] == "now"
    vouched = Gate(GateConfig(trust_dir=str(trust_dir), tsa_trust=str(own))).verify(signed)
    assert vouched.evidence["level"] == "B-LT" and vouched.evidence["judged"]["basis"] == \
        "timestamp"
