"""Joining with a certificate: a business registers itself, no administrator needed.

1. **The form.** `issue_form` stores a one-time code (80 random bits, written as four groups
   of four letters and digits) with the registration number it is for, what signing it does
   (`join` a new organisation, or `reset` the password of the one registered already) and
   when it expires (JOIN_CODE_LIFETIME, by the application's clock); `form_pdf` draws the
   registration form that carries it, in the visitor's language.
2. **The signed form.** The business signs the form with its usual tools and uploads it with
   its contact's name and e-mail. `check_upload` asks the signature gate (trusted CA, not
   revoked, exactly one signature, unchanged after signing) and reads the text of the
   document *as it was signed* (the bytes the signature covers: `signed_length` in the gate's
   evidence), where the code must appear once. Text added after signing never counts.
3. **The join.** `accept` checks the code (known, unused, unexpired, issued for the number the
   certificate names), then takes the registration number and the name from the certificate:
   a new business gets its organisation (kind business) and its one account, the contact's
   (login: the registration number); a business registered already gets its account's
   password voided and the address given. Either way the code is spent, the account gets a
   one-time link to set its password (`registry.security.links`), and the join is audited.
   A government organisation's number is refused: those are added by the site administrator.

Every refusal is a `JoinRefused` (a RegistryError) raised before anything changed, with the
gate's reason codes when the gate refused.
"""
import re
import secrets
from base64 import b32encode
from dataclasses import dataclass
from datetime import timedelta
from io import BytesIO

from BTrees.OOBTree import OOBTree
from persistent import Persistent

from registry.accounts import create_account
from registry.directory import register_organisation
from registry.errors import RegistryError
from registry.fonts import cyrillic_font
from registry.i18n import _
from registry.resources.organisation import validate_name, validate_regno
from registry.resources.user import validate_email
from registry.search.text import extract
from registry.signatures import REASON_MESSAGES

#: How long a form's code stays good.
JOIN_CODE_LIFETIME = timedelta(days=7)
#: The roles of a business's one account.
BUSINESS_ROLES = ("records_manager", "signatory")
#: Who the registry's own audit records name.
ACTOR = "registry:join"
#: A code as printed: XXXX-XXXX-XXXX-XXXX in RFC 4648 base32 letters and digits.
CODE_RE = re.compile(r"\b[A-Z2-7]{4}-[A-Z2-7]{4}-[A-Z2-7]{4}-[A-Z2-7]{4}\b")
#: Expired codes removed at most per form issued.
PRUNE_BATCH = 50
#: Pages of the signed form read for its code.
FORM_PAGES = 2


class JoinRefused(RegistryError):
    """A refused join; `reasons` are the gate's reason codes when the gate refused."""

    status = 422

    def __init__(self, code, message, field=None, status=None, reasons=()):
        super().__init__(code, message, field=field, status=status)
        self.reasons = tuple(reasons)


def new_code():
    raw = b32encode(secrets.token_bytes(10)).decode("ascii")
    return "-".join(raw[i:i + 4] for i in range(0, 16, 4))


class JoinCode(Persistent):
    """One form's code: for which number, to do what, until when; used when and by whom."""

    def __init__(self, code, regno, purpose, issued, expires):
        self.code = code
        self.regno = regno
        self.purpose = purpose
        self.issued = issued
        self.expires = expires
        self.used = None


class JoinCodes(Persistent):
    """{code: JoinCode}, with `_expiry` ((expires, code) -> None) to remove expired codes a
    few at a time. A used code stays until it expires (a second upload is told "used")."""

    def __init__(self):
        self._codes = OOBTree()
        self._expiry = OOBTree()

    def __len__(self):
        return len(self._codes)

    def get(self, code):
        return self._codes.get(code)

    def issue(self, regno, purpose, now, lifetime=JOIN_CODE_LIFETIME):
        self.prune(now)
        code = new_code()
        while code in self._codes:  # 80 random bits: never, but a code is never given twice
            code = new_code()
        record = self._codes[code] = JoinCode(code, regno, purpose, now, now + lifetime)
        self._expiry[(record.expires, code)] = None
        return record

    def prune(self, now, limit=PRUNE_BATCH):
        for expires, code in list(self._expiry.keys(max=(now,), excludemax=True))[:limit]:
            del self._expiry[(expires, code)]
            del self._codes[code]


def _refused_government(regno):
    return JoinRefused(
        "JOIN_GOVERNMENT",
        _("join-government", default="Registration number ${regno} belongs to a government "
          "organisation; those are registered by the registry's administrator.",
          mapping={"regno": regno}), field="regno", status=409)


def _refused_suspended(regno):
    return JoinRefused(
        "JOIN_SUSPENDED",
        _("join-suspended", default="The organisation ${regno} is suspended; ask the "
          "registry's administrator.", mapping={"regno": regno}), field="regno", status=403)


