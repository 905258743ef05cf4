"""The exchange's rules under pressure: no advertising (limits, reports), no leaks to
outsiders, retried conflicts, a crash mid-send, and numbers under concurrency."""
import signal
import subprocess
import sys
import threading
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import transaction

import pdfs
from conftest import JSON, csrf_token, login, send_letter
from registry import exchange
from registry.store import site_of

ROOT = Path(__file__).resolve().parent.parent
SENDER, RECIPIENT, OTHER = "1000001", "1000002", "1000003"


@pytest.fixture
def signed_pdf(pki):
    return pdfs.signed_letter(pki, SENDER)


# Drafting through multipart, the PDF inline, the signature panel ---------------------------

def test_multipart_draft_with_its_file(testapp, api, signed_pdf, clock):
    headers = {k: v for k, v in api("rm_a").items()}
    response = testapp.post(f"/orgs/{SENDER}/outbox", [
        ("subject", "Файлтай төсөл"), ("recipients", RECIPIENT), ("recipients", OTHER),
        ("due_date", "2026-12-31")], upload_files=[("file", "захидал.pdf", signed_pdf)],
        headers=headers, status=201)
    body = response.json
    assert body["state"] == "draft" and body["recipients"] == [RECIPIENT, OTHER]
    assert body["pdf"]["sha256"] and body["response_due"] == "2026-12-31"
    stored = testapp.get(body["@id"] + "@file", headers=headers)
    assert stored.body == signed_pdf


def test_pdf_can_be_viewed_inline_and_the_panel_lists_the_checks(testapp, api, signed_pdf):
    headers = api("rm_a")
    letter = send_letter(testapp, headers, signed_pdf)
    login(testapp, "rm_a")
    inline = testapp.get(letter + "@@pdf?inline=1")
    assert inline.headers["Content-Disposition"].startswith("inline")
    assert inline.headers["X-Content-Type-Options"] == "nosniff"
    page = testapp.get(letter).html
    checks = page.find(id="checks").find_all("li")
    assert len(checks) == 8 and all(li["data-ok"] == "yes" for li in checks)
    # The check at sending is judged as of the registry's first acceptance: the signing.
    judged = testapp.get(letter, headers=headers).json["signature"]["evidence"]["judged"]
    assert judged["basis"] == "first_acceptance"
    signed_at = datetime.fromisoformat(judged["at"]).astimezone(ZoneInfo("Asia/Ulaanbaatar"))
    assert " ".join(page.find(id="judged").get_text().split()) == (
        "Систем энэ файлыг анх хүлээн авсан үеийн байдлаар, тухайн үед хадгалсан хүчингүй "
        "болсон гэрчилгээний мэдээллээр шалгасан. Хүлээн авсан цаг: "
        f"{signed_at:%Y-%m-%d %H:%M:%S} (Улаанбаатарын цагаар).")


# No advertising ----------------------------------------------------------------------------

def test_recipients_per_letter_limit(settings, in_site_for, signed_pdf):
    settings["registry.limits.recipients_per_letter"] = "1"
    app, in_site = in_site_for(settings)
    with in_site() as site:
        token, _ = site.users.issue_token(site.users["rm_a"])
    headers = {**JSON, "Authorization": f"Bearer {token}"}
    letter = app.post_json(f"/orgs/{SENDER}/outbox", {"subject": "Олон", "recipients": [
        RECIPIENT, OTHER]}, headers=headers, status=201).json["@id"]
    app.put(letter + "@file", signed_pdf, headers={**headers, "Content-Type": "application/pdf"})
    refused = app.post_json(letter + "@workflow/sign", {}, headers=headers, status=409).json
    assert [r["code"] for r in refused["reasons"]] == ["TOO_MANY_RECIPIENTS"]


def test_letters_per_day_limit(settings, in_site_for, signed_pdf):
    settings["registry.limits.letters_per_day"] = "2"
    app, in_site = in_site_for(settings)
    with in_site() as site:
        token, _ = site.users.issue_token(site.users["rm_a"])
    headers = {**JSON, "Authorization": f"Bearer {token}"}
    send_letter(app, headers, signed_pdf)
    send_letter(app, headers, signed_pdf)
    letter = app.post_json(f"/orgs/{SENDER}/outbox", {"subject": "Гурав", "recipients": [
        RECIPIENT]}, headers=headers, status=201).json["@id"]
    app.put(letter + "@file", signed_pdf, headers={**headers, "Content-Type": "application/pdf"})
    refused = app.post_json(letter + "@workflow/sign", {}, headers=headers, status=409).json
    assert refused["reasons"][0]["code"] == "DAILY_LIMIT"


