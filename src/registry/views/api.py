"""JSON API conventions (after plone.restapi): batching, request bodies and errors."""
from urllib.parse import urlencode

from registry.errors import RegistryError
from registry.i18n import _

DEFAULT_BATCH = 25
MAX_BATCH = 200


def batch_params(request, default=DEFAULT_BATCH):
    """Return (b_start, b_size) from the query string, clamped to sane values."""
    def as_int(name, fallback):
        try:
            return int(request.params.get(name, fallback))
        except (TypeError, ValueError):
            return fallback

    start = max(0, as_int("b_start", 0))
    size = min(MAX_BATCH, max(1, as_int("b_size", default)))
    return start, size


def batching(request, start, size, total, more, last_id=None):
    """The `batching` links of a listing: @id, first, next, prev (absent when meaningless).
    With `last_id` (the last item shown), `next` continues after it (`b_after`): cheap at any
    depth, where `b_start` walks everything before it."""
    def link(b_start, after=None):
        params = {k: v for k, v in request.GET.items() if k != "b_after"}
        params.update(b_start=str(b_start), b_size=str(size))
        if after:
            params["b_after"] = after
        return request.path_url + "?" + urlencode(params)

    links = {"@id": request.url, "first": link(0)}
    if more:
        links["next"] = link(start + size, last_id)
    if start > 0:
        links["prev"] = link(max(0, start - size))
    return links


def error_body(code, message, field=None):
    body = {"error": {"code": code, "message": message}}
    if field:
        body["error"]["field"] = field
    return body


def wants_json(request):
    """True if the client asked for JSON rather than HTML (the Accept header decides)."""
    offers = request.accept.acceptable_offers(["text/html", "application/json"])
    return bool(offers) and offers[0][0] == "application/json"


def json_body(request):
    """The request's JSON object; raises RegistryError(INVALID_JSON) for anything else."""
    try:
        body = request.json_body
    except ValueError:
        raise RegistryError("INVALID_JSON", _("The request body is not valid JSON.")) from None
    if not isinstance(body, dict):
        raise RegistryError("INVALID_JSON", _("The request body must be a JSON object."))
    return body
