"""Views on an organisation's handovers folder (archive packages arrive with the handover)."""
from pyramid.view import view_config

from registry.i18n import _
from registry.resources.organisation import Handovers
from registry.security import permissions as P
from registry.views.api import batch_params, batching


@view_config(context=Handovers, renderer="registry:templates/mailbox.pt",
             permission=P.VIEW_MAILBOX, accept="text/html")
def handovers(request):
    start, size = batch_params(request)
    return {"org": request.context.__parent__, "title": _("Handover"),
            "empty": _("No archive handover package has been made yet."),
            "items": request.context.page(start, size), "total": len(request.context)}


@view_config(context=Handovers, renderer="json", permission=P.VIEW_MAILBOX,
             accept="application/json")
def handovers_json(request):
    start, size = batch_params(request)
    items = request.context.page(start, size + 1)
    total = len(request.context)
    return {"@id": request.url, "@type": "Handovers",
            "items": [{"@id": request.resource_url(item)} for item in items[:size]],
            "items_total": total,
            "batching": batching(request, start, size, total, len(items) > size)}
