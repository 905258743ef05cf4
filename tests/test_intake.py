"""Input hardening at the door (issue 11): every bad input gets a clear 4xx and changes nothing;
text is clean; downloads carry correctly quoted names."""
import json

import pytest
from werkzeug.http import parse_options_header

from conftest import JSON, csrf_token, login, send_letter

SENDER, RECIPIENT = "1000001", "1000002"
OUTBOX = f"/orgs/{SENDER}/outbox"


@pytest.fixture
def signed_pdf(pki):
    import pdfs

    return pdfs.signed_letter(pki, SENDER)


@pytest.fixture
def draft(testapp, api):
    return testapp.post_json(OUTBOX, {"subject": "Тест", "recipients": [RECIPIENT]},
                             headers=api("rm_a"), status=201).json["@id"]


def drafts(in_site):
    with in_site() as site:
        return len(site.orgs[SENDER]["outbox"])


def audited(in_site):
    with in_site() as site:
        return len(site.audit)


def post_raw(testapp, headers, body, content_type, status, path=OUTBOX):
    return testapp.post(path, body, headers={**headers, "Content-Type": content_type},
                        status=status).json["error"]


# Finding 1: a file name with control characters ----------------------------------------------

def test_a_file_name_with_control_characters_is_stored_as_a_safe_name_and_stays_downloadable(
        testapp, api, signed_pdf, in_site):
    rm_a, rm_b = api("rm_a"), api("rm_b")
    letter = testapp.post_json(OUTBOX, {"subject": "Тест", "recipients": [RECIPIENT]},
                               headers=rm_a, status=201).json["@id"]
    stored = testapp.put(letter + "@file?filename=a%0d%0ab%1b%07%e2%80%ae.pdf", signed_pdf,
                         headers={**rm_a, "Content-Type": "application/pdf"}).json
    assert stored["filename"] == "a b.pdf"
    testapp.post_json(letter + "@workflow/sign", {}, headers=rm_a)
    testapp.post_json(letter + "@workflow/send", {}, headers=rm_a)
    for path in (letter + "@file", letter + "@@pdf"):
        response = testapp.get(path, headers=rm_a, status=200)
        assert response.body == signed_pdf
    delivery = testapp.get(f"/orgs/{RECIPIENT}/inbox", headers=rm_b).json["items"][0]["@id"]
    assert testapp.get(delivery + "@file", headers=rm_b, status=200).body == signed_pdf


def test_the_upload_form_stores_the_safe_name_too(testapp, signed_pdf, in_site):
    login(testapp, "rm_a")
    page = testapp.get(f"{OUTBOX}/@@new")
    form = page.forms["draft-form"]
    form["subject"], form["recipients"] = "Тест", RECIPIENT
    path = form.submit("save", status=302).location.replace("http://registry.test", "")
    form = testapp.get(path).forms["pdf-form"]
    form["upload"] = ("Invoice \u202efdp.exe\x00", signed_pdf, "application/pdf")
    form.submit("attach", status=302)
    header = testapp.get(path + "@file").headers["Content-Disposition"]
    assert header == ('attachment; filename="Invoice fdp.exe.pdf"; '
                      "filename*=UTF-8''Invoice%20fdp.exe.pdf")


@pytest.mark.parametrize("name, expected", [
    ("a\r\nb.pdf", "a b.pdf"),
    ("C:\\Users\\me\\Хурал.pdf", "Хурал.pdf"),
    ("Invoice \u202efdp.exe", "Invoice fdp.exe.pdf"),
    ("report", "report.pdf"),
    ("scan.PDF", "scan.pdf"),
    ("\x00\x1b\u2066", "letter.pdf"),
    ("...", "letter.pdf"),
    ("\ud800x.pdf", "x.pdf"),
    ("ё" * 500 + ".pdf", "ё" * 116 + ".pdf"),
])
def test_display_filename(name, expected):
    from registry.safetext import display_filename

    assert display_filename(name) == expected


