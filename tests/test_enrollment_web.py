"""Enrolling through the web: what the person sees, what the database holds, what is mailed.

Every test runs on SQLite and on PostgreSQL. Mail is checked in the outbox, and end to end on
a real SMTP server (``tests.smtp``) where delivery itself is the subject.
"""

from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa
from babel import dates as babel_dates
from flask_babel import force_locale, gettext
from icalendar import Calendar

from core.db import session_scope, utcnow
from core.i18n import format_day, to_local
from core.mail import MailStatus, OutboxMessage, SendReport, backoff, send_pending
from core.models import County
from enrollment.models import (
    CourseOffering,
    CourseSession,
    Enrollment,
    EnrollmentStatus,
    OfferingStatus,
    Participant,
)
from tests.smtp import smtp_server  # noqa: F401

# The page's behaviour; the data rules under it are tested on both databases (conftest).
pytestmark = pytest.mark.one_database

EN = {"Accept-Language": "en"}
TITLES = {"nn": "Testkurs", "nb": "Testkurs", "en": "Test course"}
TUESDAY = {"nn": "tysdag", "nb": "tirsdag", "en": "Tuesday"}
MANAGE_LINK = re.compile(r"https?://[^\s/\"<]+/manage/([A-Za-z0-9_-]{20,})")


# --- helpers ------------------------------------------------------------------------------------


def engine_of(app):
    return app.extensions["kp_engine"]


def form_data(offering, **overrides) -> dict[str, str]:
    """A valid LIS1 enrollment for ``offering``; an override of None leaves the field out."""
    data = dict(
        full_name="Kari Nordmann", email="kari@example.org", phone="412 34 567", role="lis1",
        hpr_number="1234567", employer="Bergen kommune", start_month=f"{offering.cohort:%Y-%m}",
        needs="", locale="en", consent="y",
    )
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def post_enroll(client, offering, lang: str | None = "en", **overrides):
    headers = {"Accept-Language": lang} if lang else {}
    return client.post(
        f"/courses/{offering.id}/enroll", data=form_data(offering, **overrides), headers=headers
    )


def person(number: int) -> dict[str, str]:
    """Form values of a distinct person (e-mail and HPR number both differ)."""
    return dict(full_name=f"Person {number}", email=f"person{number}@example.org",
                hpr_number=str(2000000 + number))


def page(response) -> str:
    """The response body with HTML entities resolved."""
    return html.unescape(response.get_data(as_text=True))


def field_errors(response) -> dict[str, list[str]]:
    """The error lists shown next to fields: {field name: [messages]}."""
    body = response.get_data(as_text=True)
    return {
        name: [html.unescape(item.strip()) for item in re.findall(r"<p>(.*?)</p>", inner, re.S)]
        for name, inner in re.findall(
            r'<div class="ds-validation-message field-errors" data-field="validation"'
            r' id="([\w-]+)-error">(.*?)</div>', body, re.S
        )
    }


def translated(app, message: str, locale: str, **values) -> str:
    """``message`` as the app's catalog renders it in ``locale``."""
    with app.test_request_context(), force_locale(locale):
        return gettext(message, **values)


def csrf_token(response) -> str:
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"',
                     response.get_data(as_text=True)).group(1)


def enrollments(app) -> list[dict]:
    """Every enrollment with its participant, oldest first, as plain values."""
    with session_scope(engine_of(app)) as session:
        rows = session.execute(
            sa.select(Enrollment, Participant).join(Enrollment.participant).order_by(Enrollment.id)
        ).all()
        return [
            dict(id=e.id, offering_id=e.offering_id, status=e.status, start_month=e.start_month,
                 needs=e.needs, consent_at=e.consent_at, full_name=p.full_name, email=p.email,
                 phone=p.phone, role=p.role.value, hpr_number=p.hpr_number, employer=p.employer,
                 locale=p.locale)
            for e, p in rows
        ]


def statuses(app) -> dict[str, EnrollmentStatus]:
    return {row["email"]: row["status"] for row in enrollments(app)}


