"""Archive handover, the registry side: the selection and its preview, the export (package,
handover record, letters handed over and read-only), refusals, supplements, the archive's
receipt, who may see what, and the CLI. Real ZODB, real PDFs signed by the test PKI, the real
gate; packages made by registry.archive.package."""
import hashlib
import os
import time
import zipfile
from datetime import datetime, timedelta, timezone

import pytest
from click.testing import CliRunner

import pdfs
from archive_letters import (RECIPIENT, SENDER, exchanged, gate_for, register, reject, send,
                             when)
from conftest import JSON, csrf_token, login
from registry.archive import handover as ho
from registry.archive import selection as sel
from registry.archive.retention import set_retention
from registry.errors import RegistryError
from registry.signatures import Gate, GateConfig
from registry.workflow import TransitionRefused

YEAR = 2025


@pytest.fixture
def gate(trust_dir):
    return gate_for(trust_dir)


@pytest.fixture
def signed_pdf(pki):
    return pdfs.signed_letter(pki, SENDER)


@pytest.fixture
def year_of_letters(in_site, gate, signed_pdf):
    """In YEAR: 3 letters registered by the recipient, 1 still waiting for it (open), 1 it
    rejected (settled), 1 in a temporary series; returns their ids by kind."""
    with in_site() as site:
        set_retention(site, "rm_a", site.orgs[SENDER], "09", "5", "Лавлагаа")
        done = exchanged(site, gate, signed_pdf, YEAR, count=3)
        waiting = send(site, gate, signed_pdf, when(YEAR, 11), subject="Хүлээгдэж буй")
        rejected = send(site, gate, signed_pdf, when(YEAR, 12), subject="Татгалзсан")
        reject(site, gate, rejected, when(YEAR, 12))
        temporary = exchanged(site, gate, signed_pdf, YEAR, series="09")[0]
        return {"done": [letter.__name__ for letter in done], "waiting": waiting.__name__,
                "rejected": rejected.__name__, "temporary": temporary.__name__}


def _export(db, gate, tmp_path, regno=SENDER, name="package.zip", **kw):
    kw.setdefault("fond_reference", "Ф-12")
    request = ho.ExportRequest(regno, YEAR, actor="rm_a", out=str(tmp_path / name), **kw)
    return ho.export(db, request, gate, {}, batch=2)


def test_preview_counts_what_goes_and_what_stays(in_site, year_of_letters):
    with in_site() as site:
        org = site.orgs[SENDER]
        found = sel.preview(org, sel.make_selection(org, YEAR))
        assert (found.outgoing, found.incoming, found.open, found.temporary) == (4, 0, 1, 1)
        assert found.series == {"01": 4} and found.handed_over == 0
        assert [o.key for o in found.open_letters] == [f"outbox/{year_of_letters['waiting']}"]
        assert found.open_letters[0].waiting == (RECIPIENT,)
        assert found.bytes == 4 * org["outbox"][year_of_letters["waiting"]].pdf.size
        # The recipient's year: the 3 + 1 it registered; the waiting one is not numbered yet.
        recipient = site.orgs[RECIPIENT]
        theirs = sel.preview(recipient, sel.make_selection(recipient, YEAR))
        assert (theirs.outgoing, theirs.incoming, theirs.unregistered) == (0, 4, 1)
        assert sel.preview(org, sel.make_selection(org, YEAR + 1)).total == 0
        assert sel.preview(org, sel.make_selection(org, YEAR, series="01")).total == 4


def test_a_temporary_series_or_a_bad_year_is_refused(in_site, year_of_letters):
    with in_site() as site:
        org = site.orgs[SENDER]
        with pytest.raises(Exception) as info:
            sel.make_selection(org, YEAR, series="09")
        assert info.value.code == "SERIES_TEMPORARY"
        with pytest.raises(Exception) as info:
            sel.make_selection(org, "20x5")
        assert info.value.code == "INVALID_YEAR"


