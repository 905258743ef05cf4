"""The journals of incoming and outgoing letters: periods, series, rows, exports, permissions."""
import csv
import io
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pypdfium2
import pytest

import pdfs
from conftest import JSON, login, send_letter
from registry.journal import OUTGOING, Journal, parse_period
from registry.resources.letter import Letter

SENDER, RECIPIENT = "1000001", "1000002"
UB = ZoneInfo("Asia/Ulaanbaatar")


@pytest.fixture
def signed_pdf(pki):
    return pdfs.sign(pdfs.letter_pdf("Журналын тест"), pki.org(SENDER))


def numbered(outbox, series, year, when, subject):
    """A letter numbered in `outbox` at `when` (UTC), as sending numbers it."""
    letter = outbox.add_item(Letter(SENDER, "rm_a", subject=subject, recipients=(RECIPIENT,),
                                    series=series, now=when))
    n = outbox.next_number(series, year)
    letter.outgoing_number, letter.number_year, letter.number_seq = f"{series}/{n}", year, n
    letter.sent_at, letter.state = when, "sent"
    outbox.journal[(year, series, n)] = letter.__name__
    return letter


@pytest.fixture
def many(in_site):
    """Outgoing letters of 1000001 in 2026: series 01 one every 7 hours from 1 January, series
    02 one every 11 hours; and one sent at 16:30 UTC on 1 March (00:30 on 2 March in
    Ulaanbaatar)."""
    with in_site() as site:
        outbox = site.orgs[SENDER]["outbox"]
        start = datetime(2026, 1, 1, 0, 0, tzinfo=UB).astimezone(timezone.utc)
        for series, step, count in (("01", 7, 300), ("02", 11, 150)):
            for i in range(count):
                when = start + timedelta(hours=step * i, minutes=1)
                if series == "01" and when >= datetime(2026, 3, 1, 16, 0, tzinfo=timezone.utc):
                    break
                numbered(outbox, series, 2026, when, f"{series} letter {i}")
        numbered(outbox, "01", 2026, datetime(2026, 3, 1, 16, 30, tzinfo=timezone.utc),
                 "late on 1 March in UTC")
    return in_site


def expected(site, first, last, series=None):
    """The letters numbered in the period, counted the slow way: every letter, by local date."""
    return sorted(
        (letter.sent_at, letter.series, letter.number_seq)
        for letter in site.orgs[SENDER]["outbox"].values()
        if first <= letter.sent_at.astimezone(UB).date() <= last
        and (series is None or letter.series == series))


@pytest.mark.parametrize("first, last, series", [
    (date(2026, 1, 1), date(2026, 12, 31), None),
    (date(2026, 2, 10), date(2026, 2, 20), None),
    (date(2026, 2, 10), date(2026, 2, 20), "02"),
    (date(2026, 3, 2), date(2026, 3, 2), None),   # the letter sent at 16:30 UTC on 1 March
    (date(2026, 3, 1), date(2026, 3, 1), "01"),
    (date(2025, 6, 1), date(2025, 12, 31), None),  # a year with no numbers
])
def test_a_period_holds_exactly_the_letters_numbered_in_it_by_local_date(many, first, last,
                                                                        series):
    with many() as site:
        journal = Journal(site, site.orgs[SENDER], OUTGOING, first, last, UB, series=series)
        got = [(i.sent_at, i.series, i.number_seq) for i in journal.items()]
        assert got == expected(site, first, last, series)
        assert len(journal) == len(got)
        # Pages are slices of the same order; newest first is the reverse.
        assert [(i.sent_at, i.series, i.number_seq) for i in journal.items(5, 10)] == got[5:15]
        assert [(i.sent_at, i.series, i.number_seq)
                for i in journal.items(descending=True)] == got[::-1]
        # Page after page from the last item shown (the cursor), both ways, gives them all.
        for descending, whole in ((False, got), (True, got[::-1])):
            walked, after = [], None
            while True:
                page = list(journal.items(0, 7, descending, after=after))
                if not page:
                    break
                walked += [(i.sent_at, i.series, i.number_seq) for i in page]
                after = page[-1].__name__
            assert walked == whole


def test_the_late_utc_letter_is_dated_by_ulaanbaatar(many):
    with many() as site:
        journal = Journal(site, site.orgs[SENDER], OUTGOING, date(2026, 3, 2), date(2026, 3, 2),
                          UB)
        (row,) = [r for r in journal.rows() if r.subject == "late on 1 March in UTC"]
        assert row.numbered == date(2026, 3, 2)


