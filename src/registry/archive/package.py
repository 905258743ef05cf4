"""Build an archive handover package: an E-ARK SIP inside a BagIt 1.0 bag, as a directory or
a zip file, from plain `RecordEntry` data (see docs/archive.md for the layout).

Everything streams: each letter's PDF is read once, hashed while it is copied (the same digest
checks it against the registry's record, fills the METS, the PREMIS object and the bag
manifest), and the letter's metadata is appended to spool files that are joined, in the order
the schemas want, once every letter has passed. Memory is bounded by the number of series, not
of letters.

Nothing half-made is ever left under the final name: the bag is written under a temporary name
beside it and renamed when complete; on any error it is removed and the error raised.
"""
import hashlib
import json
import os
import re
import shutil
import tempfile
import zipfile
from datetime import date, datetime, timezone
from pathlib import Path

from registry.archive import documents
from registry.archive import metadata as md
from registry.archive.model import PackageResult
from registry.archive.names import is_safe_path, pdf_name
from registry.errors import RegistryError
from registry.i18n import _

SCHEMA_DIR = Path(__file__).resolve().parent / "schemas"
BAGIT_PROFILE = "urn:x-registry:bagit-profile:eark-sip:1.0"
CHUNK = 1 << 20
REPRESENTATION = "rep1"

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_PDF_VERSION = re.compile(rb"%PDF-(\d\.\d)")
_RETENTION = re.compile(r"^(permanent|temporary:[1-9][0-9]{0,2})$")


def build_package(spec, entries, out, audit_records=(), total=None, progress=None):
    """Write the package for `spec` and `entries` (an iterable of RecordEntry, consumed once)
    to `out`: a path ending ".zip" (the bag zipped, one root folder named after the package
    id), or a directory (created if missing) in which the bag directory `<package_id>/` is
    made. `audit_records` (an iterable of JSON-able dicts) become the package's audit trail.
    `progress(done, total)` is called after each letter.

    Returns a PackageResult. Raises RegistryError (and leaves nothing behind) if the output
    exists already, if an entry is malformed, if there are no letters, or if a PDF's bytes do
    not match the size and SHA-256 the registry recorded for it.
    """
    _check_spec(spec)
    out = os.path.abspath(os.fspath(out))
    if out.lower().endswith(".zip"):
        if os.path.exists(out):
            raise _error("ARCHIVE_OUTPUT_EXISTS", out)
        sink, beside = _ZipSink(out, spec), os.path.dirname(out)
    else:
        os.makedirs(out, exist_ok=True)
        final = os.path.join(out, spec.package_id)
        if os.path.exists(final):
            raise _error("ARCHIVE_OUTPUT_EXISTS", final)
        sink, beside = _DirSink(final), out
    try:
        # spool files on the output's file system, not in a possibly small /tmp
        with tempfile.TemporaryDirectory(prefix=".registry-package-", dir=beside) as spool:
            builder = _Builder(spec, sink, Path(spool))
            letters = builder.letters(entries, total, progress)
            builder.package_files(audit_records)
            builder.bag_files()
        path, digest = sink.finish()
    except BaseException:
        sink.abort()
        raise
    return PackageResult(path=path, package_id=spec.package_id, sha256=digest,
                         files=builder.payload_files, bytes=builder.payload_bytes,
                         letters=letters)


# --------------------------------------------------------------------------------------------
# errors
# --------------------------------------------------------------------------------------------
_MESSAGES = {
    "ARCHIVE_OUTPUT_EXISTS": _("archive-output-exists", default="The package cannot be "
                               "written: ${detail} exists already."),
    "ARCHIVE_BAD_SPEC": _("archive-bad-spec", default="The package cannot be made: ${detail}."),
    "ARCHIVE_BAD_ENTRY": _("archive-bad-entry", default="Letter ${key} cannot be packaged: "
                           "${detail}."),
    "ARCHIVE_PDF_MISMATCH": _("archive-pdf-mismatch", default="Letter ${key} was not "
                              "packaged: its file does not match the registry's record "
                              "(${detail}). The file may be damaged; nothing was written."),
    "ARCHIVE_EMPTY": _("archive-empty", default="The package cannot be made: there are no "
                       "letters to hand over."),
}


