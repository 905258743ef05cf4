"""The exchange through the application: draft, PDF, sign, send, deliver, register, reject,
withdraw — in HTML and JSON, with real PDFs signed by the test PKI and checked by the real gate;
one test per role and transition that matters."""
import pytest

import pdfs
from conftest import JSON, csrf_token, login

SENDER, RECIPIENT, OTHER = "1000001", "1000002", "1000003"


def draft_via_form(app, subject="Хурлын тухай", recipients=RECIPIENT):
    form = app.get(f"/orgs/{SENDER}/outbox/@@new").forms["draft-form"]
    form["subject"] = subject
    form["recipients"] = recipients
    page = form.submit("save", status=302).follow()
    return page.request.path


def upload(app, path, data, filename="захидал.pdf", status=None):
    form = app.get(path).forms["pdf-form"]
    form["upload"] = (filename, data, "application/pdf")
    return form.submit("attach", status=status)


def fire(app, path, transition, status=302, **fields):
    page = app.get(path)
    return app.post(path + "@@workflow", {"csrf_token": csrf_token(page),
                                          "transition": transition, **fields}, status=status)


@pytest.fixture
def signed_pdf(pki):
    return pdfs.signed_letter(pki, SENDER)


@pytest.mark.both_stores
def test_records_journey_from_draft_to_received(testapp, signed_pdf, in_site, clock):
    login(testapp, "clerk_a")
    path = draft_via_form(testapp)
    assert upload(testapp, path, signed_pdf).status_int == 302
    testapp.post("/@@logout", {"csrf_token": csrf_token(testapp.get("/"))})

    login(testapp, "sign_a")
    fire(testapp, path, "sign")
    page = testapp.get(path)
    assert page.html.find(id="letter-state")["data-state"] == "signed"
    assert "badge text-bg-success" in str(page.html.find(id="signature"))
    testapp.post("/@@logout", {"csrf_token": csrf_token(page)})

    login(testapp, "rm_a")
    fire(testapp, path, "send")
    page = testapp.get(path)
    assert page.html.find(id="outgoing-number").text.strip() == "№ 01/1"
    testapp.post("/@@logout", {"csrf_token": csrf_token(page)})

    login(testapp, "rm_b")
    inbox = testapp.get(f"/orgs/{RECIPIENT}/inbox/")
    link = inbox.html.find(id="deliveries").tbody.find("a")["href"]
    delivery = link.replace("http://registry.test", "")
    pdf = testapp.get(delivery + "@@pdf")
    assert pdf.content_type == "application/pdf" and pdf.body == signed_pdf
    assert "filename*=UTF-8''" in pdf.headers["Content-Disposition"]
    fire(testapp, delivery, "register", executor="rm_b", response_due="2026-12-31")
    page = testapp.get(delivery)
    assert page.html.find(id="incoming-number").text.strip() == "№ 01/1"
    with in_site() as site:
        letter = site.orgs[SENDER]["outbox"][path.rstrip("/").rsplit("/", 1)[1]]
        assert letter.state == "received"
        received = letter.deliveries[RECIPIENT]
        assert received.executor == "rm_b" and received.response_due.isoformat() == "2026-12-31"
        assert received.verdicts[-1]["accepted"], "re-validated and recorded at receipt"
        assert [h.transition for h in letter.history] == ["sign", "send", "receive"]


def test_a_pdf_signed_by_another_organisation_cannot_be_signed_in(testapp, pki, in_site):
    login(testapp, "rm_a")
    path = draft_via_form(testapp)
    upload(testapp, path, pdfs.signed_by_other_org(pki, SENDER, OTHER))
    page = fire(testapp, path, "sign", status=409)
    reasons = [li["data-reason"] for li in page.html.find(id="refusals").find_all("li")]
    assert reasons == ["SIGNER_ORG_MISMATCH"]
    with in_site() as site:
        letter = site.orgs[SENDER]["outbox"][path.rstrip("/").rsplit("/", 1)[1]]
        assert letter.state == "draft" and letter.history == ()


@pytest.mark.parametrize("sample", ["page_content_replaced", "two_signatures",
                                    "signed_by_revoked", "usf_contents_zeros"])
