"""Delivery evidence: one receipt per event that matters to a party, asked for in the event's
transaction, made after commit and signed with the registry's seal (the test PKI's); listed
and downloadable by the parties only; retried while the TSA is down."""
import json
from datetime import datetime, timedelta, timezone
from io import BytesIO

import pytest
import transaction
from ZODB.interfaces import IDatabase

import pdfs
from archive_letters import OTHER, RECIPIENT, SENDER, gate_for, reject, send, when
from conftest import JSON, generations_after, login, send_letter
from registry.receipts import IReceiptIssuer, attached_json, issue_due
from registry.seal import SealConfig, verify_detached
from registry.signatures import load_trust
from registry.signatures.tsa import TsaConfig
from registry.store import site_of

NOW = datetime.now(timezone.utc).replace(microsecond=0)


@pytest.fixture(scope="session")
def seal_settings(pki, tmp_path_factory):
    cert, key = pki.write_seal(tmp_path_factory.mktemp("seal"))
    return {"registry.seal.cert": str(cert), "registry.seal.key": str(key)}


@pytest.fixture
def sealed(settings, seal_settings):
    """The test settings with the registry's seal."""
    return {**settings, **seal_settings}


@pytest.fixture
def app(sealed, in_site_for):
    return in_site_for(sealed)


@pytest.fixture
def gate(trust_dir):
    return gate_for(trust_dir)


def issue(testapp):
    """Make the receipts due now in this test's app (as its thread would)."""
    return testapp.app.registry.getUtility(IReceiptIssuer).tick()


def token(in_site, login_name):
    with in_site() as site:
        value, _ = site.users.issue_token(site.users[login_name])
    return {**JSON, "Authorization": f"Bearer {value}"}


def receipts_of(in_site, path):
    from pyramid.traversal import find_resource

    with in_site() as site:
        item = find_resource(site, path)
        return {r.id: (r.event, r.read("pdf"), r.read("json"), r.read("signature"), r.facts)
                for r in item.receipt_list()}


def validate_receipt(pdf, pki):
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature

    reader = PdfFileReader(BytesIO(pdf))
    assert len(reader.embedded_signatures) == 1
    status = validate_pdf_signature(reader.embedded_signatures[0], pki.validation_context())
    return status


def test_every_event_issues_exactly_one_receipt_signed_by_the_seal(app, pki, trust_dir):
    testapp, in_site = app
    data = pdfs.signed_letter(pki, SENDER)
    letter = send_letter(testapp, token(in_site, "rm_a"), data,
                         recipients=(RECIPIENT, OTHER))
    ours = testapp.get(letter, headers=token(in_site, "rm_a")).json["deliveries"]
    assert set(ours) == {RECIPIENT, OTHER}
    with in_site() as site:
        outbox_letter = site.orgs[SENDER]["outbox"][letter.split("/")[-2]]
        deliveries = {r: "/" + "/".join(["orgs", r, "inbox", d.__name__])
                      for r, d in outbox_letter.deliveries.items()}
        assert len(site.receipt_queue) == 3, "asked for in the send's transaction"
    testapp.post_json(deliveries[RECIPIENT] + "/@workflow/register", {"series": "01"},
                      headers=token(in_site, "rm_b"))
    testapp.post_json(deliveries[OTHER] + "/@workflow/reject", {"reason": "Манайх биш"},
                      headers=token(in_site, "biz_c"))
    issue(testapp)
    assert issue(testapp) == (0, 0), "nothing is made twice"
    made = {**receipts_of(in_site, letter.rstrip("/")),
            **receipts_of(in_site, deliveries[RECIPIENT]),
            **receipts_of(in_site, deliveries[OTHER])}
    assert sorted(made) == sorted(["sent", f"{RECIPIENT}-delivered", f"{OTHER}-delivered",
                                   f"{RECIPIENT}-registered", f"{OTHER}-rejected"])
    trust = load_trust(trust_dir)
    for receipt_id, (event, pdf, json_bytes, signature, facts) in made.items():
        status = validate_receipt(pdf, pki)
        assert status.bottom_line, receipt_id
        assert status.signing_cert.subject.native["common_name"] == "Registry Test Seal"
        checked = verify_detached(json_bytes, signature, trust)
        assert (checked["valid"], checked["trusted"], checked["signer"]) == \
            (True, True, "Registry Test Seal")
        assert json.loads(json_bytes) == facts == attached_json(pdf)
        assert facts["event"] == event and facts["letter"]["file"]["sha256"] == \
            testapp.get(letter, headers=token(in_site, "rm_a")).json["pdf"]["sha256"]
    sent = made["sent"][4]
    assert sent["letter"]["outgoing_number"] and \
        [p["regno"] for p in sent["letter"]["recipients"]] == [RECIPIENT, OTHER]
    registered = made[f"{RECIPIENT}-registered"][4]["delivery"]
    assert registered["incoming_number"] and registered["registered_at"]
    assert made[f"{OTHER}-rejected"][4]["reason"] == "Манайх биш"
    assert "incoming_number" not in made[f"{RECIPIENT}-delivered"][4]["delivery"], \
        "a receipt holds the facts as of its event"
    with in_site() as site:
        actions = [r.action for r in site.audit.newest(0, 50)[0]]
        assert actions.count("evidence.issued") == 5 and len(site.receipt_queue) == 0