def test_a_reported_sender_can_be_suspended_by_a_site_admin(testapp, api, signed_pdf, in_site):
    send_letter(testapp, api("rm_a"), signed_pdf, subject="Хямдрал! Манай бараа")
    receiver = api("rm_b")
    delivery = testapp.get(f"/orgs/{RECIPIENT}/inbox", headers=receiver).json["items"][0]["@id"]
    testapp.post_json(delivery + "@report", {"reason": ""}, headers=receiver, status=400)
    testapp.post_json(delivery + "@report", {"reason": "Бараа сурталчилсан"}, headers=receiver,
                      status=201)
    testapp.post_json(delivery + "@report", {"reason": "дахин"}, headers=receiver, status=409)
    testapp.post_json(delivery + "@report", {"reason": "x"}, headers=api("aud_b"), status=403)

    login(testapp, "rm_a")
    testapp.get("/reports/", status=403)
    testapp.post("/@@logout", {"csrf_token": csrf_token(testapp.get("/"))})
    login(testapp, "admin")
    queue = testapp.get("/reports/")
    link = queue.html.find(id="reports").find("a")["href"].replace("http://registry.test", "")
    page = testapp.get(link)
    assert "Бараа сурталчилсан" in page.text
    assert testapp.get(link + "@@pdf").body == signed_pdf
    testapp.post(link + "@@decide", {"decision": "suspend", "csrf_token": csrf_token(page)},
                 status=302)
    with in_site() as site:
        assert not site.orgs[SENDER].active
        assert [r.action for r in site.audit.newest(0, 3)[0]][:2] == ["report.suspend",
                                                                     "org.update"]
    testapp.get("/", headers=api("rm_b"))  # the recipient is unaffected


# No leaks ----------------------------------------------------------------------------------

LETTER_VIEWS = ["", "@@pdf", "@@pdf?inline=1", "@file", "@workflow"]
LETTER_POSTS = ["@@workflow", "@@edit", "@@pdf-upload", "@@sign-with-token", "@@report"]


def test_no_outsider_reaches_any_letter_or_delivery_url(testapp, api, signed_pdf, in_site):
    """Walk every URL of a sent letter and of each delivery as every account of every other
    organisation: each answers 404, in HTML and JSON, for reading and for writing."""
    letter = send_letter(testapp, api("rm_a"), signed_pdf, recipients=(RECIPIENT,))
    with in_site() as site:
        delivery = site.orgs[RECIPIENT]["inbox"]
        delivery_url = f"/orgs/{RECIPIENT}/inbox/{next(iter(delivery.keys()))}/"
        accounts = {u.login: u.org for u in site.users.values()}
    targets = {letter: SENDER, delivery_url: RECIPIENT}
    checked = 0
    for url, owner in targets.items():
        for login_name, org in accounts.items():
            if org == owner:
                continue
            headers = api(login_name)
            for view in LETTER_VIEWS:
                assert testapp.get(url + view, headers=headers, expect_errors=True
                                   ).status_int == 404, (login_name, url + view)
                checked += 1
            for action in ["@workflow/sign", "@workflow/register", "@workflow/reject",
                           "@report"]:
                assert testapp.post_json(url + action, {}, headers=headers,
                                         expect_errors=True).status_int == 404
                checked += 1
            for action in LETTER_POSTS:
                assert testapp.post(url + action, {}, headers=headers,
                                    expect_errors=True).status_int == 404
                checked += 1
    assert checked > 100


# Conflicts, crashes, concurrency -----------------------------------------------------------

