"""A forged Host header (or X-Forwarded-Host behind a trusted proxy) never reaches a link.

Every link that leaves a request (mail, certificate PDF and its QR code, calendar file) is built
from ``PUBLIC_BASE_URL``. Two layers are tested:

* with ``TRUSTED_HOSTS`` unset (testing), every route that sends or renders a link is driven by
  clients whose requests all name ``attacker.example``; the mail is read as the SMTP server
  received it after ``flask mail send``, and "attacker.example" appears nowhere while every link
  starts with ``https://kurs.example.no``;
* in production, where ``TRUSTED_HOSTS`` comes from ``PUBLIC_BASE_URL``, every route answers
  such a request 400 before anything runs, and nothing is queued or written.
"""

from __future__ import annotations

import html
import re
from datetime import timedelta
from email.message import EmailMessage

import pytest
import sqlalchemy as sa
from flask import request as flask_request
from flask.testing import FlaskClient
from icalendar import Calendar

from app import create_app
from core.auth import StaffUser
from core.db import session_scope
from core.jobs import DeferredJob, run_due_jobs
from core.mail import OutboxMessage
from enrollment.models import (
    Enrollment,
    EnrollmentStatus,
    ManageLink,
    Participant,
    Role,
)
from enrollment.services import links
from refunds.models import Claim
from tests.conftest import STAFF_PASSWORD, staff_login
from tests.refunds_factories import attend, load_rates
from tests.smtp import smtp_server  # noqa: F401
from tests.test_certificates import qr_codes_on_first_page
from tests.test_pdf import pdftotext, pypdf_text

# A forged Host is refused before any hook runs, and the links checked are built from
# configuration: one database is enough (SQLite), which keeps make test under its 6 minutes.
pytestmark = pytest.mark.one_database

BASE = "https://kurs.example.no"
EVIL = "attacker.example"
URL = re.compile(r"""(?:https?|webcal)://[^\s"'<>)\]]+""")
# Links in our own markup that are not ours to build: the SVG namespace of the dashboard.
FOREIGN = ("http://www.w3.org/",)
FORGED = {
    "host": {"HTTP_HOST": EVIL},
    "x-forwarded-host": {"HTTP_HOST": "kurs.example.no", "HTTP_X_FORWARDED_HOST": EVIL},
}


def engine_of(app):
    return app.extensions["kp_engine"]


class Checked:
    """What the test looked at: the routes driven and every text that came out of them."""

    def __init__(self) -> None:
        self.routes: list[str] = []
        self.links: list[str] = []

    def text(self, where: str, text: str) -> None:
        """No trace of the forged host in ``text``; every link in it is ours."""
        assert EVIL not in text, f"{where}: {text[:2000]}"
        for link in URL.findall(html.unescape(text)):
            if link.startswith(FOREIGN):
                continue
            assert link.startswith(BASE + "/"), f"{where}: {link}"
            self.links.append(link)

    def response(self, route: str, response, *, status: tuple[int, ...] = (200, 302)) -> str:
        """Record ``route`` as checked; check the answer's body and redirect."""
        assert response.status_code in status, (route, response.status_code,
                                                response.get_data(as_text=True)[:2000])
        self.routes.append(route)
        assert EVIL not in response.headers.get("Location", ""), route
        if response.mimetype in ("text/html", "text/plain", "text/calendar"):
            body = response.get_data(as_text=True)
            self.text(route, body)
            return body
        return ""

    def pdf(self, route: str, data: bytes, tmp_path) -> None:
        """The PDF's text (two extractors) and its QR code."""
        for text in (pypdf_text(data), pdftotext(data)):
            self.text(f"{route} (PDF)", " ".join(text.split()))
        for payload in qr_codes_on_first_page(data, tmp_path):
            self.text(f"{route} (QR)", payload)
            assert payload.startswith(f"{BASE}/verify/")
        assert EVIL.encode() not in data

    def mail(self, message: EmailMessage) -> None:
        """Every part of a mail as received: text, HTML and attachments (the .ics)."""
        where = f"mail «{message['Subject']}»"
        self.text(where, str(message["Subject"]))
        for part in message.walk():
            if part.is_multipart():
                continue
            content = part.get_content()
            if isinstance(content, bytes):
                content = content.decode()
            self.text(f"{where} {part.get_content_type()}", content)
            if part.get_content_type() == "text/calendar":
                events = Calendar.from_ical(content).walk("VEVENT")
                assert events
                for event in events:
                    assert str(event["uid"]).endswith("@kurs.example.no")
                    assert str(event["url"]).startswith(f"{BASE}/courses/")


