"""The handover package (registry.archive.package), checked by independent validators:
eark-validator (E-ARK CSIP/SIP 2.1.0), the Library of Congress bagit, XML Schema validation of
METS, PREMIS 3 and ERMS v3 and the ERMS Schematron. The letters are real PDFs signed by the
test PKI and checked by the real signature gate."""
import hashlib
import json
import re
import unicodedata
import uuid
import zipfile
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from lxml import etree

import archive_validators as validators
import pdfs
from registry.archive.model import (Action, PackageSpec, Party, RecordEntry, SignatureCheck)
from registry.archive.names import is_safe_path, pdf_name, safe_name
from registry.archive.package import build_package
from registry.errors import RegistryError

ROOT = Path(__file__).resolve().parent.parent
NS = {"mets": "http://www.loc.gov/METS/", "xlink": "http://www.w3.org/1999/xlink",
      "premis": "http://www.loc.gov/premis/v3", "erms": "https://DILCIS.eu/XML/ERMS",
      "csip": "https://DILCIS.eu/XML/METS/CSIPExtensionMETS"}
HREF = "{http://www.w3.org/1999/xlink}href"
ORG = Party("1000001", "Нийслэлийн Засаг даргын Тамгын газар")
OTHER = Party("1000003", "Баянзүрх дүүргийн Засаг даргын Тамгын газар")
T0 = datetime(2026, 3, 2, 9, 30, tzinfo=timezone.utc)

# --------------------------------------------------------------------------------------------
# letters: real signed PDFs, real gate verdicts
# --------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def letters(pki, trust_dir, tmp_path_factory):
    """[(path, bytes, verdict as_json)] for four real letters: three accepted by the gate
    (RSA, multi-page, ECDSA) and one whose certificate is revoked."""
    from registry.signatures import Gate, GateConfig

    folder = tmp_path_factory.mktemp("letters")
    gate = Gate(GateConfig(trust_dir=str(trust_dir), workers=1))
    made = []
    for n, build in enumerate([pdfs.signed_letter, pdfs.signed_multipage_letter,
                               pdfs.signed_letter_ec, pdfs.signed_by_revoked]):
        data = build(pki, ORG.regno)
        path = folder / f"letter-{n}.pdf"
        path.write_bytes(data)
        made.append((path, data, gate.verify(str(path), ORG.regno).as_json()))
    assert [v["accepted"] for _, _, v in made] == [True, True, True, False]
    assert made[3][2]["reasons"][0] == "CERT_REVOKED"
    return made


def check_of(verdict, context, when):
    signer = verdict.get("signer") or {}
    return SignatureCheck(
        time=when, context=context, accepted=verdict["accepted"],
        reasons=tuple(verdict["reasons"]), signer=signer.get("subject") or "",
        signer_regno=signer.get("regno"), issuer=signer.get("issuer") or "",
        serial=str(signer.get("serial") or ""),
        signing_time=(datetime.fromisoformat(verdict["signing_time"])
                      if verdict.get("signing_time") else None),
        report=verdict)


FILENAMES = ["Төсвийн тухай.pdf", "../../etc/passwd", "a\\b:c*?.pdf",
             unicodedata.normalize("NFD", "Хүсэлт й ё.pdf"), ".hidden\x07name.pdf", ""]


