"""Views on the audit trail: site administrators see all of it, auditors their organisation's."""
from dataclasses import asdict

from pyramid.httpexceptions import HTTPNotFound
from pyramid.response import Response
from pyramid.view import view_config

from registry.checkpoints import file_bytes, filename
from registry.resources.audit import AuditTrail
from registry.security import permissions as P
from registry.views.api import batch_params, batching

CHECKPOINTS_SHOWN = 20


def _records(request):
    start, size = batch_params(request, default=50)
    account = request.account
    org = None if account.is_site_admin else account.org
    records, total = request.context.newest(start, size, org=org)
    return records, total, start, size, org


@view_config(context=AuditTrail, renderer="registry:templates/audit.pt", permission=P.VIEW_AUDIT,
             accept="text/html")
def audit(request):
    records, total, start, size, org = _records(request)
    shown = bool(request.has_permission(P.VIEW_CHECKPOINTS))
    kept = request.context.checkpoints
    return {"records": records, "total": total, "start": start, "size": size, "org": org,
            "more": start + size < total, "show_checkpoints": shown,
            "checkpoints": kept.newest(CHECKPOINTS_SHOWN) if shown else [],
            "checkpoints_total": len(kept)}


@view_config(context=AuditTrail, renderer="json", permission=P.VIEW_AUDIT,
             accept="application/json")
def audit_json(request):
    records, total, start, size, _org = _records(request)
    return {"@id": request.url, "@type": "AuditTrail",
            "items": [asdict(record) for record in records], "items_total": total,
            "batching": batching(request, start, size, total, start + size < total)}


def _checkpoint_json(request, checkpoint):
    return {"number": checkpoint.number, "seq": checkpoint.seq, "head": checkpoint.head,
            "time": checkpoint.time, "timestamp": checkpoint.timestamp,
            "file": request.resource_url(request.context, "@checkpoint",
                                         query={"number": checkpoint.number})}


@view_config(context=AuditTrail, name="@checkpoints", renderer="json",
             permission=P.VIEW_CHECKPOINTS, request_method="GET")
def checkpoints_json(request):
    """The audit trail's checkpoints, newest first (batched)."""
    start, size = batch_params(request, default=CHECKPOINTS_SHOWN)
    kept = request.context.checkpoints
    total = len(kept)
    shown = kept.newest(start + size)[start:]
    return {"@id": request.url, "items": [_checkpoint_json(request, c) for c in shown],
            "items_total": total,
            "batching": batching(request, start, size, total, start + size < total)}


@view_config(context=AuditTrail, name="@checkpoint", permission=P.VIEW_CHECKPOINTS,
             request_method="GET")
def checkpoint_file(request):
    """One checkpoint's file (`?number=N`), as `registry audit verify --checkpoint` reads it;
    404 for a number that is no checkpoint."""
    number = request.params.get("number", "")
    checkpoint = request.context.checkpoints.get(int(number)) if number.isdigit() and \
        len(number) < 10 else None
    if checkpoint is None:
        raise HTTPNotFound()
    response = Response(body=file_bytes(checkpoint), content_type="application/json",
                        charset=None)
    response.content_disposition = f'attachment; filename="{filename(checkpoint)}"'
    return response
