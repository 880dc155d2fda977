"""The API's one contract: pydantic models validate each request and response, and the OpenAPI
3.1 document at ``/api/v1/openapi.json`` is generated from the same models (spectree).

Why spectree, of the four the issue names, for an application whose pages are Flask-WTF forms:

- it decorates views of a plain ``Flask`` app and its blueprints, and registers nothing else:
  flask-smorest's ``Api`` and APIFlask register an error handler for every ``HTTPException`` of
  the whole app (our HTML error pages would turn into JSON), APIFlask and flask-openapi3 want
  their own app class (``APIFlask``, ``OpenAPI``) in place of ``Flask``;
- its models are pydantic 2's, whose JSON Schema is draft 2020-12, the dialect of OpenAPI 3.1
  itself; flask-smorest and APIFlask go through marshmallow and apispec, written for 3.0;
- request and response are both checked against the model the document shows, so the document
  cannot drift from what the code does (a response that breaks it is logged as an error and
  made a 500, which the contract tests catch).

The document is generated once per application (its plugins decide which operations exist),
then completed here: problem responses as ``application/problem+json``, the bearer security
scheme and which operations need it, the server address from ``PUBLIC_BASE_URL``.
"""

from __future__ import annotations

import copy
import json
import logging
import threading

from flask import Flask, current_app
from flask_babel import gettext as _
from spectree import SpecTree

from core.api.problems import PROBLEM_JSON, FieldProblem, Problem, problem

log = logging.getLogger("kursportal.api")
VERSION = "1"


def _name(model) -> str:
    """Components are named by the model's class name (unique across the API's modules)."""
    return model.__name__


def _nested_name(parent: str, child: str) -> str:
    return child


def _field(location: tuple) -> str:
    return ".".join(str(part) for part in location) or "body"


def _message(error: dict) -> str:
    """A pydantic error in words, in the request's language."""
    kind, ctx = error.get("type", ""), error.get("ctx") or {}
    if kind == "missing":
        return _("This field is required.")
    if kind in ("string_too_long", "too_long"):
        return _("At most %(n)s characters.", n=ctx.get("max_length", "?"))
    if kind in ("string_too_short", "too_short"):
        return _("At least %(n)s characters.", n=ctx.get("min_length", "?"))
    if kind.startswith(("int_", "float_")) or kind in ("greater_than_equal", "less_than_equal",
                                                       "greater_than", "less_than"):
        if kind in ("greater_than_equal", "greater_than"):
            return _("The number is too small.")
        if kind in ("less_than_equal", "less_than"):
            return _("The number is too large.")
        return _("Give a whole number.")
    if kind.startswith("date") or kind.startswith("datetime"):
        return _("Give a date as YYYY-MM-DD.")
    if kind in ("enum", "literal_error"):
        return _("Choose one of the values the contract lists.")
    if kind in ("bool_type", "bool_parsing"):
        return _("Give true or false.")
    if kind in ("extra_forbidden",):
        return _("This field is not part of the contract.")
    if kind in ("json_invalid", "model_type", "dict_type"):
        return _("The body must be a JSON object.")
    return _("This value does not match the contract.")


def _problem_for_invalid_request(req, resp, req_validation_error, instance, *_args) -> None:
    """spectree's ``before`` hook: a request that breaks the contract answers 422 with a
    problem object naming each field, in the request's language."""
    if req_validation_error is None or resp is None:
        return
    errors = [FieldProblem(field=_field(tuple(e.get("loc", ()))), message=_message(e))
              for e in req_validation_error.errors()]
    body = problem(422, _("Some fields do not match the contract."), errors=errors)
    resp.set_data(body.get_data())
    resp.mimetype = PROBLEM_JSON
    resp.headers["Cache-Control"] = "no-store"


def _log_invalid_response(req, resp, resp_validation_error, instance, *_args) -> None:
    """spectree's ``after`` hook: a response that breaks the contract is our error."""
    if resp_validation_error is not None:
        log.error("API response breaks the contract: %s %s: %s", req.method, req.path,
                  resp_validation_error)
        body = problem(500)
        resp.set_data(body.get_data())
        resp.mimetype = PROBLEM_JSON


# OpenAPI links (operationId → response status → name → link): how a value in one answer feeds
# the next call; clients follow them, and schemathesis's stateful tests walk them.
LINKS: dict[str, dict[str, dict[str, dict]]] = {}


