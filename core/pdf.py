"""What every PDF of the application shares: bundled fonts, styles, text escaping, metadata.

PDF viewers only guarantee the 14 standard fonts, and those know no Sami letters (č đ ŋ š ŧ ž)
and are not embedded, which PDF/UA and archiving rules forbid. So every PDF here uses the DejaVu
fonts in ``core/fonts`` (licence beside them), embedded as subsets, and reportlab's defaults
are pointed at them so no standard font slips in through a style or a canvas left unset.

A leaf module: it imports reportlab and nothing of the application.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from xml.sax.saxutils import escape

from reportlab import rl_config
from reportlab.lib import colors
from reportlab.lib.styles import ParagraphStyle, StyleSheet1
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas as rl_canvas
from reportlab.platypus import TableStyle

FONT_DIR = Path(__file__).resolve().parent / "fonts"
SANS = "KP-Sans"
SANS_BOLD = "KP-Sans-Bold"

# Characters XML 1.0 forbids; reportlab's paragraph parser stops at them.
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]")


@cache
def register_fonts() -> None:
    """Register the bundled fonts once per process and make them reportlab's defaults."""
    pdfmetrics.registerFont(TTFont(SANS, str(FONT_DIR / "DejaVuSans.ttf")))
    pdfmetrics.registerFont(TTFont(SANS_BOLD, str(FONT_DIR / "DejaVuSans-Bold.ttf")))
    # No italic face is bundled: <i> falls back to the upright face rather than Helvetica.
    pdfmetrics.registerFontFamily(
        SANS, normal=SANS, bold=SANS_BOLD, italic=SANS, boldItalic=SANS_BOLD
    )
    # A canvas writes its initial font into every page; without this it is Helvetica.
    rl_config.canvas_basefontname = SANS


def stylesheet() -> StyleSheet1:
    """Paragraph styles in the bundled fonts (reportlab's sample sheet uses Helvetica)."""
    register_fonts()
    sheet = StyleSheet1()
    base = dict(fontName=SANS, bulletFontName=SANS, textColor=colors.black)
    sheet.add(ParagraphStyle("Normal", fontSize=10, leading=13, **base))
    sheet.add(ParagraphStyle("Small", parent=sheet["Normal"], fontSize=8, leading=10))
    sheet.add(ParagraphStyle("Title", parent=sheet["Normal"], fontName=SANS_BOLD, fontSize=18,
                             leading=22, spaceAfter=6))
    sheet.add(ParagraphStyle("Heading1", parent=sheet["Normal"], fontName=SANS_BOLD,
                             fontSize=14, leading=18, spaceBefore=6, spaceAfter=4))
    sheet.add(ParagraphStyle("Heading2", parent=sheet["Normal"], fontName=SANS_BOLD,
                             fontSize=12, leading=15, spaceBefore=4, spaceAfter=3))
    sheet.add(ParagraphStyle("TableHeader", parent=sheet["Normal"], fontName=SANS_BOLD))
    sheet.add(ParagraphStyle("TableCell", parent=sheet["Normal"]))
    return sheet


def table_style(*commands: tuple) -> TableStyle:
    """A table style whose plain-string cells use the bundled font, plus ``commands``."""
    register_fonts()
    return TableStyle([
        ("FONTNAME", (0, 0), (-1, -1), SANS),
        ("FONTSIZE", (0, 0), (-1, -1), 10),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        *commands,
    ])


def escape_text(value: object) -> str:
    """User text made safe for a ``Paragraph``: lazy strings become ``str``, markup is escaped,
    characters XML forbids are dropped. ``None`` becomes an empty string."""
    if value is None:
        return ""
    return escape(_XML_ILLEGAL.sub("", str(value)))


def fit_text(text: str, width: float, font: str = SANS, size: float = 10) -> str:
    """``text`` shortened with an ellipsis so it fits ``width`` points on one line."""
    register_fonts()
    text = str(text)
    if pdfmetrics.stringWidth(text, font, size) <= width:
        return text
    while text and pdfmetrics.stringWidth(text + "…", font, size) > width:
        text = text[:-1]
    return text.rstrip() + "…"


@dataclass(frozen=True)
class PdfMetadata:
    """The document information a PDF carries (screen readers announce the title)."""

    title: str
    author: str = ""
    subject: str = ""
    lang: str = "nn"
    creator: str = "Kursportal"
    keywords: tuple[str, ...] = ()

    def doc_kwargs(self) -> dict:
        """Keyword arguments for a platypus ``DocTemplate``."""
        register_fonts()
        return dict(
            title=str(self.title), author=str(self.author), subject=str(self.subject),
            creator=self.creator, producer=self.creator, keywords=list(self.keywords),
            lang=self.lang, displayDocTitle=True, initialFontName=SANS,
        )

    def canvas_kwargs(self) -> dict:
        """Keyword arguments for a ``Canvas`` drawn by hand; then call ``apply`` on it."""
        register_fonts()
        return dict(lang=self.lang, initialFontName=SANS)

    def apply(self, canv: rl_canvas.Canvas) -> None:
        """Write the document information onto a canvas drawn by hand."""
        canv.setTitle(str(self.title))
        canv.setAuthor(str(self.author))
        canv.setSubject(str(self.subject))
        canv.setCreator(self.creator)
        canv.setProducer(self.creator)
        canv.setKeywords(list(self.keywords))
        canv.setViewerPreference("DisplayDocTitle", "true")


FooterDrawer = Callable[[rl_canvas.Canvas, int, int], None]


def page_count_canvas(draw_footer: FooterDrawer) -> type[rl_canvas.Canvas]:
    """A canvas class (for ``doc.build(canvasmaker=...)``) that calls
    ``draw_footer(canvas, page, pages)`` on every page once the page count is known."""

    class _PageCountCanvas(rl_canvas.Canvas):
        def __init__(self, *args, **kwargs):
            kwargs.setdefault("initialFontName", SANS)
            super().__init__(*args, **kwargs)
            self._page_states: list[dict] = []

        def showPage(self):
            self._page_states.append(dict(self.__dict__))
            self._startPage()

        def save(self):
            pages = len(self._page_states)
            for number, state in enumerate(self._page_states, start=1):
                self.__dict__.update(state)
                draw_footer(self, number, pages)
                super().showPage()
            super().save()

    register_fonts()
    return _PageCountCanvas
