"""The dashboards (issue #13): the monthly counters kept as letters move (sent, received,
registered, rejected, withdrawn, answered) and their durations, the schema generation that fills
them, an organisation's home page (what needs doing, charts with their tables), the city's
statistics as a page and as JSON, who may see them, and Ulaanbaatar's month boundaries. Time
moves by the application's clock (`registry.clock`)."""
from datetime import datetime, timezone

import pytest
import transaction

import pdfs
from conftest import CLOCK_START, JSON, generations_after, login, send_letter

SENDER, RECIPIENT = "1000001", "1000002"
NOW = CLOCK_START  # Thursday 2026-12-03, 10:00 in Ulaanbaatar


def delivery_of(testapp, headers, subject):
    items = testapp.get(f"/orgs/{RECIPIENT}/inbox", headers=headers).json["items"]
    found = [i["@id"].replace("http://registry.test", "") for i in items
             if i["subject"] == subject]
    assert len(found) == 1
    return found[0]


def fire(testapp, headers, path, name, status=200, **body):
    return testapp.post_json(path + "@workflow/" + name, body, headers=headers, status=status)


def month_counts(site, regno=None, month="2026-12"):
    tally = site.stats if regno is None else site.orgs[regno].stats
    counts = tally.months.get(month)
    return {k: v for k, v in counts.items() if isinstance(k, str)} if counts else {}


@pytest.fixture
def exchanged(testapp, api, pki, clock):
    """Three letters SENDER -> RECIPIENT: "Нэг" registered 2 h after sending and answered a day
    later, "Хоёр" rejected, "Гурав" withdrawn. Returns the sender's headers, the recipient's."""
    a, b = api("rm_a"), api("rm_b")
    pdf = pdfs.signed_letter(pki, SENDER)
    for subject in ("Нэг", "Хоёр", "Гурав"):
        send_letter(testapp, a, pdf, subject=subject)
    letters = {item["subject"]: item["@id"].replace("http://registry.test", "")
               for item in testapp.get(f"/orgs/{SENDER}/outbox", headers=a).json["items"]}
    clock.hours(2)
    one = delivery_of(testapp, b, "Нэг")
    fire(testapp, b, one, "register", executor="rm_b", due_days=3)
    fire(testapp, b, delivery_of(testapp, b, "Хоёр"), "reject", comment="Хамааралгүй")
    fire(testapp, a, letters["Гурав"], "withdraw", comment="Алдаатай")
    clock.hours(24)
    answer = testapp.post_json(f"/orgs/{RECIPIENT}/outbox", {
        "subject": "Хариу", "recipients": [SENDER],
        "in_reply_to": one.rstrip("/").rsplit("/", 1)[-1]}, headers=b, status=201).json["@id"]
    testapp.put(answer + "@file", pdfs.signed_letter(pki, RECIPIENT),
                headers={**b, "Content-Type": "application/pdf"})
    fire(testapp, b, answer, "sign")
    fire(testapp, b, answer, "send")
    return a, b


def test_counters_follow_sends_registrations_rejections_withdrawals_and_answers(
        exchanged, in_site):
    from registry.statistics import histogram_of, median

    with in_site() as site:
        # A withdrawn letter stays sent and received; a rejected one stays received.
        assert month_counts(site, SENDER) == {"sent": 3, "withdrawn": 1, "received": 1}
        assert month_counts(site, RECIPIENT) == {"received": 3, "registered": 1, "rejected": 1,
                                                 "answered": 1, "sent": 1}
        assert month_counts(site) == {"sent": 4, "received": 4, "registered": 1,
                                      "rejected": 1, "withdrawn": 1, "answered": 1}
        counts = site.orgs[RECIPIENT].stats.months["2026-12"]
        # Within a bucket's width (10 %) of the exact durations: 2 h, and 24 h.
        assert abs(median(histogram_of(counts, "registration")) - 7200) <= 720
        assert abs(median(histogram_of(counts, "answer")) - 86400) <= 8640
        # The sender sees how long its recipient took, and which letter was rejected.
        by_recipient = site.orgs[SENDER].stats.by_recipient("2026-12", "2026-12")
        assert list(by_recipient) == [RECIPIENT]
        assert abs(median(by_recipient[RECIPIENT]) - 7200) <= 720
        rejected = site.orgs[SENDER].stats.recent_rejections()
        assert [(site.orgs[SENDER]["outbox"][name].subject, regno)
                for name, regno, _when in rejected] == [("Хоёр", RECIPIENT)]
        assert site.orgs[SENDER].stats.rejected_total() == 1


