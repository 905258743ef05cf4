"""Settings: defaults, parsing, and the data directory.

The one place that reads the ini's `[app:main]` settings (strings) and the REGISTRY_*
environment variables: each accessor below names its setting and default, parses it and
raises SettingsError naming the setting for a value it cannot use; the rest of the code asks
these accessors and never reads the settings dict itself (tests/test_settings.py checks).
`check(settings)` asks every one of them, so that `main()` and the CLI refuse to start on a
wrong value instead of failing on the first request that needs it.
"""
import ipaddress
import os
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError
import secrets
from pathlib import Path

from registry.paths import shipped

#: The search engines (`search.engine`, the first the default), and the least time between two
#: index commits of the writer thread (`search.commit_ms`): the changes of every request that
#: commits meanwhile are applied together.
ENGINES = ("tantivy", "whoosh")
COMMIT_MS = 250

#: How audit records are sealed (`registry.audit.sealer`, see `audit_sealing`), and the least
#: time between two seals of the sealer thread (`registry.audit.seal_ms`).
SEALERS = ("thread", "inline")
SEAL_MS = 250

DEFAULTS = {
    "pyramid.default_locale_name": "mn",
    # A request that conflicts with a concurrent one is replayed (the gate's verdict is reused).
    "retry.attempts": "10",
    # Accounts an organisation may hold, per kind ("unlimited" for none): a business entity
    # holds one account, as in the system the registry replaces.
    "registry.accounts_per_org.business": "1",
    "registry.accounts_per_org.government": "unlimited",
    "registry.secure_cookies": "false",
    # Sign-in sessions: at most this many seconds after sign-in, and this many idle.
    "registry.session_timeout": "28800",
    "registry.session_idle_timeout": "1800",
    # Join forms issued plus refused uploads an address may make in an hour (registry.join).
    "registry.join.attempts": "20",
}


def data_dir(settings, chosen=None):
    """The data directory: `chosen` (the CLI's --data-dir), else REGISTRY_DATA_DIR, else the
    `registry.data_dir` setting, else ./var."""
    value = (chosen or os.environ.get("REGISTRY_DATA_DIR") or settings.get("registry.data_dir")
             or "var")
    return str(Path(value).expanduser().resolve())


def data_directory(settings):
    """The data directory of prepared settings (`prepare` resolved it), else as `data_dir`."""
    return (settings or {}).get("registry.data_dir") or data_dir(settings or {})


def account_limits(settings):
    """Return {kind: max accounts or None}: `registry.accounts_per_org.business` and
    `.government`, a whole number or "unlimited"."""
    limits = {}
    for kind in ("business", "government"):
        key = f"registry.accounts_per_org.{kind}"
        raw = _raw(settings, key, "unlimited")
        limits[kind] = (None if raw.lower() in ("unlimited", "none")
                        else _number(settings, key, None, int, low=0))
    return limits


class SettingsError(ValueError):
    """A setting the application needs is missing or wrong: it refuses to start. The message
    names the setting."""


class MailSettingsError(SettingsError):
    """Mail is asked for but not configured completely."""


_TRUE = ("true", "yes", "on", "1", "t", "y")
_FALSE = ("false", "no", "off", "0", "f", "n")


def _raw(settings, key, default=None):
    """The setting `key` as a stripped string, `default` when it is missing or blank."""
    value = (settings or {}).get(key)
    if value is None or str(value).strip() == "":
        return default
    return str(value).strip()


def _number(settings, key, default, kind=float, low=None, high=None):
    """The setting `key` as an int or float (`kind`) within [low, high]."""
    raw = _raw(settings, key, default)
    try:
        value = kind(raw)
    except (TypeError, ValueError):
        value = None
    if value is None or (low is not None and value < low) or (high is not None and value > high):
        bounds = (f" from {low}" if low is not None else "") + \
            (f" to {high}" if high is not None else "")
        noun = "a whole number" if kind is int else "a number"
        raise SettingsError(f"{key} must be {noun}{bounds}, not {raw!r}")
    return value


