"""Mongolia's working-day calendar: weekends, public holidays and the site's own changes.

Public holidays come from the maintained `holidays` package (it knows the lunar Tsagaan Sar and
Chinggis Khaan's birthday, which move every year). A government resolution can move a holiday
or make a Saturday a working day: the site administrator records such a day in the site's
`WorkCalendar` (audited), and that record wins over the package and the weekend.

Every function takes plain dates; "today" always comes from the caller (an injectable clock).
"""
from datetime import date, timedelta
from functools import lru_cache

import holidays
from BTrees.OOBTree import OOBTree
from persistent import Persistent

from registry import dates
from registry.errors import NotFound, RegistryError
from registry.i18n import _
from registry.safetext import check_text

OFF, WORKING = "off", "working"
NOTE_MAX = 200
#: A term longer than this many working days is a mistake, not a deadline.
MAX_TERM = 366


@lru_cache(maxsize=64)
def public_holidays(year):
    """{date: name} of Mongolia's public holidays in `year` (English names of the package)."""
    return dict(holidays.country_holidays("MN", years=year, language="en_US"))


class WorkCalendar(Persistent):
    """The site's changes to the calendar: ISO date -> (OFF or WORKING, note)."""

    def __init__(self):
        self.days = OOBTree()

    def change(self, day):
        """(kind, note) recorded for `day`, or None."""
        return self.days.get(day.isoformat())

    def changes(self, year=None):
        """[(date, kind, note)] in date order, of one year or all."""
        keys = self.days.keys(f"{year}-01-01", f"{year}-12-31") if year else self.days.keys()
        return [(date.fromisoformat(k), *self.days[k]) for k in keys]


def is_working_day(day, calendar=None):
    """True for a working day: the site's record for the day if any, else Monday to Friday
    and not a public holiday."""
    changed = calendar.change(day) if calendar is not None else None
    if changed is not None:
        return changed[0] == WORKING
    return day.weekday() < 5 and day not in public_holidays(day.year)


def add_working_days(start, days, calendar=None):
    """The `days`-th working day after `start` (day 1 is the first working day after it)."""
    day, left = start, days
    while left > 0:
        day += timedelta(days=1)
        if is_working_day(day, calendar):
            left -= 1
    return day


def next_working_day(day, calendar=None):
    """`day` itself when it is a working day, else the first working day after it."""
    while not is_working_day(day, calendar):
        day += timedelta(days=1)
    return day


def add_calendar_days(start, days, calendar=None):
    """`days` calendar days after `start`; a term that ends on a day off ends on the next
    working day."""
    return next_working_day(start + timedelta(days=days), calendar)


def clean_day(value, field="day"):
    day = dates.clean_day(value, field)
    if day is None:
        raise RegistryError("INVALID_DATE", dates.DAY_FORMAT, field=field)
    return day


def declare(site, actor, day, kind, note=""):
    """Record `day` as a day off or a working day (kind OFF or WORKING) with a note; audited.
    Raises RegistryError on a bad date, kind or note."""
    day = clean_day(day)
    if kind not in (OFF, WORKING):
        raise RegistryError("INVALID_DAY_KIND", _("A day is declared 'off' or 'working'."),
                            field="kind")
    note = " ".join(check_text(note or "", "note").split())[:NOTE_MAX]
    if not note:
        raise RegistryError("COMMENT_REQUIRED", _("Give a reason."), field="note")
    before = site.calendar.change(day)
    site.calendar.days[day.isoformat()] = (kind, note)
    site.audit.append(actor, "calendar.declare", target="/@@calendar", org=None,
                      detail={"day": day.isoformat(), "kind": kind, "note": note,
                              "before": list(before) if before else None})
    return day


def clear(site, actor, day):
    """Forget the site's record for `day` (the package and the weekend decide again); audited.
    Raises NotFound when there is none."""
    day = clean_day(day)
    before = site.calendar.change(day)
    if before is None:
        raise NotFound("NO_SUCH_DAY", _("Nothing is declared for that day."), field="day")
    del site.calendar.days[day.isoformat()]
    site.audit.append(actor, "calendar.clear", target="/@@calendar", org=None,
                      detail={"day": day.isoformat(), "before": list(before)})
    return day
