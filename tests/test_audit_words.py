"""The audit log in words: every action any code writes has a title (found by reading the
code, as tests/test_settings.py finds settings), and the page shows events, fields, Oslo times
and people by name in nn, nb and en, an anonymised person never by their old name."""

from __future__ import annotations

import ast
import html
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from certificates.models import Certificate
from core import audit
from core.audit_view import action_title, object_type_title, readable_value
from core.auth import StaffUser
from core.db import session_scope
from enrollment.models import CourseSession, Enrollment
from enrollment.services.enrollments import STATE_FIELDS
from enrollment.services.offerings import OFFERING_FIELDS, SESSION_FIELDS
from refunds.services.status import AUDIT_FIELDS
from tests.conftest import staff_login
from tests.test_enrollment_services import enroll

ROOT = Path(__file__).resolve().parent.parent
# What ``certificates.services.summary`` keeps of a certificate.
CERTIFICATE_SUMMARY = ["code", "enrollment_id", "name", "attended", "total", "issued_on",
                       "manual_reason"]
SOURCES = [path for package in ("core", "enrollment", "certificates", "refunds")
           for path in sorted((ROOT / package).rglob("*.py"))]


# --- every action written has a title -----------------------------------------------------------


class _Module:
    """One module's tree, with each node's parent, to follow an action's value to its source."""

    def __init__(self, path: Path):
        self.path = path
        self.tree = ast.parse(path.read_text())
        self.parents = {child: node for node in ast.walk(self.tree)
                        for child in ast.iter_child_nodes(node)}

    def functions_around(self, node: ast.AST):
        while node in self.parents:
            node = self.parents[node]
            if isinstance(node, ast.FunctionDef):
                yield node

    def calls_to(self, name: str) -> list[ast.Call]:
        return [n for n in ast.walk(self.tree) if isinstance(n, ast.Call)
                and isinstance(n.func, ast.Name) and n.func.id == name]

    def module_values(self, name: str) -> list[ast.AST]:
        return [n.value for n in self.tree.body if isinstance(n, ast.Assign)
                and any(isinstance(t, ast.Name) and t.id == name for t in n.targets)]


def _imported(module: _Module, name: str) -> _Module | None:
    for node in module.tree.body:
        if isinstance(node, ast.ImportFrom) and any(a.name == name for a in node.names):
            return _Module(ROOT / (node.module.replace(".", "/") + ".py"))
    return None


