"""Reply threads across organisations.

A letter answers a letter its organisation received: its `in_reply_to` names a delivery in its
sender's inbox, and so, through that delivery, the original Letter in another organisation's
outbox. When the answer is sent, the original keeps it in `replies` (the link the other way),
so that a thread is read by following references both ways, never by scanning mailboxes.

A thread is shown to one organisation (the viewer's): each letter in it is linked where that
organisation is a party (it sent the letter: its outbox; it received it: its delivery) and
named only by its number and date where it is not (never its subject, nor its parties).
"""
from dataclasses import dataclass

#: How many letters a thread shows at most (a thread is a handful in practice; the cap keeps
#: a pathological chain from costing a page its time).
THREAD_MAX = 200


def answered_delivery(letter):
    """The delivery (in the sender's own inbox) `letter` answers, or None."""
    if not letter.in_reply_to or letter.__parent__ is None:
        return None
    return letter.__parent__.__parent__["inbox"].get(letter.in_reply_to)


def answered_letter(letter):
    """The Letter (in another organisation's outbox) `letter` answers, or None."""
    delivery = answered_delivery(letter)
    return delivery.letter if delivery is not None else None


def link_reply(letter, ctx, evidence):
    """Effect of `send`: the letter it answers keeps it among its `replies`."""
    original = answered_letter(letter)
    if original is None or letter in original.replies:
        return None
    original.replies = original.replies + (letter,)
    return {"answers": original.outgoing_number}


@dataclass(frozen=True)
class ThreadItem:
    """One letter of a thread as one organisation sees it. `url_target` is the viewer's own
    copy (its Letter or its Delivery), None where the viewer is not a party."""

    letter: object
    depth: int
    current: bool
    url_target: object

    @property
    def visible(self):
        return self.url_target is not None


def _root(letter):
    seen = {id(letter)}
    while True:
        parent = answered_letter(letter)
        if parent is None or id(parent) in seen or len(seen) >= THREAD_MAX:
            return letter
        seen.add(id(parent))
        letter = parent


def viewer_copy(letter, regno):
    """The viewer organisation's own copy of `letter`: the Letter if it sent it, its Delivery
    if it received it, else None."""
    if letter.org == regno:
        return letter
    return letter.deliveries.get(regno)


def thread_of(letter, regno):
    """The whole thread `letter` is in, from its first letter down, depth first, in the order
    answers were sent; as ThreadItems for the organisation `regno`. A letter alone (answering
    nothing, answered by nothing) has a thread of one."""
    items, stack, seen = [], [(_root(letter), 0)], set()
    while stack and len(items) < THREAD_MAX:
        current, depth = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        items.append(ThreadItem(current, depth, current is letter,
                                viewer_copy(current, regno)))
        stack.extend((reply, depth + 1) for reply in reversed(current.replies))
    return items


def thread_json(request, letter, regno):
    """The thread as the API answers it: `items` the caller's organisation is a party to
    (with `@id`), `others` named by number and date only."""
    visible, others = [], []
    for item in thread_of(letter, regno):
        sent_at = item.letter.sent_at.isoformat() if item.letter.sent_at else None
        if not item.visible:
            others.append({"outgoing_number": item.letter.outgoing_number, "sent_at": sent_at,
                           "depth": item.depth})
            continue
        answers = answered_letter(item.letter)
        visible.append({
            "@id": request.resource_url(item.url_target),
            "@type": type(item.url_target).__name__,
            "subject": item.letter.subject,
            "sender": item.letter.org,
            "recipients": list(item.letter.recipients),
            "outgoing_number": item.letter.outgoing_number,
            "sent_at": sent_at,
            "depth": item.depth,
            "current": item.current,
            "answers": answers.outgoing_number if answers is not None else None,
        })
    return {"@id": request.resource_url(request.context, "@thread"), "items": visible,
            "others": others}
