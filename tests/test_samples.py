"""Self-test of the signature-gate fixtures (tests/pki.py, tests/pdfs.py).

Checks that the PKI is what it claims to be, that every sample builds, that the good samples
validate with pyHanko against the PKI, and that pyHanko still reports what SAMPLES.md records
for the hostile ones (so a pyHanko upgrade that changes behaviour shows up here). The gate itself
is not tested here.
"""
import datetime as dt
import io
import logging

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

import pdfs
from pki import REGNO_OID, TestPKI

REGNO = "1000001"
OTHER_REGNO = "9999999"

# samples never parsed in this process: pyHanko (strict=False) does not come back from it
NEVER_PARSE = {"huge_xref_claim"}


@pytest.fixture(scope="session")
def pki():
    return TestPKI()


_built: dict[str, bytes] = {}


@pytest.fixture(scope="session")
def build(pki):
    def _build(name):
        if name not in _built:
            _built[name] = pdfs.sample(name).build(pki, REGNO)
        return _built[name]
    return _build


def _now():
    return dt.datetime.now(dt.timezone.utc)


# ============================================================================ the PKI
def test_roots_and_issuing_ca(pki):
    root, issuing = pki.root.cert, pki.issuing.cert
    assert root.subject == root.issuer
    assert root.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value \
        == "Registry Test Root CA"
    assert issuing.issuer == root.subject
    issuing.verify_directly_issued_by(root)
    bc = issuing.extensions.get_extension_for_class(x509.BasicConstraints).value
    assert bc.ca and bc.path_length == 0
    assert pki.other_root.cert.subject != root.subject
    assert pki.other_root.cert.subject == pki.other_root.cert.issuer
    for ident in (pki.root, pki.issuing, pki.other_root):
        assert b"BEGIN CERTIFICATE" in ident.cert_pem
        assert b"BEGIN PRIVATE KEY" in ident.key_pem  # unencrypted PKCS#8


@pytest.mark.parametrize("id_form, expected", [
    ("organizationIdentifier", (REGNO_OID, f"NTRMN-{REGNO}")),
    ("serialNumber", (NameOID.SERIAL_NUMBER, REGNO)),
    ("none", None),
])
def test_org_subject_forms(pki, id_form, expected):
    ident = pki.org(REGNO, id_form=id_form)
    subj = ident.cert.subject
    assert subj.get_attributes_for_oid(NameOID.COUNTRY_NAME)[0].value == "MN"
    assert subj.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == f"Байгууллага {REGNO}"
    assert subj.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == f"Байгууллага {REGNO}"
    if expected is None:
        assert not subj.get_attributes_for_oid(REGNO_OID)
        assert not subj.get_attributes_for_oid(NameOID.SERIAL_NUMBER)
        assert ident.regno is None
    else:
        oid, value = expected
        assert subj.get_attributes_for_oid(oid)[0].value == value
        assert ident.regno == REGNO
    ku = ident.cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert ku.digital_signature and ku.content_commitment
    for cls in (x509.AuthorityKeyIdentifier, x509.SubjectKeyIdentifier,
                x509.CRLDistributionPoints):
        ident.cert.extensions.get_extension_for_class(cls)
    ident.cert.verify_directly_issued_by(pki.issuing.cert)


def test_org_name_and_cache(pki):
    a = pki.org("1234567", name="Хөх тэнгэр трейд ХХК")
    assert a is pki.org("1234567", name="Хөх тэнгэр трейд ХХК")
    assert a is not pki.org("1234567")
    assert a.cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value \
        == "Хөх тэнгэр трейд ХХК"
    assert isinstance(a.key, rsa.RSAPrivateKey) and a.key.key_size == 2048
    assert isinstance(pki.org("1234567", key_type="ec").key, ec.EllipticCurvePrivateKey)


def test_validity_periods(pki):
    now = _now()
    good = pki.org(REGNO).cert
    assert good.not_valid_before_utc < now < good.not_valid_after_utc
    assert good.not_valid_after_utc > now + dt.timedelta(days=700)
    expired = pki.org(REGNO, expired=True).cert
    assert expired.not_valid_after_utc < now
    assert now - expired.not_valid_after_utc < dt.timedelta(days=2)
    nyv = pki.org(REGNO, not_yet_valid=True).cert
    assert nyv.not_valid_before_utc > now


