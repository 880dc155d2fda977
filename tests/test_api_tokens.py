"""The staff pages for personal access tokens and the API's documentation page.

A token made on the page works on the API and is shown exactly once (the database keeps its
hash only); its expiry date is bounded; county staff always get their own office, an
administrator picks one; revoking on the page stops it at once, and only one's own can be
revoked; the audit log says all this in words. The documentation page shows every operation of
the OpenAPI document, with its parameters, body, answers and the token it needs, in nn and en.
"""

from __future__ import annotations

import copy
import hashlib
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask import Blueprint

from core.api import docs_page, tokens
from core.api.operations import staff
from core.api.spec import document
from core.api.tokens import ApiToken
from core.audit import AuditEvent
from core.audit_view import action_title
from core.db import session_scope, utcnow
from core.i18n import OSLO
from core.models import County
from tests.conftest import staff_login

TOKEN_TEXT = re.compile(r"kp_[0-9a-f]{8}_[A-Za-z0-9_-]{43}")


def today():
    return utcnow().astimezone(OSLO).date()


def county_id(app, slug: str) -> int:
    with session_scope(app.extensions["kp_engine"]) as session:
        return session.scalar(sa.select(County.id).where(County.slug == slug))


def signed_in(app, make_staff, email="kari@sfvl.no", **kwargs):
    make_staff(email=email, **kwargs)
    client = app.test_client()
    client.get("/lang/en")
    staff_login(app, client, email)
    return client


def make(client, name="Økonomi", scope="read", days=90, **extra):
    return client.post("/staff/api-tokens", data={
        "name": name, "scope": scope,
        "expires_on": (today() + timedelta(days=days)).isoformat(), **extra})


def shown_token(response) -> str:
    found = TOKEN_TEXT.findall(response.get_data(as_text=True))
    assert found, response.get_data(as_text=True)
    return found[0]


def bearer(text: str) -> dict:
    return {"Authorization": f"Bearer {text}", "Accept-Language": "en"}


def test_a_token_made_on_the_page_works_and_is_shown_exactly_once(app, make_staff):
    client = signed_in(app, make_staff)
    form = client.get("/staff/api-tokens")
    default_day = (today() + timedelta(days=tokens.DEFAULT_DAYS)).isoformat()
    assert f'value="{default_day}"' in form.get_data(as_text=True)
    assert 'name="county"' not in form.get_data(as_text=True)

    made = make(client, scope="read-write")

    assert made.status_code == 200
    assert made.headers["Cache-Control"] == "no-store"
    text = shown_token(made)
    page = made.get_data(as_text=True)
    assert "It is shown only this once" in " ".join(page.split())
    assert f"Authorization: Bearer {text}" in page
    described = client.get("/api/v1/token", headers=bearer(text))
    assert described.status_code == 200
    assert described.json["county"] == "vestland"
    assert described.json["scope"] == "read-write"
    assert described.json["name"] == "Økonomi"
    # Never again: not on the list, not on a reload, not in the database.
    secret = text.split("_", 2)[2]
    for again in (client.get("/staff/api-tokens"), client.get("/staff/api-tokens")):
        assert again.status_code == 200
        assert "Økonomi" in again.get_data(as_text=True)
        assert secret not in again.get_data(as_text=True)
    with session_scope(app.extensions["kp_engine"]) as session:
        stored = session.scalar(sa.select(ApiToken))
        assert stored.secret_sha256 == hashlib.sha256(secret.encode()).hexdigest()
        assert secret not in repr([getattr(stored, c.key) for c in ApiToken.__table__.columns])
        assert stored.expires_on == today() + timedelta(days=90)
        event = session.scalar(sa.select(AuditEvent).where(
            AuditEvent.action == "api_token.create"))
        assert event.object_id == stored.id
        assert secret not in repr((event.before, event.after))


@pytest.mark.one_database
@pytest.mark.parametrize(("days", "message"), [
    (-1, "The expiry date cannot be in the past."),
    (tokens.MAX_DAYS + 1, "A token lasts at most 366 days"),
])
def test_the_expiry_date_is_today_at_the_earliest_and_a_year_ahead_at_most(
        app, make_staff, days, message):
    client = signed_in(app, make_staff)

    refused = make(client, days=days)

    assert refused.status_code == 400
    page = refused.get_data(as_text=True)
    error = re.search(r'id="expires_on-error">(.*?)</div>', page, re.S)
    assert error is not None
    assert message in error.group(1)
    assert 'aria-describedby="expires_on-hint expires_on-error"' in page
    assert not TOKEN_TEXT.search(page)
    with session_scope(app.extensions["kp_engine"]) as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(ApiToken)) == 0
    # The bounds themselves are allowed.
    assert make(client, days=0).status_code == 200
    assert make(client, days=tokens.MAX_DAYS).status_code == 200


