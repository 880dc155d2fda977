"""QR codes for the certificates, drawn as vector paths, fast enough to print hundreds a second.

The symbol is reportlab's: its encoder (``reportlab.graphics.barcode.qrencoder``, the one behind
``QrCodeWidget``) picks the data segments and version and lays out the function patterns, and
the result is module for module what it makes with the same mask. What is done here instead is
what makes the widget slow: the Reed-Solomon generator polynomials are cached rather than
rebuilt for every block, and the best of the eight mask patterns is chosen by scoring all eight
at once on rows held as integers, rather than by laying the symbol out eight times. The dark
modules are then written as the rectangles of one path, filled once.

A leaf module: it imports reportlab and nothing of the application.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from itertools import cycle, islice, zip_longest

from reportlab.graphics.barcode import qrencoder
from reportlab.pdfgen.canvas import Canvas

_QR_LEVEL = qrencoder.QRErrorCorrectLevel.M
_EXP, _LOG = qrencoder.EXP_TABLE, qrencoder.LOG_TABLE
_DARK_RUNS = re.compile(r"1+")


class _Bits:
    """A bit buffer for reportlab's data segments (they only call ``put``), held as one int."""

    def __init__(self) -> None:
        self.value = self.length = 0

    def put(self, number: int, length: int) -> None:
        self.value = (self.value << length) | (number & ((1 << length) - 1))
        self.length += length


@cache
def _generator_logs(degree: int) -> tuple[int, ...]:
    """The Reed-Solomon generator polynomial of ``degree`` (leading 1 left out), as logarithms
    of its coefficients; reportlab rebuilds it for every block of every symbol."""
    poly = [1]
    for power in range(degree):
        product = [*poly, 0]
        for index, coefficient in enumerate(poly):
            if coefficient:
                product[index + 1] ^= _EXP[(_LOG[coefficient] + power) % 255]
        poly = product
    return tuple(_LOG[c] if c else -1 for c in poly[1:])


def _error_correction(data: bytes, degree: int) -> list[int]:
    """The ``degree`` error-correction codewords of one block of data codewords."""
    generator = _generator_logs(degree)
    remainder = [0] * degree
    for byte in data:
        factor = byte ^ remainder.pop(0)
        remainder.append(0)
        if factor:
            log = _LOG[factor]
            remainder = [r ^ _EXP[(log + g) % 255] if g >= 0 else r
                         for r, g in zip(remainder, generator, strict=True)]
    return remainder


def _interleaved(blocks: list) -> list[int]:
    return [c for column in zip_longest(*blocks) for c in column if c is not None]


