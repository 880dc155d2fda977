"""The one inner shape of every plugin (DESIGN.md, "Layout"): no module over 400 lines, and a
plugin's routes modules declare their routes on a ``core.routes.Routes`` table that the plugin's
``routes/__init__.py`` attaches, never on a Blueprint directly."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MAX_LINES = 400
BLUEPRINT_METHODS = {"route", "get", "post", "put", "patch", "delete", "before_request",
                     "after_request", "app_template_global", "app_template_filter",
                     "errorhandler", "context_processor"}


def _too_long(package: str, root: Path = ROOT) -> list[str]:
    return [f"{path.relative_to(root)}: {lines} lines"
            for path in sorted((root / package).rglob("*.py"))
            if (lines := len(path.read_text().splitlines())) > MAX_LINES]


def _routes_problems(package: str, root: Path = ROOT) -> list[str]:
    """What in ``<package>/routes/`` registers on a Blueprint, or escapes its ``__init__``."""
    folder = root / package / "routes"
    problems = []
    init = ast.parse((folder / "__init__.py").read_text())
    attached = {node.value.id for node in ast.walk(init)
                if isinstance(node, ast.Attribute) and node.attr == "routes"
                and isinstance(node.value, ast.Name)}
    for path in sorted(folder.glob("*.py")):
        if path.name == "__init__.py":
            continue
        tree = ast.parse(path.read_text())
        name = path.relative_to(root)
        tables = {target.id for node in ast.walk(tree) if isinstance(node, ast.Assign)
                  and isinstance(node.value, ast.Call)
                  and getattr(node.value.func, "id", None) == "Routes"
                  for target in node.targets if isinstance(target, ast.Name)}
        registers = any(
            isinstance(call, ast.Attribute) and call.attr in BLUEPRINT_METHODS
            for node in ast.walk(tree) for decorator in getattr(node, "decorator_list", [])
            for call in [decorator.func if isinstance(decorator, ast.Call) else decorator])
        if not tables and not registers:
            continue  # a helper the routes modules share (refunds/routes/claim_page.py)
        if tables != {"routes"}:
            problems.append(f"{name}: declares no `routes = Routes()` table")
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Blueprint":
                problems.append(f"{name}:{node.lineno}: makes a Blueprint")
            decorators = getattr(node, "decorator_list", [])
            for decorator in decorators:
                call = decorator.func if isinstance(decorator, ast.Call) else decorator
                if (isinstance(call, ast.Attribute) and call.attr in BLUEPRINT_METHODS
                        and isinstance(call.value, ast.Name) and call.value.id not in tables):
                    problems.append(f"{name}:{decorator.lineno}: registers on "
                                    f"`{call.value.id}`, not on its Routes table")
        if path.stem not in attached:
            problems.append(f"{name}: its table is not attached in routes/__init__.py")
    return problems


PLUGINS = ("enrollment", "certificates", "refunds")
# Each plugin's inner shape: a module or a package of that name.
SHAPE = ("__init__", "settings", "models", "forms", "errors", "services", "cli", "routes")
MAIL_CALLS = {"queue_mail", "record_mail"}


def _stray_forms(package: str, root: Path = ROOT) -> list[str]:
    """Form classes declared outside the plugin's forms module or package."""
    return [f"{path.relative_to(root)}: {node.name}"
            for path in sorted((root / package).rglob("*.py"))
            if path.name != "forms.py" and "forms" not in path.relative_to(root).parts[1:-1]
            and path.parent.name != "forms"
            for node in ast.walk(ast.parse(path.read_text()))
            if isinstance(node, ast.ClassDef)
            and any(getattr(base, "id", "").endswith("Form") for base in node.bases)]


