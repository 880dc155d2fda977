"""Words that mean what they say, in Nynorsk, Bokmål and English.

A withdrawn enrollment is «meldt av», never «avlyst» (only a course the office called off is);
the turnus region Sør-Øst keeps its name in Nynorsk; «Utbetalt til konto» is shown only once a
claim is paid; the course page says exactly who is refunded, by the same rule the claims
follow; the physiotherapy course names the chiropractic interns it invites; and Norwegian text
quotes with « ». The web tests run on SQLite and on PostgreSQL and check what the person sees
and what the database holds.
"""

from __future__ import annotations

import html
import json
import re
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from babel.messages.pofile import read_po
from flask_babel import force_locale, gettext

from core.db import session_scope, utcnow
from core.i18n import to_local
from core.mail import OutboxMessage
from core.models import Region
from enrollment.cli import load_kinds
from enrollment.models import (
    Attendance,
    CourseKind,
    CourseOffering,
    Enrollment,
    EnrollmentStatus,
    ManageLink,
    OfferingStatus,
    Participant,
    Role,
)
from enrollment.services import links
from refunds.eligibility import check_eligible
from refunds.errors import NotEligible
from refunds.models import Claim, ClaimStatus
from tests.conftest import staff_login
from tests.refunds_factories import car_leg, draft_claim, engine_of, load_rates

# Words in templates, catalogs and data files do not depend on the database: one is enough
# (SQLite), which keeps make test under its 6 minutes.
pytestmark = pytest.mark.one_database

ROOT = Path(__file__).resolve().parent.parent
LOCALES = ["nn", "nb", "en"]
WITHDRAWN = {"nn": "Meldt av", "nb": "Meldt av", "en": "Withdrawn"}
COURSE_CANCELLED = {"nn": "Kurset er avlyst", "nb": "Kurset er avlyst", "en": "Course cancelled"}


# --- helpers ------------------------------------------------------------------------------------


def text_of(response) -> str:
    """The page's visible text, tags removed and whitespace collapsed."""
    body = re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))
    return " ".join(html.unescape(body).split())


def in_locale(app, locale: str, msgid: str, **values) -> str:
    """``msgid`` as the catalog of ``locale`` has it."""
    with app.test_request_context(), force_locale(locale):
        return gettext(msgid, **values)


def client_in(app, locale: str):
    client = app.test_client()
    client.get(f"/lang/{locale}")
    return client


def staff_client_in(app, locale: str, email: str = "kari@sfvl.no"):
    client = app.test_client()
    staff_login(app, client, email)
    client.get(f"/lang/{locale}")
    return client


def enroll_person(app, offering_id: int, *, locale: str, role: Role = Role.LIS1,
                  status: EnrollmentStatus = EnrollmentStatus.CONFIRMED,
                  name: str = "Åse Ødegård", email: str = "ase@example.no") -> tuple[int, str]:
    """An enrollment with a real manage link; returns (enrollment id, token)."""
    token, digest = links.new_token()
    with session_scope(engine_of(app)) as session:
        enrollment = Enrollment(
            offering_id=offering_id, status=status,
            manage_links=[ManageLink(token_hash=digest)],
            participant=Participant(full_name=name, email=email, role=role, locale=locale),
        )
        if status == EnrollmentStatus.CONFIRMED:
            session.get(CourseOffering, offering_id).seats_taken += 1
        session.add(enrollment)
        session.flush()
        return enrollment.id, token


def enrollment_status(app, enrollment_id: int) -> EnrollmentStatus:
    with session_scope(engine_of(app)) as session:
        return session.get(Enrollment, enrollment_id).status


# --- «meldt av», not «avlyst» -------------------------------------------------------------------


