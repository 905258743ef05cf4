"""One suite for every search engine (`registry.search.open_index(engine=...)`): the same
documents, the same queries, the same answers, at the level of the index itself.

Relevance scores differ between the engines (Whoosh's BM25F and Tantivy's BM25 over the same
terms); what must hold is tested: which letters match, counts, facets, filters, date order,
equal scores newest first, paging, prefixes, phrases, the field syntax, the time budget.
"""
import threading
from datetime import UTC, date, datetime, timedelta

import pytest

from registry.errors import RegistryError
from registry.search import ENGINES, Document, SearchQuery, open_index, parsing

ORG, PEER, OTHER = "1000001", "1000002", "1000003"
NAMES = {ORG: "Нийслэлийн Засаг даргын Тамгын газар", PEER: "Баянзүрх дүүргийн Тамгын газар",
         OTHER: "Хөх тэнгэр трейд ХХК"}
TODAY = date(2026, 11, 25)


def doc(n, subject, text="", org=ORG, direction="outgoing", to=PEER, when=None, **extra):
    when = when or datetime(2026, 3, 1, 4, 0, tzinfo=UTC) + timedelta(days=n)
    sender = org if direction == "outgoing" else to
    recipient = to if direction == "outgoing" else org
    box = "outbox" if direction == "outgoing" else "inbox"
    extra.setdefault("state", "sent")
    return Document(key=f"{org}/{box}/{n:04d}", org=org, direction=direction, subject=subject,
                    text=text, sender=(sender, NAMES[sender]),
                    recipients=((recipient, NAMES[recipient]),), date=when,
                    outgoing_number=f"01/{n}", stamp=f"s{n}", **extra)


LETTERS = [
    doc(1, "Төсвийн саналын тухай", "Нийслэлийн 2027 оны төсвийн төслийг боловсруулахтай "
        "холбогдуулан байгууллагуудаас саналыг ирүүлнэ үү. Улаанбаатар хотын үерийн ажил."),
    doc(2, "Замын засварын тайлан", "Замын засварын ажлын гүйцэтгэлийн тайланг хүргүүлж байна."),
    doc(3, "Гэрээний төсөл", "Хороодын гэрээнүүдийг байгууллагад хүргүүлнэ.", to=OTHER),
    doc(4, "Хотын хороо", "Улаанбаатар болон бусад хот. Хан-Уул дүүргийн 3-р хороо.",
        direction="incoming", state="registered", executor="rm_b", incoming_number="02/7",
        due=date(2026, 11, 1), open=True),
    doc(5, "Засгийн газрын тогтоол", "Засаг даргын тамгын газарт хүргүүлэв. Registered "
        "organizations in Ulaanbaatar.", direction="incoming", state="delivered",
        due=date(2026, 12, 31), open=True),
    # 23:30 on 31 January in UTC is 1 February in Ulaanbaatar (UTC+8).
    doc(6, "Хуанлийн тухай", "Сарын эцсийн захидал.",
        when=datetime(2027, 1, 31, 23, 30, tzinfo=UTC)),
]


@pytest.fixture(params=ENGINES)
def engine(request):
    return request.param


@pytest.fixture
def index(engine, tmp_path):
    ix = open_index(str(tmp_path / "search"), engine=engine, zone="Asia/Ulaanbaatar")
    ix.update(LETTERS)
    yield ix
    ix.close()


def find(index, text="", **options):
    return index.search(SearchQuery(org=ORG, text=text, today=TODAY, **options),
                        text_for=lambda key: "")


def numbers(results):
    return sorted(int(hit.key.rsplit("/", 1)[1]) for hit in results.items)


@pytest.mark.parametrize("typed, found", [
    ("төсвийн", [1]), ("байгууллага", [1, 3]), ("ulaanbaatar", [1, 4, 5]),
    ("засвар*", [2]), ('"замын засварын"', [2]), ('"засварын замын"', []),
    ("хан-уул", [4]), ("01/2", [2]), ("02/7", [4]), ("2026-03-04", [3]),
    ("from:1000002", [4, 5]), ("to:1000003", [3]), ("subject:хороо", [4]),
    ("text:тогтоол", []), ("subject:тогтоол", [5]), ("number:01/5", [5]),
    ("date:2026-03*", [1, 2, 3, 4, 5]), ("executor:rm_b", [4]), ("state:delivered", [5]),
    ("year:2027", [6]), ("хот -хороо", [1]), ("ажил -замын", [1]), ("organization", [5]),
    ("байгууллага OR замын", [1, 2, 3]), ("(замын OR хороо) ажлын", [2]),
    ("year:[2026 TO 2026]", [1, 2, 3, 4, 5]), ("хот*", [1, 4]),
])
def test_what_a_query_finds(index, typed, found):
    results = find(index, typed)
    assert numbers(results) == found and results.total == len(found), typed