def _error(code, detail="", key=""):
    message = _MESSAGES[code]
    from translationstring import TranslationString

    message = TranslationString(message, mapping={"detail": detail, "key": key})
    return RegistryError(code, message)


def _check_spec(spec):
    problems = []
    if spec.record_status not in ("NEW", "SUPPLEMENT"):
        problems.append(f"record status {spec.record_status!r} is not NEW or SUPPLEMENT")
    if not re.fullmatch(r"[0-9a-fA-F-]{8,64}", spec.package_id or ""):
        problems.append(f"package id {spec.package_id!r} is not a UUID")
    if not re.fullmatch(r"\d+\.\d+\.\d+", spec.profile_version or ""):
        problems.append(f"profile version {spec.profile_version!r} is not like 2.1.0")
    for name in ("act_number", "made_by", "archive_name", "fond_reference",
                 "inventory_reference"):
        if not str(getattr(spec, name) or "").strip():
            problems.append(f"{name} is empty")
    if problems:
        raise _error("ARCHIVE_BAD_SPEC", "; ".join(problems))
    _zone(spec.timezone)


def _zone(name):
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise _error("ARCHIVE_BAD_SPEC", f"unknown time zone {name!r}") from None


def _check_entry(entry):
    problems = []
    if entry.direction not in ("outgoing", "incoming"):
        problems.append(f"direction {entry.direction!r}")
    if not _RETENTION.match(entry.retention or ""):
        problems.append(f"retention {entry.retention!r}")
    if not _SHA256.match(entry.pdf_sha256 or ""):
        problems.append("pdf_sha256 is not a SHA-256 in lower-case hex")
    if not entry.series:
        problems.append("no series")
    if not isinstance(entry.pdf_size, int) or entry.pdf_size < 0:
        problems.append("pdf_size")
    if not isinstance(entry.pdf_created, datetime) or not isinstance(entry.created, datetime):
        problems.append("no creation time")
    if any(not isinstance(check.time, datetime) for check in entry.checks):
        problems.append("a signature check without its time")
    if any(not isinstance(action.time, datetime) for action in entry.actions):
        problems.append("a workflow action without its time")
    if problems:
        raise _error("ARCHIVE_BAD_ENTRY", ", ".join(problems), key=entry.key)


# --------------------------------------------------------------------------------------------
# where the bag's files go
# --------------------------------------------------------------------------------------------
class _Written:
    """A file being written into the bag: hashed and counted as it goes."""

    def __init__(self, raw, on_close):
        self._raw = raw
        self._hash = hashlib.sha256()
        self.size = 0
        self.sha256 = None
        self._on_close = on_close

    def write(self, data):
        self._hash.update(data)
        self.size += len(data)
        self._raw.write(data)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        self._raw.close()
        self.sha256 = self._hash.hexdigest()
        if exc_type is None:
            self._on_close(self)
        return False


class _DirSink:
    """Files of a bag directory, written under "<final>.partial" and renamed at the end."""

    def __init__(self, final):
        self.final = final
        self.root = final + ".partial"
        if os.path.exists(self.root):
            raise _error("ARCHIVE_OUTPUT_EXISTS", self.root)
        os.mkdir(self.root)
        self._dirs = set()

    def open(self, relpath, compress=False, on_close=lambda written: None):
        path = os.path.join(self.root, *relpath.split("/"))
        parent = os.path.dirname(path)
        if parent not in self._dirs:
            os.makedirs(parent, exist_ok=True)
            self._dirs.add(parent)
        return _Written(open(path, "xb"), on_close)

    def finish(self):
        with open(os.path.join(self.root, "tagmanifest-sha256.txt"), "rb") as tagmanifest:
            digest = hashlib.file_digest(tagmanifest, "sha256").hexdigest()
        # The package must be on disk before the letters are recorded as handed over; one
        # sync costs less than an fsync per file.
        os.sync()
        os.rename(self.root, self.final)
        return self.final, digest

    def abort(self):
        shutil.rmtree(self.root, ignore_errors=True)