@pytest.fixture(params=sorted(FORGED))
def forged(request, app_config, smtp_server):  # noqa: F811
    """The header the attacker forges; the app configured with PUBLIC_BASE_URL, mail to the
    test SMTP server and (for X-Forwarded-Host) one trusted proxy."""
    app_config.update(PUBLIC_BASE_URL=BASE, MAIL_SERVER=smtp_server.host,
                      MAIL_PORT=smtp_server.port, MAIL_FROM="Statsforvaltaren <kurs@example.org>",
                      MAIL_TIMEOUT=5)
    if request.param == "x-forwarded-host":
        app_config.update(PROXY_FIX_X_FOR=1, PROXY_FIX_X_PROTO=1, PROXY_FIX_X_HOST=1)
    app = request.getfixturevalue("app")  # built now, from the configuration above
    app.add_url_rule("/_test/host", "test_host", lambda: flask_request.host)
    return FORGED[request.param]


class HostClient(FlaskClient):
    """A test client whose every request carries ``environ`` (``Host`` and the forwarded
    headers): Werkzeug's builder sets HTTP_HOST after ``environ_base``, not after overrides."""

    environ: dict = {}

    def open(self, *args, **kwargs):  # noqa: D102
        kwargs["environ_overrides"] = {**self.environ, **kwargs.get("environ_overrides", {})}
        return super().open(*args, **kwargs)


def host_client(app, environ: dict) -> HostClient:
    """A test client (English pages) whose every request names the host in ``environ``."""
    client = HostClient(app, app.response_class, use_cookies=True)
    client.environ = {**environ, "HTTP_ACCEPT_LANGUAGE": "en"}
    return client


def forged_client(app, environ: dict) -> HostClient:
    """A test client whose every request names the attacker's host."""
    client = host_client(app, environ)
    assert EVIL in client.get("/_test/host").get_data(as_text=True)
    return client


def log_in(app, client, email: str) -> None:
    staff_login(app, client, email)


def deliver(runner, smtp_server, seen: list) -> list[EmailMessage]:  # noqa: F811
    """Run the outbox sender as the timer does; the messages received since last time."""
    result = runner.invoke(args=["mail", "send"])
    assert result.exit_code == 0, result.output
    new = smtp_server.messages[len(seen):]
    seen.extend(new)
    return new


def manage_token(messages: list[EmailMessage], to: str) -> str:
    """The manage token in the last mail to ``to``."""
    for message in reversed(messages):
        if to in str(message["To"]):
            body = message.get_body(("plain",)).get_content()
            return re.search(rf"{re.escape(BASE)}/manage/([A-Za-z0-9_-]+)", body).group(1)
    raise AssertionError(f"no mail to {to}")


def enroll_form(offering, n: int, **values) -> dict[str, str]:
    data = dict(full_name=f"Person {n}", email=f"person{n}@example.org", phone="412 34 567",
                role="lis1", hpr_number=str(2_000_000 + n), employer="Bergen kommune",
                start_month=f"{offering.cohort:%Y-%m}", needs="", locale="en", consent="y")
    data.update(values)
    return data


def enrollment_id_of(app, email: str) -> int:
    with session_scope(engine_of(app)) as session:
        return session.scalar(sa.select(Enrollment.id).join(Enrollment.participant)
                              .where(Participant.email == email)
                              .order_by(Enrollment.id.desc()).limit(1))


def enroll_with_token(app, offering_id: int, email: str) -> tuple[int, str]:
    """A confirmed enrollment written directly, present at every session begun so far."""
    token, digest = links.new_token()
    with session_scope(engine_of(app)) as session:
        enrollment = Enrollment(
            offering_id=offering_id, status=EnrollmentStatus.CONFIRMED,
            manage_links=[ManageLink(token_hash=digest)],
            participant=Participant(full_name="Lege Legesen", email=email, role=Role.LIS1,
                                    locale="en"),
        )
        session.add(enrollment)
        session.flush()
        enrollment_id = enrollment.id
    attend(app, enrollment_id)
    return enrollment_id, token


def claim_form(day: str, **buttons) -> dict[str, str]:
    return {"bank_account": "86011117947", "comment": "", "legs-0-travel_date": day,
            "legs-0-from_place": "Florø", "legs-0-to_place": "Bergen",
            "legs-0-means": "own_car", "legs-0-km": "312", "legs-0-passengers": "0", **buttons}


