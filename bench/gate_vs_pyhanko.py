"""Benchmark: the signature gate against a bare pyHanko validation of the same files.

For the files of bench/gate.py's latency table (test PKI and samples from tests/), times:

- bare: pyHanko alone, in this process: `PdfFileReader(BytesIO(data), strict=False)` and
  `validate_pdf_signature(reader.embedded_signatures[0], ValidationContext(trust_roots=[root],
  other_certs=[issuing CA], crls=[issuing CRL, root CRL], allow_fetching=False,
  revocation_mode="hard-fail"))`, a new ValidationContext each time (as the gate makes one per
  check);
- checks: the gate's own decision code in this process, without the worker
  (`registry.signatures.checks.inspect`: pyHanko plus the registry's checks of every signature
  field, the byte range, later revisions, with tightened decode limits);
- worker: `registry.signatures.worker.call("builtins:len", (b"x",), 5)`, the gate's process
  start-up and round trip alone, and the same passing the file's bytes;
- gate: `Gate(GateConfig(trust_dir=...)).verify(data, regno)`, as the application calls it.

The variants run interleaved (one of each per round), --runs rounds per file (--hostile-runs
for files the gate answers TIMEOUT). A file bare pyHanko cannot validate within --bare-limit
seconds (checked first in a forked child) is not timed bare. Prints p50/p95 of each, the ratio
gate/bare (target: within 1.2x) and what the difference is made of.

    python bench/gate_vs_pyhanko.py [--runs 40] [--hostile-runs 5]
"""
import argparse
import math
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

# Only the standard library at module level: the gate's workers import the main module again.
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

REGNO = "1000001"
TARGET_RATIO = 1.2


def pct(samples, q):
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def med(samples):
    return statistics.median(samples) if samples else float("nan")


def bare_validate(data, pki):
    """pyHanko alone; returns its bottom line (True/False)."""
    from io import BytesIO

    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    reader = PdfFileReader(BytesIO(data), strict=False)
    context = ValidationContext(trust_roots=[pki.root.asn1_cert],
                                other_certs=[pki.issuing.asn1_cert],
                                crls=[pki.crl_der(), pki.root_crl_der()],
                                allow_fetching=False, revocation_mode="hard-fail")
    status = validate_pdf_signature(reader.embedded_signatures[0], context)
    return status.bottom_line


def bare_or_error(data, pki):
    try:
        return bare_validate(data, pki)
    except Exception as exc:  # noqa: BLE001  (pyHanko refusing a file is an answer too)
        return f"{type(exc).__name__}: {str(exc)[:120]}"


def _probe_child(conn, data, pki, memory_limit):
    import logging
    import resource

    logging.disable(logging.CRITICAL)
    resource.setrlimit(resource.RLIMIT_AS, (memory_limit, memory_limit))
    try:
        conn.send(("ok", bare_validate(data, pki)))
    except BaseException as exc:  # noqa: BLE001
        conn.send(("error", f"{type(exc).__name__}: {str(exc)[:120]}"))


def probe_bare(data, pki, limit):
    """Try bare pyHanko once in a forked child (a hostile file may hang it or eat memory).
    Returns (finished, answer); the child may use 2 GiB of address space."""
    import multiprocessing

    ctx = multiprocessing.get_context("fork")
    receiver, sender = ctx.Pipe(duplex=False)
    child = ctx.Process(target=_probe_child, args=(sender, data, pki, 2 << 30), daemon=True)
    child.start()
    sender.close()
    try:
        if not receiver.poll(limit):
            return False, f"did not finish in {limit:g} s"
        try:
            _kind, value = receiver.recv()
        except EOFError:
            return False, "child died"
        return True, value
    finally:
        if child.is_alive():
            child.kill()
        child.join(1)
        receiver.close()


