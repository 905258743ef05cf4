"""The journals: `registry journal export`."""

import click

from registry import settings as registry_settings
from registry.cli.base import main, org_of, pass_ctx
from registry.i18n import localizer_for
from registry.journal import Journal, parse_period


@main.group()
def journal():
    """The journals of incoming and outgoing letters."""


@journal.command("export")
@click.option("--org", "regno", required=True, metavar="REGNO")
@click.option("--direction", type=click.Choice(["incoming", "outgoing"]), required=True)
@click.option("--from", "first", metavar="YYYY-MM-DD", help="First day (default 1 January).")
@click.option("--to", "last", metavar="YYYY-MM-DD", help="Last day (default today).")
@click.option("--series", default=None, help="One series of the file plan (default all).")
@click.option("--format", "fmt", type=click.Choice(["csv", "xlsx", "pdf"]), default="csv",
              show_default=True)
@click.option("--language", type=click.Choice(["mn", "en"]), default="mn", show_default=True,
              help="Language of the titles, states and notes.")
@click.option("--out", type=click.Path(dir_okay=False), required=True, help="The file to write.")
@pass_ctx
def journal_export(ctx, regno, direction, first, last, series, fmt, language, out):
    """Write an organisation's journal for a period as CSV, XLSX or a printable PDF."""
    # The web views (seconds of imports) only for this command, not for every `registry` run.
    from registry.views.journal import export_file

    settings = ctx.settings
    try:
        first, last = parse_period(first, last, registry_settings.local_today(settings))
    except ValueError as exc:
        raise click.BadParameter("a period runs from a date to the same or a later date, "
                                 "each YYYY-MM-DD", param_hint=f"--{exc}") from None

    def write(site):
        book = Journal(site, org_of(site, regno), direction, first, last,
                       registry_settings.zone(settings), series=series)
        return export_file(book, fmt, out, localizer_for(language).translate)

    count = ctx.run(write)
    click.echo(f"{count} entries written to {out}")