def test_hostile_and_broken_pdfs_are_refused_at_sign_with_their_reason(testapp, pki, sample):
    login(testapp, "rm_a")
    path = draft_via_form(testapp)
    upload(testapp, path, pdfs.sample(sample).build(pki, SENDER))
    page = fire(testapp, path, "sign", status=409)
    reasons = [li["data-reason"] for li in page.html.find(id="refusals").find_all("li")]
    assert reasons == [pdfs.sample(sample).expected]


def test_only_pdf_bytes_are_accepted_whatever_the_name(testapp):
    login(testapp, "clerk_a")
    path = draft_via_form(testapp)
    page = upload(testapp, path, b"PK\x03\x04 this is a zip", "letter.pdf", status=415)
    assert "NOT_PDF" not in page.text
    assert page.html.find(id="pdf").find("a") is None


def test_the_draft_form_requires_a_subject_and_known_recipients(testapp, in_site):
    login(testapp, "rm_a")
    form = testapp.get(f"/orgs/{SENDER}/outbox/@@new").forms["draft-form"]
    form["subject"] = ""
    form["recipients"] = RECIPIENT
    page = form.submit("save", status=400)
    assert page.html.find(class_="invalid-feedback") is not None
    form = page.forms["draft-form"]
    form["subject"] = "Тест"
    form["recipients"] = "9999999"
    page = form.submit("save", status=404)  # names no organisation: the API's status
    assert "9999999" in page.html.find(class_="invalid-feedback").text
    with in_site() as site:
        assert len(site.orgs[SENDER]["outbox"]) == 0


@pytest.mark.parametrize("who, status", [("rm_b", 404), ("admin", 404), ("aud_a", 200),
                                         ("clerk_a", 200)])
def test_who_sees_a_draft(testapp, who, status, signed_pdf):
    login(testapp, "clerk_a")
    path = draft_via_form(testapp)
    testapp.post("/@@logout", {"csrf_token": csrf_token(testapp.get("/"))})
    login(testapp, who)
    testapp.get(path, status=status)
    testapp.get(path, headers=JSON, status=status)


def test_clerk_cannot_sign_and_auditor_cannot_send(testapp, signed_pdf):
    login(testapp, "clerk_a")
    path = draft_via_form(testapp)
    upload(testapp, path, signed_pdf)
    page = testapp.get(path)
    assert page.html.find(id="transitions").find("button") is None
    page = fire(testapp, path, "sign", status=403)
    assert page.html.find(id="refusals")


def sent_letter(testapp, signed_pdf, recipients=f"{RECIPIENT} {OTHER}"):
    login(testapp, "rm_a")
    path = draft_via_form(testapp, recipients=recipients)
    upload(testapp, path, signed_pdf)
    fire(testapp, path, "sign")
    fire(testapp, path, "send")
    testapp.post("/@@logout", {"csrf_token": csrf_token(testapp.get("/"))})
    return path


def delivery_path(testapp, regno):
    inbox = testapp.get(f"/orgs/{regno}/inbox/")
    return inbox.html.find(id="deliveries").tbody.find("a")["href"].replace("http://registry.test", "")


@pytest.mark.both_stores
def test_recipients_see_only_their_own_copy(testapp, signed_pdf):
    path = sent_letter(testapp, signed_pdf)
    login(testapp, "rm_b")
    mine = delivery_path(testapp, RECIPIENT)
    testapp.get(mine, status=200)
    testapp.get(path, status=404)  # the sender's letter itself: not theirs, not there
    testapp.get(f"/orgs/{OTHER}/inbox/", status=403)
    testapp.post("/@@logout", {"csrf_token": csrf_token(testapp.get("/"))})
    login(testapp, "biz_c")
    testapp.get(mine, status=404)
    testapp.get(mine + "@@pdf", status=404)


def test_reject_needs_a_reason_and_is_shown_to_the_sender(testapp, signed_pdf, in_site):
    path = sent_letter(testapp, signed_pdf, recipients=RECIPIENT)
    login(testapp, "rm_b")
    delivery = delivery_path(testapp, RECIPIENT)
    page = fire(testapp, delivery, "reject", status=409)
    assert page.html.find(id="refusals").find("li")["data-reason"] == "COMMENT_REQUIRED"
    fire(testapp, delivery, "reject", comment="Манай байгууллагад хамааралгүй")
    testapp.post("/@@logout", {"csrf_token": csrf_token(testapp.get("/"))})
    login(testapp, "rm_a")
    page = testapp.get(path)
    recipient = page.html.find(id="recipients").find(attrs={"data-regno": RECIPIENT})
    assert "Татгалзсан" in recipient.text and "Манай байгууллагад хамааралгүй" in recipient.text


