"""A journal as a file: CSV, XLSX or a PDF laid out for printing on A4 landscape.

Every format streams: rows are read from the journal one at a time and written out, so memory
stays bounded whatever the period holds (CSV and XLSX: XlsxWriter's constant-memory mode
flushes each row; the PDF keeps only the page being drawn besides the finished pages' content,
which reportlab holds until the file is saved). Text is the caller's language: `translate`
turns the column titles, states and notes into words (a localizer's `translate`).
"""
import csv
from datetime import date

from registry.i18n import _
from registry.journal import INCOMING

#: (key, title for the incoming journal, title for the outgoing journal, relative PDF width)
COLUMNS = (
    ("number", _("journal-col-number", default="Number"), None, 7),
    ("date", _("journal-col-registered", default="Registered"),
     _("journal-col-sent", default="Sent"), 7),
    ("parties", _("journal-col-from", default="From"), _("journal-col-to", default="To"), 16),
    ("references", _("journal-col-their-number", default="Their number and date"), None, 11),
    ("subject", _("journal-col-subject", default="Subject"), None, 22),
    ("executor", _("journal-col-executor", default="Executor and resolution"),
     _("journal-col-prepared-by", default="Prepared by"), 13),
    ("due", _("journal-col-due", default="Answer due"), None, 7),
    ("answered_by", _("journal-col-answered-by", default="Answered by"), None, 9),
    ("state", _("journal-col-state", default="State"), None, 8),
    ("notes", _("journal-col-notes", default="Notes"), None, 10),
)
NOTE_TITLES = {
    "rejected": _("journal-note-rejected", default="Rejected"),
    "withdrawn": _("journal-note-withdrawn", default="Withdrawn by the sender"),
    "handed_over": _("journal-note-handed-over", default="Handed over to the archive"),
    "disposed": _("journal-note-disposed", default="Disposed of"),
    "in_reply_to": _("journal-note-in-reply-to", default="In reply to"),
    "on_paper": _("journal-note-on-paper", default="Came on paper, not signed electronically"),
    "by_post": _("journal-note-by-post", default="To be printed and posted to"),
}
FORMATS = {
    "csv": ("text/csv; charset=utf-8", "csv"),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"),
    "pdf": ("application/pdf", "pdf"),
}


def titles(direction, translate):
    return [translate(incoming if direction == INCOMING or outgoing is None else outgoing)
            for _key, incoming, outgoing, _width in COLUMNS]


def _ref(reference):
    parts = [reference.number or "—"]
    if reference.date:
        parts.append(reference.date.isoformat())
    return " ".join(parts)


def cells(row, translate, state_titles):
    """The row's cells as text (dates as ISO dates), in COLUMNS order."""
    executor = row.executor.name if row.executor else ""
    if row.resolution:
        executor = f"{executor}: {row.resolution}" if executor else row.resolution
    notes = "; ".join(" ".join(filter(None, (translate(NOTE_TITLES[code]), text)))
                      for code, text in row.notes)
    return [
        row.number or "",
        row.numbered.isoformat() if row.numbered else "",
        "; ".join(p.name for p in row.parties),
        "; ".join(_ref(r) for r in row.references),
        row.subject,
        executor,
        row.due.isoformat() if row.due else "",
        "; ".join(_ref(r) for r in row.answered_by),
        translate(state_titles[row.state]) if row.state in state_titles else row.state,
        notes,
    ]


def heading(journal, translate):
    """The document's title line: the organisation, which journal, the period."""
    which = (_("journal-title-incoming", default="Journal of incoming letters")
             if journal.direction == INCOMING else
             _("journal-title-outgoing", default="Journal of outgoing letters"))
    series = f" · {journal.series}" if journal.series else ""
    return (f"{journal.org.name} — {translate(which)}{series}, "
            f"{journal.first.isoformat()} – {journal.last.isoformat()}")


def write_csv(journal, out, translate, state_titles):
    """Write the journal to the text stream `out` as CSV (a title line, the header, the rows).
    Returns the number of rows."""
    writer = csv.writer(out)
    writer.writerow([heading(journal, translate)])
    writer.writerow(titles(journal.direction, translate))
    count = 0
    for row in journal.rows():
        writer.writerow(cells(row, translate, state_titles))
        count += 1
    return count