def seats_taken(app, offering) -> int:
    with session_scope(engine_of(app)) as session:
        return session.get(CourseOffering, offering.id).seats_taken


def outbox(app) -> list[OutboxMessage]:
    with session_scope(engine_of(app)) as session:
        return list(session.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id)))


def stored_counts(app) -> tuple[int, int, int]:
    """How many participants, enrollments and outbox messages exist."""
    with session_scope(engine_of(app)) as session:
        return tuple(
            session.scalar(sa.select(sa.func.count()).select_from(model))
            for model in (Participant, Enrollment, OutboxMessage)
        )


def manage_token(app, email: str) -> str:
    """The manage token in the newest mail to ``email`` that carries one."""
    for message in reversed(outbox(app)):
        if message.to_address == email and (match := MANAGE_LINK.search(message.body_text)):
            return match.group(1)
    raise AssertionError(f"no manage link was mailed to {email}")


def sessions_of(app, offering) -> list[tuple]:
    with session_scope(engine_of(app)) as session:
        rows = session.scalars(
            sa.select(CourseSession)
            .where(CourseSession.offering_id == offering.id)
            .order_by(CourseSession.starts_at)
        )
        return [(s.starts_at, s.ends_at) for s in rows]


def county_email(app, slug: str = "vestland") -> str:
    with session_scope(engine_of(app)) as session:
        return session.scalar(sa.select(County.email).where(County.slug == slug))


@pytest.fixture
def smtp(app_config, smtp_server):  # noqa: F811
    """The test SMTP server, with the app (built after this fixture) configured to use it."""
    app_config.update(MAIL_SERVER=smtp_server.host, MAIL_PORT=smtp_server.port,
                      MAIL_FROM="Statsforvaltaren <kurs@example.org>", MAIL_TIMEOUT=5)
    return smtp_server


def deliver(app, **kwargs) -> SendReport:
    assert app.config["MAIL_SERVER"], "the smtp fixture must come before app"
    return send_pending(engine_of(app), app.config, app=app, **kwargs)


def received(email: str) -> str:
    """The outcome page's sentence, the same for a new and an existing enrollment."""
    return (f"We have received your enrollment and sent an e-mail to {email}. It says whether "
            "you have a seat or a place on the waiting list")


def run_sender(app) -> SendReport:
    """What ``flask mail send`` does: run the deferred jobs (lost link, forgotten password),
    then deliver (without MAIL_SERVER, tests log the mail and mark it sent)."""
    return send_pending(engine_of(app), app.config, app=app)


# --- the happy paths ----------------------------------------------------------------------------


def test_valid_enrollment_is_confirmed_shown_stored_and_mailed(app, client, make_offering):
    offering = make_offering()
    client.get("/lang/en")  # the language cookie, not Accept-Language

    response = post_enroll(client, offering, lang=None, email="Kari@Example.org ",
                           needs="Vegetarian")

    assert response.status_code == 302
    assert response.location.endswith(f"/courses/{offering.id}/enrolled")
    shown = client.get(response.location)
    assert shown.status_code == 200
    assert shown.headers["Cache-Control"] == "no-store"
    text = page(shown)
    assert '<html lang="en"' in text
    # The page says the same for a new enrollment and one that existed (issue 13): the seat is
    # in the mail, asserted below.
    assert "<h1>Enrollment received</h1>" in text
    assert received("kari@example.org") in text
    assert "You have a seat" not in text
    # The outcome is shown once; a reload goes back to the course page.
    again = client.get(response.location)
    assert again.status_code == 302
    assert again.location.endswith(f"/courses/{offering.id}")

    [row] = enrollments(app)
    assert row["offering_id"] == offering.id
    assert row["status"] is EnrollmentStatus.CONFIRMED
    assert (row["full_name"], row["email"], row["phone"], row["role"]) == (
        "Kari Nordmann", "kari@example.org", "412 34 567", "lis1")
    assert (row["hpr_number"], row["employer"], row["locale"]) == (
        "1234567", "Bergen kommune", "en")
    assert row["start_month"] == offering.cohort
    assert row["needs"] == "Vegetarian"
    assert row["consent_at"] is not None
    assert seats_taken(app, offering) == 1
    [message] = outbox(app)
    assert message.to_address == "kari@example.org"
    assert message.status is MailStatus.PENDING
    assert message.subject == "Enrollment confirmed: Test course"
    assert MANAGE_LINK.search(message.body_text)
    assert [a["filename"] for a in message.attachments] == [f"course-{offering.id}.ics"]


