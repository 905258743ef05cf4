"""Mail: notifications and the daily digest by e-mail, through pyramid_mailer.

- **On or off.** Mail is on when `mail.host` is set (pyramid_mailer's settings: `mail.host`,
  `mail.port`, `mail.default_sender`, `mail.username`, `mail.password`, `mail.tls`, ...);
  then `mail.default_sender` and `registry.public_url` (the address people open the registry
  at, for the links in mails) are required, and the application refuses to start without
  them. Without `mail.host`, notifications are shown in the UI only.
- **After commit only.** A mail joins the transaction that made its notification (pyramid_mailer's
  transactional delivery, bound to that transaction's manager): it leaves when the transaction
  commits and never for one that aborts or is retried. A mail server that is down costs the
  mail (logged), never the change: the change has committed already.
- **What a mail says.** The kind of event, the letter's numbers, the counterpart
  organisation's name, the due date, and a link to the letter in the registry; never the
  letter's subject (the subject of an official letter can itself be confidential, and mail
  leaves the registry's protection) and never its PDF. In the recipient's language (the
  account's `language`, else the registry's default).
- **The daily digest** (for accounts that chose it, and everyone's due-soon and overdue
  tasks): once a day, at `registry.notify.digest_hour` (Ulaanbaatar time, default 8), sent by
  the server itself (a background thread) or by `registry notify digest` (cron). The day it
  went out is kept in the store, so it goes once per day however often either runs and
  whether or not the server restarted.
"""
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import transaction
from pyramid_mailer.mailer import Mailer
from pyramid_mailer.message import Message
from translationstring import TranslationString
from zope.interface import Interface

from registry import settings as registry_settings
from registry.audit_sealing import seal_pending
from registry.i18n import _, localizer_for
from registry.notifications import IPostman, KINDS, facts_of, stored_day
from registry.settings import MailSettingsError  # noqa: F401 (raised by postman_from_settings)
from registry.operations import Schedule
from registry.store import site_of
from registry.workflow.engine import object_path

log = logging.getLogger(__name__)

MAIL_MODES = ("immediate", "digest", "none")


class _SMTP:
    """pyramid_mailer's SMTP mailer, with two corrections:

    - lines end in CRLF, as SMTP requires: repoze.sendmail hands smtplib the message's bytes,
      which smtplib sends as they are, so bare LF line ends make the whole mail one line to
      the server (a strict server refuses any mail longer than 1000 bytes: "Line too long");
    - a failure to hand a mail over is logged, not raised: it happens after the transaction
      committed, when raising could only turn a done change into an error page."""

    def __init__(self, smtp):
        self.smtp = smtp

    def send(self, fromaddr, toaddrs, message):
        message.policy = message.policy.clone(linesep="\r\n")
        try:
            return self.smtp.send(fromaddr, toaddrs, message)
        except Exception as exc:  # smtplib errors, OSError: the change stands, the mail is lost
            log.warning("mail to %s not sent: %s", ", ".join(toaddrs), exc)
            return None


def postman_from_settings(settings):
    """A Postman when `mail.host` is set, else None. Raises MailSettingsError when mail is on
    but `mail.default_sender` or `registry.public_url` is missing."""
    if not registry_settings.mail_on(settings):
        return None
    configured = Mailer.from_settings(settings, prefix="mail.")
    mailer = Mailer(smtp_mailer=_SMTP(configured.smtp_mailer),
                    default_sender=configured.default_sender)
    return Postman(mailer, settings)


class Postman:
    """Writes mails in each account's language and hands them to the transaction they belong
    to."""

    def __init__(self, mailer, settings):
        self.mailer = mailer
        self.settings = settings
        self.public_url = registry_settings.public_url(settings)
        self.default_locale = registry_settings.default_locale(settings)

    def link(self, path):
        """The public URL of the resource at `path`."""
        return f"{self.public_url}{path.rstrip('/')}/"

    def localizer(self, user):
        return localizer_for(user.language or self.default_locale)

    def send(self, site, user, subject, lines):
        """Mail `user` (who has an address): `lines` are TranslationStrings or text. The mail
        joins the transaction of `site`'s connection and leaves when it commits."""
        localizer = self.localizer(user)
        text = [localizer.translate(line) if isinstance(line, TranslationString) else line
                for line in lines]
        footer = localizer.translate(_(
            "mail-footer", default="You receive this because of your settings in the registry: "
            "${url}", mapping={"url": self.link(f"/users/{user.login}/")}))
        message = Message(subject=localizer.translate(subject), recipients=[user.email],
                          body="\n".join([*text, "", "-- ", footer]) + "\n")
        bound = self.mailer.bind(transaction_manager=site._p_jar.transaction_manager)
        bound.send(message)

    def send_note(self, site, user, note):
        """One notification, mailed at once (on commit)."""
        self.send(site, user, note.message(), [note.message(), "", self.link(note.target)])


# The daily digest ------------------------------------------------------------------------

@dataclass
class DigestReport:
    day: str
    sent: bool  # False: the day's digest had gone out already
    mails: dict = field(default_factory=dict)  # login -> lines in the mail


