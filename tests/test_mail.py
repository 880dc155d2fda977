"""The mail outbox: queued with the change, delivered over real SMTP, retried, never doubled."""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa

from core import mail
from core.db import session_scope, utcnow
from core.mail import (
    Attachment,
    MailNotConfigured,
    MailStatus,
    OutboxMessage,
    SendReport,
    backoff,
    queue_mail,
    send_pending,
)
from tests.smtp import smtp_server  # noqa: F401

PDF = b"%PDF-1.4\n\x00\xff\xfe binary \x80 data\n%%EOF\n"


@pytest.fixture
def app_config(app_config, smtp_server):  # noqa: F811
    """The configuration, pointing at the test SMTP server."""
    app_config.update(
        MAIL_SERVER=smtp_server.host,
        MAIL_PORT=smtp_server.port,
        MAIL_FROM="Statsforvaltaren <kurs@example.org>",
        MAIL_TIMEOUT=5,
    )
    return app_config


@pytest.fixture
def engine(app):
    """The application's engine."""
    return app.extensions["kp_engine"]


@pytest.fixture
def queue(engine):
    """Queue and commit a mail; keyword arguments override the defaults. Returns the row."""

    def factory(**values) -> OutboxMessage:
        defaults = dict(
            to="lege@example.org", subject="Stadfesting", text="Du er påmeld.", locale="nn"
        )
        defaults.update(values)
        with session_scope(engine) as session:
            return queue_mail(session, **defaults)

    return factory


def load(engine, message_id: str) -> OutboxMessage:
    """The outbox row with ``message_id``, freshly read."""
    with session_scope(engine) as session:
        return session.scalar(
            sa.select(OutboxMessage).where(OutboxMessage.message_id == message_id)
        )


def test_queued_mail_is_delivered_with_parts_attachment_and_language(
    app, engine, queue, smtp_server  # noqa: F811
):
    queued = queue(
        to="kari@example.org", subject="Påmelding: Kurs i offentleg helsearbeid",
        text="Hei Kari,\nDu har fått plass.", html="<p>Hei Kari,</p><p>Du har fått plass.</p>",
        locale="nn", attachments=[Attachment("kursbevis.pdf", "application/pdf", PDF)],
    )
    now = utcnow()

    report = send_pending(engine, app.config, now=now)

    assert report == SendReport(sent=1, failed=0, deferred=0)
    [received] = smtp_server.received
    assert received.rcpt_tos == ["kari@example.org"]
    assert received.mail_from == "kurs@example.org"
    message = received.message
    assert message["To"] == "kari@example.org"
    assert message["From"] == "Statsforvaltaren <kurs@example.org>"
    assert message["Subject"] == "Påmelding: Kurs i offentleg helsearbeid"
    assert message["Message-ID"] == queued.message_id
    assert message["Content-Language"] == "nn"
    assert message["Date"] is not None
    assert message.get_body(("plain",)).get_content() == "Hei Kari,\nDu har fått plass.\n"
    assert "<p>Du har fått plass.</p>" in message.get_body(("html",)).get_content()
    [attachment] = list(message.iter_attachments())
    assert attachment.get_filename() == "kursbevis.pdf"
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_content() == PDF
    row = load(engine, queued.message_id)
    assert row.status is MailStatus.SENT
    assert row.sent_at == now
    assert (row.attempts, row.locked_until, row.claim_token) == (0, None, None)


def test_queue_mail_joins_the_callers_transaction(engine):
    with session_scope(engine) as session:
        queued = queue_mail(session, to="a@example.org", subject="S", text="T", locale="nb")
        assert queued.id is not None
        assert queued.status is MailStatus.PENDING
        assert queued.message_id.startswith("<")
        assert queued.message_id.endswith(">")
        session.rollback()
    with session_scope(engine) as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)) == 0


@pytest.mark.parametrize("field", ["to", "subject"])
def test_queue_mail_refuses_line_breaks_in_headers(engine, field):
    values = dict(to="a@example.org", subject="Hello", text="T", locale="en")
    values[field] = "a@example.org\r\nBcc: victim@example.org"
    with session_scope(engine) as session, pytest.raises(ValueError, match=field):
        queue_mail(session, **values)


