"""Schema generations: every change to stored classes ships with an evolve step here.

`STEPS` lists `(generation, function)` in order; a step takes the Site and brings its data from
the previous generation to its own. A new database is created at the newest generation.
`evolve(site)` runs the steps the site has not had, in order, in the caller's transaction.
"""
import logging

import transaction

from registry import deadlines
from registry.archive.retention import RetentionPlan
from registry.notifications import Notifications
from registry.operations import FixityState
from registry.resources.audit import Checkpoints, PendingRecords
from registry.resources.evidence import RevocationStore, TimestampStore
from registry.resources.letter import StateSet
from registry.resources.receipt import ReceiptQueue
from registry.resources.report import Reports
from registry.resources.site import Site
from registry.resources.task import Desk, Task
from registry.safetext import display_filename
from registry.search.queue import ChangeLog, SearchState, enqueue
from registry.security.sessions import Sessions
from registry.security.throttle import FailedSignIns
from registry.signatures.truststore import TrustStore
from registry.statistics import rebuild
from registry.store import ROOT_KEY
from registry.thread import answered_letter
from registry.verification import VerificationCodes
from registry.workdays import WorkCalendar

log = logging.getLogger(__name__)


def _initial(site):
    """Generation 1: the first schema (site, orgs, users, audit). Nothing to convert."""


def _exchange(site):
    """Generation 2: the exchange of letters. Outboxes and inboxes keep state indexes, number
    journals, counters and daily counts; the site keeps reports of advertising; the audit
    trail files records as pending before chaining them."""
    for org in site.orgs.values():
        for name in ("outbox", "inbox"):
            org[name].ensure_indexes()
    if "reports" not in site:
        site.add("reports", Reports())
    if not isinstance(getattr(site.audit, "_pending", None), PendingRecords):
        site.audit._pending = PendingRecords()


def _search(site):
    """Generation 3: full-text search. The site keeps the index queue, the PDFs' text and
    the OCR queue; every letter and delivery is queued, so that the writer indexes them."""
    if getattr(site, "search_state", None) is None:
        site.search_state = SearchState()
    for org in site.orgs.values():
        for name in ("outbox", "inbox"):
            for item in org[name].values():
                enqueue(item)


def _archive(site):
    """Generation 4: the archive handover. Every organisation keeps a retention plan (file-plan
    retention classes, holds, disposals); registered deliveries know their series (read back
    from the inbox journal, keyed (year, series, number)).
    """
    for org in site.orgs.values():
        if getattr(org, "retention", None) is None:
            org.retention = RetentionPlan()
        inbox = org["inbox"]
        for (_year, series, _seq), name in inbox.journal.items():
            delivery = inbox.get(name)
            if delivery is not None and delivery.series is None:
                delivery.series = series


def _evidence(site):
    """Generation 5: preservation evidence. The site keeps the revocation data (CRLs) its
    signature checks use, so that a signature is judged later as of its first acceptance."""
    if getattr(site, "revocation_data", None) is None:
        site.revocation_data = RevocationStore()


def _operations(site):
    """Generation 6: server-side sign-in sessions (sessions signed in before have no record
    and end: everyone signs in once more) and the fixity check's state."""
    if getattr(site, "sessions", None) is None:
        site.sessions = Sessions()
    if getattr(site, "fixity", None) is None:
        site.fixity = FixityState()


def _tantivy(site):
    """Generation 7: Tantivy is the default search engine. Every letter and delivery is queued
    again, so that the index writer builds the new engine's index after the upgrade (the
    Whoosh index stays as it was, for `search.engine = whoosh`)."""
    for org in site.orgs.values():
        for name in ("outbox", "inbox"):
            for item in org[name].values():
                enqueue(item)


def _safe_filenames(site):
    """Generation 8: text is clean at the door. A PDF's stored name becomes its safe display
    name (registry.safetext.display_filename: no control or text-direction characters, at most
    120 characters, ending in .pdf), as uploads are named now; the file's bytes are untouched.
    A letter's PDF is shared by its deliveries, so each outbox's letters are enough."""
    for org in site.orgs.values():
        for letter in org["outbox"].values():
            stored = letter.pdf
            if stored is not None and stored.filename != display_filename(stored.filename):
                log.info("renaming the PDF of %s", letter.__name__)
                stored.filename = display_filename(stored.filename)


def _timestamps(site):
    """Generation 9: the registry's preservation timestamps (RFC 3161, over each first
    acceptance of a letter's bytes, when a time-stamping authority is configured)."""
    if getattr(site, "timestamps", None) is None:
        site.timestamps = TimestampStore()


def _several_machines(site):
    """Generation 10: several machines. The search queue one writer consumed becomes a change
    log every machine applies to its own index; the log does not hold the changes made before
    it, so each machine rebuilds its index from the database once (its writer does it by
    itself). Failed sign-ins are counted in the store, and trust is kept there (seeded from the
    trust directory at the next start); an OCR job is claimed by one process at a time."""
    if getattr(site, "trust_store", None) is None:
        site.trust_store = TrustStore()

    if getattr(site, "sign_in_failures", None) is None:
        site.sign_in_failures = FailedSignIns()

    from BTrees.OOBTree import OOBTree

    state = site.search_state
    if getattr(state, "ocr_claims", None) is None:
        state.ocr_claims = OOBTree()
    if state.log is None:
        state.log = ChangeLog(complete=False)
    state.log.complete = False
    state.__dict__.pop("queue", None)
    state._p_changed = True


