"""Views on the directory (Organisations) and on an Organisation: HTML and JSON."""
import colander
import deform
from pyramid.httpexceptions import HTTPFound
from pyramid.view import view_config

from registry.accounts import create_account
from registry.directory import register_organisation, update_organisation
from registry.errors import RegistryError
from registry.i18n import _
from registry.resources.organisation import (
    KINDS,
    Organisation,
    Organisations,
    validate_kind,
    validate_name,
    validate_regno,
)
from registry.resources.user import validate_login
from registry.security import permissions as P
from registry.settings import account_limits
from registry.views import dashboard as dashboard_views
from registry.views.api import batch_params, batching
from registry.views.forms import CSRFSchema, checked_by, flash, make_form, run_form
from registry.views.intake import read_json
from registry.views.labels import KIND_TITLES, ROLE_TITLES
from registry.views.user import NewPasswordSchema, roles_widget

PAGE_SIZE = 25
#: A search counts its matches up to this many (items_total is then a lower bound).
COUNT_LIMIT = 1000


def _kind_widget():
    return deform.widget.SelectWidget(values=[(k, KIND_TITLES[k]) for k in KINDS])


def _optional_regno(value):
    if value:
        validate_regno(value)


class OrganisationFields(CSRFSchema):
    name = colander.SchemaNode(colander.String(), title=_("Name (Mongolian)"),
                               validator=checked_by(validate_name))
    name_en = colander.SchemaNode(colander.String(), title=_("Name (English)"), missing="")
    kind = colander.SchemaNode(colander.String(), title=_("Kind"), widget=_kind_widget(),
                               validator=checked_by(validate_kind))
    parent = colander.SchemaNode(
        colander.String(), title=_("Parent organisation"), missing="",
        description=_("Registration number of the organisation this one is a unit of."),
        validator=checked_by(_optional_regno))


class OrganisationSchema(OrganisationFields):
    regno = colander.SchemaNode(
        colander.String(), title=_("Registration number"), insert_before="name",
        description=_("The 7-digit state registration number of the legal entity."),
        validator=checked_by(validate_regno))


class OrganisationEditSchema(OrganisationFields):
    active = colander.SchemaNode(colander.Boolean(), title=_("Active"), missing=False)


class AccountSchema(NewPasswordSchema):
    login = colander.SchemaNode(colander.String(), title=_("Login"), insert_before="password",
                                validator=checked_by(validate_login))
    fullname = colander.SchemaNode(colander.String(), title=_("Full name"), missing="",
                                   insert_before="password")
    position = colander.SchemaNode(colander.String(), title=_("Position"), missing="",
                                   insert_before="password", validator=colander.Length(max=200))
    roles = colander.SchemaNode(
        colander.Set(), title=_("Roles"), widget=roles_widget, insert_before="password",
        validator=colander.Length(min=1, min_err=_("Give the account at least one role.")))


# The directory -----------------------------------------------------------------------------

def _search(request, size):
    start, size = batch_params(request, default=size)
    query = request.params.get("q", "")
    if request.params.get("inactive", "1") != "1":
        raise RegistryError("BAD_FILTER", _("'inactive' is 1 or absent."), field="inactive")
    include_inactive = request.params.get("inactive") == "1" and request.has_permission(
        P.MANAGE_ORGS, request.root.orgs)
    return query, start, size, include_inactive


@view_config(context=Organisations, renderer="registry:templates/directory.pt",
             permission=P.VIEW_DIRECTORY, accept="text/html")
def directory(request):
    query, start, size, inactive = _search(request, PAGE_SIZE)
    orgs, more, _total = request.context.search(query, start=start, size=size,
                                                include_inactive=inactive)
    return {"query": query, "orgs": orgs, "start": start, "size": size, "more": more,
            "total": len(request.context), "kind_titles": KIND_TITLES,
            "can_add": bool(request.has_permission(P.MANAGE_ORGS, request.context))}


@view_config(context=Organisations, name="results",
             renderer="registry:templates/directory_results.pt", permission=P.VIEW_DIRECTORY)
def directory_results(request):
    """The results alone, for search-as-you-type: the same markup the page includes."""
    return directory(request)


@view_config(context=Organisations, renderer="json", permission=P.VIEW_DIRECTORY,
             accept="application/json", request_method="GET")
def directory_json(request):
    query, start, size, inactive = _search(request, 25)
    orgs, more, total = request.context.search(query, start=start, size=size,
                                               include_inactive=inactive, count=True,
                                               count_limit=COUNT_LIMIT)
    body = {
        "@id": request.url,
        "@type": "Organisations",
        "items": [org.as_json(request) for org in orgs],
        "items_total": total,
        "batching": batching(request, start, size, total, more),
    }
    if query.strip() and total >= COUNT_LIMIT:
        # Counting every match of a one-letter query would cost as much as the directory.
        body["items_total_is_lower_bound"] = True
    return body


