"""Running the checks in a worker process, under a time and memory budget.

A hostile PDF may try to hang the parser or exhaust memory. Each check runs in a child process
(forked from a forkserver that has pyHanko imported already, so a check costs milliseconds to
start), with an address-space limit; the parent waits at most `timeout` seconds and kills it.
A worker that dies or runs out of memory answers MALFORMED_PDF; one that runs out of time,
TIMEOUT. The web process itself never parses a PDF.
"""
import multiprocessing
import resource
import time
import traceback

from registry.signatures.verdict import Verdict

_context = None


def _mp_context():
    global _context
    if _context is None:
        _context = multiprocessing.get_context("forkserver")
        _context.set_forkserver_preload(["registry.signatures.checks"])
    return _context


def _run(conn, payload, expected_regno, trust, options, memory_limit):
    try:
        if memory_limit:
            resource.setrlimit(resource.RLIMIT_AS, (memory_limit, memory_limit))
        from registry.signatures.checks import inspect

        if isinstance(payload, str):
            with open(payload, "rb") as handle:
                data = handle.read()
        else:
            data = payload
        verdict = inspect(data, expected_regno, trust, options)
        conn.send(("ok", verdict.as_json()))
    except MemoryError:
        conn.send(("memory", None))
    except BaseException:  # noqa: BLE001  (report anything, never hang the parent)
        conn.send(("error", traceback.format_exc(limit=5)[-2000:]))
    finally:
        conn.close()


def run_checks(payload, expected_regno, trust, options, timeout, memory_limit, base):
    """Run `inspect` on `payload` (bytes, or a file path) in a worker. Returns a Verdict."""
    ctx = _mp_context()
    receiver, sender = ctx.Pipe(duplex=False)
    process = ctx.Process(target=_run, args=(sender, payload, expected_regno, trust, options,
                                             memory_limit), daemon=True)
    started = time.monotonic()
    process.start()
    sender.close()
    try:
        if not receiver.poll(timeout):
            return Verdict.refused("TIMEOUT", evidence={"timeout_s": timeout}, **base)
        try:
            kind, value = receiver.recv()
        except EOFError:
            return Verdict.refused(
                "MALFORMED_PDF", evidence={"error": f"worker died (exit {process.exitcode})"},
                **base)
    finally:
        receiver.close()
        process.join(0.5)
        if process.is_alive():
            process.kill()
            process.join(1)
    elapsed = round(time.monotonic() - started, 3)
    if kind == "ok":
        verdict = Verdict.from_json(value)
        return Verdict.from_json({**verdict.as_json(),
                                  "evidence": {**verdict.evidence, "elapsed_s": elapsed}})
    if kind == "memory":
        return Verdict.refused("MALFORMED_PDF", evidence={"error": "memory budget exceeded"},
                               **base)
    return Verdict.refused("MALFORMED_PDF", evidence={"error": "checker failed",
                                                      "detail": value}, **base)
