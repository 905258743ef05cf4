"""Full-text search of the correspondence of the signed-in account's organisation:
`/@search` (HTML) and the same URL as JSON.

Only the organisation's own partition of the index is consulted (see registry.search), so
results, counts, facets and snippets hold nothing of another organisation; each hit is also
resolved in ZODB and shown only if the account may view it.
"""
from urllib.parse import urlencode

from pyramid.httpexceptions import HTTPForbidden
from pyramid.view import view_config

from registry.errors import RegistryError
from registry.settings import local_today
from registry.i18n import _
from registry.resources.letter import Delivery, Letter
from registry.resources.site import Site
from registry.search import FACETS, SORTS, SearchQuery
from registry.search.indexing import pdf_of, resolve
from registry.security import permissions as P
from registry.views.api import MAX_BATCH, batching
from registry.workflow import state_titles

PAGE_SIZE = 20
DIRECTIONS = {"incoming": _("Incoming"), "outgoing": _("Outgoing")}
SORT_TITLES = {"relevance": _("Relevance"), "newest": _("Newest first"),
               "oldest": _("Oldest first")}
FACET_TITLES = {"year": _("Year"), "month": _("Month"), "counterpart": _("Counterpart"),
                "direction": _("Direction"), "state": _("State"), "overdue": _("Overdue")}
FILTERS = ("year", "month", "counterpart", "direction", "state", "overdue")


def _int(value, low, high, field):
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = None
    if number is None or not low <= number <= high:
        raise RegistryError("BAD_FILTER", _("bad-search-filter", default="'${field}' must be "
                            "a number from ${low} to ${high}.",
                            mapping={"field": field, "low": low, "high": high}),
                            field=field, status=400)
    return number


def query_from(request, org):
    """A SearchQuery from the request's parameters; RegistryError on a wrong value."""
    params = request.params
    q = SearchQuery(org=org.regno, text=params.get("q", "")[:1000], today=local_today(request.registry.settings))
    if params.get("year"):
        q.year = _int(params["year"], 1990, 2999, "year")
    if params.get("month"):
        q.month = _int(params["month"], 1, 12, "month")
    if params.get("counterpart"):
        q.counterpart = params["counterpart"].strip()[:20]
    direction = params.get("direction")
    if direction:
        if direction not in DIRECTIONS:
            raise RegistryError("BAD_FILTER", _("Direction is 'incoming' or 'outgoing'."),
                                field="direction", status=400)
        q.direction = direction
    state = params.get("state")
    if state:
        if state not in state_titles("letter", "delivery"):
            raise RegistryError("BAD_FILTER", _("There is no such state."), field="state",
                                status=400)
        q.state = state
    if params.get("overdue", "1") != "1":
        raise RegistryError("BAD_FILTER", _("'overdue' is 1 or absent."), field="overdue",
                            status=400)
    q.overdue = params.get("overdue") == "1"
    sort = params.get("sort") or ("relevance" if q.text.strip() else "newest")
    if sort not in SORTS:
        raise RegistryError("BAD_FILTER", _("Sort by relevance, newest or oldest."),
                            field="sort", status=400)
    q.sort = sort
    q.start = max(0, _int(params.get("b_start", 0), 0, 10 ** 7, "b_start"))
    q.size = _int(params.get("b_size", PAGE_SIZE), 1, MAX_BATCH, "b_size")
    return q


def searcher_org(request):
    """The account's organisation, if the account may search its letters (else 403)."""
    account = request.account
    org = request.root.orgs.get(account.org) if account else None
    if org is None or not request.has_permission(P.SEARCH_LETTERS, org):
        raise HTTPForbidden()
    return org


