"""An organisation's journals: `/orgs/<regno>/@@journal` (the page), `@journal` (JSON, or a
file with `format=csv|xlsx|pdf`). Filters: `direction` (incoming | outgoing), `from`, `to`
(ISO dates, local; default: this year so far), `series`; paged with `b_start`/`b_size`;
`order=desc` for newest first.
"""
import os
import tempfile

from pyramid.response import FileIter, Response
from pyramid.view import view_config
from werkzeug.http import dump_options_header

from registry.errors import RegistryError
from registry.i18n import _
from registry.journal import DIRECTIONS, INCOMING, Journal, parse_period
from registry.journal_export import COLUMNS, FORMATS, cells, titles, write_csv, write_pdf, \
    write_xlsx
from registry.fonts import cyrillic_font
from registry.resources.organisation import Organisation
from registry.safetext import check_text
from registry.security import permissions as P
from registry.desk import local_today
from registry.settings import zone
from registry.views.api import batch_params, batching
from registry.workflow import state_titles

PAGE_SIZE = 50
#: The most entries a printable journal holds (about 400 A4 pages): a longer period is printed
#: in parts, or exported as XLSX or CSV, which have no limit.
PRINT_MAX_ROWS = 10_000


def _bad(field, message):
    return RegistryError("BAD_FILTER", message, field=field, status=400)


def journal_from(request):
    """The Journal the request's parameters ask for; RegistryError(BAD_FILTER) otherwise."""
    params, settings = request.params, request.registry.settings
    direction = params.get("direction") or INCOMING
    if direction not in DIRECTIONS:
        raise _bad("direction", _("Direction is 'incoming' or 'outgoing'."))
    try:
        first, last = parse_period(params.get("from"), params.get("to"), local_today(request))
    except ValueError as exc:
        raise _bad(str(exc), _("journal-bad-period", default="A period runs from a date to "
                               "the same or a later date, each written YYYY-MM-DD.")) from None
    series = check_text(params.get("series", ""), "series").strip()[:20] or None
    return Journal(request.root, request.context, direction, first, last, zone(settings),
                   series=series)


def _descending(request):
    order = request.params.get("order") or "asc"
    if order not in ("asc", "desc"):
        raise _bad("order", _("journal-bad-order", default="Order is 'asc' (oldest first) "
                              "or 'desc' (newest first)."))
    return order == "desc"


def _url(request):
    def url(target):
        if isinstance(target, str):
            return request.application_url + target
        return request.resource_url(target)
    return url


@view_config(context=Organisation, name="journal", renderer="registry:templates/journal.pt",
             permission=P.READ_JOURNAL, accept="text/html", request_method="GET")
def journal_page(request):
    journal = journal_from(request)
    descending = _descending(request)
    start, size = batch_params(request, PAGE_SIZE)
    total = len(journal)
    translate = request.localizer.translate
    rows = list(journal.rows(start, size, descending, request.params.get("b_after")))
    query = {k: v for k, v in request.GET.items()
             if k not in ("b_start", "b_size", "b_after", "format")}
    return {
        "journal": journal, "rows": rows, "total": total, "start": start, "size": size,
        "more": start + size < total, "descending": descending,
        "titles": titles(journal.direction, translate), "columns": [c[0] for c in COLUMNS],
        "cells": lambda row: cells(row, translate, state_titles()),
        "series_choices": journal.series_present(), "state_titles": state_titles(),
        "directions": {"incoming": _("Incoming"), "outgoing": _("Outgoing")},
        "export_url": lambda fmt: request.resource_url(request.context, "@journal",
                                                       query={**query, "format": fmt}),
        "page_url": lambda b_start, after=None: request.resource_url(
            request.context, "@@journal", query={**query, "b_start": b_start,
                                                 **({"b_after": after} if after else {})}),
        "direction_url": lambda direction: request.resource_url(
            request.context, "@@journal", query={**{k: v for k, v in query.items()
                                                    if k != "series"},
                                                 "direction": direction}),
    }


@view_config(context=Organisation, name="@journal", renderer="json", permission=P.READ_JOURNAL,
             request_method="GET")
def journal_json(request):
    journal = journal_from(request)
    descending = _descending(request)
    fmt = request.params.get("format")
    if fmt:
        return export_response(request, journal, fmt)
    start, size = batch_params(request)
    total = len(journal)
    url = _url(request)
    rows = list(journal.rows(start, size, descending, request.params.get("b_after")))
    return {"@id": request.url, "@type": "Journal", "direction": journal.direction,
            "from": journal.first.isoformat(), "to": journal.last.isoformat(),
            "series": journal.series, "items": [row.as_json(url) for row in rows],
            "items_total": total,
            "batching": batching(request, start, size, total, start + size < total,
                                 rows[-1].item.__name__ if rows else None)}


def export_file(journal, fmt, path, translate):
    """Write `journal` as `fmt` (csv | xlsx | pdf) to `path`; return the number of rows."""
    if fmt == "csv":
        # UTF-8 with a byte-order mark: spreadsheet programs then read Cyrillic right.
        with open(path, "w", encoding="utf-8-sig", newline="") as out:
            return write_csv(journal, out, translate, state_titles())
    if fmt == "xlsx":
        return write_xlsx(journal, path, translate, state_titles())
    return write_pdf(journal, path, translate, state_titles(), cyrillic_font())


def export_name(journal, fmt):
    series = f"-{journal.series}" if journal.series else ""
    return (f"journal-{journal.org.regno}-{journal.direction}{series}-"
            f"{journal.first.isoformat()}-{journal.last.isoformat()}.{FORMATS[fmt][1]}")


def export_response(request, journal, fmt):
    """The journal as a file download. It is written to a temporary file first, within the
    request's transaction (so it reads one consistent state of the store), then streamed."""
    if fmt not in FORMATS:
        raise _bad("format", _("journal-bad-format", default="A journal is exported as csv, "
                               "xlsx or pdf."))
    if fmt == "pdf" and len(journal) > PRINT_MAX_ROWS:
        raise RegistryError("TOO_LONG_TO_PRINT", _(
            "journal-too-long-to-print", default="The period holds ${count} entries; a "
            "printed journal holds at most ${max}. Choose a shorter period or a series, or "
            "export it as XLSX or CSV.", mapping={"count": len(journal), "max": PRINT_MAX_ROWS}),
            field="to", status=413)
    response = file_response(request, journal, fmt)
    request.root.audit.append(request.account.login, "journal.export",
                              target=request.resource_path(request.context, "@journal"),
                              org=journal.org.regno,
                              detail={"direction": journal.direction, "format": fmt,
                                      "from": journal.first.isoformat(),
                                      "to": journal.last.isoformat(), "series": journal.series})
    return response


def file_response(request, journal, fmt):
    """`journal` (or any object with its attributes and `rows()`) as a download of `fmt`."""
    handle, path = tempfile.mkstemp(prefix="journal-", suffix="." + fmt)
    os.close(handle)
    try:
        export_file(journal, fmt, path, request.localizer.translate)
        stream = open(path, "rb")
    finally:
        os.unlink(path)  # the open file stays readable until it is closed
    size = os.fstat(stream.fileno()).st_size
    response = Response(content_type=FORMATS[fmt][0].split(";")[0], charset=None)
    if fmt == "csv":
        response.charset = "utf-8"
    response.app_iter = FileIter(stream)
    response.content_length = size
    response.headers["Content-Disposition"] = dump_options_header(
        "attachment", {"filename": export_name(journal, fmt)})
    return response
