"""Running PDF work in worker processes, under a time and memory budget.

A hostile PDF may try to hang the parser or exhaust memory; the web process itself never
parses one. Two ways to run a job:

- `WorkerPool.call`: one of a few long-lived workers (the gate's checks). A worker runs jobs
  one at a time under an address-space limit; if a job outlives its `timeout`, the worker is
  killed (and replaced on demand); a worker that ran out of memory, died, or did
  `max_jobs` jobs is retired. Warm workers answer in about the time of the work itself.
- `call`: a fresh process for one job (signing with a token, whose environment differs).

Workers are forked from a forkserver that has pyHanko imported already.

As with any multiprocessing start method but fork, a worker imports the program's main module
again (as `__mp_main__`): entry points must keep their work behind `if __name__ == "__main__"`
(the `registry` console script, pserve and `python -m pytest` do).
"""
import importlib
import logging
import multiprocessing
import os
import resource
import threading
import time
import traceback
from dataclasses import dataclass

from registry.signatures.verdict import Verdict

_context = None
PRELOAD = ["registry.signatures.checks", "pyhanko.pdf_utils.reader",
           "pyhanko.sign.validation", "pyhanko.sign.signers", "pyhanko_certvalidator",
           "asn1crypto.cms", "registry.cli"]


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


def _resolve(target):
    module_name, function_name = target.rsplit(":", 1)
    return getattr(importlib.import_module(module_name), function_name)


def _serve(conn, memory_limit):
    """A pool worker: run jobs from `conn` until told to stop (None) or the parent goes."""
    logging.disable(logging.CRITICAL)
    if memory_limit:
        resource.setrlimit(resource.RLIMIT_AS, (memory_limit, memory_limit))
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return
        if job is None:
            return
        target, args = job
        try:
            answer = ("ok", _resolve(target)(*args))
        except MemoryError:
            answer = ("memory", None)
        except BaseException as exc:  # noqa: BLE001  (report anything, never hang the parent)
            answer = ("error", (type(exc).__name__, str(exc)[:500],
                                traceback.format_exc(limit=5)[-2000:]))
        try:
            conn.send(answer)
        except MemoryError:
            conn.send(("memory", None))
        if answer[0] == "memory":
            return  # the heap may be in any state: let a fresh worker take over


class _Worker:
    def __init__(self, ctx, memory_limit):
        self.conn, child = ctx.Pipe(duplex=True)
        self.process = ctx.Process(target=_serve, args=(child, memory_limit), daemon=True)
        self.process.start()
        child.close()
        self.jobs = 0

    def stop(self):
        if self.process.is_alive():
            self.process.kill()
        self.process.join(1)
        self.conn.close()


class WorkerPool:
    """At most `size` long-lived workers, started on demand; `call` waits for a free one."""

    def __init__(self, size=2, memory_limit=None, max_jobs=500):
        self.size = size
        self.memory_limit = memory_limit
        self.max_jobs = max_jobs
        self._idle = []
        self._count = 0
        self._cond = threading.Condition()

    def _acquire(self, wait):
        with self._cond:
            deadline = time.monotonic() + wait
            while not self._idle and self._count >= self.size:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not self._cond.wait(remaining):
                    return None
            if self._idle:
                return self._idle.pop()
            self._count += 1
        try:
            return _Worker(_mp_context(), self.memory_limit)
        except BaseException:
            with self._cond:
                self._count -= 1
                self._cond.notify()
            raise

    def _release(self, worker, keep):
        with self._cond:
            if keep:
                self._idle.append(worker)
            else:
                self._count -= 1
            self._cond.notify()
        if not keep:
            worker.stop()

    def call(self, target, args, timeout):
        """Run `module:function(*args)` in a pool worker; return an Outcome ("busy" when no
        worker freed up within the time of a few jobs)."""
        started = time.monotonic()
        worker = self._acquire(wait=timeout * (self.size + 2))
        if worker is None:
            return Outcome("busy", elapsed=time.monotonic() - started)
        keep = False
        try:
            worker.conn.send((target, args))
            if not worker.conn.poll(timeout):
                return Outcome("timeout", elapsed=time.monotonic() - started)
            kind, value = worker.conn.recv()
            worker.jobs += 1
            keep = kind in ("ok", "error") and worker.jobs < self.max_jobs
            return Outcome(kind, value, round(time.monotonic() - started, 3))
        except (EOFError, OSError):
            worker.process.join(1)  # it closed the pipe: it is exiting; learn how it ended
            return Outcome("died", worker.process.exitcode, time.monotonic() - started)
        finally:
            self._release(worker, keep)

    def close(self):
        with self._cond:
            workers, self._idle = self._idle, []
        for worker in workers:
            worker.stop()


_pools = {}
_pools_lock = threading.Lock()


def pool(memory_limit, size=2):
    """The process's pool of gate workers for this memory budget (made on first use)."""
    with _pools_lock:
        key = (memory_limit, size)
        if key not in _pools:
            _pools[key] = WorkerPool(size=size, memory_limit=memory_limit)
        return _pools[key]


def run_checks(payload, expected_regno, trust, options, timeout, memory_limit, base,
               workers=2):
    """The gate's checks on `payload` (bytes, or a file path) in a worker; returns a Verdict:
    a worker that runs out of time answers TIMEOUT, one that dies or runs out of memory
    MALFORMED_PDF."""
    outcome = pool(memory_limit, workers).call(
        "registry.signatures.checks:inspect_payload", (payload, expected_regno, trust, options),
        timeout)
    if outcome.kind == "ok":
        data = outcome.value
        return Verdict.from_json({**data, "evidence": {**data["evidence"],
                                                       "elapsed_s": outcome.elapsed}})
    if outcome.kind in ("timeout", "busy"):
        return Verdict.refused("TIMEOUT", evidence={"timeout_s": timeout,
                                                    "busy": outcome.kind == "busy"}, **base)
    if outcome.kind == "memory":
        return Verdict.refused("MALFORMED_PDF", evidence={"error": "memory budget exceeded"},
                               **base)
    if outcome.kind == "died":
        return Verdict.refused("MALFORMED_PDF",
                               evidence={"error": f"checker died (exit {outcome.value})"},
                               **base)
    return Verdict.refused("MALFORMED_PDF", evidence={"error": "checker failed",
                                                      "detail": outcome.value[2]}, **base)
