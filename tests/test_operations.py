"""Operations: backup under load and restore, fixity checks, packing — through the `registry`
command on a store of letters sent through the exchange's own functions and the real gate."""
import hashlib
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import threading
from contextlib import contextmanager
from datetime import datetime, timezone

import pytest
import ZODB
from click.testing import CliRunner
from ZODB.FileStorage import FileStorage

import pdfs
from archive_letters import gate_for, send
from registry import exchange
from registry import operations as ops
from registry.cli import main
from registry.store import EmbeddedStore, site_of
from test_cli import ROOT, cli, free_port, wait_for

SENDER = "1000001"


@pytest.fixture(scope="module")
def letter_pdfs(pki):
    return [pdfs.signed_letter(pki, SENDER) for _ in range(3)]


@pytest.fixture
def gate(trust_dir):
    return gate_for(trust_dir)


def open_db(data_dir):
    return ZODB.DB(FileStorage(str(data_dir / "Data.fs"), blob_dir=str(data_dir / "blobs")))


def send_letters(db, gate, letter_pdfs, count, subject="Албан бичиг"):
    """Send `count` letters in their own transactions; return {(regno, id): sha256}."""
    sent = {}
    for index in range(count):
        with db.transaction() as conn:
            letter = send(site_of(conn), gate, letter_pdfs[index % len(letter_pdfs)],
                          datetime.now(timezone.utc), subject=f"{subject} {index}")
            sent[(letter.org, letter.__name__)] = letter.pdf.sha256
    return sent


@pytest.fixture
def store(template_store, tmp_path, gate, letter_pdfs):
    """A data directory holding the standard accounts and five sent letters."""
    data_dir = tmp_path / "var"
    shutil.copytree(template_store, data_dir)
    db = open_db(data_dir)
    try:
        send_letters(db, gate, letter_pdfs, 5)
    finally:
        db.close()
    return data_dir


def run(data_dir, *args):
    return CliRunner().invoke(main, ["--data-dir", str(data_dir), *args],
                              catch_exceptions=False)


@contextmanager
def site_in(data_dir):
    """The Site of the store in `data_dir`, in a transaction committed at the end."""
    db = open_db(data_dir)
    try:
        with db.transaction() as conn:
            yield site_of(conn)
    finally:
        db.close()


def blob_files(data_dir):
    """{(regno, id): committed blob path} of every letter's PDF."""
    with site_in(data_dir) as site:
        return {(regno, name): letter.pdf.path()
                for regno, name, letter in ops._letters_after(site, None)}


def audit_actions(data_dir):
    with site_in(data_dir) as site:
        records, _more = site.audit.newest(0, 1000)
        return [(r.action, r.target) for r in records]


def overwrite(path, data):
    os.chmod(path, stat.S_IRUSR | stat.S_IWUSR)
    with open(path, "r+b") as handle:
        handle.write(data)


# Fixity ------------------------------------------------------------------------------------

def test_fixity_check_reports_and_audits_a_corrupted_and_a_missing_blob(store):
    clean = run(store, "fixity", "check")
    assert clean.exit_code == 0, clean.output
    assert "5 letters checked, 0 problem(s)" in clean.stdout
    (corrupt_key, corrupt), (gone_key, gone) = sorted(blob_files(store).items())[1:3]
    overwrite(corrupt, b"%PDF-1.7 flipped")
    os.unlink(gone)

    result = run(store, "fixity", "check", "--json")
    assert result.exit_code == 1
    assert result.stderr.strip().endswith("[FIXITY_PROBLEMS]")
    assert json.loads(result.stdout) == {"checked": 5, "resumed": False, "problems": [
        {"path": f"/orgs/{corrupt_key[0]}/outbox/{corrupt_key[1]}", "problem": "mismatch"},
        {"path": f"/orgs/{gone_key[0]}/outbox/{gone_key[1]}", "problem": "missing"}]}
    actions = audit_actions(store)
    assert ("fixity.mismatch", f"/orgs/{corrupt_key[0]}/outbox/{corrupt_key[1]}") in actions
    assert ("fixity.missing", f"/orgs/{gone_key[0]}/outbox/{gone_key[1]}") in actions
    assert actions.count(("fixity.check", "/")) == 2
    assert "Audit trail intact" in run(store, "audit", "verify").stdout


def test_an_interrupted_fixity_check_resumes_where_it_stopped(store):
    db = open_db(store)
    try:
        def stop_after_first_batch(n):
            raise KeyboardInterrupt

        with pytest.raises(KeyboardInterrupt):
            ops.run_fixity(db, "test", batch=2, progress=stop_after_first_batch)
        with db.transaction() as conn:
            assert site_of(conn).fixity.checked == 2
        checked = []
        report = ops.run_fixity(db, "test", batch=2, progress=checked.append)
        assert (report.resumed, report.checked, checked, report.finished) == (
            True, 5, [2, 1], True)
        again = ops.run_fixity(db, "test", batch=2)
        assert (again.resumed, again.checked) == (False, 5)
    finally:
        db.close()


def test_a_second_fixity_check_is_refused_while_one_holds_its_claim(store):
    with site_in(store) as site:
        site.fixity.claimed_by, site.fixity.claimed_until = "other-host:1:1", 4102444800.0
    result = run(store, "fixity", "check")
    assert result.exit_code == 1
    assert "a fixity check is running in other-host:1:1" in result.stderr
    assert result.stderr.strip().endswith("[FIXITY_RUNNING]")


class Clock:
    def __init__(self):
        self.now = 1_800_000_000.0

    def __call__(self):
        return self.now


