"""Production serving: HTTP caching of public pages and static files, no-store on personal and
staff pages, the proxy headers, the redacted access log, and two gunicorn servers on one
PostgreSQL never overbooking an offering.

The page and header tests run on SQLite and PostgreSQL like every test that takes ``app``; the
two-server test needs PostgreSQL (SQLite is one machine's file) and starts real gunicorn
processes with the repository's ``gunicorn.conf.py``.
"""

from __future__ import annotations

import hashlib
import http.client
import http.cookies
import importlib.util
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from flask import request
from gunicorn.config import Config

from core.db import session_scope, utcnow
from enrollment.models import CourseOffering, Enrollment, EnrollmentStatus, Role
from enrollment.services import enrollments

ROOT = Path(__file__).resolve().parent.parent
EN = {"Accept-Language": "en"}
CSRF_FIELD = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


def enroll(app, offering_id: int, number: int) -> str:
    """Enroll a LIS1 doctor straight through the service layer; returns the manage token."""
    person = enrollments.PersonDetails(
        full_name=f"Person {number}", email=f"p{number}@example.org", phone="412 34 567",
        role=Role.LIS1, hpr_number=str(2000000 + number), employer="Bergen kommune",
        locale="en")
    with app.app_context(), session_scope(app.extensions["kp_engine"]) as session:
        return enrollments.enroll(session, offering_id, person, utcnow()).token


# --- public pages: cacheable for a minute, with validators --------------------------------------


@pytest.mark.parametrize("path", ["/", "/?county=vestland&role=lis1", "/courses/{id}",
                                  "/courses/{id}.ics"])
