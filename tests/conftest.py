"""Shared fixtures: a real ZODB FileStorage per test, the WSGI app from `main()`, accounts.

Hashing passwords with argon2 is slow on purpose, so the standard accounts are created once per
session in a template store; each test gets its own copy of that store's files.
"""
import itertools
import os
import re
import shutil
import tempfile
from datetime import datetime, timedelta, timezone
from contextlib import contextmanager

# Every test builds a fresh application, and each would compile every template again: keep the
# compiled templates on disk for the session (set before Chameleon is imported).
os.environ.setdefault("CHAMELEON_CACHE", tempfile.mkdtemp(prefix="registry-chameleon-"))

import pytest
import transaction
import ZODB
from webtest import TestApp
from ZODB.FileStorage import FileStorage
from ZODB.interfaces import IDatabase

from registry import main
from registry.accounts import create_account
from registry.directory import register_organisation
from registry.resources.evolve import bootstrap
from registry.search.indexing import ISearchService
from registry.store import site_of

PASSWORD = "correct-horse-1"

ORGS = [
    # regno, name, kind, parent
    ("1000001", "Нийслэлийн Засаг даргын Тамгын газар", "government", None),
    ("1000002", "Баянзүрх дүүргийн Засаг даргын Тамгын газар", "government", None),
    ("1000003", "Хөх тэнгэр трейд ХХК", "business", None),
    ("1000004", "Баянзүрх дүүргийн 1 дүгээр хорооны Засаг даргын Тамгын газар", "government",
     "1000002"),
]

ACCOUNTS = [
    # login, regno, roles
    ("admin", "1000001", ("site_admin",)),
    ("rm_a", "1000001", ("records_manager",)),
    ("sign_a", "1000001", ("signatory",)),
    ("clerk_a", "1000001", ("clerk",)),
    ("aud_a", "1000001", ("auditor",)),
    ("rm_b", "1000002", ("records_manager",)),
    ("aud_b", "1000002", ("auditor",)),
    ("biz_c", "1000003", ("records_manager", "signatory")),
]

LIMITS = {"business": 1, "government": None}


@pytest.fixture(scope="session")
def template_store(tmp_path_factory):
    """A store with the standard organisations and accounts, built once per session."""
    folder = tmp_path_factory.mktemp("template-store")
    db = ZODB.DB(FileStorage(str(folder / "Data.fs"), blob_dir=str(folder / "blobs")))
    bootstrap(db)
    with db.transaction() as conn:
        site = site_of(conn)
        for regno, name, kind, parent in ORGS:
            register_organisation(site, "test", regno, name, kind, parent=parent)
        for login, regno, roles in ACCOUNTS:
            create_account(site, "test", regno, login, roles, PASSWORD, limits=LIMITS,
                           may_grant_admin=True)
    db.close()
    return folder


#: The stores a test marked `both_stores` runs on: the embedded FileStorage and RelStorage on
#: PostgreSQL (several machines). Unmarked tests run on FileStorage only.
STORES = ("file", "relstorage")


def pytest_generate_tests(metafunc):
    if "store_kind" in metafunc.fixturenames and metafunc.definition.get_closest_marker(
            "both_stores"):
        metafunc.parametrize("store_kind", STORES, indirect=True)


@pytest.fixture
def store_kind(request):
    return getattr(request, "param", "file")


@pytest.fixture(scope="session")
def postgresql():
    """A PostgreSQL cluster of this test session (tests/postgresql.py). Where it cannot start,
    the tests that need it fail in CI (CI=true) and are skipped elsewhere."""
    from postgresql import Cluster

    try:
        cluster = Cluster().start()
    except RuntimeError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is required in CI: {exc}")
        pytest.skip(f"PostgreSQL is not available: {exc}")
    yield cluster
    cluster.stop()


@pytest.fixture(scope="session")
def postgresql_template(postgresql, template_store, tmp_path_factory):
    """A database holding the template store, copied for each test that wants RelStorage."""
    from postgresql import copy_store

    name = postgresql.create_database("registry_template")
    copy_store(template_store, postgresql.uri(name, tmp_path_factory.mktemp("template-cache")))
    return name


_databases = itertools.count()


def database_name(prefix):
    """A database name no other test of this run has used (a name taken from an object's id
    or a free port can come back while the database made with it still exists)."""
    return f"{prefix}_{os.getpid()}_{next(_databases)}"


@pytest.fixture
def relstorage_uri(request, postgresql, postgresql_template, tmp_path):
    """A fresh RelStorage database with the standard organisations and accounts: its URI."""
    name = postgresql.create_database(database_name("registry"), template=postgresql_template)
    return postgresql.uri(name, tmp_path / "blob-cache")


@pytest.fixture
def store_uri(request, store_kind, tmp_path, template_store):
    """The zodburi URI of the test's store, a copy of the template store."""
    if store_kind == "relstorage":
        return request.getfixturevalue("relstorage_uri")
    store = tmp_path / "store"
    shutil.copytree(template_store, store)
    return f"file://{store}/Data.fs?blobstorage_dir={store}/blobs"


@pytest.fixture
def settings(tmp_path, store_uri, trust_dir):
    return {
        "registry.trust_dir": str(trust_dir),
        "zodbconn.uri": store_uri,
        "registry.data_dir": str(tmp_path / "var"),
        "registry.session_secret": "test-session-secret-not-for-production-use",
        "registry.accounts_per_org.business": "1",
        "registry.accounts_per_org.government": "unlimited",
        # Index work is applied right after each writing request, so tests see it at once.
        "search.writer": "inline",
        # The audit records of each writing request are chained right after it, likewise.
        "registry.audit.sealer": "inline",
    }


