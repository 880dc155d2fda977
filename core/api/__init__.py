"""The JSON API (``/api/v1``): what every plugin's API operations share.

- ``core.api.spec``: the spectree instance whose models validate requests and responses and
  make the OpenAPI 3.1 document (and why spectree);
- ``core.api.problems``: errors as RFC 9457 problem objects, translated;
- ``core.api.tokens`` and ``core.api.auth``: staff personal access tokens and the decorator
  that requires one;
- ``core.api.web``: ETag/304, the public read API's caching and CORS, cursors.

A plugin adds its operations to its own blueprint, each view decorated, outermost first, with
the route, ``core.api.operations.public`` or ``staff`` (rate limits, and the token for staff
operations)
and ``spec.validate(...)`` (the contract). The operations call the plugin's services, as its
pages do: the API never implements a rule of its own.

Core serves the document (``/api/v1/openapi.json``) and a page that reads it
(``/api/v1/docs``), and the staff pages for tokens.
"""

from __future__ import annotations

from flask import Flask

API_PREFIX = "/api/v1"


def init_app(app: Flask) -> None:
    """Serve the document, its page and the token pages."""
    # docs_page adds its route to routes.bp at its import, before the blueprint is registered.
    from core.api import docs_page, routes, token_pages  # noqa: F401

    app.register_blueprint(routes.bp)
    routes.init_app(app)
    token_pages.init_app(app)
