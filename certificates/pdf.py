"""Certificates of attendance (kursbevis): one A4 page each, with a verification code and QR.

A pure builder: frozen dataclasses of plain strings in (translated and formatted by the caller,
see ``certificates.wording``), PDF bytes out. It draws and does nothing else.

Drawn on a canvas by hand rather than with platypus: a certificate is one page of known shape,
and staff print a whole offering at once, so the per-page cost matters
(``bench/certificate_pdfs.py`` measures it). What makes it fast:

- the QR code is reportlab's symbol, built and drawn as one path by ``certificates.qr``, which
  avoids the work that makes ``QrCodeWidget`` slow;
- the text of a page is a single text object; line wrapping is cached, since every certificate
  of an offering repeats the same course, objectives and labels;
- fonts are registered once per process (``core.pdf``) and embedded once per document;
- compressed streams are written as binary, not also ASCII85-encoded.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from io import BytesIO
from typing import BinaryIO

from reportlab import rl_config
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas

from certificates.qr import draw_qr, qr_matrix
from core.pdf import SANS, SANS_BOLD, PdfMetadata, register_fonts

PAGE_WIDTH, PAGE_HEIGHT = A4
MARGIN = 22 * mm
BOTTOM = 18 * mm
WIDTH = PAGE_WIDTH - 2 * MARGIN
QR_BOX = 30 * mm
# Everything below this line belongs to the signature and verification block.
FOOT_TOP = BOTTOM + QR_BOX + 38 * mm
ACCENT = (0.11, 0.29, 0.45)
TEXT = (0.1, 0.1, 0.1)
MUTED = (0.3, 0.3, 0.3)
FACT_LABEL_WIDTH = 40 * mm
CODE_WIDTH = 19 * mm
# Font scales tried, largest first, until the facts and objectives fit above the footer.
SCALES = (1.0, 0.92, 0.84, 0.76, 0.68, 0.6)


@dataclass(frozen=True)
class CertificateFact:
    """A labelled line of the certificate ('Dates attended', 'Total hours' …)."""

    label: str
    value: str


@dataclass(frozen=True)
class CertificateObjective:
    """A learning objective the course covers: its code and text."""

    code: str
    text: str


@dataclass(frozen=True)
class CertificatePage:
    """Everything one certificate shows, as plain strings in its language."""

    lang: str
    office: str
    heading: str
    certifies: str
    name: str
    person: str
    completed: str
    course_title: str
    course_details: str
    facts: tuple[CertificateFact, ...]
    objectives_heading: str
    objectives: tuple[CertificateObjective, ...]
    place_and_date: str
    signer_name: str
    signer_title: str
    code_label: str
    code: str
    verify_label: str
    verify_url: str
    # The document title when the certificate is printed on its own.
    title: str = ""
    # The line naming who signs the PDF digitally ("Digitally signed by …"); empty when the
    # PDF is not signed (the staff's bulk print).
    signed_line: str = ""

    def metadata(self) -> PdfMetadata:
        """Document information for a PDF holding this certificate alone; its keywords hold
        the code, which ``/verify`` reads from an uploaded file."""
        return PdfMetadata(title=self.title or f"{self.heading}: {self.course_title}",
                           author=self.office, subject=self.heading, lang=self.lang,
                           keywords=(self.code,))


# --- text layout -------------------------------------------------------------------------------


@lru_cache(maxsize=8192)
def wrap(text: str, font: str, size: float, width: float) -> tuple[str, ...]:
    """``text`` broken into lines no wider than ``width`` at spaces (a word longer than a line,
    such as a URL, is broken between characters)."""
    lines: list[str] = []
    space = stringWidth(" ", font, size)
    for paragraph in text.split("\n"):
        line, line_width = "", 0.0
        for word in paragraph.split():
            word_width = stringWidth(word, font, size)
            if line and line_width + space + word_width <= width:
                line, line_width = f"{line} {word}", line_width + space + word_width
                continue
            if line:
                lines.append(line)
            while word_width > width and len(word) > 1:
                cut = len(word) - 1
                while cut > 1 and stringWidth(word[:cut], font, size) > width:
                    cut -= 1
                lines.append(word[:cut])
                word = word[cut:]
                word_width = stringWidth(word, font, size)
            line, line_width = word, word_width
        lines.append(line)
    return tuple(lines)


@lru_cache(maxsize=4096)
def fitting_size(text: str, font: str, size: float, width: float, smallest: float) -> float:
    """The largest font size from ``size`` down to ``smallest`` at which ``text`` fits."""
    natural = stringWidth(text, font, size)
    if natural <= width:
        return size
    return max(smallest, size * width / natural)


@dataclass(frozen=True)
class _Block:
    """Lines of the flexible middle of the page, laid out at one scale."""

    height: float
    lines: tuple[tuple[float, float, str, float, tuple[float, float, float], str], ...]


@lru_cache(maxsize=256)
def _code_width(codes: tuple[str, ...], size: float) -> float:
    """The width of the objectives' code column: the widest code and a gap, within limits."""
    widest = max((stringWidth(code, SANS_BOLD, size) for code in codes), default=0.0)
    return min(max(widest + 3 * mm, CODE_WIDTH), 45 * mm)