def link(operation_id: str, status: int, name: str, target: str, parameters: dict) -> None:
    """Declare that ``parameters`` of operation ``target`` can come from the ``status`` answer
    of ``operation_id`` (runtime expressions such as ``$response.body#/items/0/id``)."""
    LINKS.setdefault(operation_id, {}).setdefault(str(status), {})[name] = {
        "operationId": target, "parameters": parameters}


# Answers that are not JSON (operationId → response status → media type → its schema): spectree
# documents JSON bodies only, so an operation that serves a file (a CSV export) says so here.
MEDIA: dict[str, dict[str, dict[str, dict]]] = {}


def media(operation_id: str, status: int, media_type: str, schema: dict) -> None:
    """Declare that the ``status`` answer of ``operation_id`` is ``media_type`` (not JSON),
    whose body ``schema`` describes (a JSON Schema, e.g. ``{"type": "string"}``)."""
    MEDIA.setdefault(operation_id, {}).setdefault(str(status), {})[media_type] = {
        "schema": schema}


spec = SpecTree(
    "flask", mode="strict", title="Kursportal API", version=VERSION,
    # spectree's own routes (a UI from a CDN, its copy of the document) are not registered:
    # the document and its page are ours (core.api.routes). Its path only names what to skip.
    path="api/v1/_spectree", page_templates={}, annotations=True,
    naming_strategy=_name, nested_naming_strategy=_nested_name,
    validation_error_status=422, validation_error_model=Problem,
    before=_problem_for_invalid_request, after=_log_invalid_response,
)
_lock = threading.Lock()


def _complete(document: dict, app: Flask) -> dict:
    """Problem responses, security, servers and descriptions added to spectree's document."""
    document["info"]["description"] = (
        "The public course catalog of the county governors' offices, and, with a personal "
        "access token, a county office's participants, attendance, claims, certificates and "
        "rosters. Errors are RFC 9457 problem objects in the language of Accept-Language "
        "(nn, nb or en).")
    base = app.config.get("PUBLIC_BASE_URL")
    if base:
        document["servers"] = [{"url": base.rstrip("/")}]
    components = document.setdefault("components", {})
    components.setdefault("securitySchemes", {})["token"] = {
        "type": "http", "scheme": "bearer",
        "description": "A personal access token, made on the staff page 'API tokens'."}
    components["schemas"].pop("ValidationError", None)
    operations = {operation.get("operationId") for item in document.get("paths", {}).values()
                  for operation in item.values()}
    for path_item in document.get("paths", {}).values():
        for operation in path_item.values():
            for code, links in LINKS.get(operation.get("operationId"), {}).items():
                present = {n: v for n, v in links.items() if v["operationId"] in operations}
                if present and code in operation.get("responses", {}):
                    operation["responses"][code]["links"] = present
            for code, content in MEDIA.get(operation.get("operationId"), {}).items():
                if code in operation.get("responses", {}):
                    operation["responses"][code]["content"] = copy.deepcopy(content)
            for code, response in operation.get("responses", {}).items():
                content = response.get("content", {})
                if code.isdigit() and int(code) >= 400 and "application/json" in content:
                    content[PROBLEM_JSON] = content.pop("application/json")
                    content[PROBLEM_JSON]["schema"] = {"$ref": "#/components/schemas/Problem"}
            _add_problem(operation, "429", "Too Many Requests: the address's or the token's "
                         "limit is reached; Retry-After says when to try again")
            body = operation.get("requestBody", {}).get("content", {})
            if "application/json" in body:
                _add_problem(operation, "415", "Unsupported Media Type: the body is not JSON")
    return document


def _add_problem(operation: dict, code: str, description: str) -> None:
    """Declare a problem answer every such operation can give (core answers it, not the view)."""
    operation.setdefault("responses", {}).setdefault(code, {
        "description": description,
        "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}})


def document(app: Flask | None = None) -> dict:
    """The OpenAPI document of ``app`` (the current one), generated once."""
    app = app or current_app._get_current_object()
    cached = app.extensions.get("kp_openapi")
    if cached is None:
        with _lock, app.app_context():
            spec.__dict__.pop("_spec", None)  # spectree caches one document per instance
            generated = copy.deepcopy(spec.spec)
            spec.__dict__.pop("_spec", None)
        cached = _complete(generated, app)
        app.extensions["kp_openapi"] = cached
    return cached


def document_json(app: Flask | None = None) -> bytes:
    """The document as the bytes ``/api/v1/openapi.json`` serves."""
    return json.dumps(document(app), ensure_ascii=False, sort_keys=True).encode()