def test_an_aborted_transaction_asks_for_no_receipt_and_a_replay_for_one(
        app, pki, gate, sealed):
    testapp, in_site = app
    data = pdfs.signed_letter(pki, SENDER)
    db = testapp.app.registry.getUtility(IDatabase)
    for attempt in ("aborted", "replayed"):
        tm = transaction.TransactionManager()
        conn = db.open(transaction_manager=tm)
        tm.begin()
        site = site_of(conn)
        letter = send(site, gate, data, NOW, settings=sealed)
        name = letter.__name__
        assert len(site.receipt_queue) == 2
        if attempt == "aborted":
            tm.abort()
            conn.close()
            assert issue(testapp) == (0, 0)
            with in_site() as site:
                assert len(site.receipt_queue) == 0 and name not in site.orgs[SENDER]["outbox"]
        else:
            tm.commit()
            conn.close()
    assert issue(testapp) == (2, 0)
    assert sorted(receipts_of(in_site, f"/orgs/{SENDER}/outbox/{name}")) == ["sent"]


def test_the_queue_asks_once_per_receipt(in_site):
    with in_site() as site:
        queue = site.receipt_queue
        for _ in range(2):
            queue.ask("/orgs/1/outbox/x", "sent", "sent", NOW, "mn", {"event": "sent"})
        assert len(queue) == 1


def test_without_a_seal_no_receipt_is_asked_for(in_site, gate, pki, settings):
    with in_site() as site:
        send(site, gate, pdfs.signed_letter(pki, SENDER), NOW, settings=settings)
        assert len(site.receipt_queue) == 0


def test_a_withdrawal_is_attested_to_the_sender_and_shown_to_the_recipient(app, pki):
    testapp, in_site = app
    letter = send_letter(testapp, token(in_site, "rm_a"), pdfs.signed_letter(pki, SENDER))
    testapp.post_json(letter + "@workflow/withdraw", {"comment": "Алдаатай"},
                      headers=token(in_site, "rm_a"))
    issue(testapp)
    theirs = testapp.get(letter, headers=token(in_site, "rm_a")).json
    sender_list = testapp.get(letter + "@evidence", headers=token(in_site, "rm_a")).json
    assert [r["event"] for r in sender_list] == ["sent", "delivered", "withdrawn"]
    with in_site() as site:
        delivery = site.orgs[SENDER]["outbox"][theirs["id"]].deliveries[RECIPIENT]
        delivery_path = f"/orgs/{RECIPIENT}/inbox/{delivery.__name__}/"
    recipient_list = testapp.get(delivery_path + "@evidence",
                                 headers=token(in_site, "rm_b")).json
    assert [r["event"] for r in recipient_list] == ["delivered", "withdrawn"], \
        "the recipient sees its own and the withdrawal, not the sender's list of recipients"
    withdrawn = recipient_list[1]
    assert withdrawn["@id"].endswith(delivery_path + "@evidence/withdrawn")
    facts = testapp.get(withdrawn["json"], headers=token(in_site, "rm_b")).json
    assert facts["event"] == "withdrawn" and facts["reason"] == "Алдаатай"