@pytest.mark.parametrize("stored, ascii_name, utf8_name", [
    ("захидал.pdf", "letter.pdf", "захидал.pdf"),
    ('a"b;c=d.pdf', 'a"b;c=d.pdf', 'a"b;c=d.pdf'),
    ("a\r\nb.pdf", "a b.pdf", "a b.pdf"),
    ("Ёс zip.pdf", "zip.pdf", "Ёс zip.pdf"),
    ("café.pdf", "cafe.pdf", "café.pdf"),
])
def test_content_disposition_round_trips_through_a_parser(stored, ascii_name, utf8_name):
    from registry.views.letter import content_disposition

    header = content_disposition(stored)
    assert not any(ord(char) < 32 or ord(char) > 126 for char in header)
    kind, params = parse_options_header(header)
    assert kind == "attachment"
    # Werkzeug's parser prefers filename* (RFC 8187) and decodes it.
    assert params["filename"] == utf8_name
    kind, fallback = parse_options_header(header.split("; filename*=")[0])
    assert fallback["filename"] == ascii_name


def test_evolve_renames_stored_pdfs_and_keeps_their_bytes(in_site, signed_pdf):
    from registry import exchange
    from registry.resources.evolve import STEPS

    with in_site() as site:
        letter = exchange.create_draft(site, "rm_a", site.orgs[SENDER], subject="x",
                                       recipients=[RECIPIENT])
        exchange.attach_pdf(site, "rm_a", letter, signed_pdf, "a.pdf", 1 << 20)
        letter.pdf.filename = "a\r\nb\u202e.pdf"  # as stored before generation 8
        sha, name = letter.pdf.sha256, letter.__name__
    step = dict(STEPS)[8]
    with in_site() as site:
        step(site)
    with in_site() as site:
        stored = site.orgs[SENDER]["outbox"][name].pdf
        assert stored.filename == "a b.pdf"
        assert stored.sha256 == sha and stored.read() == signed_pdf


# Finding 4: 500s on input -------------------------------------------------------------------

@pytest.mark.parametrize("body, code, field", [
    ({"subject": "x", "in_reply_to": {"a": 1}}, "INVALID_FIELD", "in_reply_to"),
    ({"subject": "x", "in_reply_to": True}, "INVALID_FIELD", "in_reply_to"),
    ({"subject": ["x"]}, "INVALID_FIELD", "subject"),
    ({"subject": "x", "recipients": 5}, "INVALID_FIELD", "recipients"),
    ({"subject": "x", "recipients": [1000002]}, "INVALID_FIELD", "recipients.0"),
    ({"subject": "x", "series": None}, "INVALID_FIELD", "series"),
])
def test_wrong_json_shapes_answer_400_naming_the_field(testapp, api, in_site, body, code,
                                                         field):
    error = testapp.post_json(OUTBOX, body, headers=api("rm_a"), status=400).json["error"]
    assert (error["code"], error["field"]) == (code, field)
    assert "'" + field + "'" in error["message"] and "json-type" not in error["message"]
    assert drafts(in_site) == 0


@pytest.mark.parametrize("raw, code", [
    pytest.param(b"[" * 20000 + b"]" * 20000, "TOO_DEEP", id="20000-deep"),
    (b'{"subject": ' + b'{"a": ' * 17 + b"1" + b"}" * 18, "TOO_DEEP"),
    (b'{"subject": "\\ud800"}', "INVALID_TEXT"),
    (b'{"subject": "\xff"}', "BAD_ENCODING"),
    (b'{"subject": NaN}', "INVALID_JSON"),
    (b'{"subject": "x"', "INVALID_JSON"),
    (b'["x"]', "INVALID_JSON"),
])
def test_undecodable_json_answers_400_with_a_reason(testapp, api, in_site, raw, code):
    error = post_raw(testapp, api("rm_a"), raw, "application/json", 400)
    assert error["code"] == code
    assert drafts(in_site) == 0


def test_strings_nested_below_the_cap_still_parse(testapp, api):
    body = {"subject": "x", "recipients": []}
    assert testapp.post_json(OUTBOX, body, headers=api("rm_a"), status=201)


def test_a_json_body_over_its_cap_answers_413(testapp, api, in_site):
    raw = json.dumps({"subject": "x" * (65 * 1024)}).encode()
    assert post_raw(testapp, api("rm_a"), raw, "application/json", 413)["code"] == "TOO_LARGE"
    assert drafts(in_site) == 0