def qr_codewords(text: str) -> tuple[int, list[int]]:
    """The QR version for ``text`` and its codewords: data (segments chosen and written by
    reportlab's encoder), padding and error correction, interleaved as the symbol holds them."""
    code = qrencoder.QRCode(None, _QR_LEVEL)
    code.addData(text)
    version = code.calculate_version()
    blocks = qrencoder.QRRSBlock.getRSBlocks(version, _QR_LEVEL)
    capacity = sum(block.dataCount for block in blocks)
    bits = _Bits()
    for segment in code.dataList:
        segment.write(bits, version)
    if bits.length > capacity * 8:
        raise ValueError("too much data for a QR code")
    bits.put(0, min(4, capacity * 8 - bits.length))  # the terminator, cut short when full
    bits.put(0, -bits.length % 8)
    data = bytearray(bits.value.to_bytes(bits.length // 8, "big"))
    data.extend(islice(cycle((0xEC, 0x11)), capacity - len(data)))
    data_blocks, ec_blocks, offset = [], [], 0
    for block in blocks:
        chunk = bytes(data[offset:offset + block.dataCount])
        offset += block.dataCount
        data_blocks.append(chunk)
        ec_blocks.append(_error_correction(chunk, block.totalCount - block.dataCount))
    return version, _interleaved(data_blocks) + _interleaved(ec_blocks)


@dataclass(frozen=True)
class _Layout:
    """What every symbol of one version shares: the function patterns (format information
    left light), where the data modules go, and which of them each mask pattern inverts.
    Rows are integers whose most significant bit is the leftmost module.

    For scoring, the eight masked variants of a symbol are laid side by side in one integer
    ("wide"): each row holds eight fields of ``size`` bits with four light bits between
    them, rows ``row_width`` bits apart above four empty rows, so every rule is a few shifts
    and ANDs for all eight masks at once, and the light margins stand for the quiet zone.
    """

    size: int
    function_rows: tuple[int, ...]
    positions: tuple[tuple[int, int], ...]  # (row, bit) in placement order
    masks: tuple[tuple[int, ...], ...]
    row_width: int
    replicate: int  # multiplying a wide row by it copies the row into all eight fields
    masks_wide: int
    fields: tuple[int, ...]  # per mask pattern: the bits of its field in every row

    @property
    def valid(self) -> int:
        """Every bit of every field."""
        return sum(self.fields)


def _wide(rows: Iterable[int], row_width: int) -> int:
    """Rows (one field each) stacked ``row_width`` bits apart, above four empty rows."""
    wide = 0
    for number, row in enumerate(rows, start=4):
        wide |= row << (number * row_width)
    return wide


@cache
def _layout(version: int) -> _Layout:
    code = qrencoder.QRCode(version, _QR_LEVEL)
    code.dataCache = [0] * sum(b.totalCount for b in
                               qrencoder.QRRSBlock.getRSBlocks(version, _QR_LEVEL))
    code.makeImpl(True, 0)
    size = code.moduleCount
    positions = tuple((row, 1 << (size - 1 - col)) for col, row in code.dataPosIterator())
    rows = [int("".join("1" if dark else "0" for dark in line), 2) for line in code.modules]
    for row, bit in positions:
        rows[row] &= ~bit
    masks = []
    for pattern in range(8):
        inverts, mask = qrencoder.QRUtil.getMask(pattern), [0] * size
        for row, bit in positions:
            if inverts(row, size - bit.bit_length()):
                mask[row] |= bit
        masks.append(tuple(mask))
    field = size + 4
    row_width = 8 * field + 4
    full = _wide([(1 << size) - 1] * size, row_width)
    return _Layout(
        size, tuple(rows), positions, tuple(masks), row_width,
        replicate=sum(1 << (k * field + 4) for k in range(8)),
        masks_wide=sum(_wide(mask, row_width) << (k * field + 4)
                       for k, mask in enumerate(masks)),
        fields=tuple(full << (k * field + 4) for k in range(8)),
    )


# 1:1:3:1:1 dark-light-dark-light-dark with four light modules after it, and mirrored.
_FINDER_LIKE = ((0, (1, 0, 1, 1, 1, 0, 1, 0, 0, 0, 0)), (4, (0, 0, 0, 0, 1, 0, 1, 1, 1, 0, 1)))


def _penalties(rows: list[int], layout: _Layout) -> list[int]:
    """The mask penalty of ISO/IEC 18004 7.8.3 of each of the eight masks applied to ``rows``
    (the symbol before masking, format information not yet placed)."""
    width = layout.row_width
    dark = (_wide(rows, width) * layout.replicate) ^ layout.masks_wide
    light = ~dark & layout.valid
    weighted: list[tuple[int, int]] = []
    for colour in (dark, light):
        # Rule 1: N1 = 3 for a run of five in a row or column, plus one per module beyond:
        # one point per window of five, two more per run (counted where it starts).
        across = colour & colour >> 1 & colour >> 2 & colour >> 3 & colour >> 4
        down = (colour & colour >> width & colour >> 2 * width & colour >> 3 * width
                & colour >> 4 * width)
        weighted += [(1, across), (2, across & ~(across >> 1)),
                     (1, down), (2, down & ~(down << width)),
                     # Rule 2: N2 = 3 per 2×2 block of one colour.
                     (3, colour & colour >> 1 & colour >> width & colour >> (width + 1))]
    # Rule 3: N3 = 40 per finder-like pattern, in rows and columns, counted at its core.
    unlit = ~dark
    for step in (1, width):
        for offset, pattern in _FINDER_LIKE:
            found = -1
            for index, module in enumerate(pattern):
                operand, shift = (dark if module else unlit), (index - offset) * step
                found &= operand >> shift if shift >= 0 else operand << -shift
            weighted.append((40, found))
    cells = layout.size * layout.size
    scores = []
    for field in layout.fields:
        score = sum(weight * (bits & field).bit_count() for weight, bits in weighted)
        # Rule 4: N4 = 10 per 5 % that the share of dark modules is away from half.
        share = (dark & field).bit_count() * 100 // cells
        scores.append(score + 10 * (abs(share - 50) // 5))
    return scores


def qr_matrix(text: str) -> tuple[str, ...]:
    """The QR code of ``text`` (error correction M, best of the eight masks) as rows of
    '0' (light) and '1' (dark) modules; the same symbol reportlab's encoder makes with that
    mask, built in a fraction of its time."""
    version, codewords = qr_codewords(text)
    layout = _layout(version)
    rows = list(layout.function_rows)
    stream = format(int.from_bytes(bytes(codewords), "big"), f"0{len(codewords) * 8}b")
    for (row, bit), value in zip(layout.positions, stream, strict=False):
        if value == "1":
            rows[row] |= bit

    scores = _penalties(rows, layout)
    best = scores.index(min(scores))
    code = qrencoder.QRCode(version, _QR_LEVEL)
    code.moduleCount = layout.size
    code.modules = [[bit == "1" for bit in format(row ^ mask, f"0{layout.size}b")]
                    for row, mask in zip(rows, layout.masks[best], strict=True)]
    code.setupTypeInfo(False, best)
    if version >= 7:
        code.setupTypeNumber(False)
    return tuple("".join("1" if dark else "0" for dark in line) for line in code.modules)


def draw_qr(canv: Canvas, rows: tuple[str, ...], x: float, y: float, box: float) -> None:
    """Draw a QR matrix in a ``box``-wide square at (x, y), the four-module quiet zone inside
    the box. Each run of dark modules is one rectangle of a single path, filled once, written
    in module units (whole numbers) under one transformation."""
    count = len(rows)
    module = box / (count + 8)
    runs = [f"{run.start()} {count - 1 - number} {run.end() - run.start()} 1 re"
            for number, row in enumerate(rows) for run in _DARK_RUNS.finditer(row)]
    canv.saveState()
    canv.transform(module, 0, 0, module, x + 4 * module, y + 4 * module)
    canv.addLiteral("0 g\n" + "\n".join(runs) + "\nf")
    canv.restoreState()
