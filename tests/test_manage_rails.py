"""Rails for participants (issue 12, item 7): cancelling asks first and says what will happen;
"Lost your link?" adds a link and never breaks the ones already mailed; a participant can
withdraw their other links from a working one."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask_babel import force_locale, ngettext

from core.audit import AuditEvent
from core.db import session_scope
from core.mail import SendReport
from enrollment.models import Enrollment, EnrollmentStatus, ManageLink
from enrollment.services import links, participants
from tests.refunds_factories import car_leg, draft_claim, load_rates, make_enrollment
from tests.smtp import smtp_server  # noqa: F401
from tests.test_csrf import csrf_on  # noqa: F401
from tests.test_enrollment_web import (
    EN,
    MANAGE_LINK,
    csrf_token,
    deliver,
    engine_of,
    manage_token,
    outbox,
    page,
    person,
    post_enroll,
    run_sender,
    seats_taken,
    smtp,  # noqa: F401
    statuses,
    translated,
)

# The page's behaviour; the data rules under it are tested on both databases (conftest).
pytestmark = pytest.mark.one_database

LOCALES = ["nn", "nb", "en"]


def lang(locale: str) -> dict[str, str]:
    return {"Accept-Language": locale}


def translated_plural(app, singular: str, plural: str, n: int, locale: str) -> str:
    """A plural message as the app's catalog renders it in ``locale`` for ``n``."""
    with app.test_request_context(), force_locale(locale):
        return ngettext(singular, plural, n, n=n)


def link_rows(app, enrollment_id: int | None = None) -> list[tuple[str, bool]]:
    """(token hash, withdrawn?) of every manage link (of one enrollment), oldest first."""
    stmt = sa.select(ManageLink.token_hash, ManageLink.withdrawn_at).order_by(ManageLink.id)
    if enrollment_id is not None:
        stmt = stmt.where(ManageLink.enrollment_id == enrollment_id)
    with session_scope(engine_of(app)) as session:
        return [(h, w is not None) for h, w in session.execute(stmt).all()]


def full_with_waiting_list(client, make_offering):
    """A course of one seat: person 1 has it, person 2 waits."""
    offering = make_offering(capacity=1)
    form = page(client.get(f"/courses/{offering.id}/enroll", headers=EN))
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', form)  # if CSRF is on
    for number in (1, 2):
        post_enroll(client, offering, csrf_token=token and token.group(1), **person(number))
    return offering


# --- cancelling asks first ----------------------------------------------------------------------


@pytest.mark.parametrize("locale", LOCALES)
def test_cancel_page_says_the_seat_passes_on_and_changes_nothing(
    app, client, make_offering, locale
):
    offering = full_with_waiting_list(client, make_offering)
    token = manage_token(app, "person1@example.org")
    before = (statuses(app), seats_taken(app, offering), len(outbox(app)), link_rows(app))

    manage = page(client.get(f"/manage/{token}", headers=lang(locale)))
    assert f'href="/manage/{token}/cancel"' in manage
    response = client.get(f"/manage/{token}/cancel", headers=lang(locale))

    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    text = page(response)
    for message in ("Do you want to cancel your enrollment?",
                    "Your seat passes to the next person on the waiting list, who is told by "
                    "e-mail.",
                    "You cannot undo this.",
                    "To take part later, you must enroll again, and there may be no seat left.",
                    "Yes, cancel my enrollment", "No, keep my enrollment"):
        assert translated(app, message, locale) in text, message
    assert f'<form method="post" action="/manage/{token}/cancel"' in text
    # GET never writes.
    assert (statuses(app), seats_taken(app, offering), len(outbox(app)), link_rows(app)) \
        == before
    assert before[0]["person1@example.org"] == EnrollmentStatus.CONFIRMED


def test_cancel_page_of_a_seat_nobody_waits_for_says_it_becomes_free(app, client,
                                                                      make_offering):
    offering = make_offering(capacity=3)
    post_enroll(client, offering)

    text = page(client.get(f"/manage/{manage_token(app, 'kari@example.org')}/cancel",
                           headers=EN))

    assert "Your seat becomes free, and someone else can enroll in it." in text
    assert "waiting list" not in text
    assert statuses(app) == {"kari@example.org": EnrollmentStatus.CONFIRMED}


@pytest.mark.parametrize("locale", LOCALES)
def test_cancel_page_on_the_waiting_list_says_the_place_is_lost(
    app, client, make_offering, locale
):
    full_with_waiting_list(client, make_offering)
    token = manage_token(app, "person2@example.org")

    text = page(client.get(f"/manage/{token}/cancel", headers=lang(locale)))

    assert translated(app, "You lose your place on the waiting list (number %(pos)s).",
                      locale, pos=1) in text
    assert statuses(app)["person2@example.org"] == EnrollmentStatus.WAITLISTED


def test_cancel_page_after_the_deadline_offers_no_button(app, client, make_offering, now):
    offering = make_offering(cancel_deadline=now - timedelta(hours=1))
    post_enroll(client, offering)
    token = manage_token(app, "kari@example.org")

    text = page(client.get(f"/manage/{token}/cancel", headers=EN))

    assert "The deadline for cancelling here has passed." in text
    assert "Yes, cancel my enrollment" not in text
    assert f'action="/manage/{token}/cancel"' not in text