@pytest.mark.parametrize("locale", LOCALES)
def test_a_withdrawn_enrollment_says_meldt_av_to_the_participant_and_staff(
        app, make_offering, make_staff, locale):
    offering = make_offering(title_en="Public health", title_nn="Offentleg helse",
                             title_nb="Offentlig helse")
    enrollment_id, token = enroll_person(app, offering.id, locale=locale)
    make_staff()
    participant = client_in(app, locale)

    response = participant.post(f"/manage/{token}/cancel")
    assert response.status_code == 302

    assert enrollment_status(app, enrollment_id) == EnrollmentStatus.CANCELLED
    cancelled = in_locale(app, locale, "Cancelled")
    manage = text_of(participant.get(f"/manage/{token}"))
    assert WITHDRAWN[locale] in manage
    assert cancelled not in manage
    roster = text_of(staff_client_in(app, locale).get(
        f"/staff/courses/{offering.id}/participants"))
    assert f"{WITHDRAWN[locale]}" in roster
    assert cancelled not in roster
    with session_scope(engine_of(app)) as session:
        mail = session.scalars(sa.select(OutboxMessage)).one()
        assert mail.locale == locale
        assert "avlyst" not in (mail.subject + mail.body_text).lower()
        if locale != "en":
            assert "meldt av" in mail.subject


@pytest.mark.parametrize("locale", LOCALES)
def test_a_course_the_office_cancelled_still_says_avlyst(app, make_offering, make_staff, locale):
    offering = make_offering()
    enrollment_id, token = enroll_person(app, offering.id, locale=locale)
    make_staff()
    staff = staff_client_in(app, locale)

    assert staff.post(f"/staff/courses/{offering.id}/cancel",
                      data={"reason": ""}).status_code == 302

    with session_scope(engine_of(app)) as session:
        assert session.get(CourseOffering, offering.id).status == OfferingStatus.CANCELLED
    assert enrollment_status(app, enrollment_id) == EnrollmentStatus.CANCELLED
    course_cancelled = in_locale(app, locale, "Cancelled")
    assert course_cancelled == {"nn": "Avlyst", "nb": "Avlyst", "en": "Cancelled"}[locale]
    assert course_cancelled in text_of(staff.get("/staff/courses"))
    manage = text_of(client_in(app, locale).get(f"/manage/{token}"))
    assert COURSE_CANCELLED[locale] in manage
    assert WITHDRAWN[locale] not in manage
    roster = text_of(staff.get(f"/staff/courses/{offering.id}/participants"))
    row = roster.split("Åse Ødegård")[1]
    assert COURSE_CANCELLED[locale] in row
    assert WITHDRAWN[locale] not in row
    page = text_of(client_in(app, locale).get(f"/courses/{offering.id}"))
    assert in_locale(app, locale, "This course has been cancelled.") in page


# --- Sør-Øst ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("locale", "name"), [("nn", "Sør-Øst"), ("nb", "Sør-Øst"),
                                              ("en", "South-East")])
def test_the_turnus_region_sor_ost_keeps_its_name(app, locale, name):
    with app.test_request_context(), force_locale(locale):
        assert str(Region.SOR_OST.title) == name
    counties = (ROOT / "core" / "data" / "counties.json").read_text(encoding="utf-8")
    assert "Aust" not in counties


# --- «Utbetalt til konto» only once paid ------------------------------------------------------


