"""The checks themselves, run inside the gate's worker process (see worker.py).

The decision is ours, made from pyHanko's separate findings (intact, valid, trusted, coverage)
and from our own strict look at every revision after the signed one: pyHanko's overall bottom
line and its lenient difference policy are recorded as evidence, never trusted alone.
"""
import hashlib
import re
from dataclasses import replace
from datetime import datetime, timezone
from io import BytesIO

from registry.signatures.verdict import Verdict

PDF_HEADER_WINDOW = 1024
SUPPORTED_SUBFILTERS = {"/adbe.pkcs7.detached": "adbe.pkcs7.detached",
                        "/ETSI.CAdES.detached": "ETSI.CAdES.detached"}
#: Catalog keys an update that only adds validation data (PAdES B-LT) may add or change.
DSS_CATALOG_KEYS = {"/DSS", "/Extensions", "/Version"}
ORG_ID_OID = "2.5.4.97"
#: More annotations than any letter carries: a file with more is refused as TOO_LARGE.
MAX_ANNOTATIONS = 200
_ORG_ID = re.compile(r"^(?:NTR[A-Z]{2}-)?([0-9]{7})$")


class TooManyObjects(Exception):
    """The file holds more objects of a kind than the gate checks within its budget."""


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
    """Check `data` (the PDF's bytes); return a Verdict whose `sha256` is that of `data`
    (`options["sha256"]` when the gate hashed the bytes already). Never raises for bad
    input."""
    options = options or {}
    digest = FileDigest(data, options.get("sha256"))
    base = {"checked_at": options.get("now") or now_iso(), "size": len(data),
            "expected_org": expected_regno}
    verdict = _inspect(data, digest, expected_regno, trust or {}, options, base)
    return replace(verdict, sha256=digest.hexdigest())


def _inspect(data, digest, expected_regno, trust, options, base):
    max_size = options.get("max_size")
    if max_size and len(data) > max_size:
        return Verdict.refused("TOO_LARGE", evidence={"max_size": max_size}, **base)
    if b"%PDF-" not in data[:PDF_HEADER_WINDOW]:
        return Verdict.refused("NOT_PDF", **base)
    try:
        return _inspect_pdf(data, digest, expected_regno, trust, options, base)
    except MemoryError:
        return Verdict.refused("MALFORMED_PDF", evidence={"error": "memory budget exceeded"},
                               **base)
    except RecursionError:
        return Verdict.refused("MALFORMED_PDF", evidence={"error": "nesting too deep"}, **base)


class FileDigest:
    """The SHA-256 of a file's bytes, worked out once per check: in the same pass over the
    bytes as the signature's byte-range digest when the signature asks for one (`seed`), else
    on its own when first asked for."""

    def __init__(self, data, known=None):
        self.data = data
        self._hex = known

    def hexdigest(self):
        if self._hex is None:
            self._hex = hashlib.sha256(self.data).hexdigest()
        return self._hex

    def seed(self, embedded, sig):
        """Give pyHanko the SHA-256 digest of `embedded`'s byte range (its own cache of
        `compute_digest`), computed with the file's: the bytes before the signature's
        /Contents are read once for both. Call it only for a /ByteRange [0 a b c] that frames
        the signature's /Contents within the file (`_byte_range_problem` finds nothing);
        only SHA-256 and a /ByteRange written out in the signature dictionary are seeded,
        pyHanko works out (or fails on) any other itself, as it would."""
        from pyhanko.pdf_utils import generic

        if embedded.external_md_algorithm != "sha256" or \
                not isinstance(embedded.byte_range, generic.ArrayObject):
            return
        _start, first_len, second, second_len = (int(v) for v in sig["/ByteRange"])
        view = memoryview(self.data)
        signed = hashlib.sha256(view[:first_len])
        if self._hex is None:
            whole = signed.copy()
            whole.update(view[first_len:])
            self._hex = whole.hexdigest()
        signed.update(view[second:second + second_len])
        embedded.external_digests["sha256"] = signed.digest()


def _inspect_pdf(data, digest, expected_regno, trust, options, base):
    from pyhanko.pdf_utils.misc import PdfError
    from pyhanko.pdf_utils.reader import PdfFileReader

    try:
        reader = _open(data)
        revisions = reader.xrefs.total_revisions
        root = reader.root
    except (PdfError, ValueError, KeyError, TypeError, IndexError, AttributeError,
            OverflowError, AssertionError, UnicodeError) as exc:
        return Verdict.refused("MALFORMED_PDF", evidence={"error": _describe(exc)}, **base)
    if reader.encrypted:
        return Verdict.refused("ENCRYPTED_PDF", **base)
    try:
        fields = signature_fields(reader, root)
    except TooManyObjects as exc:
        return Verdict.refused("TOO_LARGE", evidence={"error": str(exc)}, **base)
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
    if "/Contents" not in field["sig"] or "/ByteRange" not in field["sig"]:
        evidence["error"] = "the signature dictionary has no /Contents or no /ByteRange"
        return Verdict.refused("SIGNATURE_INVALID", subfilter=field["subfilter"],
                               evidence=evidence, **base)
    subfilter = SUPPORTED_SUBFILTERS.get(field["subfilter"])
    if subfilter is None:
        # Not a format the registry verifies (and not PAdES either): nothing more is asked.
        evidence["error"] = f"unsupported SubFilter {field['subfilter']}"
        return Verdict.refused("NOT_PADES", subfilter=field["subfilter"], evidence=evidence,
                               **base)
    try:
        overflow = _decoding_overflow(reader)
    except (PdfError, ValueError, KeyError, TypeError, AttributeError, IndexError) as exc:
        return Verdict.refused("MALFORMED_PDF", evidence={**evidence, "error": _describe(exc)},
                               **base)
    if overflow:
        return Verdict.refused("TOO_LARGE", evidence={**evidence, "error": overflow}, **base)
    return _validate(reader, data, digest, field, subfilter, expected_regno, trust, options,
                     evidence, base)


