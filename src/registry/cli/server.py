"""`registry init`, `registry demo` and `registry serve`."""
import os
import signal
import sys

import click
import transaction

from registry import main as make_app
from registry import settings as registry_settings
from registry.audit_sealing import seal_pending
from registry.checkpoints import ICheckpointSchedule
from registry.demo import DEMO_PASSWORD, demo_accounts, prepare_pki, seed, seed_letters
from registry.demo_pki import DEMO_PIN
from registry.receipts import IReceiptIssuer
from registry.signatures import Gate, GateConfig
from registry.store import StoreBusy, site_of
from registry.cli.base import fail, main, pass_ctx


# init, serve, demo -------------------------------------------------------------------------

@main.command()
@pass_ctx
def init(ctx):
    """Create the store (or bring an existing one to the current schema)."""
    existed = ctx.embedded() is not None and ctx.embedded().exists()
    ctx.db(create=True)
    state = "already initialised" if existed else "initialised"
    evolved = f" (evolved to generation {ctx.applied[-1]})" if existed and ctx.applied else ""
    click.echo(f"Registry {state} in {ctx.data_dir}{evolved}")


def _seed_demo(db, settings, pki):
    added = _seed_demo_data(db, settings, pki)
    seal_pending(db)
    return added


def _seed_demo_data(db, settings, pki):
    """Seed the demo directory, accounts and letters (each part once)."""
    tm = transaction.TransactionManager()
    conn = db.open(transaction_manager=tm)
    gate = Gate(GateConfig(**{**GateConfig.from_settings(settings).__dict__,
                              "trust_dir": str(pki.trust_dir)}))
    try:
        for attempt in tm.attempts(3):
            with attempt:
                site = site_of(conn)
                added = seed(site, limits=registry_settings.account_limits(settings))
                added["letters"] = seed_letters(site, gate, pki, settings)
    finally:
        conn.close()
    return added


def _print_demo(added, conf, out=click.echo):
    out(f"Demo data: {added['orgs']} organisations, {added['accounts']} accounts and "
        f"{added['letters']} letters added.")
    out(f"Demo accounts (password for all: {DEMO_PASSWORD}):")
    for login, regno, roles, _name in demo_accounts():
        out(f"  {login:<10} {','.join(roles):<28} organisation {regno}")
    if conf:
        out(f"Demo e-Tokens (SoftHSM) of these organisations have the PIN {DEMO_PIN}.")
    else:
        out("SoftHSM is not installed: signing on the server with an e-Token is off "
            "(apt-get install softhsm2 turns it on).")


@main.command()
@pass_ctx
def demo(ctx):
    """Seed the demo directory, accounts, PKI, e-Tokens and letters (idempotent)."""
    pki, conf = prepare_pki(ctx.data_dir)
    _print_demo(_seed_demo(ctx.db(create=True), ctx.settings, pki), conf)


def _demo_checkpoint(app):
    """Make today's audit checkpoint now (the schedule would in a minute), and say where."""
    schedule = app.registry.queryUtility(ICheckpointSchedule)
    made = schedule.tick() if schedule is not None else None
    if made is not None:
        click.echo(f"Audit checkpoint {made[0].number} (record {made[0].seq}): {made[1]}")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=6543, show_default=True, type=click.IntRange(1, 65535),
              help="Port to listen on.")
@click.option("--demo", "with_demo", is_flag=True, help="Seed the demo data first.")
@click.option("--threads", default=4, show_default=True, type=click.IntRange(1, 64))
@pass_ctx
def serve(ctx, host, port, with_demo, threads):
    """Serve the registry with waitress (and its store over ZEO for other commands)."""
    import socket

    import waitress
    from pyramid.paster import setup_logging
    from ZODB.interfaces import IDatabase

    probe = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    # As waitress binds: connections of a process that died linger in TIME_WAIT for a minute
    # and must not stop a restart; a live listener on the port still refuses the bind.
    probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        probe.bind((host, port))
    except OSError as exc:
        fail(f"cannot listen on {host}:{port}: {exc.strerror}")
    finally:
        probe.close()
    setup_logging(str(ctx.config_path))
    # main() reads the data directory from the environment as well: make it this one.
    os.environ["REGISTRY_DATA_DIR"] = ctx.data_dir
    if with_demo:
        # The demo's trust directory must exist before the application chooses its trust.
        pki, conf = prepare_pki(ctx.data_dir)
        if registry_settings.tsa(ctx.settings) is None:
            # The demo's own TSA, reached over HTTP like a real one.
            tsa_url = ctx.settings["registry.signature.tsa_url"] = pki.start_tsa().url
            click.echo(f"Demo time-stamping authority: {tsa_url}")
        if registry_settings.public_url(ctx.settings) is None:
            # Receipts and mails link to the verification page at this address.
            ctx.settings["registry.public_url"] = f"http://{host}:{port}"
        if registry_settings.seal(ctx.settings) is None:
            # The registry's seal: audit checkpoints and the delivery receipts (SoftHSM).
            ctx.settings.update(pki.seal_settings())
            click.echo(f"Demo seal: {registry_settings.seal(ctx.settings)['cert']}")
    try:
        app = make_app({"__file__": str(ctx.config_path)}, **ctx.settings)
    except (StoreBusy, registry_settings.SettingsError) as exc:
        fail(str(exc))
    if with_demo:
        _print_demo(_seed_demo(app.registry.getUtility(IDatabase), ctx.settings, pki), conf)
        _demo_checkpoint(app)
        app.registry.getUtility(IReceiptIssuer).wake()  # the seeded letters' receipts
    # SIGTERM stops like Ctrl+C: waitress closes, then atexit closes the store and its socket.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))
    click.echo(f"Registry is serving {ctx.data_dir} at http://{host}:{port}/  (Ctrl+C stops)")
    waitress.serve(app, host=host, port=port, threads=threads, ident="registry")
