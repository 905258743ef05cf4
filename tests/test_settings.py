"""Settings are read, parsed and checked in registry.settings only; a wrong value stops the
application (and the CLI) at start-up with the setting's name."""
import ast
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from registry import main
from registry import settings as registry_settings
from registry.cli import main as cli
from registry.settings import SettingsError

SRC = Path(__file__).resolve().parent.parent / "src" / "registry"
#: A setting's name: the ini's keys all start with one of these.
SETTING = re.compile(r"^(registry|search|mail|zodbconn|pyramid|retry|tm)\.[a-z0-9_.]+$")
#: The places that build the Configurator's settings may write (never read) keys.
BUILDERS = {"__init__.py", "cli/server.py"}


def raw_reads(source, builder=False):
    """(line, key) of every `x.get("key", ...)` and `x["key"]` naming a setting in `source`
    (writes `x["key"] = ...` too, unless `builder`)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        key = None
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr in ("get", "setdefault", "pop") and node.args):
            key = node.args[0]
        elif isinstance(node, ast.Subscript) and not (builder and isinstance(node.ctx, ast.Store)):
            key = node.slice
        if isinstance(key, ast.Constant) and isinstance(key.value, str) \
                and SETTING.match(key.value):
            found.append((node.lineno, key.value))
    return found


def test_the_detector_sees_every_way_of_reading_a_setting():
    source = ('a = settings.get("registry.seal.cert")\n'
              'b = request.registry.settings["search.writer"]\n'
              'ctx.settings["registry.public_url"] = "x"\n'
              'c = values.get("name")\n')
    assert raw_reads(source) == [(1, "registry.seal.cert"), (2, "search.writer"),
                                 (3, "registry.public_url")]
    assert raw_reads(source, builder=True) == [(1, "registry.seal.cert"), (2, "search.writer")]


def test_no_module_but_registry_settings_reads_the_settings_dict():
    reads = []
    for path in sorted(SRC.rglob("*.py")):
        name = path.relative_to(SRC).as_posix()
        if name == "settings.py":
            continue
        reads += [f"{name}:{line}: {key}"
                  for line, key in raw_reads(path.read_text(), builder=name in BUILDERS)]
    assert reads == []


def test_the_defaults_start():
    settings = registry_settings.prepare({})
    registry_settings.check(settings)
    assert registry_settings.signature_gate(settings)["max_size"] == 25 * 1024 * 1024
    assert registry_settings.sending_limits(settings) == (300, 500)
    assert registry_settings.session_timeouts(settings) == (28800, 1800)
    assert registry_settings.tsa(settings) is None and registry_settings.seal(settings) is None


#: (setting, a value the application cannot use), one or more per area.
WRONG = [
    ("registry.accounts_per_org.business", "one"),
    ("registry.secure_cookies", "perhaps"),
    ("registry.session_timeout", "0"),
    ("registry.session_idle_timeout", "half an hour"),
    ("registry.join.attempts", "-1"),
    ("registry.trusted_proxies", "10.0.0.300"),
    ("pyramid.default_locale_name", "ru"),
    ("registry.public_url", "registry.example.mn"),
    ("registry.timezone", "Asia/Ulan_Bator_City"),
    ("search.engine", "lucene"),
    ("search.writer", "sometimes"),
    ("search.commit_ms", "20000"),
    ("search.ocr", "maybe"),
    ("search.log_window", "0"),
    ("search.log_retention", "a day"),
    ("search.poll_seconds", "0"),
    ("registry.stats.paper_cost", "1500₮"),
    ("registry.signature.max_size_mb", "lots"),
    ("registry.signature.timeout", "0"),
    ("registry.signature.memory_mb", "1"),
    ("registry.signature.pades_only", "2"),
    ("registry.signature.fetch_revocation", "sometimes"),
    ("registry.signature.workers", "0"),
    ("registry.pkcs11.timeout", "never"),
    ("registry.pkcs11.token_label", "{org}"),
    ("registry.signature.tsa_url", "tsa.example.mn"),
    ("registry.signature.tsa_timeout", "-5"),
    ("registry.signature.tsa_retry_seconds", "0"),
    ("registry.seal.cert", "/etc/registry/seal.pem"),  # without its key
    ("registry.seal.retry_seconds", "soon"),
    ("mail.host", "smtp.example.mn"),  # without a sender and the public address
    ("registry.notify.digest_hour", "24"),
    ("registry.notify.due_soon_days", "-1"),
    ("registry.notify.due_soon_working_days", "31"),
    ("registry.limits.recipients_per_letter", "0"),
    ("registry.limits.letters_per_day", "many"),
    ("registry.outgoing_number", "{series}/{number}"),
    ("registry.incoming_number", "{n"),
    ("registry.verify.limit", "0"),
    ("registry.verify.window", "ten minutes"),
    ("registry.audit.checkpoint_interval", "30"),
    ("registry.fixity.interval_hours", "-1"),
]


@pytest.mark.parametrize("key, value", WRONG, ids=[key for key, _ in WRONG])
def test_a_wrong_value_stops_the_application_at_start_naming_the_setting(key, value, tmp_path):
    # A token's and a TSA's settings count once the token or the TSA is configured.
    extra = {"registry.pkcs11.module": "/usr/lib/softhsm/libsofthsm2.so",
             "registry.signature.tsa_url": "http://127.0.0.1:20999/"} \
        if key in ("registry.pkcs11.timeout", "registry.pkcs11.token_label",
                   "registry.signature.tsa_timeout") else {}
    with pytest.raises(SettingsError, match=re.escape(key)):
        main({}, **{"registry.data_dir": str(tmp_path), **extra, key: value})
    assert not (tmp_path / "Data.fs").exists()  # refused before the store was opened


def test_the_cli_refuses_a_wrong_setting_naming_it(tmp_path):
    ini = tmp_path / "wrong.ini"
    ini.write_text("[app:main]\nuse = egg:registry\nregistry.signature.workers = none\n")
    result = CliRunner().invoke(cli, ["-c", str(ini), "--data-dir", str(tmp_path / "var"),
                                      "init"])
    assert result.exit_code == 1
    assert "registry.signature.workers must be a whole number from 1 to 64, not 'none'" \
        in result.output
    assert not (tmp_path / "var" / "Data.fs").exists()
