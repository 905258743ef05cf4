"""The checks themselves, run inside the gate's worker process (see worker.py).

The decision is ours, made from pyHanko's separate findings (intact, valid, trusted, coverage)
and from our own strict look at every revision after the signed one: pyHanko's overall bottom
line and its lenient difference policy are recorded as evidence, never trusted alone.
"""
import hashlib
import re
from datetime import datetime, timezone
from io import BytesIO

from registry.signatures.verdict import Verdict

PDF_HEADER_WINDOW = 1024
SUPPORTED_SUBFILTERS = {"/adbe.pkcs7.detached": "adbe.pkcs7.detached",
                        "/ETSI.CAdES.detached": "ETSI.CAdES.detached"}
#: Catalog keys an update that only adds validation data (PAdES B-LT) may add or change.
DSS_CATALOG_KEYS = {"/DSS", "/Extensions", "/Version"}
ORG_ID_OID = "2.5.4.97"
_ORG_ID = re.compile(r"^(?:NTR[A-Z]{2}-)?([0-9]{7})$")


def decode_limits():
    """Tighter than pyHanko's defaults for untrusted input: a letter's streams are small."""
    from pyhanko.pdf_utils.decode_limits import (
        DecodeLimits,
        DocumentDecodeBudget,
        StreamDecodeLimits,
    )

    mib = 1024 * 1024
    return DecodeLimits(per_stream=StreamDecodeLimits(max_output_size=64 * mib),
                        document_budget=DocumentDecodeBudget(base_allowance=192 * mib,
                                                             max_ratio=50))


def now_iso():
    return datetime.now(timezone.utc).isoformat()


def inspect_payload(payload, expected_regno=None, trust=None, options=None):
    """Worker entry point: `payload` is the PDF's bytes or a file path; returns the Verdict as
    plain data (to cross the process boundary)."""
    if isinstance(payload, str):
        with open(payload, "rb") as handle:
            payload = handle.read()
    return inspect(payload, expected_regno, trust, options).as_json()


def inspect(data, expected_regno=None, trust=None, options=None):
    """Check `data` (the PDF's bytes); return a Verdict. Never raises for bad input."""
    options = options or {}
    # The gate hashed the file already, before handing it over: no need to do it twice.
    digest = options.get("sha256") or hashlib.sha256(data).hexdigest()
    base = {"checked_at": now_iso(), "sha256": digest, "size": len(data),
            "expected_org": expected_regno}
    max_size = options.get("max_size")
    if max_size and len(data) > max_size:
        return Verdict.refused("TOO_LARGE", evidence={"max_size": max_size}, **base)
    if b"%PDF-" not in data[:PDF_HEADER_WINDOW]:
        return Verdict.refused("NOT_PDF", **base)
    try:
        return _inspect_pdf(data, expected_regno, trust or {}, options, base)
    except MemoryError:
        return Verdict.refused("MALFORMED_PDF", evidence={"error": "memory budget exceeded"},
                               **base)
    except RecursionError:
        return Verdict.refused("MALFORMED_PDF", evidence={"error": "nesting too deep"}, **base)


def _inspect_pdf(data, expected_regno, trust, options, base):
    from pyhanko.pdf_utils.misc import PdfError
    from pyhanko.pdf_utils.reader import PdfFileReader

    try:
        reader = PdfFileReader(BytesIO(data), strict=False, decode_limits=decode_limits())
        revisions = reader.xrefs.total_revisions
        root = reader.root
    except (PdfError, ValueError, KeyError, TypeError, IndexError, AttributeError,
            OverflowError, AssertionError, UnicodeError) as exc:
        return Verdict.refused("MALFORMED_PDF", evidence={"error": _describe(exc)}, **base)
    if reader.encrypted:
        return Verdict.refused("ENCRYPTED_PDF", **base)
    try:
        fields = signature_fields(reader, root)
    except (PdfError, ValueError, KeyError, TypeError, AttributeError, IndexError) as exc:
        return Verdict.refused("MALFORMED_PDF", evidence={"error": _describe(exc)}, **base)
    evidence = {"revisions": revisions,
                "signature_fields": [{"name": f["name"], "subfilter": f["subfilter"]}
                                     for f in fields]}
    if not fields:
        return Verdict.refused("NO_SIGNATURE", evidence=evidence, **base)
    if len(fields) > 1:
        return Verdict.refused("MULTIPLE_SIGNATURES", evidence=evidence, **base)
    field = fields[0]
    subfilter = SUPPORTED_SUBFILTERS.get(field["subfilter"])
    if subfilter is None:
        # Not a format the registry verifies (and not PAdES either).
        evidence["error"] = f"unsupported SubFilter {field['subfilter']}"
        return Verdict(accepted=False, reasons=("SIGNATURE_INVALID", "NOT_PADES"),
                       subfilter=field["subfilter"], evidence=evidence, **base)
    return _validate(reader, data, field, subfilter, expected_regno, trust, options, evidence,
                     base)


