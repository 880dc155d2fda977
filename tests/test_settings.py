"""Every setting is documented and checked at start: docs/configuration.md names each key the
code reads (and nothing nobody reads), and a wrong type or value stops the start with a message
naming the setting instead of a 500 later."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree

import pytest
from flask import Flask

from app import create_app
from certificates.settings import SETTINGS as CERTIFICATES_SETTINGS
from core import settings as core_settings
from core.settings import ConfigurationError
from enrollment.settings import SETTINGS as ENROLLMENT_SETTINGS
from refunds.exports import PAIN_001
from refunds.models import ClaimStatus as S
from refunds.settings import SETTINGS as REFUNDS_SETTINGS
from tests.test_refunds_web import claim_row, staff_client, submitted_claim, world  # noqa: F401

ROOT = Path(__file__).resolve().parent.parent
SOURCES = [*(ROOT / "core").rglob("*.py"), *(ROOT / "enrollment").rglob("*.py"),
           *(ROOT / "certificates").rglob("*.py"), *(ROOT / "refunds").rglob("*.py"),
           ROOT / "app.py", ROOT / "gunicorn.conf.py"]
TEMPLATES = [*ROOT.glob("templates/**/*.html"), *ROOT.glob("*/templates/**/*.html")]
CONFIG_NAMES = {"config", "cfg"}  # what the code calls a configuration mapping
READ_METHODS = {"get", "setdefault", "pop", "__getitem__"}
# Reads by a computed key, on purpose: the registry itself and the rate-limit helper (whose
# callers, ``config_limit("…")``, are scanned instead).
COMPUTED_KEYS_ALLOWED = {("core/settings.py", "declare"), ("core/limits.py", "config_limit")}
# Flask's and its extensions' own settings: read by them, not by our code.
EXTERNAL_PREFIXES = ("RATELIMIT_", "WTF_CSRF_", "REMEMBER_COOKIE_", "SESSION_COOKIE_")
NS = {"p": PAIN_001}
DEBTOR = {"REFUNDS_DEBTOR_NAME": "Statsforvaltaren i Vestland"}


def _is_config(node: ast.AST) -> bool:
    return ((isinstance(node, ast.Name) and node.id in CONFIG_NAMES)
            or (isinstance(node, ast.Attribute) and node.attr == "config"))


def _is_environ(node: ast.AST) -> bool:
    return isinstance(node, ast.Attribute) and node.attr == "environ"


def _key(node: ast.AST | None) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


class _Reads(ast.NodeVisitor):
    """The configuration keys and environment variables one module reads."""

    def __init__(self, path: str):
        self.path, self.function = path, ""
        self.settings: dict[str, str] = {}
        self.environment: dict[str, str] = {}
        self.computed: list[str] = []

    def visit_FunctionDef(self, node):  # noqa: D102, N802
        outer, self.function = self.function, node.name
        self.generic_visit(node)
        self.function = outer

    def _read(self, into: dict, key_node: ast.AST | None, node: ast.AST) -> None:
        where = f"{self.path}:{node.lineno}"
        key = _key(key_node)
        if key is not None:
            into.setdefault(key, where)
        elif (self.path, self.function) not in COMPUTED_KEYS_ALLOWED:
            self.computed.append(where)

    def visit_Subscript(self, node):  # noqa: D102, N802
        if _is_config(node.value):
            self._read(self.settings, node.slice, node)
        elif _is_environ(node.value):
            self._read(self.environment, node.slice, node)
        self.generic_visit(node)

    def visit_Call(self, node):  # noqa: D102, N802
        func, first = node.func, node.args[0] if node.args else None
        if isinstance(func, ast.Attribute) and func.attr in READ_METHODS:
            if _is_config(func.value):
                self._read(self.settings, first, node)
            elif _is_environ(func.value):
                self._read(self.environment, first, node)
        elif isinstance(func, ast.Attribute) and func.attr == "getenv":
            self._read(self.environment, first, node)
        elif isinstance(func, ast.Name) and func.id == "config_limit":
            self._read(self.settings, first, node)
        for keyword in node.keywords:
            if keyword.arg == "envvar":  # click options read from the environment
                self._read(self.environment, keyword.value, node)
        self.generic_visit(node)


def code_reads() -> tuple[dict[str, str], dict[str, str], list[str]]:
    """Every setting and environment variable the code reads, each with one place it is read,
    and the places that read a key the scan cannot see."""
    settings: dict[str, str] = {}
    environment: dict[str, str] = {}
    computed: list[str] = []
    for path in SOURCES:
        reads = _Reads(path.relative_to(ROOT).as_posix())
        reads.visit(ast.parse(path.read_text(), str(path)))
        for key, where in reads.settings.items():
            settings.setdefault(key, where)
        for key, where in reads.environment.items():
            environment.setdefault(key, where)
        computed += reads.computed
    for path in TEMPLATES:
        for number, line in enumerate(path.read_text().splitlines(), 1):
            for key in re.findall(r"\bconfig\.([A-Z][A-Z0-9_]*)", line):
                settings.setdefault(key, f"{path.relative_to(ROOT)}:{number}")
    return settings, environment, computed


def documented() -> tuple[set[str], set[str]]:
    """The names in docs/configuration.md's tables: settings (tables headed "setting") and
    environment-only variables (tables headed "variable")."""
    settings: set[str] = set()
    environment: set[str] = set()
    into = None
    for line in (ROOT / "docs" / "configuration.md").read_text().splitlines():
        if not line.startswith("|"):
            into = None
            continue
        first = line.split("|")[1].strip()
        if into is None:
            into = {"setting": settings, "variable": environment}.get(first)
            continue
        if into is not None:
            into.update(re.findall(r"`([A-Z][A-Z0-9_]+)`", first))
    return settings, environment


def declared() -> set[str]:
    """The settings with a type and a check (core and the plugins)."""
    return {s.name for s in (*core_settings.CORE, *ENROLLMENT_SETTINGS, *CERTIFICATES_SETTINGS,
                             *REFUNDS_SETTINGS)}


def _external(name: str) -> bool:
    return name in Flask.default_config or name.startswith(EXTERNAL_PREFIXES)


def test_every_setting_the_code_reads_is_documented_and_every_documented_one_is_read():
    settings, environment, computed = code_reads()
    doc_settings, doc_environment = documented()
    assert not computed, f"configuration read by a computed key (name it literally): {computed}"
    undocumented = {k: w for k, w in settings.items() if k not in doc_settings}
    assert not undocumented, f"read but not in docs/configuration.md: {undocumented}"
    env_undocumented = {k: w for k, w in environment.items()
                        if k not in doc_environment and k not in doc_settings}
    assert not env_undocumented, f"environment read but not documented: {env_undocumented}"
    unread = {k for k in doc_settings if k not in settings and not _external(k)}
    assert not unread, f"documented but read nowhere: {sorted(unread)}"
    assert not doc_environment - set(environment), "documented environment variable unread"
    # The scan finds what it should (a guard against a scanner that finds nothing).
    assert {"REFUNDS_DEBTOR_ACCOUNT", "ENROLL_IP_RATE_LIMIT", "MAIL_USE_SSL",
            "STAFF_SESSION_IDLE_MINUTES", "SANDBOX_WALL_SECONDS"} <= set(settings)
    assert {"BIND", "WEB_CONCURRENCY", "DATABASE_URL", "KURSPORTAL_STAFF_PASSWORD"} <= set(
        environment)


def test_every_documented_setting_has_a_type_and_a_check():
    doc_settings, _ = documented()
    assert doc_settings == declared(), (
        f"documented, no check: {sorted(doc_settings - declared())}; "
        f"checked, not documented: {sorted(declared() - doc_settings)}")


def start(tmp_path, **config):
    """Create the app with ``config`` on a throwaway SQLite database."""
    app = create_app({"TESTING": True, "SECRET_KEY": "test-secret-key",
                      "DATABASE_URL": f"sqlite:///{tmp_path / 'settings.sqlite'}", **config})
    app.extensions["kp_engine"].dispose()
    return app


@pytest.mark.parametrize(("config", "stored"), [
    ({"REFUNDS_DEBTOR_ACCOUNT": 76940512057, **DEBTOR}, "76940512057"),
    ({"REFUNDS_DEBTOR_ACCOUNT": "7694.05.12057", **DEBTOR}, "76940512057"),
    ({"REFUNDS_DEBTOR_ACCOUNT": "no93 8601 1117 947", **DEBTOR}, "NO9386011117947"),
])
def test_the_paying_account_is_accepted_as_digits_a_number_or_an_iban(tmp_path, config, stored):
    assert start(tmp_path, **config).config["REFUNDS_DEBTOR_ACCOUNT"] == stored


@pytest.mark.parametrize(("config", "message"), [
    ({"REFUNDS_DEBTOR_ACCOUNT": 76940512058}, r"REFUNDS_DEBTOR_ACCOUNT must be a Norwegian "
     r"account number \(11 digits with a valid MOD11 check digit.*\(got 76940512058\)"),
    ({"REFUNDS_DEBTOR_ACCOUNT": "7694 05 1205"}, r"REFUNDS_DEBTOR_ACCOUNT must be .*MOD11"),
    ({"REFUNDS_DEBTOR_ACCOUNT": "NO9386011117948"}, r"REFUNDS_DEBTOR_ACCOUNT must be .*IBAN"),
    ({"REFUNDS_DEBTOR_ACCOUNT": ["76940512057"]}, r"REFUNDS_DEBTOR_ACCOUNT must be .*got \["),
    ({"ENROLL_IP_RATE_LIMIT": "lots per minute"},
     r"ENROLL_IP_RATE_LIMIT must be a rate limit like \"5 per 10 minutes\""),
    ({"RECEIPT_UPLOAD_RATE_LIMIT": 20}, r"RECEIPT_UPLOAD_RATE_LIMIT must be a rate limit"),
    ({"STAFF_SESSION_IDLE_MINUTES": "thirty"},
     r"STAFF_SESSION_IDLE_MINUTES must be a number greater than 0 \(got 'thirty'\)"),
    ({"STAFF_SESSION_MAX_HOURS": 0}, r"STAFF_SESSION_MAX_HOURS must be a number greater than 0"),
    ({"MAIL_PORT": "smtp"}, r"MAIL_PORT must be a whole number from 1 to 65535 or unset"),
    ({"PUBLIC_BASE_URL": "kurs.example.no"}, r"PUBLIC_BASE_URL must be an absolute http"),
    ({"DEFAULT_LOCALE": "de"}, r"DEFAULT_LOCALE must be one of 'nn', 'nb', 'en' \(got 'de'\)"),
    ({"PLUGINS": 5}, r"PLUGINS must be a list of names .*\(got 5\)"),
    ({"LOG_FORMAT": "xml"}, r"LOG_FORMAT must be one of 'text', 'json'"),
])
def test_a_wrong_type_or_value_refuses_to_start_naming_the_setting(tmp_path, config, message):
    with pytest.raises(ConfigurationError, match=message):
        start(tmp_path, **config)


def test_every_wrong_setting_is_named_at_once_and_a_secret_is_never_repeated(tmp_path):
    with pytest.raises(ConfigurationError) as raised:
        start(tmp_path, MAIL_PASSWORD=12345678, LOGIN_THROTTLE_MAX_SECONDS=-1, MAIL_USE_TLS="maybe")
    text = str(raised.value)
    assert text.startswith("Kursportal cannot start: 3 settings are wrong")
    assert "docs/configuration.md" in text
    assert "FLASK_<NAME>" in text
    assert "MAIL_PASSWORD must be a text or unset (got a value of type int)" in text
    assert "12345678" not in text
    assert "LOGIN_THROTTLE_MAX_SECONDS must be a number greater than 0 (got -1)" in text
    assert "MAIL_USE_TLS must be true or false (got 'maybe')" in text


def test_values_from_the_environment_arrive_as_their_readers_expect(tmp_path):
    app = start(tmp_path, EXTRA_TRUSTED_HOSTS="10.0.0.11, localhost", MAIL_USE_TLS="yes",
                STAFF_SESSION_IDLE_MINUTES="45", LOG_LEVEL="warning", PROXY_FIX_X_FOR="1")
    config = app.config
    assert config["EXTRA_TRUSTED_HOSTS"] == ["10.0.0.11", "localhost"]
    assert (config["MAIL_USE_TLS"], config["LOG_LEVEL"], config["PROXY_FIX_X_FOR"]) == (
        True, "WARNING", 1)
    assert config["STAFF_SESSION_IDLE_MINUTES"] == 45.0


def test_a_bad_environment_variable_stops_the_flask_command_with_the_message(tmp_path):
    env = {**os.environ, "FLASK_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.sqlite'}",
           "FLASK_SECRET_KEY": "k" * 64, "FLASK_PUBLIC_BASE_URL": "https://kurs.example.no",
           "FLASK_ENROLL_IP_RATE_LIMIT": "often", "FLASK_REFUNDS_DEBTOR_ACCOUNT": "12345678901"}
    result = subprocess.run([sys.executable, "-m", "flask", "--app", "app", "routes"],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "ConfigurationError: Kursportal cannot start" in result.stderr
    assert "ENROLL_IP_RATE_LIMIT must be a rate limit" in result.stderr
    assert "(got 'often')" in result.stderr


def test_the_payment_file_works_when_the_account_came_from_the_environment_as_a_number(
    app, world, database_url, monkeypatch  # noqa: F811  (the fixture of test_refunds_web)
):
    claim_id = submitted_claim(app, world)
    assert staff_client(app).post(f"/staff/refunds/claims/{claim_id}/approve",
                                  data={"own_car_approved": "yes"}).status_code == 302
    for name, value in {"TESTING": "true", "SECRET_KEY": "test-secret-key",
                        "DATABASE_URL": database_url, "WTF_CSRF_ENABLED": "false",
                        "RATELIMIT_ENABLED": "false",
                        "REFUNDS_DEBTOR_NAME": "Statsforvaltaren i Vestland",
                        "REFUNDS_DEBTOR_ACCOUNT": "76940512057"}.items():
        monkeypatch.setenv(f"FLASK_{name}", value)
    from_environment = create_app()
    try:
        assert from_environment.config["REFUNDS_DEBTOR_ACCOUNT"] == "76940512057"
        response = staff_client(from_environment).get("/staff/refunds/export.xml")
        assert response.status_code == 200
        document = ElementTree.fromstring(response.get_data())  # noqa: S314  (our own output)
        payment = document.find("p:CstmrCdtTrfInitn/p:PmtInf", namespaces=NS)
        assert payment.findtext("p:DbtrAcct/p:Id/p:Othr/p:Id", namespaces=NS) == "76940512057"
        claim = claim_row(app, claim_id)
        assert payment.findtext("p:CdtTrfTxInf/p:PmtId/p:EndToEndId",
                                namespaces=NS) == claim.reference
        assert claim.status == S.APPROVED  # the file pays; marking paid is a separate step
    finally:
        from_environment.extensions["kp_engine"].dispose()


def test_a_misspelt_environment_variable_is_named_in_the_log(tmp_path, monkeypatch, caplog):
    for name, value in {"TESTING": "true", "SECRET_KEY": "test-secret-key",
                        "DATABASE_URL": f"sqlite:///{tmp_path / 'env.sqlite'}",
                        "RUN_PORT": "5001",
                        "REFUNDS_DEBTOR_ACOUNT": "76940512057",
                        "STAFF_SESSION_IDLE_MINUTES": "20"}.items():
        monkeypatch.setenv(f"FLASK_{name}", value)
    with caplog.at_level("WARNING", logger="kursportal.settings"):
        app = create_app()
    app.extensions["kp_engine"].dispose()
    assert app.config["STAFF_SESSION_IDLE_MINUTES"] == 20
    assert "REFUNDS_DEBTOR_ACCOUNT" not in app.config  # the typo set nothing it meant to
    warnings = [r.getMessage() for r in caplog.records if r.name == "kursportal.settings"]
    assert ("FLASK_REFUNDS_DEBTOR_ACOUNT names no setting of Kursportal and is ignored "
            "(docs/configuration.md lists them)") in warnings
    assert not [w for w in warnings if w.startswith(("FLASK_RUN_PORT", "FLASK_STAFF", "FLASK_TE"))]
