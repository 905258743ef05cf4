"""The public verification code (issue #14): what /verify/<code> shows and what it must not,
HTML and JSON, a wrong code, a file compared, the rate limit, the audit, the QR code."""
import re

import pytest

import pdfs
from conftest import JSON, csrf_token, generations_after, login, send_letter
from registry import verification

SUBJECT = "Нууц хурлын тэмдэглэл"
SENDER, RECIPIENT = "1000001", "1000002"


@pytest.fixture
def signed_pdf(pki):
    return pdfs.signed_letter(pki, SENDER)


@pytest.fixture
def sent(testapp, api, signed_pdf):
    """A sent letter: (its path, its JSON as the sender sees it)."""
    headers = api("rm_a")
    path = send_letter(testapp, headers, signed_pdf, subject=SUBJECT)
    return path, testapp.get(path, headers=headers).json


def public(testapp):
    """The same application, as a visitor who never signed in."""
    testapp.reset()
    return testapp


def lookups(in_site):
    with in_site() as site:
        return [(r.action, r.detail, r.org) for r in reversed(site.audit.newest(0, 50)[0])
                if r.action.startswith("verify.")]


def test_a_sent_letter_has_a_code_and_an_absolute_url(sent):
    _path, body = sent
    code = body["verification_code"]
    assert re.fullmatch(r"[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}",
                        code)
    assert body["verification_url"] == f"http://registry.test/verify/{code}"


def test_the_public_json_tells_the_facts_and_nothing_else(testapp, sent, signed_pdf):
    import hashlib

    _path, letter = sent
    body = public(testapp).get(f"/verify/{letter['verification_code']}", headers=JSON).json
    assert set(body) == {"code", "outgoing_number", "date", "sent_at", "sender", "recipients",
                         "sha256", "signature", "withdrawn", "withdrawn_at"}
    assert body["outgoing_number"] == letter["outgoing_number"] == "01/1"
    assert body["sender"]["regno"] == SENDER and body["sender"]["name"].startswith("Нийслэлийн")
    assert [party["regno"] for party in body["recipients"]] == [RECIPIENT]
    assert body["sha256"] == hashlib.sha256(signed_pdf).hexdigest()
    assert body["signature"]["accepted"] is True
    assert body["signature"]["checked_at"] == letter["signature"]["checked_at"]
    assert body["withdrawn"] is False
    text = str(body)
    for secret in (SUBJECT, letter["pdf"]["filename"], letter["id"], "rm_a",
                   "Signature1"):
        assert secret not in text


def test_the_public_page_is_html_in_mongolian_and_never_shows_the_subject(testapp, sent):
    _path, letter = sent
    page = public(testapp).get(f"/verify/{letter['verification_code']}")
    assert page.content_type == "text/html"
    assert page.html.find(id="verify-number").text == "01/1"
    assert page.html.find(id="verify-signature")["data-accepted"] == "yes"
    assert "Бичгийн баталгаажуулалт" in page.text
    assert SUBJECT not in page.text and "Хурлын" not in page.text
    assert letter["id"] not in page.text and "/orgs/" not in page.text
    english = testapp.get(f"/verify/{letter['verification_code']}",
                          headers={"Cookie": "_LOCALE_=en"})
    assert "Letter verification" in english.text


def test_a_code_is_read_as_a_person_types_it(testapp, sent):
    code = sent[1]["verification_code"]
    typed = code.lower().replace("-", " ").replace("0", "o").replace("1", "l")
    found = public(testapp).get("/verify", {"code": typed}, status=302)
    assert found.location == f"http://registry.test/verify/{code}"
    assert testapp.get(found.location, headers=JSON).json["code"] == code


def test_the_bare_page_asks_for_a_code(testapp):
    app = public(testapp)
    assert app.get("/verify").html.find(id="verify-code-form") is not None
    assert app.get("/verify", headers=JSON, status=400).json["error"]["code"] == "CODE_REQUIRED"