def claim_line_ids(app, claim_id: int) -> dict[str, str]:
    with session_scope(engine_of(app)) as session:
        claim = session.get(Claim, claim_id)
        return {f"lines-{i}-line_id": str(line.id) for i, line in enumerate(claim.lines)}


def test_no_link_in_any_mail_pdf_calendar_or_page_follows_a_forged_host(
        forged, app, runner, smtp_server, make_offering, make_staff, now, tmp_path):  # noqa: F811
    checked, seen = Checked(), []
    make_staff("kari@sfvl.no", county="vestland")
    make_staff("admin@sf.no", admin=True, name="Ada Admin")
    person = forged_client(app, forged)
    kari = forged_client(app, forged)
    log_in(app, kari, "kari@sfvl.no")
    admin = forged_client(app, forged)
    log_in(app, admin, "admin@sf.no")

    # --- staff accounts: forgot password, an administrator creates an account ---------------
    checked.response("POST /staff/password/forgot",
                     person.post("/staff/password/forgot", data={"email": "kari@sfvl.no"}))
    checked.response("POST /staff/accounts/new", admin.post("/staff/accounts/new", data={
        "name": "Per Hansen", "email": "per@sfvl.no", "county": "vestland", "locale": "nb"}))
    mails = deliver(runner, smtp_server, seen)
    assert sorted(str(m["To"]) for m in mails) == ["kari@sfvl.no", "per@sfvl.no"]
    assert all(f"{BASE}/staff/password/reset/" in m.get_body(("plain",)).get_content()
               for m in mails)

    # --- the public journey: course page, .ics, enroll, waiting list, cancel, lost link ------
    offering = make_offering(capacity=1)
    checked.response("GET /courses/<id>", person.get(f"/courses/{offering.id}"))
    ics = person.get(f"/courses/{offering.id}.ics")
    checked.response("GET /courses/<id>.ics", ics)
    for event in Calendar.from_ical(ics.data).walk("VEVENT"):
        assert str(event["uid"]).endswith("@kurs.example.no")
        assert str(event["url"]) == f"{BASE}/courses/{offering.id}"
    enrolled = person.post(f"/courses/{offering.id}/enroll", data=enroll_form(offering, 1))
    checked.response("POST /courses/<id>/enroll", enrolled)
    checked.response("GET /courses/<id>/enrolled", person.get(enrolled.location))
    waiting = forged_client(app, forged)
    assert waiting.post(f"/courses/{offering.id}/enroll",
                        data=enroll_form(offering, 2)).status_code == 302
    mails = deliver(runner, smtp_server, seen)
    assert len(mails) == 2
    assert all(part.get_content_type() != "text/calendar" or part.get_filename()
               for m in mails for part in m.walk())
    token = manage_token(mails, "person1@example.org")
    checked.response("GET /manage/<token>", person.get(f"/manage/{token}"))
    checked.response("POST /manage/<token>/cancel", person.post(f"/manage/{token}/cancel"))
    checked.response("POST /manage/lost-link",
                     person.post("/manage/lost-link", data={"email": "person2@example.org"}))
    mails = deliver(runner, smtp_server, seen)
    # Cancelled, the next in line promoted, and the lost links.
    assert len(mails) == 3

    # --- staff decisions: approve, reject, cancel, move, add by hand, cancel a course ----------
    approval = make_offering(capacity=5, requires_approval=True)
    for n in (3, 4):
        assert person.post(f"/courses/{approval.id}/enroll",
                           data=enroll_form(approval, n)).status_code == 302
    first, second = (enrollment_id_of(app, f"person{n}@example.org") for n in (3, 4))
    checked.response("POST /staff/enrollments/<id>/approve",
                     kari.post(f"/staff/enrollments/{first}/approve"))
    checked.response("POST /staff/enrollments/<id>/reject",
                     kari.post(f"/staff/enrollments/{second}/reject",
                               data={"reason": "Not in Vestland."}))
    source = make_offering(capacity=5)
    target = make_offering(capacity=5, title_en="Autumn course")
    for n in (5, 6):
        assert person.post(f"/courses/{source.id}/enroll",
                           data=enroll_form(source, n)).status_code == 302
    mover, leaver = (enrollment_id_of(app, f"person{n}@example.org") for n in (5, 6))
    checked.response("POST /staff/enrollments/<id>/move",
                     kari.post(f"/staff/enrollments/{mover}/move",
                               data={"target": str(target.id)}))
    checked.response("POST /staff/enrollments/<id>/cancel",
                     kari.post(f"/staff/enrollments/{leaver}/cancel",
                               data={"reason": "Sick leave."}))
    checked.response("POST /staff/courses/<id>/participants/new",
                     kari.post(f"/staff/courses/{target.id}/participants/new", data=dict(
                         full_name="Per Hand", email="per@example.no", phone="412 34 567",
                         role="lis1", hpr_number="7654321", employer="Voss kommune",
                         start_month="", needs="", locale="nb")))
    checked.response("POST /staff/courses/<id>/cancel",
                     kari.post(f"/staff/courses/{target.id}/cancel",
                               data={"reason": "Too few participants."}))
    mails = deliver(runner, smtp_server, seen)
    subjects = [str(m["Subject"]) for m in mails]
    assert any("moved" in s for s in subjects), subjects
    assert any("not approved" in s for s in subjects), subjects

    # --- a course that has run: travel claim and its decisions, certificates, verification ----
    load_rates(app)
    past = make_offering(first_day=(now - timedelta(days=3)).replace(
        hour=0, minute=0, second=0, microsecond=0), signer_name="Kari Nordmann",
        signer_title="Assisterande fylkeslege")
    day = (now - timedelta(days=3)).date().isoformat()
    claimant, claim_token = enroll_with_token(app, past.id, "lege@example.no")
    _other, other_token = enroll_with_token(app, past.id, "lege2@example.no")
    claims = {}
    for key, tok in (("paid", claim_token), ("rejected", other_token)):
        created = person.post(f"/manage/{tok}/claims/new")
        assert created.status_code == 302, created.get_data(as_text=True)
        claims[key] = int(created.location.rstrip("/").rsplit("/", 1)[1])
        checked.response(f"POST /manage/<token>/claims/<id> ({key})",
                         person.post(f"/manage/{tok}/claims/{claims[key]}",
                                     data=claim_form(day, send="y")))
    claim_id = claims["paid"]
    checked.response("POST /staff/refunds/claims/<id>/return",
                     kari.post(f"/staff/refunds/claims/{claim_id}/return",
                               data={"return-reason": "Legg ved billetten."}))
    assert person.post(f"/manage/{claim_token}/claims/{claim_id}",
                       data=claim_form(day, send="y")).status_code == 302
    checked.response("POST /staff/refunds/claims/<id>/approve",
                     kari.post(f"/staff/refunds/claims/{claim_id}/approve", data={
                         **claim_line_ids(app, claim_id), "own_car_approved": "yes"}))
    checked.response("POST /staff/refunds/claims/<id>/paid",
                     kari.post(f"/staff/refunds/claims/{claim_id}/paid",
                               data={"paid-payment_date": now.date().isoformat()}))
    checked.response("POST /staff/refunds/claims/<id>/reject",
                     kari.post(f"/staff/refunds/claims/{claims['rejected']}/reject",
                               data={"reject-reason": "Not a course day."}))
    mails = deliver(runner, smtp_server, seen)
    assert len([m for m in mails if "Travel claim" in str(m["Subject"])]) == 7

    # The certificate is issued by a POST (the manage page's button; GET never writes).
    got = person.post(f"/manage/{claim_token}/certificate", data={"lang": "nn"})
    checked.response("POST /manage/<token>/certificate", got, status=(303,))
    certificate = person.get(got.location)
    checked.response("GET /manage/<token>/certificate.pdf", certificate)
    checked.pdf("GET /manage/<token>/certificate.pdf", certificate.data, tmp_path)
    issued = kari.post(f"/staff/courses/{past.id}/certificates")
    checked.response("POST /staff/courses/<id>/certificates", issued, status=(303,))
    printed = kari.get(issued.location)
    checked.response("GET /staff/courses/<id>/certificates.pdf", printed)
    checked.pdf("GET /staff/courses/<id>/certificates.pdf", printed.data, tmp_path)
    code = re.search(r"/verify/([A-Z0-9]+)", " ".join(pdftotext(certificate.data).split()))
    checked.response("GET /verify/<code>", person.get(f"/verify/{code.group(1)}"))
    checked.response("GET /verify", person.get("/verify"))

    # Everything the outbox holds, as stored, says the same.
    with session_scope(engine_of(app)) as session:
        for row in session.scalars(sa.select(OutboxMessage)):
            checked.text(f"outbox {row.subject}", f"{row.body_text}\n{row.body_html or ''}")
    for message in seen:
        checked.mail(message)

    assert len(seen) >= 20
    assert any(link.startswith(f"{BASE}/manage/") for link in checked.links)
    assert any(link.startswith(f"{BASE}/staff/password/reset/") for link in checked.links)
    assert any(link.startswith(f"{BASE}/verify/") for link in checked.links)
    # The routes that send or render a link, each driven with the forged host.
    assert len(set(checked.routes)) == 27, sorted(set(checked.routes))


