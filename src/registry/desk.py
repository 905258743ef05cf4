"""The records office's desk: tasks on registered incoming letters.

A registered delivery gets a Task (registry.resources.task) when the registration names an
executor, a resolution, a due date or a kind of letter with a term, or when the sender asked
for an answer by a date. Everything that changes a task afterwards is a transition of
workflows/task.toml; its guards and effects are here (merged into the workflow engine's
closed sets). `answer_task` is what sending a letter "in reply to" a delivery calls.

Options a transition reads (`ctx.options`): `executor` (login), `co_executors` (logins, a
list or a comma-separated string), `resolution`, `due_date` (YYYY-MM-DD) or `due_days`
(working days from today), `kind` (etc/deadlines.toml), and for `answer` the answering
letter's path as `answer`.
"""
from dataclasses import replace
from datetime import date, datetime, timezone

from registry import deadlines, workdays
from registry import settings as registry_settings
from registry.errors import RegistryError
from registry.i18n import _
from registry.resources.task import Task
from registry.safetext import check_text
from registry.search.queue import enqueue
from registry.security.principals import EXECUTOR_ROLES, SITE_ADMIN
from registry.workflow import engine
from registry.workflow.engine import GuardResult, object_path

RESOLUTION_MAX = 2000
CO_EXECUTORS_MAX = 10
TASK_OPTIONS = ("executor", "co_executors", "resolution", "due_date", "due_days", "kind",
                "response_due")


def includeme(config):
    """The application's clock (`registry.clock`, a callable returning an aware datetime):
    tests move it instead of waiting; `request.now` is its time, read once per request."""
    config.registry.clock = lambda: datetime.now(timezone.utc)
    config.add_request_method(lambda request: request.registry.clock(), "now", reify=True)


def local_today(request):
    """Today in the registry's time zone by the application's clock."""
    return request.now.astimezone(registry_settings.zone(request.registry.settings)).date()


def today(ctx):
    """Today in the registry's time zone (Asia/Ulaanbaatar unless `registry.timezone`)."""
    return ctx.now.astimezone(registry_settings.zone(ctx.settings)).date()


# Who may be given a task ---------------------------------------------------------------------

def eligible(user, regno):
    """An active account of `regno` holding the executor or records manager role; never a
    site administrator, never an auditor alone."""
    return (user is not None and user.active and user.org == regno
            and SITE_ADMIN not in user.roles and bool(set(user.roles) & set(EXECUTOR_ROLES)))


def executors_of(site, regno):
    """The accounts of `regno` a task may be given to, by name."""
    return sorted((u for u in site.users.for_org(regno) if eligible(u, regno)),
                  key=lambda u: (u.fullname or u.login).lower())


def person(site, login):
    """{"login", "name", "position"} of an account (its login as the name if it has none)."""
    user = site.users.get(login) if login else None
    if user is None:
        return None
    return {"login": user.login, "name": user.fullname or user.login,
            "position": getattr(user, "position", "")}


def clean_executor(site, regno, value, field="executor"):
    login = (value or "").strip().lower()
    if not login:
        return None
    user = site.users.get(login)
    if user is None or user.org != regno or not user.active:
        raise RegistryError("UNKNOWN_EXECUTOR",
                            _("The executor must be an active account of your "
                              "organisation."), field=field)
    if not eligible(user, regno):
        raise RegistryError("NOT_AN_EXECUTOR",
                            _("not-an-executor", default="'${login}' cannot be given tasks: "
                              "give them to an active executor or records manager of your "
                              "organisation.", mapping={"login": login[:40]}), field=field)
    return login


def clean_co_executors(site, regno, value, executor):
    values = value.replace(",", " ").split() if isinstance(value, str) else list(value or ())
    logins = []
    for raw in values:
        login = clean_executor(site, regno, raw, field="co_executors")
        if login and login != executor and login not in logins:
            logins.append(login)
    if len(logins) > CO_EXECUTORS_MAX:
        raise RegistryError("TOO_MANY_CO_EXECUTORS",
                            _("too-many-co-executors", default="A task has at most ${max} "
                              "co-executors.", mapping={"max": CO_EXECUTORS_MAX}),
                            field="co_executors")
    return tuple(logins)


def clean_resolution(value):
    resolution = check_text(value or "", "resolution").strip()
    if len(resolution) > RESOLUTION_MAX:
        raise RegistryError("RESOLUTION_TOO_LONG",
                            _("resolution-too-long", default="A resolution has at most ${max} "
                              "characters.", mapping={"max": RESOLUTION_MAX}),
                            field="resolution")
    return resolution


