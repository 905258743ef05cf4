"""Joining with a certificate, end to end with the test PKI and a real SMTP server: a business
downloads its form, signs it, uploads it; the registry checks it with the gate and the form's
one-time code, opens the organisation and its account, and mails a link that sets the
password. Time moves by the application's clock."""
import re
from datetime import datetime, timedelta, timezone

import pdfs
import pytest
from click.testing import CliRunner

from conftest import csrf_token, generations_after, login
from test_mail import PUBLIC, mail_settings, smtp  # noqa: F401  (aiosmtpd, mail settings)

NEW = "5550001"
OTHER = "5550002"
NAME = "Шинэ гэрэл ХХК"
JSON = {"Accept": "application/json"}


@pytest.fixture
def app(in_site_for, mail_settings):  # noqa: F811
    return in_site_for(mail_settings)


@pytest.fixture
def testapp(app):
    return app[0]


def form_for(testapp, regno, status=200):
    return testapp.get(f"/@join/form?regno={regno}", status=status)


def signed_form(testapp, pki, regno, signer=None, **org):
    """Download the form for `regno` and sign it with `signer` (default: regno's own
    certificate, made with `org` options); return (signed bytes, code)."""
    response = form_for(testapp, regno)
    identity = signer or pki.org(regno, name=NAME, **org)
    return pdfs.sign(response.body, identity), response.headers["X-Registry-Join-Code"]


def upload(testapp, data, status, email="dorj@gerel.mn", name="Дорж Бат"):
    return testapp.post("/@join", {"contact_name": name, "email": email},
                        upload_files=[("file", "form.pdf", data, "application/pdf")],
                        headers=JSON, status=status)


def link_in(smtp, address):  # noqa: F811
    [(to, message)] = [m for m in smtp.messages if m[0] == [address]]
    match = re.search(re.escape(PUBLIC) + r"(/@@set-password/[\w-]+)/", message.get_content())
    assert match, message.get_content()
    return match.group(1)


def set_password(testapp, path, password="new-secret-pass-1"):
    page = testapp.get(path)
    form = page.forms["set-password-form"]
    form["password"] = password
    form["password_confirm"] = password
    return form.submit("save", status=302)


def test_a_business_joins_with_its_certificate_and_sets_its_password(testapp, app, pki, smtp):  # noqa: F811
    _testapp, in_site = app
    response = form_for(testapp, NEW)
    assert response.content_type == "application/pdf"
    assert response.headers["X-Registry-Regno"] == NEW
    assert response.headers["X-Registry-Join-Purpose"] == "join"
    code = response.headers["X-Registry-Join-Code"]
    assert re.fullmatch(r"[A-Z2-7]{4}(-[A-Z2-7]{4}){3}", code)
    data = pdfs.sign(response.body, pki.org(NEW, name=NAME))
    joined = upload(testapp, data, 201).json
    assert joined["@id"] == f"http://registry.test/orgs/{NEW}/"
    assert (joined["regno"], joined["name"], joined["kind"]) == (NEW, NAME, "business")
    assert (joined["outcome"], joined["login"]) == ("joined", NEW)
    with in_site() as site:
        [user] = site.users.for_org(NEW)
        assert (user.fullname, user.email, user.roles) == (
            "Дорж Бат", "dorj@gerel.mn", ("records_manager", "signatory"))
        assert site.join_codes.get(code).used is not None
    # No password works until the contact sets one by the mailed link.
    login(testapp, NEW, "", status=400)
    path = link_in(smtp, "dorj@gerel.mn")
    home = set_password(testapp, path).follow()
    assert NAME in home.text
    testapp.post("/@@logout", {"csrf_token": csrf_token(home)})
    login(testapp, NEW, "new-secret-pass-1")
    # The link served once.
    testapp.get(path, status=404)


def test_the_site_administrator_sees_the_join_in_the_audit_trail(testapp, app, pki, smtp):  # noqa: F811
    _testapp, in_site = app
    data, code = signed_form(testapp, pki, NEW)
    upload(testapp, data, 201)
    with in_site() as site:
        records = audit_records(site)
    actions = [r.action for r in records if r.org == NEW or r.target == f"/orgs/{NEW}"]
    assert actions == ["join.form", "org.register", "account.create", "org.join"]
    joined = [r for r in records if r.action == "org.join"][0]
    assert joined.detail["code"] == code[:4] and code not in str(joined.detail)
    assert joined.detail["certificate"]["serial"] == format(
        pki.org(NEW, name=NAME).cert.serial_number, "x")