def test_facets_count_the_matching_letters(index):
    facets = find(index).facets
    assert facets["year"] == [("2027", 1), ("2026", 5)]
    assert facets["month"] == [("02", 1), ("03", 5)]  # 31 January, 23:30 UTC: February in UB
    assert facets["direction"] == [("outgoing", 4), ("incoming", 2)]
    assert facets["counterpart"] == [(PEER, 5), (OTHER, 1)]
    assert facets["state"] == [("sent", 4), ("delivered", 1), ("registered", 1)]
    assert facets["overdue"] == [("1", 1)]
    assert find(index, "хот").facets["direction"] == [("incoming", 1), ("outgoing", 1)]


def test_filters(index):
    assert numbers(find(index, year=2027)) == [6]
    assert numbers(find(index, year=2027, month=2)) == [6]
    assert numbers(find(index, counterpart=OTHER)) == [3]
    assert numbers(find(index, direction="incoming")) == [4, 5]
    assert numbers(find(index, state="registered")) == [4]
    assert numbers(find(index, overdue=True)) == [4]
    assert numbers(find(index, "ulaanbaatar", direction="incoming")) == [4, 5]


def test_date_order_and_paging(index):
    newest = [hit.key for hit in find(index, sort="newest", size=10).items]
    assert [int(key[-4:]) for key in newest] == [6, 5, 4, 3, 2, 1]
    oldest = [hit.key for hit in find(index, sort="oldest", size=10).items]
    assert oldest == newest[::-1]
    page = find(index, sort="newest", start=2, size=2)
    assert [hit.key for hit in page.items] == newest[2:4] and page.total == 6
    # No words: relevance means newest first.
    assert [hit.key for hit in find(index, size=10).items] == newest


def test_equal_scores_newest_first_across_pages(engine, tmp_path):
    ix = open_index(str(tmp_path / "ties"), engine=engine)
    same = [doc(n, "Тайлан", "Тайлан") for n in range(1, 31)]
    ix.update(same)
    pages = [ix.search(SearchQuery(org=ORG, text="тайлан", start=start, size=7))
             for start in range(0, 35, 7)]
    keys = [hit.key for page in pages for hit in page.items]
    assert keys == [d.key for d in reversed(same)]
    assert {page.total for page in pages} == {30}
    ix.close()


def test_a_better_match_ranks_first(index):
    # The word in the subject (boosted) and the text outranks the word in the text only.
    assert find(index, "замын засварын").items[0].key.endswith("/0002")
    assert find(index, "тогтоол").items[0].score > 0


def test_prefixes_are_expanded_against_the_partition_and_refused_past_the_limit(
        index, monkeypatch):
    assert numbers(find(index, "байгуулл*")) == [1, 3]
    assert numbers(find(index, "ulaanb*")) == [1, 4, 5]
    monkeypatch.setattr(parsing, "PREFIX_TERMS_MAX", 1)
    with pytest.raises(RegistryError) as refused:
        find(index, "хо*")  # хот, хороо, холбогдуул...
    assert refused.value.code == "BAD_QUERY"


@pytest.mark.parametrize("typed", [
    '"open', "(a", "x*", "nosuchfield:x", "state:\"a b\"", "*:*", "a^2", "'quoted'",
    "year:[2020 TO]", "date:{2026-01-01 TO 2026-12-31}", "х?т", "NOT хот", "хот AND NOT",
    "+хот", "хот~2", "хот^", ":", "((хот))", "\"\"", "-", "-хот", "01/", "a" * 600,
])
def test_any_query_is_answered_or_refused_with_a_message(index, typed):
    try:
        results = find(index, typed)
    except RegistryError as exc:
        assert exc.code == "BAD_QUERY" and exc.status == 400
    else:
        assert results.total == len(numbers(results))


