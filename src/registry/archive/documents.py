"""The package's `documentation/`: the inventory of storage units (хадгаламжийн нэгжийн
жагсаалт) as CSV and as a printable PDF, and the handover act, both in Mongolian (they are
archival documents for the state archive, whose language is Mongolian).

A storage unit (хадгаламжийн нэгж) is one file-plan series of the year: its index (the series
code), title, the dates of its first and last letter, its number of documents, its retention
and a note (how many incoming and outgoing letters). `Inventory` gathers them as letters pass,
in memory bounded by the number of series, not of letters.
"""
import csv
import io
from dataclasses import dataclass, field
from datetime import timezone

from registry.fonts import cyrillic_font

INVENTORY_HEADER = ("№", "Индекс", "Хадгаламжийн нэгжийн гарчиг", "Хамрах он, сар, өдөр",
                    "Баримтын тоо", "Хадгалах хугацаа", "Тайлбар")


def retention_label(retention):
    """"permanent" -> "Байнга"; "temporary:10" -> "10 жил"."""
    if retention == "permanent":
        return "Байнга"
    return f"{int(retention.split(':', 1)[1])} жил"


@dataclass
class Unit:
    """One storage unit (a series of the year)."""

    index: str
    title: str
    retention: str
    first: object = None
    last: object = None
    count: int = 0
    incoming: int = 0
    outgoing: int = 0

    def add(self, when, direction):
        self.count += 1
        if direction == "incoming":
            self.incoming += 1
        else:
            self.outgoing += 1
        if self.first is None or when < self.first:
            self.first = when
        if self.last is None or when > self.last:
            self.last = when

    @property
    def date_range(self):
        first, last = self.first.strftime("%Y.%m.%d"), self.last.strftime("%Y.%m.%d")
        return first if first == last else f"{first}–{last}"

    @property
    def note(self):
        return f"Ирсэн {self.incoming}, явсан {self.outgoing}"


@dataclass
class Inventory:
    """The storage units of a package, filled letter by letter; dates in `zone` (a tzinfo)."""

    zone: object = timezone.utc
    units: dict = field(default_factory=dict)

    def add(self, entry, when):
        if when.tzinfo is None:  # naive times are UTC (model.py)
            when = when.replace(tzinfo=timezone.utc)
        when = when.astimezone(self.zone)
        unit = self.units.get(entry.series)
        if unit is None:
            unit = self.units[entry.series] = Unit(entry.series, entry.series_title,
                                                   entry.retention)
        unit.add(when, entry.direction)

    def rows(self):
        """(№, index, title, date range, documents, retention, note), by index."""
        for number, unit in enumerate(sorted(self.units.values(), key=lambda u: u.index), 1):
            yield (number, unit.index, unit.title, unit.date_range, unit.count,
                   retention_label(unit.retention), unit.note)

    @property
    def documents(self):
        return sum(unit.count for unit in self.units.values())


def _local(when, zone):
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return when.astimezone(zone)


