"""The public verification code: anyone holding a printed or forwarded letter checks it.

Every sent letter has a short, unguessable code (`code_of`); `/verify/<code>` answers without
signing in what the registry may say of it to anyone (`public_facts`): that a letter with this
number and date exists, from which organisation to which, its SHA-256, the signature verdict
and when it was checked. Never its subject, text or file. A visitor may compare a file with it
byte for byte (`matches`).

A code is 12 characters of Crockford's base32 (no I, L, O, U: 60 bits from `secrets`), shown
in groups of four (`display`); what a person types back is read leniently (`normalise`: case,
spaces and hyphens do not matter, O reads as 0, I and L as 1). The site keeps every code in one
BTree (`site.verification.codes`, code -> Letter): a lookup is O(log n).

The code is given when the letter is sent (the `give_verification_code` effect of `send`), or
earlier, when the registry stamps it with its QR code on a draft it signs on the server
(`registry.views.verification`, `stamp_pdf`): the letter keeps it for the send.
"""
import hashlib
import secrets

from BTrees.OOBTree import OOBTree
from persistent import Persistent
from zope.interface import Interface

from registry import settings as registry_settings
from registry.security.throttle import AddressThrottle, FailedSignIns

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
LENGTH = 12
#: What a person may type for a character of the alphabet.
_LENIENT = str.maketrans({"O": "0", "I": "1", "L": "1"})
#: Chunk size when a compared file is hashed.
CHUNK = 1 << 16


class IVerifyThrottle(Interface):
    """The public lookups' throttle (an AddressThrottle), registered as a utility."""


def includeme(config):
    """Register the lookups' throttle: at most `registry.verify.limit` lookups (default 30)
    per client address within `registry.verify.window` seconds (default 600)."""
    limit, window = registry_settings.verify_throttle(config.get_settings())
    config.registry.registerUtility(AddressThrottle(limit=limit, window=window),
                                    provided=IVerifyThrottle)


class VerificationCodes(Persistent):
    """The site's codes (`codes`: code -> Letter) and its public lookups counted by client
    address (`lookups`, the same store-kept counting as failed sign-ins, so that every machine
    counts the same ones)."""

    def __init__(self):
        self.codes = OOBTree()
        self.lookups = FailedSignIns()

    def get(self, code):
        """The SENT letter a code (normalised) names, else None: a draft's code, stamped
        before it was signed, answers nothing until the letter is sent."""
        letter = self.codes.get(code) if code else None
        if letter is None or letter.sent_at is None:
            return None
        return letter

    def allocate(self, letter):
        """Give `letter` a new unique code unless it has one; return its code."""
        if letter.verification_code:
            return letter.verification_code
        code = new_code()
        while code in self.codes:
            code = new_code()
        self.codes[code] = letter
        letter.verification_code = code
        return code


def new_code():
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def normalise(text):
    """The code a person typed (any case, with spaces or hyphens), or "" when it cannot be one
    (wrong length or characters)."""
    code = "".join((text or "").split()).replace("-", "").upper().translate(_LENIENT)
    if len(code) != LENGTH or any(ch not in ALPHABET for ch in code):
        return ""
    return code


def display(code):
    """XXXX-XXXX-XXXX (of a code stored bare, or shown already)."""
    code = code.replace("-", "")
    return "-".join(code[i:i + 4] for i in range(0, len(code), 4))


def codes_of(site):
    return site.verification


def code_of(letter):
    """The letter's verification code as shown (XXXX-XXXX-XXXX) once it is sent, else None."""
    code = getattr(letter, "verification_code", None)
    if not code or getattr(letter, "sent_at", None) is None:
        return None
    return display(code)


def public_url(request_or_settings):
    """The address the public reaches the registry at: `registry.public_url` when set, else
    (given a request) the request's application URL; None without either."""
    settings = getattr(request_or_settings, "registry", None)
    settings = settings.settings if settings is not None else request_or_settings
    configured = registry_settings.public_url(settings)
    if configured:
        return configured
    application_url = getattr(request_or_settings, "application_url", None)
    return application_url.rstrip("/") if application_url else None


def url_for_code(request_or_settings, code):
    base = public_url(request_or_settings)
    return f"{base}/verify/{display(code)}" if base else None


def url_of(request_or_settings, letter):
    """The letter's absolute verification URL once it is sent, else None."""
    if code_of(letter) is None:
        return None
    return url_for_code(request_or_settings, letter.verification_code)


def _party(site, regno):
    org = site.orgs.get(regno)
    return {"regno": regno, "name": org.name if org else "",
            "name_en": org.name_en if org else ""}


def _withdrawn_at(letter):
    for entry in reversed(letter.history):
        if entry.to_state == "withdrawn":
            return entry.time
    return None


def public_facts(site, letter, local_date):
    """What anyone may learn of a sent letter, as plain data: its number, the date it was
    sent (`local_date(datetime)` -> date in the registry's zone), sender and recipients (names
    and registration numbers), the file's SHA-256, the signature verdict at sending and when
    it was checked, and whether (and when) it was withdrawn. Nothing else: no subject, text,
    file name, size, people or internal ids."""
    verdict = letter.checked_before_export or {}
    return {
        "code": display(letter.verification_code),
        "outgoing_number": letter.outgoing_number,
        "date": local_date(letter.sent_at).isoformat(),
        "sent_at": letter.sent_at.isoformat(),
        "sender": _party(site, letter.org),
        "recipients": [_party(site, regno) for regno in letter.recipients],
        "sha256": letter.pdf.sha256 if letter.pdf is not None else None,
        "signature": {"accepted": bool(verdict.get("accepted")),
                      "reasons": list(verdict.get("reasons") or ()),
                      "checked_at": verdict.get("checked_at")},
        "withdrawn": letter.state == "withdrawn",
        "withdrawn_at": _withdrawn_at(letter) if letter.state == "withdrawn" else None,
    }


