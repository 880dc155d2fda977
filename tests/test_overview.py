"""The administrators' national overview (issue 16, item 8): the figures of one county's
cohort counted by hand (roster people, each mandatory item attended and certified, the waiting
list, the no-show rate with "not recorded" apart, the claims paid through refunds' column), in a
fixed number of queries; the page and its CSV; county staff refused."""

from __future__ import annotations

import csv
import html
import io
from datetime import date, timedelta

import sqlalchemy as sa

from app import create_app
from certificates import services as certificates
from core.db import session_scope
from core.models import County, Municipality, Region
from enrollment.models import Attendance, CourseSession, Role, Roster, RosterEntry
from enrollment.services import enrollments, overview
from enrollment.services.enrollments import PersonDetails
from refunds.cli import load_rate_schemes
from refunds.models import Claim, ClaimStatus, RateScheme

COHORT = date(2026, 3, 1)


def person(name: str, email: str, hpr: str | None) -> PersonDetails:
    return PersonDetails(full_name=name, email=email, phone="+47 400 00 000", role=Role.LIS1,
                         hpr_number=hpr, employer="Bergen kommune", locale="nn")


def words(response) -> str:
    """The page's text with every run of spaces (no-break ones too) as one space."""
    return " ".join(html.unescape(response.get_data(as_text=True)).split())


def build(app, make_offering, now) -> None:
    """Vestland's spring 2026 LIS1 roster of three, and its courses:

    public health (ended, one day): Kari present (and certificate), Ola absent, Per (not on the
    roster) not marked; emergency medicine (one seat): Siri has it, Ola waits.
    Claims: Kari's paid (1 234,50 kr approved), Ola's paid (claimed 300,00 kr), Per's submitted.
    """
    ended = make_offering(kind="public_health", first_day=now - timedelta(days=5), days=1,
                          cohort=COHORT)
    emergency = make_offering(kind="emergency_medicine", capacity=1, cohort=COHORT)
    with app.app_context(), session_scope(app.extensions["kp_engine"]) as session:
        vestland = session.scalar(sa.select(County).where(County.slug == "vestland"))
        place = session.scalar(sa.select(Municipality.id)
                               .where(Municipality.county_id == vestland.id).limit(1))
        roster = Roster(county_id=vestland.id, role=Role.LIS1, cohort=COHORT)
        roster.entries = [
            RosterEntry(full_name=n, email=e, hpr_number=h, municipality_id=place,
                        start_date=COHORT)
            for n, e, h in (("Kari Nordmann", "kari@example.no", "1234567"),
                            ("Ola Nordmann", "ola@example.no", "2345678"),
                            ("Siri Hansen", "siri@example.no", None))]
        session.add(roster)
        kari = enrollments.enroll(session, ended.id, person("Kari", "kari@example.no", "1234567"),
                                  now).enrollment
        ola = enrollments.enroll(session, ended.id, person("Ola", "ola@example.no", "2345678"),
                                 now).enrollment
        per = enrollments.enroll(session, ended.id, person("Per", "per@example.no", None),
                                 now).enrollment
        enrollments.enroll(session, emergency.id, person("Siri", "SIRI@example.no", None), now)
        enrollments.enroll(session, emergency.id, person("Ola", "ola@example.no", "2345678"), now)
        day = session.scalar(sa.select(CourseSession.id)
                             .where(CourseSession.offering_id == ended.id))
        session.add_all([Attendance(enrollment_id=kari.id, session_id=day, present=True),
                         Attendance(enrollment_id=ola.id, session_id=day, present=False)])
        session.flush()
        certificates.issue(session, kari.id, now=now)
        load_rate_schemes(session)
        scheme = session.scalar(sa.select(RateScheme.id).limit(1))
        session.add_all([
            Claim(enrollment_id=kari.id, offering_id=ended.id, scheme_id=scheme,
                  status=ClaimStatus.PAID, total_ore=150_000, approved_total_ore=123_450),
            Claim(enrollment_id=ola.id, offering_id=ended.id, scheme_id=scheme,
                  status=ClaimStatus.PAID, total_ore=30_000),
            Claim(enrollment_id=per.id, offering_id=ended.id, scheme_id=scheme,
                  status=ClaimStatus.SUBMITTED, total_ore=99_900)])


