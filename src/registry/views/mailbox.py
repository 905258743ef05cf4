"""Views on an organisation's inbox, outbox and handovers folders."""
from pyramid.view import view_config

from registry.i18n import _
from registry.resources.organisation import Handovers, Inbox, Outbox
from registry.security import permissions as P
from registry.views.api import batch_params, batching

TITLES = {
    Inbox: (_("Inbox"), _("No letters have been delivered to this organisation yet.")),
    Outbox: (_("Outbox"), _("This organisation has not drafted or sent any letter yet.")),
    Handovers: (_("Handover"), _("No archive handover package has been made yet.")),
}


@view_config(context=Inbox, renderer="registry:templates/mailbox.pt",
             permission=P.VIEW_MAILBOX, accept="text/html")
@view_config(context=Outbox, renderer="registry:templates/mailbox.pt",
             permission=P.VIEW_MAILBOX, accept="text/html")
@view_config(context=Handovers, renderer="registry:templates/mailbox.pt",
             permission=P.VIEW_MAILBOX, accept="text/html")
def mailbox(request):
    start, size = batch_params(request)
    title, empty = TITLES[type(request.context)]
    return {"org": request.context.__parent__, "title": title, "empty": empty,
            "items": request.context.page(start, size), "total": len(request.context)}


@view_config(context=Inbox, renderer="json", permission=P.VIEW_MAILBOX, accept="application/json")
@view_config(context=Outbox, renderer="json", permission=P.VIEW_MAILBOX, accept="application/json")
@view_config(context=Handovers, renderer="json", permission=P.VIEW_MAILBOX,
             accept="application/json")
def mailbox_json(request):
    start, size = batch_params(request)
    items = request.context.page(start, size + 1)
    total = len(request.context)
    return {"@id": request.url, "@type": type(request.context).__name__,
            "items": [{"@id": request.resource_url(item)} for item in items[:size]],
            "items_total": total,
            "batching": batching(request, start, size, total, len(items) > size)}
