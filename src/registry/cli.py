"""The `registry` command.

    registry [-c INI] [--data-dir DIR] COMMAND ...

Commands that change data work while `registry serve` runs: they reach the store through the
ZEO socket the server opened (or open the files directly when nothing serves them). Errors in
what was asked print a message and exit 1; wrong usage exits 2.
"""
import getpass
import json
import os
import signal
import sys
from pathlib import Path

import click
import transaction

from registry import paths
from registry import settings as registry_settings
from registry.audit_sealing import seal_pending
from registry.errors import RegistryError
from registry.i18n import translate
from registry.store import EmbeddedStore, StoreBusy, open_db, site_of

DEFAULT_CONFIG = "etc/development.ini"


class Context:
    """What the group options decided: the settings, and the database once opened."""

    def __init__(self, config_path, data_dir):
        self.config_path, self.packaged = self._resolve_config(config_path)
        from pyramid.paster import get_appsettings

        raw = dict(get_appsettings(str(self.config_path), name="main"))
        if not data_dir and self.packaged:
            # The packaged ini sits inside the installed package: keep data out of it.
            data_dir = "var"
        self.settings = registry_settings.prepare(raw, chosen_data_dir=data_dir)
        self._db = None
        self.applied = []

    @staticmethod
    def _resolve_config(config_path):
        if config_path is not None:
            path = Path(config_path)
            if not path.is_file():
                raise click.BadParameter(f"no such file: {config_path}", param_hint="-c/--config")
            return path.resolve(), False
        local = Path(DEFAULT_CONFIG)
        if local.is_file():
            return local.resolve(), False
        return paths.shipped("etc") / "development.ini", True

    @property
    def data_dir(self):
        return self.settings["registry.data_dir"]

    def embedded(self):
        return None if self.settings.get("zodbconn.uri") else EmbeddedStore(self.data_dir)

    def db(self, create=False):
        """Open the store (once). Without `create`, refuse a data directory with no registry."""
        if self._db is None:
            store = self.embedded()
            if store is not None and not create and not store.exists():
                fail(f"no registry in {self.data_dir}; run `registry init` first "
                     "(or give --data-dir / -c)")
            try:
                self._db, _server = open_db(self.settings, serve=False)
            except StoreBusy as exc:
                fail(str(exc))
            from registry.resources import bootstrap

            self.applied = bootstrap(self._db)
        return self._db

    def run(self, fn):
        """Run fn(site) in a transaction (retried on conflicts with a running server); return
        its result. A RegistryError aborts the transaction and exits 1."""
        tm = transaction.TransactionManager()
        conn = self.db().open(transaction_manager=tm)
        try:
            for attempt in tm.attempts(5):
                with attempt:
                    result = fn(site_of(conn))
        except RegistryError as exc:
            fail(f"{translate(exc.message)} [{exc.code}]")
        finally:
            conn.close()
        seal_pending(self.db())
        return result

    def close(self):
        if self._db is not None:
            self._db.close()


def fail(message):
    click.echo(f"Error: {message}", err=True)
    sys.exit(1)


def actor():
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def read_password(from_stdin, confirm=True):
    """The first line of standard input with --password-stdin, else a hidden prompt."""
    if from_stdin:
        line = sys.stdin.readline()
        if not line:
            fail("--password-stdin: standard input is empty")
        return line.rstrip("\r\n")
    if not sys.stdin.isatty():
        fail("give --password-stdin to read the password from standard input")
    return click.prompt("Password", hide_input=True, confirmation_prompt=confirm)


pass_ctx = click.make_pass_decorator(Context)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-c", "--config", "config_path", metavar="INI",
              help=f"Settings file (default: {DEFAULT_CONFIG}, else the packaged one).")
@click.option("--data-dir", metavar="DIR", envvar="REGISTRY_DATA_DIR",
              help="Data directory: Data.fs, blobs, index, logs (default: var/ beside the ini; "
                   "env REGISTRY_DATA_DIR).")
@click.pass_context
def main(ctx, config_path, data_dir):
    """Registry: records registry and exchange for digitally signed official letters."""
    ctx.obj = Context(config_path, data_dir)
    ctx.call_on_close(ctx.obj.close)


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
    from registry.demo import seed, seed_letters
    from registry.signatures import Gate, GateConfig

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
    from registry.demo import DEMO_PASSWORD, demo_accounts
    from registry.demo_pki import DEMO_PIN

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
    from registry.demo import prepare_pki

    pki, conf = prepare_pki(ctx.data_dir)
    _print_demo(_seed_demo(ctx.db(create=True), ctx.settings, pki), conf)


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

    from registry import main as make_app

    probe = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
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
        from registry.demo import prepare_pki

        pki, conf = prepare_pki(ctx.data_dir)
    try:
        app = make_app({"__file__": str(ctx.config_path)}, **ctx.settings)
    except StoreBusy as exc:
        fail(str(exc))
    if with_demo:
        _print_demo(_seed_demo(app.registry.getUtility(IDatabase), ctx.settings, pki), conf)
    # SIGTERM stops like Ctrl+C: waitress closes, then atexit closes the store and its socket.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))
    click.echo(f"Registry is serving {ctx.data_dir} at http://{host}:{port}/  (Ctrl+C stops)")
    waitress.serve(app, host=host, port=port, threads=threads, ident="registry")


# organisations -----------------------------------------------------------------------------

@main.group()
def org():
    """Organisations in the directory."""


