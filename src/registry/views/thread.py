"""The thread of a letter or delivery: on its page (a box beside it) and as JSON (`@thread`)."""
from pyramid.view import view_config

from registry import settings as registry_settings
from registry.resources.letter import Delivery, Letter
from registry.security import permissions as P
from registry.thread import thread_json, thread_of


def _letter(item):
    return item if isinstance(item, Letter) else item.letter


def thread_values(request, item):
    """What a letter's or delivery's page needs to show its thread (for the organisation
    whose copy `item` is)."""
    zone = registry_settings.zone(request.registry.settings)
    orgs = request.root.orgs

    def thread_date(letter):
        when = letter.sent_at or letter.created
        return when.astimezone(zone).strftime("%Y-%m-%d")

    return {"thread": thread_of(_letter(item), item.owner_regno()),
            "thread_date": thread_date,
            "thread_org_name": lambda regno: orgs[regno].name if regno in orgs else regno}


@view_config(context=Letter, name="@thread", renderer="json", permission=P.VIEW_LETTER,
             request_method="GET")
@view_config(context=Delivery, name="@thread", renderer="json", permission=P.VIEW_DELIVERY,
             request_method="GET")
def thread_api(request):
    """GET <letter or delivery>/@thread: the letters of its thread the caller's organisation
    is a party to (with `@id`), and the others by number and date only."""
    item = request.context
    return thread_json(request, _letter(item), item.owner_regno())
