"""Recorded mail (core/mail_kinds.py): the change's transaction records what to send; the text
is rendered after the commit, in the recipient's language, and delivered by the sender."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from flask import Blueprint
from flask_babel import gettext as _

from core.db import get_session, session_scope
from core.mail import MailStatus, OutboxMessage, SendReport, send_pending
from core.mail_kinds import MAX_RENDER_ATTEMPTS, Rendered, record_mail, register_mail
from core.models import County
from core.transaction import refusals
from tests.smtp import smtp_server  # noqa: F401


@pytest.fixture
def app_config(app_config, smtp_server):  # noqa: F811
    app_config.update(MAIL_SERVER=smtp_server.host, MAIL_PORT=smtp_server.port,
                      MAIL_FROM="Statsforvaltaren <kurs@example.org>", MAIL_TIMEOUT=5)
    return app_config


def _county_mail(session, params):
    """A renderer: reads the row the ids name, at rendering time, in the row's language."""
    county = session.get(County, params["county_id"])
    if county is None:
        return None
    if county.email == "broken@example.org":
        raise RuntimeError("template failed")
    return Rendered(subject=_("Page not found"), text=f"{county.name_nn}: {params['seats']}",
                    html=f"<p>{county.name_nn}</p>", attachments=[("a.txt", "text/plain", b"x")])


@pytest.fixture
def mail_app(app):
    register_mail(app, "test.county", _county_mail)
    bp = Blueprint("mail_kinds_test", __name__)
    seen_in_transaction = []

    @bp.post("/t/record/<int:county_id>")
    def record(county_id):
        session = get_session()
        with refusals() as refusal:
            row = record_mail(session, "test.county", to="lege@example.org", locale="en",
                              county_id=county_id, seats=3)
            seen_in_transaction.append((row.subject, row.body_text, row.rendered_at))
            return "ok"
        return "refused", refusal.status

    app.register_blueprint(bp)
    app.seen_in_transaction = seen_in_transaction
    return app


def _rows(app) -> list[OutboxMessage]:
    with session_scope(app.extensions["kp_engine"]) as session:
        return list(session.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id)))


def _a_county_id(app) -> int:
    with session_scope(app.extensions["kp_engine"]) as session:
        return session.scalar(sa.select(sa.func.min(County.id)))


def test_mail_is_rendered_after_the_commit_in_the_recipients_language_and_delivered(
        mail_app, smtp_server):  # noqa: F811
    county_id = _a_county_id(mail_app)
    response = mail_app.test_client().post(f"/t/record/{county_id}", headers={
        "Accept-Language": "nn"})
    assert response.status_code == 200
    assert mail_app.seen_in_transaction == [("", "", None)]  # nothing rendered inside it
    [row] = _rows(mail_app)
    assert row.kind == "test.county"
    assert row.params == {"county_id": county_id, "seats": 3}
    assert row.subject == "Page not found"  # English, the row's language, not the visitor's
    assert row.body_text.endswith(": 3")
    assert row.rendered_at is not None
    report = send_pending(mail_app.extensions["kp_engine"], mail_app.config, app=mail_app)
    assert report == SendReport(sent=1)
    [received] = smtp_server.received
    assert received.message["Subject"] == "Page not found"
    assert [part.get_filename() for part in received.message.iter_attachments()] == ["a.txt"]


def test_mail_recorded_outside_a_request_waits_for_the_sender_to_render_it(
        mail_app, smtp_server):  # noqa: F811
    engine = mail_app.extensions["kp_engine"]
    with mail_app.app_context(), session_scope(engine) as session:
        record_mail(session, "test.county", to="lege@example.org", locale="nn",
                    county_id=_a_county_id(mail_app), seats=1)
    [row] = _rows(mail_app)
    assert row.rendered_at is None
    assert row.subject == ""
    assert send_pending(engine, mail_app.config, app=None) == SendReport()  # no renderer: waits
    assert send_pending(engine, mail_app.config, app=mail_app) == SendReport(sent=1)
    assert smtp_server.received[0].message["Subject"] == "Fann ikkje sida"


def test_mail_about_something_gone_by_rendering_time_is_dropped(mail_app):
    assert mail_app.test_client().post("/t/record/999999").status_code == 200
    with session_scope(mail_app.extensions["kp_engine"]) as session:
        # the renderer found nothing to write about: the row is gone, nothing was sent
        assert session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)) == 0


def test_a_failing_renderer_is_retried_then_given_up_and_never_sends_an_empty_mail(
        mail_app, smtp_server):  # noqa: F811
    engine = mail_app.extensions["kp_engine"]
    county_id = _a_county_id(mail_app)
    with session_scope(engine) as session:
        session.get(County, county_id).email = "broken@example.org"
    assert mail_app.test_client().post(f"/t/record/{county_id}").status_code == 200
    for _attempt in range(MAX_RENDER_ATTEMPTS):
        send_pending(engine, mail_app.config, app=mail_app)
    [row] = _rows(mail_app)
    assert row.status == MailStatus.FAILED
    assert row.attempts == MAX_RENDER_ATTEMPTS
    assert row.last_error == "rendering failed: RuntimeError"
    assert row.rendered_at is None
    assert smtp_server.received == []
