"""The benchmarks' figures, kept for the README: each script records its pages' throughput
beside the same-run baseline (hello) in ``bench/results/<script>.json``, and the chart
``docs/performance.svg`` is drawn again from all recorded results, so a run of one script
updates its own bars and keeps the others'.

Run on its own (``python bench/figures.py``) it only redraws the chart from the recorded files.
"""

from __future__ import annotations

import json
import math
import platform
import sys
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from html import escape
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = ROOT / "bench" / "results"
CHART = ROOT / "docs" / "performance.svg"
# Scripts in the order the chart shows them.
SCRIPTS = ("catalog", "burst", "staff")


@dataclass
class Figure:
    """One page's throughput beside its baseline's, measured in the same run."""
    label: str
    rate: float          # requests (or enrollments) a second
    baseline_label: str
    baseline_rate: float
    unit: str = "req/s"
    p99_ms: float | None = None
    baseline_p99_ms: float | None = None

    @property
    def ratio(self) -> float:
        return self.rate / self.baseline_rate if self.baseline_rate else 0.0


def record(script: str, figures: list[Figure], context: str,
           results_dir: Path = RESULTS_DIR, chart: Path = CHART) -> Path:
    """Write one script's figures and redraw the chart from every script's latest figures."""
    results_dir.mkdir(parents=True, exist_ok=True)
    path = results_dir / f"{script}.json"
    payload = {
        "script": script,
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {_cpus()} CPUs, Python {platform.python_version()}",
        "context": context,
        "figures": [asdict(figure) for figure in figures],
    }
    path.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    draw(results_dir, chart)
    print(f"figures written to {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}; "
          f"chart {chart.relative_to(ROOT) if chart.is_relative_to(ROOT) else chart}")
    return path


def load(results_dir: Path = RESULTS_DIR) -> list[dict]:
    """Every recorded script's payload, in the chart's order."""
    found = {p.stem: json.loads(p.read_text(encoding="utf-8"))
             for p in sorted(results_dir.glob("*.json"))}
    ordered = [found.pop(name) for name in SCRIPTS if name in found]
    return ordered + [found[name] for name in sorted(found)]


# Layout of the chart, in SVG user units (pixels at 100 %).
WIDTH = 760
LABEL_W = 250
BAR_H = 13
GAP = 3
GROUP_GAP = 12
HEADER_H = 26
TOP = 56
AXIS_H = 34
PLOT_W = WIDTH - LABEL_W - 90


def draw(results_dir: Path = RESULTS_DIR, chart: Path = CHART) -> str:
    """Draw the chart (horizontal bars on a logarithmic scale: each page beside the hello
    baseline of its own run, the ratio written out) and write it; returns the SVG text."""
    payloads = load(results_dir)
    figures = [Figure(**f) for p in payloads for f in p["figures"]]
    rates = [f.rate for f in figures] + [f.baseline_rate for f in figures]
    low = 10 ** math.floor(math.log10(max(min(rates, default=1), 1)))
    high = 10 ** math.ceil(math.log10(max(rates, default=10)))
    if high <= low:
        high = low * 10

    def x(rate: float) -> float:
        rate = max(rate, low)
        return LABEL_W + PLOT_W * (math.log10(rate) - math.log10(low)) / (
            math.log10(high) - math.log10(low))

    parts: list[str] = []
    y = TOP
    for payload in payloads:
        parts.append(f'<text class="h" x="0" y="{y + 12}">{escape(_heading(payload))}</text>')
        y += HEADER_H - 8
        for figure in (Figure(**f) for f in payload["figures"]):
            y += GAP
            parts.append(_bar(figure.label, figure.rate, figure.unit, x, y, "app",
                              f"{figure.ratio:.2f} × {figure.baseline_label}"))
            y += BAR_H + 1
            parts.append(_bar(figure.baseline_label, figure.baseline_rate, figure.unit, x, y,
                              "base", ""))
            y += BAR_H + GAP
        y += GROUP_GAP
    axis_y = y
    ticks = []
    decade = low
    while decade <= high:
        tx = x(decade)
        ticks.append(f'<line class="grid" x1="{tx:.1f}" y1="{TOP - 4}" x2="{tx:.1f}" '
                     f'y2="{axis_y}"/>'
                     f'<text class="tick" x="{tx:.1f}" y="{axis_y + 14}">{decade:,.0f}</text>')
        decade *= 10
    height = axis_y + AXIS_H
    title = "Kursportal benchmarks: each page's throughput beside hello's, same run"
    desc = "; ".join(f"{f.label}: {f.rate:.1f} {f.unit}, {f.ratio:.2f} × {f.baseline_label} "
                     f"({f.baseline_rate:.1f} {f.unit})" for f in figures)
    svg = "\n".join([
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" '
        f'width="{WIDTH}" height="{height}" role="img" aria-labelledby="t d">',
        f'<title id="t">{escape(title)}</title>',
        f'<desc id="d">{escape(desc)}</desc>',
        "<style>text{font:12px DejaVu Sans,Arial,sans-serif;fill:#1e2b3c}"
        ".h{font-weight:bold}.tick{text-anchor:middle;fill:#555}.v{fill:#1e2b3c}"
        ".app{fill:#1e5fa8}.base{fill:#a8b3bd}.grid{stroke:#d5dbe0}"
        ".lab{text-anchor:end}</style>",
        f'<rect width="{WIDTH}" height="{height}" fill="#fff"/>',
        f'<text class="h" x="0" y="16">{escape(title)}</text>',
        '<rect class="app" x="0" y="28" width="12" height="10"/>'
        '<text x="18" y="37">Kursportal</text>'
        '<rect class="base" x="110" y="28" width="12" height="10"/>'
        '<text x="128" y="37">baseline (bare Flask "hello", same gunicorn, same run); '
        'logarithmic scale</text>',
        *ticks,
        *parts,
        "</svg>",
    ])
    chart.parent.mkdir(parents=True, exist_ok=True)
    chart.write_text(svg + "\n", encoding="utf-8")
    return svg


def _bar(label: str, rate: float, unit: str, x, y: float, cls: str, note: str) -> str:
    end = x(rate)
    value = f"{rate:,.0f} {unit}" if rate >= 100 else f"{rate:,.1f} {unit}"
    if note:
        value += f" ({note})"
    return (f'<text class="lab" x="{LABEL_W - 6}" y="{y + BAR_H - 2}">{escape(label)}</text>'
            f'<rect class="{cls}" x="{LABEL_W}" y="{y}" width="{max(end - LABEL_W, 1):.1f}" '
            f'height="{BAR_H}"/>'
            f'<text class="v" x="{end + 4:.1f}" y="{y + BAR_H - 2}">{escape(value)}</text>')


def _heading(payload: dict) -> str:
    when = payload["measured_at"][:10]
    return f"{payload['script']}.py, {when}: {payload['context']}"


def _cpus() -> int:
    import os
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


if __name__ == "__main__":
    draw()
    print(f"chart {CHART.relative_to(ROOT)} drawn from {len(load())} recorded scripts",
          file=sys.stderr)