def issue_form(site, regno, now):
    """Store a one-time code for `regno` and audit it; return the JoinCode. Raises
    RegistryError (INVALID_REGNO) and JoinRefused (JOIN_GOVERNMENT, JOIN_SUSPENDED)."""
    regno = validate_regno(regno)
    org = site.orgs.get(regno)
    if org is not None and not org.is_business:
        raise _refused_government(regno)
    if org is not None and not org.active:
        raise _refused_suspended(regno)
    record = site.join_codes.issue(regno, "reset" if org is not None else "join", now)
    site.audit.append(ACTOR, "join.form", target=f"/orgs/{regno}", org=regno if org else "",
                      detail={"regno": regno, "purpose": record.purpose,
                              "code": record.code[:4], "expires": record.expires.isoformat()},
                      now=now)
    return record


# The form ----------------------------------------------------------------------------------

def form_lines(record, zone):
    """What the form says, as (style, text): "title", "text", "fact" or "code" lines."""
    expires = record.expires.astimezone(zone).strftime("%Y-%m-%d %H:%M")
    if record.purpose == "join":
        title = _("join-form-title", default="Application to join the registry")
        meaning = _("join-form-meaning", default="By signing this form with the organisation's "
                    "digital signature certificate, the organisation asks to join the registry "
                    "of official letters with one account. The registry takes the "
                    "organisation's registration number and name from the certificate, opens "
                    "its account and mails the contact person named at upload a link to set "
                    "the account's password. Letters the account sends are the organisation's "
                    "letters.")
    else:
        title = _("join-reset-title", default="Recovering the organisation's account")
        meaning = _("join-reset-meaning", default="The organisation is registered already. By "
                    "signing this form with the organisation's digital signature certificate, "
                    "the organisation asks the registry to reset its account's password: the "
                    "current password stops working and the contact person named at upload "
                    "gets a link to set a new one by e-mail.")
    return [
        ("title", title),
        ("fact", _("join-form-regno", default="State registration number: ${regno}",
                   mapping={"regno": record.regno})),
        ("fact", _("join-form-code", default="One-time code:")),
        ("code", record.code),
        ("fact", _("join-form-expires", default="The code is good until ${time} (Ulaanbaatar "
                   "time) and only once.", mapping={"time": expires})),
        ("text", meaning),
        ("text", _("join-form-how", default="Sign this file as it is, with one signature, "
                   "using the software you sign letters with, then upload the signed file on "
                   "the registry's join page. Do not change or print and scan it.")),
    ]


def form_pdf(record, translate, zone):
    """The registration form for `record` as PDF bytes (A4), its text in `translate`'s
    language; the code is drawn in Courier so any reader extracts it letter for letter."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import mm
    from reportlab.lib.utils import simpleSplit
    from reportlab.pdfgen import canvas

    font = cyrillic_font()
    width, height = A4
    margin = 25 * mm
    out = BytesIO()
    pdf = canvas.Canvas(out, pagesize=A4)
    lines = form_lines(record, zone)
    pdf.setTitle(translate(lines[0][1]))
    pdf.setSubject(f"{record.regno} {record.code}")
    y = height - margin
    for style, text in lines:
        text = translate(text) if style != "code" else text
        if style == "title":
            pdf.setFont(font, 16)
            pdf.drawString(margin, y, text)
            y -= 14 * mm
        elif style == "code":
            pdf.setFont("Courier-Bold", 18)
            pdf.drawString(margin + 5 * mm, y, text)
            y -= 12 * mm
        else:
            size = 11 if style == "fact" else 10
            pdf.setFont(font, size)
            for part in simpleSplit(text, font, size, width - 2 * margin):
                pdf.drawString(margin, y, part)
                y -= size * 0.5 * mm
            y -= 4 * mm
    pdf.showPage()
    pdf.save()
    return out.getvalue()


# The signed form ---------------------------------------------------------------------------

@dataclass
class SignedForm:
    """What the upload proves: the gate's verdict, and the codes in its signed text."""

    verdict: object
    codes: tuple


def check_upload(gate, data):
    """Ask the gate about `data` (bytes) and read the codes in the signed document's text.
    Raises JoinRefused (JOIN_SIGNATURE_REFUSED with the gate's reasons, JOIN_CODE_MISSING)."""
    verdict = gate.verify(data)
    if not verdict.accepted:
        first = verdict.reasons[0] if verdict.reasons else "SIGNATURE_INVALID"
        raise JoinRefused("JOIN_SIGNATURE_REFUSED", REASON_MESSAGES.get(
            first, REASON_MESSAGES["SIGNATURE_INVALID"]), field="file",
            reasons=verdict.reasons)
    signed = data[:verdict.evidence.get("signed_length", 0)]
    text = extract(signed, max_pages=FORM_PAGES) if signed else None
    codes = tuple(dict.fromkeys(CODE_RE.findall(text.text))) if text and text.ok else ()
    if len(codes) != 1:
        raise JoinRefused("JOIN_CODE_MISSING", _(
            "join-code-missing", default="The signed file does not carry one registration "
            "code: sign the form the registry made for you, as it is."), field="file")
    return SignedForm(verdict, codes)


# The join ----------------------------------------------------------------------------------

@dataclass
class Joined:
    """The outcome: the organisation, its account, whether it was created ("joined") or its
    password reset ("reset"), and the set-password link's token (to mail, never to show)."""

    org: object
    user: object
    outcome: str
    token: str


