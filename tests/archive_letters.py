"""Letters for the archive tests: drafted, signed by the test PKI, sent, delivered and
registered through the exchange's own functions (the real workflows and the real gate), at a
chosen time so that their numbers fall in a chosen year."""
from datetime import datetime, timezone

from registry import exchange
from registry.signatures import Gate, GateConfig

SENDER, RECIPIENT, OTHER = "1000001", "1000002", "1000003"


def gate_for(trust_dir):
    return Gate(GateConfig(trust_dir=str(trust_dir)))


def when(year, month=6, day=15):
    return datetime(year, month, day, 4, 0, tzinfo=timezone.utc)


def _ctx(site, actor, gate, now, **kw):
    return exchange.context(site, actor, permits=lambda permission, obj: True, gate=gate,
                            now=now, **kw)


def send(site, gate, pdf, now, subject="Тайлан", series="01", recipients=(RECIPIENT,),
         sender=SENDER, actor="rm_a", settings=None):
    """Draft, attach, sign and send a letter; return it (state sent). `settings` are the
    registry's (e.g. a TSA to ask preservation timestamps of)."""
    org = site.orgs[sender]
    letter = exchange.create_draft(site, actor, org, subject=subject, recipients=recipients,
                                   series=series)
    exchange.attach_pdf(site, actor, letter, pdf, "захидал.pdf", 25 * 1024 * 1024)
    exchange.transition(letter, "sign", _ctx(site, actor, gate, now, settings=settings))
    exchange.transition(letter, "send", _ctx(site, actor, gate, now, settings=settings))
    return letter


def register(site, gate, letter, now, recipient=RECIPIENT, series="01", actor="rm_b",
             settings=None):
    delivery = letter.deliveries[recipient]
    exchange.transition(delivery, "register",
                        _ctx(site, actor, gate, now, options={"series": series},
                             settings=settings))
    return delivery


def reject(site, gate, letter, now, recipient=RECIPIENT, actor="rm_b", settings=None):
    delivery = letter.deliveries[recipient]
    exchange.transition(delivery, "reject",
                        _ctx(site, actor, gate, now, comment="Манайх биш", settings=settings))
    return delivery


def exchanged(site, gate, pdf, year, count=1, series="01", registered=True, **kw):
    """`count` letters sent in `year` and (unless `registered` is false) registered by the
    recipient the same day; returns them."""
    letters = []
    for index in range(count):
        now = when(year, 3, 1 + index % 27)
        letter = send(site, gate, pdf, now, subject=f"Албан бичиг {index + 1}", series=series,
                      **kw)
        if registered:
            for regno in letter.recipients:
                register(site, gate, letter, now, recipient=regno, series=series,
                         settings=kw.get("settings"))
        letters.append(letter)
    return letters
