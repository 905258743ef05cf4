"""A package made by the registry's own export, from a site whose letters were signed by the
test PKI, sent, delivered and registered through the real workflows, passes the independent
validators (tests/archive_validators.py): eark-validator, bagit, XML Schema and the ERMS
Schematron; its METS and PREMIS carry every letter and every signature check, the one at export
included."""
import hashlib
import json
from pathlib import Path

import pytest
from lxml import etree

import archive_validators as validators
import pdfs
from archive_letters import SENDER, exchanged, gate_for, reject, send, when
from registry.archive import handover as ho
from registry.preservation import stamp_due
from registry.resources.evidence import verdict_digest
from registry.signatures import load_trust
from registry.signatures.tsa import TsaConfig, preservation_imprint, token_time_and_imprint

YEAR = 2025
NS = {"mets": "http://www.loc.gov/METS/", "premis": "http://www.loc.gov/premis/v3",
      "xlink": "http://www.w3.org/1999/xlink"}

pytestmark = pytest.mark.slow


@pytest.fixture
def exported(db, in_site, pki, trust_dir, tmp_path, tsa_up):
    """The sender's year exported to a bag directory: (record, bag dir, SIP root, letters).
    The registry has a TSA: each first acceptance is timestamped (after commit)."""
    gate = gate_for(trust_dir)
    settings = {"registry.signature.tsa_url": tsa_up.url}
    with in_site() as site:
        exchanged(site, gate, pdfs.signed_letter(pki, SENDER), YEAR, count=2, settings=settings)
        exchanged(site, gate, pdfs.signed_multipage_letter(pki, SENDER), YEAR, count=1,
                  series="02", settings=settings)
        rejected = send(site, gate, pdfs.signed_letter_ec(pki, SENDER), when(YEAR, 9),
                        settings=settings)
        reject(site, gate, rejected, when(YEAR, 9))
    assert stamp_due(db, TsaConfig(tsa_up.url), load_trust(trust_dir)) == (7, 0)
    made = ho.export(db, ho.ExportRequest(SENDER, YEAR, actor="rm_a", out=str(tmp_path / "out"),
                                          act_number="2025-1", fond_reference="Ф-12"),
                     gate, {}, batch=2)
    bag = Path(tmp_path / "out" / made["package_id"])
    return made, bag, bag / "data" / made["package_id"]


def test_the_exported_bag_is_valid_and_names_what_the_record_says(exported):
    made, bag, sip = exported
    assert made["letters"] == 4
    assert validators.bagit_validate(bag) is None
    code, output = validators.bagit_cli_validate(bag)
    assert code == 0, output
    digest = hashlib.sha256((bag / "tagmanifest-sha256.txt").read_bytes()).hexdigest()
    assert made["sha256"] == digest


def test_eark_validator_finds_nothing_unexplained(exported):
    _, _, sip = exported
    report = validators.eark_validate(sip)
    assert report["structure"]["status"] == "WellFormed"
    assert validators.eark_unexplained(report) == []


@pytest.mark.parametrize("relpath, kind", [
    ("METS.xml", "mets"), ("representations/rep1/METS.xml", "mets"),
    ("metadata/preservation/premis.xml", "premis"),
    ("representations/rep1/metadata/preservation/premis.xml", "premis"),
    ("metadata/descriptive/erms.xml", "erms")])
def test_the_metadata_is_valid(exported, relpath, kind):
    _, _, sip = exported
    assert validators.xsd_errors(sip / relpath, kind) == []


def test_erms_schematron(exported):
    _, _, sip = exported
    assert validators.erms_schematron_errors(sip / "metadata/descriptive/erms.xml") == []


def test_every_letter_file_is_the_signed_one_and_each_check_is_recorded(exported, in_site):
    made, _, sip = exported
    data = sip / "representations" / "rep1" / "data"
    packaged = {hashlib.sha256(p.read_bytes()).hexdigest() for p in data.rglob("*.pdf")}
    with in_site() as site:
        record = site.orgs[SENDER]["handovers"][made["id"]]
        outbox = site.orgs[SENDER]["outbox"]
        letters = [outbox[key.split("/", 1)[1]] for key in record.items]
        assert packaged == {letter.pdf.sha256 for letter in letters}
        checks = sum(len(letter.verdicts) for letter in letters)
    premis = etree.parse(str(sip / "representations/rep1/metadata/preservation/premis.xml"))
    events = premis.findall(".//premis:event", NS)
    validations = [e for e in events
                   if "validation" in (e.findtext("premis:eventType", "", NS) or "").lower()]
    # sign + send + export for each letter
    assert len(validations) == checks == 3 * len(letters)


