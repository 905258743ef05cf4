"""PDF samples for the signature gate: good letters and hostile ones.

Every public function returns the bytes of one PDF (or of something pretending to be one). Its
docstring says what it is, what a *strict* registry gate must answer (a reason code, or
ACCEPTED), and what pyHanko 0.38 itself reports for it, measured with

    r = PdfFileReader(BytesIO(data), strict=False)
    validate_pdf_signature(r.embedded_signatures[0],
                           ValidationContext(trust_roots=[root], other_certs=[issuing],
                                             crls=[issuing CRL, root CRL],
                                             allow_fetching=False, revocation_mode="hard-fail"))

where root is the only trust anchor and the issuing CA is an intermediate
(`pki.validation_context()`). NOTE: making the issuing CA a trust anchor as well
(trust_roots=[root, issuing]) breaks CRL checking in pyhanko-certvalidator 0.33 -- every leaf then
reads trusted=False / CERTIFICATE_CHAIN_GENERAL_FAILURE. See SAMPLES.md for the whole table and
`SAMPLES` at the bottom for a machine-readable list.

Conventions: `pki` is a `pki.TestPKI` (tests/pki.py); `regno` is the registration number the gate expects
for the sending organisation; functions that sign use `pki.org(regno, ...)`.

Most documents are written by hand (`_build_pdf`) so that every object number and byte is known;
signing and "honest" incremental updates use pyHanko; byte-exact attacks append raw updates.
"""
from __future__ import annotations

import asyncio
import datetime as _dt
import hashlib
import io
import os
import re
import struct
import zlib
from dataclasses import dataclass
from typing import Callable

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.generic import pdf_name
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader

__all__ = [
    # builders
    "letter_pdf", "letter_with_form_field", "letter_with_empty_sig_field", "sign",
    # good
    "signed_letter", "signed_letter_adbe", "signed_then_dss_added", "signed_then_dss_added_pyhanko", "signed_letter_ec",
    "signed_letter_with_crl", "signed_letter_timestamped", "signed_with_serialnumber_form",
    "signed_multipage_letter",
    # format
    "not_pdf", "docx_like_zip", "renamed_text_file", "truncated_signed", "garbage_with_pdf_header",
    "encrypted_pdf", "signed_encrypted_pdf", "empty_file", "large_signed_letter",
    # signature count
    "unsigned_letter", "two_signatures", "second_signature_unusual_subfilter",
    "signed_then_doc_timestamp", "second_signature_outside_acroform",
    "second_signature_without_name", "sole_signature_unusual_subfilter",
    # incremental updates
    "page_content_replaced", "annotation_added", "form_filled", "unchanged_object_rewritten",
    "info_rewritten", "info_changed", "xmp_metadata_added", "orphan_object_added", "shadow_hide", "shadow_replace", "shadow_replace_font",
    "shadow_hide_and_replace", "catalog_changed_with_dss", "signed_with_trailing_bytes",
    "new_page_added",
    # wrapping / forgery
    "signature_wrapping", "byterange_gap_moved", "byterange_overlaps_contents", "usf_contents_empty", "usf_contents_zeros",
    "usf_byterange_missing", "usf_byterange_zero", "usf_contents_not_cms",
    "usf_cert_without_contents", "cms_over_other_document",
    # certificates
    "signed_by_revoked", "signed_by_expired", "signed_by_not_yet_valid", "signed_by_untrusted",
    "signed_by_other_org", "signed_without_regno", "signed_by_self_signed",
    # resources
    "deflate_bomb", "signed_deflate_bomb", "signed_bomb_redefined", "deep_nesting", "deep_dict_nesting", "xref_loop",
    "xref_self_loop", "huge_object_count", "huge_xref_claim",
    # registry
    "Sample", "SAMPLES", "sample",
]

_PAGE_W, _PAGE_H = 595, 842
_FIXED_ID = hashlib.md5(b"registry-test-letter").digest()


# =============================================================================================
# low-level writing helpers
# =============================================================================================
def _esc(s: str) -> bytes:
    """A PDF literal string body (ASCII / Latin-1 only)."""
    b = s.encode("latin-1", "replace")
    return b.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")


def _stream(dict_inner: bytes, data: bytes) -> bytes:
    return (b"<< " + dict_inner + b" /Length %d >>\nstream\n" % len(data) + data
            + b"\nendstream")


def _text_content(lines: list[str], *, size=12, x=72, y=770, leading=16) -> bytes:
    out = [b"BT", b"/F1 %d Tf" % size, b"%d TL" % leading, b"%d %d Td" % (x, y)]
    for line in lines:
        out.append(b"(" + _esc(line) + b") Tj T*")
    out.append(b"ET")
    return b"\n".join(out)


def _build_pdf(objects: dict[int, bytes], *, root: int = 1, info: int | None = 4,
               version: bytes = b"1.7", trailer_extra: bytes = b"") -> bytes:
    """Write a classic (xref table) PDF from {number: body}; generation 0 everywhere."""
    out = bytearray(b"%PDF-" + version + b"\n%\xe2\xe3\xcf\xd3\n")
    offsets = {}
    for num in sorted(objects):
        offsets[num] = len(out)
        out += b"%d 0 obj\n" % num + objects[num] + b"\nendobj\n"
    size = max(objects) + 1
    xref_at = len(out)
    out += b"xref\n0 %d\n" % size
    for n in range(size):
        if n in offsets:
            out += b"%010d 00000 n \n" % offsets[n]
        else:
            out += b"0000000000 65535 f \n"
    docid = hashlib.md5(bytes(out)).hexdigest().encode()
    out += (b"trailer\n<< /Size %d /Root %d 0 R" % (size, root)
            + (b" /Info %d 0 R" % info if info else b"")
            + b" /ID [<" + docid + b"> <" + docid + b">]" + trailer_extra
            + b" >>\nstartxref\n%d\n%%%%EOF\n" % xref_at)
    return bytes(out)


def _reader(data: bytes) -> PdfFileReader:
    return PdfFileReader(io.BytesIO(data), strict=False)


def _ser(obj) -> bytes:
    """Serialise a pyHanko generic object the way pyHanko would write it."""
    buf = io.BytesIO()
    obj.write_to_stream(buf, None)
    return buf.getvalue()


def _raw_update(pdf: bytes, objects: dict[int, bytes], *, root: int | None = None,
                trailer_extra: bytes = b"") -> bytes:
    """Append a hand-written incremental update (classic xref section with /Prev).

    `objects` maps object numbers (generation 0) to raw bodies; they may be new numbers or
    overrides of existing ones."""
    r = _reader(pdf)
    tr = r.trailer
    prev = r.last_startxref
    size = max(int(tr["/Size"]), max(objects) + 1)
    root_ref = tr.raw_get("/Root").reference if root is None else generic.Reference(root, 0)
    try:
        info_ref = tr.raw_get("/Info").reference
    except KeyError:
        info_ref = None
    try:
        id1, id2 = tr["/ID"]
        ids = b" /ID [<" + bytes(id1.original_bytes).hex().encode() + b"> <" + os.urandom(16).hex().encode() + b">]"
    except KeyError:
        ids = b""
    out = bytearray(pdf)
    if not out.endswith(b"\n"):
        out += b"\n"
    offsets = {}
    for num in sorted(objects):
        offsets[num] = len(out)
        out += b"%d 0 obj\n" % num + objects[num] + b"\nendobj\n"
    xref_at = len(out)
    out += b"xref\n"
    for num in sorted(offsets):
        out += b"%d 1\n%010d 00000 n \n" % (num, offsets[num])
    out += (b"trailer\n<< /Size %d /Root %d %d R" % (size, root_ref.idnum, root_ref.generation)
            + (b" /Info %d %d R" % (info_ref.idnum, info_ref.generation) if info_ref else b"")
            + ids + b" /Prev %d" % prev + trailer_extra
            + b" >>\nstartxref\n%d\n%%%%EOF\n" % xref_at)
    return bytes(out)


def _raw_object_bytes(pdf: bytes, num: int) -> bytes:
    """The body of the *last* definition of object `num` (byte-exact)."""
    matches = list(re.finditer(rb"(?:^|[\r\n])%d 0 obj\s" % num, pdf))
    if not matches:
        raise KeyError(num)
    start = matches[-1].end()
    end = pdf.index(b"endobj", start)
    return pdf[start:end].rstrip(b"\r\n")


def _update(pdf: bytes, fn: Callable[[IncrementalPdfFileWriter], None]) -> bytes:
    """Apply `fn` to a pyHanko incremental writer and return the updated file."""
    w = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
    fn(w)
    out = io.BytesIO()
    w.write(out)
    return out.getvalue()


def _first_page_ref(w) -> generic.IndirectObject:
    return w.root["/Pages"]["/Kids"].raw_get(0)


# =============================================================================================
# unsigned letters
# =============================================================================================
_DEFAULT_TEXT = ("Registry test letter No. 42/2025\n"
                 "To: Bayanzurkh district governor's office\n"
                 "Subject: Request for information\n"
                 "\n"
                 "Dear colleagues, please provide the figures for the first quarter.\n"
                 "Sincerely, the sender")


def _letter_objects(text: str = _DEFAULT_TEXT, pages: int = 1, *,
                    page_extra: bytes = b"", catalog_extra: bytes = b"",
                    resources_extra: bytes = b"") -> dict[int, bytes]:
    """Objects of a plain letter: 1 catalog, 2 page tree, 3 font, 4 info, pages at 10+2i (page)
    and 11+2i (content). Numbers >= 100 are free for extras."""
    kids = b" ".join(b"%d 0 R" % (10 + 2 * i) for i in range(pages))
    objs = {
        1: b"<< /Type /Catalog /Pages 2 0 R" + catalog_extra + b" >>",
        2: b"<< /Type /Pages /Kids [" + kids + b"] /Count %d >>" % pages,
        3: b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        4: b"<< /Title (Registry test letter) /Producer (registry tests) "
           b"/CreationDate (D:20250101120000Z) >>",
    }
    lines = text.split("\n")
    for i in range(pages):
        page_lines = lines + ([f"Page {i + 1} of {pages}"] if pages > 1 else [])
        objs[10 + 2 * i] = (
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %d %d] " % (_PAGE_W, _PAGE_H)
            + b"/Resources << /Font << /F1 3 0 R >>" + resources_extra + b" >> "
            + b"/Contents %d 0 R" % (11 + 2 * i) + (page_extra if i == 0 else b"") + b" >>")
        objs[11 + 2 * i] = _stream(b"", _text_content(page_lines))
    return objs


def letter_pdf(text: str = _DEFAULT_TEXT, pages: int = 1) -> bytes:
    """A plain, unsigned one-revision PDF letter (Helvetica text, no AcroForm).

    Gate: NO_SIGNATURE.
    pyHanko: reads fine; embedded_signatures == [].
    """
    return _build_pdf(_letter_objects(text, pages))


def unsigned_letter() -> bytes:
    """Same as `letter_pdf()`: a valid PDF without any signature.

    Gate: NO_SIGNATURE.
    pyHanko: embedded_signatures == [].
    """
    return letter_pdf()


def letter_with_form_field(value: str = "") -> bytes:
    """An unsigned letter with one AcroForm text field "Amount" (obj 20, widget merged) on page 1,
    with value `value` and a matching appearance stream (obj 21).

    Gate: NO_SIGNATURE.
    pyHanko: embedded_signatures == [] (text fields are not signature fields).
    """
    objs = _letter_objects(page_extra=b" /Annots [20 0 R]",
                           catalog_extra=b" /AcroForm << /Fields [20 0 R] "
                                         b"/DA (/Helv 12 Tf 0 g) "
                                         b"/DR << /Font << /Helv 3 0 R >> >> >>")
    objs[20] = (b"<< /Type /Annot /Subtype /Widget /FT /Tx /T (Amount) /V (" + _esc(value)
                + b") /DA (/Helv 12 Tf 0 g) /Rect [72 600 272 620] /F 4 /P 10 0 R "
                + b"/AP << /N 21 0 R >> >>")
    objs[21] = _field_appearance(value)
    return _build_pdf(objs)


def _field_appearance(value: str) -> bytes:
    body = b"/Tx BMC q BT /Helv 12 Tf 0 g 2 5 Td (" + _esc(value) + b") Tj ET Q EMC"
    return _stream(b"/Type /XObject /Subtype /Form /BBox [0 0 200 20] "
                   b"/Resources << /Font << /Helv 3 0 R >> >>", body)


def letter_with_empty_sig_field() -> bytes:
    """An unsigned letter with an EMPTY signature field "Signature1" (/FT /Sig, no /V), invisible
    widget on page 1, listed in /AcroForm /Fields. An empty field is not a signature.

    Gate: NO_SIGNATURE.
    pyHanko: embedded_signatures == [] (enumerate_sig_fields(filled_status=True) skips it).
    """
    objs = _letter_objects(page_extra=b" /Annots [20 0 R]",
                           catalog_extra=b" /AcroForm << /Fields [20 0 R] >>")
    objs[20] = (b"<< /Type /Annot /Subtype /Widget /FT /Sig /T (Signature1) "
                b"/Rect [0 0 0 0] /F 132 /P 10 0 R >>")
    return _build_pdf(objs)


