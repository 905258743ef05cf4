"""Notifications in the UI: who is told of what, the bell, the page, marking read; the store
keeps concurrent notifications of one account without conflicts."""
from datetime import datetime, timezone

import pdfs
import pytest
import transaction

from conftest import send_letter
from registry.notifications import NotificationBox, Notifications, logins, notify, subscribe
from registry.store import site_of

A, B = "1000001", "1000002"


@pytest.fixture
def sent(testapp, api, pki):
    """rm_a's letter to B; returns (letter path, B's delivery path)."""
    letter = send_letter(testapp, api("rm_a"), pdfs.signed_letter(pki, A))
    inbox = testapp.get(f"/orgs/{B}/inbox", headers=api("rm_b")).json
    return letter, inbox["items"][0]["@id"].replace("http://registry.test", "")


def kinds(in_site, login):
    with in_site() as site:
        box = site.notifications.box(login)
        return [note.kind for note in box.notes.values()] if box is not None else []


def test_a_new_letter_tells_the_recipients_records_managers_only(sent, in_site):
    assert kinds(in_site, "rm_b") == ["letter_received"]
    assert kinds(in_site, "aud_b") == []
    assert kinds(in_site, "rm_a") == []  # the sender is not told of its own act


def test_registration_tells_the_authors_and_the_executor(testapp, sent, api, in_site):
    letter, delivery = sent
    with in_site() as site:
        site.users.create("exec_b", site.orgs[B], ["executor"], "correct-horse-1")
    testapp.post_json(delivery + "@workflow/register", {"executor": "exec_b"},
                      headers=api("rm_b"))
    assert kinds(in_site, "rm_a") == ["letter_registered"]
    assert kinds(in_site, "exec_b") == ["task_assigned"]


def test_reassigning_tells_the_new_executor_and_the_one_it_was_taken_from(testapp, sent, api,
                                                                         in_site):
    _letter, delivery = sent
    with in_site() as site:
        for login in ("exec_b", "exec_c"):
            site.users.create(login, site.orgs[B], ["executor"], "correct-horse-1")
    rm_b = api("rm_b")
    testapp.post_json(delivery + "@workflow/register", {"executor": "exec_b"}, headers=rm_b)
    testapp.post_json(delivery + "@task/assign", {"executor": "exec_c"}, headers=rm_b)
    assert kinds(in_site, "exec_b") == ["task_reassigned", "task_assigned"]
    assert kinds(in_site, "exec_c") == ["task_assigned"]


def test_rejection_tells_the_authors(testapp, sent, api, in_site):
    _letter, delivery = sent
    testapp.post_json(delivery + "@workflow/reject", {"comment": "Буруу хаяг"},
                      headers=api("rm_b"))
    assert kinds(in_site, "rm_a") == ["letter_rejected"]


def test_an_answer_tells_the_original_authors_as_a_reply(testapp, sent, api, pki, in_site):
    _letter, delivery = sent
    rm_b = api("rm_b")
    testapp.post_json(delivery + "@workflow/register", {}, headers=rm_b)
    answer = testapp.post_json(f"/orgs/{B}/outbox", {
        "subject": "Хариу", "recipients": [A],
        "in_reply_to": delivery.rstrip("/").rsplit("/", 1)[1]}, headers=rm_b,
        status=201).json["@id"]
    testapp.put(answer + "@file", pdfs.signed_letter(pki, B),
                headers={**rm_b, "Content-Type": "application/pdf"})
    testapp.post_json(answer + "@workflow/sign", {}, headers=rm_b)
    testapp.post_json(answer + "@workflow/send", {}, headers=rm_b)
    assert kinds(in_site, "rm_a") == ["reply_received", "letter_registered"]


def test_the_bell_counts_and_the_page_marks_read(testapp, sent, login_as):
    app = login_as("rm_b")
    home = app.get("/")
    assert home.html.find(id="bell-count").text == "1"
    page = app.get(home.html.find(id="bell")["href"])
    item = page.html.find(id="notifications").find("li")
    assert item["data-kind"] == "letter_received" and item["data-read"] == "no"
    assert item.find("a")["href"].replace("http://registry.test", "") == sent[1]
    assert "Хурлын" not in item.text and "№" in item.text
    mark = next(form for form in page.forms.values() if "read" in form.fields)
    page = mark.submit("read").follow()
    assert page.html.find(id="notifications").find("li")["data-read"] == "yes"
    assert page.html.find(id="bell-count") is None


def test_mark_all_read_over_json_and_audited(testapp, sent, api, in_site):
    rm_b = api("rm_b")
    body = testapp.get("/users/rm_b/@notifications", headers=rm_b).json
    assert body["unread"] == 1 and body["items"][0]["kind"] == "letter_received"
    assert body["items"][0]["target"].endswith(sent[1])
    testapp.post_json("/users/rm_b/@notifications", {}, headers=rm_b, status=400)
    assert testapp.post_json("/users/rm_b/@notifications", {"all": True},
                             headers=rm_b).json == {"marked": 1, "unread": 0}
    with in_site() as site:
        assert site.audit.newest(0, 1)[0][0].action == "notifications.read"


