"""Organisations: one per legal entity, keyed by its state registration number.

The directory answers search-as-you-type from a word index kept beside the content, so a query
touches the index entries that start with what was typed and the organisations it shows, never
the whole directory (see `Organisations.search`).
"""
import re
from datetime import datetime, timezone

from BTrees.OOBTree import OOBTree, OOTreeSet
from pyramid.authorization import Allow

from registry.archive.retention import RetentionPlan
from registry.errors import Conflict, NotFound, RegistryError
from registry.i18n import _
from registry.resources.folder import Folder
from registry.resources.letter import Mailbox
from registry.resources.task import Desk
from registry.safetext import check_text
from registry.search.mongolian import has_cyrillic, latin, loose_latin, words
from registry.security import permissions as P
from registry.security.principals import ORG_ROLES, org_principal, org_role_principal
from registry.statistics import Tally

KINDS = ("government", "business")
KIND_TITLES = {
    "government": _("kind-government", default="Government organisation"),
    "business": _("kind-business", default="Business entity"),
}
REGNO_RE = re.compile(r"^[0-9]{7}$")
NAME_MAX = 300
_SEP = "\x00"


def validate_regno(value):
    """Return the registration number stripped; raise RegistryError(INVALID_REGNO) unless it is
    the seven digits of a legal entity's state registration number."""
    regno = (value or "").strip()
    if not REGNO_RE.match(regno):
        raise RegistryError(
            "INVALID_REGNO",
            _(
                "invalid-regno",
                default="A legal entity's state registration number is 7 digits; "
                "'${value}' is not.",
                mapping={"value": regno[:40]},
            ),
            field="regno",
        )
    return regno


def validate_name(value, field="name", required=True):
    name = " ".join(check_text(value or "", field).split())
    if required and not name:
        raise RegistryError("NAME_REQUIRED", _("The name is required."), field=field)
    if len(name) > NAME_MAX:
        raise RegistryError(
            "NAME_TOO_LONG",
            _("name-too-long", default="A name has at most ${max} characters.",
              mapping={"max": NAME_MAX}),
            field=field,
        )
    return name


def validate_kind(value):
    if value not in KINDS:
        raise RegistryError(
            "INVALID_KIND",
            _("invalid-kind", default="The kind must be 'government' or 'business', not "
              "'${value}'.", mapping={"value": str(value)[:40]}),
            field="kind",
        )
    return value


#: The roles that read and export the journals: the records office, the head, the auditors.
JOURNAL_READERS = ("records_manager", "signatory", "auditor")


class Outbox(Mailbox):
    """Letters this organisation drafts, signs and sends."""


class Inbox(Mailbox):
    """Deliveries of letters sent to this organisation."""


class Handovers(Folder):
    """Archive handover records made for this organisation (registry.archive.handover.Handover),
    keyed by package id."""


class Organisation(Folder):
    """A legal entity: government body or business. Children: outbox, inbox, handovers."""

    #: Whether a letter signed on the server carries its verification code and QR code
    #: (stamped before signing) unless the signatory unticks it (registry.verification).
    stamp_verification = False

    def __init__(self, regno, name, kind, name_en="", parent=None, active=True, created=None):
        super().__init__()
        self.regno = regno
        self.name = name
        self.name_en = name_en
        self.kind = kind
        self.parent_regno = parent
        self.active = active
        self.created = created or datetime.now(timezone.utc)
        self.add("outbox", Outbox())
        self.add("inbox", Inbox())
        self.add("handovers", Handovers())
        #: The file plan's retention classes, holds and disposals (registry.archive.retention).
        self.retention = RetentionPlan()
        #: The open tasks' indexes (registry.resources.task.Desk).
        self.desk = Desk()
        #: Monthly counters and durations of its letters (registry.statistics).
        self.stats = Tally()

    def __acl__(self):
        return [
            (Allow, org_principal(self.regno), (P.VIEW_MAILBOX,)),
            (Allow, org_role_principal(self.regno, "records_manager"),
             (P.MANAGE_ACCOUNTS, P.DRAFT_LETTER, P.MAKE_HANDOVER, P.MANAGE_RETENTION,
              P.VIEW_TASKS, P.CONTROL_TASKS, P.REGISTER_PAPER, P.ORG_SETTINGS)),
            (Allow, org_role_principal(self.regno, "clerk"), (P.DRAFT_LETTER,)),
            (Allow, org_role_principal(self.regno, "executor"), (P.DRAFT_LETTER, P.VIEW_TASKS)),
        ] + [(Allow, org_role_principal(self.regno, role), (P.READ_JOURNAL,))
             for role in JOURNAL_READERS] + \
            [(Allow, org_role_principal(self.regno, role), (P.SEARCH_LETTERS,))
             for role in ORG_ROLES]

    @property
    def is_business(self):
        return self.kind == "business"

    def as_json(self, request=None):
        data = {
            "regno": self.regno,
            "name": self.name,
            "name_en": self.name_en,
            "kind": self.kind,
            "parent": self.parent_regno,
            "active": self.active,
            "created": self.created.isoformat(),
            "stamp_verification": self.stamp_verification,
        }
        if request is not None:
            data = {"@id": request.resource_url(self), "@type": "Organisation", **data}
        return data


