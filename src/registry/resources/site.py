"""The site: the root of the resource tree, with the fixed children orgs/, users/, audit/."""
from pyramid.authorization import DENY_ALL, Allow, Authenticated, Everyone

from registry.join import JoinCodes
from registry.notifications import Notifications
from registry.operations import FixityState
from registry.resources.audit import AuditTrail
from registry.resources.evidence import RevocationStore, TimestampStore
from registry.resources.folder import Folder
from registry.resources.organisation import Organisations
from registry.resources.receipt import ReceiptQueue
from registry.resources.report import Reports
from registry.resources.user import Users
from registry.search.queue import SearchState
from registry.security import permissions as P
from registry.security.links import PasswordLinks
from registry.security.principals import SITE_ADMIN, role_principal
from registry.security.sessions import Sessions
from registry.security.throttle import FailedSignIns
from registry.signatures.truststore import TrustStore
from registry.statistics import Tally
from registry.store import site_of
from registry.verification import VerificationCodes
from registry.workdays import WorkCalendar

SITE_ADMIN_PERMISSIONS = (
    P.VIEW, P.VIEW_DIRECTORY, P.MANAGE_ORGS, P.MANAGE_ACCOUNTS, P.VIEW_ACCOUNT, P.LIST_ACCOUNTS,
    P.VIEW_AUDIT, P.REVIEW_REPORTS, P.MANAGE_CALENDAR, P.VIEW_STATS,
)


class Site(Folder):
    """The root. `generation` is the schema generation its data is at (see evolve)."""

    generation = 0

    def __init__(self):
        super().__init__()
        self.add("orgs", Organisations())
        self.add("users", Users())
        self.add("audit", AuditTrail())
        self.add("reports", Reports())
        self.search_state = SearchState()
        self.revocation_data = RevocationStore()
        self.timestamps = TimestampStore()
        #: Sign-in sessions (an attribute, not a child: never reachable by URL).
        self.sessions = Sessions()
        #: Where the fixity check of stored PDFs is (registry.operations).
        self.fixity = FixityState()
        #: Failed sign-ins by client address, counted across processes (security.throttle).
        self.sign_in_failures = FailedSignIns()
        #: Trust anchors, issuing CAs and CRLs every machine judges with (seeded once).
        self.trust_store = TrustStore()
        #: Every account's notifications and the daily digest's day (registry.notifications).
        self.notifications = Notifications()
        #: Days the site administrator declared off or working (registry.workdays).
        self.calendar = WorkCalendar()
        #: The city's monthly counters and durations (registry.statistics).
        self.stats = Tally()
        #: The delivery receipts asked for and not made yet (registry.receipts).
        self.receipt_queue = ReceiptQueue()
        #: Every sent letter's public verification code (registry.verification).
        self.verification = VerificationCodes()
        self._join_state()

    def _join_state(self):
        #: The join forms' one-time codes (registry.join).
        self.join_codes = JoinCodes()
        #: One-time links to set a password, by token hash (security.links).
        self.password_links = PasswordLinks()
        #: Join forms and refused uploads by client address (security.throttle).
        self.join_attempts = FailedSignIns()

    def __acl__(self):
        # Site administrators run the directory and the accounts; they get no permission on
        # letters (none is listed here), so the operator never reads an organisation's mail.
        return [
            (Allow, role_principal(SITE_ADMIN), SITE_ADMIN_PERMISSIONS),
            (Allow, Authenticated, (P.VIEW, P.VIEW_DIRECTORY)),
            # Anyone, signed in or not, checks a letter by its verification code.
            (Allow, Everyone, (P.VERIFY_LETTER,)),
            DENY_ALL,
        ]

    @property
    def orgs(self):
        return self["orgs"]

    @property
    def users(self):
        return self["users"]

    @property
    def audit(self):
        return self["audit"]

    @property
    def reports(self):
        return self["reports"]


def root_factory(request):
    """Traversal root: the Site stored in the ZODB root under "registry"."""
    return site_of(request.zodb)