def test_full_offering_puts_people_on_the_waiting_list_in_order(app, client, make_offering):
    offering = make_offering(capacity=1)
    assert post_enroll(client, offering, **person(1)).status_code == 302

    positions = []
    for number in (2, 3):
        response = post_enroll(client, offering, **person(number))
        assert response.status_code == 302
        text = page(client.get(response.location, headers=EN))
        assert received(f"person{number}@example.org") in text
        assert "You are number" not in text  # the place is in the mail, not on the page
        positions.append(re.search(r"You are number (\d+) on the waiting list",
                                   outbox(app)[-1].body_text).group(1))

    assert positions == ["1", "2"]
    assert statuses(app) == {
        "person1@example.org": EnrollmentStatus.CONFIRMED,
        "person2@example.org": EnrollmentStatus.WAITLISTED,
        "person3@example.org": EnrollmentStatus.WAITLISTED,
    }
    assert seats_taken(app, offering) == 1
    subjects = {m.to_address: m.subject for m in outbox(app)}
    assert subjects["person2@example.org"] == "You are on the waiting list: Test course"
    assert "You are number 2 on the waiting list" in outbox(app)[-1].body_text


def test_offering_requiring_approval_leaves_the_enrollment_pending(app, client, make_offering):
    offering = make_offering(requires_approval=True)

    response = post_enroll(client, offering)

    assert response.status_code == 302
    text = page(client.get(response.location, headers=EN))
    assert received("kari@example.org") in text
    assert "approval" not in text  # in the mail only
    assert statuses(app) == {"kari@example.org": EnrollmentStatus.PENDING}
    assert seats_taken(app, offering) == 0
    [message] = outbox(app)
    assert message.subject == "Enrollment received, pending approval: Test course"


def test_supervisor_may_enroll_without_hpr_or_start_month(app, client, make_offering):
    offering = make_offering(kind="supervisor_training_lis1")

    response = post_enroll(client, offering, role="supervisor", hpr_number="", start_month="")

    assert response.status_code == 302
    [row] = enrollments(app)
    assert (row["role"], row["hpr_number"], row["start_month"]) == ("supervisor", None, None)
    assert row["status"] is EnrollmentStatus.CONFIRMED


# --- e-mail through a real SMTP server -----------------------------------------------------------


@pytest.fixture
def tuesday_offering(make_offering, now):
    """A three-day course starting on a Tuesday."""
    first = (now + timedelta(days=40)).replace(hour=0, minute=0, second=0, microsecond=0)
    first += timedelta(days=(1 - first.weekday()) % 7)
    return make_offering(days=3, first_day=first)


