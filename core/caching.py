"""HTTP caching: public pages that browsers and proxies may keep for a minute, rendered once per
change, and static files under fingerprinted URLs that may be kept for a year.

A view decorated with ``public_page`` is sent with ``Cache-Control: public, max-age=60``, a weak
``ETag`` hashed from the body, and a ``Last-Modified`` from the plugin's "last change" function,
and answers ``304 Not Modified`` to ``If-None-Match`` or ``If-Modified-Since``. The ETag hashes
what was rendered, so it is exact: it differs by language, query string and anything else the
page shows.

Each worker also keeps the pages it rendered (``PUBLIC_PAGE_CACHE_SIZE`` of them, least recently
used first out; 0 turns this off), keyed by path and query, host and language, and serves one
again while the last change is the same and for at most the same minute a proxy may keep it.
The last change is read before the view runs, so a cached page is never older than the data
its key names, and a worker trusts what it read for ``PUBLIC_PAGE_RECHECK`` seconds (default 1;
0 in tests), so a page served from memory costs no database round trip: a change shows after a
second at most. Changes committed out of order by concurrent transactions on different rows can
leave a page behind for that minute at most, which ``max-age`` allows any cache anyway.

Only pages that show nothing personal may be decorated: no form with a CSRF token, nothing of
the logged-in user. A request carrying a flashed message is rendered afresh and sent
``no-store``, as is any page whose rendering changed the session.

``url_for("static", ...)`` adds ``v=<sha256 prefix>`` of the file's content. A request whose
``v`` matches the file on this server may be cached for a year; any other (an old page asking
during a rolling deploy, or no ``v`` at all) must revalidate, so a year-long cache never holds
the wrong bytes under a fingerprint.
"""

from __future__ import annotations

import functools
import hashlib
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from flask import Flask, Response, current_app, make_response, request, session
from werkzeug.security import safe_join

from core.i18n import current_locale
from core.web import no_store

PUBLIC_MAX_AGE = 60
STATIC_MAX_AGE = 365 * 24 * 3600
FINGERPRINT_LENGTH = 12
DEFAULT_PAGE_CACHE_SIZE = 256
DEFAULT_RECHECK_SECONDS = 1.0
# What a cached page keeps of the view's response headers, the public ones included: a page
# served again from memory gets them as they were, without working them out anew.
_KEPT_HEADERS = ("Content-Type", "Content-Disposition", "Content-Language", "Cache-Control",
                 "Vary", "ETag")


@dataclass(frozen=True)
class _Page:
    """A rendered public page and the last change it was rendered after."""

    changed_at: datetime | None
    expires: float
    body: bytes
    headers: tuple[tuple[str, str], ...]


class PageCache:
    """The public pages one worker rendered, least recently used first out."""

    def __init__(self, size: int, recheck: float):
        self.size = size
        self.recheck = recheck
        self._pages: OrderedDict[tuple, _Page] = OrderedDict()
        self._changes: dict[Callable, tuple[float, datetime | None]] = {}
        self._lock = threading.Lock()  # the development server runs threads

    def last_change(self, source: Callable[[], datetime | None]) -> datetime | None:
        """What ``source`` says, asked again only after ``recheck`` seconds."""
        now = time.monotonic()
        known = self._changes.get(source)
        if known is not None and now - known[0] < self.recheck:
            return known[1]
        changed_at = source()
        self._changes[source] = (now, changed_at)
        return changed_at

    def get(self, key: tuple, changed_at: datetime | None) -> _Page | None:
        """The page stored under ``key`` if it is as new as ``changed_at`` and not expired."""
        with self._lock:
            page = self._pages.get(key)
            if page is None:
                return None
            if page.changed_at != changed_at or page.expires <= time.monotonic():
                del self._pages[key]
                return None
            self._pages.move_to_end(key)
            return page

    def put(self, key: tuple, changed_at: datetime | None, response: Response) -> None:
        """Keep ``response``'s body and its content and public headers under ``key``."""
        if self.size <= 0:
            return
        headers = tuple((name, response.headers[name]) for name in _KEPT_HEADERS
                        if name in response.headers)
        page = _Page(changed_at, time.monotonic() + PUBLIC_MAX_AGE, response.get_data(),
                     headers)
        with self._lock:
            self._pages[key] = page
            self._pages.move_to_end(key)
            while len(self._pages) > self.size:
                self._pages.popitem(last=False)


