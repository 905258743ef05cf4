"""Reply threads across organisations: the reply form, the links both ways, who sees what."""
import pdfs
import pytest

from conftest import csrf_token

A, B, C = "1000001", "1000002", "1000003"


@pytest.fixture
def pdf_of(pki):
    cache = {}

    def make(regno):
        if regno not in cache:
            cache[regno] = pdfs.signed_letter(pki, regno)
        return cache[regno]

    return make


def send(testapp, headers, pdf, sender, recipients, subject, in_reply_to=None):
    """Draft, sign and send through the API; return the letter's path."""
    body = {"subject": subject, "recipients": list(recipients)}
    if in_reply_to:
        body["in_reply_to"] = in_reply_to
    letter = testapp.post_json(f"/orgs/{sender}/outbox", body, headers=headers,
                               status=201).json["@id"].replace("http://registry.test", "")
    testapp.put(letter + "@file", pdf, headers={**headers, "Content-Type": "application/pdf"})
    testapp.post_json(letter + "@workflow/sign", {}, headers=headers)
    testapp.post_json(letter + "@workflow/send", {}, headers=headers)
    return letter


def delivery_of(testapp, headers, letter_path, regno):
    """Register `regno`'s delivery of the letter; return its path."""
    letter = testapp.get(letter_path, headers=headers).json
    inbox = testapp.get(f"/orgs/{regno}/inbox", headers=headers_for(testapp, regno)).json
    path = next(item["@id"] for item in inbox["items"]
                if item["outgoing_number"] == letter["outgoing_number"]
                and item["sender"] == letter["sender"])
    return path.replace("http://registry.test", "")


_HEADERS = {}


def headers_for(testapp, regno):
    return _HEADERS[regno]


@pytest.fixture
def three_letters(testapp, api, pdf_of):
    """A writes to B, B answers (copy to C), A answers the answer."""
    _HEADERS.clear()
    _HEADERS.update({A: api("rm_a"), B: api("rm_b"), C: api("biz_c")})
    first = send(testapp, _HEADERS[A], pdf_of(A), A, [B], "Хурлын тов")
    at_b = delivery_of(testapp, _HEADERS[A], first, B)
    testapp.post_json(at_b + "@workflow/register", {}, headers=_HEADERS[B])
    answer = send(testapp, _HEADERS[B], pdf_of(B), B, [A, C], "Хариу: Хурлын тов",
                  in_reply_to=at_b.rstrip("/").rsplit("/", 1)[1])
    at_a = delivery_of(testapp, _HEADERS[B], answer, A)
    at_c = delivery_of(testapp, _HEADERS[B], answer, C)
    testapp.post_json(at_a + "@workflow/register", {}, headers=_HEADERS[A])
    last = send(testapp, _HEADERS[A], pdf_of(A), A, [B], "Нэмэлт тодруулга",
                in_reply_to=at_a.rstrip("/").rsplit("/", 1)[1])
    last_at_b = delivery_of(testapp, _HEADERS[A], last, B)
    testapp.post_json(last_at_b + "@workflow/register", {}, headers=_HEADERS[B])
    return {"first": first, "at_b": at_b, "answer": answer, "at_a": at_a, "at_c": at_c,
            "last": last, "last_at_b": last_at_b}


def test_an_answer_shows_in_the_original_senders_thread_and_the_recipients(
        testapp, three_letters):
    t = three_letters
    sender_view = testapp.get(t["first"] + "@thread", headers=_HEADERS[A]).json
    assert [i["@id"].replace("http://registry.test", "") for i in sender_view["items"]] == [
        t["first"], t["at_a"], t["last"]]
    assert [i["depth"] for i in sender_view["items"]] == [0, 1, 2]
    assert sender_view["items"][0]["current"] is True
    assert sender_view["others"] == []
    recipient_view = testapp.get(t["at_b"] + "@thread", headers=_HEADERS[B]).json
    assert [i["@id"].replace("http://registry.test", "") for i in recipient_view["items"]] == [
        t["at_b"], t["answer"], t["last_at_b"]]
    assert recipient_view["items"][1]["answers"] == sender_view["items"][0]["outgoing_number"]


