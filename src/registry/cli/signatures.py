"""Signatures: `registry verify`, the trust anchors and CRLs (`registry trust`), preservation
timestamps (`registry timestamps`)."""
import json
import sys
from pathlib import Path

import click

from registry.errors import RegistryError
from registry.i18n import translate
from registry.cli.base import actor, fail, main, pass_ctx
from registry.preservation import stamp_due
from registry.receipts import describe, issue_due, summary
from registry.seal import SealConfig
from registry.signatures import Gate, GateConfig, Trust, TrustError, default_trust_dir, load_trust
from registry.signatures.truststore import refresh
from registry.signatures.tsa import TsaConfig
from registry.signatures.verdict import REASON_MESSAGES


# signatures --------------------------------------------------------------------------------

@main.command()
@click.option("--trust-root", "roots", multiple=True, metavar="PEM",
              type=click.Path(exists=True, dir_okay=False),
              help="A trusted CA certificate (repeatable); default: the trust directory's.")
@click.option("--crl", "crls", multiple=True, metavar="FILE",
              type=click.Path(exists=True, dir_okay=False),
              help="A CRL, PEM or DER (repeatable); default: the trust directory's.")
@click.option("--org", "regno", default=None, metavar="REGNO",
              help="The organisation that must have signed.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list of verdicts.")
@click.argument("files", nargs=-1, required=True,
                type=click.Path(exists=True, dir_okay=False))
@pass_ctx
def verify(ctx, roots, crls, regno, as_json, files):
    """Check the signature of each PDF FILE. Exit 0 if all are accepted, 1 if any is not."""
    config = GateConfig.from_settings(ctx.settings)
    try:
        configured = load_trust(config.trust_dir) if not (roots and crls) else None
        given = load_trust(None, extra_roots=roots, extra_crls=crls)
    except TrustError as exc:
        fail(str(exc))
    source = given if roots else configured
    trust = Trust(roots=source.roots, intermediates=source.intermediates,
                  crls=given.crls if crls else configured.crls,
                  files=given.files + (configured.files if configured else ()))
    if not trust.roots:
        fail(f"no trusted certificate: give --trust-root or put CA certificates in "
             f"{config.trust_dir}")
    gate = Gate(config, trust=trust)
    seal = SealConfig.from_settings(ctx.settings)
    results = []
    for path in files:
        verdict = gate.verify(path, regno)
        found = describe(Path(path).read_bytes(), verdict, seal)
        results.append({"file": path, **verdict.as_json(), "receipt": found})
        if found is not None and found["registry_seal"] is False:
            results[-1]["accepted"] = False  # evidence of the registry, not sealed by it
        if not as_json:
            signer = verdict.signer or {}
            if verdict.accepted:
                click.echo(f"{path}: ACCEPTED  signed by {signer.get('subject')} "
                           f"(regno {signer.get('regno')}, serial {signer.get('serial')})")
            else:
                click.echo(f"{path}: REFUSED  {', '.join(verdict.reasons)}")
                for reason in verdict.reasons:
                    click.echo(f"    {reason}: {translate(REASON_MESSAGES[reason])}")
            judged = verdict.evidence.get("judged")
            if judged:
                why = {"timestamp": "the time of its signature timestamp",
                       "first_acceptance": "the registry's first acceptance",
                       "now": "now: no evidence of an earlier time"}[judged["basis"]]
                click.echo(f"    judged as of {judged['at']} ({why}); the certificate is valid "
                           f"{signer.get('not_before')} to {signer.get('not_after')}")
            if found is not None:
                click.echo("    " + {True: "the registry's seal: a receipt of the registry",
                                     False: "NOT the registry's seal: this receipt is not the "
                                            "registry's",
                                     None: "a receipt; no seal is configured here to compare "
                                           "(registry.seal.cert)"}[found["registry_seal"]])
                click.echo(f"    attests: {summary(found['facts'])}")
    if as_json:
        click.echo(json.dumps(results, ensure_ascii=False, indent=1, default=str))
    sys.exit(0 if all(r["accepted"] for r in results) else 1)


@main.group()
def timestamps():
    """The registry's preservation timestamps (RFC 3161, from registry.signature.tsa_url)."""


