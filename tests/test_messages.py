"""Messages from staff to an offering's participants (issue 16, item 5): written, checked with
the number of recipients, sent through the outbox per recipient in their language, audited,
listed on the offering's staff page and on each recipient's manage page, and part of the
person's data.

Every test runs on SQLite and on PostgreSQL; mail goes to a real SMTP server (aiosmtpd).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from core.audit import AuditEvent
from core.auth import StaffUser
from core.db import session_scope
from core.mail import OutboxMessage, SendReport, send_pending
from core.privacy import Retention, anonymise_person, export_person
from enrollment.models import MessageAudience, MessageDelivery, OfferingMessage
from enrollment.services import enrollments, messages
from tests.conftest import staff_login
from tests.smtp import smtp_server  # noqa: F401
from tests.test_staff_participants import engine_of, enroll, page, reading

BODY = "Ta med <b>legitimasjon</b>.\nOppmøte kl. 08.30 i resepsjonen."


@pytest.fixture
def app_config(app_config, smtp_server):  # noqa: F811
    app_config.update(MAIL_SERVER=smtp_server.host, MAIL_PORT=smtp_server.port,
                      MAIL_FROM="Statsforvaltaren <kurs@example.org>", MAIL_TIMEOUT=5,
                      PUBLIC_BASE_URL="https://kurs.example.no")
    return app_config


@pytest.fixture
def course(app, make_offering, now):
    """An offering with two seats: Ola (nn) and Emma (en) confirmed, Nora (nb) on the waiting
    list, Per withdrawn from it. Returns (offering, {name: EnrollResult})."""
    offering = make_offering(capacity=2)
    people = {}
    for n, (name, locale) in enumerate([("Ola", "nn"), ("Emma", "en"), ("Nora", "nb"),
                                        ("Per", "nn")]):
        people[name] = enroll(app, offering.id, n, now + timedelta(seconds=n), full_name=name,
                              email=f"{name.lower()}@example.no", locale=locale)
    with app.app_context(), session_scope(engine_of(app)) as session:
        enrollments.cancel(session, session.merge(people["Per"].enrollment), now)
    return offering, people


def form(audience="all", step="preview", subject="Praktisk om kurset", body=BODY, **extra):
    return dict(audience=audience, step=step, subject=subject, body=body, **extra)


def stored(app) -> tuple[list[OfferingMessage], list[tuple[int, int]], list[OutboxMessage]]:
    with reading(app) as session:
        return (list(session.scalars(sa.select(OfferingMessage))),
                list(session.execute(sa.select(MessageDelivery.message_id,
                                               MessageDelivery.enrollment_id)).all()),
                list(session.scalars(sa.select(OutboxMessage).where(
                    OutboxMessage.kind == "enrollment.message"))))


def test_staff_check_then_send_to_every_active_participant_in_their_own_language(
        app, client, course, make_staff, login, smtp_server):  # noqa: F811
    offering, people = course
    make_staff()
    login()
    url = f"/staff/courses/{offering.id}/messages/new"
    written = client.get(url)
    assert written.status_code == 200
    assert "Everyone enrolled (confirmed, pending approval and on the waiting list) (3)" \
        in page(written)
    assert "Those on the waiting list (1)" in page(written)
    listed = page(client.get(f"/staff/courses/{offering.id}/participants"))
    assert f'href="{url}">Write to participants</a>' in listed

    checked = client.post(url, data=form())
    assert checked.status_code == 200
    assert "Send to 3 participants?" in page(checked)
    assert 'name="expected" type="hidden" value="3"' in page(checked)
    assert stored(app) == ([], [], [])  # checking writes nothing

    sent = client.post(url, data=form(step="send", expected="3"))
    assert sent.status_code == 302
    assert sent.location.endswith(f"/staff/courses/{offering.id}/edit#messages")
    [message], deliveries, outbox = stored(app)
    assert (message.subject, message.body, message.audience, message.recipient_count) \
        == ("Praktisk om kurset", BODY, MessageAudience.ALL, 3)
    assert sorted(e for _m, e in deliveries) == sorted(
        people[n].enrollment.id for n in ("Ola", "Emma", "Nora"))
    with reading(app) as session:
        [audit] = session.scalars(sa.select(AuditEvent).where(
            AuditEvent.action == "offering.message"))
    assert (audit.actor_email, audit.object_id, audit.after) == (
        "kari@sfvl.no", offering.id, {"message": message.id, "audience": "all", "recipients": 3})
    staff_page = page(client.get(f"/staff/courses/{offering.id}/edit"))
    assert re.search(r"<th scope=\"row\">Praktisk om kurset</th>\s*<td[^>]*>Kari Nordmann</td>\s*"
                     r"<td[^>]*>Everyone enrolled[^<]*</td>\s*<td[^>]*>3</td>", staff_page)

    assert len(outbox) == 3
    smtp_server.received.clear()  # the mail of the enrollments themselves
    assert send_pending(engine_of(app), app.config, app=app) == SendReport(sent=len(outbox) + 5)
    mails = {m.rcpt_tos[0]: m.message for m in smtp_server.received
             if m.message["Subject"].startswith("Praktisk")}
    assert set(mails) == {"ola@example.no", "emma@example.no", "nora@example.no"}
    assert mails["ola@example.no"]["Subject"] == "Praktisk om kurset (Testkurs)"
    assert mails["emma@example.no"]["Subject"] == "Praktisk om kurset (Test course)"
    text = {to: m.get_body(("plain",)).get_content() for to, m in mails.items()}
    assert text["ola@example.no"].startswith("Hei, Ola!")
    assert text["nora@example.no"].startswith("Hei, Nora!")
    assert text["emma@example.no"].startswith("Hello Emma,")
    assert "har sendt denne meldinga til deltakarane på Testkurs:" in text["ola@example.no"]
    assert "har sendt denne meldingen til deltakerne på Testkurs:" in text["nora@example.no"]
    assert BODY in text["emma@example.no"]  # the text as written, in its one language
    html_body = mails["emma@example.no"].get_body(("html",)).get_content()
    assert "Ta med &lt;b&gt;legitimasjon&lt;/b&gt;.<br>" in html_body

    # The link in the mail (from PUBLIC_BASE_URL) opens the manage page with the message on it.
    link = re.search(r"https://kurs\.example\.no(/manage/\S+)", text["emma@example.no"])[1]
    client.get("/lang/en")
    manage = client.get(link).get_data(as_text=True)
    assert "Messages from the county governor" in manage
    assert '<p class="pre-line">Ta med &lt;b&gt;legitimasjon&lt;/b&gt;.\nOppmøte' in manage


def test_a_later_enrollee_and_other_audiences_do_not_see_a_message(
        app, client, course, make_staff, count_queries, now):
    offering, people = course
    staff_id = make_staff()
    manage = f"/manage/{people['Nora'].token}"
    with count_queries() as before:
        assert client.get(manage).status_code == 200
    with app.app_context(), session_scope(engine_of(app)) as session:
        actor = session.get(StaffUser, staff_id)
        first = messages.send(session, session.merge(offering), subject="Venteliste",
                              body="Hald av dagen.", audience=MessageAudience.WAITLISTED,
                              actor=actor, now=now)
        second = messages.send(session, session.merge(offering), subject="Stadfesta",
                               body="Velkomen.", audience=MessageAudience.CONFIRMED,
                               actor=actor, now=now + timedelta(minutes=1))
        first_id, second_id = first.id, second.id
    late = enroll(app, offering.id, 9, now + timedelta(minutes=2), locale="nn")
    with reading(app) as session:
        seen = {name: [m.id for m in messages.received(session, result.enrollment.id)]
                for name, result in {**people, "late": late}.items()}
    assert seen == {"Ola": [second_id], "Emma": [second_id], "Nora": [first_id], "Per": [],
                    "late": []}
    # The manage page loads its messages in one query, however many there are.
    with count_queries() as after:
        assert "Hald av dagen." in client.get(manage).get_data(as_text=True)
    assert len(after) == len(before)


def test_refusals_say_why_at_the_field_and_write_nothing(
        app, client, course, make_staff, make_offering, login, now):
    offering, _people = course
    make_staff()
    client.get("/lang/nn")
    staff_login(app, client)
    url = f"/staff/courses/{offering.id}/messages/new"

    hidden = client.post(url, data=form(subject="Praktisk\u202eom"))
    assert hidden.status_code == 400
    assert "Fjern dei usynlege kontrollteikna" in page(hidden)
    too_long = client.post(url, data=form(step="send", body="x" * 5001, expected="3"))
    assert too_long.status_code == 400
    empty = make_offering()
    nobody = client.post(f"/staff/courses/{empty.id}/messages/new", data=form())
    assert nobody.status_code == 409
    assert 'id="audience-error"' in nobody.get_data(as_text=True)

    # Someone enrolls between the check (3) and the send: nothing is sent, the new number shown.
    enroll(app, offering.id, 7, now + timedelta(minutes=5), locale="nn")
    changed = client.post(url, data=form(step="send", expected="3"))
    assert changed.status_code == 409
    assert 'name="expected" type="hidden" value="4"' in page(changed)
    assert stored(app) == ([], [], [])

    other = make_offering(county="rogaland")
    for response in (client.get(f"/staff/courses/{other.id}/messages/new"),
                     client.post(f"/staff/courses/{other.id}/messages/new",
                                 data=form(step="send", expected="0"))):
        assert response.status_code == 404
    assert stored(app) == ([], [], [])


@pytest.fixture
def one_message_an_hour(app_config):
    """Rate limiting on (the database store), one message an hour per offering."""
    app_config.update(RATELIMIT_ENABLED=True, MESSAGE_RATE_LIMIT="1 per hour")


@pytest.mark.usefixtures("one_message_an_hour")
def test_sending_is_rate_limited_per_offering_but_checking_is_not(
        app, client, make_offering, make_staff, login, now):
    offering = make_offering()
    enroll(app, offering.id, 1, now, locale="nn")
    make_staff()
    login()
    url = f"/staff/courses/{offering.id}/messages/new"
    assert client.post(url, data=form(step="send", expected="1")).status_code == 302
    assert client.post(url, data=form()).status_code == 200
    assert client.post(url, data=form(step="send", expected="1")).status_code == 429
    assert len(stored(app)[0]) == 1


def test_received_messages_are_in_the_export_and_go_with_erasure(app, course, make_staff, now):
    offering, people = course
    make_staff()
    ola = people["Ola"].enrollment
    with app.app_context(), session_scope(engine_of(app)) as session:
        messages.send(session, session.merge(offering), subject="Praktisk", body=BODY,
                      audience=MessageAudience.ALL, actor=None, now=now)
    with app.app_context(), session_scope(engine_of(app)) as session:
        exported = export_person(session, ola.participant_id, now)["tables"]
        [row] = exported["message_deliveries"]
        assert (row["enrollment_id"], row["subject"], row["body"]) == (ola.id, "Praktisk", BODY)
        anonymise_person(session, ola.participant_id, now=now, erasure=True,
                         retention=Retention(as_of=datetime.now(UTC).date()))
    with reading(app) as session:
        assert messages.received(session, ola.id) == []
        assert len(messages.received(session, people["Emma"].enrollment.id)) == 1
        [message] = session.scalars(sa.select(OfferingMessage))
        assert message.recipient_count == 3
