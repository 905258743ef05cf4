"""The archive: `registry handover`, `registry retention`, `registry disposal`, `registry hold`."""
import json
import sys
from pathlib import Path

import click

from registry.archive import handover as ho
from registry.archive import selection as sel
from registry.archive.handover import confirm_receipt
from registry.archive.retention import (approve_disposal, disposal_list, lift_hold, place_hold,
                                        set_retention)
from registry.cli.base import actor, fail, local_year, main, org_of, pass_ctx
from registry.errors import NotFound, RegistryError
from registry.i18n import _, translate
from registry.signatures import Gate


# archive handover, retention, disposal, holds ------------------------------------------------


def _handover(site, regno, handover_id):
    record = org_of(site, regno)["handovers"].get(handover_id)
    if record is None:
        raise NotFound("UNKNOWN_HANDOVER", _("unknown-handover", default="The organisation has "
                                             "no handover ${id}.",
                                             mapping={"id": handover_id[:40]}))
    return record


def _selection_options(fn):
    for option in reversed([
        click.option("--org", "regno", required=True, metavar="REGNO",
                     help="The organisation handing over."),
        click.option("--year", required=True, type=click.IntRange(1990, 2200),
                     help="Year of registration (of the outgoing / incoming numbers)."),
        click.option("--series", default=None, help="Only this file-plan series."),
        click.option("--supplement", is_flag=True,
                     help="Only letters not handed over yet, adding to an earlier handover "
                          "(RECORDSTATUS SUPPLEMENT)."),
    ]):
        fn = option(fn)
    return fn


def _print_preview(p, out=click.echo):
    sel = p.selection
    out(f"Organisation {sel.regno}, year {sel.year}, series {sel.series or 'all'}, "
        f"{sel.record_status}")
    out(f"  to hand over:          {p.total} letters ({p.outgoing} outgoing, {p.incoming} "
        f"incoming), {p.bytes} bytes of PDF")
    for series, count in sorted(p.series.items()):
        out(f"    series {series}: {count}")
    out(f"  handed over already:   {p.handed_over}")
    out(f"  open (stay for now):   {p.open}")
    for letter in p.open_letters:
        waiting = f" waiting for {', '.join(letter.waiting)}" if letter.waiting else ""
        out(f"    {letter.key}  № {letter.number}  {letter.state}{waiting}  {letter.subject}")
    out(f"  delivered in {sel.year}, not registered yet: {p.unregistered}")
    out(f"  temporary series (stay for disposal): {p.temporary}")
    out(f"  disposed of:           {p.disposed}")
    out(f"  refused at their last signature check: {p.failed_last_check}")
    if p.earlier:
        out(f"  earlier handovers of this selection: {', '.join(p.earlier)}")


@main.group()
def handover():
    """Archive handover packages (E-ARK SIP in a BagIt bag)."""


@handover.command("preview")
@_selection_options
@click.option("--check-signatures", is_flag=True,
              help="Also re-check every signature now with the gate (records nothing).")
@pass_ctx
def handover_preview(ctx, regno, year, series, supplement, check_signatures):
    """Print what a handover of this selection would take, and what stays."""
    def look(site):
        org = org_of(site, regno)
        selection = sel.make_selection(org, year, series, supplement)
        return sel.preview(org, selection, ctx.settings)

    preview = ctx.run(look)
    _print_preview(preview)
    if check_signatures:
        _check_signatures(ctx, regno, preview.selection, preview.total)


def _check_signatures(ctx, regno, selection, total):
    gate = Gate.from_settings(ctx.settings, db=ctx.db())

    def check(site):
        org = org_of(site, regno)
        refused = []
        with click.progressbar(length=total, label="Checking signatures", file=sys.stderr) as bar:
            for folder, _series, item in sel.to_go(org, selection):
                letter = item if folder == "outbox" else item.letter
                verdict = gate.verify(letter.pdf.path() or letter.pdf.read(), letter.org)
                if not verdict.accepted:
                    refused.append((f"{folder}/{item.__name__}", verdict.reasons))
                bar.update(1)
        return refused

    refused = ctx.run(check)
    click.echo(f"  signature no longer valid now: {len(refused)}")
    for key, reasons in refused:
        click.echo(f"    {key}  {', '.join(reasons)}")


@handover.command("export")
@_selection_options
@click.option("--act-number", default="", help="Number of the handover act (default YEAR-N).")
@click.option("--act-date", default=None, metavar="YYYY-MM-DD",
              help="Date of the handover act (default today).")
