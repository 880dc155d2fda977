"""The suite's own timing: no test near its timeout, and what the fuzzing ran.

Hooks, imported by tests/conftest.py. Under CI=true a test may spend at most half of its
pytest-timeout (setup, call and teardown, as pytest-timeout counts them: a fixture can be the
slow part); a test beyond that would fail on a machine a little busier than the one that ran
it, so the run fails and the summary names it, with the ten slowest tests against their
timeouts. The fuzzing tests (tests/test_fuzz.py) leave a ``fuzz`` user property saying how many
examples each form got; the summary prints them. Everything is gathered from the test reports,
which pytest-xdist sends from its workers to the controller (which never sees the tests).
"""

from __future__ import annotations

import os
from collections import defaultdict

import pytest
from pytest_timeout import get_env_settings

IN_CI = os.environ.get("CI", "").lower() == "true"
# Under CI=true, the share of its timeout a test may spend.
TIMEOUT_SHARE = 0.5
# Per test (node id): seconds spent, its timeout; the fuzzing's counts (tests/test_fuzz.py).
# Gathered from the reports, which pytest-xdist sends from its workers to the controller.
_SPENT: dict[str, float] = defaultdict(float)
_TIMEOUTS: dict[str, float] = {}
_FUZZ_RUNS: list[str] = []
# What the page checks covered (tests/browser/test_every_page.py's ``pages`` property).
_PAGE_CHECKS: list[str] = []
# What schemathesis ran against the API (tests/test_api_contract.py's ``schemathesis``).
_CONTRACT_RUNS: list[str] = []


def _timeout_of(item) -> float:
    """The test's pytest-timeout in seconds: its ``timeout`` marker, else the configured one."""
    marker = item.get_closest_marker("timeout")
    if marker is not None:
        value = marker.args[0] if marker.args else marker.kwargs.get("timeout")
        if value is not None:
            return float(value)
    return float(get_env_settings(item.config).timeout or 0)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """Every report carries the test's timeout: the controller of an xdist run never sees the
    items, only the reports."""
    report = yield
    report.user_properties.append(("timeout", _timeout_of(item)))
    return report


def pytest_runtest_logreport(report):
    """Add up each test's time, and keep the fuzzing counts."""
    _SPENT[report.nodeid] += report.duration
    for name, value in report.user_properties:
        if name == "timeout":
            _TIMEOUTS[report.nodeid] = value
        elif name == "fuzz" and report.when == "call":
            _FUZZ_RUNS.append(value)
        elif name == "pages" and report.when == "call":
            _PAGE_CHECKS.append(value)
        elif name == "schemathesis" and report.when == "call":
            _CONTRACT_RUNS.append(value)


def _controller(config) -> bool:
    """The process that reports the run (not an xdist worker)."""
    return not hasattr(config, "workerinput")


def _against_timeouts() -> list[tuple[float, float, str]]:
    """(seconds spent, timeout, node id) of every test with a timeout, by share, largest first."""
    rows = [(spent, _TIMEOUTS[nodeid], nodeid) for nodeid, spent in _SPENT.items()
            if _TIMEOUTS.get(nodeid)]
    return sorted(rows, key=lambda row: row[0] / row[1], reverse=True)


def _over_share() -> list[tuple[float, float, str]]:
    """The tests that used more than ``TIMEOUT_SHARE`` of their timeout."""
    return [row for row in _against_timeouts() if row[0] > row[1] * TIMEOUT_SHARE]


def pytest_sessionfinish(session, exitstatus):
    """Under CI=true, a run with a test over half its timeout fails (named in the summary)."""
    if IN_CI and _controller(session.config) and _over_share() and exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def _by_file() -> list[tuple[float, str]]:
    """(seconds, test file) over every test of the run, largest first."""
    files: dict[str, float] = defaultdict(float)
    for nodeid, spent in _SPENT.items():
        files[nodeid.split("::", 1)[0]] += spent
    return sorted(((spent, path) for path, spent in files.items()), reverse=True)


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    """The fuzzing counts; under CI=true the slowest tests against their timeouts, and every
    test over half of its timeout."""
    if not _controller(config):
        return
    write = terminalreporter.write_line
    if _FUZZ_RUNS:
        terminalreporter.write_sep("-", "fuzzed forms: examples per form and database")
        for line in sorted(_FUZZ_RUNS):
            write(line)
    if _PAGE_CHECKS:
        terminalreporter.write_sep("-", "every page: axe-core, the Nu HTML Checker, 320 px")
        for line in sorted(_PAGE_CHECKS):
            write(line)
    if _CONTRACT_RUNS:
        terminalreporter.write_sep("-", "the API against its contract: schemathesis")
        for line in _CONTRACT_RUNS:
            write(line)
    if not IN_CI or not _SPENT:
        return
    terminalreporter.write_sep("-", "slowest tests against their timeouts (setup + call + "
                                    "teardown)")
    for spent, timeout, nodeid in _against_timeouts()[:10]:
        write(f"{spent:7.1f} s of {timeout:g} s ({spent / timeout:4.0%})  {nodeid}")
    terminalreporter.write_sep("-", "where the suite's time goes: the files that took longest "
                                    "(all workers' seconds)")
    total = sum(_SPENT.values())
    for spent, path in _by_file()[:12]:
        write(f"{spent:7.1f} s ({spent / total:4.0%})  {path}")
    write(f"{total:7.1f} s in all")
    over = _over_share()
    if over:
        terminalreporter.write_sep(
            "=", f"FAILED: {len(over)} test(s) used more than {TIMEOUT_SHARE:.0%} of their "
                 f"timeout (CI=true)", red=True, bold=True)
        for spent, timeout, nodeid in over:
            write(f"{spent:7.1f} s of {timeout:g} s  {nodeid}", red=True)