def test_untrusted_chain(pki):
    u = pki.org(REGNO, untrusted=True)
    assert u.cert.issuer == pki.other_issuing.cert.subject
    u.cert.verify_directly_issued_by(pki.other_issuing.cert)
    pki.other_issuing.cert.verify_directly_issued_by(pki.other_root.cert)
    with pytest.raises(Exception):
        u.cert.verify_directly_issued_by(pki.issuing.cert)


def test_crls(pki):
    revoked = pki.org(REGNO, revoked=True)
    crl = x509.load_der_x509_crl(pki.crl_der())
    assert crl == x509.load_pem_x509_crl(pki.crl_pem())
    assert crl.issuer == pki.issuing.cert.subject
    assert crl.is_signature_valid(pki.issuing.key.public_key())
    assert crl.get_revoked_certificate_by_serial_number(revoked.cert.serial_number) is not None
    assert crl.get_revoked_certificate_by_serial_number(pki.org(REGNO).cert.serial_number) is None
    assert pki.is_revoked(revoked) and not pki.is_revoked(pki.org(REGNO))
    assert crl.next_update_utc > _now() + dt.timedelta(days=6)
    root_crl = x509.load_der_x509_crl(pki.root_crl_der())
    assert root_crl.issuer == pki.root.cert.subject and len(root_crl) == 0
    assert root_crl.is_signature_valid(pki.root.key.public_key())
    stale = x509.load_der_x509_crl(pki.expired_crl_der())
    assert stale.next_update_utc < _now()
    assert stale.is_signature_valid(pki.issuing.key.public_key())


def test_new_revocation_regenerates_crl(pki):
    before = pki.crl_der()
    late = pki.org("7654321", revoked=True)
    assert pki.crl_der() != before
    assert pki.is_revoked(late) and pki.is_revoked(pki.org(REGNO, revoked=True))


@pytest.mark.parametrize("fmt", ["der", "pem"])
def test_trust_dir(pki, tmp_path, fmt):
    d = pki.write_trust_dir(tmp_path / "trust", crl_format=fmt)
    names = sorted(p.name for p in d.iterdir())
    if fmt == "der":
        assert names == ["issuing.crl", "issuing.pem", "root.crl", "root.pem"]
        assert (d / "issuing.crl").read_bytes() == pki.crl_der()
    else:
        assert names == ["issuing.crl.pem", "issuing.pem", "root.crl.pem", "root.pem"]
    assert (d / "root.pem").read_bytes() == pki.root.cert_pem
    bare = pki.write_trust_dir(tmp_path / "bare", include_crls=False)
    assert sorted(p.name for p in bare.iterdir()) == ["issuing.pem", "root.pem"]


# ============================================================================ the samples
@pytest.mark.parametrize("name", [s.name for s in pdfs.SAMPLES])
def test_every_sample_builds(build, name):
    data = build(name)
    assert isinstance(data, bytes)
    if name != "large_signed_letter":
        assert len(data) < 2_000_000
    smp = pdfs.sample(name)
    assert smp.expected in ("ACCEPTED", "NOT_PDF", "MALFORMED_PDF", "ENCRYPTED_PDF", "TOO_LARGE",
                            "NO_SIGNATURE", "MULTIPLE_SIGNATURES", "SIGNATURE_INVALID",
                            "MODIFIED_AFTER_SIGNING", "UNTRUSTED_SIGNER", "CERT_EXPIRED",
                            "CERT_REVOKED", "REVOCATION_UNKNOWN", "SIGNER_ORG_MISMATCH",
                            "NOT_PADES", "TIMEOUT")


def test_builders_with_arguments():
    assert pdfs.letter_pdf("Hello", pages=2).startswith(b"%PDF-1.7")
    assert b"/FT /Tx" in pdfs.letter_with_form_field("42")
    assert b"/FT /Sig" in pdfs.letter_with_empty_sig_field()


