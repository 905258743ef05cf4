"""Accounts. An account belongs to one organisation and holds roles there.

`/users/<login>`; `Users` keeps an index of accounts per organisation (to list them and to
enforce the per-kind account limit) and the hashes of API tokens (to authenticate a bearer
token with one lookup).
"""
import re
from datetime import datetime, timedelta, timezone

from BTrees.OOBTree import OOBTree, OOTreeSet
from persistent import Persistent
from pyramid.authorization import Allow

from registry.errors import Conflict, NotFound, RegistryError
from registry.i18n import _
from registry.resources.folder import Folder
from registry.resources.organisation import KIND_TITLES
from registry.safetext import check_text
from registry.security import permissions as P
from registry.security.passwords import (
    DUMMY_HASH,
    hash_password,
    needs_rehash,
    validate_password,
    verify_password,
)
from registry.security.principals import ROLES, SITE_ADMIN, org_role_principal, user_principal
from registry.security.tokens import new_token, token_hash

LOGIN_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{2,63}$")
#: Consecutive failed logins after which an account is locked, and for how long at first; each
#: further failure doubles the lock, up to LOCK_MAX.
LOCK_AFTER = 5
LOCK_FIRST = timedelta(seconds=30)
LOCK_MAX = timedelta(minutes=15)


def validate_login(value):
    login = (value or "").strip().lower()
    if not LOGIN_RE.match(login):
        raise RegistryError(
            "INVALID_LOGIN",
            _("A login is 3 to 64 characters: Latin letters, digits, '.', '_' or '-', "
              "starting with a letter or digit."),
            field="login",
        )
    return login


def validate_roles(values):
    """Return the roles as a sorted tuple; raise RegistryError(UNKNOWN_ROLE / ROLE_REQUIRED)."""
    roles = sorted({(r or "").strip() for r in values if (r or "").strip()})
    if not roles:
        raise RegistryError("ROLE_REQUIRED", _("Give the account at least one role."),
                            field="roles")
    for role in roles:
        if role not in ROLES:
            raise RegistryError(
                "UNKNOWN_ROLE",
                _("unknown-role", default="Unknown role '${role}'; the roles are: ${roles}.",
                  mapping={"role": role[:40], "roles": ", ".join(ROLES)}),
                field="roles",
            )
    return tuple(roles)


def utcnow():
    return datetime.now(timezone.utc)


EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
EMAIL_MAX = 254


def validate_email(value):
    """An e-mail address (trimmed, at most 254 characters, one @ and a dotted domain), or None
    for an empty value; raise RegistryError(INVALID_EMAIL)."""
    email = check_text(value or "", "email").strip()
    if not email:
        return None
    if len(email) > EMAIL_MAX or not EMAIL_RE.match(email):
        raise RegistryError("INVALID_EMAIL", _("Give an e-mail address such as "
                                               "name@example.mn."), field="email")
    return email


class User(Persistent):
    __parent__ = None
    __name__ = None
    #: Where notifications are mailed (None: nowhere), how ("immediate", "digest", "none"),
    #: and in which language (a locale code; None: the registry's default).
    email = None
    mail_mode = "immediate"
    language = None

    #: The account holder's position (албан тушаал), shown beside the name on the desk.
    position = ""

    def __init__(self, login, org, roles, fullname=""):
        self.login = login
        self.org = org
        self.roles = tuple(roles)
        self.fullname = fullname
        self.password_hash = None
        self.active = True
        self.created = utcnow()
        #: Raised on every password change; sessions carrying an older epoch are void.
        self.auth_epoch = 0
        self.failed_logins = 0
        self.locked_until = None
        #: token hash -> {"created": datetime, "label": str}
        self.tokens = OOBTree()

    def __acl__(self):
        acl = [(Allow, user_principal(self.login), (P.VIEW, P.VIEW_ACCOUNT, P.MANAGE_OWN_ACCOUNT,
                                                     P.OWN_NOTIFICATIONS))]
        # A records manager manages the staff accounts of their own organisation, but not an
        # operator's (site administrator) account that happens to belong to it.
        if SITE_ADMIN not in self.roles:
            acl.append(
                (Allow, org_role_principal(self.org, "records_manager"),
                 (P.VIEW_ACCOUNT, P.MANAGE_ACCOUNTS))
            )
        return acl

    @property
    def is_site_admin(self):
        return SITE_ADMIN in self.roles

    def set_password(self, password):
        """Validate and hash `password`; void every existing session of this account."""
        validate_password(password, self.login)
        self.password_hash = hash_password(password)
        self.auth_epoch += 1
        self.failed_logins = 0
        self.locked_until = None

    def check_password(self, password):
        """Return True if `password` is right; upgrade the hash if its parameters are old."""
        if not verify_password(self.password_hash, password):
            return False
        if needs_rehash(self.password_hash):
            self.password_hash = hash_password(password)
        return True

    def locked(self, now=None):
        """Return the time the lock ends if the account is locked by failed logins, else None."""
        now = now or utcnow()
        if self.locked_until is not None and self.locked_until > now:
            return self.locked_until
        return None

    def note_failed_login(self, now=None):
        now = now or utcnow()
        self.failed_logins += 1
        if self.failed_logins >= LOCK_AFTER:
            factor = 2 ** min(self.failed_logins - LOCK_AFTER, 10)
            self.locked_until = now + min(LOCK_FIRST * factor, LOCK_MAX)

    def note_login(self):
        if self.failed_logins or self.locked_until:
            self.failed_logins = 0
            self.locked_until = None

    def as_json(self, request=None):
        data = {
            "login": self.login,
            "org": self.org,
            "roles": list(self.roles),
            "fullname": self.fullname,
            "position": self.position,
            "active": self.active,
            "created": self.created.isoformat(),
            "email": self.email,
            "mail_mode": self.mail_mode,
            "language": self.language,
        }
        if request is not None:
            data = {"@id": request.resource_url(self), "@type": "User", **data}
        return data