def test_public_pages_are_cacheable_for_a_minute_and_answer_304(client, make_offering, path):
    offering = make_offering()
    url = path.format(id=offering.id)

    first = client.get(url, headers=EN)

    assert first.status_code == 200
    assert first.cache_control.public
    assert first.cache_control.max_age == 60
    assert not first.cache_control.no_store
    assert {"Accept-Language", "Cookie"} <= set(first.vary)
    etag, weak = first.get_etag()
    assert etag
    assert weak
    assert first.last_modified is not None
    again = client.get(url, headers={**EN, "If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
    assert again.data == b""
    assert again.headers["ETag"] == first.headers["ETag"]
    since = client.get(url, headers={**EN, "If-Modified-Since": first.headers["Last-Modified"]})
    assert since.status_code == 304
    earlier = (first.last_modified - timedelta(hours=1)).strftime("%a, %d %b %Y %H:%M:%S GMT")
    assert client.get(url, headers={**EN, "If-Modified-Since": earlier}).status_code == 200



@pytest.mark.parametrize("path", ["/", "/courses/{id}", "/courses/{id}.ics"])
def test_a_page_served_again_from_memory_is_sent_as_it_was_first(client, make_offering, path):
    url = path.format(id=make_offering().id)
    first = client.get(url, headers=EN)
    again = client.get(url, headers=EN)
    assert again.status_code == first.status_code == 200
    assert again.data == first.data
    kept = ("Content-Type", "Content-Disposition", "Content-Language", "Cache-Control", "Vary",
            "ETag", "Last-Modified", "Content-Security-Policy", "X-Frame-Options")
    assert {n: again.headers.get(n) for n in kept} == {n: first.headers.get(n) for n in kept}


def test_an_enrollment_changes_the_pages_and_their_validators(app, client, make_offering):
    offering = make_offering(capacity=10)
    before = client.get(f"/courses/{offering.id}", headers=EN)
    assert "10 seats left" in before.get_data(as_text=True)

    enroll(app, offering.id, 1)

    after = client.get(f"/courses/{offering.id}",
                       headers={**EN, "If-None-Match": before.headers["ETag"],
                                "If-Modified-Since": before.headers["Last-Modified"]})
    assert after.status_code == 200
    assert "9 seats left" in after.get_data(as_text=True)
    assert after.headers["ETag"] != before.headers["ETag"]
    assert after.last_modified >= before.last_modified


def test_each_language_gets_its_own_page_and_etag(client, make_offering):
    offering = make_offering(title_nb="Kurs på bokmål", title_en="Course in English")
    english = client.get(f"/courses/{offering.id}", headers=EN)
    bokmal = client.get(f"/courses/{offering.id}", headers={"Accept-Language": "nb"})

    assert "Course in English" in english.get_data(as_text=True)
    assert "Kurs på bokmål" in bokmal.get_data(as_text=True)
    assert english.headers["ETag"] != bokmal.headers["ETag"]
    crossed = client.get(f"/courses/{offering.id}", headers={
        "Accept-Language": "nb", "If-None-Match": english.headers["ETag"]})
    assert crossed.status_code == 200


def test_a_page_showing_a_flashed_message_is_personal(client, make_offering):
    offering = make_offering()
    with client.session_transaction() as session:
        session["_flashes"] = [("error", "A message for this person only")]

    shown = client.get(f"/courses/{offering.id}", headers=EN)

    assert "A message for this person only" in shown.get_data(as_text=True)
    assert shown.headers["Cache-Control"] == "no-store"
    assert "ETag" not in shown.headers
    later = client.get(f"/courses/{offering.id}", headers=EN)
    assert "A message for this person only" not in later.get_data(as_text=True)
    assert later.cache_control.public


def test_within_the_recheck_window_a_cached_page_costs_no_query(app_config, request):
    app_config["PUBLIC_PAGE_RECHECK"] = 60
    client = request.getfixturevalue("client")
    count_queries = request.getfixturevalue("count_queries")
    offering = request.getfixturevalue("make_offering")()
    client.get(f"/courses/{offering.id}", headers=EN)

    with count_queries() as statements:
        again = client.get(f"/courses/{offering.id}", headers=EN)

    assert again.status_code == 200
    assert statements == []


def test_a_missing_course_is_not_cached(client):
    response = client.get("/courses/4242")
    assert response.status_code == 404
    assert not response.cache_control.public


# --- personal and staff pages ------------------------------------------------------------------


def test_manage_and_staff_pages_are_never_stored(app, client, make_offering, make_staff, login):
    offering = make_offering()
    token = enroll(app, offering.id, 1)
    make_staff()
    assert client.get("/staff/login").headers["Cache-Control"] == "no-store"
    login()

    for url in (f"/manage/{token}", f"/courses/{offering.id}/enroll", "/staff/courses",
                f"/staff/courses/{offering.id}/participants"):
        response = client.get(url, headers=EN)
        assert response.status_code == 200, url
        assert response.headers["Cache-Control"] == "no-store", url
        assert "ETag" not in response.headers, url


# --- static files ------------------------------------------------------------------------------


def test_the_stylesheet_has_a_fingerprinted_url_kept_for_a_year(client):
    digest = hashlib.sha256((ROOT / "static" / "style.css").read_bytes()).hexdigest()[:12]

    page = client.get("/", headers=EN).get_data(as_text=True)

    assert f'href="/static/style.css?v={digest}"' in page
    response = client.get(f"/static/style.css?v={digest}")
    assert response.status_code == 200
    assert response.cache_control.public
    assert response.cache_control.max_age == 365 * 24 * 3600
    assert response.cache_control.immutable
    for url in ("/static/style.css", "/static/style.css?v=000000000000"):
        stale = client.get(url)
        assert stale.cache_control.no_cache, url
        assert not stale.cache_control.max_age, url


# --- behind nginx ------------------------------------------------------------------------------


def _remote_addr_route(app):
    app.add_url_rule("/_test/remote", "test_remote",
                     lambda: f"{request.remote_addr} {request.scheme}")


def test_forwarded_headers_are_ignored_unless_configured(app, client):
    _remote_addr_route(app)
    headers = {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"}
    answer = client.get("/_test/remote", headers=headers, environ_base={"REMOTE_ADDR": "10.0.0.2"})
    assert answer.get_data(as_text=True) == "10.0.0.2 http"


def test_proxy_fix_trusts_the_configured_proxy(app_config, request):
    app_config.update(PROXY_FIX_X_FOR=1, PROXY_FIX_X_PROTO=1)
    app = request.getfixturevalue("app")
    _remote_addr_route(app)
    headers = {"X-Forwarded-For": "198.51.100.1, 203.0.113.9", "X-Forwarded-Proto": "https"}
    answer = app.test_client().get("/_test/remote", headers=headers,
                                   environ_base={"REMOTE_ADDR": "127.0.0.1"})
    # One proxy: only the address it appended is believed, not what the client claimed.
    assert answer.get_data(as_text=True) == "203.0.113.9 https"


# --- the access log ----------------------------------------------------------------------------


def load_gunicorn_conf():
    """``gunicorn.conf.py`` as a module."""
    spec = importlib.util.spec_from_file_location("gunicorn_conf", ROOT / "gunicorn.conf.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_access_log_never_shows_a_manage_or_reset_token(tmp_path):
    conf = load_gunicorn_conf()
    cfg = Config()
    cfg.set("accesslog", str(tmp_path / "access.log"))
    cfg.set("access_log_format", conf.access_log_format + ' "%({location}o)s"')
    logger = conf.RedactingLogger(cfg)
    token = "Zm9vYmFyYmF6cXV4cXV1eHF1dXhxdXV4cXV1eHF1dXg"
    lines = [
        (f"/manage/{token}/cancel", "", f"https://kurs.example/manage/{token}"),
        ("/lang/en", f"next=%2Fmanage%2F{token}", "-"),
        (f"/staff/password/reset/{token}.x-y", "", "-"),
        ("/manage/lost-link", "", "-"),
    ]
    for path, query, referer in lines:
        environ = {
            "REQUEST_METHOD": "POST", "RAW_URI": path + (f"?{query}" if query else ""),
            "PATH_INFO": path, "QUERY_STRING": query, "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": "127.0.0.1", "HTTP_REFERER": referer, "HTTP_USER_AGENT": "test",
        }
        response = SimpleNamespace(status="302 FOUND", sent=0,
                                   headers=[("Location", f"/manage/{token}")])
        logger.access(response, SimpleNamespace(headers=[("REFERER", referer)]), environ,
                      timedelta(milliseconds=12))
    for handler in logger.access_log.handlers:
        handler.close()

    log = (tmp_path / "access.log").read_text()
    assert token not in log
    assert '"POST /manage/[redacted]/cancel HTTP/1.1" 302' in log
    assert '"https://kurs.example/manage/[redacted]"' in log
    assert "next=%2Fmanage%2F[redacted]" in log
    assert "/staff/password/reset/[redacted]" in log
    assert '"POST /manage/lost-link HTTP/1.1"' in log
    assert log.count("12ms") == len(lines)


# --- two app servers, one database -------------------------------------------------------------


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Browser:
    """Just enough of a browser: a cookie jar and one connection per request."""

    def __init__(self):
        self.cookies: dict[str, str] = {}

    def request(self, port: int, method: str, path: str, data: dict | None = None) -> tuple:
        """Send a request to 127.0.0.1:``port``; returns (status, body)."""
        headers = {"Accept-Language": "en"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if data is not None:
            body = urllib.parse.urlencode(data)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            text = response.read().decode()
            for header in response.headers.get_all("Set-Cookie") or []:
                jar = http.cookies.SimpleCookie(header)
                self.cookies.update({name: morsel.value for name, morsel in jar.items()})
            return response.status, text
        finally:
            conn.close()


def start_gunicorn(database_url: str, port: int, *, access_log: Path | str | None = None,
                   **settings) -> subprocess.Popen:
    """The app under the repository's gunicorn settings on 127.0.0.1:``port``: two sync workers,
    production-like (TESTING off), rate limits off unless ``settings`` (each becomes a
    ``FLASK_`` variable) say otherwise. With ``access_log``, each request's worker pid, method,
    path and status are written there."""
    env = {
        **os.environ, "BIND": f"127.0.0.1:{port}", "WEB_CONCURRENCY": "2", "ACCESS_LOG": "",
        "FLASK_DATABASE_URL": database_url, "FLASK_SECRET_KEY": "two-workers-" + "k" * 32,
        "FLASK_PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        "FLASK_RATELIMIT_ENABLED": "false", "FLASK_LOG_LEVEL": "WARNING",
        **{f"FLASK_{name}": str(value) for name, value in settings.items()},
    }
    env.pop("FLASK_TESTING", None)
    command = [str(Path(sys.executable).parent / "gunicorn"), "-c", str(ROOT / "gunicorn.conf.py")]
    if access_log is not None:
        env["ACCESS_LOG"] = str(access_log)
        command += ["--access-logformat", "%(p)s %(m)s %(U)s %(s)s"]
    return subprocess.Popen(
        [*command, "app:create_app()"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        start_new_session=True,
    )


def wait_until_up(process: subprocess.Popen, port: int, seconds: float = 30) -> None:
    """Poll /healthz until it answers 200."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail("gunicorn exited: " + process.stderr.read().decode()[-2000:])
        try:
            if Browser().request(port, "GET", "/healthz")[0] == 200:
                return
        except OSError:
            # A refused connection costs next to nothing; polling often saves a test most of a
            # fifth of a second of waiting for each gunicorn it starts.
            time.sleep(0.05)
    pytest.fail(f"gunicorn on port {port} did not answer within {seconds} s")


def stop(process: subprocess.Popen) -> None:
    """Stop a gunicorn this test started (its master; the workers follow)."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    if process.stderr:
        process.stderr.close()


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_two_app_servers_on_one_database_never_overbook(app, database_url, make_offering):
    seats, people = 10, 60
    offering = make_offering(capacity=seats)
    path = f"/courses/{offering.id}/enroll"
    ports = [free_port(), free_port()]
    servers = [start_gunicorn(database_url, port) for port in ports]
    try:
        for server, port in zip(servers, ports, strict=True):
            wait_until_up(server, port)
        browsers = [Browser() for _ in range(people)]
        tokens = []
        for number, browser in enumerate(browsers):
            status, page = browser.request(ports[number % 2], "GET", path)
            assert status == 200
            tokens.append(CSRF_FIELD.search(page).group(1))
        statuses: list[int | None] = [None] * people
        barrier = threading.Barrier(people, timeout=30)

        def send(number: int) -> None:
            form = dict(full_name=f"Lege {number}", email=f"lege{number}@example.org",
                        phone="412 34 567", role="lis1", hpr_number=str(5000000 + number),
                        employer="Bergen kommune", start_month=f"{offering.cohort:%Y-%m}",
                        needs="", locale="en", consent="y", csrf_token=tokens[number])
            barrier.wait()
            # The form came from one server; the POST goes to the other: nothing is local.
            statuses[number] = browsers[number].request(ports[(number + 1) % 2], "POST", path,
                                                        form)[0]

        threads = [threading.Thread(target=send, args=(n,)) for n in range(people)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    finally:
        for server in servers:
            stop(server)

    assert statuses == [302] * people
    with app.extensions["kp_engine"].connect() as conn:
        rows = conn.execute(
            sa.select(Enrollment.status, Enrollment.arrived_at, Enrollment.id)
            .where(Enrollment.offering_id == offering.id)
            .order_by(Enrollment.arrived_at, Enrollment.id)
        ).all()
        taken = conn.scalar(sa.select(CourseOffering.seats_taken)
                            .where(CourseOffering.id == offering.id))
    assert [r.status for r in rows] == (
        [EnrollmentStatus.CONFIRMED] * seats + [EnrollmentStatus.WAITLISTED] * (people - seats))
    assert taken == seats
    assert all(r.arrived_at <= datetime.now(UTC) for r in rows)
