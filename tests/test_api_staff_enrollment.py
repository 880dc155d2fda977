"""The staff API of the enrollment plugin (issue 19): an offering's participants as the page
lists them, attendance read and recorded under the page's time rules (and making certificates
due), roster files previewed and confirmed as on the roster pages; read-only tokens may not
write, and another office's token finds nothing and changes nothing.

Tests that take ``app`` run on SQLite and on PostgreSQL, but for the contract's shape.
"""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
import sqlalchemy as sa

from core.api import tokens
from core.audit import AuditEvent
from core.auth import StaffUser
from core.db import Base, session_scope, utcnow
from core.models import County
from enrollment.models import Attendance, CourseOffering, EnrollmentStatus, RosterEntry
from tests.test_certificates import certificates_of, course, enroll
from tests.test_rosters import BAD, GOOD, apply, csv_file, stage

S = EnrollmentStatus


def engine_of(app):
    return app.extensions["kp_engine"]


def make_token(app, make_staff, *, county: str = "vestland", write: bool = True) -> str:
    """A token of a new staff member of ``county``, read-write or read-only."""
    email = f"api-{county}-{'rw' if write else 'r'}@example.no"
    make_staff(email=email, county=county)
    with app.app_context(), session_scope(engine_of(app)) as session:
        owner = session.scalar(sa.select(StaffUser).where(StaffUser.email == email))
        county_id = session.scalar(sa.select(County.id).where(County.slug == county))
        _token, text = tokens.create(session, owner, county_id=county_id, name="Fagsystem",
                                     can_write=write, now=utcnow(),
                                     expires_on=(utcnow() + timedelta(days=30)).date())
        return text


def bearer(text: str, lang: str = "en") -> dict:
    return {"Authorization": f"Bearer {text}", "Accept-Language": lang}


def sessions_of(app, offering_id: int) -> list[int]:
    with session_scope(engine_of(app)) as session:
        return [s.id for s in session.get(CourseOffering, offering_id).sessions]


def database_state(app) -> dict[str, list]:
    """Every row of every table but the tokens' (whose last use a call records)."""
    with engine_of(app).connect() as conn:
        return {table.name: sorted(repr(tuple(row)) for row in conn.execute(sa.select(table)))
                for table in Base.metadata.sorted_tables if table.name != "api_tokens"}


def count(app, model, *where) -> int:
    with session_scope(engine_of(app)) as session:
        return session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


def audit_of(app) -> list[tuple[str, int | None]]:
    with session_scope(engine_of(app)) as session:
        return [tuple(row) for row in session.execute(
            sa.select(AuditEvent.action, AuditEvent.actor_id).order_by(AuditEvent.id))]


# --- participants ---------------------------------------------------------------------------------


def test_the_participant_list_is_the_pages_a_page_at_a_time(
        app, client, make_offering, make_staff, login):
    offering = course(make_offering)
    for name, status in [("Åse Ødegård", S.CONFIRMED), ("Bjørn Aas", S.WAITLISTED),
                         ("Øyvind Berg", S.CONFIRMED), ("Cecilie Dahl", S.PENDING),
                         ("Anne Aune", S.CONFIRMED), ("Dag Eide", S.WAITLISTED),
                         ("Eva Fjell", S.CANCELLED)]:
        enroll(app, offering.id, name, status=status)
    text = make_token(app, make_staff, write=False)
    make_staff()
    login()
    page = client.get(f"/staff/courses/{offering.id}/participants.csv")
    expected = [(r[0], r[1], r[2], r[6], int(r[7]) if r[7] else None)
                for r in list(csv.reader(io.StringIO(page.text.lstrip("\ufeff")),
                                         delimiter=";"))[1:]]

    got, cursor, calls = [], None, 0
    while True:
        response = client.get(f"/api/v1/offerings/{offering.id}/participants", headers=bearer(
            text), query_string={"limit": 3, **({"cursor": cursor} if cursor else {})})
        assert response.status_code == 200, response.json
        assert response.headers["Cache-Control"] == "no-store"
        got += response.json["items"]
        cursor, calls = response.json["next_cursor"], calls + 1
        if cursor is None:
            break

    assert calls == 3
    assert [(p["name"], p["email"], p["phone"], p["status_text"], p["waitlist_position"])
            for p in got] == expected
    assert [p["name"] for p in got] == ["Anne Aune", "Øyvind Berg", "Åse Ødegård",
                                        "Cecilie Dahl", "Bjørn Aas", "Dag Eide", "Eva Fjell"]
    assert got[0]["role"] == "lis1"
    assert got[0]["hpr_number"] == "1234567"
    assert [p["status"] for p in got][3:] == ["pending", "waitlisted", "waitlisted",
                                              "cancelled"]
    wrong = client.get(f"/api/v1/offerings/{offering.id}/participants",
                       query_string={"cursor": "bm90IG91cnM"}, headers=bearer(text))
    assert wrong.status_code == 400
    assert wrong.mimetype == "application/problem+json"