@pytest.mark.parametrize("locale", LOCALES)
def test_paid_to_account_is_shown_only_after_payment(app, make_offering, make_staff, now,
                                                     locale):
    load_rates(app)
    first_day = (now - timedelta(days=3)).replace(hour=0, minute=0, second=0, microsecond=0)
    offering = make_offering(first_day=first_day, days=1)
    enrollment_id, token = enroll_person(app, offering.id, locale=locale)
    make_staff()
    with session_scope(engine_of(app)) as session:  # the course day was attended
        course_session = session.get(CourseOffering, offering.id).sessions[0]
        session.add(Attendance(enrollment_id=enrollment_id, session_id=course_session.id,
                               present=True))
        day = to_local(course_session.starts_at).date()
    claim_id = draft_claim(app, enrollment_id, lines=[car_leg(day)], now=utcnow())
    participant = client_in(app, locale)
    claim_url = f"/manage/{token}/claims/{claim_id}"
    assert participant.post(claim_url, data={
        "bank_account": "86011117947", "comment": "", "send": "y",
        "legs-0-travel_date": day.isoformat(), "legs-0-from_place": "Florø",
        "legs-0-to_place": "Bergen", "legs-0-means": "own_car", "legs-0-km": "100",
        "legs-0-passengers": "0"}).status_code == 302
    staff = staff_client_in(app, "en")
    paid_to_account = in_locale(app, locale, "Paid to account")
    assert paid_to_account == {"nn": "Utbetalt til konto", "nb": "Utbetalt til konto",
                               "en": "Paid to account"}[locale]

    assert staff.post(f"/staff/refunds/claims/{claim_id}/approve",
                      data={"own_car_approved": "yes"}).status_code == 302
    with session_scope(engine_of(app)) as session:
        assert session.get(Claim, claim_id).status == ClaimStatus.APPROVED
        approved_mail = session.scalars(sa.select(OutboxMessage)
                                        .order_by(OutboxMessage.id.desc())).first()
        assert paid_to_account not in approved_mail.body_text
    approved = text_of(participant.get(claim_url))
    assert paid_to_account not in approved
    assert in_locale(app, locale, "Account for the refund") in approved
    assert "7947" in approved
    assert paid_to_account not in text_of(participant.get(f"/manage/{token}"))

    assert staff.post(f"/staff/refunds/claims/{claim_id}/paid",
                      data={"paid-payment_date": now.date().isoformat()}).status_code == 302
    with session_scope(engine_of(app)) as session:
        assert session.get(Claim, claim_id).status == ClaimStatus.PAID
    paid = text_of(participant.get(claim_url))
    assert paid_to_account in paid
    assert in_locale(app, locale, "Account for the refund") not in paid


# --- who is refunded ----------------------------------------------------------------------------


def refunded_clause(statement: str, locale: str) -> str:
    """The part of the course page's statement that names who is refunded."""
    return re.split({"nn": ", ikkje for", "nb": ", ikke for", "en": ", not for"}[locale],
                    statement)[0]


def page_statement(app, offering_id: int, locale: str) -> str:
    body = client_in(app, locale).get(f"/courses/{offering_id}").get_data(as_text=True)
    found = re.search(r'<dd class="refund-statement">(.*?)</dd>', body, re.S)
    assert found, "the course page states who is refunded"
    return html.unescape(found.group(1)).strip()


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("refund_eligible", [True, False])
def test_the_course_page_names_exactly_the_roles_the_claim_rule_refunds(
        app, make_offering, locale, refund_eligible):
    with session_scope(engine_of(app)) as session:
        kinds = {k.code: sorted(k.role_set) for k in session.scalars(sa.select(CourseKind))}
    assert set().union(*kinds.values()) == set(Role)  # every role is on some course
    not_refunded = in_locale(app, locale, "Travel costs are not refunded for this course.")
    for code, roles in kinds.items():
        offering = make_offering(kind=code, refund_eligible=refund_eligible)
        statement = page_statement(app, offering.id, locale)
        clause = refunded_clause(statement, locale)
        with session_scope(engine_of(app)) as session:
            loaded = session.get(CourseOffering, offering.id)
            claimable = []
            for role in roles:
                enrollment = Enrollment(offering=loaded, status=EnrollmentStatus.CONFIRMED,
                                        participant=Participant(role=role))
                try:
                    check_eligible(enrollment)
                    claimable.append(role)
                except NotEligible:
                    pass
            for role in roles:
                with app.test_request_context(), force_locale(locale):
                    plural = str(role.plural)
                if role in claimable:
                    assert plural in clause, (code, role, statement)
                elif statement != not_refunded:
                    assert plural not in clause, (code, role, statement)
                    assert plural in statement, (code, role, statement)
        if not claimable:
            assert statement == not_refunded, (code, statement)


