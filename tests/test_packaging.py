"""Packaging: building the project prints no setuptools warnings, and the wheel holds every
module, template, data file and font of core and the plugins."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from tests.conftest import require
from tests.test_plugins import PLUGINS

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ["core", *PLUGINS]
SKIP = shutil.ignore_patterns("__pycache__", "*.pyc")


def _source_files(top: Path) -> set[str]:
    return {path.relative_to(top).as_posix() for package in PACKAGES
            for path in (top / package).rglob("*")
            if path.is_file() and "__pycache__" not in path.parts}


def test_a_wheel_builds_without_warnings_and_holds_every_template_data_file_and_font(tmp_path):
    # A copy, so the build's own build/ and egg-info folders stay out of the checkout.
    source = tmp_path / "source"
    source.mkdir()
    for name in ("pyproject.toml", "app.py"):
        shutil.copy(ROOT / name, source / name)
    for package in PACKAGES:
        shutil.copytree(ROOT / package, source / package, ignore=SKIP)
    # distutils says "byte-compiling is disabled" when this is set; that is not the build's.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--verbose",
         "--disable-pip-version-check", "-w", str(tmp_path / "wheel"), str(source)],
        capture_output=True, text=True, timeout=120, env=env, check=False)
    if result.returncode != 0 and "setuptools" in result.stderr + result.stdout and (
            "Could not find a version" in result.stderr or "connection" in result.stderr.lower()):
        require("pip could not fetch setuptools to build with (no package index)")
    assert result.returncode == 0, result.stderr[-3000:]

    output = result.stdout + result.stderr
    warnings = [line for line in output.splitlines()
                if "warn" in line.lower() and not line.startswith("WARNING: Retrying")]
    assert warnings == [], "\n".join(warnings[:20])
    (wheel,) = (tmp_path / "wheel").glob("kursportal-*.whl")
    names = {name for name in zipfile.ZipFile(wheel).namelist() if ".dist-info/" not in name}
    expected = _source_files(ROOT) | {"app.py"}
    assert names == expected
    for kind in (".html", ".txt", ".json", ".ttf"):
        assert any(name.endswith(kind) for name in names)
    assert "core/fonts/DejaVuSans.ttf" in names
    assert "enrollment/templates/enrollment/mail/_layout.html" in names
    assert "refunds/data/rate_schemes.json" in names