@pytest.mark.parametrize("locale", ["nn", "nb", "en"])
def test_confirmation_mail_arrives_in_the_chosen_language_with_calendar_and_link(
    smtp, app, client, tuesday_offering, locale
):
    offering = tuesday_offering
    # The page is in English; the e-mail follows the language chosen in the form.
    assert post_enroll(client, offering, locale=locale).status_code == 302

    assert deliver(app) == SendReport(sent=1)

    [received] = smtp.received
    assert received.rcpt_tos == ["kari@example.org"]
    message = received.message
    assert message["To"] == "kari@example.org"
    assert message["Subject"] == translated(
        app, "Enrollment confirmed: %(title)s", locale, title=TITLES[locale])
    assert message["Content-Language"] == locale
    text = message.get_body(("plain",)).get_content()
    body_html = message.get_body(("html",)).get_content()
    assert translated(app, "Hello %(name)s,", locale, name="Kari Nordmann") in text
    assert "Kari Nordmann" in body_html
    assert f'<html lang="{locale}"' in body_html
    sessions = sessions_of(app, offering)
    for starts_at, _ends_at in sessions:
        assert format_day(starts_at, locale) in text
    assert TUESDAY[locale] in text
    for other in set(TUESDAY) - {locale}:
        assert TUESDAY[other] not in text
    assert babel_dates.format_date(to_local(sessions[0][0]), "EEEE", locale=locale) in text

    [attachment] = list(message.iter_attachments())
    assert attachment.get_filename() == f"course-{offering.id}.ics"
    assert attachment.get_content_type() == "text/calendar"
    calendar = Calendar.from_ical(attachment.get_content())
    events = calendar.walk("VEVENT")
    assert len(events) == len(sessions) == 3
    assert sorted(e.decoded("dtstart") for e in events) == [s for s, _ in sessions]
    assert sorted(e.decoded("dtend") for e in events) == [e for _, e in sessions]

    link = MANAGE_LINK.search(text).group(0)
    assert link in body_html
    manage = client.get(link, headers=EN)
    assert manage.status_code == 200
    assert "Kari Nordmann" in page(manage)
    assert manage.headers["Cache-Control"] == "no-store"


def test_enrollment_survives_smtp_outage_and_mail_is_delivered_once(
    smtp, app, client, make_offering
):
    offering = make_offering()
    smtp.stop()

    response = post_enroll(client, offering)

    assert response.status_code == 302
    assert statuses(app) == {"kari@example.org": EnrollmentStatus.CONFIRMED}
    start = utcnow()
    assert deliver(app, now=start) == SendReport(deferred=1)
    [row] = outbox(app)
    assert row.status is MailStatus.PENDING
    assert row.attempts == 1
    assert row.last_error

    smtp.start()
    assert deliver(app, now=start) == SendReport()  # not due yet
    later = start + backoff(1) + timedelta(seconds=1)
    assert deliver(app, now=later) == SendReport(sent=1)
    assert deliver(app, now=later + timedelta(days=1)) == SendReport()

    assert smtp.message_ids() == {row.message_id: 1}
    assert smtp.received[0].rcpt_tos == ["kari@example.org"]
    [row] = outbox(app)
    assert row.status is MailStatus.SENT


# --- the manage page ----------------------------------------------------------------------------


def test_manage_page_shows_the_enrollment_privately(app, client, make_offering):
    offering = make_offering(capacity=1)
    post_enroll(client, offering, **person(1))
    post_enroll(client, offering, **person(2))

    response = client.get(f"/manage/{manage_token(app, 'person2@example.org')}", headers=EN)

    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    text = page(response)
    assert "Person 2" in text
    assert "Waiting list" in text
    assert "number 1 on the waiting list" in text


def test_cancel_frees_the_seat_for_the_first_on_the_waiting_list(app, client, make_offering):
    offering = make_offering(capacity=1)
    for number in (1, 2, 3):
        post_enroll(client, offering, **person(number))
    token = manage_token(app, "person1@example.org")
    before = len(outbox(app))

    response = client.post(f"/manage/{token}/cancel", headers=EN)

    assert response.status_code == 302
    assert response.location.endswith(f"/manage/{token}")
    text = page(client.get(response.location, headers=EN))
    assert "Your enrollment is cancelled." in text
    assert "Cancel my enrollment" not in text
    assert statuses(app) == {
        "person1@example.org": EnrollmentStatus.CANCELLED,
        "person2@example.org": EnrollmentStatus.CONFIRMED,
        "person3@example.org": EnrollmentStatus.WAITLISTED,
    }
    assert seats_taken(app, offering) == 1
    new = {m.to_address: m.subject for m in outbox(app)[before:]}
    assert new == {
        "person1@example.org": "Your enrollment is cancelled: Test course",
        "person2@example.org": "You now have a seat: Test course",
    }
    third = page(client.get(f"/manage/{manage_token(app, 'person3@example.org')}", headers=EN))
    assert "number 1 on the waiting list" in third


