"""Tokens never reach a log line written by a real server process: gunicorn's error log (a
worker timeout prints the request line, an exception its message and traceback), Werkzeug's
development server and the tracebacks Flask logs. Each test starts its own process on a free
port and reads what it wrote to stderr."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from core.logging import redact

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
# A manage token (secrets.token_urlsafe(32)) and a password-reset token (itsdangerous).
TOKEN = "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789_-abcde"
RESET = "eyJpZCI6MSwiZ2VuIjoiYWJjZCJ9.Z0QkPA.x1Y2z3A4b5C6d7E8f9G0h1I2j3K"

# A stand-in for a view that hangs (past GUNICORN_TIMEOUT) or fails with the URL in its message.
SLOW_APP = '''
import time


def app(environ, start_response):
    if environ["PATH_INFO"].startswith("/boom"):
        raise ValueError("cannot open " + environ["RAW_URI"])
    time.sleep(30)
    start_response("200 OK", [])
    return [b""]
'''


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def request(port: int, path: str, timeout: float = 10) -> int | None:
    """GET ``path``; the status, or None when the server closed the connection."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path)
        return conn.getresponse().status
    except (ConnectionError, http.client.HTTPException):
        return None
    finally:
        conn.close()


def wait_for_port(process: subprocess.Popen, port: int, seconds: float = 30) -> None:
    """Wait until something accepts connections on ``port``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the server exited: {process.stderr.read().decode()[-2000:]}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    pytest.fail(f"nothing listened on port {port} within {seconds} s")


def stop(process: subprocess.Popen) -> str:
    """Stop a process this test started (and its children); its stderr."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    err = process.stderr.read().decode()
    process.stderr.close()
    return err


def wait_for(predicate, seconds: float = 15) -> None:
    deadline = time.monotonic() + seconds
    while not predicate() and time.monotonic() < deadline:
        time.sleep(0.1)


def test_redact_takes_out_a_reset_token_anywhere():
    assert TOKEN not in redact(f"cannot open {TOKEN}")
    assert RESET not in redact(f"token {RESET} expired")
    assert "kurs.example.no" in redact("https://kurs.example.no/verify/AB12-CD34")


def test_gunicorn_error_log_redacts_the_request_line_of_a_timed_out_worker(tmp_path):
    (tmp_path / "slow.py").write_text(SLOW_APP)
    port = free_port()
    env = {**os.environ, "BIND": f"127.0.0.1:{port}", "WEB_CONCURRENCY": "1",
           "GUNICORN_TIMEOUT": "1", "ACCESS_LOG": "-", "PYTHONPATH": str(tmp_path)}
    process = subprocess.Popen(
        [str(BIN / "gunicorn"), "-c", str(ROOT / "gunicorn.conf.py"), "slow:app"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        wait_for_port(process, port)
        # The worker sleeps past its 1 s timeout; the master aborts it.
        request(port, f"/manage/{TOKEN}/cancel", timeout=15)
        assert request(port, f"/boom/staff/password/reset/{RESET}") == 500
        assert request(port, f"/boom/manage/{TOKEN}") == 500
    finally:
        err = stop(process)
        out = process.stdout.read().decode()
        process.stdout.close()

    assert "WORKER TIMEOUT" in err
    assert "Error handling request GET /manage/[redacted]/cancel" in err
    assert "ValueError: cannot open /boom/manage/[redacted]" in err
    assert "/boom/staff/password/reset/[redacted]" in err
    assert "Traceback" in err
    assert TOKEN not in err + out
    assert RESET not in err + out


DEV_SERVER = '''
import sys

from flask import request

from app import create_app

app = create_app({{
    "TESTING": True, "SECRET_KEY": "x", "DATABASE_URL": "sqlite:///{db}",
    "PROPAGATE_EXCEPTIONS": False,
}})


@app.get("/_boom/<path:rest>")
def boom(rest):
    raise ValueError("cannot load " + request.url)


app.run(host="127.0.0.1", port=int(sys.argv[1]), use_reloader=False)
'''


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # a log, not the database
def test_werkzeug_dev_server_and_flask_tracebacks_are_redacted(tmp_path, database_url):
    script = tmp_path / "dev.py"
    script.write_text(textwrap.dedent(DEV_SERVER.format(db=database_url.removeprefix(
        "sqlite:///"))))
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("FLASK_DEBUG", None)
    process = subprocess.Popen([sys.executable, str(script), str(port)], cwd=ROOT, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               start_new_session=True)
    try:
        wait_for_port(process, port)
        assert request(port, f"/manage/{TOKEN}") == 404
        assert request(port, f"/staff/password/reset/{RESET}") in (200, 302)
        assert request(port, f"/_boom/manage/{TOKEN}?next=%2Fmanage%2F{TOKEN}") == 500
    finally:
        err = stop(process)
        out = process.stdout.read().decode()
        process.stdout.close()

    # Werkzeug's own request lines, and Flask's traceback of the failed request.
    assert "GET /manage/[redacted] HTTP/1.1" in err
    assert "/staff/password/reset/[redacted]" in err
    assert "ValueError: cannot load http://127.0.0.1" in err
    assert "/_boom/manage/[redacted]" in err
    assert TOKEN not in err + out
    assert RESET not in err + out
