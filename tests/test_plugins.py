"""The plugin boundaries: core boots alone, each combination of plugins boots and renders the
pages every deployment has, and the one-way dependency rule (``refunds → enrollment → core``,
``certificates → enrollment → core``, refunds and certificates never import each other, no
plugin imports ``app``) holds in the imports of every module and in what a fresh interpreter
actually loads for each combination."""

from __future__ import annotations

import ast
import html
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from app import create_app
from core.cli import load_counties
from core.db import session_scope
from core.models import County

ROOT = Path(__file__).resolve().parent.parent
NOT_PLUGINS = {"core", "tests", "bench", "migrations", "translations", "templates", "static",
               "instance", "build", "docs"}
# Every package beside core with an ``init_app`` is a plugin.
PLUGINS = sorted(
    path.parent.name for path in ROOT.glob("*/__init__.py")
    if path.parent.name not in NOT_PLUGINS and "def init_app" in path.read_text()
)
# What each side may never import (DESIGN.md, "Layout").
FORBIDDEN = {"core": set(PLUGINS) | {"app"},
             "enrollment": {"refunds", "certificates", "app"},
             **{plugin: {"app"} for plugin in PLUGINS if plugin != "enrollment"}}
FORBIDDEN["certificates"] |= {"refunds"}
FORBIDDEN["refunds"] |= {"certificates"}
# Plugin lists an application is built with.
COMBINATIONS = [[], ["enrollment"], ["enrollment", "certificates"], ["enrollment", "refunds"],
                ["enrollment", "certificates", "refunds"]]
EN = {"Accept-Language": "en"}


def test_the_plugins_are_the_packages_beside_core():
    assert {"enrollment", "certificates", "refunds"} <= set(PLUGINS)
    assert set(FORBIDDEN) == {"core", *PLUGINS}


# --- core alone and each combination boots -----------------------------------------------------


def _text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


@pytest.mark.parametrize("plugins", COMBINATIONS, ids=lambda p: "+".join(p) or "core-alone")
def test_every_combination_serves_health_privacy_language_front_login_and_404(
        app_config, plugins):
    application = create_app({**app_config, "PLUGINS": plugins})
    with session_scope(application.extensions["kp_engine"]) as session:
        load_counties(session)
        emails = set(session.scalars(sa.select(County.email)))
    client = application.test_client()
    try:
        assert client.get("/healthz").get_json() == {"status": "ok", "database": "ok"}

        choose = client.get("/lang/en?next=/privacy")
        assert (choose.status_code, choose.headers["Location"]) == (302, "/privacy")
        notice = client.get("/privacy")
        text = _text(notice)
        assert notice.status_code == 200
        assert '<html lang="en"' in text
        assert "Who is responsible" in text
        assert "Your rights and whom to contact" in text
        # Every office of the database is named, with its address.
        assert len(emails) == 10
        for email in emails:
            assert f'<a href="mailto:{email}">{email}</a>' in text
        # What is stored is said by the plugin that stores it.
        assert ("What we store" in text) == ("enrollment" in plugins)

        front = client.get("/")
        assert front.status_code == 200
        assert ("Nothing here yet" in _text(front)) == (not plugins)
        assert '<a class="brand" href="/">' in _text(front)

        login = client.get("/staff/login")
        assert login.status_code == 200
        assert 'name="password"' in _text(login)
        assert 'href="/privacy"' in _text(login)

        missing = client.get("/no-such-page")
        assert missing.status_code == 404
        assert "Page not found" in _text(missing)
    finally:
        application.extensions["kp_engine"].dispose()


def test_core_alone_front_page_and_privacy_notice_speak_nynorsk(app_config):
    application = create_app({**app_config, "PLUGINS": []})
    client = application.test_client()
    client.get("/lang/nn")
    try:
        assert "Ingenting her enno" in _text(client.get("/"))
        assert "Kven som er ansvarleg" in _text(client.get("/privacy"))
        assert client.get("/privacy?county=atlantis").status_code == 404
        assert not any(e.split(".")[0] in PLUGINS for e in application.view_functions)
    finally:
        application.extensions["kp_engine"].dispose()