@pytest.mark.parametrize("who", ["rm_a", "aud_b", "admin"])
def test_nobody_else_sees_an_accounts_notifications(testapp, sent, api, who):
    testapp.get("/users/rm_b/@notifications", headers=api(who), status=404)
    testapp.get("/users/rm_b/@@notifications",
                headers={"Authorization": api(who)["Authorization"]}, status=404)


def test_concurrent_notifications_of_one_account_do_not_conflict(db):
    tm1, tm2 = transaction.TransactionManager(), transaction.TransactionManager()
    conn1, conn2 = db.open(transaction_manager=tm1), db.open(transaction_manager=tm2)
    with tm1:
        site_of(conn1).notifications.box("rm_b", create=True)
    try:
        for tm, conn in ((tm1, conn1), (tm2, conn2)):
            tm.begin()
            site_of(conn).notifications.box("rm_b").add(
                "letter_received", "/orgs/1000002/", {"number": "1"}, "rm_a",
                datetime.now(timezone.utc))
        tm1.commit()
        tm2.commit()  # merged by the BTree's and the Length's conflict resolution
        tm1.begin()
        box = site_of(conn1).notifications.box("rm_b")
        assert len(box.notes) == 2 and box.unread() == 2
        tm1.abort()
    finally:
        conn1.close()
        conn2.close()


def test_a_subscriber_plugs_in_with_one_line(testapp, sent, api, in_site, monkeypatch):
    from registry import notifications

    monkeypatch.setattr(notifications, "SUBSCRIBERS", {k: list(v) for k, v in
                                                       notifications.SUBSCRIBERS.items()})
    subscribe("delivery", "reject", notifications.tell("task_reassigned", logins("executor")))
    _letter, delivery = sent
    with in_site() as site:
        site.orgs[B]["inbox"][delivery.rstrip("/").rsplit("/", 1)[1]].executor = "aud_b"
    testapp.post_json(delivery + "@workflow/reject", {"comment": "Буруу"}, headers=api("rm_b"))
    assert kinds(in_site, "aud_b") == ["task_reassigned"]
    assert kinds(in_site, "rm_b") == ["letter_received"]  # the actor is not told of its act


def test_notify_skips_unknown_and_inactive_accounts_and_refuses_unknown_kinds(in_site, sent):
    with in_site() as site:
        site.users["aud_b"].active = False
        target = site.orgs[B]["inbox"][sent[1].rstrip("/").rsplit("/", 1)[1]]
        assert notify(site, ["nobody", "aud_b", "rm_b", "rm_b"], "letter_received",
                      target) == ["rm_b"]
        with pytest.raises(KeyError):
            notify(site, ["rm_b"], "no_such_kind", target)


def test_a_box_pages_newest_first_and_marks_by_id():
    from datetime import timedelta

    box, start = NotificationBox(), datetime(2026, 1, 1, tzinfo=timezone.utc)
    notes = [box.add("letter_received", "/x", {"number": str(n)}, "a",
                     start + timedelta(minutes=n)) for n in range(5)]
    page, total = box.page(0, 2)
    assert total == 5 and [n.facts["number"] for n in page] == ["4", "3"]
    assert box.mark_read([notes[0].id, "junk", notes[0].id]) == 1
    assert box.unread() == 4
    assert [n.facts["number"] for n in box.unread_since(notes[2].time)] == ["3", "4"]
    assert Notifications().unread_count("nobody") == 0


def test_an_account_sets_its_own_mail_address_mode_and_language(testapp, login_as, in_site):
    app = login_as("rm_b")
    page = app.get("/users/rm_b/")
    form = page.forms["preferences-form"]
    form["email"] = "not an address"
    refused = form.submit("save", status=400)
    assert "name@example.mn" in refused.html.find(id="preferences-form").text
    form = refused.forms["preferences-form"]
    form["email"] = "rm_b@bzd.example.mn"
    form["mail_mode"] = "digest"
    form["language"] = "en"
    shown = form.submit("save").follow()
    assert "rm_b@bzd.example.mn" in shown.html.find(id="user-email").text
    with in_site() as site:
        user = site.users["rm_b"]
        assert (user.email, user.mail_mode, user.language) == ("rm_b@bzd.example.mn", "digest",
                                                               "en")
        assert site.audit.newest(0, 1)[0][0].action == "account.preferences"


def test_nobody_else_edits_an_accounts_mail_preferences(testapp, login_as):
    app = login_as("rm_a")
    assert "preferences-form" not in app.get("/users/clerk_a/").forms
