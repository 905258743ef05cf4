"""Views: HTML (Chameleon + Deform) and JSON on the same traversal URLs.

A view module per context class. JSON views are chosen by `Accept: application/json`; HTML is
the default for browsers and for clients that state no preference.
"""
from pyramid.renderers import JSON

from registry.paths import shipped


def includeme(config):
    # Templates live at the top of the repository (or inside the wheel); `registry:templates/`
    # names them wherever they are.
    config.override_asset(to_override="registry:templates/",
                          override_with=str(shipped("templates")) + "/")
    config.add_static_view("static", "registry:static", cache_max_age=3600)
    config.add_static_view("static-deform", "deform:static", cache_max_age=3600)
    config.add_renderer("json", JSON(ensure_ascii=False))
    config.add_accept_view_order("text/html")
    config.add_accept_view_order("application/json", weighs_less_than="text/html")
    config.include("registry.views.intake")
    config.scan("registry.views")