def _open(data):
    """A reader over `data`: its cross-reference sections read strictly first; a file whose xrefs
    pyHanko's strict mode refuses is read again leniently (real letters carry small defects),
    except when the refusal is one the lenient reader would spend minutes and gigabytes on (an
    xref stream claiming more entries than it holds)."""
    from pyhanko.pdf_utils.misc import PdfStrictReadError
    from pyhanko.pdf_utils.reader import PdfFileReader

    try:
        reader = PdfFileReader(BytesIO(data), strict=True, decode_limits=decode_limits())
    except PdfStrictReadError as exc:
        if "XRef stream ended prematurely" in str(exc):
            raise
        return PdfFileReader(BytesIO(data), strict=False, decode_limits=decode_limits())
    # The cross-reference data read strictly is what the lenient reader would have read; the
    # objects themselves are read leniently, as for every file.
    reader.strict = False
    return reader


#: Filters whose output can be much larger than their input.
_EXPANDING_FILTERS = {"/FlateDecode", "/Fl", "/LZWDecode", "/LZW", "/RunLengthDecode", "/RL"}


def _decoding_overflow(reader):
    """Decode every compressed stream of the file (every revision's) within the decode limits;
    return why a stream does not fit them (a decompression bomb), or None. Streams never sit in
    object streams, so only objects stored directly are read. Images in their own formats
    (DCT, JPX, JBIG2, CCITT) are not decoded: they do not expand past their pixels."""
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.misc import PdfDecodeLimitError

    xrefs = reader.xrefs
    seen = set()
    for revision in range(xrefs.total_revisions):
        resolver = None
        for ref in xrefs.explicit_refs_in_revision(revision):
            # Each definition once: an object a later revision redefines is read again there
            # (a bomb may replace an ordinary stream).
            position = xrefs.get_historical_ref(ref, revision)
            key = (_ref_key(ref), position)
            if key in seen or not isinstance(position, int):
                continue
            seen.add(key)
            if _last_change(xrefs, ref) == revision:
                # The current definition: read through the reader's own cache (the signature's
                # and the pages' objects are there already), not copied into a revision's view.
                obj = reader.get_object(ref)
            else:
                resolver = resolver or reader.get_historical_resolver(revision)
                obj = resolver.get_object(ref)
            if not isinstance(obj, generic.StreamObject):
                continue
            filters = obj.get("/Filter")
            names = filters if isinstance(filters, generic.ArrayObject) else [filters]
            if not any(name in _EXPANDING_FILTERS for name in names):
                continue
            try:
                obj.data  # noqa: B018  (decoded under the reader's limits)
            except PdfDecodeLimitError as exc:
                return f"object {ref.idnum}: {exc}"
            except Exception:  # noqa: BLE001  (a corrupt stream is not a bomb; viewers skip it)
                continue
    return None


def _last_change(xrefs, ref):
    """The revision that last defined `ref`, or None when the xrefs cannot tell."""
    try:
        return xrefs.get_last_change(ref)
    except KeyError:
        return None


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
    pages = []
    for page_ref in _pages(reader):
        annots = page_ref.get_object().get("/Annots")
        if isinstance(annots, generic.IndirectObject):
            annots = annots.get_object()
        if isinstance(annots, generic.ArrayObject):
            pages.append(annots)
    count = sum(len(annots) for annots in pages)
    if count > MAX_ANNOTATIONS:
        # Each annotation must be read to know it is no signature; pyHanko reads objects out of
        # object streams in time that grows with the stream, so this many cannot be checked
        # within the budget, and no letter needs them.
        raise TooManyObjects(f"{count} annotations (at most {MAX_ANNOTATIONS} are checked)")
    for annots in pages:
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

    if isinstance(ref, (generic.IndirectObject, generic.Reference)):
        return (ref.idnum, ref.generation)
    return None