def test_cancel_after_the_deadline_points_to_the_county_and_changes_nothing(
    app, client, make_offering, now
):
    offering = make_offering(cancel_deadline=now - timedelta(hours=1))
    post_enroll(client, offering)
    token = manage_token(app, "kari@example.org")
    email = county_email(app)

    shown = page(client.get(f"/manage/{token}", headers=EN))
    assert f"Please contact the county governor at {email}." in shown
    assert "Cancel my enrollment" not in shown

    response = client.post(f"/manage/{token}/cancel", headers=EN)

    assert response.status_code == 302
    text = page(client.get(response.location, headers=EN))
    assert f"It is too late to cancel here. Please contact {email}." in text
    assert statuses(app) == {"kari@example.org": EnrollmentStatus.CONFIRMED}
    assert seats_taken(app, offering) == 1
    assert len(outbox(app)) == 1


def test_contact_details_are_saved(app, client, make_offering):
    offering = make_offering()
    post_enroll(client, offering)
    token = manage_token(app, "kari@example.org")

    response = client.post(f"/manage/{token}/contact", headers=EN, data=dict(
        full_name="Kari Nordmann Berg", email="Kari.Berg@Example.org", phone="+47 987 65 432",
        employer="Voss kommune", needs="Wheelchair access", locale="nb",
    ))

    assert response.status_code == 302
    assert response.location.endswith(f"/manage/{token}")
    text = page(client.get(response.location, headers=EN))
    assert "Your contact details are saved." in text
    assert "Kari Nordmann Berg" in text
    # The new address waits for the link sent to it (issue 13; tests/test_personal_data.py).
    assert ("To change your e-mail address to kari.berg@example.org, open the link we have "
            "sent there within 24 hours. Until then we write to kari@example.org") in text
    [row] = enrollments(app)
    assert (row["full_name"], row["email"], row["phone"], row["employer"]) == (
        "Kari Nordmann Berg", "kari@example.org", "+47 987 65 432", "Voss kommune")
    assert (row["needs"], row["locale"]) == ("Wheelchair access", "nb")


def test_bad_contact_details_are_shown_next_to_the_fields(app, client, make_offering):
    offering = make_offering()
    post_enroll(client, offering)
    token = manage_token(app, "kari@example.org")
    before = enrollments(app)

    response = client.post(f"/manage/{token}/contact", headers=EN, data=dict(
        full_name="", email="not-an-address", phone="12", employer="Voss kommune",
        needs="", locale="en",
    ))

    assert response.status_code == 400
    assert response.headers["Cache-Control"] == "no-store"
    assert field_errors(response) == {
        "full_name": ["Enter your full name."],
        "email": ["Enter a valid e-mail address, like name@example.no."],
        "phone": ["Enter a phone number of 8 to 20 digits, like 412 34 567."],
    }
    # The summary at the top of the page lists them, each a link to its field.
    body = page(response)
    assert "<title>Error: Your enrollment" in body
    assert re.findall(r'<li><a class="ds-link" href="#([\w-]+)">', body) == [
        "full_name", "email", "phone"]
    assert enrollments(app) == before


@pytest.mark.parametrize(
    ("method", "suffix"), [("get", ""), ("post", "/contact"), ("post", "/cancel")]
)
def test_unknown_manage_token_is_not_found(app, client, make_offering, method, suffix):
    offering = make_offering()
    post_enroll(client, offering)

    for token in ("x" * 43, "A" * 500):
        response = getattr(client, method)(f"/manage/{token}{suffix}", headers=EN)
        assert response.status_code == 404
        assert "Page not found" in page(response)
        assert response.headers["Cache-Control"] == "no-store"
    assert statuses(app) == {"kari@example.org": EnrollmentStatus.CONFIRMED}


# --- duplicates and lost links ------------------------------------------------------------------


