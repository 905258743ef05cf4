"""Administration through the UI: organisations, accounts, the account list, the audit trail,
mailboxes — one test per role and action that matters."""
import pytest

from conftest import JSON, csrf_token, login


# Registering and editing organisations ------------------------------------------------------

@pytest.mark.parametrize("who", ["rm_a", "sign_a", "clerk_a", "aud_a", "biz_c"])
def test_only_site_admins_open_the_registration_form(login_as, who):
    login_as(who).get("/orgs/@@add", status=403)


def test_site_admin_registers_an_organisation(login_as, in_site):
    app = login_as("admin")
    form = app.get("/orgs/@@add").forms["deform"]
    form["regno"] = "7000001"
    form["name"] = "Сүхбаатар дүүргийн Засаг даргын Тамгын газар"
    form["kind"] = "government"
    form["parent"] = "1000001"
    page = form.submit("save", status=302).follow()
    assert "7000001" in page.text and "Сүхбаатар дүүргийн" in page.text
    with in_site() as site:
        assert site.orgs["7000001"].parent_regno == "1000001"
        record = site.audit.newest(0, 1)[0][0]
        assert (record.actor, record.action, record.org) == ("admin", "org.register", "7000001")


@pytest.mark.parametrize("field, value, message, status", [
    ("regno", "12345", "7", 400),  # the field's own check
    ("regno", "1000002", "1000002", 409),  # taken: the API's status for it
    ("parent", "9999999", "9999999", 404),  # names no organisation: the API's status
])
def test_registration_form_shows_the_error_on_the_field(login_as, in_site, field, value, message,
                                                        status):
    app = login_as("admin")
    form = app.get("/orgs/@@add").forms["deform"]
    form["regno"], form["name"], form["kind"] = "7000001", "Нэр", "business"
    form[field] = value
    page = form.submit("save", status=status)
    error = page.html.find(class_="invalid-feedback") or page.html.find(class_="alert-danger")
    assert error is not None and message in page.text
    with in_site() as site:
        assert len(site.orgs) == 4


def test_site_admin_deactivates_and_renames(login_as, in_site):
    app = login_as("admin")
    form = app.get("/orgs/1000003/@@edit").forms["deform"]
    assert form["name"].value == "Хөх тэнгэр трейд ХХК"
    form["name"] = "Хөх тэнгэр групп ХХК"
    form["active"] = False
    form.submit("save", status=302)
    with in_site() as site:
        org = site.orgs["1000003"]
        assert org.name == "Хөх тэнгэр групп ХХК" and not org.active
        assert site.audit.newest(0, 1)[0][0].detail["active"] == [True, False]
    results = app.get("/orgs/", {"q": "хөх"}).html.find(id="directory-results").text
    assert "Хөх тэнгэр" not in results


@pytest.mark.parametrize("who", ["rm_a", "clerk_a"])
def test_others_cannot_edit_organisations(login_as, who):
    app = login_as(who)
    app.get("/orgs/1000001/@@edit", status=403)
    token = csrf_token(app.get("/"))
    app.post("/orgs/1000001/@@edit", {"csrf_token": token, "name": "x", "kind": "business",
                                      "save": "save"}, status=403)


# Accounts of an organisation ---------------------------------------------------------------

@pytest.mark.parametrize("who, regno, status", [
    ("admin", "1000001", 200), ("admin", "1000002", 200),
    ("rm_a", "1000001", 200), ("rm_a", "1000002", 403),
    ("sign_a", "1000001", 403), ("clerk_a", "1000001", 403), ("aud_a", "1000001", 403),
    ("rm_b", "1000002", 200), ("biz_c", "1000003", 200), ("biz_c", "1000001", 403),
])
def test_who_manages_accounts_of_an_organisation(login_as, who, regno, status):
    login_as(who).get(f"/orgs/{regno}/@@accounts", status=status)


def _new_account_form(app, regno):
    form = app.get(f"/orgs/{regno}/@@accounts").forms["account-form"]
    form["login"] = "newclerk"
    form["fullname"] = "Шинэ ажилтан"
    form["password"] = form["password_confirm"] = "a-long-password"
    return form


