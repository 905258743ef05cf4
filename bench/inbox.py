"""Benchmark: an organisation's inbox page with 100,000 and 1,000,000 letters in it.

Builds a FileStorage (in a temporary directory) with one sending and one receiving organisation
and N letters sent from one to the other over the last year, then times the recipient's inbox
through the whole WSGI application (traversal, security, the view, the Chameleon template) with
a warm cache, as a records manager signed in with a cookie session sees it.

The letters are built directly, not through the gate (that would take hours), but as the
exchange leaves them: each Letter is added to the sender's outbox (`add_item`) and moved
draft -> signed -> sent (-> received) with `outbox.state_changed`, gets its outgoing number
from `outbox.next_number` (recorded in `outbox.journal`), the gate's verdict of each check
(`record_verdict`) and one history entry per transition; each Delivery is added to the
recipient's inbox and moved, as the engine does (set `state`, then `inbox.state_changed`), to
registered (~93 %: incoming number from `inbox.next_number`, `inbox.journal`), rejected
(~2 %, with a reason) or left delivered (~5 %, most of them the last days' letters).
Deliveries are spread evenly over the year before now. Every letter shares one small signed
PDF (one blob: the inbox never reads it). Audit records are not written (the inbox never reads
the audit trail). Commits every --batch letters and calls cacheGC, so memory stays bounded.

Then, for each tab (`?state=delivered|registered|rejected`), the first page and a deep page
(`b_start=10000`), and the JSON listing (`Accept: application/json`, all states) first and
deep: GET /orgs/<regno>/inbox/ --requests times after a warm-up, p50/p95/max in ms. Beside
each, the index work alone (`Inbox.in_state`) and, with --profile, where a page's time goes.

    python bench/inbox.py                          # 100,000 and 1,000,000 letters
    python bench/inbox.py --sizes 10000 --requests 30
"""
import argparse
import os
import sys
import tempfile
import time
from datetime import UTC
from pathlib import Path

from stats import peak_rss_mib, summary as percentiles  # noqa: E402  (bench/)

ROOT = Path(__file__).resolve().parent.parent
# This checkout's code and test helpers, whatever copy of `registry` is installed.
sys.path[:0] = [str(ROOT / "src"), str(ROOT / "tests")]

SENDER = "1000001"
RECIPIENT = "1000002"
DEEP = 10000
TARGET_P95_MS = 50.0
TARGET_SIZE = 1_000_000
TIMEZONE = "Asia/Ulaanbaatar"

SUBJECT_WORDS = [
    "Албан", "хүсэлт", "тайлан", "мэдэгдэл", "санал", "хариу", "гомдол", "шийдвэр", "тушаал",
    "журам", "төсөв", "барилга", "газрын", "зөвшөөрөл", "хурлын", "тэмдэглэл", "мэдээлэл",
    "хүргүүлэх", "тухай", "зам", "дулаан", "ус", "сургууль", "эмнэлэг", "татвар", "гэрээ",
    "хянан", "шалгах", "ажлын", "хэсэг", "нийслэлийн", "дүүргийн", "хорооны", "иргэдийн",
]
REJECTION_REASONS = ["Хаяг буруу", "Манай байгууллагад хамааралгүй", "Хавсралт дутуу"]


def mib(n):
    return n / 2**20


def sample_verdict():
    """A real verdict of the gate on a signed letter (as JSON text, to make fresh copies of),
    and that letter's bytes: built with the test PKI, checked once by the gate."""
    import json

    import pdfs
    from pki import TestPKI

    from registry.signatures import Gate, GateConfig

    pki = TestPKI()
    with tempfile.TemporaryDirectory() as tmp:
        trust = pki.write_trust_dir(Path(tmp) / "trust")
        data = pdfs.signed_letter(pki, SENDER)
        verdict = Gate(GateConfig(trust_dir=str(trust))).verify(data, SENDER)
    if not verdict.accepted:
        raise SystemExit(f"the sample letter was refused: {verdict.reasons}")
    return json.dumps(verdict.as_json()), data