def sha256_of_stream(handle, limit):
    """(hex SHA-256, size) of what `handle` yields, read in chunks; (None, size) once more
    than `limit` bytes came (the rest is not read)."""
    digest, size = hashlib.sha256(), 0
    for chunk in iter(lambda: handle.read(CHUNK), b""):
        size += len(chunk)
        if size > limit:
            return None, size
        digest.update(chunk)
    return digest.hexdigest(), size


def matches(letter, handle, limit):
    """True if the bytes of `handle` are the letter's file byte for byte (by SHA-256), False
    if not; None when they are more than `limit` bytes. Nothing is stored."""
    digest, _size = sha256_of_stream(handle, limit)
    if digest is None:
        return None
    return letter.pdf is not None and secrets.compare_digest(digest, letter.pdf.sha256)


# The QR code --------------------------------------------------------------------------------

def qr(url):
    """The QR code of `url` (a segno QRCode, error correction M)."""
    import segno

    return segno.make_qr(url, error="m")


def qr_svg(url, scale=4):
    from io import BytesIO

    out = BytesIO()
    qr(url).save(out, kind="svg", scale=scale, xmldecl=False, svgns=True, title=url)
    return out.getvalue()


def qr_png(url, scale=6):
    from io import BytesIO

    out = BytesIO()
    qr(url).save(out, kind="png", scale=scale)
    return out.getvalue()


# The workflow's effect ------------------------------------------------------------------------

def give_verification_code(letter, ctx, evidence):
    """At sending: the letter gets its code (or keeps the one stamped on it before signing)."""
    code = codes_of(ctx.site).allocate(letter)
    return {"verification_code": display(code)}


EFFECTS = {"give_verification_code": give_verification_code}


# The stamp on a draft signed on the server ----------------------------------------------------

#: The stamp's font: Courier (a standard font every reader has; its width is exact, 0.6 em).
STAMP_FONT_SIZE = 6
STAMP_MODULE = 1.8  # points per QR module
STAMP_MARGIN = 14


def stamp_pdf(data, code, url):
    """`data` (an unsigned PDF) with the QR code of `url` and the line "Verify: <url> Code:
    <code>" in the bottom right corner of its last page, added as an incremental update (the
    earlier bytes stay as they were); the signature is made over the result. ASCII only, in a
    standard font: no font is embedded. Raises ValueError for a PDF it cannot read."""
    from io import BytesIO

    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    writer = IncrementalPdfFileWriter(BytesIO(data), strict=False)
    last = int(writer.root["/Pages"]["/Count"]) - 1
    page_ref, _resources = writer.find_page_for_modification(last)
    page = page_ref.get_object()
    box = page.get("/MediaBox") or writer.root["/Pages"].get("/MediaBox") or \
        [0, 0, 595, 842]
    right, bottom = float(box[2]), float(box[1])
    rows = list(qr(url).matrix_iter(border=0))
    side = len(rows) * STAMP_MODULE
    lines = [f"Verify: {url}", f"Code: {code}"]
    text_width = max(len(line) for line in lines) * 0.6 * STAMP_FONT_SIZE
    x_qr = right - STAMP_MARGIN - side
    y_qr = bottom + STAMP_MARGIN
    x_text = x_qr - 4 - text_width
    ops = [b"Q q", b"1 g %.2f %.2f %.2f %.2f re f" % (x_text - 2, y_qr - 2, right - STAMP_MARGIN
                                                      - x_text + 4, side + 4), b"0 g"]
    for r, row in enumerate(rows):
        y = y_qr + side - (r + 1) * STAMP_MODULE
        for c, dark in enumerate(row):
            if dark:
                ops.append(b"%.2f %.2f %.2f %.2f re" % (x_qr + c * STAMP_MODULE, y,
                                                        STAMP_MODULE, STAMP_MODULE))
    ops.append(b"f")
    for i, line in enumerate(reversed(lines)):
        escaped = line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
        ops.append(b"BT /RegistryVerify %d Tf %.2f %.2f Td (%s) Tj ET" % (
            STAMP_FONT_SIZE, x_text, y_qr + i * (STAMP_FONT_SIZE + 2), escaped.encode("ascii")))
    ops.append(b"Q")
    font = generic.DictionaryObject({
        generic.NameObject("/Type"): generic.NameObject("/Font"),
        generic.NameObject("/Subtype"): generic.NameObject("/Type1"),
        generic.NameObject("/BaseFont"): generic.NameObject("/Courier")})
    resources = generic.DictionaryObject({generic.NameObject("/Font"): generic.DictionaryObject(
        {generic.NameObject("/RegistryVerify"): writer.add_object(font)})})
    # The page's own content may leave its graphics state changed: wrap it in q ... Q first.
    writer.add_stream_to_page(last, writer.add_object(generic.StreamObject(stream_data=b"q")),
                              prepend=True)
    writer.add_stream_to_page(last, writer.add_object(
        generic.StreamObject(stream_data=b"\n".join(ops))), resources=resources)
    out = BytesIO()
    writer.write(out)
    return out.getvalue()
