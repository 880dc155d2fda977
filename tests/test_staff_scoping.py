"""The route-enumeration test: no staff route lets one county reach another county's objects.

Every rule under ``/staff/`` (except the public login, second-factor, logout and password pages,
and "log out all my sessions", which acts on no county's object) is called with
the ids of objects that belong to Vestland, by a staff member of Rogaland, with each of its
methods. Each must answer 404 and leave the database exactly as it was. The same GET requests by
a staff member of Vestland must not answer 404, which proves the ids were right.

The routes are read from ``app.url_map``, so a route added later is covered without changing
this file; a route whose URL takes an argument this file has no value for fails the test until
``world_values`` learns it.
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass, field
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from certificates import services as certificate_service
from core import audit
from core.api.tokens import ApiToken
from core.auth import admin_required
from core.db import Base, session_scope, utcnow
from core.models import County, Municipality
from enrollment.models import (
    Attendance,
    CourseOffering,
    Enrollment,
    EnrollmentStatus,
    LearningObjective,
    ManageLink,
    Participant,
    Role,
    Roster,
    RosterEntry,
    RosterImport,
)
from enrollment.services import enrollments, links
from refunds.cli import load_rate_schemes
from refunds.lines import LegInput
from refunds.models import Rate, RateKind, RateScheme, TravelMeans
from refunds.services.claims import create_draft, submit_claim, update_draft
from refunds.services.receipts import attach_receipt
from refunds.uploads import read_receipt
from tests.conftest import STAFF_PASSWORD, staff_login
from tests.test_refunds_uploads import png

# The page's behaviour; the data rules under it are tested on both databases (conftest).
pytestmark = pytest.mark.one_database

# The public pages of staff authentication: reachable without an account by design; and
# "log out all my sessions", which ends one's own sessions (this client's too) and no more.
AUTH_ENDPOINTS = frozenset({
    "staff.login", "staff.logout", "staff.forgot_password", "staff.reset_password",
    "staff.second_factor", "staff.set_up_second_factor", "staff.end_all_sessions",
})
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
# Every piece of Vestland data carries this mark, so a page that leaks it is easy to spot.
MARK = "zqx"
SECRET_VALUE = re.compile(r'value="[A-Za-z0-9._-]{24,}"')
_ADMIN_CODE = admin_required(lambda: None).__code__


# --- the world ----------------------------------------------------------------------------------


@dataclass
class World:
    """Ids of the Vestland objects, of the staff members, and a manage token."""

    values: dict[str, object] = field(default_factory=dict)
    manage_token: str = ""
    rogaland_offering_id: int = 0
    vestland_enrollment_ids: list[int] = field(default_factory=list)


def _person(number: int, role: Role = Role.LIS1) -> enrollments.PersonDetails:
    return enrollments.PersonDetails(
        full_name=f"Zqx Person{number}", email=f"zqx.person{number}@example.org",
        phone="412 34 567", role=role, hpr_number=str(3000000 + number),
        employer="Zqx kommune", locale="en",
    )


def build_world(app, make_offering, make_staff) -> World:
    """Vestland: an offering with two sessions, a confirmed, a pending and a waitlisted
    enrollment, attendance, audit events and a staff member. Rogaland: an offering and staff."""
    world = World()
    # Held ten days ago, so its attendance and certificate keep the time rules.
    held = (utcnow() - timedelta(days=10)).replace(hour=0, minute=0, second=0, microsecond=0)
    offering = make_offering(county="vestland", capacity=1, title_nn="Zqx-kurs",
                             title_nb="Zqx-kurs", title_en="Zqx course", venue="Zqx-salen",
                             first_day=held)
    rogaland_offering = make_offering(county="rogaland", title_en="Rogaland course")
    world.rogaland_offering_id = rogaland_offering.id
    make_staff(email="vera@sfvl.no", county="vestland", name="Vera Vestland")
    colleague = make_staff(email="zqx.staff@sfvl.no", county="vestland", name="Zqx Colleague")
    make_staff(email="rolf@sfro.no", county="rogaland", name="Rolf Rogaland")
    make_staff(email="admin@sf.no", admin=True, name="Ada Admin")
    with app.app_context(), session_scope(app.extensions["kp_engine"]) as session:
        now = utcnow()
        confirmed = enrollments.enroll(session, offering.id, _person(1), now)
        waitlisted = enrollments.enroll(session, offering.id, _person(2),
                                        now + timedelta(seconds=1))
        assert confirmed.enrollment.status == EnrollmentStatus.CONFIRMED
        assert waitlisted.enrollment.status == EnrollmentStatus.WAITLISTED
        person = _person(3)
        _token, digest = links.new_token()
        pending = Enrollment(
            offering_id=offering.id, status=EnrollmentStatus.PENDING,
            manage_links=[ManageLink(token_hash=digest)],
            participant=Participant(full_name=person.full_name, email=person.email,
                                    phone=person.phone, role=person.role,
                                    hpr_number=person.hpr_number, employer=person.employer),
        )
        session.add(pending)
        session.flush()
        first_session = session.get(CourseOffering, offering.id).sessions[0]
        session.add(Attendance(enrollment_id=confirmed.enrollment.id,
                               session_id=first_session.id, present=True))
        county_id = session.scalar(sa.select(County.id).where(County.slug == "vestland"))
        actor = type("Actor", (), {"id": colleague, "email": "zqx.staff@sfvl.no"})()
        event = audit.record(session, actor=actor, action="enrollment.vl_marked",
                             object_type="enrollment", object_id=pending.id,
                             county_id=county_id, before={"status": "zqx-before"},
                             after={"status": "zqx-after"})
        objective = session.scalar(sa.select(LearningObjective).where(
            LearningObjective.kind_id == offering.kind_id).limit(1))
        certificate, _again = certificate_service.issue_by_hand(
            session, confirmed.enrollment.id, "Zqx reason", actor=actor, now=now)
        # A roster of the cohort naming the pending participant, and a file uploaded for it.
        cohort = date(held.year, 3, 1)
        roster = Roster(county_id=county_id, role=Role.LIS1, cohort=cohort, entries=[
            RosterEntry(full_name=person.full_name, email=person.email,
                        hpr_number=person.hpr_number, start_date=cohort,
                        municipality_id=session.scalar(sa.select(Municipality.id)
                                                       .where(Municipality.number == "4601")))])
        upload = RosterImport(county_id=county_id, role=Role.LIS1, cohort=cohort,
                              filename="zqx.csv", sha256="0" * 64, rows=[])
        session.add_all([roster, upload])
        session.flush()
        # A Vestland staff member's API token (whose revoke page is one's own only); a row,
        # not tokens.create, so the world's audit events stay the three above.
        token = ApiToken(public_id="0a1b2c3d", secret_sha256="0" * 64, staff_user_id=colleague,
                         county_id=county_id, name="Zqx-nøkkel", can_write=True,
                         expires_at=now + timedelta(days=30))
        session.add(token)
        session.flush()
        world.manage_token = confirmed.token
        world.vestland_enrollment_ids = [confirmed.enrollment.id, pending.id,
                                         waitlisted.enrollment.id]
        # URL argument name -> the id (or key) of a Vestland object of that kind.
        world.values = {
            "offering_id": offering.id,
            "session_id": first_session.id,
            "enrollment_id": pending.id,
            "participant_id": pending.participant.id,
            "kind_id": offering.kind_id,
            "objective_id": objective.id if objective else 0,
            "user_id": colleague,
            "event_id": event.id,
            "certificate_id": certificate.id,
            "county_id": county_id,
            "county": "vestland",
            "county_slug": "vestland",
            "roster_id": roster.id,
            "import_id": upload.id,
            "token_id": token.id,
        }
    world.values.update(_vestland_claim(app, world.vestland_enrollment_ids[0]))
    _vestland_rate_scheme(app)
    return world


def _vestland_rate_scheme(app) -> None:
    """Vestland's own rate scheme (added after the claim, which keeps the national one), so
    the rates page shows Rogaland staff the national scheme and never Vestland's."""
    with session_scope(app.extensions["kp_engine"]) as session:
        county_id = session.scalar(sa.select(County.id).where(County.slug == "vestland"))
        session.add(RateScheme(
            code="zqx-vestland", name="Zqx-satsar", county_id=county_id,
            rates=[Rate(kind=RateKind.CAR_KM, amount_ore=777, valid_from=date(2020, 1, 1),
                        note="Zqx note", source_url="https://example.org/zqx-rates")]))


