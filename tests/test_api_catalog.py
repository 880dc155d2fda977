"""The public read API of the catalog (enrollment/routes/api_catalog.py): the same offerings,
seats and words as the catalog and course pages, its filters, cursor pages, caching and
problems."""

from __future__ import annotations

import base64
import json
import re
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from core.db import session_scope
from enrollment.models import CourseKind, LearningObjective, OfferingStatus, Role
from enrollment.services import enrollments
from enrollment.services.enrollments import PersonDetails

# Shapes, words and headers; the seats test (data written by the enroll service) runs on both.
pytestmark = pytest.mark.one_database

BASE = "https://kurs.example.no"


@pytest.fixture
def app_config(app_config):
    """Links leave the request from PUBLIC_BASE_URL, never from the Host header."""
    return {**app_config, "PUBLIC_BASE_URL": BASE}


def engine(app):
    return app.extensions["kp_engine"]


def page_ids(response) -> list[int]:
    """The offering ids a catalog page lists, in order."""
    return [int(i) for i in re.findall(r'id="o(\d+)-title"', response.get_data(as_text=True))]


def api(client, url, lang="en", **headers):
    return client.get(url, headers={"Accept-Language": lang, **headers})


@pytest.fixture
def three(make_offering, now):
    """Three visible offerings in two counties, kinds and cohorts, and three the catalog hides
    or marks: a draft, one that has ended, a cancelled one (listed, as on the page)."""
    a = make_offering(title_en="Vestland public health", county="vestland",
                      first_day=now + timedelta(days=50), cohort=date(2027, 3, 1))
    b = make_offering(title_en="Rogaland physio", county="rogaland",
                      kind="physio_intern_course", first_day=now + timedelta(days=30),
                      cohort=date(2027, 8, 1))
    c = make_offering(title_en="Vestland supervisors", county="vestland",
                      kind="supervisor_training_lis1", first_day=now + timedelta(days=40),
                      cohort=date(2027, 9, 1), is_demo=True,
                      meeting_url="https://meet.example.no/secret")
    make_offering(title_en="Draft", status=OfferingStatus.DRAFT)
    make_offering(title_en="Over", first_day=now - timedelta(days=5))
    cancelled = make_offering(title_en="Cancelled", status=OfferingStatus.CANCELLED,
                              county="agder", first_day=now + timedelta(days=60))
    return a, b, c, cancelled


@pytest.mark.both_databases
def test_seats_left_are_the_pages_numbers_after_an_enrollment_takes_a_seat(
        app, client, make_offering, now):
    offering = make_offering(capacity=3, title_en="Akutt")
    make_offering(title_en="Draft", status=OfferingStatus.DRAFT)
    with app.app_context(), session_scope(engine(app)) as session:
        enrollments.enroll(session, offering.id, PersonDetails(
            full_name="Deltakar 1", email="deltakar1@example.no", phone="+47 400 00 000",
            role=Role.LIS1, hpr_number="1000001", employer="Bergen kommune", locale="nn"), now)

    listed = api(client, "/api/v1/offerings").json["items"]
    one = api(client, f"/api/v1/offerings/{offering.id}").json

    assert [i["id"] for i in listed] == page_ids(api(client, "/")) == [offering.id]
    assert (listed[0]["seats_left"], one["seats_left"], one["seats_total"]) == (2, 2, 3)
    assert "2 seats left" in api(client, f"/courses/{offering.id}").get_data(as_text=True)
    assert "2 seats left" in api(client, "/").get_data(as_text=True)


def test_the_list_is_the_catalog_pages_offerings_with_their_facts(app, client, three, now):
    a, b, c, cancelled = three

    response = api(client, "/api/v1/offerings")

    assert response.status_code == 200
    items = response.json["items"]
    assert [i["id"] for i in items] == page_ids(api(client, "/")) == [b.id, c.id, a.id,
                                                                      cancelled.id]
    assert response.json["next_cursor"] is None
    first = items[0]
    assert first["title"] == {"nn": "Testkurs", "nb": "Testkurs", "en": "Rogaland physio"}
    assert (first["kind"], first["county"], first["cohort"]) == (
        "physio_intern_course", "rogaland", "2027-08")
    assert first["url"] == f"{BASE}/courses/{b.id}"
    assert (first["seats_total"], first["seats_left"], first["enrollment"],
            first["enrollment_open"], first["is_demo"], first["digital"]) == (
        10, 10, "open", True, False, False)
    assert first["starts_at"] < first["ends_at"]
    assert first["enrollment_deadline"].startswith(b.enroll_closes_at.date().isoformat())
    supervisors = items[1]
    assert (supervisors["is_demo"], supervisors["digital"]) == (True, True)
    assert "secret" not in response.get_data(as_text=True)  # the meeting link is participants'
    assert (items[3]["status"], items[3]["enrollment"], items[3]["enrollment_open"]) == (
        "cancelled", "not_published", False)