# --- the dependency rule, from the source ------------------------------------------------------


def _imported_names(tree: ast.AST, package: str) -> set[str]:
    """Top-level names a module imports, anywhere in it (function-local imports too), and the
    constant names it hands to ``importlib.import_module``."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            found.add(package if node.level else node.module or "")
        elif (isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "import_module"
              and node.args and isinstance(node.args[0], ast.Constant)):
            found.add(str(node.args[0].value))
    return {name.partition(".")[0] for name in found}


def test_no_module_imports_across_the_rule():
    problems, checked = [], 0
    for package, forbidden in FORBIDDEN.items():
        for path in sorted((ROOT / package).rglob("*.py")):
            tree = ast.parse(path.read_text(), filename=str(path))
            checked += 1
            for name in sorted(_imported_names(tree, package) & forbidden):
                problems.append(f"{path.relative_to(ROOT)} imports {name}")
    assert checked > 60
    assert problems == [], "\n".join(problems)


# --- the dependency rule, in a fresh interpreter -----------------------------------------------

# Loads app.py under another name, so that an ``import app`` anywhere shows in sys.modules,
# records who first imported each of our modules, builds the application, answers a few pages
# (imports made at request time count too) and prints what it found as JSON.
PROBE = r"""
import importlib.abc, importlib.util, json, sys
OURS = set(json.loads(sys.argv[1]))
edges = []

class Recorder(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in OURS:
            frame = sys._getframe(1)
            while frame is not None and frame.f_globals.get("__name__", "").startswith(
                    ("importlib", "_frozen_importlib")):
                frame = frame.f_back
            edges.append([frame.f_globals.get("__name__") if frame else None, name])
        return None

sys.meta_path.insert(0, Recorder())
spec = importlib.util.spec_from_file_location("kp_factory", "app.py")
factory = importlib.util.module_from_spec(spec)
spec.loader.exec_module(factory)
application = factory.create_app({"TESTING": True, "SECRET_KEY": "x", "DATABASE_URL": sys.argv[3],
                                  "PLUGINS": json.loads(sys.argv[2])})
client = application.test_client()
statuses = {url: client.get(url).status_code
            for url in ("/healthz", "/lang/en", "/privacy", "/", "/staff/login", "/missing")}
loaded = sorted(m for m in sys.modules if m.partition(".")[0] in OURS)
print(json.dumps({"loaded": loaded, "edges": edges, "statuses": statuses}))
"""


@pytest.mark.parametrize("plugins", COMBINATIONS, ids=lambda p: "+".join(p) or "core-alone")
def test_a_fresh_interpreter_loads_only_what_the_rule_allows(tmp_path, sqlite_template, plugins):
    database = tmp_path / "probe.sqlite"
    shutil.copy(sqlite_template, database)
    ours = ["app", "core", *PLUGINS]
    result = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(ours), json.dumps(plugins),
         f"sqlite:///{database}"],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])

    assert report["statuses"] == {"/healthz": 200, "/lang/en": 302, "/privacy": 200, "/": 200,
                                  "/staff/login": 200, "/missing": 404}
    packages = {name.partition(".")[0] for name in report["loaded"]}
    # Only core and the plugins asked for are loaded, and nothing imported ``app``.
    assert packages == {"core", *plugins}
    assert any(name.startswith("core.") for name in report["loaded"])
    crossings = []
    for importer, imported in report["edges"]:
        side = (importer or "").partition(".")[0]
        if imported.partition(".")[0] in FORBIDDEN.get(side, set()):
            crossings.append(f"{importer} imported {imported}")
    assert crossings == [], "\n".join(crossings)
    assert len(report["edges"]) > 20