def _vestland_claim(app, enrollment_id: int) -> dict[str, int]:
    """A submitted travel claim, with a receipt, of the confirmed Vestland enrollment."""
    checked = read_receipt(io.BytesIO(png()), "zqx-kvittering.png")
    with app.app_context(), session_scope(app.extensions["kp_engine"]) as session:
        load_rate_schemes(session)
        enrollment = session.get(Enrollment, enrollment_id)
        first_day = enrollment.offering.sessions[0].starts_at
        claim = create_draft(session, enrollment, now=first_day)
        receipt = attach_receipt(session, claim.id, checked, now=first_day)
        leg = LegInput(travel_date=first_day.date(), from_place="Zqx", to_place="Bergen",
                       means=TravelMeans.FLIGHT, amount_paid_ore=150_000, receipt_id=receipt.id)
        update_draft(session, claim.id, lines=[leg], comment="Zqx comment",
                                     bank_account="86011117947", now=first_day)
        submit_claim(session, claim.id, now=first_day)
        return {"claim_id": claim.id, "receipt_id": receipt.id}


def plausible_form(world: World) -> dict[str, object]:
    """Values a tampering staff member might send: a valid answer to most of our forms."""
    return {
        "reason": "Zqx reason", "target": str(world.rogaland_offering_id),
        "present": [str(i) for i in world.vestland_enrollment_ids], "save": "Save",
        "full_name": "Intruder Person", "email": "intruder@example.org",
        "phone": "412 34 567", "role": "lis1", "hpr_number": "7654321", "employer": "X",
        "locale": "en", "consent": "y", "needs": "", "name": "Intruder", "county": "rogaland",
        "is_admin": "y", "confirm": "y", "status": "confirmed", "capacity": "99",
        "title_nn": "Changed", "title_nb": "Changed", "title_en": "Changed", "venue": "Changed",
        "password": STAFF_PASSWORD,
    }


