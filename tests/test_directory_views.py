"""The directory of organisations, in HTML and JSON, for every role."""
import pytest

from conftest import JSON, csrf_token

ROLES = ["admin", "rm_a", "sign_a", "clerk_a", "aud_a", "biz_c"]


@pytest.mark.parametrize("who", ROLES)
def test_every_role_can_browse_and_search_the_directory(login_as, who):
    app = login_as(who)
    results = app.get("/orgs/", {"q": "баянзүрх"}).html.find(id="directory-results").text
    assert "Баянзүрх дүүргийн Засаг даргын Тамгын газар" in results
    assert "Хөх тэнгэр" not in results
    assert "1000002" in app.get("/orgs/@@results?q=1000002").text


@pytest.mark.parametrize("who, can_add", [("admin", True), ("rm_a", False), ("clerk_a", False),
                                          ("biz_c", False)])
def test_only_site_admins_see_the_register_button(login_as, who, can_add):
    page = login_as(who).get("/orgs/")
    assert ("/orgs/@@add" in page.text) is can_add


def test_results_fragment_is_just_the_results(login_as):
    fragment = login_as("clerk_a").get("/orgs/@@results", {"q": "хөх"}).text
    assert fragment.lstrip().startswith('<div id="directory-results"')
    assert "Хөх тэнгэр трейд ХХК" in fragment and "<html" not in fragment


def test_directory_pages(login_as, in_site):
    with in_site() as site:
        for i in range(30):
            site.orgs.register(f"80000{i:02d}", f"Туршилтын сургууль {i}", "government")
    app = login_as("clerk_a")
    first = app.get("/orgs/", {"q": "туршилтын"})
    assert "Туршилтын сургууль 0" in first.text and "b_start=25" in first.text
    second = app.get("/orgs/", {"q": "туршилтын", "b_start": 25})
    rows = second.html.find(id="directory-results").find_all("tr")[1:]
    assert [row.td.text for row in rows] == [f"80000{i}" for i in range(25, 30)]


def test_json_listing_is_paged_and_searchable(login_as):
    app = login_as("clerk_a")
    body = app.get("/orgs?b_size=2", headers=JSON).json
    assert body["items_total"] == 4 and len(body["items"]) == 2
    assert body["items"][0]["@id"] == "http://registry.test/orgs/1000001/"
    assert "next" in body["batching"] and "prev" not in body["batching"]
    found = app.get("/orgs", {"q": "hoh tenger"}, headers=JSON).json
    assert [o["regno"] for o in found["items"]] == ["1000003"] and found["items_total"] == 1


def test_json_organisation(login_as):
    body = login_as("clerk_a").get("/orgs/1000002/", headers=JSON).json
    assert body["kind"] == "government" and body["sub_units"] == ["1000004"]


def test_unknown_organisation_is_404_in_both_forms(login_as):
    app = login_as("clerk_a")
    assert app.get("/orgs/9999999/", headers=JSON, status=404).json["error"]["code"] == \
        "NOT_FOUND"
    assert "error-message" in app.get("/orgs/9999999/", status=404).text


def test_anonymous_json_gets_401(testapp):
    assert testapp.get("/orgs", headers=JSON, status=401).json["error"]["code"] == \
        "UNAUTHORIZED"


def test_organisation_page_shows_parent_and_sub_units(login_as):
    app = login_as("clerk_a")
    parent = app.get("/orgs/1000002/")
    assert "1000004" in parent.text
    child = app.get("/orgs/1000004/")
    assert 'href="http://registry.test/orgs/1000002/"' in child.text


@pytest.mark.parametrize("who, status", [("admin", 201), ("rm_a", 403), ("clerk_a", 403),
                                         ("biz_c", 403)])
def test_json_registration_needs_site_admin(login_as, in_site, who, status):
    app = login_as(who)
    token = csrf_token(app.get("/"))
    response = app.post_json("/orgs", {"regno": "7000001", "name": "Шинэ", "kind": "business"},
                             headers={**JSON, "X-CSRF-Token": token}, status=status)
    with in_site() as site:
        assert ("7000001" in site.orgs) is (status == 201)
    if status == 403:
        assert response.json["error"]["code"] == "FORBIDDEN"


@pytest.mark.parametrize("body, code, status", [
    ({"regno": "123", "name": "Шинэ", "kind": "business"}, "INVALID_REGNO", 400),
    ({"regno": "1000001", "name": "Давхар", "kind": "business"}, "DUPLICATE_REGNO", 409),
    ({"regno": "7000001", "name": "Шинэ", "kind": "ngo"}, "INVALID_KIND", 400),
    ({"regno": "7000001", "name": "", "kind": "business"}, "NAME_REQUIRED", 400),
    ({"regno": "7000001", "name": "Нэгж", "kind": "government", "parent": "9999999"},
     "UNKNOWN_PARENT", 404),
    (["not", "an", "object"], "INVALID_JSON", 400),
])
def test_json_registration_errors_have_codes_and_change_nothing(login_as, in_site, body, code,
                                                                 status):
    app = login_as("admin")
    token = csrf_token(app.get("/"))
    with in_site() as site:
        audited = len(site.audit)
    response = app.post_json("/orgs", body, headers={**JSON, "X-CSRF-Token": token},
                             status=status)
    assert response.json["error"]["code"] == code and response.json["error"]["message"]
    with in_site() as site:
        assert len(site.orgs) == 4 and len(site.audit) == audited


def test_json_post_with_session_but_no_csrf_token_is_refused(login_as, in_site):
    app = login_as("admin")
    response = app.post_json("/orgs", {"regno": "7000001", "name": "Шинэ", "kind": "business"},
                             headers=JSON, status=400)
    assert response.json["error"]["code"] == "CSRF_FAILED"
    with in_site() as site:
        assert "7000001" not in site.orgs
