"""``make screenshots``' page list resolves: built the way the script builds it (migrations, the
demo data, a known manage link, claims, a staff member signed in with both steps), every page it
photographs answers as a person would see it, without starting a browser."""

import importlib.util
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent.parent / "tools" / "screenshots.py"


def test_screenshot_pages_all_answer(capsys, monkeypatch):
    spec = importlib.util.spec_from_file_location("screenshots", SCRIPT)
    screenshots = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "screenshots", screenshots)  # its dataclasses look there
    spec.loader.exec_module(screenshots)

    assert screenshots.main(["--check"]) == 0, capsys.readouterr().err
    assert "8 of 8 pages answer as expected" in capsys.readouterr().out