@view_config(context=Organisations, renderer="json", permission=P.MANAGE_ORGS,
             accept="application/json", request_method="POST")
def directory_create_json(request):
    body = read_json(request, "createOrganisation")
    org = register_organisation(
        request.root, request.account.login, body.get("regno"), body.get("name"),
        body.get("kind"), name_en=body.get("name_en") or "", parent=body.get("parent"))
    request.response.status = 201
    request.response.location = request.resource_url(org)
    return org.as_json(request)


@view_config(context=Organisations, name="add", renderer="registry:templates/form.pt",
             permission=P.MANAGE_ORGS)
def add_organisation(request):
    form = make_form(request, OrganisationSchema(), buttons=(deform.Button("save", _("Register")),))

    def save(values):
        return register_organisation(request.root, request.account.login, values["regno"],
                                     values["name"], values["kind"], name_en=values["name_en"],
                                     parent=values["parent"])

    outcome, result = run_form(request, form, save)
    if outcome == "ok":
        flash(request, _("org-registered", default="${name} is registered.",
                                mapping={"name": result.name}))
        return HTTPFound(location=request.resource_url(result))
    return {"title": _("Register an organisation"), "form": result}


# One organisation --------------------------------------------------------------------------

@view_config(context=Organisation, renderer="registry:templates/org.pt",
             permission=P.VIEW_DIRECTORY, accept="text/html")
def organisation(request):
    org, orgs = request.context, request.root.orgs
    return {
        "org": org,
        "parent": orgs.get(org.parent_regno) if org.parent_regno else None,
        "sub_units": orgs.sub_units(org.regno),
        "kind_title": KIND_TITLES[org.kind],
        "can_edit": bool(request.has_permission(P.MANAGE_ORGS, org)),
        "can_manage_accounts": bool(request.has_permission(P.MANAGE_ACCOUNTS, org)),
        "dashboard": dashboard_views.home(request, org),
    }


@view_config(context=Organisation, renderer="json", permission=P.VIEW_DIRECTORY,
             accept="application/json", request_method="GET")
def organisation_json(request):
    org = request.context
    data = org.as_json(request)
    data["sub_units"] = [u.regno for u in request.root.orgs.sub_units(org.regno)]
    return data


@view_config(context=Organisation, name="edit", renderer="registry:templates/form.pt",
             permission=P.MANAGE_ORGS)
def edit_organisation(request):
    org = request.context
    form = make_form(request, OrganisationEditSchema(), buttons=(deform.Button("save", _("Save")),))

    def save(values):
        return update_organisation(request.root, request.account.login, org,
                                   name=values["name"], name_en=values["name_en"],
                                   kind=values["kind"], parent=values["parent"],
                                   active=values["active"])

    current = {"name": org.name, "name_en": org.name_en, "kind": org.kind,
               "parent": org.parent_regno or "", "active": org.active}
    outcome, result = run_form(request, form, save, appstruct=current)
    if outcome == "ok":
        if result:
            flash(request, _("Changes saved."))
        return HTTPFound(location=request.resource_url(org))
    return {"title": _("edit-org-title", default="Edit ${name}", mapping={"name": org.name}),
            "form": result}


@view_config(context=Organisation, name="accounts", renderer="registry:templates/accounts.pt",
             permission=P.MANAGE_ACCOUNTS)
def accounts(request):
    org, site = request.context, request.root
    is_admin = request.account.is_site_admin
    limit = account_limits(request.registry.settings).get(org.kind)
    users = site.users.for_org(org.regno)
    full = limit is not None and len(users) >= limit
    form_html = None
    # A POST is always checked by the domain, so a replayed form past the limit gets its error.
    if request.method == "POST" or (not full and org.active):
        form = make_form(request, AccountSchema(), bind={"allow_admin": is_admin},
                         buttons=(deform.Button("create", _("Create account")),),
                         formid="account-form")

        def create(values):
            return create_account(site, request.account.login, org.regno, values["login"],
                                  sorted(values["roles"]), values["password"],
                                  fullname=values["fullname"], position=values["position"],
                                  limits=account_limits(request.registry.settings),
                                  may_grant_admin=is_admin)

        outcome, result = run_form(request, form, create)
        if outcome == "ok":
            flash(request, _("account-created", default="Account ${login} created.",
                                    mapping={"login": result.login}))
            return HTTPFound(location=request.resource_url(org, "@@accounts"))
        form_html = result
    return {"org": org, "users": users, "form": form_html, "full": full, "limit": limit,
            "role_titles": ROLE_TITLES}