class Organisations(Folder):
    """The directory: Organisation objects keyed by registration number, with a word index.

    Index structures (all BTrees, updated only through `register` and `update`):
    - `_words`: a set of `word + NUL + regno` for every word of every name (Cyrillic folded,
      its Latin transliteration, the English name), so a prefix is a range of keys;
    - `_texts`: regno -> the folded searchable text, to check the other words of a query;
    - `_children`: parent regno -> set of sub-unit regnos;
    - `_inactive`: the regnos of deactivated organisations.
    """

    def __init__(self):
        super().__init__()
        self._words = OOTreeSet()
        self._texts = OOBTree()
        self._children = OOBTree()
        self._inactive = OOTreeSet()

    # Changes ---------------------------------------------------------------------------
    def register(self, regno, name, kind, name_en="", parent=None, active=True):
        """Validate and add a new organisation; return it.

        Raises RegistryError (INVALID_REGNO, NAME_REQUIRED, INVALID_KIND, ...), Conflict
        (DUPLICATE_REGNO) or NotFound (UNKNOWN_PARENT). Nothing is changed when it raises.
        """
        regno = validate_regno(regno)
        name = validate_name(name)
        name_en = validate_name(name_en, field="name_en", required=False)
        kind = validate_kind(kind)
        if regno in self:
            raise Conflict(
                "DUPLICATE_REGNO",
                _("duplicate-regno", default="An organisation with registration number "
                  "${regno} is already registered.", mapping={"regno": regno}),
                field="regno",
            )
        parent = self._checked_parent(regno, parent)
        org = Organisation(regno, name, kind, name_en=name_en, parent=parent, active=active)
        self.add(regno, org)
        self._index(org)
        return org

    def update(self, org, **changes):
        """Apply validated `changes` (name, name_en, kind, parent, active) to `org`.

        Returns a dict of the fields that changed: {field: (old, new)}. Raises like `register`.
        """
        clean = {}
        if "name" in changes:
            clean["name"] = validate_name(changes["name"])
        if "name_en" in changes:
            clean["name_en"] = validate_name(changes["name_en"], field="name_en", required=False)
        if "kind" in changes:
            clean["kind"] = validate_kind(changes["kind"])
        if "parent" in changes:
            clean["parent_regno"] = self._checked_parent(org.regno, changes["parent"])
        if "active" in changes:
            clean["active"] = bool(changes["active"])
        changed = {}
        for attr, value in clean.items():
            old = getattr(org, attr)
            if old != value:
                changed["parent" if attr == "parent_regno" else attr] = (old, value)
        if changed:
            self._unindex(org)
            for attr, value in clean.items():
                setattr(org, attr, value)
            self._index(org)
        return changed

    def _checked_parent(self, regno, parent):
        parent = (parent or "").strip() or None
        if parent is None:
            return None
        parent = validate_regno(parent)
        if parent not in self:
            raise NotFound(
                "UNKNOWN_PARENT",
                _("unknown-parent", default="There is no organisation with registration "
                  "number ${regno} to be the parent.", mapping={"regno": parent}),
                field="parent",
            )
        # Walk up from the proposed parent: reaching `regno` would close a cycle.
        seen, current = set(), parent
        while current is not None and current not in seen:
            if current == regno:
                raise RegistryError(
                    "PARENT_CYCLE",
                    _("An organisation cannot be its own parent or a sub-unit of its sub-unit."),
                    field="parent",
                )
            seen.add(current)
            current = self[current].parent_regno
        return parent

    # Index -----------------------------------------------------------------------------
    @staticmethod
    def _index_words(org):
        folded = words(org.name) + words(org.name_en)
        translit = [latin(w) for w in words(org.name) if has_cyrillic(w)]
        return sorted(set(folded + translit))

    def _index(self, org):
        for word in self._index_words(org):
            self._words.add(word + _SEP + org.regno)
        self._texts[org.regno] = " ".join(self._index_words(org))
        if org.parent_regno:
            self._children.setdefault(org.parent_regno, OOTreeSet()).add(org.regno)
        if not org.active:
            self._inactive.add(org.regno)

    def _unindex(self, org):
        for word in self._index_words(org):
            self._words.remove(word + _SEP + org.regno)
        self._texts.pop(org.regno, None)
        if org.parent_regno and org.parent_regno in self._children:
            self._children[org.parent_regno].remove(org.regno)
        if org.regno in self._inactive:
            self._inactive.remove(org.regno)

    # Queries ---------------------------------------------------------------------------
    def sub_units(self, regno):
        """Return the sub-units of `regno`, in registration-number order."""
        return [self[r] for r in self._children.get(regno, ())]

    def search(self, query, start=0, size=20, include_inactive=False, count=False,
               count_limit=None):
        """Find organisations whose name words start with every word of `query` (Cyrillic or
        Latin), or whose registration number starts with `query` when it is all digits.

        Returns `(orgs, more, total)`: the page from `start` of at most `size` organisations,
        whether more follow, and (only when `count` is true) how many match in all, else None;
        with `count_limit`, counting stops there (total == count_limit means "at least").
        An empty query lists the directory in registration-number order.
        Cost: the index entries that start with the query's longest word, up to the page's end
        (up to the count limit when counting), plus one lookup per entry; never the whole
        directory.
        """
        query = (query or "").strip()
        terms = words(query)
        if not terms or (len(terms) == 1 and terms[0].isdigit()):
            prefix = terms[0] if terms else ""
            candidates = self._regno_range(prefix)
            check = None
        else:
            latin_terms = [loose_latin(t) if not has_cyrillic(t) else t for t in terms]
            scan = max(latin_terms, key=len)
            others = [t for t in latin_terms if t is not scan]
            candidates = self._word_range(scan)

            def check(regno, others=others):
                text_words = self._texts.get(regno, "").split()
                return all(any(w.startswith(t) for w in text_words) for t in others)

        known_total = None
        if not terms:
            # The whole directory: its size is known without a scan.
            known_total = len(self) - (0 if include_inactive else len(self._inactive))
            count = False
        orgs, total, seen = [], 0, set()
        more = False
        for regno in candidates:
            if regno in seen:
                continue
            seen.add(regno)
            if not include_inactive and regno in self._inactive:
                continue
            if check is not None and not check(regno):
                continue
            if total >= start and len(orgs) < size:
                orgs.append(self[regno])
            elif total >= start + size:
                more = True
                if not count:
                    break
            total += 1
            if count_limit is not None and total >= count_limit and total >= start + size:
                break
        if known_total is not None:
            return orgs, more, known_total
        return orgs, more, (total if count else None)

    def _regno_range(self, prefix):
        if not prefix:
            return self.data.keys()
        return self.data.keys(min=prefix, max=prefix + "\uffff")

    def _word_range(self, prefix):
        for key in self._words.keys(min=prefix, max=prefix + "\uffff"):
            yield key.rsplit(_SEP, 1)[1]
