"""What every API answer shares: JSON with an ``ETag`` (and 304 when it has not changed), the
caching and CORS headers of the public read API, and opaque cursors for pagination.

- ``public_json(model)``: a response an office's website may fetch from the browser (CORS open
  for GET and HEAD, no credentials) and a cache may keep for ``API_PUBLIC_MAX_AGE`` seconds;
  ``If-None-Match`` with the current ``ETag`` answers 304 without a body.
- ``private_json(model)``: a staff answer: ``no-store``, with an ``ETag`` too.
- ``encode_cursor``/``decode_cursor``: where the next page starts, as URL-safe text the client
  passes back unchanged; a cursor that was not made here is a 400 problem, never a 500.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from datetime import UTC, datetime

from flask import Response, current_app, request
from flask_babel import gettext as _
from pydantic import BaseModel

from core.api.problems import problem
from core.db import LARGEST_ID

CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, HEAD, OPTIONS",
    "Access-Control-Allow-Headers": "Accept-Language, If-None-Match",
    "Access-Control-Expose-Headers": "ETag, Content-Language",
    "Access-Control-Max-Age": "86400",
}


class BadCursor(ValueError):
    """A cursor that was not made by :func:`encode_cursor`."""


def _body(payload: BaseModel | dict | list) -> bytes:
    if isinstance(payload, BaseModel):
        return payload.model_dump_json().encode()
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


def _with_etag(body: bytes, headers: dict) -> Response:
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    if etag in request.headers.get("If-None-Match", "").replace("W/", "").split(", "):
        response = Response(status=304)
    else:
        response = Response(body, mimetype="application/json")
    response.headers["ETag"] = etag
    response.headers["Vary"] = "Accept-Language"
    for name, value in headers.items():
        response.headers[name] = value
    return response


def public_json(payload: BaseModel | dict | list) -> Response:
    """A public, cacheable answer any website may read (see the module's description)."""
    max_age = current_app.config["API_PUBLIC_MAX_AGE"]
    return _with_etag(_body(payload), {"Cache-Control": f"public, max-age={max_age}",
                                       **CORS_HEADERS})


def private_json(payload: BaseModel | dict | list, status: int = 200) -> Response:
    """A staff answer no cache keeps."""
    response = _with_etag(_body(payload), {"Cache-Control": "no-store"})
    if response.status_code == 200 and status != 200:
        response.status_code = status
    return response


def cors_preflight(response: Response) -> Response:
    """The answer to a browser's OPTIONS before a GET with ``If-None-Match``."""
    for name, value in CORS_HEADERS.items():
        response.headers[name] = value
    return response


def encode_cursor(values: list) -> str:
    """Where the next page starts (the last row's sort key), as opaque URL-safe text."""
    raw = json.dumps(values, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(text: str, types: tuple[type, ...]) -> list:
    """The sort key a cursor holds, checked against ``types``; ``BadCursor`` otherwise."""
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        values = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise BadCursor from None
    if (not isinstance(values, list) or len(values) != len(types)
            or not all(isinstance(v, t) and not isinstance(v, bool)
                       for v, t in zip(values, types, strict=True))):
        raise BadCursor
    return values


def decode_time_cursor(text: str) -> tuple[datetime, int]:
    """The (moment, id) a keyset cursor holds, for lists ordered by a time then the row's id;
    ``BadCursor`` for anything else (a moment without its offset, an id no row can have)."""
    moment_text, row_id = decode_cursor(text, (str, int))
    try:
        moment = datetime.fromisoformat(moment_text)
    except ValueError:
        raise BadCursor from None
    if moment.tzinfo is None or not 1 <= row_id <= LARGEST_ID:
        raise BadCursor
    return moment.astimezone(UTC), row_id


def bad_cursor() -> Response:
    """The 400 problem for a cursor that was not made here."""
    return problem(400, _("The cursor is not one this API gave out. Start again without it."))