def _describe(exc):
    text = str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {text[:300]}"


def signature_fields(reader, root):
    """Every filled signature field (one whose /V is a dictionary), whatever its SubFilter:
    walked from the AcroForm field tree, plus signature widgets found on pages but missing from
    the AcroForm. Returns [{"name", "subfilter", "field", "sig"}]. An empty field does not
    count."""
    from pyhanko.pdf_utils import generic

    found, seen = [], set()

    def value_of(field_dict):
        sig = field_dict.get("/V")
        if isinstance(sig, generic.IndirectObject):
            sig = sig.get_object()
        return sig if isinstance(sig, generic.DictionaryObject) else None

    def consider(field_ref, field_dict, name, inherited_ft):
        ft = field_dict.get("/FT", inherited_ft)
        key = _ref_key(field_ref) or id(field_dict)
        if key in seen:
            return
        seen.add(key)
        if ft == "/Sig":
            sig = value_of(field_dict)
            if sig is not None:
                subfilter = sig.get("/SubFilter")
                found.append({"name": name, "subfilter": str(subfilter) if subfilter else None,
                              "field": field_dict, "field_ref": field_ref, "sig": sig})
        kids = field_dict.get("/Kids")
        if isinstance(kids, generic.ArrayObject) and len(seen) < 100000:
            for kid_ref in kids:
                kid = kid_ref.get_object() if isinstance(kid_ref, generic.IndirectObject) \
                    else kid_ref
                if isinstance(kid, generic.DictionaryObject):
                    kid_name = kid.get("/T")
                    consider(kid_ref, kid, f"{name}.{kid_name}" if kid_name else name, ft)

    acroform = root.get("/AcroForm")
    if isinstance(acroform, generic.IndirectObject):
        acroform = acroform.get_object()
    if isinstance(acroform, generic.DictionaryObject):
        fields = acroform.get("/Fields")
        if isinstance(fields, generic.IndirectObject):
            fields = fields.get_object()
        if isinstance(fields, generic.ArrayObject):
            for field_ref in fields:
                field_dict = field_ref.get_object() if isinstance(
                    field_ref, generic.IndirectObject) else field_ref
                if isinstance(field_dict, generic.DictionaryObject):
                    consider(field_ref, field_dict, str(field_dict.get("/T", "")), None)
    # Signature widgets attached to pages but left out of the AcroForm still carry signatures.
    for page_ref in _pages(reader):
        page = page_ref.get_object()
        annots = page.get("/Annots")
        if isinstance(annots, generic.IndirectObject):
            annots = annots.get_object()
        if not isinstance(annots, generic.ArrayObject):
            continue
        for annot_ref in annots:
            annot = annot_ref.get_object() if isinstance(annot_ref, generic.IndirectObject) \
                else annot_ref
            if isinstance(annot, generic.DictionaryObject) and (
                    annot.get("/FT") == "/Sig" or "/V" in annot):
                parent = annot.get("/Parent")
                if "/FT" not in annot and parent is not None:
                    continue  # a widget of a field already walked through its parent
                consider(annot_ref, annot, str(annot.get("/T", "")), None)
    return found


def _pages(reader):
    refs = []
    try:
        for page_ref in reader.root["/Pages"].get_object().get("/Kids", []):
            refs.extend(_leaf_pages(page_ref, depth=0))
    except (KeyError, AttributeError, TypeError):
        return []
    return refs


def _leaf_pages(node_ref, depth):
    if depth > 64:
        return []
    node = node_ref.get_object()
    if node.get("/Type") == "/Pages":
        out = []
        for kid in node.get("/Kids", []):
            out.extend(_leaf_pages(kid, depth + 1))
            if len(out) > 100000:
                break
        return out
    return [node_ref]