def make_entries(letters, count, pdf_override=None):
    """`count` RecordEntries cycling over the letters: outgoing and incoming, two series
    (one permanent, one kept ten years), hostile file names, three checks each."""
    for i in range(count):
        path, data, verdict = letters[i % len(letters)]
        when = T0 + timedelta(days=i)
        outgoing = i % 2 == 0
        series, title, retention = (("01-05", "Албан бичиг, захидал", "permanent") if i % 3
                                    else ("03-12", "Санал хүсэлт", "temporary:10"))
        checks = (check_of(verdict, "sending" if outgoing else "receipt", when),
                  check_of(verdict, "export", T0 + timedelta(days=300)))
        if not outgoing:
            checks = (check_of(verdict, "sending", when - timedelta(hours=2)),) + checks
        yield RecordEntry(
            key=f"{'outbox' if outgoing else 'inbox'}/2026{i:06d}-{i:08x}",
            direction="outgoing" if outgoing else "incoming",
            subject=f"Төсвийн төслийн тухай №{i} <&>", series=series, series_title=title,
            retention=retention,
            outgoing_number=f"{series}/{i + 1}" if outgoing else f"{series}/9{i}",
            incoming_number=None if outgoing else f"И-{i + 1}",
            sender=ORG if outgoing else OTHER,
            recipients=(OTHER,) if outgoing else (ORG,),
            signatory="Б. Болд", signatory_regno=ORG.regno,
            created=when - timedelta(hours=3), sent=when,
            registered=None if outgoing else when + timedelta(hours=1),
            state="received" if outgoing else "registered",
            pdf_path=str(pdf_override or path), pdf_filename=FILENAMES[i % len(FILENAMES)],
            pdf_size=len(data), pdf_sha256=hashlib.sha256(data).hexdigest(),
            pdf_created=when - timedelta(hours=3), checks=checks,
            actions=(Action(when - timedelta(hours=3), "records", "sign", "draft", "signed"),
                     Action(when, "records", "send", "signed", "sent", "яаралтай")))


def make_spec(**overrides):
    values = dict(package_id=str(uuid.uuid4()), org=ORG, year=2026, series=None,
                  record_status="NEW", act_number="А-17/2026", act_date=date(2026, 11, 20),
                  made_by="records (Б. Батбаяр)", archive_name="Үндэсний архивын газар",
                  fond_reference="ХН-125", inventory_reference="Д-3",
                  created=datetime(2026, 11, 25, 6, 0, tzinfo=timezone.utc),
                  software=("Registry", "0.1.0"))
    values.update(overrides)
    return PackageSpec(**values)


AUDIT = [{"seq": 1, "time": "2026-03-02T09:30:00+00:00", "actor": "records",
          "action": "letter.send", "target": "/orgs/1000001/outbox/x", "hash": "ab" * 32},
         {"seq": 2, "time": "2026-03-03T10:00:00+00:00", "actor": "Болд",
          "action": "delivery.register", "target": "/orgs/1000003/inbox/y", "hash": "cd" * 32}]


@pytest.fixture(scope="module")
def bag(letters, tmp_path_factory):
    """A directory package of 12 letters: (result, bag path, SIP root, spec)."""
    out = tmp_path_factory.mktemp("bag")
    spec = make_spec()
    calls = []
    result = build_package(spec, make_entries(letters, 12), str(out), audit_records=AUDIT,
                           total=12, progress=lambda done, total: calls.append((done, total)))
    assert calls == [(n, 12) for n in range(1, 13)]
    bag_dir = Path(result.path)
    return result, bag_dir, bag_dir / "data" / spec.package_id, spec


def files_of(folder):
    return sorted(p for p in folder.rglob("*") if p.is_file())


# --------------------------------------------------------------------------------------------
# eark-validator
# --------------------------------------------------------------------------------------------
def test_eark_validator_finds_nothing_but_its_documented_false_positives(bag):
    result, bag_dir, sip, spec = bag
    report = validators.eark_validate(sip)
    assert report["structure"]["status"] == "WellFormed"
    # the only structure message: CSIPSTR3, "MAY be contained in an archive" (it is, zipped)
    assert [m["rule_id"] for m in report["structure"]["messages"]] == ["CSIPSTR3"]
    assert {m["severity"] for m in report["structure"]["messages"]} == {"Info"}
    assert report["metadata"]["schema_results"]["messages"] == []
    assert validators.eark_unexplained(report) == []
    assert validators.eark_unexplained(report, "Warn") == []
    package = report["package"]["details"]
    assert package["oaispackagetype"] == "SIP" and package["name"] == spec.package_id


def test_the_false_positives_are_documented_with_their_reasons():
    text = (ROOT / "docs" / "archive.md").read_text(encoding="utf-8")
    for rule in [*validators.FALSE_POSITIVES, *validators.FALSE_POSITIVE_WARNINGS]:
        assert re.search(rf"\*\*{rule}\*\*", text), f"{rule} is not explained in docs/archive.md"


