"""Official learning objectives: the data file and its loader, the "to be confirmed by the office"
mark staff see, and the official numbering on certificates.

The data file holds no objective whose official number and wording could be confirmed (see
``enrollment/data/course_kinds.json``), so tests that need a confirmed objective confirm one as
an administrator would, through the editor; those numbers and words are test data, not
Helsedirektoratet's. Every test that takes ``app`` runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import json
from datetime import date

import pytest
import sqlalchemy as sa

from core.db import session_scope
from enrollment.cli import KINDS_FILE, load_kinds
from enrollment.models import CourseKind, LearningObjective
from tests.test_certificates import attend, course, download, engine_of, enroll, flat, pdf_texts

# The page's behaviour; the data rules under it are tested on both databases (conftest).
pytestmark = pytest.mark.one_database

MARK = "To be confirmed by the office"
OFFICIAL = {"nb": "Offisiell ordlyd for testmålet om offentlig helsearbeid.",
            "nn": "Omsett ordlyd for testmålet om offentleg helsearbeid.",
            "en": "Translated wording of the test objective on public health work."}


def rows(app, kind: str = "public_health") -> list[LearningObjective]:
    with session_scope(engine_of(app)) as session:
        return list(session.scalars(
            sa.select(LearningObjective).join(LearningObjective.kind)
            .where(CourseKind.code == kind).order_by(LearningObjective.position)))


def kind_id(app, code: str = "public_health") -> int:
    with session_scope(engine_of(app)) as session:
        return session.scalar(sa.select(CourseKind.id).where(CourseKind.code == code))


def as_tuples(objectives: list[LearningObjective]) -> list[tuple]:
    return [(o.code, o.official_number, o.text_nb, o.text_nn, o.text_en, o.confirmed,
             o.source_url, o.version_date, o.translated, o.position) for o in objectives]


def editor_data(objectives: list[LearningObjective], **changes) -> dict:
    """The editor's form as it comes, with ``changes`` ({field: value}) to the first entry."""
    data = {}
    for i, o in enumerate(objectives):
        entry = {"objective_id": str(o.id), "code": o.code, "official_number":
                 o.official_number or "", "text_nb": o.text_nb, "text_nn": o.text_nn,
                 "text_en": o.text_en, "source_url": o.source_url,
                 "version_date": o.version_date.isoformat() if o.version_date else ""}
        entry |= {flag: "y" for flag, on in (
            ("confirmed", o.confirmed), ("nn_translated", "nn" in o.translated_locales),
            ("en_translated", "en" in o.translated_locales)) if on}
        if i == 0:
            entry |= changes
        data |= {f"objectives-{i}-{name}": value for name, value in entry.items()}
    return data


def confirm_first(client, app, number: str = "TEST-DEL1-001"):
    """Confirm the first public-health objective through the editor, as an administrator."""
    return client.post(f"/staff/kinds/{kind_id(app)}/objectives", data=editor_data(
        rows(app), official_number=number, text_nb=OFFICIAL["nb"], text_nn=OFFICIAL["nn"],
        text_en=OFFICIAL["en"], source_url="https://example.org/official-test-source",
        confirmed="y"), follow_redirects=True)


@pytest.fixture
def admin(make_staff, login):
    make_staff(email="admin@sf.no", admin=True, name="Ada Admin")
    login("admin@sf.no")


# --- the data file and the loader ---------------------------------------------------------------


def test_data_file_names_its_sources_and_claims_no_unconfirmed_number():
    data = json.loads(KINDS_FILE.read_text(encoding="utf-8"))
    assert "lovdata.no/dokument/SF/forskrift/2016-12-08-1482" in json.dumps(data["_sources"])
    for kind in data["kinds"]:
        for objective in kind["objectives"]:
            assert objective["source"].startswith("https://")
            date.fromisoformat(objective["version"])
            assert set(objective["translated"]) <= {"nn", "en"}
            # An official number only ever comes with a confirmation.
            assert objective["number"] is None or objective["confirmed"]


def test_kinds_load_gives_lis1_courses_their_objectives_marked_to_be_confirmed(app):
    public_health = rows(app)
    assert [o.code for o in public_health] == ["ph-del1", "ph-fkm"]
    assert all(not o.confirmed and o.official_number is None for o in public_health)
    assert all(o.translated_locales == {"nn", "en"} for o in public_health)
    assert public_health[0].version_date == date(2020, 3, 1)
    assert public_health[1].version_date == date(2025, 9, 1)
    assert "helsedirektoratet.no" in public_health[0].source_url
    assert [o.code for o in rows(app, "emergency_medicine")] == ["em-del1", "em-fkm"]
    assert [o.code for o in rows(app, "group_guidance")] == ["gg-fkm"]
    # No source gives objectives for these: nothing is made up.
    for kind in ("supervisor_training_lis1", "supervisor_training_physio",
                 "physio_intern_course"):
        assert rows(app, kind) == []


def test_kinds_load_twice_changes_nothing(app):
    before = {code: as_tuples(rows(app, code)) for code in ("public_health", "group_guidance")}
    with session_scope(engine_of(app)) as session:
        assert load_kinds(session) == 0
    with session_scope(engine_of(app)) as session:
        assert load_kinds(session) == 0
    assert {code: as_tuples(rows(app, code)) for code in before} == before