# --- attendance -----------------------------------------------------------------------------------


def test_attendance_is_read_and_recorded_for_days_that_ended_and_makes_certificates_due(
        app, client, make_offering, make_staff):
    offering = course(make_offering)
    present = enroll(app, offering.id, "Åse Ødegård")[0]
    absent = enroll(app, offering.id, "Bjørn Aas")[0]
    waiting = enroll(app, offering.id, "Cecilie Dahl", status=S.WAITLISTED)[0]
    first, second = sessions_of(app, offering.id)
    text = make_token(app, make_staff)
    url = f"/api/v1/offerings/{offering.id}/sessions/{{}}/attendance"

    before = client.get(f"/api/v1/offerings/{offering.id}/attendance", headers=bearer(text))
    assert before.status_code == 200
    assert [(s["session_id"], s["open"]) for s in before.json["sessions"]] == [
        (first, True), (second, True)]
    assert before.json["sessions"][0]["marks"] == [
        {"enrollment_id": absent, "name": "Bjørn Aas", "mark": "not_recorded"},
        {"enrollment_id": present, "name": "Åse Ødegård", "mark": "not_recorded"}]

    saved = client.put(url.format(first), headers=bearer(text), json={"marks": [
        {"enrollment_id": present, "present": True}, {"enrollment_id": absent, "present": False},
        {"enrollment_id": waiting, "present": True}]})
    assert saved.status_code == 200, saved.json
    assert saved.json["changed"] == 2
    assert saved.json["ignored"] == [waiting]
    assert [m["mark"] for m in saved.json["session"]["marks"]] == ["absent", "present"]
    assert certificates_of(app, present) == []  # one day of two
    assert client.put(url.format(second), headers=bearer(text), json={"marks": [
        {"enrollment_id": present, "present": True}]}).status_code == 200

    # The rows the attendance page makes, and the certificate the marks make due.
    assert count(app, Attendance, Attendance.present.is_(True)) == 2
    assert count(app, Attendance, Attendance.present.is_(False)) == 1
    assert count(app, Attendance, Attendance.enrollment_id == waiting) == 0
    (certificate,) = certificates_of(app, present)
    assert certificate.snapshot["attended"] == 2
    assert certificates_of(app, absent) == []
    with session_scope(engine_of(app)) as session:
        holder = session.scalar(sa.select(StaffUser.id).where(
            StaffUser.email == "api-vestland-rw@example.no"))
    assert [(action, actor) for action, actor in audit_of(app)
            if action != "api_token.create"] == [
        ("attendance.save", holder), ("api_token.use", holder), ("attendance.save", holder),
        ("certificate.issue", holder), ("api_token.use", holder)]
    after = client.get(f"/api/v1/offerings/{offering.id}/attendance", headers=bearer(text))
    assert [[m["mark"] for m in s["marks"]] for s in after.json["sessions"]] == [
        ["absent", "present"], ["not_recorded", "present"]]


@pytest.mark.one_database
def test_a_day_not_begun_is_refused_with_the_pages_words_and_nothing_is_kept(
        app, client, make_offering, make_staff):
    offering = make_offering()  # its first day is weeks away
    enrollment_id = enroll(app, offering.id, "Åse Ødegård")[0]
    first = sessions_of(app, offering.id)[0]
    text = make_token(app, make_staff)
    url = f"/api/v1/offerings/{offering.id}/sessions/{first}/attendance"
    marks = {"marks": [{"enrollment_id": enrollment_id, "present": True}]}
    state = database_state(app)

    english = client.put(url, headers=bearer(text), json=marks)
    nynorsk = client.put(url, headers=bearer(text, "nn"), json=marks)

    assert english.status_code == nynorsk.status_code == 409
    assert english.mimetype == "application/problem+json"
    assert english.json["detail"].startswith(
        "Nothing was saved: this course day has not begun yet. Attendance can be recorded "
        "from ")
    assert nynorsk.json["title"] == "Konflikt"
    assert nynorsk.json["detail"].startswith(
        "Ingenting vart lagra: denne kursdagen har ikkje byrja enno. Oppmøte kan førast frå ")
    assert database_state(app) == state
    broken = client.put(url, headers=bearer(text), json={"marks": [
        {"enrollment_id": "x", "present": True}, {"present": "maybe"}]})
    assert broken.status_code == 422
    assert {e["field"] for e in broken.json["errors"]} >= {"marks.0.enrollment_id",
                                                           "marks.1.enrollment_id"}
    twice = client.put(url, headers=bearer(text), json={"marks": marks["marks"] * 2})
    assert twice.status_code == 422
    assert twice.json["detail"] == "Give each participant one mark only."
    assert database_state(app) == state


