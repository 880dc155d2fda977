"""The API's documentation page (``/api/v1/docs``): the OpenAPI document read on the server and
shown as HTML in the reader's language, from our own templates and stylesheet (no script, no
CDN, nothing inline: the CSP allows none of it).

Every operation of the document is shown, grouped by tag: method, path, summary and description
(the contract's own words, in English), whether it needs a token and which (read, or read and
write: the ``token_scope`` its view carries), its parameters, its request body and its answers
with their media types and schemas; then every schema with its fields. Around them, in the
reader's language: where the document is, how to get a token, the error format and the limits.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from flask import current_app, render_template
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from limits import parse_many

from core.api.problems import TITLES
from core.api.routes import bp
from core.api.spec import document

HTTP_METHODS = ("get", "post", "put", "patch", "delete")
WHERE = {"path": _l("path"), "query": _l("query string"), "header": _l("header"),
         "cookie": _l("cookie")}
TAG_TITLES = {"catalog": _l("The public catalog"), "staff": _l("Staff: with a token")}
_RULE_ARGUMENT = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")


@dataclass(frozen=True)
class Parameter:
    """A parameter of an operation, as the page lists it."""

    name: str
    where: str
    type: str
    required: bool
    description: str


@dataclass(frozen=True)
class Answer:
    """One answer of an operation: its status, media type and schema, and the calls it feeds."""

    status: str
    description: str
    media_type: str | None
    schema: str | None
    links: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Operation:
    """An operation of the document, as the page shows it."""

    id: str
    method: str
    path: str
    summary: str
    description: list[list[tuple[str, bool]]]
    scope: str | None  # None: public; "read", "read-write", or "token" (a token, scope unknown)
    parameters: list[Parameter]
    body: tuple[str, str | None] | None  # media type, schema
    answers: list[Answer]


@dataclass(frozen=True)
class SchemaField:
    """A field of a schema."""

    name: str
    type: str
    required: bool
    description: str


@dataclass(frozen=True)
class Schema:
    """A schema of the document's components."""

    name: str
    description: str
    fields: list[SchemaField]


def paragraphs(text: str) -> list[list[tuple[str, bool]]]:
    """A description as paragraphs of (text, is code) runs: ````code```` and ```code```."""
    result = []
    for block in re.split(r"\n\s*\n", (text or "").strip()):
        if block.strip():
            parts = re.split(r"``?([^`]+)``?", " ".join(block.split()))
            result.append([(part, index % 2 == 1) for index, part in enumerate(parts) if part])
    return result


def ref_name(schema: dict) -> str | None:
    """The component a schema refers to, if it is a reference."""
    ref = schema.get("$ref", "")
    return ref.rsplit("/", 1)[-1] if ref else None


def type_of(schema: dict) -> str:
    """A schema's type in a few words: ``integer``, ``string (date)``, ``array of OfferingOut``,
    ``"read" | "read-write"``, ``string | null``."""
    if not schema:
        return "any"
    if ref_name(schema):
        return ref_name(schema)
    for combined in ("anyOf", "oneOf", "allOf"):
        if combined in schema:
            return " | ".join(type_of(part) for part in schema[combined])
    if "enum" in schema:
        return " | ".join(f'"{v}"' if isinstance(v, str) else str(v) for v in schema["enum"])
    if "const" in schema:
        return f'"{schema["const"]}"'
    kind = schema.get("type", "any")
    if isinstance(kind, list):
        return " | ".join(kind)
    if kind == "array":
        return f"array of {type_of(schema.get('items', {}))}"
    return f"{kind} ({schema['format']})" if "format" in schema else kind


def token_scopes() -> dict[tuple[str, str], str]:
    """(method, OpenAPI path) → the scope of token its view requires, from the views."""
    scopes = {}
    for rule in current_app.url_map.iter_rules():
        view = current_app.view_functions.get(rule.endpoint)
        scope = None
        while view is not None and scope is None:
            scope = getattr(view, "token_scope", None)
            view = getattr(view, "__wrapped__", None)
        if scope:
            path = _RULE_ARGUMENT.sub(r"{\1}", rule.rule)
            for method in rule.methods or ():
                scopes[(method.lower(), path)] = scope
    return scopes