def test_a_body_over_the_door_cap_is_refused_before_it_is_parsed(in_site_for, settings):
    app, in_site = in_site_for({**settings, "registry.signature.max_size_mb": "1"})
    with in_site() as site:
        token, _ = site.users.issue_token(site.users["rm_a"])
    body = b"--x\r\n" + b"0" * (1024 * 1024 + 300 * 1024)
    error = app.post(OUTBOX, body, headers={**JSON, "Authorization": f"Bearer {token}",
                                            "Content-Type": "multipart/form-data; boundary=x"},
                     status=413).json["error"]
    assert error["code"] == "TOO_LARGE"
    with in_site() as site:
        assert len(site.orgs[SENDER]["outbox"]) == 0


@pytest.mark.parametrize("content_type, body", [
    ("multipart/form-data", b"--x\r\n"),
    ("multipart/form-data; boundary=x",
     b'--y\r\nContent-Disposition: form-data; name="subject"\r\n\r\nhi\r\n--y--\r\n'),
])
def test_unreadable_multipart_answers_400_and_creates_nothing(testapp, api, in_site,
                                                              content_type, body):
    error = post_raw(testapp, api("rm_a"), body, content_type, 400)
    assert error["code"] == "INVALID_FORM"
    assert drafts(in_site) == 0


def test_multipart_fields_are_checked_like_json(testapp, api, in_site, signed_pdf):
    headers = api("rm_a")
    error = testapp.post(OUTBOX, {"subject": "x"}, upload_files=[("series", "s.txt", b"01")],
                         headers=headers, status=400).json["error"]
    assert (error["code"], error["field"]) == ("INVALID_FIELD", "series")
    error = testapp.post(OUTBOX, {"subject": "a\x1bb"}, headers=headers,
                         content_type="multipart/form-data", status=400).json["error"]
    assert (error["code"], error["field"]) == ("INVALID_TEXT", "subject")
    made = testapp.post(OUTBOX, [("subject", "Тест"), ("recipients", RECIPIENT)],
                        upload_files=[("file", "x\x07.pdf", signed_pdf)], headers=headers,
                        status=201).json
    assert made["recipients"] == [RECIPIENT] and made["pdf"]["filename"] == "x.pdf"
    assert drafts(in_site) == 1


@pytest.mark.parametrize("path", ["/orgs?q=%FF", "/orgs?q=%ED%A0%80", "/orgs/%FF/"])
def test_an_address_that_is_not_utf8_answers_400(testapp, api, path):
    assert testapp.get(path, headers=api("rm_a"), status=400).json["error"]["code"] == \
        "BAD_ENCODING"


def test_a_transition_body_of_the_wrong_shape_changes_nothing(testapp, api, draft, signed_pdf):
    headers = api("rm_a")
    testapp.put(draft + "@file", signed_pdf, headers={**headers,
                                                      "Content-Type": "application/pdf"})
    error = testapp.post_json(draft + "@workflow/sign", {"comment": {"a": 1}}, headers=headers,
                              status=400).json["error"]
    assert (error["code"], error["field"]) == ("INVALID_FIELD", "comment")
    assert testapp.get(draft, headers=headers).json["state"] == "draft"


def test_organisation_registration_refuses_wrong_types(testapp, api, in_site):
    body = {"regno": 1234567, "name": ["x"], "kind": "government"}
    error = testapp.post_json("/orgs", body, headers=api("admin"), status=400).json["error"]
    assert (error["code"], error["field"]) == ("INVALID_FIELD", "name")
    with in_site() as site:
        assert len(site.orgs) == 4


# Finding 5: hostile text -------------------------------------------------------------------

@pytest.mark.parametrize("subject, code_point", [
    ("a\x00b", "0000"), ("a\x1bb", "001B"), ("a\x07b", "0007"), ("Invoice \u202efdp.exe", "202E"),
    ("a\u2066b", "2066"), ("a\x85b", "0085"), ("a\ufffeb", "FFFE"),
])
def test_hostile_subjects_are_refused_and_nothing_is_stored(testapp, api, in_site, subject,
                                                            code_point):
    before = audited(in_site)
    error = testapp.post_json(OUTBOX, {"subject": subject}, headers=api("rm_a"),
                              status=400).json["error"]
    assert (error["code"], error["field"]) == ("INVALID_TEXT", "subject")
    assert f"U+{code_point}" in error["message"]
    assert drafts(in_site) == 0 and audited(in_site) == before


