"""Benchmark: the signature gate against a bare pyHanko validation of the same files.

For the files of bench/gate.py's latency table (test PKI and samples from tests/), times:

- bare: pyHanko alone, in this process: `PdfFileReader(BytesIO(data), strict=False)` and
  `validate_pdf_signature(reader.embedded_signatures[0], ValidationContext(trust_roots=[root],
  other_certs=[issuing CA], crls=[issuing CRL, root CRL], allow_fetching=False,
  revocation_mode="hard-fail"))`, a new ValidationContext each time (the gate makes one per
  check);
- checks: the gate's own decision code in this process, warm, without a worker
  (`registry.signatures.checks.inspect`: pyHanko plus the registry's checks of every signature
  field, the byte range and later revisions, with tightened decode limits);
- cold: the same checks as the gate runs them, first thing in a fresh worker, timed inside it;
- process: `registry.signatures.worker.call("builtins:len", (b"x",), 5)`, a fresh worker
  process's start-up and round trip alone, and the same passing the file's bytes;
- pool: when the gate keeps long-lived workers (`registry.signatures.worker.pool`), the same
  trivial job through the gate's own pool: a warm worker's round trip;
- gate: `Gate(GateConfig(trust_dir=...)).verify(path, regno)`, as the application calls it
  (with the stored blob's path), its verdict cache off: every call checks the file in full (a
  verdict is reused only for the same question again, which a benchmark asks on every round
  and the application only on a replay). The chain cache stays on, as in service: most
  letters of an organisation are signed by one certificate against one CRL.

It finds out which design this checkout's gate has (a process per check, or a pool) and
splits the difference to bare pyHanko accordingly.

The variants run interleaved (one of each per round), --runs rounds per file (--hostile-runs
for files the gate answers TIMEOUT). A file bare pyHanko cannot validate within --bare-limit
seconds (tried first in a forked child) is not timed bare. Prints p50/p95 of each, the ratio
gate/bare (target: at most 1.0x at 1 page, 20 pages and 5 MB) and what the difference is made
of.

A gate worker runs the program's main module again (multiprocessing does, for every start
method but fork). The timings above are taken as under `python -c` (this script hides itself
from the workers: the gate's best case). Separately, each in a new process: the worker round
trip under real entry points (the `registry` and `pserve` console scripts import more than the
forkserver preloads), and the gate on the one-page letter (for a gate with a process per
check, also with the forkserver warmed by one check before it forks: a what-if, with helper
modules in a temporary directory, not the gate's code).

    python bench/gate_vs_pyhanko.py [--runs 40] [--hostile-runs 5]
"""
import argparse
import math
import os
import sys
import tempfile
import time
from pathlib import Path

from stats import median as med, percentile as pct  # noqa: E402  (bench/)

# Only the standard library at module level: the gate's workers import the main module again.
ROOT = Path(__file__).resolve().parent.parent
# This checkout's code and test helpers, whatever copy of `registry` is installed.
sys.path[:0] = [str(ROOT / "src"), str(ROOT / "tests")]

REGNO = "1000001"
TARGET_RATIO = 1.0
#: The files the target is asked of.
TARGET_FILES = ("signed, 1 page", "signed, 20 pages", "signed, ~5 MB")

# Helper modules, written to the temporary directory (on sys.path before the forkserver
# starts): the checks timed inside a fresh worker, and a forkserver warm-up (what-if).
PROBE_MODULE = '''
import time


def check_in_worker(payload, regno, trust, options):
    from registry.signatures import checks

    started = time.perf_counter()
    checks.inspect_payload(payload, regno, trust, options)
    return (time.perf_counter() - started) * 1000
'''

WARM_MODULE = '''
"""Imported by the forkserver (preload): one check, so that workers fork warm."""
import os
import pickle

from registry.signatures import checks

with open(os.environ["GVP_SAMPLE"], "rb") as handle:
    checks.inspect_payload(*pickle.load(handle))
'''