def _ref_key(ref):
    from pyhanko.pdf_utils import generic

    if isinstance(ref, generic.IndirectObject):
        return (ref.idnum, ref.generation)
    return None


def _validate(reader, data, field, subfilter, expected_regno, trust, options, evidence, base):
    from pyhanko.pdf_utils.misc import PdfError
    from pyhanko.sign.validation.errors import SignatureValidationError
    from pyhanko.sign.validation import EmbeddedPdfSignature, validate_pdf_signature
    from pyhanko.sign.validation.status import SignatureCoverageLevel

    reasons = []
    if options.get("pades_only") and subfilter != "ETSI.CAdES.detached":
        reasons.append("NOT_PADES")
    try:
        embedded = EmbeddedPdfSignature(reader, field["field"], field["name"])
        status = validate_pdf_signature(embedded, _validation_context(trust, options),
                                        skip_diff=False)
    except (SignatureValidationError, PdfError, ValueError, KeyError, TypeError,
            AttributeError, IndexError) as exc:
        evidence["error"] = _describe(exc)
        return Verdict.refused("SIGNATURE_INVALID", subfilter=subfilter, evidence=evidence,
                               **base)
    evidence.update(_status_evidence(status))
    signer = _signer(status.signing_cert)
    signing_time = status.signer_reported_dt.isoformat() if status.signer_reported_dt else None
    timestamp = None
    if status.timestamp_validity is not None and status.timestamp_validity.valid:
        timestamp = status.timestamp_validity.timestamp.isoformat()

    gap_problem = _byte_range_problem(data, field["sig"])
    if gap_problem:
        # pyHanko decides coverage from length arithmetic; the gap must also be exactly the
        # signature's own /Contents string, or bytes outside it pass as "covered".
        evidence["error"] = gap_problem
        reasons.insert(0, "SIGNATURE_INVALID")
    elif not (status.intact and status.valid):
        reasons.insert(0, "SIGNATURE_INVALID")
    elif status.coverage == SignatureCoverageLevel.ENTIRE_FILE:
        pass
    elif status.coverage == SignatureCoverageLevel.ENTIRE_REVISION:
        problem = later_revisions_problem(reader, embedded.signed_revision)
        if problem:
            evidence["modification"] = problem
            reasons.append("MODIFIED_AFTER_SIGNING")
    else:
        # The byte range leaves out part of its own revision: the wrapping trick.
        evidence["error"] = "the signature does not cover its whole revision"
        reasons.insert(0, "SIGNATURE_INVALID")

    if "MODIFIED_AFTER_SIGNING" not in reasons and _appended_after_end(data):
        evidence["modification"] = "bytes appended after the end of the last revision"
        reasons.append("MODIFIED_AFTER_SIGNING")
    reasons.extend(_certificate_reasons(status, signer))
    if expected_regno is not None and signer.get("regno") != expected_regno:
        reasons.append("SIGNER_ORG_MISMATCH")
    reasons = tuple(dict.fromkeys(reasons))
    return Verdict(accepted=not reasons, reasons=reasons, signer=signer,
                   signing_time=signing_time, timestamp=timestamp, subfilter=subfilter,
                   evidence=evidence, **base)


_HEX = frozenset(b"0123456789abcdefABCDEF \r\n\t")


def _byte_range_problem(data, sig):
    """Check that /ByteRange is [0 a b c] where data[a:b] is exactly the `<hex>` string of
    /Contents. Returns a description of what is wrong, or None."""
    try:
        start, first_len, second, second_len = (int(v) for v in sig["/ByteRange"])
    except (KeyError, TypeError, ValueError):
        return "the /ByteRange is missing or not four numbers"
    gap_start, gap_end = start + first_len, second
    if start != 0 or first_len <= 0 or second_len < 0 or gap_end <= gap_start + 1 \
            or second + second_len > len(data):
        return "the /ByteRange does not frame the signature in the file"
    if data[gap_start:gap_start + 1] != b"<" or data[gap_end - 1:gap_end] != b">" or \
            not _HEX.issuperset(data[gap_start + 1:gap_end - 1]):
        return "the bytes left out by /ByteRange are not exactly the signature's /Contents"
    return None


