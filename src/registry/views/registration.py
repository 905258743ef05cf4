"""Printing a registered letter's registration: `<delivery>/@@stamp` (the registration stamp,
a label for a letter that came on paper) and `<delivery>/@@card` (the registration card), both
PDFs shown in the browser to print."""
import re

from pyramid.response import Response
from pyramid.view import view_config
from werkzeug.http import dump_options_header

from registry.errors import Conflict
from registry.i18n import _
from registry.registration_print import card_pdf, stamp_pdf
from registry.resources.letter import Delivery
from registry.security import permissions as P
from registry.settings import zone
from registry.workflow import transition_titles


def _printed(request, what, make):
    delivery = request.context
    if not delivery.incoming_number:
        raise Conflict("NOT_REGISTERED", _("not-registered-yet", default="The letter is not "
                                           "registered yet: it has no incoming number."))
    data = make(request.root, delivery, zone(request.registry.settings),
                request.localizer.translate)
    number = re.sub(r"[^0-9A-Za-z-]+", "-", delivery.incoming_number).strip("-")
    response = Response(body=data, content_type="application/pdf")
    response.headers["Content-Disposition"] = dump_options_header(
        "inline", {"filename": f"{what}-{delivery.recipient}-{number}.pdf"})
    return response


@view_config(context=Delivery, name="stamp", permission=P.VIEW_DELIVERY, request_method="GET")
def stamp(request):
    return _printed(request, "stamp", stamp_pdf)


@view_config(context=Delivery, name="card", permission=P.VIEW_DELIVERY, request_method="GET")
def card(request):
    return _printed(request, "card", lambda site, delivery, tz, translate: card_pdf(
        site, delivery, tz, translate, transition_titles()))
