"""Views on letters (the sender's side): drafting, the PDF, transitions; HTML and JSON."""
import unicodedata
from email.utils import encode_rfc2231

import colander
import deform
from pyramid.httpexceptions import HTTPFound
from pyramid.response import FileResponse, Response
from pyramid.events import NewResponse, subscriber
from pyramid.view import view_config
from werkzeug.http import dump_options_header

from registry import exchange, verification
from registry.archive import retention
from registry.archive.retention import hold_of, item_key
from registry.errors import RegistryError
from registry.i18n import _
from registry.operations import BLOB_GONE, audit_missing_file
from registry.resources.letter import Delivery, Letter
from registry.resources.organisation import Outbox
from registry.safetext import display_filename
from registry.security import permissions as P
from registry.signatures import GateConfig, REASON_MESSAGES
from registry.views import desk as desk_views
from registry.views import listing
from registry.views.api import batching
from registry.views.listing import Column, number_key, text_key
from registry.views.forms import CSRFSchema, Day, day_widget, flash, make_form, run_form
from registry.views.intake import read_form, read_json, require_media_type, too_large
from registry.views.thread import thread_values
from registry.views.transitions import refused_page, workflow_context
from registry.workflow import TransitionRefused, state_titles, transition_titles
from registry.workflow.engine import object_path
from registry.views.evidence import receipt_rows

#: The question an irreversible transition asks before it is fired (confirm.js).
CONFIRMATIONS = {
    "send": _("confirm-send", default="Send this letter? A sent letter cannot be taken back."),
    "withdraw": _("confirm-withdraw", default="Withdraw this letter from every recipient? "
                  "This cannot be undone."),
    "reject": _("confirm-reject", default="Reject this letter? The sender is told, and this "
                "cannot be undone."),
    "delete": _("confirm-delete", default="Delete this draft and its PDF? This cannot be "
                "undone."),
}
#: A delivery's states, in its workflow's order (the inbox's "All" tab).
DELIVERY_STATES = ("delivered", "registered", "rejected", "handed_over", "disposed")
OUTBOX_STATES = ("draft", "signed", "sent", "received", "withdrawn", "handed_over", "disposed")
OUTBOX_TABS = [
    ("draft", _("tab-drafts", default="Drafts"), ("draft",)),
    ("signed", _("tab-signed", default="Signed"), ("signed",)),
    ("sent", _("tab-sent", default="Sent"), ("sent", "received", "withdrawn")),
    ("archived", _("tab-archived", default="Archived"), ("handed_over", "disposed")),
    ("all", _("tab-all", default="All"), OUTBOX_STATES),
]


class MemoryTempStore(dict):
    """Deform's upload store for one request: an upload is not kept across requests."""

    def preview_url(self, uid):
        return None


@colander.deferred
def _pdf_widget(node, kw):
    return deform.widget.FileUploadWidget(MemoryTempStore(), accept="application/pdf,.pdf")


def _split_regnos(value):
    return [part for part in value.replace(",", " ").replace(";", " ").split() if part]


class DraftSchema(CSRFSchema):
    subject = colander.SchemaNode(colander.String(), title=_("Subject"),
                                  validator=colander.Length(max=exchange.SUBJECT_MAX))
    recipients = colander.SchemaNode(
        colander.String(), title=_("Recipients"),
        description=_("Registration numbers of the recipient organisations, separated by "
                      "spaces or commas. Find them in the box below."),
        widget=deform.widget.TextAreaWidget(rows=2, css_class="recipients-input"))
    response_due = colander.SchemaNode(Day(), title=_("Answer due by"),
                                       missing=None, widget=day_widget)
    in_reply_to = colander.SchemaNode(colander.String(), title=_("In reply to"), missing="",
                                      widget=deform.widget.HiddenWidget())
    series = colander.SchemaNode(colander.String(), title=_("File-plan series"), missing="01",
                                 validator=colander.Length(min=1, max=retention.SERIES_MAX))


class PDFSchema(CSRFSchema):
    pdf = colander.SchemaNode(deform.FileData(), title=_("PDF file"), widget=_pdf_widget)


