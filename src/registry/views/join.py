"""Joining with a certificate (`registry.join`): the public join page (`/@@join`), its JSON
API (`GET /@join/form?regno=R`, `POST /@join`) and the page a mailed link opens to set an
account's password (`/@@set-password/<token>`).

None needs a signed-in visitor. Forms issued and refused uploads count against the visitor's
address (the stored throttle, `IJoinThrottle`); joining needs mail (the link goes by e-mail),
and without it these addresses answer 404.
"""
import deform
from pyramid.httpexceptions import HTTPFound
from pyramid.response import Response
from pyramid.security import NO_PERMISSION_REQUIRED, remember
from pyramid.view import view_config

from registry import join
from registry import settings as registry_settings
from registry.accounts import set_password
from registry.errors import NotFound, RegistryError
from registry.i18n import _
from registry.notifications import IPostman
from registry.resources.site import Site
from registry.security.throttle import IJoinThrottle
from registry.settings import account_limits
from registry.signatures import REASON_MESSAGES
from registry.views.forms import make_form, run_form
from registry.views.intake import read_form
from registry.views.letter import max_pdf_size
from registry.views.user import NewPasswordSchema


def _postman(request):
    """The postman; raise NotFound(JOIN_UNAVAILABLE) when mail is off."""
    postman = request.registry.queryUtility(IPostman)
    if postman is None:
        raise NotFound("JOIN_UNAVAILABLE", _("Joining online needs the registry's mail, which "
                                             "is not set up; ask the registry's administrator."))
    return postman


def _check_throttle(request):
    throttle = request.registry.getUtility(IJoinThrottle)
    wait = throttle.retry_after(request.root.join_attempts, request.client_address)
    if wait:
        refused = RegistryError("TOO_MANY_JOIN_ATTEMPTS", _(
            "too-many-joins", default="Too many forms or refused uploads from your address. "
            "Try again in ${minutes} min.", mapping={"minutes": max(1, round(wait / 60))}),
            status=429)
        refused.headers = {"Retry-After": str(wait)}
        raise refused


def _count_attempt(request):
    request.registry.getUtility(IJoinThrottle).failed(request.root.join_attempts,
                                                      request.client_address)


def _form_response(request, regno):
    """Issue a form for `regno` (counted against the address): the PDF, its code, number and
    expiry in headers."""
    _postman(request)
    _check_throttle(request)
    record = join.issue_form(request.root, regno, request.now)
    _count_attempt(request)
    zone = registry_settings.zone(request.registry.settings)
    body = join.form_pdf(record, request.localizer.translate, zone)
    response = Response(body=body, content_type="application/pdf")
    response.content_disposition = f'attachment; filename="registry-join-{record.regno}.pdf"'
    response.headers.update({"X-Registry-Join-Code": record.code,
                             "X-Registry-Regno": record.regno,
                             "X-Registry-Join-Purpose": record.purpose,
                             "X-Registry-Join-Expires": record.expires.isoformat()})
    response.cache_control = "no-store"
    return response


def _upload(request, upload, contact_name, email):
    """Check the signed form and join; a refusal counts against the address and leaves the
    store as it was (but for that count). Returns join.Joined; raises JoinRefused."""
    postman = _postman(request)
    _check_throttle(request)
    contact_name, email = join.validate_contact(contact_name, email)
    try:
        if upload is None or not hasattr(upload, "file"):
            raise join.JoinRefused("FILE_REQUIRED", _("Choose the signed form's file."),
                                   field="file", status=400)
        limit = max_pdf_size(request)
        data = upload.file.read(limit + 1)
        form = join.check_upload(request.signature_gate, data)
        joined = join.accept(request.root, form, contact_name, email, request.now,
                             language=request.locale_name,
                             limits=account_limits(request.registry.settings))
    except RegistryError:
        _count_attempt(request)
        raise
    _mail_link(request, postman, joined)
    return joined


def _mail_link(request, postman, joined):
    link = postman.link(f"/@@set-password/{joined.token}")
    if joined.outcome == "joined":
        subject = _("join-mail-subject", default="${name} has joined the registry",
                    mapping={"name": joined.org.name})
    else:
        subject = _("join-reset-mail-subject", default="The registry account of ${name}",
                    mapping={"name": joined.org.name})
    postman.send(request.root, joined.user, subject, [
        subject,
        _("join-mail-login", default="The account's login: ${login}",
          mapping={"login": joined.user.login}),
        _("join-mail-link", default="Set the account's password within 3 days, once, at:"),
        link,
    ])