def test_the_api_lists_receipts_and_only_the_parties_get_them(app, pki):
    testapp, in_site = app
    rm_a = token(in_site, "rm_a")
    letter = send_letter(testapp, rm_a, pdfs.signed_letter(pki, SENDER))
    issue(testapp)
    listed = testapp.get(letter + "@evidence", headers=rm_a).json
    assert [(r["event"], sorted(r)) for r in listed] == [
        (event, ["@id", "event", "id", "issued_at", "json", "pdf", "signature", "time"])
        for event in ("sent", "delivered")]
    sent = listed[0]
    pdf = testapp.get(sent["pdf"], headers=rm_a)
    assert pdf.content_type == "application/pdf" and pdf.body.startswith(b"%PDF")
    assert testapp.get(sent["signature"], headers=rm_a).content_type == \
        "application/pkcs7-signature"
    assert testapp.get(sent["@id"], headers=rm_a).json == sent
    testapp.get(letter + "@evidence/nothing.pdf", headers=rm_a, status=404)
    testapp.get(letter + "@evidence/sent.exe", headers=rm_a, status=404)
    for outsider in ("rm_b", "biz_c"):  # the recipient has no right on the sender's letter
        testapp.get(letter + "@evidence", headers=token(in_site, outsider), status=404)
        testapp.get(sent["pdf"], headers=token(in_site, outsider), status=404)
    testapp.get(letter + "@evidence", headers=JSON, status=401)  # not signed in


def test_the_letter_and_delivery_pages_link_the_receipts(app, pki):
    testapp, in_site = app
    letter = send_letter(testapp, token(in_site, "rm_a"), pdfs.signed_letter(pki, SENDER))
    issue(testapp)
    login(testapp, "rm_a")
    page = testapp.get(letter)
    rows = page.html.find(id="evidence").find_all("tr")[1:]
    assert [row["data-event"] for row in rows] == ["sent", "delivered"]
    assert testapp.get(rows[0].find("a")["href"]).body.startswith(b"%PDF")
    assert "evidence-" not in page.text, "no message id shown as text"
    with in_site() as site:
        delivery = next(iter(site.orgs[SENDER]["outbox"][letter.split("/")[-2]]
                             .deliveries.values()))
        delivery_path = f"/orgs/{RECIPIENT}/inbox/{delivery.__name__}/"
    login(testapp, "rm_b")
    rows = testapp.get(delivery_path).html.find(id="evidence").find_all("tr")[1:]
    assert [row["data-event"] for row in rows] == ["delivered"]


