"""The file types uploads may have, told by their magic bytes, and the sizes the cleaning jobs
allow. Light on purpose: the web worker imports this, while the parsers (``core.sanitize``)
are imported only inside the sandbox's process."""

from __future__ import annotations

from typing import Protocol

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


class Readable(Protocol):
    """Anything with ``read(n)``: a file, ``werkzeug.FileStorage.stream``, ``io.BytesIO``."""

    def read(self, size: int = -1, /) -> bytes:  # noqa: D102
        ...


READ_CHUNK = 64 * 1024


def read_within(stream: Readable, limit: int) -> bytes | None:
    """An upload's bytes, read in chunks; None once it passes ``limit`` bytes. Never asks the
    stream for more than ``limit + 1`` bytes in all, so a huge file is not read to its end."""
    chunks: list[bytes] = []
    total = 0
    while total <= limit:
        chunk = stream.read(min(READ_CHUNK, limit + 1 - total))
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
    return None if total > limit else b"".join(chunks)