def due_tasks(site, regno, today, soon_days):
    """The organisation's open tasks that have an executor and are due within `soon_days` of
    `today` or past it: [(delivery, overdue)], by due date. Reads the desk's index of open
    tasks by due date up to that day only (as the deadline check does,
    `registry.notifications.check_due`)."""
    org = site.orgs[regno]
    before = (today + timedelta(days=soon_days + 1)).isoformat()
    found = []
    for name in org.desk.due_between(before=before):
        delivery = org["inbox"][name]
        if delivery.task.executor:
            found.append((delivery, delivery.task.due < today))
    return found


def _task_line(delivery, overdue, site):
    facts = facts_of(delivery, site)
    return _(KINDS["task_overdue" if overdue else "task_due_soon"],
             mapping={name: facts.get(name) or "—" for name in ("number", "org", "due")})


def run_digest(db, postman, now=None, force=False):
    """Send the daily digest for the local day of `now` unless it went out already (or with
    `force`). One transaction: the day is recorded, every mail joins it and leaves at commit;
    a concurrent digest (another process) conflicts, and its mails never leave. Audited.
    Returns a DigestReport."""
    now = now or datetime.now(timezone.utc)
    today = now.astimezone(registry_settings.zone(postman.settings)).date()
    soon = registry_settings.due_soon_days(postman.settings)
    tm = transaction.TransactionManager(explicit=True)
    conn = db.open(transaction_manager=tm)
    try:
        with tm:
            site = site_of(conn)
            state = site.notifications
            if state.last_digest_day == today.isoformat() and not force:
                return DigestReport(today.isoformat(), False)
            report = DigestReport(today.isoformat(), True)
            tasks_of = {}
            for user in site.users.values():
                if not (user.active and user.email and user.mail_mode != "none"):
                    continue
                lines = _digest_lines(site, user, today, soon, tasks_of, postman)
                if lines:
                    postman.send(site, user, _("mail-digest-subject", default="The registry "
                                               "today: ${date}", mapping={"date": str(today)}),
                                 lines)
                    report.mails[user.login] = len(lines)
            state.last_digest_day = today.isoformat()
            site.audit.append("registry:digest", "notify.digest", target="/",
                              detail={"day": today.isoformat(), "mails": len(report.mails)})
    finally:
        conn.close()
    seal_pending(db)
    return report


def _digest_lines(site, user, today, soon, tasks_of, postman):
    lines = []
    if user.org not in tasks_of:
        tasks_of[user.org] = due_tasks(site, user.org, today, soon)
    mine = [(d, overdue) for d, overdue in tasks_of[user.org] if d.task.executor == user.login]
    if mine:
        lines += [_("Your letters to answer:")]
        for delivery, overdue in mine:
            lines += [_task_line(delivery, overdue, site), postman.link(_path(delivery))]
    box = site.notifications.box(user.login)
    if user.mail_mode == "digest" and box is not None:
        notes = box.unread_since(box.digested_until)
        if notes:
            lines += ["", _("New in the registry:")]
            for note in notes:
                lines += [note.message(), postman.link(note.target)]
            box.digested_until = notes[-1].time
    return lines


def _path(obj):
    return object_path(obj)


class DigestSchedule(Schedule):
    """Sends the daily digest from the server: a thread calls `tick()` every `poll` seconds;
    a tick past the digest hour (local time) of a day whose digest has not gone out sends it.
    `clock()` returns the current UTC datetime (tests move it)."""

    name = "registry-digest"

    def __init__(self, db, postman, hour, clock=None, poll=60.0):
        super().__init__(poll)
        self.db = db
        self.postman = postman
        self.hour = hour
        self.clock = clock or (lambda: datetime.now(timezone.utc))

    def due(self, now):
        local = now.astimezone(registry_settings.zone(self.postman.settings))
        if local.hour < self.hour:
            return False
        return stored_day(self.db, "last_digest_day") != local.date().isoformat()

    def tick(self):
        """Send the digest if it is due; return its DigestReport, or None."""
        from ZODB.POSException import ConflictError

        now = self.clock()
        if not self.due(now):
            return None
        try:
            return run_digest(self.db, self.postman, now)
        except ConflictError:
            log.info("the daily digest went out from another process")
            return None


class IDigestSchedule(Interface):
    """The server's digest schedule (registered when mail is on and a digest hour is set)."""


def includeme(config):
    """The postman (IPostman), when mail is configured, and the daily digest's schedule."""
    postman = postman_from_settings(config.registry.settings)
    if postman is not None:
        config.registry.registerUtility(postman, IPostman)
        start_digest_schedule(config, postman)


def start_digest_schedule(config, postman):
    import atexit

    from ZODB.interfaces import IDatabase

    hour = registry_settings.digest_hour(config.registry.settings)
    if hour is None:
        return None
    schedule = DigestSchedule(config.registry.getUtility(IDatabase), postman, hour)
    config.registry.registerUtility(schedule, IDigestSchedule)
    schedule.start()
    atexit.register(schedule.stop)
    return schedule