def _validate(reader, data, digest, field, subfilter, expected_regno, trust, options, evidence,
              base):
    from pyhanko.pdf_utils.misc import PdfError
    from pyhanko.sign.validation.errors import SignatureValidationError
    from pyhanko.sign.validation import EmbeddedPdfSignature, validate_pdf_signature
    from pyhanko.sign.validation.status import SignatureCoverageLevel

    reasons = []
    if options.get("pades_only") and subfilter != "ETSI.CAdES.detached":
        reasons.append("NOT_PADES")
    gap_problem = _byte_range_problem(data, field["sig"])
    try:
        embedded = EmbeddedPdfSignature(reader, field["field"], field["name"])
        if not gap_problem:
            digest.seed(embedded, field["sig"])
        status = _validated(embedded, trust, options)
    except (SignatureValidationError, PdfError, ValueError, KeyError, TypeError,
            AttributeError, IndexError) as exc:
        evidence["error"] = _describe(exc)
        return Verdict.refused("SIGNATURE_INVALID", subfilter=subfilter, evidence=evidence,
                               **base)
    evidence.update(_status_evidence(status))
    signer = _signer(status.signing_cert)
    signing_time = status.signer_reported_dt.isoformat() if status.signer_reported_dt else None
    timestamp = None
    stamp = status.timestamp_validity
    if stamp is not None and stamp.intact and stamp.valid and not stamp.trusted:
        # The TSA's chain may have expired (or its CRLs aged) since: ask whether it was
        # trusted when it stamped, with the revocation data the file carries.
        stamp = _timestamp_then(embedded, trust, options, reader, stamp.timestamp)
    if stamp is not None and stamp.intact and stamp.valid and stamp.trusted:
        # Only a timestamp from a trusted TSA proves when the signature existed: one from
        # anyone else could date it back to while an expired certificate was valid.
        timestamp = stamp.timestamp.isoformat()
    evidence["level"] = _pades_level(reader, timestamp)

    if not gap_problem:
        # How many bytes from the start the signature covers: the document as it was signed
        # (what a reader of the signed content, such as the join form's code, must read).
        _start, _first, second, second_len = (int(v) for v in field["sig"]["/ByteRange"])
        evidence["signed_length"] = second + second_len
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

    if "SIGNATURE_INVALID" in reasons:
        # The signed bytes do not match: who signed, and whether they were trusted, cannot
        # be asked of a signature that signs nothing here.
        reasons = ("SIGNATURE_INVALID",)
        return Verdict(accepted=False, reasons=reasons, signer=signer,
                       signing_time=signing_time, timestamp=timestamp, subfilter=subfilter,
                       evidence=evidence, **base)
    if "MODIFIED_AFTER_SIGNING" not in reasons:
        modification = _pyhanko_modification(status) or (
            _appended_after_end(data) and "bytes appended after the end of the last revision")
        if modification:
            evidence["modification"] = modification
            reasons.append("MODIFIED_AFTER_SIGNING")
    if timestamp and not options.get("as_of"):
        # PAdES B-T/B-LT: the signature is proven to have existed at its timestamp; judge it
        # then, with the revocation data the file carries (its DSS) beside the trust's.
        options = {**options, "as_of": {"basis": "timestamp", "time": timestamp,
                                        "crls": _dss_crls(reader)}}
        if _certificate_reasons(status, signer, judgement_time(options)[1]) or \
                status.revocation_details is not None:
            status = validate_pdf_signature(embedded, _validation_context(trust, options),
                                            _tsa_context(trust, options), skip_diff=True)
            # The evidence describes the judgement given; the changes were analysed above.
            evidence.update({key: value for key, value in _status_evidence(status).items()
                             if key not in ("coverage", "modification_level", "docmdp_ok")})
    basis, moment = judgement_time(options)
    evidence["judged"] = {"basis": basis, "at": moment.isoformat()}
    if basis != "now":
        evidence["judged"]["revocation_kept"] = len(options["as_of"].get("crls", ()))
    certificate_reasons = _certificate_reasons(status, signer, moment)
    revocation = _revoked_by(status.signing_cert, _all_crls(trust, options), moment)
    if revocation is not None:
        evidence["revocation"] = revocation
        certificate_reasons = ["CERT_REVOKED"]
    reasons.extend(certificate_reasons)
    if expected_regno is not None and signer.get("regno") != expected_regno:
        reasons.append("SIGNER_ORG_MISMATCH")
    reasons = tuple(dict.fromkeys(reasons))
    return Verdict(accepted=not reasons, reasons=reasons, signer=signer,
                   signing_time=signing_time, timestamp=timestamp, subfilter=subfilter,
                   evidence=evidence, **base)


class ChainCache:
    """What pyHanko found validating signers' certificate chains (its trust findings), kept
    by a gate worker under everything such a finding depends on (`chain_key`): the signer's
    identifier and every certificate its signature carries (which of them is the signer's
    follows from those), the trust's anchors,
    intermediates and CRLs, the registry's kept CRLs, the judgement time and basis, and the
    revocation mode. Bounded: `size` entries, each kept at most `ttl` seconds, and a check
    judged "now" finds only an entry made in the same minute of the clock (as the gate's
    verdict cache). Most letters of an organisation are signed with one certificate against
    one CRL: the chain is validated once a minute, not once a letter. Nothing else is reused:
    every letter's signature, timestamp and changes are checked in full."""

    def __init__(self, size=64, ttl=60.0, clock=None):
        import time

        self.size = size
        self.ttl = ttl
        self.clock = clock or time.monotonic
        self._items = {}

    def get(self, key):
        found = self._items.get(key)
        if found is None or found[0] < self.clock():
            self._items.pop(key, None)
            return None
        return found[1]

    def put(self, key, findings):
        now = self.clock()
        for old in [k for k, (until, _f) in self._items.items() if until < now]:
            del self._items[old]
        while len(self._items) >= self.size:
            del self._items[next(iter(self._items))]  # the oldest
        self._items[key] = (now + self.ttl, findings)