def test_a_conflict_in_the_middle_of_a_send_is_retried_once_cleanly(testapp, api, signed_pdf,
                                                                    in_site, monkeypatch):
    from ZODB.POSException import ConflictError

    headers = api("rm_a")
    letter = testapp.post_json(f"/orgs/{SENDER}/outbox", {"subject": "Зөрчил", "recipients": [
        RECIPIENT, OTHER]}, headers=headers, status=201).json["@id"]
    testapp.put(letter + "@file", signed_pdf, headers={**headers, "Content-Type": "application/pdf"})
    testapp.post_json(letter + "@workflow/sign", {}, headers=headers)
    real_deliver, calls = exchange.EFFECTS["deliver"], []

    def deliver_then_conflict(obj, ctx, evidence):
        produced = real_deliver(obj, ctx, evidence)
        calls.append(1)
        if len(calls) == 1:
            raise ConflictError("simulated concurrent change")
        return produced

    monkeypatch.setitem(exchange.EFFECTS, "deliver", deliver_then_conflict)
    sent = testapp.post_json(letter + "@workflow/send", {}, headers=headers).json
    assert len(calls) == 2 and sent["state"] == "sent"
    with in_site() as site:
        outbox = site.orgs[SENDER]["outbox"]
        assert list(outbox.journal.values()) == [letter.rstrip("/").rsplit("/", 1)[1]]
        assert outbox.counters[("01", site.orgs[SENDER]["outbox"][
            letter.rstrip("/").rsplit("/", 1)[1]].number_year)] == 1
        for regno in (RECIPIENT, OTHER):
            assert len(site.orgs[regno]["inbox"]) == 1
        assert sum(1 for r in site.audit.newest(0, 50)[0] if r.action == "letter.send") == 1


CRASH_SCRIPT = r"""
import sys, time
sys.path.insert(0, {tests!r})
import transaction, ZODB
from ZODB.FileStorage import FileStorage
from pyramid.authorization import ACLHelper
from registry import exchange
from registry.security.principals import principals_for
from registry.signatures import Gate, GateConfig
from registry.store import site_of

def main():
    db = ZODB.DB(FileStorage({fs!r}, blob_dir={blobs!r}))
    conn = db.open()
    site = site_of(conn)
    letter = site.orgs["1000001"]["outbox"][{name!r}]
    user = site.users["rm_a"]
    ctx = exchange.context(site, "rm_a", lambda p, o: bool(ACLHelper().permits(
        o, principals_for(user), p)), gate=Gate(GateConfig(trust_dir={trust!r})))
    real = exchange.EFFECTS["deliver"]
    def deliver_and_hang(obj, ctx, evidence):
        produced = real(obj, ctx, evidence)
        print("DELIVERED", flush=True)
        time.sleep(600)  # killed here: half the work done, nothing committed
        return produced
    exchange.EFFECTS["deliver"] = deliver_and_hang
    exchange.transition(letter, "send", ctx)
    transaction.commit()

if __name__ == "__main__":
    main()
"""


def test_a_process_killed_in_the_middle_of_a_send_leaves_nothing_half_done(settings, pki,
                                                                           signed_pdf,
                                                                           trust_dir):
    import ZODB
    from ZODB.FileStorage import FileStorage

    store = settings["zodbconn.uri"][len("file://"):].split("?")[0]
    blobs = str(Path(store).parent / "blobs")
    db = ZODB.DB(FileStorage(store, blob_dir=blobs))
    with db.transaction() as conn:
        site = site_of(conn)
        letter = exchange.create_draft(site, "rm_a", site.orgs[SENDER], subject="Сүйрэл",
                                       recipients=[RECIPIENT, OTHER])
        exchange.attach_pdf(site, "rm_a", letter, signed_pdf, "a.pdf", 1 << 20)
        letter.state = "signed"  # as if signed: the test is about send
        letter.__parent__.state_changed(letter, "draft")
        name = letter.__name__
    db.close()
    script = CRASH_SCRIPT.format(tests=str(ROOT / "tests"), fs=store, blobs=blobs, name=name,
                                 trust=str(trust_dir))
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True,
                             cwd=ROOT)
    try:
        assert child.stdout.readline().strip() == "DELIVERED"
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(10)
    db = ZODB.DB(FileStorage(store, blob_dir=blobs))
    try:
        with db.transaction() as conn:
            site = site_of(conn)
            letter = site.orgs[SENDER]["outbox"][name]
            assert letter.state == "signed" and letter.outgoing_number is None
            assert len(letter.deliveries) == 0
            assert len(site.orgs[RECIPIENT]["inbox"]) == 0 and len(site.orgs[OTHER]["inbox"]) == 0
            assert dict(site.orgs[SENDER]["outbox"].counters) == {}
    finally:
        db.close()


def signed_drafts(db, pdf, count):
    names = []
    with db.transaction() as conn:
        site = site_of(conn)
        for i in range(count):
            letter = exchange.create_draft(site, "rm_a", site.orgs[SENDER], subject=f"№{i}",
                                           recipients=[RECIPIENT])
            exchange.attach_pdf(site, "rm_a", letter, pdf, "a.pdf", 1 << 20)
            letter.state = "signed"  # as if signed: these tests are about send
            letter.__parent__.state_changed(letter, "draft")
            names.append(letter.__name__)
    return names