def test_the_schedule_runs_a_check_when_one_is_due(store):
    db = open_db(store)
    clock = Clock()
    schedule = ops.FixitySchedule(db, interval=24 * 3600, clock=clock)
    try:
        assert schedule.tick().checked == 5  # none ever finished: due at once
        clock.now += 23 * 3600
        assert schedule.tick() is None
        clock.now += 3600
        assert schedule.tick().checked == 5
    finally:
        db.close()


def test_the_server_runs_the_schedule_only_when_a_setting_asks(in_site_for, settings):
    from registry.operations import IFixitySchedule

    app, _ = in_site_for(settings)
    assert app.app.registry.queryUtility(IFixitySchedule) is None
    app, _ = in_site_for({**settings, "registry.fixity.interval_hours": "24",
                          "zodbconn.uri": "memory://"})
    schedule = app.app.registry.getUtility(IFixitySchedule)
    schedule.stop()
    assert schedule.interval == 24 * 3600


# Pack --------------------------------------------------------------------------------------

def test_pack_removes_replaced_pdfs_and_never_a_blob_a_letter_needs(store, gate, letter_pdfs):
    db = open_db(store)
    try:
        with db.transaction() as conn:
            site = site_of(conn)
            draft = exchange.create_draft(site, "rm_a", site.orgs[SENDER], subject="Төсөл",
                                          recipients=("1000002",), series="01")
            exchange.attach_pdf(site, "rm_a", draft, letter_pdfs[0], "a.pdf", 1 << 25)
        with db.transaction() as conn:
            draft = site_of(conn).orgs[SENDER]["outbox"][draft.__name__]
            replaced = draft.pdf.path()
            exchange.attach_pdf(site_of(conn), "rm_a", draft, letter_pdfs[1], "b.pdf", 1 << 25)
    finally:
        db.close()
    before = {key: open(path, "rb").read() for key, path in blob_files(store).items()}
    assert os.path.exists(replaced)

    result = run(store, "pack", "--days", "0")
    assert result.exit_code == 0, result.output
    assert not os.path.exists(replaced)
    after = blob_files(store)
    assert {key: open(path, "rb").read() for key, path in after.items()} == before
    assert "6 letters checked, 0 problem(s)" in run(store, "fixity", "check").stdout
    assert ("store.pack", "/") in audit_actions(store)


def test_pack_refuses_a_negative_number_of_days(store):
    assert run(store, "pack", "--days", "-1").exit_code == 2


# Backup and restore ------------------------------------------------------------------------

def test_backup_refuses_a_store_it_cannot_read_as_files(tmp_path):
    ini = tmp_path / "zeo.ini"
    ini.write_text((ROOT / "etc" / "production.ini").read_text())
    result = CliRunner().invoke(main, ["-c", str(ini), "backup", "--to", str(tmp_path / "b")])
    assert result.exit_code == 1
    assert result.stderr.strip().endswith("[STORAGE_NOT_FILE]")


def test_restore_never_writes_over_a_store(store, tmp_path):
    assert run(store, "backup", "--to", str(tmp_path / "backup")).exit_code == 0
    result = run(store, "restore", "--from", str(tmp_path / "backup"))
    assert result.exit_code == 1
    assert result.stderr.strip().endswith("[RESTORE_TARGET_EXISTS]")
    assert run(tmp_path / "empty", "restore", "--from", str(tmp_path)).stderr.strip().endswith(
        "[NO_BACKUP]")


@pytest.mark.slow
def test_backup_under_load_restores_every_letter_byte_for_byte(store, tmp_path, gate,
                                                               letter_pdfs):
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "registry.cli", "--data-dir", str(store), "serve", "--port",
         str(port)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    stop, sent, errors = threading.Event(), {}, []

    def load():
        # Letters sent meanwhile by another client of the served store.
        db = EmbeddedStore(store).open_client()
        try:
            index = 0
            while not stop.is_set():
                sent.update(send_letters(db, gate, letter_pdfs[index % 3:], 1, "Ачаалал"))
                index += 1
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            db.close()

    backup_dir = tmp_path / "backup"
    try:
        wait_for(port)
        sender = threading.Thread(target=load)
        sender.start()
        while len(sent) < 3:
            threading.Event().wait(0.1)
        full = cli(store, "backup", "--to", str(backup_dir))
        assert full.returncode == 0 and "Backup (full)" in full.stdout, full.stderr
        while len(sent) < 8:
            threading.Event().wait(0.1)
        before_incremental = dict(sent)
        incremental = cli(store, "backup", "--to", str(backup_dir))
        assert incremental.returncode == 0, incremental.stderr
        assert "Backup (incremental)" in incremental.stdout
        stop.set()
        sender.join(60)
    finally:
        stop.set()
        server.send_signal(signal.SIGTERM)
        output = server.communicate(timeout=30)[0]
    assert not errors and server.returncode == 0, (errors, output)

    fresh = tmp_path / "restored"
    restored = cli(fresh, "restore", "--from", str(backup_dir))
    assert restored.returncode == 0, restored.stderr
    assert "Audit trail intact" in restored.stdout
    assert "0 problem(s)" in restored.stdout and "Search index rebuilt" in restored.stdout
    originals = blob_files(store)
    copies = blob_files(fresh)
    assert set(before_incremental) <= set(copies) <= set(originals)
    for key, path in copies.items():
        with open(path, "rb") as copy, open(originals[key], "rb") as original:
            data = copy.read()
            assert data == original.read()
        if key in sent:
            assert hashlib.sha256(data).hexdigest() == sent[key]
    assert "Audit trail intact" in cli(fresh, "audit", "verify").stdout
    checked = cli(fresh, "search", "check")
    assert checked.returncode == 0, checked.stdout
    assert not (fresh / "zeo.sock").exists()
