"""Benchmark: search-as-you-type in the organisation directory.

Builds a FileStorage directory of N organisations (the 1,056 demo ones, then generated
Mongolian names in the same patterns), then times what a records manager typing a name causes:

- `search`: Organisations.search for the first page (12 rows) — the index work alone;
- `results`: GET /orgs/@@results?q=... through the whole WSGI app (traversal, security,
  template) — what the browser fetches on each keystroke;
- `json`: GET /orgs?q=... with Accept: application/json, which also counts all matches
  (items_total).

Queries are the prefixes a user types (1, 2, 3, 5, 8 letters of a word, two words, Latin
transliteration, a registration number prefix, a miss). Prints p50/p95/max per kind, the
build rate and the peak memory.

    python bench/directory.py                 # 1,050 and 100,000 organisations
    python bench/directory.py --sizes 1050    # just the small one
"""
import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

import transaction
import ZODB
from ZODB.FileStorage import FileStorage

from registry.demo import DISTRICTS, directory, ordinal
from registry.directory import register_organisation
from registry.resources.evolve import bootstrap
from registry.search.mongolian import latin
from registry.store import site_of
from stats import peak_rss_mib, summary as percentiles, timed  # bench/

KINDS_OF_BODY = [
    "сургууль", "цэцэрлэг", "эмнэлэг", "Өрхийн эрүүл мэндийн төв", "соёлын төв", "номын сан",
    "спорт заал", "хороолол", "зах", "дулааны станц", "шатахуун түгээх станц", "цогцолбор",
]
FIRMS = ["Хөх", "Алтан", "Мөнх", "Их", "Шинэ", "Тэнгэр", "Өгөөж", "Сүлд", "Эрдэнэ", "Наран",
         "Оюу", "Бумбат", "Түмэн", "Чандмань", "Жаргалант", "Улаан", "Цагаан", "Ногоон"]
TRADES = ["трейд", "констракшн", "технологи", "ложистик", "хүнс", "даатгал", "барилга",
          "тээвэр", "худалдаа", "үйлдвэр", "зөвлөх", "аялал"]


def generated(count):
    """Yield (regno, name, kind) for `count` organisations: the demo directory first."""
    rng = random.Random(7)
    made = 0
    for number, name, _en, kind, _parent in directory():
        if made == count:
            return
        yield number, name, kind
        made += 1
    serial = 8000000
    while made < count:
        serial += 1
        if rng.random() < 0.55:
            district = rng.choice(DISTRICTS)[0]
            name = f"{district} дүүргийн {ordinal(rng.randint(1, 400))} {rng.choice(KINDS_OF_BODY)}"
            kind = "government"
        else:
            name = f"{rng.choice(FIRMS)} {rng.choice(FIRMS).lower()} {rng.choice(TRADES)} ХХК"
            kind = "business"
        yield str(serial), name, kind
        made += 1


def build(path, count, batch=2000):
    db = ZODB.DB(FileStorage(str(path / "Data.fs"), blob_dir=str(path / "blobs")),
                 cache_size=200000)
    bootstrap(db)
    started = time.perf_counter()
    names = []
    conn = db.open()
    site = site_of(conn)
    for index, (regno, name, kind) in enumerate(generated(count), 1):
        register_organisation(site, "bench", regno, name, kind)
        names.append((regno, name))
        if index % batch == 0:
            transaction.commit()
            conn.cacheGC()
    transaction.commit()
    conn.close()
    return db, names, time.perf_counter() - started


def queries(names, rng, per_kind=150):
    """{kind: [query, ...]} drawn from the names actually in the directory."""
    sample = [name for _regno, name in rng.sample(names, min(len(names), per_kind * 2))]

    def word(name):
        return rng.choice([w for w in name.split() if len(w) >= 5] or name.split())

    return {
        "1 letter": [word(n)[:1] for n in sample[:per_kind]],
        "2 letters": [word(n)[:2] for n in sample[:per_kind]],
        "3 letters": [word(n)[:3] for n in sample[:per_kind]],
        "5 letters": [word(n)[:5] for n in sample[:per_kind]],
        "full word": [word(n) for n in sample[:per_kind]],
        "two words": [" ".join(n.split()[:2])[:-2] for n in sample[:per_kind]],
        "latin": [latin(word(n))[:6] for n in sample[:per_kind]],
        "regno prefix": [regno[:4] for regno, _ in rng.sample(names, per_kind)],
        "no match": ["zzqx" + str(i) for i in range(per_kind)],
    }


def bench_size(count, rng):
    from webtest import TestApp
    from ZODB.interfaces import IDatabase

    from registry import main as make_app
    from registry.accounts import create_account

    with tempfile.TemporaryDirectory() as tmp:
        db, names, seconds = build(Path(tmp), count)
        db.close()
        print(f"\n## {count:,} organisations: built in {seconds:.1f} s "
              f"({count / seconds:,.0f} registrations/s), "
              f"Data.fs {Path(tmp, 'Data.fs').stat().st_size / 2**20:.0f} MiB")
        wsgi = make_app({}, **{
            "zodbconn.uri": f"file://{tmp}/Data.fs?blobstorage_dir={tmp}/blobs",
            "registry.data_dir": tmp, "registry.session_secret": "bench-secret-bench-secret"})
        appdb = wsgi.registry.getUtility(IDatabase)
        with appdb.transaction() as conn:
            create_account(site_of(conn), "bench", names[0][0], "bench", ["clerk"],
                           "bench-password-1", limits={})
        app = TestApp(wsgi, extra_environ={"HTTP_HOST": "bench"})
        form = app.get("/@@login").forms["login-form"]
        form["login"], form["password"] = "bench", "bench-password-1"
        form.submit("submit")

        by_kind = queries(names, rng)
        conn = appdb.open()
        orgs = site_of(conn).orgs
        for items in by_kind.values():  # warm the caches, as in a running server
            for q in items:
                orgs.search(q, size=12)
                app.get("/orgs/@@results", {"q": q})
        print(f"{'query':<14}{'search p50/p95/max ms':>24}{'@@results p50/p95 ms':>24}"
              f"{'JSON+count p50/p95 ms':>25}")
        for kind, items in by_kind.items():
            s = percentiles(timed(lambda q: orgs.search(q, size=12), items))
            r = percentiles(timed(lambda q: app.get("/orgs/@@results", {"q": q}), items))
            j = percentiles(timed(lambda q: app.get("/orgs", {"q": q, "b_size": 12},
                                                    headers={"Accept": "application/json"}),
                                  items))
            print(f"{kind:<14}{s[0]:>9.2f} /{s[1]:>6.2f} /{s[2]:>6.1f}"
                  f"{r[0]:>13.2f} /{r[1]:>7.2f}{j[0]:>14.2f} /{j[1]:>8.2f}")
        conn.close()
        appdb.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1050,100000",
                        help="comma-separated directory sizes (default: 1050,100000)")
    args = parser.parse_args()
    try:
        sizes = [int(s) for s in args.sizes.split(",")]
    except ValueError:
        parser.error("--sizes takes whole numbers, e.g. 1050,100000")
    rng = random.Random(2026)
    print(f"# Directory search-as-you-type benchmark (Python {sys.version.split()[0]}, "
          "FileStorage, warm cache)")
    for count in sizes:
        bench_size(count, rng)
    peak = peak_rss_mib()
    print(f"\npeak RSS {peak:.0f} MiB")


if __name__ == "__main__":
    main()