def test_withdrawn_letter_cannot_be_registered(testapp, signed_pdf):
    path = sent_letter(testapp, signed_pdf, recipients=RECIPIENT)
    login(testapp, "rm_a")
    fire(testapp, path, "withdraw", comment="Алдаатай илгээсэн")
    testapp.post("/@@logout", {"csrf_token": csrf_token(testapp.get("/"))})
    login(testapp, "rm_b")
    delivery = delivery_path(testapp, RECIPIENT)
    # Neither registering nor rejecting can succeed: neither is offered; a page opened before
    # the withdrawal is refused.
    assert testapp.get(delivery).html.find(id="transitions").find("button") is None
    page = fire(testapp, delivery, "register", status=409)
    assert page.html.find(id="refusals").find("li")["data-reason"] == "LETTER_WITHDRAWN"


def test_transitions_need_csrf(testapp, signed_pdf):
    login(testapp, "rm_a")
    path = draft_via_form(testapp)
    upload(testapp, path, signed_pdf)
    testapp.post(path + "@@workflow", {"transition": "sign"}, status=400)


# JSON API ----------------------------------------------------------------------------------

@pytest.mark.both_stores
def test_json_api_journey(testapp, api, signed_pdf, clock):
    clerk, signer, sender, receiver = api("clerk_a"), api("sign_a"), api("rm_a"), api("rm_b")
    created = testapp.post_json(f"/orgs/{SENDER}/outbox", {
        "subject": "API-аар илгээсэн", "recipients": [RECIPIENT], "response_due": "2026-12-20"},
        headers=clerk, status=201)
    letter = created.json["@id"].replace("http://registry.test", "")
    assert created.json["state"] == "draft"
    stored = testapp.put(letter + "@file?filename=api.pdf", signed_pdf,
                         headers={**clerk, "Content-Type": "application/pdf"})
    assert stored.json["size"] == len(signed_pdf)
    offered = testapp.get(letter + "@workflow", headers=signer).json
    assert [t["name"] for t in offered["transitions"]] == ["sign"]
    signed = testapp.post_json(letter + "@workflow/sign", {}, headers=signer)
    assert signed.json["state"] == "signed"
    assert signed.json["entry"]["evidence"]["signature_gate"]["verdict"]["accepted"]
    sent = testapp.post_json(letter + "@workflow/send", {}, headers=sender)
    assert sent.json["item"]["outgoing_number"] == "01/1"
    inbox = testapp.get(f"/orgs/{RECIPIENT}/inbox", headers=receiver).json
    assert inbox["items_total"] == 1
    delivery = inbox["items"][0]["@id"].replace("http://registry.test", "")
    body = testapp.get(delivery + "@file", headers=receiver).body
    assert body == signed_pdf
    registered = testapp.post_json(delivery + "@workflow/register", {"executor": "rm_b"},
                                   headers=receiver)
    assert registered.json["item"]["incoming_number"] == "01/1"
    assert testapp.get(letter, headers=sender).json["state"] == "received"


def test_a_letter_whose_stored_file_is_missing_answers_503_file_missing_and_is_audited(
        testapp, api, in_site, signed_pdf):
    """The blob file deleted under the store (a storage fault): the download answers a clear
    error, as JSON and as a page, never a traceback; and the loss is audited as the fixity
    check audits it."""
    import os

    clerk = api("clerk_a")
    created = testapp.post_json(f"/orgs/{SENDER}/outbox", {
        "subject": "Файл нь алга болсон", "recipients": [RECIPIENT]}, headers=clerk, status=201)
    letter = created.json["@id"].replace("http://registry.test", "")
    testapp.put(letter + "@file", signed_pdf, headers={**clerk, "Content-Type": "application/pdf"})
    with in_site() as site:
        stored = site.orgs[SENDER]["outbox"][letter.rstrip("/").rsplit("/", 1)[1]].pdf
        os.unlink(stored.path())
    answer = testapp.get(letter + "@file", headers=clerk, status=503)
    assert answer.json["error"]["code"] == "FILE_MISSING"
    login(testapp, "clerk_a")
    page = testapp.get(letter + "@@pdf", status=503)
    assert page.content_type == "text/html" and "Traceback" not in page.text
    with in_site() as site:
        records, _total = site.audit.newest(0, 10)
        missing = [r for r in records if r.action == "fixity.missing"]
    assert [(r.target, r.actor, r.detail["found_by"]) for r in missing] == [
        (letter.rstrip("/"), "clerk_a", "download")] * 2