@pytest.fixture
def wsgi_app(settings):
    app = main({}, **settings)
    yield app
    stop_app(app)


def stop_app(app):
    """Stop an application's threads, then close its store."""
    from registry.audit_sealing import ISealer
    from registry.checkpoints import ICheckpointSchedule
    from registry.notifications import IDueSchedule
    from registry.preservation import IStamper
    from registry.receipts import IReceiptIssuer

    app.registry.getUtility(ISearchService).stop()
    for background in (IStamper, IReceiptIssuer, ICheckpointSchedule, IDueSchedule, ISealer):
        worker = app.registry.queryUtility(background)
        if worker is not None:
            worker.stop()
    app.registry.getUtility(IDatabase).close()


@pytest.fixture
def testapp(wsgi_app):
    return TestApp(wsgi_app, extra_environ={"HTTP_HOST": "registry.test"})


@pytest.fixture
def db(wsgi_app):
    return wsgi_app.registry.getUtility(IDatabase)


@contextmanager
def site_transaction(db):
    """Yield the Site in a transaction committed at the end of the block."""
    tm = transaction.TransactionManager()
    conn = db.open(transaction_manager=tm)
    try:
        with tm:
            yield site_of(conn)
    finally:
        conn.close()


@pytest.fixture
def in_site(db):
    return lambda: site_transaction(db)


@pytest.fixture
def in_site_for():
    """Build an app from given settings: returns (TestApp, in_site)."""
    made = []

    def build(settings):
        app = main({}, **settings)
        made.append(app)
        db = app.registry.getUtility(IDatabase)
        return (TestApp(app, extra_environ={"HTTP_HOST": "registry.test"}),
                lambda: site_transaction(db))

    yield build
    for app in made:
        stop_app(app)


def csrf_token(response):
    match = re.search(r'name="csrf_token" value="([^"]+)"', response.text)
    assert match, "page has no CSRF token"
    return match.group(1)


def login(testapp, username, password=PASSWORD, status=302):
    page = testapp.get("/@@login")
    form = page.forms["login-form"]
    form["login"] = username
    form["password"] = password
    return form.submit("submit", status=status)


@pytest.fixture
def login_as(testapp):
    def do(username, password=PASSWORD):
        login(testapp, username, password)
        return testapp

    return do


JSON = {"Accept": "application/json"}


def send_letter(testapp, headers, pdf, recipients=("1000002",), subject="Тест",
                sender="1000001"):
    """Draft, upload, sign and send a letter through the JSON API; return its path."""
    letter = testapp.post_json(f"/orgs/{sender}/outbox", {
        "subject": subject, "recipients": list(recipients)}, headers=headers,
        status=201).json["@id"]
    testapp.put(letter + "@file", pdf, headers={**headers, "Content-Type": "application/pdf"})
    testapp.post_json(letter + "@workflow/sign", {}, headers=headers)
    testapp.post_json(letter + "@workflow/send", {}, headers=headers)
    return letter.replace("http://registry.test", "")


@pytest.fixture
def api(in_site):
    """api(login) -> headers that authenticate as that account with a fresh API token."""

    def client(login_name):
        with in_site() as site:
            token, _ = site.users.issue_token(site.users[login_name])
        return {**JSON, "Authorization": f"Bearer {token}"}

    return client


@pytest.fixture(scope="session")
def pki():
    """The test PKI (root, issuing CA, organisation certificates, CRLs), made once."""
    from pki import TestPKI

    return TestPKI()


@pytest.fixture(scope="session")
def trust_dir(pki, tmp_path_factory):
    """A trust directory for the test PKI. Every certificate the samples use is made first,
    so that the CRL in it lists the revoked ones."""
    import pdfs

    for sample in pdfs.SAMPLES:
        if sample.group == "cert":
            sample.build(pki, "1000001")
    return pki.write_trust_dir(tmp_path_factory.mktemp("trust"))


@pytest.fixture(scope="session")
def tsa(pki):
    """The test PKI's time-stamping authority, served over HTTP on a free port of 127.0.0.1
    (the registry reaches it with its real HTTP client). Tests may set `available` to False
    to take it down; it is up again for the next test."""
    from registry.signatures.tsa import LocalTsa

    identity = pki.tsa()
    server = LocalTsa(identity.cert_der, identity.key_der, [pki.issuing.cert_der]).start()
    yield server
    server.stop()


@pytest.fixture
def tsa_up(tsa):
    tsa.available = True
    yield tsa
    tsa.available = True


def generations_after(generation):
    """The schema generations `evolve` brings a store at `generation` through: every later one,
    in order (registry.resources.evolve.STEPS)."""
    from registry.resources.evolve import STEPS

    return [number for number, _step in STEPS if number > generation]


#: Thursday 2026-12-03, 10:00 in Ulaanbaatar: where the application's clock starts in the tests
#: that move it (`clock`).
CLOCK_START = datetime(2026, 12, 3, 2, 0, tzinfo=timezone.utc)


@pytest.fixture
def clock(wsgi_app):
    """The application's clock (`registry.clock`), at CLOCK_START: clock.to(datetime), or
    clock.days(n) / clock.hours(n) forward."""

    class Clock:
        now = CLOCK_START

        def to(self, when):
            self.now = when

        def days(self, n):
            self.now = self.now + timedelta(days=n)

        def hours(self, n):
            self.now = self.now + timedelta(hours=n)

    moving = Clock()
    wsgi_app.registry.clock = lambda: moving.now
    return moving
