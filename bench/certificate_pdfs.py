"""Benchmark: certificates of attendance printed in bulk, in pages per second.

Builds N certificates (default 1,000: different names and codes, the same course, as when staff
print an offering) into one PDF with ``certificates.pdf``, and in the same run two
baselines with the same content:

(a) reportlab the obvious way: a canvas, the text drawn line by line with ``drawString`` and
    ``simpleSplit``, and the QR code a ``QrCodeWidget`` sized with ``getBounds()`` in a
    ``Drawing`` rendered by ``renderPDF``, built anew for every page;
(b) WeasyPrint rendering an HTML certificate with the same text, fonts and an SVG QR code
    (skipped, with a message, when WeasyPrint is not installed: ``pip install -e .[bench]``).

Each is run ``--repeat`` times (default 5); the medians and the ratios are printed. The process
is pinned to one CPU (``--cpu``, where the OS allows it), so the figures are for one core.
The data is prepared before the clock starts; what is timed is the PDF, written to memory.

    .venv/bin/python bench/certificate_pdfs.py [--n 1000] [--repeat 5] [--baseline-n 250]
        [--weasyprint-n 100] [--cpu 0] [--keep DIR]

The baselines build fewer pages by default (they are 20-50 times slower); pages per second
do not depend on the count, and ``--baseline-n 1000 --weasyprint-n 1000`` measures them at N.

Goals (issue 5): ours ≥ 150 pages/s on one core, ≥ 3× baseline (a), ≥ 10× baseline (b).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import secrets
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import reportlab
from pypdf import PdfReader
from reportlab.graphics import renderPDF
from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.shapes import Drawing
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.lib.utils import simpleSplit
from reportlab.pdfgen.canvas import Canvas

from certificates import pdf as certificates
from certificates.codes import CODE_ALPHABET, display_code
from certificates.pdf import (
    CertificateFact,
    CertificateObjective,
    CertificatePage,
    build_certificates,
)
from certificates.qr import qr_matrix
from core.pdf import FONT_DIR, SANS, SANS_BOLD, PdfMetadata, register_fonts

ROOT = Path(__file__).resolve().parent.parent
GOAL_PAGES_PER_SECOND = 150
GOAL_VS_REPORTLAB = 3
GOAL_VS_WEASYPRINT = 10

FIRST = ["Åse", "Máret", "Ingrid", "Ola", "Áilu", "Sigrun", "Ŋuvvos", "Kari", "Bjørn", "Elle"]
LAST = ["Ødegård", "Čuđđá", "Nordmann", "Hætta", "Sara", "Ølstad", "Šiššiččiŧž", "Berg",
        "Aasen", "Eira"]


# --- the data --------------------------------------------------------------------------------


def objectives() -> tuple[CertificateObjective, ...]:
    """The public-health course's learning objectives, in Nynorsk, from the repository."""
    kinds = json.loads((ROOT / "enrollment" / "data" / "course_kinds.json").read_text())["kinds"]
    kind = next(k for k in kinds if k["code"] == "public_health")
    return tuple(CertificateObjective(o["code"], o["text"]["nn"]) for o in kind["objectives"])


def sample_pages(count: int) -> list[CertificatePage]:
    """``count`` certificates of one course: each its own name and random code."""
    covered = objectives()
    pages = []
    for number in range(count):
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(10))
        name = f"{FIRST[number % 10]} {LAST[number // 10 % 10]} {number:04d}"
        pages.append(CertificatePage(
            lang="nn", office="Statsforvaltaren i Vestland", heading="Kursbevis",
            certifies="Dette stadfestar at", name=name,
            person="Lege i spesialisering del 1 (LIS1) · HPR-nummer 1234567",
            completed="har delteke på",
            course_title="Kurs i offentleg helsearbeid for LIS1, Bergen",
            course_details="Kurs i offentleg helsearbeid · Vår 2026 — for dei som startar i "
                           "kommunen i mars 2026",
            facts=(CertificateFact("Dagar", "3. mars 2026, 4. mars 2026, 5. mars 2026"),
                   CertificateFact("Timar i alt", "21 timar")),
            objectives_heading="Læringsmål kurset dekkjer", objectives=covered,
            place_and_date="Bergen, 21. november 2026", signer_name="Kari Nordmann",
            signer_title="Assisterande fylkeslege", code_label="Kontrollkode",
            code=display_code(code), verify_label="Kontroller at kursbeviset er gyldig på",
            verify_url=f"https://kurs.statsforvaltaren.no/verify/{code}", title="Kursbevis",
        ))
    return pages