def clean_due(options, ctx, calendar):
    """The due date the options give (`due_date`, or `due_days` working days from today), or
    None. Raises RegistryError for a malformed date, a date before today, a bad day count."""
    now = today(ctx)
    if options.get("due_days") not in (None, ""):
        try:
            days = int(str(options["due_days"]).strip())
        except ValueError:
            days = -1
        if not 1 <= days <= workdays.MAX_TERM:
            raise RegistryError("INVALID_DUE_DAYS",
                                _("due-days-range", default="A term is 1 to ${max} working "
                                  "days.", mapping={"max": workdays.MAX_TERM}),
                                field="due_days")
        return workdays.add_working_days(now, days, calendar)
    if options.get("due_date") in (None, ""):
        return None
    due = workdays.clean_day(options["due_date"], field="due_date")
    if due < now:
        raise RegistryError("DUE_DATE_PAST",
                            _("due-date-past", default="The due date ${date} has passed; give "
                              "today's date or a later one.",
                              mapping={"date": due.isoformat()}), field="due_date")
    return due


# Opening a task at registration ------------------------------------------------------------

def wants_task(options, letter):
    return any(options.get(k) not in (None, "") for k in TASK_OPTIONS) or \
        getattr(letter, "response_due", None) is not None


def open_task(delivery, ctx, evidence):
    """Effect of `register`: open the delivery's task when the registration asks for one (or
    the sender asked for an answer by a date) and fire its first `assign` as the registering
    person; the due date is the one given, else the kind's default term."""
    options = dict(ctx.options)
    if options.get("response_due") and not options.get("due_date"):
        options["due_date"] = options["response_due"]  # the name the register form had
    if not wants_task(options, delivery.letter):
        return None
    site = ctx.site
    kind = deadlines.rules().kind(options.get("kind"))
    task = Task(delivery, kind.name)
    delivery.task = task
    due = clean_due(options, ctx, site.calendar)
    if due is None:
        due = deadlines.default_due(kind, today(ctx), delivery.letter.response_due,
                                    site.calendar)
    first = dict(options)
    first.update(due_date=due, due_days=None)
    engine().fire(task, "assign", replace(ctx, comment="", options=first))
    return {"task": task.kind, "due": due.isoformat() if due else None}


# Guards ------------------------------------------------------------------------------------

OK = GuardResult(True)


def extension_allowed(task, ctx):
    """A task with a due date whose kind still allows an extension."""
    kind = deadlines.rules().kinds.get(task.kind)
    if task.due is None:
        return GuardResult(False, reason="NO_DUE_DATE",
                           message=_("The task has no due date to extend."))
    if kind is None or task.extensions >= kind.extensions:
        return GuardResult(False, reason="NO_MORE_EXTENSIONS",
                           message=_("no-more-extensions", default="This kind of letter is "
                                     "extended at most ${n} time(s); it was extended "
                                     "${done}.", mapping={"n": kind.extensions if kind else 0,
                                                          "done": task.extensions}),
                           evidence={"extensions": task.extensions})
    return OK


def closer_is_assignee(task, ctx):
    """The task's executor or a co-executor closes it, or a records manager."""
    user = ctx.site.users.get(ctx.actor)
    if user is not None and (ctx.actor == task.executor or ctx.actor in task.co_executors
                             or "records_manager" in user.roles):
        return OK
    return GuardResult(False, reason="NOT_YOUR_TASK",
                       message=_("Only the task's executor or a records manager closes it."))


def on_paper(delivery, ctx):
    """Only a letter that came on paper is registered without a signature check."""
    if delivery.on_paper:
        return OK
    return GuardResult(False, reason="NOT_ON_PAPER",
                       message=_("Only a letter that came on paper is registered this way."))


GUARDS = {"extension_allowed": extension_allowed, "closer_is_assignee": closer_is_assignee,
          "on_paper": on_paper}


# Effects -----------------------------------------------------------------------------------

def _changed(task, changes):
    """Apply {attribute: value}; keep the delivery's copies, the desk's indexes and the search
    index in step; return {attribute: [old, new]} of what changed."""
    delivery = task.__parent__
    done = {}
    for name, value in changes.items():
        old = getattr(task, name)
        if old != value:
            done[name] = [_plain(old), _plain(value)]
            setattr(task, name, value)
    delivery.executor = task.executor
    delivery.response_due = task.due
    desk_of(delivery).update(task)
    sender = delivery.__parent__.__parent__.__parent__.get(delivery.sender) \
        if delivery.sender else None
    if sender is not None:
        sender.desk.await_answer(task)
    if done:
        enqueue(delivery)
    return done


