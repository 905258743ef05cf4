"""Delivery evidence: for each event that matters to a party — a letter sent, delivered,
registered or rejected by a recipient, withdrawn, handed over to the archive — the registry
issues one receipt signed with its seal (registry.seal): a small PDF in the sending party's
language (PAdES, B-LT when a TSA is configured), and the same facts as JSON with a detached
CMS signature (`registry.resources.receipt`).

As with preservation timestamps (registry.preservation), the transaction that makes the event
only asks for the receipt, with the facts as of that moment (`ask_receipt`, a workflow effect);
a thread of each process signs it after commit and stores it in a transaction of its own
(`issue_due`), retried with backoff while the seal or the TSA fails. A failed transaction asks
for nothing; a replayed one asks again for the same receipt id, so an event never has two.
Without a configured seal no receipt is asked for.
"""
import hashlib
import json
import logging
from datetime import datetime, timezone
from io import BytesIO

import transaction
from pyramid.traversal import find_resource
from ZODB.interfaces import IDatabase
from ZODB.POSException import ConflictError
from zope.interface import Interface

from registry import settings as registry_settings
from registry import verification
from registry.fonts import cyrillic_font
from registry.i18n import _, localizer_for
from registry.preservation import Stamper
from registry.resources.receipt import EVENTS, Receipt
from registry.seal import SealConfig, SealError, sign_detached, sign_pdf
from registry.signatures import default_trust_dir
from registry.signatures.tsa import TsaConfig
from registry.store import site_of
from registry.workflow.engine import object_path
from registry.tweens import after_writes

log = logging.getLogger(__name__)

#: The receipt a transition's new state calls for, by workflow and state.
EVENT_OF_STATE = {
    "letter": {"sent": "sent", "withdrawn": "withdrawn", "handed_over": "handed_over"},
    "delivery": {"registered": "registered", "rejected": "rejected",
                 "handed_over": "handed_over"},
}
#: Receipts of the letter its recipients see too (on their delivery).
SHARED_WITH_RECIPIENTS = ("withdrawn",)
EVENT_TITLES = {
    "sent": _("evidence-sent", default="Sent"),
    "delivered": _("evidence-delivered", default="Delivered"),
    "registered": _("evidence-registered", default="Registered by the recipient"),
    "rejected": _("evidence-rejected", default="Rejected by the recipient"),
    "withdrawn": _("evidence-withdrawn", default="Withdrawn by the sender"),
    "handed_over": _("evidence-handed-over", default="Handed over to the archive"),
}
JSON_TYPE = "registry-delivery-evidence"


def _now():
    return datetime.now(timezone.utc)


# Asking, in the event's transaction --------------------------------------------------------

def ask_receipt(obj, ctx, evidence):
    """Workflow effect: ask for the receipt of the event the transition made (by the new
    state), and for a sent letter one "delivered" receipt per delivery. Nothing without a
    configured seal, or for a letter that came on paper."""
    if registry_settings.seal(ctx.settings) is None or getattr(obj, "on_paper", False):
        return None
    event = EVENT_OF_STATE[obj.workflow_name].get(obj.state)
    if event is None:
        return None
    letter = obj if obj.workflow_name == "letter" else obj.letter
    locale = _sender_locale(ctx, letter)
    asked = [_ask(ctx, obj, event, locale)]
    if event == "sent":
        asked += [_ask(ctx, delivery, "delivered", locale)
                  for delivery in letter.deliveries.values()]
    return {"receipts": asked}


def _ask(ctx, item, event, locale):
    receipt_id = receipt_id_of(item, event)
    ctx.site.receipt_queue.ask(object_path(item), receipt_id, event, ctx.now, locale,
                               facts_of(ctx.site, item, event, ctx))
    return receipt_id


def receipt_id_of(item, event):
    """The receipt's id: the event, after the recipient's number for a delivery's."""
    return event if item.workflow_name == "letter" else f"{item.recipient}-{event}"


def _sender_locale(ctx, letter):
    """The language of the account that sent the letter (the one sending it now, while it is
    being sent), else the registry's default."""
    sender = next((entry.actor for entry in letter.history if entry.transition == "send"),
                  ctx.actor)
    user = ctx.site.users.get(sender)
    return (getattr(user, "language", None)
            or registry_settings.default_locale(ctx.settings))


