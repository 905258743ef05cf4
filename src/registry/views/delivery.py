"""Views on deliveries (the recipient's side): the inbox, a delivered letter, its PDF."""
from pyramid.httpexceptions import HTTPFound
from pyramid.view import view_config

from registry import exchange
from registry.errors import RegistryError
from registry.i18n import _
from registry.resources.letter import Delivery
from registry.resources.organisation import Inbox
from registry.security import permissions as P
from registry.signatures import REASON_MESSAGES
from registry.views import listing
from registry.views.api import batching
from registry.views.listing import Column, number_key, text_key
from registry.workflow import state_titles, transition_titles
from registry.views import desk as desk_views
from registry.views.desk import _task, form_options
from registry.views.forms import flash
from registry.views.letter import (
    CONFIRMATIONS,
    DELIVERY_STATES,
    end_of_life,
    pdf_response,
    fire_from_form,
    verdict_checks,
)
from registry.views.thread import thread_values
from registry.views.evidence import receipt_rows
from registry.views.transitions import refused_page, workflow_context

CHANNEL_TITLES = {
    "post": _("channel-post", default="By post"),
    "hand": _("channel-hand", default="By hand"),
    "email": _("channel-email", default="By e-mail"),
    "fax": _("channel-fax", default="By fax"),
}
INBOX_TABS = [
    ("delivered", _("tab-to-register", default="To register"), ("delivered",)),
    ("registered", _("tab-registered", default="Registered"), ("registered",)),
    ("rejected", _("tab-rejected", default="Rejected"), ("rejected",)),
    ("archived", _("tab-archived", default="Archived"), ("handed_over", "disposed")),
    ("all", _("tab-all", default="All"), DELIVERY_STATES),
]


def inbox_columns(request):
    """The inbox's columns, in the order shown (see registry.views.listing)."""
    orgs, users = request.root.orgs, request.root.users

    def sender(d):
        return d.letter.sender_name if d.on_paper else (
            orgs[d.sender].name if d.sender in orgs else d.sender)

    def open_task(d):
        return d.task if d.task is not None and d.task.state == "open" else None

    def executor(d):
        login = d.task.executor if d.task is not None else None
        user = users.get(login) if login else None
        return (user.fullname or user.login) if user is not None else login

    return [
        Column("received", _("Received")),
        Column("sender", _("From"), lambda d: text_key(sender(d))),
        Column("subject", _("Subject"), lambda d: text_key(d.letter.subject)),
        Column("their_number", _("Their number"), lambda d: number_key(d.letter.outgoing_number)),
        Column("our_number", _("Our number"),
               lambda d: (d.number_year, d.number_seq) if d.number_seq else None),
        Column("state", _("State"), lambda d: d.state),
        Column("executor", _("Executor"), lambda d: text_key(executor(d))),
        Column("due", _("list-due", default="Due date"), lambda d: open_task(d).due if open_task(d) and open_task(d).due
               else None),
    ], sender, executor


@view_config(context=Inbox, renderer="registry:templates/inbox.pt", permission=P.VIEW_MAILBOX,
             accept="text/html")
def inbox(request):
    columns, sender, executor = inbox_columns(request)
    selection, error = listing.choose(request, INBOX_TABS, columns)
    page = selection.read(request.context)
    return {"org": request.context.__parent__, "columns": columns, "deliveries": page.items,
            "state_titles": state_titles(), "sender_name": sender, "executor_name": executor,
            "can_register_paper": bool(request.has_permission(P.REGISTER_PAPER, request.context)),
            **listing.list_values(request, selection, page, request.context, error),
            **desk_views.urgency_marks(request)}


@view_config(context=Inbox, renderer="json", permission=P.VIEW_MAILBOX,
             accept="application/json", request_method="GET")
def inbox_json(request):
    states = [s for s in request.params.getall("state") if s] or list(DELIVERY_STATES)
    selection = listing.Selection(request, INBOX_TABS, inbox_columns(request)[0], states=states)
    page = selection.read(request.context)
    deliveries = page.items
    return {"@id": request.url, "@type": "Inbox",
            "items": [{"@id": request.resource_url(d), "id": d.__name__, "state": d.state,
                       "sender": d.sender, "subject": d.letter.subject,
                       "outgoing_number": d.letter.outgoing_number,
                       "incoming_number": d.incoming_number,
                       "delivered_at": d.delivered_at.isoformat(),
                       **d.task_json(request)} for d in deliveries],
            **page.json(), "counts": listing.state_counts(request.context, DELIVERY_STATES),
            "batching": batching(request, selection.start, selection.size, page.total,
                                 page.more, listing.last_id(selection, page))}


def delivery_page(request, refusals=None, **extra):
    delivery = request.context
    ctx = workflow_context(request)
    orgs = request.root.orgs
    members = [u for u in request.root.users.for_org(delivery.recipient) if u.active]
    values = {
        "end_of_life": end_of_life(request, delivery),
        "delivery": delivery,
        "letter": delivery.letter,
        "sender": orgs.get(delivery.sender),
        "recipient": orgs.get(delivery.recipient),
        "state_titles": state_titles(),
        "transition_titles": transition_titles(),
        "confirmations": CONFIRMATIONS,
        "transitions": exchange.offered(delivery, ctx),
        "reason_messages": REASON_MESSAGES,
        "checks": verdict_checks,
        "refusals": refusals or [],
        "members": members,
        "can_report": bool(request.has_permission(P.REPORT_DELIVERY, delivery)),
        "can_reply": delivery.state == "registered" and bool(
            request.has_permission(P.DRAFT_LETTER, orgs[delivery.recipient]["outbox"])),
    }
    values.update(thread_values(request, delivery))
    values["receipts"] = receipt_rows(request, delivery)
    values["desk"] = desk_views.panel(request, delivery)
    values["channel_titles"] = CHANNEL_TITLES
    values.update(extra)
    return values


@view_config(context=Delivery, renderer="registry:templates/delivery.pt",
             permission=P.VIEW_DELIVERY, accept="text/html")
def delivery_view(request):
    return delivery_page(request)


@view_config(context=Delivery, name="pdf", permission=P.VIEW_DELIVERY)
@view_config(context=Delivery, name="@file", permission=P.VIEW_DELIVERY, request_method="GET")
def delivery_pdf(request):
    """The delivered letter's PDF: the sender's stored file itself, byte for byte."""
    return pdf_response(request, request.context.letter, request.context)


@view_config(context=Delivery, name="workflow", renderer="registry:templates/delivery.pt",
             permission=P.VIEW_DELIVERY, request_method="POST")
def workflow_form(request):
    """The transition buttons: fire the named transition; on refusal show every reason."""
    return fire_from_form(request, delivery_page)


@view_config(context=Delivery, name="task", renderer="registry:templates/delivery.pt",
             permission=P.VIEW_DELIVERY, request_method="POST")
def task_form(request):
    """A task transition from the delivery page; a refusal shows every reason there."""
    delivery = request.context
    name = request.POST.get("transition", "")
    try:
        entry = exchange.transition(_task(delivery), name, workflow_context(
            request, request.POST.get("comment", ""), form_options(request.POST)))
    except RegistryError as exc:  # TransitionRefused too
        return refused_page(request, delivery_page, exc)
    flash(request, _("transition-done", default="Done: ${transition}.",
                     mapping={"transition": transition_titles("task")[entry.transition]}))
    return HTTPFound(location=request.resource_url(delivery))