@pytest.mark.parametrize("make, reason", [
    (lambda pki: pki.org(NEW, untrusted=True), "UNTRUSTED_SIGNER"),
    (lambda pki: pki.org("1000001", revoked=True), "CERT_REVOKED"),
])
def test_a_form_the_gate_refuses_opens_nothing(testapp, app, pki, smtp, make, reason):  # noqa: F811
    _testapp, in_site = app
    data, _code = signed_form(testapp, pki, NEW, signer=make(pki))
    body = upload(testapp, data, 422).json
    assert body["error"]["code"] == "JOIN_SIGNATURE_REFUSED"
    assert [r["code"] for r in body["reasons"]] == [reason]
    with in_site() as site:
        assert NEW not in site.orgs
    assert smtp.messages == []


def test_two_signatures_are_refused(testapp, pki, smtp):  # noqa: F811
    response = form_for(testapp, NEW)
    ident = pki.org(NEW, name=NAME)
    data = pdfs.sign(pdfs.sign(response.body, ident), ident, field_name="Signature2")
    body = upload(testapp, data, 422).json
    assert [r["code"] for r in body["reasons"]] == ["MULTIPLE_SIGNATURES"]


def test_a_code_added_after_signing_does_not_count(testapp, pki, smtp):  # noqa: F811
    """A letter the business signed earlier, with a fresh code added after: refused."""
    code = form_for(testapp, NEW).headers["X-Registry-Join-Code"]
    data = pdfs.sign(pdfs.letter_pdf("Өргөдөл"), pki.org(NEW, name=NAME))
    body = upload(testapp, data + f"\n% {code}\n".encode(), 422).json
    assert body["error"]["code"] == "JOIN_SIGNATURE_REFUSED"
    clean = upload(testapp, data, 422).json
    assert clean["error"]["code"] == "JOIN_CODE_MISSING"


def test_a_form_signed_for_another_number_is_refused(testapp, app, pki, smtp):  # noqa: F811
    _testapp, in_site = app
    data, _code = signed_form(testapp, pki, OTHER, signer=pki.org(NEW, name=NAME))
    body = upload(testapp, data, 422).json
    assert body["error"]["code"] == "JOIN_CODE_OTHER_ORG"
    assert OTHER in body["error"]["message"] and NEW in body["error"]["message"]
    with in_site() as site:
        assert NEW not in site.orgs and OTHER not in site.orgs


def test_a_code_serves_once(testapp, pki, smtp):  # noqa: F811
    data, _code = signed_form(testapp, pki, NEW)
    upload(testapp, data, 201)
    assert upload(testapp, data, 409).json["error"]["code"] == "JOIN_CODE_USED"


def test_a_code_expires_after_seven_days(testapp, app, pki, smtp):  # noqa: F811
    _testapp, in_site = app
    start = datetime.now(timezone.utc)
    testapp.app.registry.clock = lambda: start
    data, _code = signed_form(testapp, pki, NEW)
    testapp.app.registry.clock = lambda: start + timedelta(days=7, minutes=1)
    assert upload(testapp, data, 422).json["error"]["code"] == "JOIN_CODE_EXPIRED"
    testapp.app.registry.clock = lambda: start + timedelta(days=6, hours=23)
    upload(testapp, data, 201)


def test_a_second_join_resets_the_accounts_password(testapp, app, pki, smtp):  # noqa: F811
    _testapp, in_site = app
    first, _code = signed_form(testapp, pki, NEW)
    upload(testapp, first, 201)
    set_password(testapp, link_in(smtp, "dorj@gerel.mn"), "first-secret-pass")
    testapp.reset()
    response = form_for(testapp, NEW)
    assert response.headers["X-Registry-Join-Purpose"] == "reset"
    again = pdfs.sign(response.body, pki.org(NEW, name=NAME))
    body = upload(testapp, again, 200, email="bold@gerel.mn", name="Болд").json
    assert (body["outcome"], body["login"], body["email"]) == ("reset", NEW, "bold@gerel.mn")
    login(testapp, NEW, "first-secret-pass", status=403)  # the old password stopped working
    set_password(testapp, link_in(smtp, "bold@gerel.mn"), "second-secret-pass")
    testapp.reset()
    login(testapp, NEW, "second-secret-pass")
    with in_site() as site:
        assert site.users.count_for(NEW) == 1
        actions = [r.action for r in audit_records(site)]
    assert actions.count("org.join_reset") == 1 and actions[-1] == "login"


