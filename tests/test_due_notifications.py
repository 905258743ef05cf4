"""The daily deadline check (issue #10): `task_due_soon` a working day before a task's due date
(by Mongolia's calendar: weekends, Naadam, Tsagaan Sar), `task_overdue` the day after it, once
per task, kind and due date, told to the executor and co-executors in the UI; run by the
server's schedule (by the application's clock: time moves, nobody sleeps) and by
`registry notify due`; reading the desk's due-date index, as the digest does."""
from datetime import date, datetime, timedelta, timezone

import pytest

from registry.notifications import IDueSchedule
from registry.resources.task import Desk
from test_desk import NOW, RECIPIENT, delivered, register, staff  # noqa: F401
from test_notifications import kinds

DUE = ("task_due_soon", "task_overdue")


def at(day, hour=9):
    """`day` (YYYY-MM-DD) at `hour` in Ulaanbaatar (UTC+8)."""
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=timezone(timedelta(hours=8)))


@pytest.fixture
def check(wsgi_app, clock):  # noqa: F811
    """check(day) -> the server's schedule ticks at 09:00 of `day`; returns its DueReport."""
    schedule = wsgi_app.registry.getUtility(IDueSchedule)

    def tick(day):
        clock.to(at(day))
        return schedule.tick()

    return tick


def due_notes(in_site, login):
    return [kind for kind in reversed(kinds(in_site, login)) if kind in DUE]


def test_due_soon_a_working_day_before_and_overdue_the_day_after_once_each(
        testapp, api, staff, delivered, check, in_site):  # noqa: F811
    _letter, delivery = delivered
    register(testapp, api("rm_b"), delivery, executor="exe_b", co_executors=["exe_b2"],
             due_date="2026-12-07")  # a Monday
    told = []
    for day in ("2026-12-03", "2026-12-04", "2026-12-05", "2026-12-06", "2026-12-07",
                "2026-12-08", "2026-12-09"):
        report = check(day)
        told.append((day, report.due_soon, report.overdue))
        assert check(day) is None, "a second look the same day runs nothing"
    # Thursday: the next working day is Friday; Friday: Monday is the next one (the weekend
    # is not counted); Tuesday: Monday has passed.
    assert told == [("2026-12-03", 0, 0), ("2026-12-04", 1, 0), ("2026-12-05", 0, 0),
                    ("2026-12-06", 0, 0), ("2026-12-07", 0, 0), ("2026-12-08", 0, 1),
                    ("2026-12-09", 0, 0)]
    for login in ("exe_b", "exe_b2"):
        assert due_notes(in_site, login) == ["task_due_soon", "task_overdue"]
    assert due_notes(in_site, "rm_b") == []
    with in_site() as site:
        note = next(iter(site.notifications.box("exe_b").notes.values()))
        assert note.target == delivery.rstrip("/") and note.facts["due"] == "2026-12-07"
        assert note.actor == "registry"
        records, _total = site.audit.newest(0, 100)
        audited = [(r.detail["day"], r.detail["due_soon"], r.detail["overdue"])
                   for r in reversed(records) if r.action == "notify.due"]
    assert audited == told


@pytest.mark.parametrize("registered, due, quiet, soon", [
    # Naadam 2027: 10-15 July are off; the working day before Friday the 16th is the 9th.
    ("2027-07-01", "2027-07-16", "2027-07-08", "2027-07-09"),
    # Tsagaan Sar 2027: 7-9 February (Sunday to Tuesday); before Wednesday the 10th: Friday.
    ("2027-02-01", "2027-02-10", "2027-02-04", "2027-02-05"),
])
def test_due_soon_counts_working_days_across_the_holidays(
        testapp, api, staff, delivered, check, clock, in_site, registered, due, quiet,
        soon):  # noqa: F811
    _letter, delivery = delivered
    clock.to(at(registered))
    register(testapp, api("rm_b"), delivery, executor="exe_b", due_date=due)
    check(registered)
    assert check(quiet).due_soon == 0
    assert check(soon).due_soon == 1
    assert due_notes(in_site, "exe_b") == ["task_due_soon"]


def test_an_extension_is_a_new_due_date_told_again(testapp, api, staff, delivered, check,
                                                   in_site):  # noqa: F811
    _letter, delivery = delivered
    task = register(testapp, api("rm_b"), delivery, executor="exe_b", kind="petition").json[
        "item"]
    assert task["due_date"] == "2027-01-04"  # 30 calendar days, to the next working day
    assert check("2026-12-31").due_soon == 1
    testapp.post_json(delivery + "@task/extend",
                      {"due_date": "2027-01-11", "reason": "Нэмэлт судалгаа"},
                      headers=api("rm_b"))
    assert check("2027-01-01").due_soon == 0
    assert check("2027-01-08").due_soon == 1  # Friday before Monday the 11th
    assert check("2027-01-12").overdue == 1
    assert due_notes(in_site, "exe_b") == ["task_due_soon", "task_due_soon", "task_overdue"]


def test_the_check_reads_only_the_due_date_windows_of_the_desk(
        testapp, api, staff, delivered, check, monkeypatch):  # noqa: F811
    _letter, delivery = delivered
    register(testapp, api("rm_b"), delivery, executor="exe_b", due_date="2026-12-07")
    check("2026-12-03")
    windows = []
    read = Desk.due_between

    def recording(self, since=None, before=None):
        windows.append((since, before))
        return read(self, since, before)

    monkeypatch.setattr(Desk, "due_between", recording)
    check("2026-12-04")
    # Per organisation: due Friday to Monday (the next working day), then due since the last
    # check and before today.
    assert set(windows) == {("2026-12-04", "2026-12-08"), ("2026-12-03", "2026-12-04")}


def test_a_done_task_is_never_told_of(testapp, api, staff, delivered, check,
                                      in_site):  # noqa: F811
    _letter, delivery = delivered
    register(testapp, api("rm_b"), delivery, executor="exe_b", due_date="2026-12-07")
    testapp.post_json(delivery + "@task/close", {"comment": "Утсаар хариулсан"},
                      headers=api("exe_b"))
    assert (check("2026-12-04").due_soon, check("2026-12-08").overdue) == (0, 0)
    assert due_notes(in_site, "exe_b") == []


def test_the_digest_reads_the_desks_index(testapp, api, staff, delivered, in_site,
                                          monkeypatch):  # noqa: F811
    from registry.mail import due_tasks

    _letter, delivery = delivered
    register(testapp, api("rm_b"), delivery, executor="exe_b", due_date="2026-12-07")
    with in_site() as site:
        inbox = site.orgs[RECIPIENT]["inbox"]

        def walked(*args, **kwargs):
            raise AssertionError("the digest reads the desk, not the inbox's letters")

        monkeypatch.setattr(type(inbox), "in_state", walked)
        name = delivery.rstrip("/").rsplit("/", 1)[1]
        for today, expected in ((NOW.date(), []), (date(2026, 12, 4), [(name, False)]),
                                (date(2026, 12, 8), [(name, True)])):
            found = due_tasks(site, RECIPIENT, today, 3)
            assert [(d.__name__, overdue) for d, overdue in found] == expected