#: This worker's chain findings (a gate worker runs one check at a time).
CHAINS = ChainCache()
#: The parts of pyHanko's status that come from validating the signer's chain (kept with
#: the signer's certificate, the anchor of a check that reuses them).
CHAIN_FINDINGS = ("trust_problem_indic", "validation_path", "revocation_details",
                  "error_time_horizon")


def chain_key(embedded, trust, options):
    """The key of `embedded`'s chain findings under `trust` and `options`, or None when they
    must not be reused (revocation data fetched online may change at any moment)."""
    if options.get("fetch"):
        return None
    basis, moment = judgement_time(options)
    # Judged now: the minute of the clock (a past moment is exact).
    when = moment.replace(second=0, microsecond=0) if basis == "now" else moment
    try:
        # Which carried certificate is the signer's follows from these two alone (pyHanko
        # matches the signer's identifier against the certificates): picking it out here
        # would compare names, milliseconds that the validation spends again.
        carried = sorted(cert.chosen.dump() for cert in embedded.signed_data["certificates"])
        signer = embedded.signer_info["sid"].dump()
    except Exception:  # noqa: BLE001  (pyHanko's own validation says what is wrong with it)
        return None
    digest = hashlib.sha256()
    parts = [signer, b"|", *carried, b"|",
             *trust.get("roots", ()), b"|", *trust.get("intermediates", ()), b"|",
             *_all_crls(trust, options)]
    for part in parts:
        digest.update(hashlib.sha256(part).digest())
    return digest.hexdigest(), basis, when.isoformat(), bool(options.get("now"))


def _validated(embedded, trust, options):
    """pyHanko's status of `embedded` (its changes analysed), the signer's chain validated
    once per `chain_key`: when this worker validated it lately, pyHanko checks the signature
    with its signer's certificate as the only anchor (integrity, timestamp, changes), and the
    chain findings are the ones reached before. A signature timestamp is always validated
    against the real trust, never that anchor."""
    from pyhanko.sign.validation import validate_pdf_signature

    key = chain_key(embedded, trust, options)
    known = CHAINS.get(key) if key is not None else None
    if known is None:
        context = _validation_context(trust, options)
        stamps = _tsa_context(trust, options) or context
        status = validate_pdf_signature(embedded, context, stamps, skip_diff=False)
        if key is not None and status.intact and status.valid:
            CHAINS.put(key, {name: getattr(status, name)
                             for name in (*CHAIN_FINDINGS, "signing_cert")})
        return status
    # The trust's context (its certificates and CRLs parsed, a few milliseconds) is made only
    # when a timestamp needs it; the signer's chain is known.
    stamps = (_tsa_context(trust, options) or _validation_context(trust, options)) \
        if _carries_timestamps(embedded) else None
    anchored = _signer_anchored(known["signing_cert"], judgement_time(options)[1])
    status = validate_pdf_signature(embedded, anchored, stamps, skip_diff=False)
    findings = {name: known[name] for name in CHAIN_FINDINGS}
    return replace(status, **findings) if status.intact and status.valid else status


def _carries_timestamps(embedded):
    """Whether the signature carries a signature or content timestamp token (True when that
    cannot be read: the full context is then made, as for any timestamp)."""
    from pyhanko.sign.validation.generic_cms import extract_tst_data_iter

    try:
        return any(True for signed in (False, True)
                   for _token in extract_tst_data_iter(embedded.signer_info, signed=signed))
    except Exception:  # noqa: BLE001  (pyHanko's validation says what is wrong with it)
        return True


def _signer_anchored(signer_cert, moment):
    """A validation context whose one anchor is the signer's own certificate (no chain to
    build: its findings are known), at `moment`. An anchor is not checked for revocation, so
    no revocation data is needed ("soft-fail" only lets the context be made without any); the
    findings pyHanko reaches with it are replaced by the known ones."""
    from pyhanko_certvalidator import ValidationContext

    return ValidationContext(trust_roots=[signer_cert], allow_fetching=False,
                             moment=moment, revocation_mode="soft-fail")


def _timestamp_then(embedded, trust, options, reader, moment):
    """The signature timestamp's status judged as of its own time `moment`, with the CRLs in
    the file's DSS beside the trust's."""
    from pyhanko.sign.validation import validate_pdf_signature

    then = {**options, "as_of": {"basis": "timestamp", "time": moment.isoformat(),
                                 "crls": _dss_crls(reader)}}
    return validate_pdf_signature(embedded, _validation_context(trust, then),
                                  _tsa_context(trust, then), skip_diff=True).timestamp_validity