@pytest.mark.parametrize("plugin", PLUGINS)
def test_every_plugin_has_the_one_shape(plugin):
    package = ROOT / plugin
    missing = [name for name in SHAPE
               if not (package / f"{name}.py").is_file()
               and not (package / name / "__init__.py").is_file()]
    assert missing == []
    assert (package / "routes" / "__init__.py").is_file()
    assert _routes_problems(plugin) == []
    assert _stray_forms(plugin) == []
    # All of a plugin's mail is in its mail.py, or its mail/ package when one module would
    # be too long (certificates send none).
    stray_mail = [f"{path.relative_to(ROOT)}:{node.lineno}"
                  for path in sorted(package.rglob("*.py"))
                  if path.name != "mail.py" and path.parent != package / "mail"
                  for node in ast.walk(ast.parse(path.read_text()))
                  if isinstance(node, ast.Call)
                  and getattr(node.func, "id", getattr(node.func, "attr", None)) in MAIL_CALLS]
    assert stray_mail == []


@pytest.mark.parametrize("package", [*PLUGINS, "core"])
def test_no_module_passes_400_lines(package):
    """A module that grows past 400 lines is split by subject (DESIGN.md)."""
    assert _too_long(package) == []


def test_the_layout_check_catches_a_long_module_and_a_routes_module_using_its_blueprint(
        tmp_path):
    routes = tmp_path / "plugin" / "routes"
    routes.mkdir(parents=True)
    (routes / "__init__.py").write_text(
        "from flask import Blueprint\nfrom core.routes import attach\n"
        "from plugin.routes import good\nbp = attach(Blueprint('p', 'p'), good.routes)\n")
    (routes / "good.py").write_text(
        "from core.routes import Routes\nroutes = Routes()\n\n"
        "@routes.get('/a')\ndef a():\n    return ''\n")
    (routes / "bad.py").write_text(
        "from plugin.routes import bp\n\n@bp.get('/b')\ndef b():\n    return ''\n")
    (tmp_path / "plugin" / "long.py").write_text("x = 1\n" * 401)
    assert _too_long("plugin", tmp_path) == ["plugin/long.py: 401 lines"]
    assert _routes_problems("plugin", tmp_path) == [
        "plugin/routes/bad.py: declares no `routes = Routes()` table",
        "plugin/routes/bad.py:3: registers on `bp`, not on its Routes table",
        "plugin/routes/bad.py: its table is not attached in routes/__init__.py",
    ]


ROUTE_DECORATORS = {"route", "get", "post", "put", "patch", "delete"}


def _commits_in_views(root: Path = ROOT) -> list[str]:
    """``commit()``/``rollback()`` calls in a plugin's routes modules (anywhere in them) and in
    any function of core or a plugin that is registered as a route."""
    found = []
    for path in sorted(p for package in ("core", *PLUGINS) for p in (root / package).rglob("*.py")):
        tree = ast.parse(path.read_text())
        in_routes = "routes" in path.relative_to(root).parts[:-1]
        scopes = [tree] if in_routes else [
            node for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)
            and any(isinstance(d, ast.Call) and isinstance(d.func, ast.Attribute)
                    and d.func.attr in ROUTE_DECORATORS for d in node.decorator_list)]
        found += [f"{path.relative_to(root)}:{node.lineno} {node.func.attr}()"
                  for scope in scopes for node in ast.walk(scope)
                  if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                  and node.func.attr in {"commit", "rollback"}]
    return found


def test_no_view_commits_or_rolls_back():
    """The request's edge commits (core/transaction.py); a view never does."""
    assert _commits_in_views() == []


def test_the_commit_check_catches_a_view_that_commits(tmp_path):
    (tmp_path / "core").mkdir()
    (tmp_path / "core" / "views.py").write_text(
        "@bp.post('/x')\ndef x():\n    session.commit()\n\n"
        "def command():\n    session.commit()\n")
    for plugin in PLUGINS:
        (tmp_path / plugin / "routes").mkdir(parents=True)
    (tmp_path / "refunds" / "routes" / "helper.py").write_text(
        "def refuse():\n    get_session().rollback()\n")
    assert _commits_in_views(tmp_path) == ["core/views.py:3 commit()",
                                           "refunds/routes/helper.py:2 rollback()"]
