"""Exception views: what a refused, unknown or expired request gets, in HTML or JSON."""
from pyramid.exceptions import BadCSRFToken
from pyramid.httpexceptions import HTTPFound
from pyramid.view import exception_view_config, forbidden_view_config, notfound_view_config
from ZODB.POSException import ConflictError

from registry.archive.handover import Handover
from registry.errors import RegistryError
from registry.i18n import _
from registry.resources.letter import Delivery, Letter
from registry.resources.organisation import Handovers, Organisation
from registry.resources.site import Site
from registry.resources.user import User
from registry.security import permissions as P
from registry.views.api import error_body, wants_json


def _error(request, status, code, message, field=None):
    request.response.status = status
    if wants_json(request):
        request.override_renderer = "json"
        return error_body(code, request.localizer.translate(message), field)
    request.override_renderer = "registry:templates/error.pt"
    return {"status": status, "message": message}


def _not_a_party(request):
    """True when the refused request is about a letter or delivery its organisation has no
    part in: those answer 404, so that a URL tells an outsider nothing."""
    context = getattr(request, "context", None)
    if isinstance(context, Letter):
        return not request.has_permission(P.VIEW_LETTER, context)
    if isinstance(context, Delivery):
        return not request.has_permission(P.VIEW_DELIVERY, context)
    if isinstance(context, (Handovers, Handover)):
        return not request.has_permission(P.VIEW_MAILBOX, context)
    if isinstance(context, User) and request.view_name in ("notifications", "@notifications"):
        # One's notifications are one's own: nobody else learns that the page exists.
        return not request.has_permission(P.OWN_NOTIFICATIONS, context)
    if isinstance(context, Organisation) and request.view_name in DESK_VIEWS:
        return not request.has_permission(P.VIEW_MAILBOX, context)
    if isinstance(context, Site) and request.view_name in STATS_VIEWS:
        # The city's statistics are the operator's: nobody else learns that they exist.
        return not request.has_permission(P.VIEW_STATS, context)
    return False


#: An organisation's pages that show its letters: an outsider is told nothing (404).
DESK_VIEWS = ("tasks", "control", "@tasks")
#: The site's statistics pages (registry.views.dashboard).
STATS_VIEWS = ("stats", "@stats")


@forbidden_view_config(renderer="json")
def forbidden(request):
    if request.account is not None and _not_a_party(request):
        return notfound(request)
    if request.account is None:
        if wants_json(request):
            request.response.headers["WWW-Authenticate"] = 'Bearer realm="registry"'
            return _error(request, 401, "UNAUTHORIZED", _("Sign in or send an API token."))
        login_url = request.resource_url(request.root, "@@login",
                                         query={"came_from": request.path_qs})
        return HTTPFound(location=login_url)
    return _error(request, 403, "FORBIDDEN", _("You do not have permission to do this here."))


@notfound_view_config(renderer="json")
def notfound(request):
    return _error(request, 404, "NOT_FOUND", _("There is nothing at this address."))


@exception_view_config(BadCSRFToken, renderer="json")
def bad_csrf(request):
    return _error(request, 400, "CSRF_FAILED",
                  _("The form had expired or came from elsewhere; nothing was changed. "
                    "Reload the page and try again."))


@exception_view_config(ConflictError, renderer="json", last_retry_attempt=True)
def busy(request):
    """Still conflicting after every replay (pyramid_retry): many writers on the same records at
    once, e.g. one organisation sending from several desks. Nothing was changed; say so."""
    request.response.headers["Retry-After"] = "1"
    return _error(request, 503, "BUSY",
                  _("The registry is busy with the same records right now; nothing was "
                    "changed. Try again in a moment."))


@exception_view_config(RegistryError, renderer="json")
def registry_error(request):
    exc = request.exception
    request.response.headers.update(getattr(exc, "headers", {}))
    return _error(request, exc.status, exc.code, exc.message, exc.field)