def test_cancel_page_of_a_cancelled_enrollment_says_it_cannot_be(app, client, make_offering):
    offering = make_offering()
    post_enroll(client, offering)
    token = manage_token(app, "kari@example.org")
    client.post(f"/manage/{token}/cancel", headers=EN)

    text = page(client.get(f"/manage/{token}/cancel", headers=EN))

    assert "This enrollment cannot be cancelled." in text
    assert "Yes, cancel my enrollment" not in text


@pytest.mark.parametrize("locale", LOCALES)
def test_cancel_page_warns_that_an_unsent_travel_claim_cannot_be_sent_after(
    app, client, make_offering, now, locale
):
    load_rates(app)
    enrollment_id = make_enrollment(app, make_offering,
                                    first_day=now + timedelta(days=3))
    with session_scope(engine_of(app)) as session:
        token = links.issue_link(session, session.get(Enrollment, enrollment_id))
    warning = ("You have a travel claim that is not sent. After you cancel, it can no longer be "
               "sent.")
    assert translated(app, warning, locale) not in page(
        client.get(f"/manage/{token}/cancel", headers=lang(locale)))

    # A leg on the first course day: inside the journey window of a draft.
    draft_claim(app, enrollment_id, now=now,
                lines=[car_leg(day=(now + timedelta(days=3)).date())])
    text = page(client.get(f"/manage/{token}/cancel", headers=lang(locale)))

    assert translated(app, warning, locale) in text


@pytest.mark.usefixtures("csrf_on")
def test_confirming_on_the_cancel_page_cancels_and_promotes_the_next_in_line(
    app, client, make_offering
):
    offering = full_with_waiting_list(client, make_offering)
    token = manage_token(app, "person1@example.org")
    before = len(outbox(app))
    url = f"/manage/{token}/cancel"

    assert client.post(url, headers=EN).status_code == 400  # no CSRF token: nothing happens
    assert statuses(app)["person1@example.org"] == EnrollmentStatus.CONFIRMED
    response = client.post(url, data={"csrf_token": csrf_token(client.get(url, headers=EN))},
                           headers=EN)

    assert response.status_code == 302
    assert response.location.endswith(f"/manage/{token}")
    text = page(client.get(response.location, headers=EN))
    assert "Your enrollment is cancelled." in text
    assert "Cancel my enrollment" not in text
    assert statuses(app) == {"person1@example.org": EnrollmentStatus.CANCELLED,
                             "person2@example.org": EnrollmentStatus.CONFIRMED}
    assert seats_taken(app, offering) == 1
    assert {m.to_address: m.subject for m in outbox(app)[before:]} == {
        "person1@example.org": "Your enrollment is cancelled: Test course",
        "person2@example.org": "You now have a seat: Test course",
    }


# --- "Lost your link?" --------------------------------------------------------------------------


@pytest.mark.parametrize("locale", LOCALES)
def test_lost_link_mail_brings_a_new_link_and_the_old_one_keeps_working(
    smtp, app, client, make_offering, locale  # noqa: F811
):
    offering = make_offering()
    post_enroll(client, offering, locale=locale)
    assert deliver(app) == SendReport(sent=1)
    [enrolled] = smtp.received
    old = MANAGE_LINK.search(enrolled.message.get_body(("plain",)).get_content()).group(1)

    response = client.post("/manage/lost-link", data={"email": "kari@example.org"}, headers=EN)
    assert response.status_code == 200
    assert deliver(app) == SendReport(sent=1)

    message = smtp.received[-1].message
    assert message["Subject"] == translated(app, "Links to your enrollments", locale)
    text = message.get_body(("plain",)).get_content()
    assert translated(app, "Someone (hopefully you) asked for the links to the enrollments made "
                      "with this e-mail address. Here they are. Links you got earlier still "
                      "work.", locale) in text
    new = MANAGE_LINK.search(text).group(1)
    assert new != old
    for token in (old, new):
        shown = client.get(f"/manage/{token}", headers=EN)
        assert shown.status_code == 200
        assert "Kari Nordmann" in page(shown)
    assert statuses(app) == {"kari@example.org": EnrollmentStatus.CONFIRMED}
    assert link_rows(app) == [(links.hash_token(old), False), (links.hash_token(new), False)]


def test_a_strangers_lost_link_requests_cut_nobody_off(app, make_offering, client):
    offering = make_offering()
    post_enroll(client, offering)
    token = manage_token(app, "kari@example.org")
    stranger = app.test_client()

    for address in ("kari@example.org", "KARI@example.org", "kari@example.org"):
        answer = stranger.post("/manage/lost-link", data={"email": address}, headers=EN)
        run_sender(app)
        assert answer.status_code == 200
        assert "Check your e-mail" in page(answer)
        # The stranger sees no link: it went to Kari's inbox only.
        assert not MANAGE_LINK.search(page(answer))

    assert client.get(f"/manage/{token}", headers=EN).status_code == 200
    rows = link_rows(app)
    assert [withdrawn for _hash, withdrawn in rows] == [False] * 4
    assert {m.to_address for m in outbox(app)} == {"kari@example.org"}


