"""The periodic ``flask reminders send``: the course reminder reaches each confirmed participant
once per course date, through real SMTP, with the meeting link that only confirmed participants
ever see; run twice, or by two processes at once on PostgreSQL, it sends nothing twice and
passes an expired seat offer on once."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from core.db import session_scope
from core.mail import OutboxMessage, send_pending
from core.reminders import Due, ReminderKind, SentReminder, register_reminder, send_due
from enrollment.models import CourseSession, Enrollment, Role
from enrollment.services import enrollments
from enrollment.services.enrollments import PersonDetails
from tests.smtp import smtp_server  # noqa: F401

ROOT = Path(__file__).resolve().parent.parent
MEETING = "https://meet.example.no/kurs-42?pwd=hemmeleg"
REMINDER = "enrollment.course_reminder"


def person(n: int) -> PersonDetails:
    return PersonDetails(full_name=f"Deltakar {n}", email=f"minne{n}@example.no",
                         phone="+47 400 00 000", role=Role.LIS1, hpr_number=str(4_000_000 + n),
                         employer="Bergen kommune", locale="nn")


def enroll_people(app, offering_id: int, numbers, now) -> dict[int, str]:
    """Enroll each person (seats first, then the waiting list); their manage tokens."""
    with app.app_context(), session_scope(app.extensions["kp_engine"]) as session:
        return {n: enrollments.enroll(session, offering_id, person(n),
                                      now + timedelta(seconds=n)).token for n in numbers}


def outbox(app, kind: str) -> list[str]:
    with session_scope(app.extensions["kp_engine"]) as session:
        return sorted(session.scalars(sa.select(OutboxMessage.to_address)
                                      .where(OutboxMessage.kind == kind)))


@pytest.fixture
def app_config(app_config, smtp_server):  # noqa: F811
    app_config.update(MAIL_SERVER=smtp_server.host, MAIL_PORT=smtp_server.port,
                      MAIL_FROM="Statsforvaltaren <kurs@example.org>", MAIL_TIMEOUT=5,
                      PUBLIC_BASE_URL="https://kurs.example.no")
    return app_config


def test_course_reminder_goes_once_to_confirmed_people_with_the_meeting_link(
        app, client, make_offering, now, smtp_server):  # noqa: F811
    engine = app.extensions["kp_engine"]
    digital = make_offering(capacity=2, meeting_url=MEETING,
                            first_day=now + timedelta(days=3), venue="Digitalt")
    later = make_offering(first_day=now + timedelta(days=20))  # its reminder is not due yet
    tokens = enroll_people(app, digital.id, (1, 2, 3), now)  # 3 waits
    enroll_people(app, later.id, (4,), now)

    with app.app_context():
        assert send_due(app, engine, now)[REMINDER] == 2
        assert send_due(app, engine, now + timedelta(minutes=5))[REMINDER] == 0
    assert outbox(app, REMINDER) == ["minne1@example.no", "minne2@example.no"]
    send_pending(engine, app.config, app=app)
    mails = [m for m in smtp_server.messages if m["Subject"].startswith("Påminning")]
    assert sorted(m["To"] for m in mails) == ["minne1@example.no", "minne2@example.no"]
    text = mails[0].get_body(("plain",)).get_content()
    assert "Kurset er digitalt" in text
    assert MEETING in text
    assert "https://kurs.example.no/manage/" in text
    [ics] = [part for part in mails[0].iter_attachments() if part.get_filename().endswith(".ics")]
    assert MEETING in ics.get_content().replace("\r\n ", "")

    # The link is for confirmed participants only: not for the waiting list nor the public.
    assert MEETING in client.get(f"/manage/{tokens[1]}").get_data(as_text=True)
    for url in (f"/manage/{tokens[3]}", f"/courses/{digital.id}", f"/courses/{digital.id}.ics",
                "/"):
        assert "meet.example.no" not in client.get(url).get_data(as_text=True), url

    # The course moves a day: a new date, so one reminder of it each.
    with session_scope(engine) as session:
        for course_day in session.scalars(sa.select(CourseSession)
                                          .where(CourseSession.offering_id == digital.id)):
            course_day.starts_at += timedelta(days=1)
            course_day.ends_at += timedelta(days=1)
    with app.app_context():
        assert send_due(app, engine, now)[REMINDER] == 2
        assert send_due(app, engine, now)[REMINDER] == 0


def test_two_processes_at_once_send_each_reminder_and_pass_each_offer_once(
        app, make_offering, now):
    engine = app.extensions["kp_engine"]
    course = make_offering(capacity=3, first_day=now + timedelta(days=2))
    enroll_people(app, course.id, (1, 2, 3), now)
    offering = make_offering(capacity=1, offer_hours=48)
    enroll_people(app, offering.id, (5, 6, 7), now)
    with app.app_context(), session_scope(engine) as session:
        first = session.scalar(sa.select(Enrollment).where(Enrollment.offering_id == offering.id)
                               .order_by(Enrollment.id))
        [offered] = enrollments.cancel(session, first, now)
        offered.offer_expires_at = now - timedelta(minutes=1)  # ran out: 6 → 7
    engine.dispose()

    env = {**os.environ, "FLASK_DATABASE_URL": app.config["DATABASE_URL"],
           "FLASK_SECRET_KEY": "r" * 32, "FLASK_PUBLIC_BASE_URL": "https://kurs.example.no"}
    runs = [subprocess.Popen([sys.executable, "-m", "flask", "--app", "app", "reminders", "send"],
                             cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True) for _ in range(2)]
    outputs = [run.communicate(timeout=120) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs

    said = [dict(line.split(": ") for line in out.splitlines()) for out, _err in outputs]
    assert sum(int(s[REMINDER]) for s in said) == 3
    assert sum(int(s["enrollment.expired_offers"]) for s in said) == 1
    assert outbox(app, REMINDER) == [f"minne{n}@example.no" for n in (1, 2, 3)]
    assert outbox(app, "enrollment.offer_expired") == ["minne6@example.no"]
    assert outbox(app, "enrollment.offered") == ["minne6@example.no", "minne7@example.no"]
    with session_scope(engine) as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(SentReminder)) == 3


def test_a_reminder_kind_that_fails_for_one_subject_leaves_it_unclaimed_for_the_next_run(
        app, now):
    """How a further kind plugs in (roster invitations will): ``due`` lists who is due,
    ``record`` records the mail; a failure of one is rolled back, claim and all."""
    engine = app.extensions["kp_engine"]
    failing = {2}

    def record(session, subject_id, event_key, when):
        if subject_id in failing:
            raise RuntimeError("template missing")
        return subject_id != 3  # 3 is no longer due when its turn comes

    register_reminder(app, ReminderKind(
        "test.invitation", lambda session, when: [Due(n, "deadline:1") for n in (1, 2, 3)],
        record))
    with app.app_context():
        assert send_due(app, engine, now)["test.invitation"] == 1
        failing.clear()
        assert send_due(app, engine, now)["test.invitation"] == 1  # 1 is claimed already
    with session_scope(engine) as session:
        assert sorted(session.scalars(sa.select(SentReminder.subject_id).where(
            SentReminder.kind == "test.invitation"))) == [1, 2]
