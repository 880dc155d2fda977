"""The iCalendar download of an offering's sessions."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from icalendar import Calendar


def test_ics_has_one_event_per_session_in_oslo_time(client, make_offering):
    # 2030-03-29 and 2030-03-30 straddle the start of summer time in Oslo (31 March),
    # 2030-03-31 is the changeover day itself.
    offering = make_offering(first_day=datetime(2030, 3, 29, tzinfo=UTC), days=3,
                             session_hours=(7, 14), title_nb="Akuttkurs")
    response = client.get(f"/courses/{offering.id}.ics", headers={"Accept-Language": "nb"})
    assert response.status_code == 200
    assert response.mimetype == "text/calendar"
    assert "attachment" in response.headers["Content-Disposition"]

    calendar = Calendar.from_ical(response.data)
    events = list(calendar.walk("VEVENT"))
    assert len(events) == 3
    oslo = ZoneInfo("Europe/Oslo")
    starts = [e.decoded("dtstart") for e in events]
    assert [s.astimezone(UTC) for s in starts] == [
        datetime(2030, 3, 29, 7, tzinfo=UTC), datetime(2030, 3, 30, 7, tzinfo=UTC),
        datetime(2030, 3, 31, 7, tzinfo=UTC),
    ]
    assert [s.astimezone(oslo).hour for s in starts] == [8, 8, 9]
    assert all(str(e["dtstart"].params["TZID"]) == "Europe/Oslo" for e in events)
    assert [str(e["summary"]) for e in events] == [
        "Akuttkurs (1/3)", "Akuttkurs (2/3)", "Akuttkurs (3/3)"]
    assert all(e.decoded("dtend") > e.decoded("dtstart") for e in events)
    assert len({str(e["uid"]) for e in events}) == 3
    assert list(calendar.walk("VTIMEZONE"))[0]["tzid"] == "Europe/Oslo"


def test_ics_of_unknown_offering_is_404(client):
    assert client.get("/courses/4242.ics").status_code == 404