def test_records_manager_adds_staff_to_own_organisation(login_as, in_site):
    app = login_as("rm_a")
    form = _new_account_form(app, "1000001")
    form.get("checkbox", index=2).checked = True  # clerk
    page = form.submit("create", status=302).follow()
    assert "newclerk" in page.text
    with in_site() as site:
        assert site.users["newclerk"].roles == ("clerk",)
        assert site.users["newclerk"].org == "1000001"
    app.post("/@@logout", {"csrf_token": csrf_token(page)})
    login(app, "newclerk", "a-long-password")


def test_records_manager_cannot_grant_site_admin(login_as, in_site):
    app = login_as("rm_a")
    page = app.get("/orgs/1000001/@@accounts")
    assert 'value="site_admin"' not in page.text
    token = csrf_token(page)
    response = app.post("/orgs/1000001/@@accounts", [
        ("csrf_token", token), ("login", "sneaky"), ("fullname", ""),
        ("__start__", "roles:sequence"), ("checkbox", "site_admin"), ("__end__", "roles:sequence"),
        ("password", "a-long-password"), ("password_confirm", "a-long-password"),
        ("create", "create")], status=403)
    assert "sneaky" not in response.html.find(id="accounts-table").text
    with in_site() as site:
        assert "sneaky" not in site.users


def test_a_business_cannot_get_a_second_account(login_as, in_site):
    app = login_as("admin")
    page = app.get("/orgs/1000003/@@accounts")
    assert "account-limit" in page.text and "account-form" not in page.text
    response = app.post("/orgs/1000003/@@accounts", [
        ("csrf_token", csrf_token(page)), ("login", "second"), ("fullname", ""),
        ("__start__", "roles:sequence"), ("checkbox", "clerk"), ("__end__", "roles:sequence"),
        ("password", "a-long-password"), ("password_confirm", "a-long-password"),
        ("create", "create")], status=409)
    assert "1000003" in response.text
    with in_site() as site:
        assert "second" not in site.users and site.users.count_for("1000003") == 1


def test_account_form_checks_passwords_and_logins(login_as, in_site):
    app = login_as("rm_a")
    form = _new_account_form(app, "1000001")
    form.get("checkbox", index=2).checked = True
    form["password_confirm"] = "something-else"
    form.submit("create", status=400)
    form = _new_account_form(app, "1000001")
    form["login"] = "rm_b"  # taken
    form.get("checkbox", index=2).checked = True
    page = form.submit("create", status=409)
    assert "rm_b" in page.html.find(class_="invalid-feedback").text
    with in_site() as site:
        assert "newclerk" not in site.users


# One account -------------------------------------------------------------------------------

@pytest.mark.parametrize("who, target, status", [
    ("clerk_a", "clerk_a", 200), ("clerk_a", "sign_a", 403), ("rm_a", "clerk_a", 200),
    ("rm_a", "rm_b", 403), ("rm_a", "admin", 403), ("admin", "rm_b", 200), ("aud_a", "rm_a", 403),
])
def test_who_sees_an_account(login_as, who, target, status):
    login_as(who).get(f"/users/{target}/", status=status)


def test_records_manager_changes_staff_roles_and_resets_a_password(login_as, in_site):
    app = login_as("rm_a")
    form = app.get("/users/clerk_a/").forms["edit-account"]
    form.get("checkbox", index=1).checked = True  # signatory too
    form.submit("save", status=302)
    form = app.get("/users/clerk_a/@@reset-password").forms["deform"]
    form["password"] = form["password_confirm"] = "reset-by-manager"
    form.submit("save", status=302)
    with in_site() as site:
        assert site.users["clerk_a"].roles == ("clerk", "signatory")
        actions = [r.action for r in site.audit.newest(0, 2)[0]]
        assert actions == ["account.password", "account.update"]
    app.post("/@@logout", {"csrf_token": csrf_token(app.get("/"))})
    login(app, "clerk_a", "reset-by-manager")