def write_xlsx(journal, path, translate, state_titles):
    """Write the journal to an XLSX workbook at `path` (constant memory: each row is flushed
    as it is written). Dates are real dates. Returns the number of rows."""
    import xlsxwriter

    book = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    try:
        sheet = book.add_worksheet(translate(
            _("journal-sheet", default="Journal"))[:31])
        bold = book.add_format({"bold": True})
        header = book.add_format({"bold": True, "bg_color": "#E9ECEF", "border": 1,
                                  "text_wrap": True, "valign": "top"})
        text = book.add_format({"text_wrap": True, "valign": "top"})
        day = book.add_format({"num_format": "yyyy-mm-dd", "valign": "top"})
        for index, (_key, _i, _o, width) in enumerate(COLUMNS):
            sheet.set_column(index, index, width * 1.6)
        sheet.write_string(0, 0, heading(journal, translate), bold)
        for index, title in enumerate(titles(journal.direction, translate)):
            sheet.write_string(2, index, title, header)
        sheet.freeze_panes(3, 0)
        count = 0
        for count, row in enumerate(journal.rows(), start=1):
            values = cells(row, translate, state_titles)
            for index, value in enumerate(values):
                key = COLUMNS[index][0]
                when = {"date": row.numbered, "due": row.due}.get(key)
                if isinstance(when, date):
                    sheet.write_datetime(2 + count, index, when, day)
                else:
                    sheet.write_string(2 + count, index, value, text)
        return count
    finally:
        book.close()


def write_pdf(journal, path, translate, state_titles, font):
    """Write the journal to a PDF at `path` for printing: A4 landscape, the title and the
    column header on every page, cells wrapped, page numbers. `font` is a registered reportlab
    font with Cyrillic letters. Returns the number of rows."""
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.units import mm
    from reportlab.lib.utils import simpleSplit
    from reportlab.pdfgen import canvas

    width, height = landscape(A4)
    margin, size, leading, pad = 10 * mm, 7, 8.5, 1.5
    total = sum(c[3] for c in COLUMNS)
    widths = [(width - 2 * margin) * c[3] / total for c in COLUMNS]
    title = heading(journal, translate)
    header = titles(journal.direction, translate)
    pdf = canvas.Canvas(str(path), pagesize=(width, height), pageCompression=1)
    pdf.setTitle(title)
    page = [0]

    def lines_of(values, face, font_size):
        return [simpleSplit(str(v), face, font_size, w - 2 * pad) or [""]
                for v, w in zip(values, widths)]

    def draw_row(y, wrapped, fill=None):
        row_height = max(len(lines) for lines in wrapped) * leading + 2 * pad
        if fill:
            pdf.setFillGray(fill)
            pdf.rect(margin, y - row_height, width - 2 * margin, row_height, stroke=0, fill=1)
            pdf.setFillGray(0)
        text, x = pdf.beginText(), margin  # one text object per row: far cheaper than
        text.setFont(font, size)              # one per line (reportlab's drawString)
        for lines, w in zip(wrapped, widths):
            for index, line in enumerate(lines):
                text.setTextOrigin(x + pad, y - pad - size - index * leading)
                text.textOut(line)
            x += w
        pdf.drawText(text)
        pdf.setLineWidth(0.3)
        pdf.line(margin, y - row_height, width - margin, y - row_height)
        return y - row_height

    def new_page():
        if page[0]:
            pdf.showPage()
        page[0] += 1
        pdf.setFont(font, 10)
        pdf.drawString(margin, height - margin - 10, title)
        pdf.setFont(font, size)
        pdf.drawRightString(width - margin, margin / 2, str(page[0]))
        return draw_row(height - margin - 16, lines_of(header, font, size), fill=0.9)

    y = new_page()
    count = 0
    for row in journal.rows():
        wrapped = lines_of(cells(row, translate, state_titles), font, size)
        needed = max(len(lines) for lines in wrapped) * leading + 2 * pad
        if y - needed < margin:
            y = new_page()
        y = draw_row(y, wrapped)
        count += 1
    pdf.save()
    return count
