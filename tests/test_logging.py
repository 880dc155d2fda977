"""Structured logging: request ids, JSON lines, no personal data or manage tokens in any log,
and tracebacks in the server log but never on the error page.

Runs on SQLite and PostgreSQL like every test that takes ``app``.
"""

from __future__ import annotations

import json
import logging
import re

import pytest
import sqlalchemy as sa

from app import create_app
from core.db import session_scope, utcnow
from core.logging import REQUEST_LOGGER, redact
from enrollment.models import Role
from enrollment.services import enrollments, links, seats

# The page's behaviour; the data rules under it are tested on both databases (conftest).
pytestmark = pytest.mark.one_database

EN = {"Accept-Language": "en"}
EMAIL = "kari.secret@example.org"
NAME = "Kari Hemmelegsdotter"


def enroll_directly(app, offering, email: str = EMAIL, name: str = NAME) -> str:
    """Enroll a supervisor through the service layer; returns the manage token."""
    person = enrollments.PersonDetails(full_name=name, email=email, phone="412 34 567",
                                    role=Role.SUPERVISOR, hpr_number=None,
                                    employer="Bergen kommune", locale="en")
    with app.app_context(), session_scope(app.extensions["kp_engine"]) as session:
        return enrollments.enroll(session, offering.id, person, utcnow()).token


def request_records(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == REQUEST_LOGGER]


def json_lines(text: str) -> list[dict]:
    """Every line of ``text`` parsed as JSON (a line that is not JSON fails the test)."""
    return [json.loads(line) for line in text.splitlines() if line.strip()]


# --- request ids --------------------------------------------------------------------------------


def test_every_response_carries_a_fresh_request_id_that_is_in_its_log_line(client, caplog):
    caplog.set_level(logging.INFO)

    first = client.get("/healthz")
    second = client.get("/no-such-page")

    ids = [first.headers["X-Request-ID"], second.headers["X-Request-ID"]]
    assert all(re.fullmatch(r"[0-9a-f]{32}", i) for i in ids)
    assert ids[0] != ids[1]
    records = request_records(caplog)
    assert [r.request_id for r in records] == ids
    assert [(r.fields["method"], r.fields["path"], r.fields["status"]) for r in records] == [
        ("GET", "/healthz", 200), ("GET", "/no-such-page", 404)]


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("3f2b8c1e-9a4d-4e2b-8f7a-1c2d3e4f5a6b", True),
        ("Root=1-67891233-abcdef012345678912345678", True),
        ("short", False),
        ("x" * 129, False),
        ("two words here", False),
        ("<script>alert(1)</script>", False),
        ("id\twith\ttabs", False),
        ("næringsliv-12345", False),
    ],
)
def test_a_well_formed_x_request_id_is_kept_and_anything_else_replaced(client, given, kept):
    response = client.get("/healthz", headers={"X-Request-ID": given})

    echoed = response.headers["X-Request-ID"]
    if kept:
        assert echoed == given
    else:
        assert echoed != given
        assert re.fullmatch(r"[0-9a-f]{32}", echoed)


@pytest.fixture
def json_logs(app_config):
    """Build the app with JSON log lines."""
    app_config["LOG_FORMAT"] = "json"


def test_json_lines_parse_and_carry_the_request_id(json_logs, client, capsys):
    capsys.readouterr()
    response = client.get("/courses/999999", headers={"X-Request-ID": "trace-0123456789"})

    lines = json_lines(capsys.readouterr().err)
    request_lines = [line for line in lines if line["logger"] == REQUEST_LOGGER]
    assert len(request_lines) == 1
    line = request_lines[0]
    assert response.headers["X-Request-ID"] == "trace-0123456789"
    assert line["request_id"] == "trace-0123456789"
    assert line["level"] == "INFO"
    assert (line["method"], line["path"], line["status"], line["endpoint"]) == (
        "GET", "/courses/999999", 404, "enrollment.show_course")
    assert isinstance(line["duration_ms"], float)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", line["ts"])


def test_text_lines_cannot_be_split_by_a_crafted_path(client, capsys):
    capsys.readouterr()
    client.get("/x%0AINFO%20forged%20line%E2%80%AE")

    err = capsys.readouterr().err
    request_lines = [line for line in err.splitlines() if REQUEST_LOGGER in line]
    assert len(request_lines) == 1
    assert "path=/x\\nINFO forged line\\u202e" in request_lines[0]
    assert not any(line.startswith("INFO forged") for line in err.splitlines())


# --- no personal data, no tokens ----------------------------------------------------------------


def test_redact_replaces_tokens_and_addresses_but_keeps_the_lost_link_page():
    token = "AbC_def-0123456789abcdefghijklmnopqrstuvwxy"
    assert redact(f"GET /manage/{token} 200") == "GET /manage/[redacted] 200"
    assert redact(f"/manage/{token}/contact?x=1") == "/manage/[redacted]/contact?x=1"
    assert redact(f"next=%2Fmanage%2F{token}%2Fcancel") == "next=%2Fmanage%2F[redacted]%2Fcancel"
    assert redact(f"/staff/password/reset/{token}") == "/staff/password/reset/[redacted]"
    assert redact("/manage/lost-link") == "/manage/lost-link"
    assert redact("/manage/lost-linkX") == "/manage/[redacted]"
    assert redact(f"to {EMAIL}, cc Ola.Nordmann+kurs@sub.example.no") == "to [email], cc [email]"
    assert redact("Delivery of <0a1b2c@kursportal.local> failed") == (
        "Delivery of <0a1b2c@kursportal.local> failed")
    assert redact(redact(f"/manage/{token}")) == "/manage/[redacted]"
    assert redact(f"bare {token[:43]} token") == "bare [redacted] token"
    assert redact("a" * 42) == "a" * 42