# A program timing the worker under a given entry point, in its own process.
ENTRY_PROBE = '''import re, sys
{entry_import}


def main():
    import json, pickle, statistics, time
    from registry.signatures import Gate, GateConfig, VerdictCache, worker
    if {hide!r}:
        del sys.modules["__main__"].__file__
    worker.PRELOAD = worker.PRELOAD + {extra_preload!r}
    if {gate!r}:
        with open({sample!r}, "rb") as handle:
            data, regno, _trust, _options = pickle.load(handle)
        gate = Gate(GateConfig(trust_dir={trust_dir!r}))
        gate.verdicts = VerdictCache(size=0)
        job = lambda: gate.verify(data, regno)
    else:
        job = lambda: worker.call("builtins:len", (b"x",), 5)
    for _ in range(5):
        job()
    times = []
    for _ in range({runs}):
        started = time.perf_counter()
        job()
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    print(json.dumps([statistics.median(times), times[min(len(times) - 1, int(0.95 * len(times)))]]))


if __name__ == "__main__":
    main()
'''

ENTRY_POINTS = [
    # (label, the main module's import, extra forkserver preload, hide the main module)
    ("no main module to re-import (python -c; as the timings above)", "", [], True),
    ("a small script importing only the standard library", "", [], False),
    ("the `registry` console script (registry serve)", "from registry.cli import main", [],
     False),
    ("the `pserve` console script", "from pyramid.scripts.pserve import main", [], False),
    ("`registry` script, registry.cli added to the forkserver preload (what-if)",
     "from registry.cli import main", ["registry.cli"], False),
]


def hide_from_workers():
    """Without a __file__ on __main__, workers do not run this script again (as under
    `python -c`); else each would compile it (it is not byte-compiled), milliseconds that are
    the benchmark's, not the gate's."""
    main_module = sys.modules["__main__"]
    if getattr(main_module, "__file__", None):
        del main_module.__file__


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


def in_new_process(tmp, name, runs, entry_import="", extra=(), hide=True, gate=False,
                   sample="", trust_dir=""):
    """Run ENTRY_PROBE in a new process; return (p50, p95) in ms (nan if it failed)."""
    import json
    import subprocess

    script = Path(tmp) / f"{name}.py"
    script.write_text(ENTRY_PROBE.format(entry_import=entry_import, extra_preload=list(extra),
                                         runs=runs, hide=hide, gate=gate, sample=sample,
                                         trust_dir=trust_dir))
    path = [str(ROOT / "src"), str(tmp)] + [
        p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(path), "GVP_SAMPLE": sample}
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          env=env, timeout=600, check=False)
    try:
        return tuple(json.loads(done.stdout.strip().splitlines()[-1]))
    except (ValueError, IndexError):
        return float("nan"), float("nan")


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


def cell(pair, width):
    p50, p95 = pair
    if math.isnan(p50):  # not timed
        return f"{'-':>{width}}"
    return f"{p50:>{width - 8}.1f} /{p95:>6.1f}"


def gate_design(gate):
    """How this checkout's gate runs a check: ("pool", pool) when it keeps long-lived workers
    (registry.signatures.worker.pool), else ("process", None): a fresh process per check."""
    from registry.signatures import worker

    if hasattr(worker, "pool") and hasattr(worker, "WorkerPool"):
        size = getattr(gate.config, "workers", 2)
        return "pool", worker.pool(gate.config.memory_limit, size)
    return "process", None


