"""The embedded store: served over ZEO by one process, shared with others; evolve steps."""
import pytest
import transaction
import ZODB
from ZODB.MappingStorage import MappingStorage

from registry.resources.evolve import bootstrap
from registry.resources.evolve import STEPS, evolve, newest
from registry.store import EmbeddedStore, StoreBusy, open_db, site_of


def test_served_store_is_shared_with_clients(tmp_path):
    settings = {"registry.data_dir": str(tmp_path / "var")}
    db, server = open_db(settings, serve=True)
    try:
        assert server is not None and EmbeddedStore(tmp_path / "var").served()
        bootstrap(db)
        # A second process would find the socket and connect as a client.
        other, no_server = open_db(settings, serve=False)
        assert no_server is None
        try:
            with other.transaction() as conn:
                site_of(conn).orgs.register("1000001", "Клиентээс", "government")
            # Clients sync with the server when a transaction begins: seen at once.
            with db.transaction() as conn:
                assert site_of(conn).orgs["1000001"].name == "Клиентээс"
        finally:
            other.close()
    finally:
        db.close()
        server.close()
    assert not EmbeddedStore(tmp_path / "var").served()
    # Nothing serves it now: a command opens the files directly and sees the data.
    direct, _ = open_db(settings)
    try:
        with direct.transaction() as conn:
            assert "1000001" in site_of(conn).orgs
        with pytest.raises(StoreBusy):
            EmbeddedStore(tmp_path / "var").open_direct()
    finally:
        direct.close()


def test_long_data_directories_get_a_short_socket(tmp_path):
    deep = tmp_path / ("x" * 60) / ("y" * 60) / "var"
    store = EmbeddedStore(deep)
    assert len(str(store.socket_path)) <= 100
    assert EmbeddedStore(deep).socket_path == store.socket_path


def test_stale_socket_file_is_not_mistaken_for_a_server(tmp_path):
    store = EmbeddedStore(tmp_path)
    import socket

    listener = socket.socket(socket.AF_UNIX)
    listener.bind(str(store.socket_path))
    listener.close()  # the file remains, nobody listens
    assert not store.served()
    assert not store.socket_path.exists()


@pytest.fixture
def fresh_site():
    db = ZODB.DB(MappingStorage())
    assert bootstrap(db) == [newest()]
    conn = db.open()
    yield site_of(conn)
    transaction.abort()
    conn.close()
    db.close()


def test_new_site_is_at_the_newest_generation(fresh_site):
    assert fresh_site.generation == newest()
    assert evolve(fresh_site) == []


def test_evolve_runs_pending_steps_in_order(fresh_site):
    calls = []
    steps = [(1, lambda site: calls.append(1)), (2, lambda site: calls.append(2)),
             (3, lambda site: calls.append(3))]
    fresh_site.generation = 1
    assert evolve(fresh_site, steps) == [2, 3]
    assert calls == [2, 3] and fresh_site.generation == 3
    assert evolve(fresh_site, steps) == []


def test_evolve_refuses_data_newer_than_the_code(fresh_site):
    fresh_site.generation = newest() + 5
    with pytest.raises(RuntimeError):
        evolve(fresh_site)


def test_a_failing_step_leaves_the_generation_where_it_was(fresh_site):
    def broken(site):
        raise ValueError("boom")

    fresh_site.generation = 1
    with pytest.raises(ValueError):
        evolve(fresh_site, [(1, None), (2, broken)])
    assert fresh_site.generation == 1


def test_generation_2_gives_existing_mailboxes_their_indexes(fresh_site):
    org = fresh_site.orgs.register("1000001", "Хуучин", "government")
    for name in ("outbox", "inbox"):
        for attr in ("by_state", "state_counts", "journal", "counters"):
            delattr(org[name], attr)  # as the folders were before letters existed
    fresh_site.generation = 1
    assert evolve(fresh_site, STEPS[:2]) == [2]
    assert org["outbox"].in_state(["draft"]) == ([], 0)
    assert org["inbox"].next_number("01", 2026) == 1


def test_generation_3_queues_every_letter_for_the_search_index(fresh_site):
    from registry.exchange import create_draft

    org = fresh_site.orgs.register("1000001", "Хуучин", "government")
    letter = create_draft(fresh_site, "test", org, subject="Өмнөх бичиг")
    del fresh_site.search_state  # as the site was before search existed
    fresh_site.generation = 2
    assert evolve(fresh_site, STEPS[:3]) == [3]
    assert fresh_site.search_state.log.paths() == [f"/orgs/1000001/outbox/{letter.__name__}"]


def _concurrently(tmp_path, start, *changes):
    """A FileStorage holding StateSet(`start`) at root["set"]; each of `changes` (a function of
    the set) runs in a transaction of its own, all begun before any commits. Returns the
    committed set's items."""
    from ZODB.FileStorage import FileStorage

    from registry.resources.letter import StateSet

    db = ZODB.DB(FileStorage(str(tmp_path / "Data.fs")))
    with db.transaction() as conn:
        conn.root()["set"] = StateSet(start)
    managers = [transaction.TransactionManager() for _ in changes]
    conns = [db.open(transaction_manager=tm) for tm in managers]
    for tm, conn, change in zip(managers, conns, changes):
        tm.begin()
        change(conn.root()["set"])
    for tm in managers:
        tm.commit()
    with db.transaction() as conn:
        items = list(conn.root()["set"])
    db.close()
    return items


def test_a_state_set_merges_concurrent_removals_of_its_first_item_and_additions(tmp_path):
    """The newest letter of a state sent while another letter enters it, and another leaves:
    OOTreeSet refuses these (its first key removed), a StateSet merges them."""
    items = _concurrently(tmp_path, [(1, "a"), (2, "b"), (3, "c")],
                          lambda s: s.remove((1, "a")), lambda s: s.add((0, "z")),
                          lambda s: s.remove((3, "c")))
    assert items == [(0, "z"), (2, "b")]


def test_a_state_set_merges_concurrent_changes_that_empty_it(tmp_path):
    items = _concurrently(tmp_path, [(1, "a"), (2, "b")],
                          lambda s: s.remove((1, "a")), lambda s: s.remove((2, "b")))
    assert items == []


def test_a_state_set_beyond_one_bucket_is_resolved_as_an_oo_tree_set(tmp_path):
    """Several buckets: their own (OOTreeSet) rules; a removal of the first key still
    conflicts there."""
    from ZODB.POSException import ConflictError

    start = [(n, "x") for n in range(200)]
    with pytest.raises(ConflictError):
        _concurrently(tmp_path, start, lambda s: s.remove((0, "x")),
                      lambda s: s.remove((1, "x")))


def test_generation_18_makes_the_state_indexes_state_sets(fresh_site):
    from BTrees.OOBTree import OOTreeSet

    from registry.exchange import create_draft
    from registry.resources.letter import StateSet

    org = fresh_site.orgs.register("1000001", "Хуучин", "government")
    letter = create_draft(fresh_site, "test", org, subject="Өмнөх бичиг")
    index = org["outbox"].by_state
    (key,) = list(index.keys())
    index[key] = OOTreeSet(index[key].keys())  # as the index was before
    fresh_site.generation = 17
    assert evolve(fresh_site, STEPS[:18]) == [18]
    assert type(index[key]) is StateSet
    assert org["outbox"].in_state(["draft"]) == ([letter], 1)
