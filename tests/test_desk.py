"""The records office's desk (issue #10): tasks on registered letters (resolution, executor and
co-executors, due date by Mongolia's working-day calendar), their transitions per role, "My
tasks", control, the JSON list, the calendar, and an answer closing a task. Time moves by the
application's clock (`registry.clock`), never by sleeping."""
from datetime import date, datetime, timedelta, timezone

import pytest

import pdfs
from conftest import JSON, PASSWORD, csrf_token, login, send_letter

SENDER, RECIPIENT = "1000001", "1000002"
#: Thursday 2026-12-03, 10:00 in Ulaanbaatar.
NOW = datetime(2026, 12, 3, 2, 0, tzinfo=timezone.utc)


@pytest.fixture
def clock(wsgi_app):
    """Set the application's time: clock.to(datetime) or clock.days(n) forward."""

    class Clock:
        now = NOW

        def to(self, when):
            self.now = when

        def days(self, n):
            self.now = self.now + timedelta(days=n)

    moving = Clock()
    wsgi_app.registry.clock = lambda: moving.now
    return moving


@pytest.fixture
def staff(in_site):
    """Executors of the recipient: exe_b (Дорж, мэргэжилтэн), exe_b2; and a clerk."""
    from registry.accounts import create_account

    with in_site() as site:
        create_account(site, "test", RECIPIENT, "exe_b", ("executor",), PASSWORD,
                       fullname="Дорж Бат", position="Ахлах мэргэжилтэн")
        create_account(site, "test", RECIPIENT, "exe_b2", ("executor",), PASSWORD,
                       fullname="Сараа Болд", position="Мэргэжилтэн")
        create_account(site, "test", RECIPIENT, "clerk_b", ("clerk",), PASSWORD)
    return ["exe_b", "exe_b2"]


@pytest.fixture
def delivered(testapp, api, pki, clock):
    """A letter sent from SENDER to RECIPIENT: (letter path, delivery path)."""
    letter = send_letter(testapp, api("rm_a"), pdfs.signed_letter(pki, SENDER))
    items = testapp.get(f"/orgs/{RECIPIENT}/inbox", headers=api("rm_b")).json["items"]
    return letter, items[0]["@id"].replace("http://registry.test", "")


def register(testapp, headers, delivery, status=200, **body):
    return testapp.post_json(delivery + "@workflow/register", body, headers=headers,
                             status=status)


def test_register_with_a_resolution_opens_a_task_counted_in_working_days(
        testapp, api, staff, delivered):
    _letter, delivery = delivered
    item = register(testapp, api("rm_b"), delivery, executor="exe_b",
                    co_executors=["exe_b2"], resolution="Судлаад хариу бэлтгэ",
                    due_days=5).json["item"]
    # Thursday 3 December + 5 working days: Fri 4, Mon 7, Tue 8, Wed 9, Thu 10.
    assert item["due_date"] == "2026-12-10"
    assert (item["executor"], item["co_executors"]) == ("exe_b", ["exe_b2"])
    assert item["resolution"] == "Судлаад хариу бэлтгэ"
    assert (item["task"], item["overdue"], item["answered_by"]) == ("open", False, [])
