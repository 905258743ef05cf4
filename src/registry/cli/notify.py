"""Notifications: `registry notify`."""

import click

from registry.cli.base import fail, main, pass_ctx
from registry.mail import MailSettingsError, postman_from_settings, run_digest
from registry.notifications import run_due_check


@main.group()
def notify():
    """Notifications: the daily digest by mail, the deadline check."""


@notify.command("digest")
@click.option("--force", is_flag=True, help="Send it again although today's went out.")
@pass_ctx
def notify_digest(ctx, force):
    """Send today's digest (for cron): due-soon and overdue tasks, and the unread notifications
    of accounts that chose a daily digest. Once a day: a second run the same day sends nothing
    unless --force. Needs mail.host, mail.default_sender and registry.public_url."""
    from ZODB.POSException import ConflictError

    try:
        postman = postman_from_settings(ctx.settings)
    except MailSettingsError as exc:
        fail(f"{exc} [MAIL_SETTINGS]")
    if postman is None:
        fail("mail is off: set mail.host (and mail.default_sender, registry.public_url) "
             "[MAIL_OFF]")
    try:
        report = run_digest(ctx.db(), postman, force=force)
    except ConflictError:
        fail("the digest went out from another process meanwhile [DIGEST_CONFLICT]")
    if not report.sent:
        click.echo(f"The digest of {report.day} went out already (--force sends it again).")
    else:
        click.echo(f"Digest of {report.day}: {len(report.mails)} mail(s).")


@notify.command("due")
@pass_ctx
def notify_due(ctx):
    """Run today's deadline check (for cron; the server runs it itself each day): tell the
    executors of tasks due within registry.notify.due_soon_working_days working days, and of
    tasks whose due date has passed, in the UI. Each task, kind and due date is told once:
    running it again tells nobody twice."""
    report = run_due_check(ctx.db(), ctx.settings)
    click.echo(f"Deadline check of {report.day}: {report.due_soon} task(s) due soon, "
               f"{report.overdue} overdue, told to their executors.")