def test_a_wrong_code_is_404_and_says_nothing_more(testapp, sent, in_site):
    app = public(testapp)
    for wrong in ("ZZZZ-ZZZZ-ZZZZ", "not-a-code", "' OR 1=1"):
        body = app.get(f"/verify/{wrong}", headers=JSON, status=404).json
        assert body == {"error": {"code": "NOT_FOUND",
                                  "message": "Энэ баталгаажуулах кодтой бичиг байхгүй."}}
    page = app.get("/verify/ZZZZ-ZZZZ-ZZZZ", status=404)
    assert page.html.find(id="verify-message").text == "Энэ баталгаажуулах кодтой бичиг байхгүй."
    assert page.html.find(id="verify-facts") is None
    assert [(a, d["code"], d["outcome"]) for a, d, _org in lookups(in_site)] == [
        ("verify.lookup", "ZZZZ-ZZZZ-ZZZZ", "unknown"), ("verify.lookup", "not-a-code", "unknown"),
        ("verify.lookup", "' OR 1=1", "unknown"), ("verify.lookup", "ZZZZ-ZZZZ-ZZZZ", "unknown")]


def test_a_draft_or_signed_letters_code_answers_nothing_before_it_is_sent(testapp, in_site):
    from registry import exchange

    with in_site() as site:
        letter = exchange.create_draft(site, "rm_a", site.orgs[SENDER], subject="x",
                                       recipients=[RECIPIENT])
        code = site.verification.allocate(letter)
    public(testapp).get(f"/verify/{verification.display(code)}", headers=JSON, status=404)


def test_a_file_is_compared_byte_for_byte_and_never_kept(testapp, sent, signed_pdf, in_site):
    code = sent[1]["verification_code"]
    app = public(testapp)
    same = app.post(f"/verify/{code}", upload_files=[("file", "copy.pdf", signed_pdf)],
                    headers=JSON)
    assert same.json == {"match": True}
    other = app.post(f"/verify/{code}", upload_files=[("file", "copy.pdf", signed_pdf + b" ")],
                     headers=JSON)
    assert other.json == {"match": False}
    page = app.post(f"/verify/{code}", upload_files=[("file", "x.pdf", b"%PDF-1.7 other")])
    outcome = page.html.find(id="verify-outcome")
    assert (outcome["data-outcome"], outcome.text) == ("no_match", "Файл таарахгүй байна.")
    assert [(a, d["outcome"]) for a, d, _org in lookups(in_site)] == [
        ("verify.compare", "match"), ("verify.compare", "no_match"),
        ("verify.compare", "no_match")]
    with in_site() as site:
        assert "copy.pdf" not in str([vars(r) for r in site.audit.newest(0, 20)[0]])


def sent_in(settings, in_site_for, pki):
    """(TestApp, in_site, code) of an app built from `settings` with one letter sent."""
    app, in_site = in_site_for(settings)
    headers = {**JSON, "Authorization": "Bearer " + _token(in_site)}
    path = send_letter(app, headers, pdfs.signed_letter(pki, SENDER))
    code = app.get(path, headers=headers).json["verification_code"]
    app.reset()
    return app, in_site, code


def test_a_file_over_the_upload_limit_is_refused_unread(settings, in_site_for, pki):
    settings["registry.signature.max_size_mb"] = "0.05"  # 50 KB: the signed letter fits
    app, _in_site, code = sent_in(settings, in_site_for, pki)
    refused = app.post(f"/verify/{code}", upload_files=[("file", "big.pdf", b"x" * 60000)],
                       headers=JSON, status=413)
    assert refused.json["error"]["code"] == "TOO_LARGE"
    missing = app.post(f"/verify/{code}", {"nothing": "here"}, headers=JSON, status=400,
                       content_type="multipart/form-data")
    assert missing.json["error"]["code"] == "FILE_REQUIRED"
    not_a_form = app.post(f"/verify/{code}", {"file": "x"}, headers=JSON, status=415)
    assert not_a_form.json["error"]["code"] == "UNSUPPORTED_MEDIA_TYPE"