# =============================================================================================
# signing
# =============================================================================================
def _signer(identity):
    from cryptography.hazmat.primitives.asymmetric import ec, rsa
    from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
    from pyhanko.sign.general import get_pyca_cryptography_hash
    from pyhanko.sign.signers import SimpleSigner
    from pyhanko_certvalidator.registry import SimpleCertificateStore

    class _LoadedKeySigner(SimpleSigner):
        # SimpleSigner re-parses the DER key for every signature, and cryptography validates
        # RSA keys on load (~40 ms); sign with the already loaded key instead.
        def sign_raw(self, data: bytes, digest_algorithm: str) -> bytes:
            mech = self.get_signature_mechanism_for_digest(digest_algorithm)
            name = mech["algorithm"].native
            key = identity.key
            h = get_pyca_cryptography_hash(digest_algorithm)
            if isinstance(key, rsa.RSAPrivateKey) and name in (
                    "rsassa_pkcs1v15", "sha256_rsa", "sha384_rsa", "sha512_rsa"):
                return key.sign(data, PKCS1v15(), h)
            if isinstance(key, ec.EllipticCurvePrivateKey) and "ecdsa" in name:
                return key.sign(data, ec.ECDSA(h))
            return super().sign_raw(data, digest_algorithm)

    # the chain without the self-signed root: for our PKI, just the issuing CA
    others = [c.asn1_cert for c in identity.chain if c.issuer is not None]
    return _LoadedKeySigner(signing_cert=identity.asn1_cert, signing_key=identity.asn1_key,
                            cert_registry=SimpleCertificateStore.from_certs(others))


def _timestamper(tsa):
    from pyhanko.sign.timestamps import DummyTimeStamper
    from pyhanko_certvalidator.registry import SimpleCertificateStore
    return DummyTimeStamper(tsa_cert=tsa.asn1_cert, tsa_key=tsa.asn1_key,
                            certs_to_embed=SimpleCertificateStore.from_certs(
                                [c.asn1_cert for c in tsa.chain if c.issuer is not None]))


def sign(pdf: bytes, identity, *, subfilter: str = "pades", field_name: str = "Signature1",
         embed_crl=False, timestamp=False, existing_fields_only: bool = False) -> bytes:
    """Sign `pdf` with pyHanko as an incremental update (invisible field `field_name`).

    subfilter: "pades" (/ETSI.CAdES.detached) or "adbe" (/adbe.pkcs7.detached).
    The CMS carries the signer's certificate and the issuing CA (not the root); SHA-256.
    embed_crl: True (the identity's PKI CRLs: issuing + root) or a list of DER CRLs -- pyHanko
      then embeds revocation info: for PAdES a /DSS in a second incremental update (and it
      re-writes /Info ModDate/Producer there), for adbe the Adobe revocation attribute.
    timestamp: True (the identity's `pki.tsa()`) or a TSA `Identity`: an RFC 3161 signature
      timestamp from an in-process TSA (pyHanko's DummyTimeStamper), i.e. PAdES B-T.
    """
    from pyhanko.sign import signers
    from pyhanko.sign.fields import SigSeedSubFilter
    sf = {"pades": SigSeedSubFilter.PADES,
          "adbe": SigSeedSubFilter.ADOBE_PKCS7_DETACHED}[subfilter]
    kw = {}
    if embed_crl:
        if embed_crl is True:
            if identity.pki is None:
                raise TypeError("embed_crl=True needs an identity made by TestPKI.org(); "
                                "pass a list of DER CRLs instead")
            embed_crl = [identity.pki.crl_der(), identity.pki.root_crl_der()]
        from pyhanko_certvalidator import ValidationContext
        root = identity.chain[-1]
        kw = dict(embed_validation_info=True, validation_context=ValidationContext(
            trust_roots=[root.asn1_cert], crls=list(embed_crl), allow_fetching=False,
            revocation_mode="hard-fail"))
    if timestamp is True:
        if identity.pki is None:
            raise TypeError("timestamp=True needs an identity made by TestPKI.org()")
        timestamp = identity.pki.tsa()
    meta = signers.PdfSignatureMetadata(field_name=field_name, subfilter=sf,
                                        md_algorithm="sha256", **kw)
    w = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
    out = signers.sign_pdf(w, meta, signer=_signer(identity),
                           timestamper=_timestamper(timestamp) if timestamp else None,
                           existing_fields_only=existing_fields_only)
    return out.getvalue()


def _cms_for(identity, data: bytes) -> bytes:
    """A detached CMS (PAdES-style signed attributes) over `data`, DER."""
    digest = hashlib.sha256(data).digest()
    ci = asyncio.run(_signer(identity).async_sign(digest, "sha256", use_pades=True))
    return ci.dump()


_BR_PLACEHOLDER = b"[0 9999999999 9999999999 9999999999]"


def _manual_sig_update(pdf: bytes, identity, *, subfilter: bytes = b"/ETSI.CAdES.detached",
                       sig_type: bytes = b"/Sig", field_name: bytes = b"Signature2",
                       in_acroform: bool = True, with_name: bool = True,
                       contents_size: int = 16384, new_objects_extra=None,
                       fill: bool = True) -> bytes:
    """Append an incremental update adding a *filled* signature field whose signature dictionary
    is written by hand (any /SubFilter), then sign it for real: ByteRange over the whole new
    file, CMS by `identity`. Returns the complete file.

    in_acroform=False: the widget is only put in the page's /Annots, not in /AcroForm /Fields.
    with_name=False: the field has no /T.
    """
    r = _reader(pdf)
    size = int(r.trailer["/Size"])
    sig_num, field_num = size, size + 1
    field_ref = generic.IndirectObject(field_num, 0, None)
    root_ref = r.trailer.raw_get("/Root")
    root = root_ref.get_object()
    page_ref = root["/Pages"]["/Kids"].raw_get(0)
    objects: dict[int, bytes] = {}
    if in_acroform:
        # append the new field to /AcroForm /Fields, rewriting whichever object holds it
        cat = generic.DictionaryObject(root)
        af_raw = root.get("/AcroForm")
        if isinstance(af_raw, generic.IndirectObject):
            af = generic.DictionaryObject(af_raw.get_object())
        else:
            af = generic.DictionaryObject(af_raw or {})
        fields_raw = af.get("/Fields")
        if isinstance(fields_raw, generic.IndirectObject):
            fields = generic.ArrayObject(list(fields_raw.get_object()) + [field_ref])
            objects[fields_raw.idnum] = _ser(fields)
        else:
            af[pdf_name("/Fields")] = generic.ArrayObject(list(fields_raw or []) + [field_ref])
        af[pdf_name("/SigFlags")] = generic.NumberObject(3)
        if isinstance(af_raw, generic.IndirectObject):
            objects[af_raw.idnum] = _ser(af)
        else:
            cat[pdf_name("/AcroForm")] = af
            objects[root_ref.idnum] = _ser(cat)
    page = generic.DictionaryObject(page_ref.get_object())
    annots_raw = page.get("/Annots")
    if isinstance(annots_raw, generic.IndirectObject):
        objects[annots_raw.idnum] = _ser(generic.ArrayObject(
            list(annots_raw.get_object()) + [field_ref]))
    else:
        page[pdf_name("/Annots")] = generic.ArrayObject(list(annots_raw or []) + [field_ref])
        objects[page_ref.idnum] = _ser(page)
    objects[sig_num] = (b"<< /Type " + sig_type + b" /Filter /Adobe.PPKLite /SubFilter "
                        + subfilter + b" /M (D:20250101120000Z) /ByteRange " + _BR_PLACEHOLDER
                        + b" /Contents <" + b"0" * (2 * contents_size) + b"> >>")
    objects[field_num] = (b"<< /Type /Annot /Subtype /Widget /FT /Sig"
                          + (b" /T (" + field_name + b")" if with_name else b"")
                          + b" /V %d 0 R /Rect [0 0 0 0] /F 132 /P %d 0 R >>"
                          % (sig_num, page_ref.idnum))
    if new_objects_extra:
        objects.update(new_objects_extra)
    data = bytearray(_raw_update(pdf, objects))
    if not fill:
        return bytes(data)
    return _fill_signature(data, len(pdf), identity)


def _fill_signature(data: bytearray, search_from: int, identity, *, cms: bytes | None = None,
                    byte_range=None) -> bytes:
    """Patch the placeholder /ByteRange and /Contents found after `search_from`."""
    br_at = data.index(_BR_PLACEHOLDER, search_from)
    m = re.compile(rb"/Contents <(0+)>").search(bytes(data), br_at)
    start, end = m.start(1) - 1, m.end(1) + 1  # include <>
    if byte_range is None:
        byte_range = [0, start, end, len(data) - end]
    br = ("[" + " ".join(str(x) for x in byte_range)).encode()
    br = br.ljust(len(_BR_PLACEHOLDER) - 1) + b"]"
    data[br_at:br_at + len(_BR_PLACEHOLDER)] = br
    if cms is None:
        covered = bytes(data[byte_range[0]:byte_range[0] + byte_range[1]]) + \
            bytes(data[byte_range[2]:byte_range[2] + byte_range[3]])
        cms = _cms_for(identity, covered)
    hexed = cms.hex().encode()
    if len(hexed) > end - start - 2:
        raise ValueError("signature placeholder too small")
    data[start + 1:start + 1 + len(hexed)] = hexed
    return bytes(data)


# =============================================================================================
# good letters
# =============================================================================================
def signed_letter(pki, regno: str) -> bytes:
    """A one-page letter signed once (PAdES, /ETSI.CAdES.detached) by org `regno`.

    Gate: ACCEPTED.
    pyHanko: intact=True valid=True trusted=True revoked=False coverage=ENTIRE_FILE
    modification_level=NONE docmdp_ok=True bottom_line=True.
    """
    return sign(letter_pdf(), pki.org(regno))


def signed_multipage_letter(pki, regno: str, pages: int = 3) -> bytes:
    """A three-page letter signed once (PAdES).

    Gate: ACCEPTED.
    pyHanko: as signed_letter (intact, valid, trusted, ENTIRE_FILE, NONE).
    """
    return sign(letter_pdf(pages=pages), pki.org(regno))


def signed_letter_adbe(pki, regno: str) -> bytes:
    """A letter signed once with /SubFilter /adbe.pkcs7.detached (CMS, not PAdES).

    Gate: ACCEPTED (or NOT_PADES if the gate is configured to require /ETSI.CAdES.detached).
    pyHanko: intact=True valid=True trusted=True coverage=ENTIRE_FILE modification_level=NONE.
    """
    return sign(letter_pdf(), pki.org(regno), subfilter="adbe")


def signed_letter_ec(pki, regno: str) -> bytes:
    """A letter signed (PAdES) with an ECDSA P-256 key (the e-Token case).

    Gate: ACCEPTED.
    pyHanko: intact=True valid=True trusted=True coverage=ENTIRE_FILE modification_level=NONE.
    """
    return sign(letter_pdf(), pki.org(regno, key_type="ec"))


def signed_with_serialnumber_form(pki, regno: str) -> bytes:
    """Signed (PAdES) by a certificate that carries the registration number as subject
    serialNumber "<regno>" instead of organizationIdentifier "NTRMN-<regno>".

    Gate: ACCEPTED (the gate must accept both forms).
    pyHanko: intact=True valid=True trusted=True coverage=ENTIRE_FILE modification_level=NONE.
    """
    return sign(letter_pdf(), pki.org(regno, id_form="serialNumber"))


def signed_letter_with_crl(pki, regno: str) -> bytes:
    """Signed (PAdES) with embed_validation_info: pyHanko signs, then adds a /DSS with the chain
    and the CRLs in a second incremental update (PAdES B-LT, done by pyHanko itself).

    Gate: ACCEPTED.
    pyHanko: intact=True valid=True trusted=True coverage=ENTIRE_REVISION
    modification_level=LTA_UPDATES docmdp_ok=True.
    """
    return sign(letter_pdf(), pki.org(regno), embed_crl=True)


def signed_letter_timestamped(pki, regno: str) -> bytes:
    """Signed (PAdES B-T): the CMS carries an RFC 3161 signature timestamp from `pki.tsa()`.

    Gate: ACCEPTED.
    pyHanko: intact=True valid=True trusted=True coverage=ENTIRE_FILE modification_level=NONE;
    timestamp_validity.intact/valid/trusted=True.
    """
    return sign(letter_pdf(), pki.org(regno), timestamp=True)


def _dss_material(pki, ident):
    from asn1crypto import crl as a_crl
    return dict(certs=[ident.asn1_cert, pki.issuing.asn1_cert, pki.root.asn1_cert],
                crls=[a_crl.CertificateList.load(pki.crl_der()),
                      a_crl.CertificateList.load(pki.root_crl_der())])


