"""Translation: the `registry` gettext domain, locales and the helpers code outside a request uses.

Every user-visible string is a message id in the `registry` domain; the catalogs live in
`registry/locale/<lang>/LC_MESSAGES/`. Mongolian (`mn`) is the default, English (`en`) available.
The same folder holds our Mongolian catalogs for the `deform` and `colander` domains, which
neither package ships.
"""
import os

from pyramid.i18n import Localizer, TranslationStringFactory, make_localizer

from registry import settings as registry_settings

_ = TranslationStringFactory("registry")

LOCALES = ("mn", "en")
DEFAULT_LOCALE = "mn"
LOCALE_COOKIE = "_LOCALE_"
TRANSLATION_DIRS = ("colander:locale", "deform:locale", "registry:locale")
LOCALE_NAMES = {"mn": "Монгол", "en": "English"}


def locale_negotiator(request):
    """Pick the request's locale: the `_LOCALE_` cookie if it names a supported locale, else
    the default (Mongolian)."""
    chosen = request.cookies.get(LOCALE_COOKIE)
    if chosen in LOCALES:
        return chosen
    return registry_settings.default_locale(request.registry.settings)


def _dirs():
    from pyramid.path import AssetResolver

    resolver = AssetResolver()
    return [resolver.resolve(spec).abspath() for spec in TRANSLATION_DIRS]


_localizers = {}


def localizer_for(locale_name):
    """Return a Localizer for `locale_name` outside a request (CLI, e-mails, exports)."""
    if locale_name not in LOCALES:
        locale_name = DEFAULT_LOCALE
    if locale_name not in _localizers:
        _localizers[locale_name] = make_localizer(locale_name, _dirs())
    return _localizers[locale_name]


def cli_locale():
    """The CLI's language: REGISTRY_LANG, else LANGUAGE/LANG when they name Mongolian, else en."""
    for var in ("REGISTRY_LANG", "LANGUAGE", "LANG"):
        value = os.environ.get(var, "")
        if value[:2] in LOCALES:
            return value[:2]
    return "en"


def translate(message, locale_name=None, mapping=None):
    """Translate a message id (or TranslationString) for `locale_name` (default: the CLI's)."""
    localizer: Localizer = localizer_for(locale_name or cli_locale())
    return localizer.translate(message, mapping=mapping)


def includeme(config):
    config.add_translation_dirs(*TRANSLATION_DIRS)
    config.set_locale_negotiator(locale_negotiator)