def test_filters_are_the_catalog_pages(client, three):
    a, b, c, cancelled = three
    cases = {
        "county=vestland": [c.id, a.id],
        "kind=physio_intern_course": [b.id],
        "role=supervisor": [c.id],
        "cohort=2027-09": [c.id],
        "county=vestland&role=lis1&cohort=2027-03": [a.id],
        "county=rogaland&role=supervisor": [],
        "county=agder": [cancelled.id],
        "open=true&county=agder": [],
    }
    for query, expected in cases.items():
        listed = [i["id"] for i in api(client, f"/api/v1/offerings?{query}").json["items"]]
        assert listed == expected == page_ids(api(client, f"/?{query}")), query


def test_pages_of_two_cover_the_catalog_without_duplicates_or_gaps(client, make_offering, now):
    same_day = now + timedelta(days=30)
    ids = [make_offering(title_en=f"Course {i}", first_day=same_day + timedelta(days=i // 2)).id
           for i in range(5)]  # two pairs start at the same moment: the id breaks the tie

    seen, cursor, pages = [], None, 0
    while True:
        url = "/api/v1/offerings?limit=2" + (f"&cursor={cursor}" if cursor else "")
        body = api(client, url).json
        pages += 1
        seen += [i["id"] for i in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break

    assert pages == 3
    assert seen == ids
    assert api(client, "/api/v1/offerings?county=vestland&limit=2").json["next_cursor"]


@pytest.mark.parametrize("cursor", [
    "not-a-cursor!", base64.urlsafe_b64encode(b'["2027-01-01T08:00:00", 3]').decode(),
    base64.urlsafe_b64encode(b'["yesterday", 3]').decode(),
    base64.urlsafe_b64encode(b'["2027-01-01T08:00:00+00:00", 99999999999999999999999]').decode(),
    base64.urlsafe_b64encode(b'[3, "2027-01-01T08:00:00+00:00"]').decode(),
    base64.urlsafe_b64encode(json.dumps({"id": 3}).encode()).decode()])
def test_a_forged_cursor_is_a_400_problem(client, cursor):
    response = api(client, f"/api/v1/offerings?cursor={cursor}", lang="nb")

    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"
    assert response.json["status"] == 400
    assert response.json["detail"]


@pytest.mark.parametrize(("query", "field"), [
    ("cohort=2027-05", "cohort"), ("cohort=1999-03", "cohort"), ("limit=0", "limit"),
    ("limit=101", "limit"), ("role=dentist", "role")])
def test_values_outside_the_contract_are_422_problems_naming_the_field(client, query, field):
    response = api(client, f"/api/v1/offerings?{query}", lang="nn")

    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    assert [e["field"] for e in response.json["errors"]] == [field]
    assert response.json["title"] == "Førespurnaden stemmer ikkje med kontrakten"


def test_a_county_or_kind_that_names_none_matches_no_offering(client, three):
    # Counties and kinds are data, which the contract cannot list: an unknown one is a filter
    # that matches nothing (200, empty), where the catalog page answers 404.
    for query in ("county=atlantis", "kind=knitting", "county=vestland&kind=knitting"):
        response = api(client, f"/api/v1/offerings?{query}")
        assert response.status_code == 200
        assert response.json == {"items": [], "next_cursor": None}
    assert api(client, "/?county=atlantis").status_code == 404


def test_answers_are_cacheable_open_to_other_sites_and_304_when_unchanged(client, three):
    a = three[0]
    for url in ("/api/v1/offerings", f"/api/v1/offerings/{a.id}", "/api/v1/course-kinds"):
        first = api(client, url)
        assert first.headers["Access-Control-Allow-Origin"] == "*"
        assert first.headers["Cache-Control"].startswith("public, max-age=")
        again = api(client, url, **{"If-None-Match": first.headers["ETag"]})
        assert (again.status_code, again.data) == (304, b""), url


def test_an_unknown_or_unpublished_offering_is_a_404_problem_in_nynorsk(client, make_offering):
    draft = make_offering(status=OfferingStatus.DRAFT)
    for offering_id in (draft.id, 999999):
        response = api(client, f"/api/v1/offerings/{offering_id}", lang="nn")
        assert response.status_code == 404
        assert response.mimetype == "application/problem+json"
        assert response.json["title"] == "Ikkje funne"
        assert response.json["detail"] == "Det finst ikkje noko publisert kurs med dette nummeret."
        assert api(client, f"/courses/{offering_id}").status_code == 404
    # A number past the id column's range names nothing on any page or operation (core.web).
    huge = api(client, "/api/v1/offerings/617825605658323714048", lang="nn")
    assert huge.status_code == 404
    assert huge.json["title"] == "Ikkje funne"
    assert api(client, "/courses/617825605658323714048").status_code == 404


def confirm_first_objective(app, kind: str) -> LearningObjective:
    with session_scope(engine(app)) as session:
        objective = session.scalars(
            sa.select(LearningObjective).join(CourseKind).where(CourseKind.code == kind)
            .order_by(LearningObjective.position)).first()
        objective.official_number, objective.confirmed = "DEL1-TEST-01", True
        objective.translated = "nn en"
        return objective


def test_one_offering_is_its_course_page(app, client, make_offering):
    offering = make_offering(days=2, venue="Scandic Bergen City")
    confirm_first_objective(app, "public_health")

    body = api(client, f"/api/v1/offerings/{offering.id}").json
    page = api(client, f"/courses/{offering.id}").get_data(as_text=True)

    assert [s["place"] for s in body["sessions"]] == ["Bergen", "Bergen"]
    assert body["starts_at"] == body["sessions"][0]["starts_at"]
    assert body["ends_at"] == body["sessions"][1]["ends_at"]
    assert body["roles"] == [{"code": "lis1", "name": {
        "nn": "Lege i spesialisering del 1 (LIS1)",
        "nb": "Lege i spesialisering del 1 (LIS1)",
        "en": "LIS1 doctor"}}]
    assert [o["official_number"] for o in body["objectives"]] == ["DEL1-TEST-01"]
    assert body["objectives"][0]["translated"] == ["en", "nn"]
    assert "DEL1-TEST-01" in page
    assert body["refund"]["eligible"] is True
    assert body["refund"]["refunded_roles"] == ["lis1"]
    assert body["refund"]["statement"]["en"] in page
    assert body["office"]["nn"] == "Statsforvaltaren i Vestland"


@pytest.fixture
def enrollment_only(app_config):
    """The app without the refunds plugin."""
    app_config["PLUGINS"] = ["enrollment"]
    return app_config


def test_without_the_refunds_plugin_no_refund_is_promised(enrollment_only, client, make_offering):
    offering = make_offering()

    refund = api(client, f"/api/v1/offerings/{offering.id}").json["refund"]

    assert refund == {"eligible": False, "refunded_roles": [], "statement": None}


def test_course_kinds_give_only_confirmed_objectives_and_count_the_rest(app, client):
    confirm_first_objective(app, "public_health")

    kinds = {k["code"]: k for k in api(client, "/api/v1/course-kinds").json["items"]}

    assert list(kinds)[:2] == ["public_health", "emergency_medicine"]
    health = kinds["public_health"]
    assert health["name"]["nn"] == "Kurs i offentleg helsearbeid"
    assert [o["official_number"] for o in health["objectives"]] == ["DEL1-TEST-01"]
    assert set(health["objectives"][0]["text"]) == {"nn", "nb", "en"}
    assert health["objectives_to_be_confirmed"] == 1
    assert kinds["emergency_medicine"]["objectives"] == []
    assert kinds["emergency_medicine"]["objectives_to_be_confirmed"] == 2
    assert [r["code"] for r in kinds["supervisor_training_lis1"]["roles"]] == ["supervisor"]


def test_the_document_has_the_operations_and_the_link_to_one_offering(client):
    document = api(client, "/api/v1/openapi.json").json
    operations = {op["operationId"]: op for item in document["paths"].values()
                  for op in item.values()}

    assert {"listOfferings", "getOffering", "listCourseKinds"} <= set(operations)
    assert operations["listOfferings"]["responses"]["200"]["links"]["getOffering"] == {
        "operationId": "getOffering",
        "parameters": {"offering_id": "$response.body#/items/0/id"}}
    assert "security" not in operations["getOffering"]
