"""Benchmark: the organisation's home page and the city's statistics at 100,000 letters among
200 organisations, read from the monthly tallies, side by side with scanning the letters.

Builds a FileStorage (in a temporary directory) with ORGS organisations and N sent letters,
one recipient each, sent over the last 12 months (one organisation, the "home" one, sends 5 %
of them and receives its share); 90 % are registered 1 to 72 hours after sending, 3 % rejected,
the rest wait; one in ten registered letters is answered 1 to 10 days later; the home
organisation's registered letters have open tasks with due dates around today. The tallies are
filled as the workflows' `count` effect fills them (the same `registry.statistics.record_*`
calls), no PDFs. Then, with a warm cache, p50/p95/max in ms:

- the home page (`/orgs/<regno>/`, HTML, through the whole WSGI application) and its figures
  computed in-process from the tallies, against the same figures by scanning the home
  organisation's outbox and inbox;
- the city's statistics (`GET /@stats` JSON and `/@@stats` HTML through the application) and
  in-process from the tallies, against a scan of every organisation's letters.

    python bench/dashboard.py                        # 100,000 letters, 200 organisations
    python bench/dashboard.py --letters 10000 --orgs 50 --requests 10
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

HOME = "1000000"
PASSWORD = "bench-password-1"


def regnos(count):
    return [f"{1000000 + n}" for n in range(count)]


def build(path, letters, orgs, batch, rng, now):
    import transaction
    import ZODB
    from ZODB.FileStorage import FileStorage

    from registry import statistics
    from registry.directory import register_organisation
    from registry.resources.evolve import bootstrap
    from registry.resources.letter import Delivery, Letter
    from registry.resources.task import Task
    from registry.store import site_of

    db = ZODB.DB(FileStorage(str(path / "Data.fs"), blob_dir=str(path / "blobs")),
                 cache_size=50000)
    bootstrap(db)
    conn = db.open()
    site = site_of(conn)
    numbers = regnos(orgs)
    for regno in numbers:
        register_organisation(site, "bench", regno, f"Байгууллага {regno}", "government")
    transaction.commit()
    started = time.perf_counter()
    today = now.date()
    for index in range(letters):
        sender = HOME if rng.random() < 0.05 else rng.choice(numbers)
        recipient = rng.choice(numbers)
        while recipient == sender:
            recipient = rng.choice(numbers)
        sent = now - timedelta(seconds=rng.randint(0, 364 * 86400))
        outbox = site.orgs[sender]["outbox"]
        letter = outbox.add_item(Letter(sender, "bench", subject="Хүсэлтийн тухай",
                                        recipients=[recipient], now=sent), now=sent)
        letter.state, letter.sent_at = "sent", sent
        outbox.state_changed(letter, "draft")
        letter.outgoing_number = f"01/{index + 1}"
        delivery = site.orgs[recipient]["inbox"].add_item(Delivery(letter, recipient, now=sent),
                                                          now=sent)
        letter.deliveries[recipient] = delivery
        statistics.record_sent(site, letter, sent)
        fate = rng.random()
        if fate < 0.90:
            registered = min(now, sent + timedelta(hours=rng.uniform(1, 72)))
            delivery.state, delivery.registered_at = "registered", registered
            delivery.__parent__.state_changed(delivery, "delivered")
            delivery.incoming_number = f"01/{index + 1}"
            statistics.record_registered(site, delivery, registered)
            if recipient == HOME:
                task = Task(delivery, "request")
                task.executor = f"exe{rng.randint(0, 9)}"
                task.due = today + timedelta(days=rng.randint(-20, 20))
                delivery.task = task
                site.orgs[HOME].desk.update(task)
            if rng.random() < 0.1 and registered + timedelta(days=10) < now:
                answer = site.orgs[recipient]["outbox"].add_item(
                    Letter(recipient, "bench", subject="Хариу", recipients=[sender],
                           in_reply_to=delivery.__name__))
                answer.state = "sent"
                answer.__parent__.state_changed(answer, "draft")
                answer.sent_at = registered + timedelta(days=rng.uniform(1, 10))
                delivery.answered_by = f"/orgs/{recipient}/outbox/{answer.__name__}"
                statistics.record_answered(site, delivery, answer)
        elif fate < 0.93:
            delivery.state = "rejected"
            delivery.__parent__.state_changed(delivery, "delivered")
            statistics.record_rejected(site, delivery, sent + timedelta(hours=5))
        if (index + 1) % batch == 0:
            transaction.commit()
            conn.cacheGC()
    transaction.commit()
    conn.close()
    db.close()
    return time.perf_counter() - started


# The scanning alternative: the same figures from every letter ----------------------------------

def _exact_median(values):
    values = sorted(values)
    return values[len(values) // 2] if values else None


def scan_org(site, org, first, last):
    """The home page's charts by walking the organisation's outbox and inbox."""
    from registry.statistics import month_of

    months = {}
    by_recipient = {}
    for letter in org["outbox"].values():
        if letter.sent_at and first <= month_of(letter.sent_at) <= last:
            months.setdefault(month_of(letter.sent_at), [0, 0])[0] += 1
        for regno, delivery in letter.deliveries.items():
            if delivery.registered_at and first <= month_of(delivery.registered_at) <= last:
                by_recipient.setdefault(regno, []).append(
                    (delivery.registered_at - delivery.delivered_at).total_seconds())
    answers = []
    for delivery in org["inbox"].values():
        if first <= month_of(delivery.delivered_at) <= last:
            months.setdefault(month_of(delivery.delivered_at), [0, 0])[1] += 1
        if delivery.answered_by and delivery.registered_at:
            answers.append(delivery.registered_at)
    return months, {r: _exact_median(v) for r, v in by_recipient.items()}, len(answers)


def scan_city(site, first, last):
    """The city's table by walking every organisation's letters."""
    from registry.statistics import month_of

    rows = {}
    for regno, org in site.orgs.items():
        sent = received = 0
        durations = []
        for letter in org["outbox"].values():
            if letter.sent_at and first <= month_of(letter.sent_at) <= last:
                sent += 1
        for delivery in org["inbox"].values():
            if first <= month_of(delivery.delivered_at) <= last:
                received += 1
            if delivery.registered_at:
                durations.append((delivery.registered_at - delivery.delivered_at)
                                 .total_seconds())
        if sent or received:
            rows[regno] = (sent, received, _exact_median(durations))
    return sorted(rows.items(), key=lambda item: -item[1][0])[:25]


def timed(call, runs):
    call()  # warm-up
    samples = []
    for _ in range(runs):
        began = time.perf_counter()
        call()
        samples.append((time.perf_counter() - began) * 1000)
    return summary(samples)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--letters", type=int, default=100_000)
    parser.add_argument("--orgs", type=int, default=200)
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--scans", type=int, default=3, help="runs of each scan (slow)")
    parser.add_argument("--batch", type=int, default=5000)
    parser.add_argument("--tmp", default=None)
    args = parser.parse_args()
    rng = random.Random(13)
    now = datetime.now(UTC)

    from webtest import TestApp
    from ZODB.interfaces import IDatabase

    from registry import dashboard, statistics
    from registry import main as make_app
    from registry.accounts import create_account
    from registry.store import site_of

    with tempfile.TemporaryDirectory(dir=args.tmp) as tmp:
        seconds = build(Path(tmp), args.letters, args.orgs, args.batch, rng, now)
        print(f"## {args.letters:,} letters among {args.orgs} organisations over 12 months: "
              f"built in {seconds:.0f} s; Data.fs "
              f"{Path(tmp, 'Data.fs').stat().st_size / 2**20:,.0f} MiB")
        wsgi = make_app({}, **{
            "zodbconn.uri": f"file://{tmp}/Data.fs?blobstorage_dir={tmp}/blobs",
            "registry.data_dir": tmp, "registry.session_secret": "bench-secret-bench-secret",
            "search.writer": "off"})
        db = wsgi.registry.getUtility(IDatabase)
        with db.transaction() as conn:
            site = site_of(conn)
            create_account(site, "bench", HOME, "boss", ["records_manager"], PASSWORD,
                           limits={})
            create_account(site, "bench", HOME, "city", ["site_admin"], PASSWORD, limits={},
                           may_grant_admin=True)
            home_letters = len(site.orgs[HOME]["outbox"]) + len(site.orgs[HOME]["inbox"])
        print(f"home organisation: {home_letters:,} letters and deliveries; "
              f"{args.requests} requests each, {args.scans} runs of each scan\n")
        rows = []
        json = {"Accept": "application/json"}
        for login, pages in (("boss", [("home page (HTML, records manager)",
                                        f"/orgs/{HOME}/", {})]),
                             ("city", [("GET /@stats (JSON, 12 months)", "/@stats", json),
                                       ("/@@stats (HTML, 12 months)", "/@@stats", {})])):
            app = TestApp(wsgi, extra_environ={"HTTP_HOST": "bench"})
            form = app.get("/@@login").forms["login-form"]
            form["login"], form["password"] = login, PASSWORD
            form.submit("submit")
            for label, url, headers in pages:
                rows.append((label, *timed(lambda: app.get(url, headers=headers),
                                           args.requests)))
        last = statistics.month_of(now)
        first = statistics.shift(last, -11)
        conn = db.open()
        site = site_of(conn)
        org = site.orgs[HOME]

        def from_tallies_org():
            org.stats.period(first, last)
            return org.stats.by_recipient(first, last)

        def from_tallies_city():
            return dashboard.city(site, first, last, now.date(), {})

        rows.append(("home charts, from the tallies (in-process)",
                     *timed(from_tallies_org, args.requests)))
        rows.append(("home charts, scanning its letters (in-process)",
                     *timed(lambda: scan_org(site, org, first, last), args.scans)))
        rows.append(("city table, from the tallies (in-process)",
                     *timed(from_tallies_city, args.requests)))
        rows.append(("city table, scanning every letter (in-process)",
                     *timed(lambda: scan_city(site, first, last), args.scans)))
        conn.close()
        print(f"{'what':<50} {'p50 ms':>9} {'p95 ms':>9} {'max ms':>9}")
        for label, p50, p95, top in rows:
            print(f"{label:<50} {p50:9.1f} {p95:9.1f} {top:9.1f}")
        print(f"\npeak RSS {peak_rss_mib():.0f} MiB")
        db.close()


if __name__ == "__main__":
    main()
