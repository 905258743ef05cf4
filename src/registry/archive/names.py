"""Safe file names inside a package.

A name in the package comes from user data (a letter's file name, a series code), so it is
normalised before it names anything: Unicode NFC (so that "й" is one code point on every
system), only letters (Cyrillic included), digits, "-", "_" and "." kept, everything else
(slashes, backslashes, control characters, spaces, quotes) replaced by "_", no leading dot (no
hidden files, no "..") and at most `limit` bytes of UTF-8. Uniqueness is the caller's business
(the package prefixes names with a running number).
"""
import re
import unicodedata

_UNSAFE = re.compile(r"[^\w.\-]+")
_RUNS = re.compile(r"_{2,}")


def safe_name(text, limit=100, fallback="file"):
    """`text` made safe as one path segment (see the module docstring); `fallback` if nothing
    is left."""
    text = unicodedata.normalize("NFC", str(text or ""))
    text = "".join(ch for ch in text if unicodedata.category(ch)[0] != "C")
    text = _RUNS.sub("_", _UNSAFE.sub("_", text)).strip("._-")
    encoded = text.encode("utf-8")[:limit]
    text = encoded.decode("utf-8", "ignore").rstrip("._-")
    return text or fallback


def pdf_name(seq, filename):
    """The name of a letter's PDF in the package: its running number and its own file name's
    stem, e.g. "000042-Төсвийн_тухай.pdf"."""
    stem = str(filename or "")
    if stem.lower().endswith(".pdf"):
        stem = stem[:-4]
    return f"{seq:06d}-{safe_name(stem, fallback='letter')}.pdf"


def is_safe_path(path):
    """True if `path` (with "/" separators) is relative, has no empty, "." or ".." segment and
    no segment starting with ".", no backslash, no control or other non-printable character,
    and is NFC-normalised: what every path in a package must be."""
    # isprintable() is False for control, format, surrogate, private and unassigned code
    # points (and for spaces other than " ", which safe names do not have either)
    if not path or path.startswith("/") or "\\" in path or not path.isprintable():
        return False
    if not unicodedata.is_normalized("NFC", path):
        return False
    return all(part not in ("", ".", "..") and not part.startswith(".")
               for part in path.split("/"))