def test_server_down_defers_and_the_retry_delivers_exactly_once(
    app, engine, queue, smtp_server  # noqa: F811
):
    queued, other = queue(), queue(to="other@example.org")
    smtp_server.stop()
    now = utcnow()

    report = send_pending(engine, app.config, now=now)

    assert report == SendReport(sent=0, failed=0, deferred=2)
    row = load(engine, queued.message_id)
    assert row.status is MailStatus.PENDING
    assert row.attempts == 1
    assert row.last_error
    assert row.next_attempt_at == now + backoff(1)
    assert row.next_attempt_at > now
    assert (row.locked_until, row.claim_token) == (None, None)
    # Not due yet: the backoff is respected even with the server back.
    smtp_server.start()
    assert send_pending(engine, app.config, now=now) == SendReport()
    assert smtp_server.received == []

    later = now + backoff(1) + timedelta(seconds=1)
    assert send_pending(engine, app.config, now=later) == SendReport(sent=2)
    assert send_pending(engine, app.config, now=later + timedelta(days=1)) == SendReport()

    assert smtp_server.message_ids() == {queued.message_id: 1, other.message_id: 1}
    row = load(engine, queued.message_id)
    assert (row.status, row.attempts, row.sent_at) == (MailStatus.SENT, 1, later)


def test_server_restarted_on_same_port_receives_again(app, engine, queue, smtp_server):  # noqa: F811
    queue(subject="one")
    assert send_pending(engine, app.config).sent == 1
    smtp_server.restart()
    queue(subject="two")
    assert send_pending(engine, app.config).sent == 1
    assert [m["Subject"] for m in smtp_server.messages] == ["one", "two"]


def test_message_fails_after_max_attempts_and_can_be_requeued(
    app, engine, queue, smtp_server, runner  # noqa: F811
):
    app.config["MAIL_MAX_ATTEMPTS"] = 3
    queued = queue()
    smtp_server.stop()
    now = utcnow()

    reports = []
    when = now
    for _ in range(3):
        reports.append(send_pending(engine, app.config, now=when))
        when = load(engine, queued.message_id).next_attempt_at

    assert reports == [SendReport(deferred=1), SendReport(deferred=1), SendReport(failed=1)]
    row = load(engine, queued.message_id)
    assert (row.status, row.attempts) == (MailStatus.FAILED, 3)
    assert row.last_error
    smtp_server.start()
    assert send_pending(engine, app.config, now=now + timedelta(days=30)) == SendReport()
    assert smtp_server.received == []

    result = runner.invoke(args=["mail", "retry"])
    assert "1 failed messages queued again" in result.output
    assert send_pending(engine, app.config, now=now + timedelta(days=30)) == SendReport(sent=1)
    assert smtp_server.message_ids() == {queued.message_id: 1}


def test_refused_recipient_is_deferred_without_holding_up_the_others(
    app, engine, queue, smtp_server  # noqa: F811
):
    smtp_server.refuse("gone@example.org")
    bad = queue(to="gone@example.org")
    good = [queue(to=f"p{i}@example.org") for i in range(3)]

    report = send_pending(engine, app.config)

    assert report == SendReport(sent=3, deferred=1)
    assert smtp_server.message_ids() == {m.message_id: 1 for m in good}
    row = load(engine, bad.message_id)
    assert row.status is MailStatus.PENDING
    assert "gone@example.org" in row.last_error


def test_message_leased_by_another_sender_waits_for_the_lease(
    app, engine, queue, smtp_server  # noqa: F811
):
    queued = queue()
    now = utcnow()
    with session_scope(engine) as session:
        row = session.scalar(sa.select(OutboxMessage))
        row.locked_until = now + timedelta(minutes=5)
        row.claim_token = "another-sender"

    assert send_pending(engine, app.config, now=now) == SendReport()
    assert smtp_server.received == []
    # The other sender died: once its lease is over the message is delivered.
    assert send_pending(engine, app.config, now=now + timedelta(minutes=6)) == SendReport(sent=1)
    assert smtp_server.message_ids() == {queued.message_id: 1}