def test_a_tsa_that_is_down_loses_no_receipt_and_it_is_made_later(
        db, in_site, gate, pki, trust_dir, sealed, tsa_up):
    settings = {**sealed, "registry.signature.tsa_url": tsa_up.url}
    seal = SealConfig.from_settings(settings)
    with in_site() as site:
        name = send(site, gate, pdfs.signed_letter(pki, SENDER), NOW, settings=settings).__name__
    tsa_up.available = False
    trust = load_trust(trust_dir)
    assert issue_due(db, seal, TsaConfig(tsa_up.url), trust, settings, clock=lambda: NOW) == \
        (0, 2)
    with in_site() as site:
        entry = site.receipt_queue.due(NOW + timedelta(minutes=1))[0][1]
        assert entry["attempts"] == 1 and "TSA_UNAVAILABLE" in entry["last_error"]
    tsa_up.available = True
    assert issue_due(db, seal, TsaConfig(tsa_up.url), trust, settings,
                     clock=lambda: NOW + timedelta(seconds=30)) == (0, 0), "not due yet"
    assert issue_due(db, seal, TsaConfig(tsa_up.url), trust, settings,
                     clock=lambda: NOW + timedelta(minutes=1)) == (2, 0)
    pdf = receipts_of(in_site, f"/orgs/{SENDER}/outbox/{name}")["sent"][1]
    status = validate_receipt(pdf, pki)
    assert status.bottom_line and status.timestamp_validity is not None, "B-LT"


def test_receipts_go_into_the_handover_package_and_pass_its_validators(
        app, pki, gate, sealed, tmp_path):
    import archive_validators as validators
    from lxml import etree

    from archive_letters import exchanged
    from registry.archive import handover as ho

    testapp, in_site = app
    db = testapp.app.registry.getUtility(IDatabase)
    year = 2025
    with in_site() as site:
        exchanged(site, gate, pdfs.signed_letter(pki, SENDER), year, count=1, settings=sealed)
        rejected = send(site, gate, pdfs.signed_letter(pki, SENDER), when(year, 9),
                        settings=sealed)
        reject(site, gate, rejected, when(year, 9), settings=sealed)
    assert issue(testapp) == (6, 0)
    made = ho.export(db, ho.ExportRequest(SENDER, year, actor="rm_a", out=str(tmp_path / "out"),
                                          act_number="2025-1", fond_reference="Ф-12"),
                     gate, sealed, batch=2)
    bag = tmp_path / "out" / made["package_id"]
    sip = bag / "data" / made["package_id"]
    rep = sip / "representations" / "rep1"
    files = sorted(p.name for p in (rep / "metadata" / "preservation" / "receipts").iterdir())
    assert len(files) == 18 and sum(name.endswith(".json.p7s") for name in files) == 6
    assert validators.bagit_validate(bag) is None
    assert validators.eark_unexplained(validators.eark_validate(sip)) == []
    premis = rep / "metadata" / "preservation" / "premis.xml"
    assert validators.xsd_errors(premis, "premis") == []
    ns = {"premis": "http://www.loc.gov/premis/v3"}
    events = [e for e in etree.parse(str(premis)).iterfind(".//premis:event", ns)
              if e.findtext("premis:eventType", namespaces=ns) == "digital signature generation"]
    assert len(events) == 6
    linked = {link.findtext("premis:linkingObjectIdentifierValue", namespaces=ns)
              for event in events
              for link in event.iterfind("premis:linkingObjectIdentifier", ns)}
    assert {name.rsplit("/", 1)[-1] for name in linked if "/receipts/" in name} == set(files)
    for name in files:
        if name.endswith(".pdf"):
            pdf = (rep / "metadata" / "preservation" / "receipts" / name).read_bytes()
            assert validate_receipt(pdf, pki).bottom_line
    # The handover itself is attested after it (so not in its own package).
    assert issue(testapp) == (2, 0)
    assert "handed_over" in receipts_of(in_site, f"/orgs/{SENDER}/outbox/{rejected.__name__}")