def test_the_schema_generation_fills_the_counters_from_the_letters(exchanged, in_site):
    from registry.resources.evolve import evolve

    with in_site() as site:
        live = {regno: dict(site.orgs[regno].stats.months["2026-12"].items())
                for regno in (SENDER, RECIPIENT)}
        city = dict(site.stats.months["2026-12"].items())
        for org in site.orgs.values():
            del org.stats
        del site.stats
        site.generation = 12
        assert evolve(site) == generations_after(12)
        assert {regno: dict(site.orgs[regno].stats.months["2026-12"].items())
                for regno in (SENDER, RECIPIENT)} == live
        assert dict(site.stats.months["2026-12"].items()) == city
        assert site.orgs[SENDER].stats.rejected_total() == 1
        assert set(site.stats.active["2026-12"]) == {SENDER, RECIPIENT}


def test_a_letter_counts_in_its_month_of_ulaanbaatar_time(testapp, api, pki, clock, in_site):
    a = api("rm_a")
    pdf = pdfs.signed_letter(pki, SENDER)
    clock.to(datetime(2026, 11, 30, 15, 30, tzinfo=timezone.utc))  # 23:30 on 30 November
    send_letter(testapp, a, pdf, subject="Арван нэгэн сарын сүүлч")
    clock.to(datetime(2026, 11, 30, 16, 30, tzinfo=timezone.utc))  # 00:30 on 1 December
    send_letter(testapp, a, pdf, subject="Арван хоёр сарын эхэн")
    with in_site() as site:
        assert month_counts(site, SENDER, "2026-11") == {"sent": 1}
        assert month_counts(site, SENDER, "2026-12") == {"sent": 1}


def test_medians_come_from_histograms_within_ten_percent():
    from registry.statistics import bucket, median

    durations = [30, 600, 3600, 7200, 86400, 172800, 864000]
    histogram = {}
    for seconds in durations:
        histogram[bucket(seconds)] = histogram.get(bucket(seconds), 0) + 1
    assert abs(median(histogram) - 7200) <= 720
    assert median({}) is None
    assert bucket(-5) == 0 and bucket(59) == 0 and bucket(60) == 1


def test_concurrent_additions_to_a_month_both_count(db):
    from registry.statistics import Counts

    with db.transaction() as conn:
        conn.root()["counts"] = Counts()
    tm1, tm2 = transaction.TransactionManager(), transaction.TransactionManager()
    first, second = db.open(transaction_manager=tm1), db.open(transaction_manager=tm2)
    first.root()["counts"].add("sent")
    second.root()["counts"].add("sent", 2)
    second.root()["counts"].add("answered")
    tm1.commit()
    tm2.commit()  # a conflict, resolved by adding both transactions' increments
    with db.transaction() as conn:
        assert dict(conn.root()["counts"].items()) == {"sent": 3, "answered": 1}
    first.close()
    second.close()


def test_signing_in_lands_on_the_organisations_home_page(testapp):
    assert login(testapp, "rm_b").location == f"http://registry.test/orgs/{RECIPIENT}/"


def test_the_home_page_lists_what_needs_doing_with_counts(testapp, api, pki, clock):
    a, b = api("rm_a"), api("rm_b")
    pdf = pdfs.signed_letter(pki, SENDER)
    for subject in ("Төсвийн хүсэлт", "Тайлан", "Мэдэгдэл"):
        send_letter(testapp, a, pdf, subject=subject)
    fire(testapp, b, delivery_of(testapp, b, "Тайлан"), "register", executor="rm_b",
         due_days=2)
    fire(testapp, b, delivery_of(testapp, b, "Мэдэгдэл"), "reject", comment="Буруу хаяг")
    testapp.post_json(f"/orgs/{SENDER}/outbox", {"subject": "Ноорог", "recipients": [RECIPIENT]},
                      headers=a, status=201)

    login(testapp, "rm_b")
    page = testapp.get(f"/orgs/{RECIPIENT}/")
    register = page.html.find(id="to-register")
    assert register.find(class_="badge")["data-count"] == "1"
    assert [li.a.text for li in register.find_all("li")] == ["Төсвийн хүсэлт"]
    soon = page.html.find(id="tasks-soon")
    assert soon.find(class_="badge")["data-count"] == "1"
    assert [li.a.text for li in soon.find_all("li")] == ["Тайлан"]
    assert page.html.find(id="tasks-overdue").find(class_="badge")["data-count"] == "0"
    assert "2026-12" in page.html.find(id="chart-months").find("table").text

    clock.hours(24 * 6)  # Wednesday 9 December: the task (due Monday 7th) is overdue
    page = testapp.get(f"/orgs/{RECIPIENT}/")
    overdue = page.html.find(id="tasks-overdue")
    assert [li.a.text for li in overdue.find_all("li")] == ["Тайлан"]
    executors = page.html.find(id="chart-executors").find("tbody").find_all("tr")
    assert [[c.text for c in row.find_all(["th", "td"])] for row in executors] == [
        ["rm_b", "1", "1"]]

    login(testapp, "rm_a")
    page = testapp.get(f"/orgs/{SENDER}/")
    rejected = page.html.find(id="rejected-letters")
    assert rejected.find(class_="badge")["data-count"] == "1"
    assert "Мэдэгдэл" in rejected.li.a.text
    # Registered at once: under a minute, in words (never a message id).
    recipients = page.html.find(id="chart-recipients").find("tbody").find_all("tr")
    assert [[c.text for c in row.find_all(["th", "td"])] for row in recipients] == [
        ["Баянзүрх дүүргийн Засаг даргын Тамгын газар", "0 мин"]]
    drafts = page.html.find(id="drafts-waiting")
    assert [li.a.text for li in drafts.find_all("li")] == ["Ноорог"]
    # Another organisation's page shows its name, never its work.
    assert testapp.get(f"/orgs/{RECIPIENT}/").html.find(id="dashboard") is None