# --- helpers ------------------------------------------------------------------------------------


def staff_rules(app) -> list:
    """Every rule under /staff/ except the public authentication pages."""
    return [rule for rule in app.url_map.iter_rules()
            if rule.rule.startswith("/staff/") and rule.endpoint not in AUTH_ENDPOINTS]


def methods_of(rule) -> list[str]:
    return [m for m in METHODS if m in rule.methods]


def is_admin_only(app, rule) -> bool:
    """Whether the view is wrapped in ``admin_required`` (however many decorators deep)."""
    view = app.view_functions[rule.endpoint]
    while view is not None:
        if getattr(view, "__code__", None) is _ADMIN_CODE:
            return True
        view = getattr(view, "__wrapped__", None)
    return False


def url_for_rule(rule, values: dict[str, object], extra: dict[str, object] | None = None) -> str:
    """The URL of ``rule`` with its arguments taken from ``values``; fails on an unknown one."""
    missing = sorted(rule.arguments - set(values) - set(extra or {}))
    if missing:
        pytest.fail(
            f"{rule.rule} ({rule.endpoint}) takes {', '.join(missing)}, which the scoping tests "
            "cannot fill in: create a Vestland object of that kind in build_world() and add its "
            "id to World.values, so the route is checked like every other."
        )
    merged = {**values, **(extra or {})}
    built = rule.build({name: merged[name] for name in rule.arguments}, append_unknown=False)
    assert built is not None, rule.rule
    return built[1]


def database_state(app) -> dict[str, list]:
    """Every row of every table, sorted: any change anywhere shows up as a difference."""
    with app.extensions["kp_engine"].connect() as conn:
        return {table.name: sorted(repr(tuple(row)) for row in conn.execute(sa.select(table)))
                for table in Base.metadata.sorted_tables}


def changed_tables(before: dict, after: dict) -> list[str]:
    return [name for name in before if before[name] != after.get(name)]


def logged_in(app, email: str):
    client = app.test_client()
    client.get("/lang/en")
    staff_login(app, client, email)
    return client


def leaks(response) -> bool:
    data = response.get_data()
    if data.startswith(b"PK"):  # an XLSX workbook (the claims export): look inside it
        with zipfile.ZipFile(io.BytesIO(data)) as book:
            data = b"".join(book.read(name) for name in book.namelist())
    # Random secrets (CSRF tokens, links) may spell the mark by chance: they are not data.
    text = SECRET_VALUE.sub('value=""', data.decode("utf-8", "replace"))
    return MARK in text.lower()


@pytest.fixture
def world(app, make_offering, make_staff) -> World:
    return build_world(app, make_offering, make_staff)


# --- the tests ----------------------------------------------------------------------------------


