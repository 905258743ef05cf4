"""The exchange's statistics: monthly counters and duration histograms, kept as letters move.

Every organisation keeps a `Tally` (`org.stats`) and the site keeps one for the whole city
(`site.stats`). A tally holds, per month of Ulaanbaatar time ("YYYY-MM"), one `Counts`: how many
letters the organisation sent, received, registered, rejected, withdrew and answered that month,
and histograms of how long registrations and answers took; the sender's tally also keeps, per
month, how long each recipient took to register its letters. The workflows' effect `count`
(on send, withdraw, register, register_paper and reject) updates them in the transaction that
makes the change, and generation 17 of the schema fills them for the letters sent before; so a
dashboard reads O(months) small objects (plus the recipients it draws), never the letters.

What counts, and in which month (the local month of the event):
- `sent`: a letter sent (once, whatever its recipients); `received`: a delivery that reached the
  organisation (electronic at sending, paper at registration; `paper` counts the latter too);
- `registered`, `rejected`: what the recipient did; `withdrawn`: a sent letter withdrawn. A
  withdrawn letter stays counted as sent and its deliveries as received (it was numbered and
  delivered); a rejected delivery stays received and never counts a registration time;
- `answered`: a registered delivery answered by a letter "in reply to" it (the first answer);
- times: `registration` is from delivery (the sender's sending) to registration, electronic
  letters only (a paper letter's sending time is not known); `answer` is from registration to
  the sending of the first answer. They are counted in the month the registration or answer
  happened.

Medians come from histograms of geometric buckets (each bucket 10 % wider than the one before,
from one minute; under a minute is bucket 0): the median is interpolated linearly inside the
bucket that holds the middle value, so it is within 10 % of the exact median, and a month's
histogram has at most ~140 buckets whatever the number of letters. Histograms add, so a period's
median is the median of the months' summed histograms.

`Counts` resolves concurrent additions (two registrations in the same month commit together)
the way `BTrees.Length` does: each transaction's increments are added to what was committed.
"""
import math
from datetime import date, datetime, timezone

from BTrees.Length import Length
from BTrees.OOBTree import OOBTree, OOTreeSet
from persistent import Persistent

from registry import settings as registry_settings
from registry.workflow.engine import object_path

#: The counters of a month, in the order pages and the JSON show them.
COUNTERS = ("sent", "received", "registered", "rejected", "withdrawn", "answered", "paper")
#: The durations a month keeps histograms of.
DURATIONS = ("registration", "answer")
#: Histogram buckets: [0, 60 s) is bucket 0; bucket i >= 1 holds [60 * R**(i-1), 60 * R**i).
RATIO = 1.1
FIRST = 60.0


class Counts(Persistent):
    """Additive counters under any picklable keys; concurrent additions merge."""

    def __init__(self):
        self.data = {}

    def add(self, key, n=1):
        self.data[key] = self.data.get(key, 0) + n
        self._p_changed = True

    def get(self, key, default=0):
        return self.data.get(key, default)

    def items(self):
        return self.data.items()

    def _p_resolveConflict(self, old, committed, mine):
        base = (old or {}).get("data", {})
        merged = dict(committed.get("data", {}))
        for key, value in mine.get("data", {}).items():
            merged[key] = merged.get(key, 0) + value - base.get(key, 0)
        return {**committed, "data": merged}


