"""Search: `registry reindex`, `registry search`."""
import json
import sys

import click

from registry.errors import RegistryError
from registry.i18n import translate
from registry.cli.base import fail, main, pass_ctx
from registry.resources.organisation import validate_regno
from registry.search.indexing import SearchService


# search ------------------------------------------------------------------------------------

def search_service(ctx):
    return SearchService(ctx.db(), ctx.settings)


def count_items(ctx, orgs=None):
    def count(site):
        regnos = orgs or list(site.orgs.keys())
        return sum(len(site.orgs[r]["outbox"]) + len(site.orgs[r]["inbox"]) for r in regnos)

    return ctx.run(count)


@main.command()
@click.option("--org", "orgs", multiple=True, metavar="REGNO",
              help="Rebuild only this organisation's partition (repeatable).")
@pass_ctx
def reindex(ctx, orgs):
    """Rebuild the search index from the database (every organisation's partition, or those
    given). Safe while `registry serve` runs: searches use the old index until each partition
    is rebuilt."""
    for regno in orgs:
        try:
            validate_regno(regno)
        except RegistryError as exc:
            raise click.BadParameter(translate(exc.message), param_hint="--org") from None
    missing = [r for r in orgs if not ctx.run(lambda site, r=r: r in site.orgs)]
    if missing:
        fail(f"no organisation with registration number {missing[0]}")
    service = search_service(ctx)
    try:
        total = count_items(ctx, list(orgs) or None)
        with click.progressbar(length=total, label="Indexing letters", file=sys.stderr,
                               show_pos=True) as bar:
            indexed = service.reindex(progress=bar.update, orgs=list(orgs) or None)
    finally:
        service.stop()
    click.echo(f"Indexed {indexed} documents"
               + (f" of {len(orgs)} organisation(s)." if orgs else "."))


@main.group()
def search():
    """The full-text search index."""


@search.command("check")
@click.option("--repair", is_flag=True, help="Queue what is missing or stale and drop what "
              "is orphaned, for the writer to fix.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@pass_ctx
def search_check(ctx, repair, as_json):
    """Compare the index with the database: letters missing from the index, stale in it, or
    left in it without a letter. Exit 1 if any."""
    service = search_service(ctx)
    try:
        with click.progressbar(length=count_items(ctx), label="Checking", file=sys.stderr,
                               show_pos=True) as bar:
            report = service.check(progress=bar.update)
        problems = report["missing"] + report["stale"]
        if repair and (problems or report["orphaned"]):
            service.requeue(problems)
            service.index.update((), report["orphaned"])
            service.drain_all()
    finally:
        service.stop()
    if as_json:
        click.echo(json.dumps(report, indent=1))
    else:
        click.echo(f"{report['documents']} documents in this machine's index; "
                   f"{report['queued']} changes of the log not applied to it yet.")
        for name in ("missing", "stale", "orphaned"):
            keys = report[name]
            click.echo(f"{name}: {len(keys)}" + (f" (e.g. {', '.join(keys[:5])})" if keys else ""))
        if repair and (report["missing"] or report["stale"] or report["orphaned"]):
            click.echo("Repaired.")
    if (report["missing"] or report["stale"] or report["orphaned"]) and not repair:
        sys.exit(1)


@search.command("apply")
@pass_ctx
def search_apply(ctx):
    """Apply the search change log to this machine's index now (a running server does this by
    itself)."""
    service = search_service(ctx)
    try:
        done = service.drain_all()
    finally:
        service.stop()
    click.echo(f"Applied {done} changes of the log.")