def inventory_csv(inventory):
    """The inventory as CSV (RFC 4180, UTF-8, header row in Mongolian)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(INVENTORY_HEADER)
    writer.writerows(inventory.rows())
    return out.getvalue().encode("utf-8")


def _styles():
    from reportlab.lib.styles import ParagraphStyle

    font = cyrillic_font()
    return {
        "title": ParagraphStyle("title", fontName=font, fontSize=13, leading=17, alignment=1,
                                spaceAfter=6),
        "centre": ParagraphStyle("centre", fontName=font, fontSize=10, leading=13, alignment=1),
        "body": ParagraphStyle("body", fontName=font, fontSize=10, leading=14, spaceAfter=4),
        "cell": ParagraphStyle("cell", fontName=font, fontSize=8.5, leading=10.5),
    }


def _escape(value):
    return (str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;"))


def _pdf(story, title, author, landscape_page=False):
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.units import mm
    from reportlab.platypus import SimpleDocTemplate

    out = io.BytesIO()
    doc = SimpleDocTemplate(out, pagesize=landscape(A4) if landscape_page else A4,
                            leftMargin=18 * mm, rightMargin=18 * mm, topMargin=16 * mm,
                            bottomMargin=16 * mm, title=title, author=author, invariant=1)
    doc.build(story)
    return out.getvalue()


def _facts_table(rows, styles, widths):
    from reportlab.lib import colors
    from reportlab.platypus import Paragraph, Table, TableStyle

    data = [[Paragraph(_escape(a), styles["cell"]), Paragraph(_escape(b), styles["cell"])]
            for a, b in rows]
    table = Table(data, colWidths=widths)
    table.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
                               ("VALIGN", (0, 0), (-1, -1), "TOP")]))
    return table


def inventory_pdf(inventory, spec):
    """The inventory as a printable A4 landscape PDF in Mongolian."""
    from reportlab.lib import colors
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, Spacer, Table, TableStyle

    styles = _styles()
    scope = f"{spec.year} он" + (f", {spec.series} индекс" if spec.series else "")
    story = [
        Paragraph(_escape(spec.org.name.upper()), styles["centre"]),
        Spacer(1, 3 * mm),
        Paragraph("ХАДГАЛАМЖИЙН НЭГЖИЙН ЖАГСААЛТ", styles["title"]),
        Paragraph(_escape(f"{scope}. Фонд: {spec.fond_reference}, данс: "
                          f"{spec.inventory_reference}. Хүлээлгэн өгөх акт № {spec.act_number},"
                          f" {spec.act_date.strftime('%Y.%m.%d')}."), styles["centre"]),
        Spacer(1, 5 * mm),
    ]
    widths = [12 * mm, 28 * mm, 88 * mm, 42 * mm, 22 * mm, 26 * mm, 42 * mm]
    data = [[Paragraph(_escape(h), styles["cell"]) for h in INVENTORY_HEADER]]
    for row in inventory.rows():
        data.append([Paragraph(_escape(v), styles["cell"]) for v in row])
    table = Table(data, colWidths=widths, repeatRows=1)
    table.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
                               ("BACKGROUND", (0, 0), (-1, 0), colors.Color(0.92, 0.92, 0.92)),
                               ("VALIGN", (0, 0), (-1, -1), "TOP")]))
    story += [
        table,
        Spacer(1, 6 * mm),
        Paragraph(_escape(f"Энэ жагсаалтад {len(inventory.units)} хадгаламжийн нэгж, "
                          f"{inventory.documents} баримт орсон."), styles["body"]),
        Spacer(1, 8 * mm),
        Paragraph(_escape(f"Бүрдүүлсэн: ____________________ {spec.made_by}"), styles["body"]),
        Paragraph(_escape(f"Огноо: {_local(spec.created, inventory.zone):%Y.%m.%d}"),
                  styles["body"]),
    ]
    return _pdf(story, f"Хадгаламжийн нэгжийн жагсаалт {spec.year}", spec.org.name,
                landscape_page=True)


def act_pdf(spec, inventory, letters, audit_sha256, audit_records):
    """The handover act (хүлээлгэн өгөх, хүлээн авах акт) as an A4 PDF in Mongolian: who hands
    over what to whom, the package's identity and the checksum of its audit trail, with
    signature lines for both sides."""
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, Spacer

    styles = _styles()
    status = "нэмэлт (SUPPLEMENT)" if spec.record_status == "SUPPLEMENT" else "анхны (NEW)"
    scope = f"{spec.year} оны" + (f" {spec.series} индексийн" if spec.series else "")
    facts = [
        ("Акт №", spec.act_number),
        ("Актын огноо", spec.act_date.strftime("%Y.%m.%d")),
        ("Хүлээлгэн өгөгч байгууллага", f"{spec.org.name} (РД {spec.org.regno})"),
        ("Хүлээн авагч", spec.archive_name),
        ("Фонд / данс", f"{spec.fond_reference} / {spec.inventory_reference}"),
        ("Багцын дугаар (OBJID)", spec.package_id),
        ("Багцын төрөл", f"E-ARK SIP {spec.profile_version}, BagIt 1.0; {status}"),
        ("Хадгаламжийн нэгж", str(len(inventory.units))),
        ("Албан бичиг (PDF файл)", str(letters)),
        ("Аудитын бүртгэл", f"{audit_records} бичлэг, SHA-256 {audit_sha256}"),
        ("Бэлтгэсэн программ", " ".join(spec.software)),
        ("Бэлтгэсэн", spec.made_by),
    ]
    story = [
        Paragraph(_escape(spec.org.name.upper()), styles["centre"]),
        Spacer(1, 4 * mm),
        Paragraph("ХҮЛЭЭЛГЭН ӨГӨХ, ХҮЛЭЭН АВАХ АКТ", styles["title"]),
        Paragraph(_escape(f"№ {spec.act_number}, {spec.act_date.strftime('%Y.%m.%d')}"),
                  styles["centre"]),
        Spacer(1, 6 * mm),
        Paragraph(_escape(
            f"{spec.org.name} нь {scope} цахим албан бичгийг хадгаламжийн нэгжийн жагсаалтын "
            f"дагуу {spec.archive_name}-д хүлээлгэн өгөв. Албан бичиг бүр гарын үсэг "
            "зурагдсан хэлбэрээрээ (байт бүрээр өөрчлөгдөөгүй) багцад орсон бөгөөд багцын "
            "бүрэн бүтэн байдлыг BagIt манифест болон METS дахь SHA-256 хяналтын нийлбэрээр "
            "шалгана."), styles["body"]),
        Spacer(1, 3 * mm),
        _facts_table(facts, styles, [60 * mm, 114 * mm]),
        Spacer(1, 12 * mm),
        Paragraph(_escape(f"Хүлээлгэн өгсөн: ____________________ {spec.made_by}"),
                  styles["body"]),
        Spacer(1, 6 * mm),
        Paragraph(_escape(f"Хүлээн авсан: ____________________ ({spec.archive_name})"),
                  styles["body"]),
    ]
    return _pdf(story, f"Хүлээлгэн өгөх, хүлээн авах акт {spec.act_number}", spec.org.name)
