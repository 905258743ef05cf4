"""Deform glue: the translating form renderer, the CSRF field, and one way to run a form.

Forms are colander schema classes bound per request; Deform appears only in views.
"""
import itertools

import colander
import deform
import deform.template
from pyramid.i18n import TranslationString
from pyramid.threadlocal import get_current_request

from registry import dates
from registry.errors import RegistryError
from registry.i18n import _


def _translate(term):
    request = get_current_request()
    if request is None:
        return term
    return request.localizer.translate(term)


#: One renderer for every form, translating through the current request's localizer.
FORM_RENDERER = deform.ZPTRendererFactory((deform.template.default_dir,), translator=_translate)


@colander.deferred
def _csrf_default(node, kw):
    return kw["request"].session.get_csrf_token()


class CSRFSchema(colander.Schema):
    """Base schema of every form: carries the session's CSRF token, which Pyramid checks on
    every POST before the view runs."""

    csrf_token = colander.SchemaNode(
        colander.String(), widget=deform.widget.HiddenWidget(), default=_csrf_default,
        missing=None,
    )


class Day(colander.SchemaType):
    """A date field read as Mongolians write it (`registry.dates`), shown as YYYY-MM-DD; an
    empty field is `colander.null` (so the node's `missing` applies)."""

    def serialize(self, node, appstruct):
        if appstruct in (colander.null, None):
            return colander.null
        return appstruct.isoformat()

    def deserialize(self, node, cstruct):
        if cstruct in (colander.null, None) or not str(cstruct).strip():
            return colander.null
        try:
            return dates.parse_day(cstruct)
        except ValueError:
            raise colander.Invalid(node, dates.DAY_FORMAT) from None


@colander.deferred
def day_widget(node, kw):
    """A date field's text input (`dates.input_attributes`), in the request's language."""
    return deform.widget.TextInputWidget(
        attributes=dates.input_attributes(kw["request"].localizer))


#: Our words for what the browser would say in its own language (static/forms.js): the
#: messages of its checks of a field, and a file field's button and file name.
BROWSER_WORDS = {
    "required": _("field-fill-in", default="Fill in this field."),
    "required-choice": _("field-choose", default="Choose from the list."),
    "required-file": _("field-choose-file", default="Choose a file."),
    "email": _("field-email", default="Write an e-mail address, for example name@example.mn."),
    "pattern": _("field-pattern", default="This is not written the expected way."),
    "number-range": _("field-number-range", default="Write a whole number from ${min} to "
                      "${max}."),
    "invalid": _("field-check", default="Check what is written in this field."),
    "choose-file": _("file-choose", default="Choose file"),
    "choose-files": _("files-choose", default="Choose files"),
    "no-file": _("file-none", default="No file chosen"),
    "file-count": _("file-count", default="${count} files"),
}


def browser_words(localizer):
    """BROWSER_WORDS as the data- attributes of forms.js's script tag, translated (a
    ${name} the script fills in stays as it is)."""
    return {f"data-{key}": localizer.translate(word) for key, word in BROWSER_WORDS.items()}


def make_form(request, schema, buttons, bind=None, **kw):
    """Bind `schema` (an instance) to the request (and the `bind` values, for deferred nodes)
    and wrap it in a Deform form. The forms of one request number their fields from one
    counter: two forms on a page (a draft's fields and its PDF) would otherwise both start at
    deformField1, and a label would name the other form's field."""
    bound = schema.bind(request=request, **(bind or {}))
    counter = request.__dict__.setdefault("registry_form_fields", itertools.count())
    return deform.Form(bound, buttons=buttons, renderer=FORM_RENDERER, counter=counter, **kw)


#: What a page answers when its form is refused: the fields' own checks failed.
FORM_REFUSED = 400


def run_form(request, form, on_success, appstruct=None):
    """Validate a POSTed form and call `on_success(appstruct)`.

    Returns ("ok", result) when the form validated and `on_success` returned; ("form", html)
    to show the form (first visit, or with errors). A refused form answers a 4xx status, as
    the API does: 400 when a field's own check fails; a RegistryError from `on_success` is
    shown above the form and on the field it names, answers its own status (413 for a file
    too large, 415 for one that is not a PDF, 409 for a conflict, ...) and dooms the
    transaction, so nothing it began is committed.
    """
    if request.method != "POST":
        return "form", form.render(appstruct or {})
    controls = request.POST.items()
    try:
        values = form.validate(controls)
    except deform.ValidationFailure as failure:
        request.response.status = FORM_REFUSED
        return "form", failure.render()
    values.pop("csrf_token", None)
    try:
        return "ok", on_success(values)
    except RegistryError as exc:
        request.tm.doom()
        request.response.status = exc.status if 400 <= exc.status < 500 else FORM_REFUSED
        return "form", render_error(form, dict(request.POST), exc)


def render_error(form, cstruct, exc):
    """Render `form` with the RegistryError `exc` attached to its field (or the form)."""
    error = colander.Invalid(form.schema, exc.message)
    field_names = [child.name for child in form.schema.children]
    if exc.field in field_names:
        error.add(colander.Invalid(form.schema[exc.field], exc.message),
                  field_names.index(exc.field))
    form.widget.handle_error(form, error)
    return deform.ValidationFailure(form, cstruct, error).render()


def checked_by(check):
    """A colander validator from a domain check that raises RegistryError, so a form and the
    domain code refuse the same values with the same message."""

    def validator(node, value):
        try:
            check(value)
        except RegistryError as exc:
            raise colander.Invalid(node, exc.message) from None

    return validator


def flash(request, message):
    """Queue a message for the next page, translated now with the words it names (a
    transition's title is itself a message): the session keeps plain text."""
    localizer = request.localizer
    names = {key: localizer.translate(value) if isinstance(value, TranslationString) else value
             for key, value in (getattr(message, "mapping", None) or {}).items()}
    request.session.flash(localizer.translate(message, mapping=names or None))