def _reasons(request, exc):
    translate = request.localizer.translate
    return [{"code": code, "message": translate(REASON_MESSAGES[code])}
            for code in getattr(exc, "reasons", ()) if code in REASON_MESSAGES]


# JSON ------------------------------------------------------------------------------------

@view_config(context=Site, name="@join", request_method="GET",
             permission=NO_PERMISSION_REQUIRED)
def join_form_json(request):
    if tuple(request.subpath) != ("form",):
        raise NotFound("NOT_FOUND", _("There is nothing at this address."))
    return _form_response(request, request.GET.get("regno", ""))


@view_config(context=Site, name="@join", request_method="POST", renderer="json",
             permission=NO_PERMISSION_REQUIRED, require_csrf=False)
def join_json(request):
    """Upload the signed form (multipart `file`, `contact_name`, `email`) -> 201 with the new
    organisation (200 when it recovered a registered one's account), or 4xx with
    {"error": {"code", "message", "field"}, "reasons": [{"code", "message"}]}. No session
    or credential rides on this request, so there is no CSRF to check."""
    if request.subpath:
        raise NotFound("NOT_FOUND", _("There is nothing at this address."))
    _postman(request)  # without mail there is no join: its input is not judged either
    body = read_form(request, "joinRegistry")
    try:
        joined = _upload(request, body.get("file"), body.get("contact_name", ""),
                         body.get("email", ""))
    except join.JoinRefused as refused:
        request.response.status = refused.status
        translate = request.localizer.translate
        error = {"code": refused.code, "message": translate(refused.message)}
        if refused.field:
            error["field"] = refused.field
        return {"error": error, "reasons": _reasons(request, refused)}
    request.response.status = 201 if joined.outcome == "joined" else 200
    request.response.location = request.resource_url(joined.org)
    return {**joined.org.as_json(request), "outcome": joined.outcome,
            "login": joined.user.login, "email": joined.user.email}


# HTML ------------------------------------------------------------------------------------

def _page(request, **values):
    return {"available": request.registry.queryUtility(IPostman) is not None,
            "refusal": None, "reasons": [], "joined": None, "values": {}, **values}


@view_config(context=Site, name="join", request_method="GET",
             renderer="registry:templates/join.pt", permission=NO_PERMISSION_REQUIRED)
def join_page(request):
    return _page(request)


@view_config(context=Site, name="join", request_method="POST",
             renderer="registry:templates/join.pt", permission=NO_PERMISSION_REQUIRED)
def join_submit(request):
    """The page's two forms: `action=form` downloads a form; `action=upload` joins."""
    post = request.POST
    values = {name: post.get(name, "") for name in ("regno", "contact_name", "email")}
    try:
        if post.get("action") == "form":
            return _form_response(request, values["regno"])
        joined = _upload(request, post.get("file"), values["contact_name"], values["email"])
    except RegistryError as exc:
        request.response.status = exc.status if 400 <= exc.status < 500 else 400
        request.response.headers.update(getattr(exc, "headers", {}))
        if not isinstance(exc, join.JoinRefused):
            request.tm.doom()
        return _page(request, refusal=request.localizer.translate(exc.message),
                     reasons=_reasons(request, exc), values=values)
    return _page(request, joined=joined)


@view_config(context=Site, name="set-password", renderer="registry:templates/form.pt",
             permission=NO_PERMISSION_REQUIRED)
def set_password_page(request):
    """A mailed one-time link: set the account's password, then be signed in."""
    site = request.root
    token = request.subpath[0] if len(request.subpath) == 1 else ""
    if site.password_links.login_for(token, request.now) is None:
        raise NotFound("LINK_INVALID", _("This link is not valid: it was used, replaced by a "
                                         "newer one or has expired."))
    form = make_form(request, NewPasswordSchema(),
                     buttons=(deform.Button("save", _("Set the password")),),
                     formid="set-password-form")

    def save(values):
        login = site.password_links.use(token, request.now)
        set_password(site, login, site.users[login], values["password"])
        return login

    outcome, result = run_form(request, form, save)
    if outcome == "ok":
        return HTTPFound(location=request.resource_url(site), headers=remember(request, result))
    return {"title": _("Set your password"), "form": result}
