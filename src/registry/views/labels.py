"""Titles shown for stored codes (roles, kinds), as message ids of the `registry` domain."""
from registry.i18n import _
from registry.resources.organisation import KIND_TITLES  # noqa: F401  (re-exported for views)

ROLE_TITLES = {
    "records_manager": _("role-records_manager", default="Records manager"),
    "signatory": _("role-signatory", default="Signatory"),
    "clerk": _("role-clerk", default="Clerk"),
    "auditor": _("role-auditor", default="Auditor"),
    "executor": _("role-executor", default="Executor"),
    "site_admin": _("role-site_admin", default="Site administrator"),
}