def test_highlights_for_the_page_only(index):
    texts = {d.key: d.text for d in LETTERS}
    asked = []

    def text_for(key):
        asked.append(key)
        return texts[key]

    results = index.search(SearchQuery(org=ORG, text="засвар*", size=1), text_for=text_for)
    assert asked == [results.items[0].key]
    assert ">засварын</mark>" in results.items[0].highlights


def test_an_outsider_partition_finds_nothing(index):
    assert index.search(SearchQuery(org=OTHER)).total == 0
    assert index.search(SearchQuery(org=OTHER)).facets["year"] == []


def test_update_replaces_and_removes_idempotently(index):
    changed = doc(2, "Замын тайлан дахин", "Шинэ агуулга.")
    index.update([changed])
    index.update([changed])
    assert numbers(find(index, "засварын")) == []
    assert numbers(find(index, "дахин")) == [2] and find(index).total == 6
    index.update(removed=[changed.key, changed.key])
    index.update(removed=[changed.key])
    assert find(index).total == 5
    assert index.keys(ORG)[LETTERS[0].key] == "s1" and changed.key not in index.keys(ORG)


def test_rebuild_keys_drop_and_partitions(index):
    assert index.partitions() == [ORG]
    assert index.rebuild(ORG, iter(LETTERS[:2])) == 2
    assert sorted(index.keys(ORG)) == [LETTERS[0].key, LETTERS[1].key]
    index.update([doc(9, "Бусад", org=OTHER, to=ORG)])
    assert index.partitions() == [ORG, OTHER]
    index.drop(ORG)
    assert index.partitions() == [OTHER] and index.keys(ORG) == {}
    index.clear()
    assert index.partitions() == []


def test_another_instance_sees_the_commits(engine, index):
    other = open_index(index.directory, engine=engine, zone="Asia/Ulaanbaatar")
    assert find(other, "төсвийн").total == 1
    index.update([doc(7, "Шинэ бичиг")])
    assert find(other, "шинэ").total == 1
    other.close()


def test_the_time_budget_answers_what_was_found(index, engine):
    index.time_budget = 0.0
    results = find(index, "")
    assert results.partial is True
    # Whoosh stops matching and counts what it found; Tantivy's page and total are exact and
    # it leaves out the facets.
    if engine == "whoosh":
        assert results.total == 1 and results.facets["year"] == [("2026", 1)]
    else:
        assert results.total == 6 and results.facets["year"] == []


def test_a_busy_tantivy_writer_is_waited_for_not_an_error(tmp_path):
    import tantivy

    from registry.search.tantivy_engine import TantivyIndex, make_tantivy_schema

    ix = TantivyIndex(str(tmp_path / "search"), lock_timeout=10)
    ix.update(LETTERS[:1])
    other = tantivy.Index(make_tantivy_schema(), path=str(tmp_path / "search" / "tantivy" / ORG))
    held = other.writer(15_000_000, 1)  # another process's writer, as far as the lock goes
    done = threading.Event()
    worker = threading.Thread(target=lambda: (ix.update(LETTERS[1:2]), done.set()))
    worker.start()
    assert not done.wait(0.3)  # waiting for the lock
    del held
    assert done.wait(10)
    worker.join()
    assert find(ix).total == 2
    held = other.writer(15_000_000, 1)
    ix.lock_timeout = 0.2
    with pytest.raises(TimeoutError):
        ix.update(LETTERS[2:3])
    del held
    ix.close()


def test_a_partition_dropped_by_another_process_reads_empty_and_is_written_again(engine,
                                                                                  index):
    find(index, "төсвийн")  # open and cached here
    other = open_index(index.directory, engine=engine, zone="Asia/Ulaanbaatar")
    other.drop(ORG)
    other.close()
    assert find(index, "төсвийн").total == 0 and index.keys(ORG) == {}
    index.update(LETTERS[:1])
    assert find(index, "төсвийн").total == 1


def test_tantivy_merges_the_segments_of_many_small_commits(tmp_path):
    ix = open_index(str(tmp_path / "search"), engine="tantivy")
    for n in range(1, 41):
        ix.update([doc(n, "Тайлан")])
    searcher = ix._partition(ORG).searcher()
    assert searcher.num_docs == 40 and searcher.num_segments < 20
    ix.close()
