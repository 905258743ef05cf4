"""Reports of advertising: the system must not be used for it.

A recipient's records manager reports a delivered letter; the report puts the letter and its
sender before the site administrators (`/reports/`), who dismiss it or suspend the sender (its
organisation is deactivated: its accounts can no longer sign in, and it receives nothing).
"""
from datetime import datetime, timezone

from BTrees.OOBTree import OOTreeSet
from persistent import Persistent
from pyramid.authorization import DENY_ALL, Allow

from registry.resources.folder import Folder
from registry.resources.letter import new_id
from registry.security import permissions as P
from registry.security.principals import SITE_ADMIN, role_principal


class Report(Persistent):
    __parent__ = None
    __name__ = None

    def __init__(self, delivery, reporter, reason, now=None):
        self.delivery = delivery
        self.letter = delivery.letter
        self.sender = delivery.sender
        self.reporter_org = delivery.recipient
        self.reporter = reporter
        self.reason = reason
        self.created = now or datetime.now(timezone.utc)
        self.status = "open"
        self.decided_by = None
        self.decided_at = None

    def __acl__(self):
        # Only site administrators review reports; they see the reported letter through it.
        return [(Allow, role_principal(SITE_ADMIN), (P.REVIEW_REPORTS,)), DENY_ALL]

    def as_json(self, request=None):
        data = {"id": self.__name__, "status": self.status, "sender": self.sender,
                "reporter_org": self.reporter_org, "reporter": self.reporter,
                "reason": self.reason, "created": self.created.isoformat(),
                "subject": self.letter.subject, "outgoing_number": self.letter.outgoing_number,
                "decided_by": self.decided_by,
                "decided_at": self.decided_at.isoformat() if self.decided_at else None}
        if request is not None:
            data = {"@id": request.resource_url(self), "@type": "Report", **data}
        return data


class Reports(Folder):
    """Reports by id (ids sort by time); `open_ids` indexes the undecided ones."""

    def __init__(self):
        super().__init__()
        self.open_ids = OOTreeSet()

    def __acl__(self):
        return [(Allow, role_principal(SITE_ADMIN), (P.REVIEW_REPORTS,))]

    def file(self, report):
        name = new_id(report.created)
        while name in self:
            name = new_id(report.created)
        self.add(name, report)
        self.open_ids.add(name)
        return report

    def open_reports(self):
        """Undecided reports, oldest first (the queue's order)."""
        return [self[name] for name in self.open_ids]

    def decided(self, report):
        self.open_ids.remove(report.__name__)
