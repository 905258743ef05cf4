"""The inbox's and outbox's lists: tabs with counts, a date range, sorting, in both orders."""
from datetime import datetime, timedelta, timezone

import pytest

import pdfs
from conftest import PASSWORD, login, send_letter
from registry.resources.letter import Letter
from registry.resources.organisation import Outbox

T0 = datetime(2026, 11, 2, 1, 0, tzinfo=timezone.utc)


def box_of(times):
    """An outbox of drafts made at `times` (several may share a time, to the microsecond)."""
    box = Outbox()
    letters = [box.add_item(Letter("1000001", "clerk", subject=f"№{i}", now=when), now=when)
               for i, when in enumerate(times)]
    return box, letters


def names(items):
    return [item.subject for item in items]


def test_a_date_range_and_both_orders_read_the_state_index():
    times = [T0 + timedelta(hours=h) for h in (0, 5, 5, 5, 30, 50, 72)]
    box, letters = box_of(times)
    newest, total = box.in_state(["draft"], 0, 10)
    assert total == 7 and names(newest[:1]) == ["№6"]
    oldest, _total = box.in_state(["draft"], 0, 10, oldest_first=True)
    assert oldest == list(reversed(newest))
    since, until = T0 + timedelta(hours=5), T0 + timedelta(hours=50)
    window, total = box.in_state(["draft"], 0, 10, since=since, until=until)
    assert total == 4 and sorted(names(window)) == ["№1", "№2", "№3", "№4"]
    backwards, _total = box.in_state(["draft"], 0, 10, since=since, until=until,
                                     oldest_first=True)
    assert backwards == list(reversed(window))
    # Paging after an item gives the same pages as counting, in either order, within the range.
    for oldest_first in (False, True):
        pages, after = [], None
        for _ in range(3):
            page, _total = box.in_state(["draft"], 0, 2, after=after, since=since, until=until,
                                        oldest_first=oldest_first)
            pages += page
            after = page[-1].__name__ if page else None
        assert pages == (backwards if oldest_first else window)


def test_a_range_total_counts_index_keys_up_to_the_limit():
    box, _letters = box_of([T0 + timedelta(minutes=m) for m in range(30)])
    assert box.total_in(["draft"], since=T0, until=T0 + timedelta(minutes=12)) == 12
    assert box.total_in(["draft"], since=T0, limit=10) == 10


# The pages and the JSON ------------------------------------------------------------------

SENDER, RECIPIENT = "1000001", "1000002"
OUTBOX = f"/orgs/{SENDER}/outbox"


@pytest.fixture
def outbox(in_site):
    """SENDER's outbox: drafts «Б» (1 Nov), «А» (2 Nov), «В» (3 Nov) and a sent letter «Г»
    (4 Nov, 01/2 to two recipients), all at 10:00 Ulaanbaatar time."""
    with in_site() as site:
        box = site.orgs[SENDER]["outbox"]
        for day, subject, state in ((1, "Б", "draft"), (2, "А", "draft"), (3, "В", "draft"),
                                    (4, "Г", "sent")):
            when = datetime(2026, 11, day, 2, 0, tzinfo=timezone.utc)
            letter = Letter(SENDER, "clerk_a", subject=subject, now=when,
                            recipients=(RECIPIENT, "1000003"))
            letter.state = state
            if state == "sent":
                letter.outgoing_number = "01/2"
            box.add_item(letter, now=when)


def subjects(page, table="letters"):
    return [row.find("a").text for row in page.html.find(id=table).tbody.find_all("tr")]


def test_the_outbox_has_an_all_tab_and_counts_on_every_tab(testapp, api, outbox):
    login(testapp, "rm_a")
    page = testapp.get(OUTBOX + "/")
    counts = {a["id"]: a.find(class_="tab-count").text
              for a in page.html.find_all("a", class_="nav-link", id=True)
              if a["id"].startswith("tab-")}
    assert counts == {"tab-draft": "3", "tab-signed": "0", "tab-sent": "1", "tab-archived": "0",
                      "tab-all": "4"}
    assert subjects(page) == ["В", "А", "Б"]
    assert subjects(testapp.get(OUTBOX + "/?state=all")) == ["Г", "В", "А", "Б"]
    body = testapp.get(OUTBOX, headers=api("rm_a")).json
    assert (body["items_total"], body["counts"]["draft"], body["counts"]["sent"]) == (4, 3, 1)


def test_a_list_sorts_by_any_column_and_says_which(testapp, outbox):
    login(testapp, "rm_a")
    page = testapp.get(OUTBOX + "/?state=all&sort_on=subject")
    assert subjects(page) == ["А", "Б", "В", "Г"]
    sorted_th = page.html.find("th", attrs={"aria-sort": True})
    assert (sorted_th.a["data-sort"], sorted_th["aria-sort"]) == ("subject", "ascending")
    # The header's link turns the order over.
    again = testapp.get(sorted_th.a["href"].replace("http://registry.test", ""))
    assert subjects(again) == ["Г", "В", "Б", "А"]
    assert subjects(testapp.get(OUTBOX + "/?state=all&sort_on=created&sort_order=ascending")) \
        == ["Б", "А", "В", "Г"]
    # Letters without a number come after the numbered ones, in either order.
    assert subjects(testapp.get(OUTBOX + "/?state=all&sort_on=number"))[0] == "Г"
    assert subjects(testapp.get(OUTBOX + "/?state=all&sort_on=number&sort_order=descending")
                    )[0] == "Г"
    refused = testapp.get(OUTBOX + "/?sort_on=colour", status=400)
    assert refused.html.find(id="list-error").text.startswith("Жагсаалтыг")