@pytest.mark.one_database
def test_a_name_is_required_and_short(app, make_staff):
    client = signed_in(app, make_staff)

    assert "Give the token a name." in make(client, name=" ").get_data(as_text=True)
    too_long = make(client, name="x" * 101)
    assert too_long.status_code == 400
    assert "At most 100 characters." in too_long.get_data(as_text=True)
    missing_date = client.post("/staff/api-tokens", data={"name": "A", "scope": "read"})
    assert missing_date.status_code == 400
    assert "Enter the date." in missing_date.get_data(as_text=True)


def test_county_staff_get_their_own_office_whatever_the_form_says(app, make_staff):
    """A forged ``county`` is ignored (the form has no such field for county staff), and the
    service refuses another office to county staff anyway."""
    client = signed_in(app, make_staff)
    rogaland = county_id(app, "rogaland")

    text = shown_token(make(client, county=str(rogaland)))

    assert client.get("/api/v1/token", headers=bearer(text)).json["county"] == "vestland"
    with app.app_context(), session_scope(app.extensions["kp_engine"]) as session:
        owner = session.scalar(sa.select(tokens.StaffUser))
        with pytest.raises(tokens.TokenRefused) as refused:
            tokens.issue(session, owner, county_id=rogaland, name="X", can_write=False,
                         expires_on=today(), now=utcnow())
        assert refused.value.field == "county"


def test_an_administrator_picks_the_office(app, make_staff):
    client = signed_in(app, make_staff, email="admin@sf.no", admin=True)
    form = client.get("/staff/api-tokens").get_data(as_text=True)
    assert 'id="county" name="county"><option value="">' in form

    unchosen = make(client)
    assert unchosen.status_code == 400
    assert "Choose the county office the token works for." in unchosen.get_data(as_text=True)
    text = shown_token(make(client, county=str(county_id(app, "rogaland"))))

    described = client.get("/api/v1/token", headers=bearer(text)).json
    assert (described["county"], described["scope"]) == ("rogaland", "read")


def test_revoking_on_the_page_stops_the_token_at_once_and_only_ones_own(app, make_staff):
    client = signed_in(app, make_staff)
    text = shown_token(make(client, name="Lønn"))
    other = signed_in(app, make_staff, email="per@sfvl.no", name="Per Vestland")
    others_text = shown_token(make(other, name="Per sin"))
    with session_scope(app.extensions["kp_engine"]) as session:
        mine, others = (session.scalar(sa.select(ApiToken.id).where(ApiToken.name == name))
                        for name in ("Lønn", "Per sin"))

    assert client.post(f"/staff/api-tokens/{others}/revoke").status_code == 404
    assert client.get("/api/v1/token", headers=bearer(others_text)).status_code == 200
    revoked = client.post(f"/staff/api-tokens/{mine}/revoke", follow_redirects=True)

    assert revoked.status_code == 200
    assert "The token “Lønn” is revoked: it no longer works." in revoked.get_data(as_text=True)
    assert "Revoked " in revoked.get_data(as_text=True)
    refused = client.get("/api/v1/token", headers=bearer(text))
    assert refused.status_code == 401
    assert refused.json["detail"] == "The token has been revoked."
    with session_scope(app.extensions["kp_engine"]) as session:
        assert session.get(ApiToken, others).revoked_at is None
        assert session.get(ApiToken, mine).revoked_at is not None
        assert [e.object_id for e in session.scalars(sa.select(AuditEvent).where(
            AuditEvent.action == "api_token.revoke"))] == [mine]


@pytest.mark.one_database
def test_the_audit_log_says_what_happened_to_tokens_in_words(app, make_staff):
    client = signed_in(app, make_staff)
    make(client, name="Lønnssystem")
    with session_scope(app.extensions["kp_engine"]) as session:
        token_id = session.scalar(sa.select(ApiToken.id))
    client.post(f"/staff/api-tokens/{token_id}/revoke")

    page = client.get("/staff/audit").get_data(as_text=True)

    assert "API token created" in page
    assert "API token revoked" in page
    assert "Lønnssystem" in page
    assert "Read only" in page
    assert "API token: Lønnssystem" in page
    assert "Api token" not in page  # no code shown for want of words
    client.get("/lang/nn")
    assert "API-tilgangsnøkkel laga" in client.get("/staff/audit").get_data(as_text=True)
    with app.test_request_context(headers={"Accept-Language": "en"}):
        assert action_title("api_token.use") == "API token used to change data"


# --- the documentation page -------------------------------------------------------------------


probe = Blueprint("docs_probe", __name__)


@probe.post("/api/v1/docs-probe/<int:offering_id>")
@staff(write=True)
def docs_probe(offering_id: int):
    """A write operation the documentation page must describe (not in the contract itself: the
    page reads the document the probe fixture hands it)."""
    return {}


