"""Views on accounts: the list (site administrators), an account, its password and tokens."""
import colander
import deform
from pyramid.httpexceptions import HTTPFound
from pyramid.security import remember
from pyramid.view import view_config

from registry.accounts import (
    issue_token,
    revoke_token,
    set_password,
    update_account,
    update_preferences,
)
from registry.errors import RegistryError
from registry.i18n import LOCALE_NAMES, _
from registry.resources.user import User, Users, validate_email
from registry.security import permissions as P
from registry.security.passwords import validate_password
from registry.security.principals import ORG_ROLES, ROLES
from registry.views.api import batch_params, batching
from registry.views.forms import CSRFSchema, checked_by, flash, make_form, run_form
from registry.views.labels import ROLE_TITLES


def password_matches(node, values):
    """Schema validator: the password was typed the same twice."""
    if values["password"] != values["password_confirm"]:
        raise colander.Invalid(node["password_confirm"], _("The passwords do not match."))


@colander.deferred
def roles_widget(node, kw):
    """Role checkboxes; site_admin is offered only when bound with allow_admin=True."""
    roles = ROLES if kw.get("allow_admin") else ORG_ROLES
    return deform.widget.CheckboxChoiceWidget(values=[(r, ROLE_TITLES[r]) for r in roles])


class NewPasswordSchema(CSRFSchema):
    password = colander.SchemaNode(colander.String(), title=_("New password"),
                                   widget=deform.widget.PasswordWidget(),
                                   validator=checked_by(validate_password))
    password_confirm = colander.SchemaNode(colander.String(), title=_("Password again"),
                                           widget=deform.widget.PasswordWidget())

    def __init__(self, *args, **kw):
        super().__init__(*args, validator=password_matches, **kw)


class OwnPasswordSchema(NewPasswordSchema):
    current = colander.SchemaNode(colander.String(), title=_("Current password"),
                                  widget=deform.widget.PasswordWidget(), insert_before="password")


class AccountEditSchema(CSRFSchema):
    fullname = colander.SchemaNode(colander.String(), title=_("Full name"), missing="")
    position = colander.SchemaNode(colander.String(), title=_("Position"), missing="",
                                   validator=colander.Length(max=200))
    roles = colander.SchemaNode(
        colander.Set(), title=_("Roles"), widget=roles_widget,
        validator=colander.Length(min=1, min_err=_("Give the account at least one role.")))
    active = colander.SchemaNode(colander.Boolean(), title=_("Active"), missing=False)


MAIL_MODE_TITLES = (
    ("immediate", _("mail-immediate", default="Each notification at once")),
    ("digest", _("mail-digest", default="Once a day, in a digest")),
    ("none", _("mail-none", default="No mail")),
)


@colander.deferred
def _language_widget(node, kw):
    return deform.widget.SelectWidget(values=[("", _("The registry's default"))]
                                      + list(LOCALE_NAMES.items()))


class PreferencesSchema(CSRFSchema):
    email = colander.SchemaNode(colander.String(), title=_("E-mail address"), missing="",
                                validator=checked_by(validate_email))
    mail_mode = colander.SchemaNode(colander.String(), title=_("Notifications by mail"),
                                    widget=deform.widget.SelectWidget(values=MAIL_MODE_TITLES),
                                    validator=colander.OneOf([m for m, _t in MAIL_MODE_TITLES]))
    language = colander.SchemaNode(colander.String(), title=_("Language of mails"), missing="",
                                   widget=_language_widget,
                                   validator=colander.OneOf(["", *LOCALE_NAMES]))


class TokenSchema(CSRFSchema):
    label = colander.SchemaNode(colander.String(), title=_("What the token is for"), missing="",
                                validator=colander.Length(max=100))


# The list of accounts ----------------------------------------------------------------------

def _listing(request):
    start, size = batch_params(request, default=50)
    query = (request.params.get("q") or "").strip().lower()
    users = request.context
    keys = users.keys(min=query, max=query + "\uffff") if query else users.keys()
    page, more = [], False
    for index, login in enumerate(keys):
        if index < start:
            continue
        if len(page) == size:
            more = True
            break
        page.append(users[login])
    return query, page, start, size, more


@view_config(context=Users, renderer="registry:templates/users.pt", permission=P.LIST_ACCOUNTS,
             accept="text/html")
def users(request):
    query, page, start, size, more = _listing(request)
    return {"query": query, "users": page, "start": start, "size": size, "more": more,
            "total": len(request.context), "role_titles": ROLE_TITLES}


@view_config(context=Users, renderer="json", permission=P.LIST_ACCOUNTS,
             accept="application/json")
def users_json(request):
    query, page, start, size, more = _listing(request)
    return {"@id": request.url, "@type": "Users",
            "items": [u.as_json(request) for u in page], "items_total": len(request.context),
            "batching": batching(request, start, size, len(request.context), more)}


# One account -------------------------------------------------------------------------------

def _is_self(request):
    return request.account is not None and request.account.login == request.context.login


def _account_page(request, **extra):
    user = request.context
    can_manage = bool(request.has_permission(P.MANAGE_ACCOUNTS, user))
    values = {
        "user": user,
        "org": request.root.orgs.get(user.org),
        "role_titles": ROLE_TITLES,
        "is_self": _is_self(request),
        "can_manage": can_manage,
        "tokens": sorted(user.tokens.items(), key=lambda item: item[1]["created"]),
        "new_token": None,
        "edit_form": None,
        "token_form": None,
        "preferences_form": None,
        "mail_modes": dict(MAIL_MODE_TITLES),
    }
    if can_manage and not _is_self(request):
        values["edit_form"] = make_form(
            request, AccountEditSchema(), bind={"allow_admin": request.account.is_site_admin},
            buttons=(deform.Button("save", _("Save")),), formid="edit-account",
            action=request.resource_url(user, "@@edit"),
        ).render({"fullname": user.fullname, "position": user.position,
                  "roles": set(user.roles), "active": user.active})
    if values["is_self"]:
        values["preferences_form"] = _preferences_form(request).render(
            {"email": user.email or "", "mail_mode": user.mail_mode,
             "language": user.language or ""})
        values["token_form"] = make_form(
            request, TokenSchema(), buttons=(deform.Button("issue", _("Create API token")),),
            formid="token-form", action=request.resource_url(user, "@@tokens"),
        ).render()
    values.update(extra)
    return values


