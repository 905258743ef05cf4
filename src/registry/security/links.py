"""One-time links to set an account's password, sent by e-mail (the join, a recovery).

A link carries a random token (256 bits); only its SHA-256 is stored, with the account's login
and when the link expires, so a copy of the store gives no usable link. An account has at most
one live link: a newer one voids the older. Using a link removes it; expired links are removed
a few at a time whenever a link is made.
"""
import secrets
from datetime import timedelta

from BTrees.OOBTree import OOBTree
from persistent import Persistent

from registry.security.tokens import token_hash

#: How long a link may wait to be used.
LINK_LIFETIME = timedelta(days=3)
#: Expired links removed at most per link made.
PRUNE_BATCH = 50


class PasswordLinks(Persistent):
    """{token hash: (login, expires)}, with `_by_login` (login -> hash) and `_expiry`
    ((expires, hash) -> None, soonest first)."""

    def __init__(self):
        self._links = OOBTree()
        self._by_login = OOBTree()
        self._expiry = OOBTree()

    def __len__(self):
        return len(self._links)

    def issue(self, login, now, lifetime=LINK_LIFETIME):
        """Make a link for `login` valid until `now + lifetime` (voiding its older one);
        return the token, to be mailed and never stored or logged."""
        self.prune(now)
        self.void(login)
        token = secrets.token_urlsafe(32)
        digest = token_hash(token)
        expires = now + lifetime
        self._links[digest] = (login, expires)
        self._by_login[login] = digest
        self._expiry[(expires, digest)] = None
        return token

    def login_for(self, token, now):
        """The login a live link `token` is for, or None (unknown, used or expired)."""
        found = self._links.get(token_hash(token or "")) if isinstance(token, str) else None
        if found is None or found[1] <= now:
            return None
        return found[0]

    def use(self, token, now):
        """Spend the link `token`: return its login and remove it, or None when not live."""
        login = self.login_for(token, now)
        if login is not None:
            self.void(login)
        return login

    def void(self, login):
        digest = self._by_login.pop(login, None)
        found = self._links.pop(digest, None) if digest else None
        if found is not None:
            self._expiry.pop((found[1], digest), None)

    def prune(self, now, limit=PRUNE_BATCH):
        for expires, digest in list(self._expiry.keys(max=(now,), excludemax=True))[:limit]:
            del self._expiry[(expires, digest)]
            login, _expires = self._links.pop(digest)
            if self._by_login.get(login) == digest:
                del self._by_login[login]
