"""Errors a user can cause, with stable machine-readable codes.

Domain code raises `RegistryError`; the UI shows its translated message beside the field it
names, the JSON API answers `{"error": {"code", "message", "field"}}` with its HTTP status, and
the CLI prints the message and exits 1. Whatever raised it changed nothing: the transaction is
aborted.
"""
from registry.i18n import translate


class RegistryError(Exception):
    """A refused request. `code` is stable (API clients match on it); `message` is a
    TranslationString; `field` names the offending input, if any; `status` is the HTTP status."""

    status = 400

    def __init__(self, code, message, field=None, status=None):
        super().__init__(code)
        self.code = code
        self.message = message
        self.field = field
        if status is not None:
            self.status = status

    def __str__(self):
        return translate(self.message)


class NotFound(RegistryError):
    status = 404


class Conflict(RegistryError):
    """The request contradicts what is stored (a duplicate, a limit reached)."""

    status = 409