def test_concurrent_senders_deliver_each_message_exactly_once(
    app, engine, queue, smtp_server  # noqa: F811
):
    queued = [queue(to=f"p{i}@example.org", subject=f"Melding {i}") for i in range(20)]
    start = threading.Barrier(2)
    reports: list[list[SendReport]] = [[], []]
    errors: list[BaseException] = []

    def sender(index: int) -> None:
        try:
            start.wait(timeout=10)
            while True:
                report = send_pending(engine, app.config, limit=3)
                if report == SendReport():
                    return
                reports[index].append(report)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=sender, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert sum(r.sent for rs in reports for r in rs) == 20
    assert sum(r.failed + r.deferred for rs in reports for r in rs) == 0
    assert smtp_server.message_ids() == {m.message_id: 1 for m in queued}
    with session_scope(engine) as session:
        statuses = session.scalars(sa.select(OutboxMessage.status)).all()
    assert statuses == [MailStatus.SENT] * 20


def test_cli_sends_pending_mail_and_shows_status(app, queue, runner, smtp_server):  # noqa: F811
    queued = queue()

    result = runner.invoke(args=["mail", "status"])
    assert "pending: 1" in result.output
    assert "due now: 1" in result.output

    result = runner.invoke(args=["mail", "send"])
    assert result.exit_code == 0, result.output
    assert "Mail: 1 sent, 0 failed, 0 deferred." in result.output
    assert smtp_server.message_ids() == {queued.message_id: 1}

    result = runner.invoke(args=["mail", "status"])
    assert "pending: 0" in result.output
    assert "sent: 1" in result.output
    assert "failed: 0" in result.output


def test_without_mail_server_development_logs_the_mail_and_marks_it_sent(
    app, engine, queue, smtp_server, caplog  # noqa: F811
):
    queued = queue(
        subject="Lenkje til påmeldinga", text="Opne https://example.org/manage/abc",
        attachments=[("kursbevis.pdf", "application/pdf", PDF)],
    )
    config = dict(app.config, MAIL_SERVER=None)

    with caplog.at_level(logging.INFO, logger="kursportal.mail"):
        report = send_pending(engine, config)

    assert report == SendReport(sent=1)
    assert smtp_server.received == []
    logged = caplog.text
    assert "Lenkje til påmeldinga" in logged
    assert "https://example.org/manage/abc" in logged
    assert queued.message_id in logged
    assert "kursbevis.pdf" in logged
    assert load(engine, queued.message_id).status is MailStatus.SENT


def test_without_mail_server_in_production_nothing_is_discarded(app, engine, queue, runner):
    queued = queue()
    config = dict(app.config, MAIL_SERVER=None, TESTING=False, DEBUG=False)

    with pytest.raises(MailNotConfigured):
        send_pending(engine, config)

    row = load(engine, queued.message_id)
    assert (row.status, row.attempts, row.locked_until) == (MailStatus.PENDING, 0, None)
    app.config.update(MAIL_SERVER=None, TESTING=False)
    result = runner.invoke(args=["mail", "send"])
    assert result.exit_code != 0
    assert "MAIL_SERVER is not set" in result.output


def test_development_sends_the_outbox_after_each_request(app, client, queue, smtp_server):  # noqa: F811
    app.config["DEBUG"] = True
    queued = queue()

    response = client.get("/healthz")
    response.close()

    assert response.status_code == 200
    assert smtp_server.message_ids() == {queued.message_id: 1}


def test_no_sending_after_request_when_switched_off_or_not_debugging(
    app, client, queue, smtp_server  # noqa: F811
):
    queue()
    client.get("/healthz").close()
    app.config.update(DEBUG=True, MAIL_SEND_AFTER_REQUEST=False)
    client.get("/healthz").close()
    assert smtp_server.received == []


def test_a_failing_sender_after_request_never_breaks_the_response(
    app, client, queue, monkeypatch, caplog
):
    app.config["DEBUG"] = True
    queue()

    def broken(*args, **kwargs):
        raise RuntimeError("outbox exploded")

    monkeypatch.setattr(mail, "send_pending", broken)
    with caplog.at_level(logging.ERROR, logger="kursportal.mail"):
        response = client.get("/healthz")
        response.close()

    assert response.status_code == 200
    assert "Sending the outbox after the request failed" in caplog.text
    assert "outbox exploded" in caplog.text