CHECKS = [
    (_("check-one-signature", default="The file carries exactly one signature"),
     {"NO_SIGNATURE", "MULTIPLE_SIGNATURES"}),
    (_("check-integrity", default="The signed bytes match the signature"),
     {"SIGNATURE_INVALID"}),
    (_("check-unchanged", default="Nothing was changed after signing"),
     {"MODIFIED_AFTER_SIGNING"}),
    (_("check-trusted", default="The certificate was issued by a trusted authority"),
     {"UNTRUSTED_SIGNER"}),
    (_("check-dates", default="The certificate was valid at the check"), {"CERT_EXPIRED"}),
    (_("check-revocation", default="The certificate is not revoked (checked against the CRL)"),
     {"CERT_REVOKED", "REVOCATION_UNKNOWN"}),
    (_("check-signer", default="The signer is the sending organisation"),
     {"SIGNER_ORG_MISMATCH"}),
    (_("check-format", default="The signature format is accepted"), {"NOT_PADES"}),
]
UNREADABLE = {"NOT_PDF", "MALFORMED_PDF", "ENCRYPTED_PDF", "TOO_LARGE", "TIMEOUT"}


def verdict_checks(verdict):
    """What the gate checked, in plain words, each with whether it passed; [] when the file
    could not be read far enough to check a signature."""
    if not verdict or UNREADABLE & set(verdict["reasons"]):
        return []
    reasons = set(verdict["reasons"])
    if reasons & {"NO_SIGNATURE", "MULTIPLE_SIGNATURES"}:
        return [(CHECKS[0][0], False)]
    return [(label, not (reasons & failing)) for label, failing in CHECKS]


def max_pdf_size(request):
    return GateConfig.from_settings(request.registry.settings).max_size


def _recipient_names(request, regnos):
    orgs = request.root.orgs
    return [(regno, orgs[regno].name if regno in orgs else regno) for regno in regnos]


# The outbox --------------------------------------------------------------------------------

def outbox_columns(request):
    """The outbox's columns, in the order shown (see registry.views.listing)."""
    return [
        Column("number", _("Number"), lambda letter: number_key(letter.outgoing_number)),
        Column("subject", _("Subject"), lambda letter: text_key(letter.subject)),
        Column("recipients", _("Recipients"), lambda letter: len(letter.recipients)),
        Column("state", _("State"), lambda letter: letter.state),
        Column("due", _("list-due", default="Due date"), lambda letter: letter.response_due),
        Column("created", _("Created")),
    ]


def delivery_states(letter):
    """How a letter's recipients stand: [(state, count)] in the delivery workflow's order."""
    counts = {}
    for delivery in letter.deliveries.values():
        counts[delivery.state] = counts.get(delivery.state, 0) + 1
    return [(state, counts[state]) for state in DELIVERY_STATES if state in counts]


@view_config(context=Outbox, renderer="registry:templates/outbox.pt", permission=P.VIEW_MAILBOX,
             accept="text/html")
def outbox(request):
    columns = outbox_columns(request)
    selection, error = listing.choose(request, OUTBOX_TABS, columns)
    page = selection.read(request.context)
    return {"org": request.context.__parent__, "columns": columns, "letters": page.items,
            "state_titles": state_titles(), "delivery_states": delivery_states,
            "names": lambda regnos: _recipient_names(request, regnos),
            "can_draft": bool(request.has_permission(P.DRAFT_LETTER, request.context)),
            **listing.list_values(request, selection, page, request.context, error)}


@view_config(context=Outbox, renderer="json", permission=P.VIEW_MAILBOX,
             accept="application/json", request_method="GET")
def outbox_json(request):
    states = [s for s in request.params.getall("state") if s] or list(OUTBOX_STATES)
    selection = listing.Selection(request, OUTBOX_TABS, outbox_columns(request), states=states)
    page = selection.read(request.context)
    return {"@id": request.url, "@type": "Outbox",
            "items": [_letter_summary(request, letter) for letter in page.items],
            **page.json(), "counts": listing.state_counts(request.context, OUTBOX_STATES),
            "batching": batching(request, selection.start, selection.size, page.total,
                                 page.more, listing.last_id(selection, page))}


