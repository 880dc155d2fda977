"""Staff attendance pages and the dashboard: what staff see, what the database then holds.

Every test runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from core.audit import AuditEvent
from core.auth import StaffUser
from core.collation import sort_key
from core.db import session_scope
from core.i18n import format_clock, format_day
from enrollment.audit import ATTENDANCE_ACTION
from enrollment.models import (
    Attendance,
    CohortScheme,
    CourseOffering,
    CourseSession,
    Enrollment,
    EnrollmentStatus,
    ManageLink,
    OfferingStatus,
    Participant,
    Role,
)
from enrollment.services.attendance import (
    AttendanceNotOpen,
    Mark,
    save_attendance,
)
from enrollment.services.cohorts import cohorts_around

# The page's behaviour; the data rules under it are tested on both databases (conftest).
pytestmark = pytest.mark.one_database

S = EnrollmentStatus


# --- helpers ------------------------------------------------------------------------------------


def engine_of(app):
    return app.extensions["kp_engine"]


def page(response) -> str:
    """The response body with HTML entities resolved."""
    return html.unescape(response.get_data(as_text=True))


def add_people(app, offering_id: int, people: dict[str, EnrollmentStatus],
               employer: str = "Bergen kommune") -> dict[str, int]:
    """Enroll each named person with the given status; returns {name: enrollment id}."""
    ids = {}
    with app.app_context(), session_scope(engine_of(app)) as session:
        offering = session.get(CourseOffering, offering_id)
        for name, status in people.items():
            number = session.scalar(sa.select(sa.func.count()).select_from(Participant)) or 0
            participant = Participant(full_name=name, email=f"p{number}@example.org",
                                      role=Role.LIS1, employer=employer)
            enrollment = Enrollment(offering=offering, participant=participant, status=status,
                                    manage_links=[ManageLink(
                                        token_hash=f"{offering_id}-{number}-{name}"[:64])])
            session.add(enrollment)
            session.flush()
            if status == S.CONFIRMED:
                offering.seats_taken += 1
            ids[name] = enrollment.id
    return ids


def session_ids(app, offering_id: int) -> list[int]:
    with app.app_context(), session_scope(engine_of(app)) as session:
        return list(session.scalars(
            sa.select(CourseSession.id).where(CourseSession.offering_id == offering_id)
            .order_by(CourseSession.starts_at)))


def marks(app, session_id: int) -> dict[int, bool]:
    """The attendance rows of a course day: {enrollment id: present}."""
    with app.app_context(), session_scope(engine_of(app)) as session:
        return dict(session.execute(
            sa.select(Attendance.enrollment_id, Attendance.present)
            .where(Attendance.session_id == session_id)).all())


def audit_events(app) -> list[AuditEvent]:
    with app.app_context(), session_scope(engine_of(app)) as session:
        return list(session.scalars(
            sa.select(AuditEvent).where(AuditEvent.action == ATTENDANCE_ACTION)
            .order_by(AuditEvent.id)))


def chosen(body: str) -> dict[int, str]:
    """The preselected mark of each person on the form: {enrollment id: value}."""
    return {int(eid): value for eid, value in re.findall(
        r'name="mark-(\d+)" value="(\w+)"[^>]*\bchecked\b', body)}


def checked_ids(body: str) -> set[int]:
    """Who the form shows as present."""
    return {eid for eid, value in chosen(body).items() if value == "present"}


def listed_ids(body: str) -> set[int]:
    return {int(v) for v in re.findall(r'name="mark-(\d+)" value="present"', body)}


def marks_form(present=(), absent=(), not_recorded=()) -> dict[str, str]:
    """The attendance form as a browser sends it, with Save pressed."""
    data = {"save": "Save"}
    for value, ids in (("present", present), ("absent", absent),
                       ("not_recorded", not_recorded)):
        data.update({f"mark-{eid}": value for eid in ids})
    return data


@pytest.fixture
def past_offering(make_offering, now):
    """A published Vestland offering of the current cohort whose two days have ended."""

    def factory(**values):
        first_day = (now - timedelta(days=10)).replace(hour=0, minute=0, second=0, microsecond=0)
        values.setdefault("cohort", cohorts_around(CohortScheme.MUNICIPAL_START, now.date())[0])
        return make_offering(first_day=first_day, **values)

    return factory


PEOPLE = {
    "Åse Ødegård": S.CONFIRMED,
    "Máret Čuđđá": S.CONFIRMED,
    "Ŋŧž Šđč": S.CONFIRMED,
    "Walter Waiting": S.WAITLISTED,
    "Carl Cancelled": S.CANCELLED,
    "Petra Pending": S.PENDING,
    "Rita Rejected": S.REJECTED,
}


# --- the attendance page ------------------------------------------------------------------------


def test_attendance_page_lists_only_confirmed_participants(app, client, past_offering,
                                                           make_staff, login):
    offering = past_offering()
    ids = add_people(app, offering.id, PEOPLE)
    day = session_ids(app, offering.id)[0]
    make_staff()
    login()

    response = client.get(f"/staff/sessions/{day}/attendance")

    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    body = page(response)
    for name in ("Åse Ødegård", "Máret Čuđđá", "Ŋŧž Šđč"):
        assert name in body
    for name in ("Walter Waiting", "Carl Cancelled", "Petra Pending", "Rita Rejected"):
        assert name not in body
    confirmed = {ids[n] for n, s in PEOPLE.items() if s == S.CONFIRMED}
    assert listed_ids(body) == confirmed
    assert checked_ids(body) == set()
    # Nobody is marked yet: each person's radio group starts at "Not recorded".
    assert chosen(body) == dict.fromkeys(confirmed, "not_recorded")
    for eid in confirmed:
        assert body.count(f'name="mark-{eid}"') == 3
        assert f'<fieldset class="mark ds-fieldset" aria-labelledby="name-{eid}">' in body


def test_saving_attendance_stores_present_and_absent_and_one_audit_event(
        app, client, past_offering, make_staff, login):
    offering = past_offering()
    ids = add_people(app, offering.id, PEOPLE)
    day = session_ids(app, offering.id)[0]
    staff_id = make_staff()
    login()
    ase, maret, ng = ids["Åse Ødegård"], ids["Máret Čuđđá"], ids["Ŋŧž Šđč"]

    response = client.post(f"/staff/sessions/{day}/attendance",
                           data=marks_form(present=[ase, ng], absent=[maret]))

    assert response.status_code == 302
    assert response.location.endswith(f"/staff/sessions/{day}/attendance")
    assert marks(app, day) == {ase: True, maret: False, ng: True}
    events = audit_events(app)
    assert len(events) == 1
    event = events[0]
    assert (event.actor_id, event.object_type, event.object_id) == (staff_id, "course_session", day)
    assert event.county_id == offering.county_id
    assert event.before == {str(ase): None, str(maret): None, str(ng): None}
    assert event.after == {str(ase): True, str(maret): False, str(ng): True}

    shown = client.get(response.location)
    body = page(shown)
    assert "Attendance saved: 2 present, 1 absent, 0 not recorded." in body
    assert chosen(body) == {ase: "present", maret: "absent", ng: "present"}
    # The other day of the course is untouched.
    assert marks(app, session_ids(app, offering.id)[1]) == {}


def test_resaving_changes_marks_and_writes_one_more_event_with_before_and_after(
        app, client, past_offering, make_staff, login):
    offering = past_offering()
    ids = add_people(app, offering.id, PEOPLE)
    day = session_ids(app, offering.id)[0]
    make_staff()
    login()
    ase, maret, ng = ids["Åse Ødegård"], ids["Máret Čuđđá"], ids["Ŋŧž Šđč"]
    url = f"/staff/sessions/{day}/attendance"
    client.post(url, data=marks_form(present=[ase, ng], absent=[maret]))

    response = client.post(url, data=marks_form(present=[maret], absent=[ase, ng]))

    assert response.status_code == 302
    assert marks(app, day) == {ase: False, maret: True, ng: False}
    events = audit_events(app)
    assert len(events) == 2
    assert events[1].before == {str(ase): True, str(maret): False, str(ng): True}
    assert events[1].after == {str(ase): False, str(maret): True, str(ng): False}
    assert checked_ids(page(client.get(url))) == {maret}

    # Marking everyone absent is a save too: one more event.
    client.post(url, data=marks_form(absent=[ase, maret, ng]))
    assert marks(app, day) == {ase: False, maret: False, ng: False}
    assert len(audit_events(app)) == 3


def test_mark_everyone_fills_in_the_form_without_saving(app, client, past_offering, make_staff,
                                                       login):
    offering = past_offering()
    ids = add_people(app, offering.id, PEOPLE)
    day = session_ids(app, offering.id)[0]
    make_staff()
    login()
    url = f"/staff/sessions/{day}/attendance"

    response = client.post(url, data={"mark_all": "Mark everyone present"})

    assert response.status_code == 200
    body = page(response)
    assert "Not saved yet" in body
    assert checked_ids(body) == {ids[n] for n, s in PEOPLE.items() if s == S.CONFIRMED}
    assert marks(app, day) == {}
    assert audit_events(app) == []

    client.post(url, data=marks_form(present=[ids["Åse Ødegård"]]))
    none = client.post(url, data={f"mark-{ids['Åse Ødegård']}": "present",
                                  "mark_none": "Mark everyone absent"})
    assert none.status_code == 200
    assert checked_ids(page(none)) == set()
    assert set(chosen(page(none)).values()) == {"absent"}
    assert marks(app, day) == {ids["Åse Ødegård"]: True}
    assert len(audit_events(app)) == 1


def test_ids_not_on_the_roster_are_ignored(app, client, past_offering, make_staff, login):
    offering = past_offering()
    ids = add_people(app, offering.id, PEOPLE)
    day = session_ids(app, offering.id)[0]
    make_staff()
    login()

    response = client.post(f"/staff/sessions/{day}/attendance",
                           data={f"mark-{ids['Walter Waiting']}": "present",
                                 "mark-99999": "present", "save": "Save"})

    # Only what staff chose for people on the roster is stored: here, nothing.
    assert response.status_code == 302
    assert marks(app, day) == {}


def test_garbage_in_the_form_is_refused(app, client, past_offering, make_staff, login):
    offering = past_offering()
    add_people(app, offering.id, PEOPLE)
    day = session_ids(app, offering.id)[0]
    make_staff()
    login()

    ase = add_people(app, offering.id, {"Extra Person": S.CONFIRMED})["Extra Person"]
    response = client.post(f"/staff/sessions/{day}/attendance",
                           data={f"mark-{ase}": "abc", "save": "Save"})

    assert response.status_code == 400
    assert marks(app, day) == {}
    assert audit_events(app) == []
    # The error summary names the person and leads to their radio group, which says why.
    body = page(response)
    assert "<title>Error: " in body
    summary = body.split('id="error-summary"', 1)[1].split("</div>", 1)[0]
    assert (f'<a class="ds-link" href="#mark-{ase}-present">'
            "Extra Person: choose present, absent or not recorded.</a>") in summary
    for value in ("present", "absent", "not_recorded"):
        assert re.search(rf'id="mark-{ase}-{value}"[^>]*aria-invalid="true" '
                         rf'aria-describedby="mark-{ase}-error"', body)
    assert f'id="mark-{ase}-error"><p>Extra Person: choose present' in body


def test_roster_is_in_norwegian_name_order():
    names = ["Åse", "Zeta", "Ærlig", "Øystein", "Anders", "Ánde"]
    assert sorted(names, key=sort_key) == ["Ánde", "Anders", "Zeta", "Ærlig", "Øystein",
                                                "Åse"]


# --- county scoping -----------------------------------------------------------------------------


def test_staff_of_another_county_get_404_on_every_route(app, client, past_offering, make_staff,
                                                        login):
    offering = past_offering(title_en="Vestland only")
    ids = add_people(app, offering.id, {"Åse Ødegård": S.CONFIRMED})
    day = session_ids(app, offering.id)[0]
    make_staff(email="ola@sfno.no", county="nordland")
    login("ola@sfno.no")

    assert client.get(f"/staff/sessions/{day}/attendance").status_code == 404
    assert client.post(f"/staff/sessions/{day}/attendance",
                       data=marks_form(present=[ids["Åse Ødegård"]])).status_code == 404
    assert client.get(f"/staff/sessions/{day}/sign-in.pdf").status_code == 404
    assert client.get("/staff/sessions/99999/attendance").status_code == 404
    dashboard = client.get("/staff/")
    assert dashboard.status_code == 200
    assert "Vestland only" not in page(dashboard)
    assert "There are no course offerings for these cohorts." in page(dashboard)
    # County staff cannot pick another county on the dashboard.
    assert client.get("/staff/?county=vestland").status_code == 404
    assert marks(app, day) == {}
    assert audit_events(app) == []


def test_routes_need_a_login(app, client, past_offering):
    offering = past_offering()
    day = session_ids(app, offering.id)[0]
    for url in (f"/staff/sessions/{day}/attendance", f"/staff/sessions/{day}/sign-in.pdf",
                "/staff/"):
        response = client.get(url)
        assert response.status_code == 302
        assert "/staff/login" in response.location


def test_administrator_sees_and_marks_every_county(app, client, past_offering, make_staff,
                                                  login):
    vestland = past_offering(title_en="Vestland course")
    nordland = past_offering(county="nordland", title_en="Nordland course")
    ids = add_people(app, nordland.id, {"Máret Čuđđá": S.CONFIRMED})
    day = session_ids(app, nordland.id)[0]
    make_staff(email="admin@sf.no", admin=True)
    login("admin@sf.no")

    body = page(client.get("/staff/"))
    assert "Vestland course" in body
    assert "Nordland course" in body
    only = page(client.get("/staff/?county=nordland"))
    assert "Nordland course" in only
    assert "Vestland course" not in only
    assert client.get("/staff/?county=nowhere").status_code == 404
    assert client.post(f"/staff/sessions/{day}/attendance",
                       data=marks_form(present=[ids["Máret Čuđđá"]])).status_code == 302
    assert marks(app, day) == {ids["Máret Čuđđá"]: True}
    assert vestland.id != nordland.id


# --- the dashboard ------------------------------------------------------------------------------


def dashboard_row(body: str, title: str) -> list[str]:
    """The cells of the offerings table row of ``title``, as text."""
    match = re.search(rf'<th scope="row">{re.escape(title)}</th>(.*?)</tr>', body, re.S)
    assert match, title
    return [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>",
                                                                  match.group(1), re.S)]


def summary(body: str) -> dict[str, str]:
    return {dt: dd.strip() for dt, dd in re.findall(r"<dt>(.*?)</dt><dd>(.*?)</dd>", body)}


def test_dashboard_figures_match_the_database(app, client, past_offering, make_offering,
                                              make_staff, login, now):
    current, following = cohorts_around(CohortScheme.MUNICIPAL_START, now.date())
    full = past_offering(title_en="Course A", capacity=4)
    a = add_people(app, full.id, {
        "A1": S.CONFIRMED, "A2": S.CONFIRMED, "A3": S.CONFIRMED, "A4": S.CONFIRMED,
        "W1": S.WAITLISTED, "W2": S.WAITLISTED, "P1": S.PENDING, "X1": S.CANCELLED,
    })
    later = make_offering(title_en="Course B", capacity=10, cohort=following)
    add_people(app, later.id, {"B1": S.CONFIRMED, "B2": S.PENDING})
    past_offering(title_en="Cancelled course", status=OfferingStatus.CANCELLED)
    past_offering(title_en="Old cohort", cohort=current - timedelta(days=200))
    past_offering(title_en="Other county", county="nordland")
    first_day, second_day = session_ids(app, full.id)
    make_staff()
    login()
    client.post(f"/staff/sessions/{first_day}/attendance",
                data=marks_form(present=[a["A1"], a["A2"], a["A3"]], absent=[a["A4"]]))

    body = page(client.get("/staff/"))

    for hidden in ("Cancelled course", "Old cohort", "Other county"):
        assert hidden not in body
    with app.app_context(), session_scope(engine_of(app)) as session:
        def count(offering_id, status):
            return session.scalar(sa.select(sa.func.count()).select_from(Enrollment).where(
                Enrollment.offering_id == offering_id, Enrollment.status == status))
        present = session.scalar(sa.select(sa.func.count()).select_from(Attendance).where(
            Attendance.session_id.in_([first_day, second_day]), Attendance.present))
        marked = session.scalar(sa.select(sa.func.count()).select_from(Attendance).where(
            Attendance.session_id.in_([first_day, second_day])))
        seats_taken = session.get(CourseOffering, full.id).seats_taken
        expected_a = [str(count(full.id, S.CONFIRMED)), "4", str(count(full.id, S.WAITLISTED)),
                      str(count(full.id, S.PENDING))]
        expected_b = [str(count(later.id, S.CONFIRMED)), "10",
                      str(count(later.id, S.WAITLISTED)), str(count(later.id, S.PENDING))]
    assert (present, marked, seats_taken) == (3, 4, 4)
    row_a = dashboard_row(body, "Course A")
    assert row_a[1:5] == expected_a == ["4", "4", "2", "1"]
    assert row_a[5] == "75% (3 of 4)"
    row_b = dashboard_row(body, "Course B")
    assert row_b[1:5] == expected_b == ["1", "10", "0", "1"]
    assert row_b[5] == "–"
    totals = summary(body)
    assert totals["Course offerings"] == "2"
    assert totals["Seats filled"] == "5 of 14"
    assert totals["Waiting list"] == "2"
    assert totals["Pending approval"] == "2"
    assert totals["Attendance at past course days"] == "75%"
    assert totals["Past course days not marked"] == "1"
    # The charts say the same in words, and draw the same numbers.
    assert "Course A: 4 of 4 seats filled, 2 on the waiting list." in body
    assert "Course A: 75% present." in body
    # Labels and figures are HTML text (readable at 320 px), not text drawn in the SVG.
    assert '<span class="bar-label">Course A</span>' in body
    assert '<span class="bar-value">4/4 + 2</span>' in body
    assert "<text" not in body
    # No script or style of its own: only the site's error-summary.js, from a file.
    assert re.findall(r"<script[^>]*>", body) == [
        re.search(r'<script src="/static/error-summary\.js[^"]*" defer>', body).group(0)]
    assert "style=" not in body
    # Each course day links to its attendance page and sign-in sheet.
    assert "3 of 4 present" in body
    assert f"/staff/sessions/{second_day}/sign-in.pdf" in body


def test_dashboard_query_count_does_not_grow_with_offerings(app, client, make_offering,
                                                            make_staff, login, count_queries,
                                                            now):
    cohort = cohorts_around(CohortScheme.MUNICIPAL_START, now.date())[1]

    def add_offerings(n, start):
        for i in range(start, start + n):
            offering = make_offering(title_en=f"Course {i}", cohort=cohort, capacity=2,
                                     county="vestland" if i % 2 else "nordland")
            add_people(app, offering.id, {f"C{i}a": S.CONFIRMED, f"C{i}b": S.CONFIRMED,
                                          f"W{i}": S.WAITLISTED})

    make_staff(email="admin@sf.no", admin=True)
    login("admin@sf.no")
    add_offerings(3, 0)
    with count_queries() as few:
        small = client.get("/staff/")
    add_offerings(27, 3)
    with count_queries() as many:
        large = client.get("/staff/")

    assert small.status_code == large.status_code == 200
    assert page(large).count('<th scope="row">Course ') == 30
    assert len(few) == len(many), (few, many)


# --- the time rule: attendance only once the course day has begun ------------------------------

OPENS = {"nn": "Oppmøte kan førast frå {day} kl. {time}.",
         "nb": "Oppmøte kan føres fra {day} kl. {time}.",
         "en": "Attendance can be recorded from {day} at {time}."}
REFUSED = {"nn": "Ingenting vart lagra: denne kursdagen har ikkje byrja enno.",
           "nb": "Ingenting ble lagret: denne kursdagen har ikke begynt ennå.",
           "en": "Nothing was saved: this course day has not begun yet."}


@pytest.mark.parametrize("lang", ["nn", "nb", "en"])
def test_future_course_day_shows_when_attendance_opens_and_refuses_a_save(
        app, client, make_offering, make_staff, login, lang):
    offering = make_offering()  # 40 days ahead
    ids = add_people(app, offering.id, {"Åse Ødegård": S.CONFIRMED, "Máret Čuđđá": S.CONFIRMED})
    day = session_ids(app, offering.id)[0]
    make_staff()
    login()
    client.get(f"/lang/{lang}")
    with app.app_context(), session_scope(engine_of(app)) as session:
        starts_at = session.get(CourseSession, day).starts_at
    opens = OPENS[lang].format(day=format_day(starts_at, lang), time=format_clock(starts_at, lang))
    url = f"/staff/sessions/{day}/attendance"

    shown = client.get(url)

    assert shown.status_code == 200
    body = page(shown)
    assert opens in body
    assert "Åse Ødegård" in body  # the roster is there, the form is not
    assert 'name="mark-' not in body
    assert "<form method=\"post\" novalidate" not in body

    for data in (marks_form(present=ids.values()),
                 marks_form(absent=[ids["Åse Ødegård"]]),
                 {"mark_all": "x", **{f"mark-{e}": "present" for e in ids.values()}}):
        refused = client.post(url, data=data)
        assert refused.status_code == 409
        assert REFUSED[lang] in page(refused)
        assert opens in page(refused)
    assert marks(app, day) == {}
    assert audit_events(app) == []


def test_a_course_day_under_way_can_be_marked(app, client, make_offering, make_staff, login,
                                              now):
    # The day began an hour ago and ends in five.
    offering = make_offering(days=1, first_day=now - timedelta(hours=1), session_hours=(0, 6))
    ids = add_people(app, offering.id, {"Åse Ødegård": S.CONFIRMED})
    day = session_ids(app, offering.id)[0]
    make_staff()
    login()

    response = client.post(f"/staff/sessions/{day}/attendance",
                           data=marks_form(present=[ids["Åse Ødegård"]]))

    assert response.status_code == 302
    assert marks(app, day) == {ids["Åse Ødegård"]: True}


def test_the_service_refuses_attendance_before_the_day_begins(app, make_offering, make_staff,
                                                               now):
    offering = make_offering()
    ids = add_people(app, offering.id, {"Åse Ødegård": S.CONFIRMED})
    day = session_ids(app, offering.id)[0]
    staff_id = make_staff()
    with app.app_context(), session_scope(engine_of(app)) as session:
        course_session = session.get(CourseSession, day)
        actor = session.get(StaffUser, staff_id)
        with pytest.raises(AttendanceNotOpen) as refused:
            save_attendance(session, course_session, {ids["Åse Ødegård"]: Mark.PRESENT},
                            actor, now=course_session.starts_at - timedelta(seconds=1))
        assert refused.value.opens_at == course_session.starts_at
        # At the very moment it begins, it can.
        saved = save_attendance(session, course_session, {ids["Åse Ødegård"]: Mark.PRESENT},
                                actor, now=course_session.starts_at)
        assert saved.present == 1
    assert marks(app, day) == {ids["Åse Ødegård"]: True}


# --- absent is a mark of its own, distinct from not recorded ------------------------------------


def test_absent_and_not_recorded_are_stored_differently_and_corrections_are_audited(
        app, client, past_offering, make_staff, login):
    offering = past_offering()
    ids = add_people(app, offering.id, PEOPLE)
    day = session_ids(app, offering.id)[0]
    make_staff()
    login()
    ase, maret, ng = ids["Åse Ødegård"], ids["Máret Čuđđá"], ids["Ŋŧž Šđč"]
    url = f"/staff/sessions/{day}/attendance"

    # Åse came, Máret did not show up, and nobody knows about Ŋŧž yet.
    client.post(url, data=marks_form(present=[ase], absent=[maret], not_recorded=[ng]))

    assert marks(app, day) == {ase: True, maret: False}  # no row for "not recorded"
    body = page(client.get(url))
    assert "Attendance saved: 1 present, 1 absent, 1 not recorded." in body
    assert chosen(body) == {ase: "present", maret: "absent", ng: "not_recorded"}

    # A correction afterwards: Máret's mark was a mistake and is withdrawn, Ŋŧž was there.
    client.post(url, data=marks_form(present=[ase, ng], not_recorded=[maret]))

    assert marks(app, day) == {ase: True, ng: True}
    first, second = audit_events(app)
    assert first.after == {str(ase): True, str(maret): False, str(ng): None}
    assert second.before == first.after
    assert second.after == {str(ase): True, str(maret): None, str(ng): True}

    # A form that leaves someone out (a stale page) changes nobody's mark but the chosen ones.
    client.post(url, data=marks_form(absent=[ng]))
    assert marks(app, day) == {ase: True, ng: False}