def _appended_after_end(data):
    """True if anything but white space follows the file's last %%EOF (bytes no signature and
    no revision covers)."""
    end = data.rfind(b"%%EOF")
    return end >= 0 and bool(data[end + 5:].strip(b"\r\n\t \x00\x0c"))


def _validation_context(trust, options):
    from asn1crypto import crl as asn1_crl
    from asn1crypto import x509 as asn1_x509
    from pyhanko_certvalidator import ValidationContext

    roots = [asn1_x509.Certificate.load(der) for der in trust.get("roots", ())]
    others = [asn1_x509.Certificate.load(der) for der in trust.get("intermediates", ())]
    crls = [asn1_crl.CertificateList.load(der) for der in trust.get("crls", ())]
    return ValidationContext(
        trust_roots=roots, other_certs=others, crls=crls,
        allow_fetching=bool(options.get("fetch")), revocation_mode="hard-fail")


def _status_evidence(status):
    def name(value):
        return getattr(value, "name", None) if value is not None else None

    evidence = {
        "intact": bool(status.intact),
        "valid": bool(status.valid),
        "trusted": bool(status.trusted),
        "coverage": name(status.coverage),
        "modification_level": name(status.modification_level),
        "docmdp_ok": status.docmdp_ok,
        "bottom_line": bool(status.bottom_line),
        "trust_problem": name(status.trust_problem_indic),
        "md_algorithm": status.md_algorithm,
    }
    if status.revocation_details is not None:
        details = status.revocation_details
        evidence["revocation"] = {
            "ca_revoked": details.ca_revoked,
            "date": details.revocation_date.isoformat(),
            "reason": str(details.revocation_reason.native),
        }
    if status.validation_path is not None:
        try:
            evidence["chain"] = [cert.subject.human_friendly for cert in status.validation_path]
        except Exception:  # the path's shape differs between certvalidator versions
            pass
    return evidence


def _certificate_reasons(status, signer):
    """Reasons from the certificate's standing: trusted chain, dates, revocation."""
    from pyhanko.sign.ades.report import AdESFailure, AdESIndeterminate

    if status.trusted and status.revocation_details is None:
        return []
    indication = status.trust_problem_indic
    revoked = {AdESIndeterminate.REVOKED_NO_POE, AdESIndeterminate.REVOKED_CA_NO_POE,
               AdESFailure.REVOKED}
    expired = {AdESIndeterminate.OUT_OF_BOUNDS_NO_POE, AdESIndeterminate.OUT_OF_BOUNDS_NOT_REVOKED,
               AdESIndeterminate.EXPIRED, AdESIndeterminate.NOT_YET_VALID,
               AdESFailure.NOT_YET_VALID}
    unknown = {AdESIndeterminate.TRY_LATER, AdESIndeterminate.REVOCATION_OUT_OF_BOUNDS_NO_POE}
    if status.revocation_details is not None or indication in revoked:
        return ["CERT_REVOKED"]
    now = datetime.now(timezone.utc)
    if indication in expired or (signer.get("not_after") and signer["not_after"] < now.isoformat()) \
            or (signer.get("not_before") and signer["not_before"] > now.isoformat()):
        return ["CERT_EXPIRED"]
    if indication in unknown:
        return ["REVOCATION_UNKNOWN"]
    if indication == AdESIndeterminate.CERTIFICATE_CHAIN_GENERAL_FAILURE and \
            status.validation_path is not None:
        # A chain to a trust anchor was built, yet it failed: with hard-fail revocation
        # checking, that is missing (or unusable) revocation information.
        return ["REVOCATION_UNKNOWN"]
    return ["UNTRUSTED_SIGNER"]


def _signer(cert):
    """Subject, organisation registration number, issuer, serial and validity of `cert`
    (an asn1crypto certificate)."""
    subject = cert.subject
    regno = None
    for rdn in subject.chosen:
        for attribute in rdn:
            oid = attribute["type"].dotted
            value = attribute["value"].native
            if oid == ORG_ID_OID or attribute["type"].native == "organization_identifier":
                match = _ORG_ID.match(str(value).strip())
                if match:
                    regno = match.group(1)
    if regno is None:
        serial = subject.native.get("serial_number")
        match = _ORG_ID.match(str(serial).strip()) if serial else None
        if match:
            regno = match.group(1)
    validity = cert["tbs_certificate"]["validity"]
    return {
        "subject": subject.human_friendly,
        "name": subject.native.get("common_name") or subject.native.get("organization_name"),
        "regno": regno,
        "issuer_name": cert.issuer.native.get("common_name"),
        "issuer": cert.issuer.human_friendly,
        "serial": format(cert.serial_number, "x"),
        "not_before": validity["not_before"].native.isoformat(),
        "not_after": validity["not_after"].native.isoformat(),
    }


