"""Fault tolerance: mail survives a dying SMTP server and two senders at once; a database outage
gives a friendly 503 and the app recovers by itself; a killed worker leaves no half-written rows.

The database outage tests do NOT stop PostgreSQL: the test cluster is shared with other tests
and people. A small TCP proxy in the test stands in for stopping the server: the app's
DATABASE_URL points at the proxy, "the database stops" when the proxy closes its listener and
cuts every open connection (new connections are refused, as from a stopped server), and "the
database is back" when it listens again on the same port. The app is never restarted.

Half-written rows are caught for real, without a hook in the application: the test takes a
table lock on ``outbox_messages`` so an enrollment request blocks on its last INSERT, after
the participant, the enrollment and the seat count were written in its open transaction. Then
the test cuts the connection or SIGKILLs the gunicorn worker, and checks that none of that
reached the database.

Everything but the SMTP restart test needs PostgreSQL (with CI=true a missing one fails).
"""

from __future__ import annotations

import asyncio
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from core.db import session_scope, utcnow
from core.mail import LONGEST_RETRY, MailStatus, OutboxMessage, SendReport, queue_mail, send_pending
from enrollment.models import CourseOffering, Enrollment, EnrollmentStatus, Participant
from tests.smtp import RecordingHandler, SMTPServer, smtp_server  # noqa: F401
from tests.test_serving import CSRF_FIELD, Browser, free_port
from tests.test_serving import stop as stop_gunicorn

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
# The 503 page's title in each language (from the committed catalogs).
UNAVAILABLE = {
    "nn": "Tenesta er mellombels utilgjengeleg",
    "nb": "Tjenesten er midlertidig utilgjengelig",
    "en": "The service is temporarily unavailable",
}
STACK_TEXT = ("Traceback", 'File "', "OperationalError", "psycopg", "sqlalchemy", "SELECT ")


def queue_many(engine, count: int) -> list[str]:
    """Queue ``count`` mails in one transaction; returns their Message-IDs."""
    with session_scope(engine) as session:
        return [
            queue_mail(session, to=f"p{i}@example.org", subject=f"Melding {i}",
                       text="Hei.", locale="nn").message_id
            for i in range(count)
        ]


def outbox_statuses(engine) -> dict[MailStatus, int]:
    """How many outbox rows are in each status, and that none is still claimed."""
    with engine.connect() as conn:
        claimed = conn.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)
                              .where(OutboxMessage.claim_token.is_not(None)))
        assert claimed == 0
        return dict(conn.execute(sa.select(OutboxMessage.status, sa.func.count())
                                 .group_by(OutboxMessage.status)).all())


# --- the SMTP server dies mid-run ---------------------------------------------------------------


class DyingHandler(RecordingHandler):
    """Records mail like the test server, but after ``after`` deliveries, at the next message's
    RCPT, hangs and tells the test to stop the server: the message in flight dies with it, never
    half-delivered (a server that dies after accepting DATA but before its reply reaches the
    sender is SMTP's own at-least-once case, which the Message-ID fixed at queue time covers)."""

    def __init__(self, after: int) -> None:
        super().__init__()
        self.after = after
        self.dying = threading.Event()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        """Hang (until the server is stopped) once ``after`` messages were delivered."""
        if len(self.received) >= self.after and not self.dying.is_set():
            self.dying.set()
            await asyncio.sleep(3600)
        return await super().handle_RCPT(server, session, envelope, address, rcpt_options)


@pytest.fixture
def dying_smtp(app):
    """An SMTP server that stops itself after 60 deliveries; the app points at it."""
    server = SMTPServer()
    server.handler = DyingHandler(after=60)
    server.start()
    app.config.update(MAIL_SERVER=server.host, MAIL_PORT=server.port, MAIL_TIMEOUT=10)
    yield server
    server.stop()


