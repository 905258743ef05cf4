"""Permission names. Every view names one of these; ACLs (computed in each resource's
`__acl__`) grant them to principals (see `registry.security.principals`)."""

#: See the site's pages at all (home, layout, own account).
VIEW = "view"
#: Browse and search the directory of organisations.
VIEW_DIRECTORY = "directory.view"
#: Register organisations and edit them (site administrators).
MANAGE_ORGS = "orgs.manage"
#: Create accounts in an organisation and change their roles, status and passwords.
MANAGE_ACCOUNTS = "accounts.manage"
#: See an account's page.
VIEW_ACCOUNT = "account.view"
#: Change one's own password and API tokens.
MANAGE_OWN_ACCOUNT = "account.own"
#: List all accounts (site administrators).
LIST_ACCOUNTS = "accounts.list"
#: See an organisation's inbox, outbox and handovers.
VIEW_MAILBOX = "mailbox.view"
#: Read the audit trail (site administrators all of it; auditors their organisation's).
VIEW_AUDIT = "audit.view"

ALL = (
    VIEW, VIEW_DIRECTORY, MANAGE_ORGS, MANAGE_ACCOUNTS, VIEW_ACCOUNT, MANAGE_OWN_ACCOUNT,
    LIST_ACCOUNTS, VIEW_MAILBOX, VIEW_AUDIT,
)