def assert_numbers_gap_free(db, names):
    with db.transaction() as conn:
        site = site_of(conn)
        outbox = site.orgs[SENDER]["outbox"]
        assert sorted(outbox[name].number_seq for name in names) == \
            list(range(1, len(names) + 1))
        assert len({outbox[name].outgoing_number for name in names}) == len(names)
        assert len(site.orgs[RECIPIENT]["inbox"]) == len(names)
        assert sorted(outbox.journal.values()) == sorted(names)


def test_concurrent_sends_from_two_threads_get_distinct_gap_free_numbers(db, signed_pdf,
                                                                         trust_dir):
    """Two threads, each with its own connection, send letters of one organisation. Their first
    sends are made to overlap for certain (both take a number before either commits): one of
    them conflicts on the counter and is retried, and the numbers end up 1..N, no repeats."""
    from pyramid.authorization import ACLHelper

    from registry.security.principals import principals_for
    from registry.signatures import Gate, GateConfig

    gate = Gate(GateConfig(trust_dir=str(trust_dir)))
    names = signed_drafts(db, signed_pdf, 8)
    both_numbered = threading.Barrier(2)
    attempts = []

    def sender(my_names):
        tm = transaction.TransactionManager()
        conn = db.open(transaction_manager=tm)
        try:
            for index, name in enumerate(my_names):
                for attempt in tm.attempts(10):
                    with attempt:
                        attempts.append(name)
                        site = site_of(conn)
                        user = site.users["rm_a"]
                        ctx = exchange.context(site, "rm_a", lambda p, o: bool(
                            ACLHelper().permits(o, principals_for(user), p)), gate=gate)
                        exchange.transition(site.orgs[SENDER]["outbox"][name], "send", ctx)
                        if index == 0 and attempts.count(name) == 1:
                            both_numbered.wait(30)
        finally:
            conn.close()

    threads = [threading.Thread(target=sender, args=(names[i::2],)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert len(attempts) > len(names), "the overlapping sends must have conflicted"
    assert_numbers_gap_free(db, names)


def test_eight_clients_sending_at_once_through_the_app_are_never_busy(wsgi_app, api, pki,
                                                                        db):
    """Eight threads, each its own client of the real application (pyramid_tm, pyramid_retry,
    the gate; a FileStorage), send letters of one organisation at once: every request is
    answered (none 503 BUSY) and the numbers are 1..N without gaps."""
    from webtest import TestApp

    pdfs_by_thread = [[pdfs.sign(pdfs.letter_pdf(f"Зэрэг {t}-{n}"), pki.org(SENDER))
                       for n in range(3)] for t in range(8)]
    headers = [api("rm_a") for _ in range(8)]
    start = threading.Barrier(8)
    statuses, names = [], []
    lock = threading.Lock()

    def client(index):
        app = TestApp(wsgi_app, extra_environ={"HTTP_HOST": "registry.test"})
        start.wait(60)
        for pdf in pdfs_by_thread[index]:
            calls = [app.post_json(f"/orgs/{SENDER}/outbox", {"subject": "Зэрэг", "recipients": [
                RECIPIENT]}, headers=headers[index], expect_errors=True)]
            letter = calls[0].json["@id"]
            calls.append(app.put(letter + "@file", pdf, headers={
                **headers[index], "Content-Type": "application/pdf"}, expect_errors=True))
            for step in ("sign", "send"):
                calls.append(app.post_json(f"{letter}@workflow/{step}", {},
                                           headers=headers[index], expect_errors=True))
            with lock:
                statuses.extend(call.status_int for call in calls)
                names.append(letter.rstrip("/").rsplit("/", 1)[1])

    threads = [threading.Thread(target=client, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(600)
    assert len(names) == 24 and sorted(set(statuses)) == [200, 201]
    assert_numbers_gap_free(db, names)


def test_sends_counted_on_one_day_by_concurrent_transactions_all_count(db):
    """The daily count (the daily limit's) merges concurrent sends instead of conflicting."""
    with db.transaction() as conn:
        site_of(conn).orgs[SENDER]["outbox"].count_sent("2026-03-02")
    managers = [transaction.TransactionManager() for _ in range(2)]
    conns = [db.open(transaction_manager=tm) for tm in managers]
    try:
        for conn in conns:
            site_of(conn).orgs[SENDER]["outbox"].count_sent("2026-03-02")
        for tm in managers:
            tm.commit()
    finally:
        for conn in conns:
            conn.close()
    with db.transaction() as conn:
        assert site_of(conn).orgs[SENDER]["outbox"].sent_count("2026-03-02") == 3


PROCESS_SCRIPT = r"""
import sys
sys.path.insert(0, {tests!r})
import transaction
from pyramid.authorization import ACLHelper
from registry import exchange
from registry.security.principals import principals_for
from registry.signatures import Gate, GateConfig
from registry.store import open_db, site_of

def main():
    db, _ = open_db({{"registry.data_dir": {data_dir!r}}})
    gate = Gate(GateConfig(trust_dir={trust!r}))
    tm = transaction.TransactionManager()
    conn = db.open(transaction_manager=tm)
    retries = 0
    for name in {names!r}:
        for attempt in tm.attempts(20):
            with attempt:
                retries += 1
                site = site_of(conn)
                user = site.users["rm_a"]
                ctx = exchange.context(site, "rm_a", lambda p, o: bool(ACLHelper().permits(
                    o, principals_for(user), p)), gate=gate)
                exchange.transition(site.orgs["1000001"]["outbox"][name], "send", ctx)
    print("ATTEMPTS", retries, flush=True)
    conn.close()
    db.close()

if __name__ == "__main__":
    main()
"""


@pytest.mark.slow
def test_concurrent_sends_from_two_processes_through_zeo(tmp_path, template_store, signed_pdf,
                                                         trust_dir):
    """Two processes share the embedded store through its ZEO server and send letters of one
    organisation at once: numbers stay unique and gap-free."""
    import shutil

    from registry.store import EmbeddedStore

    data_dir = tmp_path / "var"
    data_dir.mkdir()
    shutil.copy(template_store / "Data.fs", data_dir / "Data.fs")
    shutil.copytree(template_store / "blobs", data_dir / "blobs")
    server = EmbeddedStore(data_dir).serve()
    try:
        db = EmbeddedStore(data_dir).open_client()
        names = signed_drafts(db, signed_pdf, 12)
        scripts = [PROCESS_SCRIPT.format(tests=str(ROOT / "tests"), data_dir=str(data_dir),
                                         trust=str(trust_dir), names=names[i::2])
                   for i in range(2)]
        children = [subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE,
                                     text=True, cwd=ROOT) for script in scripts]
        outputs = [child.communicate(timeout=180)[0] for child in children]
        assert all(child.returncode == 0 for child in children), outputs
        assert_numbers_gap_free(db, names)
        db.close()
    finally:
        server.close()


def test_an_upload_replayed_after_a_conflict_keeps_its_pdf(testapp, api, signed_pdf, in_site,
                                                          monkeypatch):
    from ZODB.POSException import ConflictError

    headers = api("rm_a")
    letter = testapp.post_json(f"/orgs/{SENDER}/outbox", {"subject": "Дахин", "recipients": [
        RECIPIENT]}, headers=headers, status=201).json["@id"]
    real_attach, calls = exchange.attach_pdf, []

    def attach_then_conflict(*args, **kw):
        stored = real_attach(*args, **kw)
        calls.append(1)
        if len(calls) == 1:
            raise ConflictError("simulated")
        return stored

    monkeypatch.setattr(exchange, "attach_pdf", attach_then_conflict)
    stored = testapp.put(letter + "@file", signed_pdf,
                         headers={**headers, "Content-Type": "application/pdf"}).json
    assert len(calls) == 2 and stored["size"] == len(signed_pdf)
    assert testapp.get(letter + "@file", headers=headers).body == signed_pdf


def test_file_uris_with_blobs_use_the_native_blob_support(settings, tmp_path):
    from registry.store import open_db

    db, _ = open_db(settings)
    try:
        storage = db.storage
        assert type(storage).__name__ == "FileStorage" and storage.blob_dir
    finally:
        db.close()


def test_a_conflict_on_every_replay_answers_busy_and_changes_nothing(testapp, api, in_site,
                                                                     monkeypatch):
    from ZODB.POSException import ConflictError

    headers = api("rm_a")

    def always_conflicting(*args, **kw):
        raise ConflictError("simulated")

    monkeypatch.setattr(exchange, "create_draft", always_conflicting)
    response = testapp.post_json(f"/orgs/{SENDER}/outbox", {"subject": "x"}, headers=headers,
                                 status=503)
    assert response.json["error"]["code"] == "BUSY" and response.headers["Retry-After"] == "1"
    with in_site() as site:
        assert len(site.orgs[SENDER]["outbox"]) == 0
