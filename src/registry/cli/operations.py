"""Operations: `registry backup`, `registry restore`, `registry fixity`, `registry pack` (the
logic is in registry.operations)."""
import json
import sys
from pathlib import Path

import click

from registry import operations as ops
from registry.audit_sealing import seal_pending
from registry.cli.base import actor, counter, fail, main, pass_ctx, refused
from registry.cli.search import count_items, search_service


@main.command()
@click.option("--to", "repository", required=True, type=click.Path(file_okay=False),
              help="The backup directory (made if missing; later backups add to it).")
@click.option("--full", is_flag=True, help="A full backup even if an incremental one would do.")
@click.option("--data-fs", default=None, type=click.Path(dir_okay=False),
              help="Another FileStorage's Data.fs (a ZEO server's, on its machine).")
@click.option("--blob-dir", default=None, type=click.Path(file_okay=False),
              help="That FileStorage's blob directory.")
@pass_ctx
def backup(ctx, repository, full, data_fs, blob_dir):
    """Back up the store and its blobs, online: full the first time, then incremental."""
    try:
        data_path, blob_path = ops.storage_files(ctx.settings, data_fs, blob_dir)
        made = ops.backup(data_path, blob_path, repository, full=full,
                          progress=counter("Copying new blob files"))
    except ops.OperationError as exc:
        refused(exc)
    click.echo(f"Backup ({made.kind}) of {data_path} in {made.repository}: "
               f"{len(made.files)} repozo file(s), {made.blobs_copied} new blob file(s) "
               f"({made.blob_bytes} bytes).")


@main.command()
@click.option("--from", "repository", required=True,
              type=click.Path(exists=True, file_okay=False), help="The backup directory.")
@click.option("--date", default=None, metavar="YYYY-MM-DD[-HH[-MM[-SS]]]",
              help="Recover the state as of this UTC time (default: the newest backed up).")
@pass_ctx
def restore(ctx, repository, date):
    """Restore a backup into the data directory (which must hold no store), then verify the
    audit trail and every stored PDF, and rebuild the search index."""
    if ctx.embedded() is None:
        fail("restore writes the embedded store of --data-dir; the settings name another "
             "store (zodbconn.uri): restore into a data directory and serve its files "
             "[STORAGE_NOT_FILE]")
    try:
        data_fs = ops.restore(repository, ctx.data_dir, date=date,
                              progress=counter("Copying blob files"))
    except ops.OperationError as exc:
        refused(exc)
    click.echo(f"Restored {data_fs}.")
    db = ctx.db()
    seal_pending(db)
    ok, checked, bad, problem = ctx.run(lambda site: site.audit.verify())
    if not ok:
        fail(f"the restored audit trail is broken at record {bad}: {problem} [AUDIT_BROKEN]")
    click.echo(f"Audit trail intact: {checked} records.")
    if not check_fixity(ctx, restart=True):
        sys.exit(1)
    service = search_service(ctx)
    try:
        with click.progressbar(length=count_items(ctx), label="Indexing letters",
                               file=sys.stderr, show_pos=True) as bar:
            indexed = service.reindex(progress=bar.update)
    finally:
        service.stop()
    click.echo(f"Search index rebuilt: {indexed} documents.")
    ctx.run(lambda site: site.audit.append(actor(), "store.restore", target="/", detail={
        "backup": str(Path(repository).resolve()), "date": date}))


def check_fixity(ctx, restart, as_json=False):
    """Run the fixity check with a progress bar, print its report; return True if clean."""
    db = ctx.db()
    total = ctx.run(ops.count_letters)
    with click.progressbar(length=total, label="Checking stored PDFs", file=sys.stderr,
                           show_pos=True) as bar:
        try:
            report = ops.run_fixity(db, actor(), restart=restart, progress=bar.update)
        except ops.OperationError as exc:
            refused(exc)
    if as_json:
        click.echo(json.dumps({"checked": report.checked, "resumed": report.resumed,
                               "problems": [{"path": p, "problem": k}
                                            for p, k in report.problems]}, indent=1))
    else:
        resumed = " (resumed)" if report.resumed else ""
        click.echo(f"Fixity: {report.checked} letters checked{resumed}, "
                   f"{len(report.problems)} problem(s).")
        for path, problem in report.problems:
            click.echo(f"  {problem:<9} {path}")
    return not report.problems


@main.group()
def fixity():
    """Fixity of the stored PDFs."""


@fixity.command("check")
@click.option("--restart", is_flag=True, help="Start over instead of resuming an interrupted "
              "check.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@pass_ctx
def fixity_check(ctx, restart, as_json):
    """Re-hash every stored PDF against its recorded SHA-256; report and audit each mismatch
    or missing file. Resumes an interrupted check. Exit 1 if any problem."""
    if not check_fixity(ctx, restart, as_json):
        fail("stored files do not match their recorded SHA-256 or are missing "
             "[FIXITY_PROBLEMS]")


@main.command()
@click.option("--days", default=7, show_default=True, type=click.IntRange(0, 100000),
              help="Keep this many days of history.")
@pass_ctx
def pack(ctx, days):
    """Pack the store: remove object revisions older than DAYS and the blob files nothing
    refers to any more."""
    ops.pack(ctx.db(), actor(), days)
    click.echo(f"Store packed, keeping {days} day(s) of history.")
