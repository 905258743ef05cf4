"""Benchmark: the registry side of an archive handover (registry.archive.handover.export).

For each size N, a fresh FileStorage gets N received outgoing letters of one organisation and
year, each with its own blob (a real PDF signed by the test PKI), the verdicts and history of
its sending, and its journal entry (set up directly, not through the workflow: the set-up is
not what is measured). Then, in a child process (so that its peak RSS is the export's own):

- `preview`: the selection's counts (one walk of the journal);
- `export`: the whole export to a zip: every signature checked again by the real gate (its
  worker processes), the check recorded on each letter, the package streamed
  (registry.archive.package), the letters moved to handed_over, 100 a transaction.

Prints wall time, letters/s, how much the store grew (the checks and states written), the
child's peak RSS during the preview and the export, how much of the time the gate's checks take
(timed alone on the same file, afterwards), and the machine's load average (it is shared). The
package library alone is measured by bench/handover.py.

    python bench/handover_export.py                  # 1,000 and 10,000 letters
    python bench/handover_export.py --sizes 2000 --format dir
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "src"), str(ROOT / "tests"), str(ROOT / "bench")]

REGNO, RECIPIENT, YEAR = "1000001", "1000002", 2025


def build_store(folder, count):
    """A store with `count` received letters of REGNO in YEAR; returns the trust dir."""
    import ZODB
    from ZODB.FileStorage import FileStorage

    import pdfs
    from pki import TestPKI
    from registry.directory import register_organisation
    from registry.resources.evolve import bootstrap
    from registry.resources.letter import Letter, StoredPDF
    from registry.signatures import Gate, GateConfig
    from registry.store import site_of
    from registry.workflow.engine import HistoryEntry

    pki = TestPKI()
    trust = pki.write_trust_dir(folder / "trust")
    data = pdfs.signed_letter(pki, REGNO)
    verdict = Gate(GateConfig(trust_dir=str(trust))).verify(data, REGNO).as_json()
    assert verdict["accepted"], verdict
    db = ZODB.DB(FileStorage(str(folder / "Data.fs"), blob_dir=str(folder / "blobs")))
    bootstrap(db)
    with db.transaction() as conn:
        site = site_of(conn)
        register_organisation(site, "bench", REGNO, "Нийслэлийн Засаг даргын Тамгын газар",
                              "government")
        register_organisation(site, "bench", RECIPIENT, "Баянзүрх дүүрэг", "government")
    sent = datetime(YEAR, 3, 1, 4, tzinfo=timezone.utc)
    made = 0
    while made < count:
        with db.transaction() as conn:
            outbox = site_of(conn).orgs[REGNO]["outbox"]
            for _ in range(min(500, count - made)):
                made += 1
                letter = Letter(REGNO, "rm", subject=f"Албан бичиг №{made}",
                                recipients=(RECIPIENT,), now=sent)
                # The same signed bytes, in a blob of its own for each letter.
                letter.pdf = StoredPDF(data, "захидал.pdf", "rm", now=sent)
                letter.verdicts = (verdict, verdict)
                letter.history = tuple(
                    HistoryEntry(seq=i + 1, time=sent.isoformat(), actor="rm", transition=t,
                                 from_state=a, to_state=b)
                    for i, (t, a, b) in enumerate([("sign", "draft", "signed"),
                                                   ("send", "signed", "sent"),
                                                   ("receive", "sent", "received")]))
                letter.state = "received"
                letter.number_year, letter.number_seq = YEAR, made
                letter.outgoing_number = f"01/{made}"
                letter.sent_at = sent
                outbox.add_item(letter)
                outbox.journal[(YEAR, "01", made)] = letter.__name__
    db.close()
    return trust


def child(folder, trust, fmt):
    """In a fresh process: preview, then export; print the figures as JSON."""
    import ZODB
    from ZODB.FileStorage import FileStorage

    from registry.archive import handover as ho
    from registry.archive import selection as sel
    from registry.signatures import Gate, GateConfig
    from registry.store import site_of

    db = ZODB.DB(FileStorage(str(folder / "Data.fs"), blob_dir=str(folder / "blobs")))
    gate = Gate(GateConfig(trust_dir=str(trust)))
    started = time.perf_counter()
    with db.transaction() as conn:
        org = site_of(conn).orgs[REGNO]
        found = sel.preview(org, sel.make_selection(org, YEAR))
    preview_s = time.perf_counter() - started
    started = time.perf_counter()
    store_before = os.path.getsize(folder / "Data.fs")
    out = folder / ("package.zip" if fmt == "zip" else "bags")
    made = ho.export(db, ho.ExportRequest(REGNO, YEAR, actor="bench", fond_reference="Ф-1",
                                          out=str(out)), gate, {})
    export_s = time.perf_counter() - started
    export_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    store_growth = os.path.getsize(folder / "Data.fs") - store_before
    package_bytes = (os.path.getsize(made["path"]) if fmt == "zip" else
                     sum(p.stat().st_size for p in Path(made["path"]).rglob("*") if p.is_file()))
    # The gate alone on the same file, as many times, with as many threads as the export.
    from concurrent.futures import ThreadPoolExecutor

    path = None
    with db.transaction() as conn:
        org = site_of(conn).orgs[REGNO]
        path = next(iter(org["outbox"].values())).pdf.path()
    started = time.perf_counter()
    with ThreadPoolExecutor(gate.config.workers) as pool:
        for _verdict in pool.map(lambda _: gate.verify(path, REGNO), range(found.total)):
            pass
    gate_s = time.perf_counter() - started
    db.close()
    print(json.dumps({"letters": found.total, "made": made["letters"], "preview_s": preview_s,
                      "export_s": export_s, "gate_s": gate_s,
                      "package_mb": package_bytes / 1e6, "store_mb": store_growth / 1e6,
                      "peak_rss_mib": export_rss}))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--format", choices=("zip", "dir"), default="zip",
                        help="The package as a zip file or a bag directory.")
    parser.add_argument("--child", nargs=2, metavar=("FOLDER", "TRUST"))
    args = parser.parse_args()
    if args.child:
        child(Path(args.child[0]), Path(args.child[1]), args.format)
        return
    print(f"Handover export (registry side) to a {args.format}, {os.cpu_count()} CPUs, "
          f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC")
    print(f"{'letters':>8} {'preview s':>10} {'export s':>9} {'letters/s':>10} "
          f"{'gate alone s':>13} {'gate share':>10} {'package MB':>10} {'store +MB':>10} "
          f"{'peak RSS MiB':>13} {'load':>5}")
    for size in [int(s) for s in args.sizes.split(",")]:
        with tempfile.TemporaryDirectory(prefix="bench-handover-") as tmp:
            folder = Path(tmp)
            trust = build_store(folder, size)
            out = subprocess.run([sys.executable, __file__, "--format", args.format, "--child",
                                  str(folder), str(trust)],
                                 capture_output=True, text=True, check=True)
            r = json.loads(out.stdout.strip().splitlines()[-1])
            assert r["made"] == size, r
            print(f"{size:>8} {r['preview_s']:>10.2f} {r['export_s']:>9.1f} "
                  f"{size / r['export_s']:>10.1f} {r['gate_s']:>13.1f} "
                  f"{r['gate_s'] / r['export_s']:>10.0%} {r['package_mb']:>10.1f} "
                  f"{r['store_mb']:>10.1f} {r['peak_rss_mib']:>13.0f} "
                  f"{os.getloadavg()[0]:>5.1f}", flush=True)


if __name__ == "__main__":
    main()
