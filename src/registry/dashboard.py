"""What the dashboards show, as plain data: an organisation's home page (what needs doing now,
and its charts) and the city-wide statistics (`/@stats`).

Everything here reads indexes and the monthly tallies (registry.statistics), never the letters
themselves: the home page costs O(the rows it lists + months + recipients drawn + executors),
the city's O(months + organisations active in the period × months), whatever the number of
letters. See docs/dashboard.md.
"""
from datetime import timedelta

from registry import dates, deadlines, desk, statistics, workdays
from registry import settings as registry_settings
from registry.errors import RegistryError
from registry.i18n import _
from registry.security import permissions as P

#: How many rows each list of the home page shows (the link leads to the whole list).
LIST_SIZE = 5
#: The months the charts cover (this month and the 11 before).
CHART_MONTHS = 12
#: The recipients the "time to registration" chart shows (those with most registrations).
TOP_RECIPIENTS = 10
#: The longest period the city's statistics answer for.
MAX_MONTHS = 120
#: What the city's table of organisations may be sorted by.
SORT_KEYS = ("regno", "name", *statistics.COUNTERS, "overdue", "median_registration_seconds",
             "median_answer_seconds")


def this_month(request):
    return statistics.month_of(request.now, request.registry.settings)


# An organisation's home page -----------------------------------------------------------------

def needs_doing(request, org, permits):
    """The home page's lists: {"register", "soon", "overdue", "rejected", "drafts"}, each
    {"items": [...], "total": n}, only those the account may see (`permits(permission, obj)`).
    Tasks are the organisation's with the control permission, else the account's own."""
    found = {}
    inbox, outbox = org["inbox"], org["outbox"]
    waiting, total = inbox.in_state(["delivered"], size=LIST_SIZE)
    if not waiting or permits(P.VIEW_DELIVERY, waiting[0]):
        found["register"] = {"items": waiting, "total": total}
    drafts, total = outbox.in_state(["draft"], size=LIST_SIZE)
    if not drafts or permits(P.VIEW_LETTER, drafts[0]):
        found["drafts"] = {"items": drafts, "total": total}
    rejected = [(outbox.get(name), regno, when)
                for name, regno, when in org.stats.recent_rejections(LIST_SIZE)]
    rejected = [row for row in rejected if row[0] is not None]
    if not rejected or permits(P.VIEW_LETTER, rejected[0][0]):
        found["rejected"] = {"items": rejected, "total": org.stats.rejected_total()}
    executor = None
    if not permits(P.CONTROL_TASKS, org):
        if not permits(P.VIEW_TASKS, org):
            return found
        executor = request.account.login
    today = desk.local_today(request)
    soon_end = workdays.add_working_days(today, deadlines.rules().due_soon_working_days,
                                         request.root.calendar) + timedelta(days=1)
    names, total = org.desk.due_within(today.isoformat(), soon_end.isoformat(),
                                       executor=executor, size=LIST_SIZE)
    found["soon"] = {"items": [inbox[name] for name in names], "total": total}
    names, total = org.desk.page(executor=executor, overdue_on=today.isoformat(),
                                 size=LIST_SIZE)
    found["overdue"] = {"items": [inbox[name] for name in names], "total": total}
    found["mine"] = executor is not None
    return found


def org_charts(request, org, with_executors):
    """The home page's charts as rows: letters in and out by month, time to registration by
    recipient (median, the busiest TOP_RECIPIENTS), time to answer by month (median), and
    (with `with_executors`) open and overdue tasks by executor."""
    last = this_month(request)
    first = statistics.shift(last, -(CHART_MONTHS - 1))
    months = []
    for month, counts in org.stats.period(first, last):
        months.append({"month": month,
                       "sent": counts.get("sent") if counts else 0,
                       "received": counts.get("received") if counts else 0,
                       "answered": counts.get("answered") if counts else 0,
                       "median_answer_seconds": statistics.median(
                           statistics.histogram_of(counts, "answer"))})
    recipients = []
    for regno, histogram in org.stats.by_recipient(first, last).items():
        recipient = request.root.orgs.get(regno)
        recipients.append({"regno": regno, "name": recipient.name if recipient else regno,
                           "registered": sum(histogram.values()),
                           "median_seconds": statistics.median(histogram)})
    recipients.sort(key=lambda row: (-row["registered"], row["regno"]))
    charts = {"first": first, "last": last, "months": months,
              "recipients": recipients[:TOP_RECIPIENTS]}
    if with_executors:
        today = desk.local_today(request).isoformat()
        charts["executors"] = sorted(
            ({"login": login, "name": (desk.person(request.root, login) or {}).get("name", login),
              "open": count, "overdue": org.desk.overdue_of(login, today)}
             for login, count in org.desk.executors()),
            key=lambda row: (-row["overdue"], -row["open"], row["login"]))
    return charts