def test_json_refusal_lists_every_guard(testapp, api, pki):
    headers = api("rm_a")
    letter = testapp.post_json(f"/orgs/{SENDER}/outbox", {"recipients": []},
                               headers=headers, status=201).json["@id"]
    refused = testapp.post_json(letter + "@workflow/sign", {}, headers=headers, status=409).json
    assert refused["error"]["code"] == "GUARD_REFUSED"
    assert [r["code"] for r in refused["reasons"]] == [
        "SUBJECT_REQUIRED", "RECIPIENTS_REQUIRED", "PDF_REQUIRED", "PDF_REQUIRED"]


def test_json_errors_for_bad_input(testapp, api):
    headers = api("rm_a")
    bad = testapp.post_json(f"/orgs/{SENDER}/outbox", {"recipients": ["9999999"]},
                            headers=headers, status=404).json
    assert bad["error"]["code"] == "UNKNOWN_RECIPIENT"
    letter = testapp.post_json(f"/orgs/{SENDER}/outbox", {"subject": "x"}, headers=headers,
                               status=201).json["@id"]
    not_pdf = testapp.put(letter + "@file", b"GIF89a...", headers={
        **headers, "Content-Type": "application/pdf"}, status=415).json
    assert not_pdf["error"]["code"] == "NOT_PDF"
    unknown = testapp.post_json(letter + "@workflow/fly", {}, headers=headers, status=409).json
    assert unknown["error"]["code"] == "TRANSITION_NOT_AVAILABLE"
    other = api("rm_b")
    assert testapp.post_json(letter + "@workflow/sign", {}, headers=other,
                             status=404).json["error"]["code"] == "NOT_FOUND"
    # A member of the organisation is told why: not permitted, or not possible now.
    assert testapp.post_json(letter + "@workflow/sign", {}, headers=api("aud_a"),
                             status=403).json["error"]["code"] == "FORBIDDEN"
    assert testapp.post_json(letter + "@workflow/send", {}, headers=api("aud_a"),
                             status=409).json["error"]["code"] == "TRANSITION_NOT_AVAILABLE"


def test_json_listing_pages_continue_after_the_last_item(testapp, api):
    headers = api("clerk_a")
    made = [testapp.post_json(f"/orgs/{SENDER}/outbox", {"subject": f"№{i}"}, headers=headers,
                              status=201).json["id"] for i in range(5)]
    seen, url = [], f"/orgs/{SENDER}/outbox?b_size=2"
    while url:
        body = testapp.get(url, headers=headers).json
        seen += [item["id"] for item in body["items"]]
        url = body["batching"].get("next", "").replace("http://registry.test", "")
        assert not url or "b_after=" in url
    assert seen == list(reversed(made)) and body["items_total"] == 5


def test_the_history_shows_ulaanbaatar_time_people_by_name_and_words(testapp, api, signed_pdf,
                                                                    in_site):
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from conftest import send_letter

    letter = send_letter(testapp, api("rm_a"), signed_pdf)
    with in_site() as site:
        site.users["rm_a"].fullname = "Бат Болд"
        sent = next(e for e in site.orgs[SENDER]["outbox"][letter.split("/")[-2]].history
                    if e.transition == "send")
    login(testapp, "rm_a")
    row = [r for r in testapp.get(letter).html.find(id="history").find_all("tr")
           if "Илгээх" in r.text]
    local = datetime.fromisoformat(sent.time).astimezone(ZoneInfo("Asia/Ulaanbaatar"))
    assert len(row) == 1 and local.strftime("%Y-%m-%d %H:%M:%S") in row[0].text
    assert "Бат Болд" in row[0].text and "rm_a" not in row[0].text