def facts_of(site, item, event, ctx):
    """What the receipt attests, as plain JSON data, as of the event."""
    letter = item if item.workflow_name == "letter" else item.letter

    def party(regno):
        org = site.orgs.get(regno)
        return {"regno": regno, "name": org.name if org is not None else regno}

    facts = {
        "type": JSON_TYPE, "version": 1, "id": receipt_id_of(item, event), "event": event,
        "time": ctx.now.isoformat(),
        "letter": {
            "path": object_path(letter), "outgoing_number": letter.outgoing_number,
            "sent_at": letter.sent_at.isoformat() if letter.sent_at else None,
            "subject": letter.subject, "sender": party(letter.org),
            "file": {"filename": letter.pdf.filename, "size": letter.pdf.size,
                     "sha256": letter.pdf.sha256},
            "verification_code": verification.code_of(letter),
        },
    }
    if item is letter:
        facts["letter"]["recipients"] = [party(regno) for regno in letter.recipients]
    else:
        facts["delivery"] = {"path": object_path(item), "recipient": party(item.recipient),
                             "delivered_at": item.delivered_at.isoformat()}
        if event == "registered":
            facts["delivery"].update(incoming_number=item.incoming_number,
                                     registered_at=item.registered_at.isoformat())
    if event in ("rejected", "withdrawn"):
        facts["reason"] = ctx.comment.strip()
    if event == "handed_over":
        facts["handover"] = {"id": item.handed_over_in, "at": item.handed_over_at.isoformat()}
    return facts


# The receipt's bytes ------------------------------------------------------------------------

def json_bytes(facts):
    """The receipt's JSON as signed: keys sorted, UTF-8, one line."""
    return json.dumps(facts, ensure_ascii=False, sort_keys=True,
                      separators=(",", ":")).encode("utf-8")


def fact_lines(facts, zone):
    """(label, value) pairs the PDF shows, in order; labels are TranslationStrings."""
    letter, delivery = facts["letter"], facts.get("delivery") or {}

    def local(iso):
        return datetime.fromisoformat(iso).astimezone(zone).strftime("%Y-%m-%d %H:%M:%S") \
            if iso else ""

    def named(party):
        return f"{party['name']} ({party['regno']})"

    sha = letter["file"]["sha256"]
    lines = [
        (_("evidence-event", default="Event"), EVENT_TITLES[facts["event"]]),
        (_("evidence-time", default="Time (Ulaanbaatar)"), local(facts["time"])),
        (_("card-sender", default="From"), named(letter["sender"])),
        (_("evidence-outgoing", default="Outgoing number"), letter["outgoing_number"] or ""),
        (_("evidence-sent-at", default="Sent"), local(letter["sent_at"])),
        (_("card-subject", default="Subject"), letter["subject"]),
        (_("card-file", default="File"),
         f"{letter['file']['filename']}, {letter['file']['size']:,} B"),
        ("SHA-256", f"{sha[:32]} {sha[32:]}"),
    ]
    if "recipients" in letter:
        lines.append((_("evidence-recipients", default="To"),
                      "; ".join(named(party) for party in letter["recipients"])))
    if delivery:
        lines += [(_("evidence-recipient", default="Recipient"), named(delivery["recipient"])),
                  (_("evidence-delivered-at", default="Delivered"),
                   local(delivery["delivered_at"]))]
    if delivery.get("incoming_number"):
        lines += [(_("stamp-number", default="Incoming number"), delivery["incoming_number"]),
                  (_("stamp-date", default="Registered"), local(delivery["registered_at"]))]
    if facts.get("reason"):
        lines.append((_("evidence-reason", default="Reason"), facts["reason"]))
    if facts.get("handover"):
        lines.append((_("evidence-handover", default="Handover"), facts["handover"]["id"]))
    return lines


def receipt_pdf(facts, locale, zone, verification=None):
    """The receipt as an A5 PDF (unsigned): the facts in `locale`, the JSON attached as
    `evidence.json`. `verification`: (code, url) of the letter's public verification, drawn
    with its QR code when given."""
    from reportlab.lib.pagesizes import A5
    from reportlab.lib.units import mm
    from reportlab.lib.utils import simpleSplit
    from reportlab.pdfgen import canvas
    from translationstring import TranslationString

    translate = localizer_for(locale).translate
    font = cyrillic_font()
    width, height = A5
    out = BytesIO()
    pdf = canvas.Canvas(out, pagesize=A5)
    title = translate(_("evidence-title", default="Delivery evidence"))
    pdf.setTitle(f"{title}: {facts['id']}")
    pdf.setAuthor("Registry")
    margin, label_width = 12 * mm, 40 * mm
    y = height - margin - 4 * mm
    pdf.setFont(font, 13)
    pdf.drawString(margin, y, title)
    y -= 9 * mm
    for label, value in fact_lines(facts, zone):
        value = translate(value) if isinstance(value, TranslationString) else str(value)
        pdf.setFont(font, 7.5)
        pdf.drawString(margin, y, translate(label))
        pdf.setFont(font, 8.5)
        for text in simpleSplit(value, font, 8.5, width - 2 * margin - label_width)[:6] or [""]:
            pdf.drawString(margin + label_width, y, text)
            y -= 4.3 * mm
        y -= 1.2 * mm
    y -= 4 * mm
    pdf.setFont(font, 7)
    note = translate(_("evidence-note", default="The registry signed this receipt with its "
                       "seal; the same facts are attached as evidence.json. The letter's own "
                       "file is not changed: compare its SHA-256."))
    for text in simpleSplit(note, font, 7, width - 2 * margin):
        pdf.drawString(margin, y, text)
        y -= 3.6 * mm
    if verification is not None:
        _draw_verification(pdf, verification, font, translate, margin)
    pdf.showPage()
    pdf.save()
    return _attach_json(out.getvalue(), json_bytes(facts))


