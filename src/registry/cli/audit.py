"""The audit trail: `registry audit`."""

from pathlib import Path

import click

from registry import settings as registry_settings
from registry.audit_sealing import seal_pending
from registry.checkpoints import (CheckpointError, NotACheckpoint, chain_seqs, check_chain,
                                  check_signature, make_checkpoint, read_file,
                                  write_file)
from registry.cli.base import actor, fail, main, pass_ctx
from registry.mail import MailSettingsError, postman_from_settings
from registry.seal import SealConfig
from registry.signatures import default_trust_dir, load_trust
from registry.signatures.tsa import TsaConfig


# audit -------------------------------------------------------------------------------------

@main.group()
def audit():
    """The audit trail."""


@audit.command("verify")
@click.option("--checkpoint", "checkpoints", multiple=True, metavar="FILE",
              type=click.Path(exists=True, dir_okay=False),
              help="A checkpoint file (repeatable; more may follow as arguments): check its "
                   "seal and timestamp and that the chain still leads to its head.")
@click.option("--seal-cert", "seal_certs", multiple=True, metavar="PEM",
              type=click.Path(exists=True, dir_okay=False),
              help="The registry's seal certificate (repeatable: earlier seals too; default: "
                   "registry.seal.cert's first).")
@click.argument("more", nargs=-1, metavar="[FILE]...",
                type=click.Path(exists=True, dir_okay=False))
@pass_ctx
def audit_verify(ctx, checkpoints, seal_certs, more):
    """Chain the pending records, then check the whole chain; name the first broken record.
    With checkpoints, prove that the chain still contains, unchanged, every record up to each
    one. Exit 1 if anything is broken or refused."""
    if more and not checkpoints:
        raise click.UsageError("checkpoint files are given with --checkpoint FILE [FILE]...")
    files = [*checkpoints, *more]
    checks = _read_checkpoints(ctx, files, seal_certs) if files else []
    seal_pending(ctx.db())
    heads, (ok, checked, bad, problem) = ctx.run(lambda site: (
        site.audit.recomputed_heads(chain_seqs(checks)), site.audit.verify()))
    check_chain(checks, heads)
    if ok:
        click.echo(f"Audit trail intact: {checked} records.")
    for check in checks:
        _print_checkpoint_check(check)
    if not ok:
        where = f"record {bad}" if bad is not None else "the head"
        fail(f"audit trail broken at {where}: {problem} ({checked} records before it are "
             "intact)")
    if not all(check.ok for check in checks):
        fail(f"{sum(not check.ok for check in checks)} of {len(checks)} checkpoints do not "
             "hold [CHECKPOINT_FAILED]")


def _read_checkpoints(ctx, files, seal_certs):
    """Check each checkpoint file's seal and timestamp; a file that is no checkpoint, or no
    seal certificate to compare with, is wrong usage (exit 2)."""
    configured = registry_settings.seal(ctx.settings)
    pems = seal_certs or ([configured["cert"]] if configured else [])
    if not pems:
        raise click.UsageError("give --seal-cert PEM: the registry's seal is not configured "
                               "(registry.seal.cert)")
    seals = set()
    for pem in pems:
        try:
            seals.add(SealConfig(cert=pem).certificates()[0])
        except (OSError, ValueError, IndexError):
            raise click.BadParameter(f"{pem} holds no PEM certificate",
                                     param_hint="--seal-cert")
    trust = load_trust(default_trust_dir(ctx.settings))
    tsa = TsaConfig.from_settings(ctx.settings) or TsaConfig(url="")
    anchors = tsa.anchors(trust)
    checks = []
    for path in files:
        try:
            statement, signature = read_file(Path(path).read_bytes())
        except NotACheckpoint as exc:
            raise click.BadParameter(f"{path}: {exc}", param_hint="--checkpoint")
        checks.append(check_signature(path, statement, signature, seals, trust, anchors))
    return checks


def _print_checkpoint_check(check):
    statement = check.statement
    what = (f"checkpoint of record {statement['seq']} (head {statement['head'][:16]}…, "
            f"{statement['time']})")
    if check.ok:
        click.echo(f"{check.name}: HOLDS  {what}, sealed by {check.signer}, timestamped "
                   f"{check.timestamp}: the chain still contains records 1 to "
                   f"{statement['seq']} unchanged.")
        return
    click.echo(f"{check.name}: {'BROKEN' if check.chain_checked else 'REFUSED'}  {what}")
    for code, message in check.problems:
        click.echo(f"    {code}: {message}")


@audit.command("checkpoint")
@click.option("--out", metavar="FILE", type=click.Path(dir_okay=False, writable=True),
              help="Write the checkpoint file here too.")
@pass_ctx
def audit_checkpoint(ctx, out):
    """Sign the audit chain's head with the registry's seal, timestamped, now: keep it, write
    it into registry.audit.checkpoint_dir (and FILE) and mail it to
    registry.audit.checkpoint_mail_to. Exit 1 if it cannot be made."""
    try:
        postman = postman_from_settings(ctx.settings)
    except MailSettingsError as exc:
        fail(str(exc))
    try:
        checkpoint, path = make_checkpoint(ctx.db(), ctx.settings, actor=actor(),
                                           postman=postman)
    except CheckpointError as exc:
        fail(f"{exc} [{exc.code}]")
    click.echo(f"Checkpoint {checkpoint.number}: record {checkpoint.seq}, head "
               f"{checkpoint.head}, timestamped {checkpoint.timestamp}.")
    written = [path] if path else []
    if out:
        try:
            written.append(write_file(checkpoint, out))
        except OSError as exc:
            fail(f"checkpoint {checkpoint.number} is kept, but {out} could not be written: "
                 f"{exc.strerror} [NOT_WRITTEN]")
    for target in written:
        click.echo(f"  written to {target}")
    if path is None:
        folder = registry_settings.checkpoint_dir(ctx.settings)
        fail(f"checkpoint {checkpoint.number} is kept (the audit page offers it), but its file "
             f"could not be written into {folder} [NOT_WRITTEN]")