def _middle(page: CertificatePage, scale: float) -> _Block:
    """The facts and the objectives at ``scale``, as (x, dy, font, size, colour, text)."""
    size, leading = 9.5 * scale, 12.5 * scale
    lines: list = []
    height = 0.0
    for fact in page.facts:
        labels = wrap(fact.label, SANS_BOLD, size, FACT_LABEL_WIDTH - 3 * mm)
        values = wrap(fact.value, SANS, size, WIDTH - FACT_LABEL_WIDTH)
        for number, label in enumerate(labels):
            lines.append((0, height + number * leading, SANS_BOLD, size, MUTED, label))
        for number, value in enumerate(values):
            lines.append((FACT_LABEL_WIDTH, height + number * leading, SANS, size, TEXT, value))
        height += leading * max(len(labels), len(values)) + 2 * scale
    if page.objectives:
        height += 8 * scale
        head = 11 * scale
        for line in wrap(page.objectives_heading, SANS_BOLD, head, WIDTH):
            lines.append((0, height, SANS_BOLD, head, ACCENT, line))
            height += head * 1.3
        height += head * 0.3
        code_width = _code_width(tuple(o.code for o in page.objectives), size)
        for objective in page.objectives:
            texts = wrap(objective.text, SANS, size, WIDTH - code_width)
            lines.append((0, height, SANS_BOLD, size, TEXT, objective.code))
            for number, text in enumerate(texts):
                lines.append((code_width, height + number * leading, SANS, size, TEXT, text))
            height += leading * len(texts) + 3 * scale
    return _Block(height, tuple(lines))


def _fit_middle(page: CertificatePage, room: float) -> _Block:
    """The middle at the largest scale that fits ``room``; at the smallest, cut with '…'."""
    for scale in SCALES:
        block = _middle(page, scale)
        if block.height <= room:
            return block
    kept = tuple(line for line in block.lines if line[1] + line[3] <= room - 12)
    last = kept[-1] if kept else (0, 0, SANS, 9.5 * SCALES[-1], TEXT, "")
    ellipsis = (0, last[1] + last[3] * 1.4, SANS, last[3], TEXT, "…")
    return _Block(room, (*kept, ellipsis))


# --- drawing -----------------------------------------------------------------------------------


class _Lines:
    """The page's one text object; font and colour are set only when they change."""

    def __init__(self, canv: Canvas) -> None:
        self.text = canv.beginText()
        self.font: tuple[str, float] | None = None
        self.colour: tuple[float, float, float] | None = None

    def add(self, x: float, y: float, font: str, size: float, colour, line: str) -> None:
        """Write ``line`` with its baseline starting at (x, y)."""
        if (font, size) != self.font:
            self.text.setFont(font, size)
            self.font = (font, size)
        if colour != self.colour:
            self.text.setFillColorRGB(*colour)
            self.colour = colour
        self.text.setTextOrigin(x, y)
        self.text.textOut(line)