def _threads(site):
    """Generation 11: reply threads and notifications. A letter keeps the letters that answered
    it (`replies`, read back from the sent letters' `in_reply_to`); the site keeps every
    account's notifications and the daily digest's day."""
    if getattr(site, "notifications", None) is None:
        site.notifications = Notifications()
    for org in site.orgs.values():
        for letter in org["outbox"].values():
            original = answered_letter(letter) if letter.sent_at else None
            if original is not None and letter not in original.replies:
                original.replies = original.replies + (letter,)


def _desk(site):
    """Generation 12: the records office's desk. The site keeps its calendar of declared days
    off and working days; every organisation keeps the open tasks' indexes; a registered
    delivery that had an executor or a due date and no answer becomes an open task (of the
    default kind) with them, so that it shows in "My tasks", on control and to its sender."""
    if getattr(site, "calendar", None) is None:
        site.calendar = WorkCalendar()
    kind = deadlines.rules().default_kind
    for org in site.orgs.values():
        if getattr(org, "desk", None) is None:
            org.desk = Desk()
    for org in site.orgs.values():
        for delivery in org["inbox"].values():
            if (delivery.state != "registered" or delivery.task is not None
                    or delivery.answered_by is not None
                    or not (delivery.executor or delivery.response_due)):
                continue
            task = Task(delivery, kind)
            task.executor, task.due = delivery.executor, delivery.response_due
            delivery.task = task
            org.desk.update(task)
            if delivery.sender in site.orgs:
                site.orgs[delivery.sender].desk.await_answer(task)


def _receipts(site):
    """Generation 13: delivery evidence. The receipts the registry's seal signs after an event
    are asked for in a queue of the site; letters and deliveries keep theirs (none before)."""
    if getattr(site, "receipt_queue", None) is None:
        site.receipt_queue = ReceiptQueue()


def _checkpoints(site):
    """Generation 14: audit checkpoints. The audit trail keeps the checkpoints of its head
    (sealed, timestamped, published as files; see registry.checkpoints)."""
    if getattr(site.audit, "checkpoints", None) is None:
        site.audit.checkpoints = Checkpoints()


def _verification(site):
    """Generation 15: public verification codes. The site keeps every code (and counts public
    lookups by address); every letter sent before gets its code."""
    if getattr(site, "verification", None) is None:
        site.verification = VerificationCodes()
    for org in site.orgs.values():
        for letter in org["outbox"].values():
            if letter.sent_at is not None:
                site.verification.allocate(letter)


def _join(site):
    """Generation 16: businesses join with their certificate. The site keeps the join forms'
    one-time codes, the one-time links to set a password, and the join attempts per address."""
    if getattr(site, "join_codes", None) is None:
        site._join_state()


def _statistics(site):
    """Generation 17: the dashboards' statistics. The site and every organisation keep monthly
    counters and duration histograms (registry.statistics), filled here from the letters sent
    and registered before; from now on the workflows' `count` effect keeps them."""
    rebuild(site)


def _state_sets(site):
    """Generation 18: the shards of the mailboxes' per-state indexes are StateSets, whose
    concurrent changes merge (registry.resources.letter.StateSet); the OOTreeSets made before
    are copied into them."""
    from BTrees.OOBTree import OOTreeSet

    for org in site.orgs.values():
        for name in ("outbox", "inbox"):
            index = org[name].by_state
            for key, items in list(index.items()):
                if type(items) is OOTreeSet:
                    index[key] = StateSet(items.keys())


STEPS = [
    (1, _initial),
    (2, _exchange),
    (3, _search),
    (4, _archive),
    (5, _evidence),
    (6, _operations),
    (7, _tantivy),
    (8, _safe_filenames),
    (9, _timestamps),
    (10, _several_machines),
    (11, _threads),
    (12, _desk),
    (13, _receipts),
    (14, _checkpoints),
    (15, _verification),
    (16, _join),
    (17, _statistics),
    (18, _state_sets),
]


def newest(steps=STEPS):
    return steps[-1][0] if steps else 0


def pending(site, steps=STEPS):
    """Return the steps `site` has not had yet."""
    return [(gen, fn) for gen, fn in steps if gen > site.generation]


def evolve(site, steps=STEPS):
    """Run the pending steps on `site`; return the generations applied. Raises RuntimeError if
    the data is newer than this code (a downgrade), which would be unsafe to serve."""
    if site.generation > newest(steps):
        raise RuntimeError(
            f"the database is at schema generation {site.generation}, newer than this "
            f"software's {newest(steps)}; upgrade the software"
        )
    applied = []
    for gen, fn in pending(site, steps):
        log.info("evolving the registry to generation %s: %s", gen, (fn.__doc__ or "").strip())
        fn(site)
        site.generation = gen
        applied.append(gen)
    return applied


def bootstrap(db):
    """Create the Site if the database has none, else run its pending evolve steps; commit.

    Returns the generations applied (a new site is created at the newest one).
    """
    tm = transaction.TransactionManager()
    conn = db.open(transaction_manager=tm)
    try:
        for attempt in tm.attempts(5):
            with attempt:
                root = conn.root()
                if ROOT_KEY not in root:
                    site = Site()
                    site.generation = newest()
                    root[ROOT_KEY] = site
                    applied = [site.generation]
                else:
                    applied = evolve(root[ROOT_KEY])
    finally:
        conn.close()
    return applied