def test_a_supervisor_is_never_told_they_may_claim(app, make_offering, now):
    offering = make_offering(kind="supervisor_training_lis1", refund_eligible=True,
                             first_day=now - timedelta(days=3))
    for status in (EnrollmentStatus.PENDING, EnrollmentStatus.CONFIRMED):
        _enrollment_id, token = enroll_person(app, offering.id, locale="nn",
                                              role=Role.SUPERVISOR, status=status,
                                              email=f"{status.value}@example.no")
        manage = text_of(client_in(app, "nn").get(f"/manage/{token}"))
        assert in_locale(app, "nn", "Travel costs can be claimed once your enrollment is "
                                    "confirmed.") not in manage
        assert in_locale(app, "nn", "Claim travel costs") not in manage
        assert in_locale(app, "nn", "Travel costs are refunded for LIS1 doctors and interns, "
                                    "not for supervisors.") in manage
    course = page_statement(app, offering.id, "nn")
    assert course == "Reiseutgifter blir ikkje refunderte for dette kurset."
    with session_scope(engine_of(app)) as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Claim)) == 0


# --- the physiotherapy course and the chiropractic interns ------------------------------------


CHIRO_WORD = {"nn": "turnuskiropraktorar", "nb": "turnuskiropraktorer", "en": "chiropractic"}


def test_a_course_that_invites_chiropractic_interns_names_them(app, make_offering):
    data = json.loads((ROOT / "enrollment" / "data" / "course_kinds.json").read_text("utf-8"))
    for row in data["kinds"]:
        for locale, word in CHIRO_WORD.items():
            named = word in row["name"][locale]
            assert named == ("chiro_intern" in row["roles"]), (row["code"], locale)
    offering = make_offering(kind="physio_intern_course", title_nn="", title_nb="", title_en="")
    assert "<h1>Kurs for turnusfysioterapeutar og turnuskiropraktorar</h1>" in (
        client_in(app, "nn").get(f"/courses/{offering.id}").get_data(as_text=True))
    assert "Kurs for turnusfysioterapeuter og turnuskiropraktorer" in text_of(
        client_in(app, "nb").get(f"/courses/{offering.id}"))


def test_loading_the_kinds_again_corrects_the_name_of_an_existing_kind(app):
    with session_scope(engine_of(app)) as session:
        kind = session.scalar(sa.select(CourseKind)
                              .where(CourseKind.code == "physio_intern_course"))
        kind.name_nn, kind.name_en = "Kurs for turnusfysioterapeutar", "Physio course"
    with session_scope(engine_of(app)) as session:
        assert load_kinds(session) == 0
    with session_scope(engine_of(app)) as session:
        kind = session.scalar(sa.select(CourseKind)
                              .where(CourseKind.code == "physio_intern_course"))
        assert kind.name_nn == "Kurs for turnusfysioterapeutar og turnuskiropraktorar"
        assert kind.name_en == "Course for physiotherapy and chiropractic interns"
        assert {r.role for r in kind.roles} == {Role.PHYSIO_INTERN, Role.CHIRO_INTERN}


# --- « » in Norwegian text ----------------------------------------------------------------------


STRAIGHT_OR_CURLY = re.compile(r'["“”„‟]')


def _without_markup(text: str) -> str:
    """Drop HTML tags, whose attribute values rightly use straight quotes."""
    return re.sub(r"<[^>]*>", "", text)


@pytest.mark.parametrize("locale", ["nn", "nb"])
def test_norwegian_catalogs_quote_with_guillemets(locale):
    path = ROOT / "translations" / locale / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=locale)
    offenders = []
    for message in catalog:
        if not message.id:
            continue
        strings = [message.string] if isinstance(message.string, str) else message.string
        offenders += [s for s in strings if STRAIGHT_OR_CURLY.search(_without_markup(s))]
    assert offenders == []


def _norwegian_values(node, in_norwegian: bool = False):
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _norwegian_values(value, in_norwegian or key in ("nn", "nb"))
    elif isinstance(node, list):
        for value in node:
            yield from _norwegian_values(value, in_norwegian)
    elif isinstance(node, str) and in_norwegian:
        yield node


@pytest.mark.parametrize("data_file", ["core/data/counties.json",
                                       "enrollment/data/course_kinds.json"])
def test_norwegian_text_in_data_files_quotes_with_guillemets(data_file):
    data = json.loads((ROOT / data_file).read_text(encoding="utf-8"))
    assert [t for t in _norwegian_values(data) if STRAIGHT_OR_CURLY.search(t)] == []
