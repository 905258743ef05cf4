"""Full-text search through the application: what each organisation finds (and never finds),
the query language, facets and filters, the transactional queue under failure, reindexing,
the check, and OCR of a scanned letter — on real signed PDFs and a real index, with each
search engine (every test runs once per engine)."""
import time
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

import pdfs
from conftest import login, send_letter
from registry.demo import render_letter
from registry.search import ENGINES
from registry.search.indexing import ISearchService

SENDER, RECIPIENT, OTHER, FOURTH = "1000001", "1000002", "1000003", "1000004"
BUDGET_TEXT = ("Нийслэлийн 2027 оны төсвийн төслийг боловсруулахтай холбогдуулан "
               "байгууллагуудаас саналыг 12 дугаар сарын 15-ны дотор ирүүлнэ үү. "
               "Улаанбаатар хотын үерийн хамгаалалтын ажлыг эхлүүлнэ.")
ROAD_TEXT = "Замын засварын ажлын гүйцэтгэлийн тайланг хүргүүлж байна. Гэрээний дагуу."


def signed_mongolian(pki, body, regno=SENDER):
    pdf = render_letter("Нийслэлийн Засаг даргын Тамгын газар", "Баянзүрх дүүрэг",
                        "Албан бичиг", body, "Дарга Б. Болд")
    return pdfs.sign(pdf, pki.org(regno))


def send(testapp, headers, pdf, subject, recipients=(RECIPIENT,)):
    return "http://registry.test" + send_letter(testapp, headers, pdf, recipients, subject)


def search(testapp, headers, status=200, **params):
    return testapp.get("/@search", params=params, headers=headers, status=status).json


@pytest.fixture(params=ENGINES)
def settings(settings, request):
    return {**settings, "search.engine": request.param}


@pytest.fixture
def service(wsgi_app):
    return wsgi_app.registry.getUtility(ISearchService)


@pytest.fixture
def letters(testapp, api, pki):
    """Two letters from 1000001: the budget letter to 1000002 and 1000004, the road report to
    1000002 only."""
    headers = api("rm_a")
    budget = send(testapp, headers, signed_mongolian(pki, BUDGET_TEXT),
                  "Төсвийн саналын тухай", (RECIPIENT, FOURTH))
    road = send(testapp, headers, signed_mongolian(pki, ROAD_TEXT), "Замын засварын тайлан")
    return {"budget": budget, "road": road}


@pytest.mark.both_stores
def test_each_party_finds_the_letter_by_its_words_and_no_one_else_does(testapp, api, letters):
    sender = search(testapp, api("rm_a"), q="төсвийн")
    assert [i["@id"] for i in sender["items"]] == [letters["budget"]]
    assert sender["items"][0]["direction"] == "outgoing"
    assert "<mark" in sender["items"][0]["snippet"]
    recipient = search(testapp, api("rm_b"), q="төсвийн")
    assert recipient["items_total"] == 1
    assert recipient["items"][0]["direction"] == "incoming"
    assert recipient["items"][0]["@id"].startswith(f"http://registry.test/orgs/{RECIPIENT}/inbox/")
    # Another organisation: no result, no count, no facet, no snippet — for any query.
    for q in ("төсвийн", "", "01/1", "from:1000001", "засвар*"):
        outsider = search(testapp, api("biz_c"), q=q)
        assert outsider["items"] == [] and outsider["items_total"] == 0, q
        assert all(values == [] for values in outsider["facets"].values()), q


def test_inflected_and_transliterated_words_find_the_letter(testapp, api, letters):
    headers = api("rm_b")
    for q in ("байгууллага", "байгууллагын", "ulaanbaatar", "төс*", '"төсвийн төслийг"',
              "байгууллага улаанбаатар"):
        found = search(testapp, headers, q=q)
        assert found["items_total"] == 1, q
        assert found["items"][0]["subject"] == "Төсвийн саналын тухай", q
    assert search(testapp, headers, q='"төслийг төсвийн"')["items_total"] == 0


def test_a_registration_number_finds_exactly_that_letter(testapp, api, letters):
    first = search(testapp, api("rm_a"), q="01/1")
    assert [i["@id"] for i in first["items"]] == [letters["budget"]]
    second = search(testapp, api("rm_a"), q="01/2")
    assert [i["@id"] for i in second["items"]] == [letters["road"]]