def test_enrolling_twice_answers_like_a_new_enrollment_and_mails_the_holder_a_link(
    app, client, make_offering
):
    offering = make_offering()
    first = post_enroll(client, offering)
    new_page = page(client.get(first.location, headers=EN))
    old = manage_token(app, "kari@example.org")
    before_rows = enrollments(app)

    stranger = app.test_client()
    again = post_enroll(stranger, offering, email="  KARI@example.ORG", hpr_number="7654321")
    again_page = page(stranger.get(again.location, headers=EN))
    by_hpr = post_enroll(stranger, offering, email="other@example.org")
    by_hpr_page = page(stranger.get(by_hpr.location, headers=EN))

    # The same status, redirect and page as a new enrollment: the form tells a stranger
    # nothing about who is enrolled (issue 13).
    assert first.status_code == again.status_code == by_hpr.status_code == 302
    assert first.location == again.location == by_hpr.location
    assert again_page == new_page
    assert by_hpr_page == new_page.replace("kari@example.org", "other@example.org")
    assert "already" not in again_page
    # Nothing stored but a fresh link for each attempt; the mail goes to the holder's address.
    assert enrollments(app) == before_rows
    assert seats_taken(app, offering) == 1
    mails = outbox(app)
    assert [m.to_address for m in mails] == ["kari@example.org"] * 3
    for message in mails[1:]:
        assert message.subject == "You are already enrolled: Test course"
        assert "You are already enrolled, so nothing has changed." in message.body_text
        assert "Your enrollment is confirmed. You have a seat on the course." \
            in message.body_text
        token = MANAGE_LINK.search(message.body_text).group(1)
        assert token != old
        assert "Kari Nordmann" in page(client.get(f"/manage/{token}", headers=EN))
    assert client.get(f"/manage/{old}", headers=EN).status_code == 200


def test_lost_link_answers_alike_and_keeps_the_old_link_working(app, client, make_offering):
    offering = make_offering()
    post_enroll(client, offering)
    old = manage_token(app, "kari@example.org")
    before = len(outbox(app))

    known = client.post("/manage/lost-link", data={"email": "kari@example.org"}, headers=EN)
    unknown = client.post("/manage/lost-link", data={"email": "nobody@example.org"}, headers=EN)

    assert known.status_code == unknown.status_code == 200
    assert page(known).replace("kari@example.org", "ADDRESS") == page(unknown).replace(
        "nobody@example.org", "ADDRESS")
    assert "Check your e-mail" in page(known)
    assert len(outbox(app)) == before  # the outbox sender looks the address up
    run_sender(app)
    [message] = outbox(app)[before:]
    assert message.to_address == "kari@example.org"
    assert message.subject == "Links to your enrollments"
    assert "Test course" in message.body_text
    new = MANAGE_LINK.search(message.body_text).group(1)
    assert new != old
    # Asking for a link adds one: the link already in the inbox keeps working (issue 12).
    assert client.get(f"/manage/{old}", headers=EN).status_code == 200
    fresh = client.get(f"/manage/{new}", headers=EN)
    assert fresh.status_code == 200
    assert "Kari Nordmann" in page(fresh)


@pytest.fixture
def rate_limits_on(app_config):
    """Rate limiting on (set before the app is built)."""
    app_config["RATELIMIT_ENABLED"] = True


@pytest.mark.usefixtures("rate_limits_on")
def test_lost_link_is_rate_limited_per_address(client):
    # Issue 13: the limit is the address's (3 an hour), not the network's.
    codes = [client.post("/manage/lost-link", data={"email": "Kari@Example.org"}, headers=EN)
             for _ in range(3)]
    codes += [client.post("/manage/lost-link", data={"email": " kari+x@example.org"},
                          headers=EN)]
    others = [client.post("/manage/lost-link", data={"email": f"p{i}@example.org"}, headers=EN)
              for i in range(6)]

    assert [r.status_code for r in codes] == [200] * 3 + [429]
    assert [r.status_code for r in others] == [200] * 6
    text = page(codes[-1])
    assert "Too many attempts" in text
    assert "Please wait a little and try again." in text
    assert "You can try again at " in text
    assert '<html lang="en"' in text
    assert 0 < int(codes[-1].headers["Retry-After"]) <= 3600


