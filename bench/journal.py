"""Benchmark: an organisation's journal at 10,000 and 100,000 entries — the page, the count,
and each export (CSV, XLSX, PDF): time and peak memory.

Builds a FileStorage in a temporary directory with one organisation whose outbox holds N sent
letters numbered in two series over one year (each with two recipients, as the journal shows
them), then reads its journal as the application does (registry.journal.Journal):

    page       a page of 50 rows at the start, the middle and the end of the year, reached as
               the "next" links reach it (after the last entry of the page before) and, for
               comparison, by offset (b_start); ms, p50/p95 over 10 reads, each with a cold
               object cache
    count      the number of entries of a one-month period (ms)
    export     the whole year as csv, xlsx and pdf: seconds, file size, and how far the
               process's resident memory rose above where it was (its peak, VmHWM, reset
               before each export), which must not grow with N for csv and xlsx

    python bench/journal.py                  # 10,000 and 100,000 entries
    python bench/journal.py --sizes 2000
"""
import argparse
import os
import sys
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "src"), str(ROOT / "bench")]

from stats import percentile  # noqa: E402

UB = ZoneInfo("Asia/Ulaanbaatar")
SENDER, RECIPIENTS = "1000001", ("1000002", "1000003")


def build(folder, size):
    import transaction
    import ZODB
    from ZODB.FileStorage import FileStorage

    from registry.directory import register_organisation
    from registry.resources.evolve import bootstrap
    from registry.resources.letter import Delivery, Letter
    from registry.store import site_of

    db = ZODB.DB(FileStorage(str(folder / "Data.fs"), blob_dir=str(folder / "blobs")))
    bootstrap(db)
    with db.transaction() as conn:
        site = site_of(conn)
        register_organisation(site, "bench", SENDER, "Нийслэлийн Засаг даргын Тамгын газар",
                              "government")
        for regno in RECIPIENTS:
            register_organisation(site, "bench", regno, f"Байгууллага {regno}", "government")
    start = datetime(2026, 1, 1, 1, 0, tzinfo=UB).astimezone(timezone.utc)
    step = timedelta(seconds=365 * 86400 / size)
    conn = db.open()
    site = site_of(conn)
    outbox = site.orgs[SENDER]["outbox"]
    for i in range(size):
        when = start + step * i
        series = "01" if i % 3 else "02"
        letter = outbox.add_item(Letter(SENDER, "bench", subject=f"Албан бичиг {i}: төсвийн "
                                        "гүйцэтгэлийн тайлан хүргүүлэх тухай",
                                        recipients=RECIPIENTS, series=series, now=when))
        n = outbox.next_number(series, 2026)
        letter.outgoing_number, letter.number_year, letter.number_seq = f"{series}/{n}", 2026, n
        letter.sent_at, letter.state = when, "received"
        outbox.journal[(2026, series, n)] = letter.__name__
        for regno in RECIPIENTS:
            delivery = Delivery(letter, regno, now=when)
            delivery.incoming_number, delivery.registered_at = f"01/{i + 1}", when
            delivery.state = "registered"
            letter.deliveries[regno] = delivery
        if i % 5000 == 4999:
            transaction.commit()
    transaction.commit()
    conn.close()
    return db


def journal_of(site, first, last):
    from registry.journal import OUTGOING, Journal

    return Journal(site, site.orgs[SENDER], OUTGOING, first, last, UB)


def measure_pages(db, size):
    from registry.store import site_of

    year = (date(2026, 1, 1), date(2026, 12, 31))
    conn = db.open()
    journal = journal_of(site_of(conn), *year)
    total = len(journal)
    offsets = {"start": 0, "middle": total // 2, "end": total - 50}
    # The entry before each page: where a "next" link continues from.
    cursors = {label: next(journal.items(offset - 1, 1)).__name__ if offset else None
               for label, offset in offsets.items()}
    conn.close()
    rows = {}
    for label, offset in offsets.items():
        for how in ("after", "b_start"):
            times = []
            for _ in range(10):
                db.cacheMinimize()
                conn = db.open()
                started = time.perf_counter()
                journal = journal_of(site_of(conn), *year)
                if how == "after":
                    got = list(journal.rows(0, 50, after=cursors[label]))
                else:
                    got = list(journal.rows(offset, 50))
                len(journal)  # the page shows the total
                times.append((time.perf_counter() - started) * 1000)
                conn.close()
                assert len(got) == 50
            rows[(label, how)] = (percentile(times, 0.5), percentile(times, 0.95))
    conn = db.open()
    started = time.perf_counter()
    month = len(journal_of(site_of(conn), date(2026, 6, 1), date(2026, 6, 30)))
    count_ms = (time.perf_counter() - started) * 1000
    conn.close()
    return rows, month, count_ms


def _status(field):
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def measure_export(db, fmt, folder):
    from registry.i18n import localizer_for
    from registry.store import site_of
    from registry.views.journal import export_file

    path = folder / f"journal.{fmt}"
    db.cacheMinimize()
    conn = db.open()
    translate = localizer_for("mn").translate
    before = _status("VmRSS")
    Path("/proc/self/clear_refs").write_text("5")  # the peak (VmHWM) starts again from here
    started = time.perf_counter()
    count = export_file(journal_of(site_of(conn), date(2026, 1, 1), date(2026, 12, 31)), fmt,
                        path, translate)
    seconds = time.perf_counter() - started
    rise = _status("VmHWM") - before
    conn.close()
    return count, seconds, path.stat().st_size / 2 ** 20, rise


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,100000",
                        help="entries in the journal (default 10000,100000)")
    parser.add_argument("--formats", default="csv,xlsx,pdf")
    args = parser.parse_args()
    try:
        sizes = [int(s) for s in args.sizes.split(",")]
    except ValueError:
        parser.error("--sizes takes whole numbers, e.g. 10000,100000")
    formats = [f for f in args.formats.split(",") if f]
    if not set(formats) <= {"csv", "xlsx", "pdf"} or min(sizes) < 100:
        parser.error("--formats: csv, xlsx, pdf; --sizes: at least 100")
    print(f"# Journal (Python {sys.version.split()[0]}, {os.cpu_count()} cores, load "
          f"{os.getloadavg()[0]:.1f}); one organisation's outgoing letters over 2026, two "
          "series, two recipients each")
    for size in sizes:
        with tempfile.TemporaryDirectory(prefix="jbench") as tmp:
            folder = Path(tmp)
            started = time.perf_counter()
            db = build(folder, size)
            print(f"\n## {size:,} entries (built in {time.perf_counter() - started:.0f} s)")
            pages, month, count_ms = measure_pages(db, size)
            for (label, how), (p50, p95) in pages.items():
                print(f"page of 50 at the {label:<6} by {how:<7}  p50 {p50:8.1f} ms   "
                      f"p95 {p95:8.1f} ms")
            print(f"count of June ({month:,} entries): {count_ms:.1f} ms")
            print(f"{'export':<8}{'rows':>9}{'seconds':>9}{'file MiB':>9}{'RSS rise MiB':>13}")
            for fmt in formats:
                count, seconds, mib, peak = measure_export(db, fmt, folder)
                print(f"{fmt:<8}{count:9,}{seconds:9.1f}{mib:9.1f}{peak:13.1f}")
            db.close()


if __name__ == "__main__":
    main()
