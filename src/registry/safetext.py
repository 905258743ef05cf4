"""Text at the door: what the registry refuses in the text people give it, and the safe
display name of an uploaded file.

The policy (README, "JSON API"): text fields (subjects, names, comments, reasons, series, ...)
are *refused* when they hold a control character other than tab, line feed and carriage return
(NUL, BEL, ESC, DEL, the C1 controls), a bidirectional formatting character (the embeddings,
overrides and isolates U+202A-U+202E and U+2066-U+2069, the marks U+200E, U+200F, U+061C), a
lone surrogate or a noncharacter: a register of record keeps what was typed or says why not,
it never keeps a silently altered text. File names are not record text, so they are *cleaned*
instead (`display_filename`); the file's bytes are never touched.
"""
import unicodedata

from registry.errors import RegistryError
from registry.i18n import _

#: Bidirectional formatting characters: they reorder what is displayed, so that
#: "Invoice \u202efdp.exe" reads as "Invoice exe.pdf".
BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e"
                          "\u2066\u2067\u2068\u2069")
#: Control characters a text may hold: whitespace (single-line fields fold it into spaces).
ALLOWED_CONTROLS = frozenset("\t\n\r")
FILENAME_MAX = 120
DEFAULT_FILENAME = "letter.pdf"


def unsafe_character(value):
    """The first character of `value` that text may not hold, or None."""
    for char in value:
        if char in ALLOWED_CONTROLS:
            continue
        if char in BIDI_CONTROLS or _is_control_or_broken(char):
            return char
    return None


def _is_control_or_broken(char):
    category = unicodedata.category(char)
    if category in ("Cc", "Cs"):  # controls; lone surrogates (not text, cannot be stored)
        return True
    code = ord(char)
    return 0xFDD0 <= code <= 0xFDEF or (code & 0xFFFE) == 0xFFFE  # noncharacters


def check_text(value, field):
    """Return `value` (a str) if it holds nothing `unsafe_character` finds; else raise
    RegistryError(INVALID_TEXT) naming `field` and the character's code point."""
    char = unsafe_character(value)
    if char is not None:
        raise RegistryError("INVALID_TEXT",
                            _("invalid-text", default="'${field}' contains a control or "
                              "text-direction character (U+${code}) that is not accepted; "
                              "remove it and try again.",
                              mapping={"field": field, "code": f"{ord(char):04X}"}),
                            field=field)
    return value


def one_line(value, field, limit):
    """`value` checked (`check_text`) with its whitespace folded to single spaces; raises
    RegistryError(TEXT_TOO_LONG) beyond `limit` characters."""
    text = " ".join(check_text(value or "", field).split())
    if len(text) > limit:
        raise RegistryError("TEXT_TOO_LONG",
                            _("text-too-long", default="'${field}' has at most ${max} "
                              "characters.", mapping={"field": field, "max": limit}),
                            field=field)
    return text


def display_filename(name):
    """A safe display name for an uploaded file: the last part of its path, without control,
    bidirectional-formatting, surrogate or noncharacter code points, whitespace folded, at most
    FILENAME_MAX characters, ending in ".pdf" (the registry keeps PDF only). Never raises."""
    name = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    kept = "".join(" " if char in ALLOWED_CONTROLS else char for char in name
                   if char in ALLOWED_CONTROLS or unsafe_character(char) is None)
    name = " ".join(unicodedata.normalize("NFC", kept).split()).strip(". ")
    stem, dot, ext = name.rpartition(".")
    if not dot or ext.lower() != "pdf":
        stem = name
    stem = stem[:FILENAME_MAX - len(".pdf")].rstrip(". ")
    return f"{stem}.pdf" if stem else DEFAULT_FILENAME
