"""Server-side sessions: signing out voids a saved cookie, timeouts by an injectable clock,
records of ended sessions pruned."""
import pytest
from webtest import TestApp

from conftest import JSON, csrf_token, login
from registry.security.sessions import ISessionPolicy, SessionPolicy, Sessions

OUTBOX = "/orgs/1000001/outbox/"


class Clock:
    def __init__(self, now=1_800_000_000.0):
        self.now = now

    def __call__(self):
        return self.now


@pytest.fixture
def clock(wsgi_app):
    clock = Clock()
    wsgi_app.registry.getUtility(ISessionPolicy).clock = clock
    return clock


def replay(wsgi_app, cookies):
    """A second browser holding the cookies `cookies` (saved from another)."""
    app = TestApp(wsgi_app, extra_environ={"HTTP_HOST": "registry.test"})
    for name, value in cookies.items():
        app.set_cookie(name, value)
    return app


def test_a_cookie_saved_before_logout_reads_and_edits_nothing(wsgi_app, testapp, clock):
    login(testapp, "rm_a")
    token = csrf_token(testapp.get(OUTBOX + "@@new"))
    draft = testapp.post_json(OUTBOX, {"subject": "Нууц", "recipients": ["1000002"]},
                              headers={**JSON, "X-CSRF-Token": token}, status=201).json["@id"]
    saved = dict(testapp.cookies)
    testapp.post("/@@logout", {"csrf_token": token}, status=302)

    thief = replay(wsgi_app, saved)
    assert thief.get(OUTBOX, status=302).location.startswith("http://registry.test/@@login")
    assert thief.get(OUTBOX, headers=JSON, status=401).json["error"]["code"] == "UNAUTHORIZED"
    thief.patch_json(draft, {"subject": "Changed"}, headers={**JSON, "X-CSRF-Token": token},
                     status=401)
    thief.post(draft + "@@edit", {"csrf_token": token, "subject": "Changed",
                                  "recipients": "1000002", "save": "save"}, status=302)
    login(testapp, "rm_a")
    assert testapp.get(draft, headers=JSON).json["subject"] == "Нууц"


def test_logout_is_audited(testapp, in_site, clock):
    login(testapp, "rm_a")
    testapp.post("/@@logout", {"csrf_token": csrf_token(testapp.get("/"))}, status=302)
    with in_site() as site:
        newest = site.audit.newest(0, 1)[0][0]
        assert (newest.action, newest.actor) == ("logout", "rm_a")
        assert site.sessions.count_for("rm_a") == 0


def test_a_password_change_voids_saved_cookies_in_the_store(wsgi_app, testapp, in_site, clock):
    login(testapp, "rm_a")
    saved = dict(testapp.cookies)
    page = testapp.get("/users/rm_a/@@password")
    form = page.forms["deform"]
    form["current"] = "correct-horse-1"
    form["password"] = form["password_confirm"] = "a-brand-new-pass"
    form.submit("save", status=302)
    with in_site() as site:
        assert site.sessions.count_for("rm_a") == 1  # the new one of this browser only
    replay(wsgi_app, saved).get("/", status=302)
    testapp.get("/", status=200)


def test_an_idle_session_ends_after_the_idle_timeout(testapp, clock):
    login(testapp, "rm_a")
    clock.now += 1790
    testapp.get("/", status=200)  # used within 30 min: it goes on
    clock.now += 1790
    testapp.get("/", status=200)
    clock.now += 1800
    testapp.get("/", status=302)


def test_a_session_ends_after_its_lifetime_however_used(testapp, clock):
    login(testapp, "rm_a")
    for _ in range(28):  # used every 17 min for 7 h 56 min
        clock.now += 1020
        testapp.get("/", status=200)
    clock.now += 28800 - 28 * 1020
    testapp.get("/", status=302)


def test_the_idle_clock_is_written_only_every_few_minutes(testapp, in_site, clock):
    login(testapp, "rm_a")
    with in_site() as site:
        record = next(iter(site.sessions._records.values()))
        signed_in, serial = record.last_seen, record._p_serial
    for _ in range(5):
        clock.now += 30
        testapp.get("/", status=200)
    with in_site() as site:
        record = next(iter(site.sessions._records.values()))
        assert (record.last_seen, record._p_serial) == (signed_in, serial)
    clock.now += 300
    testapp.get("/", status=200)
    with in_site() as site:
        assert next(iter(site.sessions._records.values())).last_seen == clock.now


def test_settings_choose_the_timeouts(in_site_for, settings):
    app, _ = in_site_for({**settings, "registry.session_idle_timeout": "60",
                          "registry.session_timeout": "600"})
    policy = app.app.registry.getUtility(ISessionPolicy)
    assert (policy.idle_timeout, policy.lifetime, policy.touch_interval) == (60, 600, 10)


def test_ended_sessions_are_pruned_a_bounded_number_at_a_time():
    clock = Clock()
    policy = SessionPolicy(idle_timeout=1800, lifetime=28800, clock=clock)
    sessions = Sessions()
    old = [sessions.start(f"user{i}", clock()) for i in range(120)]
    clock.now += 28800
    live = sessions.start("fresh", clock())
    assert sessions.prune(policy, limit=50) == 50
    assert len(sessions) == 71
    assert sessions.prune(policy, limit=50) == 50
    assert sessions.prune(policy, limit=50) == 20  # then stops at the live one
    assert list(sessions._records) == [live] and sessions.prune(policy) == 0
    assert not any(sessions.check(sid, f"user{i}", policy) for i, sid in enumerate(old))
    assert len(sessions._by_login) == len(sessions._by_created) == 1


def test_a_session_id_of_another_login_or_of_the_wrong_type_is_refused():
    clock = Clock()
    policy = SessionPolicy(clock=clock)
    sessions = Sessions()
    sid = sessions.start("rm_a", clock())
    assert not sessions.check(sid, "rm_b", policy)
    assert not sessions.check(None, "rm_a", policy)
    assert not sessions.check(["list"], "rm_a", policy)
    assert sessions.check(sid, "rm_a", policy)


def test_concurrent_touches_of_one_session_merge():
    from registry.security.sessions import SessionRecord

    record = SessionRecord("rm_a", 100.0)
    old = {"login": "rm_a", "created": 100.0, "last_seen": 100.0}
    merged = record._p_resolveConflict(old, {**old, "last_seen": 500.0},
                                       {**old, "last_seen": 400.0})
    assert merged == {**old, "last_seen": 500.0}


def test_evolve_6_gives_the_site_its_sessions_and_fixity_state(in_site):
    from registry.operations import FixityState
    from registry.resources.evolve import evolve

    with in_site() as site:
        del site.sessions, site.fixity  # as the site was before generation 6
        site.generation = 5
        assert evolve(site) == [6, 7, 8, 9, 10, 11, 12, 15]
        assert isinstance(site.sessions, Sessions) and isinstance(site.fixity, FixityState)
        assert len(site.sessions) == 0 and site.fixity.cursor is None