def test_lost_link_has_a_ceiling_per_ip_address(app_config, request):
    app_config.update(RATELIMIT_ENABLED=True, LOST_LINK_IP_RATE_LIMIT="5 per minute")
    client = request.getfixturevalue("client")
    codes = [
        client.post("/manage/lost-link", data={"email": f"p{i}@example.org"}, headers=EN)
        for i in range(6)
    ]

    assert [r.status_code for r in codes] == [200] * 5 + [429]


# --- bad input ----------------------------------------------------------------------------------

REQUIRED = [
    ("full_name", "Enter your full name."),
    ("email", "Enter your e-mail address."),
    ("phone", "Enter your mobile number."),
    ("role", "Choose your role."),
    ("hpr_number", "Enter your HPR number (7 to 9 digits)."),
    ("employer", "Enter your employer."),
    ("start_month", "Choose when your municipal service starts."),
    ("locale", "Choose a language."),
    ("consent", "You must accept the privacy notice to enroll."),
]
HPR_FORMAT = "The HPR number is 7 to 9 digits, with no letters."
CONTROL = "Remove the invisible control characters from this field."
LANGS = ("nn", "nb", "en")

BAD_INPUT = [
    pytest.param(field, {field: None}, message, LANGS[i % 3], id=f"missing-{field}")
    for i, (field, message) in enumerate(REQUIRED)
] + [
    pytest.param("hpr_number", {"hpr_number": " "}, "Enter your HPR number (7 to 9 digits).",
                 "en", id="blank-hpr"),
    pytest.param("full_name", {"full_name": "   "}, "Enter your full name.", "nn",
                 id="blank-name"),
    pytest.param("email", {"email": "kari.example.org"},
                 "Enter a valid e-mail address, like name@example.no.", "nb", id="bad-email"),
    pytest.param("hpr_number", {"hpr_number": "12345a7"}, HPR_FORMAT, "en", id="hpr-letters"),
    pytest.param("hpr_number", {"hpr_number": "123456"}, HPR_FORMAT, "nn", id="hpr-6-digits"),
    pytest.param("hpr_number", {"hpr_number": "1234567890"}, HPR_FORMAT, "nb",
                 id="hpr-10-digits"),
    pytest.param("full_name", {"full_name": "Kari " * 2000},
                 "The name can be at most 200 characters.", "en", id="name-10000-chars"),
    pytest.param("full_name", {"full_name": "Kari\x00Nordmann"}, CONTROL, "nn", id="name-nul"),
    pytest.param("full_name", {"full_name": "\x1b[31mKari"}, CONTROL, "nb", id="name-escape"),
    pytest.param("role", {"role": "supervisor"},
                 "This course is not open to your role. See who may enroll on the course page.",
                 "en", id="role-not-for-kind"),
    pytest.param("role", {"role": "surgeon"}, "Choose your role.", "nn", id="unknown-role"),
    pytest.param("start_month", {"start_month": ""},
                 "Choose when your municipal service starts.", "en", id="blank-start-month"),
    pytest.param("start_month", {"start_month": "1999-03"}, "Choose a month from the list.",
                 "nb", id="start-month-not-offered"),
]


@pytest.mark.parametrize(("field", "overrides", "message", "lang"), BAD_INPUT)
def test_bad_input_is_shown_next_to_the_field_and_nothing_is_stored(
    app, client, make_offering, field, overrides, message, lang
):
    offering = make_offering()

    response = post_enroll(client, offering, lang=lang, **overrides)

    assert response.status_code == 400
    assert response.headers["Cache-Control"] == "no-store"
    assert f'<html lang="{lang}"' in page(response)
    errors = field_errors(response)
    assert list(errors) == [field]
    assert translated(app, message, lang) in errors[field]
    assert stored_counts(app) == (0, 0, 0)
    assert seats_taken(app, offering) == 0


def test_unknown_choice_is_refused_in_the_persons_language_only(app, client, make_offering):
    offering = make_offering()
    response = post_enroll(client, offering, lang="nn", role="surgeon", locale="xx")
    assert response.status_code == 400
    errors = field_errors(response)
    assert errors["role"] == [translated(app, "Choose your role.", "nn")]
    assert "Not a valid choice." not in errors["locale"]


