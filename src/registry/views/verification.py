"""The public verification page, `/verify/<code>`: no sign-in, HTML or JSON.

What it tells is `registry.verification.public_facts`, nothing more. A lookup (GET) or a
comparison (POST of a file) is counted against the client's address (the store-kept throttle:
every machine counts the same ones) and audited (the code, the outcome, the address; never the
file). A wrong code answers 404 with one plain sentence; a file that is not the letter, "does
not match".

A withdrawn letter is still shown, as withdrawn, with the time: the registry does not forget
that it was sent, and someone holding a copy must learn it no longer stands.
"""
from pyramid.httpexceptions import HTTPFound
from pyramid.response import Response
from pyramid.view import view_config

from registry import settings as registry_settings
from registry import verification
from registry.errors import RegistryError
from registry.i18n import _
from registry.resources.letter import Delivery, Letter
from registry.resources.organisation import Organisation
from registry.resources.site import Site
from registry.security import permissions as P
from registry.verification import IVerifyThrottle
from registry.views.api import error_body, wants_json
from registry.views.forms import flash
from registry.views.intake import read_json, require_media_type
from registry.views.letter import max_pdf_size

PAGE = "registry:templates/verify.pt"
UNKNOWN = _("verify-unknown", default="No letter has this verification code.")
CODE_REQUIRED = _("verify-code-required", default="Type the verification code.")
NO_MATCH = _("verify-no-match", default="The file does not match.")
MATCH = _("verify-match", default="The file is the registered letter, byte for byte.")


def _typed(request):
    """The code as the visitor gave it (for the audit: printable, at most 32 characters)."""
    raw = request.subpath[0] if request.subpath else ""
    return "".join(ch for ch in raw[:32] if ch.isprintable())


def _answer(request, status, values):
    """Render the page (HTML) or `values["json"]` (JSON) with `status`."""
    request.response.status = status
    if wants_json(request):
        request.override_renderer = "json"
        return values["json"]
    request.override_renderer = PAGE
    return values


def _refusal(request, status, code, message, **page):
    return _answer(request, status, {
        "json": error_body(code, request.localizer.translate(message)), "facts": None,
        "message": message, "outcome": None, **page})


def _look_up(request, action):
    """Count the lookup against the client's address and find the letter. Returns (letter or
    None, refusal or None): a refusal (429, 404) is the view's whole answer. Audited, except
    a refused (throttled) request, which looked nothing up."""
    site, address = request.root, request.client_address
    throttle = request.registry.getUtility(IVerifyThrottle)
    lookups = verification.codes_of(site).lookups
    wait = throttle.retry_after(lookups, address)
    if wait:
        request.response.headers["Retry-After"] = str(wait)
        return None, _refusal(request, 429, "TOO_MANY_LOOKUPS", _(
            "verify-too-many", default="Too many checks from your address. Try again in "
            "${minutes} min.", mapping={"minutes": max(1, round(wait / 60))}))
    throttle.failed(lookups, address)  # counts one lookup
    if len(request.subpath) != 1:
        letter = None
    else:
        letter = verification.codes_of(site).get(verification.normalise(request.subpath[0]))
    if letter is None:
        _audit(request, action, None, "unknown")
        return None, _refusal(request, 404, "NOT_FOUND", UNKNOWN)
    return letter, None


def _audit(request, action, letter, outcome):
    """One audit record of a lookup: the code as typed, the outcome, the client's address;
    the sender's organisation (its auditors see who checked their letters). Never the file."""
    account = request.account
    request.root.audit.append(
        account.login if account is not None else "", action,
        target=f"/verify/{verification.display(letter.verification_code)}" if letter else "",
        org=letter.org if letter is not None else "",
        detail={"code": _typed(request), "outcome": outcome,
                "address": request.client_address})


def _facts(request, letter):
    zone = registry_settings.zone(request.registry.settings)
    return verification.public_facts(request.root, letter,
                                     lambda when: when.astimezone(zone).date())


def _page(request, letter, outcome=None, message=None):
    facts = _facts(request, letter)
    body = dict(facts)
    if outcome is not None:
        body = {"match": outcome == "match"}
    return {"json": body, "facts": facts, "outcome": outcome, "message": message,
            "action": request.resource_url(request.root, "verify", facts["code"])}


@view_config(context=Site, name="verify", permission=P.VERIFY_LETTER, renderer=PAGE,
             request_method=("GET", "HEAD"))