def test_field_syntax_and_filters_and_facets(testapp, api, letters):
    headers = api("rm_b")
    assert search(testapp, headers, q="from:1000001")["items_total"] == 2
    assert search(testapp, headers, q="to:1000004")["items_total"] == 1
    today = datetime.now(ZoneInfo("Asia/Ulaanbaatar")).date().isoformat()
    assert search(testapp, headers, q=today)["items_total"] == 2
    assert search(testapp, headers, q=f"date:{today[:7]}*")["items_total"] == 2
    assert search(testapp, headers, q="2001-01-01")["items_total"] == 0
    assert search(testapp, headers, q="subject:замын")["items"][0]["subject"] == \
        "Замын засварын тайлан"
    everything = search(testapp, headers)
    assert everything["items_total"] == 2
    assert everything["facets"]["direction"] == [
        {"value": "incoming", "count": 2, "title": "Ирсэн"}]
    assert {f["value"]: f["count"] for f in everything["facets"]["counterpart"]} == {SENDER: 2}
    assert everything["facets"]["counterpart"][0]["title"] == \
        "Нийслэлийн Засаг даргын Тамгын газар"
    assert search(testapp, headers, direction="outgoing")["items_total"] == 0
    assert search(testapp, headers, state="delivered")["items_total"] == 2
    sender = search(testapp, api("rm_a"))
    assert {f["value"]: f["count"] for f in sender["facets"]["counterpart"]} == {
        RECIPIENT: 2, FOURTH: 1}
    assert search(testapp, api("rm_a"), counterpart=FOURTH)["items_total"] == 1
    newest = search(testapp, headers, sort="newest")["items"]
    oldest = search(testapp, headers, sort="oldest")["items"]
    assert [i["@id"] for i in newest] == [i["@id"] for i in reversed(oldest)]


@pytest.mark.both_stores
def test_state_changes_reach_the_index(testapp, api, letters):
    headers = api("rm_b")
    delivery = search(testapp, headers, q="замын")["items"][0]["@id"]
    testapp.post_json(delivery + "@workflow/register", {"executor": "rm_b"}, headers=headers)
    found = search(testapp, headers, q="замын", state="registered")
    assert found["items_total"] == 1 and found["items"][0]["incoming_number"] == "01/1"
    assert found["items"][0]["executor"] == "rm_b"
    assert search(testapp, headers, q="executor:rm_b")["items_total"] == 1
    assert search(testapp, headers, q="замын", state="delivered")["items_total"] == 0


def test_overdue_letters_are_found_and_an_answer_clears_them(testapp, api, letters, in_site):
    headers = api("rm_b")
    delivery = search(testapp, headers, q="замын")["items"][0]["@id"]
    # A due date in the past is refused at entry: register it on 20 January 2020 (the
    # application's clock), due on the 31st; by now it is long overdue.
    testapp.app.registry.clock = lambda: datetime(2020, 1, 20, 2, 0, tzinfo=timezone.utc)
    testapp.post_json(delivery + "@workflow/register",
                      {"executor": "rm_b", "response_due": "2020-01-31"}, headers=headers)
    assert search(testapp, headers, overdue="1")["items_total"] == 1
    assert search(testapp, headers)["facets"]["overdue"][0]["count"] == 1


@pytest.mark.parametrize("q, message", [
    ('"төсвийн төсөл', "quotation"),
    ("nosuchfield:x", "nosuchfield"),
    ("т*", "prefix"),
    ("(төсөв", "brackets"),
])
def test_a_malformed_query_gets_a_helpful_message_not_a_500(testapp, api, q, message):
    headers = {**api("rm_a"), "Cookie": "_LOCALE_=en"}
    answer = testapp.get("/@search", params={"q": q}, headers=headers, status=400).json
    assert answer["error"]["code"] == "BAD_QUERY"
    assert message in answer["error"]["message"].lower()


def test_wrong_filters_are_refused_clearly(testapp, api):
    headers = api("rm_a")
    for params in ({"year": "abc"}, {"month": "13"}, {"direction": "sideways"},
                   {"sort": "random"}, {"b_size": "100000"}):
        answer = testapp.get("/@search", params=params, headers=headers, status=400).json
        assert answer["error"]["code"] == "BAD_FILTER", params


def test_the_search_page_shows_results_facets_and_errors(testapp, letters):
    login(testapp, "rm_b")
    page = testapp.get("/@search", params={"q": "байгууллага"})
    assert page.html.find(id="search-total").text.strip().startswith("1")
    hit = page.html.find(id="search-results").find("a")
    assert hit.text.strip() == "Төсвийн саналын тухай"
    assert page.html.find(id="facet-counterpart") is not None
    assert page.html.select(".search-snippet mark")
    bad = testapp.get("/@search", params={"q": '"open'}, status=400)
    assert bad.html.find(id="search-error") is not None
    nav = [a.text.strip() for a in testapp.get("/").html.select("nav a")]
    assert "Хайх" in nav


