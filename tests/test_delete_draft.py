"""A draft can be deleted by who may edit it (issue #13): asked first, audited, gone from the
outbox, its indexes, the search and the verification codes; a letter once signed is kept."""
import pytest

import pdfs
from conftest import csrf_token, login

SUBJECT = "Устгах ноорог"


@pytest.fixture
def draft(testapp, api, pki):
    """The path of a draft of 1000001 with its signed PDF attached."""
    headers = api("rm_a")
    letter = testapp.post_json("/orgs/1000001/outbox", {"subject": SUBJECT,
                                                       "recipients": ["1000002"]},
                               headers=headers, status=201).json["@id"]
    testapp.put(letter + "@file", pdfs.signed_letter(pki, "1000001"),
                headers={**headers, "Content-Type": "application/pdf"})
    return letter.replace("http://registry.test", "")


def test_the_records_manager_deletes_a_draft_from_its_page_asked_first(testapp, draft,
                                                                       in_site):
    with in_site() as site:
        letter = site.orgs["1000001"]["outbox"][draft.split("/")[-2]]
        site.verification.allocate(letter)  # as a signing on the server, then retracted
        code = letter.verification_code
    login(testapp, "rm_a")
    page = testapp.get(draft)
    form = page.html.find(id="delete-draft")
    assert form["data-confirm"] == ("Энэ ноорог болон түүний PDF файлыг устгах уу? Устгасныг "
                                    "буцаах боломжгүй.")
    done = testapp.post(form["action"], {"csrf_token": csrf_token(page)}, status=302)
    assert done.location == "http://registry.test/orgs/1000001/outbox/?state=draft"
    assert "Ноорог устгагдлаа." in done.follow().text
    testapp.get(draft, status=404)
    with in_site() as site:
        outbox = site.orgs["1000001"]["outbox"]
        assert (len(outbox), outbox.count(["draft"]), code in site.verification.codes) == (
            0, 0, False)
        record = site.audit.newest(0, 1)[0][0]
        assert (record.action, record.actor, record.target, record.detail["subject"]) == (
            "letter.delete", "rm_a", draft.rstrip("/"), SUBJECT)


def test_a_draft_is_deleted_by_json_and_leaves_the_search(testapp, api, draft):
    headers = api("clerk_a")
    found = testapp.get("/@search", {"q": "устгах"}, headers=headers).json
    assert [item["subject"] for item in found["items"]] == [SUBJECT]
    testapp.delete(draft, headers=headers, status=204)
    testapp.get(draft, headers=headers, status=404)
    testapp.delete(draft, headers=headers, status=404)
    assert testapp.get("/@search", {"q": "устгах"}, headers=headers).json["items"] == []


@pytest.mark.parametrize("who, status", [("rm_b", 404), ("aud_a", 403), ("sign_a", 403)])
def test_outsiders_do_not_find_it_and_readers_may_not_delete_it(testapp, api, draft, who,
                                                                status):
    testapp.delete(draft, headers=api(who), status=status)
    testapp.get(draft, headers=api("rm_a"), status=200)


def test_a_signed_letter_is_not_deleted(testapp, api, draft):
    headers = api("rm_a")
    testapp.post_json(draft + "@workflow/sign", {}, headers=headers)
    testapp.delete(draft, headers=headers, status=403)
    assert testapp.get(draft, headers=headers).json["state"] == "signed"
    login(testapp, "rm_a")
    assert testapp.get(draft).html.find(id="delete-draft") is None