class Maker:
    """Makes letters and their deliveries as the exchange leaves them (see the docstring)."""

    def __init__(self, site, rng, verdict_json, pdf):
        from zoneinfo import ZoneInfo

        from registry.resources.letter import StoredPDF

        self.site, self.rng, self.verdict_json = site, rng, verdict_json
        self.outbox = site.orgs[SENDER]["outbox"]
        self.inbox = site.orgs[RECIPIENT]["inbox"]
        self.zone = ZoneInfo(TIMEZONE)
        self.pdf = StoredPDF(pdf, "letter.pdf", "sender-rm")
        self.states = {"delivered": 0, "registered": 0, "rejected": 0}

    def verdict(self, when):
        import json

        data = json.loads(self.verdict_json)
        data["checked_at"] = when.isoformat()
        return data

    @staticmethod
    def entry(obj, when, actor, name, from_state, to_state, evidence, comment=""):
        from registry.workflow.engine import HistoryEntry

        obj.history = obj.history + (HistoryEntry(
            seq=len(obj.history) + 1, time=when.isoformat(), actor=actor, transition=name,
            from_state=from_state, to_state=to_state, comment=comment, evidence=evidence),)

    def move(self, obj, folder, to_state):
        old = obj.state
        obj.state = to_state
        folder.state_changed(obj, old)
        return old

    def subject(self):
        words = self.rng.sample(SUBJECT_WORDS, self.rng.randint(3, 9))
        return " ".join(words).capitalize()

    def letter(self, sent_at, end):
        from datetime import timedelta

        from registry.resources.letter import Delivery, Letter

        rng, outbox, inbox = self.rng, self.outbox, self.inbox
        created = sent_at - timedelta(minutes=rng.uniform(5, 3 * 24 * 60))
        signed_at = created + (sent_at - created) * rng.uniform(0.3, 0.95)
        letter = Letter(SENDER, "sender-clerk", subject=self.subject(), recipients=(RECIPIENT,),
                        series="01", now=created)
        letter.pdf = self.pdf
        outbox.add_item(letter, now=created)

        verdict = self.verdict(signed_at)
        self.move(letter, outbox, "signed")
        letter.record_verdict(verdict)
        self.entry(letter, signed_at, "sender-signer", "sign", "draft", "signed",
                   {"signature_gate": {"verdict": verdict}})

        verdict = self.verdict(sent_at)
        self.move(letter, outbox, "sent")
        letter.record_verdict(verdict)
        year = sent_at.astimezone(self.zone).year
        seq = outbox.next_number("01", year)
        letter.outgoing_number = f"01/{seq}"
        letter.number_year, letter.number_seq, letter.sent_at = year, seq, sent_at
        outbox.journal[(year, "01", seq)] = letter.__name__
        delivery = inbox.add_item(Delivery(letter, RECIPIENT, now=sent_at), now=sent_at)
        letter.deliveries[RECIPIENT] = delivery
        self.entry(letter, sent_at, "sender-rm", "send", "signed", "sent",
                   {"signature_gate": {"verdict": verdict},
                    "number_outgoing": {"number": letter.outgoing_number},
                    "deliver": {"deliveries": {RECIPIENT: delivery.__name__}}})

        # The fate of the delivery: the last days' letters mostly wait to be registered.
        recent = (end - sent_at).total_seconds() < 3 * 86400
        roll = rng.random()
        if roll < (0.7 if recent else 0.045):
            self.states["delivered"] += 1
            return
        handled_at = min(end, sent_at + timedelta(minutes=rng.uniform(10, 2 * 24 * 60)))
        if roll < (0.8 if recent else 0.065):
            self.move(delivery, inbox, "rejected")
            delivery.rejection_reason = rng.choice(REJECTION_REASONS)
            self.entry(delivery, handled_at, "recipient-rm", "reject", "delivered", "rejected",
                       {}, comment=delivery.rejection_reason)
            self.states["rejected"] += 1
            return
        verdict = self.verdict(handled_at)
        self.move(delivery, inbox, "registered")
        delivery.record_verdict(verdict)
        year = handled_at.astimezone(self.zone).year
        seq = inbox.next_number("01", year)
        delivery.incoming_number = f"01/{seq}"
        delivery.number_year, delivery.number_seq = year, seq
        delivery.registered_at = handled_at
        if rng.random() < 0.6:
            delivery.executor = "recipient-clerk"
        delivery.response_due = letter.response_due
        inbox.journal[(year, "01", seq)] = delivery.__name__
        self.entry(delivery, handled_at, "recipient-rm", "register", "delivered", "registered",
                   {"sender_signature_gate": {"verdict": verdict},
                    "number_incoming": {"number": delivery.incoming_number,
                                        "executor": delivery.executor},
                    "complete_letter": {"letter": "received"}})
        self.move(letter, outbox, "received")
        self.entry(letter, handled_at, "recipient-rm", "receive", "sent", "received", {})
        self.states["registered"] += 1


