"""The door: what a request must be before a view reads it.

A tween refuses, before any view runs, what no view could read: a method the registry does not
serve (405), an address that is not UTF-8 (400 BAD_ENCODING), a body over the size cap (413
TOO_LARGE, judged by its Content-Length before a byte is read), a form body that cannot be
parsed (400 INVALID_FORM). A JSON view reads its body with `read_json(request, operation)`:
only the media types the OpenAPI document names for that operation (415), at most
MAX_JSON_BYTES, nested at most MAX_DEPTH deep (checked before parsing), UTF-8, shaped as the
document's schema says (400 INVALID_FIELD), every string free of what `registry.safetext`
refuses (400 INVALID_TEXT). The document is the one served at /@openapi.json, so what it says
and what the server enforces cannot drift.
"""
import json
import re
from functools import lru_cache

from openapi_schema_validator import OAS30Validator
from pyramid.tweens import EXCVIEW
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from registry.errors import RegistryError
from registry.i18n import _
from registry.safetext import check_text
from registry.signatures import GateConfig
from registry.views.api import OPENAPI_PATH

MAX_JSON_BYTES = 64 * 1024
MAX_DEPTH = 16
#: Room for a multipart envelope and its text fields around the largest PDF.
MULTIPART_ROOM = 256 * 1024
METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH")
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
#: The schema keywords the door judges: a body's shape. Values (a registration number's
#: digits, a kind, a date) are the registry's rules, which answer their own stable codes.
SHAPE_KEYWORDS = frozenset({"type", "required"})
_DOCUMENT_URI = "urn:registry:openapi"
_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"', re.S)
_BRACKETS = re.compile(r"[\[\]{}]")


class MethodNotAllowed(RegistryError):
    status = 405

    def __init__(self, allowed):
        super().__init__("METHOD_NOT_ALLOWED",
                         _("The registry does not answer this HTTP method here."))
        self.headers = {"Allow": ", ".join(allowed)}


def includeme(config):
    # Under the exception view tween, so that a refusal is answered like any other error.
    config.add_tween("registry.views.intake.intake_tween_factory", under=EXCVIEW)


def intake_tween_factory(handler, registry):
    body_cap = GateConfig.from_settings(registry.settings).max_size + MULTIPART_ROOM

    def intake_tween(request):
        check_request(request, body_cap)
        return handler(request)

    return intake_tween


def check_request(request, body_cap):
    """Refuse what no view could read (see the module's docstring); return None."""
    try:
        request.path_info, request.GET  # decoded here, once
    except UnicodeDecodeError:
        raise RegistryError("BAD_ENCODING", _("The address is not valid UTF-8.")) from None
    # An API address answers the methods the document declares for it; any address, METHODS.
    allowed = documented_methods(request.path_info) or METHODS
    if request.method not in allowed:
        raise MethodNotAllowed(allowed)
    if (request.content_length or 0) > body_cap:
        raise too_large(body_cap)
    if request.content_type in FORM_TYPES and request.method in ("POST", "PUT", "PATCH"):
        _parse_form(request)


