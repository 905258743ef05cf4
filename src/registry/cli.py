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
        from registry.demo import prepare_pki

        pki, conf = prepare_pki(ctx.data_dir)
        if not ctx.settings.get("registry.signature.tsa_url"):
            # The demo's own TSA, reached over HTTP like a real one.
            tsa_url = ctx.settings["registry.signature.tsa_url"] = pki.start_tsa().url
            click.echo(f"Demo time-stamping authority: {tsa_url}")
    try:
        app = make_app({"__file__": str(ctx.config_path)}, **ctx.settings)
    except (StoreBusy, registry_settings.SettingsError) as exc:
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


@org.command("suspend")
@click.argument("regno")
@click.option("--lift", is_flag=True, help="Lift the suspension instead.")
@pass_ctx
def org_suspend(ctx, regno, lift):
    """Suspend an organisation (its accounts cannot sign in, so it sends nothing), or lift
    the suspension; audited."""
    from registry.directory import update_organisation
    from registry.errors import NotFound
    from registry.i18n import _

    def change(site):
        org = site.orgs.get(regno)
        if org is None:
            raise NotFound("UNKNOWN_ORG", _("unknown-org", default="There is no organisation "
                           "with registration number ${regno}.", mapping={"regno": regno}))
        update_organisation(site, actor(), org, active=lift)

    ctx.run(change)
    click.echo(f"{'Lifted the suspension of' if lift else 'Suspended'} {regno}.")


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
              help="records_manager, signatory, clerk, auditor, executor, site_admin.")
@click.option("--name", "fullname", default="", help="Full name.")
@click.option("--position", default="", help="Position (shown beside the name on the desk).")
@click.option("--email", default="", help="Where notifications are mailed.")
@click.option("--mail", "mail_mode", type=click.Choice(["immediate", "digest", "none"]),
              default="immediate", show_default=True, help="Mail each notification at once, "
              "once a day in a digest, or not at all.")
@click.option("--language", type=click.Choice(["mn", "en"]), default=None,
              help="The language of the account's mails (default: the registry's).")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@pass_ctx
def user_add(ctx, regno, login, roles, fullname, position, email, mail_mode, language, password_stdin):
    """Create an account."""
    from registry.accounts import create_account, update_preferences

    password = read_password(password_stdin)
    limits = registry_settings.account_limits(ctx.settings)

    def add(site):
        user = create_account(site, actor(), regno, login, _roles(roles), password,
                              fullname=fullname, limits=limits, may_grant_admin=True,
                              position=position)
        update_preferences(site, actor(), user, email=email, mail_mode=mail_mode,
                           language=language or "")
        return user.login

    created = ctx.run(add)
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


# the working-day calendar -------------------------------------------------------------------

@main.group()
def calendar():
    """The working-day calendar: public holidays and declared days off or working days."""


@calendar.command("show")
@click.option("--year", type=int, default=None, help="The year (default: this year).")
@pass_ctx
def calendar_show(ctx, year):
    """List the year's public holidays and the days declared off or working."""
    from registry import workdays

    year = year or registry_settings.local_today(ctx.settings).year
    for day, name in sorted(workdays.public_holidays(year).items()):
        click.echo(f"{day}  holiday  {name}")
    for day, kind, note in ctx.run(lambda site: site.calendar.changes(year)):
        click.echo(f"{day}  {kind:<8} {note}")


@calendar.command("declare")
@click.argument("day")
@click.argument("kind", type=click.Choice(["off", "working"]))
@click.option("--note", required=True, help="Why (the government resolution).")
@pass_ctx
def calendar_declare(ctx, day, kind, note):
    """Declare DAY (YYYY-MM-DD) a day off or a working day; audited."""
    from registry import workdays

    done = ctx.run(lambda site: workdays.declare(site, actor(), day, kind, note))
    click.echo(f"{done} is now a {'day off' if kind == 'off' else 'working day'}.")


@calendar.command("clear")
@click.argument("day")
@pass_ctx
def calendar_clear(ctx, day):
    """Forget what was declared for DAY; audited."""
    from registry import workdays

    done = ctx.run(lambda site: workdays.clear(site, actor(), day))
    click.echo(f"{done}: nothing declared any more.")


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
            judged = verdict.evidence.get("judged")
            if judged:
                why = {"timestamp": "the time of its signature timestamp",
                       "first_acceptance": "the registry's first acceptance",
                       "now": "now: no evidence of an earlier time"}[judged["basis"]]
                click.echo(f"    judged as of {judged['at']} ({why}); the certificate is valid "
                           f"{signer.get('not_before')} to {signer.get('not_after')}")
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

