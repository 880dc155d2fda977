"""Cohort rosters (issue 16): an office's file of starters checked line by line and saved only
when confirmed, a re-import that updates rather than duplicates, and each person's mandatory
items through the web, with filters, export, the hand-made match and county scoping."""

from __future__ import annotations

import csv
import html
import io
from datetime import date, timedelta

import openpyxl
import sqlalchemy as sa

from certificates import services as certificates
from core.audit import AuditEvent
from core.db import session_scope
from core.models import County, Municipality
from core.privacy import Anonymisation, retention_from_config
from enrollment.models import (
    Attendance,
    CourseSession,
    ImportStatus,
    Participant,
    Role,
    Roster,
    RosterEntry,
    RosterImport,
    RosterMatch,
)
from enrollment.services import enrollments, roster_privacy, rosters
from enrollment.services.enrollments import PersonDetails

COHORT = date(2026, 3, 1)
HEADER = ["Namn", "E-post", "HPR-nummer", "Rolle", "Kommune", "Oppstart"]
GOOD = [
    ["Kari Nordmann", "kari@example.no", "1234567", "LIS1", "4601", "2026-03-01"],
    ["Ola Nordmann", "ola@example.no", "2345678", "", "Voss", "01.03.2026"],
    ["Siri Hansen", "siri@example.no", "", "lis1", "4640 Sogndal", "2026-03-15"],
]
BAD = [
    ["Per Feil", "per@example.no", "12AB", "LIS1", "4601", "2026-03-01"],          # HPR
    ["Anne Ukjend", "anne@example.no", "3456789", "LIS1", "9999", "2026-03-01"],   # municipality
    ["Kari Igjen", "KARI@example.no", "4567890", "LIS1", "4601", "2026-03-01"],    # duplicate
    ["Tor Turnus", "tor@example.no", "5678901", "turnusfysioterapeut", "4601", "2026-03-01"],
    ["Liv Oslo", "liv@example.no", "6789012", "LIS1", "0301", "2026-03-01"],       # other county
    ["Eva Seint", "eva@example.no", "7890123", "LIS1", "4601", "2026-09-01"],      # cohort
]


def csv_file(rows, delimiter=";", bom=True) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter).writerows([HEADER, *rows])
    return buffer.getvalue().encode("utf-8-sig" if bom else "utf-8")


def xlsx_file(rows) -> bytes:
    workbook = openpyxl.Workbook()
    for row in [HEADER, *rows]:
        workbook.active.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def county_id(session, slug="vestland") -> int:
    return session.scalar(sa.select(County.id).where(County.slug == slug))


def stage(app, data: bytes, filename: str) -> int:
    with app.app_context(), session_scope(app.extensions["kp_engine"]) as session:
        return rosters.stage_import(session, county_id=county_id(session), role=Role.LIS1,
                                    cohort=COHORT, filename=filename, data=data,
                                    actor=None).id


def apply(app, upload_id: int, now) -> dict:
    with app.app_context(), session_scope(app.extensions["kp_engine"]) as session:
        rosters.apply_import(session, upload_id, actor=None, now=now)
        return session.get(RosterImport, upload_id).summary


def preview(app, upload_id: int) -> list[rosters.PreviewLine]:
    with app.app_context(), session_scope(app.extensions["kp_engine"]) as session:
        return rosters.preview(session, session.get(RosterImport, upload_id))


def test_municipalities_are_loaded_per_office_and_loading_again_changes_nothing(app, db):
    from core.cli import load_municipalities

    by_office = dict(db.execute(
        sa.select(County.slug, sa.func.count(Municipality.id)).join(Municipality)
        .group_by(County.slug)).all())
    assert sum(by_office.values()) == 357
    assert by_office["vestfold-og-telemark"] == 23  # Vestfold's 6 and Telemark's 17
    assert by_office["troms-og-finnmark"] == 39
    bergen = db.scalar(sa.select(Municipality).where(Municipality.number == "4601"))
    assert bergen.name == "Bergen"
    assert bergen.county_id == county_id(db)
    assert load_municipalities(db) == (0, 0, 0)


