"""The exchange: drafting letters and moving letters and deliveries through their workflows.

The UI, the JSON API and the CLI all go through these functions, so every change is checked
the same way and audited. The transitions' effects (numbering, delivering, registering) are the
closed set `EFFECTS` that workflows/*.toml may name.
"""
from dataclasses import replace
from datetime import date, datetime, timezone

from registry import dates, desk, statistics, verification, workflow
from registry import settings as registry_settings
from registry.archive import retention
from registry.archive.retention import clean_series
from registry.directory import update_organisation
from registry.errors import NotFound, RegistryError
from registry.i18n import _
from registry.receipts import ask_receipt
from registry.resources.evidence import (ask_preservation_timestamp, keep_revocation_data,
                                         proof_of)
from registry.resources.letter import Delivery, Letter, StoredPDF
from registry.resources.report import Report
from registry.safetext import check_text, display_filename
from registry.search.queue import enqueue
from registry.signatures.token import sign_pdf
from registry.thread import link_reply
from registry.workflow.engine import Context, object_path
from registry.workflow.guards import GUARDS, STATE_GUARDS

SUBJECT_MAX = 500


# Checks on what a user gives -----------------------------------------------------------------

def clean_subject(value):
    subject = " ".join(check_text(value or "", "subject").split())
    if len(subject) > SUBJECT_MAX:
        raise RegistryError("SUBJECT_TOO_LONG",
                            _("subject-too-long", default="A subject has at most ${max} "
                              "characters.", mapping={"max": SUBJECT_MAX}), field="subject")
    return subject


def clean_recipients(site, sender, values):
    """Return the recipients as a tuple of registration numbers, in the order given, without
    repeats. Raises RegistryError naming the first unknown, inactive or self recipient."""
    recipients = []
    for raw in values:
        regno = (raw or "").strip()
        if not regno or regno in recipients:
            continue
        org = site.orgs.get(regno)
        if org is None:
            raise NotFound("UNKNOWN_RECIPIENT",
                           _("unknown-recipient", default="There is no organisation with "
                             "registration number ${regno} to send to.",
                             mapping={"regno": regno[:20]}), field="recipients")
        if not org.active:
            raise RegistryError("RECIPIENT_INACTIVE",
                                _("recipient-deactivated", default="${name} is deactivated; "
                                  "it receives no letters.", mapping={"name": org.name}),
                                field="recipients")
        if regno == sender:
            raise RegistryError("RECIPIENT_IS_SENDER",
                                _("An organisation does not send a letter to itself."),
                                field="recipients")
        recipients.append(regno)
    return tuple(recipients)


def clean_reply_to(org, value):
    """`value` names a delivery in `org`'s inbox (its id) or is empty."""
    value = (value or "").strip()
    if not value:
        return None
    if value not in org["inbox"]:
        raise NotFound("UNKNOWN_REPLY_TO",
                       _("A letter answers only a letter its organisation received."),
                       field="in_reply_to")
    return value


def _post_to(org, in_reply_to):
    """The postal addressee of an answer to a letter that came on paper, else None."""
    answered = org["inbox"].get(in_reply_to) if in_reply_to else None
    if answered is None or not answered.on_paper:
        return None
    return {"name": answered.letter.sender_name, "address": answered.letter.sender_address}


def clean_due(value):
    return dates.clean_day(value, "response_due")