def test_the_revocation_data_the_checks_used_is_in_the_package_and_linked(
        exported, pki):
    """The CRLs the registry kept at each letter's first acceptance travel with the package,
    once each, named by their SHA-256, listed in the METS and linked from every validation."""
    _, _, sip = exported
    folder = sip / "representations/rep1/metadata/preservation/revocation"
    files = {p.name: p.read_bytes() for p in folder.iterdir()}
    expected = {pki.crl_der(), pki.root_crl_der()}
    assert set(files.values()) == expected
    assert {name for name in files} == {hashlib.sha256(der).hexdigest() + ".crl"
                                        for der in expected}
    mets = (sip / "representations/rep1/METS.xml").read_text()
    assert all(f"metadata/preservation/revocation/{name}" in mets for name in files)
    premis = etree.parse(str(sip / "representations/rep1/metadata/preservation/premis.xml"))
    validations = [event for event in premis.findall(".//premis:event", NS)
                   if event.findtext("premis:eventType", "", NS) == "validation"]
    assert len(validations) == 12  # sign, send and export of each of the 4 letters
    for event in validations:
        linked = {link.findtext("premis:linkingObjectIdentifierValue", "", NS)
                  for link in event.findall("premis:linkingObjectIdentifier", NS)}
        assert {f"representations/rep1/metadata/preservation/revocation/{name}"
                for name in files} <= linked


def test_the_preservation_timestamps_are_in_the_package_linked_and_checkable(exported):
    """Each letter's first acceptance (its signing) carries the registry's timestamp: a .tsr
    file named by its imprint, in the METS with its checksum, linked from a PREMIS event with
    the letter and its reports; the imprint is recomputed from the package alone."""
    from asn1crypto import tsp

    _, _, sip = exported
    rep = sip / "representations/rep1"
    folder = rep / "metadata/preservation/timestamps"
    tokens = {p.name[:-len(".tsr")]: p.read_bytes() for p in folder.iterdir()}
    assert len(tokens) == 4  # one per letter: its signing (sending re-checked the same bytes)
    mets = (rep / "METS.xml").read_text()
    premis = etree.parse(str(rep / "metadata/preservation/premis.xml"))
    events = [event for event in premis.findall(".//premis:event", NS)
              if event.findtext("premis:eventType", "", NS) == "timestamping"]
    assert len(events) == 4
    for key, reply in tokens.items():
        assert (f'xlink:href="metadata/preservation/timestamps/{key}.tsr"' in mets and
                f'CHECKSUM="{hashlib.sha256(reply).hexdigest()}"' in mets)
        [event] = [e for e in events if f"timestamps/{key}.tsr" in etree.tostring(e).decode()]
        linked = [link.findtext("premis:linkingObjectIdentifierValue", "", NS)
                  for link in event.findall("premis:linkingObjectIdentifier", NS)]
        pdf_path, report_path = linked[0], linked[1]
        pdf = (sip / pdf_path).read_bytes()
        report = json.loads((sip / report_path).read_text())
        firsts = [check["report"] for check in report["checks"] if check["accepted"]]
        message = preservation_imprint(hashlib.sha256(pdf).hexdigest(),
                                       verdict_digest(firsts[0]))
        token = tsp.TimeStampResp.load(reply)["time_stamp_token"].dump()
        assert token_time_and_imprint(token)[1] == key == hashlib.sha256(message).hexdigest()


def test_a_flipped_byte_in_an_exported_letter_makes_bagit_fail(exported):
    _, bag, sip = exported
    pdf = next((sip / "representations" / "rep1" / "data").rglob("*.pdf"))
    data = bytearray(pdf.read_bytes())
    data[len(data) // 2] ^= 0x01
    pdf.write_bytes(bytes(data))
    assert validators.bagit_validate(bag) is not None
