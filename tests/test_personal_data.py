"""Personal data stays personal (issue 13): the export by link, not by address; a new e-mail
address confirmed from a link sent to it; the same answer and the same work for known and
unknown people on the enrollment, lost-link and forgot-password forms."""

from __future__ import annotations

import json
import logging
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from core.audit import AuditEvent
from core.db import Base, session_scope, utcnow
from core.jobs import DeferredJob, queue_job, register_job
from core.mail import OutboxMessage, queue_mail
from enrollment.models import EmailChange, Participant
from tests.test_enrollment_web import (
    EN,
    engine_of,
    enrollments,
    manage_token,
    outbox,
    page,
    person,
    post_enroll,
    run_sender,
)
from tests.test_privacy import PRIVACY_LINK, mailed_privacy_link

# The page's behaviour; the data rules under it are tested on both databases (conftest).
pytestmark = pytest.mark.one_database

CHANGE_LINK = re.compile(r"/email-change/([A-Za-z0-9_\-]+)")


def change_url(message: OutboxMessage) -> str:
    return "/email-change/" + CHANGE_LINK.search(message.body_text).group(1)


def ask_change(client, token: str, email: str, **overrides):
    data = dict(full_name="Kari Nordmann", email=email, phone="412 34 567",
                employer="Bergen kommune", needs="", locale="en")
    data.update(overrides)
    return client.post(f"/manage/{token}/contact", data=data, headers=EN)


def events(app, action: str) -> list[AuditEvent]:
    with session_scope(engine_of(app)) as session:
        return list(session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action)))


def changes(app) -> list[EmailChange]:
    with session_scope(engine_of(app)) as session:
        return list(session.scalars(sa.select(EmailChange).order_by(EmailChange.id)))


# --- the export ---------------------------------------------------------------------------------


def test_a_participant_who_takes_a_victims_address_reads_none_of_the_victims_mail(
    app, client, make_offering
):
    course = make_offering()
    other = make_offering(title_en="Other course")
    post_enroll(client, course)  # the victim: kari@example.org
    victim_mail = {m.id for m in outbox(app)}
    post_enroll(client, other, **person(9))
    mallory = manage_token(app, "person9@example.org")

    # Typing the victim's address changes nothing until the victim's inbox confirms it …
    asked = ask_change(client, mallory, "kari@example.org", full_name="Person 9")
    assert asked.status_code == 302
    assert {r["email"] for r in enrollments(app)} == {"kari@example.org", "person9@example.org"}
    # … and even an address set without confirmation (as before this issue), or mail queued
    # before mail was linked to its person, is not found by the address.
    with session_scope(engine_of(app)) as session:
        session.execute(sa.update(Participant).where(Participant.email == "person9@example.org")
                        .values(email="kari@example.org"))
        legacy = queue_mail(session, to="kari@example.org", subject="Old mail to Kari",
                            text="Hei Kari", locale="nn").id

    # Mallory asks for the export on their own manage link: the link that delivers it goes to
    # the address, never to the page, so Mallory, who does not hold it, gets nothing.
    asked = client.post(f"/manage/{mallory}/my-data", headers=EN)
    assert asked.status_code == 302
    assert "Kari" not in page(client.get(asked.location, headers=EN))
    privacy_mail = [m for m in outbox(app) if PRIVACY_LINK.search(m.body_text or "")]
    assert [m.to_address for m in privacy_mail] == ["kari@example.org"]

    # Even opened by the holder of the address, it delivers that participant's rows only:
    # nothing is found by the address, which anyone may have typed.
    response = client.post(mailed_privacy_link(app, "kari@example.org"))

    assert response.status_code == 200
    document = json.loads(response.get_data(as_text=True))
    mails = document["tables"]["outbox_messages"]
    exported = {m["id"] for m in mails}
    assert not exported & (victim_mail | {legacy})
    assert "Kari Nordmann" not in response.get_data(as_text=True)
    assert {(m["subject_type"], m["subject_id"]) for m in mails} == {
        ("participant", document["person_id"])}
    # Its own mail is there: the enrollment mail, the change it asked for and the privacy link
    # (links removed).
    subjects = sorted(m["subject"] for m in mails)
    assert subjects == ["Confirm your new e-mail address: Other course",
                        "Download your data: The County Governor of Vestland",
                        "Enrollment confirmed: Other course",
                        "Your e-mail address is being changed: Other course"]
    assert not CHANGE_LINK.search(json.dumps(mails))
    assert not PRIVACY_LINK.search(json.dumps(mails))
    [change] = document["tables"]["email_changes"]
    assert change["new_email"] == "kari@example.org"
    assert "confirm_hash" not in change


