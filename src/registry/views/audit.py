"""Views on the audit trail: site administrators see all of it, auditors their organisation's."""
from dataclasses import asdict

from pyramid.httpexceptions import HTTPNotFound
from pyramid.response import Response
from pyramid.view import view_config

from registry.checkpoints import file_bytes, filename
from registry.i18n import _
from registry.resources.audit import AuditTrail
from registry.security import permissions as P
from registry.views.api import batch_params, batching
from registry.workflow import transition_titles, workflows

#: What the trail's page calls each action that is not a workflow's transition (the action's
#: code stays beside it, in small print, and in the JSON).
ACTION_TITLES = {
    "account.create": _("audit-account.create", default="Account created"),
    "account.password": _("audit-account.password", default="Password changed"),
    "account.preferences": _("audit-account.preferences", default="Preferences changed"),
    "account.update": _("audit-account.update", default="Account changed"),
    "audit.checkpoint": _("audit-audit.checkpoint", default="Audit checkpoint made"),
    "calendar.clear": _("audit-calendar.clear", default="Calendar change removed"),
    "calendar.declare": _("audit-calendar.declare", default="Calendar day declared"),
    "delivery.delivered": _("audit-delivery.delivered", default="Delivered"),
    "delivery.paper": _("audit-delivery.paper", default="Paper letter received"),
    "disposal.approve": _("audit-disposal.approve", default="Disposal approved"),
    "evidence.issued": _("audit-evidence.issued", default="Delivery receipt issued"),
    "evidence.timestamped": _("audit-evidence.timestamped", default="Evidence timestamped"),
    "fixity.check": _("audit-fixity.check", default="Files checked for integrity"),
    "fixity.mismatch": _("audit-fixity.mismatch", default="A file does not match its hash"),
    "fixity.missing": _("audit-fixity.missing", default="A file is missing"),
    "handover.export": _("audit-handover.export", default="Handover package made"),
    "handover.failed": _("audit-handover.failed", default="Handover package failed"),
    "handover.receipt": _("audit-handover.receipt", default="Handover received by the archive"),
    "handover.start": _("audit-handover.start", default="Handover started"),
    "hold.lift": _("audit-hold.lift", default="Legal hold lifted"),
    "hold.place": _("audit-hold.place", default="Legal hold placed"),
    "join.form": _("audit-join.form", default="Join form issued"),
    "journal.export": _("audit-journal.export", default="Journal exported"),
    "letter.draft": _("audit-letter.draft", default="Draft created"),
    "list.export": _("audit-list.export", default="Chosen letters exported"),
    "letter.pdf": _("audit-letter.pdf", default="PDF attached"),
    "letter.token_signed": _("audit-letter.token_signed", default="Signed with the e-Token"),
    "letter.update": _("audit-letter.update", default="Draft changed"),
    "letter.delete": _("audit-letter.delete", default="Draft deleted"),
    "login": _("audit-login", default="Signed in"),
    "login.failed": _("audit-login.failed", default="Sign-in refused"),
    "logout": _("audit-logout", default="Signed out"),
    "notifications.read": _("audit-notifications.read", default="Notifications read"),
    "notify.digest": _("audit-notify.digest", default="Digest of notifications mailed"),
    "notify.due": _("audit-notify.due", default="Deadlines checked"),
    "org.join": _("audit-org.join", default="Organisation joined with its certificate"),
    "org.join_reset": _("audit-org.join_reset", default="Account recovered with a signed form"),
    "org.register": _("audit-org.register", default="Organisation registered"),
    "org.settings": _("audit-org.settings", default="Organisation settings changed"),
    "org.update": _("audit-org.update", default="Organisation changed"),
    "report.dismiss": _("audit-report.dismiss", default="Report dismissed"),
    "report.file": _("audit-report.file", default="Report filed"),
    "report.suspend": _("audit-report.suspend", default="Sender suspended on a report"),
    "retention.set": _("audit-retention.set", default="Retention term set"),
    "store.pack": _("audit-store.pack", default="Store packed"),
    "store.restore": _("audit-store.restore", default="Store restored"),
    "token.issue": _("audit-token.issue", default="API token issued"),
    "token.revoke": _("audit-token.revoke", default="API token revoked"),
    "trust.add": _("audit-trust.add", default="Trust anchor added"),
    "trust.refresh": _("audit-trust.refresh", default="Revocation lists refreshed"),
    "trust.remove": _("audit-trust.remove", default="Trust anchor removed"),
    "verify.compare": _("audit-verify.compare", default="A file compared with a letter"),
    "verify.lookup": _("audit-verify.lookup", default="A verification code looked up"),
}


def action_title(action):
    """The words for an audit action, or None for one that has none (its code is then all
    the page shows, in small print)."""
    if action in ACTION_TITLES:
        return ACTION_TITLES[action]
    workflow, _dot, transition = action.partition(".")
    # A transition's action is `<workflow>.<transition>`: its title is the transition's.
    if transition in getattr(workflows().get(workflow), "transitions", {}):
        return transition_titles(workflow)[transition]
    return None

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
            "more": start + size < total, "action_title": action_title, "show_checkpoints": shown,
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
