"""How far one machine's index has applied the search change log (`registry.search.queue`).

Kept next to the index (`<search.directory>/changelog-<engine>.json`), because it describes
that index: a copy of the index taken elsewhere, or an index deleted by hand, takes its
position with it. Written after the index commits (a crash in between only applies some
entries again, which is harmless), atomically (a new file renamed over the old one), and under
an exclusive lock (`changelog-<engine>.lock`) held by whoever applies the log, so several
processes on one machine (the server, `registry search apply`) share one index safely.
"""
import fcntl
import json
import os
import secrets
import socket
from contextlib import contextmanager
from dataclasses import dataclass, field


@dataclass
class Position:
    """`log`: the id of the log this position is in; `machine`: this index's id in the log's
    `machines`; `horizon`: every entry older (nanoseconds) is applied; `done`: the keys applied
    from the horizon on."""

    log: str
    machine: str
    horizon: int = 0
    done: set = field(default_factory=set)

    def advance(self, horizon):
        """Move the horizon to `horizon` (never back) and forget the keys before it."""
        if horizon > self.horizon:
            self.horizon = horizon
            self.done = {key for key in self.done if key[0] >= horizon}


class PositionFile:
    def __init__(self, directory, engine):
        self.directory = directory
        self.path = os.path.join(directory, f"changelog-{engine}.json")
        self.lock_path = os.path.join(directory, f"changelog-{engine}.lock")

    @staticmethod
    def name():
        """What a machine is called in the log's `machines` (for people reading it)."""
        return socket.gethostname()

    def load(self, log_id):
        """The position kept for log `log_id`, or None (no position, or one of another log)."""
        try:
            with open(self.path, encoding="utf-8") as handle:
                data = json.load(handle)
        except (OSError, ValueError):
            return None
        if data.get("log") != log_id:
            return None
        return Position(log=data["log"], machine=data["machine"], horizon=int(data["horizon"]),
                        done={tuple(key) for key in data.get("done", ())})

    def machine_id(self):
        """This index's machine id: the one kept with its position, else a new one."""
        try:
            with open(self.path, encoding="utf-8") as handle:
                return json.load(handle)["machine"]
        except (OSError, ValueError, KeyError):
            return secrets.token_hex(8)

    def save(self, position):
        os.makedirs(self.directory, exist_ok=True)
        data = {"log": position.log, "machine": position.machine, "horizon": position.horizon,
                "done": sorted(list(key) for key in position.done)}
        temporary = f"{self.path}.{os.getpid()}.tmp"
        with open(temporary, "w", encoding="utf-8") as handle:
            json.dump(data, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, self.path)

    @contextmanager
    def locked(self):
        """Hold the machine's exclusive right to apply the log to this index."""
        os.makedirs(self.directory, exist_ok=True)
        with open(self.lock_path, "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
