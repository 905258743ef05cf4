"""Unit tests of the hash-chained audit trail."""
from dataclasses import replace

import pytest
import transaction
import ZODB
from ZODB.MappingStorage import MappingStorage

from registry.resources.audit import GENESIS, AuditTrail


@pytest.fixture
def trail():
    db = ZODB.DB(MappingStorage())
    conn = db.open()
    conn.root()["audit"] = trail = AuditTrail()
    for i in range(10):
        trail.append(f"user{i % 3}", "org.update", target=f"/orgs/{i}",
                     org="1000001" if i % 2 else "1000002", detail={"n": i, "name": "Нэр"})
    assert trail.pending_count() == 10 and trail.count == 0
    assert trail.seal() == 10
    transaction.commit()
    yield trail
    transaction.abort()
    conn.close()
    db.close()


def test_records_chain_to_their_predecessor(trail):
    records = [trail.get(seq) for seq in range(1, 11)]
    assert records[0].prev == GENESIS
    assert all(b.prev == a.hash for a, b in zip(records, records[1:]))
    assert trail.head == records[-1].hash
    assert trail.verify() == (True, 10, None, "")


def test_verify_names_the_first_tampered_record(trail):
    forged = replace(trail.get(4), actor="someone-else")
    trail._records[4] = forged
    ok, checked, bad, problem = trail.verify()
    assert not ok and bad == 4 and checked == 3 and "hash" in problem


def test_verify_finds_a_rehashed_forgery_by_the_broken_link(trail):
    forged = replace(trail.get(4), detail={"n": 999})
    forged = replace(forged, hash=forged.computed_hash())
    trail._records[4] = forged
    ok, _checked, bad, problem = trail.verify()
    assert not ok and bad == 5 and "link" in problem


def test_verify_finds_a_removed_record(trail):
    del trail._records[7]
    ok, _checked, bad, problem = trail.verify()
    assert not ok and bad == 8 and "gap" in problem


def test_newest_first_paging_and_per_org_view(trail):
    page, total = trail.newest(0, 3)
    assert [r.seq for r in page] == [10, 9, 8] and total == 10
    page, total = trail.newest(9, 3)
    assert [r.seq for r in page] == [1]
    page, total = trail.newest(0, 100, org="1000001")
    assert [r.seq for r in page] == [10, 8, 6, 4, 2] and total == 5


def test_pending_records_are_listed_before_sealed_ones(trail):
    trail.append("late", "login", org="1000001")
    page, total = trail.newest(0, 3)
    assert [r.actor for r in page][0] == "late" and not page[0].sealed and total == 11
    assert trail.seal() == 1 and trail.get(11).actor == "late" and trail.verify()[0]


def test_concurrent_appends_and_sealing_merge_without_conflict(tmp_path):
    """Appends only touch the pending queue, which resolves concurrent changes itself: two
    requests appending at once, and a sealer meanwhile, all commit."""
    from ZODB.FileStorage import FileStorage

    db = ZODB.DB(FileStorage(str(tmp_path / "Data.fs")))
    with db.transaction() as conn:
        conn.root()["audit"] = AuditTrail()
    managers = [transaction.TransactionManager() for _ in range(3)]
    conns = [db.open(transaction_manager=tm) for tm in managers]
    for tm in managers:
        tm.begin()
    conns[0].root()["audit"].append("a", "one")
    conns[1].root()["audit"].append("b", "two")
    conns[2].root()["audit"].seal()
    for tm in managers:
        tm.commit()
    with db.transaction() as conn:
        trail = conn.root()["audit"]
        assert trail.seal() == 2 and trail.verify() == (True, 2, None, "")
    db.close()


