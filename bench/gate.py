"""Benchmark: the signature gate, and the exchange built on it.

1. Latency of `Gate.verify` (worker process, pyHanko, our strict checks) per kind of file:
   a one-page signed letter, a 20-page one, a 5 MB one, one with a B-LT DSS update, and hostile
   files (a deflate bomb, a huge cross-reference claim) that must be answered within 5 s.
2. Throughput with 1 and 2 callers at once (the machine has 2 cores).
3. The exchange end to end on a FileStorage: draft + attach + sign + send + register per
   letter (three gate runs: sign, send, register), letters per second.

Uses the test PKI and PDF samples from tests/ (generated, nothing downloaded).

    python bench/gate.py [--runs 40] [--letters 50]
"""
import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

from stats import percentile as pct, peak_rss_mib, timed  # noqa: E402  (bench/)

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

REGNO = "1000001"


def repeated(fn, runs):
    return timed(lambda _: fn(), range(runs))


def latency(gate, files, runs):
    print(f"\n## Gate latency ({runs} runs each)")
    print(f"{'file':<28}{'size':>10}{'answer':>26}{'p50 ms':>10}{'p95 ms':>10}{'max ms':>10}")
    for name, data in files:
        verdict = gate.verify(data, REGNO)
        answer = "ACCEPTED" if verdict.accepted else verdict.reasons[0]
        samples = repeated(lambda: gate.verify(data, REGNO), runs)
        print(f"{name:<28}{len(data):>10,}{answer:>26}{statistics.median(samples):>10.0f}"
              f"{pct(samples, 0.95):>10.0f}{max(samples):>10.0f}")


def throughput(gate, data, seconds=8):
    print("\n## Gate throughput (one-page signed letter)")
    for callers in (1, 2):
        done = [0] * callers
        stop = time.monotonic() + seconds

        def work(index):
            while time.monotonic() < stop:
                gate.verify(data, REGNO)
                done[index] += 1

        threads = [threading.Thread(target=work, args=(i,)) for i in range(callers)]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.monotonic() - started
        print(f"{callers} caller(s): {sum(done) / elapsed:.1f} verifications/s")


def exchange_rate(trust_dir, pki, letters):
    import ZODB
    from ZODB.FileStorage import FileStorage
    from pyramid.authorization import ACLHelper

    import pdfs
    from registry import exchange
    from registry.directory import register_organisation
    from registry.resources.evolve import bootstrap
    from registry.resources.user import User
    from registry.security.principals import principals_for
    from registry.signatures import Gate, GateConfig
    from registry.store import site_of

    print(f"\n## Exchange end to end ({letters} letters, FileStorage)")
    with tempfile.TemporaryDirectory() as tmp:
        db = ZODB.DB(FileStorage(f"{tmp}/Data.fs", blob_dir=f"{tmp}/blobs"))
        bootstrap(db)
        gate = Gate(GateConfig(trust_dir=str(trust_dir)))
        with db.transaction() as conn:
            site = site_of(conn)
            register_organisation(site, "bench", REGNO, "Илгээгч", "government")
            register_organisation(site, "bench", "1000002", "Хүлээн авагч", "government")
            site.users.add("rm1", User("rm1", REGNO, ("records_manager",)))
            site.users.add("rm2", User("rm2", "1000002", ("records_manager",)))
        pdf = pdfs.signed_letter(pki, REGNO)

        def ctx(site, login):
            user = site.users[login]
            return exchange.context(site, login, lambda p, o: bool(ACLHelper().permits(
                o, principals_for(user), p)), gate=gate)

        samples = []
        for _ in range(letters):
            started = time.perf_counter()
            with db.transaction() as conn:
                site = site_of(conn)
                letter = exchange.create_draft(site, "rm1", site.orgs[REGNO], subject="Бенч",
                                               recipients=["1000002"])
                exchange.attach_pdf(site, "rm1", letter, pdf, "a.pdf", 25 << 20)
                name = letter.__name__
            with db.transaction() as conn:
                site = site_of(conn)
                letter = site.orgs[REGNO]["outbox"][name]
                exchange.transition(letter, "sign", ctx(site, "rm1"))
                exchange.transition(letter, "send", ctx(site, "rm1"))
            with db.transaction() as conn:
                site = site_of(conn)
                delivery = site.orgs[REGNO]["outbox"][name].deliveries["1000002"]
                exchange.transition(delivery, "register", ctx(site, "rm2"))
            samples.append((time.perf_counter() - started) * 1000)
        total = sum(samples) / 1000
        print(f"{letters / total:.1f} letters/s drafted, signed, sent and registered "
              f"(p50 {statistics.median(samples):.0f} ms, p95 {pct(samples, 0.95):.0f} ms "
              f"per letter; 3 gate runs each)")
        db.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=40, help="runs per file (default 40)")
    parser.add_argument("--letters", type=int, default=50,
                        help="letters through the exchange (default 50)")
    args = parser.parse_args()
    if args.runs < 1 or args.letters < 1:
        parser.error("--runs and --letters take positive whole numbers")

    import pdfs
    from pki import TestPKI
    from registry.signatures import Gate, GateConfig

    pki = TestPKI()
    with tempfile.TemporaryDirectory() as tmp:
        trust_dir = pki.write_trust_dir(Path(tmp) / "trust")
        gate = Gate(GateConfig(trust_dir=str(trust_dir)))
        one_page = pdfs.signed_letter(pki, REGNO)
        files = [
            ("signed, 1 page", one_page),
            ("signed, 20 pages", pdfs.signed_multipage_letter(pki, REGNO, pages=20)),
            ("signed, ~5 MB", pdfs.large_signed_letter(pki, REGNO, size=5_000_000)),
            ("signed + DSS update", pdfs.signed_then_dss_added(pki, REGNO)),
            ("modified after signing", pdfs.sample("page_content_replaced").build(pki, REGNO)),
            ("deflate bomb (signed)", pdfs.signed_deflate_bomb(pki, REGNO)),
            ("huge xref claim", pdfs.sample("huge_xref_claim").build(pki, REGNO)),
        ]
        print(f"# Signature gate benchmark (Python {sys.version.split()[0]}, "
              f"timeout {gate.config.timeout} s, memory {gate.config.memory_limit >> 20} MiB)")
        latency(gate, files, args.runs)
        throughput(gate, one_page)
        exchange_rate(trust_dir, pki, args.letters)
    peak = peak_rss_mib()
    print(f"\npeak RSS of this process: {peak:.0f} MiB (each worker is capped at "
          f"{GateConfig().memory_limit >> 20} MiB of address space)")


if __name__ == "__main__":
    main()
