"""Delivery evidence on a letter or a delivery (registry.receipts): the list, as JSON
(`GET <item>/@evidence`) and on the item's page, and each receipt's files:
`@evidence/<id>.pdf` (the sealed PDF), `@evidence/<id>.json` (the facts, byte for byte as
signed) and `@evidence/<id>.json.p7s` (the seal's detached CMS signature over them). Whoever
may view the item sees them; anybody else gets 404 like for the item itself."""
from pyramid.response import Response
from pyramid.view import view_config

from registry.errors import NotFound
from registry.i18n import _
from registry.receipts import EVENT_TITLES, visible_receipts
from registry.resources.letter import Delivery, Letter
from registry.security import permissions as P

#: A receipt's files: URL suffix -> (Receipt part, media type).
PARTS = {".pdf": ("pdf", "application/pdf"),
         ".json": ("json", "application/json"),
         ".json.p7s": ("signature", "application/pkcs7-signature")}


def receipt_json(request, item, receipt):
    def url(suffix):
        return request.resource_url(item, "@evidence", receipt.id + suffix)

    return {"@id": request.resource_url(item, "@evidence", receipt.id), "id": receipt.id,
            "event": receipt.event, "time": receipt.time.isoformat(),
            "issued_at": receipt.issued_at.isoformat(), "pdf": url(".pdf"),
            "json": url(".json"), "signature": url(".json.p7s")}


def receipt_rows(request, item):
    """The receipts for the item's page: (title, receipt JSON) in time order."""
    return [(EVENT_TITLES[receipt.event], receipt_json(request, item, receipt))
            for receipt in visible_receipts(item)]


@view_config(context=Letter, name="@evidence", renderer="json", permission=P.VIEW_LETTER,
             request_method="GET")
@view_config(context=Delivery, name="@evidence", renderer="json", permission=P.VIEW_DELIVERY,
             request_method="GET")
def evidence(request):
    """GET <item>/@evidence: the list; <item>/@evidence/<id>[.pdf|.json|.json.p7s]: one
    receipt, or its file."""
    item = request.context
    found = {receipt.id: receipt for receipt in visible_receipts(item)}
    if not request.subpath:
        return [receipt_json(request, item, receipt) for receipt in found.values()]
    name = request.subpath[0] if len(request.subpath) == 1 else ""
    for suffix in sorted(PARTS, key=len, reverse=True):
        if name.endswith(suffix) and name[:-len(suffix)] in found:
            part, media_type = PARTS[suffix]
            response = Response(body=found[name[:-len(suffix)]].read(part),
                                content_type=media_type)
            response.content_disposition = f'attachment; filename="receipt-{name}"'
            response.headers["X-Content-Type-Options"] = "nosniff"
            return response
    if name in found:
        return receipt_json(request, item, found[name])
    raise NotFound("NO_SUCH_RECEIPT", _("There is no such receipt here."))