def signed_then_dss_added(pki, regno: str) -> bytes:
    """Signed (PAdES), then a separate incremental update that ONLY adds a /DSS (certs: leaf,
    issuing, root; CRLs: issuing + root) -- written with
    `DocumentSecurityStore.supply_dss_in_writer` offline, with pyHanko's automatic /Info
    touch-up switched off, so the update holds exactly: the catalog (+ /DSS), the DSS
    dictionary and its cert/CRL streams. This is B-LT augmentation in its purest form.

    Gate: ACCEPTED.
    pyHanko: intact=True valid=True trusted=True coverage=ENTIRE_REVISION
    modification_level=LTA_UPDATES docmdp_ok=True bottom_line=True.
    """
    from pyhanko.sign.validation.dss import DocumentSecurityStore
    ident = pki.org(regno)
    w = IncrementalPdfFileWriter(io.BytesIO(signed_letter(pki, regno)), strict=False)
    w._update_meta = lambda: None  # do not bump /Info ModDate/Producer: DSS only
    DocumentSecurityStore.supply_dss_in_writer(w, None, **_dss_material(pki, ident))
    out = io.BytesIO()
    w.write(out)
    return out.getvalue()


def signed_then_dss_added_pyhanko(pki, regno: str) -> bytes:
    """Signed (PAdES), then `DocumentSecurityStore.add_dss(...)` exactly as pyHanko does it:
    the update adds the /DSS AND re-writes the /Info dictionary with a new /ModDate and
    /Producer (pyHanko's writer always does that; Acrobat-style LTV tools do similar).

    Gate: ACCEPTED (a gate that allows only /ModDate and /Producer to change in /Info next to
    a DSS update); MODIFIED_AFTER_SIGNING if the gate insists on DSS-only updates -- policy
    point, decide explicitly.
    pyHanko: intact=True valid=True trusted=True coverage=ENTIRE_REVISION
    modification_level=LTA_UPDATES docmdp_ok=True bottom_line=True.
    """
    from pyhanko.sign.validation.dss import DocumentSecurityStore
    ident = pki.org(regno)
    buf = io.BytesIO(signed_letter(pki, regno))
    DocumentSecurityStore.add_dss(buf, sig_contents=None, strict=False,
                                  **_dss_material(pki, ident))
    return buf.getvalue()


# =============================================================================================
# not PDFs, broken PDFs, encrypted PDFs, size
# =============================================================================================
def not_pdf() -> bytes:
    """A 1x1 PNG image.

    Gate: NOT_PDF.
    pyHanko: PdfFileReader() raises PdfReadError("Illegal PDF header").
    """
    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    return (b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00"))
            + chunk(b"IEND", b""))


def docx_like_zip() -> bytes:
    """A small ZIP archive laid out like a .docx (PK header, [Content_Types].xml, word/...).

    Gate: NOT_PDF.
    pyHanko: PdfFileReader() raises PdfReadError("Illegal PDF header").
    """
    import zipfile
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml",
                   '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/'
                   'package/2006/content-types"/>')
        z.writestr("word/document.xml", "<w:document/>")
    return buf.getvalue()


def renamed_text_file() -> bytes:
    """A UTF-8 text file (Mongolian text) as if someone renamed letter.txt to letter.pdf.

    Gate: NOT_PDF.
    pyHanko: PdfFileReader() raises PdfReadError("Illegal PDF header").
    """
    return "Албан бичиг\nТа бүхэнд энэ өдрийн мэнд хүргэе.\n".encode("utf-8")


def empty_file() -> bytes:
    """Zero bytes.

    Gate: NOT_PDF.
    pyHanko: PdfFileReader() raises PdfReadError("Illegal PDF header").
    """
    return b""