def set_executors(task, ctx, evidence):
    site, regno = ctx.site, task.owner_regno()
    executor = clean_executor(site, regno, ctx.options.get("executor"))
    changes = {"executor": executor}
    if "co_executors" in ctx.options or executor is None:
        changes["co_executors"] = clean_co_executors(site, regno,
                                                     ctx.options.get("co_executors"), executor)
    else:
        changes["co_executors"] = tuple(c for c in task.co_executors if c != executor)
    if "resolution" in ctx.options:
        changes["resolution"] = clean_resolution(ctx.options["resolution"])
    if "due_date" in ctx.options or "due_days" in ctx.options:
        changes["due"] = _due_option(ctx, site)
    return _changed(task, changes)


def _due_option(ctx, site):
    value = ctx.options.get("due_date")
    if isinstance(value, date):  # computed by open_task from the kind's term
        return value
    return clean_due(ctx.options, ctx, site.calendar)


def set_resolution(task, ctx, evidence):
    return _changed(task, {"resolution": clean_resolution(ctx.options.get("resolution"))})


def set_due(task, ctx, evidence):
    due = _due_option(ctx, ctx.site)
    if due is None:
        raise RegistryError("DUE_DATE_REQUIRED", _("Give the new due date."), field="due_date")
    return _changed(task, {"due": due})


def extend_due(task, ctx, evidence):
    """Move the due date later, by at most the kind's extension term."""
    kind = deadlines.rules().kinds[task.kind]
    due = _due_option(ctx, ctx.site)
    latest = kind.add(task.due, kind.extension_max, ctx.site.calendar)
    if due is None or due <= task.due or due > latest:
        raise RegistryError("INVALID_EXTENSION",
                            _("invalid-extension", default="An extension moves the due date "
                              "later, to ${latest} at the latest.",
                              mapping={"latest": latest.isoformat()}), field="due_date")
    changed = _changed(task, {"due": due, "extensions": task.extensions + 1})
    return changed


def finish_task(task, ctx, evidence):
    """Done: closed with a note, or answered by a sent letter (`answer` option)."""
    answer = ctx.options.get("answer")
    changes = {"note": ctx.comment.strip(), "done_at": ctx.now}
    if answer:
        changes["answered_by"] = tuple(task.answered_by) + (answer,)
    return _changed(task, changes)


EFFECTS = {"open_task": open_task, "set_executors": set_executors,
           "set_resolution": set_resolution, "set_due": set_due, "extend_due": extend_due,
           "finish_task": finish_task}


def answer_task(delivery, letter, ctx):
    """A letter "in reply to" `delivery` was sent: its open task is done, answered by it (the
    registry fires `answer`). Returns the history entry, or None when there is no open task."""
    task = getattr(delivery, "task", None)
    if task is None or task.state != "open":
        return None
    system = replace(ctx, permits=lambda permission, obj: False, comment="",
                     options={"answer": object_path(letter)})
    return engine().fire(task, "answer", system, system=True)


# Reading -----------------------------------------------------------------------------------

def desk_of(delivery):
    return delivery.__parent__.__parent__.desk


def task_json(task, request=None, today_=None, calendar=None):
    """The task's part of a delivery's JSON: executor, co_executors, resolution, due_date,
    task, overdue, answered_by (the answers' @id with a request, else their paths)."""
    if task is None:
        return {"executor": None, "co_executors": [], "resolution": "", "due_date": None,
                "task": None, "overdue": False, "due_soon": False, "answered_by": []}
    state = deadlines.urgency(task.due, today_, calendar) \
        if task.state == "open" and today_ else ""
    return {"executor": task.executor, "co_executors": list(task.co_executors),
            "resolution": task.resolution,
            "due_date": task.due.isoformat() if task.due else None,
            "task": task.state, "kind": task.kind, "overdue": state == "overdue",
            "due_soon": state == "soon", "extensions": task.extensions,
            "note": task.note,
            "answered_by": [_url(request, path) for path in task.answered_by]}


def _url(request, path):
    if request is None:
        return path
    return request.application_url + path + "/"


def _plain(value):
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, tuple):
        return list(value)
    return value
