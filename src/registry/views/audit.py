"""Views on the audit trail: site administrators see all of it, auditors their organisation's."""
from dataclasses import asdict

from pyramid.view import view_config

from registry.resources.audit import AuditTrail
from registry.security import permissions as P
from registry.views.api import batch_params, batching


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
    return {"records": records, "total": total, "start": start, "size": size, "org": org,
            "more": start + size < total}


@view_config(context=AuditTrail, renderer="json", permission=P.VIEW_AUDIT,
             accept="application/json")
def audit_json(request):
    records, total, start, size, _org = _records(request)
    return {"@id": request.url, "@type": "AuditTrail",
            "items": [asdict(record) for record in records], "items_total": total,
            "batching": batching(request, start, size, total, start + size < total)}