# --- production: TRUSTED_HOSTS turns the forged host away --------------------------------------


@pytest.fixture
def production(database_url, tmp_path, make_offering):
    """The app as production runs it (no TESTING): TRUSTED_HOSTS from PUBLIC_BASE_URL, one
    trusted proxy, on the test database (counties, kinds and one offering already there)."""
    offering = make_offering()
    application = create_app({
        "DATABASE_URL": database_url, "SECRET_KEY": "production-like-" + "k" * 32,
        "PUBLIC_BASE_URL": BASE, "INSTANCE_PATH": str(tmp_path / "instance"),
        "PROXY_FIX_X_FOR": 1, "PROXY_FIX_X_PROTO": 1, "PROXY_FIX_X_HOST": 1,
        "WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": False,
        "PASSWORD_HASH_METHOD": "scrypt:1024:8:1", "LOG_LEVEL": "WARNING",
    })
    application.offering_id = offering.id
    yield application
    engine_of(application).dispose()


def counts(app) -> tuple[int, int, int, int]:
    with session_scope(engine_of(app)) as session:
        return tuple(session.scalar(sa.select(sa.func.count()).select_from(model))
                     for model in (OutboxMessage, Enrollment, StaffUser, DeferredJob))


def every_route(app, offering_id: int) -> list[tuple[str, str]]:
    """(method, path) for every rule of the app, with plausible values for its arguments."""
    values = {"offering_id": offering_id, "token": "x" * 43, "code": "AAAAAAAAAA",
              "filename": "style.css"}
    routes = []
    with app.test_request_context(base_url=BASE):
        adapter = app.url_map.bind("kurs.example.no")
        for rule in app.url_map.iter_rules():
            args = {name: values.get(name, 1) for name in rule.arguments}
            path = adapter.build(rule.endpoint, args)
            routes += [(method, path) for method in sorted(rule.methods - {"HEAD", "OPTIONS"})]
    return routes