def test_line_breaks_and_tabs_are_text_and_fold_into_spaces(testapp, api):
    made = testapp.post_json(OUTBOX, {"subject": "Хурлын\r\n\tтухай"}, headers=api("rm_a"),
                             status=201).json
    assert made["subject"] == "Хурлын тухай"


def test_the_draft_form_refuses_a_hostile_subject(testapp, in_site):
    login(testapp, "rm_a")
    form = testapp.get(f"{OUTBOX}/@@new").forms["draft-form"]
    form["subject"], form["recipients"] = "Invoice \u202efdp.exe", RECIPIENT
    page = form.submit("save", status=400)  # the form again, the message on the field
    assert "U+202E" in page.html.find(class_="invalid-feedback").text
    assert drafts(in_site) == 0


@pytest.mark.parametrize("call, field", [
    (lambda site: __import__("registry.exchange").exchange.clean_series("0\x001"), "series"),
    (lambda site: __import__("registry.directory").directory.register_organisation(
        site, "t", "7000001", "Шинэ\u202e", "business"), "name"),
    (lambda site: __import__("registry.accounts").accounts.update_account(
        site, "t", site.users["rm_a"], fullname="Бат\x1b[31m"), "fullname"),
])
def test_domain_text_fields_refuse_the_same_characters(in_site, call, field):
    from registry.errors import RegistryError

    with in_site() as site:
        with pytest.raises(RegistryError) as refused:
            call(site)
    assert (refused.value.code, refused.value.field) == ("INVALID_TEXT", field)


def test_a_transition_comment_with_control_characters_is_refused(testapp, api, signed_pdf):
    headers = api("rm_a")
    path = send_letter(testapp, headers, signed_pdf)
    error = testapp.post_json(path + "@workflow/withdraw", {"comment": "a\x00b"},
                              headers=headers, status=400).json["error"]
    assert (error["code"], error["field"]) == ("INVALID_TEXT", "comment")
    assert testapp.get(path, headers=headers).json["state"] == "sent"


# Finding 6: wrong content types ------------------------------------------------------------

@pytest.mark.parametrize("content_type", [
    "text/plain", "application/xml", "application/x-www-form-urlencoded"])
def test_json_under_another_media_type_answers_415(testapp, api, in_site, content_type):
    error = post_raw(testapp, api("rm_a"), json.dumps({"subject": "x"}), content_type, 415)
    assert error["code"] == "UNSUPPORTED_MEDIA_TYPE"
    assert drafts(in_site) == 0


def test_a_pdf_must_be_put_as_application_pdf(testapp, api, draft, signed_pdf):
    headers = api("rm_a")
    error = testapp.put(draft + "@file", signed_pdf, headers={
        **headers, "Content-Type": "text/plain"}, status=415).json["error"]
    assert error["code"] == "UNSUPPORTED_MEDIA_TYPE"
    assert testapp.get(draft, headers=headers).json["pdf"] is None


def test_every_documented_request_body_refuses_other_media_types(testapp, api, draft):
    """Drift guard: the server accepts what the document names, nothing else."""
    from registry.views.intake import media_types

    document = testapp.get("/@openapi.json").json
    letter = draft.replace("http://registry.test", "")
    values = {"regno": SENDER, "id": letter.rstrip("/").rsplit("/", 1)[1],
              "transition": "sign", "login": "rm_a", "code": "ZZZZ-ZZZZ-ZZZZ"}
    checked = 0
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method == "parameters" or "requestBody" not in operation:
                continue
            assert set(media_types(operation["operationId"])) == set(
                operation["requestBody"]["content"])
            if "{id}" in path and "inbox" in path:
                continue  # needs a delivery; the outbox operations cover the same code
            if path == "/@join":
                continue  # without mail it is not there (404); test_join asks it with mail
            url = path.format(**values)
            response = testapp.request(url, method=method.upper(), body=b"<x/>",
                                       headers={**api("admin" if url == "/orgs" else "rm_a"),
                                                "Content-Type": "application/xml"},
                                       expect_errors=True)
            assert response.status_int == 415, (method, url, response.status)
            checked += 1
    assert checked == 9


