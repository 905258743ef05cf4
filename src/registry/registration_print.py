"""What a records office prints for a registered letter: the registration stamp (бүртгэлийн
тэмдэг), a label to stick on a letter that came on paper, and the registration card, the
letter's whole registration on one A5 page. Both are PDFs drawn here with reportlab; text is
the caller's language (`translate`), times are local (`zone`).
"""
from datetime import datetime
from io import BytesIO

from translationstring import TranslationString

from registry.fonts import cyrillic_font
from registry.i18n import _
from registry.journal import task_facts

STAMP_SIZE_MM = (80, 40)


def _local(when, zone):
    return when.astimezone(zone) if when else None


def registration_facts(site, delivery, zone):
    """What the stamp and the card say about a registered delivery, as (title, value) pairs
    with plain values; the first four are the stamp."""
    letter = delivery.letter
    recipient = site.orgs.get(delivery.recipient)
    sender = site.orgs.get(letter.org)
    executor_login, _co, resolution, due, _answers = task_facts(delivery)
    executor = site.users.get(executor_login) if executor_login else None
    registered = _local(delivery.registered_at, zone)
    sent = _local(letter.sent_at, zone)
    verdict = delivery.checked_before_export or {}
    signer = (verdict.get("signer") or {}).get("subject", "")
    facts = [
        (_("stamp-org", default="Organisation"), recipient.name if recipient else ""),
        (_("stamp-number", default="Incoming number"), delivery.incoming_number or ""),
        (_("stamp-date", default="Registered"), registered.strftime("%Y-%m-%d %H:%M")
         if registered else ""),
        (_("stamp-executor", default="Executor"),
         ((executor.fullname or executor.login) if executor else "")),
        (_("card-sender", default="From"),
         f"{sender.name} ({letter.org})" if sender else
         ", ".join(filter(None, (getattr(letter, "sender_name", ""),
                                 getattr(letter, "sender_address", ""))))),
        (_("card-their-number", default="Their number and date"),
         " ".join(filter(None, (letter.outgoing_number, sent.strftime("%Y-%m-%d") if sent else
                                (letter.sender_date.isoformat()
                                 if getattr(letter, "sender_date", None) else ""))))),
        (_("card-subject", default="Subject"), letter.subject),
        (_("card-resolution", default="Resolution"), resolution),
        (_("card-due", default="Answer due"),
         (due or letter.response_due).isoformat() if (due or letter.response_due) else ""),
        (_("card-file", default="File"),
         f"{letter.pdf.filename}, {letter.pdf.size:,} B" if letter.pdf else ""),
        # In two halves: a line breaks only between words.
        ("SHA-256", f"{letter.pdf.sha256[:32]} {letter.pdf.sha256[32:]}" if letter.pdf else ""),
        (_("card-signature", default="Signature at receipt"),
         (_("card-signature-valid", default="valid") if verdict.get("accepted")
          else _("card-signature-not-valid", default="not valid")) if verdict else ""),
        (_("card-signer", default="Signed by"), signer),
    ]
    return facts


def stamp_pdf(site, delivery, zone, translate):
    """The registration stamp as a label (80 × 40 mm): organisation, incoming number, date
    and time, executor, in a frame."""
    from reportlab.lib.units import mm
    from reportlab.lib.utils import simpleSplit
    from reportlab.pdfgen import canvas

    font = cyrillic_font()
    width, height = STAMP_SIZE_MM[0] * mm, STAMP_SIZE_MM[1] * mm
    out = BytesIO()
    pdf = canvas.Canvas(out, pagesize=(width, height))
    pdf.setTitle(translate(_("stamp-title", default="Registration stamp")))
    pdf.setLineWidth(1)
    pdf.roundRect(2 * mm, 2 * mm, width - 4 * mm, height - 4 * mm, 2 * mm)
    facts = registration_facts(site, delivery, zone)[:4]
    y = height - 8 * mm
    name_lines = simpleSplit(facts[0][1], font, 8, width - 10 * mm)[:2]
    pdf.setFont(font, 8)
    for line in name_lines:
        pdf.drawCentredString(width / 2, y, line)
        y -= 3.6 * mm
    y -= 1 * mm
    for title, value in facts[1:]:
        pdf.setFont(font, 7)
        pdf.drawString(5 * mm, y, translate(title) + ":")
        pdf.setFont(font, 9 if title is facts[1][0] else 8)
        pdf.drawString(30 * mm, y, simpleSplit(str(value), font, 8, width - 35 * mm)[0]
                       if value else "")
        y -= 5 * mm
    pdf.showPage()
    pdf.save()
    return out.getvalue()


def card_pdf(site, delivery, zone, translate, transition_titles):
    """The registration card: every fact of the registration on an A5 page, then the
    delivery's history (who did what, when; `transition_titles` names the transitions)."""
    from reportlab.lib.pagesizes import A5
    from reportlab.lib.units import mm
    from reportlab.lib.utils import simpleSplit
    from reportlab.pdfgen import canvas

    font = cyrillic_font()
    width, height = A5
    out = BytesIO()
    pdf = canvas.Canvas(out, pagesize=A5)
    title = translate(_("card-title", default="Registration card"))
    pdf.setTitle(title)
    margin, label_width = 12 * mm, 46 * mm
    y = height - margin - 4 * mm
    pdf.setFont(font, 12)
    pdf.drawString(margin, y, title)
    y -= 8 * mm

    def line(label, value, size=8.5):
        nonlocal y
        lines = simpleSplit(str(value), font, size, width - 2 * margin - label_width) or [""]
        if y - len(lines) * 4.2 * mm < margin:
            pdf.showPage()
            y = height - margin
        pdf.setFont(font, 7.5)
        pdf.drawString(margin, y, label)
        pdf.setFont(font, size)
        for text in lines:
            pdf.drawString(margin + label_width, y, text)
            y -= 4.2 * mm
        y -= 1.2 * mm

    for label, value in registration_facts(site, delivery, zone):
        if value:
            line(translate(label),
                 translate(value) if isinstance(value, TranslationString) else value)
    y -= 3 * mm
    pdf.setFont(font, 10)
    pdf.drawString(margin, y, translate(_("card-history", default="History")))
    y -= 6 * mm
    for entry in delivery.history:
        when = datetime.fromisoformat(entry.time).astimezone(zone)
        user = site.users.get(entry.actor)
        who = (user.fullname or user.login) if user is not None else entry.actor
        what = translate(transition_titles.get(entry.transition, entry.transition))
        line(when.strftime("%Y-%m-%d %H:%M"),
             " — ".join(filter(None, (f"{what}: {who}", entry.comment))), size=7.5)
    pdf.showPage()
    pdf.save()
    return out.getvalue()