def _summary(data: bytes, vc) -> str:
    """pyHanko's view of a file in one line (the notation of SAMPLES.md)."""
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature, validate_pdf_timestamp
    try:
        r = PdfFileReader(io.BytesIO(data), strict=False)
    except Exception as e:
        return f"read:{type(e).__name__}"
    if r.encrypted:
        return "encrypted"
    try:
        sigs = r.embedded_signatures
    except Exception as e:  # includes RecursionError
        return f"sigs:{type(e).__name__}"
    out = []
    for emb in sigs:
        try:
            if emb.sig_object_type == "/DocTimeStamp":
                st = validate_pdf_timestamp(emb, validation_context=vc)
            else:
                st = validate_pdf_signature(emb, vc)
        except Exception as e:
            out.append(f"validate:{type(e).__name__}")
            continue
        flags = "".join(c if ok else "-" for c, ok in
                        (("i", st.intact), ("v", st.valid), ("t", st.trusted)))
        line = f"{flags} {st.coverage.name} {st.modification_level.name}"
        if getattr(st, "revoked", False):
            line += " revoked"
        if st.trust_problem_indic is not None:
            line += f" {st.trust_problem_indic.name}"
        out.append(line)
    return f"n={len(sigs)}" + "".join(f" [{x}]" for x in out)


FULL = "ivt ENTIRE_FILE NONE"
LTA = "ivt ENTIRE_REVISION LTA_UPDATES"
FORM = "ivt ENTIRE_REVISION FORM_FILLING"
OTHER = "ivt ENTIRE_REVISION OTHER"