def _letter_summary(request, letter):
    return {"@id": request.resource_url(letter), "id": letter.__name__, "state": letter.state,
            "subject": letter.subject, "recipients": list(letter.recipients),
            "outgoing_number": letter.outgoing_number, "created": letter.created.isoformat(),
            "response_due": letter.response_due.isoformat() if letter.response_due else None,
            "deliveries": dict(delivery_states(letter))}


@view_config(context=Outbox, name="new", renderer="registry:templates/new_letter.pt",
             permission=P.DRAFT_LETTER)
def new_letter(request):
    org = request.context.__parent__
    form = make_form(request, DraftSchema(), buttons=(deform.Button("save", _("Create draft")),),
                     formid="draft-form")

    def create(values):
        return exchange.create_draft(
            request.root, request.account.login, org, subject=values["subject"],
            recipients=_split_regnos(values["recipients"]), in_reply_to=values["in_reply_to"],
            response_due=values["response_due"], series=values["series"])

    reply = request.params.get("in_reply_to", "")
    original = _answerable(request, org, reply)
    proposed = {"in_reply_to": reply, "series": "01"}
    if original is not None:
        # A reply goes to the original's sender (a paper letter's is outside the registry),
        # under the original's subject.
        proposed.update(recipients=original.sender or "", subject=request.localizer.translate(
            _("reply-subject", default="Re: ${subject}",
              mapping={"subject": original.letter.subject}))[:exchange.SUBJECT_MAX])
    outcome, result = run_form(request, form, create, appstruct=proposed)
    if outcome == "ok":
        flash(request, _("The draft is created. Attach its PDF."))
        return HTTPFound(location=request.resource_url(result))
    return {"title": _("Reply") if original is not None else _("New letter"), "form": result,
            "original": original,
            "sender_name": _sender_name(request, original) if original is not None else None}


def _sender_name(request, delivery):
    """Who sent `delivery`: the organisation, or a paper letter's sender by name."""
    if delivery.on_paper:
        return delivery.letter.sender_name
    return request.root.orgs[delivery.sender].name


def _answerable(request, org, name):
    """The delivery of `org`'s inbox a new draft would answer, if the caller may read it."""
    delivery = org["inbox"].get(name) if name else None
    if delivery is None or not request.has_permission(P.VIEW_DELIVERY, delivery):
        return None
    return delivery


@view_config(context=Outbox, renderer="json", permission=P.DRAFT_LETTER,
             accept="application/json", request_method="POST")
def new_letter_json(request):
    """Start a draft: a JSON object, or multipart/form-data with `file` (the PDF), `subject`,
    `recipients` (repeatable), `in_reply_to`, `due_date` (or `response_due`), `series`.
    Either is checked at the door against the OpenAPI document (registry.views.intake)."""
    if request.content_type == "multipart/form-data":
        body = read_form(request, "createDraft")
    else:
        body = read_json(request, "createDraft")
    upload = body.get("file")
    letter = exchange.create_draft(
        request.root, request.account.login, request.context.__parent__,
        subject=body.get("subject") or "", recipients=body.get("recipients") or [],
        in_reply_to=body.get("in_reply_to"),
        response_due=body.get("response_due") or body.get("due_date"),
        series=body.get("series") or "01")
    if upload is not None:
        limit = max_pdf_size(request)
        exchange.attach_pdf(request.root, request.account.login, letter,
                            upload.file.read(limit + 1), upload.filename, limit)
    request.response.status = 201
    request.response.location = request.resource_url(letter)
    return letter.as_json(request)


# One letter --------------------------------------------------------------------------------