def public_page(last_change: Callable[[], datetime | None]):
    """Make a GET view public: cacheable by anyone for ``PUBLIC_MAX_AGE`` seconds, with
    validators, and rendered once per change by each worker.

    ``last_change`` returns when the data behind the page last changed (aware UTC, or None).
    """

    def decorate(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            # A logged-in member of staff sees staff marks on public pages (learning objectives
            # still to be confirmed): their page is rendered for them alone, never cached.
            if (request.method not in ("GET", "HEAD") or "_flashes" in session
                    or "_user_id" in session):
                return _personal(make_response(view(*args, **kwargs)))
            cache: PageCache = current_app.extensions["kp_page_cache"]
            changed_at = cache.last_change(last_change)
            key = (request.endpoint, request.host, request.scheme, request.full_path,
                   current_locale())
            page = cache.get(key, changed_at)
            if page is not None:
                response = Response(page.body, headers=page.headers)
                response.last_modified = _last_modified(changed_at)
            else:
                response = make_response(view(*args, **kwargs))
                if response.status_code != 200:
                    return response
                if session.modified:
                    return _personal(response)
                _make_public(response, changed_at)
                cache.put(key, changed_at, response)
            return response.make_conditional(request)

        return wrapper

    return decorate


def _personal(response: Response) -> Response:
    return no_store(response) if response.status_code == 200 else response


def _last_modified(changed_at: datetime | None) -> datetime:
    started_at = current_app.extensions["kp_started_at"]
    # Code and translations last changed when this process started; the clock bounds the rest
    # (another server's clock may run ahead of ours).
    return min(max(changed_at or started_at, started_at), datetime.now(UTC))


def _make_public(response: Response, changed_at: datetime | None) -> None:
    response.last_modified = _last_modified(changed_at)
    response.cache_control.public = True
    response.cache_control.max_age = PUBLIC_MAX_AGE
    # The language comes from the cookie or Accept-Language.
    response.vary.update(("Cookie", "Accept-Language"))
    response.add_etag(weak=True)


def fingerprint(filename: str) -> str | None:
    """The first characters of the sha256 of a static file, or None when there is none."""
    path = safe_join(current_app.static_folder, filename)
    if path is None:
        return None
    try:
        stat = os.stat(path)
    except OSError:
        return None
    known = current_app.extensions["kp_static_fingerprints"]
    key = (stat.st_mtime_ns, stat.st_size)
    if path not in known or known[path][0] != key:
        with open(path, "rb") as file:
            digest = hashlib.file_digest(file, "sha256").hexdigest()[:FINGERPRINT_LENGTH]
        known[path] = (key, digest)
    return known[path][1]


def _add_fingerprint(endpoint: str, values: dict) -> None:
    if endpoint == "static" and "filename" in values and "v" not in values:
        version = fingerprint(values["filename"])
        if version:
            values["v"] = version


def _static_cache_headers(response: Response) -> Response:
    if request.endpoint != "static" or response.status_code not in (200, 304):
        return response
    version = request.args.get("v")
    if version and version == fingerprint(request.view_args.get("filename", "")):
        response.cache_control.no_cache = None
        response.cache_control.public = True
        response.cache_control.max_age = STATIC_MAX_AGE
        response.cache_control.immutable = True
    else:
        response.cache_control.max_age = None
        response.cache_control.no_cache = True
    return response


def init_app(app: Flask) -> None:
    """The page cache of this worker, fingerprinted static URLs and their lifetime."""
    app.extensions["kp_page_cache"] = PageCache(int(app.config["PUBLIC_PAGE_CACHE_SIZE"]),
                                                float(app.config["PUBLIC_PAGE_RECHECK"]))
    app.extensions["kp_started_at"] = datetime.now(UTC)
    app.extensions["kp_static_fingerprints"] = {}
    app.url_defaults(_add_fingerprint)
    app.after_request(_static_cache_headers)
