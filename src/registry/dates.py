"""Dates and months as Mongolians write them, read the same way by every form and the API.

A date is year, month and day with one separator: `2026.12.03` (as letters and stamps write
it), `2026-12-03` (ISO, what the API and the pages' own values use) or `2026/12/03`; a month
is `2026.12`, `2026-12` or `2026/12`. Month and day may have one digit. Nothing else is a date:
`03.12.2026` and `12/03/2026` are refused rather than guessed at.

The UI's date and month fields are text inputs (`input_attributes`): a browser's own date
picker speaks the browser's language and writes dates its own way, not ours.
"""
import re
from datetime import date

from registry.errors import RegistryError
from registry.i18n import _

_DAY = re.compile(r"(\d{4})([./-])(\d{1,2})\2(\d{1,2})")
_MONTH = re.compile(r"(\d{4})[./-](\d{1,2})")
#: The same shapes for the browser's `pattern` attribute (which is compiled with the `v` flag:
#: alternatives rather than a class, where `/` and `-` would need escaping).
DAY_PATTERN = r"\s*\d{4}(\.|-|/)\d{1,2}\1\d{1,2}\s*"
MONTH_PATTERN = r"\s*\d{4}(\.|-|/)\d{1,2}\s*"

DAY_FORMAT = _("date-format", default="Write the date as year.month.day, for example "
               "2026.12.03.")
MONTH_FORMAT = _("month-format", default="Write the month as year.month, for example 2026.12.")
DAY_PLACEHOLDER = _("date-placeholder", default="2026.12.03")
MONTH_PLACEHOLDER = _("month-placeholder", default="2026.12")


def parse_day(text):
    """The date written in `text` (see the module's docstring); raises ValueError."""
    found = _DAY.fullmatch(str(text).strip())
    if found is None:
        raise ValueError(text)
    return date(int(found[1]), int(found[3]), int(found[4]))


def parse_month(text):
    """(year, month) of the month written in `text`; raises ValueError."""
    found = _MONTH.fullmatch(str(text).strip())
    if found is None or not 1 <= int(found[2]) <= 12:
        raise ValueError(text)
    return int(found[1]), int(found[2])


def clean_day(value, field):
    """A date from a form or the API: a `date` as it is, else `parse_day`; None for nothing
    given. Raises RegistryError(INVALID_DATE) naming `field`."""
    if value is None or isinstance(value, date):
        return value
    if not str(value).strip():
        return None
    try:
        return parse_day(value)
    except ValueError:
        raise RegistryError("INVALID_DATE", DAY_FORMAT, field=field) from None


def input_attributes(localizer, month=False):
    """The attributes of a date (or month) text input, its words translated by `localizer`:
    the placeholder, the shape the browser checks and the message it shows when it does not
    match (forms.js), a numeric keyboard on phones."""
    return {
        "inputmode": "numeric", "autocomplete": "off", "maxlength": "7" if month else "10",
        "placeholder": localizer.translate(MONTH_PLACEHOLDER if month else DAY_PLACEHOLDER),
        "pattern": MONTH_PATTERN if month else DAY_PATTERN,
        "data-pattern-message": localizer.translate(MONTH_FORMAT if month else DAY_FORMAT),
    }
