"""Settings: defaults, parsing, and the data directory.

Everything here reads the ini's `[app:main]` settings (strings) and returns typed values, so
that the rest of the code never parses a setting itself.
"""
import os
from datetime import datetime
from zoneinfo import ZoneInfo
import secrets
from pathlib import Path

from pyramid.settings import asbool

from registry.search import COMMIT_MS, ENGINES

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


def account_limits(settings):
    """Return {kind: max accounts or None}."""
    limits = {}
    for kind in ("business", "government"):
        raw = str(settings.get(f"registry.accounts_per_org.{kind}", "unlimited")).strip()
        limits[kind] = None if raw.lower() in ("", "unlimited", "none") else int(raw)
    return limits


class SettingsError(ValueError):
    """A setting the application needs is missing or wrong: it refuses to start."""


def shared_store(settings):
    """True when `zodbconn.uri` names a store other processes or machines may share (ZEO,
    RelStorage, ...): anything but a FileStorage or memory of this process."""
    uri = settings.get("zodbconn.uri") or ""
    return bool(uri) and uri.split(":", 1)[0] not in ("file", "memory")


def session_secret(settings):
    """The session-signing secret: the `registry.session_secret` setting, else the
    REGISTRY_SESSION_SECRET environment variable, else (the embedded store only) a random one
    kept (mode 0600) in the data directory, made on first use. Never logged. Raises
    SettingsError when the store is shared and no secret is given: every process must sign
    sessions with the same one, or a cookie made by one is refused by the others."""
    configured = (settings.get("registry.session_secret")
                  or os.environ.get("REGISTRY_SESSION_SECRET"))
    if configured:
        return configured
    if shared_store(settings):
        raise SettingsError(
            "registry.session_secret (or REGISTRY_SESSION_SECRET) is required when the store is "
            "shared (zodbconn.uri): every app process and machine must sign sessions with the "
            "same secret. Make one with: python -c 'import secrets; "
            "print(secrets.token_urlsafe(48))'")
    path = Path(settings["registry.data_dir"]) / "session_secret"
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
    return asbool(settings.get("registry.secure_cookies"))


DEFAULT_TIMEZONE = "Asia/Ulaanbaatar"
SEARCH_WRITERS = ("thread", "inline", "off")


def timezone_name(settings):
    """The registry's time zone (`registry.timezone`): numbers' years, dates, "today"."""
    return (settings or {}).get("registry.timezone") or DEFAULT_TIMEZONE


def zone(settings):
    return ZoneInfo(timezone_name(settings))


def local_today(settings):
    """Today's date in the registry's time zone."""
    return datetime.now(zone(settings)).date()


def search_directory(settings):
    """Where the search index lives: `search.directory`, else <data dir>/search."""
    return settings.get("search.directory") or os.path.join(settings["registry.data_dir"],
                                                           "search")


def search_engine(settings):
    """`search.engine`: "tantivy" (default) or "whoosh"."""
    engine = settings.get("search.engine") or ENGINES[0]
    if engine not in ENGINES:
        raise ValueError(f"search.engine must be one of {', '.join(ENGINES)}, not {engine!r}")
    return engine


def search_writer(settings):
    """`search.writer`: "thread" (default), "inline" (right after each writing request, for
    tests) or "off" (another process writes the index)."""
    mode = settings.get("search.writer", "thread")
    if mode not in SEARCH_WRITERS:
        raise ValueError(f"search.writer must be one of {', '.join(SEARCH_WRITERS)}, "
                         f"not {mode!r}")
    return mode


def search_commit_ms(settings):
    """`search.commit_ms`: the least time in milliseconds between two index commits of the
    writer thread (default 250; 0 commits after every writing request)."""
    value = int(settings.get("search.commit_ms", COMMIT_MS))
    if not 0 <= value <= 10_000:
        raise ValueError(f"search.commit_ms must be 0 to 10000, not {value}")
    return value


def search_ocr(settings):
    """`search.ocr`: OCR scanned letters (default true)."""
    return asbool(settings.get("search.ocr", "true"))


def search_log_window(settings):
    """`search.log_window`: seconds an entry of the search change log may take to commit after
    its key was taken (a commit's duration plus the machines' clock skew; default 120)."""
    return int(settings.get("search.log_window", 120))


def search_log_retention(settings):
    """`search.log_retention`: seconds the change log keeps entries for a machine that stopped
    applying it (default a day); a machine away longer rebuilds its index when it is back."""
    return int(settings.get("search.log_retention", 86400))


#: The city's figures for what a paper letter costs (tögrög) and the days of delivery an
#: electronic one saves (a range), used by the city-wide statistics.
PAPER_COST = "1500"
DELIVERY_DAYS_SAVED = "1-3"


def paper_figures(settings):
    """(cost of a paper letter in ₮, fewest days saved, most days saved) per letter: the
    settings `registry.stats.paper_cost` (1500) and `registry.stats.delivery_days_saved`
    ("1-3", or one number). Raises SettingsError for a value that is not that."""
    cost = str((settings or {}).get("registry.stats.paper_cost") or PAPER_COST).strip()
    days = str((settings or {}).get("registry.stats.delivery_days_saved")
               or DELIVERY_DAYS_SAVED).strip()
    low, _, high = days.partition("-")
    high = high or low
    if not (cost.isdigit() and low.strip().isdigit() and high.strip().isdigit()
            and int(low) <= int(high)):
        raise SettingsError("registry.stats.paper_cost is a whole number of tögrög and "
                            "registry.stats.delivery_days_saved is N or N-M days")
    return int(cost), int(low), int(high)
