"""The `registry` command: every subcommand, wrong arguments, and work beside a running server."""
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import ZODB
from click.testing import CliRunner
from ZODB.FileStorage import FileStorage

from registry.cli import main
from registry.store import site_of

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def data_dir(tmp_path):
    return tmp_path / "var"


@pytest.fixture
def run(data_dir):
    runner = CliRunner()

    def invoke(*args, stdin=None):
        return runner.invoke(main, ["--data-dir", str(data_dir), *args], input=stdin,
                             catch_exceptions=False)

    return invoke


@pytest.fixture
def initialised(run):
    assert run("init").exit_code == 0
    assert run("org", "add", "--regno", "1000001", "--name", "Нийслэлийн Засаг даргын Тамгын газар",
               "--kind", "government").exit_code == 0
    assert run("org", "add", "--regno", "2000001", "--name", "Хөх тэнгэр ХХК",
               "--kind", "business").exit_code == 0
    return run


def open_site(data_dir):
    db = ZODB.DB(FileStorage(str(data_dir / "Data.fs"), blob_dir=str(data_dir / "blobs")))
    conn = db.open()
    return db, conn, site_of(conn)


def test_init_creates_the_store_once(run, data_dir):
    first = run("init")
    assert first.exit_code == 0 and "initialised" in first.output
    assert (data_dir / "Data.fs").exists() and (data_dir / "blobs").is_dir()
    again = run("init")
    assert again.exit_code == 0 and "already initialised" in again.output


def test_commands_refuse_a_data_directory_without_a_registry(run):
    result = run("org", "list")
    assert result.exit_code == 1 and "registry init" in result.stderr


def test_org_add_and_list(initialised):
    listed = initialised("org", "list", "--json")
    body = json.loads(listed.output)
    assert body["items_total"] == 2 and body["items"][0]["regno"] == "1000001"
    found = initialised("org", "list", "-q", "хөх")
    assert found.output.split()[0] == "2000001"


@pytest.mark.parametrize("args, code, text", [
    (["--regno", "123", "--name", "X", "--kind", "business"], 1, "7 digits"),
    (["--regno", "1000001", "--name", "X", "--kind", "business"], 1, "DUPLICATE_REGNO"),
    (["--regno", "3000001", "--name", "X", "--kind", "business", "--parent", "9999999"], 1,
     "UNKNOWN_PARENT"),
    (["--regno", "3000001", "--name", "X", "--kind", "ngo"], 2, "Invalid value"),
    (["--regno", "3000001", "--kind", "business"], 2, "Missing option"),
])
def test_org_add_errors(initialised, args, code, text):
    result = initialised("org", "add", *args)
    assert result.exit_code == code and text in result.stderr
    assert json.loads(initialised("org", "list", "--json").output)["items_total"] == 2


def test_user_add_reads_the_password_from_stdin(initialised, data_dir):
    result = initialised("user", "add", "--org", "1000001", "--login", "bold",
                         "--role", "records_manager,signatory", "--password-stdin",
                         stdin="a-long-password\nignored second line\n")
    assert result.exit_code == 0, result.stderr
    db, conn, site = open_site(data_dir)
    try:
        user = site.users["bold"]
        assert user.roles == ("records_manager", "signatory")
        assert user.check_password("a-long-password")
    finally:
        conn.close()
        db.close()


@pytest.mark.parametrize("args, stdin, text", [
    (["--org", "1000001", "--login", "x1y", "--role", "boss"], "a-long-password\n", "UNKNOWN_ROLE"),
    (["--org", "1000001", "--login", "x1y", "--role", "clerk"], "short\n", "WEAK_PASSWORD"),
    (["--org", "1000001", "--login", "x1y", "--role", "clerk"], "", "standard input is empty"),
    (["--org", "9999999", "--login", "x1y", "--role", "clerk"], "a-long-password\n", "UNKNOWN_ORG"),
])
def test_user_add_errors_exit_1(initialised, args, stdin, text):
    result = initialised("user", "add", *args, "--password-stdin", stdin=stdin)
    assert result.exit_code == 1 and text in result.stderr


def test_a_business_gets_one_account_from_the_cli_too(initialised):
    ok = initialised("user", "add", "--org", "2000001", "--login", "owner", "--role",
                     "records_manager", "--password-stdin", stdin="a-long-password\n")
    assert ok.exit_code == 0
    second = initialised("user", "add", "--org", "2000001", "--login", "other", "--role",
                         "clerk", "--password-stdin", stdin="a-long-password\n")
    assert second.exit_code == 1 and "ACCOUNT_LIMIT" in second.stderr


