"""Views on an organisation's archive handovers and on its retention: HTML and JSON.

`/orgs/<regno>/handovers/` lists the handover records; a records manager picks a year and a
series, sees the preview, and produces the package. The export can take a long time (a large
organisation's year is 100,000 letters), so it never runs in the request: the request files the
record (state `building`) and, once that is committed, a background thread of this process
makes the package in batches, committing its progress with every batch; the record's page polls
`@@progress` (JSON) and shows it. If the process ends midway, the record shows no progress for
15 minutes and is then taken as interrupted (see registry.archive.handover).

Retention (file plan classes, holds, the disposal list) lives under the same folder, so that
everything about an organisation's records' end of life answers 404 to other organisations.
"""
import logging
import os
import threading

import colander
import deform
from pyramid.httpexceptions import HTTPNotFound, HTTPSeeOther
from pyramid.response import FileResponse
from pyramid.view import view_config
from ZODB.interfaces import IDatabase

from registry import settings as registry_settings
from registry.archive import handover as ho
from registry.archive import retention as rt
from registry.archive import selection as sel
from registry.errors import RegistryError
from registry.i18n import _
from registry.resources.organisation import Handovers
from registry.security import permissions as P
from registry.views.api import batching
from registry.views.forms import CSRFSchema, Day, day_widget, flash, make_form, run_form
from registry.views.intake import read_json
from registry.workflow import state_titles

log = logging.getLogger(__name__)

STATUS_TITLES = {
    "building": _("handover-building", default="Being made"),
    "made": _("handover-made", default="Made"),
    "failed": _("handover-failed", default="Failed"),
}
PHASE_TITLES = {
    "packaging": _("phase-packaging", default="Checking signatures and packaging"),
    "handing_over": _("phase-handing-over", default="Marking the letters handed over"),
    "done": _("phase-done", default="Done"),
}


def local_today(request):
    return registry_settings.local_today(request.registry.settings)


def _org(request):
    context = request.context
    folder = context if isinstance(context, Handovers) else context.__parent__
    return folder.__parent__


def _records(folder):
    """The records newest first (an organisation makes a few a year)."""
    return sorted(folder.values(), key=lambda h: h.created, reverse=True)


# The list and the preview --------------------------------------------------------------------

@view_config(context=Handovers, renderer="registry:templates/handovers.pt",
             permission=P.VIEW_MAILBOX, accept="text/html")
def handovers(request):
    org = _org(request)
    return {"org": org, "records": _records(request.context),
            "status_titles": STATUS_TITLES, "year": local_today(request).year - 1,
            "can_make": bool(request.has_permission(P.MAKE_HANDOVER, request.context)),
            "can_retain": bool(request.has_permission(P.MANAGE_RETENTION, request.context)),
            "series": sorted(org.retention.series.values(), key=lambda r: r.series)}


@view_config(context=Handovers, renderer="json", permission=P.VIEW_MAILBOX,
             accept="application/json", request_method="GET")
def handovers_json(request):
    records = _records(request.context)
    return {"@id": request.url, "@type": "Handovers",
            "items": [h.as_json(request) for h in records], "items_total": len(records),
            "batching": batching(request, 0, len(records), len(records), False)}


def _selection(request, org):
    params = request.params
    return sel.make_selection(org, params.get("year", ""), params.get("series", ""),
                              params.get("supplement") in ("1", "on", "true"))


class ExportSchema(CSRFSchema):
    year = colander.SchemaNode(colander.Integer(), widget=deform.widget.HiddenWidget())
    series = colander.SchemaNode(colander.String(), missing="",
                                 widget=deform.widget.HiddenWidget())
    supplement = colander.SchemaNode(colander.String(), missing="",
                                     widget=deform.widget.HiddenWidget())
    act_number = colander.SchemaNode(
        colander.String(), title=_("Handover act number"), missing="",
        description=_("Left empty: the year and the handover's number, e.g. 2025-1."),
        validator=colander.Length(max=ho.TEXT_MAX))
    act_date = colander.SchemaNode(Day(), title=_("Handover act date"),
                                   missing=None, widget=day_widget)
    archive_name = colander.SchemaNode(colander.String(), title=_("Receiving archive"),
                                       missing="", validator=colander.Length(max=ho.TEXT_MAX))
    fond_reference = colander.SchemaNode(colander.String(), title=_("Archive fond reference"),
                                         missing="", validator=colander.Length(max=ho.TEXT_MAX))
    inventory_reference = colander.SchemaNode(
        colander.String(), title=_("Archive inventory reference"), missing="",
        validator=colander.Length(max=ho.TEXT_MAX))


def _export_form(request, action):
    return make_form(request, ExportSchema(),
                     buttons=(deform.Button("export", _("Produce the package")),),
                     formid="export-form", action=action)


@view_config(context=Handovers, name="preview", renderer="registry:templates/handover_preview.pt",
             permission=P.MAKE_HANDOVER, request_method="GET", accept="text/html")