# what pyHanko 0.38 reports (root-only trust anchor, both CRLs, hard-fail); see SAMPLES.md
PYHANKO = {
    "signed_letter": f"n=1 [{FULL}]",
    "signed_multipage_letter": f"n=1 [{FULL}]",
    "signed_letter_adbe": f"n=1 [{FULL}]",
    "signed_letter_ec": f"n=1 [{FULL}]",
    "signed_with_serialnumber_form": f"n=1 [{FULL}]",
    "signed_letter_with_crl": f"n=1 [{LTA}]",
    "signed_letter_timestamped": f"n=1 [{FULL}]",
    "signed_then_dss_added": f"n=1 [{LTA}]",
    "signed_then_dss_added_pyhanko": f"n=1 [{LTA}]",
    "signed_then_validation_info_added": f"n=1 [{LTA}]",
    "not_pdf": "read:PdfReadError",
    "docx_like_zip": "read:PdfReadError",
    "renamed_text_file": "read:PdfReadError",
    "empty_file": "read:PdfReadError",
    "truncated_signed": "read:PdfReadError",
    "garbage_with_pdf_header": "read:PdfReadError",
    "encrypted_pdf": "encrypted",
    "encrypted_pdf_empty_password": "encrypted",
    "signed_encrypted_pdf": "encrypted",
    "large_signed_letter": f"n=1 [{FULL}]",
    "unsigned_letter": "n=0",
    "letter_with_form_field": "n=0",
    "letter_with_empty_sig_field": "n=0",
    "two_signatures": f"n=2 [{FORM}] [{FULL}]",
    "second_signature_adbe_x509_rsa_sha1": f"n=1 [{FORM}]",
    "second_signature_etsi_rfc3161": f"n=2 [{FORM}] [validate:SignatureValidationError]",
    "second_signature_made_up_subfilter": f"n=1 [{FORM}]",
    "signed_then_doc_timestamp": f"n=2 [{LTA}] [{FULL}]",
    "second_signature_outside_acroform": f"n=1 [{OTHER}]",
    "second_signature_without_name": f"n=1 [{OTHER}]",
    "sole_signature_adbe_pkcs7_sha1": "n=0",
    "sole_signature_made_up_subfilter": "n=0",
    "page_content_replaced": f"n=1 [{OTHER}]",
    "new_page_added": f"n=1 [{OTHER}]",
    "annotation_added": f"n=1 [{OTHER}]",
    "form_filled": f"n=1 [{FORM}]",
    "unchanged_object_rewritten": f"n=1 [{LTA}]",
    "info_rewritten": f"n=1 [{LTA}]",
    "info_changed": f"n=1 [{LTA}]",
    "xmp_metadata_added": f"n=1 [{LTA}]",
    "orphan_object_added": f"n=1 [{LTA}]",
    "shadow_hide": f"n=1 [{OTHER}]",
    "shadow_replace": f"n=1 [{FORM}]",
    "shadow_replace_font": f"n=1 [{OTHER}]",
    "shadow_hide_and_replace": f"n=1 [{OTHER}]",
    "catalog_changed_with_dss": f"n=1 [{OTHER}]",
    "catalog_names_changed_with_dss": f"n=1 [{OTHER}]",
    "dss_loophole_refers_to_page": f"n=1 [{OTHER}]",
    "dss_loophole_content_in_vri": f"n=1 [{OTHER}]",
    "dss_loophole_font_in_ocsps": f"n=1 [{OTHER}]",
    "dss_loophole_via_extensions": f"n=1 [{OTHER}]",
    "dss_loophole_metadata_is_content": f"n=1 [{OTHER}]",
    "dss_loophole_info_is_font": f"n=1 [{OTHER}]",
    "dss_loophole_metadata_names_content": f"n=1 [{OTHER}]",
    "dss_loophole_info_names_font": f"n=1 [{OTHER}]",
    "dss_loophole_fills_dangling_reference": f"n=1 [{OTHER}]",
    "dss_loophole_dangling_reference_drawn": f"n=1 [{LTA}]",
    "dss_loophole_image_in_certs": f"n=1 [{OTHER}]",
    "dss_loophole_info_changed": f"n=1 [{LTA}]",
    "signed_with_trailing_bytes": "n=1 [ivt ENTIRE_REVISION NONE]",
    "signed_with_long_trailing_bytes": "read:PdfReadError",
    "signature_wrapping": "n=1 [ivt CONTIGUOUS_BLOCK_FROM_START OTHER]",
    "byterange_gap_moved": "n=1 [ivt UNCLEAR OTHER]",
    "byterange_overlaps_contents": f"n=1 [{FULL}]",  # modified after signing, yet ENTIRE_FILE
    "usf_contents_empty": "sigs:ValueError",
    "usf_contents_zeros": "sigs:ValueError",
    "usf_byterange_missing": "sigs:PdfReadError",
    "usf_byterange_zero": "n=1 [ivt UNCLEAR OTHER]",
    "usf_contents_not_cms": "sigs:ValueError",
    "usf_cert_without_contents": "n=0",
    "cms_over_other_document": "n=1 [-v- ENTIRE_FILE NONE]",
    "signed_by_revoked": "n=1 [iv- ENTIRE_FILE NONE revoked REVOKED_NO_POE]",
    "signed_by_expired": "n=1 [iv- ENTIRE_FILE NONE OUT_OF_BOUNDS_NO_POE]",
    "signed_by_not_yet_valid": "n=1 [iv- ENTIRE_FILE NONE CERTIFICATE_CHAIN_GENERAL_FAILURE]",
    "signed_by_untrusted": "n=1 [iv- ENTIRE_FILE NONE NO_CERTIFICATE_CHAIN_FOUND]",
    "signed_by_self_signed": "n=1 [iv- ENTIRE_FILE NONE CHAIN_CONSTRAINTS_FAILURE]",
    "signed_by_other_org": f"n=1 [{FULL}]",
    "signed_without_regno": f"n=1 [{FULL}]",
    "deflate_bomb": "n=0",
    "signed_deflate_bomb": f"n=1 [{FULL}]",
    "signed_deflate_bomb_unreferenced": f"n=1 [{FULL}]",
    "signed_bomb_redefined": f"n=1 [{FULL}]",
    "deep_nesting": "sigs:RecursionError",
    "deep_dict_nesting": "sigs:PdfReadError",
    "xref_loop": "read:PdfReadError",
    "xref_self_loop": "read:PdfReadError",
    "huge_object_count": "n=0",
}