def workers_cpu_ms(gate_pool):
    """CPU time (user + system, ms) the pool's idle workers have used so far (/proc)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for worker_ in list(getattr(gate_pool, "_idle", ())):
        try:
            with open(f"/proc/{worker_.process.pid}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total * 1000 / ticks


def cpu_per_call(fn, runs, gate_pool=None):
    """Mean CPU ms per call of `fn`: this process's, plus the pool workers' when given (CPU
    time does not grow with the machine's load as wall time does)."""
    workers_before = workers_cpu_ms(gate_pool) if gate_pool is not None else 0.0
    started = time.process_time()
    for _ in range(runs):
        fn()
    mine = (time.process_time() - started) * 1000
    theirs = workers_cpu_ms(gate_pool) - workers_before if gate_pool is not None else 0.0
    return (mine + theirs) / runs


def measure(samples, gate, pki, trust, options, args, tmp):
    from registry.signatures import checks, worker

    design, gate_pool = gate_design(gate)

    def in_fresh_process(data):
        outcome = worker.call("gvp_probe:check_in_worker", (data, REGNO, trust, options),
                              gate.config.timeout)
        return outcome.value if outcome.kind == "ok" else float("nan")

    print("\n## Latency, ms (p50 / p95)")
    print(f"{'file':<24}{'size':>10}{'gate answer':>24}{'bare pyHanko':>15}"
          f"{'checks warm':>15}{'checks cold':>15}{'process':>9}{'+ file':>8}"
          f"{'pool':>7}{'+ file':>8}{'gate':>15}{'gate/bare':>11}{'p95':>6}")
    rows = []
    for index, (name, data) in enumerate(samples):
        path = Path(tmp) / f"sample-{index}.pdf"  # the application passes the blob's path
        path.write_bytes(data)
        verdict = gate.verify(path, REGNO)
        answer = "ACCEPTED" if verdict.accepted else verdict.reasons[0]
        hostile = answer == "TIMEOUT"
        runs = args.hostile_runs if hostile else args.runs
        finished, bare_answer = probe_bare(data, pki, args.bare_limit)
        variants = {
            "tiny": lambda: worker.call("builtins:len", (b"x",), 5),
            "file": lambda data=data: worker.call("builtins:len", (data,), 5),
            "gate": lambda path=path: gate.verify(path, REGNO),
        }
        if gate_pool is not None:
            variants["pooltiny"] = lambda: gate_pool.call("builtins:len", (b"x",), 5)
            variants["poolfile"] = lambda data=data: gate_pool.call("builtins:len", (data,), 5)
        if not hostile:  # the checks alone would hang like bare pyHanko: only the gate is bounded
            variants["checks"] = lambda data=data: checks.inspect(data, REGNO, trust, options)
        if finished:
            variants["bare"] = lambda data=data: bare_or_error(data, pki)
        keys = ("bare", "checks", "cold", "tiny", "file", "pooltiny", "poolfile", "gate")
        times = {key: [] for key in keys}
        for fn in variants.values():  # warm up each once
            fn()
        for _ in range(runs):
            for key, fn in variants.items():
                times[key].append(timed(fn))
            if not hostile:
                times["cold"].append(in_fresh_process(data))
        row = {"name": name, "size": len(data), "answer": answer, "bare_answer": bare_answer,
               **{key: (med(v), pct(v, 0.95)) for key, v in times.items()}}
        if finished and not hostile and gate_pool is not None:
            row["cpu"] = (cpu_per_call(variants["bare"], runs),
                          cpu_per_call(variants["gate"], runs, gate_pool))
        row["ratio"] = (row["gate"][0] / row["bare"][0], row["gate"][1] / row["bare"][1]) \
            if finished else (float("nan"), float("nan"))
        rows.append(row)
        ratio = f"{row['ratio'][0]:>11.2f}{row['ratio'][1]:>6.2f}" if finished else \
            f"{'-':>11}{'-':>6}"

        def one(key, width, row=row):
            return f"{'-':>{width}}" if math.isnan(row[key][0]) else f"{row[key][0]:>{width}.1f}"

        print(f"{name:<24}{len(data):>10,}{answer:>24}{cell(row['bare'], 15)}"
              f"{cell(row['checks'], 15)}{cell(row['cold'], 15)}{one('tiny', 9)}"
              f"{one('file', 8)}{one('pooltiny', 7)}{one('poolfile', 8)}{cell(row['gate'], 15)}"
              f"{ratio}", flush=True)
    print("\nchecks warm: checks.inspect in this process, warm; checks cold: the same, first "
          "thing in a fresh worker process, timed inside it; process: worker.call of "
          "builtins:len on b'x' (a fresh process: start-up and round trip), + file: the same on "
          "the file's bytes; pool: the same job through the gate's worker pool (warm worker), "
          "+ file: on the file's bytes" + ("" if gate_pool is not None else
                                          " (this gate has no pool)"))
    print("bare pyHanko's own answer (bottom line): " + "; ".join(
        f"{r['name']}: {r['bare_answer']}" for r in rows))
    return design, rows


def breakdown(design, rows):
    print(f"\n## Where the gate's time goes beyond bare pyHanko (p50, ms); target gate <= "
          f"{TARGET_RATIO}x bare")
    if design == "pool":
        print("this gate runs each check in a long-lived pool worker: gate = bare + own "
              "checks + pool round trip + passing the bytes + rest")
        cols = ("= own checks", "+ pool trip", "+ passing", "+ rest")
    else:
        print("this gate runs each check in a fresh process: gate = bare + own checks + cold "
              "start + process start-up + passing the bytes + rest")
        cols = ("= own checks", "+ cold start", "+ start-up", "+ passing", "+ rest")
    print(f"{'file':<24}{'bare':>7}{'gate':>7}{'diff':>7}" + "".join(f"{c:>14}" for c in cols)
          + f"{'ratio':>7}  target{'a fresh process would add':>28}")
    met_all = True
    for row in rows:
        if math.isnan(row["bare"][0]):
            print(f"{row['name']:<24}{'-':>7}{row['gate'][0]:>7.0f}   (bare pyHanko "
                  f"{row['bare_answer']}; the gate answers {row['answer']})")
            continue
        bare, gate_ms = row["bare"][0], row["gate"][0]
        own = row["checks"][0] - bare
        cold = row["cold"][0] - row["checks"][0]
        startup = row["tiny"][0]
        if design == "pool":
            trip = row["pooltiny"][0]
            passing = max(0.0, row["poolfile"][0] - trip)
            parts = (own, trip, passing, gate_ms - bare - own - trip - passing)
        else:
            passing = max(0.0, row["file"][0] - startup)
            parts = (own, cold, startup, passing,
                     gate_ms - bare - own - cold - startup - passing)
        met = row["ratio"][0] <= TARGET_RATIO
        met_all &= met
        print(f"{row['name']:<24}{bare:>7.1f}{gate_ms:>7.1f}{gate_ms - bare:>7.1f}"
              + "".join(f"{part:>14.1f}" for part in parts)
              + f"{row['ratio'][0]:>7.2f}  {'met' if met else 'NOT met':<8}"
              f"{cold + startup:>18.1f} ms")
    print("own checks: checks warm - bare (the registry's extra checks, its decode limits, "
          "loading the trust payload); cold start: checks cold - checks warm (a fresh process "
          "runs the code for the first time); start-up: a fresh process's start-up and round "
          "trip (worker.call of a trivial job); pool trip: a warm pool worker's round trip; "
          "passing: the file's bytes to the worker (the gate, as the application, passes the "
          "file's path instead: rest is net of what it does not pay); rest: the verdict back, "
          "the worker reading the file, scheduling. Last column: cold start + start-up, what running each check in a fresh "
          "process costs on top of a warm worker.")
    print(f"gate within {TARGET_RATIO}x of bare pyHanko (p50) on every file bare pyHanko "
          f"validates: {'yes' if met_all else 'no'}")
    print("\n## Target: gate / bare pyHanko at most "
          f"{TARGET_RATIO}x (p50) at 1 page, 20 pages and 5 MB")
    print("  (CPU: mean CPU ms per call, bare in this process, the gate in this process plus "
          "its worker: a measure the machine's load does not inflate)")
    for row in rows:
        if row["name"] in TARGET_FILES:
            ratio = row["ratio"][0]
            cpu_bare, cpu_gate = row.get("cpu", (float("nan"), float("nan")))
            print(f"  {row['name']:<20}{ratio:>6.2f}x  "
                  f"{'met' if ratio <= TARGET_RATIO else 'NOT met':<8}  CPU bare "
                  f"{cpu_bare:6.1f} ms, gate {cpu_gate:6.1f} ms: {cpu_gate / cpu_bare:.2f}x")
    print("target " + ("MET" if all(r["ratio"][0] <= TARGET_RATIO for r in rows
                                    if r["name"] in TARGET_FILES) else "NOT MET"))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=40, help="rounds per file (default 40)")
    parser.add_argument("--hostile-runs", type=int, default=5,
                        help="rounds for files the gate answers TIMEOUT (default 5)")
    parser.add_argument("--startup-runs", type=int, default=200,
                        help="worker start-ups timed per entry point (default 200)")
    parser.add_argument("--bare-limit", type=float, default=10.0,
                        help="seconds bare pyHanko may take on a file before it is left out "
                             "(default 10)")
    args = parser.parse_args()
    if args.runs < 1 or args.hostile_runs < 1 or args.startup_runs < 1:
        parser.error("--runs, --hostile-runs and --startup-runs take positive whole numbers")

    import logging
    import pickle

    from pki import TestPKI

    from registry.signatures import Gate, GateConfig, VerdictCache, worker

    logging.disable(logging.CRITICAL)  # pyHanko logs every refusal with a traceback
    hide_from_workers()
    pki = TestPKI()
    samples = files(pki)
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "gvp_probe.py").write_text(PROBE_MODULE)
        (Path(tmp) / "gvp_warm.py").write_text(WARM_MODULE)
        sys.path.append(tmp)  # before the forkserver starts: it takes this sys.path
        trust_dir = pki.write_trust_dir(Path(tmp) / "trust")
        gate = Gate(GateConfig(trust_dir=str(trust_dir)))
        gate.verdicts = VerdictCache(size=0)  # every call is a full check
        trust = gate.trust().as_payload()
        options = {"max_size": gate.config.max_size, "pades_only": gate.config.pades_only,
                   "fetch": gate.config.fetch_revocation}
        sample = Path(tmp) / "sample.pickle"
        sample.write_bytes(pickle.dumps((samples[0][1], REGNO, trust, options)))
        design, _pool = gate_design(gate)
        print(f"# Gate vs bare pyHanko (Python {sys.version.split()[0]}, {os.cpu_count()} "
              f"cores, gate timeout {gate.config.timeout} s, memory "
              f"{gate.config.memory_limit >> 20} MiB; {args.runs} interleaved rounds per file, "
              f"{args.hostile_runs} for TIMEOUT files)")
        print("this checkout's gate: " + (
            f"a pool of {getattr(gate.config, 'workers', 2)} long-lived workers"
            if design == "pool" else "a fresh worker process per check") +
            f"; forkserver preload {worker.PRELOAD}")
        print("load average at start: " + " ".join(f"{x:.2f}" for x in os.getloadavg()))
        for _ in range(5):
            worker.call("builtins:len", (b"x",), 5)
        startup = [timed(lambda: worker.call("builtins:len", (b"x",), 5))
                   for _ in range(args.startup_runs)]
        print(f"\nworker start-up and round trip alone, worker.call('builtins:len', (b'x',), 5), "
              f"{args.startup_runs} runs: p50 {med(startup):.1f} ms, p95 "
              f"{pct(startup, 0.95):.1f} ms, max {max(startup):.1f} ms")

        design, rows = measure(samples, gate, pki, trust, options, args, tmp)
        breakdown(design, rows)

        print("\n## Worker start-up by entry point, each in a new process (p50 / p95 ms): a "
              "worker re-imports the main module and what it imports beyond the preload")
        for index, (label, entry_import, extra, hide) in enumerate(ENTRY_POINTS):
            if extra and set(extra) <= set(worker.PRELOAD):
                continue  # the what-if is how this checkout ships already
            p50, p95 = in_new_process(tmp, f"entry_{index}", args.startup_runs, entry_import,
                                      extra, hide)
            print(f"  {label:<76}{p50:>7.1f} /{p95:>6.1f}")

        one_page = next(r for r in rows if r["name"] == "signed, 1 page")
        print(f"\n## The gate on the 1-page letter, each in a new process, {args.runs} runs "
              "(p50 / p95 ms)" + ("" if design == "pool" else
                                 ", and a what-if: the forkserver warmed by one check"))
        whatifs = [("as shipped", [])]
        if design != "pool":  # warm workers make the warm-up moot
            whatifs.append(("forkserver warmed by one check before forking", ["gvp_warm"]))
        for label, extra in whatifs:
            p50, p95 = in_new_process(tmp, "whatif_" + str(len(extra)), args.runs, extra=extra,
                                      gate=True, sample=str(sample), trust_dir=str(trust_dir))
            ratio = p50 / one_page["bare"][0]
            print(f"  {label:<50}{p50:>7.1f} /{p95:>6.1f}   {ratio:.2f}x bare pyHanko")
        print("\nload average at end: " + " ".join(f"{x:.2f}" for x in os.getloadavg()))


if __name__ == "__main__":
    main()
