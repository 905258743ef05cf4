"""JSON API conventions (after plone.restapi): batching, request bodies and errors."""
from pathlib import Path
from urllib.parse import urlencode

from registry.errors import RegistryError
from registry.i18n import _

DEFAULT_BATCH = 25
MAX_BATCH = 200
MAX_START = 10 ** 7
#: The OpenAPI document describing this API.
OPENAPI_PATH = Path(__file__).with_name("openapi.json")


def batch_params(request, default=DEFAULT_BATCH):
    """Return (b_start, b_size) from the query string. Raises RegistryError(BAD_BATCH) for a
    value that is not a whole number in range (b_start >= 0, 1 <= b_size <= MAX_BATCH), as the
    OpenAPI document says."""
    def as_int(name, fallback, low, high):
        value = request.params.get(name, "")
        if value == "":
            return fallback
        if value.isascii() and value.isdigit() and low <= int(value) <= high:
            return int(value)
        raise RegistryError("BAD_BATCH", _("bad-batch", default="'${field}' must be a whole "
                            "number from ${low} to ${high}.",
                            mapping={"field": name, "low": low, "high": high}), field=name)

    return as_int("b_start", 0, 0, MAX_START), as_int("b_size", default, 1, MAX_BATCH)


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
