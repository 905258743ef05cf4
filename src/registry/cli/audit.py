"""The audit trail: `registry audit`."""

import click

from registry.audit_sealing import seal_pending
from registry.cli.base import fail, main, pass_ctx


# audit -------------------------------------------------------------------------------------

@main.group()
def audit():
    """The audit trail."""


@audit.command("verify")
@pass_ctx
def audit_verify(ctx):
    """Chain the pending records, then check the whole chain; name the first broken record.
    Exit 1 if broken."""
    seal_pending(ctx.db())
    ok, checked, bad, problem = ctx.run(lambda site: site.audit.verify())
    if ok:
        click.echo(f"Audit trail intact: {checked} records.")
        return
    where = f"record {bad}" if bad is not None else "the head"
    fail(f"audit trail broken at {where}: {problem} ({checked} records before it are intact)")