def preview(request):
    org = _org(request)
    try:
        selection = _selection(request, org)
    except RegistryError as exc:
        flash(request, exc.message)
        return HTTPSeeOther(request.resource_url(request.context))
    found = sel.preview(org, selection, request.registry.settings)
    refusal = None
    try:
        sel.check_allowed(org, selection, found)
    except RegistryError as exc:
        refusal = exc
    form = None
    if refusal is None:
        form = _export_form(request, request.resource_url(request.context, "@@export")).render(
            {"year": selection.year, "series": selection.series or "",
             "supplement": "1" if selection.supplement else ""})
    return {"org": org, "selection": selection, "preview": found, "refusal": refusal,
            "form": form, "state_titles": state_titles()}


@view_config(context=Handovers, name="preview", renderer="json", permission=P.MAKE_HANDOVER,
             request_method="GET", accept="application/json")
def preview_json(request):
    org = _org(request)
    selection = _selection(request, org)
    found = sel.preview(org, selection, request.registry.settings)
    try:
        sel.check_allowed(org, selection, found)
        refusal = None
    except RegistryError as exc:
        refusal = {"code": exc.code, "message": request.localizer.translate(exc.message)}
    return {"@id": request.url, "year": selection.year, "series": selection.series,
            "record_status": selection.record_status, "letters": found.total,
            "outgoing": found.outgoing, "incoming": found.incoming, "bytes": found.bytes,
            "handed_over": found.handed_over, "open": found.open,
            "open_letters": [vars(o) for o in found.open_letters],
            "unregistered": found.unregistered, "temporary": found.temporary,
            "disposed": found.disposed, "failed_last_check": found.failed_last_check,
            "series_counts": found.series, "earlier": found.earlier, "refusal": refusal}


# Producing the package -------------------------------------------------------------------------

def _launch(request, record):
    """After commit, make the package in a background thread of this process."""
    db = request.registry.getUtility(IDatabase)
    gate, settings = request.signature_gate, dict(request.registry.settings)
    regno, record_id = record.regno, record.__name__
    out = os.path.join(ho.package_dir(settings), regno, f"{record.package_id}.zip")

    def work():
        try:
            os.makedirs(os.path.dirname(out), exist_ok=True)
            ho.run(db, regno, record_id, out, gate, settings)
        except Exception:  # recorded on the handover as failed; the thread must not die loud
            log.exception("handover %s of %s failed", record_id, regno)

    def after_commit(committed):
        if committed:
            threading.Thread(target=work, name=f"handover-{record_id}", daemon=True).start()

    request.tm.get().addAfterCommitHook(after_commit)


def _start(request, values):
    org = _org(request)
    export = ho.ExportRequest(
        org.regno, values["year"], values.get("series") or None,
        values.get("supplement") in ("1", "on", "true", True), values.get("act_number", ""),
        values.get("act_date"), values.get("archive_name", ""),
        values.get("fond_reference", ""), values.get("inventory_reference", ""),
        actor=request.account.login, in_data_dir=True)
    record = ho.start(request.root, export, request.registry.settings)
    _launch(request, record)
    return record


@view_config(context=Handovers, name="export", renderer="registry:templates/handover_preview.pt",
             permission=P.MAKE_HANDOVER, request_method="POST")
def export(request):
    org = _org(request)
    form = _export_form(request, request.resource_url(request.context, "@@export"))
    outcome, result = run_form(request, form, lambda values: _start(request, values))
    if outcome == "ok":
        flash(request, _("The package is being made."))
        return HTTPSeeOther(request.resource_url(result))
    selection = _selection(request, org)
    return {"org": org, "selection": selection, "state_titles": state_titles(),
            "preview": sel.preview(org, selection, request.registry.settings),
            "refusal": None, "form": result}


@view_config(context=Handovers, name="@export", renderer="json", permission=P.MAKE_HANDOVER,
             request_method="POST")
def export_json(request):
    body = read_json(request)
    record = _start(request, {**body, "year": body.get("year")})
    request.response.status = 202
    return record.as_json(request)


# One record ---------------------------------------------------------------------------------

def _progress(record):
    total = max(record.total if record.phase == "packaging" else record.letters, 1)
    return {"status": record.status, "phase": record.phase, "done": record.done,
            "total": total, "percent": min(100, round(100 * record.done / total)),
            "interrupted": record.stale(), "error": record.error}


@view_config(context=ho.Handover, renderer="registry:templates/handover.pt",
             permission=P.VIEW_MAILBOX, accept="text/html")
def record_view(request):
    record = request.context
    return {"org": _org(request), "record": record, "status_titles": STATUS_TITLES,
            "phase_titles": PHASE_TITLES, "progress": _progress(record),
            "failed": list(record.failed_checks.items()[:100]),
            "anomalies": list(record.anomalies.items()[:100]),
            "can_make": bool(request.has_permission(P.MAKE_HANDOVER, record)),
            "downloadable": _package_file(request, record) is not None}