def test_a_join_form_for_a_number_registered_meanwhile_says_how_to_recover(testapp, pki, smtp):  # noqa: F811
    first, _ = signed_form(testapp, pki, NEW)
    second, _ = signed_form(testapp, pki, NEW)
    upload(testapp, first, 201)
    body = upload(testapp, second, 409).json
    assert body["error"]["code"] == "JOIN_ALREADY_REGISTERED"
    assert "нууц үг шинэчлэгдэж" in body["error"]["message"]  # how to recover


def test_a_government_number_is_for_the_administrator(testapp, smtp):  # noqa: F811
    body = testapp.get("/@join/form?regno=1000001", headers=JSON, status=409).json
    assert body["error"]["code"] == "JOIN_GOVERNMENT"


def test_a_suspended_business_cannot_sign_in_nor_recover(testapp, app, pki, smtp,  # noqa: F811
                                                         login_as):
    _testapp, in_site = app
    data, _ = signed_form(testapp, pki, NEW)
    upload(testapp, data, 201)
    set_password(testapp, link_in(smtp, "dorj@gerel.mn"), "first-secret-pass")
    testapp.reset()
    login_as("admin")
    page = testapp.get(f"/orgs/{NEW}/@@edit")
    form = page.forms["deform"]
    form["active"] = False
    form.submit("save", status=302)
    testapp.reset()
    # Signed in by password, yet no page opens: the organisation is suspended.
    login(testapp, NEW, "first-secret-pass")
    assert testapp.get("/", headers=JSON, status=401)
    refused = testapp.get(f"/@join/form?regno={NEW}", headers=JSON, status=403)
    assert refused.json["error"]["code"] == "JOIN_SUSPENDED"
    with in_site() as site:
        [record] = [r for r in audit_records(site) if r.action == "org.update"]
        assert record.detail == {"active": [True, False]} and record.actor == "admin"


def test_the_cli_suspends_and_resumes(tmp_path):
    from registry.cli import main

    runner = CliRunner()
    base = ["--data-dir", str(tmp_path / "var")]
    assert runner.invoke(main, [*base, "init"]).exit_code == 0
    assert runner.invoke(main, [*base, "org", "add", "--regno", NEW, "--name", NAME,
                                "--kind", "business"]).exit_code == 0
    result = runner.invoke(main, [*base, "org", "suspend", NEW])
    assert result.exit_code == 0, result.output
    listed = runner.invoke(main, [*base, "org", "list", "--inactive"]).output
    assert f"{NEW}" in listed and "(deactivated)" in listed
    assert runner.invoke(main, [*base, "org", "suspend", "--lift", NEW]).exit_code == 0
    assert "(deactivated)" not in runner.invoke(main, [*base, "org", "list"]).output
    assert runner.invoke(main, [*base, "org", "suspend", "9999999"]).exit_code == 1


def test_forms_and_refusals_are_rate_limited(in_site_for, mail_settings, pki, smtp):  # noqa: F811
    testapp, _in_site = in_site_for({**mail_settings, "registry.join.attempts": "2"})
    form_for(testapp, NEW)
    upload(testapp, pdfs.letter_pdf(), 422)
    body = testapp.get(f"/@join/form?regno={NEW}", headers=JSON, status=429)
    assert body.json["error"]["code"] == "TOO_MANY_JOIN_ATTEMPTS"
    assert int(body.headers["Retry-After"]) > 0


