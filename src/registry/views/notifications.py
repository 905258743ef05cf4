"""An account's notifications: the page behind the bell, marking read; HTML and JSON."""
from pyramid.httpexceptions import HTTPFound
from pyramid.traversal import find_resource
from pyramid.view import view_config

from registry import settings as registry_settings
from registry.errors import RegistryError
from registry.i18n import _
from registry.resources.user import User
from registry.security import permissions as P
from registry.views.api import batch_params, batching
from registry.views.forms import flash
from registry.views.intake import read_json

#: The permission that lets the viewer open what a notification is about, by its kind of target.
_OPEN = {"Letter": P.VIEW_LETTER, "Delivery": P.VIEW_DELIVERY}


def _box(request):
    return request.root.notifications.box(request.context.login)


def _page(request):
    """(notes, total, start, size) of the account's notifications, newest first."""
    start, size = batch_params(request)
    box = _box(request)
    notes, total = box.page(start, size) if box is not None else ([], 0)
    return notes, total, start, size


def target_of(request, note):
    """What the notification is about, if the viewer may open it now, else None."""
    try:
        target = find_resource(request.root, note.target)
    except KeyError:
        return None
    permission = _OPEN.get(type(target).__name__, P.VIEW)
    return target if request.has_permission(permission, target) else None


def mark_read(request, ids):
    """Mark the account's notifications `ids` (all when None) read; audited. Returns how many
    changed."""
    box = _box(request)
    changed = box.mark_read(ids) if box is not None else 0
    if changed:
        request.root.audit.append(request.account.login, "notifications.read",
                                  target=request.resource_path(request.context),
                                  org=request.context.org, detail={"count": changed})
    return changed


@view_config(context=User, name="notifications", renderer="registry:templates/notifications.pt",
             permission=P.OWN_NOTIFICATIONS, request_method="GET")
def notifications(request):
    notes, total, start, size = _page(request)
    zone = registry_settings.zone(request.registry.settings)
    return {"notes": [(note, target_of(request, note)) for note in notes], "total": total,
            "start": start, "size": size, "more": start + size < total,
            "unread": request.root.notifications.unread_count(request.context.login),
            "local_time": lambda when: when.astimezone(zone).strftime("%Y-%m-%d %H:%M")}


@view_config(context=User, name="notifications", permission=P.OWN_NOTIFICATIONS,
             request_method="POST")
def notifications_read(request):
    """Mark read: `read` names one notification, `all` marks every one."""
    if request.POST.get("all"):
        changed = mark_read(request, None)
    else:
        changed = mark_read(request, [request.POST.get("read", "")])
    if changed:
        flash(request, _("notifications-marked", default="${count} notification(s) marked read.",
                         mapping={"count": changed}))
    return HTTPFound(location=request.resource_url(request.context, "@@notifications"))


def note_json(request, note):
    return {"id": note.id, "kind": note.kind, "time": note.time.isoformat(), "read": note.read,
            "message": request.localizer.translate(note.message()),
            "target": f"{request.application_url}{note.target}/", "facts": dict(note.facts)}


@view_config(context=User, name="@notifications", renderer="json",
             permission=P.OWN_NOTIFICATIONS, request_method="GET")
def notifications_json(request):
    notes, total, start, size = _page(request)
    return {"@id": request.url, "@type": "Notifications",
            "unread": request.root.notifications.unread_count(request.context.login),
            "items": [note_json(request, note) for note in notes], "items_total": total,
            "batching": batching(request, start, size, total, start + size < total)}


@view_config(context=User, name="@notifications", renderer="json",
             permission=P.OWN_NOTIFICATIONS, request_method="POST")
def notifications_read_json(request):
    """POST {"read": [ids]} or {"all": true}: mark notifications read."""
    body = read_json(request, "markNotificationsRead")
    if body.get("all"):
        changed = mark_read(request, None)
    elif body.get("read"):
        changed = mark_read(request, body["read"])
    else:
        raise RegistryError("NOTHING_TO_MARK", _("Name the notifications to mark read, or "
                                                 "all."), field="read")
    return {"marked": changed,
            "unread": request.root.notifications.unread_count(request.context.login)}
