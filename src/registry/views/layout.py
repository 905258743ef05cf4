"""What every page's layout needs: the account, the navigation, the language switch, CSRF."""
from datetime import datetime

from pyramid.events import BeforeRender, subscriber

from registry import dates
from registry import settings as registry_settings
from registry.i18n import LOCALE_NAMES, LOCALES, _
from registry.security import permissions as P
from registry.views.forms import browser_words


class Layout:
    def __init__(self, request):
        self.request = request
        self.account = request.account
        self.org = request.root.orgs.get(self.account.org) if self.account else None
        self.locale = request.locale_name
        self.other_locales = [(code, LOCALE_NAMES[code]) for code in LOCALES
                              if code != self.locale]

    @property
    def csrf_token(self):
        return self.request.session.get_csrf_token()

    def static(self, path):
        return self.request.static_url(f"registry:static/{path}")

    def deform_static(self, path):
        return self.request.static_url(f"deform:static/{path}")

    def nav(self):
        """[(label, url, current)] for the signed-in account: only what it may open."""
        request, site = self.request, self.request.root
        items = []
        if self.org is not None and request.has_permission(P.VIEW_MAILBOX, self.org):
            items += [
                (_("Inbox"), request.resource_url(self.org["inbox"])),
                (_("Outbox"), request.resource_url(self.org["outbox"])),
                (_("Drafts"), request.resource_url(self.org["outbox"], query={"state": "draft"})),
                (_("Handover"), request.resource_url(self.org["handovers"])),
            ]
        if self.org is not None and request.has_permission(P.READ_JOURNAL, self.org):
            items.append((_("journal-nav", default="Journal"),
                          request.resource_url(self.org, "@@journal")))
        if self.org is not None and request.has_permission(P.VIEW_TASKS, self.org):
            items.append((_("My tasks"), request.resource_url(self.org, "@@tasks")))
        if self.org is not None and request.has_permission(P.CONTROL_TASKS, self.org):
            items.append((_("Control"), request.resource_url(self.org, "@@control")))
        if self.org is not None and request.has_permission(P.SEARCH_LETTERS, self.org):
            items.append((_("Search"), request.resource_url(site, "@search")))
        if request.has_permission(P.VIEW_DIRECTORY, site.orgs):
            items.append((_("Directory"), request.resource_url(site.orgs)))
        if self.org is not None and request.has_permission(P.MANAGE_ACCOUNTS, self.org):
            items.append((_("Accounts"), request.resource_url(self.org, "@@accounts")))
        if request.has_permission(P.LIST_ACCOUNTS, site.users):
            items.append((_("Admin"), request.resource_url(site.users)))
        if request.has_permission(P.REVIEW_REPORTS, site.reports):
            items.append((_("Reports"), request.resource_url(site.reports)))
        if request.has_permission(P.VIEW_STATS, site):
            items.append((_("Statistics"), request.resource_url(site, "@@stats")))
        if request.has_permission(P.MANAGE_CALENDAR, site):
            items.append((_("Calendar"), request.resource_url(site, "@@calendar")))
        if request.has_permission(P.VIEW_AUDIT, site.audit):
            items.append((_("Audit"), request.resource_url(site.audit)))
        here = request.path_url
        matching = [url for _label, url in items if here.startswith(url)]
        current = max(matching, key=len) if matching else None
        return [(label, url, url == current) for label, url in items]

    @property
    def unread(self):
        """The signed-in account's unread notifications (for the bell)."""
        return self.request.root.notifications.unread_count(self.account.login)

    def local(self, when, pattern="%Y-%m-%d %H:%M"):
        """A time shown in the registry's time zone (Ulaanbaatar), never in UTC."""
        if when is None:
            return ""
        if isinstance(when, str):  # an ISO time, as history entries keep it
            when = datetime.fromisoformat(when)
        return when.astimezone(registry_settings.zone(self.request.registry.settings)
                               ).strftime(pattern)

    def person(self, login):
        """An account as pages name it: its full name (its login only when it has none, or
        for an actor that is no account, such as the registry itself)."""
        user = self.request.root.users.get(login) if login else None
        return (user.fullname or user.login) if user is not None else (login or "")

    @property
    def day_input(self):
        """The attributes of a date field (`dates.input_attributes`)."""
        return dates.input_attributes(self.request.localizer)

    @property
    def month_input(self):
        """The attributes of a month field."""
        return dates.input_attributes(self.request.localizer, month=True)

    @property
    def browser_words(self):
        """The data- attributes of forms.js's script tag (`forms.browser_words`)."""
        return browser_words(self.request.localizer)

    def flashes(self):
        return self.request.session.pop_flash()


@subscriber(BeforeRender)
def add_layout(event):
    request = event.get("request")
    if request is not None and event.get("renderer_name", "").endswith(".pt"):
        event["layout"] = Layout(request)