def truncated_signed(pki, regno: str) -> bytes:
    """The first half of a signed letter (cut in the middle; no xref, no trailer).

    Gate: MALFORMED_PDF.
    pyHanko: PdfFileReader() raises PdfReadError("EOF marker not found").
    """
    data = signed_letter(pki, regno)
    return data[: len(data) // 2]


def garbage_with_pdf_header() -> bytes:
    """'%PDF-1.7' followed by 4 KiB of random bytes.

    Gate: MALFORMED_PDF.
    pyHanko: PdfFileReader() raises PdfReadError("startxref not found").
    """
    rnd = hashlib.sha256(b"garbage").digest() * 128
    return b"%PDF-1.7\n" + rnd + b"\n%%EOF\n"


def encrypted_pdf(user_password: str = "user") -> bytes:
    """A one-page letter encrypted with AES-256 (PDF 2.0 standard security handler, written by
    pyHanko's PdfFileWriter.encrypt). user_password="" gives a file that opens without a
    password but is still encrypted.

    Gate: ENCRYPTED_PDF.
    pyHanko: PdfFileReader(...).encrypted == True; embedded_signatures == [] (no AcroForm, so
    nothing needs decrypting); decoding the page content raises PdfKeyNotAvailableError.
    """
    from pyhanko.pdf_utils.writer import PageObject, PdfFileWriter
    w = PdfFileWriter(stream_xrefs=False)
    font = w.add_object(generic.DictionaryObject({
        pdf_name("/Type"): pdf_name("/Font"), pdf_name("/Subtype"): pdf_name("/Type1"),
        pdf_name("/BaseFont"): pdf_name("/Helvetica")}))
    content = w.add_object(generic.StreamObject(stream_data=_text_content(["Secret letter"])))
    page = PageObject(contents=content, media_box=(0, 0, _PAGE_W, _PAGE_H),
                      resources=generic.DictionaryObject({pdf_name("/Font"): generic.DictionaryObject(
                          {pdf_name("/F1"): font})}))
    w.insert_page(page)
    w.encrypt("owner-secret", user_password)
    out = io.BytesIO()
    w.write(out)
    return out.getvalue()


def signed_encrypted_pdf(pki, regno: str) -> bytes:
    """`encrypted_pdf(user_password="")` then signed (PAdES) by `regno` through pyHanko
    (decrypting with the empty user password; the update is encrypted the same way).

    Gate: ENCRYPTED_PDF.
    pyHanko: reader.encrypted=True; reader.embedded_signatures raises PdfKeyNotAvailableError
    ("No key available to decrypt, please authenticate first."); after reader.decrypt("") the
    signature validates (intact/valid/trusted=True, ENTIRE_FILE).
    """
    from pyhanko.sign import signers
    from pyhanko.sign.fields import SigSeedSubFilter
    w = IncrementalPdfFileWriter(io.BytesIO(encrypted_pdf("")), strict=False)
    w.encrypt("")
    meta = signers.PdfSignatureMetadata(field_name="Signature1",
                                        subfilter=SigSeedSubFilter.PADES, md_algorithm="sha256")
    return signers.sign_pdf(w, meta, signer=_signer(pki.org(regno))).getvalue()


def large_signed_letter(pki, regno: str, size: int = 1_500_000) -> bytes:
    """A signed letter padded to about `size` bytes with an unreferenced incompressible stream
    (in the signed revision).

    Gate: TOO_LARGE when the gate's size limit is below `size` (set a 1 MB limit in tests);
    otherwise ACCEPTED.
    pyHanko: intact=True valid=True trusted=True coverage=ENTIRE_FILE modification_level=NONE
    in 0.02 s (never reads the padding).
    """
    objs = _letter_objects()
    pad = b"".join(hashlib.sha256(b"%d" % i).digest() for i in range(size // 32 + 1))[:size]
    objs[100] = _stream(b"", pad)
    return sign(_build_pdf(objs), pki.org(regno))


# =============================================================================================
# how many signatures
# =============================================================================================
def two_signatures(pki, regno: str) -> bytes:
    """Signed twice by the same organisation (Signature1, then Signature2), both PAdES.

    Gate: MULTIPLE_SIGNATURES.
    pyHanko: 2 embedded signatures; the first: coverage=ENTIRE_REVISION
    modification_level=FORM_FILLING docmdp_ok=True bottom_line=True; the second ENTIRE_FILE.
    """
    ident = pki.org(regno)
    return sign(sign(letter_pdf(), ident), ident, field_name="Signature2")


def second_signature_unusual_subfilter(pki, regno: str,
                                       subfilter: str = "/adbe.x509.rsa_sha1") -> bytes:
    """Signed (PAdES), then a second filled signature field "Signature2" is appended whose
    signature dictionary has /SubFilter `subfilter` (default /adbe.x509.rsa_sha1; try also
    "/ETSI.RFC3161" or a made-up "/Registry.Made.Up"); its /Contents is a real CMS over the
    whole file by the same key and its /ByteRange is a standard one.

    Gate: MULTIPLE_SIGNATURES (the gate must count every filled /Sig field, not only the ones
    pyHanko understands).
    pyHanko: embedded_signatures DROPS /adbe.x509.rsa_sha1 and made-up subfilters (a log
    warning only) and lists 1 signature, which then reads intact=True valid=True trusted=True
    coverage=ENTIRE_REVISION modification_level=FORM_FILLING docmdp_ok=True bottom_line=True
    -- pyHanko alone ACCEPTS the file. With /ETSI.RFC3161 (in a /Type /Sig dictionary) both are
    listed and validate_pdf_signature() on the second raises SignatureValidationError
    ("/ETSI.RFC3161 is not a recognized SubFilter type in signatures.").
    """
    return _manual_sig_update(signed_letter(pki, regno), pki.org(regno),
                              subfilter=subfilter.encode())


def sole_signature_unusual_subfilter(pki, regno: str,
                                     subfilter: str = "/adbe.pkcs7.sha1") -> bytes:
    """An unsigned letter whose only signature has /SubFilter `subfilter` (default the legacy
    /adbe.pkcs7.sha1); /Contents is a real detached CMS by `regno` over a standard ByteRange.

    Gate: NOT_PADES (a signature is present, in a format the registry does not accept) -- NOT
    NO_SIGNATURE. SIGNATURE_INVALID is acceptable too (the detached CMS does not even match what
    /adbe.pkcs7.sha1 prescribes).
    pyHanko: embedded_signatures == [] (skipped, log warning only): pyHanko says
    "unsigned".
    """
    return _manual_sig_update(letter_pdf(), pki.org(regno), subfilter=subfilter.encode(),
                              field_name=b"Signature1")


def signed_then_doc_timestamp(pki, regno: str) -> bytes:
    """Signed (PAdES), then a PAdES document timestamp (/Type /DocTimeStamp,
    /SubFilter /ETSI.RFC3161) by `pki.tsa()` is added in a second update (B-LTA style).

    Gate: MULTIPLE_SIGNATURES under the "exactly one signature field" rule. (Policy point: a
    gate that wants to allow PAdES-LTA archival timestamps would answer ACCEPTED; decide
    explicitly.)
    pyHanko: 2 entries (the second is in embedded_timestamp_signatures); signature:
    intact/valid/trusted=True coverage=ENTIRE_REVISION modification_level=LTA_UPDATES
    bottom_line=True; validate_pdf_timestamp(): intact/valid/trusted=True coverage=ENTIRE_FILE.
    """
    from pyhanko.sign import signers
    data = signed_letter(pki, regno)
    w = IncrementalPdfFileWriter(io.BytesIO(data), strict=False)
    ts = signers.PdfTimeStamper(_timestamper(pki.tsa()))
    out = io.BytesIO()
    ts.timestamp_pdf(w, "sha256", validation_context=None, output=out)
    return out.getvalue()


def second_signature_outside_acroform(pki, regno: str) -> bytes:
    """Signed (PAdES), then a second real signature (by the same key, standard ByteRange,
    /ETSI.CAdES.detached) whose widget is added ONLY to the page's /Annots -- not to
    /AcroForm /Fields. Some viewers still show it.

    Gate: MULTIPLE_SIGNATURES (or MODIFIED_AFTER_SIGNING -- either way not ACCEPTED).
    pyHanko: embedded_signatures lists ONE signature (only /AcroForm /Fields is
    walked); it reads intact/valid/trusted=True coverage=ENTIRE_REVISION modification_level=OTHER
    docmdp_ok=False (diff: "unexplained xrefs": page, new widget, new sig dict).
    """
    return _manual_sig_update(signed_letter(pki, regno), pki.org(regno), in_acroform=False)


def second_signature_without_name(pki, regno: str) -> bytes:
    """Signed (PAdES), then a second real signature field in /AcroForm /Fields that has no /T
    (field name). pyHanko's field walker skips fields without /T.

    Gate: MULTIPLE_SIGNATURES (or MODIFIED_AFTER_SIGNING).
    pyHanko: embedded_signatures lists ONE signature (fields without /T are skipped);
    it reads intact/valid/trusted=True coverage=ENTIRE_REVISION modification_level=OTHER
    docmdp_ok=False.
    """
    return _manual_sig_update(signed_letter(pki, regno), pki.org(regno), with_name=False)


# =============================================================================================
# incremental updates after a valid signature
# =============================================================================================
def page_content_replaced(pki, regno: str) -> bytes:
    """Signed (PAdES), then an incremental update gives page 1 a NEW content stream with other
    text (the page object is rewritten to point at it).

    Gate: MODIFIED_AFTER_SIGNING.
    pyHanko: intact=True valid=True trusted=True coverage=ENTIRE_REVISION
    modification_level=OTHER docmdp_ok=False bottom_line=False.
    """
    def fn(w):
        page_ref = _first_page_ref(w)
        page = page_ref.get_object()
        new = w.add_object(generic.StreamObject(stream_data=_text_content(
            ["Registry test letter No. 42/2025", "Pay 1 000 000 MNT to account 123."])))
        page[pdf_name("/Contents")] = new
        w.mark_update(page_ref)
    return _update(signed_letter(pki, regno), fn)


def new_page_added(pki, regno: str) -> bytes:
    """Signed (PAdES), then an update appends a second page to the page tree.

    Gate: MODIFIED_AFTER_SIGNING.
    pyHanko: intact/valid/trusted=True coverage=ENTIRE_REVISION modification_level=OTHER
    docmdp_ok=False bottom_line=False.
    """
    from pyhanko.pdf_utils.writer import PageObject

    def fn(w):
        content = w.add_object(generic.StreamObject(stream_data=_text_content(["Appendix"])))
        font = w.root["/Pages"]["/Kids"][0]["/Resources"].raw_get("/Font")
        w.insert_page(PageObject(contents=content, media_box=(0, 0, _PAGE_W, _PAGE_H),
                                 resources=generic.DictionaryObject({pdf_name("/Font"): font})))
    return _update(signed_letter(pki, regno), fn)


def annotation_added(pki, regno: str) -> bytes:
    """Signed (PAdES), then an update adds a /FreeText annotation ("PAID IN FULL") to page 1.

    Gate: MODIFIED_AFTER_SIGNING.
    pyHanko: intact=True valid=True trusted=True coverage=ENTIRE_REVISION
    modification_level=OTHER docmdp_ok=False bottom_line=False (pyHanko 0.38's default diff
    policy has no annotation rule at all, so any new annotation is OTHER).
    """
    def fn(w):
        page_ref = _first_page_ref(w)
        annot = w.add_object(generic.DictionaryObject({
            pdf_name("/Type"): pdf_name("/Annot"),
            pdf_name("/Subtype"): pdf_name("/FreeText"),
            pdf_name("/Rect"): generic.ArrayObject(map(generic.NumberObject, (72, 500, 372, 540))),
            pdf_name("/Contents"): generic.TextStringObject("PAID IN FULL"),
            pdf_name("/DA"): generic.TextStringObject("/Helv 18 Tf 1 0 0 rg"),
            pdf_name("/F"): generic.NumberObject(4),
            pdf_name("/P"): page_ref,
        }))
        w.register_annotation(page_ref, annot)
    return _update(signed_letter(pki, regno), fn)


def form_filled(pki, regno: str) -> bytes:
    """`letter_with_form_field()` signed (PAdES) while the field "Amount" is empty; then an update
    sets /V (1 000 000) and a new appearance stream.

    Gate: MODIFIED_AFTER_SIGNING.
    pyHanko: intact=True valid=True trusted=True coverage=ENTIRE_REVISION
    modification_level=FORM_FILLING docmdp_ok=True bottom_line=True  <-- pyHanko ACCEPTS it.
    """
    return _set_field(sign(letter_with_form_field(""), pki.org(regno)), "1 000 000")


def _set_field(pdf: bytes, value: str) -> bytes:
    def fn(w):
        fld_ref = w.root["/AcroForm"]["/Fields"].raw_get(0)
        fld = fld_ref.get_object()
        ap = w.add_object(generic.StreamObject(
            generic.DictionaryObject({
                pdf_name("/Type"): pdf_name("/XObject"), pdf_name("/Subtype"): pdf_name("/Form"),
                pdf_name("/BBox"): generic.ArrayObject(map(generic.NumberObject, (0, 0, 200, 20))),
                pdf_name("/Resources"): generic.DictionaryObject({pdf_name("/Font"): generic.DictionaryObject(
                    {pdf_name("/Helv"): generic.IndirectObject(3, 0, w)})}),
            }),
            stream_data=b"/Tx BMC q BT /Helv 12 Tf 0 g 2 5 Td (" + _esc(value) + b") Tj ET Q EMC"))
        fld[pdf_name("/V")] = generic.TextStringObject(value)
        fld[pdf_name("/AP")] = generic.DictionaryObject({pdf_name("/N"): ap})
        w.mark_update(fld_ref)
    return _update(pdf, fn)


def unchanged_object_rewritten(pki, regno: str) -> bytes:
    """Signed (PAdES), then a hand-written update that re-writes the page object (obj 10)
    BYTE-IDENTICALLY (same body, new xref entry). Nothing visible changes, but the file is not
    the one that was signed.

    Gate: MODIFIED_AFTER_SIGNING.
    pyHanko: intact/valid/trusted=True coverage=ENTIRE_REVISION
    modification_level=LTA_UPDATES docmdp_ok=True bottom_line=True  <-- pyHanko ACCEPTS it
    (StandardDiffPolicy(ignore_identical_objects=True) ignores identical overrides).
    """
    data = signed_letter(pki, regno)
    return _raw_update(data, {10: _raw_object_bytes(data, 10)})


def info_rewritten(pki, regno: str) -> bytes:
    """Signed (PAdES), then a hand-written update re-writes the /Info dictionary (obj 4)
    byte-identically (and nothing else).

    Gate: MODIFIED_AFTER_SIGNING (a gate that tolerates /Info touch-ups may say ACCEPTED: the
    content is unchanged).
    pyHanko: intact/valid/trusted=True coverage=ENTIRE_REVISION modification_level=LTA_UPDATES
    docmdp_ok=True bottom_line=True (identical override ignored; /Info changes are whitelisted).
    """
    data = signed_letter(pki, regno)
    return _raw_update(data, {4: _raw_object_bytes(data, 4)})


def info_changed(pki, regno: str) -> bytes:
    """Signed (PAdES), then an update gives the /Info dictionary a new /Title and /Author
    (a new Info object, trailer /Info updated).

    Gate: MODIFIED_AFTER_SIGNING.
    pyHanko: intact/valid/trusted=True coverage=ENTIRE_REVISION modification_level=LTA_UPDATES
    docmdp_ok=True bottom_line=True  <-- pyHanko ACCEPTS it (DocInfoRule whitelists any /Info
    change at LTA_UPDATES level -- the same level as a DSS update).
    """
    data = signed_letter(pki, regno)
    return _raw_update(data, {4: b"<< /Title (PAID - no action needed) /Author (Chief accountant) "
                                 b"/Producer (registry tests) >>"})


def xmp_metadata_added(pki, regno: str) -> bytes:
    """Signed (PAdES), then an update adds an XMP /Metadata stream to the catalog (dc:title
    "PAID").

    Gate: MODIFIED_AFTER_SIGNING.
    pyHanko: intact/valid/trusted=True coverage=ENTIRE_REVISION
    modification_level=LTA_UPDATES docmdp_ok=True bottom_line=True  <-- pyHanko ACCEPTS it
    (MetadataUpdateRule).
    """
    xmp = (b'<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?>'
           b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
           b'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
           b'<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/">'
           b'<dc:title><rdf:Alt><rdf:li xml:lang="x-default">PAID</rdf:li></rdf:Alt></dc:title>'
           b'</rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end="w"?>')

    def fn(w):
        meta = w.add_object(generic.StreamObject(generic.DictionaryObject({
            pdf_name("/Type"): pdf_name("/Metadata"), pdf_name("/Subtype"): pdf_name("/XML")}),
            stream_data=xmp))
        w.root[pdf_name("/Metadata")] = meta
        w.update_root()
    return _update(signed_letter(pki, regno), fn)


def orphan_object_added(pki, regno: str) -> bytes:
    """Signed (PAdES), then an update that only adds NEW objects nothing refers to (a content
    stream with other text and a JavaScript action) -- invisible to viewers today, a staging
    ground for a later update.

    Gate: MODIFIED_AFTER_SIGNING.
    pyHanko: intact/valid/trusted=True coverage=ENTIRE_REVISION
    modification_level=LTA_UPDATES docmdp_ok=True bottom_line=True  <-- pyHanko ACCEPTS it
    (StandardDiffPolicy(ignore_orphaned_objects=True)).
    """
    data = signed_letter(pki, regno)
    size = int(_reader(data).trailer["/Size"])
    return _raw_update(data, {
        size: _stream(b"", _text_content(["FORGED: pay 1 000 000 MNT."])),
        size + 1: b"<< /S /JavaScript /JS (app.alert\\('x'\\);) >>",
    })


def _overlay_form() -> bytes:
    # a Form XObject that paints a white box over the text and writes other text
    body = (b"q 1 g 60 640 480 150 re f Q "
            + _text_content(["Registry test letter No. 42/2025",
                             "Transfer 1 000 000 MNT to account 123.", "Sincerely"], y=770))
    return _stream(b"/Type /XObject /Subtype /Form /BBox [0 0 595 842] "
                   b"/Resources << /Font << /F1 3 0 R >> >>", body)


def shadow_hide(pki, regno: str) -> bytes:
    """Shadow attack "hide": the SIGNED revision already contains an overlay Form XObject
    (obj 100, white box + other text) that nothing references. The update only adds it to
    page 1's resources and appends "q /Shadow Do Q" as a second content stream, so the overlay
    becomes visible; no new "content" object is introduced into the signed bytes' meaning.

    Gate: MODIFIED_AFTER_SIGNING.
    pyHanko: intact/valid/trusted=True coverage=ENTIRE_REVISION modification_level=OTHER
    docmdp_ok=False bottom_line=False (page object rewritten).
    """
    objs = _letter_objects()
    objs[100] = _overlay_form()
    data = sign(_build_pdf(objs), pki.org(regno))

    def fn(w):
        page_ref = _first_page_ref(w)
        page = page_ref.get_object()
        show = w.add_object(generic.StreamObject(stream_data=b"q /Shadow Do Q"))
        page[pdf_name("/Contents")] = generic.ArrayObject([page.raw_get("/Contents"), show])
        res = generic.DictionaryObject(page["/Resources"])
        res[pdf_name("/XObject")] = generic.DictionaryObject(
            {pdf_name("/Shadow"): generic.IndirectObject(100, 0, w)})
        page[pdf_name("/Resources")] = res
        w.mark_update(page_ref)
    return _update(data, fn)


def shadow_replace(pki, regno: str) -> bytes:
    """Shadow attack "replace": the SIGNED revision contains a pre-filled form field "Amount"
    with value "100"; the update changes its /V and appearance to "1 000 000".

    Gate: MODIFIED_AFTER_SIGNING.
    pyHanko: intact=True valid=True trusted=True coverage=ENTIRE_REVISION
    modification_level=FORM_FILLING docmdp_ok=True bottom_line=True  <-- pyHanko ACCEPTS it.
    """
    return _set_field(sign(letter_with_form_field("100"), pki.org(regno)), "1 000 000")


def shadow_replace_font(pki, regno: str) -> bytes:
    """Shadow attack "replace" via the font: the update re-defines the page font (obj 3) with an
    /Encoding /Differences that swaps glyphs, so the same signed content bytes render other text.

    Gate: MODIFIED_AFTER_SIGNING.
    pyHanko: intact/valid/trusted=True coverage=ENTIRE_REVISION modification_level=OTHER
    docmdp_ok=False ("unexplained xrefs": the font object).
    """
    data = signed_letter(pki, regno)
    return _raw_update(data, {3: b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica "
                                 b"/Encoding << /Type /Encoding /BaseEncoding /WinAnsiEncoding "
                                 b"/Differences [49 /nine /two /three /four /five] >> >>"})


def shadow_hide_and_replace(pki, regno: str) -> bytes:
    """Shadow attack "hide-and-replace": the SIGNED revision contains an unused second content
    stream (obj 101, a different letter); the update only rewrites page 1 so that /Contents
    points to obj 101. All content bytes shown were signed -- just not shown before.

    Gate: MODIFIED_AFTER_SIGNING.
    pyHanko: intact/valid/trusted=True coverage=ENTIRE_REVISION
    modification_level=OTHER docmdp_ok=False bottom_line=False.
    """
    objs = _letter_objects()
    objs[101] = _stream(b"", _text_content(["Registry test letter No. 42/2025",
                                            "We waive all claims against the sender.",
                                            "Sincerely, the recipient"]))
    data = sign(_build_pdf(objs), pki.org(regno))
    page = _raw_object_bytes(data, 10)
    return _raw_update(data, {10: page.replace(b"/Contents 11 0 R", b"/Contents 101 0 R")})


def catalog_changed_with_dss(pki, regno: str, what: str = "OpenAction") -> bytes:
    """Signed (PAdES), then ONE update that adds a legitimate-looking /DSS (certs + CRLs) AND
    also changes something else in the catalog: what="OpenAction" adds a JavaScript
    /OpenAction, what="Names" adds a /Names /JavaScript tree.

    Gate: MODIFIED_AFTER_SIGNING.
    pyHanko: intact/valid/trusted=True coverage=ENTIRE_REVISION modification_level=OTHER
    docmdp_ok=False ("Dict keys differ: ... /OpenAction" resp. "/Names").
    """
    from asn1crypto import crl as a_crl
    from pyhanko.sign.validation.dss import DocumentSecurityStore
    ident = pki.org(regno)

    def fn(w):
        DocumentSecurityStore.supply_dss_in_writer(
            w, None, certs=[ident.asn1_cert, pki.issuing.asn1_cert, pki.root.asn1_cert],
            crls=[a_crl.CertificateList.load(pki.crl_der())])
        js = generic.DictionaryObject({pdf_name("/S"): pdf_name("/JavaScript"),
                                       pdf_name("/JS"): generic.TextStringObject("app.alert('x');")})
        if what == "OpenAction":
            w.root[pdf_name("/OpenAction")] = w.add_object(js)
        else:
            w.root[pdf_name("/Names")] = generic.DictionaryObject({
                pdf_name("/JavaScript"): generic.DictionaryObject({
                    pdf_name("/Names"): generic.ArrayObject([generic.TextStringObject("a"),
                                                             w.add_object(js)])})})
        w.update_root()
    return _update(signed_letter(pki, regno), fn)


def signed_with_trailing_bytes(pki, regno: str, n: int = 512) -> bytes:
    """A signed letter with `n` (default 512) extra bytes appended after the final %%EOF (no new
    xref): e.g. a ZIP/HTML polyglot tail. Bytes outside the /ByteRange, not part of any revision.

    Gate: MODIFIED_AFTER_SIGNING (strict: every byte of the file must be covered by the
    signature or belong to an allowed DSS update). With n=4096 (sample
    "signed_with_long_trailing_bytes") MALFORMED_PDF is the natural answer.
    pyHanko: intact/valid/trusted=True coverage=ENTIRE_REVISION (not ENTIRE_FILE)
    modification_level=NONE docmdp_ok=True bottom_line=True  <-- pyHanko ACCEPTS it. With more
    than ~1 KiB of trailing bytes (n=4096) PdfFileReader() raises PdfReadError("EOF marker not
    found"): pyHanko only looks for %%EOF in the last 1024 bytes.
    """
    return signed_letter(pki, regno) + b"%" + b"A" * (n - 2) + b"\n"


# =============================================================================================
# ByteRange manipulation, signature wrapping, universal signature forgery
# =============================================================================================
def signature_wrapping(pki, regno: str) -> bytes:
    """Signature wrapping (Mladenov et al. 2019). From a signed letter S = P1 + <hex> + P2:
    keep S up to the start of the signature dictionary (offset d), then put a verbatim copy of
    the signed bytes S[d:a] + S[b:] inside an unreferenced stream, then a NEW signature
    dictionary (same CMS) whose /ByteRange [0 d s len] points at that copy, a forged content
    stream and page, and a fresh xref section. The digest over the new ByteRange equals the
    original one, so the CMS still verifies; padding makes the gap exactly as long as /Contents
    (a "contiguous" range).

    Gate: SIGNATURE_INVALID (the ByteRange does not describe a revision of this file;
    MODIFIED_AFTER_SIGNING is an acceptable alternative).
    pyHanko: intact=True valid=True trusted=True coverage=CONTIGUOUS_BLOCK_FROM_START
    modification_level=OTHER ("Nonstandard signature coverage level") docmdp_ok=False
    bottom_line=False. A gate that only looks at intact/valid/trusted would ACCEPT it.
    """
    data = signed_letter(pki, regno)
    r = _reader(data)
    emb = r.embedded_signatures[0]
    _, a, b, c = [int(x) for x in emb.byte_range]
    sig_ref = emb.sig_field.raw_get("/V").reference
    d = list(re.finditer(rb"(?:^|[\r\n])%d 0 obj\s" % sig_ref.idnum, data))[-1].start() + 1
    cms_hex = data[a + 1:b - 1]
    copy = data[d:a] + data[b:]
    # objects of the signing revision we must re-emit (everything the signing update defined)
    sig_rev = emb.signed_revision
    rev_objs = [ref for ref in r.xrefs.explicit_refs_in_revision(sig_rev)]
    head = bytearray(data[:d])
    offsets: dict[int, int] = {}

    def put(num, body):
        offsets[num] = len(head)
        head.extend(b"%d 0 obj\n" % num + body + b"\nendobj\n")

    size = int(r.trailer["/Size"])
    hold_num, content_num = size, size + 1
    # Layout: S[:d] | padding comment | wrapper stream header | COPY (at offset s) | endstream |
    # new signature dict | other objects | xref. The gap [d, s) is made exactly as long as the
    # new /Contents hex string + 2, so pyHanko sees a "contiguous" byte range.
    hold_prefix = b"%d 0 obj\n<< /Length %d >>\nstream\n" % (hold_num, len(copy))
    gap = len(cms_hex) + 2
    pad_len = gap - len(hold_prefix)
    assert pad_len >= 2
    head.extend(b"%" + b"W" * (pad_len - 2) + b"\n")
    offsets[hold_num] = len(head)
    head.extend(hold_prefix)
    s = len(head)
    assert s - d == gap
    head.extend(copy + b"\nendstream\nendobj\n")
    put(sig_ref.idnum, b"<< /Type /Sig /Filter /Adobe.PPKLite /SubFilter /ETSI.CAdES.detached "
                       b"/ByteRange [0 %d %d %d] /Contents <%s> >>" % (d, s, len(copy), cms_hex))
    # re-emit the rest of the signing revision's objects from the original (parsed) versions
    page_ref = r.root["/Pages"]["/Kids"].raw_get(0)
    for ref in rev_objs:
        if ref.idnum in (sig_ref.idnum, page_ref.idnum):
            continue
        obj = r.get_object(ref)
        if isinstance(obj, generic.StreamObject):
            raise NotImplementedError("stream in signing revision")
        put(ref.idnum, _ser(obj))
    # the forgery: page 1 shows other text
    put(content_num, _stream(b"", _text_content(["Registry test letter No. 42/2025",
                                                 "FORGED: pay 1 000 000 MNT."])))
    page = generic.DictionaryObject(page_ref.get_object())
    page[pdf_name("/Contents")] = generic.IndirectObject(content_num, 0, None)
    put(page_ref.idnum, _ser(page))
    # new xref section chained to the revision before signing
    prev = r.xrefs.get_startxref_for_revision(sig_rev - 1)
    xref_at = len(head)
    head.extend(b"xref\n")
    for num in sorted(offsets):
        head.extend(b"%d 1\n%010d 00000 n \n" % (num, offsets[num]))
    root_ref = r.trailer.raw_get("/Root").reference
    head.extend(b"trailer\n<< /Size %d /Root %d 0 R /Info 4 0 R /Prev %d >>\nstartxref\n%d\n%%%%EOF\n"
                % (size + 2, root_ref.idnum, prev, xref_at))
    return bytes(head)


def byterange_gap_moved(pki, regno: str) -> bytes:
    """A hand-made signature whose /ByteRange does NOT start at 0 / does not end at the end of
    the file: the first range skips the 9-byte header line, the second stops 200 bytes before
    the /Contents gap ... i.e. [9 a-9 b len-b-200], and the signed bytes are exactly those.
    Only part of the file is covered.

    Gate: SIGNATURE_INVALID.
    pyHanko: intact=True valid=True trusted=True coverage=UNCLEAR modification_level=OTHER
    docmdp_ok=False bottom_line=False.
    """
    base = letter_pdf()
    data = bytearray(_manual_sig_update(base, pki.org(regno), field_name=b"Signature1"))
    # re-sign with a custom byte range over the same placeholder layout
    br_at = data.index(b"/ByteRange [", len(base))
    end_br = data.index(b"]", br_at)
    data[br_at + len(b"/ByteRange "):end_br + 1] = _BR_PLACEHOLDER
    m = re.compile(rb"/Contents <([0-9a-f]+)>").search(bytes(data), br_at)
    data[m.start(1):m.end(1)] = b"0" * (m.end(1) - m.start(1))
    start, end = m.start(1) - 1, m.end(1) + 1
    br = [9, start - 9, end, len(data) - end - 200]
    return _fill_signature(data, len(base), pki.org(regno), byte_range=br)


def byterange_overlaps_contents(pki, regno: str) -> bytes:
    """A signature whose /ByteRange was crafted AT SIGNING TIME so that its second range starts
    L bytes early, inside the (zero-padded) /Contents hex string, and therefore ends L bytes
    before the end of the file: [0 a b-L c+L]. The arithmetic a + (c+L) + len(/Contents)
    still equals the file size. The uncovered last L bytes are an incremental update that
    replaces page 1's content -- appended after signing, invisible to the signature.
    (Needs the signer's cooperation, e.g. a letter prepared to be "changed later".)

    Gate: SIGNATURE_INVALID (the ByteRange gap is not exactly the /Contents string);
    MODIFIED_AFTER_SIGNING is acceptable.
    pyHanko: intact=True valid=True trusted=True coverage=ENTIRE_FILE modification_level=NONE
    docmdp_ok=True bottom_line=True  <-- pyHanko ACCEPTS a modified file: ENTIRE_FILE is decided
    by length arithmetic only (it never checks that ByteRange[2] == ByteRange[1] + len(/Contents)).
    """
    ident = pki.org(regno)
    base = letter_pdf()
    data = bytearray(_manual_sig_update(base, ident, field_name=b"Signature1", fill=False))
    br_at = data.index(_BR_PLACEHOLDER, len(base))
    m = re.compile(rb"/Contents <(0+)>").search(bytes(data), br_at)
    a, b = m.start(1) - 1, m.end(1) + 1          # the hex string token spans [a, b)
    c0 = len(data) - b
    # the later "update": page 1 gets other content (written now, appended after signing)
    r = _reader(bytes(data))
    size = int(r.trailer["/Size"])
    page = _raw_object_bytes(bytes(data), 10)
    tail = _raw_update(bytes(data), {
        size: _stream(b"", _text_content(["Registry test letter No. 42/2025",
                                          "FORGED after signing: pay 1 000 000 MNT."])),
        10: page.replace(b"/Contents 11 0 R", b"/Contents %d 0 R" % size),
    })[len(data):]
    n = len(tail)
    br = [0, a, b - n, c0 + n]
    signed = _fill_signature(data, len(base), ident, byte_range=br)
    assert signed[b - n:b - 1] == b"0" * (n - 1)  # the CMS did not reach the covered zeros
    return signed + tail


def _usf(sig_dict: bytes, pki=None, regno=None) -> bytes:
    """A letter with one filled /Sig field whose signature dictionary is `sig_dict` (no real
    signing), in the same (only) revision."""
    objs = _letter_objects(page_extra=b" /Annots [20 0 R]",
                           catalog_extra=b" /AcroForm << /Fields [20 0 R] /SigFlags 3 >>")
    objs[20] = (b"<< /Type /Annot /Subtype /Widget /FT /Sig /T (Signature1) /V 21 0 R "
                b"/Rect [0 0 0 0] /F 132 /P 10 0 R >>")
    objs[21] = sig_dict
    return _build_pdf(objs)


def usf_contents_empty(pki, regno: str) -> bytes:
    """Universal signature forgery: /Contents <> (empty), /ByteRange [0 0 0 0] style dummy.

    Gate: SIGNATURE_INVALID.
    pyHanko: reader.embedded_signatures raises ValueError (asn1crypto: "Insufficient
    data").
    """
    return _usf(b"<< /Type /Sig /Filter /Adobe.PPKLite /SubFilter /ETSI.CAdES.detached "
                b"/ByteRange [0 10 20 10] /Contents <> >>")


def usf_contents_zeros(pki, regno: str) -> bytes:
    """Universal signature forgery: /Contents is 8 KiB of zero bytes, /ByteRange standard-looking.

    Gate: SIGNATURE_INVALID.
    pyHanko: reader.embedded_signatures raises ValueError (asn1crypto parse error).
    """
    return _usf(b"<< /Type /Sig /Filter /Adobe.PPKLite /SubFilter /ETSI.CAdES.detached "
                b"/ByteRange [0 100 200 300] /Contents <" + b"00" * 8192 + b"> >>")


def usf_byterange_missing(pki, regno: str) -> bytes:
    """Universal signature forgery: a real CMS by `regno` (over the letter bytes) in /Contents
    but no /ByteRange at all.

    Gate: SIGNATURE_INVALID.
    pyHanko: reader.embedded_signatures raises PdfReadError("Could not read /ByteRange
    entry in signature").
    """
    cms = _cms_for(pki.org(regno), letter_pdf())
    return _usf(b"<< /Type /Sig /Filter /Adobe.PPKLite /SubFilter /ETSI.CAdES.detached "
                b"/Contents <" + cms.hex().encode() + b"> >>")


def usf_byterange_zero(pki, regno: str) -> bytes:
    """Universal signature forgery: a real CMS by `regno` over the EMPTY string and
    /ByteRange [0 0 0 0] -- i.e. a valid signature over nothing.

    Gate: SIGNATURE_INVALID.
    pyHanko: intact=True valid=True trusted=True (!) coverage=UNCLEAR modification_level=OTHER
    docmdp_ok=False bottom_line=False -- a valid signature over zero bytes.
    """
    cms = _cms_for(pki.org(regno), b"")
    return _usf(b"<< /Type /Sig /Filter /Adobe.PPKLite /SubFilter /ETSI.CAdES.detached "
                b"/ByteRange [0 0 0 0] /Contents <" + cms.hex().encode() + b"> >>")


def usf_contents_not_cms(pki, regno: str) -> bytes:
    """Universal signature forgery: /Contents holds the signer's DER certificate (valid DER, not a
    CMS ContentInfo).

    Gate: SIGNATURE_INVALID.
    pyHanko: reader.embedded_signatures raises ValueError (asn1crypto parse error).
    """
    return _usf(b"<< /Type /Sig /Filter /Adobe.PPKLite /SubFilter /ETSI.CAdES.detached "
                b"/ByteRange [0 10 20 10] /Contents <" + pki.org(regno).cert_der.hex().encode()
                + b"> >>")


def usf_cert_without_contents(pki, regno: str) -> bytes:
    """Universal signature forgery: /adbe.x509.rsa_sha1-style dictionary with /Cert (the org's
    certificate) and /ByteRange, but no /Contents.

    Gate: SIGNATURE_INVALID (NOT_PADES is acceptable: the subfilter is not PAdES either).
    pyHanko: embedded_signatures == [] (/adbe.x509.rsa_sha1 is skipped).
    """
    return _usf(b"<< /Type /Sig /Filter /Adobe.PPKLite /SubFilter /adbe.x509.rsa_sha1 "
                b"/ByteRange [0 10 20 10] /Cert <" + pki.org(regno).cert_der.hex().encode()
                + b"> >>")


def cms_over_other_document(pki, regno: str) -> bytes:
    """Signature transplanting: the PAdES CMS of a DIFFERENT signed letter (same org, other text)
    is pasted into this letter's /Contents; ByteRange is standard and covers the whole file.

    Gate: SIGNATURE_INVALID.
    pyHanko: intact=False valid=True trusted=False coverage=ENTIRE_FILE
    modification_level=NONE bottom_line=False.
    """
    ident = pki.org(regno)
    donor = sign(letter_pdf("Some other letter entirely"), ident)
    emb = _reader(donor).embedded_signatures[0]
    cms = emb.pkcs7_content
    return _manual_sig_update_with_cms(letter_pdf(), ident, cms)


def _manual_sig_update_with_cms(pdf: bytes, ident, cms: bytes) -> bytes:
    data = _manual_sig_update(pdf, ident, field_name=b"Signature1")
    data = bytearray(data)
    br_at = data.index(b"/ByteRange [", len(pdf))
    m = re.compile(rb"/Contents <([0-9a-f]+)>").search(bytes(data), br_at)
    hexed = cms.hex().encode().ljust(m.end(1) - m.start(1), b"0")
    data[m.start(1):m.end(1)] = hexed
    return bytes(data)


# =============================================================================================
# certificate cases
# =============================================================================================
def signed_by_revoked(pki, regno: str) -> bytes:
    """Signed (PAdES) by org `regno`'s certificate that is on the issuing CA's CRL
    (keyCompromise, revoked an hour ago).

    Gate: CERT_REVOKED.
    pyHanko: intact=True valid=True trusted=False revoked=True
    trust_problem_indic=REVOKED_NO_POE.
    """
    return sign(letter_pdf(), pki.org(regno, revoked=True))


def signed_by_expired(pki, regno: str) -> bytes:
    """Signed (PAdES) by a certificate whose validity ended yesterday.

    Gate: CERT_EXPIRED.
    pyHanko: intact=True valid=True trusted=False revoked=False
    trust_problem_indic=OUT_OF_BOUNDS_NO_POE.
    """
    return sign(letter_pdf(), pki.org(regno, expired=True))


def signed_by_not_yet_valid(pki, regno: str) -> bytes:
    """Signed (PAdES) by a certificate whose validity starts tomorrow.

    Gate: CERT_EXPIRED (the certificate is outside its validity period; there is no separate code).
    pyHanko: intact=True valid=True trusted=False
    trust_problem_indic=CERTIFICATE_CHAIN_GENERAL_FAILURE (same indication as missing CRLs!).
    """
    return sign(letter_pdf(), pki.org(regno, not_yet_valid=True))


def signed_by_untrusted(pki, regno: str) -> bytes:
    """Signed (PAdES) by a certificate for `regno` issued under `pki.other_root` (not trusted).

    Gate: UNTRUSTED_SIGNER.
    pyHanko: intact=True valid=True trusted=False
    trust_problem_indic=NO_CERTIFICATE_CHAIN_FOUND.
    """
    return sign(letter_pdf(), pki.org(regno, untrusted=True))


def signed_by_self_signed(pki, regno: str) -> bytes:
    """Signed (PAdES) by a SELF-SIGNED certificate with the right subject for `regno` (same key
    and subject as `pki.org(regno)`, but issued by itself).

    Gate: UNTRUSTED_SIGNER.
    pyHanko: intact=True valid=True trusted=False
    trust_problem_indic=CHAIN_CONSTRAINTS_FAILURE.
    """
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    good = pki.org(regno)
    now = _dt.datetime.now(_dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(good.cert.subject)
            .issuer_name(good.cert.subject)
            .public_key(good.key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - _dt.timedelta(days=1))
            .not_valid_after(now + _dt.timedelta(days=365))
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=True,
                                         key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, key_cert_sign=False,
                                         crl_sign=False, encipher_only=False,
                                         decipher_only=False), critical=True)
            .sign(good.key, hashes.SHA256()))
    ident = type(good)(cert=cert, key=good.key,
                       cert_pem=cert.public_bytes(serialization.Encoding.PEM),
                       key_pem=good.key_pem, regno=regno, issuer=None)
    return sign(letter_pdf(), ident)


def signed_by_other_org(pki, regno: str, other_regno: str = "9999999") -> bytes:
    """Signed (PAdES) by ANOTHER organisation (`other_regno`), valid and trusted.

    Gate: SIGNER_ORG_MISMATCH when the gate expects `regno`.
    pyHanko: intact=True valid=True trusted=True coverage=ENTIRE_FILE modification_level=NONE
    (pyHanko knows nothing about registration numbers).
    """
    return sign(letter_pdf(), pki.org(other_regno))


def signed_without_regno(pki, regno: str) -> bytes:
    """Signed (PAdES) by a trusted certificate for `regno`'s name that carries NO registration
    number (id_form="none").

    Gate: SIGNER_ORG_MISMATCH.
    pyHanko: intact=True valid=True trusted=True coverage=ENTIRE_FILE modification_level=NONE.
    """
    return sign(letter_pdf(), pki.org(regno, id_form="none"))


# =============================================================================================
# resource attacks (every returned file is < 2 MB)
# =============================================================================================
_BOMB_CACHE: dict[int, bytes] = {}


def _bomb_stream(gib: int = 1) -> bytes:
    """A stream object body with /Filter [/FlateDecode /FlateDecode] decoding to `gib` GiB + 1 MiB
    of spaces (a valid, if huge, content stream); ~2.5 KB on disk.

    Built without compressing a gigabyte: one 1 MiB block of spaces is deflated once with a
    full flush (byte-aligned, dictionary reset), so the same compressed block can be repeated."""
    if gib not in _BOMB_CACHE:
        chunk = b" " * (1 << 20)
        n = gib * 1024 + 1
        c = zlib.compressobj(9, zlib.DEFLATED, -15)
        c.compress(chunk)
        c.flush(zlib.Z_FULL_FLUSH)
        block = c.compress(chunk) + c.flush(zlib.Z_FULL_FLUSH)
        final = c.flush(zlib.Z_FINISH)
        adler = 1
        for _ in range(n):
            adler = zlib.adler32(chunk, adler)
        inner = b"\x78\xda" + block * n + final + adler.to_bytes(4, "big")
        _BOMB_CACHE[gib] = zlib.compress(inner, 9)
    return _stream(b"/Filter [/FlateDecode /FlateDecode]", _BOMB_CACHE[gib])


def deflate_bomb() -> bytes:
    """An unsigned letter whose page content stream (obj 11) is a doubly-Flate-compressed stream
    that inflates to 1 GiB + 1 MiB (a few KiB on disk).

    Gate: NO_SIGNATURE (must come back quickly and within memory -- nothing needs to inflate it);
    TOO_LARGE is acceptable.
    pyHanko: reads fine, embedded_signatures == [] in ~0 s (nothing decodes the stream).
    Decoding the page content (`.data`) raises PdfDecodeLimitError("Decoded stream data exceeds
    the limit of 2713700 bytes.") within 0.01 s: the 0.38 default per-stream cap is
    max(1 MiB, 1100 x encoded length over the whole filter chain), 256 MiB absolute.
    """
    objs = _letter_objects()
    objs[11] = _bomb_stream()
    return _build_pdf(objs)


def signed_deflate_bomb(pki, regno: str, referenced: bool = True) -> bytes:
    """A signed letter (PAdES) whose signed revision contains a 1 GiB Flate bomb: as page 1's
    content stream (referenced=True) or as an unreferenced object 100 (referenced=False).

    Gate: TOO_LARGE (the document cannot be rendered/indexed within budget); a gate that never
    decodes content streams will say ACCEPTED -- acceptable only if it returns within budget.
    pyHanko: validation never decodes content: intact/valid/trusted=True
    coverage=ENTIRE_FILE modification_level=NONE bottom_line=True in 0.02 s. Decoding the
    referenced bomb raises PdfDecodeLimitError within 0.01 s; the unreferenced one is never
    touched.
    """
    objs = _letter_objects()
    if referenced:
        objs[12] = _bomb_stream()
        objs[10] = objs[10].replace(b"/Contents 11 0 R", b"/Contents [11 0 R 12 0 R]")
    else:
        objs[100] = _bomb_stream()
    return sign(_build_pdf(objs), pki.org(regno))


def signed_bomb_redefined(pki, regno: str) -> bytes:
    """An unsigned letter, then an incremental update that redefines page 1's content stream
    (obj 11) as the 1 GiB Flate bomb, then signed: the signature covers every revision, and the
    bomb is the current definition of an object an earlier revision defined too.

    Gate: TOO_LARGE (every definition of every object is decoded within the limits, not only
    each object number's first).
    pyHanko: intact/valid/trusted=True coverage=ENTIRE_FILE; validation never decodes content.
    """
    return sign(_raw_update(letter_pdf(), {11: _bomb_stream()}), pki.org(regno))


def deep_nesting(depth: int = 100_000) -> bytes:
    """The catalog carries `/Nest [[[[...]]]]` nested `depth` deep (direct object inside the
    catalog, so any reader parses it on open).

    Gate: MALFORMED_PDF (or NO_SIGNATURE if the parser copes); never a crash.
    pyHanko: PdfFileReader() succeeds; reader.root / embedded_signatures raise RecursionError
    (NOT a PdfReadError -- catch it) at once (from ~500 levels).
    """
    objs = _letter_objects(catalog_extra=b" /Nest " + b"[" * depth + b"]" * depth)
    return _build_pdf(objs)


def deep_dict_nesting(depth: int = 50_000) -> bytes:
    """The AcroForm's first field has a /Kids chain `depth` deep of *direct* nested dicts
    (<< /A << /A ... >> >>) inside the catalog.

    Gate: MALFORMED_PDF (or NO_SIGNATURE); never a crash.
    pyHanko: PdfFileReader() succeeds; root access / embedded_signatures raise
    PdfReadError("Failed to read dictionary key ...") at once (from ~500 levels).
    """
    objs = _letter_objects(catalog_extra=b" /Nest " + b"<< /A " * depth + b"0 " + b">> " * depth)
    return _build_pdf(objs)


def xref_self_loop() -> bytes:
    """A letter with a second (empty) incremental xref section whose /Prev points to ITSELF.

    Gate: MALFORMED_PDF (or NO_SIGNATURE); must terminate.
    pyHanko: PdfFileReader() raises PdfReadError("startxref loop detected at ...").
    """
    base = letter_pdf()
    xref_at = len(base)
    tail = (b"xref\n0 0\ntrailer\n<< /Size 12 /Root 1 0 R /Prev %d >>\nstartxref\n%d\n%%%%EOF\n"
            % (xref_at, xref_at))
    return base + tail


def xref_loop() -> bytes:
    """A letter with two extra xref sections whose /Prev entries point to each other (A -> B ->
    A); startxref points at A.

    Gate: MALFORMED_PDF (or NO_SIGNATURE); must terminate.
    pyHanko: PdfFileReader() raises PdfReadError("startxref loop detected at ...").
    """
    base = letter_pdf()
    a_at = len(base)
    # section A
    tmpl_a = b"xref\n0 0\ntrailer\n<< /Size 12 /Root 1 0 R /Prev %010d >>\n"
    b_at = a_at + len(tmpl_a % 0)
    sec_a = tmpl_a % b_at
    sec_b = b"xref\n0 0\ntrailer\n<< /Size 12 /Root 1 0 R /Prev %010d >>\n" % a_at
    return base + sec_a + sec_b + b"startxref\n%d\n%%%%EOF\n" % a_at


def huge_object_count(n: int = 150_000) -> bytes:
    """A letter whose page 1 has /Annots -> an array of `n` tiny /Text annotations; the array and
    the annotations are packed in Flate-compressed object streams, with an xref stream (about
    1.5 MB on disk, `n` + 40 objects).

    Gate: NO_SIGNATURE (must come back within budget); TOO_LARGE / MALFORMED_PDF acceptable.
    pyHanko: PdfFileReader() + embedded_signatures ([]) take ~0.8 s; nothing else.
    """
    objs = _letter_objects()
    arr_num, first, per = 500, 1000, 5000
    objs[10] = objs[10].replace(b"/Contents 11 0 R", b"/Contents 11 0 R /Annots %d 0 R" % arr_num)
    annot_body = b"<</Type/Annot/Subtype/Text/Rect[0 0 1 1]/F 2>>"
    compressed: list[tuple[int, bytes]] = [
        (arr_num, b"[" + b" ".join(b"%d 0 R" % (first + i) for i in range(n)) + b"]")]
    compressed += [(first + i, annot_body) for i in range(n)]
    entries: dict[int, tuple[int, int, int]] = {}  # num -> (type, f2, f3)
    next_stm = first + n
    for start in range(0, len(compressed), per):
        chunk = compressed[start:start + per]
        header, off = [], 0
        for num, body in chunk:
            header.append(b"%d %d" % (num, off))
            off += len(body) + 1
        hdr = b" ".join(header) + b"\n"
        payload = hdr + b"\n".join(body for _, body in chunk)
        stm_num = next_stm
        next_stm += 1
        for idx, (num, _) in enumerate(chunk):
            entries[num] = (2, stm_num, idx)
        objs[stm_num] = _stream(b"/Type /ObjStm /N %d /First %d /Filter /FlateDecode"
                                % (len(chunk), len(hdr)), zlib.compress(payload, 6))
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    for num in sorted(objs):
        entries[num] = (1, len(out), 0)
        out += b"%d 0 obj\n" % num + objs[num] + b"\nendobj\n"
    xref_num = next_stm
    size = xref_num + 1
    entries[xref_num] = (1, len(out), 0)
    rows = bytearray()
    for num in range(size):
        t, f2, f3 = entries.get(num, (0, 0, 65535 if num == 0 else 0))
        rows += struct.pack(">BIH", t, f2, f3)
    xref_obj = _stream(b"/Type /XRef /Size %d /W [1 4 2] /Root 1 0 R /Info 4 0 R "
                       b"/Filter /FlateDecode" % size, zlib.compress(bytes(rows), 6))
    xref_at = len(out)
    out += b"%d 0 obj\n" % xref_num + xref_obj + b"\nendobj\nstartxref\n%d\n%%%%EOF\n" % xref_at
    return bytes(out)


def huge_xref_claim() -> bytes:
    """A letter whose xref STREAM claims /Size 2147483647 with /Index [0 2147483647] but carries
    only a few rows (an allocation bomb for readers that pre-size their tables).

    Gate: MALFORMED_PDF (or NO_SIGNATURE); must come back within budget.
    pyHanko: strict=False: PdfFileReader() never returns -- the xref-stream parser
    substitutes default "type 1, offset 0" entries for the 2^31 missing rows and stores them all:
    12-14 s and 1 GB until MemoryError under RLIMIT_AS=1 GB (unbounded without a limit).
    strict=True: PdfStrictReadError("XRef stream ended prematurely ...") immediately.
    """
    objs = _letter_objects()
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    entries = {}
    for num in sorted(objs):
        entries[num] = len(out)
        out += b"%d 0 obj\n" % num + objs[num] + b"\nendobj\n"
    xref_num = 12
    entries[xref_num] = len(out)
    rows = bytearray()
    for num in range(xref_num + 1):
        rows += struct.pack(">BIH", 1 if num in entries else 0, entries.get(num, 0), 0)
    big = 2147483647
    xref_obj = _stream(b"/Type /XRef /Size %d /Index [0 %d] /W [1 4 2] /Root 1 0 R /Info 4 0 R "
                       b"/Filter /FlateDecode" % (big, big), zlib.compress(bytes(rows), 9))
    xref_at = len(out)
    out += b"%d 0 obj\n" % xref_num + xref_obj + b"\nendobj\nstartxref\n%d\n%%%%EOF\n" % xref_at
    return bytes(out)


# =============================================================================================
# validation-data updates that hide a rewrite (the DSS loophole) and a genuine B-LT update
# =============================================================================================
_FORGED_LINES = ["Registry test letter No. 42/2025", "Pay 9 000 000 MNT to account 666.",
                 "Sincerely, the sender"]


def _catalog_with(data: bytes, extra: bytes) -> bytes:
    """The body of the catalog (obj 1) as last defined in `data`, with `extra` keys added."""
    body = _raw_object_bytes(data, 1)
    return body[:body.rindex(b">>")] + extra + b" >>"


def _dss_loophole(pki, regno: str, dss_extra: bytes, rewrites: dict[int, bytes], *,
                  catalog_extra: bytes = b"", trailer_info: int | None = None,
                  letter: bytes | None = None, certs: tuple[int, ...] = ()) -> bytes:
    """A signed letter (`letter`, default `signed_letter`), then ONE incremental update that
    gives the catalog a /DSS (obj 200, with real certificate and CRL streams 201-203, the
    objects `certs` also listed in /Certs, plus `dss_extra`) and in the same update redefines or
    adds the objects `rewrites` (number -> body). `catalog_extra` adds keys to the catalog;
    `trailer_info` points the trailer's /Info at another object."""
    ident = pki.org(regno)
    data = letter if letter is not None else signed_letter(pki, regno)
    objects = {
        1: _catalog_with(data, b" /DSS 200 0 R" + catalog_extra),
        200: (b"<< /Certs [201 0 R 202 0 R" + b"".join(b" %d 0 R" % n for n in certs)
              + b"] /CRLs [203 0 R]" + dss_extra + b" >>"),
        201: _stream(b"", ident.cert_der),
        202: _stream(b"", pki.issuing.cert_der),
        203: _stream(b"", pki.crl_der()),
        **rewrites,
    }
    out = _raw_update(data, objects)
    if trailer_info is not None:
        tail = out.rindex(b"trailer")
        out = out[:tail] + re.sub(rb"/Info \d+ 0 R", b"/Info %d 0 R" % trailer_info, out[tail:])
    return out


def _forged_page(data: bytes, content: int) -> bytes:
    return re.sub(rb"/Contents [^/>]+", b"/Contents %d 0 R " % content, _raw_object_bytes(data, 10))


def dss_loophole_refers_to_page(pki, regno: str) -> bytes:
    """The issue's case: the DSS dictionary refers to page 1 (/Page 10 0 R), and the same update
    rewrites page 1 to show a new content stream (obj 204) with another amount.

    Gate: MODIFIED_AFTER_SIGNING (page 1 is an object of the signed revision).
    pyHanko: ivt ENTIRE_REVISION OTHER, docmdp_ok=False.
    """
    data = signed_letter(pki, regno)
    return _dss_loophole(pki, regno, b" /Page 10 0 R",
                         {10: _forged_page(data, 204), 204: _stream(b"", _text_content(_FORGED_LINES))})


def dss_loophole_content_in_vri(pki, regno: str) -> bytes:
    """The DSS's /VRI lists page 1's own content stream (obj 11) as a "certificate", and the
    update redefines obj 11 in place with other text: no page object changes at all.

    Gate: MODIFIED_AFTER_SIGNING.
    pyHanko: ivt ENTIRE_REVISION OTHER, docmdp_ok=False.
    """
    vri = b" /VRI << /0123456789ABCDEF0123456789ABCDEF01234567 << /Cert [11 0 R] >> >>"
    return _dss_loophole(pki, regno, vri, {11: _stream(b"", _text_content(_FORGED_LINES))})


def dss_loophole_font_in_ocsps(pki, regno: str) -> bytes:
    """The DSS's /OCSPs array names the page font (obj 3), which the update redefines with
    /Differences that swap digits: the signed content bytes render another amount.

    Gate: MODIFIED_AFTER_SIGNING.
    pyHanko: ivt ENTIRE_REVISION OTHER, docmdp_ok=False.
    """
    font = (b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding << /Type /Encoding "
            b"/BaseEncoding /WinAnsiEncoding /Differences [49 /nine /two /three /four /five] >> >>")
    return _dss_loophole(pki, regno, b" /OCSPs [3 0 R]", {3: font})


def dss_loophole_via_extensions(pki, regno: str) -> bytes:
    """A proper DSS, and the catalog's /Extensions (which a B-LT update may add) refers to
    page 1, rewritten to show a new content stream (obj 204).

    Gate: MODIFIED_AFTER_SIGNING.
    pyHanko: ivt ENTIRE_REVISION OTHER, docmdp_ok=False.
    """
    data = signed_letter(pki, regno)
    extensions = b" /Extensions << /ESIC << /BaseVersion /1.7 /ExtensionLevel 1 /P 10 0 R >> >>"
    return _dss_loophole(pki, regno, b"",
                         {10: _forged_page(data, 204), 204: _stream(b"", _text_content(_FORGED_LINES))},
                         catalog_extra=extensions)


def dss_loophole_metadata_is_content(pki, regno: str) -> bytes:
    """A proper DSS, and the catalog's /Metadata (which a B-LT update may refresh) is made to
    point at page 1's content stream (obj 11), redefined in the same update with other text.

    Gate: MODIFIED_AFTER_SIGNING (/Metadata may only be the document's XMP metadata).
    pyHanko: ivt ENTIRE_REVISION OTHER, docmdp_ok=False.
    """
    return _dss_loophole(pki, regno, b"", {11: _stream(b"", _text_content(_FORGED_LINES))},
                         catalog_extra=b" /Metadata 11 0 R")


def dss_loophole_info_is_font(pki, regno: str) -> bytes:
    """A proper DSS, and the trailer's /Info (which a B-LT update may refresh) is made to point
    at the page font (obj 3), redefined in the same update with swapped glyphs.

    Gate: MODIFIED_AFTER_SIGNING (/Info may only be the document's information dictionary).
    pyHanko: ivt ENTIRE_REVISION OTHER, docmdp_ok=False.
    """
    font = (b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding << /Type /Encoding "
            b"/BaseEncoding /WinAnsiEncoding /Differences [49 /nine /two /three /four /five] >> >>")
    return _dss_loophole(pki, regno, b"", {3: font}, trailer_info=3)


def dss_loophole_metadata_names_content(pki, regno: str) -> bytes:
    """A proper DSS, and the catalog's /Metadata is pointed at page 1's content stream, which
    stays as signed: the metadata is no longer the document's.

    Gate: MODIFIED_AFTER_SIGNING.
    pyHanko: ivt ENTIRE_REVISION OTHER, docmdp_ok=False.
    """
    return _dss_loophole(pki, regno, b"", {}, catalog_extra=b" /Metadata 11 0 R")


def dss_loophole_info_names_font(pki, regno: str) -> bytes:
    """A proper DSS, and the trailer's /Info is pointed at the page font, which stays as signed.

    Gate: MODIFIED_AFTER_SIGNING.
    pyHanko: ivt ENTIRE_REVISION OTHER, docmdp_ok=False.
    """
    return _dss_loophole(pki, regno, b"", {}, trailer_info=3)


def dss_loophole_fills_dangling_reference(pki, regno: str) -> bytes:
    """The SIGNED page 1 lists a second content stream obj 99 that does not exist when signed
    (a dangling reference, drawn as nothing); the update adds obj 99 as a real DER certificate
    stream in the DSS's /Certs. No object of the signed revision changes, and obj 99 is
    well-formed validation data -- but the page now draws an object added after signing.

    Gate: MODIFIED_AFTER_SIGNING (the page uses an object added after signing).
    pyHanko: ivt ENTIRE_REVISION OTHER, docmdp_ok=False.
    """
    objs = _letter_objects()
    objs[10] = objs[10].replace(b"/Contents 11 0 R", b"/Contents [11 0 R 99 0 R]")
    letter = sign(_build_pdf(objs), pki.org(regno))
    return _dss_loophole(pki, regno, b"", {99: _stream(b"", pki.root.cert_der)}, letter=letter,
                         certs=(99,))


def dss_loophole_dangling_reference_drawn(pki, regno: str) -> bytes:
    """As `dss_loophole_fills_dangling_reference`, but obj 99 is a content stream with other
    text, listed nowhere in the DSS: the update only adds objects, and the signed page draws
    one of them.

    Gate: MODIFIED_AFTER_SIGNING (obj 99 is not validation data).
    pyHanko: ivt ENTIRE_REVISION LTA_UPDATES docmdp_ok=True -- ACCEPTS.
    """
    objs = _letter_objects()
    objs[10] = objs[10].replace(b"/Contents 11 0 R", b"/Contents [11 0 R 99 0 R]")
    letter = sign(_build_pdf(objs), pki.org(regno))
    return _dss_loophole(pki, regno, b"", {99: _stream(b"", _text_content(_FORGED_LINES, y=600))},
                         letter=letter)


def dss_loophole_image_in_certs(pki, regno: str) -> bytes:
    """The SIGNED page 1 draws an image XObject /Im0 = obj 99 that does not exist when signed;
    the update adds obj 99 to the DSS's /Certs as a stream whose bytes are a real DER
    certificate but whose dictionary makes it an image (drawn as grey noise over the text).

    Gate: MODIFIED_AFTER_SIGNING (a DSS stream is only data: no image keys; and the page uses
    an object added after signing).
    pyHanko: ivt ENTIRE_REVISION OTHER, docmdp_ok=False.
    """
    objs = _letter_objects(resources_extra=b" /XObject << /Im0 99 0 R >>")
    objs[11] = _stream(b"", _text_content(_DEFAULT_TEXT.split("\n"))
                       + b"\nq 300 0 0 120 72 600 cm /Im0 Do Q")
    letter = sign(_build_pdf(objs), pki.org(regno))
    image = _stream(b"/Type /XObject /Subtype /Image /Width 32 /Height 16 "
                    b"/ColorSpace /DeviceGray /BitsPerComponent 8", pki.root.cert_der)
    return _dss_loophole(pki, regno, b"", {99: image}, letter=letter, certs=(99,))


def dss_loophole_info_changed(pki, regno: str) -> bytes:
    """A proper DSS, and the same update changes the document information's /Title (only
    /ModDate and /Producer may be refreshed with validation data).

    Gate: MODIFIED_AFTER_SIGNING.
    pyHanko: ivt ENTIRE_REVISION LTA_UPDATES -- ACCEPTS (it allows any /Info change).
    """
    info = b"<< /Title (Paid in full) /Producer (registry tests) /CreationDate (D:20250101120000Z) >>"
    return _dss_loophole(pki, regno, b"", {4: info})


def signed_then_validation_info_added(pki, regno: str) -> bytes:
    """Signed (PAdES), then pyHanko's own `add_validation_info` adds the chain and the CRLs to a
    DSS, with a /VRI entry for the signature, in a separate incremental update (PAdES B-LT made
    after the fact, as LTV tools do).

    Gate: ACCEPTED.
    pyHanko: ivt ENTIRE_REVISION LTA_UPDATES, docmdp_ok=True.
    """
    from pyhanko.sign.validation import add_validation_info
    data = signed_letter(pki, regno)
    reader = _reader(data)
    out = add_validation_info(reader.embedded_signatures[0], pki.validation_context())
    return out.getvalue()


# =============================================================================================
# machine-readable registry
# =============================================================================================
@dataclass(frozen=True)
class Sample:
    """One sample: `build(pki, regno) -> bytes`; the gate (with a 1 MiB size limit, as the tests
    set it) must answer exactly `expected`: "ACCEPTED", or the one reason code it refuses for
    (see tests/SAMPLES.md for each policy)."""
    name: str
    build: Callable
    expected: str
    group: str = ""
    slow: bool = False  # a decompression bomb: meant for the time/memory budget tests

    @property
    def reasons(self) -> tuple[str, ...]:
        """The verdict's whole reason list."""
        return () if self.expected == "ACCEPTED" else (self.expected,)


def _s(name, fn, expected, group="", slow=False, *, takes_pki=True, **kw):
    if takes_pki:
        build = (lambda pki, regno, _fn=fn, _kw=kw: _fn(pki, regno, **_kw))
    else:
        build = (lambda pki, regno, _fn=fn, _kw=kw: _fn(**_kw))
    return Sample(name, build, expected, group, slow)


SAMPLES: list[Sample] = [
    # good
    _s("signed_letter", signed_letter, "ACCEPTED", group="good"),
    _s("signed_multipage_letter", signed_multipage_letter, "ACCEPTED", group="good"),
    _s("signed_letter_adbe", signed_letter_adbe, "ACCEPTED", group="good"),
    _s("signed_letter_ec", signed_letter_ec, "ACCEPTED", group="good"),
    _s("signed_with_serialnumber_form", signed_with_serialnumber_form, "ACCEPTED", group="good"),
    _s("signed_letter_with_crl", signed_letter_with_crl, "ACCEPTED",
       group="good"),
    _s("signed_letter_timestamped", signed_letter_timestamped, "ACCEPTED", group="good"),
    _s("signed_then_dss_added", signed_then_dss_added, "ACCEPTED", group="good"),
    _s("signed_then_validation_info_added", signed_then_validation_info_added, "ACCEPTED",
       group="good"),
    _s("signed_then_dss_added_pyhanko", signed_then_dss_added_pyhanko, "ACCEPTED", group="good"),
    # format
    _s("not_pdf", not_pdf, "NOT_PDF", group="format", takes_pki=False),
    _s("docx_like_zip", docx_like_zip, "NOT_PDF", group="format", takes_pki=False),
    _s("renamed_text_file", renamed_text_file, "NOT_PDF", group="format", takes_pki=False),
    _s("empty_file", empty_file, "NOT_PDF", group="format", takes_pki=False),
    _s("truncated_signed", truncated_signed, "MALFORMED_PDF", group="format"),
    _s("garbage_with_pdf_header", garbage_with_pdf_header, "MALFORMED_PDF", group="format",
       takes_pki=False),
    _s("encrypted_pdf", encrypted_pdf, "ENCRYPTED_PDF", group="format", takes_pki=False),
    _s("encrypted_pdf_empty_password", encrypted_pdf, "ENCRYPTED_PDF", group="format",
       takes_pki=False, user_password=""),
    _s("signed_encrypted_pdf", signed_encrypted_pdf, "ENCRYPTED_PDF", group="format"),
    _s("large_signed_letter", large_signed_letter, "TOO_LARGE", group="format"),
    # count
    _s("unsigned_letter", unsigned_letter, "NO_SIGNATURE", group="count", takes_pki=False),
    _s("letter_with_form_field", letter_with_form_field, "NO_SIGNATURE", group="count",
       takes_pki=False),
    _s("letter_with_empty_sig_field", letter_with_empty_sig_field, "NO_SIGNATURE",
       group="count", takes_pki=False),
    _s("two_signatures", two_signatures, "MULTIPLE_SIGNATURES", group="count"),
    _s("second_signature_adbe_x509_rsa_sha1", second_signature_unusual_subfilter,
       "MULTIPLE_SIGNATURES", group="count", subfilter="/adbe.x509.rsa_sha1"),
    _s("second_signature_etsi_rfc3161", second_signature_unusual_subfilter,
       "MULTIPLE_SIGNATURES", group="count", subfilter="/ETSI.RFC3161"),
    _s("second_signature_made_up_subfilter", second_signature_unusual_subfilter,
       "MULTIPLE_SIGNATURES", group="count", subfilter="/Registry.Made.Up"),
    _s("signed_then_doc_timestamp", signed_then_doc_timestamp, "MULTIPLE_SIGNATURES",
       group="count"),
    _s("second_signature_outside_acroform", second_signature_outside_acroform,
       "MULTIPLE_SIGNATURES", group="count"),
    _s("second_signature_without_name", second_signature_without_name,
       "MULTIPLE_SIGNATURES", group="count"),
    _s("sole_signature_adbe_pkcs7_sha1", sole_signature_unusual_subfilter, "NOT_PADES",
       group="count", subfilter="/adbe.pkcs7.sha1"),
    _s("sole_signature_made_up_subfilter", sole_signature_unusual_subfilter, "NOT_PADES",
       group="count", subfilter="/Registry.Made.Up"),
    # incremental
    _s("page_content_replaced", page_content_replaced, "MODIFIED_AFTER_SIGNING", group="update"),
    _s("new_page_added", new_page_added, "MODIFIED_AFTER_SIGNING", group="update"),
    _s("annotation_added", annotation_added, "MODIFIED_AFTER_SIGNING", group="update"),
    _s("form_filled", form_filled, "MODIFIED_AFTER_SIGNING", group="update"),
    _s("unchanged_object_rewritten", unchanged_object_rewritten, "MODIFIED_AFTER_SIGNING",
       group="update"),
    _s("info_rewritten", info_rewritten, "MODIFIED_AFTER_SIGNING", group="update"),
    _s("info_changed", info_changed, "MODIFIED_AFTER_SIGNING", group="update"),
    _s("xmp_metadata_added", xmp_metadata_added, "MODIFIED_AFTER_SIGNING", group="update"),
    _s("orphan_object_added", orphan_object_added, "MODIFIED_AFTER_SIGNING", group="update"),
    _s("shadow_hide", shadow_hide, "MODIFIED_AFTER_SIGNING", group="update"),
    _s("shadow_replace", shadow_replace, "MODIFIED_AFTER_SIGNING", group="update"),
    _s("shadow_replace_font", shadow_replace_font, "MODIFIED_AFTER_SIGNING", group="update"),
    _s("shadow_hide_and_replace", shadow_hide_and_replace, "MODIFIED_AFTER_SIGNING",
       group="update"),
    _s("catalog_changed_with_dss", catalog_changed_with_dss, "MODIFIED_AFTER_SIGNING",
       group="update"),
    _s("catalog_names_changed_with_dss", catalog_changed_with_dss, "MODIFIED_AFTER_SIGNING",
       group="update", what="Names"),
    _s("dss_loophole_refers_to_page", dss_loophole_refers_to_page, "MODIFIED_AFTER_SIGNING",
       group="update"),
    _s("dss_loophole_content_in_vri", dss_loophole_content_in_vri, "MODIFIED_AFTER_SIGNING",
       group="update"),
    _s("dss_loophole_font_in_ocsps", dss_loophole_font_in_ocsps, "MODIFIED_AFTER_SIGNING",
       group="update"),
    _s("dss_loophole_via_extensions", dss_loophole_via_extensions, "MODIFIED_AFTER_SIGNING",
       group="update"),
    _s("dss_loophole_metadata_is_content", dss_loophole_metadata_is_content,
       "MODIFIED_AFTER_SIGNING", group="update"),
    _s("dss_loophole_info_is_font", dss_loophole_info_is_font, "MODIFIED_AFTER_SIGNING",
       group="update"),
    _s("dss_loophole_metadata_names_content", dss_loophole_metadata_names_content,
       "MODIFIED_AFTER_SIGNING", group="update"),
    _s("dss_loophole_info_names_font", dss_loophole_info_names_font, "MODIFIED_AFTER_SIGNING",
       group="update"),
    _s("dss_loophole_fills_dangling_reference", dss_loophole_fills_dangling_reference,
       "MODIFIED_AFTER_SIGNING", group="update"),
    _s("dss_loophole_dangling_reference_drawn", dss_loophole_dangling_reference_drawn,
       "MODIFIED_AFTER_SIGNING", group="update"),
    _s("dss_loophole_image_in_certs", dss_loophole_image_in_certs, "MODIFIED_AFTER_SIGNING",
       group="update"),
    _s("dss_loophole_info_changed", dss_loophole_info_changed, "MODIFIED_AFTER_SIGNING",
       group="update"),
    _s("signed_with_trailing_bytes", signed_with_trailing_bytes, "MODIFIED_AFTER_SIGNING",
       group="update"),
    _s("signed_with_long_trailing_bytes", signed_with_trailing_bytes, "MALFORMED_PDF",
       group="update", n=4096),
    # forgery
    _s("signature_wrapping", signature_wrapping, "SIGNATURE_INVALID", group="forgery"),
    _s("byterange_gap_moved", byterange_gap_moved, "SIGNATURE_INVALID", group="forgery"),
    _s("byterange_overlaps_contents", byterange_overlaps_contents, "SIGNATURE_INVALID",
       group="forgery"),
    _s("usf_contents_empty", usf_contents_empty, "SIGNATURE_INVALID", group="forgery"),
    _s("usf_contents_zeros", usf_contents_zeros, "SIGNATURE_INVALID", group="forgery"),
    _s("usf_byterange_missing", usf_byterange_missing, "SIGNATURE_INVALID", group="forgery"),
    _s("usf_byterange_zero", usf_byterange_zero, "SIGNATURE_INVALID", group="forgery"),
    _s("usf_contents_not_cms", usf_contents_not_cms, "SIGNATURE_INVALID", group="forgery"),
    _s("usf_cert_without_contents", usf_cert_without_contents, "SIGNATURE_INVALID",
       group="forgery"),
    _s("cms_over_other_document", cms_over_other_document, "SIGNATURE_INVALID", group="forgery"),
    # certificates
    _s("signed_by_revoked", signed_by_revoked, "CERT_REVOKED", group="cert"),
    _s("signed_by_expired", signed_by_expired, "CERT_EXPIRED", group="cert"),
    _s("signed_by_not_yet_valid", signed_by_not_yet_valid, "CERT_EXPIRED", group="cert"),
    _s("signed_by_untrusted", signed_by_untrusted, "UNTRUSTED_SIGNER", group="cert"),
    _s("signed_by_self_signed", signed_by_self_signed, "UNTRUSTED_SIGNER", group="cert"),
    _s("signed_by_other_org", signed_by_other_org, "SIGNER_ORG_MISMATCH", group="cert"),
    _s("signed_without_regno", signed_without_regno, "SIGNER_ORG_MISMATCH", group="cert"),
    # resources
    _s("deflate_bomb", deflate_bomb, "NO_SIGNATURE",
       group="resource", slow=True, takes_pki=False),
    _s("signed_deflate_bomb", signed_deflate_bomb, "TOO_LARGE",
       group="resource", slow=True),
    _s("signed_deflate_bomb_unreferenced", signed_deflate_bomb, "TOO_LARGE",
       group="resource", slow=True, referenced=False),
    _s("signed_bomb_redefined", signed_bomb_redefined, "TOO_LARGE",
       group="resource", slow=True),
    _s("deep_nesting", deep_nesting, "MALFORMED_PDF", group="resource",
       takes_pki=False),
    _s("deep_dict_nesting", deep_dict_nesting, "MALFORMED_PDF",
       group="resource", takes_pki=False),
    _s("xref_loop", xref_loop, "MALFORMED_PDF", group="resource",
       takes_pki=False),
    _s("xref_self_loop", xref_self_loop, "MALFORMED_PDF", group="resource",
       takes_pki=False),
    _s("huge_object_count", huge_object_count, "TOO_LARGE",
       group="resource", takes_pki=False),
    _s("huge_xref_claim", huge_xref_claim, "MALFORMED_PDF",
       group="resource", takes_pki=False),
]


def sample(name: str) -> Sample:
    for s in SAMPLES:
        if s.name == name:
            return s
    raise KeyError(name)
