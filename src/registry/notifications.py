"""Notifications: what an account is told, in the UI (the bell, its page) and by mail.

A notification is made in the transaction of the change it tells of (it is store data: it
cannot be lost, and an aborted change leaves none); a mail about it leaves only when that
transaction commits (`registry.mail`).

Storage, and why it does not make sends conflict: `site.notifications` keeps one
`NotificationBox` per account (an OOBTree under its login). A box keeps its notes in an OOBTree
keyed by (-microseconds, random token), so two transactions telling the same account add
different keys, which ZODB's BTree conflict resolution merges; the unread count is a
`BTrees.Length.Length`, whose concurrent changes merge too. Sends to different organisations
touch different boxes.

Who is told what follows workflow transitions: `subscribe(workflow, transition, handler)`
keys handlers by transition, and the engine's announcement (`TransitionEvent`, sent through
the request's registry) runs them inside the transition's transaction. A transition plugs in
with one line, e.g.

    subscribe("task", "assign", tell("task_assigned", logins("executor", "co_executors")))

Code that is not a transition calls `notify(...)` itself: the daily deadline check
(`check_due`) tells a task's executor and co-executors that it is due soon (`task_due_soon`,
`registry.notify.due_soon_working_days` working days before its due date, default 1) and that
it is overdue (`task_overdue`, from the day after), once per task, kind and due date (an
extension makes a new due date). It reads the desk's index of open tasks by due date (only the
keys in its two windows), runs in the server (`DueSchedule`, at the first look of each local
day by the application's clock) and by `registry notify due` (cron); the day it last ran is
kept in the store, and running it twice tells nobody twice. It tells in the UI only: mail
carries due tasks in the daily digest (`registry.mail`).
"""
import logging
import secrets
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timezone
from functools import partial

from BTrees.Length import Length
from BTrees.OOBTree import OOBTree
from persistent import Persistent
from zope.interface import Interface

from registry import settings as registry_settings
from registry import workdays
from registry.audit_sealing import seal_pending
from registry.i18n import _
from registry.operations import Schedule
from registry.resources.letter import Delivery, Letter
from registry.store import site_of
from registry.thread import answered_letter
from registry.workflow.engine import TransitionEvent, object_path

log = logging.getLogger(__name__)

#: kind -> the line that tells it (a message id with ${number}, ${org}, ${incoming},
#: ${answers}, ${due} from the notification's facts). Mails use the same line as subject.
KINDS = {
    "letter_received": _("notify-letter_received",
                         default="New letter № ${number} from ${org}"),
    "reply_received": _("notify-reply_received",
                        default="An answer № ${number} from ${org} to your letter № ${answers}"),
    "letter_registered": _("notify-letter_registered",
                           default="Your letter № ${number} is registered by ${org}"),
    "letter_rejected": _("notify-letter_rejected",
                         default="Your letter № ${number} is rejected by ${org}"),
    "task_assigned": _("notify-task_assigned",
                       default="You are the executor of letter № ${number} from ${org}"),
    "task_reassigned": _("notify-task_reassigned",
                         default="Letter № ${number} from ${org} is given to another executor"),
    "task_due_soon": _("notify-task_due_soon",
                       default="Letter № ${number} from ${org} is to be answered by ${due}"),
    "task_overdue": _("notify-task_overdue",
                      default="Letter № ${number} from ${org} was to be answered by ${due}"),
}
FACTS = ("number", "org", "incoming", "answers", "due")


class IPostman(Interface):
    """The application's postman (registered only when mail is on: registry.mail)."""


def utcnow():
    return datetime.now(timezone.utc)


@dataclass(frozen=True)
class Note:
    """One notification: immutable (marking it read stores a changed copy)."""

    id: str
    kind: str
    time: datetime
    actor: str
    target: str  # the path of what it tells of
    facts: dict = field(default_factory=dict)
    read: bool = False

    def mapping(self):
        return {name: self.facts.get(name) or "—" for name in FACTS}

    def message(self):
        """The line that tells it (a TranslationString)."""
        return _(KINDS[self.kind], mapping=self.mapping())


def _key(note_id):
    micros, _sep, token = (note_id or "").partition("-")
    return (-int(micros), token) if micros.isdigit() and token else None