def test_staff_of_one_county_cannot_reach_another_countys_objects(app, world):
    rogaland = logged_in(app, "rolf@sfro.no")
    rules = staff_rules(app)
    state = database_state(app)
    forms = ({}, plausible_form(world))
    problems, covered = [], 0

    for rule in rules:
        covered += 1
        url = url_for_rule(rule, world.values)
        for method in methods_of(rule):
            for form in forms if method != "GET" else ({},):
                response = rogaland.open(url, method=method, data=form)
                if rule.arguments and response.status_code != 404:
                    problems.append(f"{method} {url} ({rule.endpoint}) answered "
                                    f"{response.status_code}, not 404, to Rogaland staff")
                elif not rule.arguments and response.status_code >= 500:
                    problems.append(f"{method} {url} ({rule.endpoint}) failed "
                                    f"({response.status_code})")
                if leaks(response):
                    problems.append(f"{method} {url} ({rule.endpoint}) shows Vestland data to "
                                    "Rogaland staff")
                now = database_state(app)
                if now != state:
                    problems.append(f"{method} {url} ({rule.endpoint}) as Rogaland staff changed "
                                    f"{changed_tables(state, now)}")
                    state = now

    print(f"scoping: {covered} /staff/ routes checked as staff of another county")
    assert covered > 0
    assert covered == len([r for r in app.url_map.iter_rules() if r.rule.startswith("/staff/")]) \
        - len([r for r in app.url_map.iter_rules() if r.endpoint in AUTH_ENDPOINTS])
    assert problems == [], "\n".join(problems)


def test_lists_and_searches_do_not_show_another_countys_data(app, world):
    """Routes without ids answer the Rogaland user with Rogaland data, whatever the query asks."""
    rogaland = logged_in(app, "rolf@sfro.no")
    # Search terms that match Vestland data without containing the mark themselves (a page
    # may rightly repeat what was searched for).
    query = {**{k: str(v) for k, v in world.values.items()}, "q": "Person", "email":
             "example.org", "actor": "staff@sfvl", "action": "enrollment.vl_marked",
             "object_type": "enrollment"}
    state = database_state(app)
    problems, checked = [], 0

    for rule in staff_rules(app):
        if rule.arguments or "GET" not in rule.methods:
            continue
        checked += 1
        for query_string in ({}, query):
            response = rogaland.get(rule.rule, query_string=query_string)
            if response.status_code >= 500 or leaks(response):
                problems.append(f"GET {rule.rule}?{query_string} ({rule.endpoint}) answered "
                                f"{response.status_code} with Vestland data={leaks(response)}")
    assert database_state(app) == state
    assert checked > 0
    assert problems == [], "\n".join(problems)


def test_the_ids_are_right_for_staff_of_the_owning_county(app, world):
    """The sanity half: Vestland staff (administrators, for admin pages) do find them."""
    vestland = logged_in(app, "vera@sfvl.no")
    admin = logged_in(app, "admin@sf.no")
    state = database_state(app)
    problems, checked = [], 0

    for rule in staff_rules(app):
        if "GET" not in rule.methods:
            continue
        checked += 1
        url = url_for_rule(rule, world.values)
        client = admin if is_admin_only(app, rule) else vestland
        response = client.get(url)
        if response.status_code == 404 or response.status_code >= 500:
            problems.append(f"GET {url} ({rule.endpoint}) answered {response.status_code} "
                            "to staff of the owning county (if the route is for administrators "
                            "only, mark it with @admin_required)")
        elif response.status_code == 302 and "/staff/login" in response.headers["Location"]:
            problems.append(f"GET {url} ({rule.endpoint}) sent a logged-in user to log in")
    assert database_state(app) == state
    assert checked > 0
    assert problems == [], "\n".join(problems)


def test_county_staff_get_404_on_admin_pages(app, world):
    vestland = logged_in(app, "vera@sfvl.no")
    admin_rules = [r for r in staff_rules(app) if is_admin_only(app, r)]
    state = database_state(app)

    answers = {(m, r.rule): vestland.open(url_for_rule(r, world.values), method=m,
                                          data=plausible_form(world)).status_code
               for r in admin_rules for m in methods_of(r)}

    assert admin_rules
    assert set(answers.values()) == {404}, answers
    assert database_state(app) == state


def test_every_staff_route_needs_a_login(app, world):
    anonymous = app.test_client()
    state = database_state(app)
    problems = []

    for rule in staff_rules(app):
        url = url_for_rule(rule, world.values)
        for method in methods_of(rule):
            response = anonymous.open(url, method=method, data=plausible_form(world))
            location = response.headers.get("Location", "")
            if response.status_code != 302 or not location.startswith("/staff/login"):
                problems.append(f"{method} {url} ({rule.endpoint}) answered "
                                f"{response.status_code} {location} without a login")
    assert database_state(app) == state
    assert problems == [], "\n".join(problems)