# --- rosters --------------------------------------------------------------------------------------


def test_a_roster_file_is_previewed_saved_only_when_confirmed_and_confirmed_once(
        app, client, make_staff, now):
    apply(app, stage(app, csv_file(GOOD[:1]), "kull-mars.csv"), now)  # the roster, Kari in it
    text = make_token(app, make_staff)
    (roster,) = client.get("/api/v1/rosters", headers=bearer(text)).json["items"]
    assert (roster["role"], roster["cohort"], roster["people"]) == ("lis1", "2026-03-01", 1)

    upload = client.post(f"/api/v1/rosters/{roster['id']}/imports", headers=bearer(text, "nb"),
                         data={"file": (io.BytesIO(csv_file(GOOD + BAD[:2])), "kull.csv")},
                         content_type="multipart/form-data")

    assert upload.status_code == 201, upload.json
    preview = upload.json
    assert (preview["roster_id"], preview["status"]) == (roster["id"], "staged")
    assert [(line["line"], line["action"]) for line in preview["lines"]] == [
        (2, "unchanged"), (3, "new"), (4, "new"), (5, "skip"), (6, "skip")]
    assert preview["lines"][1]["municipality"] == "4621 Voss"
    assert preview["lines"][3]["errors"] == [
        {"code": "hpr_invalid", "message": "HPR-nummeret er 7 til 9 sifre, uten bokstaver."}]
    assert [e["code"] for e in preview["lines"][4]["errors"]] == ["municipality_unknown"]
    assert count(app, RosterEntry) == 1  # nothing saved before confirming

    confirm = f"/api/v1/rosters/{roster['id']}/imports/{preview['import_id']}/confirm"
    applied = client.post(confirm, headers=bearer(text))
    assert applied.status_code == 200
    assert applied.json == {"roster_id": roster["id"], "added": 2, "updated": 0,
                            "unchanged": 1, "skipped": 2}
    assert count(app, RosterEntry) == 3
    state = database_state(app)
    again = client.post(confirm, headers=bearer(text))
    assert again.status_code == 409
    assert again.json["detail"] == "This file was already imported or discarded."
    assert database_state(app) == state
    assert [a for a, _actor in audit_of(app) if a.startswith("roster.")] == [
        "roster.upload", "roster.import", "roster.upload", "roster.import"]

    # The page's file checks, and a body that is no form.
    columns = client.post(f"/api/v1/rosters/{roster['id']}/imports", headers=bearer(text),
                          data={"file": (io.BytesIO(b"Namn;Telefon\nKari;1\n"), "x.csv")},
                          content_type="multipart/form-data")
    assert columns.status_code == 422
    assert columns.json["errors"] == [{"field": "file", "message": (
        "The file needs the columns name, e-mail, municipality and start date (and may have "
        "HPR number and role).")}]
    raw = client.post(f"/api/v1/rosters/{roster['id']}/imports", headers=bearer(text),
                      data=csv_file(GOOD), content_type="text/csv")
    assert raw.status_code == 415
    assert database_state(app) == state


# --- who may --------------------------------------------------------------------------------------


def vestland_world(app, make_offering, now) -> dict:
    """A Vestland offering that has ended with a confirmed participant, and a roster with a
    staged upload: every id the operations take."""
    offering = course(make_offering)
    enrollment_id = enroll(app, offering.id, "Åse Ødegård")[0]
    apply(app, stage(app, csv_file(GOOD[:1]), "kull-mars.csv"), now)
    import_id = stage(app, csv_file(GOOD), "kull-mars-2.csv")
    with session_scope(engine_of(app)) as session:
        roster_id = session.scalar(sa.select(RosterEntry.roster_id))
    return {"offering": offering.id, "session": sessions_of(app, offering.id)[0],
            "enrollment": enrollment_id, "roster": roster_id, "import": import_id}