def test_smtp_server_killed_and_restarted_mid_run_delivers_every_message_once(
    app, dying_smtp
):
    engine = app.extensions["kp_engine"]
    total = 200
    queued = queue_many(engine, total)
    killer = threading.Thread(target=lambda: (dying_smtp.handler.dying.wait(30),
                                              dying_smtp.stop()))
    killer.start()

    now = utcnow()
    first = send_pending(engine, app.config, limit=total, now=now)
    killer.join(30)

    assert not dying_smtp.running
    assert first == SendReport(sent=60, deferred=total - 60)
    # While the server is down every pass defers everything; nothing is lost or given up on.
    later = now + LONGEST_RETRY + timedelta(minutes=1)
    assert send_pending(engine, app.config, limit=total, now=later) == SendReport(
        deferred=total - 60)
    dying_smtp.start()  # same port
    passes = []
    while (report := send_pending(engine, app.config, limit=50,
                                  now=later + LONGEST_RETRY * (len(passes) + 1))) != SendReport():
        passes.append(report)
        assert len(passes) < 10

    assert sum(r.sent for r in passes) == total - 60
    assert dying_smtp.message_ids() == {message_id: 1 for message_id in queued}
    assert outbox_statuses(engine) == {MailStatus.SENT: total}


# --- two `flask mail send` processes at once ----------------------------------------------------


def app_env(database_url: str, **values: str) -> dict[str, str]:
    """The environment a production process of the app gets (config through FLASK_*)."""
    env = {key: value for key, value in os.environ.items()
           if not key.startswith("FLASK_") and key != "DATABASE_URL"}
    # Links from the address the tests use; the port does not count for TRUSTED_HOSTS.
    env.update(FLASK_DATABASE_URL=database_url, FLASK_SECRET_KEY="fault-tests-" + "k" * 32,
               FLASK_PUBLIC_BASE_URL="http://127.0.0.1", FLASK_RATELIMIT_ENABLED="false",
               FLASK_LOG_LEVEL="WARNING", **values)
    return env


def lock_waiters(engine, query_start: str) -> list[int]:
    """Backends of this database waiting for a lock while running a query that starts so."""
    with engine.connect() as conn:
        return list(conn.scalars(sa.text(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid() AND query LIKE :q"
        ), {"q": query_start + "%"}))


def wait_for(condition, seconds: float, what: str):
    """Poll ``condition`` until it returns something true; fail after ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if result := condition():
            return result
        time.sleep(0.05)
    pytest.fail(f"timed out after {seconds} s waiting for {what}")


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_two_sender_processes_at_once_deliver_each_message_exactly_once(
    app, database_url, smtp_server  # noqa: F811
):
    engine = app.extensions["kp_engine"]
    total, limit = 300, 200
    queued = queue_many(engine, total)
    env = app_env(database_url, FLASK_MAIL_SERVER=smtp_server.host,
                  FLASK_MAIL_PORT=str(smtp_server.port), FLASK_MAIL_TIMEOUT="10")
    command = [str(BIN / "flask"), "--app", "app", "mail", "send", "--limit", str(limit)]

    # Hold both senders at their claim query, then let them go at the same instant.
    with engine.connect() as gate:
        gate.execute(sa.text("LOCK TABLE outbox_messages IN EXCLUSIVE MODE"))
        senders = [subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, text=True) for _ in range(2)]
        try:
            wait_for(lambda: len(lock_waiters(engine, "SELECT outbox_messages")) == 2, 30,
                     "both senders to wait at their claim")
        finally:
            gate.rollback()
        outputs = [sender.communicate(timeout=60) for sender in senders]

    assert [sender.returncode for sender in senders] == [0, 0], outputs
    sent = [int(out.split("Mail: ")[1].split(" sent")[0]) for out, _ in outputs]
    assert sum(sent) == total
    assert min(sent) >= total - limit  # both delivered: neither may claim more than ``limit``
    assert all(", 0 failed, 0 deferred." in out for out, _ in outputs)
    assert smtp_server.message_ids() == {message_id: 1 for message_id in queued}
    assert outbox_statuses(engine) == {MailStatus.SENT: total}
    print(f"senders delivered {sent[0]} + {sent[1]} of {total}, no duplicates")


# --- the database goes away under a running gunicorn ----------------------------------------


class DatabaseProxy:
    """A TCP proxy to PostgreSQL that can be stopped (listener closed, connections cut) and
    started again on the same port: a stand-in for stopping the database server."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.port = free_port()
        self._listener: socket.socket | None = None
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()

    def start(self) -> None:
        """Listen (again) on ``self.port``."""
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def stop(self) -> None:
        """Refuse new connections and cut every open one."""
        if self._listener is not None:
            self._listener.shutdown(socket.SHUT_RDWR)  # wakes the accepting thread
            self._listener.close()
            self._listener = None
        with self._lock:
            for sock in self._open:
                self._shutdown(sock)

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self._lock:
                self._open.update((client, upstream))
            for source, target in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(source, target), daemon=True).start()

    def _pipe(self, source: socket.socket, target: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                target.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, target):
                self._shutdown(sock)
            with self._lock:
                self._open.discard(source)
            source.close()

    @staticmethod
    def _shutdown(sock: socket.socket) -> None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