def _flag(settings, key, default=False):
    """The setting `key` as a boolean (true/false, yes/no, on/off, 1/0)."""
    raw = _raw(settings, key)
    if raw is None:
        return default
    if raw.lower() in _TRUE:
        return True
    if raw.lower() in _FALSE:
        return False
    raise SettingsError(f"{key} must be true or false, not {raw!r}")


def shared_store(settings):
    """True when `zodbconn.uri` names a store other processes or machines may share (ZEO,
    RelStorage, ...): anything but a FileStorage or memory of this process."""
    uri = zodb_uri(settings) or ""
    return bool(uri) and uri.split(":", 1)[0] not in ("file", "memory")


def zodb_uri(settings):
    """`zodbconn.uri`: the store (zodburi), or None for the embedded store in the data
    directory."""
    return _raw(settings, "zodbconn.uri")


def session_secret(settings):
    """The session-signing secret: the `registry.session_secret` setting, else the
    REGISTRY_SESSION_SECRET environment variable, else (the embedded store only) a random one
    kept (mode 0600) in the data directory, made on first use. Never logged. Raises
    SettingsError when the store is shared and no secret is given: every process must sign
    sessions with the same one, or a cookie made by one is refused by the others."""
    configured = (_raw(settings, "registry.session_secret")
                  or os.environ.get("REGISTRY_SESSION_SECRET"))
    if configured:
        return configured
    if shared_store(settings):
        raise SettingsError(
            "registry.session_secret (or REGISTRY_SESSION_SECRET) is required when the store is "
            "shared (zodbconn.uri): every app process and machine must sign sessions with the "
            "same secret. Make one with: python -c 'import secrets; "
            "print(secrets.token_urlsafe(48))'")
    path = Path(data_directory(settings)) / "session_secret"
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(48))
    return path.read_text().strip()


def prepare(settings, chosen_data_dir=None):
    """Return a copy of `settings` with defaults filled in and the data directory resolved."""
    merged = {**DEFAULTS, **settings}
    merged["registry.data_dir"] = data_dir(merged, chosen_data_dir)
    return merged


def secure_cookies(settings):
    """`registry.secure_cookies`: cookies only over HTTPS (default false)."""
    return _flag(settings, "registry.secure_cookies")


def session_timeouts(settings):
    """(lifetime, idle) in seconds of a sign-in session: `registry.session_timeout` (28800)
    and `registry.session_idle_timeout` (1800)."""
    return (_number(settings, "registry.session_timeout", DEFAULTS["registry.session_timeout"],
                    int, low=1),
            _number(settings, "registry.session_idle_timeout",
                    DEFAULTS["registry.session_idle_timeout"], int, low=1))


def join_attempts(settings):
    """`registry.join.attempts`: join forms issued plus refused uploads an address may make in
    an hour (20)."""
    return _number(settings, "registry.join.attempts", DEFAULTS["registry.join.attempts"], int,
                   low=1)


def trusted_proxies(settings):
    """`registry.trusted_proxies`: addresses or networks (CIDR) of the proxies whose
    X-Forwarded-For is believed, separated by spaces or commas (default: none)."""
    raw = _raw(settings, "registry.trusted_proxies", "")
    try:
        return tuple(ipaddress.ip_network(item, strict=False)
                     for item in raw.replace(",", " ").split())
    except ValueError as exc:
        raise SettingsError(f"registry.trusted_proxies: {exc}") from None


def default_locale(settings):
    """`pyramid.default_locale_name`: the language of pages and mails for whoever has not
    chosen one ("mn" or "en"; default "mn")."""
    locale = _raw(settings, "pyramid.default_locale_name", "mn")
    if locale not in ("mn", "en"):
        raise SettingsError(f"pyramid.default_locale_name must be mn or en, not {locale!r}")
    return locale


def public_url(settings):
    """`registry.public_url`: the address the public reaches the registry at (links in mails
    and receipts), without a trailing slash; None when not set."""
    url = _raw(settings, "registry.public_url")
    if url is None:
        return None
    if not url.startswith(("http://", "https://")):
        raise SettingsError(f"registry.public_url must be an http(s) address, not {url!r}")
    return url.rstrip("/")


DEFAULT_TIMEZONE = "Asia/Ulaanbaatar"
SEARCH_WRITERS = ("thread", "inline", "off")