def _resolve(module: _Module, node: ast.AST) -> set[str]:
    """Every string ``node`` can hold, or an AssertionError saying where it cannot tell."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return {node.value}
    if isinstance(node, ast.IfExp):
        return _resolve(module, node.body) | _resolve(module, node.orelse)
    if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name):
        source = _imported(module, node.value.id) or module
        return {value for table in source.module_values(node.value.id)
                if isinstance(table, ast.Dict) for v in table.values
                for value in _resolve(source, v)}
    if isinstance(node, ast.Name):
        for function in module.functions_around(node):
            parameters = [a.arg for a in function.args.args]
            if node.id in parameters:  # the callers in the module say which
                index = parameters.index(node.id)
                found: set[str] = set()
                for call in module.calls_to(function.name):
                    given = [k.value for k in call.keywords if k.arg == node.id]
                    found |= _resolve(module, given[0] if given else call.args[index])
                return found
            local = [n.value for n in ast.walk(function) if isinstance(n, ast.Assign)
                     and any(isinstance(t, ast.Name) and t.id == node.id for t in n.targets)]
            if local:
                return set().union(*(_resolve(module, v) for v in local))
        if values := module.module_values(node.id):
            return set().union(*(_resolve(module, v) for v in values))
        if (source := _imported(module, node.id)) is not None:
            return set().union(*(_resolve(source, v) for v in source.module_values(node.id)))
    raise AssertionError(f"{module.path.relative_to(ROOT)}:{node.lineno}: an audit action the "
                         "test cannot follow; write it as a constant or a table of them")


def written_actions() -> set[str]:
    """Every action passed to ``audit.record`` anywhere in core and the plugins."""
    actions = set()
    for path in SOURCES:
        module = _Module(path)
        for call in ast.walk(module.tree):
            if (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)
                    and call.func.attr == "record"
                    and isinstance(call.func.value, ast.Name) and call.func.value.id == "audit"):
                action = [k.value for k in call.keywords if k.arg == "action"]
                assert action, f"{path}:{call.lineno}: audit.record without action="
                actions |= _resolve(module, action[0])
    return actions


@pytest.mark.one_database
def test_every_action_written_anywhere_has_a_title(app):
    written = written_actions()
    # The scan finds actions of every writer: core, enrollment's subscribers and services,
    # certificates' and refunds' subscribers and services.
    assert {"staff.create", "attendance.save", "enrollment.email_changed", "session.move",
            "privacy.participants_merged", "certificate.reissue", "claim.paid",
            "rate.add"} <= written
    assert sorted(written - set(app.extensions[audit.WORDS_KEY].actions)) == []


@pytest.mark.one_database
def test_every_field_the_services_snapshot_has_a_title(app):
    fields = app.extensions[audit.WORDS_KEY].fields
    snapshots = {
        "enrollment": STATE_FIELDS, "course_offering": [*OFFERING_FIELDS, "status"],
        "course_session": SESSION_FIELDS, "claim": AUDIT_FIELDS,
        "certificate": [*CERTIFICATE_SUMMARY, "completed", "revoked_at", "revoked_reason"],
        "staff_user": ["email", "name", "county", "admin", "active", "locale"],
    }
    untitled = [(kind, name) for kind, names in snapshots.items() for name in names
                if (kind, name) not in fields and (None, name) not in fields]
    assert untitled == []


# --- the page in three languages ---------------------------------------------------------------

# 07:30 UTC on 3 March is 08:30 in Oslo; 1 July 06:00 UTC is 08:00 in Oslo (summer time).
SAVED_AT = datetime(2026, 3, 3, 7, 30, tzinfo=UTC)
EXPECTED = {
    "nn": {"attendance": "Oppmøte registrert", "moved": "Kursdag endra", "starts": "Starttid",
           "present": "Til stades", "absent": "Fråverande", "when": "3. mars 2026, 08:30",
           "new_start": "1. juli 2026, 08:00", "anonymised": "Anonymisert deltakar"},
    "nb": {"attendance": "Oppmøte registrert", "moved": "Kursdag endret", "starts": "Starttid",
           "present": "Til stede", "absent": "Fraværende", "when": "3. mars 2026, 08:30",
           "new_start": "1. juli 2026, 08:00", "anonymised": "Anonymisert deltaker"},
    "en": {"attendance": "Attendance recorded", "moved": "Course day changed",
           "starts": "Start time", "present": "Present", "absent": "Absent",
           "when": "3 March 2026, 08:30", "new_start": "1 July 2026, 08:00",
           "anonymised": "Anonymised participant"},
}


@pytest.fixture
def logged_events(app, make_offering, make_staff, now):
    """Kari (staff) saved attendance for Åse and Ola, moved a course day and issued Ola a
    certificate by hand; Ola has since been anonymised."""
    make_staff(email="kari@sfvl.no", name="Kari Saksbehandlar")
    offering = make_offering(capacity=5)
    ids = [enroll(app, offering.id, n, now, full_name=name).enrollment.id
           for n, name in ((1, "Åse Ødegård"), (2, "Ola Gløymd"))]
    with app.app_context(), session_scope(app.extensions["kp_engine"]) as session:
        kari = session.scalar(sa.select(StaffUser).where(StaffUser.email == "kari@sfvl.no"))
        day = session.scalar(sa.select(CourseSession).where(
            CourseSession.offering_id == offering.id).limit(1))
        county = offering.county_id
        saved = audit.record(session, actor=kari, action="attendance.save",
                             object_type="course_session", object_id=day.id, county_id=county,
                             before={str(ids[0]): None, str(ids[1]): None},
                             after={str(ids[0]): True, str(ids[1]): False})
        saved.at = SAVED_AT
        audit.record(session, actor=kari, action="session.move", object_type="course_session",
                     object_id=day.id, county_id=county,
                     before={"starts_at": day.starts_at},
                     after={"starts_at": datetime(2026, 7, 1, 6, tzinfo=UTC)})
        certificate = Certificate(enrollment_id=ids[1], code="KP-TEST-1",
                                  snapshot={"name": "Ola Gløymd"})
        session.add(certificate)
        session.flush()
        audit.record(session, actor=kari, action="certificate.issue_by_hand",
                     object_type="certificate", object_id=certificate.id, county_id=county,
                     after={"name": "Ola Gløymd", "enrollment_id": ids[1]})
        ola = session.get(Enrollment, ids[1]).participant
        ola.full_name, ola.anonymised_at = "Anonymisert", now
    return ids


def test_the_audit_log_reads_in_words_in_each_language(app, client, logged_events,
                                                       count_queries):
    staff_login(app, client, "kari@sfvl.no")
    for locale, words in EXPECTED.items():
        client.get(f"/lang/{locale}")

        with count_queries() as queries:
            response = client.get("/staff/audit")
        body = html.unescape(response.get_data(as_text=True))
        table = body.split('<table class="ds-table stack audit">', 1)[1]

        assert response.status_code == 200
        assert words["attendance"] in table, locale
        assert words["moved"] in table
        assert "attendance.save" not in table.replace('data-action="attendance.save"', "")
        assert "starts_at" not in table
        assert f"<dt>{words['starts']}</dt>" in table
        assert words["when"] in table  # the event's time, in Oslo
        assert words["new_start"] in table  # a time in the after, in Oslo too
        assert "Kari Saksbehandlar" in table  # staff by name
        assert re.search(rf"<dt>Åse Ødegård</dt>\s*<dd>.*?→.*?{words['present']}", table, re.S)
        # Ola was anonymised: named as such, and his old name is nowhere, not even in what
        # the certificate stated (the row keeps it; the page does not show it).
        assert re.search(rf"<dt>{words['anonymised']}</dt>\s*<dd>.*?→.*?{words['absent']}",
                         table, re.S)
        assert "Gløymd" not in body
        # Events, their count, the staff and each type of object named: not a query a row.
        assert len(queries) <= 12, queries


@pytest.mark.one_database
def test_the_filters_offer_actions_by_their_titles(app, client, logged_events):
    client.get("/lang/nn")
    staff_login(app, client, "kari@sfvl.no")

    body = html.unescape(client.get("/staff/audit").get_data(as_text=True))

    assert '<option value="attendance.save">Oppmøte registrert</option>' in body
    assert '<option value="course_session">Kursdag</option>' in body


@pytest.mark.one_database
def test_an_action_or_field_with_no_words_still_reads_as_words(app):
    with app.test_request_context(headers={"Accept-Language": "en"}):
        assert action_title("offering.set_capacity_later") == "Offering: set capacity later"
        assert object_type_title("voucher") == "Voucher"
        assert readable_value(True) == "yes"
        assert readable_value("2026-03-03") == "3 March 2026"
