"""Benchmark: the desk's lists at 100,000 open tasks in one organisation.

Builds a FileStorage (in a temporary directory) with a sending and a receiving organisation,
20 executors, and N registered deliveries each with an open task (as `open_task` leaves them:
a Task with its executor, co-executor for one in five, due date spread from 40 days ago to 80
days ahead, indexed in the organisation's Desk and in the sender's awaited answers). All
deliveries share one sent Letter (the lists never read its PDF). Then times, through the
whole WSGI application with a cookie session and a warm cache, p50/p95/max in ms:

- "My tasks" of one executor (HTML), its overdue filter, and its JSON (`@tasks`);
- control (HTML: every open task due first, the counts by executor);
- the JSON list of every open task, first page and a deep page (`b_after`);
- the home page (the account's, the organisation's and the awaited answers' counts).

    python bench/tasks.py                       # 100,000 open tasks
    python bench/tasks.py --size 10000 --requests 20
"""
import argparse
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from stats import peak_rss_mib, summary  # noqa: E402  (bench/)

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "src"), str(ROOT / "tests")]

SENDER, RECIPIENT = "1000001", "1000002"
EXECUTORS = [f"exe{n:02d}" for n in range(20)]


def build(path, size, batch, rng):
    import transaction
    import ZODB
    from ZODB.FileStorage import FileStorage

    from registry.directory import register_organisation
    from registry.resources.evolve import bootstrap
    from registry.resources.letter import Delivery, Letter
    from registry.resources.task import Task
    from registry.search.queue import IndexQueue
    from registry.store import site_of

    db = ZODB.DB(FileStorage(str(path / "Data.fs"), blob_dir=str(path / "blobs")),
                 cache_size=50000)
    bootstrap(db)
    conn = db.open()
    site = site_of(conn)
    register_organisation(site, "bench", SENDER, "Баянзүрх дүүргийн Засаг даргын Тамгын газар",
                          "government")
    org = register_organisation(site, "bench", RECIPIENT,
                                "Нийслэлийн Засаг даргын Тамгын газар", "government")
    sender = site.orgs[SENDER]
    letter = sender["outbox"].add_item(Letter(SENDER, "bench", subject="Хүсэлтийн тухай",
                                              recipients=[RECIPIENT]))
    letter.state, letter.outgoing_number = "sent", "01/1"
    transaction.commit()
    today = datetime.now(UTC).date()
    inbox = org["inbox"]
    started = time.perf_counter()
    for index in range(size):
        delivery = inbox.add_item(Delivery(letter, RECIPIENT))
        delivery.state = "registered"
        delivery.incoming_number = f"01/{index + 1}"
        task = Task(delivery, "request")
        task.executor = rng.choice(EXECUTORS)
        if rng.random() < 0.2:
            task.co_executors = (rng.choice([e for e in EXECUTORS if e != task.executor]),)
        task.due = today + timedelta(days=rng.randint(-40, 80))
        task.resolution = "Судалж хариу өгөх"
        delivery.task = task
        org.desk.update(task)
        sender.desk.await_answer(task)
        if (index + 1) % batch == 0:
            site.search_state.queue = IndexQueue()  # the lists never read the search queue
            transaction.commit()
            conn.cacheGC()
    site.search_state.queue = IndexQueue()
    transaction.commit()
    conn.close()
    db.close()
    return time.perf_counter() - started


def timed(app, url, headers, runs):
    app.get(url, headers=headers)  # warm-up
    samples = []
    for _ in range(runs):
        began = time.perf_counter()
        app.get(url, headers=headers)
        samples.append((time.perf_counter() - began) * 1000)
    return summary(samples)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--batch", type=int, default=5000)
    parser.add_argument("--tmp", default=None)
    args = parser.parse_args()
    rng = random.Random(10)

    from webtest import TestApp
    from ZODB.interfaces import IDatabase

    from registry import main as make_app
    from registry.accounts import create_account
    from registry.store import site_of

    with tempfile.TemporaryDirectory(dir=args.tmp) as tmp:
        seconds = build(Path(tmp), args.size, args.batch, rng)
        print(f"## {args.size:,} open tasks, {len(EXECUTORS)} executors: built in "
              f"{seconds:.0f} s; Data.fs {Path(tmp, 'Data.fs').stat().st_size / 2**20:,.0f} MiB")
        wsgi = make_app({}, **{
            "zodbconn.uri": f"file://{tmp}/Data.fs?blobstorage_dir={tmp}/blobs",
            "registry.data_dir": tmp, "registry.session_secret": "bench-secret-bench-secret",
            "search.writer": "off"})
        with wsgi.registry.getUtility(IDatabase).transaction() as conn:
            site = site_of(conn)
            for login, roles in (("exe00", ["executor"]), ("boss", ["records_manager"])):
                create_account(site, "bench", RECIPIENT, login, roles, "bench-password-1",
                               limits={})
            for login in EXECUTORS[1:]:
                create_account(site, "bench", RECIPIENT, login, ["executor"],
                               "bench-password-1", limits={})
        json = {"Accept": "application/json"}
        rows = []
        for login, pages in (
                ("exe00", [("My tasks (HTML)", f"/orgs/{RECIPIENT}/@@tasks", {}),
                           ("My tasks, overdue (HTML)",
                            f"/orgs/{RECIPIENT}/@@tasks?overdue=true", {}),
                           ("My tasks (JSON)", f"/orgs/{RECIPIENT}/@tasks", json),
                           ("home page (executor)", "/", {})]),
                ("boss", [("control (HTML, counts by executor)",
                           f"/orgs/{RECIPIENT}/@@control", {}),
                          ("control, overdue (HTML)",
                           f"/orgs/{RECIPIENT}/@@control?overdue=true", {}),
                          ("all open tasks (JSON, first page)", f"/orgs/{RECIPIENT}/@tasks",
                           json),
                          ("home page (records manager)", "/", {})])):
            app = TestApp(wsgi, extra_environ={"HTTP_HOST": "bench"})
            form = app.get("/@@login").forms["login-form"]
            form["login"], form["password"] = login, "bench-password-1"
            form.submit("submit")
            for label, url, headers in pages:
                rows.append((label, *timed(app, url, headers, args.requests)))
            if login == "boss":
                page = app.get(f"/orgs/{RECIPIENT}/@tasks?b_size=25", headers=json).json
                deep = min(200, args.size // 25 - 2)  # up to 5,000 rows deep
                for _ in range(deep):  # each page after the last one shown
                    page = app.get(page["batching"]["next"], headers=json).json
                rows.append((f"all open tasks (JSON, page after {deep * 25:,} rows)",
                             *timed(app, page["batching"]["next"], json, args.requests)))
        print(f"\n{'page':<48} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
        for label, p50, p95, top in rows:
            print(f"{label:<48} {p50:8.1f} {p95:8.1f} {top:8.1f}")
        print(f"\npeak RSS {peak_rss_mib():.0f} MiB")
        wsgi.registry.getUtility(IDatabase).close()


if __name__ == "__main__":
    main()
