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
#: Search the letters the organisation is a party to (its members with a role on letters).
SEARCH_LETTERS = "letters.search"
#: Read and export the organisation's journals of incoming and outgoing letters.
READ_JOURNAL = "journal.read"
#: Read and mark one's own notifications.
OWN_NOTIFICATIONS = "notifications.own"
#: Read the audit trail (site administrators all of it; auditors their organisation's).
VIEW_AUDIT = "audit.view"
#: See and download the audit trail's checkpoints (site administrators).
VIEW_CHECKPOINTS = "audit.checkpoints"


# Letters (granted per workflow state by workflows/letter.toml) ------------------------------
#: Start a draft in the organisation's outbox.
DRAFT_LETTER = "letter.draft"
#: Read a letter (its metadata, PDF, history).
VIEW_LETTER = "letter.view"
#: Change a draft: subject, recipients, reply-to, due date, the PDF.
EDIT_LETTER = "letter.edit"
#: Delete a draft (held in the draft state only: a letter once sent is kept).
DELETE_LETTER = "letter.delete"
#: Sign: accept a PDF that passes the signature gate (uploaded, or signed on the server).
SIGN_LETTER = "letter.sign"
#: Take a signed letter back to draft.
RETRACT_LETTER = "letter.retract"
#: Send: number the letter and deliver it to every recipient.
SEND_LETTER = "letter.send"
#: Withdraw a sent letter that no recipient has registered yet.
WITHDRAW_LETTER = "letter.withdraw"

# Deliveries (granted per state by workflows/delivery.toml) ---------------------------------
#: Read a delivered letter.
VIEW_DELIVERY = "delivery.view"
#: Register a delivered letter (incoming number, executor, due date).
REGISTER_DELIVERY = "delivery.register"
#: Refuse a delivered letter, with a reason.
REJECT_DELIVERY = "delivery.reject"
#: Report a delivered letter as advertising (the recipient's records manager).
REPORT_DELIVERY = "delivery.report"
#: Review advertising reports and suspend senders (site administrators).
REVIEW_REPORTS = "reports.review"
# Archive handover and retention (granted to the organisation's records manager) -------------
#: Preview and produce archive handover packages, download them, confirm the archive's receipt.
MAKE_HANDOVER = "handover.make"
#: Set the file plan's retention classes, place and lift holds, approve disposal.
MANAGE_RETENTION = "retention.manage"
# The desk (tasks; granted per state by workflows/task.toml, lists by the organisation) -----
#: Give a task its executor and co-executors, resolution and due date.
ASSIGN_TASK = "task.assign"
#: Extend a task's due date, with a reason.
EXTEND_TASK = "task.extend"
#: Close a task with a note (its executor, or a records manager).
CLOSE_TASK = "task.close"
#: See one's own tasks ("My tasks").
VIEW_TASKS = "tasks.view"
#: See every open task of the organisation (control, хяналт).
CONTROL_TASKS = "tasks.control"
#: Register a letter that came on paper (records managers).
REGISTER_PAPER = "paper.register"
#: Declare days off and working days on the registry's calendar (site administrators).
MANAGE_CALENDAR = "calendar.manage"
#: See the city-wide statistics: counts and times, no letter content (site administrators).
VIEW_STATS = "stats.view"
#: Change the organisation's own settings (its records manager).
ORG_SETTINGS = "org.settings"
#: Check a letter by its public verification code (everyone, signed in or not).
VERIFY_LETTER = "letter.verify"
#: Mark a transition the registry fires itself (never granted to a person).
SYSTEM = "system"

ALL = (
    VIEW, VIEW_DIRECTORY, MANAGE_ORGS, MANAGE_ACCOUNTS, VIEW_ACCOUNT, MANAGE_OWN_ACCOUNT,
    LIST_ACCOUNTS, VIEW_MAILBOX, SEARCH_LETTERS, READ_JOURNAL, VIEW_AUDIT, DRAFT_LETTER, VIEW_LETTER, EDIT_LETTER,
    DELETE_LETTER,
    SIGN_LETTER, RETRACT_LETTER, SEND_LETTER, WITHDRAW_LETTER, VIEW_DELIVERY,
    REGISTER_DELIVERY, REJECT_DELIVERY, REPORT_DELIVERY, REVIEW_REPORTS, MAKE_HANDOVER,
    MANAGE_RETENTION, OWN_NOTIFICATIONS, ASSIGN_TASK, EXTEND_TASK, CLOSE_TASK, VIEW_TASKS, CONTROL_TASKS,
    MANAGE_CALENDAR, REGISTER_PAPER, VIEW_CHECKPOINTS, VIEW_STATS, VERIFY_LETTER,
    ORG_SETTINGS,
)