def test_roster_import_shows_errors_saves_only_when_confirmed_and_reimport_updates(app, now):
    first = stage(app, csv_file(GOOD + BAD), "kull-mars.csv")

    with session_scope(app.extensions["kp_engine"]) as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Roster)) == 0
        assert session.scalar(sa.select(sa.func.count()).select_from(RosterEntry)) == 0
    lines = preview(app, first)
    assert [line.problems for line in lines] == [
        (), (), (), ("hpr_invalid",), ("municipality_unknown",), ("duplicate",),
        ("role_wrong",), ("municipality_other_county",), ("start_date_outside_cohort",)]
    assert [line.action for line in lines[:3]] == ["new", "new", "new"]
    assert lines[1].municipality == "4621 Voss"

    assert apply(app, first, now) == {"added": 3, "updated": 0, "unchanged": 0, "skipped": 6}

    # The same people again, as an Excel workbook (comma-free), Siri now in Aurland.
    again = [*GOOD[:2], ["Siri Hansen", "SIRI@example.no", "", "LIS1", "Aurland", "2026-03-15"]]
    second = stage(app, xlsx_file(again), "kull-mars.xlsx")
    assert [line.action for line in preview(app, second)] == ["unchanged", "unchanged", "update"]
    assert apply(app, second, now) == {"added": 0, "updated": 1, "unchanged": 2, "skipped": 0}

    # A comma-separated file without a byte-order mark, discarded: nothing changes.
    third = stage(app, csv_file([["Ny Person", "ny@example.no", "", "", "4601", "2026-03-02"]],
                                delimiter=",", bom=False), "ny.csv")
    with app.app_context(), session_scope(app.extensions["kp_engine"]) as session:
        rosters.discard_import(session, third, actor=None, now=now)

    with session_scope(app.extensions["kp_engine"]) as session:
        entries = session.scalars(sa.select(RosterEntry).order_by(RosterEntry.full_name)).all()
        assert [(e.full_name, e.email, e.hpr_number, e.municipality.number) for e in entries] == [
            ("Kari Nordmann", "kari@example.no", "1234567", "4601"),
            ("Ola Nordmann", "ola@example.no", "2345678", "4621"),
            ("Siri Hansen", "siri@example.no", None, "4641"),
        ]
        assert session.scalar(sa.select(sa.func.count()).select_from(Roster)) == 1
        assert session.get(RosterImport, third).status == ImportStatus.DISCARDED
        actions = session.scalars(sa.select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert actions == ["roster.upload", "roster.import", "roster.upload", "roster.import",
                       "roster.upload", "roster.discard"]


def test_an_erased_person_leaves_the_roster_and_the_uploaded_lines(app, now):
    apply(app, stage(app, csv_file(GOOD), "kull.csv"), now)
    with app.app_context(), session_scope(app.extensions["kp_engine"]) as session:
        kari = Participant(full_name="Kari", email="Kari@Example.no", role=Role.LIS1,
                           hpr_number="1234567")
        session.add(kari)
        session.flush()
        exported = roster_privacy.export(session, kari.id)
        assert [e["full_name"] for e in exported["roster_entries"]] == ["Kari Nordmann"]
        assert [line["line"] for line in exported["roster_imports"][0]["lines"]] == [2]
        plan = Anonymisation(now=now, retention=retention_from_config(app.config, now.date()),
                             erasure=True)
        roster_privacy.anonymise(session, kari.id, plan)
    with session_scope(app.extensions["kp_engine"]) as session:
        names = session.scalars(sa.select(RosterEntry.full_name).order_by(RosterEntry.id)).all()
        assert names == ["Ola Nordmann", "Siri Hansen"]
        lines = session.scalar(sa.select(RosterImport.rows))
        assert "kari@example.no" not in str(lines)
        assert [line["full_name"] for line in lines] == ["", "Ola Nordmann", "Siri Hansen"]


def scalar(app, stmt):
    """One value as committed now (a short session: the web requests write meanwhile)."""
    with session_scope(app.extensions["kp_engine"]) as session:
        return session.scalar(stmt)


def page(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def person(n: int, name: str, email: str, hpr: str | None) -> PersonDetails:
    return PersonDetails(full_name=name, email=email, phone="+47 400 00 000", role=Role.LIS1,
                         hpr_number=hpr, employer="Bergen kommune", locale="nn")


def test_completion_states_filters_export_and_hand_made_match_through_the_web(
        app, client, make_staff, login, make_offering, now, count_queries):
    make_staff()
    login()
    vestland = scalar(app, sa.select(County.id).where(County.slug == "vestland"))
    upload = client.post("/staff/rosters/upload", data={
        "county": str(vestland), "role": "lis1", "cohort": "2026-03",
        "file": (io.BytesIO(csv_file(GOOD)), "kull.csv")}, content_type="multipart/form-data")
    assert upload.status_code == 303
    assert client.get(upload.headers["Location"]).status_code == 200
    assert scalar(app, sa.select(sa.func.count()).select_from(RosterEntry)) == 0
    confirm = client.post(upload.headers["Location"] + "/confirm")
    assert confirm.status_code == 303
    roster_url = confirm.headers["Location"]

    ended = make_offering(kind="public_health", first_day=now - timedelta(days=5), days=1)
    emergency = make_offering(kind="emergency_medicine", capacity=1)
    with app.app_context(), session_scope(app.extensions["kp_engine"]) as session:
        kari = enrollments.enroll(session, ended.id,
                                  person(1, "Kari N.", "kari@example.no", "1234567"), now)
        day = session.scalar(sa.select(CourseSession.id)
                             .where(CourseSession.offering_id == ended.id))
        session.add(Attendance(enrollment_id=kari.enrollment.id, session_id=day, present=True))
        # Ola typed his own HPR number but Kari's address: it could be either of them.
        enrollments.enroll(session, emergency.id,
                           person(2, "Ola N.", "kari@example.no", "2345678"), now)
        enrollments.enroll(session, emergency.id,
                           person(3, "Siri H.", "siri@example.no", None), now)
        enrollments.enroll(session, ended.id,
                           person(4, "Ola N.", "ola@example.no", "2345678"), now)
        session.flush()
        certificates.issue(session, kari.enrollment.id, now=now)

    text = page(client.get(roster_url))
    assert "1 enrollments could belong to more than one person" in text
    rows = {row.split("</th>")[0]: row for row in text.split('<th scope="row">')[1:]}
    kari_row, ola_row, siri_row = (rows[k] for k in sorted(rows))
    assert kari_row.count("Certificate issued") == 1
    assert "Not enrolled" in kari_row
    assert "/verify/" in kari_row
    assert ola_row.count("Enrolled") == 1  # public health; emergency waits for the decision
    assert "Waiting list" in siri_row  # one seat, Ola's enrollment took it
    assert f"/staff/courses/{ended.id}/participants" in ola_row

    matches = page(client.get(roster_url + "/matches"))
    enrollment_id = int(matches.split("/matches/")[1].split('"')[0])
    ola_entry = scalar(app, sa.select(RosterEntry.id).where(RosterEntry.email == "ola@example.no"))
    chosen = client.post(f"{roster_url}/matches/{enrollment_id}",
                         data={f"e{enrollment_id}-entry": str(ola_entry)})
    assert chosen.status_code == 303
    assert scalar(app, sa.select(RosterMatch.entry_id)) == ola_entry
    assert scalar(app, sa.select(AuditEvent.action).where(AuditEvent.action == "roster.match"))

    missing = client.get(roster_url + "?kind=emergency_medicine&state=not_enrolled")
    assert "Kari Nordmann" in page(missing)
    assert "Ola Nordmann" not in page(missing)
    exported = client.get(roster_url + ".csv?state=no_certificate")
    lines = list(csv.reader(io.StringIO(exported.data.decode("utf-8-sig")), delimiter=";"))
    assert lines[0][:4] == ["Name", "E-mail", "HPR number", "Municipality"]
    assert [(line[0], line[5], line[6]) for line in lines[1:]] == [
        ("Kari Nordmann", "Certificate issued", "Not enrolled"),
        ("Ola Nordmann", "Enrolled", "Enrolled"),
        ("Siri Hansen", "Not enrolled", "Waiting list"),
    ]
    workbook = openpyxl.load_workbook(io.BytesIO(client.get(roster_url + ".xlsx").data))
    assert workbook.active["A2"].value == "Kari Nordmann"

    # Twice the people, with enrollments of their own: the page asks as many queries.
    with count_queries() as before:
        client.get(roster_url)
    more = [[f"Person {n}", f"p{n}@example.no", str(8_000_000 + n), "LIS1", "4601",
             "2026-03-02"] for n in range(3)]
    apply(app, stage(app, csv_file(more), "fleire.csv"), now)
    with app.app_context(), session_scope(app.extensions["kp_engine"]) as session:
        for n in range(3):
            enrollments.enroll(session, ended.id,
                               person(10 + n, f"P {n}", f"p{n}@example.no", None), now)
    with count_queries() as after:
        assert "Person 2" in page(client.get(roster_url))
    assert len(after) == len(before)

    make_staff(email="per@sfro.no", county="rogaland")
    login("per@sfro.no")
    assert client.get(roster_url).status_code == 404
    assert client.get(roster_url + ".csv").status_code == 404
    assert client.get(upload.headers["Location"]).status_code == 404
