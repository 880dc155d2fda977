"""Errors of the JSON API as ``application/problem+json`` (RFC 9457), in the person's language.

Every error an ``/api/`` address answers, from a refused token to a 404 or a rate limit, is a
problem object: ``type`` (a URI naming the kind of problem; ``about:blank`` for the HTTP status
alone), ``title`` (the status in words, translated), ``status``, ``detail`` (what went wrong
here, translated) and, for a request that does not match the contract, ``errors`` (one per
field: where, and the message). The language is the request's (``Accept-Language``, else
Nynorsk), as on the pages.
"""

from __future__ import annotations

import json

from flask import Response, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from pydantic import BaseModel, Field

PROBLEM_JSON = "application/problem+json"
API_PREFIX = "/api/"

TITLES = {
    400: _l("Bad request"),
    401: _l("Not signed in"),
    403: _l("Not allowed"),
    404: _l("Not found"),
    405: _l("Method not allowed"),
    406: _l("Not acceptable"),
    409: _l("Conflict"),
    412: _l("Precondition failed"),
    413: _l("Too large"),
    415: _l("Unsupported media type"),
    422: _l("The request does not match the contract"),
    429: _l("Too many requests"),
    500: _l("Something went wrong on our side"),
    503: _l("The service is temporarily unavailable"),
}


class FieldProblem(BaseModel):
    """One field of a request that does not match the contract."""

    field: str = Field(description="Where: a parameter or a JSON path, dotted.")
    message: str = Field(description="What is wrong, in the request's language.")


class Problem(BaseModel):
    """An error (RFC 9457 problem details)."""

    type: str = Field("about:blank", description="A URI naming the kind of problem.")
    title: str = Field(description="The kind of problem in words, in the request's language.")
    status: int = Field(description="The HTTP status code.")
    detail: str | None = Field(None, description="What went wrong with this request.")
    errors: list[FieldProblem] | None = Field(
        None, description="For a request that breaks the contract: each field and its problem.")


def is_api_request() -> bool:
    """Whether the current request is for the JSON API (its errors are problem objects)."""
    return request.path.startswith(API_PREFIX)


def problem(status: int, detail: str | None = None, *, type_: str = "about:blank",
            errors: list[FieldProblem] | None = None, headers: dict | None = None) -> Response:
    """A problem response for ``status``; the title is the status's, translated."""
    body = Problem(type=type_, title=str(TITLES.get(status, TITLES[500])), status=status,
                   detail=detail, errors=errors)
    response = Response(json.dumps(body.model_dump(exclude_none=True), ensure_ascii=False),
                        status=status, mimetype=PROBLEM_JSON)
    response.headers["Cache-Control"] = "no-store"
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def default_detail(status: int) -> str | None:
    """A sentence for an error raised without one."""
    if status == 404:
        return _("Nothing is found at this address, or you may not see it.")
    if status == 405:
        return _("This address does not take that method.")
    return None
