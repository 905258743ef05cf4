"""The search writer thread: index commits coalesced (at most one per `search.commit_ms`), a
letter searchable within a second of its commit, `flush()` for reading one's own writes, and
nothing lost when the process ends between the store's commit and the index's. On both
engines, through the one interface (`registry.search`)."""
import threading
import time

import pytest

from registry.search import SearchQuery
from registry.search.indexing import SearchService
from test_search_log import A, draft, found

#: What README promises: a letter is searchable within this many seconds of its commit.
FRESHNESS_SECONDS = 1.0


@pytest.fixture(params=["tantivy", "whoosh"])
def writer(request, settings, db, tmp_path):
    """writer(commit_ms) -> a started SearchService (writer thread) whose index records each
    `update` call in `service.updates` [(monotonic time, keys)]; `service.wait_for(keys)`
    waits (up to 10 s) until every key of `keys` has been applied, and says whether it was."""
    made = []

    def build(commit_ms, directory="index"):
        service = SearchService(db, {**settings, "search.directory": str(tmp_path / directory),
                                     "search.engine": request.param, "search.ocr": "false",
                                     "search.writer": "thread",
                                     "search.commit_ms": str(commit_ms)})
        service.updates, applied = [], threading.Condition()
        update = service.index.update

        def recording(documents=(), removed=()):
            update(documents, removed)
            with applied:
                service.updates.append((time.monotonic(), {doc.key for doc in documents}))
                applied.notify_all()

        def wait_for(keys):
            keys = set(keys)
            with applied:
                return applied.wait_for(
                    lambda: keys <= set().union(*(k for _t, k in service.updates)), 10)

        service.index.update, service.wait_for = recording, wait_for
        service.start()
        made.append(service)
        return service

    yield build
    for service in made:
        service.stop()


def key_of_draft(name):
    return f"{A}/outbox/{name}"


def test_changes_committed_within_the_interval_go_into_one_index_commit(db, writer):
    service = writer(commit_ms=2000)
    draft(db, A, "Эхний бичиг")
    assert service.flush(timeout=10) is True  # applied at once, not after the interval
    assert found(service, A, "эхний") == 1
    first_commit = service.updates[-1][0]
    service.updates.clear()
    names = []
    for number in range(4):
        names.append(draft(db, A, f"Дараагийн бичиг {number}"))
        service.kick()  # as the tween does after every writing request
    assert service.wait_for(key_of_draft(name) for name in names)
    assert [keys for _time, keys in service.updates] == [{key_of_draft(n) for n in names}]
    assert service.updates[0][0] - first_commit >= 2.0 - 0.05  # not before the interval
    assert found(service, A, "дараагийн") == 4


def test_a_letter_is_searchable_within_a_second_of_its_commit(db, writer):
    service = writer(commit_ms=250)  # the default
    draft(db, A, "Дулаан")  # the writer's first commit, so the next one waits its interval
    service.kick()
    assert service.flush(timeout=10)
    name = draft(db, A, "Хүйтэн өвөл")
    committed = time.monotonic()
    service.kick()
    assert service.wait_for([key_of_draft(name)])
    assert time.monotonic() - committed <= FRESHNESS_SECONDS
    assert found(service, A, "хүйтэн") == 1


def test_a_process_that_ends_before_the_index_commit_loses_nothing(db, writer):
    """The store committed, the index did not (the process ended while the writer waited out
    its interval): the next start applies the change log from where the index was."""
    service = writer(commit_ms=10_000)
    first = draft(db, A, "Өмнөх бичиг")
    assert service.flush(timeout=10)
    draft(db, A, "Алдагдахгүй бичиг")
    service.kick()  # the writer now waits out its interval: 10 s
    service.stop()  # the process ends now: its writer leaves without applying
    assert service.updates[-1][1] == {key_of_draft(first)}
    again = writer(commit_ms=250)  # the same index folder, a new process
    assert again.flush(timeout=10)
    assert found(again, A, "алдагдахгүй") == 1 and found(again, A, "өмнөх") == 1
    assert again.index.search(SearchQuery(org=A, facets=False)).total == 2


@pytest.mark.parametrize("value", ["-1", "10001", "soon"])
def test_a_commit_interval_out_of_range_is_refused_at_start(value):
    from registry.settings import search_commit_ms

    with pytest.raises(ValueError):
        search_commit_ms({"search.commit_ms": value})


def test_flush_never_writes_an_index_another_process_keeps(settings, db, tmp_path):
    service = SearchService(db, {**settings, "search.directory": str(tmp_path / "off"),
                                 "search.writer": "off"})
    draft(db, A, "Өөр процесс")
    assert service.flush() is False
    assert found(service, A, "процесс") == 0
    service.index.close()