def _answers(responses: dict) -> list[Answer]:
    answers = []
    for status, response in sorted(responses.items()):
        content = response.get("content") or {None: {}}
        for media_type, body in content.items():
            code = int(status) if status.isdigit() else 0
            answers.append(Answer(
                status=status, description=str(TITLES[code]) if code in TITLES
                else response.get("description", ""),
                media_type=media_type, schema=ref_name(body.get("schema", {}))
                or (type_of(body["schema"]) if body.get("schema") else None),
                links=[link["operationId"] for link in response.get("links", {}).values()]))
    return answers


def _operation(path: str, method: str, op: dict, scopes: dict) -> Operation:
    secured = bool(op.get("security"))
    body = None
    if "requestBody" in op:
        media_type, content = next(iter(op["requestBody"].get("content", {}).items()),
                                   ("application/json", {}))
        body = (media_type, ref_name(content.get("schema", {})))
    return Operation(
        id=op.get("operationId", f"{method}-{path}"), method=method.upper(), path=path,
        summary=op.get("summary", ""), description=paragraphs(op.get("description", "")),
        scope=scopes.get((method, path), "token") if secured else None,
        parameters=[Parameter(name=p["name"], where=p.get("in", ""),
                              type=type_of(p.get("schema", {})),
                              required=bool(p.get("required")),
                              description=p.get("description")
                              or p.get("schema", {}).get("description", ""))
                    for p in op.get("parameters", [])],
        body=body, answers=_answers(op.get("responses", {})))


def operations_by_tag(doc: dict, scopes: dict) -> list[tuple[str, list[Operation]]]:
    """Every operation of ``doc``, grouped by its first tag in the document's order of tags."""
    groups: dict[str, list[Operation]] = {tag["name"]: [] for tag in doc.get("tags", [])}
    for path, item in sorted(doc.get("paths", {}).items()):
        for method in HTTP_METHODS:
            if method in item:
                tag = (item[method].get("tags") or ["other"])[0]
                groups.setdefault(tag, []).append(_operation(path, method, item[method], scopes))
    return [(tag, ops) for tag, ops in groups.items() if ops]


def schemas(doc: dict) -> list[Schema]:
    """The document's component schemas, by name, with their fields."""
    found = []
    for name, schema in sorted(doc.get("components", {}).get("schemas", {}).items()):
        required = set(schema.get("required", []))
        found.append(Schema(name=name, description=schema.get("description", ""), fields=[
            SchemaField(name=key, type=type_of(value), required=key in required,
                        description=value.get("description", ""))
            for key, value in schema.get("properties", {}).items()]))
    return found


def _per(granularity: str, n: int) -> str | None:
    if granularity == "second":
        return _("%(n)s calls a second", n=n)
    if granularity == "minute":
        return _("%(n)s calls a minute", n=n)
    if granularity == "hour":
        return _("%(n)s calls an hour", n=n)
    if granularity == "day":
        return _("%(n)s calls a day", n=n)
    return None


def limits_in_words(setting: str) -> list[str]:
    """A rate limit setting ("120 per minute;3000 per hour") in the reader's words."""
    words = []
    for item in parse_many(setting):
        said = _per(item.GRANULARITY.name, item.amount) if item.multiples == 1 else None
        words.append(said or str(item))
    return words


@bp.get("/docs")
def show_docs():
    """The API's documentation, made from its OpenAPI document."""
    doc = document()
    config = current_app.config
    components = schemas(doc)
    return render_template(
        "api/docs.html", info=doc.get("info", {}), groups=operations_by_tag(doc, token_scopes()),
        schemas=components, schema_names={s.name for s in components}, tag_titles=TAG_TITLES,
        where=WHERE,
        tag_descriptions={t["name"]: t.get("description", "") for t in doc.get("tags", [])},
        ip_limits=limits_in_words(config["API_IP_RATE_LIMIT"]),
        token_limits=limits_in_words(config["API_TOKEN_RATE_LIMIT"]),
        max_age=config["API_PUBLIC_MAX_AGE"])