def timezone_name(settings):
    """The registry's time zone (`registry.timezone`): numbers' years, dates, "today"."""
    name = _raw(settings, "registry.timezone", DEFAULT_TIMEZONE)
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise SettingsError(f"registry.timezone must be a time zone such as "
                            f"{DEFAULT_TIMEZONE}, not {name!r}") from None
    return name


def zone(settings):
    return ZoneInfo(timezone_name(settings))


def local_today(settings):
    """Today's date in the registry's time zone."""
    return datetime.now(zone(settings)).date()


def search_directory(settings):
    """Where the search index lives: `search.directory`, else <data dir>/search."""
    return _raw(settings, "search.directory") or os.path.join(data_directory(settings),
                                                             "search")


def search_engine(settings):
    """`search.engine`: "tantivy" (default) or "whoosh"."""
    engine = _raw(settings, "search.engine", ENGINES[0])
    if engine not in ENGINES:
        raise SettingsError(f"search.engine must be one of {', '.join(ENGINES)}, not {engine!r}")
    return engine


def _choice(settings, name, choices):
    """The setting `name`, one of `choices` (default: the first)."""
    mode = _raw(settings, name, choices[0])
    if mode not in choices:
        raise SettingsError(f"{name} must be one of {', '.join(choices)}, not {mode!r}")
    return mode


def _milliseconds(settings, name, default):
    """The setting `name`, a whole number of milliseconds from 0 to 10000."""
    return _number(settings, name, default, int, low=0, high=10_000)


def search_writer(settings):
    """`search.writer`: "thread" (default), "inline" (right after each writing request, for
    tests) or "off" (another process writes the index)."""
    return _choice(settings, "search.writer", SEARCH_WRITERS)


def search_commit_ms(settings):
    """`search.commit_ms`: the least time in milliseconds between two index commits of the
    writer thread (default 250; 0 commits after every writing request)."""
    return _milliseconds(settings, "search.commit_ms", COMMIT_MS)


def audit_sealer(settings):
    """`registry.audit.sealer`: "thread" (default: a sealer thread per process, at most one
    seal per `registry.audit.seal_ms`) or "inline" (a seal right after each writing request,
    for tests)."""
    return _choice(settings, "registry.audit.sealer", SEALERS)


def audit_seal_ms(settings):
    """`registry.audit.seal_ms`: the least time in milliseconds between two seals of the
    sealer thread (default 250)."""
    return _milliseconds(settings, "registry.audit.seal_ms", SEAL_MS)


def search_ocr(settings):
    """`search.ocr`: OCR scanned letters (default true)."""
    return _flag(settings, "search.ocr", True)


def search_log_window(settings):
    """`search.log_window`: seconds an entry of the search change log may take to commit after
    its key was taken (a commit's duration plus the machines' clock skew; default 120)."""
    return _number(settings, "search.log_window", 120, int, low=1)


def search_log_retention(settings):
    """`search.log_retention`: seconds the change log keeps entries for a machine that stopped
    applying it (default a day); a machine away longer rebuilds its index when it is back."""
    return _number(settings, "search.log_retention", 86400, int, low=1)


def search_poll_seconds(settings):
    """`search.poll_seconds`: how often (seconds) the search writer looks for changes other
    processes recorded (default 1)."""
    return _number(settings, "search.poll_seconds", 1.0, float, low=0.01)


#: The city's figures for what a paper letter costs (tögrög) and the days of delivery an
#: electronic one saves (a range), used by the city-wide statistics.
PAPER_COST = "1500"
DELIVERY_DAYS_SAVED = "1-3"


def paper_figures(settings):
    """(cost of a paper letter in ₮, fewest days saved, most days saved) per letter: the
    settings `registry.stats.paper_cost` (1500) and `registry.stats.delivery_days_saved`
    ("1-3", or one number). Raises SettingsError for a value that is not that."""
    cost = _raw(settings, "registry.stats.paper_cost", PAPER_COST)
    days = _raw(settings, "registry.stats.delivery_days_saved", DELIVERY_DAYS_SAVED)
    low, _, high = days.partition("-")
    high = high or low
    if not (cost.isdigit() and low.strip().isdigit() and high.strip().isdigit()
            and int(low) <= int(high)):
        raise SettingsError("registry.stats.paper_cost is a whole number of tögrög and "
                            "registry.stats.delivery_days_saved is N or N-M days")
    return int(cost), int(low), int(high)


