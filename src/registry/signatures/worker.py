"""Running PDF work in a worker process, under a time and memory budget.

A hostile PDF may try to hang the parser or exhaust memory. Each job runs in a child process
(forked from a forkserver that has pyHanko imported already, so a job costs milliseconds to
start), with an address-space limit; the parent waits at most `timeout` seconds and kills it.
The web process itself never parses a PDF.

As with any multiprocessing start method but fork, a worker imports the program's main module
again (as `__mp_main__`): entry points must keep their work behind `if __name__ == "__main__"`
(the `registry` console script, pserve and `python -m pytest` do).
"""
import importlib
import logging
import multiprocessing
import os
import resource
import time
import traceback
from dataclasses import dataclass

_context = None
PRELOAD = ["registry.signatures.checks", "pyhanko.pdf_utils.reader",
           "pyhanko.sign.validation", "pyhanko.sign.signers", "pyhanko_certvalidator",
           "asn1crypto.cms"]


def _mp_context():
    global _context
    if _context is None:
        _context = multiprocessing.get_context("forkserver")
        # Imported once in the forkserver, so that each worker starts with them loaded.
        _context.set_forkserver_preload(PRELOAD)
    return _context


@dataclass(frozen=True)
class Outcome:
    """How a job ended: "ok" (with its value), "timeout", "memory", "error" (with a short
    traceback) or "died" (the process ended without answering)."""

    kind: str
    value: object = None
    elapsed: float = 0.0


def _child(conn, target, args, memory_limit, env):
    # pyHanko logs every refusal with a traceback; the answer carries what matters.
    logging.disable(logging.CRITICAL)
    try:
        os.environ.update(env or {})
        if memory_limit:
            resource.setrlimit(resource.RLIMIT_AS, (memory_limit, memory_limit))
        module_name, function_name = target.rsplit(":", 1)
        function = getattr(importlib.import_module(module_name), function_name)
        conn.send(("ok", function(*args)))
    except MemoryError:
        conn.send(("memory", None))
    except BaseException as exc:  # noqa: BLE001  (report anything, never hang the parent)
        conn.send(("error", (type(exc).__name__, str(exc)[:500],
                             traceback.format_exc(limit=5)[-2000:])))
    finally:
        conn.close()


def call(target, args, timeout, memory_limit=None, env=None):
    """Run `module:function(*args)` in a worker process; return an Outcome. Never raises for
    what happens in the worker."""
    ctx = _mp_context()
    receiver, sender = ctx.Pipe(duplex=False)
    process = ctx.Process(target=_child, args=(sender, target, args, memory_limit, env),
                          daemon=True)
    started = time.monotonic()
    process.start()
    sender.close()
    try:
        if not receiver.poll(timeout):
            return Outcome("timeout", elapsed=time.monotonic() - started)
        try:
            kind, value = receiver.recv()
        except EOFError:
            return Outcome("died", process.exitcode, time.monotonic() - started)
    finally:
        receiver.close()
        if process.is_alive():
            process.join(0.2)  # a worker that answered exits at once
        if process.is_alive():
            process.kill()
        process.join(1)
    return Outcome(kind, value, round(time.monotonic() - started, 3))


def run_checks(payload, expected_regno, trust, options, timeout, memory_limit, base):
    """The gate's checks on `payload` (bytes, or a file path) in a worker; returns a Verdict:
    a worker that runs out of time answers TIMEOUT, one that dies or runs out of memory
    MALFORMED_PDF."""
    from registry.signatures.verdict import Verdict

    outcome = call("registry.signatures.checks:inspect_payload",
                   (payload, expected_regno, trust, options), timeout, memory_limit)
    if outcome.kind == "ok":
        data = outcome.value
        return Verdict.from_json({**data, "evidence": {**data["evidence"],
                                                       "elapsed_s": outcome.elapsed}})
    if outcome.kind == "timeout":
        return Verdict.refused("TIMEOUT", evidence={"timeout_s": timeout}, **base)
    if outcome.kind == "memory":
        return Verdict.refused("MALFORMED_PDF", evidence={"error": "memory budget exceeded"},
                               **base)
    if outcome.kind == "died":
        return Verdict.refused("MALFORMED_PDF",
                               evidence={"error": f"checker died (exit {outcome.value})"},
                               **base)
    return Verdict.refused("MALFORMED_PDF", evidence={"error": "checker failed",
                                                      "detail": outcome.value[2]}, **base)
