"""Two app machines on one PostgreSQL: two real `registry serve` processes, each with a data
directory of its own (its blob cache, its search index), sharing only the RelStorage database
and the ini's settings — as two machines behind a proxy would. They behave as one registry:
search, sessions, handover packages, the sign-in throttle and the number counters."""
import hashlib
import re
import subprocess
import sys
import threading
import time
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import requests
import transaction
import ZODB
from zodburi import resolve_uri

import pdfs
from conftest import PASSWORD, database_name
from registry.store import site_of
from test_cli import ROOT, free_port, wait_for

pytestmark = pytest.mark.slow

SENDER, RECIPIENT, THIRD = "1000001", "1000002", "1000003"
SECRET = "two-machines-share-this-session-secret-0123456789"


class Machine:
    def __init__(self, name, folder, uri, trust_dir):
        self.name = name
        self.data_dir = folder / name
        self.data_dir.mkdir()
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.ini = folder / f"{name}.ini"
        self.ini.write_text(
            "[app:main]\nuse = egg:registry\n"
            f"zodbconn.uri = {uri.replace('BLOBS', str(self.data_dir / 'blobs'))}\n"
            f"registry.data_dir = {self.data_dir}\n"
            f"registry.session_secret = {SECRET}\n"
            f"registry.trust_dir = {trust_dir}\n"
            "registry.signature.workers = 1\n"
            "search.writer = thread\nsearch.ocr = false\nsearch.poll_seconds = 0.2\n")
        self.process = None

    def start(self):
        self.process = subprocess.Popen(
            [sys.executable, "-m", "registry.cli", "-c", str(self.ini), "serve", "--port",
             str(self.port), "--threads", "8"], cwd=ROOT, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True)

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                return self.process.communicate(timeout=30)[0]
            except subprocess.TimeoutExpired:
                self.process.kill()
                return self.process.communicate()[0]
        return ""


@pytest.fixture
def shared(postgresql, postgresql_template, tmp_path, trust_dir):
    """(machine A, machine B, a third connection to the database for the test's own looks)."""
    name = postgresql.create_database(database_name("two_machines"),
                                      template=postgresql_template)
    uri = postgresql.uri(name, "BLOBS")
    machines = [Machine(n, tmp_path, uri, trust_dir) for n in ("a", "b")]
    for machine in machines:
        machine.start()
    factory, dbkw = resolve_uri(uri.replace("BLOBS", str(tmp_path / "test-blobs")))
    db = ZODB.DB(factory(), **dbkw)
    try:
        for machine in machines:
            try:
                wait_for(machine.port, timeout=90)
            except AssertionError:
                raise AssertionError(machine.stop()) from None
        yield machines[0], machines[1], db
    finally:
        db.close()
        for machine in machines:
            machine.stop()


def token_for(db, login):
    tm = transaction.TransactionManager()
    conn = db.open(transaction_manager=tm)
    try:
        with tm:
            site = site_of(conn)
            token, _ = site.users.issue_token(site.users[login])
    finally:
        conn.close()
    return {"Accept": "application/json", "Authorization": f"Bearer {token}"}


def send(machine, headers, pki, subject, recipients=(RECIPIENT,)):
    """Draft, upload, sign and send through `machine`'s JSON API; return the letter's URL."""
    created = requests.post(f"{machine.url}/orgs/{SENDER}/outbox", headers=headers, timeout=30,
                            json={"subject": subject, "recipients": list(recipients)})
    assert created.status_code == 201, created.text
    letter = created.json()["@id"]
    uploaded = requests.put(letter + "@file", data=pdfs.signed_letter(pki, SENDER), timeout=30,
                            headers={**headers, "Content-Type": "application/pdf"})
    assert uploaded.status_code == 200, uploaded.text
    for step in ("sign", "send"):
        done = requests.post(f"{letter}@workflow/{step}", json={}, headers=headers, timeout=60)
        assert done.status_code == 200, done.text
    return letter


def found_within(machine, headers, words, seconds):
    """Seconds until a search on `machine` finds `words` (None if not within `seconds`)."""
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        answer = requests.get(f"{machine.url}/@search", params={"q": words}, headers=headers,
                              timeout=10)
        assert answer.status_code == 200, answer.text
        if answer.json()["items_total"]:
            return time.monotonic() - started
        time.sleep(0.02)
    return None


def sign_in(session, machine, login, password):
    page = session.get(f"{machine.url}/@@login", timeout=10)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    return session.post(f"{machine.url}/@@login", allow_redirects=False, timeout=30, data={
        "csrf_token": token, "login": login, "password": password, "came_from": "",
        "__formid__": "login-form", "submit": "submit"})