def test_every_audit_action_the_code_writes_has_words_on_the_page():
    """The trail's page shows an action in words (its code is small print beside them): every
    action written anywhere in the code, by name or as a transition, has them."""
    import re
    import tomllib
    from pathlib import Path

    import registry
    from registry.paths import shipped
    from registry.views.audit import action_title

    source = Path(registry.__file__).parent
    named, templated = set(), set()
    for path in source.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        for call in re.finditer(r"audit\.append\(\s*[^,]+,\s*(f?)\"([a-z_.{}]+)\"", text):
            (templated if call.group(1) else named).add(call.group(2))
    assert named and templated == {"fixity.{problem}", "report.{decision}",
                                   "{obj.workflow_name}.{name}"}
    transitions = {f"{workflow.stem}.{name}" for workflow in shipped("workflows").glob("*.toml")
                   for name in tomllib.loads(workflow.read_text(encoding="utf-8"))["transitions"]}
    actions = named | transitions | {"fixity.mismatch", "fixity.missing", "report.dismiss",
                                     "report.suspend"}
    assert [action for action in sorted(actions) if action_title(action) is None] == []


def test_sealer_threads_chain_every_record_once_while_requests_append_without_conflict(tmp_path):
    """Two sealer threads (as in two app processes) seal while four writers append in
    transactions of their own, as requests do: no writer ever conflicts, and at the end the
    chain holds every record once, numbered 1..N without a gap, and verifies."""
    import threading

    from ZODB.FileStorage import FileStorage
    from ZODB.POSException import ConflictError

    from registry.audit_sealing import Sealer
    from registry.resources.site import Site
    from registry.store import ROOT_KEY

    db = ZODB.DB(FileStorage(str(tmp_path / "Data.fs")))
    with db.transaction() as conn:
        conn.root()[ROOT_KEY] = Site()
    sealers = [Sealer(db, interval=0.005, poll_seconds=0.05) for _ in range(2)]
    for sealer in sealers:
        sealer.start()
    conflicts, writers, each = [], 4, 40

    def write(name):
        tm = transaction.TransactionManager(explicit=True)
        conn = db.open(transaction_manager=tm)
        for i in range(each):
            tm.begin()
            conn.root()[ROOT_KEY].audit.append(name, "org.update", detail={"i": i})
            try:
                tm.commit()
            except ConflictError:
                tm.abort()
                conflicts.append((name, i))
            sealers[i % 2].kick()
        conn.close()

    threads = [threading.Thread(target=write, args=(f"w{n}",)) for n in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for sealer in sealers:
        sealer.stop()
    with db.transaction() as conn:
        trail = conn.root()[ROOT_KEY].audit
        assert conflicts == []
        assert trail.pending_count() == 0
        assert trail.verify() == (True, writers * each, None, "")
        records = [trail.get(seq) for seq in range(1, writers * each + 1)]
        assert sorted((r.actor, r.detail["i"]) for r in records) == sorted(
            (f"w{n}", i) for n in range(writers) for i in range(each))
    db.close()


def test_the_sealer_thread_coalesces_the_records_of_many_requests_into_one_seal(tmp_path):
    """Records filed by requests within the interval since the last seal wait for it, and are
    chained by one commit (here: the one `stop` makes)."""
    import time

    from ZODB.FileStorage import FileStorage

    from registry.audit_sealing import Sealer
    from registry.resources.site import Site
    from registry.store import ROOT_KEY

    db = ZODB.DB(FileStorage(str(tmp_path / "Data.fs")))
    with db.transaction() as conn:
        conn.root()[ROOT_KEY] = Site()

    def request(i):
        with db.transaction() as conn:
            conn.root()[ROOT_KEY].audit.append("a", "org.update", detail={"i": i})
        sealer.kick()

    def pending():
        with db.transaction() as conn:
            return conn.root()[ROOT_KEY].audit.pending_count()

    sealer = Sealer(db, interval=60, poll_seconds=60)
    sealer.start()
    request(0)
    deadline = time.monotonic() + 10
    while pending() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert pending() == 0  # the first request's record: sealed at once
    for i in range(1, 6):
        request(i)
    time.sleep(0.2)
    assert pending() == 5  # within the interval: waiting
    before = db.lastTransaction()
    sealer.stop()
    after = list(db.storage.iterator(start=before))[1:]
    assert len(after) == 1
    with db.transaction() as conn:
        assert conn.root()[ROOT_KEY].audit.verify() == (True, 6, None, "")
    db.close()