# The signature gate, the organisations' tokens, the time-stamping authority, the seal -------

MIB = 1024 * 1024


def trust_dir(settings=None):
    """REGISTRY_TRUST_DIR, else the `registry.trust_dir` setting, else `trust/` in the data
    directory when there is one (the demo makes it), else the shipped etc/trust."""
    configured = os.environ.get("REGISTRY_TRUST_DIR") or _raw(settings, "registry.trust_dir")
    if configured:
        return configured
    data = _raw(settings, "registry.data_dir") and data_dir(settings)
    if data and (Path(data) / "trust").is_dir():
        return str(Path(data) / "trust")
    return str(shipped("etc") / "trust")


def signature_gate(settings):
    """The gate's configuration (GateConfig's fields): `registry.signature.max_size_mb` (25),
    `.timeout` seconds a check may take (4.5), `.memory_mb` a check may use (1024),
    `.pades_only` (false), `.fetch_revocation` (false), `.workers` (2), `.tsa_trust` (the TSA's
    anchors, default the trust directory's), and the trust directory (`trust_dir`)."""
    return {
        "trust_dir": trust_dir(settings),
        "max_size": int(_number(settings, "registry.signature.max_size_mb", 25, low=0.001) * MIB),
        "timeout": _number(settings, "registry.signature.timeout", 4.5, low=0.1),
        "memory_limit": int(_number(settings, "registry.signature.memory_mb", 1024, low=64)
                            * MIB),
        "pades_only": _flag(settings, "registry.signature.pades_only"),
        "fetch_revocation": _flag(settings, "registry.signature.fetch_revocation"),
        "workers": _number(settings, "registry.signature.workers", 2, int, low=1, high=64),
        "tsa_trust": _raw(settings, "registry.signature.tsa_trust"),
    }


def pkcs11(settings):
    """Server-side signing with the organisations' tokens (TokenConfig's fields), or None when
    `registry.pkcs11.module` is not set: `.token_label` ("{regno}"), `.key_label` ("signing"),
    `.softhsm2_conf`, `.timeout` seconds (15)."""
    module = _raw(settings, "registry.pkcs11.module")
    if module is None:
        return None
    token_label = _raw(settings, "registry.pkcs11.token_label", "{regno}")
    try:
        token_label.format(regno="0000000")
    except (KeyError, IndexError, ValueError):
        raise SettingsError("registry.pkcs11.token_label may hold {regno} and nothing else in "
                            f"braces, not {token_label!r}") from None
    return {"module": module, "token_label": token_label,
            "key_label": _raw(settings, "registry.pkcs11.key_label", "signing"),
            "softhsm2_conf": _raw(settings, "registry.pkcs11.softhsm2_conf"),
            "timeout": _number(settings, "registry.pkcs11.timeout", 15, low=1)}


def tsa(settings):
    """The time-stamping authority (TsaConfig's fields), or None when
    `registry.signature.tsa_url` is not set: `.tsa_trust` (its anchors), `.tsa_timeout`
    seconds (10)."""
    url = _raw(settings, "registry.signature.tsa_url")
    if url is None:
        return None
    if not url.startswith(("http://", "https://")):
        raise SettingsError(f"registry.signature.tsa_url must be an http(s) address, not {url!r}")
    return {"url": url, "trust": _raw(settings, "registry.signature.tsa_trust"),
            "timeout": _number(settings, "registry.signature.tsa_timeout", 10, low=0.1)}


def tsa_retry_seconds(settings):
    """`registry.signature.tsa_retry_seconds`: how often the stamper retries preservation
    timestamps the TSA did not give (60)."""
    return _number(settings, "registry.signature.tsa_retry_seconds", 60, low=1)


SEAL_KEY_LABEL = "seal"


