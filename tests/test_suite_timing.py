"""The suite's own guard (tests/timing.py) and the fuzzing's time budget, each run in a real
pytest process of its own."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Two tests under a timeout of 1 s, one whose call takes 0.6 s and one whose fixture does, and a
# quick one under the run's timeout (30 s). The guard must name the first two.
INNER_TESTS = '''
import time

import pytest


@pytest.fixture
def slow_fixture():
    time.sleep(0.6)


@pytest.mark.timeout(1)
def test_slow_call():
    time.sleep(0.6)


@pytest.mark.timeout(1)
def test_slow_setup(slow_fixture):
    pass


def test_quick():
    pass
'''


def inner_pytest(folder: Path, *args: str, ci: bool) -> subprocess.CompletedProcess:
    """pytest in ``folder`` (its own rootdir: none of this project's configuration), with the
    guard's hooks imported by its conftest as tests/conftest.py imports them."""
    (folder / "conftest.py").write_text(
        "from tests.timing import (pytest_runtest_logreport, pytest_runtest_makereport,\n"
        "                          pytest_sessionfinish, pytest_terminal_summary)\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "CI": "true" if ci else "false"}
    env.pop("PYTEST_XDIST_WORKER", None)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:schemathesis", "-q",
         "-o", "timeout=30", *args],
        cwd=folder, env=env, capture_output=True, text=True, timeout=60, check=False)


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["one-process", "xdist"])
def test_a_test_over_half_its_timeout_fails_the_ci_run_and_is_named(tmp_path, workers):
    (tmp_path / "test_inner.py").write_text(INNER_TESTS)
    result = inner_pytest(tmp_path, *workers, ci=True)
    out = result.stdout
    assert result.returncode == 1, out
    assert "3 passed" in out  # every test passed: the run fails on their time alone
    assert "FAILED: 2 test(s) used more than 50% of their timeout (CI=true)" in out
    named = out.split("FAILED: 2 test(s)")[1]
    assert "test_inner.py::test_slow_call" in named
    assert "test_inner.py::test_slow_setup" in named  # the fixture's time counts
    assert "test_quick" not in named
    # The table of the slowest against their timeouts lists all three, slowest share first.
    table = out.split("slowest tests against their timeouts")[1].split("FAILED:")[0]
    assert table.index("of 1 s") < table.index("of 30 s") < table.index("test_quick")


def test_outside_ci_the_same_run_passes(tmp_path):
    (tmp_path / "test_inner.py").write_text(INNER_TESTS)
    result = inner_pytest(tmp_path, ci=False)
    assert result.returncode == 0, result.stdout
    assert "used more than" not in result.stdout


def test_a_run_within_half_its_timeouts_passes_under_ci(tmp_path):
    (tmp_path / "test_inner.py").write_text(
        "import pytest\n\n\n@pytest.mark.timeout(30)\ndef test_quick():\n    pass\n")
    result = inner_pytest(tmp_path, ci=True)
    assert result.returncode == 0, result.stdout
    assert "of 30 s" in result.stdout
    assert "used more than" not in result.stdout


def test_fuzzing_stops_at_its_time_budget_and_reports_what_it_ran():
    """A budget far below one form's run: generation stops after the example that spends it,
    the test passes, and the report says how many ran and that the budget stopped it."""
    env = {**os.environ, "FUZZ_SECONDS": "0.3", "FUZZ_EXAMPLES": "300", "CI": "false"}
    env.pop("PYTEST_XDIST_WORKER", None)
    env.pop("TEST_DATABASE_URL", None)  # SQLite only: never the PostgreSQL database of the run
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q",
         "tests/test_fuzz.py::test_fuzz_staff_login[sqlite]"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False)
    out = result.stdout
    assert result.returncode == 0, out
    assert "1 passed" in out
    line = next(line for line in out.splitlines() if line.startswith("staff login [sqlite]: "))
    ran = int(line.split(": ")[1].split(" of ")[0])
    assert 0 < ran < 300, line
    assert "of 300 examples" in line
    assert "stopped by the 0.3 s budget" in line


def test_loaded_runs_twice_under_a_busy_process_and_reports_both_runs(tmp_path):
    """bench/loaded.py (make test-loaded) with a small command in place of make test: both
    runs reported with their wall time, counts and slowest tests, the failure of a test over
    half its timeout carried to its exit status, and the busy process stopped."""
    suite = tmp_path / "suite"
    suite.mkdir()
    (suite / "test_inner.py").write_text(INNER_TESTS)
    inner_pytest(suite, "--collect-only", ci=False)  # writes the guard's conftest
    command = (f"{sys.executable} -m pytest -p no:cacheprovider -p no:schemathesis -q "
               f"-o timeout=30 {suite}")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("PYTEST_XDIST_WORKER", None)
    result = subprocess.run(
        # The busy process at the lowest priority: this test checks the report, and must not
        # take a CPU from the rest of the suite running beside it.
        [sys.executable, str(ROOT / "bench" / "loaded.py"), "--runs", "2", "--busy", "1",
         "--busy-nice", "19",
         "--command", command, "--log-dir", str(tmp_path / "logs")],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False)
    out = result.stdout
    assert result.returncode == 1, out  # CI=true: the tests over half their timeout fail it
    pid = int(out.split("(pids ")[1].split(")")[0])
    assert not Path(f"/proc/{pid}").exists()  # stopped and reaped
    report = out.split("===== 2 run(s) under load")[1]
    for number in (1, 2):
        run = report.split(f"\nrun {number}: ")[1].split("\nrun ")[0]
        assert "exit status 1 (FAILED); 3 passed in " in run
        assert "FAILED: 2 test(s) used more than 50% of their timeout" in run
        assert "slowest tests against their timeouts" in run
        assert (tmp_path / "logs" / f"run-{number}.log").read_text().count("3 passed") == 1
