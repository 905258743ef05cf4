"""Principals: the names ACLs grant permissions to.

An authenticated account has `user:<login>`, `org:<regno>` (member of its organisation),
`org:<regno>:<role>` for each of its roles there, and `role:<role>` (holds that role somewhere),
besides Pyramid's Everyone and Authenticated. Principals name logins and registration numbers,
never object ids.
"""
from pyramid.authorization import Authenticated, Everyone

ROLES = ("records_manager", "signatory", "clerk", "auditor", "executor", "site_admin")
ORG_ROLES = ("records_manager", "signatory", "clerk", "auditor", "executor")
#: Roles whose holders may be given a task (the desk).
EXECUTOR_ROLES = ("executor", "records_manager")
SITE_ADMIN = "site_admin"


def user_principal(login):
    return f"user:{login}"


def org_principal(regno):
    return f"org:{regno}"


def org_role_principal(regno, role):
    return f"org:{regno}:{role}"


def role_principal(role):
    return f"role:{role}"


def principals_for(account):
    """Return the principals of an authenticated `account` (a User), or [Everyone] for None."""
    if account is None:
        return [Everyone]
    found = [Everyone, Authenticated, user_principal(account.login), org_principal(account.org)]
    for role in account.roles:
        found.append(org_role_principal(account.org, role))
        found.append(role_principal(role))
    return found
