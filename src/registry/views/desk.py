"""The desk's views: a delivery's task (its panel and transitions), "My tasks", control
(хяналт), the JSON list of open tasks, and the site administrator's calendar."""
from datetime import timedelta

from pyramid.httpexceptions import HTTPFound
from pyramid.view import view_config

from registry import deadlines, desk, exchange, workdays
from registry.errors import NotFound, RegistryError
from registry.i18n import _
from registry.resources.letter import Delivery
from registry.resources.organisation import Organisation
from registry.resources.site import Site
from registry.security import permissions as P
from registry.views.api import batch_params, batching
from registry.views.forms import flash
from registry.views.intake import read_json
from registry.views.transitions import workflow_context
from registry.workflow import TransitionRefused, state_titles, transition_titles

URGENCY_TITLES = {
    "overdue": _("urgency-overdue", default="Overdue"),
    "soon": _("urgency-soon", default="Due soon"),
}
URGENCY_CLASSES = {"overdue": "text-bg-danger", "soon": "text-bg-warning"}
#: Fields a task transition reads from a form or a JSON body.
TASK_FIELDS = ("executor", "co_executors", "resolution", "due_date", "due_days")


def urgency(request, task):
    """"overdue", "soon" or "" for an open task by the application's clock."""
    if task is None or task.state != "open":
        return ""
    return deadlines.urgency(task.due, desk.local_today(request), request.root.calendar)


def urgency_marks(request):
    """What a list needs to mark tasks: `urgency(task)` and the badges' titles and classes."""
    return {"urgency": lambda task: urgency(request, task), "urgency_titles": URGENCY_TITLES,
            "urgency_classes": URGENCY_CLASSES}


def register_choices(request, regno):
    """What the register form offers: executors (by name and position), kinds, today."""
    return {
        "executors": desk.executors_of(request.root, regno),
        "kinds": [(k, deadlines.KIND_TITLES.get(k, k)) for k in deadlines.rules().kinds],
        "today": desk.local_today(request).isoformat(),
        "asked_due": "",
    }


def panel(request, delivery):
    """What the delivery page shows of its task, and the forms the viewer may use."""
    site, task = request.root, delivery.task
    ctx = _context(request)
    asked = delivery.letter.response_due
    return {
        **register_choices(request, delivery.recipient),
        "asked_due": asked.isoformat() if asked else "",
        "task": task,
        "person": lambda login: desk.person(site, login),
        "urgency": urgency(request, task),
        "urgency_titles": URGENCY_TITLES,
        "urgency_classes": URGENCY_CLASSES,
        "state_titles": state_titles("task"),
        "transition_titles": transition_titles("task"),
        "offered": exchange.offered(task, ctx) if task is not None else [],
        "kind_titles": deadlines.KIND_TITLES,
    }


def _context(request, comment="", options=None):
    return workflow_context(request, comment, options)


def _task(delivery):
    if delivery.task is None:
        raise NotFound("NO_TASK", _("This letter has no task."))
    return delivery.task


def form_options(params):
    """The task fields of a submitted form (co-executors may repeat)."""
    options = {key: params.get(key, "") for key in TASK_FIELDS if key in params}
    if "co_executors" in params:
        options["co_executors"] = [v for v in params.getall("co_executors") if v]
    return options


def _task_body(request, delivery):
    task = _task(delivery)
    data = delivery.task_json(request)
    data.update({"@id": request.resource_url(delivery, "@task"), "@type": "Task",
                 "delivery": request.resource_url(delivery),
                 "executor_person": desk.person(request.root, task.executor),
                 "co_executor_persons": [desk.person(request.root, c)
                                         for c in task.co_executors],
                 "transitions": [t.name for t in exchange.offered(task, _context(request))],
                 "history": [entry.__dict__ for entry in task.history]})
    return data


@view_config(context=Delivery, name="@task", renderer="json", permission=P.VIEW_DELIVERY,
             request_method="GET")
def task_json(request):
    return _task_body(request, request.context)


