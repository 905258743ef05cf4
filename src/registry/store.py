"""Opening the ZODB, and the request's connection to it.

Two ways to name the store:
- `zodbconn.uri` in the settings: any zodburi URI (`zeo://host:port?...` for a shared ZEO
  server, `file://...`, `memory://`, RelStorage's `postgres://...`). Used as given.
- otherwise the **embedded default**: a FileStorage with a blob directory in the data directory
  (`Data.fs`, `blobs/`). The process that serves the registry also serves that store over ZEO on
  a local socket (`zeo.sock`), so that `registry` commands run meanwhile reach it as ZEO clients;
  when nothing serves it, a command opens the files directly.
"""
import errno
import hashlib
import logging
import os
import socket
import tempfile
import threading
from pathlib import Path

import ZODB
import zc.lockfile
from ZODB.interfaces import IDatabase

from registry import settings as registry_settings

log = logging.getLogger(__name__)

#: The key of the Site in the ZODB root mapping.
ROOT_KEY = "registry"

# AF_UNIX paths are limited to 108 bytes on Linux; leave room.
_MAX_SOCKET_PATH = 100


class StoreBusy(RuntimeError):
    """The embedded store is locked by a process that does not serve it over ZEO."""


class EmbeddedStore:
    """The embedded default's files under `data_dir`."""

    def __init__(self, data_dir):
        self.data_dir = Path(data_dir).resolve()
        self.data_fs = self.data_dir / "Data.fs"
        self.blob_dir = self.data_dir / "blobs"
        socket_path = self.data_dir / "zeo.sock"
        if len(str(socket_path)) > _MAX_SOCKET_PATH:
            # Too long for a Unix socket: a short path derived from the data directory, so
            # every process working on this data directory finds the same one.
            digest = hashlib.sha256(str(self.data_dir).encode()).hexdigest()[:16]
            socket_path = Path(tempfile.gettempdir()) / f"registry-{digest}.sock"
        self.socket_path = socket_path

    def exists(self):
        return self.data_fs.exists()

    def prepare(self):
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.blob_dir.mkdir(mode=0o700, exist_ok=True)

    def served(self):
        """Return True if a ZEO server answers on the socket; remove a stale socket file."""
        path = str(self.socket_path)
        if not os.path.exists(path):
            return False
        probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        probe.settimeout(2)
        try:
            probe.connect(path)
            # Read the server's handshake before hanging up, so it has nothing to complain of.
            probe.recv(64)
            return True
        except OSError as exc:
            if exc.errno in (errno.ECONNREFUSED, errno.ENOENT):
                try:
                    os.unlink(path)
                except OSError:
                    pass
            return False
        finally:
            probe.close()

    def open_client(self):
        import ZEO

        # server_sync: each transaction starts with a round trip to the server, so a change
        # another process committed is seen at once (read-your-writes across processes).
        return ZEO.DB(str(self.socket_path), blob_dir=str(self.blob_dir), shared_blob_dir=True,
                      wait_timeout=30, server_sync=True)

    def open_direct(self):
        from ZODB.FileStorage import FileStorage

        self.prepare()
        try:
            storage = FileStorage(str(self.data_fs), blob_dir=str(self.blob_dir))
        except zc.lockfile.LockError:
            raise StoreBusy(
                f"the registry store {self.data_fs} is in use by another process; "
                "stop it, or run `registry serve` so that commands can share the store"
            ) from None
        return ZODB.DB(storage)

    def serve(self):
        """Open the FileStorage and serve it over ZEO on the socket in a background thread.

        Returns a ZeoServer; call its `close()` to stop. Raises StoreBusy if the files are
        locked by another process.
        """
        from ZODB.FileStorage import FileStorage
        from ZEO.StorageServer import StorageServer

        self.prepare()
        try:
            storage = FileStorage(str(self.data_fs), blob_dir=str(self.blob_dir))
        except zc.lockfile.LockError:
            raise StoreBusy(f"the registry store {self.data_fs} is in use by another process"
                            ) from None
        try:
            os.unlink(self.socket_path)
        except FileNotFoundError:
            pass
        server = StorageServer(str(self.socket_path), {"1": storage})
        os.chmod(self.socket_path, 0o600)
        return ZeoServer(server, storage, self.socket_path)


class ZeoServer:
    """A ZEO StorageServer running its event loop in a daemon thread."""

    def __init__(self, server, storage, socket_path):
        self.server = server
        self.storage = storage
        self.socket_path = socket_path
        self.thread = threading.Thread(target=server.loop, name="registry-zeo", daemon=True)
        self.thread.start()
        log.info("serving the registry store over ZEO at %s", socket_path)

    def close(self):
        if self.storage is None:
            return  # closed already
        self.server.close()
        self.thread.join(5)
        self.storage.close()
        self.storage = None
        try:
            os.unlink(self.socket_path)
        except FileNotFoundError:
            pass


def open_db(settings, serve=False):
    """Open the database the settings name. Returns (db, zeo_server_or_None).

    With `serve`, the embedded store is served over ZEO by this process unless another
    process serves it already. Raises StoreBusy (embedded store locked) and whatever the
    storage raises.
    """
    uri = registry_settings.zodb_uri(settings)
    if uri:
        from zodburi import resolve_uri

        storage_factory, dbkw = resolve_uri(uri)
        if uri.startswith("file://"):
            storage_factory = _native_blob_file_storage(uri) or storage_factory
        return ZODB.DB(storage_factory(), **dbkw), None
    store = EmbeddedStore(registry_settings.data_dir(settings))
    if store.served():
        return store.open_client(), None
    if not serve:
        return store.open_direct(), None
    server = store.serve()
    return store.open_client(), server


def _native_blob_file_storage(uri):
    """For a `file://...?blobstorage_dir=...` URI, a factory of a FileStorage with its own blob
    support. zodburi wraps the FileStorage in the older BlobStorage instead, which can delete a
    committed blob when a conflicting transaction aborts at the wrong moment."""
    from urllib.parse import parse_qs, unquote, urlsplit

    parts = urlsplit(uri)
    query = parse_qs(parts.query)
    blob_dir = query.get("blobstorage_dir", [None])[0]
    if not blob_dir:
        return None
    path = unquote(parts.path)

    def factory():
        from ZODB.FileStorage import FileStorage

        return FileStorage(path, blob_dir=blob_dir)

    return factory


def site_of(conn):
    """The Site stored in the database `conn` is connected to."""
    return conn.root()[ROOT_KEY]


def get_connection(request):
    """The request's ZODB connection, joined to the request's transaction manager and closed
    when the request ends."""
    db = request.registry.getUtility(IDatabase)
    conn = db.open(transaction_manager=request.tm)
    request.add_finished_callback(lambda request: conn.close())
    return conn


def includeme(config):
    config.add_request_method(get_connection, "zodb", reify=True)