def _checked_code(site, form, regno, now):
    record = site.join_codes.get(form.codes[0])
    if record is None:
        raise JoinRefused("JOIN_CODE_UNKNOWN", _(
            "join-code-unknown", default="The registry did not issue the code this form "
            "carries (or it expired long ago): download a new form."), field="file")
    if record.used is not None:
        raise JoinRefused("JOIN_CODE_USED", _(
            "join-code-used", default="This form's code was used already; each form serves "
            "once: download a new form."), field="file", status=409)
    if record.expires <= now:
        raise JoinRefused("JOIN_CODE_EXPIRED", _(
            "join-code-expired", default="This form's code has expired: download a new form "
            "and sign it."), field="file")
    if record.regno != regno:
        raise JoinRefused("JOIN_CODE_OTHER_ORG", _(
            "join-code-other-org", default="This form was made for registration number "
            "${form}, but the certificate that signed it is registration number ${cert}'s.",
            mapping={"form": record.regno, "cert": regno}), field="file")
    return record


def _certificate_identity(verdict):
    signer = verdict.signer or {}
    regno = signer.get("regno")
    if not regno:
        raise JoinRefused("JOIN_NO_REGNO", _(
            "join-no-regno", default="The signing certificate does not name a state "
            "registration number; sign with the organisation's certificate."), field="file")
    try:
        return validate_regno(regno), validate_name(signer.get("name"))
    except RegistryError as exc:
        raise JoinRefused("JOIN_NO_REGNO", exc.message, field="file") from None


def _free_login(site, regno):
    login, n = regno, 1
    while login in site.users:
        login, n = f"{regno}-{n}", n + 1
    return login


def validate_contact(contact_name, email):
    """Return the contact's name and e-mail address cleaned; raise RegistryError
    (NAME_REQUIRED, INVALID_EMAIL, EMAIL_REQUIRED, ...)."""
    contact_name = validate_name(contact_name, field="contact_name")
    email = validate_email(email)
    if email is None:
        raise RegistryError("EMAIL_REQUIRED", _("The contact's e-mail address is required: "
                                                "the link to set the password goes there."),
                            field="email")
    return contact_name, email


def accept(site, form, contact_name, email, now, language=None, limits=None):
    """Join (or recover) the organisation `form` (a SignedForm) proves; return Joined.
    Raises JoinRefused or RegistryError before changing anything."""
    contact_name, email = validate_contact(contact_name, email)
    regno, name = _certificate_identity(form.verdict)
    record = _checked_code(site, form, regno, now)
    org = site.orgs.get(regno)
    if org is not None and not org.is_business:
        raise _refused_government(regno)
    if org is not None and record.purpose == "join":
        raise JoinRefused("JOIN_ALREADY_REGISTERED", _(
            "join-already-registered", default="An organisation with registration number "
            "${regno} is registered already. To recover its account, download a new form for "
            "the number and sign it: that resets the account's password and mails a link to "
            "the address you give.", mapping={"regno": regno}), field="file", status=409)
    if org is None and record.purpose == "reset":
        raise JoinRefused("JOIN_FORM_OUTDATED", _(
            "join-form-outdated", default="This form no longer fits the registry's records: "
            "download a new form."), field="file", status=409)
    if org is not None and not org.active:
        raise _refused_suspended(regno)
    accounts = site.users.for_org(regno) if org is not None else []
    if len(accounts) > 1 or any(user.is_site_admin for user in accounts):
        raise JoinRefused("JOIN_ASK_ADMIN", _(
            "join-ask-admin", default="The accounts of organisation ${regno} are managed by "
            "the registry's administrator; ask them.", mapping={"regno": regno}),
            field="file", status=409)
    verdict = form.verdict
    detail = {"regno": regno, "name": name, "code": record.code[:4], "contact": contact_name,
              "email": email, "sha256": verdict.sha256,
              "certificate": {key: (verdict.signer or {}).get(key)
                              for key in ("subject", "issuer", "serial")}}
    if org is None:
        org = register_organisation(site, ACTOR, regno, name, "business")
    if accounts:
        user, outcome = accounts[0], "reset"
        user.password_hash = None  # the old password stops working at once
        user.auth_epoch += 1
        user.failed_logins, user.locked_until = 0, None
        site.sessions.end_all(user.login)
        user.fullname, user.email = contact_name, email
    else:
        outcome = "joined"
        # The account opens without a usable password: the contact sets one by the link.
        user = create_account(site, ACTOR, regno, _free_login(site, regno), BUSINESS_ROLES,
                              secrets.token_urlsafe(32), fullname=contact_name, limits=limits)
        user.password_hash = None
        user.email = email
    if language:
        user.language = language
    record.used = now
    token = site.password_links.issue(user.login, now)
    site.audit.append(ACTOR, "org.join" if outcome == "joined" else "org.join_reset",
                      target=f"/orgs/{regno}", org=regno,
                      detail={**detail, "login": user.login}, now=now)
    return Joined(org, user, outcome, token)
