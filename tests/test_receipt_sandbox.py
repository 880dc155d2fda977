"""The sandbox receipts are parsed in (``core.sandbox``): a job is stopped at its CPU, memory
and wall-clock limits and refused as ``too_complex``, sees nothing of the web worker, and costs
about a tenth of a second to start; under a real gunicorn with two workers a crafted PDF is
refused within the configured limit while another upload to the same SQLite or PostgreSQL
database is answered meanwhile (no lock is held while a file is parsed)."""

from __future__ import annotations

import http.client
import json
import re
import statistics
import subprocess
import threading
import time
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from core import sandbox
from core.db import session_scope
from refunds.models import Receipt
from tests.refunds_factories import engine_of
from tests.test_refunds_uploads import png
from tests.test_refunds_web import client_in, start_claim, world  # noqa: F401 (a fixture)
from tests.test_serving import Browser, free_port, start_gunicorn, stop, wait_until_up

ROOT = Path(__file__).resolve().parent.parent
QUICK = sandbox.Limits(cpu_seconds=1, memory_mb=256, wall_seconds=5)


@pytest.fixture(autouse=True)
def test_jobs():
    for name in ("spin", "swell", "sleep", "world"):
        sandbox.register_job(f"test_{name}", f"tests.sandbox_jobs:{name}")
    yield
    for name in ("spin", "swell", "sleep", "world"):
        sandbox.JOBS.pop(f"test_{name}", None)


def refused(name: str, limits: sandbox.Limits) -> tuple[str, float]:
    started = time.monotonic()
    with pytest.raises(sandbox.Refused) as exc:
        sandbox.run_job(name, b"x", limits=limits)
    return exc.value.code, time.monotonic() - started


def test_a_job_over_its_cpu_limit_is_stopped_and_refused_as_too_complex():
    code, seconds = refused("test_spin", QUICK)
    assert code == "too_complex"
    assert seconds < QUICK.wall_seconds  # the CPU limit stopped it, not the clock


def test_a_job_over_its_memory_limit_is_refused_as_too_complex():
    code, seconds = refused("test_swell", QUICK)
    assert code == "too_complex"
    assert seconds < QUICK.wall_seconds


def test_a_job_that_only_waits_is_stopped_at_the_wall_clock_limit():
    limits = sandbox.Limits(cpu_seconds=5, memory_mb=256, wall_seconds=1)
    code, seconds = refused("test_sleep", limits)
    assert code == "too_complex"
    assert 1 <= seconds < 4


def test_a_job_sees_no_secret_and_no_descriptor_of_the_web_worker(monkeypatch):
    monkeypatch.setenv("FLASK_SECRET_KEY", "not-for-the-sandbox-" + "s" * 32)
    monkeypatch.setenv("DATABASE_URL", "postgresql://kp:secret@db/kp")
    with open(__file__, "rb") as kept_open:  # a descriptor the parent has open
        result = sandbox.run_job("test_world", b"input", limits=QUICK, options={"a": 1})
        assert kept_open.fileno() > 2
    environment, _, data = result.data.partition(b"|")
    assert set(json.loads(environment)) <= {"PATH", "LC_ALL", "LC_CTYPE"}
    assert data == b"input"
    assert result.header["options"] == {"a": 1}
    # stdin, stdout, stderr and the descriptor listing /proc/self/fd itself.
    assert len(result.header["fds"]) <= 4


def test_files_of_one_request_share_one_wall_clock_budget():
    limits = sandbox.Limits(cpu_seconds=5, memory_mb=256, wall_seconds=10)
    assert limits.until(time.monotonic() + 60).wall_seconds == 10
    assert 2 < limits.until(time.monotonic() + 3).wall_seconds <= 3
    assert limits.until(time.monotonic() - 5).wall_seconds == 0.1  # spent: the next is refused
    code, seconds = refused("test_sleep", limits.until(time.monotonic() + 1))
    assert code == "too_complex"
    assert seconds < 4


def test_an_unknown_job_target_cannot_be_registered():
    with pytest.raises(ValueError, match="module:function"):
        sandbox.register_job("bad", "tests.sandbox_jobs")


def test_starting_the_sandbox_costs_about_a_tenth_of_a_second():
    image = png(40, 30)
    sandbox.run_job("receipt", image)  # the first start warms the page cache
    times = []
    for _ in range(5):
        started = time.perf_counter()
        sandbox.run_job("receipt", image)
        times.append(time.perf_counter() - started)
    median = statistics.median(times)
    print(f"sandbox start and a small PNG: median {median * 1000:.0f} ms of {len(times)}")
    assert median < 1.5  # about 0.1 s on a quiet machine; a busy CI box may take longer


