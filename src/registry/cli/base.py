"""The `registry` command's group, its options, and what its commands share."""
import getpass
import sys
from pathlib import Path

import click
import transaction

from registry import paths
from registry import settings as registry_settings
from registry.audit_sealing import seal_pending
from registry.errors import NotFound, RegistryError
from registry.i18n import _, translate
from registry.resources.evolve import bootstrap
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
        try:
            registry_settings.check(self.settings)
        except registry_settings.SettingsError as exc:
            fail(f"{self.config_path}: {exc} [SETTINGS]")
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
        return registry_settings.data_dir(self.settings)

    def embedded(self):
        return None if registry_settings.zodb_uri(self.settings) else EmbeddedStore(self.data_dir)

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


def local_year(settings):
    return registry_settings.local_today(settings).year


def org_of(site, regno):
    org = site.orgs.get(regno)
    if org is None:
        raise NotFound("UNKNOWN_ORG", _("unknown-org", default="There is no organisation with "
                                        "registration number ${regno}.",
                                        mapping={"regno": regno[:20]}))
    return org




def refused(exc):
    fail(f"{exc.message} [{exc.code}]")


def counter(label, every=500):
    """A progress callback for work of unknown length: a running count on standard error."""
    done = [0]

    def update(n):
        done[0] += n
        if done[0] % every < n:
            click.echo(f"{label}: {done[0]}", err=True)

    return update
