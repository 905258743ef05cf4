"""Mongolia's working-day calendar (registry.workdays) and the answer terms
(registry.deadlines): weekends, public holidays from the `holidays` package (the lunar Tsagaan
Sar and Chinggis Khaan's birthday move every year), the site administrator's declared days;
the calendar page and `registry calendar`."""
from datetime import date

import pytest
from click.testing import CliRunner

from conftest import login, csrf_token
from registry import deadlines, workdays
from registry.cli import main


class Declared:
    """A stand-in for the site's WorkCalendar: {date: (kind, note)}."""

    def __init__(self, days):
        self.days = days

    def change(self, day):
        return self.days.get(day)


@pytest.mark.parametrize("year, tsagaan_sar, naadam, chinggis", [
    (2026, [date(2026, 2, 18), date(2026, 2, 19), date(2026, 2, 20)],
     [date(2026, 7, d) for d in range(10, 16)], date(2026, 11, 10)),
    (2027, [date(2027, 2, 7), date(2027, 2, 8), date(2027, 2, 9)],
     [date(2027, 7, d) for d in range(10, 16)], date(2027, 11, 29)),
])
def test_the_lunar_and_national_holidays_of_two_years(year, tsagaan_sar, naadam, chinggis):
    holidays = workdays.public_holidays(year)
    for day in tsagaan_sar + naadam + [chinggis]:
        assert day in holidays
        assert not workdays.is_working_day(day)


def test_working_days_skip_tsagaan_sar_2026():
    # Tuesday 17 February 2026 + 1 working day: Wed-Fri 18-20 are Tsagaan Sar, 21-22 the
    # weekend: Monday 23 February.
    assert workdays.add_working_days(date(2026, 2, 17), 1) == date(2026, 2, 23)


def test_working_days_skip_tsagaan_sar_2027_over_a_weekend():
    # Friday 5 February 2027: the weekend 6-7 and Tsagaan Sar 7-9 (Sunday to Tuesday):
    # the first working day after it is Wednesday 10 February.
    assert workdays.add_working_days(date(2027, 2, 5), 1) == date(2027, 2, 10)


@pytest.mark.parametrize("start, days, due", [
    # Naadam 2026: Friday 10 to Wednesday 15 July; Thursday 9 July + 1 -> Thursday 16.
    (date(2026, 7, 9), 1, date(2026, 7, 16)),
    # Naadam 2027: Saturday 10 to Thursday 15 July; Friday 9 July + 2 -> Monday 19.
    (date(2027, 7, 9), 2, date(2027, 7, 19)),
    # Ten working days from 1 July 2026 across Naadam: 2,3,6,7,8,9,16,17,20,21.
    (date(2026, 7, 1), 10, date(2026, 7, 21)),
])
def test_working_days_skip_naadam(start, days, due):
    assert workdays.add_working_days(start, days) == due


def test_declared_days_win_over_the_package_and_the_weekend():
    moved = Declared({date(2026, 7, 16): (workdays.OFF, "Засгийн газрын тогтоол"),
                      date(2026, 7, 18): (workdays.WORKING, "Нөхөж ажиллах өдөр")})
    assert workdays.add_working_days(date(2026, 7, 9), 1, moved) == date(2026, 7, 17)
    assert workdays.add_working_days(date(2026, 7, 17), 1, moved) == date(2026, 7, 18)


def test_a_petition_counts_calendar_days_and_ends_on_a_working_day():
    petition = deadlines.rules().kind("petition")
    # 16 January 2027 + 30 days = Monday 15 February 2027: a working day.
    assert deadlines.default_due(petition, date(2027, 1, 16)) == date(2027, 2, 15)
    # 8 January 2027 + 30 = Sunday 7 February (Tsagaan Sar 7-9): Wednesday 10 February.
    assert deadlines.default_due(petition, date(2027, 1, 8)) == date(2027, 2, 10)


def test_a_request_is_due_by_the_senders_date_else_in_ten_working_days():
    request = deadlines.rules().kind("request")
    assert deadlines.default_due(request, date(2026, 7, 1), date(2026, 8, 3)) == date(2026, 8, 3)
    assert deadlines.default_due(request, date(2026, 7, 1)) == date(2026, 7, 21)
    assert deadlines.default_due(deadlines.rules().kind("information"), date(2026, 7, 1)) \
        is None


def test_urgency_is_by_working_days():
    # Due Monday 7 December 2026, three working days of notice.
    due = date(2026, 12, 7)
    assert deadlines.urgency(due, date(2026, 12, 1), soon_days=3) == ""
    assert deadlines.urgency(due, date(2026, 12, 2), soon_days=3) == "soon"
    assert deadlines.urgency(due, date(2026, 12, 7), soon_days=3) == "soon"
    assert deadlines.urgency(due, date(2026, 12, 8), soon_days=3) == "overdue"


def test_the_rules_refuse_an_unknown_key():
    with pytest.raises(ValueError, match="unknown keys"):
        deadlines.parse({"kinds": {"x": {"term": 3, "days": 3}},
                         "desk": {"default_kind": "x"}})


def test_the_site_administrator_declares_a_day_on_the_calendar_page(testapp, in_site):
    login(testapp, "admin")
    page = testapp.get("/@@calendar?year=2026")
    assert "2026-07-11" in page.html.find(id="holidays").text
    form = page.forms["declare-form"]
    form["day"], form["kind"], form["note"] = "2026-07-16", "off", "Тогтоол №1"
    page = form.submit(status=302).follow()
    assert page.html.find(id="declared").find(attrs={"data-day": "2026-07-16"}) is not None
    refused = testapp.post("/@@calendar", {"csrf_token": csrf_token(page), "day": "2026-07-17",
                                           "kind": "off", "note": ""}, status=400)
    assert refused.html.find(id="refusals") is not None
    with in_site() as site:
        assert site.calendar.change(date(2026, 7, 16)) == ("off", "Тогтоол №1")
        record = site.audit.newest(0, 1)[0][0]
        assert (record.action, record.actor, record.detail["day"]) == (
            "calendar.declare", "admin", "2026-07-16")


@pytest.mark.parametrize("who", ["rm_a", "aud_a", "clerk_a"])
def test_only_the_site_administrator_changes_the_calendar(testapp, who):
    login(testapp, who)
    testapp.get("/@@calendar", status=403)


def test_registry_calendar_declares_lists_and_clears(tmp_path):
    runner = CliRunner()

    def run(*args):
        return runner.invoke(main, ["--data-dir", str(tmp_path / "var"), *args],
                             catch_exceptions=False)

    assert run("init").exit_code == 0
    done = run("calendar", "declare", "2027-07-16", "off", "--note", "Тогтоол")
    assert done.exit_code == 0
    shown = run("calendar", "show", "--year", "2027").output
    assert "2027-07-16  off      Тогтоол" in shown
    assert "2027-02-07  holiday" in shown
    assert run("calendar", "clear", "2027-07-16").exit_code == 0
    missing = run("calendar", "clear", "2027-07-16")
    assert (missing.exit_code, "[NO_SUCH_DAY]" in missing.output) == (1, True)
    assert run("calendar", "declare", "2027-13-01", "off", "--note", "x").exit_code == 1
