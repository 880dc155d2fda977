"""Copy what the pages use from design/node_modules (installed by `npm ci` from the committed
lockfile) into static/vendor/, with each package's licence and version. Run by `make design`;
its output is committed, so `make run` never needs Node.

- @digdir/designsystemet-css: the components (dist/src/index.css) and its default theme
  (dist/theme/designsystemet.css), both inside the CSS layer ``ds``.
- @fontsource-variable/inter: Inter, the theme's typeface, as the variable font; only the
  Latin and Latin Extended subsets (Norwegian, Sami, the names people type) and their
  ``@font-face`` rules taken from the package's own index.css.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from pathlib import Path

HERE = Path(__file__).parent
MODULES = HERE / "node_modules"
VENDOR = HERE.parent / "static" / "vendor"
SUBSETS = ("latin-ext", "latin")


def version(package: Path) -> str:
    return json.loads((package / "package.json").read_text())["version"]


def designsystemet() -> None:
    package = MODULES / "@digdir" / "designsystemet-css"
    out = VENDOR / "designsystemet"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    shutil.copy(package / "dist" / "src" / "index.css", out / "designsystemet.css")
    shutil.copy(package / "dist" / "theme" / "designsystemet.css", out / "theme.css")
    shutil.copy(package / "LICENSE", out / "LICENSE")
    (out / "VERSION").write_text(f"@digdir/designsystemet-css {version(package)}\n")


def inter() -> None:
    package = MODULES / "@fontsource-variable" / "inter"
    out = VENDOR / "inter"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    rules = re.findall(r"/\* inter-([a-z-]+)-wght-normal \*/\s*(@font-face \{.*?\})",
                       (package / "index.css").read_text(), flags=re.S)
    kept = []
    for subset, rule in rules:
        if subset in SUBSETS:
            name = f"inter-{subset}-wght-normal.woff2"
            shutil.copy(package / "files" / name, out / name)
            # The font's address carries its fingerprint, as the app's own static URLs do
            # (core.caching: the first 12 hex digits of its SHA-256), so browsers keep it
            # for a year instead of asking again on every page.
            digest = hashlib.sha256((out / name).read_bytes()).hexdigest()[:12]
            kept.append(rule.replace(f"./files/{name}", f"{name}?v={digest}"))
    if len(kept) != len(SUBSETS):
        raise SystemExit(f"expected the subsets {SUBSETS} in {package / 'index.css'}")
    (out / "inter.css").write_text("\n\n".join(kept) + "\n")
    shutil.copy(package / "LICENSE", out / "LICENSE")
    (out / "VERSION").write_text(f"@fontsource-variable/inter {version(package)}\n")


if __name__ == "__main__":
    designsystemet()
    inter()
    for path in sorted(VENDOR.rglob("*")):
        if path.is_file():
            print(f"{path.relative_to(VENDOR.parent.parent)}  {path.stat().st_size:,} bytes")
