"""Password hashing with argon2id (argon2-cffi). Passwords are never stored or logged."""
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from registry.errors import RegistryError
from registry.i18n import _

MIN_LENGTH = 10
MAX_LENGTH = 1024  # bounds the hashing work an attacker can ask for

_hasher = PasswordHasher()


def validate_password(password, login=None):
    """Return `password` unchanged; raise RegistryError(WEAK_PASSWORD) if it is too short, too
    long, or the login itself."""
    if password is None or len(password) < MIN_LENGTH:
        raise RegistryError(
            "WEAK_PASSWORD",
            _("weak-password", default="A password has at least ${min} characters.",
              mapping={"min": MIN_LENGTH}),
            field="password",
        )
    if len(password) > MAX_LENGTH:
        raise RegistryError(
            "WEAK_PASSWORD",
            _("long-password", default="A password has at most ${max} characters.",
              mapping={"max": MAX_LENGTH}),
            field="password",
        )
    if login and password.strip().casefold() == login.casefold():
        raise RegistryError(
            "WEAK_PASSWORD", _("The password must not be the login."), field="password"
        )
    return password


def hash_password(password):
    return _hasher.hash(password)


def verify_password(stored_hash, password):
    """Return True if `password` matches `stored_hash`; never raises for a wrong password."""
    if not stored_hash or password is None or len(password) > MAX_LENGTH:
        return False
    try:
        return _hasher.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash):
    return _hasher.check_needs_rehash(stored_hash)


# A hash of a random password, verified against when the login is unknown so that a wrong
# login and a wrong password take the same time.
DUMMY_HASH = _hasher.hash("registry-dummy-password-for-timing")