def test_an_organisation_not_party_sees_only_numbers_and_dates(testapp, three_letters):
    t = three_letters
    view = testapp.get(t["at_c"] + "@thread", headers=_HEADERS[C]).json
    assert [i["@id"].replace("http://registry.test", "") for i in view["items"]] == [t["at_c"]]
    assert [set(o) for o in view["others"]] == [{"outgoing_number", "sent_at", "depth"}] * 2
    page = testapp.get(t["at_c"], headers={"Authorization": _HEADERS[C]["Authorization"]})
    thread = page.html.find(id="thread")
    assert "Хариу: Хурлын тов" in thread.text
    assert "Хурлын тов" not in thread.text.replace("Хариу: Хурлын тов", "")
    assert "Нэмэлт тодруулга" not in thread.text
    assert len(thread.find_all("a")) == 0  # its own letter is the current one: not a link


def test_the_thread_page_links_the_viewers_own_copies(testapp, three_letters):
    t = three_letters
    page = testapp.get(t["answer"], headers={"Authorization": _HEADERS[B]["Authorization"]})
    links = [a["href"].replace("http://registry.test", "")
             for a in page.html.find(id="thread").find_all("a")]
    assert links == [t["at_b"], t["last_at_b"]]


def test_outsiders_get_404_for_a_thread(testapp, three_letters, api):
    testapp.get(three_letters["first"] + "@thread", headers=_HEADERS[C], status=404)


def test_reply_opens_a_draft_addressed_to_the_sender_with_the_original_beside(
        testapp, login_as, three_letters):
    t = three_letters
    app = login_as("rm_b")
    page = app.get(t["last_at_b"])
    reply = app.get(page.html.find(id="reply")["href"])
    form = reply.forms["draft-form"]
    assert form["recipients"].value == A
    assert form["subject"].value == "Хариу: Нэмэлт тодруулга"
    original = reply.html.find(id="original")
    assert original.find("a")["href"].replace("http://registry.test", "") == t["last_at_b"]
    created = form.submit("save").follow()
    assert "Нэмэлт тодруулга" in created.html.find(id="thread").text


def test_the_reply_subject_is_proposed_in_english_too(testapp, login_as, three_letters):
    app = login_as("rm_b")
    app.set_cookie("_LOCALE_", "en")
    name = three_letters["last_at_b"].rstrip("/").rsplit("/", 1)[1]
    reply = app.get(f"/orgs/{B}/outbox/@@new?in_reply_to={name}")
    assert reply.forms["draft-form"]["subject"].value == "Re: Нэмэлт тодруулга"


def test_a_reply_form_for_a_delivery_of_another_org_proposes_nothing(
        testapp, login_as, three_letters):
    app = login_as("rm_b")
    name = three_letters["at_a"].rstrip("/").rsplit("/", 1)[1]
    reply = app.get(f"/orgs/{B}/outbox/@@new?in_reply_to={name}")
    assert reply.forms["draft-form"]["recipients"].value == ""
    assert reply.html.find(id="original") is None


def test_generation_11_reads_the_links_back_from_sent_letters(testapp, three_letters, in_site):
    from registry.resources.evolve import STEPS

    t = three_letters
    first_id = t["first"].rstrip("/").rsplit("/", 1)[1]
    with in_site() as site:
        first = site.orgs[A]["outbox"][first_id]
        expected = [reply.outgoing_number for reply in first.replies]
        for org in site.orgs.values():
            for letter in org["outbox"].values():
                letter.replies = ()  # as stored before generation 11
        del site.notifications
    with in_site() as site:
        dict(STEPS)[11](site)
        first = site.orgs[A]["outbox"][first_id]
        assert [reply.outgoing_number for reply in first.replies] == expected
        assert len(expected) == 1 and site.notifications.unread_count("rm_b") == 0