class Users(Folder):
    """Accounts keyed by login, with `_by_org` (regno -> logins) and `_tokens` (hash -> login)."""

    def __init__(self):
        super().__init__()
        self._by_org = OOBTree()
        self._tokens = OOBTree()

    def create(self, login, org, roles, password, fullname="", limits=None):
        """Validate and add an account for the Organisation `org`; return it.

        `limits` maps an organisation kind to its maximum number of accounts (None: no limit).
        Raises RegistryError (INVALID_LOGIN, UNKNOWN_ROLE, WEAK_PASSWORD, ORG_INACTIVE) or
        Conflict (DUPLICATE_LOGIN, ACCOUNT_LIMIT); nothing is changed when it raises.
        """
        login = validate_login(login)
        roles = validate_roles(roles)
        validate_password(password, login)
        if login in self:
            raise Conflict(
                "DUPLICATE_LOGIN",
                _("duplicate-login", default="The login '${login}' is taken.",
                  mapping={"login": login}),
                field="login",
            )
        if not org.active:
            raise RegistryError(
                "ORG_INACTIVE", _("The organisation is deactivated; it cannot get new accounts."),
                field="org",
            )
        limit = (limits or {}).get(org.kind)
        if limit is not None and self.count_for(org.regno) >= limit:
            raise Conflict(
                "ACCOUNT_LIMIT",
                _("account-limit", default="${kind}: at most ${limit} account(s) per "
                  "organisation; ${regno} has them already.",
                  mapping={"kind": KIND_TITLES[org.kind], "limit": limit, "regno": org.regno}),
                field="org",
            )
        user = User(login, org.regno, roles, fullname=" ".join(
            check_text(fullname or "", "fullname").split()))
        user.set_password(password)
        self.add(login, user)
        self._by_org.setdefault(org.regno, OOTreeSet()).add(login)
        return user

    def require(self, login):
        """Return the account `login`; raise NotFound(UNKNOWN_LOGIN)."""
        user = self.get((login or "").strip().lower())
        if user is None:
            raise NotFound(
                "UNKNOWN_LOGIN",
                _("unknown-login", default="There is no account '${login}'.",
                  mapping={"login": (login or "")[:64]}),
                field="login",
            )
        return user

    def count_for(self, regno):
        return len(self._by_org.get(regno, ()))

    def for_org(self, regno):
        """Accounts of the organisation `regno`, in login order."""
        return [self[login] for login in self._by_org.get(regno, ())]

    def authenticate(self, login, password):
        """Return the account if `login` and `password` match an active, unlocked account.

        Returns (user_or_None, locked_until_or_None). A failure is counted on the account
        (this writes); an unknown login costs the same hashing time as a known one.
        """
        user = self.get((login or "").strip().lower())
        if user is None:
            verify_password(DUMMY_HASH, password or "")
            return None, None
        locked = user.locked()
        if locked:
            return None, locked
        if not user.check_password(password) or not user.active:
            user.note_failed_login()
            return None, user.locked()
        user.note_login()
        return user, None

    # API tokens ------------------------------------------------------------------------
    def issue_token(self, user, label=""):
        """Create an API token for `user`; return (token, hash). The token is shown once."""
        token, digest = new_token()
        user.tokens[digest] = {"created": utcnow(), "label": " ".join(label.split())[:100]}
        self._tokens[digest] = user.login
        return token, digest

    def revoke_token(self, user, digest):
        if digest not in user.tokens:
            raise NotFound("UNKNOWN_TOKEN", _("There is no such token."), field="token")
        del user.tokens[digest]
        self._tokens.pop(digest, None)

    def by_token(self, token):
        """Return the account the bearer `token` belongs to, or None."""
        login = self._tokens.get(token_hash(token))
        return self.get(login) if login else None
