"""Several letters at once: the rows chosen on the inbox's or outbox's list
(`POST /orgs/<regno>/inbox/@@bulk`, `…/outbox/@@bulk`, form fields `ids` and `action`).

`action=csv|xlsx` exports the chosen letters as journal rows (the journal's own export code),
in the order chosen. Each chosen letter is checked as if it were read one at a time (its own
permission); an id not of this list refuses the whole request, naming it, and nothing is
written. The export is audited with the ids it holds.
"""
from pyramid.view import view_config

from registry.errors import RegistryError
from registry.i18n import _
from registry.journal import FOLDER, Chosen
from registry.resources.letter import Letter
from registry.resources.organisation import Inbox, Outbox
from registry.security import permissions as P
from registry.settings import zone
from registry.views.journal import file_response

#: The most letters chosen at once (a page of a list at its largest).
MAX_CHOSEN = 200
EXPORTS = ("csv", "xlsx")


def _bad(field, message):
    return RegistryError("BAD_SELECTION", message, field=field, status=400)


def chosen_items(request):
    """The items of the context folder named by the `ids` fields, in the order given, each
    readable by the caller; RegistryError(BAD_SELECTION) naming what is wrong otherwise."""
    box = request.context
    ids = list(dict.fromkeys(i for i in request.POST.getall("ids") if i))
    if not ids:
        raise _bad("ids", _("bulk-none", default="Choose at least one letter."))
    if len(ids) > MAX_CHOSEN:
        raise _bad("ids", _("bulk-too-many", default="At most ${max} letters at once.",
                            mapping={"max": MAX_CHOSEN}))
    items = []
    for name in ids:
        item = box.get(name)
        permission = P.VIEW_LETTER if isinstance(item, Letter) else P.VIEW_DELIVERY
        if item is None or not request.has_permission(permission, item):
            raise _bad("ids", _("bulk-unknown", default="'${id}' is not a letter of this list.",
                                mapping={"id": name[:40]}))
        items.append(item)
    return items


@view_config(context=Inbox, name="bulk", request_method="POST", permission=P.READ_JOURNAL)
@view_config(context=Outbox, name="bulk", request_method="POST", permission=P.READ_JOURNAL)
def bulk(request):
    action = request.POST.get("action")
    if action not in EXPORTS:
        raise _bad("action", _("bulk-bad-action", default="Choose what to do with the "
                               "chosen letters: export them as CSV or XLSX."))
    items = chosen_items(request)
    org = request.context.__parent__
    direction = next(d for d, folder in FOLDER.items() if folder == request.context.__name__)
    chosen = Chosen(request.root, org, direction, items, zone(request.registry.settings))
    response = file_response(request, chosen, action)
    request.root.audit.append(request.account.login, "list.export",
                              target=request.resource_path(request.context), org=org.regno,
                              detail={"direction": direction, "format": action,
                                      "ids": [item.__name__ for item in items]})
    return response