def test_registry_verify_says_a_receipt_is_the_registrys_seal_and_what_it_attests(
        app, pki, trust_dir, seal_settings, tmp_path):
    from click.testing import CliRunner

    from registry.cli import main as cli

    testapp, in_site = app
    letter = send_letter(testapp, token(in_site, "rm_a"), pdfs.signed_letter(pki, SENDER))
    issue(testapp)
    receipt = tmp_path / "receipt.pdf"
    receipt.write_bytes(receipts_of(in_site, letter.rstrip("/"))["sent"][1])
    imposter = tmp_path / "imposter"
    imposter.mkdir()
    (imposter / "cert.pem").write_bytes(pki.org(SENDER).cert_pem)
    (imposter / "key.pem").write_bytes(pki.org(SENDER).key_pem)

    def run(seal_cert, seal_key, *args):
        ini = tmp_path / "registry.ini"
        ini.write_text(f"[app:main]\nuse = egg:registry\nregistry.seal.cert = {seal_cert}\n"
                       f"registry.seal.key = {seal_key}\n")
        return CliRunner(env={"REGISTRY_TRUST_DIR": str(trust_dir)}).invoke(
            cli, ["-c", str(ini), "--data-dir", str(tmp_path / "var"), "verify", *args,
                  str(receipt)], catch_exceptions=False)

    ours = run(seal_settings["registry.seal.cert"], seal_settings["registry.seal.key"])
    assert ours.exit_code == 0, ours.output
    assert "ACCEPTED" in ours.output and "the registry's seal" in ours.output
    sha256 = testapp.get(letter, headers=token(in_site, "rm_a")).json["pdf"]["sha256"]
    assert "attests: sent at" in ours.output and sha256 in ours.output
    as_json = json.loads(run(seal_settings["registry.seal.cert"],
                             seal_settings["registry.seal.key"], "--json").output)
    assert as_json[0]["receipt"]["registry_seal"] is True
    assert as_json[0]["receipt"]["facts"]["event"] == "sent"
    other = run(imposter / "cert.pem", imposter / "key.pem")
    assert other.exit_code == 1 and "NOT the registry's seal" in other.output


def test_evolve_13_gives_the_site_its_receipt_queue(in_site):
    from registry.resources.evolve import evolve
    from registry.resources.receipt import ReceiptQueue

    with in_site() as site:
        del site.receipt_queue  # as the site was before generation 13
        site.generation = 12
        assert evolve(site) == generations_after(12)
        assert isinstance(site.receipt_queue, ReceiptQueue) and len(site.receipt_queue) == 0


def test_the_documented_receipt_fields_are_what_the_api_returns(app, pki):
    from pathlib import Path

    testapp, in_site = app
    rm_a = token(in_site, "rm_a")
    letter = send_letter(testapp, rm_a, pdfs.signed_letter(pki, SENDER))
    issue(testapp)
    document = json.loads((Path(__file__).parent.parent / "src" / "registry" / "views" /
                           "openapi.json").read_text(encoding="utf-8"))
    schemas = document["components"]["schemas"]
    listed = testapp.get(letter + "@evidence", headers=rm_a).json
    assert set(listed[0]) == set(schemas["Receipt"]["properties"])
    facts = testapp.get(listed[0]["json"], headers=rm_a).json
    assert set(facts) <= set(schemas["ReceiptFacts"]["properties"])
    assert set(schemas["ReceiptFacts"]["required"]) <= set(facts)


def test_a_receipt_carries_the_letters_verification_code_and_its_address(
        sealed, in_site_for, pki):
    testapp, in_site = in_site_for({**sealed, "registry.public_url": "https://registry.example"})
    letter = send_letter(testapp, token(in_site, "rm_a"), pdfs.signed_letter(pki, SENDER))
    code = testapp.get(letter, headers=token(in_site, "rm_a")).json["verification_code"]
    issue(testapp)
    _event, pdf, _json, _signature, facts = receipts_of(in_site, letter.rstrip("/"))["sent"]
    assert facts["letter"]["verification_code"] == code
    text = pdf_text(pdf)
    assert f"Шалгах код: {code}\r\nhttps://registry.example/verify/{code}" in text
    assert validate_receipt(pdf, pki).bottom_line


def pdf_text(data):
    import pypdfium2

    return "".join(page.get_textpage().get_text_range() for page in pypdfium2.PdfDocument(data))
