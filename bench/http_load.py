"""HTTP for the benchmarks: a browser in miniature (cookie jar, CSRF token), single GETs, and
the load generator — ``wrk`` when it is installed (Debian: ``apt-get install wrk``), else
Python threads, slower and sharing the CPUs with the server they measure — with percentiles
and medians over runs.
"""

from __future__ import annotations

import http.client
import http.cookies
import os
import re
import shutil
import statistics
import subprocess
import threading
import time
import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass


def get(url: str, headers: dict[str, str] | None = None, timeout: float = 10) -> tuple[int, str]:
    """One GET; returns the status and the body."""
    host, port, path = split_url(url)
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request("GET", path, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.read().decode("utf-8", "replace")
    finally:
        conn.close()


CSRF_FIELD = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


class Client:
    """A browser in miniature: its own cookie jar, one connection per request (sync workers
    close the connection after each response anyway)."""

    def __init__(self, base: str, timeout: float = 120):
        self.host, self.port, _path = split_url(base)
        self.timeout = timeout
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, data: dict[str, str] | None = None,
                headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], str]:
        """Send one request; returns status, headers (last value of each) and body."""
        send = dict(headers or {})
        if self.cookies:
            send["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if data is not None:
            body = urllib.parse.urlencode(data)
            send["Content-Type"] = "application/x-www-form-urlencoded"
        conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        try:
            conn.request(method, path, body=body, headers=send)
            response = conn.getresponse()
            text = response.read().decode("utf-8", "replace")
            for header in response.headers.get_all("Set-Cookie") or []:
                jar = http.cookies.SimpleCookie()
                jar.load(header)
                for name, morsel in jar.items():
                    self.cookies[name] = morsel.value
            return response.status, dict(response.headers.items()), text
        finally:
            conn.close()

    def csrf_token(self, path: str) -> str:
        """GET a form page and return its CSRF token (the session cookie comes with it)."""
        status, _headers, body = self.request("GET", path)
        match = CSRF_FIELD.search(body)
        if status != 200 or not match:
            raise RuntimeError(f"GET {path}: {status}, no CSRF token")
        return match.group(1)


def split_url(url: str) -> tuple[str, int, str]:
    """('127.0.0.1', 8000, '/path?query') from 'http://127.0.0.1:8000/path?query'."""
    match = re.match(r"http://([^:/]+):(\d+)(.*)", url)
    if not match:
        raise ValueError(url)
    return match.group(1), int(match.group(2)), match.group(3) or "/"


def percentile(values: Sequence[float], share: float) -> float:
    """The ``share`` (0–100) percentile by the nearest-rank method."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(share / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


@dataclass
class LoadResult:
    """One load run: requests per second, latency percentiles in ms, failures."""

    rps: float
    p50: float
    p90: float
    p99: float
    requests: int
    errors: int

    def line(self) -> str:
        """One line of figures."""
        return (f"{self.rps:8.1f} req/s  p50 {self.p50:6.1f} ms  p90 {self.p90:6.1f} ms  "
                f"p99 {self.p99:6.1f} ms  ({self.requests} requests, {self.errors} errors)")


def median_result(results: Sequence[LoadResult]) -> LoadResult:
    """The median of each figure over several runs."""
    return LoadResult(
        rps=statistics.median(r.rps for r in results),
        p50=statistics.median(r.p50 for r in results),
        p90=statistics.median(r.p90 for r in results),
        p99=statistics.median(r.p99 for r in results),
        requests=int(statistics.median(r.requests for r in results)),
        errors=max(r.errors for r in results),
    )


_WRK_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _wrk_ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()
    return float(number) * _WRK_UNITS[unit]


def load(url: str, seconds: float, connections: int,
         headers: dict[str, str] | None = None) -> LoadResult:
    """GET ``url`` from ``connections`` connections for ``seconds``: wrk, else Python."""
    if shutil.which("wrk"):
        return _load_wrk(url, seconds, connections, headers or {})
    return _load_python(url, seconds, connections, headers or {})


def _load_wrk(url: str, seconds: float, connections: int, headers: dict[str, str]) -> LoadResult:
    threads = max(1, min(connections, (os.cpu_count() or 2) // 2 or 1))
    args = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{int(seconds)}s", "--latency"]
    for name, value in headers.items():
        args += ["-H", f"{name}: {value}"]
    out = subprocess.run([*args, url], capture_output=True, text=True, check=True).stdout
    latency = dict(re.findall(r"^\s+(50|90|99)%\s+(\S+)\s*$", out, re.M))
    if len(latency) != 3:
        raise RuntimeError(f"wrk gave no latency distribution:\n{out}")
    total = int(re.search(r"(\d+) requests in", out).group(1))
    errors = 0
    if match := re.search(r"Non-2xx or 3xx responses: (\d+)", out):
        errors += int(match.group(1))
    if match := re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)",
                          out):
        # A sync worker closes the connection after each response; wrk counts the close it
        # sees while reading as a read error, so only connect and timeout errors count here.
        errors += int(match.group(1)) + int(match.group(4))
    return LoadResult(
        rps=float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        p50=_wrk_ms(latency["50"]), p90=_wrk_ms(latency["90"]), p99=_wrk_ms(latency["99"]),
        requests=total, errors=errors,
    )


def _load_python(url: str, seconds: float, connections: int,
                 headers: dict[str, str]) -> LoadResult:
    host, port, path = split_url(url)
    latencies: list[list[float]] = [[] for _ in range(connections)]
    errors = [0] * connections
    start = time.monotonic()
    deadline = start + seconds

    def worker(index: int) -> None:
        while time.monotonic() < deadline:
            began = time.perf_counter()
            try:
                conn = http.client.HTTPConnection(host, port, timeout=30)
                conn.request("GET", path, headers=headers)
                response = conn.getresponse()
                response.read()
                conn.close()
                if response.status >= 400:
                    errors[index] += 1
            except OSError:
                errors[index] += 1
                continue
            latencies[index].append((time.perf_counter() - began) * 1000)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - start
    flat = [value for chunk in latencies for value in chunk]
    return LoadResult(rps=len(flat) / elapsed, p50=percentile(flat, 50),
                      p90=percentile(flat, 90), p99=percentile(flat, 99),
                      requests=len(flat), errors=sum(errors))