class _HashingStream:
    """An append-only file that hashes what it writes. It cannot seek, so `zipfile` writes
    each entry's sizes after its data (data descriptors) and never goes back: the digest is
    that of the whole zip file, with no second read."""

    def __init__(self, raw):
        self._raw = raw
        self._hash = hashlib.sha256()
        self._pos = 0

    def write(self, data):
        self._hash.update(data)
        self._pos += len(data)
        return self._raw.write(data)

    def tell(self):
        return self._pos

    def seek(self, *args):
        raise OSError("not seekable")

    def seekable(self):
        return False

    def flush(self):
        self._raw.flush()

    def hexdigest(self):
        return self._hash.hexdigest()


class _ZipEntry:
    def __init__(self, handle):
        self._handle = handle

    def write(self, data):
        self._handle.write(data)

    def close(self):
        self._handle.close()


class _ZipSink:
    """Entries of a zipped bag under one root folder named after the package; PDFs stored,
    text deflated (fast level); written to "<out>.partial" and renamed at the end."""

    def __init__(self, out, spec):
        self.final = out
        self.partial = out + ".partial"
        self._raw = open(self.partial, "xb")
        self._stream = _HashingStream(self._raw)
        self._zip = zipfile.ZipFile(self._stream, "w", allowZip64=True)
        self._prefix = spec.package_id + "/"
        created = spec.created
        if created.tzinfo is not None:
            created = created.astimezone(timezone.utc)
        self._date_time = created.timetuple()[:6]

    def open(self, relpath, compress=False, on_close=lambda written: None):
        info = zipfile.ZipInfo(self._prefix + relpath, date_time=self._date_time)
        info.external_attr = 0o644 << 16
        info.compress_type = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
        # zipfile reads the level from the entry; level 1 deflates XML ~5x at disk speed.
        info._compresslevel = 1
        return _Written(_ZipEntry(self._zip.open(info, "w")), on_close)

    def finish(self):
        self._zip.close()
        self._raw.flush()
        os.fsync(self._raw.fileno())
        self._raw.close()
        os.rename(self.partial, self.final)
        return self.final, self._stream.hexdigest()

    def abort(self):
        try:
            self._zip.close()
        except Exception:  # noqa: BLE001 - the zip is being thrown away anyway
            pass
        self._raw.close()
        try:
            os.unlink(self.partial)
        except FileNotFoundError:
            pass