def end_of_life(request, item):
    """What the page says of the item's end of life: the handover record it went with (if the
    viewer may open it), the hold on it, whether its file is kept."""
    org = item.__parent__.__parent__
    record = org["handovers"].get(item.handed_over_in) if item.handed_over_in else None
    letter = item if isinstance(item, Letter) else item.letter
    may_hold = item.state not in ("disposed", "handed_over") and bool(
        request.has_permission(P.MANAGE_RETENTION, org["handovers"]))
    return {"handover": record, "hold": hold_of(item), "key": item_key(item),
            "hold_url": request.resource_url(org["handovers"], "@@hold") if may_hold else None,
            "file_gone": item.state == "disposed" or (letter.pdf is not None
                                                      and letter.pdf.released)}


def letter_page(request, refusals=None, **extra):
    letter = request.context
    ctx = workflow_context(request)
    values = {
        "end_of_life": end_of_life(request, letter),
        "letter": letter,
        "sender": request.root.orgs[letter.org],
        "recipients": _recipient_names(request, letter.recipients),
        "state_titles": state_titles(),
        "transition_titles": transition_titles(),
        "confirmations": CONFIRMATIONS,
        "transitions": exchange.offered(letter, ctx),
        "reason_messages": REASON_MESSAGES,
        "checks": verdict_checks,
        "refusals": refusals or [],
        "can_edit": letter.state == "draft" and bool(request.has_permission(P.EDIT_LETTER,
                                                                            letter)),
        "can_delete": bool(request.has_permission(P.DELETE_LETTER, letter)),
        "edit_form": None,
        "pdf_form": None,
        "reply_to": _reply_to(request, letter),
        # The sender sees when each recipient's answer is due, and whether it is late there.
        **desk_views.urgency_marks(request),
        "can_token_sign": (letter.state == "draft" and letter.pdf is not None
                           and request.token_config is not None
                           and bool(request.has_permission(P.SIGN_LETTER, letter))),
    }
    if values["can_edit"]:
        values["edit_form"] = make_form(
            request, DraftSchema(), buttons=(deform.Button("save", _("Save")),),
            formid="draft-form", action=request.resource_url(letter, "@@edit"),
        ).render({"subject": letter.subject, "recipients": " ".join(letter.recipients),
                  "response_due": letter.response_due, "in_reply_to": letter.in_reply_to or "",
                  "series": letter.series})
        values["pdf_form"] = make_form(
            request, PDFSchema(), buttons=(deform.Button("attach", _("Upload PDF")),),
            formid="pdf-form", action=request.resource_url(letter, "@@pdf-upload"),
        ).render()
    values.update(thread_values(request, letter))
    values["receipts"] = receipt_rows(request, letter)
    values.update(extra)
    return values


def _reply_to(request, letter):
    if not letter.in_reply_to:
        return None
    return request.root.orgs[letter.org]["inbox"].get(letter.in_reply_to)


@view_config(context=Letter, renderer="registry:templates/letter.pt", permission=P.VIEW_LETTER,
             accept="text/html")
def letter_view(request):
    return letter_page(request)


@view_config(context=Letter, renderer="json", permission=P.VIEW_LETTER,
             accept="application/json", request_method="GET")
@view_config(context=Delivery, renderer="json", permission=P.VIEW_DELIVERY,
             accept="application/json", request_method="GET")
def item_json(request):
    """A letter or a delivery as JSON, with the transitions the caller may fire."""
    data = request.context.as_json(request)
    data["transitions"] = [t.name for t in exchange.offered(request.context,
                                                            workflow_context(request))]
    return data


@view_config(context=Letter, renderer="json", permission=P.EDIT_LETTER,
             accept="application/json", request_method="PATCH")
def letter_patch_json(request):
    body = read_json(request, "updateDraft")
    if "due_date" in body:
        body.setdefault("response_due", body.pop("due_date"))
    allowed = {"subject", "recipients", "in_reply_to", "response_due", "series"}
    unknown = set(body) - allowed
    if unknown:
        raise RegistryError("UNKNOWN_FIELD", _("unknown-fields", default="Unknown fields: "
                            "${fields}.", mapping={"fields": ", ".join(sorted(unknown))}))
    exchange.update_draft(request.root, request.account.login, request.context, **body)
    return request.context.as_json(request)