def test_kinds_load_retires_the_invented_codes_unless_an_office_confirmed_them(app):
    with session_scope(engine_of(app)) as session:
        kind = session.scalar(sa.select(CourseKind).where(CourseKind.code == "public_health"))
        kind.objectives.append(LearningObjective(
            code="OH-01", text_nn="Oppfunne", text_nb="Oppfunnet", text_en="Invented",
            position=10))
        kind.objectives.append(LearningObjective(
            code="OH-02", text_nn="Stadfesta", text_nb="Bekreftet", text_en="Confirmed",
            position=11, official_number="TEST-1", confirmed=True))
    with session_scope(engine_of(app)) as session:
        load_kinds(session)
    assert [o.code for o in rows(app)] == ["ph-del1", "ph-fkm", "OH-02"]


def test_a_confirmed_entry_in_the_file_replaces_an_unconfirmed_one_never_a_confirmed_one(
        app, tmp_path):
    data = json.loads(KINDS_FILE.read_text(encoding="utf-8"))
    entry = data["kinds"][0]["objectives"][0]
    assert entry["code"] == "ph-del1"
    entry |= {"number": "TEST-DEL1-002", "confirmed": True,
              "text": {"nb": "Fra fila.", "nn": "Frå fila.", "en": "From the file."}}
    path = tmp_path / "kinds.json"
    path.write_text(json.dumps(data), encoding="utf-8")

    with session_scope(engine_of(app)) as session:
        load_kinds(session, path)
    first = rows(app)[0]
    assert (first.official_number, first.confirmed, first.text_nb) == (
        "TEST-DEL1-002", True, "Fra fila.")

    with session_scope(engine_of(app)) as session:
        session.get(LearningObjective, first.id).text_nb = "Kontrollert av kontoret."
    entry["text"]["nb"] = "Ny tekst i fila."
    path.write_text(json.dumps(data), encoding="utf-8")
    with session_scope(engine_of(app)) as session:
        load_kinds(session, path)
    assert rows(app)[0].text_nb == "Kontrollert av kontoret."


def test_flask_kinds_load_reports_how_many_objectives_are_to_be_confirmed(app, runner):
    result = runner.invoke(args=["kinds", "load"])
    assert result.exit_code == 0, result.output
    assert "Course kinds: 0 added." in result.output
    assert "Learning objectives to be confirmed by the office: 5." in result.output


# --- what staff and the public see --------------------------------------------------------------


def test_staff_see_the_mark_wherever_they_edit_view_or_print_objectives(
        app, client, admin, make_offering):
    offering = course(make_offering)
    placeholder = rows(app)[0].text_en

    for url in ("/staff/kinds", f"/staff/kinds/{kind_id(app)}/objectives",
                f"/courses/{offering.id}", f"/staff/courses/{offering.id}/participants"):
        response = client.get(url)
        html = response.get_data(as_text=True)
        assert response.status_code == 200, url
        assert MARK in html, url
        assert "no-store" in response.headers["Cache-Control"], url
    assert placeholder in client.get(f"/courses/{offering.id}").get_data(as_text=True)


def test_public_course_page_shows_only_confirmed_objectives_under_their_number(
        app, client, admin, make_offering):
    offering = course(make_offering)
    placeholder = rows(app)[1].text_en
    public = app.test_client()
    public.get("/lang/en")
    html = public.get(f"/courses/{offering.id}").get_data(as_text=True)
    assert MARK not in html
    assert "Learning objectives covered" not in html

    response = confirm_first(client, app)
    assert "The learning objectives are saved." in response.get_data(as_text=True)

    html = public.get(f"/courses/{offering.id}").get_data(as_text=True)
    assert "Learning objectives covered" in html
    assert '<span class="code">TEST-DEL1-001</span> ' + OFFICIAL["en"] in html
    assert "translation of the official Bokmål wording" in html
    assert placeholder not in html
    assert MARK not in html
    first = rows(app)[0]
    assert (first.official_number, first.confirmed, first.text_nb) == (
        "TEST-DEL1-001", True, OFFICIAL["nb"])


@pytest.mark.parametrize("missing", ["official_number", "text_nb", "source_url"])
def test_confirming_without_number_wording_or_source_is_refused_at_the_field(
        app, client, admin, missing):
    before = as_tuples(rows(app))
    data = editor_data(rows(app), official_number="TEST-1", text_nb="Ordlyd",
                       source_url="https://example.org/x", confirmed="y")
    data[f"objectives-0-{missing}"] = ""

    response = client.post(f"/staff/kinds/{kind_id(app)}/objectives", data=data)

    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "A confirmed objective needs its" in html
    assert f'id="objectives-0-{missing}"' in html
    assert as_tuples(rows(app)) == before


# --- certificates -------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["nn", "nb", "en"])
def test_certificate_prints_confirmed_objectives_with_official_number_and_no_others(
        app, client, admin, make_offering, lang):
    confirm_first(client, app)
    unconfirmed = rows(app)[1]
    offering = course(make_offering)
    enrollment_id, token = enroll(app, offering.id, "Åse Ødegård", locale="nn")
    attend(app, enrollment_id)

    response = download(app.test_client(), token, lang)

    assert response.status_code == 200
    for text in pdf_texts(response.data):
        assert "TEST-DEL1-001" in text
        assert flat(OFFICIAL[lang]) in text
        assert flat(unconfirmed.text(lang)) not in text
        assert MARK not in text
