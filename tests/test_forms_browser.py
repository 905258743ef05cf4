"""Forms in Chromium: date fields read dates as Mongolians write them, without a script error,
and the browser's own English (file fields, its checks' messages, date placeholders) is
replaced by our words."""
from datetime import date

import pytest
from playwright.sync_api import expect

from test_browser import page, server, sign_in  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def scan(tmp_path):
    """A paper letter's scan (a PDF), made before the browser starts."""
    import pdfs

    path = tmp_path / "скан.pdf"
    path.write_bytes(pdfs.letter_pdf("Иргэний өргөдөл"))
    return path


@pytest.fixture
def patient(page):
    """The browser's page, waiting longer: the first pages compile their templates, slowly on
    a busy machine."""
    page.set_default_timeout(30000)
    return page


def watch_console(page):
    """The errors the page's scripts log or throw, from now on (the browser's own request for
    /favicon.ico, which the registry has none of, aside)."""
    errors = []
    page.on("console", lambda message: errors.append((message.text, message.location["url"]))
            if message.type == "error" and not message.location["url"].endswith("/favicon.ico")
            else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    return errors


def test_every_date_field_reads_a_date_as_mongolians_write_it(patient, server, scan, in_site,
                                                             clock):
    page = patient
    errors = watch_console(page)
    sign_in(page, server, "rm_a")

    page.goto(server + "/orgs/1000001/outbox/@@new")
    page.fill("input[name=subject]", "Огноотой ноорог")
    page.fill("textarea[name=recipients]", "1000002")
    page.fill("input[name=response_due]", "2026.12.24")
    page.click("#draft-formsave")
    expect(page.locator("h1")).to_contain_text("Огноотой ноорог")
    letter_id = page.url.rstrip("/").split("/")[-1]

    page.goto(server + "/orgs/1000001/inbox/@@paper")
    page.fill("#sender_name", "Б. Батбаяр")
    page.fill("#subject", "Иргэний өргөдөл")
    page.fill("#sender_date", "2026/11/30")
    page.set_input_files("#file", str(scan))
    page.fill("#due_date", "2026-12-21")
    page.click("#paper-form button:not([type=button])")
    expect(page.locator("#incoming-number")).to_be_visible()
    paper_id = page.url.rstrip("/").split("/")[-1]

    page.goto(server + "/orgs/1000001/@@journal")
    page.fill("#journal-from", "2026.12.01")
    page.press("#journal-from", "Enter")
    expect(page.locator("#journal-from")).to_have_value("2026-12-01")

    with in_site() as site:
        assert site.orgs["1000001"]["outbox"][letter_id].response_due == date(2026, 12, 24)
        paper = site.orgs["1000001"]["inbox"][paper_id]
        assert (paper.letter.sender_date, paper.task.due) == (date(2026, 11, 30),
                                                              date(2026, 12, 21))
    page.click("form[action$='@@logout'] button")

    sign_in(page, server, "admin")
    page.goto(server + "/@@calendar?year=2026")
    page.fill("#day", "2026.12.28")
    page.select_option("#day-kind", "off")
    page.fill("#note", "Тогтоол №7")
    page.click("#declare-form button")
    expect(page.locator("#declared [data-day='2026-12-28']")).to_be_visible()
    page.goto(server + "/@@stats")
    page.fill("#stats-from", "2026.01")
    page.press("#stats-from", "Enter")
    expect(page.locator("#stats-from")).to_have_value("2026-01")
    with in_site() as site:
        assert site.calendar.change(date(2026, 12, 28)) == ("off", "Тогтоол №7")
    assert errors == []


def test_a_date_written_day_first_is_stopped_in_our_words(patient, server):
    page = patient
    sign_in(page, server, "rm_a")
    page.goto(server + "/orgs/1000001/outbox/@@new")
    due = page.locator("input[name=response_due]")
    expect(due).to_have_attribute("placeholder", "ОООО.СС.ӨӨ")
    page.fill("input[name=subject]", "Огноотой ноорог")
    page.fill("textarea[name=recipients]", "1000002")
    due.fill("24.12.2026")
    page.click("#draft-formsave")
    assert due.evaluate("field => field.validationMessage") == \
        "Огноог он.сар.өдөр гэж бичнэ үү, жишээ нь 2026.12.03."
    assert "/@@new" in page.url  # not sent


def test_the_paper_letter_form_speaks_our_words_not_the_browsers(patient, server, scan):
    page = patient
    sign_in(page, server, "rm_a")
    page.goto(server + "/orgs/1000001/inbox/@@paper")
    chooser = page.locator("#paper-form .registry-file")
    expect(chooser.locator(".registry-file-button")).to_have_text("Файлууд сонгох")
    expect(chooser.locator(".registry-file-name")).to_have_text("Файл сонгоогүй")
    assert page.locator("#file").evaluate("input => getComputedStyle(input).opacity") == "0"
    for field in ("#sender_date", "#due_date"):
        expect(page.locator(field)).to_have_attribute("placeholder", "ОООО.СС.ӨӨ")
        assert page.locator(field).get_attribute("type") is None  # a text field

    submit = "#paper-form button:not([type=button])"
    page.click(submit)
    assert page.locator("#sender_name").evaluate("f => f.validationMessage") == \
        "Энэ талбарыг бөглөнө үү."
    page.fill("#sender_name", "Б. Батбаяр")
    page.fill("#subject", "Иргэний өргөдөл")
    page.click(submit)
    assert page.locator("#file").evaluate("f => f.validationMessage") == "Файл сонгоно уу."
    page.set_input_files("#file", str(scan))
    expect(chooser.locator(".registry-file-name")).to_have_text("скан.pdf")
    page.set_input_files("#file", [str(scan), str(scan)])
    expect(chooser.locator(".registry-file-name")).to_have_text("2 файл")
    page.fill("#due_days", "400")
    page.click(submit)
    assert page.locator("#due_days").evaluate("f => f.validationMessage") == \
        "1-с 366 хүртэлх бүхэл тоо бичнэ үү."
    assert "@@paper" in page.url and page.locator("#incoming-number").count() == 0


def test_the_new_letters_file_field_speaks_our_words(patient, server):
    page = patient
    sign_in(page, server, "rm_a")
    page.goto(server + "/orgs/1000001/outbox/@@new")
    page.fill("input[name=subject]", "Файлтай ноорог")
    page.fill("textarea[name=recipients]", "1000002")
    page.click("#draft-formsave")
    chooser = page.locator("#pdf-form .registry-file")
    expect(chooser.locator(".registry-file-button")).to_have_text("Файл сонгох")
    expect(chooser.locator(".registry-file-name")).to_have_text("Файл сонгоогүй")
    page.click("#pdf-formattach")
    assert page.locator("#pdf-form input[type=file]").evaluate("f => f.validationMessage") == \
        "Файл сонгоно уу."