@pytest.mark.both_stores
def test_export_hands_the_letters_over_and_records_the_handover(db, in_site, gate, tmp_path,
                                                                 year_of_letters):
    made = _export(db, gate, tmp_path, act_number="А-17", act_date="2026-01-20",
                   archive_name="Нийслэлийн архив")
    package = tmp_path / "package.zip"
    assert made["status"] == "made" and made["letters"] == 4 and made["outgoing"] == 4
    assert made["sha256"] == hashlib.sha256(package.read_bytes()).hexdigest()
    assert made["act_number"] == "А-17" and made["act_date"] == "2026-01-20"
    assert made["record_status"] == "NEW" and made["failed_checks"] == 0
    names = zipfile.ZipFile(package).namelist()
    assert sum(name.endswith(".pdf") and "/representations/rep1/data/" in name
               for name in names) == 4
    with in_site() as site:
        org = site.orgs[SENDER]
        record = org["handovers"][made["id"]]
        assert record.made_by == "rm_a" and record.archive_name == "Нийслэлийн архив"
        outbox = org["outbox"]
        for name in year_of_letters["done"] + [year_of_letters["rejected"]]:
            letter = outbox[name]
            assert letter.state == "handed_over" and letter.handed_over_in == made["id"]
            contexts = [v.get("context") for v in letter.verdicts]
            assert contexts == [None, None, "export"], "sign, send, then the export check"
            assert letter.verdicts[-1]["accepted"] and \
                letter.verdicts[-1]["package"] == record.package_id
            assert letter.history[-1].transition == "hand_over"
        assert outbox[year_of_letters["waiting"]].state == "sent"
        assert outbox[year_of_letters["temporary"]].state == "received"
        actions = [r.action for r in site.audit.newest(0, 200, org=SENDER)[0]]
        assert actions.count("letter.hand_over") == 4
        assert "handover.start" in actions and "handover.export" in actions


def test_handed_over_letters_are_read_only_for_good(db, in_site, gate, tmp_path, testapp,
                                                    year_of_letters, api):
    _export(db, gate, tmp_path)
    name = year_of_letters["done"][0]
    with in_site() as site:
        letter = site.orgs[SENDER]["outbox"][name]
        delivery = letter.deliveries[RECIPIENT]
        from registry import exchange

        ctx = exchange.context(site, "rm_a", permits=lambda p, o: True, settings={})
        for transition in ("withdraw", "hand_over", "dispose", "retract"):
            with pytest.raises(TransitionRefused):
                exchange.transition(letter, transition, ctx)
        with pytest.raises(Exception) as info:
            exchange.update_draft(site, "rm_a", letter, subject="өөр")
        assert info.value.code == "NOT_A_DRAFT"
    # The API refuses every transition; the page says handed over and offers none.
    path = f"/orgs/{SENDER}/outbox/{name}/"
    refused = testapp.post_json(path + "@workflow/withdraw", {}, headers=api("rm_a"),
                                status=409).json
    assert refused["error"]["code"] == "TRANSITION_NOT_AVAILABLE"
    testapp.post_json(path + "@workflow/hand_over", {}, headers=api("rm_a"), status=409)
    login(testapp, "rm_a")
    page = testapp.get(path)
    assert page.html.find(id="letter-state")["data-state"] == "handed_over"
    assert page.html.find(id="handed-over") is not None
    assert page.html.find(id="transitions").find("button") is None
    assert testapp.get(path + "@@pdf").body  # still readable
    item = testapp.get(path, headers=JSON).json
    assert item["state"] == "handed_over" and item["handed_over"]["handover"]
    assert item["signature_at_export"]["context"] == "export"
    # The recipient's copy is its own record: not handed over by the sender's export.
    assert delivery.state == "registered"


