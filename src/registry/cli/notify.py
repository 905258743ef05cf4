"""Notifications: `registry notify`."""

import click

from registry.cli.base import fail, main, pass_ctx


@main.group()
def notify():
    """Notifications by mail."""


@notify.command("digest")
@click.option("--force", is_flag=True, help="Send it again although today's went out.")
@pass_ctx
def notify_digest(ctx, force):
    """Send today's digest (for cron): due-soon and overdue tasks, and the unread notifications
    of accounts that chose a daily digest. Once a day: a second run the same day sends nothing
    unless --force. Needs mail.host, mail.default_sender and registry.public_url."""
    from ZODB.POSException import ConflictError

    from registry.mail import MailSettingsError, postman_from_settings, run_digest

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
