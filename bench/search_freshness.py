"""Benchmark: how soon a delivered letter is found by the recipient's search.

The application (registry.main) runs in this process with the index writer thread as in
production (`search.writer = thread`), on a FileStorage in a temporary directory. Sender
threads (--senders, each its own organisation) send signed letters through the JSON API
(draft, upload, sign, send) to one recipient, one after the other, for --letters letters in
all. Right after each send answers, a watcher searches as the recipient for the letter's own
word (`GET /@search?q=...`) every --poll ms until the delivery is found. Reports the p50/p95/max
of "send answered -> found by search" and the send rate reached. Letters are real signed
PDFs (the test PKI's, made on the fly), so the writer extracts each PDF's text in its worker.

    python bench/search_freshness.py                     # 60 letters, 1 and 3 senders
    python bench/search_freshness.py --letters 20 --senders 1
"""
import argparse
import logging
import os
import secrets
import sys
import tempfile
import threading
import time
from pathlib import Path

from stats import peak_rss_mib, summary  # noqa: E402  (bench/)

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "src"), str(ROOT / "tests")]

RECIPIENT = "1000100"
PASSWORD = "bench-password-1"


def build(folder, senders):
    import ZODB
    from ZODB.FileStorage import FileStorage

    from registry.accounts import create_account
    from registry.directory import register_organisation
    from registry.resources.evolve import bootstrap
    from registry.store import site_of

    db = ZODB.DB(FileStorage(str(folder / "Data.fs"), blob_dir=str(folder / "blobs")))
    bootstrap(db)
    regnos = [f"{1000001 + i}" for i in range(senders)]
    with db.transaction() as conn:
        site = site_of(conn)
        for regno in regnos + [RECIPIENT]:
            register_organisation(site, "bench", regno, f"Байгууллага {regno}", "government")
            create_account(site, "bench", regno, f"rm{regno}", ("records_manager",), PASSWORD,
                           limits={"government": None}, may_grant_admin=False)
    tokens = {}
    with db.transaction() as conn:
        site = site_of(conn)
        for regno in regnos + [RECIPIENT]:
            tokens[regno], _ = site.users.issue_token(site.users[f"rm{regno}"])
    db.close()
    return regnos, tokens


def run(letters, senders, poll_ms):
    from webtest import TestApp

    import pdfs
    from pki import TestPKI
    from registry import main
    from registry.demo import render_letter

    folder = Path(tempfile.mkdtemp(prefix="bench-freshness-"))
    pki = TestPKI()
    trust = pki.write_trust_dir(folder / "trust")
    regnos, tokens = build(folder, senders)
    app = main({}, **{
        "zodbconn.uri": f"file://{folder}/Data.fs?blobstorage_dir={folder}/blobs",
        "registry.data_dir": str(folder / "var"), "registry.trust_dir": str(trust),
        "registry.session_secret": "bench-secret-bench-secret-bench", "search.ocr": "false",
        "registry.limits.letters_per_day": "100000",
    })
    latencies, sent_at, lock = [], [], threading.Lock()

    def headers(regno):
        return {"Accept": "application/json", "Authorization": f"Bearer {tokens[regno]}"}

    def watch(word):
        client = TestApp(app, extra_environ={"HTTP_HOST": "bench"})
        started = time.perf_counter()
        while time.perf_counter() - started < 30:
            found = client.get("/@search", params={"q": word, "facets": "0"},
                               headers=headers(RECIPIENT)).json["items_total"]
            if found:
                with lock:
                    latencies.append((time.perf_counter() - started) * 1000)
                return
            time.sleep(poll_ms / 1000)
        with lock:
            latencies.append(float("inf"))

    def sender(regno, count):
        client = TestApp(app, extra_environ={"HTTP_HOST": "bench"})
        h = headers(regno)
        identity = pki.org(regno)
        watchers = []
        for _ in range(count):
            word = "z" + secrets.token_hex(5)
            pdf = pdfs.sign(render_letter(f"Байгууллага {regno}", "Хүлээн авагч", word,
                                          f"Төсвийн саналын тухай {word} мэдээлнэ үү.",
                                          "Дарга"), identity)
            letter = client.post_json(f"/orgs/{regno}/outbox", {
                "subject": f"Санал {word}", "recipients": [RECIPIENT]}, headers=h).json["@id"]
            client.put(letter + "@file", pdf, headers={**h, "Content-Type": "application/pdf"})
            client.post_json(letter + "@workflow/sign", {}, headers=h)
            client.post_json(letter + "@workflow/send", {}, headers=h)
            with lock:
                sent_at.append(time.perf_counter())
            watcher = threading.Thread(target=watch, args=(word,))
            watcher.start()
            watchers.append(watcher)
        for watcher in watchers:
            watcher.join()

    started = time.perf_counter()
    threads = [threading.Thread(target=sender, args=(regno, letters // senders))
               for regno in regnos]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    from registry.search.indexing import ISearchService

    app.registry.getUtility(ISearchService).stop()
    p50, p95, worst = summary(latencies)
    print(f"{senders} sender(s), {len(latencies)} letters, {len(latencies) / wall:5.1f} "
          f"letters/s sent | sent -> found by the recipient's search: p50 {p50:6.0f} ms  "
          f"p95 {p95:6.0f} ms  max {worst:6.0f} ms | peak RSS {peak_rss_mib():.0f} MiB")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--letters", type=int, default=60)
    parser.add_argument("--senders", default="1,3", help="comma-separated sender counts")
    parser.add_argument("--poll", type=float, default=20, help="search every N ms")
    args = parser.parse_args()
    # Many watchers search at once: more connections than the pool keeps is expected here.
    logging.getLogger("ZODB.DB").setLevel(logging.ERROR)
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"Delivered -> searchable (writer thread, poll every {args.poll:.0f} ms); "
          f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {os.cpu_count()} cores, "
          f"load average {load} at start")
    for senders in [int(s) for s in args.senders.split(",")]:
        run(args.letters, senders, args.poll)


if __name__ == "__main__":
    main()