def _draw_verification(pdf, verification, font, translate, margin):
    """The letter's public verification code, its URL and QR code, at the page's foot."""
    import segno
    from reportlab.lib.units import mm

    code, url = verification
    matrix = segno.make(url, error="m").matrix
    size = 24 * mm
    module = size / len(matrix)
    for row, cells in enumerate(matrix):
        for col, dark in enumerate(cells):
            if dark:
                pdf.rect(margin + col * module, margin + size - (row + 1) * module, module,
                         module, stroke=0, fill=1)
    pdf.setFont(font, 8)
    pdf.drawString(margin + size + 4 * mm, margin + size - 6 * mm,
                   translate(_("evidence-verification", default="Verification code: ${code}",
                               mapping={"code": code})))
    pdf.setFont(font, 7)
    pdf.drawString(margin + size + 4 * mm, margin + size - 11 * mm, url)


def _attach_json(pdf_bytes, data):
    """`pdf_bytes` with `data` attached as the embedded file evidence.json."""
    from pyhanko.pdf_utils import embed
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    writer = IncrementalPdfFileWriter(BytesIO(pdf_bytes))
    spec = embed.FileSpec(file_spec_string="evidence.json", file_name="evidence.json",
                          embedded_data=embed.EmbeddedFileObject.from_file_data(
                              writer, data, mime_type="application/json"),
                          description="Delivery evidence (JSON)")
    embed.embed_file(writer, spec)
    out = BytesIO()
    writer.write(out)
    return out.getvalue()


def attached_json(pdf_bytes):
    """The facts a receipt PDF carries as evidence.json, or None."""
    from pyhanko.pdf_utils.reader import PdfFileReader

    reader = PdfFileReader(BytesIO(pdf_bytes))
    try:
        names = reader.root["/Names"]["/EmbeddedFiles"]["/Names"]
    except KeyError:
        return None
    for i in range(0, len(names), 2):
        if str(names[i]) == "evidence.json":
            data = names[i + 1]["/EF"]["/F"].data
            return json.loads(data.decode("utf-8"))
    return None


def describe(pdf_bytes, verdict, seal):
    """What `registry verify` says of an accepted PDF that is a receipt: {"registry_seal":
    whether it is signed by `seal` (a SealConfig; None: unknown), "facts"}; None when the PDF
    carries no evidence.json. Reads the PDF in this process: only for a PDF the gate accepted
    (intact, signed by a trusted certificate)."""
    if not verdict.accepted:
        return None
    facts = attached_json(pdf_bytes)
    if not isinstance(facts, dict) or facts.get("type") != JSON_TYPE:
        return None
    ours = None
    if seal is not None:
        from cryptography import x509

        cert = x509.load_der_x509_certificate(seal.certificates()[0])
        ours = (verdict.signer or {}).get("serial") == format(cert.serial_number, "x")
    return {"registry_seal": ours, "facts": facts}


def summary(facts):
    """One line of what a receipt attests (English, for the command line)."""
    letter = facts["letter"]
    delivery = facts.get("delivery") or {}
    parts = [f"{facts['event']} at {facts['time']}: letter {letter['outgoing_number']} of "
             f"{letter['sender']['name']} ({letter['sender']['regno']})"]
    if delivery:
        parts.append(f"to {delivery['recipient']['name']} ({delivery['recipient']['regno']})")
    if delivery.get("incoming_number"):
        parts.append(f"registered as {delivery['incoming_number']}")
    if facts.get("reason"):
        parts.append(f"reason: {facts['reason']}")
    parts.append(f"file SHA-256 {letter['file']['sha256']}")
    return ", ".join(parts)


# Issuing, after commit ----------------------------------------------------------------------

