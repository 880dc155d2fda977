"""Designsystemet as vendored: what static/vendor holds is what design/package-lock.json pins
(``make design`` writes both the files and their VERSION), with each package's licence, and
every page loads it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
VENDOR = ROOT / "static" / "vendor"
PACKAGES = {"designsystemet": "@digdir/designsystemet-css", "inter": "@fontsource-variable/inter"}

pytestmark = pytest.mark.one_database


def locked_version(package: str) -> str:
    lock = json.loads((ROOT / "design" / "package-lock.json").read_text())
    return lock["packages"][f"node_modules/{package}"]["version"]


@pytest.mark.parametrize("folder", sorted(PACKAGES))
def test_the_vendored_files_are_the_locked_versions_with_their_licence(folder):
    package = PACKAGES[folder]
    assert (VENDOR / folder / "VERSION").read_text().split() == [package, locked_version(package)]
    assert "Permission is hereby granted" in (VENDOR / "designsystemet" / "LICENSE").read_text()
    assert "SIL Open Font License" in (VENDOR / "inter" / "LICENSE").read_text()
    pinned = json.loads((ROOT / "design" / "package.json").read_text())["dependencies"]
    assert pinned[package] == locked_version(package)  # an exact pin, not a range


def test_every_page_loads_the_design_system_and_no_other_site(client):
    html = client.get("/").get_data(as_text=True)
    for sheet in ("vendor/designsystemet/theme.css", "vendor/designsystemet/designsystemet.css",
                  "vendor/inter/inter.css", "style.css"):
        assert f'href="/static/{sheet}?v=' in html
    assert "https://" not in html.split("</head>")[0]
    css = client.get("/static/vendor/inter/inter.css").get_data(as_text=True)
    # The font's address carries the app's own fingerprint of it: kept a year, never re-asked.
    address = re.search(r"url\((inter-latin-wght-normal\.woff2\?v=\w+)\)", css).group(1)
    font = client.get(f"/static/vendor/inter/{address}")
    assert font.status_code == 200
    assert font.data[:4] == b"wOF2"
    assert "immutable" in font.headers["Cache-Control"]