def test_eark_validator_is_not_vacuous(bag, tmp_path):
    """The same package with an unknown OAIS package type and a descriptive metadata section
    without its creation date: the validator says so (CSIP9, CSIP19), so a pass means
    something."""
    import shutil

    _, _, sip, _ = bag
    broken = tmp_path / sip.name
    shutil.copytree(sip, broken)
    mets = broken / "METS.xml"
    text = mets.read_text(encoding="utf-8")
    text = text.replace('csip:OAISPACKAGETYPE="SIP"', 'csip:OAISPACKAGETYPE="XIP"')
    text = re.sub(r'(<mets:dmdSec ID="dmd-erms") CREATED="[^"]+"', r"\1", text)
    mets.write_text(text, encoding="utf-8")
    report = validators.eark_validate(broken)
    rules = {rule for _, rule, _, _ in validators.eark_unexplained(report)}
    assert {"CSIP9", "CSIP19"} <= rules


# --------------------------------------------------------------------------------------------
# BagIt
# --------------------------------------------------------------------------------------------
def test_bagit_validates_the_bag_and_its_info(bag):
    result, bag_dir, sip, spec = bag
    assert validators.bagit_validate(bag_dir) is None
    code, output = validators.bagit_cli_validate(bag_dir)
    assert code == 0, output
    info = dict(line.split(": ", 1) for line in
                (bag_dir / "bag-info.txt").read_text(encoding="utf-8").splitlines())
    assert info["Source-Organization"] == ORG.name
    assert info["External-Identifier"] == spec.package_id
    assert info["Bag-Group-Identifier"] == "1000001/2026"
    assert info["Bagging-Date"] == "2026-11-25"
    assert info["BagIt-Profile-Identifier"]
    payload = files_of(bag_dir / "data")
    assert info["Payload-Oxum"] == f"{sum(p.stat().st_size for p in payload)}.{len(payload)}"
    assert (result.files, result.bytes, result.letters) == (
        len(payload), sum(p.stat().st_size for p in payload), 12)
    assert result.sha256 == hashlib.sha256(
        (bag_dir / "tagmanifest-sha256.txt").read_bytes()).hexdigest()
    assert (bag_dir / "bagit.txt").read_text() == ("BagIt-Version: 1.0\n"
                                                    "Tag-File-Character-Encoding: UTF-8\n")


