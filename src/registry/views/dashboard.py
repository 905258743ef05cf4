"""The dashboards' views: an organisation's home page (what needs doing now and its charts,
shown on `/orgs/<regno>/` to its members) and the city-wide statistics for the site
administrator (`/@@stats`, and `GET /@stats` as JSON). The numbers come from
registry.dashboard; this module lays them out."""
from pyramid.view import view_config

from registry import dashboard, desk
from registry.i18n import _
from registry.resources.site import Site
from registry.security import permissions as P
from registry.statistics import COUNTERS
from registry.views.api import batch_params, batching
from registry.views.charts import Series, bar_chart, duration

COUNTER_TITLES = {
    "sent": _("stats-sent", default="Sent"),
    "received": _("stats-received", default="Received"),
    "registered": _("stats-registered", default="Registered"),
    "rejected": _("stats-rejected", default="Rejected"),
    "withdrawn": _("stats-withdrawn", default="Withdrawn"),
    "answered": _("stats-answered", default="Answered"),
    "paper": _("stats-paper", default="On paper"),
}


def home(request, org):
    """The home page's part for a member of `org` (None for anyone else): the lists of what
    needs doing and the charts."""
    if not request.has_permission(P.VIEW_MAILBOX, org):
        return None
    lists = dashboard.needs_doing(request, org, request.has_permission)
    with_executors = bool(request.has_permission(P.CONTROL_TASKS, org))
    data = dashboard.org_charts(request, org, with_executors)
    months = data["months"]
    charts = [
        bar_chart("chart-months", _("Letters in and out by month"),
                  [row["month"] for row in months],
                  [Series(COUNTER_TITLES["received"], [r["received"] for r in months], "bar-in"),
                   Series(COUNTER_TITLES["sent"], [r["sent"] for r in months], "bar-out")]),
        bar_chart("chart-recipients", _("Time from sending to registration, by recipient "
                                        "(median)"),
                  [row["name"] for row in data["recipients"]],
                  [Series(_("Median time"), [r["median_seconds"] for r in data["recipients"]],
                          "bar-time", duration)]),
        bar_chart("chart-answers", _("Time to answer by month (median)"),
                  [row["month"] for row in months],
                  [Series(_("Median time"), [r["median_answer_seconds"] for r in months],
                          "bar-time", duration)]),
    ]
    if with_executors:
        executors = data["executors"]
        charts.append(bar_chart(
            "chart-executors", _("Open and overdue tasks by executor"),
            [row["name"] for row in executors],
            [Series(_("Open tasks"), [r["open"] for r in executors], "bar-open"),
             Series(_("Overdue"), [r["overdue"] for r in executors], "bar-overdue")]))
    return {"lists": lists, "charts": charts, "period": (data["first"], data["last"]),
            "mine": lists.get("mine", False)}


# The city ------------------------------------------------------------------------------------

def _city(request):
    first, last = dashboard.period_params(request)
    sort, descending = dashboard.sort_params(request)
    start, size = batch_params(request)
    data = dashboard.city(request.root, first, last, desk.local_today(request),
                          request.registry.settings, sort=sort, descending=descending,
                          start=start, size=size)
    return data, sort, descending, start, size


@view_config(context=Site, name="@stats", renderer="json", permission=P.VIEW_STATS,
             request_method="GET")
def stats_json(request):
    """The city's statistics as JSON (see the OpenAPI document: `getStatistics`)."""
    data, sort, descending, start, size = _city(request)
    total = data.pop("organisations_total")
    items = data.pop("organisations")
    return {"@id": request.url, "@type": "Statistics", **data,
            "organisations": {"items": items, "items_total": total,
                              "sort": sort, "order": "desc" if descending else "asc",
                              "batching": batching(request, start, size, total,
                                                   start + size < total)}}


@view_config(context=Site, name="stats", renderer="registry:templates/stats.pt",
             permission=P.VIEW_STATS, accept="text/html")
def stats_page(request):
    """The city-wide dashboard: totals, months, paper's cost, and the organisations (paged,
    sortable by any column)."""
    data, sort, descending, start, size = _city(request)
    months = data["months"]
    chart = bar_chart("chart-city-months", _("Letters sent by month"),
                      [row["month"] for row in months],
                      [Series(COUNTER_TITLES["sent"], [r["sent"] for r in months], "bar-out"),
                       Series(COUNTER_TITLES["registered"], [r["registered"] for r in months],
                              "bar-in")])

    def sort_url(key):
        order = "asc" if key == sort and descending else "desc"
        return request.resource_url(request.root, "@@stats", query={
            "from": data["period"]["from"], "to": data["period"]["to"], "sort": key,
            "order": order})

    def page_url(b_start):
        return request.resource_url(request.root, "@@stats", query={
            "from": data["period"]["from"], "to": data["period"]["to"], "sort": sort,
            "order": "desc" if descending else "asc", "b_start": b_start, "b_size": size})

    return {**data, "chart": chart, "counters": COUNTERS, "counter_titles": COUNTER_TITLES,
            "duration": duration, "sort": sort, "descending": descending, "start": start,
            "size": size, "sort_url": sort_url, "page_url": page_url}