# --- withdrawing the other links ----------------------------------------------------------------


@pytest.mark.parametrize("locale", LOCALES)
def test_withdraw_page_counts_the_other_links_and_changes_nothing(
    app, client, make_offering, locale
):
    offering = make_offering()
    post_enroll(client, offering)
    first = manage_token(app, "kari@example.org")
    client.post("/manage/lost-link", data={"email": "kari@example.org"}, headers=EN)
    run_sender(app)
    second = manage_token(app, "kari@example.org")
    before = link_rows(app)

    manage = page(client.get(f"/manage/{second}", headers=lang(locale)))
    assert translated(app, "Make the other links stop working", locale) in manage
    assert translated_plural(
        app, "%(n)s other link opens this page too, for example from an earlier e-mail.",
        "%(n)s other links open this page too, for example from earlier e-mails.", 1,
        locale) in manage
    response = client.get(f"/manage/{second}/links", headers=lang(locale))

    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    text = page(response)
    assert translated_plural(
        app, "Besides the link you are using now, %(n)s other link opens your enrollment, "
        "for example from an earlier e-mail.",
        "Besides the link you are using now, %(n)s other links open your enrollment, "
        "for example from earlier e-mails.", 1, locale) in text
    assert translated(app, "Yes, make the other links stop working", locale) in text
    assert link_rows(app) == before
    assert client.get(f"/manage/{first}", headers=EN).status_code == 200


@pytest.mark.usefixtures("csrf_on")
def test_withdrawing_other_links_kills_them_and_keeps_the_current_one(
    app, client, make_offering
):
    offering = make_offering()
    post_enroll(client, offering, csrf_token=csrf_token(
        client.get(f"/courses/{offering.id}/enroll", headers=EN)))
    first = manage_token(app, "kari@example.org")
    lost = csrf_token(client.get("/manage/lost-link", headers=EN))
    for _ in range(2):
        client.post("/manage/lost-link", data={"email": "kari@example.org", "csrf_token": lost},
                    headers=EN)
        run_sender(app)
    current = manage_token(app, "kari@example.org")
    url = f"/manage/{current}/links"

    assert client.post(url, headers=EN).status_code == 400  # no CSRF token: nothing happens
    assert [w for _h, w in link_rows(app)] == [False, False, False]
    response = client.post(url, data={"csrf_token": csrf_token(client.get(url, headers=EN))},
                           headers=EN)

    assert response.status_code == 302
    assert response.location.endswith(f"/manage/{current}")
    text = page(client.get(response.location, headers=EN))
    assert "The other links to your enrollment no longer work. This link still works." in text
    assert "Make the other links stop working" not in text
    assert client.get(f"/manage/{first}", headers=EN).status_code == 404
    assert client.get(f"/manage/{first}/cancel", headers=EN).status_code == 404
    rows = link_rows(app)
    assert [w for _h, w in rows] == [True, True, False]
    assert rows[-1][0] == links.hash_token(current)
    with session_scope(engine_of(app)) as session:
        [event] = session.scalars(sa.select(AuditEvent).where(
            AuditEvent.action == "enrollment.links_withdrawn")).all()
        assert (event.actor_email, event.after) == ("participant", {"withdrawn": 2})
    # Nothing else to withdraw: the page says so and offers no button.
    again = page(client.get(url, headers=EN))
    assert "No other link opens your enrollment" in again
    assert "Yes, make the other links stop working" not in again
    assert statuses(app) == {"kari@example.org": EnrollmentStatus.CONFIRMED}


def test_a_withdrawn_link_cannot_withdraw_the_others(app, client, make_offering):
    offering = make_offering()
    post_enroll(client, offering)
    first = manage_token(app, "kari@example.org")
    client.post("/manage/lost-link", data={"email": "kari@example.org"}, headers=EN)
    run_sender(app)
    second = manage_token(app, "kari@example.org")
    client.post(f"/manage/{second}/links", headers=EN)

    assert client.post(f"/manage/{first}/links", headers=EN).status_code == 404
    assert client.get(f"/manage/{second}", headers=EN).status_code == 200


def test_a_staff_move_keeps_every_working_link(app, make_offering, client, now):
    source = make_offering()
    target = make_offering(first_day=now + timedelta(days=60))
    post_enroll(client, source)
    first = manage_token(app, "kari@example.org")
    client.post("/manage/lost-link", data={"email": "kari@example.org"}, headers=EN)
    run_sender(app)
    second = manage_token(app, "kari@example.org")

    with app.app_context(), session_scope(engine_of(app)) as session:
        old = session.scalar(sa.select(Enrollment.id))
        moved = participants.move(session, old, target.id, actor=None, now=now)
        new = moved.new.id

    for token in (first, second):
        shown = client.get(f"/manage/{token}", headers=EN)
        assert shown.status_code == 200
    assert len(link_rows(app, new)) == 2
    assert link_rows(app, old) == []