def build(path, count, batch, rng, verdict_json, pdf):
    """Build the store; return (seconds, states)."""
    from datetime import datetime, timedelta

    import transaction
    import ZODB
    from ZODB.FileStorage import FileStorage

    from registry.directory import register_organisation
    from registry.resources.evolve import bootstrap
    from registry.store import site_of

    db = ZODB.DB(FileStorage(str(path / "Data.fs"), blob_dir=str(path / "blobs")),
                 cache_size=50000)
    bootstrap(db)
    started = time.perf_counter()
    conn = db.open()
    site = site_of(conn)
    register_organisation(site, "bench", SENDER, "Баянзүрх дүүргийн Засаг даргын Тамгын газар",
                          "government")
    register_organisation(site, "bench", RECIPIENT, "Нийслэлийн Засаг даргын Тамгын газар",
                          "government")
    maker = Maker(site, rng, verdict_json, pdf)
    transaction.commit()
    end = datetime.now(UTC).replace(microsecond=0)
    span = timedelta(days=365).total_seconds()
    first = end - timedelta(days=365)
    report_every = max(batch, count // 10)
    for index in range(count):
        sent_at = first + timedelta(seconds=(index + rng.random()) * span / count)
        maker.letter(sent_at, end)
        done = index + 1
        if done % batch == 0 or done == count:
            transaction.commit()
            conn.cacheGC()
            if done % report_every == 0 or done == count:
                elapsed = time.perf_counter() - started
                print(f"  built {done:,} letters in {elapsed:.0f} s "
                      f"({done / elapsed:,.0f}/s), RSS peak {peak_rss_mib():.0f} MiB",
                      file=sys.stderr, flush=True)
    conn.close()
    seconds = time.perf_counter() - started
    db.close()  # writes Data.fs.index, so that the application opens it at once
    return seconds, maker.states


def timed(fn, runs):
    out = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        out.append((time.perf_counter() - started) * 1000)
    return out


def cases(deep=(DEEP,)):
    """(label, query, json?, states for in_state, start)."""
    all_states = ["delivered", "registered", "rejected"]
    out = []
    offsets = [(0, "first")] + [(start, "deep" if start == DEEP else f"b_start={start:,}")
                                for start in deep]
    for start, where in offsets:
        for tab in ("delivered", "registered", "rejected"):
            query = {"state": tab} if not start else {"state": tab, "b_start": start}
            out.append((f"HTML {tab}, {where}", query, False, [tab], start))
        query = {} if not start else {"b_start": start}
        out.append((f"JSON all states, {where}", query, True, all_states, start))
    return out


PHASES = [
    # (label, path fragment, function name): cumulative time per request of these calls
    ("whole request, WebTest included", "webtest/app.py", "do_request"),
    ("pyramid router (the WSGI app)", "pyramid/router.py", "__call__"),
    ("the view function", "registry/views/delivery.py", None),
    ("  Inbox.in_state (index walk, rows)", "registry/resources/letter.py", "in_state"),
    ("template (layout + inbox.pt)", "chameleon/template.py", "render"),
    ("  resource_url (links)", "pyramid/url.py", "resource_url"),
    ("JSON renderer", "pyramid/renderers.py", "_render"),
    ("security: permits", "pyramid/authorization.py", "permits"),
    ("ZODB: object loads (setstate)", "ZODB/Connection.py", "setstate"),
    ("session cookie (load/save)", "pyramid/session.py", None),
]


def profile_request(app, url, query, headers, runs, top):
    """Profile `runs` requests; return text: time per request in the main phases, then the
    functions with the most own time."""
    import cProfile
    import io
    import pstats

    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(runs):
        app.get(url, query, headers=headers)
    profiler.disable()
    stats = pstats.Stats(profiler)
    lines = ["    phase (cumulative, ms per request; profiled, so slower than above)"]
    for label, path, name in PHASES:
        total = 0.0
        for (filename, _line, function), (_cc, _nc, _tt, cumulative, callers) in \
                stats.stats.items():
            if path not in filename or (name is not None and function != name):
                continue
            # Count only calls from outside this same set (no double counting recursion).
            if name is None and any(path in caller[0] for caller in callers):
                continue
            if name is not None and any(path in c[0] and c[2] == name for c in callers):
                continue
            total += cumulative
        if total:
            lines.append(f"    {label:<40}{total * 1000 / runs:>8.2f}")
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(top)
    text = out.getvalue().splitlines()
    start = next((i for i, line in enumerate(text) if line.strip().startswith("ncalls")), 0)
    lines.append(f"    top {top} functions by own time ({runs} requests):")
    lines += ["    " + line for line in text[start:] if line.strip()]
    return "\n".join(lines)


def bench_size(count, args, rng, verdict_json, pdf):
    from webtest import TestApp
    from ZODB.interfaces import IDatabase

    from registry import main as make_app
    from registry.accounts import create_account
    from registry.store import site_of

    print(f"\n## {count:,} letters in one inbox")
    with tempfile.TemporaryDirectory(dir=args.tmp) as tmp:
        seconds, states = build(Path(tmp), count, args.batch, rng, verdict_json, pdf)
        size = Path(tmp, "Data.fs").stat().st_size
        print(f"built in {seconds:.1f} s ({count / seconds:,.0f} letters/s, each a Letter in "
              f"the outbox + a Delivery in the inbox); Data.fs {mib(size):,.0f} MiB "
              f"({size / count / 1024:.1f} KiB per letter); peak RSS so far "
              f"{peak_rss_mib():.0f} MiB")
        print("inbox: " + ", ".join(f"{state} {n:,}" for state, n in states.items()))

        opened = time.perf_counter()
        wsgi = make_app({}, **{
            "zodbconn.uri": f"file://{tmp}/Data.fs?blobstorage_dir={tmp}/blobs",
            "registry.data_dir": tmp, "registry.session_secret": "bench-secret-bench-secret"})
        print(f"application opened the store in {time.perf_counter() - opened:.1f} s")
        appdb = wsgi.registry.getUtility(IDatabase)
        with appdb.transaction() as conn:
            create_account(site_of(conn), "bench", RECIPIENT, "bench", ["records_manager"],
                           "bench-password-1", limits={})
        app = TestApp(wsgi, extra_environ={"HTTP_HOST": "bench"})
        form = app.get("/@@login").forms["login-form"]
        form["login"], form["password"] = "bench", "bench-password-1"
        form.submit("submit")
        url = f"/orgs/{RECIPIENT}/inbox/"

        conn = appdb.open()
        inbox = site_of(conn).orgs[RECIPIENT]["inbox"]
        rows = []
        all_states = ["delivered", "registered", "rejected"]
        cursor_cases = []
        for start in args.deep:  # the same deep pages, reached through b_after (a cursor)
            before = inbox.in_state(all_states, start - 1, 1)[0] if start else []
            if before:
                cursor_cases.append((f"JSON all states, b_after @{start:,}",
                                     {"b_after": before[0].__name__}, True, all_states,
                                     ("after", before[0].__name__)))
        for label, query, as_json, states_of, start in cases(args.deep) + cursor_cases:
            headers = {"Accept": "application/json"} if as_json else {}
            first = time.perf_counter()
            response = app.get(url, query, headers=headers)
            first = (time.perf_counter() - first) * 1000
            if as_json:
                shown = len(response.json["items"])
            else:
                shown = response.text.count('<td class="small text-nowrap">')
            if isinstance(start, tuple):  # a cursor
                walk = (lambda states_of=states_of, after=start[1]:
                        inbox.in_state(states_of, 0, 25, after=after))
            else:
                walk = (lambda states_of=states_of, start=start:
                        inbox.in_state(states_of, start, 25))
            for _ in range(args.warmup):  # warm the caches, as in a running server
                app.get(url, query, headers=headers)
                walk()
            index_only = percentiles(timed(walk, args.requests))
            page = percentiles(timed(
                lambda query=query, headers=headers: app.get(url, query, headers=headers),
                args.requests))
            rows.append((label, shown, index_only, page, first))
        print(f"\nwarm cache, {args.requests} requests each (ms); 'first' is the page's first "
              "request (cold cache for its rows; the very first also compiles templates)")
        print(f"{'page':<28}{'rows':>6}{'in_state p50/p95':>20}{'page p50':>11}{'p95':>9}"
              f"{'max':>9}{'first':>9}")
        for label, shown, index_only, page, first in rows:
            print(f"{label:<28}{shown:>6}{index_only[0]:>10.2f} /{index_only[1]:>7.2f}"
                  f"{page[0]:>11.2f}{page[1]:>9.2f}{page[2]:>9.2f}{first:>9.1f}")
        worst = max(rows, key=lambda row: row[3][1])
        if args.profile:
            for label, query, as_json in (("HTML registered, first", {"state": "registered"},
                                           False),
                                          ("HTML registered, deep",
                                           {"state": "registered", "b_start": DEEP}, False)):
                headers = {"Accept": "application/json"} if as_json else {}
                print(f"\nprofile of {label}:")
                print(profile_request(app, url, query, headers, args.profile_runs,
                                      args.profile_top))
        conn.close()
        appdb.close()
    return worst


def main():
    sys.stdout.reconfigure(line_buffering=True)
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100000,1000000",
                        help="comma-separated inbox sizes (default: 100000,1000000)")
    parser.add_argument("--requests", type=int, default=100,
                        help="timed requests per page (default 100)")
    parser.add_argument("--warmup", type=int, default=5,
                        help="untimed requests per page first (default 5)")
    parser.add_argument("--batch", type=int, default=10000,
                        help="letters per commit while building (default 10000)")
    parser.add_argument("--no-profile", dest="profile", action="store_false",
                        help="skip the cProfile breakdown of the registered tab's pages")
    parser.add_argument("--profile-runs", type=int, default=50,
                        help="requests profiled per page (default 50)")
    parser.add_argument("--profile-top", type=int, default=15,
                        help="functions shown per profile (default 15)")
    parser.add_argument("--tmp", default=None,
                        help="where to make the temporary store (default: the system's)")
    parser.add_argument("--seed", type=int, default=2026, help="random seed (default 2026)")
    parser.add_argument("--deep", default=str(DEEP),
                        help=f"comma-separated b_start offsets of the deep pages (default {DEEP})")
    args = parser.parse_args()
    try:
        sizes = [int(s.replace("_", "")) for s in args.sizes.split(",")]
    except ValueError:
        parser.error("--sizes takes whole numbers, e.g. 100000,1000000")
    try:
        args.deep = [int(s.replace("_", "")) for s in args.deep.split(",")]
    except ValueError:
        parser.error("--deep takes whole numbers, e.g. 10000,90000")
    if min(sizes) < 1 or args.requests < 1 or args.batch < 1 or args.warmup < 0:
        parser.error("sizes, --requests and --batch take positive whole numbers")

    import random

    print(f"# Inbox page benchmark (Python {sys.version.split()[0]}, FileStorage, warm cache, "
          "WebTest through the whole WSGI app, cookie session, 25 rows a page)")
    print("load average at start: " + " ".join(f"{x:.2f}" for x in os.getloadavg()))
    verdict_json, pdf = sample_verdict()
    rng = random.Random(args.seed)
    results = {}
    started = time.perf_counter()
    for count in sizes:
        results[count] = bench_size(count, args, rng, verdict_json, pdf)
    print(f"\ntotal run time {time.perf_counter() - started:.0f} s; "
          f"peak RSS {peak_rss_mib():.0f} MiB; load average at end " +
          " ".join(f"{x:.2f}" for x in os.getloadavg()))
    big = [count for count in sizes if count >= TARGET_SIZE]
    if big:
        count = max(big)
        label, _shown, _index, page, _first = results[count]
        verdict = "MET" if page[1] <= TARGET_P95_MS else "NOT MET"
        print(f"target: inbox page p95 <= {TARGET_P95_MS:.0f} ms at {TARGET_SIZE:,} letters: "
              f"{verdict} (slowest at {count:,}: {label}, p95 {page[1]:.1f} ms)")
    else:
        count = max(sizes)
        label, _shown, _index, page, _first = results[count]
        print(f"target (p95 <= {TARGET_P95_MS:.0f} ms at {TARGET_SIZE:,} letters) not "
              f"measured: largest size {count:,} (slowest page {label}, p95 {page[1]:.1f} ms)")


if __name__ == "__main__":
    main()