def test_nobody_edits_their_own_roles(login_as, in_site):
    app = login_as("rm_a")
    page = app.get("/users/rm_a/")
    assert "edit-account" not in page.text
    app.post("/users/rm_a/@@edit", [("csrf_token", csrf_token(page)),
                                     ("__start__", "roles:sequence"), ("checkbox", "clerk"),
                                     ("__end__", "roles:sequence"), ("save", "save")], status=403)
    with in_site() as site:
        assert site.users["rm_a"].roles == ("records_manager",)


def test_user_issues_and_revokes_an_api_token(login_as, in_site):
    app = login_as("sign_a")
    form = app.get("/users/sign_a/").forms["token-form"]
    form["label"] = "ERP холболт"
    page = form.submit("issue", status=200)
    token = page.html.find(id="new-token").text.strip()
    assert token.startswith("rgt_")
    assert app.get("/users/sign_a/").text.count(token) == 0, "a token is shown once only"
    api = {**JSON, "Authorization": f"Bearer {token}"}
    assert app.get("/", headers=api).json["account"]["login"] == "sign_a"
    page = app.get("/users/sign_a/")
    revoke = [f for f in page.forms.values() if "revoke-token" in (f.action or "")][0]
    revoke.submit(status=302)
    app.get("/", headers=api, status=401)
    with in_site() as site:
        actions = [r.action for r in site.audit.newest(0, 2)[0]]
        assert actions == ["token.revoke", "token.issue"]
        assert token not in str(site.audit.newest(0, 2)[0])


# The account list and the audit trail ------------------------------------------------------

@pytest.mark.parametrize("who, status", [("admin", 200), ("rm_a", 403), ("aud_a", 403),
                                         ("biz_c", 403)])
def test_only_site_admins_list_all_accounts(login_as, who, status):
    login_as(who).get("/users/", status=status)


def test_account_list_finds_by_login_prefix(login_as):
    page = login_as("admin").get("/users/", {"q": "rm_"})
    rows = [tr.td.text for tr in page.html.find("tbody").find_all("tr")]
    assert rows == ["rm_a", "rm_b"]


@pytest.mark.parametrize("who, status", [("admin", 200), ("aud_a", 200), ("aud_b", 200),
                                         ("rm_a", 403), ("clerk_a", 403), ("biz_c", 403)])
def test_who_reads_the_audit_trail(login_as, who, status):
    login_as(who).get("/audit/", status=status)


def test_auditors_see_only_their_organisations_records(login_as):
    body = login_as("aud_b").get("/audit", headers=JSON).json
    assert body["items"] and {r["org"] for r in body["items"]} == {"1000002"}
    everything = login_as("admin").get("/audit", headers=JSON).json
    assert everything["items_total"] > body["items_total"]


# Mailboxes ---------------------------------------------------------------------------------

@pytest.mark.parametrize("who, status", [("rm_a", 200), ("sign_a", 200), ("clerk_a", 200),
                                         ("aud_a", 200), ("rm_b", 403), ("biz_c", 403),
                                         ("admin", 200)])
def test_only_members_open_an_organisations_mailboxes(login_as, who, status):
    """The site administrator belongs to 1000001 here, so sees its (empty) mailboxes; nobody
    from another organisation does."""
    app = login_as(who)
    for box in ("inbox", "outbox", "handovers"):
        # An outsider learns nothing of an organisation's handovers: 404, not 403.
        app.get(f"/orgs/1000001/{box}/",
                status=404 if box == "handovers" and status == 403 else status)
    app.get("/orgs/1000001/inbox/", headers=JSON, status=status)


def test_site_admin_cannot_open_another_organisations_mailbox(login_as):
    login_as("admin").get("/orgs/1000002/inbox/", status=403)


def test_own_password_cannot_be_reset_without_the_current_one(login_as):
    response = login_as("admin").get("/users/admin/@@reset-password", status=302)
    assert response.location.endswith("/users/admin/@@password")