def test_forged_offering_id_is_not_found(app, client, make_offering):
    offering = make_offering()
    draft = make_offering(status=OfferingStatus.DRAFT)

    for offering_id in (999999, draft.id):
        response = client.post(f"/courses/{offering_id}/enroll",
                               data=form_data(offering), headers=EN)
        assert response.status_code == 404
        assert "Page not found" in page(response)
    assert stored_counts(app) == (0, 0, 0)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"enroll_opens_at": 2}, "Enrollment to this course has not opened yet."),
        ({"enroll_closes_at": -1}, "The enrollment deadline for this course has passed."),
        ({"status": OfferingStatus.CANCELLED},
         "This course is cancelled and takes no enrollments."),
    ],
    ids=["not-open-yet", "deadline-passed", "cancelled"],
)
def test_enrollment_outside_its_window_is_turned_away(
    app, client, make_offering, now, values, message
):
    values = {k: now + timedelta(days=v) if isinstance(v, int) else v for k, v in values.items()}
    offering = make_offering(**values)

    response = post_enroll(client, offering)

    assert response.status_code == 302
    assert response.location.endswith(f"/courses/{offering.id}")
    shown = client.get(response.location, headers=EN)
    assert shown.status_code == 200
    assert message in page(shown)
    assert stored_counts(app) == (0, 0, 0)
    assert seats_taken(app, offering) == 0


# --- CSRF ---------------------------------------------------------------------------------------


@pytest.fixture
def csrf_on(app_config):
    """CSRF protection on, as in production (set before the app is built)."""
    app_config["WTF_CSRF_ENABLED"] = True


@pytest.mark.usefixtures("csrf_on")
def test_enrollment_needs_the_csrf_token_of_the_form(app, client, make_offering):
    offering = make_offering()

    missing = post_enroll(client, offering)
    wrong = post_enroll(client, offering, csrf_token="forged-token")

    assert missing.status_code == wrong.status_code == 400
    assert 'value="Kari Nordmann"' in page(wrong)  # nothing typed is lost
    assert stored_counts(app) == (0, 0, 0)
    token = csrf_token(client.get(f"/courses/{offering.id}/enroll", headers=EN))
    response = post_enroll(client, offering, csrf_token=token)
    assert response.status_code == 302
    assert statuses(app) == {"kari@example.org": EnrollmentStatus.CONFIRMED}


@pytest.mark.usefixtures("csrf_on")
def test_cancel_needs_the_csrf_token_of_the_manage_page(app, client, make_offering):
    offering = make_offering()
    token = csrf_token(client.get(f"/courses/{offering.id}/enroll", headers=EN))
    post_enroll(client, offering, csrf_token=token)
    manage = f"/manage/{manage_token(app, 'kari@example.org')}"

    assert client.post(f"{manage}/cancel", headers=EN).status_code == 400
    assert client.post(f"{manage}/cancel", data={"csrf_token": "x"}, headers=EN).status_code == 400
    assert statuses(app) == {"kari@example.org": EnrollmentStatus.CONFIRMED}
    page_token = csrf_token(client.get(manage, headers=EN))
    assert client.post(f"{manage}/cancel", data={"csrf_token": page_token}).status_code == 302
    assert statuses(app) == {"kari@example.org": EnrollmentStatus.CANCELLED}


# --- privacy ------------------------------------------------------------------------------------


def test_privacy_notice_lists_what_is_stored_how_long_and_whom_to_ask(app, client):
    response = client.get("/privacy", headers=EN)

    assert response.status_code == 200
    text = page(response)
    assert "What we store" in text
    for item in ("Your name, e-mail address, mobile number, role, employer", "HPR number",
                 "Dietary or accessibility needs", "bank account number"):
        assert item in text
    assert "We never ask for your national identity number." in text
    assert "anonymised 12 months after the last day of the course" in text
    with session_scope(engine_of(app)) as session:
        emails = list(session.scalars(sa.select(County.email)))
    assert len(emails) >= 10
    for email in emails:
        assert f'<a href="mailto:{email}">{email}</a>' in text