def test_bad_input_gets_a_4xx(testapp, smtp):  # noqa: F811
    assert testapp.get("/@join/form?regno=12", headers=JSON, status=400).json["error"][
        "code"] == "INVALID_REGNO"
    assert testapp.get("/@join/form", headers=JSON, status=400).json["error"][
        "code"] == "INVALID_REGNO"
    assert testapp.get("/@join/other", headers=JSON, status=404)
    body = testapp.post("/@join", {"contact_name": "Дорж"}, headers=JSON, status=415).json
    assert body["error"]["code"] == "UNSUPPORTED_MEDIA_TYPE"
    fields = {"contact_name": "Дорж", "email": "x@y.mn"}
    body = testapp.post("/@join", fields, headers=JSON, content_type="multipart/form-data",
                        status=400).json
    assert body["error"]["code"] == "FILE_REQUIRED"
    pdf = [("file", "f.pdf", pdfs.letter_pdf(), "application/pdf")]
    body = testapp.post("/@join", {"contact_name": "Дорж"}, upload_files=pdf, headers=JSON,
                        status=400).json
    assert (body["error"]["code"], body["error"]["field"]) == ("INVALID_FIELD", "email")
    body = testapp.post("/@join", {**fields, "email": "nowhere"}, upload_files=pdf,
                        headers=JSON, status=400).json
    assert body["error"]["code"] == "INVALID_EMAIL"
    body = testapp.post("/@join", fields, headers=JSON, status=422,
                        upload_files=[("file", "f.pdf", b"not a pdf", "application/pdf")]).json
    assert [r["code"] for r in body["reasons"]] == ["NOT_PDF"]


def test_without_mail_joining_is_not_offered(in_site_for, settings):
    testapp, _ = in_site_for(settings)
    assert testapp.get(f"/@join/form?regno={NEW}", headers=JSON, status=404).json[
        "error"]["code"] == "JOIN_UNAVAILABLE"
    page = testapp.get("/@@join")
    assert "join-unavailable" in page.text and "join-form-upload" not in page.text


def test_the_join_page_in_mongolian_and_english(testapp, app, pki, smtp):  # noqa: F811
    _testapp, in_site = app
    assert 'href="http://registry.test/@@join"' in testapp.get("/@@login").text
    page = testapp.get("/@@join")
    form = page.forms["join-form-download"]
    form["regno"] = NEW
    pdf = form.submit()
    assert pdf.content_type == "application/pdf"
    text = pdf_text(pdf.body)
    assert "Улсын бүртгэлийн дугаар: " + NEW in text
    assert pdf.headers["X-Registry-Join-Code"] in text
    data = pdfs.sign(pdf.body, pki.org(NEW, name=NAME))
    refused = page.forms["join-form-upload"]
    refused["contact_name"], refused["email"] = "Дорж", "dorj@gerel.mn"
    refused["file"] = ("form.pdf", pdfs.sign(pdf.body, pki.org(NEW, untrusted=True)))
    answer = refused.submit(status=422)
    assert "итгэмжлэгдсэн" in answer.text  # the gate's reason, in words
    assert "UNTRUSTED_SIGNER" not in answer.text and "JOIN_" not in answer.text
    unsigned = answer.forms["join-form-upload"]
    unsigned["file"] = ("form.pdf", pdfs.sign(pdfs.letter_pdf(), pki.org(NEW, name=NAME)))
    missing = unsigned.submit(status=422)
    assert "маягтад өөрчлөлгүйгээр" in missing.text and "join-code-missing" not in missing.text
    good = answer.forms["join-form-upload"]
    good["file"] = ("form.pdf", data)
    done = good.submit()
    assert "join-done" in done.text and "dorj@gerel.mn" in done.text
    testapp.set_cookie("_LOCALE_", "en")
    english = testapp.get("/@@join").forms["join-form-download"]
    english["regno"] = OTHER
    assert "State registration number: " + OTHER in pdf_text(english.submit().body)


def audit_records(site):
    """Every audit record, oldest first (pending ones too)."""
    return list(reversed(site.audit.newest(0, 10000)[0]))


def pdf_text(data):
    from registry.search.text import extract

    return extract(data).text


def test_evolve_16_gives_the_site_its_join_state(in_site):
    from registry.join import JoinCodes
    from registry.resources.evolve import evolve
    from registry.security.links import PasswordLinks

    with in_site() as site:
        del site.join_codes, site.password_links, site.join_attempts  # as before generation 16
        site.generation = 12
        assert evolve(site) == generations_after(12)
        assert isinstance(site.join_codes, JoinCodes) and len(site.join_codes) == 0
        assert isinstance(site.password_links, PasswordLinks) and len(site.join_attempts) == 0