@view_config(context=Letter, name="delete", permission=P.DELETE_LETTER, request_method="POST")
def delete_draft(request):
    """Delete the draft (asked first: confirm.js) and go to the outbox's drafts."""
    outbox = request.context.__parent__
    exchange.delete_draft(request.root, request.account.login, request.context)
    flash(request, _("The draft is deleted."))
    return HTTPFound(location=request.resource_url(outbox, query={"state": "draft"}))


@view_config(context=Letter, permission=P.DELETE_LETTER, request_method="DELETE")
def delete_draft_json(request):
    """DELETE a draft -> 204 (see `exchange.delete_draft`)."""
    exchange.delete_draft(request.root, request.account.login, request.context)
    return Response(status=204)


@view_config(context=Letter, name="edit", renderer="registry:templates/letter.pt",
             permission=P.EDIT_LETTER, request_method="POST")
def edit_letter(request):
    letter = request.context
    form = make_form(request, DraftSchema(), buttons=(deform.Button("save", _("Save")),),
                     formid="draft-form")
    outcome, result = run_form(request, form, lambda values: exchange.update_draft(
        request.root, request.account.login, letter, subject=values["subject"],
        recipients=_split_regnos(values["recipients"]), in_reply_to=values["in_reply_to"],
        response_due=values["response_due"], series=values["series"]))
    if outcome == "ok":
        flash(request, _("Changes saved."))
        return HTTPFound(location=request.resource_url(letter))
    return letter_page(request, edit_form=result)


@view_config(context=Letter, name="pdf-upload", renderer="registry:templates/letter.pt",
             permission=P.EDIT_LETTER, request_method="POST")
def upload_pdf(request):
    letter = request.context
    form = make_form(request, PDFSchema(), buttons=(deform.Button("attach", _("Upload PDF")),),
                     formid="pdf-form")

    def store(values):
        upload = values["pdf"]
        data = upload["fp"].read(max_pdf_size(request) + 1)
        return exchange.attach_pdf(request.root, request.account.login, letter, data,
                                   upload.get("filename"), max_pdf_size(request))

    outcome, result = run_form(request, form, store)
    if outcome == "ok":
        flash(request, _("The PDF is attached."))
        return HTTPFound(location=request.resource_url(letter))
    return letter_page(request, pdf_form=result)


@view_config(context=Letter, name="@file", permission=P.EDIT_LETTER, request_method="PUT",
             renderer="json")
def put_pdf_json(request):
    require_media_type(request, "putLetterPDF")
    limit = max_pdf_size(request)
    if (request.content_length or 0) > limit:
        raise too_large(limit)
    # From the start of the body: a request replayed after a conflict reads it again.
    request.make_body_seekable()
    data = request.body_file.read(limit + 1)
    name = request.params.get("filename") or "letter.pdf"
    stored = exchange.attach_pdf(request.root, request.account.login, request.context, data,
                                 name, limit)
    return stored.as_json()


#: No page of the registry is shown inside another page's frame (a page of buttons framed by
#: another site is a trap for clicks), except a letter's PDF shown inline (`?inline=1`), and
#: that only in the registry's own pages (the letter page's viewer).
NOT_FRAMED = {"X-Frame-Options": "DENY", "Content-Security-Policy": "frame-ancestors 'none'"}
FRAMED_BY_US = {"X-Frame-Options": "SAMEORIGIN",
                "Content-Security-Policy": "frame-ancestors 'self'"}


@subscriber(NewResponse)
def not_framed(event):
    """Every response refuses to be framed unless it said otherwise (`pdf_response`)."""
    headers = event.response.headers
    for name, value in NOT_FRAMED.items():
        headers.setdefault(name, value)