def seal(settings):
    """The registry's seal (SealConfig's fields), or None when `registry.seal.cert` is not set:
    its key in a PEM file (`registry.seal.key`, `.key_password`) or a PKCS#11 token
    (`registry.seal.pkcs11.module`, `.token_label`, `.key_label` ("seal"), `.pin`,
    `.softhsm2_conf`), `registry.seal.timeout` seconds (15). Raises SettingsError when the
    certificate is set without a key (or a token without its label or PIN)."""
    cert = _raw(settings, "registry.seal.cert")
    if cert is None:
        return None
    fields = {"cert": cert, "key": _raw(settings, "registry.seal.key"),
              "key_password": (settings or {}).get("registry.seal.key_password") or None,
              "module": _raw(settings, "registry.seal.pkcs11.module"),
              "token_label": _raw(settings, "registry.seal.pkcs11.token_label"),
              "key_label": _raw(settings, "registry.seal.pkcs11.key_label", SEAL_KEY_LABEL),
              "pin": (settings or {}).get("registry.seal.pkcs11.pin") or None,
              "softhsm2_conf": _raw(settings, "registry.seal.pkcs11.softhsm2_conf"),
              "timeout": _number(settings, "registry.seal.timeout", 15, low=1)}
    if bool(fields["key"]) == bool(fields["module"]):
        raise SettingsError("registry.seal.cert needs exactly one of registry.seal.key "
                            "and registry.seal.pkcs11.module")
    if fields["module"] and not (fields["token_label"] and fields["pin"]):
        raise SettingsError("registry.seal.pkcs11.module needs registry.seal.pkcs11."
                            "token_label and registry.seal.pkcs11.pin")
    return fields


def seal_retry_seconds(settings):
    """`registry.seal.retry_seconds`: how often the receipt issuer retries receipts it could
    not seal (60)."""
    return _number(settings, "registry.seal.retry_seconds", 60, low=1)


# Mail and notices ----------------------------------------------------------------------------

DEFAULT_DIGEST_HOUR = 8
DEFAULT_DUE_SOON_DAYS = 3
DEFAULT_DUE_SOON_WORKING_DAYS = 1


def mail_on(settings):
    """True when `mail.host` is set (pyramid_mailer reads its own `mail.*` settings). Raises
    MailSettingsError when mail is on but `mail.default_sender` or `registry.public_url` is
    missing."""
    if _raw(settings, "mail.host") is None:
        return False
    for required in ("mail.default_sender", "registry.public_url"):
        if _raw(settings, required) is None:
            raise MailSettingsError(f"mail.host is set: set {required} too")
    return True


def digest_hour(settings):
    """`registry.notify.digest_hour`: the local hour (0-23) the daily digest goes out, or None
    when the server sends none ("off": cron runs `registry notify digest`)."""
    raw = _raw(settings, "registry.notify.digest_hour", str(DEFAULT_DIGEST_HOUR))
    if raw.lower() in ("off", "none"):
        return None
    if not (raw.isdigit() and 0 <= int(raw) <= 23):
        raise MailSettingsError(f"registry.notify.digest_hour must be 0-23 or off, not {raw!r}")
    return int(raw)


def due_soon_days(settings):
    """`registry.notify.due_soon_days`: a task is "due soon" this many days before its date
    (3)."""
    return _number(settings, "registry.notify.due_soon_days", DEFAULT_DUE_SOON_DAYS, int,
                   low=0, high=365)


def due_soon_working_days(settings):
    """`registry.notify.due_soon_working_days`: how many working days before its due date a
    task's executors are told it is due soon (default 1; 0: on the due date)."""
    return _number(settings, "registry.notify.due_soon_working_days",
                   DEFAULT_DUE_SOON_WORKING_DAYS, int, low=0, high=30)


# The exchange ---------------------------------------------------------------------------

DEFAULT_RECIPIENTS_PER_LETTER = 300
DEFAULT_LETTERS_PER_DAY = 500
DEFAULT_NUMBER_PATTERN = "{series}/{n}"


def sending_limits(settings):
    """(recipients a letter, letters an organisation a day): `registry.limits.
    recipients_per_letter` (300) and `registry.limits.letters_per_day` (500)."""
    return (_number(settings, "registry.limits.recipients_per_letter",
                    DEFAULT_RECIPIENTS_PER_LETTER, int, low=1),
            _number(settings, "registry.limits.letters_per_day", DEFAULT_LETTERS_PER_DAY, int,
                    low=1))