@view_config(context=Delivery, name="@task", renderer="json", permission=P.VIEW_DELIVERY,
             request_method="POST")
def task_fire_json(request):
    """POST <delivery>/@task/<transition> with {"comment", "executor", "co_executors",
    "resolution", "due_date" | "due_days"}; refusals answer like @workflow's."""
    delivery = request.context
    if len(request.subpath) != 1:
        raise RegistryError("TRANSITION_REQUIRED", _("Name the transition: @task/<name>."),
                            status=404)
    body = read_json(request, "fireTaskTransition", optional=True)
    comment = body.get("comment") or body.get("reason") or ""
    options = {k: body[k] for k in TASK_FIELDS if k in body}
    try:
        entry = exchange.transition(_task(delivery), request.subpath[0],
                                    _context(request, comment, options))
    except TransitionRefused as refused:
        request.tm.doom()
        request.response.status = refused.status
        translate = request.localizer.translate
        return {"error": {"code": refused.code, "message": translate(refused.message)},
                "reasons": [{"code": r.reason, "message": translate(r.message),
                             "guard": r.guard, "evidence": r.evidence}
                            for r in refused.results]}
    return {**_task_body(request, delivery), "entry": entry.__dict__}


# Lists -------------------------------------------------------------------------------------

def _rows(request, org, names):
    inbox, site = org["inbox"], request.root
    rows = []
    for name in names:
        delivery = inbox[name]
        rows.append({"delivery": delivery, "task": delivery.task,
                     "executor": desk.person(site, delivery.task.executor),
                     "urgency": urgency(request, delivery.task)})
    return rows


def _list(request, org, executor, overdue):
    start, size = batch_params(request)
    today = desk.local_today(request).isoformat()
    names, total = org.desk.page(executor=executor, overdue_on=today if overdue else None,
                                 start=start, size=size, after=request.params.get("b_after"))
    return names, total, start, size


def _page(request, executor, overdue, **extra):
    org = request.context
    names, total, start, size = _list(request, org, executor, overdue)
    return {"org": org, "rows": _rows(request, org, names), "total": total, "start": start,
            "size": size, "more": start + size < total, "overdue": overdue,
            "last": names[-1] if names else None,
            "urgency_titles": URGENCY_TITLES, "urgency_classes": URGENCY_CLASSES,
            "kind_titles": deadlines.KIND_TITLES, **extra}


def _overdue_param(request):
    value = request.params.get("overdue", "")
    if value not in ("", "true", "false"):
        raise RegistryError("INVALID_FIELD", _("'overdue' is true or false."), field="overdue")
    return value == "true"


@view_config(context=Organisation, name="tasks", renderer="registry:templates/tasks.pt",
             permission=P.VIEW_TASKS, accept="text/html")
def my_tasks(request):
    """The signed-in account's open tasks (responsible or co-executor), due first."""
    return _page(request, request.account.login, _overdue_param(request), mode="mine",
                 title=_("My tasks"))


@view_config(context=Organisation, name="control", renderer="registry:templates/tasks.pt",
             permission=P.CONTROL_TASKS, accept="text/html")
def control(request):
    """Every open task of the organisation, due first, with counts by executor."""
    org, site = request.context, request.root
    executor = request.params.get("executor") or None
    today = desk.local_today(request).isoformat()
    by_executor = [{"person": desk.person(site, login) or {"login": login, "name": login,
                                                             "position": ""},
                    "open": count, "overdue": org.desk.overdue_of(login, today)}
                   for login, count in org.desk.executors()]
    return _page(request, executor, _overdue_param(request), mode="control",
                 title=_("Control of tasks"), chosen=executor, by_executor=by_executor,
                 all_open=org.desk.count(), all_overdue=org.desk.count(overdue_on=today))


@view_config(context=Organisation, name="@tasks", renderer="json", permission=P.VIEW_TASKS,
             request_method="GET")