def run_search(request):
    """(query, results, rows): rows are (hit, item) for the hits the account may view."""
    org = searcher_org(request)
    q = query_from(request, org)
    site = request.root
    state = site.search_state

    def text_for(key):
        item = resolve(site, key)
        pdf = pdf_of(item) if item is not None else None
        return state.text_of(pdf.sha256) if pdf is not None else ""

    results = request.search_service.index.search(q, text_for=text_for)
    rows = []
    for hit in results.items:
        item = resolve(site, hit.key)
        permission = P.VIEW_LETTER if isinstance(item, Letter) else P.VIEW_DELIVERY
        if item is not None and request.has_permission(permission, item):
            rows.append((hit, item))
    return q, results, rows


def _party(site, regno):
    org = site.orgs.get(regno)
    return {"regno": regno, "name": org.name if org is not None else ""}


def item_json(request, hit, item):
    site = request.root
    letter = item.letter if isinstance(item, Delivery) else item
    incoming = isinstance(item, Delivery)
    when = item.delivered_at if incoming else (letter.sent_at or letter.created)
    return {
        "@id": request.resource_url(item), "@type": "Delivery" if incoming else "Letter",
        "subject": letter.subject, "direction": "incoming" if incoming else "outgoing",
        "state": item.state, "date": when.isoformat(),
        "outgoing_number": letter.outgoing_number,
        "incoming_number": item.incoming_number if incoming else None,
        "sender": _party(site, letter.org),
        "recipients": [_party(site, regno) for regno in letter.recipients],
        "executor": item.executor if incoming else None,
        "score": hit.score, "snippet": hit.highlights,
    }


def facet_title(request, name, value):
    if name == "counterpart":
        org = request.root.orgs.get(value)
        return org.name if org is not None else value
    if name == "state":
        return request.localizer.translate(state_titles().get(value, value))
    if name == "direction":
        return request.localizer.translate(DIRECTIONS.get(value, value))
    if name == "overdue":
        return request.localizer.translate(_("Overdue"))
    if name == "month":
        return request.localizer.translate(_("month-title", default="Month ${month}",
                                             mapping={"month": int(value)}))
    return value


def facets_json(request, results):
    return {name: [{"value": value, "count": count,
                    "title": facet_title(request, name, value)}
                   for value, count in results.facets.get(name, [])] for name in FACETS}


@view_config(context=Site, name="@search", renderer="json", permission=P.VIEW,
             accept="application/json", request_method="GET")
def search_json(request):
    q, results, rows = run_search(request)
    last = q.start + q.size < results.total
    return {"@id": request.url, "items": [item_json(request, hit, item) for hit, item in rows],
            "items_total": results.total, "partial": results.partial,
            "facets": facets_json(request, results),
            "batching": batching(request, q.start, q.size, results.total, last)}


@view_config(context=Site, name="@search", renderer="registry:templates/search.pt",
             permission=P.VIEW, accept="text/html", request_method="GET")
def search_page(request):
    error = None
    try:
        q, results, rows = run_search(request)
    except RegistryError as exc:
        if exc.code not in ("BAD_QUERY", "BAD_FILTER"):
            raise
        request.response.status = 400
        error, q, results, rows = exc.message, None, None, []
    chosen = {name: request.params.get(name, "") for name in FILTERS + ("q", "sort")}

    def link(**changes):
        params = {k: v for k, v in {**chosen, **changes}.items() if v not in ("", None)}
        params.pop("b_start", None)
        if "b_start" in changes and changes["b_start"]:
            params["b_start"] = changes["b_start"]
        return request.resource_url(request.root, "@search") + "?" + urlencode(params)

    facets = []
    if results is not None:
        for name in FACETS:
            values = results.facets.get(name, [])
            if values:
                facets.append((name, FACET_TITLES[name], [
                    (value, count, facet_title(request, name, value),
                     chosen.get(name) == value or (name == "overdue" and chosen["overdue"]))
                    for value, count in values[:12]]))
    return {"q": q, "results": results, "rows": [(hit, item, item_json(request, hit, item))
                                                 for hit, item in rows],
            "error": error, "chosen": chosen, "facets": facets, "link": link,
            "sorts": SORT_TITLES, "state_titles": state_titles(), "directions": DIRECTIONS}
