"""Registry: the records registry and exchange for digitally signed official letters."""
import atexit

import pyramid_tm
from pyramid.config import Configurator
from ZODB.interfaces import IDatabase

from registry import settings as registry_settings
from registry.resources.evolve import bootstrap
from registry.resources.site import root_factory
from registry.store import open_db


def main(global_config, **settings):
    """Return the Pyramid WSGI application (PasteDeploy `main`).

    Opens the store the settings name (serving the embedded store over ZEO when nothing else
    does), creates or evolves the site, and composes the application from explicit includes.
    Raises SettingsError, naming the setting, for settings it cannot start with (a wrong value,
    or a shared store without a session secret).
    """
    settings = registry_settings.prepare(settings)
    registry_settings.check(settings)  # refuse to start on a wrong value, naming it
    registry_settings.session_secret(settings)  # refuse to start without one when shared
    db, zeo_server = open_db(settings, serve=True)
    if zeo_server is not None:
        atexit.register(zeo_server.close)
    # Looked up at exit: DB.close replaces itself with a no-op once called, so a database the
    # caller closed already is not closed twice.
    atexit.register(lambda: db.close())
    bootstrap(db)

    settings["tm.manager_hook"] = pyramid_tm.explicit_manager
    with Configurator(settings=settings, root_factory=root_factory) as config:
        config.registry.registerUtility(db, IDatabase)
        config.include("pyramid_chameleon")
        config.include("pyramid_tm")
        config.include("pyramid_retry")
        config.include("registry.audit_sealing")
        config.include("registry.store")
        config.include("registry.i18n")
        config.include("registry.security")
        config.include("registry.workflow")
        config.include("registry.desk")
        config.include("registry.signatures")
        config.include("registry.search.indexing")
        config.include("registry.operations")
        config.include("registry.preservation")
        config.include("registry.receipts")
        config.include("registry.mail")
        config.include("registry.notifications")
        config.include("registry.checkpoints")
        config.include("registry.verification")
        config.include("registry.views")
    return config.make_wsgi_app()
