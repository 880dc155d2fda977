"""iCalendar export of an offering's sessions, with Europe/Oslo times."""

from __future__ import annotations

from icalendar import Calendar, Event

from core.db import utcnow
from core.i18n import to_local
from enrollment.models import CourseOffering


def offering_ics(offering: CourseOffering, locale: str, host: str) -> bytes:
    """One VCALENDAR with a VEVENT per session, times in Europe/Oslo with its VTIMEZONE."""
    cal = Calendar()
    cal.add("prodid", "-//Kursportal//Statsforvaltaren//NO")
    cal.add("version", "2.0")
    cal.add("method", "PUBLISH")
    title = offering.title(locale)
    stamp = utcnow()
    for number, session in enumerate(offering.sessions, start=1):
        event = Event()
        event.add("uid", f"session-{session.id}@{host}")
        event.add("dtstamp", stamp)
        event.add("dtstart", to_local(session.starts_at))
        event.add("dtend", to_local(session.ends_at))
        count = len(offering.sessions)
        event.add("summary", title if count == 1 else f"{title} ({number}/{count})")
        event.add("location", session.place or offering.venue)
        event.add("organizer", f"mailto:{offering.county.email}")
        cal.add_component(event)
    cal.add_missing_timezones()
    return cal.to_ical()