def test_a_period_is_read_from_dates_or_defaults_to_the_year_so_far():
    today = date(2026, 12, 3)
    assert parse_period(None, None, today) == (date(2026, 1, 1), today)
    assert parse_period("2026-02-01", "2026-02-28", today) == (date(2026, 2, 1),
                                                               date(2026, 2, 28))
    for start, end, field in (("2026-13-01", None, "from"), (None, "yesterday", "to"),
                              ("2026-03-01", "2026-02-01", "to"), ("0001-01-01", None, "from"),
                              (None, "9999-12-31", "to")):
        with pytest.raises(ValueError) as caught:
            parse_period(start, end, today)
        assert str(caught.value) == field


# Through the application --------------------------------------------------------------------

@pytest.fixture
def exchanged(testapp, api, signed_pdf, in_site):
    """Two letters from 1000001 to 1000002; the first registered with an executor, the
    second rejected. Returns (sender headers, recipient headers, letter paths)."""
    sender, recipient = api("rm_a"), api("rm_b")
    letters = [send_letter(testapp, sender, signed_pdf, subject=s)
               for s in ("Төсвийн тухай", "Хурлын тухай")]
    inbox = testapp.get(f"/orgs/{RECIPIENT}/inbox", headers=recipient).json["items"]
    by_subject = {item["subject"]: item["@id"] for item in inbox}
    testapp.post_json(by_subject["Төсвийн тухай"] + "@workflow/register",
                      {"executor": "rm_b"}, headers=recipient)
    testapp.post_json(by_subject["Хурлын тухай"] + "@workflow/reject",
                      {"comment": "Манайд хамааралгүй"}, headers=recipient)
    with in_site() as site:
        site.users["rm_b"].fullname = "Бат Болд"
    return sender, recipient, letters


def test_the_outgoing_journal_lists_recipients_their_numbers_and_states(testapp, exchanged):
    sender, _recipient, letters = exchanged
    body = testapp.get(f"/orgs/{SENDER}/@journal?direction=outgoing", headers=sender).json
    assert body["items_total"] == 2 and body["direction"] == "outgoing"
    first, second = body["items"]
    assert first["subject"] == "Төсвийн тухай" and first["number"].endswith("/1")
    assert first["parties"] == [{"regno": RECIPIENT,
                                 "name": "Баянзүрх дүүргийн Засаг даргын Тамгын газар"}]
    assert first["their_numbers"][0]["number"] is not None
    assert first["state"] == "received"
    assert second["notes"] == [{"code": "rejected", "text": "Баянзүрх дүүргийн Засаг даргын "
                                "Тамгын газар: Манайд хамааралгүй"}]
    assert first["@id"].endswith(letters[0])


def test_the_incoming_journal_holds_registered_letters_with_executor_by_name(testapp,
                                                                            exchanged):
    _sender, recipient, _letters = exchanged
    body = testapp.get(f"/orgs/{RECIPIENT}/@journal", headers=recipient).json
    assert body["direction"] == "incoming" and body["items_total"] == 1  # the rejected one
    (row,) = body["items"]                                              # got no number
    assert row["subject"] == "Төсвийн тухай"
    assert row["parties"][0]["regno"] == SENDER
    assert row["their_numbers"][0]["number"].endswith("/1")
    assert row["executor"] == {"login": "rm_b", "name": "Бат Болд"}


def test_bad_filters_answer_400_with_the_field(testapp, api):
    headers = api("rm_a")
    for query, code, field in (
            ("from=2026-02-30", "BAD_FILTER", "from"),
            ("from=2026-03-01&to=2026-02-01", "BAD_FILTER", "to"),
            ("direction=sideways", "BAD_FILTER", "direction"),
            ("format=docx", "BAD_FILTER", "format"),
            ("order=random", "BAD_FILTER", "order"),
            ("series=%1B", "INVALID_TEXT", "series")):  # text is clean at the door
        error = testapp.get(f"/orgs/{SENDER}/@journal?{query}", headers=headers,
                            status=400).json["error"]
        assert (error["code"], error["field"]) == (code, field), query


@pytest.mark.parametrize("who, status", [("rm_a", 200), ("sign_a", 200), ("aud_a", 200),
                                         ("clerk_a", 403), ("rm_b", 403), ("admin", 403)])
def test_who_reads_the_journal(testapp, api, who, status):
    testapp.get(f"/orgs/{SENDER}/@journal", headers=api(who), status=status)


def test_without_signing_in_the_journal_asks_for_it(testapp):
    testapp.get(f"/orgs/{SENDER}/@journal", headers=JSON, status=401)