@view_config(context=ho.Handover, renderer="json", permission=P.VIEW_MAILBOX,
             accept="application/json", request_method="GET")
def record_json(request):
    return request.context.as_json(request)


@view_config(context=ho.Handover, name="progress", renderer="json", permission=P.VIEW_MAILBOX,
             request_method="GET")
def progress(request):
    return _progress(request.context)


def _package_file(request, record):
    """The package's file if the registry keeps it (made from the web UI: in the store, or in
    this machine's data directory for packages made before they were kept in the store), else
    None."""
    if record.status != "made" or not record.in_data_dir:
        return None
    if record.package is not None:
        return record.package.committed()
    if not record.package_path:
        return None
    root = os.path.realpath(ho.package_dir(request.registry.settings))
    path = os.path.realpath(record.package_path)
    if not path.startswith(root + os.sep) or not os.path.isfile(path):
        return None
    return path


@view_config(context=ho.Handover, name="package", permission=P.MAKE_HANDOVER,
             request_method="GET")
def download(request):
    path = _package_file(request, request.context)
    if path is None:
        raise HTTPNotFound()
    response = FileResponse(path, request=request, content_type="application/zip")
    response.content_disposition = f'attachment; filename="{request.context.package_name}"'
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@view_config(context=ho.Handover, name="receipt", permission=P.MAKE_HANDOVER,
             request_method="POST", renderer="registry:templates/handover.pt")
def receipt(request):
    record = request.context
    values = {k: request.POST.get(k, "") for k in ("received_by", "received_at", "note")}
    try:
        ho.confirm_receipt(request.root, request.account.login, record, values["received_by"],
                           values["received_at"] or None, values["note"],
                           request.registry.settings)
    except RegistryError as exc:
        request.tm.doom()
        flash(request, exc.message)
        request.response.status = exc.status
        return record_view(request)
    flash(request, _("The archive's receipt is recorded."))
    return HTTPSeeOther(request.resource_url(record))


# Retention: file plan, holds, disposal ------------------------------------------------------------

def _retention_values(request, **extra):
    org = _org(request)
    current = local_today(request).year
    values = {
        "org": org, "rules": sorted(org.retention.series.values(), key=lambda r: r.series),
        "holds": list(org.retention.holds.values()),
        "disposals": sorted(org.retention.disposals.values(), key=lambda d: d.approved_at,
                            reverse=True),
        "groups": rt.disposal_list(org, current), "current_year": current,
    }
    values.update(extra)
    return values


@view_config(context=Handovers, name="retention", renderer="registry:templates/retention.pt",
             permission=P.MANAGE_RETENTION, request_method="GET")
def retention(request):
    return _retention_values(request)


def _retention_action(request, action, back=None):
    try:
        message = action()
    except RegistryError as exc:
        request.tm.doom()
        request.response.status = exc.status
        return _retention_values(request, error=exc)
    flash(request, message)
    return HTTPSeeOther(back() if back else request.resource_url(request.context,
                                                                 "@@retention"))


@view_config(context=Handovers, name="set-retention", permission=P.MANAGE_RETENTION,
             request_method="POST", renderer="registry:templates/retention.pt")
def set_retention(request):
    post = request.POST

    def act():
        kind = post.get("kind", "permanent")
        value = "permanent" if kind == "permanent" else post.get("years", "")
        rule = rt.set_retention(request.root, request.account.login, _org(request),
                                post.get("series", ""), value, post.get("title", ""))
        return _("retention-saved", default="Series ${series} is now ${retention}.",
                 mapping={"series": rule.series, "retention": rule.retention})

    return _retention_action(request, act)


@view_config(context=Handovers, name="hold", permission=P.MANAGE_RETENTION,
             request_method="POST", renderer="registry:templates/retention.pt")
def hold(request):
    post = request.POST

    def act():
        org, actor = _org(request), request.account.login
        if post.get("do") == "lift":
            lifted = rt.lift_hold(request.root, actor, org, post.get("item", ""),
                                  post.get("reason", ""))
            return _("hold-lifted", default="The hold on ${key} is lifted.",
                     mapping={"key": lifted.key})
        placed = rt.place_hold(request.root, actor, org, post.get("item", ""),
                               post.get("reason", ""))
        return _("hold-placed", default="${key} is under a hold.", mapping={"key": placed.key})

    def back():
        # From a letter's page, back to it.
        return request.resource_url(rt.find_item(_org(request), post.get("item", "")))

    return _retention_action(request, act, back if post.get("back") == "item" else None)


@view_config(context=Handovers, name="dispose", permission=P.MANAGE_RETENTION,
             request_method="POST", renderer="registry:templates/retention.pt")
def dispose(request):
    post = request.POST

    def act():
        year = sel.clean_year(post.get("year", ""))
        done = rt.approve_disposal(request.root, request.account.login, _org(request),
                                   post.get("series", ""), year, local_today(request).year,
                                   request.registry.settings)
        return _("disposal-approved", default="${count} letters disposed of.",
                 mapping={"count": done.count})

    return _retention_action(request, act)