def verify(request):
    """GET /verify/<code>: the letter's public facts (HTML, or JSON when asked). GET /verify
    with `?code=` sends the visitor to that code's page; without, the page asks for one."""
    if not request.subpath:
        typed = request.params.get("code", "")
        code = verification.normalise(typed)
        target = verification.display(code) if code else "".join(typed.split())[:32]
        if target:
            return HTTPFound(location=request.resource_url(request.root, "verify", target))
        # The page asks for a code; the API is told one is needed.
        refusal = _refusal(request, 400, "CODE_REQUIRED", CODE_REQUIRED)
        if not wants_json(request):
            request.response.status, refusal["message"] = 200, None
        return refusal
    letter, refusal = _look_up(request, "verify.lookup")
    if refusal is not None:
        return refusal
    _audit(request, "verify.lookup", letter, "found")
    return _answer(request, 200, _page(request, letter))


@view_config(context=Site, name="verify", permission=P.VERIFY_LETTER, renderer=PAGE,
             request_method="POST", require_csrf=False)
def compare(request):
    """POST /verify/<code> with a multipart `file`: {"match": true|false}; the file is hashed
    as it is read (at most the registry's upload limit) and never kept. No CSRF token: the
    request changes nothing of the visitor's and carries no credential worth riding on."""
    require_media_type(request, "compareWithVerification")
    letter, refusal = _look_up(request, "verify.compare")
    if refusal is not None:
        return refusal
    upload = request.POST.get("file")
    if getattr(upload, "file", None) is None:
        _audit(request, "verify.compare", letter, "no_file")
        return _answer(request, 400, {
            **_page(request, letter, message=_("verify-file-required",
                                               default="Choose the file to compare.")),
            "json": error_body("FILE_REQUIRED", request.localizer.translate(
                _("verify-file-required", default="Choose the file to compare.")), "file")})
    limit = max_pdf_size(request)
    outcome = verification.matches(letter, upload.file, limit)
    if outcome is None:
        _audit(request, "verify.compare", letter, "too_large")
        return _refusal(request, 413, "TOO_LARGE", _(
            "file-too-large", default="The file is larger than ${mb} MB.",
            mapping={"mb": limit >> 20}))
    result = "match" if outcome else "no_match"
    _audit(request, "verify.compare", letter, result)
    return _answer(request, 200, _page(request, letter, result, MATCH if outcome else NO_MATCH))


# The QR code on the letter's page (its parties) -----------------------------------------------

@view_config(context=Letter, name="verification-qr.svg", permission=P.VIEW_LETTER)
@view_config(context=Letter, name="verification-qr.png", permission=P.VIEW_LETTER)
@view_config(context=Delivery, name="verification-qr.svg", permission=P.VIEW_DELIVERY)
@view_config(context=Delivery, name="verification-qr.png", permission=P.VIEW_DELIVERY)
def verification_qr(request):
    """The QR code of the letter's verification URL, SVG or PNG; 404 before it is sent."""
    item = request.context
    letter = item.letter if isinstance(item, Delivery) else item
    url = verification.url_of(request, letter)
    if url is None:
        raise RegistryError("NOT_FOUND", _("There is nothing at this address."), status=404)
    if request.view_name.endswith(".svg"):
        response = Response(body=verification.qr_svg(url), content_type="image/svg+xml")
    else:
        response = Response(body=verification.qr_png(url), content_type="image/png")
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.cache_control = "private, max-age=3600"
    return response


# The organisation's choice -----------------------------------------------------------------

def set_stamp(request, org, value):
    """Set whether the organisation's letters signed on the server carry their code; audited
    when it changes."""
    if org.stamp_verification != value:
        org.stamp_verification = value
        request.root.audit.append(request.account.login, "org.settings",
                                  target=f"/orgs/{org.regno}", org=org.regno,
                                  detail={"stamp_verification": value})


@view_config(context=Organisation, name="verification-stamp", permission=P.ORG_SETTINGS,
             request_method="POST")
def stamp_setting(request):
    """The organisation page's switch: `stamp_verification` = "1" (on) or absent (off)."""
    set_stamp(request, request.context, request.POST.get("stamp_verification") == "1")
    flash(request, _("Changes saved."))
    return HTTPFound(location=request.resource_url(request.context))


@view_config(context=Organisation, name="@settings", renderer="json",
             permission=P.ORG_SETTINGS, request_method="PATCH")
def settings_json(request):
    """PATCH {"stamp_verification": true|false}: the organisation as JSON."""
    body = read_json(request, "updateOrganisationSettings")
    if "stamp_verification" in body:
        if not isinstance(body["stamp_verification"], bool):
            raise RegistryError("INVALID_FIELD", _("stamp-not-boolean", default="'stamp_"
                                "verification' is true or false."), field="stamp_verification")
        set_stamp(request, request.context, body["stamp_verification"])
    return request.context.as_json(request)