def tasks_json(request):
    """Open tasks, due first, paged like the mailboxes; `executor=LOGIN`, `overdue=true`.
    Without the control permission, a caller sees only its own tasks."""
    org = request.context
    executor = (request.params.get("executor") or "").strip().lower() or None
    if not request.has_permission(P.CONTROL_TASKS, org):
        if executor not in (None, request.account.login):
            raise RegistryError("FORBIDDEN", _("You see only your own tasks."), status=403)
        executor = request.account.login
    names, total, start, size = _list(request, org, executor, _overdue_param(request))
    inbox = org["inbox"]
    items = []
    for name in names:
        delivery = inbox[name]
        items.append({"@id": request.resource_url(delivery), "id": name,
                      "subject": delivery.letter.subject,
                      "incoming_number": delivery.incoming_number,
                      "sender": delivery.sender, **delivery.task_json(request)})
    return {"@id": request.url, "@type": "Tasks", "items": items, "items_total": total,
            "batching": batching(request, start, size, total, start + size < total,
                                 names[-1] if names else None)}


def home_counts(request, org):
    """The home page's desk figures for the account: its own open, due-soon and overdue
    tasks; the organisation's (control); and, as a sender, answers overdue or due soon at
    recipients. Only what the account may see; each a range of an index."""
    if org is None:
        return None
    today = desk.local_today(request)
    soon_end = workdays.add_working_days(today, deadlines.rules().due_soon_working_days,
                                         request.root.calendar) + timedelta(days=1)
    figures = {}
    if request.has_permission(P.VIEW_TASKS, org):
        login = request.account.login
        overdue = org.desk.count(login, today.isoformat())
        figures["mine"] = {"open": org.desk.count(login), "overdue": overdue,
                           "soon": org.desk.count(login, soon_end.isoformat()) - overdue}
    if request.has_permission(P.CONTROL_TASKS, org):
        figures["control"] = {"open": org.desk.count(),
                              "overdue": org.desk.count(overdue_on=today.isoformat())}
    if request.has_permission(P.VIEW_MAILBOX, org):
        figures["awaited"] = {
            "overdue": org.desk.awaited_count(before=today.isoformat()),
            "soon": org.desk.awaited_count(before=soon_end.isoformat(),
                                           since=today.isoformat())}
    return figures


# The calendar ------------------------------------------------------------------------------

DAY_KIND_TITLES = {
    workdays.OFF: _("day-off", default="Day off"),
    workdays.WORKING: _("day-working", default="Working day"),
}


def _year(request, today):
    value = request.params.get("year", "")
    if value.isdigit() and 2000 <= int(value) <= 2100:
        return int(value)
    return today.year


def calendar_page(request, refusal=None):
    site = request.root
    today = desk.local_today(request)
    year = _year(request, today)
    return {"year": year, "today": today.isoformat(),
            "holidays": sorted(workdays.public_holidays(year).items()),
            "changes": site.calendar.changes(year), "kind_titles": DAY_KIND_TITLES,
            "refusal": refusal}


@view_config(context=Site, name="calendar", renderer="registry:templates/calendar.pt",
             permission=P.MANAGE_CALENDAR, request_method="GET")
def calendar_view(request):
    return calendar_page(request)


@view_config(context=Site, name="calendar", renderer="registry:templates/calendar.pt",
             permission=P.MANAGE_CALENDAR, request_method="POST")
def calendar_change(request):
    """Declare a day off or a working day (with a note), or clear a declaration."""
    site, actor = request.root, request.account.login
    day = request.POST.get("day", "")
    try:
        if request.POST.get("kind") == "clear":
            workdays.clear(site, actor, day)
        else:
            workdays.declare(site, actor, day, request.POST.get("kind", ""),
                             request.POST.get("note", ""))
    except RegistryError as exc:
        request.tm.doom()
        request.response.status = exc.status
        return calendar_page(request, refusal=exc.message)
    flash(request, _("The calendar is changed."))
    year = workdays.clean_day(day).year
    return HTTPFound(location=request.resource_url(site, "@@calendar", query={"year": year}))