# --- a real gunicorn with two workers ------------------------------------------------------------


def many_objects_pdf(count: int = 240_000) -> bytes:
    """A valid one-page PDF under 10 MB whose page points at ``count`` tiny objects: qpdf
    parses and copies every one of them, which takes many seconds."""
    head = (b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"
            b"2 0 obj\n<< /Type /Pages /Kids [3 0 R] /Count 1 >>\nendobj\n"
            b"3 0 obj\n<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] /Foo 4 0 R >>\n"
            b"endobj\n")
    refs = b" ".join(b"%d 0 R" % i for i in range(5, 5 + count))
    objects = b"".join(b"%d 0 obj\n[%d]\nendobj\n" % (i, i) for i in range(5, 5 + count))
    return (head + b"4 0 obj\n[" + refs + b"]\nendobj\n" + objects
            + b"trailer\n<< /Root 1 0 R >>\n%%EOF\n")


def start_with_limits(database_url: str, port: int, limits: sandbox.Limits) -> subprocess.Popen:
    return start_gunicorn(database_url, port, SANDBOX_CPU_SECONDS=limits.cpu_seconds,
                          SANDBOX_MEMORY_MB=limits.memory_mb,
                          SANDBOX_WALL_SECONDS=limits.wall_seconds)


def post_file(port: int, browser: Browser, path: str, csrf: str, data: bytes,
              name: str) -> tuple[int, str]:
    """A multipart upload of one file, as the claim page's form sends it."""
    boundary = uuid.uuid4().hex
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n"
            f"{csrf}\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"line\"\r\n\r\n"
            f"\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; "
            f"filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n").encode()
    body += data + f"\r\n--{boundary}--\r\n".encode()
    headers = {"Content-Type": f"multipart/form-data; boundary={boundary}",
               "Accept-Language": "en",
               "Cookie": "; ".join(f"{k}={v}" for k, v in browser.cookies.items())}
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request("POST", path, body=body, headers=headers)
        response = conn.getresponse()
        return response.status, response.read().decode()
    finally:
        conn.close()


def test_a_crafted_pdf_is_refused_within_the_limit_while_another_upload_is_answered(
        app, app_config, world):  # noqa: F811
    claim_id = start_claim(client_in(app, "en"), world.token)
    limits = sandbox.Limits(cpu_seconds=2, memory_mb=1024, wall_seconds=4)
    slow = many_objects_pdf()
    assert len(slow) <= 10 * 1024 * 1024
    port = free_port()
    server = start_with_limits(app_config["DATABASE_URL"], port, limits)
    try:
        wait_until_up(server, port)
        browser = Browser()
        claim_path = f"/manage/{world.token}/claims/{claim_id}"
        status, body = browser.request(port, "GET", claim_path)
        assert status == 200
        csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', body).group(1)
        answers = {}

        def send_slow():
            started = time.monotonic()
            answers["slow"] = (*post_file(port, browser, claim_path + "/receipts", csrf, slow,
                                          "treig.pdf"), time.monotonic() - started)

        slow_upload = threading.Thread(target=send_slow)
        slow_upload.start()
        time.sleep(1.0)  # the slow file is being parsed now
        started = time.monotonic()
        quick_status, _ = post_file(port, browser, claim_path + "/receipts", csrf, png(),
                                    "rask.png")
        quick_seconds = time.monotonic() - started
        still_parsing = slow_upload.is_alive()
        slow_upload.join(30)
    finally:
        stop(server)

    assert quick_status == 302
    assert still_parsing, "the crafted PDF was done before the second upload was answered"
    assert quick_seconds < 3
    slow_status, slow_body, slow_seconds = answers["slow"]
    assert slow_status == 400
    assert "treig.pdf: The file took too long to check." in slow_body
    assert slow_seconds < limits.wall_seconds + 2
    print(f"crafted {len(slow) / 1e6:.1f} MB PDF refused after {slow_seconds:.1f} s; "
          f"the other upload answered in {quick_seconds:.2f} s meanwhile")
    with session_scope(engine_of(app)) as session:
        names = session.scalars(sa.select(Receipt.original_name)).all()
    assert names == ["rask.png"]
