"""Cohorts per role: LIS1 courses in the municipal-start cohort (March/September), the
physiotherapy interns' courses in their turnus year (from August), supervisor courses with no
cohort unless the office sets one; labels in nn/nb/en, the staff form, the catalog filter, the
dashboard, certificates and the demo data. Tests taking ``app`` run on both databases.
"""

from __future__ import annotations

import html
import re
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa
from flask_babel import force_locale
from sqlalchemy.orm import selectinload

from certificates.models import Certificate
from core.db import session_scope
from core.i18n import OSLO
from enrollment.demo import is_holiday, seed_demo
from enrollment.models import (
    Attendance,
    CohortScheme,
    CourseKind,
    CourseOffering,
    Enrollment,
    EnrollmentStatus,
    ManageLink,
    Participant,
    Role,
)
from enrollment.services import cohorts, links
from tests.test_certificates import download, pdf_texts
from tests.test_staff_offerings import form_data, kind_id, reading

# The page's behaviour; the data rules under it are tested on both databases (conftest).
pytestmark = pytest.mark.one_database

LABELS = {
    "nn": {"lis1": "Vår 2027 – for dei som har oppstart i kommunen i mars 2027",
           "physio": "Turnusåret 2027/28 – for dei som tek til i turnusteneste i august 2027",
           "short": "Turnusåret 2027/28"},
    "nb": {"lis1": "Vår 2027 – for dem som har oppstart i kommunen i mars 2027",
           "physio": "Turnusåret 2027/28 – for dem som begynner i turnustjeneste i august 2027",
           "short": "Turnusåret 2027/28"},
    "en": {"lis1": "Spring 2027 — for those starting municipal service in March 2027",
           "physio": "Internship year 2027/28 — for those starting their internship in "
                     "August 2027",
           "short": "Internship year 2027/28"},
}
LIS1_KINDS = {"public_health", "emergency_medicine", "group_guidance"}