@timestamps.command("stamp")
@pass_ctx
def timestamps_stamp(ctx):
    """Obtain the preservation timestamps due now (the server does this after every writing
    request and every minute). Exit 1 if the TSA gave none of those it was asked for."""
    tsa = TsaConfig.from_settings(ctx.settings)
    if tsa is None:
        fail("no time-stamping authority is configured (registry.signature.tsa_url) "
             "[NO_TSA]")
    stamped, failed = stamp_due(ctx.db(), tsa, load_trust(default_trust_dir(ctx.settings)),
                                limit=100000)
    pending = ctx.run(lambda site: site.timestamps.pending_count())
    click.echo(f"Preservation timestamps: {stamped} obtained, {failed} failed, "
               f"{pending} pending.")
    if failed and not stamped:
        fail("the time-stamping authority gave no timestamp [TSA_UNAVAILABLE]")


# trust -------------------------------------------------------------------------------------

@main.group()
def receipts():
    """The registry's delivery evidence (receipts signed with its seal, registry.seal.*)."""


@receipts.command("issue")
@pass_ctx
def receipts_issue(ctx):
    """Make the receipts due now (the server does this after every writing request and every
    minute). Exit 1 if the seal made none of those it was asked for."""
    seal = SealConfig.from_settings(ctx.settings)
    if seal is None:
        fail("no seal is configured (registry.seal.cert) [NO_SEAL]")
    issued, failed = issue_due(ctx.db(), seal, TsaConfig.from_settings(ctx.settings),
                               load_trust(default_trust_dir(ctx.settings)), ctx.settings,
                               limit=100000)
    pending = ctx.run(lambda site: len(site.receipt_queue))
    click.echo(f"Receipts: {issued} made, {failed} failed, {pending} pending.")
    if failed and not issued:
        fail("the seal made no receipt [SEAL_FAILED]")


@main.group()
def trust():
    """Trust anchors, issuing CAs and CRLs, kept in the store for every app machine."""


def _trust_change(ctx, change, action, detail):
    """Run change(store) -> result in a transaction, audited as `action`; TrustError exits 1."""
    def run(site):
        try:
            result = change(site.trust_store)
        except TrustError as exc:
            raise RegistryError("TRUST_REFUSED", str(exc)) from None
        site.audit.append(actor(), action, target="/trust", detail=detail(result))
        return result

    return ctx.run(run)


@trust.command("add")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@pass_ctx
def trust_add(ctx, files):
    """Add certificates (.pem, .crt, .cer: self-signed ones are anchors) or CRLs (.crl,
    .crl.pem: each replaces an older CRL of its issuer)."""
    for path in files:
        data = Path(path).read_bytes()
        added = _trust_change(ctx, lambda store: store.add(Path(path).name, data, actor()),
                              "trust.add", lambda added: {
                                  "file": Path(path).name,
                                  "added": [f"{kind}:{digest}" for digest, kind in added]})
        for digest, kind in added:
            click.echo(f"added {kind} {digest[:16]} ({Path(path).name})")
        if not added:
            click.echo(f"{Path(path).name}: kept already")


@trust.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the list as JSON.")
@pass_ctx
def trust_list(ctx, as_json):
    """List the trusted files: SHA-256, kind (anchor, ca, crl), name, who added them when."""
    rows = ctx.run(lambda site: site.trust_store.entries())
    if as_json:
        keys = ("sha256", "kind", "name", "added_by", "added_at")
        click.echo(json.dumps([dict(zip(keys, row)) for row in rows], indent=1))
        return
    for digest, kind, name, added_by, added_at in rows:
        click.echo(f"{digest[:16]}  {kind:<6}  {added_at[:19]}  {added_by:<14}  {name}")
    if not rows:
        click.echo("No trust kept in the store: the trust directory answers.")


@trust.command("remove")
@click.argument("sha256")
@pass_ctx
def trust_remove(ctx, sha256):
    """Remove the file whose SHA-256 starts with SHA256 (8 characters at least)."""
    kind, name = _trust_change(ctx, lambda store: store.remove(sha256), "trust.remove",
                               lambda removed: {"sha256": sha256, "kind": removed[0],
                                                "name": removed[1]})
    click.echo(f"removed {kind} {name}")


@trust.command("refresh")
@click.option("--url", "urls", multiple=True, help="Also fetch the CRL at this address "
              "(repeatable); the CRL distribution points of the kept certificates always are.")
@pass_ctx
def trust_refresh(ctx, urls):
    """Fetch the CRLs and keep each one that a kept CA signed and that is newer than the one
    kept for its issuer. Exit 1 if any address failed."""
    outcomes = _trust_change(ctx, lambda store: refresh(store, actor(), urls), "trust.refresh",
                             lambda outcomes: {"outcomes": [list(o) for o in outcomes]})
    for url, outcome in outcomes:
        click.echo(f"{outcome}: {url}")
    if any(outcome not in ("updated", "current") for _url, outcome in outcomes):
        sys.exit(1)
