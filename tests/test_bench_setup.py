"""The benchmarks set themselves up on a fresh machine: the database is created when missing,
and what cannot be done is said in one line, not a traceback (issue 15, item 4)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.conftest import require

ROOT = Path(__file__).resolve().parent.parent
SUMMARY = "import common; print(common.machine_summary(common.database_url()))"


def _summary(url: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "BENCH_DATABASE_URL": url, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-c", SUMMARY], cwd=ROOT / "bench", env=env,
                          capture_output=True, text=True, timeout=150)


def _server_url() -> sa.URL:
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        require("TEST_DATABASE_URL is not set: the benchmarks' set-up needs PostgreSQL")
    return sa.engine.make_url(url)


# CREATE DATABASE copies template1 through the server's WAL: quiet it takes a second, under the
# rest of the suite's writes it was measured at 10–77 s, all of it the server's.
@pytest.mark.timeout(300)
def test_a_missing_benchmark_database_is_created():
    name = f"kp_bench_setup_{os.getpid()}"
    url = _server_url().set(database=name)
    maintenance = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        result = _summary(url.render_as_string(hide_password=False))
        assert result.returncode == 0, result.stderr
        assert result.stdout.startswith("machine: ")
        assert "PostgreSQL 1" in result.stdout
        with maintenance.connect() as conn:
            assert conn.scalar(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"),
                               {"n": name}) == 1
    finally:
        with maintenance.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
        maintenance.dispose()


def test_an_unreachable_server_is_one_line_saying_what_to_do():
    result = _summary("postgresql+psycopg://kp:kp@127.0.0.1:9/kp_bench")
    assert result.returncode == 1
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("bench: cannot reach PostgreSQL at 127.0.0.1:9 as kp (")
    assert "pg_ctlcluster" in line
    assert "Traceback" not in result.stderr


def test_no_benchmark_script_hides_a_package_of_the_application():
    """`python bench/x.py` puts bench/ first on the import path: a bench/certificates.py made
    `import certificates` (the migrations' env.py) load the benchmark instead of the plugin."""
    packages = {path.parent.name for path in ROOT.glob("*/__init__.py")} | {"app"}
    scripts = {path.stem for path in (ROOT / "bench").glob("*.py")}
    assert "certificates" in packages
    assert scripts & packages == set()


def test_each_benchmark_records_its_figures_and_the_chart_shows_every_page_beside_hello(
        tmp_path):
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        import figures
    finally:
        sys.path.remove(str(ROOT / "bench"))
    results, chart = tmp_path / "results", tmp_path / "performance.svg"
    figures.record("catalog", [
        figures.Figure("catalog, rendered", 175.0, "hello", 4735.0, p99_ms=117.0),
        figures.Figure("course page, rendered", 344.0, "hello", 4735.0)],
        context="16 connections", results_dir=results, chart=chart)
    figures.record("staff", [figures.Figure("participant list", 100.0, "hello", 4677.0)],
                   context="4 connections", results_dir=results, chart=chart)

    saved = {p.stem for p in results.glob("*.json")}
    assert saved == {"catalog", "staff"}
    svg = chart.read_text()
    # Both scripts' pages, each with its ratio to the hello of its own run.
    assert "catalog, rendered" in svg
    assert "175 req/s (0.04 × hello)" in svg
    assert "participant list" in svg
    assert "100 req/s (0.02 × hello)" in svg
    assert "4,735 req/s" in svg
    assert "4,677 req/s" in svg
    # A script run again replaces its own bars and keeps the others'.
    figures.record("catalog", [figures.Figure("catalog, rendered", 350.0, "hello", 3500.0)],
                   context="16 connections", results_dir=results, chart=chart)
    svg = chart.read_text()
    assert "350 req/s (0.10 × hello)" in svg
    assert "course page, rendered" not in svg
    assert "participant list" in svg
