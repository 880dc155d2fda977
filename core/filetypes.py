"""The file types uploads may have, told by their magic bytes, and the sizes the cleaning jobs
allow. Light on purpose: the web worker imports this, while the parsers (``core.sanitize``)
are imported only inside the sandbox's process."""

from __future__ import annotations

PDF = "application/pdf"
JPEG = "image/jpeg"
PNG = "image/png"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

MAX_PAGES = 50
MAX_SIDE = 12_000
# A 40-megapixel photo takes about 300 MB to decode and turn upright (SANDBOX_MEMORY_MB).
MAX_PIXELS = 40_000_000


def sniff(data: bytes) -> str | None:
    """The content type the magic bytes at offset 0 announce, if it is one we accept."""
    if data.startswith(b"%PDF-"):
        return PDF
    if data.startswith(b"\xff\xd8\xff"):
        return JPEG
    if data.startswith(PNG_SIGNATURE):
        return PNG
    return None
