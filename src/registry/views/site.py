"""Views on the Site: home, sign-in and sign-out, language, the OpenAPI document."""
import json
from datetime import datetime, timezone

import colander
import deform
from pyramid.httpexceptions import HTTPFound
from pyramid.response import Response
from pyramid.security import NO_PERMISSION_REQUIRED, forget, remember
from pyramid.view import view_config

from registry.views import desk as desk_views

from registry.accounts import log_in
from registry.i18n import LOCALE_COOKIE, LOCALES, _
from registry.resources.site import Site
from registry.security import permissions as P
from registry.security.throttle import IAddressThrottle
from registry.views.api import OPENAPI_PATH
from registry.views.forms import FORM_REFUSED, CSRFSchema, make_form



class LoginSchema(CSRFSchema):
    login = colander.SchemaNode(colander.String(), title=_("Login"),
                                validator=colander.Length(max=64))
    password = colander.SchemaNode(colander.String(), title=_("Password"),
                                   widget=deform.widget.PasswordWidget(),
                                   validator=colander.Length(max=1024))
    came_from = colander.SchemaNode(colander.String(), widget=deform.widget.HiddenWidget(),
                                    missing="")


def safe_came_from(request, value):
    """Return `value` if it is a path on this site, else the home page (no open redirect)."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return request.application_url + value
    return request.resource_url(request.root)


def landing(request, user, came_from):
    """Where signing in leads: where the visitor was going, else (nowhere, or the site's home)
    the home page of the account's organisation, with what needs doing there."""
    org = request.root.orgs.get(user.org)
    if came_from in ("", "/") and org is not None:
        return request.resource_url(org)
    return safe_came_from(request, came_from)


@view_config(context=Site, renderer="registry:templates/home.pt", permission=P.VIEW,
             accept="text/html")
def home(request):
    account = request.account
    org = request.root.orgs.get(account.org)
    return {
        "org": org,
        "counts": {name: len(org[name]) for name in ("inbox", "outbox", "handovers")},
        "desk": desk_views.home_counts(request, org),
    }


@view_config(context=Site, renderer="json", permission=P.VIEW, accept="application/json")
def home_json(request):
    site, account = request.root, request.account
    return {
        "@id": request.resource_url(site),
        "@type": "Site",
        "account": account.as_json(request),
        "organisation": site.orgs[account.org].as_json(request),
        "links": {
            "orgs": request.resource_url(site.orgs),
            "openapi": request.resource_url(site, "@openapi.json"),
        },
    }


@view_config(context=Site, name="login", renderer="registry:templates/login.pt",
             permission=NO_PERMISSION_REQUIRED)
def login(request):
    schema = LoginSchema()
    form = make_form(request, schema, buttons=(deform.Button("submit", _("Sign in")),),
                     formid="login-form")
    came_from = request.params.get("came_from", "")
    message = None
    if request.method == "POST":
        try:
            values = form.validate(request.POST.items())
        except deform.ValidationFailure as failure:
            request.response.status = FORM_REFUSED
            return {"form": failure.render(), "message": None}
        address = request.client_address
        throttle = request.registry.getUtility(IAddressThrottle)
        failures = request.root.sign_in_failures
        wait = throttle.retry_after(failures, address)
        if wait:
            request.response.status = 429
            request.response.headers["Retry-After"] = str(wait)
            message = _("too-many-logins", default="Too many failed sign-ins from your "
                        "address. Try again in ${minutes} min.",
                        mapping={"minutes": max(1, round(wait / 60))})
        else:
            user, locked = log_in(request.root, values["login"], values["password"], address)
            if user is not None:
                throttle.succeeded(failures, address)
                headers = remember(request, user.login)
                return HTTPFound(location=landing(request, user, values["came_from"]),
                                 headers=headers)
            throttle.failed(failures, address)
            request.response.status = 403
            if locked:
                minutes = max(1, round((locked - datetime.now(timezone.utc)).total_seconds() / 60))
                message = _("account-locked", default="Too many failed sign-ins: this account "
                            "is locked for ${minutes} min.", mapping={"minutes": minutes})
            else:
                message = _("Wrong login or password.")
        came_from = values["came_from"]
    return {"form": form.render({"came_from": came_from}), "message": message}


@view_config(context=Site, name="logout", request_method="POST", permission=P.VIEW)
def logout(request):
    """Sign out: the session ends in the store too (a saved cookie is void), audited."""
    account = request.account
    if account is not None:
        request.root.audit.append(account.login, "logout", target=f"/users/{account.login}",
                                  org=account.org)
    headers = forget(request)
    return HTTPFound(location=request.resource_url(request.root, "@@login"), headers=headers)


@view_config(context=Site, name="set-language", request_method="POST",
             permission=NO_PERMISSION_REQUIRED)
def set_language(request):
    lang = request.POST.get("lang")
    back = safe_came_from(request, request.POST.get("came_from", ""))
    response = HTTPFound(location=back)
    if lang in LOCALES:
        response.set_cookie(LOCALE_COOKIE, lang, max_age=365 * 24 * 3600, samesite="Lax",
                            httponly=True)
    return response


@view_config(context=Site, name="@openapi.json", permission=NO_PERMISSION_REQUIRED)
@view_config(context=Site, name="@openapi", permission=NO_PERMISSION_REQUIRED)
def openapi(request):
    document = json.loads(OPENAPI_PATH.read_text(encoding="utf-8"))
    document["servers"] = [{"url": request.application_url}]
    return Response(json.dumps(document, ensure_ascii=False, indent=1),
                    content_type="application/json", charset="utf-8")
