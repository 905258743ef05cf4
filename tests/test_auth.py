"""Sign-in, sign-out, sessions, throttling and CSRF, through the real application."""

import pytest

from conftest import JSON, PASSWORD, csrf_token, login


def test_anonymous_visitors_are_sent_to_sign_in(testapp):
    response = testapp.get("/orgs/", status=302)
    assert "/@@login?came_from=%2Forgs%2F" in response.location


def test_sign_in_lands_where_the_visitor_was_going(testapp):
    page = testapp.get("/@@login?came_from=/orgs/")
    form = page.forms["login-form"]
    form["login"], form["password"] = "rm_a", PASSWORD
    response = form.submit("submit", status=302)
    assert response.location == "http://registry.test/orgs/"
    assert "Нийслэлийн Засаг даргын Тамгын газар" in testapp.get("/").text


def test_came_from_cannot_send_the_user_to_another_site(testapp):
    page = testapp.get("/@@login?came_from=//evil.example/x")
    form = page.forms["login-form"]
    form["login"], form["password"] = "rm_a", PASSWORD
    assert form.submit("submit").location == "http://registry.test/"


def test_wrong_password_is_refused_with_a_message(testapp):
    response = login(testapp, "rm_a", "not-the-password", status=403)
    assert "login-message" in response.text
    testapp.get("/", status=302)


def test_account_locks_after_repeated_failures(testapp):
    for _ in range(5):
        login(testapp, "clerk_a", "wrong-password-x", status=403)
    response = login(testapp, "clerk_a", PASSWORD, status=403)
    assert "login-message" in response.text
    testapp.get("/", status=302)


def test_address_is_throttled_after_many_failures_even_for_unknown_logins(testapp):
    for i in range(20):
        login(testapp, f"nobody{i}", "wrong-password-x", status=403)
    response = login(testapp, "rm_a", PASSWORD, status=429)
    assert response.headers["Retry-After"]


def test_sign_out_ends_the_session(testapp):
    login(testapp, "rm_a")
    home = testapp.get("/")
    testapp.post("/@@logout", {"csrf_token": csrf_token(home)}, status=302)
    testapp.get("/", status=302)


def test_sign_out_without_csrf_token_is_refused(testapp):
    login(testapp, "rm_a")
    testapp.post("/@@logout", {}, status=400)
    testapp.get("/", status=200)


def test_login_form_without_csrf_token_is_refused(testapp):
    testapp.get("/@@login")
    response = testapp.post("/@@login", {"login": "rm_a", "password": PASSWORD,
                                         "submit": "submit"}, status=400)
    assert "error-message" in response.text
    testapp.get("/", status=302)


def test_changing_the_password_ends_other_sessions(wsgi_app, testapp):
    from webtest import TestApp

    other = TestApp(wsgi_app, extra_environ={"HTTP_HOST": "registry.test"})
    login(other, "rm_a")
    other.get("/", status=200)
    login(testapp, "rm_a")
    page = testapp.get("/users/rm_a/@@password")
    form = page.forms["deform"]
    form["current"] = PASSWORD
    form["password"] = form["password_confirm"] = "a-brand-new-pass"
    form.submit("save", status=302)
    testapp.get("/", status=200)  # this session was renewed
    other.get("/", status=302)  # the other one is over
    login(other, "rm_a", "a-brand-new-pass")


def test_own_password_change_needs_the_current_password(testapp):
    login(testapp, "rm_a")
    form = testapp.get("/users/rm_a/@@password").forms["deform"]
    form["current"] = "wrong-current-pw"
    form["password"] = form["password_confirm"] = "a-brand-new-pass"
    response = form.submit("save", status=400)
    assert "error" in response.text
    testapp.post("/@@logout", {"csrf_token": csrf_token(response)})
    login(testapp, "rm_a", PASSWORD)


def test_api_token_authenticates_json_requests_without_csrf(testapp, in_site):
    with in_site() as site:
        token, _ = site.users.issue_token(site.users["admin"])
    headers = {**JSON, "Authorization": f"Bearer {token}"}
    body = testapp.get("/", headers=headers).json
    assert body["account"]["login"] == "admin"
    created = testapp.post_json("/orgs", {"regno": "7000001", "name": "Токеноор үүсгэсэн",
                                          "kind": "government"}, headers=headers, status=201)
    assert created.json["regno"] == "7000001"