def test_snippets_are_escaped(testapp, api, pki):
    headers = api("rm_a")
    send(testapp, headers, signed_mongolian(pki, "Төсвийн <script>alert(1)</script> санал"),
         "Тест")
    snippet = search(testapp, headers, q="төсвийн")["items"][0]["snippet"]
    assert "<script>" not in snippet and "&lt;script&gt;" in snippet


def test_accounts_without_a_role_on_letters_cannot_search(testapp, api):
    testapp.get("/@search", headers=api("admin"), status=403)


def test_a_crash_between_commit_and_indexing_is_recovered_by_the_queue(
        testapp, api, pki, service, in_site, monkeypatch):
    # The index fails after the request committed: the letter is in ZODB and its index work
    # stays queued; nothing is lost.
    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(service.index, "update", broken)
    headers = api("rm_a")
    send(testapp, headers, signed_mongolian(pki, ROAD_TEXT), "Замын тайлан")
    with in_site() as site:
        assert [l.state for l in site.orgs[SENDER]["outbox"].values()] == ["sent"]
        assert len(site.orgs[RECIPIENT]["inbox"]) == 1
        assert len(site.search_state.log) > 0
    monkeypatch.undo()
    assert search(testapp, headers, q="замын")["items_total"] == 0
    service.drain_all()
    assert search(testapp, headers, q="замын")["items_total"] == 1
    assert search(testapp, api("rm_b"), q="замын")["items_total"] == 1
    assert service.check()["queued"] == 0


def test_uncommitted_changes_never_reach_the_index(testapp, api, pki, service, in_site):
    import transaction

    from registry.exchange import create_draft

    tm = transaction.TransactionManager()
    conn = service.db.open(transaction_manager=tm)
    site = conn.root()["registry"]
    create_draft(site, "rm_a", site.orgs[SENDER], subject="Нууц төсөл")
    tm.abort()
    conn.close()
    service.drain_all()
    assert search(testapp, api("rm_a"), q="нууц")["items_total"] == 0


def test_reindex_gives_the_same_results_as_incremental_indexing(testapp, api, letters, service):
    queries = ["төсвийн", "байгууллага", "01/1", "from:1000001", "", "засвар*"]
    accounts = ["rm_a", "rm_b", "biz_c"]
    headers = {account: api(account) for account in accounts}

    def answers():
        return [(a, q, [i["@id"] for i in search(testapp, headers[a], q=q)["items"]],
                 search(testapp, headers[a], q=q)["facets"]) for a in accounts for q in queries]

    before = answers()
    service.index.clear()
    assert search(testapp, headers["rm_a"], q="төсвийн")["items_total"] == 0
    assert service.reindex() == 5  # 2 outgoing letters, 3 deliveries
    assert answers() == before


@pytest.mark.both_stores
def test_search_check_finds_missing_and_stale_and_repairs(settings, letters, service, db):
    from registry.cli import main as cli

    service.stop()  # the CLI opens the store itself
    db.close()
    runner = CliRunner()
    env = {"REGISTRY_DATA_DIR": settings["registry.data_dir"]}
    ini = _ini(settings)
    ok = runner.invoke(cli, ["-c", ini, "search", "check"], env=env)
    assert ok.exit_code == 0, ok.output
    assert "missing: 0" in ok.output and "stale: 0" in ok.output
    index = service.index.__class__(service.index.directory)
    index.drop(RECIPIENT)
    index.close()
    broken = runner.invoke(cli, ["-c", ini, "search", "check"], env=env)
    assert broken.exit_code == 1 and "missing: 2" in broken.output
    repaired = runner.invoke(cli, ["-c", ini, "search", "check", "--repair"], env=env)
    assert repaired.exit_code == 0 and "Repaired." in repaired.output
    again = runner.invoke(cli, ["-c", ini, "search", "check"], env=env)
    assert again.exit_code == 0 and "missing: 0" in again.output
    rebuilt = runner.invoke(cli, ["-c", ini, "reindex"], env=env)
    assert rebuilt.exit_code == 0 and "Indexed 5 documents" in rebuilt.output
    wrong = runner.invoke(cli, ["-c", ini, "reindex", "--org", "12"], env=env)
    assert wrong.exit_code == 2


def _ini(settings):
    import os
    import tempfile

    lines = ["[app:main]", "use = egg:registry"] + [f"{k} = {v}" for k, v in settings.items()]
    fd, path = tempfile.mkstemp(suffix=".ini")
    with os.fdopen(fd, "w") as handle:
        handle.write("\n".join(lines) + "\n")
    return path