def test_re_export_is_refused_and_a_supplement_takes_only_late_letters(
        db, in_site, gate, tmp_path, year_of_letters):
    first = _export(db, gate, tmp_path)
    with pytest.raises(Exception) as info:
        _export(db, gate, tmp_path, name="again.zip")
    assert info.value.code == "ALREADY_HANDED_OVER"
    assert not (tmp_path / "again.zip").exists()
    # The waiting letter is registered late (the recipient's number falls in the next year;
    # the sender's outgoing number is of YEAR): it goes in a supplement, alone.
    with in_site() as site:
        letter = site.orgs[SENDER]["outbox"][year_of_letters["waiting"]]
        register(site, gate, letter, when(YEAR + 1, 1, 10))
        assert letter.state == "received"
    more = _export(db, gate, tmp_path, name="supplement.zip", supplement=True)
    assert more["record_status"] == "SUPPLEMENT" and more["letters"] == 1
    with pytest.raises(Exception) as info:
        _export(db, gate, tmp_path, name="third.zip", supplement=True)
    assert info.value.code == "NOTHING_TO_HAND_OVER"
    with in_site() as site:
        handovers = site.orgs[SENDER]["handovers"]
        assert {h.record_status for h in handovers.values()} == {"NEW", "SUPPLEMENT"}
        assert list(handovers[more["id"]].items) == [f"outbox/{year_of_letters['waiting']}"]
        assert first["id"] in handovers


def test_a_supplement_needs_an_earlier_handover(db, gate, tmp_path, year_of_letters):
    with pytest.raises(Exception) as info:
        _export(db, gate, tmp_path, supplement=True)
    assert info.value.code == "NO_EARLIER_HANDOVER"


def test_years_later_a_signature_is_judged_as_of_its_first_acceptance(
        db, in_site, pki, tmp_path, tmp_path_factory, year_of_letters):
    """Three years on, the signers' certificates have expired and the trust directory holds no
    current CRL: every signature is still valid, judged as of the time the registry first
    accepted it, with the revocation data it kept then."""
    later = datetime.now(timezone.utc) + timedelta(days=3 * 365)
    folder = pki.write_trust_dir(tmp_path_factory.mktemp("no-crl"), include_crls=False)
    aged = Gate(GateConfig(trust_dir=str(folder)), clock=lambda: later)
    made = _export(db, aged, tmp_path)
    assert made["status"] == "made" and made["failed_checks"] == 0
    with in_site() as site:
        letter = site.orgs[SENDER]["outbox"][year_of_letters["done"][0]]
        first, exported = letter.verdicts[0], letter.verdicts[-1]
        assert exported["context"] == "export" and exported["accepted"]
        assert exported["checked_at"] == later.isoformat()
        assert exported["evidence"]["judged"] == {
            "basis": "first_acceptance", "at": first["checked_at"], "revocation_kept": 2}
        assert len(site.revocation_data) == 2
    # The same file with no evidence of the registry's, judged now: its certificate expired.
    bare = aged.verify(signed_pdf_bytes(pki), SENDER)
    assert bare.reasons == ("CERT_EXPIRED",)
    assert bare.evidence["judged"] == {"basis": "now", "at": later.isoformat()}


def test_years_later_the_recipients_letters_validate_and_the_package_names_the_time(
        db, in_site, pki, tmp_path, tmp_path_factory, year_of_letters):
    """The recipient's handover three years on: each registered letter is judged as of the
    registry's first acceptance of its bytes (the sender's signing, before the registration),
    and the package's signature report says so."""
    import json

    later = datetime.now(timezone.utc) + timedelta(days=3 * 365)
    folder = pki.write_trust_dir(tmp_path_factory.mktemp("no-crl"), include_crls=False)
    aged = Gate(GateConfig(trust_dir=str(folder)), clock=lambda: later)
    made = _export(db, aged, tmp_path, regno=RECIPIENT)
    assert made["status"] == "made" and made["failed_checks"] == 0
    with in_site() as site:
        handed = [d for d in site.orgs[RECIPIENT]["inbox"].values() if d.state == "handed_over"]
        first = {d.__name__: d.letter.verdicts[0]["checked_at"] for d in handed}
        assert all(first[d.__name__] < d.verdicts[0]["checked_at"] for d in handed)
    with zipfile.ZipFile(tmp_path / "package.zip") as package:
        reports = [json.loads(package.read(name)) for name in package.namelist()
                   if "/signature-reports/" in name]
    assert len(reports) == len(first) == 4
    for report in reports:
        export = report["checks"][-1]
        assert export["context"] == "export" and export["accepted"]
        judged = export["report"]["evidence"]["judged"]
        assert judged["basis"] == "first_acceptance"
        assert judged["at"] == first[report["letter"].split("/")[-1]]