def test_bad_token_is_unauthorized(testapp):
    response = testapp.get("/", headers={**JSON, "Authorization": "Bearer rgt_wrong"},
                           status=401)
    assert response.json["error"]["code"] == "UNAUTHORIZED"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_deactivated_organisation_locks_its_accounts_out(testapp, in_site):
    login(testapp, "rm_b")
    testapp.get("/", status=200)
    with in_site() as site:
        site.orgs.update(site.orgs["1000002"], active=False)
    testapp.get("/", status=302)


def test_a_forwarded_address_is_believed_only_from_a_trusted_proxy(settings, in_site_for):
    from registry.security.throttle import client_address
    from registry.settings import trusted_proxies
    from pyramid.testing import DummyRequest

    proxies = trusted_proxies({"registry.trusted_proxies": "10.0.0.0/24, 192.0.2.7"})
    spoofed = DummyRequest(remote_addr="203.0.113.9",
                           headers={"X-Forwarded-For": "198.51.100.1"})
    assert client_address(spoofed, proxies) == "203.0.113.9"
    proxied = DummyRequest(remote_addr="10.0.0.3",
                           headers={"X-Forwarded-For": "198.51.100.1, 203.0.113.9, 192.0.2.7"})
    assert client_address(proxied, proxies) == "203.0.113.9", "the client's own claim is not"
    assert client_address(proxied, ()) == "10.0.0.3"

    app, in_site = in_site_for({**settings, "registry.trusted_proxies": "10.0.0.3"})
    through_proxy = {"REMOTE_ADDR": "10.0.0.3", "HTTP_X_FORWARDED_FOR": "203.0.113.9"}
    app.extra_environ.update(through_proxy)
    for i in range(20):
        login(app, f"nobody{i}", "wrong-password-x", status=403)
    login(app, "rm_a", PASSWORD, status=429)
    app.extra_environ["HTTP_X_FORWARDED_FOR"] = "203.0.113.10"  # another client, same proxy
    login(app, "rm_a", PASSWORD, status=302)
    with in_site() as site:
        assert site.sign_in_failures.recent("203.0.113.9", 0) != []
        assert site.sign_in_failures.recent("10.0.0.3", 0) == []


def test_failures_counted_by_two_processes_at_once_merge_and_expire():
    from registry.security.throttle import AddressFailures, AddressThrottle, FailedSignIns

    old = {"times": ((1.0, "a"),)}
    merged = AddressFailures()._p_resolveConflict(
        old, {"times": ((1.0, "a"), (2.0, "b"))}, {"times": ((1.0, "a"), (2.5, "c"))})
    assert merged["times"] == ((1.0, "a"), (2.0, "b"), (2.5, "c"))
    cleared = AddressFailures()._p_resolveConflict(old, {"times": ()}, {"times": old["times"]})
    assert cleared["times"] == ()

    now = [1000.0]
    throttle = AddressThrottle(limit=3, window=60, clock=lambda: now[0])
    failures = FailedSignIns()
    for _ in range(3):
        throttle.failed(failures, "198.51.100.1")
    assert throttle.retry_after(failures, "198.51.100.1") == 61
    now[0] += 61
    assert throttle.retry_after(failures, "198.51.100.1") == 0
    throttle.failed(failures, "198.51.100.2")  # prunes the expired address
    assert len(failures) == 1


def test_a_shared_store_refuses_to_start_without_a_session_secret(settings, monkeypatch):
    from registry import main
    from registry.settings import SettingsError

    monkeypatch.delenv("REGISTRY_SESSION_SECRET", raising=False)
    shared = {key: value for key, value in settings.items()
              if key != "registry.session_secret"}
    shared["zodbconn.uri"] = "postgres://registry@127.0.0.1:1/registry"
    with pytest.raises(SettingsError, match="registry.session_secret .* is required"):
        main({}, **shared)