def test_pyhanko_table_covers_every_sample():
    assert set(PYHANKO) | NEVER_PARSE == {s.name for s in pdfs.SAMPLES}


@pytest.mark.parametrize("name", sorted(PYHANKO))
def test_what_pyhanko_reports(pki, build, name, caplog):
    caplog.set_level(logging.CRITICAL)
    assert _summary(build(name), pki.validation_context()) == PYHANKO[name]


@pytest.mark.parametrize("name", [s.name for s in pdfs.SAMPLES if s.expected == "ACCEPTED"])
def test_good_samples_pass_pyhanko(pki, build, name):
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    r = PdfFileReader(io.BytesIO(build(name)), strict=True)
    sigs = r.embedded_regular_signatures
    assert len(sigs) == 1
    st = validate_pdf_signature(sigs[0], pki.validation_context())
    assert st.intact and st.valid and st.trusted and not st.revoked
    assert st.bottom_line
    assert st.coverage.name in ("ENTIRE_FILE", "ENTIRE_REVISION")
    assert st.modification_level.name in ("NONE", "LTA_UPDATES")


def test_signed_encrypted_validates_after_decrypt(pki, build):
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    r = PdfFileReader(io.BytesIO(build("signed_encrypted_pdf")), strict=False)
    assert r.encrypted
    r.decrypt("")
    st = validate_pdf_signature(r.embedded_signatures[0], pki.validation_context())
    assert st.intact and st.valid and st.trusted and st.coverage.name == "ENTIRE_FILE"


def test_signer_identity_in_samples(build):
    from pyhanko.pdf_utils.reader import PdfFileReader

    def subject(name):
        r = PdfFileReader(io.BytesIO(build(name)), strict=False)
        return r.embedded_signatures[0].signer_cert.subject.native
    assert subject("signed_letter")["organization_identifier"] == f"NTRMN-{REGNO}"
    assert subject("signed_with_serialnumber_form")["serial_number"] == REGNO
    assert subject("signed_by_other_org")["organization_identifier"] == f"NTRMN-{OTHER_REGNO}"
    s = subject("signed_without_regno")
    assert "organization_identifier" not in s and "serial_number" not in s


def test_revocation_unknown_conditions(pki, build):
    """signed_letter + no CRLs, or + an expired CRL: what REVOCATION_UNKNOWN looks like."""
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    data = build("signed_letter")
    for crls, indic in ([[], "CERTIFICATE_CHAIN_GENERAL_FAILURE"],
                        [[pki.expired_crl_der(), pki.root_crl_der()], "TRY_LATER"]):
        r = PdfFileReader(io.BytesIO(data), strict=False)
        st = validate_pdf_signature(r.embedded_signatures[0], pki.validation_context(crls=crls))
        assert st.intact and st.valid and not st.trusted
        assert st.trust_problem_indic.name == indic


def test_issuing_ca_as_trust_anchor_breaks_crl_checks(pki, build):
    """Evidence for the gate: do not list the issuing CA among the trust roots."""
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    r = PdfFileReader(io.BytesIO(build("signed_letter")), strict=False)
    st = validate_pdf_signature(r.embedded_signatures[0],
                                pki.validation_context(trust_issuing=True))
    assert not st.trusted
    assert st.trust_problem_indic.name == "CERTIFICATE_CHAIN_GENERAL_FAILURE"


def test_deflate_bomb_hits_decode_limit(build):
    from pyhanko.pdf_utils.misc import PdfDecodeLimitError
    from pyhanko.pdf_utils.reader import PdfFileReader
    r = PdfFileReader(io.BytesIO(build("deflate_bomb")), strict=False)
    with pytest.raises(PdfDecodeLimitError):
        r.root["/Pages"]["/Kids"][0]["/Contents"].data


def test_huge_xref_claim_is_refused_in_strict_mode(build):
    from pyhanko.pdf_utils.misc import PdfReadError
    from pyhanko.pdf_utils.reader import PdfFileReader
    with pytest.raises(PdfReadError):
        PdfFileReader(io.BytesIO(build("huge_xref_claim")), strict=True)