@view_config(context=User, renderer="registry:templates/user.pt", permission=P.VIEW_ACCOUNT,
             accept="text/html")
def account(request):
    return _account_page(request)


@view_config(context=User, renderer="json", permission=P.VIEW_ACCOUNT, accept="application/json")
def account_json(request):
    return request.context.as_json(request)


@view_config(context=User, name="edit", renderer="registry:templates/user.pt",
             permission=P.MANAGE_ACCOUNTS, request_method="POST")
def edit_account(request):
    user = request.context
    if _is_self(request):
        # Nobody edits their own roles or status: no self-promotion, no self-lockout.
        raise RegistryError("SELF_EDIT", _("Another administrator must change your own roles "
                                           "or status."), status=403)
    form = make_form(request, AccountEditSchema(),
                     bind={"allow_admin": request.account.is_site_admin},
                     buttons=(deform.Button("save", _("Save")),), formid="edit-account")

    def save(values):
        return update_account(request.root, request.account.login, user,
                              roles=sorted(values["roles"]), active=values["active"],
                              fullname=values["fullname"], position=values["position"],
                              may_grant_admin=request.account.is_site_admin)

    outcome, result = run_form(request, form, save)
    if outcome == "ok":
        flash(request, _("Changes saved."))
        return HTTPFound(location=request.resource_url(user))
    return _account_page(request, edit_form=result)


@view_config(context=User, name="password", renderer="registry:templates/form.pt",
             permission=P.MANAGE_OWN_ACCOUNT)
def own_password(request):
    """Change one's own password: the current one is required."""
    user = request.context
    form = make_form(request, OwnPasswordSchema(),
                     buttons=(deform.Button("save", _("Change password")),))

    def save(values):
        if not user.check_password(values["current"]):
            raise RegistryError("WRONG_PASSWORD", _("The current password is wrong."),
                                field="current")
        set_password(request.root, user.login, user, values["password"])
        return user

    outcome, result = run_form(request, form, save)
    if outcome == "ok":
        # The change voided every session of the account, this one too: start a new one.
        headers = remember(request, user.login)
        flash(request, _("Your password is changed; your other sessions are signed out."))
        return HTTPFound(location=request.resource_url(user), headers=headers)
    return {"title": _("Change your password"), "form": result}


@view_config(context=User, name="reset-password", renderer="registry:templates/form.pt",
             permission=P.MANAGE_ACCOUNTS)
def reset_password(request):
    """Set another account's password (an administrator or the organisation's records manager)."""
    user = request.context
    if _is_self(request):
        # One's own password changes only with the current one (a stolen session is not enough).
        return HTTPFound(location=request.resource_url(user, "@@password"))
    form = make_form(request, NewPasswordSchema(),
                     buttons=(deform.Button("save", _("Set password")),))
    outcome, result = run_form(
        request, form,
        lambda values: set_password(request.root, request.account.login, user, values["password"]))
    if outcome == "ok":
        flash(request, _("password-set", default="The password of ${login} is set; its "
                                "sessions are signed out.", mapping={"login": user.login}))
        return HTTPFound(location=request.resource_url(user))
    return {"title": _("set-password-title", default="Set the password of ${login}",
                       mapping={"login": user.login}), "form": result}


@view_config(context=User, name="tokens", renderer="registry:templates/user.pt",
             permission=P.MANAGE_OWN_ACCOUNT, request_method="POST")
def create_token(request):
    user = request.context
    form = make_form(request, TokenSchema(), buttons=(deform.Button("issue", _("Create API token")),),
                     formid="token-form")
    outcome, result = run_form(
        request, form, lambda values: issue_token(request.root, user.login, user, values["label"]))
    if outcome == "ok":
        # Shown once, in this response only; never stored in clear, never flashed.
        return _account_page(request, new_token=result)
    return _account_page(request, token_form=result)


@view_config(context=User, name="revoke-token", permission=P.MANAGE_OWN_ACCOUNT,
             request_method="POST")
def revoke(request):
    user = request.context
    revoke_token(request.root, user.login, user, request.POST.get("token", ""))
    flash(request, _("The token is revoked."))
    return HTTPFound(location=request.resource_url(user))


def _preferences_form(request):
    return make_form(request, PreferencesSchema(), buttons=(deform.Button("save", _("Save")),),
                     formid="preferences-form",
                     action=request.resource_url(request.context, "@@preferences"))


@view_config(context=User, name="preferences", renderer="registry:templates/user.pt",
             permission=P.MANAGE_OWN_ACCOUNT, request_method="POST")
def preferences(request):
    """One's own e-mail address, how notifications are mailed, and in which language."""
    user = request.context
    outcome, result = run_form(request, _preferences_form(request), lambda values: (
        update_preferences(request.root, request.account.login, user, email=values["email"],
                           mail_mode=values["mail_mode"], language=values["language"])))
    if outcome == "ok":
        flash(request, _("Changes saved."))
        return HTTPFound(location=request.resource_url(user))
    return _account_page(request, preferences_form=result)