def test_one_flipped_byte_in_a_letter_makes_bagit_fail(letters, tmp_path):
    result = build_package(make_spec(), make_entries(letters, 3), str(tmp_path))
    bag_dir = Path(result.path)
    pdf = sorted((bag_dir / "data").rglob("*.pdf"))[-1]
    assert "representations/rep1/data" in pdf.as_posix()
    data = bytearray(pdf.read_bytes())
    data[len(data) // 2] ^= 0x01
    pdf.write_bytes(bytes(data))
    error = validators.bagit_validate(bag_dir)
    assert error is not None and pdf.name in error
    code, output = validators.bagit_cli_validate(bag_dir)
    assert code != 0 and "invalid" in output.lower()


# --------------------------------------------------------------------------------------------
# the zipped bag
# --------------------------------------------------------------------------------------------
def test_a_zipped_package_is_the_same_bag_under_one_root_folder(letters, tmp_path):
    spec = make_spec(record_status="SUPPLEMENT")
    out = tmp_path / "handover.zip"
    result = build_package(spec, make_entries(letters, 5), str(out), audit_records=AUDIT)
    assert result.path == str(out) and result.letters == 5
    assert result.sha256 == hashlib.sha256(out.read_bytes()).hexdigest()
    assert not list(tmp_path.glob("*.partial")) and sorted(tmp_path.iterdir()) == [out]
    with zipfile.ZipFile(out) as archive:
        assert archive.testzip() is None
        names = archive.namelist()
        assert {n.split("/", 1)[0] for n in names} == {spec.package_id}
        assert all(is_safe_path(n) for n in names)
        stored = {i.filename: i.compress_type for i in archive.infolist()}
        assert all(kind == zipfile.ZIP_STORED for n, kind in stored.items()
                   if n.endswith(".pdf"))
        archive.extractall(tmp_path / "x")
    bag_dir = tmp_path / "x" / spec.package_id
    assert validators.bagit_validate(bag_dir) is None
    sip = bag_dir / "data" / spec.package_id
    assert validators.eark_unexplained(validators.eark_validate(sip)) == []
    header = etree.parse(str(sip / "METS.xml")).find("mets:metsHdr", NS)
    assert header.get("RECORDSTATUS") == "SUPPLEMENT"


# --------------------------------------------------------------------------------------------
# METS, PREMIS, ERMS
# --------------------------------------------------------------------------------------------
def sha256(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_every_file_is_in_a_mets_with_matching_size_and_checksum(bag, letters):
    _, _, sip, _ = bag
    referenced = set()
    for mets_path in (sip / "METS.xml", sip / "representations" / "rep1" / "METS.xml"):
        base = mets_path.parent
        doc = etree.parse(str(mets_path))
        for el in doc.iterfind(".//mets:file", NS):
            target = base / el.find("mets:FLocat", NS).get(HREF)
            assert el.get("CHECKSUMTYPE") == "SHA-256"
            assert el.get("CHECKSUM") == sha256(target), target
            assert int(el.get("SIZE")) == target.stat().st_size
            assert el.get("MIMETYPE") and datetime.fromisoformat(el.get("CREATED"))
            referenced.add(target.resolve())
        for el in doc.iterfind(".//mets:mdRef", NS):
            target = base / el.get(HREF)
            assert el.get("CHECKSUM") == sha256(target) and el.get("CHECKSUMTYPE") == "SHA-256"
            assert int(el.get("SIZE")) == target.stat().st_size
            referenced.add(target.resolve())
    everything = {p.resolve() for p in files_of(sip)} - {(sip / "METS.xml").resolve()}
    assert everything == referenced
    # the letters are there byte for byte, never converted
    originals = {hashlib.sha256(data).hexdigest() for _, data, _ in letters}
    copies = files_of(sip / "representations" / "rep1" / "data")
    assert len(copies) == 12 and {sha256(p) for p in copies} == originals


def test_mets_declares_the_profile_agents_and_references(bag):
    _, _, sip, spec = bag
    root = etree.parse(str(sip / "METS.xml")).getroot()
    assert root.get("OBJID") == spec.package_id
    assert root.get("PROFILE") == "https://earksip.dilcis.eu/profile/E-ARK-SIP.xml"
    assert root.get(f"{{{NS['csip']}}}CONTENTINFORMATIONTYPE") == "citserms_v3_0"
    header = root.find("mets:metsHdr", NS)
    assert header.get(f"{{{NS['csip']}}}OAISPACKAGETYPE") == "SIP"
    assert header.get("RECORDSTATUS") == "NEW"
    alt = {a.get("TYPE"): a.text for a in header.iterfind("mets:altRecordID", NS)}
    assert alt == {"SUBMISSIONAGREEMENT": "А-17/2026; 2026-11-20", "REFERENCECODE": "ХН-125/Д-3"}
    agents = [(a.get("ROLE"), a.get("TYPE"), a.find("mets:name", NS).text)
              for a in header.iterfind("mets:agent", NS)]
    assert agents == [("CREATOR", "OTHER", "Registry"), ("ARCHIVIST", "ORGANIZATION", ORG.name),
                      ("CREATOR", "ORGANIZATION", ORG.name),
                      ("CREATOR", "INDIVIDUAL", "records (Б. Батбаяр)"),
                      ("PRESERVATION", "ORGANIZATION", "Үндэсний архивын газар")]
    rep = etree.parse(str(sip / "representations" / "rep1" / "METS.xml")).getroot()
    pdf_files = rep.findall(".//mets:fileGrp[@USE='Data']/mets:file", NS)
    assert len(pdf_files) == 12
    assert {f.get("MIMETYPE") for f in pdf_files} == {"application/pdf"}


@pytest.mark.parametrize("relpath, kind", [
    ("METS.xml", "mets"), ("representations/rep1/METS.xml", "mets"),
    ("metadata/preservation/premis.xml", "premis"),
    ("representations/rep1/metadata/preservation/premis.xml", "premis"),
    ("metadata/descriptive/erms.xml", "erms")])
def test_the_xml_is_valid_against_its_schema(bag, relpath, kind):
    _, _, sip, _ = bag
    assert validators.xsd_errors(sip / relpath, kind) == []


def test_erms_passes_the_erms_schematron(bag):
    _, _, sip, _ = bag
    assert validators.erms_schematron_errors(sip / "metadata" / "descriptive" / "erms.xml") == []


def test_the_schema_checks_are_not_vacuous(bag, tmp_path):
    """A wrong direction in ERMS, an unknown content information type in METS and a missing
    fixity digest in PREMIS are each caught."""
    _, _, sip, _ = bag
    cases = [("metadata/descriptive/erms.xml", "erms", 'directionDefinition="outgoing"',
              'directionDefinition="sideways"'),
             ("METS.xml", "mets", 'csip:CONTENTINFORMATIONTYPE="citserms_v3_0"',
              'csip:CONTENTINFORMATIONTYPE="citserms_v9"'),
             ("metadata/preservation/premis.xml", "premis",
              re.compile(r"<premis:messageDigest>[0-9a-f]{64}</premis:messageDigest>"), "")]
    for relpath, kind, good, bad in cases:
        text = (sip / relpath).read_text(encoding="utf-8")
        changed = (good.sub(bad, text, count=1) if isinstance(good, re.Pattern)
                   else text.replace(good, bad, 1))
        assert changed != text
        broken = tmp_path / relpath.replace("/", "_")
        broken.write_text(changed, encoding="utf-8")
        assert validators.xsd_errors(broken, kind), relpath
    erms = (sip / "metadata/descriptive/erms.xml").read_text(encoding="utf-8")
    broken = tmp_path / "erms-sch.xml"
    broken.write_text(erms.replace('otherDateType="registered"', "", 1), encoding="utf-8")
    assert validators.erms_schematron_errors(broken)


def test_premis_records_fixity_capture_and_every_signature_validation(bag, letters):
    _, _, sip, spec = bag
    rep = sip / "representations" / "rep1"
    doc = etree.parse(str(rep / "metadata" / "preservation" / "premis.xml"))
    pdf_objects = [o for o in doc.iterfind("premis:object", NS)
                   if o.findtext(".//premis:formatName", namespaces=NS)
                   == "Portable Document Format"]
    assert len(pdf_objects) == 12
    for obj in pdf_objects:
        path = sip / obj.findtext("premis:objectIdentifier/premis:objectIdentifierValue",
                                  namespaces=NS)
        assert obj.findtext(".//premis:messageDigest", namespaces=NS) == sha256(path)
        assert obj.findtext(".//premis:messageDigestAlgorithm", namespaces=NS) == "SHA-256"
        assert int(obj.findtext(".//premis:size", namespaces=NS)) == path.stat().st_size
        assert obj.findtext(".//premis:formatRegistryKey", namespaces=NS).startswith("fmt/")
    events = doc.findall("premis:event", NS)
    kinds = [e.findtext("premis:eventType", namespaces=NS) for e in events]
    # 12 captures; 6 outgoing letters checked twice, 6 incoming three times
    assert kinds.count("capture") == 12 and kinds.count("validation") == 6 * 2 + 6 * 3
    failures = [e for e in events if e.findtext(".//premis:eventOutcome", namespaces=NS)
                == "failure"]
    # letters 4, 8 and 12 (incoming, three checks each) carry the revoked certificate
    assert len(failures) == 3 * 3
    assert all("CERT_REVOKED" in e.findtext(".//premis:eventOutcomeDetailNote", namespaces=NS)
               for e in failures)
    # each validation names its full report, and the report file holds the gate's verdicts
    for event in events:
        if event.findtext("premis:eventType", namespaces=NS) != "validation":
            continue
        outcome = [link.findtext("premis:linkingObjectIdentifierValue", namespaces=NS)
                   for link in event.iterfind("premis:linkingObjectIdentifier", NS)
                   if link.findtext("premis:linkingObjectRole", namespaces=NS) == "outcome"]
        report = json.loads((sip / outcome[0]).read_text(encoding="utf-8"))
        assert report["checks"][-1]["context"] == "export"
        assert {c["report"]["sha256"] for c in report["checks"]} <= {
            hashlib.sha256(d).hexdigest() for _, d, _ in letters}
    agents = {a.findtext("premis:agentName", namespaces=NS):
              a.findtext("premis:agentType", namespaces=NS)
              for a in doc.iterfind("premis:agent", NS)}
    assert agents == {"Registry": "software", ORG.name: "organization",
                      "Үндэсний архивын газар": "organization"}
    package = etree.parse(str(sip / "metadata" / "preservation" / "premis.xml"))
    assert {e.findtext("premis:eventType", namespaces=NS)
            for e in package.iterfind("premis:event", NS)} == {"creation", "transfer"}


def test_erms_describes_each_letter(bag):
    _, _, sip, spec = bag
    doc = etree.parse(str(sip / "metadata" / "descriptive" / "erms.xml"))
    records = doc.findall(".//erms:record", NS)
    assert len(records) == 12
    first, second = records[0], records[1]
    assert first.findtext("erms:title", namespaces=NS) == "Төсвийн төслийн тухай №0 <&>"
    assert first.find("erms:direction", NS).get("directionDefinition") == "outgoing"
    assert second.find("erms:direction", NS).get("directionDefinition") == "incoming"
    ids = {e.get("extraIdType"): e.text for e in second.iterfind("erms:extraId", NS)}
    assert ids["incoming number"] == "И-2" and ids["outgoing number"] == "01-05/91"
    assert first.find("erms:classification", NS).get("classificationCode") == "03-12"
    assert first.find("erms:disposal", NS).get("disposable") == "true"
    assert second.find("erms:disposal", NS).get("disposable") == "false"
    roles = [a.get("agentType") for a in first.iterfind("erms:agents/erms:agent", NS)]
    assert roles == ["sender", "recipient", "main_signatory"]
    assert len(first.findall("erms:action", NS)) == 2
    signature = first.find("erms:eSignatures/erms:eSignature", NS)
    assert signature.get("present") == "true"
    assert signature.get("dateeSignatureIsVerified") == "2026-12-27T09:30:00+00:00"


def test_audit_trail_inventory_and_act(bag):
    import pypdfium2

    _, _, sip, spec = bag
    audit = sip / "metadata" / "other" / "audit-trail.json"
    assert json.loads(audit.read_text(encoding="utf-8")) == AUDIT
    rows = (sip / "documentation" / "inventory.csv").read_text(encoding="utf-8").splitlines()
    assert rows[0] == ("№,Индекс,Хадгаламжийн нэгжийн гарчиг,Хамрах он, сар, өдөр,"
                       "Баримтын тоо,Хадгалах хугацаа,Тайлбар").replace(
        "Хамрах он, сар, өдөр", '"Хамрах он, сар, өдөр"')
    assert rows[1:] == ["1,01-05,\"Албан бичиг, захидал\",2026.03.03–2026.03.13,8,Байнга,"
                        "\"Ирсэн 4, явсан 4\"",
                        "2,03-12,Санал хүсэлт,2026.03.02–2026.03.11,4,10 жил,"
                        "\"Ирсэн 2, явсан 2\""]

    def text_of(path):
        document = pypdfium2.PdfDocument(str(path))
        return "".join(page.get_textpage().get_text_range() for page in document)

    inventory = text_of(sip / "documentation" / "inventory.pdf")
    assert "ХАДГАЛАМЖИЙН НЭГЖИЙН ЖАГСААЛТ" in inventory and "Албан бичиг, захидал" in inventory
    act = text_of(sip / "documentation" / "handover-act.pdf")
    assert "ХҮЛЭЭЛГЭН ӨГӨХ, ХҮЛЭЭН АВАХ АКТ" in act and "А-17/2026" in act
    assert sha256(audit) in act.replace("\r", "").replace("\n", "")


# --------------------------------------------------------------------------------------------
# names and refusals
# --------------------------------------------------------------------------------------------
def test_file_names_are_safe_and_nfc(bag):
    _, bag_dir, sip, _ = bag
    for path in files_of(bag_dir):
        relative = path.relative_to(bag_dir).as_posix()
        assert is_safe_path(relative), relative
    names = [p.name for p in files_of(sip / "representations" / "rep1" / "data")]
    assert names[:6] == ["000001-Төсвийн_тухай.pdf", "000002-etc_passwd.pdf",
                         "000003-a_b_c.pdf", "000004-Хүсэлт_й_ё.pdf", "000005-hiddenname.pdf",
                         "000006-letter.pdf"]
    assert all(unicodedata.is_normalized("NFC", n) for n in names)


@pytest.mark.parametrize("raw, expected", [
    ("../../x", "x"), ("/etc/passwd", "etc_passwd"), ("a\x00b", "ab"), ("..", "file"),
    (unicodedata.normalize("NFD", "й"), "й"), ("Улаанбаатар " * 20, None)])
def test_safe_name(raw, expected):
    name = safe_name(raw)
    assert is_safe_path(name) and "/" not in name
    if expected is not None:
        assert name == expected
    else:
        assert len(name.encode()) <= 100
    assert pdf_name(7, raw).startswith("000007-") and pdf_name(7, raw).endswith(".pdf")


@pytest.mark.parametrize("target", ["dir", "zip"])
def test_a_pdf_that_does_not_match_its_record_is_refused_and_nothing_is_left(letters, tmp_path,
                                                                             target):
    entries = list(make_entries(letters, 4))
    tampered = tmp_path / "tampered.pdf"
    data = bytearray(Path(entries[2].pdf_path).read_bytes())
    data[100] ^= 0xFF
    tampered.write_bytes(bytes(data))
    from dataclasses import replace

    entries[2] = replace(entries[2], pdf_path=str(tampered))
    out = tmp_path / ("out.zip" if target == "zip" else "out")
    with pytest.raises(RegistryError) as caught:
        build_package(make_spec(), iter(entries), str(out))
    assert caught.value.code == "ARCHIVE_PDF_MISMATCH"
    assert entries[2].key in str(caught.value)
    left = [p for p in tmp_path.rglob("*") if p.name not in ("tampered.pdf",)]
    assert left == ([out] if target == "dir" else [])
    if target == "dir":
        assert list(out.iterdir()) == []


def test_refusals(letters, tmp_path):
    spec = make_spec()
    with pytest.raises(RegistryError) as caught:
        build_package(spec, iter(()), str(tmp_path / "empty"))
    assert caught.value.code == "ARCHIVE_EMPTY"
    assert list((tmp_path / "empty").iterdir()) == []
    build_package(spec, make_entries(letters, 1), str(tmp_path / "twice"))
    with pytest.raises(RegistryError) as caught:
        build_package(spec, make_entries(letters, 1), str(tmp_path / "twice"))
    assert caught.value.code == "ARCHIVE_OUTPUT_EXISTS"
    from dataclasses import replace

    bad = replace(next(make_entries(letters, 1)), direction="sideways", retention="forever")
    with pytest.raises(RegistryError) as caught:
        build_package(make_spec(), iter([bad]), str(tmp_path / "bad"))
    assert caught.value.code == "ARCHIVE_BAD_ENTRY" and "sideways" in str(caught.value)
    with pytest.raises(RegistryError) as caught:
        build_package(make_spec(record_status="REPLACEMENT"), make_entries(letters, 1),
                      str(tmp_path / "status"))
    assert caught.value.code == "ARCHIVE_BAD_SPEC"


def test_the_profile_version_is_a_setting(letters, tmp_path):
    result = build_package(make_spec(profile_version="2.2.0"), make_entries(letters, 1),
                           str(tmp_path))
    sip = next((Path(result.path) / "data").iterdir())
    root = etree.parse(str(sip / "METS.xml")).getroot()
    assert root.get("PROFILE") == "https://earksip.dilcis.eu/profile/E-ARK-SIP-v2-2-0.xml"
    assert "E-ARK SIP 2.2.0" in (Path(result.path) / "bag-info.txt").read_text(encoding="utf-8")


def test_the_inventory_dates_letters_in_the_registrys_time_zone(letters):
    """A letter sent at 20:00 UTC on 2 March was sent on 3 March in Ulaanbaatar."""
    from zoneinfo import ZoneInfo

    from registry.archive.documents import Inventory, inventory_csv

    entry = next(make_entries(letters, 1))
    inventory = Inventory(ZoneInfo("Asia/Ulaanbaatar"))
    inventory.add(entry, datetime(2026, 3, 2, 20, 0, tzinfo=timezone.utc))
    inventory.add(entry, datetime(2026, 3, 9, 1, 0))  # naive: UTC
    assert inventory_csv(inventory).decode().splitlines()[1].split(",")[3] == \
        "2026.03.03–2026.03.09"
