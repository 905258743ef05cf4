"""A throwaway PostgreSQL cluster for the tests: `initdb` + `pg_ctl` in a temporary folder, on a
free port of 127.0.0.1, with no system service.

PostgreSQL refuses to run as root; CI runs as root, so the cluster then belongs to the
`postgres` user (Debian's `postgresql` package creates it) and its commands run through
`runuser`. Each database a test asks for is a copy of a template database made once
(`CREATE DATABASE ... TEMPLATE`: milliseconds), holding the test store's organisations and
accounts.
"""
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

USER = "registry"


def server_bin():
    """The newest PostgreSQL server's bin directory (Debian: /usr/lib/postgresql/<major>/bin)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda path: int(path.split("/")[-3]))
    if found:
        return os.path.dirname(found[-1])
    initdb = shutil.which("initdb")
    if initdb:
        return os.path.dirname(os.path.realpath(initdb))
    raise RuntimeError("PostgreSQL is not installed (Debian: apt-get install postgresql)")


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Cluster:
    """One PostgreSQL cluster: `start()`, `create_database(name, template)`, `uri(name, ...)`,
    `stop()`."""

    def __init__(self):
        self.bin = server_bin()
        self.folder = Path(tempfile.mkdtemp(prefix="registry-pg-"))
        self.port = free_port()
        self.owner = "postgres" if os.geteuid() == 0 else None
        self._connection = None

    def _run(self, *command, **kwargs):
        command = [os.path.join(self.bin, command[0]), *command[1:]]
        if self.owner:
            command = ["runuser", "-u", self.owner, "--", *command]
        return subprocess.run(command, check=True, capture_output=True, text=True, timeout=120,
                              **kwargs)

    def start(self):
        data = self.folder / "data"
        if self.owner:
            os.chmod(self.folder, 0o755)
            entry = pwd.getpwnam(self.owner)
            os.chown(self.folder, entry.pw_uid, entry.pw_gid)
        try:
            self._run("initdb", "-D", str(data), "-U", USER, "--auth=trust", "-E", "UTF8",
                      "--locale=C")
            # Durability is not tested here: fsync off makes each commit cheap.
            options = (f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.folder} "
                       "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
                       "-c max_connections=200")
            self._run("pg_ctl", "-D", str(data), "-o", options, "-l",
                      str(self.folder / "server.log"), "-w", "-t", "60", "start")
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as exc:
            log = self.folder / "server.log"
            detail = getattr(exc, "stderr", "") or ""
            if log.exists():
                detail += log.read_text()[-2000:]
            raise RuntimeError(f"PostgreSQL did not start: {exc}\n{detail}") from exc
        return self

    def connect(self, dbname="postgres"):
        import psycopg2

        return psycopg2.connect(host="127.0.0.1", port=self.port, user=USER, dbname=dbname)

    def execute(self, sql):
        """Run one statement outside a transaction (CREATE/DROP DATABASE need that)."""
        if self._connection is None:
            self._connection = self.connect()
            self._connection.autocommit = True
        with self._connection.cursor() as cursor:
            cursor.execute(sql)

    def create_database(self, name, template=None):
        clause = f" TEMPLATE {template}" if template else ""
        for attempt in range(50):
            try:
                self.execute(f"CREATE DATABASE {name}{clause}")
                return name
            except Exception as exc:  # the template is briefly in use by a closing client
                if "is being accessed by other users" not in str(exc) or attempt == 49:
                    raise
                time.sleep(0.1)
        return name

    def uri(self, name, blob_dir, **options):
        """The zodburi URI of a RelStorage in database `name`, its blobs in the database and a
        blob cache in `blob_dir`."""
        query = {"blob_dir": str(blob_dir), "shared_blob_dir": "false",
                 "blob_cache_size": "100mb", "cache_local_mb": "20", **options}
        joined = "&".join(f"{key}={value}" for key, value in query.items())
        return f"postgres://{USER}@127.0.0.1:{self.port}/{name}?{joined}"

    def stop(self):
        if self._connection is not None:
            self._connection.close()
            self._connection = None
        try:
            self._run("pg_ctl", "-D", str(self.folder / "data"), "-m", "immediate", "-w",
                      "stop")
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError):
            pass
        shutil.rmtree(self.folder, ignore_errors=True)


def copy_store(file_store_folder, uri):
    """Copy a FileStorage (Data.fs and blobs/ in `file_store_folder`) into the RelStorage `uri`,
    every transaction as it was."""
    from ZODB.FileStorage import FileStorage
    from zodburi import resolve_uri

    factory, _dbkw = resolve_uri(uri)
    target = factory()
    source = FileStorage(str(Path(file_store_folder) / "Data.fs"),
                         blob_dir=str(Path(file_store_folder) / "blobs"), read_only=True)
    try:
        target.copyTransactionsFrom(source)
    finally:
        source.close()
        target.close()
