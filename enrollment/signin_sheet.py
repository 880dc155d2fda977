"""The sign-in sheet of a course day: an A4 list with name, employer and room to sign.

A pure builder: a dataclass of strings in (already translated and formatted by the caller),
PDF bytes out. It draws and does nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from io import BytesIO

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table

from core.pdf import (
    SANS,
    PdfMetadata,
    escape_text,
    fit_text,
    page_count_canvas,
    stylesheet,
    table_style,
)

MARGIN = 18 * mm
COLUMN_WIDTHS = (64 * mm, 52 * mm, 58 * mm)
BLANK_ROW_HEIGHT = 29


@dataclass(frozen=True)
class SignInRow:
    """One participant on the sheet."""

    name: str
    employer: str = ""


@dataclass(frozen=True)
class SignInLabels:
    """The sheet's fixed words, translated by the caller.

    ``page`` keeps its placeholders: 'Page %(current)s of %(total)s'.
    """

    heading: str
    name: str
    employer: str
    signature: str
    page: str
    printed: str = ""


@dataclass(frozen=True)
class SignInSheet:
    """Everything the sheet shows."""

    office: str
    course_title: str
    when: str
    place: str
    labels: SignInLabels
    rows: tuple[SignInRow, ...] = ()
    lang: str = "nn"
    # Empty lines at the end for people who came without being on the list.
    blank_rows: int = 3
    metadata: PdfMetadata | None = field(default=None)


def _metadata(sheet: SignInSheet) -> PdfMetadata:
    return sheet.metadata or PdfMetadata(
        title=f"{sheet.labels.heading}: {sheet.course_title}, {sheet.when}",
        author=sheet.office, subject=sheet.labels.heading, lang=sheet.lang,
    )


def _table(sheet: SignInSheet, styles) -> Table:
    head, cell = styles["TableHeader"], styles["TableCell"]
    data = [[Paragraph(escape_text(sheet.labels.name), head),
             Paragraph(escape_text(sheet.labels.employer), head),
             Paragraph(escape_text(sheet.labels.signature), head)]]
    data += [[Paragraph(escape_text(row.name), cell), Paragraph(escape_text(row.employer), cell),
              ""] for row in sheet.rows]
    blank = max(sheet.blank_rows, 0)
    data += [["", "", ""] for _ in range(blank)]
    # An empty line is as tall as a written one, so there is room to write and sign.
    heights = [None] * (1 + len(sheet.rows)) + [BLANK_ROW_HEIGHT] * blank
    return Table(data, colWidths=COLUMN_WIDTHS, rowHeights=heights, repeatRows=1,
                 style=table_style(
        ("GRID", (0, 0), (-1, -1), 0.5, colors.black),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e6e6e6")),
        ("TOPPADDING", (0, 1), (-1, -1), 8),
        ("BOTTOMPADDING", (0, 1), (-1, -1), 8),
        ("VALIGN", (0, 1), (-1, -1), "MIDDLE"),
    ))


def build_sign_in_sheet(sheet: SignInSheet) -> bytes:
    """Draw the sign-in sheet and return the PDF."""
    styles = stylesheet()
    width, height = A4
    running_head = fit_text(f"{sheet.course_title} · {sheet.when}", width - 2 * MARGIN, SANS, 8)

    def later_pages(canv: Canvas, _doc) -> None:
        canv.saveState()
        canv.setFont(SANS, 8)
        canv.drawString(MARGIN, height - MARGIN + 4 * mm, running_head)
        canv.restoreState()

    def footer(canv: Canvas, page: int, pages: int) -> None:
        canv.saveState()
        canv.setFont(SANS, 8)
        canv.drawString(MARGIN, MARGIN - 8 * mm, " · ".join(
            part for part in (sheet.office, sheet.labels.printed) if part))
        canv.drawRightString(width - MARGIN, MARGIN - 8 * mm,
                             sheet.labels.page % {"current": page, "total": pages})
        canv.restoreState()

    story = [
        Paragraph(escape_text(sheet.office), styles["Normal"]),
        Paragraph(escape_text(sheet.labels.heading), styles["Heading2"]),
        Paragraph(escape_text(sheet.course_title), styles["Title"]),
        Paragraph(escape_text(sheet.when), styles["Normal"]),
        Paragraph(escape_text(sheet.place), styles["Normal"]),
        Spacer(1, 6 * mm),
        _table(sheet, styles),
    ]
    buffer = BytesIO()
    doc = SimpleDocTemplate(buffer, pagesize=A4, leftMargin=MARGIN, rightMargin=MARGIN,
                            topMargin=MARGIN, bottomMargin=MARGIN, **_metadata(sheet).doc_kwargs())
    doc.build(story, onLaterPages=later_pages, canvasmaker=page_count_canvas(footer))
    return buffer.getvalue()