METADATA = PdfMetadata(title="Kursbevis: Kurs i offentleg helsearbeid",
                       author="Statsforvaltaren i Vestland", subject="Kursbevis", lang="nn")


# --- ours ----------------------------------------------------------------------------------------


def build_ours(pages: Sequence[CertificatePage]) -> bytes:
    """The builder the application uses, with its caches emptied first."""
    certificates.wrap.cache_clear()
    certificates.fitting_size.cache_clear()
    return build_certificates(iter(pages), METADATA)


# --- baseline (a): reportlab, the obvious way ---------------------------------------------------


def build_reportlab_widget(pages: Sequence[CertificatePage]) -> bytes:
    """Same text and places on a canvas; the QR code a QrCodeWidget per page via getBounds()."""
    register_fonts()
    buffer = io.BytesIO()
    canv = Canvas(buffer, pagesize=A4, **METADATA.canvas_kwargs())
    METADATA.apply(canv)
    width, height = A4
    left, text_width, qr_box = 22 * mm, width - 44 * mm, 30 * mm
    for page in pages:
        canv.setFillColorRGB(0.11, 0.29, 0.45)
        canv.rect(0, height - 6 * mm, width, 6 * mm, stroke=0, fill=1)
        y = height - 26 * mm

        def line(text, font, size, indent=0.0, gap=0.0):
            nonlocal y
            for part in simpleSplit(text, font, size, text_width - indent):
                y -= size + gap
                canv.setFont(font, size)
                canv.drawString(left + indent, y, part)
                y -= size * 0.3
                gap = 0.0

        canv.setFillColorRGB(0.1, 0.1, 0.1)
        line(page.office, SANS_BOLD, 11)
        line(page.heading, SANS_BOLD, 30, gap=8)
        line(page.certifies, SANS, 11, gap=9)
        line(page.name, SANS_BOLD, 22, gap=4)
        line(page.person, SANS, 10.5, gap=2)
        line(page.completed, SANS, 11, gap=8)
        line(page.course_title, SANS_BOLD, 16, gap=3)
        line(page.course_details, SANS, 10.5, gap=2)
        for fact in page.facts:
            line(f"{fact.label}: {fact.value}", SANS, 9.5, gap=2)
        line(page.objectives_heading, SANS_BOLD, 11, gap=8)
        for objective in page.objectives:
            line(f"{objective.code}  {objective.text}", SANS, 9.5, gap=3)
        canv.setFont(SANS, 10)
        canv.drawString(left, 18 * mm + qr_box + 32 * mm, page.place_and_date)
        canv.setFont(SANS_BOLD, 10)
        canv.drawString(left, 18 * mm + qr_box + 14.5 * mm, page.signer_name)
        canv.setFont(SANS, 9)
        canv.drawString(left, 18 * mm + qr_box + 10.5 * mm, page.signer_title)
        canv.drawString(left, 18 * mm + qr_box - 9, page.code_label)
        canv.setFont(SANS_BOLD, 15)
        canv.drawString(left, 18 * mm + qr_box - 27, page.code)
        canv.setFont(SANS, 8.5)
        canv.drawString(left, 18 * mm + qr_box - 42, page.verify_label)
        canv.drawString(left, 18 * mm + qr_box - 53, page.verify_url)

        widget = QrCodeWidget(page.verify_url, barLevel="M")
        x1, y1, x2, y2 = widget.getBounds()
        drawing = Drawing(qr_box, qr_box,
                          transform=[qr_box / (x2 - x1), 0, 0, qr_box / (y2 - y1), 0, 0])
        drawing.add(widget)
        renderPDF.draw(drawing, canv, width - left - qr_box, 18 * mm)
        canv.showPage()
    canv.save()
    return buffer.getvalue()


# --- baseline (b): WeasyPrint ----------------------------------------------------------------