class Tally(Persistent):
    """One organisation's (or the city's) monthly statistics; see the module's docstring.

    - `months`: month -> Counts of the counters and of (duration, bucket) pairs;
    - `recipients`: month -> Counts of (recipient regno, bucket): the sender's view of how long
      each recipient took to register its letters (organisations' tallies only);
    - `rejections`: (-microseconds, letter id, recipient) of this sender's letters rejected by
      recipients, newest first, with `rejected_total` (organisations' tallies only);
    - `active`: month -> the regnos that had anything counted that month, and `orgs`: every
      regno ever counted (the city's tally only: the per-organisation table reads them).
    """

    def __init__(self):
        self.months = OOBTree()
        self.recipients = OOBTree()
        self.rejections = OOTreeSet()
        self.rejected_total = Length()
        self.active = OOBTree()
        self.orgs = OOTreeSet()

    def _month(self, tree, month):
        counts = tree.get(month)
        if counts is None:
            counts = tree[month] = Counts()
        return counts

    def count(self, month, name, n=1):
        self._month(self.months, month).add(name, n)

    def duration(self, month, name, seconds):
        self._month(self.months, month).add((name, bucket(seconds)))

    def recipient_duration(self, month, regno, seconds):
        self._month(self.recipients, month).add((regno, bucket(seconds)))

    def mark_active(self, month, regno):
        members = self.active.get(month)
        if members is None:
            members = self.active[month] = OOTreeSet()
        if regno not in members:
            members.add(regno)
        if regno not in self.orgs:
            self.orgs.add(regno)

    # Reading ---------------------------------------------------------------------------------
    def period(self, first, last):
        """[(month, Counts or None)] for every month from `first` to `last` ("YYYY-MM")."""
        return [(month, self.months.get(month)) for month in months_between(first, last)]

    def summary(self, first, last):
        """{counter: n}, {duration: histogram dict} summed over the months of the period."""
        totals = dict.fromkeys(COUNTERS, 0)
        histograms = {name: {} for name in DURATIONS}
        for _month, counts in self.period(first, last):
            if counts is None:
                continue
            for key, value in counts.items():
                if isinstance(key, tuple):
                    histogram = histograms[key[0]]
                    histogram[key[1]] = histogram.get(key[1], 0) + value
                else:
                    totals[key] = totals.get(key, 0) + value
        return totals, histograms

    def by_recipient(self, first, last):
        """{recipient regno: histogram dict} of the period (the sender's view)."""
        found = {}
        for month in months_between(first, last):
            counts = self.recipients.get(month)
            if counts is None:
                continue
            for (regno, index), value in counts.items():
                histogram = found.setdefault(regno, {})
                histogram[index] = histogram.get(index, 0) + value
        return found

    def recent_rejections(self, size=5):
        """[(letter id, recipient regno, when)] of the newest rejections, at most `size`."""
        found = []
        for key in self.rejections.keys():
            if len(found) >= size:
                break
            micros, name, regno = key
            found.append((name, regno,
                          datetime.fromtimestamp(-micros / 1_000_000, timezone.utc)))
        return found


# Buckets and medians ---------------------------------------------------------------------------

def bucket(seconds):
    """The histogram bucket of a duration in seconds (negative durations count as 0)."""
    if seconds < FIRST:
        return 0
    return int(math.log(seconds / FIRST) / math.log(RATIO)) + 1


def bucket_bounds(index):
    """[low, high) seconds of bucket `index`."""
    if index == 0:
        return 0.0, FIRST
    return FIRST * RATIO ** (index - 1), FIRST * RATIO ** index


def histogram_of(counts, name):
    """The histogram {bucket: n} of duration `name` in a month's Counts (None: empty)."""
    if counts is None:
        return {}
    return {key[1]: n for key, n in counts.items() if isinstance(key, tuple) and key[0] == name}


def median(histogram):
    """The median duration in seconds (an int) of a histogram {bucket: n}, interpolated inside
    the bucket holding the middle value; None for an empty histogram."""
    total = sum(histogram.values())
    if not total:
        return None
    middle = total / 2
    seen = 0
    for index in sorted(histogram):
        value = histogram[index]
        if seen + value >= middle:
            low, high = bucket_bounds(index)
            return int(round(low + (high - low) * (middle - seen) / value))
        seen += value
    return None  # not reached: the buckets add up to `total`


# Months ----------------------------------------------------------------------------------------

def month_of(when, settings=None):
    """The month ("YYYY-MM") of an aware time in the registry's time zone (Ulaanbaatar)."""
    return when.astimezone(registry_settings.zone(settings)).strftime("%Y-%m")


def parse_month(value):
    """(year, month) of "YYYY-MM"; raises ValueError for anything else."""
    if not (isinstance(value, str) and len(value) == 7 and value[4] == "-"
            and value[:4].isdigit() and value[5:].isdigit()):
        raise ValueError(value)
    year, month = int(value[:4]), int(value[5:])
    date(year, month, 1)  # raises ValueError for month 13
    return year, month


def shift(month, n):
    """The month `n` months after (negative: before) `month`."""
    year, number = parse_month(month)
    index = year * 12 + number - 1 + n
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def months_between(first, last):
    """Every month from `first` to `last`, both included (empty when `first` is later)."""
    found, month = [], first
    while month <= last:
        found.append(month)
        month = shift(month, 1)
    return found


# Recording (the `count` effect and the schema generation share these) -------------------------

def _tallies(site, regno):
    org = site.orgs.get(regno)
    return [t for t in (getattr(org, "stats", None), getattr(site, "stats", None))
            if t is not None]


def _count(site, regno, month, name):
    for tally in _tallies(site, regno):
        tally.count(month, name)
    if getattr(site, "stats", None) is not None:
        site.stats.mark_active(month, regno)