def calls(world: dict) -> list[tuple[str, str, dict]]:
    """Every operation with the world's ids: (method, url, request options)."""
    offering, roster = world["offering"], world["roster"]
    marks = {"marks": [{"enrollment_id": world["enrollment"], "present": True}]}
    upload = {"data": {"file": (io.BytesIO(csv_file(GOOD)), "kull.csv")},
              "content_type": "multipart/form-data"}
    return [
        ("GET", f"/api/v1/offerings/{offering}/participants", {}),
        ("GET", f"/api/v1/offerings/{offering}/attendance", {}),
        ("PUT", f"/api/v1/offerings/{offering}/sessions/{world['session']}/attendance",
         {"json": marks}),
        ("POST", f"/api/v1/rosters/{roster}/imports", upload),
        ("POST", f"/api/v1/rosters/{roster}/imports/{world['import']}/confirm", {}),
    ]


def test_a_read_only_token_reads_but_may_not_write_and_nothing_changes(
        app, client, make_offering, make_staff, now):
    world = vestland_world(app, make_offering, now)
    text = make_token(app, make_staff, write=False)
    state = database_state(app)

    answers = {(method, url): client.open(url, method=method, headers=bearer(text), **options)
               for method, url, options in calls(world)}

    assert [a.status_code for a in answers.values()] == [200, 200, 403, 403, 403]
    refusal = list(answers.values())[2]
    assert refusal.json["detail"] == ("The token may only read. Make a token that may read "
                                      "and write to change data.")
    assert database_state(app) == state


def test_another_offices_token_finds_nothing_and_changes_nothing(
        app, client, make_offering, make_staff, now):
    world = vestland_world(app, make_offering, now)
    text = make_token(app, make_staff, county="rogaland")
    state = database_state(app)

    for method, url, options in calls(world):
        response = client.open(url, method=method, headers=bearer(text), **options)
        assert response.status_code == 404, f"{method} {url}: {response.status_code}"
        assert response.mimetype == "application/problem+json"
        assert "Åse" not in response.text
    assert client.get("/api/v1/rosters", headers=bearer(text)).json == {"items": []}
    assert database_state(app) == state
    # The same calls with Vestland's token do work (the ids are right).
    own = make_token(app, make_staff)
    assert [client.open(url, method=method, headers=bearer(own), **options).status_code
            for method, url, options in calls(world)] == [200, 200, 200, 201, 200]


@pytest.mark.one_database
def test_the_contract_names_each_operation_its_token_and_its_links(client):
    document = client.get("/api/v1/openapi.json").json
    operations = {op["operationId"]: (method, path, op) for path, item in
                  document["paths"].items() for method, op in item.items()}

    assert {name: (method, path) for name, (method, path, _op) in operations.items()
            if name in {"listParticipants", "getAttendance", "recordAttendance", "listRosters",
                        "importRoster", "confirmRosterImport"}} == {
        "listParticipants": ("get", "/api/v1/offerings/{offering_id}/participants"),
        "getAttendance": ("get", "/api/v1/offerings/{offering_id}/attendance"),
        "recordAttendance": (
            "put", "/api/v1/offerings/{offering_id}/sessions/{session_id}/attendance"),
        "listRosters": ("get", "/api/v1/rosters"),
        "importRoster": ("post", "/api/v1/rosters/{roster_id}/imports"),
        "confirmRosterImport": ("post",
                                "/api/v1/rosters/{roster_id}/imports/{import_id}/confirm"),
    }
    for name in ("listParticipants", "recordAttendance", "importRoster"):
        assert operations[name][2]["security"] == [{"token": []}]
    links = {name: {code: {k: v["operationId"] for k, v in response.get("links", {}).items()}
                    for code, response in op["responses"].items() if "links" in response}
             for name, (_m, _p, op) in operations.items()}
    assert links["getAttendance"] == {"200": {"recordAttendance": "recordAttendance"}}
    assert links["listRosters"] == {"200": {"importRoster": "importRoster"}}
    assert links["importRoster"] == {"201": {"confirmRosterImport": "confirmRosterImport"}}
    body = operations["importRoster"][2]["requestBody"]["content"]
    assert list(body) == ["multipart/form-data"]
    assert document["components"]["schemas"]["RosterUpload"]["properties"]["file"] == {
        "description": "The file: CSV (';' or ',', UTF-8 or Windows-1252) or an Excel workbook "
                       "(.xlsx, first sheet).", "format": "binary", "title": "File",
        "type": "string"}