@click.option("--archive", "archive_name", default="", help="The receiving archive.")
@click.option("--fond", "fond_reference", default="", help="The archive's fond reference.")
@click.option("--inventory", "inventory_reference", default="",
              help="The archive's inventory reference (default the year).")
@click.option("--out", type=click.Path(), default=None,
              help="A directory (the bag is made in it) or a FILE.zip.")
@click.option("--dry-run", is_flag=True, help="Print what would go; change nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the handover record as JSON.")
@pass_ctx
def handover_export(ctx, regno, year, series, supplement, act_number, act_date, archive_name,
                    fond_reference, inventory_reference, out, dry_run, as_json):
    """Make the handover package and the handover record; the letters become handed over."""
    if dry_run:
        def look(site):
            org = org_of(site, regno)
            selection = sel.make_selection(org, year, series, supplement)
            found = sel.preview(org, selection, ctx.settings)
            sel.check_allowed(org, selection, found)
            return found

        _print_preview(ctx.run(look))
        click.echo("Dry run: nothing was changed.")
        return
    if not out:
        raise click.UsageError("give --out DIR or --out FILE.zip (or --dry-run)")
    target = Path(out)
    if target.suffix.lower() == ".zip" and target.exists():
        fail(f"{out} exists already; a package is never written over a file")
    request = ho.ExportRequest(regno, year, series, supplement, act_number, act_date,
                               archive_name, fond_reference, inventory_reference, actor(),
                               str(target.resolve()))
    db = ctx.db()
    bar = click.progressbar(length=1, label="Packaging", file=sys.stderr)
    state = {"phase": None, "done": 0}

    def progress(phase, done, total):
        if phase != state["phase"]:
            if state["phase"] is not None:
                bar.render_finish()
            bar.label = "Packaging" if phase == "packaging" else "Handing over"
            bar.length, bar.pos, state["done"] = max(total, 1), 0, 0
            state["phase"] = phase
        bar.update(done - state["done"])
        state["done"] = done

    try:
        made = ho.export(db, request, Gate.from_settings(ctx.settings, db=db), ctx.settings,
                         progress=progress)
    except RegistryError as exc:
        fail(f"{translate(exc.message)} [{exc.code}]")
    bar.render_finish()
    if as_json:
        click.echo(json.dumps(made, ensure_ascii=False, indent=1))
        return
    click.echo(f"Handover {made['id']} made: {made['letters']} letters ({made['outgoing']} "
               f"outgoing, {made['incoming']} incoming), {made['record_status']}, act "
               f"{made['act_number']} of {made['act_date']}.")
    click.echo(f"Package: {made['path']}")
    click.echo(f"SHA-256: {made['sha256']}")
    if made["failed_checks"]:
        click.echo(f"{made['failed_checks']} letters failed the signature check at export "
                   "(recorded in the package).")


@handover.command("resume")
@click.option("--org", "regno", required=True, metavar="REGNO")
@click.argument("handover_id")
@pass_ctx
def handover_resume(ctx, regno, handover_id):
    """Finish a handover whose process ended after its package was made."""
    ctx.run(lambda site: _handover(site, regno, handover_id))
    try:
        made = ho.resume(ctx.db(), regno, handover_id, ctx.settings)
    except RegistryError as exc:
        fail(f"{translate(exc.message)} [{exc.code}]")
    click.echo(f"Handover {made['id']} finished: {made['letters']} letters handed over.")


@handover.command("list")
@click.option("--org", "regno", required=True, metavar="REGNO")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_ctx
def handover_list(ctx, regno, as_json):
    """List the organisation's handovers, newest first."""

    def rows(site):
        records = sorted(org_of(site, regno)["handovers"].values(), key=lambda h: h.created,
                         reverse=True)
        return [h.as_json() for h in records]

    found = ctx.run(rows)
    if as_json:
        click.echo(json.dumps(found, ensure_ascii=False, indent=1))
        return
    if not found:
        click.echo("No handover yet.")
    for h in found:
        received = f"received by {h['received_by']} on {h['received_at']}" \
            if h["received_at"] else "not confirmed by the archive"
        click.echo(f"{h['id']}  {h['year']} series {h['series'] or 'all'}  "
                   f"{h['record_status']:<10} {h['status']:<8} {h['letters']:>6} letters  "
                   f"act {h['act_number']} of {h['act_date']}  {received}")
        if h["sha256"]:
            click.echo(f"    sha256 {h['sha256']}  {h['package']}")
        if h["error"]:
            click.echo(f"    error: {h['error']}")


@handover.command("confirm")
@click.option("--org", "regno", required=True, metavar="REGNO")
@click.argument("handover_id")
@click.option("--received-by", required=True, help="Who received the package at the archive.")
@click.option("--date", "received_at", default=None, metavar="YYYY-MM-DD",
              help="When (default today).")