def test_years_later_a_key_compromise_dated_before_the_first_acceptance_still_fails(
        db, in_site, pki, tmp_path, tmp_path_factory, year_of_letters):
    """A CRL published after the letters were accepted revokes the signer's certificate for
    key compromise as of an hour before: at the handover three years on, every letter signed
    with it fails (CERT_REVOKED), however well it was judged at the time."""
    with in_site() as site:
        accepted = min(datetime.fromisoformat(letter.verdicts[0]["checked_at"])
                       for letter in site.orgs[SENDER]["outbox"].values() if letter.verdicts)
    compromised = accepted - timedelta(hours=1)
    later_crl = pki.crl_der_with([(pki.org(SENDER), compromised)], accepted + timedelta(days=1),
                                 accepted + timedelta(days=8))
    folder = pki.write_trust_dir(tmp_path_factory.mktemp("compromised"), include_crls=False)
    (folder / "later.crl").write_bytes(later_crl)
    (folder / "root.crl").write_bytes(pki.root_crl_der())
    later = datetime.now(timezone.utc) + timedelta(days=3 * 365)
    made = _export(db, Gate(GateConfig(trust_dir=str(folder)), clock=lambda: later), tmp_path)
    assert made["status"] == "made" and made["failed_checks"] == 4
    with in_site() as site:
        record = site.orgs[SENDER]["handovers"][made["id"]]
        assert set(record.failed_checks.values()) == {("CERT_REVOKED",)}
        letter = site.orgs[SENDER]["outbox"][year_of_letters["done"][0]]
        assert letter.verdicts[-1]["evidence"]["revocation"]["reason"] == "keyCompromise"


def signed_pdf_bytes(pki):
    return pdfs.signed_letter(pki, SENDER)


def test_a_signature_that_no_longer_validates_is_recorded_and_goes(
        db, in_site, pki, tmp_path, tmp_path_factory, year_of_letters):
    # At export the trust directory no longer holds the CA the signers' certificates chain to.
    folder = tmp_path_factory.mktemp("other-ca")
    (folder / "root.pem").write_bytes(pki.other_root.cert_pem)
    stale = gate_for(folder)
    made = _export(db, stale, tmp_path)
    assert made["status"] == "made" and made["failed_checks"] == 4
    with in_site() as site:
        record = site.orgs[SENDER]["handovers"][made["id"]]
        assert set(record.failed_checks.values()) == {("UNTRUSTED_SIGNER",)}
        letter = site.orgs[SENDER]["outbox"][year_of_letters["done"][0]]
        assert letter.verdicts[-2]["accepted"], "the check at sending stays as it was"
        assert letter.verdicts[-1]["context"] == "export"
        assert letter.verdicts[-1]["reasons"] == ["UNTRUSTED_SIGNER"]
        assert letter.state == "handed_over"


