"""The closed set of guards a workflow definition may name.

A guard is `guard(obj, ctx) -> GuardResult(ok, reason, message, evidence)`: pure (it reads,
never writes), safe to run again when a request is retried, and it explains a refusal with a
stable reason code and a message for people.
"""
from registry import desk
from registry import settings as registry_settings
from registry.archive.retention import hold_of
from registry.desk import GUARDS as DESK_GUARDS
from registry.i18n import _
from registry.signatures import REASON_MESSAGES
from registry.workflow.engine import GuardResult

OK = GuardResult(True)


def has_subject(letter, ctx):
    if letter.subject.strip():
        return OK
    return GuardResult(False, reason="SUBJECT_REQUIRED", message=_("The letter has no subject."))


def has_recipients(letter, ctx):
    if not letter.recipients and letter.post_to:
        return OK  # an answer to a paper letter: printed and posted
    if not letter.recipients:
        return GuardResult(False, reason="RECIPIENTS_REQUIRED",
                           message=_("The letter has no recipient."))
    orgs = ctx.site.orgs
    missing = [r for r in letter.recipients if r not in orgs or not orgs[r].active]
    if missing:
        return GuardResult(False, reason="RECIPIENT_INACTIVE",
                           message=_("recipient-inactive", default="These recipients are not "
                                     "active organisations of the directory: ${regnos}.",
                                     mapping={"regnos": ", ".join(missing)}),
                           evidence={"recipients": missing})
    if letter.org in letter.recipients:
        return GuardResult(False, reason="RECIPIENT_IS_SENDER",
                           message=_("An organisation does not send a letter to itself."))
    return OK




def within_limits(letter, ctx):
    """The registry is not for advertising: at most `registry.limits.recipients_per_letter`
    recipients a letter and `registry.limits.letters_per_day` letters an organisation sends a
    day (Ulaanbaatar time)."""
    per_letter, per_day = registry_settings.sending_limits(ctx.settings)
    if len(letter.recipients) > per_letter:
        return GuardResult(False, reason="TOO_MANY_RECIPIENTS",
                           message=_("too-many-recipients", default="A letter goes to at most "
                                     "${limit} recipients.", mapping={"limit": per_letter}),
                           evidence={"recipients": len(letter.recipients)})
    sent_today = letter.__parent__.sent_count(desk.today(ctx).isoformat())
    if sent_today >= per_day:
        return GuardResult(False, reason="DAILY_LIMIT",
                           message=_("daily-limit", default="Your organisation has sent "
                                     "${limit} letters today, the most a day.",
                                     mapping={"limit": per_day}),
                           evidence={"sent_today": sent_today})
    return OK


def has_pdf(letter, ctx):
    if letter.pdf is not None:
        return OK
    return GuardResult(False, reason="PDF_REQUIRED", message=_("The letter has no PDF file."))


def _gate(item, letter, expected_regno, ctx):
    if letter.pdf is None:
        return GuardResult(False, reason="PDF_REQUIRED", message=_("The letter has no PDF file."))
    verdict = ctx.verify(letter.pdf, expected_regno, item)
    evidence = {"verdict": verdict.as_json()}
    if verdict.accepted:
        return GuardResult(True, evidence=evidence)
    reason = verdict.reasons[0]
    return GuardResult(False, reason=reason, message=REASON_MESSAGES[reason], evidence=evidence)


def signature_gate(letter, ctx):
    """The letter's PDF passes the signature gate, signed by the sending organisation."""
    return _gate(letter, letter, letter.org, ctx)


def sender_signature_gate(delivery, ctx):
    """At receipt: the delivered PDF still passes the gate, signed by the sender."""
    return _gate(delivery, delivery.letter, delivery.sender, ctx)


def none_registered(letter, ctx):
    done = [regno for regno, delivery in letter.deliveries.items()
            if delivery.state != "delivered"]
    if not done:
        return OK
    return GuardResult(False, reason="ALREADY_REGISTERED",
                       message=_("already-registered", default="Recipients have registered or "
                                 "answered the letter already: ${regnos}.",
                                 mapping={"regnos": ", ".join(done)}),
                       evidence={"recipients": done})


def all_registered(letter, ctx):
    waiting = [regno for regno, delivery in letter.deliveries.items()
               if delivery.state != "registered"]
    if letter.deliveries and not waiting:
        return OK
    return GuardResult(False, reason="NOT_ALL_REGISTERED",
                       message=_("Not every recipient has registered the letter."),
                       evidence={"waiting": waiting})


def letter_not_withdrawn(delivery, ctx):
    if delivery.letter.state != "withdrawn":
        return OK
    return GuardResult(False, reason="LETTER_WITHDRAWN",
                       message=_("The sender has withdrawn this letter."))


def deliveries_settled(letter, ctx):
    """A sent letter is settled when no recipient has it waiting any more (each registered or
    rejected it): only then does the registry move it to the archive or dispose of it."""
    if letter.state != "sent":
        return OK
    waiting = [regno for regno, delivery in letter.deliveries.items()
               if delivery.state == "delivered"]
    if not waiting:
        return OK
    return GuardResult(False, reason="NOT_SETTLED",
                       message=_("not-settled", default="Recipients have not registered or "
                                 "rejected the letter yet: ${regnos}.",
                                 mapping={"regnos": ", ".join(waiting)}),
                       evidence={"waiting": waiting})


def not_on_hold(item, ctx):
    """Nothing under a hold is disposed of."""
    hold = hold_of(item)
    if hold is None:
        return OK
    return GuardResult(False, reason="ON_HOLD",
                       message=_("on-hold", default="The letter is under a hold: ${reason}",
                                 mapping={"reason": hold.reason}),
                       evidence={"hold": hold.reason})


#: Guards that read only the states of the object and its deliveries (no file, no clock, no
#: limits): a transition one of them refuses now cannot succeed, so it is not offered.
STATE_GUARDS = frozenset({"none_registered", "all_registered", "letter_not_withdrawn",
                          "deliveries_settled"})

GUARDS = {
    "has_subject": has_subject,
    "has_recipients": has_recipients,
    "within_limits": within_limits,
    "has_pdf": has_pdf,
    "signature_gate": signature_gate,
    "sender_signature_gate": sender_signature_gate,
    "none_registered": none_registered,
    "all_registered": all_registered,
    "letter_not_withdrawn": letter_not_withdrawn,
    "deliveries_settled": deliveries_settled,
    "not_on_hold": not_on_hold,
    **DESK_GUARDS,
}