CSS = """
@font-face {{ font-family: KP; src: url({regular}); }}
@font-face {{ font-family: KP; font-weight: bold; src: url({bold}); }}
@page {{ size: A4; margin: 26mm 22mm 18mm 22mm; }}
body {{ font-family: KP; font-size: 10pt; color: #1a1a1a; margin: 0; }}
section {{ page-break-after: always; height: 253mm; position: relative; }}
.office {{ color: #1c4a73; font-weight: bold; font-size: 11pt; margin: 0; }}
h1 {{ color: #1c4a73; font-size: 30pt; margin: 8pt 0 0; }}
.muted {{ color: #4d4d4d; }}
.name {{ font-size: 22pt; font-weight: bold; margin: 2pt 0; }}
.course {{ font-size: 16pt; font-weight: bold; margin: 2pt 0; }}
table {{ border-collapse: collapse; font-size: 9.5pt; }}
th {{ text-align: left; vertical-align: top; width: 40mm; color: #4d4d4d; }}
td.code {{ font-weight: bold; width: 19mm; vertical-align: top; }}
h2 {{ color: #1c4a73; font-size: 11pt; margin: 10pt 0 4pt; }}
.foot {{ position: absolute; left: 0; right: 0; bottom: 0; }}
.sign {{ border-top: 0.6pt solid #4d4d4d; width: 75mm; margin-top: 14mm; padding-top: 2pt; }}
.verify {{ border-top: 0.6pt solid #4d4d4d; margin-top: 8mm; padding-top: 3mm; }}
.verify .code {{ font-size: 15pt; font-weight: bold; }}
.verify svg {{ position: absolute; right: 0; bottom: 0; width: 30mm; height: 30mm; }}
"""


def qr_svg(text: str) -> str:
    """The QR code as an SVG path of the dark runs (the same matrix as ours)."""
    rows = qr_matrix(text)
    size = len(rows) + 8
    path = "".join(
        f"M{start + 4} {number + 4}h{len(run)}v1h-{len(run)}z"
        for number, row in enumerate(rows)
        for start, run in _runs(row))
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {size} {size}">'
            f'<path d="{path}"/></svg>')


def _runs(row: str):
    start = None
    for index, module in enumerate(row + "0"):
        if module == "1" and start is None:
            start = index
        elif module == "0" and start is not None:
            yield start, row[start:index]
            start = None


def html_document(pages: Sequence[CertificatePage]) -> str:
    from html import escape

    sections = []
    for page in pages:
        facts = "".join(f"<tr><th>{escape(f.label)}</th><td>{escape(f.value)}</td></tr>"
                        for f in page.facts)
        covered = "".join(f'<tr><td class="code">{escape(o.code)}</td><td>{escape(o.text)}</td>'
                          "</tr>" for o in page.objectives)
        sections.append(f"""<section>
<p class="office">{escape(page.office)}</p><h1>{escape(page.heading)}</h1>
<p class="muted">{escape(page.certifies)}</p><p class="name">{escape(page.name)}</p>
<p class="muted">{escape(page.person)}</p><p class="muted">{escape(page.completed)}</p>
<p class="course">{escape(page.course_title)}</p>
<p class="muted">{escape(page.course_details)}</p><table>{facts}</table>
<h2>{escape(page.objectives_heading)}</h2><table>{covered}</table>
<div class="foot"><p>{escape(page.place_and_date)}</p>
<div class="sign"><b>{escape(page.signer_name)}</b><br>
<span class="muted">{escape(page.signer_title)}</span></div>
<div class="verify"><span class="muted">{escape(page.code_label)}</span><br>
<span class="code">{escape(page.code)}</span><br><span class="muted">{escape(page.verify_label)}
<br>{escape(page.verify_url)}</span>{qr_svg(page.verify_url)}</div></div></section>""")
    css = CSS.format(regular=(FONT_DIR / "DejaVuSans.ttf").as_uri(),
                     bold=(FONT_DIR / "DejaVuSans-Bold.ttf").as_uri())
    return (f'<!doctype html><html lang="nn"><head><meta charset="utf-8"><title>Kursbevis'
            f'</title><style>{css}</style></head><body>{"".join(sections)}</body></html>')


def weasyprint_builder() -> Callable[[Sequence[CertificatePage]], bytes] | None:
    """Baseline (b), or None when WeasyPrint (or the pango it needs) is missing."""
    try:
        import weasyprint
    except (ImportError, OSError) as exc:
        print(f"(b) WeasyPrint: skipped, not usable here ({exc.__class__.__name__}: {exc}).\n"
              "    Install it with `.venv/bin/pip install -e .[bench]` (Debian also needs "
              "libpango-1.0-0 and libpangoft2-1.0-0).")
        return None

    def build(pages: Sequence[CertificatePage]) -> bytes:
        return weasyprint.HTML(string=html_document(pages)).write_pdf()

    build.version = weasyprint.__version__  # type: ignore[attr-defined]
    return build


# --- measuring -------------------------------------------------------------------------------