class NotificationBox(Persistent):
    """One account's notifications: `notes` ((-µs, token) -> Note, newest first), `unread`
    (a Length), `digested_until` (the newest note a daily digest has carried)."""

    def __init__(self):
        self.notes = OOBTree()
        self.unread = Length()
        self.digested_until = None

    def add(self, kind, target, facts, actor, now):
        micros = int(now.timestamp() * 1_000_000)
        token = secrets.token_hex(4)
        note = Note(f"{micros}-{token}", kind, now, actor, target, dict(facts))
        self.notes[(-micros, token)] = note
        self.unread.change(1)
        return note

    def page(self, start=0, size=25):
        """(notes, total), newest first."""
        notes = []
        for index, note in enumerate(self.notes.values()):
            if index < start:
                continue
            if len(notes) == size:
                break
            notes.append(note)
        return notes, len(self.notes)

    def mark_read(self, note_ids=None):
        """Mark the notes `note_ids` (every unread one when None) read; return how many
        changed. Unknown ids are skipped."""
        if note_ids is None:
            keys = [k for k, note in self.notes.items() if not note.read]
        else:
            keys = [k for k in dict.fromkeys(map(_key, note_ids))
                    if k is not None and k in self.notes and not self.notes[k].read]
        for key in keys:
            self.notes[key] = replace(self.notes[key], read=True)
        if keys:
            self.unread.change(-len(keys))
        return len(keys)

    def unread_since(self, since):
        """Unread notes newer than `since` (a datetime, or None for all), oldest first."""
        found = []
        for note in self.notes.values():
            if since is not None and note.time <= since:
                break
            if not note.read:
                found.append(note)
        return list(reversed(found))


class Notifications(Persistent):
    """Every account's box (`boxes`: login -> NotificationBox), the local day the last
    daily digest went out (`last_digest_day`, ISO), so that it goes once a day, and the local
    day the deadline check last ran (`due_checked_day`, ISO)."""

    due_checked_day = None

    def __init__(self):
        self.boxes = OOBTree()
        self.last_digest_day = None

    def box(self, login, create=False):
        box = self.boxes.get(login)
        if box is None and create:
            box = self.boxes[login] = NotificationBox()
        return box

    def unread_count(self, login):
        box = self.boxes.get(login)
        return box.unread() if box is not None else 0


# Telling --------------------------------------------------------------------------------

def facts_of(target, site):
    """What a notification about `target` says of it: numbers, the counterpart's name, the due
    date; never the letter's subject or its file. A Letter or a Delivery; any other target
    (a task) answers its own `notification_facts()`."""
    def name(regno):
        org = site.orgs.get(regno)
        return org.name if org is not None else regno

    if isinstance(target, Delivery):
        letter = target.letter
        due = target.response_due or letter.response_due
        return {"number": letter.outgoing_number, "org": name(letter.org),
                "incoming": target.incoming_number, "due": due.isoformat() if due else None}
    if isinstance(target, Letter):
        return {"number": target.outgoing_number, "org": name(target.org)}
    return dict(target.notification_facts())


def notify(site, logins, kind, target, facts=None, actor="registry", now=None, postman=None):
    """Tell each active account of `logins` of `kind` about `target` (a resource; its path is
    kept); with a `postman`, those who chose immediate mail get one when the transaction
    commits. Returns the logins told, in order. Raises KeyError for an unknown kind."""
    if kind not in KINDS:
        raise KeyError(kind)
    now = now or utcnow()
    facts = {**facts_of(target, site), **(facts or {})}
    told = []
    for login in dict.fromkeys(logins):
        user = site.users.get(login) if login else None
        if user is None or not user.active or login == actor:
            continue
        note = site.notifications.box(login, create=True).add(
            kind, object_path(target), facts, actor, now)
        if postman is not None and user.email and user.mail_mode == "immediate":
            postman.send_note(site, user, note)
        told.append(login)
    return told


# Subscribers keyed by transition ---------------------------------------------------------

#: (workflow name, transition name) -> [handler(event, tell)]
SUBSCRIBERS = {}


def subscribe(workflow, transition, handler):
    """Run `handler(event, tell)` inside every firing of `transition` in `workflow`;
    `tell(logins, kind, target, facts=None)` notifies (see `notify`)."""
    SUBSCRIBERS.setdefault((workflow, transition), []).append(handler)