# --- changing the e-mail address ----------------------------------------------------------------


def test_a_new_address_waits_for_the_link_sent_to_it_and_the_old_one_is_told(
    app, client, make_offering
):
    offering = make_offering()
    post_enroll(client, offering)
    token = manage_token(app, "kari@example.org")
    before = len(outbox(app))

    response = ask_change(client, token, "Kari.Berg@Example.org", locale="nn")

    assert response.status_code == 302
    shown = page(client.get(response.location, headers={"Accept-Language": "nn"}))
    assert "E-postadressa di blir endra til kari.berg@example.org når du opnar lenka" in shown
    assert "Til då skriv vi til kari@example.org." in shown
    assert [r["email"] for r in enrollments(app)] == ["kari@example.org"]
    confirm, notice = outbox(app)[before:]
    assert (confirm.to_address, notice.to_address) == ("kari.berg@example.org",
                                                       "kari@example.org")
    assert confirm.locale == notice.locale == "nn"  # the language chosen on the same form
    assert "Stadfest" in confirm.subject
    assert change_url(confirm) != change_url(notice)
    assert "http://localhost/email-change/" in confirm.body_text
    # Until the link is opened, everything uses the old address: the lost-link form too.
    client.post("/manage/lost-link", data={"email": "kari.berg@example.org"}, headers=EN)
    run_sender(app)
    assert len(outbox(app)) == before + 2

    # Opening the link asks; only the button changes the address (a mail scanner's GET does
    # nothing), and the link works once.
    question = client.get(change_url(confirm), headers=EN)
    assert question.status_code == 200
    assert question.headers["Cache-Control"] == "no-store"
    assert "Confirm your new e-mail address" in page(question)
    assert [r["email"] for r in enrollments(app)] == ["kari@example.org"]
    done = client.post(change_url(confirm), headers=EN)
    assert done.status_code == 200
    assert "We write to kari.berg@example.org about this enrollment from now on." in page(done)
    assert [r["email"] for r in enrollments(app)] == ["kari.berg@example.org"]
    [event] = events(app, "enrollment.email_changed")
    assert (event.actor_email, event.object_type) == ("participant", "participant")
    assert "kari" not in json.dumps(event.after)  # no address in the audit log
    assert client.post(change_url(confirm), headers=EN).status_code == 404
    assert client.get(change_url(notice), headers=EN).status_code == 404
    assert client.get(f"/manage/{token}", headers=EN).status_code == 200


def test_the_old_address_can_stop_the_change(app, client, make_offering):
    offering = make_offering()
    post_enroll(client, offering)
    token = manage_token(app, "kari@example.org")
    ask_change(client, token, "mallory@example.org")
    confirm, notice = outbox(app)[-2:]
    assert "If it was not you, stop the change with this link" in notice.body_text

    assert "Stop the change" in page(client.get(change_url(notice), headers=EN))
    stopped = client.post(change_url(notice), headers=EN)

    assert stopped.status_code == 200
    assert "The e-mail address of the enrollment is not changed." in page(stopped)
    assert client.post(change_url(confirm), headers=EN).status_code == 404
    assert [r["email"] for r in enrollments(app)] == ["kari@example.org"]
    assert len(events(app, "enrollment.email_change_stopped")) == 1
    assert [c.cancelled_at is not None for c in changes(app)] == [True]


def test_an_expired_change_link_opens_nothing(app, client, make_offering):
    offering = make_offering()
    post_enroll(client, offering)
    ask_change(client, manage_token(app, "kari@example.org"), "kari.berg@example.org")
    confirm = outbox(app)[-2]
    with session_scope(engine_of(app)) as session:
        session.execute(sa.update(EmailChange).values(expires_at=utcnow() - timedelta(seconds=1)))

    assert client.get(change_url(confirm), headers=EN).status_code == 404
    assert client.post(change_url(confirm), headers=EN).status_code == 404
    assert [r["email"] for r in enrollments(app)] == ["kari@example.org"]


def test_an_address_another_enrollment_of_the_course_uses_is_refused_when_confirmed(
    app, client, make_offering
):
    offering = make_offering()
    post_enroll(client, offering)
    post_enroll(client, offering, **person(2))
    token = manage_token(app, "person2@example.org")

    # Asking tells the holder of a manage link nothing about who else is enrolled …
    asked = ask_change(client, token, "kari@example.org", full_name="Person 2")
    assert asked.status_code == 302
    # … the owner of the address learns it when opening the link, and nothing changes.
    refused = client.post(change_url(outbox(app)[-2]), headers=EN)

    assert refused.status_code == 409
    assert "Another enrollment in this course uses this e-mail address" in page(refused)
    assert {r["email"] for r in enrollments(app)} == {"kari@example.org", "person2@example.org"}
    assert events(app, "enrollment.email_changed") == []


