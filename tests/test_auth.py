"""Sign-in, sign-out, sessions, throttling and CSRF, through the real application."""

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
