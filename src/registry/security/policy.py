"""The security policy: who the request is, and what they may do here.

Identity comes from an API token (`Authorization: Bearer ...`) or else from the session cookie
set at login. Permissions come from the ACLs the resources compute, checked against the
account's principals (see `principals_for`).
"""
from pyramid.authentication import SessionAuthenticationHelper
from pyramid.authorization import ACLHelper

from registry.store import site_of
from registry.security.principals import principals_for
from registry.security.sessions import SESSION_ID_KEY, ISessionPolicy
from registry.security.tokens import bearer_token

SESSION_EPOCH_KEY = "auth.epoch"


def find_account(request):
    """Return the authenticated account (a User) or None. Cached as `request.account`.

    A session is void once its server-side record is gone (signed out, password changed) or
    ended (idle or too old: see `registry.security.sessions`), the account's password changed
    (auth_epoch), the account or its organisation is deactivated, or the account is gone.
    """
    # Not request.root: pyramid_tm asks who the user is (to annotate the transaction) before
    # traversal has set it.
    site = site_of(request.zodb)
    token = bearer_token(request)
    if token is not None:
        user = site.users.by_token(token)
    else:
        login = request.session.get("auth.userid")
        user = site.users.get(login) if login else None
        if user is not None and request.session.get(SESSION_EPOCH_KEY) != user.auth_epoch:
            user = None
        if user is not None and not site.sessions.check(
                request.session.get(SESSION_ID_KEY), user.login,
                request.registry.getUtility(ISessionPolicy)):
            user = None
    if user is None or not user.active:
        return None
    org = site.orgs.get(user.org)
    if org is None or not org.active:
        return None
    return user


def is_token_request(request):
    return bearer_token(request) is not None


class RegistrySecurityPolicy:
    def __init__(self):
        self.session = SessionAuthenticationHelper(prefix="auth.")
        self.acl = ACLHelper()

    def identity(self, request):
        return request.account

    def authenticated_userid(self, request):
        account = request.account
        return account.login if account is not None else None

    def permits(self, request, context, permission):
        return self.acl.permits(context, principals_for(request.account), permission)

    def remember(self, request, userid, **kw):
        """Start a fresh session for `userid` (a login): a new session id and CSRF token, so
        nothing set before login survives it (no session fixation)."""
        request.session.invalidate()
        headers = self.session.remember(request, userid, **kw)
        site = site_of(request.zodb)
        account = site.users.get(userid)
        request.session[SESSION_EPOCH_KEY] = account.auth_epoch if account else None
        policy = request.registry.getUtility(ISessionPolicy)
        site.sessions.prune(policy)
        request.session[SESSION_ID_KEY] = site.sessions.start(userid, policy.clock())
        request.session.new_csrf_token()
        return headers

    def forget(self, request, **kw):
        """End the session here and in the store: its cookie, kept by anyone, is void."""
        site_of(request.zodb).sessions.end(request.session.get(SESSION_ID_KEY))
        request.session.invalidate()
        return []
