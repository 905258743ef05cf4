"""Entering a letter that came on paper: the records manager's form and the JSON API
(`POST /orgs/<regno>/inbox`, multipart)."""
from pyramid.httpexceptions import HTTPFound
from pyramid.view import view_config

from registry import paper
from registry.errors import RegistryError
from registry.i18n import _
from registry.resources.letter import CHANNELS
from registry.resources.organisation import Inbox
from registry.security import permissions as P
from registry.views.delivery import CHANNEL_TITLES
from registry.views.desk import TASK_FIELDS, form_options, register_choices
from registry.views.forms import flash
from registry.views.intake import read_form
from registry.views.letter import max_pdf_size
from registry.views.transitions import workflow_context
from registry.workflow import TransitionRefused

LETTER_FIELDS = ("subject", "sender_name", "sender_address", "sender_reference",
                 "sender_date", "channel")


def _pages(request, limit):
    """The bytes of every `file` part (one PDF, or image pages), at most `limit` in all."""
    pages, left = [], limit + 1
    for upload in request.POST.getall("file"):
        if hasattr(upload, "file"):
            data = upload.file.read(left)
            left -= len(data)
            pages.append(data)
    return pages


def _register(request, fields, options):
    uploads = [u for u in request.POST.getall("file") if hasattr(u, "file")]
    limit = max_pdf_size(request)
    ctx = workflow_context(request, options={**options, "series": fields.get("series", "")})
    return paper.register_paper(request.context.__parent__, _pages(request, limit),
                                uploads[0].filename if uploads else "", fields, ctx, limit)


@view_config(context=Inbox, renderer="json", permission=P.REGISTER_PAPER,
             accept="application/json", request_method="POST")
def register_paper_json(request):
    """Register a paper letter from multipart fields (see the OpenAPI document) -> 201."""
    body = read_form(request, "registerPaperLetter")
    options = {k: body[k] for k in TASK_FIELDS + ("kind",) if body.get(k)}
    try:
        delivery = _register(request, body, options)
    except TransitionRefused as refused:
        raise RegistryError(refused.code, refused.message, status=refused.status) from None
    request.response.status = 201
    request.response.location = request.resource_url(delivery)
    return delivery.as_json(request)


def _form_page(request, refusal=None):
    org = request.context.__parent__
    return {"org": org, "channels": [(c, CHANNEL_TITLES[c]) for c in CHANNELS],
            "desk": register_choices(request, org.regno), "refusal": refusal,
            "values": request.POST if request.method == "POST" else {}}


@view_config(context=Inbox, name="paper", renderer="registry:templates/paper.pt",
             permission=P.REGISTER_PAPER, request_method="GET")
def paper_form(request):
    return _form_page(request)


@view_config(context=Inbox, name="paper", renderer="registry:templates/paper.pt",
             permission=P.REGISTER_PAPER, request_method="POST")
def paper_submit(request):
    fields = {k: request.POST.get(k, "") for k in LETTER_FIELDS + ("series",)}
    options = form_options(request.POST)
    if request.POST.get("kind"):
        options["kind"] = request.POST["kind"]
    try:
        delivery = _register(request, fields, options)
    except (RegistryError, TransitionRefused) as exc:
        request.tm.doom()
        request.response.status = exc.status
        return _form_page(request, refusal=exc.message)
    flash(request, _("paper-registered", default="Registered with number ${number}.",
                     mapping={"number": delivery.incoming_number}))
    return HTTPFound(location=request.resource_url(delivery))