@click.option("--note", default="")
@pass_ctx
def handover_confirm(ctx, regno, handover_id, received_by, received_at, note):
    """Record the archive's receipt of a handover package."""
    def confirm(site):
        record = _handover(site, regno, handover_id)
        confirm_receipt(site, actor(), record, received_by, received_at, note, ctx.settings)
        return record.received_at.isoformat()

    when = ctx.run(confirm)
    click.echo(f"Receipt of {handover_id} recorded ({received_by}, {when}).")


@main.group()
def retention():
    """Retention classes of the file plan's series."""


@retention.command("set")
@click.option("--org", "regno", required=True, metavar="REGNO")
@click.option("--series", required=True)
@click.option("--retention", "value", required=True, metavar="permanent|YEARS",
              help="'permanent', or the number of years a temporary series is kept.")
@click.option("--title", default=None, help="The series' title in the file plan.")
@pass_ctx
def retention_set(ctx, regno, series, value, title):
    """Set a series' retention class (audited)."""
    rule = ctx.run(lambda site: set_retention(site, actor(), org_of(site, regno), series, value,
                                              title))
    click.echo(f"Series {rule.series}: {rule.retention}.")


@retention.command("list")
@click.option("--org", "regno", required=True, metavar="REGNO")
@pass_ctx
def retention_list(ctx, regno):
    """The file plan's retention classes (unlisted series are permanent)."""
    rules = ctx.run(lambda site: list(org_of(site, regno).retention.series.values()))
    if not rules:
        click.echo("No series classified: every series is permanent.")
    for rule in rules:
        click.echo(f"{rule.series:<20} {rule.retention:<14} {rule.title}")


@main.group()
def disposal():
    """Disposal of temporary series past their term."""


@disposal.command("list")
@click.option("--org", "regno", required=True, metavar="REGNO")
@pass_ctx
def disposal_list_cmd(ctx, regno):
    """The disposal list: (series, year) groups past their term."""
    groups = ctx.run(lambda site: disposal_list(org_of(site, regno),
                                                local_year(ctx.settings)))
    if not groups:
        click.echo("Nothing is due for disposal.")
    for g in groups:
        click.echo(f"series {g.series:<10} {g.year}  {g.retention:<14} due: {g.eligible:>6}  "
                   f"on hold: {g.held}  waiting for recipients: {g.waiting}  {g.title}")


@disposal.command("approve")
@click.option("--org", "regno", required=True, metavar="REGNO")
@click.option("--series", required=True)
@click.option("--year", required=True, type=click.IntRange(1990, 2200))
@pass_ctx
def disposal_approve(ctx, regno, series, year):
    """Dispose of the letters of SERIES registered in YEAR that are past their term (audited;
    held letters stay)."""
    act = ctx.run(lambda site: approve_disposal(site, actor(), org_of(site, regno), series, year,
                                                local_year(ctx.settings), ctx.settings))
    click.echo(f"Disposal {act.id}: {act.count} letters of series {act.series}, {act.year} "
               "disposed of.")


@main.group()
def hold():
    """Holds: letters never disposed of while held."""


@hold.command("place")
@click.option("--org", "regno", required=True, metavar="REGNO")
@click.argument("item", metavar="outbox/ID|inbox/ID")
@click.option("--reason", required=True)
@pass_ctx
def hold_place(ctx, regno, item, reason):
    """Put a letter under a hold (audited)."""
    placed = ctx.run(lambda site: place_hold(site, actor(), org_of(site, regno), item, reason))
    click.echo(f"Hold placed on {placed.key}.")


@hold.command("lift")
@click.option("--org", "regno", required=True, metavar="REGNO")
@click.argument("item", metavar="outbox/ID|inbox/ID")
@click.option("--reason", default="")
@pass_ctx
def hold_lift(ctx, regno, item, reason):
    """Lift a hold (audited)."""
    lifted = ctx.run(lambda site: lift_hold(site, actor(), org_of(site, regno), item, reason))
    click.echo(f"Hold lifted from {lifted.key}.")


@hold.command("list")
@click.option("--org", "regno", required=True, metavar="REGNO")
@pass_ctx
def hold_list(ctx, regno):
    """The letters under a hold."""
    holds = ctx.run(lambda site: list(org_of(site, regno).retention.holds.values()))
    if not holds:
        click.echo("No letter is under a hold.")
    for h in holds:
        click.echo(f"{h.key}  {h.placed_at[:10]}  {h.placed_by}  {h.reason}")