def tell(kind, recipients):
    """A handler telling the accounts `recipients(obj, entry)` names of `kind`, about the
    object the transition was fired on."""

    def handler(event, tell_):
        tell_(recipients(event.object, event.entry), kind, event.object)

    return handler


def logins(*attributes):
    """Recipients read from the object's attributes (each a login or a sequence of them)."""

    def read(obj, entry):
        found = []
        for name in attributes:
            value = getattr(obj, name, None)
            found.extend([value] if isinstance(value, str) else (value or ()))
        return found

    return read


def from_evidence(effect, key):
    """Recipients an effect of the transition recorded in its evidence (e.g. the executor a
    reassignment replaced: from_evidence("reassign_executor", "previous"))."""

    def read(obj, entry):
        value = entry.evidence.get(effect, {}).get(key)
        return [value] if isinstance(value, str) else list(value or ())

    return read


def site_of_item(obj):
    while getattr(obj, "__parent__", None) is not None:
        obj = obj.__parent__
    return obj


def dispatch(event, postman=None):
    """Run the subscribers of the transition `event` announces (TransitionEvent)."""
    handlers = SUBSCRIBERS.get((event.object.workflow_name, event.entry.transition), ())
    if not handlers:
        return
    site = site_of_item(event.object)
    now = datetime.fromisoformat(event.entry.time)

    def tell_(recipients, kind, target, facts=None):
        return notify(site, recipients, kind, target, facts, actor=event.entry.actor, now=now,
                      postman=postman)

    for handler in handlers:
        handler(event, tell_)


# The exchange's own subscribers ----------------------------------------------------------

def records_managers(site, regno):
    return [u.login for u in site.users.for_org(regno)
            if u.active and "records_manager" in u.roles]


def authors(letter):
    """Who a letter is "one's own" to: the account that drafted it and the one that sent it."""
    sent_by = [entry.actor for entry in letter.history if entry.transition == "send"]
    return [letter.created_by, *sent_by]


def _letter_sent(event, tell_):
    """Each recipient's records managers learn of a new letter; where it answers a letter of
    that recipient, that letter's authors learn of the answer."""
    letter = event.object
    site = site_of_item(letter)
    original = answered_letter(letter)
    for regno, delivery in letter.deliveries.items():
        answered = original is not None and original.org == regno
        told = tell_(authors(original), "reply_received", delivery,
                     {"answers": original.outgoing_number}) if answered else []
        tell_([login for login in records_managers(site, regno) if login not in told],
              "letter_received", delivery)


def _to_authors(kind):
    """The sender's authors learn what a recipient did with their letter."""

    def handler(event, tell_):
        delivery = event.object
        recipient = site_of_item(delivery).orgs[delivery.recipient]
        tell_(authors(delivery.letter), kind, delivery.letter, {"org": recipient.name})

    return handler


subscribe("letter", "send", _letter_sent)
subscribe("delivery", "register", _to_authors("letter_registered"))
subscribe("delivery", "reject", _to_authors("letter_rejected"))
def _task_assigned(event, tell_):
    """A task's `assign` (workflows/task.toml; the first is fired by the registration that
    opens it): the new executor and new co-executors learn of it, the executor it was taken
    from learns it went to another."""
    change = event.entry.evidence.get("set_executors", {})
    delivery = event.object.__parent__
    if "executor" in change:
        old, new = change["executor"]
        tell_([new] if new else [], "task_assigned", delivery)
        tell_([old] if old else [], "task_reassigned", delivery)
    if "co_executors" in change:
        old, new = change["co_executors"]
        tell_([login for login in new if login not in old], "task_assigned", delivery)


subscribe("task", "assign", _task_assigned)


# The daily deadline check ---------------------------------------------------------------



@dataclass
class DueReport:
    day: str
    due_soon: int = 0  # tasks told of
    overdue: int = 0


