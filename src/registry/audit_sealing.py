"""Chaining the audit trail's pending records, right after the transaction that wrote them.

Appends only file records as pending (so that concurrent requests do not contend for the
chain's head); this seals them, in a transaction of its own: after every request that may have
written (a tween over pyramid_tm), and after every `registry` command. Two sealers at once
conflict, and the loser simply leaves the records to the next one.
"""
import logging

import transaction
from ZODB.interfaces import IDatabase
from ZODB.POSException import ConflictError

from registry.store import site_of

log = logging.getLogger(__name__)
SAFE_METHODS = frozenset(("GET", "HEAD", "OPTIONS"))


def seal_pending(db, limit=5000):
    """Seal up to `limit` pending audit records; return how many (0 after a conflict)."""
    tm = transaction.TransactionManager(explicit=True)
    conn = db.open(transaction_manager=tm)
    try:
        tm.begin()
        trail = site_of(conn).audit
        if not trail.pending_count():
            tm.abort()
            return 0
        sealed = trail.seal(limit)
        tm.commit()
        return sealed
    except ConflictError:
        tm.abort()
        log.debug("another process is sealing the audit trail; leaving it to them")
        return 0
    finally:
        conn.close()


def sealing_tween_factory(handler, registry):
    db = registry.getUtility(IDatabase)

    def sealing_tween(request):
        response = handler(request)
        if request.method not in SAFE_METHODS:
            seal_pending(db)
        return response

    return sealing_tween


def includeme(config):
    config.add_tween("registry.audit_sealing.sealing_tween_factory",
                     over="pyramid_tm.tm_tween_factory")