def pdf_response(request, letter, item=None):
    stored = letter.pdf
    if stored is None:
        raise RegistryError("PDF_REQUIRED", _("The letter has no PDF file."), status=404)
    if (item or letter).state == "disposed" or stored.released:
        raise RegistryError("FILE_DISPOSED", _("The letter was disposed of: its register entry "
                                               "is kept, its file is not."), status=410)
    try:
        path = stored.path()
        if path:
            response = FileResponse(path, request=request, content_type="application/pdf")
        else:
            response = Response(body=stored.read(), content_type="application/pdf")
    except BLOB_GONE:
        raise _file_missing(request, letter) from None
    inline = request.params.get("inline") == "1"
    response.content_disposition = content_disposition(stored.filename, inline)
    response.headers["X-Content-Type-Options"] = "nosniff"
    for name, value in (FRAMED_BY_US if inline else NOT_FRAMED).items():
        response.headers[name] = value
    response.etag = stored.sha256
    return response


def _file_missing(request, letter):
    """The error for a letter whose stored file is gone from the store (a storage fault: the
    letter and its record remain, the bytes must be restored from a backup), audited as the
    fixity check audits it. 503, not 410: the file is not gone by anyone's decision (a
    disposed letter's is: FILE_DISPOSED, 410) and is served again once restored; nor is it the
    client's fault."""
    from ZODB.interfaces import IDatabase

    account = getattr(request, "account", None)
    audit_missing_file(request.registry.getUtility(IDatabase),
                       account.login if account is not None else "", object_path(letter),
                       letter.org, letter.pdf, "download")
    return RegistryError("FILE_MISSING", _("file-missing", default="The letter's file cannot "
                                           "be read from the registry's store: it is missing. "
                                           "This is not a fault of your request; it has been "
                                           "recorded for the administrator, who can restore "
                                           "the file from a backup."), status=503)


def content_disposition(filename, inline=False):
    """The Content-Disposition value for a download of `filename` (RFC 6266): an ASCII
    `filename` for old clients and the exact name as RFC 8187 `filename*`, quoted and encoded by
    Werkzeug and the email package, never by hand. Stored names are display names already
    (registry.safetext.display_filename); a name stored before that is made safe here too."""
    name = display_filename(filename)
    ascii_stem = unicodedata.normalize("NFKD", name[:-len(".pdf")]).encode(
        "ascii", "ignore").decode("ascii")
    fallback = display_filename(ascii_stem + ".pdf" if ascii_stem.strip(". ") else "")
    return dump_options_header("inline" if inline else "attachment", {
        "filename": fallback, "filename*": encode_rfc2231(name, "UTF-8")})


@view_config(context=Letter, name="pdf", permission=P.VIEW_LETTER)
@view_config(context=Letter, name="@file", permission=P.VIEW_LETTER, request_method="GET")
def download_pdf(request):
    return pdf_response(request, request.context)


# Transitions -------------------------------------------------------------------------------

#: What a transition's form or JSON body may give besides its comment (registration: the
#: series, and the desk's task: see registry.desk).
REGISTER_OPTIONS = ("executor", "response_due", "series", "resolution", "due_date", "due_days",
                    "kind")


def _fire(request, obj, name, comment, options):
    return exchange.transition(obj, name, workflow_context(request, comment, options))


@view_config(context=Letter, name="workflow", renderer="registry:templates/letter.pt",
             permission=P.VIEW_LETTER, request_method="POST")
def workflow_form(request):
    """The transition buttons: fire the named transition; on refusal show every reason."""
    return fire_from_form(request, letter_page)


def fire_from_form(request, page):
    """Fire the transition the form names on the context; on refusal answer `page` (the
    context's page) with every reason."""
    obj = request.context
    name = request.POST.get("transition", "")
    options = {key: request.POST.get(key, "") for key in REGISTER_OPTIONS
               if request.POST.get(key)}
    if request.POST.getall("co_executors"):
        options["co_executors"] = request.POST.getall("co_executors")
    try:
        entry = _fire(request, obj, name, request.POST.get("comment", ""), options)
    except RegistryError as exc:  # TransitionRefused too
        return refused_page(request, page, exc, transition=name)
    flash(request, _("transition-done", default="Done: ${transition}.",
                            mapping={"transition": transition_titles()[entry.transition]}))
    return HTTPFound(location=request.resource_url(obj))