def later_revisions_problem(reader, signed_revision):
    """Return a description of the first change after `signed_revision` that is not a pure
    validation-data (DSS) update, or None if there is none.

    Strict: any object of the signed revision that a later revision redefines (even
    byte-identically) or frees is a modification, except the catalog gaining or changing only
    /DSS, /Extensions or /Version, and the objects of the DSS itself. Objects a later revision
    adds must be part of the DSS (or of the catalog's /Extensions).
    """
    from pyhanko.pdf_utils import generic

    xrefs = reader.xrefs
    total = xrefs.total_revisions
    for revision in range(signed_revision + 1, total):
        freed = xrefs.refs_freed_in_revision(revision)
        if freed:
            return f"revision {revision} frees objects {sorted(r.idnum for r in freed)[:10]}"
        resolver = reader.get_historical_resolver(revision)
        previous = reader.get_historical_resolver(revision - 1)
        root_ref = resolver.trailer_view.raw_get("/Root")
        root_key = (root_ref.idnum, root_ref.generation)
        root = resolver.root
        allowed = _reachable([root.raw_get(key) for key in ("/DSS", "/Extensions")
                              if key in root])
        explicit = {(r.idnum, r.generation) for r in xrefs.explicit_refs_in_revision(revision)}
        dss = root.raw_get("/DSS") if "/DSS" in root else None
        previous_dss = previous.root.raw_get("/DSS") if "/DSS" in previous.root else None
        if dss is not None and (dss != previous_dss or _ref_key(dss) in explicit):
            # A validation-data update may also refresh the document's metadata (producer,
            # modification date), as signing software does with every save.
            for holder, key in ((resolver.trailer_view, "/Info"), (root, "/Metadata")):
                if key in holder and _ref_key(holder.raw_get(key)):
                    allowed.add(_ref_key(holder.raw_get(key)))
        for ref in xrefs.explicit_refs_in_revision(revision):
            key = (ref.idnum, ref.generation)
            if key == root_key:
                problem = _catalog_problem(previous.root, root)
                if problem:
                    return f"revision {revision}: {problem}"
                continue
            try:
                obj = resolver.get_object(ref)
            except Exception:  # noqa: BLE001  (a broken object in an update is a change)
                return f"revision {revision} holds an unreadable object {ref.idnum}"
            if isinstance(obj, generic.StreamObject) and obj.get("/Type") in ("/XRef", "/ObjStm"):
                continue  # file structure, not content
            if key in allowed:
                continue
            introduced = xrefs.get_introducing_revision(ref)
            if introduced < revision:
                return f"revision {revision} rewrites object {ref.idnum} of an earlier revision"
            return f"revision {revision} adds object {ref.idnum} outside the DSS"
    return None


def _catalog_problem(before, after):
    for key in sorted(set(before.keys()) | set(after.keys())):
        if key in DSS_CATALOG_KEYS:
            continue
        if key not in before or key not in after or before.raw_get(key) != after.raw_get(key):
            return f"the catalog's {key} changed"
    return None


def _reachable(starts, limit=100000):
    """Keys (idnum, generation) of the indirect objects reachable from `starts`."""
    from pyhanko.pdf_utils import generic

    seen, stack = set(), []

    def push(value):
        if isinstance(value, generic.IndirectObject):
            key = (value.idnum, value.generation)
            if key not in seen:
                seen.add(key)
                stack.append(value.get_object())
        elif isinstance(value, (generic.DictionaryObject, generic.ArrayObject)):
            stack.append(value)

    for start in starts:
        if start is not None:
            push(start)
    while stack and len(seen) < limit:
        current = stack.pop()
        if isinstance(current, generic.DictionaryObject):
            for key in current:
                push(current.raw_get(key))
        elif isinstance(current, generic.ArrayObject):
            for index in range(len(current)):
                push(current.raw_get(index))
    return seen