def _pades_level(reader, timestamp):
    """"B-LT" for a trusted signature timestamp with revocation data in the DSS, "B-T" for
    the timestamp alone, else "B-B"."""
    if timestamp is None:
        return "B-B"
    dss = reader.root["/DSS"] if "/DSS" in reader.root else None
    has_data = dss is not None and any(key in dss for key in ("/CRLs", "/OCSPs"))
    return "B-LT" if has_data else "B-T"


def _pyhanko_modification(status):
    """pyHanko's own difference analysis, as a backstop behind ours: anything it rates above
    validation-data updates, or a DocMDP violation, is a modification whatever we concluded."""
    from pyhanko.sign.diff_analysis import ModificationLevel

    level = status.modification_level
    if level is None:
        return "pyHanko could not analyse the changes after signing"
    if level > ModificationLevel.LTA_UPDATES:
        return f"pyHanko rates the changes after signing as {level.name}"
    if status.docmdp_ok is False:
        return "pyHanko finds the changes after signing not permitted (DocMDP)"
    return None


_HEX = b"0123456789abcdefABCDEF \r\n\t"


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
            data[gap_start + 1:gap_end - 1].translate(None, _HEX):
        return "the bytes left out by /ByteRange are not exactly the signature's /Contents"
    return None


def _appended_after_end(data):
    """True if anything but white space follows the file's last %%EOF (bytes no signature and
    no revision covers)."""
    end = data.rfind(b"%%EOF")
    return end >= 0 and bool(data[end + 5:].strip(b"\r\n\t \x00\x0c"))


def judgement_time(options):
    """When the signature is judged, and why: ("first_acceptance", its time) when the registry
    gives the evidence of its own first acceptance (`options["as_of"]`), ("timestamp", its
    time) for a signature with a valid signature timestamp, else ("now", the clock's time:
    `options["now"]` when given, else the real time)."""
    as_of = options.get("as_of")
    if as_of:
        return as_of.get("basis", "first_acceptance"), datetime.fromisoformat(as_of["time"])
    if options.get("now"):
        return "now", datetime.fromisoformat(options["now"])
    return "now", datetime.now(timezone.utc)


def _all_crls(trust, options):
    """The trust's current CRLs and those kept with the registry's first acceptance (DER)."""
    as_of = options.get("as_of") or {}
    return list(dict.fromkeys([*trust.get("crls", ()), *as_of.get("crls", ())]))


def _tsa_context(trust, options):
    """The validation context of signature timestamps when the TSA has anchors of its own
    (`trust["tsa_roots"]`, from `registry.signature.tsa_trust`); None: the signer's."""
    if not trust.get("tsa_roots"):
        return None
    return _validation_context(trust, options, roots_key="tsa_roots")


def _validation_context(trust, options, roots_key="roots"):
    from asn1crypto import crl as asn1_crl
    from asn1crypto import x509 as asn1_x509
    from pyhanko_certvalidator import ValidationContext

    roots = [asn1_x509.Certificate.load(der) for der in trust.get(roots_key, ())]
    others = [asn1_x509.Certificate.load(der) for der in trust.get("intermediates", ())]
    crls = [asn1_crl.CertificateList.load(der) for der in _all_crls(trust, options)]
    basis, moment = judgement_time(options)
    if basis == "now" and not options.get("now"):
        return ValidationContext(
            trust_roots=roots, other_certs=others, crls=crls,
            allow_fetching=bool(options.get("fetch")), revocation_mode="hard-fail")
    # Judged at a past (or given) moment: the chain as it stood then. Revocation data issued
    # after that moment still tells whether the certificate was revoked *by then*
    # (retroactively valid); a revocation dated after the moment is judged in
    # `_revoked_by` below, not here.
    return ValidationContext(
        trust_roots=roots, other_certs=others, crls=crls, moment=moment,
        retroactive_revinfo=basis != "now", allow_fetching=False,
        revocation_mode="hard-fail")


def _dss_crls(reader):
    """The DER CRLs in the document's DSS (PAdES B-LT), [] when it has none."""
    from pyhanko.pdf_utils import generic

    try:
        crls = reader.root["/DSS"]["/CRLs"]
    except (KeyError, TypeError):
        return []
    out = []
    for index in range(len(crls)):
        stream = crls[index]
        if isinstance(stream, generic.StreamObject):
            out.append(stream.data)
    return out


def _revoked_by(cert, crls, moment):
    """The revocation of `cert` (asn1crypto) effective at `moment`, from the CRLs given (DER):
    {"date", "reason"} when a CRL of its issuer lists it as revoked on or before `moment`, or
    with key compromise whose invalidity date is on or before it; else None."""
    from cryptography import x509

    serial = cert.serial_number
    issuer = cert.issuer.dump()
    for der in crls:
        try:
            crl = x509.load_der_x509_crl(der)
        except ValueError:
            continue
        if crl.issuer.public_bytes() != issuer:
            continue
        entry = crl.get_revoked_certificate_by_serial_number(serial)
        if entry is None:
            continue
        reason, invalid_since = None, None
        for extension in entry.extensions:
            if isinstance(extension.value, x509.CRLReason):
                reason = extension.value.reason.value
            elif isinstance(extension.value, x509.InvalidityDate):
                invalid_since = extension.value.invalidity_date_utc
        revoked_on = entry.revocation_date_utc
        if revoked_on <= moment or (reason == "keyCompromise" and invalid_since is not None
                                    and invalid_since <= moment):
            return {"date": revoked_on.isoformat(), "reason": reason or "unspecified"}
    return None


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