def pin(cpu: int | None) -> str:
    """Pin this process to one CPU; say which (or why not)."""
    if not hasattr(os, "sched_setaffinity"):
        return "not pinned (no sched_setaffinity here)"
    allowed = sorted(os.sched_getaffinity(0))
    chosen = allowed[0] if cpu is None else cpu
    os.sched_setaffinity(0, {chosen})
    return f"pinned to CPU {chosen} of {os.cpu_count()}"


def measure(label: str, build: Callable, pages: Sequence[CertificatePage], repeat: int,
            keep: Path | None, filename: str) -> dict:
    """Build ``repeat`` times; return the median and spread in pages per second."""
    build(pages[:3])  # warm up: fonts, imports, code paths
    seconds, size = [], 0
    for _ in range(repeat):
        started = time.perf_counter()
        data = build(pages)
        seconds.append(time.perf_counter() - started)
        size = len(data)
    count = len(PdfReader(io.BytesIO(data)).pages)
    if count != len(pages):
        raise SystemExit(f"{label}: {count} pages for {len(pages)} certificates")
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
        (keep / filename).write_bytes(data)
    rates = sorted(len(pages) / s for s in seconds)
    result = {"label": label, "pages": len(pages), "median_s": statistics.median(seconds),
              "rate": statistics.median(rates), "low": rates[0], "high": rates[-1],
              "bytes_per_page": size / len(pages)}
    print(f"{label:<44} {result['pages']:>6} {result['median_s']:>9.3f} "
          f"{result['rate']:>9.1f} {result['low']:>8.1f}–{result['high']:<8.1f}"
          f"{result['bytes_per_page'] / 1024:>7.1f}", flush=True)
    return result


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print the table, the ratios and whether the goals are met."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=1000, help="certificates in our PDF")
    parser.add_argument("--repeat", type=int, default=5, help="runs of each builder")
    parser.add_argument("--baseline-n", type=int, default=250,
                        help="certificates for baseline (a) (default 250: it is slow; the "
                             "rate does not depend on the count)")
    parser.add_argument("--weasyprint-n", type=int, default=100,
                        help="certificates for baseline (b) (default 100: it is slower still)")
    parser.add_argument("--cpu", type=int, default=None, help="CPU to pin to (default: first)")
    parser.add_argument("--keep", type=Path, default=None, help="write the PDFs to this folder")
    args = parser.parse_args(argv)

    pinned = pin(args.cpu)
    pages = sample_pages(max(args.n, args.baseline_n, args.weasyprint_n))
    from reportlab.lib import rl_accel

    accelerated = "C" if getattr(rl_accel, "_c_funcs", None) else "pure Python"
    print(f"Certificates of attendance, one PDF per run, {args.repeat} runs each; {pinned}.")
    print(f"Python {platform.python_version()}, reportlab {reportlab.Version} "
          f"(rl_accel: {accelerated}), {platform.machine()}")
    print(f"{'builder':<44} {'pages':>6} {'median s':>9} {'pages/s':>9} {'min–max pages/s':>17}"
          f"{'KiB/pg':>7}")
    ours = measure("ours: certificates.pdf", build_ours, pages[:args.n], args.repeat,
                   args.keep, "ours.pdf")
    widget = measure("(a) reportlab QrCodeWidget + getBounds", build_reportlab_widget,
                     pages[:args.baseline_n], args.repeat, args.keep,
                     "reportlab-widget.pdf")
    weasy_build = weasyprint_builder()
    weasy = None
    if weasy_build is not None:
        weasy = measure(f"(b) WeasyPrint {weasy_build.version} HTML", weasy_build,
                        pages[:args.weasyprint_n], args.repeat, args.keep, "weasyprint.pdf")

    print()
    checks = [(f"ours ≥ {GOAL_PAGES_PER_SECOND} pages/s", ours["rate"],
               ours["rate"] >= GOAL_PAGES_PER_SECOND, "pages/s")]
    checks.append((f"ours ≥ {GOAL_VS_REPORTLAB}× (a)", ours["rate"] / widget["rate"],
                   ours["rate"] >= GOAL_VS_REPORTLAB * widget["rate"], "×"))
    if weasy is not None:
        checks.append((f"ours ≥ {GOAL_VS_WEASYPRINT}× (b)", ours["rate"] / weasy["rate"],
                       ours["rate"] >= GOAL_VS_WEASYPRINT * weasy["rate"], "×"))
    for goal, value, met, unit in checks:
        print(f"{goal:<28} {value:>8.1f} {unit:<8} {'met' if met else 'NOT MET'}")
    return 0 if all(met for _goal, _value, met, _unit in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
