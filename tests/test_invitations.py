"""Invitations of roster people and the deadline reminder (issue 16, item 3): staff choose
people and a course, see who is invited and who skipped, each person is invited once per course
in the office's language with a link that fills in the form (and a bad link an empty form); two
weeks before the deadline the people still not enrolled are reminded once, by the periodic
command run twice and by two machines at once."""

from __future__ import annotations

import html
import re
import threading
from datetime import date, timedelta

import sqlalchemy as sa
from itsdangerous import TimestampSigner, URLSafeTimedSerializer

from core.audit import AuditEvent
from core.db import session_scope, utcnow
from core.mail import OutboxMessage
from core.mail_kinds import render_recorded
from core.models import County, Municipality
from core.reminders import send_due
from enrollment import invitation_tokens
from enrollment.models import Role, Roster, RosterEntry
from enrollment.services import enrollments, invitations
from enrollment.services.enrollments import PersonDetails


def engine_of(app):
    return app.extensions["kp_engine"]


def make_roster(app, cohort: date, people, county: str = "vestland") -> tuple[int, list[int]]:
    """A LIS1 roster of ``people`` (name, e-mail, HPR) in Bergen; its id and its entries' ids."""
    with session_scope(engine_of(app)) as session:
        office = session.scalar(sa.select(County).where(County.slug == county))
        place = session.scalar(sa.select(Municipality).where(Municipality.county_id == office.id)
                               .order_by(Municipality.number).limit(1))
        roster = Roster(county_id=office.id, role=Role.LIS1, cohort=cohort)
        roster.entries = [RosterEntry(full_name=name, email=email, hpr_number=hpr,
                                      municipality_id=place.id, start_date=cohort)
                          for name, email, hpr in people]
        session.add(roster)
        session.flush()
        return roster.id, [e.id for e in sorted(roster.entries, key=lambda e: e.full_name)]


def enroll(app, offering_id: int, name: str, email: str, hpr: str | None, now) -> None:
    with app.app_context(), session_scope(engine_of(app)) as session:
        enrollments.enroll(session, offering_id, PersonDetails(
            full_name=name, email=email, phone="+47 400 00 000", role=Role.LIS1,
            hpr_number=hpr, employer="Bergen kommune", locale="nb"), now)


def mails(app, kind: str) -> list[OutboxMessage]:
    with session_scope(engine_of(app)) as session:
        return list(session.scalars(sa.select(OutboxMessage).where(OutboxMessage.kind == kind)
                                    .order_by(OutboxMessage.id)))


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


PEOPLE = [("Kari Nordmann", "kari@example.no", "1234567"),   # invited
          ("Ola Nordmann", "ola@example.no", "2345678"),     # enrolled (by HPR number)
          ("Siri Hansen", "", None)]                         # no address


def test_staff_invite_chosen_people_once_each_and_the_link_fills_in_the_form(
        app, client, make_staff, login, make_offering, now):
    make_staff()
    login()
    offering = make_offering(kind="public_health")
    roster_id, (kari, ola, siri) = make_roster(app, offering.cohort, PEOPLE)
    enroll(app, offering.id, "Ola N.", "ola.other@example.no", "2345678", now)
    other_roster, _ = make_roster(app, offering.cohort, PEOPLE[:1], county="nordland")
    url = f"/staff/rosters/{roster_id}/invite"

    page = text(client.get(url, query_string={"entry": [kari, ola, siri]}))
    assert "People chosen: 3." in page
    assert f'value="{offering.id}"' in page  # the open course of the office admitting LIS1
    shown = client.get(url, query_string={"entry": [kari, ola, siri], "offering": offering.id})
    page = text(shown)
    assert shown.status_code == 200
    assert "Will be invited: 1. Skipped: 2." in page
    assert "Skipped: already enrolled in this course" in page
    assert "Ola Nordmann" in page
    assert "Skipped: no e-mail address" in page
    assert "Siri Hansen" in page
    entries = re.search(r'name="entries" type="hidden" value="([0-9,]+)"', page).group(1)
    sent = client.post(url, data={"offering": offering.id, "entries": entries})
    assert sent.status_code == 303
    assert "Invitations sent: 1. Skipped: 2." in text(client.get(sent.headers["Location"]))
    again = client.post(url, data={"offering": offering.id, "entries": entries})
    assert "Invitations sent: 0. Skipped: 3." in text(client.get(again.headers["Location"]))
    # everybody the (empty) filter shows: the same three, Kari now invited before
    page = text(client.get(url, query_string={"all": "y", "offering": offering.id}))
    assert "Will be invited: 0. Skipped: 3." in page
    assert "Skipped: invited to this course before" in page
    page = text(client.get(url, query_string={"all": "y", "kind": "public_health",
                                              "state": "not_enrolled"}))
    assert "People chosen: 2." in page  # the filter leaves Ola (enrolled) out
    elsewhere = make_offering(county="rogaland")  # another office's: never offered, refused
    refused = client.get(url, query_string={"entry": [kari], "offering": elsewhere.id})
    assert refused.status_code == 400
    assert "Choose a course of the office that is open for enrollment" in text(refused)
    assert client.get(f"/staff/rosters/{other_roster}/invite",
                      query_string={"entry": [1]}).status_code == 404

    (mail,) = mails(app, invitations.INVITATION)
    assert (mail.to_address, mail.locale) == ("kari@example.no", "nn")  # Vestland's language
    assert mail.subject == "Invitasjon: Testkurs"
    with session_scope(engine_of(app)) as session:
        audit = session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "roster.invite")
                               .order_by(AuditEvent.id))
        assert audit.actor_email == "kari@sfvl.no"
        assert audit.object_id == offering.id
        assert audit.after["invited"] == [kari]
        assert audit.after["skipped"] == {"enrolled": 1, "no_email": 1, "invited_before": 0}

    link = re.search(r"https?://\S+/enroll\?invitation=\S+", mail.body_text).group(0)
    form = text(client.get("/" + link.split("://", 1)[1].split("/", 1)[1]))
    assert 'value="Kari Nordmann"' in form
    assert 'value="kari@example.no"' in form
    assert 'value="1234567"' in form
    assert '<option selected value="lis1">' in form
    for bad in (link[:-3] + "abc", link.replace(f"/courses/{offering.id}/", "/courses/999/")):
        path = "/" + bad.split("://", 1)[1].split("/", 1)[1]
        response = client.get(path)
        if "/courses/999/" in path:
            assert response.status_code == 404
            continue
        page = text(response)
        assert response.status_code == 200
        assert "This invitation link is not valid any more" in page
        assert "Kari Nordmann" not in page
        assert "kari@example.no" not in page


