"""Views on advertising reports: filed by recipients, decided by site administrators."""
from pyramid.httpexceptions import HTTPFound
from pyramid.view import view_config

from registry import exchange
from registry.i18n import _
from registry.resources.letter import Delivery
from registry.resources.report import Report, Reports
from registry.security import permissions as P
from registry.views.intake import read_json
from registry.views.forms import flash
from registry.views.letter import pdf_response

STATUS_TITLES = {
    "open": _("report-open", default="Awaiting a decision"),
    "dismissed": _("report-dismissed", default="Dismissed"),
    "sender_suspended": _("report-suspended", default="Sender suspended"),
}


@view_config(context=Delivery, name="report", permission=P.REPORT_DELIVERY,
             request_method="POST")
def report_form(request):
    exchange.report_advertising(request.root, request.account.login, request.context,
                                request.POST.get("reason", ""))
    flash(request, _("The letter is reported to the registry's administrators."))
    return HTTPFound(location=request.resource_url(request.context))


@view_config(context=Delivery, name="@report", renderer="json", permission=P.REPORT_DELIVERY,
             request_method="POST")
def report_json(request):
    body = read_json(request, "reportAdvertising")
    report = exchange.report_advertising(request.root, request.account.login, request.context,
                                         body.get("reason") or "")
    request.response.status = 201
    return {"id": report.__name__, "status": report.status}


@view_config(context=Reports, renderer="registry:templates/reports.pt",
             permission=P.REVIEW_REPORTS, accept="text/html")
def reports(request):
    return {"reports": request.context.open_reports(), "decided": len(request.context)
            - len(request.context.open_ids), "status_titles": STATUS_TITLES}


@view_config(context=Reports, renderer="json", permission=P.REVIEW_REPORTS,
             accept="application/json")
def reports_json(request):
    items = request.context.open_reports()
    return {"@id": request.url, "@type": "Reports",
            "items": [r.as_json(request) for r in items], "items_total": len(items)}


@view_config(context=Report, renderer="registry:templates/report.pt",
             permission=P.REVIEW_REPORTS, accept="text/html")
def report_view(request):
    report = request.context
    orgs = request.root.orgs
    return {"report": report, "sender": orgs.get(report.sender),
            "reporter": orgs.get(report.reporter_org), "status_titles": STATUS_TITLES}


@view_config(context=Report, renderer="json", permission=P.REVIEW_REPORTS,
             accept="application/json")
def report_view_json(request):
    return request.context.as_json(request)


@view_config(context=Report, name="pdf", permission=P.REVIEW_REPORTS)
def report_pdf(request):
    """The reported letter's PDF, for the administrator to judge it."""
    return pdf_response(request, request.context.letter)


@view_config(context=Report, name="decide", permission=P.REVIEW_REPORTS, request_method="POST")
def decide(request):
    decision = request.POST.get("decision", "")
    exchange.decide_report(request.root, request.account.login, request.context, decision)
    flash(request, STATUS_TITLES[request.context.status])
    return HTTPFound(location=request.resource_url(request.root.reports))
