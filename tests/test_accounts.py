"""Unit tests of accounts, passwords, lockout, tokens and the account-per-business rule."""
from datetime import timedelta

import pytest
import transaction
import ZODB
from ZODB.MappingStorage import MappingStorage

from registry.accounts import create_account, log_in, set_password, update_account
from registry.errors import Conflict, NotFound, RegistryError
from registry.resources.evolve import bootstrap
from registry.resources.user import LOCK_AFTER, utcnow
from registry.store import site_of

PW = "correct-horse-1"
LIMITS = {"business": 1, "government": None}


@pytest.fixture
def site():
    db = ZODB.DB(MappingStorage())
    bootstrap(db)
    conn = db.open()
    site = site_of(conn)
    site.orgs.register("1000001", "Төрийн байгууллага", "government")
    site.orgs.register("2000001", "Хувийн компани ХХК", "business")
    yield site
    transaction.abort()
    conn.close()
    db.close()


def test_create_account_hashes_the_password_and_audits_without_it(site):
    user = create_account(site, "cli", "1000001", "Bold", ["clerk"], PW, limits=LIMITS)
    assert user.login == "bold" and user.roles == ("clerk",)
    assert PW not in user.password_hash and user.password_hash.startswith("$argon2id$")
    record = site.audit.newest(0, 1)[0][0]
    assert record.action == "account.create" and PW not in str(record)


def test_a_business_holds_one_account(site):
    create_account(site, "cli", "2000001", "owner", ["records_manager", "signatory"], PW,
                   limits=LIMITS)
    with pytest.raises(Conflict) as info:
        create_account(site, "cli", "2000001", "second", ["clerk"], PW, limits=LIMITS)
    assert info.value.code == "ACCOUNT_LIMIT"
    assert "second" not in site.users and site.users.count_for("2000001") == 1


def test_government_organisations_may_have_many_accounts(site):
    for i in range(3):
        create_account(site, "cli", "1000001", f"staff{i}", ["clerk"], PW, limits=LIMITS)
    assert site.users.count_for("1000001") == 3


def test_the_limit_is_a_setting(site):
    limits = {"business": 2, "government": 1}
    create_account(site, "cli", "2000001", "one", ["clerk"], PW, limits=limits)
    create_account(site, "cli", "2000001", "two", ["clerk"], PW, limits=limits)
    create_account(site, "cli", "1000001", "gov1", ["clerk"], PW, limits=limits)
    with pytest.raises(Conflict):
        create_account(site, "cli", "1000001", "gov2", ["clerk"], PW, limits=limits)


@pytest.mark.parametrize("roles, code", [([], "ROLE_REQUIRED"), (["boss"], "UNKNOWN_ROLE"),
                                         (["clerk", "root"], "UNKNOWN_ROLE")])
def test_roles_are_checked(site, roles, code):
    with pytest.raises(RegistryError) as info:
        create_account(site, "cli", "1000001", "someone", roles, PW, limits=LIMITS)
    assert info.value.code == code and "someone" not in site.users


@pytest.mark.parametrize("login", ["ab", "Has Space", "кирилл", "-dash", "x" * 65])
def test_logins_are_checked(site, login):
    with pytest.raises(RegistryError) as info:
        create_account(site, "cli", "1000001", login, ["clerk"], PW, limits=LIMITS)
    assert info.value.code == "INVALID_LOGIN"


@pytest.mark.parametrize("password", ["short", "someone123", "x" * 1025])
def test_weak_passwords_are_refused(site, password):
    with pytest.raises(RegistryError) as info:
        create_account(site, "cli", "1000001", "someone123", ["clerk"], password, limits=LIMITS)
    assert info.value.code == "WEAK_PASSWORD"


def test_duplicate_login_and_unknown_org(site):
    create_account(site, "cli", "1000001", "bold", ["clerk"], PW, limits=LIMITS)
    with pytest.raises(Conflict):
        create_account(site, "cli", "1000001", "BOLD", ["clerk"], PW, limits=LIMITS)
    with pytest.raises(NotFound):
        create_account(site, "cli", "9999999", "nobody", ["clerk"], PW, limits=LIMITS)


def test_only_a_site_admin_grants_site_admin(site):
    with pytest.raises(RegistryError) as info:
        create_account(site, "rm", "1000001", "sneaky", ["site_admin"], PW, limits=LIMITS)
    assert info.value.code == "FORBIDDEN_ROLE"
    user = create_account(site, "rm", "1000001", "plain", ["clerk"], PW, limits=LIMITS)
    with pytest.raises(RegistryError):
        update_account(site, "rm", user, roles=["clerk", "site_admin"])
    assert update_account(site, "admin", user, roles=["clerk", "site_admin"],
                          may_grant_admin=True) == {"roles": [["clerk"], ["clerk", "site_admin"]]}


def test_login_locks_after_repeated_failures_and_recovers(site):
    user = create_account(site, "cli", "1000001", "bold", ["clerk"], PW, limits=LIMITS)
    for _ in range(LOCK_AFTER):
        assert log_in(site, "bold", "wrong-password")[0] is None
    found, locked = log_in(site, "bold", PW)
    assert found is None and locked is not None, "a locked account refuses even the right password"
    user.locked_until = utcnow() - timedelta(seconds=1)
    found, locked = log_in(site, "bold", PW)
    assert found is user and user.failed_logins == 0
    actions = [r.action for r in site.audit.newest(0, 10)[0]]
    assert actions.count("login.failed") >= LOCK_AFTER and actions[0] == "login"


def test_unknown_login_and_deactivated_account_fail(site):
    user = create_account(site, "cli", "1000001", "bold", ["clerk"], PW, limits=LIMITS)
    assert log_in(site, "nobody", PW) == (None, None)
    update_account(site, "admin", user, active=False)
    assert log_in(site, "bold", PW)[0] is None


def test_password_change_raises_the_session_epoch(site):
    user = create_account(site, "cli", "1000001", "bold", ["clerk"], PW, limits=LIMITS)
    epoch = user.auth_epoch
    set_password(site, "cli", user, "another-good-pass")
    assert user.auth_epoch == epoch + 1
    assert log_in(site, "bold", PW)[0] is None and log_in(site, "bold", "another-good-pass")[0]


def test_tokens_are_stored_hashed_and_revocable(site):
    user = create_account(site, "cli", "1000001", "bold", ["clerk"], PW, limits=LIMITS)
    token, digest = site.users.issue_token(user, "ERP")
    assert token.startswith("rgt_") and token not in str(dict(user.tokens))
    assert site.users.by_token(token) is user
    assert site.users.by_token(token + "x") is None
    site.users.revoke_token(user, digest)
    assert site.users.by_token(token) is None