def _certificate_reasons(status, signer, now):
    """Reasons from the certificate's standing at `now`: trusted chain, dates, revocation."""
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
    if indication in expired or datetime.fromisoformat(signer["not_after"]) < now \
            or datetime.fromisoformat(signer["not_before"]) > now:
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
    """Return a description of the first thing after `signed_revision` that is not a pure
    validation-data (PAdES B-LT) update, or None if there is none.

    What a later revision may do, and nothing else:
    - redefine the catalog, changing only /DSS, /Extensions and /Version (and, in a revision
      that also changes the DSS, refreshing /Metadata);
    - in a revision that changes the DSS, refresh the document's metadata: the trailer's /Info
      (only /ModDate and /Producer may differ) and the catalog's XMP /Metadata stream;
    - add validation data: the DSS dictionary, its /Certs, /CRLs and /OCSPs arrays of streams
      that parse as DER certificates, CRLs and OCSP responses, /VRI dictionaries of those, and
      /Extensions dictionaries of names and numbers; objects a validation-data update added may
      be redefined by a later one (a DSS grows).
    No object of the signed revision is redefined (even byte-identically) or freed, whatever
    refers to it; and nothing the document shows (its catalog outside /DSS, /Extensions and
    /Metadata, with the pages and everything they use) may reach an object that did not exist,
    as it is now, when the document was signed.
    """
    xrefs = reader.xrefs
    total = xrefs.total_revisions
    if signed_revision >= total - 1:
        return None
    signed = reader.get_historical_resolver(signed_revision)
    root_key = _ref_key(signed.trailer_view.raw_get("/Root"))
    info_key = _trailer_key(signed.trailer_view, "/Info")
    metadata_key = _ref_key(signed.root.raw_get("/Metadata")) if "/Metadata" in signed.root \
        else None
    later = {}  # (idnum, generation) -> the revision that last (re)defined it
    for revision in range(signed_revision + 1, total):
        problem = _revision_problem(reader, revision, signed_revision, root_key, info_key,
                                    metadata_key, later)
        if problem:
            return f"revision {revision}: {problem}"
    final = reader.get_historical_resolver(total - 1)
    return _final_state_problem(reader, final, signed_revision, later)


def _trailer_key(trailer, key):
    try:
        return _ref_key(trailer.raw_get(key))
    except KeyError:
        return None


def _defined_in(xrefs, ref, revision):
    """True if object `ref` has a definition (not a free entry) in `revision` or before."""
    try:
        return xrefs.get_historical_ref(ref, revision) is not None and \
            xrefs.get_introducing_revision(ref) <= revision
    except KeyError:
        return False


def _revision_problem(reader, revision, signed_revision, root_key, info_key, metadata_key,
                      later):
    from pyhanko.pdf_utils import generic

    xrefs = reader.xrefs
    freed = xrefs.refs_freed_in_revision(revision)
    if freed:
        return f"frees objects {sorted(r.idnum for r in freed)[:10]}"
    resolver = reader.get_historical_resolver(revision)
    previous = reader.get_historical_resolver(revision - 1)
    if _ref_key(resolver.trailer_view.raw_get("/Root")) != root_key:
        return "the trailer points at another catalog"
    changes_dss = False
    if "/DSS" in resolver.root:
        dss = resolver.root.raw_get("/DSS")
        previous_dss = previous.root.raw_get("/DSS") if "/DSS" in previous.root else None
        explicit_keys = {_ref_key(r) for r in xrefs.explicit_refs_in_revision(revision)}
        changes_dss = dss != previous_dss or _ref_key(dss) in explicit_keys
    current_info = _trailer_key(resolver.trailer_view, "/Info")
    if current_info != _trailer_key(previous.trailer_view, "/Info") and not changes_dss:
        return "the trailer's /Info changed"
    for ref in sorted(xrefs.explicit_refs_in_revision(revision), key=_ref_key):
        key = _ref_key(ref)
        if key == root_key:
            problem = _catalog_problem(previous.root, resolver.root, changes_dss)
            if problem:
                return problem
            continue
        existed = _defined_in(xrefs, ref, signed_revision)
        if existed and key in (info_key, metadata_key):
            # The document's metadata, refreshed: judged (content, use) in the final state.
            if not changes_dss:
                return f"rewrites the document's metadata (object {ref.idnum}) outside a " \
                       "validation-data update"
            later[key] = revision
            continue
        if existed:
            return f"rewrites object {ref.idnum} of the signed revision"
        try:
            obj = resolver.get_object(ref)
        except Exception:  # noqa: BLE001  (a broken object in an update is a change)
            return f"holds an unreadable object {ref.idnum}"
        if isinstance(obj, generic.StreamObject) and obj.get("/Type") in ("/XRef", "/ObjStm") \
                and xrefs.get_introducing_revision(ref) == revision:
            continue  # file structure of this revision, not content
        later[key] = revision
    return None