def record_sent(site, letter, when, settings=None):
    """A letter was sent at `when`: counted sent by its sender and received by each recipient."""
    month = month_of(when, settings)
    _count(site, letter.org, month, "sent")
    for regno in letter.deliveries.keys():
        _count(site, regno, month, "received")


def record_withdrawn(site, letter, when, settings=None):
    _count(site, letter.org, month_of(when, settings), "withdrawn")


def record_registered(site, delivery, when, settings=None):
    """A delivery was registered at `when`: counted, with its time from delivery (electronic
    letters) in the recipient's and the city's histograms and in its sender's per recipient."""
    month = month_of(when, settings)
    regno = delivery.recipient
    if delivery.on_paper:
        _count(site, regno, month, "received")
        _count(site, regno, month, "paper")
        _count(site, regno, month, "registered")
        return
    _count(site, regno, month, "registered")
    seconds = (when - delivery.delivered_at).total_seconds()
    for tally in _tallies(site, regno):
        tally.duration(month, "registration", seconds)
    sender = site.orgs.get(delivery.sender)
    if getattr(sender, "stats", None) is not None:
        sender.stats.recipient_duration(month, regno, seconds)


def record_rejected(site, delivery, when, settings=None):
    """A delivery was rejected at `when`: counted by the recipient, and listed among the
    sender's rejected letters."""
    _count(site, delivery.recipient, month_of(when, settings), "rejected")
    sender = site.orgs.get(delivery.sender)
    if getattr(sender, "stats", None) is not None:
        key = (-int(when.timestamp() * 1_000_000), delivery.letter.__name__, delivery.recipient)
        if key not in sender.stats.rejections:
            sender.stats.rejections.add(key)
            sender.stats.rejected_total.change(1)


def record_answered(site, delivery, letter, settings=None):
    """`letter` (sent) is the first answer to the registered `delivery`: counted in the
    answering organisation's month, with the time from registration to the answer."""
    month = month_of(letter.sent_at, settings)
    regno = delivery.recipient
    _count(site, regno, month, "answered")
    seconds = (letter.sent_at - delivery.registered_at).total_seconds()
    for tally in _tallies(site, regno):
        tally.duration(month, "answer", seconds)


def answered_delivery(site, letter):
    """The registered delivery `letter` answers first (its `answered_by` names `letter`), else
    None."""
    if not letter.in_reply_to:
        return None
    org = site.orgs.get(letter.org)
    delivery = org["inbox"].get(letter.in_reply_to) if org is not None else None
    if delivery is None or delivery.registered_at is None:
        return None
    return delivery if delivery.answered_by == object_path(letter) else None


def count(obj, ctx, evidence):
    """Effect `count` (after the transition's other effects): count the change by the state it
    reached. Letters: sent (and the answer it is, if any), withdrawn; deliveries: registered,
    rejected."""
    site, settings = ctx.site, ctx.settings
    state = obj.state
    if state == "sent":
        record_sent(site, obj, ctx.now, settings)
        answered = answered_delivery(site, obj)
        if answered is not None:
            record_answered(site, answered, obj, settings)
    elif state == "withdrawn":
        record_withdrawn(site, obj, ctx.now, settings)
    elif state == "registered":
        record_registered(site, obj, ctx.now, settings)
    elif state == "rejected":
        record_rejected(site, obj, ctx.now, settings)
    return None


EFFECTS = {"count": count}


# Filling them for letters sent before (schema generation 17) ------------------------------------

def _time_of(item, transition):
    for entry in reversed(item.history):
        if entry.transition == transition:
            return datetime.fromisoformat(entry.time)
    return None


def rebuild(site):
    """Fresh tallies for the site and every organisation, filled from the letters kept (every
    outbox's sent letters with their deliveries, every paper letter registered). Times are read
    from the items (sent_at, registered_at) and their history (withdrawals, rejections)."""
    site.stats = Tally()
    for org in site.orgs.values():
        org.stats = Tally()
    for org in site.orgs.values():
        for letter in org["outbox"].values():
            if letter.sent_at is None:
                continue
            record_sent(site, letter, letter.sent_at)
            withdrawn = _time_of(letter, "withdraw")
            if withdrawn is not None:
                record_withdrawn(site, letter, withdrawn)
            answered = answered_delivery(site, letter)
            if answered is not None:
                record_answered(site, answered, letter)
        for delivery in org["inbox"].values():
            if delivery.registered_at is not None:
                record_registered(site, delivery, delivery.registered_at)
            rejected = _time_of(delivery, "reject")
            if rejected is not None:
                record_rejected(site, delivery, rejected)