def test_the_csv_export_has_the_title_the_header_and_a_row_per_entry(testapp, exchanged,
                                                                      in_site):
    sender = exchanged[0]
    response = testapp.get(f"/orgs/{SENDER}/@journal?direction=outgoing&format=csv",
                           headers=sender)
    assert response.content_type == "text/csv"
    assert response.headers["Content-Disposition"].startswith(
        "attachment; filename=journal-1000001-outgoing-")
    assert response.body.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(response.body.decode("utf-8-sig"))))
    assert "Нийслэлийн Засаг даргын Тамгын газар" in rows[0][0]
    assert rows[1][0] == "Дугаар" and len(rows) == 4
    assert rows[2][4] == "Төсвийн тухай" and rows[3][8] == "Илгээсэн"
    with in_site() as site:
        record = site.audit.newest(0, 1)[0][0]
        assert (record.action, record.org) == ("journal.export", SENDER)


def test_the_xlsx_export_is_a_workbook_with_real_dates(testapp, exchanged):
    import openpyxl

    response = testapp.get(f"/orgs/{SENDER}/@journal?direction=outgoing&format=xlsx",
                           headers=exchanged[0])
    book = openpyxl.load_workbook(io.BytesIO(response.body))
    sheet = book.active
    assert sheet.cell(3, 1).value == "Дугаар"
    assert sheet.cell(4, 5).value == "Төсвийн тухай"
    assert isinstance(sheet.cell(4, 2).value, datetime)


def test_the_pdf_export_is_a4_landscape_with_the_organisation_and_the_rows(testapp, exchanged):
    response = testapp.get(f"/orgs/{SENDER}/@journal?direction=outgoing&format=pdf",
                           headers=exchanged[0])
    document = pypdfium2.PdfDocument(response.body)
    width, height = document[0].get_size()
    assert (round(width), round(height)) == (842, 595)
    text = document[0].get_textpage().get_text_range()
    assert "Явсан бичгийн бүртгэл" in text and "Төсвийн тухай" in text


def test_a_journal_too_long_to_print_answers_413_and_names_the_way_out(testapp, exchanged,
                                                                       monkeypatch):
    from registry.views import journal as views

    monkeypatch.setattr(views, "PRINT_MAX_ROWS", 1)
    error = testapp.get(f"/orgs/{SENDER}/@journal?direction=outgoing&format=pdf",
                        headers=exchanged[0], status=413).json["error"]
    assert error["code"] == "TOO_LONG_TO_PRINT" and "XLSX" in error["message"]
    testapp.get(f"/orgs/{SENDER}/@journal?direction=outgoing&format=xlsx", headers=exchanged[0],
                status=200)


def test_the_journal_page_in_the_menu_with_filters_and_exports(testapp, exchanged):
    login(testapp, "rm_a")
    home = testapp.get(f"/orgs/{SENDER}/outbox")
    page = home.click(href=f"/orgs/{SENDER}/@@journal")
    page = page.click(href="direction=outgoing")
    table = page.html.find(id="journal-table")
    assert "Төсвийн тухай" in table.text and "Хурлын тухай" in table.text
    assert page.html.find(id="journal-pdf")["href"].endswith("format=pdf")
    form = page.forms["journal-filter"]
    form["from"] = form["to"] = "2020-01-01"
    assert form.submit().html.find(id="journal-empty") is not None


def test_registry_journal_export_writes_the_file(exchanged, settings, db, tmp_path):
    from click.testing import CliRunner

    from registry.cli import main

    db.close()  # the application's store: the command opens it itself
    ini = tmp_path / "test.ini"
    ini.write_text("[app:main]\nuse = egg:registry\n" + "".join(
        f"{key} = {value}\n" for key, value in settings.items()))
    out = tmp_path / "journal.csv"
    today = datetime.now(UB).date().isoformat()
    done = CliRunner().invoke(main, [
        "-c", str(ini), "journal", "export", "--org", SENDER, "--direction", "outgoing",
        "--from", today[:4] + "-01-01", "--to", today, "--format", "csv", "--out", str(out)])
    assert done.exit_code == 0, done.output
    assert done.output.startswith("2 entries written")
    rows = list(csv.reader(io.StringIO(out.read_text(encoding="utf-8-sig"))))
    assert len(rows) == 4 and rows[2][4] == "Төсвийн тухай"
    wrong = CliRunner().invoke(main, ["-c", str(ini), "journal", "export", "--org", SENDER,
                                      "--direction", "outgoing", "--from", "2026-05-01",
                                      "--to", "2026-04-01", "--out", str(out)])
    assert wrong.exit_code == 2 and "--to" in wrong.output