def test_figures_match_hand_counts_in_a_fixed_number_of_queries(
        app, app_config, make_offering, now, count_queries):
    build(app, make_offering, now)
    with app.test_request_context(), session_scope(app.extensions["kp_engine"]) as session:
        with count_queries() as statements:
            board = overview.overview(session, [COHORT], now)
        assert len(statements) <= 14  # counties, keys (2), rosters, kinds, entries, enrollments,
        # matches, ended, present, certificates, waiting, no-shows, claims paid
        [row] = board.rows
        assert (row.county.slug, row.cohort, row.county.region) == (
            "vestland", COHORT, Region.MIDT_VEST)
        assert row.people == 3
        assert row.due["public_health"] == row.due["emergency_medicine"] == 3
        assert row.attended == {"public_health": 1}
        assert row.certified == {"public_health": 1}
        assert row.waiting == 1
        assert (row.expected, row.absent, row.not_recorded) == (3, 1, 1)
        assert row.no_show_rate == 1 / 3
        assert [cell.values for cell in row.extra] == [(2, 153_450)]
        [(region, rows, total)] = board.by_region()
        assert (region, rows) == (Region.MIDT_VEST, [row])
        assert (total.people, total.attended, total.absent, total.extra[0].values) == (
            3, {"public_health": 1}, 1, (2, 153_450))
        assert overview.overview(session, [COHORT], now, Region.NORD).rows == []

    # Without refunds the claims-paid column is absent; without certificates none is certified.
    alone = create_app({**app_config, "PLUGINS": ["enrollment"]})
    with alone.test_request_context(), session_scope(alone.extensions["kp_engine"]) as session:
        board = overview.overview(session, [COHORT], now)
        [row] = board.rows
        assert (board.columns, row.extra, row.certified) == ([], [], {})
        assert row.attended == {"public_health": 1}


def test_page_and_csv_for_administrators_only(app, client, make_offering, make_staff, login, now):
    build(app, make_offering, now)
    make_staff(email="admin@kursportal.no", admin=True)
    login("admin@kursportal.no")
    text = words(client.get("/staff/overview?cohort=2026-03"))
    assert "1 of 3 attended, 1 with certificate" in text
    assert "33% (1 of 3)" in text
    assert text.count("2 paid, 1,534.50 NOK") == 2  # Vestland's row and the region's total
    assert "Central-West in total" in text
    assert 'href="/staff/overview"' in client.get("/staff/").get_data(as_text=True)

    exported = client.get("/staff/overview.csv?cohort=2026-03&region=midt-vest")
    assert exported.headers["Content-Type"].startswith("text/csv")
    lines = list(csv.reader(io.StringIO(exported.data.decode("utf-8-sig")), delimiter=";"))
    table = [dict(zip(lines[0], line, strict=True)) for line in lines[1:]]
    assert len(table) == 1
    assert table[0]["County governor office"] == "Vestland"
    assert table[0]["People in rosters"] == "3"
    assert table[0]["Waiting list"] == "1"
    assert table[0]["No-show rate"] == "0.3333"
    assert (table[0]["Claims paid"], table[0]["Amount paid (øre)"]) == ("2", "153450")
    assert [v for k, v in table[0].items() if k.endswith(": attended")] == ["1", "0", "0"]

    client.get("/lang/nb")
    assert "2 utbetalt, 1 534,50 kr" in words(client.get("/staff/overview?cohort=2026-03"))

    make_staff(email="per@sfro.no", county="rogaland")
    login("per@sfro.no")
    assert client.get("/staff/overview").status_code == 404
    assert client.get("/staff/overview.csv").status_code == 404
    assert 'href="/staff/overview"' not in client.get("/staff/").get_data(as_text=True)
