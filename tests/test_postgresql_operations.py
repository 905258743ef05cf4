"""Operations on RelStorage (PostgreSQL): a logical backup with `pg_dump -Fc`, restored with
`pg_restore` into a new database, holds every letter byte for byte with its audit trail intact;
`registry pack` removes a replaced PDF's bytes from the database and never a blob a letter
needs. The commands are the ones the README gives an operator."""
import hashlib
import json
from datetime import datetime, timezone

import pytest
import ZODB
from click.testing import CliRunner
from ZODB.utils import u64
from zodburi import resolve_uri

from archive_letters import gate_for, send
from postgresql import USER
from registry import exchange
from registry.cli import main
from registry.store import site_of
from test_operations import letter_pdfs  # noqa: F401  (a fixture)
from conftest import database_name

SENDER = "1000001"


def open_db(uri):
    factory, dbkw = resolve_uri(uri)
    return ZODB.DB(factory(), **dbkw)


def write_ini(folder, uri, trust_dir, name):
    data_dir = folder / name
    data_dir.mkdir()
    ini = folder / f"{name}.ini"
    ini.write_text("[app:main]\nuse = egg:registry\n"
                   f"zodbconn.uri = {uri}\n"
                   f"registry.data_dir = {data_dir}\n"
                   "registry.session_secret = operations-on-postgresql-0123456789abcdef\n"
                   f"registry.trust_dir = {trust_dir}\n"
                   "search.ocr = false\n")
    return ini


def run(ini, *args):
    return CliRunner().invoke(main, ["-c", str(ini), *args], catch_exceptions=False)


def letters(db):
    """{(regno, id): the PDF's bytes} of every letter with a file, and their recorded SHA-256."""
    found = {}
    with db.transaction() as conn:
        for regno, org in site_of(conn).orgs.items():
            for folder in ("outbox", "inbox"):
                for name, item in org[folder].items():
                    pdf = getattr(item, "pdf", None)
                    if pdf is not None:
                        with pdf.open() as handle:
                            found[(regno, folder, name)] = (handle.read(), pdf.sha256)
    return found


@pytest.fixture
def database(postgresql, postgresql_template):
    return postgresql.create_database(database_name("ops"), template=postgresql_template)


def blob_rows(postgresql, database, oid, serial):
    """How many rows of RelStorage's blob table hold blob `oid` at revision `serial`."""
    connection = postgresql.connect(database)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM blob_chunk WHERE zoid = %s AND tid = %s",
                           (u64(oid), u64(serial)))
            return cursor.fetchone()[0]
    finally:
        connection.close()


def send_letters(db, gate, pdfs, count):
    for index in range(count):
        with db.transaction() as conn:
            send(site_of(conn), gate, pdfs[index % len(pdfs)], datetime.now(timezone.utc),
                 subject=f"Албан бичиг {index}")


def test_pg_dump_and_pg_restore_keep_every_letter_byte_for_byte(
        postgresql, database, tmp_path, trust_dir, letter_pdfs):  # noqa: F811
    uri = postgresql.uri(database, tmp_path / "cache-a")
    db = open_db(uri)
    try:
        send_letters(db, gate_for(trust_dir), letter_pdfs, 4)
        originals = letters(db)
    finally:
        db.close()
    assert len(originals) == 4  # a delivery reads its letter's PDF: one file a letter

    dump = postgresql.folder / "registry.dump"
    postgresql._run("pg_dump", "-h", "127.0.0.1", "-p", str(postgresql.port), "-U", USER,
                    "-Fc", "-f", str(dump), database)
    restored = postgresql.create_database(f"{database}_restored")
    postgresql._run("pg_restore", "-h", "127.0.0.1", "-p", str(postgresql.port), "-U", USER,
                    "-d", restored, "--no-owner", str(dump))

    copy = open_db(postgresql.uri(restored, tmp_path / "cache-b"))
    try:
        copies = letters(copy)
    finally:
        copy.close()
    assert copies == originals
    for data, sha256 in copies.values():
        assert hashlib.sha256(data).hexdigest() == sha256

    ini = write_ini(tmp_path, postgresql.uri(restored, tmp_path / "cache-c"), trust_dir, "b")
    assert "Audit trail intact" in run(ini, "audit", "verify").stdout
    fixity = run(ini, "fixity", "check")
    assert fixity.exit_code == 0 and "0 problem(s)" in fixity.stdout, fixity.output
    reindexed = run(ini, "reindex")
    assert reindexed.exit_code == 0, reindexed.output
    assert run(ini, "search", "check").exit_code == 0


def test_pack_on_postgresql_removes_a_replaced_pdf_and_keeps_every_letter(
        postgresql, database, tmp_path, trust_dir, letter_pdfs):  # noqa: F811
    uri = postgresql.uri(database, tmp_path / "cache-a")
    db = open_db(uri)
    try:
        send_letters(db, gate_for(trust_dir), letter_pdfs, 2)
        with db.transaction() as conn:
            site = site_of(conn)
            draft = exchange.create_draft(site, "rm_a", site.orgs[SENDER], subject="Төсөл",
                                          recipients=("1000002",), series="01")
            exchange.attach_pdf(site, "rm_a", draft, letter_pdfs[0], "a.pdf", 1 << 25)
            name = draft.__name__
        with db.transaction() as conn:
            blob = site_of(conn).orgs[SENDER]["outbox"][name].pdf.blob
            blob._p_activate()
            replaced = (blob._p_oid, blob._p_serial)
        with db.transaction() as conn:
            draft = site_of(conn).orgs[SENDER]["outbox"][name]
            exchange.attach_pdf(site_of(conn), "rm_a", draft, letter_pdfs[1], "b.pdf", 1 << 25)
        before = letters(db)
    finally:
        db.close()
    assert blob_rows(postgresql, database, *replaced) == 1

    ini = write_ini(tmp_path, postgresql.uri(database, tmp_path / "cache-b"), trust_dir, "b")
    packed = run(ini, "pack", "--days", "0")
    assert packed.exit_code == 0, packed.output

    assert blob_rows(postgresql, database, *replaced) == 0
    db = open_db(postgresql.uri(database, tmp_path / "cache-c"))
    try:
        assert letters(db) == before
    finally:
        db.close()
    fixity = run(ini, "fixity", "check")
    assert fixity.exit_code == 0 and "3 letters checked, 0 problem(s)" in fixity.stdout, \
        fixity.output


def test_fixity_on_postgresql_reports_a_letter_whose_bytes_are_gone(
        postgresql, database, tmp_path, trust_dir, letter_pdfs):  # noqa: F811
    db = open_db(postgresql.uri(database, tmp_path / "cache-a"))
    try:
        send_letters(db, gate_for(trust_dir), letter_pdfs, 2)
        with db.transaction() as conn:
            name, letter = next(iter(site_of(conn).orgs[SENDER]["outbox"].items()))
            blob = letter.pdf.blob
            blob._p_activate()
            oid = u64(blob._p_oid)
    finally:
        db.close()
    connection = postgresql.connect(database)
    with connection, connection.cursor() as cursor:
        cursor.execute("DELETE FROM blob_chunk WHERE zoid = %s", (oid,))
    connection.close()

    ini = write_ini(tmp_path, postgresql.uri(database, tmp_path / "cache-b"), trust_dir, "b")
    fixity = run(ini, "fixity", "check", "--json")
    assert fixity.exit_code == 1, fixity.output
    assert json.loads(fixity.stdout) == {"checked": 2, "resumed": False, "problems": [
        {"path": f"/orgs/{SENDER}/outbox/{name}", "problem": "missing"}]}