def test_a_file_that_no_longer_matches_fails_the_export_and_nothing_is_handed_over(
        db, in_site, gate, tmp_path, year_of_letters):
    with in_site() as site:
        letter = site.orgs[SENDER]["outbox"][year_of_letters["done"][1]]
        path = letter.pdf.path()
    import os

    os.chmod(path, 0o644)
    data = bytearray(open(path, "rb").read())
    data[200] ^= 1
    open(path, "wb").write(bytes(data))
    with pytest.raises(Exception) as info:
        _export(db, gate, tmp_path)
    assert info.value.code == "ARCHIVE_PDF_MISMATCH"
    assert not (tmp_path / "package.zip").exists()
    with in_site() as site:
        org = site.orgs[SENDER]
        (record,) = org["handovers"].values()
        assert record.status == "failed" and record.error_code == "ARCHIVE_PDF_MISMATCH"
        assert all(item.state != "handed_over" for item in org["outbox"].values())
    with pytest.raises(Exception) as info:  # the failed attempt does not block a new one
        _export(db, gate, tmp_path, name="second.zip")
    assert info.value.code == "ARCHIVE_PDF_MISMATCH"


def test_the_recipient_hands_over_its_incoming_letters(db, in_site, gate, tmp_path,
                                                        year_of_letters):
    made = _export(db, gate, tmp_path, regno=RECIPIENT)
    assert (made["incoming"], made["outgoing"]) == (4, 0)
    with in_site() as site:
        inbox = site.orgs[RECIPIENT]["inbox"]
        states = sorted(d.state for d in inbox.values())
        assert states.count("handed_over") == 4
        delivery = next(d for d in inbox.values() if d.state == "handed_over")
        assert [v.get("context") for v in delivery.verdicts] == [None, "export"]
        # The sender's letters are untouched by the recipient's handover.
        assert delivery.letter.state == "received"


# The web UI ---------------------------------------------------------------------------------