# The city ------------------------------------------------------------------------------------

def period_params(request):
    """(first, last) months of `from` and `to` ("YYYY-MM"; default: the 12 months ending this
    month). Raises RegistryError(INVALID_PERIOD) for a malformed month, `from` after `to`, or
    more than MAX_MONTHS months."""
    last_default = this_month(request)
    values = {}
    for name, default in (("to", last_default),
                          ("from", None)):
        raw = request.params.get(name, "").strip()
        if not raw:
            values[name] = default
            continue
        try:
            year, month = dates.parse_month(raw)
        except ValueError:
            raise RegistryError("INVALID_PERIOD", dates.MONTH_FORMAT, field=name) from None
        values[name] = f"{year:04d}-{month:02d}"
    last = values["to"]
    first = values["from"] or statistics.shift(last, -(CHART_MONTHS - 1))
    if first > last or len(statistics.months_between(first, last)) > MAX_MONTHS:
        raise RegistryError("INVALID_PERIOD",
                            _("invalid-period", default="A period runs from a month to the "
                              "same or a later one, ${max} months at most.",
                              mapping={"max": MAX_MONTHS}), field="from")
    return first, last


def sort_params(request):
    """(key, descending) of `sort` (SORT_KEYS; default "sent") and `order` (asc|desc; default
    desc for numbers, asc for regno and name). Raises RegistryError(INVALID_SORT)."""
    key = request.params.get("sort", "sent")
    order = request.params.get("order", "")
    if key not in SORT_KEYS or order not in ("", "asc", "desc"):
        raise RegistryError("INVALID_SORT",
                            _("invalid-sort", default="Sort by one of ${keys}, in order asc "
                              "or desc.", mapping={"keys": ", ".join(SORT_KEYS)}),
                            field="sort" if key not in SORT_KEYS else "order")
    if not order:
        order = "asc" if key in ("regno", "name") else "desc"
    return key, order == "desc"


def _medians(histograms):
    return {f"median_{name}_seconds": statistics.median(histograms[name])
            for name in statistics.DURATIONS}


def city(site, first, last, today, settings, sort="sent", descending=True, start=0,
         size=25):
    """The city's statistics of the period: totals, months, what paper would have cost, and
    one page of the organisations active in it (sorted). Only counts and times, no letter
    content. `today` (a date) judges what is overdue now."""
    totals, histograms = site.stats.summary(first, last)
    overdue_on = today.isoformat()
    months = []
    for month, counts in site.stats.period(first, last):
        row = {"month": month, **dict.fromkeys(statistics.COUNTERS, 0)}
        if counts is not None:
            row.update({name: counts.get(name) for name in statistics.COUNTERS})
        months.append(row)
    active = set()
    for month in statistics.months_between(first, last):
        active.update(site.stats.active.get(month, ()))
    rows = []
    for regno in active:
        org = site.orgs.get(regno)
        if org is None:
            continue
        counted, org_histograms = org.stats.summary(first, last)
        rows.append({"regno": regno, "name": org.name, **counted,
                     "overdue": org.desk.count(overdue_on=overdue_on),
                     **_medians(org_histograms)})
    rows.sort(key=lambda row: row["regno"])
    rows.sort(key=lambda row: _sortable(row[sort]), reverse=descending)
    overdue = sum(site.orgs[regno].desk.count(overdue_on=overdue_on)
                  for regno in site.stats.orgs if regno in site.orgs)
    cost, days_low, days_high = registry_settings.paper_figures(settings)
    electronic = totals["received"] - totals["paper"]
    return {
        "period": {"from": first, "to": last},
        "totals": {**totals, "overdue": overdue, **_medians(histograms)},
        "paper": {"letters": electronic, "cost_per_letter": cost, "currency": "MNT",
                  "cost": electronic * cost,
                  "days_saved": {"min": electronic * days_low, "max": electronic * days_high}},
        "months": months,
        "organisations": rows[start:start + size],
        "organisations_total": len(rows),
    }


def _sortable(value):
    """None (no median) sorts below every number; names sort case-folded."""
    if value is None:
        return (0, 0)
    return (1, value.casefold() if isinstance(value, str) else value)