class _Yesterday(TimestampSigner):
    def get_timestamp(self) -> int:
        return super().get_timestamp() - invitation_tokens.MAX_AGE - 60


def test_an_expired_changed_or_other_course_invitation_token_fills_in_nothing(
        app, make_offering):
    offering = make_offering()
    _roster, (kari, *_rest) = make_roster(app, offering.cohort, PEOPLE)
    with app.test_request_context(), session_scope(engine_of(app)) as session:
        entry = session.get(RosterEntry, kari)
        token = invitation_tokens.make_token(entry, offering.id)
        assert invitation_tokens.invited_entry(session, token, offering.id) is entry
        assert invitation_tokens.invited_entry(session, token, offering.id + 1) is None
        old = URLSafeTimedSerializer(app.config["SECRET_KEY"], salt=invitation_tokens.SALT,
                                     signer=_Yesterday).dumps(
            {"e": kari, "o": offering.id, "h": invitation_tokens._fingerprint(entry.email)})
        assert invitation_tokens.invited_entry(session, old, offering.id) is None
        entry.email = "kari.ny@example.no"  # a re-imported roster changed her address
        assert invitation_tokens.invited_entry(session, token, offering.id) is None


def test_deadline_reminder_once_to_people_not_enrolled_by_command_twice_and_concurrently(
        app, runner, make_offering, now, count_queries):
    closing = make_offering(kind="public_health", enroll_closes_at=now + timedelta(days=10))
    later = make_offering(kind="emergency_medicine", enroll_closes_at=now + timedelta(days=20))
    make_roster(app, closing.cohort, PEOPLE)
    make_roster(app, date(closing.cohort.year, 9, 1), [("Per Haust", "per@example.no", None)])
    enroll(app, closing.id, "Ola N.", "OLA@example.no", None, now)  # by address, any case

    with count_queries() as statements, session_scope(engine_of(app)) as session:
        due = invitations.due_deadline_reminders(session, now)
    assert len(due) == 1
    assert len(statements) == 3  # whatever the number of people and courses

    first = runner.invoke(args=["reminders", "send"])
    assert "enrollment.deadline_reminder: 1" in first.output
    assert "enrollment.deadline_reminder: 0" in runner.invoke(args=["reminders", "send"]).output
    (mail,) = mails(app, invitations.DEADLINE_REMINDER)
    assert mail.to_address == "kari@example.no"  # not Ola (enrolled), Siri, Per or `later`
    assert later.id not in {m.params["offering_id"] for m in mails(
        app, invitations.DEADLINE_REMINDER)}

    # A second course reaching its last two weeks: two machines run the command at once.
    soon = make_offering(kind="emergency_medicine", enroll_closes_at=now + timedelta(days=3))
    counts = []

    def run():
        with app.app_context():
            counts.append(send_due(app, engine_of(app), utcnow())[invitations.DEADLINE_REMINDER])

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(counts) in ([0, 2], [1, 1])  # Kari and Ola, each by one machine
    reminded = [(m.to_address, m.params["offering_id"]) for m in mails(
        app, invitations.DEADLINE_REMINDER)]
    assert sorted(reminded) == sorted([("kari@example.no", closing.id),
                                       ("kari@example.no", soon.id),
                                       ("ola@example.no", soon.id)])
    assert render_recorded(app, engine_of(app)) == 4  # and Ola's own enrollment mail
    kari_mail = mails(app, invitations.DEADLINE_REMINDER)[0]
    assert kari_mail.subject == "Påmeldingsfristen går snart ut: Testkurs"
    assert f"/courses/{closing.id}" in kari_mail.body_text