def _wait(testapp, record_url, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        progress = testapp.get(record_url + "@@progress", headers=JSON).json
        if progress["status"] != "building":
            return progress
        time.sleep(0.2)
    raise AssertionError("the export did not finish")


@pytest.mark.both_stores
def test_records_manager_previews_produces_downloads_and_confirms(testapp, in_site,
                                                                   year_of_letters):
    login(testapp, "rm_a")
    page = testapp.get(f"/orgs/{SENDER}/handovers/")
    assert page.html.find(id="no-handovers") is not None
    form = page.forms["selection-form"]
    form["year"] = str(YEAR)
    preview = form.submit()
    assert preview.html.find(id="count-total")["data-count"] == "4"
    assert preview.html.find(id="count-open")["data-count"] == "1"
    assert preview.html.find(id="count-temporary")["data-count"] == "1"
    assert preview.html.find(id="open-letters").find("tr", attrs={"data-key": True})
    export = preview.forms["export-form"]
    export["act_number"] = "Б-3"
    export["fond_reference"] = "Ф-12"
    made = export.submit("export", status=303)
    record_url = made.location.replace("http://registry.test", "")
    progress = _wait(testapp, record_url)
    assert progress["status"] == "made" and progress["percent"] == 100
    page = testapp.get(record_url)
    assert page.html.find(id="handover-status")["data-status"] == "made"
    assert page.html.find(id="handover-letters")["data-count"] == "4"
    sha = page.html.find(id="handover-sha256").text.strip()
    package = testapp.get(record_url + "@@package")
    assert package.content_type == "application/zip"
    assert hashlib.sha256(package.body).hexdigest() == sha
    form = page.forms["receipt-form"]
    form["received_by"] = "Д. Болд, архивч"
    form["received_at"] = "2026-02-01"
    done = form.submit(status=303).follow()
    assert "Д. Болд" in done.html.find(id="receipt").text
    assert done.html.find(id="receipt-form") is None
    # A second confirmation is refused; the list shows the record.
    testapp.post(record_url + "@@receipt", {"csrf_token": csrf_token(done),
                                            "received_by": "x"}, status=409)
    listing = testapp.get(f"/orgs/{SENDER}/handovers/")
    assert listing.html.find(id="handovers").find("tr", attrs={"data-status": "made"})
    with in_site() as site:
        record = next(iter(site.orgs[SENDER]["handovers"].values()))
        assert record.received_by == "Д. Болд, архивч" and record.act_number == "Б-3"
        # Kept in the store, so that every app machine serves it; no copy left on this one.
        assert record.package is not None and not os.path.exists(record.package_path)
        actions = [r.action for r in site.audit.newest(0, 50, org=SENDER)[0]]
        assert "handover.receipt" in actions
    # The same selection again: the preview names the refusal and offers no form.
    again = testapp.get(f"/orgs/{SENDER}/handovers/@@preview", {"year": str(YEAR)})
    assert again.html.find(id="refusal")["data-code"] == "ALREADY_HANDED_OVER"
    assert "export-form" not in again.forms


def test_the_export_form_needs_a_csrf_token(login_as, year_of_letters):
    app = login_as("rm_a")
    app.post(f"/orgs/{SENDER}/handovers/@@export", {"year": str(YEAR)}, status=400)


@pytest.mark.parametrize("who", ["rm_b", "aud_b", "biz_c"])
def test_other_organisations_get_404_on_handovers(testapp, db, gate, tmp_path, who,
                                                  year_of_letters):
    made = _export(db, gate, tmp_path)
    base = f"/orgs/{SENDER}/handovers/"
    login(testapp, who)
    for url in (base, base + made["id"], base + made["id"] + "/@@progress",
                base + made["id"] + "/@@package", base + "@@preview?year=2025",
                base + "@@retention"):
        testapp.get(url, status=404)
    page = testapp.get("/")
    testapp.post(base + "@@export", {"csrf_token": csrf_token(page), "year": "2025"},
                 status=404)
    testapp.get(base, headers=JSON, status=404)


def test_members_see_handovers_but_only_the_records_manager_makes_them(
        login_as, db, gate, tmp_path, year_of_letters):
    made = _export(db, gate, tmp_path)
    app = login_as("aud_a")
    page = app.get(f"/orgs/{SENDER}/handovers/")
    assert "selection-form" not in page.forms
    app.get(f"/orgs/{SENDER}/handovers/{made['id']}")
    app.get(f"/orgs/{SENDER}/handovers/@@preview?year=2025", status=403)
    app.get(f"/orgs/{SENDER}/handovers/{made['id']}/@@package", status=403)
    app.get(f"/orgs/{SENDER}/handovers/@@retention", status=403)
    listed = app.get(f"/orgs/{SENDER}/handovers/", headers=JSON).json
    assert listed["items"][0]["sha256"] == made["sha256"]


# The command line ---------------------------------------------------------------------------

@pytest.fixture
def cli(settings, monkeypatch, trust_dir, db, year_of_letters):
    """The `registry` command on the test store (closed by the app first)."""
    from registry.cli import main

    db.close()
    store = settings["zodbconn.uri"]
    monkeypatch.setenv("REGISTRY_TRUST_DIR", str(trust_dir))
    ini = settings_ini(settings, store)
    runner = CliRunner()

    def invoke(*args):
        return runner.invoke(main, ["-c", ini, *args], catch_exceptions=False)

    return invoke


def settings_ini(settings, store):
    import os
    import tempfile

    folder = tempfile.mkdtemp(prefix="registry-cli-")
    path = os.path.join(folder, "test.ini")
    with open(path, "w") as handle:
        handle.write("[app:main]\nuse = egg:registry\n"
                     f"zodbconn.uri = {store}\n"
                     f"registry.data_dir = {settings['registry.data_dir']}\n"
                     f"registry.session_secret = {settings['registry.session_secret']}\n")
    return path


def test_cli_previews_exports_lists_and_refuses(cli, tmp_path):
    shown = cli("handover", "preview", "--org", SENDER, "--year", str(YEAR))
    assert shown.exit_code == 0 and "to hand over:          4 letters" in shown.output
    dry = cli("handover", "export", "--org", SENDER, "--year", str(YEAR), "--dry-run")
    assert dry.exit_code == 0 and "nothing was changed" in dry.output
    out = tmp_path / "cli.zip"
    made = cli("handover", "export", "--org", SENDER, "--year", str(YEAR), "--act-number", "7",
               "--fond", "Ф-12", "--out", str(out))
    assert made.exit_code == 0, made.output + made.stderr
    assert "4 letters" in made.output and out.is_file()
    assert hashlib.sha256(out.read_bytes()).hexdigest() in made.output
    listed = cli("handover", "list", "--org", SENDER)
    assert "NEW" in listed.output and "made" in listed.output
    again = cli("handover", "export", "--org", SENDER, "--year", str(YEAR), "--out",
                str(tmp_path / "again.zip"))
    assert again.exit_code == 1 and "[ALREADY_HANDED_OVER]" in again.stderr
    handover_id = cli("handover", "list", "--org", SENDER, "--json")
    import json

    record = json.loads(handover_id.stdout)[0]
    confirmed = cli("handover", "confirm", "--org", SENDER, record["id"], "--received-by",
                    "Архивч Сараа")
    assert confirmed.exit_code == 0
    twice = cli("handover", "confirm", "--org", SENDER, record["id"], "--received-by", "x")
    assert twice.exit_code == 1 and "[ALREADY_RECEIVED]" in twice.stderr


@pytest.mark.parametrize("args", [
    ["handover", "export", "--org", SENDER, "--year", "20x5", "--out", "x.zip"],
    ["handover", "export", "--year", "2025", "--out", "x.zip"],
    ["handover", "export", "--org", SENDER, "--year", "2025"],
    ["handover", "export", "--org", SENDER, "--year", "1700", "--dry-run"],
    ["handover", "preview", "--org", SENDER],
    ["handover", "list"],
    ["handover", "confirm", "--org", SENDER, "some-id"],
    ["retention", "set", "--org", SENDER, "--series", "01"],
    ["disposal", "approve", "--org", SENDER, "--series", "09", "--year", "soon"],
])
def test_cli_wrong_arguments_exit_2(cli, args):
    result = cli(*args)
    assert result.exit_code == 2, result.output


@pytest.mark.parametrize("args, code", [
    (["handover", "export", "--org", "9999999", "--year", "2025", "--dry-run"], "UNKNOWN_ORG"),
    (["handover", "export", "--org", SENDER, "--year", "2025", "--series", "09", "--dry-run"],
     "SERIES_TEMPORARY"),
    (["handover", "export", "--org", SENDER, "--year", "2024", "--dry-run"],
     "NOTHING_TO_HAND_OVER"),
    (["handover", "export", "--org", SENDER, "--year", "2025", "--supplement", "--dry-run"],
     "NO_EARLIER_HANDOVER"),
    (["handover", "confirm", "--org", SENDER, "nope", "--received-by", "x"],
     "UNKNOWN_HANDOVER"),
    (["retention", "set", "--org", SENDER, "--series", "01", "--retention", "forever"],
     "INVALID_RETENTION"),
])
def test_cli_refusals_exit_1_with_their_code(cli, args, code):
    result = cli(*args)
    assert result.exit_code == 1 and f"[{code}]" in result.stderr, result.stderr


def test_the_json_api_previews_and_exports(testapp, api, year_of_letters):
    headers = api("rm_a")
    base = f"/orgs/{SENDER}/handovers/"
    shown = testapp.get(base + "@@preview", {"year": str(YEAR)}, headers=headers).json
    assert (shown["letters"], shown["open"], shown["temporary"]) == (4, 1, 1)
    assert shown["refusal"] is None
    bad = testapp.post_json(base + "@export", {"year": YEAR}, headers=headers, status=400).json
    assert bad["error"]["code"] == "FOND_REQUIRED"
    started = testapp.post_json(base + "@export", {"year": YEAR, "fond_reference": "Ф-12",
                                                   "act_number": "API-1"},
                                headers=headers, status=202).json
    assert started["status"] == "building" and started["total"] == 4
    record_url = started["@id"].replace("http://registry.test", "")
    deadline = time.monotonic() + 60
    while testapp.get(record_url, headers=headers).json["status"] == "building":
        assert time.monotonic() < deadline
        time.sleep(0.2)
    record = testapp.get(record_url, headers=headers).json
    assert record["status"] == "made" and record["letters"] == 4
    again = testapp.get(base + "@@preview", {"year": str(YEAR)}, headers=headers).json
    assert again["refusal"]["code"] == "ALREADY_HANDED_OVER" and again["handed_over"] == 4
    testapp.post_json(base + "@export", {"year": YEAR}, headers=api("aud_a"), status=403)


def test_a_handover_left_by_a_process_that_ended_does_not_block_the_year(
        db, in_site, gate, tmp_path, year_of_letters):
    from datetime import datetime, timedelta, timezone

    with in_site() as site:
        request = ho.ExportRequest(SENDER, YEAR, actor="rm_a", fond_reference="Ф-12")
        left = ho.start(site, request)
        left_id = left.__name__
    with pytest.raises(Exception) as info:  # while it may still be running
        _export(db, gate, tmp_path)
    assert info.value.code == "EXPORT_RUNNING"
    with in_site() as site:
        site.orgs[SENDER]["handovers"][left_id].heartbeat -= ho.STALE + timedelta(minutes=1)
    made = _export(db, gate, tmp_path)
    assert made["status"] == "made" and made["letters"] == 4
    with in_site() as site:
        left = site.orgs[SENDER]["handovers"][left_id]
        assert (left.status, left.error) == ("failed", "interrupted")
        assert left.stale(datetime.now(timezone.utc)) is False


def test_a_handover_stopped_while_handing_over_is_finished_by_resume(
        db, in_site, gate, tmp_path, year_of_letters):
    from datetime import timedelta

    def stop_after_the_first_batch(phase, done, total):
        if phase == "handing_over":
            raise KeyboardInterrupt

    request = ho.ExportRequest(SENDER, YEAR, actor="rm_a", fond_reference="Ф-12",
                               out=str(tmp_path / "p.zip"))
    with pytest.raises(KeyboardInterrupt):
        ho.export(db, request, gate, {}, batch=2, progress=stop_after_the_first_batch)
    with in_site() as site:
        (record,) = site.orgs[SENDER]["handovers"].values()
        assert (record.status, record.phase) == ("building", "handing_over")
        assert record.sha256 and (tmp_path / "p.zip").is_file()
        states = [site.orgs[SENDER]["outbox"][k.split("/")[1]].state for k in record.items]
        assert states.count("handed_over") == 2, "the first batch of two"
        record.worker = "another-machine:4242"  # whose lease still holds
        record_id = record.__name__
    with pytest.raises(RegistryError) as running:
        ho.resume(db, SENDER, record_id)
    assert running.value.code == "HANDOVER_RUNNING"
    with in_site() as site:
        record = site.orgs[SENDER]["handovers"][record_id]
        record.heartbeat -= ho.STALE + timedelta(minutes=1)  # its process ended
    with pytest.raises(Exception) as info:
        _export(db, gate, tmp_path, name="other.zip")
    assert info.value.code == "HANDOVER_INTERRUPTED"
    made = ho.resume(db, SENDER, record_id)
    assert made["status"] == "made" and made["letters"] == 4
    with in_site() as site:
        outbox = site.orgs[SENDER]["outbox"]
        assert sum(letter.state == "handed_over" for letter in outbox.values()) == 4


def test_cli_exports_to_a_directory_a_bag_named_after_the_package(cli, tmp_path):
    import json

    made = cli("handover", "export", "--org", SENDER, "--year", str(YEAR), "--fond", "Ф-12",
               "--out", str(tmp_path / "bags"), "--json")
    assert made.exit_code == 0, made.stderr
    record = json.loads(made.stdout)
    bag = tmp_path / "bags" / record["package_id"]
    assert record["path"] == str(bag) and (bag / "bagit.txt").is_file()
    assert record["sha256"] == hashlib.sha256(
        (bag / "tagmanifest-sha256.txt").read_bytes()).hexdigest()
