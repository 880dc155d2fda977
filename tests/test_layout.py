"""The tree keeps the one plugin shape: no module over 400 lines, and a plugin's routes modules
declare their routes on a ``core.routes.Routes`` table, attached in ``routes/__init__.py``,
never on a Blueprint directly."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MAX_LINES = 400
REGISTRATIONS = {"route", "get", "post", "put", "patch", "delete", "add_url_rule"}


def long_modules(package: str) -> dict[str, int]:
    """The package's modules over ``MAX_LINES`` lines, with their length."""
    lengths = {str(path.relative_to(ROOT)): len(path.read_text(encoding="utf-8").splitlines())
               for path in (ROOT / package).rglob("*.py")}
    return {name: lines for name, lines in lengths.items() if lines > MAX_LINES}


def routes_off_the_table(source: str) -> list[int]:
    """The lines where ``source`` registers a route on anything but its ``routes`` table
    (``@bp.get("/x")``, ``bp.add_url_rule("/x", ...)``)."""
    return [node.lineno for node in ast.walk(ast.parse(source))
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and node.func.attr in REGISTRATIONS
            and isinstance(node.func.value, ast.Name) and node.func.value.id != "routes"
            and node.args and isinstance(node.args[0], ast.Constant)
            and str(node.args[0].value).startswith("/")]


def test_no_module_of_refunds_or_core_passes_400_lines():
    assert long_modules("refunds") == {}
    assert long_modules("core") == {}


def test_refunds_routes_are_declared_on_routes_tables_attached_in_one_place():
    package = ROOT / "refunds" / "routes"
    modules = {p.stem: p.read_text(encoding="utf-8")
               for p in sorted(package.glob("*.py")) if p.name != "__init__.py"}
    assert {"claims", "receipts", "staff_claims"} <= set(modules)
    assert {name: routes_off_the_table(source) for name, source in modules.items()
            if routes_off_the_table(source)} == {}
    attached = (package / "__init__.py").read_text(encoding="utf-8")
    for name, source in modules.items():
        if "routes = Routes()" in source:
            assert f"{name}.routes" in attached, f"refunds/routes/{name}.py is not attached"


def test_the_layout_check_catches_a_route_on_a_blueprint():
    assert routes_off_the_table('@bp.get("/x")\ndef x():\n    pass\n') == [1]
    assert routes_off_the_table('bp.add_url_rule("/x", "x", x)\n') == [1]
    assert routes_off_the_table('@routes.get("/x")\ndef x():\n    pass\n') == []