def files(pki):
    import pdfs

    return [
        ("signed, 1 page", pdfs.signed_letter(pki, REGNO)),
        ("signed, 20 pages", pdfs.signed_multipage_letter(pki, REGNO, pages=20)),
        ("signed, ~5 MB", pdfs.large_signed_letter(pki, REGNO, size=5_000_000)),
        ("signed + DSS update", pdfs.signed_then_dss_added(pki, REGNO)),
        ("modified after signing", pdfs.sample("page_content_replaced").build(pki, REGNO)),
        ("deflate bomb (signed)", pdfs.signed_deflate_bomb(pki, REGNO)),
        ("huge xref claim", pdfs.sample("huge_xref_claim").build(pki, REGNO)),
    ]


def timed(fn):
    started = time.perf_counter()
    fn()
    return (time.perf_counter() - started) * 1000


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=40, help="rounds per file (default 40)")
    parser.add_argument("--hostile-runs", type=int, default=5,
                        help="rounds for files the gate answers TIMEOUT (default 5)")
    parser.add_argument("--startup-runs", type=int, default=200,
                        help="worker start-ups timed alone (default 200)")
    parser.add_argument("--bare-limit", type=float, default=10.0,
                        help="seconds bare pyHanko may take on a file before it is left out "
                             "(default 10)")
    args = parser.parse_args()
    if args.runs < 1 or args.hostile_runs < 1 or args.startup_runs < 1:
        parser.error("--runs, --hostile-runs and --startup-runs take positive whole numbers")

    import logging

    from pki import TestPKI

    from registry.signatures import Gate, GateConfig, checks, worker

    logging.disable(logging.CRITICAL)  # pyHanko logs every refusal with a traceback
    pki = TestPKI()
    samples = files(pki)
    with tempfile.TemporaryDirectory() as tmp:
        trust_dir = pki.write_trust_dir(Path(tmp) / "trust")
        gate = Gate(GateConfig(trust_dir=str(trust_dir)))
        trust = gate.trust().as_payload()
        options = {"max_size": gate.config.max_size, "pades_only": gate.config.pades_only,
                   "fetch": gate.config.fetch_revocation}
        print(f"# Gate vs bare pyHanko (Python {sys.version.split()[0]}, gate timeout "
              f"{gate.config.timeout} s, memory {gate.config.memory_limit >> 20} MiB; "
              f"{args.runs} interleaved rounds per file, {args.hostile_runs} for TIMEOUT files)")
        print("load average at start: " + " ".join(f"{x:.2f}" for x in os.getloadavg()))

        # Worker start-up alone ---------------------------------------------------------------
        for _ in range(5):
            worker.call("builtins:len", (b"x",), 5)
        startup = [timed(lambda: worker.call("builtins:len", (b"x",), 5))
                   for _ in range(args.startup_runs)]
        print(f"\nworker start-up and round trip alone, worker.call('builtins:len', (b'x',), 5)"
              f", {args.startup_runs} runs: p50 {med(startup):.1f} ms, p95 "
              f"{pct(startup, 0.95):.1f} ms, max {max(startup):.1f} ms")

        print("\n## Latency, ms (p50 / p95)")
        head = (f"{'file':<24}{'size':>10}{'gate answer':>24}{'bare pyHanko':>15}"
                f"{'checks in-proc':>16}{'worker tiny':>13}{'worker+file':>13}{'gate':>15}"
                f"{'gate/bare p50':>15}{'p95':>7}")
        print(head)
        rows = []
        for name, data in samples:
            verdict = gate.verify(data, REGNO)
            answer = "ACCEPTED" if verdict.accepted else verdict.reasons[0]
            runs = args.hostile_runs if answer == "TIMEOUT" else args.runs
            finished, bare_answer = probe_bare(data, pki, args.bare_limit)
            times = {"bare": [], "checks": [], "tiny": [], "file": [], "gate": []}
            variants = {
                "checks": lambda data=data: checks.inspect(data, REGNO, trust, options),
                "tiny": lambda: worker.call("builtins:len", (b"x",), 5),
                "file": lambda data=data: worker.call("builtins:len", (data,), 5),
                "gate": lambda data=data: gate.verify(data, REGNO),
            }
            if finished:
                variants["bare"] = lambda data=data: bare_or_error(data, pki)
            if answer == "TIMEOUT":
                # The in-process checks would hang like bare pyHanko: only the gate is bounded.
                variants.pop("checks")
            for fn in variants.values():  # warm up each once
                fn()
            for _ in range(runs):
                for key, fn in variants.items():
                    times[key].append(timed(fn))
            row = {"name": name, "size": len(data), "answer": answer, "bare_answer": bare_answer,
                   **{k: (med(v), pct(v, 0.95)) for k, v in times.items()}}
            rows.append(row)

            def cell(key, width, row=row):
                p50, p95 = row[key]
                if math.isnan(p50):  # not timed
                    return f"{'-':>{width}}"
                return f"{p50:>{width - 8}.1f} /{p95:>6.1f}"

            ratio50 = row["gate"][0] / row["bare"][0] if finished else float("nan")
            ratio95 = row["gate"][1] / row["bare"][1] if finished else float("nan")
            row["ratio"] = (ratio50, ratio95)
            ratio = f"{ratio50:>15.2f}{ratio95:>7.2f}" if finished else f"{'-':>15}{'-':>7}"
            print(f"{name:<24}{len(data):>10,}{answer:>24}{cell('bare', 15)}"
                  f"{cell('checks', 16)}{row['tiny'][0]:>13.1f}{row['file'][0]:>13.1f}"
                  f"{cell('gate', 15)}{ratio}", flush=True)

        print("\nbare pyHanko's own answer (bottom line) per file: " + "; ".join(
            f"{r['name']}: {r['bare_answer']}" for r in rows))

        print(f"\n## Where the gate's time goes beyond bare pyHanko (p50, ms), target "
              f"gate <= {TARGET_RATIO}x bare")
        print(f"{'file':<24}{'bare':>8}{'gate':>8}{'diff':>8}{'= worker':>10}"
              f"{'+ passing':>11}{'+ own checks':>14}{'+ rest':>9}{'ratio':>8}  target")
        met_all = True
        for row in rows:
            if math.isnan(row["bare"][0]):
                print(f"{row['name']:<24}{'-':>8}{row['gate'][0]:>8.1f}   (bare pyHanko "
                      f"{row['bare_answer']}; the gate answers {row['answer']})")
                continue
            bare, gate_ms = row["bare"][0], row["gate"][0]
            startup_ms = row["tiny"][0]
            passing = max(0.0, row["file"][0] - row["tiny"][0])
            own = row["checks"][0] - bare
            rest = gate_ms - bare - startup_ms - passing - own
            met = row["ratio"][0] <= TARGET_RATIO
            met_all &= met
            print(f"{row['name']:<24}{bare:>8.1f}{gate_ms:>8.1f}{gate_ms - bare:>8.1f}"
                  f"{startup_ms:>10.1f}{passing:>11.1f}{own:>14.1f}{rest:>9.1f}"
                  f"{row['ratio'][0]:>8.2f}  {'met' if met else 'NOT met'}")
        print("\nworker: start-up and round trip of a trivial job; passing: the file's bytes "
              "to the worker (the application passes the committed blob's path instead); own "
              "checks: checks.inspect in-process minus bare pyHanko (the registry's extra "
              "checks, tighter decode limits, parsing the trust payload); rest: the Verdict "
              "back, the sha256 in the parent, noise.")
        print(f"target gate within {TARGET_RATIO}x of bare pyHanko (p50) on every file bare "
              f"pyHanko validates: {'MET' if met_all else 'NOT MET'}")
        print("load average at end: " + " ".join(f"{x:.2f}" for x in os.getloadavg()))


if __name__ == "__main__":
    main()
