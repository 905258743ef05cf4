"""Mail through pyramid_mailer to a real SMTP server (aiosmtpd on 127.0.0.1): a mail leaves
only when its transaction commits, in the recipient's language, with a link and without the
letter's subject or file; the daily digest goes once a day, moved by an injectable clock."""
import email
import email.policy
import socket
from datetime import datetime, timezone

import pdfs
import pytest
import transaction
from aiosmtpd.controller import Controller

from conftest import send_letter
from registry import exchange
from registry.mail import DigestSchedule, IPostman, MailSettingsError, postman_from_settings
from registry.notifications import notify
from registry.store import site_of

A, B = "1000001", "1000002"
PUBLIC = "https://registry.example.mn"
SUBJECT = "Нууц хурлын тов"


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.rcpt_tos, email.message_from_bytes(envelope.content,
                                                                    policy=email.policy.default)))
        return "250 OK"


@pytest.fixture
def smtp():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    inbox.port = controller.port
    yield inbox
    controller.stop()


@pytest.fixture
def mail_settings(settings, smtp):
    return {**settings, "mail.host": "127.0.0.1", "mail.port": str(smtp.port),
            "mail.default_sender": "registry@example.mn", "registry.public_url": PUBLIC,
            "registry.notify.digest_hour": "off"}


@pytest.fixture
def app(in_site_for, mail_settings):
    return in_site_for(mail_settings)


def prefer(in_site, login, **values):
    with in_site() as site:
        for name, value in values.items():
            setattr(site.users[login], name, value)


def token(in_site, login):
    with in_site() as site:
        value, _ = site.users.issue_token(site.users[login])
    return {"Accept": "application/json", "Authorization": f"Bearer {value}"}


def body_of(message):
    return message.get_content()


def test_a_mail_leaves_on_commit_in_the_recipients_language(app, smtp, pki):
    testapp, in_site = app
    prefer(in_site, "rm_b", email="rm_b@bzd.example.mn", language="en")
    send_letter(testapp, token(in_site, "rm_a"), pdfs.signed_letter(pki, A), subject=SUBJECT)
    [(to, message)] = smtp.messages
    assert to == ["rm_b@bzd.example.mn"]
    assert message["Subject"].startswith("New letter № ")
    body = body_of(message)
    assert f"{PUBLIC}/orgs/{B}/inbox/" in body
    assert SUBJECT not in body and SUBJECT not in str(message["Subject"])
    assert not message.is_multipart()  # no attachment: never the letter's PDF


def test_mail_speaks_mongolian_by_default(app, smtp, pki):
    testapp, in_site = app
    prefer(in_site, "rm_b", email="rm_b@bzd.example.mn")
    send_letter(testapp, token(in_site, "rm_a"), pdfs.signed_letter(pki, A))
    [(_to, message)] = smtp.messages
    assert "шинэ бичиг ирлээ" in message["Subject"]


def test_no_mail_for_an_aborted_transaction(app, smtp, db_of_app):
    testapp, in_site = app
    prefer(in_site, "rm_b", email="rm_b@bzd.example.mn")
    db, postman = db_of_app
    for outcome in ("abort", "commit"):
        tm = transaction.TransactionManager()
        conn = db.open(transaction_manager=tm)
        tm.begin()
        site = site_of(conn)
        letter = exchange.create_draft(site, "rm_a", site.orgs[A], subject=SUBJECT)
        notify(site, ["rm_b"], "letter_rejected", letter, postman=postman)
        getattr(tm, outcome)()
        conn.close()
        if outcome == "abort":
            assert smtp.messages == []
    assert len(smtp.messages) == 1


@pytest.fixture
def db_of_app(app, in_site_for):
    from ZODB.interfaces import IDatabase

    testapp, _in_site = app
    registry = testapp.app.registry
    return registry.getUtility(IDatabase), registry.getUtility(IPostman)


def test_a_mail_server_that_is_down_costs_the_mail_not_the_change(in_site_for, settings, pki):
    testapp, in_site = in_site_for({
        **settings, "mail.host": "127.0.0.1", "mail.port": str(free_port()),
        "mail.default_sender": "registry@example.mn", "registry.public_url": PUBLIC,
        "registry.notify.digest_hour": "off"})
    prefer(in_site, "rm_b", email="rm_b@bzd.example.mn")
    send_letter(testapp, token(in_site, "rm_a"), pdfs.signed_letter(pki, A))
    with in_site() as site:
        assert site.notifications.unread_count("rm_b") == 1


@pytest.mark.parametrize("missing", ["mail.default_sender", "registry.public_url"])
def test_mail_on_needs_a_sender_and_the_public_url(missing):
    settings = {"mail.host": "127.0.0.1", "mail.default_sender": "r@example.mn",
                "registry.public_url": PUBLIC}
    del settings[missing]
    with pytest.raises(MailSettingsError, match=missing):
        postman_from_settings(settings)
    assert postman_from_settings({}) is None  # no mail.host: mail is off


def ub(day, hour, minute=0):
    """A UTC datetime for `hour`:`minute` of `day` (2026-12-DD) in Ulaanbaatar (UTC+8)."""
    from zoneinfo import ZoneInfo

    return datetime(2026, 12, day, hour, minute,
                    tzinfo=ZoneInfo("Asia/Ulaanbaatar")).astimezone(timezone.utc)


def test_the_daily_digest_goes_once_a_day_at_its_hour(app, smtp, db_of_app, pki):
    testapp, in_site = app
    db, postman = db_of_app
    prefer(in_site, "rm_b", email="rm_b@bzd.example.mn", mail_mode="digest", language="en")
    rm_b = token(in_site, "rm_b")
    send_letter(testapp, token(in_site, "rm_a"), pdfs.signed_letter(pki, A), subject=SUBJECT)
    assert smtp.messages == []  # a digest reader gets no mail at once
    now = {"value": ub(4, 7, 30)}
    schedule = DigestSchedule(db, postman, hour=8, clock=lambda: now["value"])
    assert schedule.tick() is None  # before 8 o'clock in Ulaanbaatar
    now["value"] = ub(4, 8, 5)
    report = schedule.tick()
    assert report.day == "2026-12-04" and list(report.mails) == ["rm_b"]
    [(to, message)] = smtp.messages
    body = body_of(message)
    assert "New in the registry:" in body and f"{PUBLIC}/orgs/{B}/inbox/" in body
    assert SUBJECT not in body
    now["value"] = ub(4, 17)
    assert schedule.tick() is None  # once a day ...
    assert DigestSchedule(db, postman, hour=8, clock=lambda: now["value"]).tick() is None
    # ... even after a restart. The next day: the letter's task, due tomorrow, is listed.
    delivery = testapp.get(f"/orgs/{B}/inbox", headers=rm_b).json["items"][0]["@id"]
    testapp.post_json(delivery + "@workflow/register",
                      {"executor": "rm_b", "response_due": "2026-12-06"}, headers=rm_b)
    now["value"] = ub(5, 9)
    report = schedule.tick()
    assert report.day == "2026-12-05" and list(report.mails) == ["rm_b"]
    body = body_of(smtp.messages[-1][1])
    assert "Your letters to answer:" in body and "2026-12-06" in body
    assert "New in the registry:" not in body  # nothing new since yesterday's digest
    with in_site() as site:
        assert site.notifications.last_digest_day == "2026-12-05"
        assert site.audit.newest(0, 1)[0][0].action == "notify.digest"