@pytest.fixture
def db_proxy(database_url) -> Iterator[DatabaseProxy]:
    """A running proxy in front of the test database's PostgreSQL server."""
    url = sa.make_url(database_url)
    proxy = DatabaseProxy(url.host or "127.0.0.1", url.port or 5432)
    proxy.start()
    yield proxy
    proxy.stop()


def through(proxy: DatabaseProxy, database_url: str) -> str:
    """``database_url`` with the proxy in place of the server."""
    url = sa.make_url(database_url).set(host="127.0.0.1", port=proxy.port)
    return url.render_as_string(hide_password=False)


def start_gunicorn(database_url: str, port: int, log: Path, workers: int) -> subprocess.Popen:
    """The app under the repository's gunicorn settings on 127.0.0.1:``port``."""
    env = app_env(database_url, BIND=f"127.0.0.1:{port}", WEB_CONCURRENCY=str(workers),
                  ACCESS_LOG="")
    with log.open("ab") as stderr:  # a file, not a pipe: 503s are logged, a pipe could fill
        return subprocess.Popen(
            [str(BIN / "gunicorn"), "-c", str(ROOT / "gunicorn.conf.py"), "app:create_app()"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=stderr, start_new_session=True,
        )


def get(port: int, path: str, locale: str = "en") -> tuple[int, str]:
    """A GET with a language cookie; returns (status, body)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", path, headers={"Cookie": f"kp_lang={locale}"})
        response = conn.getresponse()
        return response.status, response.read().decode()
    finally:
        conn.close()


def wait_healthy(process: subprocess.Popen, port: int, log: Path, seconds: float = 30) -> float:
    """Poll /healthz until it answers 200; returns how long that took."""
    started = time.monotonic()

    def healthy() -> bool:
        if process.poll() is not None:
            pytest.fail("gunicorn exited: " + log.read_text()[-2000:])
        try:
            return get(port, "/healthz")[0] == 200
        except OSError:
            return False

    wait_for(healthy, seconds, f"/healthz on port {port}")
    return time.monotonic() - started


class Enroller:
    """One person filling in the enrollment form of an offering through a real browser."""

    def __init__(self, port: int, offering, number: int) -> None:
        self.port, self.path, self.browser = port, f"/courses/{offering.id}/enroll", Browser()
        status, page = self.browser.request(port, "GET", self.path)
        assert status == 200
        self.form = dict(
            full_name=f"Lege {number}", email=f"lege{number}@example.org", phone="412 34 567",
            role="lis1", hpr_number=str(7000000 + number), employer="Bergen kommune",
            start_month=f"{offering.cohort:%Y-%m}", needs="", locale="nn", consent="y",
            csrf_token=CSRF_FIELD.search(page).group(1))
        self.result: tuple[int, str] | BaseException | None = None

    def send(self) -> tuple[int, str]:
        """POST the form; returns (status, body)."""
        return self.browser.request(self.port, "POST", self.path, self.form)

    def send_in_background(self) -> threading.Thread:
        """POST the form in a thread; the outcome (or the error) lands in ``result``."""

        def run() -> None:
            try:
                self.result = self.send()
            except BaseException as exc:  # the worker may die under the request
                self.result = exc

        thread = threading.Thread(target=run)
        thread.start()
        return thread


def table_counts(engine, offering_id: int) -> dict[str, int]:
    """What the database holds for the checks: rows per table and the offering's seats."""
    with engine.connect() as conn:
        counts = {model.__tablename__: conn.scalar(sa.select(sa.func.count()).select_from(model))
                  for model in (Participant, Enrollment, OutboxMessage)}
        counts["seats_taken"] = conn.scalar(
            sa.select(CourseOffering.seats_taken).where(CourseOffering.id == offering_id))
        counts["confirmed"] = conn.scalar(
            sa.select(sa.func.count()).select_from(Enrollment).where(
                Enrollment.offering_id == offering_id,
                Enrollment.status == EnrollmentStatus.CONFIRMED))
    return counts


def blocked_mid_enrollment(engine, enroller: Enroller):
    """Block the outbox so the enroller's POST stops inside its transaction, after it wrote
    the participant, the enrollment and the seat count. Returns (lock connection, thread,
    the backend's pid); roll the connection back to let the backend go on."""
    lock = engine.connect()
    lock.execute(sa.text("LOCK TABLE outbox_messages IN SHARE MODE"))
    thread = enroller.send_in_background()
    (pid,) = wait_for(lambda: lock_waiters(engine, "INSERT INTO outbox_messages"), 30,
                      "the enrollment to block on the outbox")
    with engine.connect() as conn:
        written = set(conn.scalars(sa.text(
            "SELECT relation::regclass::text FROM pg_locks "
            "WHERE pid = :pid AND mode = 'RowExclusiveLock'"), {"pid": pid}))
    assert {"participants", "enrollments", "course_offerings"} <= written
    return lock, thread, pid


def wait_backend_gone(engine, pid: int) -> None:
    """Wait until the PostgreSQL backend ``pid`` has ended (and rolled back)."""
    def gone() -> bool:
        with engine.connect() as conn:
            return not conn.scalar(sa.text("SELECT count(*) FROM pg_stat_activity WHERE pid = :p"),
                                   {"p": pid})
    wait_for(gone, 30, f"backend {pid} to end")


def assert_friendly_unavailable(status: int, page: str, locale: str) -> None:
    """The 503 page in ``locale``, with no trace of the error behind it."""
    assert status == 503
    assert UNAVAILABLE[locale] in page
    assert f'<html lang="{locale}"' in page
    for text in STACK_TEXT:
        assert text not in page


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_database_outage_gives_friendly_503_and_service_recovers_without_restart(
    app, database_url, db_proxy, make_offering, tmp_path
):
    engine, proxy = app.extensions["kp_engine"], db_proxy
    offering = make_offering(capacity=10)
    port, log = free_port(), tmp_path / "gunicorn.log"
    server = start_gunicorn(through(proxy, database_url), port, log, workers=2)
    try:
        wait_healthy(server, port, log)
        assert Enroller(port, offering, 1).send()[0] == 302
        in_flight = Enroller(port, offering, 2)
        before = table_counts(engine, offering.id)

        lock, thread, pid = blocked_mid_enrollment(engine, in_flight)
        down_at = time.monotonic()
        proxy.stop()  # "the database stops"
        thread.join(30)
        lock.rollback()
        lock.close()
        wait_backend_gone(engine, pid)

        assert_friendly_unavailable(*in_flight.result, "en")  # Browser asks for English
        assert table_counts(engine, offering.id) == before  # nothing of it was kept
        unavailable = 1
        pages = ["/", f"/courses/{offering.id}", f"/courses/{offering.id}/enroll"]
        while time.monotonic() - down_at < 2:
            for locale in UNAVAILABLE:
                for path in pages:
                    assert_friendly_unavailable(*get(port, path, locale), locale)
                    unavailable += 1
            status, body = get(port, "/healthz")
            assert (status, json.loads(body)["database"]) == (503, "unavailable")
            status, page = in_flight.send()
            assert_friendly_unavailable(status, page, "en")  # Browser asks for English
            unavailable += 2
            time.sleep(0.1)

        proxy.start()  # "the database is back"; the app is not restarted
        outage = time.monotonic() - down_at
        # From the first request on, on both workers: the pools drop their dead connections.
        assert get(port, "/healthz")[0] == 200
        recovery = time.monotonic() - down_at - outage
        for _ in range(6):
            assert get(port, "/healthz")[0] == 200
            assert get(port, f"/courses/{offering.id}", "nb")[0] == 200
        # A restart while nobody asks leaves every pooled connection dead, unnoticed until used:
        # pool_pre_ping finds them at checkout, so nobody sees an error.
        proxy.stop()
        proxy.start()
        for _ in range(6):  # both workers (the course page may come from the page cache)
            assert get(port, "/healthz")[0] == 200
        assert in_flight.send()[0] == 302  # the person tries again, and it works
    finally:
        stop_gunicorn(server)

    # The figures, for `pytest -rP` (record_property is refused by the xunit2 junit format).
    print(f"outage {outage:.2f} s, {unavailable} answers 503, healthy again {recovery:.3f} s "
          "after the database returned")
    after = table_counts(engine, offering.id)
    assert after == {**before, "participants": before["participants"] + 1,
                     "enrollments": before["enrollments"] + 1,
                     "outbox_messages": before["outbox_messages"] + 1,
                     "seats_taken": 2, "confirmed": 2}


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_logged_in_staff_member_gets_the_friendly_503_too(
    app_config, database_url, db_proxy, request
):
    # The error page must not load the staff user again (Flask-Login's template context does).
    app_config["DATABASE_URL"] = through(db_proxy, database_url)
    client = request.getfixturevalue("client")
    request.getfixturevalue("make_staff")()
    request.getfixturevalue("login")()
    assert client.get("/staff/courses").status_code == 200

    db_proxy.stop()
    for locale in ("en", "nb"):
        client.get(f"/lang/{locale}")
        response = client.get("/staff/courses")
        assert_friendly_unavailable(response.status_code, response.get_data(as_text=True),
                                    locale)
    db_proxy.start()

    assert client.get("/staff/courses").status_code == 200


# --- a worker killed in the middle of a request ------------------------------------------------


def worker_pids(master: int) -> list[int]:
    """The gunicorn workers of ``master`` (its child processes)."""
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    return [int(pid) for pid in children]


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_worker_killed_mid_enrollment_leaves_no_half_written_rows(
    app, database_url, make_offering, tmp_path
):
    engine = app.extensions["kp_engine"]
    offering = make_offering(capacity=10)
    port, log = free_port(), tmp_path / "gunicorn.log"
    server = start_gunicorn(database_url, port, log, workers=1)
    try:
        wait_healthy(server, port, log)
        assert Enroller(port, offering, 1).send()[0] == 302
        victim = Enroller(port, offering, 2)
        before = table_counts(engine, offering.id)
        (worker,) = worker_pids(server.pid)

        lock, thread, pid = blocked_mid_enrollment(engine, victim)
        os.kill(worker, signal.SIGKILL)
        thread.join(30)
        lock.rollback()
        lock.close()
        wait_backend_gone(engine, pid)

        assert isinstance(victim.result, ConnectionError | http.client.HTTPException)
        assert table_counts(engine, offering.id) == before
        wait_healthy(server, port, log)
        assert worker not in worker_pids(server.pid)  # gunicorn started a new one
        assert victim.send()[0] == 302
    finally:
        stop_gunicorn(server)

    assert table_counts(engine, offering.id) == {
        **before, "participants": before["participants"] + 1,
        "enrollments": before["enrollments"] + 1,
        "outbox_messages": before["outbox_messages"] + 1, "seats_taken": 2, "confirmed": 2}