def test_two_machines_behave_as_one_registry(shared, pki):
    a, b, db = shared
    sender, recipient = token_for(db, "rm_a"), token_for(db, "rm_b")

    # Search: a letter sent on one machine is found on the other within a second (once each
    # machine's writer has started its text worker: the first letter may take longer).
    send(a, sender, pki, "Эхний бичиг")
    for machine in (a, b):
        assert found_within(machine, recipient, "эхний", 30) is not None
    send(a, sender, pki, "Алтанбулагийн тайлан")
    on_b = found_within(b, recipient, "алтанбулагийн", 1.0)
    send(b, sender, pki, "Хонгорзулын хуваарь")
    on_a = found_within(a, recipient, "хонгорзулын", 1.0)
    print(f"found on the other machine after {on_b} s (A to B) and {on_a} s (B to A)")
    assert on_b is not None, "B's index lags"
    assert on_a is not None, "A's index lags"

    # A session made on A works on B, its CSRF token too.
    browser = requests.Session()
    assert sign_in(browser, a, "rm_a", PASSWORD).status_code == 302
    home = browser.get(f"{b.url}/", timeout=10, allow_redirects=False)
    assert home.status_code == 200
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', home.text).group(1)
    assert browser.get(f"{a.url}/", timeout=10, allow_redirects=False).status_code == 200

    # A handover package made on A downloads on B.
    inbox = requests.get(f"{b.url}/orgs/{RECIPIENT}/inbox", headers=recipient, timeout=10)
    for item in inbox.json()["items"]:
        done = requests.post(f"{item['@id']}@workflow/register", json={}, headers=recipient,
                             timeout=60)
        assert done.status_code == 200, done.text
    year = datetime.now(ZoneInfo("Asia/Ulaanbaatar")).year
    made = requests.post(f"{a.url}/orgs/{SENDER}/handovers/@export", json={"year": year, "fond_reference": "Ф-1"},
                         headers=sender, timeout=30)
    assert made.status_code == 202, made.text
    record = made.json()["@id"]
    for _ in range(300):
        state = requests.get(f"{record}@@progress", headers=sender, timeout=10).json()
        if state["status"] != "building":
            break
        time.sleep(0.2)
    assert state["status"] == "made", state
    sha256 = requests.get(record, headers=sender, timeout=10).json()["sha256"]
    package = requests.get(f"{b.url}{record[len(a.url):]}@@package", headers=sender,
                           timeout=60)
    assert package.status_code == 200
    assert hashlib.sha256(package.content).hexdigest() == sha256

    # Ten failed sign-ins spread over both machines lock the account, on both.
    for attempt in range(10):
        assert sign_in(requests.Session(), (a, b)[attempt % 2], "rm_b",
                       "wrong-password").status_code == 403
    for machine in (a, b):
        refused = sign_in(requests.Session(), machine, "rm_b", PASSWORD)
        assert refused.status_code == 403 and "login-message" in refused.text
    tm = transaction.TransactionManager()
    conn = db.open(transaction_manager=tm)
    with tm:
        # Counted once across both: the ten, and the two refused while locked.
        assert len(site_of(conn).sign_in_failures.recent("127.0.0.1", 0)) == 12

    # Sign-out on B ends the session made on A, on A too.
    out = browser.post(f"{b.url}/@@logout", data={"csrf_token": csrf}, allow_redirects=False,
                       timeout=10)
    assert out.status_code == 302
    assert browser.get(f"{a.url}/", timeout=10, allow_redirects=False).status_code == 302

    # Sends on both machines at once: numbers unique and gap-free.
    failures = []

    def sender_thread(machine, index):
        try:
            for n in range(2):
                send(machine, sender, pki, f"Зэрэг илгээх {index}-{n}", (THIRD,))
        except BaseException as exc:  # noqa: BLE001  (reported below)
            failures.append(exc)

    threads = [threading.Thread(target=sender_thread, args=((a, b)[i % 2], i))
               for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(300)
    assert failures == []
    with tm:
        conn.sync()
        outbox = site_of(conn).orgs[SENDER]["outbox"]
        numbers = sorted(int(letter.outgoing_number.rsplit("/", 1)[1])
                         for letter in outbox.values() if letter.outgoing_number)
    conn.close()
    assert numbers == list(range(1, len(numbers) + 1)) and len(numbers) == 11