def test_passwd_and_token(initialised, data_dir):
    initialised("user", "add", "--org", "1000001", "--login", "bold", "--role", "clerk",
                "--password-stdin", stdin="a-long-password\n")
    assert initialised("user", "passwd", "bold", "--password-stdin",
                       stdin="another-password\n").exit_code == 0
    assert initialised("user", "passwd", "nobody", "--password-stdin",
                       stdin="another-password\n").exit_code == 1
    result = initialised("token", "create", "--login", "bold")
    assert result.exit_code == 0
    token = result.output.strip()
    assert result.output == token + "\n" and re.fullmatch(r"rgt_[\w-]{40,}", token)
    db, conn, site = open_site(data_dir)
    try:
        assert site.users.by_token(token).login == "bold"
        assert site.users["bold"].check_password("another-password")
        assert token not in str([vars(r) for r in site.audit.newest(0, 100)[0]])
    finally:
        conn.close()
        db.close()


def test_audit_verify_names_the_first_broken_record(initialised, data_dir):
    assert "intact" in initialised("audit", "verify").output
    db, conn, site = open_site(data_dir)
    try:
        from dataclasses import replace

        import transaction

        site.audit._records[2] = replace(site.audit.get(2), actor="forger")
        transaction.commit()
    finally:
        conn.close()
        db.close()
    result = initialised("audit", "verify")
    assert result.exit_code == 1 and "record 2" in result.stderr


def test_demo_is_idempotent(run):
    first = run("demo")
    assert first.exit_code == 0 and "admin" in first.output
    counts = re.search(r"(\d+) organisations, (\d+) accounts and (\d+) letters", first.output).groups()
    assert int(counts[0]) > 1000 and int(counts[1]) >= 5
    assert "0 organisations, 0 accounts and 0 letters" in run("demo").output


@pytest.mark.parametrize("args", [["nosuch"], ["user", "add"], ["serve", "--port", "0"],
                                  ["-c", "/no/such.ini", "org", "list"], ["org", "list", "--limit", "x"]])
def test_usage_errors_exit_2(run, args):
    result = run(*args)
    assert result.exit_code == 2 and "Usage:" in result.stderr


def test_every_command_has_help(run):
    for args in (["--help"], ["init", "--help"], ["serve", "--help"], ["org", "add", "--help"],
                 ["user", "add", "--help"], ["token", "create", "--help"],
                 ["audit", "verify", "--help"], ["demo", "--help"]):
        result = run(*args)
        assert result.exit_code == 0 and "Usage:" in result.output


# Beside a running server -------------------------------------------------------------------

def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(port, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"nothing listens on {port}")


def cli(data_dir, *args, stdin=None):
    return subprocess.run([sys.executable, "-m", "registry.cli", "--data-dir", str(data_dir),
                           *args], input=stdin, capture_output=True, text=True, cwd=ROOT,
                          timeout=120)


@pytest.mark.slow
def test_commands_work_while_the_registry_serves(data_dir):
    assert cli(data_dir, "init").returncode == 0
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "registry.cli", "--data-dir", str(data_dir), "serve", "--port",
         str(port)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_for(port)
        added = cli(data_dir, "org", "add", "--regno", "1000001", "--name", "Ажиллаж байхад",
                    "--kind", "government")
        assert added.returncode == 0, added.stderr
        assert cli(data_dir, "user", "add", "--org", "1000001", "--login", "bold", "--role",
                   "clerk", "--password-stdin", stdin="a-long-password\n").returncode == 0
        token = cli(data_dir, "token", "create", "--login", "bold").stdout.strip()
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/orgs?q=1000001",
            headers={"Accept": "application/json", "Authorization": f"Bearer {token}"})
        with urllib.request.urlopen(request, timeout=10) as response:
            body = json.load(response)
        assert [o["name"] for o in body["items"]] == ["Ажиллаж байхад"]
    finally:
        server.send_signal(signal.SIGTERM)
        output = server.communicate(timeout=30)[0]
    assert server.returncode == 0, output
    assert not (data_dir / "zeo.sock").exists()
    # Stopped: the command opens the files directly again.
    assert "Ажиллаж байхад" in cli(data_dir, "org", "list").stdout


def pserve_shipped_ini(tmp_path, data_dir, port):
    """Start pserve on a copy of etc/development.ini that listens on `port`."""
    ini = tmp_path / "development.ini"
    ini.write_text((ROOT / "etc" / "development.ini").read_text().replace(
        "listen = 127.0.0.1:6543", f"listen = 127.0.0.1:{port}"))
    env = {**os.environ, "REGISTRY_DATA_DIR": str(data_dir)}
    return subprocess.Popen(
        [os.path.join(os.path.dirname(sys.executable), "pserve"), str(ini)],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


@pytest.mark.slow
def test_pserve_serves_the_development_ini(tmp_path):
    data_dir = tmp_path / "var"
    port = free_port()
    server = pserve_shipped_ini(tmp_path, data_dir, port)
    try:
        wait_for(port)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/@@login", timeout=10) as response:
            assert response.status == 200 and b'name="password"' in response.read()
        assert (data_dir / "Data.fs").exists()
        # pserve serves the store over ZEO too, so a command can work meanwhile.
        assert cli(data_dir, "org", "list").returncode == 0
    finally:
        server.send_signal(signal.SIGTERM)
        server.communicate(timeout=30)