def issue_due(db, seal, tsa, trust, settings, clock=_now, limit=20):
    """Make the receipts due at `clock()`: render, sign with `seal` (a SealConfig; B-LT and a
    signature timestamp with `tsa` and `trust`, the gate's Trust), store beside their item and
    audit, each in a transaction of its own. Returns (issued, failed) counts."""
    tm = transaction.TransactionManager(explicit=True)
    conn = db.open(transaction_manager=tm)
    issued = failed = 0
    zone = registry_settings.zone(settings)
    try:
        tm.begin()
        due = site_of(conn).receipt_queue.due(clock(), limit)
        tm.abort()
        for key, entry in due:
            facts = entry["facts"]
            data = json_bytes(facts)
            code = facts["letter"].get("verification_code")
            url = code and verification.url_for_code(settings, code)
            try:
                pdf = sign_pdf(receipt_pdf(facts, entry["locale"], zone,
                                           verification=(code, url) if url else None),
                               seal, tsa=tsa, trust=trust)
                signature = sign_detached(data, seal, tsa=tsa, trust=trust)
                error = None
            except SealError as exc:
                error = str(exc)
            tm.begin()
            site = site_of(conn)
            queue = site.receipt_queue
            item = _find(site, entry["path"])
            if queue.entry(key) is None or item is None or item.receipt(entry["receipt"]):
                queue.done(key)  # made by another process meanwhile, or the item is gone
                tm.commit()
                continue
            if error is None:
                item.add_receipt(Receipt(entry["receipt"], entry["event"],
                                         datetime.fromisoformat(entry["time"]), facts, pdf, data,
                                         signature, entry["locale"], clock()))
                queue.done(key)
                site.audit.append("registry:seal", "evidence.issued", target=entry["path"],
                                  org=item.owner_regno(),
                                  detail={"receipt": entry["receipt"], "event": entry["event"],
                                          "pdf_sha256": hashlib.sha256(pdf).hexdigest(),
                                          "json_sha256": hashlib.sha256(data).hexdigest()})
                issued += 1
            else:
                queue.failed(key, error, clock())
                failed += 1
                log.warning("receipt %s of %s not made: %s", entry["receipt"], entry["path"],
                            error)
            tm.commit()
        return issued, failed
    except ConflictError:
        tm.abort()
        log.info("another process is making receipts; leaving the rest to it")
        return issued, failed
    finally:
        conn.close()


def _find(site, path):
    try:
        return find_resource(site, path)
    except KeyError:
        return None


class IReceiptIssuer(Interface):
    """This process's receipt issuer (registered only when a seal is configured)."""


class Issuer(Stamper):
    """Runs `issue_due` in a thread of this process: when woken after a writing request, and
    every `poll` seconds for receipts due again; `tick()` runs it at once."""

    thread_name = "registry-receipts"

    def __init__(self, db, seal, tsa, trust_dir, settings, poll=60.0, clock=_now):
        super().__init__(db, tsa, trust_dir, poll=poll, clock=clock)
        self.seal = seal
        self.settings = settings

    def tick(self):
        with self._lock:
            trust = self.trust.get()
            return issue_due(self.db, self.seal, self.tsa, trust, self.settings, self.clock)


def issuer_tween_factory(handler, registry):
    return after_writes(handler, registry.getUtility(IReceiptIssuer).wake)


def includeme(config):
    """With a seal configured, start this process's receipt issuer and wake it after writing
    requests."""
    import atexit

    settings = config.registry.settings
    seal = SealConfig.from_settings(settings)
    if seal is None:
        return
    issuer = Issuer(config.registry.getUtility(IDatabase), seal,
                    TsaConfig.from_settings(settings), default_trust_dir(settings), settings,
                    poll=registry_settings.seal_retry_seconds(settings))
    config.registry.registerUtility(issuer.start(), IReceiptIssuer)
    issuer.wake()  # receipts asked for before this start (a restart, the demo's seeding)
    atexit.register(issuer.stop)
    config.add_tween("registry.receipts.issuer_tween_factory",
                     over="pyramid_tm.tm_tween_factory")


# Who sees which ----------------------------------------------------------------------------

def visible_receipts(item):
    """The receipts shown on a letter (its own and every delivery's) or on a delivery (its
    own and the letter's that its recipient is party to), in time order."""
    if item.workflow_name == "letter":
        found = item.receipt_list() + [receipt for delivery in item.deliveries.values()
                                       for receipt in delivery.receipt_list()]
    elif item.on_paper:
        found = item.receipt_list()
    else:
        found = item.receipt_list() + [receipt for receipt in item.letter.receipt_list()
                                       if receipt.event in SHARED_WITH_RECIPIENTS]
    return sorted(found, key=lambda receipt: (receipt.time, EVENTS.index(receipt.event),
                                              receipt.id))
