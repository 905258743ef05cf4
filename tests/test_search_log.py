"""The search change log in the shared store, applied by several machines to indexes of their
own (each SearchService here has its own search directory, as a machine has): nothing missed
when a transaction commits late, no conflict between organisations' writes, catching up after a
restart, trimming, rebuilding when behind the trimmed part, and `check` per machine."""
import time

import pytest
import transaction

from registry.exchange import create_draft
from registry.search import SearchQuery
from registry.search.indexing import REPORT_SECONDS, SearchService
from registry.store import site_of

pytestmark = pytest.mark.both_stores

A, B = "1000001", "1000002"
SECOND = 10**9


class Clock:
    def __init__(self):
        self.now = time.time_ns()

    def __call__(self):
        return self.now


@pytest.fixture
def machine(settings, db, tmp_path):
    """machine(name) -> a SearchService with its own index folder, on the shared store."""
    made = []

    def build(name, clock=None):
        service = SearchService(db, {**settings, "search.directory": str(tmp_path / name)},
                                clock=clock or time.time_ns)
        made.append(service)
        return service

    yield build
    for service in made:
        service.index.close()


def draft(db, regno, subject):
    tm = transaction.TransactionManager()
    conn = db.open(transaction_manager=tm)
    try:
        with tm:
            site = site_of(conn)
            return create_draft(site, "rm", site.orgs[regno], subject=subject).__name__
    finally:
        conn.close()


def found(service, regno, words):
    return service.index.search(SearchQuery(org=regno, text=words, facets=False)).total


def test_every_machine_applies_every_change_to_its_own_index(db, machine):
    one, two = machine("one"), machine("two")
    draft(db, A, "Төсвийн тухай")
    assert one.drain_all() == 1
    assert (found(one, A, "төсвийн"), found(two, A, "төсвийн")) == (1, 0)
    assert two.drain_all() == 1, "the first machine's applying took nothing from the second"
    draft(db, B, "Замын засвар")
    assert (two.drain_all(), one.drain_all()) == (1, 1)
    assert [found(m, B, "замын") for m in (one, two)] == [1, 1]
    assert one.drain_all() == 0, "nothing is applied twice"


def test_an_entry_committed_after_a_later_one_was_applied_is_not_missed(db, machine):
    one = machine("one")
    name = draft(db, A, "Хоёрдугаар бичиг")
    assert one.drain_all() == 1
    with db.transaction() as conn:  # a transaction whose key was taken a while before commit
        site = site_of(conn)
        first = create_draft(site, "rm", site.orgs[A], subject="Нэгдүгээр бичиг").__name__
    with db.transaction() as conn:
        changes = site_of(conn).search_state.log
        key, path = next((key, path) for key, path in changes.entries.items()
                         if path.endswith(first))
        del changes.entries[key]
        changes.add(path, now_ns=key[0] - 30 * SECOND)  # older than the applied entry
    assert one.drain_all() == 1
    assert found(one, A, "нэгдүгээр") == 1 and found(one, A, "хоёрдугаар") == 1
    assert name != first


def test_drafts_in_two_organisations_commit_concurrently_without_conflict(db):
    managers = [transaction.TransactionManager() for _ in range(2)]
    conns = [db.open(transaction_manager=tm) for tm in managers]
    try:
        for tm, conn, regno in zip(managers, conns, (A, B)):
            tm.begin()
            site = site_of(conn)
            create_draft(site, "rm", site.orgs[regno], subject="Зэрэг")
        for tm in managers:
            tm.commit()  # no ConflictError: the log merges both
    finally:
        for conn in conns:
            conn.close()
    with db.transaction() as conn:
        assert len(site_of(conn).search_state.log) == 2


def test_a_restarted_machine_catches_up_without_rebuilding(db, machine, monkeypatch):
    first = machine("one")
    draft(db, A, "Өмнөх бичиг")
    first.drain_all()
    first.index.close()
    draft(db, A, "Дараах бичиг")  # while the machine is down
    again = machine("one")

    def no_rebuild(*args, **kwargs):
        raise AssertionError("a machine with a position catches up from the log")

    monkeypatch.setattr(again, "_reindex", no_rebuild)
    assert again.drain_all() == 1
    assert found(again, A, "дараах") == 1 and found(again, A, "өмнөх") == 1


def test_applied_entries_are_trimmed_and_a_machine_behind_them_rebuilds(db, machine):
    clock = Clock()
    one, two = machine("one", clock), machine("two", clock)
    for subject in ("Нэг", "Хоёр", "Гурав"):
        draft(db, A, subject)
    one.drain_all(), two.drain_all()  # both report where they are
    clock.now += 200 * SECOND  # past the window: every entry is older than both horizons
    one.drain_all(), two.drain_all()
    with db.transaction() as conn:
        changes = site_of(conn).search_state.log
        assert len(changes) == 0 and changes.trimmed_before > 0
        assert len(changes.machines) == 2

    two.index.close()  # the second machine stops for longer than the retention
    draft(db, A, "Дөрөв")
    clock.now += 2 * 86400 * SECOND
    one.drain_all()
    clock.now += REPORT_SECONDS * SECOND
    one.drain_all()  # reports again, forgets the machine gone for a day, trims
    with db.transaction() as conn:
        changes = site_of(conn).search_state.log
        assert list(changes.machines) == [one.positions.load(changes.id).machine]
        assert len(changes) == 0
    back = machine("two", clock)
    assert back.drain_all() > 0  # rebuilt from the database
    assert found(back, A, "дөрөв") == 1 and found(back, A, "гурав") == 1
    assert back.check()["missing"] == []


def test_a_new_machine_builds_its_index_from_the_database_once_the_log_was_trimmed(
        db, machine):
    clock = Clock()
    one = machine("one", clock)
    draft(db, B, "Эртний бичиг")
    one.drain_all()
    clock.now += 200 * SECOND
    one.drain_all()
    with db.transaction() as conn:
        assert len(site_of(conn).search_state.log) == 0
    new = machine("new", clock)
    assert new.drain_all() > 0
    assert found(new, B, "эртний") == 1


def test_check_is_per_machine(db, machine):
    one, two = machine("one"), machine("two")
    draft(db, A, "Шалгах бичиг")
    one.drain_all()
    assert (one.check()["queued"], two.check()["queued"]) == (0, 1)
    two.drain_all()
    assert two.check() == {**one.check()}
    assert two.check()["missing"] == [] and two.check()["stale"] == []


def test_generation_10_turns_the_queue_into_a_log_and_every_machine_rebuilds_once(
        db, machine, in_site):
    from registry.resources.evolve import evolve
    from registry.search.queue import IndexQueue

    name = draft(db, A, "Хуучин дараалал")
    with in_site() as site:  # as a site was before generation 10
        state = site.search_state
        state.queue = IndexQueue()
        del state.log, site.sign_in_failures, site.trust_store
        site.generation = 9
    with in_site() as site:
        assert evolve(site) == [10, 11, 12, 15]
        state = site.search_state
        assert "queue" not in state.__dict__ and not state.log.complete
        assert len(site.sign_in_failures) == 0 and not site.trust_store.seeded
    upgraded = machine("upgraded")
    assert upgraded.drain_all() > 0  # rebuilt from the database: the log lacks older changes
    assert found(upgraded, A, "хуучин") == 1 and name
    assert upgraded.check()["missing"] == []
