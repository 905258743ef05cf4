"""Dates and months as Mongolians write them (registry.dates), read the same by every form."""
from datetime import date

import pytest

from conftest import csrf_token, login
from registry import dates
from registry.errors import RegistryError


@pytest.mark.parametrize("text", ["2026.12.03", "2026-12-03", "2026/12/03", " 2026.12.3 ",
                                  "2026/12/3"])
def test_a_date_is_read_with_dots_dashes_or_slashes(text):
    assert dates.parse_day(text) == date(2026, 12, 3)


@pytest.mark.parametrize("text", ["03.12.2026", "12/03/2026", "2026.12-03", "2026.13.01",
                                  "2026.02.30", "20261203", "2026.12", "", "2026 12 03",
                                  "2026.12.03 10:00"])
def test_anything_else_is_not_guessed_at(text):
    with pytest.raises(ValueError):
        dates.parse_day(text)


@pytest.mark.parametrize("text, month", [("2026.12", (2026, 12)), ("2026-12", (2026, 12)),
                                         ("2026/1", (2026, 1))])
def test_a_month_is_read_likewise(text, month):
    assert dates.parse_month(text) == month


@pytest.mark.parametrize("text", ["2026.13", "12.2026", "2026.12.03", "2026.00", "2026"])
def test_a_wrong_month_is_refused(text):
    with pytest.raises(ValueError):
        dates.parse_month(text)


def test_a_field_refuses_in_words_naming_the_field():
    assert dates.clean_day("", "response_due") is None
    assert dates.clean_day(date(2026, 1, 2), "response_due") == date(2026, 1, 2)
    with pytest.raises(RegistryError) as refused:
        dates.clean_day("03.12.2026", "response_due")
    assert (refused.value.code, refused.value.field, refused.value.status) == (
        "INVALID_DATE", "response_due", 400)


def new_draft_form(testapp):
    login(testapp, "rm_a")
    form = testapp.get("/orgs/1000001/outbox/@@new").forms["draft-form"]
    form["subject"], form["recipients"] = "Огнооны шалгалт", "1000002"
    return form


def test_the_new_letter_form_reads_a_dotted_date(testapp, in_site):
    form = new_draft_form(testapp)
    form["response_due"] = "2026.12.03"
    letter = form.submit("save", status=302).location.replace("http://registry.test", "")
    with in_site() as site:
        assert site.orgs["1000001"]["outbox"][letter.split("/")[-2]].response_due == \
            date(2026, 12, 3)


def test_the_new_letter_form_refuses_a_date_written_day_first_in_mongolian(testapp, in_site):
    form = new_draft_form(testapp)
    form["response_due"] = "03.12.2026"
    page = form.submit("save", status=400)
    assert "Огноог он.сар.өдөр гэж бичнэ үү, жишээ нь 2026.12.03." in page.text
    with in_site() as site:
        assert len(site.orgs["1000001"]["outbox"]) == 0


def test_a_date_field_is_a_text_field_with_our_placeholder(testapp):
    login(testapp, "rm_a")
    field = testapp.get("/orgs/1000001/outbox/@@new").html.find("input",
                                                                  attrs={"name": "response_due"})
    assert (field["type"], field["placeholder"], field["inputmode"]) == (
        "text", "ОООО.СС.ӨӨ", "numeric")
    assert "deform.addCallback" not in testapp.get("/orgs/1000001/outbox/@@new").text


def test_the_calendar_and_the_journal_read_dotted_dates(testapp, in_site):
    login(testapp, "admin")
    page = testapp.get("/@@calendar?year=2026")
    testapp.post("/@@calendar", {"csrf_token": csrf_token(page), "day": "2026.07.16",
                                 "kind": "off", "note": "Тогтоол №1"}, status=302)
    with in_site() as site:
        assert site.calendar.change(date(2026, 7, 16)) == ("off", "Тогтоол №1")
    refused = testapp.post("/@@calendar", {"csrf_token": csrf_token(page), "day": "16.07.2026",
                                           "kind": "off", "note": "Тогтоол №2"}, status=400)
    assert "2026.12.03" in refused.html.find(id="refusals").text
    login(testapp, "rm_a")
    journal = testapp.get("/orgs/1000001/@@journal?from=2026.01.05&to=2026/02/01")
    assert (journal.html.find(id="journal-from")["value"],
            journal.html.find(id="journal-to")["value"]) == ("2026-01-05", "2026-02-01")


def test_the_statistics_read_a_dotted_month(testapp):
    login(testapp, "admin")
    page = testapp.get("/@@stats?from=2026.01&to=2026.03")
    assert (page.html.find(id="stats-from")["value"], page.html.find(id="stats-to")["value"]) == (
        "2026-01", "2026-03")
    refused = testapp.get("/@@stats?from=01.2026", status=400)
    assert "Сарыг он.сар гэж бичнэ үү" in refused.text