def _catalog_problem(before, after, changes_dss):
    """What changed in the catalog beyond what a validation-data update may change."""
    allowed = DSS_CATALOG_KEYS | ({"/Metadata"} if changes_dss else set())
    for key in sorted(set(before.keys()) | set(after.keys())):
        if key in allowed:
            continue
        if key not in before or key not in after or before.raw_get(key) != after.raw_get(key):
            return f"the catalog's {key} changed"
    return None


#: Keys a DSS, a VRI entry and a developer-extensions entry may hold.
_DSS_KEYS = {"/Type", "/Certs", "/CRLs", "/OCSPs", "/VRI"}
_VRI_KEYS = {"/Type", "/Cert", "/CRL", "/OCSP", "/TU", "/TS"}
_DSS_ARRAYS = {"/Certs": "certificate", "/CRLs": "CRL", "/OCSPs": "OCSP response",
               "/Cert": "certificate", "/CRL": "CRL", "/OCSP": "OCSP response",
               "/TS": "timestamp token"}
#: The keys of a validation-data stream's dictionary: data, nothing to draw.
_DATA_STREAM_KEYS = {"/Length", "/Filter", "/DecodeParms", "/Type"}
#: What the document's metadata may change in a validation-data update.
_INFO_REFRESH_KEYS = {"/ModDate", "/Producer"}


def _final_state_problem(reader, final, signed_revision, later):
    """Judge the document as it is now: every object added after signing is validation data
    or the document's metadata, and nothing the document shows reaches one of them."""
    from pyhanko.pdf_utils import generic

    root = final.root
    accounted = set()
    if "/DSS" in root:
        problem = _dss_problem(root.raw_get("/DSS"), accounted)
        if problem:
            return problem
    if "/Extensions" in root:
        problem = _plain_data_problem(root.raw_get("/Extensions"), accounted, "/Extensions")
        if problem:
            return problem
    signed = reader.get_historical_resolver(signed_revision)
    info_key = _trailer_key(final.trailer_view, "/Info")
    if info_key != _trailer_key(signed.trailer_view, "/Info") and info_key not in later:
        return "the trailer's /Info no longer names the signed or a new information dictionary"
    if info_key in later:
        problem = _info_problem(signed, final)
        if problem:
            return problem
        accounted.add(info_key)
    metadata = root.raw_get("/Metadata") if "/Metadata" in root else None
    metadata_key = _ref_key(metadata)
    signed_metadata = signed.root.raw_get("/Metadata") if "/Metadata" in signed.root else None
    if metadata != signed_metadata and metadata_key not in later:
        return "the catalog's /Metadata no longer names the signed or a new metadata stream"
    if metadata_key in later:
        value = metadata.get_object()
        if not (isinstance(value, generic.StreamObject) and value.get("/Type") == "/Metadata"
                and value.get("/Subtype") == "/XML"):
            return f"the catalog's /Metadata (object {metadata_key[0]}) is not XMP metadata"
        accounted.add(metadata_key)
    stray = sorted(set(later) - accounted)
    if stray:
        return f"adds object {stray[0][0]}, which is not validation data"
    # What the document shows: the catalog without the validation data and the metadata.
    shown = [root.raw_get(key) for key in root
             if key not in ("/DSS", "/Extensions", "/Metadata")]
    reached = _reachable(shown)
    if reached is None:
        return "the document has too many objects to check"
    xrefs = reader.xrefs
    for key in sorted(reached):
        ref = generic.Reference(*key)
        if key in later or (xrefs.get_historical_ref(ref, xrefs.total_revisions - 1) is not None
                            and not _defined_in(xrefs, ref, signed_revision)):
            return f"the document uses object {key[0]}, which was added or changed after " \
                   "signing"
    return None


def _dss_problem(dss_value, accounted):
    """What in the DSS (and its /VRI entries) is not validation data, or None."""
    from pyhanko.pdf_utils import generic

    problem = _validation_dict_problem(dss_value, _DSS_KEYS, ("/Certs", "/CRLs", "/OCSPs"),
                                       "the /DSS", accounted)
    if problem or "/VRI" not in (dss := _deref(dss_value, accounted)):
        return problem
    vri = _deref(dss.raw_get("/VRI"), accounted)
    if not isinstance(vri, generic.DictionaryObject):
        return "the DSS's /VRI is not a dictionary"
    for name in vri:
        problem = _validation_dict_problem(vri.raw_get(name), _VRI_KEYS, ("/Cert", "/CRL", "/OCSP"),
                                           "a /VRI entry", accounted)
        if problem:
            return problem
        entry = _deref(vri.raw_get(name), accounted)
        if "/TS" in entry:
            problem = _der_stream_problem(entry.raw_get("/TS"), "/TS", accounted)
            if problem:
                return problem
        if "/TU" in entry and not isinstance(entry.raw_get("/TU"), generic.TextStringObject):
            return "a /VRI entry's /TU is not a date"
    return None


