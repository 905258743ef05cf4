"""Unit tests of principals and computed ACLs (every role against every resource kind)."""
import pytest
import transaction
import ZODB
from pyramid.authorization import ACLHelper
from ZODB.MappingStorage import MappingStorage

from registry.resources.evolve import bootstrap
from registry.security import permissions as P
from registry.security.principals import principals_for
from registry.store import site_of


@pytest.fixture(scope="module")
def site():
    db = ZODB.DB(MappingStorage())
    bootstrap(db)
    conn = db.open()
    site = site_of(conn)
    site.orgs.register("1000001", "Нэг", "government")
    site.orgs.register("1000002", "Хоёр", "government")
    from registry.resources.user import User

    for login, org, roles in [("admin", "1000001", ("site_admin",)),
                              ("rm1", "1000001", ("records_manager",)),
                              ("clerk1", "1000001", ("clerk",)),
                              ("aud1", "1000001", ("auditor",)),
                              ("rm2", "1000002", ("records_manager",))]:
        site.users.add(login, User(login, org, roles))
    yield site
    transaction.abort()
    conn.close()
    db.close()


def allowed(site, login, context, permission):
    account = site.users[login] if login else None
    return bool(ACLHelper().permits(context, principals_for(account), permission))


def test_principals_name_logins_organisations_and_roles(site):
    principals = principals_for(site.users["rm1"])
    assert {"user:rm1", "org:1000001", "org:1000001:records_manager",
            "role:records_manager"} <= set(principals)
    assert principals_for(None) == ["system.Everyone"]


@pytest.mark.parametrize("login, context, permission, expected", [
    (None, "site", P.VIEW, False),
    ("clerk1", "site", P.VIEW, True),
    ("clerk1", "orgs", P.VIEW_DIRECTORY, True),
    ("clerk1", "orgs", P.MANAGE_ORGS, False),
    ("rm1", "orgs", P.MANAGE_ORGS, False),
    ("admin", "orgs", P.MANAGE_ORGS, True),
    ("rm1", "org1", P.MANAGE_ACCOUNTS, True),
    ("rm1", "org2", P.MANAGE_ACCOUNTS, False),
    ("clerk1", "org1", P.MANAGE_ACCOUNTS, False),
    ("clerk1", "inbox1", P.VIEW_MAILBOX, True),
    ("clerk1", "inbox2", P.VIEW_MAILBOX, False),
    ("admin", "inbox2", P.VIEW_MAILBOX, False),
    ("rm2", "inbox1", P.VIEW_MAILBOX, False),
    ("rm1", "user:clerk1", P.MANAGE_ACCOUNTS, True),
    ("rm1", "user:admin", P.MANAGE_ACCOUNTS, False),
    ("rm2", "user:clerk1", P.MANAGE_ACCOUNTS, False),
    ("clerk1", "user:clerk1", P.MANAGE_OWN_ACCOUNT, True),
    ("clerk1", "user:clerk1", P.MANAGE_ACCOUNTS, False),
    ("clerk1", "user:rm1", P.VIEW_ACCOUNT, False),
    ("admin", "user:rm2", P.MANAGE_ACCOUNTS, True),
    ("aud1", "audit", P.VIEW_AUDIT, True),
    ("rm1", "audit", P.VIEW_AUDIT, False),
    ("admin", "users", P.LIST_ACCOUNTS, True),
    ("rm1", "users", P.LIST_ACCOUNTS, False),
])
def test_acl(site, login, context, permission, expected):
    contexts = {
        "site": site, "orgs": site.orgs, "audit": site.audit, "users": site.users,
        "org1": site.orgs["1000001"], "org2": site.orgs["1000002"],
        "inbox1": site.orgs["1000001"]["inbox"], "inbox2": site.orgs["1000002"]["inbox"],
    }
    if context.startswith("user:"):
        target = site.users[context[5:]]
    else:
        target = contexts[context]
    assert allowed(site, login, target, permission) is expected


def test_every_permission_is_denied_to_anonymous_everywhere(site):
    for context in (site, site.orgs, site.orgs["1000001"], site.orgs["1000001"]["inbox"],
                    site.users, site.users["rm1"], site.audit):
        for permission in set(P.ALL) - {P.VERIFY_LETTER}:
            assert not allowed(site, None, context, permission)
    # The one public permission: checking a letter by its verification code (/verify).
    assert allowed(site, None, site, P.VERIFY_LETTER)


def test_every_view_names_a_permission(wsgi_app):
    """Every view of ours (exception views aside) names a permission; the few that need none
    say so explicitly with NO_PERMISSION_REQUIRED."""
    from pyramid.security import NO_PERMISSION_REQUIRED

    public, checked = set(), 0
    for entry in wsgi_app.registry.introspector.get_category("views"):
        view = entry["introspectable"]
        if view["exception_only"] or not getattr(view["callable"], "__module__", "").startswith(
                "registry."):
            continue
        permissions = [r["value"] for r in entry["related"] if r.category_name == "permissions"]
        assert permissions, f"{view['callable'].__name__} ({view['name']!r}) names no permission"
        checked += 1
        if permissions[0] == NO_PERMISSION_REQUIRED:
            public.add(view["name"])
    assert checked > 20
    assert public == {"login", "set-language", "@openapi", "@openapi.json", "join", "@join",
                      "set-password"}
