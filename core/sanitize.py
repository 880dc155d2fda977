"""Re-write uploaded documents without what can act or tell: the jobs ``core.sandbox`` runs.

Never call these in a web worker: they parse hostile bytes and are meant to run under the
sandbox's limits (``core.sandbox.run_job("receipt", data)``).

- **PDF** (pikepdf, i.e. qpdf): the file is opened (an encrypted file that needs a password, or
  one qpdf cannot read, is refused), its visible annotations are flattened into the page
  content, and only the pages are copied into a new document, keeping just what a page needs to
  be drawn. What a viewer could run or open is gone with the rest of the catalog (document
  actions, JavaScript name tree, embedded files, forms with their XFA and submit actions,
  outlines) and with the pages' annotations and additional actions; a last pass clears any
  action, file specification or rich media dictionary still reachable by another key. The
  result is saved by qpdf (object streams generated, only reachable objects written),
  re-opened and checked.
- **JPEG and PNG** (Pillow): the pixel count is checked from the header before anything is
  decoded, the image is decoded, turned upright by its EXIF orientation, and encoded again in
  its own format with no metadata at all: no EXIF (a phone photo's GPS position is where the
  participant lives), XMP, ICC profile or text chunks.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Iterator, Mapping

import pikepdf
from PIL import Image, ImageOps, UnidentifiedImageError

from core.filetypes import JPEG, MAX_PAGES, MAX_PIXELS, MAX_SIDE, PDF, PNG, sniff
from core.sandbox import Refused

# What a PDF's streams may decode to in all; past it the file is a decompression bomb.
MAX_DECODED_BYTES = 128 * 1024 * 1024
# Where a PDF's final %%EOF must be: readers look in the last kilobyte.
PDF_EOF_WINDOW = 1024

# The keys of a page that drawing it needs; everything else (annotations, actions, thumbnails,
# transitions, metadata, structure) is left behind.
_PAGE_KEYS = frozenset({
    "/Type", "/Parent", "/Resources", "/MediaBox", "/CropBox", "/BleedBox", "/TrimBox",
    "/ArtBox", "/Contents", "/Rotate", "/UserUnit", "/Group",
})
# Keys that hold something a viewer runs or opens, wherever they appear.
ACTIVE_KEYS = frozenset({
    "/AA", "/OpenAction", "/JS", "/JavaScript", "/EmbeddedFiles", "/EF", "/RichMediaContent",
    "/RichMediaSettings", "/XFA", "/AcroForm", "/Names", "/URI",
})
# Action types and object types or subtypes that run, open, send or carry something.
ACTIVE_NAMES = frozenset({
    "/JavaScript", "/Launch", "/SubmitForm", "/ImportData", "/ResetForm", "/GoToE", "/GoToR",
    "/URI", "/Rendition", "/Sound", "/Movie", "/Hide", "/SetOCGState", "/GoTo3DView",
    "/RichMedia", "/EmbeddedFile", "/Filespec", "/FileAttachment", "/Screen", "/3D",
    "/Widget", "/Action",
})
# A stream dictionary can point at an external file instead of holding its data.
_EXTERNAL_STREAM_KEYS = ("/F", "/FFilter", "/FDecodeParms")


def clean_upload(data: bytes, options: Mapping) -> tuple[dict, bytes]:
    """The sandbox job ``receipt``: a PDF, JPEG or PNG re-written clean, by its magic bytes."""
    content_type = sniff(data)
    if content_type == PDF:
        return clean_pdf(data, options)
    if content_type in (JPEG, PNG):
        return clean_image(data, options, content_type)
    raise Refused("unknown_type")


# --- PDF -----------------------------------------------------------------------------------------


def _children(obj) -> Iterator:
    """The direct sub-objects of a dictionary, stream or array (indirect ones not followed)."""
    if isinstance(obj, pikepdf.Array):
        items = list(obj)
    elif isinstance(obj, pikepdf.Dictionary | pikepdf.Stream):
        items = [obj[key] for key in obj.keys()]
    else:
        return
    for item in items:
        if isinstance(item, pikepdf.Array | pikepdf.Dictionary | pikepdf.Stream) \
                and not item.is_indirect:
            yield item


def _walk(pdf: pikepdf.Pdf) -> Iterator:
    """Every dictionary, stream and array of ``pdf``, direct ones included, without recursion
    (a file can nest arrays thousands deep)."""
    for root in pdf.objects:
        if not isinstance(root, pikepdf.Array | pikepdf.Dictionary | pikepdf.Stream):
            continue
        stack = [root]
        while stack:
            obj = stack.pop()
            yield obj
            stack.extend(_children(obj))


def _is_active(obj) -> bool:
    """Whether a dictionary is an action, file or rich-media object, or holds one by key."""
    if not isinstance(obj, pikepdf.Dictionary | pikepdf.Stream):
        return False
    for key in ("/S", "/Type", "/Subtype"):
        value = obj.get(key)
        if isinstance(value, pikepdf.Name) and str(value) in ACTIVE_NAMES:
            return True
    if isinstance(obj, pikepdf.Stream) and any(key in obj for key in _EXTERNAL_STREAM_KEYS):
        return True
    return any(key in obj for key in ACTIVE_KEYS) or isinstance(obj.get("/A"), pikepdf.Dictionary)


def _scrub(obj) -> None:
    """Empty an active dictionary or stream in place, so nothing can reach what it held."""
    for key in list(obj.keys()):
        if isinstance(obj, pikepdf.Stream) and key in ("/Length", "/Filter", "/DecodeParms"):
            continue
        del obj[key]
    if isinstance(obj, pikepdf.Stream):
        obj.write(b"")


def _open_pdf(data: bytes) -> pikepdf.Pdf:
    if b"%%EOF" not in data[-PDF_EOF_WINDOW:]:
        raise Refused("truncated", "PDF without %%EOF")
    try:
        return pikepdf.open(io.BytesIO(data))
    except pikepdf.PasswordError as exc:
        raise Refused("pdf_encrypted") from exc
    except (pikepdf.PdfError, ValueError, RuntimeError) as exc:
        raise Refused("pdf_unreadable", str(exc)[:200]) from exc


def _decoded_size(pdf: pikepdf.Pdf) -> int:
    """What the streams decode to in all (images in JPEG and the like stay as they are)."""
    total = 0
    for obj in pdf.objects:
        if not isinstance(obj, pikepdf.Stream):
            continue
        try:
            total += len(obj.read_bytes())
        except pikepdf.PdfError:
            total += len(obj.read_raw_bytes())
        if total > MAX_DECODED_BYTES:
            raise Refused("too_complex", "streams inflate too far")
    return total


def _copy_pages(source: pikepdf.Pdf) -> pikepdf.Pdf:
    """A new document holding only the pages of ``source``, each keeping only ``_PAGE_KEYS``."""
    try:
        source.flatten_annotations("all")
    except (pikepdf.PdfError, ValueError, RuntimeError):
        pass  # the annotations' looks are lost; they are dropped below all the same
    clean = pikepdf.new()
    clean.pages.extend(source.pages)
    for page in clean.pages:
        for key in list(page.obj.keys()):
            if key not in _PAGE_KEYS:
                del page.obj[key]
    for obj in list(_walk(clean)):
        if _is_active(obj):
            _scrub(obj)
    return clean


def active_content(pdf: pikepdf.Pdf) -> list[str]:
    """What active content ``pdf`` still holds (empty when clean), for the check and tests."""
    found = []
    for obj in _walk(pdf):
        if _is_active(obj):
            found.append(repr(obj)[:120])
    return found


def clean_pdf(data: bytes, options: Mapping) -> tuple[dict, bytes]:
    """A PDF re-written by qpdf with nothing active in it, or a refusal."""
    max_pages = int(options.get("max_pages", MAX_PAGES))
    with _open_pdf(data) as source:
        try:
            pages = len(source.pages)
        except (pikepdf.PdfError, ValueError, RuntimeError) as exc:
            raise Refused("pdf_unreadable", "page tree") from exc
        if pages == 0:
            raise Refused("pdf_no_pages")
        if pages > max_pages:
            raise Refused("pdf_too_many_pages", str(pages))
        try:
            with _copy_pages(source) as clean:
                _decoded_size(clean)
                out = io.BytesIO()
                clean.save(out, object_stream_mode=pikepdf.ObjectStreamMode.generate,
                           compress_streams=True, deterministic_id=True, preserve_pdfa=False)
        except (pikepdf.PdfError, ValueError, RuntimeError) as exc:
            raise Refused("pdf_unreadable", str(exc)[:200]) from exc
    cleaned = out.getvalue()
    with pikepdf.open(io.BytesIO(cleaned)) as check:
        if len(check.pages) != pages or active_content(check):
            raise Refused("pdf_active_content", "left after cleaning")
    return {"content_type": PDF, "pages": pages}, cleaned


# --- images --------------------------------------------------------------------------------------


def _check_dimensions(width: int, height: int, options: Mapping) -> None:
    max_side = int(options.get("max_side", MAX_SIDE))
    max_pixels = int(options.get("max_pixels", MAX_PIXELS))
    if width <= 0 or height <= 0:
        raise Refused("corrupt", "zero image size")
    if width > max_side or height > max_side or width * height > max_pixels:
        raise Refused("too_many_pixels", f"{width}×{height}")


def clean_image(data: bytes, options: Mapping, content_type: str) -> tuple[dict, bytes]:
    """A JPEG or PNG decoded and encoded again in its format, upright, without metadata."""
    fmt = "JPEG" if content_type == JPEG else "PNG"
    Image.MAX_IMAGE_PIXELS = int(options.get("max_pixels", MAX_PIXELS))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=[fmt]) as image:
                _check_dimensions(*image.size, options)
                image.verify()
            with Image.open(io.BytesIO(data), formats=[fmt]) as image:
                image.load()
                upright = ImageOps.exif_transpose(image)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise Refused("too_many_pixels") from exc
    except (OSError, UnidentifiedImageError, SyntaxError, ValueError, EOFError, IndexError,
            TypeError) as exc:
        if "truncated" in str(exc).lower() or isinstance(exc, EOFError):
            raise Refused("truncated") from exc
        raise Refused("corrupt", str(exc)[:200]) from exc
    if "transparency" in upright.info and upright.mode not in ("RGBA", "LA"):
        upright = upright.convert("RGBA")
    if fmt == "JPEG" and upright.mode not in ("L", "RGB", "CMYK"):
        upright = upright.convert("RGB")
    # Nothing of the original's metadata goes into the new file: Pillow writes what is in
    # ``info`` (EXIF, ICC profile, text chunks) unless it is emptied.
    upright.info = {}
    out = io.BytesIO()
    if fmt == "JPEG":
        upright.save(out, "JPEG", quality=90)
    else:
        upright.save(out, "PNG", optimize=False)
    width, height = upright.size
    return {"content_type": content_type, "width": width, "height": height}, out.getvalue()