def _validation_dict_problem(value, allowed, arrays, what, accounted):
    """A dictionary holding only `allowed` keys, whose `arrays` list DER streams."""
    from pyhanko.pdf_utils import generic

    dictionary = _deref(value, accounted)
    if not isinstance(dictionary, generic.DictionaryObject):
        return f"{what} is not a dictionary"
    extra = set(dictionary.keys()) - allowed
    if extra:
        return f"{what} holds {sorted(extra)[0]}, which is not validation data"
    for key in arrays:
        if key in dictionary:
            problem = _der_array_problem(dictionary.raw_get(key), key, accounted)
            if problem:
                return problem
    return None


def _deref(value, accounted):
    from pyhanko.pdf_utils import generic

    if isinstance(value, generic.IndirectObject):
        accounted.add(_ref_key(value))
        return value.get_object()
    return value


def _der_array_problem(value, key, accounted):
    from pyhanko.pdf_utils import generic

    array = _deref(value, accounted)
    if not isinstance(array, generic.ArrayObject):
        return f"the DSS's {key} is not an array"
    for index in range(len(array)):
        problem = _der_stream_problem(array.raw_get(index), key, accounted)
        if problem:
            return problem
    return None


def _der_stream_problem(value, key, accounted):
    """A DSS entry must be a stream (by reference) whose data parses as what `key` says."""
    from pyhanko.pdf_utils import generic

    if not isinstance(value, generic.IndirectObject):
        return f"an entry of the DSS's {key} is not a stream"
    stream = _deref(value, accounted)
    what = _DSS_ARRAYS[key]
    if not isinstance(stream, generic.StreamObject) or not _parses_as(stream.data, what):
        return f"object {value.idnum} in the DSS's {key} is not a DER {what}"
    extra = set(stream.keys()) - _DATA_STREAM_KEYS
    if extra:
        return f"object {value.idnum} in the DSS's {key} carries {sorted(extra)[0]}, which " \
               "validation data does not"
    return None


def _parses_as(data, what):
    from cryptography import x509
    from cryptography.x509 import ocsp

    try:
        if what == "certificate":
            x509.load_der_x509_certificate(data)
        elif what == "CRL":
            x509.load_der_x509_crl(data)
        elif what == "OCSP response":
            ocsp.load_der_ocsp_response(data)
        else:
            from asn1crypto import cms

            info = cms.ContentInfo.load(data)
            if info["content_type"].native != "signed_data":
                return False
            info["content"].native  # noqa: B018  (parse it all)
    except Exception:  # noqa: BLE001  (anything that does not parse is not validation data)
        return False
    return True


def _plain_data_problem(value, accounted, where, depth=0):
    """/Extensions may hold only dictionaries and arrays of names, numbers and strings."""
    from pyhanko.pdf_utils import generic

    if depth > 8:
        return f"the catalog's {where} is nested too deep"
    value = _deref(value, accounted)
    if isinstance(value, generic.StreamObject):
        return f"the catalog's {where} holds a stream"
    if isinstance(value, generic.DictionaryObject):
        children = [value.raw_get(key) for key in value]
    elif isinstance(value, generic.ArrayObject):
        children = [value.raw_get(index) for index in range(len(value))]
    else:
        return None
    for child in children:
        problem = _plain_data_problem(child, accounted, where, depth + 1)
        if problem:
            return problem
    return None


def _info_problem(signed, final):
    """The trailer's /Info after signing may differ from the signed one in /ModDate and
    /Producer only."""
    from pyhanko.pdf_utils import generic

    after = _in_revision(final, final.trailer_view.raw_get("/Info"))
    try:
        before = _in_revision(signed, signed.trailer_view.raw_get("/Info"))
    except KeyError:
        before = generic.DictionaryObject()
    if not isinstance(after, generic.DictionaryObject):
        return "the document information is not a dictionary"
    for key in sorted(set(before.keys()) | set(after.keys())):
        if key in _INFO_REFRESH_KEYS:
            if key in after and not isinstance(after.raw_get(key), generic.TextStringObject):
                return f"the document information's {key} is not text"
            continue
        if key not in before or key not in after or before.raw_get(key) != after.raw_get(key):
            return f"the document information's {key} changed"
    return None


def _in_revision(resolver, value):
    """`value` (an indirect reference or a direct object) as the revision `resolver` reads it
    (the trailer's references otherwise resolve to the latest definition)."""
    from pyhanko.pdf_utils import generic

    if isinstance(value, generic.IndirectObject):
        return resolver.get_object(value.reference)
    return value


def _reachable(starts, limit=50000):
    """Keys (idnum, generation) of the indirect objects reachable from `starts`; None when
    there are more than `limit`."""
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
    while stack:
        if len(seen) > limit:
            return None
        current = stack.pop()
        if isinstance(current, generic.DictionaryObject):
            for key in current:
                push(current.raw_get(key))
        elif isinstance(current, generic.ArrayObject):
            for index in range(len(current)):
                push(current.raw_get(index))
    return seen