PROBE_OPERATION = {
    "summary": "Probe the documentation page", "operationId": "probeTheDocs",
    "description": "Uses ``offering_id`` for nothing.\n\nA second paragraph.",
    "tags": ["probe"], "security": [{"token": []}],
    "parameters": [
        {"name": "offering_id", "in": "path", "required": True,
         "schema": {"type": "integer", "format": "int32"}, "description": ""},
        {"name": "county", "in": "query", "required": False, "description": "An office's slug.",
         "schema": {"anyOf": [{"type": "string"}, {"type": "null"}], "default": None}}],
    "requestBody": {"required": True, "content": {"application/json": {
        "schema": {"$ref": "#/components/schemas/DocsProbeBody"}}}},
    "responses": {
        "200": {"description": "OK", "content": {"application/json": {
            "schema": {"$ref": "#/components/schemas/DocsProbeBody"}}},
            "links": {"again": {"operationId": "describeToken", "parameters": {}}}},
        "404": {"description": "Not Found", "content": {"application/problem+json": {
            "schema": {"$ref": "#/components/schemas/Problem"}}}}},
}


@pytest.fixture
def probe_document(app, monkeypatch) -> dict:
    """The app's document with one write operation more, whose view is registered."""
    app.register_blueprint(probe)
    with app.app_context():
        doc = copy.deepcopy(document())
    doc["paths"]["/api/v1/docs-probe/{offering_id}"] = {"post": PROBE_OPERATION}
    doc["components"]["schemas"]["DocsProbeBody"] = {
        "description": "Body of the probe.", "type": "object", "required": ["reason"],
        "properties": {"reason": {"type": "string", "description": "Why."},
                       "tags": {"type": "array", "items": {"enum": ["a", "b"]}}}}
    monkeypatch.setattr(docs_page, "document", lambda: doc)
    return doc


@pytest.mark.one_database
@pytest.mark.parametrize(("lang", "heading", "read_scope"), [
    ("nn", "API-dokumentasjon", "Ja: ein tilgangsnøkkel som kan lese (eller lese og skrive)."),
    ("en", "API documentation", "Yes: a token that may read (or read and write)."),
])
def test_the_docs_page_shows_every_operation_of_the_document(app, client, probe_document, lang,
                                                              heading, read_scope):
    client.get(f"/lang/{lang}")

    response = client.get("/api/v1/docs")

    assert response.status_code == 200
    assert response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    operations = {op["operationId"] for item in probe_document["paths"].values()
                  for op in item.values()}
    assert {"listCounties", "describeToken", "probeTheDocs"} <= operations
    shown = set(re.findall(r'<h3 id="op-([^"]+)"', page))
    assert shown == operations
    assert f"<h1>{heading}</h1>" in page
    assert 'href="/api/v1/openapi.json"' in page
    assert 'href="/staff/api-tokens"' in page
    assert "application/problem+json" in page
    assert read_scope in page
    # The probe: a write token, its parameters (path and query), its body and its answers.
    probe_section = page[page.index('id="op-probeTheDocs"'):]
    assert "<code>/api/v1/docs-probe/{offering_id}</code>" in probe_section
    assert "<code>offering_id</code>" in probe_section
    assert "<code>string | null</code>" in probe_section
    assert "An office&#39;s slug." in probe_section
    assert 'href="#schema-DocsProbeBody"' in probe_section
    assert 'href="#op-describeToken"' in probe_section
    assert "<p>Uses <code>offering_id</code> for nothing.</p>" in probe_section
    assert "<p>A second paragraph.</p>" in probe_section
    assert '<code>array of &#34;a&#34; | &#34;b&#34;</code>' in page
    write_words = {"nn": "Ja: ein tilgangsnøkkel som kan lese og skrive.",
                   "en": "Yes: a token that may read and write."}[lang]
    assert write_words in probe_section
    # Our own files only, nothing inline (the CSP allows no inline script or style).
    assert "style=" not in page
    assert [re.sub(r"\?v=\w+", "", tag) for tag in re.findall(r"<script[^>]*>", page)] == [
        '<script src="/static/error-summary.js" defer>']
    assert "'unsafe-inline'" not in response.headers["Content-Security-Policy"]


def test_a_token_stops_when_its_holder_leaves_its_office(app, make_staff):
    """Moved to another office (or no longer an administrator): the old office's token no
    longer reads its data."""
    client = signed_in(app, make_staff)
    text = shown_token(make(client))
    with session_scope(app.extensions["kp_engine"]) as session:
        session.scalar(sa.select(tokens.StaffUser)).county_id = county_id(app, "rogaland")

    refused = client.get("/api/v1/token", headers=bearer(text))

    assert refused.status_code == 401
    assert refused.json["detail"] == "The token's holder no longer works for its county office."