def test_lookups_are_rate_limited_per_address_and_the_clock_frees_them(settings, in_site_for,
                                                                       pki):
    from registry.verification import IVerifyThrottle

    settings["registry.verify.limit"] = "3"
    app, in_site, code = sent_in(settings, in_site_for, pki)
    clock = [1_000_000.0]
    throttle = app.app.registry.getUtility(IVerifyThrottle)
    throttle.clock = lambda: clock[0]
    for _ in range(3):
        app.get(f"/verify/{code}", headers=JSON, extra_environ={"REMOTE_ADDR": "203.0.113.5"})
    refused = app.get(f"/verify/{code}", headers=JSON, status=429,
                      extra_environ={"REMOTE_ADDR": "203.0.113.5"})
    assert refused.json["error"]["code"] == "TOO_MANY_LOOKUPS"
    assert int(refused.headers["Retry-After"]) > 0
    # Another address is not held back; wrong codes count too.
    app.get("/verify/ZZZZ-ZZZZ-ZZZZ", headers=JSON, status=404,
            extra_environ={"REMOTE_ADDR": "203.0.113.6"})
    clock[0] += 601
    app.get(f"/verify/{code}", headers=JSON, extra_environ={"REMOTE_ADDR": "203.0.113.5"})
    found = [d["address"] for a, d, _org in lookups(in_site)]
    assert found == ["203.0.113.5"] * 3 + ["203.0.113.6", "203.0.113.5"]


def _token(in_site):
    with in_site() as site:
        token, _ = site.users.issue_token(site.users["rm_a"])
    return token


def test_lookups_are_audited_with_the_senders_organisation(testapp, sent, in_site):
    code = sent[1]["verification_code"]
    public(testapp).get(f"/verify/{code}")
    ((action, detail, org),) = lookups(in_site)
    assert (action, detail["code"], detail["outcome"], org) == (
        "verify.lookup", code, "found", SENDER)


def test_a_withdrawn_letter_is_shown_as_withdrawn_with_the_time(testapp, sent, api):
    path, letter = sent
    testapp.post_json(path + "@workflow/withdraw", {"comment": "Алдаа"}, headers=api("rm_a"))
    body = public(testapp).get(f"/verify/{letter['verification_code']}", headers=JSON).json
    assert body["withdrawn"] is True and body["withdrawn_at"] > letter["sent_at"]
    page = testapp.get(f"/verify/{letter['verification_code']}")
    assert page.html.find(id="verify-withdrawn") is not None
    assert "Алдаа" not in page.text


def test_parties_see_the_code_and_its_qr_code_which_decodes_to_the_url(testapp, sent):
    import segno

    path, letter = sent
    login(testapp, "rm_b")
    delivery = testapp.get(f"/orgs/{RECIPIENT}/inbox", headers=JSON).json["items"][0]["@id"]
    page = testapp.get(delivery)
    assert page.html.find(id="verification-code").text == letter["verification_code"]
    assert page.html.find(id="verification-url")["href"] == letter["verification_url"]
    svg = testapp.get(page.html.find(id="verification-qr")["src"])
    assert svg.content_type == "image/svg+xml"
    assert letter["verification_url"] in svg.text
    png = testapp.get(delivery + "verification-qr.png")
    expected = segno.make_qr(letter["verification_url"], error="m")
    assert png.body == verification.qr_png(letter["verification_url"])
    assert expected.designator == verification.qr(letter["verification_url"]).designator
    # An outsider (another organisation) gets 404 for the QR code of a letter not theirs.
    login(testapp, "biz_c")
    testapp.get(path + "verification-qr.svg", status=404)


def test_a_sent_letter_before_generation_15_gets_its_code_by_the_evolve_step(testapp, sent,
                                                                            in_site):
    import importlib

    evolve = importlib.import_module("registry.resources.evolve")
    with in_site() as site:
        (letter,) = [item for item in site.orgs[SENDER]["outbox"].values() if item.sent_at]
        del site.verification  # as it was before generation 15
        del letter.verification_code
        site.generation = 12
        assert evolve.evolve(site) == generations_after(12)
        code = verification.normalise(verification.code_of(letter))
        assert len(code) == 12 and site.verification.get(code) is letter