@view_config(context=Letter, name="sign-with-token", renderer="registry:templates/letter.pt",
             permission=P.SIGN_LETTER, request_method="POST")
def sign_with_token(request):
    """Sign the draft's PDF on the server with the organisation's e-Token (PIN typed by the
    signatory, used once, never kept), then fire `sign` through the gate."""
    letter = request.context
    config = request.token_config
    if config is None:
        raise RegistryError("NO_TOKEN", _("No e-Token is connected to the registry."),
                            status=409)
    try:
        stamp = request.POST.get("stamp_verification") == "1"
        exchange.sign_on_server(letter, request.POST.get("pin", ""), config,
                                workflow_context(request),
                                ca_chain=request.signature_gate.trust().intermediates,
                                max_size=max_pdf_size(request), tsa=request.tsa_config,
                                verification_url=(lambda code: verification.url_for_code(
                                    request, code)) if stamp else None)
    except RegistryError as exc:  # TransitionRefused too
        return refused_page(request, letter_page, exc)
    if request.tsa_config is not None:
        flash(request, _("signed-b-lt", default="The letter is signed with your organisation's "
                         "e-Token (PAdES B-LT: with a timestamp from the time-stamping "
                         "authority and the revocation data to check it for the long term)."))
    else:
        flash(request, _("signed-b-b", default="The letter is signed with your organisation's "
                         "e-Token (PAdES B-B: no time-stamping authority is configured, so "
                         "the signature carries no timestamp)."))
    return HTTPFound(location=request.resource_url(letter))


@view_config(context=Letter, name="@workflow", renderer="json", permission=P.VIEW_LETTER,
             request_method="GET")
@view_config(context=Delivery, name="@workflow", renderer="json", permission=P.VIEW_DELIVERY,
             request_method="GET")
def workflow_json(request):
    obj = request.context
    ctx = workflow_context(request)
    return {"@id": request.resource_url(obj, "@workflow"), "state": obj.state,
            "transitions": [{"@id": request.resource_url(obj, "@workflow", t.name),
                             "name": t.name, "title": request.localizer.translate(
                                 transition_titles()[t.name]),
                             "comment_required": t.comment_required}
                            for t in exchange.offered(obj, ctx)],
            "history": [entry.__dict__ for entry in obj.history]}


@view_config(context=Letter, name="@workflow", renderer="json", permission=P.VIEW_LETTER,
             request_method="POST")
@view_config(context=Delivery, name="@workflow", renderer="json", permission=P.VIEW_DELIVERY,
             request_method="POST")
def workflow_fire_json(request):
    """POST .../@workflow/<transition> with an optional JSON body: {"comment" (or "reason"),
    "series", and for `register` the task's "executor", "co_executors", "resolution",
    "due_date" (or "response_due") or "due_days", "kind"}. A refusal answers 4xx with
    {"error": {"code", "message"}, "reasons": [{"code", "message", "guard", "evidence"}]}."""
    obj = request.context
    if len(request.subpath) != 1:
        raise RegistryError("TRANSITION_REQUIRED", _("Name the transition: @workflow/<name>."),
                            status=404)
    operation = "fireLetterTransition" if isinstance(obj, Letter) else "fireDeliveryTransition"
    body = read_json(request, operation, optional=True)
    comment = body.get("comment") or body.get("reason") or ""
    options = {k: body[k] for k in REGISTER_OPTIONS + ("co_executors",) if body.get(k)}
    try:
        entry = _fire(request, obj, request.subpath[0], comment, options)
    except TransitionRefused as refused:
        request.tm.doom()
        request.response.status = refused.status
        translate = request.localizer.translate
        return {"error": {"code": refused.code, "message": translate(refused.message)},
                "reasons": [{"code": r.reason, "message": translate(r.message),
                             "guard": r.guard, "evidence": r.evidence}
                            for r in refused.results]}
    return {"@id": request.resource_url(obj), "state": obj.state, "entry": entry.__dict__,
            "item": obj.as_json(request)}