# --- the same answer and the same work, known or not ---------------------------------------------


def _rows(app) -> dict[str, int]:
    with engine_of(app).connect() as conn:
        return {t.name: conn.scalar(sa.select(sa.func.count()).select_from(t))
                for t in Base.metadata.sorted_tables}


class StatementLog:
    """The SQL statements the app sends while it is on (parameters left out)."""

    def __init__(self, engine):
        self.engine, self.statements, self.on = engine, [], False
        sa.event.listen(engine, "before_cursor_execute", self._seen)

    def _seen(self, conn, cursor, statement, parameters, context, executemany):
        if self.on:
            self.statements.append(statement)

    def during(self, action):
        self.statements, self.on = [], True
        try:
            return action()
        finally:
            self.on = False


def _same_work(app, request) -> tuple:
    """Run ``request(address)`` for a known and an unknown address; what each did."""
    log = StatementLog(engine_of(app))
    done = []
    for address in ("kari@example.org", "nobody@example.org"):
        before = _rows(app)
        response = log.during(lambda a=address: request(a))
        after = _rows(app)
        body = re.sub(r'name="csrf_token"[^>]*>', "", page(response)).replace(address, "ADDR")
        done.append((response.status_code, body, list(log.statements),
                     {t: after[t] - before[t] for t in after if after[t] != before[t]}))
    return tuple(done)


def test_lost_link_does_the_same_work_for_a_known_and_an_unknown_address(
    app, client, make_offering
):
    offering = make_offering()
    post_enroll(client, offering)
    before = len(outbox(app))

    known, unknown = _same_work(app, lambda address: client.post(
        "/manage/lost-link", data={"email": address}, headers=EN))

    assert known[0] == unknown[0] == 200
    assert known[1] == unknown[1]
    assert known[2] == unknown[2]  # the same SQL statements, one after the other
    assert known[3] == unknown[3] == {"deferred_jobs": 1}
    assert len(outbox(app)) == before
    run_sender(app)
    assert [m.to_address for m in outbox(app)[before:]] == ["kari@example.org"]
    assert _rows(app)["deferred_jobs"] == 0


def test_forgot_password_does_the_same_work_for_a_known_and_an_unknown_address(
    app, client, make_staff
):
    make_staff(email="kari@example.org", locale="nb")

    known, unknown = _same_work(app, lambda address: client.post(
        "/staff/password/forgot", data={"email": address}, headers=EN, follow_redirects=True))

    assert known[0] == unknown[0] == 200
    assert known[1] == unknown[1]
    assert "If the address belongs to an account" in known[1]
    assert known[2] == unknown[2]
    assert known[3] == unknown[3] == {"deferred_jobs": 1}
    assert outbox(app) == []
    run_sender(app)
    [mail] = outbox(app)
    assert mail.to_address == "kari@example.org"
    # Rendered by the job in the staff member's language, with a link from configuration.
    assert (mail.locale, mail.subject) == ("nb", "Nullstill passordet ditt i Kursportalen")
    assert "http://localhost/staff/password/reset/" in mail.body_text


def test_a_failing_job_is_retried_and_never_logs_its_payload(app, caplog):
    def broken(session, payload):
        raise ValueError(f"cannot reach {payload['email']}")

    register_job(app, "test.broken", broken)
    with session_scope(engine_of(app)) as session:
        job_id = queue_job(session, "test.broken", {"email": "secret@example.org"}).id

    with caplog.at_level(logging.DEBUG):
        run_sender(app)

    assert f"Job {job_id} (test.broken) failed: ValueError" in caplog.text
    assert "secret@example.org" not in caplog.text
    with session_scope(engine_of(app)) as session:
        job = session.get(DeferredJob, job_id)
        assert job.attempts == 1
        assert job.run_after > utcnow()


@pytest.mark.parametrize("locale", ["nn", "nb", "en"])
def test_the_outcome_page_says_the_same_for_a_seat_a_waiting_list_and_an_existing_enrollment(
    app, client, make_offering, locale
):
    offering = make_offering(capacity=1)
    lang = {"Accept-Language": locale}
    shown = []
    for details in ({}, {}, person(3)):  # a seat, the same person again, the waiting list
        response = post_enroll(client, offering, locale=locale, lang=locale, **details)
        assert response.status_code == 302
        shown.append(page(client.get(response.location, headers=lang)))

    seat, again, waiting = shown
    assert seat == again == waiting.replace("person3@example.org", "kari@example.org")
    assert [m.locale for m in outbox(app)] == [locale] * 3
