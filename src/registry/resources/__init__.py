"""Persistent content and the root of traversal."""
import transaction

from registry.resources.evolve import evolve, newest
from registry.resources.site import Site
from registry.store import ROOT_KEY, site_of


def root_factory(request):
    """Traversal root: the Site stored in the ZODB root under "registry"."""
    return site_of(request.zodb)


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