def test_the_records_manager_sets_the_stamp_for_the_organisation(testapp, in_site, api):
    login(testapp, "rm_a")
    page = testapp.get(f"/orgs/{SENDER}/")
    form = page.forms["stamp-setting"]
    form["stamp_verification"] = True
    form.submit(status=302)
    with in_site() as site:
        assert site.orgs[SENDER].stamp_verification is True
        assert [r.detail for r in site.audit.newest(0, 5)[0] if r.action == "org.settings"] == [
            {"stamp_verification": True}]
    body = testapp.patch_json(f"/orgs/{SENDER}/@settings", {"stamp_verification": False},
                              headers=api("rm_a")).json
    assert body["stamp_verification"] is False
    testapp.patch_json(f"/orgs/{SENDER}/@settings", {"stamp_verification": "yes"},
                       headers=api("rm_a"), status=400)
    testapp.patch_json(f"/orgs/{SENDER}/@settings", {"stamp_verification": True},
                       headers=api("clerk_a"), status=403)


from test_token import PIN, token, unsigned_draft  # noqa: E402,F401 (the SoftHSM token fixture)


def test_a_draft_signed_on_the_server_carries_its_code_passes_the_gate_and_keeps_it_to_send(
        settings, token, in_site_for, pki):
    from io import BytesIO

    from pyhanko.pdf_utils.reader import PdfFileReader

    settings["registry.pkcs11.module"] = token.module
    settings["registry.pkcs11.softhsm2_conf"] = token.softhsm2_conf
    app, in_site = in_site_for(settings)
    with in_site() as site:
        site.orgs[SENDER].stamp_verification = True
    login(app, "sign_a")
    path = unsigned_draft(in_site)
    page = app.get(path)
    assert page.html.find(id="stamp_verification").has_attr("checked")
    app.post(path + "@@sign-with-token", {"csrf_token": csrf_token(page), "pin": PIN,
                                          "stamp_verification": "1"}, status=302)
    with in_site() as site:
        letter = site.orgs[SENDER]["outbox"][path.split("/")[-2]]
        assert letter.state == "signed" and letter.verdicts[-1]["accepted"]
        assert letter.verdicts[-1]["reasons"] == []
        code = verification.display(letter.verification_code)
        signed = letter.pdf.read()
    reader = PdfFileReader(BytesIO(signed))
    assert len(reader.embedded_signatures) == 1
    url = f"http://registry.test/verify/{code}"
    assert _page_text(signed).endswith(f"Code: {code}\nVerify: {url}")
    # Not public before it is sent; sent, the same code answers.
    app.reset()
    app.get(f"/verify/{code}", headers=JSON, status=404)
    login(app, "rm_a")
    app.post(path + "@@workflow", {"csrf_token": csrf_token(app.get(path)),
                                   "transition": "send"}, status=302)
    app.reset()
    assert app.get(f"/verify/{code}", headers=JSON).json["outgoing_number"] == "01/1"
    assert app.post(f"/verify/{code}", upload_files=[("file", "l.pdf", signed)],
                    headers=JSON).json == {"match": True}


def test_without_the_choice_the_signed_letter_is_not_stamped(settings, token, in_site_for):
    settings["registry.pkcs11.module"] = token.module
    settings["registry.pkcs11.softhsm2_conf"] = token.softhsm2_conf
    app, in_site = in_site_for(settings)
    login(app, "sign_a")
    path = unsigned_draft(in_site)
    page = app.get(path)
    assert not page.html.find(id="stamp_verification").has_attr("checked")
    app.post(path + "@@sign-with-token", {"csrf_token": csrf_token(page), "pin": PIN},
             status=302)
    with in_site() as site:
        letter = site.orgs[SENDER]["outbox"][path.split("/")[-2]]
        assert letter.verification_code is None
        assert "Verify:" not in _page_text(letter.pdf.read())


def _page_text(data):
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(data)
    text = document[len(document) - 1].get_textpage().get_text_range()
    return text.replace("\r\n", "\n").strip()


def test_the_qr_code_matrix_holds_the_url():
    """zbar is not installed: the QR code is checked against segno's own encoding of the URL,
    module for module, and its SVG carries the URL as its title."""
    import segno

    url = "https://registry.example.mn/verify/ABCD-EFGH-JKMN"
    made = verification.qr(url)
    assert made.matrix == segno.make_qr(url, error="m").matrix
    assert made.mode == "byte" and made.error == "M"
    assert f"<title>{url}</title>" in verification.qr_svg(url).decode()