def test_the_city_statistics_as_json(testapp, api, exchanged, wsgi_app):
    body = testapp.get("/@stats?from=2026-01&to=2026-12", headers=api("admin")).json
    assert body["@type"] == "Statistics"
    assert body["period"] == {"from": "2026-01", "to": "2026-12"}
    assert [m["month"] for m in body["months"]][:2] == ["2026-01", "2026-02"]
    assert body["months"][-1]["sent"] == 4
    totals = body["totals"]
    assert (totals["sent"], totals["received"], totals["registered"], totals["overdue"]) == (
        4, 4, 1, 0)
    assert abs(totals["median_registration_seconds"] - 7200) <= 720
    # Four letters delivered electronically: 4 × 1,500₮, and 4 to 12 days of delivery.
    assert body["paper"] == {"letters": 4, "cost_per_letter": 1500, "currency": "MNT",
                             "cost": 6000, "days_saved": {"min": 4, "max": 12}}
    orgs = body["organisations"]
    assert [o["regno"] for o in orgs["items"]] == [SENDER, RECIPIENT]  # most sent first
    assert orgs["items_total"] == 2 and orgs["sort"] == "sent" and orgs["order"] == "desc"
    assert set(orgs["items"][1]) == {
        "regno", "name", "sent", "received", "registered", "rejected", "withdrawn",
        "answered", "paper", "overdue", "median_registration_seconds",
        "median_answer_seconds"}
    by_name = testapp.get("/@stats?sort=regno&order=desc&b_size=1", headers=api("admin")).json
    assert [o["regno"] for o in by_name["organisations"]["items"]] == [RECIPIENT]
    assert "next" in by_name["organisations"]["batching"]
    documented = testapp.get("/@openapi.json").json["components"]["schemas"]["Statistics"]
    assert set(body) == set(documented["properties"])
    assert set(orgs["items"][0]) == set(
        documented["properties"]["organisations"]["properties"]["items"]["items"]["properties"])
    assert set(totals) == set(documented["properties"]["totals"]["properties"])
    # Nothing before the period's first letter.
    assert testapp.get("/@stats?from=2025-01&to=2025-12",
                       headers=api("admin")).json["totals"]["sent"] == 0


@pytest.mark.parametrize("query, code", [("from=2026-13", "INVALID_PERIOD"),
                                         ("from=2026-12&to=2026-01", "INVALID_PERIOD"),
                                         ("from=2000-01&to=2026-12", "INVALID_PERIOD"),
                                         ("sort=subject", "INVALID_SORT"),
                                         ("b_size=0", "BAD_BATCH")])
def test_a_bad_period_or_sort_is_refused_with_a_400(testapp, api, query, code):
    body = testapp.get(f"/@stats?{query}", headers=api("admin"), status=400).json
    assert body["error"]["code"] == code


def test_only_the_site_administrator_sees_the_city_statistics(testapp, api):
    for name in ("rm_a", "aud_a", "biz_c"):
        testapp.get("/@stats", headers=api(name), status=404)
    testapp.get("/@stats", headers=JSON, status=401)
    login(testapp, "rm_a")
    testapp.get("/@@stats", status=404)
    assert "/@@stats" not in testapp.get(f"/orgs/{SENDER}/").text
    login(testapp, "admin")
    page = testapp.get("/@@stats")
    assert page.html.find(id="stats-paper") is not None
    assert page.html.find(id="chart-city-months") is not None
    assert "/@@stats" in testapp.get("/").text


def test_the_paper_figures_come_from_the_settings():
    from registry.settings import SettingsError, paper_figures

    assert paper_figures({}) == (1500, 1, 3)
    assert paper_figures({"registry.stats.paper_cost": "2000",
                          "registry.stats.delivery_days_saved": "2"}) == (2000, 2, 2)
    with pytest.raises(SettingsError):
        paper_figures({"registry.stats.delivery_days_saved": "3-1"})