def draw_certificate(canv: Canvas, page: CertificatePage) -> None:
    """Draw one certificate on the canvas's current page (the caller shows the page)."""
    canv.setFillColorRGB(*ACCENT)
    canv.rect(0, PAGE_HEIGHT - 6 * mm, PAGE_WIDTH, 6 * mm, stroke=0, fill=1)
    text = _Lines(canv)
    y = PAGE_HEIGHT - MARGIN - 4 * mm

    def put(line: str, font: str, size: float, colour=TEXT, gap: float = 0.0, x: float = 0.0):
        nonlocal y
        y -= gap + size
        text.add(MARGIN + x, y, font, size, colour, line)
        y -= size * 0.3

    put(page.office, SANS_BOLD, 11, ACCENT)
    put(page.heading, SANS_BOLD, fitting_size(page.heading, SANS_BOLD, 30, WIDTH, 18), ACCENT,
        gap=8)
    put(page.certifies, SANS, 11, MUTED, gap=9)
    name_size = fitting_size(page.name, SANS_BOLD, 22, WIDTH, 13)
    for line in wrap(page.name, SANS_BOLD, name_size, WIDTH):
        put(line, SANS_BOLD, name_size, gap=4)
    if page.person:
        for line in wrap(page.person, SANS, 10.5, WIDTH):
            put(line, SANS, 10.5, MUTED, gap=2)
    put(page.completed, SANS, 11, MUTED, gap=8)
    for line in wrap(page.course_title, SANS_BOLD, 16, WIDTH):
        put(line, SANS_BOLD, 16, gap=3)
    for line in wrap(page.course_details, SANS, 10.5, WIDTH):
        put(line, SANS, 10.5, MUTED, gap=2)
    y -= 8

    block = _fit_middle(page, y - FOOT_TOP)
    for x, dy, font, size, colour, line in block.lines:
        text.add(MARGIN + x, y - dy - size, font, size, colour, line)

    # The signature: place and date, a line to sign on, the signer.
    foot = BOTTOM + QR_BOX + 10 * mm
    for y_at, font, size, colour, line in (
            (foot + 22 * mm, SANS, 10, TEXT, page.place_and_date),
            (foot + 4.5 * mm, SANS_BOLD, 10, TEXT, page.signer_name),
            (foot + 0.5 * mm, SANS, 9, MUTED, page.signer_title)):
        text.add(MARGIN, y_at, font, fitting_size(line, font, size, WIDTH, 5), colour, line)

    # Verification: the code in words beside the QR code.
    qr_x = PAGE_WIDTH - MARGIN - QR_BOX
    beside = qr_x - MARGIN - 4 * mm
    text.add(MARGIN, BOTTOM + QR_BOX - 9, SANS,
             fitting_size(page.code_label, SANS, 9, beside, 5), MUTED, page.code_label)
    text.add(MARGIN, BOTTOM + QR_BOX - 27, SANS_BOLD, 15, TEXT, page.code)
    line_y = BOTTOM + QR_BOX - 42
    for line in (*wrap(page.verify_label, SANS, 8.5, beside),
                 *wrap(page.verify_url, SANS, 8.5, beside)):
        text.add(MARGIN, line_y, SANS, 8.5, MUTED, line)
        line_y -= 11
    line_y = BOTTOM - 7 * mm
    for line in wrap(page.signed_line, SANS, 8, WIDTH)[:2] if page.signed_line else ():
        text.add(MARGIN, line_y, SANS, 8, MUTED, line)
        line_y -= 10
    canv.drawText(text.text)

    canv.setStrokeColorRGB(*MUTED)
    canv.setLineWidth(0.6)
    canv.line(MARGIN, foot + 10 * mm, MARGIN + 75 * mm, foot + 10 * mm)
    canv.line(MARGIN, BOTTOM + QR_BOX + 4 * mm, PAGE_WIDTH - MARGIN, BOTTOM + QR_BOX + 4 * mm)
    draw_qr(canv, qr_matrix(page.verify_url), qr_x, BOTTOM, QR_BOX)


@contextmanager
def _binary_streams() -> Iterator[None]:
    """Compressed streams written as binary rather than also ASCII85-encoded, as reportlab does
    by default (for 7-bit mail of the last century): a third smaller, and without
    reportlab's C accelerator its pure-Python ASCII85 encoder is the slowest step of a page.
    The setting is global, so it is put back; a PDF built meanwhile by another thread is valid
    either way."""
    before = rl_config.useA85
    rl_config.useA85 = 0
    try:
        yield
    finally:
        rl_config.useA85 = before


def write_certificates(pages: Iterable[CertificatePage], out: BinaryIO,
                       metadata: PdfMetadata) -> int:
    """Draw each certificate of ``pages`` on a page of its own, in one PDF written to ``out``;
    returns the number of pages. ``pages`` is read lazily, so it may be a generator."""
    register_fonts()
    with _binary_streams():
        canv = Canvas(out, pagesize=A4, pageCompression=1, **metadata.canvas_kwargs())
        metadata.apply(canv)
        count = 0
        for page in pages:
            draw_certificate(canv, page)
            canv.showPage()
            count += 1
        canv.save()
    return count


def build_certificates(pages: Iterable[CertificatePage], metadata: PdfMetadata) -> bytes:
    """Many certificates, one page each, as one PDF for printing."""
    buffer = BytesIO()
    write_certificates(pages, buffer, metadata)
    return buffer.getvalue()


def build_certificate(page: CertificatePage) -> bytes:
    """One certificate as a PDF of one page."""
    return build_certificates((page,), page.metadata())