TOKEN = "AbC_def-0123456789abcdefghijklmnopqrstuvwxy"


def log_a_mail_link(caplog, capsys) -> str:
    """Log a mail line with an address and a manage link, as the mail log does; what reached
    stderr (the server log)."""
    capsys.readouterr()
    with caplog.at_level(logging.INFO):
        logging.getLogger("kursportal.mail").info("To: %s, link /manage/%s", EMAIL, TOKEN)
    return capsys.readouterr().err


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_the_server_log_redacts_any_logger_while_other_handlers_keep_the_record(
    app_config, log_format, caplog, capsys
):
    app_config["LOG_FORMAT"] = log_format
    create_app(app_config).extensions["kp_engine"].dispose()

    written = log_a_mail_link(caplog, capsys)
    assert "To: [email], link /manage/[redacted]" in written
    assert TOKEN not in written
    assert EMAIL not in written
    # The development mail log shows the developer the link: only the server log redacts.
    assert f"/manage/{TOKEN}" in caplog.text


def test_an_app_made_after_a_debug_app_in_the_same_process_still_redacts(
    app_config, caplog, capsys
):
    # A debug app shows mail (with its links) on stderr for the developer; the next app in the
    # same process must not inherit that handler.
    create_app({**app_config, "DEBUG": True}).extensions["kp_engine"].dispose()
    create_app(app_config).extensions["kp_engine"].dispose()

    written = log_a_mail_link(caplog, capsys)
    assert "link /manage/[redacted]" in written
    assert TOKEN not in written


@pytest.fixture
def errors_handled(app_config):
    """Build the app so that unexpected errors become the 500 page, as in production."""
    app_config["PROPAGATE_EXCEPTIONS"] = False


def test_manage_token_email_and_name_never_reach_any_log(
    errors_handled, app, client, make_offering, caplog, capsys, monkeypatch
):
    caplog.set_level(logging.DEBUG)
    offering = make_offering(kind="supervisor_training_lis1")
    token = enroll_directly(app, offering)
    capsys.readouterr()

    client.get(f"/manage/{token}", headers=EN)
    client.post(f"/manage/{token}/contact", headers=EN,
                data={"full_name": NAME, "email": "not an address", "phone": "1",
                      "employer": "", "locale": "en"})
    client.post(f"/manage/{token}/contact", headers=EN,
                data={"full_name": NAME, "email": EMAIL, "phone": "412 34 567",
                      "employer": "Bergen kommune", "locale": "en"})
    client.post("/manage/lost-link", data={"email": EMAIL}, headers=EN)
    client.get(f"/staff/password/reset/{token}")

    def broken(session, given):
        raise RuntimeError(f"lookup failed for {given} of {EMAIL}")

    monkeypatch.setattr(links, "find_by_token", broken)
    failed = client.get(f"/manage/{token}", headers=EN)
    assert failed.status_code == 500

    logged = caplog.text + capsys.readouterr().err
    assert "/manage/[redacted]" in logged
    assert "Traceback" in logged
    for secret in (token, EMAIL, NAME, "412 34 567"):
        assert secret not in logged
    for record in caplog.records:
        assert token not in record.getMessage()
        assert token not in str(getattr(record, "fields", ""))


def test_database_errors_do_not_carry_the_bound_values(app):
    with pytest.raises(sa.exc.DBAPIError) as caught, \
            session_scope(app.extensions["kp_engine"]) as session:
        session.execute(sa.text("SELECT no_such_column FROM counties WHERE slug = :slug"),
                        {"slug": EMAIL})
    assert EMAIL not in str(caught.value)
    assert "parameters hidden" in str(caught.value)


# --- errors: traceback in the log, never on the page -------------------------------------------


@pytest.fixture(params=["testing", "production"])
def error_mode(request, app_config):
    """Unexpected errors handled as under test (Flask's own handler) and as in production
    (``core.errors``' handler, registered only when not testing)."""
    app_config["PROPAGATE_EXCEPTIONS"] = False
    if request.param == "production":
        # Production refuses a short key and needs the address links are built from (the
        # test client's host, which TRUSTED_HOSTS then lets in); it refuses a test signing
        # key too, and this test signs nothing.
        app_config.update(TESTING=False, MAIL_SERVER="127.0.0.1",
                          SECRET_KEY="production-like-" + "k" * 32,
                          PUBLIC_BASE_URL="http://localhost", CERTIFICATE_SIGNING_KEY=None)
    return request.param


def test_forced_error_logs_a_traceback_while_the_page_shows_none(
    error_mode, app, client, make_offering, caplog, monkeypatch
):
    caplog.set_level(logging.INFO)
    offering = make_offering(kind="supervisor_training_lis1")
    token = enroll_directly(app, offering)

    def broken(*args, **kwargs):
        raise RuntimeError(f"forced failure while rendering {token}")

    monkeypatch.setattr(seats, "waitlist_position", broken)
    response = client.get(f"/manage/{token}", headers=EN)

    body = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "Something went wrong on our side" in body
    for leak in ("Traceback", "RuntimeError", "forced failure", "File &#34;", 'File "'):
        assert leak not in body
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR and r.exc_info]
    assert len(errors) == 1
    assert errors[0].request_id == response.headers["X-Request-ID"]
    assert "Traceback" in caplog.text
    assert "RuntimeError: forced failure while rendering [redacted]" in caplog.text
    assert token not in caplog.text
    line = request_records(caplog)[-1]
    assert (line.levelno, line.fields["status"], line.fields["path"]) == (
        logging.ERROR, 500, "/manage/[redacted]")