def text_of(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def card(page: str, title: str) -> str:
    """The catalog card of the offering titled ``title``."""
    start = page.index(f">{title}</a>")
    end = page.find("</article>", start)
    return page[start:end if end != -1 else len(page)]


@pytest.fixture
def by_role(make_offering, now):
    """A LIS1 course of spring 2027, the interns' course of turnus year 2027/28 and a
    supervisor course without a cohort."""
    return (
        make_offering(title_en="LIS1 course", title_nn="LIS1-kurs", title_nb="LIS1-kurs",
                      first_day=now + timedelta(days=50), cohort=date(2027, 3, 1)),
        make_offering(title_en="Physio course", title_nn="Fysiokurs", title_nb="Fysiokurs",
                      kind="physio_intern_course", county="rogaland",
                      first_day=now + timedelta(days=30), cohort=date(2027, 8, 1)),
        make_offering(title_en="Supervisors", title_nn="Rettleiarar", title_nb="Veiledere",
                      kind="supervisor_training_lis1", first_day=now + timedelta(days=40),
                      cohort=None),
    )


# --- the rules ----------------------------------------------------------------------------------


def test_each_kind_follows_the_scheme_of_its_role(db):
    kinds = {k.code: k for k in db.scalars(sa.select(CourseKind))}
    assert {code: (k.cohort_scheme, k.cohort_required) for code, k in kinds.items()} == {
        "public_health": (CohortScheme.MUNICIPAL_START, True),
        "emergency_medicine": (CohortScheme.MUNICIPAL_START, True),
        "group_guidance": (CohortScheme.MUNICIPAL_START, True),
        "supervisor_training_lis1": (CohortScheme.MUNICIPAL_START, False),
        "physio_intern_course": (CohortScheme.TURNUS_YEAR, True),
        "supervisor_training_physio": (CohortScheme.TURNUS_YEAR, False),
    }


@pytest.mark.parametrize(("day", "municipal", "turnus"), [
    (date(2026, 2, 28), date(2025, 9, 1), date(2025, 8, 1)),
    (date(2026, 3, 1), date(2026, 3, 1), date(2025, 8, 1)),
    (date(2026, 7, 31), date(2026, 3, 1), date(2025, 8, 1)),
    (date(2026, 8, 15), date(2026, 3, 1), date(2026, 8, 1)),
    (date(2026, 12, 3), date(2026, 9, 1), date(2026, 8, 1)),
])
def test_the_cohort_in_service_on_a_day_in_each_scheme(day, municipal, turnus):
    assert cohorts.cohort_containing(CohortScheme.MUNICIPAL_START, day) == municipal
    assert cohorts.cohort_containing(CohortScheme.TURNUS_YEAR, day) == turnus
    assert cohorts.next_cohort(turnus) == date(turnus.year + 1, 8, 1)


@pytest.mark.parametrize(("code", "parsed"), [
    ("2027-03", date(2027, 3, 1)), ("2027-09", date(2027, 9, 1)), ("2027-08", date(2027, 8, 1)),
    ("2027-07", None), ("2027-02", None), ("1999-08", None), ("2027-8", None), ("x", None),
])
def test_cohort_codes_of_both_schemes_parse(code, parsed):
    assert cohorts.parse_cohort(code) == parsed


# --- labels in each language ----------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["nn", "nb", "en"])
def test_catalog_and_course_page_label_each_role_s_cohort(app, client, by_role, lang):
    lis1, physio, supervisors = by_role
    client.get(f"/lang/{lang}")
    page = text_of(client.get("/"))
    cohort_word = {"nn": "Kull", "nb": "Kull", "en": "Cohort"}[lang]

    titles = {"nn": ("LIS1-kurs", "Fysiokurs", "Rettleiarar"),
              "nb": ("LIS1-kurs", "Fysiokurs", "Veiledere"),
              "en": ("LIS1 course", "Physio course", "Supervisors")}[lang]

    assert LABELS[lang]["lis1"] in card(page, titles[0])
    assert LABELS[lang]["physio"] in card(page, titles[1])
    assert f"<dt>{cohort_word}</dt>" not in card(page, titles[2])
    assert LABELS[lang]["physio"] in text_of(client.get(f"/courses/{physio.id}"))
    assert f"<dt>{cohort_word}</dt>" not in text_of(client.get(f"/courses/{supervisors.id}"))
    with reading(app) as session:
        stored = dict(session.execute(sa.select(CourseOffering.id, CourseOffering.cohort)).all())
    assert stored == {lis1.id: date(2027, 3, 1), physio.id: date(2027, 8, 1),
                      supervisors.id: None}


# --- the catalog filter ---------------------------------------------------------------------------


def test_catalog_filter_offers_turnus_years_and_keeps_bookmarked_codes(client, by_role):
    client.get("/lang/nn")
    page = text_of(client.get("/"))
    options = re.findall(r'<option value="(\d{4}-\d{2})"[^>]*>([^<]+)</option>', page)
    assert options == [("2027-03", LABELS["nn"]["lis1"]), ("2027-08", LABELS["nn"]["physio"])]

    def titles(query: str) -> list[str]:
        response = client.get(f"/?{query}")
        assert response.status_code == 200
        return re.findall(r'<h2 [^>]*id="o\d+-title"><a href="[^"]+">([^<]+)</a>',
                          text_of(response))

    assert titles("cohort=2027-08") == ["Fysiokurs"]
    assert titles("cohort=2027-03&role=lis1") == ["LIS1-kurs"]
    assert titles("cohort=2027-09") == []  # a bookmarked LIS1 code still works
    refused = client.get("/?cohort=2027-07")
    assert refused.status_code == 400
    assert "Ukjent kull." in text_of(refused)


# --- the staff form -------------------------------------------------------------------------------


@pytest.fixture
def staff(make_staff, login):
    make_staff()
    login()


def offerings_in_db(app) -> list[tuple[str, date | None]]:
    with reading(app) as session:
        return session.execute(
            sa.select(CourseKind.code, CourseOffering.cohort).join(CourseOffering.kind)
            .order_by(CourseOffering.id)).all()


@pytest.mark.parametrize(("kind", "cohort", "message"), [
    ("physio_intern_course", "2027-03",
     "Choose an internship year: this course follows the physiotherapy interns' internship "
     "year."),
    ("physio_intern_course", "",
     "Choose an internship year: this course follows the physiotherapy interns' internship "
     "year."),
    ("public_health", "2027-08",
     "Choose a spring or autumn cohort: this course follows the LIS1 doctors' start in the "
     "municipality."),
    ("public_health", "",
     "Choose a spring or autumn cohort: this course follows the LIS1 doctors' start in the "
     "municipality."),
    ("supervisor_training_lis1", "2027-08",
     "Choose a spring or autumn cohort, or none: supervisors of LIS1 doctors follow the "
     "doctors' start in the municipality."),
    ("supervisor_training_physio", "2027-09",
     "Choose an internship year, or none: supervisors of physiotherapy interns follow the "
     "interns' internship year."),
    ("public_health", "2027-05", "Choose a cohort from the list."),
])
def test_offering_form_refuses_a_cohort_that_does_not_fit_the_kind(
        app, client, staff, now, kind, cohort, message):
    response = client.post("/staff/courses/new", data=form_data(
        app, now.replace(year=2027), kind=str(kind_id(app, kind)), cohort=cohort))

    assert response.status_code == 400
    page = text_of(response)
    # The message stands next to the cohort field (its error element names the field).
    assert re.search(r'id="cohort-error">\s*<p>' + re.escape(message) + "</p>", page)
    assert offerings_in_db(app) == []


@pytest.mark.parametrize(("kind", "cohort", "stored"), [
    ("physio_intern_course", "2027-08", date(2027, 8, 1)),
    ("public_health", "2027-09", date(2027, 9, 1)),
    ("supervisor_training_lis1", "", None),
    ("supervisor_training_physio", "2027-08", date(2027, 8, 1)),
])
def test_offering_form_saves_a_cohort_of_the_kind_s_scheme_or_none_for_supervisors(
        app, client, staff, now, kind, cohort, stored):
    response = client.post("/staff/courses/new", data=form_data(
        app, now.replace(year=2027), kind=str(kind_id(app, kind)), cohort=cohort))

    assert response.status_code == 302
    assert offerings_in_db(app) == [(kind, stored)]
    listing = text_of(client.get("/staff/courses"))
    assert cohorts.cohort_short(stored) in listing if stored else "No cohort" in listing


def test_editing_keeps_an_offering_without_a_cohort(app, client, staff, make_offering, now):
    offering = make_offering(kind="supervisor_training_lis1", cohort=None)
    form = text_of(client.get(f"/staff/courses/{offering.id}/edit"))
    assert re.search(r'<option selected value="">—</option>|<option value="" selected>', form)
    assert "Internship year" in form
    assert "Spring" in form


# --- dashboard and certificates -------------------------------------------------------------------


def test_dashboard_shows_current_cohorts_of_both_schemes_and_courses_without_one(
        app, client, staff, make_offering, now):
    today = now.astimezone(OSLO).date()
    lis1_now = cohorts.cohort_containing(CohortScheme.MUNICIPAL_START, today)
    turnus_now = cohorts.cohort_containing(CohortScheme.TURNUS_YEAR, today)
    make_offering(title_en="LIS1 now", cohort=lis1_now)
    make_offering(title_en="Interns now", kind="physio_intern_course", cohort=turnus_now)
    make_offering(title_en="Supervisors soon", kind="supervisor_training_lis1", cohort=None)
    make_offering(title_en="Supervisors long ago", kind="supervisor_training_lis1", cohort=None,
                  first_day=now - timedelta(days=800))
    make_offering(title_en="Interns of old", kind="physio_intern_course",
                  cohort=date(turnus_now.year - 3, 8, 1))

    page = text_of(client.get("/staff/"))

    for shown in ("LIS1 now", "Interns now", "Supervisors soon"):
        assert shown in page
    for hidden in ("Supervisors long ago", "Interns of old"):
        assert hidden not in page
    with app.test_request_context(), force_locale("en"):
        assert cohorts.cohort_label(turnus_now, "en") in page
    assert "Also courses without a cohort that have course days from" in page


def _certified(app, make_offering, now, cohort, kind="physio_intern_course"):
    """A finished course whose one participant attended every day; returns the token."""
    offering = make_offering(kind=kind, cohort=cohort, days=2,
                             first_day=(now - timedelta(days=10)).replace(
                                 hour=0, minute=0, second=0, microsecond=0),
                             title_nn="Kurs", title_nb="Kurs", title_en="Course")
    token, digest = links.new_token()
    with session_scope(app.extensions["kp_engine"]) as session:
        course = session.get(CourseOffering, offering.id)
        enrollment = Enrollment(offering=course, status=EnrollmentStatus.CONFIRMED,
                                manage_links=[ManageLink(token_hash=digest)],
                                participant=Participant(
                                    full_name="Åse Ødegård", email="ase@example.no",
                                    role=Role.PHYSIO_INTERN, locale="nn"))
        course.seats_taken = 1
        session.add(enrollment)
        session.flush()
        for day in course.sessions:
            session.add(Attendance(enrollment_id=enrollment.id, session_id=day.id, present=True,
                                   marked_at=day.starts_at + timedelta(hours=1)))
    return token


@pytest.mark.parametrize("lang", ["nn", "nb", "en"])
def test_certificate_names_the_turnus_year(app, client, make_offering, now, lang):
    token = _certified(app, make_offering, now, date(2026, 8, 1))

    texts = pdf_texts(download(client, token, lang).data)

    expected = {"nn": "Turnusåret 2026/27", "nb": "Turnusåret 2026/27",
                "en": "Internship year 2026/27"}[lang]
    for text in texts:
        assert expected in text
        assert "municipal service" not in text
        assert "oppstart i kommunen" not in text
    with reading(app) as session:
        assert session.scalar(sa.select(Certificate.snapshot))["cohort"] == "2026-08-01"


def test_certificate_of_a_course_without_cohort_names_none(app, client, make_offering, now):
    token = _certified(app, make_offering, now, None, kind="supervisor_training_physio")

    for text in pdf_texts(download(client, token, "en").data):
        assert "Training for supervisors of physiotherapy interns" in text
        assert "No cohort" not in text
        assert "Internship year" not in text
    with reading(app) as session:
        assert session.scalar(sa.select(Certificate.snapshot))["cohort"] is None


# --- demo data ------------------------------------------------------------------------------------


@pytest.mark.parametrize("today", [
    datetime(2026, 12, 3, 9, tzinfo=UTC), datetime(2027, 6, 14, 9, tzinfo=UTC),
    datetime(2027, 8, 20, 9, tzinfo=UTC), datetime(2027, 2, 10, 9, tzinfo=UTC),
    datetime(2026, 12, 10, 9, tzinfo=UTC), datetime(2027, 9, 10, 9, tzinfo=UTC),
])
def test_demo_data_avoids_holidays_and_gives_each_role_its_cohort(app, db, today):
    # In the app's context, as ``flask seed-demo`` runs it: the certificates plugin adds its
    # part of the demo through the app's demo steps (enrollment.panels).
    with app.app_context():
        created = seed_demo(db, today)
        db.commit()
        assert seed_demo(db, today) == 0  # idempotent

    offerings = list(db.scalars(sa.select(CourseOffering).options(
        selectinload(CourseOffering.sessions), selectinload(CourseOffering.kind))))
    assert len(offerings) == created == 10
    assert all(o.is_demo for o in offerings)
    for o in offerings:
        for s in o.sessions:
            day = s.starts_at.astimezone(OSLO).date()
            assert not is_holiday(day), (o.kind.code, day)
            assert day.weekday() < 5
        if o.kind.code in LIS1_KINDS:
            first = o.sessions[0].starts_at.astimezone(OSLO).date()
            assert cohorts.scheme_of(o.cohort) == CohortScheme.MUNICIPAL_START
            assert o.cohort <= first < cohorts.next_cohort(o.cohort), o.kind.code
        elif o.kind.code == "physio_intern_course":
            assert o.cohort.month == 8
        elif o.kind.code == "supervisor_training_lis1":
            assert o.cohort is None
        else:
            assert o.cohort is None or cohorts.scheme_of(o.cohort) == CohortScheme.TURNUS_YEAR
    # The past course tells what happened: marks made during each day, certificates only
    # for those who attended every day, issued after the last day ended and before today.
    past = [o for o in offerings if o.sessions[-1].ends_at < today]
    assert past
    marks = db.execute(sa.select(Attendance, Enrollment).join(Enrollment)).all()
    assert marks
    for mark, _enrollment in marks:
        assert mark.marked_at >= db.get(type(mark.session), mark.session_id).starts_at
    certificates = list(db.scalars(sa.select(Certificate)))
    assert 0 < len(certificates) < sum(
        1 for _m, e in marks if e.status == EnrollmentStatus.CONFIRMED)
    for certificate in certificates:
        enrollment = db.get(Enrollment, certificate.enrollment_id)
        sessions = enrollment.offering.sessions
        assert sessions[-1].ends_at <= certificate.issued_at <= today
        present = {m.session_id for m, e in marks if e.id == enrollment.id and m.present}
        assert present == {s.id for s in sessions}