# Finding 7: UI upload refusals --------------------------------------------------------------

@pytest.mark.parametrize("data, status, code_text", [
    (b"GIF89a not a pdf", 415, "PDF"),
])
def test_the_upload_form_answers_the_refusals_status_and_message(testapp, data, status,
                                                                 code_text):
    login(testapp, "rm_a")
    form = testapp.get(f"{OUTBOX}/@@new").forms["draft-form"]
    form["subject"], form["recipients"] = "Тест", RECIPIENT
    path = form.submit("save", status=302).location.replace("http://registry.test", "")
    form = testapp.get(path).forms["pdf-form"]
    form["upload"] = ("a.pdf", data, "application/pdf")
    page = form.submit("attach", status=status)
    assert code_text in page.html.find(class_="alert-danger").text


def test_an_oversized_upload_form_answers_413(in_site_for, settings):
    app, _in_site = in_site_for({**settings, "registry.signature.max_size_mb": "1"})
    login(app, "rm_a")
    form = app.get(f"{OUTBOX}/@@new").forms["draft-form"]
    form["subject"], form["recipients"] = "Тест", RECIPIENT
    path = form.submit("save", status=302).location.replace("http://registry.test", "")
    form = app.get(path).forms["pdf-form"]
    form["upload"] = ("a.pdf", b"%PDF-1.7\n" + b"0" * (1024 * 1024), "application/pdf")
    page = form.submit("attach", status=413)
    assert page.html.find(class_="alert-danger") is not None
    assert app.get(path, headers=JSON).json["pdf"] is None


# Finding 9: what the fuzzer found -----------------------------------------------------------

def test_trace_and_unknown_methods_answer_405(testapp, api):
    headers = api("rm_a")
    for method in ("TRACE", "DELETE", "CONNECT", "PUT", "PATCH"):
        response = testapp.request("/", method=method, headers=headers, status=405)
        assert response.json["error"]["code"] == "METHOD_NOT_ALLOWED"
        assert response.headers["Allow"] == "GET, HEAD"  # what the document declares for /
    response = testapp.request("/@@login", method="TRACE", headers=headers, status=405)
    assert response.headers["Allow"] == "GET, HEAD, POST, PUT, PATCH"  # a page


def test_an_api_address_answers_only_its_documented_methods(testapp, api, draft):
    response = testapp.put(draft, b"{}", headers={**api("rm_a"), "Content-Type":
                                                  "application/json"}, status=405)
    assert response.headers["Allow"] == "GET, PATCH, DELETE, HEAD"


@pytest.mark.parametrize("query, field", [
    ("inactive=AAA", "inactive"), ("b_size=100000", "b_size"), ("b_size=0", "b_size"),
    ("b_start=-1", "b_start"), ("b_start=x", "b_start"),
])
def test_out_of_range_listing_parameters_answer_400(testapp, api, query, field):
    error = testapp.get(f"/orgs?{query}", headers=api("admin"), status=400).json["error"]
    assert error["field"] == field


def test_the_search_year_range_is_documented_as_enforced(testapp, api):
    year = [p for p in testapp.get("/@openapi.json").json["paths"]["/@search"]["get"][
        "parameters"] if p.get("name") == "year"][0]["schema"]
    assert (year["minimum"], year["maximum"]) == (1990, 2999)
    assert testapp.get("/@search?year=1989", headers=api("rm_a"), status=400)
    assert testapp.get("/@search?year=1990", headers=api("rm_a"), status=200)


def test_every_operation_with_a_path_parameter_documents_404(testapp):
    document = testapp.get("/@openapi.json").json
    missing = [operation["operationId"] for path, item in document["paths"].items()
               for method, operation in item.items()
               if method != "parameters" and "{" in path and "404" not in operation["responses"]]
    assert missing == []


def test_an_html_refusal_at_the_door_is_a_page(testapp):
    page = testapp.request("/", method="TRACE", status=405)
    assert page.content_type == "text/html"
    assert page.html.find(id="error-message").text.strip()
    assert csrf_token(testapp.get("/@@login"))