def check_due(site, today, soon_days, now=None):
    """Tell the executor and co-executors of each open task due from `today` to `soon_days`
    working days after it (`task_due_soon`), and of each whose due date passed since the last
    check (`task_overdue`; every one before today at the first check), once per task, kind and
    due date. Reads the desk's keys in those two windows only. Returns a DueReport."""
    state = site.notifications
    horizon = workdays.add_working_days(today, soon_days, site.calendar)
    windows = (("task_due_soon", today.isoformat(),
                date.fromordinal(horizon.toordinal() + 1).isoformat()),
               ("task_overdue", state.due_checked_day, today.isoformat()))
    told = {kind: 0 for kind, _since, _before in windows}
    for org in site.orgs.values():
        for kind, since, before in windows:
            for name in org.desk.due_between(since, before):
                task = org["inbox"][name].task
                mark = (kind, task.due.isoformat())
                if mark in task.notified:
                    continue
                task.notified = (*task.notified, mark)
                notify(site, [task.executor, *task.co_executors], kind, task.delivery, now=now)
                told[kind] += 1
    if state.due_checked_day is None or state.due_checked_day < today.isoformat():
        state.due_checked_day = today.isoformat()
    return DueReport(today.isoformat(), told["task_due_soon"], told["task_overdue"])


def run_due_check(db, settings, now=None):
    """The deadline check for the local day of `now` (default: the wall clock), in a
    transaction of its own (retried after a conflict with a change to a task), audited.
    Returns its DueReport."""
    import transaction

    now = now or utcnow()
    today = now.astimezone(registry_settings.zone(settings)).date()
    soon = registry_settings.due_soon_working_days(settings)
    tm = transaction.TransactionManager(explicit=True)
    conn = db.open(transaction_manager=tm)
    try:
        for attempt in tm.attempts(3):
            with attempt:
                site = site_of(conn)
                report = check_due(site, today, soon, now)
                site.audit.append("registry:due", "notify.due", target="/",
                                  detail={"day": report.day, "due_soon": report.due_soon,
                                          "overdue": report.overdue})
    finally:
        conn.close()
    seal_pending(db)
    return report


def stored_day(db, name):
    """The day a daily run last ran (`site.notifications.<name>`, ISO, or None), read in a
    short transaction of its own."""
    import transaction

    conn = db.open(transaction_manager=transaction.TransactionManager())
    try:
        return getattr(site_of(conn).notifications, name)
    finally:
        conn.transaction_manager.abort()
        conn.close()


class DueSchedule(Schedule):
    """Runs the deadline check in the server: a thread calls `tick()` every `poll` seconds; the
    first tick of a local day the check has not run on runs it. `clock()` returns the current
    UTC datetime (the application's clock: tests move it)."""

    name = "registry-due"

    def __init__(self, db, settings, clock, poll=60.0):
        super().__init__(poll)
        self.db = db
        self.settings = settings
        self.clock = clock

    def _loop(self):
        # Load the holiday calendar at start-up, not at the first check a minute later:
        # reading it imports some 280 modules of the `holidays` package, seconds of a busy
        # machine's time that would otherwise fall among the first requests.
        try:
            workdays.public_holidays(self.clock().astimezone(
                registry_settings.zone(self.settings)).year)
        except Exception:  # noqa: BLE001  (the check loads it itself)
            log.exception("%s: the holiday calendar could not be loaded", self.name)
        super()._loop()

    def tick(self):
        """Run the check if today's has not run; return its DueReport, or None."""
        from ZODB.POSException import ConflictError

        now = self.clock()
        today = now.astimezone(registry_settings.zone(self.settings)).date().isoformat()
        checked = stored_day(self.db, "due_checked_day")
        if checked is not None and checked >= today:
            return None
        try:
            return run_due_check(self.db, self.settings, now)
        except ConflictError:
            log.info("the deadline check ran in another process")
            return None


class IDueSchedule(Interface):
    """The server's deadline check schedule."""


def includeme(config):
    """Run the subscribers on every transition a request fires, mailing through the postman
    when mail is configured (registry.mail, included before); start the deadline check's
    schedule."""
    import atexit

    from ZODB.interfaces import IDatabase

    postman = config.registry.queryUtility(IPostman)
    config.add_subscriber(partial(dispatch, postman=postman), TransitionEvent)
    registry = config.registry
    schedule = DueSchedule(registry.getUtility(IDatabase), registry.settings,
                           clock=lambda: registry.clock())
    registry.registerUtility(schedule, IDueSchedule)
    schedule.start()
    atexit.register(schedule.stop)