@pytest.mark.slow
def test_a_scanned_letter_is_found_by_its_words_once_ocr_is_done(testapp, api, pki, service,
                                                                 in_site):
    from test_search_text import scanned_pdf

    headers = api("rm_a")
    send(testapp, headers, pdfs.sign(scanned_pdf(), pki.org(SENDER)), "Скан")
    assert search(testapp, headers, q="Скан")["items_total"] == 1
    assert search(testapp, headers, q="өртөөнөөс")["items_total"] == 0
    with in_site() as site:
        assert len(site.search_state.ocr) == 1
        (key,) = site.search_state.ocr.items
        site.search_state.ocr_claims[key] = ("another-machine:7", time.time() + 60)
    assert not service.ocr_once(), "another machine's process is OCRing it"
    with in_site() as site:
        site.search_state.ocr_claims[key] = ("another-machine:7", time.time() - 1)  # it ended
    assert service.ocr_once()  # the background OCR thread's work, done here
    with in_site() as site:
        assert len(site.search_state.ocr) == 0 and len(site.search_state.ocr_claims) == 0
    service.drain_all()
    found = search(testapp, headers, q="өртөөнөөс")
    assert found["items_total"] == 1 and "<mark" in found["items"][0]["snippet"]
    assert search(testapp, api("rm_b"), q="хугацаандаа")["items_total"] == 1


def test_a_letter_that_cannot_be_indexed_does_not_stall_the_others(testapp, api, pki,
                                                                   service, monkeypatch):
    from registry.search import indexing

    real = indexing.documents_for

    def failing_for_the_road_letter(site, item, text):
        if "Замын" in (getattr(item, "subject", None) or item.letter.subject):
            raise ValueError("cannot read this one")
        return real(site, item, text)

    monkeypatch.setattr(indexing, "documents_for", failing_for_the_road_letter)
    headers = api("rm_a")
    send(testapp, headers, signed_mongolian(pki, ROAD_TEXT), "Замын тайлан")
    send(testapp, headers, signed_mongolian(pki, BUDGET_TEXT), "Төсвийн санал")
    assert search(testapp, headers, q="төсвийн")["items_total"] == 1
    assert search(testapp, headers, q="замын")["items_total"] == 0
    monkeypatch.undo()
    report = service.check()
    assert len(report["missing"]) == 2 and report["queued"] == 0  # the letter, its delivery
    service.requeue(report["missing"])
    service.drain_all()
    assert search(testapp, headers, q="замын")["items_total"] == 1


def test_prefix_matches_are_highlighted_and_minus_excludes(testapp, api, letters):
    headers = api("rm_a")
    found = search(testapp, headers, q="засвар*")
    assert found["items_total"] == 1 and "<mark" in found["items"][0]["snippet"]
    assert search(testapp, headers, q="ажлын")["items_total"] == 2
    only = search(testapp, headers, q="ажлын -замын")
    assert [i["subject"] for i in only["items"]] == ["Төсвийн саналын тухай"]


def test_a_search_over_its_time_budget_answers_what_it_found(testapp, api, letters, service,
                                                            settings, monkeypatch):
    monkeypatch.setattr(service.index, "time_budget", 0.0)
    answer = search(testapp, api("rm_b"), q="")
    # Whoosh stops matching (it counts what it found); Tantivy's page and total are exact and
    # it leaves out the facets.
    found = {"whoosh": 1, "tantivy": 2}[settings["search.engine"]]
    assert answer["partial"] is True and answer["items_total"] == found  # of 2
    scored = search(testapp, api("rm_b"), q="ажлын")
    assert scored["partial"] is True and scored["items_total"] <= 2
    monkeypatch.undo()
    assert search(testapp, api("rm_b"), q="")["partial"] is False


def test_a_prefix_standing_for_too_many_words_is_refused(testapp, api, letters, monkeypatch):
    from registry.search import parsing

    monkeypatch.setattr(parsing, "PREFIX_TERMS_MAX", 1)
    answer = testapp.get("/@search", params={"q": "за*"}, headers=api("rm_b"), status=400)
    assert answer.json["error"]["code"] == "BAD_QUERY" and "за*" in answer.json["error"]["message"]


def test_check_calls_stale_only_what_the_index_would_show_differently(testapp, api, letters,
                                                                      service, in_site):
    with in_site() as site:
        letter = site.orgs["1000001"]["outbox"][letters["road"].rstrip("/").rsplit("/", 1)[1]]
        letter.record_verdict({"accepted": True, "note": "checked again"})  # not indexed
    assert service.check()["stale"] == []
    with in_site() as site:
        site.orgs[RECIPIENT].name = "Шинэ нэр"  # names are indexed: its letters are stale
    stale = service.check()["stale"]
    # Every document naming it: both outgoing letters, its 2 deliveries, and 1000004's copy of
    # the letter sent to both.
    assert len(stale) == 5 and sum(key.startswith(f"{RECIPIENT}/") for key in stale) == 2