@org.command("add")
@click.option("--regno", required=True, help="State registration number (7 digits).")
@click.option("--name", required=True, help="Name in Mongolian.")
@click.option("--name-en", default="", help="Name in English.")
@click.option("--kind", required=True, type=click.Choice(["government", "business"]))
@click.option("--parent", default=None, metavar="REGNO", help="Parent organisation.")
@pass_ctx
def org_add(ctx, regno, name, name_en, kind, parent):
    """Register an organisation."""
    from registry.directory import register_organisation

    org = ctx.run(lambda site: register_organisation(site, actor(), regno, name, kind,
                                                     name_en=name_en, parent=parent).regno)
    click.echo(f"Registered {org}.")


@org.command("list")
@click.option("-q", "--query", default="", help="Name words or registration number prefix.")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 100000))
@click.option("--inactive", is_flag=True, help="Include deactivated organisations.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_ctx
def org_list(ctx, query, limit, inactive, as_json):
    """List or search the directory."""

    def find(site):
        orgs, more, total = site.orgs.search(query, size=limit, include_inactive=inactive,
                                             count=True)
        return [o.as_json() for o in orgs], more, total

    rows, more, total = ctx.run(find)
    if as_json:
        click.echo(json.dumps({"items": rows, "items_total": total}, ensure_ascii=False,
                              indent=1))
        return
    for row in rows:
        flag = "" if row["active"] else "  (deactivated)"
        click.echo(f"{row['regno']}  {row['kind']:<10}  {row['name']}{flag}")
    if more:
        click.echo(f"... {total} in all; use --limit to see more", err=True)


# accounts ----------------------------------------------------------------------------------

def _roles(value):
    return [r.strip() for r in value.split(",") if r.strip()]


@main.group()
def user():
    """Accounts."""


@user.command("add")
@click.option("--org", "regno", required=True, metavar="REGNO", help="The account's organisation.")
@click.option("--login", required=True)
@click.option("--role", "roles", required=True, metavar="ROLE[,ROLE]",
              help="records_manager, signatory, clerk, auditor, site_admin.")
@click.option("--name", "fullname", default="", help="Full name.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@pass_ctx
def user_add(ctx, regno, login, roles, fullname, password_stdin):
    """Create an account."""
    from registry.accounts import create_account

    password = read_password(password_stdin)
    limits = registry_settings.account_limits(ctx.settings)
    created = ctx.run(lambda site: create_account(
        site, actor(), regno, login, _roles(roles), password, fullname=fullname, limits=limits,
        may_grant_admin=True).login)
    click.echo(f"Created account {created}.")


@user.command("passwd")
@click.argument("login")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@pass_ctx
def user_passwd(ctx, login, password_stdin):
    """Set an account's password (its sessions end)."""
    from registry.accounts import set_password

    password = read_password(password_stdin)
    ctx.run(lambda site: set_password(site, actor(), site.users.require(login), password))
    click.echo(f"Password of {login} set.")


@user.command("list")
@click.option("--org", "regno", default=None, metavar="REGNO")
@pass_ctx
def user_list(ctx, regno):
    """List accounts (of one organisation with --org)."""

    def rows(site):
        users = site.users.for_org(regno) if regno else list(site.users.values())
        return [(u.login, u.org, ",".join(u.roles), u.active) for u in users]

    for login, org_regno, roles, active in ctx.run(rows):
        click.echo(f"{login:<20} {org_regno}  {roles}{'' if active else '  (deactivated)'}")


@main.group()
def token():
    """API tokens."""


@token.command("create")
@click.option("--login", required=True)
@click.option("--label", default="", help="What the token is for.")
@pass_ctx
def token_create(ctx, login, label):
    """Create an API token; print it alone, once."""
    from registry.accounts import issue_token

    secret = ctx.run(lambda site: issue_token(site, actor(), site.users.require(login), label))
    click.echo(secret)


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
    from registry.signatures import Gate, GateConfig, Trust, TrustError, load_trust
    from registry.signatures.verdict import REASON_MESSAGES

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
    results = []
    for path in files:
        verdict = gate.verify(path, regno)
        results.append({"file": path, **verdict.as_json()})
        if not as_json:
            signer = verdict.signer or {}
            if verdict.accepted:
                click.echo(f"{path}: ACCEPTED  signed by {signer.get('subject')} "
                           f"(regno {signer.get('regno')}, serial {signer.get('serial')})")
            else:
                click.echo(f"{path}: REFUSED  {', '.join(verdict.reasons)}")
                for reason in verdict.reasons:
                    click.echo(f"    {reason}: {translate(REASON_MESSAGES[reason])}")
    if as_json:
        click.echo(json.dumps(results, ensure_ascii=False, indent=1, default=str))
    sys.exit(0 if all(r["accepted"] for r in results) else 1)


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


# search ------------------------------------------------------------------------------------

def _search_service(ctx):
    from registry.search.indexing import SearchService

    return SearchService(ctx.db(), ctx.settings)


def _count_items(ctx, orgs=None):
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
    from registry.resources.organisation import validate_regno

    for regno in orgs:
        try:
            validate_regno(regno)
        except RegistryError as exc:
            raise click.BadParameter(translate(exc.message), param_hint="--org") from None
    missing = [r for r in orgs if not ctx.run(lambda site, r=r: r in site.orgs)]
    if missing:
        fail(f"no organisation with registration number {missing[0]}")
    service = _search_service(ctx)
    try:
        total = _count_items(ctx, list(orgs) or None)
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
    service = _search_service(ctx)
    try:
        with click.progressbar(length=_count_items(ctx), label="Checking", file=sys.stderr,
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
        click.echo(f"{report['documents']} documents in the index; {report['queued']} "
                   f"waiting in the queue.")
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
    """Apply the queued index work now (a running server does this by itself)."""
    service = _search_service(ctx)
    try:
        done = service.drain_all()
    finally:
        service.stop()
    click.echo(f"Applied {done} queued changes.")


if __name__ == "__main__":  # python -m registry.cli
    main()
