"""Changes to accounts and logins, each validated and audited (never with a secret)."""
from registry.errors import NotFound, RegistryError
from registry.i18n import LOCALES, _
from registry.mail import MAIL_MODES
from registry.resources.user import validate_email, validate_roles
from registry.safetext import check_text, one_line
from registry.security.principals import SITE_ADMIN


def _refuse_admin_grant(roles, may_grant_admin):
    if SITE_ADMIN in roles and not may_grant_admin:
        raise RegistryError(
            "FORBIDDEN_ROLE", _("Only a site administrator can grant the site_admin role."),
            field="roles", status=403,
        )


def create_account(site, actor, regno, login, roles, password, fullname="", limits=None,
                   may_grant_admin=False, position=""):
    """Create an account in the organisation `regno` and audit it; return the User."""
    org = site.orgs.get((regno or "").strip())
    if org is None:
        raise NotFound("UNKNOWN_ORG", _("unknown-org", default="There is no organisation "
                       "with registration number ${regno}.", mapping={"regno": regno}),
                       field="org")
    _refuse_admin_grant(roles, may_grant_admin)
    user = site.users.create(login, org, roles, password, fullname=fullname, limits=limits)
    if position:
        user.position = one_line(position, "position", POSITION_MAX)
    site.audit.append(actor, "account.create", target=f"/users/{user.login}", org=org.regno,
                      detail={"login": user.login, "roles": list(user.roles)})
    return user


POSITION_MAX = 200


def update_account(site, actor, user, roles=None, active=None, fullname=None,
                   may_grant_admin=False, position=None):
    """Change an account's roles, status or name and audit it; return {field: [old, new]}."""
    changed = {}
    if roles is not None:
        roles = validate_roles(roles)
        if (set(roles) ^ set(user.roles)) & {SITE_ADMIN}:
            _refuse_admin_grant((SITE_ADMIN,), may_grant_admin)
        if roles != user.roles:
            changed["roles"] = [list(user.roles), list(roles)]
            user.roles = roles
    if active is not None and bool(active) != user.active:
        changed["active"] = [user.active, bool(active)]
        user.active = bool(active)
    if fullname is not None:
        fullname = " ".join(check_text(fullname, "fullname").split())
        if fullname != user.fullname:
            changed["fullname"] = [user.fullname, fullname]
            user.fullname = fullname
    if position is not None:
        position = one_line(position, "position", POSITION_MAX)
        if position != user.position:
            changed["position"] = [user.position, position]
            user.position = position
    if changed:
        site.audit.append(actor, "account.update", target=f"/users/{user.login}", org=user.org,
                          detail=changed)
    return changed


def set_password(site, actor, user, password):
    """Set a new password, end every session of the account, and audit that it changed."""
    user.set_password(password)
    site.sessions.end_all(user.login)
    site.audit.append(actor, "account.password", target=f"/users/{user.login}", org=user.org)


def issue_token(site, actor, user, label=""):
    """Issue an API token for `user`; return it (to be shown once). Audited by hash prefix."""
    token, digest = site.users.issue_token(user, label)
    site.audit.append(actor, "token.issue", target=f"/users/{user.login}", org=user.org,
                      detail={"token": digest[:12], "label": user.tokens[digest]["label"]})
    return token


def revoke_token(site, actor, user, digest):
    site.users.revoke_token(user, digest)
    site.audit.append(actor, "token.revoke", target=f"/users/{user.login}", org=user.org,
                      detail={"token": digest[:12]})


def log_in(site, login, password, address=""):
    """Check a login; audit its outcome. Returns (user_or_None, locked_until_or_None)."""
    user, locked = site.users.authenticate(login, password)
    known = site.users.get((login or "").strip().lower())
    if user is not None:
        site.audit.append(user.login, "login", target=f"/users/{user.login}", org=user.org,
                          detail={"address": address})
    elif known is not None:
        site.audit.append(known.login, "login.failed", target=f"/users/{known.login}",
                          org=known.org, detail={"address": address, "locked": bool(locked)})
    return user, locked


def update_preferences(site, actor, user, email=None, mail_mode=None, language=None):
    """Change where and how an account is notified (e-mail address, "immediate" / "digest" /
    "none", language: a locale code or "" for the registry's default); audit the change.
    Returns {field: [old, new]}. Raises RegistryError (INVALID_EMAIL, UNKNOWN_MAIL_MODE,
    UNKNOWN_LANGUAGE)."""
    clean = {}
    if email is not None:
        clean["email"] = validate_email(email)
    if mail_mode is not None:
        if mail_mode not in MAIL_MODES:
            raise RegistryError("UNKNOWN_MAIL_MODE", _("Choose immediate, digest or none."),
                                field="mail_mode")
        clean["mail_mode"] = mail_mode
    if language is not None:
        if language and language not in LOCALES:
            raise RegistryError("UNKNOWN_LANGUAGE", _("Choose Mongolian or English."),
                                field="language")
        clean["language"] = language or None
    changed = {name: [getattr(user, name), value] for name, value in clean.items()
               if getattr(user, name) != value}
    for name, (_old, value) in changed.items():
        setattr(user, name, value)
    if changed:
        site.audit.append(actor, "account.preferences", target=f"/users/{user.login}",
                          org=user.org, detail=changed)
    return changed
