"""iCalendar export of an offering's sessions, with Europe/Oslo times."""

from __future__ import annotations

from datetime import date

from icalendar import Calendar, Event

from core.i18n import to_local
from enrollment.models import CourseOffering


def offering_ics(offering: CourseOffering, locale: str, host: str, course_url: str, *,
                 meeting_url: str = "") -> bytes:
    """One VCALENDAR with a VEVENT per session, times in Europe/Oslo with its VTIMEZONE.

    ``host`` (the UIDs' domain) and ``course_url`` come from ``PUBLIC_BASE_URL``
    (``core.web``), never from the request: the file is mailed and kept in calendars.
    ``meeting_url`` (a digital course's meeting link) is given only for the file mailed to a
    confirmed participant, never for the public download."""
    cal = Calendar()
    cal.add("prodid", "-//Kursportal//Statsforvaltaren//NO")
    cal.add("version", "2.0")
    cal.add("method", "PUBLISH")
    title = offering.title(locale)
    # When the offering last changed, not now: the same data gives the same bytes, so the
    # file's ETag holds and a calendar can be revalidated with 304.
    stamp = offering.updated_at
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
        event.add("url", course_url)
        if meeting_url:
            event.add("description", meeting_url)
        cal.add_component(event)
    if offering.sessions:
        # Only the years the sessions fall in: the default span (1970–2038) takes 40 ms to
        # compute and is in every enrollment e-mail, written while the offering is locked.
        first = to_local(min(s.starts_at for s in offering.sessions))
        last = to_local(max(s.ends_at for s in offering.sessions))
        cal.add_missing_timezones(first_date=date(first.year, 1, 1),
                                  last_date=date(last.year + 1, 1, 1))
    return cal.to_ical()