def number_pattern(settings, direction):
    """`registry.outgoing_number` or `registry.incoming_number` (`direction`): how a letter's
    number is written from {series}, {year} and {n} (default "{series}/{n}")."""
    key = f"registry.{direction}_number"
    pattern = _raw(settings, key, DEFAULT_NUMBER_PATTERN)
    try:
        pattern.format(series="01", year=2000, n=1)
    except (KeyError, IndexError, ValueError):
        raise SettingsError(f"{key} may use {{series}}, {{year}} and {{n}}, not "
                            f"{pattern!r}") from None
    return pattern


def verify_throttle(settings):
    """(lookups, seconds): at most `registry.verify.limit` public verification lookups (30) per
    client address within `registry.verify.window` seconds (600)."""
    return (_number(settings, "registry.verify.limit", 30, int, low=1),
            _number(settings, "registry.verify.window", 600, float, low=1))


# The archive, the audit trail's checkpoints, fixity --------------------------------------

DEFAULT_ARCHIVE = "Үндэсний архивын газар"
NAMED_INTERVALS = {"hourly": 3600, "daily": 86400, "weekly": 7 * 86400, "off": 0}


def archive_name(settings):
    """`registry.archive.name`: the archive handover packages go to, unless the handover names
    another (the National Archives)."""
    return _raw(settings, "registry.archive.name", DEFAULT_ARCHIVE)


def archive_profile_version(settings):
    """`registry.archive.profile_version`: the version of the archive's package profile a
    handover package declares ("2.1.0")."""
    return _raw(settings, "registry.archive.profile_version", "2.1.0")


def checkpoint_interval(settings):
    """`registry.audit.checkpoint_interval`: seconds between scheduled checkpoints, given as
    seconds or `hourly`, `daily` (default), `weekly`; `off` (or 0) makes none. Raises
    SettingsError for anything else."""
    raw = _raw(settings, "registry.audit.checkpoint_interval", "daily").lower()
    seconds = NAMED_INTERVALS.get(raw)
    if seconds is None:
        seconds = int(raw) if raw.isdigit() else -1
    if seconds < 0 or 0 < seconds < 60:
        raise SettingsError(
            "registry.audit.checkpoint_interval must be hourly, daily, weekly, off, or a "
            f"number of seconds of at least 60, not {raw!r}")
    return seconds


def checkpoint_dir(settings):
    """Where checkpoint files are written: `registry.audit.checkpoint_dir`, else
    <data dir>/checkpoints."""
    return Path(_raw(settings, "registry.audit.checkpoint_dir")
                or Path(data_directory(settings)) / "checkpoints")


def checkpoint_mail_to(settings):
    """`registry.audit.checkpoint_mail_to`: the address each checkpoint is mailed to, or ""."""
    return _raw(settings, "registry.audit.checkpoint_mail_to", "")


def fixity_interval(settings):
    """`registry.fixity.interval_hours`: seconds between scheduled fixity checks, given in
    hours; 0 (default) is off."""
    return _number(settings, "registry.fixity.interval_hours", 0, low=0) * 3600


def check(settings):
    """Ask every accessor once: raises SettingsError naming the first setting the application
    cannot start with. (The session secret, which may be made on first use, is
    `session_secret`'s.)"""
    for accessor in (account_limits, zodb_uri, secure_cookies, session_timeouts, join_attempts,
                     trusted_proxies, default_locale, public_url, timezone_name, search_engine,
                     search_writer, search_commit_ms, audit_sealer, audit_seal_ms, search_ocr, search_log_window,
                     search_log_retention, search_poll_seconds, paper_figures, signature_gate,
                     pkcs11, tsa, tsa_retry_seconds, seal, seal_retry_seconds, mail_on,
                     digest_hour, due_soon_days, due_soon_working_days, sending_limits,
                     verify_throttle, archive_name, archive_profile_version,
                     checkpoint_interval, checkpoint_mail_to, fixity_interval):
        accessor(settings)
    for direction in ("outgoing", "incoming"):
        number_pattern(settings, direction)