def too_large(limit):
    return RegistryError("TOO_LARGE", _("body-too-large", default="The request body is larger "
                                        "than ${kb} KB.", mapping={"kb": limit // 1024}),
                         status=413)


def _parse_form(request):
    multipart = request.content_type == "multipart/form-data"
    boundary = request.headers["Content-Type"].partition("boundary=")[2].strip().strip('"')
    if multipart and not boundary:
        raise _bad_form()
    try:
        request.POST.items()
    except (ValueError, LookupError):  # webob's and the multipart parser's errors
        raise _bad_form() from None
    # A multipart body whose parts use another boundary parses as empty: it was not understood.
    if multipart and not request.POST and \
            b"--" + boundary.encode("latin-1", "replace") not in request.body:
        raise _bad_form()


def _bad_form():
    return RegistryError("INVALID_FORM", _("The form data cannot be read (a multipart body "
                                           "needs its boundary and at least one part)."))


# The OpenAPI document's request bodies -----------------------------------------------------

@lru_cache(maxsize=1)
def _document():
    document = json.loads(OPENAPI_PATH.read_text(encoding="utf-8"))
    operations = {}
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if isinstance(operation, dict) and "operationId" in operation:
                operations[operation["operationId"]] = (path, method, operation)
    registry = Registry().with_resource(
        _DOCUMENT_URI, Resource.from_contents(document, default_specification=DRAFT4))
    paths = []
    for path, item in document["paths"].items():
        # A parameter never starts with "@": /orgs/1/outbox/@@new is a page, not a letter.
        pattern = re.sub(r"\\\{\w+\\\}", "[^/@][^/]*", re.escape(path.rstrip("/")))
        methods = [m.upper() for m in item if m != "parameters"]
        if "GET" in methods:
            methods.append("HEAD")
        paths.append((re.compile(pattern + "/?"), tuple(methods)))
    return operations, registry, paths


def documented_methods(path_info):
    """The methods the document declares for the path `path_info` matches; () if none."""
    for pattern, methods in _document()[2]:
        if pattern.fullmatch(path_info):
            return methods
    return ()


def media_types(operation):
    """The request media types the document names for `operation` (an operationId)."""
    _path, _method, op = _document()[0][operation]
    return tuple(op.get("requestBody", {}).get("content", {}))


def _validator(operation, media_type):
    path, method, op = _document()[0][operation]
    pointer = "/".join(part.replace("~", "~0").replace("/", "~1") for part in (
        "paths", path, method, "requestBody", "content", media_type, "schema"))
    return OAS30Validator({"$ref": f"{_DOCUMENT_URI}#/{pointer}"}, registry=_document()[1])


def require_media_type(request, operation):
    """Raise 415 UNSUPPORTED_MEDIA_TYPE unless the request's body is of a media type the
    document names for `operation` (JSON when the operation is None)."""
    allowed = media_types(operation) if operation else ("application/json",)
    if request.content_type not in allowed:
        raise RegistryError("UNSUPPORTED_MEDIA_TYPE",
                            _("unsupported-media-type", default="Send this as ${types}.",
                              mapping={"types": " or ".join(allowed)}), status=415)


def read_json(request, operation=None, optional=False):
    """The request's JSON object for `operation` (an operationId of the document; None for an
    endpoint the document does not describe: no shape check), checked at the door (module
    docstring). With `optional`, an empty body reads as {}. Raises RegistryError (400, 413,
    415)."""
    if optional and not request.content_length and not request.body:
        return {}
    require_media_type(request, operation)
    if (request.content_length or 0) > MAX_JSON_BYTES:
        raise too_large(MAX_JSON_BYTES)
    # From the start of the body: a request replayed after a conflict reads it again.
    request.make_body_seekable()
    raw = request.body_file.read(MAX_JSON_BYTES + 1)
    if len(raw) > MAX_JSON_BYTES:
        raise too_large(MAX_JSON_BYTES)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise RegistryError("BAD_ENCODING", _("The request body is not valid UTF-8.")) from None
    if _depth(text) > MAX_DEPTH:
        raise RegistryError("TOO_DEEP", _("json-too-deep", default="The JSON is nested more "
                                          "than ${depth} levels deep.",
                                          mapping={"depth": MAX_DEPTH}))
    try:
        body = json.loads(text, parse_constant=_no_constant)
    except ValueError:
        raise RegistryError("INVALID_JSON", _("The request body is not valid JSON.")) from None
    if not isinstance(body, dict):
        raise RegistryError("INVALID_JSON", _("The request body must be a JSON object."))
    if operation:
        check_shape(request, operation, "application/json", body)
    _check_strings(body, "")
    return body


def read_form(request, operation):
    """The multipart fields of `operation` as {name: str | [str] | upload}, checked like a
    JSON body: each field as the document's schema says, text as `safetext` says. Fields the
    schema does not name are left out."""
    require_media_type(request, operation)
    schema = _document()[0][operation][2]["requestBody"]["content"]["multipart/form-data"][
        "schema"]
    fields, uploads = {}, {}
    for name, prop in schema["properties"].items():
        values = request.POST.getall(name)
        if not values:
            continue
        if prop.get("format") == "binary":
            if not hasattr(values[0], "file"):
                raise _invalid_field(request, name, "type", "file")
            uploads[name] = values[0]
            continue
        if any(hasattr(value, "file") for value in values):
            raise _invalid_field(request, name, "type", prop.get("type"))
        fields[name] = values if prop.get("type") == "array" else values[0]
    check_shape(request, operation, "multipart/form-data", fields)
    _check_strings(fields, "")
    return {**fields, **uploads}


def check_shape(request, operation, media_type, body):
    """Raise 400 INVALID_FIELD at the first place `body` is not shaped as the document says."""
    errors = [error for error in _validator(operation, media_type).iter_errors(body)
              if error.validator in SHAPE_KEYWORDS]
    if errors:
        error = min(errors, key=lambda e: list(e.absolute_path))
        path = ".".join(str(part) for part in error.absolute_path)
        if error.validator == "required":
            path = ".".join(filter(None, [path, error.message.split("'")[1]]))
        raise _invalid_field(request, path, error.validator, error.validator_value)


TYPE_TITLES = {
    "string": _("json-type-string", default="a string"),
    "array": _("json-type-array", default="a list"),
    "object": _("json-type-object", default="an object"),
    "integer": _("json-type-integer", default="a whole number"),
    "number": _("json-type-number", default="a number"),
    "boolean": _("json-type-boolean", default="true or false"),
    "file": _("json-type-file", default="a file"),
}


def _invalid_field(request, path, keyword, expected):
    if keyword == "required":
        message = _("field-required", default="'${field}' is required.", mapping={"field": path})
    else:
        message = _("field-wrong-type", default="'${field}' must be ${type}.",
                    mapping={"field": path, "type": request.localizer.translate(
                        TYPE_TITLES.get(expected, expected))})
    return RegistryError("INVALID_FIELD", message, field=path or None)


def _depth(text):
    """How deep the JSON `text` nests arrays and objects (strings skipped), without parsing."""
    depth = deepest = 0
    for match in _BRACKETS.finditer(_STRINGS.sub("", text)):
        depth += 1 if match.group() in "[{" else -1
        deepest = max(deepest, depth)
    return deepest


def _no_constant(name):
    raise ValueError(name)  # NaN, Infinity: not JSON


def _check_strings(value, path):
    if isinstance(value, str):
        check_text(value, path or "body")
    elif isinstance(value, dict):
        for key, item in value.items():
            check_text(key, path or "body")
            _check_strings(item, f"{path}.{key}" if path else key)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check_strings(item, f"{path}.{index}" if path else str(index))