# archive handover, retention, disposal, holds ------------------------------------------------

def _local_year(settings):
    from datetime import datetime, timezone
    from zoneinfo import ZoneInfo

    from registry.archive.selection import DEFAULT_TIMEZONE

    zone = ZoneInfo(settings.get("registry.timezone", DEFAULT_TIMEZONE))
    return datetime.now(timezone.utc).astimezone(zone).year


def _org(site, regno):
    from registry.errors import NotFound
    from registry.i18n import _

    org = site.orgs.get(regno)
    if org is None:
        raise NotFound("UNKNOWN_ORG", _("unknown-org", default="There is no organisation with "
                                        "registration number ${regno}.",
                                        mapping={"regno": regno[:20]}))
    return org


def _handover(site, regno, handover_id):
    from registry.errors import NotFound
    from registry.i18n import _

    record = _org(site, regno)["handovers"].get(handover_id)
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
    from registry.archive import selection as sel

    def look(site):
        org = _org(site, regno)
        selection = sel.make_selection(org, year, series, supplement)
        return sel.preview(org, selection, ctx.settings)

    preview = ctx.run(look)
    _print_preview(preview)
    if check_signatures:
        _check_signatures(ctx, regno, preview.selection, preview.total)


def _check_signatures(ctx, regno, selection, total):
    from registry.archive import selection as sel
    from registry.signatures import Gate

    gate = Gate.from_settings(ctx.settings, db=ctx.db())

    def check(site):
        org = _org(site, regno)
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
    from registry.archive import handover as ho
    from registry.archive import selection as sel
    from registry.signatures import Gate

    if dry_run:
        def look(site):
            org = _org(site, regno)
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
    from registry.archive import handover as ho

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
        records = sorted(_org(site, regno)["handovers"].values(), key=lambda h: h.created,
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
    from registry.archive.handover import confirm_receipt

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
    from registry.archive.retention import set_retention

    rule = ctx.run(lambda site: set_retention(site, actor(), _org(site, regno), series, value,
                                              title))
    click.echo(f"Series {rule.series}: {rule.retention}.")


@retention.command("list")
@click.option("--org", "regno", required=True, metavar="REGNO")
@pass_ctx
def retention_list(ctx, regno):
    """The file plan's retention classes (unlisted series are permanent)."""
    rules = ctx.run(lambda site: list(_org(site, regno).retention.series.values()))
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
    from registry.archive.retention import disposal_list

    groups = ctx.run(lambda site: disposal_list(_org(site, regno),
                                                _local_year(ctx.settings)))
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
    from registry.archive.retention import approve_disposal

    act = ctx.run(lambda site: approve_disposal(site, actor(), _org(site, regno), series, year,
                                                _local_year(ctx.settings), ctx.settings))
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
    from registry.archive.retention import place_hold

    placed = ctx.run(lambda site: place_hold(site, actor(), _org(site, regno), item, reason))
    click.echo(f"Hold placed on {placed.key}.")


@hold.command("lift")
@click.option("--org", "regno", required=True, metavar="REGNO")
@click.argument("item", metavar="outbox/ID|inbox/ID")
@click.option("--reason", default="")
@pass_ctx
def hold_lift(ctx, regno, item, reason):
    """Lift a hold (audited)."""
    from registry.archive.retention import lift_hold

    lifted = ctx.run(lambda site: lift_hold(site, actor(), _org(site, regno), item, reason))
    click.echo(f"Hold lifted from {lifted.key}.")


@hold.command("list")
@click.option("--org", "regno", required=True, metavar="REGNO")
@pass_ctx
def hold_list(ctx, regno):
    """The letters under a hold."""
    holds = ctx.run(lambda site: list(_org(site, regno).retention.holds.values()))
    if not holds:
        click.echo("No letter is under a hold.")
    for h in holds:
        click.echo(f"{h.key}  {h.placed_at[:10]}  {h.placed_by}  {h.reason}")


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
    service = _search_service(ctx)
    try:
        done = service.drain_all()
    finally:
        service.stop()
    click.echo(f"Applied {done} changes of the log.")


# operations: backup, restore, fixity, pack (the logic is in registry.operations) ----------

def _refused(exc):
    fail(f"{exc.message} [{exc.code}]")


def _counter(label, every=500):
    """A progress callback for work of unknown length: a running count on standard error."""
    done = [0]

    def update(n):
        done[0] += n
        if done[0] % every < n:
            click.echo(f"{label}: {done[0]}", err=True)

    return update


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
    from registry import operations as ops

    try:
        data_path, blob_path = ops.storage_files(ctx.settings, data_fs, blob_dir)
        made = ops.backup(data_path, blob_path, repository, full=full,
                          progress=_counter("Copying new blob files"))
    except ops.OperationError as exc:
        _refused(exc)
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
    from registry import operations as ops

    if ctx.embedded() is None:
        fail("restore writes the embedded store of --data-dir; the settings name another "
             "store (zodbconn.uri): restore into a data directory and serve its files "
             "[STORAGE_NOT_FILE]")
    try:
        data_fs = ops.restore(repository, ctx.data_dir, date=date,
                              progress=_counter("Copying blob files"))
    except ops.OperationError as exc:
        _refused(exc)
    click.echo(f"Restored {data_fs}.")
    db = ctx.db()
    seal_pending(db)
    ok, checked, bad, problem = ctx.run(lambda site: site.audit.verify())
    if not ok:
        fail(f"the restored audit trail is broken at record {bad}: {problem} [AUDIT_BROKEN]")
    click.echo(f"Audit trail intact: {checked} records.")
    if not _fixity(ctx, restart=True):
        sys.exit(1)
    service = _search_service(ctx)
    try:
        with click.progressbar(length=_count_items(ctx), label="Indexing letters",
                               file=sys.stderr, show_pos=True) as bar:
            indexed = service.reindex(progress=bar.update)
    finally:
        service.stop()
    click.echo(f"Search index rebuilt: {indexed} documents.")
    ctx.run(lambda site: site.audit.append(actor(), "store.restore", target="/", detail={
        "backup": str(Path(repository).resolve()), "date": date}))


def _fixity(ctx, restart, as_json=False):
    """Run the fixity check with a progress bar, print its report; return True if clean."""
    from registry import operations as ops

    db = ctx.db()
    total = ctx.run(ops.count_letters)
    with click.progressbar(length=total, label="Checking stored PDFs", file=sys.stderr,
                           show_pos=True) as bar:
        try:
            report = ops.run_fixity(db, actor(), restart=restart, progress=bar.update)
        except ops.OperationError as exc:
            _refused(exc)
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
    if not _fixity(ctx, restart, as_json):
        fail("stored files do not match their recorded SHA-256 or are missing "
             "[FIXITY_PROBLEMS]")


@main.group()
def timestamps():
    """The registry's preservation timestamps (RFC 3161, from registry.signature.tsa_url)."""


@timestamps.command("stamp")
@pass_ctx
def timestamps_stamp(ctx):
    """Obtain the preservation timestamps due now (the server does this after every writing
    request and every minute). Exit 1 if the TSA gave none of those it was asked for."""
    from registry.preservation import stamp_due
    from registry.signatures import default_trust_dir, load_trust
    from registry.signatures.tsa import TsaConfig

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


@main.command()
@click.option("--days", default=7, show_default=True, type=click.IntRange(0, 100000),
              help="Keep this many days of history.")
@pass_ctx
def pack(ctx, days):
    """Pack the store: remove object revisions older than DAYS and the blob files nothing
    refers to any more."""
    from registry import operations as ops

    ops.pack(ctx.db(), actor(), days)
    click.echo(f"Store packed, keeping {days} day(s) of history.")


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
    from registry.i18n import localizer_for
    from registry.journal import Journal, parse_period
    from registry.views.journal import export_file

    settings = ctx.settings
    try:
        first, last = parse_period(first, last, registry_settings.local_today(settings))
    except ValueError as exc:
        raise click.BadParameter("a period runs from a date to the same or a later date, "
                                 "each YYYY-MM-DD", param_hint=f"--{exc}") from None

    def write(site):
        book = Journal(site, _org(site, regno), direction, first, last,
                       registry_settings.zone(settings), series=series)
        return export_file(book, fmt, out, localizer_for(language).translate)

    count = ctx.run(write)
    click.echo(f"{count} entries written to {out}")


# trust -------------------------------------------------------------------------------------

@main.group()
def trust():
    """Trust anchors, issuing CAs and CRLs, kept in the store for every app machine."""


def _trust_change(ctx, change, action, detail):
    """Run change(store) -> result in a transaction, audited as `action`; TrustError exits 1."""
    from registry.signatures.trust import TrustError

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
    from registry.signatures.truststore import refresh

    outcomes = _trust_change(ctx, lambda store: refresh(store, actor(), urls), "trust.refresh",
                             lambda outcomes: {"outcomes": [list(o) for o in outcomes]})
    for url, outcome in outcomes:
        click.echo(f"{outcome}: {url}")
    if any(outcome not in ("updated", "current") for _url, outcome in outcomes):
        sys.exit(1)


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


if __name__ == "__main__":  # python -m registry.cli
    main()