@pytest.mark.parametrize("environ", [FORGED["host"], FORGED["x-forwarded-host"],
                                     {"HTTP_HOST": f"{EVIL}:443"},
                                     {"HTTP_HOST": "kurs.example.no.attacker.example"}])
def test_in_production_every_route_answers_a_forged_host_400_and_writes_nothing(
        production, make_staff, environ):
    make_staff("kari@sfvl.no", county="vestland")
    client = host_client(production, environ)
    before = counts(production)
    routes = every_route(production, production.offering_id)
    offering = production.offering_id
    forms = {
        "/staff/password/forgot": {"email": "kari@sfvl.no"},
        "/manage/lost-link": {"email": "kari@sfvl.no"},
        f"/courses/{offering}/enroll": {
            "full_name": "Per", "email": "per@example.org", "phone": "412 34 567",
            "role": "lis1", "hpr_number": "1234567", "employer": "Bergen kommune",
            "locale": "en", "consent": "y"},
        "/staff/login": {"email": "kari@sfvl.no", "password": STAFF_PASSWORD},
    }

    for method, path in routes:
        response = client.open(path, method=method, data=forms.get(path))
        assert response.status_code == 400, (method, path, response.status_code)
        assert EVIL not in response.get_data(as_text=True)
        assert "Set-Cookie" not in response.headers, (method, path)

    assert counts(production) == before
    assert len(routes) >= 100


def test_in_production_the_configured_host_is_served_and_its_links_are_ours(
        production, make_staff):
    make_staff("kari@sfvl.no", county="vestland")
    client = host_client(production, {"HTTP_HOST": "kurs.example.no",
                                      "HTTP_X_FORWARDED_PROTO": "https"})
    before = counts(production)

    assert client.get("/healthz").status_code == 200
    response = client.post("/staff/password/forgot", data={"email": "kari@sfvl.no"})

    assert response.status_code == 302
    assert counts(production)[3] > before[3]  # the reset is left to the outbox sender
    run_due_jobs(production, engine_of(production))
    assert counts(production)[0] > before[0]
    with session_scope(engine_of(production)) as session:
        rows = list(session.scalars(sa.select(OutboxMessage)))
    text = " ".join(f"{row.body_text} {row.body_html or ''}" for row in rows)
    assert EVIL not in text
    assert all(link.startswith(BASE + "/") for link in URL.findall(text)), text
