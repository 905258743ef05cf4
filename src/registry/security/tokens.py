"""API tokens: random bearer secrets shown once; only their SHA-256 is stored."""
import hashlib
import secrets

PREFIX = "rgt_"


def new_token():
    """Return (token, token_hash): the secret to hand out once and what to store."""
    token = PREFIX + secrets.token_urlsafe(32)
    return token, token_hash(token)


def token_hash(token):
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def bearer_token(request):
    """Return the token of an `Authorization: Bearer <token>` header, or None."""
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()