def check_pdf_bytes(data, max_size):
    """Refuse what is not a PDF by its bytes (never by its name), or too large."""
    if len(data) > max_size:
        raise RegistryError("TOO_LARGE",
                            _("file-too-large", default="The file is larger than ${mb} MB.",
                              mapping={"mb": max_size // (1024 * 1024)}),
                            field="pdf", status=413)
    if b"%PDF-" not in data[:1024]:
        raise RegistryError("NOT_PDF", _("Only PDF files are accepted."), field="pdf",
                            status=415)


def _require_draft(letter):
    if letter.state != "draft":
        raise RegistryError("NOT_A_DRAFT", _("Only a draft can be changed."), status=409)


# Drafts -----------------------------------------------------------------------------------

def create_draft(site, actor, org, subject="", recipients=(), in_reply_to=None,
                 response_due=None, series="01"):
    """Start a draft in `org`'s outbox and audit it; return the Letter."""
    letter = Letter(org.regno, actor, subject=clean_subject(subject),
                    recipients=clean_recipients(site, org.regno, recipients),
                    in_reply_to=clean_reply_to(org, in_reply_to),
                    response_due=clean_due(response_due), series=clean_series(series))
    letter.post_to = _post_to(org, letter.in_reply_to)
    org["outbox"].add_item(letter)
    site.audit.append(actor, "letter.draft", target=_path(letter), org=org.regno,
                      detail={"subject": letter.subject, "recipients": list(letter.recipients)})
    return letter


def update_draft(site, actor, letter, **fields):
    """Change a draft's subject, recipients, reply-to, due date or series; audit the change.
    Returns {field: [old, new]}."""
    _require_draft(letter)
    org = site.orgs[letter.org]
    clean = {}
    if "subject" in fields:
        clean["subject"] = clean_subject(fields["subject"])
    if "recipients" in fields:
        clean["recipients"] = clean_recipients(site, letter.org, fields["recipients"])
    if "in_reply_to" in fields:
        clean["in_reply_to"] = clean_reply_to(org, fields["in_reply_to"])
        clean["post_to"] = _post_to(org, clean["in_reply_to"])
    if "response_due" in fields:
        clean["response_due"] = clean_due(fields["response_due"])
    if "series" in fields:
        clean["series"] = clean_series(fields["series"])
    changed = {}
    for name, value in clean.items():
        if getattr(letter, name) != value:
            changed[name] = [_plain(getattr(letter, name)), _plain(value)]
            setattr(letter, name, value)
    if changed:
        site.audit.append(actor, "letter.update", target=_path(letter), org=letter.org,
                          detail=changed)
        enqueue(letter)
    return changed


def attach_pdf(site, actor, letter, data, filename, max_size):
    """Store `data` as the draft's PDF (replacing any before) and audit it."""
    _require_draft(letter)
    check_pdf_bytes(data, max_size)
    name = display_filename(filename)
    letter.pdf = StoredPDF(data, name, actor)
    site.audit.append(actor, "letter.pdf", target=_path(letter), org=letter.org,
                      detail={"filename": name, "size": len(data), "sha256": letter.pdf.sha256})
    enqueue(letter)
    return letter.pdf


def delete_draft(site, actor, letter):
    """Delete a draft (a letter is sent from `signed` only, so a draft was never sent): it
    leaves its outbox and the outbox's indexes, the search index (by the change log), and the
    verification codes (one stamped on it by a signing on the server it was retracted from);
    audited with what it was. Its PDF's blob is unreferenced from then on and goes at the next
    pack. Raises RegistryError(NOT_A_DRAFT, 409) for a letter in any other state."""
    if letter.state != "draft":
        raise RegistryError("NOT_A_DRAFT", _("Only a draft can be deleted."), status=409)
    outbox, path = letter.__parent__, _path(letter)
    codes = verification.codes_of(site).codes
    code = getattr(letter, "verification_code", None)
    if code and codes.get(code) is letter:
        del codes[code]
    outbox.remove_item(letter)
    site.audit.append(actor, "letter.delete", target=path, org=letter.org,
                      detail={"subject": letter.subject,
                              "sha256": letter.pdf.sha256 if letter.pdf else None})


def sign_on_server(letter, pin, token_config, ctx, ca_chain=(), max_size=None, tsa=None,
                   verification_url=None):
    """Sign the draft's PDF with the organisation's token (PAdES B-LT with a timestamp from
    `tsa`, a TsaConfig, when given; else B-B), store the signed PDF and fire `sign` (so the
    gate checks the result). With `verification_url` (a function of a code -> its URL), the
    letter's verification code is given now (kept for the send) and stamped on the PDF with
    its QR code before it is signed. Raises RegistryError / TransitionRefused; the caller's
    transaction must then be aborted (nothing of it remains)."""
    _require_draft(letter)
    if letter.pdf is None:
        raise RegistryError("PDF_REQUIRED", _("The letter has no PDF file."), status=409)
    data = letter.pdf.read()
    if verification_url is not None:
        code = verification.codes_of(ctx.site).allocate(letter)
        try:
            data = verification.stamp_pdf(data, verification.display(code),
                                          verification_url(code))
        except Exception:  # pyHanko's errors on a PDF it cannot read or write
            raise RegistryError("STAMP_FAILED", _("stamp-failed", default="The verification "
                                "code cannot be placed on this PDF; sign it without."),
                                status=422) from None
    signed = sign_pdf(data, letter.org, pin, token_config, ca_chain, tsa=tsa,
                      trust=ctx.trust() if tsa is not None else None)
    name = letter.pdf.filename
    attach_pdf(ctx.site, ctx.actor, letter, signed, name, max_size or len(signed))
    ctx.site.audit.append(ctx.actor, "letter.token_signed", target=_path(letter),
                          org=letter.org, detail={"sha256": letter.pdf.sha256,
                                                  "level": "B-LT" if tsa else "B-B",
                                                  "verification_stamp":
                                                      verification_url is not None})
    return transition(letter, "sign", ctx)


# Transitions ------------------------------------------------------------------------------

def context(site, actor, permits, gate=None, settings=None, comment="", options=None,
            notify=None, now=None):
    """A workflow Context whose `verify` runs `gate` on a StoredPDF, judging it as of the
    registry's first acceptance of those bytes when there was one (see `proof_of`)."""

    def verify(stored_pdf, expected_regno, item=None):
        source = stored_pdf.path() or stored_pdf.read()
        return gate.verify(source, expected_regno, as_of=proof_of(item, site))

    kw = {"now": now} if now is not None else {}
    return Context(site=site, actor=actor, permits=permits, verify=verify,
                   trust=gate.trust if gate is not None else None,
                   settings=settings or {}, comment=check_text(comment or "", "comment"),
                   options=options or {}, notify=notify, **kw)



def transition(obj, name, ctx):
    """Fire the transition `name` on a Letter or Delivery; return the history entry. Raises
    TransitionRefused with every refusal."""
    return workflow.engine().fire(obj, name, ctx)


def offered(obj, ctx):
    return workflow.engine().offered(obj, ctx)


# Advertising -------------------------------------------------------------------------------

REASON_MAX = 1000


def report_advertising(site, actor, delivery, reason):
    """File a report that `delivery` is advertising, for the site administrators; audited.
    One open report per delivery."""
    reason = " ".join(check_text(reason or "", "reason").split())[:REASON_MAX]
    if not reason:
        raise RegistryError("COMMENT_REQUIRED", _("Give a reason."), field="reason")
    for report in site.reports.open_reports():
        if report.delivery is delivery:
            raise RegistryError("ALREADY_REPORTED", _("This letter is reported already."),
                                status=409)
    report = site.reports.file(Report(delivery, actor, reason))
    site.audit.append(actor, "report.file", target=_path(report), org=delivery.recipient,
                      detail={"delivery": _path(delivery), "sender": delivery.sender,
                              "reason": reason})
    return report


def decide_report(site, actor, report, decision):
    """A site administrator's decision: "dismiss", or "suspend" the sender (its organisation
    is deactivated). Audited."""
    if report.status != "open":
        raise RegistryError("ALREADY_DECIDED", _("This report is decided already."), status=409)
    if decision == "suspend":
        update_organisation(site, actor, site.orgs[report.sender], active=False)
        report.status = "sender_suspended"
    elif decision == "dismiss":
        report.status = "dismissed"
    else:
        raise RegistryError("UNKNOWN_DECISION", _("Decide 'dismiss' or 'suspend'."))
    report.decided_by = actor
    report.decided_at = datetime.now(timezone.utc)
    site.reports.decided(report)
    site.audit.append(actor, f"report.{decision}", target=_path(report), org=report.sender,
                      detail={"sender": report.sender, "reporter_org": report.reporter_org})
    return report


# Effects ----------------------------------------------------------------------------------

def local_date(ctx):
    return desk.today(ctx)


def local_year(ctx):
    return local_date(ctx).year


def keep_verdict(obj, ctx, evidence):
    """Store the gate's verdict with the object (the evidence of this check)."""
    for guard in ("signature_gate", "sender_signature_gate"):
        if guard in evidence:
            verdict = evidence[guard]["verdict"]
            obj.record_verdict(verdict)
            if ctx.trust is not None:
                keep_revocation_data(ctx.site, verdict, ctx.trust())
            if registry_settings.tsa(ctx.settings) is not None:
                # Obtained after commit (registry.preservation), never within this request.
                ask_preservation_timestamp(ctx.site, obj, verdict, ctx.now)


def number_outgoing(letter, ctx, evidence):
    """Give the letter its outgoing number: per organisation, series and year, gap-free."""
    outbox = letter.__parent__
    year = local_year(ctx)
    seq = outbox.next_number(letter.series, year)
    pattern = registry_settings.number_pattern(ctx.settings, "outgoing")
    letter.outgoing_number = pattern.format(series=letter.series, year=year, n=seq)
    letter.number_year, letter.number_seq = year, seq
    letter.sent_at = ctx.now
    outbox.journal[(year, letter.series, seq)] = letter.__name__
    outbox.count_sent(local_date(ctx).isoformat())
    return {"number": letter.outgoing_number}


def deliver(letter, ctx, evidence):
    """Put one Delivery in each recipient's inbox, all pointing at this Letter."""
    delivered = {}
    for regno in letter.recipients:
        recipient = ctx.site.orgs[regno]
        delivery = recipient["inbox"].add_item(Delivery(letter, regno, now=ctx.now))
        letter.deliveries[regno] = delivery
        delivered[regno] = delivery.__name__
        ctx.site.audit.append(ctx.actor, "delivery.delivered", target=_path(delivery),
                              org=regno, detail={"letter": _path(letter),
                                                 "number": letter.outgoing_number})
    answered = letter.__parent__.__parent__["inbox"].get(letter.in_reply_to) \
        if letter.in_reply_to else None
    if answered is not None and answered.answered_by is None:
        # The letter it answers no longer awaits an answer (not overdue any more).
        answered.answered_by = _path(letter)
        enqueue(answered)
    if answered is not None:
        desk.answer_task(answered, letter, ctx)
    return {"deliveries": delivered}


def number_incoming(delivery, ctx, evidence):
    """Register at receipt: the incoming number (the task, if any, is `open_task`'s)."""
    inbox = delivery.__parent__
    year = local_year(ctx)
    series = clean_series(ctx.options.get("series") or "01")
    seq = inbox.next_number(series, year)
    pattern = registry_settings.number_pattern(ctx.settings, "incoming")
    delivery.incoming_number = pattern.format(series=series, year=year, n=seq)
    delivery.number_year, delivery.number_seq, delivery.series = year, seq, series
    delivery.registered_at = ctx.now
    inbox.journal[(year, series, seq)] = delivery.__name__
    return {"number": delivery.incoming_number}


def complete_letter(delivery, ctx, evidence):
    """When every recipient has registered, the letter becomes received."""
    letter = delivery.letter
    if all(d.state == "registered" for d in letter.deliveries.values()):
        # The registry fires `receive` itself: nobody's permission, no comment or options.
        system = replace(ctx, permits=lambda permission, obj: False, comment="", options={})
        workflow.engine().fire(letter, "receive", system, system=True)
        return {"letter": "received"}
    return None


def record_rejection(delivery, ctx, evidence):
    delivery.rejection_reason = ctx.comment.strip()


def mark_handed_over(obj, ctx, evidence):
    """Note the handover (its id in the organisation's handovers) the item went with."""
    obj.handed_over_in = ctx.options["handover"]
    obj.handed_over_at = ctx.now
    return {"handover": obj.handed_over_in}


def release_file(obj, ctx, evidence):
    """A disposed item keeps its register entry; the organisation no longer keeps the file.
    The bytes go when no party keeps them (see registry.archive.retention.release_file)."""
    return retention.release_file(obj, ctx)


EFFECTS = {
    "keep_verdict": keep_verdict,
    "number_outgoing": number_outgoing,
    "deliver": deliver,
    "number_incoming": number_incoming,
    "complete_letter": complete_letter,
    "record_rejection": record_rejection,
    "mark_handed_over": mark_handed_over,
    "release_file": release_file,
    "link_reply": link_reply,
    "ask_receipt": ask_receipt,
    **desk.EFFECTS,
    **statistics.EFFECTS,
    **verification.EFFECTS,
}

workflow.provide(GUARDS, EFFECTS, STATE_GUARDS)


def _plain(value):
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, tuple):
        return list(value)
    return value


def _path(obj):
    return object_path(obj)
