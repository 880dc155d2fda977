"""The API keeps its contract: schemathesis, driven by /api/v1/openapi.json alone, calls every
operation of the live application (a server on a free port, the demo data, a read-write token
of one county office) with examples, edge cases, random data and the OpenAPI links between
operations (stateful runs), and finds no server error and no answer that breaks the document.

The run's counts (operations, calls, failures) are printed and kept as the test's properties;
a failure lists schemathesis's own report."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from core.api import tokens
from core.auth import StaffUser
from core.db import session_scope, utcnow
from core.models import County
from enrollment.demo import seed_demo
from tests.browser.conftest import live_server  # noqa: F401  (the app on a free port)

pytestmark = pytest.mark.one_database  # the services under it are tested on both elsewhere

# Sequences of calls along the links the stateful run makes: a count, not a time budget, so
# that a busy machine tests as much as a quiet one (100: 13 of the 17 operations reached, the
# other four have no link into them and are tested on their own; about 15 s on a quiet machine).
SCENARIOS = int(os.environ.get("API_CONTRACT_SCENARIOS", "100"))
CHECKS = ",".join((
    "not_a_server_error", "status_code_conformance", "content_type_conformance",
    "response_headers_conformance", "response_schema_conformance",
    "negative_data_rejection", "missing_required_header", "unsupported_method",
    "use_after_free", "ensure_resource_availability", "ignored_auth",
))


@pytest.fixture
def world(app, make_staff) -> str:
    """The demo data and a read-write token of the Vestland office; returns the token."""
    make_staff(email="kari@sfvl.no", county="vestland")
    with app.app_context(), session_scope(app.extensions["kp_engine"]) as session:
        seed_demo(session, utcnow())
        owner = session.scalar(sa.select(StaffUser).where(StaffUser.email == "kari@sfvl.no"))
        county_id = session.scalar(sa.select(County.id).where(County.slug == "vestland"))
        _token, text = tokens.create(session, owner, county_id=county_id, name="Kontrakt",
                                     can_write=True,
                                     expires_on=(utcnow() + timedelta(days=7)).date(),
                                     now=utcnow())
    return text


def schemathesis() -> str:
    found = shutil.which("schemathesis", path=str(Path(sys.executable).parent))
    if found is None:
        pytest.fail("schemathesis is missing: pip install -e '.[test]'")
    return found


def run_schemathesis(base: str, token: str, report: Path, *phase_options: str) -> dict:
    """One schemathesis run against ``base``; its JSON report, with its output if it failed."""
    run = subprocess.run(
        [schemathesis(), "run", f"{base}/api/v1/openapi.json", "--url", base,
         "--header", f"Authorization: Bearer {token}", "--checks", CHECKS, *phase_options,
         "--seed", "20261204", "--workers", "1", "--no-color", "--request-timeout", "20",
         "--generation-database", "none", "--report", "json",
         "--report-json-path", str(report)],
        capture_output=True, text=True, timeout=200, check=False, cwd=report.parent)
    result = json.loads(report.read_text()) if report.exists() else {}
    result["output"] = "" if run.returncode == 0 else run.stdout[-6000:] + run.stderr[-2000:]
    result["returncode"] = run.returncode
    return result


def counts(result: dict) -> str:
    cases = result.get("test_cases", {})
    operations = result.get("operations", {})
    return (f"{operations.get('tested')} of {operations.get('total')} operations, "
            f"{cases.get('generated')} calls, {cases.get('unique_failures')} failures")


@pytest.mark.timeout(240)
def test_every_operation_keeps_the_contract(app, world, live_server, tmp_path,  # noqa: F811
                                            record_property):
    with app.app_context():
        from core.api.spec import document

        linked = any("links" in response for item in document()["paths"].values()
                     for operation in item.values()
                     for response in operation["responses"].values())
    # Each operation on its own (examples, edge cases of every parameter, random data), then
    # sequences along the document's links.
    single = run_schemathesis(live_server, world, tmp_path / "single.json",
                              "--phases", "examples,coverage,fuzzing", "--max-examples", "10")
    chained = run_schemathesis(live_server, world, tmp_path / "stateful.json",
                               "--phases", "stateful", "--max-examples", str(SCENARIOS)
                               ) if linked else {"returncode": 0, "output": ""}

    line = f"single: {counts(single)}; stateful: {counts(chained)}"
    print(f"\nschemathesis {line}")
    record_property("schemathesis", line)
    assert single["returncode"] == 0, single["output"]
    assert single["operations"]["tested"] == single["operations"]["total"] > 0
    assert single["test_cases"]["unique_failures"] == 0
    assert linked, "the document declares no links: nothing to chain"
    assert chained["returncode"] == 0, chained["output"]
    assert chained["phases"]["stateful"]["status"] == "success", chained["phases"]
    assert chained["test_cases"]["unique_failures"] == 0