def test_a_date_range_reads_dates_as_mongolians_write_them(testapp, api, outbox):
    login(testapp, "rm_a")
    page = testapp.get(OUTBOX + "/?state=all&from=2026.11.02&to=2026-11-3")
    assert subjects(page) == ["В", "А"]
    assert page.html.find(id="list-total").text.split()[-1] == "2"
    assert page.html.find(id="list-from")["value"] == "2026.11.02"
    bad = testapp.get(OUTBOX + "/?state=all&from=2026.13.02", status=400)
    assert "2026.13.02" in bad.html.find(id="list-error").text
    assert "is-invalid" in bad.html.find(id="list-from")["class"]
    assert bad.html.find(id="list-from")["value"] == "2026.13.02"
    body = testapp.get(OUTBOX + "?from=2026/11/04&sort_on=subject", headers=api("rm_a")).json
    assert ([i["subject"] for i in body["items"]], body["items_total"]) == (["Г"], 1)
    assert body["items"][0]["deliveries"] == {}
    reversed_range = testapp.get(OUTBOX + "?from=2026.11.04&to=2026.11.01",
                                 headers=api("rm_a"), status=400).json["error"]
    assert (reversed_range["code"], reversed_range["field"]) == ("BAD_FILTER", "to")


def test_the_inbox_shows_and_sorts_by_executor_and_due_date(testapp, api, pki, clock, in_site):
    from registry.accounts import create_account

    with in_site() as site:
        for name, fullname in (("exe_b", "Дорж Бат"), ("exe_b2", "Ану Сараа")):
            create_account(site, "test", RECIPIENT, name, ("executor",), PASSWORD,
                           fullname=fullname)
    rm_b = api("rm_b")
    for subject, executor, due in (("Эхний", "exe_b", "2026-12-20"),
                                   ("Дараах", "exe_b2", "2026-12-10")):
        send_letter(testapp, api("rm_a"), pdfs.signed_letter(pki, SENDER), subject=subject)
        delivery = testapp.get(f"/orgs/{RECIPIENT}/inbox?state=delivered",
                               headers=rm_b).json["items"][0]["@id"]
        testapp.post_json(delivery + "@workflow/register",
                          {"executor": executor, "due_date": due}, headers=rm_b)
    login(testapp, "rm_b")
    inbox = f"/orgs/{RECIPIENT}/inbox/?state=registered"
    by_due = testapp.get(inbox + "&sort_on=due")
    assert subjects(by_due, "deliveries") == ["Дараах", "Эхний"]
    first = by_due.html.find(id="deliveries").tbody.tr
    assert [td.text.split()[0] for td in first.find_all("td")[7:]] == ["Ану", "2026.12.10"]
    assert subjects(testapp.get(inbox + "&sort_on=executor&sort_order=descending"),
                    "deliveries") == ["Эхний", "Дараах"]
    body = testapp.get(f"/orgs/{RECIPIENT}/inbox?sort_on=due&sort_order=descending",
                       headers=rm_b).json
    assert [i["due_date"] for i in body["items"]] == ["2026-12-20", "2026-12-10"]
    assert (body["counts"]["registered"], body["counts"]["delivered"]) == (2, 0)


def test_chosen_letters_are_exported_as_journal_rows_and_audited(testapp, api, outbox, in_site):
    login(testapp, "rm_a")
    page = testapp.get(OUTBOX + "/?state=all")
    ids = {row.find("a").text: row.find("input", attrs={"name": "ids"})["value"]
           for row in page.html.find(id="letters").tbody.find_all("tr")}
    form = page.forms["bulk-form"]
    token = form["csrf_token"].value
    chosen = [("csrf_token", token), ("ids", ids["В"]), ("ids", ids["Г"]), ("action", "csv")]
    csv_file = testapp.post(OUTBOX + "/@@bulk", chosen)
    lines = csv_file.body.decode("utf-8-sig").splitlines()
    assert csv_file.content_type == "text/csv"
    assert [line.split(",")[4] for line in lines[2:]] == ["В", "Г"]
    assert lines[3].startswith("01/2,")
    xlsx = testapp.post(OUTBOX + "/@@bulk", chosen[:-1] + [("action", "xlsx")])
    assert xlsx.body[:2] == b"PK"
    with in_site() as site:
        exports = [r for r in reversed(site.audit.newest(0, 50)[0])
                   if r.action == "list.export"]
    assert [(r.actor, r.detail["format"], r.detail["ids"]) for r in exports] == [
        ("rm_a", "csv", [ids["В"], ids["Г"]]), ("rm_a", "xlsx", [ids["В"], ids["Г"]])]
    unknown = testapp.post(OUTBOX + "/@@bulk", [("csrf_token", token), ("ids", ids["В"]),
                                                ("ids", "20260101000000-00000000"),
                                                ("action", "csv")], status=400)
    assert "20260101000000-00000000" in unknown.text
    testapp.post(OUTBOX + "/@@bulk", [("csrf_token", token), ("action", "csv")], status=400)
    testapp.post(OUTBOX + "/@@bulk", [("csrf_token", token), ("ids", ids["В"]),
                                      ("action", "delete")], status=400)
    body = testapp.post(OUTBOX + "/@@bulk", {"ids": ids["В"], "action": "csv"},
                        headers=api("clerk_a"), status=403).json
    assert body["error"]["code"] == "FORBIDDEN"
    # Another organisation is refused at its folder, as for the list itself.
    testapp.post(OUTBOX + "/@@bulk", {"ids": ids["В"], "action": "csv"},
                 headers=api("rm_b"), status=403)