# --------------------------------------------------------------------------------------------
# the package
# --------------------------------------------------------------------------------------------
class _Builder:
    """Writes one package through a sink; spool files live in `spool`."""

    def __init__(self, spec, sink, spool):
        self.spec = spec
        self.sink = sink
        self.spool = spool
        self.sip = f"data/{spec.package_id}/"
        self.payload_files = 0
        self.payload_bytes = 0
        self.manifest = open(spool / "manifest", "w", encoding="utf-8", newline="\n")
        self.inventory = documents.Inventory(_zone(spec.timezone))
        self.created = spec.created
        self.rep_files = None
        self.revocation_files = {}  # SHA-256 of a CRL -> its path in the package

    # files ---------------------------------------------------------------------------------
    def _payload(self, relpath, compress=True):
        """A file in the SIP (`relpath` from its root): counted in the bag's manifest."""
        if not is_safe_path(relpath):
            raise ValueError(f"unsafe path in package: {relpath!r}")
        return self.sink.open(self.sip + relpath, compress, self._manifested)

    def _manifested(self, written):
        self.payload_files += 1
        self.payload_bytes += written.size

    def _write(self, relpath, data, compress=True):
        with self._payload(relpath, compress) as out:
            out.write(data)
        self._record(relpath, out)
        return out.sha256, out.size

    def _record(self, relpath, written):
        self.manifest.write(f"{written.sha256}  {self.sip}{relpath}\n")

    def _join(self, relpath, head, spools, tail):
        """Write `head`, the spool files' contents, then `tail` as one file."""
        with self._payload(relpath) as out:
            out.write(head.encode("utf-8"))
            for name in spools:
                path = self.spool / name
                if not path.exists():
                    continue
                with open(path, "rb") as part:
                    while chunk := part.read(CHUNK):
                        out.write(chunk)
            out.write(tail.encode("utf-8"))
        self._record(relpath, out)
        return out.sha256, out.size

    # letters -------------------------------------------------------------------------------
    def letters(self, entries, total, progress):
        """Copy every letter's PDF and write its signature reports; spool its METS, PREMIS
        and ERMS. Returns the number of letters."""
        rep = f"representations/{REPRESENTATION}/"
        spools = {name: open(self.spool / name, "w", encoding="utf-8", newline="\n")
                  for name in ("rep_files", "rep_amd", "rep_objects", "rep_events", "erms")}
        buffer = bytearray(CHUNK)
        count = 0
        try:
            for count, entry in enumerate(entries, 1):
                _check_entry(entry)
                self._letter(count, entry, rep, spools, buffer)
                if progress is not None:
                    progress(count, total)
        finally:
            for handle in spools.values():
                handle.close()
        if count == 0:
            raise _error("ARCHIVE_EMPTY")
        self.letter_count = count
        self._representation(rep)
        return count

    def _letter(self, seq, entry, rep, spools, buffer):
        spec = self.spec
        name = pdf_name(seq, entry.pdf_filename)
        data_path = f"{rep}data/{name}"
        pdf_version = None
        view = memoryview(buffer)
        try:
            source = open(entry.pdf_path, "rb", buffering=0)
        except OSError as exc:
            raise _error("ARCHIVE_PDF_MISMATCH", f"cannot read the file: {exc.strerror}",
                         key=entry.key) from exc
        with source, self._payload(data_path, compress=False) as out:
            first = True
            while n := source.readinto(buffer):
                if first:
                    found = _PDF_VERSION.match(bytes(view[:16]))
                    pdf_version = found.group(1).decode() if found else None
                    first = False
                out.write(view[:n])
        if out.size != entry.pdf_size or out.sha256 != entry.pdf_sha256:
            raise _error("ARCHIVE_PDF_MISMATCH",
                         f"{out.size} bytes, SHA-256 {out.sha256}; recorded {entry.pdf_size} "
                         f"bytes, SHA-256 {entry.pdf_sha256}", key=entry.key)
        self._record(data_path, out)
        pdf_info = (out.sha256, out.size)
        pdf_id = f"{rep}data/{name}"
        ident = f"pdf-{seq:06d}"
        admid = None
        events = [f"capture-{seq:06d}"]
        when = entry.registered or entry.sent or entry.created
        self.inventory.add(entry, when)

        # the signature reports: every check of this letter, in order, in one file
        report_id = None
        if entry.checks:
            report_rel = f"{rep}metadata/preservation/signature-reports/{seq:06d}.json"
            reports = [{"context": c.context, "time": md.ts(c.time), "accepted": c.accepted,
                        "reasons": list(c.reasons), "report": c.report} for c in entry.checks]
            report_info = self._write(report_rel, json.dumps(
                {"letter": entry.key, "file": pdf_id, "checks": reports},
                ensure_ascii=False, sort_keys=True, default=str).encode("utf-8"))
            report_id = report_rel
            admid = f"report-{seq:06d}"
            spools["rep_amd"].write(md.md_ref(
                "digiprovMD", admid, report_rel[len(rep):], report_info, "OTHER", self.created,
                othermdtype="Registry signature validation reports", mimetype="application/json"))
            spools["rep_objects"].write(md.premis_file_object(
                report_rel, report_info, "JSON", other_ids=(("registry key", entry.key),)))

        spools["rep_files"].write(md.mets_file(
            ident, f"data/{name}", pdf_info, "application/pdf", entry.pdf_created, admid=admid,
            pdf_version=pdf_version))
        self._revocation_data(entry, rep, spools)
        stamp_files = self._timestamps(entry, rep, spools)
        receipt_files = self._receipts(entry, rep, spools, seq)

        # PREMIS: capture, then every signature validation
        number = entry.incoming_number or entry.outgoing_number or "no number"
        capture_detail = (f"Captured by {spec.software[0]} as {entry.direction} letter "
                          f"{entry.key} ({number})")
        spools["rep_events"].write(md.premis_event(
            events[0], "capture", entry.pdf_created, capture_detail, "success",
            agents=(("agent-software", "executing program"),
                    ("agent-organisation", "implementer")),
            objects=((pdf_id, "outcome"),)))
        for n, (key, verdict_sha256, time, _token) in enumerate(entry.timestamps, 1):
            event_id = f"timestamp-{seq:06d}-{n}"
            events.append(event_id)
            detail = (f"RFC 3161 preservation timestamp over SHA-256(SHA-256 of {pdf_id} || "
                      f"SHA-256 of the accepting check's report, {verdict_sha256}), "
                      f"imprint {key}")
            spools["rep_events"].write(md.premis_event(
                event_id, "timestamping", datetime.fromisoformat(time), detail, "success",
                notes=[f"token: {stamp_files[key]}"], agents=(("agent-software", "executing "
                                                             "program"),),
                objects=[(pdf_id, "source")] + ([(report_id, "source")] if report_id else [])
                + [(stamp_files[key], "outcome")]))
        for n, (receipt_id, event, time, issued_at, *_files) in enumerate(entry.receipts, 1):
            event_id = f"receipt-{seq:06d}-{n}"
            events.append(event_id)
            files = receipt_files[receipt_id]
            spools["rep_events"].write(md.premis_event(
                event_id, "digital signature generation", issued_at,
                f"Delivery evidence '{event}' of {entry.key} (event at {md.ts(time)}): a "
                "receipt sealed by the registry (PAdES), its facts as JSON and the seal's "
                "detached CMS signature over them", "success",
                agents=(("agent-software", "executing program"),),
                objects=[(pdf_id, "source")] + [(path, "outcome") for path in files]))
        for n, check in enumerate(entry.checks, 1):
            event_id = f"validation-{seq:06d}-{n}"
            events.append(event_id)
            signer = check.signer or "no signer"
            detail = (f"Signature validation at {check.context}: signer {signer}"
                      f" (regno {check.signer_regno or '-'}), issuer {check.issuer or '-'},"
                      f" serial {check.serial or '-'}, signing time "
                      f"{md.ts(check.signing_time) if check.signing_time else '-'}")
            outcome = "ACCEPTED" if check.accepted else "REFUSED: " + " ".join(check.reasons)
            notes = [outcome, f"full report: {report_id}, check {n} of {len(entry.checks)}"]
            objects = [(pdf_id, "source")] + ([(report_id, "outcome")] if report_id else []) + [
                (self.revocation_files[digest], "source")
                for digest in check.report.get("evidence", {}).get("revocation_data", ())
                if digest in self.revocation_files]
            spools["rep_events"].write(md.premis_event(
                event_id, "validation", check.time, detail,
                "success" if check.accepted else "failure", notes=notes,
                agents=(("agent-software", "executing program"),), objects=objects))
        spools["rep_objects"].write(md.premis_file_object(
            pdf_id, pdf_info, "Portable Document Format", pdf_version,
            md.PDF_PRONOM.get(pdf_version), original_name=entry.pdf_filename,
            other_ids=(("registry key", entry.key),), events=events))

        signing_time = next((c.signing_time for c in entry.checks if c.signing_time), None)
        spools["erms"].write(md.erms_record(entry, spec.year, pdf_id, signing_time))

    def _revocation_data(self, entry, rep, spools):
        """Each CRL the letter's checks were judged with, once per package, as a file
        (`metadata/preservation/revocation/<SHA-256>.crl`, DER) with its METS and PREMIS
        entries: the archive judges the signatures with them, without the registry."""
        for digest, der in entry.revocation_data:
            if digest in self.revocation_files:
                continue
            self.revocation_files[digest] = self._evidence_file(
                rep, spools, f"revocation/{digest}.crl", der, f"crl-{digest[:16]}",
                "X.509 certificate revocation list (DER)", "application/pkix-crl",
                "X.509 Certificate Revocation List", digest)

    def _timestamps(self, entry, rep, spools):
        """Each preservation timestamp over the letter's checks as a file
        (`metadata/preservation/timestamps/<imprint SHA-256>.tsr`, a DER TimeStampResp holding
        the TSA's token) with its METS fixity and PREMIS object; returns {key: path}."""
        from asn1crypto import cms, tsp

        files = {}
        for key, _verdict, _time, token in entry.timestamps:
            reply = tsp.TimeStampResp({"status": {"status": "granted"},
                                       "time_stamp_token": cms.ContentInfo.load(token)}).dump()
            files[key] = self._evidence_file(
                rep, spools, f"timestamps/{key}.tsr", reply, f"tsr-{key[:16]}",
                "RFC 3161 time-stamp response (DER)", "application/timestamp-reply",
                "RFC 3161 Time-Stamp Response", key)
        return files

    def _receipts(self, entry, rep, spools, seq):
        """Each delivery receipt of the letter as three files
        (`metadata/preservation/receipts/<seq>-<id>.pdf`, `.json`, `.json.p7s`) with their
        METS and PREMIS entries; returns {receipt id: (paths)}."""
        import hashlib

        files = {}
        for receipt_id, _event, _time, _issued, *parts in entry.receipts:
            files[receipt_id] = tuple(
                self._evidence_file(rep, spools, f"receipts/{seq:06d}-{receipt_id}{suffix}",
                                    data, f"receipt-{seq:06d}-{receipt_id}{ident}", what,
                                    mimetype, format_name, hashlib.sha256(data).hexdigest())
                for data, (suffix, ident, what, mimetype, format_name) in zip(parts, (
                    (".pdf", "-pdf", "Delivery receipt sealed by the registry (PAdES)",
                     "application/pdf", "Portable Document Format"),
                    (".json", "-json", "Delivery evidence (JSON, as signed)",
                     "application/json", "JSON"),
                    (".json.p7s", "-p7s", "The registry's detached CMS signature over the "
                     "JSON (DER)", "application/pkcs7-signature", "CMS SignedData"))))
        return files

    def _evidence_file(self, rep, spools, name, data, ident, what, mimetype, format_name,
                       digest):
        """Write `data` as metadata/preservation/`name` with its METS digiprovMD and PREMIS
        file object (identified also by `digest`); return its path in the package."""
        rel = f"{rep}metadata/preservation/{name}"
        info = self._write(rel, data)
        spools["rep_amd"].write(md.md_ref("digiprovMD", ident, rel[len(rep):], info, "OTHER",
                                          self.created, othermdtype=what, mimetype=mimetype))
        spools["rep_objects"].write(md.premis_file_object(
            rel, info, format_name, other_ids=(("sha256", digest),)))
        return rel

    def _representation(self, rep):
        """The representation's PREMIS and METS, from the spools."""
        spec = self.spec
        agents = md.premis_agents(spec)
        premis_info = self._join(f"{rep}metadata/preservation/premis.xml",
                                 md.premis_head("../../../../"),
                                 ["rep_objects", "rep_events"], agents + md.PREMIS_TAIL)
        with open(self.spool / "rep_amd_head", "w", encoding="utf-8") as head:
            head.write(md.md_ref("digiprovMD", "rep1-premis", "metadata/preservation/premis.xml",
                                 premis_info, "PREMIS", self.created))
        with open(self.spool / "rep_mid", "w", encoding="utf-8") as mid:
            mid.write('</mets:amdSec>\n<mets:fileSec ID="rep1-files">\n'
                      '<mets:fileGrp ID="rep1-data" USE="Data">\n')
        head = (md.mets_head(REPRESENTATION, f"{spec.org.name}, {spec.year}: letters", spec,
                             "../../") + md.mets_header(spec, full=False)
                + '<mets:amdSec ID="rep1-amd">\n')
        tail = ('</mets:fileGrp>\n</mets:fileSec>\n'
                '<mets:structMap ID="rep1-structmap" TYPE="PHYSICAL" LABEL="CSIP">'
                f'<mets:div ID="rep1-root" LABEL="{REPRESENTATION}">'
                '<mets:div ID="rep1-metadata" LABEL="Metadata" ADMID="rep1-premis"/>'
                '<mets:div ID="rep1-data-div" LABEL="Data"><mets:fptr FILEID="rep1-data"/>'
                '</mets:div></mets:div></mets:structMap>\n</mets:mets>\n')
        self.rep_mets = self._join(f"{rep}METS.xml", head,
                                   ["rep_amd_head", "rep_amd", "rep_mid", "rep_files"], tail)

    # the package's own files ---------------------------------------------------------------
    def package_files(self, audit_records):
        spec = self.spec
        created = self.created
        # the audit trail: a JSON array, written record by record
        audit_rel = "metadata/other/audit-trail.json"
        audit_count = 0
        with self._payload(audit_rel) as out:
            out.write(b"[")
            for audit_count, record in enumerate(audit_records, 1):
                out.write((b",\n" if audit_count > 1 else b"\n") + json.dumps(
                    record, ensure_ascii=False, sort_keys=True, default=str).encode("utf-8"))
            out.write(b"\n]\n")
        self._record(audit_rel, out)
        audit_info = (out.sha256, out.size)

        # documentation
        docs = [("documentation/inventory.csv", documents.inventory_csv(self.inventory),
                 "text/csv"),
                ("documentation/inventory.pdf", documents.inventory_pdf(self.inventory, spec),
                 "application/pdf"),
                ("documentation/handover-act.pdf", documents.act_pdf(
                    spec, self.inventory, self.letter_count, audit_info[0], audit_count),
                 "application/pdf")]
        doc_files = []
        for n, (rel, data, mime) in enumerate(docs, 1):
            info = self._write(rel, data, compress=mime != "application/pdf")
            doc_files.append(md.mets_file(f"doc-{n}", rel, info, mime, created))
        schema_files = []
        for n, name in enumerate(md.SCHEMA_FILES, 1):
            rel = f"schemas/{name}"
            info = self._write(rel, (SCHEMA_DIR / name).read_bytes())
            schema_files.append(md.mets_file(f"schema-{n}", rel, info, "application/xml",
                                             created))

        # descriptive metadata: ERMS
        erms_info = self._join("metadata/descriptive/erms.xml", md.erms_head(spec, "../../"),
                               ["erms"], md.ERMS_TAIL)

        # package-level PREMIS: the files above, the representation, creation and handover
        rep_events = ["package-creation", "handover"]
        objects = [md.premis_representation_object(REPRESENTATION, f"representations/"
                                                   f"{REPRESENTATION}", rep_events),
                   md.premis_file_object(audit_rel, audit_info, "JSON",
                                         original_name="audit-trail.json")]
        detail = (f"E-ARK SIP {spec.profile_version} ({spec.record_status}) in a BagIt 1.0 bag:"
                  f" {self.letter_count} letters of {spec.org.name} ({spec.org.regno}),"
                  f" {spec.year}" + (f", series {spec.series}" if spec.series else ""))
        events = [
            md.premis_event("package-creation", "creation", created, detail, "success",
                            notes=[f"made by {spec.made_by}"],
                            agents=(("agent-software", "executing program"),
                                    ("agent-organisation", "implementer")),
                            objects=((REPRESENTATION, "outcome"),)),
            md.premis_event("handover", "transfer", spec.act_date,
                            f"Handover act {md.act_reference(spec)} to {spec.archive_name},"
                            f" fond/inventory {md.reference_code(spec)}", "success",
                            notes=[f"package {spec.package_id}"],
                            agents=(("agent-organisation", "transferor"),
                                    ("agent-archive", "recipient")),
                            objects=((REPRESENTATION, "source"),)),
        ]
        premis_text = (md.premis_head("../../") + "".join(objects) + "".join(events)
                       + md.premis_agents(spec) + md.PREMIS_TAIL)
        premis_info = self._write("metadata/preservation/premis.xml", premis_text.encode())

        # the package METS
        rep_mets_rel = f"representations/{REPRESENTATION}/METS.xml"
        mets = [
            md.mets_head(spec.package_id, f"{spec.org.name}: letters of {spec.year}"
                         + (f", series {spec.series}" if spec.series else ""), spec, ""),
            md.mets_header(spec, full=True),
            md.md_ref("dmdSec", "dmd-erms", "metadata/descriptive/erms.xml", erms_info,
                      "OTHER", created, othermdtype="ERMS"),
            '<mets:amdSec ID="amd">\n',
            md.md_ref("digiprovMD", "digiprov-premis", "metadata/preservation/premis.xml",
                      premis_info, "PREMIS", created),
            md.md_ref("digiprovMD", "digiprov-audit", audit_rel, audit_info, "OTHER", created,
                      othermdtype="Registry audit trail", mimetype="application/json"),
            "</mets:amdSec>\n",
            '<mets:fileSec ID="files">\n',
            md.file_group("grp-documentation", "Documentation", doc_files),
            md.file_group("grp-schemas", "Schemas", schema_files),
            md.file_group(f"grp-{REPRESENTATION}", f"Representations/{REPRESENTATION}",
                          [md.mets_file(f"file-{REPRESENTATION}-mets", rep_mets_rel,
                                        self.rep_mets, "application/xml", created)],
                          representation=True),
            "</mets:fileSec>\n",
            '<mets:structMap ID="structmap" TYPE="PHYSICAL" LABEL="CSIP">'
            f'<mets:div ID="root" LABEL="{md.attr(spec.package_id)}">'
            '<mets:div ID="div-metadata" LABEL="Metadata" ADMID="digiprov-premis digiprov-audit"'
            ' DMDID="dmd-erms"/>'
            '<mets:div ID="div-documentation" LABEL="Documentation">'
            '<mets:fptr FILEID="grp-documentation"/></mets:div>'
            '<mets:div ID="div-schemas" LABEL="Schemas"><mets:fptr FILEID="grp-schemas"/>'
            '</mets:div>'
            f'<mets:div ID="div-{REPRESENTATION}" LABEL="Representations/{REPRESENTATION}">'
            f'<mets:mptr LOCTYPE="URL" xlink:type="simple" xlink:href="{rep_mets_rel}"'
            f' xlink:title="file-{REPRESENTATION}-mets"/>'
            f'<mets:fptr FILEID="grp-{REPRESENTATION}"/></mets:div>'
            "</mets:div></mets:structMap>\n</mets:mets>\n",
        ]
        self._write("METS.xml", "".join(mets).encode("utf-8"))

    # the bag -------------------------------------------------------------------------------
    def bag_files(self):
        spec = self.spec
        self.manifest.close()
        tags = []

        def tag(name, data):
            with self.sink.open(name, compress=True) as out:
                out.write(data)
            tags.append((out.sha256, name))

        tag("bagit.txt", b"BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n")
        created = spec.created
        info = [
            ("Source-Organization", spec.org.name),
            ("Source-Organization-Identifier", f"state registration number {spec.org.regno}"),
            ("Contact-Name", spec.made_by),
            ("External-Description", f"E-ARK SIP {spec.profile_version} ({spec.record_status}):"
                                     f" letters of {spec.org.name}, {spec.year}"
                                     + (f", series {spec.series}" if spec.series else "")),
            ("External-Identifier", spec.package_id),
            ("Internal-Sender-Identifier", md.act_reference(spec)),
            ("Bag-Group-Identifier", f"{spec.org.regno}/{spec.year}"),
            ("Bagging-Date", (created.date() if isinstance(created, datetime)
                              else date.today()).isoformat()),
            ("Payload-Oxum", f"{self.payload_bytes}.{self.payload_files}"),
            ("BagIt-Profile-Identifier", BAGIT_PROFILE),
        ]
        lines = "".join(f"{k}: {' '.join(str(v).split())}\n" for k, v in info)
        tag("bag-info.txt", lines.encode("utf-8"))
        with self.sink.open("manifest-sha256.txt", compress=True) as out:
            with open(self.spool / "manifest", "rb") as manifest:
                while chunk := manifest.read(CHUNK):
                    out.write(chunk)
        tags.append((out.sha256, "manifest-sha256.txt"))
        tagmanifest = "".join(f"{digest}  {name}\n" for digest, name in tags)
        with self.sink.open("tagmanifest-sha256.txt", compress=True) as out:
            out.write(tagmanifest.encode("utf-8"))
